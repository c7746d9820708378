package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
)

// Schema URNs of the custom extensions RunExtensions registers.
const (
	ExtUserURN  = "urn:example:params:scim:schemas:extension:storetest:2.0:User"
	ExtGroupURN = "urn:example:params:scim:schemas:extension:storetest:2.0:Group"
)

func extAttr(name string, typ schema.Type, opts ...func(*schema.Attribute)) *schema.Attribute {
	a := &schema.Attribute{Name: name, Type: typ, Mutability: schema.ReadWrite, Returned: schema.Default, Uniqueness: schema.None}
	for _, o := range opts {
		o(a)
	}
	return a
}

// ExtensionRegistry returns the registry RunExtensions passes to newStore:
// the default resource types plus a User extension (ExtUserURN) with
// integer "level", decimal "score", caseExact string "badge", dateTime
// "hired", boolean "vip", multi-valued string "tags" and multi-valued
// complex "skills" {name, years}, and a Group extension (ExtGroupURN) with
// integer "costCenter".
func ExtensionRegistry() *schema.Registry {
	multi := func(a *schema.Attribute) { a.MultiValued = true }
	user := &schema.Schema{ID: ExtUserURN, Name: "StoretestUser", Attributes: []*schema.Attribute{
		extAttr("level", schema.Integer),
		extAttr("score", schema.Decimal),
		extAttr("badge", schema.String, func(a *schema.Attribute) { a.CaseExact = true }),
		extAttr("hired", schema.DateTime),
		extAttr("vip", schema.Boolean),
		extAttr("tags", schema.String, multi),
		extAttr("skills", schema.Complex, multi, func(a *schema.Attribute) {
			a.SubAttributes = []*schema.Attribute{extAttr("name", schema.String), extAttr("years", schema.Integer)}
		}),
	}}
	group := &schema.Schema{ID: ExtGroupURN, Name: "StoretestGroup", Attributes: []*schema.Attribute{
		extAttr("costCenter", schema.Integer),
	}}
	return schema.NewRegistryWith([]schema.Extension{{Schema: user}}, []schema.Extension{{Schema: group}})
}

// RunExtensions checks a store serving ExtensionRegistry(): round trips of
// integer, decimal, dateTime and boolean extension values, filters and
// sorting that compare them as numbers and instants rather than text,
// caseExact strings, and multi-valued complex extension attributes. newStore
// must return a fresh, empty store serving reg.
func RunExtensions(t *testing.T, newStore func(t *testing.T, reg *schema.Registry) scimd.Store) {
	setup := func(t *testing.T) *harness {
		reg := ExtensionRegistry()
		return &harness{t: t, s: newStore(t, reg), reg: reg}
	}
	x := func(name string) string { return ExtUserURN + ":" + name }
	bodies := []map[string]any{
		{"level": 10, "score": 9.5, "badge": "Gold", "hired": "2021-06-01T10:00:00+02:00", "vip": true, "tags": []any{"a", "b"},
			"skills": []any{map[string]any{"name": "go", "years": 5}}},
		{"level": 9, "score": 10, "badge": "gold", "hired": "2021-06-01T09:00:00Z", "vip": false, "tags": []any{"b"},
			"skills": []any{map[string]any{"name": "go", "years": 1}, map[string]any{"name": "sql", "years": 7}}},
		{"level": 100, "score": 2.25, "hired": "2020-01-01T00:00:00Z"},
		{"level": -3, "score": -0.5, "badge": "Silver", "vip": true},
		nil,
		{"level": 0, "score": 0, "tags": []any{"c"}, "hired": "2021-06-01T08:30:00Z"},
		{"level": 7, "score": 1e3, "badge": "GOLD", "hired": "2021-06-01T08:00:00.5Z"},
	}
	fixture := func(h *harness) []*scimd.Resource {
		var us []*scimd.Resource
		for i, b := range bodies {
			var attrs map[string]any
			if b != nil {
				attrs = map[string]any{ExtUserURN: b}
			}
			us = append(us, h.createUser(T1, fmt.Sprint("u", i), attrs))
			h.createUser(T2, fmt.Sprint("u", i), attrs)
		}
		return us
	}

	t.Run("RoundTrip", func(t *testing.T) {
		h := setup(t)
		for i, b := range bodies {
			if b == nil {
				continue
			}
			in := h.user(fmt.Sprint("u", i), map[string]any{ExtUserURN: b})
			want := in.Attrs
			c := h.create(T1, in)
			if !equalAttrs(c.Attrs, want) {
				t.Errorf("u%d: Create returned\n%s", i, attrsDiff(c.Attrs, want))
			}
			if got := h.get(T1, scimd.TypeUser, c.ID, scimd.ReadOptions{}); !equalAttrs(got.Attrs, want) {
				t.Errorf("u%d: Get returned\n%s", i, attrsDiff(got.Attrs, want))
			}
			if !slices.Contains(c.Schemas, ExtUserURN) {
				t.Errorf("u%d: Schemas = %v, want the extension listed", i, c.Schemas)
			}
		}
		g := h.decode(scimd.TypeGroup, map[string]any{
			"schemas":     []any{schema.URNGroup, ExtGroupURN},
			"displayName": "g", ExtGroupURN: map[string]any{"costCenter": 42},
		})
		want := g.Attrs
		c := h.create(T1, g)
		if got := h.get(T1, scimd.TypeGroup, c.ID, scimd.ReadOptions{}); !equalAttrs(got.Attrs, want) {
			t.Errorf("group: Get returned\n%s", attrsDiff(got.Attrs, want))
		}
		res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeGroup, Filter: parse(t, ExtGroupURN+":costCenter eq 42"), StartIndex: 1, Count: 10})
		if !slices.Equal(ids(res.Resources), []string{c.ID}) {
			t.Errorf("costCenter eq 42: got %v", ids(res.Resources))
		}
	})

	cases := []struct {
		filter string
		want   []int
	}{
		{x("level") + ` gt 9`, []int{0, 2}},
		{x("level") + ` ge 9`, []int{0, 1, 2}},
		{x("level") + ` lt 0`, []int{3}},
		{x("level") + ` le 0`, []int{3, 5}},
		{x("level") + ` eq 0`, []int{5}},
		{x("level") + ` eq 100`, []int{2}},
		{x("level") + ` pr`, []int{0, 1, 2, 3, 5, 6}},
		{x("score") + ` gt 9.5`, []int{1, 6}},
		{x("score") + ` ge 9.5`, []int{0, 1, 6}},
		{x("score") + ` lt 1`, []int{3, 5}},
		{x("score") + ` eq 10`, []int{1}},
		{x("score") + ` eq 2.25`, []int{2}},
		{x("score") + ` le -0.5`, []int{3}},
		{x("badge") + ` eq "gold"`, []int{1}},
		{x("badge") + ` eq "Gold"`, []int{0}},
		{x("badge") + ` sw "G"`, []int{0, 6}},
		{x("badge") + ` co "OL"`, []int{6}},
		{x("hired") + ` gt "2021-06-01T08:15:00Z"`, []int{1, 5}},
		{x("hired") + ` lt "2021-01-01T00:00:00Z"`, []int{2}},
		{x("hired") + ` eq "2021-06-01T08:00:00Z"`, []int{0}},
		{x("hired") + ` ge "2021-06-01T10:00:00+02:00"`, []int{0, 1, 5, 6}},
		{x("hired") + ` gt "2021-06-01T08:00:00Z"`, []int{1, 5, 6}},
		{x("hired") + ` lt "2021-06-01T08:00:01Z"`, []int{0, 2, 6}},
		{x("vip") + ` eq true`, []int{0, 3}},
		{x("vip") + ` eq false`, []int{1}},
		{x("tags") + ` eq "b"`, []int{0, 1}},
		{x("tags") + ` pr`, []int{0, 1, 5}},
		{x("skills") + `[name eq "go" and years gt 2]`, []int{0}},
		{x("skills") + `[name eq "sql"]`, []int{1}},
		{x("skills.years") + ` ge 7`, []int{1}},
		{x("level") + ` gt 5 and ` + x("score") + ` lt 100`, []int{0, 1, 2}},
		{`not (` + x("level") + ` pr)`, []int{4}},
	}
	t.Run("Filter", func(t *testing.T) {
		h := setup(t)
		us := fixture(h)
		rt := h.rt(scimd.TypeUser)
		for _, c := range cases {
			t.Run(c.filter, func(t *testing.T) {
				h := h.with(t)
				expr := parse(t, c.filter)
				var want []string
				for _, i := range c.want {
					want = append(want, us[i].ID)
				}
				res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, Filter: expr, StartIndex: 1, Count: 100})
				if got := ids(res.Resources); !sameSet(got, want) || res.TotalResults != len(want) {
					t.Errorf("got %v (total %d), want %v", indexes(us, got), res.TotalResults, c.want)
				}
				// The oracle must agree with the expectation too.
				var match []string
				for _, u := range us {
					if ok, err := rt.Match(expr, u); err != nil {
						t.Fatalf("schema Match: %v", err)
					} else if ok {
						match = append(match, u.ID)
					}
				}
				if !sameSet(match, want) {
					t.Errorf("schema Match gives %v, want %v (a schema bug, not the store's)", indexes(us, match), c.want)
				}
			})
		}
	})
	t.Run("Sort", func(t *testing.T) {
		h := setup(t)
		us := fixture(h)
		sortBy := func(name string, desc bool) []int {
			p, err := filter.ParseAttrPath(x(name))
			if err != nil {
				t.Fatal(err)
			}
			res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, SortBy: &p, SortDescending: desc, StartIndex: 1, Count: 100})
			return indexes(us, ids(res.Resources))
		}
		if got, want := sortBy("level", false), []int{3, 5, 6, 1, 0, 2, 4}; !slices.Equal(got, want) {
			t.Errorf("level ascending: %v, want %v (numeric, missing last)", got, want)
		}
		if got, want := sortBy("score", true), []int{4, 6, 1, 0, 2, 5, 3}; !slices.Equal(got, want) {
			t.Errorf("score descending: %v, want %v (numeric, missing first)", got, want)
		}
		got := sortBy("hired", false)
		if want := []int{2, 0, 6, 5, 1}; !slices.Equal(got[:5], want) || !sameSet(intStrings(got[5:]), intStrings([]int{3, 4})) {
			t.Errorf("hired ascending: %v, want %v then {3 4} (by instant, missing last)", got, want)
		}
	})
}

// indexes maps ids to their positions in us.
func indexes(us []*scimd.Resource, idList []string) []int {
	var out []int
	for _, id := range idList {
		i := slices.IndexFunc(us, func(r *scimd.Resource) bool { return r.ID == id })
		out = append(out, i)
	}
	return out
}

func intStrings(is []int) []string {
	out := make([]string, len(is))
	for i, n := range is {
		out[i] = fmt.Sprint(n)
	}
	return out
}
