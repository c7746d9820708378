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
