// Package oauth is scimd's per-tenant OAuth 2.0 authorization server (RFC
// 6749), for IdPs that authenticate to SCIM with OAuth instead of a fixed
// bearer token: Okta's OIN template apps (authorization-code grant, with
// refresh tokens) and Microsoft Entra ID (client-credentials grant).
//
// A Handler serves three endpoints for every tenant, at whatever prefix the
// server mounts it (it dispatches on the path's ending, and asks the
// injected ResolveTenant which tenant a request is for):
//
//	GET/POST …/oauth/authorize  sign-in and consent page (RFC 6749 §4.1.1)
//	POST     …/oauth/token      token endpoint (§3.2): authorization_code
//	                            (with PKCE, RFC 7636), refresh_token and
//	                            client_credentials grants
//	POST     …/oauth/revoke     token revocation (RFC 7009)
//
// Security decisions:
//   - Clients are confidential: every token and revocation request is
//     authenticated by client_secret_basic or client_secret_post. Client
//     secrets, codes and tokens are 256-bit random values stored only as
//     SHA-256 and compared in constant time.
//   - redirect_uri is required and must equal one of the client's URIs byte
//     for byte. A request with an unknown client or a bad redirect_uri gets
//     an error page and is never redirected (§4.1.2.1).
//   - The consent page signs the tenant admin in with the admin password
//     (argon2id) or a one-time connect code, is protected by a CSRF token
//     bound to a SameSite=Strict cookie, cannot be framed, and counts
//     failed sign-ins per tenant (MaxSignInFailures per SignInWindow).
//   - Codes are single-use, live CodeTTL (60 s), and are bound to the
//     client, the redirect_uri and the PKCE challenge. A second use of a
//     code revokes every token issued from it (§10.5). A code issued
//     without a challenge cannot be redeemed with a code_verifier (no PKCE
//     downgrade).
//   - Refresh tokens rotate: each use returns a new one and invalidates the
//     old; presenting a rotated refresh token again is treated as theft and
//     revokes the whole family (every access and refresh token descending
//     from the same code).
//   - Access tokens are opaque (scimd_at_…), live AccessTTL (1 h) and are
//     checked by Access, the SCIM-side authenticator, against the store on
//     every request, so revocation is immediate.
package oauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/scimd/scimd"
)

// Defaults of the Config fields left zero.
const (
	DefaultCodeTTL           = 60 * time.Second
	DefaultAccessTTL         = time.Hour
	DefaultRefreshTTL        = 30 * 24 * time.Hour
	DefaultMaxSignInFailures = 10
	DefaultSignInWindow      = 15 * time.Minute
	// DefaultScope is the scope granted when a request names none.
	DefaultScope = "scim"
)

// Config configures a Handler. Store, Tenants and ResolveTenant are
// required.
type Config struct {
	Store   scimd.OAuthStore
	Tenants scimd.TenantStore
	// ResolveTenant returns the id of the tenant a request is for (from
	// its Host or path prefix). An error is answered as "unknown tenant"
	// (404) and never reveals more.
	ResolveTenant func(r *http.Request) (tenant string, err error)
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives one line per grant, refusal and detected replay,
	// never a secret. Nil means slog.Default().
	Logger *slog.Logger

	// CodeTTL, AccessTTL and RefreshTTL are the lifetimes of authorization
	// codes, access tokens and refresh tokens (a refresh token's lifetime
	// restarts at each rotation).
	CodeTTL    time.Duration
	AccessTTL  time.Duration
	RefreshTTL time.Duration

	// RequirePKCE rejects authorization requests without a
	// code_challenge. Okta's template apps may not send one, so it is off
	// by default; a challenge that is sent is always enforced.
	RequirePKCE bool
	// RejectPlainPKCE rejects code_challenge_method=plain (only S256 is
	// then accepted).
	RejectPlainPKCE bool

	// CSRFKey signs the consent form's CSRF tokens. Nil means a random
	// key per Handler; set one shared key when several instances serve
	// the same tenants behind a load balancer.
	CSRFKey []byte
	// SecureCookies marks the CSRF cookie Secure even on plain-HTTP
	// requests (a TLS-terminating proxy in front). Requests that arrive
	// over TLS always get a Secure cookie.
	SecureCookies bool

	// MaxSignInFailures failed sign-ins of a tenant within SignInWindow
	// block further sign-ins of that tenant until the window ends.
	MaxSignInFailures int
	SignInWindow      time.Duration
}

// Handler is the authorization server. Create it with New; it is safe for
// concurrent use.
type Handler struct {
	cfg   Config
	store scimd.OAuthStore
	log   *slog.Logger

	mu       sync.Mutex
	failures map[string]*failureWindow // tenant → failed sign-ins
}

type failureWindow struct {
	start time.Time
	count int
}

// New validates cfg, fills in defaults and returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("oauth: Config.Store is required")
	}
	if cfg.Tenants == nil {
		return nil, errors.New("oauth: Config.Tenants is required")
	}
	if cfg.ResolveTenant == nil {
		return nil, errors.New("oauth: Config.ResolveTenant is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = DefaultCodeTTL
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = DefaultAccessTTL
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = DefaultRefreshTTL
	}
	if cfg.MaxSignInFailures <= 0 {
		cfg.MaxSignInFailures = DefaultMaxSignInFailures
	}
	if cfg.SignInWindow <= 0 {
		cfg.SignInWindow = DefaultSignInWindow
	}
	if len(cfg.CSRFKey) == 0 {
		cfg.CSRFKey = make([]byte, 32)
		mustRead(cfg.CSRFKey)
	}
	return &Handler{cfg: cfg, store: cfg.Store, log: cfg.Logger, failures: map[string]*failureWindow{}}, nil
}

// Endpoint path endings the Handler serves.
const (
	AuthorizePath = "/oauth/authorize"
	TokenPath     = "/oauth/token"
	RevokePath    = "/oauth/revoke"
)

// IsOAuthPath reports whether path is one the Handler serves, so a router
// can send those requests to it.
func IsOAuthPath(path string) bool {
	return strings.HasSuffix(path, AuthorizePath) || strings.HasSuffix(path, TokenPath) || strings.HasSuffix(path, RevokePath)
}

// maxFormBytes bounds the request bodies of all three endpoints.
const maxFormBytes = 64 << 10

// ServeHTTP dispatches on the end of the path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, AuthorizePath):
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			h.errorPage(w, http.StatusMethodNotAllowed, "This page accepts only GET and POST.")
			return
		}
		h.authorize(w, r)
	case strings.HasSuffix(p, TokenPath):
		if !h.postOnly(w, r) {
			return
		}
		h.token(w, r)
	case strings.HasSuffix(p, RevokePath):
		if !h.postOnly(w, r) {
			return
		}
		h.revoke(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (h *Handler) postOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPost {
		return true
	}
	w.Header().Set("Allow", "POST")
	writeJSON(w, http.StatusMethodNotAllowed, &Error{Code: "invalid_request", Description: "use POST"})
	return false
}

// tenant resolves and loads the request's tenant; nil when unknown or
// disabled (the caller answers; the reason is only logged).
func (h *Handler) tenant(r *http.Request) *scimd.Tenant {
	id, err := h.cfg.ResolveTenant(r)
	if err != nil {
		h.log.Debug("oauth: resolve tenant", "err", err)
		return nil
	}
	t, err := h.cfg.Tenants.Tenant(r.Context(), id)
	if err != nil {
		if scimd.StatusOf(err) != http.StatusNotFound {
			h.log.Error("oauth: look up tenant", "tenant", id, "err", err)
		}
		return nil
	}
	if t.Disabled {
		return nil
	}
	return t
}

// Error is an OAuth 2.0 error response (RFC 6749 §5.2, §4.1.2.1).
type Error struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (e *Error) Error() string { return "oauth: " + e.Code + ": " + e.Description }

func oauthErr(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Description: fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (h *Handler) writeError(w http.ResponseWriter, e *Error) {
	if e.Status == 0 {
		e.Status = http.StatusBadRequest
	}
	writeJSON(w, e.Status, e)
}

func (h *Handler) internal(w http.ResponseWriter, what string, err error) {
	h.log.Error("oauth: "+what, "err", err)
	writeJSON(w, http.StatusInternalServerError, &Error{Code: "server_error", Description: "internal error"})
}

// mac returns a base64url HMAC-SHA256 of the parts under the CSRF key.
func (h *Handler) mac(parts ...string) string {
	m := hmac.New(sha256.New, h.cfg.CSRFKey)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// signInAllowed reports whether the tenant may try to sign in now.
func (h *Handler) signInAllowed(tenant string, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.failures[tenant]
	if f == nil || now.Sub(f.start) >= h.cfg.SignInWindow {
		return true
	}
	return f.count < h.cfg.MaxSignInFailures
}

// signInFailed counts a failed sign-in of tenant.
func (h *Handler) signInFailed(tenant string, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.failures[tenant]
	if f == nil || now.Sub(f.start) >= h.cfg.SignInWindow {
		if len(h.failures) > 10000 {
			clear(h.failures)
		}
		f = &failureWindow{start: now}
		h.failures[tenant] = f
	}
	f.count++
}
