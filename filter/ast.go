// Package filter parses SCIM filter expressions (RFC 7644 §3.4.2.2) and
// attribute paths (RFC 7644 §3.5.2 PATCH paths, §3.4.2.5 attributes).
//
// It is pure syntax: it knows nothing of schemas, storage or HTTP. Attribute
// names keep the case they were written in; resolving them against a schema
// (case-insensitively) is the caller's job.
package filter

import (
	"strconv"
	"strings"
)

// AttrPath names an attribute, optionally qualified by a schema URN and
// optionally narrowed to one sub-attribute:
//
//	userName                      → {Name: "userName"}
//	name.givenName                → {Name: "name", Sub: "givenName"}
//	urn:…:enterprise:2.0:User:manager.value
//	                              → {URN: "urn:…:enterprise:2.0:User", Name: "manager", Sub: "value"}
//
// A URN is split at its last colon. A path that is itself a schema URN (a
// PATCH path naming a whole extension, "urn:…:enterprise:2.0:User") therefore
// parses as {URN: "urn:…:enterprise:2.0", Name: "User"}; schema resolution
// recognises that case by checking URN+":"+Name against known schemas.
type AttrPath struct {
	URN  string
	Name string
	Sub  string
}

// String renders the path in its canonical textual form.
func (p AttrPath) String() string {
	var b strings.Builder
	if p.URN != "" {
		b.WriteString(p.URN)
		b.WriteByte(':')
	}
	b.WriteString(p.Name)
	if p.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Sub)
	}
	return b.String()
}

// Op is a comparison operator. Operators are case-insensitive on input and
// always lower case here.
type Op string

// The comparison operators of RFC 7644 §3.4.2.2.
const (
	OpEq Op = "eq" // equal
	OpNe Op = "ne" // not equal
	OpCo Op = "co" // contains
	OpSw Op = "sw" // starts with
	OpEw Op = "ew" // ends with
	OpGt Op = "gt" // greater than
	OpGe Op = "ge" // greater than or equal
	OpLt Op = "lt" // less than
	OpLe Op = "le" // less than or equal
	OpPr Op = "pr" // present (has value)
)

// Expr is a node of a filter expression tree. Only this package implements it.
type Expr interface {
	// String renders the expression in canonical form: lower-case operators,
	// fully parenthesised logical expressions, JSON-quoted strings. Parsing
	// the result yields an equal tree.
	String() string
	expr()
}

// Compare is "attrPath op compValue", or "attrPath pr" when Op is OpPr.
//
// Value is one of: string, bool, nil (the literal null), int64 (an integer
// literal) or float64 (a literal with a fraction or exponent). It is nil for
// OpPr.
type Compare struct {
	Path  AttrPath
	Op    Op
	Value any
}

// Logical is "left and right" or "left or right".
type Logical struct {
	And         bool // true for "and", false for "or"
	Left, Right Expr
}

// Not is "not (x)".
type Not struct {
	X Expr
}

// ValuePath is "attr[filter]": it matches when at least one value of the
// multi-valued (or complex) attribute Path satisfies Filter. Path.Sub is
// always empty; paths inside Filter are relative to the attribute (their
// Name is a sub-attribute name, with no URN).
//
// The non-standard form Entra ID sends, `emails[type eq "work"].value eq "x"`,
// parses to the equivalent ValuePath{emails, (type eq "work") and (value eq "x")}.
type ValuePath struct {
	Path   AttrPath
	Filter Expr
}

func (*Compare) expr()   {}
func (*Logical) expr()   {}
func (*Not) expr()       {}
func (*ValuePath) expr() {}

// String renders the comparison in canonical form.
func (c *Compare) String() string {
	if c.Op == OpPr {
		return c.Path.String() + " pr"
	}
	return c.Path.String() + " " + string(c.Op) + " " + FormatValue(c.Value)
}

// String renders the expression in canonical form, in parentheses.
func (l *Logical) String() string {
	op := " or "
	if l.And {
		op = " and "
	}
	return "(" + l.Left.String() + op + l.Right.String() + ")"
}

// String renders the negation in canonical form.
func (n *Not) String() string { return "not (" + n.X.String() + ")" }

// String renders the value path in canonical form.
func (v *ValuePath) String() string {
	return v.Path.String() + "[" + v.Filter.String() + "]"
}

// FormatValue renders a comparison value as a filter literal: strings are
// JSON-quoted, and a float64 always carries a fraction or an exponent so that
// it reads back as a float64.
func FormatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case string:
		return quote(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return formatFloat(v)
	default:
		return "?"
	}
}

// Path is a PATCH operation path (RFC 7644 §3.5.2):
//
//	attrPath                     → {Attr}
//	valuePath                    → {Attr, Filter}
//	valuePath "." subAttr        → {Attr, Filter, Sub}
//
// With no filter, a sub-attribute is carried in Attr.Sub; with a filter, the
// sub-attribute after the closing bracket is in Sub and Attr.Sub is empty.
type Path struct {
	Attr   AttrPath
	Filter Expr
	Sub    string
}

// String renders the path in canonical form.
func (p Path) String() string {
	if p.Filter == nil {
		return p.Attr.String()
	}
	s := p.Attr.String() + "[" + p.Filter.String() + "]"
	if p.Sub != "" {
		s += "." + p.Sub
	}
	return s
}
