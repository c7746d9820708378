package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/auth"
	"golang.org/x/crypto/argon2"
)

// FuzzAuthorization sends arbitrary Authorization headers to Basic and
// Bearer behind auth.Any, as scimd serve chains them: t1 has a bearer
// token and a Basic credential, t2 a bearer token. A header authenticates
// only if it carries one of them, and then as its tenant; anything else
// gets a 401 SCIM error (no panic, no other error).
func FuzzAuthorization(f *testing.F) {
	ctx := context.Background()
	db := openDB(f)
	now := time.Now().UTC()
	tok, rec := auth.NewToken("t1", "okta", time.Time{}, now)
	if err := db.CreateToken(ctx, rec); err != nil {
		f.Fatal(err)
	}
	tok2, rec2 := auth.NewToken("t2", "okta", time.Time{}, now)
	if err := db.CreateToken(ctx, rec2); err != nil {
		f.Fatal(err)
	}
	pass, cred, err := auth.NewBasicCredential("t1", "okta", now)
	if err != nil {
		f.Fatal(err)
	}
	if err := db.CreateBasicCredential(ctx, cred); err != nil {
		f.Fatal(err)
	}
	store := cheapCredentials{BasicCredentialStore: db, cred: cred, pass: pass}
	basic := &auth.Basic{Store: store, Tenants: db, ResolveTenant: func(*http.Request) (string, error) { return "t1", nil }}
	a := auth.Any(basic, &auth.Bearer{Tokens: db, Tenants: db})

	valid := []string{"Bearer " + tok, "bearer  " + tok + " ", tok, basicHeader("okta", pass), "BASIC " + basicHeader("okta", pass)[6:]}
	for _, h := range valid {
		if tenant, err := a.Authenticate(request(h)); err != nil || tenant != "t1" {
			f.Fatalf("valid seed %q: %q, %v; want t1", h, tenant, err)
		}
		f.Add(h)
	}
	keyID, secret, _ := strings.Cut(strings.TrimPrefix(tok, "scimd_"), "_")
	_, secret2, _ := strings.Cut(strings.TrimPrefix(tok2, "scimd_"), "_")
	// basicCredentials reports whether h ends in the base64 of t1's Basic
	// username and password.
	basicCredentials := func(h string) bool {
		h = strings.TrimSpace(h)
		b, err := base64.StdEncoding.DecodeString(h[strings.LastIndexByte(h, ' ')+1:])
		return err == nil && string(b) == "okta:"+pass
	}
	for _, h := range []string{"Bearer " + tok2, "Bearer " + tok + tok2} {
		f.Add(h)
	}
	for _, h := range []string{
		"", "Bearer", "Bearer ", "Bearer scimd_", "Bearer scimd__", "scimd_" + keyID, "Bearer scimd_" + keyID + "_",
		"Bearer scimd_" + keyID + "_" + secret[:len(secret)-1], "Bearer " + strings.ToUpper(tok), "Token " + tok,
		"Basic", "Basic ", "Basic Og==", "Basic b2t0YQ==", "Basic b2t0YTo=", basicHeader("okta", pass+"x"),
		basicHeader("", pass), "Basic " + tok, "Bearer " + basicHeader("okta", pass)[6:], "Digest username=\"okta\"",
	} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := request(header)
		tenant, err := a.Authenticate(r)
		if err == nil {
			if !(tenant == "t1" && (strings.Contains(header, secret) || basicCredentials(header)) ||
				tenant == "t2" && strings.Contains(header, secret2)) {
				t.Fatalf("Authorization %q authenticated as tenant %q without its credentials", header, tenant)
			}
			return
		}
		var e *scimd.Error
		if !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
			t.Fatalf("Authorization %q: %v; want a 401 *scimd.Error", header, err)
		}
	})
}

// cheapCredentials answers every Basic username of t1 with a credential
// whose hash has argon2id's smallest parameters, so that the fuzzer is not
// bound by a 19 MiB hash per input: "okta" (the stored credential cred)
// with its password pass, any other username with an unguessable one.
type cheapCredentials struct {
	scimd.BasicCredentialStore
	cred *scimd.BasicCredential
	pass string
}

func (s cheapCredentials) BasicCredentialByUsername(_ context.Context, tenant, username string) (*scimd.BasicCredential, error) {
	c := *s.cred
	password := s.pass
	if username != c.Username {
		c.ID, c.Username, password = "other", username, "not-"+s.pass
	}
	salt := []byte("0123456789abcdef")
	enc := base64.RawStdEncoding
	c.Hash = fmt.Sprintf("$argon2id$v=%d$m=8,t=1,p=1$%s$%s", argon2.Version,
		enc.EncodeToString(salt), enc.EncodeToString(argon2.IDKey([]byte(password), salt, 1, 8, 1, 32)))
	return &c, nil
}
