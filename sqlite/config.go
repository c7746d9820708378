package sqlite

import (
	"log/slog"
	"sync"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// stmtJournalSpill is the size up to which SQLite keeps the journal of a
// savepoint in memory (SQLITE_CONFIG_STMTJRNL_SPILL; SQLite's default is
// 64 KiB). Group commit runs every write but the first of a transaction
// inside a savepoint, and SQLite copies each page the write changes to
// that journal. A create changes about fifteen pages (the row, six
// indexes, the e-mail value index, the counters), so at 64 KiB its journal
// often spilled to a temporary file: a file created, written and deleted
// per transaction, 5–10 % of a create's CPU. Up to 120 KiB (30 pages) a
// write's journal stays in memory; a larger write (removing a million
// members) still spills, so memory stays bounded.
//
// The threshold is also the size of the journal's memory chunks, which a
// spill writes to the file one per write call, and SQLite's unix VFS
// writes at most 128 KiB - 1 per call (seekAndWriteFd masks the length
// with 0x1ffff): with a larger threshold a spilling write wrote nothing
// and failed with SQLITE_FULL (TestLargeWriteInSavepoint).
const stmtJournalSpill = 120 << 10

var configureOnce sync.Once

// configure sets SQLite's process-wide options, once, before the first
// connection: sqlite3_config works only before SQLite initialises. If
// another user of the driver in this process opened a connection first,
// SQLite keeps its defaults, which costs only speed.
func configure() {
	configureOnce.Do(func() {
		tls := libc.NewTLS()
		defer tls.Close()
		va := libc.Xmalloc(tls, 8)
		if va == 0 {
			return
		}
		defer libc.Xfree(tls, va)
		rc := sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_STMTJRNL_SPILL, libc.VaList(va, int32(stmtJournalSpill)))
		if rc != sqlite3.SQLITE_OK {
			slog.Debug("sqlite: statement journal spill threshold left at its default", "rc", rc)
		}
	})
}
