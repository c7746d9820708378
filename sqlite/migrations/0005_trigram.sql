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
-- are tenant-scoped. Triggers keep both tables in the same transaction as
-- every write, whatever code path writes.

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

CREATE TRIGGER resources_trgm_insert AFTER INSERT ON resources BEGIN
	INSERT INTO resources_trgm (rowid, name_lc) VALUES (NEW.seq, NEW.name_lc);
END;

-- Fires only for UPDATEs that set name_lc (the store writes only the
-- extracted columns that changed), and only if it did change.
CREATE TRIGGER resources_trgm_update AFTER UPDATE OF name_lc ON resources
WHEN OLD.name_lc IS NOT NEW.name_lc BEGIN
	DELETE FROM resources_trgm WHERE rowid = OLD.seq;
	INSERT INTO resources_trgm (rowid, name_lc) VALUES (NEW.seq, NEW.name_lc);
END;

CREATE TRIGGER resources_trgm_delete AFTER DELETE ON resources BEGIN
	DELETE FROM resources_trgm WHERE rowid = OLD.seq;
END;

-- A user's e-mail rows are rewritten together (delete all, insert each);
-- each row change rebuilds the user's one trigram row from the rows present.
-- Users have a handful of e-mails, so the repeated rebuilds stay small.
CREATE TRIGGER value_index_trgm_insert AFTER INSERT ON value_index WHEN NEW.attr = 'emails' BEGIN
	DELETE FROM emails_trgm WHERE rowid = NEW.res_seq;
	INSERT INTO emails_trgm (rowid, value_lc)
		SELECT NEW.res_seq, group_concat(value_lc, char(10)) FROM value_index
		WHERE tenant_id = NEW.tenant_id AND res_seq = NEW.res_seq AND attr = 'emails';
END;

CREATE TRIGGER value_index_trgm_delete AFTER DELETE ON value_index WHEN OLD.attr = 'emails' BEGIN
	DELETE FROM emails_trgm WHERE rowid = OLD.res_seq;
	INSERT INTO emails_trgm (rowid, value_lc)
		SELECT OLD.res_seq, group_concat(value_lc, char(10)) FROM value_index
		WHERE tenant_id = OLD.tenant_id AND res_seq = OLD.res_seq AND attr = 'emails'
		HAVING count(*) > 0;
END;
