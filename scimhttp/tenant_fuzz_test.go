package scimhttp_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/auth"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/scimhttp"
)

// FuzzTenantRouting sends requests with tenant a's bearer token to
// arbitrary hosts and paths (tenant b's host, b's /t/ prefix, b's resource
// ids, both at once, in any case, with ports and dots), with GET, PATCH
// and DELETE. Tenants a and b share one store. No answer may be a 500 or
// carry anything of b's, and b's user and group must stay as they were.
func FuzzTenantRouting(f *testing.F) {
	ctx := context.Background()
	reg := schema.DefaultRegistry()
	db, a, b := openTwoTenants(f, ":memory:", reg)
	tok, rec := auth.NewToken(a.ID, "okta", time.Time{}, time.Now())
	if err := db.CreateToken(ctx, rec); err != nil {
		f.Fatal(err)
	}
	h, err := scimhttp.New(scimhttp.Config{Store: db, Tenants: db, Registry: reg, Auth: &auth.Bearer{Tokens: db, Tenants: db},
		HashPassword: testHash, Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	create := func(tn *scimd.Tenant, typ, body string) *scimd.Resource {
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			f.Fatal(err)
		}
		r, err := reg.ResourceType(typ).Decode(m)
		if err != nil {
			f.Fatal(err)
		}
		out, err := db.Create(ctx, tn.ID, r)
		if err != nil {
			f.Fatal(err)
		}
		return out
	}
	create(a, scimd.TypeUser, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice@a.example"}`)
	bob := create(b, scimd.TypeUser, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob@b.example","displayName":"secret-of-b"}`)
	bgroup := create(b, scimd.TypeGroup, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"group-of-b"}`)
	const rename = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"renamed"}]}`

	for _, s := range []struct {
		method uint8
		host   string
		target string
	}{
		{0, "b.example.com", "/scim/v2/Users"},
		{0, "B.EXAMPLE.COM:8443", "/scim/v2/Users/" + bob.ID},
		{0, "a.example.com", "/t/b/scim/v2/Users"},
		{0, "127.0.0.1:8080", "/t/b/scim/v2/Users?filter=userName%20eq%20%22bob%40b.example%22"},
		{0, "a.example.com", "/t/B/scim/v2/Groups/" + bgroup.ID},
		{0, "a.example.com", "/scim/v2/Users?filter=id%20eq%20%22" + bob.ID + "%22"},
		{0, "a.example.com.", "/t/a/../b/scim/v2/Users/" + bob.ID},
		{1, "b.example.com", "/t/a/scim/v2/Users/" + bob.ID},
		{1, "a.example.com", "/scim/v2/Groups/" + bgroup.ID},
		{2, "b.example.com", "/scim/v2/Users/" + bob.ID},
		{2, "a.example.com", "/t/b/scim/v2/Groups/" + bgroup.ID},
	} {
		f.Add(s.method, s.host, s.target)
	}
	f.Fuzz(func(t *testing.T, method uint8, host, target string) {
		sendable := func(s string) bool {
			return !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f })
		}
		if !strings.HasPrefix(target, "/") || !sendable(target) || !sendable(host) {
			t.Skip("not sendable in a request line or Host header")
		}
		path, query, _ := strings.Cut(target, "?")
		req := httptest.NewRequest("GET", "http://a.example.com/", nil)
		switch method % 3 {
		case 1:
			req = httptest.NewRequest("PATCH", "http://a.example.com/", strings.NewReader(rename))
			req.Header.Set("Content-Type", "application/scim+json")
		case 2:
			req.Method = "DELETE"
		}
		req.URL.Path, req.URL.RawQuery, req.Host = path, query, host
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s (Host %q): %d %s", req.Method, target, host, w.Code, w.Body)
		}
		body := w.Body.String()
		sent := target // an error may quote what was sent
		if u, err := url.QueryUnescape(target); err == nil {
			sent += u
		}
		for _, secret := range []string{bob.ID, bgroup.ID, "bob@b.example", "secret-of-b", "group-of-b"} {
			if strings.Contains(body, secret) && !strings.Contains(sent, secret) {
				t.Fatalf("%s %s (Host %q) with a's token: %d %s reveals %q of tenant b", req.Method, target, host, w.Code, body, secret)
			}
		}
		for _, r := range []*scimd.Resource{bob, bgroup} {
			now, err := db.Get(ctx, b.ID, r.Type, r.ID, scimd.ReadOptions{})
			if err != nil || now.Meta.Version != r.Meta.Version {
				t.Fatalf("%s %s (Host %q) with a's token: %d; tenant b's %s %s is now %v, %v", req.Method, target, host, w.Code, r.Type, r.ID, now, err)
			}
		}
	})
}
