package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/auth"
	"github.com/scimd/scimd/auth/oauth"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/internal/certreload"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/scimhttp"
)

// Server timeouts: well under Okta's 60-second client timeout, so a slow
// request fails visibly on our side rather than as a dropped socket.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 50 * time.Second
	idleTimeout       = 120 * time.Second
	drainTimeout      = 30 * time.Second
	maxHeaderBytes    = 64 << 10
	// authCacheTTL is how long a successful bearer token verification and
	// a tenant lookup are remembered: a token revoked or a tenant disabled,
	// deleted or re-hosted by another process (the CLI, another instance)
	// takes effect within it; in this process, at once (see
	// auth.ChangeCounter).
	authCacheTTL = 5 * time.Second
)

// hostListRaw is a repeatable flag whose values may also be
// comma-separated.
type hostListRaw []string

func (l *hostListRaw) String() string { return strings.Join(*l, ",") }

func (l *hostListRaw) Set(v string) error {
	*l = append(*l, splitList(v)...)
	return nil
}

// newHandler builds the HTTP handler: the SCIM API with tenant routing,
// limits and every credential type the database supports (bearer tokens
// always; Basic and OAuth 2.0 access tokens, and the OAuth endpoints
// beside the SCIM base path, when it keeps those credentials).
func newHandler(cfg Config, db database, reg *schema.Registry, logger *slog.Logger) (http.Handler, error) {
	hash := auth.HashPassword
	if cfg.Passwords == "discard" {
		hash = func(string) (string, error) { return "", nil }
	}
	// Tenant lookups (routing, the tenant check of every credential) and
	// bearer token verifications are cached for authCacheTTL.
	tenants := scimhttp.NewTenantCache(db, authCacheTTL)
	// The resolver is needed by the authenticators before the handler
	// exists; the handler builds an identical one.
	resolver, err := scimhttp.NewResolver(tenants, cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	tenantOf := func(r *http.Request) (string, error) { return resolver.TenantID(r, scimd.DefaultTenant) }
	bearer := &auth.Bearer{Tokens: db, Tenants: tenants, Logger: logger, CacheTTL: authCacheTTL}
	var authn scimhttp.Authenticator = bearer
	schemes := []scimhttp.AuthenticationScheme{scimhttp.SchemeBearer}
	creds, hasCreds := db.(scimd.CredentialStore)
	if hasCreds {
		schemes = append(schemes, scimhttp.SchemeBasic, scimhttp.SchemeOAuth2)
		authn = auth.Any(
			&oauth.Access{Store: creds, Tenants: tenants, Logger: logger},
			&auth.Basic{Store: creds, Tenants: tenants, ResolveTenant: tenantOf, Logger: logger},
			bearer,
		)
	}
	l := cfg.Limits
	h, err := scimhttp.New(scimhttp.Config{
		Store:          db,
		Registry:       reg,
		Auth:           authn,
		Tenants:        tenants,
		TrustedProxies: cfg.TrustedProxies,
		BasePath:       strings.TrimRight(cfg.BasePath, "/"),
		ExternalURL:    strings.TrimRight(cfg.ExternalURL, "/"),
		FilterLimits: filter.Limits{
			MaxLength: l.MaxFilterLength,
			MaxDepth:  l.MaxFilterDepth,
			MaxTerms:  l.MaxFilterTerms,
		},
		TenantRate:                l.TenantRate,
		TenantBurst:               l.TenantBurst,
		CredentialRate:            l.CredentialRate,
		CredentialBurst:           l.CredentialBurst,
		AuthFailureLimit:          l.AuthFailureLimit,
		AuthFailureWindow:         l.AuthFailureWindow,
		AuthFailureBackoff:        l.AuthFailureBackoff,
		MaxInFlight:               l.MaxInFlight,
		MaxBodyBytes:              l.MaxBodyBytes,
		DefaultPageSize:           l.DefaultPageSize,
		MaxPageSize:               l.MaxPageSize,
		MaxGroupMembersInResponse: l.MaxGroupMembersInResponse,
		MaxExactCount:             l.MaxExactCount,
		HashPassword:              hash,
		AuthenticationSchemes:     schemes,
		Logger:                    logger,
	})
	if err != nil {
		return nil, err
	}
	if !hasCreds {
		return h, nil
	}
	oa, err := oauth.New(oauth.Config{
		Store:         creds,
		Tenants:       db,
		ResolveTenant: tenantOf,
		Logger:        logger,
		SecureCookies: cfg.TLS.Cert != "" || strings.HasPrefix(cfg.ExternalURL, "https://"),
	})
	if err != nil {
		return nil, err
	}
	return &rootHandler{scim: h, oauth: h.Protect(oa)}, nil
}

// rootHandler sends the OAuth endpoints (/oauth/…, or /t/{tenant}/oauth/…)
// to the authorization server and everything else to the SCIM handler.
type rootHandler struct {
	scim  http.Handler
	oauth http.Handler
}

func (h *rootHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if _, rest, ok := scimhttp.SplitTenantPath(p); ok {
		p = rest
	}
	switch p {
	case oauth.AuthorizePath, oauth.TokenPath, oauth.RevokePath:
		h.oauth.ServeHTTP(w, r)
	default:
		h.scim.ServeHTTP(w, r)
	}
}

func runServe(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("scimd serve", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	load := commonFlags(fs, env)
	addr := fs.String("addr", "", "listen address (env SCIMD_ADDR; default 127.0.0.1:8080)")
	basePath := fs.String("base-path", "", "SCIM base path (env SCIMD_BASE_PATH; default /scim/v2)")
	externalURL := fs.String("external-url", "", "public URL of the server, used in meta.location (env SCIMD_EXTERNAL_URL)")
	tlsCert := fs.String("tls-cert", "", "PEM certificate chain file: serve HTTPS, reloading it when it changes (env SCIMD_TLS_CERT)")
	tlsKey := fs.String("tls-key", "", "PEM private key file for --tls-cert (env SCIMD_TLS_KEY)")
	var proxies hostListRaw
	fs.Var(&proxies, "trusted-proxy", "CIDR or address of a reverse proxy whose X-Forwarded-* headers are believed (repeatable; env SCIMD_TRUSTED_PROXIES, comma-separated)")
	noMigrate := fs.Bool("no-migrate", envBool(env.Getenv("SCIMD_NO_MIGRATE")),
		"do not apply database migrations on start; fail if the schema is behind (env SCIMD_NO_MIGRATE=1)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	if *basePath != "" {
		cfg.BasePath = *basePath
	}
	if *externalURL != "" {
		cfg.ExternalURL = *externalURL
	}
	if *tlsCert != "" {
		cfg.TLS.Cert = *tlsCert
	}
	if *tlsKey != "" {
		cfg.TLS.Key = *tlsKey
	}
	if len(proxies) > 0 {
		cfg.TrustedProxies = proxies
	}
	s := &Server{Config: cfg, Stdout: env.Stdout, Stderr: env.Stderr, BootstrapToken: env.Getenv("SCIMD_BOOTSTRAP_TOKEN"),
		NoMigrate: *noMigrate}
	if err := s.Open(ctx); err != nil {
		return err
	}
	if limit, set := setMemoryLimit(cfg, env.Getenv); set {
		s.Logger.Debug("soft memory limit set (GOMEMLIMIT overrides it)", "bytes", limit)
	}
	return s.Serve(ctx)
}

// Server is a running scimd: database, HTTP handler and listener.
type Server struct {
	Config         Config
	BootstrapToken string    // SCIMD_BOOTSTRAP_TOKEN
	Stdout         io.Writer // where the first-start token is printed
	Stderr         io.Writer // logs
	// NoMigrate skips applying migrations on start (--no-migrate); a
	// PostgreSQL database whose schema is behind is then an error.
	NoMigrate bool

	Logger *slog.Logger
	db     database
	ln     net.Listener
	http   *http.Server
	certs  *certreload.Reloader // nil: plain HTTP
	debug  *http.Server         // nil: no profiler listener
	dbgAt  net.Addr             // the profiler's address
	unlock func()               // releases lockServe's lock
}

// DebugAddr returns the profiler listener's address, or nil without one.
func (s *Server) DebugAddr() net.Addr { return s.dbgAt }

// Open validates the configuration, opens the database (applying
// migrations), creates the default tenant and its first token on first
// start, and starts listening. A SQLite file is locked first: a second
// server on the same file fails here (see lockServe).
func (s *Server) Open(ctx context.Context) error {
	cfg := s.Config
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	s.unlock = func() {}
	if !isPostgresURL(cfg.Database) && cfg.Database != ":memory:" {
		unlock, err := lockServe(cfg.Database)
		if err != nil {
			return err
		}
		s.unlock = unlock
	}
	if err := s.open(ctx); err != nil {
		s.unlock()
		return err
	}
	return nil
}

func (s *Server) open(ctx context.Context) error {
	cfg := s.Config
	logger, err := newLogger(s.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	s.Logger = logger
	reg, err := cfg.Registry()
	if err != nil {
		return err
	}
	db, err := s.openWaiting(ctx, cfg, reg)
	if err != nil {
		return err
	}
	s.db = db
	token, err := bootstrap(ctx, db, s.BootstrapToken)
	if err != nil {
		db.Close()
		return err
	}

	h, err := newHandler(cfg, db, reg, logger)
	if err != nil {
		db.Close()
		return err
	}
	if cfg.TLS.Cert != "" {
		s.certs, err = certreload.New(cfg.TLS.Cert, cfg.TLS.Key, logger)
		if err != nil {
			db.Close()
			return fmt.Errorf("tls: %w", err)
		}
	}
	if l := cfg.Limits; l.TenantRate > 0 && l.TenantRate < 25 {
		logger.Warn("limits.tenantRate is below the 25 requests per second Microsoft Entra ID may send", "tenantRate", l.TenantRate)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		db.Close()
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	s.ln = ln
	if cfg.DebugAddr != "" {
		if err := s.startDebug(cfg.DebugAddr); err != nil {
			ln.Close()
			db.Close()
			return err
		}
	}
	s.http = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if s.certs != nil {
		s.http.TLSConfig = s.certs.TLSConfig()
	}

	fmt.Fprintf(s.Stdout, "scimd %s: SCIM base URL %s\n", version, s.URL())
	if token != "" {
		fmt.Fprintf(s.Stdout, "Bearer token for tenant %q (shown once; store it now):\n%s\n", scimd.DefaultTenant, token)
	}
	logger.Info("listening", "addr", ln.Addr().String(), "base_url", s.URL(), "database", displayDatabase(cfg.Database))
	return nil
}

// URL returns the SCIM base URL the server answers on.
func (s *Server) URL() string {
	if s.Config.ExternalURL != "" {
		return strings.TrimRight(s.Config.ExternalURL, "/") + strings.TrimRight(s.Config.BasePath, "/")
	}
	scheme := "http://"
	if s.certs != nil {
		scheme = "https://"
	}
	return scheme + s.ln.Addr().String() + strings.TrimRight(s.Config.BasePath, "/")
}

// Addr returns the listener's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until ctx is cancelled (SIGINT/SIGTERM), then stops
// accepting connections, lets in-flight requests finish for up to
// drainTimeout, closes the database and returns nil.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() {
		if s.certs != nil {
			errc <- s.http.ServeTLS(s.ln, "", "")
			return
		}
		errc <- s.http.Serve(s.ln)
	}()
	select {
	case err := <-errc:
		s.db.Close()
		s.unlock()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.Logger.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	err := s.http.Shutdown(sctx)
	if s.debug != nil {
		s.debug.Close()
	}
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	s.unlock()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	s.Logger.Info("stopped")
	return nil
}

// bootstrap creates the default tenant if there are no tenants yet, and
// returns a token to print: a new one on first start, none otherwise. A
// bootstrap value (SCIMD_BOOTSTRAP_TOKEN) is made a valid token of the
// default tenant, whether or not this is the first start, and never printed.
func bootstrap(ctx context.Context, db database, value string) (string, error) {
	now := time.Now().UTC()
	tenants, err := db.Tenants(ctx)
	if err != nil {
		return "", fmt.Errorf("list tenants: %w", err)
	}
	first := len(tenants) == 0
	if first {
		t := &scimd.Tenant{ID: scimd.DefaultTenant, Name: scimd.DefaultTenant, Created: now}
		err := db.CreateTenant(ctx, t)
		if scimd.StatusOf(err) == http.StatusConflict {
			// Another instance on the same database started first.
			first = false
		} else if err != nil {
			return "", fmt.Errorf("create default tenant: %w", err)
		}
	}
	if value != "" {
		rec, err := auth.TokenFromValue(scimd.DefaultTenant, "bootstrap", value, now)
		if err != nil {
			return "", fmt.Errorf("SCIMD_BOOTSTRAP_TOKEN: %w", err)
		}
		if _, err := db.Token(ctx, rec.ID); err == nil {
			return "", nil // already there
		} else if scimd.StatusOf(err) != http.StatusNotFound {
			return "", fmt.Errorf("look up bootstrap token: %w", err)
		}
		// A Conflict means another instance stored it meanwhile.
		if err := db.CreateToken(ctx, rec); err != nil && scimd.StatusOf(err) != http.StatusConflict {
			return "", fmt.Errorf("store bootstrap token: %w", err)
		}
		return "", nil
	}
	if !first {
		return "", nil
	}
	tok, rec := auth.NewToken(scimd.DefaultTenant, "initial", time.Time{}, now)
	if err := db.CreateToken(ctx, rec); err != nil {
		return "", fmt.Errorf("store initial token: %w", err)
	}
	return tok, nil
}

// envBool reports whether an environment value means true ("1", "true").
func envBool(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q: want debug, info, warn or error", s)
	}
	return l, nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	l, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// startDebug serves Go's profiler (net/http/pprof) on addr, a loopback
// address checked by Config.Validate.
func (s *Server) startDebug(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("debug listener on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s.debug = &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout}
	s.dbgAt = ln.Addr()
	go s.debug.Serve(ln)
	s.Logger.Info("profiler listening", "addr", ln.Addr().String())
	return nil
}
