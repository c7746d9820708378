package scimd_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd"
)

func TestNewID(t *testing.T) {
	before := time.Now().UnixMilli()
	seen := map[string]bool{}
	var last string
	for i := range 10000 {
		id := scimd.NewID()
		if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
			t.Fatalf("NewID() = %q: not a UUID string", id)
		}
		b, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
		if err != nil || strings.ToLower(id) != id {
			t.Fatalf("NewID() = %q: not lower-case hex (%v)", id, err)
		}
		if b[6]>>4 != 7 || b[8]>>6 != 2 {
			t.Fatalf("NewID() = %q: version %d, variant %b; want 7, 10", id, b[6]>>4, b[8]>>6)
		}
		var ms int64
		for _, c := range b[:6] {
			ms = ms<<8 | int64(c)
		}
		if now := time.Now().UnixMilli(); ms < before || ms > now {
			t.Fatalf("NewID() = %q: time %d ms, want within [%d, %d]", id, ms, before, now)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q after %d ids", id, i)
		}
		seen[id] = true
		last = id
	}
	// Ids made in a later millisecond sort after earlier ones: the unique
	// index on ids grows at its end.
	time.Sleep(2 * time.Millisecond)
	if next := scimd.NewID(); next <= last {
		t.Errorf("NewID() = %q, made later, sorts before %q", next, last)
	}
}

func BenchmarkNewID(b *testing.B) {
	for b.Loop() {
		scimd.NewID()
	}
}
