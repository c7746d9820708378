package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Report is what one `scimload run` measured; --json writes it as is.
type Report struct {
	Tool        string      `json:"tool"`
	URL         string      `json:"url"`
	Started     time.Time   `json:"started"`
	Users       int         `json:"users"`              // --users
	Seeded      int         `json:"seeded"`             // users with a known id after the seed phase
	Created     int         `json:"created"`            // of those, created by this run's seed phase
	Concurrency int         `json:"concurrency"`        // --concurrency
	Duration    string      `json:"duration"`           // --duration per timed op
	Requests    int         `json:"requests,omitempty"` // --requests per timed op (0: unbounded)
	GoVersion   string      `json:"go_version"`
	NumCPU      int         `json:"num_cpu"`
	GOMAXPROCS  int         `json:"gomaxprocs"`
	LoadAvg     string      `json:"loadavg"` // /proc/loadavg at the start of the run
	Ops         []*OpResult `json:"ops"`
}

// OpResult summarises one phase: latencies are in milliseconds, throughput
// in requests (provisions for "seed" and "provision") per second.
type OpResult struct {
	Op         string             `json:"op"`
	Requests   int                `json:"requests"`
	Errors     int                `json:"errors"`
	Seconds    float64            `json:"seconds"`
	Throughput float64            `json:"throughput"`
	P50        float64            `json:"p50_ms"`
	P95        float64            `json:"p95_ms"`
	P99        float64            `json:"p99_ms"`
	Max        float64            `json:"max_ms"`
	Extra      map[string]float64 `json:"extra,omitempty"`
	ErrSamples []string           `json:"error_samples,omitempty"`
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value such that at least p percent of
// the values are less than or equal to it. It returns 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// median returns the 50th percentile of ds (not modified).
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return percentile(s, 50)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarize builds an OpResult from the latencies of successful and failed
// requests (lat includes both), the error count and the wall time.
func summarize(op string, lat []time.Duration, errs int, wall time.Duration) *OpResult {
	s := slices.Clone(lat)
	slices.Sort(s)
	r := &OpResult{Op: op, Requests: len(lat), Errors: errs, Seconds: wall.Seconds()}
	if wall > 0 {
		r.Throughput = float64(len(lat)) / wall.Seconds()
	}
	if len(s) > 0 {
		r.P50 = ms(percentile(s, 50))
		r.P95 = ms(percentile(s, 95))
		r.P99 = ms(percentile(s, 99))
		r.Max = ms(s[len(s)-1])
	}
	return r
}

// firstLast adds the medians of the first and last k latencies of seq (in
// the order they happened) to r.Extra, plus their ratio.
func firstLast(r *OpResult, seq []time.Duration, k int) {
	if len(seq) == 0 {
		return
	}
	if r.Extra == nil {
		r.Extra = map[string]float64{}
	}
	k = min(k, len(seq))
	first := median(seq[:k])
	last := median(seq[len(seq)-k:])
	r.Extra[fmt.Sprintf("first%d_p50_ms", k)] = ms(first)
	r.Extra[fmt.Sprintf("last%d_p50_ms", k)] = ms(last)
	if first > 0 {
		r.Extra["last_over_first"] = round(float64(last)/float64(first), 3)
	}
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// writeTable prints the ops as an aligned text table, then each op's extra
// figures and error samples.
func writeTable(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "%-16s %9s %7s %10s %9s %9s %9s %9s\n", "op", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms")
	for _, o := range rep.Ops {
		fmt.Fprintf(w, "%-16s %9d %7d %10.1f %9.2f %9.2f %9.2f %9.2f\n", o.Op, o.Requests, o.Errors, o.Throughput, o.P50, o.P95, o.P99, o.Max)
	}
	for _, o := range rep.Ops {
		if len(o.Extra) > 0 {
			keys := make([]string, 0, len(o.Extra))
			for k := range o.Extra {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = fmt.Sprintf("%s=%g", k, round(o.Extra[k], 3))
			}
			fmt.Fprintf(w, "  %s: %s\n", o.Op, strings.Join(parts, " "))
		}
		for _, e := range o.ErrSamples {
			fmt.Fprintf(w, "  %s error: %s\n", o.Op, e)
		}
	}
}

func newReport(url string) *Report {
	la, _ := os.ReadFile("/proc/loadavg")
	return &Report{
		Tool:       "scimload",
		URL:        url,
		Started:    time.Now().UTC(),
		GoVersion:  runtime.Version(),
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		LoadAvg:    strings.TrimSpace(string(la)),
	}
}
