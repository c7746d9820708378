-- 0002: per-(tenant, type) resource counts, so that totalResults of an
-- unfiltered list is one row read instead of count(*) over the tenant.
-- Triggers keep the counts in the same transaction as every insert and
-- delete of a resource, whatever code path writes (resources never change
-- tenant or type). In SQLite writes are serialised anyway, so the single
-- counter row per (tenant, type) costs one B-tree update per create/delete.

CREATE TABLE resource_counts (
	tenant_id TEXT NOT NULL,
	type      TEXT NOT NULL,
	n         INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, type)
) WITHOUT ROWID;

INSERT INTO resource_counts (tenant_id, type, n)
	SELECT tenant_id, type, count(*) FROM resources GROUP BY tenant_id, type;

CREATE TRIGGER resources_count_insert AFTER INSERT ON resources BEGIN
	INSERT INTO resource_counts (tenant_id, type, n) VALUES (NEW.tenant_id, NEW.type, 1)
		ON CONFLICT (tenant_id, type) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER resources_count_delete AFTER DELETE ON resources BEGIN
	UPDATE resource_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND type = OLD.type;
END;

-- A per-tenant change counter, bumped by every insert, update and delete of
-- a resource (membership changes always update the group's row too). List
-- reads it in the same snapshot as the data to tell whether a cached count
-- of a filtered query is still exact.
CREATE TABLE tenant_changes (
	tenant_id TEXT PRIMARY KEY,
	gen       INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER resources_change_insert AFTER INSERT ON resources BEGIN
	INSERT INTO tenant_changes (tenant_id, gen) VALUES (NEW.tenant_id, 1)
		ON CONFLICT (tenant_id) DO UPDATE SET gen = gen + 1;
END;

CREATE TRIGGER resources_change_update AFTER UPDATE ON resources BEGIN
	INSERT INTO tenant_changes (tenant_id, gen) VALUES (NEW.tenant_id, 1)
		ON CONFLICT (tenant_id) DO UPDATE SET gen = gen + 1;
END;

CREATE TRIGGER resources_change_delete AFTER DELETE ON resources BEGIN
	INSERT INTO tenant_changes (tenant_id, gen) VALUES (OLD.tenant_id, 1)
		ON CONFLICT (tenant_id) DO UPDATE SET gen = gen + 1;
END;
