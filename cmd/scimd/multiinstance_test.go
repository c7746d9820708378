package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/pgtest"
)

// TestMultiInstance starts two real "scimd serve" processes on one
// PostgreSQL database and checks that they behave as one server:
// uniqueness, membership updates and If-Match hold across them.
func TestMultiInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	dbURL := pgtest.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	bin := buildScimd(t, ctx)
	const token = "multi-instance-test-token-0123456789"
	// Both start at once on the empty database: they race to apply the
	// migrations and to create the default tenant and bootstrap token.
	waitA := startProcess(t, ctx, bin, dbURL, token, "a")
	waitB := startProcess(t, ctx, bin, dbURL, token, "b")
	a, b := waitA(), waitB()
	instances := []*instance{a, b}

	t.Run("CreateSameUserName", func(t *testing.T) {
		const n = 20
		codes := make([]int, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				res := instances[i%2].do(t, ctx, "POST", "/Users", map[string]any{
					"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
					"userName": "Race@Example.com",
				}, nil)
				codes[i] = res.status
			})
		}
		close(start)
		wg.Wait()
		created, conflicts := 0, 0
		for _, c := range codes {
			switch c {
			case http.StatusCreated:
				created++
			case http.StatusConflict:
				conflicts++
			}
		}
		if created != 1 || conflicts != n-1 {
			t.Errorf("statuses %v: %d created, %d conflicts; want exactly 1 and %d", codes, created, conflicts, n-1)
		}
		for _, in := range instances {
			res := in.do(t, ctx, "GET", `/Users?filter=userName%20eq%20%22race@example.com%22`, nil, nil)
			if got := int(res.body["totalResults"].(float64)); got != 1 {
				t.Errorf("instance %s: %d users named race@example.com, want 1", in.name, got)
			}
		}
	})

	t.Run("ConcurrentMemberPatches", func(t *testing.T) {
		const perInstance = 50
		var users []string
		for i := range 2 * perInstance {
			res := instances[i%2].do(t, ctx, "POST", "/Users", map[string]any{
				"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
				"userName": fmt.Sprintf("member%03d@example.com", i),
			}, nil)
			if res.status != http.StatusCreated {
				t.Fatalf("create user %d: %d %v", i, res.status, res.body)
			}
			users = append(users, res.body["id"].(string))
		}
		res := a.do(t, ctx, "POST", "/Groups", map[string]any{
			"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
			"displayName": "Everyone",
		}, nil)
		if res.status != http.StatusCreated {
			t.Fatalf("create group: %d %v", res.status, res.body)
		}
		group := res.body["id"].(string)
		statuses := make([]int, len(users))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, u := range users {
			wg.Go(func() {
				<-start
				res := instances[i%2].do(t, ctx, "PATCH", "/Groups/"+group, map[string]any{
					"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
					"Operations": []any{map[string]any{
						"op": "add", "path": "members", "value": []any{map[string]any{"value": u}},
					}},
				}, nil)
				statuses[i] = res.status
			})
		}
		close(start)
		wg.Wait()
		for i, s := range statuses {
			if s != http.StatusOK && s != http.StatusNoContent {
				t.Errorf("PATCH %d through %s: status %d", i, instances[i%2].name, s)
			}
		}
		for _, in := range instances {
			res := in.do(t, ctx, "GET", "/Groups/"+group, nil, nil)
			members, _ := res.body["members"].([]any)
			got := map[string]bool{}
			for _, m := range members {
				got[m.(map[string]any)["value"].(string)] = true
			}
			missing := 0
			for _, u := range users {
				if !got[u] {
					missing++
				}
			}
			if len(got) != len(users) || missing > 0 {
				t.Errorf("instance %s: group has %d members, %d of %d missing", in.name, len(got), missing, len(users))
			}
		}
	})

	t.Run("IfMatchAcrossInstances", func(t *testing.T) {
		res := a.do(t, ctx, "POST", "/Users", map[string]any{
			"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName": "etag@example.com",
		}, nil)
		if res.status != http.StatusCreated {
			t.Fatalf("create: %d %v", res.status, res.body)
		}
		id := res.body["id"].(string)
		got := a.do(t, ctx, "GET", "/Users/"+id, nil, nil)
		etag := got.header.Get("ETag")
		if etag == "" {
			t.Fatal("GET returned no ETag")
		}
		patch := func(in *instance, title string) instResponse {
			return in.do(t, ctx, "PATCH", "/Users/"+id, map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []any{map[string]any{"op": "replace", "path": "title", "value": title}},
			}, map[string]string{"If-Match": etag})
		}
		if res := patch(a, "first"); res.status != http.StatusOK && res.status != http.StatusNoContent {
			t.Fatalf("PATCH with current ETag through a: %d %v", res.status, res.body)
		}
		if res := patch(b, "second"); res.status != http.StatusPreconditionFailed {
			t.Errorf("PATCH with stale ETag through b: %d %v, want 412", res.status, res.body)
		}
		final := b.do(t, ctx, "GET", "/Users/"+id, nil, nil)
		if final.body["title"] != "first" {
			t.Errorf("title = %v, want first", final.body["title"])
		}
	})

	t.Run("ImportAcrossInstances", func(t *testing.T) {
		// An IdP import (startIndex paging) whose pages a round-robin
		// balancer spreads over both instances: each instance seeks from
		// the page it served before last (postgres/list.go), and the walk
		// still returns every user once, in the order of a single list.
		ids := func(res instResponse) []string {
			var out []string
			for _, r := range res.body["Resources"].([]any) {
				out = append(out, r.(map[string]any)["id"].(string))
			}
			return out
		}
		whole := a.do(t, ctx, "GET", "/Users?startIndex=1&count=1000", nil, nil)
		want := ids(whole)
		total := int(whole.body["totalResults"].(float64))
		if total != len(want) || total < 100 {
			t.Fatalf("whole list: %d users, totalResults %d; want the same, at least 100", len(want), total)
		}
		var got []string
		for page, start := 0, 1; start <= total; page, start = page+1, start+7 {
			res := instances[page%2].do(t, ctx, "GET", fmt.Sprintf("/Users?startIndex=%d&count=7", start), nil, nil)
			if res.status != http.StatusOK {
				t.Fatalf("page at %d through %s: %d %v", start, instances[page%2].name, res.status, res.body)
			}
			if n := int(res.body["totalResults"].(float64)); n != total {
				t.Errorf("page at %d through %s: totalResults %d, want %d", start, instances[page%2].name, n, total)
			}
			got = append(got, ids(res)...)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("import across instances returned %d users:\n%v\nwant %d:\n%v", len(got), got, len(want), want)
		}
	})
}

// buildScimd builds this command into a temporary directory.
func buildScimd(t *testing.T, ctx context.Context) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "scimd")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// instance is one running "scimd serve" process.
type instance struct {
	name  string
	base  string // SCIM base URL
	token string
	http  *http.Client
}

// startProcess starts "scimd serve" on a free loopback port and returns a
// function that waits until it answers; it is stopped with SIGTERM (by its
// PID) when the test ends.
func startProcess(t *testing.T, ctx context.Context, bin, dbURL, token, name string) func() *instance {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--addr", addr, "--database", dbURL)
	cmd.Env = append(os.Environ(), "SCIMD_BOOTSTRAP_TOKEN="+token, "SCIMD_LOG_LEVEL=warn",
		"SCIMD_DATABASE=", "SCIMD_CONFIG=", "SCIMD_NO_MIGRATE=",
		// The bursts below are the point of the test, not abuse.
		"SCIMD_TENANT_RATE=0", "SCIMD_CREDENTIAL_RATE=0")
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("instance %s exited: %v", name, err)
			}
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Errorf("instance %s did not stop on SIGTERM within 30s", name)
		}
		if t.Failed() {
			t.Logf("instance %s log:\n%s", name, logs.String())
		}
	})
	in := &instance{name: name, base: "http://" + addr + "/scim/v2", token: token,
		http: &http.Client{Timeout: 30 * time.Second}}
	return func() *instance {
		t.Helper()
		waitReady(t, ctx, in, exited, &logs)
		return in
	}
}

// waitReady waits until in answers a request, failing the test if its
// process exits or it takes a minute.
func waitReady(t *testing.T, ctx context.Context, in *instance, exited chan error, logs *syncBuffer) {
	t.Helper()
	name, token := in.name, in.token
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("instance %s exited on start: %v\n%s", name, err, logs.String())
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", in.base+"/ServiceProviderConfig", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if res, err := in.http.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s not ready after 60s\n%s", name, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type instResponse struct {
	status int
	header http.Header
	body   map[string]any
}

// do sends a SCIM request; body, if not nil, is sent as JSON.
func (in *instance) do(t *testing.T, ctx context.Context, method, path string, body any, headers map[string]string) instResponse {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Errorf("encode request: %v", err)
			return instResponse{}
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, in.base+path, r)
	if err != nil {
		t.Errorf("request: %v", err)
		return instResponse{}
	}
	req.Header.Set("Authorization", "Bearer "+in.token)
	req.Header.Set("Content-Type", "application/scim+json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := in.http.Do(req)
	if err != nil {
		t.Errorf("%s %s via %s: %v", method, path, in.name, err)
		return instResponse{}
	}
	defer res.Body.Close()
	out := instResponse{status: res.StatusCode, header: res.Header}
	data, _ := io.ReadAll(bufio.NewReader(res.Body))
	if len(strings.TrimSpace(string(data))) > 0 {
		if err := json.Unmarshal(data, &out.body); err != nil {
			t.Errorf("%s %s via %s: %d, body not JSON: %v\n%s", method, path, in.name, res.StatusCode, err, data)
		}
	}
	return out
}

// TestMigrateCommand runs "scimd migrate" twice on a PostgreSQL database
// and a SQLite file, and "serve --no-migrate" on an empty database.
func TestMigrateCommand(t *testing.T) {
	for _, c := range []struct{ name, db string }{
		{"postgres", pgtest.URL(t)},
		{"sqlite", filepath.Join(t.TempDir(), "scimd.db")},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := func(out *bytes.Buffer) Env {
				return Env{Stdout: out, Stderr: out, Getenv: func(string) string { return "" }}
			}
			var first, second bytes.Buffer
			if err := Run(t.Context(), []string{"migrate", "--database", c.db}, env(&first)); err != nil {
				t.Fatalf("first migrate: %v\n%s", err, first.String())
			}
			if !strings.Contains(first.String(), "applied 0001_init.sql") {
				t.Errorf("first migrate printed %q, want applied 0001_init.sql", first.String())
			}
			if err := Run(t.Context(), []string{"migrate", "--database", c.db}, env(&second)); err != nil {
				t.Fatalf("second migrate: %v\n%s", err, second.String())
			}
			if strings.Contains(second.String(), "applied") || !strings.Contains(second.String(), "up to date") {
				t.Errorf("second migrate printed %q, want up to date", second.String())
			}
		})
	}
	t.Run("NoMigrateBehind", func(t *testing.T) {
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		err := Run(ctx, []string{"serve", "--no-migrate", "--addr", "127.0.0.1:0", "--database", pgtest.URL(t)},
			Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }})
		if err == nil || !strings.Contains(err.Error(), "scimd migrate") {
			t.Errorf("serve --no-migrate on an empty database: %v, want an error naming scimd migrate", err)
		}
	})
}
