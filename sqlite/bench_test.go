package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/sqlite"
)

// benchUser is a realistic Okta/Entra user document.
func benchUser(i int) *scimd.Resource {
	return &scimd.Resource{Type: scimd.TypeUser, Schemas: []string{schema.URNUser, schema.URNEnterpriseUser}, Attrs: map[string]any{
		"userName":    fmt.Sprintf("user%07d@example.com", i),
		"externalId":  fmt.Sprintf("00u%07dXyZ", i),
		"displayName": fmt.Sprintf("User %d", i),
		"active":      true,
		"name":        map[string]any{"givenName": "User", "familyName": fmt.Sprintf("N%d", i)},
		"emails": []any{
			map[string]any{"primary": true, "type": "work", "value": fmt.Sprintf("user%07d@example.com", i)},
			map[string]any{"type": "home", "value": fmt.Sprintf("u%07d@home.test", i)},
		},
		schema.URNEnterpriseUser: map[string]any{"department": fmt.Sprintf("dept%d", i%50), "employeeNumber": fmt.Sprint(i)},
	}}
}

// openBenchDB opens a WAL file database in dir holding n users, created in
// transactions of 5,000.
func openBenchDB(b *testing.B, dir string, n int) (*sqlite.DB, []*scimd.Resource) {
	b.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, fmt.Sprintf("bench%d.db", n)), schema.DefaultRegistry())
	if err != nil {
		b.Fatal(err)
	}
	var users []*scimd.Resource
	for start := 0; start < n; start += 5000 {
		var batch []*scimd.Resource
		for i := start; i < min(n, start+5000); i++ {
			batch = append(batch, benchUser(i))
		}
		out, err := db.BulkCreate(ctx, "t1", batch)
		if err != nil {
			b.Fatal(err)
		}
		users = append(users, out...)
	}
	return db, users
}

var benchSizes = []int{10_000, 100_000}

func BenchmarkCreateUser(b *testing.B) {
	ctx := context.Background()
	db := MustOpenFileDB(b)
	b.ReportAllocs()
	reportCPU(b)
	i := 0
	for b.Loop() {
		if _, err := db.Create(ctx, "t1", benchUser(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func benchList(b *testing.B, db *sqlite.DB, q func(i int) *scimd.ListQuery, want int) {
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		res, err := db.List(ctx, "t1", q(i))
		if err != nil {
			b.Fatal(err)
		}
		if res.TotalResults != want {
			b.Fatalf("TotalResults = %d, want %d", res.TotalResults, want)
		}
		i++
	}
}

func mustFilter(b *testing.B, s string) filter.Expr {
	e, err := filter.Parse(s)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func BenchmarkLookupUserName(b *testing.B) {
	for _, n := range benchSizes {
		db, _ := openBenchDB(b, b.TempDir(), n)
		b.Run(fmt.Sprintf("users=%d/userName", n), func(b *testing.B) {
			benchList(b, db, func(i int) *scimd.ListQuery {
				return &scimd.ListQuery{Type: scimd.TypeUser, Count: 100, StartIndex: 1,
					Filter: mustFilter(b, fmt.Sprintf(`userName eq "USER%07d@example.com"`, i%n))}
			}, 1)
		})
		b.Run(fmt.Sprintf("users=%d/externalId", n), func(b *testing.B) {
			benchList(b, db, func(i int) *scimd.ListQuery {
				return &scimd.ListQuery{Type: scimd.TypeUser, Count: 100, StartIndex: 1,
					Filter: mustFilter(b, fmt.Sprintf(`externalId eq "00u%07dXyZ"`, i%n))}
			}, 1)
		})
		b.Run(fmt.Sprintf("users=%d/emailsWork", n), func(b *testing.B) {
			benchList(b, db, func(i int) *scimd.ListQuery {
				return &scimd.ListQuery{Type: scimd.TypeUser, Count: 100, StartIndex: 1,
					Filter: mustFilter(b, fmt.Sprintf(`emails[type eq "work"].value eq "user%07d@example.com"`, i%n))}
			}, 1)
		})
		b.Run(fmt.Sprintf("users=%d/jsonDepartment", n), func(b *testing.B) {
			benchList(b, db, func(i int) *scimd.ListQuery {
				return &scimd.ListQuery{Type: scimd.TypeUser, Count: 1, StartIndex: 1, Filter: mustFilter(b,
					fmt.Sprintf(`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "%d"`, i%n))}
			}, 1)
		})
		db.Close()
	}
}

func BenchmarkGetByID(b *testing.B) {
	ctx := context.Background()
	db, users := openBenchDB(b, b.TempDir(), 10_000)
	defer db.Close()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := db.Get(ctx, "t1", scimd.TypeUser, users[i%len(users)].ID, scimd.ReadOptions{Groups: true}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkAddMemberToLargeGroup(b *testing.B) {
	ctx := context.Background()
	const big = 100_000
	db, users := openBenchDB(b, b.TempDir(), big)
	defer db.Close()
	for _, size := range []int{10, big} {
		var ms []scimd.Member
		for _, u := range users[:size] {
			ms = append(ms, scimd.Member{Value: u.ID})
		}
		g, err := db.Create(ctx, "t1", newGroup(fmt.Sprintf("g%d", size), ms...))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("members=%d", size), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				u, err := db.Create(ctx, "t1", newUser(scimd.NewID()))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := db.Update(ctx, "t1", scimd.TypeGroup, g.ID, scimd.ReadOptions{}, ops(
					scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{{Value: u.ID}}})); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkListPage compares index pages of a 100,000-user tenant (count
// 20, so page 5,000 is the last): page 1; page 5,000 reached by a
// sequential walk (a keyset seek from the cached position of page 4,999);
// page 5,000 requested cold (no cached position: OFFSET, for comparison);
// and the same three with cursor paging equivalents where they apply.
func BenchmarkListPage(b *testing.B) {
	const n, count = 100_000, 20
	ctx := context.Background()
	db, _ := openBenchDB(b, b.TempDir(), n)
	defer db.Close()
	page := func(k int) *scimd.ListQuery {
		return &scimd.ListQuery{Type: scimd.TypeUser, Count: count, StartIndex: 1 + (k-1)*count}
	}
	b.Run("page=1", func(b *testing.B) {
		benchList(b, db, func(int) *scimd.ListQuery { return page(1) }, n)
	})
	b.Run("page=5000/sequential", func(b *testing.B) {
		// Walk to page 4,999 once; each request of page 5,000 then seeks
		// from the position page 4,999 left.
		for k := 1; k < 5000; k++ {
			if _, err := db.List(ctx, "t1", page(k)); err != nil {
				b.Fatal(err)
			}
		}
		benchList(b, db, func(int) *scimd.ListQuery { return page(5000) }, n)
	})
	b.Run("page=5000/cold", func(b *testing.B) {
		benchList(b, db, func(int) *scimd.ListQuery {
			db.ResetListCache()
			return page(5000)
		}, n)
	})
	b.Run("cursor/page=5000", func(b *testing.B) {
		q := &scimd.ListQuery{Type: scimd.TypeUser, Count: count, UseCursor: true}
		for k := 1; k < 5000; k++ {
			res, err := db.List(ctx, "t1", q)
			if err != nil {
				b.Fatal(err)
			}
			q.Cursor = res.NextCursor
		}
		benchList(b, db, func(int) *scimd.ListQuery { return q }, n)
	})
}

// BenchmarkListWalk times a whole sequential startIndex walk of a
// 100,000-user tenant with count=100 (Okta's import), per walk.
func BenchmarkListWalk(b *testing.B) {
	const n, count = 100_000, 100
	ctx := context.Background()
	db, _ := openBenchDB(b, b.TempDir(), n)
	defer db.Close()
	for _, cursor := range []bool{false, true} {
		b.Run(fmt.Sprintf("cursor=%v", cursor), func(b *testing.B) {
			for b.Loop() {
				q := &scimd.ListQuery{Type: scimd.TypeUser, Count: count, UseCursor: cursor}
				got := 0
				for start := 1; ; start += count {
					q.StartIndex = start
					res, err := db.List(ctx, "t1", q)
					if err != nil {
						b.Fatal(err)
					}
					got += len(res.Resources)
					if cursor {
						if q.Cursor = res.NextCursor; q.Cursor == "" {
							break
						}
					} else if len(res.Resources) < count {
						break
					}
				}
				if got != n {
					b.Fatalf("walk served %d, want %d", got, n)
				}
			}
		})
	}
}

// BenchmarkListCount measures what totalResults costs on a full first page
// (count=1, so the page itself is cheap) of a 100,000-user tenant:
// unfiltered (the per-type counter), and filtered counts uncached and
// cached.
func BenchmarkListCount(b *testing.B) {
	const n = 100_000
	db, _ := openBenchDB(b, b.TempDir(), n)
	defer db.Close()
	b.Run("unfiltered", func(b *testing.B) {
		benchList(b, db, func(int) *scimd.ListQuery { return &scimd.ListQuery{Type: scimd.TypeUser, Count: 1, StartIndex: 1} }, n)
	})
	for _, c := range []struct {
		name, filter string
		want         int
	}{
		{"active", `active eq true`, n},
		{"userNameSw", `userName sw "user001"`, 10_000},
		{"department", `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "dept7"`, n / 50},
	} {
		f := mustFilter(b, c.filter)
		b.Run(c.name+"/uncached", func(b *testing.B) {
			benchList(b, db, func(int) *scimd.ListQuery {
				db.ResetListCache()
				return &scimd.ListQuery{Type: scimd.TypeUser, Count: 1, StartIndex: 1, Filter: f}
			}, c.want)
		})
		b.Run(c.name+"/cached", func(b *testing.B) {
			benchList(b, db, func(int) *scimd.ListQuery {
				return &scimd.ListQuery{Type: scimd.TypeUser, Count: 1, StartIndex: 1, Filter: f}
			}, c.want)
		})
	}
}

// TestQueryPlans checks (and with -v prints) that IdP lookups use indexes.
func TestQueryPlans(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "plan.db"), schema.DefaultRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkPlans(t, db)
}

// idpPlans are the lookups IdPs send, each with what its plan must use.
var idpPlans = []struct{ typ, filter, want string }{
	{scimd.TypeUser, `userName eq "a@b.c"`, "INDEX resources_name"},
	{scimd.TypeUser, `externalId eq "x"`, "INDEX resources_external_id"},
	{scimd.TypeUser, `emails.value eq "a@b.c"`, "USING COVERING INDEX value_index_value"},
	{scimd.TypeUser, `emails[type eq "work"].value eq "a@b.c"`, "USING COVERING INDEX value_index_value"},
	{scimd.TypeUser, `displayName eq "Ana"`, "INDEX resources_display"},
	{scimd.TypeGroup, `displayName eq "Sales"`, "INDEX resources_name"},
	{scimd.TypeGroup, `members.value eq "u1"`, "USING COVERING INDEX memberships_member"},
	{scimd.TypeUser, ``, "INDEX resources_type_seq"},
}

// checkPlans checks the plans of idpPlans on db, tenant t1.
func checkPlans(t *testing.T, db *sqlite.DB) {
	t.Helper()
	ctx := context.Background()
	for _, c := range idpPlans {
		q := &scimd.ListQuery{Type: c.typ, Count: 100}
		if c.filter != "" {
			e, err := filter.Parse(c.filter)
			if err != nil {
				t.Fatal(err)
			}
			q.Filter = e
		}
		plan, err := db.Explain(ctx, "t1", q)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s %s:\n%s", c.typ, c.filter, plan)
		if !strings.Contains(plan, c.want) {
			t.Errorf("%s %s: plan lacks %q:\n%s", c.typ, c.filter, c.want, plan)
		}
	}
}

// BenchmarkCache compares reads answered by the read cache (hit), reads
// that miss it (a cache far smaller than the 1,000 users read round-robin:
// each read queries, fills and evicts) and reads with the cache off, on
// one file of 10,000 users. Each run first reads its 1,000 users once.
func BenchmarkCache(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	seed, users := openBenchDB(b, dir, 10_000)
	seed.Close()
	for _, c := range []struct {
		name  string
		bytes int64
	}{{"cache=hit", sqlite.DefaultCacheBytes}, {"cache=miss", 64 << 10}, {"cache=off", 0}} {
		db, err := sqlite.Open(ctx, filepath.Join(dir, "bench10000.db"), schema.DefaultRegistry(), sqlite.WithCacheBytes(c.bytes))
		if err != nil {
			b.Fatal(err)
		}
		get := func(i int) {
			if _, err := db.Get(ctx, "t1", scimd.TypeUser, users[i%1000*10].ID, scimd.ReadOptions{Groups: true}); err != nil {
				b.Fatal(err)
			}
		}
		b.Run("get/"+c.name, func(b *testing.B) {
			for i := range 1000 {
				get(i)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				get(i)
				i++
			}
		})
		b.Run("lookup/"+c.name, func(b *testing.B) {
			filters := make([]*scimd.ListQuery, 1000)
			for i := range filters {
				filters[i] = &scimd.ListQuery{Type: scimd.TypeUser, Count: 100, StartIndex: 1, ReadOptions: scimd.ReadOptions{Groups: true},
					Filter: mustFilter(b, fmt.Sprintf(`userName eq "USER%07d@example.com"`, i*10))}
				if _, err := db.List(ctx, "t1", filters[i]); err != nil {
					b.Fatal(err)
				}
			}
			benchList(b, db, func(i int) *scimd.ListQuery { return filters[i%len(filters)] }, 1)
		})
		db.Close()
	}
}

// Parallel write benchmarks: many goroutines writing at once, as an HTTP
// server does under load. With one writer connection, how the writes share
// it (one transaction each, or grouped commits) is what they measure. Run
// with -cpu 1,2; the database is a WAL file, synchronous NORMAL (the
// default) and FULL (an fsync per commit).

var benchSyncModes = []string{"NORMAL", "FULL"}

const benchWriters = 8 // goroutines per GOMAXPROCS (SetParallelism)

// openParallelBenchDB opens a file database with synchronous mode sync
// holding 1,000 users.
func openParallelBenchDB(b *testing.B, sync string) (*sqlite.DB, []*scimd.Resource) {
	b.Helper()
	ctx := context.Background()
	db := MustOpenFileDB(b, sqlite.WithSynchronous(sync))
	batch := make([]*scimd.Resource, 1000)
	for i := range batch {
		batch[i] = benchUser(i)
	}
	users, err := db.BulkCreate(ctx, "t1", batch)
	if err != nil {
		b.Fatal(err)
	}
	b0, o0 := db.WriteStats()
	b.Cleanup(func() {
		if b1, o1 := db.WriteStats(); b1 > b0 {
			b.ReportMetric(float64(o1-o0)/float64(b1-b0), "ops/commit")
		}
	})
	return db, users
}

// benchParallelWrites runs write concurrently as benchWriters writers per
// processor, once per synchronous mode, on a store holding users; write
// gets a sequence number starting at start+1.
func benchParallelWrites(b *testing.B, start int64, write func(ctx context.Context, db *sqlite.DB, users []*scimd.Resource, i int64) error) {
	for _, sync := range benchSyncModes {
		b.Run(sync, func(b *testing.B) {
			db, users := openParallelBenchDB(b, sync)
			var next atomic.Int64
			next.Store(start)
			b.ReportAllocs()
			b.SetParallelism(benchWriters)
			reportCPU(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if err := write(ctx, db, users, next.Add(1)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkParallelPatchActive flips active on users, as PATCH does.
func BenchmarkParallelPatchActive(b *testing.B) {
	benchParallelWrites(b, 0, func(ctx context.Context, db *sqlite.DB, users []*scimd.Resource, i int64) error {
		u := users[int(i)%len(users)]
		_, err := db.Update(ctx, "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			r.Attrs["active"] = i%2 == 0
			return nil, nil
		})
		return err
	})
}

// BenchmarkParallelPut replaces whole user documents, as PUT does.
func BenchmarkParallelPut(b *testing.B) {
	benchParallelWrites(b, 0, func(ctx context.Context, db *sqlite.DB, users []*scimd.Resource, i int64) error {
		n := int(i) % len(users)
		doc := benchUser(n)
		doc.Attrs["displayName"] = fmt.Sprintf("User %d v%d", n, i)
		_, err := db.Update(ctx, "t1", scimd.TypeUser, users[n].ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			r.Schemas, r.Attrs = doc.Schemas, doc.Attrs
			return nil, nil
		})
		return err
	})
}

// BenchmarkParallelCreate creates users, as provisioning does.
func BenchmarkParallelCreate(b *testing.B) {
	benchParallelWrites(b, 1000, func(ctx context.Context, db *sqlite.DB, _ []*scimd.Resource, i int64) error {
		_, err := db.Create(ctx, "t1", benchUser(int(i)))
		return err
	})
}

// BenchmarkUpdateUserName measures an update that rewrites the indexed
// string columns and the e-mails of a user (and so their trigram rows).
func BenchmarkUpdateUserName(b *testing.B) {
	ctx := context.Background()
	db := MustOpenFileDB(b)
	var ids []string
	for i := range 1000 {
		u, err := db.Create(ctx, "t1", benchUser(i))
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		next := benchUser(1000 + i)
		_, err := db.Update(ctx, "t1", scimd.TypeUser, ids[i%len(ids)], scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			for _, k := range []string{"userName", "externalId", "displayName", "emails"} {
				r.Attrs[k] = next.Attrs[k]
			}
			return nil, nil
		})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkIndexTrigrams measures the background trigram indexer on newly
// created users (what provisioning leaves it), per user.
func BenchmarkIndexTrigrams(b *testing.B) {
	ctx := context.Background()
	db := MustOpenFileDB(b)
	db.StopTrigramIndexer()
	const batch = 2000
	next := 0
	for range b.N {
		b.StopTimer()
		var rs []*scimd.Resource
		for range batch {
			rs = append(rs, benchUser(next))
			next++
		}
		if _, err := db.BulkCreate(ctx, "t1", rs); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n, err := db.IndexTrigrams(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n != batch {
			b.Fatalf("indexed %d, want %d", n, batch)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/user")
}
