package main

import (
	"fmt"
	"testing"
	"time"
)

func durs(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	oneToHundred := make([]int, 100)
	for i := range oneToHundred {
		oneToHundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"Empty", nil, 50, 0},
		{"One/p50", durs(7), 50, 7 * time.Millisecond},
		{"One/p99", durs(7), 99, 7 * time.Millisecond},
		{"Two/p50", durs(1, 2), 50, 1 * time.Millisecond},
		{"Two/p51", durs(1, 2), 51, 2 * time.Millisecond},
		{"Four/p50", durs(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"Four/p75", durs(1, 2, 3, 4), 75, 3 * time.Millisecond},
		{"Four/p100", durs(1, 2, 3, 4), 100, 4 * time.Millisecond},
		{"Five/p50", durs(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{"Hundred/p95", durs(oneToHundred...), 95, 95 * time.Millisecond},
		{"Hundred/p99", durs(oneToHundred...), 99, 99 * time.Millisecond},
		{"Hundred/p99.5", durs(oneToHundred...), 99.5, 100 * time.Millisecond},
		{"Hundred/p1", durs(oneToHundred...), 1, 1 * time.Millisecond},
		{"Hundred/p0", durs(oneToHundred...), 0, 1 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name                     string
		lat                      []time.Duration
		errs                     int
		wall                     time.Duration
		wantTput                 float64
		wantP50, wantP99, wantMx float64
	}{
		{"Empty", nil, 0, time.Second, 0, 0, 0, 0},
		{"Unsorted", durs(5, 1, 4, 2, 3), 1, 2 * time.Second, 2.5, 3, 5, 5},
		{"ZeroWall", durs(1), 0, 0, 0, 1, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tt.lat...)
			got := summarize("op", tt.lat, tt.errs, tt.wall)
			if got.Requests != len(tt.lat) || got.Errors != tt.errs {
				t.Errorf("requests, errors = %d, %d; want %d, %d", got.Requests, got.Errors, len(tt.lat), tt.errs)
			}
			if got.Throughput != tt.wantTput || got.P50 != tt.wantP50 || got.P99 != tt.wantP99 || got.Max != tt.wantMx {
				t.Errorf("throughput, p50, p99, max = %v, %v, %v, %v; want %v, %v, %v, %v",
					got.Throughput, got.P50, got.P99, got.Max, tt.wantTput, tt.wantP50, tt.wantP99, tt.wantMx)
			}
			for i := range in {
				if in[i] != tt.lat[i] {
					t.Fatalf("summarize reordered its input: %v, was %v", tt.lat, in)
				}
			}
		})
	}
}

func TestFirstLast(t *testing.T) {
	tests := []struct {
		name             string
		seq              []time.Duration
		k                int
		first, last, rat float64
	}{
		{"Flat", durs(2, 2, 2, 2, 2, 2), 3, 2, 2, 1},
		{"Growing", durs(1, 1, 1, 5, 6, 7), 3, 1, 6, 6},
		{"ShortSeq", durs(4, 8), 10, 4, 4, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &OpResult{}
			firstLast(r, tt.seq, tt.k)
			k := min(tt.k, len(tt.seq))
			fk, lk := fmt.Sprintf("first%d_p50_ms", k), fmt.Sprintf("last%d_p50_ms", k)
			if r.Extra[fk] != tt.first || r.Extra[lk] != tt.last || r.Extra["last_over_first"] != tt.rat {
				t.Errorf("extra = %v; want %s=%v %s=%v last_over_first=%v", r.Extra, fk, tt.first, lk, tt.last, tt.rat)
			}
		})
	}
}

func TestCompareRows(t *testing.T) {
	rep := func(tputs map[string]float64) *Report {
		r := &Report{}
		for _, op := range []string{"provision", "lookup", "members"} {
			r.Ops = append(r.Ops, &OpResult{Op: op, Throughput: tputs[op]})
		}
		return r
	}
	ceil1 := rep(map[string]float64{"provision": 1000, "lookup": 1000, "members": 100})
	srv1 := rep(map[string]float64{"provision": 400, "lookup": 700, "members": 50})
	ceil2 := rep(map[string]float64{"provision": 1000, "lookup": 2000, "members": 100})
	srv2 := rep(map[string]float64{"provision": 500, "lookup": 600, "members": 40})
	rows := compareRows([][2]*Report{{ceil1, srv1}, {ceil2, srv2}})
	want := []string{
		rows[0], rows[1],
		"| provision | 1000 | 500 | 0.00 | 0.400, 0.500 | 0.500 | 0.500 | ≥ 0.45 | met |",
		"| lookup | 2000 | 700 | 0.00 | 0.700, 0.300 | 0.700 | 0.350 | ≥ 0.60 | met |",
		"| members | 100 | 50 | 0.00 | 0.500, 0.400 | 0.500 | 0.500 |  |  |",
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d:\n%v", len(rows), len(want), rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d:\n got %s\nwant %s", i, rows[i], want[i])
		}
	}
}
