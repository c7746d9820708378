package oauth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd"
)

// FuzzEndpoints sends arbitrary authorize queries, and token and revoke
// forms with and without a client's Basic credentials, to the
// authorization server's handlers on the real store. None may answer 500;
// the authorize endpoint may redirect to a registered redirect URI of the
// client and nowhere else; the token endpoint answers JSON: a token, or an
// RFC 6749 error object.
func FuzzEndpoints(f *testing.F) {
	e := newEnv(f, nil)
	okta := e.client("t1", "Okta", "acme-scim", nil, scimd.GrantAuthorizationCode, scimd.GrantRefreshToken)
	entra := e.client("t1", "Entra ID", "", nil, scimd.GrantClientCredentials)
	redirect := okta.rec.RedirectURIs[0]
	authorize := func(extra url.Values) string {
		u, _ := url.Parse(authorizeURL(e, "t1", okta, redirect, extra))
		return u.RawQuery
	}
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	for _, seed := range []struct{ query, form, user, pass string }{
		{authorize(nil), form("grant_type", "client_credentials"), entra.id, entra.secret},
		{authorize(url.Values{"redirect_uri": {"https://evil.example/cb"}}), form("grant_type", "client_credentials", "client_id", entra.id, "client_secret", entra.secret), "", ""},
		{authorize(url.Values{"redirect_uri": {redirect + "/../evil"}, "response_type": {"token"}}), "", "", ""},
		{authorize(url.Values{"response_type": {"token"}}), form("grant_type", "authorization_code", "code", "scimd_ac_0123456789abcdef_x", "redirect_uri", redirect, "code_verifier", verifier), okta.id, okta.secret},
		{authorize(url.Values{"code_challenge_method": {"plain"}}), form("grant_type", "refresh_token", "refresh_token", "scimd_rt_0123456789abcdef_x"), okta.id, okta.secret},
		{authorize(url.Values{"client_id": {""}}), form("token", "scimd_at_0123456789abcdef_x", "token_type_hint", "access_token"), okta.id, "wrong"},
		{"client_id=" + okta.id + "&redirect_uri=" + url.QueryEscape(redirect) + "&state=%ZZ", "grant_type=client_credentials&grant_type=password", entra.id + ":", ""},
		{"", "", "", ""},
	} {
		f.Add(seed.query, seed.form, seed.user, seed.pass)
	}
	f.Fuzz(func(t *testing.T, query, body, user, pass string) {
		if strings.ContainsFunc(query, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			t.Skip("not sendable in a request line")
		}
		p := serve(e, httptest.NewRequest("GET", "/t/t1/oauth/authorize", nil), query)
		if p.status >= 500 {
			t.Fatalf("authorize?%s: %d %.300s", query, p.status, p.body)
		}
		if p.status >= 300 && p.status < 400 {
			if p.location == nil {
				t.Fatalf("authorize?%s: %d without Location", query, p.status)
			}
			to := *p.location
			to.RawQuery = ""
			if !slices.Contains(okta.rec.RedirectURIs, to.String()) {
				t.Fatalf("authorize?%s redirected to %s, not a registered redirect URI", query, p.location)
			}
		}
		for _, path := range []string{"/oauth/token", "/oauth/revoke"} {
			req := httptest.NewRequest("POST", "/t/t1"+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if user != "" || pass != "" {
				req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
			}
			p := serve(e, req, "")
			if p.status >= 500 {
				t.Fatalf("%s %q (Basic %q): %d %.300s", path, body, user, p.status, p.body)
			}
			if path != "/oauth/token" {
				continue
			}
			var tr tokenResp
			if err := json.Unmarshal([]byte(p.body), &tr); err != nil {
				t.Fatalf("token %q: %d, body not JSON: %.300s", body, p.status, p.body)
			}
			if p.status == http.StatusOK && (tr.AccessToken == "" || tr.TokenType != "Bearer") ||
				p.status != http.StatusOK && tr.Error == "" {
				t.Fatalf("token %q: %d %.300s; want a token or an error object", body, p.status, p.body)
			}
		}
	})
}

// serve hands r, with query as its raw query string, to e's handlers in
// process (the fuzzer runs many times faster than over a socket).
func serve(e *env, r *http.Request, query string) page {
	r.URL.RawQuery = query
	w := httptest.NewRecorder()
	e.srv.Config.Handler.ServeHTTP(w, r)
	p := page{status: w.Code, body: w.Body.String(), header: w.Header()}
	if loc := w.Header().Get("Location"); loc != "" {
		p.location, _ = url.Parse(loc)
	}
	return p
}
