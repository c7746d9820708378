package sqlite_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/sqlite"
)

// A full disk (here max_page_count) fails the writes that need a page:
// the error translates to 507, nothing of a failed write is kept or
// served (not by the read cache either), every acknowledged write is,
// the database stays intact, and writes work again once there is room.
// Writes run concurrently, so that failures land in batches of several.
func TestDiskFull(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "full.db"), schema.DefaultRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range 20 {
		mustCreate(t, db, "t1", newUser(fmt.Sprintf("before%d", i), fmt.Sprintf("before%d@example.com", i)))
	}
	if _, err := db.SetMaxPageCount(ctx, 0, 12); err != nil {
		t.Fatal(err)
	}

	var (
		mu         sync.Mutex
		created    []string // userNames acknowledged
		failed     []string
		wg         sync.WaitGroup
		translated = map[int]int{}
	)
	for w := range 8 {
		wg.Go(func() {
			for i := range 60 {
				name := fmt.Sprintf("full%d-%d", w, i)
				// A long displayName fills pages fast.
				r := newUser(name, name+"@example.com")
				r.Attrs["displayName"] = strings.Repeat("x", 400)
				_, err := db.Create(ctx, "t1", r)
				mu.Lock()
				if err == nil {
					created = append(created, name)
				} else {
					failed = append(failed, name)
					te := db.TranslateError(err)
					if te == nil {
						t.Errorf("Create %s: %v, not translated", name, err)
					} else {
						translated[te.Status]++
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("%d created, %d failed: %v", len(created), len(failed), translated)
	if len(failed) == 0 {
		t.Fatal("no write failed: the database never filled")
	}
	if translated[http.StatusInsufficientStorage] != len(failed) {
		t.Errorf("failures translated to %v, want all %d to 507", translated, len(failed))
	}

	lookup := func(name string) int {
		t.Helper()
		e, err := filter.Parse(fmt.Sprintf("userName eq %q", name))
		if err != nil {
			t.Fatal(err)
		}
		res, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, Filter: e, StartIndex: 1, Count: 10})
		if err != nil {
			t.Fatal(err)
		}
		return res.TotalResults
	}
	for _, n := range created {
		if lookup(n) != 1 {
			t.Errorf("acknowledged %s is missing", n)
		}
	}
	for _, n := range failed {
		if lookup(n) != 0 {
			t.Errorf("failed %s is there", n)
		}
	}
	all, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: 1, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := 20 + len(created); all.TotalResults != want {
		t.Errorf("%d users, want %d", all.TotalResults, want)
	}
	if s, err := db.IntegrityCheck(ctx); err != nil || s != "ok" {
		t.Errorf("integrity_check: %q, %v", s, err)
	}

	if _, err := db.SetMaxPageCount(ctx, 1<<30, 0); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, "t1", newUser(failed[0], failed[0]+"@example.com"))
}
