-- 0006: no planner statistics for the stored documents.
--
-- ANALYZE (scimd's own, postgres/analyze.go, and autovacuum's) samples up
-- to 30,000 rows of resources and, by default, computes statistics for
-- every column. For doc and schemas, jsonb documents of a kilobyte or so,
-- that was half of its time (100,000 users: 293 → 132–148 ms) and of no
-- use: filters read doc through expressions (doc #>> '{…}'), whose
-- selectivity the planner cannot take from the column's statistics, and
-- nothing filters on schemas. A statistics target of 0 leaves them out.
-- (CockroachDB does not know SET STATISTICS: see docs/postgres.md.)

ALTER TABLE resources ALTER COLUMN doc SET STATISTICS 0;
ALTER TABLE resources ALTER COLUMN schemas SET STATISTICS 0;
