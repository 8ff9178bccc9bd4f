-- The store watch: where each watched app's published versions are read,
-- the outcome of its last check, and every version seen published without
-- an approved release, once per app and version, with the alert it raised.

CREATE TABLE app_listings (
	app_id       INTEGER PRIMARY KEY REFERENCES apps (id),
	kind         TEXT NOT NULL CHECK (kind IN ('app_store', 'json')),
	url          TEXT NOT NULL DEFAULT '',
	bundle_id    TEXT NOT NULL DEFAULT '',
	country      TEXT NOT NULL DEFAULT '',
	version_path TEXT NOT NULL DEFAULT '',
	date_path    TEXT NOT NULL DEFAULT '',
	set_by       TEXT NOT NULL,
	set_at       TIMESTAMP NOT NULL,
	checked_at   TIMESTAMP,
	check_error  TEXT NOT NULL DEFAULT '',
	published    TEXT NOT NULL DEFAULT '[]',
	unapproved   TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE store_sightings (
	app_id   INTEGER NOT NULL REFERENCES apps (id),
	version  TEXT NOT NULL,
	seen_at  TIMESTAMP NOT NULL,
	alert_id INTEGER REFERENCES alerts (id),
	PRIMARY KEY (app_id, version)
);
