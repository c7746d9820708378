package scimhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/internal/jsonvalue"
)

// Schema URNs of the SCIM messages (RFC 7644 §3.4.2, §3.4.3, §3.5.2, §3.12)
// and of the discovery resources (RFC 7643 §5-§7).
const (
	URNError          = "urn:ietf:params:scim:api:messages:2.0:Error"
	URNListResponse   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	URNSearchRequest  = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	URNPatchOp        = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	URNServiceConfig  = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	URNResourceType   = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	URNSchema         = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	contentTypeSCIM   = "application/scim+json; charset=utf-8"
	genericFailDetail = "internal server error; see the server log for this request id"
)

type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

// unavailableRetryAfter is the Retry-After, in seconds, of a 503 for a
// database that cannot be reached: about what a PostgreSQL restart takes.
const unavailableRetryAfter = 5

// writeError is the one place that writes error responses. A *scimd.Error
// is shown to the client, and so is what the store translates an error of
// its own to (scimd.ErrorTranslator: 503 with Retry-After for a database
// that cannot be reached, 507 for full storage); anything else is logged
// with the request id and answered with a generic 500.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := scimd.AsError(err)
	if !ok && h.translate != nil {
		if te := h.translate.TranslateError(err); te != nil {
			e, ok = te, true
			e.Detail += " (" + RequestIDFrom(r.Context()) + ")"
		}
	}
	if ok && e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(unavailableRetryAfter))
	}
	if !ok || e.Status < 400 || e.Status > 599 {
		h.log.LogAttrs(r.Context(), slog.LevelError, "scim internal error",
			slog.String("request_id", RequestIDFrom(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("error", err.Error()),
		)
		e = &scimd.Error{Status: http.StatusInternalServerError, Detail: genericFailDetail + " (" + RequestIDFrom(r.Context()) + ")"}
	} else if e.Status >= 500 {
		h.log.LogAttrs(r.Context(), slog.LevelError, "scim server error",
			slog.String("request_id", RequestIDFrom(r.Context())),
			slog.String("error", err.Error()),
		)
	} else if e.Err != nil {
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "scim client error",
			slog.String("request_id", RequestIDFrom(r.Context())),
			slog.String("error", err.Error()),
		)
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scimd"`)
	}
	body, _ := json.Marshal(errorBody{
		Schemas:  []string{URNError},
		Status:   strconv.Itoa(e.Status),
		ScimType: e.ScimType,
		Detail:   e.Detail,
	})
	w.Header().Del("ETag")
	h.writeJSON(w, r, e.Status, body)
}

// writeJSON writes a JSON body with the SCIM media type.
func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	setHeader(w, r, hdrContentType, "Content-Type", contentTypeSCIM)
	setHeader(w, r, hdrContentLength, "Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// bufPool holds response buffers: a resource is rendered into one, written
// (the ResponseWriter copies it, as io.Writer requires) and the buffer
// reused by the next response.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledBuf is the largest buffer put back into bufPool, so that one
// huge response does not stay allocated.
const maxPooledBuf = 64 << 10

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= maxPooledBuf {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}

// writeValue marshals v and writes it.
func (h *Handler) writeValue(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, status, body)
}

// readBody checks the Content-Type and reads the whole (size-limited) body.
// A missing Content-Type is accepted; JSON types (application/json,
// application/scim+json, any "+json" suffix, with or without parameters)
// are accepted; anything else is 415.
func readBody(r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !isJSONMediaType(mt) {
			return nil, scimd.Errorf(http.StatusUnsupportedMediaType, "",
				"unsupported Content-Type %q: send application/scim+json or application/json", ct)
		}
	}
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(mbe.Limit)
		}
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "could not read the request body: %v", err)
	}
	return b, nil
}

func isJSONMediaType(mt string) bool {
	mt = strings.ToLower(mt)
	i := strings.IndexByte(mt, '/')
	if i < 0 {
		return false
	}
	typ, sub := mt[:i], mt[i+1:]
	if typ != "application" && typ != "text" {
		return false
	}
	return sub == "json" || strings.HasSuffix(sub, "+json")
}

// decodeObject parses a request body that must be one JSON object. Numbers
// are kept as json.Number so integers survive exactly.
func decodeObject(b []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "the request body is empty; a JSON object is required")
	}
	v, _, err := jsonvalue.DecodeBytes(b)
	if err != nil {
		return nil, jsonSyntaxError(err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "the request body must be a JSON object")
	}
	return m, nil
}

func jsonSyntaxError(err error) error {
	var je *jsonvalue.SyntaxError
	if errors.As(err, &je) {
		return scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "malformed JSON at byte %d: %s", je.Offset, je.Reason())
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "malformed JSON at byte %d: %v", se.Offset, se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "JSON value of type %s is not valid for %q", te.Value, te.Field)
		}
		return scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "JSON value of type %s is not valid here", te.Value)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "malformed JSON: unexpected end of the body")
	}
	return scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "malformed JSON: %v", err)
}

// baseURL returns the absolute SCIM base URL for r, without trailing slash:
// the request's tenant's own base URL (see Route.BaseURL) followed by
// BasePath. ExternalURL, when set, replaces the scheme, host and leading
// path of requests that did not name their tenant by host; for requests
// that did, it gives the scheme and leading path, the host being the
// tenant's.
func (h *Handler) baseURL(r *http.Request) string {
	rt := RouteFrom(r.Context())
	if rt == nil {
		rt, _ = (*Resolver)(nil).Resolve(r)
	}
	if h.extURL == "" {
		// Route.BaseURL + h.base, concatenated at once: one allocation.
		return rt.Scheme + "://" + safeHost(rt.Host) + rt.Prefix + h.base
	}
	if !rt.ByHost {
		return h.extURL + rt.Prefix + h.base
	}
	scheme, rest, _ := strings.Cut(h.extURL, "://")
	path := ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		path = rest[i:]
	}
	return scheme + "://" + safeHost(rt.Host) + path + rt.Prefix + h.base
}

// statusOf is scimd.StatusOf with a fast path for an unwrapped
// *scimd.Error, such as a cached not-found answer of a TenantCache, which
// needs no errors.As (an allocation per call, on every request whose host
// names no tenant).
func statusOf(err error) int {
	if e, ok := err.(*scimd.Error); ok {
		return e.Status
	}
	return scimd.StatusOf(err)
}
