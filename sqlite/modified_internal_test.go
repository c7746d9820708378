package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
)

// TestModifiedPrunerRuns checks that the background pruner starts a pass
// once the writes since the last one reach the threshold, and that the
// pass leaves one resource_modified row per resource.
func TestModifiedPrunerRuns(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, ":memory:", schema.DefaultRegistry(), func(db *DB) {
		db.pruner.minStale, db.pruner.interval = 100, 20*time.Millisecond
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids []string
	for i := range 50 {
		r, err := db.Create(ctx, "t1", &scimd.Resource{Type: scimd.TypeUser, Schemas: []string{schema.URNUser},
			Attrs: map[string]any{"userName": fmt.Sprintf("user%d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	passes := db.pruner.passes.Load()
	for round := range 3 {
		for _, id := range ids {
			_, err := db.Update(ctx, "t1", scimd.TypeUser, id, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
				r.Attrs["title"] = fmt.Sprint(round)
				return nil, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	// 150 rows are stale now. Passes reset the count of writes they may
	// not have seen; once the pruner is idle, the stale rows left are at
	// most the writes since its last pass, and those are below the
	// threshold.
	deadline := time.Now().Add(10 * time.Second)
	var rows, live int64
	for time.Now().Before(deadline) {
		if err := db.queryRow(ctx, `SELECT (SELECT count(*) FROM resource_modified), (SELECT count(*) FROM resources)`).Scan(&rows, &live); err != nil {
			t.Fatal(err)
		}
		w := db.pruner.writes.Load()
		if db.pruner.passes.Load() > passes && rows-live <= w && w < db.pruner.minStale {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("resource_modified holds %d rows for %d resources, %d writes since the last pass (%d passes)",
		rows, live, db.pruner.writes.Load(), db.pruner.passes.Load()-passes)
}
