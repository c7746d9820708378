package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/scimd/scimd"
)

// Lost connections. When PostgreSQL restarts or fails over, every
// connection in the pool is gone, but the pool only finds out when it
// hands one out: without care, each request in flight then (and each
// connection idle for less than a second, which pgxpool does not ping)
// fails once with "terminating connection due to administrator command"
// or an EOF, and the client sees a 500.
//
// So a failure that lost the connection (unavailable) resets the pool,
// once for all the failures it causes (lostConn), and the operation runs
// once more on a new connection where that cannot apply anything twice:
//   - a read, always (runReads, query, queryRow, read-only transactions);
//   - a transaction that had not sent its COMMIT: PostgreSQL rolls back
//     what a lost connection left uncommitted (runTx);
//   - a batch of writes refused by the server before it ran (runWrites
//     already runs each write again on its own).
// A connection lost between sending COMMIT and its reply leaves the
// outcome unknown: that error is returned (after the reply, the write is
// committed whatever follows: checkCommit), and the HTTP layer answers 503
// with Retry-After (DB.TranslateError), as it does while the server is
// down.

// unavailable reports whether err means that the connection to the
// server was refused, lost or not made in time, or that the server cannot
// serve for now (shutting down, starting up, out of connections). The
// server's refusal of the credentials or the database is not, and neither
// is a failure of the request's own context.
func unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	hasPgError := errors.As(err, &pe)
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		// Making a connection failed, the connect timeout included
		// (which pgx reports as a context deadline of its own).
		return !hasPgError || unavailableCode(pe.Code)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if hasPgError {
		return unavailableCode(pe.Code)
	}
	var ne net.Error
	return errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}

// Unavailable reports whether err, from Open or a store's method, means
// that the server cannot be reached or cannot serve for now: a later
// attempt may succeed. scimd serve waits on it at start-up.
func Unavailable(err error) bool { return unavailable(err) }

// unavailableCode reports whether a SQLSTATE says that the server cannot
// serve for now.
func unavailableCode(code string) bool {
	switch code {
	case "57P01", // admin_shutdown: a fast shutdown or pg_terminate_backend
		"57P02", // crash_shutdown
		"57P03", // cannot_connect_now: starting up or in recovery
		"53300": // too_many_connections
		return true
	}
	return strings.HasPrefix(code, "08") // connection_exception
}

// TranslateError implements scimd.ErrorTranslator: 503 for an error that
// means PostgreSQL cannot be reached for now (unavailable) or gave up
// waiting (a lock_timeout or statement_timeout an operator set in the
// URL), 507 for a full disk (SQLSTATE 53100), nil for anything else.
func (db *DB) TranslateError(err error) *scimd.Error {
	switch code := sqlState(err); {
	case unavailable(err), code == codeLockNotAvailable, code == codeQueryCanceled:
		return scimd.Unavailable(err)
	case code == codeDiskFull:
		return scimd.InsufficientStorage(err)
	}
	return nil
}

// lostConn reports whether err lost its connection (and ctx is still
// live). If so it resets the pool, unless the pool has been reset since
// gen (db.resets read before the attempt that failed): the connections
// of one restart fail together, and one reset is enough for all of them,
// while a connection that fails after a reset is news, so that what runs
// next gets a new connection rather than another dead one.
func (db *DB) lostConn(ctx context.Context, err error, gen int64) bool {
	if ctx.Err() != nil || !unavailable(err) {
		return false
	}
	if db.resets.CompareAndSwap(gen, gen+1) {
		db.pool.Reset()
	}
	return true
}

// lostBeforeCommit marks the error of a transaction that lost its
// connection before sending COMMIT (or of a read-only one): running it
// again cannot apply anything twice.
type lostBeforeCommit struct{ err error }

func (e *lostBeforeCommit) Error() string { return e.err.Error() }
func (e *lostBeforeCommit) Unwrap() error { return e.err }
