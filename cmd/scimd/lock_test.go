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

// postgresAnalyzeInterval: default, a duration and 0 (off) from the
// environment, a non-duration and a negative interval refused.
func TestAnalyzeIntervalConfig(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.PostgresAnalyzeInterval != postgres.DefaultAnalyzeInterval {
		t.Errorf("default postgresAnalyzeInterval = %s", cfg.PostgresAnalyzeInterval)
	}
	for env, want := range map[string]time.Duration{"10s": 10 * time.Second, "0": 0} {
		if err := cfg.ApplyEnv(func(k string) string { return map[string]string{"SCIMD_POSTGRES_ANALYZE_INTERVAL": env}[k] }); err != nil {
			t.Fatal(err)
		}
		if cfg.PostgresAnalyzeInterval != want {
			t.Errorf("SCIMD_POSTGRES_ANALYZE_INTERVAL=%s gave %s", env, cfg.PostgresAnalyzeInterval)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("postgresAnalyzeInterval %s rejected: %v", want, err)
		}
	}
	if err := cfg.ApplyEnv(func(k string) string { return map[string]string{"SCIMD_POSTGRES_ANALYZE_INTERVAL": "often"}[k] }); err == nil || !strings.Contains(err.Error(), "SCIMD_POSTGRES_ANALYZE_INTERVAL") {
		t.Errorf("a non-duration: %v", err)
	}
	cfg = DefaultConfig()
	cfg.PostgresAnalyzeInterval = -time.Second
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "postgresAnalyzeInterval") {
		t.Errorf("a negative interval: %v", err)
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

// databaseWait: default one minute, a duration and 0 from the
// environment, a negative wait refused.
func TestDatabaseWaitConfig(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.DatabaseWait != time.Minute {
		t.Errorf("default databaseWait = %s", cfg.DatabaseWait)
	}
	for env, want := range map[string]time.Duration{"5m": 5 * time.Minute, "0": 0} {
		if err := cfg.ApplyEnv(func(k string) string { return map[string]string{"SCIMD_DATABASE_WAIT": env}[k] }); err != nil {
			t.Fatal(err)
		}
		if cfg.DatabaseWait != want {
			t.Errorf("SCIMD_DATABASE_WAIT=%s gave %s", env, cfg.DatabaseWait)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("databaseWait %s rejected: %v", want, err)
		}
	}
	cfg.DatabaseWait = -time.Second
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "databaseWait") {
		t.Errorf("a negative wait: %v", err)
	}
}
