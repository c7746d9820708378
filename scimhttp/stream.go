package scimhttp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
)

// Responses that may hold a group's members are streamed: the members go
// from the store's cursor through schema.RenderStream to the client in
// chunks, never all in memory (see scimd.MemberStreamer and
// docs/decisions.md). A response is spooled in memory up to spoolSize
// bytes: one that ends within it is sent as before, at once and with a
// Content-Length, and an error up to then is still a proper error
// response. A bigger one is sent as it is produced (chunked); an error
// after its first bytes were sent cannot change the status any more, so
// the handler logs it and aborts the connection (http.ErrAbortHandler):
// the client sees a truncated response, never a silently short member
// list.

// spoolSize is how much of a response is held before sending starts.
const spoolSize = 64 << 10

// chunkWriteTimeout is how long the client has to take each chunk of a
// streamed response. The server's write timeout bounds ordinary
// responses; a million-member group takes longer than that to send in
// whole, so each chunk sent pushes the write deadline out again.
const chunkWriteTimeout = 30 * time.Second

// spool is an io.Writer in front of an http.ResponseWriter; see above.
type spool struct {
	w       http.ResponseWriter
	status  int
	buf     []byte
	started bool  // headers and the first bytes are sent
	err     error // a failed write to the client: later writes fail too
	escape  bool  // HTML-escape, as json.Marshal does (list responses)
}

func newSpool(w http.ResponseWriter, status int) *spool {
	return &spool{w: w, status: status, buf: make([]byte, 0, spoolSize)}
}

func (s *spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n := len(p)
	if s.escape && bytes.ContainsAny(p, "<>&") {
		var esc bytes.Buffer
		json.HTMLEscape(&esc, p)
		p = esc.Bytes()
	}
	if len(s.buf)+len(p) > spoolSize {
		if err := s.send(p); err != nil {
			return 0, err
		}
		return n, nil
	}
	s.buf = append(s.buf, p...)
	return n, nil
}

// send writes what is spooled and then p, starting the response first if
// needed.
func (s *spool) send(p []byte) error {
	if !s.started {
		s.started = true
		s.w.Header().Set("Content-Type", contentTypeSCIM)
		s.w.WriteHeader(s.status)
	}
	// Writers that cannot set deadlines (recorders in tests) answer
	// ErrNotSupported, which changes nothing.
	_ = http.NewResponseController(s.w).SetWriteDeadline(time.Now().Add(chunkWriteTimeout))
	if len(s.buf) > 0 {
		if _, err := s.w.Write(s.buf); err != nil {
			s.err = err
			return err
		}
		s.buf = s.buf[:0]
	}
	if len(p) > 0 {
		if _, err := s.w.Write(p); err != nil {
			s.err = err
			return err
		}
	}
	return nil
}

// finish completes the response: all at once with a Content-Length when
// it never outgrew the spool.
func (s *spool) finish() error {
	if s.err != nil {
		return s.err
	}
	if s.started {
		return s.send(nil)
	}
	hd := s.w.Header()
	hd.Set("Content-Type", contentTypeSCIM)
	hd.Set("Content-Length", strconv.Itoa(len(s.buf)))
	s.started = true
	s.w.WriteHeader(s.status)
	if _, err := s.w.Write(s.buf); err != nil {
		s.err = err
		return err
	}
	return nil
}

// fail handles err, an error while producing the response body sp: an
// error response when nothing was sent yet, else a logged abort of the
// connection.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, sp *spool, err error) {
	if sp == nil || !sp.started {
		w.Header().Del("ETag")
		h.writeError(w, r, err)
		return
	}
	level := slog.LevelError
	if sp.err != nil || r.Context().Err() != nil {
		level = slog.LevelInfo // the client went away
	}
	h.log.LogAttrs(r.Context(), level, "scim response aborted part way",
		slog.String("request_id", RequestIDFrom(r.Context())),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("error", err.Error()),
	)
	panic(http.ErrAbortHandler)
}

// streamsMembers reports whether a response for rt under p carries a
// Group's members, which are then streamed.
func streamsMembers(rt *schema.ResourceType, p *schema.Projection) bool {
	return rt.Name == scimd.TypeGroup && readOptions(rt, p).Members
}

// getGroupStreaming serves GET /Groups/{id} when the members are wanted:
// the group row first (404 and 304 are decided before anything is
// written), then its members, in the same snapshot, straight to the client.
func (h *Handler) getGroupStreaming(w http.ResponseWriter, r *http.Request, rt *schema.ResourceType, p *schema.Projection) {
	ctx := r.Context()
	base := h.baseURL(r)
	var sp *spool
	err := scimd.StreamGroup(ctx, h.store, TenantFrom(ctx), r.PathValue("id"), func(g *scimd.Resource, members scimd.MemberSeq) error {
		etag := g.Meta.ETag()
		w.Header().Set("ETag", etag)
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		sp = newSpool(w, http.StatusOK)
		if err := rt.RenderStream(sp, g, base, p, members); err != nil {
			return err
		}
		return sp.finish()
	})
	if err != nil {
		h.fail(w, r, sp, err)
	}
}

// writeListStreaming writes a list response whose page holds groups with
// members: the envelope as json.Marshal writes it (appendListHead), each
// resource rendered by RenderStream, each group's members streamed in
// turn from a snapshot of that group (read again, so that its members and
// meta.version agree; a group deleted since the page was read is shown as
// listed, without members).
func (h *Handler) writeListStreaming(w http.ResponseWriter, r *http.Request, rt *schema.ResourceType, out listResponse, items []*scimd.Resource, p *schema.Projection) {
	ctx := r.Context()
	base := h.baseURL(r)
	head := appendListHead(nil, &out)
	var err error
	sp := newSpool(w, http.StatusOK)
	sp.escape = true
	if _, err := sp.Write(head); err != nil {
		h.fail(w, r, sp, err)
		return
	}
	for i, item := range items {
		irt := rt
		if irt == nil {
			if irt = h.typeOf(item); irt == nil {
				h.fail(w, r, sp, fmt.Errorf("store returned a resource of unknown type %q", item.Type))
				return
			}
		}
		if i > 0 {
			if _, err := sp.Write([]byte{','}); err != nil {
				h.fail(w, r, sp, err)
				return
			}
		}
		if !streamsMembers(irt, p) {
			err = irt.RenderStream(sp, item, base, p, nil)
		} else {
			called := false
			err = scimd.StreamGroup(ctx, h.store, TenantFrom(ctx), item.ID, func(g *scimd.Resource, members scimd.MemberSeq) error {
				called = true
				return irt.RenderStream(sp, g, base, p, members)
			})
			if !called && statusOf(err) == http.StatusNotFound {
				err = irt.RenderStream(sp, item, base, p, nil)
			}
		}
		if err != nil {
			h.fail(w, r, sp, err)
			return
		}
	}
	if _, err := sp.Write([]byte("]}")); err != nil {
		h.fail(w, r, sp, err)
		return
	}
	if err := sp.finish(); err != nil {
		h.fail(w, r, sp, err)
	}
}
