package postgres_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/internal/pgtest"
	"github.com/scimd/scimd/postgres"
)

// ifVersion is an update function that sets displayName to name if the
// resource is at version v (as an If-Match would), and fails with 412
// otherwise.
func ifVersion(v int64, name string) scimd.UpdateFunc {
	return func(r *scimd.Resource) ([]scimd.MemberOp, error) {
		if r.Meta.Version != v {
			return nil, scimd.PreconditionFailed("version %d, not %d", r.Meta.Version, v)
		}
		r.Attrs["displayName"] = name
		return nil, nil
	}
}

// Two instances on one database: an update on one starts from its hint of
// the row, and a hint the other instance made stale changes nothing a
// client sees: the update runs again from the row as stored.
func TestUpdateHintsAcrossInstances(t *testing.T) {
	url := pgtest.URL(t)
	a := mustOpen(t, url, nil)
	b := mustOpen(t, url, nil)
	ctx := t.Context()
	u := createUsers(t, a, 1)[0]
	update := func(db *postgres.DB, fn scimd.UpdateFunc) (*scimd.Resource, error) {
		t.Helper()
		return db.Update(ctx, "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{Groups: true}, fn)
	}
	stats := func(db *postgres.DB) [3]int64 {
		h, m, s := db.HintStats()
		return [3]int64{h, m, s}
	}

	// b reads the user (version 1) and so hints it; its update starts
	// from the hint: no read.
	if _, err := b.Get(ctx, "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	_, readsBefore := b.ReadStats()
	got, err := update(b, appendName("-b"))
	if err != nil {
		t.Fatal(err)
	}
	if _, reads := b.ReadStats(); reads != readsBefore {
		t.Errorf("an update from a hint read the row (%d reads)", reads-readsBefore)
	}
	if got.Meta.Version != 2 || got.Attrs["displayName"] != "u-b" || got.Groups == nil {
		t.Fatalf("update from a hint: version %d, displayName %v, groups %v", got.Meta.Version, got.Attrs["displayName"], got.Groups)
	}
	if s := stats(b); s != [3]int64{1, 0, 0} {
		t.Errorf("b's hints (hits, misses, stale) = %v, want [1 0 0]", s)
	}

	// A lookup by userName hints what it finds, as a GET does.
	c := mustOpen(t, url, nil)
	if res, err := lookup(t, c, "user0"); err != nil || len(res.Resources) != 1 {
		t.Fatalf("lookup: %v, %v", res, err)
	}
	if _, err := c.Update(ctx, "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{}, ifVersion(2, "u-b")); err != nil {
		t.Fatal(err)
	}
	if s := stats(c); s != [3]int64{1, 0, 0} {
		t.Errorf("hints after a lookup (hits, misses, stale) = %v, want [1 0 0]", s)
	}

	// a changes the user behind b's hint (version 2 → 3). b's next
	// update starts from its stale hint, finds the version changed, and
	// runs again from the row: a's change is kept.
	if _, err := update(a, appendName("-a")); err != nil {
		t.Fatal(err)
	}
	got, err = update(b, appendName("-b"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta.Version != 5 || got.Attrs["displayName"] != "u-b-a-b" {
		t.Errorf("update from a stale hint: version %d, displayName %v; want 5, u-b-a-b", got.Meta.Version, got.Attrs["displayName"])
	}
	if s := stats(b); s[2] != 1 {
		t.Errorf("b's hints (hits, misses, stale) = %v, want one stale", s)
	}

	// If-Match against a stale hint: b hints version 5, a makes it 6. An
	// update on b that requires 6 succeeds (the hint's 412 is not
	// believed), and one that requires 5 gets 412 from the row.
	if _, err := update(a, appendName("-a")); err != nil {
		t.Fatal(err)
	}
	if got, err = update(b, ifVersion(6, "six")); err != nil {
		t.Fatalf("If-Match of the current version through a stale hint: %v", err)
	}
	if got.Meta.Version != 7 || got.Attrs["displayName"] != "six" {
		t.Errorf("If-Match update: version %d, displayName %v", got.Meta.Version, got.Attrs["displayName"])
	}
	if _, err := update(a, appendName("-a")); err != nil { // 7 → 8 behind b's hint of 7
		t.Fatal(err)
	}
	_, err = update(b, ifVersion(7, "seven"))
	var se *scimd.Error
	if !errors.As(err, &se) || se.Status != http.StatusPreconditionFailed {
		t.Errorf("If-Match of a superseded version that b's hint still has: %v, want 412", err)
	}

	// Deleted through a: b's hint leads nowhere, and b's update says so.
	if err := a.Delete(ctx, "t1", scimd.TypeUser, u.ID, nil); err != nil {
		t.Fatal(err)
	}
	_, err = update(b, appendName("-b"))
	if !errors.As(err, &se) || se.Status != http.StatusNotFound {
		t.Errorf("update through a hint of a deleted user: %v, want 404", err)
	}
	got, err = a.Get(ctx, "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{})
	if !errors.As(err, &se) || se.Status != http.StatusNotFound {
		t.Errorf("deleted user: %v, %v", got, err)
	}
}

// A create hints what it wrote: the first update reads nothing.
func TestCreateHints(t *testing.T) {
	db := MustOpenDB(t, nil)
	u := createUsers(t, db, 1)[0]
	_, readsBefore := db.ReadStats()
	got, err := db.Update(t.Context(), "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{Groups: true}, appendName("+"))
	if err != nil {
		t.Fatal(err)
	}
	if _, reads := db.ReadStats(); reads != readsBefore {
		t.Errorf("the first update after a create read the row (%d reads)", reads-readsBefore)
	}
	if h, _, s := db.HintStats(); h != 1 || s != 0 {
		t.Errorf("hints used %d, stale %d; want 1, 0", h, s)
	}
	if got.Meta.Version != 2 || got.Attrs["displayName"] != "u+" || !got.Meta.Created.Equal(u.Meta.Created) {
		t.Errorf("after the update: version %d, displayName %v, created %v (was %v)",
			got.Meta.Version, got.Attrs["displayName"], got.Meta.Created, u.Meta.Created)
	}
	stored, err := db.Get(t.Context(), "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{})
	if err != nil || stored.Meta.Version != 2 || stored.Attrs["displayName"] != "u+" || stored.Attrs["userName"] != "user0" {
		t.Errorf("stored after the update: %+v, %v", stored, err)
	}
}

// Hints off: updates read their row, and behave the same.
func TestUpdateWithoutHints(t *testing.T) {
	db := MustOpenDB(t, nil, postgres.WithHintBytes(0))
	u := createUsers(t, db, 1)[0]
	for range 3 {
		if _, err := db.Update(t.Context(), "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{}, appendName("+")); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Get(t.Context(), "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{})
	if err != nil || got.Attrs["displayName"] != "u+++" || got.Meta.Version != 4 {
		t.Fatalf("after three updates: %v, %v", got, err)
	}
	if h, m, s := db.HintStats(); h+m+s != 0 {
		t.Errorf("hints off counted %d, %d, %d", h, m, s)
	}
}
