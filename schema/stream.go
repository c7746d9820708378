package schema

import (
	"errors"
	"io"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/internal/jsonvalue"
)

// streamChunk is how many bytes of members RenderStream gathers before
// each Write.
const streamChunk = 32 << 10

// RenderStream writes to out exactly what Render returns for r with
// r.Members set to the members that the members iterator yields, without
// ever holding more than a chunk of them: a group of a million members
// costs what a group of ten does. r.Members is ignored when members is not
// nil; a nil members (or a resource type other than Group) renders r as
// Render does.
//
// Everything but the members is rendered before anything is written, so an
// error in r's attributes fails with nothing written; the members iterator
// is called at most once, and only when the projection selects members. An
// error from it, or from out, is returned as is, with a part of the
// resource already written: the caller cannot tell the client otherwise
// than by ending the response short (see scimhttp).
func (rt *ResourceType) RenderStream(out io.Writer, r *scimd.Resource, baseURL string, p *Projection, members func(yield func(scimd.Member) error) error) error {
	if r == nil {
		return errors.New("schema: RenderStream of a nil resource")
	}
	w := renderer{rt: rt, r: r, base: baseURL, pl: rt.plan(p), b: make([]byte, 0, 1024), stream: members != nil}
	if err := w.resource(); err != nil {
		return err
	}
	h := w.hole
	if h == nil {
		_, err := out.Write(w.b)
		return err
	}
	head, tail := w.b[:h.at], w.b[h.at:]
	if _, err := out.Write(head); err != nil {
		return err
	}
	buf := make([]byte, 0, streamChunk+512)
	users, groups := w.base+"/Users/", w.base+"/Groups/"
	written := 0
	err := members(func(m scimd.Member) error {
		mark := len(buf)
		if written == 0 {
			buf = append(buf, ',')
			buf = jsonvalue.AppendString(buf, h.attr.Name)
			buf = append(buf, ':', '[')
		} else {
			buf = append(buf, ',')
		}
		ref := ""
		switch m.Type {
		case scimd.TypeUser:
			ref = users
		case scimd.TypeGroup:
			ref = groups
		}
		var ok bool
		if buf, ok = w.pl.appendRef(buf, h.attr, h.entry, m.Value, ref, m.Value, m.Display, m.Type); !ok {
			buf = buf[:mark]
			return nil
		}
		written++
		if len(buf) >= streamChunk {
			if _, err := out.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		return nil
	})
	if err != nil {
		return err
	}
	if written > 0 {
		buf = append(buf, ']')
	}
	buf = append(buf, tail...)
	_, err = out.Write(buf)
	return err
}

// hole is where RenderStream writes a Group's members.
type hole struct {
	at    int // offset in renderer.b
	attr  *Attribute
	entry *entry
}

// markHole records where the members attribute a goes, if the projection
// selects it.
func (w *renderer) markHole(s *Schema, a *Attribute) {
	in, e := w.pl.top(s, a)
	if !in {
		return
	}
	w.hole = &hole{at: len(w.b), attr: a, entry: e}
}

// memberRef is the "$ref" of a member: the URI of the member resource.
func memberRef(base string, m scimd.Member) string {
	switch m.Type {
	case scimd.TypeUser:
		return base + "/Users/" + m.Value
	case scimd.TypeGroup:
		return base + "/Groups/" + m.Value
	}
	return ""
}

// appendRef appends one value of a multi-valued reference attribute
// (Group.members, User.groups) as an object of the sub-attributes the
// projection selects; "$ref" is ref + refID, or absent when ref is "" (so
// that streaming builds no string per member). It reports false, having
// appended something to be discarded, when no sub-attribute has a value.
func (pl *plan) appendRef(b []byte, a *Attribute, e *entry, value, ref, refID, display, typ string) ([]byte, bool) {
	b = append(b, '{')
	k := 0
	for _, sub := range a.SubAttributes {
		var sv string
		switch sub.Name {
		case "value":
			sv = value
		case "$ref":
			sv = ref
		case "display":
			sv = display
		case "type":
			sv = typ
		}
		if sv == "" || !pl.sub(e, sub) {
			continue
		}
		if k > 0 {
			b = append(b, ',')
		}
		b = jsonvalue.AppendString(b, sub.Name)
		b = append(b, ':')
		b = jsonvalue.AppendString(b, sv)
		if sub.Name == "$ref" && refID != "" {
			// Continue the string: drop its closing quote and the
			// opening one of refID. ref ends in ASCII ("/Users/"), so
			// escaping the parts apart equals escaping the whole.
			n := len(b) - 1
			b = jsonvalue.AppendString(b[:n], refID)
			b = append(b[:n], b[n+1:]...)
		}
		k++
	}
	if k == 0 {
		return b, false
	}
	return append(b, '}'), true
}
