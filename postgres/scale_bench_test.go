package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/internal/pgtest"
	"github.com/scimd/scimd/postgres"
)

// seedUsers inserts n users into tenant t1 with SQL (the store's Create
// would take minutes at 100,000): userName user0000001@example.com…, a work
// e-mail equal to it and a home one u0000001@home.test, lastModified one
// second apart from 2020-01-01.
func seedUsers(b *testing.B, db *postgres.DB, n int) {
	b.Helper()
	if err := db.ExecSQL(b.Context(), fmt.Sprintf(`
		INSERT INTO resources (tenant_id, id, type, external_id, name_lc, display_lc, active, created, last_modified, version, schemas, doc)
		SELECT 't1', md5(i::text), 'User', '00u' || lpad(i::text, 7, '0') || 'XyZ',
			'user' || lpad(i::text, 7, '0') || '@example.com', 'user ' || i, true,
			'2020-01-01T00:00:00Z'::timestamptz + i * interval '1 second',
			'2020-01-01T00:00:00Z'::timestamptz + i * interval '1 second', 1,
			'["urn:ietf:params:scim:schemas:core:2.0:User"]',
			jsonb_build_object('userName', 'user' || lpad(i::text, 7, '0') || '@example.com', 'active', true,
				'emails', jsonb_build_array(
					jsonb_build_object('value', 'user' || lpad(i::text, 7, '0') || '@example.com', 'type', 'work'),
					jsonb_build_object('value', 'u' || lpad(i::text, 7, '0') || '@home.test', 'type', 'home')))
		FROM generate_series(1, %d) AS i;
		INSERT INTO value_index (tenant_id, res_seq, attr, ord, type_lc, value_lc)
		SELECT 't1', seq, 'emails', 0, 'work', name_lc FROM resources;
		INSERT INTO value_index (tenant_id, res_seq, attr, ord, type_lc, value_lc)
		SELECT 't1', seq, 'emails', 1, 'home', 'u' || substr(name_lc, 5, 7) || '@home.test' FROM resources`, n)); err != nil {
		b.Fatal(err)
	}
	// As autovacuum would after a bulk load: statistics, and the GIN
	// pending lists merged.
	if err := db.ExecSQL(b.Context(), `VACUUM ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFilterScale is sqlite's BenchmarkFilterScale on PostgreSQL: a
// full first page (count=100) of each filter, totalResults counted as
// scimd serve does (limits.maxExactCount 10,000), on tenants of 10,000
// and 100,000 users.
func BenchmarkFilterScale(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		db := MustOpenDB(b, nil)
		seedUsers(b, db, n)
		for _, c := range []struct {
			name, filter string
			matches      int
		}{
			{"emailsWorkCo/selective", `emails[type eq "work" and value co "user0000123@"]`, 1},
			{"emailsWorkCo/dense", `emails[type eq "work" and value co "@example"]`, n},
			{"userNameCo/selective", `userName co "er0000123@"`, 1},
			{"lastModifiedGt/all", `meta.lastModified gt "2000-01-01T00:00:00Z"`, n},
			{"lastModifiedGt/last1pct", `meta.lastModified gt "` + time.Date(2020, 1, 1, 0, 0, n-n/100, 0, time.UTC).
				Format(time.RFC3339) + `"`, n / 100},
		} {
			f, err := filter.Parse(c.filter)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("users=%d/%s", n, c.name), func(b *testing.B) {
				b.ReportAllocs()
				want := boundedTotal(c.matches, 10_000, 100)
				for b.Loop() {
					db.ResetListCache()
					q := &scimd.ListQuery{Type: scimd.TypeUser, Count: 100, StartIndex: 1, Filter: f}
					setMaxTotal(q, 10_000)
					res, err := db.List(b.Context(), "t1", q)
					if err != nil {
						b.Fatal(err)
					}
					if res.TotalResults != want {
						b.Fatalf("TotalResults = %d, want %d", res.TotalResults, want)
					}
				}
			})
		}
	}
}

// BenchmarkWalkAcrossInstances reads page k (count=100, startIndex
// paging) of a 100,000-user tenant through one of two stores on one
// database, as the second of two instances behind a round-robin balancer
// does: that instance last served page k-2, the other one page k-1.
// "fromStart" is the same page read by an instance with no position for
// the walk (until session 6, every page that landed on another instance
// than its predecessor): OFFSET over every row before it, and
// totalResults counted again, since the page does not continue a walk
// that instance knows.
func BenchmarkWalkAcrossInstances(b *testing.B) {
	const n = 100_000
	url := pgtest.URL(b)
	a := mustOpen(b, url, nil)
	seedUsers(b, a, n)
	other := mustOpen(b, url, nil)
	list := func(db *postgres.DB, page int) *scimd.ListResult {
		res, err := db.List(b.Context(), "t1", &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: (page-1)*100 + 1, Count: 100})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Resources) != 100 {
			b.Fatalf("page %d: %d resources", page, len(res.Resources))
		}
		return res
	}
	for _, page := range []int{3, 100, 999} {
		b.Run(fmt.Sprintf("page=%d/alternating", page), func(b *testing.B) {
			list(a, 1) // the walk's first page counts totalResults on a
			list(a, page-2)
			list(other, page-1)
			for b.Loop() {
				list(a, page)
			}
		})
		b.Run(fmt.Sprintf("page=%d/fromStart", page), func(b *testing.B) {
			list(a, 1)
			for b.Loop() {
				a.ResetListPositions()
				list(a, page)
			}
		})
	}
}
