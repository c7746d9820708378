package oauth

import (
	"crypto/sha256"
	"encoding/base64"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd"
)

// tokenResponse is the successful token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// readForm parses a POST body of application/x-www-form-urlencoded and
// rejects repeated parameters (§3.1, §3.2). Query parameters are ignored:
// secrets do not belong in URLs.
func readForm(r *http.Request) (url.Values, *Error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", "malformed body")
	}
	for k, vs := range r.PostForm {
		if len(vs) > 1 {
			return nil, oauthErr(http.StatusBadRequest, "invalid_request", "parameter %s repeated", k)
		}
	}
	return r.PostForm, nil
}

// dummySecretHash is compared against when a client id is unknown, so that
// a missing client costs as much as a wrong secret.
var dummySecretHash = sha256.New().Sum(nil)

// authenticateClient checks client_secret_basic or client_secret_post
// (RFC 6749 §2.3.1) and returns the tenant's client.
func (h *Handler) authenticateClient(r *http.Request, tenant string, form url.Values) (*scimd.OAuthClient, *Error) {
	var id, secret string
	if hv := r.Header.Get("Authorization"); hv != "" {
		scheme, payload, _ := strings.Cut(strings.TrimSpace(hv), " ")
		if !strings.EqualFold(scheme, "Basic") {
			return nil, h.invalidClient("unsupported client authentication scheme")
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
		if err != nil {
			return nil, h.invalidClient("malformed Basic credentials")
		}
		u, p, ok := strings.Cut(string(raw), ":")
		if !ok {
			return nil, h.invalidClient("malformed Basic credentials")
		}
		// §2.3.1: both parts are form-urlencoded before Basic encoding.
		if id, err = url.QueryUnescape(u); err != nil {
			return nil, h.invalidClient("malformed Basic credentials")
		}
		if secret, err = url.QueryUnescape(p); err != nil {
			return nil, h.invalidClient("malformed Basic credentials")
		}
		if form.Get("client_secret") != "" {
			return nil, oauthErr(http.StatusBadRequest, "invalid_request", "use one client authentication method")
		}
		if fid := form.Get("client_id"); fid != "" && fid != id {
			return nil, oauthErr(http.StatusBadRequest, "invalid_request", "client_id does not match the Authorization header")
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" || secret == "" {
		return nil, h.invalidClient("client authentication required")
	}
	got := hash(secret)
	c, err := h.store.OAuthClient(r.Context(), tenant, id)
	if err != nil {
		equal(got, dummySecretHash)
		if scimd.StatusOf(err) != http.StatusNotFound {
			h.log.Error("oauth: look up client", "tenant", tenant, "err", err)
			return nil, oauthErr(http.StatusInternalServerError, "server_error", "internal error")
		}
		h.log.Warn("oauth: unknown client", "tenant", tenant)
		return nil, h.invalidClient("client authentication failed")
	}
	if !equal(got, c.SecretHash) || c.Revoked {
		h.log.Warn("oauth: client authentication failed", "tenant", tenant, "client_id", c.ID, "revoked", c.Revoked)
		return nil, h.invalidClient("client authentication failed")
	}
	return c, nil
}

func (h *Handler) invalidClient(desc string) *Error {
	return oauthErr(http.StatusUnauthorized, "invalid_client", "%s", desc)
}

// writeClientError writes e, adding the WWW-Authenticate challenge §5.2
// requires with 401.
func (h *Handler) writeClientError(w http.ResponseWriter, e *Error) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="scimd-oauth"`)
	}
	h.writeError(w, e)
}

// clientRequest starts a request of the token and revocation endpoints:
// the tenant, the form body, and the client it authenticates. ok is false
// when one of them failed; the error has then been written.
func (h *Handler) clientRequest(w http.ResponseWriter, r *http.Request) (_ *scimd.Tenant, _ url.Values, _ *scimd.OAuthClient, ok bool) {
	tenant := h.tenant(r)
	if tenant == nil {
		h.writeError(w, oauthErr(http.StatusNotFound, "invalid_request", "unknown tenant"))
		return nil, nil, nil, false
	}
	form, e := readForm(r)
	if e != nil {
		h.writeError(w, e)
		return nil, nil, nil, false
	}
	client, e := h.authenticateClient(r, tenant.ID, form)
	if e != nil {
		h.writeClientError(w, e)
		return nil, nil, nil, false
	}
	return tenant, form, client, true
}

// token serves the token endpoint.
func (h *Handler) token(w http.ResponseWriter, r *http.Request) {
	tenant, form, client, ok := h.clientRequest(w, r)
	if !ok {
		return
	}
	now := h.cfg.Now()
	var resp *tokenResponse
	var e *Error
	switch gt := form.Get("grant_type"); gt {
	case scimd.GrantAuthorizationCode:
		resp, e = h.codeGrant(r, tenant.ID, client, form, now)
	case scimd.GrantRefreshToken:
		resp, e = h.refreshGrant(r, tenant.ID, client, form, now)
	case scimd.GrantClientCredentials:
		resp, e = h.clientCredentialsGrant(r, tenant.ID, client, form, now)
	case "":
		e = oauthErr(http.StatusBadRequest, "invalid_request", "grant_type required")
	default:
		e = oauthErr(http.StatusBadRequest, "unsupported_grant_type", "unsupported grant_type")
	}
	if e != nil {
		if e.Status == http.StatusInternalServerError {
			writeJSON(w, e.Status, e)
			return
		}
		h.log.Info("oauth: token request refused", "tenant", tenant.ID, "client_id", client.ID,
			"grant_type", form.Get("grant_type"), "error", e.Code, "reason", e.Description)
		h.writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func serverError(h *Handler, what string, err error) *Error {
	h.log.Error("oauth: "+what, "err", err)
	return oauthErr(http.StatusInternalServerError, "server_error", "internal error")
}

// invalidGrant is the answer to every unusable code or refresh token; the
// reason is logged, not told.
func invalidGrant() *Error {
	return oauthErr(http.StatusBadRequest, "invalid_grant", "the code or refresh token is invalid, expired, revoked or was issued to another client")
}

// presented checks that client may use grant and splits the code or
// refresh token in form field param (which must carry prefix) into its
// record id and secret hash.
func presented(client *scimd.OAuthClient, grant string, form url.Values, param, prefix string) (id string, sum []byte, _ *Error) {
	if !client.HasGrant(grant) {
		return "", nil, oauthErr(http.StatusBadRequest, "unauthorized_client", "the client may not use this grant type")
	}
	v := form.Get(param)
	if v == "" {
		return "", nil, oauthErr(http.StatusBadRequest, "invalid_request", "%s required", param)
	}
	id, sum, ok := splitOpaque(prefix, v)
	if !ok {
		return "", nil, invalidGrant()
	}
	return id, sum, nil
}

// codeGrant redeems an authorization code (§4.1.3, RFC 7636 §4.6).
func (h *Handler) codeGrant(r *http.Request, tenant string, client *scimd.OAuthClient, form url.Values, now time.Time) (*tokenResponse, *Error) {
	ctx := r.Context()
	id, sum, oerr := presented(client, scimd.GrantAuthorizationCode, form, "code", CodePrefix)
	if oerr != nil {
		return nil, oerr
	}
	rec, err := h.store.OAuthCode(ctx, id)
	if scimd.StatusOf(err) == http.StatusNotFound {
		return nil, invalidGrant()
	}
	if err != nil {
		return nil, serverError(h, "look up code", err)
	}
	if !equal(sum, rec.Hash) || rec.Tenant != tenant {
		return nil, invalidGrant()
	}
	// The code is spent from here on, whatever else is wrong with the
	// request: whoever presents it knows it. Checks and token issue run
	// inside the store's redemption, so a concurrent replay sees the
	// tokens and revokes them.
	var resp *tokenResponse
	var fail *Error
	prev, err := h.store.RedeemOAuthCode(ctx, tenant, id, func(c *scimd.OAuthCode) ([]*scimd.OAuthToken, error) {
		resp, fail = nil, h.checkCode(c, client, form, now)
		if fail != nil {
			return nil, nil
		}
		var toks []*scimd.OAuthToken
		toks, resp = h.issue(tenant, client, c.Family, c.Scope, now, client.HasGrant(scimd.GrantRefreshToken))
		return toks, nil
	})
	if scimd.StatusOf(err) == http.StatusNotFound {
		return nil, invalidGrant()
	}
	if err != nil {
		return nil, serverError(h, "redeem code", err)
	}
	if prev.Used {
		h.log.Warn("oauth: authorization code replayed; revoking its tokens", "tenant", tenant, "client_id", client.ID, "family", rec.Family)
		if err := h.store.RevokeOAuthFamily(ctx, tenant, rec.Family); err != nil {
			return nil, serverError(h, "revoke family", err)
		}
		return nil, invalidGrant()
	}
	if fail != nil {
		return nil, fail
	}
	h.log.Info("oauth: tokens issued", "tenant", tenant, "client_id", client.ID, "grant_type", scimd.GrantAuthorizationCode, "family", rec.Family)
	return resp, nil
}

// checkCode checks an unused code against the token request: expiry,
// client, redirect_uri and PKCE.
func (h *Handler) checkCode(c *scimd.OAuthCode, client *scimd.OAuthClient, form url.Values, now time.Time) *Error {
	switch {
	case !now.Before(c.Expires):
		h.log.Info("oauth: code expired", "tenant", c.Tenant, "client_id", client.ID)
		return invalidGrant()
	case c.ClientID != client.ID:
		h.log.Warn("oauth: code presented by another client", "tenant", c.Tenant, "client_id", client.ID)
		return invalidGrant()
	case form.Get("redirect_uri") != c.RedirectURI:
		return oauthErr(http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
	}
	verifier := form.Get("code_verifier")
	switch {
	case c.Challenge == "" && verifier != "":
		return oauthErr(http.StatusBadRequest, "invalid_grant", "code_verifier sent but the authorization request had no code_challenge")
	case c.Challenge == "":
	case verifier == "":
		return oauthErr(http.StatusBadRequest, "invalid_grant", "code_verifier required")
	case !validVerifier(verifier) || !pkceMatches(c.ChallengeMethod, c.Challenge, verifier):
		return oauthErr(http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge")
	}
	return nil
}

// pkceMatches checks a code_verifier against the stored challenge.
func pkceMatches(method, challenge, verifier string) bool {
	var got string
	switch method {
	case "S256":
		sum := sha256.Sum256([]byte(verifier))
		got = base64.RawURLEncoding.EncodeToString(sum[:])
	case "plain":
		got = verifier
	default:
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(challenge))
	return equal(a[:], b[:])
}

// refreshGrant rotates a refresh token (§6).
func (h *Handler) refreshGrant(r *http.Request, tenant string, client *scimd.OAuthClient, form url.Values, now time.Time) (*tokenResponse, *Error) {
	ctx := r.Context()
	id, sum, oerr := presented(client, scimd.GrantRefreshToken, form, "refresh_token", RefreshTokenPrefix)
	if oerr != nil {
		return nil, oerr
	}
	rec, err := h.store.OAuthToken(ctx, id)
	if scimd.StatusOf(err) == http.StatusNotFound {
		return nil, invalidGrant()
	}
	if err != nil {
		return nil, serverError(h, "look up refresh token", err)
	}
	if !equal(sum, rec.Hash) || rec.Tenant != tenant || rec.Kind != scimd.OAuthRefreshToken {
		return nil, invalidGrant()
	}
	if rec.ClientID != client.ID {
		h.log.Warn("oauth: refresh token presented by another client", "tenant", tenant, "client_id", client.ID)
		return nil, invalidGrant()
	}
	if rec.Revoked {
		return nil, invalidGrant()
	}
	if rec.Rotated {
		return nil, h.replayedRefresh(r, rec)
	}
	if !now.Before(rec.Expires) {
		return nil, invalidGrant()
	}
	scope := rec.Scope
	if s := form.Get("scope"); s != "" {
		req, ok := parseScope(s)
		if !ok {
			return nil, oauthErr(http.StatusBadRequest, "invalid_scope", "malformed scope")
		}
		granted := strings.Fields(rec.Scope)
		for _, f := range strings.Fields(req) {
			if !slices.Contains(granted, f) {
				return nil, oauthErr(http.StatusBadRequest, "invalid_scope", "scope exceeds the original grant")
			}
		}
		scope = req
	}
	toks, resp := h.issue(tenant, client, rec.Family, scope, now, true)
	err = h.store.RotateOAuthRefreshToken(ctx, tenant, rec.ID, toks...)
	if scimd.StatusOf(err) == http.StatusConflict {
		// Rotated or revoked by a concurrent request: a replay too.
		return nil, h.replayedRefresh(r, rec)
	}
	if err != nil {
		return nil, serverError(h, "rotate refresh token", err)
	}
	h.log.Info("oauth: refresh token rotated", "tenant", tenant, "client_id", client.ID, "family", rec.Family)
	return resp, nil
}

// replayedRefresh handles a rotated refresh token presented again: someone
// holds a copy, so every token of its family is revoked.
func (h *Handler) replayedRefresh(r *http.Request, rec *scimd.OAuthToken) *Error {
	h.log.Warn("oauth: rotated refresh token replayed; revoking its family", "tenant", rec.Tenant, "client_id", rec.ClientID, "family", rec.Family)
	if err := h.store.RevokeOAuthFamily(r.Context(), rec.Tenant, rec.Family); err != nil {
		return serverError(h, "revoke family", err)
	}
	return invalidGrant()
}

// clientCredentialsGrant issues an access token to the client itself
// (§4.4); no refresh token (§4.4.3).
func (h *Handler) clientCredentialsGrant(r *http.Request, tenant string, client *scimd.OAuthClient, form url.Values, now time.Time) (*tokenResponse, *Error) {
	if !client.HasGrant(scimd.GrantClientCredentials) {
		return nil, oauthErr(http.StatusBadRequest, "unauthorized_client", "the client may not use this grant type")
	}
	scope, ok := parseScope(form.Get("scope"))
	if !ok {
		return nil, oauthErr(http.StatusBadRequest, "invalid_scope", "malformed scope")
	}
	family := newID()
	toks, resp := h.issue(tenant, client, family, scope, now, false)
	if err := h.store.CreateOAuthTokens(r.Context(), toks...); err != nil {
		return nil, serverError(h, "store tokens", err)
	}
	h.log.Info("oauth: tokens issued", "tenant", tenant, "client_id", client.ID, "grant_type", scimd.GrantClientCredentials, "family", family)
	return resp, nil
}

// issue makes an access token and optionally a refresh token.
func (h *Handler) issue(tenant string, client *scimd.OAuthClient, family, scope string, now time.Time, refresh bool) ([]*scimd.OAuthToken, *tokenResponse) {
	at, atID, atHash := newOpaque(AccessTokenPrefix)
	toks := []*scimd.OAuthToken{{
		ID: atID, Tenant: tenant, ClientID: client.ID, Kind: scimd.OAuthAccessToken, Hash: atHash,
		Family: family, Scope: scope, Created: now, Expires: now.Add(h.cfg.AccessTTL),
	}}
	resp := &tokenResponse{AccessToken: at, TokenType: "Bearer", ExpiresIn: int64(h.cfg.AccessTTL / time.Second), Scope: scope}
	if refresh {
		rt, rtID, rtHash := newOpaque(RefreshTokenPrefix)
		toks = append(toks, &scimd.OAuthToken{
			ID: rtID, Tenant: tenant, ClientID: client.ID, Kind: scimd.OAuthRefreshToken, Hash: rtHash,
			Family: family, Scope: scope, Created: now, Expires: now.Add(h.cfg.RefreshTTL),
		})
		resp.RefreshToken = rt
	}
	return toks, resp
}

// revoke serves RFC 7009 revocation. The answer is 200 whether or not the
// token existed, so the endpoint reveals nothing about tokens; a client can
// revoke only its own tokens. Revoking a refresh token revokes its family.
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	tenant, form, client, ok := h.clientRequest(w, r)
	if !ok {
		return
	}
	tok := form.Get("token")
	if tok == "" {
		h.writeError(w, oauthErr(http.StatusBadRequest, "invalid_request", "token required"))
		return
	}
	// token_type_hint is not needed: the prefix tells the kind.
	var id string
	var sum []byte
	if strings.HasPrefix(tok, RefreshTokenPrefix) {
		id, sum, ok = splitOpaque(RefreshTokenPrefix, tok)
	} else {
		id, sum, ok = splitOpaque(AccessTokenPrefix, tok)
	}
	if ok {
		rec, err := h.store.OAuthToken(r.Context(), id)
		switch {
		case scimd.StatusOf(err) == http.StatusNotFound:
		case err != nil:
			h.internal(w, "look up token", err)
			return
		case equal(sum, rec.Hash) && rec.Tenant == tenant.ID && rec.ClientID == client.ID:
			if rec.Kind == scimd.OAuthRefreshToken {
				err = h.store.RevokeOAuthFamily(r.Context(), tenant.ID, rec.Family)
			} else {
				err = h.store.RevokeOAuthToken(r.Context(), tenant.ID, rec.ID)
			}
			if err != nil && scimd.StatusOf(err) != http.StatusNotFound {
				h.internal(w, "revoke token", err)
				return
			}
			h.log.Info("oauth: token revoked", "tenant", tenant.ID, "client_id", client.ID, "kind", rec.Kind, "family", rec.Family)
		}
	}
	w.WriteHeader(http.StatusOK)
}
