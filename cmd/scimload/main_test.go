package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const testToken = "test-token"

// mustCeiling starts the ceiling on a real loopback socket.
func mustCeiling(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(newCeiling(testToken, "/scim/v2"))
	t.Cleanup(srv.Close)
	return srv.URL + "/scim/v2"
}

func testConfig(url string) runConfig {
	return runConfig{
		URL: url, Token: testToken, Users: 300, Concurrency: 4,
		Duration: 10 * time.Second, Requests: 200, Ops: allOps, Prefix: "t",
		Seed: 1, ProvisionMax: 150, PutPool: 50, MaxPhase: time.Minute, Timeout: 10 * time.Second,
	}
}

func TestRunAgainstCeiling(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	rep, err := Run(ctx, testConfig(mustCeiling(t)), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rep.Seeded, 300; got != want {
		t.Errorf("seeded %d users, want %d", got, want)
	}
	want := map[string]int{ // op → requests
		"seed": 300, "seed.lookup": 300, "seed.post": 300, "provision": 150,
		"lookup": 200, "get": 200, "patch": 200, "put": 200,
		"members": 3, "import": 3, "filter.lastmod": 200, "filter.emails": 200,
	}
	for _, o := range rep.Ops {
		n, ok := want[o.Op]
		if !ok {
			t.Errorf("unexpected op %q", o.Op)
			continue
		}
		delete(want, o.Op)
		if o.Requests != n || o.Errors != 0 {
			t.Errorf("%s: %d requests, %d errors (%v); want %d, 0", o.Op, o.Requests, o.Errors, o.ErrSamples, n)
		}
		if o.Requests > 0 && (o.P50 <= 0 || o.P50 > o.P95 || o.P95 > o.P99 || o.P99 > o.Max) {
			t.Errorf("%s: percentiles out of order: p50 %v p95 %v p99 %v max %v", o.Op, o.P50, o.P95, o.P99, o.Max)
		}
	}
	for op := range want {
		t.Errorf("op %s missing from the report", op)
	}
	imp := findOp(rep, "import")
	// The provision op deleted what it created: the import sees the seed.
	if imp.Extra["users_seen"] != 300 || imp.Extra["total_results"] != 300 {
		t.Errorf("import extra = %v; want 300 users seen of 300", imp.Extra)
	}
	if m := findOp(rep, "members"); m.Extra["group_size"] != 300 || m.Extra["batches"] != 3 {
		t.Errorf("members extra = %v; want 3 batches, group of 300", m.Extra)
	}
	if p := findOp(rep, "provision"); p.Extra["deleted_after"] != 150 {
		t.Errorf("provision extra = %v; want 150 deleted", p.Extra)
	}
}

func TestRunSecondTimeLinksExistingUsers(t *testing.T) {
	url := mustCeiling(t)
	cfg := testConfig(url)
	cfg.Ops = []string{"get"}
	ctx := context.Background()
	if _, err := Run(ctx, cfg, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(ctx, cfg, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Seeded != 300 || rep.Created != 0 {
		t.Errorf("second run: seeded %d, created %d; want 300, 0", rep.Seeded, rep.Created)
	}
	if o := findOp(rep, "get"); o.Errors != 0 {
		t.Errorf("get after re-seed: %d errors: %v", o.Errors, o.ErrSamples)
	}
}

func TestRunCountsErrors(t *testing.T) {
	cfg := testConfig(mustCeiling(t))
	cfg.Token = "wrong"
	cfg.Users, cfg.Ops = 20, nil
	rep, err := Run(context.Background(), cfg, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	seed := findOp(rep, "seed")
	if seed.Errors != 20 || len(seed.ErrSamples) == 0 || !strings.Contains(seed.ErrSamples[0], "401") {
		t.Errorf("seed with a wrong token: %d errors %v; want 20 errors with status 401", seed.Errors, seed.ErrSamples)
	}
}

func TestCommandLine(t *testing.T) {
	url := mustCeiling(t)
	dir := t.TempDir()
	ceilingJSON, serverJSON := filepath.Join(dir, "c.json"), filepath.Join(dir, "s.json")
	for _, out := range []string{ceilingJSON, serverJSON} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"run", "--url", url, "--token", testToken, "--users", "100",
			"--concurrency", "1", "--seed-concurrency", "3",
			"--requests", "50", "--ops", "lookup,get,patch", "--json", out}, &stdout, &stderr)
		if err != nil {
			t.Fatalf("run: %v\n%s", err, stderr.String())
		}
		if !strings.Contains(stderr.String(), "seed 100 users (concurrency 3)") {
			t.Errorf("seed phase not at --seed-concurrency 3:\n%s", stderr.String())
		}
		if !strings.Contains(stdout.String(), "lookup") || !strings.Contains(stdout.String(), "p99 ms") {
			t.Errorf("table lacks rows or header:\n%s", stdout.String())
		}
	}
	b, err := os.ReadFile(serverJSON)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if o := findOp(&rep, "patch"); o == nil || o.Requests != 50 {
		t.Errorf("JSON report patch row = %+v; want 50 requests", o)
	}
	if rep.Concurrency != 1 {
		t.Errorf("JSON report concurrency = %d; want 1 (--concurrency)", rep.Concurrency)
	}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"compare", ceilingJSON, serverJSON}, &stdout, &stderr); err != nil {
		t.Fatalf("compare: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "| lookup |") || !strings.Contains(stdout.String(), "≥ 0.60") {
		t.Errorf("compare output:\n%s", stdout.String())
	}
	if err := run(context.Background(), []string{"run", "--url", url, "--ops", "nope"}, &stdout, &stderr); err == nil {
		t.Error("run --ops nope: no error")
	}
}

// TestRunRoundRobin runs against two listeners of one server (one ceiling
// behind both, as instances of one server share a database): requests go
// to each in turn.
func TestRunRoundRobin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	h := newCeiling(testToken, "/scim/v2")
	var hits [2]atomic.Int64
	var urls []string
	for i := range hits {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[i].Add(1)
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL+"/scim/v2/")
	}
	cfg := testConfig(strings.Join(urls, ","))
	cfg.Ops = []string{"get", "import"}
	rep, err := Run(ctx, cfg, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range rep.Ops {
		if o.Errors != 0 {
			t.Errorf("%s: %d errors (%v)", o.Op, o.Errors, o.ErrSamples)
		}
	}
	a, b := hits[0].Load(), hits[1].Load()
	if a+b < 800 || a-b > 1 || b-a > 1 {
		t.Errorf("requests per listener: %d and %d; want an even split of at least 800", a, b)
	}
}
