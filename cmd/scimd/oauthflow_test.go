package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeOAuthAuthorizationCode drives the OAuth 2.0 authorization-code
// flow against "scimd serve" over TLS the way Okta's OIN integrations do:
// the admin's browser opens the tenant's authorize page, signs in with a
// connect code printed by the CLI and approves; the browser is sent to
// Okta's callback with a code; Okta exchanges it (with PKCE) for tokens,
// calls the SCIM API with the access token, and refreshes, after which the
// old refresh token is dead.
func TestServeOAuthAuthorizationCode(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	cert := newTestCert(t, "oauth")
	cert.write(t, certFile, keyFile)
	roots := x509.NewCertPool()
	roots.AddCert(cert.x509)
	s := startTLSServer(t, certFile, keyFile, roots, nil)
	mustCLI(t, s.db, "", "tenant", "create", "acme")
	mustCLI(t, s.db, "", "tenant", "create", "other")

	out := mustCLI(t, s.db, "", "oauth", "client", "create", "--tenant", "acme", "--name", "Okta", "--okta-app", "acmescim")
	clientID, secret := field(out, "client_id: "), field(out, "client_secret: ")
	if clientID == "" || secret == "" {
		t.Fatalf("oauth client create printed:\n%s", out)
	}
	connect := strings.TrimSpace(mustCLI(t, s.db, "", "oauth", "connect-code", "--tenant", "acme"))
	if i := strings.LastIndex(connect, "\n"); i >= 0 {
		connect = strings.TrimSpace(connect[i+1:])
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	const callback = "https://system-admin.okta.com/admin/app/cpc/acmescim/oauth/callback"
	const verifier = "okta-pkce-verifier-0123456789-abcdefghijklmnopqrstuvwxyz"
	sum := sha256.Sum256([]byte(verifier))
	authorize := s.url + "/t/acme/oauth/authorize?" + url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {callback},
		"scope":                 {"scim"},
		"state":                 {"okta-state"},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}.Encode()

	// The consent page.
	resp, body := send(t, browser, "GET", authorize, nil, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="csrf"`) {
		t.Fatalf("authorize page: %d %.400s", resp.StatusCode, body)
	}
	form := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	form.Set("credential", connect)
	form.Set("action", "approve")
	resp, body = send(t, browser, "POST", authorize, form, "")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("approve: %d %.400s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), callback+"?") || loc.Query().Get("state") != "okta-state" {
		t.Fatalf("redirect to %q", resp.Header.Get("Location"))
	}
	code := loc.Query().Get("code")

	// Okta exchanges the code (client_secret_basic, PKCE).
	okta := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}, Timeout: 30 * time.Second}
	tokenURL := s.url + "/t/acme/oauth/token"
	tok := tokens(t, okta, tokenURL, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}, "code_verifier": {verifier},
	}, clientID, secret, http.StatusOK)
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("token response lacks tokens: %+v", tok)
	}

	// SCIM calls with the access token: acme yes, other tenant no.
	s.do("POST", "/t/acme/scim/v2/Users", tok.AccessToken, "", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "oauth.user@acme.test",
	}).want(t, http.StatusCreated)
	s.do("GET", "/t/acme/scim/v2/Users", tok.AccessToken, "", nil).want(t, http.StatusOK)
	s.do("GET", "/t/other/scim/v2/Users", tok.AccessToken, "", nil).want(t, http.StatusUnauthorized)

	// Refresh rotates: the new pair works, the old refresh token does not.
	fresh := tokens(t, okta, tokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, clientID, secret, http.StatusOK)
	if fresh.AccessToken == "" || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh did not rotate: %+v", fresh)
	}
	s.do("GET", "/t/acme/scim/v2/Users", fresh.AccessToken, "", nil).want(t, http.StatusOK)
	tokens(t, okta, tokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, clientID, secret, http.StatusBadRequest)

	// Revocation ends the access token.
	resp, _ = send(t, okta, "POST", s.url+"/t/acme/oauth/revoke", url.Values{"token": {fresh.AccessToken}}, clientID+":"+secret)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	s.do("GET", "/t/acme/scim/v2/Users", fresh.AccessToken, "", nil).want(t, http.StatusUnauthorized)

	// The code is single-use (and a replay revokes what it issued).
	tokens(t, okta, tokenURL, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}, "code_verifier": {verifier},
	}, clientID, secret, http.StatusBadRequest)

	if logs := s.logs.String(); strings.Contains(logs, secret) || strings.Contains(logs, tok.AccessToken) || strings.Contains(logs, connect) {
		t.Errorf("a secret reached the log")
	}
}

// field returns the rest of the line of out that starts with prefix.
func field(out, prefix string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// send makes a request with an optional form body and optional Basic
// credentials ("user:pass") and returns the response and its body.
func send(t *testing.T, c *http.Client, method, u string, form url.Values, basic string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user, pass, ok := strings.Cut(basic, ":"); ok {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

// tokens posts to the token endpoint with client_secret_basic and checks
// the status.
func tokens(t *testing.T, c *http.Client, u string, form url.Values, id, secret string, want int) tokenResponse {
	t.Helper()
	resp, body := send(t, c, "POST", u, form, id+":"+secret)
	if resp.StatusCode != want {
		t.Fatalf("token endpoint (%s): %d, want %d: %s", form.Get("grant_type"), resp.StatusCode, want, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal([]byte(body), &tr); err != nil {
		t.Fatalf("token response is not JSON: %s", body)
	}
	return tr
}
