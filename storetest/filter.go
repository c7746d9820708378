package storetest

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
)

// filterFixture is a small set of users and groups in t1, each duplicated
// in t2 (same names), with hand-computed expectations.
type filterFixture struct {
	reg    *schema.Registry
	users  map[string]*scimd.Resource // u1…u5 in t1
	groups map[string]*scimd.Resource // g1…g3 in t1
}

func newFilterFixture(h *harness) *filterFixture {
	h.t.Helper()
	bodies := []struct {
		key  string
		name string
		attr map[string]any
	}{
		{"u1", "Alice@Example.com", map[string]any{
			"externalId": "ext-A1", "displayName": "Alice Anders", "title": "Engineer", "active": true,
			"name": map[string]any{"givenName": "Alice", "familyName": "Anders"},
			"emails": []any{
				map[string]any{"value": "alice@example.com", "type": "work", "primary": true},
				map[string]any{"value": "alice@home.test", "type": "home"},
			},
			entURN: map[string]any{"department": "Engineering", "employeeNumber": "1001", "manager": map[string]any{"value": "mgr-1"}},
		}},
		{"u2", "bob@example.com", map[string]any{
			"externalId": "EXT-B2", "displayName": "Bob Brown", "active": false,
			"name": map[string]any{"givenName": "Bob", "familyName": "Brown"},
			"emails": []any{
				map[string]any{"value": "bob@other.test", "type": "work"},
				map[string]any{"value": "bob@example.com", "type": "home"},
			},
			entURN: map[string]any{"department": "Sales", "manager": map[string]any{"value": "mgr-2"}},
		}},
		{"u3", "carol@other.test", map[string]any{
			"externalId": "ext-c3", "title": "Manager", "active": true,
			"name":   map[string]any{"givenName": "Carol", "familyName": "Silva"},
			"emails": []any{map[string]any{"value": "carol@example.com", "type": "work"}},
			entURN:   map[string]any{"department": "sales", "employeeNumber": "1003", "manager": map[string]any{"value": "mgr-1"}},
		}},
		{"u4", "dave@example.com", map[string]any{
			"active": true, "name": map[string]any{"familyName": "silva"},
		}},
		{"u5", "Eve@Other.Test", map[string]any{
			"externalId": "ext-e5", "title": "Engineer", "active": false,
			"emails": []any{map[string]any{"value": "EVE@EXAMPLE.COM", "type": "work"}},
		}},
	}
	f := &filterFixture{reg: h.reg, users: map[string]*scimd.Resource{}, groups: map[string]*scimd.Resource{}}
	t2 := map[string]*scimd.Resource{}
	for _, b := range bodies {
		f.users[b.key] = h.createUser(T1, b.name, b.attr)
		t2[b.key] = h.createUser(T2, b.name, b.attr)
		tick()
	}
	f.groups["g1"] = h.createGroup(T1, "Admins", userMember(f.users["u1"]), userMember(f.users["u3"]))
	f.groups["g2"] = h.createGroup(T1, "Staff", userMember(f.users["u3"]), groupMember(f.groups["g1"]))
	f.groups["g3"] = h.createGroup(T1, "Empty")
	h.createGroup(T2, "Admins", userMember(t2["u1"]), userMember(t2["u3"]))
	h.createGroup(T2, "Staff", userMember(t2["u3"]))
	h.createGroup(T2, "Empty")
	// u2 changes after everything else was created.
	tick()
	f.users["u2"] = h.update(T1, scimd.TypeUser, f.users["u2"].ID, scimd.ReadOptions{}, setAttr("nickName", "bobby"))
	h.update(T2, scimd.TypeUser, t2["u2"].ID, scimd.ReadOptions{}, setAttr("nickName", "bobby"))
	return f
}

// unlessCaseExact returns keys, or nil when the "value" sub-attribute of
// attribute attr of typ is caseExact.
func unlessCaseExact(reg *schema.Registry, typ, attr string, keys ...string) []string {
	if a := reg.ResourceType(typ).Schema.Attr(attr); a != nil && a.Sub("value") != nil && a.Sub("value").CaseExact {
		return nil
	}
	return keys
}

type filterCase struct {
	filter string
	want   []string // fixture keys
}

func userFilterCases(f *filterFixture) []filterCase {
	u := f.users
	g := f.groups
	return []filterCase{
		// Strings, caseExact false (userName).
		{`userName eq "alice@example.com"`, []string{"u1"}},
		{`USERNAME Eq "ALICE@EXAMPLE.COM"`, []string{"u1"}},
		{`userName ne "alice@example.com"`, []string{"u2", "u3", "u4", "u5"}},
		{`userName co "EXAMPLE"`, []string{"u1", "u2", "u4"}},
		{`userName sw "b"`, []string{"u2"}},
		{`userName sw "e"`, []string{"u5"}},
		{`userName ew "OTHER.TEST"`, []string{"u3", "u5"}},
		{`userName gt "c"`, []string{"u3", "u4", "u5"}},
		{`userName ge "CAROL@other.test"`, []string{"u3", "u4", "u5"}},
		{`userName lt "BOB@EXAMPLE.COM"`, []string{"u1"}},
		{`userName le "bob@example.com"`, []string{"u1", "u2"}},
		{`userName pr`, []string{"u1", "u2", "u3", "u4", "u5"}},
		{`userName eq "nobody"`, nil},
		// Strings, caseExact true (externalId, id).
		{`externalId eq "ext-A1"`, []string{"u1"}},
		{`externalId eq "ext-a1"`, nil},
		{`externalId sw "ext"`, []string{"u1", "u3", "u5"}},
		{`externalId co "B"`, []string{"u2"}},
		{`externalId co "b"`, nil},
		{`externalId ew "c3"`, []string{"u3"}},
		{`externalId ew "C3"`, nil},
		{`externalId gt "ext-b"`, []string{"u3", "u5"}},
		{`externalId lt "ext-b"`, []string{"u1", "u2"}},
		{`externalId pr`, []string{"u1", "u2", "u3", "u5"}},
		{`not (externalId pr)`, []string{"u4"}},
		{`id eq "` + u["u3"].ID + `"`, []string{"u3"}},
		{`id eq "` + upper(u["u3"].ID) + `"`, nil},
		// Other caseExact false strings.
		{`title eq "engineer"`, []string{"u1", "u5"}},
		{`title pr`, []string{"u1", "u3", "u5"}},
		{`displayName co "an"`, []string{"u1"}},
		// Booleans.
		{`active eq true`, []string{"u1", "u3", "u4"}},
		{`active eq false`, []string{"u2", "u5"}},
		{`active ne true`, []string{"u2", "u5"}},
		{`active pr`, []string{"u1", "u2", "u3", "u4", "u5"}},
		// Sub-attributes of a singular complex attribute.
		{`name.familyName eq "SILVA"`, []string{"u3", "u4"}},
		{`name.givenName sw "a"`, []string{"u1"}},
		{`name.givenName pr`, []string{"u1", "u2", "u3"}},
		{`name pr`, []string{"u1", "u2", "u3", "u4"}},
		// Multi-valued: any value matches.
		{`emails.value ew "@example.com"`, []string{"u1", "u2", "u3", "u5"}},
		{`emails.type eq "home"`, []string{"u1", "u2"}},
		{`emails.value eq "bob@example.com"`, []string{"u2"}},
		{`emails pr`, []string{"u1", "u2", "u3", "u5"}},
		{`not (emails pr)`, []string{"u4"}},
		// Value paths: the conditions hold for one and the same value.
		{`emails[type eq "work" and value co "@example.com"]`, []string{"u1", "u3", "u5"}},
		{`emails[type eq "home" and value ew "other.test"]`, nil},
		{`emails[primary eq true]`, []string{"u1"}},
		{`emails[type eq "work" or type eq "home"]`, []string{"u1", "u2", "u3", "u5"}},
		{`emails[not (type eq "work")]`, []string{"u1", "u2"}},
		// Entra's non-standard form.
		{`emails[type eq "work"].value eq "bob@other.test"`, []string{"u2"}},
		{`emails[type eq "home"].value eq "bob@other.test"`, nil},
		{`emails[type eq "work"].value eq "eve@example.com"`, []string{"u5"}},
		// Enterprise extension.
		{`` + entURN + `:department eq "sales"`, []string{"u2", "u3"}},
		{`` + strings.ToLower(entURN) + `:Department eq "Engineering"`, []string{"u1"}},
		{`` + entURN + `:manager.value eq "mgr-1"`, []string{"u1", "u3"}},
		{`` + entURN + `:employeeNumber pr`, []string{"u1", "u3"}},
		{`` + entURN + `:employeeNumber gt "1002"`, []string{"u3"}},
		// Logical operators and grouping.
		{`userName sw "a" or userName sw "b"`, []string{"u1", "u2"}},
		{`active eq true and title pr`, []string{"u1", "u3"}},
		{`(active eq false or title eq "manager") and emails pr`, []string{"u2", "u3", "u5"}},
		{`active eq false or title eq "manager" and emails pr`, []string{"u2", "u3", "u5"}},
		{`active eq true and (title eq "manager" or name.familyName eq "silva")`, []string{"u3", "u4"}},
		{`not (active eq true)`, []string{"u2", "u5"}},
		{`not (userName sw "a" or userName sw "b")`, []string{"u3", "u4", "u5"}},
		{`not (not (userName sw "a"))`, []string{"u1"}},
		{`userName eq "alice@example.com" and externalId eq "ext-A1"`, []string{"u1"}},
		// Date-times (meta).
		{`meta.created ge ` + ts(u["u3"].Meta.Created), []string{"u3", "u4", "u5"}},
		{`meta.created gt ` + ts(u["u3"].Meta.Created), []string{"u4", "u5"}},
		{`meta.created le ` + ts(u["u1"].Meta.Created), []string{"u1"}},
		{`meta.created lt ` + ts(u["u3"].Meta.Created), []string{"u1", "u2"}},
		{`meta.lastModified gt ` + ts(g["g3"].Meta.Created), []string{"u2"}},
		{`meta.lastModified lt ` + ts(u["u2"].Meta.Created), []string{"u1"}},
		{`meta.lastModified eq ` + ts(u["u4"].Meta.LastModified), []string{"u4"}},
		{`meta.lastModified ne ` + ts(u["u4"].Meta.LastModified), []string{"u1", "u2", "u3", "u5"}},
		{`not (meta.lastModified ge ` + ts(u["u2"].Meta.Created) + `)`, []string{"u1"}},
		{`meta.lastModified pr and meta.created pr`, []string{"u1", "u2", "u3", "u4", "u5"}},
		{`meta.lastModified eq null`, nil},
		// RFC 3339 §5.6 allows lower-case "t" and "z".
		{`meta.created ge ` + strings.ToLower(ts(u["u3"].Meta.Created)), []string{"u3", "u4", "u5"}},
		// User.groups, derived from membership (direct only).
		{`groups.value eq "` + g["g1"].ID + `"`, []string{"u1", "u3"}},
		{`groups.value eq "` + g["g2"].ID + `"`, []string{"u3"}},
		{`groups pr`, []string{"u1", "u3"}},
		// Whether ids held in groups.value compare case-insensitively
		// follows the schema's caseExact (false in RFC 7643 §8.7.1).
		{`groups.value eq "` + upper(g["g1"].ID) + `"`, unlessCaseExact(f.reg, scimd.TypeUser, "groups", "u1", "u3")},
	}
}

func groupFilterCases(f *filterFixture) []filterCase {
	u := f.users
	g := f.groups
	return []filterCase{
		{`displayName eq "admins"`, []string{"g1"}},
		{`displayName sw "S"`, []string{"g2"}},
		{`displayName ne "Admins"`, []string{"g2", "g3"}},
		{`members.value eq "` + u["u1"].ID + `"`, []string{"g1"}},
		{`members.value eq "` + u["u3"].ID + `"`, []string{"g1", "g2"}},
		{`members.value eq "` + g["g1"].ID + `"`, []string{"g2"}},
		{`members[value eq "` + u["u3"].ID + `"]`, []string{"g1", "g2"}},
		{`members.type eq "Group"`, []string{"g2"}},
		// As for groups.value above.
		{`members.value eq "` + upper(u["u1"].ID) + `"`, unlessCaseExact(f.reg, scimd.TypeGroup, "members", "g1")},
		{`members pr`, []string{"g1", "g2"}},
		{`not (members pr)`, []string{"g3"}},
		{`displayName eq "Admins" and members.value eq "` + u["u3"].ID + `"`, []string{"g1"}},
		{`id eq "` + g["g3"].ID + `"`, []string{"g3"}},
	}
}

func testFilter(t *testing.T, setup func(*testing.T) *harness) {
	t.Run("User", func(t *testing.T) {
		h := setup(t)
		f := newFilterFixture(h)
		for _, c := range userFilterCases(f) {
			t.Run(stableName(c.filter), func(t *testing.T) {
				checkFilter(t, h, scimd.TypeUser, c, f.users)
			})
		}
	})
	t.Run("Group", func(t *testing.T) {
		h := setup(t)
		f := newFilterFixture(h)
		for _, c := range groupFilterCases(f) {
			t.Run(stableName(c.filter), func(t *testing.T) {
				checkFilter(t, h, scimd.TypeGroup, c, f.groups)
			})
		}
	})
	t.Run("ErrInvalidFilter", func(t *testing.T) {
		h := setup(t)
		h.createUser(T1, "a", nil)
		for _, s := range []string{
			`noSuchAttribute eq "x"`,
			`name.noSuchSub eq "x"`,
			`urn:example:unknown:2.0:User:department eq "x"`,
			`userName eq "a" and bogus pr`,
		} {
			_, err := h.s.List(t.Context(), T1, &scimd.ListQuery{Type: scimd.TypeUser, Filter: parse(t, s), StartIndex: 1, Count: 10})
			if err == nil {
				t.Errorf("%s: no error, want 400 invalidFilter", s)
				continue
			}
			if scimd.StatusOf(err) != http.StatusBadRequest || scimd.ScimTypeOf(err) != scimd.ScimTypeInvalidFilter {
				t.Errorf("%s: got %d %q (%v), want 400 invalidFilter", s, scimd.StatusOf(err), scimd.ScimTypeOf(err), err)
			}
		}
	})
	t.Run("SpecialCharacters", func(t *testing.T) {
		h := setup(t)
		f := map[string]*scimd.Resource{}
		for k, name := range map[string]string{
			"under": "a_b@x.test", "plain": "axb@x.test", "pct": "100%@x.test", "pct2": "1000@x.test",
			"back": `back\slash@x.test`, "quote": `o"neil@x.test`, "apos": "o'brien@x.test",
			"star": "st*r@x.test", "brack": "[a]@x.test",
		} {
			f[k] = h.createUser(T1, name, map[string]any{"title": `say "hi" ` + k})
		}
		for _, c := range []filterCase{
			{`userName co "_"`, []string{"under"}},
			{`userName sw "a_"`, []string{"under"}},
			{`userName co "%"`, []string{"pct"}},
			{`userName sw "100%"`, []string{"pct"}},
			{`userName ew "0%@x.test"`, []string{"pct"}},
			{`userName co "\\"`, []string{"back"}},
			{`userName eq "back\\slash@x.test"`, []string{"back"}},
			{`userName eq "o\"neil@x.test"`, []string{"quote"}},
			{`userName co "\""`, []string{"quote"}},
			{`userName sw "o'"`, []string{"apos"}},
			{`userName co "*"`, []string{"star"}},
			{`userName sw "["`, []string{"brack"}},
			{`userName sw "[a]"`, []string{"brack"}},
			{`title co "\"hi\" p"`, []string{"pct", "pct2", "plain"}},
			{`title eq "say \"hi\" under"`, []string{"under"}},
		} {
			t.Run(c.filter, func(t *testing.T) { checkFilter(t, h, scimd.TypeUser, c, f) })
		}
	})
	// co, sw and ew of 3 characters or more go through trigram indexes
	// (SQLite FTS5, PostgreSQL pg_trgm) beside the exact LIKE: results must
	// not change, whatever the characters, and the indexes must follow
	// every write.
	t.Run("Substring", func(t *testing.T) {
		h := setup(t)
		f := map[string]*scimd.Resource{
			"quote": h.createUser(T1, `o"neil@x.test`, map[string]any{"externalId": "Ext-ABC-1",
				"emails": []any{map[string]any{"value": "O.Neil@Work.example", "type": "work"},
					map[string]any{"value": "oneil@home.test", "type": "home"}}}),
			"pct": h.createUser(T1, "100%_off@x.test", map[string]any{"displayName": "Zoë Ærø",
				"emails": []any{map[string]any{"value": "zoe@work.example", "type": "work"}}}),
			"chloe": h.createUser(T1, "chloé@x.test", map[string]any{"externalId": "ext-abc-2",
				"emails": []any{map[string]any{"value": "Chloé@Home.Example", "type": "home"}}}),
			"plain": h.createUser(T1, "100x_off@x.test", nil),
		}
		h.createUser(T2, "o\"neil@x.test", map[string]any{"emails": []any{map[string]any{"value": "o.neil@work.example", "type": "work"}}})
		for _, c := range []filterCase{
			{`userName co "\"ne"`, []string{"quote"}},
			{`userName sw "o\"n"`, []string{"quote"}},
			{`userName co "0%_"`, []string{"pct"}},
			{`userName co "0x_o"`, []string{"plain"}},
			{`userName co "OFF@X.TEST"`, []string{"pct", "plain"}},
			{`userName ew "é@x.test"`, []string{"chloe"}},
			{`userName co "LOÉ"`, []string{"chloe"}},
			{`userName co "xyz"`, nil},
			{`displayName co "ë æ"`, []string{"pct"}},
			{`displayName sw "ZOË"`, []string{"pct"}},
			{`externalId co "ABC"`, []string{"quote"}},
			{`externalId co "abc"`, []string{"chloe"}},
			{`externalId ew "C-2"`, nil},
			{`emails.value co "@work.example"`, []string{"quote", "pct"}},
			{`emails.value ew "HOME.EXAMPLE"`, []string{"chloe"}},
			{`emails[type eq "work" and value co "neil"]`, []string{"quote"}},
			{`emails[type eq "home" and value co "neil@"]`, []string{"quote"}},
			{`emails[type eq "work" and value co "home"]`, nil},
			{`emails[value co "neil" and not (type eq "work")]`, []string{"quote"}},
			{`not (emails.value co "example")`, []string{"plain"}},
			{`userName co "off" or emails.value sw "chl"`, []string{"pct", "plain", "chloe"}},
			// A match may not span two e-mail values.
			{`emails.value co "example\noneil"`, nil},
		} {
			t.Run(c.filter, func(t *testing.T) { checkFilter(t, h, scimd.TypeUser, c, f) })
		}
		// The indexes follow updates and deletes.
		h.update(T1, scimd.TypeUser, f["plain"].ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			r.Attrs["userName"] = "renamed@y.test"
			r.Attrs["emails"] = []any{map[string]any{"value": "new@work.example", "type": "work"}}
			return nil, nil
		})
		h.update(T1, scimd.TypeUser, f["quote"].ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			delete(r.Attrs, "emails")
			return nil, nil
		})
		if err := h.s.Delete(t.Context(), T1, scimd.TypeUser, f["chloe"].ID, nil); err != nil {
			t.Fatal(err)
		}
		for _, c := range []filterCase{
			{`userName co "x_off"`, nil},
			{`userName co "renamed"`, []string{"plain"}},
			{`emails.value co "new@work"`, []string{"plain"}},
			{`emails.value co "@work.example"`, []string{"pct", "plain"}},
			{`emails.value co "neil"`, nil},
			{`externalId co "abc"`, nil},
		} {
			t.Run("after/"+c.filter, func(t *testing.T) { checkFilter(t, h, scimd.TypeUser, c, f) })
		}
	})
	t.Run("Unicode", func(t *testing.T) {
		h := setup(t)
		f := map[string]*scimd.Resource{
			"chloe":  h.createUser(T1, "chloé@x.test", map[string]any{"name": map[string]any{"familyName": "Ångström"}}),
			"elodie": h.createUser(T1, "Élodie@x.test", map[string]any{"name": map[string]any{"familyName": "ÖZTÜRK"}}),
			"plain":  h.createUser(T1, "chloe@x.test", nil),
		}
		for _, c := range []filterCase{
			{`userName eq "CHLOÉ@X.TEST"`, []string{"chloe"}},
			{`userName eq "élodie@x.test"`, []string{"elodie"}},
			{`userName sw "ÉL"`, []string{"elodie"}},
			{`name.familyName eq "ångström"`, []string{"chloe"}},
			{`name.familyName co "tür"`, []string{"elodie"}},
			{`userName eq "chloe@x.test"`, []string{"plain"}},
		} {
			t.Run(c.filter, func(t *testing.T) { checkFilter(t, h, scimd.TypeUser, c, f) })
		}
	})
	t.Run("Oracle", func(t *testing.T) { testOracle(t, setup) })
}

// checkFilter lists typ in t1 with c.filter and compares against c.want,
// in full and paged by two, and checks that the filter in t2 finds only t2
// resources.
func checkFilter(t *testing.T, h *harness, typ string, c filterCase, fixture map[string]*scimd.Resource) {
	t.Helper()
	h = h.with(t)
	expr := parse(t, c.filter)
	var want []string
	for _, k := range c.want {
		want = append(want, fixture[k].ID)
	}
	res := h.list(T1, &scimd.ListQuery{Type: typ, Filter: expr, StartIndex: 1, Count: 100})
	got := ids(res.Resources)
	if !sameSet(got, want) {
		t.Errorf("got %v, want %v", names(res.Resources, fixture), c.want)
	}
	if res.TotalResults != len(want) {
		t.Errorf("TotalResults = %d, want %d", res.TotalResults, len(want))
	}
	// Page through the same filter two at a time.
	var paged []string
	for start := 1; start <= len(want)+2; start += 2 {
		p := h.list(T1, &scimd.ListQuery{Type: typ, Filter: expr, StartIndex: start, Count: 2})
		if p.TotalResults != len(want) {
			t.Errorf("page at %d: TotalResults = %d, want %d", start, p.TotalResults, len(want))
		}
		paged = append(paged, ids(p.Resources)...)
	}
	if !slices.Equal(paged, got) {
		t.Errorf("paged results %v differ from unpaged %v", paged, got)
	}
	// The same filter in t2 sees t2's copies only.
	res2 := h.list(T2, &scimd.ListQuery{Type: typ, Filter: expr, StartIndex: 1, Count: 100})
	for _, r := range res2.Resources {
		for _, r1 := range fixture {
			if r.ID == r1.ID {
				t.Errorf("t2 list returned t1 resource %s", r.ID)
			}
		}
	}
}

var (
	uuidAnyCase = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timestamp   = regexp.MustCompile(`(?i)\d{4}-\d\d-\d\dt[0-9:.]+z`)
)

// stableName returns a subtest name for a filter with the run-dependent
// ids and times replaced by placeholders, so the name can be given to -run.
func stableName(f string) string {
	f = uuidAnyCase.ReplaceAllStringFunc(f, func(id string) string {
		if id == strings.ToUpper(id) {
			return "ID"
		}
		return "id"
	})
	return timestamp.ReplaceAllStringFunc(f, func(ts string) string {
		if strings.Contains(ts, "t") {
			return "time"
		}
		return "TIME"
	})
}

func names(rs []*scimd.Resource, fixture map[string]*scimd.Resource) []string {
	var out []string
	for _, r := range rs {
		name := "?" + r.ID
		for k, f := range fixture {
			if f.ID == r.ID {
				name = k
			}
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// randomFilters is the number of generated filters the oracle test runs.
const randomFilters = 400

// oracleUsers returns ~30 varied user bodies.
func oracleUsers() []map[string]any {
	given := []string{"Ana", "bruno", "Chloé", "Dmitri", "eve", "Farah", "Gus", "Hana", "Ivo", "Jun"}
	family := []string{"Silva", "silva", "Okafor", "Nguyen", "O'Brien", "van Dijk", "", "Zhou", "Ng", "Smith"}
	depts := []any{"Sales", "sales", "Engineering", "Support", nil}
	titles := []any{"Engineer", "engineer", "Manager", nil, "Senior Engineer", nil}
	domains := []string{"example.com", "Example.COM", "other.test", "acme.test"}
	var out []map[string]any
	for i := range 30 {
		g, f := given[i%len(given)], family[(i*3)%len(family)]
		d := domains[i%len(domains)]
		local := strings.ToLower(g)
		if f != "" {
			local += "." + strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(f, " ", ""), "'", ""))
		}
		local = fmt.Sprintf("%s%d", local, i)
		body := map[string]any{"userName": local + "@" + d}
		if i%4 == 1 {
			body["userName"] = strings.ToUpper(local[:1]) + local[1:] + "@" + d
		}
		if i%5 != 4 {
			ext := fmt.Sprintf("ext-%02d", i)
			if i%3 == 0 {
				ext = strings.ToUpper(ext)
			}
			body["externalId"] = ext
		}
		name := map[string]any{"givenName": g}
		if f != "" {
			name["familyName"] = f
		}
		if i%7 != 6 {
			body["name"] = name
			body["displayName"] = strings.TrimSpace(g + " " + f)
		}
		if t := titles[i%len(titles)]; t != nil {
			body["title"] = t
		}
		if i%6 != 5 {
			body["active"] = i%3 != 2
		}
		var emails []any
		switch i % 5 {
		case 0:
			emails = []any{map[string]any{"value": local + "@" + d, "type": "work", "primary": true}}
		case 1:
			emails = []any{
				map[string]any{"value": local + "@other.test", "type": "work"},
				map[string]any{"value": local + "@example.com", "type": "home", "primary": true},
			}
		case 2:
			emails = []any{map[string]any{"value": strings.ToUpper(local) + "@EXAMPLE.COM", "type": "work"}}
		case 3:
			emails = []any{map[string]any{"value": local + "@home.test", "type": "home"}}
		}
		if emails != nil {
			body["emails"] = emails
		}
		if i%4 == 2 {
			body["phoneNumbers"] = []any{map[string]any{"value": fmt.Sprintf("+1 555 01%02d", i), "type": "mobile"}}
		}
		ent := map[string]any{}
		if dep := depts[i%len(depts)]; dep != nil {
			ent["department"] = dep
		}
		if i%3 != 1 {
			ent["employeeNumber"] = fmt.Sprintf("%04d", 1000+i*37%100)
		}
		if i%4 == 0 {
			ent["manager"] = map[string]any{"value": fmt.Sprintf("mgr-%d", i%3)}
		}
		if len(ent) > 0 {
			body[entURN] = ent
		}
		out = append(out, body)
	}
	return out
}

// oracleFilters returns filters over the oracle users; some embed ids and
// times of stored resources.
func oracleFilters(users []*scimd.Resource, groups []*scimd.Resource) []string {
	mid := users[len(users)/2]
	fs := []string{
		`userName eq "ana.silva0@example.com"`,
		`userName eq "BRUNO.NG1@EXAMPLE.COM"`,
		`userName co "SILVA"`,
		`userName sw "b"`,
		`userName ew "@example.com"`,
		`userName gt "h"`,
		`userName le "dmitri"`,
		`userName ne "eve.smith4@example.com"`,
		`externalId eq "ext-01"`,
		`externalId eq "EXT-03"`,
		`externalId co "x"`,
		`externalId sw "EXT"`,
		`externalId gt "ext-10"`,
		`externalId lt "ext-10"`,
		`externalId pr`,
		`not (externalId pr)`,
		`title eq "engineer"`,
		`title co "engineer"`,
		`title ne "Engineer"`,
		`not (title eq "Engineer")`,
		`title pr and not (title sw "s")`,
		`active eq true`,
		`active eq false`,
		`active ne false`,
		`not (active pr)`,
		`name.familyName eq "silva"`,
		`name.familyName ge "O"`,
		`name.givenName ew "A"`,
		`not (name pr)`,
		`displayName co " "`,
		`emails.value co "@example.com"`,
		`emails.type eq "home"`,
		`emails[type eq "work" and value ew "@example.com"]`,
		`emails[type eq "work"].value co "ana"`,
		`emails[primary eq true]`,
		`emails[type eq "home"] and not (emails[type eq "work"])`,
		`phoneNumbers pr or emails[type eq "home"]`,
		`phoneNumbers[type eq "mobile" and value sw "+1 555 011"]`,
		entURN + `:department eq "SALES"`,
		entURN + `:department ne "Sales"`,
		entURN + `:employeeNumber lt "1040"`,
		entURN + `:manager.value eq "mgr-0"`,
		entURN + `:manager pr and active eq true`,
		`(userName sw "a" or userName sw "e") and (active eq true or title pr)`,
		`userName sw "a" or userName sw "e" and active eq true`,
		`not (userName sw "a" or emails pr)`,
		`meta.created gt ` + ts(mid.Meta.Created),
		`meta.created le ` + ts(mid.Meta.Created),
		`meta.lastModified ge ` + ts(mid.Meta.LastModified),
		`meta.lastModified gt ` + ts(users[len(users)-1].Meta.Created),
		`id eq "` + users[3].ID + `"`,
		`groups.value eq "` + groups[0].ID + `"`,
		`groups.value eq "` + groups[1].ID + `" or title eq "manager"`,
		`not (groups pr)`,
	}
	return fs
}

// testOracle compares the store's filtering with schema.ResourceType.Match
// evaluated over every resource.
func testOracle(t *testing.T, setup func(*testing.T) *harness) {
	h := setup(t)
	var users []*scimd.Resource
	for i, body := range oracleUsers() {
		name := body["userName"].(string)
		delete(body, "userName")
		users = append(users, h.createUser(T1, name, body))
		h.createUser(T2, name, body)
		if i%10 == 9 {
			tick()
		}
	}
	tick()
	// Some users change later, so lastModified differs from created.
	for i := 0; i < len(users); i += 4 {
		users[i] = h.update(T1, scimd.TypeUser, users[i].ID, scimd.ReadOptions{}, setAttr("nickName", fmt.Sprintf("nick%d", i)))
	}
	var groups []*scimd.Resource
	for gi := range 3 {
		var ms []scimd.Member
		for i := gi; i < len(users); i += 3 + gi {
			ms = append(ms, userMember(users[i]))
		}
		groups = append(groups, h.createGroup(T1, fmt.Sprintf("group-%d", gi), ms...))
	}
	groups = append(groups, h.createGroup(T1, "nested", groupMember(groups[0]), userMember(users[1])))

	rtU := h.rt(scimd.TypeUser)
	all := h.all(T1, scimd.TypeUser, scimd.ReadOptions{Groups: true})
	if len(all) != len(users) {
		t.Fatalf("listed %d users, want %d", len(all), len(users))
	}
	for _, s := range oracleFilters(users, groups) {
		t.Run(stableName(s), func(t *testing.T) {
			h := h.with(t)
			expr := parse(t, s)
			var want []string
			for _, r := range all {
				ok, err := rtU.Match(expr, r)
				if err != nil {
					t.Fatalf("schema Match: %v", err)
				}
				if ok {
					want = append(want, r.ID)
				}
			}
			res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, Filter: expr, StartIndex: 1, Count: 1000})
			if got := ids(res.Resources); !sameSet(got, want) {
				t.Errorf("store and Match disagree:\n  only store: %v\n  only Match: %v",
					userNames(all, minus(got, want)), userNames(all, minus(want, got)))
			}
			if res.TotalResults != len(want) {
				t.Errorf("TotalResults = %d, want %d", res.TotalResults, len(want))
			}
		})
	}

	// Random filters: the same comparison, over many more shapes.
	t.Run("Random", func(t *testing.T) {
		gen := newFilterGen(7643, all)
		for range randomFilters {
			s := gen.filter(3)
			expr, err := filter.Parse(s)
			if err != nil {
				t.Fatalf("generated filter %q: %v", s, err)
			}
			var want []string
			for _, r := range all {
				ok, err := rtU.Match(expr, r)
				if err != nil {
					t.Fatalf("schema Match(%s): %v", s, err)
				}
				if ok {
					want = append(want, r.ID)
				}
			}
			res, err := h.s.List(t.Context(), T1, &scimd.ListQuery{Type: scimd.TypeUser, Filter: expr, StartIndex: 1, Count: 1000})
			if err != nil {
				t.Errorf("%s: %v", s, err)
				continue
			}
			if got := ids(res.Resources); !sameSet(got, want) || res.TotalResults != len(want) {
				t.Errorf("%s: store and Match disagree (total %d, Match %d):\n  only store: %v\n  only Match: %v", s, res.TotalResults, len(want),
					userNames(all, minus(got, want)), userNames(all, minus(want, got)))
			}
		}
	})

	rtG := h.rt(scimd.TypeGroup)
	allG := h.all(T1, scimd.TypeGroup, scimd.ReadOptions{Members: true})
	for _, s := range []string{
		`members.value eq "` + users[1].ID + `"`,
		`members.value eq "` + groups[0].ID + `"`,
		`members[type eq "Group"]`,
		`displayName sw "GROUP"`,
		`displayName ew "-1" or members.value eq "` + users[0].ID + `"`,
	} {
		t.Run(stableName(s), func(t *testing.T) {
			h := h.with(t)
			expr := parse(t, s)
			var want []string
			for _, r := range allG {
				ok, err := rtG.Match(expr, r)
				if err != nil {
					t.Fatalf("schema Match: %v", err)
				}
				if ok {
					want = append(want, r.ID)
				}
			}
			res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeGroup, Filter: expr, StartIndex: 1, Count: 1000})
			if got := ids(res.Resources); !sameSet(got, want) || res.TotalResults != len(want) {
				t.Errorf("store %v (total %d), Match %v", got, res.TotalResults, want)
			}
		})
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func userNames(all []*scimd.Resource, idList []string) []string {
	var out []string
	for _, id := range idList {
		name := id
		for _, r := range all {
			if r.ID == id {
				name = fmt.Sprint(r.Attrs["userName"])
			}
		}
		out = append(out, name)
	}
	return out
}
