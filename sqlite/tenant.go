package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd"
)

// CreateTenant implements scimd.TenantStore. A zero Created is set to now.
func (db *DB) CreateTenant(ctx context.Context, t *scimd.Tenant) error {
	defer authChanges.Add(1) // after the commit: see AuthChanges
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if t.Created.IsZero() {
		t.Created = tx.now
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO tenants (tenant_id, name, disabled, created) VALUES (?, ?, ?, ?)`,
		t.ID, t.Name, t.Disabled, formatTime(t.Created))
	if isUnique(err) {
		return scimd.Conflict("tenant %q already exists", t.Name)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create tenant %s: %w", t.ID, err)
	}
	hosts, err := tx.setHosts(ctx, t.ID, t.Hosts)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create tenant %s: commit: %w", t.ID, err)
	}
	t.Hosts = hosts
	return nil
}

// setHosts replaces the tenant's hosts, returning them canonical and
// sorted. A host another tenant has is a Conflict.
func (tx *Tx) setHosts(ctx context.Context, tenant string, hosts []string) ([]string, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM tenant_hosts WHERE tenant_id = ?`, tenant); err != nil {
		return nil, fmt.Errorf("sqlite: set tenant hosts: %w", err)
	}
	out := canonicalHosts(hosts)
	for _, h := range out {
		_, err := tx.ExecContext(ctx, `INSERT INTO tenant_hosts (host, tenant_id) VALUES (?, ?)`, h, tenant)
		if isUnique(err) {
			return nil, scimd.Conflict("host %q already belongs to another tenant", h)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: set tenant hosts: %w", err)
		}
	}
	return out, nil
}

// canonicalHosts returns the distinct non-empty canonical forms of hosts,
// sorted.
func canonicalHosts(hosts []string) []string {
	var out []string
	for _, h := range hosts {
		if h = scimd.CanonicalHost(h); h != "" {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// tenantCols selects a tenant with its hosts (space-separated: canonical
// hosts contain no spaces).
const tenantCols = `tenant_id, name, disabled, created,
	(SELECT group_concat(host, ' ') FROM (SELECT host FROM tenant_hosts h WHERE h.tenant_id = tenants.tenant_id ORDER BY host))`

func scanTenant(s scanner) (*scimd.Tenant, error) {
	var t scimd.Tenant
	var hosts sql.NullString
	if err := s.Scan(&t.ID, &t.Name, &t.Disabled, scanTime(&t.Created), &hosts); err != nil {
		return nil, err
	}
	if hosts.String != "" {
		t.Hosts = strings.Fields(hosts.String)
	}
	return &t, nil
}

func tenantWhere(ctx context.Context, q querier, what, where string, arg any) (*scimd.Tenant, error) {
	t, err := scanTenant(q.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, scimd.NotFound("Tenant %s not found", arg)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: tenant by %s: %w", what, err)
	}
	return t, nil
}

// querier is what tenantWhere needs of a *Tx or of the readers.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readers runs single-row queries on the reader pool with cached
// statements (see stmt.go).
type readers struct{ db *DB }

func (r readers) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return r.db.queryRow(ctx, query, args...)
}

// Tenant implements scimd.TenantStore.
func (db *DB) Tenant(ctx context.Context, id string) (*scimd.Tenant, error) {
	return tenantWhere(ctx, readers{db}, "id", "tenant_id = ?", id)
}

// TenantByName implements scimd.TenantStore.
func (db *DB) TenantByName(ctx context.Context, name string) (*scimd.Tenant, error) {
	return tenantWhere(ctx, readers{db}, "name", "name = ?", name)
}

// TenantByHost implements scimd.TenantStore.
func (db *DB) TenantByHost(ctx context.Context, host string) (*scimd.Tenant, error) {
	h := scimd.CanonicalHost(host)
	if h == "" {
		return nil, scimd.NotFound("no tenant has host %q", host)
	}
	return tenantWhere(ctx, readers{db}, "host",
		"tenant_id = (SELECT tenant_id FROM tenant_hosts WHERE host = ?)", h)
}

// Tenants implements scimd.TenantStore: every tenant, by name.
func (db *DB) Tenants(ctx context.Context) ([]*scimd.Tenant, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+tenantCols+` FROM tenants ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tenants: %w", err)
	}
	defer rows.Close()
	var out []*scimd.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: tenants: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: tenants: %w", err)
	}
	return out, nil
}

// UpdateTenant implements scimd.TenantStore.
func (db *DB) UpdateTenant(ctx context.Context, id string, fn func(*scimd.Tenant) error) (*scimd.Tenant, error) {
	defer authChanges.Add(1) // after the commit: see AuthChanges
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	t, err := tenantWhere(ctx, tx, "id", "tenant_id = ?", id)
	if err != nil {
		return nil, err
	}
	if err := fn(t); err != nil {
		return nil, err
	}
	t.ID = id
	_, err = tx.ExecContext(ctx, `UPDATE tenants SET name = ?, disabled = ? WHERE tenant_id = ?`, t.Name, t.Disabled, id)
	if isUnique(err) {
		return nil, scimd.Conflict("tenant %q already exists", t.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: update tenant %s: %w", id, err)
	}
	if t.Hosts, err = tx.setHosts(ctx, id, t.Hosts); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: update tenant %s: commit: %w", id, err)
	}
	return t, nil
}

// keptOnTenantDelete lists tables that have a tenant_id column but whose
// rows DeleteTenant leaves: tenant_changes holds only a change counter,
// which must keep growing so that the list caches keyed by (tenant,
// counter) never meet a reused value, even if a tenant with the same id is
// created again.
var keptOnTenantDelete = map[string]bool{"tenant_changes": true}

// DeleteTenant implements scimd.TenantStore. It deletes the tenant's rows
// from every table that has a tenant_id column — found in the schema, so
// that tables added by later migrations (credentials, OAuth clients,
// outboxes) cannot be forgotten — resources first (their triggers and
// cascades run), the tenant itself last, with foreign key checks deferred
// to the commit.
func (db *DB) DeleteTenant(ctx context.Context, id string) error {
	defer authChanges.Add(1) // after the commit: see AuthChanges
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tenantWhere(ctx, tx, "id", "tenant_id = ?", id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
		return fmt.Errorf("sqlite: delete tenant %s: %w", id, err)
	}
	tables, err := tx.tenantTables(ctx)
	if err != nil {
		return err
	}
	// Triggers on one table may write rows into another already emptied;
	// repeat until a pass deletes nothing.
	for pass := 0; ; pass++ {
		var n int64
		for _, table := range tables {
			res, err := tx.ExecContext(ctx, `DELETE FROM "`+table+`" WHERE tenant_id = ?`, id)
			if err != nil {
				return fmt.Errorf("sqlite: delete tenant %s: %s: %w", id, table, err)
			}
			k, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("sqlite: delete tenant %s: %s: %w", id, table, err)
			}
			n += k
		}
		if n == 0 {
			break
		}
		if pass >= 3 {
			return fmt.Errorf("sqlite: delete tenant %s: rows keep reappearing", id)
		}
	}
	if c := db.cache; c != nil {
		tx.afterCommit(func() { c.dropTenant(id) })
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: delete tenant %s: commit: %w", id, err)
	}
	return nil
}

// tenantTables returns the tables with a tenant_id column in deletion
// order: resources first, tenants last.
func (tx *Tx) tenantTables(ctx context.Context) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT m.name FROM sqlite_schema m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND c.name = 'tenant_id' ORDER BY m.name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list tenant tables: %w", err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("sqlite: list tenant tables: %w", err)
		}
		if !keptOnTenantDelete[name] {
			tables = append(tables, name)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list tenant tables: %w", err)
	}
	rank := func(t string) int {
		switch t {
		case "resources":
			return 0
		case "tenants":
			return 2
		}
		return 1
	}
	slices.SortStableFunc(tables, func(a, b string) int { return rank(a) - rank(b) })
	return tables, nil
}

// CreateToken implements scimd.TokenStore. A zero Created is set to now.
func (db *DB) CreateToken(ctx context.Context, t *scimd.Token) error {
	defer authChanges.Add(1) // after the commit: see AuthChanges
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if t.Created.IsZero() {
		t.Created = tx.now
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO tokens (token_id, tenant_id, name, hash, created, expires, last_used, revoked)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Tenant, t.Name, t.Hash, formatTime(t.Created), nullTime(t.Expires), nullTime(t.LastUsed), t.Revoked)
	if isUnique(err) {
		return scimd.Conflict("token %q already exists", t.ID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create token: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create token: commit: %w", err)
	}
	return nil
}

const tokenCols = `token_id, tenant_id, name, hash, created, expires, last_used, revoked`

func scanToken(s scanner) (*scimd.Token, error) {
	var t scimd.Token
	if err := s.Scan(&t.ID, &t.Tenant, &t.Name, &t.Hash, scanTime(&t.Created), scanNullTime(&t.Expires), scanNullTime(&t.LastUsed), &t.Revoked); err != nil {
		return nil, err
	}
	return &t, nil
}

// Token implements scimd.TokenStore.
func (db *DB) Token(ctx context.Context, id string) (*scimd.Token, error) {
	t, err := scanToken(db.queryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE token_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, scimd.NotFound("Token %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: token: %w", err)
	}
	return t, nil
}

// Tokens implements scimd.TokenStore: the tenant's tokens, oldest first.
func (db *DB) Tokens(ctx context.Context, tenant string) ([]*scimd.Token, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE tenant_id = ? ORDER BY created, token_id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tokens: %w", err)
	}
	defer rows.Close()
	var out []*scimd.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: tokens: %w", err)
	}
	return out, nil
}

// RevokeToken implements scimd.TokenStore.
func (db *DB) RevokeToken(ctx context.Context, tenant, id string) error {
	defer authChanges.Add(1) // after the commit: see AuthChanges
	return db.execWrite(ctx, "revoke token", func(tx *Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `UPDATE tokens SET revoked = 1 WHERE tenant_id = ? AND token_id = ?`, tenant, id)
	}, scimd.NotFound("Token %s not found", id))
}

// TouchToken implements scimd.TokenStore. It writes only when the recorded
// last use is older than a minute, so a busy token costs one small write a
// minute.
func (db *DB) TouchToken(ctx context.Context, id string, at time.Time) error {
	const granularity = time.Minute
	return db.execWrite(ctx, "touch token", func(tx *Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `UPDATE tokens SET last_used = ?1
			WHERE token_id = ?2 AND (last_used IS NULL OR last_used < ?3)`,
			formatTime(at), id, formatTime(at.Add(-granularity)))
	}, nil)
}

// execWrite runs one statement in a write transaction; notFound, if not
// nil, is returned when it changed no row.
func (db *DB) execWrite(ctx context.Context, what string, fn func(*Tx) (sql.Result, error), notFound error) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := fn(tx)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if notFound != nil {
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlite: %s: %w", what, err)
		}
		if n == 0 {
			return notFound
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %s: commit: %w", what, err)
	}
	return nil
}

// authChanges counts the changes to tenants and tokens made through any DB
// of this process.
var authChanges atomic.Uint64

// AuthChanges implements auth.ChangeCounter: it counts the tenant and token
// writes (create, update, delete, revoke) made through any DB in this
// process, so that the caches of authentication and tenant routing drop
// what such a write may have changed at once. Changes made by other
// processes reach those caches when their entries expire.
func (db *DB) AuthChanges() uint64 { return authChanges.Load() }
