// Package jsonvalue decodes JSON text into the Go values encoding/json
// produces when it decodes into an any with UseNumber: map[string]any,
// []any, string, bool, json.Number and nil; and encodes such values (or
// any other) byte for byte as a json.Encoder with HTML escaping off does
// (Append).
//
// It exists because decoding stored resource documents was a tenth of a
// GET's CPU (docs/decisions.md, "Our own JSON decoder"). It produces the
// same value as encoding/json for every input, or fails where encoding/json
// fails (the fuzz test checks this), with these differences only:
//
//   - Data after the value (other than white space) is an error, as with
//     json.Unmarshal; a json.Decoder would stop after the first value.
//   - Error values and messages are this package's *SyntaxError.
//
// Strings without escapes or invalid UTF-8, and object keys likewise, are
// substrings of the input rather than copies: the decoded value keeps the
// input string alive. That is most of the saving, and is right for values
// that live as long as their document; copy a string out if it must
// outlive a large document.
package jsonvalue

import (
	"encoding/json"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects accepted: the
// limit of encoding/json's scanner, so that both accept the same inputs.
const MaxDepth = 10000

// SyntaxError describes malformed JSON.
type SyntaxError struct {
	Offset int // byte offset in the input where the error was found
	msg    string
}

func (e *SyntaxError) Error() string {
	return "jsonvalue: " + e.msg + " at offset " + strconv.Itoa(e.Offset)
}

// Reason is what is wrong, without the package name and offset: for
// messages to the sender of the JSON.
func (e *SyntaxError) Reason() string { return e.msg }

// Decode decodes the JSON value in data. numbers is false when v holds no
// json.Number, so that a caller converting numbers afterwards can skip its
// walk (it is true when data has a number, even one a repeated key
// replaced).
func Decode(data string) (v any, numbers bool, err error) {
	d := pool.Get().(*decoder)
	d.s, d.i, d.depth, d.numbers = data, 0, 0, false
	d.skip()
	v, err = d.value()
	if err == nil {
		d.skip()
		if d.i < len(d.s) {
			err = d.errorf("invalid character " + quoteChar(d.s[d.i]) + " after top-level value")
		}
	}
	numbers = d.numbers
	d.release()
	if err != nil {
		return nil, false, err
	}
	return v, numbers, nil
}

// DecodeBytes is Decode for a byte slice. It copies data once, so the
// result never refers to data.
func DecodeBytes(data []byte) (v any, numbers bool, err error) {
	return Decode(string(data))
}

// decoder is a recursive-descent parser over one input. Decoders are
// pooled for their scratch stacks: the members of the objects and arrays
// being parsed are collected there and copied into a map or slice of the
// exact size when the container closes, so no container grows by
// reallocation.
type decoder struct {
	s       string
	i       int // next byte to read
	depth   int
	numbers bool
	keys    []string // pending object keys, innermost container last
	vals    []any    // pending object values and array elements
	buf     []byte   // unescaping buffer
}

var pool = sync.Pool{New: func() any { return new(decoder) }}

// maxScratch bounds the scratch kept by a pooled decoder, so that one huge
// document does not pin its scratch memory for good.
const maxScratch = 1 << 12

func (d *decoder) release() {
	// Drop references so that pooled scratch keeps no document alive.
	// Containers clear what they used when they close; only an error
	// leaves entries behind, and those are within len.
	clear(d.keys)
	clear(d.vals)
	d.s, d.keys, d.vals = "", d.keys[:0], d.vals[:0]
	if cap(d.keys) > maxScratch {
		d.keys = nil
	}
	if cap(d.vals) > maxScratch {
		d.vals = nil
	}
	if cap(d.buf) > maxScratch {
		d.buf = nil
	}
	pool.Put(d)
}

func (d *decoder) errorf(msg string) error {
	return &SyntaxError{Offset: d.i, msg: msg}
}

func (d *decoder) eof() error {
	return d.errorf("unexpected end of JSON input")
}

// unexpected reports the byte at d.i (or the end of input) as out of place
// in context ("looking for beginning of value", …).
func (d *decoder) unexpected(context string) error {
	if d.i >= len(d.s) {
		return d.eof()
	}
	return d.errorf("invalid character " + quoteChar(d.s[d.i]) + " " + context)
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

// skip advances past JSON white space.
func (d *decoder) skip() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// value parses any JSON value starting at d.i (white space skipped).
func (d *decoder) value() (any, error) {
	if d.i >= len(d.s) {
		return nil, d.eof()
	}
	switch c := d.s[d.i]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return s, nil
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	}
	return nil, d.unexpected("looking for beginning of value")
}

func (d *decoder) literal(lit string) error {
	for j := 1; j < len(lit); j++ {
		if d.i+j >= len(d.s) {
			d.i += j
			return d.eof()
		}
		if d.s[d.i+j] != lit[j] {
			d.i += j
			return d.unexpected("in literal " + lit)
		}
	}
	d.i += len(lit)
	return nil
}

// object parses an object: '{' [ string ':' value { ',' string ':' value } ] '}'.
// A repeated key keeps its last value, as encoding/json does for a map.
func (d *decoder) object() (any, error) {
	d.i++ // '{'
	if d.depth++; d.depth > MaxDepth {
		return nil, d.errorf("exceeded max depth")
	}
	d.skip()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		d.depth--
		return map[string]any{}, nil
	}
	kbase, vbase := len(d.keys), len(d.vals)
	for {
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return nil, d.unexpected("looking for beginning of object key string")
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.skip()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return nil, d.unexpected("after object key")
		}
		d.i++
		d.skip()
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.keys = append(d.keys, k)
		d.vals = append(d.vals, v)
		d.skip()
		if d.i >= len(d.s) {
			return nil, d.eof()
		}
		if c := d.s[d.i]; c == ',' {
			d.i++
			d.skip()
			continue
		} else if c != '}' {
			return nil, d.unexpected("after object key:value pair")
		}
		d.i++
		break
	}
	keys, vals := d.keys[kbase:], d.vals[vbase:]
	m := make(map[string]any, len(keys))
	for j, k := range keys {
		m[k] = vals[j]
	}
	clear(keys)
	clear(vals)
	d.keys, d.vals = d.keys[:kbase], d.vals[:vbase]
	d.depth--
	return m, nil
}

// array parses an array: '[' [ value { ',' value } ] ']'.
func (d *decoder) array() (any, error) {
	d.i++ // '['
	if d.depth++; d.depth > MaxDepth {
		return nil, d.errorf("exceeded max depth")
	}
	d.skip()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		d.depth--
		return []any{}, nil
	}
	base := len(d.vals)
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.vals = append(d.vals, v)
		d.skip()
		if d.i >= len(d.s) {
			return nil, d.eof()
		}
		if c := d.s[d.i]; c == ',' {
			d.i++
			d.skip()
			continue
		} else if c != ']' {
			return nil, d.unexpected("after array element")
		}
		d.i++
		break
	}
	vals := d.vals[base:]
	a := make([]any, len(vals))
	copy(a, vals)
	clear(vals)
	d.vals = d.vals[:base]
	d.depth--
	return a, nil
}

// number parses -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? as a
// json.Number holding the literal text, as UseNumber does.
func (d *decoder) number() (any, error) {
	start := d.i
	if d.s[d.i] == '-' {
		d.i++
	}
	if d.i >= len(d.s) {
		return nil, d.eof()
	}
	switch c := d.s[d.i]; {
	case c == '0':
		d.i++
	case '1' <= c && c <= '9':
		d.i++
		d.digits()
	default:
		return nil, d.unexpected("in numeric literal")
	}
	if d.i < len(d.s) && d.s[d.i] == '.' {
		d.i++
		if err := d.someDigits(); err != nil {
			return nil, err
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		d.i++
		if d.i < len(d.s) && (d.s[d.i] == '+' || d.s[d.i] == '-') {
			d.i++
		}
		if err := d.someDigits(); err != nil {
			return nil, err
		}
	}
	d.numbers = true
	return json.Number(d.s[start:d.i]), nil
}

func (d *decoder) digits() {
	for d.i < len(d.s) && '0' <= d.s[d.i] && d.s[d.i] <= '9' {
		d.i++
	}
}

func (d *decoder) someDigits() error {
	if d.i >= len(d.s) {
		return d.eof()
	}
	if c := d.s[d.i]; c < '0' || c > '9' {
		return d.unexpected("in numeric literal")
	}
	d.digits()
	return nil
}

// str parses a string literal starting at the opening quote. A string
// with neither escapes nor invalid UTF-8 is returned as a substring of the
// input; any other is unescaped into a new string.
func (d *decoder) str() (string, error) {
	d.i++ // '"'
	start := d.i
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			s := d.s[start:d.i]
			d.i++
			return s, nil
		case c == '\\':
			return d.unescape(start)
		case c < ' ':
			return "", d.unexpected("in string literal")
		case c < utf8.RuneSelf:
			d.i++
		default:
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			if r == utf8.RuneError && size == 1 {
				return d.unescape(start)
			}
			d.i += size
		}
	}
	return "", d.eof()
}

// unescape finishes a string literal whose text starts at start and which
// needs rewriting from d.i on: escapes decoded, each byte of invalid UTF-8
// replaced by U+FFFD, exactly as encoding/json's unquote does.
func (d *decoder) unescape(start int) (string, error) {
	b := append(d.buf[:0], d.s[start:d.i]...)
	defer func() { d.buf = b[:0] }()
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return string(b), nil
		case c == '\\':
			d.i++
			if d.i >= len(d.s) {
				return "", d.eof()
			}
			switch e := d.s[d.i]; e {
			case '"', '\\', '/':
				b = append(b, e)
				d.i++
			case 'b':
				b = append(b, '\b')
				d.i++
			case 'f':
				b = append(b, '\f')
				d.i++
			case 'n':
				b = append(b, '\n')
				d.i++
			case 'r':
				b = append(b, '\r')
				d.i++
			case 't':
				b = append(b, '\t')
				d.i++
			case 'u':
				d.i-- // at the backslash, as u4 expects
				r := u4(d.s[d.i:])
				if r < 0 {
					return "", d.badU4()
				}
				d.i += 6
				if utf16.IsSurrogate(r) {
					// A pair decodes to one rune; anything else (a lone
					// half, two highs, a half then a non-escape) makes
					// U+FFFD for this half, and what follows is decoded
					// on its own.
					if dec := utf16.DecodeRune(r, u4(d.s[d.i:])); dec != utf8.RuneError {
						d.i += 6
						r = dec
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				return "", d.unexpected("in string escape code")
			}
		case c < ' ':
			return "", d.unexpected("in string literal")
		case c < utf8.RuneSelf:
			b = append(b, c)
			d.i++
		default:
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			b = utf8.AppendRune(b, r) // RuneError for an invalid byte
			d.i += size
		}
	}
	return "", d.eof()
}

// badU4 reports the malformed \u escape at d.i (its backslash).
func (d *decoder) badU4() error {
	d.i += 2
	for j := 0; j < 4; j++ {
		if d.i >= len(d.s) {
			return d.eof()
		}
		if hexVal(d.s[d.i]) < 0 {
			return d.unexpected("in \\u hexadecimal character escape")
		}
		d.i++
	}
	return d.errorf("invalid \\u escape") // not reached: u4 would have succeeded
}

// u4 decodes `\uXXXX` at the start of s, or returns -1.
func u4(s string) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for j := 2; j < 6; j++ {
		h := hexVal(s[j])
		if h < 0 {
			return -1
		}
		r = r<<4 | h
	}
	return r
}

func hexVal(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}
