// Package simulate replays the provisioning traffic of an identity provider
// (Okta or Microsoft Entra ID) against any SCIM 2.0 server, with the exact
// request shapes and sequences that IdP uses, and measures it.
//
// A run has phases — connection test, user assignment (lookup, then
// create), group push with memberships, profile updates, membership
// removal, group rename, deactivation and reactivation, import (Okta), and
// finally deletion of what it created (unless Config.Keep). Within a phase,
// Config.Concurrency workers share the users or groups, so with many users
// the run doubles as a load test: the Result holds the count, errors,
// throughput and latency percentiles of each operation.
//
// The simulator talks to the server only through package scimclient.
package simulate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/scimd/scimd/scimclient"
)

// Limits on a run's size.
const (
	MaxUsers       = 100000
	MaxGroups      = 10000
	MaxConcurrency = 256
	// maxErrorDetails is how many errors keep their full exchange.
	maxErrorDetails = 10
	// maxImportPages bounds the import phase on large servers.
	maxImportPages = 200
	// batch is how many members one membership PATCH carries.
	batch = 50
)

// IdPs the simulator can replay.
const (
	Okta  = "okta"
	Entra = "entra"
)

// Config configures Run.
type Config struct {
	// Client talks to the server, with its credentials.
	Client *scimclient.Client
	// IdP is Okta or Entra.
	IdP string
	// Users is the number of users to provision (default 10).
	Users int
	// Groups is the number of groups to push; zero pushes none. User i
	// joins group i mod Groups.
	Groups int
	// Concurrency is the number of parallel workers per phase (default 1).
	Concurrency int
	// Keep leaves the created users and groups in place.
	Keep bool
	// RunID names the run's resources; empty means random.
	RunID string
	// Progress, if non-nil, receives a line as each phase starts.
	Progress io.Writer
}

// OpStats summarises one kind of operation.
type OpStats struct {
	Name   string `json:"name"`
	Count  int    `json:"count"`
	Errors int    `json:"errors"`
	// Retried counts calls the client had to repeat after 429 or 503
	// (server rate limiting or overload); their latency includes the wait.
	Retried int           `json:"retried"`
	P50     time.Duration `json:"p50Ns"`
	P95     time.Duration `json:"p95Ns"`
	P99     time.Duration `json:"p99Ns"`
	Max     time.Duration `json:"maxNs"`
	// PerSecond is Count divided by the time during which at least one
	// call of this operation was in flight.
	PerSecond float64 `json:"perSecond"`
}

// Result is the outcome of a run.
type Result struct {
	IdP         string        `json:"idp"`
	RunID       string        `json:"runId"`
	Users       int           `json:"users"`
	Groups      int           `json:"groups"`
	Concurrency int           `json:"concurrency"`
	Duration    time.Duration `json:"durationNs"`
	// Requests counts HTTP attempts, retries included.
	Requests int `json:"requests"`
	// Ops are the operations in the order they were first used.
	Ops []OpStats `json:"ops"`
	// ErrorCount is the number of failed operations; Errors describes the
	// first few with their exchanges.
	ErrorCount int      `json:"errorCount"`
	Errors     []string `json:"errors,omitempty"`
	// Kept lists the resources left in place with Config.Keep.
	Kept []string `json:"kept,omitempty"`
}

// OK reports whether every operation succeeded.
func (r *Result) OK() bool { return r.ErrorCount == 0 }

// WriteText writes a table of the operations and a summary.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "simulate %s: %d users, %d groups, concurrency %d (run %s)\n\n", r.IdP, r.Users, r.Groups, r.Concurrency, r.RunID)
	fmt.Fprintf(&b, "%-22s %7s %6s %7s %9s %9s %9s %9s %9s\n", "operation", "count", "errors", "retried", "ops/s", "p50", "p95", "p99", "max")
	retried := 0
	for _, o := range r.Ops {
		fmt.Fprintf(&b, "%-22s %7d %6d %7d %9.1f %9s %9s %9s %9s\n", o.Name, o.Count, o.Errors, o.Retried, o.PerSecond,
			ms(o.P50), ms(o.P95), ms(o.P99), ms(o.Max))
		retried += o.Retried
	}
	rate := 0.0
	if r.Duration > 0 {
		rate = float64(r.Requests) / r.Duration.Seconds()
	}
	fmt.Fprintf(&b, "\n%d requests in %v (%.1f requests/s), %d errors\n", r.Requests, r.Duration.Round(time.Millisecond), rate, r.ErrorCount)
	if retried > 0 {
		fmt.Fprintf(&b, "%d calls were retried after 429 or 503 (rate limiting or overload on the server); their latency includes the wait\n", retried)
	}
	for _, e := range r.Errors {
		b.WriteString("\n" + e + "\n")
	}
	if n := r.ErrorCount - len(r.Errors); n > 0 {
		fmt.Fprintf(&b, "\n… and %d more errors\n", n)
	}
	for _, k := range r.Kept {
		fmt.Fprintf(&b, "kept: %s\n", k)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// Run replays cfg.IdP's lifecycle and returns the measurements. It
// returns an error only for an unusable Config; failed operations are in
// the Result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Client == nil {
		return nil, errors.New("simulate: no client")
	}
	if cfg.IdP != Okta && cfg.IdP != Entra {
		return nil, fmt.Errorf("simulate: unknown IdP %q (want okta or entra)", cfg.IdP)
	}
	if cfg.Users == 0 {
		cfg.Users = 10
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 1
	}
	switch {
	case cfg.Users < 1 || cfg.Users > MaxUsers:
		return nil, fmt.Errorf("simulate: users must be 1..%d", MaxUsers)
	case cfg.Groups < 0 || cfg.Groups > MaxGroups:
		return nil, fmt.Errorf("simulate: groups must be 0..%d", MaxGroups)
	case cfg.Concurrency < 1 || cfg.Concurrency > MaxConcurrency:
		return nil, fmt.Errorf("simulate: concurrency must be 1..%d", MaxConcurrency)
	}
	if cfg.RunID == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		cfg.RunID = hex.EncodeToString(b)
	}
	s := &sim{cfg: cfg, c: cfg.Client, stats: map[string]*opRec{}}
	s.users = make([]user, cfg.Users)
	for i := range s.users {
		s.users[i].name = fmt.Sprintf("sim-%s-u%05d@example.com", cfg.RunID, i)
	}
	s.groups = make([]group, cfg.Groups)
	for i := range s.groups {
		s.groups[i].name = fmt.Sprintf("sim-%s-g%04d", cfg.RunID, i)
	}
	start := time.Now()
	if cfg.IdP == Okta {
		s.okta(ctx)
	} else {
		s.entra(ctx)
	}
	if cfg.Keep {
		for _, g := range s.groups {
			if g.id != "" {
				s.kept = append(s.kept, "/Groups/"+g.id)
			}
		}
		for _, u := range s.users {
			if u.id != "" {
				s.kept = append(s.kept, "/Users/"+u.id)
			}
		}
	} else {
		s.cleanup(ctx)
	}
	return s.result(time.Since(start)), nil
}

type user struct {
	name string
	id   string
}

type group struct {
	name    string
	id      string
	members []int // indexes into users
}

// sim is one run's state.
type sim struct {
	cfg    Config
	c      *scimclient.Client
	users  []user
	groups []group

	mu       sync.Mutex
	order    []string
	stats    map[string]*opRec
	errCount int
	errs     []string
	requests int
	kept     []string
}

type opRec struct {
	lat     []time.Duration
	spans   []span
	errors  int
	retried int
}

// span is the time one call was in flight.
type span struct{ start, end time.Time }

// busy returns the total time covered by the union of spans.
func busy(spans []span) time.Duration {
	spans = slices.Clone(spans)
	slices.SortFunc(spans, func(a, b span) int { return a.start.Compare(b.start) })
	var total time.Duration
	var cur span
	for i, sp := range spans {
		switch {
		case i == 0:
			cur = sp
		case !sp.start.After(cur.end):
			if sp.end.After(cur.end) {
				cur.end = sp.end
			}
		default:
			total += cur.end.Sub(cur.start)
			cur = sp
		}
	}
	if len(spans) > 0 {
		total += cur.end.Sub(cur.start)
	}
	return total
}

// phase runs fn(i) for i in [0, n) on cfg.Concurrency workers, stopping
// early when ctx ends.
func (s *sim) phase(ctx context.Context, name string, n int, fn func(ctx context.Context, i int)) {
	if s.cfg.Progress != nil {
		fmt.Fprintf(s.cfg.Progress, "simulate %s: %s (%d)\n", s.cfg.IdP, name, n)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(s.cfg.Concurrency, max(n, 1)) {
		wg.Go(func() {
			for i := range next {
				fn(ctx, i)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

// call sends one request as operation op and checks its status. It
// returns the response if the status was one of want, else nil (after
// recording the error).
func (s *sim) call(ctx context.Context, op, method, path string, body any, want ...int) *scimclient.Response {
	start := time.Now()
	resp, err := s.c.Do(ctx, method, path, body, nil)
	end := time.Now()
	ok := err == nil && slices.Contains(want, resp.Status)
	s.mu.Lock()
	r := s.stats[op]
	if r == nil {
		r = &opRec{}
		s.stats[op] = r
		s.order = append(s.order, op)
	}
	r.lat = append(r.lat, end.Sub(start))
	r.spans = append(r.spans, span{start, end})
	s.requests++
	if resp != nil && resp.Attempts > 1 {
		r.retried++
		s.requests += resp.Attempts - 1
	}
	if !ok {
		r.errors++
	}
	s.mu.Unlock()
	switch {
	case err != nil:
		s.fail("%s: %s %s: %v", op, method, path, err)
		return nil
	case !ok:
		ex := &scimclient.Exchange{Request: resp.Request, Response: resp, Attempt: resp.Attempts}
		s.fail("%s: status %d, want %v\n%s", op, resp.Status, want, ex.String())
		return nil
	}
	return resp
}

// fail records an error that is not tied to a status (or is).
func (s *sim) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errCount++
	if len(s.errs) < maxErrorDetails {
		s.errs = append(s.errs, fmt.Sprintf(format, args...))
	}
}

// failResp records a semantic error (right status, wrong content) for an
// operation that was already counted.
func (s *sim) failResp(op string, resp *scimclient.Response, format string, args ...any) {
	s.mu.Lock()
	if r := s.stats[op]; r != nil {
		r.errors++
	}
	s.mu.Unlock()
	ex := &scimclient.Exchange{Request: resp.Request, Response: resp, Attempt: resp.Attempts}
	s.fail("%s: %s\n%s", op, fmt.Sprintf(format, args...), ex.String())
}

// query encodes pairs with spaces as %20 (plus=false) or '+' (plus=true).
func query(plus bool, kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		v := url.QueryEscape(kv[i+1])
		if !plus {
			v = strings.ReplaceAll(v, "+", "%20")
		}
		b.WriteString(kv[i] + "=" + v)
	}
	return b.String()
}

// lookupEmpty sends a lookup that must find nothing yet.
func (s *sim) lookupEmpty(ctx context.Context, op, path string) {
	resp := s.call(ctx, op, http.MethodGet, path, nil, http.StatusOK)
	if resp == nil {
		return
	}
	if n, ok := scimclient.Resource(resp.JSON).Int("totalResults"); !ok || n != 0 {
		s.failResp(op, resp, "totalResults %v before create, want the integer 0", resp.JSON["totalResults"])
	}
}

// created extracts the id of a created resource.
func (s *sim) created(op string, resp *scimclient.Response) string {
	if resp == nil {
		return ""
	}
	id := scimclient.Resource(resp.JSON).ID()
	if id == "" {
		s.failResp(op, resp, "created resource has no id")
	}
	return id
}

// assignMembers gives each group its users, round-robin.
func (s *sim) assignMembers() {
	if len(s.groups) == 0 {
		return
	}
	for i := range s.users {
		g := &s.groups[i%len(s.groups)]
		g.members = append(g.members, i)
	}
}

func (s *sim) cleanup(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	s.phase(ctx, "delete groups", len(s.groups), func(ctx context.Context, i int) {
		if id := s.groups[i].id; id != "" {
			s.call(ctx, "delete-group", http.MethodDelete, "/Groups/"+url.PathEscape(id), nil, http.StatusNoContent, http.StatusOK)
		}
	})
	s.phase(ctx, "delete users", len(s.users), func(ctx context.Context, i int) {
		if id := s.users[i].id; id != "" {
			s.call(ctx, "delete-user", http.MethodDelete, "/Users/"+url.PathEscape(id), nil, http.StatusNoContent, http.StatusOK)
		}
	})
}

func (s *sim) result(d time.Duration) *Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Result{
		IdP: s.cfg.IdP, RunID: s.cfg.RunID, Users: s.cfg.Users, Groups: s.cfg.Groups, Concurrency: s.cfg.Concurrency,
		Duration: d, Requests: s.requests, ErrorCount: s.errCount, Errors: s.errs, Kept: s.kept,
	}
	for _, name := range s.order {
		rec := s.stats[name]
		lat := slices.Clone(rec.lat)
		slices.Sort(lat)
		o := OpStats{Name: name, Count: len(lat), Errors: rec.errors, Retried: rec.retried,
			P50: percentile(lat, 50), P95: percentile(lat, 95), P99: percentile(lat, 99), Max: lat[len(lat)-1]}
		if d := busy(rec.spans); d > 0 {
			o.PerSecond = float64(len(lat)) / d.Seconds()
		}
		r.Ops = append(r.Ops, o)
	}
	return r
}

// percentile returns the p-th percentile of sorted (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 · n)
	return sorted[max(rank, 1)-1]
}

// chunks splits idx into slices of at most n.
func chunks(idx []int, n int) [][]int {
	var out [][]int
	for len(idx) > n {
		out = append(out, idx[:n])
		idx = idx[n:]
	}
	if len(idx) > 0 {
		out = append(out, idx)
	}
	return out
}

func randomGUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
