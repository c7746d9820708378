// Package storetest is the conformance suite every scimd.Store backend must
// pass. It is an ordinary package, imported only from backends' _test.go
// files; a backend's test is a few lines:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) scimd.Store {
//			s, err := sqlite.Open(t.Context(), ":memory:", schema.DefaultRegistry())
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Run covers CRUD, uniqueness, filters, paging (index and RFC 9865 cursor
// paging, including walks under concurrent writes) and sorting, group
// membership (and, for stores that implement scimd.MemberStreamer,
// streaming it) and tenant isolation. Filters are checked against hand-written
// expectations and against schema.ResourceType.Match, the reference
// semantics: a fixed list and 400 generated (seeded, reproducible) filters
// over 30 varied users must select exactly what Match selects. Sorting is
// checked against the schema's types and caseExact the same way. RunConcurrency (opt-in) checks that concurrent updates lose
// nothing and that concurrent duplicate creates yield exactly one resource.
// RunExtensions checks a registry with a custom extension holding integer,
// decimal, dateTime, boolean and caseExact string attributes.
//
// The suite uses the tenant ids "t1" and "t2". Stores accept any tenant id
// string in Store methods; a backend that needs tenant rows to exist first
// must create "t1" and "t2" in the constructor it passes to Run.
//
// Resources are built the way the HTTP layer builds them: a JSON body decoded
// with UseNumber, then schema.ResourceType.Decode and Validate. Errors are
// checked by scimd.StatusOf and scimd.ScimTypeOf, never by message text.
//
// Requirements the suite makes explicit beyond the Store comments:
//   - timestamps keep at least millisecond precision, and the Meta a write
//     returns equals the Meta a later Get returns;
//   - Update sets LastModified strictly after the previous value when at
//     least a few milliseconds have passed;
//   - sorting follows RFC 7644 §3.4.2.3: strings by caseExact, resources
//     without a value last when ascending and first when descending;
//   - a filter naming an unknown attribute fails with 400 invalidFilter;
//   - filter values are matched literally: LIKE/GLOB wildcards (% _ * [),
//     quotes and backslashes in values have no special meaning; case
//     folding is Unicode-aware; dateTime literals follow RFC 3339, including
//     lower-case "t" and "z", and compare as instants;
//   - members.value and groups.value compare as the schema's caseExact says.
package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
)

// The tenant ids the suite uses.
const (
	T1 = "t1"
	T2 = "t2"
)

// URN of the Enterprise User extension, for building filters.
const entURN = schema.URNEnterpriseUser

// Run runs the conformance suite against the stores newStore returns. Every
// subtest calls newStore for a fresh, empty store serving
// schema.DefaultRegistry().
func Run(t *testing.T, newStore func(t *testing.T) scimd.Store) {
	h := func(t *testing.T) *harness {
		return &harness{t: t, s: newStore(t), reg: schema.DefaultRegistry()}
	}
	t.Run("Create", func(t *testing.T) { testCreate(t, h) })
	t.Run("Get", func(t *testing.T) { testGet(t, h) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, h) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, h) })
	t.Run("Uniqueness", func(t *testing.T) { testUniqueness(t, h) })
	t.Run("Filter", func(t *testing.T) { testFilter(t, h) })
	t.Run("Paging", func(t *testing.T) { testPaging(t, h) })
	t.Run("BoundedCount", func(t *testing.T) { testBoundedCount(t, h, false) })
	t.Run("IndexWalks", func(t *testing.T) { testIndexWalks(t, h) })
	t.Run("Cursor", func(t *testing.T) { testCursor(t, h) })
	t.Run("Sort", func(t *testing.T) { testSort(t, h) })
	t.Run("Members", func(t *testing.T) { testMembers(t, h) })
	t.Run("MembersStream", func(t *testing.T) { testMembersStream(t, h) })
	t.Run("Tenant", func(t *testing.T) { testTenant(t, h) })
}

// RunBoundedCount runs Run's ListQuery.MaxTotal cases requiring the store
// to bound the count (Run also accepts a store that ignores MaxTotal and
// always counts exactly, as MaxTotal allows).
func RunBoundedCount(t *testing.T, newStore func(t *testing.T) scimd.Store) {
	testBoundedCount(t, func(t *testing.T) *harness {
		return &harness{t: t, s: newStore(t), reg: schema.DefaultRegistry()}
	}, true)
}

// harness bundles the store under test with helpers that fail the test on
// unexpected errors.
type harness struct {
	t   *testing.T
	s   scimd.Store
	reg *schema.Registry
}

// with returns a copy of h that reports to t, for use in subtests.
func (h *harness) with(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}

func (h *harness) rt(typ string) *schema.ResourceType {
	h.t.Helper()
	rt := h.reg.ResourceType(typ)
	if rt == nil {
		h.t.Fatalf("registry has no resource type %q", typ)
	}
	return rt
}

// decode builds a resource the way the HTTP layer does: JSON with
// UseNumber, then Decode and Validate.
func (h *harness) decode(typ string, body any) *scimd.Resource {
	h.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			h.t.Fatal(err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		h.t.Fatalf("test body: %v\n%s", err, raw)
	}
	rt := h.rt(typ)
	r, err := rt.Decode(m)
	if err != nil {
		h.t.Fatalf("schema Decode: %v\n%s", err, raw)
	}
	if err := rt.Validate(r, nil); err != nil {
		h.t.Fatalf("schema Validate: %v\n%s", err, raw)
	}
	return r
}

// user returns a decoded User with the given userName and extra attributes.
func (h *harness) user(userName string, extra map[string]any) *scimd.Resource {
	h.t.Helper()
	body := map[string]any{"schemas": []any{schema.URNUser}, "userName": userName}
	for k, v := range extra {
		body[k] = v
		if strings.HasPrefix(k, "urn:") {
			body["schemas"] = append(body["schemas"].([]any), k)
		}
	}
	return h.decode(scimd.TypeUser, body)
}

// group returns a decoded Group with the given displayName and members.
func (h *harness) group(displayName string, members ...scimd.Member) *scimd.Resource {
	h.t.Helper()
	r := h.decode(scimd.TypeGroup, map[string]any{"schemas": []any{schema.URNGroup}, "displayName": displayName})
	if members != nil {
		r.Members = members
	}
	return r
}

func (h *harness) create(tenant string, r *scimd.Resource) *scimd.Resource {
	h.t.Helper()
	got, err := h.s.Create(h.t.Context(), tenant, r)
	if err != nil {
		h.t.Fatalf("Create(%s, %s): %v", tenant, describe(r), err)
	}
	return got
}

func (h *harness) createUser(tenant, userName string, extra map[string]any) *scimd.Resource {
	h.t.Helper()
	return h.create(tenant, h.user(userName, extra))
}

func (h *harness) createGroup(tenant, displayName string, members ...scimd.Member) *scimd.Resource {
	h.t.Helper()
	return h.create(tenant, h.group(displayName, members...))
}

func (h *harness) get(tenant, typ, id string, opt scimd.ReadOptions) *scimd.Resource {
	h.t.Helper()
	r, err := h.s.Get(h.t.Context(), tenant, typ, id, opt)
	if err != nil {
		h.t.Fatalf("Get(%s, %s, %s): %v", tenant, typ, id, err)
	}
	return r
}

func (h *harness) update(tenant, typ, id string, opt scimd.ReadOptions, fn scimd.UpdateFunc) *scimd.Resource {
	h.t.Helper()
	r, err := h.s.Update(h.t.Context(), tenant, typ, id, opt, fn)
	if err != nil {
		h.t.Fatalf("Update(%s, %s, %s): %v", tenant, typ, id, err)
	}
	return r
}

// memberOps returns an UpdateFunc that changes nothing but membership.
func memberOps(ops ...scimd.MemberOp) scimd.UpdateFunc {
	return func(*scimd.Resource) ([]scimd.MemberOp, error) { return ops, nil }
}

// setAttr returns an UpdateFunc setting one top-level attribute.
func setAttr(name string, v any) scimd.UpdateFunc {
	return func(r *scimd.Resource) ([]scimd.MemberOp, error) {
		if r.Attrs == nil {
			r.Attrs = map[string]any{}
		}
		r.Attrs[name] = v
		return nil, nil
	}
}

func (h *harness) list(tenant string, q *scimd.ListQuery) *scimd.ListResult {
	h.t.Helper()
	res, err := h.s.List(h.t.Context(), tenant, q)
	if err != nil {
		h.t.Fatalf("List(%s, %s): %v", tenant, describeQuery(q), err)
	}
	return res
}

// all lists every resource of typ in tenant, in default order.
func (h *harness) all(tenant, typ string, opt scimd.ReadOptions) []*scimd.Resource {
	h.t.Helper()
	return h.list(tenant, &scimd.ListQuery{Type: typ, StartIndex: 1, Count: 10000, ReadOptions: opt}).Resources
}

func parse(t *testing.T, s string) filter.Expr {
	t.Helper()
	e, err := filter.Parse(s)
	if err != nil {
		t.Fatalf("filter.Parse(%q): %v", s, err)
	}
	return e
}

func userMember(r *scimd.Resource) scimd.Member { return scimd.Member{Value: r.ID} }
func groupMember(r *scimd.Resource) scimd.Member {
	return scimd.Member{Value: r.ID, Type: scimd.TypeGroup}
}

// wantErr fails the test unless err carries the given status and, when
// scimType is not "", the given scimType.
func wantErr(t *testing.T, err error, status int, scimType string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %d %s", status, scimType)
	}
	if got := scimd.StatusOf(err); got != status {
		t.Fatalf("got status %d (%v), want %d", got, err, status)
	}
	if scimType != "" {
		if got := scimd.ScimTypeOf(err); got != scimType {
			t.Fatalf("got scimType %q (%v), want %q", got, err, scimType)
		}
	}
}

// ids returns the ids of rs in order.
func ids(rs []*scimd.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// sameSet reports whether a and b hold the same strings, ignoring order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

// memberValues returns the sorted member ids of ms.
func memberValues(ms []scimd.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Value
	}
	sort.Strings(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// equalAttrs reports whether two attribute maps are deeply equal.
func equalAttrs(a, b map[string]any) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func dump(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// attrsDiff describes how got differs from want, including Go types, which
// JSON hides (int64 vs float64).
func attrsDiff(got, want map[string]any) string {
	return fmt.Sprintf("got  %s\n     %#v\nwant %s\n     %#v", dump(got), got, dump(want), want)
}

func describe(r *scimd.Resource) string {
	if r == nil {
		return "<nil>"
	}
	name := r.Attrs["userName"]
	if name == nil {
		name = r.Attrs["displayName"]
	}
	return fmt.Sprintf("%s %v", r.Type, name)
}

func describeQuery(q *scimd.ListQuery) string {
	if q == nil {
		return "<nil>"
	}
	s := fmt.Sprintf("type=%q start=%d count=%d", q.Type, q.StartIndex, q.Count)
	if q.Filter != nil {
		s += " filter=" + q.Filter.String()
	}
	if q.SortBy != nil {
		s += " sortBy=" + q.SortBy.String()
		if q.SortDescending {
			s += " desc"
		}
	}
	return s
}

// equalMeta fails the test unless got and want have the same Meta.
func equalMeta(t *testing.T, what string, got, want scimd.Meta) {
	t.Helper()
	if got.Version != want.Version || !got.Created.Equal(want.Created) || !got.LastModified.Equal(want.LastModified) {
		t.Errorf("%s: meta = %+v, want %+v", what, got, want)
	}
}

// tick waits long enough for a millisecond-precision clock to advance.
func tick() { time.Sleep(3 * time.Millisecond) }

// ts formats a time as a filter literal.
func ts(tm time.Time) string { return `"` + tm.UTC().Format(time.RFC3339Nano) + `"` }
