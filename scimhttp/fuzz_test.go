package scimhttp_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/scimhttp"
)

// FuzzRequestBody sends arbitrary bodies to POST /Users, PUT and PATCH of a
// user and PATCH of a group, and POST /.search: none may answer 500, and
// every answer must be JSON with the SCIM media type.
func FuzzRequestBody(f *testing.F) {
	for _, seed := range []string{
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@b.c","active":"True","emails":[{"value":"a@b.c","type":"work","primary":true}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"x"}]}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"x\"]"}]}`,
		`{"Operations":[{"op":"add","path":"emails[type eq \"work\"].value","value":"x@y"}]}`,
		`{"filter":"userName eq \"x\"","startIndex":1,"count":"5","attributes":["userName"]}`,
		`{"userName":{"a":[1,2,{"b":null}]},"name":"x","emails":"e"}`,
		`[]`, `null`, `{`, `{"a":1e400}`, "",
	} {
		f.Add([]byte(seed))
	}
	ft := newFuzzTarget(f)

	f.Fuzz(func(t *testing.T, body []byte) {
		for _, c := range []struct{ method, path string }{
			{"POST", "/Users"}, {"PUT", "/Users/" + ft.uid}, {"PATCH", "/Users/" + ft.uid},
			{"PATCH", "/Groups/" + ft.gid}, {"POST", "/.search"},
		} {
			w := ft.do(c.method, c.path, "", string(body))
			if w.Code >= 500 {
				t.Fatalf("%s %s with %q: %d %s", c.method, c.path, body, w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/scim+json; charset=utf-8" {
				t.Fatalf("%s %s: Content-Type %q", c.method, c.path, ct)
			}
		}
	})
}

// FuzzRequestQuery sends arbitrary query strings (filter, sortBy,
// attributes, startIndex, count, cursor…) to the list and resource
// endpoints, and arbitrary entity-tag lists in If-None-Match and If-Match:
// none may answer 500, and every answer with a body must be SCIM JSON, an
// error one a SCIM error carrying its status.
func FuzzRequestQuery(f *testing.F) {
	for _, seed := range []struct{ query, etags string }{
		{`filter=userName%20eq%20%22fuzz-target%40example.com%22&startIndex=1&count=100`, `W/"1"`},
		{`filter=emails%5Btype%20eq%20%22work%22%20and%20value%20co%20%22%40example%22%5D&sortBy=meta.lastModified&sortOrder=descending`, `*`},
		{`filter=meta.lastModified%20gt%20%222026-01-01T00%3A00%3A00Z%22&count=0`, `"1", W/"2"`},
		{`excludedAttributes=members&attributes=displayName,members.value`, `W/"`},
		{`cursor=&count=10`, ``},
		{`cursor=eyJrIjoiIiwicyI6MX0&count=10`, `W/"99"`},
		{`startIndex=-5&count=99999999999999999999`, `,,`},
		{`Filter=displayName+sw+%22fuzz%22&STARTINDEX=2&sortby=userName`, `W/W/"1"`},
		{`filter=%ZZ;&attributes=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, "\x00"},
	} {
		f.Add(seed.query, seed.etags)
	}
	ft := newFuzzTarget(f)
	const activate = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true}}]}`

	f.Fuzz(func(t *testing.T, query, etags string) {
		for _, c := range []struct {
			method, path, body string
			header             []string
		}{
			{"GET", "/Users", "", nil},
			{"GET", "/Groups", "", nil},
			{"GET", "/Users/" + ft.uid, "", []string{"If-None-Match", etags}},
			{"GET", "/Groups/" + ft.gid, "", []string{"If-None-Match", etags}},
			{"PATCH", "/Users/" + ft.uid, activate, []string{"If-Match", etags}},
		} {
			w := ft.do(c.method, c.path, query, c.body, c.header...)
			if w.Code >= 500 {
				t.Fatalf("%s %s?%s (%q): %d %s", c.method, c.path, query, etags, w.Code, w.Body)
			}
			if w.Code == http.StatusNotModified {
				continue
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/scim+json; charset=utf-8" {
				t.Fatalf("%s %s?%s: Content-Type %q", c.method, c.path, query, ct)
			}
			if w.Code >= 400 {
				var e struct {
					Schemas []string `json:"schemas"`
					Status  string   `json:"status"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || len(e.Schemas) != 1 ||
					e.Schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" || e.Status != strconv.Itoa(w.Code) {
					t.Fatalf("%s %s?%s: %d with body %s; want a SCIM error", c.method, c.path, query, w.Code, w.Body)
				}
			}
		}
	})
}

// fuzzTarget is a handler on an in-memory store holding one user and one
// group with that user as its member, for the fuzz targets.
type fuzzTarget struct {
	h        http.Handler
	uid, gid string
}

func newFuzzTarget(f *testing.F) *fuzzTarget {
	reg := schema.DefaultRegistry()
	h, err := scimhttp.New(scimhttp.Config{Store: newStore(f, reg), Registry: reg, Auth: testAuth, HashPassword: testHash, Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	ft := &fuzzTarget{h: h}
	mustID := func(w *httptest.ResponseRecorder) string {
		if w.Code != http.StatusCreated {
			f.Fatalf("setup: %d %s", w.Code, w.Body)
		}
		return extractID(w.Body.Bytes())
	}
	ft.uid = mustID(ft.do("POST", "/Users", "", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"fuzz-target@example.com","emails":[{"type":"work","value":"fuzz-target@example.com"}]}`))
	ft.gid = mustID(ft.do("POST", "/Groups", "", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"fuzz-group","members":[{"value":"`+ft.uid+`"}]}`))
	return ft
}

// do sends a request with query as its raw query string (as received: not
// necessarily a valid encoding) and header as name, value pairs.
func (ft *fuzzTarget) do(method, path, query, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://example.com/scim/v2"+path, strings.NewReader(body))
	req.URL.RawQuery = query
	req.Header.Set("Authorization", "Bearer "+tokenA)
	req.Header.Set("Content-Type", "application/scim+json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	ft.h.ServeHTTP(w, req)
	return w
}
