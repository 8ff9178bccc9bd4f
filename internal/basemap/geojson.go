package basemap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ParseGeoJSON reads a layer from a GeoJSON FeatureCollection (RFC 7946),
// or a single Feature, in WGS84 longitude/latitude. Point, MultiPoint,
// LineString, MultiLineString, Polygon and MultiPolygon geometries are
// read; a feature without a geometry is skipped and counted. Polygon
// rings must be closed and hold at least four positions, as RFC 7946
// says; their winding is not checked (maps draw them with the even-odd
// rule). Problems name the feature by its position and its line.
func ParseGeoJSON(data []byte, opts Options) (*Layer, error) {
	o := opts.resolve()
	if len(data) > o.Limits.MaxBytes {
		return nil, fileError("the file is %d bytes; the limit is %d", len(data), o.Limits.MaxBytes)
	}
	if err := checkJSON(data); err != nil {
		return nil, err
	}
	features, err := topLevel(data, o.Limits.MaxFeatures)
	if err != nil {
		return nil, err
	}
	l := &Layer{Bounds: EmptyBounds()}
	b := budget{left: o.Limits.MaxVertices, max: o.Limits.MaxVertices}
	var ps problems
	line, lineOff := 1, 0
	for i, rf := range features {
		line += bytes.Count(data[lineOff:rf.off], []byte{'\n'})
		lineOff = rf.off
		f, located, fps := o.geoJSONFeature(rf.raw)
		for _, fp := range fps {
			fp.Feature, fp.Line = i, line
			ps.add(fp)
		}
		if len(fps) > 0 || !located {
			if len(fps) == 0 {
				l.Skipped++
			}
			continue
		}
		if !b.take(f.Vertices()) {
			return nil, b.error()
		}
		l.Features = append(l.Features, f)
		l.Bounds = l.Bounds.Union(f.Bounds)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return l, nil
}

// checkJSON refuses a document that is not valid JSON, with the line of
// the error.
func checkJSON(data []byte) error {
	if json.Valid(data) {
		return nil
	}
	var v any
	err := json.Unmarshal(data, &v)
	p := Problem{Feature: -1, Message: "not valid JSON"}
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		p.Line = lineAt(data, int(se.Offset))
		p.Message = "not valid JSON: " + strings.TrimPrefix(se.Error(), "json: ")
	}
	return &Error{Problems: []Problem{p}}
}

// lineAt returns the line of byte offset off.
func lineAt(data []byte, off int) int {
	off = min(max(off, 0), len(data))
	return 1 + bytes.Count(data[:off], []byte{'\n'})
}

// rawFeature is one element of "features", and where it starts.
type rawFeature struct {
	raw json.RawMessage
	off int
}

// topLevel reads a GeoJSON document's top level, checked to be valid
// JSON, and returns its features.
func topLevel(data []byte, maxFeatures int) ([]rawFeature, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fileError("want a GeoJSON FeatureCollection object")
	}
	var (
		typ      string
		features []rawFeature
		hasFeats bool
		seen     = map[string]bool{}
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fileError("not valid JSON")
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, fileError("the member %s appears more than once", quote(key))
		}
		seen[key] = true
		switch key {
		case "type":
			if err := dec.Decode(&typ); err != nil {
				return nil, fileError("type: want a string")
			}
		case "features":
			hasFeats = true
			if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
				return nil, fileError("features: want an array of features")
			}
			for dec.More() {
				if len(features) >= maxFeatures {
					return nil, fileError("the file holds more than %d features; the limit is %d (split it)", maxFeatures, maxFeatures)
				}
				off := int(dec.InputOffset())
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return nil, fileError("not valid JSON")
				}
				features = append(features, rawFeature{raw: raw, off: skipSpace(data, off)})
			}
			if _, err := dec.Token(); err != nil {
				return nil, fileError("not valid JSON")
			}
		case "crs":
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, fileError("not valid JSON")
			}
			if !wgs84(raw) {
				return nil, fileError("crs: only WGS84 longitude/latitude (CRS84) is supported; reproject the file")
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fileError("not valid JSON")
			}
		}
	}
	switch typ {
	case "FeatureCollection":
		if !hasFeats {
			return nil, fileError("features: missing; a FeatureCollection lists its features")
		}
		return features, nil
	case "Feature":
		return []rawFeature{{raw: data, off: skipSpace(data, 0)}}, nil
	case "Topology":
		return nil, fileError("this is a TopoJSON topology: import it as topojson")
	case "":
		return nil, fileError("type: missing; want a FeatureCollection")
	}
	return nil, fileError("want a FeatureCollection, got a %s", quote(typ))
}

// skipSpace returns the offset of the first byte at or after off that is
// neither JSON whitespace nor a comma.
func skipSpace(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
			continue
		}
		break
	}
	return off
}

var wgs84Names = map[string]bool{
	"urn:ogc:def:crs:OGC:1.3:CRS84": true,
	"urn:ogc:def:crs:OGC::CRS84":    true,
	"urn:ogc:def:crs:EPSG::4326":    true,
	"EPSG:4326":                     true,
}

// wgs84 reports whether a legacy "crs" member names WGS84 (or is null).
func wgs84(raw json.RawMessage) bool {
	if string(bytes.TrimSpace(raw)) == "null" {
		return true
	}
	var crs struct {
		Properties struct {
			Name string `json:"name"`
		} `json:"properties"`
	}
	return json.Unmarshal(raw, &crs) == nil && wgs84Names[crs.Properties.Name]
}

// properties reads a feature's name and class from its properties.
func (o Options) properties(raw json.RawMessage) (name, class string, problems []Problem) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", "", nil
	}
	props := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&props); err != nil {
		return "", "", []Problem{{Field: "properties", Message: "want an object"}}
	}
	switch v := props[o.NameProperty].(type) {
	case nil:
	case string:
		name = cleanName(v)
	case json.Number:
		name = v.String()
	default:
		problems = append(problems, Problem{Field: "properties." + o.NameProperty, Message: "want a string"})
	}
	switch v := props[o.ClassProperty].(type) {
	case nil:
	case string:
		class = CleanClass(v)
	case json.Number:
		class = CleanClass(v.String())
	default:
		problems = append(problems, Problem{Field: "properties." + o.ClassProperty, Message: "want a string"})
	}
	return name, class, problems
}

// geoJSONFeature turns one GeoJSON feature into a feature; located is
// false for one without a geometry, problems lists what is wrong, without
// position.
func (o Options) geoJSONFeature(raw json.RawMessage) (f Feature, located bool, problems []Problem) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return f, false, []Problem{{Message: "want a Feature object"}}
	}
	var g struct {
		Type       string          `json:"type"`
		Geometry   json.RawMessage `json:"geometry"`
		Properties json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return f, false, []Problem{{Field: te.Field, Message: "want a " + te.Type.String()}}
		}
		return f, false, []Problem{{Message: "want a Feature object"}}
	}
	if g.Type != "Feature" {
		return f, false, []Problem{{Field: "type", Message: fmt.Sprintf("want \"Feature\", got %s", quote(g.Type))}}
	}
	name, class, problems := o.properties(g.Properties)
	geom := bytes.TrimSpace(g.Geometry)
	if len(geom) == 0 || string(geom) == "null" {
		return f, false, problems
	}
	var gm struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if json.Unmarshal(geom, &gm) != nil {
		return f, false, append(problems, Problem{Field: "geometry", Message: "want a GeoJSON geometry object"})
	}
	kind, parts, p := geoJSONParts(gm.Type, gm.Coordinates, "geometry")
	if p != nil {
		return f, false, append(problems, *p)
	}
	if len(problems) > 0 {
		return f, false, problems
	}
	f, ok := finish(kind, name, class, parts)
	if !ok {
		return f, false, []Problem{{Field: "geometry.coordinates", Message: "every part is degenerate (its positions coincide)"}}
	}
	return f, true, nil
}

// geoJSONParts reads a geometry's coordinates as a feature's parts.
func geoJSONParts(typ string, coords json.RawMessage, prefix string) (Kind, [][]Pos, *Problem) {
	path := prefix + ".coordinates"
	bad := func(field, format string, args ...any) *Problem {
		return &Problem{Field: field, Message: fmt.Sprintf(format, args...)}
	}
	coords = bytes.TrimSpace(coords)
	if typ == "" {
		return 0, nil, bad(prefix+".type", "missing")
	}
	switch typ {
	case "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon":
	case "GeometryCollection":
		return 0, nil, bad(prefix+".type", "a GeometryCollection is not supported; make each geometry a feature of its own")
	default:
		return 0, nil, bad(prefix+".type", "unknown geometry type %s", quote(typ))
	}
	if len(coords) == 0 || string(coords) == "null" {
		return 0, nil, bad(path, "missing")
	}
	if bytes.IndexByte(coords, 'n') >= 0 {
		return 0, nil, bad(path, "a coordinate is null")
	}
	pos := func(p []float64, at string) (Pos, *Problem) {
		if len(p) < 2 {
			return Pos{}, bad(at, "a position needs longitude and latitude, got %d numbers", len(p))
		}
		q, msg := checkPos(p[0], p[1])
		if msg != "" {
			return Pos{}, bad(at, "%s", msg)
		}
		return q, nil
	}
	list := func(ps [][]float64, at string) ([]Pos, *Problem) {
		out := make([]Pos, len(ps))
		for i, p := range ps {
			q, bad := pos(p, fmt.Sprintf("%s[%d]", at, i))
			if bad != nil {
				return nil, bad
			}
			out[i] = q
		}
		return out, nil
	}
	line := func(ps [][]float64, at string) ([]Pos, *Problem) {
		if len(ps) < 2 {
			return nil, bad(at, "a line needs at least 2 positions, got %d", len(ps))
		}
		return list(ps, at)
	}
	ring := func(ps [][]float64, at string) ([]Pos, *Problem) {
		if len(ps) < 4 {
			return nil, bad(at, "a ring needs at least 4 positions (closed), got %d", len(ps))
		}
		out, p := list(ps, at)
		if p != nil {
			return nil, p
		}
		if out[0] != out[len(out)-1] {
			return nil, bad(at, "the ring is not closed: its last position must repeat its first")
		}
		return out, nil
	}
	unmarshal := func(v any, want string) *Problem {
		if err := json.Unmarshal(coords, v); err != nil {
			return bad(path, "want %s, as numbers", want)
		}
		return nil
	}
	switch typ {
	case "Point":
		var c []float64
		if p := unmarshal(&c, "[longitude, latitude]"); p != nil {
			return 0, nil, p
		}
		q, p := pos(c, path)
		if p != nil {
			return 0, nil, p
		}
		return Point, [][]Pos{{q}}, nil
	case "MultiPoint":
		var c [][]float64
		if p := unmarshal(&c, "[[longitude, latitude], …]"); p != nil {
			return 0, nil, p
		}
		if len(c) == 0 {
			return 0, nil, bad(path, "a MultiPoint needs at least one position")
		}
		parts := make([][]Pos, len(c))
		for i, x := range c {
			q, p := pos(x, fmt.Sprintf("%s[%d]", path, i))
			if p != nil {
				return 0, nil, p
			}
			parts[i] = []Pos{q}
		}
		return Point, parts, nil
	case "LineString":
		var c [][]float64
		if p := unmarshal(&c, "[[longitude, latitude], …]"); p != nil {
			return 0, nil, p
		}
		l, p := line(c, path)
		if p != nil {
			return 0, nil, p
		}
		return Line, [][]Pos{l}, nil
	case "MultiLineString":
		var c [][][]float64
		if p := unmarshal(&c, "[[[longitude, latitude], …], …]"); p != nil {
			return 0, nil, p
		}
		if len(c) == 0 {
			return 0, nil, bad(path, "a MultiLineString needs at least one line")
		}
		parts := make([][]Pos, len(c))
		for i, x := range c {
			l, p := line(x, fmt.Sprintf("%s[%d]", path, i))
			if p != nil {
				return 0, nil, p
			}
			parts[i] = l
		}
		return Line, parts, nil
	case "Polygon":
		var c [][][]float64
		if p := unmarshal(&c, "[[[longitude, latitude], …], …]"); p != nil {
			return 0, nil, p
		}
		if len(c) == 0 {
			return 0, nil, bad(path, "a Polygon needs at least one ring")
		}
		parts := make([][]Pos, len(c))
		for i, x := range c {
			r, p := ring(x, fmt.Sprintf("%s[%d]", path, i))
			if p != nil {
				return 0, nil, p
			}
			parts[i] = r
		}
		return Polygon, parts, nil
	default: // MultiPolygon
		var c [][][][]float64
		if p := unmarshal(&c, "[[[[longitude, latitude], …], …], …]"); p != nil {
			return 0, nil, p
		}
		if len(c) == 0 {
			return 0, nil, bad(path, "a MultiPolygon needs at least one polygon")
		}
		var parts [][]Pos
		for i, poly := range c {
			if len(poly) == 0 {
				return 0, nil, bad(fmt.Sprintf("%s[%d]", path, i), "a polygon needs at least one ring")
			}
			for j, x := range poly {
				r, p := ring(x, fmt.Sprintf("%s[%d][%d]", path, i, j))
				if p != nil {
					return 0, nil, p
				}
				parts = append(parts, r)
			}
		}
		return Polygon, parts, nil
	}
}
