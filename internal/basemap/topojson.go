package basemap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// ParseTopoJSON reads a layer from a TopoJSON topology (TopoJSON 1.0):
// its arcs, delta-encoded and quantized when the topology has a
// transform, and its objects' Point, MultiPoint, LineString,
// MultiLineString, Polygon and MultiPolygon geometries, in
// GeometryCollections or not. Each geometry becomes a feature, with the
// name and class of its properties; null geometries are skipped and
// counted. Every object is read, in the order of their names, unless
// [Options.Object] names one. Problems name the geometry by its position
// over every object's geometries, and the member at fault
// ("objects.roads.geometries[2].arcs[0]").
func ParseTopoJSON(data []byte, opts Options) (*Layer, error) {
	o := opts.resolve()
	if len(data) > o.Limits.MaxBytes {
		return nil, fileError("the file is %d bytes; the limit is %d", len(data), o.Limits.MaxBytes)
	}
	if err := checkJSON(data); err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return nil, fileError("want a TopoJSON Topology object")
	}
	var top struct {
		Type      string                     `json:"type"`
		Transform json.RawMessage            `json:"transform"`
		Arcs      json.RawMessage            `json:"arcs"`
		Objects   map[string]json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fileError("objects: want an object of named geometry objects")
	}
	switch top.Type {
	case "Topology":
	case "":
		return nil, fileError("type: missing; want a Topology")
	case "FeatureCollection", "Feature":
		return nil, fileError("this is GeoJSON, not a TopoJSON topology: import it as geojson")
	default:
		return nil, fileError("want a Topology, got a %s", quote(top.Type))
	}
	if top.Objects == nil {
		return nil, fileError("objects: missing; a Topology names its objects")
	}
	t := &topology{opts: o,
		budget:    &budget{left: o.Limits.MaxVertices, max: o.Limits.MaxVertices},
		arcBudget: &budget{left: o.Limits.MaxVertices, max: o.Limits.MaxVertices}}
	if err := t.readTransform(top.Transform); err != nil {
		return nil, err
	}
	if err := t.readArcs(top.Arcs); err != nil {
		return nil, err
	}
	names := slices.Sorted(maps.Keys(top.Objects))
	if o.Object != "" {
		if _, ok := top.Objects[o.Object]; !ok {
			return nil, fileError("the topology has no object %s; it has %s", quote(o.Object), quoteList(names))
		}
		names = []string{o.Object}
	}
	t.layer = &Layer{Bounds: EmptyBounds()}
	for _, name := range names {
		if err := t.object(top.Objects[name], "objects."+name, 0); err != nil {
			return nil, err
		}
	}
	if err := t.ps.err(); err != nil {
		return nil, err
	}
	return t.layer, nil
}

func quoteList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	q := make([]string, 0, min(len(names), 10))
	for _, n := range names[:min(len(names), 10)] {
		q = append(q, quote(n))
	}
	s := strings.Join(q, ", ")
	if len(names) > 10 {
		s += fmt.Sprintf(" and %d more", len(names)-10)
	}
	return s
}

// maxDepth bounds how deeply GeometryCollections nest.
const maxDepth = 16

// topology is a topology being read.
type topology struct {
	opts      Options
	budget    *budget // positions of the features
	arcBudget *budget // positions of the arcs
	quantized bool
	scale     [2]float64
	translate [2]float64
	arcs      [][]Pos
	layer     *Layer
	ps        problems
	next      int // the next geometry's position
}

func (t *topology) readTransform(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var tr struct {
		Scale     []float64 `json:"scale"`
		Translate []float64 `json:"translate"`
	}
	if err := json.Unmarshal(raw, &tr); err != nil || bytes.Contains(raw, []byte("null")) {
		return fileError("transform: want {\"scale\": [sx, sy], \"translate\": [tx, ty]} with numbers")
	}
	if len(tr.Scale) != 2 || len(tr.Translate) != 2 {
		return fileError("transform: scale and translate each need 2 numbers")
	}
	for i := range 2 {
		if s := tr.Scale[i]; !(s != 0) || math.IsInf(s, 0) {
			return fileError("transform.scale[%d]: want a finite number other than 0, got %g", i, s)
		}
		if math.IsInf(tr.Translate[i], 0) {
			return fileError("transform.translate[%d]: want a finite number", i)
		}
	}
	t.quantized = true
	copy(t.scale[:], tr.Scale)
	copy(t.translate[:], tr.Translate)
	return nil
}

// position returns a position of the file, transformed when quantized.
func (t *topology) position(x, y float64) (Pos, string) {
	if t.quantized {
		x, y = x*t.scale[0]+t.translate[0], y*t.scale[1]+t.translate[1]
	}
	return checkPos(x, y)
}

func (t *topology) readArcs(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return fileError("arcs: missing; a Topology lists its arcs (an empty list when it has none)")
	}
	if bytes.IndexByte(raw, 'n') >= 0 {
		return fileError("arcs: a coordinate is null")
	}
	var arcs [][][]float64
	if err := json.Unmarshal(raw, &arcs); err != nil {
		return fileError("arcs: want an array of arcs, each an array of [x, y] positions as numbers")
	}
	t.arcs = make([][]Pos, len(arcs))
	for i, arc := range arcs {
		if len(arc) < 2 {
			return fileError("arcs[%d]: an arc needs at least 2 positions, got %d", i, len(arc))
		}
		if !t.arcBudget.take(len(arc)) {
			return fileError("arcs: the arcs hold more than %d positions; the limit is %d (simplify or split the topology)", t.arcBudget.max, t.arcBudget.max)
		}
		out := make([]Pos, len(arc))
		var x, y float64
		for j, p := range arc {
			if len(p) < 2 {
				return fileError("arcs[%d][%d]: a position needs 2 numbers, got %d", i, j, len(p))
			}
			if t.quantized {
				x, y = x+p[0], y+p[1] // delta-encoded
			} else {
				x, y = p[0], p[1]
			}
			q, msg := t.position(x, y)
			if msg != "" {
				return fileError("arcs[%d][%d]: %s", i, j, msg)
			}
			out[j] = q
		}
		t.arcs[i] = out
	}
	return nil
}

// object reads a geometry object at path and, for a collection, its
// members.
func (t *topology) object(raw json.RawMessage, path string, depth int) error {
	raw = bytes.TrimSpace(raw)
	index := t.next
	bad := func(field, format string, args ...any) {
		t.ps.add(Problem{Feature: index, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if len(raw) == 0 || raw[0] != '{' {
		t.next++
		bad(path, "want a geometry object")
		return nil
	}
	var g struct {
		Type        json.RawMessage   `json:"type"`
		Properties  json.RawMessage   `json:"properties"`
		Arcs        json.RawMessage   `json:"arcs"`
		Coordinates json.RawMessage   `json:"coordinates"`
		Geometries  []json.RawMessage `json:"geometries"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.next++
		bad(path, "want a geometry object with a type")
		return nil
	}
	var typ string
	switch {
	case len(g.Type) == 0:
		t.next++
		bad(path+".type", "missing")
		return nil
	case string(g.Type) == "null": // a null geometry: nothing to draw
		t.next++
		t.layer.Skipped++
		return nil
	case json.Unmarshal(g.Type, &typ) != nil:
		t.next++
		bad(path+".type", "want a string")
		return nil
	}
	if typ == "GeometryCollection" {
		if depth >= maxDepth {
			t.next++
			bad(path, "GeometryCollections nest more than %d deep", maxDepth)
			return nil
		}
		for i, m := range g.Geometries {
			if err := t.object(m, fmt.Sprintf("%s.geometries[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	t.next++
	if len(t.layer.Features) >= t.opts.Limits.MaxFeatures {
		return fileError("the file holds more than %d features; the limit is %d (split it)", t.opts.Limits.MaxFeatures, t.opts.Limits.MaxFeatures)
	}
	name, class, pps := t.opts.properties(g.Properties)
	for _, p := range pps {
		bad(path+"."+p.Field, "%s", p.Message)
	}
	var kind Kind
	var parts [][]Pos
	var p *Problem
	switch typ {
	case "Point", "MultiPoint":
		kind, parts, p = t.points(typ, g.Coordinates, path)
	case "LineString", "MultiLineString", "Polygon", "MultiPolygon":
		kind, parts, p = t.arcParts(typ, g.Arcs, path)
	case "":
		p = &Problem{Field: path + ".type", Message: "missing"}
	default:
		p = &Problem{Field: path + ".type", Message: fmt.Sprintf("unknown geometry type %s", quote(typ))}
	}
	if p != nil {
		bad(p.Field, "%s", p.Message)
		return nil
	}
	if len(pps) > 0 {
		return nil
	}
	f, ok := finish(kind, name, class, parts)
	if !ok {
		bad(path, "every part is degenerate (its positions coincide)")
		return nil
	}
	if !t.budget.take(f.Vertices()) {
		return t.budget.error()
	}
	t.layer.Features = append(t.layer.Features, f)
	t.layer.Bounds = t.layer.Bounds.Union(f.Bounds)
	return nil
}

// points reads a Point's or MultiPoint's coordinates, quantized but not
// delta-encoded.
func (t *topology) points(typ string, raw json.RawMessage, path string) (Kind, [][]Pos, *Problem) {
	path += ".coordinates"
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil, &Problem{Field: path, Message: "missing"}
	}
	if bytes.IndexByte(raw, 'n') >= 0 {
		return 0, nil, &Problem{Field: path, Message: "a coordinate is null"}
	}
	var c [][]float64
	if typ == "Point" {
		var one []float64
		if json.Unmarshal(raw, &one) != nil {
			return 0, nil, &Problem{Field: path, Message: "want [x, y], as numbers"}
		}
		c = [][]float64{one}
	} else if json.Unmarshal(raw, &c) != nil || len(c) == 0 {
		return 0, nil, &Problem{Field: path, Message: "want [[x, y], …] with at least one position, as numbers"}
	}
	parts := make([][]Pos, len(c))
	for i, p := range c {
		at := path
		if typ == "MultiPoint" {
			at = fmt.Sprintf("%s[%d]", path, i)
		}
		if len(p) < 2 {
			return 0, nil, &Problem{Field: at, Message: fmt.Sprintf("a position needs 2 numbers, got %d", len(p))}
		}
		q, msg := t.position(p[0], p[1])
		if msg != "" {
			return 0, nil, &Problem{Field: at, Message: msg}
		}
		parts[i] = []Pos{q}
	}
	return Point, parts, nil
}

// arcParts reads the arcs of a line or polygon geometry and stitches them
// into its parts.
func (t *topology) arcParts(typ string, raw json.RawMessage, path string) (Kind, [][]Pos, *Problem) {
	path += ".arcs"
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil, &Problem{Field: path, Message: "missing"}
	}
	want := map[string]string{
		"LineString": "[arc, …]", "MultiLineString": "[[arc, …], …]", "Polygon": "[[arc, …], …]", "MultiPolygon": "[[[arc, …], …], …]",
	}[typ]
	wrong := &Problem{Field: path, Message: "want " + want + " of arc indexes (whole numbers)"}
	switch typ {
	case "LineString":
		var a []int
		if json.Unmarshal(raw, &a) != nil {
			return 0, nil, wrong
		}
		l, p := t.stitch(a, path, false)
		if p != nil {
			return 0, nil, p
		}
		return Line, [][]Pos{l}, nil
	case "MultiLineString", "Polygon":
		var a [][]int
		if json.Unmarshal(raw, &a) != nil {
			return 0, nil, wrong
		}
		if len(a) == 0 {
			return 0, nil, &Problem{Field: path, Message: "want at least one " + map[string]string{"Polygon": "ring", "MultiLineString": "line"}[typ]}
		}
		ring := typ == "Polygon"
		parts := make([][]Pos, len(a))
		for i, x := range a {
			l, p := t.stitch(x, fmt.Sprintf("%s[%d]", path, i), ring)
			if p != nil {
				return 0, nil, p
			}
			parts[i] = l
		}
		if ring {
			return Polygon, parts, nil
		}
		return Line, parts, nil
	default: // MultiPolygon
		var a [][][]int
		if json.Unmarshal(raw, &a) != nil {
			return 0, nil, wrong
		}
		if len(a) == 0 {
			return 0, nil, &Problem{Field: path, Message: "want at least one polygon"}
		}
		var parts [][]Pos
		for i, poly := range a {
			if len(poly) == 0 {
				return 0, nil, &Problem{Field: fmt.Sprintf("%s[%d]", path, i), Message: "a polygon needs at least one ring"}
			}
			for j, x := range poly {
				l, p := t.stitch(x, fmt.Sprintf("%s[%d][%d]", path, i, j), true)
				if p != nil {
					return 0, nil, p
				}
				parts = append(parts, l)
			}
		}
		return Polygon, parts, nil
	}
}

// stitch joins arcs into one line or ring: arc ~i is arc i reversed, and
// each arc after the first starts where the one before ends, so its first
// position is dropped.
func (t *topology) stitch(indexes []int, path string, ring bool) ([]Pos, *Problem) {
	if len(indexes) == 0 {
		return nil, &Problem{Field: path, Message: "want at least one arc"}
	}
	var out []Pos
	for k, i := range indexes {
		j := i
		if i < 0 {
			j = ^i
		}
		if j >= len(t.arcs) {
			return nil, &Problem{Field: fmt.Sprintf("%s[%d]", path, k), Message: fmt.Sprintf("arc %d does not exist; the topology has %d arcs", i, len(t.arcs))}
		}
		arc := t.arcs[j]
		if len(out)+len(arc) > t.budget.max {
			return nil, &Problem{Field: path, Message: fmt.Sprintf("the arcs hold more than %d positions", t.budget.max)}
		}
		skip := 0
		if k > 0 {
			skip = 1 // the position the arc before ended on
		}
		if i >= 0 {
			out = append(out, arc[skip:]...)
			continue
		}
		for x := len(arc) - 1 - skip; x >= 0; x-- {
			out = append(out, arc[x])
		}
	}
	if ring {
		if len(out) < 4 {
			return nil, &Problem{Field: path, Message: fmt.Sprintf("a ring needs at least 4 positions (closed), its arcs give %d", len(out))}
		}
		if out[0] != out[len(out)-1] {
			return nil, &Problem{Field: path, Message: "the ring's arcs do not close: the last position must be the first"}
		}
	}
	return out, nil
}

// Detect tells a TopoJSON topology from GeoJSON by the document's "type"
// member: [TopoJSON] for "Topology", [GeoJSON] otherwise (the parser then
// says what is wrong).
func Detect(data []byte) Format {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return GeoJSON
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return GeoJSON
		}
		if key, _ := tok.(string); key == "type" {
			var typ string
			if dec.Decode(&typ) == nil && typ == "Topology" {
				return TopoJSON
			}
			return GeoJSON
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return GeoJSON
		}
	}
	return GeoJSON
}
