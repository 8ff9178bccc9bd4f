-- Connector credentials and vendor endpoints. A credential's value is
-- sealed under the secrets key (AES-256-GCM, bound to "credential/NAME"),
-- never stored in the clear; key_id names the key that sealed it. A
-- credential belongs to the component of the security officer who stored
-- it ('' for department-wide), and only sources of that component use it.
CREATE TABLE credentials (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	component  TEXT NOT NULL DEFAULT '',
	sealed     BLOB NOT NULL,
	key_id     TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	updated_by TEXT NOT NULL,
	updated_at TIMESTAMP NOT NULL
);

-- Where a vendor API data source's connector calls, and how long it waits
-- for each attempt.
CREATE TABLE vendor_endpoints (
	source_id  INTEGER PRIMARY KEY REFERENCES data_sources (id),
	base_url   TEXT NOT NULL,
	timeout_ms INTEGER NOT NULL,
	updated_by TEXT NOT NULL,
	updated_at TIMESTAMP NOT NULL
);
