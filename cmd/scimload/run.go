package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// allOps is every op `run` knows, in the order they run.
var allOps = []string{"provision", "lookup", "get", "patch", "put", "members", "import", "filter"}

type runConfig struct {
	URL             string
	Token           string
	Users           int
	Concurrency     int
	SeedConcurrency int // of the seed phase; 0: Concurrency
	Duration        time.Duration
	Requests        int
	Ops             []string
	JSON            string
	Prefix          string
	Seed            uint64
	ProvisionMax    int
	KeepProvisioned bool
	MembersMax      int
	PutPool         int
	MaxPhase        time.Duration
	Timeout         time.Duration
	Since           string
}

const runUsage = `Usage: scimload run --url URL --token T [flags]

Replays Okta's SCIM traffic against URL (the SCIM base URL, e.g.
http://127.0.0.1:8080/scim/v2) and reports throughput and latency per op.
With several URLs (comma-separated: instances of one server on one
database) requests go to each in turn, as behind a round-robin balancer.

Phases, in order:
  seed       make sure users 0..N-1 exist: Okta's userName lookup, then POST
             when absent (users already there are found and linked, not
             re-created); concurrency --seed-concurrency (default C).
             Skipped when --ops is only "provision".
  provision  timed: lookup then POST of fresh users (a new userName prefix per
             run), at most --provision-max users; throughput in provisions/s;
             afterwards deleted (not measured) unless --keep-provisioned
  lookup     timed: GET /Users?filter=userName eq "…"&startIndex=1&count=100
  get        timed: GET /Users/{id}
  patch      timed: PATCH /Users/{id} no-path replace {"active":false|true}, alternating
  put        timed: PUT /Users/{id}; bodies prepared beforehand from GETs
             (Okta's GET-then-PUT; only the PUT is measured)
  members    one new group; sequential PATCH add of 100 distinct users per
             batch until it holds min(N, --members-max) members; first vs
             last batch latency
  import     sequential walk of GET /Users?startIndex=k&count=100 to the end;
             total time, median of the first 10 pages vs the last 10
  filter     timed, two rows: meta.lastModified gt "<end of seed>" and
             emails[type eq "work" and value co "@example"], count=100
Timed ops use random targets among the seeded users, C workers, and stop
after --duration or --requests, whichever comes first.

Flags:
`

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scimload run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, runUsage); fs.PrintDefaults() }
	var cfg runConfig
	var ops string
	fs.StringVar(&cfg.URL, "url", "", "SCIM base URL (required); several, separated by commas, take requests in turn")
	fs.StringVar(&cfg.Token, "token", os.Getenv("SCIMLOAD_TOKEN"), "bearer token (env SCIMLOAD_TOKEN)")
	fs.IntVar(&cfg.Users, "users", 1000, "users to seed and target")
	fs.IntVar(&cfg.Concurrency, "concurrency", 8, "concurrent requests (seed and timed ops)")
	fs.IntVar(&cfg.SeedConcurrency, "seed-concurrency", 0, "concurrent requests of the seed phase (0: --concurrency)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "length of each timed op")
	fs.IntVar(&cfg.Requests, "requests", 0, "stop each timed op after this many requests (0: duration only)")
	fs.StringVar(&ops, "ops", strings.Join(allOps, ","), "ops to run, comma-separated")
	fs.StringVar(&cfg.JSON, "json", "", "also write the report as JSON to this file")
	fs.StringVar(&cfg.Prefix, "prefix", "u", "userName prefix of seeded users")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed for target choice")
	fs.IntVar(&cfg.ProvisionMax, "provision-max", 20000, "most users one provision op creates")
	fs.BoolVar(&cfg.KeepProvisioned, "keep-provisioned", false, "keep the users the provision op creates (default: delete them afterwards, unmeasured)")
	fs.IntVar(&cfg.MembersMax, "members-max", 0, "largest group the members op builds (0: all seeded users)")
	fs.IntVar(&cfg.PutPool, "put-pool", 1000, "users whose GET bodies the put op prepares")
	fs.DurationVar(&cfg.MaxPhase, "max-phase", 20*time.Minute, "upper bound on the seed, members and import phases")
	fs.DurationVar(&cfg.Timeout, "timeout", 60*time.Second, "per-request timeout (Okta's)")
	fs.StringVar(&cfg.Since, "since", "", `timestamp for the lastModified filter (default: end of the seed phase)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("run: unexpected argument %q", fs.Arg(0))
	}
	if cfg.URL == "" {
		return errors.New("run: --url is required")
	}
	if cfg.Concurrency < 1 || cfg.Users < 0 || cfg.SeedConcurrency < 0 {
		return errors.New("run: --concurrency must be ≥ 1, --seed-concurrency ≥ 0 and --users ≥ 0")
	}
	for _, op := range strings.Split(ops, ",") {
		op = strings.TrimSpace(op)
		if op == "" {
			continue
		}
		if !slices.Contains(allOps, op) {
			return fmt.Errorf("run: unknown op %q (known: %s)", op, strings.Join(allOps, ","))
		}
		cfg.Ops = append(cfg.Ops, op)
	}
	rep, err := Run(ctx, cfg, stderr)
	if rep != nil {
		writeTable(stdout, rep)
		if cfg.JSON != "" {
			b, jerr := json.MarshalIndent(rep, "", "  ")
			if jerr == nil {
				jerr = os.WriteFile(cfg.JSON, append(b, '\n'), 0o644)
			}
			if err == nil {
				err = jerr
			}
		}
	}
	return err
}

// runner holds the state shared by a run's phases.
type runner struct {
	cfg   runConfig
	c     *client
	log   io.Writer
	known []target // seeded users with their ids
	since time.Time
}

type target struct {
	i  int
	id string
}

// worker is one concurrent request loop's private state.
type worker struct {
	n   int
	buf bytes.Buffer
	rng *rand.Rand
}

// Run executes the configured phases and returns the report (partial if an
// error stopped it).
func Run(ctx context.Context, cfg runConfig, log io.Writer) (*Report, error) {
	if cfg.SeedConcurrency == 0 {
		cfg.SeedConcurrency = cfg.Concurrency
	}
	r := &runner{cfg: cfg, c: newClient(cfg.URL, cfg.Token, max(cfg.Concurrency, cfg.SeedConcurrency), cfg.Timeout), log: log}
	defer r.c.hc.CloseIdleConnections()
	rep := newReport(cfg.URL)
	rep.Users, rep.Concurrency, rep.Duration, rep.Requests = cfg.Users, cfg.Concurrency, cfg.Duration.String(), cfg.Requests

	onlyProvision := len(cfg.Ops) == 1 && cfg.Ops[0] == "provision"
	if !onlyProvision && cfg.Users > 0 {
		res, created, err := r.seed(ctx)
		if res != nil {
			rep.Ops = append(rep.Ops, res...)
		}
		rep.Seeded, rep.Created = len(r.known), created
		if err != nil {
			return rep, err
		}
	}
	r.since = time.Now().UTC()
	if cfg.Since != "" {
		t, err := time.Parse(time.RFC3339Nano, cfg.Since)
		if err != nil {
			return rep, fmt.Errorf("--since: %w", err)
		}
		r.since = t
	}
	for _, op := range allOps {
		if !slices.Contains(cfg.Ops, op) {
			continue
		}
		if op != "provision" && len(r.known) == 0 {
			return rep, fmt.Errorf("op %s needs seeded users (--users > 0)", op)
		}
		fmt.Fprintf(log, "scimload: %s…\n", op)
		var res []*OpResult
		var err error
		switch op {
		case "provision":
			res = []*OpResult{r.provision(ctx)}
		case "lookup":
			res = []*OpResult{r.timed(ctx, "lookup", 0, r.lookupOne)}
		case "get":
			res = []*OpResult{r.timed(ctx, "get", 0, r.getOne)}
		case "patch":
			res = []*OpResult{r.timed(ctx, "patch", 0, r.patchOne)}
		case "put":
			var o *OpResult
			o, err = r.put(ctx)
			res = []*OpResult{o}
		case "members":
			var o *OpResult
			o, err = r.members(ctx)
			res = []*OpResult{o}
		case "import":
			res = []*OpResult{r.importAll(ctx)}
		case "filter":
			res = r.filters(ctx)
		}
		for _, o := range res {
			if o != nil {
				rep.Ops = append(rep.Ops, o)
			}
		}
		if err != nil {
			return rep, fmt.Errorf("%s: %w", op, err)
		}
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
	return rep, nil
}

// errs collects error counts and a few samples across workers.
type errs struct {
	mu      sync.Mutex
	n       int
	samples []string
}

func (e *errs) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.samples) < 3 {
		e.samples = append(e.samples, err.Error())
	}
}

// opFunc performs one measured request for sequence number seq and returns
// its latency.
type opFunc func(ctx context.Context, w *worker, seq int) (time.Duration, error)

// timed runs fn on C workers until --duration passes, --requests (or limit,
// when > 0) requests have started, or ctx ends. Requests in flight at the
// deadline finish and count.
func (r *runner) timed(ctx context.Context, name string, limit int, fn opFunc) *OpResult {
	if r.cfg.Requests > 0 && (limit == 0 || r.cfg.Requests < limit) {
		limit = r.cfg.Requests
	}
	var next atomic.Int64
	var e errs
	lats := make([][]time.Duration, r.cfg.Concurrency)
	start := time.Now()
	deadline := start.Add(r.cfg.Duration)
	var wg sync.WaitGroup
	for k := range r.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{n: k, rng: rand.New(rand.NewPCG(r.cfg.Seed, uint64(k)+uint64(len(name))*1000))}
			for ctx.Err() == nil && time.Now().Before(deadline) {
				seq := int(next.Add(1) - 1)
				if limit > 0 && seq >= limit {
					return
				}
				d, err := fn(ctx, w, seq)
				lats[k] = append(lats[k], d)
				if err != nil {
					e.add(err)
				}
			}
		}()
	}
	wg.Wait()
	res := summarize(name, slices.Concat(lats...), e.n, time.Since(start))
	res.ErrSamples = e.samples
	return res
}

func (r *runner) pick(w *worker) target { return r.known[w.rng.IntN(len(r.known))] }

func (r *runner) lookupOne(ctx context.Context, w *worker, _ int) (time.Duration, error) {
	t := r.pick(w)
	d, err := r.c.do(ctx, &w.buf, "GET", lookupPath(userName(r.cfg.Prefix, t.i)), nil, 200)
	if err == nil && !bytes.Contains(w.buf.Bytes(), []byte(t.id)) {
		err = fmt.Errorf("lookup of user %d: its id %s is not in the response", t.i, t.id)
	}
	return d, err
}

func (r *runner) getOne(ctx context.Context, w *worker, _ int) (time.Duration, error) {
	t := r.pick(w)
	d, err := r.c.do(ctx, &w.buf, "GET", "/Users/"+t.id, nil, 200)
	if err == nil && !bytes.Contains(w.buf.Bytes(), []byte(t.id)) {
		err = fmt.Errorf("GET user %d: its id %s is not in the response", t.i, t.id)
	}
	return d, err
}

var activeBodies = [2][]byte{activeBody(false), activeBody(true)}

func (r *runner) patchOne(ctx context.Context, w *worker, seq int) (time.Duration, error) {
	t := r.pick(w)
	return r.c.do(ctx, &w.buf, "PATCH", "/Users/"+t.id, activeBodies[seq%2], 0)
}

// provisionUser is Okta's assignment: lookup, then POST if absent. It
// returns the id and whether the user was created.
func (r *runner) provisionUser(ctx context.Context, w *worker, prefix string, i int) (id string, created bool, lookup, post time.Duration, err error) {
	lookup, err = r.c.do(ctx, &w.buf, "GET", lookupPath(userName(prefix, i)), nil, 200)
	if err != nil {
		return "", false, lookup, 0, err
	}
	var lr listResp
	if err := json.Unmarshal(w.buf.Bytes(), &lr); err != nil {
		return "", false, lookup, 0, fmt.Errorf("lookup response: %w", err)
	}
	if lr.TotalResults > 0 && len(lr.Resources) > 0 {
		return lr.Resources[0].ID, false, lookup, 0, nil
	}
	post, err = r.c.do(ctx, &w.buf, "POST", "/Users", createBody(prefix, i), 201)
	if err != nil {
		return "", false, lookup, post, err
	}
	id, err = idOf(w.buf.Bytes())
	return id, true, lookup, post, err
}

// seed provisions users 0..N-1 the way Okta does and records their ids.
func (r *runner) seed(ctx context.Context) ([]*OpResult, int, error) {
	n := r.cfg.Users
	fmt.Fprintf(r.log, "scimload: seed %d users (concurrency %d)…\n", n, r.cfg.SeedConcurrency)
	ids := make([]string, n)
	var next, created, done atomic.Int64
	var e errs
	type lat struct{ all, lookup, post []time.Duration }
	lats := make([]lat, r.cfg.SeedConcurrency)
	start := time.Now()
	deadline := start.Add(r.cfg.MaxPhase)
	var wg sync.WaitGroup
	for k := range r.cfg.SeedConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{n: k}
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				id, c, dl, dp, err := r.provisionUser(ctx, w, r.cfg.Prefix, i)
				l := &lats[k]
				l.all = append(l.all, dl+dp)
				l.lookup = append(l.lookup, dl)
				if c || dp > 0 {
					l.post = append(l.post, dp)
				}
				if err != nil {
					e.add(err)
					continue
				}
				ids[i] = id
				if c {
					created.Add(1)
				}
				if d := done.Add(1); d%50000 == 0 {
					fmt.Fprintf(r.log, "scimload: seeded %d/%d (%.0f/s)\n", d, n, float64(d)/time.Since(start).Seconds())
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	var all, lookups, posts [][]time.Duration
	for _, l := range lats {
		all, lookups, posts = append(all, l.all), append(lookups, l.lookup), append(posts, l.post)
	}
	seed := summarize("seed", slices.Concat(all...), e.n, wall)
	seed.ErrSamples = e.samples
	seed.Extra = map[string]float64{"created": float64(created.Load()), "existing": float64(int(done.Load()) - int(created.Load()))}
	// The sub-rows split the seed's latency; their throughput is not
	// meaningful on its own.
	sl, sp := summarize("seed.lookup", slices.Concat(lookups...), 0, 0), summarize("seed.post", slices.Concat(posts...), 0, 0)
	res := []*OpResult{seed, sl, sp}
	for i, id := range ids {
		if id != "" {
			r.known = append(r.known, target{i, id})
		}
	}
	if ctx.Err() != nil {
		return res, int(created.Load()), ctx.Err()
	}
	if len(r.known) < n {
		fmt.Fprintf(r.log, "scimload: warning: only %d of %d users seeded (errors %d, max-phase %s)\n", len(r.known), n, e.n, r.cfg.MaxPhase)
	}
	return res, int(created.Load()), nil
}

// provision creates fresh users under a per-run prefix: Okta's lookup then
// POST, measured together as one provision. Unless --keep-provisioned, it
// then deletes them (not measured) so the tenant keeps its size across
// runs.
func (r *runner) provision(ctx context.Context) *OpResult {
	prefix := fmt.Sprintf("%sp%x-", r.cfg.Prefix, time.Now().UnixNano())
	var lk, po []time.Duration
	var ids []string
	var mu sync.Mutex
	res := r.timed(ctx, "provision", r.cfg.ProvisionMax, func(ctx context.Context, w *worker, seq int) (time.Duration, error) {
		id, created, dl, dp, err := r.provisionUser(ctx, w, prefix, seq)
		if err == nil && !created {
			err = fmt.Errorf("provision: user %s already existed", userName(prefix, seq))
		}
		mu.Lock()
		lk, po = append(lk, dl), append(po, dp)
		if created {
			ids = append(ids, id)
		}
		mu.Unlock()
		return dl + dp, err
	})
	res.Extra = map[string]float64{"lookup_p50_ms": ms(median(lk)), "post_p50_ms": ms(median(po))}
	if !r.cfg.KeepProvisioned {
		var next atomic.Int64
		var e errs
		var wg sync.WaitGroup
		for range r.cfg.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := &worker{}
				for ctx.Err() == nil {
					j := int(next.Add(1) - 1)
					if j >= len(ids) {
						return
					}
					if _, err := r.c.do(ctx, &w.buf, "DELETE", "/Users/"+ids[j], nil, 0); err != nil {
						e.add(err)
					}
				}
			}()
		}
		wg.Wait()
		res.Extra["deleted_after"] = float64(len(ids) - e.n)
		if e.n > 0 {
			fmt.Fprintf(r.log, "scimload: warning: %d of %d provisioned users not deleted: %s\n", e.n, len(ids), e.samples[0])
		}
	}
	return res
}

type putEntry struct {
	id     string
	bodies [2][]byte
	n      atomic.Int64
}

// put prepares PUT bodies from GETs of up to --put-pool users (not
// measured), then measures PUTs of those bodies, alternating two
// displayNames per user so every PUT changes the resource.
func (r *runner) put(ctx context.Context) (*OpResult, error) {
	n := min(r.cfg.PutPool, len(r.known))
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 7))
	perm := rng.Perm(len(r.known))[:n]
	pool := make([]*putEntry, n)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{}
			for ctx.Err() == nil {
				j := int(next.Add(1) - 1)
				if j >= n {
					return
				}
				t := r.known[perm[j]]
				_, err := r.c.do(ctx, &w.buf, "GET", "/Users/"+t.id, nil, 200)
				var a, b []byte
				if err == nil {
					a, err = putBody(w.buf.Bytes(), 0)
				}
				if err == nil {
					b, err = putBody(w.buf.Bytes(), 1)
				}
				if err != nil {
					mu.Lock()
					firstErr = cmpOr(firstErr, err)
					mu.Unlock()
					return
				}
				pool[j] = &putEntry{id: t.id, bodies: [2][]byte{a, b}}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("preparing PUT bodies: %w", firstErr)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return r.timed(ctx, "put", 0, func(ctx context.Context, w *worker, _ int) (time.Duration, error) {
		e := pool[w.rng.IntN(n)]
		return r.c.do(ctx, &w.buf, "PUT", "/Users/"+e.id, e.bodies[e.n.Add(1)%2], 200)
	}), nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// members creates one group and adds seeded users to it in batches of 100,
// one PATCH at a time, as Okta pushes a big group.
func (r *runner) members(ctx context.Context) (*OpResult, error) {
	const batch = 100
	m := len(r.known)
	if r.cfg.MembersMax > 0 {
		m = min(m, r.cfg.MembersMax)
	}
	w := &worker{}
	name := fmt.Sprintf("scimload-%s-%x", r.cfg.Prefix, time.Now().UnixNano())
	if _, err := r.c.do(ctx, &w.buf, "POST", "/Groups", groupBody(name), 201); err != nil {
		return nil, err
	}
	gid, err := idOf(w.buf.Bytes())
	if err != nil {
		return nil, err
	}
	var seq []time.Duration
	var e errs
	start := time.Now()
	deadline := start.Add(r.cfg.MaxPhase)
	ids := make([]string, 0, batch)
	displays := make([]string, 0, batch)
	for off := 0; off < m && ctx.Err() == nil && time.Now().Before(deadline); off += batch {
		ids, displays = ids[:0], displays[:0]
		for _, t := range r.known[off:min(off+batch, m)] {
			ids = append(ids, t.id)
			displays = append(displays, userName(r.cfg.Prefix, t.i))
		}
		d, err := r.c.do(ctx, &w.buf, "PATCH", "/Groups/"+gid, membersBody(ids, displays), 0)
		seq = append(seq, d)
		if err != nil {
			e.add(err)
		}
	}
	res := summarize("members", seq, e.n, time.Since(start))
	res.ErrSamples = e.samples
	firstLast(res, seq, 10)
	if len(seq) > 0 {
		res.Extra["first_batch_ms"] = ms(seq[0])
		res.Extra["last_batch_ms"] = ms(seq[len(seq)-1])
		res.Extra["batches"] = float64(len(seq))
		res.Extra["group_size"] = float64(min(len(seq)*batch, m))
	}
	return res, nil
}

// importAll walks /Users with startIndex/count=100 to the end, one page at
// a time, as Okta's import does.
func (r *runner) importAll(ctx context.Context) *OpResult {
	const count = 100
	w := &worker{}
	var seq []time.Duration
	var e errs
	seen, total := 0, 0
	start := time.Now()
	deadline := start.Add(r.cfg.MaxPhase)
	for idx := 1; ctx.Err() == nil && time.Now().Before(deadline); {
		d, err := r.c.do(ctx, &w.buf, "GET", fmt.Sprintf("/Users?startIndex=%d&count=%d", idx, count), nil, 200)
		seq = append(seq, d)
		if err != nil {
			e.add(err)
			break
		}
		var lr listResp
		if err := json.Unmarshal(w.buf.Bytes(), &lr); err != nil {
			e.add(fmt.Errorf("page at %d: %w", idx, err))
			break
		}
		total = lr.TotalResults
		seen += len(lr.Resources)
		idx += len(lr.Resources)
		if len(lr.Resources) == 0 || idx > total {
			break
		}
	}
	wall := time.Since(start)
	res := summarize("import", seq, e.n, wall)
	res.ErrSamples = e.samples
	firstLast(res, seq, 10)
	res.Extra["pages"] = float64(len(seq))
	res.Extra["users_seen"] = float64(seen)
	res.Extra["total_results"] = float64(total)
	res.Extra["total_s"] = round(wall.Seconds(), 3)
	if seen < total {
		fmt.Fprintf(r.log, "scimload: warning: import saw %d of %d users\n", seen, total)
	}
	return res
}

// filters measures the two richer filters the issue names.
func (r *runner) filters(ctx context.Context) []*OpResult {
	lastmod := filterPath(`meta.lastModified gt "` + r.since.Format(time.RFC3339Nano) + `"`)
	emails := filterPath(`emails[type eq "work" and value co "@example"]`)
	return []*OpResult{
		r.timed(ctx, "filter.lastmod", 0, func(ctx context.Context, w *worker, _ int) (time.Duration, error) {
			return r.c.do(ctx, &w.buf, "GET", lastmod, nil, 200)
		}),
		r.timed(ctx, "filter.emails", 0, func(ctx context.Context, w *worker, _ int) (time.Duration, error) {
			return r.c.do(ctx, &w.buf, "GET", emails, nil, 200)
		}),
	}
}
