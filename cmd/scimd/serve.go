package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/auth"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/scimhttp"
	"github.com/scimd/scimd/sqlite"
)

// Server timeouts: well under Okta's 60-second client timeout, so a slow
// request fails visibly on our side rather than as a dropped socket.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 50 * time.Second
	idleTimeout       = 120 * time.Second
	drainTimeout      = 30 * time.Second
)

func runServe(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("scimd serve", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	load := commonFlags(fs, env)
	addr := fs.String("addr", "", "listen address (env SCIMD_ADDR; default 127.0.0.1:8080)")
	basePath := fs.String("base-path", "", "SCIM base path (env SCIMD_BASE_PATH; default /scim/v2)")
	externalURL := fs.String("external-url", "", "public URL of the server, used in meta.location (env SCIMD_EXTERNAL_URL)")
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
	s := &Server{Config: cfg, Stdout: env.Stdout, Stderr: env.Stderr, BootstrapToken: env.Getenv("SCIMD_BOOTSTRAP_TOKEN")}
	if err := s.Open(ctx); err != nil {
		return err
	}
	return s.Serve(ctx)
}

// Server is a running scimd: database, HTTP handler and listener.
type Server struct {
	Config         Config
	BootstrapToken string    // SCIMD_BOOTSTRAP_TOKEN
	Stdout         io.Writer // where the first-start token is printed
	Stderr         io.Writer // logs

	Logger *slog.Logger
	db     *sqlite.DB
	ln     net.Listener
	http   *http.Server
}

// Open validates the configuration, opens the database (applying
// migrations), creates the default tenant and its first token on first
// start, and starts listening.
func (s *Server) Open(ctx context.Context) error {
	cfg := s.Config
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	logger, err := newLogger(s.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	s.Logger = logger
	if strings.HasPrefix(cfg.Database, "postgres://") || strings.HasPrefix(cfg.Database, "postgresql://") {
		return errors.New("database: PostgreSQL is not supported by this build yet; use a SQLite file path")
	}
	reg, err := cfg.Registry()
	if err != nil {
		return err
	}
	db, err := sqlite.Open(ctx, cfg.Database, reg)
	if err != nil {
		return fmt.Errorf("open database %s: %w", cfg.Database, err)
	}
	s.db = db
	token, err := bootstrap(ctx, db, s.BootstrapToken)
	if err != nil {
		db.Close()
		return err
	}

	hash := auth.HashPassword
	if cfg.Passwords == "discard" {
		hash = func(string) (string, error) { return "", nil }
	}
	h, err := scimhttp.New(scimhttp.Config{
		Store:       db,
		Registry:    reg,
		Auth:        &auth.Bearer{Tokens: db, Tenants: db, Logger: logger},
		BasePath:    strings.TrimRight(cfg.BasePath, "/"),
		ExternalURL: strings.TrimRight(cfg.ExternalURL, "/"),
		FilterLimits: filter.Limits{
			MaxLength: cfg.Limits.MaxFilterLength,
			MaxDepth:  cfg.Limits.MaxFilterDepth,
			MaxTerms:  cfg.Limits.MaxFilterTerms,
		},
		MaxBodyBytes:              cfg.Limits.MaxBodyBytes,
		DefaultPageSize:           cfg.Limits.DefaultPageSize,
		MaxPageSize:               cfg.Limits.MaxPageSize,
		MaxGroupMembersInResponse: cfg.Limits.MaxGroupMembersInResponse,
		HashPassword:              hash,
		Logger:                    logger,
	})
	if err != nil {
		db.Close()
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		db.Close()
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	s.ln = ln
	s.http = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	fmt.Fprintf(s.Stdout, "scimd %s: SCIM base URL %s\n", version, s.URL())
	if token != "" {
		fmt.Fprintf(s.Stdout, "Bearer token for tenant %q (shown once; store it now):\n%s\n", scimd.DefaultTenant, token)
	}
	logger.Info("listening", "addr", ln.Addr().String(), "base_url", s.URL(), "database", cfg.Database)
	return nil
}

// URL returns the SCIM base URL the server answers on.
func (s *Server) URL() string {
	if s.Config.ExternalURL != "" {
		return strings.TrimRight(s.Config.ExternalURL, "/") + strings.TrimRight(s.Config.BasePath, "/")
	}
	return "http://" + s.ln.Addr().String() + strings.TrimRight(s.Config.BasePath, "/")
}

// Addr returns the listener's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until ctx is cancelled (SIGINT/SIGTERM), then stops
// accepting connections, lets in-flight requests finish for up to
// drainTimeout, closes the database and returns nil.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	select {
	case err := <-errc:
		s.db.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.Logger.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	err := s.http.Shutdown(sctx)
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
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
func bootstrap(ctx context.Context, db *sqlite.DB, value string) (string, error) {
	now := time.Now().UTC()
	tenants, err := db.Tenants(ctx)
	if err != nil {
		return "", fmt.Errorf("list tenants: %w", err)
	}
	first := len(tenants) == 0
	if first {
		t := &scimd.Tenant{ID: scimd.DefaultTenant, Name: scimd.DefaultTenant, Created: now}
		if err := db.CreateTenant(ctx, t); err != nil {
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
		if err := db.CreateToken(ctx, rec); err != nil {
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
