package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Backup writes a consistent copy of the database to path, a file that must
// not exist yet, while the database stays open for reads and writes.
//
// The copy is made with VACUUM INTO on a connection of its own, inside one
// read transaction: it is the database as of one commit, and in WAL mode it
// does not block the writer (the WAL only grows while the copy runs, since a
// checkpoint cannot pass the copy's snapshot). The copy is written to a
// temporary file beside path, checked with PRAGMA integrity_check, synced to
// disk and only then linked to path, so path never holds a partial or
// unchecked copy.
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.path == ":memory:" {
		// Every connection to ":memory:" is a database of its own: copy
		// through the single shared connection.
		return backupWith(ctx, db.writer, path, 0o600)
	}
	perm := os.FileMode(0o600)
	if fi, err := os.Stat(db.path); err == nil {
		perm = fi.Mode().Perm()
	}
	// Not a reader of the pool: query_only forbids VACUUM INTO (it counts
	// as a write, though of another file); the writer would hold up every
	// write for the whole copy.
	src, err := sql.Open("sqlite", db.dsn("deferred"))
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer src.Close()
	src.SetMaxOpenConns(1)
	return backupWith(ctx, src, path, perm)
}

// BackupFile writes a consistent copy of the SQLite database file src to
// dst, a file that must not exist yet, as Backup does. It opens src read-only
// and applies no migrations, so it is safe on a database another process
// (a running scimd) is writing to, whatever the versions of the two.
func BackupFile(ctx context.Context, src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("sqlite: backup: %s is not a regular file", src)
	}
	conn, err := sql.Open("sqlite", readOnlyDSN(src))
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	return backupWith(ctx, conn, dst, fi.Mode().Perm())
}

// CheckFile opens the SQLite database file path read-only and runs PRAGMA
// integrity_check on it; it returns an error listing the problems found, if
// any.
func CheckFile(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("sqlite: check: %w", err)
	}
	conn, err := sql.Open("sqlite", readOnlyDSN(path))
	if err != nil {
		return fmt.Errorf("sqlite: check %s: %w", path, err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("sqlite: check %s: %w", path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("sqlite: check %s: %w", path, err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: check %s: %w", path, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("sqlite: check %s: integrity_check: %s", path, strings.Join(problems, "; "))
	}
	return nil
}

// readOnlyDSN is the data source name of a read-only connection to the file
// at path (in WAL mode it still reads the WAL and the shared-memory index of
// a database being written).
func readOnlyDSN(path string) string {
	q := url.Values{}
	q.Add("mode", "ro")
	q.Add("_pragma", "busy_timeout(5000)")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// backupWith copies the database conn reads into path, a file with
// permissions perm (those of the database: it holds credential hashes); see
// Backup.
func backupWith(ctx context.Context, conn *sql.DB, path string, perm os.FileMode) error {
	if path == "" {
		return errors.New("sqlite: backup: empty output path")
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("sqlite: backup: %s already exists; not overwriting it", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	dir := filepath.Dir(path)
	// A name for the temporary copy that nothing else uses: create it,
	// then remove it, since VACUUM INTO wants to create its output itself.
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	tmp := f.Name()
	f.Close()
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer func() {
		// Whatever happened, the temporary name goes (on success path
		// is a second link to it), with whatever VACUUM INTO left beside it.
		for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
			_ = os.Remove(tmp + suffix)
		}
	}()

	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return fmt.Errorf("sqlite: backup: vacuum into %s: %w", tmp, err)
	}
	if err := CheckFile(ctx, tmp); err != nil {
		return fmt.Errorf("sqlite: backup: the copy failed its check: %w", err)
	}
	if err := os.Chmod(tmp, perm); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	// VACUUM INTO does not sync its output; a backup must be on disk
	// before it is reported done.
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	// A hard link publishes the finished copy atomically, and fails
	// rather than replace a file created at path meanwhile.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("sqlite: backup: %s already exists; not overwriting it", path)
		}
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	// Make the new name durable too (directories cannot be synced on
	// Windows).
	if err := syncFile(dir); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return nil
}

// syncFile flushes the file or directory at path to stable storage.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
