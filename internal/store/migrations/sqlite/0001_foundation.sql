-- Installation identity: marks the database as Probity's and holds the
-- ledger's origin and current verifier key.
CREATE TABLE probity_meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- The ledger: one row per record, in index order. hashes holds the record's
-- stored hashes (tlog.StoredHashes: the record hash, then the root of every
-- subtree the record completes), 32 bytes each; mac authenticates the row.
CREATE TABLE ledger_entries (
	idx    INTEGER PRIMARY KEY,
	entry  BLOB NOT NULL,
	hashes BLOB NOT NULL,
	mac    BLOB NOT NULL
);

-- Every signed checkpoint the ledger has published.
CREATE TABLE ledger_checkpoints (
	size       INTEGER PRIMARY KEY,
	note       BLOB NOT NULL,
	created_at TIMESTAMP NOT NULL
);

-- Every key that has signed checkpoints, oldest first.
CREATE TABLE ledger_keys (
	verifier_key TEXT PRIMARY KEY,
	from_size    INTEGER NOT NULL,
	created_at   TIMESTAMP NOT NULL
);

-- Installation settings, changed only through the audited write path.
CREATE TABLE settings (
	name       TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	updated_by TEXT NOT NULL
);
