package postgres_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/postgres"
)

// lookup is Okta's userName lookup, answered by one statement.
func lookup(t *testing.T, db *postgres.DB, userName string) (*scimd.ListResult, error) {
	e, err := filter.Parse(fmt.Sprintf(`userName eq %q`, userName))
	if err != nil {
		t.Fatal(err)
	}
	return db.List(t.Context(), "t1", &scimd.ListQuery{Type: scimd.TypeUser, Filter: e, StartIndex: 1, Count: 100})
}

// Concurrent reads share pipelines, and each gets its own answer.
func TestPipelinedReads(t *testing.T) {
	db := MustOpenDB(t, nil)
	users := createUsers(t, db, 20)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := range 30 {
				u := users[(w*7+i)%len(users)]
				got, err := db.Get(t.Context(), "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{Groups: i%2 == 0})
				if err != nil || got.ID != u.ID || got.Attrs["userName"] != u.Attrs["userName"] {
					t.Errorf("Get(%s) = %v, %v", u.ID, got, err)
					return
				}
				res, err := lookup(t, db, u.Attrs["userName"].(string))
				if err != nil || res.TotalResults != 1 || len(res.Resources) != 1 || res.Resources[0].ID != u.ID {
					t.Errorf("lookup of %s = %+v, %v", u.Attrs["userName"], res, err)
					return
				}
				if _, err := db.Get(t.Context(), "t1", scimd.TypeUser, "no-such-id", scimd.ReadOptions{}); scimd.StatusOf(err) != http.StatusNotFound {
					t.Errorf("Get of a missing id: %v, want 404", err)
					return
				}
			}
		})
	}
	wg.Wait()
	batches, reads := db.ReadStats()
	t.Logf("%d batches carried %d reads", batches, reads)
	if reads < 16*30*3 || batches >= reads {
		t.Errorf("%d batches carried %d reads: want some batches of more than one", batches, reads)
	}
}

// A statement that fails in a pipeline (an id with a NUL, which
// PostgreSQL's text cannot hold) makes the server skip the rest; the other
// reads of the batch run again on their own and get their answers.
func TestPipelinedReadFails(t *testing.T) {
	var hold atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	db := MustOpenDB(t, nil, postgres.WithBatches(0, 1, nil, func() {
		if hold.CompareAndSwap(true, false) {
			close(entered)
			<-release
		}
	}))
	users := createUsers(t, db, 3)
	hold.Store(true)
	go db.Get(t.Context(), "t1", scimd.TypeUser, users[0].ID, scimd.ReadOptions{})
	<-entered
	b0, r0 := db.ReadStats()
	ids := []string{users[1].ID, "bad\x00id", users[2].ID}
	errs := make([]error, len(ids))
	got := make([]*scimd.Resource, len(ids))
	var lookedUp *scimd.ListResult
	var lookupErr error
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { got[i], errs[i] = db.Get(t.Context(), "t1", scimd.TypeUser, id, scimd.ReadOptions{}) })
	}
	wg.Go(func() { lookedUp, lookupErr = lookup(t, db, "user0") })
	waitFor(t, func() bool { _, r := db.Queued(); return r == len(ids)+1 })
	close(release)
	wg.Wait()
	for i, id := range ids {
		if i == 1 {
			if scimd.StatusOf(errs[i]) != http.StatusNotFound {
				t.Errorf("Get of an id with a NUL: %v, want 404", errs[i])
			}
			continue
		}
		if errs[i] != nil || got[i].ID != id {
			t.Errorf("Get(%s) = %v, %v", id, got[i], errs[i])
		}
	}
	if lookupErr != nil || len(lookedUp.Resources) != 1 || lookedUp.Resources[0].ID != users[0].ID {
		t.Errorf("lookup of user0 = %+v, %v", lookedUp, lookupErr)
	}
	if batches, reads := db.ReadStats(); batches-b0 != 2 || reads-r0 != 5 {
		t.Errorf("%d batches carried %d reads, want 2 and 5 (the held one, then the four queued)", batches-b0, reads-r0)
	}
}
