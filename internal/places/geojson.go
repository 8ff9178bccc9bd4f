package places

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/probity-dev/probity/internal/geo"
)

// ParseGeoJSON reads places from a GeoJSON FeatureCollection (RFC 7946),
// or a single Feature, in WGS84 longitude/latitude. A Point feature is a
// circle: its radius is the radius property, or the default radius of its
// category. A Polygon or MultiPolygon feature is its area, validated as
// strictly as a query area (see [geo.ParseArea]). The category comes from
// the category properties (see [Options]); the name and the source's
// identifier from the name and id properties (the feature's "id" member
// first). Problems name the feature by its position and its line.
func ParseGeoJSON(data []byte, opts Options) (*Batch, error) {
	r, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	if len(data) > r.Limits.MaxBytes {
		return nil, fileError("the file is %d bytes; the limit is %d", len(data), r.Limits.MaxBytes)
	}
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		p := Problem{Feature: -1, Message: "not valid JSON"}
		if se, ok := errors.AsType[*json.SyntaxError](err); ok {
			p.Line = lineAt(data, int(se.Offset))
			p.Message = "not valid JSON: " + strings.TrimPrefix(se.Error(), "json: ")
		}
		return nil, &Error{Problems: []Problem{p}}
	}
	features, err := topLevel(data, r.Limits.MaxPlaces)
	if err != nil {
		return nil, err
	}
	b := &Batch{Format: GeoJSON, Digest: digest(data)}
	var ps problems
	var sk skipped
	line, lineOff := 1, 0
	for i, f := range features {
		line += bytes.Count(data[lineOff:f.off], []byte{'\n'})
		lineOff = f.off
		p, value, skip, fps := r.feature(f.raw)
		if skip && r.SkipUnmapped {
			sk.add(value)
			continue
		}
		for _, fp := range fps {
			fp.Feature, fp.Line = i, line
			ps.add(fp)
		}
		if len(fps) == 0 {
			b.Places = append(b.Places, p)
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	b.Skipped, b.SkippedValues = sk.n, sk.top()
	return b, nil
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

// topLevel reads the document's top level, checked to be valid JSON, and
// returns its features.
func topLevel(data []byte, maxPlaces int) ([]rawFeature, error) {
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
				if tok == nil {
					return nil, fileError("features: want an array of features, got null")
				}
				return nil, fileError("features: want an array of features")
			}
			for dec.More() {
				if len(features) >= maxPlaces {
					return nil, fileError("the file holds more than %d features; the limit is %d (split it)", maxPlaces, maxPlaces)
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
	case "":
		return nil, fileError("type: missing; want a FeatureCollection")
	}
	return nil, fileError("want a FeatureCollection of places, got a %s", quote(typ))
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

// feature turns one feature into a place. skip reports a place without a
// protected category, which SkipUnmapped skips (value is what its category
// property held); problems lists what is wrong, without position.
func (r *resolved) feature(raw json.RawMessage) (p Place, value string, skip bool, problems []Problem) {
	bad := func(field, format string, args ...any) {
		problems = append(problems, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		bad("", "want a Feature object")
		return
	}
	var f struct {
		Type       string          `json:"type"`
		ID         json.RawMessage `json:"id"`
		Geometry   json.RawMessage `json:"geometry"`
		Properties json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			bad(te.Field, "want a %s", te.Type)
		} else {
			bad("", "want a Feature object")
		}
		return
	}
	if f.Type != "Feature" {
		bad("type", "want \"Feature\", got %s", quote(f.Type))
		return
	}
	props := map[string]any{}
	if len(f.Properties) > 0 && string(f.Properties) != "null" {
		dec := json.NewDecoder(bytes.NewReader(f.Properties))
		dec.UseNumber()
		if err := dec.Decode(&props); err != nil {
			bad("properties", "want an object")
			return
		}
	}
	text := func(prop string) (string, bool, error) {
		switch v := props[prop].(type) {
		case nil:
			return "", false, nil
		case string:
			return v, true, nil
		case json.Number:
			return v.String(), true, nil
		}
		return "", false, &fieldError{"properties." + prop, "want a string"}
	}

	cat, value, skippable, err := r.category(text)
	if skippable && r.SkipUnmapped {
		return Place{}, value, true, nil
	}
	if err != nil {
		fe := err.(*fieldError)
		field := fe.field
		if !strings.HasPrefix(field, "properties.") {
			field = "properties." + field
		}
		bad(field, "%s", fe.msg)
	}
	p.Category = cat
	if name, _, err := text(r.NameProperty); err != nil {
		bad("properties."+r.NameProperty, "want a string")
	} else {
		p.Name = cleanName(name)
	}
	if id := bytes.TrimSpace(f.ID); len(id) > 0 && string(id) != "null" {
		var s string
		if json.Unmarshal(id, &s) != nil {
			s = string(id) // a number, as written
		}
		p.Ref = cleanRef(s)
	} else if ref, _, err := text(r.RefProperty); err == nil {
		p.Ref = cleanRef(ref)
	}

	geom := bytes.TrimSpace(f.Geometry)
	if len(geom) == 0 || string(geom) == "null" {
		bad("geometry", "the feature has no geometry")
		return
	}
	var g struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(geom, &g) != nil {
		bad("geometry", "want a GeoJSON geometry object")
		return
	}
	switch g.Type {
	case "Point":
		lat, lon, msg := pointCoordinates(geom)
		if msg != "" {
			bad("geometry.coordinates", "%s", msg)
			return
		}
		radius := r.radius(cat)
		if v, ok := props[r.RadiusProperty]; ok && v != nil {
			n := v
			if num, isNum := v.(json.Number); isNum {
				n = numberValue(num)
			}
			if radius, err = parseRadius(n); err != nil {
				bad("properties."+r.RadiusProperty, "%s", err.Error())
				return
			}
		}
		a, err := NewCircle(lat, lon, radius, r.Limits)
		if err != nil {
			fe := err.(*fieldError)
			field := "properties." + r.RadiusProperty
			if fe.field != "radius_m" {
				field = "geometry.coordinates"
			}
			bad(field, "%s", fe.msg)
			return
		}
		p.Area = a
	case "Polygon", "MultiPolygon":
		a, err := geo.ParseArea(geom, r.Limits.geo())
		if err != nil {
			ge, ok := errors.AsType[*geo.Error](err)
			if !ok {
				bad("geometry", "not a valid %s", g.Type)
				return
			}
			field := "geometry"
			if ge.Path != "" {
				field += "." + ge.Path
			}
			bad(field, "%s", ge.Message)
			return
		}
		p.Area = a
	case "":
		bad("geometry.type", "missing")
	default:
		bad("geometry.type", "a %s is not a place; want a Point (with a radius), a Polygon or a MultiPolygon", quote(g.Type))
	}
	return
}

// numberValue returns a JSON number as a float64 when it is one, or its
// text for the radius check to refuse.
func numberValue(n json.Number) any {
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil {
		return n.String()
	}
	return f
}

// pointCoordinates reads a Point's [longitude, latitude(, altitude)];
// msg says what is wrong.
func pointCoordinates(geom json.RawMessage) (lat, lon float64, msg string) {
	var g struct {
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if json.Unmarshal(geom, &g) != nil || len(g.Coordinates) == 0 || string(g.Coordinates) == "null" {
		return 0, 0, "missing; want [longitude, latitude]"
	}
	dec := json.NewDecoder(bytes.NewReader(g.Coordinates))
	dec.UseNumber()
	var pos []any
	if dec.Decode(&pos) != nil {
		return 0, 0, "want [longitude, latitude]"
	}
	if len(pos) != 2 && len(pos) != 3 {
		return 0, 0, fmt.Sprintf("a position needs 2 or 3 numbers (longitude, latitude, optional altitude), got %d", len(pos))
	}
	var v [2]float64
	for i := range 2 {
		n, ok := pos[i].(json.Number)
		if !ok {
			return 0, 0, "want [longitude, latitude] as numbers"
		}
		f, err := strconv.ParseFloat(n.String(), 64)
		if err != nil {
			return 0, 0, fmt.Sprintf("number %s is out of range", quote(n.String()))
		}
		v[i] = f
	}
	return v[1], v[0], ""
}
