package geo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseArea parses a query area from a GeoJSON document (RFC 7946): a
// Polygon or MultiPolygon geometry, or a Feature or a FeatureCollection
// holding exactly one such geometry, in WGS84 longitude/latitude. Foreign
// members such as "properties", "bbox", "id" or "name" are ignored; a
// legacy "crs" member must name WGS84 (CRS84 or EPSG:4326). Positions may
// carry an altitude, which is ignored.
//
// Validation is strict: the document must fit lim, every ring must be
// closed and have three distinct corners, coordinates must be in range,
// rings must neither cross nor touch themselves or each other, holes must lie
// inside their outer ring and not inside each other, the polygons of a
// MultiPolygon must not overlap, and the area must be non-zero and within
// lim.MaxAreaKm2. Ring orientation is not checked (RFC 7946 §3.1.6 asks
// parsers not to reject clockwise outer rings). Consecutive repeated
// positions are tolerated and dropped.
//
// Every refusal is an [*Error] locating the offending member.
func ParseArea(data []byte, lim Limits) (*Area, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, errorf("", "the document is %d bytes; the limit is %d", len(data), lim.MaxBytes)
	}
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		return nil, &Error{Message: "not valid JSON", Err: err}
	}
	return parseTop("", json.RawMessage(data), lim)
}

// objectPath turns a member prefix ("features[0].") into the path of the
// object itself ("features[0]").
func objectPath(prefix string) string { return strings.TrimSuffix(prefix, ".") }

// members decodes a JSON object into its members, refusing duplicates,
// which encoding/json would otherwise silently resolve to the last one.
func members(prefix string, raw json.RawMessage) (map[string]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errorf(objectPath(prefix), "want a GeoJSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, &Error{Path: objectPath(prefix), Message: "want a GeoJSON object", Err: err}
	}
	m := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, &Error{Path: objectPath(prefix), Message: "not valid JSON", Err: err}
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, &Error{Path: prefix + key, Message: "not valid JSON", Err: err}
		}
		if _, dup := m[key]; dup {
			return nil, errorf(prefix+key, "member appears more than once")
		}
		m[key] = v
	}
	return m, nil
}

// typeOf returns the object's "type" member.
func typeOf(prefix string, m map[string]json.RawMessage) (string, error) {
	raw, ok := m["type"]
	if !ok {
		return "", errorf(prefix+"type", "missing")
	}
	var t string
	if err := json.Unmarshal(raw, &t); err != nil {
		return "", errorf(prefix+"type", "want a string")
	}
	return t, nil
}

var wgs84Names = map[string]bool{
	"urn:ogc:def:crs:OGC:1.3:CRS84": true,
	"urn:ogc:def:crs:OGC::CRS84":    true,
	"urn:ogc:def:crs:EPSG::4326":    true,
	"EPSG:4326":                     true,
}

// checkCRS refuses a legacy (GeoJSON 2008) "crs" member naming anything
// but WGS84 longitude/latitude: such coordinates would pass the range
// checks only by accident.
func checkCRS(prefix string, m map[string]json.RawMessage) error {
	raw, ok := m["crs"]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	var crs struct {
		Properties struct {
			Name string `json:"name"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &crs); err != nil || !wgs84Names[crs.Properties.Name] {
		return errorf(prefix+"crs", "only WGS84 longitude/latitude (CRS84) is supported; reproject the area")
	}
	return nil
}

func parseTop(prefix string, raw json.RawMessage, lim Limits) (*Area, error) {
	m, err := members(prefix, raw)
	if err != nil {
		return nil, err
	}
	t, err := typeOf(prefix, m)
	if err != nil {
		return nil, err
	}
	if err := checkCRS(prefix, m); err != nil {
		return nil, err
	}
	switch t {
	case "FeatureCollection":
		var features []json.RawMessage
		if err := json.Unmarshal(m["features"], &features); err != nil || features == nil {
			return nil, errorf(prefix+"features", "want an array of features")
		}
		if len(features) != 1 {
			return nil, errorf(prefix+"features", "want exactly one feature, got %d", len(features))
		}
		fp := prefix + "features[0]."
		fm, err := members(fp, features[0])
		if err != nil {
			return nil, err
		}
		ft, err := typeOf(fp, fm)
		if err != nil {
			return nil, err
		}
		if ft != "Feature" {
			return nil, errorf(fp+"type", "want a Feature, got %s", quote(ft))
		}
		return parseFeature(fp, fm, lim)
	case "Feature":
		return parseFeature(prefix, m, lim)
	}
	return parseGeometry(prefix, t, m, lim)
}

func parseFeature(prefix string, m map[string]json.RawMessage, lim Limits) (*Area, error) {
	if err := checkCRS(prefix, m); err != nil {
		return nil, err
	}
	raw, ok := m["geometry"]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return nil, errorf(prefix+"geometry", "the feature has no geometry")
	}
	gp := prefix + "geometry."
	gm, err := members(gp, raw)
	if err != nil {
		return nil, err
	}
	t, err := typeOf(gp, gm)
	if err != nil {
		return nil, err
	}
	return parseGeometry(gp, t, gm, lim)
}

// quote quotes a user-supplied name for a message, shortened.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}

func parseGeometry(prefix, t string, m map[string]json.RawMessage, lim Limits) (*Area, error) {
	var depth int
	switch t {
	case "Polygon":
		depth = 3
	case "MultiPolygon":
		depth = 4
	case "Point", "MultiPoint", "LineString", "MultiLineString":
		return nil, errorf(prefix+"type", "a %s has no area; want a Polygon or MultiPolygon", t)
	case "GeometryCollection":
		return nil, errorf(prefix+"type", "a GeometryCollection is not supported; want a Polygon or MultiPolygon")
	case "Feature", "FeatureCollection":
		return nil, errorf(prefix+"type", "want a geometry, got a %s", t)
	default:
		return nil, errorf(prefix+"type", "unknown GeoJSON type %s; want a Polygon or MultiPolygon", quote(t))
	}
	if err := checkCRS(prefix, m); err != nil {
		return nil, err
	}
	raw, ok := m["coordinates"]
	if !ok {
		return nil, errorf(prefix+"coordinates", "missing")
	}
	var polys [][][][]float64
	if depth == 3 {
		var rings [][][]float64
		if err := json.Unmarshal(raw, &rings); err != nil {
			return nil, coordinateError(prefix+"coordinates", raw, depth, err)
		}
		polys = [][][][]float64{rings}
	} else if err := json.Unmarshal(raw, &polys); err != nil {
		return nil, coordinateError(prefix+"coordinates", raw, depth, err)
	}
	if polys == nil || depth == 3 && polys[0] == nil {
		return nil, errorf(prefix+"coordinates", "want an array, got null")
	}
	return newPolygons(prefix, depth == 4, polys, lim)
}

// coordinateError finds where coordinates of the given nesting depth (3
// for a Polygon: rings of positions of numbers) stop being well formed.
func coordinateError(path string, raw json.RawMessage, depth int, cause error) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return &Error{Path: path, Message: "not valid JSON", Err: err}
	}
	if e := walkCoordinates(path, v, depth); e != nil {
		return e
	}
	return &Error{Path: path, Message: "malformed coordinates", Err: cause}
}

func walkCoordinates(path string, v any, depth int) *Error {
	if depth == 0 {
		n, ok := v.(json.Number)
		if !ok {
			return errorf(path, "want a number")
		}
		if _, err := strconv.ParseFloat(string(n), 64); err != nil {
			return errorf(path, "number %s is out of range", quote(string(n)))
		}
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		return errorf(path, "want an array")
	}
	for i, x := range arr {
		if e := walkCoordinates(fmt.Sprintf("%s[%d]", path, i), x, depth-1); e != nil {
			return e
		}
	}
	return nil
}

// newPolygons validates decoded polygons and builds their [Area].
func newPolygons(prefix string, multi bool, in [][][][]float64, lim Limits) (*Area, error) {
	cpath := prefix + "coordinates"
	ringPath := func(k, r int) string {
		if multi {
			return fmt.Sprintf("%s[%d][%d]", cpath, k, r)
		}
		return fmt.Sprintf("%s[%d]", cpath, r)
	}
	if len(in) == 0 {
		return nil, errorf(cpath, "a MultiPolygon needs at least one polygon")
	}
	nrings, nverts := 0, 0
	for k, rings := range in {
		if len(rings) == 0 {
			if multi {
				return nil, errorf(fmt.Sprintf("%s[%d]", cpath, k), "a polygon needs an outer ring")
			}
			return nil, errorf(cpath, "a polygon needs an outer ring")
		}
		nrings += len(rings)
		for _, ring := range rings {
			nverts += max(len(ring)-1, 0)
		}
	}
	if nrings > lim.MaxRings {
		return nil, errorf(cpath, "too many rings: %d; the limit is %d", nrings, lim.MaxRings)
	}
	if nverts > lim.MaxVertices {
		return nil, errorf(cpath, "too many vertices: %d; the limit is %d", nverts, lim.MaxVertices)
	}

	a := &Area{minLat: math.Inf(1), maxLat: math.Inf(-1), minLon: math.Inf(1), maxLon: math.Inf(-1)}
	var rs []ringInfo
	for k, rings := range in {
		var poly [][]point
		for r, ring := range rings {
			path := ringPath(k, r)
			pts, orig, err := cleanRing(path, ring)
			if err != nil {
				return nil, err
			}
			for _, p := range pts {
				a.minLat, a.maxLat = math.Min(a.minLat, p.y), math.Max(a.maxLat, p.y)
				a.minLon, a.maxLon = math.Min(a.minLon, p.x), math.Max(a.maxLon, p.x)
			}
			poly = append(poly, pts)
			rs = append(rs, ringInfo{path: path, pts: pts, orig: orig, poly: k, hole: r > 0})
		}
		a.polys = append(a.polys, poly)
	}
	if err := checkCrossings(rs); err != nil {
		return nil, err
	}
	if err := checkNesting(a.polys, ringPath); err != nil {
		return nil, err
	}
	for _, poly := range a.polys {
		a.areaKm2 += ringAreaKm2(poly[0])
		for _, hole := range poly[1:] {
			a.areaKm2 -= ringAreaKm2(hole)
		}
	}
	if !(a.areaKm2 > 0) {
		return nil, errorf(cpath, "the area is zero")
	}
	if a.areaKm2 > lim.MaxAreaKm2 {
		return nil, errorf(cpath, "the area is %.1f km²; the limit is %g km²", a.areaKm2, lim.MaxAreaKm2)
	}
	a.idx = newEdgeIndex(a.polys, a.minLat, a.maxLat)
	return a, nil
}

// cleanRing checks one ring's positions and returns its distinct corners
// (without the closing repetition) and, for each, its position number in
// the input.
func cleanRing(path string, ring [][]float64) ([]point, []int, error) {
	if ring == nil {
		return nil, nil, errorf(path, "want an array of positions, got null")
	}
	if len(ring) < 4 {
		return nil, nil, errorf(path, "a ring needs at least 4 positions (3 corners and the first repeated to close it), got %d", len(ring))
	}
	for i, pos := range ring {
		pp := positionPath(path, i)
		if len(pos) != 2 && len(pos) != 3 {
			return nil, nil, errorf(pp(), "a position needs 2 or 3 numbers (longitude, latitude, optional altitude), got %d", len(pos))
		}
		lon, lat := pos[0], pos[1]
		switch {
		case math.IsNaN(lon) || math.IsInf(lon, 0):
			return nil, nil, errorf(pp(), "longitude is not a finite number")
		case math.IsNaN(lat) || math.IsInf(lat, 0):
			return nil, nil, errorf(pp(), "latitude is not a finite number")
		case lon < -180 || lon > 180:
			return nil, nil, errorf(pp(), "longitude %g is outside [-180, 180]", lon)
		case lat < -90 || lat > 90:
			return nil, nil, errorf(pp(), "latitude %g is outside [-90, 90]; positions are [longitude, latitude]", lat)
		}
	}
	first, last := ring[0], ring[len(ring)-1]
	if first[0] != last[0] || first[1] != last[1] {
		return nil, nil, errorf(path, "the ring is not closed: its last position must repeat its first")
	}
	pts := make([]point, 0, len(ring)-1)
	orig := make([]int, 0, len(ring)-1)
	for i, pos := range ring[:len(ring)-1] {
		p := point{pos[0], pos[1]}
		if len(pts) > 0 && pts[len(pts)-1] == p {
			continue
		}
		pts = append(pts, p)
		orig = append(orig, i)
	}
	for len(pts) > 1 && pts[len(pts)-1] == pts[0] {
		pts, orig = pts[:len(pts)-1], orig[:len(orig)-1]
	}
	if len(pts) < 3 {
		return nil, nil, errorf(path, "a ring needs at least 3 distinct corners, got %d", len(pts))
	}
	collinear := true
	for _, p := range pts[2:] {
		if orient(pts[0], pts[1], p) != 0 {
			collinear = false
			break
		}
	}
	if collinear {
		return nil, nil, errorf(path, "the ring has zero area: its corners lie on one line")
	}
	return pts, orig, nil
}

// positionPath returns a function formatting the path of position i, so
// that valid positions cost no formatting.
func positionPath(ring string, i int) func() string {
	return func() string { return fmt.Sprintf("%s[%d]", ring, i) }
}

// ringAreaKm2 returns the area enclosed by a ring whose edges are straight
// in longitude/latitude, on the sphere of radius EarthRadiusKm. By Green's
// theorem the area ∬ R² cos φ dφ dλ equals R² |∮ sin φ dλ|; along an edge φ
// is linear in λ, so the edge's term integrates exactly to
// Δλ·sin(φm)·sinc(Δφ/2), with φm the mean latitude (a form without the
// cancellation of (cos φ1 − cos φ2)/(φ2 − φ1)).
func ringAreaKm2(ring []point) float64 {
	const rad = math.Pi / 180
	var sum float64
	for i, a := range ring {
		b := ring[(i+1)%len(ring)]
		dl := (b.x - a.x) * rad
		h := (b.y - a.y) * rad / 2
		sinc := 1.0
		if h != 0 {
			sinc = math.Sin(h) / h
		}
		sum += dl * math.Sin((a.y+b.y)*rad/2) * sinc
	}
	return math.Abs(sum) * EarthRadiusKm * EarthRadiusKm
}
