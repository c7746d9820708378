package filter

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Error is a syntax error in a filter or path. Callers map it to the SCIM
// error type invalidFilter (filters) or invalidPath (PATCH and attribute
// paths).
type Error struct {
	Pos int    // byte offset in the input where the problem was found
	Msg string // description, without position
}

// Error formats the error with a 1-based column: "filter: col 12: …".
func (e *Error) Error() string {
	return fmt.Sprintf("filter: col %d: %s", e.Pos+1, e.Msg)
}

// Limits bounds the size of what Parse accepts, so that hostile input cannot
// make parsing (or later evaluation) expensive. A zero or negative field takes
// its value from DefaultLimits.
//
// The canonical form (String) of an accepted filter may be somewhat longer
// and more deeply parenthesised than the input it came from, so it is not
// guaranteed to fit the same limits; re-parse canonical forms with generous
// limits.
type Limits struct {
	// MaxLength is the maximum input length in bytes.
	MaxLength int
	// MaxDepth is the maximum nesting of parentheses, "not" and value-path
	// brackets. "not (…)" counts as one level.
	MaxDepth int
	// MaxTerms is the maximum number of comparisons, including those inside
	// value paths.
	MaxTerms int
}

// DefaultLimits are the limits used by Parse, ParsePath and ParseAttrPath.
var DefaultLimits = Limits{MaxLength: 4096, MaxDepth: 16, MaxTerms: 200}

// orDefault fills unset fields from DefaultLimits (and, should DefaultLimits
// itself have been zeroed, from fixed safe values).
func (l Limits) orDefault() Limits {
	fill := func(v, d, safe int) int {
		switch {
		case v > 0:
			return v
		case d > 0:
			return d
		}
		return safe
	}
	l.MaxLength = fill(l.MaxLength, DefaultLimits.MaxLength, 4096)
	l.MaxDepth = fill(l.MaxDepth, DefaultLimits.MaxDepth, 16)
	l.MaxTerms = fill(l.MaxTerms, DefaultLimits.MaxTerms, 200)
	return l
}

// Parse parses a filter (RFC 7644 §3.4.2.2) using DefaultLimits.
func Parse(s string) (Expr, error) { return DefaultLimits.Parse(s) }

// ParsePath parses a PATCH operation path (RFC 7644 §3.5.2) using
// DefaultLimits.
func ParsePath(s string) (Path, error) { return DefaultLimits.ParsePath(s) }

// ParseAttrPath parses a single attribute path, as listed in the attributes
// and excludedAttributes parameters or given in sortBy. Surrounding
// whitespace is ignored.
func ParseAttrPath(s string) (AttrPath, error) {
	var a AttrPath
	err := DefaultLimits.run(s, func(p *parser) {
		w := p.expectWord("attribute path")
		a = p.attrPath(w)
		p.expectEOF()
	})
	return a, err
}

// Parse parses a filter (RFC 7644 §3.4.2.2) within the limits l.
//
// Operators, "and", "or", "not" and the literals true, false and null are
// case-insensitive; attribute names keep the case they were written in.
// The result is one of *Compare, *Logical, *Not or *ValuePath. Chains of the
// same logical operator ("a and b and c and d") are built as balanced trees,
// so that the canonical form stays shallow. "not" is a reserved word where a
// filter may start: it must be followed by "(". A non-nil error is an *Error.
func (l Limits) Parse(s string) (Expr, error) {
	var e Expr
	err := l.run(s, func(p *parser) {
		if p.tok.typ == itemEOF {
			p.errorf(p.tok.pos, "empty filter")
		}
		e = p.filter()
		p.expectEOF()
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// ParsePath parses a PATCH operation path (RFC 7644 §3.5.2) within the
// limits l:
//
//	PATH = attrPath / valuePath [ "." subAttr ]
//
// A non-nil error is an *Error.
func (l Limits) ParsePath(s string) (Path, error) {
	var path Path
	err := l.run(s, func(p *parser) {
		path = p.path()
		p.expectEOF()
	})
	if err != nil {
		return Path{}, err
	}
	return path, nil
}

// parser is a recursive-descent parser with one item of look-ahead.
type parser struct {
	lex     lexer
	tok     item // the look-ahead item
	limits  Limits
	depth   int  // current nesting of parentheses, "not" and brackets
	terms   int  // comparisons seen so far
	inValue bool // inside the brackets of a value path
}

// run is the single entry point shared by the Parse functions: it sets up a
// parser for s, runs fn and turns a parse error raised by errorf into a
// returned *Error. It is the only place that recovers.
func (l Limits) run(s string, fn func(*parser)) (err error) {
	l = l.orDefault()
	if len(s) > l.MaxLength {
		return &Error{Pos: l.MaxLength, Msg: fmt.Sprintf("input too long (%d bytes, limit %d)", len(s), l.MaxLength)}
	}
	p := &parser{lex: lexer{input: s}, limits: l}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(*Error)
			if !ok {
				panic(r) // a bug, not a syntax error
			}
			err = pe
		}
	}()
	p.advance()
	fn(p)
	return nil
}

// errorf aborts parsing with an *Error at byte offset pos.
func (p *parser) errorf(pos int, format string, args ...any) {
	panic(&Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// advance moves to the next item, raising lexical errors.
func (p *parser) advance() item {
	prev := p.tok
	p.tok = p.lex.next()
	if p.tok.typ == itemError {
		p.errorf(p.tok.pos, "%s", p.tok.val)
	}
	return prev
}

// describe renders an item for error messages.
func describe(t item) string {
	switch t.typ {
	case itemEOF:
		return "end of input"
	case itemString:
		return "string " + abbrev(strconv.Quote(t.val))
	case itemNumber:
		return "number " + abbrev(t.val)
	}
	return strconv.Quote(abbrev(t.val))
}

// abbrev shortens s for inclusion in a message.
func abbrev(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && s[i]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		i--
	}
	return s[:i] + "…"
}

// isKeyword reports whether t is the word kw, ignoring case.
func isKeyword(t item, kw string) bool {
	return t.typ == itemWord && strings.EqualFold(t.val, kw)
}

func (p *parser) expectEOF() {
	if p.tok.typ != itemEOF {
		p.errorf(p.tok.pos, "unexpected %s", describe(p.tok))
	}
}

func (p *parser) expectWord(what string) item {
	if p.tok.typ != itemWord {
		p.errorf(p.tok.pos, "expected %s, found %s", what, describe(p.tok))
	}
	return p.advance()
}

// enter records one more level of nesting that began at pos.
func (p *parser) enter(pos int) {
	p.depth++
	if p.depth > p.limits.MaxDepth {
		p.errorf(pos, "expression nested too deeply (limit %d)", p.limits.MaxDepth)
	}
}

func (p *parser) leave() { p.depth-- }

// filter parses a complete filter and reports what follows it. Inside
// parentheses the caller checks for ")"; at the top level for end of input.
//
//	FILTER = orExpr
func (p *parser) filter() Expr {
	e := p.orExpr()
	if p.tok.typ != itemEOF && p.tok.typ != itemRParen && p.tok.typ != itemRBracket {
		p.errorf(p.tok.pos, `expected "and", "or" or end of expression, found %s`, describe(p.tok))
	}
	return e
}

// orExpr parses a disjunction. "and" binds tighter than "or".
//
//	orExpr = andExpr *( SP "or" SP andExpr )
func (p *parser) orExpr() Expr {
	first := p.andExpr()
	if !isKeyword(p.tok, "or") {
		return first
	}
	list := []Expr{first}
	for isKeyword(p.tok, "or") {
		p.advance()
		list = append(list, p.andExpr())
	}
	return balance(false, list)
}

// andExpr parses a conjunction.
//
//	andExpr = unary *( SP "and" SP unary )
func (p *parser) andExpr() Expr {
	first := p.unary()
	if !isKeyword(p.tok, "and") {
		return first
	}
	list := []Expr{first}
	for isKeyword(p.tok, "and") {
		p.advance()
		list = append(list, p.unary())
	}
	return balance(true, list)
}

// balance joins list (at least one element) with one logical operator into a
// balanced tree. Chains of up to three operands come out left-associative.
func balance(and bool, list []Expr) Expr {
	if len(list) == 1 {
		return list[0]
	}
	mid := (len(list) + 1) / 2
	return &Logical{And: and, Left: balance(and, list[:mid]), Right: balance(and, list[mid:])}
}

// unary parses a negation, a parenthesised filter or an attribute
// expression.
//
//	unary = "not" [SP] "(" FILTER ")" / "(" FILTER ")" / attrExp
func (p *parser) unary() Expr {
	switch {
	case isKeyword(p.tok, "not"):
		not := p.advance()
		if p.tok.typ != itemLParen {
			p.errorf(p.tok.pos, `expected "(" after %q, found %s`, not.val, describe(p.tok))
		}
		p.enter(not.pos)
		x := p.group()
		p.leave()
		return &Not{X: x}
	case p.tok.typ == itemLParen:
		p.enter(p.tok.pos)
		x := p.group()
		p.leave()
		return x
	case p.tok.typ == itemWord:
		return p.attrExp()
	}
	p.errorf(p.tok.pos, "expected attribute name, \"(\" or \"not\", found %s", describe(p.tok))
	return nil
}

// group parses a parenthesised filter.
//
//	group = "(" FILTER ")"
func (p *parser) group() Expr {
	open := p.advance()
	if p.tok.typ == itemRParen {
		p.errorf(p.tok.pos, `empty parentheses`)
	}
	x := p.filter()
	if p.tok.typ != itemRParen {
		p.errorf(p.tok.pos, `expected ")" to close "(" at col %d, found %s`, open.pos+1, describe(p.tok))
	}
	p.advance()
	return x
}

// attrExp parses a comparison or a value path, including the form Entra ID
// sends, which is not in the RFC's grammar:
//
//	attrExp   = attrPath SP "pr" / attrPath SP compareOp SP compValue / valuePath
//	valuePath = attrPath "[" valFilter "]"
//	entraExp  = valuePath "." subAttr ( SP "pr" / SP compareOp SP compValue )
func (p *parser) attrExp() Expr {
	word := p.advance()
	path := p.attrPath(word)
	if p.tok.typ != itemLBracket {
		return p.comparison(path, word)
	}
	vp := p.valuePath(path, word)
	if p.tok.typ != itemDot {
		return vp
	}
	// emails[type eq "work"].value eq "x" → emails[type eq "work" and value eq "x"]
	sub, subItem := p.subAttr()
	cmp := p.comparison(AttrPath{Name: sub}, subItem)
	vp.Filter = &Logical{And: true, Left: vp.Filter, Right: cmp}
	return vp
}

// comparison parses what follows the attribute path of a comparison.
//
//	comparison = SP "pr" / SP compareOp SP compValue
//	compareOp  = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"
func (p *parser) comparison(path AttrPath, after item) *Compare {
	if p.tok.typ != itemWord {
		p.errorf(p.tok.pos, "expected comparison operator after %q, found %s", abbrev(after.val), describe(p.tok))
	}
	opItem := p.advance()
	op := Op(strings.ToLower(opItem.val))
	switch op {
	case OpEq, OpNe, OpCo, OpSw, OpEw, OpGt, OpGe, OpLt, OpLe:
	case OpPr:
		p.countTerm(after.pos)
		return &Compare{Path: path, Op: OpPr}
	default:
		p.errorf(opItem.pos, "expected comparison operator after %q, found %s", abbrev(after.val), describe(opItem))
	}
	v := p.compValue(opItem)
	p.countTerm(after.pos)
	return &Compare{Path: path, Op: op, Value: v}
}

func (p *parser) countTerm(pos int) {
	p.terms++
	if p.terms > p.limits.MaxTerms {
		p.errorf(pos, "too many comparisons (limit %d)", p.limits.MaxTerms)
	}
}

// compValue parses a comparison value.
//
//	compValue = "false" / "null" / "true" / number / string
func (p *parser) compValue(op item) any {
	t := p.tok
	switch t.typ {
	case itemString:
		p.advance()
		return t.val
	case itemNumber:
		p.advance()
		return p.number(t)
	case itemWord:
		switch strings.ToLower(t.val) {
		case "true":
			p.advance()
			return true
		case "false":
			p.advance()
			return false
		case "null":
			p.advance()
			return nil
		}
	}
	p.errorf(t.pos, "expected value (string, number, true, false or null) after %q, found %s", op.val, describe(t))
	return nil
}

// number converts a JSON number to int64 when it is an integer that fits,
// otherwise to float64.
func (p *parser) number(t item) any {
	if !strings.ContainsAny(t.val, ".eE") {
		if n, err := strconv.ParseInt(t.val, 10, 64); err == nil {
			return n
		}
	}
	f, err := strconv.ParseFloat(t.val, 64)
	if err != nil || math.IsInf(f, 0) {
		p.errorf(t.pos, "number %s out of range", abbrev(t.val))
	}
	return f
}

// valuePath parses the bracketed filter of a value path; the attribute path
// has been read already.
//
//	valuePath = attrPath "[" valFilter "]"
//	valFilter = FILTER, with relative attribute paths and no value paths
func (p *parser) valuePath(path AttrPath, word item) *ValuePath {
	open := p.tok
	switch {
	case p.inValue:
		p.errorf(open.pos, "value paths cannot be nested")
	case path.Sub != "":
		p.errorf(open.pos, "value filter must follow an attribute, not the sub-attribute %q", abbrev(word.val))
	}
	p.enter(open.pos)
	p.advance()
	if p.tok.typ == itemRBracket {
		p.errorf(p.tok.pos, "empty value filter")
	}
	p.inValue = true
	f := p.filter()
	p.inValue = false
	if p.tok.typ != itemRBracket {
		p.errorf(p.tok.pos, `expected "]" to close "[" at col %d, found %s`, open.pos+1, describe(p.tok))
	}
	p.advance()
	p.leave()
	return &ValuePath{Path: path, Filter: f}
}

// subAttr parses the sub-attribute that may follow a value path's closing
// bracket. No whitespace is allowed around the dot.
//
//	subAttr = "." ATTRNAME
func (p *parser) subAttr() (string, item) {
	dot := p.advance()
	if p.tok.typ != itemWord || p.tok.pos != dot.end {
		p.errorf(dot.end, `expected sub-attribute name after "."`)
	}
	w := p.advance()
	if i := strings.IndexAny(w.val, ".:"); i >= 0 {
		p.errorf(w.pos+i, "invalid sub-attribute name %q", abbrev(w.val))
	}
	if !validName(w.val) {
		p.errorf(w.pos, "invalid sub-attribute name %q", abbrev(w.val))
	}
	return w.val, w
}

// path parses a PATCH path.
//
//	PATH = attrPath / valuePath [ subAttr ]
func (p *parser) path() Path {
	if p.tok.typ == itemEOF {
		p.errorf(p.tok.pos, "empty path")
	}
	w := p.expectWord("attribute path")
	attr := p.attrPath(w)
	if p.tok.typ != itemLBracket {
		return Path{Attr: attr}
	}
	vp := p.valuePath(attr, w)
	path := Path{Attr: attr, Filter: vp.Filter}
	if p.tok.typ == itemDot {
		path.Sub, _ = p.subAttr()
	}
	return path
}

// attrPath validates a word as an attribute path and splits it. Inside a
// value filter the path must be a bare sub-attribute name.
//
//	attrPath = [URI ":"] ATTRNAME *1subAttr
//	ATTRNAME = ALPHA *(nameChar) / "$ref"
//	nameChar = "-" / "_" / DIGIT / ALPHA
//
// The URI must be a URN ("urn:" followed by non-empty colon-separated
// segments of letters, digits, "-", "_" and "."); it ends at the last colon.
func (p *parser) attrPath(w item) AttrPath {
	s := w.val
	var a AttrPath
	rest, restPos := s, w.pos
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if p.inValue {
			p.errorf(w.pos, "attribute %q in a value filter must be a sub-attribute name, without schema URN", abbrev(s))
		}
		a.URN = s[:i]
		if off, ok := validURN(a.URN); !ok {
			p.errorf(w.pos+off, "invalid schema URN %q", abbrev(a.URN))
		}
		rest, restPos = s[i+1:], w.pos+i+1
	}
	name := rest
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		if p.inValue {
			p.errorf(w.pos, "attribute %q in a value filter must be a sub-attribute name, without further sub-attribute", abbrev(s))
		}
		name, a.Sub = rest[:i], rest[i+1:]
		if a.Sub == "" || strings.IndexByte(a.Sub, '.') >= 0 || !validName(a.Sub) {
			p.errorf(restPos+i+1, "invalid sub-attribute name in %q", abbrev(s))
		}
	}
	if !validName(name) {
		p.errorf(restPos, "invalid attribute name in %q", abbrev(s))
	}
	a.Name = name
	return a
}

// validName reports whether s is an ATTRNAME: a letter followed by letters,
// digits, "-" and "_", or "$ref" (in any case).
func validName(s string) bool {
	if strings.EqualFold(s, "$ref") {
		return true
	}
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && !isDigit(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// validURN reports whether s is an acceptable schema URN and, if not, the
// offset of the problem.
func validURN(s string) (int, bool) {
	if len(s) < 4 || !strings.EqualFold(s[:4], "urn:") {
		return 0, false
	}
	seg := 4 // start of the current segment
	for i := 4; i <= len(s); i++ {
		if i == len(s) || s[i] == ':' {
			if i == seg {
				return i, false
			}
			seg = i + 1
			continue
		}
		if c := s[i]; !isAlpha(c) && !isDigit(c) && c != '-' && c != '_' && c != '.' {
			return i, false
		}
	}
	return 0, true
}

// Walk calls fn for e and then, if fn returns true, for each of e's children
// in order (pre-order): Logical's Left then Right, Not's X and ValuePath's
// Filter. Walk(nil, fn) does nothing.
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch e := e.(type) {
	case *Logical:
		if e != nil {
			Walk(e.Left, fn)
			Walk(e.Right, fn)
		}
	case *Not:
		if e != nil {
			Walk(e.X, fn)
		}
	case *ValuePath:
		if e != nil {
			Walk(e.Filter, fn)
		}
	}
}
