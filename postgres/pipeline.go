package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Pipelined reads. Concurrent single-statement reads (a GET of a
// resource; a page answered by one statement, as Okta's userName lookup
// is) go to the server together as one pipeline on one connection (how
// batches form: batch.go). Under load, most of scimd's CPU for such a
// read went to sending it: a write system call whose loopback delivery
// the kernel runs in the sender's time, then a wakeup for the answer.
//
// The statements of a pipeline form one implicit transaction, up to its
// Sync; at READ COMMITTED each still takes its own snapshot, so each read
// sees what it would alone. A statement that fails ends that transaction
// and the server skips the rest: every read of the batch that got no
// answer of its own (an error other than "no rows") then runs again on
// its own, where it meets only its own error. Reads change nothing, so
// running one again is always safe.

// readsInFlight is how many batches of reads one process may run at once.
const readsInFlight = 2

// runReads sends batch as one pipeline and sets each read's result; see
// batcher.run.
func (db *DB) runReads(ctx context.Context, batch []*batchItem) error {
	gen := db.resets.Load()
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: read: %w", err)
	}
	defer conn.Release()
	b := &pgx.Batch{}
	for _, it := range batch {
		it.queue(b)
	}
	br := conn.SendBatch(ctx, b)
	for _, it := range batch {
		it.err = it.read(br)
	}
	br.Close()
	for _, it := range batch {
		if it.err != nil && !errors.Is(it.err, pgx.ErrNoRows) {
			// A lost connection resets the pool first, so that the
			// reads run again on new connections (unavailable.go).
			db.lostConn(ctx, it.err, gen)
			it.err = errRunAlone
		}
	}
	return nil
}

// query runs a single-statement read and hands its rows to read, which
// must close them and may be called up to three times (it must start
// over): pipelined, then on its own, then once more on a new connection
// if that lost its own.
func (db *DB) query(ctx context.Context, read func(pgx.Rows, error) error, sql string, args ...any) error {
	if db.reads != nil {
		err := db.reads.do(ctx, &batchItem{
			queue: func(b *pgx.Batch) { b.Queue(sql, args...) },
			read:  func(br pgx.BatchResults) error { return read(br.Query()) },
		})
		if err != errRunAlone {
			return err
		}
	}
	return db.readAgain(ctx, func() error { return read(db.pool.Query(ctx, sql, args...)) })
}

// readAgain runs a read of its own, and once more on a new connection if
// the first attempt lost its own (unavailable.go).
func (db *DB) readAgain(ctx context.Context, run func() error) error {
	gen := db.resets.Load()
	err := run()
	if db.lostConn(ctx, err, gen) {
		err = run()
	}
	return err
}

// queryRow is pgxpool.Pool.QueryRow for a single-statement read: its Scan
// runs the statement, pipelined with concurrent reads, and once more on a
// new connection if the first lost its own.
func (db *DB) queryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return lazyRow{db: db, ctx: ctx, sql: sql, args: args}
}

// readRow is queryRow without the pipeline: a read of its own, run once
// more on a new connection if the first lost its own.
func (db *DB) readRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return lazyRow{db: db, ctx: ctx, sql: sql, args: args, alone: true}
}

// lazyRow is the row of queryRow and readRow: Scan runs its statement,
// pipelined with concurrent reads unless alone, on its own if the pipeline
// failed, and once more on a new connection if that lost its own.
type lazyRow struct {
	db    *DB
	ctx   context.Context
	sql   string
	args  []any
	alone bool // not pipelined
}

func (r lazyRow) Scan(dest ...any) error {
	if r.db.reads != nil && !r.alone {
		err := r.db.reads.do(r.ctx, &batchItem{
			queue: func(b *pgx.Batch) { b.Queue(r.sql, r.args...) },
			read:  func(br pgx.BatchResults) error { return br.QueryRow().Scan(dest...) },
		})
		if err != errRunAlone {
			return err
		}
	}
	return r.db.readAgain(r.ctx, func() error { return r.db.pool.QueryRow(r.ctx, r.sql, r.args...).Scan(dest...) })
}
