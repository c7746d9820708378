package scimhttp_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/auth"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/scimhttp"
	"github.com/scimd/scimd/sqlite"
)

// tenantEnv is a Handler with tenant routing over a real sqlite store and
// real bearer tokens: tenants a (host a.example.com) and b (host
// b.example.com), one token each.
type tenantEnv struct {
	t          *testing.T
	srv        *server
	root       string // http://127.0.0.1:port
	db         *sqlite.DB
	a, b       *scimd.Tenant
	tokA, tokB string
	logs       *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newTenantEnv(t *testing.T, mod func(*scimhttp.Config)) *tenantEnv {
	t.Helper()
	reg := schema.DefaultRegistry()
	e := &tenantEnv{t: t, logs: &lockedBuffer{}}
	e.db, e.a, e.b = openTwoTenants(t, t.TempDir()+"/scim.db", reg)
	db := e.db
	e.tokA = e.newToken(e.a.ID, time.Time{})
	e.tokB = e.newToken(e.b.ID, time.Time{})
	e.srv = newServer(t, db, reg, func(c *scimhttp.Config) {
		c.Auth = &auth.Bearer{Tokens: db, Tenants: db}
		c.Tenants = db
		c.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		if mod != nil {
			mod(c)
		}
	})
	e.root = strings.TrimSuffix(e.srv.url, "/scim/v2")
	return e
}

// openTwoTenants opens a SQLite store at path (":memory:" for one in
// memory) holding tenants a (host a.example.com) and b (host
// b.example.com), and nothing else.
func openTwoTenants(tb testing.TB, path string, reg *schema.Registry) (db *sqlite.DB, a, b *scimd.Tenant) {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path, reg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	a = &scimd.Tenant{ID: "id-a", Name: "a", Hosts: []string{"a.example.com"}}
	b = &scimd.Tenant{ID: "id-b", Name: "b", Hosts: []string{"b.example.com"}}
	for _, tn := range []*scimd.Tenant{a, b} {
		if err := db.CreateTenant(ctx, tn); err != nil {
			tb.Fatal(err)
		}
	}
	return db, a, b
}

func (e *tenantEnv) newToken(tenant string, expires time.Time) string {
	e.t.Helper()
	tok, rec := auth.NewToken(tenant, "test", expires, time.Now())
	if err := e.db.CreateToken(context.Background(), rec); err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// target is one way of addressing a tenant: a base URL (with BasePath) and
// the Host header to send ("" for the URL's own).
type target struct {
	name string
	base string
	host string
}

func (e *tenantEnv) byHost(tn *scimd.Tenant) target {
	return target{"host " + tn.Hosts[0], e.root + "/scim/v2", tn.Hosts[0]}
}

func (e *tenantEnv) byPath(tn *scimd.Tenant) target {
	return target{"path /t/" + tn.Name, e.root + "/t/" + tn.Name + "/scim/v2", ""}
}

func (e *tenantEnv) plain() target { return target{"no tenant named", e.root + "/scim/v2", ""} }

// do sends a request to tg with token.
func (e *tenantEnv) do(tg target, token, method, path string, body any, headers ...string) *response {
	e.t.Helper()
	h := append([]string{"Authorization", "Bearer " + token}, headers...)
	if tg.host != "" {
		h = append(h, "Host", tg.host)
	}
	return e.srv.do(method, tg.base+path, body, h...)
}

func (e *tenantEnv) create(tg target, token, path string, body any) string {
	e.t.Helper()
	r := e.do(tg, token, "POST", path, body).expect(e.t, http.StatusCreated)
	return r.str("id")
}

func groupBody(name string, members ...string) map[string]any {
	ms := []any{}
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	return map[string]any{"schemas": []string{schema.URNGroup}, "displayName": name, "members": ms}
}

func patchBody(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []string{scimhttp.URNPatchOp}, "Operations": list}
}

// snapshot returns everything tenant tn's token sees of its data, raw.
func (e *tenantEnv) snapshot(tg target, token string, ids ...string) string {
	e.t.Helper()
	var b strings.Builder
	for _, p := range []string{"/Users?count=1000", "/Groups?count=1000", "/Users?attributes=groups&count=1000"} {
		b.Write(e.do(tg, token, "GET", p, nil).expect(e.t, http.StatusOK).raw)
		b.WriteByte('\n')
	}
	for _, id := range ids {
		for _, typ := range []string{"/Users/", "/Groups/"} {
			r := e.do(tg, token, "GET", typ+id, nil)
			if r.status == http.StatusOK {
				b.Write(r.raw)
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

// TestCrossTenantSweep sends every endpoint and method with tenant A's
// credential, at A's URLs and at B's, and checks that nothing of B leaks
// and nothing of B changes.
func TestCrossTenantSweep(t *testing.T) {
	e := newTenantEnv(t, nil)
	bHost := e.byHost(e.b)

	// B's data.
	bob := e.create(bHost, e.tokB, "/Users", userBody("bob@b.example", "externalId", "ext-bob"))
	carol := e.create(bHost, e.tokB, "/Users", userBody("carol@b.example"))
	bAdmins := e.create(bHost, e.tokB, "/Groups", groupBody("B Admins", bob, carol))
	// A's data.
	aHost := e.byHost(e.a)
	alice := e.create(aHost, e.tokA, "/Users", userBody("alice@a.example"))
	aStaff := e.create(aHost, e.tokA, "/Groups", groupBody("A Staff", alice))

	before := e.snapshot(bHost, e.tokB, bob, carol, bAdmins)
	aBefore := e.snapshot(aHost, e.tokA, alice, aStaff)
	missing := scimd.NewID() // an id no tenant has

	// sameAsMissing checks that a response about B's resource id is the
	// response about a resource that does not exist at all.
	sameAsMissing := func(t *testing.T, tg target, method, path string, body func(id string) any, bID string, want int) {
		t.Helper()
		var bBody, mBody any
		if body != nil {
			bBody, mBody = body(bID), body(missing)
		}
		got := e.do(tg, e.tokA, method, strings.ReplaceAll(path, "{id}", bID), bBody)
		ref := e.do(tg, e.tokA, method, strings.ReplaceAll(path, "{id}", missing), mBody)
		if got.status != want || ref.status != want {
			t.Errorf("%s %s with B's id: status %d (missing id: %d), want %d; body %s", method, path, got.status, ref.status, want, got.raw)
			return
		}
		if g, r := strings.ReplaceAll(string(got.raw), bID, "ID"), strings.ReplaceAll(string(ref.raw), missing, "ID"); g != r {
			t.Errorf("%s %s: B's id answered differently from a missing id:\n%s\n%s", method, path, g, r)
		}
	}
	total := func(t *testing.T, tg target, method, path string, body any) int {
		t.Helper()
		r := e.do(tg, e.tokA, method, path, body).expect(t, http.StatusOK)
		n, _ := r.body["totalResults"].(float64)
		if bytes.Contains(r.raw, []byte("b.example")) || bytes.Contains(r.raw, []byte("B Admins")) ||
			bytes.Contains(r.raw, []byte(bob)) || bytes.Contains(r.raw, []byte(bAdmins)) {
			t.Errorf("%s %s: B's data in the response: %s", method, path, r.raw)
		}
		return int(n)
	}

	for _, tg := range []target{aHost, e.byPath(e.a), e.plain()} {
		t.Run("A/"+tg.name, func(t *testing.T) {
			userPut := func(id string) any { return userBody("bob@b.example", "id", id) }
			groupPut := func(id string) any { return groupBody("B Admins", alice) }
			for _, id := range []string{bob, carol} {
				sameAsMissing(t, tg, "GET", "/Users/{id}", nil, id, http.StatusNotFound)
				sameAsMissing(t, tg, "GET", "/Users/{id}?attributes=userName,groups", nil, id, http.StatusNotFound)
				sameAsMissing(t, tg, "PUT", "/Users/{id}", userPut, id, http.StatusNotFound)
				sameAsMissing(t, tg, "PATCH", "/Users/{id}", func(string) any {
					return patchBody(map[string]any{"op": "replace", "path": "active", "value": false})
				}, id, http.StatusNotFound)
				sameAsMissing(t, tg, "DELETE", "/Users/{id}", nil, id, http.StatusNotFound)
				sameAsMissing(t, tg, "GET", "/Groups/{id}", nil, id, http.StatusNotFound)
			}
			sameAsMissing(t, tg, "GET", "/Groups/{id}", nil, bAdmins, http.StatusNotFound)
			sameAsMissing(t, tg, "PUT", "/Groups/{id}", groupPut, bAdmins, http.StatusNotFound)
			sameAsMissing(t, tg, "PATCH", "/Groups/{id}", func(string) any {
				return patchBody(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": alice}}})
			}, bAdmins, http.StatusNotFound)
			sameAsMissing(t, tg, "PATCH", "/Groups/{id}", func(string) any {
				return patchBody(map[string]any{"op": "remove", "path": `members[value eq "` + bob + `"]`})
			}, bAdmins, http.StatusNotFound)
			sameAsMissing(t, tg, "DELETE", "/Groups/{id}", nil, bAdmins, http.StatusNotFound)
			sameAsMissing(t, tg, "GET", "/Users/{id}", nil, bAdmins, http.StatusNotFound)

			// B's users as members of A's groups: the same refusal as for
			// users that do not exist.
			memberOf := func(id string) any {
				return patchBody(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}})
			}
			sameAsMissing(t, tg, "PATCH", "/Groups/"+aStaff, memberOf, bob, http.StatusBadRequest)
			sameAsMissing(t, tg, "PUT", "/Groups/"+aStaff, func(id string) any { return groupBody("A Staff", alice, id) }, bob, http.StatusBadRequest)
			sameAsMissing(t, tg, "POST", "/Groups", func(id string) any { return groupBody("A New", id) }, bob, http.StatusBadRequest)

			// Lists, filters and searches that would match B's data.
			userFilters := []string{
				`userName eq "bob@b.example"`, `id eq "` + bob + `"`, `externalId eq "ext-bob"`,
				`emails.value eq "bob@b.example"`, `emails[type eq "work"].value co "b.example"`,
				`userName sw "bob"`, `userName co "b.example"`,
			}
			groupFilters := []string{
				`displayName eq "B Admins"`, `members.value eq "` + bob + `"`, `id eq "` + bAdmins + `"`, `externalId pr`,
			}
			for _, c := range []struct {
				typ     string
				filters []string
			}{{"/Users", userFilters}, {"/Groups", groupFilters}} {
				for _, f := range c.filters {
					if n := total(t, tg, "GET", c.typ+"?filter="+urlQuery(f), nil); n != 0 {
						t.Errorf("GET %s?filter=%s: totalResults %d, want 0", c.typ, f, n)
					}
					body := map[string]any{"schemas": []string{scimhttp.URNSearchRequest}, "filter": f}
					if n := total(t, tg, "POST", c.typ+"/.search", body); n != 0 {
						t.Errorf("POST %s/.search %s: totalResults %d, want 0", c.typ, f, n)
					}
				}
			}
			for _, f := range []string{`id eq "` + bob + `"`, `id eq "` + bAdmins + `"`, `externalId eq "ext-bob"`} {
				body := map[string]any{"schemas": []string{scimhttp.URNSearchRequest}, "filter": f}
				if n := total(t, tg, "POST", "/.search", body); n != 0 {
					t.Errorf("POST /.search %s: totalResults %d, want 0", f, n)
				}
			}
			// Counts are A's alone.
			for p, want := range map[string]int{"/Users": 1, "/Groups": 1, "/Users?count=0": 1, "/Groups?count=0": 1,
				"/Users?filter=" + urlQuery("userName pr"): 1, "/Groups?sortBy=displayName": 1} {
				if n := total(t, tg, "GET", p, nil); n != want {
					t.Errorf("GET %s: totalResults %d, want %d", p, n, want)
				}
			}
			search := map[string]any{"schemas": []string{scimhttp.URNSearchRequest}}
			if n := total(t, tg, "POST", "/.search", search); n != 2 {
				t.Errorf("POST /.search: totalResults %d, want 2", n)
			}

			// B's names are free in A: 201, never 409.
			dupUser := e.create(tg, e.tokA, "/Users", userBody("bob@b.example", "externalId", "ext-bob"))
			dupGroup := e.create(tg, e.tokA, "/Groups", groupBody("B Admins", dupUser))
			e.do(tg, e.tokA, "DELETE", "/Groups/"+dupGroup, nil).expect(t, http.StatusNoContent)
			e.do(tg, e.tokA, "DELETE", "/Users/"+dupUser, nil).expect(t, http.StatusNoContent)
			// A's own user's groups are A's only.
			r := e.do(tg, e.tokA, "GET", "/Users/"+alice+"?attributes=groups", nil).expect(t, http.StatusOK)
			if bytes.Contains(r.raw, []byte(bAdmins)) {
				t.Errorf("A's user lists B's group: %s", r.raw)
			}
		})
	}

	// With A's credential, B's host, B's path, and an unknown tenant's
	// path are refused outright, for every endpoint and method.
	mixed := target{"host a.example.com, path /t/b", e.root + "/t/b/scim/v2", "a.example.com"}
	unknown := target{"path /t/nope", e.root + "/t/nope/scim/v2", ""}
	for _, tg := range []target{bHost, e.byPath(e.b), mixed, unknown} {
		t.Run("B/"+tg.name, func(t *testing.T) {
			for _, rq := range sweepRequests(bob, bAdmins, alice) {
				r := e.do(tg, e.tokA, rq.method, rq.path, rq.body)
				r.expectError(t, http.StatusUnauthorized, "")
				if r.header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s %s: no WWW-Authenticate", rq.method, rq.path)
				}
				if bytes.Contains(r.raw, []byte("bob")) || bytes.Contains(r.raw, []byte("B Admins")) {
					t.Errorf("%s %s: B's data in a 401: %s", rq.method, rq.path, r.raw)
				}
			}
		})
	}

	// The 401s are indistinguishable: a credential of another tenant, a
	// wrong credential, an unknown tenant.
	ref := e.do(e.byPath(e.b), "scimd_0123456789abcdef_wrong", "GET", "/Users", nil).expect(t, http.StatusUnauthorized).raw
	for _, r := range []*response{
		e.do(e.byPath(e.b), e.tokA, "GET", "/Users", nil),
		e.do(bHost, e.tokA, "GET", "/Users", nil),
		e.do(bHost, "", "GET", "/Users", nil),
		e.do(unknown, e.tokA, "GET", "/Users", nil),
		e.do(unknown, "scimd_0123456789abcdef_wrong", "GET", "/Users", nil),
	} {
		if !bytes.Equal(r.raw, ref) || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("401 bodies differ:\n%s\n%s", r.raw, ref)
		}
	}

	if after := e.snapshot(bHost, e.tokB, bob, carol, bAdmins); after != before {
		t.Errorf("B's data changed:\nbefore %s\nafter  %s", before, after)
	}
	if after := e.snapshot(aHost, e.tokA, alice, aStaff); after != aBefore {
		t.Errorf("A's data changed:\nbefore %s\nafter  %s", aBefore, after)
	}
	// B's token still works on B's URLs and sees its own data.
	for _, tg := range []target{bHost, e.byPath(e.b), e.plain()} {
		r := e.do(tg, e.tokB, "GET", "/Groups/"+bAdmins, nil).expect(t, http.StatusOK)
		if ms, _ := r.body["members"].([]any); len(ms) != 2 {
			t.Errorf("%s: B's group has %d members, want 2", tg.name, len(ms))
		}
	}
}

type sweepRequest struct {
	method, path string
	body         any
}

// sweepRequests is every endpoint and method of the SCIM API, naming the
// given ids.
func sweepRequests(user, group, other string) []sweepRequest {
	search := map[string]any{"schemas": []string{scimhttp.URNSearchRequest}, "filter": `userName pr`}
	patch := patchBody(map[string]any{"op": "replace", "path": "active", "value": false})
	return []sweepRequest{
		{"GET", "/Users", nil},
		{"GET", "/Users?filter=" + urlQuery(`userName eq "bob@b.example"`), nil},
		{"GET", "/Users?count=0", nil},
		{"POST", "/Users", userBody("bob@b.example")},
		{"GET", "/Users/" + user, nil},
		{"PUT", "/Users/" + user, userBody("bob@b.example")},
		{"PATCH", "/Users/" + user, patch},
		{"DELETE", "/Users/" + user, nil},
		{"POST", "/Users/.search", search},
		{"GET", "/Groups", nil},
		{"POST", "/Groups", groupBody("B Admins", user)},
		{"GET", "/Groups/" + group, nil},
		{"PUT", "/Groups/" + group, groupBody("B Admins", other)},
		{"PATCH", "/Groups/" + group, patchBody(map[string]any{"op": "remove", "path": "members"})},
		{"DELETE", "/Groups/" + group, nil},
		{"POST", "/Groups/.search", search},
		{"POST", "/.search", search},
		{"GET", "/ServiceProviderConfig", nil},
		{"GET", "/ResourceTypes", nil},
		{"GET", "/ResourceTypes/User", nil},
		{"GET", "/Schemas", nil},
		{"GET", "/Schemas/" + schema.URNUser, nil},
		{"POST", "/Bulk", map[string]any{}},
		{"GET", "/Me", nil},
		{"GET", "/nothing", nil},
	}
}

func urlQuery(s string) string {
	r := strings.NewReplacer(" ", "%20", `"`, "%22", "[", "%5B", "]", "%5D", "&", "%26", "+", "%2B", "#", "%23")
	return r.Replace(s)
}

func TestTenantRouting(t *testing.T) {
	e := newTenantEnv(t, nil)

	t.Run("Location", func(t *testing.T) {
		for _, tc := range []struct {
			tg   target
			want string
		}{
			{e.byHost(e.a), "http://a.example.com/scim/v2/Users/"},
			{target{"host with port and case", e.root + "/scim/v2", "A.Example.COM:8443"}, "http://A.Example.COM:8443/scim/v2/Users/"},
			{e.byPath(e.a), e.root + "/t/a/scim/v2/Users/"},
			{e.plain(), e.root + "/scim/v2/Users/"},
		} {
			r := e.do(tc.tg, e.tokA, "POST", "/Users", userBody("loc-"+strconv.Itoa(len(tc.want))+"@a.example")).expect(t, http.StatusCreated)
			id := r.str("id")
			meta, _ := r.body["meta"].(map[string]any)
			if got := fmt.Sprint(meta["location"]); got != tc.want+id {
				t.Errorf("%s: meta.location %q, want %q", tc.tg.name, got, tc.want+id)
			}
			if got := r.header.Get("Location"); got != tc.want+id {
				t.Errorf("%s: Location %q, want %q", tc.tg.name, got, tc.want+id)
			}
			list := e.do(tc.tg, e.tokA, "GET", "/Users?filter="+urlQuery(`id eq "`+id+`"`), nil).expect(t, http.StatusOK)
			if !bytes.Contains(list.raw, []byte(`"location":"`+tc.want+id+`"`)) {
				t.Errorf("%s: list location not %q: %s", tc.tg.name, tc.want+id, list.raw)
			}
			spc := e.do(tc.tg, e.tokA, "GET", "/ServiceProviderConfig", nil).expect(t, http.StatusOK)
			if want := strings.TrimSuffix(tc.want, "/Users/") + "/ServiceProviderConfig"; !bytes.Contains(spc.raw, []byte(want)) {
				t.Errorf("%s: ServiceProviderConfig location not %q: %s", tc.tg.name, want, spc.raw)
			}
			e.do(tc.tg, e.tokA, "DELETE", "/Users/"+id, nil).expect(t, http.StatusNoContent)
		}
	})

	t.Run("UnknownHostUsesCredential", func(t *testing.T) {
		tg := target{"unknown host", e.root + "/scim/v2", "scim.example.net"}
		e.do(tg, e.tokA, "GET", "/Users", nil).expect(t, http.StatusOK)
		e.do(tg, e.tokB, "GET", "/Users", nil).expect(t, http.StatusOK)
	})

	t.Run("PathOutsideBase", func(t *testing.T) {
		r := e.srv.do("GET", e.root+"/t/a", nil, "Authorization", "Bearer "+e.tokA)
		r.expectError(t, http.StatusNotFound, "")
	})
}

func TestTenantRoutingExternalURL(t *testing.T) {
	e := newTenantEnv(t, func(c *scimhttp.Config) { c.ExternalURL = "https://scim.example.com/idp" })
	for _, tc := range []struct {
		tg   target
		want string
	}{
		{e.byHost(e.a), "https://a.example.com/idp/scim/v2/Users/"},
		{e.byPath(e.a), "https://scim.example.com/idp/t/a/scim/v2/Users/"},
		{e.plain(), "https://scim.example.com/idp/scim/v2/Users/"},
	} {
		r := e.do(tc.tg, e.tokA, "POST", "/Users", userBody("ext-"+strconv.Itoa(len(tc.want))+"@a.example")).expect(t, http.StatusCreated)
		if got := r.header.Get("Location"); got != tc.want+r.str("id") {
			t.Errorf("%s: Location %q, want %q", tc.tg.name, got, tc.want+r.str("id"))
		}
	}
}

func TestTenantDisabled(t *testing.T) {
	e := newTenantEnv(t, nil)
	ctx := context.Background()
	if _, err := e.db.UpdateTenant(ctx, e.a.ID, func(tn *scimd.Tenant) error { tn.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, tg := range []target{e.byHost(e.a), e.byPath(e.a), e.plain()} {
		r := e.do(tg, e.tokA, "GET", "/Users", nil).expectError(t, http.StatusUnauthorized, "")
		if r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", tg.name)
		}
	}
	// A disabled tenant's host is not free for other tenants' credentials.
	e.do(e.byHost(e.a), e.tokB, "GET", "/Users", nil).expectError(t, http.StatusUnauthorized, "")
	e.do(e.byHost(e.b), e.tokB, "GET", "/Users", nil).expect(t, http.StatusOK)

	if _, err := e.db.UpdateTenant(ctx, e.a.ID, func(tn *scimd.Tenant) error { tn.Disabled = false; return nil }); err != nil {
		t.Fatal(err)
	}
	e.do(e.byHost(e.a), e.tokA, "GET", "/Users", nil).expect(t, http.StatusOK)
}

func TestTokenRevokedOrExpired(t *testing.T) {
	e := newTenantEnv(t, nil)
	ctx := context.Background()
	expired := e.newToken(e.a.ID, time.Now().Add(-time.Second))
	revoked := e.newToken(e.a.ID, time.Time{})
	e.do(e.byHost(e.a), revoked, "GET", "/Users", nil).expect(t, http.StatusOK)
	id := strings.Split(revoked, "_")[1]
	if err := e.db.RevokeToken(ctx, e.a.ID, id); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"expired": expired, "revoked": revoked, "garbage": "scimd_0123456789abcdef_nope", "empty": ""} {
		for _, tg := range []target{e.byHost(e.a), e.byPath(e.a), e.plain()} {
			r := e.do(tg, tok, "GET", "/Users", nil)
			r.expectError(t, http.StatusUnauthorized, "")
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("%s token at %s: WWW-Authenticate %q", name, tg.name, got)
			}
		}
	}
}

func TestRateLimits(t *testing.T) {
	t.Run("Tenant", func(t *testing.T) {
		e := newTenantEnv(t, func(c *scimhttp.Config) { c.TenantRate, c.TenantBurst = 0.01, 3 })
		second := e.newToken(e.a.ID, time.Time{})
		for i := range 3 {
			tok := e.tokA
			if i == 2 {
				tok = second // another credential of the same tenant shares the tenant's bucket
			}
			e.do(e.byHost(e.a), tok, "GET", "/Users", nil).expect(t, http.StatusOK)
		}
		r := e.do(e.byHost(e.a), second, "GET", "/Users", nil).expectError(t, http.StatusTooManyRequests, "")
		checkRetryAfter(t, r, 1, 100)
		// Another tenant has its own bucket.
		e.do(e.byHost(e.b), e.tokB, "GET", "/Users", nil).expect(t, http.StatusOK)
	})

	t.Run("Credential", func(t *testing.T) {
		e := newTenantEnv(t, func(c *scimhttp.Config) { c.CredentialRate, c.CredentialBurst = 0.5, 2 })
		second := e.newToken(e.a.ID, time.Time{})
		for range 2 {
			e.do(e.byHost(e.a), e.tokA, "GET", "/Users", nil).expect(t, http.StatusOK)
		}
		r := e.do(e.byHost(e.a), e.tokA, "GET", "/Users", nil).expectError(t, http.StatusTooManyRequests, "")
		checkRetryAfter(t, r, 1, 2)
		e.do(e.byHost(e.a), second, "GET", "/Users", nil).expect(t, http.StatusOK)
	})
}

// checkRetryAfter checks that Retry-After is an integer in [lo, hi].
func checkRetryAfter(t *testing.T, r *response, lo, hi int) {
	t.Helper()
	v := r.header.Get("Retry-After")
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		t.Errorf("Retry-After %q, want an integer in [%d, %d]", v, lo, hi)
	}
}

func TestAuthFailureThrottle(t *testing.T) {
	e := newTenantEnv(t, func(c *scimhttp.Config) {
		c.AuthFailureLimit = 3
		c.AuthFailureBackoff = time.Minute
		c.TrustedProxies = []string{"127.0.0.1/32", "::1"}
	})
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip} }
	// Two failures, then a success: not blocked.
	for range 2 {
		e.do(e.byHost(e.a), "wrong", "GET", "/Users", nil, from("192.0.2.1")...).expectError(t, http.StatusUnauthorized, "")
	}
	e.do(e.byHost(e.a), e.tokA, "GET", "/Users", nil, from("192.0.2.1")...).expect(t, http.StatusOK)
	// The third failure blocks: even the right token now gets 429.
	e.do(e.byHost(e.a), e.tokB, "GET", "/Users", nil, from("192.0.2.1")...).expectError(t, http.StatusUnauthorized, "")
	r := e.do(e.byHost(e.a), e.tokA, "GET", "/Users", nil, from("192.0.2.1")...).expectError(t, http.StatusTooManyRequests, "")
	checkRetryAfter(t, r, 50, 60)

	// Other addresses, and the same address at another tenant, are not.
	e.do(e.byHost(e.a), e.tokA, "GET", "/Users", nil, from("192.0.2.2")...).expect(t, http.StatusOK)
	e.do(e.byHost(e.b), e.tokB, "GET", "/Users", nil, from("192.0.2.1")...).expect(t, http.StatusOK)

	// IPv6 clients are counted by /64.
	for i := range 3 {
		e.do(e.byPath(e.a), "wrong", "GET", "/Users", nil, from(fmt.Sprintf("2001:db8:1:2::%x", i+1))...)
	}
	e.do(e.byPath(e.a), e.tokA, "GET", "/Users", nil, from("2001:db8:1:2:ffff::1")...).expectError(t, http.StatusTooManyRequests, "")
	e.do(e.byPath(e.a), e.tokA, "GET", "/Users", nil, from("2001:db8:1:3::1")...).expect(t, http.StatusOK)

	// Unknown tenants in the path count as failures.
	for range 3 {
		e.do(e.byPath(&scimd.Tenant{Name: "nope"}), e.tokA, "GET", "/Users", nil, from("198.51.100.7")...).expectError(t, http.StatusUnauthorized, "")
	}
	e.do(e.byPath(&scimd.Tenant{Name: "nope"}), e.tokA, "GET", "/Users", nil, from("198.51.100.7")...).expectError(t, http.StatusTooManyRequests, "")
}

func TestTrustedProxy(t *testing.T) {
	headers := []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "a.example.com", "X-Forwarded-For", "203.0.113.9"}
	t.Run("Trusted", func(t *testing.T) {
		e := newTenantEnv(t, func(c *scimhttp.Config) { c.TrustedProxies = []string{"127.0.0.0/8"} })
		r := e.do(e.plain(), e.tokA, "POST", "/Users", userBody("p@a.example"), headers...).expect(t, http.StatusCreated)
		if got, want := r.header.Get("Location"), "https://a.example.com/scim/v2/Users/"+r.str("id"); got != want {
			t.Errorf("Location %q, want %q", got, want)
		}
		// The forwarded host routes: B's credential is refused there.
		e.do(e.plain(), e.tokB, "GET", "/Users", nil, headers...).expectError(t, http.StatusUnauthorized, "")
		if !strings.Contains(e.logs.String(), "client=203.0.113.9") {
			t.Errorf("log does not name the forwarded client:\n%s", e.logs.String())
		}
	})
	t.Run("Spoofed", func(t *testing.T) {
		e := newTenantEnv(t, func(c *scimhttp.Config) { c.TrustedProxies = []string{"192.0.2.0/24"} })
		r := e.do(e.plain(), e.tokB, "POST", "/Users", userBody("p@b.example"), headers...).expect(t, http.StatusCreated)
		if got, want := r.header.Get("Location"), e.root+"/scim/v2/Users/"+r.str("id"); got != want {
			t.Errorf("Location %q, want %q (headers of an untrusted peer ignored)", got, want)
		}
		if strings.Contains(e.logs.String(), "203.0.113.9") {
			t.Errorf("log believes a spoofed X-Forwarded-For:\n%s", e.logs.String())
		}
	})
}

// blockingStore holds every Create until release is closed.
type blockingStore struct {
	scimd.Store
	entered chan struct{}
	release chan struct{}
}

func (s *blockingStore) Create(ctx context.Context, tenant string, r *scimd.Resource) (*scimd.Resource, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.Store.Create(ctx, tenant, r)
}

func TestMaxInFlight(t *testing.T) {
	reg := schema.DefaultRegistry()
	st := &blockingStore{Store: newStore(t, reg), entered: make(chan struct{}, 2), release: make(chan struct{})}
	s := newServer(t, st, reg, func(c *scimhttp.Config) { c.MaxInFlight = 2 })
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", s.url+"/Users", strings.NewReader(`{"userName":"u`+strconv.Itoa(i)+`"}`))
			req.Header.Set("Authorization", "Bearer "+tokenA)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	<-st.entered
	<-st.entered
	r := s.do("GET", "/Users", nil).expectError(t, http.StatusTooManyRequests, "")
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	close(st.release)
	wg.Wait()
	s.do("GET", "/Users", nil).expect(t, http.StatusOK)
}

func TestLogsNoSecrets(t *testing.T) {
	e := newTenantEnv(t, nil)
	const password = "Sup3r-Secret-Passw0rd!"
	e.do(e.byHost(e.a), e.tokA, "POST", "/Users", userBody("secret@a.example", "password", password)).expect(t, http.StatusCreated)
	e.do(e.byHost(e.a), e.tokA, "POST", "/Users", `{"userName": "broken`).expectError(t, http.StatusBadRequest, "invalidSyntax")
	e.do(e.byHost(e.a), e.tokA+"x", "GET", "/Users", nil).expectError(t, http.StatusUnauthorized, "")
	e.do(e.byHost(e.a), "", "GET", "/Users", nil, "Authorization", "Basic "+password).expectError(t, http.StatusUnauthorized, "")
	logs := e.logs.String()
	secret := strings.SplitN(e.tokA, "_", 3)[2]
	for _, s := range []string{secret, password, "secret@a.example", "Authorization", "Basic"} {
		if strings.Contains(logs, s) {
			t.Errorf("log contains %q:\n%s", s, logs)
		}
	}
	if !strings.Contains(logs, "scim request") || !strings.Contains(logs, "status=401") {
		t.Errorf("expected request lines in the log:\n%s", logs)
	}
}

func TestResolverTenantID(t *testing.T) {
	e := newTenantEnv(t, nil)
	rs, err := scimhttp.NewResolver(e.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url, host, want string
		fail            bool
	}{
		{"http://x/t/a/oauth/token", "x", "id-a", false},
		{"http://x/oauth/token", "B.example.com", "id-b", false},
		{"http://x/oauth/token", "scim.example.net", scimd.DefaultTenant, false},
		{"http://x/t/zzz/oauth/token", "x", "", true},
		{"http://x/t/a/oauth/token", "b.example.com", "", true},
	} {
		req := httptest.NewRequest("POST", tc.url, nil)
		req.Host = tc.host
		got, err := rs.TenantID(req, scimd.DefaultTenant)
		if (err != nil) != tc.fail || got != tc.want {
			t.Errorf("TenantID(%s, host %s) = %q, %v; want %q (fail %v)", tc.url, tc.host, got, err, tc.want, tc.fail)
		}
	}
	if _, err := scimhttp.NewResolver(e.db, []string{"not-a-cidr"}); err == nil {
		t.Error("NewResolver accepted a bad CIDR")
	}
	rt, _ := rs.Resolve(httptest.NewRequest("GET", "http://x/t/a/scim/v2/Users", nil))
	if rt.BaseURL() != "http://x/t/a" || rt.Path != "/scim/v2/Users" {
		t.Errorf("Route = %+v, BaseURL %q", rt, rt.BaseURL())
	}
}
