-- Connector credentials and vendor endpoints. A credential's value is
-- sealed under the secrets key (AES-256-GCM, bound to "credential/NAME"),
-- never stored in the clear; key_id names the key that sealed it. A
-- credential belongs to the component of the security officer who stored
-- it ('' for department-wide), and only sources of that component use it.
CREATE TABLE credentials (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name       text NOT NULL UNIQUE,
	component  text NOT NULL DEFAULT '',
	sealed     bytea NOT NULL,
	key_id     text NOT NULL,
	created_by text NOT NULL,
	created_at timestamptz NOT NULL,
	updated_by text NOT NULL,
	updated_at timestamptz NOT NULL
);

-- Where a vendor API data source's connector calls, and how long it waits
-- for each attempt.
CREATE TABLE vendor_endpoints (
	source_id  bigint PRIMARY KEY REFERENCES data_sources (id),
	base_url   text NOT NULL,
	timeout_ms integer NOT NULL,
	updated_by text NOT NULL,
	updated_at timestamptz NOT NULL
);
