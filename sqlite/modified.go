package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd/internal/ticks"
)

// The resource_modified log of migration 0006 indexes meta.lastModified.
// The write path only appends to it (triggers add a row for every insert
// and update of a resource), so rows of superseded versions and of deleted
// resources accumulate; the compiled filters test r.last_modified as well,
// so they cost reading, never a wrong answer. The pruner removes them in
// the background: a pass walks the log in key order, chunk by chunk, each
// chunk one short write transaction deleting the rows whose resource is
// gone or has another last_modified.
//
// A pass reads the whole log and each row's resource, so it runs only when
// the writes since the last pass could have left as many stale rows as
// there are resources (and at least pruneMinStale): the log then stays
// under about twice the resources, and a pass costs about two row reads
// per write, amortised (measured at 10,000 users under PATCH load: a pass
// every 10,000 writes took 4 % of the CPU; every 50,000, ~1 %). Deleting
// many stale rows of a page at once costs that page once, where the index
// this log replaced moved an entry on a random page in every update.
//
// Since migration 0007 the log's rows carry the resource's type and
// tenant_changes.stale counts each tenant's stale rows (triggers on the log
// and on resources keep it: rows of the log minus resources). A pass
// brings the counts to 0, and while a tenant's count is 0, filters on
// meta.lastModified alone are counted and paged from the log's index
// entries without reading a resource (list.go, listPlan.logPlan); with
// stale rows they join each log row to its resource.

// pruneChunk bounds the log rows one pruning transaction reads, so that
// it holds the single writer only briefly (~2 ms).
const pruneChunk = 2000

const (
	// pruneMinStale is how many writes since the last pass (each of which
	// may have left a stale row) start a pass, at the least.
	pruneMinStale = 50_000
	// pruneInterval is how often the pruner looks at the count.
	pruneInterval = time.Second
)

// modifiedPruner runs pruning passes in the background until stopped.
type modifiedPruner struct {
	cancel context.CancelFunc // stops the background loop
	done   chan struct{}      // closed when it has stopped
	mu     sync.Mutex         // serialises passes (background and PruneModified)
	// writes counts committed writes since the last pass: an upper bound
	// of the stale rows they left (creates leave none).
	writes atomic.Int64
	passes atomic.Int64

	// minStale and interval are pruneMinStale and pruneInterval unless a
	// test set them before Open starts the pruner.
	minStale int64
	interval time.Duration
}

// startModifiedPruner starts the background pruner; Close stops it.
func (db *DB) startModifiedPruner() {
	pr := &db.pruner
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	pr.cancel, pr.done = cancel, done
	if pr.minStale == 0 {
		pr.minStale = pruneMinStale
	}
	if pr.interval == 0 {
		pr.interval = pruneInterval
	}
	minStale, interval := pr.minStale, pr.interval
	go func() {
		defer close(done)
		// Stale rows left before this process started: the log's rows
		// beyond one per resource.
		if n, err := db.staleModified(ctx); err != nil {
			if ctx.Err() == nil {
				slog.Warn("sqlite: counting resource_modified", "err", err)
			}
		} else {
			pr.writes.Add(n)
		}
		for range ticks.Every(ctx, interval) {
			if pr.writes.Load() < minStale {
				continue // too few writes whatever the resources number
			}
			live, err := db.liveResources(ctx)
			if err != nil {
				if ctx.Err() == nil {
					slog.Warn("sqlite: pruning resource_modified", "err", err)
				}
				continue
			}
			if pr.writes.Load() < max(minStale, live) {
				continue
			}
			if _, err := db.pruneModified(ctx); err != nil && ctx.Err() == nil {
				slog.Warn("sqlite: pruning resource_modified", "err", err)
			}
		}
	}()
}

// stopModifiedPruner stops the background pruner and waits for it; a pass
// under way stops after its current chunk.
func (db *DB) stopModifiedPruner() {
	pr := &db.pruner
	if pr.cancel == nil {
		return
	}
	pr.cancel()
	<-pr.done
	pr.cancel = nil
}

// liveResources returns the number of resources of every tenant.
func (db *DB) liveResources(ctx context.Context) (int64, error) {
	var n int64
	if err := db.queryRow(ctx, `SELECT coalesce(sum(n), 0) FROM resource_counts`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count resources: %w", err)
	}
	return n, nil
}

// staleModified returns how many rows of the log are beyond one per
// resource: the sum of the per-tenant counts the triggers of migration
// 0007 keep (tenant_changes.stale).
func (db *DB) staleModified(ctx context.Context) (int64, error) {
	var n int64
	err := db.queryRow(ctx, `SELECT coalesce(sum(stale), 0) FROM tenant_changes`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count resource_modified: %w", err)
	}
	return max(n, 0), nil
}

// logKey is the primary key of a row of resource_modified.
type logKey struct {
	tenant, typ, modified string
	seq                   int64
}

// pruneModified runs one pass over the log and returns how many rows it
// deleted.
func (db *DB) pruneModified(ctx context.Context) (int, error) {
	pr := &db.pruner
	pr.mu.Lock()
	defer pr.mu.Unlock()
	// Writes from here on are counted for the next pass: those committed
	// during this one may or may not have been pruned by it.
	pr.writes.Store(0)
	deleted := 0
	var from *logKey
	for {
		n, next, err := db.pruneChunk(ctx, from)
		if err != nil {
			return deleted, err
		}
		deleted += n
		if next == nil {
			pr.passes.Add(1)
			return deleted, nil
		}
		from = next
	}
}

// pruneChunk deletes the stale rows among the pruneChunk rows of the log
// after from (from its start when nil), in one write transaction, and
// returns how many it deleted and the key to continue after (nil at the
// end of the log).
func (db *DB) pruneChunk(ctx context.Context, from *logKey) (int, *logKey, error) {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return 0, nil, err
	}
	defer tx.Rollback()
	after, args := "1 = 1", []any{}
	if from != nil {
		after = `(tenant_id, type, last_modified, res_seq) > (?, ?, ?, ?)`
		args = append(args, from.tenant, from.typ, from.modified, from.seq)
	}
	var last logKey
	next := &last
	err = tx.QueryRowContext(ctx, `SELECT tenant_id, type, last_modified, res_seq FROM resource_modified WHERE `+after+`
		ORDER BY tenant_id, type, last_modified, res_seq LIMIT 1 OFFSET ?`, append(args, pruneChunk-1)...).
		Scan(&last.tenant, &last.typ, &last.modified, &last.seq)
	upTo := ""
	switch {
	case errors.Is(err, sql.ErrNoRows):
		next = nil // the chunk runs to the end of the log
	case err != nil:
		return 0, nil, fmt.Errorf("sqlite: prune resource_modified: %w", err)
	default:
		upTo = ` AND (tenant_id, type, last_modified, res_seq) <= (?, ?, ?, ?)`
		args = append(args, last.tenant, last.typ, last.modified, last.seq)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM resource_modified WHERE `+after+upTo+`
		AND NOT EXISTS (SELECT 1 FROM resources r
			WHERE r.seq = resource_modified.res_seq AND r.last_modified = resource_modified.last_modified)`, args...)
	if err != nil {
		return 0, nil, fmt.Errorf("sqlite: prune resource_modified: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, nil, fmt.Errorf("sqlite: prune resource_modified: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, nil, fmt.Errorf("sqlite: prune resource_modified: commit: %w", err)
	}
	return int(n), next, nil
}
