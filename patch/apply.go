package patch

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
)

// Options holds per-tenant compatibility switches for Apply. The zero value
// follows RFC 7644 §3.5.2 plus the IdP tolerances that never contradict it
// (case-insensitive names, string booleans, create-on-absent for add, no-path
// values with dotted and URN keys, Entra's remove with a value list).
type Options struct {
	// MemberReplaceAdds makes a replace of "members" (with path "members"
	// or as a no-path value key) add the listed members instead of
	// replacing the whole membership. Entra has been seen sending a partial
	// list in a replace while meaning an addition (wire notes §3.4); RFC
	// semantics would remove every member not listed. Callers that turn
	// this on should log when it takes effect.
	MemberReplaceAdds bool

	// StrictReplace makes a replace whose value path (emails[type eq
	// "work"].value) matches no value fail with noTarget, as RFC 7644
	// §3.5.2.3 says. By default, when the filter is a conjunction of "eq"
	// comparisons, the value is created from them instead, as for add
	// (Entra create-on-absent, wire notes §3.4).
	StrictReplace bool
}

// Apply is like the package-level Apply, with the compatibility switches of o.
func (o Options) Apply(rt *schema.ResourceType, r *scimd.Resource, ops []Operation) ([]scimd.MemberOp, error) {
	if rt == nil || r == nil {
		return nil, errors.New("patch: Apply needs a resource type and a resource")
	}
	if r.Attrs == nil {
		r.Attrs = map[string]any{}
	}
	a := &applier{opt: o, rt: rt, r: r}
	for i, op := range ops {
		if err := a.apply(op); err != nil {
			return nil, opError(i, op, err)
		}
	}
	return a.members, nil
}

// applier carries the state of one Apply call.
type applier struct {
	opt     Options
	rt      *schema.ResourceType
	r       *scimd.Resource
	members []scimd.MemberOp
}

// opError prefixes a client error's detail with the operation it came from.
func opError(i int, op Operation, err error) error {
	e, ok := scimd.AsError(err)
	if !ok {
		return err
	}
	what := op.Op
	if op.Path != nil {
		what += " " + truncate(op.Path.String())
	}
	c := *e
	c.Detail = "Operations[" + strconv.Itoa(i) + "] (" + what + "): " + e.Detail
	return &c
}

func (a *applier) apply(op Operation) error {
	var kind string
	switch {
	case strings.EqualFold(op.Op, OpAdd):
		kind = OpAdd
	case strings.EqualFold(op.Op, OpReplace):
		kind = OpReplace
	case strings.EqualFold(op.Op, OpRemove):
		kind = OpRemove
	default:
		return scimd.BadRequest(scimd.ScimTypeInvalidSyntax, `unknown op %q (want "add", "remove" or "replace")`, truncate(op.Op))
	}
	if op.Path == nil {
		if kind == OpRemove {
			return scimd.BadRequest(scimd.ScimTypeNoTarget, `remove needs a "path" naming what to remove`)
		}
		return a.noPath(kind, op.Value)
	}
	return a.path(kind, *op.Path, op.Value, false)
}

// noPath applies an add or replace without a path: value is an object whose
// keys are attribute names, dotted or URN-qualified attribute paths, or
// schema URNs whose values hold attributes of that schema.
func (a *applier) noPath(kind string, value any) error {
	obj, ok := value.(map[string]any)
	if !ok {
		return scimd.BadRequest(scimd.ScimTypeInvalidValue, "an operation without a path needs an object of attributes as its value, not %s", jsonKind(value))
	}
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		if strings.EqualFold(k, "schemas") {
			continue // the client's idea of the schemas; Validate recomputes them
		}
		if s := a.schemaNamed(k); s != nil {
			if err := a.schemaValue(kind, s, v); err != nil {
				return err
			}
			continue
		}
		p, err := keyPath(k)
		if err != nil {
			return err
		}
		if err := a.path(kind, p, v, true); err != nil {
			return err
		}
	}
	return nil
}

// schemaNamed returns the core or extension schema of the resource type
// whose URN is k, or nil.
func (a *applier) schemaNamed(k string) *schema.Schema {
	if !strings.HasPrefix(strings.ToLower(k), "urn:") {
		return nil
	}
	if strings.EqualFold(k, a.rt.Schema.ID) {
		return a.rt.Schema
	}
	if e := a.rt.Extension(k); e != nil {
		return e.Schema
	}
	return nil
}

// schemaValue applies an add or replace of an object holding attributes of
// schema s (a no-path key or a path naming a whole extension). Like no-path
// values, readOnly attributes in it are ignored.
func (a *applier) schemaValue(kind string, s *schema.Schema, v any) error {
	if v == nil {
		return nil // nothing to add; a null extension never clears one
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return scimd.BadRequest(scimd.ScimTypeInvalidValue, "the value for schema %q must be an object of its attributes, not %s", s.ID, jsonKind(v))
	}
	for _, k := range sortedKeys(obj) {
		name, sub, _ := strings.Cut(k, ".")
		if name == "" {
			return scimd.BadRequest(scimd.ScimTypeInvalidPath, "the value for schema %q has the key %q, which names no attribute", s.ID, truncate(k))
		}
		p := filter.Path{Attr: filter.AttrPath{URN: s.ID, Name: name, Sub: sub}}
		if err := a.path(kind, p, obj[k], true); err != nil {
			return err
		}
	}
	return nil
}

// keyPath parses a key of a no-path value as an attribute path.
func keyPath(k string) (filter.Path, error) {
	if simpleName(k) {
		return filter.Path{Attr: filter.AttrPath{Name: k}}, nil
	}
	p, err := filter.ParsePath(k)
	if err != nil {
		return filter.Path{}, scimd.BadRequest(scimd.ScimTypeInvalidPath, "the key %q of the value is not an attribute path: %s", truncate(k), err.Error())
	}
	return p, nil
}

// simpleName reports whether k is a plain attribute name, which needs no
// parsing.
func simpleName(k string) bool {
	if k == "" || !isLetter(k[0]) {
		return false
	}
	for i := 1; i < len(k); i++ {
		c := k[i]
		if !isLetter(c) && !('0' <= c && c <= '9') && c != '_' && c != '-' && c != '$' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '$' }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) > 1 {
		// Case-insensitive order puts "name" before "name.givenName", so a
		// dotted key refines a complex value given in the same object.
		slices.SortFunc(keys, func(x, y string) int {
			if c := strings.Compare(strings.ToLower(x), strings.ToLower(y)); c != 0 {
				return c
			}
			return strings.Compare(x, y)
		})
	}
	return keys
}

// target is a resolved operation target.
type target struct {
	key  string            // "" for core and common attributes, else the extension URN
	attr *schema.Attribute // the top-level attribute
	sub  *schema.Attribute // the sub-attribute, or nil
	f    filter.Expr       // the value filter, or nil
}

// path applies one operation with a path. inValue is true for keys of a
// no-path value (or of an extension object), where readOnly attributes are
// ignored rather than rejected.
func (a *applier) path(kind string, p filter.Path, value any, inValue bool) error {
	res, err := a.rt.Resolve(p.Attr)
	if err != nil {
		return err
	}
	if res.Attr == nil { // the path names a whole schema
		if p.Filter != nil || p.Sub != "" {
			return scimd.BadRequest(scimd.ScimTypeInvalidPath, "a schema URN cannot carry a filter or sub-attribute")
		}
		if kind == OpRemove {
			if res.Schema == a.rt.Schema {
				return scimd.BadRequest(scimd.ScimTypeInvalidPath, "the core schema %q cannot be removed", res.Schema.ID)
			}
			delete(a.r.Attrs, res.Schema.ID)
			return nil
		}
		return a.schemaValue(kind, res.Schema, value)
	}
	if res.Schema != nil && res.Key(a.rt) == "" && strings.EqualFold(a.rt.Name, scimd.TypeGroup) && res.Attr.Name == "members" {
		return a.memberOp(kind, p, res, value)
	}
	t := target{key: res.Key(a.rt), attr: res.Attr, sub: res.Sub, f: p.Filter}
	if p.Filter != nil && p.Sub != "" {
		sres, err := a.rt.Resolve(filter.AttrPath{URN: p.Attr.URN, Name: p.Attr.Name, Sub: p.Sub})
		if err != nil {
			return err
		}
		t.sub = sres.Sub
	}

	// Mutability.
	if t.attr.Mutability == schema.ReadOnly || (t.sub != nil && t.sub.Mutability == schema.ReadOnly) {
		if !inValue {
			return scimd.BadRequest(scimd.ScimTypeMutability, "attribute %q is readOnly", pathName(t))
		}
		if res.Schema == nil && t.attr.Name == "id" && t.sub == nil && t.f == nil {
			// Okta's group rename carries the resource's own id.
			if s, ok := value.(string); value != nil && (!ok || s != a.r.ID) {
				return scimd.BadRequest(scimd.ScimTypeMutability, "the value's \"id\" %s does not match the resource's id; ids cannot be changed", quoteValue(value))
			}
		}
		return nil
	}
	var old any
	immutable := t.attr.Mutability == schema.Immutable
	if immutable {
		old = cloneJSON(a.get(t))
	}

	switch {
	case t.f != nil:
		err = a.valuePath(kind, t, value)
	case t.sub != nil:
		err = a.subPath(kind, t, value)
	default:
		err = a.plain(kind, t, value)
	}
	if err != nil {
		return err
	}
	a.tidy(t)
	if immutable && old != nil && !equalValue(t.attr, old, a.get(t)) {
		return scimd.BadRequest(scimd.ScimTypeMutability, "attribute %q is immutable and already has a value", pathName(t))
	}
	return nil
}

// pathName renders a target's attribute for error details.
func pathName(t target) string {
	s := t.attr.Name
	if t.key != "" {
		s = t.key + ":" + s
	}
	if t.sub != nil {
		s += "." + t.sub.Name
	}
	return s
}

// container returns the map holding the target's attribute: r.Attrs or the
// extension's object, created when create is set (else possibly nil).
func (a *applier) container(key string, create bool) map[string]any {
	if key == "" {
		return a.r.Attrs
	}
	m, _ := a.r.Attrs[key].(map[string]any)
	if m == nil && create {
		m = map[string]any{}
		a.r.Attrs[key] = m
	}
	return m
}

func (a *applier) get(t target) any {
	if c := a.container(t.key, false); c != nil {
		return c[t.attr.Name]
	}
	return nil
}

func (a *applier) set(t target, v any) {
	if v == nil {
		if c := a.container(t.key, false); c != nil {
			delete(c, t.attr.Name)
		}
		return
	}
	a.container(t.key, true)[t.attr.Name] = v
}

// tidy drops the target's attribute when it became unassigned (an empty
// object or list) and an extension object when it became empty.
func (a *applier) tidy(t target) {
	c := a.container(t.key, false)
	if c == nil {
		return
	}
	if isEmpty(c[t.attr.Name]) {
		delete(c, t.attr.Name)
	}
	if t.key != "" && len(c) == 0 {
		delete(a.r.Attrs, t.key)
	}
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}
