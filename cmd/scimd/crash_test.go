package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scimd/scimd/internal/pgtest"
	"github.com/scimd/scimd/sqlite"
)

// The crash test: under a steady write load, "scimd serve" is killed with
// SIGKILL, restarted on the same database, and checked: every write it
// acknowledged (a 2xx response arrived) is there, no write appeared that
// was never sent, and the database invariants hold. Writes that were in
// flight at the kill may or may not have happened; the test finds out which
// and carries on from there.
//
// Each load worker owns its users and groups, so the expected state of
// every resource follows from one worker's sequence of requests.

const (
	crashWorkers = 4
	crashToken   = "crash-test-token-0123456789abcdef"
)

// crashIterations is how many times each backend is killed.
func crashIterations() int {
	if testing.Short() {
		return 5
	}
	return 20
}

func TestCrashSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "scimd.db")
	runCrashTest(t, path, func(ctx context.Context) (crashDB, error) {
		conn, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
		if err != nil {
			return nil, err
		}
		return &sqliteCrashDB{conn}, nil
	})
}

func TestCrashPostgres(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	runCrashTest(t, dbURL, func(ctx context.Context) (crashDB, error) {
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return nil, err
		}
		return &pgCrashDB{conn}, nil
	})
}

// crashStats counts what one backend's crash test did.
type crashStats struct {
	kills        int
	acked        map[string]int // acknowledged writes by kind
	inFlight     int            // writes cut off by a kill
	inFlightDone int            // of those, found applied after the restart
	verified     int            // resource checks against the model
}

func (s *crashStats) String() string {
	kinds := make([]string, 0, len(s.acked))
	total := 0
	for k, n := range s.acked {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		total += n
	}
	slices.Sort(kinds)
	return fmt.Sprintf("%d kills; %d writes acknowledged (%s), all verified present; %d resource checks; %d writes in flight at a kill, %d of them found applied",
		s.kills, total, strings.Join(kinds, ", "), s.verified, s.inFlight, s.inFlightDone)
}

func runCrashTest(t *testing.T, database string, openDB func(context.Context) (crashDB, error)) {
	iterations := crashIterations()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := buildScimd(t, ctx)
	model := newCrashModel()
	stats := &crashStats{acked: map[string]int{}}
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	start := time.Now()

	checkDB := func(when string) {
		t.Helper()
		db, err := openDB(ctx)
		if err != nil {
			t.Fatalf("%s: open database: %v", when, err)
		}
		defer db.Close()
		if err := db.settle(ctx); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		for _, problem := range checkInvariants(ctx, db) {
			t.Errorf("%s: invariant violated: %s", when, problem)
		}
	}

	for i := 0; i <= iterations; i++ {
		if ctx.Err() != nil {
			t.Fatalf("out of time after %d kills", stats.kills)
		}
		p := startCrashProcess(t, ctx, bin, database)
		// Settle the writes cut off by the last kill, then check every
		// resource touched since the last check.
		model.reconcile(t, ctx, p, stats)
		stats.verified += model.verify(t, ctx, p, i == iterations)
		if t.Failed() {
			t.Fatalf("after restart %d: acknowledged state not found; log:\n%s", i, p.logs.String())
		}
		if i == iterations {
			// Final round: stop cleanly; the database must still hold.
			p.stop(t)
			break
		}
		dur := time.Duration(100+rng.IntN(501)) * time.Millisecond
		var killed atomic.Bool
		var wg sync.WaitGroup
		for w := range crashWorkers {
			seed := rng.Uint64()
			wg.Go(func() { model.workers[w].run(ctx, p, &killed, seed) })
		}
		var backupProblems []string
		if i == 1 && !isPostgresURL(database) {
			// An online backup while the load runs.
			backupProblems = crashBackup(t, ctx, bin, database)
		}
		time.Sleep(dur)
		killed.Store(true)
		p.kill(t)
		wg.Wait()
		stats.kills++
		for _, problem := range backupProblems {
			t.Errorf("online backup: %s", problem)
		}
		for _, w := range model.workers {
			for k, n := range w.acked {
				stats.acked[k] += n
			}
			clear(w.acked)
			if w.err != nil {
				t.Errorf("worker %d before the kill: %v", w.id, w.err)
				w.err = nil
			}
		}
		checkDB(fmt.Sprintf("after kill %d", i+1))
		if t.Failed() {
			t.Fatalf("kill %d; log:\n%s", i+1, p.logs.String())
		}
	}
	checkDB("after the final clean stop")
	if !isPostgresURL(database) {
		if err := sqlite.CheckFile(ctx, database); err != nil {
			t.Error(err)
		}
	}
	backend := "sqlite"
	if isPostgresURL(database) {
		backend = "postgres"
	}
	t.Logf("%s: %s in %v", backend, stats, time.Since(start).Round(time.Millisecond))
}

// crashBackup runs "scimd backup" on the live database, checks the copy
// and returns the problems found. (The load is running: it must not stop
// the test.)
func crashBackup(t *testing.T, ctx context.Context, bin, database string) []string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "backup.db")
	cmd := exec.CommandContext(ctx, bin, "backup", "--database", database, "--out", out)
	cmd.Env = append(os.Environ(), "SCIMD_DATABASE=", "SCIMD_CONFIG=")
	b, err := cmd.CombinedOutput()
	if err != nil {
		return []string{fmt.Sprintf("scimd backup: %v\n%s", err, b)}
	}
	t.Logf("online backup under load: %s", bytes.TrimSpace(b))
	conn, err := sql.Open("sqlite", "file:"+(&url.URL{Path: out}).EscapedPath()+"?mode=ro")
	if err != nil {
		return []string{err.Error()}
	}
	db := &sqliteCrashDB{conn}
	defer db.Close()
	return checkInvariants(ctx, db)
}

// crashProcess is one running "scimd serve".
type crashProcess struct {
	cmd    *exec.Cmd
	base   string
	logs   *syncBuffer
	exited chan struct{}
	err    error // set when exited is closed
	http   *http.Client
}

// baseURLWriter collects a process's output and reports the SCIM base URL
// it prints on start.
type baseURLWriter struct {
	syncBuffer
	once sync.Once
	url  chan string
}

func (w *baseURLWriter) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	s := w.String()
	if i := strings.Index(s, "SCIM base URL "); i >= 0 {
		rest := s[i+len("SCIM base URL "):]
		if j := strings.IndexByte(rest, '\n'); j >= 0 {
			w.once.Do(func() { w.url <- strings.TrimSpace(rest[:j]) })
		}
	}
	return n, err
}

// launchServe starts "scimd serve" on database, on a port of the kernel's
// choosing, with env added to its environment, and returns the process
// and a channel that receives its base URL once printed. The process is
// killed (by its PID) when the test ends if it is still running.
func launchServe(t *testing.T, bin, database string, env ...string) (*crashProcess, <-chan string) {
	t.Helper()
	out := &baseURLWriter{url: make(chan string, 1)}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--database", database)
	cmd.Env = append(os.Environ(), "SCIMD_BOOTSTRAP_TOKEN="+crashToken, "SCIMD_LOG_LEVEL=warn",
		"SCIMD_DATABASE=", "SCIMD_CONFIG=", "SCIMD_NO_MIGRATE=", "SCIMD_ADDR=", "SCIMD_EXTERNAL_URL=",
		"SCIMD_TENANT_RATE=0", "SCIMD_CREDENTIAL_RATE=0")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start scimd: %v", err)
	}
	p := &crashProcess{cmd: cmd, logs: &out.syncBuffer, exited: make(chan struct{}),
		http: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: crashWorkers + 2}}}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	})
	return p, out.url
}

// startCrashProcess starts "scimd serve" on database (launchServe) and
// waits for it to answer.
func startCrashProcess(t *testing.T, ctx context.Context, bin, database string) *crashProcess {
	t.Helper()
	p, url := launchServe(t, bin, database)
	select {
	case p.base = <-url:
	case <-p.exited:
		t.Fatalf("scimd exited on start: %v\n%s", p.err, p.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("scimd printed no base URL within 60s\n%s", p.logs.String())
	case <-ctx.Done():
		t.Fatalf("scimd start: %v", ctx.Err())
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		res, err := p.do(ctx, "GET", "/ServiceProviderConfig", nil)
		if err == nil && res.status == http.StatusOK {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("scimd not ready: %v %v\n%s", res.status, err, p.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL to the process (by PID) and waits for it to go.
func (p *crashProcess) kill(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", p.cmd.Process.Pid, err)
	}
	<-p.exited
	p.http.CloseIdleConnections()
}

// stop sends SIGTERM and waits for a clean exit.
func (p *crashProcess) stop(t *testing.T) {
	t.Helper()
	_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("scimd exited: %v\n%s", p.err, p.logs.String())
		}
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		t.Errorf("scimd did not stop on SIGTERM within 30s")
	}
	p.http.CloseIdleConnections()
}

type crashResponse struct {
	status int
	body   map[string]any
}

// do sends a SCIM request. An error means no complete response arrived;
// when the status line did arrive, res.status is set even so.
func (p *crashProcess) do(ctx context.Context, method, path string, body any) (crashResponse, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return crashResponse{}, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, r)
	if err != nil {
		return crashResponse{}, err
	}
	req.Header.Set("Authorization", "Bearer "+crashToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	res, err := p.http.Do(req)
	if err != nil {
		return crashResponse{}, err
	}
	defer res.Body.Close()
	out := crashResponse{status: res.StatusCode}
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return out, err
	}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &out.body); err != nil {
			return out, fmt.Errorf("%s %s: %d, body not JSON: %v", method, path, res.StatusCode, err)
		}
	}
	return out, nil
}

// The model: what the server acknowledged.

type crashUser struct {
	id      string // "" when a create's response was cut off
	name    string
	active  bool
	deleted bool
	dirty   bool // changed since the last verification
}

type crashGroup struct {
	id      string
	name    string
	members map[string]bool // user ids
	dirty   bool
}

// pendingOp is a write cut off by a kill: applied or not, to be found out.
type pendingOp struct {
	kind   string // "create-user", "create-group", "delete-user", "active", "add", "remove"
	acked  bool   // a 2xx status arrived, the body did not
	user   *crashUser
	group  *crashGroup
	name   string // of a create
	active bool
}

type crashWorker struct {
	id      int
	next    int // userName and displayName counter, never reused
	users   []*crashUser
	groups  []*crashGroup
	pending *pendingOp
	acked   map[string]int
	err     error // an error before the kill
	// unavailable counts 503 answers (each stops the worker's run).
	unavailable int
}

type crashModel struct{ workers []*crashWorker }

func newCrashModel() *crashModel {
	m := &crashModel{}
	for w := range crashWorkers {
		m.workers = append(m.workers, &crashWorker{id: w, acked: map[string]int{}})
	}
	return m
}

func (w *crashWorker) liveUsers() []*crashUser {
	var out []*crashUser
	for _, u := range w.users {
		if !u.deleted {
			out = append(out, u)
		}
	}
	return out
}

// run sends writes until the process is killed (killed is set just before
// the kill); it stops at the first request without a response.
func (w *crashWorker) run(ctx context.Context, p *crashProcess, killed *atomic.Bool, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, uint64(w.id)))
	for !killed.Load() && ctx.Err() == nil {
		op := w.choose(rng)
		res, err := w.send(ctx, p, op)
		if err == nil && res.status == http.StatusServiceUnavailable {
			// The database could not be reached (TestPostgresRestart): a
			// write whose connection was lost after its COMMIT went out
			// may have been applied. Found out later, as after a kill.
			w.unavailable++
			w.pending = op
			return
		}
		if err == nil && res.status >= 500 {
			// Never right: not under a kill (no answer comes), not
			// while the database restarts (503).
			w.err = fmt.Errorf("%s: status %d %v", op.kind, res.status, res.body)
			w.pending = op
			return
		}
		if err != nil || res.status < 200 || res.status > 299 {
			if killed.Load() {
				if err == nil {
					// A response (an error status) arrived: it was
					// not applied... unless a later kill lost it.
					continue
				}
				op.acked = res.status >= 200 && res.status <= 299
				w.pending = op
				return
			}
			if err == nil {
				err = fmt.Errorf("%s: status %d %v", op.kind, res.status, res.body)
			}
			w.err = err
			w.pending = op
			return
		}
		if (op.kind == "create-user" || op.kind == "create-group") && res.body["id"] == nil {
			w.err = fmt.Errorf("%s: %d without an id: %v", op.kind, res.status, res.body)
			return
		}
		w.apply(op, res)
		w.acked[op.kind]++
	}
}

// choose picks the next write.
func (w *crashWorker) choose(rng *rand.Rand) *pendingOp {
	live := w.liveUsers()
	n := rng.IntN(100)
	switch {
	case n < 30 || len(live) < 5:
		w.next++
		return &pendingOp{kind: "create-user", name: fmt.Sprintf("Crash.W%d.%06d@Example.com", w.id, w.next)}
	case n < 35 || len(w.groups) == 0:
		w.next++
		return &pendingOp{kind: "create-group", name: fmt.Sprintf("crash-w%d-g%06d", w.id, w.next)}
	case n < 60:
		g := w.groups[rng.IntN(len(w.groups))]
		return &pendingOp{kind: "add", group: g, user: live[rng.IntN(len(live))]}
	case n < 70:
		g := w.groups[rng.IntN(len(w.groups))]
		for id := range g.members { // any one
			for _, u := range live {
				if u.id == id {
					return &pendingOp{kind: "remove", group: g, user: u}
				}
			}
		}
		return &pendingOp{kind: "add", group: g, user: live[rng.IntN(len(live))]}
	case n < 90:
		u := live[rng.IntN(len(live))]
		return &pendingOp{kind: "active", user: u, active: !u.active}
	default:
		return &pendingOp{kind: "delete-user", user: live[rng.IntN(len(live))]}
	}
}

const (
	urnUser    = "urn:ietf:params:scim:schemas:core:2.0:User"
	urnGroup   = "urn:ietf:params:scim:schemas:core:2.0:Group"
	urnPatchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

func patchBody(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{urnPatchOp}, "Operations": ops}
}

func (w *crashWorker) send(ctx context.Context, p *crashProcess, op *pendingOp) (crashResponse, error) {
	switch op.kind {
	case "create-user":
		return p.do(ctx, "POST", "/Users", map[string]any{"schemas": []string{urnUser}, "userName": op.name, "active": true})
	case "create-group":
		return p.do(ctx, "POST", "/Groups", map[string]any{"schemas": []string{urnGroup}, "displayName": op.name})
	case "add":
		return p.do(ctx, "PATCH", "/Groups/"+op.group.id, patchBody(map[string]any{
			"op": "add", "path": "members", "value": []any{map[string]any{"value": op.user.id}}}))
	case "remove":
		return p.do(ctx, "PATCH", "/Groups/"+op.group.id, patchBody(map[string]any{
			"op": "remove", "path": fmt.Sprintf("members[value eq %q]", op.user.id)}))
	case "active":
		return p.do(ctx, "PATCH", "/Users/"+op.user.id, patchBody(map[string]any{
			"op": "replace", "path": "active", "value": op.active}))
	case "delete-user":
		return p.do(ctx, "DELETE", "/Users/"+op.user.id, nil)
	}
	panic("unknown op " + op.kind)
}

// apply records the effect of an acknowledged write.
func (w *crashWorker) apply(op *pendingOp, res crashResponse) {
	switch op.kind {
	case "create-user":
		id, _ := res.body["id"].(string)
		w.users = append(w.users, &crashUser{id: id, name: op.name, active: true, dirty: true})
	case "create-group":
		id, _ := res.body["id"].(string)
		w.groups = append(w.groups, &crashGroup{id: id, name: op.name, members: map[string]bool{}, dirty: true})
	case "add":
		op.group.members[op.user.id] = true
		op.group.dirty = true
	case "remove":
		delete(op.group.members, op.user.id)
		op.group.dirty = true
	case "active":
		op.user.active = op.active
		op.user.dirty = true
	case "delete-user":
		op.user.deleted = true
		op.user.dirty = true
		for _, g := range w.groups {
			if g.members[op.user.id] {
				delete(g.members, op.user.id)
				g.dirty = true
			}
		}
	}
}

// reconcile finds out, on the restarted server, whether each write cut off
// by the last kill happened, and records it if it did. A write whose 2xx
// status arrived must have happened.
func (m *crashModel) reconcile(t *testing.T, ctx context.Context, p *crashProcess, stats *crashStats) {
	t.Helper()
	for _, w := range m.workers {
		op := w.pending
		if op == nil {
			continue
		}
		w.pending = nil
		stats.inFlight++
		applied := false
		switch op.kind {
		case "create-user", "create-group":
			typ, attr := "/Users", "userName"
			if op.kind == "create-group" {
				typ, attr = "/Groups", "displayName"
			}
			res, err := p.do(ctx, "GET", typ+"?filter="+url.QueryEscape(fmt.Sprintf("%s eq %q", attr, op.name)), nil)
			if err != nil || res.status != http.StatusOK {
				t.Fatalf("look up %s: %v %d %v", op.name, err, res.status, res.body)
			}
			found, _ := res.body["Resources"].([]any)
			if len(found) > 1 {
				t.Errorf("%d resources with %s %s", len(found), attr, op.name)
			}
			if len(found) == 1 {
				applied = true
				id, _ := found[0].(map[string]any)["id"].(string)
				w.apply(&pendingOp{kind: op.kind, name: op.name}, crashResponse{body: map[string]any{"id": id}})
			}
		case "delete-user":
			res, err := p.do(ctx, "GET", "/Users/"+op.user.id, nil)
			if err != nil || (res.status != http.StatusOK && res.status != http.StatusNotFound) {
				t.Fatalf("get user: %v %d", err, res.status)
			}
			if res.status == http.StatusNotFound {
				applied = true
				w.apply(op, res)
			}
		case "active":
			res, err := p.do(ctx, "GET", "/Users/"+op.user.id, nil)
			if err != nil || res.status != http.StatusOK {
				t.Fatalf("get user: %v %d", err, res.status)
			}
			if res.body["active"] == op.active {
				applied = true
				w.apply(op, res)
			}
		case "add", "remove":
			res, err := p.do(ctx, "GET", "/Groups/"+op.group.id, nil)
			if err != nil || res.status != http.StatusOK {
				t.Fatalf("get group: %v %d", err, res.status)
			}
			if memberIDs(res.body)[op.user.id] == (op.kind == "add") {
				applied = true
				w.apply(op, res)
			}
		}
		switch {
		case op.acked && !applied:
			t.Errorf("%s %s: acknowledged (2xx status, body cut off), but not applied after the restart", op.kind, op.name)
		case op.acked:
			stats.acked[op.kind]++
			stats.inFlight--
		case applied:
			stats.inFlightDone++
		}
	}
}

func memberIDs(group map[string]any) map[string]bool {
	ids := map[string]bool{}
	members, _ := group["members"].([]any)
	for _, m := range members {
		if id, ok := m.(map[string]any)["value"].(string); ok {
			ids[id] = true
		}
	}
	return ids
}

// verify checks the resources changed since the last verification (all of
// them when all is set) against the server, and returns how many it checked.
func (m *crashModel) verify(t *testing.T, ctx context.Context, p *crashProcess, all bool) int {
	t.Helper()
	type check struct {
		u *crashUser
		g *crashGroup
	}
	var checks []check
	for _, w := range m.workers {
		for _, u := range w.users {
			if u.dirty || all {
				checks = append(checks, check{u: u})
			}
		}
		for _, g := range w.groups {
			if g.dirty || all {
				checks = append(checks, check{g: g})
			}
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := atomic.Int64{}
	failures := 0
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if failures++; failures <= 20 {
			t.Errorf(format, args...)
		} else if failures == 21 {
			t.Error("more differences not shown")
		}
	}
	for range crashWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(checks) {
					return
				}
				if u := checks[i].u; u != nil {
					res, err := p.do(ctx, "GET", "/Users/"+u.id, nil)
					switch {
					case err != nil:
						fail("GET user %s: %v", u.name, err)
					case u.deleted && res.status != http.StatusNotFound:
						fail("user %s (%s) was deleted, but GET gives %d", u.name, u.id, res.status)
					case u.deleted:
					case res.status != http.StatusOK:
						fail("user %s (%s) was created, but GET gives %d %v", u.name, u.id, res.status, res.body)
					case res.body["userName"] != u.name:
						fail("user %s: userName %v", u.id, res.body["userName"])
					case res.body["active"] != u.active:
						fail("user %s: active %v, want %v", u.name, res.body["active"], u.active)
					}
					u.dirty = false
					continue
				}
				g := checks[i].g
				res, err := p.do(ctx, "GET", "/Groups/"+g.id, nil)
				switch {
				case err != nil:
					fail("GET group %s: %v", g.name, err)
				case res.status != http.StatusOK:
					fail("group %s (%s) was created, but GET gives %d %v", g.name, g.id, res.status, res.body)
				case res.body["displayName"] != g.name:
					fail("group %s: displayName %v", g.id, res.body["displayName"])
				default:
					got := memberIDs(res.body)
					for id := range g.members {
						if !got[id] {
							fail("group %s: acknowledged member %s missing", g.name, id)
						}
					}
					for id := range got {
						if !g.members[id] {
							fail("group %s: member %s was never added, or was removed", g.name, id)
						}
					}
				}
				g.dirty = false
			}
		})
	}
	wg.Wait()
	return len(checks)
}

// crashDB is direct access to the database for checking invariants.
type crashDB interface {
	// count runs a query returning one integer.
	count(ctx context.Context, query string) (int64, error)
	// userNameExpr is the SQL for a resource row's userName, from doc.
	userNameExpr() string
	// extraChecks are backend-specific checks.
	extraChecks(ctx context.Context) []string
	// settle waits until writes the killed process had already handed to
	// the database are over: a PostgreSQL backend finishes the statements
	// (and a pipelined COMMIT) it received before it notices that its
	// client died, so an in-flight write can land after the kill, and must
	// be resolved only once it has.
	settle(ctx context.Context) error
	Close() error
}

type sqliteCrashDB struct{ *sql.DB }

func (d *sqliteCrashDB) count(ctx context.Context, q string) (int64, error) {
	var n int64
	err := d.QueryRowContext(ctx, q).Scan(&n)
	return n, err
}

func (d *sqliteCrashDB) userNameExpr() string { return "json_extract(doc, '$.userName')" }

// settle has nothing to wait for: SQLite runs inside the killed process.
func (d *sqliteCrashDB) settle(context.Context) error { return nil }

func (d *sqliteCrashDB) extraChecks(ctx context.Context) []string {
	var problems []string
	var s string
	if err := d.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&s); err != nil || s != "ok" {
		problems = append(problems, fmt.Sprintf("integrity_check: %q %v", s, err))
	}
	rows, err := d.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return append(problems, fmt.Sprintf("foreign_key_check: %v", err))
	}
	defer rows.Close()
	for rows.Next() {
		problems = append(problems, "foreign_key_check reports a dangling row")
		break
	}
	// The per-type counts the triggers maintain.
	n, err := d.count(ctx, `SELECT count(*) FROM resource_counts c WHERE c.n !=
		(SELECT count(*) FROM resources r WHERE r.tenant_id = c.tenant_id AND r.type = c.type)`)
	if err != nil || n != 0 {
		problems = append(problems, fmt.Sprintf("resource_counts wrong for %d types (%v)", n, err))
	}
	// The lastModified log (migration 0006) has the row of every
	// resource's current lastModified (older rows may remain).
	n, err = d.count(ctx, `SELECT count(*) FROM resources r WHERE NOT EXISTS (SELECT 1 FROM resource_modified lm
		WHERE lm.tenant_id = r.tenant_id AND lm.type = r.type AND lm.last_modified = r.last_modified AND lm.res_seq = r.seq)`)
	if err != nil || n != 0 {
		problems = append(problems, fmt.Sprintf("resource_modified lacks the row of %d resources (%v)", n, err))
	}
	// The count of its stale rows per tenant (migration 0007), which lets
	// filters on meta.lastModified trust the log alone when it is 0.
	n, err = d.count(ctx, `SELECT count(*) FROM tenant_changes c WHERE c.stale !=
		(SELECT count(*) FROM resource_modified lm WHERE lm.tenant_id = c.tenant_id) -
		(SELECT count(*) FROM resources r WHERE r.tenant_id = c.tenant_id)`)
	if err != nil || n != 0 {
		problems = append(problems, fmt.Sprintf("tenant_changes.stale wrong for %d tenants (%v)", n, err))
	}
	return problems
}

type pgCrashDB struct{ *pgx.Conn }

func (d *pgCrashDB) count(ctx context.Context, q string) (int64, error) {
	var n int64
	err := d.QueryRow(ctx, q).Scan(&n)
	return n, err
}

func (d *pgCrashDB) userNameExpr() string { return "doc->>'userName'" }

func (d *pgCrashDB) extraChecks(ctx context.Context) []string {
	// The side table indexing lastModified (migration 0005) has one row
	// per resource, written in the resource's own statements.
	n, err := d.count(ctx, `SELECT count(*) FROM resources r
		FULL JOIN resource_modified m ON m.res_seq = r.seq
		WHERE r.seq IS NULL OR m.res_seq IS NULL
			OR m.tenant_id <> r.tenant_id OR m.last_modified <> r.last_modified`)
	if err != nil || n != 0 {
		return []string{fmt.Sprintf("resource_modified differs from resources in %d rows (%v)", n, err)}
	}
	return nil
}

func (d *pgCrashDB) settle(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := d.count(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
		if err != nil {
			return fmt.Errorf("settle: %w", err)
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("settle: %d sessions of the killed server still open after 30s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
func (d *pgCrashDB) Close() error { return d.Conn.Close(context.Background()) }

// checkInvariants checks the database directly and returns the problems
// found.
func checkInvariants(ctx context.Context, db crashDB) []string {
	checks := []struct{ what, query string }{
		{"userNames not unique case-insensitively per tenant (from the documents)", `SELECT count(*) FROM (
			SELECT tenant_id, lower(` + db.userNameExpr() + `) AS n FROM resources WHERE type = 'User'
			GROUP BY tenant_id, lower(` + db.userNameExpr() + `) HAVING count(*) > 1) d`},
		{"users without a userName", `SELECT count(*) FROM resources WHERE type = 'User' AND ` + db.userNameExpr() + ` IS NULL`},
		{"names not unique per tenant and type (indexed column)", `SELECT count(*) FROM (
			SELECT tenant_id, type, name_lc FROM resources GROUP BY tenant_id, type, name_lc HAVING count(*) > 1) d`},
		{"userName column not the folded userName", `SELECT count(*) FROM resources
			WHERE type = 'User' AND name_lc != lower(` + db.userNameExpr() + `)`},
		{"memberships whose group does not exist", `SELECT count(*) FROM memberships m WHERE NOT EXISTS (
			SELECT 1 FROM resources r WHERE r.tenant_id = m.tenant_id AND r.id = m.group_id AND r.type = 'Group')`},
		{"memberships whose member does not exist", `SELECT count(*) FROM memberships m WHERE NOT EXISTS (
			SELECT 1 FROM resources r WHERE r.tenant_id = m.tenant_id AND r.id = m.member_id)`},
		{"duplicate memberships", `SELECT count(*) FROM (SELECT tenant_id, group_id, member_id FROM memberships
			GROUP BY tenant_id, group_id, member_id HAVING count(*) > 1) d`},
		{"groups whose member_count is not their number of membership rows", `SELECT count(*) FROM resources g
			WHERE g.type = 'Group' AND g.member_count != (SELECT count(*) FROM memberships m
			WHERE m.tenant_id = g.tenant_id AND m.group_id = g.id)`},
		{"resources with version < 1", `SELECT count(*) FROM resources WHERE version < 1`},
		{"duplicate resource ids", `SELECT count(*) FROM (SELECT tenant_id, id FROM resources
			GROUP BY tenant_id, id HAVING count(*) > 1) d`},
	}
	var problems []string
	for _, c := range checks {
		n, err := db.count(ctx, c.query)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: query: %v", c.what, err))
			continue
		}
		if n != 0 {
			problems = append(problems, fmt.Sprintf("%s: %d", c.what, n))
		}
	}
	return append(problems, db.extraChecks(ctx)...)
}
