package scimd

import "context"

// MemberSeq iterates over the members of one group: it calls yield for
// each member in turn, in insertion order (the order Get with
// ReadOptions.Members returns them), stops at the first error yield
// returns and returns that error; it returns the store's error if reading
// fails part way. It is valid only inside the StreamGroup callback that
// received it. Calling it more than once reads the members again, from the
// same snapshot.
type MemberSeq func(yield func(Member) error) error

// MemberStreamer is an optional interface of a Store: reading a group's
// members without holding them all in memory, so that serving a group of a
// million members costs as much memory as serving a group of ten. The HTTP
// layer uses it for GET /Groups/{id} and for list and .search pages of
// groups; with a Store that does not implement it, it falls back to Get with
// ReadOptions{Members: true} (see StreamGroup).
type MemberStreamer interface {
	// StreamGroup reads the Group id of tenant as Get(ctx, tenant,
	// TypeGroup, id, ReadOptions{}) would (Members nil, MemberCount set)
	// and calls fn with it and a MemberSeq over its members; the group and
	// its members come from one consistent snapshot, so the members are
	// those of the group's Meta.Version. A missing group (or an id of
	// another type, or of another tenant) is NotFound, and fn is not
	// called. StreamGroup returns fn's error.
	//
	// The members are read from a database cursor as fn consumes them,
	// never accumulated: fn may take as long as writing them to a slow
	// client takes, and the snapshot (a read transaction) stays open until
	// fn returns. fn must not call the store: a backend may hold its only
	// connection meanwhile.
	StreamGroup(ctx context.Context, tenant, id string, fn func(g *Resource, members MemberSeq) error) error
}

// StreamGroup calls s.StreamGroup when s implements MemberStreamer, else
// emulates it with Get(ctx, tenant, TypeGroup, id, ReadOptions{Members:
// true}), which loads every member.
func StreamGroup(ctx context.Context, s Store, tenant, id string, fn func(g *Resource, members MemberSeq) error) error {
	if ms, ok := s.(MemberStreamer); ok {
		return ms.StreamGroup(ctx, tenant, id, fn)
	}
	g, err := s.Get(ctx, tenant, TypeGroup, id, ReadOptions{Members: true})
	if err != nil {
		return err
	}
	list := g.Members
	g.Members = nil
	return fn(g, SliceMembers(list))
}

// SliceMembers returns a MemberSeq over ms.
func SliceMembers(ms []Member) MemberSeq {
	return func(yield func(Member) error) error {
		for _, m := range ms {
			if err := yield(m); err != nil {
				return err
			}
		}
		return nil
	}
}

// EachMember calls fn for each member of the Group id in insertion order,
// streaming when s implements MemberStreamer (see StreamGroup). It returns
// NotFound for a missing group, and fn's first error.
func EachMember(ctx context.Context, s Store, tenant, id string, fn func(Member) error) error {
	return StreamGroup(ctx, s, tenant, id, func(_ *Resource, members MemberSeq) error {
		return members(fn)
	})
}
