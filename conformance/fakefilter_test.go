package conformance

// The fake server's filter parser and PATCH.

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/scimd/scimd/scimclient"
)

type matcher func(map[string]any) bool

// tokenize splits a filter into words, quoted strings (kept with their
// quotes) and the punctuation ( ) [ ].
func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			i++
		case strings.ContainsRune("()[]", rune(c)):
			toks = append(toks, string(c))
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, errors.New("unterminated string")
			}
			toks = append(toks, s[i:j+1])
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(` ()[]"`, rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

type fparser struct {
	f    *fake
	toks []string
	pos  int
}

func (p *fparser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *fparser) next() string {
	t := p.peek()
	p.pos++
	return t
}

func (p *fparser) keyword(t, kw string) bool {
	if p.f.has("filter-names-case-sensitive") {
		return t == kw
	}
	return strings.EqualFold(t, kw)
}

func (f *fake) parseFilter(s string) (matcher, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &fparser{f: f, toks: toks}
	m, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.peek())
	}
	return m, nil
}

func (p *fparser) or() (matcher, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword(p.peek(), "or") {
		p.next()
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(r map[string]any) bool { return l(r) || right(r) }
	}
	return left, nil
}

func (p *fparser) and() (matcher, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.keyword(p.peek(), "and") {
		p.next()
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		l := left
		if p.f.has("filter-and-as-or") {
			left = func(r map[string]any) bool { return l(r) || right(r) }
		} else {
			left = func(r map[string]any) bool { return l(r) && right(r) }
		}
	}
	return left, nil
}

func (p *fparser) unary() (matcher, error) {
	switch t := p.peek(); {
	case p.keyword(t, "not"):
		p.next()
		if p.next() != "(" {
			return nil, errors.New("not must be followed by (")
		}
		m, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, errors.New("missing )")
		}
		if p.f.has("filter-not-ignored") {
			return m, nil
		}
		return func(r map[string]any) bool { return !m(r) }, nil
	case t == "(":
		p.next()
		m, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, errors.New("missing )")
		}
		return m, nil
	case t == "" || strings.ContainsAny(t[:1], `()[]"`):
		return nil, fmt.Errorf("expected an attribute, got %q", t)
	}
	attr := p.next()
	if p.peek() == "[" {
		p.next()
		inner, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != "]" {
			return nil, errors.New("missing ]")
		}
		sub := ""
		if strings.HasPrefix(p.peek(), ".") {
			sub = strings.TrimPrefix(p.next(), ".")
		}
		var test func(map[string]any) bool = func(map[string]any) bool { return true }
		if sub != "" {
			cmp, err := p.comparison(sub)
			if err != nil {
				return nil, err
			}
			test = cmp
		}
		return func(r map[string]any) bool {
			for _, e := range p.f.values(r, attr) {
				if m, ok := e.(map[string]any); ok && inner(m) && test(m) {
					return true
				}
			}
			return false
		}, nil
	}
	return p.comparison(attr)
}

var filterOps = []string{"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}

// comparison parses "op value" or "pr" after attr.
func (p *fparser) comparison(attr string) (matcher, error) {
	op := p.next()
	if p.keyword(op, "pr") {
		return func(r map[string]any) bool {
			for _, v := range p.f.values(r, attr) {
				if s, ok := v.(string); !ok || s != "" {
					return true
				}
			}
			return false
		}, nil
	}
	known := false
	for _, o := range filterOps {
		if p.keyword(op, o) {
			op, known = o, true
		}
	}
	if !known {
		return nil, fmt.Errorf("unknown operator %q", op)
	}
	lit := p.next()
	var want any
	switch {
	case strings.HasPrefix(lit, `"`):
		s, err := strconv.Unquote(lit)
		if err != nil {
			return nil, err
		}
		want = s
	case lit == "true" || lit == "false":
		want = lit == "true"
	case lit == "null":
		want = nil
	default:
		n, err := strconv.ParseFloat(lit, 64)
		if err != nil {
			return nil, fmt.Errorf("bad value %q", lit)
		}
		want = n
	}
	if p.f.has("filter-co-as-eq") && op == "co" {
		op = "eq"
	}
	if p.f.has("filter-compare-swapped") {
		if s, ok := map[string]string{"gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}[op]; ok {
			op = s
		}
	}
	exact := strings.EqualFold(attr, "id") || strings.EqualFold(attr, "externalId") ||
		(strings.EqualFold(attr, "userName") && p.f.has("lookup-case-sensitive"))
	cmpOp := func(op string, v any) bool {
		switch w := want.(type) {
		case bool:
			b, ok := v.(bool)
			return ok && op == "eq" && b == w
		case string:
			s, ok := v.(string)
			if !ok {
				return false
			}
			if !exact {
				s, w = strings.ToLower(s), strings.ToLower(w)
			}
			switch op {
			case "eq":
				return s == w
			case "co":
				return strings.Contains(s, w)
			case "sw":
				return strings.HasPrefix(s, w)
			case "ew":
				return strings.HasSuffix(s, w)
			case "gt":
				return s > w
			case "ge":
				return s >= w
			case "lt":
				return s < w
			case "le":
				return s <= w
			}
		}
		return false
	}
	return func(r map[string]any) bool {
		vs := p.f.values(r, attr)
		if op == "ne" {
			return !slices.ContainsFunc(vs, func(v any) bool { return cmpOp("eq", v) })
		}
		return slices.ContainsFunc(vs, func(v any) bool { return cmpOp(op, v) })
	}, nil
}

// patch applies a PatchOp request.
func (f *fake) patch(w http.ResponseWriter, r *http.Request, typ, id string) error {
	stored, err := f.lookup(typ, id)
	if err != nil {
		return err
	}
	if err := f.ifMatch(r, id); err != nil {
		return err
	}
	body, err := f.decode(r)
	if err != nil {
		return err
	}
	if !slices.Contains(scimclient.Resource(body).Schemas(), scimclient.SchemaPatchOp) {
		return errf(400, "invalidSyntax", "schemas must hold the PatchOp URN")
	}
	_, rawOps, _ := getFold(body, "Operations")
	ops, ok := rawOps.([]any)
	if !ok {
		return errf(400, "invalidSyntax", "Operations must be an array")
	}
	res := stored
	if !f.has("patch-not-atomic") {
		res = deepCopyMap(stored)
	}
	if !f.has("patch-ignored") {
		for _, o := range ops {
			om, _ := o.(map[string]any)
			if err := f.applyOp(typ, id, res, om); err != nil {
				return err
			}
		}
	}
	f.res[typ][id] = res
	f.version[id]++
	w.Header().Set("ETag", f.etag(id))
	f.write(w, 200, f.render(typ, res, "", ""))
	return nil
}

func (f *fake) applyOp(typ, id string, res, om map[string]any) error {
	_, opv, _ := getFold(om, "op")
	op, _ := opv.(string)
	if !f.has("ops-case-sensitive") {
		op = strings.ToLower(op)
	}
	if op != "add" && op != "replace" && op != "remove" {
		return errf(400, "invalidSyntax", "unknown op %q", op)
	}
	_, pv, _ := getFold(om, "path")
	path, _ := pv.(string)
	_, value, hasValue := getFold(om, "value")
	if path == "" {
		if op == "remove" {
			if f.has("patch-remove-no-path-ok") {
				return nil
			}
			return errf(400, "noTarget", "remove needs a path")
		}
		obj, ok := value.(map[string]any)
		if !ok {
			return errf(400, "invalidValue", "a no-path %s needs an object value", op)
		}
		if f.has("no-path-replace-ignored") {
			return nil
		}
		for k, v := range obj {
			switch strings.ToLower(k) {
			case "id":
				if v != id || f.has("rename-rejects-id") {
					return errf(400, "mutability", "id is read-only")
				}
				continue
			case "meta", "groups", "schemas":
				continue
			}
			if f.has("dotted-keys-literal") {
				res[k] = v
				continue
			}
			if err := f.applyPath(typ, id, res, op, k, v, true); err != nil {
				return err
			}
		}
		return nil
	}
	return f.applyPath(typ, id, res, op, path, value, hasValue)
}

func (f *fake) applyPath(typ, id string, res map[string]any, op, path string, value any, hasValue bool) error {
	if strings.EqualFold(path, "id") {
		return errf(400, "mutability", "id is read-only")
	}
	if typ == "Groups" && (strings.EqualFold(path, "members") || strings.HasPrefix(strings.ToLower(path), "members[")) {
		return f.patchMembers(res, op, path, value, hasValue)
	}
	if typ == "Groups" && op == "replace" && f.has("group-path-replace-ignored") {
		return nil
	}
	urn, attr := splitAttrPath(path)
	if strings.EqualFold(attr, "password") {
		f.secrets[id] = value
		return nil
	}
	if strings.EqualFold(attr, "active") {
		if s, ok := value.(string); ok {
			if f.has("string-booleans-rejected") || (!strings.EqualFold(s, "true") && !strings.EqualFold(s, "false")) {
				return errf(400, "invalidValue", "active must be a boolean")
			}
			value = strings.EqualFold(s, "true")
		}
		if b, ok := value.(bool); ok && b && f.has("active-sticky-false") && res["active"] == false {
			return nil
		}
	}
	if strings.EqualFold(attr, "manager") {
		if s, ok := value.(string); ok {
			if f.has("manager-string-rejected") {
				return errf(400, "invalidValue", "manager must be an object")
			}
			value = map[string]any{"value": s}
		}
	}
	// Value path: attr[filter] or attr[filter].sub.
	if i := strings.IndexByte(attr, '['); i >= 0 {
		j := strings.LastIndexByte(attr, ']')
		if j < i {
			return errf(400, "invalidPath", "bad path %q", path)
		}
		name, flt, sub := attr[:i], attr[i+1:j], strings.TrimPrefix(attr[j+1:], ".")
		m, err := f.parseFilter(flt)
		if err != nil {
			return errf(400, "invalidPath", "bad filter in path: %v", err)
		}
		k, v, _ := getFold(res, name)
		if k == "" {
			k = name
		}
		arr, _ := v.([]any)
		if op == "remove" {
			res[k] = slices.DeleteFunc(arr, func(e any) bool { em, _ := e.(map[string]any); return m(em) })
			return nil
		}
		found := false
		for _, e := range arr {
			if em, ok := e.(map[string]any); ok && m(em) {
				found = true
				if sub != "" {
					em[sub] = value
				}
			}
		}
		if !found {
			if f.has("valuepath-no-create") || sub == "" {
				return errf(400, "noTarget", "no element matches %s", flt)
			}
			elem := map[string]any{sub: value}
			// Take the attribute the filter tests ("type eq \"work\"").
			if toks, _ := tokenize(flt); len(toks) == 3 && strings.EqualFold(toks[1], "eq") {
				elem[toks[0]], _ = strconv.Unquote(toks[2])
			}
			arr = append(arr, elem)
		}
		res[k] = arr
		return nil
	}
	c := container(res, urn, op != "remove")
	if c == nil {
		return nil
	}
	parts := strings.Split(attr, ".")
	for _, p := range parts[:len(parts)-1] {
		k, v, ok := getFold(c, p)
		m, isMap := v.(map[string]any)
		if !ok || !isMap {
			if op == "remove" {
				return nil
			}
			m = map[string]any{}
			if k == "" {
				k = p
			}
			c[k] = m
		}
		c = m
	}
	last := parts[len(parts)-1]
	switch op {
	case "remove":
		if !f.has("patch-remove-ignored") {
			if k, _, ok := getFold(c, last); ok {
				delete(c, k)
			}
		}
	default:
		if k, old, ok := getFold(c, last); ok && op == "add" {
			if oa, isArr := old.([]any); isArr {
				if na, isArr := value.([]any); isArr {
					if !f.has("primary-not-cleared") && slices.ContainsFunc(na, isPrimary) {
						for _, e := range oa {
							if em, ok := e.(map[string]any); ok {
								delete(em, "primary")
							}
						}
					}
					c[k] = append(oa, na...)
					return nil
				}
			}
		}
		setFold(c, last, value)
	}
	return nil
}

func isPrimary(e any) bool {
	m, _ := e.(map[string]any)
	return m["primary"] == true
}

// patchMembers applies an operation on a group's members.
func (f *fake) patchMembers(res map[string]any, op, path string, value any, hasValue bool) error {
	cur, _ := res["members"].([]any)
	vals, _ := value.([]any)
	has := func(list []any, id string) bool {
		return slices.ContainsFunc(list, func(m any) bool { return memberValue(m) == id })
	}
	for _, v := range vals {
		m, ok := v.(map[string]any)
		if !ok {
			return errf(400, "invalidValue", "members must be objects")
		}
		if _, ok := m["type"]; !ok && f.has("member-add-requires-type") && op != "remove" {
			return errf(400, "invalidValue", "member type is required")
		}
		if ref, ok := m["$ref"]; ok && ref == nil && f.has("ref-null-rejected") {
			return errf(400, "invalidValue", "$ref must not be null")
		}
	}
	switch {
	case op == "remove" && strings.HasPrefix(strings.ToLower(path), "members["):
		flt := path[len("members[") : len(path)-1]
		m, err := f.parseFilter(flt)
		if err != nil {
			return errf(400, "invalidPath", "%v", err)
		}
		if f.has("member-remove-filter-ignored") {
			cur = nil
		}
		cur = slices.DeleteFunc(cur, func(e any) bool { em, _ := e.(map[string]any); return m(em) })
	case op == "remove" && hasValue && !f.has("remove-value-wipes"):
		cur = slices.DeleteFunc(cur, func(e any) bool { return has(vals, memberValue(e)) })
	case op == "remove":
		cur = nil
	case op == "replace" && !f.has("members-replace-appends"):
		cur = slices.Clone(vals)
	default:
		for _, v := range vals {
			if !has(cur, memberValue(v)) || f.has("members-duplicated") {
				cur = append(cur, v)
			}
		}
	}
	if cur == nil {
		cur = []any{}
	}
	res["members"] = cur
	return nil
}
