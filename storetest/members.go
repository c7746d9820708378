package storetest

import (
	"net/http"
	"slices"
	"testing"

	"github.com/scimd/scimd"
)

// members returns the group's members, loaded, after checking that
// MemberCount agrees with them and with a Get that does not load them.
func (h *harness) members(tenant, groupID string) []scimd.Member {
	h.t.Helper()
	g := h.get(tenant, scimd.TypeGroup, groupID, scimd.ReadOptions{Members: true})
	if g.MemberCount != len(g.Members) {
		h.t.Errorf("MemberCount = %d, but %d members loaded", g.MemberCount, len(g.Members))
	}
	plain := h.get(tenant, scimd.TypeGroup, groupID, scimd.ReadOptions{})
	if plain.Members != nil {
		h.t.Errorf("Members loaded without ReadOptions.Members: %v", plain.Members)
	}
	if plain.MemberCount != len(g.Members) {
		h.t.Errorf("MemberCount without loading = %d, want %d", plain.MemberCount, len(g.Members))
	}
	seen := map[string]bool{}
	for _, m := range g.Members {
		if seen[m.Value] {
			h.t.Errorf("member %s listed twice", m.Value)
		}
		seen[m.Value] = true
	}
	return g.Members
}

func (h *harness) wantMembers(tenant, groupID string, want ...*scimd.Resource) {
	h.t.Helper()
	got := memberValues(h.members(tenant, groupID))
	if !slices.Equal(got, sorted(ids(want)...)) {
		h.t.Errorf("members = %v, want %v", got, sorted(ids(want)...))
	}
}

func findMember(ms []scimd.Member, id string) (scimd.Member, bool) {
	for _, m := range ms {
		if m.Value == id {
			return m, true
		}
	}
	return scimd.Member{}, false
}

func testMembers(t *testing.T, setup func(*testing.T) *harness) {
	t.Run("Create/OK", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "a", map[string]any{"displayName": "Alice A"})
		b := h.createUser(T1, "b", map[string]any{"displayName": "Bob B"})
		n := h.createGroup(T1, "Nested")
		g := h.createGroup(T1, "Parent",
			scimd.Member{Value: a.ID, Display: "as sent"},
			scimd.Member{Value: b.ID},
			scimd.Member{Value: n.ID},
		)
		if g.MemberCount != 3 {
			t.Errorf("Create returned MemberCount %d, want 3", g.MemberCount)
		}
		ms := h.members(T1, g.ID)
		h.wantMembers(T1, g.ID, a, b, n)
		if m, _ := findMember(ms, a.ID); m.Type != scimd.TypeUser || m.Display != "as sent" {
			t.Errorf("member a = %+v, want Type User, Display as sent", m)
		}
		if m, _ := findMember(ms, b.ID); m.Type != scimd.TypeUser || (m.Display != "Bob B" && m.Display != "b") {
			t.Errorf("member b = %+v, want Type User and a derived Display", m)
		}
		if m, _ := findMember(ms, n.ID); m.Type != scimd.TypeGroup || m.Display != "Nested" {
			t.Errorf("member n = %+v, want Type Group, Display Nested", m)
		}
	})
	t.Run("Create/DuplicateMembers", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "a", nil)
		g := h.createGroup(T1, "g", userMember(a), userMember(a))
		h.wantMembers(T1, g.ID, a)
	})
	t.Run("Create/ErrUnknownMember", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "a", nil)
		_, err := h.s.Create(t.Context(), T1, h.group("g", userMember(a), scimd.Member{Value: scimd.NewID()}))
		wantErr(t, err, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
		if res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeGroup, StartIndex: 1, Count: 10}); res.TotalResults != 0 {
			t.Errorf("group created despite the error: total %d", res.TotalResults)
		}
		h.get(T1, scimd.TypeUser, a.ID, scimd.ReadOptions{})
		if u := h.get(T1, scimd.TypeUser, a.ID, scimd.ReadOptions{Groups: true}); len(u.Groups) != 0 {
			t.Errorf("user a in groups %v after failed create", u.Groups)
		}
		h.createGroup(T1, "g") // the name is still free
	})
	t.Run("Add", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "a", nil)
		b := h.createUser(T1, "b", nil)
		g := h.createGroup(T1, "g")
		tick()
		got := h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{Members: true}, memberOps(scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{{Value: a.ID, Display: "Alice"}}}))
		if got.Meta.Version != 2 || !got.Meta.LastModified.After(g.Meta.LastModified) {
			t.Errorf("membership change did not bump meta: %+v", got.Meta)
		}
		if len(got.Members) != 1 || got.Members[0].Value != a.ID || got.Members[0].Display != "Alice" || got.Members[0].Type != scimd.TypeUser {
			t.Errorf("Update with ReadOptions.Members returned members %+v", got.Members)
		}
		if got.MemberCount != 1 {
			t.Errorf("Update returned MemberCount %d, want 1", got.MemberCount)
		}
		// Idempotent: again, and twice within one op.
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(
			scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(a)}},
			scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(b), userMember(b), userMember(a)}},
		))
		h.wantMembers(T1, g.ID, a, b)
	})
	t.Run("Remove", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "a", nil)
		b := h.createUser(T1, "b", nil)
		c := h.createUser(T1, "c", nil)
		g := h.createGroup(T1, "g", userMember(a), userMember(b))
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(scimd.MemberOp{Kind: scimd.MemberRemove, Members: []scimd.Member{{Value: a.ID}}}))
		h.wantMembers(T1, g.ID, b)
		// Removing a non-member (existing or not) is a no-op.
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(scimd.MemberOp{Kind: scimd.MemberRemove, Members: []scimd.Member{{Value: c.ID}, {Value: a.ID}, {Value: scimd.NewID()}}}))
		h.wantMembers(T1, g.ID, b)
	})
	t.Run("RemoveAll", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "a", nil)
		b := h.createUser(T1, "b", nil)
		g := h.createGroup(T1, "g", userMember(a), userMember(b))
		other := h.createGroup(T1, "other", userMember(a))
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(scimd.MemberOp{Kind: scimd.MemberRemoveAll}))
		h.wantMembers(T1, g.ID)
		h.wantMembers(T1, other.ID, a)
		// RemoveAll then Add in one update.
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(
			scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(a)}},
			scimd.MemberOp{Kind: scimd.MemberRemoveAll},
			scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(b)}},
		))
		h.wantMembers(T1, g.ID, b)
	})
	t.Run("RemoveWhere", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "a", nil)
		b := h.createUser(T1, "b", nil)
		n1 := h.createGroup(T1, "n1")
		n2 := h.createGroup(T1, "n2")
		g := h.createGroup(T1, "g", userMember(a), groupMember(n1), userMember(b), groupMember(n2))
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(scimd.MemberOp{Kind: scimd.MemberRemoveWhere, Filter: parse(t, `type eq "Group"`)}))
		h.wantMembers(T1, g.ID, a, b)
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(scimd.MemberOp{Kind: scimd.MemberRemoveWhere, Filter: parse(t, `value eq "`+a.ID+`"`)}))
		h.wantMembers(T1, g.ID, b)
		// Display as supplied, case-insensitively, and derived.
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{{Value: a.ID, Display: "Remove Me"}, groupMember(n1)}}))
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(scimd.MemberOp{Kind: scimd.MemberRemoveWhere, Filter: parse(t, `display eq "remove me" or display eq "n1"`)}))
		h.wantMembers(T1, g.ID, b)
		// Matching nothing is a no-op.
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(scimd.MemberOp{Kind: scimd.MemberRemoveWhere, Filter: parse(t, `value eq "`+scimd.NewID()+`"`)}))
		h.wantMembers(T1, g.ID, b)
		// Other groups are untouched.
		h.wantMembers(T1, n1.ID)
	})
	t.Run("OpsInOrder", func(t *testing.T) {
		h := setup(t)
		x := h.createUser(T1, "x", nil)
		y := h.createUser(T1, "y", nil)
		g := h.createGroup(T1, "g", userMember(x))
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(
			scimd.MemberOp{Kind: scimd.MemberRemove, Members: []scimd.Member{userMember(x)}},
			scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(x)}},
			scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(y)}},
			scimd.MemberOp{Kind: scimd.MemberRemove, Members: []scimd.Member{userMember(y)}},
		))
		h.wantMembers(T1, g.ID, x)
	})
	t.Run("WithAttributeChange", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "a", nil)
		g := h.createGroup(T1, "g")
		got := h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			if r.Members != nil {
				t.Errorf("fn got Members loaded: %v", r.Members)
			}
			r.Attrs["displayName"] = "renamed"
			return []scimd.MemberOp{{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(a)}}}, nil
		})
		if got.Meta.Version != 2 || got.Attrs["displayName"] != "renamed" {
			t.Errorf("got version %d, attrs %v", got.Meta.Version, got.Attrs)
		}
		h.wantMembers(T1, g.ID, a)
	})
	t.Run("ErrUnknownMember", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "a", nil)
		b := h.createUser(T1, "b", nil)
		g := h.createGroup(T1, "g", userMember(a))
		_, err := h.s.Update(t.Context(), T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			r.Attrs["displayName"] = "renamed"
			return []scimd.MemberOp{
				{Kind: scimd.MemberRemove, Members: []scimd.Member{userMember(a)}},
				{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(b), {Value: scimd.NewID()}}},
			}, nil
		})
		wantErr(t, err, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
		got := h.get(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{})
		if got.Attrs["displayName"] != "g" || got.Meta.Version != 1 {
			t.Errorf("failed update was written: %v, version %d", got.Attrs, got.Meta.Version)
		}
		h.wantMembers(T1, g.ID, a)
	})
	t.Run("ErrSelf", func(t *testing.T) {
		h := setup(t)
		g := h.createGroup(T1, "g")
		_, err := h.s.Update(t.Context(), T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{groupMember(g)}}))
		wantErr(t, err, http.StatusBadRequest, "")
		h.wantMembers(T1, g.ID)
	})
	t.Run("Nested", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "a", nil)
		child := h.createGroup(T1, "child", userMember(a))
		parent := h.createGroup(T1, "parent")
		h.update(T1, scimd.TypeGroup, parent.ID, scimd.ReadOptions{}, memberOps(scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{{Value: child.ID}}}))
		ms := h.members(T1, parent.ID)
		if len(ms) != 1 || ms[0].Value != child.ID || ms[0].Type != scimd.TypeGroup || ms[0].Display != "child" {
			t.Errorf("parent members = %+v", ms)
		}
		// User.groups lists direct memberships only.
		u := h.get(T1, scimd.TypeUser, a.ID, scimd.ReadOptions{Groups: true})
		if len(u.Groups) != 1 || u.Groups[0].Value != child.ID {
			t.Errorf("a.Groups = %+v, want only child", u.Groups)
		}
		// Deleting the child group removes it from the parent.
		if err := h.s.Delete(t.Context(), T1, scimd.TypeGroup, child.ID, nil); err != nil {
			t.Fatal(err)
		}
		h.wantMembers(T1, parent.ID)
		if u := h.get(T1, scimd.TypeUser, a.ID, scimd.ReadOptions{Groups: true}); len(u.Groups) != 0 {
			t.Errorf("a.Groups after deleting the group = %+v", u.Groups)
		}
	})
	t.Run("UserGroups", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "a", nil)
		b := h.createUser(T1, "b", nil)
		g1 := h.createGroup(T1, "Admins", userMember(a))
		g2 := h.createGroup(T1, "Staff", userMember(a), userMember(b))
		u := h.get(T1, scimd.TypeUser, a.ID, scimd.ReadOptions{Groups: true})
		wantRefs(t, u.Groups, scimd.GroupRef{Value: g1.ID, Display: "Admins"}, scimd.GroupRef{Value: g2.ID, Display: "Staff"})
		if plain := h.get(T1, scimd.TypeUser, a.ID, scimd.ReadOptions{}); plain.Groups != nil {
			t.Errorf("Groups loaded without ReadOptions.Groups: %v", plain.Groups)
		}
		// Display follows a rename.
		h.update(T1, scimd.TypeGroup, g1.ID, scimd.ReadOptions{}, setAttr("displayName", "Administrators"))
		u = h.get(T1, scimd.TypeUser, a.ID, scimd.ReadOptions{Groups: true})
		wantRefs(t, u.Groups, scimd.GroupRef{Value: g1.ID, Display: "Administrators"}, scimd.GroupRef{Value: g2.ID, Display: "Staff"})
		// List loads groups too.
		for _, r := range h.all(T1, scimd.TypeUser, scimd.ReadOptions{Groups: true}) {
			switch r.ID {
			case a.ID:
				wantRefs(t, r.Groups, scimd.GroupRef{Value: g1.ID, Display: "Administrators"}, scimd.GroupRef{Value: g2.ID, Display: "Staff"})
			case b.ID:
				wantRefs(t, r.Groups, scimd.GroupRef{Value: g2.ID, Display: "Staff"})
			}
		}
		// Update loads groups when asked.
		got := h.update(T1, scimd.TypeUser, b.ID, scimd.ReadOptions{Groups: true}, setAttr("title", "x"))
		wantRefs(t, got.Groups, scimd.GroupRef{Value: g2.ID, Display: "Staff"})
	})
	t.Run("ListLoadsMembers", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "a", nil)
		g1 := h.createGroup(T1, "g1", userMember(a))
		h.createGroup(T1, "g2")
		res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeGroup, StartIndex: 1, Count: 10, ReadOptions: scimd.ReadOptions{Members: true}})
		for _, g := range res.Resources {
			want := 0
			if g.ID == g1.ID {
				want = 1
			}
			if len(g.Members) != want || g.MemberCount != want {
				t.Errorf("group %v: %d members loaded, MemberCount %d, want %d", g.Attrs["displayName"], len(g.Members), g.MemberCount, want)
			}
		}
		res = h.list(T1, &scimd.ListQuery{Type: scimd.TypeGroup, StartIndex: 1, Count: 10})
		for _, g := range res.Resources {
			if g.Members != nil {
				t.Errorf("List without ReadOptions.Members loaded members of %v", g.Attrs["displayName"])
			}
			if g.ID == g1.ID && g.MemberCount != 1 {
				t.Errorf("List: MemberCount = %d, want 1", g.MemberCount)
			}
		}
	})
	t.Run("DeleteUser", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "a", nil)
		b := h.createUser(T1, "b", nil)
		g1 := h.createGroup(T1, "g1", userMember(a), userMember(b))
		g2 := h.createGroup(T1, "g2", userMember(a))
		if err := h.s.Delete(t.Context(), T1, scimd.TypeUser, a.ID, nil); err != nil {
			t.Fatal(err)
		}
		h.wantMembers(T1, g1.ID, b)
		h.wantMembers(T1, g2.ID)
		res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeGroup, Filter: parse(t, `members.value eq "`+a.ID+`"`), StartIndex: 1, Count: 10})
		if res.TotalResults != 0 {
			t.Errorf("groups still list the deleted user: %v", ids(res.Resources))
		}
		// The deleted id can no longer be added.
		_, err := h.s.Update(t.Context(), T1, scimd.TypeGroup, g2.ID, scimd.ReadOptions{}, memberOps(scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(a)}}))
		wantErr(t, err, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
	})
	t.Run("ManyMembers", func(t *testing.T) {
		h := setup(t)
		var us []*scimd.Resource
		var ms []scimd.Member
		for i := range 50 {
			u := h.createUser(T1, "user"+string(rune('A'+i%26))+string(rune('a'+i/26)), nil)
			us = append(us, u)
			ms = append(ms, userMember(u))
		}
		g := h.createGroup(T1, "big", ms[:25]...)
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(
			scimd.MemberOp{Kind: scimd.MemberAdd, Members: ms[20:]},
			scimd.MemberOp{Kind: scimd.MemberRemove, Members: ms[:10]},
		))
		h.wantMembers(T1, g.ID, us[10:]...)
	})
}

func wantRefs(t *testing.T, got []scimd.GroupRef, want ...scimd.GroupRef) {
	t.Helper()
	cmp := func(a, b scimd.GroupRef) int {
		if a.Value < b.Value {
			return -1
		}
		if a.Value > b.Value {
			return 1
		}
		return 0
	}
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, cmp)
	slices.SortFunc(want, cmp)
	if !slices.Equal(got, want) {
		t.Errorf("groups = %+v, want %+v", got, want)
	}
}
