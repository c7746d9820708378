package filter

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// itemType identifies the kind of a lexical item.
type itemType int

const (
	itemError    itemType = iota // lexical error; val is the message
	itemEOF                      // end of input
	itemWord                     // attribute path, operator, keyword or literal name
	itemString                   // JSON string; val is the decoded value
	itemNumber                   // JSON number; val is its source text
	itemLParen                   // (
	itemRParen                   // )
	itemLBracket                 // [
	itemRBracket                 // ]
	itemDot                      // . (only at the start of a token, as in "].value")
)

// item is a token: its type, its byte offset in the input and its value.
type item struct {
	typ itemType
	pos int    // byte offset of the first character
	end int    // byte offset just past the last character
	val string // text of the item; decoded value for itemString
}

// lexer is a simple scanner: each call to next returns the following item.
// After an itemError or itemEOF it keeps returning itemEOF.
type lexer struct {
	input string
	pos   int  // current position in input
	done  bool // an error or EOF has been returned
}

func (l *lexer) item(t itemType, start int, val string) item {
	return item{typ: t, pos: start, end: l.pos, val: val}
}

func (l *lexer) errorf(pos int, format string, args ...any) item {
	l.done = true
	return item{typ: itemError, pos: pos, end: pos, val: fmt.Sprintf(format, args...)}
}

// isSpace reports whether c is whitespace allowed between tokens.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// isAlpha reports whether c is an ASCII letter.
func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// isDigit reports whether c is an ASCII digit.
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isWordChar reports whether c may continue a word. Words are deliberately
// loose (they may hold a URN, dots and "$"); the parser validates them.
func isWordChar(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '-' || c == '_' || c == '.' || c == ':' || c == '$'
}

// next scans and returns the next item.
func (l *lexer) next() item {
	if l.done {
		return item{typ: itemEOF, pos: len(l.input), end: len(l.input)}
	}
	for l.pos < len(l.input) && isSpace(l.input[l.pos]) {
		l.pos++
	}
	start := l.pos
	if l.pos >= len(l.input) {
		l.done = true
		return l.item(itemEOF, start, "")
	}
	c := l.input[l.pos]
	switch {
	case c == '(':
		l.pos++
		return l.item(itemLParen, start, "(")
	case c == ')':
		l.pos++
		return l.item(itemRParen, start, ")")
	case c == '[':
		l.pos++
		return l.item(itemLBracket, start, "[")
	case c == ']':
		l.pos++
		return l.item(itemRBracket, start, "]")
	case c == '.':
		l.pos++
		return l.item(itemDot, start, ".")
	case c == '"':
		return l.lexString()
	case c == '-' || isDigit(c):
		return l.lexNumber()
	case isAlpha(c) || c == '$':
		for l.pos < len(l.input) && isWordChar(l.input[l.pos]) {
			l.pos++
		}
		return l.item(itemWord, start, l.input[start:l.pos])
	}
	r, size := utf8.DecodeRuneInString(l.input[l.pos:])
	if r == utf8.RuneError && size == 1 {
		return l.errorf(start, "invalid UTF-8 encoding")
	}
	return l.errorf(start, "unexpected character %s", strconv.QuoteRune(r))
}

// lexString scans a JSON string (RFC 8259 §7) starting at the opening quote.
// The item's value is the decoded string; it shares memory with the input
// when the string contains no escapes.
func (l *lexer) lexString() item {
	start := l.pos
	l.pos++ // opening quote
	var buf []byte
	plain := l.pos // start of the run not yet copied into buf
	for {
		if l.pos >= len(l.input) {
			return l.errorf(start, "unterminated string")
		}
		c := l.input[l.pos]
		switch {
		case c == '"':
			var val string
			if buf == nil {
				val = l.input[plain:l.pos]
			} else {
				val = string(append(buf, l.input[plain:l.pos]...))
			}
			l.pos++
			return l.item(itemString, start, val)
		case c < 0x20:
			return l.errorf(l.pos, "control character %#02x in string", c)
		case c == '\\':
			if buf == nil {
				buf = make([]byte, 0, len(l.input)-start)
			}
			buf = append(buf, l.input[plain:l.pos]...)
			esc := l.pos
			if esc+1 >= len(l.input) {
				return l.errorf(start, "unterminated string")
			}
			l.pos += 2
			switch e := l.input[esc+1]; e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := l.hex4()
				if !ok {
					return l.errorf(esc, `invalid \u escape`)
				}
				switch {
				case utf16.IsSurrogate(r) && r < 0xDC00:
					// High surrogate: a low surrogate must follow.
					if l.pos+1 >= len(l.input) || l.input[l.pos] != '\\' || l.input[l.pos+1] != 'u' {
						return l.errorf(esc, "unpaired surrogate in \\u escape")
					}
					l.pos += 2
					r2, ok := l.hex4()
					if !ok {
						return l.errorf(l.pos-2, `invalid \u escape`)
					}
					r = utf16.DecodeRune(r, r2)
					if r == utf8.RuneError {
						return l.errorf(esc, "unpaired surrogate in \\u escape")
					}
				case utf16.IsSurrogate(r):
					return l.errorf(esc, "unpaired surrogate in \\u escape")
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return l.errorf(esc, "invalid escape sequence \\%s in string", l.quoteByteOrRune(esc+1))
			}
			plain = l.pos
		case c < utf8.RuneSelf:
			l.pos++
		default:
			r, size := utf8.DecodeRuneInString(l.input[l.pos:])
			if r == utf8.RuneError && size == 1 {
				return l.errorf(l.pos, "invalid UTF-8 encoding in string")
			}
			l.pos += size
		}
	}
}

// quoteByteOrRune returns the rune at byte offset i, for messages.
func (l *lexer) quoteByteOrRune(i int) string {
	r, _ := utf8.DecodeRuneInString(l.input[i:])
	s := strconv.QuoteRune(r)
	return s[1 : len(s)-1]
}

// hex4 reads four hexadecimal digits at l.pos.
func (l *lexer) hex4() (rune, bool) {
	if l.pos+4 > len(l.input) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(l.input[l.pos : l.pos+4]) {
		switch {
		case isDigit(c):
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	l.pos += 4
	return r, true
}

// lexNumber scans a JSON number (RFC 8259 §6):
//
//	number = [ "-" ] int [ frac ] [ exp ]
//	int    = "0" / ( %x31-39 *DIGIT )
//	frac   = "." 1*DIGIT
//	exp    = ( "e" / "E" ) [ "-" / "+" ] 1*DIGIT
func (l *lexer) lexNumber() item {
	start := l.pos
	if l.input[l.pos] == '-' {
		l.pos++
	}
	digits := func() int {
		n := 0
		for l.pos < len(l.input) && isDigit(l.input[l.pos]) {
			l.pos++
			n++
		}
		return n
	}
	if l.pos < len(l.input) && l.input[l.pos] == '0' {
		l.pos++
	} else if digits() == 0 {
		return l.errorf(start, "invalid number: expected digit")
	}
	if l.pos < len(l.input) && l.input[l.pos] == '.' {
		l.pos++
		if digits() == 0 {
			return l.errorf(start, "invalid number: expected digit after decimal point")
		}
	}
	if l.pos < len(l.input) && (l.input[l.pos] == 'e' || l.input[l.pos] == 'E') {
		l.pos++
		if l.pos < len(l.input) && (l.input[l.pos] == '+' || l.input[l.pos] == '-') {
			l.pos++
		}
		if digits() == 0 {
			return l.errorf(start, "invalid number: expected digit in exponent")
		}
	}
	if l.pos < len(l.input) && isWordChar(l.input[l.pos]) {
		return l.errorf(start, "invalid number %q", l.input[start:l.pos+1])
	}
	return l.item(itemNumber, start, l.input[start:l.pos])
}
