package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scimd/scimd"
)

// CreateTenant implements scimd.TenantStore. A zero Created is set to now.
func (db *DB) CreateTenant(ctx context.Context, t *scimd.Tenant) error {
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
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create tenant %s: commit: %w", t.ID, err)
	}
	return nil
}

const tenantCols = `tenant_id, name, disabled, created`

func scanTenant(s scanner) (*scimd.Tenant, error) {
	var t scimd.Tenant
	var created string
	if err := s.Scan(&t.ID, &t.Name, &t.Disabled, &created); err != nil {
		return nil, err
	}
	var err error
	t.Created, err = parseTime(created)
	return &t, err
}

func (db *DB) tenantWhere(ctx context.Context, what, where string, arg any) (*scimd.Tenant, error) {
	t, err := scanTenant(db.reader.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, scimd.NotFound("Tenant %s not found", arg)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: tenant by %s: %w", what, err)
	}
	return t, nil
}

// Tenant implements scimd.TenantStore.
func (db *DB) Tenant(ctx context.Context, id string) (*scimd.Tenant, error) {
	return db.tenantWhere(ctx, "id", "tenant_id = ?", id)
}

// TenantByName implements scimd.TenantStore.
func (db *DB) TenantByName(ctx context.Context, name string) (*scimd.Tenant, error) {
	return db.tenantWhere(ctx, "name", "name = ?", name)
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

// CreateToken implements scimd.TokenStore. A zero Created is set to now.
func (db *DB) CreateToken(ctx context.Context, t *scimd.Token) error {
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
	var created string
	var expires, used sql.NullString
	if err := s.Scan(&t.ID, &t.Tenant, &t.Name, &t.Hash, &created, &expires, &used, &t.Revoked); err != nil {
		return nil, err
	}
	var err error
	if t.Created, err = parseTime(created); err != nil {
		return nil, err
	}
	if t.Expires, err = parseNullTime(expires); err != nil {
		return nil, err
	}
	if t.LastUsed, err = parseNullTime(used); err != nil {
		return nil, err
	}
	return &t, nil
}

// Token implements scimd.TokenStore.
func (db *DB) Token(ctx context.Context, id string) (*scimd.Token, error) {
	t, err := scanToken(db.reader.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE token_id = ?`, id))
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
