-- 0003: Basic credentials and the per-tenant OAuth 2.0 authorization server.
-- The logical layout of sqlite/migrations/0003_credentials.sql, in
-- PostgreSQL types. Secrets are never stored: passwords as argon2id PHC
-- strings; codes, tokens and client secrets as SHA-256 of their random
-- part. Key ids (code_id, token_id) are global, like tokens.token_id.

CREATE TABLE basic_credentials (
	credential_id TEXT PRIMARY KEY,
	tenant_id     TEXT NOT NULL,
	username      TEXT COLLATE "C" NOT NULL,
	hash          TEXT NOT NULL,
	created       TIMESTAMPTZ NOT NULL,
	last_used     TIMESTAMPTZ,
	revoked       BOOLEAN NOT NULL DEFAULT false
);
-- One live credential per username and tenant; revoked ones may repeat.
CREATE UNIQUE INDEX basic_credentials_username ON basic_credentials (tenant_id, username) WHERE NOT revoked;
CREATE INDEX basic_credentials_tenant ON basic_credentials (tenant_id, created);

CREATE TABLE oauth_clients (
	client_id     TEXT PRIMARY KEY,
	tenant_id     TEXT NOT NULL,
	name          TEXT NOT NULL,
	secret_hash   BYTEA NOT NULL,
	redirect_uris TEXT[] NOT NULL,
	grants        TEXT[] NOT NULL,
	okta_app      TEXT NOT NULL DEFAULT '',
	created       TIMESTAMPTZ NOT NULL,
	revoked       BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX oauth_clients_tenant ON oauth_clients (tenant_id, created);

CREATE TABLE oauth_codes (
	code_id          TEXT PRIMARY KEY,
	tenant_id        TEXT NOT NULL,
	client_id        TEXT NOT NULL,
	hash             BYTEA NOT NULL,
	redirect_uri     TEXT NOT NULL,
	scope            TEXT NOT NULL,
	challenge        TEXT NOT NULL,
	challenge_method TEXT NOT NULL,
	family           TEXT NOT NULL,
	created          TIMESTAMPTZ NOT NULL,
	expires          TIMESTAMPTZ NOT NULL,
	used             BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX oauth_codes_family ON oauth_codes (tenant_id, family);
CREATE INDEX oauth_codes_expires ON oauth_codes (expires);

CREATE TABLE oauth_tokens (
	token_id  TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	client_id TEXT NOT NULL,
	kind      TEXT NOT NULL, -- 'access' or 'refresh'
	hash      BYTEA NOT NULL,
	family    TEXT NOT NULL,
	scope     TEXT NOT NULL,
	created   TIMESTAMPTZ NOT NULL,
	expires   TIMESTAMPTZ NOT NULL,
	last_used TIMESTAMPTZ,
	rotated   BOOLEAN NOT NULL DEFAULT false,
	revoked   BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX oauth_tokens_family ON oauth_tokens (tenant_id, family);
CREATE INDEX oauth_tokens_client ON oauth_tokens (tenant_id, client_id);
CREATE INDEX oauth_tokens_expires ON oauth_tokens (expires);

CREATE TABLE oauth_admins (
	tenant_id     TEXT PRIMARY KEY,
	password_hash TEXT NOT NULL,
	updated       TIMESTAMPTZ NOT NULL
);

CREATE TABLE oauth_connect_codes (
	code_id   TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	hash      BYTEA NOT NULL,
	created   TIMESTAMPTZ NOT NULL,
	expires   TIMESTAMPTZ NOT NULL,
	used      BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX oauth_connect_codes_tenant ON oauth_connect_codes (tenant_id, expires);
