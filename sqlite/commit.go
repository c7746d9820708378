package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
)

// Group commit.
//
// SQLite has one writer, and a commit costs far more than the statements
// of a small write: BEGIN IMMEDIATE, appending every dirty page to the WAL
// (the resource row, its indexes, the per-tenant change counter and count
// rows the triggers of migration 0002 maintain), and with synchronous=FULL
// an fsync. So the writes that queue up while one transaction runs share
// the next one.
//
// beginWrite queues an operation for the writer loop (one goroutine per
// DB) and waits. The loop takes the first queued operation and begins a
// transaction (BEGIN IMMEDIATE on the writer connection); for each
// operation it opens a savepoint, hands the caller its Tx, and waits for the
// caller's Commit (RELEASE) or Rollback (ROLLBACK TO, RELEASE: the operation
// leaves no trace and the others are not affected). The first operation of
// a transaction needs no savepoint: its rollback is the transaction's. It
// then takes the next operation already queued, without waiting for more
// (but after yielding the processor once; see runBatch): a lone write commits
// at once, and under load a batch holds whatever arrived while the previous
// one ran, at most maxBatch operations. After the last, COMMIT; then, in
// operation order, each kept operation's afterCommit hooks run and its
// Commit returns. If COMMIT fails, every operation of the batch gets the
// error. So a Commit that returns nil means the operation is committed, and
// any error means it left nothing behind, as with one transaction per write.
//
// The statements of an operation run on the caller's goroutine, in the
// order it issues them, as before; the loop only brackets them. An
// operation's statements do not observe its caller's cancellation:
// cancelling a statement interrupts SQLite, and an interrupted INSERT,
// UPDATE or DELETE rolls back the whole transaction, which holds the other
// operations of the batch. Instead an operation whose context is done
// before it starts is skipped, and one whose context is done when it
// commits is rolled back; both return the context's error.
//
// afterCommit hooks run on the loop, between batches: they must be quick.
//
// A panic between beginWrite and Commit unwinds through the caller's
// deferred Rollback, which rolls the operation back; the loop never runs
// caller code other than afterCommit hooks, and a hook that panics has its
// panic re-raised in its caller's Commit (the operation is committed).

// maxBatch bounds the operations of one transaction, so that the first
// operation of a long queue does not wait for all of it.
const maxBatch = 64

// States of a writeOp; the caller (giving up while queued) and the loop
// (starting it) race for the move out of opQueued.
const (
	opQueued int32 = iota
	opRunning
	opAbandoned
)

// writeOp is one write transaction of a caller.
type writeOp struct {
	ctx   context.Context // the caller's: checked before the op starts and at its commit
	run   context.Context // ctx without its cancellation: the op's statements run under it
	state atomic.Int32
	tx    *Tx           // set by the loop before it replies the first time
	reply chan opResult // loop → caller: first whether the op started, then (after Commit) its outcome
	end   chan bool     // caller → loop: true to keep the op (Commit), false to roll it back
}

// opResult is what the loop tells a caller.
type opResult struct {
	err   error
	panic any // an afterCommit hook's panic, re-raised by Commit
}

// writeQueueLen is the capacity of the queue to the writer loop; callers
// beyond it wait to enqueue, which changes nothing but where they wait.
const writeQueueLen = 256

// startWriter starts the writer loop; stopWriter (from Close) stops it.
func (db *DB) startWriter() {
	db.wq = make(chan *writeOp, writeQueueLen)
	db.wdone = make(chan struct{})
	go db.writeLoop()
}

// stopWriter lets the loop run every queued operation, then waits for it
// to exit. Later beginWrites fail.
func (db *DB) stopWriter() {
	if db.wq == nil {
		return
	}
	db.wmu.Lock()
	if !db.wclosed {
		db.wclosed = true
		close(db.wq)
	}
	db.wmu.Unlock()
	<-db.wdone
}

// errWriterClosed is returned by writes after Close.
var errWriterClosed = errors.New("database is closed")

// beginWrite queues a write transaction and returns it once the writer
// loop has started it. The caller must end it with Commit or Rollback
// (defer tx.Rollback() right away): until then the writer waits for it.
func (db *DB) beginWrite(ctx context.Context) (*Tx, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: begin write: %w", err)
	}
	op := &writeOp{ctx: ctx, run: context.WithoutCancel(ctx), reply: make(chan opResult, 1), end: make(chan bool, 1)}
	if err := db.enqueue(ctx, op); err != nil {
		return nil, fmt.Errorf("sqlite: begin write: %w", err)
	}
	var r opResult
	select {
	case r = <-op.reply:
	case <-ctx.Done():
		if op.state.CompareAndSwap(opQueued, opAbandoned) {
			return nil, fmt.Errorf("sqlite: begin write: %w", ctx.Err())
		}
		r = <-op.reply // the loop started it first: take its answer
	}
	if r.err != nil {
		return nil, fmt.Errorf("sqlite: begin write: %w", r.err)
	}
	return op.tx, nil
}

func (db *DB) enqueue(ctx context.Context, op *writeOp) error {
	db.wmu.RLock()
	defer db.wmu.RUnlock()
	if db.wclosed {
		return errWriterClosed
	}
	select {
	case db.wq <- op:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writeLoop runs batches until the queue is closed and empty.
func (db *DB) writeLoop() {
	defer close(db.wdone)
	var carry []*writeOp // taken from the queue but not run by a batch that broke off
	for {
		if len(carry) == 0 {
			op, ok := <-db.wq
			if !ok {
				return
			}
			carry = append(carry, op)
		}
		carry = db.runBatch(carry)
	}
}

// runBatch runs the operations of carry, then those waiting in the queue,
// in one transaction, and answers them. It returns the operations it took
// but did not run (only when the transaction broke).
func (db *DB) runBatch(carry []*writeOp) []*writeOp {
	// Let the goroutines that are ready to run (not waiting for anything
	// else) queue their writes before the batch starts. Without this, on
	// one P the loop and the caller it answers hand the processor back
	// and forth (each readies the other as runnext) and the writers the
	// last COMMIT woke never run before the next batch begins: batches
	// of one. Gosched waits for nothing else: with nothing runnable it
	// returns at once.
	runtime.Gosched()
	next := func() *writeOp {
		if len(carry) > 0 {
			op := carry[0]
			carry = carry[1:]
			return op
		}
		select {
		case op, ok := <-db.wq:
			if ok {
				return op
			}
		default:
		}
		return nil
	}
	var (
		tx   *sql.Tx
		kept []*writeOp // released, waiting for COMMIT
	)
	for ran := 0; ran < maxBatch; {
		op := next()
		if op == nil {
			break
		}
		if !op.state.CompareAndSwap(opQueued, opRunning) {
			continue // its caller gave up
		}
		if err := op.ctx.Err(); err != nil {
			op.reply <- opResult{err: err}
			continue
		}
		if tx == nil {
			// Not the caller's context: cancelling that would roll
			// back the whole batch.
			t, err := db.writer.BeginTx(context.Background(), nil)
			if err != nil {
				op.reply <- opResult{err: err}
				continue
			}
			tx = t
		}
		ran++
		keep, ended, err := db.runOp(tx, op, len(kept) == 0)
		if ended {
			tx = nil // rolled back with the only operation in it
			continue
		}
		if err != nil {
			// The transaction is unusable (SQLite rolls back the whole
			// transaction on some errors, such as a full disk): what
			// the batch did so far is lost.
			_ = tx.Rollback()
			for _, k := range kept {
				k.reply <- opResult{err: fmt.Errorf("write batch rolled back: %w", err)}
			}
			return carry
		}
		if keep {
			kept = append(kept, op)
		}
	}
	if tx == nil {
		return carry
	}
	if err := tx.Commit(); err != nil {
		// A COMMIT that fails (a deferred constraint, SQLITE_BUSY) can
		// leave the transaction open on the connection, where every later
		// BEGIN would fail: end it (an error just means nothing was open).
		_, _ = db.writer.ExecContext(context.Background(), "ROLLBACK")
		for _, op := range kept {
			op.reply <- opResult{err: err}
		}
		return carry
	}
	db.wstats.batches.Add(1)
	db.wstats.ops.Add(int64(len(kept)))
	db.committed(len(kept))
	db.pruner.writes.Add(int64(len(kept)))
	for _, op := range kept {
		op.reply <- op.tx.runHooks()
	}
	return carry
}

// runOp runs one operation in tx: it hands the caller its Tx and waits for
// the end. keep reports a kept operation (answered after COMMIT); every
// other outcome is answered here. alone says that tx holds no kept
// operation: then the operation runs without a savepoint, and its rollback
// is the transaction's (ended). Most writes are alone when the server is
// not busy, and a savepoint is not free: SQLite copies every page the
// operation changes to a sub-journal, a temporary file, so that it can
// roll back to it; a lone create cost a third more CPU with one. A non-nil
// broken means tx can no longer be used.
func (db *DB) runOp(tx *sql.Tx, op *writeOp, alone bool) (keep, ended bool, broken error) {
	ctx := context.Background()
	if !alone {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
			op.reply <- opResult{err: fmt.Errorf("savepoint: %w", err)}
			return false, false, err
		}
	}
	op.tx = &Tx{Tx: tx, db: db, cache: db.wstmts, now: db.Now().UTC(), op: op}
	op.reply <- opResult{}
	commit := <-op.end
	var answer error // for a Commit that is turned into a rollback
	if commit {
		if err := op.ctx.Err(); err != nil {
			commit, answer = false, err
		}
	}
	if commit {
		if !alone {
			if _, err := tx.ExecContext(ctx, "RELEASE op"); err != nil {
				op.reply <- opResult{err: err}
				return false, false, err
			}
		}
		return true, false, nil
	}
	if answer != nil {
		defer func() { op.reply <- opResult{err: answer} }()
	}
	if alone {
		// Nothing else is in tx; database/sql ends it even if ROLLBACK
		// fails, and the next operation begins a new one.
		_ = tx.Rollback()
		return false, true, nil
	}
	_, err := tx.ExecContext(ctx, "ROLLBACK TO op")
	if err == nil {
		_, err = tx.ExecContext(ctx, "RELEASE op")
	}
	if err != nil {
		return false, false, fmt.Errorf("roll back to savepoint: %w", err)
	}
	return false, false, nil
}

// runHooks runs tx's afterCommit hooks, in order, catching a panic so that
// it reaches the caller rather than the writer loop.
func (tx *Tx) runHooks() (r opResult) {
	defer func() {
		if p := recover(); p != nil {
			r.panic = p
		}
	}()
	hooks := tx.hooks
	tx.hooks = nil
	for _, f := range hooks {
		f()
	}
	return r
}
