package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/certreload"
)

// tenantCLI runs a scimd command in-process against the SQLite file db,
// with stdin as its standard input.
func tenantCLI(t *testing.T, db, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errw bytes.Buffer
	getenv := func(k string) string {
		if k == "SCIMD_DATABASE" {
			return db
		}
		return ""
	}
	err = Run(context.Background(), args, Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errw, Getenv: getenv})
	return out.String(), errw.String(), err
}

func mustCLI(t *testing.T, db, stdin string, args ...string) string {
	t.Helper()
	out, errs, err := tenantCLI(t, db, stdin, args...)
	if err != nil {
		t.Fatalf("scimd %s: %v\n%s", strings.Join(args, " "), err, errs)
	}
	return out
}

func TestTenantCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "scimd.db")

	out := mustCLI(t, db, "", "tenant", "create", "acme", "--host", "ACME.scim.example.com", "--host", "acme.example.org")
	for _, want := range []string{`Created tenant "acme"`, "http://acme.scim.example.com/scim/v2", "http://127.0.0.1:8080/t/acme/scim/v2"} {
		if !strings.Contains(out, want) {
			t.Errorf("create output lacks %q:\n%s", want, out)
		}
	}
	mustCLI(t, db, "", "tenant", "create", "--host", "globex.example.com", "globex")

	for _, args := range [][]string{
		{"tenant", "create", "acme"},                                  // duplicate name
		{"tenant", "create", "initech", "--host", "acme.example.org"}, // host taken
		{"tenant", "create", "Bad_Name"},
		{"tenant", "create", "x", "--host", "bad_host.example.com"},
		{"tenant", "create"},
		{"tenant", "disable", "nope"},
		{"tenant", "frobnicate", "acme"},
		{"tenant", "list", "extra"},
	} {
		if _, _, err := tenantCLI(t, db, "", args...); err == nil {
			t.Errorf("scimd %s succeeded", strings.Join(args, " "))
		}
	}

	list := mustCLI(t, db, "", "tenant", "list")
	if !regexpMatch(`(?m)^acme\s+\S+\s+enabled\s+\S+\s+acme.example.org,acme.scim.example.com$`, list) ||
		!regexpMatch(`(?m)^globex\s+\S+\s+enabled\s+\S+\s+globex.example.com$`, list) {
		t.Errorf("tenant list:\n%s", list)
	}

	mustCLI(t, db, "", "tenant", "disable", "acme")
	if list := mustCLI(t, db, "", "tenant", "list"); !regexpMatch(`(?m)^acme\s+\S+\s+disabled`, list) {
		t.Errorf("after disable:\n%s", list)
	}
	mustCLI(t, db, "", "tenant", "enable", "acme")
	mustCLI(t, db, "", "tenant", "update", "acme", "--host", "new.example.com")
	if list := mustCLI(t, db, "", "tenant", "list"); !regexpMatch(`(?m)^acme\s+\S+\s+enabled\s+\S+\s+new.example.com$`, list) {
		t.Errorf("after update:\n%s", list)
	}

	// Tokens of a tenant: create, list with last use.
	tok := strings.TrimSpace(mustCLI(t, db, "", "token", "create", "--tenant", "acme", "--name", "okta-prod", "--expires", "90d"))
	if !strings.HasPrefix(tok, "scimd_") || strings.Contains(tok, "\n") {
		t.Fatalf("token create printed %q", tok)
	}
	if list := mustCLI(t, db, "", "token", "list", "--tenant", "acme"); !strings.Contains(list, "okta-prod") || !strings.Contains(list, "LAST USED") {
		t.Errorf("token list:\n%s", list)
	}

	// Delete asks for the name; a wrong answer or none deletes nothing.
	for _, stdin := range []string{"", "yes\n", "globex\n"} {
		_, errs, err := tenantCLI(t, db, stdin, "tenant", "delete", "acme")
		if err == nil {
			t.Fatalf("delete confirmed by %q", stdin)
		}
		if !strings.Contains(errs, "Type the tenant name to confirm") || !strings.Contains(errs, "1 tokens") {
			t.Errorf("confirmation prompt:\n%s", errs)
		}
	}
	if list := mustCLI(t, db, "", "tenant", "list"); !strings.Contains(list, "acme") {
		t.Fatalf("unconfirmed delete deleted:\n%s", list)
	}
	mustCLI(t, db, "acme\n", "tenant", "delete", "acme")
	mustCLI(t, db, "", "tenant", "delete", "globex", "--yes")
	if list := mustCLI(t, db, "", "tenant", "list"); strings.Contains(list, "acme") || strings.Contains(list, "globex") {
		t.Errorf("after delete:\n%s", list)
	}
	if _, _, err := tenantCLI(t, db, "", "token", "list", "--tenant", "acme"); err == nil {
		t.Error("token list of a deleted tenant succeeded")
	}
}

// testCert is a self-signed certificate for 127.0.0.1 and *.scim.test.
type testCert struct {
	certPEM, keyPEM []byte
	serial          *big.Int
	x509            *x509.Certificate
}

func newTestCert(t *testing.T, cn string) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"*.scim.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		serial:  serial,
		x509:    c,
	}
}

func (c *testCert) write(t *testing.T, certFile, keyFile string) {
	t.Helper()
	// Write to temporary names and rename, as renewal tools do.
	for _, f := range []struct {
		name string
		data []byte
	}{{keyFile, c.keyPEM}, {certFile, c.certPEM}} {
		if err := os.WriteFile(f.name+".tmp", f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(f.name+".tmp", f.name); err != nil {
			t.Fatal(err)
		}
	}
}

// tlsServer is a running "scimd serve" with TLS.
type tlsServer struct {
	t      *testing.T
	db     string
	url    string // https://127.0.0.1:port
	client *http.Client
	logs   *syncBuffer
}

func startTLSServer(t *testing.T, certFile, keyFile string, roots *x509.CertPool, mutate func(*Config)) *tlsServer {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.Database = filepath.Join(t.TempDir(), "scimd.db")
	cfg.LogLevel = "info"
	cfg.TLS = TLSConfig{Cert: certFile, Key: keyFile}
	if mutate != nil {
		mutate(&cfg)
	}
	var stdout syncBuffer
	logs := &syncBuffer{}
	s := &Server{Config: cfg, BootstrapToken: testToken, Stdout: &stdout, Stderr: logs}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Open(ctx); err != nil {
		cancel()
		t.Fatalf("open server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL %q is not https", s.URL())
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true}
	return &tlsServer{t: t, db: cfg.Database, url: "https://" + s.Addr().String(), client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, logs: logs}
}

type tresp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
	peer   *x509.Certificate
}

// do sends a request with token, to host (the Host header; "" for the
// URL's own).
func (s *tlsServer) do(method, path, token, host string, body any, headers ...string) *tresp {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &tresp{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		r.peer = resp.TLS.PeerCertificates[0]
	}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &r.body)
	}
	return r
}

func (r *tresp) want(t *testing.T, status int) *tresp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	if status == http.StatusUnauthorized && (r.header.Get("WWW-Authenticate") == "" || !strings.Contains(r.raw, `"status":"401"`)) {
		t.Errorf("401 without WWW-Authenticate or SCIM body: %v %s", r.header, r.raw)
	}
	return r
}

// TestServeTenantsTLS runs "scimd serve" over TLS with two tenants created
// by the CLI, and checks routing, isolation, disabling, deletion and
// certificate reloading end to end.
func TestServeTenantsTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first, second := newTestCert(t, "first"), newTestCert(t, "second")
	first.write(t, certFile, keyFile)
	roots := x509.NewCertPool()
	roots.AddCert(first.x509)
	roots.AddCert(second.x509)
	s := startTLSServer(t, certFile, keyFile, roots, nil)

	mustCLI(t, s.db, "", "tenant", "create", "a", "--host", "a.scim.test")
	mustCLI(t, s.db, "", "tenant", "create", "b", "--host", "b.scim.test")
	tokA := strings.TrimSpace(mustCLI(t, s.db, "", "token", "create", "--tenant", "a"))
	tokB := strings.TrimSpace(mustCLI(t, s.db, "", "token", "create", "--tenant", "b"))

	r := s.do("GET", "/scim/v2/Users", tokA, "a.scim.test", nil).want(t, http.StatusOK)
	if r.peer == nil || r.peer.SerialNumber.Cmp(first.serial) != 0 {
		t.Fatalf("served certificate is not the first one")
	}
	user := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "bob@b.test"}
	bob := s.do("POST", "/scim/v2/Users", tokB, "b.scim.test", user).want(t, http.StatusCreated)
	if got, want := bob.header.Get("Location"), "https://b.scim.test/scim/v2/Users/"+str(bob.body, "id"); got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
	bobID := str(bob.body, "id")
	viaPath := s.do("GET", "/t/b/scim/v2/Users/"+bobID, tokB, "", nil).want(t, http.StatusOK)
	if got, want := str(viaPath.body, "meta.location"), s.url+"/t/b/scim/v2/Users/"+bobID; got != want {
		t.Errorf("meta.location by path %q, want %q", got, want)
	}

	// A's credential: B's host and path refuse it; A's own URLs know
	// nothing of B, and B's userName is free in A.
	s.do("GET", "/scim/v2/Users/"+bobID, tokA, "b.scim.test", nil).want(t, http.StatusUnauthorized)
	s.do("GET", "/t/b/scim/v2/Users", tokA, "", nil).want(t, http.StatusUnauthorized)
	s.do("DELETE", "/t/b/scim/v2/Users/"+bobID, tokA, "", nil).want(t, http.StatusUnauthorized)
	s.do("GET", "/scim/v2/Users/"+bobID, tokA, "a.scim.test", nil).want(t, http.StatusNotFound)
	s.do("DELETE", "/t/a/scim/v2/Users/"+bobID, tokA, "", nil).want(t, http.StatusNotFound)
	s.do("POST", "/scim/v2/Users", tokA, "a.scim.test", user).want(t, http.StatusCreated)
	if n := s.do("GET", "/scim/v2/Users?count=0", tokA, "", nil).want(t, http.StatusOK).body["totalResults"]; n != 1.0 {
		t.Errorf("A sees %v users, want 1", n)
	}
	s.do("GET", "/scim/v2/Users/"+bobID, tokB, "b.scim.test", nil).want(t, http.StatusOK)

	// Certificate rotation: a new handshake sees the new certificate.
	second.write(t, certFile, keyFile)
	deadline := time.Now().Add(10 * time.Second)
	for {
		time.Sleep(certreload.CheckInterval / 2)
		r := s.do("GET", "/scim/v2/ServiceProviderConfig", tokA, "", nil).want(t, http.StatusOK)
		if r.peer.SerialNumber.Cmp(second.serial) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the rotated certificate was not served")
		}
	}

	// Disabled tenant: 401 on every route; enabled again: 200.
	mustCLI(t, s.db, "", "tenant", "disable", "b")
	s.do("GET", "/scim/v2/Users", tokB, "b.scim.test", nil).want(t, http.StatusUnauthorized)
	s.do("GET", "/t/b/scim/v2/Users", tokB, "", nil).want(t, http.StatusUnauthorized)
	s.do("GET", "/scim/v2/Users", tokB, "", nil).want(t, http.StatusUnauthorized)
	mustCLI(t, s.db, "", "tenant", "enable", "b")
	s.do("GET", "/scim/v2/Users", tokB, "b.scim.test", nil).want(t, http.StatusOK)

	// Revoked token.
	extra := strings.TrimSpace(mustCLI(t, s.db, "", "token", "create", "--tenant", "b"))
	s.do("GET", "/scim/v2/Users", extra, "", nil).want(t, http.StatusOK)
	mustCLI(t, s.db, "", "token", "revoke", "--tenant", "b", extra)
	s.do("GET", "/scim/v2/Users", extra, "", nil).want(t, http.StatusUnauthorized)

	// Deleting B removes its data: its token stops working, and a new
	// tenant of the same name starts empty.
	mustCLI(t, s.db, "", "tenant", "delete", "b", "--yes")
	s.do("GET", "/scim/v2/Users", tokB, "", nil).want(t, http.StatusUnauthorized)
	s.do("GET", "/scim/v2/Users", tokB, "b.scim.test", nil).want(t, http.StatusUnauthorized)
	mustCLI(t, s.db, "", "tenant", "create", "b", "--host", "b.scim.test")
	tokB2 := strings.TrimSpace(mustCLI(t, s.db, "", "token", "create", "--tenant", "b"))
	if n := s.do("GET", "/scim/v2/Users?count=0", tokB2, "b.scim.test", nil).want(t, http.StatusOK).body["totalResults"]; n != 0.0 {
		t.Errorf("recreated tenant sees %v users, want 0", n)
	}
	if list := mustCLI(t, s.db, "", "token", "list", "--tenant", "a"); !regexpMatch(`\d{4}-\d\d-\d\dT[^\s]+Z\s+active`, list) {
		t.Errorf("token list does not show a last use:\n%s", list)
	}

	// Plain HTTP on the TLS port is refused.
	resp, err := http.Get("http://" + strings.TrimPrefix(s.url, "https://") + "/scim/v2/Users")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("plain HTTP on the TLS port: %d", resp.StatusCode)
		}
	}
	// TLS 1.1 is refused.
	old := &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS11}
	if c, err := tls.Dial("tcp", strings.TrimPrefix(s.url, "https://"), old); err == nil {
		c.Close()
		t.Error("TLS 1.1 handshake succeeded")
	}
}

func TestServeLimits(t *testing.T) {
	t.Run("RateLimit", func(t *testing.T) {
		c := startServer(t, func(c *Config) { c.Limits.TenantRate, c.Limits.TenantBurst = 0.05, 3 })
		for range 3 {
			c.do("GET", "/Users", nil).want(t, http.StatusOK)
		}
		r := c.do("GET", "/Users", nil)
		r.wantError(t, http.StatusTooManyRequests, "")
		if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 || n > 20 {
			t.Errorf("Retry-After %q, want an integer number of seconds", r.Header.Get("Retry-After"))
		}
	})
	t.Run("AuthFailures", func(t *testing.T) {
		c := startServer(t, func(c *Config) { c.Limits.AuthFailureLimit = 3 })
		good := c.token
		c.token = "wrong-token-value-0000000"
		for range 3 {
			c.do("GET", "/Users", nil).wantError(t, http.StatusUnauthorized, "")
		}
		c.token = good
		r := c.do("GET", "/Users", nil)
		r.wantError(t, http.StatusTooManyRequests, "")
		if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 50 || n > 60 {
			t.Errorf("Retry-After %q, want about 60", r.Header.Get("Retry-After"))
		}
	})
}

func TestServeTrustedProxy(t *testing.T) {
	fwd := []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "scim.example.com"}
	user := oktaUser("p@example.com", "P", "Q", "")
	t.Run("Trusted", func(t *testing.T) {
		c := startServer(t, func(c *Config) { c.TrustedProxies = []string{"127.0.0.1"} })
		r := c.do("POST", "/Users", user, fwd...).want(t, http.StatusCreated)
		if got, want := r.Header.Get("Location"), "https://scim.example.com/scim/v2/Users/"+str(r.Body, "id"); got != want {
			t.Errorf("Location %q, want %q", got, want)
		}
	})
	t.Run("Spoofed", func(t *testing.T) {
		c := startServer(t)
		r := c.do("POST", "/Users", user, fwd...).want(t, http.StatusCreated)
		if got := r.Header.Get("Location"); !strings.HasPrefix(got, c.base+"/Users/") {
			t.Errorf("Location %q believes headers of an untrusted peer (want prefix %s)", got, c.base)
		}
	})
	t.Run("Env", func(t *testing.T) {
		cfg := DefaultConfig()
		env := map[string]string{"SCIMD_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1", "SCIMD_TLS_CERT": "c.pem", "SCIMD_TLS_KEY": "k.pem",
			"SCIMD_TENANT_RATE": "40", "SCIMD_AUTH_FAILURE_BACKOFF": "30s"}
		if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
		if strings.Join(cfg.TrustedProxies, "|") != "10.0.0.0/8|192.0.2.1" || cfg.TLS.Cert != "c.pem" || cfg.TLS.Key != "k.pem" ||
			cfg.Limits.TenantRate != 40 || cfg.Limits.AuthFailureBackoff != 30*time.Second {
			t.Errorf("ApplyEnv: %+v", cfg)
		}
		cfg.TrustedProxies = []string{"not-a-cidr"}
		cfg.TLS.Key = ""
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "trustedProxies") || !strings.Contains(err.Error(), "tls") {
			t.Errorf("Validate = %v", err)
		}
	})
}

func regexpMatch(pattern, s string) bool {
	return regexp.MustCompile(pattern).MatchString(s)
}

// TestServeCredentialsPerTenant checks that serve wires Basic credentials
// and the OAuth endpoints per tenant: by host and by /t/{tenant} path, and
// never across tenants.
func TestServeCredentialsPerTenant(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	cert := newTestCert(t, "creds")
	cert.write(t, certFile, keyFile)
	roots := x509.NewCertPool()
	roots.AddCert(cert.x509)
	s := startTLSServer(t, certFile, keyFile, roots, nil)
	mustCLI(t, s.db, "", "tenant", "create", "a", "--host", "a.scim.test")
	mustCLI(t, s.db, "", "tenant", "create", "b", "--host", "b.scim.test")

	// Basic: the tenant comes from the host or path.
	pw := strings.TrimSpace(mustCLI(t, s.db, "", "basic", "create", "--tenant", "a", "--username", "okta"))
	basic := "Basic " + base64Encode("okta:"+pw)
	s.do("GET", "/scim/v2/Users", "", "a.scim.test", nil, "Authorization", basic).want(t, http.StatusOK)
	s.do("GET", "/t/a/scim/v2/Users", "", "", nil, "Authorization", basic).want(t, http.StatusOK)
	s.do("GET", "/scim/v2/Users", "", "b.scim.test", nil, "Authorization", basic).want(t, http.StatusUnauthorized)
	s.do("GET", "/t/b/scim/v2/Users", "", "", nil, "Authorization", basic).want(t, http.StatusUnauthorized)

	// OAuth client credentials (Entra): token at A's /t/a/oauth/token, SCIM
	// call with it at A; refused at B.
	out := mustCLI(t, s.db, "", "oauth", "client", "create", "--tenant", "a", "--name", "Entra", "--grant", "client_credentials")
	var clientID, secret string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "client_id: "); ok {
			clientID = v
		}
		if v, ok := strings.CutPrefix(line, "client_secret: "); ok {
			secret = v
		}
	}
	if clientID == "" || secret == "" {
		t.Fatalf("oauth client create printed:\n%s", out)
	}
	tokenAt := func(path, host string) (int, string) {
		t.Helper()
		form := "grant_type=client_credentials&client_id=" + clientID + "&client_secret=" + secret
		req, _ := http.NewRequest("POST", s.url+path, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if host != "" {
			req.Host = host
		}
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.AccessToken
	}
	for _, at := range []struct{ path, host string }{{"/t/a/oauth/token", ""}, {"/oauth/token", "a.scim.test"}} {
		status, tok := tokenAt(at.path, at.host)
		if status != http.StatusOK || tok == "" {
			t.Fatalf("token at %s (host %q): %d", at.path, at.host, status)
		}
		s.do("GET", "/t/a/scim/v2/Users", tok, "", nil).want(t, http.StatusOK)
		s.do("GET", "/scim/v2/Users", tok, "", nil).want(t, http.StatusOK) // the token's own tenant
		s.do("GET", "/t/b/scim/v2/Users", tok, "", nil).want(t, http.StatusUnauthorized)
		s.do("GET", "/scim/v2/Users", tok, "b.scim.test", nil).want(t, http.StatusUnauthorized)
	}
	// A's client is unknown at B's token endpoint.
	if status, _ := tokenAt("/t/b/oauth/token", ""); status == http.StatusOK {
		t.Error("A's OAuth client got a token at B's token endpoint")
	}
	if status, _ := tokenAt("/oauth/token", "b.scim.test"); status == http.StatusOK {
		t.Error("A's OAuth client got a token at B's host")
	}
	if logs := s.logs.String(); strings.Contains(logs, secret) || strings.Contains(logs, pw) {
		t.Errorf("a secret reached the log:\n%s", logs)
	}
}

func base64Encode(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
