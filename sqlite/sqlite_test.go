package sqlite_test

import (
	"context"
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/sqlite"
	"github.com/scimd/scimd/storetest"
)

var dump = flag.Bool("dump", false, "keep test databases as files in the test's temp directory (printed)")

// MustOpenDB opens a fresh database: in memory, or with -dump a file.
func MustOpenDB(tb testing.TB, reg *schema.Registry, opts ...sqlite.Option) *sqlite.DB {
	tb.Helper()
	if reg == nil {
		reg = schema.DefaultRegistry()
	}
	path := ":memory:"
	if *dump {
		path = filepath.Join(tb.TempDir(), "scimd.db")
		tb.Logf("database: %s", path)
	}
	db, err := sqlite.Open(context.Background(), path, reg, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	checkModifiedLog(tb, db)
	return db
}

// checkModifiedLog checks, when the test ends (before the database
// closes), that every resource has the resource_modified row of its
// lastModified and that each tenant's count of stale rows is right, and
// again after a pruning pass, which must leave exactly one row per
// resource.
func checkModifiedLog(tb testing.TB, db *sqlite.DB) {
	tb.Cleanup(func() {
		ctx := context.Background()
		if missing, _, err := db.ModifiedLog(ctx); err != nil || missing != 0 {
			tb.Errorf("resource_modified: %d resources without their row (%v)", missing, err)
		}
		if err := db.CheckStaleCounts(ctx); err != nil {
			tb.Errorf("resource_modified: %v", err)
		}
		if _, err := db.PruneModified(ctx); err != nil {
			tb.Errorf("prune resource_modified: %v", err)
		}
		if missing, stale, err := db.ModifiedLog(ctx); err != nil || missing != 0 || stale != 0 {
			tb.Errorf("resource_modified after pruning: %d resources without their row, %d stale rows (%v)", missing, stale, err)
		}
		if err := db.CheckStaleCounts(ctx); err != nil {
			tb.Errorf("resource_modified after pruning: %v", err)
		}
	})
}

// MustOpenFileDB opens a fresh WAL database file in a temp directory.
func MustOpenFileDB(tb testing.TB, opts ...sqlite.Option) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "scimd.db"), schema.DefaultRegistry(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	checkModifiedLog(tb, db)
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) scimd.Store { return MustOpenDB(t, nil) })
}

func TestStoreFile(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	storetest.Run(t, func(t *testing.T) scimd.Store { return MustOpenFileDB(t) })
}

func TestConcurrency(t *testing.T) {
	storetest.RunConcurrency(t, func(t *testing.T) scimd.Store { return MustOpenFileDB(t) })
}

func TestExtensions(t *testing.T) {
	storetest.RunExtensions(t, func(t *testing.T, reg *schema.Registry) scimd.Store { return MustOpenDB(t, reg) })
}

// fixedClock returns a clock that advances by step on every call.
func fixedClock(start time.Time, step time.Duration) func() time.Time {
	t := start
	return func() time.Time {
		t = t.Add(step)
		return t
	}
}
