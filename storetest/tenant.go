package storetest

import (
	"net/http"
	"testing"

	"github.com/scimd/scimd"
)

func testTenant(t *testing.T, setup func(*testing.T) *harness) {
	// fixture: a user and a group (with the user as member) in t1.
	fixture := func(h *harness) (u, g *scimd.Resource) {
		u = h.createUser(T1, "ana@acme.test", map[string]any{"title": "x"})
		g = h.createGroup(T1, "Admins", userMember(u))
		return u, g
	}
	t.Run("Get", func(t *testing.T) {
		h := setup(t)
		u, g := fixture(h)
		_, err := h.s.Get(t.Context(), T2, scimd.TypeUser, u.ID, scimd.ReadOptions{Groups: true})
		wantErr(t, err, http.StatusNotFound, "")
		_, err = h.s.Get(t.Context(), T2, scimd.TypeGroup, g.ID, scimd.ReadOptions{Members: true})
		wantErr(t, err, http.StatusNotFound, "")
	})
	t.Run("Update", func(t *testing.T) {
		h := setup(t)
		u, g := fixture(h)
		called := false
		fn := func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			called = true
			r.Attrs["title"] = "hacked"
			return nil, nil
		}
		_, err := h.s.Update(t.Context(), T2, scimd.TypeUser, u.ID, scimd.ReadOptions{}, fn)
		wantErr(t, err, http.StatusNotFound, "")
		_, err = h.s.Update(t.Context(), T2, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, func(*scimd.Resource) ([]scimd.MemberOp, error) {
			called = true
			return []scimd.MemberOp{{Kind: scimd.MemberRemoveAll}}, nil
		})
		wantErr(t, err, http.StatusNotFound, "")
		if called {
			t.Error("fn called for another tenant's resource")
		}
		if got := h.get(T1, scimd.TypeUser, u.ID, scimd.ReadOptions{}); got.Attrs["title"] != "x" || got.Meta.Version != 1 {
			t.Errorf("t1 user changed: %v", got.Attrs)
		}
		h.wantMembers(T1, g.ID, u)
	})
	t.Run("Delete", func(t *testing.T) {
		h := setup(t)
		u, g := fixture(h)
		err := h.s.Delete(t.Context(), T2, scimd.TypeUser, u.ID, func(*scimd.Resource) error {
			t.Error("check called for another tenant's resource")
			return nil
		})
		wantErr(t, err, http.StatusNotFound, "")
		err = h.s.Delete(t.Context(), T2, scimd.TypeGroup, g.ID, nil)
		wantErr(t, err, http.StatusNotFound, "")
		h.get(T1, scimd.TypeUser, u.ID, scimd.ReadOptions{})
		h.wantMembers(T1, g.ID, u)
	})
	t.Run("List", func(t *testing.T) {
		h := setup(t)
		u, g := fixture(h)
		for _, q := range []*scimd.ListQuery{
			{Type: scimd.TypeUser, StartIndex: 1, Count: 10},
			{Type: scimd.TypeGroup, StartIndex: 1, Count: 10},
			{StartIndex: 1, Count: 10},
			{Type: scimd.TypeUser, Filter: parse(t, `id eq "`+u.ID+`"`), StartIndex: 1, Count: 10},
			{Type: scimd.TypeUser, Filter: parse(t, `userName eq "ana@acme.test"`), StartIndex: 1, Count: 10},
			{Type: scimd.TypeGroup, Filter: parse(t, `members.value eq "`+u.ID+`"`), StartIndex: 1, Count: 10},
			{Type: scimd.TypeGroup, Filter: parse(t, `displayName eq "Admins"`), StartIndex: 1, Count: 0},
			{Type: scimd.TypeUser, Filter: parse(t, `groups.value eq "`+g.ID+`"`), StartIndex: 1, Count: 10},
		} {
			res := h.list(T2, q)
			if res.TotalResults != 0 || len(res.Resources) != 0 {
				t.Errorf("t2 %s: got %v (total %d), want nothing", describeQuery(q), ids(res.Resources), res.TotalResults)
			}
		}
	})
	t.Run("NoConflictLeak", func(t *testing.T) {
		h := setup(t)
		u, g := fixture(h)
		u2 := h.createUser(T2, "ANA@acme.test", nil)
		g2 := h.createGroup(T2, "admins")
		// Renaming within t1 and t2 still checks only its own tenant.
		h.update(T2, scimd.TypeUser, u2.ID, scimd.ReadOptions{}, setAttr("userName", "ana@acme.test"))
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, setAttr("displayName", "ADMINS"))
		h.update(T2, scimd.TypeGroup, g2.ID, scimd.ReadOptions{}, setAttr("displayName", "Admins"))
		// Deleting in t2 leaves t1 alone.
		if err := h.s.Delete(t.Context(), T2, scimd.TypeUser, u2.ID, nil); err != nil {
			t.Fatal(err)
		}
		h.get(T1, scimd.TypeUser, u.ID, scimd.ReadOptions{})
	})
	t.Run("Members", func(t *testing.T) {
		h := setup(t)
		u, g := fixture(h)
		g2 := h.createGroup(T2, "g2")
		// A t1 user cannot join a t2 group, at creation or later.
		_, err := h.s.Create(t.Context(), T2, h.group("g3", userMember(u)))
		wantErr(t, err, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
		_, err = h.s.Update(t.Context(), T2, scimd.TypeGroup, g2.ID, scimd.ReadOptions{}, memberOps(scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(u)}}))
		wantErr(t, err, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
		_, err = h.s.Update(t.Context(), T2, scimd.TypeGroup, g2.ID, scimd.ReadOptions{}, memberOps(scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{groupMember(g)}}))
		wantErr(t, err, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
		h.wantMembers(T2, g2.ID)
		// Removing a t1 id from a t2 group is a no-op and touches nothing in t1.
		h.update(T2, scimd.TypeGroup, g2.ID, scimd.ReadOptions{}, memberOps(scimd.MemberOp{Kind: scimd.MemberRemove, Members: []scimd.Member{userMember(u)}}))
		h.wantMembers(T1, g.ID, u)
		// The t1 user's groups never include t2 groups.
		if got := h.get(T1, scimd.TypeUser, u.ID, scimd.ReadOptions{Groups: true}); len(got.Groups) != 1 || got.Groups[0].Value != g.ID {
			t.Errorf("t1 user groups = %+v", got.Groups)
		}
	})
	t.Run("SameIDSpaceSeparate", func(t *testing.T) {
		h := setup(t)
		u, _ := fixture(h)
		u2 := h.createUser(T2, "ana@acme.test", map[string]any{"title": "t2"})
		if u.ID == u2.ID {
			t.Fatal("ids repeat across tenants")
		}
		if got := h.get(T2, scimd.TypeUser, u2.ID, scimd.ReadOptions{}); got.Attrs["title"] != "t2" {
			t.Errorf("t2 user = %v", got.Attrs)
		}
	})
}
