package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/scimd/scimd/internal/ticks"
)

// Planner statistics. The store's statements are prepared once per
// connection, and after a few executions PostgreSQL plans them once for
// any parameters (a generic plan), from the tables' statistics. A table
// that has never been analysed, or has grown several times over since it
// was, gets plans for the size it had: right after a tenant's first
// import, before autovacuum's first ANALYZE (it looks at each database
// once a minute), the generic plan of a read by id walked the tenant's
// users through resources_display and filtered on the id (5 ms per GET at
// 10,000 users, ~1,300 GETs/s instead of ~13,000), and the e-mail `co`
// filter counted its matches without the trigram index (15 s per request).
// See docs/decisions.md, "PostgreSQL: planner statistics".
//
// So each instance keeps the statistics of the tables its hot statements
// read. Every analyzeInterval it reads PostgreSQL's own counters
// (pg_stat_user_tables) and analyses a table when autovacuum's default
// rule says it is due (changed rows since the last ANALYZE at least 50 +
// 10 % of the rows it counted then) and either the table was never
// analysed, has doubled since, or was last analysed analyzeMinGap ago or
// more. During a first import that is about one ANALYZE per doubling
// (each reads a sample of at most 30,000 rows); under steady writes, at
// most one per table every analyzeMinGap. Instances share the work: an
// ANALYZE runs under a transaction-scoped advisory lock that others skip
// rather than wait for, and it resets the counters they read.

// statsTables are the tables the hot statements' plans depend on.
var statsTables = []string{"resources", "resource_modified", "value_index", "memberships"}

const (
	// DefaultAnalyzeInterval is how often an instance looks at the
	// tables' counters; see WithAnalyzeInterval.
	DefaultAnalyzeInterval = 2 * time.Second
	// analyzeMinGap is the least time between two ANALYZEs of a table
	// that has neither doubled nor never been analysed.
	analyzeMinGap = 30 * time.Second
	// analyzeLock is the first key of the advisory lock an ANALYZE holds
	// (the second is the table's index in statsTables): "scimdA" in ASCII.
	analyzeLock int32 = 0x73634164
)

// WithAnalyzeInterval sets how often the store checks whether the tables
// it reads need fresh planner statistics (default DefaultAnalyzeInterval);
// 0 or less turns the check off, leaving statistics to autovacuum.
func WithAnalyzeInterval(d time.Duration) Option { return func(db *DB) { db.analyzeEvery = d } }

// analyzer runs analyzeDue in the background until stopped.
type analyzer struct {
	cancel   context.CancelFunc
	done     chan struct{}
	analyzed atomic.Int64 // ANALYZE statements run (tests)
}

// tableStats are one table's counters, as pg_stat_user_tables has them.
type tableStats struct {
	name string
	// rows is pg_class.reltuples: the rows the last ANALYZE (or VACUUM)
	// counted, -1 if there was none.
	rows float64
	live int64 // n_live_tup
	mods int64 // n_mod_since_analyze
	// since is the time since the last ANALYZE, by either scimd or
	// autovacuum; negative if never.
	since time.Duration
}

// due reports whether s's table should be analysed now.
func (s tableStats) due() bool {
	base := max(s.rows, 0)
	if float64(s.mods) < 50+0.1*base {
		return false // autovacuum's default threshold
	}
	if s.rows < 0 || s.since < 0 || float64(s.live) >= 2*base {
		return true // never analysed, or the plans are for half the rows or fewer
	}
	return s.since >= analyzeMinGap
}

// startAnalyzer starts the background check; stopAnalyzer stops it. The
// check runs on a connection of its own, configured as the pool's are but
// outside the pool: an ANALYZE of a large table takes a while and should
// not hold a connection requests wait for.
func (db *DB) startAnalyzer() {
	if db.analyzeEvery <= 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &analyzer{cancel: cancel, done: make(chan struct{})}
	db.analyzer = a
	cfg := db.pool.Config().ConnConfig.Copy()
	go func() {
		defer close(a.done)
		var conn *pgx.Conn
		defer func() {
			if conn != nil {
				conn.Close(context.Background())
			}
		}()
		for range ticks.Every(ctx, db.analyzeEvery) {
			if conn == nil {
				c, err := pgx.ConnectConfig(ctx, cfg)
				if err != nil {
					if ctx.Err() == nil {
						slog.Warn("postgres: planner statistics: connect", "err", err)
					}
					continue
				}
				conn = c
			}
			n, err := analyzeDue(ctx, conn)
			a.analyzed.Add(int64(n))
			switch {
			case ctx.Err() != nil:
				return
			case errors.Is(err, errNoStats):
				slog.Info("postgres: planner statistics left to the database", "err", err)
				return
			case err != nil:
				slog.Warn("postgres: planner statistics", "err", err)
				conn.Close(context.Background())
				conn = nil // a fresh connection next time
			}
		}
	}()
}

// stopAnalyzer stops the background check and waits for it; an ANALYZE
// under way is cancelled.
func (db *DB) stopAnalyzer() {
	if a := db.analyzer; a != nil {
		a.cancel()
		<-a.done
		db.analyzer = nil
	}
}

// errNoStats means the database has no counters to go by (a
// PostgreSQL-compatible database that keeps its statistics itself).
var errNoStats = errors.New("no per-table counters (pg_stat_user_tables)")

// analyzeDue analyses the tables of statsTables that are due and returns
// how many ANALYZE statements it ran (one may have passed a locked table
// by: see analyze).
func analyzeDue(ctx context.Context, conn *pgx.Conn) (int, error) {
	rows, err := conn.Query(ctx, `SELECT s.relname, c.reltuples::float8, s.n_live_tup, s.n_mod_since_analyze,
			coalesce(extract(epoch FROM now() - greatest(s.last_analyze, s.last_autoanalyze))::float8, -1)
		FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
		WHERE s.schemaname = current_schema() AND s.relname = ANY($1)
			AND pg_has_role(c.relowner, 'MEMBER') -- only an owner may analyse`, statsTables)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "42") {
			// Syntax error or access rule violation: no such view,
			// column or function here.
			return 0, fmt.Errorf("%w: %w", errNoStats, err)
		}
		return 0, fmt.Errorf("read table counters: %w", err)
	}
	var due []tableStats
	for rows.Next() {
		var s tableStats
		var since float64
		if err := rows.Scan(&s.name, &s.rows, &s.live, &s.mods, &since); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read table counters: %w", err)
		}
		s.since = time.Duration(since * float64(time.Second))
		if s.due() {
			due = append(due, s)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read table counters: %w", err)
	}
	n := 0
	for _, s := range due {
		did, err := analyze(ctx, conn, s.name)
		if err != nil {
			return n, err
		}
		if did {
			n++
			slog.Debug("postgres: analysed", "table", s.name, "rows_before", s.rows, "live", s.live, "changed", s.mods)
		}
	}
	return n, nil
}

// analyze runs ANALYZE on table unless another instance holds its
// advisory lock.
func analyze(ctx context.Context, conn *pgx.Conn, table string) (bool, error) {
	key := int32(-1)
	for i, t := range statsTables {
		if t == table {
			key = int32(i)
		}
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("analyze %s: %w", table, err)
	}
	defer tx.Rollback(context.Background())
	var locked bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1, $2)`, analyzeLock, key).Scan(&locked); err != nil {
		return false, fmt.Errorf("analyze %s: lock: %w", table, err)
	}
	if !locked {
		return false, nil // another instance is analysing it
	}
	// SKIP_LOCKED: a VACUUM under way (autovacuum's, say) holds a lock
	// ANALYZE needs. Waiting for it would make PostgreSQL cancel an
	// autovacuum in our way, and under steady writes its VACUUM could
	// then never finish; the table is tried again at the next check.
	if _, err := tx.Exec(ctx, `ANALYZE (SKIP_LOCKED) `+pgx.Identifier{table}.Sanitize()); err != nil {
		return false, fmt.Errorf("analyze %s: %w", table, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("analyze %s: commit: %w", table, err)
	}
	return true, nil
}
