package storetest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/scimd/scimd"
)

// randomFilters generates n filters over the oracle users, drawing
// comparison values from the data itself (with case changes, prefixes,
// suffixes and substrings) so that most filters match something. The
// sequence is deterministic.
type filterGen struct {
	r      *rand.Rand
	values map[string][]string // attribute path → values seen (strings)
}

// attribute paths the generator uses, by type.
var (
	genStrings = []string{"userName", "displayName", "title", "nickName", "name.familyName", "name.givenName",
		"emails.value", "emails.type", entURN + ":department", entURN + ":employeeNumber", entURN + ":manager.value"}
	genExact   = []string{"externalId", "id"}
	genBools   = []string{"active", "emails.primary"}
	genTimes   = []string{"meta.created", "meta.lastModified"}
	genPresent = []string{"name", "emails", "phoneNumbers", entURN + ":manager", "groups", "title", "externalId", "active"}
)

func newFilterGen(seed uint64, users []*scimd.Resource) *filterGen {
	g := &filterGen{r: rand.New(rand.NewPCG(seed, seed^0x5c1d)), values: map[string][]string{}}
	for _, u := range users {
		for _, p := range append(append([]string{}, genStrings...), genExact...) {
			g.values[p] = append(g.values[p], pathValues(u, p)...)
		}
		g.values["meta.created"] = append(g.values["meta.created"], u.Meta.Created.UTC().Format(time.RFC3339Nano))
		g.values["meta.lastModified"] = append(g.values["meta.lastModified"], u.Meta.LastModified.UTC().Format(time.RFC3339Nano))
		for _, gr := range u.Groups {
			g.values["groups.value"] = append(g.values["groups.value"], gr.Value)
		}
	}
	return g
}

// pathValues returns the string values of a simple path in a user.
func pathValues(u *scimd.Resource, path string) []string {
	if path == "id" {
		return []string{u.ID}
	}
	attrs := u.Attrs
	if rest, ok := strings.CutPrefix(path, entURN+":"); ok {
		attrs, _ = u.Attrs[entURN].(map[string]any)
		path = rest
	}
	name, sub, _ := strings.Cut(path, ".")
	var vals []any
	switch v := attrs[name].(type) {
	case []any:
		vals = v
	case nil:
	default:
		vals = []any{v}
	}
	var out []string
	for _, v := range vals {
		if sub != "" {
			m, _ := v.(map[string]any)
			v = m[sub]
		}
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (g *filterGen) pick(list []string) string { return list[g.r.IntN(len(list))] }

// value returns a literal for path derived from the data.
func (g *filterGen) value(path string) string {
	vals := g.values[path]
	if strings.HasPrefix(path, "meta.") || path == "groups.value" {
		return fmt.Sprintf("%q", g.pick(vals))
	}
	if len(vals) == 0 || g.r.IntN(10) == 0 {
		return `"zz-none"`
	}
	v := g.pick(vals)
	switch g.r.IntN(6) {
	case 0:
		v = strings.ToUpper(v)
	case 1:
		v = strings.ToLower(v)
	case 2:
		if n := len(v); n > 1 {
			v = v[:1+g.r.IntN(min(n-1, 4))]
		}
	case 3:
		if n := len(v); n > 2 {
			v = v[n-1-g.r.IntN(min(n-2, 4)):]
		}
	}
	return fmt.Sprintf("%q", v)
}

func (g *filterGen) compare() string {
	switch g.r.IntN(12) {
	case 0, 1, 2, 3, 4:
		p := g.pick(genStrings)
		return p + " " + g.pick([]string{"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}) + " " + g.value(p)
	case 5:
		p := g.pick(genExact)
		return p + " " + g.pick([]string{"eq", "ne", "co", "sw", "ew", "gt", "lt"}) + " " + g.value(p)
	case 6:
		return g.pick(genBools) + " " + g.pick([]string{"eq", "ne"}) + " " + g.pick([]string{"true", "false"})
	case 7:
		p := g.pick(genTimes)
		return p + " " + g.pick([]string{"eq", "gt", "ge", "lt", "le"}) + " " + g.value(p)
	case 8:
		return g.pick(append(append([]string{}, genPresent...), genStrings...)) + " pr"
	case 9:
		return `groups.value eq ` + g.value("groups.value")
	case 10:
		inner := []string{
			`type eq "` + g.pick([]string{"work", "home", "other"}) + `"`,
			`value ` + g.pick([]string{"co", "sw", "ew", "eq"}) + " " + g.value("emails.value"),
			`primary eq true`,
		}
		f := g.pick(inner)
		if g.r.IntN(2) == 0 {
			f += g.pick([]string{" and ", " or "}) + g.pick(inner)
		}
		return "emails[" + f + "]"
	default:
		return `emails[type eq "` + g.pick([]string{"work", "home"}) + `"].value ` + g.pick([]string{"eq", "co", "sw"}) + " " + g.value("emails.value")
	}
}

// filter returns a random filter of at most the given nesting depth.
func (g *filterGen) filter(depth int) string {
	if depth > 0 && g.r.IntN(2) == 0 {
		switch g.r.IntN(5) {
		case 0, 1:
			return "(" + g.filter(depth-1) + " and " + g.filter(depth-1) + ")"
		case 2, 3:
			return "(" + g.filter(depth-1) + " or " + g.filter(depth-1) + ")"
		default:
			return "not (" + g.filter(depth-1) + ")"
		}
	}
	return g.compare()
}
