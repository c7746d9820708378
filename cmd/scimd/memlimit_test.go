package main

import (
	"runtime/debug"
	"testing"

	"github.com/scimd/scimd/auth"
)

func TestDefaultMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	sqlite := DefaultConfig()
	pg := DefaultConfig()
	pg.Database = "postgres://scimd@db.example.com/scimd"
	pg.PostgresHintBytes = 64 * mib
	for _, c := range []struct {
		name  string
		cfg   Config
		slots int
		want  int64
	}{
		{"SQLite, default cache, one core", sqlite, 1, 64*mib + 20*mib + 19*mib},
		{"SQLite, default cache, four cores", sqlite, 4, 64*mib + 20*mib + 4*19*mib},
		{"PostgreSQL, 64 MiB of hints", pg, 2, 64*mib + 80*mib + 2*19*mib},
	} {
		if got := defaultMemoryLimit(c.cfg, c.slots); got != c.want {
			t.Errorf("%s: %d MiB, want %d MiB", c.name, got/mib, c.want/mib)
		}
	}
	if auth.HashMemory != 19*mib {
		t.Errorf("auth.HashMemory = %d, want 19 MiB", auth.HashMemory)
	}
}

// serve sets the limit unless GOMEMLIMIT is set, which the runtime
// applies itself.
func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	cfg := DefaultConfig()
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	limit, set := setMemoryLimit(cfg, getenv)
	if !set || limit != defaultMemoryLimit(cfg, auth.HashSlots()) || debug.SetMemoryLimit(-1) != limit {
		t.Errorf("without GOMEMLIMIT: limit %d, set %v; runtime %d", limit, set, debug.SetMemoryLimit(-1))
	}
	debug.SetMemoryLimit(before)
	env["GOMEMLIMIT"] = "1GiB"
	if limit, set := setMemoryLimit(cfg, getenv); set || limit != before {
		t.Errorf("with GOMEMLIMIT: limit %d, set %v; want the runtime's %d, untouched", limit, set, before)
	}
}
