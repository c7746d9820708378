package sqlite

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// The trigram tables of migration 0005 (resources_trgm, emails_trgm) are
// kept off the write path: triggers list the resources whose indexed text
// may have changed in trgm_pending, and indexTrigrams re-indexes them in
// batches. Writing FTS5 inside every write cost ~40 % of a create's CPU
// (FTS5 flushes a segment at each SAVEPOINT and COMMIT); in batches, one
// flush serves thousands of rows.
//
// Exactness: the trigram tables are only a prefilter (the compiled SQL
// keeps the exact LIKE), so a stale entry can only let through a row the
// LIKE then drops; a missing one could hide a match. So a query that uses
// them first indexes everything pending (syncTrigrams): every write
// acknowledged before the query began was committed, hence is in
// trgm_pending or already indexed, and is indexed before the query reads.
// Writes committed while the query runs may or may not be seen, as with
// any concurrent write.

const (
	// trigramChunk bounds the pending rows one indexing transaction
	// handles, so that it holds the single writer only briefly.
	trigramChunk = 2000
	// trigramInterval is how often the background indexer looks for
	// pending rows.
	trigramInterval = time.Second
)

// trigramIndexer runs indexTrigrams in the background until stopped.
type trigramIndexer struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex // serialises indexing batches (background and syncTrigrams)
}

// startTrigramIndexer starts the background indexer; Close stops it.
func (db *DB) startTrigramIndexer() {
	db.trgm.stop = make(chan struct{})
	db.trgm.done = make(chan struct{})
	go func() {
		defer close(db.trgm.done)
		t := time.NewTicker(trigramInterval)
		defer t.Stop()
		for {
			select {
			case <-db.trgm.stop:
				return
			case <-t.C:
			}
			// Bounded per tick, so that stopping never waits long.
			for range 16 {
				n, err := db.indexTrigrams(context.Background())
				if err != nil {
					slog.Warn("sqlite: indexing trigrams", "err", err)
					break
				}
				if n < trigramChunk {
					break
				}
			}
		}
	}()
}

// stopTrigramIndexer stops the background indexer and waits for it.
func (db *DB) stopTrigramIndexer() {
	if db.trgm.stop == nil {
		return
	}
	close(db.trgm.stop)
	<-db.trgm.done
	db.trgm.stop = nil
}

// usesTrigrams reports whether the plan's queries read a trigram table.
func (p *listPlan) usesTrigrams() bool {
	return p.driver != "" || strings.Contains(p.Where, "_trgm")
}

// syncTrigrams indexes every pending row, chunk by chunk, before a query
// that reads the trigram tables.
func (db *DB) syncTrigrams(ctx context.Context) error {
	for {
		var pending bool
		if err := db.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM trgm_pending)`).Scan(&pending); err != nil {
			return fmt.Errorf("sqlite: trigram index: %w", err)
		}
		if !pending {
			return nil
		}
		if _, err := db.indexTrigrams(ctx); err != nil {
			return err
		}
	}
}

// indexTrigrams re-indexes up to trigramChunk pending rows in one write
// transaction and returns how many it handled.
func (db *DB) indexTrigrams(ctx context.Context) (int, error) {
	db.trgm.mu.Lock()
	defer db.trgm.mu.Unlock()
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	// The same chunk in every statement: nothing else writes trgm_pending
	// inside this transaction.
	const chunk = `SELECT seq FROM trgm_pending ORDER BY seq LIMIT ?`
	for _, q := range []string{
		`DELETE FROM resources_trgm WHERE rowid IN (` + chunk + `)`,
		`INSERT INTO resources_trgm (rowid, name_lc)
			SELECT r.seq, r.name_lc FROM resources r WHERE r.seq IN (` + chunk + `) AND r.name_lc IS NOT NULL`,
		`DELETE FROM emails_trgm WHERE rowid IN (` + chunk + `)`,
		`INSERT INTO emails_trgm (rowid, value_lc)
			SELECT v.res_seq, group_concat(v.value_lc, char(10))
			FROM (SELECT seq, tenant_id FROM trgm_pending ORDER BY seq LIMIT ?) p
			JOIN value_index v ON v.tenant_id = p.tenant_id AND v.res_seq = p.seq AND v.attr = 'emails'
			GROUP BY v.res_seq`,
	} {
		if _, err := tx.ExecContext(ctx, q, trigramChunk); err != nil {
			return 0, fmt.Errorf("sqlite: trigram index: %w", err)
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM trgm_pending WHERE seq IN (`+chunk+`)`, trigramChunk)
	if err != nil {
		return 0, fmt.Errorf("sqlite: trigram index: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: trigram index: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: trigram index: commit: %w", err)
	}
	return int(n), nil
}
