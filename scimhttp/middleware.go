package scimhttp

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/scimd/scimd"
)

// ServeHTTP serves one SCIM request: request id, panic recovery, path
// normalisation, authentication, body limit, then routing.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requestID(h.recoverer(h.normalisePath(h.authenticate(h.limitBody(h.mux))))).ServeHTTP(w, r)
}

// statusWriter records the status written, for logging and so that panic
// recovery knows whether an error can still be written.
type statusWriter struct {
	http.ResponseWriter
	status int
	tenant string // set by authenticate, for the log line
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
		h.log.LogAttrs(ctx, slog.LevelInfo, "scim request",
			slog.String("request_id", id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Duration("duration", time.Since(start)),
			slog.String("tenant", sw.tenant),
		)
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

// authenticate runs the Authenticator and puts the tenant in the context.
func (h *Handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant, err := h.cfg.Auth.Authenticate(r)
		if err == nil && tenant == "" {
			err = fmt.Errorf("authenticator returned no tenant and no error")
		}
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if sw, ok := w.(*statusWriter); ok {
			sw.tenant = tenant
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tenantKey, tenant)))
	})
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
