package scimhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/scimhttp"
)

const (
	tokenA  = "token-a"
	tokenB  = "token-b"
	tenantA = "tenant-a"
	tenantB = "tenant-b"
)

// testAuth accepts two bearer tokens, one per tenant; "forbidden" gets 403.
var testAuth = scimhttp.AuthenticatorFunc(func(r *http.Request) (string, error) {
	switch r.Header.Get("Authorization") {
	case "Bearer " + tokenA:
		return tenantA, nil
	case "Bearer " + tokenB:
		return tenantB, nil
	case "Bearer forbidden":
		return "", scimd.Errorf(http.StatusForbidden, "", "token revoked")
	case "Bearer broken":
		return "", errors.New("token store unavailable")
	}
	return "", scimd.Errorf(http.StatusUnauthorized, "", "missing or invalid bearer token")
})

// testHash is a cheap, recognisable password hash.
func testHash(p string) (string, error) { return "hashed:" + p, nil }

type server struct {
	t     testing.TB
	url   string // base URL including BasePath
	store scimd.Store
	reg   *schema.Registry
}

// newServer starts a real HTTP server around a Handler on store.
func newServer(t testing.TB, store scimd.Store, reg *schema.Registry, mod func(*scimhttp.Config)) *server {
	t.Helper()
	cfg := scimhttp.Config{
		Store:        store,
		Registry:     reg,
		Auth:         testAuth,
		HashPassword: testHash,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mod != nil {
		mod(&cfg)
	}
	h, err := scimhttp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	base := cfg.BasePath
	if base == "" {
		base = "/scim/v2"
	}
	return &server{t: t, url: ts.URL + strings.TrimRight(base, "/"), store: store, reg: reg}
}

// newTestServer uses the default registry and the test store.
func newTestServer(t testing.TB, mod func(*scimhttp.Config)) *server {
	t.Helper()
	reg := schema.DefaultRegistry()
	return newServer(t, newStore(t, reg), reg, mod)
}

type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// str returns a top-level string member of the body.
func (r *response) str(name string) string {
	s, _ := r.body[name].(string)
	return s
}

// do sends a request with tokenA unless headers set Authorization.
func (s *server) do(method, path string, body any, headers ...string) *response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	u := path
	if !strings.HasPrefix(u, "http") {
		u = s.url + path
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tokenA)
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1]
			continue
		}
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	out := &response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			s.t.Fatalf("%s %s: response is not a JSON object: %v\n%s", method, path, err, raw)
		}
	}
	return out
}

// expect checks the status and returns r.
func (r *response) expect(t testing.TB, status int) *response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	return r
}

// expectError checks an error response: status, SCIM error body (status as
// a string) and scimType.
func (r *response) expectError(t testing.TB, status int, scimType string) *response {
	t.Helper()
	r.expect(t, status)
	if ct := r.header.Get("Content-Type"); ct != "application/scim+json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if got := fmt.Sprint(r.body["schemas"]); got != "[urn:ietf:params:scim:api:messages:2.0:Error]" {
		t.Errorf("schemas %s", got)
	}
	if got, ok := r.body["status"].(string); !ok || got != fmt.Sprint(status) {
		t.Errorf("status member %#v, want string %q", r.body["status"], fmt.Sprint(status))
	}
	if got := r.str("scimType"); got != scimType {
		t.Errorf("scimType %q, want %q (detail %q)", got, scimType, r.str("detail"))
	}
	if r.str("detail") == "" {
		t.Errorf("no detail")
	}
	return r
}

func userBody(userName string, extra ...any) map[string]any {
	b := map[string]any{
		"schemas":  []string{schema.URNUser},
		"userName": userName,
		"name":     map[string]any{"givenName": "Ana", "familyName": "Silva"},
		"emails":   []any{map[string]any{"value": userName, "type": "work", "primary": true}},
		"active":   true,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		b[extra[i].(string)] = extra[i+1]
	}
	return b
}

func (s *server) createUser(userName string, extra ...any) *response {
	s.t.Helper()
	return s.do("POST", "/Users", userBody(userName, extra...)).expect(s.t, http.StatusCreated)
}

func (s *server) createGroup(name string, members ...string) *response {
	s.t.Helper()
	ms := []any{}
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	return s.do("POST", "/Groups", map[string]any{
		"schemas": []string{schema.URNGroup}, "displayName": name, "members": ms,
	}).expect(s.t, http.StatusCreated)
}

func TestNewConfig(t *testing.T) {
	reg := schema.DefaultRegistry()
	st := newMemStore(reg)
	for name, cfg := range map[string]scimhttp.Config{
		"NoStore":     {Auth: testAuth},
		"NoAuth":      {Store: st},
		"BadBase":     {Store: st, Auth: testAuth, BasePath: "scim"},
		"BadExternal": {Store: st, Auth: testAuth, ExternalURL: "app.example.com"},
	} {
		if _, err := scimhttp.New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	if _, err := scimhttp.New(scimhttp.Config{Store: st, Auth: testAuth}); err != nil {
		t.Fatal(err)
	}
}

func TestAuthRequired(t *testing.T) {
	s := newTestServer(t, nil)
	paths := []struct{ method, path string }{
		{"GET", "/Users"}, {"POST", "/Users"}, {"GET", "/Users/x"}, {"PUT", "/Users/x"},
		{"PATCH", "/Users/x"}, {"DELETE", "/Users/x"}, {"GET", "/Groups"}, {"POST", "/.search"},
		{"POST", "/Users/.search"}, {"GET", "/ServiceProviderConfig"}, {"GET", "/ResourceTypes"},
		{"GET", "/ResourceTypes/User"}, {"GET", "/Schemas"}, {"GET", "/Schemas/" + schema.URNUser},
		{"POST", "/Bulk"}, {"GET", "/nope"}, {"DELETE", "/ServiceProviderConfig"},
	}
	for _, p := range paths {
		for _, auth := range []string{"", "Bearer wrong", "Basic dXNlcjpwYXNz"} {
			r := s.do(p.method, p.path, "{}", "Authorization", auth)
			r.expectError(t, http.StatusUnauthorized, "")
			if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="scimd"` {
				t.Errorf("%s %s: WWW-Authenticate %q", p.method, p.path, got)
			}
		}
	}
	// Outside the base path too.
	s.do("GET", strings.TrimSuffix(s.url, "/scim/v2")+"/other", nil, "Authorization", "").expectError(t, http.StatusUnauthorized, "")
	// Other statuses pass through; other errors are 500 with a generic detail.
	s.do("GET", "/Users", nil, "Authorization", "Bearer forbidden").expectError(t, http.StatusForbidden, "")
	r := s.do("GET", "/Users", nil, "Authorization", "Bearer broken").expectError(t, http.StatusInternalServerError, "")
	if strings.Contains(r.str("detail"), "unavailable") {
		t.Errorf("internal cause leaked: %q", r.str("detail"))
	}
}

func TestTenantIsolation(t *testing.T) {
	s := newTestServer(t, nil)
	id := s.createUser("iso@example.com").str("id")
	s.do("GET", "/Users/"+id, nil, "Authorization", "Bearer "+tokenB).expectError(t, http.StatusNotFound, "")
	r := s.do("GET", "/Users", nil, "Authorization", "Bearer "+tokenB).expect(t, http.StatusOK)
	if r.body["totalResults"] != 0.0 {
		t.Errorf("tenant B sees %v users", r.body["totalResults"])
	}
}

func TestRequestID(t *testing.T) {
	s := newTestServer(t, nil)
	r := s.do("GET", "/Users", nil, "X-Request-Id", "abc-123")
	if got := r.header.Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("X-Request-Id %q", got)
	}
	r = s.do("GET", "/Users", nil, "X-Request-Id", strings.Repeat("x", 500))
	if got := r.header.Get("X-Request-Id"); len(got) != 36 {
		t.Errorf("generated X-Request-Id %q", got)
	}
}

func TestContentTypes(t *testing.T) {
	s := newTestServer(t, nil)
	for i, ct := range []string{
		"application/scim+json", "application/scim+json; charset=utf-8", "application/json",
		"application/json; charset=UTF-8", "APPLICATION/JSON",
	} {
		r := s.do("POST", "/Users", userBody(fmt.Sprintf("ct%d@example.com", i)), "Content-Type", ct).expect(t, http.StatusCreated)
		if got := r.header.Get("Content-Type"); got != "application/scim+json; charset=utf-8" {
			t.Errorf("response Content-Type %q", got)
		}
	}
	// A missing Content-Type is accepted.
	req, _ := http.NewRequest("POST", s.url+"/Users", strings.NewReader(`{"schemas":["`+schema.URNUser+`"],"userName":"noct@example.com"}`))
	req.Header.Set("Authorization", "Bearer "+tokenA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("no Content-Type: status %d", resp.StatusCode)
	}
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x", "garbage;;"} {
		s.do("POST", "/Users", userBody("x415@example.com"), "Content-Type", ct).expectError(t, http.StatusUnsupportedMediaType, "")
		s.do("PATCH", "/Users/whatever", `{}`, "Content-Type", ct).expectError(t, http.StatusUnsupportedMediaType, "")
	}
}

func TestMalformedBodies(t *testing.T) {
	s := newTestServer(t, nil)
	id := s.createUser("body@example.com").str("id")
	for _, body := range []string{"", "   ", "{", `{"userName":}`, "[]", `"x"`, "null", `{"a":1} {"b":2}`, "\x00\xff"} {
		for _, r := range []*response{
			s.do("POST", "/Users", body).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidSyntax),
			s.do("PUT", "/Users/"+id, body).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidSyntax),
			s.do("PATCH", "/Users/"+id, body).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidSyntax),
			s.do("POST", "/.search", body).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidSyntax),
		} {
			// The detail is for the sender: no Go package or type names.
			if d := r.str("detail"); d == "" || strings.Contains(d, "jsonvalue") || strings.Contains(d, "json:") {
				t.Errorf("body %q: detail %q", body, d)
			}
		}
	}
	// A syntax error says where.
	for _, m := range []string{"POST", "PUT", "PATCH"} {
		path := "/Users/" + id
		if m == "POST" {
			path = "/Users"
		}
		if d := s.do(m, path, `{"userName":}`).str("detail"); !strings.Contains(d, "12") {
			t.Errorf("%s: detail %q does not give the offset 12", m, d)
		}
	}
}

func TestBodyTooLarge(t *testing.T) {
	s := newTestServer(t, func(c *scimhttp.Config) { c.MaxBodyBytes = 512 })
	big := userBody("big@example.com", "displayName", strings.Repeat("x", 1000))
	s.do("POST", "/Users", big).expectError(t, http.StatusRequestEntityTooLarge, "")

	// Without Content-Length (chunked), the limit applies while reading.
	j, _ := json.Marshal(big)
	req, _ := http.NewRequest("POST", s.url+"/Users", io.MultiReader(bytes.NewReader(j)))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+tokenA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked: status %d", resp.StatusCode)
	}
}

func TestRouting(t *testing.T) {
	s := newTestServer(t, nil)
	s.do("GET", "/Nope", nil).expectError(t, http.StatusNotFound, "")
	s.do("GET", "", nil).expectError(t, http.StatusNotFound, "")
	s.do("GET", strings.TrimSuffix(s.url, "/scim/v2")+"/elsewhere", nil).expectError(t, http.StatusNotFound, "")
	for _, p := range []string{"/Users/x", "/Groups/x"} {
		body := userBody("a@b.c")
		if strings.HasPrefix(p, "/Groups") {
			body = map[string]any{"schemas": []string{schema.URNGroup}, "displayName": "G"}
		}
		s.do("GET", p, nil).expectError(t, http.StatusNotFound, "")
		s.do("PUT", p, body).expectError(t, http.StatusNotFound, "")
		s.do("PATCH", p, `{"schemas":["`+scimhttp.URNPatchOp+`"],"Operations":[{"op":"replace","value":{"active":false}}]}`).expectError(t, http.StatusNotFound, "")
		s.do("DELETE", p, nil).expectError(t, http.StatusNotFound, "")
	}
	for _, c := range []struct{ method, path, allow string }{
		{"DELETE", "/Users", "GET, HEAD, POST"},
		{"POST", "/Users/x", "DELETE, GET, HEAD, PATCH, PUT"},
		{"PUT", "/ServiceProviderConfig", "GET, HEAD"},
		{"POST", "/Schemas", "GET, HEAD"},
		{"GET", "/.search", "POST"},
	} {
		r := s.do(c.method, c.path, nil).expectError(t, http.StatusMethodNotAllowed, "")
		if got := r.header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}
	s.do("POST", "/Bulk", `{}`).expectError(t, http.StatusNotImplemented, "")
	// Doubled and trailing slashes (JumpCloud).
	r := s.do("POST", "//Users", userBody("jc@example.com")).expect(t, http.StatusCreated)
	s.do("GET", "//Users/"+r.str("id")+"/", nil).expect(t, http.StatusOK)
	s.do("GET", "/Users/", nil).expect(t, http.StatusOK)
	// Unknown query parameters are ignored (Entra's aadOptscim062020).
	s.do("GET", "/Users?aadOptscim062020", nil).expect(t, http.StatusOK)
	s.do("GET", "/Users/"+r.str("id")+"?aadOptscim062020&x=1", nil).expect(t, http.StatusOK)
}

func TestCustomBasePath(t *testing.T) {
	s := newTestServer(t, func(c *scimhttp.Config) {
		c.BasePath = "/t/acme/scim/"
		c.ExternalURL = "https://app.example.com/"
	})
	s.url = strings.TrimSuffix(s.url, "/t/acme/scim")
	r := s.do("POST", "/t/acme/scim/Users", userBody("base@example.com")).expect(t, http.StatusCreated)
	want := "https://app.example.com/t/acme/scim/Users/" + r.str("id")
	if got := r.header.Get("Location"); got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
	s.do("GET", "/scim/v2/Users", nil).expectError(t, http.StatusNotFound, "")
}

func TestCreateUser(t *testing.T) {
	s := newTestServer(t, nil)
	r := s.createUser("ana.silva@example.com", "password", "Tq9v2mLa", "groups", []any{}, "id", "client-id")
	id := r.str("id")
	if id == "" || id == "client-id" {
		t.Fatalf("id %q", id)
	}
	meta, _ := r.body["meta"].(map[string]any)
	if loc := r.header.Get("Location"); loc == "" || loc != meta["location"] || loc != s.url+"/Users/"+id {
		t.Errorf("Location %q, meta.location %v", loc, meta["location"])
	}
	if r.header.Get("ETag") != `W/"1"` {
		t.Errorf("ETag %q", r.header.Get("ETag"))
	}
	if bytes.Contains(r.raw, []byte("Tq9v2mLa")) || bytes.Contains(r.raw, []byte("password")) {
		t.Errorf("password rendered: %s", r.raw)
	}
	stored, err := s.store.Get(context.Background(), tenantA, scimd.TypeUser, id, scimd.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := stored.Attrs["password"]; got != "hashed:Tq9v2mLa" {
		t.Errorf("stored password %v", got)
	}
	// Duplicate, case-folded.
	s.do("POST", "/Users", userBody("ANA.SILVA@example.com")).expectError(t, http.StatusConflict, scimd.ScimTypeUniqueness)
	// Missing required userName.
	s.do("POST", "/Users", map[string]any{"schemas": []string{schema.URNUser}}).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
	// Projection on the create response.
	r = s.do("POST", "/Users?attributes=userName", userBody("proj@example.com")).expect(t, http.StatusCreated)
	if _, ok := r.body["name"]; ok {
		t.Errorf("attributes=userName: name rendered: %s", r.raw)
	}
	if r.str("userName") != "proj@example.com" || r.str("id") == "" {
		t.Errorf("attributes=userName: %s", r.raw)
	}
}

func TestDefaultPasswordHash(t *testing.T) {
	s := newTestServer(t, func(c *scimhttp.Config) { c.HashPassword = nil })
	id := s.createUser("pbkdf2@example.com", "password", "secret").str("id")
	stored, err := s.store.Get(context.Background(), tenantA, scimd.TypeUser, id, scimd.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pw, _ := stored.Attrs["password"].(string); !strings.HasPrefix(pw, "$pbkdf2-sha256$i=600000$") || strings.Contains(pw, "secret") {
		t.Errorf("stored password %q", pw)
	}
}

func TestGetUserETag(t *testing.T) {
	s := newTestServer(t, nil)
	id := s.createUser("etag@example.com").str("id")
	r := s.do("GET", "/Users/"+id, nil).expect(t, http.StatusOK)
	etag := r.header.Get("ETag")
	if etag != `W/"1"` {
		t.Fatalf("ETag %q", etag)
	}
	if meta, _ := r.body["meta"].(map[string]any); meta["version"] != etag {
		t.Errorf("meta.version %v", meta["version"])
	}
	r = s.do("GET", "/Users/"+id, nil, "If-None-Match", etag).expect(t, http.StatusNotModified)
	if r.header.Get("ETag") != etag || len(r.raw) != 0 {
		t.Errorf("304: ETag %q body %q", r.header.Get("ETag"), r.raw)
	}
	s.do("GET", "/Users/"+id, nil, "If-None-Match", `W/"7", "1"`).expect(t, http.StatusNotModified)
	s.do("GET", "/Users/"+id, nil, "If-None-Match", `W/"2"`).expect(t, http.StatusOK)

	// If-Match on writes.
	patchBody := `{"schemas":["` + scimhttp.URNPatchOp + `"],"Operations":[{"op":"replace","value":{"displayName":"X"}}]}`
	s.do("PATCH", "/Users/"+id, patchBody, "If-Match", `W/"9"`).expectError(t, http.StatusPreconditionFailed, "")
	r = s.do("PATCH", "/Users/"+id, patchBody, "If-Match", etag).expect(t, http.StatusOK)
	if r.header.Get("ETag") != `W/"2"` {
		t.Errorf("ETag after PATCH %q", r.header.Get("ETag"))
	}
	s.do("PUT", "/Users/"+id, userBody("etag@example.com"), "If-Match", etag).expectError(t, http.StatusPreconditionFailed, "")
	s.do("PUT", "/Users/"+id, userBody("etag@example.com"), "If-Match", "*").expect(t, http.StatusOK)
	s.do("DELETE", "/Users/"+id, nil, "If-Match", etag).expectError(t, http.StatusPreconditionFailed, "")
	s.do("DELETE", "/Users/"+id, nil, "If-Match", `W/"3"`).expect(t, http.StatusNoContent)
	s.do("GET", "/Users/"+id, nil).expectError(t, http.StatusNotFound, "")
	s.do("DELETE", "/Users/"+id, nil).expectError(t, http.StatusNotFound, "")
}

func TestPutKeepsPasswordAndActive(t *testing.T) {
	s := newTestServer(t, nil)
	id := s.createUser("put@example.com", "password", "first", "active", false, "externalId", "ext-1").str("id")
	// Okta GET-then-PUT: echoes id, meta, groups; omits password and active.
	body := userBody("put@example.com", "displayName", "Put Person", "id", "other-id", "groups", []any{},
		"meta", map[string]any{"resourceType": "User"}, "externalId", "ext-1")
	delete(body, "active")
	r := s.do("PUT", "/Users/"+id, body).expect(t, http.StatusOK)
	if r.str("id") != id || r.str("displayName") != "Put Person" {
		t.Errorf("PUT response %s", r.raw)
	}
	if r.body["active"] != false {
		t.Errorf("active flipped: %v", r.body["active"])
	}
	if bytes.Contains(r.raw, []byte("password")) {
		t.Errorf("password rendered")
	}
	get := func() map[string]any {
		st, err := s.store.Get(context.Background(), tenantA, scimd.TypeUser, id, scimd.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return st.Attrs
	}
	if got := get()["password"]; got != "hashed:first" {
		t.Errorf("password after PUT without it: %v", got)
	}
	// A new password in a PUT is hashed; active true reactivates.
	s.do("PUT", "/Users/"+id, userBody("put@example.com", "password", "second", "active", true)).expect(t, http.StatusOK)
	a := get()
	if a["password"] != "hashed:second" || a["active"] != true {
		t.Errorf("after PUT with password: %v %v", a["password"], a["active"])
	}
	// Omitted readWrite attributes are cleared.
	if _, ok := a["displayName"]; ok {
		t.Errorf("displayName kept after a PUT that omitted it")
	}
	// PATCH password is hashed; unrelated PATCH keeps it.
	s.do("PATCH", "/Users/"+id, `{"schemas":["`+scimhttp.URNPatchOp+`"],"Operations":[{"op":"replace","value":{"password":"third"}}]}`).expect(t, http.StatusOK)
	if got := get()["password"]; got != "hashed:third" {
		t.Errorf("password after PATCH: %v", got)
	}
	s.do("PATCH", "/Users/"+id, `{"schemas":["`+scimhttp.URNPatchOp+`"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`).expect(t, http.StatusOK)
	a = get()
	if a["password"] != "hashed:third" || a["active"] != false {
		t.Errorf("after PATCH active: %v %v", a["password"], a["active"])
	}
	// Immutable / readOnly: id in the body is ignored.
	s.do("PUT", "/Users/"+id, userBody("put@example.com", "id", "zzz")).expect(t, http.StatusOK)
	s.do("GET", "/Users/zzz", nil).expectError(t, http.StatusNotFound, "")
	// Changing userName to another user's is a conflict.
	s.createUser("taken@example.com")
	s.do("PUT", "/Users/"+id, userBody("Taken@example.com")).expectError(t, http.StatusConflict, scimd.ScimTypeUniqueness)
}

func TestPatchErrors(t *testing.T) {
	s := newTestServer(t, nil)
	id := s.createUser("patch@example.com").str("id")
	p := "/Users/" + id
	s.do("PATCH", p, `{"schemas":["`+scimhttp.URNPatchOp+`"],"Operations":[{"op":"jump","value":{}}]}`).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidSyntax)
	s.do("PATCH", p, `{"schemas":["`+scimhttp.URNPatchOp+`"],"Operations":[{"op":"remove"}]}`).expectError(t, http.StatusBadRequest, scimd.ScimTypeNoTarget)
	s.do("PATCH", p, `{"schemas":["`+scimhttp.URNPatchOp+`"],"Operations":[{"op":"add","path":"emails[type eq","value":"x"}]}`).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidPath)
	s.do("PATCH", p, `{"schemas":["`+scimhttp.URNPatchOp+`"],"Operations":[{"op":"replace","path":"active","value":"maybe"}]}`).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
	s.do("PATCH", p, `{"schemas":["`+scimhttp.URNPatchOp+`"],"Operations":[{"op":"remove","path":"userName"}]}`).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
	// Nothing of a failed PATCH is applied.
	r := s.do("GET", p, nil).expect(t, http.StatusOK)
	if r.str("userName") != "patch@example.com" || r.header.Get("ETag") != `W/"1"` {
		t.Errorf("after failed PATCHes: %s", r.raw)
	}
}

func TestGroupPatchMembersInResponse(t *testing.T) {
	s := newTestServer(t, func(c *scimhttp.Config) { c.MaxGroupMembersInResponse = 2 })
	u1 := s.createUser("m1@example.com").str("id")
	u2 := s.createUser("m2@example.com").str("id")
	u3 := s.createUser("m3@example.com").str("id")
	g := s.createGroup("Sales", u1)
	gid := g.str("id")
	if ms, _ := g.body["members"].([]any); len(ms) != 1 {
		t.Errorf("POST response members: %s", g.raw)
	}
	add := func(uid string) *response {
		return s.do("PATCH", "/Groups/"+gid, `{"schemas":["`+scimhttp.URNPatchOp+`"],"Operations":[{"op":"add","path":"members","value":[{"value":"`+uid+`"}]}]}`).expect(t, http.StatusOK)
	}
	r := add(u2)
	if ms, _ := r.body["members"].([]any); len(ms) != 2 {
		t.Errorf("2 members ≤ limit: response members %v", r.body["members"])
	}
	r = add(u3)
	if _, ok := r.body["members"]; ok {
		t.Errorf("3 members > limit 2: response has members: %s", r.raw)
	}
	if r.str("displayName") != "Sales" || r.header.Get("ETag") == "" {
		t.Errorf("response %s", r.raw)
	}
	// GET is not limited.
	r = s.do("GET", "/Groups/"+gid, nil).expect(t, http.StatusOK)
	if ms, _ := r.body["members"].([]any); len(ms) != 3 {
		t.Errorf("GET members %v", r.body["members"])
	}
	// excludedAttributes=members on single and list reads.
	r = s.do("GET", "/Groups/"+gid+"?excludedAttributes=members", nil).expect(t, http.StatusOK)
	if _, ok := r.body["members"]; ok {
		t.Errorf("excludedAttributes=members: %s", r.raw)
	}
	r = s.do("GET", "/Groups?excludedAttributes=members&filter=displayName+eq+%22Sales%22", nil).expect(t, http.StatusOK)
	if bytes.Contains(r.raw, []byte(`"members"`)) || r.body["totalResults"] != 1.0 {
		t.Errorf("list excludedAttributes=members: %s", r.raw)
	}
	// Entra remove with a value list; Okta remove by filter.
	s.do("PATCH", "/Groups/"+gid, `{"schemas":["`+scimhttp.URNPatchOp+`"],"Operations":[{"op":"Remove","path":"members","value":[{"value":"`+u1+`"}]}]}`).expect(t, http.StatusOK)
	s.do("PATCH", "/Groups/"+gid, `{"schemas":["`+scimhttp.URNPatchOp+`"],"Operations":[{"op":"remove","path":"members[value eq \"`+u2+`\"]"}]}`).expect(t, http.StatusOK)
	r = s.do("GET", "/Groups/"+gid, nil).expect(t, http.StatusOK)
	if ms, _ := r.body["members"].([]any); len(ms) != 1 {
		t.Errorf("after removes: %v", r.body["members"])
	}
	// User.groups reflects membership.
	r = s.do("GET", "/Users/"+u3, nil).expect(t, http.StatusOK)
	if gs, _ := r.body["groups"].([]any); len(gs) != 1 {
		t.Errorf("user groups %v", r.body["groups"])
	}
	// A missing member is a client error.
	s.do("PATCH", "/Groups/"+gid, `{"schemas":["`+scimhttp.URNPatchOp+`"],"Operations":[{"op":"add","path":"members","value":[{"value":"no-such-user"}]}]}`).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidValue)

	// Negative limit: never members in write responses.
	s2 := newServer(t, s.store, s.reg, func(c *scimhttp.Config) { c.MaxGroupMembersInResponse = -1 })
	r = s2.do("PATCH", "/Groups/"+gid, `{"schemas":["`+scimhttp.URNPatchOp+`"],"Operations":[{"op":"replace","path":"displayName","value":"Sales 2"}]}`).expect(t, http.StatusOK)
	if _, ok := r.body["members"]; ok || r.str("displayName") != "Sales 2" {
		t.Errorf("limit -1: %s", r.raw)
	}
}

func TestGroupPut(t *testing.T) {
	s := newTestServer(t, nil)
	u1 := s.createUser("p1@example.com").str("id")
	u2 := s.createUser("p2@example.com").str("id")
	gid := s.createGroup("Eng", u1).str("id")
	// Members in the body replace all.
	r := s.do("PUT", "/Groups/"+gid, map[string]any{"schemas": []string{schema.URNGroup}, "displayName": "Eng", "members": []any{map[string]any{"value": u2}}}).expect(t, http.StatusOK)
	ms, _ := r.body["members"].([]any)
	if len(ms) != 1 || ms[0].(map[string]any)["value"] != u2 {
		t.Errorf("PUT members %v", r.body["members"])
	}
	// No members key: membership kept.
	r = s.do("PUT", "/Groups/"+gid, map[string]any{"schemas": []string{schema.URNGroup}, "displayName": "Eng2"}).expect(t, http.StatusOK)
	if ms, _ := r.body["members"].([]any); len(ms) != 1 || r.str("displayName") != "Eng2" {
		t.Errorf("PUT without members: %s", r.raw)
	}
	// Empty list clears.
	r = s.do("PUT", "/Groups/"+gid, map[string]any{"schemas": []string{schema.URNGroup}, "displayName": "Eng2", "members": []any{}}).expect(t, http.StatusOK)
	if ms, _ := r.body["members"].([]any); len(ms) != 0 {
		t.Errorf("PUT members [] : %s", r.raw)
	}
	s.do("DELETE", "/Groups/"+gid, nil).expect(t, http.StatusNoContent)
}

var intField = regexp.MustCompile(`"(totalResults|startIndex|itemsPerPage)":(\d+)[,}]`)

func TestList(t *testing.T) {
	s := newTestServer(t, func(c *scimhttp.Config) { c.MaxPageSize = 3; c.DefaultPageSize = 2 })
	for i := range 5 {
		s.createUser(fmt.Sprintf("user%d@example.com", i))
	}
	r := s.do("GET", "/Users", nil).expect(t, http.StatusOK)
	if got := intField.FindAllString(string(r.raw), -1); len(got) != 3 {
		t.Errorf("integer paging fields: %v in %s", got, r.raw)
	}
	check := func(r *response, total, start, items int) {
		t.Helper()
		if r.body["totalResults"] != float64(total) || r.body["startIndex"] != float64(start) || r.body["itemsPerPage"] != float64(items) {
			t.Errorf("total/start/items %v/%v/%v, want %d/%d/%d", r.body["totalResults"], r.body["startIndex"], r.body["itemsPerPage"], total, start, items)
		}
		if res, ok := r.body["Resources"].([]any); !ok || len(res) != items {
			t.Errorf("Resources %v", r.body["Resources"])
		}
		if fmt.Sprint(r.body["schemas"]) != "[urn:ietf:params:scim:api:messages:2.0:ListResponse]" {
			t.Errorf("schemas %v", r.body["schemas"])
		}
	}
	check(r, 5, 1, 2) // default page size
	check(s.do("GET", "/Users?startIndex=1&count=2", nil).expect(t, 200), 5, 1, 2)
	check(s.do("GET", "/Users?startIndex=4&count=100", nil).expect(t, 200), 5, 4, 2) // capped at 3, 2 left
	check(s.do("GET", "/Users?count=100", nil).expect(t, 200), 5, 1, 3)
	check(s.do("GET", "/Users?startIndex=0&count=-4", nil).expect(t, 200), 5, 1, 0)
	check(s.do("GET", "/Users?startIndex=-7", nil).expect(t, 200), 5, 1, 2)
	check(s.do("GET", "/Users?startIndex=99", nil).expect(t, 200), 5, 99, 0)
	check(s.do("GET", "/Users?STARTINDEX=2&Count=1", nil).expect(t, 200), 5, 2, 1)
	check(s.do("GET", "/Users?count=99999999999999999999999", nil).expect(t, 200), 5, 1, 3)
	// Filters: '+' and %20 both decode to spaces.
	check(s.do("GET", "/Users?filter=userName+eq+%22user3%40example.com%22&startIndex=1&count=100", nil).expect(t, 200), 1, 1, 1)
	check(s.do("GET", "/Users?filter=userName%20eq%20%22USER3@example.com%22", nil).expect(t, 200), 1, 1, 1)
	check(s.do("GET", "/Users?filter=userName+Eq+%22nobody%22", nil).expect(t, 200), 0, 1, 0)
	check(s.do("GET", "/Users?filter=emails%5Btype+eq+%22work%22%5D.value+eq+%22user1%40example.com%22", nil).expect(t, 200), 1, 1, 1)
	check(s.do("GET", "/Users?filter=", nil).expect(t, 200), 5, 1, 2)
	// Errors.
	for _, f := range []string{"userName", "userName eq", "userName eq \"a\" and", "((userName eq \"a\")", "nosuch eq \"a\"", "emails[nosuch eq \"x\"]", "userName eq \"" + strings.Repeat("x", 5000) + "\""} {
		r := s.do("GET", "/Users?filter="+urlQueryEscape(f), nil).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidFilter)
		if f == "nosuch eq \"a\"" && !strings.Contains(r.str("detail"), "nosuch") {
			t.Errorf("detail %q does not name the attribute", r.str("detail"))
		}
	}
	s.do("GET", "/Users?filter="+urlQueryEscape(strings.Repeat("(", 30)+"userName eq \"a\""+strings.Repeat(")", 30)), nil).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidFilter)
	s.do("GET", "/Users?startIndex=abc", nil).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
	s.do("GET", "/Users?count=1.5", nil).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
	s.do("GET", "/Users?sortBy=nosuch", nil).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
	s.do("GET", "/Users?sortBy=a%20b", nil).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
	s.do("GET", "/Users?sortOrder=sideways", nil).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
	s.do("GET", "/Users?attributes=emails[", nil).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidPath)
	s.do("GET", "/Users?sortBy=userName&sortOrder=Descending", nil).expect(t, http.StatusOK)
	// Projection on lists.
	r = s.do("GET", "/Users?attributes=userName&count=1", nil).expect(t, http.StatusOK)
	res := r.body["Resources"].([]any)[0].(map[string]any)
	if _, ok := res["emails"]; ok || res["userName"] == nil || res["id"] == nil {
		t.Errorf("attributes=userName: %v", res)
	}
	r = s.do("GET", "/Users?excludedAttributes=emails,name&count=1", nil).expect(t, http.StatusOK)
	res = r.body["Resources"].([]any)[0].(map[string]any)
	if _, ok := res["emails"]; ok || res["userName"] == nil {
		t.Errorf("excludedAttributes=emails,name: %v", res)
	}
}

func urlQueryEscape(s string) string {
	r := strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", "#", "%23", " ", "+", "\"", "%22", "[", "%5B", "]", "%5D")
	return r.Replace(s)
}

func TestSearch(t *testing.T) {
	s := newTestServer(t, nil)
	uid := s.createUser("search@example.com").str("id")
	s.createUser("other@example.com")
	s.createGroup("Searchers", uid)
	r := s.do("POST", "/Users/.search", map[string]any{
		"schemas": []string{scimhttp.URNSearchRequest}, "filter": `userName eq "search@example.com"`,
		"startIndex": 1, "count": 10, "attributes": []string{"userName"},
	}).expect(t, http.StatusOK)
	if r.body["totalResults"] != 1.0 || bytes.Contains(r.raw, []byte("emails")) {
		t.Errorf("search: %s", r.raw)
	}
	// Root search spans resource types.
	r = s.do("POST", "/.search", map[string]any{"schemas": []string{scimhttp.URNSearchRequest}, "count": "10"}).expect(t, http.StatusOK)
	if r.body["totalResults"] != 3.0 {
		t.Errorf("root search: %s", r.raw)
	}
	r = s.do("POST", "/.search", map[string]any{"filter": `displayName eq "Searchers"`, "excludedAttributes": "members"}).expect(t, http.StatusOK)
	if r.body["totalResults"] != 1.0 || bytes.Contains(r.raw, []byte(`"members"`)) {
		t.Errorf("root search by displayName: %s", r.raw)
	}
	s.do("POST", "/Users/.search", map[string]any{"filter": "userName eq"}).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidFilter)
	s.do("POST", "/Users/.search", map[string]any{"count": "ten"}).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
	s.do("POST", "/Users/.search", map[string]any{"count": true}).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
	s.do("POST", "/Users/.search", map[string]any{"filter": 3}).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidSyntax)
	s.do("POST", "/Users/.search", map[string]any{"attributes": 3}).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
}

func TestDiscovery(t *testing.T) {
	s := newTestServer(t, func(c *scimhttp.Config) { c.MaxPageSize = 500 })
	r := s.do("GET", "/ServiceProviderConfig", nil).expect(t, http.StatusOK)
	var spc struct {
		Schemas []string
		Patch   struct{ Supported bool }
		Bulk    struct{ Supported bool }
		Filter  struct {
			Supported  bool
			MaxResults int
		}
		ChangePassword, Sort, ETag struct{ Supported bool }
		AuthenticationSchemes      []struct{ Type, Name, Description, SpecURI string }
		Meta                       struct{ ResourceType, Location string }
	}
	if err := json.Unmarshal(r.raw, &spc); err != nil {
		t.Fatal(err)
	}
	if !spc.Patch.Supported || spc.Bulk.Supported || !spc.Filter.Supported || spc.Filter.MaxResults != 500 ||
		!spc.ChangePassword.Supported || !spc.Sort.Supported || !spc.ETag.Supported ||
		len(spc.AuthenticationSchemes) != 1 || spc.AuthenticationSchemes[0].Type != "oauthbearertoken" ||
		spc.AuthenticationSchemes[0].SpecURI == "" || spc.Meta.Location != s.url+"/ServiceProviderConfig" {
		t.Errorf("ServiceProviderConfig %s", r.raw)
	}
	r = s.do("GET", "/ResourceTypes", nil).expect(t, http.StatusOK)
	if r.body["totalResults"] != 2.0 || !bytes.Contains(r.raw, []byte(`"/Users"`)) {
		t.Errorf("ResourceTypes %s", r.raw)
	}
	r = s.do("GET", "/ResourceTypes/User", nil).expect(t, http.StatusOK)
	if r.str("id") != "User" && r.str("name") != "User" {
		t.Errorf("ResourceTypes/User %s", r.raw)
	}
	s.do("GET", "/ResourceTypes/Nope", nil).expectError(t, http.StatusNotFound, "")
	r = s.do("GET", "/Schemas", nil).expect(t, http.StatusOK)
	if r.body["totalResults"] != 3.0 || !bytes.Contains(r.raw, []byte(schema.URNEnterpriseUser)) {
		t.Errorf("Schemas %s", r.raw)
	}
	r = s.do("GET", "/Schemas/"+schema.URNUser, nil).expect(t, http.StatusOK)
	if r.str("id") != schema.URNUser {
		t.Errorf("Schemas/User %s", r.raw)
	}
	s.do("GET", "/Schemas/urn:nope", nil).expectError(t, http.StatusNotFound, "")
}

func TestLocationFromRequest(t *testing.T) {
	s := newTestServer(t, nil)
	r := s.do("POST", "/Users", userBody("host@example.com"), "Host", "acme.example.com")
	r.expect(t, http.StatusCreated)
	if got := r.header.Get("Location"); !strings.HasPrefix(got, "http://acme.example.com/scim/v2/Users/") {
		t.Errorf("Location %q", got)
	}
}

func TestInternalErrors(t *testing.T) {
	reg := schema.DefaultRegistry()
	st := newMemStore(reg)
	s := newServer(t, st, reg, nil)
	id := s.createUser("ok@example.com").str("id")
	st.fail = errors.New("disk on fire")
	for _, c := range []struct{ method, path string }{{"GET", "/Users"}, {"GET", "/Users/" + id}, {"POST", "/Users"}, {"DELETE", "/Users/" + id}} {
		var body any
		if c.method == "POST" {
			body = userBody("new@example.com")
		}
		r := s.do(c.method, c.path, body).expectError(t, http.StatusInternalServerError, "")
		if strings.Contains(r.str("detail"), "fire") || !strings.Contains(r.str("detail"), r.header.Get("X-Request-Id")) {
			t.Errorf("detail %q", r.str("detail"))
		}
	}
	st.fail = nil
	st.panics = true
	s.do("GET", "/Users", nil).expectError(t, http.StatusInternalServerError, "")
}

// Compile-time check that the memStore keeps to the contract.
var _ scimd.Store = (*memStore)(nil)

func TestPutKeepsNeverReturnedExtensionAttribute(t *testing.T) {
	const urn = "urn:example:params:scim:schemas:extension:test:2.0:User"
	ext := schema.Extension{Schema: &schema.Schema{ID: urn, Name: "Test", Attributes: []*schema.Attribute{
		{Name: "pin", Type: schema.String, Mutability: schema.ReadWrite, Returned: schema.Never, Uniqueness: schema.None},
		{Name: "badge", Type: schema.String, Mutability: schema.ReadWrite, Returned: schema.Default, Uniqueness: schema.None},
	}}}
	reg := schema.NewRegistryWith([]schema.Extension{ext}, nil)
	s := newServer(t, newStore(t, reg), reg, nil)
	body := userBody("ext@example.com", "schemas", []string{schema.URNUser, urn}, urn, map[string]any{"pin": "1234", "badge": "B1"})
	id := s.do("POST", "/Users", body).expect(t, http.StatusCreated).str("id")
	body = userBody("ext@example.com", "schemas", []string{schema.URNUser, urn}, urn, map[string]any{"badge": "B2"})
	r := s.do("PUT", "/Users/"+id, body).expect(t, http.StatusOK)
	if bytes.Contains(r.raw, []byte("1234")) || !bytes.Contains(r.raw, []byte("B2")) {
		t.Errorf("PUT response %s", r.raw)
	}
	st, err := s.store.Get(context.Background(), tenantA, scimd.TypeUser, id, scimd.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := st.Attrs[urn].(map[string]any); e["pin"] != "1234" || e["badge"] != "B2" {
		t.Errorf("stored extension %v", st.Attrs[urn])
	}
	// Without the extension in the body at all, pin is still kept.
	s.do("PUT", "/Users/"+id, userBody("ext@example.com")).expect(t, http.StatusOK)
	st, _ = s.store.Get(context.Background(), tenantA, scimd.TypeUser, id, scimd.ReadOptions{})
	if e, _ := st.Attrs[urn].(map[string]any); e["pin"] != "1234" || e["badge"] != nil {
		t.Errorf("stored extension after PUT without it %v", st.Attrs[urn])
	}
}
