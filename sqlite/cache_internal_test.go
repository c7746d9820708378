package sqlite

import (
	"testing"

	"github.com/scimd/scimd"
)

// TestCacheFillRace checks rule 2 of rowCache: a row read before an
// invalidation is not inserted after it.
func TestCacheFillRace(t *testing.T) {
	c := newRowCache(1 << 20)
	row := cachedRow{tenant: "t1", typ: "User", id: "a", doc: "{}", name: "ann", hasName: true}
	k, nk := cacheKey{"t1", "User", "a"}, nameKey{"t1", "User", "ann"}

	snap := c.snapshot()
	c.invalidate([]cacheKey{k}, nil) // a write commits while the reader queries
	c.fill(snap, row)
	if _, ok := c.get(k, false); ok {
		t.Fatal("a row read before an invalidation was filled after it")
	}
	if _, _, known := c.lookup(nk, false); known {
		t.Fatal("a name read before an invalidation was filled after it")
	}

	snap = c.snapshot()
	c.bump("t1", "Group") // any invalidation counts, even of another type
	c.fill(snap, row)
	if _, ok := c.get(k, false); ok {
		t.Fatal("filled after an epoch bump")
	}

	c.fill(c.snapshot(), row)
	if _, ok := c.get(k, false); !ok {
		t.Fatal("an undisturbed fill was not kept")
	}
	if _, ok := c.get(k, true); ok {
		t.Fatal("a row read without groups answered a read with groups")
	}
	c.bump("t1", "User") // filled under the old epoch: stale
	if _, ok := c.get(k, false); ok {
		t.Fatal("an entry of an older epoch was served")
	}
	if _, _, known := c.lookup(nk, false); known {
		t.Fatal("a name entry of an older epoch was served")
	}
	if newRowCache(0) != nil {
		t.Fatal("a zero budget did not disable the cache")
	}
}

// TestUniqueName pins uniqueName to extract's name_lc, which the name
// index must agree with.
func TestUniqueName(t *testing.T) {
	for _, r := range []*scimd.Resource{
		{Type: scimd.TypeUser, Attrs: map[string]any{"userName": "ÅSA@Example.COM", "displayName": "x"}},
		{Type: scimd.TypeUser, Attrs: map[string]any{"displayName": "x"}},
		{Type: scimd.TypeUser, Attrs: map[string]any{"userName": 7}},
		{Type: scimd.TypeGroup, Attrs: map[string]any{"displayName": "Straße", "userName": "u"}},
		{Type: scimd.TypeGroup, Attrs: map[string]any{}},
	} {
		name, ok := uniqueName(r)
		want, wok := extract(r).nameLC.(string)
		if name != want || ok != wok {
			t.Errorf("%v: uniqueName = %q, %v; extract = %q, %v", r.Attrs, name, ok, want, wok)
		}
	}
}
