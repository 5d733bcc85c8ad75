-- Schema version 3: outbound workers. A platform worker's
-- dispatch_namespace binding may name an outbound worker: every fetch() of
-- the user workers reached through that binding goes to it first, and it
-- receives the parameters the dispatcher passes in get(…, {outbound: {…}})
-- under the names kept here (a JSON array of JavaScript identifiers, or ''
-- for none). Like target_worker_id it is a real foreign key, so SQLite
-- itself refuses to delete a worker some binding still sends fetches to.
-- (ALTER TABLE can add a REFERENCES column only with a NULL default, and
-- SQLite checks each new CHECK against the rows already there.)
ALTER TABLE worker_bindings ADD COLUMN outbound_worker_id INTEGER REFERENCES workers (id)
  CHECK (outbound_worker_id IS NULL OR type = 'dispatch_namespace');
ALTER TABLE worker_bindings ADD COLUMN outbound_params TEXT NOT NULL DEFAULT ''
  CHECK (outbound_params = '' OR outbound_worker_id IS NOT NULL);
CREATE INDEX worker_bindings_by_outbound ON worker_bindings (outbound_worker_id);
