package sqllist

import (
	"slices"

	"github.com/scimd/scimd"
)

// CountSpan says which matches a count covers.
type CountSpan struct {
	// At: count the matches after this position (the one the page was
	// read after, a seek); nil: count from the start of the list.
	At *scimd.PageKey
	// Offset is the number of matches before the page (startIndex-1).
	Offset int
	// Skip is, with At, the number of matches between At and the page's
	// start (a page read from an earlier position than its predecessor's
	// last row).
	Skip int
	// Limit, when > 0, stops counting at Limit matches from the page's
	// start (with At: Skip+Limit from At), or at Offset+Limit matches from
	// the start (without): the count is then a lower bound (see
	// scimd.ListQuery.MaxTotal).
	Limit int
}

// CapLimit returns the CountSpan limit for q: cap+1 with
// cap = max(MaxTotal, count), so that reaching it means "more than cap";
// 0 (count all) when q has no MaxTotal or no filter.
func CapLimit(q *scimd.ListQuery, count int) int {
	if q.MaxTotal <= 0 || q.Filter == nil {
		return 0
	}
	return max(q.MaxTotal, count) + 1
}

// SpanOf returns the span that totalResults of a page of q counts: a
// startIndex page from its start (at, the position it was read after
// skipping skip rows, or nil when it was read with OFFSET), a cursor page
// from the list's start; bounded by CapLimit.
func SpanOf(q *scimd.ListQuery, count int, at *scimd.PageKey, skip int) CountSpan {
	span := CountSpan{Limit: CapLimit(q, count)}
	if !q.UseCursor {
		span.At, span.Offset = at, max(q.StartIndex, 1)-1
		if at != nil {
			span.Skip = skip
		}
	}
	return span
}

// CountQuery returns the statement counting the plan's matches over span;
// its one row is the n that Total takes.
func (p *Plan) CountQuery(span CountSpan) (string, []any) {
	switch {
	case span.Limit > 0 && span.At != nil:
		// The matches after the position, at most Skip+Limit of them: an
		// index range from the position, whatever the list's length.
		args := slices.Clone(p.Args)
		cond := p.seek(*span.At, &args)
		return "SELECT count(*) FROM (SELECT 1 FROM " + p.from() + " WHERE " + p.Where + " AND " + cond +
			" LIMIT " + p.bind(&args, span.Skip+span.Limit) + ")" + p.D.SubqueryAlias(), args
	case span.Limit > 0:
		// Without a position the page itself was read with OFFSET, so
		// counting through the page's start costs no more than the page.
		args := slices.Clone(p.Args)
		return "SELECT count(*) FROM (SELECT 1 FROM " + p.from() + " WHERE " + p.Where +
			" LIMIT " + p.bind(&args, span.Offset+span.Limit) + ")" + p.D.SubqueryAlias(), args
	}
	return "SELECT count(*) FROM " + p.from() + " WHERE " + p.Where, p.Args
}

// Total turns n, the result of CountQuery(span), into totalResults, and
// reports whether it is exact (with At: exact relative to the position);
// otherwise it is the lower bound "more than cap" (startIndex-1+cap+1).
func (span CountSpan) Total(n int) (total int, exact bool) {
	if span.Limit > 0 && span.At != nil {
		return span.Offset - span.Skip + n, n < span.Skip+span.Limit
	}
	return n, span.Limit == 0 || n < span.Offset+span.Limit
}
