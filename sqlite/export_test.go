package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/scimd/scimd"
)

// BulkCreate creates resources in one transaction (test and benchmark
// datasets).
func (db *DB) BulkCreate(ctx context.Context, tenant string, rs []*scimd.Resource) ([]*scimd.Resource, error) {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	out := make([]*scimd.Resource, 0, len(rs))
	for _, r := range rs {
		rt, err := db.resourceType(r.Type)
		if err != nil {
			return nil, err
		}
		c, err := tx.createResource(ctx, tenant, rt, r)
		if err != nil {
			return nil, fmt.Errorf("bulk create: %w", err)
		}
		out = append(out, c)
	}
	return out, tx.Commit()
}

// Explain returns EXPLAIN QUERY PLAN of the list query for q.
func (db *DB) Explain(ctx context.Context, tenant string, q *scimd.ListQuery) (string, error) {
	plan, _, err := db.explainPage(ctx, tenant, q, nil)
	return plan, err
}

// ExplainPage returns EXPLAIN QUERY PLAN and the SQL of the page query of
// q read after position at (nil: OFFSET from q.StartIndex).
func (db *DB) ExplainPage(ctx context.Context, tenant string, q *scimd.ListQuery, at *scimd.PageKey) (plan, query string, err error) {
	return db.explainPage(ctx, tenant, q, at)
}

// ListStats reports how many index pages were read by a keyset seek from a
// cached position and how many with OFFSET from the start, and how many totals were counted, since Open.
func (db *DB) ListStats() (seeks, offsets, counted int64) {
	return db.lists.seeks.Load(), db.lists.offsets.Load(), db.lists.counted.Load()
}

// LogCountStats reports how many counts of filters on meta.lastModified
// alone were made from the resource_modified log's rows alone (no stale
// rows), found to reach their limit from the log's rows alone, and made
// joining the log to the resources, since Open.
func (db *DB) LogCountStats() (exact, bound, checked int64) {
	return db.lists.logExact.Load(), db.lists.logBound.Load(), db.lists.logChecked.Load()
}

// PruneModifiedChunk prunes the first chunk of the resource_modified log
// only (a pass interrupted after one chunk) and returns how many rows it
// deleted.
func (db *DB) PruneModifiedChunk(ctx context.Context) (int, error) {
	n, _, err := db.pruneChunk(ctx, nil)
	return n, err
}

// ResetListCache forgets every cached paging position and count.
func (db *DB) ResetListCache() {
	db.lists.positions.Reset()
	db.lists.mu.Lock()
	defer db.lists.mu.Unlock()
	db.lists.counts = lru[countEntry]{}
}

// WriteStats returns the number of committed write batches and of the
// operations they committed.
func (db *DB) WriteStats() (batches, ops int64) {
	return db.wstats.batches.Load(), db.wstats.ops.Load()
}

// PendingTrigrams returns how many resources wait for the trigram indexer.
func (db *DB) PendingTrigrams(ctx context.Context) (int, error) {
	var n int
	err := db.queryRow(ctx, `SELECT count(*) FROM trgm_pending`).Scan(&n)
	return n, err
}

// Checkpoints returns how many background checkpoints have run.
func (db *DB) Checkpoints() int64 {
	if db.ckpt == nil {
		return 0
	}
	return db.ckpt.runs.Load()
}

// Checkpoint triggers (checkpoint.go).
const (
	CheckpointEveryOps      = ckptEveryOps
	CheckpointBackstopPages = ckptBackstopPages
)

// StopTrigramIndexer stops the background trigram indexer (IndexTrigrams
// still works).
func (db *DB) StopTrigramIndexer() { db.stopTrigramIndexer() }

// IndexTrigrams runs the trigram indexer until nothing is pending and
// returns how many resources it indexed.
func (db *DB) IndexTrigrams(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := db.indexTrigrams(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// PruneModified runs one pruning pass over the resource_modified log and
// returns how many rows it deleted.
func (db *DB) PruneModified(ctx context.Context) (int, error) { return db.pruneModified(ctx) }

// ModifiedLog reports how many resources lack the resource_modified row
// of their current lastModified (the invariant the filters rely on: 0),
// and how many rows the log holds beyond one per resource (stale rows).
func (db *DB) ModifiedLog(ctx context.Context) (missing, stale int, err error) {
	err = db.queryRow(ctx, `SELECT
		(SELECT count(*) FROM resources r WHERE NOT EXISTS (SELECT 1 FROM resource_modified lm
			WHERE lm.tenant_id = r.tenant_id AND lm.type = r.type AND lm.last_modified = r.last_modified AND lm.res_seq = r.seq)),
		(SELECT count(*) FROM resource_modified) - (SELECT count(*) FROM resources)`).Scan(&missing, &stale)
	return missing, stale, err
}

// CheckStaleCounts returns an error naming the tenants whose count of
// stale log rows (tenant_changes.stale, migration 0007) differs from the
// log's rows minus the tenant's resources.
func (db *DB) CheckStaleCounts(ctx context.Context) error {
	rows, err := db.query(ctx, `WITH t(tenant_id) AS (
			SELECT tenant_id FROM tenant_changes UNION SELECT tenant_id FROM resources
			UNION SELECT tenant_id FROM resource_modified)
		SELECT t.tenant_id, (SELECT stale FROM tenant_changes c WHERE c.tenant_id = t.tenant_id),
			(SELECT count(*) FROM resource_modified lm WHERE lm.tenant_id = t.tenant_id) -
			(SELECT count(*) FROM resources r WHERE r.tenant_id = t.tenant_id)
		FROM t`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var wrong []string
	for rows.Next() {
		var tenant string
		var counted sql.NullInt64
		var actual int64
		if err := rows.Scan(&tenant, &counted, &actual); err != nil {
			return err
		}
		// A tenant without a counter row must have no log rows.
		if counted.Int64 != actual || (!counted.Valid && actual != 0) {
			wrong = append(wrong, fmt.Sprintf("%s: counted %v, actual %d", tenant, counted, actual))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(wrong) > 0 {
		return fmt.Errorf("tenant_changes.stale is wrong: %v", wrong)
	}
	return nil
}

// AnalyzeIfStale runs one check of the planner statistics (analyze.go).
func (db *DB) AnalyzeIfStale(ctx context.Context) (bool, error) { return db.analyzeIfStale(ctx) }

// AnalyzeRuns returns how many ANALYZEs the statistics check has run.
func (db *DB) AnalyzeRuns() int64 { return db.stats.runs.Load() }

// WithAnalyzeInterval sets how often the statistics check runs.
func WithAnalyzeInterval(d time.Duration) Option { return func(db *DB) { db.stats.interval = d } }

// SetMaxPageCount sets PRAGMA max_page_count on the writer connection, so
// that a test can fill the database as a full disk would; 0 sets it to
// the pages in use plus extra. It returns the limit set.
func (db *DB) SetMaxPageCount(ctx context.Context, limit, extra int) (int, error) {
	if limit == 0 {
		if err := db.writer.QueryRowContext(ctx, "PRAGMA page_count").Scan(&limit); err != nil {
			return 0, err
		}
		limit += extra
	}
	var got int
	err := db.writer.QueryRowContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", limit)).Scan(&got)
	return got, err
}

// IntegrityCheck runs PRAGMA integrity_check on the writer connection.
func (db *DB) IntegrityCheck(ctx context.Context) (string, error) {
	var s string
	err := db.writer.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&s)
	return s, err
}
