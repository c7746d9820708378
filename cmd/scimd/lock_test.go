//go:build unix

package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/sqlite"
)

func TestSQLiteCacheBytesConfig(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.SQLiteCacheBytes != sqlite.DefaultCacheBytes {
		t.Errorf("default sqliteCacheBytes = %d", cfg.SQLiteCacheBytes)
	}
	env := map[string]string{"SCIMD_SQLITE_CACHE_BYTES": "0"}
	if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if cfg.SQLiteCacheBytes != 0 {
		t.Errorf("SCIMD_SQLITE_CACHE_BYTES=0 gave %d", cfg.SQLiteCacheBytes)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("0 (off) rejected: %v", err)
	}
	env["SCIMD_SQLITE_CACHE_BYTES"] = "lots"
	if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "SCIMD_SQLITE_CACHE_BYTES") {
		t.Errorf("a non-integer: %v", err)
	}
	cfg.SQLiteCacheBytes = -1
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "sqliteCacheBytes") {
		t.Errorf("a negative budget: %v", err)
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
