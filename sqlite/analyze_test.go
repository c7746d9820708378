package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/sqlite"
)

// TestStaleStatistics: a database closed while it held 10 users (Close
// runs PRAGMA optimize, which records statistics of that size) and then
// filled with 20,000 gets fresh statistics from the check, after which
// the meta.lastModified page reads through the log instead of scanning
// and sorting every user, as it did with the stale statistics.
func TestStaleStatistics(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scimd.db")
	ctx := context.Background()
	open := func() *sqlite.DB {
		t.Helper()
		db, err := sqlite.Open(ctx, path, schema.DefaultRegistry(), sqlite.WithAnalyzeInterval(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	create := func(db *sqlite.DB, from, to int) {
		t.Helper()
		var rs []*scimd.Resource
		for i := from; i < to; i++ {
			name := fmt.Sprintf("user%d@example.com", i)
			rs = append(rs, newUser(name, name))
		}
		if _, err := db.BulkCreate(ctx, "t1", rs); err != nil {
			t.Fatal(err)
		}
	}
	db := open()
	create(db, 0, 10)
	lookup, err := filter.Parse(`userName eq "user1@example.com"`)
	if err != nil {
		t.Fatal(err)
	}
	// Queries on the connection are what PRAGMA optimize analyses.
	if _, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, Filter: lookup, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open()
	defer db.Close()
	if did, err := db.AnalyzeIfStale(ctx); err != nil || did {
		t.Fatalf("10 users: analysed %v (%v)", did, err)
	}
	create(db, 10, 20_000)

	e, err := filter.Parse(`meta.lastModified gt "` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"`)
	if err != nil {
		t.Fatal(err)
	}
	q := &scimd.ListQuery{Type: scimd.TypeUser, Filter: e, StartIndex: 1, Count: 100}
	before, err := db.Explain(ctx, "t1", q)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("statistics of 10 users, 20,000 there:\n%s", before)
	if did, err := db.AnalyzeIfStale(ctx); err != nil || !did {
		t.Fatalf("20,000 users: analysed %v (%v)", did, err)
	}
	after, err := db.Explain(ctx, "t1", q)
	if err != nil {
		t.Fatal(err)
	}

	if !strings.Contains(after, "SEARCH lm USING PRIMARY KEY") || strings.Contains(after, "SCAN r") {
		t.Errorf("after ANALYZE the page does not read through the log:\n%s", after)
	}
	if did, err := db.AnalyzeIfStale(ctx); err != nil || did {
		t.Errorf("fresh statistics: analysed %v (%v)", did, err)
	}
	// The statistics of an ANALYZE bounded by analysis_limit leave the
	// IdPs' lookups where they were without statistics.
	checkPlans(t, db)
}

// TestStatsKeeperInBackground: an open store analyses by itself.
func TestStatsKeeperInBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scimd.db")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path, schema.DefaultRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.BulkCreate(ctx, "t1", []*scimd.Resource{newUser("a@example.com")}); err != nil {
		t.Fatal(err)
	}
	lookup, _ := filter.Parse(`userName eq "a@example.com"`)
	if _, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, Filter: lookup, Count: 1}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = sqlite.Open(ctx, path, schema.DefaultRegistry(), sqlite.WithAnalyzeInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rs []*scimd.Resource
	for i := range 1500 {
		rs = append(rs, newUser(fmt.Sprintf("u%d@example.com", i)))
	}
	if _, err := db.BulkCreate(ctx, "t1", rs); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for db.AnalyzeRuns() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no ANALYZE within 10 s of the users' arrival")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
