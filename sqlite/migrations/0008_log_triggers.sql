-- 0008: the write path's bookkeeping in fewer trigger programs
-- (decisions.md, "SQLite: meta.lastModified in an append-only log").
--
-- Since 0007 an update that changed last_modified ran three trigger
-- programs: resources_change_update (tenant_changes.gen + 1),
-- resources_modified_update (the log row) and, nested in it,
-- resource_modified_stale_insert (tenant_changes.stale + 1): two upserts of
-- the same tenant_changes row. A create ran resources_change_insert (gen
-- + 1, stale - 1) and resources_modified_insert with its nested stale
-- trigger as well. Each trigger program and each upsert is a cost on every
-- PATCH, PUT and create.
--
-- Now the trigger that appends the log row also counts it: changes()
-- after INSERT OR IGNORE is 1 if the row was added and 0 if it was
-- already there, so stale moves exactly as the log's own trigger moved it,
-- in the same upsert as gen. An update that leaves last_modified as it
-- was (or does not set it) bumps gen in resources_change_update, whose
-- WHEN makes the two update triggers exclusive. The log's delete trigger
-- (the pruner's rows, -1 each) stays, and so does the meaning of stale:
-- the log's rows minus the tenant's resources.

DROP TRIGGER resource_modified_stale_insert;
DROP TRIGGER resources_modified_insert;
DROP TRIGGER resources_modified_update;
DROP TRIGGER resources_change_insert;
DROP TRIGGER resources_change_update;

CREATE TRIGGER resources_insert_log AFTER INSERT ON resources BEGIN
	INSERT OR IGNORE INTO resource_modified (tenant_id, type, last_modified, res_seq)
		VALUES (NEW.tenant_id, NEW.type, NEW.last_modified, NEW.seq);
	-- One more resource (stale - 1), and one more log row if added.
	INSERT INTO tenant_changes (tenant_id, gen, stale) VALUES (NEW.tenant_id, 1, changes() - 1)
		ON CONFLICT (tenant_id) DO UPDATE SET gen = gen + 1, stale = stale + excluded.stale;
END;

CREATE TRIGGER resources_update_log AFTER UPDATE OF last_modified ON resources
WHEN OLD.last_modified IS NOT NEW.last_modified BEGIN
	INSERT OR IGNORE INTO resource_modified (tenant_id, type, last_modified, res_seq)
		VALUES (NEW.tenant_id, NEW.type, NEW.last_modified, NEW.seq);
	INSERT INTO tenant_changes (tenant_id, gen, stale) VALUES (NEW.tenant_id, 1, changes())
		ON CONFLICT (tenant_id) DO UPDATE SET gen = gen + 1, stale = stale + excluded.stale;
END;

CREATE TRIGGER resources_change_update AFTER UPDATE ON resources
WHEN OLD.last_modified IS NEW.last_modified BEGIN
	INSERT INTO tenant_changes (tenant_id, gen) VALUES (NEW.tenant_id, 1)
		ON CONFLICT (tenant_id) DO UPDATE SET gen = gen + 1;
END;
