package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/auth"
)

// authRequest is a validated authorization request (RFC 6749 §4.1.1).
type authRequest struct {
	client      *scimd.OAuthClient
	redirectURI string
	state       string
	scope       string
	challenge   string
	method      string
}

// The authorization request parameters, carried from the GET to the POST
// in hidden fields and validated again there.
var authParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"}

// pageError is an authorization error shown on the page itself: the
// request's redirect URI is not trusted, or the error concerns the browser
// rather than the client (§4.1.2.1).
type pageError struct {
	status int
	msg    string
}

// parseAuthorize validates an authorization request. It returns the
// request, or a pageError (never redirect), or an *Error to be sent to the
// redirect URI together with the request it was found in.
func (h *Handler) parseAuthorize(ctx context.Context, tenant *scimd.Tenant, v url.Values) (*authRequest, *pageError, *Error) {
	// Until client_id and redirect_uri are known good, nothing redirects.
	for _, k := range []string{"client_id", "redirect_uri"} {
		if len(v[k]) != 1 || v.Get(k) == "" {
			return nil, &pageError{http.StatusBadRequest, fmt.Sprintf("The request must carry exactly one %s.", k)}, nil
		}
	}
	c, err := h.store.OAuthClient(ctx, tenant.ID, v.Get("client_id"))
	if err != nil && scimd.StatusOf(err) != http.StatusNotFound {
		h.log.Error("oauth: look up client", "tenant", tenant.ID, "err", err)
		return nil, &pageError{http.StatusInternalServerError, "Internal error."}, nil
	}
	if err != nil || c.Revoked {
		return nil, &pageError{http.StatusBadRequest, "Unknown client: this identity provider is not registered with this tenant."}, nil
	}
	req := &authRequest{client: c, redirectURI: v.Get("redirect_uri"), state: v.Get("state")}
	if !c.HasRedirectURI(req.redirectURI) {
		h.log.Warn("oauth: unregistered redirect_uri", "tenant", tenant.ID, "client_id", c.ID)
		return nil, &pageError{http.StatusBadRequest, "The redirect URI is not registered for this client, so you will not be sent back to it."}, nil
	}
	// From here on, errors go back to the client's redirect URI.
	for _, k := range authParams {
		if len(v[k]) > 1 {
			return req, nil, oauthErr(0, "invalid_request", "parameter %s repeated", k)
		}
	}
	if rt := v.Get("response_type"); rt != "code" {
		return req, nil, oauthErr(0, "unsupported_response_type", "only response_type=code is supported")
	}
	if !c.HasGrant(scimd.GrantAuthorizationCode) {
		return req, nil, oauthErr(0, "unauthorized_client", "the client may not use the authorization code grant")
	}
	scope, ok := parseScope(v.Get("scope"))
	if !ok {
		return req, nil, oauthErr(0, "invalid_scope", "malformed scope")
	}
	req.scope = scope
	req.challenge, req.method = v.Get("code_challenge"), v.Get("code_challenge_method")
	switch {
	case req.challenge == "" && req.method != "":
		return req, nil, oauthErr(0, "invalid_request", "code_challenge_method without code_challenge")
	case req.challenge == "" && h.cfg.RequirePKCE:
		return req, nil, oauthErr(0, "invalid_request", "code_challenge required (PKCE)")
	case req.challenge == "":
	case !validVerifier(req.challenge):
		return req, nil, oauthErr(0, "invalid_request", "malformed code_challenge")
	case req.method == "":
		req.method = "plain" // RFC 7636 §4.3
		fallthrough
	case req.method == "plain":
		if h.cfg.RejectPlainPKCE {
			return req, nil, oauthErr(0, "invalid_request", "code_challenge_method must be S256")
		}
	case req.method == "S256":
	default:
		return req, nil, oauthErr(0, "invalid_request", "unsupported code_challenge_method")
	}
	return req, nil, nil
}

// parseScope checks a scope parameter (RFC 6749 §3.3) and returns it
// normalised; an empty scope becomes DefaultScope. Scopes are recorded and
// shown to the admin, not enforced: a token grants SCIM access to its
// tenant.
func parseScope(s string) (string, bool) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return DefaultScope, true
	}
	if len(s) > 1024 {
		return "", false
	}
	for _, f := range fields {
		for i := 0; i < len(f); i++ {
			c := f[i]
			if c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
				return "", false
			}
		}
	}
	return strings.Join(fields, " "), true
}

// validVerifier checks the RFC 7636 §4.1 syntax shared by code_verifier
// and code_challenge: 43 to 128 unreserved characters.
func validVerifier(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// redirectWith returns uri with params added to its query.
func redirectWith(uri string, params url.Values) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri // registered URIs were validated; not reached
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	u.Fragment = ""
	return u.String()
}

func (h *Handler) redirectError(w http.ResponseWriter, r *http.Request, req *authRequest, e *Error) {
	p := url.Values{"error": {e.Code}}
	if e.Description != "" {
		p.Set("error_description", e.Description)
	}
	if req.state != "" {
		p.Set("state", req.state)
	}
	http.Redirect(w, r, redirectWith(req.redirectURI, p), http.StatusFound)
}

// authorize serves the sign-in and consent page (GET) and its form (POST).
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w, "")
	tenant := h.tenant(r)
	if tenant == nil {
		h.errorPage(w, http.StatusNotFound, "Unknown tenant.")
		return
	}
	var v url.Values
	if r.Method == http.MethodGet {
		v = r.URL.Query()
	} else {
		if err := r.ParseForm(); err != nil {
			h.errorPage(w, http.StatusBadRequest, "Malformed form.")
			return
		}
		v = r.PostForm
	}
	req, pe, re := h.parseAuthorize(r.Context(), tenant, v)
	if pe != nil {
		h.errorPage(w, pe.status, pe.msg)
		return
	}
	if re != nil {
		h.log.Info("oauth: authorization request refused", "tenant", tenant.ID, "client_id", req.client.ID, "error", re.Code)
		h.redirectError(w, r, req, re)
		return
	}
	setPageHeaders(w, req.redirectURI)
	if r.Method == http.MethodGet {
		h.consentPage(w, r, tenant, req, v, http.StatusOK, "")
		return
	}

	// POST: the admin's answer.
	if !h.checkCSRF(r, tenant.ID, r.PostForm.Get("csrf")) {
		h.errorPage(w, http.StatusForbidden, "This form has expired or was not sent from this page. Start the connection again from your identity provider.")
		return
	}
	switch r.PostForm.Get("action") {
	case "deny":
		h.log.Info("oauth: admin denied access", "tenant", tenant.ID, "client_id", req.client.ID)
		h.redirectError(w, r, req, oauthErr(0, "access_denied", "the administrator denied access"))
		return
	case "approve":
	default:
		h.errorPage(w, http.StatusBadRequest, "Choose Approve or Deny.")
		return
	}
	now := h.cfg.Now()
	if !h.signInAllowed(tenant.ID, now) {
		h.log.Warn("oauth: sign-in throttled", "tenant", tenant.ID)
		h.consentPage(w, r, tenant, req, v, http.StatusTooManyRequests, "Too many failed sign-ins. Try again later.")
		return
	}
	ok, err := h.signIn(r.Context(), tenant.ID, r.PostForm.Get("credential"), now)
	if err != nil {
		h.log.Error("oauth: sign in", "tenant", tenant.ID, "err", err)
		h.errorPage(w, http.StatusInternalServerError, "Internal error.")
		return
	}
	if !ok {
		h.signInFailed(tenant.ID, now)
		h.log.Warn("oauth: sign-in failed", "tenant", tenant.ID, "client_id", req.client.ID)
		h.consentPage(w, r, tenant, req, v, http.StatusUnauthorized, "Sign-in failed: wrong admin password or connect code.")
		return
	}
	code, rec := newCode(tenant.ID, req, now, h.cfg.CodeTTL)
	if err := h.store.CreateOAuthCode(r.Context(), rec); err != nil {
		h.log.Error("oauth: store code", "tenant", tenant.ID, "err", err)
		h.errorPage(w, http.StatusInternalServerError, "Internal error.")
		return
	}
	h.log.Info("oauth: authorization code issued", "tenant", tenant.ID, "client_id", req.client.ID,
		"family", rec.Family, "pkce", rec.ChallengeMethod)
	p := url.Values{"code": {code}}
	if req.state != "" {
		p.Set("state", req.state)
	}
	http.Redirect(w, r, redirectWith(req.redirectURI, p), http.StatusFound)
}

func newCode(tenant string, req *authRequest, now time.Time, ttl time.Duration) (string, *scimd.OAuthCode) {
	s, id, sum := newOpaque(CodePrefix)
	return s, &scimd.OAuthCode{
		ID:              id,
		Tenant:          tenant,
		ClientID:        req.client.ID,
		Hash:            sum,
		RedirectURI:     req.redirectURI,
		Scope:           req.scope,
		Challenge:       req.challenge,
		ChallengeMethod: req.method,
		Family:          newID(),
		Created:         now,
		Expires:         now.Add(ttl),
	}
}

// signIn checks a connect code or the tenant admin's password. A matching
// connect code is used up.
func (h *Handler) signIn(ctx context.Context, tenant, credential string, now time.Time) (bool, error) {
	if credential == "" || len(credential) > 1024 {
		return false, nil
	}
	if looksLikeConnectCode(credential) {
		codes, err := h.store.OAuthConnectCodes(ctx, tenant, now)
		if err != nil {
			return false, err
		}
		got := hash(normalizeConnectCode(credential))
		for _, c := range codes {
			if equal(got, c.Hash) {
				err := h.store.UseOAuthConnectCode(ctx, tenant, c.ID)
				if scimd.StatusOf(err) == http.StatusNotFound {
					return false, nil // used meanwhile
				}
				return err == nil, err
			}
		}
	}
	stored, err := h.store.OAuthAdminPassword(ctx, tenant)
	if scimd.StatusOf(err) == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return auth.CheckPassword(stored, credential)
}

// CSRF: a random cookie value, and in the form an HMAC of it and the
// tenant under the Handler's key. A cross-site page can neither read the
// cookie nor forge the HMAC, and SameSite=Strict keeps the cookie off
// cross-site POSTs.
const (
	csrfCookie       = "scimd_oauth_csrf"
	csrfCookieSecure = "__Host-scimd_oauth_csrf"
)

func (h *Handler) secure(r *http.Request) bool { return r.TLS != nil || h.cfg.SecureCookies }

func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request, tenant string) string {
	name := csrfCookie
	if h.secure(r) {
		name = csrfCookieSecure
	}
	var val string
	if c, err := r.Cookie(name); err == nil && len(c.Value) == 43 {
		val = c.Value
	} else {
		var b [32]byte
		_, _ = rand.Read(b[:])
		val = base64.RawURLEncoding.EncodeToString(b[:])
		http.SetCookie(w, &http.Cookie{
			Name: name, Value: val, Path: "/", MaxAge: 3600,
			HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteStrictMode,
		})
	}
	return h.mac("csrf", tenant, val)
}

func (h *Handler) checkCSRF(r *http.Request, tenant, token string) bool {
	name := csrfCookie
	if h.secure(r) {
		name = csrfCookieSecure
	}
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" || token == "" {
		return false
	}
	want := sha256.Sum256([]byte(h.mac("csrf", tenant, c.Value)))
	got := sha256.Sum256([]byte(token))
	return equal(want[:], got[:])
}

// setPageHeaders sets the security headers of an HTML page. The form may
// post only to this server, and the browser must be allowed to follow the
// redirect to the client's origin after it (CSP form-action applies to
// redirects).
func setPageHeaders(w http.ResponseWriter, redirectURI string) {
	formAction := "'self'"
	if u, err := url.Parse(redirectURI); err == nil && u.Scheme != "" && u.Host != "" {
		formAction += " " + u.Scheme + "://" + u.Host
	}
	w.Header().Set("Content-Security-Policy",
		"default-src 'none'; style-src 'unsafe-inline'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
}

type hiddenField struct{ Name, Value string }

type consentData struct {
	Tenant   string
	Client   string
	Scope    string
	Redirect string // host the admin will be sent back to
	Hidden   []hiddenField
	CSRF     string
	Error    string
}

func (h *Handler) consentPage(w http.ResponseWriter, r *http.Request, tenant *scimd.Tenant, req *authRequest, v url.Values, status int, msg string) {
	d := consentData{
		Tenant: tenant.Name,
		Client: req.client.Name,
		Scope:  req.scope,
		CSRF:   h.csrfToken(w, r, tenant.ID),
		Error:  msg,
	}
	if u, err := url.Parse(req.redirectURI); err == nil {
		d.Redirect = u.Host
	}
	for _, k := range authParams {
		if val := v.Get(k); val != "" {
			d.Hidden = append(d.Hidden, hiddenField{k, val})
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := consentTmpl.Execute(w, d); err != nil {
		h.log.Error("oauth: render consent page", "err", err)
	}
}

func (h *Handler) errorPage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := errorTmpl.Execute(w, struct {
		Status int
		Msg    string
	}{status, msg}); err != nil {
		h.log.Error("oauth: render error page", "err", err)
	}
}

const pageStyle = `<style>
body{font:15px/1.5 system-ui,sans-serif;background:#f4f5f7;margin:0;color:#1d2129}
main{max-width:28rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.3rem;margin-top:0}.err{color:#b00020;font-weight:600}
label{display:block;margin:1rem 0 .3rem}input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}
.actions{margin-top:1.2rem;display:flex;gap:.6rem}button{padding:.5rem 1.2rem;font-size:1rem}
.muted{color:#5f6673;font-size:.9rem}code{background:#eef;padding:0 .2rem}
</style>`

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Authorize {{.Client}} – scimd</title>` + pageStyle + `</head><body><main>
<h1>Authorize {{.Client}}</h1>
<p><strong>{{.Client}}</strong> asks for provisioning access (scope <code>{{.Scope}}</code>) to the users and groups of tenant <strong>{{.Tenant}}</strong>.</p>
<p class="muted">After your answer you will be sent back to <strong>{{.Redirect}}</strong>.</p>
{{with .Error}}<p class="err" role="alert">{{.}}</p>{{end}}
<form method="post">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="credential">Tenant admin password or connect code</label>
<input type="password" id="credential" name="credential" autocomplete="current-password" autofocus>
<p class="muted">A connect code comes from <code>scimd oauth connect-code --tenant {{.Tenant}}</code>.</p>
<div class="actions"><button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="deny" formnovalidate>Deny</button></div>
</form></main></body></html>
`))

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Authorization error – scimd</title>` + pageStyle + `</head><body><main>
<h1>Authorization error</h1>
<p class="err">{{.Msg}}</p>
<p class="muted">HTTP {{.Status}}. Nothing was authorized.</p>
</main></body></html>
`))
