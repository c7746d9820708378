package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// SchemaJSON returns the RFC 7643 §7 representation of s, as served by
// /Schemas/{id}: characteristic values in camelCase, absent optional values
// omitted rather than null, meta.location under baseURL (the absolute SCIM
// base URL without a trailing slash).
func SchemaJSON(s *Schema, baseURL string) ([]byte, error) {
	type out struct {
		Schemas     []string        `json:"schemas"`
		ID          string          `json:"id"`
		Name        string          `json:"name,omitempty"`
		Description string          `json:"description,omitempty"`
		Attributes  []attributeJSON `json:"attributes"`
		Meta        metaJSON        `json:"meta"`
	}
	return marshal(out{
		Schemas:     []string{URNSchema},
		ID:          s.ID,
		Name:        s.Name,
		Description: s.Description,
		Attributes:  attributesJSON(s.Attributes),
		Meta:        metaJSON{ResourceType: "Schema", Location: baseURL + "/Schemas/" + s.ID},
	})
}

// ResourceTypeJSON returns the RFC 7643 §6 representation of rt, as served
// by /ResourceTypes/{name}.
func ResourceTypeJSON(rt *ResourceType, baseURL string) ([]byte, error) {
	type ext struct {
		Schema   string `json:"schema"`
		Required bool   `json:"required"`
	}
	type out struct {
		Schemas     []string `json:"schemas"`
		ID          string   `json:"id"`
		Name        string   `json:"name"`
		Endpoint    string   `json:"endpoint"`
		Description string   `json:"description,omitempty"`
		Schema      string   `json:"schema"`
		Extensions  []ext    `json:"schemaExtensions,omitempty"`
		Meta        metaJSON `json:"meta"`
	}
	o := out{
		Schemas:     []string{URNResourceType},
		ID:          rt.Name,
		Name:        rt.Name,
		Endpoint:    rt.Endpoint,
		Description: rt.Description,
		Schema:      rt.Schema.ID,
		Meta:        metaJSON{ResourceType: "ResourceType", Location: baseURL + "/ResourceTypes/" + rt.Name},
	}
	for _, e := range rt.Extensions {
		o.Extensions = append(o.Extensions, ext{Schema: e.Schema.ID, Required: e.Required})
	}
	return marshal(o)
}

type metaJSON struct {
	ResourceType string `json:"resourceType"`
	Location     string `json:"location"`
}

// attributeJSON is an Attribute as /Schemas shows it: every characteristic
// present (with RFC 7643 defaults for unset ones), optional lists omitted
// when empty.
type attributeJSON struct {
	Name            string          `json:"name"`
	Type            Type            `json:"type"`
	MultiValued     bool            `json:"multiValued"`
	Description     string          `json:"description,omitempty"`
	Required        bool            `json:"required"`
	CanonicalValues []string        `json:"canonicalValues,omitempty"`
	CaseExact       bool            `json:"caseExact"`
	Mutability      Mutability      `json:"mutability"`
	Returned        Returned        `json:"returned"`
	Uniqueness      Uniqueness      `json:"uniqueness"`
	ReferenceTypes  []string        `json:"referenceTypes,omitempty"`
	SubAttributes   []attributeJSON `json:"subAttributes,omitempty"`
}

func attributesJSON(attrs []*Attribute) []attributeJSON {
	out := make([]attributeJSON, 0, len(attrs))
	for _, a := range attrs {
		j := attributeJSON{
			Name:            a.Name,
			Type:            orDefault(a.Type, String),
			MultiValued:     a.MultiValued,
			Description:     a.Description,
			Required:        a.Required,
			CanonicalValues: a.CanonicalValues,
			CaseExact:       a.CaseExact,
			Mutability:      orDefault(a.Mutability, ReadWrite),
			Returned:        orDefault(a.Returned, Default),
			Uniqueness:      orDefault(a.Uniqueness, None),
			ReferenceTypes:  a.ReferenceTypes,
		}
		if len(a.SubAttributes) > 0 {
			j.SubAttributes = attributesJSON(a.SubAttributes)
		}
		out = append(out, j)
	}
	return out
}

func orDefault[T ~string](v, def T) T {
	if v == "" {
		return def
	}
	return v
}

// marshal encodes v without HTML escaping and without a trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// ParseSchema parses a custom extension schema from its /Schemas JSON
// representation (the configuration format; "schemas" and "meta" members
// are allowed and ignored, other unknown members are errors so typos are
// caught). It checks that id is a URN other than a built-in one, that
// attribute names are valid and unique, that types and characteristic
// values are valid (compared case-insensitively and canonicalised), that
// complex attributes have sub-attributes and that no complex attribute is
// nested in another. Unset characteristics get their RFC 7643 defaults:
// type string, mutability readWrite, returned default, uniqueness none,
// caseExact false. Errors are plain errors meant for the operator.
func ParseSchema(data []byte) (*Schema, error) {
	var in struct {
		Schema
		Schemas json.RawMessage `json:"schemas"`
		Meta    json.RawMessage `json:"meta"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("schema: invalid schema definition: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("schema: invalid schema definition: data after the JSON object")
	}
	s := &in.Schema
	if !validURN(s.ID) {
		return nil, fmt.Errorf("schema: id %q is not a URN (expected e.g. \"urn:example:params:scim:schemas:extension:acme:2.0:User\")", s.ID)
	}
	for _, b := range []string{URNUser, URNGroup, URNEnterpriseUser, URNCoreV1, URNSchema, URNResourceType} {
		if strings.EqualFold(s.ID, b) {
			return nil, fmt.Errorf("schema: id %q is a built-in schema and cannot be redefined", s.ID)
		}
	}
	if len(s.Attributes) == 0 {
		return nil, fmt.Errorf("schema %s: no attributes", s.ID)
	}
	if err := checkAttributes(s.ID, "", s.Attributes, false); err != nil {
		return nil, err
	}
	return s, nil
}

// checkAttributes validates and fills defaults in attrs, the attributes of
// schema id (parent is "" at top level, else the parent attribute's name).
func checkAttributes(id, parent string, attrs []*Attribute, sub bool) error {
	seen := map[string]bool{}
	for i, a := range attrs {
		if a == nil {
			return fmt.Errorf("schema %s: attribute %d of %q is null", id, i+1, parent)
		}
		where := a.Name
		if parent != "" {
			where = parent + "." + a.Name
		}
		fail := func(format string, args ...any) error {
			return fmt.Errorf("schema %s: attribute %q: %s", id, where, fmt.Sprintf(format, args...))
		}
		if !validName(a.Name) || (a.Name == "$ref" && !sub) {
			return fail("invalid name: it must start with a letter and contain only letters, digits, '-' and '_'")
		}
		if seen[strings.ToLower(a.Name)] {
			return fail("defined twice (names are case-insensitive)")
		}
		seen[strings.ToLower(a.Name)] = true
		var ok bool
		if a.Type, ok = canonicalEnum(a.Type, String, String, Boolean, Decimal, Integer, DateTime, Binary, Reference, Complex); !ok {
			return fail("invalid type %q (valid: string, boolean, decimal, integer, dateTime, binary, reference, complex)", a.Type)
		}
		if a.Mutability, ok = canonicalEnum(a.Mutability, ReadWrite, ReadOnly, ReadWrite, Immutable, WriteOnly); !ok {
			return fail("invalid mutability %q (valid: readOnly, readWrite, immutable, writeOnly)", a.Mutability)
		}
		if a.Returned, ok = canonicalEnum(a.Returned, Default, Always, Never, Default, Request); !ok {
			return fail("invalid returned %q (valid: always, never, default, request)", a.Returned)
		}
		if a.Uniqueness, ok = canonicalEnum(a.Uniqueness, None, None, Server, Global); !ok {
			return fail("invalid uniqueness %q (valid: none, server, global)", a.Uniqueness)
		}
		switch {
		case a.Type == Complex && sub:
			return fail("complex attributes cannot be nested in a complex attribute")
		case a.Type == Complex && len(a.SubAttributes) == 0:
			return fail("a complex attribute needs subAttributes")
		case a.Type != Complex && len(a.SubAttributes) > 0:
			return fail("only complex attributes can have subAttributes (type is %s)", a.Type)
		case len(a.ReferenceTypes) > 0 && a.Type != Reference:
			return fail("referenceTypes apply only to reference attributes (type is %s)", a.Type)
		}
		if a.Type == Complex {
			if err := checkAttributes(id, where, a.SubAttributes, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// canonicalEnum returns v in its declared case if it is one of valid
// (case-insensitively), def if v is empty.
func canonicalEnum[T ~string](v, def T, valid ...T) (T, bool) {
	if v == "" {
		return def, true
	}
	for _, x := range valid {
		if strings.EqualFold(string(v), string(x)) {
			return x, true
		}
	}
	return v, false
}
