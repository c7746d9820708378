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
	db.lists.mu.Lock()
	defer db.lists.mu.Unlock()
	db.lists.positions, db.lists.counts = nil, nil
}
