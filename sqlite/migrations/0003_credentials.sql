-- 0003: Basic credentials and the per-tenant OAuth 2.0 authorization server.
-- Secrets are never stored: passwords as argon2id PHC strings, codes, tokens
-- and client secrets as SHA-256 of their random secret part. Key ids
-- (code_id, token_id) are global, like tokens.token_id: the string a client
-- presents names its record.

CREATE TABLE basic_credentials (
	credential_id TEXT PRIMARY KEY,
	tenant_id     TEXT NOT NULL,
	username      TEXT NOT NULL,
	hash          TEXT NOT NULL,
	created       TEXT NOT NULL,
	last_used     TEXT,
	revoked       INTEGER NOT NULL DEFAULT 0
);
-- One live credential per username and tenant; revoked ones may repeat.
CREATE UNIQUE INDEX basic_credentials_username ON basic_credentials (tenant_id, username) WHERE revoked = 0;
CREATE INDEX basic_credentials_tenant ON basic_credentials (tenant_id, created);

CREATE TABLE oauth_clients (
	client_id     TEXT PRIMARY KEY,
	tenant_id     TEXT NOT NULL,
	name          TEXT NOT NULL,
	secret_hash   BLOB NOT NULL,
	redirect_uris TEXT NOT NULL, -- JSON array of strings
	grants        TEXT NOT NULL, -- JSON array of strings
	okta_app      TEXT NOT NULL DEFAULT '',
	created       TEXT NOT NULL,
	revoked       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX oauth_clients_tenant ON oauth_clients (tenant_id, created);

CREATE TABLE oauth_codes (
	code_id          TEXT PRIMARY KEY,
	tenant_id        TEXT NOT NULL,
	client_id        TEXT NOT NULL,
	hash             BLOB NOT NULL,
	redirect_uri     TEXT NOT NULL,
	scope            TEXT NOT NULL,
	challenge        TEXT NOT NULL,
	challenge_method TEXT NOT NULL,
	family           TEXT NOT NULL,
	created          TEXT NOT NULL,
	expires          TEXT NOT NULL,
	used             INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX oauth_codes_family ON oauth_codes (tenant_id, family);
CREATE INDEX oauth_codes_expires ON oauth_codes (expires);

CREATE TABLE oauth_tokens (
	token_id  TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	client_id TEXT NOT NULL,
	kind      TEXT NOT NULL, -- 'access' or 'refresh'
	hash      BLOB NOT NULL,
	family    TEXT NOT NULL,
	scope     TEXT NOT NULL,
	created   TEXT NOT NULL,
	expires   TEXT NOT NULL,
	last_used TEXT,
	rotated   INTEGER NOT NULL DEFAULT 0,
	revoked   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX oauth_tokens_family ON oauth_tokens (tenant_id, family);
CREATE INDEX oauth_tokens_client ON oauth_tokens (tenant_id, client_id);
CREATE INDEX oauth_tokens_expires ON oauth_tokens (expires);

CREATE TABLE oauth_admins (
	tenant_id     TEXT PRIMARY KEY,
	password_hash TEXT NOT NULL,
	updated       TEXT NOT NULL
);

CREATE TABLE oauth_connect_codes (
	code_id   TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	hash      BLOB NOT NULL,
	created   TEXT NOT NULL,
	expires   TEXT NOT NULL,
	used      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX oauth_connect_codes_tenant ON oauth_connect_codes (tenant_id, expires);
