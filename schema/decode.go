package schema

import (
	"errors"
	"fmt"
	"strings"

	"github.com/scimd/scimd"
)

// Decode canonicalises a client-supplied resource body (POST or PUT):
// attribute names to their declared case, values coerced to declared types
// ("True"/"false" strings to booleans, a bare string for a complex attribute
// with a "value" sub-attribute such as Entra's manager, single values for
// multi-valued attributes wrapped in a list), readOnly attributes dropped (id,
// meta, groups, …), unknown attributes and unknown extension URNs dropped,
// null / [] / {} dropped (unassigned), extension attributes nested under
// their URN key. Group "members" are moved out of Attrs into Members, which
// is non-nil (possibly empty) exactly when the body has a "members" key.
// Wrong types give BadRequest(invalidValue) naming the attribute; a body
// whose "schemas" lacks the core schema gives BadRequest(invalidValue).
// Required attributes are not checked here (see Validate).
//
// Attribute names may also be URN-qualified
// ("urn:ietf:params:scim:schemas:core:2.0:User:userName"). "schemas" may be
// absent; the SCIM 1.1 core URN is accepted as the core schema.
func (rt *ResourceType) Decode(body map[string]any) (*scimd.Resource, error) {
	r := &scimd.Resource{Type: rt.Name, Attrs: make(map[string]any, len(body))}
	d := decoder{rt: rt, r: r}
	for k, v := range body {
		if strings.EqualFold(k, "schemas") {
			if err := rt.checkSchemas(v); err != nil {
				return nil, err
			}
			continue
		}
		if err := d.key(k, v); err != nil {
			return nil, err
		}
	}
	return r, nil
}

type decoder struct {
	rt *ResourceType
	r  *scimd.Resource
}

// key decodes one top-level body member.
func (d *decoder) key(k string, v any) error {
	rt := d.rt
	if a := find(CommonAttributes, k); a != nil {
		return d.attr(nil, a, v)
	}
	if a := rt.Schema.Attr(k); a != nil {
		return d.attr(rt.Schema, a, v)
	}
	if strings.IndexByte(k, ':') < 0 {
		return nil // unknown attribute: ignored
	}
	if s := rt.schemaByURN(k); s != nil {
		// An extension object (or, unusually, the core attributes nested
		// under the core URN).
		if v == nil {
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return invalid(s.ID, "a schema extension must be a JSON object, got %s", kindOf(v))
		}
		for sk, sv := range m {
			if a := s.Attr(sk); a != nil {
				if err := d.attr(s, a, sv); err != nil {
					return err
				}
			} else if s == rt.Schema {
				if a := find(CommonAttributes, sk); a != nil {
					if err := d.attr(nil, a, sv); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	// A URN-qualified attribute name: "<schema URN>:<attribute>".
	i := strings.LastIndexByte(k, ':')
	if s := rt.schemaByURN(k[:i]); s != nil {
		if a := s.Attr(k[i+1:]); a != nil {
			return d.attr(s, a, v)
		}
		if s == rt.Schema {
			if a := find(CommonAttributes, k[i+1:]); a != nil {
				return d.attr(nil, a, v)
			}
		}
	}
	return nil // unknown schema or attribute: ignored
}

// attr decodes the value v of attribute a of schema s (nil for common
// attributes) into the resource.
func (d *decoder) attr(s *Schema, a *Attribute, v any) error {
	if a.Mutability == ReadOnly {
		return nil // id, meta, groups…: server-maintained, ignored
	}
	rt := d.rt
	var at loc
	if s != nil && s != rt.Schema {
		at.prefix = s.ID + ":"
	}
	if s == rt.Schema && a.Name == "members" && isGroup(rt) {
		c, err := coerce(a, at, v)
		if err != nil {
			return err
		}
		if d.r.Members != nil && c != nil {
			return invalid(a.Name, "is given twice with different letter case")
		}
		d.r.Members = toMembers(c)
		return nil
	}
	c, err := coerce(a, at, v)
	if err != nil || c == nil {
		return err
	}
	attrs := d.r.Attrs
	if s != nil && s != rt.Schema {
		m, _ := attrs[s.ID].(map[string]any)
		if m == nil {
			m = make(map[string]any)
			attrs[s.ID] = m
		}
		attrs = m
	}
	if _, dup := attrs[a.Name]; dup {
		return invalid(at.path(a), "is given twice (names differ only in letter case or URN qualification)")
	}
	attrs[a.Name] = c
	return nil
}

// isGroup reports whether rt's core schema is the Group schema, whose
// members live in Resource.Members.
func isGroup(rt *ResourceType) bool { return strings.EqualFold(rt.Schema.ID, URNGroup) }

// toMembers converts a coerced "members" value to Members: never nil.
func toMembers(v any) []scimd.Member {
	list, _ := v.([]any)
	ms := make([]scimd.Member, 0, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		var mem scimd.Member
		mem.Value, _ = m["value"].(string)
		mem.Display, _ = m["display"].(string)
		t, _ := m["type"].(string)
		switch {
		case strings.EqualFold(t, scimd.TypeUser):
			mem.Type = scimd.TypeUser
		case strings.EqualFold(t, scimd.TypeGroup):
			mem.Type = scimd.TypeGroup
		}
		// Other types are left for the store to derive.
		ms = append(ms, mem)
	}
	return ms
}

// checkSchemas checks a body's "schemas": it must name the core schema (or
// its SCIM 1.1 alias) when present and non-empty; other URNs are tolerated.
func (rt *ResourceType) checkSchemas(v any) error {
	var list []any
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		list = []any{x}
	case []string:
		for _, s := range x {
			list = append(list, s)
		}
	case []any:
		list = x
	default:
		return scimd.BadRequest(scimd.ScimTypeInvalidValue,
			"\"schemas\" must be an array of schema URNs including %q, got %s", rt.Schema.ID, kindOf(v))
	}
	if len(list) == 0 {
		return nil
	}
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return scimd.BadRequest(scimd.ScimTypeInvalidValue,
				"\"schemas\" must be an array of schema URN strings, found %s", kindOf(e))
		}
		if strings.EqualFold(s, rt.Schema.ID) || strings.EqualFold(s, URNCoreV1) {
			return nil
		}
	}
	return scimd.BadRequest(scimd.ScimTypeInvalidValue,
		"\"schemas\" must include %q for a %s resource", rt.Schema.ID, rt.Name)
}

// Validate checks a resource about to be stored: required attributes present
// (BadRequest invalidValue), required sub-attributes present in every value
// (including each Group member's value), at most one primary=true per
// multi-valued attribute (invalidValue), immutable attributes unchanged from
// old when old had a value (BadRequest mutability; old is nil on create). It
// also sets r.Schemas canonically: the core URN, then each extension URN that
// has a value in r.Attrs. Extension keys of r.Attrs are put in their declared
// case; empty extension objects are removed.
func (rt *ResourceType) Validate(r *scimd.Resource, old *scimd.Resource) error {
	if r == nil {
		return errors.New("schema: Validate of a nil resource")
	}
	if r.Attrs == nil {
		r.Attrs = make(map[string]any)
	}
	rt.canonicalExtensionKeys(r.Attrs)
	var oldAttrs map[string]any
	if old != nil {
		oldAttrs = old.Attrs
	}
	if err := validateAttrs(rt, nil, CommonAttributes, r.Attrs, oldAttrs); err != nil {
		return err
	}
	if err := validateAttrs(rt, rt.Schema, rt.Schema.Attributes, r.Attrs, oldAttrs); err != nil {
		return err
	}
	schemas := []string{rt.Schema.ID}
	for _, ext := range rt.Extensions {
		id := ext.Schema.ID
		m, _ := r.Attrs[id].(map[string]any)
		if len(m) == 0 {
			delete(r.Attrs, id)
			if ext.Required {
				return scimd.BadRequest(scimd.ScimTypeInvalidValue,
					"schema extension %q is required for a %s resource", id, rt.Name)
			}
		}
		oldExt, _ := oldAttrs[id].(map[string]any)
		if len(m) == 0 && len(oldExt) == 0 {
			continue
		}
		if m == nil {
			m = map[string]any{} // so immutable attributes removed with the extension are caught
		}
		if err := validateAttrs(rt, ext.Schema, ext.Schema.Attributes, m, oldExt); err != nil {
			return err
		}
		if len(m) > 0 {
			schemas = append(schemas, id)
		}
	}
	if isGroup(rt) {
		for i, m := range r.Members {
			if m.Value == "" {
				return scimd.BadRequest(scimd.ScimTypeInvalidValue,
					"attribute \"members.value\" is required: member %d has no id of a User or Group", i+1)
			}
		}
	}
	r.Schemas = schemas
	return nil
}

// canonicalExtensionKeys renames extension keys of attrs written in another
// letter case to the declared URN, merging objects if both are present.
func (rt *ResourceType) canonicalExtensionKeys(attrs map[string]any) {
	for k, v := range attrs {
		if strings.IndexByte(k, ':') < 0 {
			continue
		}
		e := rt.Extension(k)
		if e == nil || e.Schema.ID == k {
			continue
		}
		delete(attrs, k)
		src, _ := v.(map[string]any)
		dst, _ := attrs[e.Schema.ID].(map[string]any)
		if dst == nil {
			attrs[e.Schema.ID] = src
			continue
		}
		for sk, sv := range src {
			if _, ok := dst[sk]; !ok {
				dst[sk] = sv
			}
		}
	}
}

// validateAttrs validates the attributes attrs of schema s against old.
func validateAttrs(rt *ResourceType, s *Schema, defs []*Attribute, attrs, old map[string]any) error {
	for _, a := range defs {
		v := attrs[a.Name]
		if a.Required && a.Mutability != ReadOnly && isEmpty(v) && !(isGroup(rt) && a.Name == "members" && s == rt.Schema) {
			return scimd.BadRequest(scimd.ScimTypeInvalidValue, "attribute %q is required", pathName(s, rt, a, nil))
		}
		if a.Type == Complex && !isEmpty(v) {
			if err := validateComplex(a, s, rt, v); err != nil {
				return err
			}
		}
		if old == nil {
			continue
		}
		ov := old[a.Name]
		if a.Mutability == Immutable && !isEmpty(ov) && !equalValue(a, ov, v) {
			return scimd.BadRequest(scimd.ScimTypeMutability,
				"attribute %q is immutable: it already has a value and cannot be changed or removed", pathName(s, rt, a, nil))
		}
		if a.Type == Complex && !a.MultiValued && a.Mutability != ReadOnly {
			om, _ := ov.(map[string]any)
			nm, _ := v.(map[string]any)
			for _, sub := range a.SubAttributes {
				if sub.Mutability == Immutable && !isEmpty(om[sub.Name]) && !equalValue(sub, om[sub.Name], nm[sub.Name]) {
					return scimd.BadRequest(scimd.ScimTypeMutability,
						"attribute %q is immutable: it already has a value and cannot be changed or removed",
						pathName(s, rt, a, sub))
				}
			}
		}
	}
	return nil
}

// validateComplex checks required sub-attributes and "primary" of a complex
// attribute's value.
func validateComplex(a *Attribute, s *Schema, rt *ResourceType, v any) error {
	elems, isList := v.([]any)
	if !isList {
		elems = []any{v}
	}
	primaries := 0
	for i, e := range elems {
		m, ok := e.(map[string]any)
		if !ok {
			return invalid(pathName(s, rt, a, nil), "value %d must be a JSON object, got %s", i+1, kindOf(e))
		}
		if m["primary"] == true {
			primaries++
		}
		for _, sub := range a.SubAttributes {
			if sub.Required && isEmpty(m[sub.Name]) {
				where := ""
				if isList {
					where = fmt.Sprintf(" (missing in value %d)", i+1)
				}
				return scimd.BadRequest(scimd.ScimTypeInvalidValue,
					"attribute %q is required%s", pathName(s, rt, a, sub), where)
			}
		}
	}
	if primaries > 1 {
		return invalid(pathName(s, rt, a, nil), "%d values have \"primary\": true; at most one value may be primary", primaries)
	}
	return nil
}

// equalValue compares two stored values of attribute a, honouring caseExact
// for strings. Lists compare element-wise in order.
func equalValue(a *Attribute, x, y any) bool {
	if isEmpty(x) || isEmpty(y) {
		return isEmpty(x) && isEmpty(y)
	}
	switch xv := x.(type) {
	case []any:
		yv, ok := y.([]any)
		if !ok || len(xv) != len(yv) {
			return false
		}
		single := *a
		single.MultiValued = false
		for i := range xv {
			if !equalValue(&single, xv[i], yv[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		yv, ok := y.(map[string]any)
		if !ok {
			return false
		}
		for _, sub := range a.SubAttributes {
			if !equalValue(sub, xv[sub.Name], yv[sub.Name]) {
				return false
			}
		}
		return true
	case string:
		yv, ok := y.(string)
		if !ok {
			return false
		}
		if a.CaseExact {
			return xv == yv
		}
		return strings.EqualFold(xv, yv)
	}
	xi, xf, xInt, xok := number(x)
	yi, yf, yInt, yok := number(y)
	if xok && yok {
		if xInt && yInt {
			return xi == yi
		}
		if xInt {
			xf = float64(xi)
		}
		if yInt {
			yf = float64(yi)
		}
		return xf == yf
	}
	xb, xok := x.(bool)
	yb, yok := y.(bool)
	return xok && yok && xb == yb
}
