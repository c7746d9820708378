package schema

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd"
)

// CoerceValue canonicalises a value supplied for attribute a (a PATCH value):
// the same coercions as Decode. For a multi-valued a, v may be a list or a
// single element and a list ([]any) is returned. An unassigned value (null,
// an empty list or object, a list of only unassigned elements) gives nil.
func CoerceValue(a *Attribute, v any) (any, error) {
	if a == nil {
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidPath, "no attribute to assign a value to")
	}
	return coerce(a, loc{}, v)
}

// loc locates an attribute for error details without building the path
// string unless an error needs it: prefix is "" or an extension URN plus
// ":", parent the complex attribute a sub-attribute belongs to.
type loc struct {
	prefix string
	parent *Attribute
}

// path returns the full name of a at l: "emails.value",
// "urn:…:User:manager.value".
func (l loc) path(a *Attribute) string {
	if l.parent != nil {
		return l.prefix + l.parent.Name + "." + a.Name
	}
	return l.prefix + a.Name
}

// invalid returns an invalidValue error about the attribute at path.
func invalid(path, format string, args ...any) error {
	return scimd.BadRequest(scimd.ScimTypeInvalidValue, "attribute %q: "+format, append([]any{path}, args...)...)
}

// kindOf names the JSON kind of a decoded value for error details.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64, float32, int, int64, int32, int16, int8, uint, uint64, uint32, uint16, uint8:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	default:
		return "an unsupported value"
	}
}

// coerce canonicalises v for attribute a, which is named path in errors.
func coerce(a *Attribute, at loc, v any) (any, error) {
	if !a.MultiValued {
		if _, isList := v.([]any); isList {
			return coerceListForSingle(a, at, v.([]any))
		}
		return coerceOne(a, at, v)
	}
	var in []any
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		in = x
	case []map[string]any:
		in = make([]any, len(x))
		for i := range x {
			in[i] = x[i]
		}
	case []string:
		in = make([]any, len(x))
		for i := range x {
			in[i] = x[i]
		}
	default:
		in = []any{v}
	}
	out := make([]any, 0, len(in))
	primaries := 0
	for _, e := range in {
		if _, nested := e.([]any); nested {
			return nil, invalid(at.path(a), "each value must be %s, not an array", describeType(a))
		}
		c, err := coerceOne(a, at, e)
		if err != nil {
			return nil, err
		}
		if c == nil {
			continue
		}
		if m, ok := c.(map[string]any); ok && m["primary"] == true {
			primaries++
		}
		out = append(out, c)
	}
	if primaries > 1 {
		return nil, invalid(at.path(a), "%d values have \"primary\": true; at most one value may be primary", primaries)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// coerceListForSingle handles a list given for a single-valued attribute:
// an empty list is unassigned, a one-element list is tolerated as its
// element, anything longer is an error.
func coerceListForSingle(a *Attribute, at loc, l []any) (any, error) {
	switch len(l) {
	case 0:
		return nil, nil
	case 1:
		if _, nested := l[0].([]any); !nested {
			return coerceOne(a, at, l[0])
		}
	}
	return nil, invalid(at.path(a), "is single-valued and must be %s, not an array", describeType(a))
}

// describeType says what a value of a must be, for error details.
func describeType(a *Attribute) string {
	switch a.Type {
	case Boolean:
		return "a boolean (true or false)"
	case Integer:
		return "an integer"
	case Decimal:
		return "a number"
	case DateTime:
		return "an RFC 3339 date-time string such as \"2024-05-01T12:00:00Z\""
	case Binary:
		return "a base64-encoded string"
	case Reference:
		return "a URI string"
	case Complex:
		return "an object"
	default:
		return "a string"
	}
}

// coerceOne canonicalises one (non-list) value of a.
func coerceOne(a *Attribute, at loc, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch a.Type {
	case Complex:
		return coerceComplex(a, at, v)
	case Boolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			// Entra's default PATCH mode and OneLogin templates send "True"/"false".
			if strings.EqualFold(x, "true") {
				return true, nil
			}
			if strings.EqualFold(x, "false") {
				return false, nil
			}
			return nil, invalid(at.path(a), "must be a boolean (true or false), got the string %q", truncate(x))
		}
	case Integer:
		if i, f, isInt, ok := number(v); ok {
			if isInt {
				return i, nil
			}
			if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
				return int64(f), nil
			}
			return nil, invalid(at.path(a), "must be an integer, got %v", f)
		}
	case Decimal:
		if i, f, isInt, ok := number(v); ok {
			if isInt {
				return float64(i), nil
			}
			return f, nil
		}
	case DateTime:
		if s, ok := v.(string); ok {
			t, err := parseDateTime(s)
			if err != nil {
				return nil, invalid(at.path(a), "must be an RFC 3339 date-time such as \"2024-05-01T12:00:00Z\", got %q", truncate(s))
			}
			return t.UTC().Format(time.RFC3339Nano), nil
		}
	case Binary:
		if s, ok := v.(string); ok {
			if !isBase64(s) {
				return nil, invalid(at.path(a), "must be base64-encoded binary data")
			}
			return s, nil
		}
	default: // String, Reference and unknown types
		if s, ok := v.(string); ok {
			return s, nil
		}
	}
	if n, ok := v.(json.Number); ok {
		if _, err := strconv.ParseFloat(string(n), 64); err != nil {
			return nil, invalid(at.path(a), "number %s is out of range", truncate(string(n)))
		}
	}
	return nil, invalid(at.path(a), "must be %s, got %s", describeType(a), kindOf(v))
}

// coerceComplex canonicalises one value of a complex attribute.
func coerceComplex(a *Attribute, at loc, v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, sv := range x {
			sub := a.Sub(k)
			if sub == nil || sub.Mutability == ReadOnly {
				continue // unknown or server-maintained: ignored
			}
			c, err := coerce(sub, loc{prefix: at.prefix, parent: a}, sv)
			if err != nil {
				return nil, err
			}
			if c == nil {
				continue
			}
			if _, dup := out[sub.Name]; dup {
				return nil, invalid(at.path(a)+"."+sub.Name, "is given twice with different letter case")
			}
			out[sub.Name] = c
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	case string:
		// A bare string for a complex attribute with a "value" sub-attribute
		// is its value: Entra sends the manager's id this way.
		if sub := a.Sub("value"); sub != nil && sub.Type != Complex {
			c, err := coerceOne(sub, loc{prefix: at.prefix, parent: a}, x)
			if err != nil || c == nil {
				return nil, err
			}
			return map[string]any{sub.Name: c}, nil
		}
	}
	return nil, invalid(at.path(a), "must be a JSON object with sub-attributes, got %s", kindOf(v))
}

// number converts a decoded JSON number (json.Number with UseNumber,
// float64 without, or a Go integer) to int64 when it is an integer literal
// that fits, else float64. ok is false for non-numbers and for numbers out
// of float64 range.
func number(v any) (i int64, f float64, isInt, ok bool) {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n, 0, true, true
		}
		g, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return 0, 0, false, false
		}
		return 0, g, false, true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, 0, false, false
		}
		return 0, x, false, true
	case float32:
		return number(float64(x))
	case int:
		return int64(x), 0, true, true
	case int64:
		return x, 0, true, true
	case int32:
		return int64(x), 0, true, true
	case int16:
		return int64(x), 0, true, true
	case int8:
		return int64(x), 0, true, true
	case uint32:
		return int64(x), 0, true, true
	case uint16:
		return int64(x), 0, true, true
	case uint8:
		return int64(x), 0, true, true
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return int64(x), 0, true, true
		}
		return 0, float64(x), false, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), 0, true, true
		}
		return 0, float64(x), false, true
	}
	return 0, 0, false, false
}

// parseDateTime parses an RFC 3339 date-time, accepting lower-case "t" and
// "z" as RFC 3339 allows.
func parseDateTime(s string) (time.Time, error) {
	if strings.ContainsAny(s, "tz") {
		s = strings.ToUpper(s)
	}
	return time.Parse(time.RFC3339Nano, s)
}

// isBase64 reports whether s is base64 in the standard or URL alphabet,
// padded or not, ignoring line breaks (PEM bodies).
func isBase64(s string) bool {
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r", "", "\n", "").Replace(s)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if _, err := enc.DecodeString(s); err == nil {
			return true
		}
	}
	return false
}

// truncate shortens s for inclusion in an error detail.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}

// isEmpty reports whether v is unassigned: nil, "", an empty list or an
// empty object.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}
