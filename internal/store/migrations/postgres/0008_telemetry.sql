-- The local telemetry store: the devices and pings of data sources whose
-- connector is the local store, loaded by imports, and every import.

-- Devices, as each source identifies them. Pings refer to a device by id,
-- which keeps the identifier (up to 256 bytes) out of every ping row.
CREATE TABLE telemetry_devices (
	id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	source_id bigint NOT NULL REFERENCES data_sources (id),
	ident     text NOT NULL,
	UNIQUE (source_id, ident)
);

-- Pings, indexed for area search: the key leads with the 4-hour period of
-- the time (Unix milliseconds, UTC), then the level-16 S2 cell and
-- the time, so that an area search reads one short key range per period
-- and cell of its window and area. The rest of the key makes a ping unique
-- per device, time and position: importing it again is a duplicate.
-- The second index serves device history: one key range per hour. Both
-- indexes hold every column their queries read (index-only scans).
-- Leading with a period (an hour for device history) keeps an import's
-- inserts, which come roughly in time order, in a small part of each key
-- space, so that a batch rewrites few pages: on 4M time-ordered pings of
-- 20,000 devices, keying both by the day instead wrote 3.5 times the bytes
-- and took 1.7 times the CPU.
-- Rows are written only by the importer, which resolves their device in
-- the same transaction; foreign keys would double the cost of every insert.
CREATE TABLE telemetry_pings (
	source_id  bigint NOT NULL,
	period     bigint NOT NULL, -- t / 14,400,000
	hour       bigint NOT NULL, -- t / 3,600,000
	cell       bigint NOT NULL,
	t          bigint NOT NULL,
	device_id  bigint NOT NULL,
	lat        double precision NOT NULL,
	lon        double precision NOT NULL,
	accuracy_m double precision NOT NULL,
	PRIMARY KEY (source_id, period, cell, t, device_id, lat, lon)
);
CREATE INDEX telemetry_pings_device ON telemetry_pings (source_id, hour, device_id, t) INCLUDE (lat, lon, accuracy_m);

-- The hours (Unix milliseconds / 3,600,000) in which a source has pings:
-- searches visit only these, so a window of years over sparse data costs
-- what its hours with data cost.
CREATE TABLE telemetry_hours (
	source_id bigint NOT NULL,
	hour      bigint NOT NULL,
	PRIMARY KEY (source_id, hour)
);

-- Imports: one row per file or directory imported, written with its first
-- batch and updated by every later one, so that it always counts what has
-- been committed. status is running, complete, stopped (a bad row with
-- stop-on-error), failed (the input could not be read further) or
-- cancelled; a row left running was interrupted. t_min and t_max bound the
-- times of the pings committed (Unix milliseconds).
CREATE TABLE telemetry_imports (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	source_id   bigint NOT NULL REFERENCES data_sources (id),
	file_name   text NOT NULL,
	format      text NOT NULL,
	sha256      text NOT NULL,
	status      text NOT NULL,
	rows_read   bigint NOT NULL DEFAULT 0,
	inserted    bigint NOT NULL DEFAULT 0,
	duplicates  bigint NOT NULL DEFAULT 0,
	bad         bigint NOT NULL DEFAULT 0,
	t_min       bigint,
	t_max       bigint,
	error       text NOT NULL DEFAULT '',
	actor       text NOT NULL,
	started_at  timestamptz NOT NULL,
	finished_at timestamptz
);
CREATE INDEX telemetry_imports_source ON telemetry_imports (source_id, id);
