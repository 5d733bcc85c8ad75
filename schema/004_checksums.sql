-- Schema version 4: a checksum on every script and platform worker row.
-- SQLite keeps no checksums of its pages and PRAGMA quick_check sees only
-- the structure of the file, so a bit flipped inside a stored value would
-- be served as code. The supervisor (supervisor/store.cc, row_checksum)
-- computes SHA-256 over the row's fields, each prefixed by its length,
-- writes it in the statement that writes them, and verifies it on every
-- read that returns code to be run; a row that fails is refused, never run.
--
-- Covered, for scripts: namespace_id, name, format, build_id, cpu_ms,
-- subrequests, source, bytecode, lowered, line_map (what the request path
-- loads and what changes behaviour). For workers: name, format, build_id,
-- source, bytecode, lowered, line_map. Not covered: etag, created_on,
-- modified_on and tags (metadata only), and bindings, which live in
-- their own tables.
--
-- The column is x'' only between this SQL and the C++ step of the same
-- migration, which fills it for every row already there: afterwards an
-- empty or wrong checksum is damage, never "not checked".
ALTER TABLE scripts ADD COLUMN checksum BLOB NOT NULL DEFAULT x'';
ALTER TABLE workers ADD COLUMN checksum BLOB NOT NULL DEFAULT x'';
