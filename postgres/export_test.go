package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scimd/scimd"
)

// Explain returns EXPLAIN of the page query of q (OFFSET paging).
func (db *DB) Explain(ctx context.Context, tenant string, q *scimd.ListQuery) (string, error) {
	var plan string
	err := db.inReadTx(ctx, func(tx *Tx) error {
		var err error
		plan, err = tx.explainPage(ctx, tenant, q, nil)
		return err
	})
	return plan, err
}

// ExecSQL runs statements on the database (test fixtures).
func (db *DB) ExecSQL(ctx context.Context, sql string) error {
	_, err := db.pool.Exec(ctx, sql)
	return err
}

// WithPoolConfig lets a test change the pool configuration before Open
// connects (tracers, a counting dialer).
func WithPoolConfig(f func(*pgxpool.Config)) Option {
	return func(db *DB) { db.configure = f }
}

// ResetListCache forgets every cached paging position and count.
func (db *DB) ResetListCache() {
	db.lists.positions.Reset()
	db.lists.mu.Lock()
	defer db.lists.mu.Unlock()
	db.lists.counts = nil
}

// ResetListPositions forgets every cached paging position.
func (db *DB) ResetListPositions() { db.lists.positions.Reset() }

// ListStats reports how many index pages were read by a keyset seek from a
// cached position and how many with OFFSET from the start, since Open.
func (db *DB) ListStats() (seeks, offsets int64) {
	return db.lists.seeks.Load(), db.lists.offsets.Load()
}

// ModifiedMismatches counts the resources whose resource_modified row is
// missing or differs (tenant, last_modified), and the resource_modified
// rows of no resource.
func (db *DB) ModifiedMismatches(ctx context.Context) (int64, error) {
	var n int64
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM resources r
		FULL JOIN resource_modified m ON m.res_seq = r.seq
		WHERE r.seq IS NULL OR m.res_seq IS NULL
			OR m.tenant_id <> r.tenant_id OR m.last_modified <> r.last_modified`).Scan(&n)
	return n, err
}

// WithBatches sets how many batches of writes and of reads may run at
// once and functions run before each batch of writes and of reads is sent
// (nil: none).
func WithBatches(writes, reads int, beforeWrites, beforeReads func()) Option {
	return func(db *DB) {
		db.inFlight, db.beforeBatch = [2]int{writes, reads}, [2]func(){beforeWrites, beforeReads}
	}
}

// GroupCommitStats reports the batches of writes sent and the writes they
// carried, since Open.
func (db *DB) GroupCommitStats() (batches, writes int64) {
	return db.commits.batches.Load(), db.commits.items.Load()
}

// ReadStats reports the batches of reads sent and the reads they carried,
// since Open.
func (db *DB) ReadStats() (batches, reads int64) {
	return db.reads.batches.Load(), db.reads.items.Load()
}

// Queued reports how many writes and reads wait for a batch.
func (db *DB) Queued() (writes, reads int) {
	for i, b := range []*batcher{db.commits, db.reads} {
		b.mu.Lock()
		n := len(b.queue)
		b.mu.Unlock()
		if i == 0 {
			writes = n
		} else {
			reads = n
		}
	}
	return writes, reads
}

// HintStats reports the update hints' uses (hits), updates that found
// none (misses), and hints found stale, since Open.
func (db *DB) HintStats() (hits, misses, stale int64) {
	if db.hints == nil {
		return 0, 0, 0
	}
	db.hints.mu.Lock()
	defer db.hints.mu.Unlock()
	return db.hints.hits, db.hints.misses, db.hints.stale
}

// AnalyzeDue runs one check of the planner statistics (analyze.go) on a
// connection of the pool and returns how many ANALYZE statements it ran.
func (db *DB) AnalyzeDue(ctx context.Context) (int, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	return analyzeDue(ctx, conn.Conn())
}

// Analyzed returns how many ANALYZE statements the background check has
// run.
func (db *DB) Analyzed() int64 {
	if db.analyzer == nil {
		return 0
	}
	return db.analyzer.analyzed.Load()
}

// Reltuples returns pg_class.reltuples of table: the rows its last ANALYZE
// counted, -1 if none.
func (db *DB) Reltuples(ctx context.Context, table string) (float64, error) {
	var n float64
	err := db.pool.QueryRow(ctx, `SELECT reltuples::float8 FROM pg_class WHERE oid = to_regclass($1)`, table).Scan(&n)
	return n, err
}

// ExplainGenericGet returns EXPLAIN (ANALYZE, BUFFERS) of the generic plan
// of Get's statement (a User with its groups).
func (db *DB) ExplainGenericGet(ctx context.Context, tenant, id string) (string, error) {
	return db.explainGeneric(ctx, findSQL(true, ""), []any{tenant, id, scimd.TypeUser})
}

// ExplainGenericList returns EXPLAIN (ANALYZE, BUFFERS) of the generic plan
// of the statement that answers q in one round trip (listOneStatement).
func (db *DB) ExplainGenericList(ctx context.Context, tenant string, q *scimd.ListQuery) (string, error) {
	p, _, err := db.plan(ctx, tenant, q)
	if err != nil {
		return "", err
	}
	_, query, args := onePageQuery(q, p)
	return db.explainGeneric(ctx, query, args)
}

// explainGeneric prepares query, as the pool's connections do, and
// explains its execution with args under the plan a prepared statement
// gets once PostgreSQL stops planning it for each execution's arguments.
func (db *DB) explainGeneric(ctx context.Context, query string, args []any) (string, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Release()
	c := conn.Conn()
	if _, err := c.Exec(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
		return "", err
	}
	defer c.Exec(context.Background(), `RESET plan_cache_mode; DEALLOCATE scimd_generic`)
	if _, err := c.Exec(ctx, `PREPARE scimd_generic AS `+query); err != nil {
		return "", err
	}
	params := make([]string, len(args))
	for i := range args {
		params[i] = fmt.Sprintf("$%d", i+1)
	}
	// The simple protocol: pgx writes the arguments into the statement as
	// literals, which EXECUTE needs.
	rows, err := c.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) EXECUTE scimd_generic(`+strings.Join(params, ", ")+`)`,
		append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}

// Prepared returns how many of the statements prepared on the pool's
// connection (with one connection: the only one) contain text.
func (db *DB) Prepared(ctx context.Context, text string) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM pg_prepared_statements WHERE strpos(statement, $1) > 0`, text).Scan(&n)
	return n, err
}

// Resets is how often lost connections have reset the pool.
func (db *DB) Resets() int64 { return db.resets.Load() }
