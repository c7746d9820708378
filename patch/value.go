package patch

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
)

// cloneJSON returns a deep copy of a JSON-shaped value.
func cloneJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = cloneJSON(e)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = cloneJSON(e)
		}
		return l
	default:
		return v
	}
}

// equalValue reports whether two values of attribute attr (whole lists for
// a multi-valued one) are equal, value by value in order.
func equalValue(attr *schema.Attribute, x, y any) bool {
	if attr != nil && attr.MultiValued {
		lx, ly := asList(x), asList(y)
		if len(lx) != len(ly) {
			return false
		}
		for i := range lx {
			if !equalElem(attr, lx[i], ly[i]) {
				return false
			}
		}
		return true
	}
	return equalElem(attr, x, y)
}

// equalElem reports whether x and y are equal as one value of attr, by the
// attribute's type: strings compare case-insensitively unless caseExact,
// numbers numerically, date-times as instants, complex values sub-attribute
// by sub-attribute with absent equal to null. attr may be nil (unknown),
// which compares exactly.
func equalElem(attr *schema.Attribute, x, y any) bool {
	if x == nil || y == nil {
		return isEmpty(x) && isEmpty(y)
	}
	switch xv := x.(type) {
	case map[string]any:
		yv, ok := y.(map[string]any)
		if !ok {
			return false
		}
		for k, e := range xv {
			if !equalElem(subOf(attr, k), e, lookup(yv, attr, k)) {
				return false
			}
		}
		for k, e := range yv {
			if _, ok := lookupOK(xv, attr, k); !ok && !isEmpty(e) {
				return false
			}
		}
		return true
	case []any:
		yv, ok := y.([]any)
		if !ok || len(xv) != len(yv) {
			return false
		}
		for i := range xv {
			if !equalElem(attr, xv[i], yv[i]) {
				return false
			}
		}
		return true
	case string:
		yv, ok := y.(string)
		if !ok {
			return false
		}
		if attr == nil {
			return xv == yv
		}
		switch attr.Type {
		case schema.DateTime:
			tx, errx := time.Parse(time.RFC3339Nano, xv)
			ty, erry := time.Parse(time.RFC3339Nano, yv)
			if errx == nil && erry == nil {
				return tx.Equal(ty)
			}
			return xv == yv
		case schema.Binary:
			return xv == yv
		}
		if attr.CaseExact {
			return xv == yv
		}
		return strings.EqualFold(xv, yv)
	case bool:
		yv, ok := y.(bool)
		return ok && xv == yv
	default:
		fx, okx := number(x)
		fy, oky := number(y)
		return okx && oky && fx == fy
	}
}

// subOf returns the sub-attribute of attr named k, or nil.
func subOf(attr *schema.Attribute, k string) *schema.Attribute {
	if attr == nil || attr.Type != schema.Complex {
		return nil
	}
	return attr.Sub(k)
}

// lookup returns m's value for key k, matching k case-insensitively when it
// names a sub-attribute of attr.
func lookup(m map[string]any, attr *schema.Attribute, k string) any {
	v, _ := lookupOK(m, attr, k)
	return v
}

func lookupOK(m map[string]any, attr *schema.Attribute, k string) (any, bool) {
	if v, ok := m[k]; ok {
		return v, true
	}
	if subOf(attr, k) == nil {
		return nil, false
	}
	for mk, v := range m {
		if strings.EqualFold(mk, k) {
			return v, true
		}
	}
	return nil, false
}

// number returns a JSON number as a float64 (exact for integers up to 2^53;
// larger int64 values are compared as float64, which is close enough for
// equality of SCIM values).
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case int:
		return float64(v), true
	case float64:
		return v, !math.IsNaN(v)
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		return f, err == nil
	}
	return 0, false
}

// matchesListed reports whether value e of attr matches a listed value w
// of a remove operation: for complex values, every sub-attribute w names
// must be equal in e (so {"value": "x"} matches the email "x" whatever its
// type); other values must be equal.
func matchesListed(attr *schema.Attribute, e, w any) bool {
	wm, ok := w.(map[string]any)
	if !ok || attr.Type != schema.Complex {
		return equalElem(attr, e, w)
	}
	em, ok := e.(map[string]any)
	if !ok || len(wm) == 0 {
		return false
	}
	for k, v := range wm {
		if !equalElem(subOf(attr, k), lookup(em, attr, k), v) {
			return false
		}
	}
	return true
}

// quoteValue renders a client value for an error detail.
func quoteValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(truncate(v))
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return truncate(string(v))
	default:
		return jsonKind(v)
	}
}

// coerce canonicalises a PATCH value for attribute attr with
// schema.CoerceValue, which also accepts a one-element list for a
// single-valued attribute (Entra's manager [{"value": …}]) and drops
// readOnly and unknown sub-attributes. It works on a copy, so the operation
// is never changed. The result is nil when the value is unassigned.
func coerce(attr *schema.Attribute, value any) (any, error) {
	if value == nil {
		return nil, nil
	}
	v, err := schema.CoerceValue(attr, cloneJSON(value))
	if err != nil || isEmpty(v) {
		return nil, err
	}
	return v, nil
}

// coerceElem canonicalises one value of a multi-valued attribute (the value
// of a value-path operation without a sub-attribute).
func coerceElem(attr *schema.Attribute, value any) (any, error) {
	if !attr.MultiValued {
		return coerce(attr, value)
	}
	if l, ok := value.([]any); ok {
		switch len(l) {
		case 0:
			return nil, nil
		case 1:
			value = l[0]
		default:
			return nil, scimd.BadRequest(scimd.ScimTypeInvalidValue, "a value path selects values of %q one at a time; the value must be a single value, not a list of %d", attr.Name, len(l))
		}
	}
	v, err := coerce(attr, value)
	if err != nil || v == nil {
		return nil, err
	}
	l := asList(v)
	if len(l) != 1 {
		return nil, nil
	}
	return l[0], nil
}

// asList returns the values of a multi-valued attribute.
func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}

// containsEqual reports whether list holds a value equal to v.
func containsEqual(attr *schema.Attribute, list []any, v any) bool {
	for _, e := range list {
		if equalElem(attr, e, v) {
			return true
		}
	}
	return false
}

// dedupe drops later exact duplicates from list.
func dedupe(attr *schema.Attribute, list []any) []any {
	out := list[:0]
	for _, e := range list {
		if !containsEqual(attr, out, e) {
			out = append(out, e)
		}
	}
	clear(list[len(out):])
	return out
}

// dropEmpty removes empty objects from a list of complex values.
func dropEmpty(list []any) []any {
	out := list[:0]
	for _, e := range list {
		if !isEmpty(e) {
			out = append(out, e)
		}
	}
	clear(list[len(out):])
	return out
}

// deleteIndexes removes the values at the (ascending) indexes from list.
func deleteIndexes(list []any, idx []int) []any {
	out := list[:0]
	j := 0
	for i, e := range list {
		if j < len(idx) && idx[j] == i {
			j++
			continue
		}
		out = append(out, e)
	}
	clear(list[len(out):])
	return out
}

// clearOtherPrimaries sets "primary" to false on every value not in touched
// when one of the touched values is primary (RFC 7644 §3.5.2: setting a
// primary value clears the others). Several primary values among touched
// are left for Validate to reject.
func clearOtherPrimaries(attr *schema.Attribute, list []any, touched []int) {
	if len(touched) == 0 || attr.Type != schema.Complex || attr.Sub("primary") == nil {
		return
	}
	isTouched := func(i int) bool { return slices.Contains(touched, i) }
	found := false
	for _, i := range touched {
		if i < len(list) && isPrimary(list[i]) {
			found = true
			break
		}
	}
	if !found {
		return
	}
	for i, e := range list {
		if !isTouched(i) && isPrimary(e) {
			e.(map[string]any)["primary"] = false
		}
	}
}

func isPrimary(e any) bool {
	m, ok := e.(map[string]any)
	return ok && m["primary"] == true
}
