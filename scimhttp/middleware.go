package scimhttp

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
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
	h.chain.ServeHTTP(w, r)
}

// statusWriter records the status written, for logging and so that panic
// recovery knows whether an error can still be written.
type statusWriter struct {
	http.ResponseWriter
	status     int
	tenant     string // set by authenticate, for the log line
	credential string // set by authenticate, for the log line
	client     string // set by route, for the log line
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

// requestID takes the client's X-Request-Id when it is short and printable,
// else generates one; echoes it in the response and logs one line per
// request.
func (h *Handler) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !usableRequestID(id) {
			id = scimd.NewID()
		}
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		// Never the query, headers or body: they may carry secrets or
		// personal data.
		attrs := []slog.Attr{
			slog.String("request_id", id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Duration("duration", time.Since(start)),
			slog.String("tenant", sw.tenant),
			slog.String("client", sw.client),
		}
		if sw.credential != "" {
			attrs = append(attrs, slog.String("credential", sw.credential))
		}
		h.log.LogAttrs(ctx, slog.LevelInfo, "scim request", attrs...)
	})
}

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

// recoverer turns a panic into a logged 500.
func (h *Handler) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.LogAttrs(r.Context(), slog.LevelError, "scim handler panic",
				slog.String("request_id", RequestIDFrom(r.Context())),
				slog.String("panic", fmt.Sprint(v)),
				slog.String("stack", string(debug.Stack())),
			)
			if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
				return // too late to write an error
			}
			h.writeError(w, r, fmt.Errorf("panic: %v", v))
		}()
		next.ServeHTTP(w, r)
	})
}

// normalisePath collapses repeated slashes and drops a trailing slash, so
// "/scim/v2//Users/" routes like "/scim/v2/Users". Paths outside BasePath
// are answered 404 (after authentication, like everything else).
func (h *Handler) normalisePath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := collapseSlashes(r.URL.Path)
		if len(p) > 1 {
			p = strings.TrimSuffix(p, "/")
		}
		if p != r.URL.Path || r.URL.RawPath != "" {
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
			r = r2
		}
		next.ServeHTTP(w, r)
	})
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

// admit enforces MaxInFlight: a request beyond the cap is answered at once
// with 429 and Retry-After: 1.
func (h *Handler) admit(next http.Handler) http.Handler {
	if h.inFlight == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case h.inFlight <- struct{}{}:
			defer func() { <-h.inFlight }()
			next.ServeHTTP(w, r)
		default:
			h.tooMany(w, r, time.Second, "the server is busy")
		}
	})
}

// resolveTenant resolves the tenant the request addresses (see Resolver), strips a
// /t/{tenant} prefix from the path and puts the Route in the context.
func (h *Handler) resolveTenant(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, err := h.resolver.Resolve(r)
		if sw, ok := w.(*statusWriter); ok {
			sw.client = rt.ClientIP
		}
		if err != nil {
			if err == errUnknownTenant {
				if h.throttled(w, r, rt, false) {
					return
				}
				h.throttled(w, r, rt, true)
			}
			h.writeError(w, r, err)
			return
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
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey, rt)))
	})
}

// Protect wraps a handler served beside the SCIM endpoints, such as an
// OAuth authorization server, in the Handler's request log, panic recovery,
// in-flight cap and failed-authentication throttle: a client blocked for
// repeated failures gets 429 before next sees the request, and every 401
// that next answers counts as a failure of the client. next routes
// tenants itself (see Resolver.TenantID); its request path is not changed.
func (h *Handler) Protect(next http.Handler) http.Handler {
	return h.requestID(h.recoverer(h.admit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, _ := h.resolver.Resolve(r) // next answers for unknown tenants
		sw, _ := w.(*statusWriter)
		if sw != nil {
			sw.client = rt.ClientIP
		}
		if h.throttled(w, r, rt, false) {
			return
		}
		next.ServeHTTP(w, r)
		if sw != nil && sw.status == http.StatusUnauthorized {
			h.throttled(w, r, rt, true)
		}
	}))))
}

// throttled applies the failed-authentication throttle to a request from
// rt's client. With failed set it first records a failure. It reports
// whether the client is blocked, having then answered 429.
func (h *Handler) throttled(w http.ResponseWriter, r *http.Request, rt *Route, failed bool) bool {
	if h.failures == nil {
		return false
	}
	key, now := failureKey(rt), time.Now()
	if failed {
		// The failing request itself is answered 401, not 429. A request
		// that presented no credential at all guesses nothing and is not
		// counted (clients and test suites probe for 401 that way).
		if r.Header.Get("Authorization") != "" {
			h.failures.Fail(key, now)
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
// rate limits, and puts tenant and principal in the context. A client
// blocked for repeated failures is refused before its credential is
// looked at.
func (h *Handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt := RouteFrom(r.Context())
		if h.throttled(w, r, rt, false) {
			return
		}
		p, err := h.principal(r)
		if err == nil && p.Tenant == "" {
			err = fmt.Errorf("authenticator returned no tenant and no error")
		}
		if err == nil {
			err = h.checkTenant(r.Context(), rt, p.Tenant)
		}
		if err != nil {
			if scimd.StatusOf(err) == http.StatusUnauthorized {
				h.throttled(w, r, rt, true)
				// One detail for every 401, whatever the authenticator
				// said, so that no answer tells an unknown tenant from
				// a wrong credential or a credential of another tenant.
				e := unauthorized()
				e.Err = err
				err = e
			}
			h.writeError(w, r, err)
			return
		}
		if sw, ok := w.(*statusWriter); ok {
			sw.tenant, sw.credential = p.Tenant, p.Credential
		}
		if h.credLimit != nil {
			if ok, wait := h.credLimit.Allow(credentialKey(r, p), time.Now()); !ok {
				h.tooMany(w, r, wait, "request rate limit of this credential exceeded")
				return
			}
		}
		if h.tenantLimit != nil {
			if ok, wait := h.tenantLimit.Allow(p.Tenant, time.Now()); !ok {
				h.tooMany(w, r, wait, "request rate limit of this tenant exceeded")
				return
			}
		}
		ctx := context.WithValue(r.Context(), tenantKey, p.Tenant)
		ctx = context.WithValue(ctx, principalKey, p)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
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
	if scimd.StatusOf(err) == http.StatusNotFound {
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

// limitBody caps the request body at MaxBodyBytes; a declared
// Content-Length above the limit is refused before reading.
func (h *Handler) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > h.cfg.MaxBodyBytes {
			h.writeError(w, r, tooLarge(h.cfg.MaxBodyBytes))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

func tooLarge(limit int64) error {
	return scimd.Errorf(http.StatusRequestEntityTooLarge, "", "request body exceeds the limit of %d bytes", limit)
}
