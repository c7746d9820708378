package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
)

// memStore is a scimd.Store over plain maps, guarded by one mutex. It
// stands for an application's own user table: an application that already
// keeps users (and teams) would implement the same five methods over its
// own tables, translating to and from scimd.Resource, and gain a SCIM
// server without a second copy of its users.
//
// Filters are evaluated with schema.ResourceType.Match over every resource
// of the tenant, which is fine for thousands of users; a store over a
// database would translate the common filters (userName eq, externalId eq,
// emails[type eq "work"].value eq) into indexed queries.
type memStore struct {
	reg *schema.Registry

	mu      sync.Mutex
	seq     int64     // creation order of resources and memberships
	last    time.Time // last timestamp handed out, to keep them increasing
	tenants map[string]*tenantData
}

// tenantData is everything stored for one tenant.
type tenantData struct {
	res     map[string]*entry             // resource id → resource
	members map[string]map[string]*member // group id → member id → membership
}

// entry is one stored resource. r never has Members or Groups set; those
// are derived from tenantData.members when read.
type entry struct {
	r   *scimd.Resource
	seq int64
}

// member is one membership row.
type member struct {
	value   string // member id
	typ     string // resource type of the member
	display string // as the client sent it; "" means derive it
	seq     int64
}

var (
	_ scimd.Store          = (*memStore)(nil)
	_ scimd.MemberStreamer = (*memStore)(nil)
)

// newMemStore returns an empty store serving the resource types of reg.
func newMemStore(reg *schema.Registry) *memStore {
	return &memStore{reg: reg, tenants: map[string]*tenantData{}}
}

func (s *memStore) tenant(id string) *tenantData {
	td := s.tenants[id]
	if td == nil {
		td = &tenantData{res: map[string]*entry{}, members: map[string]map[string]*member{}}
		s.tenants[id] = td
	}
	return td
}

// now returns the current time, strictly after every earlier result, so
// that lastModified always moves forward.
func (s *memStore) now() time.Time {
	t := time.Now().UTC().Round(0)
	if !t.After(s.last) {
		t = s.last.Add(time.Nanosecond)
	}
	s.last = t
	return t
}

func (s *memStore) nextSeq() int64 {
	s.seq++
	return s.seq
}

func (s *memStore) resourceType(name string) (*schema.ResourceType, error) {
	rt := s.reg.ResourceType(name)
	if rt == nil {
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidValue, "unknown resource type %q", name)
	}
	return rt, nil
}

// Create implements scimd.Store.
func (s *memStore) Create(ctx context.Context, tenant string, r *scimd.Resource) (*scimd.Resource, error) {
	rt, err := s.resourceType(r.Type)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	td := s.tenant(tenant)

	now := s.now()
	stored := &scimd.Resource{
		Type:    rt.Name,
		ID:      scimd.NewID(),
		Schemas: slices.Clone(r.Schemas),
		Attrs:   cloneAttrs(r.Attrs),
		Meta:    scimd.Meta{Created: now, LastModified: now, Version: 1},
	}
	if err := td.checkUnique(stored); err != nil {
		return nil, err
	}
	e := &entry{r: stored, seq: s.nextSeq()}
	td.res[stored.ID] = e
	if isGroup(rt) {
		td.members[stored.ID] = map[string]*member{}
		if len(r.Members) > 0 {
			op := scimd.MemberOp{Kind: scimd.MemberAdd, Members: r.Members}
			if err := s.applyOps(td, rt, stored.ID, []scimd.MemberOp{op}); err != nil {
				delete(td.res, stored.ID)
				delete(td.members, stored.ID)
				return nil, err
			}
		}
	}
	return td.load(e, scimd.ReadOptions{Members: r.Members != nil}), nil
}

// Get implements scimd.Store.
func (s *memStore) Get(ctx context.Context, tenant, typ, id string, opt scimd.ReadOptions) (*scimd.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.tenant(tenant).lookup(typ, id)
	if err != nil {
		return nil, err
	}
	return s.tenant(tenant).load(e, opt), nil
}

// StreamGroup implements scimd.MemberStreamer, which lets the HTTP layer
// write a big group's members as it reads them. This store holds every
// member in memory anyway: it copies the group and its membership under the
// lock (one consistent version) and calls fn after releasing it, so a slow
// client never holds up writers. A store over a database would instead
// read the members from a cursor inside a read transaction, as the sqlite
// and postgres backends do, never holding them all.
func (s *memStore) StreamGroup(ctx context.Context, tenant, id string, fn func(g *scimd.Resource, members scimd.MemberSeq) error) error {
	s.mu.Lock()
	td := s.tenant(tenant)
	e, err := td.lookup(scimd.TypeGroup, id)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	g := td.load(e, scimd.ReadOptions{Members: true})
	s.mu.Unlock()
	ms := g.Members
	g.Members = nil
	return fn(g, scimd.SliceMembers(ms))
}

// List implements scimd.Store.
func (s *memStore) List(ctx context.Context, tenant string, q *scimd.ListQuery) (*scimd.ListResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	td := s.tenant(tenant)

	var entries []*entry
	for _, e := range td.res {
		if q.Type == "" || strings.EqualFold(e.r.Type, q.Type) {
			entries = append(entries, e)
		}
	}
	slices.SortFunc(entries, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })

	if q.Filter != nil {
		matched := entries[:0]
		for _, e := range entries {
			rt, err := s.resourceType(e.r.Type)
			if err != nil {
				return nil, err
			}
			// members and groups may appear in filters, so load them.
			ok, err := rt.Match(q.Filter, td.load(e, scimd.ReadOptions{Members: true, Groups: true}))
			if err != nil {
				return nil, err
			}
			if ok {
				matched = append(matched, e)
			}
		}
		entries = matched
	}

	// Every entry gets its position in the list's order: (sort key, seq).
	keys := make([]scimd.PageKey, len(entries))
	for i, e := range entries {
		keys[i].Seq = e.seq
	}
	if q.SortBy != nil {
		if err := s.sortEntries(entries, keys, q.Type, *q.SortBy, q.SortDescending); err != nil {
			return nil, err
		}
	} else if q.SortDescending {
		slices.Reverse(entries)
		slices.Reverse(keys)
	}

	res := &scimd.ListResult{TotalResults: len(entries)}
	if q.UseCursor {
		return res, s.cursorPage(td, tenant, q, entries, keys, res)
	}
	start := max(q.StartIndex, 1) - 1
	if start >= len(entries) || q.Count <= 0 {
		return res, nil
	}
	end := min(start+q.Count, len(entries))
	for _, e := range entries[start:end] {
		res.Resources = append(res.Resources, td.load(e, q.ReadOptions))
	}
	return res, nil
}

// cursorPage serves an RFC 9865 cursor query from the sorted entries: a
// cursor carries the position (sort key, seq) of the last row served (or,
// for previousCursor, of the first), so a walk resumes after that row even
// when rows were created or deleted meanwhile.
func (s *memStore) cursorPage(td *tenantData, tenant string, q *scimd.ListQuery, entries []*entry, keys []scimd.PageKey, res *scimd.ListResult) error {
	if q.Count <= 0 {
		return nil
	}
	var at *scimd.PageKey
	if q.Cursor != "" {
		k, err := scimd.DecodeCursor(tenant, q, q.Cursor)
		if err != nil {
			return err
		}
		at = &k
	}
	// keys is sorted by comparePos: find where the position falls.
	from, to := 0, min(q.Count, len(keys))
	switch {
	case at == nil:
	case at.Before:
		to, _ = slices.BinarySearchFunc(keys, *at, func(k, t scimd.PageKey) int { return comparePos(k, t, q.SortDescending) })
		from = max(0, to-q.Count)
	default:
		from = sortSearch(len(keys), func(i int) bool { return comparePos(keys[i], *at, q.SortDescending) > 0 })
		to = min(from+q.Count, len(keys))
	}
	for _, e := range entries[from:to] {
		res.Resources = append(res.Resources, td.load(e, q.ReadOptions))
	}
	if from == to {
		return nil
	}
	last, first := keys[to-1], keys[from]
	first.Before = true
	if to < len(keys) {
		res.NextCursor = scimd.EncodeCursor(tenant, q, last)
	}
	if from > 0 && at != nil {
		res.PreviousCursor = scimd.EncodeCursor(tenant, q, first)
	}
	return nil
}

// sortSearch is sort.Search: the smallest i in [0, n) with f(i) true, or n.
func sortSearch(n int, f func(int) bool) int {
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !f(m) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// comparePos orders two positions as List sorts: by key (nil keys last
// ascending, first descending; values reversed when descending), then by
// seq ascending. Without sortBy every key is nil and descending order
// reverses seq.
func comparePos(a, b scimd.PageKey, desc bool) int {
	var c int
	switch {
	case a.Value == nil && b.Value == nil:
		if desc {
			return cmp.Compare(b.Seq, a.Seq)
		}
	case a.Value == nil:
		c = 1
		if desc {
			c = -1
		}
	case b.Value == nil:
		c = -1
		if desc {
			c = 1
		}
	default:
		c = compareNormal(a.Value, b.Value)
		if desc {
			c = -c
		}
	}
	if c != 0 {
		return c
	}
	return cmp.Compare(a.Seq, b.Seq)
}

// compareNormal orders two values made by normalKey.
func compareNormal(x, y any) int {
	switch x := x.(type) {
	case bool:
		y, _ := y.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case float64:
		y, _ := y.(float64)
		return cmp.Compare(x, y)
	case time.Time:
		y, _ := y.(time.Time)
		return x.Compare(y)
	case string:
		y, _ := y.(string)
		return strings.Compare(x, y)
	}
	return 0
}

// Update implements scimd.Store. fn runs with the store locked, so updates
// of one resource never interleave and no retry is needed.
func (s *memStore) Update(ctx context.Context, tenant, typ, id string, opt scimd.ReadOptions, fn scimd.UpdateFunc) (*scimd.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	td := s.tenant(tenant)
	e, err := td.lookup(typ, id)
	if err != nil {
		return nil, err
	}
	rt, err := s.resourceType(e.r.Type)
	if err != nil {
		return nil, err
	}

	work := td.load(e, scimd.ReadOptions{})
	work.Members, work.Groups = nil, nil
	ops, err := fn(work)
	if err != nil {
		return nil, err
	}
	// The store owns these, whatever fn did to them.
	work.Type, work.ID = e.r.Type, e.r.ID
	work.Meta = e.r.Meta
	work.Attrs = cloneAttrs(work.Attrs)
	work.Schemas = slices.Clone(work.Schemas)
	work.Members, work.Groups, work.MemberCount = nil, nil, 0
	if err := td.checkUnique(work); err != nil {
		return nil, err
	}
	if len(ops) > 0 {
		if !isGroup(rt) {
			return nil, scimd.BadRequest(scimd.ScimTypeInvalidValue, "a %s has no members", rt.Name)
		}
		if err := s.applyOps(td, rt, id, ops); err != nil {
			return nil, err
		}
	}
	work.Meta.Version++
	work.Meta.LastModified = s.now()
	e.r = work
	return td.load(e, opt), nil
}

// Delete implements scimd.Store.
func (s *memStore) Delete(ctx context.Context, tenant, typ, id string, check func(*scimd.Resource) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	td := s.tenant(tenant)
	e, err := td.lookup(typ, id)
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(td.load(e, scimd.ReadOptions{})); err != nil {
			return err
		}
	}
	delete(td.res, id)
	delete(td.members, id)
	for _, ms := range td.members {
		delete(ms, id)
	}
	return nil
}

// lookup returns the resource of type typ with the given id, or NotFound.
func (td *tenantData) lookup(typ, id string) (*entry, error) {
	e := td.res[id]
	if e == nil || !strings.EqualFold(e.r.Type, typ) {
		return nil, scimd.NotFound("%s %q not found", typ, id)
	}
	return e, nil
}

// load returns a copy of e's resource with MemberCount set and, as opt
// says, Members or Groups loaded.
func (td *tenantData) load(e *entry, opt scimd.ReadOptions) *scimd.Resource {
	r := *e.r
	r.Attrs = cloneAttrs(e.r.Attrs)
	r.Schemas = slices.Clone(e.r.Schemas)
	if ms, ok := td.members[r.ID]; ok {
		r.MemberCount = len(ms)
		if opt.Members {
			list := make([]*member, 0, len(ms))
			for _, m := range ms {
				list = append(list, m)
			}
			slices.SortFunc(list, func(a, b *member) int { return cmp.Compare(a.seq, b.seq) })
			r.Members = make([]scimd.Member, len(list))
			for i, m := range list {
				r.Members[i] = scimd.Member{Value: m.value, Type: m.typ, Display: td.display(m)}
			}
		}
	}
	if opt.Groups && r.Type == scimd.TypeUser {
		var groups []*entry
		for gid, ms := range td.members {
			if ms[r.ID] != nil {
				groups = append(groups, td.res[gid])
			}
		}
		slices.SortFunc(groups, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
		r.Groups = make([]scimd.GroupRef, len(groups))
		for i, g := range groups {
			name, _ := g.r.Attrs["displayName"].(string)
			r.Groups[i] = scimd.GroupRef{Value: g.r.ID, Display: name}
		}
	}
	return &r
}

// display returns the display of a membership: as the client sent it,
// else the member's displayName, else its userName.
func (td *tenantData) display(m *member) string {
	if m.display != "" {
		return m.display
	}
	if e := td.res[m.value]; e != nil {
		for _, k := range []string{"displayName", "userName"} {
			if s, ok := e.r.Attrs[k].(string); ok && s != "" {
				return s
			}
		}
	}
	return ""
}

// uniqueAttr names the attribute that must be unique per tenant
// (case-insensitively) for each resource type.
var uniqueAttr = map[string]string{
	scimd.TypeUser:  "userName",
	scimd.TypeGroup: "displayName",
}

// checkUnique returns Conflict if another resource of r's type in the
// tenant has the same unique attribute value.
func (td *tenantData) checkUnique(r *scimd.Resource) error {
	attr := uniqueAttr[r.Type]
	if attr == "" {
		return nil
	}
	v, _ := r.Attrs[attr].(string)
	if v == "" {
		return nil
	}
	for id, e := range td.res {
		if id == r.ID || e.r.Type != r.Type {
			continue
		}
		if other, _ := e.r.Attrs[attr].(string); strings.EqualFold(other, v) {
			return scimd.Conflict("a %s with %s %q already exists", r.Type, attr, v)
		}
	}
	return nil
}

// applyOps applies membership changes to group gid in order. On error
// every change already made is undone, so the update writes nothing. The
// ops run after every other check of the update, so nothing can fail
// once they succeed.
func (s *memStore) applyOps(td *tenantData, rt *schema.ResourceType, gid string, ops []scimd.MemberOp) (err error) {
	ms := td.members[gid]
	var log []func() // undo actions
	remove := func(id string) {
		if m := ms[id]; m != nil {
			delete(ms, id)
			log = append(log, func() { ms[id] = m })
		}
	}
	defer func() {
		if err != nil {
			for i := len(log) - 1; i >= 0; i-- {
				log[i]()
			}
		}
	}()
	for _, op := range ops {
		switch op.Kind {
		case scimd.MemberAdd:
			for _, m := range op.Members {
				if m.Value == gid {
					return scimd.BadRequest(scimd.ScimTypeInvalidValue, "a group cannot be a member of itself")
				}
				target := td.res[m.Value]
				if target == nil {
					return scimd.BadRequest(scimd.ScimTypeInvalidValue, "members: no User or Group with id %q", m.Value)
				}
				if ms[m.Value] != nil {
					continue
				}
				id := m.Value
				ms[id] = &member{value: id, typ: target.r.Type, display: m.Display, seq: s.nextSeq()}
				log = append(log, func() { delete(ms, id) })
			}
		case scimd.MemberRemove:
			for _, m := range op.Members {
				remove(m.Value)
			}
		case scimd.MemberRemoveAll:
			for id := range ms {
				remove(id)
			}
		case scimd.MemberRemoveWhere:
			attr := rt.Schema.Attr("members")
			for id, m := range ms {
				v := map[string]any{"value": m.value, "type": m.typ, "display": td.display(m)}
				ok, err := schema.MatchValue(attr, op.Filter, v)
				if err != nil {
					return err
				}
				if ok {
					remove(id)
				}
			}
		default:
			return fmt.Errorf("memstore: unknown member op %d", op.Kind)
		}
	}
	return nil
}

func isGroup(rt *schema.ResourceType) bool { return rt.Name == scimd.TypeGroup }

// sortEntries sorts entries (and their positions, keys) by the attribute
// p, per RFC 7644 §3.4.2.3: strings by their caseExact rule, multi-valued
// attributes by their primary (else first) value, resources without a
// value last when ascending and first when descending, ties in creation
// order. It sets each key's Value to the entry's normalised sort key.
func (s *memStore) sortEntries(entries []*entry, keys []scimd.PageKey, typ string, p filter.AttrPath, desc bool) error {
	type keyed struct {
		e   *entry
		pos scimd.PageKey
	}
	ks := make([]keyed, len(entries))
	for i, e := range entries {
		rt, err := s.resourceType(e.r.Type)
		if err != nil {
			return err
		}
		ks[i] = keyed{e: e, pos: scimd.PageKey{Seq: e.seq}}
		res, err := rt.Resolve(p)
		if err != nil {
			if typ == "" {
				continue
			}
			return err
		}
		ks[i].pos.Value = normalKey(res.Target(), sortValue(rt, e.r, res))
	}
	slices.SortFunc(ks, func(a, b keyed) int { return comparePos(a.pos, b.pos, desc) })
	for i, k := range ks {
		entries[i], keys[i] = k.e, k.pos
	}
	return nil
}

// normalKey turns a sort value of attribute a into a value that orders by
// compareNormal and survives a cursor (scimd.EncodeCursor): bool, float64,
// time.Time or string (folded unless caseExact); nil stays nil.
func normalKey(a *schema.Attribute, v any) any {
	if v == nil || a == nil {
		return nil
	}
	switch a.Type {
	case schema.Boolean:
		b, _ := v.(bool)
		return b
	case schema.Integer, schema.Decimal:
		return toFloat(v)
	case schema.DateTime:
		return toTime(v)
	}
	str := fmt.Sprint(v)
	if !a.CaseExact {
		str = strings.ToLower(str)
	}
	return str
}

// sortValue returns the value of the resolved attribute in r, or nil.
func sortValue(rt *schema.ResourceType, r *scimd.Resource, res schema.Resolved) any {
	var v any
	switch {
	case res.Attr == nil:
		return nil
	case res.Schema == nil && res.Attr.Name == "id":
		return r.ID
	case res.Schema == nil && res.Attr.Name == "meta":
		if res.Sub == nil {
			return nil
		}
		switch res.Sub.Name {
		case "created":
			return r.Meta.Created
		case "lastModified":
			return r.Meta.LastModified
		case "resourceType":
			return rt.Name
		}
		return nil
	case res.Key(rt) == "":
		v = r.Attrs[res.Attr.Name]
	default:
		ext, _ := r.Attrs[res.Key(rt)].(map[string]any)
		v = ext[res.Attr.Name]
	}
	if l, ok := v.([]any); ok {
		v = nil
		for i, el := range l {
			if m, ok := el.(map[string]any); (ok && m["primary"] == true) || i == 0 {
				v = el
			}
		}
	}
	if res.Sub != nil {
		m, _ := v.(map[string]any)
		v = m[res.Sub.Name]
	}
	return v
}

func toFloat(v any) float64 {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case float64:
		return n
	case json.Number:
		f, _ := n.Float64()
		return f
	}
	return 0
}

func toTime(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t
	case string:
		tt, _ := time.Parse(time.RFC3339Nano, t)
		return tt
	}
	return time.Time{}
}

// cloneAttrs deep-copies JSON-shaped attribute values, so that callers
// never share maps or slices with the store.
func cloneAttrs(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneAttrs(x)
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			out[i] = cloneValue(el)
		}
		return out
	}
	return v
}
