package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/sqlite"
)

func newUser(userName string, emails ...string) *scimd.Resource {
	attrs := map[string]any{"userName": userName}
	if len(emails) > 0 {
		var list []any
		for _, e := range emails {
			list = append(list, map[string]any{"type": "work", "value": e})
		}
		attrs["emails"] = list
	}
	return &scimd.Resource{Type: scimd.TypeUser, Schemas: []string{schema.URNUser}, Attrs: attrs}
}

func newGroup(name string, members ...scimd.Member) *scimd.Resource {
	return &scimd.Resource{Type: scimd.TypeGroup, Schemas: []string{schema.URNGroup},
		Attrs: map[string]any{"displayName": name}, Members: members}
}

func mustCreate(tb testing.TB, db *sqlite.DB, tenant string, r *scimd.Resource) *scimd.Resource {
	tb.Helper()
	out, err := db.Create(context.Background(), tenant, r)
	if err != nil {
		tb.Fatalf("Create %v: %v", r.Attrs, err)
	}
	return out
}

func member(r *scimd.Resource) scimd.Member { return scimd.Member{Value: r.ID} }

func memberIDs(ms []scimd.Member) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.Value)
	}
	return ids
}

func ops(o ...scimd.MemberOp) scimd.UpdateFunc {
	return func(*scimd.Resource) ([]scimd.MemberOp, error) { return o, nil }
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := sqlite.Open(ctx, path, schema.DefaultRegistry())
	if err != nil {
		t.Fatal(err)
	}
	first, err := db.Migrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u := mustCreate(t, db, "t1", newUser("ana"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if len(first) == 0 || first[0] != "0001_init.sql" {
		t.Fatalf("migrations = %v", first)
	}
	db, err = sqlite.Open(ctx, path, schema.DefaultRegistry())
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	again, err := db.Migrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := again, first; !slices.Equal(got, want) {
		t.Errorf("after reopen migrations = %v, want %v", got, want)
	}
	if _, err := db.Get(ctx, "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{}); err != nil {
		t.Errorf("data lost on reopen: %v", err)
	}
}

func TestUniqueness(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	mustCreate(t, db, "t1", newUser("Ana@Example.com"))
	t.Run("UserNameFolded", func(t *testing.T) {
		_, err := db.Create(ctx, "t1", newUser("ana@EXAMPLE.com"))
		if got, want := scimd.StatusOf(err), 409; got != want {
			t.Fatalf("status = %d (%v), want %d", got, err, want)
		}
		if got, want := scimd.ScimTypeOf(err), scimd.ScimTypeUniqueness; got != want {
			t.Errorf("scimType = %q, want %q", got, want)
		}
	})
	t.Run("OtherTenant", func(t *testing.T) {
		mustCreate(t, db, "t2", newUser("ana@example.com"))
	})
	t.Run("GroupDisplayName", func(t *testing.T) {
		mustCreate(t, db, "t1", newGroup("Sales"))
		_, err := db.Create(ctx, "t1", newGroup("SALES"))
		if got, want := scimd.StatusOf(err), 409; got != want {
			t.Fatalf("status = %d (%v), want %d", got, err, want)
		}
		// A user may share a group's name.
		mustCreate(t, db, "t1", newUser("sales"))
	})
	t.Run("Update", func(t *testing.T) {
		u := mustCreate(t, db, "t1", newUser("bob"))
		_, err := db.Update(ctx, "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			r.Attrs["userName"] = "ANA@example.com"
			return nil, nil
		})
		if got, want := scimd.StatusOf(err), 409; got != want {
			t.Fatalf("status = %d (%v), want %d", got, err, want)
		}
	})
}

func TestTenantIsolation(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	u1 := mustCreate(t, db, "t1", newUser("ana", "ana@example.com"))
	u2 := mustCreate(t, db, "t2", newUser("ana", "ana@example.com"))
	if _, err := db.Get(ctx, "t2", scimd.TypeUser, u1.ID, scimd.ReadOptions{}); scimd.StatusOf(err) != 404 {
		t.Errorf("t2 reads t1's user: %v", err)
	}
	res, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser,
		Filter: mustParse(t, `emails.value eq "ANA@example.com"`), Count: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.TotalResults; got != 1 || res.Resources[0].ID != u1.ID {
		t.Errorf("t1 list = %d results", got)
	}
	// A member of another tenant is unknown.
	_, err = db.Create(ctx, "t1", newGroup("g", member(u2)))
	if got, want := scimd.ScimTypeOf(err), scimd.ScimTypeInvalidValue; got != want {
		t.Errorf("cross-tenant member: %v, want %s", err, want)
	}
	// Deleting in t2 leaves t1 alone.
	if err := db.Delete(ctx, "t2", scimd.TypeUser, u1.ID, nil); scimd.StatusOf(err) != 404 {
		t.Errorf("t2 deletes t1's user: %v", err)
	}
}

func mustParse(tb testing.TB, s string) filter.Expr {
	tb.Helper()
	e, err := filter.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func TestMembership(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	var users []*scimd.Resource
	for i := range 5 {
		users = append(users, mustCreate(t, db, "t1", newUser(fmt.Sprintf("u%d", i))))
	}
	sub := mustCreate(t, db, "t1", newGroup("sub"))
	g := mustCreate(t, db, "t1", newGroup("g", member(users[0]), member(users[1])))
	if got := g.MemberCount; got != 2 {
		t.Errorf("MemberCount = %d, want 2", got)
	}
	if got := g.Members[0]; got.Type != scimd.TypeUser || got.Display != "u0" {
		t.Errorf("member 0 = %+v, want Type User, Display u0", got)
	}
	update := func(o ...scimd.MemberOp) *scimd.Resource {
		t.Helper()
		r, err := db.Update(ctx, "t1", scimd.TypeGroup, g.ID, scimd.ReadOptions{Members: true}, ops(o...))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	want := func(r *scimd.Resource, ids ...string) {
		t.Helper()
		if got := memberIDs(r.Members); !slices.Equal(got, ids) {
			t.Errorf("members = %v, want %v", got, ids)
		}
		if r.MemberCount != len(ids) {
			t.Errorf("MemberCount = %d, want %d", r.MemberCount, len(ids))
		}
	}
	r := update(scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{member(users[1]), member(users[2]), {Value: sub.ID, Display: "Sub!"}}})
	want(r, users[0].ID, users[1].ID, users[2].ID, sub.ID)
	if got := r.Members[3]; got.Type != scimd.TypeGroup || got.Display != "Sub!" {
		t.Errorf("group member = %+v", got)
	}
	r = update(scimd.MemberOp{Kind: scimd.MemberRemove, Members: []scimd.Member{member(users[0]), member(users[4])}})
	want(r, users[1].ID, users[2].ID, sub.ID)

	t.Run("RemoveWhere", func(t *testing.T) {
		r := update(scimd.MemberOp{Kind: scimd.MemberRemoveWhere, Filter: mustParse(t, `type eq "group"`)})
		want(r, users[1].ID, users[2].ID)
		r = update(scimd.MemberOp{Kind: scimd.MemberRemoveWhere, Filter: mustParse(t, `value eq "`+users[1].ID+`" or display sw "U2"`)})
		want(r)
		r = update(scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{member(users[3])}})
		want(r, users[3].ID)
		_, err := db.Update(ctx, "t1", scimd.TypeGroup, g.ID, scimd.ReadOptions{}, ops(
			scimd.MemberOp{Kind: scimd.MemberRemoveWhere, Filter: mustParse(t, `nickName eq "x"`)}))
		if got, want := scimd.ScimTypeOf(err), scimd.ScimTypeInvalidFilter; got != want {
			t.Errorf("bad member filter: %v", err)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		for name, m := range map[string]scimd.Member{"Unknown": {Value: "nope"}, "Self": {Value: g.ID}} {
			_, err := db.Update(ctx, "t1", scimd.TypeGroup, g.ID, scimd.ReadOptions{}, ops(
				scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{m}}))
			if got, want := scimd.ScimTypeOf(err), scimd.ScimTypeInvalidValue; got != want {
				t.Errorf("%s: %v, want %s", name, err, want)
			}
		}
	})
	t.Run("RemoveAllAndOrder", func(t *testing.T) {
		r := update(scimd.MemberOp{Kind: scimd.MemberRemoveAll},
			scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{member(users[4]), member(users[0])}})
		want(r, users[4].ID, users[0].ID)
	})
	t.Run("DeleteMember", func(t *testing.T) {
		before, _ := db.Get(ctx, "t1", scimd.TypeGroup, g.ID, scimd.ReadOptions{})
		if err := db.Delete(ctx, "t1", scimd.TypeUser, users[4].ID, nil); err != nil {
			t.Fatal(err)
		}
		r, err := db.Get(ctx, "t1", scimd.TypeGroup, g.ID, scimd.ReadOptions{Members: true})
		if err != nil {
			t.Fatal(err)
		}
		want(r, users[0].ID)
		if r.Meta.Version != before.Meta.Version+1 {
			t.Errorf("group version %d, want %d", r.Meta.Version, before.Meta.Version+1)
		}
	})
	t.Run("Groups", func(t *testing.T) {
		u, err := db.Get(ctx, "t1", scimd.TypeUser, users[0].ID, scimd.ReadOptions{Groups: true})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := u.Groups, []scimd.GroupRef{{Value: g.ID, Display: "g"}}; !slices.Equal(got, want) {
			t.Errorf("Groups = %v, want %v", got, want)
		}
	})
}

func TestBatchLoad(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	var users []*scimd.Resource
	for i := range 3 {
		users = append(users, mustCreate(t, db, "t1", newUser(fmt.Sprintf("u%d", i))))
	}
	for i := range 4 {
		var ms []scimd.Member
		for _, u := range users[:i%4] {
			ms = append(ms, member(u))
		}
		mustCreate(t, db, "t1", newGroup(fmt.Sprintf("g%d", i), ms...))
	}
	res, err := db.List(ctx, "t1", &scimd.ListQuery{Count: 100, ReadOptions: scimd.ReadOptions{Members: true, Groups: true}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.TotalResults, 7; got != want {
		t.Fatalf("TotalResults = %d, want %d", got, want)
	}
	for _, r := range res.Resources {
		switch r.Type {
		case scimd.TypeUser:
			var i int
			fmt.Sscanf(r.Attrs["userName"].(string), "u%d", &i)
			if got, want := len(r.Groups), 3-i; got != want {
				t.Errorf("%v: %d groups, want %d", r.Attrs["userName"], got, want)
			}
		case scimd.TypeGroup:
			var i int
			fmt.Sscanf(r.Attrs["displayName"].(string), "g%d", &i)
			if got := len(r.Members); got != i || r.MemberCount != i {
				t.Errorf("%v: %d members (count %d), want %d", r.Attrs["displayName"], got, r.MemberCount, i)
			}
		}
	}
}

// TestConcurrentMemberAdds: N goroutines each add one member to one group
// through Update; none is lost.
func TestConcurrentMemberAdds(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []string{"memory", "file"} {
		t.Run(mode, func(t *testing.T) {
			var db *sqlite.DB
			if mode == "memory" {
				db = MustOpenDB(t, nil)
			} else {
				db = MustOpenFileDB(t)
			}
			const n = 32
			var users []*scimd.Resource
			for i := range n {
				users = append(users, mustCreate(t, db, "t1", newUser(fmt.Sprintf("u%d", i))))
			}
			g := mustCreate(t, db, "t1", newGroup("g"))
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					_, err := db.Update(ctx, "t1", scimd.TypeGroup, g.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
						r.Attrs["displayName"] = fmt.Sprintf("g-%d", i) // also rewrites the row
						return []scimd.MemberOp{{Kind: scimd.MemberAdd, Members: []scimd.Member{member(users[i])}}}, nil
					})
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			r, err := db.Get(ctx, "t1", scimd.TypeGroup, g.ID, scimd.ReadOptions{Members: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(r.Members); got != n || r.MemberCount != n || r.Meta.Version != n+1 {
				t.Errorf("members %d, count %d, version %d; want %d, %d, %d", got, r.MemberCount, r.Meta.Version, n, n, n+1)
			}
		})
	}
}

func TestClock(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)
	db := MustOpenDB(t, nil, sqlite.WithClock(fixedClock(start, time.Second)))
	u := mustCreate(t, db, "t1", newUser("ana"))
	if !u.Meta.Created.Equal(u.Meta.LastModified) || u.Meta.Created.Before(start) {
		t.Errorf("meta = %+v", u.Meta)
	}
	got, err := db.Get(ctx, "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta != u.Meta {
		t.Errorf("Get meta = %+v, want %+v", got.Meta, u.Meta)
	}
	// meta.created compares as a time whatever the fraction width. (The
	// clock steps a second per transaction, migrations included: keep the
	// upper bound well clear of the number of migrations.)
	res, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, Count: 10,
		Filter: mustParse(t, `meta.created gt "2025-01-02T03:04:05.1Z" and meta.created lt "2025-01-02T03:05:00Z"`)})
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalResults != 1 {
		t.Errorf("meta.created range: %d results", res.TotalResults)
	}
}

func TestTenantsAndTokens(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	if err := db.CreateTenant(ctx, &scimd.Tenant{ID: "t1", Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTenant(ctx, &scimd.Tenant{ID: "t2", Name: "acme"}); scimd.StatusOf(err) != 409 {
		t.Errorf("duplicate tenant name: %v", err)
	}
	if tn, err := db.TenantByName(ctx, "acme"); err != nil || tn.ID != "t1" {
		t.Errorf("TenantByName = %v, %v", tn, err)
	}
	if _, err := db.Tenant(ctx, "nope"); scimd.StatusOf(err) != 404 {
		t.Errorf("missing tenant: %v", err)
	}
	tok := &scimd.Token{ID: "k1", Tenant: "t1", Name: "okta", Hash: []byte{1, 2, 3}}
	if err := db.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	if err := db.TouchToken(ctx, "k1", at); err != nil {
		t.Fatal(err)
	}
	if err := db.TouchToken(ctx, "k1", at.Add(time.Second)); err != nil { // within a minute: no write
		t.Fatal(err)
	}
	got, err := db.Token(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastUsed.Equal(at) || got.Revoked || string(got.Hash) != "\x01\x02\x03" {
		t.Errorf("token = %+v", got)
	}
	if err := db.RevokeToken(ctx, "t2", "k1"); scimd.StatusOf(err) != 404 {
		t.Errorf("revoke from other tenant: %v", err)
	}
	if err := db.RevokeToken(ctx, "t1", "k1"); err != nil {
		t.Fatal(err)
	}
	toks, err := db.Tokens(ctx, "t1")
	if err != nil || len(toks) != 1 || !toks[0].Revoked {
		t.Errorf("Tokens = %v, %v", toks, err)
	}
}
