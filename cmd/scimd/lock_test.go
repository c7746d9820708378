//go:build unix

package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/postgres"
	"github.com/scimd/scimd/sqlite"
)

// The stores' memory budgets: defaults, 0 for off from the environment, a
// non-integer and a negative budget refused.
func TestCacheBytesConfig(t *testing.T) {
	for _, c := range []struct {
		yaml, env string
		def       int64
		field     func(*Config) *int64
	}{
		{"sqliteCacheBytes", "SCIMD_SQLITE_CACHE_BYTES", sqlite.DefaultCacheBytes, func(c *Config) *int64 { return &c.SQLiteCacheBytes }},
		{"postgresHintBytes", "SCIMD_POSTGRES_HINT_BYTES", postgres.DefaultHintBytes, func(c *Config) *int64 { return &c.PostgresHintBytes }},
	} {
		cfg := DefaultConfig()
		if got := *c.field(&cfg); got != c.def {
			t.Errorf("default %s = %d, want %d", c.yaml, got, c.def)
		}
		env := map[string]string{c.env: "0"}
		if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
		if got := *c.field(&cfg); got != 0 {
			t.Errorf("%s=0 gave %d", c.env, got)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s 0 (off) rejected: %v", c.yaml, err)
		}
		env[c.env] = "lots"
		if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), c.env) {
			t.Errorf("%s a non-integer: %v", c.env, err)
		}
		*c.field(&cfg) = -1
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.yaml) {
			t.Errorf("%s a negative budget: %v", c.yaml, err)
		}
	}
}

// The duration settings: their defaults, a duration and 0 from the
// environment, a non-duration and a negative value refused.
func TestDurationSettings(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		def, some time.Duration
		field     func(*Config) *time.Duration
	}{
		{"postgresAnalyzeInterval", "SCIMD_POSTGRES_ANALYZE_INTERVAL", postgres.DefaultAnalyzeInterval, 10 * time.Second,
			func(c *Config) *time.Duration { return &c.PostgresAnalyzeInterval }},
		{"databaseWait", "SCIMD_DATABASE_WAIT", time.Minute, 5 * time.Minute,
			func(c *Config) *time.Duration { return &c.DatabaseWait }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if got := *tc.field(&cfg); got != tc.def {
				t.Errorf("default %s = %s, want %s", tc.name, got, tc.def)
			}
			for env, want := range map[string]time.Duration{tc.some.String(): tc.some, "0": 0} {
				if err := cfg.ApplyEnv(func(k string) string { return map[string]string{tc.env: env}[k] }); err != nil {
					t.Fatal(err)
				}
				if got := *tc.field(&cfg); got != want {
					t.Errorf("%s=%s gave %s", tc.env, env, got)
				}
				if err := cfg.Validate(); err != nil {
					t.Errorf("%s %s rejected: %v", tc.name, want, err)
				}
			}
			if err := cfg.ApplyEnv(func(k string) string { return map[string]string{tc.env: "often"}[k] }); err == nil || !strings.Contains(err.Error(), tc.env) {
				t.Errorf("a non-duration: %v", err)
			}
			cfg = DefaultConfig()
			*tc.field(&cfg) = -time.Second
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.name) {
				t.Errorf("a negative %s: %v", tc.name, err)
			}
		})
	}
}

// TestServeLocksSQLite: a second server on the same SQLite file fails at
// once with an error that says why; once the first stops, the file is
// free again. (Release on kill -9 is the kernel's: crash_test restarts a
// killed server on its file.)
func TestServeLocksSQLite(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.Database = filepath.Join(t.TempDir(), "scimd.db")
	cfg.LogLevel = "warn"
	newServer := func() *Server {
		return &Server{Config: cfg, BootstrapToken: testToken, Stdout: io.Discard, Stderr: io.Discard}
	}
	ctx, cancel := context.WithCancel(context.Background())
	first := newServer()
	if err := first.Open(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- first.Serve(ctx) }()

	err := newServer().Open(context.Background())
	if err == nil || !strings.Contains(err.Error(), "in use by another") {
		t.Fatalf("second server on the same file: %v", err)
	}
	// The default tenant's id would be reused after a delete: the CLI
	// refuses while a server runs.
	_, errs, err := tenantCLI(t, cfg.Database, "", "tenant", "delete", scimd.DefaultTenant, "--yes")
	if err == nil || !strings.Contains(err.Error(), "stop") {
		t.Fatalf("tenant delete default while serving: %v\n%s", err, errs)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	second := newServer()
	if err := second.Open(context.Background()); err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	go func() { done <- second.Serve(sctx) }()
	scancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mustCLI(t, cfg.Database, "", "tenant", "delete", scimd.DefaultTenant, "--yes")
}
