package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/sqlite"
)

// TestTrigramIndexOffWritePath checks that writes only queue their
// trigram re-indexing, that a substring query still sees every write made
// before it (it indexes what is pending first), and that the background
// indexer drains the queue on its own.
func TestTrigramIndexOffWritePath(t *testing.T) {
	ctx := context.Background()
	db := MustOpenFileDB(t)
	ids := createBenchUsers(t, db, 0, 30)
	if n, err := db.PendingTrigrams(ctx); err != nil || n == 0 {
		t.Fatalf("pending after creates = %d, %v; want the creates queued", n, err)
	}
	list := func(f string) int {
		t.Helper()
		e, err := filter.Parse(f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, Filter: e, StartIndex: 1, Count: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(res.Resources)
	}
	if got := list(`userName co "user0000017"`); got != 1 {
		t.Errorf("userName co before indexing: %d results, want 1", got)
	}
	if n, err := db.PendingTrigrams(ctx); err != nil || n != 0 {
		t.Errorf("pending after a substring query = %d, %v; want 0", n, err)
	}
	// Change one user's e-mail: the old value must stop matching and the
	// new one match, at once.
	_, err := db.Update(ctx, "t1", scimd.TypeUser, ids[5], scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
		r.Attrs["emails"] = []any{map[string]any{"value": "renamed.person@elsewhere.test", "type": "work", "primary": true}}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := list(`emails[type eq "work" and value co "renamed.person@"]`); got != 1 {
		t.Errorf("new e-mail: %d results, want 1", got)
	}
	if err := db.Delete(ctx, "t1", scimd.TypeUser, ids[7], nil); err != nil {
		t.Fatal(err)
	}
	if got := list(`userName co "user0000007"`); got != 0 {
		t.Errorf("deleted user still found: %d results", got)
	}
	// The background indexer drains what writes queue.
	createBenchUsers(t, db, 100, 30)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := db.PendingTrigrams(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("background indexer left %d rows pending after 10s", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCappedCountCachedUntilWrite checks that a capped count (more matches
// than MaxTotal) is reused while the tenant is unchanged and recounted
// after a write.
func TestCappedCountCachedUntilWrite(t *testing.T) {
	ctx := context.Background()
	db := MustOpenFileDB(t)
	ids := createBenchUsers(t, db, 0, 30)
	e, err := filter.Parse(`emails[type eq "work" and value co "@example.com"]`)
	if err != nil {
		t.Fatal(err)
	}
	total := func() int {
		t.Helper()
		res, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, Filter: e, StartIndex: 1, Count: 3, MaxTotal: 5})
		if err != nil {
			t.Fatal(err)
		}
		return res.TotalResults
	}
	if got := total(); got != 6 {
		t.Fatalf("30 matches, MaxTotal 5: TotalResults = %d, want 6", got)
	}
	_, _, counted := db.ListStats()
	if got := total(); got != 6 {
		t.Fatalf("again: TotalResults = %d, want 6", got)
	}
	if _, _, again := db.ListStats(); again != counted {
		t.Errorf("the capped count was recounted for an unchanged tenant (%d counts, then %d)", counted, again)
	}
	for _, id := range ids[4:] {
		if err := db.Delete(ctx, "t1", scimd.TypeUser, id, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := total(); got != 4 {
		t.Errorf("after deleting all but 4: TotalResults = %d, want 4", got)
	}
}

// createBenchUsers creates benchUser(from) … benchUser(from+n-1) in tenant
// t1, one write each, and returns their ids.
func createBenchUsers(t *testing.T, db *sqlite.DB, from, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		u, err := db.Create(context.Background(), "t1", benchUser(from+i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	return ids
}
