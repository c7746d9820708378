package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/scimd/scimd"
)

var _ scimd.CredentialStore = (*DB)(nil)

// CreateBasicCredential implements scimd.BasicCredentialStore. A zero
// Created is set to now.
func (db *DB) CreateBasicCredential(ctx context.Context, c *scimd.BasicCredential) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if c.Created.IsZero() {
		c.Created = tx.now
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO basic_credentials (credential_id, tenant_id, username, hash, created, last_used, revoked)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Tenant, c.Username, c.Hash, formatTime(c.Created), nullTime(c.LastUsed), c.Revoked)
	if isUnique(err) {
		return scimd.Conflict("a Basic credential for username %q already exists", c.Username)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create basic credential: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create basic credential: commit: %w", err)
	}
	return nil
}

const basicCols = `credential_id, tenant_id, username, hash, created, last_used, revoked`

func scanBasic(s scanner) (*scimd.BasicCredential, error) {
	var c scimd.BasicCredential
	if err := s.Scan(&c.ID, &c.Tenant, &c.Username, &c.Hash, scanTime(&c.Created), scanNullTime(&c.LastUsed), &c.Revoked); err != nil {
		return nil, err
	}
	return &c, nil
}

// BasicCredentialByUsername implements scimd.BasicCredentialStore.
func (db *DB) BasicCredentialByUsername(ctx context.Context, tenant, username string) (*scimd.BasicCredential, error) {
	return one(db.queryRow(ctx, `SELECT `+basicCols+` FROM basic_credentials
		WHERE tenant_id = ? AND username = ? AND revoked = 0`, tenant, username), scanBasic, "basic credential", scimd.NotFound("Basic credential not found"))
}

// BasicCredentials implements scimd.BasicCredentialStore.
func (db *DB) BasicCredentials(ctx context.Context, tenant string) ([]*scimd.BasicCredential, error) {
	return queryCredentials(ctx, db, "basic credentials", scanBasic,
		`SELECT `+basicCols+` FROM basic_credentials WHERE tenant_id = ? ORDER BY created, credential_id`, tenant)
}

// RevokeBasicCredential implements scimd.BasicCredentialStore.
func (db *DB) RevokeBasicCredential(ctx context.Context, tenant, id string) error {
	return db.execWrite(ctx, "revoke basic credential", func(tx *Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `UPDATE basic_credentials SET revoked = 1 WHERE tenant_id = ? AND credential_id = ?`, tenant, id)
	}, scimd.NotFound("Basic credential %s not found", id))
}

// TouchBasicCredential implements scimd.BasicCredentialStore; like
// TouchToken it writes at most once a minute per credential.
func (db *DB) TouchBasicCredential(ctx context.Context, id string, at time.Time) error {
	return db.execWrite(ctx, "touch basic credential", func(tx *Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `UPDATE basic_credentials SET last_used = ?1
			WHERE credential_id = ?2 AND (last_used IS NULL OR last_used < ?3)`,
			formatTime(at), id, formatTime(at.Add(-time.Minute)))
	}, nil)
}

// CreateOAuthClient implements scimd.OAuthStore. A zero Created is set to
// now.
func (db *DB) CreateOAuthClient(ctx context.Context, c *scimd.OAuthClient) error {
	uris, err := json.Marshal(credStrings(c.RedirectURIs))
	if err != nil {
		return fmt.Errorf("sqlite: create oauth client: %w", err)
	}
	grants, err := json.Marshal(credStrings(c.Grants))
	if err != nil {
		return fmt.Errorf("sqlite: create oauth client: %w", err)
	}
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if c.Created.IsZero() {
		c.Created = tx.now
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO oauth_clients (client_id, tenant_id, name, secret_hash, redirect_uris, grants, okta_app, created, revoked)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Tenant, c.Name, c.SecretHash, string(uris), string(grants), c.OktaApp, formatTime(c.Created), c.Revoked)
	if isUnique(err) {
		return scimd.Conflict("OAuth client %q already exists", c.ID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create oauth client: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create oauth client: commit: %w", err)
	}
	return nil
}

func credStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const clientCols = `client_id, tenant_id, name, secret_hash, redirect_uris, grants, okta_app, created, revoked`

func scanClient(s scanner) (*scimd.OAuthClient, error) {
	var c scimd.OAuthClient
	var uris, grants string
	if err := s.Scan(&c.ID, &c.Tenant, &c.Name, &c.SecretHash, &uris, &grants, &c.OktaApp, scanTime(&c.Created), &c.Revoked); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(uris), &c.RedirectURIs); err != nil {
		return nil, fmt.Errorf("bad stored redirect_uris: %w", err)
	}
	if err := json.Unmarshal([]byte(grants), &c.Grants); err != nil {
		return nil, fmt.Errorf("bad stored grants: %w", err)
	}
	return &c, nil
}

// OAuthClient implements scimd.OAuthStore.
func (db *DB) OAuthClient(ctx context.Context, tenant, id string) (*scimd.OAuthClient, error) {
	return one(db.queryRow(ctx, `SELECT `+clientCols+` FROM oauth_clients
		WHERE tenant_id = ? AND client_id = ?`, tenant, id), scanClient, "oauth client", scimd.NotFound("OAuth client %s not found", id))
}

// OAuthClients implements scimd.OAuthStore.
func (db *DB) OAuthClients(ctx context.Context, tenant string) ([]*scimd.OAuthClient, error) {
	return queryCredentials(ctx, db, "oauth clients", scanClient,
		`SELECT `+clientCols+` FROM oauth_clients WHERE tenant_id = ? ORDER BY created, client_id`, tenant)
}

// RevokeOAuthClient implements scimd.OAuthStore.
func (db *DB) RevokeOAuthClient(ctx context.Context, tenant, id string) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE oauth_clients SET revoked = 1 WHERE tenant_id = ? AND client_id = ?`, tenant, id)
	if err != nil {
		return fmt.Errorf("sqlite: revoke oauth client: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: revoke oauth client: %w", err)
	} else if n == 0 {
		return scimd.NotFound("OAuth client %s not found", id)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE oauth_tokens SET revoked = 1 WHERE tenant_id = ? AND client_id = ?`, tenant, id); err != nil {
		return fmt.Errorf("sqlite: revoke oauth client tokens: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE oauth_codes SET used = 1 WHERE tenant_id = ? AND client_id = ?`, tenant, id); err != nil {
		return fmt.Errorf("sqlite: revoke oauth client codes: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: revoke oauth client: commit: %w", err)
	}
	return nil
}

// CreateOAuthCode implements scimd.OAuthStore. It also deletes codes that
// expired more than a day ago, so the table stays small.
func (db *DB) CreateOAuthCode(ctx context.Context, c *scimd.OAuthCode) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if c.Created.IsZero() {
		c.Created = tx.now
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_codes WHERE expires < ?`, formatTime(tx.now.Add(-24*time.Hour))); err != nil {
		return fmt.Errorf("sqlite: expire oauth codes: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO oauth_codes (code_id, tenant_id, client_id, hash, redirect_uri, scope, challenge, challenge_method, family, created, expires, used)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Tenant, c.ClientID, c.Hash, c.RedirectURI, c.Scope, c.Challenge, c.ChallengeMethod, c.Family,
		formatTime(c.Created), formatTime(c.Expires), c.Used)
	if isUnique(err) {
		return scimd.Conflict("OAuth code %q already exists", c.ID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create oauth code: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create oauth code: commit: %w", err)
	}
	return nil
}

const codeCols = `code_id, tenant_id, client_id, hash, redirect_uri, scope, challenge, challenge_method, family, created, expires, used`

func scanCode(s scanner) (*scimd.OAuthCode, error) {
	var c scimd.OAuthCode
	if err := s.Scan(&c.ID, &c.Tenant, &c.ClientID, &c.Hash, &c.RedirectURI, &c.Scope, &c.Challenge, &c.ChallengeMethod,
		&c.Family, scanTime(&c.Created), scanTime(&c.Expires), &c.Used); err != nil {
		return nil, err
	}
	return &c, nil
}

// OAuthCode implements scimd.OAuthStore.
func (db *DB) OAuthCode(ctx context.Context, id string) (*scimd.OAuthCode, error) {
	return one(db.queryRow(ctx, `SELECT `+codeCols+` FROM oauth_codes WHERE code_id = ?`, id), scanCode, "oauth code", scimd.NotFound("OAuth code not found"))
}

// RedeemOAuthCode implements scimd.OAuthStore. Write transactions are
// serialised (one writer, BEGIN IMMEDIATE), so the read, the update and the
// token inserts are atomic.
func (db *DB) RedeemOAuthCode(ctx context.Context, tenant, id string, issue func(*scimd.OAuthCode) ([]*scimd.OAuthToken, error)) (*scimd.OAuthCode, error) {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	c, err := scanCode(tx.QueryRowContext(ctx, `SELECT `+codeCols+` FROM oauth_codes WHERE tenant_id = ? AND code_id = ?`, tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, scimd.NotFound("OAuth code not found")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: redeem oauth code: %w", err)
	}
	if c.Used {
		return c, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE oauth_codes SET used = 1 WHERE code_id = ?`, id); err != nil {
		return nil, fmt.Errorf("sqlite: redeem oauth code: %w", err)
	}
	seen := *c
	toks, err := issue(&seen)
	if err != nil {
		return nil, err
	}
	if len(toks) > 0 {
		if err := tx.insertOAuthTokens(ctx, toks); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: redeem oauth code: commit: %w", err)
	}
	return c, nil
}

// CreateOAuthTokens implements scimd.OAuthStore. It also deletes tokens
// that expired more than a day ago.
func (db *DB) CreateOAuthTokens(ctx context.Context, ts ...*scimd.OAuthToken) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.insertOAuthTokens(ctx, ts); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create oauth tokens: commit: %w", err)
	}
	return nil
}

func (tx *Tx) insertOAuthTokens(ctx context.Context, ts []*scimd.OAuthToken) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_tokens WHERE expires < ?`, formatTime(tx.now.Add(-24*time.Hour))); err != nil {
		return fmt.Errorf("sqlite: expire oauth tokens: %w", err)
	}
	for _, t := range ts {
		if t.Created.IsZero() {
			t.Created = tx.now
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_tokens (token_id, tenant_id, client_id, kind, hash, family, scope, created, expires, last_used, rotated, revoked)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Tenant, t.ClientID, t.Kind, t.Hash, t.Family, t.Scope, formatTime(t.Created), formatTime(t.Expires),
			nullTime(t.LastUsed), t.Rotated, t.Revoked)
		if isUnique(err) {
			return scimd.Conflict("OAuth token %q already exists", t.ID)
		}
		if err != nil {
			return fmt.Errorf("sqlite: create oauth token: %w", err)
		}
	}
	return nil
}

const oauthTokenCols = `token_id, tenant_id, client_id, kind, hash, family, scope, created, expires, last_used, rotated, revoked`

func scanOAuthToken(s scanner) (*scimd.OAuthToken, error) {
	var t scimd.OAuthToken
	if err := s.Scan(&t.ID, &t.Tenant, &t.ClientID, &t.Kind, &t.Hash, &t.Family, &t.Scope, scanTime(&t.Created), scanTime(&t.Expires),
		scanNullTime(&t.LastUsed), &t.Rotated, &t.Revoked); err != nil {
		return nil, err
	}
	return &t, nil
}

// OAuthToken implements scimd.OAuthStore.
func (db *DB) OAuthToken(ctx context.Context, id string) (*scimd.OAuthToken, error) {
	return one(db.queryRow(ctx, `SELECT `+oauthTokenCols+` FROM oauth_tokens WHERE token_id = ?`, id), scanOAuthToken, "oauth token", scimd.NotFound("OAuth token not found"))
}

// RotateOAuthRefreshToken implements scimd.OAuthStore.
func (db *DB) RotateOAuthRefreshToken(ctx context.Context, tenant, id string, issued ...*scimd.OAuthToken) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE oauth_tokens SET rotated = 1
		WHERE tenant_id = ? AND token_id = ? AND kind = 'refresh' AND rotated = 0 AND revoked = 0`, tenant, id)
	if err != nil {
		return fmt.Errorf("sqlite: rotate refresh token: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: rotate refresh token: %w", err)
	} else if n == 0 {
		return scimd.Conflict("refresh token already used or revoked")
	}
	if err := tx.insertOAuthTokens(ctx, issued); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: rotate refresh token: commit: %w", err)
	}
	return nil
}

// RevokeOAuthToken implements scimd.OAuthStore.
func (db *DB) RevokeOAuthToken(ctx context.Context, tenant, id string) error {
	return db.execWrite(ctx, "revoke oauth token", func(tx *Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `UPDATE oauth_tokens SET revoked = 1 WHERE tenant_id = ? AND token_id = ?`, tenant, id)
	}, scimd.NotFound("OAuth token not found"))
}

// RevokeOAuthFamily implements scimd.OAuthStore.
func (db *DB) RevokeOAuthFamily(ctx context.Context, tenant, family string) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE oauth_tokens SET revoked = 1 WHERE tenant_id = ? AND family = ?`, tenant, family); err != nil {
		return fmt.Errorf("sqlite: revoke oauth family: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE oauth_codes SET used = 1 WHERE tenant_id = ? AND family = ?`, tenant, family); err != nil {
		return fmt.Errorf("sqlite: revoke oauth family: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: revoke oauth family: commit: %w", err)
	}
	return nil
}

// TouchOAuthToken implements scimd.OAuthStore; it writes at most once a
// minute per token.
func (db *DB) TouchOAuthToken(ctx context.Context, id string, at time.Time) error {
	return db.execWrite(ctx, "touch oauth token", func(tx *Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `UPDATE oauth_tokens SET last_used = ?1
			WHERE token_id = ?2 AND (last_used IS NULL OR last_used < ?3)`,
			formatTime(at), id, formatTime(at.Add(-time.Minute)))
	}, nil)
}

// SetOAuthAdminPassword implements scimd.OAuthStore.
func (db *DB) SetOAuthAdminPassword(ctx context.Context, tenant, hash string) error {
	return db.execWrite(ctx, "set oauth admin password", func(tx *Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `INSERT INTO oauth_admins (tenant_id, password_hash, updated) VALUES (?1, ?2, ?3)
			ON CONFLICT (tenant_id) DO UPDATE SET password_hash = ?2, updated = ?3`, tenant, hash, formatTime(tx.now))
	}, nil)
}

// OAuthAdminPassword implements scimd.OAuthStore.
func (db *DB) OAuthAdminPassword(ctx context.Context, tenant string) (string, error) {
	var hash string
	err := db.queryRow(ctx, `SELECT password_hash FROM oauth_admins WHERE tenant_id = ?`, tenant).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", scimd.NotFound("no admin password set")
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: oauth admin password: %w", err)
	}
	return hash, nil
}

// CreateOAuthConnectCode implements scimd.OAuthStore. It also deletes the
// tenant's expired and used connect codes.
func (db *DB) CreateOAuthConnectCode(ctx context.Context, c *scimd.OAuthConnectCode) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if c.Created.IsZero() {
		c.Created = tx.now
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_connect_codes WHERE tenant_id = ? AND (used = 1 OR expires < ?)`,
		c.Tenant, formatTime(tx.now)); err != nil {
		return fmt.Errorf("sqlite: expire connect codes: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO oauth_connect_codes (code_id, tenant_id, hash, created, expires, used) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, c.Tenant, c.Hash, formatTime(c.Created), formatTime(c.Expires), c.Used)
	if isUnique(err) {
		return scimd.Conflict("connect code %q already exists", c.ID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create connect code: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create connect code: commit: %w", err)
	}
	return nil
}

// OAuthConnectCodes implements scimd.OAuthStore.
func (db *DB) OAuthConnectCodes(ctx context.Context, tenant string, now time.Time) ([]*scimd.OAuthConnectCode, error) {
	return queryCredentials(ctx, db, "connect codes", func(s scanner) (*scimd.OAuthConnectCode, error) {
		var c scimd.OAuthConnectCode
		if err := s.Scan(&c.ID, &c.Tenant, &c.Hash, scanTime(&c.Created), scanTime(&c.Expires), &c.Used); err != nil {
			return nil, err
		}
		return &c, nil
	}, `SELECT code_id, tenant_id, hash, created, expires, used FROM oauth_connect_codes
		WHERE tenant_id = ? AND used = 0 AND expires > ? ORDER BY created`, tenant, formatTime(now))
}

// UseOAuthConnectCode implements scimd.OAuthStore.
func (db *DB) UseOAuthConnectCode(ctx context.Context, tenant, id string) error {
	return db.execWrite(ctx, "use connect code", func(tx *Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `UPDATE oauth_connect_codes SET used = 1 WHERE tenant_id = ? AND code_id = ? AND used = 0`, tenant, id)
	}, scimd.NotFound("connect code not found"))
}

// queryCredentials runs a query on a reader and scans every row.
func queryCredentials[T any](ctx context.Context, db *DB, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return out, nil
}

// one scans a single row: no row is notFound, any other failure is wrapped
// as "sqlite: what".
func one[T any](row scanner, scan func(scanner) (T, error), what string, notFound error) (T, error) {
	v, err := scan(row)
	if errors.Is(err, sql.ErrNoRows) {
		var zero T
		return zero, notFound
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return v, nil
}
