// Package scimd is the vocabulary of the scimd SCIM server: resources,
// group membership, list queries, errors, and the Store interface that
// storage backends implement.
//
// It knows nothing of HTTP or SQL. Adapters (sqlite, postgres, scimhttp)
// talk to each other only through the types declared here.
package scimd

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/scimd/scimd/filter"
)

// Resource type names of the built-in resource types.
const (
	TypeUser  = "User"
	TypeGroup = "Group"
)

// DefaultTenant is the id of the tenant created on first start.
const DefaultTenant = "default"

// Resource is one stored SCIM resource.
//
// Attrs holds every attribute except the common ones the server owns (id,
// meta, schemas) and the derived or separately stored ones (a Group's
// members, a User's groups). Keys are canonical attribute names as the schema
// declares them ("userName", "name", "emails", "externalId"); extension
// attributes nest under their schema URN key. Values are JSON-shaped: string,
// bool, int64, float64, map[string]any, []any. Date-times are RFC 3339
// strings.
type Resource struct {
	Type    string   // resource type name: TypeUser, TypeGroup, …
	ID      string   // server-assigned, stable, case-sensitive
	Schemas []string // schema URNs the resource uses: the core schema first
	Attrs   map[string]any
	Meta    Meta

	// Members is a Group's membership. It is nil when not loaded. On Create,
	// a non-nil Members is the initial membership.
	Members []Member
	// MemberCount is the number of members of a Group, maintained by the store.
	MemberCount int
	// Groups lists the groups a User is a direct member of. Derived from
	// membership; nil when not loaded. Ignored on write.
	Groups []GroupRef
}

// Meta is the server-maintained part of RFC 7643 §3.1 "meta". Location and
// resourceType are derived by the HTTP layer.
type Meta struct {
	Created      time.Time
	LastModified time.Time
	Version      int64 // incremented on every change
}

// ETag returns the weak entity tag for this version: W/"<version>".
func (m Meta) ETag() string { return `W/"` + strconv.FormatInt(m.Version, 10) + `"` }

// Member is one value of Group.members.
type Member struct {
	Value   string // id of the member resource
	Type    string // TypeUser or TypeGroup; filled in by the store
	Display string // as supplied by the client, else derived by the store
}

// GroupRef is one value of User.groups.
type GroupRef struct {
	Value   string // the group's id
	Display string // the group's displayName
}

// MemberOpKind says what a MemberOp does.
type MemberOpKind int

// The kinds of membership change.
const (
	// MemberAdd adds Members; adding an existing member is a no-op.
	MemberAdd MemberOpKind = iota + 1
	// MemberRemove removes the members whose Value is listed in Members;
	// removing a non-member is a no-op.
	MemberRemove
	// MemberRemoveAll removes every member.
	MemberRemoveAll
	// MemberRemoveWhere removes the members matching Filter, a filter over
	// the member sub-attributes "value", "type" and "display" (as in the
	// PATCH path members[type eq "Group"]).
	MemberRemoveWhere
)

// MemberOp is one change to a Group's membership. A store applies the ops
// of one update in order, in the same transaction as the rest of the update,
// and each op costs in proportion to its own size, not the group's.
type MemberOp struct {
	Kind    MemberOpKind
	Members []Member
	Filter  filter.Expr // MemberRemoveWhere only
}

// NewID returns a new UUID string, version 7 (RFC 9562 §5.7): 48 bits
// of Unix time in milliseconds, then 74 random bits. Ids created close
// together sort together, so the stores' unique index on (tenant, id)
// grows at its end, like the creation-order index, instead of taking each
// new id on a random page: one page a batch of creates dirties instead of
// one per create (and less for a checkpoint to write back). The random
// bits keep ids unguessable from one another; what an id tells is when it
// was made, which meta.created says anyway.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[6:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	b[6] = b[6]&0x0f | 0x70 // version 7
	b[8] = b[8]&0x3f | 0x80 // variant 10
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}
