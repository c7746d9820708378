package scimhttp

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/patch"
	"github.com/scimd/scimd/schema"
)

// param returns the first value of the query parameter name in the raw
// query, matched exactly first and then case-insensitively (some clients
// write "startindex" or "Filter"). It reads the query as url.ParseQuery
// does (a pair with a ';' or a bad escape is ignored) but without building
// the whole map: a request reads a few parameters, and unescaping only
// those allocates nothing for most queries.
func param(raw, name string) (string, bool) {
	var folded string
	foundFolded := false
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			continue
		}
		exact := k == name
		if !exact && (foundFolded || !strings.EqualFold(k, name)) {
			continue
		}
		if v, err = url.QueryUnescape(v); err != nil {
			continue
		}
		if exact {
			return v, true
		}
		folded, foundFolded = v, true
	}
	return folded, foundFolded
}

// queryProjection parses attributes / excludedAttributes from the query.
func queryProjection(r *http.Request) (*schema.Projection, error) {
	q := r.URL.RawQuery
	a, _ := param(q, "attributes")
	x, _ := param(q, "excludedAttributes")
	return schema.ParseProjection(a, x)
}

// readOptions says what to load for rendering a resource of rt under p.
func readOptions(rt *schema.ResourceType, p *schema.Projection) scimd.ReadOptions {
	var o scimd.ReadOptions
	if rt.Schema.Attr("members") != nil {
		o.Members = p.Includes(rt, "members")
	}
	if rt.Schema.Attr("groups") != nil {
		o.Groups = p.Includes(rt, "groups")
	}
	return o
}

// writeOptions is readOptions for the response to a write: members are
// loaded separately, and only for groups small enough (see
// Config.MaxGroupMembersInResponse).
func writeOptions(rt *schema.ResourceType, p *schema.Projection) scimd.ReadOptions {
	o := readOptions(rt, p)
	o.Members = false
	return o
}

// writeResource renders one resource with its ETag (and, for 201, its
// Location).
func (h *Handler) writeResource(w http.ResponseWriter, r *http.Request, status int, rt *schema.ResourceType, res *scimd.Resource, p *schema.Projection) {
	base := h.baseURL(r)
	buf := getBuf()
	defer putBuf(buf)
	body, err := rt.AppendRender(*buf, res, base, p)
	*buf = body
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	setHeader(w, r, hdrETag, "Etag", res.Meta.ETag())
	if status == http.StatusCreated {
		w.Header().Set("Location", base+rt.Endpoint+"/"+url.PathEscape(res.ID))
	}
	h.writeJSON(w, r, status, body)
}

// decodeResource reads and decodes a POST or PUT body. It also returns the
// raw top-level keys, lower-cased, so callers can tell omitted attributes
// from ones sent empty.
func decodeResource(r *http.Request, rt *schema.ResourceType) (*scimd.Resource, map[string]bool, error) {
	b, err := readBody(r)
	if err != nil {
		return nil, nil, err
	}
	body, err := decodeObject(b)
	if err != nil {
		return nil, nil, err
	}
	keys := make(map[string]bool, len(body))
	for k := range body {
		keys[strings.ToLower(k)] = true
	}
	res, err := rt.Decode(body)
	if err != nil {
		return nil, nil, err
	}
	res.Type = rt.Name
	return res, keys, nil
}

// handleCreate serves POST /{Type}.
func (h *Handler) handleCreate(w http.ResponseWriter, r *http.Request, rt *schema.ResourceType) {
	ctx := r.Context()
	p, err := queryProjection(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	res, _, err := decodeResource(r, rt)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	res.ID = ""
	if pw, ok := passwordOf(rt, res.Attrs); ok {
		hashed, err := h.hash(pw)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		setPassword(res.Attrs, hashed)
	}
	if err := rt.Validate(res, nil); err != nil {
		h.writeError(w, r, err)
		return
	}
	created, err := h.store.Create(ctx, TenantFrom(ctx), res)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if created.Members != nil && !h.membersFit(len(created.Members)) || !readOptions(rt, p).Members {
		created.Members = nil
	}
	h.writeResource(w, r, http.StatusCreated, rt, created, p)
}

// membersFit reports whether a group of n members may have its members
// in a write response.
func (h *Handler) membersFit(n int) bool {
	m := h.cfg.MaxGroupMembersInResponse
	return m >= 0 && n <= m
}

// handleGet serves GET /{Type}/{id}.
func (h *Handler) handleGet(w http.ResponseWriter, r *http.Request, rt *schema.ResourceType) {
	ctx := r.Context()
	p, err := queryProjection(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if streamsMembers(rt, p) {
		h.getGroupStreaming(w, r, rt, p)
		return
	}
	res, err := h.store.Get(ctx, TenantFrom(ctx), rt.Name, r.PathValue("id"), readOptions(rt, p))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, res.Meta.ETag()) {
		w.Header().Set("ETag", res.Meta.ETag())
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.writeResource(w, r, http.StatusOK, rt, res, p)
}

// handleDelete serves DELETE /{Type}/{id}.
func (h *Handler) handleDelete(w http.ResponseWriter, r *http.Request, rt *schema.ResourceType) {
	ctx := r.Context()
	ifMatch := r.Header.Get("If-Match")
	var check func(*scimd.Resource) error
	if ifMatch != "" {
		check = func(cur *scimd.Resource) error { return checkIfMatch(ifMatch, cur) }
	}
	if err := h.store.Delete(ctx, TenantFrom(ctx), rt.Name, r.PathValue("id"), check); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleReplace serves PUT /{Type}/{id}: the body replaces the resource,
// except that the id comes from the URL, readOnly input is ignored,
// returned:never and returned:request attributes (password) and "active"
// are kept when the body omits them, and a Group's membership is replaced
// only when the body has a "members" key (an empty list clears it). A PUT
// never creates: a missing id is 404.
func (h *Handler) handleReplace(w http.ResponseWriter, r *http.Request, rt *schema.ResourceType) {
	ctx := r.Context()
	p, err := queryProjection(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	in, keys, err := decodeResource(r, rt)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// Hash outside the transaction: hashing is deliberately slow.
	plain, hasPW := passwordOf(rt, in.Attrs)
	var hashed string
	if hasPW {
		if hashed, err = h.hash(plain); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	ifMatch := r.Header.Get("If-Match")
	replaceMembers := keys["members"] && rt.Schema.Attr("members") != nil
	kept := keptAttributes(rt)

	updated, err := h.store.Update(ctx, TenantFrom(ctx), rt.Name, r.PathValue("id"), writeOptions(rt, p),
		func(cur *scimd.Resource) ([]scimd.MemberOp, error) {
			if ifMatch != "" {
				if err := checkIfMatch(ifMatch, cur); err != nil {
					return nil, err
				}
			}
			attrs := make(map[string]any, len(in.Attrs)+2)
			for k, v := range in.Attrs {
				attrs[k] = v
			}
			for _, k := range kept {
				k.keep(attrs, cur.Attrs)
			}
			if _, ok := attrs["active"]; !ok && rt.Schema.Attr("active") != nil {
				if v, ok := cur.Attrs["active"]; ok {
					attrs["active"] = v
				}
			}
			if hasPW {
				if old, ok := cur.Attrs["password"].(string); ok && old == plain {
					attrs["password"] = old // the stored form echoed back: unchanged
				} else {
					setPassword(attrs, hashed)
				}
			}
			old := *cur
			next := &scimd.Resource{
				Type: cur.Type, ID: cur.ID, Schemas: append([]string(nil), in.Schemas...),
				Attrs: attrs, Meta: cur.Meta, MemberCount: cur.MemberCount,
			}
			if err := rt.Validate(next, &old); err != nil {
				return nil, err
			}
			cur.Attrs, cur.Schemas = next.Attrs, next.Schemas
			if !replaceMembers {
				return nil, nil
			}
			ops := []scimd.MemberOp{{Kind: scimd.MemberRemoveAll}}
			if len(in.Members) > 0 {
				ops = append(ops, scimd.MemberOp{Kind: scimd.MemberAdd, Members: append([]scimd.Member(nil), in.Members...)})
			}
			return ops, nil
		})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.respondWrite(w, r, rt, updated, p)
}

// handlePatch serves PATCH /{Type}/{id}: the operations are applied
// atomically inside the store's transaction; the response is 200 with the
// resource (members subject to Config.MaxGroupMembersInResponse).
func (h *Handler) handlePatch(w http.ResponseWriter, r *http.Request, rt *schema.ResourceType) {
	ctx := r.Context()
	p, err := queryProjection(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	b, err := readBody(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		h.writeError(w, r, scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "the request body is empty; a PatchOp object is required"))
		return
	}
	ops, err := patch.Decode(b)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ifMatch := r.Header.Get("If-Match")
	hashes := map[string]string{} // plaintext → hash, across retries of fn
	hasPWAttr := rt.Schema.Attr("password") != nil
	if hasPWAttr {
		// Hash outside the store's write transaction (hashing is
		// deliberately slow, and the transaction holds the single
		// writer): every password the operations may set is hashed
		// here; fn hashes only what this misses.
		for _, pw := range patchPasswords(ops) {
			if _, seen := hashes[pw]; !seen {
				hashed, err := h.hash(pw)
				if err != nil {
					h.writeError(w, r, err)
					return
				}
				hashes[pw] = hashed
			}
		}
	}

	updated, err := h.store.Update(ctx, TenantFrom(ctx), rt.Name, r.PathValue("id"), writeOptions(rt, p),
		func(cur *scimd.Resource) ([]scimd.MemberOp, error) {
			if ifMatch != "" {
				if err := checkIfMatch(ifMatch, cur); err != nil {
					return nil, err
				}
			}
			old := *cur
			old.Attrs = copyMap(cur.Attrs)
			old.Schemas = append([]string(nil), cur.Schemas...)
			mops, err := patch.Apply(rt, cur, ops)
			if err != nil {
				return nil, err
			}
			if hasPWAttr {
				pw, ok := cur.Attrs["password"].(string)
				oldPW, _ := old.Attrs["password"].(string)
				if ok && pw != oldPW {
					hashed, seen := hashes[pw]
					if !seen {
						if hashed, err = h.hash(pw); err != nil {
							return nil, err
						}
						hashes[pw] = hashed
					}
					setPassword(cur.Attrs, hashed)
				}
			}
			if err := rt.Validate(cur, &old); err != nil {
				return nil, err
			}
			return mops, nil
		})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.respondWrite(w, r, rt, updated, p)
}

// patchPasswords returns the string values that ops may set as the
// password: the value of an operation whose path is password, or the
// password member of a path-less operation's value.
func patchPasswords(ops []patch.Operation) []string {
	var out []string
	for _, op := range ops {
		if op.Op == patch.OpRemove {
			continue
		}
		if op.Path != nil {
			if strings.EqualFold(op.Path.Attr.Name, "password") && op.Path.Attr.Sub == "" && op.Path.Filter == nil {
				if s, ok := op.Value.(string); ok {
					out = append(out, s)
				}
			}
			continue
		}
		if m, ok := op.Value.(map[string]any); ok {
			for k, v := range m {
				if s, ok := v.(string); ok && strings.EqualFold(k, "password") {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// respondWrite answers a PUT or PATCH with 200 and the resource. A group's
// members are included only when the projection asks for them and the group
// has at most MaxGroupMembersInResponse members; they are then read in a
// second step, and used only if the group is still at the version the
// update produced (else the response omits members rather than mixing
// versions). The write is committed by then: if that read fails (the
// database went away in between), the response omits members too, rather
// than report a write that was made as failed.
func (h *Handler) respondWrite(w http.ResponseWriter, r *http.Request, rt *schema.ResourceType, res *scimd.Resource, p *schema.Projection) {
	ctx := r.Context()
	if readOptions(rt, p).Members && h.membersFit(res.MemberCount) {
		opt := writeOptions(rt, p)
		opt.Members = true
		full, err := h.store.Get(ctx, TenantFrom(ctx), rt.Name, res.ID, opt)
		switch {
		case err == nil && full.Meta.Version == res.Meta.Version:
			res = full
		case err != nil && statusOf(err) != http.StatusNotFound:
			h.log.LogAttrs(ctx, slog.LevelWarn, "scim write answered without members: reading them failed",
				slog.String("request_id", RequestIDFrom(ctx)),
				slog.String("error", err.Error()),
			)
		}
	}
	h.writeResource(w, r, http.StatusOK, rt, res, p)
}

// setPassword stores a password hash in attrs; an empty hash (the
// HashPassword hook's way of saying "discard") stores nothing.
func setPassword(attrs map[string]any, hashed string) {
	if hashed == "" {
		delete(attrs, "password")
		return
	}
	attrs["password"] = hashed
}

// passwordOf returns the plaintext password in attrs when rt has a core
// "password" attribute.
func passwordOf(rt *schema.ResourceType, attrs map[string]any) (string, bool) {
	if rt.Schema.Attr("password") == nil {
		return "", false
	}
	pw, ok := attrs["password"].(string)
	return pw, ok
}

// keptAttr names a top-level attribute a PUT keeps when the body omits it.
type keptAttr struct {
	urn  string // "" for a core attribute
	name string
}

func (k keptAttr) keep(dst, cur map[string]any) {
	if k.urn == "" {
		if _, ok := dst[k.name]; !ok {
			if v, ok := cur[k.name]; ok {
				dst[k.name] = v
			}
		}
		return
	}
	curExt, _ := cur[k.urn].(map[string]any)
	v, ok := curExt[k.name]
	if !ok {
		return
	}
	ext, _ := dst[k.urn].(map[string]any)
	if _, present := ext[k.name]; present {
		return
	}
	nx := make(map[string]any, len(ext)+1)
	for kk, vv := range ext {
		nx[kk] = vv
	}
	nx[k.name] = v
	dst[k.urn] = nx
}

// keptAttributes lists the returned:never and returned:request attributes
// of rt, which a client cannot be expected to echo in a PUT.
func keptAttributes(rt *schema.ResourceType) []keptAttr {
	var out []keptAttr
	for _, a := range rt.Schema.Attributes {
		if a.Returned == schema.Never || a.Returned == schema.Request {
			out = append(out, keptAttr{name: a.Name})
		}
	}
	for _, e := range rt.Extensions {
		for _, a := range e.Schema.Attributes {
			if a.Returned == schema.Never || a.Returned == schema.Request {
				out = append(out, keptAttr{urn: e.Schema.ID, name: a.Name})
			}
		}
	}
	return out
}

// copyMap deep-copies a JSON-shaped value map.
func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return copyMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyValue(e)
		}
		return out
	default:
		return v
	}
}

// checkIfMatch compares an If-Match header with the current version.
func checkIfMatch(header string, cur *scimd.Resource) error {
	if etagMatches(header, cur.Meta.ETag()) {
		return nil
	}
	return scimd.PreconditionFailed("If-Match %s does not match the current version %s", header, cur.Meta.ETag())
}

// etagMatches reports whether a list of entity tags (If-Match or
// If-None-Match) contains etag, or is "*". The comparison is weak: the W/
// prefix is ignored on both sides, as SCIM versions are weak tags.
func etagMatches(header, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		t = strings.TrimPrefix(t, "W/")
		if t == want || (!strings.HasPrefix(t, `"`) && `"`+t+`"` == want) {
			return true
		}
	}
	return false
}
