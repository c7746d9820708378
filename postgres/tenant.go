package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scimd/scimd"
)

// CreateTenant implements scimd.TenantStore. A zero Created is set to now.
func (db *DB) CreateTenant(ctx context.Context, t *scimd.Tenant) error {
	defer authChanges.Add(1) // after the commit: see AuthChanges
	return db.inTx(ctx, func(tx *Tx) error {
		if t.Created.IsZero() {
			t.Created = tx.now
		}
		_, err := tx.Exec(ctx, `INSERT INTO tenants (tenant_id, name, disabled, created) VALUES ($1, $2, $3, $4)`,
			t.ID, t.Name, t.Disabled, t.Created)
		if isUnique(err) {
			return scimd.Conflict("tenant %q already exists", t.Name)
		}
		if err != nil {
			return fmt.Errorf("postgres: create tenant %s: %w", t.ID, err)
		}
		hosts, err := tx.setHosts(ctx, t.ID, t.Hosts)
		if err != nil {
			return err
		}
		t.Hosts = hosts
		return nil
	})
}

// setHosts replaces the tenant's hosts, returning them canonical and
// sorted. A host another tenant has is a Conflict.
func (tx *Tx) setHosts(ctx context.Context, tenant string, hosts []string) ([]string, error) {
	out := canonicalHosts(hosts)
	if _, err := tx.Exec(ctx, `DELETE FROM tenant_hosts WHERE tenant_id = $1`, tenant); err != nil {
		return nil, fmt.Errorf("postgres: set tenant hosts: %w", err)
	}
	for _, h := range out {
		_, err := tx.Exec(ctx, `INSERT INTO tenant_hosts (host, tenant_id) VALUES ($1, $2)`, h, tenant)
		if isUnique(err) {
			return nil, scimd.Conflict("host %q already belongs to another tenant", h)
		}
		if err != nil {
			return nil, fmt.Errorf("postgres: set tenant hosts: %w", err)
		}
	}
	return out, nil
}

// canonicalHosts returns the distinct non-empty canonical forms of hosts,
// sorted.
func canonicalHosts(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		if h = scimd.CanonicalHost(h); h != "" {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// tenantCols selects a tenant with its hosts, sorted.
const tenantCols = `tenant_id, name, disabled, created,
	ARRAY(SELECT h.host FROM tenant_hosts h WHERE h.tenant_id = tenants.tenant_id ORDER BY h.host)`

func scanTenant(s pgx.Row) (*scimd.Tenant, error) {
	var t scimd.Tenant
	if err := s.Scan(&t.ID, &t.Name, &t.Disabled, &t.Created, &t.Hosts); err != nil {
		return nil, err
	}
	t.Created = t.Created.UTC()
	if len(t.Hosts) == 0 {
		t.Hosts = nil
	}
	return &t, nil
}

// querier is what tenantWhere needs of the pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (db *DB) tenantWhere(ctx context.Context, what, where string, arg string) (*scimd.Tenant, error) {
	return tenantWhere(ctx, db.pool, what, where, arg)
}

func tenantWhere(ctx context.Context, q querier, what, where string, arg string) (*scimd.Tenant, error) {
	t, err := scanTenant(q.QueryRow(ctx, `SELECT `+tenantCols+` FROM tenants WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) || badText(err) {
		return nil, scimd.NotFound("Tenant %s not found", arg)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: tenant by %s: %w", what, err)
	}
	return t, nil
}

// Tenant implements scimd.TenantStore.
func (db *DB) Tenant(ctx context.Context, id string) (*scimd.Tenant, error) {
	return db.tenantWhere(ctx, "id", "tenant_id = $1", id)
}

// TenantByName implements scimd.TenantStore.
func (db *DB) TenantByName(ctx context.Context, name string) (*scimd.Tenant, error) {
	return db.tenantWhere(ctx, "name", "name = $1", name)
}

// TenantByHost implements scimd.TenantStore.
func (db *DB) TenantByHost(ctx context.Context, host string) (*scimd.Tenant, error) {
	h := scimd.CanonicalHost(host)
	if h == "" {
		return nil, scimd.NotFound("no tenant has host %q", host)
	}
	return db.tenantWhere(ctx, "host", "tenant_id = (SELECT tenant_id FROM tenant_hosts WHERE host = $1)", h)
}

// UpdateTenant implements scimd.TenantStore. The tenant row is locked
// while fn runs.
func (db *DB) UpdateTenant(ctx context.Context, id string, fn func(*scimd.Tenant) error) (*scimd.Tenant, error) {
	defer authChanges.Add(1) // after the commit: see AuthChanges
	var out *scimd.Tenant
	err := db.inTx(ctx, func(tx *Tx) error {
		t, err := tenantWhere(ctx, tx, "id", "tenant_id = $1 FOR UPDATE", id)
		if err != nil {
			return err
		}
		if err := fn(t); err != nil {
			return err
		}
		t.ID = id
		_, err = tx.Exec(ctx, `UPDATE tenants SET name = $1, disabled = $2 WHERE tenant_id = $3`, t.Name, t.Disabled, id)
		if isUnique(err) {
			return scimd.Conflict("tenant %q already exists", t.Name)
		}
		if err != nil {
			return fmt.Errorf("postgres: update tenant %s: %w", id, err)
		}
		if t.Hosts, err = tx.setHosts(ctx, id, t.Hosts); err != nil {
			return err
		}
		out = t
		return nil
	})
	return out, err
}

// DeleteTenant implements scimd.TenantStore. It deletes the tenant's rows
// from every table that has a tenant_id column — found in the catalog, so
// that tables added by later migrations cannot be forgotten — memberships
// and the value index first, then resources, the tenant last.
func (db *DB) DeleteTenant(ctx context.Context, id string) error {
	defer authChanges.Add(1)      // after the commit: see AuthChanges
	defer db.hints.dropTenant(id) // harmless if kept, but of no more use
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tenantWhere(ctx, tx, "id", "tenant_id = $1 FOR UPDATE", id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT table_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND column_name = 'tenant_id' ORDER BY table_name`)
		if err != nil {
			return fmt.Errorf("postgres: delete tenant %s: %w", id, err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("postgres: delete tenant %s: %w", id, err)
		}
		rank := func(t string) int {
			switch t {
			case "memberships", "value_index":
				return 0
			case "resources":
				return 1
			case "tenants":
				return 3
			}
			return 2
		}
		slices.SortStableFunc(tables, func(a, b string) int { return rank(a) - rank(b) })
		for _, table := range tables {
			if _, err := tx.Exec(ctx, `DELETE FROM `+pgx.Identifier{table}.Sanitize()+` WHERE tenant_id = $1`, id); err != nil {
				return fmt.Errorf("postgres: delete tenant %s: %s: %w", id, table, err)
			}
		}
		return nil
	})
}

// Tenants implements scimd.TenantStore: every tenant, by name.
func (db *DB) Tenants(ctx context.Context) ([]*scimd.Tenant, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+tenantCols+` FROM tenants ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("postgres: tenants: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*scimd.Tenant, error) { return scanTenant(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: tenants: %w", err)
	}
	return out, nil
}

// CreateToken implements scimd.TokenStore. A zero Created is set to now.
func (db *DB) CreateToken(ctx context.Context, t *scimd.Token) error {
	defer authChanges.Add(1) // after the commit: see AuthChanges
	return db.inTx(ctx, func(tx *Tx) error {
		if t.Created.IsZero() {
			t.Created = tx.now
		}
		_, err := tx.Exec(ctx, `INSERT INTO tokens (token_id, tenant_id, name, hash, created, expires, last_used, revoked)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			t.ID, t.Tenant, t.Name, t.Hash, t.Created, nullTime(t.Expires), nullTime(t.LastUsed), t.Revoked)
		if isUnique(err) {
			return scimd.Conflict("token %q already exists", t.ID)
		}
		if err != nil {
			return fmt.Errorf("postgres: create token: %w", err)
		}
		return nil
	})
}

const tokenCols = `token_id, tenant_id, name, hash, created, expires, last_used, revoked`

func scanToken(s pgx.Row) (*scimd.Token, error) {
	var t scimd.Token
	var expires, used *time.Time
	if err := s.Scan(&t.ID, &t.Tenant, &t.Name, &t.Hash, &t.Created, &expires, &used, &t.Revoked); err != nil {
		return nil, err
	}
	t.Created = t.Created.UTC()
	t.Expires = fromNullTime(expires)
	t.LastUsed = fromNullTime(used)
	return &t, nil
}

// Token implements scimd.TokenStore.
func (db *DB) Token(ctx context.Context, id string) (*scimd.Token, error) {
	t, err := scanToken(db.readRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE token_id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) || badText(err) {
		return nil, scimd.NotFound("Token %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: token: %w", err)
	}
	return t, nil
}

// Tokens implements scimd.TokenStore: the tenant's tokens, oldest first.
func (db *DB) Tokens(ctx context.Context, tenant string) ([]*scimd.Token, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+tokenCols+` FROM tokens WHERE tenant_id = $1 ORDER BY created, token_id COLLATE "C"`, tenant)
	if err != nil {
		return nil, fmt.Errorf("postgres: tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*scimd.Token, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: tokens: %w", err)
	}
	return out, nil
}

// RevokeToken implements scimd.TokenStore.
func (db *DB) RevokeToken(ctx context.Context, tenant, id string) error {
	defer authChanges.Add(1) // after the commit: see AuthChanges
	tag, err := db.pool.Exec(ctx, `UPDATE tokens SET revoked = true WHERE tenant_id = $1 AND token_id = $2`, tenant, id)
	if err != nil && !badText(err) {
		return fmt.Errorf("postgres: revoke token: %w", err)
	}
	if err != nil || tag.RowsAffected() == 0 {
		return scimd.NotFound("Token %s not found", id)
	}
	return nil
}

// TouchToken implements scimd.TokenStore. It writes only when the recorded
// last use is older than a minute, so a busy token costs one small write a
// minute, whichever instance serves it.
func (db *DB) TouchToken(ctx context.Context, id string, at time.Time) error {
	const granularity = time.Minute
	_, err := db.pool.Exec(ctx, `UPDATE tokens SET last_used = $1
		WHERE token_id = $2 AND (last_used IS NULL OR last_used < $3)`,
		at.UTC(), id, at.UTC().Add(-granularity))
	if err != nil && !badText(err) {
		return fmt.Errorf("postgres: touch token: %w", err)
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
