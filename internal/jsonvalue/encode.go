package jsonvalue

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Append appends the JSON encoding of v to dst and returns the extended
// buffer. The bytes are exactly those encoding/json writes for v with HTML
// escaping off (a json.Encoder after SetEscapeHTML(false), less its
// trailing newline): object keys sorted, strings escaped, json.Number
// checked and floats formatted as encoding/json does, nil maps and slices
// written as null.
//
// The values Decode produces, and float64, float32, int, int64 and
// []string, are encoded here without reflection; any other value is
// encoded by encoding/json, in place, so the output is the same whatever v
// holds.
//
// If v cannot be encoded (a NaN or infinite float, an invalid json.Number,
// a channel, a failing json.Marshaler, a cycle, …), Append returns dst
// (its spare capacity possibly written) and the error encoding/json
// returns for v. To get that error it encodes v again with encoding/json,
// so a json.Marshaler within v may be called twice.
func Append(dst []byte, v any) ([]byte, error) {
	e := encoders.Get().(*encoder)
	e.buf, e.depth = dst, 0
	ok := e.value(v)
	out := e.buf
	e.release()
	if ok {
		return out, nil
	}
	return appendMarshal(dst, v)
}

// encoder writes one value. Encoders are pooled for their scratch stack of
// object members: each object's members are collected and sorted there, so
// that encoding an object allocates nothing.
type encoder struct {
	buf     []byte
	depth   int      // objects and arrays open
	members []member // members of the objects being written, innermost last
}

// member is one member of an object: a key and its value.
type member struct {
	key string
	val any
}

var encoders = sync.Pool{New: func() any { return new(encoder) }}

func (e *encoder) release() {
	// Objects clear their members when they close; only a failure leaves
	// some behind, and those are within len.
	clear(e.members)
	e.buf, e.members = nil, e.members[:0]
	if cap(e.members) > maxScratch {
		e.members = nil
	}
	encoders.Put(e)
}

// value appends v. It reports false if v cannot be written here: then
// Append hands the whole value to encoding/json for its error.
func (e *encoder) value(v any) bool {
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = AppendString(e.buf, v)
	case map[string]any:
		return e.object(v)
	case []any:
		return e.array(v)
	case bool:
		e.buf = strconv.AppendBool(e.buf, v)
	case json.Number:
		return e.number(v)
	case float64:
		return e.float(v, 64)
	case float32:
		return e.float(float64(v), 32)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, v, 10)
	case []string:
		e.stringArray(v)
	default:
		return e.marshal(v)
	}
	return true
}

// enter counts an object or array opened and reports whether to go on:
// a value nested deeper than MaxDepth (as deep as Decode accepts) is left
// to encoding/json, which detects cycles.
func (e *encoder) enter() bool {
	e.depth++
	return e.depth <= MaxDepth
}

func (e *encoder) object(m map[string]any) bool {
	if m == nil {
		e.buf = append(e.buf, "null"...)
		return true
	}
	if !e.enter() {
		return false
	}
	base := len(e.members)
	for k, v := range m {
		e.members = append(e.members, member{k, v})
	}
	slices.SortFunc(e.members[base:], func(a, b member) int { return strings.Compare(a.key, b.key) })
	e.buf = append(e.buf, '{')
	// Nested objects push their members after ours and may move the
	// stack: index it afresh for each member.
	for i := base; i < base+len(m); i++ {
		if i > base {
			e.buf = append(e.buf, ',')
		}
		mem := e.members[i]
		e.buf = AppendString(e.buf, mem.key)
		e.buf = append(e.buf, ':')
		if !e.value(mem.val) {
			return false
		}
	}
	e.buf = append(e.buf, '}')
	clear(e.members[base:])
	e.members = e.members[:base]
	e.depth--
	return true
}

func (e *encoder) array(a []any) bool {
	if a == nil {
		e.buf = append(e.buf, "null"...)
		return true
	}
	if !e.enter() {
		return false
	}
	e.buf = append(e.buf, '[')
	for i, v := range a {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if !e.value(v) {
			return false
		}
	}
	e.buf = append(e.buf, ']')
	e.depth--
	return true
}

func (e *encoder) stringArray(a []string) {
	if a == nil {
		e.buf = append(e.buf, "null"...)
		return
	}
	e.buf = append(e.buf, '[')
	for i, s := range a {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = AppendString(e.buf, s)
	}
	e.buf = append(e.buf, ']')
}

// number appends n as it is; the zero Number, "", is written as 0, as
// encoding/json writes it. Text that is not a JSON number fails.
func (e *encoder) number(n json.Number) bool {
	s := string(n)
	if s == "" {
		s = "0"
	}
	if !isNumber(s) {
		return false
	}
	e.buf = append(e.buf, s...)
	return true
}

// float appends f, held in a float of bits bits, as encoding/json does
// (after ECMAScript's Number to String): the shortest decimal that reads
// back as f, in plain notation for magnitudes from 1e-6 up to 1e21 and in
// exponent notation, without padding the exponent, outside them. NaN and
// the infinities fail.
func (e *encoder) float(f float64, bits int) bool {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return false
	}
	if !exponentForm(math.Abs(f), bits) {
		e.buf = strconv.AppendFloat(e.buf, f, 'f', -1, bits)
		return true
	}
	e.buf = strconv.AppendFloat(e.buf, f, 'e', -1, bits)
	// strconv pads the exponent to two digits: e-07 becomes e-7. Positive
	// exponents here are at least 21.
	if n := len(e.buf); string(e.buf[n-4:n-1]) == "e-0" {
		e.buf[n-2] = e.buf[n-1]
		e.buf = e.buf[:n-1]
	}
	return true
}

// exponentForm reports whether a float's magnitude abs is written in
// exponent notation, comparing in the float's own precision.
func exponentForm(abs float64, bits int) bool {
	if abs == 0 {
		return false
	}
	if bits == 32 {
		a := float32(abs)
		return a < 1e-6 || a >= 1e21
	}
	return abs < 1e-6 || abs >= 1e21
}

// marshal appends v as encoding/json encodes it with HTML escaping off.
func (e *encoder) marshal(v any) bool {
	b, err := appendMarshal(e.buf, v)
	e.buf = b
	return err == nil
}

// appendMarshal appends v as a json.Encoder with HTML escaping off writes
// it, without the newline; on error it returns dst unchanged.
func appendMarshal(dst []byte, v any) ([]byte, error) {
	w := &appendWriter{buf: dst}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return w.buf[:len(w.buf)-1], nil // Encode writes the value and a newline at once, or nothing
}

// appendWriter is an io.Writer appending to buf.
type appendWriter struct{ buf []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// AppendString appends s quoted as encoding/json quotes a string with
// HTML escaping off: '"', '\\' and the control characters escaped (\b,
// \f, \n, \r, \t, else \u00XX), U+2028 and U+2029 escaped, each byte of
// invalid UTF-8 written as \ufffd, everything else as it is.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = AppendEscaped(dst, s)
	return append(dst, '"')
}

// AppendEscaped appends what AppendString writes between the quotes.
func AppendEscaped(dst []byte, s string) []byte {
	done := 0 // s[:done] is written
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[done:i]...)
			dst = appendEscapedByte(dst, c)
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		var esc string
		switch {
		case r == utf8.RuneError && size == 1:
			esc = `\ufffd`
		case r == '\u2028':
			esc = `\u2028`
		case r == '\u2029':
			esc = `\u2029`
		default:
			i += size
			continue
		}
		dst = append(dst, s[done:i]...)
		dst = append(dst, esc...)
		i += size
		done = i
	}
	return append(dst, s[done:]...)
}

// appendEscapedByte appends the escape of c, which is '"', '\\' or a
// control character.
func appendEscapedByte(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\b':
		return append(dst, `\b`...)
	case '\f':
		return append(dst, `\f`...)
	case '\n':
		return append(dst, `\n`...)
	case '\r':
		return append(dst, `\r`...)
	case '\t':
		return append(dst, `\t`...)
	}
	const hex = "0123456789abcdef"
	return append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
}

// isNumber reports whether s is a JSON number:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	switch {
	case s == "":
		return false
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		s = trimDigits(s[1:])
	default:
		return false
	}
	if rest, ok := strings.CutPrefix(s, "."); ok {
		if s = trimDigits(rest); len(s) == len(rest) {
			return false
		}
	}
	if s != "" && (s[0] == 'e' || s[0] == 'E') {
		rest := s[1:]
		if rest != "" && (rest[0] == '+' || rest[0] == '-') {
			rest = rest[1:]
		}
		if s = trimDigits(rest); len(s) == len(rest) {
			return false
		}
	}
	return s == ""
}

// trimDigits returns s without its leading decimal digits.
func trimDigits(s string) string {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return s[i:]
}
