package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Group commit. Concurrent simple writes share one transaction: a
// pipeline of BEGIN, each one's statements and COMMIT, sent with one write
// and answered with one read, and one commit record to flush for all of
// them. Simple writes are a User's PATCH or PUT whose only write is the
// UPDATE of its row (with the read of its groups when asked) and creates
// of resources without members (one statement each). Each update keeps
// its own version check, so one that meets a concurrent change affects
// no row and leaves the others alone; it runs again on its own.
//
// A statement that fails (a create whose userName is taken, say) aborts
// the shared transaction, so then every write of the batch runs again on
// its own (the ordinary path), where each meets only its own error. An
// error whose outcome is unknown (the connection broke after the pipeline
// was sent) is returned to every write of the batch, as it would be to
// one alone. How batches form: batch.go.

// defaultInFlight is how many batches of writes one process may run at
// once. One measured best (PATCH at 10,000 users, concurrency 8, CPU per
// PATCH of PostgreSQL's processes: 108–114 µs with one, 117–135 with
// two, 135 with four, 135–150 with no batches; docs/benchmarks.md,
// "Session 7"): while a batch waits for its commit to be flushed, the
// next one gathers every write that arrives meanwhile.
const defaultInFlight = 1

// runWrites sends batch as one transaction and sets each write's own
// result; see batcher.run.
func (db *DB) runWrites(ctx context.Context, batch []*batchItem) error {
	gen := db.resets.Load()
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer conn.Release()
	// Rows are locked in one order in every batch, so two batches in
	// flight cannot deadlock (PostgreSQL would break the tie only after
	// deadlock_timeout, a second by default).
	slices.SortFunc(batch, func(a, b *batchItem) int { return cmp.Compare(a.seq, b.seq) })
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for _, w := range batch {
		w.queue(b)
	}
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	failed := func(err error) error {
		br.Close()
		// After a lost connection (a restart, a failover) the pool is
		// reset, so that the writes run again on their own, and the
		// next batches, get new connections (unavailable.go).
		db.lostConn(ctx, err, gen)
		var pe *pgconn.PgError
		if errors.As(err, &pe) || errors.Is(err, pgx.ErrTxCommitRollback) {
			// The server refused a statement and skipped the rest of
			// the pipeline, COMMIT included: nothing was committed.
			// Roll back the aborted transaction so that the connection
			// can go back to the pool (Release closes one left in a
			// transaction).
			if conn.Conn().PgConn().TxStatus() != 'I' {
				_, _ = conn.Exec(ctx, "ROLLBACK")
			}
			return errRunAlone
		}
		// The outcome is unknown (the connection failed): the writes may
		// have been committed, so none may run again.
		return err
	}
	if _, err := br.Exec(); err != nil {
		return failed(fmt.Errorf("postgres: begin: %w", err))
	}
	for _, w := range batch {
		w.err = w.read(br)
		if w.err != nil && w.err != errVersionRace {
			return failed(w.err)
		}
	}
	if err := checkCommit(br.Exec()); err != nil {
		return failed(err)
	}
	// The COMMIT's tag arrived: the writes are committed. An error
	// closing the pipeline (the connection lost before its last message,
	// as in a restart) changes nothing; the pool discards the connection.
	if err := br.Close(); err != nil {
		db.lostConn(ctx, err, gen)
	}
	return nil
}
