package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
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

// "scimd serve" started while PostgreSQL is still down (started together
// by docker compose, say) waits for it, up to databaseWait, and serves
// once it is up; with databaseWait 0 it gives up at once.
func TestServeWaitsForDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and stops a PostgreSQL server")
	}
	t.Parallel()
	pg := pgtest.StartPrivate(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := buildScimd(t, ctx)
	pg.Stop(t)

	p, _ := launchServe(t, bin, pg.URL(), "SCIMD_DATABASE_WAIT=0")
	select {
	case <-p.exited:
		if !strings.Contains(p.logs.String(), "connect") {
			t.Errorf("scimd with databaseWait 0 exited without saying why:\n%s", p.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("scimd with databaseWait 0 still running after 30 s:\n%s", p.logs.String())
	}

	p, url := launchServe(t, bin, pg.URL())
	time.Sleep(2500 * time.Millisecond)
	select {
	case <-p.exited:
		t.Fatalf("scimd gave up on the database at once:\n%s", p.logs.String())
	default:
	}
	if n := strings.Count(p.logs.String(), "waiting for the database"); n < 2 {
		t.Errorf("%d \"waiting for the database\" lines after 2.5 s, want one a second:\n%s", n, p.logs.String())
	}
	pg.Start(t)
	select {
	case p.base = <-url:
	case <-p.exited:
		t.Fatalf("scimd exited:\n%s", p.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("scimd not serving 30 s after the database came up:\n%s", p.logs.String())
	}
	res, err := p.do(ctx, "GET", "/Users?count=1", nil)
	if err != nil || res.status != http.StatusOK {
		t.Errorf("GET /Users: %d %v, want 200", res.status, err)
	}
}
