package sqlbuild

import (
	"strings"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
)

// OrderBy returns the ORDER BY list (without the keywords) for sorting
// resources of type rt by path: strings folded unless caseExact, dateTimes
// as instants, resources without a value last when ascending and first when
// descending (RFC 7644 §3.4.2.3), ties broken by creation order (r.seq). A
// nil path gives creation order. Paths that are not singular attributes give
// BadRequest invalidValue; unknown attributes BadRequest invalidPath.
func (b *Builder) OrderBy(rt *schema.ResourceType, path *filter.AttrPath, desc bool) (string, error) {
	if path == nil {
		if desc {
			return "r.seq DESC", nil
		}
		return "r.seq", nil
	}
	key, err := b.sortKey(rt, *path)
	if err != nil {
		return "", err
	}
	return orderList(key, desc), nil
}

// OrderByAny is OrderBy for a query across several resource types: the sort
// key is taken per type (NULL for a type lacking the attribute).
func (b *Builder) OrderByAny(types []*schema.ResourceType, path *filter.AttrPath, desc bool) (string, error) {
	if path == nil {
		return b.OrderBy(nil, nil, desc)
	}
	key, err := b.SortKeyAny(types, path)
	if err != nil {
		return "", err
	}
	return orderList(key, desc), nil
}

func orderList(key string, desc bool) string {
	if desc {
		return key + " DESC NULLS FIRST, r.seq"
	}
	return key + " ASC NULLS LAST, r.seq"
}

func (b *Builder) sortKey(rt *schema.ResourceType, p filter.AttrPath) (string, error) {
	c := &compiler{b: b, rt: rt}
	res, err := rt.Resolve(p)
	if err != nil {
		return "", err
	}
	if res.Attr == nil {
		return "", scimd.BadRequest(scimd.ScimTypeInvalidValue, "cannot sort by the schema %q", p.String())
	}
	f, err := c.resourceField(p)
	if err != nil {
		return "", scimd.BadRequest(scimd.ScimTypeInvalidValue, "cannot sort by %q", p.String())
	}
	if m, ok := f.(modifiedIndex); ok {
		f = m.scalar // sorted by the resource's own column
	}
	s, ok := f.(scalar)
	if !ok {
		return "", scimd.BadRequest(scimd.ScimTypeInvalidValue, "cannot sort by %q: not a singular attribute", p.String())
	}
	switch {
	case s.timeCol:
		return s.expr, nil
	case s.typ == schema.DateTime:
		return b.D.DateTime(s.expr), nil
	case isStringy(s.typ) && !s.caseExact && !s.folded:
		return b.D.Fold(s.expr), nil
	}
	return s.expr, nil
}

// SortKey returns the sort key expression OrderBy sorts by (without
// direction or tie-break), or "" for a nil path (creation order, r.seq).
// Stores use it to select the key of each row for keyset paging.
func (b *Builder) SortKey(rt *schema.ResourceType, path *filter.AttrPath) (string, error) {
	if path == nil {
		return "", nil
	}
	return b.sortKey(rt, *path)
}

// SortKeyAny is SortKey for a query across several resource types, as
// OrderByAny sorts.
func (b *Builder) SortKeyAny(types []*schema.ResourceType, path *filter.AttrPath) (string, error) {
	if path == nil {
		return "", nil
	}
	var whens []string
	var first error
	for _, rt := range types {
		key, err := b.sortKey(rt, *path)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		whens = append(whens, " WHEN "+b.D.Quote(rt.Name)+" THEN "+key)
	}
	if len(whens) == 0 {
		return "", first
	}
	return "CASE r.type" + strings.Join(whens, "") + " END", nil
}
