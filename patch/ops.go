package patch

import (
	"strings"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
)

// plain applies an operation whose path names a whole attribute.
func (a *applier) plain(kind string, t target, value any) error {
	if kind == OpRemove {
		if value != nil && t.attr.MultiValued {
			return a.removeListed(t, value)
		}
		a.set(t, nil)
		return nil
	}
	v, err := coerce(t.attr, value)
	if err != nil {
		return err
	}
	if v == nil {
		// null, [] or {} clear on replace. A value that only held ignored
		// parts (readOnly or unknown sub-attributes) changes nothing.
		if kind == OpReplace && isEmpty(value) {
			a.set(t, nil)
		}
		return nil
	}
	if t.attr.MultiValued {
		add := asList(v)
		if kind == OpReplace {
			a.set(t, nil)
		}
		if len(add) == 0 {
			return nil
		}
		list := asList(a.get(t))
		var touched []int
		for _, e := range add {
			if containsEqual(t.attr, list, e) {
				continue // adding an existing value is a no-op
			}
			touched = append(touched, len(list))
			list = append(list, e)
		}
		clearOtherPrimaries(t.attr, list, touched)
		a.set(t, list)
		return nil
	}
	if t.attr.Type == schema.Complex {
		src, ok := v.(map[string]any)
		if !ok {
			return scimd.BadRequest(scimd.ScimTypeInvalidValue, "attribute %q needs an object value", pathName(t))
		}
		dst, _ := a.get(t).(map[string]any)
		if dst == nil {
			dst = make(map[string]any, len(src))
		}
		if err := mergeInto(t, dst, src); err != nil {
			return err
		}
		a.set(t, dst)
		return nil
	}
	a.set(t, v)
	return nil
}

// removeListed removes the values of a multi-valued attribute equal to one
// of the listed values (Entra's remove with a value list). A listed object
// matches a value when every sub-attribute it names is equal.
func (a *applier) removeListed(t target, value any) error {
	listed, err := coerce(t.attr, value)
	if err != nil {
		return err
	}
	want := asList(listed)
	if len(want) == 0 {
		return nil
	}
	list := asList(a.get(t))
	out := list[:0]
	for _, e := range list {
		drop := false
		for _, w := range want {
			if matchesListed(t.attr, e, w) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, e)
		}
	}
	clear(list[len(out):])
	a.set(t, out)
	return nil
}

// subPath applies an operation on attr.sub without a filter: on the complex
// value of a single-valued attribute, or on every value of a multi-valued one.
func (a *applier) subPath(kind string, t target, value any) error {
	var v any
	if kind != OpRemove {
		var err error
		if v, err = coerce(t.sub, value); err != nil {
			return err
		}
		if v == nil && kind == OpAdd {
			return nil
		}
	}
	if !t.attr.MultiValued {
		m, _ := a.get(t).(map[string]any)
		if m == nil {
			if v == nil {
				return nil
			}
			m = map[string]any{}
		}
		if err := setSub(t, m, v); err != nil {
			return err
		}
		a.set(t, m)
		return nil
	}
	list := asList(a.get(t))
	if len(list) == 0 {
		if v == nil {
			return nil
		}
		list = []any{map[string]any{}}
	}
	var touched []int
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if err := setSub(t, m, v); err != nil {
			return err
		}
		touched = append(touched, i)
	}
	clearOtherPrimaries(t.attr, list, touched)
	a.set(t, dropEmpty(list))
	return nil
}

// setSub sets (or, for a nil v, deletes) the sub-attribute t.sub of m,
// enforcing immutability.
func setSub(t target, m map[string]any, v any) error {
	old, had := m[t.sub.Name]
	if t.sub.Mutability == schema.Immutable && had && old != nil && !equalElem(t.sub, old, v) {
		return scimd.BadRequest(scimd.ScimTypeMutability, "sub-attribute %q is immutable and already has a value", pathName(t))
	}
	if v == nil {
		delete(m, t.sub.Name)
	} else {
		m[t.sub.Name] = v
	}
	if t.sub.Name == "value" && had && !equalElem(t.sub, old, v) {
		// The server derives readOnly sub-attributes from the value
		// (manager.displayName); they describe the old value now.
		for _, s := range t.attr.SubAttributes {
			if s.Mutability == schema.ReadOnly {
				delete(m, s.Name)
			}
		}
	}
	return nil
}

// mergeInto copies the sub-attributes of src into dst, skipping readOnly
// ones and enforcing immutability. Null sub-attributes clear.
func mergeInto(t target, dst, src map[string]any) error {
	for k, v := range src {
		sub := t.attr.Sub(k)
		if sub == nil {
			continue
		}
		if sub.Mutability == schema.ReadOnly {
			continue
		}
		st := t
		st.sub = sub
		if err := setSub(st, dst, v); err != nil {
			return err
		}
	}
	return nil
}

// valuePath applies an operation whose path has a value filter.
func (a *applier) valuePath(kind string, t target, value any) error {
	if t.attr.Type != schema.Complex {
		if !t.attr.MultiValued {
			return scimd.BadRequest(scimd.ScimTypeInvalidPath, "attribute %q is single-valued and not complex, so it cannot be filtered", pathName(t))
		}
	}
	if err := checkValueFilter(t.attr, t.f); err != nil {
		return err
	}
	var list []any
	if t.attr.MultiValued {
		list = asList(a.get(t))
	} else if m, ok := a.get(t).(map[string]any); ok {
		list = []any{m}
	}
	var matched []int
	created := false // the value was created from the filter (create-on-absent)
	for i, e := range list {
		ok, err := schema.MatchValue(t.attr, t.f, e)
		if err != nil {
			return asPathError(err)
		}
		if ok {
			matched = append(matched, i)
		}
	}

	if kind == OpRemove {
		if len(matched) == 0 {
			return nil // removing what is not there succeeds
		}
		if t.sub == nil {
			list = deleteIndexes(list, matched)
		} else {
			for _, i := range matched {
				if m, ok := list[i].(map[string]any); ok {
					if err := setSub(t, m, nil); err != nil {
						return err
					}
				}
			}
			list = dropEmpty(list)
		}
		a.storeList(t, list)
		return nil
	}

	var v any
	var err error
	if t.sub != nil {
		v, err = coerce(t.sub, value)
	} else {
		v, err = coerceElem(t.attr, value)
	}
	if err != nil {
		return err
	}
	if len(matched) == 0 {
		if v == nil {
			return nil // nothing to set, nothing to clear
		}
		if kind == OpReplace && a.opt.StrictReplace {
			return scimd.BadRequest(scimd.ScimTypeNoTarget, "no value of %q matches the filter %s", pathName(target{key: t.key, attr: t.attr}), truncate(t.f.String()))
		}
		elem, ok, err := elementFromFilter(t.attr, t.f)
		if err != nil {
			return err
		}
		if !ok {
			return scimd.BadRequest(scimd.ScimTypeNoTarget, "no value of %q matches the filter %s, and only a filter of \"eq\" comparisons joined by \"and\" can create one", pathName(target{key: t.key, attr: t.attr}), truncate(t.f.String()))
		}
		list = append(list, elem)
		matched = []int{len(list) - 1}
		created = true
	}
	for _, i := range matched {
		m, ok := list[i].(map[string]any)
		if !ok {
			// A simple multi-valued attribute: the matching value is replaced.
			if t.sub == nil && t.attr.Type != schema.Complex {
				list[i] = v
			}
			continue
		}
		switch {
		case t.sub != nil:
			err = setSub(t, m, v)
		case v == nil:
			// replace with null: nothing to merge
		default:
			src, ok := v.(map[string]any)
			if !ok {
				return scimd.BadRequest(scimd.ScimTypeInvalidValue, "attribute %q needs an object value", pathName(t))
			}
			if kind == OpReplace && !created {
				// RFC 7644 §3.5.2.3: the matching values are replaced whole.
				m = map[string]any{}
				list[i] = m
			}
			err = mergeInto(t, m, src)
		}
		if err != nil {
			return err
		}
	}
	if t.attr.MultiValued {
		clearOtherPrimaries(t.attr, list, matched)
		list = dedupe(t.attr, dropEmpty(list))
	}
	a.storeList(t, list)
	return nil
}

// storeList stores the values of a filtered attribute back: the list for a
// multi-valued attribute, its only element for a single-valued complex one.
func (a *applier) storeList(t target, list []any) {
	if t.attr.MultiValued {
		a.set(t, list)
		return
	}
	if len(list) == 0 {
		a.set(t, nil)
		return
	}
	a.set(t, list[0])
}

// asPathError turns an error evaluating a value filter into invalidPath: in
// a PATCH path, a bad filter is a bad path.
func asPathError(err error) error {
	if e, ok := scimd.AsError(err); ok && e.ScimType == scimd.ScimTypeInvalidFilter {
		c := *e
		c.ScimType = scimd.ScimTypeInvalidPath
		return &c
	}
	return err
}

// checkValueFilter checks that every attribute a value filter names is a
// sub-attribute of attr ("value" for a simple multi-valued attribute).
func checkValueFilter(attr *schema.Attribute, e filter.Expr) error {
	switch e := e.(type) {
	case *filter.Compare:
		p := e.Path
		if p.URN != "" || p.Sub != "" {
			return scimd.BadRequest(scimd.ScimTypeInvalidPath, "the filter on %q may only name its sub-attributes, not %q", attr.Name, truncate(p.String()))
		}
		if attr.Type == schema.Complex {
			if attr.Sub(p.Name) == nil {
				return scimd.BadRequest(scimd.ScimTypeInvalidPath, "%q has no sub-attribute %q", attr.Name, truncate(p.Name))
			}
		} else if !strings.EqualFold(p.Name, "value") {
			return scimd.BadRequest(scimd.ScimTypeInvalidPath, "the filter on %q may only compare \"value\"", attr.Name)
		}
		return nil
	case *filter.Logical:
		if err := checkValueFilter(attr, e.Left); err != nil {
			return err
		}
		return checkValueFilter(attr, e.Right)
	case *filter.Not:
		return checkValueFilter(attr, e.X)
	case nil:
		return scimd.BadRequest(scimd.ScimTypeInvalidPath, "empty filter on %q", attr.Name)
	default:
		return scimd.BadRequest(scimd.ScimTypeInvalidPath, "the filter on %q cannot nest another value filter", attr.Name)
	}
}

// elementFromFilter builds the value a value path describes when its filter
// is a conjunction of "eq" comparisons with non-null values: emails[type eq
// "work"] gives {"type": "work"}. ok is false for any other filter.
func elementFromFilter(attr *schema.Attribute, e filter.Expr) (map[string]any, bool, error) {
	if attr.Type != schema.Complex {
		return nil, false, nil
	}
	elem := map[string]any{}
	var walk func(filter.Expr) (bool, error)
	walk = func(e filter.Expr) (bool, error) {
		switch e := e.(type) {
		case *filter.Compare:
			sub := attr.Sub(e.Path.Name)
			if e.Op != filter.OpEq || e.Value == nil || sub == nil || sub.MultiValued {
				return false, nil
			}
			v, err := coerce(sub, e.Value)
			if err != nil || v == nil {
				return false, err
			}
			if old, ok := elem[sub.Name]; ok && !equalElem(sub, old, v) {
				return false, nil // type eq "a" and type eq "b"
			}
			elem[sub.Name] = v
			return true, nil
		case *filter.Logical:
			if !e.And {
				return false, nil
			}
			if ok, err := walk(e.Left); !ok || err != nil {
				return false, err
			}
			return walk(e.Right)
		}
		return false, nil
	}
	ok, err := walk(e)
	if !ok || err != nil {
		return nil, false, err
	}
	return elem, true, nil
}
