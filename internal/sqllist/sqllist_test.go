package sqllist

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/internal/sqlbuild"
	"github.com/scimd/scimd/schema"
)

// question has positional placeholders, as SQLite; dollar numbered ones,
// as PostgreSQL.
type question struct{}

func (question) Placeholder(int) string { return "?" }
func (question) Positional() bool       { return true }
func (question) Arg(v any) any          { return sqlbuild.SQLite{}.Arg(v) }
func (question) Columns(groups bool) string {
	return map[bool]string{false: "r.seq", true: "r.seq, g"}[groups]
}
func (question) Likely(cond string) string { return "likely(" + cond + ")" }
func (question) SubqueryAlias() string     { return "" }

type dollar struct{}

func (dollar) Placeholder(n int) string  { return "$" + strconv.Itoa(n) }
func (dollar) Positional() bool          { return false }
func (dollar) Arg(v any) any             { return v }
func (dollar) Columns(bool) string       { return "r.seq" }
func (dollar) Likely(cond string) string { return cond }
func (dollar) SubqueryAlias() string     { return " AS page" }

func TestPageQuery(t *testing.T) {
	ts := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		name    string
		p       Plan
		at      *scimd.PageKey
		reverse bool
		offset  int
		want    string
		args    []any
	}{
		{"first", Plan{D: dollar{}, Where: "w = $1", Args: []any{"a"}}, nil, false, 0,
			"SELECT r.seq FROM resources r WHERE w = $1 ORDER BY r.seq LIMIT $2", []any{"a", 10}},
		{"offset", Plan{D: dollar{}, Where: "w = $1", Args: []any{"a"}, Desc: true}, nil, false, 5,
			"SELECT r.seq FROM resources r WHERE w = $1 ORDER BY r.seq DESC LIMIT $2 OFFSET $3", []any{"a", 10, 5}},
		{"seq/after", Plan{D: question{}, Where: "w", Groups: true}, &scimd.PageKey{Seq: 7}, false, 0,
			"SELECT r.seq, g FROM resources r WHERE w AND likely(r.seq > ?) ORDER BY r.seq LIMIT ?", []any{int64(7), 10}},
		{"seq/before", Plan{D: question{}, Where: "w"}, &scimd.PageKey{Seq: 7, Before: true}, true, 0,
			"SELECT r.seq FROM resources r WHERE w AND likely(r.seq < ?) ORDER BY r.seq DESC LIMIT ?", []any{int64(7), 10}},
		{"driven", Plan{D: question{}, From: "t JOIN resources r ON r.seq = t.rowid", Seq: "t.rowid", Where: "w"}, &scimd.PageKey{Seq: 7}, false, 0,
			"SELECT r.seq FROM t JOIN resources r ON r.seq = t.rowid WHERE w AND likely(t.rowid > ?) ORDER BY t.rowid LIMIT ?", []any{int64(7), 10}},
		{"byFilter", Plan{D: question{}, Where: "w", ByFilter: true, Desc: true}, nil, false, 3,
			"SELECT r.seq FROM resources r WHERE r.seq IN (SELECT r.seq FROM resources r WHERE w ORDER BY +r.seq DESC LIMIT ? OFFSET ?) ORDER BY r.seq DESC", []any{10, 3}},
		// The page's seqs from another table (the sqlite store's
		// resource_modified log), the rows from resources r.
		{"byFilter/seq", Plan{D: question{}, From: "lm", Seq: "lm.res_seq", Where: "w", ByFilter: true}, &scimd.PageKey{Seq: 7}, false, 0,
			"SELECT r.seq FROM resources r WHERE r.seq IN (SELECT lm.res_seq FROM lm WHERE w AND likely(lm.res_seq > ?) ORDER BY +lm.res_seq LIMIT ?) ORDER BY r.seq", []any{int64(7), 10}},
		// A value used twice is bound twice with "?", once with "$n".
		{"key/positional", Plan{D: question{}, Where: "w", Key: "k"}, &scimd.PageKey{Value: ts, Seq: 7}, false, 0,
			"SELECT r.seq, k FROM resources r WHERE w AND likely((k > ? OR (k = ? AND r.seq > ?) OR k IS NULL)) ORDER BY k ASC NULLS LAST, r.seq LIMIT ?",
			[]any{sqlbuild.FormatTime(ts), sqlbuild.FormatTime(ts), int64(7), 10}},
		{"key/numbered", Plan{D: dollar{}, Where: "w = $1", Args: []any{"a"}, Key: "k", Desc: true}, &scimd.PageKey{Value: "x", Seq: 7}, false, 0,
			"SELECT r.seq, k FROM resources r WHERE w = $1 AND (k < $2 OR (k = $2 AND r.seq > $3)) ORDER BY k DESC NULLS FIRST, r.seq LIMIT $4",
			[]any{"a", "x", int64(7), 10}},
		{"key/before", Plan{D: dollar{}, Where: "w", Key: "k"}, &scimd.PageKey{Value: "x", Seq: 7, Before: true}, true, 0,
			"SELECT r.seq, k FROM resources r WHERE w AND (k < $1 OR (k = $1 AND r.seq < $2)) ORDER BY k DESC NULLS FIRST, r.seq DESC LIMIT $3",
			[]any{"x", int64(7), 10}},
		// NULL keys come last ascending, first descending.
		{"null/after/asc", Plan{D: dollar{}, Where: "w", Key: "k"}, &scimd.PageKey{Seq: 7}, false, 0,
			"SELECT r.seq, k FROM resources r WHERE w AND (k IS NULL AND r.seq > $1) ORDER BY k ASC NULLS LAST, r.seq LIMIT $2", []any{int64(7), 10}},
		{"null/after/desc", Plan{D: dollar{}, Where: "w", Key: "k", Desc: true}, &scimd.PageKey{Seq: 7}, false, 0,
			"SELECT r.seq, k FROM resources r WHERE w AND ((k IS NULL AND r.seq > $1) OR k IS NOT NULL) ORDER BY k DESC NULLS FIRST, r.seq LIMIT $2", []any{int64(7), 10}},
		{"null/before/asc", Plan{D: dollar{}, Where: "w", Key: "k"}, &scimd.PageKey{Seq: 7, Before: true}, true, 0,
			"SELECT r.seq, k FROM resources r WHERE w AND (k IS NOT NULL OR r.seq < $1) ORDER BY k DESC NULLS FIRST, r.seq DESC LIMIT $2", []any{int64(7), 10}},
		{"null/before/desc", Plan{D: dollar{}, Where: "w", Key: "k", Desc: true}, &scimd.PageKey{Seq: 7, Before: true}, true, 0,
			"SELECT r.seq, k FROM resources r WHERE w AND (k IS NULL AND r.seq < $1) ORDER BY k ASC NULLS LAST, r.seq DESC LIMIT $2", []any{int64(7), 10}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, args := c.p.PageQuery(c.at, c.reverse, 10, c.offset)
			if got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			if !reflect.DeepEqual(args, c.args) {
				t.Errorf("args %#v, want %#v", args, c.args)
			}
		})
	}
}

func TestPageQueryKeepsPlanArgs(t *testing.T) {
	p := Plan{D: dollar{}, Where: "w = $1", Args: make([]any, 1, 8)}
	p.Args[0] = "a"
	p.PageQuery(&scimd.PageKey{Seq: 1}, false, 10, 0)
	p.PageQuery(nil, false, 10, 0)
	if got := p.Args[:2][1]; got != nil {
		t.Errorf("PageQuery wrote into the plan's arguments: %v", got)
	}
}

func TestCountQuery(t *testing.T) {
	at := &scimd.PageKey{Seq: 7}
	for _, c := range []struct {
		name string
		d    Dialect
		span CountSpan
		want string
		args []any
	}{
		{"all", dollar{}, CountSpan{}, "SELECT count(*) FROM resources r WHERE w = $1", []any{"a"}},
		{"all/at", dollar{}, CountSpan{At: at, Offset: 4}, "SELECT count(*) FROM resources r WHERE w = $1", []any{"a"}},
		{"capped", dollar{}, CountSpan{Offset: 4, Limit: 11},
			"SELECT count(*) FROM (SELECT 1 FROM resources r WHERE w = $1 LIMIT $2) AS page", []any{"a", 15}},
		{"capped/at", dollar{}, CountSpan{At: at, Offset: 4, Limit: 11},
			"SELECT count(*) FROM (SELECT 1 FROM resources r WHERE w = $1 AND r.seq > $2 LIMIT $3) AS page", []any{"a", int64(7), 11}},
		{"capped/at/skip", dollar{}, CountSpan{At: at, Offset: 14, Skip: 10, Limit: 11},
			"SELECT count(*) FROM (SELECT 1 FROM resources r WHERE w = $1 AND r.seq > $2 LIMIT $3) AS page", []any{"a", int64(7), 21}},
		{"capped/at/positional", question{}, CountSpan{At: at, Offset: 4, Limit: 11},
			"SELECT count(*) FROM (SELECT 1 FROM resources r WHERE w = $1 AND r.seq > ? LIMIT ?)", []any{"a", int64(7), 11}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := Plan{D: c.d, Where: "w = $1", Args: []any{"a"}}
			got, args := p.CountQuery(c.span)
			if got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			if !reflect.DeepEqual(args, c.args) {
				t.Errorf("args %#v, want %#v", args, c.args)
			}
		})
	}
}

func TestCountSpan(t *testing.T) {
	f, err := filter.Parse(`userName sw "a"`)
	if err != nil {
		t.Fatal(err)
	}
	at := &scimd.PageKey{Seq: 7}
	for _, c := range []struct {
		name      string
		q         scimd.ListQuery
		count     int
		at        *scimd.PageKey
		skip      int
		want      CountSpan
		n         int
		total     int
		wantExact bool
	}{
		{"unbounded", scimd.ListQuery{StartIndex: 5}, 10, at, 0, CountSpan{At: at, Offset: 4}, 30, 30, true},
		{"no filter", scimd.ListQuery{MaxTotal: 100, StartIndex: 5}, 10, nil, 0, CountSpan{Offset: 4}, 30, 30, true},
		{"offset/under", scimd.ListQuery{Filter: f, MaxTotal: 100, StartIndex: 5}, 10, nil, 0, CountSpan{Offset: 4, Limit: 101}, 60, 60, true},
		{"offset/over", scimd.ListQuery{Filter: f, MaxTotal: 100, StartIndex: 5}, 10, nil, 0, CountSpan{Offset: 4, Limit: 101}, 105, 105, false},
		{"count over cap", scimd.ListQuery{Filter: f, MaxTotal: 5}, 10, nil, 0, CountSpan{Limit: 11}, 11, 11, false},
		{"seek/under", scimd.ListQuery{Filter: f, MaxTotal: 100, StartIndex: 5}, 10, at, 0, CountSpan{At: at, Offset: 4, Limit: 101}, 60, 64, true},
		{"seek/over", scimd.ListQuery{Filter: f, MaxTotal: 100, StartIndex: 5}, 10, at, 0, CountSpan{At: at, Offset: 4, Limit: 101}, 101, 105, false},
		// Read after an earlier position, skipping 10 rows.
		{"seek+skip/under", scimd.ListQuery{Filter: f, MaxTotal: 100, StartIndex: 25}, 10, at, 10, CountSpan{At: at, Offset: 24, Skip: 10, Limit: 101}, 60, 74, true},
		{"seek+skip/over", scimd.ListQuery{Filter: f, MaxTotal: 100, StartIndex: 25}, 10, at, 10, CountSpan{At: at, Offset: 24, Skip: 10, Limit: 101}, 111, 125, false},
		{"offset ignores skip", scimd.ListQuery{Filter: f, MaxTotal: 100, StartIndex: 25}, 10, nil, 24, CountSpan{Offset: 24, Limit: 101}, 60, 60, true},
		// A cursor page counts from the list's start.
		{"cursor", scimd.ListQuery{Filter: f, MaxTotal: 100, UseCursor: true, StartIndex: 5}, 10, at, 0, CountSpan{Limit: 101}, 101, 101, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			span := SpanOf(&c.q, c.count, c.at, c.skip)
			if span != c.want {
				t.Fatalf("SpanOf = %+v, want %+v", span, c.want)
			}
			total, exact := span.Total(c.n)
			if total != c.total || exact != c.wantExact {
				t.Errorf("Total(%d) = %d, %v; want %d, %v", c.n, total, exact, c.total, c.wantExact)
			}
		})
	}
}

func TestStartTotal(t *testing.T) {
	for _, c := range []struct{ offset, n, count, want int }{
		{0, 0, 10, 0},    // empty first page: an empty list
		{0, 3, 10, 3},    // short first page
		{20, 3, 10, 23},  // short later page
		{20, 0, 10, -1},  // empty later page: past the end, count
		{0, 10, 10, -1},  // full page: count
		{20, 10, 10, -1}, // full page: count
	} {
		if got := StartTotal(c.offset, c.n, c.count); got != c.want {
			t.Errorf("StartTotal(%d, %d, %d) = %d, want %d", c.offset, c.n, c.count, got, c.want)
		}
	}
}

func TestOneStatement(t *testing.T) {
	f, err := filter.Parse(`userName eq "a"`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		q    scimd.ListQuery
		want bool
	}{
		{"lookup", scimd.ListQuery{Type: scimd.TypeUser, Filter: f, Count: 1}, true},
		{"startIndex 1", scimd.ListQuery{Type: scimd.TypeUser, Filter: f, Count: 1, StartIndex: 1}, true},
		{"user members", scimd.ListQuery{Type: scimd.TypeUser, Filter: f, Count: 1, ReadOptions: scimd.ReadOptions{Members: true}}, true},
		{"no filter", scimd.ListQuery{Type: scimd.TypeUser, Count: 1}, false},
		{"count 0", scimd.ListQuery{Type: scimd.TypeUser, Filter: f}, false},
		{"later page", scimd.ListQuery{Type: scimd.TypeUser, Filter: f, Count: 1, StartIndex: 2}, false},
		{"cursor", scimd.ListQuery{Type: scimd.TypeUser, Filter: f, Count: 1, UseCursor: true}, false},
		{"group members", scimd.ListQuery{Type: scimd.TypeGroup, Filter: f, Count: 1, ReadOptions: scimd.ReadOptions{Members: true}}, false},
	} {
		if got := OneStatement(&c.q); got != c.want {
			t.Errorf("%s: OneStatement = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCondition(t *testing.T) {
	reg := schema.DefaultRegistry()
	f, err := filter.Parse(`userName eq "A"`)
	if err != nil {
		t.Fatal(err)
	}
	sort, err := filter.ParseAttrPath("userName")
	if err != nil {
		t.Fatal(err)
	}
	b := &sqlbuild.Builder{D: sqlbuild.Postgres{}, Tenant: "t1"}
	where, key, err := Condition(b, reg, "t1", reg.ResourceType(scimd.TypeUser), &scimd.ListQuery{Filter: f, SortBy: &sort})
	if err != nil {
		t.Fatal(err)
	}
	if want := "r.tenant_id = $1 AND r.type = $2 AND r.name_lc = $3"; where != want {
		t.Errorf("where = %s, want %s", where, want)
	}
	if key == "" {
		t.Error("no sort key")
	}
	if want := []any{"t1", "User", "a"}; !reflect.DeepEqual(b.Args, want) {
		t.Errorf("args = %#v, want %#v", b.Args, want)
	}

	b = &sqlbuild.Builder{D: sqlbuild.Postgres{}, Tenant: "t1"}
	where, key, err = Condition(b, reg, "t1", nil, &scimd.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if where != "r.tenant_id = $1" || key != "" {
		t.Errorf("every type, no filter: where %q, key %q", where, key)
	}
}

// pages is a Reader over resources with the given seqs, in creation
// order, that reads the page queries of a plan in creation order.
type pages struct {
	seqs  []int64
	limit int // the LIMIT of the last query
}

func (r *pages) ReadPage(_ context.Context, _ *Plan, query string, args []any) (Page, error) {
	r.limit = args[len(args)-1].(int)
	var out Page
	add := func(s int64) {
		out.Resources = append(out.Resources, &scimd.Resource{ID: strconv.FormatInt(s, 10)})
		out.Keys = append(out.Keys, scimd.PageKey{Seq: s})
	}
	switch {
	case strings.Contains(query, "r.seq < $1"): // before a position, backwards
		for i := len(r.seqs) - 1; i >= 0 && len(out.Keys) < r.limit; i-- {
			if r.seqs[i] < args[0].(int64) {
				add(r.seqs[i])
			}
		}
	default:
		at := int64(-1)
		if strings.Contains(query, "r.seq > $1") {
			at = args[0].(int64)
		}
		for _, s := range r.seqs {
			if s > at && len(out.Keys) < r.limit {
				add(s)
			}
		}
	}
	return out, nil
}

func TestCursorPage(t *testing.T) {
	ctx := context.Background()
	q := &scimd.ListQuery{Type: scimd.TypeUser, UseCursor: true, Count: 2}
	r := &pages{seqs: []int64{1, 2, 3, 4, 5}}
	p := &Plan{D: dollar{}, Where: "w"}
	read := func(at *scimd.PageKey) (*scimd.ListResult, int) {
		t.Helper()
		out := &scimd.ListResult{}
		total, err := CursorPage(ctx, r, "t1", q, p, at, 2, out)
		if err != nil {
			t.Fatal(err)
		}
		if r.limit != 3 {
			t.Errorf("read %d rows, want count+1", r.limit)
		}
		return out, total
	}
	ids := func(out *scimd.ListResult) (s string) {
		for _, r := range out.Resources {
			s += r.ID
		}
		return s
	}
	decode := func(c string) *scimd.PageKey {
		t.Helper()
		k, err := scimd.DecodeCursor("t1", q, c)
		if err != nil {
			t.Fatal(err)
		}
		return &k
	}

	first, total := read(nil)
	if ids(first) != "12" || first.PreviousCursor != "" || first.NextCursor == "" || total != -1 {
		t.Fatalf("first page: %s prev %q next %q total %d", ids(first), first.PreviousCursor, first.NextCursor, total)
	}
	second, _ := read(decode(first.NextCursor))
	if ids(second) != "34" || second.PreviousCursor == "" || second.NextCursor == "" {
		t.Fatalf("second page: %s prev %q next %q", ids(second), second.PreviousCursor, second.NextCursor)
	}
	last, _ := read(decode(second.NextCursor))
	if ids(last) != "5" || last.PreviousCursor == "" || last.NextCursor != "" {
		t.Fatalf("last page: %s prev %q next %q", ids(last), last.PreviousCursor, last.NextCursor)
	}
	// Back from the last page: the second again, in forward order, with
	// both cursors.
	k := decode(last.PreviousCursor)
	if !k.Before || k.Seq != 5 {
		t.Fatalf("previous cursor of the last page: %+v", k)
	}
	back, _ := read(k)
	if ids(back) != "34" || back.PreviousCursor == "" || back.NextCursor == "" {
		t.Fatalf("back to the second page: %s prev %q next %q", ids(back), back.PreviousCursor, back.NextCursor)
	}
	// Back from the second page: the first, with no previous cursor.
	front, _ := read(decode(back.PreviousCursor))
	if ids(front) != "12" || front.PreviousCursor != "" || front.NextCursor == "" {
		t.Fatalf("back to the first page: %s prev %q next %q", ids(front), front.PreviousCursor, front.NextCursor)
	}

	// A first page that holds the whole list gives the total.
	r.seqs = r.seqs[:2]
	whole, total := read(nil)
	if ids(whole) != "12" || whole.NextCursor != "" || total != 2 {
		t.Fatalf("whole list: %s next %q total %d", ids(whole), whole.NextCursor, total)
	}
	r.seqs = nil
	empty, total := read(nil)
	if len(empty.Resources) != 0 || empty.NextCursor != "" || total != 0 {
		t.Fatalf("empty list: %d resources, next %q, total %d", len(empty.Resources), empty.NextCursor, total)
	}
}
