package scimd

import (
	"context"

	"github.com/scimd/scimd/filter"
)

// Store keeps resources and group membership. Every method takes the tenant
// explicitly; a Store never returns, changes, counts or reveals by a conflict
// anything of another tenant.
//
// Errors: client-visible failures are *Error values — NotFound (404) for a
// missing resource, Conflict (409 uniqueness) for a duplicate userName (User)
// or displayName (Group), BadRequest invalidFilter for a filter the store
// cannot evaluate, BadRequest invalidValue for a membership naming a missing
// resource. Anything else is an internal error.
type Store interface {
	// Create stores r as a new resource of r.Type. The store assigns ID and
	// Meta (Version 1, Created = LastModified = now) and returns the stored
	// resource. A Group's initial Members are stored too.
	Create(ctx context.Context, tenant string, r *Resource) (*Resource, error)

	// Get returns one resource by type and id.
	Get(ctx context.Context, tenant, typ, id string, opt ReadOptions) (*Resource, error)

	// List returns the resources matching q and the total number of matches.
	List(ctx context.Context, tenant string, q *ListQuery) (*ListResult, error)

	// Update runs fn on the current resource inside a transaction. fn may
	// change r.Attrs and r.Schemas and returns membership changes to apply;
	// it may return an error to abort (nothing is written). The store then
	// checks uniqueness, increments Meta.Version, sets LastModified and
	// commits — or, if the resource changed concurrently, retries fn on the
	// fresh resource, so concurrent updates never lose each other's changes.
	// r.Members is not loaded inside fn. The updated resource is returned,
	// loaded as opt says.
	Update(ctx context.Context, tenant, typ, id string, opt ReadOptions, fn UpdateFunc) (*Resource, error)

	// Delete removes a resource and every membership it takes part in. check,
	// if not nil, runs first on the current resource (without members) inside
	// the transaction and may veto the delete by returning an error (If-Match).
	Delete(ctx context.Context, tenant, typ, id string, check func(*Resource) error) error
}

// UpdateFunc changes a resource in place; see Store.Update.
type UpdateFunc func(r *Resource) ([]MemberOp, error)

// ReadOptions says which separately stored parts of a resource to load.
type ReadOptions struct {
	Members bool // load Group.Members
	Groups  bool // load User.Groups
}

// ListQuery selects, orders and pages resources of one type.
type ListQuery struct {
	Type   string      // resource type name; "" searches every type
	Filter filter.Expr // nil matches everything

	// SortBy orders results by a singular attribute; nil means the store's
	// stable default order (creation order). SortDescending reverses it.
	SortBy         *filter.AttrPath
	SortDescending bool

	// StartIndex is 1-based (values < 1 mean 1). Count is the page size;
	// 0 returns no resources, only the total.
	StartIndex int
	Count      int

	ReadOptions
}

// ListResult is one page of a list.
type ListResult struct {
	TotalResults int
	Resources    []*Resource
}
