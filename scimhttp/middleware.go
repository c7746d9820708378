package scimhttp

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/internal/ratelimit"
)

// ServeHTTP serves one SCIM request: request id, panic recovery, the
// in-flight cap, path normalisation, tenant resolution, authentication
// (with failure throttling and rate limits), body limit, then routing.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, h.serveSCIM)
}

// reqState is everything the Handler learns about one request, kept in
// one allocation under one context key (rather than a context layer and a
// request copy per middleware): the request id, the Route, who
// authenticated, and the status written. It is created by serve and
// mutated only by the goroutine serving the request. The accessors
// (RequestIDFrom, RouteFrom, TenantFrom, PrincipalFrom) show a part only
// once it is known, as the separate context values did.
type reqState struct {
	sw    statusWriter
	start time.Time // the request's one clock reading (log, limits)
	id    string

	route  Route
	routed bool // route is resolved (RouteFrom returns it)

	principal scimd.Principal
	authed    bool   // principal is authenticated (TenantFrom returns its tenant)
	client    string // for the log line

	// hdr backs the response header values set on every request
	// (X-Request-Id, ETag, Content-Type, Content-Length) so that setting
	// them costs no []string allocation each; every value is a
	// one-element slice with its capacity capped, so an Add to a header
	// copies rather than overwriting the next one.
	hdr [4]string
}

// Indexes into reqState.hdr.
const (
	hdrRequestID = iota
	hdrETag
	hdrContentType
	hdrContentLength
)

// setHeader sets the response header key (in canonical form) to v,
// backed by the request state's slot i when there is one.
func setHeader(w http.ResponseWriter, r *http.Request, i int, key, v string) {
	st := stateFrom(r.Context())
	if st == nil {
		w.Header().Set(key, v)
		return
	}
	st.hdr[i] = v
	w.Header()[key] = st.hdr[i : i+1 : i+1]
}

type stateKey struct{}

func stateFrom(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// statusWriter records the status written, for logging and so that panic
// recovery knows whether an error can still be written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serve runs next with the request id (the client's X-Request-Id when it
// is short and printable, else a generated one, echoed in the response),
// panic recovery and the in-flight cap, and logs one line per request.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, next func(st *reqState, w http.ResponseWriter, r *http.Request)) {
	st := &reqState{start: time.Now()}
	st.sw.ResponseWriter = w
	id := r.Header.Get("X-Request-Id")
	if !usableRequestID(id) {
		id = newRequestID()
	}
	st.id = id
	ctx := context.WithValue(r.Context(), stateKey{}, st)
	r = r.WithContext(ctx)
	setHeader(w, r, hdrRequestID, "X-Request-Id", id)
	h.recoverer(st, r, next)
	if st.sw.status == 0 {
		st.sw.status = http.StatusOK
	}
	// The level is checked first so that a server logging at warn builds
	// nothing.
	if !h.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	// Never the query, headers or body: they may carry secrets or
	// personal data.
	// One fixed array: no slice of attributes reaches the heap.
	attrs := [...]slog.Attr{
		slog.String("request_id", id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", st.sw.status),
		slog.Duration("duration", time.Since(st.start)),
		slog.String("tenant", st.principal.Tenant),
		slog.String("client", st.client),
		slog.String("credential", st.principal.Credential),
	}
	n := len(attrs)
	if st.principal.Credential == "" {
		n-- // no credential (a request refused before authentication)
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "scim request", attrs[:n]...)
}

// newRequestID returns a random version 4 UUID string. Request ids only
// tell requests apart in logs and error details; they guard nothing, so
// they come from math/rand/v2 (the runtime's ChaCha8 generator, seeded from
// the OS) instead of a crypto/rand read, formatted without fmt: one
// allocation instead of seven.
func newRequestID() string {
	var b [16]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		b[i], b[8+i] = byte(hi>>(8*i)), byte(lo>>(8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = hexDigits[c>>4], hexDigits[c&0xf]
		j += 2
	}
	return string(s[:])
}

const hexDigits = "0123456789abcdef"

func usableRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// recoverer runs next behind the in-flight cap and turns a panic into a
// logged 500.
func (h *Handler) recoverer(st *reqState, r *http.Request, next func(st *reqState, w http.ResponseWriter, r *http.Request)) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		h.log.LogAttrs(r.Context(), slog.LevelError, "scim handler panic",
			slog.String("request_id", st.id),
			slog.String("panic", fmt.Sprint(v)),
			slog.String("stack", string(debug.Stack())),
		)
		if st.sw.status != 0 {
			return // too late to write an error
		}
		h.writeError(&st.sw, r, fmt.Errorf("panic: %v", v))
	}()
	// admit: MaxInFlight. A request beyond the cap is answered at once
	// with 429 and Retry-After: 1.
	if h.inFlight != nil {
		select {
		case h.inFlight <- struct{}{}:
			defer func() { <-h.inFlight }()
		default:
			h.tooMany(&st.sw, r, time.Second, "the server is busy")
			return
		}
	}
	next(st, &st.sw, r)
}

// serveSCIM is the SCIM part of ServeHTTP, after serve: path
// normalisation, tenant resolution, authentication, body limit, routing.
func (h *Handler) serveSCIM(st *reqState, w http.ResponseWriter, r *http.Request) {
	r = normalisePath(r)
	r, ok := h.resolveTenant(st, w, r)
	if !ok || !h.authenticate(st, w, r) {
		return
	}
	// limitBody: a declared Content-Length above the limit is refused
	// before reading.
	if r.ContentLength > h.cfg.MaxBodyBytes {
		h.writeError(w, r, tooLarge(h.cfg.MaxBodyBytes))
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
	}
	h.mux.ServeHTTP(w, r)
}

// normalisePath collapses repeated slashes and drops a trailing slash, so
// "/scim/v2//Users/" routes like "/scim/v2/Users". Paths outside BasePath
// are answered 404 (after authentication, like everything else).
func normalisePath(r *http.Request) *http.Request {
	p := collapseSlashes(r.URL.Path)
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	if p == r.URL.Path && r.URL.RawPath == "" {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path = p
	u.RawPath = ""
	if rp := collapseSlashes(r.URL.EscapedPath()); rp != p {
		if len(rp) > 1 {
			rp = strings.TrimSuffix(rp, "/")
		}
		u.RawPath = rp
	}
	r2.URL = &u
	return r2
}

func collapseSlashes(p string) string {
	if !strings.Contains(p, "//") {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// resolveTenant resolves the tenant the request addresses (see Resolver)
// into st and strips a /t/{tenant} prefix from the path. It reports false
// when it has answered the request.
func (h *Handler) resolveTenant(st *reqState, w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	rt := &st.route
	err := h.resolver.resolve(r, rt)
	st.client = rt.ClientIP
	if err != nil {
		if err == errUnknownTenant {
			if h.throttled(w, r, rt, st.start, false) {
				return r, false
			}
			h.throttled(w, r, rt, st.start, true)
		}
		h.writeError(w, r, err)
		return r, false
	}
	if rt.Prefix != "" {
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = rt.Path
		if raw, ok := strings.CutPrefix(u.RawPath, rt.Prefix); ok && raw != "" {
			u.RawPath = raw
		} else {
			u.RawPath = ""
		}
		r2.URL = &u
		r = r2
	}
	st.routed = true
	return r, true
}

// Protect wraps a handler served beside the SCIM endpoints, such as an
// OAuth authorization server, in the Handler's request log, panic recovery,
// in-flight cap and failed-authentication throttle: a client blocked for
// repeated failures gets 429 before next sees the request, and every 401
// that next answers counts as a failure of the client. next routes
// tenants itself (see Resolver.TenantID); its request path is not changed.
func (h *Handler) Protect(next http.Handler) http.Handler {
	inner := func(st *reqState, w http.ResponseWriter, r *http.Request) {
		rt, _ := h.resolver.Resolve(r) // next answers for unknown tenants
		st.client = rt.ClientIP
		if h.throttled(w, r, rt, st.start, false) {
			return
		}
		next.ServeHTTP(w, r)
		if st.sw.status == http.StatusUnauthorized {
			h.throttled(w, r, rt, st.start, true)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, inner) })
}

// throttled applies the failed-authentication throttle to a request from
// rt's client, at now (the request's start). With failed set it first
// records a failure. It reports whether the client is blocked, having
// then answered 429.
func (h *Handler) throttled(w http.ResponseWriter, r *http.Request, rt *Route, now time.Time, failed bool) bool {
	if h.failures == nil {
		return false
	}
	key := failureKey(rt)
	if failed {
		// The failing request itself is answered 401, not 429. A request
		// that presented no credential at all guesses nothing and is not
		// counted (clients and test suites probe for 401 that way).
		if r.Header.Get("Authorization") != "" {
			h.failures.Fail(key, time.Now())
		}
		return false
	}
	blocked, wait := h.failures.Blocked(key, now)
	if blocked {
		h.tooMany(w, r, wait, "too many failed authentication attempts from this address")
	}
	return blocked
}

// authenticate runs the Authenticator, checks that the credential's tenant
// is the one the request addresses (if any) and is enabled, applies the
// rate limits, and records tenant and principal in st. A client blocked
// for repeated failures is refused before its credential is looked at. It
// reports false when it has answered the request.
func (h *Handler) authenticate(st *reqState, w http.ResponseWriter, r *http.Request) bool {
	rt := &st.route
	if h.throttled(w, r, rt, st.start, false) {
		return false
	}
	p, err := h.principal(r)
	if err == nil && p.Tenant == "" {
		err = fmt.Errorf("authenticator returned no tenant and no error")
	}
	if err == nil {
		err = h.checkTenant(r.Context(), rt, p.Tenant)
	}
	if err != nil {
		if statusOf(err) == http.StatusUnauthorized {
			h.throttled(w, r, rt, st.start, true)
			// One detail for every 401, whatever the authenticator
			// said, so that no answer tells an unknown tenant from
			// a wrong credential or a credential of another tenant.
			e := unauthorized()
			e.Err = err
			err = e
		}
		h.writeError(w, r, err)
		return false
	}
	st.principal = p // logged from here on; TenantFrom once authed
	if h.credLimit != nil {
		if ok, wait := h.credLimit.Allow(credentialKey(r, p), st.start); !ok {
			h.tooMany(w, r, wait, "request rate limit of this credential exceeded")
			return false
		}
	}
	if h.tenantLimit != nil {
		if ok, wait := h.tenantLimit.Allow(p.Tenant, st.start); !ok {
			h.tooMany(w, r, wait, "request rate limit of this tenant exceeded")
			return false
		}
	}
	st.authed = true
	return true
}

// principal authenticates r.
func (h *Handler) principal(r *http.Request) (scimd.Principal, error) {
	if pa, ok := h.cfg.Auth.(PrincipalAuthenticator); ok {
		return pa.AuthenticatePrincipal(r)
	}
	tenant, err := h.cfg.Auth.Authenticate(r)
	return scimd.Principal{Tenant: tenant}, err
}

// checkTenant verifies that a credential of tenant may act on the request
// routed as rt: the tenant rt names, if any, must be tenant; and, with
// Config.Tenants set, tenant must exist and be enabled. Failures are 401.
func (h *Handler) checkTenant(ctx context.Context, rt *Route, tenant string) error {
	if rt.Tenant != nil {
		if rt.Tenant.ID != tenant {
			return unauthorized() // a credential of another tenant
		}
		return nil // Resolve checked Disabled
	}
	if h.cfg.Tenants == nil {
		return nil
	}
	t, err := h.cfg.Tenants.Tenant(ctx, tenant)
	if statusOf(err) == http.StatusNotFound {
		return unauthorized()
	}
	if err != nil {
		return fmt.Errorf("look up tenant: %w", err)
	}
	if t.Disabled {
		return unauthorized()
	}
	return nil
}

// credentialKey returns the rate-limit key of the credential p: its kind
// and id, or, when the Authenticator does not name credentials, a hash of
// the Authorization header (never the secret itself).
func credentialKey(r *http.Request, p scimd.Principal) string {
	if p.Credential != "" {
		return p.Tenant + "|" + p.Kind + "|" + p.Credential
	}
	sum := sha256.Sum256([]byte(r.Header.Get("Authorization")))
	return p.Tenant + "|h|" + string(sum[:16])
}

// tooMany answers 429 with Retry-After in whole seconds, as Okta requires.
func (h *Handler) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration, detail string) {
	w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(wait)))
	h.writeError(w, r, scimd.Errorf(http.StatusTooManyRequests, "", "%s; retry later", detail))
}

func tooLarge(limit int64) error {
	return scimd.Errorf(http.StatusRequestEntityTooLarge, "", "request body exceeds the limit of %d bytes", limit)
}
