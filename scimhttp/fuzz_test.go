package scimhttp_test

import (
	"net/http"
	"net/http/httptest"
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
	reg := schema.DefaultRegistry()
	st := newStore(f, reg)
	h, err := scimhttp.New(scimhttp.Config{Store: st, Registry: reg, Auth: testAuth, HashPassword: testHash, Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	do := func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "http://example.com/scim/v2"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokenA)
		req.Header.Set("Content-Type", "application/scim+json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	mustID := func(w *httptest.ResponseRecorder) string {
		if w.Code != http.StatusCreated {
			f.Fatalf("setup: %d %s", w.Code, w.Body)
		}
		return extractID(w.Body.Bytes())
	}
	uid := mustID(do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"fuzz-target@example.com"}`))
	gid := mustID(do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"fuzz-group","members":[{"value":"`+uid+`"}]}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		for _, c := range []struct{ method, path string }{
			{"POST", "/Users"}, {"PUT", "/Users/" + uid}, {"PATCH", "/Users/" + uid},
			{"PATCH", "/Groups/" + gid}, {"POST", "/.search"},
		} {
			w := do(c.method, c.path, string(body))
			if w.Code >= 500 {
				t.Fatalf("%s %s with %q: %d %s", c.method, c.path, body, w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/scim+json; charset=utf-8" {
				t.Fatalf("%s %s: Content-Type %q", c.method, c.path, ct)
			}
		}
	})
}
