-- 0005: meta.lastModified indexed beside resources, not in it.
--
-- PostgreSQL can update a row without touching any of its table's indexes
-- (a HOT update: the new version goes on the same page, the old index
-- entries lead to it) only when no indexed column changes. Every write of
-- a resource changes last_modified, so while resources_modified indexed it
-- no update was HOT: a PATCH of "active" inserted new entries into all ten
-- indexes of resources, the three pg_trgm GIN indexes included. The index
-- now lives in resource_modified, one narrow row per resource written in
-- the same statement as the resource (postgres/resource.go); a filter on
-- meta.lastModified selects r.seq from it (sqlbuild.Dialect.ModifiedIndex).
-- resources keeps its last_modified column, unindexed, for reading and
-- sorting.
--
-- fillfactor leaves room on each page for the new versions of HOT updates.
-- It applies to pages written from now on; VACUUM FULL resources (which
-- locks the table) repacks existing ones (docs/postgres.md).
--
-- No foreign key to resources: its check would lock the new resource row
-- on every create. Deletes remove the row explicitly; seq is never reused,
-- so a row left behind could match no resource.
CREATE TABLE resource_modified (
	res_seq       BIGINT PRIMARY KEY,
	tenant_id     TEXT COLLATE "C" NOT NULL,
	last_modified TIMESTAMPTZ NOT NULL
);
INSERT INTO resource_modified (res_seq, tenant_id, last_modified)
	SELECT seq, tenant_id, last_modified FROM resources;
CREATE INDEX resource_modified_at ON resource_modified (tenant_id, last_modified, res_seq);
DROP INDEX resources_modified;
ALTER TABLE resources SET (fillfactor = 85);
