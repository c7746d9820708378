package scimd

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PageKey is a position in the order of a list: the sort key of a resource
// and its creation sequence (the store's tie-breaker), as a store sees
// them. It is what a cursor carries (see ListQuery).
type PageKey struct {
	// Value is the sort key of the resource: nil (default order, or a
	// resource without a value), string, int64, float64, bool or
	// time.Time. Stores may use any of these, as long as they read back
	// what they wrote.
	Value any
	// Seq is the resource's position in creation order.
	Seq int64
	// Before marks a PreviousCursor: the page wanted is the one ending
	// just before this position. Otherwise the page starts just after it.
	Before bool
}

// cursorPayload is the JSON inside a cursor.
type cursorPayload struct {
	Kind   string `json:"k"`           // "" nil, "s" string, "i" int64, "f" float64, "b" bool, "t" time
	Value  string `json:"v,omitempty"` // the key in text form
	Seq    int64  `json:"s"`
	Before bool   `json:"p,omitempty"`
}

// cursorSumLen is the length of the check sum at the end of a cursor.
const cursorSumLen = 12

// QueryBinding returns a string identifying what a cursor is bound to:
// the tenant, type, filter and sort of q (not StartIndex, Count, Cursor or
// ReadOptions). Stores may also use it as a cache key for "the same
// query".
func QueryBinding(tenant string, q *ListQuery) string {
	var b strings.Builder
	b.WriteString(tenant)
	b.WriteByte(0)
	b.WriteString(strings.ToLower(q.Type))
	b.WriteByte(0)
	if q.Filter != nil {
		b.WriteString(q.Filter.String())
	}
	b.WriteByte(0)
	if q.SortBy != nil {
		b.WriteString(strings.ToLower(q.SortBy.String()))
	}
	if q.SortDescending {
		b.WriteString("\x00desc")
	}
	return b.String()
}

func cursorSum(binding string, payload []byte) []byte {
	h := sha256.New()
	h.Write([]byte("scimd-cursor-v1\x00"))
	h.Write([]byte(binding))
	h.Write([]byte{0})
	h.Write(payload)
	return h.Sum(nil)[:cursorSumLen]
}

// EncodeCursor returns the cursor for position k of the query q in tenant:
// URL-safe base64 (no padding) of a small JSON payload followed by a check
// sum over the payload and QueryBinding(tenant, q).
//
// The check sum is not a secret MAC: it detects a cursor used with another
// query and accidental or casual alteration, which is all that is needed,
// since a cursor only chooses where a client's own query resumes; a forged
// cursor can select nothing the client could not select with a filter.
func EncodeCursor(tenant string, q *ListQuery, k PageKey) string {
	p := cursorPayload{Seq: k.Seq, Before: k.Before}
	switch v := k.Value.(type) {
	case nil:
	case string:
		p.Kind, p.Value = "s", v
	case []byte:
		p.Kind, p.Value = "s", string(v)
	case int64:
		p.Kind, p.Value = "i", strconv.FormatInt(v, 10)
	case int:
		p.Kind, p.Value = "i", strconv.Itoa(v)
	case float64:
		p.Kind, p.Value = "f", strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		p.Kind, p.Value = "b", strconv.FormatBool(v)
	case time.Time:
		p.Kind, p.Value = "t", v.UTC().Format(time.RFC3339Nano)
	default:
		// A store bug; keep the cursor decodable as a string key.
		p.Kind, p.Value = "s", fmt.Sprint(v)
	}
	body, _ := json.Marshal(p) // cannot fail: strings and integers only
	body = append(body, cursorSum(QueryBinding(tenant, q), body)...)
	return base64.RawURLEncoding.EncodeToString(body)
}

// DecodeCursor decodes a cursor made by EncodeCursor for the same tenant
// and query. Anything else fails with BadRequest invalidCursor.
func DecodeCursor(tenant string, q *ListQuery, cursor string) (PageKey, error) {
	bad := func(why string) (PageKey, error) {
		return PageKey{}, BadRequest(ScimTypeInvalidCursor,
			"cursor is not valid for this query (%s); request the first page with an empty cursor and use the nextCursor it returns", why)
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(raw) <= cursorSumLen {
		return bad("malformed")
	}
	body, sum := raw[:len(raw)-cursorSumLen], raw[len(raw)-cursorSumLen:]
	if !bytes.Equal(sum, cursorSum(QueryBinding(tenant, q), body)) {
		return bad("altered, or issued for another query")
	}
	var p cursorPayload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return bad("malformed")
	}
	k := PageKey{Seq: p.Seq, Before: p.Before}
	switch p.Kind {
	case "":
	case "s":
		k.Value = p.Value
	case "i":
		k.Value, err = strconv.ParseInt(p.Value, 10, 64)
	case "f":
		k.Value, err = strconv.ParseFloat(p.Value, 64)
	case "b":
		k.Value, err = strconv.ParseBool(p.Value)
	case "t":
		k.Value, err = time.Parse(time.RFC3339Nano, p.Value)
	default:
		return bad("malformed")
	}
	if err != nil {
		return bad("malformed")
	}
	return k, nil
}
