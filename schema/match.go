package schema

import (
	"cmp"
	"strings"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
)

// Match evaluates a filter against a resource in memory, honouring types
// and caseExact (RFC 7644 §3.4.2.2). A nil filter matches every resource.
//
// Semantics: a multi-valued attribute matches when any of its values does;
// a comparison on a complex attribute without a sub-attribute compares its
// "value" sub-attribute; "pr" is true when the attribute has a non-empty
// value; "eq null" is true when it has none and "ne" is the negation of
// "eq" (so an absent attribute is "ne" any value). id, meta.*, Group
// members and User groups are read from r.ID, r.Meta, r.Members and
// r.Groups. Unknown attributes and comparisons the attribute's type does
// not support (`active gt true`, `userName eq 5`) give
// BadRequest(invalidFilter); every part of the filter is checked, even when
// the result is already known.
func (rt *ResourceType) Match(e filter.Expr, r *scimd.Resource) (bool, error) {
	if r == nil {
		r = &scimd.Resource{}
	}
	switch x := e.(type) {
	case nil:
		return true, nil
	case *filter.Logical:
		return logical(x, func(e filter.Expr) (bool, error) { return rt.Match(e, r) })
	case *filter.Not:
		ok, err := rt.Match(x.X, r)
		return !ok && err == nil, err
	case *filter.Compare:
		res, err := rt.resolveFilterPath(x.Path)
		if err != nil {
			return false, err
		}
		if res.Attr == nil {
			if x.Op != filter.OpPr {
				return false, scimd.BadRequest(scimd.ScimTypeInvalidFilter,
					"filter: %q names a whole schema; only \"pr\" can test it", x.Path.String())
			}
			m, _ := r.Attrs[res.Schema.ID].(map[string]any)
			return len(m) > 0, nil
		}
		vals := rt.values(r, res.Schema, res.Attr)
		target := res.Attr
		if res.Sub != nil {
			target = res.Sub
			vals = pick(vals, res.Sub.Name)
		}
		return compareValues(x.Path.String(), target, x.Op, x.Value, vals)
	case *filter.ValuePath:
		if x.Path.Sub != "" {
			return false, scimd.BadRequest(scimd.ScimTypeInvalidFilter,
				"filter: %q cannot be followed by a value filter", x.Path.String())
		}
		res, err := rt.resolveFilterPath(x.Path)
		if err != nil {
			return false, err
		}
		if res.Attr == nil || (!res.Attr.MultiValued && res.Attr.Type != Complex) {
			return false, scimd.BadRequest(scimd.ScimTypeInvalidFilter,
				"filter: %q is not a multi-valued or complex attribute, so it cannot take a [value filter]", x.Path.String())
		}
		elems := rt.values(r, res.Schema, res.Attr)
		if len(elems) == 0 {
			// Still check the inner filter for errors.
			_, err := MatchValue(res.Attr, x.Filter, nil)
			return false, err
		}
		found := false
		for _, el := range elems {
			ok, err := MatchValue(res.Attr, x.Filter, el)
			if err != nil {
				return false, err
			}
			found = found || ok
		}
		return found, nil
	}
	return false, scimd.BadRequest(scimd.ScimTypeInvalidFilter, "filter: unsupported expression")
}

// MatchValue evaluates a value filter (the part inside brackets, whose paths
// name sub-attributes of a) against one value of the multi-valued attribute a.
// For a multi-valued attribute of a simple type, the path "value" names the
// value itself. A nil v matches nothing (but the filter is still checked).
func MatchValue(a *Attribute, e filter.Expr, v any) (bool, error) {
	switch x := e.(type) {
	case *filter.Logical:
		return logical(x, func(e filter.Expr) (bool, error) { return MatchValue(a, e, v) })
	case *filter.Not:
		ok, err := MatchValue(a, x.X, v)
		return !ok && err == nil && v != nil, err
	case *filter.Compare:
		p := x.Path
		if p.URN != "" || p.Sub != "" {
			return false, scimd.BadRequest(scimd.ScimTypeInvalidFilter,
				"filter: inside %s[…] use plain sub-attribute names such as \"value\" or \"type\", not %q", a.Name, p.String())
		}
		name := a.Name + "." + p.Name
		if a.Type != Complex {
			if !strings.EqualFold(p.Name, "value") {
				return false, scimd.BadRequest(scimd.ScimTypeInvalidFilter,
					"filter: %q has no sub-attributes; refer to its values as \"value\"", a.Name)
			}
			single := *a
			single.MultiValued = false
			return compareValues(name, &single, x.Op, x.Value, flatten(v))
		}
		sub := a.Sub(p.Name)
		if sub == nil {
			return false, scimd.BadRequest(scimd.ScimTypeInvalidFilter,
				"filter: unknown sub-attribute %q of %q", p.Name, a.Name)
		}
		var vals []any
		if m, ok := v.(map[string]any); ok {
			vals = flatten(m[sub.Name])
		}
		return compareValues(name, sub, x.Op, x.Value, vals)
	case *filter.ValuePath:
		return false, scimd.BadRequest(scimd.ScimTypeInvalidFilter,
			"filter: value filters cannot be nested (%s)", x.String())
	case nil:
		return v != nil, nil
	}
	return false, scimd.BadRequest(scimd.ScimTypeInvalidFilter, "filter: unsupported expression")
}

// logical evaluates both sides (so errors anywhere are reported) and
// combines them.
func logical(x *filter.Logical, eval func(filter.Expr) (bool, error)) (bool, error) {
	l, err := eval(x.Left)
	if err != nil {
		return false, err
	}
	r, err := eval(x.Right)
	if err != nil {
		return false, err
	}
	if x.And {
		return l && r, nil
	}
	return l || r, nil
}

// resolveFilterPath resolves a filter path, reporting failures as
// invalidFilter.
func (rt *ResourceType) resolveFilterPath(p filter.AttrPath) (Resolved, error) {
	res, err := rt.Resolve(p)
	if err != nil {
		detail := err.Error()
		if e, ok := scimd.AsError(err); ok {
			detail = e.Detail
		}
		return Resolved{}, scimd.BadRequest(scimd.ScimTypeInvalidFilter, "filter: %s", detail)
	}
	return res, nil
}

// values returns the values of top-level attribute a (of schema s, nil for
// common attributes) of r, as a list of elements (one for a single-valued
// attribute, none when unassigned).
func (rt *ResourceType) values(r *scimd.Resource, s *Schema, a *Attribute) []any {
	if s == nil {
		switch a.Name {
		case "id":
			if r.ID == "" {
				return nil
			}
			return []any{r.ID}
		case "meta":
			m := map[string]any{"resourceType": rt.Name}
			if !r.Meta.Created.IsZero() {
				m["created"] = r.Meta.Created
			}
			if !r.Meta.LastModified.IsZero() {
				m["lastModified"] = r.Meta.LastModified
			}
			if r.Meta.Version > 0 {
				m["version"] = r.Meta.ETag()
			}
			return []any{m}
		}
		return flatten(r.Attrs[a.Name])
	}
	if s == rt.Schema {
		switch {
		case a.Name == "members" && isGroup(rt):
			out := make([]any, len(r.Members))
			for i, m := range r.Members {
				out[i] = map[string]any{"value": m.Value, "type": m.Type, "display": m.Display}
			}
			return out
		case a.Name == "groups" && strings.EqualFold(rt.Schema.ID, URNUser):
			out := make([]any, len(r.Groups))
			for i, g := range r.Groups {
				out[i] = map[string]any{"value": g.Value, "display": g.Display, "type": "direct"}
			}
			return out
		}
		return flatten(r.Attrs[a.Name])
	}
	m, _ := r.Attrs[s.ID].(map[string]any)
	return flatten(m[a.Name])
}

// flatten returns v as a list of values.
func flatten(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

// pick returns the values of sub-attribute name of each element.
func pick(elems []any, name string) []any {
	var out []any
	for _, el := range elems {
		if m, ok := el.(map[string]any); ok {
			out = append(out, flatten(m[name])...)
		}
	}
	return out
}

// compareValues applies "op fv" to the values vals of attribute a (named
// path in errors): true when any value satisfies it; for ne, when none
// equals fv.
func compareValues(path string, a *Attribute, op filter.Op, fv any, vals []any) (bool, error) {
	if op == filter.OpPr {
		for _, v := range vals {
			if !isEmpty(v) {
				return true, nil
			}
		}
		return false, nil
	}
	if a.Type == Complex {
		// A complex attribute without a sub-attribute compares its "value".
		sub := a.Sub("value")
		if sub == nil || sub.Type == Complex {
			return false, scimd.BadRequest(scimd.ScimTypeInvalidFilter,
				"filter: %q is complex; compare one of its sub-attributes (e.g. %s.%s)", path, path, firstSub(a))
		}
		return compareValues(path+".value", sub, op, fv, pick(vals, sub.Name))
	}
	c, err := newComparison(path, a, op, fv)
	if err != nil {
		return false, err
	}
	if c.null {
		present := false
		for _, v := range vals {
			present = present || !isEmpty(v)
		}
		return present == (op == filter.OpNe), nil
	}
	negate := false
	if op == filter.OpNe {
		negate, c.op = true, filter.OpEq
	}
	found := false
	for _, v := range vals {
		if c.match(v) {
			found = true
			break
		}
	}
	return found != negate, nil
}

func firstSub(a *Attribute) string {
	if len(a.SubAttributes) > 0 {
		return a.SubAttributes[0].Name
	}
	return "value"
}

// comparison is a checked "op value" for one attribute type.
type comparison struct {
	a    *Attribute
	op   filter.Op
	null bool      // comparing with null (eq/ne only): handled by the caller
	s    string    // string types (lower-cased unless caseExact)
	b    bool      // boolean
	i    int64     // integer literal
	f    float64   // number
	isI  bool      // the literal is an integer
	t    time.Time // dateTime
}

func newComparison(path string, a *Attribute, op filter.Op, fv any) (*comparison, error) {
	c := &comparison{a: a, op: op}
	bad := func(format string, args ...any) (*comparison, error) {
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidFilter, "filter: %q "+format, append([]any{path}, args...)...)
	}
	switch op {
	case filter.OpEq, filter.OpNe, filter.OpCo, filter.OpSw, filter.OpEw,
		filter.OpGt, filter.OpGe, filter.OpLt, filter.OpLe:
	default:
		return bad("uses unknown operator %q", string(op))
	}
	ordering := op == filter.OpGt || op == filter.OpGe || op == filter.OpLt || op == filter.OpLe
	substring := op == filter.OpCo || op == filter.OpSw || op == filter.OpEw
	if fv == nil {
		if op != filter.OpEq && op != filter.OpNe {
			return bad("can be compared with null only by eq or ne")
		}
		c.null = true
		return c, nil
	}
	switch a.Type {
	case Boolean:
		if ordering || substring {
			return bad("is a boolean; only eq, ne and pr apply")
		}
		switch x := fv.(type) {
		case bool:
			c.b = x
		case string:
			if !strings.EqualFold(x, "true") && !strings.EqualFold(x, "false") {
				return bad("is a boolean and cannot be compared with the string %q", truncate(x))
			}
			c.b = strings.EqualFold(x, "true")
		default:
			return bad("is a boolean and cannot be compared with %s", kindOf(fv))
		}
	case Integer, Decimal:
		if substring {
			return bad("is a number; co, sw and ew apply only to strings")
		}
		i, f, isInt, ok := number(fv)
		if !ok {
			return bad("is a number and cannot be compared with %s", kindOf(fv))
		}
		c.i, c.f, c.isI = i, f, isInt
	case DateTime:
		if substring {
			return bad("is a date-time; co, sw and ew apply only to strings")
		}
		s, ok := fv.(string)
		if !ok {
			return bad("is a date-time and must be compared with an RFC 3339 string, not %s", kindOf(fv))
		}
		t, err := parseDateTime(s)
		if err != nil {
			return bad("is a date-time; %q is not an RFC 3339 date-time such as \"2024-05-01T12:00:00Z\"", truncate(s))
		}
		c.t = t
	default: // String, Reference, Binary
		s, ok := fv.(string)
		if !ok {
			return bad("is a string and cannot be compared with %s", kindOf(fv))
		}
		if a.Type == Binary && ordering {
			return bad("is binary; gt, ge, lt and le do not apply")
		}
		if !a.CaseExact {
			s = strings.ToLower(s)
		}
		c.s = s
	}
	return c, nil
}

// match applies the comparison to one stored value. Values of an
// unexpected type never match.
func (c *comparison) match(v any) bool {
	switch c.a.Type {
	case Boolean:
		b, ok := v.(bool)
		return ok && b == c.b
	case Integer, Decimal:
		i, f, isInt, ok := number(v)
		if !ok {
			return false
		}
		var d int
		if isInt && c.isI {
			d = cmp.Compare(i, c.i)
		} else {
			x, y := f, c.f
			if isInt {
				x = float64(i)
			}
			if c.isI {
				y = float64(c.i)
			}
			d = cmp.Compare(x, y)
		}
		return ordered(c.op, d)
	case DateTime:
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case string:
			var err error
			if t, err = parseDateTime(x); err != nil {
				return false
			}
		default:
			return false
		}
		return ordered(c.op, t.Compare(c.t))
	}
	s, ok := v.(string)
	if !ok {
		return false
	}
	if !c.a.CaseExact {
		if c.op == filter.OpEq {
			return strings.EqualFold(s, c.s)
		}
		s = strings.ToLower(s)
	}
	switch c.op {
	case filter.OpCo:
		return strings.Contains(s, c.s)
	case filter.OpSw:
		return strings.HasPrefix(s, c.s)
	case filter.OpEw:
		return strings.HasSuffix(s, c.s)
	}
	return ordered(c.op, strings.Compare(s, c.s))
}

// ordered applies an equality or ordering operator to a three-way result.
func ordered(op filter.Op, d int) bool {
	switch op {
	case filter.OpEq:
		return d == 0
	case filter.OpGt:
		return d > 0
	case filter.OpGe:
		return d >= 0
	case filter.OpLt:
		return d < 0
	case filter.OpLe:
		return d <= 0
	}
	return false
}
