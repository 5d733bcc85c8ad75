-- Schema version 1 of the script store (PRAGMA user_version = 1).
-- Applied by the supervisor (supervisor/store.cc) inside one transaction;
-- embedded into wfpd by tools/embedded.S. Every name and value reaching
-- these tables is bound, never spliced; the C++ checks (names.h) are the
-- gate, the CHECKs below only keep a hand-edited database honest.
--
-- Ids are numeric everywhere and bindings hold ids, so renaming a namespace
-- or worker changes one row. AUTOINCREMENT is deliberate: a tenant is
-- (namespace id, script id), and sandboxes, cache files and logs key on it;
-- a deleted id must never come back as somebody else's tenant.
-- Small columns come before source and bytecode, so listing rows does not
-- read the big values' overflow pages.

CREATE TABLE namespaces (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT    NOT NULL UNIQUE
              CHECK (length(name) BETWEEN 1 AND 63
                     AND name GLOB '[a-z0-9]*'
                     AND name NOT GLOB '*[^a-z0-9_-]*'),
  trusted     INTEGER NOT NULL DEFAULT 0 CHECK (trusted IN (0, 1)),
  created_on  TEXT    NOT NULL,
  modified_on TEXT    NOT NULL
) STRICT;

-- Platform workers: the dispatch worker, outbound workers, shared services.
CREATE TABLE workers (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT    NOT NULL UNIQUE
              CHECK (length(name) BETWEEN 1 AND 63
                     AND name GLOB '[a-z0-9]*'
                     AND name NOT GLOB '*[^a-z0-9_-]*'),
  format      TEXT    NOT NULL,
  build_id    TEXT    NOT NULL DEFAULT '',
  etag        TEXT    NOT NULL,
  created_on  TEXT    NOT NULL,
  modified_on TEXT    NOT NULL,
  source      TEXT    NOT NULL,
  bytecode    BLOB    NOT NULL DEFAULT x''
) STRICT;

-- User workers. UNIQUE (namespace_id, name) is also the index that listing
-- pages through (keyset on name) and that counts a namespace's scripts.
CREATE TABLE scripts (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace_id INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
  name         TEXT    NOT NULL
               CHECK (length(name) BETWEEN 1 AND 63
                      AND name GLOB '[a-z0-9]*'
                      AND name NOT GLOB '*[^a-z0-9_-]*'),
  format       TEXT    NOT NULL,
  build_id     TEXT    NOT NULL DEFAULT '',
  cpu_ms       INTEGER NOT NULL DEFAULT 0 CHECK (cpu_ms >= 0),
  subrequests  INTEGER NOT NULL DEFAULT 0 CHECK (subrequests >= 0),
  etag         TEXT    NOT NULL,
  created_on   TEXT    NOT NULL,
  modified_on  TEXT    NOT NULL,
  source       TEXT    NOT NULL,
  bytecode     BLOB    NOT NULL DEFAULT x'',
  UNIQUE (namespace_id, name)
) STRICT;

CREATE TABLE script_tags (
  script_id INTEGER NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
  tag       TEXT    NOT NULL CHECK (length(tag) BETWEEN 1 AND 64),
  PRIMARY KEY (script_id, tag)
) STRICT, WITHOUT ROWID;
-- For "delete every script with tag T" and tag-first lookups.
CREATE INDEX script_tags_by_tag ON script_tags (tag, script_id);

-- A binding's target is a real foreign key per kind rather than one untyped
-- target_id, so SQLite itself refuses to delete a namespace or worker that
-- a binding still names (NO ACTION: checked at the end of the statement,
-- which lets a worker that binds itself be deleted with its bindings).
CREATE TABLE script_bindings (
  script_id        INTEGER NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
  position         INTEGER NOT NULL,
  type             TEXT    NOT NULL
                   CHECK (type IN ('plain_text', 'secret_text', 'json', 'service')),
  name             TEXT    NOT NULL,
  text             TEXT    NOT NULL DEFAULT '',
  target_worker_id INTEGER REFERENCES workers (id),
  PRIMARY KEY (script_id, name),
  CHECK ((type = 'service') = (target_worker_id IS NOT NULL))
) STRICT;
CREATE INDEX script_bindings_by_worker ON script_bindings (target_worker_id);

CREATE TABLE worker_bindings (
  worker_id           INTEGER NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
  position            INTEGER NOT NULL,
  type                TEXT    NOT NULL
                      CHECK (type IN ('plain_text', 'secret_text', 'json', 'service',
                                      'dispatch_namespace')),
  name                TEXT    NOT NULL,
  text                TEXT    NOT NULL DEFAULT '',
  target_worker_id    INTEGER REFERENCES workers (id),
  target_namespace_id INTEGER REFERENCES namespaces (id),
  PRIMARY KEY (worker_id, name),
  CHECK ((type = 'service') = (target_worker_id IS NOT NULL)),
  CHECK ((type = 'dispatch_namespace') = (target_namespace_id IS NOT NULL))
) STRICT;
CREATE INDEX worker_bindings_by_worker ON worker_bindings (target_worker_id);
CREATE INDEX worker_bindings_by_namespace ON worker_bindings (target_namespace_id);

-- Patterns are stored normalised (host part in lower case), so UNIQUE
-- catches "Example.com/*" against "example.com/*".
CREATE TABLE routes (
  id        INTEGER PRIMARY KEY,
  pattern   TEXT    NOT NULL UNIQUE,
  worker_id INTEGER NOT NULL REFERENCES workers (id)
) STRICT;
CREATE INDEX routes_by_worker ON routes (worker_id);
