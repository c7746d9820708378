package storetest

import (
	"net/http"
	"testing"

	"github.com/scimd/scimd"
)

func testUniqueness(t *testing.T, setup func(*testing.T) *harness) {
	t.Run("UserName/ErrUniqueness", func(t *testing.T) {
		h := setup(t)
		h.createUser(T1, "ana.silva@acme.test", nil)
		for _, name := range []string{"ana.silva@acme.test", "ANA.SILVA@ACME.TEST", "Ana.Silva@Acme.Test"} {
			_, err := h.s.Create(t.Context(), T1, h.user(name, nil))
			wantErr(t, err, http.StatusConflict, scimd.ScimTypeUniqueness)
		}
		if res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: 1, Count: 10}); res.TotalResults != 1 {
			t.Errorf("TotalResults = %d after rejected creates, want 1", res.TotalResults)
		}
	})
	t.Run("UserName/Unicode", func(t *testing.T) {
		h := setup(t)
		h.createUser(T1, "élodie@acme.test", nil)
		_, err := h.s.Create(t.Context(), T1, h.user("ÉLODIE@ACME.TEST", nil))
		wantErr(t, err, http.StatusConflict, scimd.ScimTypeUniqueness)
		h.createUser(T1, "elodie@acme.test", nil) // no accent: another name
		h.createGroup(T1, "Équipe Ventes")
		_, err = h.s.Create(t.Context(), T1, h.group("équipe ventes"))
		wantErr(t, err, http.StatusConflict, scimd.ScimTypeUniqueness)
	})
	t.Run("UserName/OtherTenant", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "ana@acme.test", nil)
		b := h.createUser(T2, "ANA@acme.test", nil)
		if a.ID == b.ID {
			t.Fatal("same id in two tenants")
		}
	})
	t.Run("UserName/NotAcrossTypes", func(t *testing.T) {
		h := setup(t)
		h.createUser(T1, "admins", map[string]any{"displayName": "Admins"})
		h.createGroup(T1, "admins")
	})
	t.Run("UserName/DisplayNameNotUnique", func(t *testing.T) {
		h := setup(t)
		h.createUser(T1, "a", map[string]any{"displayName": "Same Name"})
		h.createUser(T1, "b", map[string]any{"displayName": "Same Name"})
	})
	t.Run("DisplayName/ErrUniqueness", func(t *testing.T) {
		h := setup(t)
		h.createGroup(T1, "Sales Team")
		for _, name := range []string{"Sales Team", "sales team", "SALES TEAM"} {
			_, err := h.s.Create(t.Context(), T1, h.group(name))
			wantErr(t, err, http.StatusConflict, scimd.ScimTypeUniqueness)
		}
	})
	t.Run("DisplayName/OtherTenant", func(t *testing.T) {
		h := setup(t)
		h.createGroup(T1, "Sales")
		h.createGroup(T2, "sales")
	})
	t.Run("Update/ErrUniqueness", func(t *testing.T) {
		h := setup(t)
		h.createUser(T1, "taken@acme.test", nil)
		b := h.createUser(T1, "b@acme.test", map[string]any{"title": "x"})
		_, err := h.s.Update(t.Context(), T1, scimd.TypeUser, b.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			r.Attrs["userName"] = "TAKEN@acme.test"
			r.Attrs["title"] = "changed"
			return nil, nil
		})
		wantErr(t, err, http.StatusConflict, scimd.ScimTypeUniqueness)
		got := h.get(T1, scimd.TypeUser, b.ID, scimd.ReadOptions{})
		if got.Attrs["userName"] != "b@acme.test" || got.Attrs["title"] != "x" {
			t.Errorf("rejected update was written: %v", got.Attrs)
		}
		equalMeta(t, "after rejected update", got.Meta, b.Meta)
	})
	t.Run("Update/Group/ErrUniqueness", func(t *testing.T) {
		h := setup(t)
		u := h.createUser(T1, "u", nil)
		h.createGroup(T1, "Taken")
		g := h.createGroup(T1, "g")
		_, err := h.s.Update(t.Context(), T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			r.Attrs["displayName"] = "taken"
			return []scimd.MemberOp{{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(u)}}}, nil
		})
		wantErr(t, err, http.StatusConflict, scimd.ScimTypeUniqueness)
		got := h.get(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{Members: true})
		if got.Attrs["displayName"] != "g" || len(got.Members) != 0 || got.MemberCount != 0 {
			t.Errorf("rejected update was written: %v members=%v", got.Attrs, got.Members)
		}
	})
	t.Run("Update/SameNameOtherCase", func(t *testing.T) {
		h := setup(t)
		u := h.createUser(T1, "ana@acme.test", nil)
		got := h.update(T1, scimd.TypeUser, u.ID, scimd.ReadOptions{}, setAttr("userName", "Ana@Acme.Test"))
		if got.Attrs["userName"] != "Ana@Acme.Test" {
			t.Errorf("userName = %v", got.Attrs["userName"])
		}
		g := h.createGroup(T1, "sales")
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, setAttr("displayName", "Sales"))
		// Unchanged name, other attributes changed.
		h.update(T1, scimd.TypeUser, u.ID, scimd.ReadOptions{}, setAttr("title", "x"))
	})
	t.Run("Update/FreedName", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "a", nil)
		h.update(T1, scimd.TypeUser, a.ID, scimd.ReadOptions{}, setAttr("userName", "a2"))
		h.createUser(T1, "A", nil)
	})
}
