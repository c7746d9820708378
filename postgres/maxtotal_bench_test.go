package postgres_test

import "github.com/scimd/scimd"

// setMaxTotal and boundedTotal let BenchmarkFilterScale run unchanged on
// trees without ListQuery.MaxTotal (for before/after comparisons).
func setMaxTotal(q *scimd.ListQuery, n int) { q.MaxTotal = n }

// boundedTotal is totalResults of a first page of count for a filter with
// matches matches under MaxTotal maxTotal.
func boundedTotal(matches, maxTotal, count int) int {
	if c := max(maxTotal, count); matches > c {
		return c + 1
	}
	return matches
}
