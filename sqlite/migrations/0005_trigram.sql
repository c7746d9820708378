-- 0005: trigram indexes for co / ew filters (internal/sqlbuild; sw is a
-- range of the columns' B-tree indexes already).
-- LIKE '%x%' is served by no B-tree: before this, "emails[type eq "work"
-- and value co "@example"]" read every e-mail row of the tenant. FTS5's
-- trigram tokenizer indexes every 3-character substring; a phrase query of
-- a string of >= 3 characters finds the rows containing it. The compiler
-- uses these tables only as a prefilter (rowid IN (... MATCH ...)) beside
-- the exact LIKE, so results never depend on FTS5's tokenisation rules.
--
-- case_sensitive 1: no folding at all. The folded columns hold
-- sqlbuild.Fold of the value already and the compiler folds the filter
-- value the same way. Only the folded userName/group name and e-mail values are indexed (see resources_trgm below).
--
-- Contentless (content=''), with contentless_delete=1 so a row can be
-- deleted by rowid without its old values: the text is not stored twice,
-- and the triggers need not know what was indexed before. The rowid is the
-- resource's seq (global, never reused), so the tables need no tenant_id:
-- the compiled query joins back to resources / value_index by seq, which
-- are tenant-scoped.
--
-- The tables are maintained off the write path. Writing to an FTS5 table
-- flushes a segment at every SAVEPOINT and COMMIT, and group commit gives
-- every write a savepoint: indexing inside each write cost ~40 % of a
-- create's CPU. Instead triggers record the seq of every resource whose
-- indexed text may have changed in trgm_pending (same transaction, one
-- small B-tree row), and the store re-indexes pending rows in batches
-- (sqlite/trigram.go): in the background every second, and before any
-- query that uses a trigram table, so that such a query sees every write
-- acknowledged before it began.

-- One row per resource: its folded unique name (userName of a User,
-- displayName of a Group). Only the attributes substring searches are made
-- on get a table: every write that changes an indexed column pays for a
-- new FTS5 segment entry (measured: PUT throughput halved when displayName
-- and externalId were indexed too), so displayName/externalId of Users keep
-- the plain LIKE.
CREATE VIRTUAL TABLE resources_trgm USING fts5(
	name_lc,
	content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 1'
);

-- One row per User with e-mails: its folded e-mail values joined by a
-- newline. A substring of one value is a substring of the joined text, so
-- the phrase query finds every user with a matching value (and possibly a
-- few whose match spans two values, which the exact LIKE on value_index
-- drops).
CREATE VIRTUAL TABLE emails_trgm USING fts5(
	value_lc,
	content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 1'
);

INSERT INTO resources_trgm (rowid, name_lc)
	SELECT seq, name_lc FROM resources;

INSERT INTO emails_trgm (rowid, value_lc)
	SELECT res_seq, group_concat(value_lc, char(10)) FROM value_index
	WHERE attr = 'emails' GROUP BY res_seq;

-- Rows whose trigram entries are stale: (re)indexed and removed from here
-- by sqlite/trigram.go. tenant_id finds a user's value_index rows.
CREATE TABLE trgm_pending (
	seq       INTEGER PRIMARY KEY,
	tenant_id TEXT NOT NULL
);

CREATE TRIGGER resources_trgm_insert AFTER INSERT ON resources BEGIN
	INSERT OR IGNORE INTO trgm_pending (seq, tenant_id) VALUES (NEW.seq, NEW.tenant_id);
END;

-- Fires only for UPDATEs that set name_lc (the store writes only the
-- extracted columns that changed), and only if it did change.
CREATE TRIGGER resources_trgm_update AFTER UPDATE OF name_lc ON resources
WHEN OLD.name_lc IS NOT NEW.name_lc BEGIN
	INSERT OR IGNORE INTO trgm_pending (seq, tenant_id) VALUES (NEW.seq, NEW.tenant_id);
END;

CREATE TRIGGER resources_trgm_delete AFTER DELETE ON resources BEGIN
	INSERT OR IGNORE INTO trgm_pending (seq, tenant_id) VALUES (OLD.seq, OLD.tenant_id);
END;

CREATE TRIGGER value_index_trgm_insert AFTER INSERT ON value_index WHEN NEW.attr = 'emails' BEGIN
	INSERT OR IGNORE INTO trgm_pending (seq, tenant_id) VALUES (NEW.res_seq, NEW.tenant_id);
END;

CREATE TRIGGER value_index_trgm_delete AFTER DELETE ON value_index WHEN OLD.attr = 'emails' BEGIN
	INSERT OR IGNORE INTO trgm_pending (seq, tenant_id) VALUES (OLD.res_seq, OLD.tenant_id);
END;
