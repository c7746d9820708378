package patch

import (
	"strings"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
)

// memberOp translates an operation on a Group's "members" into MemberOps:
// members are never loaded, so nothing in r changes.
func (a *applier) memberOp(kind string, p filter.Path, res schema.Resolved, value any) error {
	if res.Sub != nil || p.Sub != "" {
		return scimd.BadRequest(scimd.ScimTypeInvalidPath, "sub-attributes of members cannot be patched; add or remove whole members instead")
	}
	if p.Filter != nil {
		if kind != OpRemove {
			return scimd.BadRequest(scimd.ScimTypeInvalidPath, "a filter on members is only supported by remove; use add with path \"members\" to add members")
		}
		if ids, ok := memberIDs(p.Filter, nil); ok {
			ms := make([]scimd.Member, len(ids))
			for i, id := range ids {
				ms[i].Value = id
			}
			a.members = append(a.members, scimd.MemberOp{Kind: scimd.MemberRemove, Members: ms})
			return nil
		}
		f, err := memberFilter(p.Filter)
		if err != nil {
			return err
		}
		a.members = append(a.members, scimd.MemberOp{Kind: scimd.MemberRemoveWhere, Filter: f})
		return nil
	}
	switch kind {
	case OpRemove:
		if value == nil {
			a.members = append(a.members, scimd.MemberOp{Kind: scimd.MemberRemoveAll})
			return nil
		}
		ms, err := parseMembers(value)
		if err != nil {
			return err
		}
		if len(ms) > 0 {
			a.members = append(a.members, scimd.MemberOp{Kind: scimd.MemberRemove, Members: ms})
		}
		return nil
	case OpReplace:
		if !a.opt.MemberReplaceAdds {
			ms, err := parseMembers(value)
			if err != nil {
				return err
			}
			a.members = append(a.members, scimd.MemberOp{Kind: scimd.MemberRemoveAll})
			if len(ms) > 0 {
				a.members = append(a.members, scimd.MemberOp{Kind: scimd.MemberAdd, Members: ms})
			}
			return nil
		}
	}
	ms, err := parseMembers(value)
	if err != nil {
		return err
	}
	if len(ms) > 0 {
		a.members = append(a.members, scimd.MemberOp{Kind: scimd.MemberAdd, Members: ms})
	}
	return nil
}

// memberIDs returns the ids of a filter that is `value eq "id"` or an
// or-chain of such comparisons.
func memberIDs(e filter.Expr, ids []string) ([]string, bool) {
	switch e := e.(type) {
	case *filter.Compare:
		s, ok := e.Value.(string)
		if !ok || e.Op != filter.OpEq || e.Path.URN != "" || e.Path.Sub != "" || !strings.EqualFold(e.Path.Name, "value") {
			return nil, false
		}
		return append(ids, s), true
	case *filter.Logical:
		if e.And {
			return nil, false
		}
		ids, ok := memberIDs(e.Left, ids)
		if !ok {
			return nil, false
		}
		return memberIDs(e.Right, ids)
	}
	return nil, false
}

// memberFilter checks a filter on members and returns a copy with canonical
// sub-attribute names ("value", "type", "display") and canonical type values
// ("User", "Group"), for the store to evaluate.
func memberFilter(e filter.Expr) (filter.Expr, error) {
	switch e := e.(type) {
	case *filter.Compare:
		p := e.Path
		if p.URN != "" || p.Sub != "" {
			return nil, scimd.BadRequest(scimd.ScimTypeInvalidPath, "a filter on members may only name value, type or display, not %q", truncate(p.String()))
		}
		var name string
		for _, n := range [...]string{"value", "type", "display"} {
			if strings.EqualFold(p.Name, n) {
				name = n
			}
		}
		if name == "" {
			return nil, scimd.BadRequest(scimd.ScimTypeInvalidPath, "a filter on members may only name value, type or display, not %q", truncate(p.Name))
		}
		v := e.Value
		if s, ok := v.(string); ok && name == "type" {
			if t, ok := memberType(s); ok {
				v = t
			}
		}
		return &filter.Compare{Path: filter.AttrPath{Name: name}, Op: e.Op, Value: v}, nil
	case *filter.Logical:
		l, err := memberFilter(e.Left)
		if err != nil {
			return nil, err
		}
		r, err := memberFilter(e.Right)
		if err != nil {
			return nil, err
		}
		return &filter.Logical{And: e.And, Left: l, Right: r}, nil
	case *filter.Not:
		x, err := memberFilter(e.X)
		if err != nil {
			return nil, err
		}
		return &filter.Not{X: x}, nil
	case nil:
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidPath, "empty filter on members")
	default:
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidPath, "a filter on members cannot nest another value filter")
	}
}

// memberType canonicalises a member type case-insensitively.
func memberType(s string) (string, bool) {
	switch {
	case strings.EqualFold(s, scimd.TypeUser):
		return scimd.TypeUser, true
	case strings.EqualFold(s, scimd.TypeGroup):
		return scimd.TypeGroup, true
	}
	return "", false
}

// parseMembers reads a members value: a list of {"value", "display",
// "$ref", "type"} objects (a single object and bare id strings are
// tolerated). Duplicate ids are dropped, keeping the first.
func parseMembers(v any) ([]scimd.Member, error) {
	var list []any
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []any:
		list = v
	case map[string]any, string:
		list = []any{v}
	default:
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidValue, "members must be a list of objects with a \"value\", not %s", jsonKind(v))
	}
	ms := make([]scimd.Member, 0, len(list))
	var seen map[string]bool
	if len(list) > 1 {
		seen = make(map[string]bool, len(list))
	}
	for i, e := range list {
		m, err := parseMember(i, e)
		if err != nil {
			return nil, err
		}
		if seen != nil {
			if seen[m.Value] {
				continue
			}
			seen[m.Value] = true
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func parseMember(i int, e any) (scimd.Member, error) {
	var m scimd.Member
	switch e := e.(type) {
	case string:
		m.Value = e
	case map[string]any:
		for k, v := range e {
			switch {
			case strings.EqualFold(k, "value"):
				s, ok := v.(string)
				if !ok && v != nil {
					return m, scimd.BadRequest(scimd.ScimTypeInvalidValue, "members[%d].value must be a string id, not %s", i, jsonKind(v))
				}
				m.Value = s
			case strings.EqualFold(k, "display"):
				s, ok := v.(string)
				if !ok && v != nil {
					return m, scimd.BadRequest(scimd.ScimTypeInvalidValue, "members[%d].display must be a string, not %s", i, jsonKind(v))
				}
				m.Display = s
			case strings.EqualFold(k, "type"):
				if v == nil {
					continue
				}
				s, _ := v.(string)
				t, ok := memberType(s)
				if !ok {
					return m, scimd.BadRequest(scimd.ScimTypeInvalidValue, "members[%d].type must be \"User\" or \"Group\", not %s", i, quoteValue(v))
				}
				m.Type = t
			}
			// "$ref" (often null from Entra) and unknown keys are ignored:
			// the id in "value" identifies the member.
		}
	default:
		return m, scimd.BadRequest(scimd.ScimTypeInvalidValue, "members[%d] must be an object with a \"value\", not %s", i, jsonKind(e))
	}
	if strings.TrimSpace(m.Value) == "" {
		return m, scimd.BadRequest(scimd.ScimTypeInvalidValue, "members[%d] has no \"value\" (the member's id)", i)
	}
	return m, nil
}
