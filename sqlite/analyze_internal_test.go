package sqlite

import "testing"

func TestStatsStale(t *testing.T) {
	for _, c := range []struct {
		then, now int64
		want      bool
	}{
		{0, 999, false}, // statistics without resources
		{0, 1000, true},
		{10, 500, false}, // doubled many times, but a bad plan reads 500 rows
		{10, 1010, true},
		{10_000, 19_999, false},
		{10_000, 20_000, true},
		{10_000, 5_000, true}, // halved
		{10_000, 5_001, false},
		{1000, 1999, false},
		{1000, 2000, true},
		{1500, 700, false}, // halved, but only 800 apart
	} {
		if got := statsStale(c.then, c.now); got != c.want {
			t.Errorf("statsStale(%d, %d) = %v, want %v", c.then, c.now, got, c.want)
		}
	}
}
