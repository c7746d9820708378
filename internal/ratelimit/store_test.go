package ratelimit

import (
	"strings"
	"testing"
	"time"
)

// TestShard_LRU checks eviction order within one shard.
func TestShard_LRU(t *testing.T) {
	s := newStore[int](3, func(*int, time.Time) bool { return false })
	if len(s.shards) != 2 {
		t.Fatalf("%d shards for 3 keys; want 2", len(s.shards))
	}
	s = newStore[int](1, func(*int, time.Time) bool { return false })
	sh := &s.shards[0]
	sh.max = 3
	for _, k := range []string{"a", "b", "c"} {
		sh.getOrCreate(k).state = 1
	}
	sh.get("a")                   // order now a, c, b
	sh.getOrCreate("d")           // evicts b: d, a, c
	sh.getOrCreate("c").state = 2 // c, d, a
	sh.getOrCreate("e")           // evicts a: e, c, d

	var got []string
	for e := sh.head; e != nil; e = e.next {
		got = append(got, e.key)
	}
	if got, want := strings.Join(got, " "), "e c d"; got != want {
		t.Fatalf("order %q; want %q", got, want)
	}
	if _, ok := sh.m["b"]; ok {
		t.Error("b not evicted")
	}
	if _, ok := sh.m["a"]; ok {
		t.Error("a not evicted")
	}
	if sh.m["c"].state != 2 {
		t.Error("c lost its state")
	}
	// The reverse links agree with the forward ones.
	n := 0
	for e := sh.tail; e != nil; e = e.prev {
		n++
	}
	if n != len(sh.m) || len(sh.m) != 3 {
		t.Fatalf("%d entries backwards, %d in map; want 3", n, len(sh.m))
	}
}
