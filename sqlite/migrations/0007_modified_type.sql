-- 0007: the resource_modified log keyed by type, and a count of its stale
-- rows per tenant (decisions.md, "SQLite: meta.lastModified in an
-- append-only log").
--
-- A meta.lastModified filter with many matches read every candidate's
-- resources row, to test its type and that its log row is current: ×5–10
-- the cost of the index the log replaced. Two changes let a filter on
-- meta.lastModified alone be counted and paged from the log itself:
--
-- * The log carries the resource's type, first in the key after the
--   tenant, as the old index resources_modified did: the rows of one
--   type's range are that type's resources. A type never changes, so this
--   costs the write path nothing but the column.
--
-- * tenant_changes.stale counts the log's rows beyond one per resource:
--   rows of the log minus resources of the tenant, kept by triggers on both
--   tables (+1 per row added to the log, -1 per row removed, -1 per
--   resource created, +1 per resource deleted), whatever code path writes
--   or prunes. Every resource has its current row (the invariant of 0006),
--   so stale is exactly the number of rows of superseded versions and
--   deleted resources; when it is 0, every row of the tenant's log is
--   current and the log alone answers exactly. The counter lives in the
--   row the write path already updates for gen, so it dirties no page more.
--
-- The log is rebuilt from resources: it then has no stale row, and every
-- tenant starts at stale = 0.

DROP TRIGGER resources_modified_insert;
DROP TRIGGER resources_modified_update;
DROP TABLE resource_modified;

CREATE TABLE resource_modified (
	tenant_id     TEXT NOT NULL,
	type          TEXT NOT NULL,
	last_modified TEXT NOT NULL,
	res_seq       INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, type, last_modified, res_seq)
) WITHOUT ROWID;

INSERT INTO resource_modified (tenant_id, type, last_modified, res_seq)
	SELECT tenant_id, type, last_modified, seq FROM resources;

ALTER TABLE tenant_changes ADD COLUMN stale INTEGER NOT NULL DEFAULT 0;

-- Tenants with resources but no change counter yet (no write since 0002)
-- get their row, with the gen a missing row reads as: a tenant with log
-- rows always has one, so that the counter is never missing.
INSERT OR IGNORE INTO tenant_changes (tenant_id, gen) SELECT DISTINCT tenant_id, 0 FROM resources;

CREATE TRIGGER resources_modified_insert AFTER INSERT ON resources BEGIN
	INSERT OR IGNORE INTO resource_modified (tenant_id, type, last_modified, res_seq)
		VALUES (NEW.tenant_id, NEW.type, NEW.last_modified, NEW.seq);
END;

CREATE TRIGGER resources_modified_update AFTER UPDATE OF last_modified ON resources
WHEN OLD.last_modified IS NOT NEW.last_modified BEGIN
	INSERT OR IGNORE INTO resource_modified (tenant_id, type, last_modified, res_seq)
		VALUES (NEW.tenant_id, NEW.type, NEW.last_modified, NEW.seq);
END;

-- AFTER INSERT does not fire for a row INSERT OR IGNORE left out.
CREATE TRIGGER resource_modified_stale_insert AFTER INSERT ON resource_modified BEGIN
	INSERT INTO tenant_changes (tenant_id, gen, stale) VALUES (NEW.tenant_id, 0, 1)
		ON CONFLICT (tenant_id) DO UPDATE SET stale = stale + 1;
END;

CREATE TRIGGER resource_modified_stale_delete AFTER DELETE ON resource_modified BEGIN
	INSERT INTO tenant_changes (tenant_id, gen, stale) VALUES (OLD.tenant_id, 0, -1)
		ON CONFLICT (tenant_id) DO UPDATE SET stale = stale - 1;
END;

-- The change counter's triggers of 0002 count the resources' side in the
-- same statement.
DROP TRIGGER resources_change_insert;
DROP TRIGGER resources_change_delete;

CREATE TRIGGER resources_change_insert AFTER INSERT ON resources BEGIN
	INSERT INTO tenant_changes (tenant_id, gen, stale) VALUES (NEW.tenant_id, 1, -1)
		ON CONFLICT (tenant_id) DO UPDATE SET gen = gen + 1, stale = stale - 1;
END;

CREATE TRIGGER resources_change_delete AFTER DELETE ON resources BEGIN
	INSERT INTO tenant_changes (tenant_id, gen, stale) VALUES (OLD.tenant_id, 1, 1)
		ON CONFLICT (tenant_id) DO UPDATE SET gen = gen + 1, stale = stale + 1;
END;
