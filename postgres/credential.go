package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scimd/scimd"
)

var _ scimd.CredentialStore = (*DB)(nil)

// CreateBasicCredential implements scimd.BasicCredentialStore. A zero
// Created is set to now.
func (db *DB) CreateBasicCredential(ctx context.Context, c *scimd.BasicCredential) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if c.Created.IsZero() {
			c.Created = tx.now
		}
		_, err := tx.Exec(ctx, `INSERT INTO basic_credentials (credential_id, tenant_id, username, hash, created, last_used, revoked)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			c.ID, c.Tenant, c.Username, c.Hash, c.Created, nullTime(c.LastUsed), c.Revoked)
		if isUnique(err) {
			return scimd.Conflict("a Basic credential for username %q already exists", c.Username)
		}
		if err != nil {
			return fmt.Errorf("postgres: create basic credential: %w", err)
		}
		return nil
	})
}

const basicCols = `credential_id, tenant_id, username, hash, created, last_used, revoked`

func scanBasic(s pgx.Row) (*scimd.BasicCredential, error) {
	var c scimd.BasicCredential
	var used *time.Time
	if err := s.Scan(&c.ID, &c.Tenant, &c.Username, &c.Hash, &c.Created, &used, &c.Revoked); err != nil {
		return nil, err
	}
	c.Created = c.Created.UTC()
	c.LastUsed = fromNullTime(used)
	return &c, nil
}

// BasicCredentialByUsername implements scimd.BasicCredentialStore.
func (db *DB) BasicCredentialByUsername(ctx context.Context, tenant, username string) (*scimd.BasicCredential, error) {
	c, err := scanBasic(db.readRow(ctx, `SELECT `+basicCols+` FROM basic_credentials
		WHERE tenant_id = $1 AND username = $2 AND NOT revoked`, tenant, username))
	if errors.Is(err, pgx.ErrNoRows) || badText(err) {
		return nil, scimd.NotFound("Basic credential not found")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: basic credential: %w", err)
	}
	return c, nil
}

// BasicCredentials implements scimd.BasicCredentialStore.
func (db *DB) BasicCredentials(ctx context.Context, tenant string) ([]*scimd.BasicCredential, error) {
	return credentialRows(ctx, db, "basic credentials", scanBasic,
		`SELECT `+basicCols+` FROM basic_credentials WHERE tenant_id = $1 ORDER BY created, credential_id COLLATE "C"`, tenant)
}

// RevokeBasicCredential implements scimd.BasicCredentialStore.
func (db *DB) RevokeBasicCredential(ctx context.Context, tenant, id string) error {
	return db.credExec(ctx, "revoke basic credential", scimd.NotFound("Basic credential %s not found", id),
		`UPDATE basic_credentials SET revoked = true WHERE tenant_id = $1 AND credential_id = $2`, tenant, id)
}

// TouchBasicCredential implements scimd.BasicCredentialStore; it writes at
// most once a minute per credential.
func (db *DB) TouchBasicCredential(ctx context.Context, id string, at time.Time) error {
	return db.credExec(ctx, "touch basic credential", nil, `UPDATE basic_credentials SET last_used = $1
		WHERE credential_id = $2 AND (last_used IS NULL OR last_used < $3)`, at, id, at.Add(-time.Minute))
}

// CreateOAuthClient implements scimd.OAuthStore. A zero Created is set to
// now.
func (db *DB) CreateOAuthClient(ctx context.Context, c *scimd.OAuthClient) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if c.Created.IsZero() {
			c.Created = tx.now
		}
		_, err := tx.Exec(ctx, `INSERT INTO oauth_clients (client_id, tenant_id, name, secret_hash, redirect_uris, grants, okta_app, created, revoked)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			c.ID, c.Tenant, c.Name, c.SecretHash, credStrings(c.RedirectURIs), credStrings(c.Grants), c.OktaApp, c.Created, c.Revoked)
		if isUnique(err) {
			return scimd.Conflict("OAuth client %q already exists", c.ID)
		}
		if err != nil {
			return fmt.Errorf("postgres: create oauth client: %w", err)
		}
		return nil
	})
}

func credStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const clientCols = `client_id, tenant_id, name, secret_hash, redirect_uris, grants, okta_app, created, revoked`

func scanClient(s pgx.Row) (*scimd.OAuthClient, error) {
	var c scimd.OAuthClient
	if err := s.Scan(&c.ID, &c.Tenant, &c.Name, &c.SecretHash, &c.RedirectURIs, &c.Grants, &c.OktaApp, &c.Created, &c.Revoked); err != nil {
		return nil, err
	}
	c.Created = c.Created.UTC()
	return &c, nil
}

// OAuthClient implements scimd.OAuthStore.
func (db *DB) OAuthClient(ctx context.Context, tenant, id string) (*scimd.OAuthClient, error) {
	c, err := scanClient(db.readRow(ctx, `SELECT `+clientCols+` FROM oauth_clients WHERE tenant_id = $1 AND client_id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) || badText(err) {
		return nil, scimd.NotFound("OAuth client %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: oauth client: %w", err)
	}
	return c, nil
}

// OAuthClients implements scimd.OAuthStore.
func (db *DB) OAuthClients(ctx context.Context, tenant string) ([]*scimd.OAuthClient, error) {
	return credentialRows(ctx, db, "oauth clients", scanClient,
		`SELECT `+clientCols+` FROM oauth_clients WHERE tenant_id = $1 ORDER BY created, client_id COLLATE "C"`, tenant)
}

// RevokeOAuthClient implements scimd.OAuthStore.
func (db *DB) RevokeOAuthClient(ctx context.Context, tenant, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE oauth_clients SET revoked = true WHERE tenant_id = $1 AND client_id = $2`, tenant, id)
		if badText(err) || err == nil && tag.RowsAffected() == 0 {
			return scimd.NotFound("OAuth client %s not found", id)
		}
		if err != nil {
			return fmt.Errorf("postgres: revoke oauth client: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE oauth_tokens SET revoked = true WHERE tenant_id = $1 AND client_id = $2`, tenant, id); err != nil {
			return fmt.Errorf("postgres: revoke oauth client tokens: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE oauth_codes SET used = true WHERE tenant_id = $1 AND client_id = $2`, tenant, id); err != nil {
			return fmt.Errorf("postgres: revoke oauth client codes: %w", err)
		}
		return nil
	})
}

// CreateOAuthCode implements scimd.OAuthStore. It also deletes codes that
// expired more than a day ago.
func (db *DB) CreateOAuthCode(ctx context.Context, c *scimd.OAuthCode) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if c.Created.IsZero() {
			c.Created = tx.now
		}
		if _, err := tx.Exec(ctx, `DELETE FROM oauth_codes WHERE expires < $1`, tx.now.Add(-24*time.Hour)); err != nil {
			return fmt.Errorf("postgres: expire oauth codes: %w", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO oauth_codes (code_id, tenant_id, client_id, hash, redirect_uri, scope, challenge, challenge_method, family, created, expires, used)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			c.ID, c.Tenant, c.ClientID, c.Hash, c.RedirectURI, c.Scope, c.Challenge, c.ChallengeMethod, c.Family, c.Created, c.Expires, c.Used)
		if isUnique(err) {
			return scimd.Conflict("OAuth code %q already exists", c.ID)
		}
		if err != nil {
			return fmt.Errorf("postgres: create oauth code: %w", err)
		}
		return nil
	})
}

const codeCols = `code_id, tenant_id, client_id, hash, redirect_uri, scope, challenge, challenge_method, family, created, expires, used`

func scanCode(s pgx.Row) (*scimd.OAuthCode, error) {
	var c scimd.OAuthCode
	if err := s.Scan(&c.ID, &c.Tenant, &c.ClientID, &c.Hash, &c.RedirectURI, &c.Scope, &c.Challenge, &c.ChallengeMethod,
		&c.Family, &c.Created, &c.Expires, &c.Used); err != nil {
		return nil, err
	}
	c.Created, c.Expires = c.Created.UTC(), c.Expires.UTC()
	return &c, nil
}

// OAuthCode implements scimd.OAuthStore.
func (db *DB) OAuthCode(ctx context.Context, id string) (*scimd.OAuthCode, error) {
	c, err := scanCode(db.readRow(ctx, `SELECT `+codeCols+` FROM oauth_codes WHERE code_id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) || badText(err) {
		return nil, scimd.NotFound("OAuth code not found")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: oauth code: %w", err)
	}
	return c, nil
}

// RedeemOAuthCode implements scimd.OAuthStore. The code row is locked
// (FOR UPDATE) until the tokens are inserted and committed, so of
// concurrent calls, on any number of instances, exactly one sees Used false
// and the others wait for its tokens.
func (db *DB) RedeemOAuthCode(ctx context.Context, tenant, id string, issue func(*scimd.OAuthCode) ([]*scimd.OAuthToken, error)) (*scimd.OAuthCode, error) {
	var out *scimd.OAuthCode
	err := db.inTx(ctx, func(tx *Tx) error {
		c, err := scanCode(tx.QueryRow(ctx, `SELECT `+codeCols+` FROM oauth_codes WHERE tenant_id = $1 AND code_id = $2 FOR UPDATE`, tenant, id))
		if errors.Is(err, pgx.ErrNoRows) || badText(err) {
			return scimd.NotFound("OAuth code not found")
		}
		if err != nil {
			return fmt.Errorf("postgres: redeem oauth code: %w", err)
		}
		out = c
		if c.Used {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE oauth_codes SET used = true WHERE code_id = $1`, id); err != nil {
			return fmt.Errorf("postgres: redeem oauth code: %w", err)
		}
		seen := *c
		toks, err := issue(&seen)
		if err != nil {
			return err
		}
		if len(toks) == 0 {
			return nil
		}
		return tx.insertOAuthTokens(ctx, toks)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CreateOAuthTokens implements scimd.OAuthStore. It also deletes tokens
// that expired more than a day ago.
func (db *DB) CreateOAuthTokens(ctx context.Context, ts ...*scimd.OAuthToken) error {
	return db.inTx(ctx, func(tx *Tx) error { return tx.insertOAuthTokens(ctx, ts) })
}

func (tx *Tx) insertOAuthTokens(ctx context.Context, ts []*scimd.OAuthToken) error {
	if _, err := tx.Exec(ctx, `DELETE FROM oauth_tokens WHERE expires < $1`, tx.now.Add(-24*time.Hour)); err != nil {
		return fmt.Errorf("postgres: expire oauth tokens: %w", err)
	}
	for _, t := range ts {
		if t.Created.IsZero() {
			t.Created = tx.now
		}
		_, err := tx.Exec(ctx, `INSERT INTO oauth_tokens (token_id, tenant_id, client_id, kind, hash, family, scope, created, expires, last_used, rotated, revoked)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			t.ID, t.Tenant, t.ClientID, t.Kind, t.Hash, t.Family, t.Scope, t.Created, t.Expires, nullTime(t.LastUsed), t.Rotated, t.Revoked)
		if isUnique(err) {
			return scimd.Conflict("OAuth token %q already exists", t.ID)
		}
		if err != nil {
			return fmt.Errorf("postgres: create oauth token: %w", err)
		}
	}
	return nil
}

const oauthTokenCols = `token_id, tenant_id, client_id, kind, hash, family, scope, created, expires, last_used, rotated, revoked`

func scanOAuthToken(s pgx.Row) (*scimd.OAuthToken, error) {
	var t scimd.OAuthToken
	var used *time.Time
	if err := s.Scan(&t.ID, &t.Tenant, &t.ClientID, &t.Kind, &t.Hash, &t.Family, &t.Scope, &t.Created, &t.Expires, &used,
		&t.Rotated, &t.Revoked); err != nil {
		return nil, err
	}
	t.Created, t.Expires = t.Created.UTC(), t.Expires.UTC()
	t.LastUsed = fromNullTime(used)
	return &t, nil
}

// OAuthToken implements scimd.OAuthStore.
func (db *DB) OAuthToken(ctx context.Context, id string) (*scimd.OAuthToken, error) {
	t, err := scanOAuthToken(db.readRow(ctx, `SELECT `+oauthTokenCols+` FROM oauth_tokens WHERE token_id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) || badText(err) {
		return nil, scimd.NotFound("OAuth token not found")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: oauth token: %w", err)
	}
	return t, nil
}

// RotateOAuthRefreshToken implements scimd.OAuthStore. At READ COMMITTED a
// concurrent UPDATE of the same row waits for the first to commit and then
// re-checks "NOT rotated" against the committed row, so at most one
// rotation succeeds.
func (db *DB) RotateOAuthRefreshToken(ctx context.Context, tenant, id string, issued ...*scimd.OAuthToken) error {
	return db.inTx(ctx, func(tx *Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE oauth_tokens SET rotated = true
			WHERE tenant_id = $1 AND token_id = $2 AND kind = 'refresh' AND NOT rotated AND NOT revoked`, tenant, id)
		if badText(err) || err == nil && tag.RowsAffected() == 0 {
			return scimd.Conflict("refresh token already used or revoked")
		}
		if err != nil {
			return fmt.Errorf("postgres: rotate refresh token: %w", err)
		}
		return tx.insertOAuthTokens(ctx, issued)
	})
}

// RevokeOAuthToken implements scimd.OAuthStore.
func (db *DB) RevokeOAuthToken(ctx context.Context, tenant, id string) error {
	return db.credExec(ctx, "revoke oauth token", scimd.NotFound("OAuth token not found"),
		`UPDATE oauth_tokens SET revoked = true WHERE tenant_id = $1 AND token_id = $2`, tenant, id)
}

// RevokeOAuthFamily implements scimd.OAuthStore.
func (db *DB) RevokeOAuthFamily(ctx context.Context, tenant, family string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE oauth_tokens SET revoked = true WHERE tenant_id = $1 AND family = $2`, tenant, family); err != nil {
			return fmt.Errorf("postgres: revoke oauth family: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE oauth_codes SET used = true WHERE tenant_id = $1 AND family = $2`, tenant, family); err != nil {
			return fmt.Errorf("postgres: revoke oauth family: %w", err)
		}
		return nil
	})
}

// TouchOAuthToken implements scimd.OAuthStore; it writes at most once a
// minute per token.
func (db *DB) TouchOAuthToken(ctx context.Context, id string, at time.Time) error {
	return db.credExec(ctx, "touch oauth token", nil, `UPDATE oauth_tokens SET last_used = $1
		WHERE token_id = $2 AND (last_used IS NULL OR last_used < $3)`, at, id, at.Add(-time.Minute))
}

// SetOAuthAdminPassword implements scimd.OAuthStore.
func (db *DB) SetOAuthAdminPassword(ctx context.Context, tenant, hash string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO oauth_admins (tenant_id, password_hash, updated) VALUES ($1, $2, $3)
			ON CONFLICT (tenant_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, updated = EXCLUDED.updated`,
			tenant, hash, tx.now)
		if err != nil {
			return fmt.Errorf("postgres: set oauth admin password: %w", err)
		}
		return nil
	})
}

// OAuthAdminPassword implements scimd.OAuthStore.
func (db *DB) OAuthAdminPassword(ctx context.Context, tenant string) (string, error) {
	var hash string
	err := db.readRow(ctx, `SELECT password_hash FROM oauth_admins WHERE tenant_id = $1`, tenant).Scan(&hash)
	if errors.Is(err, pgx.ErrNoRows) || badText(err) {
		return "", scimd.NotFound("no admin password set")
	}
	if err != nil {
		return "", fmt.Errorf("postgres: oauth admin password: %w", err)
	}
	return hash, nil
}

// CreateOAuthConnectCode implements scimd.OAuthStore. It also deletes the
// tenant's expired and used connect codes.
func (db *DB) CreateOAuthConnectCode(ctx context.Context, c *scimd.OAuthConnectCode) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if c.Created.IsZero() {
			c.Created = tx.now
		}
		if _, err := tx.Exec(ctx, `DELETE FROM oauth_connect_codes WHERE tenant_id = $1 AND (used OR expires < $2)`, c.Tenant, tx.now); err != nil {
			return fmt.Errorf("postgres: expire connect codes: %w", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO oauth_connect_codes (code_id, tenant_id, hash, created, expires, used) VALUES ($1, $2, $3, $4, $5, $6)`,
			c.ID, c.Tenant, c.Hash, c.Created, c.Expires, c.Used)
		if isUnique(err) {
			return scimd.Conflict("connect code %q already exists", c.ID)
		}
		if err != nil {
			return fmt.Errorf("postgres: create connect code: %w", err)
		}
		return nil
	})
}

// OAuthConnectCodes implements scimd.OAuthStore.
func (db *DB) OAuthConnectCodes(ctx context.Context, tenant string, now time.Time) ([]*scimd.OAuthConnectCode, error) {
	return credentialRows(ctx, db, "connect codes", func(s pgx.Row) (*scimd.OAuthConnectCode, error) {
		var c scimd.OAuthConnectCode
		if err := s.Scan(&c.ID, &c.Tenant, &c.Hash, &c.Created, &c.Expires, &c.Used); err != nil {
			return nil, err
		}
		c.Created, c.Expires = c.Created.UTC(), c.Expires.UTC()
		return &c, nil
	}, `SELECT code_id, tenant_id, hash, created, expires, used FROM oauth_connect_codes
		WHERE tenant_id = $1 AND NOT used AND expires > $2 ORDER BY created`, tenant, now)
}

// UseOAuthConnectCode implements scimd.OAuthStore.
func (db *DB) UseOAuthConnectCode(ctx context.Context, tenant, id string) error {
	return db.credExec(ctx, "use connect code", scimd.NotFound("connect code not found"),
		`UPDATE oauth_connect_codes SET used = true WHERE tenant_id = $1 AND code_id = $2 AND NOT used`, tenant, id)
}

// credExec runs one statement outside an explicit transaction; notFound, if
// not nil, is returned when it changed no row.
func (db *DB) credExec(ctx context.Context, what string, notFound error, sql string, args ...any) error {
	tag, err := db.pool.Exec(ctx, sql, args...)
	if badText(err) && notFound != nil {
		return notFound
	}
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	if notFound != nil && tag.RowsAffected() == 0 {
		return notFound
	}
	return nil
}

// credentialRows runs a query and scans every row.
func credentialRows[T any](ctx context.Context, db *DB, what string, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := db.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return out, nil
}
