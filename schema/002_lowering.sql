-- Schema version 2: modern source is lowered at deploy. Each script and
-- platform worker keeps, beside the source as deployed, the ES5 that
-- Duktape compiles (empty when the source needed no lowering) and the map
-- from its lines back to the original ones (a JSON array; empty likewise).
-- A build with another engine recompiles `lowered` (or `source`), never
-- the original modern source.
ALTER TABLE scripts ADD COLUMN lowered TEXT NOT NULL DEFAULT '';
ALTER TABLE scripts ADD COLUMN line_map TEXT NOT NULL DEFAULT '';
ALTER TABLE workers ADD COLUMN lowered TEXT NOT NULL DEFAULT '';
ALTER TABLE workers ADD COLUMN line_map TEXT NOT NULL DEFAULT '';
