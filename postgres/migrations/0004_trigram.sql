-- 0004: trigram indexes for co / sw / ew filters (internal/sqlbuild).
-- LIKE '%x%' is served by no btree: before this, "emails[type eq "work"
-- and value co "@example"]" read every e-mail row of the tenant. pg_trgm's
-- GIN operator class answers LIKE (any pattern with a run of 3 or more
-- characters) from the index, rechecking each candidate, so results are
-- those of the plain LIKE. The compiler needs no change for PostgreSQL.
--
-- pg_trgm is a contrib module, trusted since PostgreSQL 13: the owner of
-- the database may create it. Where it is missing or may not be created
-- (a managed service without contrib, a role without CREATE on the
-- database), the migration creates no index and raises a NOTICE instead of
-- failing: scimd works as before, co / sw / ew scanning as they did. To add
-- the indexes later, create the extension as a privileged role and run the
-- four CREATE INDEX statements below (docs/postgres.md, "Filters").
DO $$
BEGIN
	BEGIN
		CREATE EXTENSION IF NOT EXISTS pg_trgm;
	EXCEPTION WHEN OTHERS THEN
		RAISE NOTICE 'scimd: pg_trgm is not available (%); co/sw/ew filters will not use trigram indexes', SQLERRM;
		RETURN;
	END;
	CREATE INDEX IF NOT EXISTS value_index_value_trgm ON value_index USING gin (value_lc gin_trgm_ops);
	CREATE INDEX IF NOT EXISTS resources_name_trgm ON resources USING gin (name_lc gin_trgm_ops);
	CREATE INDEX IF NOT EXISTS resources_display_trgm ON resources USING gin (display_lc gin_trgm_ops);
	CREATE INDEX IF NOT EXISTS resources_external_id_trgm ON resources USING gin (external_id gin_trgm_ops);
END
$$;
