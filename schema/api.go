package schema

// API CONTRACT (written by the lead before implementation; the schema helper
// replaces every body marked TODO(schema) and may move these into other
// files, but must keep the exported signatures, which other packages use).

import (
	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
)

// Schema URNs of the built-in schemas.
const (
	URNUser           = "urn:ietf:params:scim:schemas:core:2.0:User"
	URNGroup          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	URNEnterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// CommonAttributes are id, externalId and meta (RFC 7643 §3.1), which every
// resource type has. Resolve finds them with Resolved.Schema == nil.
var CommonAttributes []*Attribute

// NewRegistryWith returns a registry serving User (core schema plus the
// Enterprise User extension plus userExts) and Group (plus groupExts).
func NewRegistryWith(userExts, groupExts []Extension) *Registry {
	panic("TODO(schema)")
}

// DefaultRegistry is NewRegistryWith(nil, nil).
func DefaultRegistry() *Registry { return NewRegistryWith(nil, nil) }

// Resolve resolves an attribute path against the resource type,
// case-insensitively: an unqualified name is looked up in common attributes,
// then the core schema; a URN-qualified one in that schema. A path naming a
// whole extension ({URN: "urn:…:2.0", Name: "User"}) resolves with Attr nil.
// Unknown attributes give BadRequest(invalidPath).
func (rt *ResourceType) Resolve(p filter.AttrPath) (Resolved, error) {
	panic("TODO(schema)")
}

// Decode canonicalises a client-supplied resource body (POST or PUT):
// attribute names to their declared case, values coerced to declared types
// ("True"/"false" strings to booleans, a bare string for a complex attribute
// with a "value" sub-attribute such as Entra's manager, single values for
// multi-valued attributes wrapped in a list), readOnly attributes dropped (id,
// meta, groups, …), unknown attributes and unknown extension URNs dropped,
// null / [] / {} dropped (unassigned), extension attributes nested under
// their URN key. Group "members" are moved out of Attrs into Members.
// Wrong types give BadRequest(invalidValue) naming the attribute; a body
// whose "schemas" lacks the core schema gives BadRequest(invalidValue).
// Required attributes are not checked here (see Validate).
func (rt *ResourceType) Decode(body map[string]any) (*scimd.Resource, error) {
	panic("TODO(schema)")
}

// Validate checks a resource about to be stored: required attributes present
// (BadRequest invalidValue), at most one primary=true per multi-valued
// attribute (invalidValue), immutable attributes unchanged from old when old
// had a value (BadRequest mutability; old is nil on create). It also sets
// r.Schemas canonically: the core URN, then each extension URN that has a
// value in r.Attrs.
func (rt *ResourceType) Validate(r *scimd.Resource, old *scimd.Resource) error {
	panic("TODO(schema)")
}

// CoerceValue canonicalises a value supplied for attribute a (a PATCH value):
// the same coercions as Decode. For a multi-valued a, v may be a list or a
// single element and a list is returned.
func CoerceValue(a *Attribute, v any) (any, error) {
	panic("TODO(schema)")
}

// Match evaluates a filter against a resource in memory, honouring types
// and caseExact. Unknown attributes give BadRequest(invalidFilter).
func (rt *ResourceType) Match(e filter.Expr, r *scimd.Resource) (bool, error) {
	panic("TODO(schema)")
}

// MatchValue evaluates a value filter (the part inside brackets, whose paths
// name sub-attributes of a) against one value of the multi-valued attribute a.
func MatchValue(a *Attribute, e filter.Expr, v any) (bool, error) {
	panic("TODO(schema)")
}

// Projection is the parsed "attributes" / "excludedAttributes" of a request.
type Projection struct {
	Attributes []filter.AttrPath
	Excluded   []filter.AttrPath
}

// ParseProjection parses the comma-separated attributes and
// excludedAttributes parameters. Malformed paths give BadRequest(invalidPath).
func ParseProjection(attributes, excluded string) (*Projection, error) {
	panic("TODO(schema)")
}

// Includes reports whether the top-level attribute name (e.g. "members",
// "groups") of rt would appear in output under projection p; the HTTP layer
// uses it to decide what to load. A nil p means the defaults.
func (p *Projection) Includes(rt *ResourceType, name string) bool {
	panic("TODO(schema)")
}

// Render returns the JSON representation of r as a response body element:
// schemas, id, externalId, meta (resourceType, created, lastModified,
// location, version), then attributes in schema order, extensions last;
// Group members and User groups from r.Members / r.Groups with "$ref"
// derived from baseURL; returned:never never included, returned:request only
// when named, returned:always always; then projection p applied. baseURL is
// the absolute SCIM base URL without a trailing slash; meta.location is
// baseURL + rt.Endpoint + "/" + id.
func (rt *ResourceType) Render(r *scimd.Resource, baseURL string, p *Projection) ([]byte, error) {
	panic("TODO(schema)")
}
