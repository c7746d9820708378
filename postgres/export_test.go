package postgres

import (
	"context"

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

// WithGroupCommit sets how many batches of the group committer may run at
// once and a function run before each batch is sent (nil: none).
func WithGroupCommit(inFlight int, beforeBatch func()) Option {
	return func(db *DB) { db.inFlight, db.beforeBatch = inFlight, beforeBatch }
}

// GroupCommitStats reports the batches the group committer sent and the
// updates they carried, since Open.
func (db *DB) GroupCommitStats() (batches, writes int64) {
	return db.commits.batches.Load(), db.commits.writes.Load()
}

// GroupCommitQueued reports how many updates wait for a batch.
func (db *DB) GroupCommitQueued() int {
	db.commits.mu.Lock()
	defer db.commits.mu.Unlock()
	return len(db.commits.queue)
}
