package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// targets are issue 3's SQLite throughput ratios to the ceiling.
var targets = map[string]float64{"provision": 0.45, "lookup": 0.6, "get": 0.7, "patch": 0.4, "put": 0.4}

const compareUsage = `Usage: scimload compare CEILING.json SERVER.json [CEILING2.json SERVER2.json …]

Prints, per op, the throughput ratio server/ceiling of each pair of reports
(each pair measured in the same run, same flags and pinning), the best
ratio, and the issue's target where there is one, as a Markdown table.
`

func runCompare(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scimload compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, compareUsage) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 || fs.NArg()%2 != 0 {
		fs.Usage()
		return errors.New("compare: want pairs of CEILING.json SERVER.json")
	}
	var pairs [][2]*Report
	for i := 0; i < fs.NArg(); i += 2 {
		c, err := readReport(fs.Arg(i))
		if err != nil {
			return err
		}
		s, err := readReport(fs.Arg(i + 1))
		if err != nil {
			return err
		}
		pairs = append(pairs, [2]*Report{c, s})
	}
	for _, row := range compareRows(pairs) {
		fmt.Fprintln(stdout, row)
	}
	return nil
}

func readReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

func findOp(r *Report, op string) *OpResult {
	for _, o := range r.Ops {
		if o.Op == op {
			return o
		}
	}
	return nil
}

// compareRows renders the comparison table: ops in the order of the first
// ceiling report.
func compareRows(pairs [][2]*Report) []string {
	rows := []string{
		"| op | best ceiling req/s | best server req/s | server p50 ms | ratio per run | best ratio | best/best | target | |",
		"|---|---:|---:|---:|---|---:|---:|---:|---|",
	}
	for _, co := range pairs[0][0].Ops {
		op := co.Op
		var ratios []string
		best, bestC, bestS, bestP50 := -1.0, 0.0, 0.0, 0.0 // bestP50: of the fastest server run
		for _, p := range pairs {
			c, s := findOp(p[0], op), findOp(p[1], op)
			if c == nil || s == nil || c.Throughput == 0 {
				ratios = append(ratios, "–")
				continue
			}
			ratio := s.Throughput / c.Throughput
			if s.Errors > 0 {
				ratios = append(ratios, fmt.Sprintf("%.3f (%d errors)", ratio, s.Errors))
			} else {
				ratios = append(ratios, fmt.Sprintf("%.3f", ratio))
			}
			best = max(best, ratio)
			bestC = max(bestC, c.Throughput)
			if s.Throughput > bestS {
				bestS, bestP50 = s.Throughput, s.P50
			}
		}
		if best < 0 {
			continue
		}
		target, verdict := "", ""
		if t, ok := targets[op]; ok {
			target = fmt.Sprintf("≥ %.2f", t)
			verdict = "unmet"
			if best >= t {
				verdict = "met"
			}
		}
		rows = append(rows, fmt.Sprintf("| %s | %.0f | %.0f | %.2f | %s | %.3f | %.3f | %s | %s |",
			op, bestC, bestS, bestP50, strings.Join(ratios, ", "), best, bestS/bestC, target, verdict))
	}
	return rows
}
