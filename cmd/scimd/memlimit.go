package main

import (
	"runtime/debug"

	"github.com/scimd/scimd/auth"
)

// A soft memory limit for serve. Go's collector lets the heap grow to
// twice what is live before it collects, and what is live at times
// includes an argon2id hash's 19 MiB: with the store's cache (SQLite) or
// update hints (PostgreSQL) full, garbage from hashing passwords took the
// peak RSS of a 100,000-user PostgreSQL tenant to 150 MB (82 MB with no
// hints; docs/benchmarks.md, "Session 8"). A limit makes the collector run
// earlier only when the heap nears it, so it costs nothing below it.
//
// The limit leaves room for what is live at most: the runtime and the
// server's own data (memoryBase), the store's budget with its
// bookkeeping, and one hash per slot in flight. A limit below what is
// live would make the collector run all the time, so the limit grows
// with the budget configured.

// memoryBase is the part of the limit for everything but the store's
// budget and the hashes in flight.
const memoryBase = 64 << 20

// defaultMemoryLimit returns the soft memory limit serve sets for cfg
// when GOMEMLIMIT is not set.
func defaultMemoryLimit(cfg Config, hashSlots int) int64 {
	budget := cfg.SQLiteCacheBytes
	if isPostgresURL(cfg.Database) {
		budget = cfg.PostgresHintBytes
	}
	return memoryBase + budget/4*5 + int64(hashSlots)*auth.HashMemory
}

// setMemoryLimit sets the runtime's soft memory limit to
// defaultMemoryLimit(cfg), unless the GOMEMLIMIT variable (the operator's
// choice, applied by the runtime itself) is set. It returns the limit in
// force and whether it set it.
func setMemoryLimit(cfg Config, getenv func(string) string) (int64, bool) {
	if getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1), false
	}
	limit := defaultMemoryLimit(cfg, auth.HashSlots())
	if limit <= 0 { // a budget so large that the sum overflowed
		return debug.SetMemoryLimit(-1), false
	}
	debug.SetMemoryLimit(limit)
	return limit, true
}
