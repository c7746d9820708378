package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Batches of concurrent requests' statements, sent as one pipeline: the
// group commit of simple writes (groupcommit.go) and the pipelining of
// single-statement reads (pipeline.go). Sending a pipeline costs a write
// system call, and on loopback the kernel's delivery of it to the server;
// answering costs a wakeup and a read: shared by every statement in it.
//
// Batches form only under load. An item arriving while fewer than
// maxInFlight batches run starts one at once with whatever is queued
// (usually itself); otherwise it queues, and the next batch to finish
// hands the whole queue to the first item in it, whose goroutine sends
// it. So a lone request waits for nothing, and at concurrency c a batch
// carries up to about c / maxInFlight items.

// errRunAlone tells an item of a failed batch to run on its own.
var errRunAlone = errors.New("postgres: batch failed; run on its own")

// batchItem is one request's statements waiting in a batcher.
type batchItem struct {
	seq   int64                           // of the row a write updates (0: a create); writes lock rows in seq order
	queue func(b *pgx.Batch)              // its statements
	read  func(br pgx.BatchResults) error // their results, in order

	wake chan struct{} // a result, or a batch to lead
	lead []*batchItem  // the batch to send, when woken to lead
	err  error         // the result; errRunAlone: run on your own
}

// batcher gathers batchItems into batches and sends each with run.
type batcher struct {
	maxInFlight int
	// run sends a batch and sets each item's result; a non-nil error is
	// every item's result instead.
	run         func(ctx context.Context, batch []*batchItem) error
	beforeBatch func() // tests: runs before each batch is sent

	mu       sync.Mutex
	queue    []*batchItem
	inFlight int

	batches, items atomic.Int64 // for tests and tuning
}

// do runs it in a batch and returns its result.
func (c *batcher) do(ctx context.Context, it *batchItem) error {
	it.wake = make(chan struct{}, 1)
	c.mu.Lock()
	c.queue = append(c.queue, it)
	if c.inFlight < c.maxInFlight {
		c.inFlight++
		c.handOff()
	}
	c.mu.Unlock()
	for {
		<-it.wake
		if it.lead == nil {
			return it.err
		}
		batch := it.lead
		it.lead = nil
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

// handOff gives the queue to its first item to send; c.mu is held.
func (c *batcher) handOff() {
	batch := c.queue
	c.queue = nil
	batch[0].lead = batch
	batch[0].wake <- struct{}{}
}

// send runs one batch and wakes each of its items with its result (the
// leader's own result comes through its wake channel as well). The batch
// runs to its end even if the leader's request is cancelled: it carries
// other requests too.
func (c *batcher) send(ctx context.Context, batch []*batchItem) {
	if c.beforeBatch != nil {
		c.beforeBatch()
	}
	err := c.runSafely(context.WithoutCancel(ctx), batch)
	c.batches.Add(1)
	c.items.Add(int64(len(batch)))
	for _, it := range batch {
		if err != nil {
			it.err = err
		}
		it.wake <- struct{}{}
	}
}

// runSafely is run, with a panic turned into every item's error: the
// items of the batch wait for it, and so does every later request while
// it holds its place among the batches in flight.
func (c *batcher) runSafely(ctx context.Context, batch []*batchItem) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("postgres: batch: panic: %v", p)
		}
	}()
	return c.run(ctx, batch)
}
