-- Installation identity: marks the database as Probity's and holds the
-- ledger's origin and current verifier key.
CREATE TABLE probity_meta (
	key   text PRIMARY KEY,
	value text NOT NULL
);

-- The ledger: one row per integrated record, in index order. hashes holds
-- the record's stored hashes (tlog.StoredHashes), 32 bytes each; mac
-- authenticates the row; pending_id links it to the pending row it came from.
CREATE TABLE ledger_entries (
	idx        bigint PRIMARY KEY,
	entry      bytea NOT NULL,
	hashes     bytea NOT NULL,
	mac        bytea NOT NULL,
	pending_id bigint UNIQUE
);

-- Entries written by callers' transactions, durable but not yet given an
-- index. The elected sequencer moves them into ledger_entries in batches.
CREATE TABLE ledger_pending (
	id    bigserial PRIMARY KEY,
	entry bytea NOT NULL
);

-- The integrated size, locked by the sequencer for each batch: a fence
-- against two sequencers ever extending the tree from different states.
CREATE TABLE ledger_state (
	id   integer PRIMARY KEY CHECK (id = 1),
	size bigint NOT NULL
);
INSERT INTO ledger_state (id, size) VALUES (1, 0);

-- Every signed checkpoint the ledger has published.
CREATE TABLE ledger_checkpoints (
	size       bigint PRIMARY KEY,
	note       bytea NOT NULL,
	created_at timestamptz NOT NULL
);

-- Every key that has signed checkpoints, oldest first.
CREATE TABLE ledger_keys (
	verifier_key text PRIMARY KEY,
	from_size    bigint NOT NULL,
	created_at   timestamptz NOT NULL
);

-- Installation settings, changed only through the audited write path.
CREATE TABLE settings (
	name       text PRIMARY KEY,
	value      text NOT NULL,
	updated_at timestamptz NOT NULL,
	updated_by text NOT NULL
);

-- Wake the sequencer, in whichever replica holds the lock, when entries
-- commit: NOTIFY is delivered only if the transaction commits.
CREATE FUNCTION probity_ledger_pending_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('probity_ledger_pending', current_schema());
	RETURN NULL;
END;
$$;
CREATE TRIGGER ledger_pending_notify AFTER INSERT ON ledger_pending
	FOR EACH STATEMENT EXECUTE FUNCTION probity_ledger_pending_notify();
