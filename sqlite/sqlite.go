// Package sqlite implements scimd.Store, scimd.TenantStore and
// scimd.TokenStore on an embedded SQLite database (modernc.org/sqlite, no
// cgo).
//
// A file database runs in WAL mode with synchronous=NORMAL, foreign keys on
// and a busy timeout. Writes go through one writer connection in BEGIN
// IMMEDIATE transactions; reads use a pool of reader connections, which WAL
// lets run beside the writer. ":memory:" opens a private in-memory database
// on a single connection shared by reads and writes.
//
// Migrations are embedded (migrations/NNNN_name.sql), applied on Open, each
// in its own transaction, and recorded in schema_migrations.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqlite3 "modernc.org/sqlite"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/internal/sqlbuild"
	"github.com/scimd/scimd/schema"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// foldFunc is the SQL function folding case as sqlbuild.Fold does
// (SQLite's lower() folds ASCII only).
const foldFunc = "scimd_fold"

func init() {
	sqlite3.MustRegisterDeterministicScalarFunction(foldFunc, 1,
		func(_ *sqlite3.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return sqlbuild.Fold(v), nil
			case []byte:
				return sqlbuild.Fold(string(v)), nil
			default:
				return v, nil
			}
		})
}

// dialect is the SQL dialect the store compiles filters for.
var dialect = sqlbuild.SQLite{FoldFunc: foldFunc, Trigram: true, ModifiedLog: true}

// Interface checks.
var (
	_ scimd.Store       = (*DB)(nil)
	_ scimd.TenantStore = (*DB)(nil)
	_ scimd.TokenStore  = (*DB)(nil)
)

// DB is a scimd store on one SQLite database.
type DB struct {
	// Now returns the current time; it is read once per transaction.
	Now func() time.Time

	path    string
	reg     *schema.Registry
	writer  *sql.DB // one connection, BEGIN IMMEDIATE
	reader  *sql.DB // pool; the writer itself for ":memory:"
	readers int
	sync    string
	busy    time.Duration

	lists listCache // paging positions and counts; see list.go

	cacheBytes int64     // WithCacheBytes
	cache      *rowCache // nil when disabled; see cache.go

	wstmts, rstmts *stmtCache // prepared statements of writer and readers; see stmt.go

	// The writer loop (commit.go): beginWrite queues on wq.
	wq      chan *writeOp
	wdone   chan struct{} // closed when the loop has exited
	wmu     sync.RWMutex  // guards wclosed against sends on a closed wq
	wclosed bool
	wstats  struct{ batches, ops atomic.Int64 } // committed batches and the operations they kept

	trgm trigramIndexer // keeps the trigram tables up to date; see trigram.go

	pruner modifiedPruner // prunes the resource_modified log; see modified.go

	stats statsKeeper // keeps planner statistics from going stale; see analyze.go

	ckpt    *checkpointer // nil for ":memory:"; see checkpoint.go
	ckptOps atomic.Int64  // writes committed since the last checkpoint
}

// Option configures Open.
type Option func(*DB)

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(db *DB) { db.Now = now } }

// WithReaders sets the size of the reader pool (default max(4, GOMAXPROCS)).
func WithReaders(n int) Option {
	return func(db *DB) {
		if n > 0 {
			db.readers = n
		}
	}
}

// WithSynchronous sets PRAGMA synchronous: "NORMAL" (default; a commit
// survives a process crash but the last commits may be lost on power loss)
// or "FULL" (a commit survives power loss, at the price of an fsync per
// commit).
func WithSynchronous(mode string) Option { return func(db *DB) { db.sync = strings.ToUpper(mode) } }

// WithBusyTimeout sets how long a connection waits for a lock held by
// another process (default 5s).
func WithBusyTimeout(d time.Duration) Option { return func(db *DB) { db.busy = d } }

// Open opens (creating if needed) the database at path, or a private
// in-memory database for ":memory:", and applies pending migrations. reg
// gives the resource types served.
func Open(ctx context.Context, path string, reg *schema.Registry, opts ...Option) (*DB, error) {
	if reg == nil {
		return nil, errors.New("sqlite: open: nil schema registry")
	}
	db := &DB{Now: time.Now, path: path, reg: reg, readers: max(4, runtime.GOMAXPROCS(0)), sync: "NORMAL", busy: 5 * time.Second,
		cacheBytes: DefaultCacheBytes}
	for _, o := range opts {
		o(db)
	}
	db.cache = newRowCache(db.cacheBytes)
	switch db.sync {
	case "NORMAL", "FULL", "EXTRA", "OFF":
	default:
		return nil, fmt.Errorf("sqlite: open: unknown synchronous mode %q", db.sync)
	}
	if err := db.open(); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	db.startTrigramIndexer()
	db.startModifiedPruner()
	db.startStatsKeeper()
	return db, nil
}

func (db *DB) dsn(txlock string, extra ...string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", db.busy.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "case_sensitive_like(1)")
	q.Add("_txlock", txlock)
	name := "file::memory:"
	if db.path != ":memory:" {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+db.sync+")")
		name = "file:" + (&url.URL{Path: db.path}).EscapedPath()
	}
	for _, p := range extra {
		q.Add("_pragma", p)
	}
	return name + "?" + q.Encode()
}

func (db *DB) open() error {
	if db.path == "" {
		return errors.New("sqlite: open: empty path")
	}
	configure()
	// The writer's own automatic checkpoint is a backstop: see
	// checkpoint.go.
	w, err := sql.Open("sqlite", db.dsn("immediate", fmt.Sprintf("wal_autocheckpoint(%d)", ckptBackstopPages)))
	if err != nil {
		return fmt.Errorf("sqlite: open writer: %w", err)
	}
	db.writer = w
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if db.path == ":memory:" {
		// Every connection to ":memory:" is a database of its own: use
		// the single writer connection for reads too.
		db.reader = w
	} else {
		// Make sure the file exists and is in WAL mode before readers
		// (query_only) connect.
		if err := w.Ping(); err != nil {
			return fmt.Errorf("sqlite: open %s: %w", db.path, err)
		}
		r, err := sql.Open("sqlite", db.dsn("deferred", "query_only(1)"))
		if err != nil {
			return fmt.Errorf("sqlite: open readers: %w", err)
		}
		r.SetMaxOpenConns(db.readers)
		r.SetMaxIdleConns(db.readers)
		r.SetConnMaxLifetime(0)
		r.SetConnMaxIdleTime(0)
		db.reader = r
	}
	db.wstmts = newStmtCache(db.writer)
	db.rstmts = db.wstmts
	if db.reader != db.writer {
		db.rstmts = newStmtCache(db.reader)
	}
	if err := w.Ping(); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", db.path, err)
	}
	if db.path != ":memory:" {
		if err := db.startCheckpointer(); err != nil {
			return err
		}
	}
	db.startWriter()
	return nil
}

// Close closes the database, after the writes already queued.
func (db *DB) Close() error {
	db.stopTrigramIndexer()
	db.stopModifiedPruner()
	db.stopStatsKeeper()
	db.stopWriter()
	var errs []error
	errs = append(errs, db.stopCheckpointer())
	for _, c := range []*stmtCache{db.rstmts, db.wstmts} {
		if c != nil {
			c.close()
		}
	}
	if db.reader != nil && db.reader != db.writer {
		errs = append(errs, db.reader.Close())
	}
	if db.writer != nil {
		// Let SQLite fold the WAL back and update planner statistics,
		// reading at most analyzeLimit rows per index (analyze.go): a
		// full ANALYZE of a large database would hold up the shutdown.
		if db.path != ":memory:" {
			_, _ = db.writer.Exec("PRAGMA analysis_limit = " + strconv.Itoa(analyzeLimit))
			_, _ = db.writer.Exec("PRAGMA optimize")
		}
		errs = append(errs, db.writer.Close())
	}
	for _, c := range []*stmtCache{db.rstmts, db.wstmts} {
		if c != nil {
			c.wait()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// migrate applies the embedded migrations not yet recorded.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.writer.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("sqlite: list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrateFile(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) migrateFile(ctx context.Context, name string) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	base := strings.TrimPrefix(name, "migrations/")
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, base).Scan(&n); err != nil {
		return fmt.Errorf("sqlite: migration %s: %w", base, err)
	}
	if n > 0 {
		return nil
	}
	text, err := fs.ReadFile(migrationFS, name)
	if err != nil {
		return fmt.Errorf("sqlite: migration %s: %w", base, err)
	}
	if _, err := tx.Tx.ExecContext(tx.stmtContext(ctx), string(text)); err != nil { // a script: not cached
		return fmt.Errorf("sqlite: migration %s: %w", base, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied) VALUES (?, ?)`,
		base, sqlbuild.FormatTime(tx.now)); err != nil {
		return fmt.Errorf("sqlite: record migration %s: %w", base, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migration %s: commit: %w", base, err)
	}
	return nil
}

// Migrations returns the names of the applied migrations, in order.
func (db *DB) Migrations(ctx context.Context) ([]string, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list migrations: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlite: list migrations: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list migrations: %w", err)
	}
	return names, nil
}

// Tx is a transaction with the time it started: every timestamp written in
// it is now. A write Tx is one operation of a group commit (commit.go): a
// savepoint in the writer loop's transaction, which Tx.Tx is.
type Tx struct {
	*sql.Tx
	db    *DB
	cache *stmtCache // the pool's prepared statements
	now   time.Time
	hooks []func() // run after a successful Commit; see afterCommit

	op    *writeOp // nil for a read transaction
	ended bool     // Commit or Rollback was called (write only)
}

// afterCommit registers f to run once the transaction has committed (never
// if it rolls back). Hooks run in registration order, after the commit is
// durable to the chosen synchronous level.
func (tx *Tx) afterCommit(f func()) { tx.hooks = append(tx.hooks, f) }

// Commit commits the transaction, then runs its afterCommit hooks. For a
// write it returns once the group commit holding it has committed (nil) or
// the operation has been rolled back (an error).
func (tx *Tx) Commit() error {
	if tx.op == nil {
		if err := tx.Tx.Commit(); err != nil {
			return err
		}
		r := tx.runHooks()
		if r.panic != nil {
			panic(r.panic)
		}
		return nil
	}
	if tx.ended {
		return sql.ErrTxDone
	}
	tx.ended = true
	tx.op.end <- true
	r := <-tx.op.reply
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// Rollback abandons the transaction; for a write, its operation is rolled
// back to its savepoint and the others of its group commit go on.
func (tx *Tx) Rollback() error {
	if tx.op == nil {
		return tx.Tx.Rollback()
	}
	if tx.ended {
		return sql.ErrTxDone
	}
	tx.ended = true
	tx.op.end <- false
	return nil
}

// stmtContext is the context the statements of tx run under: for a write,
// ctx without its cancellation (see commit.go).
func (tx *Tx) stmtContext(ctx context.Context) context.Context {
	if tx.op != nil {
		return tx.op.run
	}
	return ctx
}

// beginRead starts a read transaction on a reader: one consistent snapshot.
func (db *DB) beginRead(ctx context.Context) (*Tx, error) {
	tx, err := db.reader.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin read: %w", err)
	}
	return &Tx{Tx: tx, db: db, cache: db.rstmts, now: db.Now().UTC()}, nil
}

// SQLite extended result codes the store translates.
const (
	codeConstraintUnique     = 2067 // SQLITE_CONSTRAINT_UNIQUE
	codeConstraintPrimaryKey = 1555 // SQLITE_CONSTRAINT_PRIMARYKEY
	codeBusy                 = 5    // SQLITE_BUSY (primary code)
	codeLocked               = 6    // SQLITE_LOCKED (primary code)
	codeFull                 = 13   // SQLITE_FULL (primary code)
)

// isUnique reports whether err is a unique or primary key violation,
// judged by the driver's extended result code.
func isUnique(err error) bool {
	var se *sqlite3.Error
	if errors.As(err, &se) {
		return se.Code() == codeConstraintUnique || se.Code() == codeConstraintPrimaryKey
	}
	return false
}

// TranslateError implements scimd.ErrorTranslator: 503 when the database
// is locked by another process (a `scimd tenant …` command, a sqlite3
// shell) for longer than the busy timeout, so that the same request may
// succeed later; 507 when the disk (or max_page_count) is full: SQLite
// rolled the statement back. nil for anything else.
func (db *DB) TranslateError(err error) *scimd.Error {
	var se *sqlite3.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.Code() & 0xff { // the primary result code
	case codeBusy, codeLocked:
		return scimd.Unavailable(err)
	case codeFull:
		return scimd.InsufficientStorage(err)
	}
	return nil
}

func formatTime(t time.Time) string { return sqlbuild.FormatTime(t) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: bad stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

// timeCol is a Scan destination for a stored time (RFC 3339 text) that
// parses it into *t. With null set, NULL or "" gives the zero time (an
// optional time: expiry, last use); without, they are an error.
type timeCol struct {
	t    *time.Time
	null bool
}

// scanTime and scanNullTime return Scan destinations for a required and
// an optional stored time.
func scanTime(t *time.Time) timeCol     { return timeCol{t: t} }
func scanNullTime(t *time.Time) timeCol { return timeCol{t: t, null: true} }

// Scan implements sql.Scanner.
func (c timeCol) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case nil:
	default:
		return fmt.Errorf("sqlite: stored time of type %T", src)
	}
	if s == "" && c.null {
		*c.t = time.Time{}
		return nil
	}
	t, err := parseTime(s)
	if err != nil {
		return err
	}
	*c.t = t
	return nil
}
