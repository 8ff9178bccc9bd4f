-- The store watch: where each watched app's published versions are read,
-- the outcome of its last check, and every version seen published without
-- an approved release, once per app and version, with the alert it raised.

CREATE TABLE app_listings (
	app_id       bigint PRIMARY KEY REFERENCES apps (id),
	kind         text NOT NULL CHECK (kind IN ('app_store', 'json')),
	url          text NOT NULL DEFAULT '',
	bundle_id    text NOT NULL DEFAULT '',
	country      text NOT NULL DEFAULT '',
	version_path text NOT NULL DEFAULT '',
	date_path    text NOT NULL DEFAULT '',
	set_by       text NOT NULL,
	set_at       timestamptz NOT NULL,
	checked_at   timestamptz,
	check_error  text NOT NULL DEFAULT '',
	published    text NOT NULL DEFAULT '[]',
	unapproved   text NOT NULL DEFAULT '[]'
);

CREATE TABLE store_sightings (
	app_id   bigint NOT NULL REFERENCES apps (id),
	version  text NOT NULL,
	seen_at  timestamptz NOT NULL,
	alert_id bigint REFERENCES alerts (id),
	PRIMARY KEY (app_id, version)
);
