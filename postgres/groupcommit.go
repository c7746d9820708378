package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

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
// its own (the ordinary path), where each meets only its own error. An error whose outcome is unknown
// (the connection broke, the context ended after the pipeline was sent)
// is returned to every update of the batch, as it would be to one alone.
//
// Batches form only under load. An update arriving while fewer than
// maxInFlight batches run (by default one) starts one at once with
// whatever is queued (usually itself); otherwise it queues, and the next
// batch to finish hands the whole queue to the first update in it, which
// sends it. So a lone request waits for nothing, and at concurrency c a
// batch carries up to about c updates.

// errRunAlone tells an update of a failed batch to run on its own.
var errRunAlone = errors.New("postgres: batch failed; run the update on its own")

// groupedWrite is one update waiting in the group committer.
type groupedWrite struct {
	seq   int64                           // of the row it updates (0: a create): batches lock rows in seq order
	queue func(b *pgx.Batch)              // its statements
	read  func(br pgx.BatchResults) error // their results, in order

	wake chan struct{}   // a result, or a batch to lead
	lead []*groupedWrite // the batch to send, when woken to lead
	err  error           // the result: nil, errVersionRace, errRunAlone or another error
}

// committer batches groupedWrites; see above.
type committer struct {
	db          *DB
	maxInFlight int
	beforeBatch func() // tests: runs before each batch is sent

	mu       sync.Mutex
	queue    []*groupedWrite
	inFlight int

	batches, writes atomic.Int64 // for tests and tuning
}

// defaultInFlight is how many batches of one process may run at once.
// One measured best (PATCH at 10,000 users, concurrency 8, CPU per
// PATCH of PostgreSQL's processes: 108–114 µs with one, 117–135 with
// two, 135 with four, 135–150 with no batches; docs/benchmarks.md,
// "Session 7"): while a batch waits for its commit to be flushed, the
// next one gathers every update that arrives meanwhile.
const defaultInFlight = 1

// do runs w in a batch and returns its result.
func (c *committer) do(ctx context.Context, w *groupedWrite) error {
	w.wake = make(chan struct{}, 1)
	c.mu.Lock()
	c.queue = append(c.queue, w)
	if c.inFlight < c.maxInFlight {
		c.inFlight++
		c.handOff()
	}
	c.mu.Unlock()
	for {
		<-w.wake
		if w.lead == nil {
			return w.err
		}
		batch := w.lead
		w.lead = nil
		c.send(ctx, batch)
		c.mu.Lock()
		if len(c.queue) > 0 {
			c.handOff()
		} else {
			c.inFlight--
		}
		c.mu.Unlock()
	}
}

// handOff gives the queue to its first write to send; c.mu is held.
func (c *committer) handOff() {
	batch := c.queue
	c.queue = nil
	batch[0].lead = batch
	batch[0].wake <- struct{}{}
}

// send runs one batch and wakes each of its writes with its result (the
// leader's own result comes through its wake channel as well).
func (c *committer) send(ctx context.Context, batch []*groupedWrite) {
	if c.beforeBatch != nil {
		c.beforeBatch()
	}
	err := c.runSafely(context.WithoutCancel(ctx), batch)
	c.batches.Add(1)
	c.writes.Add(int64(len(batch)))
	for _, w := range batch {
		if err != nil {
			w.err = err
		}
		w.wake <- struct{}{}
	}
}

// runSafely is run, with a panic turned into every write's error: the
// writes of the batch wait for it, and so does every later update while
// it holds its place among the batches in flight.
func (c *committer) runSafely(ctx context.Context, batch []*groupedWrite) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("postgres: group commit: panic: %v", p)
		}
	}()
	return c.run(ctx, batch)
}

// run sends batch as one transaction and sets each write's own result. It
// returns a non-nil error when that is every write's result instead.
func (c *committer) run(ctx context.Context, batch []*groupedWrite) error {
	conn, err := c.db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer conn.Release()
	// Rows are locked in one order in every batch, so two batches in
	// flight cannot deadlock (PostgreSQL would break the tie only after
	// deadlock_timeout, a second by default).
	slices.SortFunc(batch, func(a, b *groupedWrite) int { return cmp.Compare(a.seq, b.seq) })
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for _, w := range batch {
		w.queue(b)
	}
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	failed := func(err error) error {
		br.Close()
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
	if err := br.Close(); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}
