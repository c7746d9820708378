package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/postgres"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/sqlite"
)

// database is what the commands need of a storage backend; *sqlite.DB and
// *postgres.DB both are one.
type database interface {
	scimd.Store
	scimd.TenantStore
	scimd.TokenStore
	// Migrations returns the names of the applied migrations, in order.
	Migrations(ctx context.Context) ([]string, error)
	Close() error
}

var (
	_ database = (*sqlite.DB)(nil)
	_ database = (*postgres.DB)(nil)
)

// isPostgresURL reports whether a --database value names a PostgreSQL
// database rather than a SQLite file.
func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// displayDatabase returns cfg.Database fit for logs: a URL's password is
// hidden.
func displayDatabase(s string) string {
	if !isPostgresURL(s) {
		return s
	}
	return redactURL(s)
}

// openDatabase opens the database cfg.Database names: a postgres:// or
// postgresql:// URL opens PostgreSQL, anything else is a SQLite file. With
// migrate, pending migrations are applied; without, PostgreSQL fails if any
// are pending (SQLite, a single-process file, always applies them on open).
func openDatabase(ctx context.Context, cfg Config, reg *schema.Registry, migrate bool) (database, error) {
	if isPostgresURL(cfg.Database) {
		opts := []postgres.Option{postgres.WithHintBytes(cfg.PostgresHintBytes),
			postgres.WithAnalyzeInterval(cfg.PostgresAnalyzeInterval)}
		if !migrate {
			opts = append(opts, postgres.WithoutMigrate())
		}
		db, err := postgres.Open(ctx, cfg.Database, reg, opts...)
		if err != nil {
			return nil, fmt.Errorf("open database %s: %w", displayDatabase(cfg.Database), err)
		}
		return db, nil
	}
	db, err := sqlite.Open(ctx, cfg.Database, reg, sqlite.WithSynchronous(cfg.SQLiteSynchronous),
		sqlite.WithCacheBytes(cfg.SQLiteCacheBytes))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", cfg.Database, err)
	}
	return db, nil
}

// databaseRetry is how often serve tries again to reach a PostgreSQL
// server that cannot serve yet.
const databaseRetry = time.Second

// openWaiting opens the database, waiting up to cfg.DatabaseWait for a
// PostgreSQL server that cannot serve yet, as when scimd and PostgreSQL
// start together (docker compose, a Kubernetes pod): each failed attempt
// is logged, and any other error ends the wait at once.
func (s *Server) openWaiting(ctx context.Context, cfg Config, reg *schema.Registry) (database, error) {
	deadline := time.Now().Add(cfg.DatabaseWait)
	for {
		db, err := openDatabase(ctx, cfg, reg, !s.NoMigrate)
		if err == nil || !isPostgresURL(cfg.Database) || !postgres.Unavailable(err) || !time.Now().Add(databaseRetry).Before(deadline) {
			return db, err
		}
		s.Logger.Warn("waiting for the database", "database", displayDatabase(cfg.Database), "until", deadline.Format(time.RFC3339), "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(databaseRetry):
		}
	}
}

// migrateDatabase applies pending migrations to the database cfg names and
// returns the names of those it applied.
func migrateDatabase(ctx context.Context, cfg Config, reg *schema.Registry) ([]string, error) {
	if isPostgresURL(cfg.Database) {
		applied, err := postgres.Migrate(ctx, cfg.Database)
		if err != nil {
			return applied, fmt.Errorf("migrate %s: %w", displayDatabase(cfg.Database), err)
		}
		return applied, nil
	}
	before, err := sqliteApplied(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	db, err := sqlite.Open(ctx, cfg.Database, reg)
	if err != nil {
		return nil, fmt.Errorf("migrate %s: %w", cfg.Database, err)
	}
	defer db.Close()
	after, err := db.Migrations(ctx)
	if err != nil {
		return nil, err
	}
	return newNames(before, after), nil
}

// newNames returns the names in after that are not in before.
func newNames(before, after []string) []string {
	var out []string
	for _, n := range after {
		if !slices.Contains(before, n) {
			out = append(out, n)
		}
	}
	return out
}

// sqliteApplied lists the applied migrations of a SQLite file without
// changing it (an empty list for a new or missing file).
func sqliteApplied(ctx context.Context, path string) ([]string, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return nil, fmt.Errorf("read database %s: %w", path, err)
	}
	if n == 0 {
		return nil, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("read database %s: %w", path, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		names = append(names, s)
	}
	return names, rows.Err()
}
