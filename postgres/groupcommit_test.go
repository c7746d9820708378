package postgres_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/postgres"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/storetest"
)

// The conformance suites with every statement sent on its own (by
// default simple writes and single-statement reads go in batches; see
// TestStore).
func TestStoreWithoutBatches(t *testing.T) {
	open := func(t *testing.T) scimd.Store { return MustOpenDB(t, nil, postgres.WithoutBatches()) }
	storetest.Run(t, open)
	storetest.RunConcurrency(t, open)
}

func createUsers(t *testing.T, db *postgres.DB, n int) []*scimd.Resource {
	t.Helper()
	rt := schema.DefaultRegistry().ResourceType(scimd.TypeUser)
	var out []*scimd.Resource
	for i := range n {
		r, err := rt.Decode(map[string]any{"schemas": []any{schema.URNUser},
			"userName": fmt.Sprintf("user%d", i), "displayName": "u", "active": true})
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.Validate(r, nil); err != nil {
			t.Fatal(err)
		}
		got, err := db.Create(t.Context(), "t1", r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got)
	}
	return out
}

// appendName is an update function that appends s to displayName: an
// update that is lost or applied twice shows in the final value.
func appendName(s string) scimd.UpdateFunc {
	return func(r *scimd.Resource) ([]scimd.MemberOp, error) {
		d, _ := r.Attrs["displayName"].(string)
		r.Attrs["displayName"] = d + s
		return nil, nil
	}
}

// Concurrent updates of users share transactions, and none is lost:
// several writers append to each user's displayName, including to the
// same user in one batch (the second's version check fails inside the
// batch and it runs again on its own).
func TestGroupCommitConcurrentUpdates(t *testing.T) {
	db := MustOpenDB(t, nil)
	users := createUsers(t, db, 8)
	const writers, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				u := users[(w+i)%len(users)]
				if _, err := db.Update(t.Context(), "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{}, appendName("x")); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 0
	for _, u := range users {
		got, err := db.Get(t.Context(), "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d := got.Attrs["displayName"].(string)
		n := strings.Count(d, "x")
		if got.Meta.Version != u.Meta.Version+int64(n) {
			t.Errorf("%s: version %d after %d updates from %d", u.ID, got.Meta.Version, n, u.Meta.Version)
		}
		total += n
	}
	if total != writers*each {
		t.Errorf("%d updates applied, want %d", total, writers*each)
	}
	batches, writes := db.GroupCommitStats()
	t.Logf("%d batches carried %d updates", batches, writes)
	if writes < int64(writers*each) || batches >= writes {
		t.Errorf("%d batches carried %d updates: want some batches of more than one", batches, writes)
	}
	// Most updates started from a hint (the previous update's row), and
	// concurrent ones on the same user made some stale: none was lost.
	hits, misses, stale := db.HintStats()
	t.Logf("hints: %d used, %d missing, %d stale", hits, misses, stale)
	if hits == 0 || stale == 0 {
		t.Errorf("hints: %d used, %d stale; want both", hits, stale)
	}
}

// A batch whose statement fails (here a unique violation: a rename to a
// taken userName) commits nothing, and each of its updates runs again on
// its own: the rename fails with 409 uniqueness, the others succeed.
func TestGroupCommitFailedBatch(t *testing.T) {
	db, entered, hold := openHeld(t)
	users := createUsers(t, db, 5)
	b0, w0 := db.GroupCommitStats()
	held.Store(true)
	type result struct {
		i   int
		res *scimd.Resource
		err error
	}
	results := make(chan result, len(users))
	update := func(i int, fn scimd.UpdateFunc) {
		res, err := db.Update(t.Context(), "t1", scimd.TypeUser, users[i].ID, scimd.ReadOptions{Groups: true}, fn)
		results <- result{i, res, err}
	}
	go update(0, appendName("a"))
	<-entered
	go update(1, appendName("b"))
	go update(2, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
		r.Attrs["userName"] = "USER3" // taken by users[3], case-insensitively
		return nil, nil
	})
	go update(3, appendName("c"))
	go update(4, appendName("d"))
	waitFor(t, func() bool { return queuedWrites(db) == 4 })
	close(hold)
	for range users {
		r := <-results
		switch {
		case r.i == 2:
			if scimd.StatusOf(r.err) != http.StatusConflict || scimd.ScimTypeOf(r.err) != scimd.ScimTypeUniqueness {
				t.Errorf("rename to a taken userName: %v, want 409 uniqueness", r.err)
			}
		case r.err != nil:
			t.Errorf("update %d: %v", r.i, r.err)
		case r.res.Groups == nil:
			t.Errorf("update %d: Groups not read", r.i)
		}
	}
	for i, want := range []string{"ua", "ub", "u", "uc", "ud"} {
		got, err := db.Get(t.Context(), "t1", scimd.TypeUser, users[i].ID, scimd.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d := got.Attrs["displayName"]; d != want {
			t.Errorf("user %d: displayName %q, want %q", i, d, want)
		}
		wantVersion := users[i].Meta.Version + 1
		if i == 2 {
			wantVersion--
		}
		if got.Meta.Version != wantVersion {
			t.Errorf("user %d: version %d, want %d", i, got.Meta.Version, wantVersion)
		}
	}
	if batches, writes := db.GroupCommitStats(); batches-b0 != 2 || writes-w0 != 5 {
		t.Errorf("%d batches carried %d updates, want 2 and 5 (the second failed; its updates ran alone)", batches-b0, writes-w0)
	}
	// The connection of the failed batch went back to the pool usable.
	if _, err := db.Update(t.Context(), "t1", scimd.TypeUser, users[1].ID, scimd.ReadOptions{}, appendName("e")); err != nil {
		t.Fatal(err)
	}
}

// held makes the next batch of a store from openHeld wait.
var held atomic.Bool

// openHeld opens a store with one batch in flight at a time, whose next
// batch once held is set waits (entered is closed) until hold is closed:
// the writes that arrive meanwhile queue, and go in one batch after it.
func openHeld(t *testing.T) (db *postgres.DB, entered, hold chan struct{}) {
	entered, hold = make(chan struct{}), make(chan struct{})
	db = MustOpenDB(t, nil, postgres.WithBatches(1, 0, func() {
		if held.CompareAndSwap(true, false) {
			close(entered)
			<-hold
		}
	}, nil))
	return db, entered, hold
}

// A create that meets a taken userName in a batch fails it; each of its
// writes runs again on its own: that create gets 409, the others are made.
func TestGroupCommitCreates(t *testing.T) {
	db, entered, hold := openHeld(t)
	users := createUsers(t, db, 2)
	b0, w0 := db.GroupCommitStats()
	held.Store(true)
	rt := schema.DefaultRegistry().ResourceType(scimd.TypeUser)
	create := func(name string) (*scimd.Resource, error) {
		r, err := rt.Decode(map[string]any{"schemas": []any{schema.URNUser}, "userName": name})
		if err != nil {
			t.Fatal(err)
		}
		return db.Create(t.Context(), "t1", r)
	}
	errs := make(chan error, 1)
	go func() {
		_, err := db.Update(t.Context(), "t1", scimd.TypeUser, users[0].ID, scimd.ReadOptions{}, appendName("a"))
		errs <- err
	}()
	<-entered
	names := []string{"new1", "User1", "new2"} // user1 exists
	type result struct {
		name string
		res  *scimd.Resource
		err  error
	}
	results := make(chan result, len(names))
	for _, n := range names {
		go func() {
			r, err := create(n)
			results <- result{n, r, err}
		}()
	}
	waitFor(t, func() bool { return queuedWrites(db) == len(names) })
	close(hold)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	for range names {
		r := <-results
		if r.name == "User1" {
			if scimd.StatusOf(r.err) != http.StatusConflict || scimd.ScimTypeOf(r.err) != scimd.ScimTypeUniqueness {
				t.Errorf("create of a taken userName: %v, want 409 uniqueness", r.err)
			}
			continue
		}
		if r.err != nil {
			t.Fatalf("create %s: %v", r.name, r.err)
		}
		got, err := db.Get(t.Context(), "t1", scimd.TypeUser, r.res.ID, scimd.ReadOptions{})
		if err != nil || got.Attrs["userName"] != r.name {
			t.Errorf("created %s: read back %v, %v", r.name, got, err)
		}
	}
	if batches, writes := db.GroupCommitStats(); batches-b0 != 2 || writes-w0 != 4 {
		// the held update, then the failed batch of three creates
		t.Errorf("%d batches carried %d writes, want 2 and 4", batches-b0, writes-w0)
	}
}

func queuedWrites(db *postgres.DB) int {
	w, _ := db.Queued()
	return w
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("timed out")
		case <-time.After(time.Millisecond):
		}
	}
}
