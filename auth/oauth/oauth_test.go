package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/auth"
	"github.com/scimd/scimd/auth/oauth"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/sqlite"
)

// clock is a settable clock shared by the server goroutines and the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is a running authorization server with SCIM-style endpoints, over a
// real socket and the real SQLite store. Tenants are addressed by path:
// /t/{tenant}/oauth/... and /t/{tenant}/scim/v2/....
type env struct {
	t      testing.TB
	db     *sqlite.DB
	clock  *clock
	srv    *httptest.Server
	h      *oauth.Handler
	access *oauth.Access
}

func pathTenant(r *http.Request) (string, error) {
	parts := strings.Split(r.URL.Path, "/")
	if len(parts) < 3 || parts[1] != "t" {
		return "", scimd.NotFound("no tenant")
	}
	return parts[2], nil
}

func newEnv(t testing.TB, mod func(*oauth.Config)) *env {
	t.Helper()
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	db, err := sqlite.Open(ctx, ":memory:", schema.DefaultRegistry(), sqlite.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, tn := range []scimd.Tenant{{ID: "t1", Name: "acme"}, {ID: "t2", Name: "globex"}, {ID: "t3", Name: "off", Disabled: true}} {
		if err := db.CreateTenant(ctx, &tn); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := oauth.Config{Store: db, Tenants: db, ResolveTenant: pathTenant, Now: clk.Now, Logger: log}
	if mod != nil {
		mod(&cfg)
	}
	h, err := oauth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, clock: clk, h: h}
	e.access = &oauth.Access{Store: db, Tenants: db, ResolveTenant: pathTenant, Now: clk.Now}
	bearer := &auth.Bearer{Tokens: db, Tenants: db, Now: clk.Now}
	basic := &auth.Basic{Store: db, Tenants: db, ResolveTenant: pathTenant, Now: clk.Now}
	scimAuth := auth.Any(e.access, basic, bearer)
	mux := http.NewServeMux()
	mux.HandleFunc("/t/{tenant}/scim/v2/", func(w http.ResponseWriter, r *http.Request) {
		tenant, err := scimAuth.Authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="scimd"`)
			http.Error(w, err.Error(), scimd.StatusOf(err))
			return
		}
		io.WriteString(w, tenant)
	})
	mux.HandleFunc("/t/{tenant}/oauth/", h.ServeHTTP)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// browser returns an HTTP client with a cookie jar that does not follow
// redirects, like a browser seen one response at a time.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type testClient struct {
	id, secret string
	rec        *scimd.OAuthClient
}

func (e *env) client(tenant, name, okta string, extra []string, grants ...string) testClient {
	e.t.Helper()
	var uris []string
	if okta != "" {
		uris = oauth.OktaRedirectURIs(okta)
	}
	uris = append(uris, extra...)
	sec, rec, err := oauth.NewClient(tenant, name, uris, grants, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	rec.OktaApp = okta
	if err := e.db.CreateOAuthClient(context.Background(), rec); err != nil {
		e.t.Fatal(err)
	}
	return testClient{rec.ID, sec, rec}
}

func (e *env) connectCode(tenant string) string {
	e.t.Helper()
	code, rec := oauth.NewConnectCode(tenant, e.clock.Now())
	if err := e.db.CreateOAuthConnectCode(context.Background(), rec); err != nil {
		e.t.Fatal(err)
	}
	return code
}

func (e *env) url(tenant, path string) string { return e.srv.URL + "/t/" + tenant + path }

type page struct {
	status   int
	body     string
	location *url.URL
	header   http.Header
}

func do(t testing.TB, c *http.Client, req *http.Request) page {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, body: string(b), header: resp.Header}
	if loc := resp.Header.Get("Location"); loc != "" {
		p.location, err = url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func get(t *testing.T, c *http.Client, u string) page {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	return do(t, c, req)
}

func postForm(t testing.TB, c *http.Client, u string, form url.Values, basicUser, basicPass string) page {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	return do(t, c, req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// consentForm extracts the hidden fields of a consent page.
func consentForm(t *testing.T, p page) url.Values {
	t.Helper()
	if p.status != 200 || !csrfRE.MatchString(p.body) {
		t.Fatalf("consent page: status %d, body %.300s", p.status, p.body)
	}
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(p.body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v
}

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-okta-test"

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func authorizeURL(e *env, tenant string, c testClient, redirect string, extra url.Values) string {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {c.id},
		"redirect_uri":          {redirect},
		"scope":                 {"scim"},
		"state":                 {"okta-state-123"},
		"code_challenge":        {s256(verifier)},
		"code_challenge_method": {"S256"},
	}
	for k, vs := range extra {
		q[k] = vs
	}
	for k, vs := range q {
		if len(vs) == 1 && vs[0] == "" {
			delete(q, k)
		}
	}
	return e.url(tenant, "/oauth/authorize?"+q.Encode())
}

// approve drives the consent page with credential and returns the redirect.
func approve(t *testing.T, e *env, br *http.Client, authURL, credential string) page {
	t.Helper()
	form := consentForm(t, get(t, br, authURL))
	form.Set("credential", credential)
	form.Set("action", "approve")
	return postForm(t, br, authURL, form, "", "")
}

// codeFrom checks a redirect to the Okta callback and returns its code.
func codeFrom(t *testing.T, p page, redirect string) string {
	t.Helper()
	if p.status != http.StatusFound || p.location == nil {
		t.Fatalf("want 302, got %d: %.300s", p.status, p.body)
	}
	base := *p.location
	base.RawQuery = ""
	if base.String() != redirect {
		t.Fatalf("redirected to %s, want %s", base.String(), redirect)
	}
	if got := p.location.Query().Get("state"); got != "okta-state-123" {
		t.Fatalf("state %q", got)
	}
	code := p.location.Query().Get("code")
	if !strings.HasPrefix(code, oauth.CodePrefix) {
		t.Fatalf("code %q; query %s", code, p.location.RawQuery)
	}
	return code
}

type tokenResp struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
}

func (e *env) token(tenant string, c testClient, form url.Values, viaBasic bool) (int, tokenResp, page) {
	e.t.Helper()
	var p page
	if viaBasic {
		p = postForm(e.t, http.DefaultClient, e.url(tenant, "/oauth/token"), form, c.id, c.secret)
	} else {
		f := url.Values{"client_id": {c.id}, "client_secret": {c.secret}}
		for k, vs := range form {
			f[k] = vs
		}
		p = postForm(e.t, http.DefaultClient, e.url(tenant, "/oauth/token"), f, "", "")
	}
	var tr tokenResp
	if err := json.Unmarshal([]byte(p.body), &tr); err != nil && p.status != 200 {
		e.t.Fatalf("token response %d not JSON: %s", p.status, p.body)
	}
	return p.status, tr, p
}

func (e *env) exchange(tenant string, c testClient, code, redirect, ver string) (int, tokenResp) {
	e.t.Helper()
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}}
	if ver != "" {
		f.Set("code_verifier", ver)
	}
	st, tr, _ := e.token(tenant, c, f, true)
	return st, tr
}

func (e *env) refresh(tenant string, c testClient, rt string) (int, tokenResp) {
	e.t.Helper()
	st, tr, _ := e.token(tenant, c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, false)
	return st, tr
}

// scim makes a SCIM-style request with an Authorization header and returns
// the status and the tenant it was authenticated for.
func (e *env) scim(tenant, authz string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.url(tenant, "/scim/v2/Users"), nil)
	req.Header.Set("Authorization", authz)
	p := do(e.t, http.DefaultClient, req)
	return p.status, strings.TrimSpace(p.body)
}

func wantStatus(t *testing.T, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d, want %d", what, got, want)
	}
}

// TestOktaFlow drives the authorization-code flow the way Okta does, from
// the admin's browser to SCIM calls, refresh, replay detection and
// revocation.
func TestOktaFlow(t *testing.T) {
	e := newEnv(t, nil)
	okta := e.client("t1", "Okta", "acme_scim", nil)
	callback := oauth.OktaRedirectURIs("acme_scim")[0]
	br := e.browser()
	authURL := authorizeURL(e, "t1", okta, callback, nil)

	// The consent page names the client, scope and tenant, cannot be
	// framed and is not cached.
	p := get(t, br, authURL)
	consentForm(t, p)
	for _, s := range []string{"Okta", "scim", "acme", "system-admin.okta.com"} {
		if !strings.Contains(p.body, s) {
			t.Errorf("consent page lacks %q", s)
		}
	}
	if p.header.Get("X-Frame-Options") != "DENY" || !strings.Contains(p.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		p.header.Get("Cache-Control") != "no-store" {
		t.Errorf("page headers: %v", p.header)
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://system-admin.okta.com") {
		t.Errorf("CSP %q does not allow the redirect after the form", csp)
	}

	// A wrong credential shows the page again; nothing is redirected.
	p = approve(t, e, br, authURL, "not-the-password")
	wantStatus(t, "wrong credential", p.status, http.StatusUnauthorized)
	if p.location != nil || !strings.Contains(p.body, "Sign-in failed") {
		t.Fatalf("wrong credential: location %v body %.200s", p.location, p.body)
	}

	// Sign in with a connect code and approve: 302 to Okta's callback.
	cc := e.connectCode("t1")
	code := codeFrom(t, approve(t, e, br, authURL, strings.ToLower(cc)), callback)

	// The connect code is single-use.
	p = approve(t, e, br, authURL, cc)
	wantStatus(t, "reused connect code", p.status, http.StatusUnauthorized)

	// Okta exchanges the code with client_secret_basic and the verifier.
	st, tr, tp := e.token("t1", okta, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {callback}, "code_verifier": {verifier}}, true)
	wantStatus(t, "code exchange", st, 200)
	if !strings.HasPrefix(tr.AccessToken, oauth.AccessTokenPrefix) || !strings.HasPrefix(tr.RefreshToken, oauth.RefreshTokenPrefix) ||
		tr.TokenType != "Bearer" || tr.ExpiresIn != 3600 || tr.Scope != "scim" {
		t.Fatalf("token response %+v", tr)
	}
	if tp.header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(tp.header.Get("Content-Type"), "application/json") {
		t.Errorf("token response headers %v", tp.header)
	}

	// SCIM requests with the access token reach tenant t1, and only t1.
	st, tenant := e.scim("t1", "Bearer "+tr.AccessToken)
	if st != 200 || tenant != "t1" {
		t.Fatalf("SCIM with access token: %d %q", st, tenant)
	}
	st, _ = e.scim("t2", "Bearer "+tr.AccessToken)
	wantStatus(t, "access token at another tenant", st, 401)

	// Refresh rotates: new tokens work, the old refresh token does not.
	st, tr2 := e.refresh("t1", okta, tr.RefreshToken)
	wantStatus(t, "refresh", st, 200)
	if tr2.RefreshToken == tr.RefreshToken || tr2.AccessToken == tr.AccessToken || tr2.RefreshToken == "" {
		t.Fatal("refresh did not rotate")
	}
	if st, _ := e.scim("t1", "Bearer "+tr2.AccessToken); st != 200 {
		t.Fatalf("refreshed access token: %d", st)
	}

	// Replaying the rotated refresh token fails and revokes the family:
	// the newest access and refresh tokens stop working too.
	st, r3 := e.refresh("t1", okta, tr.RefreshToken)
	if st != 400 || r3.Error != "invalid_grant" {
		t.Fatalf("replayed refresh token: %d %+v", st, r3)
	}
	if st, _ := e.scim("t1", "Bearer "+tr2.AccessToken); st != 401 {
		t.Fatalf("access token after replay: %d, want 401", st)
	}
	if st, _ := e.refresh("t1", okta, tr2.RefreshToken); st != 400 {
		t.Fatalf("newest refresh token after replay: %d, want 400", st)
	}

	// A new grant, signed in with the admin password this time.
	hash, _ := auth.HashPassword("correct horse battery staple")
	if err := e.db.SetOAuthAdminPassword(context.Background(), "t1", hash); err != nil {
		t.Fatal(err)
	}
	code = codeFrom(t, approve(t, e, br, authURL, "correct horse battery staple"), callback)
	st, tr = e.exchange("t1", okta, code, callback, verifier)
	wantStatus(t, "second exchange", st, 200)

	// Revoking an access token (RFC 7009) stops it at once; the refresh
	// token lives on.
	p = postForm(t, http.DefaultClient, e.url("t1", "/oauth/revoke"),
		url.Values{"token": {tr.AccessToken}, "token_type_hint": {"access_token"}}, okta.id, okta.secret)
	wantStatus(t, "revoke access token", p.status, 200)
	if st, _ := e.scim("t1", "Bearer "+tr.AccessToken); st != 401 {
		t.Fatalf("revoked access token: %d", st)
	}
	st, tr = e.refresh("t1", okta, tr.RefreshToken)
	wantStatus(t, "refresh after access revocation", st, 200)

	// Revoking the refresh token revokes its family.
	p = postForm(t, http.DefaultClient, e.url("t1", "/oauth/revoke"), url.Values{"token": {tr.RefreshToken}}, okta.id, okta.secret)
	wantStatus(t, "revoke refresh token", p.status, 200)
	if st, _ := e.scim("t1", "Bearer "+tr.AccessToken); st != 401 {
		t.Fatalf("access token after refresh revocation: %d", st)
	}
	if st, _ := e.refresh("t1", okta, tr.RefreshToken); st != 400 {
		t.Fatalf("revoked refresh token: %d", st)
	}

	// Unknown and malformed tokens: 200 all the same (RFC 7009 §2.2).
	for _, tok := range []string{"nonsense", oauth.AccessTokenPrefix + "0123456789abcdef_xyz"} {
		p = postForm(t, http.DefaultClient, e.url("t1", "/oauth/revoke"), url.Values{"token": {tok}}, okta.id, okta.secret)
		wantStatus(t, "revoke unknown", p.status, 200)
	}
	// Revocation requires client authentication.
	p = postForm(t, http.DefaultClient, e.url("t1", "/oauth/revoke"), url.Values{"token": {tr.AccessToken}}, okta.id, "wrong")
	wantStatus(t, "revoke with wrong secret", p.status, 401)
}

// TestEntraClientCredentials gets a token as Entra ID does.
func TestEntraClientCredentials(t *testing.T) {
	e := newEnv(t, nil)
	entra := e.client("t1", "Entra ID", "", nil, scimd.GrantClientCredentials)
	for _, basic := range []bool{true, false} {
		st, tr, _ := e.token("t1", entra, url.Values{"grant_type": {"client_credentials"}}, basic)
		wantStatus(t, "client_credentials", st, 200)
		if tr.RefreshToken != "" || tr.ExpiresIn != 3600 || tr.TokenType != "Bearer" {
			t.Fatalf("response %+v", tr)
		}
		if st, tenant := e.scim("t1", "Bearer "+tr.AccessToken); st != 200 || tenant != "t1" {
			t.Fatalf("SCIM: %d %q", st, tenant)
		}
		// Expires after an hour.
		e.clock.Add(time.Hour)
		if st, _ := e.scim("t1", "Bearer "+tr.AccessToken); st != 401 {
			t.Fatalf("expired access token: %d", st)
		}
	}
	// The client may not use grants it was not given.
	st, tr, _ := e.token("t1", entra, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, true)
	if st != 400 || tr.Error != "unauthorized_client" {
		t.Fatalf("authorization_code by a client_credentials client: %d %+v", st, tr)
	}
	okta := e.client("t1", "Okta", "acme", nil)
	st, tr, _ = e.token("t1", okta, url.Values{"grant_type": {"client_credentials"}}, true)
	if st != 400 || tr.Error != "unauthorized_client" {
		t.Fatalf("client_credentials by an Okta client: %d %+v", st, tr)
	}
	st, tr, _ = e.token("t1", okta, url.Values{"grant_type": {"password"}}, true)
	if st != 400 || tr.Error != "unsupported_grant_type" {
		t.Fatalf("password grant: %d %+v", st, tr)
	}
}

// TestAuthorizeRefusals covers requests that must never redirect, and those
// that redirect with an error.
func TestAuthorizeRefusals(t *testing.T) {
	e := newEnv(t, nil)
	okta := e.client("t1", "Okta", "acme_scim", []string{"https://admin.example.com/cb"})
	other := e.client("t2", "Okta globex", "globex_scim", nil)
	revoked := e.client("t1", "Old", "acme_scim", nil)
	if err := e.db.RevokeOAuthClient(context.Background(), "t1", revoked.id); err != nil {
		t.Fatal(err)
	}
	entra := e.client("t1", "Entra", "", nil, scimd.GrantClientCredentials)
	callback := oauth.OktaRedirectURIs("acme_scim")[0]
	br := e.browser()

	// Every registered URI is accepted: Okta's five plus the admin's.
	for _, u := range append(oauth.OktaRedirectURIs("acme_scim"), "https://admin.example.com/cb") {
		consentForm(t, get(t, br, authorizeURL(e, "t1", okta, u, nil)))
	}

	noRedirect := []struct {
		name string
		url  string
	}{
		{"foreign redirect_uri", authorizeURL(e, "t1", okta, "https://evil.example/cb", nil)},
		{"other appName", authorizeURL(e, "t1", okta, oauth.OktaRedirectURIs("other_app")[0], nil)},
		{"trailing slash", authorizeURL(e, "t1", okta, callback+"/", nil)},
		{"case changed", authorizeURL(e, "t1", okta, strings.Replace(callback, "okta.com", "OKTA.com", 1), nil)},
		{"extra query", authorizeURL(e, "t1", okta, callback+"?x=1", nil)},
		{"missing redirect_uri", authorizeURL(e, "t1", okta, "", nil)},
		{"unknown client", authorizeURL(e, "t1", testClient{id: "scimd_ci_0000000000000000"}, callback, nil)},
		{"revoked client", authorizeURL(e, "t1", revoked, callback, nil)},
		{"client of another tenant", authorizeURL(e, "t1", other, oauth.OktaRedirectURIs("globex_scim")[0], nil)},
		{"client without redirect URIs", authorizeURL(e, "t1", entra, callback, nil)},
		{"disabled tenant", authorizeURL(e, "t3", okta, callback, nil)},
		{"unknown tenant", authorizeURL(e, "nope", okta, callback, nil)},
		{"repeated redirect_uri", authorizeURL(e, "t1", okta, callback, url.Values{"redirect_uri": {callback, callback}})},
	}
	for _, tc := range noRedirect {
		t.Run(tc.name, func(t *testing.T) {
			p := get(t, br, tc.url)
			if p.location != nil || p.status < 400 || !strings.Contains(p.body, "Authorization error") {
				t.Fatalf("status %d location %v body %.200s", p.status, p.location, p.body)
			}
		})
	}

	redirects := []struct {
		name  string
		extra url.Values
		want  string
	}{
		{"token response_type", url.Values{"response_type": {"token"}}, "unsupported_response_type"},
		{"unknown PKCE method", url.Values{"code_challenge_method": {"S512"}}, "invalid_request"},
		{"short challenge", url.Values{"code_challenge": {"abc"}}, "invalid_request"},
		{"method without challenge", url.Values{"code_challenge": {""}}, "invalid_request"},
		{"bad scope", url.Values{"scope": {"a\"b"}}, "invalid_scope"},
		{"repeated state", url.Values{"state": {"a", "b"}}, "invalid_request"},
	}
	for _, tc := range redirects {
		t.Run(tc.name, func(t *testing.T) {
			p := get(t, br, authorizeURL(e, "t1", okta, callback, tc.extra))
			if p.status != http.StatusFound || p.location == nil || p.location.Query().Get("error") != tc.want {
				t.Fatalf("status %d location %v", p.status, p.location)
			}
			if !strings.HasPrefix(p.location.String(), callback+"?") {
				t.Fatalf("redirected to %s", p.location)
			}
		})
	}

	t.Run("deny", func(t *testing.T) {
		u := authorizeURL(e, "t1", okta, callback, nil)
		form := consentForm(t, get(t, br, u))
		form.Set("action", "deny")
		p := postForm(t, br, u, form, "", "")
		if p.status != http.StatusFound || p.location.Query().Get("error") != "access_denied" || p.location.Query().Get("state") != "okta-state-123" {
			t.Fatalf("deny: %d %v", p.status, p.location)
		}
	})

	t.Run("CSRF", func(t *testing.T) {
		u := authorizeURL(e, "t1", okta, callback, nil)
		form := consentForm(t, get(t, br, u))
		form.Set("action", "approve")
		form.Set("credential", e.connectCode("t1"))
		// A forged token, and a valid token without the cookie (another
		// browser), are both refused without redirecting.
		bad := url.Values{}
		for k, vs := range form {
			bad[k] = vs
		}
		bad.Set("csrf", "forged")
		for name, c := range map[string]*http.Client{"forged token": br, "no cookie": e.browser()} {
			f := form
			if name == "forged token" {
				f = bad
			}
			p := postForm(t, c, u, f, "", "")
			if p.status != http.StatusForbidden || p.location != nil {
				t.Fatalf("%s: %d %v", name, p.status, p.location)
			}
		}
		// The untouched form still works.
		codeFrom(t, postForm(t, br, u, form, "", ""), callback)
	})

	t.Run("POST with a swapped redirect_uri", func(t *testing.T) {
		// The hidden fields are validated again on POST.
		u := authorizeURL(e, "t1", okta, callback, nil)
		form := consentForm(t, get(t, br, u))
		form.Set("redirect_uri", "https://evil.example/cb")
		form.Set("action", "approve")
		form.Set("credential", e.connectCode("t1"))
		p := postForm(t, br, u, form, "", "")
		if p.status != 400 || p.location != nil {
			t.Fatalf("%d %v", p.status, p.location)
		}
	})

	t.Run("sign-in throttling", func(t *testing.T) {
		e := newEnv(t, func(c *oauth.Config) { c.MaxSignInFailures = 3 })
		okta := e.client("t1", "Okta", "acme_scim", nil)
		br := e.browser()
		u := authorizeURL(e, "t1", okta, callback, nil)
		for range 3 {
			wantStatus(t, "wrong credential", approve(t, e, br, u, "wrong").status, 401)
		}
		// Even a good code is refused while throttled…
		cc := e.connectCode("t1")
		wantStatus(t, "throttled", approve(t, e, br, u, cc).status, http.StatusTooManyRequests)
		// …and accepted once the window has passed.
		e.clock.Add(oauth.DefaultSignInWindow)
		codeFrom(t, approve(t, e, br, u, e.connectCode("t1")), callback)
	})
}

// TestTokenRefusals covers the token endpoint's failure paths.
func TestTokenRefusals(t *testing.T) {
	e := newEnv(t, nil)
	okta := e.client("t1", "Okta", "acme_scim", nil)
	okta2 := e.client("t1", "Okta 2", "acme_scim", nil)
	other := e.client("t2", "Okta globex", "acme_scim", nil)
	callback := oauth.OktaRedirectURIs("acme_scim")[1]
	br := e.browser()
	newCode := func(extra url.Values) string {
		t.Helper()
		u := authorizeURL(e, "t1", okta, callback, extra)
		return codeFrom(t, approve(t, e, br, u, e.connectCode("t1")), callback)
	}
	wantGrantErr := func(what string, st int, tr tokenResp) {
		t.Helper()
		if st != 400 || tr.Error != "invalid_grant" {
			t.Fatalf("%s: %d %+v", what, st, tr)
		}
	}

	t.Run("bad PKCE verifier", func(t *testing.T) {
		code := newCode(nil)
		st, tr := e.exchange("t1", okta, code, callback, strings.Repeat("x", 43))
		wantGrantErr("wrong verifier", st, tr)
		// The failed attempt spent the code.
		st, tr = e.exchange("t1", okta, code, callback, verifier)
		wantGrantErr("code after failed attempt", st, tr)
	})
	t.Run("missing verifier", func(t *testing.T) {
		st, tr := e.exchange("t1", okta, newCode(nil), callback, "")
		wantGrantErr("no verifier", st, tr)
	})
	t.Run("verifier without challenge", func(t *testing.T) {
		code := newCode(url.Values{"code_challenge": {""}, "code_challenge_method": {""}})
		st, tr := e.exchange("t1", okta, code, callback, verifier)
		wantGrantErr("downgrade", st, tr)
	})
	t.Run("no PKCE at all", func(t *testing.T) {
		code := newCode(url.Values{"code_challenge": {""}, "code_challenge_method": {""}})
		st, _ := e.exchange("t1", okta, code, callback, "")
		wantStatus(t, "no PKCE", st, 200)
	})
	t.Run("plain PKCE", func(t *testing.T) {
		code := newCode(url.Values{"code_challenge": {verifier}, "code_challenge_method": {"plain"}})
		st, _ := e.exchange("t1", okta, code, callback, verifier)
		wantStatus(t, "plain", st, 200)
	})
	t.Run("code reuse revokes its tokens", func(t *testing.T) {
		code := newCode(nil)
		st, tr := e.exchange("t1", okta, code, callback, verifier)
		wantStatus(t, "first use", st, 200)
		st, tr2 := e.exchange("t1", okta, code, callback, verifier)
		wantGrantErr("second use", st, tr2)
		if st, _ := e.scim("t1", "Bearer "+tr.AccessToken); st != 401 {
			t.Fatalf("access token from a replayed code: %d", st)
		}
		if st, _ := e.refresh("t1", okta, tr.RefreshToken); st != 400 {
			t.Fatalf("refresh token from a replayed code: %d", st)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		code := newCode(nil)
		e.clock.Add(61 * time.Second)
		st, tr := e.exchange("t1", okta, code, callback, verifier)
		wantGrantErr("expired", st, tr)
	})
	t.Run("code just before expiry", func(t *testing.T) {
		code := newCode(nil)
		e.clock.Add(59 * time.Second)
		st, _ := e.exchange("t1", okta, code, callback, verifier)
		wantStatus(t, "59 s", st, 200)
	})
	t.Run("other redirect_uri", func(t *testing.T) {
		st, tr := e.exchange("t1", okta, newCode(nil), oauth.OktaRedirectURIs("acme_scim")[0], verifier)
		wantGrantErr("redirect_uri mismatch", st, tr)
	})
	t.Run("code of another client", func(t *testing.T) {
		st, tr := e.exchange("t1", okta2, newCode(nil), callback, verifier)
		wantGrantErr("other client", st, tr)
	})
	t.Run("code at another tenant", func(t *testing.T) {
		st, tr := e.exchange("t2", other, newCode(nil), callback, verifier)
		wantGrantErr("other tenant", st, tr)
	})
	t.Run("tampered code", func(t *testing.T) {
		code := newCode(nil)
		st, tr := e.exchange("t1", okta, code[:len(code)-3]+"abc", callback, verifier)
		wantGrantErr("tampered", st, tr)
		// The real code is still good: a guess does not spend it.
		st, _ = e.exchange("t1", okta, code, callback, verifier)
		wantStatus(t, "real code after a bad guess", st, 200)
	})
	t.Run("wrong client secret", func(t *testing.T) {
		code := newCode(nil)
		bad := okta
		bad.secret = okta.secret[:len(okta.secret)-2] + "xx"
		for _, basic := range []bool{true, false} {
			st, tr, p := e.token("t1", bad, url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {callback}, "code_verifier": {verifier}}, basic)
			if st != 401 || tr.Error != "invalid_client" || !strings.HasPrefix(p.header.Get("WWW-Authenticate"), "Basic") {
				t.Fatalf("basic=%v: %d %+v %v", basic, st, tr, p.header)
			}
		}
		// A wrong secret does not spend the code.
		st, _ := e.exchange("t1", okta, code, callback, verifier)
		wantStatus(t, "code after bad client auth", st, 200)
	})
	t.Run("no client authentication", func(t *testing.T) {
		p := postForm(t, http.DefaultClient, e.url("t1", "/oauth/token"),
			url.Values{"grant_type": {"client_credentials"}, "client_id": {okta.id}}, "", "")
		wantStatus(t, "public client", p.status, 401)
	})
	t.Run("unknown client", func(t *testing.T) {
		st, tr, _ := e.token("t1", testClient{id: "scimd_ci_0000000000000000", secret: okta.secret},
			url.Values{"grant_type": {"client_credentials"}}, true)
		if st != 401 || tr.Error != "invalid_client" {
			t.Fatalf("%d %+v", st, tr)
		}
	})
	t.Run("client at another tenant", func(t *testing.T) {
		st, tr, _ := e.token("t2", okta, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, true)
		if st != 401 || tr.Error != "invalid_client" {
			t.Fatalf("%d %+v", st, tr)
		}
	})
	t.Run("revoked client", func(t *testing.T) {
		c := e.client("t1", "Temp", "acme_scim", nil, scimd.GrantClientCredentials, scimd.GrantAuthorizationCode, scimd.GrantRefreshToken)
		_, tr, _ := e.token("t1", c, url.Values{"grant_type": {"client_credentials"}}, true)
		if st, _ := e.scim("t1", "Bearer "+tr.AccessToken); st != 200 {
			t.Fatalf("before revocation: %d", st)
		}
		if err := e.db.RevokeOAuthClient(context.Background(), "t1", c.id); err != nil {
			t.Fatal(err)
		}
		st, tr2, _ := e.token("t1", c, url.Values{"grant_type": {"client_credentials"}}, true)
		if st != 401 || tr2.Error != "invalid_client" {
			t.Fatalf("revoked client: %d %+v", st, tr2)
		}
		if st, _ := e.scim("t1", "Bearer "+tr.AccessToken); st != 401 {
			t.Fatalf("token of a revoked client: %d", st)
		}
	})
	t.Run("refresh token of another client", func(t *testing.T) {
		_, tr := e.exchange("t1", okta, newCode(nil), callback, verifier)
		st, r2 := e.refresh("t1", okta2, tr.RefreshToken)
		wantGrantErr("other client", st, r2)
		// Still good for its own client.
		st, _ = e.refresh("t1", okta, tr.RefreshToken)
		wantStatus(t, "own client", st, 200)
	})
	t.Run("expired refresh token", func(t *testing.T) {
		_, tr := e.exchange("t1", okta, newCode(nil), callback, verifier)
		e.clock.Add(oauth.DefaultRefreshTTL)
		st, r2 := e.refresh("t1", okta, tr.RefreshToken)
		wantGrantErr("expired refresh", st, r2)
	})
	t.Run("access token as refresh token", func(t *testing.T) {
		_, tr := e.exchange("t1", okta, newCode(nil), callback, verifier)
		st, r2 := e.refresh("t1", okta, tr.AccessToken)
		wantGrantErr("access as refresh", st, r2)
		// A refresh token is not a SCIM credential.
		if st, _ := e.scim("t1", "Bearer "+tr.RefreshToken); st != 401 {
			t.Fatalf("refresh token as SCIM credential: %d", st)
		}
	})
	t.Run("malformed requests", func(t *testing.T) {
		req, _ := http.NewRequest("POST", e.url("t1", "/oauth/token"), strings.NewReader(`{"grant_type":"client_credentials"}`))
		req.Header.Set("Content-Type", "application/json")
		if p := do(t, http.DefaultClient, req); p.status != 400 || !strings.Contains(p.body, "invalid_request") {
			t.Fatalf("JSON body: %d %s", p.status, p.body)
		}
		if p := get(t, http.DefaultClient, e.url("t1", "/oauth/token")); p.status != 405 {
			t.Fatalf("GET token: %d", p.status)
		}
		st, tr, _ := e.token("t1", okta, url.Values{"grant_type": {"client_credentials", "client_credentials"}}, true)
		if st != 400 || tr.Error != "invalid_request" {
			t.Fatalf("repeated parameter: %d %+v", st, tr)
		}
	})
}

func TestRejectPlainPKCE(t *testing.T) {
	e := newEnv(t, func(c *oauth.Config) { c.RejectPlainPKCE = true; c.RequirePKCE = true })
	okta := e.client("t1", "Okta", "acme_scim", nil)
	callback := oauth.OktaRedirectURIs("acme_scim")[0]
	for name, extra := range map[string]url.Values{
		"plain":   {"code_challenge": {verifier}, "code_challenge_method": {"plain"}},
		"default": {"code_challenge": {verifier}, "code_challenge_method": {""}},
		"none":    {"code_challenge": {""}, "code_challenge_method": {""}},
	} {
		p := get(t, e.browser(), authorizeURL(e, "t1", okta, callback, extra))
		if p.status != http.StatusFound || p.location.Query().Get("error") != "invalid_request" {
			t.Fatalf("%s: %d %v", name, p.status, p.location)
		}
	}
	consentForm(t, get(t, e.browser(), authorizeURL(e, "t1", okta, callback, nil)))
}

func TestOktaRedirectURIs(t *testing.T) {
	got := oauth.OktaRedirectURIs("acme_scim")
	want := []string{
		"https://system-admin.okta.com/admin/app/cpc/acme_scim/oauth/callback",
		"https://system-admin.okta-emea.com/admin/app/cpc/acme_scim/oauth/callback",
		"https://system-admin.oktapreview.com/admin/app/cpc/acme_scim/oauth/callback",
		"https://system-admin.trexcloud.com/admin/app/cpc/acme_scim/oauth/callback",
		"http://system-admin.okta1.com:1802/admin/app/cpc/acme_scim/oauth/callback",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q", got)
	}
	for _, u := range got {
		if err := oauth.ValidateRedirectURI(u); err != nil {
			t.Error(err)
		}
	}
	for _, u := range []string{"http://example.com/cb", "https://example.com/cb#x", "/relative", "javascript:alert(1)"} {
		if oauth.ValidateRedirectURI(u) == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
