package scimd_test

import (
	"errors"
	"math"
	"net/http"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
)

// cursorQueries are queries cursors are bound to in the tests below.
var cursorQueries = []*scimd.ListQuery{
	{Type: scimd.TypeUser},
	{Type: scimd.TypeUser, SortBy: &filter.AttrPath{Name: "userName"}, SortDescending: true},
}

// samePageKey reports whether a and b are the same position (a NaN sort
// key equals a NaN, times compare as instants).
func samePageKey(a, b scimd.PageKey) bool {
	if a.Seq != b.Seq || a.Before != b.Before {
		return false
	}
	switch x := a.Value.(type) {
	case float64:
		y, ok := b.Value.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	case time.Time:
		y, ok := b.Value.(time.Time)
		return ok && x.Equal(y)
	default:
		return a.Value == b.Value
	}
}

// FuzzCursorRoundTrip: every position a store may hand out decodes back
// from its cursor, for the query and tenant it was issued for only.
func FuzzCursorRoundTrip(f *testing.F) {
	f.Add(uint8(0), "", int64(0), 0.0, int64(1), false)
	f.Add(uint8(1), "alice@example.com", int64(0), 0.0, int64(42), true)
	f.Add(uint8(2), "", int64(-9223372036854775808), 0.0, int64(9223372036854775807), false)
	f.Add(uint8(3), "", int64(0), math.Inf(-1), int64(7), false)
	f.Add(uint8(3), "", int64(0), 5e-324, int64(7), true)
	f.Add(uint8(3), "", int64(0), math.Pi, int64(8), false)
	f.Add(uint8(4), "", int64(1), 0.0, int64(3), false)
	f.Add(uint8(5), "", int64(1795000000123456789), 0.0, int64(3), false)
	f.Fuzz(func(t *testing.T, kind uint8, s string, n int64, x float64, seq int64, before bool) {
		k := scimd.PageKey{Seq: seq, Before: before}
		switch kind % 6 {
		case 1:
			if !utf8.ValidString(s) {
				return // sort keys come from stored JSON: valid UTF-8
			}
			k.Value = s
		case 2:
			k.Value = n
		case 3:
			k.Value = x
		case 4:
			k.Value = n%2 == 0
		case 5:
			k.Value = time.Unix(0, n).UTC()
		}
		for _, q := range cursorQueries {
			c := scimd.EncodeCursor("t1", q, k)
			got, err := scimd.DecodeCursor("t1", q, c)
			if err != nil {
				t.Fatalf("DecodeCursor(EncodeCursor(%#v)) = %v", k, err)
			}
			if !samePageKey(got, k) {
				t.Fatalf("DecodeCursor(EncodeCursor(%#v)) = %#v", k, got)
			}
			if _, err := scimd.DecodeCursor("t2", q, c); err == nil {
				t.Fatalf("a cursor of tenant t1 was accepted for tenant t2")
			}
		}
		if _, err := scimd.DecodeCursor("t1", cursorQueries[1], scimd.EncodeCursor("t1", cursorQueries[0], k)); err == nil {
			t.Fatalf("a cursor of one query was accepted for another")
		}
	})
}

// FuzzDecodeCursor: whatever a client sends as a cursor is either a
// position issued for this query, which encodes back to a cursor for the
// same position, or a 400 invalidCursor.
func FuzzDecodeCursor(f *testing.F) {
	q := cursorQueries[1]
	for _, k := range []scimd.PageKey{
		{Seq: 1},
		{Value: "bob", Seq: 17, Before: true},
		{Value: int64(-3), Seq: 2},
		{Value: 2.5, Seq: 2},
		{Value: true, Seq: 9},
		{Value: time.Date(2026, 11, 23, 8, 0, 0, 123, time.UTC), Seq: 5},
	} {
		f.Add(scimd.EncodeCursor("t1", q, k))
	}
	for _, s := range []string{"", "=", "eyJrIjoiIiwicyI6MX0", "not a cursor", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		k, err := scimd.DecodeCursor("t1", q, cursor)
		if err != nil {
			var e *scimd.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.ScimType != scimd.ScimTypeInvalidCursor {
				t.Fatalf("DecodeCursor(%q) = %v; want a 400 invalidCursor", cursor, err)
			}
			return
		}
		again, err := scimd.DecodeCursor("t1", q, scimd.EncodeCursor("t1", q, k))
		if err != nil || !samePageKey(again, k) {
			t.Fatalf("cursor %q decodes to %#v, which round-trips to %#v, %v", cursor, k, again, err)
		}
	})
}
