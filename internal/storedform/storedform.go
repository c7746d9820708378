// Package storedform is the form in which the SQL stores (sqlite,
// postgres) keep a resource: the indexed columns derived from its
// attributes (Extract), the JSON text of its attributes and schemas
// (EncodeDoc, DecodeSchemas), the groups a User is read with (DecodeGroups),
// the stored form of a new resource (New), the conflict a unique column
// reports, and the filling of Members and Groups from the memberships
// table (LoadMemberships).
//
// It holds no SQL and opens no connections: each store binds the columns
// in its driver's types, writes and scans rows, and runs the two
// memberships queries behind Loader.
package storedform

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/internal/jsonvalue"
	"github.com/scimd/scimd/internal/sqlbuild"
	"github.com/scimd/scimd/schema"
)

// Columns are the indexed columns derived from a resource's attributes;
// a column that is not Valid is NULL. Folding happens here, in Go, with
// sqlbuild.Fold: the same function the filter compiler uses, so a stored
// column and the value a filter compares it with agree on both stores.
//
// The columns are values, not pointers or interfaces, so that Extract
// allocates nothing beyond the folded strings and the e-mails, and two
// Columns compare with ==: each store converts a column to its driver's
// argument type only where it binds it.
type Columns struct {
	ExternalID sql.Null[string] // externalId
	NameLC     sql.Null[string] // the unique name, folded: userName of a User, displayName of a Group
	DisplayLC  sql.Null[string] // displayName, folded
	Active     sql.Null[bool]   // active of a User
	Emails     []Email          // the value index rows of a User's emails, in order
}

// Email is one e-mail of a User as the value index stores it.
type Email struct {
	Type, Value sql.Null[string] // folded
}

// StringAttr returns m[key] if it is a string.
func StringAttr(m map[string]any, key string) (string, bool) {
	s, ok := m[key].(string)
	return s, ok
}

func text(s string) sql.Null[string] { return sql.Null[string]{V: s, Valid: true} }

func folded(s string) sql.Null[string] { return text(sqlbuild.Fold(s)) }

// Extract returns the indexed columns of r.
func Extract(r *scimd.Resource) Columns {
	var x Columns
	if s, ok := StringAttr(r.Attrs, "externalId"); ok {
		x.ExternalID = text(s)
	}
	if s, ok := StringAttr(r.Attrs, "displayName"); ok {
		x.DisplayLC = folded(s)
	}
	switch r.Type {
	case scimd.TypeUser:
		if s, ok := StringAttr(r.Attrs, "userName"); ok {
			x.NameLC = folded(s)
		}
		if b, ok := r.Attrs["active"].(bool); ok {
			x.Active = sql.Null[bool]{V: b, Valid: true}
		}
		if list, ok := r.Attrs["emails"].([]any); ok {
			for _, e := range list {
				m, ok := e.(map[string]any)
				if !ok {
					continue
				}
				var em Email
				if s, ok := StringAttr(m, "type"); ok {
					em.Type = folded(s)
				}
				if s, ok := StringAttr(m, "value"); ok {
					em.Value = folded(s)
				}
				x.Emails = append(x.Emails, em)
			}
		}
	case scimd.TypeGroup:
		x.NameLC = x.DisplayLC
	}
	return x
}

// New returns the stored form of a resource of type rt created at now
// from in: a new id, version 1, a copy of in's schemas and in's attributes
// (an empty map for none). Members are not part of it.
func New(rt *schema.ResourceType, in *scimd.Resource, now time.Time) *scimd.Resource {
	r := &scimd.Resource{
		Type:    rt.Name,
		ID:      scimd.NewID(),
		Schemas: slices.Clone(in.Schemas),
		Attrs:   in.Attrs,
		Meta:    scimd.Meta{Created: now, LastModified: now, Version: 1},
	}
	if r.Attrs == nil {
		r.Attrs = map[string]any{}
	}
	return r
}

// EncodeDoc returns the stored JSON of r's schemas (an array, [] for
// none) and attributes (an object, {} for none), byte for byte as
// encoding/json writes them: the schemas as json.Marshal does, the
// attributes as a json.Encoder with HTML escaping off does, without its
// newline (jsonvalue.Append). Errors read "encode resource: …" or
// "encode schemas: …"; the store adds its name.
func EncodeDoc(r *scimd.Resource) (schemas, doc json.RawMessage, err error) {
	// One buffer for both, with room for a typical User.
	buf, err := appendSchemas(make([]byte, 0, 1024), r.Schemas)
	if err != nil {
		return nil, nil, fmt.Errorf("encode schemas: %w", err)
	}
	n := len(buf)
	attrs := r.Attrs
	if attrs == nil {
		attrs = map[string]any{}
	}
	if buf, err = jsonvalue.Append(buf, attrs); err != nil {
		return nil, nil, fmt.Errorf("encode resource: %w", err)
	}
	return buf[:n:n], buf[n:], nil
}

// appendSchemas appends schemas ([] for nil) as json.Marshal writes them.
// jsonvalue.Append writes the same but for <, > and &, which json.Marshal
// escapes and a URN may hold: schemas with those are left to json.Marshal.
func appendSchemas(dst []byte, schemas []string) ([]byte, error) {
	if schemas == nil {
		return append(dst, "[]"...), nil
	}
	for _, s := range schemas {
		if strings.ContainsAny(s, "<>&") {
			b, err := json.Marshal(schemas)
			return append(dst, b...), err
		}
	}
	return jsonvalue.Append(dst, schemas)
}

// DecodeSchemas decodes a stored schemas array. An array without escapes,
// as json.Marshal writes it (["a","b"]) or as PostgreSQL prints a jsonb
// array (["a", "b"]), is split without the JSON decoder; anything else
// goes through it.
func DecodeSchemas(s string) ([]string, error) {
	if len(s) > 4 && s[0] == '[' && s[1] == '"' && s[len(s)-2] == '"' && s[len(s)-1] == ']' &&
		!strings.Contains(s, `\`) {
		sep := `","`
		if strings.Contains(s, `", "`) {
			sep = `", "`
		}
		out := strings.Split(s[2:len(s)-2], sep)
		// Without escapes every quote delimits a string: the split found
		// every element iff no element holds a quote.
		if strings.Count(s, `"`) == 2*len(out) {
			return out, nil
		}
	}
	var out []string
	err := json.Unmarshal([]byte(s), &out)
	return out, err
}

// DecodeGroups decodes the groups a User is read with: a JSON array of
// [id, displayName] pairs, or "" (NULL) for none. The result is never nil.
func DecodeGroups[T string | []byte](s T) ([]scimd.GroupRef, error) {
	out := []scimd.GroupRef{}
	if len(s) == 0 || string(s) == "[]" {
		return out, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal([]byte(s), &pairs); err != nil {
		return nil, err
	}
	for _, p := range pairs {
		out = append(out, scimd.GroupRef{Value: p[0], Display: p[1]})
	}
	return out, nil
}

// Conflict returns the error for a resource of type typ that a unique
// column (name_lc) refuses.
func Conflict(typ string, r *scimd.Resource) error {
	switch typ {
	case scimd.TypeUser:
		v, _ := StringAttr(r.Attrs, "userName")
		return scimd.Conflict("userName %q is already taken", v)
	case scimd.TypeGroup:
		v, _ := StringAttr(r.Attrs, "displayName")
		return scimd.Conflict("a group with displayName %q already exists", v)
	}
	return scimd.Conflict("a %s with the same unique attribute already exists", typ)
}

// Loader reads the memberships table in a store's read snapshot.
type Loader interface {
	// LoadMembers appends the members of each of groups to into[group],
	// in insertion order.
	LoadMembers(ctx context.Context, tenant string, groups []string, into map[string][]scimd.Member) error
	// LoadGroups returns the groups each of users is a direct member of,
	// in group creation order; a user in no group may be missing.
	LoadGroups(ctx context.Context, tenant string, users []string) (map[string][]scimd.GroupRef, error)
}

// LoadMemberships fills, as opt says, Members of the groups and Groups of
// the users among rs, with one call of l per kind for all of them; a
// resource it fills gets an empty slice, not nil, when it has none. A User
// whose Groups are set already (read with its row) is left as it is.
func LoadMemberships(ctx context.Context, l Loader, tenant string, rs []*scimd.Resource, opt scimd.ReadOptions) error {
	var groups, users []string
	for _, r := range rs {
		switch r.Type {
		case scimd.TypeGroup:
			if opt.Members {
				groups = append(groups, r.ID)
				r.Members = []scimd.Member{}
			}
		case scimd.TypeUser:
			if opt.Groups && r.Groups == nil {
				users = append(users, r.ID)
				r.Groups = []scimd.GroupRef{}
			}
		}
	}
	if len(groups) > 0 {
		byGroup := map[string][]scimd.Member{}
		if err := l.LoadMembers(ctx, tenant, groups, byGroup); err != nil {
			return err
		}
		for _, r := range rs {
			if ms, ok := byGroup[r.ID]; ok && r.Type == scimd.TypeGroup {
				r.Members = ms
			}
		}
	}
	if len(users) > 0 {
		byUser, err := l.LoadGroups(ctx, tenant, users)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if gs, ok := byUser[r.ID]; ok && r.Type == scimd.TypeUser {
				r.Groups = gs
			}
		}
	}
	return nil
}
