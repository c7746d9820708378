package postgres

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/scimd/scimd"
)

// The hints stay within their budget, evicting the least recently used,
// and keep no Group.
func TestHintsBudget(t *testing.T) {
	doc := `{"userName":"` + strings.Repeat("x", 700) + `"}`
	h := newHints(20 * (hintOverhead + 800))
	user := func(i int) *scimd.Resource {
		r := &scimd.Resource{ID: fmt.Sprintf("id%03d", i), Type: scimd.TypeUser}
		r.Meta.Version = int64(i)
		return r
	}
	for i := range 100 {
		h.put("t1", int64(i), user(i), `["s"]`, doc)
		if i == 50 {
			h.get(hintKey{"t1", scimd.TypeUser, "id010"}) // recently used: kept
		}
		if h.used > h.budget {
			t.Fatalf("after %d puts: %d bytes used, budget %d", i+1, h.used, h.budget)
		}
	}
	size := h.head.next.size
	if want := int(h.budget / size); len(h.m) != want {
		t.Errorf("%d hints of %d bytes kept, want %d within the budget", len(h.m), size, want)
	}
	if _, ok := h.get(hintKey{"t1", scimd.TypeUser, "id000"}); ok {
		t.Error("the least recently used hint was kept")
	}
	if e, ok := h.get(hintKey{"t1", scimd.TypeUser, "id099"}); !ok || e.version != 99 || e.seq != 99 {
		t.Errorf("latest hint: %+v, %v", e, ok)
	}
	// Replacing a hint does not count it twice.
	used := h.used
	h.put("t1", 99, user(99), `["s"]`, doc)
	if h.used != used {
		t.Errorf("replacing a hint: %d bytes used, want %d", h.used, used)
	}

	// A stale hint is dropped only if it is still the one found.
	e, _ := h.get(hintKey{"t1", scimd.TypeUser, "id098"})
	h.put("t1", 98, user(98), `["s"]`, doc) // a newer hint
	h.drop(e.key, e)
	if _, ok := h.get(e.key); !ok {
		t.Error("dropping a replaced hint dropped its replacement")
	}

	g := &scimd.Resource{ID: "g", Type: scimd.TypeGroup}
	h.put("t1", 1000, g, `["s"]`, `{}`)
	if _, ok := h.get(hintKey{"t1", scimd.TypeGroup, "g"}); ok {
		t.Error("a Group was hinted")
	}

	h.put("t2", 2000, user(1), `["s"]`, doc)
	h.dropTenant("t1")
	if len(h.m) != 1 {
		t.Errorf("%d hints after dropping tenant t1, want 1", len(h.m))
	}
	var n int
	var sum int64
	for e := h.head.next; e != &h.head; e = e.next {
		n++
		sum += e.size
	}
	if n != len(h.m) || sum != h.used {
		t.Errorf("LRU list: %d hints of %d bytes, map %d, used %d", n, sum, len(h.m), h.used)
	}
	var off *hints
	off.put("t1", 1, user(1), "", "")
	if _, ok := off.get(hintKey{"t1", scimd.TypeUser, "id001"}); ok {
		t.Error("hints off found one")
	}
}

// The budget accounts for what hints hold on the heap: measured at 20,000
// users of ~560 bytes of stored JSON.
func TestHintsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const n = 20_000
	h := newHints(1 << 30)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	for i := range n {
		r := &scimd.Resource{ID: fmt.Sprintf("0193a5c0-7e1b-7c3d-8f00-%012d", i), Type: scimd.TypeUser}
		r.Meta.Version = 1
		doc := fmt.Sprintf(`{"userName":"u%07d@example.com","name":{"givenName":"Given%d","familyName":"Family%d"},`+
			`"displayName":"Given%d Family%d","emails":[{"value":"u%07d@example.com","type":"work","primary":true}],`+
			`"active":true,"externalId":"%016d","title":"Engineer","department":"R&D %s"}`,
			i, i, i, i, i, i, i, strings.Repeat("x", 240))
		h.put("t1", int64(i), r, `["urn:ietf:params:scim:schemas:core:2.0:User"]`, doc)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	grown := int64(ms.HeapAlloc) - int64(before)
	t.Logf("%d hints: accounted %d bytes (%d/hint), heap grew %d bytes (%d/hint)",
		len(h.m), h.used, h.used/int64(len(h.m)), grown, grown/int64(len(h.m)))
	if len(h.m) != n {
		t.Fatalf("%d hints, want %d", len(h.m), n)
	}
	if grown > h.used*11/10 {
		t.Errorf("heap grew %d bytes for %d accounted: the budget underestimates hints", grown, h.used)
	}
	runtime.KeepAlive(h)
}

// After a window in which more than a quarter of the hints were stale,
// updates stop looking for hints for a while, longer after each such
// window in a row, then look again.
func TestHintsPauseWhenStale(t *testing.T) {
	h := newHints(1 << 20)
	r := &scimd.Resource{ID: "u", Type: scimd.TypeUser}
	k := hintKey{"t1", scimd.TypeUser, "u"}
	use := func(stale bool) bool {
		h.put("t1", 1, r, `[]`, `{}`)
		e, ok := h.get(k)
		if ok && stale {
			h.drop(k, e)
		}
		return ok
	}
	window := func(staleEvery int) {
		t.Helper()
		for i := range hintWindow {
			if !use(i%staleEvery == 0) {
				t.Fatalf("update %d of a window found no hint", i)
			}
		}
	}
	pause := func(n int) {
		t.Helper()
		for i := range n {
			if use(false) {
				t.Fatalf("update %d of a pause of %d found a hint", i, n)
			}
		}
	}
	window(4) // a quarter stale: no pause
	if h.paused != 0 {
		t.Fatalf("paused after a window a quarter stale")
	}
	window(2) // half stale
	pause(hintPause)
	window(2)
	pause(2 * hintPause) // twice as long after a second window in a row
	window(8)            // a good window: the next pause is short again
	window(1)
	pause(hintPause)
	if !use(false) {
		t.Error("no hint after the pause")
	}
	if want := int64(4 * hintPause); h.skipped != want {
		t.Errorf("%d updates skipped the hints, want %d", h.skipped, want)
	}
}
