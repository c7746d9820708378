package schema

import (
	"strings"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
)

// Projection is the parsed "attributes" / "excludedAttributes" of a request.
//
// A path naming a whole schema ("urn:…:enterprise:2.0:User") may appear
// either as filter splits it ({URN: "urn:…:2.0", Name: "User"}) or with the
// full URN and an empty Name; both select the whole extension.
type Projection struct {
	Attributes []filter.AttrPath
	Excluded   []filter.AttrPath
}

// ParseProjection parses the comma-separated attributes and
// excludedAttributes parameters. Malformed paths give BadRequest(invalidPath).
// Empty parameters give an empty (non-nil) projection: the defaults.
func ParseProjection(attributes, excluded string) (*Projection, error) {
	p := &Projection{}
	var err error
	if p.Attributes, err = parsePathList("attributes", attributes); err != nil {
		return nil, err
	}
	if p.Excluded, err = parsePathList("excludedAttributes", excluded); err != nil {
		return nil, err
	}
	return p, nil
}

func parsePathList(param, s string) ([]filter.AttrPath, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []filter.AttrPath
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, ok := parseAttrPath(part)
		if !ok {
			return nil, scimd.BadRequest(scimd.ScimTypeInvalidPath,
				"%s: %q is not a valid attribute path (expected e.g. \"userName\", \"name.givenName\" or a URN-qualified name)",
				param, truncate(part))
		}
		out = append(out, p)
	}
	return out, nil
}

// parseAttrPath parses "[URN:]name[.sub]" or a bare schema URN.
func parseAttrPath(s string) (filter.AttrPath, bool) {
	if len(s) > 4 && strings.EqualFold(s[:4], "urn:") {
		i := strings.LastIndexByte(s, ':')
		if p, ok := parseNameSub(s[i+1:]); ok && i > 4 && validURN(s[:i]) {
			p.URN = s[:i]
			return p, true
		}
		if validURN(s) {
			return filter.AttrPath{URN: s}, true
		}
		return filter.AttrPath{}, false
	}
	return parseNameSub(s)
}

func parseNameSub(s string) (filter.AttrPath, bool) {
	name, sub, hasSub := strings.Cut(s, ".")
	if !validName(name) || (hasSub && !validName(sub)) {
		return filter.AttrPath{}, false
	}
	return filter.AttrPath{Name: name, Sub: sub}, true
}

// validName reports whether s is an RFC 7643 ATTRNAME (ALPHA *(ALPHA / DIGIT
// / "-" / "_")) or "$ref".
func validName(s string) bool {
	if s == "$ref" {
		return true
	}
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !(c >= '0' && c <= '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// validURN reports whether s looks like a URN: "urn:" NID ":" NSS, with
// no empty segment and only URN characters.
func validURN(s string) bool {
	if len(s) < 7 || !strings.EqualFold(s[:4], "urn:") {
		return false
	}
	segs := strings.Split(s[4:], ":")
	if len(segs) < 2 {
		return false
	}
	for _, seg := range segs {
		if seg == "" {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !isAlpha(c) && !(c >= '0' && c <= '9') && !strings.ContainsRune("-._~()+,;=!*'$%@/?#&", rune(c)) {
				return false
			}
		}
	}
	return true
}

// Includes reports whether the top-level attribute name (e.g. "members",
// "groups") of rt would appear in output under projection p; the HTTP layer
// uses it to decide what to load. A nil p means the defaults. Unknown names
// give false.
func (p *Projection) Includes(rt *ResourceType, name string) bool {
	path, ok := parseAttrPath(name)
	if !ok {
		return false
	}
	path.Sub = ""
	res, err := rt.Resolve(path)
	if err != nil || res.Attr == nil {
		return false
	}
	pl := rt.plan(p)
	in, _ := pl.top(res.Schema, res.Attr)
	return in
}

// plan is a projection resolved against one resource type. A nil *plan
// means the defaults.
type plan struct {
	attrsMode bool      // "attributes" given: only named attributes
	entries   []entry   // attributes named (attrsMode) or excluded
	schemas   []*Schema // whole schemas named (attrsMode) or excluded
}

// entry is one top-level attribute named in the projection: whole (all) or
// only some sub-attributes.
type entry struct {
	attr *Attribute
	all  bool
	subs []*Attribute
}

// plan resolves p against rt, ignoring unknown names (RFC 7644 §3.4.2.5
// leniency).
func (rt *ResourceType) plan(p *Projection) *plan {
	if p == nil || (len(p.Attributes) == 0 && len(p.Excluded) == 0) {
		return nil
	}
	pl := &plan{attrsMode: len(p.Attributes) > 0}
	paths := p.Excluded
	if pl.attrsMode {
		paths = p.Attributes
	}
	for _, path := range paths {
		res, err := rt.Resolve(path)
		if err != nil {
			continue
		}
		if res.Attr == nil {
			pl.schemas = append(pl.schemas, res.Schema)
			continue
		}
		e := pl.entry(res.Attr)
		if e == nil {
			pl.entries = append(pl.entries, entry{attr: res.Attr})
			e = &pl.entries[len(pl.entries)-1]
		}
		if res.Sub == nil {
			e.all = true
		} else {
			e.subs = append(e.subs, res.Sub)
		}
	}
	return pl
}

func (pl *plan) entry(a *Attribute) *entry {
	for i := range pl.entries {
		if pl.entries[i].attr == a {
			return &pl.entries[i]
		}
	}
	return nil
}

func (pl *plan) hasSchema(s *Schema) bool {
	for _, x := range pl.schemas {
		if x == s {
			return true
		}
	}
	return false
}

// top decides whether top-level attribute a of schema s (nil for common
// attributes) is output, and returns the entry naming it, if any, for
// sub-attribute decisions.
func (pl *plan) top(s *Schema, a *Attribute) (bool, *entry) {
	switch a.Returned {
	case Never:
		return false, nil
	case Always:
		return true, nil
	}
	if pl == nil {
		return a.Returned != Request, nil
	}
	e := pl.entry(a)
	if pl.attrsMode {
		if e != nil {
			return true, e
		}
		return s != nil && pl.hasSchema(s) && a.Returned != Request, nil
	}
	if a.Returned == Request || (s != nil && pl.hasSchema(s)) || (e != nil && e.all) {
		return false, nil
	}
	return true, e
}

// sub decides whether sub-attribute sub is output, given the entry of its
// parent from top.
func (pl *plan) sub(e *entry, sub *Attribute) bool {
	switch sub.Returned {
	case Never:
		return false
	case Always:
		return true
	}
	named := false
	if e != nil {
		for _, x := range e.subs {
			if x == sub {
				named = true
				break
			}
		}
	}
	if pl != nil && pl.attrsMode && e != nil && !e.all {
		return named // only the named sub-attributes
	}
	if sub.Returned == Request {
		return pl != nil && pl.attrsMode && named
	}
	if pl != nil && !pl.attrsMode && named {
		return false // excluded
	}
	return true
}
