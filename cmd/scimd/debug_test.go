package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func TestDebugAddrMustBeLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:6060": true, "[::1]:6060": true, "localhost:0": true,
		"0.0.0.0:6060": false, ":6060": false, "10.0.0.1:6060": false, "127.0.0.1": false,
	} {
		cfg := DefaultConfig()
		cfg.DebugAddr = addr
		err := cfg.Validate()
		if ok != (err == nil) {
			t.Errorf("debugAddr %q: Validate = %v", addr, err)
		}
		if err != nil && !strings.Contains(err.Error(), "debugAddr") {
			t.Errorf("debugAddr %q: error does not name the setting: %v", addr, err)
		}
	}
}

func TestDebugListenerServesProfiler(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DebugAddr = "127.0.0.1:0"
	cfg.Database = filepath.Join(t.TempDir(), "scimd.db")
	cfg.LogLevel = "warn"
	s := &Server{Config: cfg, BootstrapToken: testToken, Stdout: io.Discard, Stderr: io.Discard}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Open(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	resp, err := http.Get("http://" + s.DebugAddr().String() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Errorf("GET /debug/pprof/: %d %.200s", resp.StatusCode, body)
	}
	// The SCIM listener does not serve the profiler.
	resp, err = http.Get("http://" + s.Addr().String() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("SCIM listener serves /debug/pprof/")
	}
}
