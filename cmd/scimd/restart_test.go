package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scimd/scimd/internal/pgtest"
)

// TestPostgresRestart restarts PostgreSQL ("pg_ctl restart -m fast") under
// the crash test's write load while "scimd serve" keeps running, and
// checks what an IdP would see:
//   - no 5xx but 503 ever, the answer while the server is down;
//   - right after each restart every request succeeds, though every
//     connection scimd had is dead (the first reads after the restart are
//     the checks of the writes cut off by it);
//   - every acknowledged write is there and the invariants hold, as in
//     the crash test; a write answered 503 may or may not have happened
//     (its connection may have died after COMMIT) and is found out.
func TestPostgresRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and restarts a PostgreSQL server")
	}
	t.Parallel()
	pg := pgtest.StartPrivate(t)
	dbURL := pg.URL()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := buildScimd(t, ctx)
	p := startCrashProcess(t, ctx, bin, dbURL)
	model := newCrashModel()
	stats := &crashStats{acked: map[string]int{}}
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	const restarts = 5
	unavailable := 0
	for i := 0; i <= restarts; i++ {
		// Settle the writes answered 503 at the last restart, then check
		// every resource touched since: the first requests after it.
		model.reconcile(t, ctx, p, stats)
		stats.verified += model.verify(t, ctx, p, i == restarts)
		if t.Failed() {
			t.Fatalf("after restart %d; log:\n%s", i, p.logs.String())
		}
		if i == restarts {
			break
		}
		var stop atomic.Bool
		var wg sync.WaitGroup
		for w := range crashWorkers {
			seed := rng.Uint64()
			wg.Go(func() { model.workers[w].run(ctx, p, &stop, seed) })
		}
		time.Sleep(time.Duration(100+rng.IntN(401)) * time.Millisecond)
		pg.Restart(t)
		stop.Store(true)
		wg.Wait()
		stats.kills++
		for _, w := range model.workers {
			for k, n := range w.acked {
				stats.acked[k] += n
			}
			clear(w.acked)
			unavailable += w.unavailable
			w.unavailable = 0
			if w.err != nil {
				t.Errorf("worker %d: %v", w.id, w.err)
				w.err = nil
			}
		}
		if t.Failed() {
			t.Fatalf("restart %d; log:\n%s", i+1, p.logs.String())
		}
		checkPostgres(t, ctx, dbURL, fmt.Sprintf("after restart %d", i+1))
	}
	p.stop(t)
	if res, err := http.Get(p.base + "/ServiceProviderConfig"); err == nil {
		res.Body.Close()
		t.Error("scimd still answers after it was stopped")
	}
	t.Logf("%s; %d answers 503 while the server was down", stats, unavailable)
}

// checkPostgres checks the crash test's invariants on the database of a
// running scimd whose load has stopped.
func checkPostgres(t *testing.T, ctx context.Context, dbURL, when string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("%s: connect: %v", when, err)
	}
	db := &pgCrashDB{conn}
	defer db.Close()
	// No settling: scimd is running (its sessions are live), but its
	// load has stopped.
	for _, problem := range checkInvariants(ctx, db) {
		t.Errorf("%s: invariant violated: %s", when, problem)
	}
}
