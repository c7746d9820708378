package postgres

import (
	"testing"
	"time"
)

func TestAnalyzeDueRule(t *testing.T) {
	for _, c := range []struct {
		name string
		s    tableStats
		want bool
	}{
		{"never analysed, few changes", tableStats{rows: -1, live: 40, mods: 40, since: -1}, false},
		{"never analysed", tableStats{rows: -1, live: 60, mods: 60, since: -1}, true},
		{"analysed empty, then filled", tableStats{rows: 0, live: 5000, mods: 5000, since: time.Second}, true},
		{"doubled within the gap", tableStats{rows: 5000, live: 10000, mods: 5000, since: time.Second}, true},
		{"a tenth more within the gap", tableStats{rows: 5000, live: 5600, mods: 600, since: time.Second}, false},
		{"a tenth more after the gap", tableStats{rows: 5000, live: 5600, mods: 600, since: analyzeMinGap}, true},
		{"updates below the threshold", tableStats{rows: 5000, live: 5000, mods: 549, since: time.Hour}, false},
		{"updates at the threshold", tableStats{rows: 5000, live: 5000, mods: 550, since: time.Hour}, true},
		{"counted by VACUUM, never analysed", tableStats{rows: 5000, live: 5000, mods: 5000, since: -1}, true},
	} {
		if got := c.s.due(); got != c.want {
			t.Errorf("%s: due() = %v, want %v (%+v)", c.name, got, c.want, c.s)
		}
	}
}
