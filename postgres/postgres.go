// Package postgres implements scimd.Store, scimd.TenantStore and
// scimd.TokenStore on PostgreSQL with pgx, for deployments that run several
// stateless scimd instances in front of one database.
//
// # Concurrency
//
// Every write is one transaction at READ COMMITTED. Store.Update of a Group
// locks the row with SELECT … FOR NO KEY UPDATE before running the update
// function, so concurrent updates of one group — member changes from any
// number of scimd processes — queue on the row lock and each runs on the
// state the previous one committed: nothing is lost and an If-Match check
// inside the function sees the current version. (NO KEY UPDATE rather than
// FOR UPDATE so that the foreign key checks of membership inserts in other
// transactions, which take KEY SHARE locks on the member rows, do not wait
// for it.) Other resources, which are rarely written concurrently, are
// read without a lock first (a lock costs a WAL record and a write of the
// row's page). Either way the UPDATE says WHERE version = <the version
// read>: when it finds another version, or the transaction meets a
// serialization failure (40001) or a deadlock (40P01) — possible when a
// Delete and an Update lock the same rows in opposite orders, and normal
// on CockroachDB — it is rolled back and run again, update function
// included, on the locked row, a bounded number of times.
//
// Under load, concurrent simple writes share a transaction (group commit)
// and concurrent single-statement reads a pipeline: see batch.go.
//
// Uniqueness (userName, Group displayName) is a unique index on a folded
// column computed in Go; a violation is recognised by SQLSTATE 23505.
//
// # Migrations
//
// Migrations are embedded (migrations/NNNN_name.sql) and applied by Migrate,
// which Open calls unless WithoutMigrate is given. Each is applied in its own
// transaction holding a transaction-scoped advisory lock, so instances
// starting together apply each migration exactly once, and recorded in
// schema_migrations.
package postgres

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/internal/sqlbuild"
	"github.com/scimd/scimd/schema"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Interface checks.
var (
	_ scimd.Store       = (*DB)(nil)
	_ scimd.TenantStore = (*DB)(nil)
	_ scimd.TokenStore  = (*DB)(nil)
)

// migrationLock is the key of the advisory lock migrations hold
// (an arbitrary constant: "scimd" in ASCII).
const migrationLock int64 = 0x7363696d64

// DB is a scimd store on one PostgreSQL database.
type DB struct {
	// Now returns the current time; it is read once per transaction.
	Now func() time.Time

	pool      *pgxpool.Pool
	reg       *schema.Registry
	dialect   sqlbuild.Postgres
	maxConns  int32
	migrate   bool
	collation string // "": probe; see WithFoldCollation

	foldCollation string // chosen by chooseCollation

	configure func(*pgxpool.Config) // tests: instrument the pool

	lists listCache

	hintBytes int64  // WithHintBytes
	hints     *hints // nil: off

	analyzeEvery time.Duration // WithAnalyzeInterval
	analyzer     *analyzer     // nil: not running

	commits     *batcher // simple writes; nil: WithoutBatches
	reads       *batcher // single-statement reads; nil: WithoutBatches
	noBatches   bool
	inFlight    [2]int    // tests: batches of writes, of reads at once (0: the default)
	beforeBatch [2]func() // tests: run before each batch of writes, of reads is sent

	resets atomic.Int64 // pool resets after a lost connection (unavailable.go)
}

// DefaultConnectTimeout bounds making a connection (dial, TLS, startup)
// when the URL sets no connect_timeout. Without a bound, a server whose
// packets are dropped (a host down, a firewall change) would hold each
// request for the operating system's SYN retries, about two minutes;
// with it the request fails, as 503, after these few seconds.
const DefaultConnectTimeout = 5 * time.Second

// Option configures Open.
type Option func(*DB)

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(db *DB) { db.Now = now } }

// WithoutMigrate makes Open check that every embedded migration has been
// applied, failing if not, instead of applying them. Use it when
// migrations are applied by "scimd migrate" as a deployment step.
func WithoutMigrate() Option { return func(db *DB) { db.migrate = false } }

// WithMaxConns sets the size of the connection pool (default: the URL's
// pool_max_conns, else pgxpool's default of max(4, GOMAXPROCS)).
func WithMaxConns(n int) Option {
	return func(db *DB) {
		if n > 0 {
			db.maxConns = int32(n)
		}
	}
}

// WithoutBatches sends every statement of each request on its own. By
// default concurrent simple writes share a transaction (groupcommit.go)
// and concurrent single-statement reads a pipeline (pipeline.go).
func WithoutBatches() Option { return func(db *DB) { db.noBatches = true } }

// WithFoldCollation sets the collation applied to the argument of lower()
// when filters fold strings held in JSON documents; "default" means the
// database's own. By default Open picks the first of the database default,
// "C.utf8", "C.UTF-8", "en_US.utf8" and "und-x-icu" whose lower() agrees
// with sqlbuild.Fold on a set of probe strings.
func WithFoldCollation(name string) Option { return func(db *DB) { db.collation = name } }

// Open connects to the database at url (a postgres:// or postgresql://
// URL, or a libpq key=value string), applies pending migrations (unless
// WithoutMigrate) and returns the store. reg gives the resource types
// served.
func Open(ctx context.Context, url string, reg *schema.Registry, opts ...Option) (*DB, error) {
	if reg == nil {
		return nil, errors.New("postgres: open: nil schema registry")
	}
	db := &DB{Now: time.Now, reg: reg, migrate: true, hintBytes: DefaultHintBytes, analyzeEvery: DefaultAnalyzeInterval}
	for _, o := range opts {
		o(db)
	}
	if !db.noBatches {
		writes, reads := cmp.Or(db.inFlight[0], defaultInFlight), cmp.Or(db.inFlight[1], readsInFlight)
		db.commits = &batcher{maxInFlight: writes, run: db.runWrites, beforeBatch: db.beforeBatch[0]}
		db.hints = newHints(db.hintBytes) // only updateGrouped uses them
		db.reads = &batcher{maxInFlight: reads, run: db.runReads, beforeBatch: db.beforeBatch[1]}
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, errors.New("postgres: open: invalid database URL")
	}
	if db.maxConns > 0 {
		cfg.MaxConns = db.maxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	if db.configure != nil {
		db.configure(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db.pool = pool
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if db.migrate {
		if _, err := db.Migrate(ctx); err != nil {
			pool.Close()
			return nil, err
		}
	} else {
		pending, err := db.Pending(ctx)
		if err != nil {
			pool.Close()
			return nil, err
		}
		if len(pending) > 0 {
			pool.Close()
			return nil, fmt.Errorf("postgres: database schema is behind: %d migration(s) not applied (%s); run \"scimd migrate\"",
				len(pending), strings.Join(pending, ", "))
		}
	}
	if err := db.chooseCollation(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	db.startAnalyzer()
	return db, nil
}

// Close stops the planner statistics check and closes the connection
// pool. It always returns nil; the error is there for symmetry with the
// sqlite store.
func (db *DB) Close() error {
	db.stopAnalyzer()
	db.pool.Close()
	return nil
}

// Migrate connects to the database at url, applies the embedded
// migrations not yet applied and returns the names of those it applied
// (see DB.Migrate). It is what "scimd migrate" runs.
func Migrate(ctx context.Context, url string) ([]string, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("postgres: migrate: invalid database URL")
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	defer pool.Close()
	db := &DB{Now: time.Now, pool: pool}
	return db.Migrate(ctx)
}

// migrationNames returns the embedded migrations, in order.
func migrationNames() ([]string, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("postgres: list migrations: %w", err)
	}
	for i, n := range names {
		names[i] = strings.TrimPrefix(n, "migrations/")
	}
	sort.Strings(names)
	return names, nil
}

// Migrate applies the embedded migrations not yet recorded in
// schema_migrations and returns the names of those it applied. Several
// processes may call it at once: each migration is applied by exactly one.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	names, err := migrationNames()
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, name := range names {
		did, err := db.migrateFile(ctx, name)
		if err != nil {
			return applied, err
		}
		if did {
			applied = append(applied, name)
		}
	}
	return applied, nil
}

// migrateFile applies one migration unless it is recorded already.
func (db *DB) migrateFile(ctx context.Context, name string) (applied bool, _ error) {
	text, err := fs.ReadFile(migrationFS, "migrations/"+name)
	if err != nil {
		return false, fmt.Errorf("postgres: migration %s: %w", name, err)
	}
	err = db.inTx(ctx, func(tx *Tx) error {
		applied = false
		// The lock serialises migrating instances until commit; the
		// table is created under it because concurrent CREATE TABLE IF
		// NOT EXISTS can fail with a unique violation.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			name TEXT PRIMARY KEY, applied TIMESTAMPTZ NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE name = $1`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		// No arguments: pgx sends the file with the simple protocol,
		// which runs several statements.
		if _, err := tx.Exec(ctx, string(text)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (name, applied) VALUES ($1, $2)`, name, tx.now); err != nil {
			return fmt.Errorf("record: %w", err)
		}
		applied = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("postgres: migration %s: %w", name, err)
	}
	return applied, nil
}

// Migrations returns the names of the applied migrations, in order.
func (db *DB) Migrations(ctx context.Context) ([]string, error) {
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, fmt.Errorf("postgres: list migrations: %w", err)
	}
	if !exists {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list migrations: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: list migrations: %w", err)
	}
	return names, nil
}

// Pending returns the embedded migrations not applied yet, in order.
func (db *DB) Pending(ctx context.Context) ([]string, error) {
	done, err := db.Migrations(ctx)
	if err != nil {
		return nil, err
	}
	names, err := migrationNames()
	if err != nil {
		return nil, err
	}
	var pending []string
	for _, n := range names {
		if !slices.Contains(done, n) {
			pending = append(pending, n)
		}
	}
	return pending, nil
}

// foldProbes are strings whose folding differs between Go's
// strings.ToLower and an ASCII-only or locale-specific lower().
var foldProbes = []string{"ÀÉÎÕÜ ÅNGSTRÖM", "ÖZTÜRK", "ΣΟΦΊΑ", "ДМИТРИЙ", "ǅ", "ĲSSEL", "ꞫꟅ"}

// chooseCollation picks the collation whose lower() folds as sqlbuild.Fold
// does (see WithFoldCollation).
func (db *DB) chooseCollation(ctx context.Context) error {
	candidates := []string{"default", "C.utf8", "C.UTF-8", "en_US.utf8", "und-x-icu"}
	if db.collation != "" {
		candidates = []string{db.collation}
	}
	want := make([]string, len(foldProbes))
	for i, s := range foldProbes {
		want[i] = sqlbuild.Fold(s)
	}
	for _, c := range candidates {
		d := sqlbuild.Postgres{}
		if c != "default" {
			d.LowerCollation = c
		}
		var got []string
		err := db.pool.QueryRow(ctx, `SELECT array_agg(`+d.Fold("p")+` ORDER BY i) FROM unnest($1::text[]) WITH ORDINALITY AS t(p, i)`,
			foldProbes).Scan(&got)
		if err != nil {
			if db.collation != "" {
				return fmt.Errorf("postgres: fold collation %q: %w", c, err)
			}
			continue // no such collation here
		}
		if slices.Equal(got, want) || db.collation != "" {
			db.dialect, db.foldCollation = d, c
			return nil
		}
	}
	// Fall back to lower() as the database does it: ASCII case
	// differences still match; the folded columns (userName,
	// displayName, emails) are unaffected.
	db.dialect, db.foldCollation = sqlbuild.Postgres{}, "default (differs from Go for some non-ASCII letters)"
	return nil
}

// FoldCollation says which collation lower() uses when filters fold
// strings held in JSON documents (see WithFoldCollation).
func (db *DB) FoldCollation() string { return db.foldCollation }

// Tx is a transaction with the time it started: every timestamp written in
// it is now.
//
// BEGIN is not sent on its own: it waits for the transaction's first
// statement and goes in the same pipeline (QueryRow, SendBatch), and
// commitBatch sends COMMIT after the last statements, so a transaction of
// one read-and-lock and one write costs two round trips, not four. See
// "Round trips" in docs/postgres.md.
type Tx struct {
	conn  *pgx.Conn
	db    *DB
	now   time.Time
	begin string // the BEGIN statement while it is still to be sent
	sent  bool   // BEGIN has been sent: the transaction must end
	done  bool   // committed
	// committing: COMMIT has been sent (or queued in a pipeline being
	// sent), so a lost connection leaves the outcome unknown.
	committing bool
}

// beginSQL is the BEGIN statement for opts (isolation and access mode
// only: the store uses no other option).
func beginSQL(opts pgx.TxOptions) string {
	s := "BEGIN"
	if opts.IsoLevel != "" {
		s += " ISOLATION LEVEL " + strings.ToUpper(string(opts.IsoLevel))
	}
	if opts.AccessMode != "" {
		s += " " + strings.ToUpper(string(opts.AccessMode))
	}
	return s
}

// withBegin returns b, with the pending BEGIN queued in front of its
// statements if there is one; skip says whether the caller must consume
// BEGIN's result first.
func (tx *Tx) withBegin(b *pgx.Batch) (out *pgx.Batch, skip bool) {
	if tx.begin == "" {
		return b, false
	}
	out = &pgx.Batch{}
	out.Queue(tx.begin)
	out.QueuedQueries = append(out.QueuedQueries, b.QueuedQueries...)
	tx.begin, tx.sent = "", true
	return out, true
}

// start sends the pending BEGIN on its own, for statements that cannot be
// pipelined with it (Exec, Query).
func (tx *Tx) start(ctx context.Context) error {
	if tx.begin == "" {
		return nil
	}
	s := tx.begin
	tx.begin, tx.sent = "", true
	if _, err := tx.conn.Exec(ctx, s); err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	return nil
}

// Exec runs one statement in the transaction.
func (tx *Tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := tx.start(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return tx.conn.Exec(ctx, sql, args...)
}

// Query runs one query in the transaction.
func (tx *Tx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := tx.start(ctx); err != nil {
		return nil, err
	}
	return tx.conn.Query(ctx, sql, args...)
}

// QueryRow runs a query returning at most one row in the transaction;
// the first statement of a transaction is sent with BEGIN, unless its
// arguments start with a pgx.QueryExecMode (a pipeline runs in the
// connection's mode only: see customPlans).
func (tx *Tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if len(args) > 0 {
		if _, ok := args[0].(pgx.QueryExecMode); ok {
			if err := tx.start(ctx); err != nil {
				return errRow{err}
			}
		}
	}
	if tx.begin == "" {
		return tx.conn.QueryRow(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := tx.SendBatch(ctx, b)
	return batchRow{br.QueryRow(), br}
}

// batchRow is the row of a one-query batch; Scan also ends the batch.
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// SendBatch sends b in the transaction as one pipeline, BEGIN first if it
// is still to be sent.
func (tx *Tx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	b, skip := tx.withBegin(b)
	br := tx.conn.SendBatch(ctx, b)
	if skip {
		if _, err := br.Exec(); err != nil {
			return errBatch{br, fmt.Errorf("postgres: begin: %w", err)}
		}
	}
	return br
}

// errBatch is a batch whose BEGIN failed: every result is that error.
type errBatch struct {
	pgx.BatchResults
	err error
}

func (e errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, e.err }
func (e errBatch) Query() (pgx.Rows, error)         { return nil, e.err }
func (e errBatch) QueryRow() pgx.Row                { return errRow{e.err} }
func (e errBatch) Close() error {
	e.BatchResults.Close()
	return e.err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// commitBatch sends b followed by COMMIT as one pipeline: read consumes
// b's results (all of them, in order), then the commit's result is
// checked. On any error the transaction is left for runTx to roll back.
func (tx *Tx) commitBatch(ctx context.Context, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	b.Queue("COMMIT")
	tx.committing = true
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if err := read(br); err != nil {
		return err
	}
	if err := checkCommit(br.Exec()); err != nil {
		return err
	}
	// The COMMIT's tag arrived: committed, whatever closing the pipeline
	// says (a connection lost before its last message, as in a restart).
	tx.done = true
	_ = br.Close()
	return nil
}

// checkCommit turns the result of COMMIT into an error: a transaction
// that failed earlier answers COMMIT with ROLLBACK, not with an error. The
// COMMIT tag means committed, even with an error from what followed it
// (pgx's Exec reads on to the server's next message, which a connection
// lost just then never delivers).
func checkCommit(tag pgconn.CommandTag, err error) error {
	if tag.String() == "COMMIT" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return fmt.Errorf("postgres: commit: %w", pgx.ErrTxCommitRollback)
}

// commit commits the transaction unless it has sent nothing yet.
func (tx *Tx) commit(ctx context.Context) error {
	if tx.done || !tx.sent {
		return nil
	}
	tx.committing = true
	if err := checkCommit(tx.conn.Exec(ctx, "COMMIT")); err != nil {
		return err
	}
	tx.done = true
	return nil
}

// rollback ends a transaction that was begun and not committed. A
// connection it cannot roll back is closed, so that the pool never hands
// out a connection in a transaction.
func (tx *Tx) rollback(ctx context.Context) {
	if tx.done || !tx.sent {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if _, err := tx.conn.Exec(ctx, "ROLLBACK"); err != nil {
		tx.conn.Close(ctx)
	}
}

// maxTxTries bounds how often a transaction is run again after a
// serialization failure or deadlock.
const maxTxTries = 10

// inTx runs fn in a read-write transaction and commits, running it again
// (fn included) after a serialization failure or a deadlock.
func (db *DB) inTx(ctx context.Context, fn func(tx *Tx) error) error {
	return db.runTx(ctx, pgx.TxOptions{}, fn)
}

// inReadTx runs fn in a read-only REPEATABLE READ transaction: one
// snapshot for everything it reads.
func (db *DB) inReadTx(ctx context.Context, fn func(tx *Tx) error) error {
	return db.runTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

func (db *DB) runTx(ctx context.Context, opts pgx.TxOptions, fn func(tx *Tx) error) error {
	readOnly := opts.AccessMode == pgx.ReadOnly
	return db.retry(ctx, func() error { return db.runTxOnce(ctx, opts, readOnly, fn) })
}

// retry runs fn again after a serialization failure or a deadlock, a
// bounded number of times, and once on a new connection after a
// lostBeforeCommit (unavailable.go). Single statements outside a
// transaction go through it too: PostgreSQL never fails them so,
// CockroachDB may.
func (db *DB) retry(ctx context.Context, fn func() error) error {
	reconnected := false
	for try := 1; ; try++ {
		err := fn()
		if lost, ok := errors.AsType[*lostBeforeCommit](err); ok {
			if reconnected {
				return lost.err
			}
			reconnected = true
			try--
			continue
		}
		if err == nil || !retryable(err) || try >= maxTxTries {
			return err
		}
		// Back off a little, with jitter, so the rivals do not collide
		// again at once.
		d := time.Duration(try) * time.Duration(1+rand.IntN(5)) * time.Millisecond
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
	}
}

func (db *DB) runTxOnce(ctx context.Context, opts pgx.TxOptions, readOnly bool, fn func(tx *Tx) error) error {
	gen := db.resets.Load()
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		err = fmt.Errorf("postgres: begin: %w", err)
		if db.lostConn(ctx, err, gen) {
			return &lostBeforeCommit{err}
		}
		return err
	}
	defer c.Release()
	tx := &Tx{conn: c.Conn(), db: db, now: db.Now().UTC().Truncate(time.Microsecond), begin: beginSQL(opts)}
	defer tx.rollback(ctx)
	err = fn(tx)
	if err == nil {
		err = tx.commit(ctx)
	}
	if err != nil && (readOnly || !tx.committing) && db.lostConn(ctx, err, gen) {
		return &lostBeforeCommit{err}
	}
	return err
}

// SQLSTATE codes the store acts on.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeUntranslatable       = "22P05" // e.g. \u0000 in jsonb
	codeBadCharacter         = "22021" // e.g. a NUL byte in text
	codeDiskFull             = "53100"
	codeLockNotAvailable     = "55P03" // lock_timeout
	codeQueryCanceled        = "57014" // statement_timeout, or a cancelled request
)

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// isUnique reports whether err is a unique violation, by SQLSTATE.
func isUnique(err error) bool { return sqlState(err) == codeUniqueViolation }

// retryable reports whether the transaction that failed with err may
// succeed when run again.
func retryable(err error) bool {
	switch sqlState(err) {
	case codeSerializationFailure, codeDeadlockDetected:
		return true
	}
	return false
}

// badText reports whether err says a value cannot be stored as text or
// jsonb (NUL characters), a client mistake.
func badText(err error) bool {
	switch sqlState(err) {
	case codeUntranslatable, codeBadCharacter:
		return true
	}
	return false
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fromNullTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
