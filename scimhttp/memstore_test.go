package scimhttp_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
)

// memStore is a small in-memory scimd.Store for tests that need to inject
// failures or inspect stored state; the main tests use the sqlite store.
type memStore struct {
	reg *schema.Registry

	mu    sync.Mutex
	res   map[string]*scimd.Resource // key: tenant/type/id
	order []string
	// members: tenant/groupID → member values in order
	members map[string][]scimd.Member
	fail    error // when set, every call returns it
	panics  bool  // when set, every call panics
}

func newMemStore(reg *schema.Registry) *memStore {
	return &memStore{reg: reg, res: map[string]*scimd.Resource{}, members: map[string][]scimd.Member{}}
}

func key(tenant, typ, id string) string { return tenant + "/" + typ + "/" + id }

func (s *memStore) check() error {
	if s.panics {
		panic("memStore: injected panic")
	}
	return s.fail
}

func cloneRes(r *scimd.Resource) *scimd.Resource {
	c := *r
	c.Attrs = cloneMap(r.Attrs)
	c.Schemas = append([]string(nil), r.Schemas...)
	c.Members = nil
	c.Groups = nil
	return &c
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneVal(v)
	}
	return out
}

func cloneVal(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneMap(v)
	case []any:
		o := make([]any, len(v))
		for i, e := range v {
			o[i] = cloneVal(e)
		}
		return o
	}
	return v
}

func (s *memStore) uniqueKey(r *scimd.Resource) string {
	switch r.Type {
	case scimd.TypeUser:
		u, _ := r.Attrs["userName"].(string)
		return strings.ToLower(u)
	case scimd.TypeGroup:
		d, _ := r.Attrs["displayName"].(string)
		return strings.ToLower(d)
	}
	return ""
}

func (s *memStore) conflict(tenant string, r *scimd.Resource) error {
	k := s.uniqueKey(r)
	if k == "" {
		return nil
	}
	for _, o := range s.res {
		if o.Type == r.Type && o.ID != r.ID && strings.HasPrefix(key(tenant, o.Type, o.ID), tenant+"/") && s.uniqueKey(o) == k {
			return scimd.Conflict("%s %q already exists", r.Type, k)
		}
	}
	return nil
}

func (s *memStore) load(tenant string, r *scimd.Resource, opt scimd.ReadOptions) *scimd.Resource {
	c := cloneRes(r)
	gk := tenant + "/" + r.ID
	c.MemberCount = len(s.members[gk])
	if opt.Members && r.Type == scimd.TypeGroup {
		c.Members = append([]scimd.Member{}, s.members[gk]...)
	}
	if opt.Groups && r.Type == scimd.TypeUser {
		c.Groups = []scimd.GroupRef{}
		for _, k := range s.order {
			g := s.res[k]
			if g == nil || g.Type != scimd.TypeGroup || !strings.HasPrefix(k, tenant+"/") {
				continue
			}
			for _, m := range s.members[tenant+"/"+g.ID] {
				if m.Value == r.ID {
					d, _ := g.Attrs["displayName"].(string)
					c.Groups = append(c.Groups, scimd.GroupRef{Value: g.ID, Display: d})
				}
			}
		}
	}
	return c
}

func (s *memStore) Create(ctx context.Context, tenant string, r *scimd.Resource) (*scimd.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	c := cloneRes(r)
	c.ID = scimd.NewID()
	now := time.Now().UTC().Truncate(time.Millisecond)
	c.Meta = scimd.Meta{Created: now, LastModified: now, Version: 1}
	if err := s.conflict(tenant, c); err != nil {
		return nil, err
	}
	k := key(tenant, c.Type, c.ID)
	s.res[k] = c
	s.order = append(s.order, k)
	if err := s.applyOps(tenant, c.ID, []scimd.MemberOp{{Kind: scimd.MemberAdd, Members: r.Members}}); err != nil {
		delete(s.res, k)
		return nil, err
	}
	return s.load(tenant, c, scimd.ReadOptions{Members: true}), nil
}

func (s *memStore) Get(ctx context.Context, tenant, typ, id string, opt scimd.ReadOptions) (*scimd.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	r := s.res[key(tenant, typ, id)]
	if r == nil {
		return nil, scimd.NotFound("%s %q not found", typ, id)
	}
	return s.load(tenant, r, opt), nil
}

func (s *memStore) List(ctx context.Context, tenant string, q *scimd.ListQuery) (*scimd.ListResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	var all []*scimd.Resource
	for _, k := range s.order {
		r := s.res[k]
		if r == nil || !strings.HasPrefix(k, tenant+"/") || (q.Type != "" && r.Type != q.Type) {
			continue
		}
		if q.Filter != nil {
			ok, err := s.reg.ResourceType(r.Type).Match(q.Filter, r)
			if err != nil {
				if scimd.StatusOf(err) == 400 {
					continue
				}
				return nil, err
			}
			if !ok {
				continue
			}
		}
		all = append(all, r)
	}
	out := &scimd.ListResult{TotalResults: len(all)}
	start := max(q.StartIndex, 1) - 1
	for i := start; i < len(all) && len(out.Resources) < q.Count; i++ {
		out.Resources = append(out.Resources, s.load(tenant, all[i], q.ReadOptions))
	}
	return out, nil
}

func (s *memStore) applyOps(tenant, gid string, ops []scimd.MemberOp) error {
	gk := tenant + "/" + gid
	for _, op := range ops {
		switch op.Kind {
		case scimd.MemberAdd:
			for _, m := range op.Members {
				var typ string
				switch {
				case s.res[key(tenant, scimd.TypeUser, m.Value)] != nil:
					typ = scimd.TypeUser
				case s.res[key(tenant, scimd.TypeGroup, m.Value)] != nil:
					typ = scimd.TypeGroup
				default:
					return scimd.BadRequest(scimd.ScimTypeInvalidValue, "member %q does not exist", m.Value)
				}
				dup := false
				for _, e := range s.members[gk] {
					dup = dup || e.Value == m.Value
				}
				if !dup {
					m.Type = typ
					s.members[gk] = append(s.members[gk], m)
				}
			}
		case scimd.MemberRemove:
			drop := map[string]bool{}
			for _, m := range op.Members {
				drop[m.Value] = true
			}
			var keep []scimd.Member
			for _, e := range s.members[gk] {
				if !drop[e.Value] {
					keep = append(keep, e)
				}
			}
			s.members[gk] = keep
		case scimd.MemberRemoveAll:
			delete(s.members, gk)
		default:
			return errors.New("memStore: unsupported member op")
		}
	}
	return nil
}

func (s *memStore) Update(ctx context.Context, tenant, typ, id string, opt scimd.ReadOptions, fn scimd.UpdateFunc) (*scimd.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	k := key(tenant, typ, id)
	r := s.res[k]
	if r == nil {
		return nil, scimd.NotFound("%s %q not found", typ, id)
	}
	c := s.load(tenant, r, scimd.ReadOptions{})
	ops, err := fn(c)
	if err != nil {
		return nil, err
	}
	c.ID, c.Type = r.ID, r.Type
	if err := s.conflict(tenant, c); err != nil {
		return nil, err
	}
	saved := append([]scimd.Member(nil), s.members[tenant+"/"+id]...)
	if err := s.applyOps(tenant, id, ops); err != nil {
		s.members[tenant+"/"+id] = saved
		return nil, err
	}
	c.Meta.Version = r.Meta.Version + 1
	c.Meta.LastModified = time.Now().UTC().Truncate(time.Millisecond)
	s.res[k] = cloneRes(c)
	return s.load(tenant, s.res[k], opt), nil
}

func (s *memStore) Delete(ctx context.Context, tenant, typ, id string, check func(*scimd.Resource) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	k := key(tenant, typ, id)
	r := s.res[k]
	if r == nil {
		return scimd.NotFound("%s %q not found", typ, id)
	}
	if check != nil {
		if err := check(cloneRes(r)); err != nil {
			return err
		}
	}
	delete(s.res, k)
	delete(s.members, tenant+"/"+id)
	for gk, ms := range s.members {
		var keep []scimd.Member
		for _, m := range ms {
			if m.Value != id {
				keep = append(keep, m)
			}
		}
		s.members[gk] = keep
	}
	return nil
}
