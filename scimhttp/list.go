package scimhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
)

// listParams are the list parameters of a GET query or a SearchRequest, as
// the client wrote them.
type listParams struct {
	filter, sortBy, sortOrder string
	startIndex, count         string // "" when absent
	attributes, excluded      string // comma-separated
	cursor                    string // RFC 9865; "" is the first page
	useCursor                 bool   // "cursor" was present, even empty
}

// maxCursorLen bounds the cursors the handler passes to the store; the
// stores' own are far shorter.
const maxCursorLen = 2048

// handleList serves GET /{Type}.
func (h *Handler) handleList(w http.ResponseWriter, r *http.Request, rt *schema.ResourceType) {
	q := r.URL.RawQuery
	var lp listParams
	lp.filter, _ = param(q, "filter")
	lp.sortBy, _ = param(q, "sortBy")
	lp.sortOrder, _ = param(q, "sortOrder")
	lp.startIndex, _ = param(q, "startIndex")
	lp.count, _ = param(q, "count")
	lp.cursor, lp.useCursor = param(q, "cursor")
	lp.attributes, _ = param(q, "attributes")
	lp.excluded, _ = param(q, "excludedAttributes")
	h.list(w, r, rt, lp)
}

// searchRequest is the body of POST /.search (RFC 7644 §3.4.3). startIndex
// and count are accepted as numbers or numeric strings; attributes as a
// list or a comma-separated string.
type searchRequest struct {
	Schemas            []string        `json:"schemas"`
	Filter             string          `json:"filter"`
	SortBy             string          `json:"sortBy"`
	SortOrder          string          `json:"sortOrder"`
	StartIndex         json.RawMessage `json:"startIndex"`
	Count              json.RawMessage `json:"count"`
	Cursor             *string         `json:"cursor"`
	Attributes         json.RawMessage `json:"attributes"`
	ExcludedAttributes json.RawMessage `json:"excludedAttributes"`
}

// handleSearch serves POST /.search and POST /{Type}/.search; rt is nil at
// the root, which searches every resource type.
func (h *Handler) handleSearch(w http.ResponseWriter, r *http.Request, rt *schema.ResourceType) {
	b, err := readBody(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if _, err := decodeObject(b); err != nil {
		h.writeError(w, r, err)
		return
	}
	var sr searchRequest
	if err := json.Unmarshal(b, &sr); err != nil {
		h.writeError(w, r, jsonSyntaxError(err))
		return
	}
	lp := listParams{filter: sr.Filter, sortBy: sr.SortBy, sortOrder: sr.SortOrder}
	if sr.Cursor != nil {
		lp.cursor, lp.useCursor = *sr.Cursor, true
	}
	if lp.startIndex, err = rawNumber("startIndex", sr.StartIndex); err == nil {
		lp.count, err = rawNumber("count", sr.Count)
	}
	if err == nil {
		lp.attributes, err = rawList("attributes", sr.Attributes)
	}
	if err == nil {
		lp.excluded, err = rawList("excludedAttributes", sr.ExcludedAttributes)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.list(w, r, rt, lp)
}

func rawNumber(name string, m json.RawMessage) (string, error) {
	m = bytes.TrimSpace(m)
	if len(m) == 0 || string(m) == "null" {
		return "", nil
	}
	if m[0] == '"' {
		var s string
		if err := json.Unmarshal(m, &s); err != nil {
			return "", scimd.BadRequest(scimd.ScimTypeInvalidValue, "%s must be an integer", name)
		}
		return s, nil
	}
	return string(m), nil
}

func rawList(name string, m json.RawMessage) (string, error) {
	m = bytes.TrimSpace(m)
	if len(m) == 0 || string(m) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(m, &s); err == nil {
		return s, nil
	}
	var l []string
	if err := json.Unmarshal(m, &l); err != nil {
		return "", scimd.BadRequest(scimd.ScimTypeInvalidValue, "%s must be a list of attribute paths", name)
	}
	for _, e := range l {
		if strings.Contains(e, ",") {
			return "", scimd.BadRequest(scimd.ScimTypeInvalidValue, "%s: %q is not an attribute path", name, e)
		}
	}
	return strings.Join(l, ","), nil
}

// listResponse is the ListResponse message (RFC 7644 §3.4.2, with the
// cursors of RFC 9865 §2.2). A cursor response has no startIndex, and no
// totalResults when the store does not know it.
type listResponse struct {
	Schemas        []string          `json:"schemas"`
	TotalResults   *int              `json:"totalResults,omitempty"`
	StartIndex     int               `json:"startIndex,omitempty"`
	ItemsPerPage   int               `json:"itemsPerPage"`
	NextCursor     string            `json:"nextCursor,omitempty"`
	PreviousCursor string            `json:"previousCursor,omitempty"`
	Resources      []json.RawMessage `json:"Resources"`
}

// list runs a list query; rt nil means every resource type.
func (h *Handler) list(w http.ResponseWriter, r *http.Request, rt *schema.ResourceType, lp listParams) {
	ctx := r.Context()
	q, p, err := h.listQuery(rt, lp)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// Groups' members are streamed one group at a time (stream.go) when
	// the store can; the page itself is loaded without them.
	_, stream := h.store.(scimd.MemberStreamer)
	stream = stream && q.Members
	if stream {
		q.Members = false
	}
	res, err := h.store.List(ctx, TenantFrom(ctx), q)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	base := h.baseURL(r)
	out := listResponse{
		Schemas:      []string{URNListResponse},
		ItemsPerPage: len(res.Resources),
	}
	if total := res.TotalResults; total >= 0 {
		out.TotalResults = &total
	} else if !q.UseCursor {
		h.writeError(w, r, errors.New("store returned no totalResults for an index query"))
		return
	}
	if q.UseCursor {
		out.NextCursor, out.PreviousCursor = res.NextCursor, res.PreviousCursor
	} else {
		out.StartIndex = q.StartIndex
	}
	if stream {
		h.writeListStreaming(w, r, rt, out, res.Resources, p)
		return
	}
	// The page is written in one pass into one buffer: the envelope by
	// hand, each resource rendered straight after it, rather than each
	// rendered apart and then copied, checked and escaped again by
	// json.Marshal. The bytes are those json.Marshal(out) wrote.
	buf := getBuf()
	defer putBuf(buf)
	b := appendListHead(*buf, &out)
	for i, item := range res.Resources {
		irt := rt
		if irt == nil {
			if irt = h.typeOf(item); irt == nil {
				h.writeError(w, r, fmt.Errorf("store returned a resource of unknown type %q", item.Type))
				return
			}
		}
		if i > 0 {
			b = append(b, ',')
		}
		mark := len(b)
		b, err = irt.AppendRender(b, item, base, p)
		*buf = b
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		b = htmlEscapeTail(b, mark)
	}
	b = append(b, "]}"...)
	*buf = b
	h.writeJSON(w, r, http.StatusOK, b)
}

// appendListHead appends the ListResponse out, as json.Marshal writes it,
// up to and including the '[' that opens its Resources, which it ignores.
func appendListHead(b []byte, out *listResponse) []byte {
	if out.Schemas == nil {
		b = append(b, `{"schemas":null`...)
	} else {
		b = append(b, `{"schemas":[`...)
		for i, s := range out.Schemas {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	if out.TotalResults != nil {
		b = append(b, `,"totalResults":`...)
		b = strconv.AppendInt(b, int64(*out.TotalResults), 10)
	}
	if out.StartIndex != 0 {
		b = append(b, `,"startIndex":`...)
		b = strconv.AppendInt(b, int64(out.StartIndex), 10)
	}
	b = append(b, `,"itemsPerPage":`...)
	b = strconv.AppendInt(b, int64(out.ItemsPerPage), 10)
	if out.NextCursor != "" {
		b = append(b, `,"nextCursor":`...)
		b = appendJSONString(b, out.NextCursor)
	}
	if out.PreviousCursor != "" {
		b = append(b, `,"previousCursor":`...)
		b = appendJSONString(b, out.PreviousCursor)
	}
	return append(b, `,"Resources":[`...)
}

// appendJSONString appends s as json.Marshal encodes a string: plain
// printable ASCII as is, anything else through the encoder.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			js, _ := json.Marshal(s) // a string always encodes
			return append(b, js...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// htmlEscapeTail escapes <, > and & in b[from:], a rendered resource, as
// json.Marshal does to the JSON it embeds (they occur only inside
// strings, so the result is the same JSON).
func htmlEscapeTail(b []byte, from int) []byte {
	if !bytes.ContainsAny(b[from:], "<>&") {
		return b
	}
	var esc bytes.Buffer
	json.HTMLEscape(&esc, b[from:])
	return append(b[:from], esc.Bytes()...)
}

// listQuery validates the parameters and builds the store query.
func (h *Handler) listQuery(rt *schema.ResourceType, lp listParams) (*scimd.ListQuery, *schema.Projection, error) {
	types := h.types
	q := &scimd.ListQuery{StartIndex: 1, Count: h.cfg.DefaultPageSize, MaxTotal: max(h.cfg.MaxExactCount, 0)}
	if rt != nil {
		q.Type = rt.Name
		types = []*schema.ResourceType{rt}
	}

	if strings.TrimSpace(lp.filter) != "" {
		e, err := h.cfg.FilterLimits.Parse(lp.filter)
		if err != nil {
			return nil, nil, filterError(err)
		}
		if err := checkFilter(types, e); err != nil {
			return nil, nil, err
		}
		q.Filter = e
	}

	if lp.useCursor {
		if err := h.cursorParams(q, lp); err != nil {
			return nil, nil, err
		}
	} else if lp.startIndex != "" {
		n, err := parseInt(lp.startIndex)
		if err != nil {
			return nil, nil, scimd.BadRequest(scimd.ScimTypeInvalidValue, "startIndex %q is not an integer", lp.startIndex)
		}
		if n > 1 {
			q.StartIndex = n
		}
	}
	if lp.count != "" && !lp.useCursor {
		n, err := parseInt(lp.count)
		if err != nil {
			return nil, nil, scimd.BadRequest(scimd.ScimTypeInvalidValue, "count %q is not an integer", lp.count)
		}
		q.Count = max(0, min(n, h.cfg.MaxPageSize))
	}

	switch strings.ToLower(strings.TrimSpace(lp.sortOrder)) {
	case "", "ascending":
	case "descending":
		q.SortDescending = true
	default:
		return nil, nil, scimd.BadRequest(scimd.ScimTypeInvalidValue, "sortOrder %q must be \"ascending\" or \"descending\"", lp.sortOrder)
	}
	if s := strings.TrimSpace(lp.sortBy); s != "" {
		path, err := filter.ParseAttrPath(s)
		if err != nil {
			return nil, nil, scimd.BadRequest(scimd.ScimTypeInvalidValue, "sortBy %q is not an attribute path", lp.sortBy)
		}
		if !resolvesInAny(types, path) {
			return nil, nil, scimd.BadRequest(scimd.ScimTypeInvalidValue, "sortBy: unknown attribute %q", lp.sortBy)
		}
		q.SortBy = &path
	}

	p, err := schema.ParseProjection(lp.attributes, lp.excluded)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range types {
		o := readOptions(t, p)
		q.Members = q.Members || o.Members
		q.Groups = q.Groups || o.Groups
	}
	return q, p, nil
}

// cursorParams sets up cursor paging (RFC 9865 §2.1): "cursor" present,
// even empty, selects it. count must be 0..MaxPageSize (400 invalidCount,
// unlike index paging, which caps it); startIndex with a cursor is
// ambiguous and refused. The store validates the cursor itself.
func (h *Handler) cursorParams(q *scimd.ListQuery, lp listParams) error {
	if lp.startIndex != "" {
		return scimd.BadRequest(scimd.ScimTypeInvalidValue, "startIndex and cursor cannot be used together")
	}
	if len(lp.cursor) > maxCursorLen {
		return scimd.BadRequest(scimd.ScimTypeInvalidCursor, "cursor is not valid (too long); request the first page with an empty cursor")
	}
	q.UseCursor, q.Cursor = true, strings.TrimSpace(lp.cursor)
	if lp.count != "" {
		n, err := parseInt(lp.count)
		if err != nil || n < 0 || n > h.cfg.MaxPageSize {
			return scimd.BadRequest(scimd.ScimTypeInvalidCount, "count %q must be an integer from 0 to %d", lp.count, h.cfg.MaxPageSize)
		}
		q.Count = n
	}
	return nil
}

// parseInt parses a decimal integer, saturating on overflow.
func parseInt(s string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseInt(s, 10, 0)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			if strings.HasPrefix(s, "-") {
				return -1 << 31, nil
			}
			return 1<<31 - 1, nil
		}
		return 0, err
	}
	return int(max(min(n, 1<<31-1), -1<<31)), nil
}

// filterError turns a parse error into 400 invalidFilter.
func filterError(err error) error {
	if e, ok := scimd.AsError(err); ok {
		if e.Status == http.StatusBadRequest && e.ScimType != scimd.ScimTypeInvalidFilter {
			return scimd.BadRequest(scimd.ScimTypeInvalidFilter, "%s", e.Detail)
		}
		return e
	}
	var fe *filter.Error
	if errors.As(err, &fe) {
		return scimd.BadRequest(scimd.ScimTypeInvalidFilter, "invalid filter at column %d: %s", fe.Pos+1, fe.Msg)
	}
	return scimd.BadRequest(scimd.ScimTypeInvalidFilter, "invalid filter: %v", err)
}

// resolvesInAny reports whether path names an attribute of at least one of
// types.
func resolvesInAny(types []*schema.ResourceType, path filter.AttrPath) bool {
	for _, t := range types {
		if _, err := t.Resolve(path); err == nil {
			return true
		}
	}
	return false
}

// checkFilter rejects filters naming attributes that no searched resource
// type has, with 400 invalidFilter naming the attribute.
func checkFilter(types []*schema.ResourceType, e filter.Expr) error {
	switch e := e.(type) {
	case *filter.Compare:
		if !resolvesInAny(types, e.Path) {
			return scimd.BadRequest(scimd.ScimTypeInvalidFilter, "unknown attribute %q in filter", e.Path.String())
		}
	case *filter.Logical:
		if err := checkFilter(types, e.Left); err != nil {
			return err
		}
		return checkFilter(types, e.Right)
	case *filter.Not:
		return checkFilter(types, e.X)
	case *filter.ValuePath:
		found := false
		for _, t := range types {
			res, err := t.Resolve(e.Path)
			if err != nil || res.Attr == nil {
				continue
			}
			if subsKnown(res.Target(), e.Filter) {
				found = true
				break
			}
		}
		if !found {
			return scimd.BadRequest(scimd.ScimTypeInvalidFilter, "unknown attribute in filter %q", e.String())
		}
	}
	return nil
}

// subsKnown reports whether every path inside a value filter names a
// sub-attribute of a.
func subsKnown(a *schema.Attribute, e filter.Expr) bool {
	switch e := e.(type) {
	case *filter.Compare:
		if e.Path.URN != "" || e.Path.Sub != "" {
			return false
		}
		if len(a.SubAttributes) == 0 {
			return strings.EqualFold(e.Path.Name, "value")
		}
		return a.Sub(e.Path.Name) != nil
	case *filter.Logical:
		return subsKnown(a, e.Left) && subsKnown(a, e.Right)
	case *filter.Not:
		return subsKnown(a, e.X)
	}
	return false
}
