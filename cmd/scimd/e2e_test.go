package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const testToken = "e2e-test-token-0123456789abcdef"

// startServer runs a real scimd server (as "scimd serve" does) on a free
// loopback port with a fresh SQLite file, and stops it when the test ends.
func startServer(t *testing.T, mutate ...func(*Config)) *client {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.Database = filepath.Join(t.TempDir(), "scimd.db")
	cfg.LogLevel = "warn"
	for _, m := range mutate {
		m(&cfg)
	}
	var stdout, stderr syncBuffer
	s := &Server{Config: cfg, BootstrapToken: testToken, Stdout: &stdout, Stderr: &stderr}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Open(ctx); err != nil {
		cancel()
		t.Fatalf("open server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", stderr.String())
		}
	})
	return &client{t: t, base: s.URL(), token: testToken, http: &http.Client{Timeout: 30 * time.Second}}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// client sends SCIM requests the way an IdP does, with raw JSON bodies.
type client struct {
	t     *testing.T
	base  string
	token string
	http  *http.Client
}

type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// do sends method path (relative to the base URL, query included) with an
// optional JSON body (a string or a value to marshal).
func (c *client) do(method, path string, body any, headers ...string) *response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/scim+json")
	req.Header.Set("User-Agent", "Okta SCIM Client 1.0.0")
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			c.t.Fatalf("%s %s: response is not a JSON object: %v\n%s", method, path, err, raw)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
			c.t.Errorf("%s %s: Content-Type %q, want application/scim+json", method, path, ct)
		}
	}
	return r
}

// want fails the test unless the response has the given status.
func (r *response) want(t *testing.T, status int) *response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Raw)
	}
	return r
}

// wantError checks a SCIM error response.
func (r *response) wantError(t *testing.T, status int, scimType string) {
	t.Helper()
	r.want(t, status)
	if got := fmt.Sprint(r.Body["status"]); got != fmt.Sprint(status) {
		t.Errorf("error status field %q, want %q (a string)", got, fmt.Sprint(status))
	}
	if _, ok := r.Body["status"].(string); !ok {
		t.Errorf("error status field must be a JSON string, got %T", r.Body["status"])
	}
	if !hasString(r.Body["schemas"], "urn:ietf:params:scim:api:messages:2.0:Error") {
		t.Errorf("error schemas %v lack the Error URN", r.Body["schemas"])
	}
	if scimType != "" && r.Body["scimType"] != scimType {
		t.Errorf("scimType %v, want %q; body %s", r.Body["scimType"], scimType, r.Raw)
	}
}

func hasString(v any, s string) bool {
	list, _ := v.([]any)
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// str digs a string out of a decoded body by a dotted path. A path that
// starts with a schema URN ("urn:…:2.0:User.employeeNumber") takes the URN,
// dots and all, as its first key.
func str(m map[string]any, path string) string {
	var keys []string
	if strings.HasPrefix(path, "urn:") {
		colon := strings.LastIndex(path, ":")
		if dot := strings.Index(path[colon:], "."); dot >= 0 {
			keys = append(keys, path[:colon+dot])
			path = path[colon+dot+1:]
		}
	}
	keys = append(keys, strings.Split(path, ".")...)
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[k]
	}
	s, _ := v.(string)
	return s
}

// list checks a ListResponse and returns its resources.
func (r *response) list(t *testing.T) []map[string]any {
	t.Helper()
	r.want(t, http.StatusOK)
	if !hasString(r.Body["schemas"], "urn:ietf:params:scim:api:messages:2.0:ListResponse") {
		t.Fatalf("not a ListResponse: %s", r.Raw)
	}
	for _, k := range []string{"totalResults", "startIndex", "itemsPerPage"} {
		if _, ok := r.Body[k].(float64); !ok {
			t.Fatalf("%s = %#v, want a JSON number: %s", k, r.Body[k], r.Raw)
		}
	}
	var out []map[string]any
	res, _ := r.Body["Resources"].([]any)
	for _, x := range res {
		out = append(out, x.(map[string]any))
	}
	if int(r.Body["itemsPerPage"].(float64)) != len(out) {
		t.Errorf("itemsPerPage %v but %d resources", r.Body["itemsPerPage"], len(out))
	}
	return out
}

func (r *response) total(t *testing.T) int {
	t.Helper()
	n, ok := r.Body["totalResults"].(float64)
	if !ok {
		t.Fatalf("totalResults missing: %s", r.Raw)
	}
	return int(n)
}

func oktaUser(userName, given, family, externalID string) map[string]any {
	return map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName":    userName,
		"name":        map[string]any{"givenName": given, "familyName": family},
		"emails":      []any{map[string]any{"primary": true, "value": userName, "type": "work"}},
		"displayName": given + " " + family,
		"locale":      "en-US",
		"externalId":  externalID,
		"groups":      []any{},
		"password":    "Tq9v2mLa",
		"active":      true,
	}
}

// TestOktaLifecycle replays Okta's SCIM 2.0 client (OIN integration):
// test connection, assign (lookup then create), profile update by GET then
// PUT, deactivate and reactivate by PATCH, group push with membership PATCH,
// and import paging.
func TestOktaLifecycle(t *testing.T) {
	c := startServer(t)

	// Test API credentials.
	c.do("GET", "/Users?startIndex=1&count=2", nil).list(t)
	c.do("GET", "/Groups?startIndex=1&count=100", nil).list(t)

	// Assign: existence check, with Okta's older '+' encoding, then create.
	r := c.do("GET", `/Users?filter=userName+eq+%22ana.silva%40acme.test%22&startIndex=1&count=100`, nil)
	if got := r.list(t); len(got) != 0 || r.total(t) != 0 {
		t.Fatalf("lookup before create: %s", r.Raw)
	}
	r = c.do("POST", "/Users", oktaUser("ana.silva@acme.test", "Ana", "Silva", "00u7f3kq2wXyZ")).want(t, http.StatusCreated)
	id := str(r.Body, "id")
	if id == "" {
		t.Fatalf("created user has no id: %s", r.Raw)
	}
	if _, ok := r.Body["password"]; ok {
		t.Errorf("password returned in create response: %s", r.Raw)
	}
	if loc := r.Header.Get("Location"); loc == "" || loc != str(r.Body, "meta.location") {
		t.Errorf("Location %q, meta.location %q: want equal and non-empty", loc, str(r.Body, "meta.location"))
	}
	if r.Header.Get("ETag") == "" {
		t.Errorf("no ETag on create")
	}
	if r.Body["active"] != true {
		t.Errorf("active = %v, want true", r.Body["active"])
	}

	// Same user again → 409 uniqueness, also with different case.
	c.do("POST", "/Users", oktaUser("ANA.SILVA@acme.test", "Ana", "Silva", "x")).wantError(t, http.StatusConflict, "uniqueness")

	// Lookup is case-insensitive and finds exactly the user.
	got := c.do("GET", `/Users?filter=userName%20eq%20%22Ana.Silva%40ACME.test%22&startIndex=1&count=100`, nil).list(t)
	if len(got) != 1 || got[0]["id"] != id {
		t.Fatalf("case-insensitive lookup: %v", got)
	}

	// Profile update: GET then PUT what was read, with a change, echoing
	// id, meta, groups and a password.
	r = c.do("GET", "/Users/"+id, nil).want(t, http.StatusOK)
	body := r.Body
	body["name"] = map[string]any{"givenName": "Ana", "familyName": "Silva-Souza"}
	body["password"] = "n3wPass!"
	body["groups"] = []any{}
	r = c.do("PUT", "/Users/"+id, body).want(t, http.StatusOK)
	if str(r.Body, "name.familyName") != "Silva-Souza" {
		t.Errorf("PUT did not update familyName: %s", r.Raw)
	}
	if r.Body["active"] != true || str(r.Body, "id") != id {
		t.Errorf("PUT changed active or id: %s", r.Raw)
	}

	// Deactivate, still readable and found by lookup; then reactivate.
	deactivate := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
	r = c.do("PATCH", "/Users/"+id, deactivate)
	if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
		t.Fatalf("deactivate: %d %s", r.Status, r.Raw)
	}
	r = c.do("GET", "/Users/"+id, nil).want(t, http.StatusOK)
	if r.Body["active"] != false {
		t.Fatalf("after deactivate active = %v", r.Body["active"])
	}
	if got := c.do("GET", `/Users?filter=userName%20eq%20%22ana.silva%40acme.test%22&startIndex=1&count=100`, nil).list(t); len(got) != 1 {
		t.Fatalf("deactivated user not found by lookup")
	}
	c.do("PATCH", "/Users/"+id, strings.Replace(deactivate, "false", "true", 1))
	if r := c.do("GET", "/Users/"+id, nil); r.Body["active"] != true {
		t.Fatalf("after reactivate active = %v", r.Body["active"])
	}

	// Group push: create, find by name, rename with membership update.
	u2 := str(c.do("POST", "/Users", oktaUser("bo.chen@acme.test", "Bo", "Chen", "00u2")).want(t, http.StatusCreated).Body, "id")
	r = c.do("POST", "/Groups", map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "Engineering", "members": []any{},
	}).want(t, http.StatusCreated)
	gid := str(r.Body, "id")
	got = c.do("GET", `/Groups?filter=displayName%20eq%20%22Engineering%22&startIndex=1&count=100`, nil).list(t)
	if len(got) != 1 || got[0]["id"] != gid {
		t.Fatalf("group lookup: %v", got)
	}
	c.do("PATCH", "/Groups/"+gid, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","value":{"id":%q,"displayName":"Engineering Team"}}]}`, gid))
	r = c.do("PATCH", "/Groups/"+gid, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"add","path":"members","value":[{"value":%q,"display":"ana.silva@acme.test"},{"value":%q,"display":"bo.chen@acme.test"}]}]}`, id, u2))
	if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
		t.Fatalf("add members: %d %s", r.Status, r.Raw)
	}
	r = c.do("PATCH", "/Groups/"+gid, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"remove","path":"members[value eq \"%s\"]"}]}`, u2))
	if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
		t.Fatalf("remove member: %d %s", r.Status, r.Raw)
	}
	r = c.do("GET", "/Groups/"+gid, nil).want(t, http.StatusOK)
	if str(r.Body, "displayName") != "Engineering Team" {
		t.Errorf("rename lost: %s", r.Raw)
	}
	members, _ := r.Body["members"].([]any)
	if len(members) != 1 || members[0].(map[string]any)["value"] != id {
		t.Fatalf("members = %v, want only %s", members, id)
	}
	r = c.do("GET", "/Users/"+id, nil).want(t, http.StatusOK)
	groups, _ := r.Body["groups"].([]any)
	if len(groups) != 1 || groups[0].(map[string]any)["value"] != gid {
		t.Errorf("user groups = %v, want [%s]", groups, gid)
	}

	// Import: page through every user with count=100.
	for i := range 230 {
		c.do("POST", "/Users", oktaUser(fmt.Sprintf("import%03d@acme.test", i), "I", fmt.Sprint(i), "")).want(t, http.StatusCreated)
	}
	seen := map[string]bool{}
	total := -1
	for start := 1; ; start += 100 {
		r := c.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=100", start), nil)
		page := r.list(t)
		if total == -1 {
			total = r.total(t)
		}
		if int(r.Body["startIndex"].(float64)) != start {
			t.Errorf("startIndex %v, want %d", r.Body["startIndex"], start)
		}
		for _, u := range page {
			uid := u["id"].(string)
			if seen[uid] {
				t.Fatalf("user %s on two pages", uid)
			}
			seen[uid] = true
		}
		if start+100 > total {
			break
		}
	}
	if total != 232 || len(seen) != 232 {
		t.Errorf("import saw %d users, total %d; want 232", len(seen), total)
	}

	// Unlink with delete.
	c.do("DELETE", "/Groups/"+gid, nil).want(t, http.StatusNoContent)
	c.do("GET", "/Groups/"+gid, nil).wantError(t, http.StatusNotFound, "")
}

// TestEntraLifecycle replays Microsoft Entra ID's provisioning service.
func TestEntraLifecycle(t *testing.T) {
	c := startServer(t)

	// Test connection: a random GUID matches nothing → 200 empty list.
	r := c.do("GET", `/Users?filter=userName+eq+%22f0c1a7de-9b7e-4c33-8d8c-1f2e3d4c5b6a%22`, nil)
	if got := r.list(t); len(got) != 0 {
		t.Fatalf("test connection: %s", r.Raw)
	}

	create := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
	 "externalId":"jdoe","userName":"jdoe@contoso.test","active":true,"displayName":"Jane Doe","title":null,
	 "emails":[{"primary":true,"type":"work","value":"jdoe@contoso.test"}],
	 "meta":{"resourceType":"User"},"name":{"formatted":"Jane Doe","familyName":"Doe","givenName":"Jane"},
	 "roles":[],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}}`
	r = c.do("POST", "/Users?aadOptscim062020", create).want(t, http.StatusCreated)
	id := str(r.Body, "id")
	mgr := str(c.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"boss@contoso.test","active":true}`).want(t, http.StatusCreated).Body, "id")

	// Matching by externalId and by the work email (Entra's non-ABNF form).
	for _, f := range []string{
		`externalId+eq+%22jdoe%22`,
		`emails%5Btype+eq+%22work%22%5D.value+eq+%22jdoe%40contoso.test%22`,
		`userName+eq+%22JDOE%40contoso.test%22+and+active+eq+true`,
	} {
		got := c.do("GET", "/Users?filter="+f, nil).list(t)
		if len(got) != 1 || got[0]["id"] != id {
			t.Errorf("filter %s: got %v", f, got)
		}
	}
	// externalId is caseExact.
	if got := c.do("GET", "/Users?filter=externalId+eq+%22JDOE%22", nil).list(t); len(got) != 0 {
		t.Errorf("externalId matched case-insensitively")
	}

	// Attribute changes, default-job shapes: capitalised ops, one Replace
	// per path, manager as a bare string.
	r = c.do("PATCH", "/Users/"+id, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
	 {"op":"Replace","path":"displayName","value":"Jane Q. Doe"},
	 {"op":"Replace","path":"name.familyName","value":"Doe-Smith"},
	 {"op":"Replace","path":"emails[type eq \"work\"].value","value":"jane.doe@contoso.test"},
	 {"op":"Add","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555 0100"},
	 {"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Marketing"},
	 {"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":%q}]}`, mgr)).want(t, http.StatusOK)
	ent, _ := r.Body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)
	if ent == nil || ent["department"] != "Marketing" || str(ent, "manager.value") != mgr {
		t.Errorf("enterprise extension after PATCH: %v", ent)
	}
	// A fresh GET shows every change (the validator checks this way).
	r = c.do("GET", "/Users/"+id, nil).want(t, http.StatusOK)
	if str(r.Body, "displayName") != "Jane Q. Doe" || str(r.Body, "name.familyName") != "Doe-Smith" {
		t.Errorf("after PATCH: %s", r.Raw)
	}
	emails, _ := r.Body["emails"].([]any)
	if len(emails) != 1 || emails[0].(map[string]any)["value"] != "jane.doe@contoso.test" {
		t.Errorf("emails after PATCH = %v", emails)
	}
	phones, _ := r.Body["phoneNumbers"].([]any)
	if len(phones) != 1 || phones[0].(map[string]any)["type"] != "mobile" {
		t.Errorf("phoneNumbers after create-on-absent add = %v", phones)
	}

	// New-flag shape: no-path replace with dotted and URN keys.
	c.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
	 {"op":"replace","value":{"name.givenName":"Janet","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"701"}}]}`).want(t, http.StatusOK)
	r = c.do("GET", "/Users/"+id, nil)
	if str(r.Body, "name.givenName") != "Janet" || str(r.Body, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.employeeNumber") != "701" {
		t.Errorf("dotted/URN no-path replace: %s", r.Raw)
	}

	// Disable with a string boolean; the user stays readable.
	c.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`).want(t, http.StatusOK)
	if r := c.do("GET", "/Users/"+id, nil).want(t, http.StatusOK); r.Body["active"] != false {
		t.Errorf("string boolean disable: active = %v", r.Body["active"])
	}

	// Groups: create with Entra's extra schema URN, match without members.
	r = c.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
	 "externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"Sales","meta":{"resourceType":"Group"}}`).want(t, http.StatusCreated)
	gid := str(r.Body, "id")
	got := c.do("GET", `/Groups?excludedAttributes=members&filter=displayName+eq+%22Sales%22`, nil).list(t)
	if len(got) != 1 || got[0]["id"] != gid {
		t.Fatalf("group match: %v", got)
	}
	if _, ok := got[0]["members"]; ok {
		t.Errorf("excludedAttributes=members still returned members")
	}
	r = c.do("PATCH", "/Groups/"+gid, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
	 {"op":"Add","path":"members","value":[{"$ref":null,"value":%q},{"$ref":null,"value":%q}]}]}`, id, mgr))
	if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
		t.Fatalf("add members: %d %s", r.Status, r.Raw)
	}
	// Legacy Remove with a value list removes only the listed member.
	r = c.do("PATCH", "/Groups/"+gid, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
	 {"op":"Remove","path":"members","value":[{"value":%q}]}]}`, mgr))
	if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
		t.Fatalf("remove member: %d %s", r.Status, r.Raw)
	}
	c.do("PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"displayName","value":"Sales EMEA"}]}`)
	r = c.do("GET", "/Groups/"+gid, nil).want(t, http.StatusOK)
	members, _ := r.Body["members"].([]any)
	if len(members) != 1 || members[0].(map[string]any)["value"] != id || str(r.Body, "displayName") != "Sales EMEA" {
		t.Fatalf("group after Entra PATCHes: %s", r.Raw)
	}
	r = c.do("GET", "/Groups/"+gid+"?excludedAttributes=members", nil).want(t, http.StatusOK)
	if _, ok := r.Body["members"]; ok {
		t.Errorf("GET by id with excludedAttributes=members returned members")
	}

	// Hard delete: the user and its membership go.
	c.do("DELETE", "/Users/"+id, nil).want(t, http.StatusNoContent)
	c.do("GET", "/Users/"+id, nil).wantError(t, http.StatusNotFound, "")
	r = c.do("GET", "/Groups/"+gid, nil).want(t, http.StatusOK)
	if members, _ := r.Body["members"].([]any); len(members) != 0 {
		t.Errorf("deleted user still a member: %v", members)
	}
	c.do("DELETE", "/Groups/"+gid, nil).want(t, http.StatusNoContent)
}

// TestAuthRequired checks that no endpoint answers without a valid token.
func TestAuthRequired(t *testing.T) {
	c := startServer(t) // default limits: suites probing for 401 must not meet 429
	for _, tok := range []string{"", "wrong-token-value-0000000", "scimd_0123456789abcdef_nope"} {
		c.token = tok
		for _, p := range []string{"/Users", "/Groups", "/ServiceProviderConfig", "/Schemas", "/ResourceTypes", "/Users/x"} {
			r := c.do("GET", p, nil)
			r.wantError(t, http.StatusUnauthorized, "")
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("GET %s with token %q: no WWW-Authenticate header", p, tok)
			}
		}
		c.do("POST", "/Users", oktaUser("x@y.test", "X", "Y", "")).wantError(t, http.StatusUnauthorized, "")
	}
}

// TestErrors checks the error paths an IdP admin sees.
func TestErrors(t *testing.T) {
	c := startServer(t)
	c.do("GET", "/Users/2819c223-7f76-453a-919d-413861904646", nil).wantError(t, http.StatusNotFound, "")
	c.do("GET", "/Nope", nil).wantError(t, http.StatusNotFound, "")
	c.do("GET", `/Users?filter=userName+zz+%22x%22`, nil).wantError(t, http.StatusBadRequest, "invalidFilter")
	c.do("GET", `/Users?filter=noSuchAttr+eq+%22x%22`, nil).wantError(t, http.StatusBadRequest, "invalidFilter")
	c.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":`).wantError(t, http.StatusBadRequest, "invalidSyntax")
	c.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"displayName":"no userName"}`).wantError(t, http.StatusBadRequest, "invalidValue")
	c.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@b.test","active":"maybe"}`).wantError(t, http.StatusBadRequest, "invalidValue")
	c.do("PUT", "/Users/2819c223-7f76-453a-919d-413861904646", oktaUser("ghost@y.test", "G", "H", "")).wantError(t, http.StatusNotFound, "")
	c.do("DELETE", "/ServiceProviderConfig", nil).wantError(t, http.StatusMethodNotAllowed, "")

	id := str(c.do("POST", "/Users", oktaUser("etag@y.test", "E", "T", "")).want(t, http.StatusCreated).Body, "id")
	r := c.do("GET", "/Users/"+id, nil).want(t, http.StatusOK)
	etag := r.Header.Get("ETag")
	c.do("GET", "/Users/"+id, nil, "If-None-Match", etag).want(t, http.StatusNotModified)
	c.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"x"}]}`,
		"If-Match", `W/"999"`).wantError(t, http.StatusPreconditionFailed, "")
	c.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"x"}]}`,
		"If-Match", etag).want(t, http.StatusOK)
	c.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove"}]}`).wantError(t, http.StatusBadRequest, "noTarget")
	c.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"id","value":"other"}]}`).wantError(t, http.StatusBadRequest, "mutability")

	big := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"big@y.test","title":"` + strings.Repeat("x", 2<<20) + `"}`
	c.do("POST", "/Users", big).wantError(t, http.StatusRequestEntityTooLarge, "")
}
