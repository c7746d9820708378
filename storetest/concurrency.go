package storetest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
)

// Workers is the number of goroutines RunConcurrency starts per test.
const Workers = 16

// RunConcurrency checks that a store serialises concurrent writes
// correctly: concurrent membership changes and attribute updates of one
// resource lose nothing, and concurrent creates of one name yield exactly
// one resource. It is separate from Run so that a backend opts in; newStore
// is called once per subtest, as in Run.
func RunConcurrency(t *testing.T, newStore func(t *testing.T) scimd.Store) {
	setup := func(t *testing.T) *harness {
		return &harness{t: t, s: newStore(t), reg: schema.DefaultRegistry()}
	}
	t.Run("GroupMembership", func(t *testing.T) {
		h := setup(t)
		var users []*scimd.Resource
		for i := range 2 * Workers {
			users = append(users, h.createUser(T1, fmt.Sprintf("user%02d", i), nil))
		}
		// The second half starts as members; each worker adds one user of
		// the first half and removes one of the second.
		var initial []scimd.Member
		for _, u := range users[Workers:] {
			initial = append(initial, userMember(u))
		}
		g := h.createGroup(T1, "g", initial...)
		errs := parallel(Workers, func(i int) error {
			_, err := h.s.Update(t.Context(), T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(
				scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(users[i])}},
				scimd.MemberOp{Kind: scimd.MemberRemove, Members: []scimd.Member{userMember(users[Workers+i])}},
			))
			return err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatalf("concurrent membership update: %v", err)
			}
		}
		h.wantMembers(T1, g.ID, users[:Workers]...)
		if got := h.get(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}); got.Meta.Version != 1+Workers {
			t.Errorf("Version = %d, want %d", got.Meta.Version, 1+Workers)
		}
	})
	t.Run("GroupRenameAndMembership", func(t *testing.T) {
		h := setup(t)
		var users []*scimd.Resource
		for i := range Workers {
			users = append(users, h.createUser(T1, fmt.Sprintf("user%02d", i), nil))
		}
		g := h.createGroup(T1, "g")
		// Odd workers change membership, even ones append to the
		// description (read-modify-write of an attribute).
		errs := parallel(Workers, func(i int) error {
			_, err := h.s.Update(t.Context(), T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
				if i%2 == 0 {
					s, _ := r.Attrs["externalId"].(string)
					r.Attrs["externalId"] = s + fmt.Sprintf("[%d]", i)
					return nil, nil
				}
				return []scimd.MemberOp{{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(users[i])}}}, nil
			})
			return err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatalf("concurrent update: %v", err)
			}
		}
		var want []*scimd.Resource
		got := h.get(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{})
		ext, _ := got.Attrs["externalId"].(string)
		for i := range Workers {
			if i%2 == 1 {
				want = append(want, users[i])
			} else if !strings.Contains(ext, fmt.Sprintf("[%d]", i)) {
				t.Errorf("externalId %q lost worker %d's change", ext, i)
			}
		}
		h.wantMembers(T1, g.ID, want...)
	})
	t.Run("UserAttributes", func(t *testing.T) {
		h := setup(t)
		u := h.createUser(T1, "u", map[string]any{"emails": []any{map[string]any{"value": "first@example.com", "type": "work"}}})
		// Each worker appends one email: a read-modify-write of one
		// multi-valued attribute, the case PATCH add produces.
		errs := parallel(Workers, func(i int) error {
			_, err := h.s.Update(t.Context(), T1, scimd.TypeUser, u.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
				emails, _ := r.Attrs["emails"].([]any)
				r.Attrs["emails"] = append(slices.Clone(emails), map[string]any{"value": fmt.Sprintf("w%02d@example.com", i), "type": "other"})
				return nil, nil
			})
			return err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatalf("concurrent update: %v", err)
			}
		}
		got := h.get(T1, scimd.TypeUser, u.ID, scimd.ReadOptions{})
		emails, _ := got.Attrs["emails"].([]any)
		if len(emails) != 1+Workers {
			t.Errorf("%d emails after %d concurrent appends, want %d: %v", len(emails), Workers, 1+Workers, emails)
		}
		if got.Meta.Version != 1+Workers {
			t.Errorf("Version = %d, want %d", got.Meta.Version, 1+Workers)
		}
	})
	t.Run("CreateSameUserName", func(t *testing.T) {
		h := setup(t)
		rs := make([]*scimd.Resource, Workers)
		for i := range rs {
			name := "dup@example.com"
			if i%2 == 1 {
				name = "DUP@Example.com"
			}
			rs[i] = h.user(name, nil)
		}
		errs := parallel(Workers, func(i int) error {
			_, err := h.s.Create(t.Context(), T1, rs[i])
			return err
		})
		checkOneWinner(t, errs)
		if res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: 1, Count: 100}); res.TotalResults != 1 {
			t.Errorf("TotalResults = %d, want 1", res.TotalResults)
		}
	})
	t.Run("CreateSameDisplayName", func(t *testing.T) {
		h := setup(t)
		rs := make([]*scimd.Resource, Workers)
		for i := range rs {
			rs[i] = h.group("Same Group")
		}
		errs := parallel(Workers, func(i int) error {
			_, err := h.s.Create(t.Context(), T1, rs[i])
			return err
		})
		checkOneWinner(t, errs)
	})
	t.Run("RenameToSameUserName", func(t *testing.T) {
		h := setup(t)
		var users []*scimd.Resource
		for i := range Workers {
			users = append(users, h.createUser(T1, fmt.Sprintf("u%02d", i), nil))
		}
		errs := parallel(Workers, func(i int) error {
			_, err := h.s.Update(t.Context(), T1, scimd.TypeUser, users[i].ID, scimd.ReadOptions{}, setAttr("userName", "target"))
			return err
		})
		checkOneWinner(t, errs)
		res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, Filter: parse(t, `userName eq "target"`), StartIndex: 1, Count: 100})
		if res.TotalResults != 1 {
			t.Errorf("%d users named target, want 1", res.TotalResults)
		}
	})
	t.Run("DeleteWhileAdding", func(t *testing.T) {
		h := setup(t)
		var users []*scimd.Resource
		for i := range Workers {
			users = append(users, h.createUser(T1, fmt.Sprintf("u%02d", i), nil))
		}
		g := h.createGroup(T1, "g")
		// Even workers add a user to the group, odd workers delete the user
		// the previous worker adds. Either order is fine; a deleted user
		// must never remain a member.
		errs := parallel(Workers, func(i int) error {
			if i%2 == 1 {
				return h.s.Delete(t.Context(), T1, scimd.TypeUser, users[i-1].ID, nil)
			}
			_, err := h.s.Update(t.Context(), T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, memberOps(
				scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(users[i])}}))
			if scimd.StatusOf(err) == http.StatusBadRequest && scimd.ScimTypeOf(err) == scimd.ScimTypeInvalidValue {
				return nil // the user was already gone
			}
			return err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatalf("concurrent add/delete: %v", err)
			}
		}
		h.wantMembers(T1, g.ID)
	})
}

// parallel runs fn(0…n-1) in n goroutines released together and returns
// their errors.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = fn(i)
		}()
	}
	start.Done()
	done.Wait()
	return errs
}

// checkOneWinner fails unless exactly one error is nil and every other is
// 409 uniqueness.
func checkOneWinner(t *testing.T, errs []error) {
	t.Helper()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case scimd.StatusOf(err) == http.StatusConflict && scimd.ScimTypeOf(err) == scimd.ScimTypeUniqueness:
		default:
			t.Errorf("got %v, want success or 409 uniqueness", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent writes succeeded, want exactly 1", ok, len(errs))
	}
}
