package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/scimd/scimd"
)

// Prefixes of the opaque strings the authorization server issues. Codes and
// tokens are <prefix><16 hex key id>_<43 base64url secret>: the key id finds
// the record, the SHA-256 of the secret is compared in constant time.
const (
	AccessTokenPrefix  = "scimd_at_"
	RefreshTokenPrefix = "scimd_rt_"
	CodePrefix         = "scimd_ac_"
	ClientIDPrefix     = "scimd_ci_"
	ClientSecretPrefix = "scimd_cs_"
)

// OktaRedirectURIs returns the five redirect URIs Okta requires every OIN
// SCIM integration using OAuth to accept for appName (Okta's production,
// EMEA, preview, trexcloud and internal test cells).
func OktaRedirectURIs(appName string) []string {
	p := "/admin/app/cpc/" + appName + "/oauth/callback"
	return []string{
		"https://system-admin.okta.com" + p,
		"https://system-admin.okta-emea.com" + p,
		"https://system-admin.oktapreview.com" + p,
		"https://system-admin.trexcloud.com" + p,
		"http://system-admin.okta1.com:1802" + p,
	}
}

// ValidateOktaApp checks an Okta appName: letters, digits, "_" and "-".
func ValidateOktaApp(name string) error {
	if name == "" || len(name) > 100 {
		return errors.New("okta app name must have 1 to 100 characters")
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("okta app name %q: only letters, digits, '_' and '-' are allowed", name)
		}
	}
	return nil
}

// ValidateRedirectURI checks a redirect URI an admin registers: absolute,
// https (http only for loopback hosts and Okta's okta1.com test cell), no
// fragment (RFC 6749 §3.1.2).
func ValidateRedirectURI(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("redirect URI %q: %w", s, err)
	}
	if !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("redirect URI %q: must be absolute", s)
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return fmt.Errorf("redirect URI %q: must not have a fragment", s)
	}
	switch u.Scheme {
	case "https":
	case "http":
		h := u.Hostname()
		if h != "localhost" && h != "127.0.0.1" && h != "::1" && h != "system-admin.okta1.com" {
			return fmt.Errorf("redirect URI %q: must use https", s)
		}
	default:
		return fmt.Errorf("redirect URI %q: must use https", s)
	}
	return nil
}

// NewClient generates a client for tenant. It returns the client secret, to
// be shown once, and the record to store. Grants nil means authorization
// code with refresh tokens.
func NewClient(tenant, name string, redirectURIs, grants []string, now time.Time) (string, *scimd.OAuthClient, error) {
	if len(grants) == 0 {
		grants = []string{scimd.GrantAuthorizationCode, scimd.GrantRefreshToken}
	}
	for _, g := range grants {
		switch g {
		case scimd.GrantAuthorizationCode, scimd.GrantRefreshToken, scimd.GrantClientCredentials:
		default:
			return "", nil, fmt.Errorf("unknown grant type %q", g)
		}
	}
	for _, u := range redirectURIs {
		if err := ValidateRedirectURI(u); err != nil {
			return "", nil, err
		}
	}
	c := &scimd.OAuthClient{Tenant: tenant, Name: name, RedirectURIs: redirectURIs, Grants: grants, Created: now}
	if c.HasGrant(scimd.GrantAuthorizationCode) && len(redirectURIs) == 0 {
		return "", nil, errors.New("the authorization_code grant needs at least one redirect URI")
	}
	var id [8]byte
	var secret [32]byte
	mustRead(id[:])
	mustRead(secret[:])
	c.ID = ClientIDPrefix + hex.EncodeToString(id[:])
	sec := ClientSecretPrefix + base64.RawURLEncoding.EncodeToString(secret[:])
	c.SecretHash = hash(sec)
	return sec, c, nil
}

// connectAlphabet has no 0/O or 1/I, so a code read aloud or retyped
// survives.
const connectAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// ConnectCodeTTL is how long a connect code stays valid.
const ConnectCodeTTL = 15 * time.Minute

// NewConnectCode generates a one-time sign-in code for tenant's consent
// page, valid for ConnectCodeTTL: 16 characters (80 random bits) in groups
// of four, such as "K7QF-M2XD-9RTA-HB4P". It returns the code, to be shown
// once, and the record to store.
func NewConnectCode(tenant string, now time.Time) (string, *scimd.OAuthConnectCode) {
	var raw [16]byte
	mustRead(raw[:])
	var b strings.Builder
	for i, c := range raw {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(connectAlphabet[int(c)%len(connectAlphabet)]) // 256 % 32 == 0: unbiased
	}
	code := b.String()
	var id [8]byte
	mustRead(id[:])
	return code, &scimd.OAuthConnectCode{
		ID:      hex.EncodeToString(id[:]),
		Tenant:  tenant,
		Hash:    hash(normalizeConnectCode(code)),
		Created: now,
		Expires: now.Add(ConnectCodeTTL),
	}
}

// normalizeConnectCode upper-cases s and drops dashes and spaces.
func normalizeConnectCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// looksLikeConnectCode reports whether s has the shape of a connect code.
func looksLikeConnectCode(s string) bool {
	n := normalizeConnectCode(s)
	if len(n) != 16 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !strings.ContainsRune(connectAlphabet, rune(n[i])) {
			return false
		}
	}
	return true
}

// newOpaque returns a new <prefix><key id>_<secret> string, its key id and
// the hash of its secret.
func newOpaque(prefix string) (s, keyID string, secretHash []byte) {
	var id [8]byte
	var secret [32]byte
	mustRead(id[:])
	mustRead(secret[:])
	keyID = hex.EncodeToString(id[:])
	sec := base64.RawURLEncoding.EncodeToString(secret[:])
	return prefix + keyID + "_" + sec, keyID, hash(sec)
}

// splitOpaque returns the key id and secret hash of a presented string
// with the given prefix.
func splitOpaque(prefix, s string) (keyID string, secretHash []byte, ok bool) {
	rest, found := strings.CutPrefix(s, prefix)
	if !found || len(rest) < 18 || rest[16] != '_' || !isHex(rest[:16]) {
		return "", nil, false
	}
	return rest[:16], hash(rest[17:]), true
}

// newID returns a random 128-bit hex identifier (token families).
func newID() string {
	var b [16]byte
	mustRead(b[:])
	return hex.EncodeToString(b[:])
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func hash(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// equal compares two hashes in constant time.
func equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

func mustRead(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
}
