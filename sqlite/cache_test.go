package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/sqlite"
	"github.com/scimd/scimd/storetest"
)

func TestStoreNoCache(t *testing.T) {
	storetest.Run(t, func(t *testing.T) scimd.Store { return MustOpenDB(t, nil, sqlite.WithCacheBytes(0)) })
}

func TestConcurrencyNoCache(t *testing.T) {
	storetest.RunConcurrency(t, func(t *testing.T) scimd.Store { return MustOpenFileDB(t, sqlite.WithCacheBytes(0)) })
}

// cachePair is a store with the cache and a second handle on the same
// file without it: the truth every cached read is compared with.
type cachePair struct {
	db, truth *sqlite.DB
}

func openCachePair(t *testing.T, opts ...sqlite.Option) cachePair {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scimd.db")
	db, err := sqlite.Open(context.Background(), path, schema.DefaultRegistry(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	truth, err := sqlite.Open(context.Background(), path, schema.DefaultRegistry(), sqlite.WithCacheBytes(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { truth.Close() })
	return cachePair{db, truth}
}

// check compares a cached Get (twice: a miss or hit, then a hit) with
// the truth, for each id of typ.
func (p cachePair) check(t *testing.T, tenant, typ string, ids ...string) {
	t.Helper()
	ctx := context.Background()
	for _, id := range ids {
		want, werr := p.truth.Get(ctx, tenant, typ, id, scimd.ReadOptions{Groups: true})
		for range 2 {
			got, err := p.db.Get(ctx, tenant, typ, id, scimd.ReadOptions{Groups: true})
			if scimd.StatusOf(err) != scimd.StatusOf(werr) || (err == nil) != (werr == nil) {
				t.Fatalf("Get %s %s: error %v, want %v", typ, id, err, werr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Get %s %s:\n got %+v\nwant %+v", typ, id, got, want)
			}
		}
	}
}

// lookup compares a cached `name eq` lookup with the truth and returns
// the ids found.
func (p cachePair) lookup(t *testing.T, tenant, typ, name string) []string {
	t.Helper()
	ctx := context.Background()
	attr := "userName"
	if typ == scimd.TypeGroup {
		attr = "displayName"
	}
	q := func() *scimd.ListQuery {
		return &scimd.ListQuery{Type: typ, StartIndex: 1, Count: 100, ReadOptions: scimd.ReadOptions{Groups: true},
			Filter: mustParse(t, fmt.Sprintf(`%s eq %q`, attr, name))}
	}
	want, err := p.truth.List(ctx, tenant, q())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got, err := p.db.List(ctx, tenant, q())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("lookup %s %q:\n got %+v\nwant %+v", typ, name, got, want)
		}
	}
	var ids []string
	for _, r := range want.Resources {
		ids = append(ids, r.ID)
	}
	return ids
}

func rename(attr, v string) scimd.UpdateFunc {
	return func(r *scimd.Resource) ([]scimd.MemberOp, error) {
		r.Attrs[attr] = v
		return nil, nil
	}
}

// TestCacheExact runs every kind of write against warm cache entries and
// compares every cached read with an uncached handle on the same file.
func TestCacheExact(t *testing.T) {
	ctx := context.Background()
	p := openCachePair(t)
	db := p.db
	var users []*scimd.Resource
	for i := range 4 {
		users = append(users, mustCreate(t, db, "t1", newUser(fmt.Sprintf("u%d", i))))
	}
	g1 := mustCreate(t, db, "t1", newGroup("g1", member(users[0]), member(users[1])))
	g2 := mustCreate(t, db, "t1", newGroup("g2", member(users[2]), member(g1)))
	var uids []string
	for _, u := range users {
		uids = append(uids, u.ID)
	}
	gids := []string{g1.ID, g2.ID}
	checkAll := func(t *testing.T) {
		t.Helper()
		p.check(t, "t1", scimd.TypeUser, uids...)
		p.check(t, "t1", scimd.TypeGroup, gids...)
		for i := range users {
			p.lookup(t, "t1", scimd.TypeUser, fmt.Sprintf("U%d", i))
		}
		p.lookup(t, "t1", scimd.TypeGroup, "G1")
		p.lookup(t, "t1", scimd.TypeGroup, "g2")
	}
	update := func(t *testing.T, typ, id string, fn scimd.UpdateFunc) {
		t.Helper()
		if _, err := db.Update(ctx, "t1", typ, id, scimd.ReadOptions{}, fn); err != nil {
			t.Fatal(err)
		}
	}
	checkAll(t)
	hits, _, _, _ := db.CacheStats()
	if hits == 0 {
		t.Fatal("no cache hits: the cache is not in use")
	}

	steps := []struct {
		name string
		do   func(t *testing.T)
	}{
		{"AddMember", func(t *testing.T) {
			update(t, scimd.TypeGroup, g1.ID, ops(scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{member(users[3])}}))
		}},
		{"RemoveMember", func(t *testing.T) {
			update(t, scimd.TypeGroup, g1.ID, ops(scimd.MemberOp{Kind: scimd.MemberRemove, Members: []scimd.Member{member(users[0])}}))
		}},
		{"RenameGroup", func(t *testing.T) { update(t, scimd.TypeGroup, g1.ID, rename("displayName", "G-one")) }},
		{"RenameGroupCase", func(t *testing.T) { update(t, scimd.TypeGroup, g2.ID, rename("displayName", "G2")) }},
		{"RemoveAll", func(t *testing.T) {
			update(t, scimd.TypeGroup, g2.ID, ops(scimd.MemberOp{Kind: scimd.MemberRemoveAll}))
		}},
		{"AddAgain", func(t *testing.T) {
			update(t, scimd.TypeGroup, g2.ID, ops(scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{member(users[1]), member(users[3]), member(g1)}}))
		}},
		{"RemoveWhere", func(t *testing.T) {
			update(t, scimd.TypeGroup, g2.ID, ops(scimd.MemberOp{Kind: scimd.MemberRemoveWhere, Filter: mustParse(t, `value eq "`+users[3].ID+`"`)}))
		}},
		{"PatchUser", func(t *testing.T) { update(t, scimd.TypeUser, users[1].ID, rename("nickName", "Bo")) }},
		{"DeleteMemberUser", func(t *testing.T) { // g1 and g2 lose a member
			if err := db.Delete(ctx, "t1", scimd.TypeUser, users[1].ID, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"DeleteMemberGroup", func(t *testing.T) { // g1: a member of g2, has u3
			if err := db.Delete(ctx, "t1", scimd.TypeGroup, g1.ID, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"DeleteGroup", func(t *testing.T) {
			update(t, scimd.TypeGroup, g2.ID, ops(scimd.MemberOp{Kind: scimd.MemberAdd, Members: []scimd.Member{member(users[2]), member(users[3])}}))
			checkAll(t)
			if err := db.Delete(ctx, "t1", scimd.TypeGroup, g2.ID, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"FailedWrite", func(t *testing.T) { // rolled back: nothing to invalidate, nothing stale
			_, err := db.Update(ctx, "t1", scimd.TypeUser, users[2].ID, scimd.ReadOptions{}, rename("userName", "U3"))
			if scimd.StatusOf(err) != 409 {
				t.Fatalf("rename to a taken userName: %v", err)
			}
		}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.do(t)
			checkAll(t)
		})
	}
}

// TestCacheNameIndex checks lookups by userName, including remembered
// misses, across renames, deletes and creates.
func TestCacheNameIndex(t *testing.T) {
	ctx := context.Background()
	p := openCachePair(t)
	db := p.db
	if ids := p.lookup(t, "t1", scimd.TypeUser, "alice"); len(ids) != 0 {
		t.Fatalf("lookup before create: %v", ids)
	}
	_, _, before, _ := db.CacheStats()
	if before == 0 {
		t.Fatal("a miss was not remembered")
	}
	a := mustCreate(t, db, "t1", newUser("Alice"))
	if ids := p.lookup(t, "t1", scimd.TypeUser, "ALICE"); !slices.Equal(ids, []string{a.ID}) {
		t.Fatalf("lookup after create: %v", ids)
	}
	// Another tenant and the other type never answer for t1's Users.
	if ids := p.lookup(t, "t2", scimd.TypeUser, "alice"); len(ids) != 0 {
		t.Fatalf("other tenant: %v", ids)
	}
	if ids := p.lookup(t, "t1", scimd.TypeGroup, "alice"); len(ids) != 0 {
		t.Fatalf("groups: %v", ids)
	}
	if _, err := db.Update(ctx, "t1", scimd.TypeUser, a.ID, scimd.ReadOptions{}, rename("userName", "alicia")); err != nil {
		t.Fatal(err)
	}
	if ids := p.lookup(t, "t1", scimd.TypeUser, "alice"); len(ids) != 0 {
		t.Fatalf("old name after rename: %v", ids)
	}
	if ids := p.lookup(t, "t1", scimd.TypeUser, "Alicia"); !slices.Equal(ids, []string{a.ID}) {
		t.Fatalf("new name after rename: %v", ids)
	}
	// The old name is free again.
	b := mustCreate(t, db, "t1", newUser("alice"))
	if ids := p.lookup(t, "t1", scimd.TypeUser, "alice"); !slices.Equal(ids, []string{b.ID}) {
		t.Fatalf("old name reused: %v", ids)
	}
	if err := db.Delete(ctx, "t1", scimd.TypeUser, a.ID, nil); err != nil {
		t.Fatal(err)
	}
	if ids := p.lookup(t, "t1", scimd.TypeUser, "alicia"); len(ids) != 0 {
		t.Fatalf("after delete: %v", ids)
	}
	p.check(t, "t1", scimd.TypeUser, a.ID, b.ID)

	// Queries the cache does not answer go to SQL as before.
	for _, q := range []*scimd.ListQuery{
		{Type: scimd.TypeUser, StartIndex: 1, Count: 0, Filter: mustParse(t, `userName eq "alice"`)},
		{Type: scimd.TypeUser, StartIndex: 2, Count: 10, Filter: mustParse(t, `userName eq "alice"`)},
		{Type: scimd.TypeUser, StartIndex: 1, Count: 10, Filter: mustParse(t, `userName ne "alice"`)},
		{Type: scimd.TypeUser, StartIndex: 1, Count: 10, Filter: mustParse(t, `displayName eq "alice"`)},
		{Type: scimd.TypeUser, UseCursor: true, Count: 10, Filter: mustParse(t, `userName eq "alice"`)},
	} {
		got, err := db.List(ctx, "t1", q)
		if err != nil {
			t.Fatal(err)
		}
		want, err := p.truth.List(ctx, "t1", q)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%v: got %+v, want %+v", q.Filter, got, want)
		}
	}
}

func TestCacheTenantDelete(t *testing.T) {
	ctx := context.Background()
	p := openCachePair(t)
	db := p.db
	mustCreateTenant(t, db, "t1", "one")
	mustCreateTenant(t, db, "t2", "two")
	u1 := mustCreate(t, db, "t1", newUser("ann"))
	u2 := mustCreate(t, db, "t2", newUser("ann"))
	p.check(t, "t1", scimd.TypeUser, u1.ID)
	p.check(t, "t2", scimd.TypeUser, u2.ID)
	p.lookup(t, "t1", scimd.TypeUser, "ann")
	p.lookup(t, "t2", scimd.TypeUser, "ann")
	if err := db.DeleteTenant(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get(ctx, "t1", scimd.TypeUser, u1.ID, scimd.ReadOptions{}); scimd.StatusOf(err) != 404 {
		t.Fatalf("Get of a deleted tenant's user: %v", err)
	}
	if ids := p.lookup(t, "t1", scimd.TypeUser, "ann"); len(ids) != 0 {
		t.Fatalf("lookup in a deleted tenant: %v", ids)
	}
	// A tenant recreated with the same id starts empty.
	mustCreateTenant(t, db, "t1", "one")
	if ids := p.lookup(t, "t1", scimd.TypeUser, "ann"); len(ids) != 0 {
		t.Fatalf("lookup in a recreated tenant: %v", ids)
	}
	p.check(t, "t1", scimd.TypeUser, u1.ID)
	p.check(t, "t2", scimd.TypeUser, u2.ID)
	if ids := p.lookup(t, "t2", scimd.TypeUser, "ann"); !slices.Equal(ids, []string{u2.ID}) {
		t.Fatalf("other tenant: %v", ids)
	}
}

// TestCacheEviction fills a small cache with more than it holds: it stays
// within its budget and keeps answering correctly.
func TestCacheEviction(t *testing.T) {
	const budget = 64 << 10
	p := openCachePair(t, sqlite.WithCacheBytes(budget))
	var ids []string
	var batch []*scimd.Resource
	for i := range 1000 {
		batch = append(batch, newUser(fmt.Sprintf("user%04d", i), fmt.Sprintf("user%04d@example.com", i)))
	}
	out, err := p.db.BulkCreate(context.Background(), "t1", batch)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out {
		ids = append(ids, r.ID)
	}
	p.check(t, "t1", scimd.TypeUser, ids...)
	for i := range 100 {
		p.lookup(t, "t1", scimd.TypeUser, fmt.Sprintf("USER%04d", i*10))
	}
	_, _, used, entries := p.db.CacheStats()
	if used > budget || used < budget/2 {
		t.Errorf("cache uses %d bytes of %d", used, budget)
	}
	if entries == 0 || entries >= len(ids) {
		t.Errorf("%d entries for %d users", entries, len(ids))
	}
	// The most recent reads are kept: reading them again adds no miss.
	_, misses, _, _ := p.db.CacheStats()
	p.lookup(t, "t1", scimd.TypeUser, "user0990")
	if _, m, _, _ := p.db.CacheStats(); m != misses {
		t.Errorf("recent entry evicted: misses %d → %d", misses, m)
	}
}

// TestCacheMemory checks that the bytes the cache accounts for cover what
// its entries really take on the heap, so the budget bounds memory.
func TestCacheMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	ctx := context.Background()
	db := MustOpenFileDB(t, sqlite.WithCacheBytes(1<<30))
	var batch []*scimd.Resource
	for i := range 20_000 {
		batch = append(batch, benchUser(i))
	}
	out, err := db.BulkCreate(ctx, "t1", batch)
	if err != nil {
		t.Fatal(err)
	}
	batch = nil
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	for _, r := range out {
		if _, err := db.Get(ctx, "t1", scimd.TypeUser, r.ID, scimd.ReadOptions{Groups: true}); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	grown := int64(ms.HeapAlloc) - int64(before)
	_, _, used, entries := db.CacheStats()
	t.Logf("%d entries: accounted %d bytes (%d/entry), heap grew %d bytes (%d/entry)",
		entries, used, used/int64(entries), grown, grown/int64(entries))
	if entries != len(out) {
		t.Fatalf("%d entries, want %d", entries, len(out))
	}
	if grown > used*11/10 {
		t.Errorf("heap grew %d bytes for %d accounted: the budget underestimates entries", grown, used)
	}
	runtime.KeepAlive(out)
}

// TestCacheConcurrentReadsSeeWrites: writers rename users and patch them
// while readers read them by id and by name; every read that starts after
// a write was acknowledged must see it (run with -race).
func TestCacheConcurrentReadsSeeWrites(t *testing.T) {
	ctx := context.Background()
	p := openCachePair(t)
	db := p.db
	const nUsers = 4
	type state struct {
		version atomic.Int64 // highest acknowledged version
		name    atomic.Int64 // name suffix of that version
	}
	var users [nUsers]state
	var ids [nUsers]string
	for i := range nUsers {
		r := mustCreate(t, db, "t1", newUser(fmt.Sprintf("c%d-0", i)))
		ids[i] = r.ID
		users[i].version.Store(r.Meta.Version)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	fail := func(err error) {
		select {
		case errc <- err:
		default:
		}
		stop.Store(true)
	}
	for i := range nUsers { // one writer per user: acknowledged order is version order
		wg.Go(func() {
			for k := int64(1); k <= 150 && !stop.Load(); k++ {
				r, err := db.Update(ctx, "t1", scimd.TypeUser, ids[i], scimd.ReadOptions{}, rename("userName", fmt.Sprintf("c%d-%d", i, k)))
				if err != nil {
					fail(err)
					return
				}
				users[i].name.Store(k)
				users[i].version.Store(r.Meta.Version)
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for n := 0; !stop.Load() && n < 3000; n++ {
				i := n % nUsers
				v, k := users[i].version.Load(), users[i].name.Load()
				r, err := db.Get(ctx, "t1", scimd.TypeUser, ids[i], scimd.ReadOptions{Groups: true})
				if err != nil {
					fail(err)
					return
				}
				if r.Meta.Version < v {
					fail(fmt.Errorf("user %d: read version %d after version %d was acknowledged", i, r.Meta.Version, v))
					return
				}
				res, err := db.List(ctx, "t1", &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: 1, Count: 10,
					Filter: mustParse(t, fmt.Sprintf(`userName eq "c%d-%d"`, i, k))})
				if err != nil {
					fail(err)
					return
				}
				// The name is gone only if a newer write has committed
				// since (acknowledged or not yet).
				if len(res.Resources) == 0 {
					r, err := p.truth.Get(ctx, "t1", scimd.TypeUser, ids[i], scimd.ReadOptions{})
					if err != nil {
						fail(err)
						return
					}
					if r.Meta.Version == v {
						fail(fmt.Errorf("user %d: lookup of acknowledged name c%d-%d found nothing", i, i, k))
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if hits, _, _, _ := db.CacheStats(); hits == 0 {
		t.Error("no cache hits")
	}
}

// TestCacheExactConcurrentWrites runs membership changes of users and
// PATCHes of the same users at the same moment, so that they share group
// commits in either order, against warm cache entries; after each round
// every cached read must equal the truth. Updates start from cached rows
// and write their result through to the cache (readForUpdate,
// rowCache.replace): a PATCH that read a user's groups from the cache
// before a membership change earlier in its transaction must not put
// them back.
func TestCacheExactConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	p := openCachePair(t)
	db := p.db
	const nUsers = 6
	var uids []string
	for i := range nUsers {
		uids = append(uids, mustCreate(t, db, "t1", newUser(fmt.Sprintf("w%d", i))).ID)
	}
	g := mustCreate(t, db, "t1", newGroup("wg")).ID
	withGroups := scimd.ReadOptions{Groups: true}
	for round := range 40 {
		p.check(t, "t1", scimd.TypeUser, uids...) // warm: every user cached with its groups
		kind := scimd.MemberAdd
		if round%2 == 1 {
			kind = scimd.MemberRemove
		}
		start := make(chan struct{})
		errc := make(chan error, 3*nUsers)
		var wg sync.WaitGroup
		for i, u := range uids {
			wg.Go(func() {
				<-start
				_, err := db.Update(ctx, "t1", scimd.TypeGroup, g, scimd.ReadOptions{},
					ops(scimd.MemberOp{Kind: kind, Members: []scimd.Member{{Value: u}}}))
				errc <- err
			})
			wg.Go(func() {
				<-start
				if i%2 == 0 {
					runtime.Gosched() // after the membership change, more often than not
				}
				_, err := db.Update(ctx, "t1", scimd.TypeUser, u, withGroups, rename("nickName", fmt.Sprintf("n%d", round)))
				errc <- err
			})
			if round%4 == 3 { // renames: the name index and the group names in users' groups
				wg.Go(func() {
					<-start
					var err error
					if i == 0 {
						_, err = db.Update(ctx, "t1", scimd.TypeGroup, g, scimd.ReadOptions{}, rename("displayName", fmt.Sprintf("wg-%d", round)))
					} else {
						_, err = db.Update(ctx, "t1", scimd.TypeUser, u, scimd.ReadOptions{}, rename("userName", fmt.Sprintf("w%d-%d", i, round)))
					}
					errc <- err
				})
			}
		}
		close(start)
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		p.check(t, "t1", scimd.TypeUser, uids...)
		p.check(t, "t1", scimd.TypeGroup, g)
		for _, id := range uids {
			r, err := p.truth.Get(ctx, "t1", scimd.TypeUser, id, scimd.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p.lookup(t, "t1", scimd.TypeUser, r.Attrs["userName"].(string))
		}
	}
	if hits, _, _, _ := db.CacheStats(); hits == 0 {
		t.Error("no cache hits")
	}
}
