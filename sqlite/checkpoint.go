package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Checkpoints off the write path.
//
// In WAL mode a commit appends pages to the -wal file, and a checkpoint
// copies them back into the database file, then fsyncs the WAL and the
// database (with synchronous=NORMAL these are the only fsyncs). SQLite's
// default runs a checkpoint inside the COMMIT that takes the WAL past 1,000
// pages, on the committing connection. Here that is the one writer
// connection, so every write of the group commit waited for it, and 1,000
// pages is small for a store whose hot pages (the tail of the
// last_modified index, the change counter, the rows being worked on) are
// rewritten by almost every commit: each checkpoint copied them again,
// with its two fsyncs. Measured on PATCH of 10,000 users on one core:
// the checkpoint was 11 % of the CPU, and moving to 10,000 pages alone
// raised throughput by 15–35 % and cut p99 from ~10 to ~4.5 ms, but made
// every tenth-of-a-second commit wait ~50 ms for its checkpoint.
//
// So the writer connection's automatic checkpoint starts at
// ckptBackstopPages, and a goroutine with a connection of its own runs a
// PASSIVE checkpoint once ckptEveryOps writes have committed since the
// last one, and every ckptInterval while any has. A PASSIVE checkpoint
// takes no lock that the writer or the readers wait for: the writer keeps
// appending to the WAL meanwhile, and the readers keep their snapshots (it
// copies only what no reader still needs; the rest goes at the next one).
// It cannot rewind the WAL, though: SQLite starts the WAL file over only
// when a write transaction begins after a checkpoint that copied every
// frame, which under a steady stream of writes never happens. There the
// writer's own checkpoint at ckptBackstopPages still runs and rewinds it,
// but finds most of the WAL copied already. The interval also
// bounds how long a commit stays without fsync with synchronous=NORMAL
// (what a power loss could take; see docs/durability.md): about a second,
// where the page-count trigger left a lightly written database unsynced
// until 1,000 pages had accumulated.
const (
	ckptBackstopPages = 10000
	ckptEveryOps      = 2000
	ckptInterval      = time.Second
)

// checkpointer runs the background checkpoints of a file database.
type checkpointer struct {
	conn *sql.DB       // one connection of its own
	kick chan struct{} // a checkpoint is due (buffered: one pending kick)
	stop chan struct{}
	done chan struct{}
	runs atomic.Int64 // checkpoints run (tests)
}

// startCheckpointer opens the checkpoint connection and starts the
// goroutine; stopCheckpointer (from Close) ends both.
func (db *DB) startCheckpointer() error {
	conn, err := sql.Open("sqlite", db.dsn("deferred"))
	if err != nil {
		return fmt.Errorf("sqlite: open checkpointer: %w", err)
	}
	conn.SetMaxOpenConns(1)
	conn.SetMaxIdleConns(1)
	conn.SetConnMaxLifetime(0)
	conn.SetConnMaxIdleTime(0)
	c := &checkpointer{conn: conn, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	db.ckpt = c
	go func() {
		defer close(c.done)
		t := time.NewTicker(ckptInterval)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-c.kick:
			case <-t.C:
				if db.ckptOps.Load() == 0 {
					continue
				}
			}
			db.ckptOps.Store(0)
			if err := c.checkpoint(context.Background()); err != nil {
				slog.Warn("sqlite: checkpoint", "err", err)
			}
		}
	}()
	return nil
}

// checkpoint runs one PASSIVE checkpoint.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	var busy, log, done int
	if err := c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done); err != nil {
		return fmt.Errorf("wal_checkpoint: %w", err)
	}
	c.runs.Add(1)
	return nil
}

// committed tells the checkpointer that n more writes have committed.
func (db *DB) committed(n int) {
	if db.ckpt == nil {
		return
	}
	if db.ckptOps.Add(int64(n)) >= ckptEveryOps {
		select {
		case db.ckpt.kick <- struct{}{}:
		default: // one is pending already
		}
	}
}

// stopCheckpointer stops the goroutine and closes its connection.
func (db *DB) stopCheckpointer() error {
	c := db.ckpt
	if c == nil {
		return nil
	}
	close(c.stop)
	<-c.done
	db.ckpt = nil
	return c.conn.Close()
}
