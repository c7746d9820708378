// Package schema is the RFC 7643 attribute model: attribute characteristics,
// the core User, Group and Enterprise User schemas, custom extension schemas,
// and everything that needs them — resolving attribute paths
// case-insensitively, validating and canonicalising client input, evaluating
// filters in memory, and projecting resources for output.
package schema

import "strings"

// Type is an attribute data type (RFC 7643 §2.3).
type Type string

// The attribute data types.
const (
	String    Type = "string"
	Boolean   Type = "boolean"
	Decimal   Type = "decimal"
	Integer   Type = "integer"
	DateTime  Type = "dateTime"
	Binary    Type = "binary"
	Reference Type = "reference"
	Complex   Type = "complex"
)

// Mutability says whether and how a client may change an attribute.
type Mutability string

// The mutability values (RFC 7643 §7).
const (
	ReadOnly  Mutability = "readOnly"
	ReadWrite Mutability = "readWrite"
	Immutable Mutability = "immutable"
	WriteOnly Mutability = "writeOnly"
)

// Returned says when an attribute appears in a response.
type Returned string

// The returned values (RFC 7643 §7).
const (
	Always  Returned = "always"
	Never   Returned = "never"
	Default Returned = "default"
	Request Returned = "request"
)

// Uniqueness says how unique an attribute's value is.
type Uniqueness string

// The uniqueness values (RFC 7643 §7).
const (
	None   Uniqueness = "none"
	Server Uniqueness = "server"
	Global Uniqueness = "global"
)

// Attribute describes one attribute or sub-attribute (RFC 7643 §7). The
// field names and tags follow the /Schemas representation, so extension
// schemas can be read from JSON or YAML configuration.
type Attribute struct {
	Name            string       `json:"name" yaml:"name"`
	Type            Type         `json:"type" yaml:"type"`
	MultiValued     bool         `json:"multiValued" yaml:"multiValued"`
	Description     string       `json:"description,omitempty" yaml:"description"`
	Required        bool         `json:"required" yaml:"required"`
	CanonicalValues []string     `json:"canonicalValues,omitempty" yaml:"canonicalValues"`
	CaseExact       bool         `json:"caseExact" yaml:"caseExact"`
	Mutability      Mutability   `json:"mutability" yaml:"mutability"`
	Returned        Returned     `json:"returned" yaml:"returned"`
	Uniqueness      Uniqueness   `json:"uniqueness" yaml:"uniqueness"`
	ReferenceTypes  []string     `json:"referenceTypes,omitempty" yaml:"referenceTypes"`
	SubAttributes   []*Attribute `json:"subAttributes,omitempty" yaml:"subAttributes"`
}

// Sub returns the sub-attribute with the given name, matched
// case-insensitively, or nil.
func (a *Attribute) Sub(name string) *Attribute { return find(a.SubAttributes, name) }

func find(attrs []*Attribute, name string) *Attribute {
	for _, a := range attrs {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// Schema is one schema: a core resource schema or an extension.
type Schema struct {
	ID          string       `json:"id" yaml:"id"` // the schema URN
	Name        string       `json:"name,omitempty" yaml:"name"`
	Description string       `json:"description,omitempty" yaml:"description"`
	Attributes  []*Attribute `json:"attributes" yaml:"attributes"`
}

// Attr returns the top-level attribute with the given name, matched
// case-insensitively, or nil.
func (s *Schema) Attr(name string) *Attribute { return find(s.Attributes, name) }

// Extension is a schema extension of a resource type.
type Extension struct {
	Schema   *Schema
	Required bool
}

// ResourceType is a kind of resource the server serves (RFC 7643 §6).
type ResourceType struct {
	Name        string // "User"; also the resource type's id
	Endpoint    string // "/Users"
	Description string
	Schema      *Schema // the core schema
	Extensions  []Extension
}

// Extension returns the extension with the given schema URN, matched
// case-insensitively, or nil.
func (rt *ResourceType) Extension(urn string) *Extension {
	for i := range rt.Extensions {
		if strings.EqualFold(rt.Extensions[i].Schema.ID, urn) {
			return &rt.Extensions[i]
		}
	}
	return nil
}

// Registry holds the schemas and resource types a server serves.
type Registry struct {
	types   []*ResourceType
	schemas []*Schema
}

// NewRegistry returns a registry serving the given resource types and every
// schema they use.
func NewRegistry(types ...*ResourceType) *Registry {
	r := &Registry{types: types}
	seen := map[string]bool{}
	add := func(s *Schema) {
		if !seen[strings.ToLower(s.ID)] {
			seen[strings.ToLower(s.ID)] = true
			r.schemas = append(r.schemas, s)
		}
	}
	for _, rt := range types {
		add(rt.Schema)
		for _, e := range rt.Extensions {
			add(e.Schema)
		}
	}
	return r
}

// ResourceTypes returns every resource type, in registration order.
func (r *Registry) ResourceTypes() []*ResourceType { return r.types }

// Schemas returns every schema, in registration order.
func (r *Registry) Schemas() []*Schema { return r.schemas }

// ResourceType returns the resource type with the given name, matched
// case-insensitively, or nil.
func (r *Registry) ResourceType(name string) *ResourceType {
	for _, rt := range r.types {
		if strings.EqualFold(rt.Name, name) {
			return rt
		}
	}
	return nil
}

// Schema returns the schema with the given URN, matched case-insensitively,
// or nil.
func (r *Registry) Schema(urn string) *Schema {
	for _, s := range r.schemas {
		if strings.EqualFold(s.ID, urn) {
			return s
		}
	}
	return nil
}

// Resolved is an attribute path resolved against a resource type.
type Resolved struct {
	Schema *Schema    // the schema the attribute belongs to (nil for common attributes)
	Attr   *Attribute // the top-level attribute; nil when the path names a whole extension
	Sub    *Attribute // the sub-attribute, or nil
}

// Target returns the attribute the path finally names: Sub if set, else Attr.
func (r Resolved) Target() *Attribute {
	if r.Sub != nil {
		return r.Sub
	}
	return r.Attr
}

// Key returns the key under which the attribute's value sits in a
// resource's attribute map: "" for core attributes, the schema URN for
// extension attributes.
func (r Resolved) Key(rt *ResourceType) string {
	if r.Schema == nil || r.Schema == rt.Schema {
		return ""
	}
	return r.Schema.ID
}
