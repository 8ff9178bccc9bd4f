-- Basemap layers: what maps are drawn over without a tile server (a
-- city's boundary, streets, districts, grounds), imported from GeoJSON
-- or TopoJSON files. A layer is one row: a map reads a layer whole and an
-- import replaces it whole, so its features are kept together in the
-- compact stored form of internal/basemap (quantized, delta-coded
-- coordinates, gzip-compressed) rather than a row each; the box and the
-- counts let pages fit a view and list layers without decoding them.
CREATE TABLE basemap_layers (
	id           INTEGER PRIMARY KEY,
	name         TEXT NOT NULL UNIQUE,
	source       TEXT NOT NULL,
	format       TEXT NOT NULL CHECK (format IN ('geojson', 'topojson')),
	digest       TEXT NOT NULL,
	features     INTEGER NOT NULL,
	vertices     INTEGER NOT NULL,
	skipped      INTEGER NOT NULL DEFAULT 0,
	min_lon      REAL NOT NULL,
	min_lat      REAL NOT NULL,
	max_lon      REAL NOT NULL,
	max_lat      REAL NOT NULL,
	draw_order   INTEGER NOT NULL DEFAULT 0,
	data         BLOB NOT NULL,
	stored_bytes INTEGER NOT NULL,
	revision     INTEGER NOT NULL,
	imported_by  TEXT NOT NULL,
	imported_at  TIMESTAMP NOT NULL
);
