package schema

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/internal/jsonvalue"
)

// Render returns the JSON representation of r as a response body element,
// in this order: schemas, id, externalId, core attributes in schema order,
// extension objects (those with a value), meta (resourceType, created,
// lastModified, location, version). Group members and User groups come from
// r.Members / r.Groups with "$ref" derived from baseURL; returned:never is
// never included, returned:request only when named in p.Attributes,
// returned:always always; then projection p applies. baseURL is the
// absolute SCIM base URL without a trailing slash; meta.location is
// baseURL + rt.Endpoint + "/" + id.
//
// Attribute keys of r.Attrs are expected in their declared case (as Decode,
// CoerceValue and Validate leave them); values of unknown keys are not
// output.
func (rt *ResourceType) Render(r *scimd.Resource, baseURL string, p *Projection) ([]byte, error) {
	return rt.AppendRender(make([]byte, 0, 1024), r, baseURL, p)
}

// AppendRender appends what Render returns to b and returns the extended
// buffer, so that a caller can render into a buffer it reuses. On error b
// is returned with whatever was appended.
func (rt *ResourceType) AppendRender(b []byte, r *scimd.Resource, baseURL string, p *Projection) ([]byte, error) {
	if r == nil {
		return b, errors.New("schema: Render of a nil resource")
	}
	w := renderer{rt: rt, r: r, base: baseURL, pl: rt.plan(p), b: b}
	err := w.resource()
	return w.b, err
}

type renderer struct {
	rt   *ResourceType
	r    *scimd.Resource
	base string
	pl   *plan
	b    []byte
	err  error

	// stream (RenderStream) leaves a Group's members out of b and records
	// where they go: hole is set when the projection selects them.
	stream bool
	hole   *hole
}

func (w *renderer) resource() error {
	rt, r := w.rt, w.r
	w.b = append(w.b, `{"schemas":[`...)
	w.b = jsonvalue.AppendString(w.b, rt.Schema.ID)
	for _, ext := range rt.Extensions {
		if m, _ := r.Attrs[ext.Schema.ID].(map[string]any); len(m) > 0 {
			w.b = append(w.b, ',')
			w.b = jsonvalue.AppendString(w.b, ext.Schema.ID)
		}
	}
	w.b = append(w.b, ']')
	var meta *Attribute
	for _, a := range CommonAttributes {
		switch a.Name {
		case "id":
			if r.ID != "" {
				if in, _ := w.pl.top(nil, a); in {
					w.b = append(w.b, `,"id":`...)
					w.b = jsonvalue.AppendString(w.b, r.ID)
				}
			}
		case "meta":
			meta = a
		default:
			w.attr(nil, a, r.Attrs[a.Name])
		}
	}
	user := strings.EqualFold(rt.Schema.ID, URNUser)
	group := isGroup(rt)
	for _, a := range rt.Schema.Attributes {
		switch {
		case group && a.Name == "members" && w.stream:
			w.markHole(rt.Schema, a)
		case group && a.Name == "members":
			w.refs(rt.Schema, a, len(r.Members), func(i int) (string, string, string, string) {
				m := r.Members[i]
				return m.Value, memberRef(w.base, m), m.Display, m.Type
			})
		case user && a.Name == "groups":
			w.refs(rt.Schema, a, len(r.Groups), func(i int) (string, string, string, string) {
				g := r.Groups[i]
				return g.Value, w.base + "/Groups/" + g.Value, g.Display, "direct"
			})
		default:
			w.attr(rt.Schema, a, r.Attrs[a.Name])
		}
	}
	for _, ext := range rt.Extensions {
		m, _ := r.Attrs[ext.Schema.ID].(map[string]any)
		if len(m) == 0 {
			continue
		}
		mark := len(w.b)
		w.b = append(w.b, ',')
		w.b = jsonvalue.AppendString(w.b, ext.Schema.ID)
		w.b = append(w.b, `:{`...)
		inner := len(w.b)
		for _, a := range ext.Schema.Attributes {
			w.attr(ext.Schema, a, m[a.Name])
		}
		if len(w.b) == inner {
			w.b = w.b[:mark] // nothing selected: omit the extension
			continue
		}
		// Drop the leading comma the first attribute wrote after '{'.
		w.b = append(w.b[:inner], w.b[inner+1:]...)
		w.b = append(w.b, '}')
	}
	if meta != nil {
		w.meta(meta)
	}
	w.b = append(w.b, '}')
	return w.err
}

// attr writes `,"name":value` for top-level attribute a if it has a value
// and the projection selects it.
func (w *renderer) attr(s *Schema, a *Attribute, v any) {
	if isEmpty(v) {
		return
	}
	in, e := w.pl.top(s, a)
	if !in {
		return
	}
	mark := len(w.b)
	w.b = append(w.b, ',')
	w.b = jsonvalue.AppendString(w.b, a.Name)
	w.b = append(w.b, ':')
	if !w.value(a, e, v) {
		w.b = w.b[:mark]
	}
}

// value writes v, a value of a; it reports false (having written
// something to be discarded) when nothing was selected.
func (w *renderer) value(a *Attribute, e *entry, v any) bool {
	if list, ok := v.([]any); ok {
		w.b = append(w.b, '[')
		n := 0
		for _, x := range list {
			mark := len(w.b)
			if n > 0 {
				w.b = append(w.b, ',')
			}
			if w.one(a, e, x) {
				n++
			} else {
				w.b = w.b[:mark]
			}
		}
		w.b = append(w.b, ']')
		return n > 0
	}
	return w.one(a, e, v)
}

// one writes one (non-list) value of a.
func (w *renderer) one(a *Attribute, e *entry, v any) bool {
	m, ok := v.(map[string]any)
	if !ok || a.Type != Complex {
		if isEmpty(v) {
			return false
		}
		w.scalar(v)
		return true
	}
	w.b = append(w.b, '{')
	n := 0
	for _, sub := range a.SubAttributes {
		sv := m[sub.Name]
		if isEmpty(sv) || !w.pl.sub(e, sub) {
			continue
		}
		mark := len(w.b)
		if n > 0 {
			w.b = append(w.b, ',')
		}
		w.b = jsonvalue.AppendString(w.b, sub.Name)
		w.b = append(w.b, ':')
		if w.value(sub, nil, sv) {
			n++
		} else {
			w.b = w.b[:mark]
		}
	}
	w.b = append(w.b, '}')
	return n > 0
}

// refs writes a multi-valued reference attribute (Group.members,
// User.groups) from n elements given by get as value, $ref, display, type.
func (w *renderer) refs(s *Schema, a *Attribute, n int, get func(int) (value, ref, display, typ string)) {
	if n == 0 {
		return
	}
	in, e := w.pl.top(s, a)
	if !in {
		return
	}
	mark := len(w.b)
	w.b = append(w.b, ',')
	w.b = jsonvalue.AppendString(w.b, a.Name)
	w.b = append(w.b, `:[`...)
	written := 0
	for i := 0; i < n; i++ {
		value, ref, display, typ := get(i)
		elem := len(w.b)
		if written > 0 {
			w.b = append(w.b, ',')
		}
		var ok bool
		if w.b, ok = w.pl.appendRef(w.b, a, e, value, ref, "", display, typ); !ok {
			w.b = w.b[:elem]
			continue
		}
		written++
	}
	if written == 0 {
		w.b = w.b[:mark]
		return
	}
	w.b = append(w.b, ']')
}

// meta writes the meta attribute.
func (w *renderer) meta(a *Attribute) {
	in, e := w.pl.top(nil, a)
	if !in {
		return
	}
	r := w.r
	mark := len(w.b)
	w.b = append(w.b, `,"meta":{`...)
	n := 0
	for _, sub := range a.SubAttributes {
		if !w.pl.sub(e, sub) {
			continue
		}
		// location and version are appended in parts rather than built
		// as strings first: this runs for every resource rendered.
		var t time.Time
		var s string
		switch sub.Name {
		case "resourceType":
			s = w.rt.Name
		case "created":
			t = r.Meta.Created
		case "lastModified":
			t = r.Meta.LastModified
		}
		location := sub.Name == "location" && r.ID != ""
		version := sub.Name == "version" && r.Meta.Version > 0
		if s == "" && t.IsZero() && !location && !version {
			continue
		}
		if n > 0 {
			w.b = append(w.b, ',')
		}
		w.b = jsonvalue.AppendString(w.b, sub.Name)
		w.b = append(w.b, ':')
		switch {
		case location:
			w.b = append(w.b, '"')
			w.b = jsonvalue.AppendEscaped(w.b, w.base)
			w.b = jsonvalue.AppendEscaped(w.b, w.rt.Endpoint)
			w.b = append(w.b, '/')
			w.b = jsonvalue.AppendEscaped(w.b, r.ID)
			w.b = append(w.b, '"')
		case version:
			// The ETag, W/"<version>", as a JSON string.
			w.b = append(w.b, `"W/\"`...)
			w.b = strconv.AppendInt(w.b, r.Meta.Version, 10)
			w.b = append(w.b, `\""`...)
		case s != "":
			w.b = jsonvalue.AppendString(w.b, s)
		default:
			w.b = appendTime(w.b, t)
		}
		n++
	}
	if n == 0 {
		w.b = w.b[:mark]
		return
	}
	w.b = append(w.b, '}')
}

// scalar writes a leaf value (or, defensively, any JSON-shaped value) as
// jsonvalue.Append does; a time.Time as an RFC 3339 UTC string.
// (The common leaves are written here: Append takes a pooled encoder per
// call, which costs more than writing a string.)
func (w *renderer) scalar(v any) {
	switch x := v.(type) {
	case string:
		w.b = jsonvalue.AppendString(w.b, x)
		return
	case bool:
		w.b = strconv.AppendBool(w.b, x)
		return
	case int64:
		w.b = strconv.AppendInt(w.b, x, 10)
		return
	case time.Time:
		w.b = appendTime(w.b, x)
		return
	}
	b, err := jsonvalue.Append(w.b, v)
	if err != nil {
		w.fail(fmt.Errorf("schema: render: %w", err))
		b = append(w.b, "null"...)
	}
	w.b = b
}

func (w *renderer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// appendTime writes t as an RFC 3339 UTC string, with fractional seconds
// when they are not zero.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
