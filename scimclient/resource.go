package scimclient

import (
	"encoding/json"
	"maps"
	"strconv"
	"strings"
)

// Well-known schema URNs (RFC 7643, RFC 7644).
const (
	SchemaUser           = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SchemaListResponse   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SchemaSearchRequest  = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	SchemaPatchOp        = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SchemaError          = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// Resource is a SCIM resource as a JSON object. It is schema-agnostic: any
// resource type, extension or non-standard attribute round-trips unchanged.
// Resources decoded by this package hold numbers as json.Number.
//
// The accessor methods take attribute paths: "userName", dotted
// sub-attributes ("name.givenName", "meta.version") and extension-qualified
// paths ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department").
// Names match exactly first, then case-insensitively, as SCIM attribute names
// are case-insensitive; index the map directly to check exact spelling.
type Resource map[string]any

// NewResource returns a Resource whose "schemas" is the given URNs.
func NewResource(schemas ...string) Resource {
	return Resource{"schemas": schemas}
}

// ID returns the "id" attribute.
func (r Resource) ID() string { return r.String("id") }

// ExternalID returns the "externalId" attribute.
func (r Resource) ExternalID() string { return r.String("externalId") }

// Schemas returns the "schemas" attribute.
func (r Resource) Schemas() []string { return r.Strings("schemas") }

// Meta holds the common "meta" attribute (RFC 7643 §3.1). Times are kept as
// the server sent them.
type Meta struct {
	ResourceType string // meta.resourceType, e.g. "User"
	Created      string // meta.created
	LastModified string // meta.lastModified
	Location     string // meta.location, the resource's URI
	Version      string // meta.version, the ETag
}

// Meta returns the "meta" attribute.
func (r Resource) Meta() Meta {
	return Meta{
		ResourceType: r.String("meta.resourceType"),
		Created:      r.String("meta.created"),
		LastModified: r.String("meta.lastModified"),
		Location:     r.String("meta.location"),
		Version:      r.String("meta.version"),
	}
}

// Version returns meta.version, the resource's ETag when the server
// supports them.
func (r Resource) Version() string { return r.String("meta.version") }

// Get returns the value at path and whether it is present.
func (r Resource) Get(path string) (any, bool) {
	m := map[string]any(r)
	if m == nil {
		return nil, false
	}
	if urn, rest, ok := r.splitURN(path); ok {
		v, _ := lookup(m, urn)
		if rest == "" {
			return v, v != nil
		}
		sub, isMap := v.(map[string]any)
		if !isMap {
			return nil, false
		}
		m, path = sub, rest
	}
	parts := strings.Split(path, ".")
	for i, p := range parts {
		v, ok := lookup(m, p)
		if !ok {
			return nil, false
		}
		if i == len(parts)-1 {
			return v, true
		}
		switch x := v.(type) {
		case map[string]any:
			m = x
		case Resource:
			m = x
		default:
			return nil, false
		}
	}
	return nil, false
}

// splitURN splits an extension-qualified path into the extension key
// present in r and the remaining sub-path.
func (r Resource) splitURN(path string) (urn, rest string, ok bool) {
	if len(path) < 4 || !strings.EqualFold(path[:4], "urn:") {
		return "", "", false
	}
	best := ""
	for k := range r {
		if len(k) > len(best) && len(path) >= len(k) && strings.EqualFold(path[:len(k)], k) &&
			(len(path) == len(k) || path[len(k)] == ':') {
			best = k
		}
	}
	if best == "" {
		// No such extension yet: attribute names contain no ':', so the
		// URN ends at the last one.
		i := strings.LastIndexByte(path, ':')
		return path[:i], path[i+1:], true
	}
	return best, strings.TrimPrefix(path[len(best):], ":"), true
}

func lookup(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// String returns the value at path if it is a string, else "".
func (r Resource) String(path string) string {
	v, _ := r.Get(path)
	s, _ := v.(string)
	return s
}

// Bool returns the value at path and true if it is a JSON boolean.
func (r Resource) Bool(path string) (value, ok bool) {
	v, _ := r.Get(path)
	b, ok := v.(bool)
	return b, ok
}

// Int returns the value at path and true if it is an integral JSON number.
func (r Resource) Int(path string) (int64, bool) {
	v, _ := r.Get(path)
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case float64:
		return int64(n), n == float64(int64(n))
	case int:
		return int64(n), true
	case int64:
		return n, true
	}
	return 0, false
}

// Strings returns the string elements of the multi-valued value at path.
func (r Resource) Strings(path string) []string {
	v, _ := r.Get(path)
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// List returns the object elements of the multi-valued complex value at
// path, e.g. "emails" or "members".
func (r Resource) List(path string) []Resource {
	v, _ := r.Get(path)
	switch x := v.(type) {
	case []Resource:
		return x
	case []map[string]any:
		out := make([]Resource, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case []any:
		out := make([]Resource, 0, len(x))
		for _, e := range x {
			switch m := e.(type) {
			case map[string]any:
				out = append(out, m)
			case Resource:
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// Set stores value at a dotted path, creating intermediate objects; an
// extension-qualified path stores under the extension URN key (to set a
// whole extension object, assign r[urn] directly). It returns r for
// chaining. Set panics if r is nil.
func (r Resource) Set(path string, value any) Resource {
	m := map[string]any(r)
	if urn, rest, ok := r.splitURN(path); ok {
		if rest == "" {
			r[urn] = value
			return r
		}
		m = child(m, urn)
		path = rest
	}
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		m = child(m, p)
	}
	last := parts[len(parts)-1]
	for k := range m {
		if k != last && strings.EqualFold(k, last) {
			last = k
			break
		}
	}
	m[last] = value
	return r
}

// child returns the object under key, creating or replacing it as needed.
func child(m map[string]any, key string) map[string]any {
	if v, ok := lookup(m, key); ok {
		switch x := v.(type) {
		case map[string]any:
			return x
		case Resource:
			return x
		}
	}
	for k := range m {
		if strings.EqualFold(k, key) {
			key = k
			break
		}
	}
	sub := map[string]any{}
	m[key] = sub
	return sub
}

// Clone returns a deep copy of r's objects and arrays.
func (r Resource) Clone() Resource {
	if r == nil {
		return nil
	}
	return deepCopy(map[string]any(r)).(map[string]any)
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case Resource:
		return Resource(deepCopy(map[string]any(x)).(map[string]any))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case []string:
		return append([]string(nil), x...)
	case json.RawMessage:
		return append(json.RawMessage(nil), x...)
	}
	return v
}

// Without returns a shallow copy of r without the named top-level
// attributes (matched case-insensitively), e.g. to drop "meta" and "id"
// before a PUT.
func (r Resource) Without(names ...string) Resource {
	out := maps.Clone(r)
	for k := range out {
		for _, n := range names {
			if strings.EqualFold(k, n) {
				delete(out, k)
			}
		}
	}
	return out
}

// intOf reads an integer that a lenient server may send as a number or a
// numeric string.
func intOf(v any) (int, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			f, ferr := n.Float64()
			if ferr != nil {
				return 0, false
			}
			return int(f), true
		}
		return int(i), true
	case float64:
		return int(n), true
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(n))
		return i, err == nil
	}
	return 0, false
}
