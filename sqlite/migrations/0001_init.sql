-- 0001: tenants, tokens, resources, value index, memberships.
-- Every row carries tenant_id and every index on resource data begins with
-- it. Exceptions, by nature global: tenants.name (tenant lookup by name) and
-- tokens.token_id (a token names its tenant).

CREATE TABLE tenants (
	tenant_id TEXT PRIMARY KEY,
	name      TEXT NOT NULL,
	disabled  INTEGER NOT NULL DEFAULT 0,
	created   TEXT NOT NULL
);
CREATE UNIQUE INDEX tenants_name ON tenants (name);

CREATE TABLE tokens (
	token_id  TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	name      TEXT NOT NULL,
	hash      BLOB NOT NULL,
	created   TEXT NOT NULL,
	expires   TEXT,
	last_used TEXT,
	revoked   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_tenant ON tokens (tenant_id, token_id);

-- One row per resource. seq gives creation order (AUTOINCREMENT: never
-- reused). Extracted columns serve the filters IdPs send; see
-- internal/sqlbuild. doc is the JSON of Resource.Attrs (never members).
CREATE TABLE resources (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id     TEXT NOT NULL,
	id            TEXT NOT NULL,
	type          TEXT NOT NULL,
	external_id   TEXT,
	name_lc       TEXT,    -- folded userName (User) or displayName (Group)
	display_lc    TEXT,    -- folded displayName
	active        INTEGER, -- User.active: 0, 1 or NULL
	created       TEXT NOT NULL, -- sqlbuild.TimeLayout
	last_modified TEXT NOT NULL,
	version       INTEGER NOT NULL,
	member_count  INTEGER NOT NULL DEFAULT 0,
	schemas       TEXT NOT NULL, -- JSON array
	doc           TEXT NOT NULL  -- JSON object
);
CREATE UNIQUE INDEX resources_id ON resources (tenant_id, id);
-- Uniqueness of userName (Users) and displayName (Groups) per tenant,
-- case-insensitively; also the index for "userName eq" and Group
-- "displayName eq".
CREATE UNIQUE INDEX resources_name ON resources (tenant_id, type, name_lc);
CREATE INDEX resources_type_seq ON resources (tenant_id, type, seq);
CREATE INDEX resources_external_id ON resources (tenant_id, type, external_id);
CREATE INDEX resources_display ON resources (tenant_id, type, display_lc);
CREATE INDEX resources_modified ON resources (tenant_id, type, last_modified);

-- Folded values of indexed multi-valued sub-attributes (emails), one row per
-- value, so "emails.value eq" and emails[type eq "work"].value eq are index
-- lookups.
CREATE TABLE value_index (
	tenant_id TEXT NOT NULL,
	res_seq   INTEGER NOT NULL,
	attr      TEXT NOT NULL,
	ord       INTEGER NOT NULL,
	type_lc   TEXT,
	value_lc  TEXT,
	PRIMARY KEY (tenant_id, res_seq, attr, ord)
) WITHOUT ROWID;
CREATE INDEX value_index_value ON value_index (tenant_id, attr, value_lc, type_lc);

-- Group membership: one row per (group, member). seq keeps insertion order.
CREATE TABLE memberships (
	seq         INTEGER PRIMARY KEY,
	tenant_id   TEXT NOT NULL,
	group_id    TEXT NOT NULL,
	member_id   TEXT NOT NULL,
	member_type TEXT NOT NULL,
	display     TEXT,
	FOREIGN KEY (tenant_id, group_id) REFERENCES resources (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, member_id) REFERENCES resources (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX memberships_group ON memberships (tenant_id, group_id, member_id);
CREATE INDEX memberships_member ON memberships (tenant_id, member_id, group_id);
