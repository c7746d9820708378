package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd/internal/ticks"
)

// Planner statistics. Without sqlite_stat1, SQLite plans from fixed
// guesses, under which every statement of this store gets the plan
// TestQueryPlans asserts. Close runs PRAGMA optimize, which records
// statistics of the tables the connection queried, as they are then, and
// SQLite plans from those until an ANALYZE replaces them. A database
// closed while small and then filled kept statistics that said "10 rows":
// at 100,000 users the meta.lastModified page then scanned and sorted
// every user (39 requests/s against 14,930 with no statistics, p50 195 ms
// against 0.45), and imports ran 16 % slower. So while statistics exist,
// a background check compares the resources they counted (none if they
// have no row for resources) with the resources there are now
// (resource_counts) and, when one is twice the other or more and they are
// at least analyzeMinChange apart, runs ANALYZE, bounded by PRAGMA
// analysis_limit: a few milliseconds of the writer whatever the size.
// Growth from a few users thus costs about one ANALYZE per doubling.
// Without statistics it does nothing: SQLite's guesses are what the plans
// were made for. See docs/decisions.md, "SQLite: planner statistics".

const (
	// analyzeInterval is how often the check looks at the counts.
	analyzeInterval = 10 * time.Second
	// analyzeMinChange is the least difference, in resources, between the
	// statistics and the table that makes them stale: below it a bad
	// plan costs little.
	analyzeMinChange = 1000
	// analyzeLimit is PRAGMA analysis_limit for the check's ANALYZE: the
	// rows it reads per index.
	analyzeLimit = 1000
)

// statsKeeper runs the check in the background until stopped.
type statsKeeper struct {
	cancel   context.CancelFunc
	done     chan struct{}
	interval time.Duration // analyzeInterval unless a test set it before Open
	runs     atomic.Int64  // ANALYZEs run
}

// startStatsKeeper starts the background check; stopStatsKeeper stops it.
func (db *DB) startStatsKeeper() {
	k := &db.stats
	ctx, cancel := context.WithCancel(context.Background())
	k.cancel, k.done = cancel, make(chan struct{})
	if k.interval == 0 {
		k.interval = analyzeInterval
	}
	go func() {
		defer close(k.done)
		for range ticks.Every(ctx, k.interval) {
			if _, err := db.analyzeIfStale(ctx); err != nil && ctx.Err() == nil {
				slog.Warn("sqlite: planner statistics", "err", err)
			}
		}
	}()
}

// stopStatsKeeper stops the background check and waits for it.
func (db *DB) stopStatsKeeper() {
	if k := &db.stats; k.cancel != nil {
		k.cancel()
		<-k.done
		k.cancel = nil
	}
}

// statsStale reports whether statistics counting then resources (0: the
// statistics have no row for them) are stale with now resources.
func statsStale(then, now int64) bool {
	return (now >= 2*then || 2*now <= then) && max(now-then, then-now) >= analyzeMinChange
}

// analyzeIfStale runs ANALYZE if the statistics of resources are stale
// and reports whether it did.
func (db *DB) analyzeIfStale(ctx context.Context) (bool, error) {
	var analysed bool
	if err := db.queryRow(ctx, `SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'`).Scan(&analysed); err != nil {
		return false, fmt.Errorf("read statistics: %w", err)
	}
	if !analysed {
		return false, nil // never analysed: SQLite's guesses
	}
	// PRAGMA optimize records only the tables the connection queried:
	// with statistics of other tables but none of resources, SQLite plans
	// from a mix, which ANALYZE makes whole (then is 0).
	var stat string
	var then int64
	err := db.queryRow(ctx, `SELECT stat FROM sqlite_stat1 WHERE tbl = 'resources' AND idx = 'resources_id'`).Scan(&stat)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return false, fmt.Errorf("read statistics: %w", err)
	default:
		first, _, _ := strings.Cut(stat, " ")
		if then, err = strconv.ParseInt(first, 10, 64); err != nil {
			return false, fmt.Errorf("read statistics: %q: %w", stat, err)
		}
	}
	now, err := db.liveResources(ctx)
	if err != nil {
		return false, err
	}
	if !statsStale(then, now) {
		return false, nil
	}
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `PRAGMA analysis_limit = `+strconv.Itoa(analyzeLimit)); err != nil {
		return false, fmt.Errorf("analyze: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `ANALYZE`); err != nil {
		return false, fmt.Errorf("analyze: %w", err)
	}
	// A connection loads the statistics with the schema, and ANALYZE
	// leaves the schema's version as it was: the readers would keep
	// planning from the old statistics until they reconnect. A schema
	// change makes each connection read the schema again, statistics
	// included, before its next statement.
	if _, err := tx.ExecContext(ctx, `CREATE VIEW scimd_reload_statistics AS SELECT 1`); err != nil {
		return false, fmt.Errorf("analyze: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DROP VIEW scimd_reload_statistics`); err != nil {
		return false, fmt.Errorf("analyze: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("analyze: commit: %w", err)
	}
	db.stats.runs.Add(1)
	slog.Debug("sqlite: analysed", "resources_before", then, "resources", now)
	return true, nil
}
