package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/scimd/scimd/sqlite"
)

// runBackup is "scimd backup --out FILE": a consistent online copy of the
// SQLite database, taken while a server may be writing to it. The copy is
// checked (PRAGMA integrity_check) before it appears at FILE, and FILE is
// never overwritten. PostgreSQL databases are backed up with pg_dump; for
// them the command prints how.
func runBackup(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("scimd backup", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	load := commonFlags(fs, env)
	out := fs.String("out", "", "file to write the copy to; must not exist (required)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: scimd backup --database FILE --out FILE

Writes a consistent copy of a SQLite database, safe while scimd serves it
(VACUUM INTO, in one read transaction: the copy is the database as of one
commit). The copy is checked with PRAGMA integrity_check and never replaces
an existing file. For a postgres:// database, use pg_dump.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("backup: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	if isPostgresURL(cfg.Database) {
		dest := *out
		if dest == "" {
			dest = "scimd.dump"
		}
		fmt.Fprintf(env.Stderr, `scimd backup copies SQLite databases only; back up PostgreSQL with pg_dump,
which takes a consistent snapshot while scimd serves:

  pg_dump --format=custom --file=%s '%s'

(give the password with PGPASSWORD or ~/.pgpass). Restore into an empty
database with pg_restore --no-owner --dbname=URL %s; see docs/durability.md.
`, dest, withoutPassword(cfg.Database), dest)
		return errors.New("backup: not a SQLite database: use pg_dump")
	}
	if *out == "" {
		fs.Usage()
		return errors.New("backup: --out is required")
	}
	if _, err := os.Stat(cfg.Database); err != nil {
		return fmt.Errorf("backup: database %s: %w", cfg.Database, err)
	}
	start := time.Now()
	if err := sqlite.BackupFile(ctx, cfg.Database, *out); err != nil {
		return err
	}
	fi, err := os.Stat(*out)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(env.Stdout, "backed up %s to %s: %d bytes, integrity_check ok (%v)\n",
		cfg.Database, *out, fi.Size(), time.Since(start).Round(time.Millisecond))
	return nil
}

// withoutPassword returns the URL raw with any password removed, for a
// command line to print: pg_dump then takes the password from PGPASSWORD or
// ~/.pgpass.
func withoutPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "URL"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	if q.Has("password") {
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
