package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/postgres"
	"github.com/scimd/scimd/schema"
)

// wire counts what a store sends: every Write on its sockets (pgx flushes
// a message sequence it then waits on with one Write, so after statements
// are prepared one Write is one round trip) and the statements, as a
// tracer sees them.
type wire struct {
	writes atomic.Int64
	mu     sync.Mutex
	stmts  []string
}

func (w *wire) reset() {
	w.writes.Store(0)
	w.mu.Lock()
	w.stmts = nil
	w.mu.Unlock()
}

func (w *wire) record(prefix, sql string) {
	sql = strings.Join(strings.Fields(sql), " ")
	if len(sql) > 60 {
		sql = sql[:60] + "…"
	}
	w.mu.Lock()
	w.stmts = append(w.stmts, prefix+sql)
	w.mu.Unlock()
}

func (w *wire) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	w.record("", d.SQL)
	return ctx
}
func (w *wire) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (w *wire) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	w.record("batch of ", fmt.Sprint(d.Batch.Len()))
	return ctx
}
func (w *wire) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	w.record("  ", d.SQL)
}
func (w *wire) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

type countingConn struct {
	net.Conn
	w *wire
}

func (c countingConn) Write(p []byte) (int, error) {
	c.w.writes.Add(1)
	return c.Conn.Write(p)
}

// openCounted opens a store with one connection whose writes and
// statements w records, and no statistics check (it has a connection of
// its own, which would be counted).
func openCounted(t *testing.T, w *wire) *postgres.DB {
	return MustOpenDB(t, nil, postgres.WithAnalyzeInterval(0), postgres.WithPoolConfig(func(cfg *pgxpool.Config) {
		cfg.MaxConns = 1
		cfg.ConnConfig.Tracer = w
		cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{c, w}, nil
		}
	}))
}

// hotFixture is a tenant with users (two e-mails each, members of two
// groups) and groups.
type hotFixture struct {
	db     *postgres.DB
	users  []*scimd.Resource
	groups []*scimd.Resource
	seq    atomic.Int64
}

const hotTenant = "t1"

func newUser(i int64) *scimd.Resource {
	name := fmt.Sprintf("user%d@example.com", i)
	return &scimd.Resource{
		Type:    scimd.TypeUser,
		Schemas: []string{schema.URNUser},
		Attrs: map[string]any{
			"userName":    name,
			"externalId":  fmt.Sprintf("00u%d", i),
			"active":      true,
			"displayName": fmt.Sprintf("User %d", i),
			"name":        map[string]any{"givenName": "User", "familyName": fmt.Sprint(i)},
			"emails": []any{
				map[string]any{"value": name, "type": "work", "primary": true},
				map[string]any{"value": fmt.Sprintf("u%d@home.example", i), "type": "home"},
			},
		},
	}
}

func newHotFixture(tb testing.TB, db *postgres.DB, users, groups int) *hotFixture {
	tb.Helper()
	ctx := context.Background()
	f := &hotFixture{db: db}
	for i := range users {
		u, err := db.Create(ctx, hotTenant, newUser(int64(i)))
		if err != nil {
			tb.Fatal(err)
		}
		f.users = append(f.users, u)
	}
	f.seq.Store(int64(users))
	for i := range groups {
		g, err := db.Create(ctx, hotTenant, &scimd.Resource{Type: scimd.TypeGroup, Schemas: []string{schema.URNGroup},
			Attrs: map[string]any{"displayName": fmt.Sprintf("Group %d", i)}})
		if err != nil {
			tb.Fatal(err)
		}
		f.groups = append(f.groups, g)
	}
	// Every user is in two groups, so that User.groups has something to read.
	for gi, g := range f.groups {
		var ms []scimd.Member
		for ui, u := range f.users {
			if ui%len(f.groups) == gi || (ui+1)%len(f.groups) == gi {
				ms = append(ms, scimd.Member{Value: u.ID, Type: scimd.TypeUser})
			}
		}
		for len(ms) > 0 {
			n := min(len(ms), 500)
			if _, err := db.Update(ctx, hotTenant, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, func(*scimd.Resource) ([]scimd.MemberOp, error) {
				return []scimd.MemberOp{{Kind: scimd.MemberAdd, Members: ms[:n]}}, nil
			}); err != nil {
				tb.Fatal(err)
			}
			ms = ms[n:]
		}
	}
	// Statistics for the planner now, so that autovacuum's ANALYZE does
	// not change plans (and take CPU) in the middle of a measurement.
	if err := db.ExecSQL(ctx, "VACUUM ANALYZE"); err != nil {
		tb.Fatal(err)
	}
	return f
}

// userOpts are the read options of a User response with default
// attributes (scimhttp: groups yes).
var userOpts = scimd.ReadOptions{Groups: true}

// hotOps are the store calls behind the requests IdPs send most, each as
// scimhttp makes it. r picks the resource. Creates come last: the rows
// they add leave autovacuum work that would slow whatever runs next.
func hotOps(f *hotFixture) []struct {
	name string
	run  func(ctx context.Context, r *rand.Rand) error
} {
	user := func(r *rand.Rand) *scimd.Resource { return f.users[r.IntN(len(f.users))] }
	return []struct {
		name string
		run  func(ctx context.Context, r *rand.Rand) error
	}{
		{"GetUser", func(ctx context.Context, r *rand.Rand) error {
			_, err := f.db.Get(ctx, hotTenant, scimd.TypeUser, user(r).ID, userOpts)
			return err
		}},
		{"LookupUserName", func(ctx context.Context, r *rand.Rand) error {
			u := user(r)
			e, err := filter.Parse(fmt.Sprintf("userName eq %q", u.Attrs["userName"]))
			if err != nil {
				return err
			}
			res, err := f.db.List(ctx, hotTenant, &scimd.ListQuery{Type: scimd.TypeUser, Filter: e, StartIndex: 1, Count: 100, ReadOptions: userOpts})
			if err == nil && (res.TotalResults != 1 || len(res.Resources) != 1 || len(res.Resources[0].Groups) != 2) {
				err = fmt.Errorf("lookup %s: %d results, %d groups", u.Attrs["userName"], res.TotalResults, len(res.Resources[0].Groups))
			}
			return err
		}},
		{"PatchActive", func(ctx context.Context, r *rand.Rand) error {
			_, err := f.db.Update(ctx, hotTenant, scimd.TypeUser, user(r).ID, userOpts, func(res *scimd.Resource) ([]scimd.MemberOp, error) {
				res.Attrs["active"] = !(res.Attrs["active"] == true)
				return nil, nil
			})
			return err
		}},
		{"PatchActiveHinted", func(ctx context.Context, r *rand.Rand) error {
			// The same user every time: from the second time on, the
			// update starts from this process's hint of its row.
			_, err := f.db.Update(ctx, hotTenant, scimd.TypeUser, f.users[0].ID, userOpts, func(res *scimd.Resource) ([]scimd.MemberOp, error) {
				res.Attrs["active"] = !(res.Attrs["active"] == true)
				return nil, nil
			})
			return err
		}},
		{"PutUser", func(ctx context.Context, r *rand.Rand) error {
			u := user(r)
			_, err := f.db.Update(ctx, hotTenant, scimd.TypeUser, u.ID, userOpts, func(res *scimd.Resource) ([]scimd.MemberOp, error) {
				// A PUT replaces the attributes with the body's, which IdPs
				// send mostly unchanged.
				attrs := map[string]any{}
				for k, v := range newUser(0).Attrs {
					attrs[k] = v
				}
				attrs["userName"] = res.Attrs["userName"]
				attrs["emails"] = res.Attrs["emails"]
				attrs["title"] = fmt.Sprint("Title ", r.IntN(1000))
				res.Attrs = attrs
				return nil, nil
			})
			return err
		}},
		{"AddRemove100Members", func(ctx context.Context, r *rand.Rand) error {
			g := f.groups[r.IntN(len(f.groups))]
			start := r.IntN(len(f.users) - 100)
			ms := make([]scimd.Member, 100)
			for i := range ms {
				ms[i] = scimd.Member{Value: f.users[start+i].ID}
			}
			for _, kind := range []scimd.MemberOpKind{scimd.MemberAdd, scimd.MemberRemove} {
				if _, err := f.db.Update(ctx, hotTenant, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, func(*scimd.Resource) ([]scimd.MemberOp, error) {
					return []scimd.MemberOp{{Kind: kind, Members: ms}}, nil
				}); err != nil {
					return err
				}
			}
			return nil
		}},
		{"CreateUser", func(ctx context.Context, r *rand.Rand) error {
			_, err := f.db.Create(ctx, hotTenant, newUser(f.seq.Add(1)))
			return err
		}},
	}
}

// TestRoundTrips counts the round trips of each hot store call once its
// statements are prepared, and fails if one makes more than it should.
// Run with -v for the statements.
func TestRoundTrips(t *testing.T) {
	w := &wire{}
	db := openCounted(t, w)
	f := newHotFixture(t, db, 300, 4)
	want := map[string]int64{
		"GetUser":             1,
		"LookupUserName":      1,
		"CreateUser":          1,
		"PatchActive":         2,
		"PatchActiveHinted":   1, // the read is the hint (hints.go)
		"PutUser":             2,
		"AddRemove100Members": 9, // add: lock, look up, insert, update, commit; remove: the same without the look-up
	}
	ctx := t.Context()
	r := rand.New(rand.NewPCG(1, 2))
	for _, op := range hotOps(f) {
		// Twice, so that every statement is prepared on the connection.
		for range 2 {
			if err := op.run(ctx, r); err != nil {
				t.Fatalf("%s: %v", op.name, err)
			}
		}
		w.reset()
		if err := op.run(ctx, r); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		got := w.writes.Load()
		t.Logf("%-20s %d round trips:\n\t%s", op.name, got, strings.Join(w.stmts, "\n\t"))
		if got > want[op.name] {
			t.Errorf("%s: %d round trips, want at most %d", op.name, got, want[op.name])
		}
	}
	// Delete: the lock with BEGIN, then the writes with COMMIT.
	for i := range 3 {
		u, err := db.Create(ctx, hotTenant, newUser(f.seq.Add(1)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Update(ctx, hotTenant, scimd.TypeGroup, f.groups[0].ID, scimd.ReadOptions{}, func(*scimd.Resource) ([]scimd.MemberOp, error) {
			return []scimd.MemberOp{{Kind: scimd.MemberAdd, Members: []scimd.Member{{Value: u.ID}}}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		w.reset()
		if err := db.Delete(ctx, hotTenant, scimd.TypeUser, u.ID, nil); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			continue // preparing
		}
		got := w.writes.Load()
		t.Logf("%-20s %d round trips:\n\t%s", "DeleteUser", got, strings.Join(w.stmts, "\n\t"))
		if got > 2 {
			t.Errorf("DeleteUser: %d round trips, want at most 2", got)
		}
	}
	if g, err := db.Get(ctx, hotTenant, scimd.TypeGroup, f.groups[0].ID, scimd.ReadOptions{Members: true}); err != nil {
		t.Fatal(err)
	} else if g.MemberCount != len(g.Members) {
		t.Errorf("group: member_count %d, %d members", g.MemberCount, len(g.Members))
	}
}

// BenchmarkHotPath runs each hot store call from 8 goroutines per CPU
// against the test cluster (which runs with fsync off: commits cost no
// disk flush).
func BenchmarkHotPath(b *testing.B) {
	db := MustOpenDB(b, nil)
	f := newHotFixture(b, db, 2000, 20)
	for _, op := range hotOps(f) {
		b.Run(op.name, func(b *testing.B) {
			var seed atomic.Uint64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				r := rand.New(rand.NewPCG(seed.Add(1), 7))
				for pb.Next() {
					if err := op.run(context.Background(), r); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// A first page filtered on meta.lastModified with more matches than the
// cap takes its total ("more than cap") from the count the plan made to
// choose between the side index and creation order: one count statement,
// not two. Under the cap, the page's own count gives the exact total.
func TestDenseTotalFromProbe(t *testing.T) {
	w := &wire{}
	db := openCounted(t, w)
	ctx := t.Context()
	if err := db.ExecSQL(ctx, `
		INSERT INTO resources (tenant_id, id, type, name_lc, active, created, last_modified, version, schemas, doc)
		SELECT 't1', md5(i::text), 'User', 'user' || i, true,
			'2020-01-01'::timestamptz + i * interval '1 second', '2020-01-01'::timestamptz + i * interval '1 second', 1, '[]',
			jsonb_build_object('userName', 'user' || i)
		FROM generate_series(1, 12000) AS i;
		INSERT INTO resource_modified (res_seq, tenant_id, last_modified)
		SELECT seq, tenant_id, last_modified FROM resources`); err != nil {
		t.Fatal(err)
	}
	e, err := filter.Parse(`meta.lastModified gt "2000-01-01T00:00:00Z"`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		maxTotal, total, counts int
	}{
		{10_000, 10_001, 1}, // capped: the probe counted past the cap
		{20_000, 12_000, 2}, // exact: the probe stopped short of its limit, the page counts
	} {
		w.reset()
		res, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, Filter: e, StartIndex: 1, Count: 100, MaxTotal: c.maxTotal})
		if err != nil {
			t.Fatal(err)
		}
		counts := 0
		w.mu.Lock()
		for _, s := range w.stmts {
			if strings.Contains(s, "count(*)") {
				counts++
			}
		}
		stmts := slices.Clone(w.stmts)
		w.mu.Unlock()
		if res.TotalResults != c.total || len(res.Resources) != 100 || res.Resources[0].Attrs["userName"] != "user1" || counts != c.counts {
			t.Errorf("MaxTotal %d: total %d (want %d), %d resources, %d counts (want %d):\n%s",
				c.maxTotal, res.TotalResults, c.total, len(res.Resources), counts, c.counts, strings.Join(stmts, "\n"))
		}
	}
}
