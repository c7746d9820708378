package sqlite

import (
	"fmt"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/internal/storedform"
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

// TestUniqueName pins uniqueName to Extract's name_lc, which the name
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
		nameLC := storedform.Extract(r).NameLC
		want, wok := nameLC.V, nameLC.Valid
		if name != want || ok != wok {
			t.Errorf("%v: uniqueName = %q, %v; extract = %q, %v", r.Attrs, name, ok, want, wok)
		}
	}
}

// TestCacheAdmission checks the doorkeeper: a cache with room admits every
// fill; a full one admits a row only on its second offer, so a stream of
// rows read once does not evict what is there.
func TestCacheAdmission(t *testing.T) {
	row := func(i int) cachedRow {
		id := fmt.Sprintf("u%06d", i)
		return cachedRow{tenant: "t1", typ: "User", id: id, doc: `{"userName":"` + id + `"}`}
	}
	has := func(c *rowCache, i int) bool {
		_, ok := c.get(cacheKey{"t1", "User", row(i).id}, false)
		return ok
	}
	c := newRowCache(16 << 10)
	n := 0 // rows admitted while the cache had room
	for ; ; n++ {
		r := row(n)
		if c.used+entryOverhead+int64(len(r.tenant)+len(r.typ)+len(r.id)+len(r.doc)) > c.budget {
			break
		}
		c.fill(c.snapshot(), r)
		if !has(c, n) {
			t.Fatalf("row %d not admitted while the cache had room", n)
		}
	}
	if n < 8 {
		t.Fatalf("only %d rows fit", n)
	}
	for i := range 1000 { // each read once: none gets into the full cache
		c.fill(c.snapshot(), row(100000+i))
	}
	for i := range n {
		if !has(c, i) {
			t.Fatalf("row %d was evicted by rows read only once", i)
		}
	}
	c.fill(c.snapshot(), row(200000)) // a first offer is only remembered
	if has(c, 200000) {
		t.Fatal("a first offer to a full cache was admitted")
	}
	c.fill(c.snapshot(), row(200000)) // the second is admitted, evicting the oldest
	if !has(c, 200000) {
		t.Error("a row offered twice was not admitted")
	}
	if c.used > c.budget {
		t.Errorf("used %d > budget %d", c.used, c.budget)
	}
}
