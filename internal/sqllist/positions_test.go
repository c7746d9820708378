package sqllist

import (
	"fmt"
	"testing"
	"time"

	"github.com/scimd/scimd"
)

// fakeClock is a settable clock for Positions.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func pos(offset int, at time.Time) Position {
	return Position{Offset: offset, Key: scimd.PageKey{Seq: int64(offset)}, At: at}
}

func anyPos(Position) bool { return true }

func TestPositionsNearest(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	c := &Positions{now: clk.now}
	if _, ok := c.Nearest("q", 100, anyPos); ok {
		t.Fatal("empty cache found a position")
	}
	for _, o := range []int{300, 100, 500} {
		c.Put("q", pos(o, clk.t))
	}
	c.Put("other", pos(200, clk.t))
	for _, tc := range []struct {
		offset int
		want   int // 0: none
	}{
		{0, 0}, {99, 0}, {100, 100}, {101, 100}, {299, 100}, {300, 300},
		{499, 300}, {500, 500}, {1 << 30, 500},
	} {
		p, ok := c.Nearest("q", tc.offset, anyPos)
		got := 0
		if ok {
			got = p.Offset
			if p.Key.Seq != int64(p.Offset) {
				t.Errorf("Nearest(%d): key %d for offset %d", tc.offset, p.Key.Seq, p.Offset)
			}
		}
		if got != tc.want {
			t.Errorf("Nearest(%d) = %d, want %d", tc.offset, got, tc.want)
		}
	}
	// usable rejects a position: the next one down is taken.
	p, ok := c.Nearest("q", 400, func(p Position) bool { return p.Offset != 300 })
	if !ok || p.Offset != 100 {
		t.Errorf("Nearest(400) skipping 300 = %d, %v; want 100", p.Offset, ok)
	}
	if _, ok := c.Nearest("q", 400, func(Position) bool { return false }); ok {
		t.Error("Nearest found a position usable rejected")
	}
	// Replacing a position keeps one entry per offset.
	c.Put("q", Position{Offset: 300, Key: scimd.PageKey{Seq: 7}, At: clk.t})
	if p, _ := c.Nearest("q", 300, anyPos); p.Key.Seq != 7 {
		t.Errorf("replaced position has key %d, want 7", p.Key.Seq)
	}
	if c.Len() != 4 {
		t.Errorf("Len = %d, want 4", c.Len())
	}
	c.Reset()
	if _, ok := c.Nearest("q", 500, anyPos); ok || c.Len() != 0 {
		t.Error("Reset kept positions")
	}
}

func TestPositionsPerWalkBound(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	c := &Positions{now: clk.now}
	// Pages put out of order; the oldest positions go first.
	for i := range PositionsPerWalk + 5 {
		clk.t = clk.t.Add(time.Second)
		c.Put("q", pos((PositionsPerWalk+5-i)*100, clk.t))
	}
	if c.Len() != PositionsPerWalk {
		t.Fatalf("Len = %d, want %d", c.Len(), PositionsPerWalk)
	}
	// The first five put (offsets 2100…1700) are gone.
	if p, _ := c.Nearest("q", 1<<30, anyPos); p.Offset != 1600 {
		t.Errorf("greatest kept offset %d, want 1600", p.Offset)
	}
	if p, _ := c.Nearest("q", 150, anyPos); p.Offset != 100 {
		t.Errorf("Nearest(150) = %d, want 100", p.Offset)
	}
}

func TestPositionsEviction(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	c := &Positions{now: clk.now, max: 6}
	put := func(q string, offsets ...int) {
		for _, o := range offsets {
			c.Put(q, pos(o, clk.t))
		}
	}
	put("a", 100, 200)
	clk.t = clk.t.Add(time.Second)
	put("b", 100, 200)
	clk.t = clk.t.Add(time.Second)
	put("c", 100, 200)
	clk.t = clk.t.Add(time.Second)
	c.Nearest("a", 200, anyPos) // a is now the most recently used
	put("d", 100)               // full: b, the least recently used walk, goes
	if c.Len() != 5 {
		t.Fatalf("Len = %d, want 5", c.Len())
	}
	for q, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if _, ok := c.Nearest(q, 100, anyPos); ok != want {
			t.Errorf("walk %s kept = %v, want %v", q, ok, want)
		}
	}
	// Expired positions go first, even from the walk used last.
	c = &Positions{now: clk.now, max: 3}
	t0 := clk.t
	put("old", 100, 200)
	clk.t = t0.Add(WalkTTL / 2)
	put("fresh", 100)
	c.Nearest("old", 200, anyPos) // old is the most recently used walk
	clk.t = t0.Add(WalkTTL)       // old's positions expire, fresh's do not
	put("new", 100)
	if c.Len() != 2 {
		t.Errorf("Len = %d after expiry, want 2", c.Len())
	}
	for q, want := range map[string]bool{"old": false, "fresh": true, "new": true} {
		if _, ok := c.Nearest(q, 100, anyPos); ok != want {
			t.Errorf("after expiry walk %s kept = %v, want %v", q, ok, want)
		}
	}
	// A walk being added to is never evicted to make room for itself.
	c = &Positions{now: clk.now, max: 2}
	for i := range 5 {
		clk.t = clk.t.Add(WalkTTL)
		c.Put("only", pos((i+1)*100, clk.t))
	}
	if p, ok := c.Nearest("only", 1<<30, anyPos); !ok || p.Offset != 500 {
		t.Errorf("lone walk lost its latest position: %d, %v", p.Offset, ok)
	}
}

func BenchmarkPositions(b *testing.B) {
	var c Positions
	for i := range 1000 {
		q := fmt.Sprint("query", i)
		for o := 100; o <= 1600; o += 100 {
			c.Put(q, pos(o, time.Now()))
		}
	}
	b.ResetTimer()
	for i := range b.N {
		q := fmt.Sprint("query", i%1000)
		if _, ok := c.Nearest(q, 1550, anyPos); !ok {
			b.Fatal("no position")
		}
	}
}
