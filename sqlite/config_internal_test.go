package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
)

// TestLargeWriteInSavepoint checks that a write whose savepoint journal
// grows far past stmtJournalSpill (so that SQLite spills it to a file)
// commits: a write queued behind another runs in a savepoint of the same
// transaction. With a threshold above 128 KiB the spill failed with
// SQLITE_FULL (see config.go).
func TestLargeWriteInSavepoint(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "big.db"), schema.DefaultRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	users := func(prefix string, n int) []*scimd.Resource {
		var out []*scimd.Resource
		for i := range n {
			name := fmt.Sprintf("%s%05d@example.com", prefix, i)
			out = append(out, &scimd.Resource{Type: scimd.TypeUser, Schemas: []string{schema.URNUser},
				Attrs: map[string]any{"userName": name, "displayName": "User " + name,
					"emails": []any{map[string]any{"type": "work", "value": name}}}})
		}
		return out
	}
	create := func(tx *Tx, rs []*scimd.Resource) error {
		rt, err := db.resourceType(scimd.TypeUser)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if _, err := tx.createResource(ctx, "t1", rt, r); err != nil {
				return err
			}
		}
		return nil
	}
	// Existing pages, so that the second write changes pages the
	// savepoint must journal.
	seed, err := db.beginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := create(seed, users("seed", 3000)); err != nil {
		t.Fatal(err)
	}
	if err := seed.Commit(); err != nil {
		t.Fatal(err)
	}

	first, err := db.beginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback()
	if err := create(first, users("first", 1)); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() {
		tx, err := db.beginWrite(ctx) // queued behind first: a savepoint
		if err != nil {
			second <- err
			return
		}
		defer tx.Rollback()
		if err := create(tx, users("big", 3000)); err != nil {
			second <- err
			return
		}
		second <- tx.Commit()
	}()
	for len(db.wq) == 0 { // wait until the second write is queued
		time.Sleep(time.Millisecond)
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatalf("large write in a savepoint: %v", err)
	}
	if batches, ops := db.wstats.batches.Load(), db.wstats.ops.Load(); ops-batches < 1 {
		t.Fatalf("%d writes in %d batches: the large write had a transaction of its own", ops, batches)
	}
}
