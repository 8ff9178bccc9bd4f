-- Protected places: agency facilities and sensitive locations (places of
-- worship, medical facilities, schools, shelters, courts …), imported a
-- file at a time; and employees' homes, kept only as keyed hashes
-- (HMAC-SHA256 under the home-cell key) of the S2 cells around them, never
-- as a location. A place or an import belongs to the component of the
-- privacy officer who imported it ('' for department-wide).
CREATE TABLE place_imports (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	component   text NOT NULL DEFAULT '',
	source      text NOT NULL,
	format      text NOT NULL CHECK (format IN ('geojson', 'csv')),
	digest      text NOT NULL,
	places      bigint NOT NULL,
	skipped     bigint NOT NULL DEFAULT 0,
	imported_by text NOT NULL,
	imported_at timestamptz NOT NULL
);

-- geometry is GeoJSON: a Polygon or MultiPolygon, or a Point with a
-- "radius_m" member for a circle.
CREATE TABLE places (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	import_id  bigint NOT NULL REFERENCES place_imports (id),
	component  text NOT NULL DEFAULT '',
	category   text NOT NULL CHECK (category IN ('agency_facility', 'place_of_worship', 'medical', 'school', 'shelter', 'court', 'social_services', 'diplomatic', 'other')),
	name       text NOT NULL DEFAULT '',
	ref        text NOT NULL DEFAULT '',
	geometry   text NOT NULL,
	created_at timestamptz NOT NULL
);
CREATE INDEX places_import ON places (import_id);
CREATE INDEX places_component ON places (component, category);

-- The key of the home-cell hashes, sealed under the secrets key
-- (AES-256-GCM, bound to "places/home-cell-key"); key_id names the
-- secrets key that sealed it. One row, written once.
CREATE TABLE place_home_key (
	id         bigint PRIMARY KEY CHECK (id = 1),
	sealed     bytea NOT NULL,
	key_id     text NOT NULL,
	created_at timestamptz NOT NULL
);

-- An employee's home: how far around it its cells reach, and its hashed
-- cells at each level (see places.HomeLevel). No coordinates.
CREATE TABLE employee_homes (
	person_id bigint PRIMARY KEY REFERENCES people (id),
	radius_m  double precision NOT NULL,
	cells     bigint NOT NULL,
	set_by    text NOT NULL,
	set_at    timestamptz NOT NULL
);

CREATE TABLE employee_home_cells (
	person_id bigint NOT NULL REFERENCES employee_homes (person_id),
	level     bigint NOT NULL,
	cell_hash bytea NOT NULL,
	PRIMARY KEY (person_id, level, cell_hash)
);

-- Every change to places or homes increments the version, so that every
-- server rebuilds its screening index.
CREATE TABLE places_version (
	id      bigint PRIMARY KEY CHECK (id = 1),
	version bigint NOT NULL
);
INSERT INTO places_version (id, version) VALUES (1, 0);
