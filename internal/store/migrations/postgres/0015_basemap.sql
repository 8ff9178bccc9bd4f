-- Basemap layers: what maps are drawn over without a tile server (a
-- city's boundary, streets, districts, grounds), imported from GeoJSON
-- or TopoJSON files. A layer is one row: a map reads a layer whole and an
-- import replaces it whole, so its features are kept together in the
-- compact stored form of internal/basemap (quantized, delta-coded
-- coordinates, gzip-compressed) rather than a row each; the box and the
-- counts let pages fit a view and list layers without decoding them.
CREATE TABLE basemap_layers (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name         text NOT NULL UNIQUE,
	source       text NOT NULL,
	format       text NOT NULL CHECK (format IN ('geojson', 'topojson')),
	digest       text NOT NULL,
	features     bigint NOT NULL,
	vertices     bigint NOT NULL,
	skipped      bigint NOT NULL DEFAULT 0,
	min_lon      double precision NOT NULL,
	min_lat      double precision NOT NULL,
	max_lon      double precision NOT NULL,
	max_lat      double precision NOT NULL,
	draw_order   bigint NOT NULL DEFAULT 0,
	data         bytea NOT NULL,
	stored_bytes bigint NOT NULL,
	revision     bigint NOT NULL,
	imported_by  text NOT NULL,
	imported_at  timestamptz NOT NULL
);
