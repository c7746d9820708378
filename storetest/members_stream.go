package storetest

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/scimd/scimd"
)

// stream reads group id through scimd.MemberStreamer, returning the group
// fn received and every member, in order.
func (h *harness) stream(ms scimd.MemberStreamer, tenant, id string) (*scimd.Resource, []scimd.Member, error) {
	h.t.Helper()
	var g *scimd.Resource
	var got []scimd.Member
	err := ms.StreamGroup(h.t.Context(), tenant, id, func(gr *scimd.Resource, members scimd.MemberSeq) error {
		g = gr
		return members(func(m scimd.Member) error {
			got = append(got, m)
			return nil
		})
	})
	return g, got, err
}

// testMembersStream checks scimd.MemberStreamer, for stores that
// implement it: the members come in insertion order, all of them, agree
// with Get(ReadOptions{Members: true}) and with the group handed to fn; a
// missing group, a resource of another type and another tenant's group are
// NotFound; errors of fn and of the yield function stop the walk and are
// returned.
func testMembersStream(t *testing.T, setup func(*testing.T) *harness) {
	streamer := func(t *testing.T) (*harness, scimd.MemberStreamer) {
		h := setup(t)
		ms, ok := h.s.(scimd.MemberStreamer)
		if !ok {
			t.Skip("store does not implement scimd.MemberStreamer")
		}
		return h, ms
	}
	// same fails unless the streamed members are exactly the loaded ones,
	// and both are want (by id, in order).
	same := func(h *harness, tenant string, got []scimd.Member, groupID string, want ...*scimd.Resource) {
		h.t.Helper()
		loaded := h.members(tenant, groupID)
		if !slices.Equal(got, loaded) {
			h.t.Errorf("streamed members differ from loaded ones:\nstreamed %+v\nloaded   %+v", got, loaded)
		}
		var gotIDs []string
		for _, m := range got {
			gotIDs = append(gotIDs, m.Value)
		}
		if !slices.Equal(gotIDs, ids(want)) {
			h.t.Errorf("streamed member ids = %v, want (insertion order) %v", gotIDs, ids(want))
		}
	}

	t.Run("Order", func(t *testing.T) {
		h, ms := streamer(t)
		u := make([]*scimd.Resource, 6)
		for i := range u {
			u[i] = h.createUser(T1, fmt.Sprintf("u%d", i), map[string]any{"displayName": fmt.Sprintf("User %d", i)})
		}
		n := h.createGroup(T1, "Nested")
		g := h.createGroup(T1, "Parent", userMember(u[3]), scimd.Member{Value: u[1].ID, Display: "as sent"})
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(
			scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(u[5]), userMember(u[2])}}))
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(
			scimd.MemberOp{Kind: scimd.MemberRemove, Members: []scimd.Member{userMember(u[1])}}))
		cur := h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(
			scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(u[1]), groupMember(n), userMember(u[3])}}))

		gr, got, err := h.stream(ms, T1, g.ID)
		if err != nil {
			t.Fatalf("StreamGroup: %v", err)
		}
		same(h, T1, got, g.ID, u[3], u[5], u[2], u[1], n)
		if m, _ := findMember(got, n.ID); m.Type != scimd.TypeGroup || m.Display != "Nested" {
			t.Errorf("nested group member = %+v, want Type Group, Display Nested", m)
		}

		want := h.get(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{})
		switch {
		case gr == nil:
			t.Fatal("fn got no group")
		case gr.ID != g.ID || gr.Type != scimd.TypeGroup:
			t.Errorf("fn got %s %s, want Group %s", gr.Type, gr.ID, g.ID)
		case gr.Members != nil:
			t.Errorf("fn got a group with Members loaded: %v", gr.Members)
		case gr.MemberCount != 5:
			t.Errorf("fn got MemberCount %d, want 5", gr.MemberCount)
		case !equalAttrs(gr.Attrs, want.Attrs):
			t.Errorf("fn got other attributes than Get:\n%s", attrsDiff(gr.Attrs, want.Attrs))
		}
		equalMeta(t, "StreamGroup", gr.Meta, cur.Meta)

		// Deleting a member removes it from the stream.
		if err := h.s.Delete(t.Context(), T1, scimd.TypeUser, u[2].ID, nil); err != nil {
			t.Fatal(err)
		}
		_, got, err = h.stream(ms, T1, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(h, T1, got, g.ID, u[3], u[5], u[1], n)
	})

	t.Run("Complete", func(t *testing.T) {
		h, ms := streamer(t)
		const n = 1203 // more than one batch or IN chunk of any backend
		users := make([]*scimd.Resource, n)
		for i := range users {
			users[i] = h.createUser(T1, fmt.Sprintf("user%04d", i), nil)
		}
		// Added in an order unrelated to creation or id order.
		order := make([]*scimd.Resource, 0, n)
		for i := range n {
			order = append(order, users[(i*7+3)%n])
		}
		g := h.createGroup(T1, "Big")
		for batch := range slices.Chunk(order, 100) {
			add := make([]scimd.Member, len(batch))
			for i, u := range batch {
				add[i] = userMember(u)
			}
			h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(scimd.MemberOp{Kind: scimd.MemberAdd, Members: add}))
		}
		gr, got, err := h.stream(ms, T1, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if gr.MemberCount != n || len(got) != n {
			t.Fatalf("MemberCount %d, %d members streamed; want %d", gr.MemberCount, len(got), n)
		}
		same(h, T1, got, g.ID, order...)

		var each []scimd.Member
		if err := scimd.EachMember(t.Context(), h.s, T1, g.ID, func(m scimd.Member) error {
			each = append(each, m)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(each, got) {
			t.Error("scimd.EachMember differs from StreamGroup")
		}
	})

	t.Run("Empty", func(t *testing.T) {
		h, ms := streamer(t)
		g := h.createGroup(T1, "Empty")
		gr, got, err := h.stream(ms, T1, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if gr == nil || gr.MemberCount != 0 || len(got) != 0 {
			t.Errorf("empty group: fn got %v, %d members", gr, len(got))
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		h, ms := streamer(t)
		u := h.createUser(T1, "u", nil)
		g := h.createGroup(T1, "G", userMember(u))
		for _, c := range []struct{ name, tenant, id string }{
			{"Missing", T1, scimd.NewID()},
			{"User", T1, u.ID},
			{"OtherTenant", T2, g.ID},
		} {
			called := false
			err := ms.StreamGroup(t.Context(), c.tenant, c.id, func(*scimd.Resource, scimd.MemberSeq) error {
				called = true
				return nil
			})
			if scimd.StatusOf(err) != http.StatusNotFound {
				t.Errorf("%s: got %v, want NotFound", c.name, err)
			}
			if called {
				t.Errorf("%s: fn called for a missing group", c.name)
			}
		}
		if err := h.s.Delete(t.Context(), T1, scimd.TypeGroup, g.ID, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := h.stream(ms, T1, g.ID); scimd.StatusOf(err) != http.StatusNotFound {
			t.Errorf("deleted group: got %v, want NotFound", err)
		}
	})

	t.Run("Tenants", func(t *testing.T) {
		h, ms := streamer(t)
		a1 := h.createUser(T1, "a", nil)
		b1 := h.createUser(T1, "b", nil)
		a2 := h.createUser(T2, "a", nil)
		g1 := h.createGroup(T1, "Same", userMember(a1), userMember(b1))
		g2 := h.createGroup(T2, "Same", userMember(a2))
		_, got, err := h.stream(ms, T1, g1.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(h, T1, got, g1.ID, a1, b1)
		_, got, err = h.stream(ms, T2, g2.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(h, T2, got, g2.ID, a2)
	})

	t.Run("Errors", func(t *testing.T) {
		h, ms := streamer(t)
		var members []scimd.Member
		for i := range 10 {
			members = append(members, userMember(h.createUser(T1, fmt.Sprintf("u%d", i), nil)))
		}
		g := h.createGroup(T1, "G", members...)
		errStop := errors.New("stop")
		yields := 0
		err := ms.StreamGroup(t.Context(), T1, g.ID, func(_ *scimd.Resource, seq scimd.MemberSeq) error {
			return seq(func(scimd.Member) error {
				yields++
				if yields == 3 {
					return errStop
				}
				return nil
			})
		})
		if !errors.Is(err, errStop) || yields != 3 {
			t.Errorf("yield error: got %v after %d yields, want %v after 3", err, yields, errStop)
		}
		err = ms.StreamGroup(t.Context(), T1, g.ID, func(*scimd.Resource, scimd.MemberSeq) error { return errStop })
		if !errors.Is(err, errStop) {
			t.Errorf("fn error: got %v, want %v", err, errStop)
		}
		// The iterator may run twice within fn, with the same result.
		var first, second []scimd.Member
		err = ms.StreamGroup(t.Context(), T1, g.ID, func(_ *scimd.Resource, seq scimd.MemberSeq) error {
			if err := seq(func(m scimd.Member) error { first = append(first, m); return nil }); err != nil {
				return err
			}
			return seq(func(m scimd.Member) error { second = append(second, m); return nil })
		})
		if err != nil || len(first) != 10 || !slices.Equal(first, second) {
			t.Errorf("two walks: %v, %d then %d members", err, len(first), len(second))
		}
		// The store is usable afterwards (the snapshot was released).
		h.update(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(scimd.MemberOp{Kind: scimd.MemberRemoveAll}))
		if _, got, err := h.stream(ms, T1, g.ID); err != nil || len(got) != 0 {
			t.Errorf("after removing all: %v, %d members", err, len(got))
		}
	})
}
