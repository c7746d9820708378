package schema

import (
	"strings"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
)

// Resolve resolves an attribute path against the resource type,
// case-insensitively: an unqualified name is looked up in common attributes,
// then the core schema; a URN-qualified one in that schema. A path naming a
// whole extension ({URN: "urn:…:2.0", Name: "User"}) resolves with Attr nil;
// so does {URN: "<full schema URN>"} with an empty Name. Unknown attributes
// give BadRequest(invalidPath).
func (rt *ResourceType) Resolve(p filter.AttrPath) (Resolved, error) {
	var res Resolved
	switch {
	case p.URN == "":
		if a := find(CommonAttributes, p.Name); a != nil {
			res.Attr = a
		} else if a := rt.Schema.Attr(p.Name); a != nil {
			res.Schema, res.Attr = rt.Schema, a
		}
	case p.Name == "":
		if s := rt.schemaByURN(p.URN); s != nil && p.Sub == "" {
			return Resolved{Schema: s}, nil
		}
	default:
		if s := rt.schemaByURN(p.URN); s != nil {
			if a := s.Attr(p.Name); a != nil {
				res.Schema, res.Attr = s, a
			} else if s == rt.Schema {
				// urn:…:core:2.0:User:id — common attributes may be
				// qualified by the core schema URN.
				res.Attr = find(CommonAttributes, p.Name)
			}
		}
		if res.Attr == nil && p.Sub == "" {
			if s := rt.schemaByURN(p.URN + ":" + p.Name); s != nil {
				return Resolved{Schema: s}, nil
			}
		}
	}
	if res.Attr == nil {
		return Resolved{}, scimd.BadRequest(scimd.ScimTypeInvalidPath,
			"unknown attribute %q for resource type %s", p.String(), rt.Name)
	}
	if p.Sub != "" {
		if res.Attr.Type != Complex {
			return Resolved{}, scimd.BadRequest(scimd.ScimTypeInvalidPath,
				"attribute %q has no sub-attributes, so %q is not a valid path", res.Attr.Name, p.String())
		}
		res.Sub = res.Attr.Sub(p.Sub)
		if res.Sub == nil {
			return Resolved{}, scimd.BadRequest(scimd.ScimTypeInvalidPath,
				"unknown sub-attribute %q of %q for resource type %s", p.Sub, res.Attr.Name, rt.Name)
		}
	}
	return res, nil
}

// schemaByURN returns the core schema or extension schema of rt with the
// given URN (case-insensitively; the SCIM 1.1 core URN is an alias of the
// core schema), or nil.
func (rt *ResourceType) schemaByURN(urn string) *Schema {
	if strings.EqualFold(urn, rt.Schema.ID) || strings.EqualFold(urn, URNCoreV1) {
		return rt.Schema
	}
	if e := rt.Extension(urn); e != nil {
		return e.Schema
	}
	return nil
}

// pathName renders the canonical name of an attribute for error details:
// "userName", "name.givenName", "urn:…:User:manager.value".
func pathName(s *Schema, rt *ResourceType, a, sub *Attribute) string {
	var b strings.Builder
	if s != nil && rt != nil && s != rt.Schema {
		b.WriteString(s.ID)
		b.WriteByte(':')
	}
	b.WriteString(a.Name)
	if sub != nil {
		b.WriteByte('.')
		b.WriteString(sub.Name)
	}
	return b.String()
}
