package sqlbuild

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
)

// Frag is a compiled SQL fragment and its arguments, in placeholder order.
type Frag struct {
	SQL  string
	Args []any
}

// MaxDepth bounds the nesting of compiled filters (the parser has its own
// limit; this keeps the compiler safe with hand-built trees).
const MaxDepth = 64

// Builder compiles filters into fragments appended to one argument list, so
// that numbered placeholders ($n) stay consistent across fragments.
type Builder struct {
	D Dialect
	// Tenant is bound wherever a subquery must be restricted to the tenant
	// (value index, memberships).
	Tenant string
	// Args collects the arguments of everything built so far. Callers may
	// append their own with Bind.
	Args []any

	// Driven, when not "", says the caller iterates a substring index
	// (Driver) and joins each row to resources r; Driven is the index's
	// rowid expression (equal to r.seq). The filter is then compiled to
	// test rows one at a time: value-index conditions as lookups of that
	// rowid (SQLite can test them before reading r's row), and no
	// substring index subqueries, which would read every match up front.
	Driven string

	// ModifiedScan compiles comparisons on meta.lastModified to the
	// resource's own column even when the dialect has a ModifiedIndex:
	// for a caller that found the matches dense, so that a page in
	// creation order is best found by testing rows as it walks.
	ModifiedScan bool
	// Modified reports that a comparison selected resources through the
	// dialect's ModifiedIndex (set by the compiler).
	Modified bool

	alias int // counter for JSON iteration aliases
	depth int
}

// Bind appends v to the arguments and returns its placeholder.
func (b *Builder) Bind(v any) string {
	b.Args = append(b.Args, b.D.Arg(v))
	return b.D.Placeholder(len(b.Args))
}

func invalid(format string, args ...any) error {
	return scimd.BadRequest(scimd.ScimTypeInvalidFilter, format, args...)
}

// Where compiles e into a boolean SQL expression over "resources r" for
// resources of type rt. A nil e gives "1 = 1".
func (b *Builder) Where(rt *schema.ResourceType, e filter.Expr) (string, error) {
	if e == nil {
		return "1 = 1", nil
	}
	c := &compiler{b: b, rt: rt}
	return c.expr(e, c.resourceField)
}

// WhereAny compiles e for a query across several resource types (a root
// search): each type contributes "r.type = '<type>' AND <e for the type>".
// On a type that lacks an attribute e names, comparisons of that attribute
// behave as for an absent value (eq false, ne true, pr false). A filter
// naming an attribute no type has fails with invalidFilter.
func (b *Builder) WhereAny(types []*schema.ResourceType, e filter.Expr) (string, error) {
	if e == nil {
		return "1 = 1", nil
	}
	var parts []string
	missing := map[string]int{} // path → number of types lacking it
	var firstMissing error
	for _, rt := range types {
		c := &compiler{b: b, rt: rt, lenient: true}
		s, err := c.expr(e, c.resourceField)
		if err != nil {
			return "", err
		}
		for p, err := range c.missing {
			missing[p]++
			if firstMissing == nil {
				firstMissing = err
			}
		}
		parts = append(parts, "(r.type = "+b.D.Quote(rt.Name)+" AND "+s+")")
	}
	for _, n := range missing {
		if n == len(types) {
			return "", firstMissing
		}
	}
	if len(parts) == 0 {
		return "1 = 0", nil
	}
	return "(" + strings.Join(parts, " OR ") + ")", nil
}

// absent is an attribute the resource type does not have (root searches).
type absent struct{}

func (absent) compile(_ *compiler, op filter.Op, v any) (string, error) {
	if (op == filter.OpNe && v != nil) || (op == filter.OpEq && v == nil) {
		return "1 = 1", nil
	}
	return "1 = 0", nil
}

// errUnknown marks errors for attributes a resource type does not have.
var errUnknown = errors.New("unknown attribute")

func unknownAttr(err error) bool { return errors.Is(err, errUnknown) }

// MemberWhere compiles e, a filter over the sub-attributes of Group.members
// ("value", "type", "display"), into a boolean SQL expression over
// "memberships m" (as used by MemberRemoveWhere). members is the Group's
// members attribute, whose sub-attributes say what is caseExact; nil means
// RFC 7643 defaults with ids compared exactly.
func (b *Builder) MemberWhere(members *schema.Attribute, e filter.Expr) (string, error) {
	c := &compiler{b: b}
	return c.expr(e, func(p filter.AttrPath) (field, error) {
		if p.URN != "" || p.Sub != "" {
			return nil, invalid("unknown member attribute %q", p.String())
		}
		return memberScalar(members, p.Name)
	})
}

// field is how the compiler reaches the value(s) a filter path names.
// compile writes the predicate "path op value" for it.
type field interface {
	compile(c *compiler, op filter.Op, v any) (string, error)
}

// fieldFunc resolves a filter path to a field in the current scope.
type fieldFunc func(p filter.AttrPath) (field, error)

type compiler struct {
	b  *Builder
	rt *schema.ResourceType

	lenient bool             // unknown attributes are absent (WhereAny)
	missing map[string]error // unknown attributes met when lenient
	negated int              // enclosing "not"s
}

func (c *compiler) expr(e filter.Expr, scope fieldFunc) (string, error) {
	c.b.depth++
	defer func() { c.b.depth-- }()
	if c.b.depth > MaxDepth {
		return "", invalid("filter is nested too deeply")
	}
	switch e := e.(type) {
	case *filter.Logical:
		if e == nil || e.Left == nil || e.Right == nil {
			return "", invalid("incomplete logical expression")
		}
		l, err := c.expr(e.Left, scope)
		if err != nil {
			return "", err
		}
		r, err := c.expr(e.Right, scope)
		if err != nil {
			return "", err
		}
		op := " OR "
		if e.And {
			op = " AND "
		}
		return "(" + l + op + r + ")", nil
	case *filter.Not:
		if e == nil || e.X == nil {
			return "", invalid("incomplete not expression")
		}
		c.negated++
		x, err := c.expr(e.X, scope)
		c.negated--
		if err != nil {
			return "", err
		}
		return "((" + x + ") IS NOT TRUE)", nil
	case *filter.Compare:
		if e == nil {
			return "", invalid("empty comparison")
		}
		f, err := scope(e.Path)
		if err != nil {
			return "", err
		}
		return f.compile(c, e.Op, e.Value)
	case *filter.ValuePath:
		if e == nil || e.Filter == nil {
			return "", invalid("incomplete value path")
		}
		return c.valuePath(e, scope)
	default:
		return "", invalid("unsupported filter expression %T", e)
	}
}

// resolve resolves p against the resource type, turning schema errors into
// invalidFilter.
func (c *compiler) resolve(p filter.AttrPath) (schema.Resolved, error) {
	res, err := c.rt.Resolve(p)
	if err != nil {
		return res, &scimd.Error{Status: 400, ScimType: scimd.ScimTypeInvalidFilter,
			Detail: fmt.Sprintf("unknown attribute %q in filter", p.String()), Err: fmt.Errorf("%w: %w", errUnknown, err)}
	}
	if res.Attr == nil {
		return res, invalid("filter names the whole schema %q, not an attribute", p.String())
	}
	return res, nil
}

// core reports whether res is a core-schema attribute of rt named name
// (with sub-attribute sub, "" for none).
func (c *compiler) core(res schema.Resolved, typ, name string) bool {
	return c.rt.Name == typ && res.Schema == c.rt.Schema && strings.EqualFold(res.Attr.Name, name)
}

// common reports whether res is the common attribute name.
func common(res schema.Resolved, name string) bool {
	return res.Schema == nil && strings.EqualFold(res.Attr.Name, name)
}

// scalar is one SQL value compared by the usual rules.
type scalar struct {
	expr      string
	typ       schema.Type
	caseExact bool
	folded    bool // expr holds Fold(value) already
	timeCol   bool // expr is a FormatTime text column (or a timestamp column)
	trgm      bool // expr may have a trigram index (Dialect.Substring)
	name      string
}

// resourceField maps a top-level filter path to a field of the resources
// table (see the package comment).
func (c *compiler) resourceField(p filter.AttrPath) (field, error) {
	res, err := c.resolve(p)
	if err != nil {
		if c.lenient && unknownAttr(err) {
			if c.missing == nil {
				c.missing = map[string]error{}
			}
			c.missing[strings.ToLower(p.String())] = err
			return absent{}, nil
		}
		return nil, err
	}
	a, sub := res.Attr, res.Sub
	name := p.String()
	switch {
	case common(res, "id") && sub == nil:
		return scalar{expr: "r.id", typ: schema.String, caseExact: true, name: name}, nil
	case common(res, "externalId") && sub == nil:
		return scalar{expr: "r.external_id", typ: schema.String, caseExact: a.CaseExact, trgm: true, name: name}, nil
	case common(res, "meta") && sub != nil && strings.EqualFold(sub.Name, "created"):
		return scalar{expr: "r.created", typ: schema.DateTime, timeCol: true, name: name}, nil
	case common(res, "meta") && sub != nil && strings.EqualFold(sub.Name, "lastModified"):
		s := scalar{expr: "r.last_modified", typ: schema.DateTime, timeCol: true, name: name}
		if m := c.b.D.ModifiedIndex(); m.Table != "" {
			if !c.b.ModifiedScan {
				return modifiedIndex{scalar: s, index: m}, nil
			}
			if m.Scan != "" {
				s.expr = m.Scan
			}
		}
		return s, nil
	case common(res, "meta") && sub != nil && strings.EqualFold(sub.Name, "resourceType"):
		return scalar{expr: "r.type", typ: schema.String, caseExact: false, name: name, folded: false}, nil
	case common(res, "meta") && sub != nil && strings.EqualFold(sub.Name, "version"):
		return nil, invalid("filtering on meta.version is not supported")
	case c.core(res, scimd.TypeUser, "userName") && !a.CaseExact:
		return scalar{expr: "r.name_lc", typ: schema.String, folded: true, trgm: true, name: name}, nil
	case c.core(res, scimd.TypeGroup, "displayName") && !a.CaseExact:
		return scalar{expr: "r.name_lc", typ: schema.String, folded: true, trgm: true, name: name}, nil
	case c.core(res, scimd.TypeUser, "displayName") && !a.CaseExact:
		return scalar{expr: "r.display_lc", typ: schema.String, folded: true, trgm: true, name: name}, nil
	case c.core(res, scimd.TypeUser, "active"):
		return scalar{expr: "r.active", typ: schema.Boolean, name: name}, nil
	case c.core(res, scimd.TypeUser, "emails") && sub != nil && indexedEmailSub(sub):
		return valueIndex{attr: "emails", col: emailCol(sub), name: name}, nil
	case c.core(res, scimd.TypeUser, "emails") && sub == nil && a.Sub("value") != nil && indexedEmailSub(a.Sub("value")):
		return valueIndex{attr: "emails", col: "v.value_lc", name: name}, nil
	case c.core(res, scimd.TypeGroup, "members"):
		if sub == nil {
			return memberPresence{attr: a, name: name}, nil
		}
		s, err := memberScalar(a, sub.Name)
		if err != nil {
			return nil, err
		}
		return membership{sub: s}, nil
	case c.core(res, scimd.TypeUser, "groups"):
		if sub == nil {
			return groupsPresence{name: name}, nil
		}
		switch strings.ToLower(sub.Name) {
		case "value":
			return groupsOf{sub: scalar{expr: "m.group_id", typ: schema.String, caseExact: sub.CaseExact, folded: !sub.CaseExact, name: name}}, nil
		case "display":
			return groupsOf{join: true, sub: scalar{expr: "g.name_lc", typ: schema.String, folded: true, name: name}}, nil
		}
		return nil, invalid("filtering on %s is not supported", name)
	}
	return c.jsonField(res, name)
}

func indexedEmailSub(sub *schema.Attribute) bool {
	n := strings.ToLower(sub.Name)
	return (n == "value" || n == "type") && !sub.CaseExact && !sub.MultiValued && sub.Type == schema.String
}

func emailCol(sub *schema.Attribute) string {
	if strings.EqualFold(sub.Name, "type") {
		return "v.type_lc"
	}
	return "v.value_lc"
}

// memberScalar maps a sub-attribute of members (attribute a, may be nil)
// to a column of memberships (alias m).
func memberScalar(a *schema.Attribute, name string) (scalar, error) {
	exact := func(sub string, def bool) bool {
		if a != nil && a.Sub(sub) != nil {
			return a.Sub(sub).CaseExact
		}
		return def
	}
	switch strings.ToLower(name) {
	case "value":
		// Ids are server-issued lower-case UUIDs, so the column is its
		// own folded form whatever value's caseExact says.
		ce := exact("value", true)
		return scalar{expr: "m.member_id", typ: schema.String, caseExact: ce, folded: !ce, name: "members.value"}, nil
	case "type":
		return scalar{expr: "m.member_type", typ: schema.String, caseExact: exact("type", false), name: "members.type"}, nil
	case "display":
		return scalar{expr: "m.display", typ: schema.String, caseExact: exact("display", false), name: "members.display"}, nil
	}
	return scalar{}, invalid("filtering on members.%s is not supported", name)
}

// jsonField maps an attribute held in the JSON document.
func (c *compiler) jsonField(res schema.Resolved, name string) (field, error) {
	keys := []string{}
	if k := res.Key(c.rt); k != "" {
		keys = append(keys, k)
	}
	if res.Schema == nil {
		// Common attributes other than the mapped ones (meta.location…)
		// are not stored in the document.
		return nil, invalid("filtering on %s is not supported", name)
	}
	a, sub := res.Attr, res.Sub
	keys = append(keys, a.Name)
	for _, k := range keys {
		if strings.ContainsAny(k, `"'\`) {
			return nil, invalid("attribute name %q cannot be filtered", k)
		}
	}
	if !a.MultiValued {
		if sub != nil {
			return scalar{expr: c.b.D.Extract("r.doc", append(keys, sub.Name), sub.Type), typ: sub.Type,
				caseExact: sub.CaseExact, name: name}, nil
		}
		if a.Type == schema.Complex {
			return object{base: "r.doc", keys: keys, attr: a, name: name}, nil
		}
		return scalar{expr: c.b.D.Extract("r.doc", keys, a.Type), typ: a.Type, caseExact: a.CaseExact, name: name}, nil
	}
	return multi{base: "r.doc", keys: keys, attr: a, sub: sub, name: name}, nil
}

// valuePath compiles attr[filter]: some value of attr matches filter.
func (c *compiler) valuePath(v *filter.ValuePath, scope fieldFunc) (string, error) {
	if c.rt == nil {
		return "", invalid("value paths are not supported here")
	}
	if v.Path.Sub != "" {
		return "", invalid("value path %q names a sub-attribute", v.Path.String())
	}
	res, err := c.resolve(v.Path)
	if err != nil {
		if c.lenient && unknownAttr(err) {
			if c.missing == nil {
				c.missing = map[string]error{}
			}
			c.missing[strings.ToLower(v.Path.String())] = err
			return "1 = 0", nil
		}
		return "", err
	}
	a := res.Attr
	if a.Type != schema.Complex {
		return "", invalid("value filter on %s, which is not complex", v.Path.String())
	}
	// Group.members[…]: the membership table.
	if c.core(res, scimd.TypeGroup, "members") {
		tenant := c.b.Bind(c.b.Tenant)
		cond, err := c.expr(v.Filter, func(p filter.AttrPath) (field, error) {
			if p.URN != "" || p.Sub != "" {
				return nil, invalid("unknown member attribute %q", p.String())
			}
			s, err := memberScalar(a, p.Name)
			if err != nil {
				return nil, err
			}
			return s, nil
		})
		if err != nil {
			return "", err
		}
		return "r.id IN (SELECT m.group_id FROM memberships m WHERE m.tenant_id = " + tenant +
			" AND " + cond + ")", nil
	}
	// User.emails[…] over type and value only: the value index.
	if c.core(res, scimd.TypeUser, "emails") && onlySubs(v.Filter, a, indexedEmailSub) {
		tenant := c.b.Bind(c.b.Tenant)
		cond, err := c.expr(v.Filter, func(p filter.AttrPath) (field, error) {
			sub := a.Sub(p.Name)
			col := emailCol(sub)
			return scalar{expr: col, typ: schema.String, folded: true, trgm: col == "v.value_lc",
				name: v.Path.Name + "." + sub.Name}, nil
		})
		if err != nil {
			return "", err
		}
		return c.valueIndexTest(tenant, "'emails'", cond), nil
	}
	f, err := c.jsonField(res, v.Path.String())
	if err != nil {
		return "", err
	}
	elemScope := func(base string) fieldFunc {
		return func(p filter.AttrPath) (field, error) {
			if p.URN != "" || p.Sub != "" {
				return nil, invalid("unknown attribute %q in value filter of %s", p.String(), a.Name)
			}
			sub := a.Sub(p.Name)
			if sub == nil {
				return nil, &scimd.Error{Status: 400, ScimType: scimd.ScimTypeInvalidFilter,
					Detail: fmt.Sprintf("unknown attribute %q in value filter of %s", p.Name, a.Name), Err: errUnknown}
			}
			name := a.Name + "." + sub.Name
			if sub.MultiValued {
				return multi{base: base, keys: []string{sub.Name}, attr: sub, name: name}, nil
			}
			return scalar{expr: c.b.D.Extract(base, []string{sub.Name}, sub.Type), typ: sub.Type,
				caseExact: sub.CaseExact, name: name}, nil
		}
	}
	switch f := f.(type) {
	case multi:
		alias := c.nextAlias()
		cond, err := c.expr(v.Filter, elemScope(c.b.D.Elem(alias)))
		if err != nil {
			return "", err
		}
		return "EXISTS (SELECT 1 FROM " + c.b.D.Each(f.base, f.keys, alias) + " WHERE " + cond + ")", nil
	case object:
		// A singular complex attribute is treated as a one-element list.
		return c.expr(v.Filter, func(p filter.AttrPath) (field, error) {
			if p.URN != "" || p.Sub != "" {
				return nil, invalid("unknown attribute %q in value filter of %s", p.String(), a.Name)
			}
			sub := a.Sub(p.Name)
			if sub == nil {
				return nil, &scimd.Error{Status: 400, ScimType: scimd.ScimTypeInvalidFilter,
					Detail: fmt.Sprintf("unknown attribute %q in value filter of %s", p.Name, a.Name), Err: errUnknown}
			}
			return c.jsonField(schema.Resolved{Schema: res.Schema, Attr: a, Sub: sub}, a.Name+"."+sub.Name)
		})
	}
	return "", invalid("unsupported value filter on %s", v.Path.String())
}

// onlySubs reports whether every comparison in e names a sub-attribute of
// a accepted by ok.
func onlySubs(e filter.Expr, a *schema.Attribute, ok func(*schema.Attribute) bool) bool {
	switch e := e.(type) {
	case *filter.Logical:
		return e != nil && e.Left != nil && e.Right != nil && onlySubs(e.Left, a, ok) && onlySubs(e.Right, a, ok)
	case *filter.Not:
		return e != nil && e.X != nil && onlySubs(e.X, a, ok)
	case *filter.Compare:
		if e == nil || e.Path.URN != "" || e.Path.Sub != "" {
			return false
		}
		sub := a.Sub(e.Path.Name)
		return sub != nil && ok(sub)
	}
	return false
}

func (c *compiler) nextAlias() string {
	c.b.alias++
	return "e" + strconv.Itoa(c.b.alias)
}

// compile implements field: the predicate on one SQL value.
func (s scalar) compile(c *compiler, op filter.Op, v any) (string, error) {
	d := c.b.D
	if op == filter.OpPr {
		return s.presence(), nil
	}
	if v == nil {
		switch op {
		case filter.OpEq:
			return "NOT " + paren(scalar.presence(s)), nil
		case filter.OpNe:
			return scalar.presence(s), nil
		}
		return "", invalid("%s %s null is not supported", s.name, op)
	}
	switch s.typ {
	case schema.String, schema.Reference, schema.Binary:
		str, ok := v.(string)
		if !ok {
			return "", invalid("%s is a string; compared with %s", s.name, filter.FormatValue(v))
		}
		lhs := s.expr
		if !s.caseExact || s.folded {
			str = Fold(str)
			if !s.folded {
				lhs = d.Fold(lhs)
			}
		}
		switch op {
		case filter.OpEq:
			return lhs + " = " + c.b.Bind(str), nil
		case filter.OpNe:
			return "((" + lhs + " = " + c.b.Bind(str) + ") IS NOT TRUE)", nil
		case filter.OpCo, filter.OpSw, filter.OpEw:
			pat := escapeLike(str)
			if op != filter.OpSw {
				pat = "%" + pat
			}
			if op != filter.OpEw {
				pat += "%"
			}
			like := d.Like(lhs, c.b.Bind(pat))
			// The trigram index holds the column as stored: usable only
			// when the column is compared without folding it here, and
			// only for 3 characters or more (shorter strings have no
			// trigram). sw needs none: LIKE 'abc%' on these columns is a
			// range of their B-tree index.
			if s.trgm && op != filter.OpSw && lhs == s.expr && c.b.Driven == "" && utf8.RuneCountInString(str) >= 3 {
				if table, match := d.Substring(s.expr, str); table != "" {
					rowid := "r.seq"
					if strings.HasPrefix(s.expr, "v.") {
						rowid = "v.res_seq"
					}
					return "(" + like + " AND " + rowid + " IN (SELECT rowid FROM " + table + " WHERE " + table +
						" MATCH " + c.b.Bind(match) + "))", nil
				}
			}
			return like, nil
		}
		return compareOp(c, lhs, op, str, s.name)
	case schema.Boolean:
		bv, ok := boolValue(v)
		if !ok {
			return "", invalid("%s is a boolean; compared with %s", s.name, filter.FormatValue(v))
		}
		switch op {
		case filter.OpEq:
			return s.expr + " = " + c.b.Bind(bv), nil
		case filter.OpNe:
			return "((" + s.expr + " = " + c.b.Bind(bv) + ") IS NOT TRUE)", nil
		}
		return "", invalid("operator %s is not supported for boolean %s", op, s.name)
	case schema.Integer, schema.Decimal:
		switch v.(type) {
		case int64, float64:
		default:
			return "", invalid("%s is a number; compared with %s", s.name, filter.FormatValue(v))
		}
		if op == filter.OpNe {
			return "((" + s.expr + " = " + c.b.Bind(v) + ") IS NOT TRUE)", nil
		}
		return compareOp(c, s.expr, op, v, s.name)
	case schema.DateTime:
		str, ok := v.(string)
		if !ok {
			return "", invalid("%s is a dateTime; compared with %s", s.name, filter.FormatValue(v))
		}
		// RFC 3339 §5.6 allows lower-case "t" and "z".
		t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(str))
		if err != nil {
			return "", invalid("%s is a dateTime; %q is not an RFC 3339 date-time", s.name, str)
		}
		lhs, ph := s.expr, ""
		if s.timeCol {
			ph = c.b.Bind(t)
		} else {
			lhs = d.DateTime(lhs)
			ph = d.DateTime(c.b.Bind(t.UTC().Format(time.RFC3339Nano)))
		}
		if op == filter.OpNe {
			return "((" + lhs + " = " + ph + ") IS NOT TRUE)", nil
		}
		return compareWith(lhs, op, ph, s.name)
	}
	return "", invalid("filtering on %s (%s) is not supported", s.name, s.typ)
}

func (s scalar) presence() string {
	if isStringy(s.typ) && !s.timeCol { // a time column holds no empty text
		return "(" + s.expr + " IS NOT NULL AND " + s.expr + " <> '')"
	}
	return s.expr + " IS NOT NULL"
}

func paren(s string) string { return "(" + s + ")" }

func isStringy(t schema.Type) bool {
	return t == schema.String || t == schema.Reference || t == schema.Binary || t == schema.DateTime
}

func compareOp(c *compiler, lhs string, op filter.Op, v any, name string) (string, error) {
	return compareWith(lhs, op, c.b.Bind(v), name)
}

func compareWith(lhs string, op filter.Op, ph, name string) (string, error) {
	switch op {
	case filter.OpEq:
		return lhs + " = " + ph, nil
	case filter.OpGt:
		return lhs + " > " + ph, nil
	case filter.OpGe:
		return lhs + " >= " + ph, nil
	case filter.OpLt:
		return lhs + " < " + ph, nil
	case filter.OpLe:
		return lhs + " <= " + ph, nil
	}
	return "", invalid("operator %q is not supported for %s", string(op), name)
}

func boolValue(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(v) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// escapeLike escapes LIKE wildcards with '\'.
func escapeLike(s string) string {
	if !strings.ContainsAny(s, `\%_`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == '\\' || r == '%' || r == '_' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// object is a singular complex attribute named without a sub-attribute.
type object struct {
	base string
	keys []string
	attr *schema.Attribute
	name string
}

func (o object) compile(c *compiler, op filter.Op, v any) (string, error) {
	pr := c.b.D.IsObject(o.base, o.keys)
	switch {
	case op == filter.OpPr:
		return pr, nil
	case v == nil && op == filter.OpEq:
		return "((" + pr + ") IS NOT TRUE)", nil
	case v == nil && op == filter.OpNe:
		return pr, nil
	}
	if sub := o.attr.Sub("value"); sub != nil {
		return scalar{expr: c.b.D.Extract(o.base, append(o.keys, sub.Name), sub.Type), typ: sub.Type,
			caseExact: sub.CaseExact, name: o.name}.compile(c, op, v)
	}
	return "", invalid("%s is complex; name a sub-attribute", o.name)
}

// multi is a multi-valued attribute in JSON (of simple values, or of
// complex values narrowed to sub).
type multi struct {
	base string
	keys []string
	attr *schema.Attribute
	sub  *schema.Attribute
	name string
}

func (m multi) compile(c *compiler, op filter.Op, v any) (string, error) {
	sub := m.sub
	if sub == nil && m.attr.Type == schema.Complex && op != filter.OpPr {
		sub = m.attr.Sub("value")
		if sub == nil {
			return "", invalid("%s is complex; name a sub-attribute", m.name)
		}
	}
	// "ne" and "eq null" negate "some value matches".
	op, neg := positive(op, v)
	alias := c.nextAlias()
	elem := c.b.D.Elem(alias)
	var cond string
	var err error
	switch {
	case sub != nil:
		cond, err = scalar{expr: c.b.D.Extract(elem, []string{sub.Name}, sub.Type), typ: sub.Type,
			caseExact: sub.CaseExact, name: m.name}.compile(c, op, v)
	case m.attr.Type == schema.Complex: // pr on the whole attribute
		cond = c.b.D.IsObject(elem, nil)
	default:
		cond, err = scalar{expr: c.b.D.Extract(elem, nil, m.attr.Type), typ: m.attr.Type,
			caseExact: m.attr.CaseExact, name: m.name}.compile(c, op, v)
	}
	if err != nil {
		return "", err
	}
	s := "EXISTS (SELECT 1 FROM " + c.b.D.Each(m.base, m.keys, alias) + " WHERE " + cond + ")"
	if neg {
		s = "NOT " + s
	}
	return s, nil
}

// valueIndex is a sub-attribute of emails served by the value index.
type valueIndex struct {
	attr string
	col  string
	name string
}

func (f valueIndex) compile(c *compiler, op filter.Op, v any) (string, error) {
	op, neg := positive(op, v)
	tenant := c.b.Bind(c.b.Tenant)
	cond, err := scalar{expr: f.col, typ: schema.String, folded: true, trgm: f.col == "v.value_lc", name: f.name}.compile(c, op, v)
	if err != nil {
		return "", err
	}
	s := c.valueIndexTest(tenant, c.b.D.Quote(f.attr), cond)
	if neg {
		s = "NOT " + s
	}
	return s, nil
}

// modifiedIndex is meta.lastModified where the dialect indexes it in a
// side table (Dialect.ModifiedIndex): a comparison selects the resources
// through that table's (tenant_id, last_modified) index. scalar is
// r.last_modified itself, which sorting and presence use.
type modifiedIndex struct {
	scalar
	index ModifiedIndex
}

func (f modifiedIndex) compile(c *compiler, op filter.Op, v any) (string, error) {
	pos, neg := positive(op, v)
	if pos == filter.OpPr || c.b.Driven != "" || neg || c.negated > 0 {
		// Presence needs no index (every resource has a lastModified);
		// a driven test reads r's own row; so does a comparison under a
		// negation, whose matches no index finds (through the side table
		// the database would collect every row the comparison holds for,
		// up front, to exclude them).
		return f.scalar.compile(c, op, v)
	}
	tenant := c.b.Bind(c.b.Tenant)
	lm := f.scalar
	lm.expr = "lm.last_modified"
	cond, err := lm.compile(c, pos, v)
	if err != nil {
		return "", err
	}
	typ := ""
	if f.index.Type && c.rt != nil {
		typ = " AND lm.type = " + c.b.D.Quote(c.rt.Name)
	}
	s := "r.seq IN (SELECT lm.res_seq FROM " + f.index.Table + " lm WHERE lm.tenant_id = " + tenant + typ + " AND " + cond + ")"
	if f.index.Log {
		// The log may list superseded versions: test the current one.
		own, err := f.scalar.compile(c, pos, v)
		if err != nil {
			return "", err
		}
		s = "(" + s + " AND " + own + ")"
	}
	c.b.Modified = true
	return s, nil
}

// ModifiedOnly compiles e, a filter on resources of type rt, into a
// condition on col alone, the last_modified column of a row of the
// dialect's ModifiedIndex table (e.g. "lm.last_modified"), when every
// comparison in e is on meta.lastModified, joined by and, or and not; ok
// is false otherwise (nothing is bound then). The condition holds for a
// row exactly when e holds for a resource whose lastModified is the
// row's: where the table holds exactly one row per resource (a log with
// no stale rows), a store can count and page e's matches from the table
// alone, without reading a resource.
func (b *Builder) ModifiedOnly(rt *schema.ResourceType, e filter.Expr, col string) (cond string, ok bool, err error) {
	if rt == nil || e == nil || b.D.ModifiedIndex().Table == "" || !onlyModified(&compiler{b: &Builder{D: b.D}, rt: rt}, e) {
		return "", false, nil
	}
	c := &compiler{b: b, rt: rt}
	cond, err = c.expr(e, func(p filter.AttrPath) (field, error) {
		return scalar{expr: col, typ: schema.DateTime, timeCol: true, name: p.String()}, nil
	})
	if err != nil {
		return "", false, err
	}
	return cond, true, nil
}

// onlyModified reports whether every comparison in e is on
// meta.lastModified and e has nothing but comparisons, and, or and not.
func onlyModified(c *compiler, e filter.Expr) bool {
	switch e := e.(type) {
	case *filter.Logical:
		return e != nil && e.Left != nil && e.Right != nil && onlyModified(c, e.Left) && onlyModified(c, e.Right)
	case *filter.Not:
		return e != nil && e.X != nil && onlyModified(c, e.X)
	case *filter.Compare:
		if e == nil {
			return false
		}
		f, err := c.resourceField(e.Path)
		_, ok := f.(modifiedIndex)
		return err == nil && ok
	}
	return false
}

// valueIndexTest returns the test "some value index row of r for attr
// satisfies cond": a set of resources read through the index, or, when
// Driven, a lookup of r's own rows.
func (c *compiler) valueIndexTest(tenant, attr, cond string) string {
	if c.b.Driven != "" {
		return "EXISTS (SELECT 1 FROM value_index v WHERE v.tenant_id = " + tenant +
			" AND v.res_seq = " + c.b.Driven + " AND v.attr = " + attr + " AND " + cond + ")"
	}
	return "r.seq IN (SELECT v.res_seq FROM value_index v WHERE v.tenant_id = " + tenant +
		" AND v.attr = " + attr + " AND " + cond + ")"
}

// Driver returns the substring index that can drive a list of rt filtered
// by e, in creation order: e must be one co or ew comparison of 3
// characters or more on an attribute with a substring index
// (Dialect.Substring), or an emails value filter requiring one of its
// values to contain such a string. Every match of e is then a row of
// table selected by "table MATCH match", whose rowid is the resource's
// seq: a store may iterate those rows in rowid order, join resources r on
// seq, and test e compiled with Driven set to the rowid, reading only as many rows as
// a page needs when matches are dense, and only the index's candidates
// when they are rare. ok is false otherwise.
func (b *Builder) Driver(rt *schema.ResourceType, e filter.Expr) (table, match string, ok bool) {
	if rt == nil || e == nil {
		return "", "", false
	}
	c := &compiler{b: &Builder{D: b.D}, rt: rt}
	sub := func(f field, op filter.Op, v any) (string, string, bool) {
		str, isStr := v.(string)
		if !isStr || (op != filter.OpCo && op != filter.OpEw) || utf8.RuneCountInString(str) < 3 {
			return "", "", false
		}
		var s scalar
		switch f := f.(type) {
		case scalar:
			s = f
		case valueIndex:
			s = scalar{expr: f.col, folded: true, trgm: f.col == "v.value_lc"}
		default:
			return "", "", false
		}
		if !s.trgm || s.typ != schema.String && s.typ != "" {
			return "", "", false
		}
		switch {
		case s.folded:
			str = Fold(str)
		case !s.caseExact:
			return "", "", false // folded in SQL: the index holds the raw text
		}
		t, m := b.D.Substring(s.expr, str)
		return t, m, t != ""
	}
	switch e := e.(type) {
	case *filter.Compare:
		if e == nil {
			return "", "", false
		}
		f, err := c.resourceField(e.Path)
		if err != nil {
			return "", "", false
		}
		return sub(f, e.Op, e.Value)
	case *filter.ValuePath:
		if e == nil || e.Filter == nil || e.Path.Sub != "" {
			return "", "", false
		}
		res, err := c.resolve(e.Path)
		if err != nil || !c.core(res, scimd.TypeUser, "emails") || !onlySubs(e.Filter, res.Attr, indexedEmailSub) {
			return "", "", false
		}
		// Some conjunct of the value filter must be value co/ew.
		var find func(x filter.Expr) (string, string, bool)
		find = func(x filter.Expr) (string, string, bool) {
			switch x := x.(type) {
			case *filter.Logical:
				if !x.And {
					return "", "", false
				}
				if t, m, ok := find(x.Left); ok {
					return t, m, ok
				}
				return find(x.Right)
			case *filter.Compare:
				if !strings.EqualFold(x.Path.Name, "value") {
					return "", "", false
				}
				return sub(valueIndex{attr: "emails", col: "v.value_lc"}, x.Op, x.Value)
			}
			return "", "", false
		}
		return find(e.Filter)
	}
	return "", "", false
}

// membership is members.<sub> of a Group.
type membership struct{ sub scalar }

func (f membership) compile(c *compiler, op filter.Op, v any) (string, error) {
	op, neg := positive(op, v)
	tenant := c.b.Bind(c.b.Tenant)
	cond, err := f.sub.compile(c, op, v)
	if err != nil {
		return "", err
	}
	s := "r.id IN (SELECT m.group_id FROM memberships m WHERE m.tenant_id = " + tenant + " AND " + cond + ")"
	if neg {
		s = "NOT " + s
	}
	return s, nil
}

// memberPresence is "members pr" on a Group.
type memberPresence struct {
	attr *schema.Attribute
	name string
}

func (f memberPresence) compile(c *compiler, op filter.Op, v any) (string, error) {
	switch {
	case op == filter.OpPr, op == filter.OpNe && v == nil:
		return "r.member_count > 0", nil
	case op == filter.OpEq && v == nil:
		return "r.member_count = 0", nil
	}
	// "members eq x" means members.value eq x.
	s, _ := memberScalar(f.attr, "value")
	return membership{sub: s}.compile(c, op, v)
}

// groupsOf is groups.<sub> of a User: the groups the user is a member of.
type groupsOf struct {
	join bool
	sub  scalar
}

func (f groupsOf) compile(c *compiler, op filter.Op, v any) (string, error) {
	op, neg := positive(op, v)
	tenant := c.b.Bind(c.b.Tenant)
	cond, err := f.sub.compile(c, op, v)
	if err != nil {
		return "", err
	}
	from := "memberships m"
	if f.join {
		from += " JOIN resources g ON g.tenant_id = m.tenant_id AND g.type = 'Group' AND g.id = m.group_id"
	}
	s := "r.id IN (SELECT m.member_id FROM " + from + " WHERE m.tenant_id = " + tenant + " AND " + cond + ")"
	if neg {
		s = "NOT " + s
	}
	return s, nil
}

// groupsPresence is "groups pr" on a User.
type groupsPresence struct{ name string }

func (f groupsPresence) compile(c *compiler, op filter.Op, v any) (string, error) {
	exists := func() string {
		return "EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = " + c.b.Bind(c.b.Tenant) + " AND m.member_id = r.id)"
	}
	switch {
	case op == filter.OpPr, op == filter.OpNe && v == nil:
		return exists(), nil
	case op == filter.OpEq && v == nil:
		return "NOT " + exists(), nil
	}
	return groupsOf{sub: scalar{expr: "m.group_id", typ: schema.String, folded: true, name: f.name}}.compile(c, op, v)
}

// positive rewrites a comparison on "some value" of a multi-valued
// attribute into a positive one and whether to negate it: "ne x" is
// not (eq x), "eq null" is not (pr), "ne null" is pr.
func positive(op filter.Op, v any) (filter.Op, bool) {
	switch {
	case op == filter.OpNe && v != nil:
		return filter.OpEq, true
	case op == filter.OpEq && v == nil:
		return filter.OpPr, true
	case op == filter.OpNe && v == nil:
		return filter.OpPr, false
	}
	return op, false
}
