package scimhttp_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/scimhttp"
)

// raceEnabled is set by stream_race_test.go under -race.
var raceEnabled bool

// seedGroup creates n users and a group holding them all, in the order
// created, directly in the store; every seventh user's display has
// characters that JSON or HTML escaping changes.
func seedGroup(tb testing.TB, store scimd.Store, tenant, name string, n int) *scimd.Resource {
	tb.Helper()
	ctx := context.Background()
	members := make([]scimd.Member, 0, n)
	for i := range n {
		display := fmt.Sprintf("User %d", i)
		if i%7 == 0 {
			display = fmt.Sprintf("R&D <%d> \"q\" \u2028", i)
		}
		u, err := store.Create(ctx, tenant, &scimd.Resource{Type: scimd.TypeUser, Schemas: []string{schema.URNUser},
			Attrs: map[string]any{"userName": fmt.Sprintf("%s-u%07d", name, i), "displayName": display}})
		if err != nil {
			tb.Fatal(err)
		}
		members = append(members, scimd.Member{Value: u.ID})
	}
	g, err := store.Create(ctx, tenant, &scimd.Resource{Type: scimd.TypeGroup, Schemas: []string{schema.URNGroup},
		Attrs: map[string]any{"displayName": name}, Members: members})
	if err != nil {
		tb.Fatal(err)
	}
	g.Members = nil
	return g
}

// renderLoaded is what GET /Groups/{id} answered before members were
// streamed: Render over the group with every member loaded.
func renderLoaded(tb testing.TB, s *server, id string, p *schema.Projection) []byte {
	tb.Helper()
	g, err := s.store.Get(context.Background(), tenantA, scimd.TypeGroup, id, scimd.ReadOptions{Members: true})
	if err != nil {
		tb.Fatal(err)
	}
	b, err := s.reg.ResourceType(scimd.TypeGroup).Render(g, s.url, p)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestGetGroupStreamed: GET of a 20,000-member group (3,000 under -race) answers exactly what
// rendering the loaded group gives, sent as it is produced; ETag and
// If-None-Match work as before; a small group is still sent at once with a
// Content-Length.
func TestGetGroupStreamed(t *testing.T) {
	s := newTestServer(t, nil)
	n := 20000
	if raceEnabled {
		n = 3000 // still far past the 64 KiB spool
	}
	big := seedGroup(t, s.store, tenantA, "big", n)
	small := seedGroup(t, s.store, tenantA, "small", 3)

	for _, q := range []string{"", "?attributes=members.value", "?excludedAttributes=members.display", "?attributes=displayName,members"} {
		v, _ := url.ParseQuery(strings.TrimPrefix(q, "?"))
		p, err := schema.ParseProjection(v.Get("attributes"), v.Get("excludedAttributes"))
		if err != nil {
			t.Fatal(err)
		}
		resp := s.do("GET", "/Groups/"+big.ID+q, nil)
		if resp.status != http.StatusOK {
			t.Fatalf("GET%s: %d %s", q, resp.status, resp.raw)
		}
		want := renderLoaded(t, s, big.ID, p)
		if !bytes.Equal(resp.raw, want) {
			t.Fatalf("GET%s: streamed body (%d bytes) differs from Render (%d bytes)", q, len(resp.raw), len(want))
		}
		if got := resp.header.Get("ETag"); got != big.Meta.ETag() {
			t.Errorf("ETag %q, want %q", got, big.Meta.ETag())
		}
		if cl := resp.header.Get("Content-Length"); cl != "" {
			t.Errorf("a %d-byte body was spooled whole (Content-Length %s)", len(want), cl)
		}
		if ct := resp.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
			t.Errorf("Content-Type %q", ct)
		}
	}
	if got := len(s.do("GET", "/Groups/"+big.ID, nil).body["members"].([]any)); got != n {
		t.Errorf("%d members in the response, want %d", got, n)
	}

	resp := s.do("GET", "/Groups/"+small.ID, nil)
	if want := renderLoaded(t, s, small.ID, nil); resp.status != 200 || !bytes.Equal(resp.raw, want) {
		t.Errorf("small group: %d %s\nwant %s", resp.status, resp.raw, want)
	}
	if cl := resp.header.Get("Content-Length"); cl != strconv.Itoa(len(resp.raw)) {
		t.Errorf("small group: Content-Length %q, want %d", cl, len(resp.raw))
	}

	resp = s.do("GET", "/Groups/"+big.ID, nil, "If-None-Match", big.Meta.ETag())
	if resp.status != http.StatusNotModified || len(resp.raw) != 0 || resp.header.Get("ETag") != big.Meta.ETag() {
		t.Errorf("If-None-Match: %d, ETag %q, %d bytes", resp.status, resp.header.Get("ETag"), len(resp.raw))
	}
	resp = s.do("GET", "/Groups/"+big.ID, nil, "If-None-Match", `W/"999"`)
	if resp.status != http.StatusOK {
		t.Errorf("stale If-None-Match: %d", resp.status)
	}
	for _, id := range []string{scimd.NewID(), seedGroup(t, s.store, tenantB, "other", 1).ID} {
		resp = s.do("GET", "/Groups/"+id, nil)
		if resp.status != http.StatusNotFound || resp.header.Get("ETag") != "" {
			t.Errorf("missing group: %d, ETag %q: %s", resp.status, resp.header.Get("ETag"), resp.raw)
		}
	}
}

// listResponse mirrors the handler's ListResponse encoding.
type listResponse struct {
	Schemas        []string          `json:"schemas"`
	TotalResults   *int              `json:"totalResults,omitempty"`
	StartIndex     int               `json:"startIndex,omitempty"`
	ItemsPerPage   int               `json:"itemsPerPage"`
	NextCursor     string            `json:"nextCursor,omitempty"`
	PreviousCursor string            `json:"previousCursor,omitempty"`
	Resources      []json.RawMessage `json:"Resources"`
}

// TestListGroupsStreamed: list and .search pages of groups, their members
// streamed group by group, answer exactly what the handler answered when
// it loaded them (json.Marshal of the page, HTML escaping included).
func TestListGroupsStreamed(t *testing.T) {
	s := newTestServer(t, nil)
	seedGroup(t, s.store, tenantA, "g1", 2000)
	seedGroup(t, s.store, tenantA, "g2", 0)
	seedGroup(t, s.store, tenantA, "g3 <&>", 5)
	seedGroup(t, s.store, tenantA, "g4", 700)
	groups := s.reg.ResourceType(scimd.TypeGroup)

	// want is the page the store returns with members loaded, encoded as
	// before streaming.
	want := func(q *scimd.ListQuery, p *schema.Projection) []byte {
		res, err := s.store.List(context.Background(), tenantA, q)
		if err != nil {
			t.Fatal(err)
		}
		out := listResponse{Schemas: []string{scimhttp.URNListResponse}, ItemsPerPage: len(res.Resources),
			Resources: []json.RawMessage{}, TotalResults: &res.TotalResults, StartIndex: q.StartIndex}
		for _, r := range res.Resources {
			rt := groups
			if r.Type == scimd.TypeUser {
				rt = s.reg.ResourceType(scimd.TypeUser)
			}
			b, err := rt.Render(r, s.url, p)
			if err != nil {
				t.Fatal(err)
			}
			out.Resources = append(out.Resources, b)
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	members := scimd.ReadOptions{Members: true}
	excl, _ := schema.ParseProjection("", "members.$ref")
	cases := []struct {
		name string
		resp *response
		want []byte
	}{
		{"All", s.do("GET", "/Groups", nil),
			want(&scimd.ListQuery{Type: scimd.TypeGroup, StartIndex: 1, Count: 100, ReadOptions: members}, nil)},
		{"Page2", s.do("GET", "/Groups?startIndex=2&count=2&excludedAttributes=members.$ref", nil),
			want(&scimd.ListQuery{Type: scimd.TypeGroup, StartIndex: 2, Count: 2, ReadOptions: members}, excl)},
		{"Search", s.do("POST", "/Groups/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"startIndex":3}`),
			want(&scimd.ListQuery{Type: scimd.TypeGroup, StartIndex: 3, Count: 100, ReadOptions: members}, nil)},
	}
	for _, c := range cases {
		if c.resp.status != http.StatusOK {
			t.Fatalf("%s: %d %s", c.name, c.resp.status, c.resp.raw)
		}
		if !bytes.Equal(c.resp.raw, c.want) {
			t.Errorf("%s: streamed list (%d bytes) differs from the loaded one (%d bytes)\ngot  %.300s\nwant %.300s",
				c.name, len(c.resp.raw), len(c.want), c.resp.raw, c.want)
		}
	}

	// Root .search across types: users and groups.
	resp := s.do("POST", "/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"displayName sw \"g\" or userName eq \"g3 <&>-u0000001\""}`)
	if resp.status != http.StatusOK {
		t.Fatalf("root .search: %d %s", resp.status, resp.raw)
	}
	var page listResponse
	if err := json.Unmarshal(resp.raw, &page); err != nil {
		t.Fatal(err)
	}
	if page.ItemsPerPage != 5 || len(page.Resources) != 5 {
		t.Errorf("root .search: %d items, want 5 (4 groups and 1 user)", len(page.Resources))
	}
}

// measureWriter is a ResponseWriter that keeps nothing of the body but its
// hash and size, and after every write records the live heap (after a GC):
// the peak is what the response held in memory at its fullest.
type measureWriter struct {
	header http.Header
	status int
	hash   [32]byte
	sum    []byte
	n      int
	writes int
	peak   uint64
	base   uint64
}

func (w *measureWriter) Header() http.Header { return w.header }
func (w *measureWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *measureWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	w.writes++
	w.sum = append(w.sum, p[:min(len(p), 16)]...) // a cheap fingerprint
	if len(w.sum) > 4096 {
		w.hash = sha256.Sum256(append(w.hash[:], w.sum...))
		w.sum = w.sum[:0]
	}
	w.sample()
	return len(p), nil
}

func (w *measureWriter) sample() {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > w.base && ms.HeapAlloc-w.base > w.peak {
		w.peak = ms.HeapAlloc - w.base
	}
}

// getMemory serves one GET through h and reports the peak live heap above
// the heap before it, the bytes allocated in all (garbage included) and
// the body size.
func getMemory(tb testing.TB, h http.Handler, path string) (peak, total uint64, size int) {
	tb.Helper()
	req := httptest.NewRequest("GET", "http://example.com/scim/v2"+path, nil)
	req.Header.Set("Authorization", "Bearer "+tokenA)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	w := &measureWriter{header: http.Header{}, base: before.HeapAlloc}
	h.ServeHTTP(w, req)
	runtime.ReadMemStats(&after)
	if w.status != http.StatusOK {
		tb.Fatalf("GET %s: %d", path, w.status)
	}
	return w.peak, after.TotalAlloc - before.TotalAlloc, w.n
}

// TestGetGroupMemory: the live heap a GET of a group holds does not grow
// with the group: 2,000 and 20,000 members cost about the same, and far
// less than loading them did. SCIMD_MEMORY_MEMBERS (comma-separated sizes)
// overrides the sizes (docs/benchmarks.md, "Memory": 10000,100000); -short
// runs only the first.
func TestGetGroupMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation figures are meaningless under the race detector")
	}
	sizes := []int{2_000, 20_000}
	if testing.Short() {
		sizes = sizes[:1]
	}
	if env := os.Getenv("SCIMD_MEMORY_MEMBERS"); env != "" {
		sizes = nil
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, n)
		}
	}
	reg := schema.DefaultRegistry()
	store := newStore(t, reg)
	h, err := scimhttp.New(scimhttp.Config{Store: store, Registry: reg, Auth: testAuth, HashPassword: testHash,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var peaks []uint64
	for _, n := range sizes {
		start := time.Now()
		g := seedGroup(t, store, tenantA, fmt.Sprintf("g%d", n), n)
		seeded := time.Since(start)
		start = time.Now()
		peak, total, size := getMemory(t, h, "/Groups/"+g.ID)
		took := time.Since(start)

		// Before streaming: the loaded group and its rendered body.
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		full, err := store.Get(context.Background(), tenantA, scimd.TypeGroup, g.ID, scimd.ReadOptions{Members: true})
		if err != nil {
			t.Fatal(err)
		}
		body, err := reg.ResourceType(scimd.TypeGroup).Render(full, "http://example.com/scim/v2", nil)
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		loaded := after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(full)
		runtime.KeepAlive(body)

		t.Logf("%7d members: body %5.1f MB; streamed GET: peak live heap %5.2f MB, allocated %6.1f MB in all (%.0f B/member), %v; "+
			"loading instead holds %6.1f MB (seeded in %v)",
			n, mb(uint64(size)), mb(peak), mb(total), float64(total)/float64(n), took.Round(time.Millisecond), mb(loaded), seeded.Round(time.Second))
		if peak > 5<<20 {
			t.Errorf("%d members: peak live heap %.1f MB, want < 5 MB", n, mb(peak))
		}
		peaks = append(peaks, peak)
	}
	if len(peaks) == 2 && peaks[1] > 2*peaks[0]+(1<<20) {
		t.Errorf("peak live heap grows with the group: %.2f MB at %d members, %.2f MB at %d",
			mb(peaks[0]), sizes[0], mb(peaks[1]), sizes[1])
	}
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

// failingStreamer streams members through the wrapped store's
// MemberStreamer but fails after the first after of them.
type failingStreamer struct {
	scimd.Store
	after int
}

var errCursor = errors.New("cursor failed")

func (f failingStreamer) StreamGroup(ctx context.Context, tenant, id string, fn func(*scimd.Resource, scimd.MemberSeq) error) error {
	return f.Store.(scimd.MemberStreamer).StreamGroup(ctx, tenant, id, func(g *scimd.Resource, members scimd.MemberSeq) error {
		return fn(g, func(yield func(scimd.Member) error) error {
			n := 0
			return members(func(m scimd.Member) error {
				if n == f.after {
					return errCursor
				}
				n++
				return yield(m)
			})
		})
	})
}

// TestGetGroupStreamFailure: a store error before anything was sent is a
// 500; after the response started it aborts the connection, so the client
// gets a truncated body rather than a short member list.
func TestGetGroupStreamFailure(t *testing.T) {
	reg := schema.DefaultRegistry()
	store := newStore(t, reg)
	g := seedGroup(t, store, tenantA, "g", 3000)
	for _, c := range []struct {
		after   int
		wantErr bool
	}{{10, false}, {2500, true}} {
		s := newServer(t, failingStreamer{Store: store, after: c.after}, reg, nil)
		req, _ := http.NewRequest("GET", s.url+"/Groups/"+g.ID, nil)
		req.Header.Set("Authorization", "Bearer "+tokenA)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !c.wantErr {
			if resp.StatusCode != http.StatusInternalServerError || err != nil || resp.Header.Get("ETag") != "" {
				t.Errorf("failure after %d members: %d, ETag %q, read error %v; want a clean 500", c.after, resp.StatusCode, resp.Header.Get("ETag"), err)
			}
			continue
		}
		if resp.StatusCode != http.StatusOK || err == nil {
			t.Errorf("failure after %d members: %d, read error %v (%d bytes); want 200 and a truncated body", c.after, resp.StatusCode, err, len(body))
		}
		if json.Valid(body) {
			t.Errorf("failure after %d members: the body is complete JSON", c.after)
		}
	}
}
