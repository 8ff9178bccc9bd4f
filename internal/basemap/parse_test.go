package basemap_test

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/basemap"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// dump writes a layer as text, for golden files.
func dump(l *basemap.Layer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "features %d, skipped %d, vertices %d\n", len(l.Features), l.Skipped, l.Vertices())
	fmt.Fprintf(&b, "bounds %.7f %.7f %.7f %.7f\n", l.Bounds.MinLon, l.Bounds.MinLat, l.Bounds.MaxLon, l.Bounds.MaxLat)
	for i, f := range l.Features {
		fmt.Fprintf(&b, "%d %s name=%q class=%q\n", i, f.Kind, f.Name, f.Class)
		for _, p := range f.Parts {
			b.WriteString(" ")
			for _, q := range p {
				fmt.Fprintf(&b, " %.7f,%.7f", q.Lon, q.Lat)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func TestParse_Golden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.*json")
	if len(files) < 3 {
		t.Fatalf("found %d test files", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want := basemap.GeoJSON
			if strings.HasSuffix(file, ".topojson") {
				want = basemap.TopoJSON
			}
			if got := basemap.Detect(data); got != want {
				t.Errorf("Detect = %s, want %s", got, want)
			}
			l, err := basemap.Parse("", data, basemap.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := dump(l)
			golden := strings.TrimSuffix(file, filepath.Ext(file)) + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantText, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(wantText) {
				t.Errorf("layer of %s:\n%s\nwant:\n%s", file, got, wantText)
			}
			// Every position lies in its feature's bounds and the layer's.
			for i, f := range l.Features {
				for _, p := range f.Parts {
					for _, q := range p {
						if q.Lon < f.Bounds.MinLon || q.Lon > f.Bounds.MaxLon || q.Lat < f.Bounds.MinLat || q.Lat > f.Bounds.MaxLat {
							t.Errorf("feature %d: %v outside its bounds %v", i, q, f.Bounds)
						}
					}
				}
				if l.Bounds.Union(f.Bounds) != l.Bounds {
					t.Errorf("feature %d's bounds %v are not in the layer's %v", i, f.Bounds, l.Bounds)
				}
			}
		})
	}
}

func TestParseGeoJSON_Details(t *testing.T) {
	data, err := os.ReadFile("testdata/city.geojson")
	if err != nil {
		t.Fatal(err)
	}
	l, err := basemap.ParseGeoJSON(data, basemap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		if len(l.Features) != 6 || l.Skipped != 1 {
			t.Fatalf("%d features, %d skipped; want 6 and 1", len(l.Features), l.Skipped)
		}
		city := l.Features[0]
		if city.Kind != basemap.Polygon || len(city.Parts) != 2 || len(city.Parts[0]) != 4 || city.Class != "boundary" {
			t.Errorf("the city: %+v", city)
		}
		// Repeated positions and those within 1e-7° of each other are one.
		if main := l.Features[1]; len(main.Parts[0]) != 3 || main.Class != "major-road" {
			t.Errorf("Main Street: %+v", main)
		}
		if got := l.Features[3].Name; got != "42" {
			t.Errorf("a numeric name is %q", got)
		}
		if got := l.Features[5]; got.Name != "Islands of the river" || got.Class != "park" || len(got.Parts) != 2 {
			t.Errorf("the islands: %+v", got)
		}
		if c := l.Counts(); c[basemap.Polygon] != 2 || c[basemap.Line] != 2 || c[basemap.Point] != 2 {
			t.Errorf("counts %v", c)
		}
	})
	t.Run("OKProperties", func(t *testing.T) {
		l, err := basemap.ParseGeoJSON(data, basemap.Options{NameProperty: "class", ClassProperty: "name"})
		if err != nil {
			t.Fatal(err)
		}
		if f := l.Features[0]; f.Name != "Boundary" || f.Class != "test-city" {
			t.Errorf("with the properties swapped: %+v", f)
		}
	})
	t.Run("OKSingleFeature", func(t *testing.T) {
		l, err := basemap.ParseGeoJSON([]byte(`{"type":"Feature","properties":{"name":"One"},"geometry":{"type":"Point","coordinates":[1,2]}}`), basemap.Options{})
		if err != nil || len(l.Features) != 1 || l.Features[0].Name != "One" {
			t.Fatalf("%+v, %v", l, err)
		}
	})
}

// feature wraps a geometry in a FeatureCollection, on line 3.
func feature(geom string) string {
	return "{\"type\":\"FeatureCollection\",\n\"features\":[\n{\"type\":\"Feature\",\"properties\":{},\"geometry\":" + geom + "}]}"
}

func TestParseGeoJSON_Errors(t *testing.T) {
	ring := `[[0,0],[1,0],[1,1],[0,0]]`
	cases := []struct {
		name, doc, want string
		lim             basemap.Limits
	}{
		{"NotJSON", "{\"type\":\n\"FeatureCollection\",,}", "line 2: not valid JSON: invalid character ','", basemap.Limits{}},
		{"NotObject", `[1,2]`, "want a GeoJSON FeatureCollection object", basemap.Limits{}},
		{"NoType", `{"features":[]}`, "type: missing", basemap.Limits{}},
		{"Topology", `{"type":"Topology","objects":{},"arcs":[]}`, "this is a TopoJSON topology: import it as topojson", basemap.Limits{}},
		{"NoFeatures", `{"type":"FeatureCollection"}`, "features: missing", basemap.Limits{}},
		{"FeaturesNull", `{"type":"FeatureCollection","features":null}`, "features: want an array of features", basemap.Limits{}},
		{"DuplicateMember", `{"type":"FeatureCollection","features":[],"features":[]}`, `the member "features" appears more than once`, basemap.Limits{}},
		{"ProjectedCRS", `{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:3857"}},"features":[]}`, "crs: only WGS84", basemap.Limits{}},
		{"FeatureType", `{"type":"FeatureCollection","features":[{"type":"Point","coordinates":[1,2]}]}`, `feature 0 (line 1): type: want "Feature", got "Point"`, basemap.Limits{}},
		{"UnknownGeometry", feature(`{"type":"Circle","coordinates":[1,2]}`), `feature 0 (line 3): geometry.type: unknown geometry type "Circle"`, basemap.Limits{}},
		{"Collection", feature(`{"type":"GeometryCollection","geometries":[]}`), "geometry.type: a GeometryCollection is not supported", basemap.Limits{}},
		{"NoCoordinates", feature(`{"type":"Point"}`), "geometry.coordinates: missing", basemap.Limits{}},
		{"NullCoordinate", feature(`{"type":"Point","coordinates":[null,1]}`), "geometry.coordinates: a coordinate is null", basemap.Limits{}},
		{"StringCoordinate", feature(`{"type":"Point","coordinates":["1","2"]}`), "geometry.coordinates: want [longitude, latitude], as numbers", basemap.Limits{}},
		{"ShortPosition", feature(`{"type":"LineString","coordinates":[[1,2],[3]]}`), "geometry.coordinates[1]: a position needs longitude and latitude, got 1 numbers", basemap.Limits{}},
		{"Latitude", feature(`{"type":"LineString","coordinates":[[1,2],[3,95]]}`), "geometry.coordinates[1]: latitude 95 is outside [-90, 90]", basemap.Limits{}},
		{"Longitude", feature(`{"type":"Point","coordinates":[-181,0]}`), "geometry.coordinates: longitude -181 is outside [-180, 180]", basemap.Limits{}},
		{"Huge", feature(`{"type":"Point","coordinates":[1e999,0]}`), "geometry.coordinates: want [longitude, latitude], as numbers", basemap.Limits{}},
		{"ShortLine", feature(`{"type":"LineString","coordinates":[[1,2]]}`), "geometry.coordinates: a line needs at least 2 positions, got 1", basemap.Limits{}},
		{"OpenRing", feature(`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}`), "geometry.coordinates[0]: the ring is not closed", basemap.Limits{}},
		{"ShortRing", feature(`{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}`), "geometry.coordinates[0]: a ring needs at least 4 positions (closed), got 3", basemap.Limits{}},
		{"MultiPolygonHole", feature(`{"type":"MultiPolygon","coordinates":[[` + ring + `],[` + ring + `,[[0,0],[9,9]]]]}`), "geometry.coordinates[1][1]: a ring needs at least 4 positions", basemap.Limits{}},
		{"EmptyPolygon", feature(`{"type":"MultiPolygon","coordinates":[[]]}`), "geometry.coordinates[0]: a polygon needs at least one ring", basemap.Limits{}},
		{"Degenerate", feature(`{"type":"LineString","coordinates":[[1,2],[1.00000001,2]]}`), "geometry.coordinates: every part is degenerate", basemap.Limits{}},
		{"NameType", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":["a"]},"geometry":{"type":"Point","coordinates":[1,2]}}]}`,
			"feature 0 (line 1): properties.name: want a string", basemap.Limits{}},
		{"TooBig", feature(`{"type":"Point","coordinates":[1,2]}`), "the file is 126 bytes; the limit is 50", basemap.Limits{MaxBytes: 50}},
		{"TooManyFeatures", `{"type":"FeatureCollection","features":[{},{}]}`, "more than 1 features; the limit is 1", basemap.Limits{MaxFeatures: 1}},
		{"TooManyVertices", feature(`{"type":"LineString","coordinates":[[1,2],[3,4],[5,6]]}`), "more than 2 positions; the limit is 2", basemap.Limits{MaxVertices: 2}},
	}
	for _, c := range cases {
		t.Run("Err"+c.name, func(t *testing.T) {
			l, err := basemap.ParseGeoJSON([]byte(c.doc), basemap.Options{Limits: c.lim})
			if err == nil {
				t.Fatalf("parsed: %s", dump(l))
			}
			if _, ok := err.(*basemap.Error); !ok {
				t.Errorf("error of type %T", err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "the layer was not imported (nothing was): ") {
				t.Errorf("error %q, want %q", err, c.want)
			}
		})
	}
	t.Run("ErrManyProblems", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(`{"type":"FeatureCollection","features":[`)
		for i := range 25 {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(`{"type":"Feature","geometry":{"type":"Point","coordinates":[0,99]}}`)
		}
		b.WriteString("]}")
		_, err := basemap.ParseGeoJSON([]byte(b.String()), basemap.Options{})
		e, ok := err.(*basemap.Error)
		if !ok || len(e.Problems) != basemap.MaxProblems || e.More != 5 || e.Problems[24-5].Line != 20 || !strings.HasSuffix(err.Error(), "; and 5 more problems") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestParseTopoJSON_Details(t *testing.T) {
	data, err := os.ReadFile("testdata/districts.topojson")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OKSharedArcs", func(t *testing.T) {
		l, err := basemap.ParseTopoJSON(data, basemap.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Features) != 5 || l.Skipped != 1 {
			t.Fatalf("%d features, %d skipped", len(l.Features), l.Skipped)
		}
		west, east := l.Features[0], l.Features[1]
		// The shared arc: West's first edge is East's last, reversed.
		w, e := west.Parts[0], east.Parts[0]
		if (w[0] != basemap.Pos{Lon: -77.05, Lat: 38.8}) || (w[1] != basemap.Pos{Lon: -77.05, Lat: 39}) || (e[3] != w[1]) || len(w) != 4 || len(e) != 4 {
			t.Errorf("West %v, East %v", w, e)
		}
		if river := l.Features[4]; river.Name != "River" || len(river.Parts[0]) != 3 || river.Parts[0][2] != (basemap.Pos{Lon: -76.9, Lat: 38.89}) {
			t.Errorf("the river %+v", river)
		}
	})
	t.Run("OKObject", func(t *testing.T) {
		l, err := basemap.ParseTopoJSON(data, basemap.Options{Object: "river"})
		if err != nil || len(l.Features) != 1 || l.Features[0].Class != "water" {
			t.Fatalf("%+v, %v", l, err)
		}
	})
	t.Run("ErrObject", func(t *testing.T) {
		_, err := basemap.ParseTopoJSON(data, basemap.Options{Object: "lakes"})
		if err == nil || !strings.Contains(err.Error(), `the topology has no object "lakes"; it has "districts", "landmarks", "river"`) {
			t.Fatalf("error %v", err)
		}
	})
}

func TestParseTopoJSON_Errors(t *testing.T) {
	topo := func(objects, arcs string) string {
		return `{"type":"Topology","objects":` + objects + `,"arcs":` + arcs + `}`
	}
	square := `[[[0,0],[1,0],[1,1],[0,1],[0,0]]]`
	cases := []struct{ name, doc, want string }{
		{"NotJSON", `{"type":"Topology",`, "not valid JSON"},
		{"NoType", `{"objects":{},"arcs":[]}`, "type: missing; want a Topology"},
		{"GeoJSON", `{"type":"FeatureCollection","features":[]}`, "this is GeoJSON, not a TopoJSON topology"},
		{"NoObjects", `{"type":"Topology","arcs":[]}`, "objects: missing"},
		{"ObjectsArray", `{"type":"Topology","objects":[],"arcs":[]}`, "objects: want an object of named geometry objects"},
		{"NoArcs", `{"type":"Topology","objects":{}}`, "arcs: missing"},
		{"ShortArc", topo(`{}`, `[[[0,0]]]`), "arcs[0]: an arc needs at least 2 positions, got 1"},
		{"BadArc", topo(`{}`, `[[[0,0],[1]]]`), "arcs[0][1]: a position needs 2 numbers, got 1"},
		{"ArcRange", topo(`{}`, `[[[0,0],[200,0]]]`), "arcs[0][1]: longitude 200 is outside [-180, 180]"},
		{"NullArc", topo(`{}`, `[[[0,0],[null,0]]]`), "arcs: a coordinate is null"},
		{"Transform", `{"type":"Topology","transform":{"scale":[0,1],"translate":[0,0]},"objects":{},"arcs":[]}`, "transform.scale[0]: want a finite number other than 0"},
		{"TransformShape", `{"type":"Topology","transform":{"scale":[1],"translate":[0,0]},"objects":{},"arcs":[]}`, "transform: scale and translate each need 2 numbers"},
		{"QuantizedRange", `{"type":"Topology","transform":{"scale":[1,1],"translate":[0,0]},"objects":{},"arcs":[[[0,0],[100,100]]]}`, "arcs[0][1]: latitude 100 is outside"},
		{"ArcIndex", topo(`{"a":{"type":"LineString","arcs":[0,5]}}`, `[[[0,0],[1,1]]]`), "feature 0: objects.a.arcs[1]: arc 5 does not exist; the topology has 1 arcs"},
		{"ArcIndexNegative", topo(`{"a":{"type":"LineString","arcs":[-3]}}`, `[[[0,0],[1,1]]]`), "objects.a.arcs[0]: arc -3 does not exist"},
		{"ArcsShape", topo(`{"a":{"type":"Polygon","arcs":[0]}}`, square), "objects.a.arcs: want [[arc, …], …] of arc indexes"},
		{"FractionalArc", topo(`{"a":{"type":"LineString","arcs":[0.5]}}`, square), "objects.a.arcs: want [arc, …] of arc indexes (whole numbers)"},
		{"OpenRing", topo(`{"a":{"type":"Polygon","arcs":[[0]]}}`, `[[[0,0],[1,0],[1,1],[0,1]]]`), "objects.a.arcs[0]: the ring's arcs do not close"},
		{"ShortRing", topo(`{"a":{"type":"Polygon","arcs":[[0]]}}`, `[[[0,0],[1,0],[0,0]]]`), "objects.a.arcs[0]: a ring needs at least 4 positions (closed), its arcs give 3"},
		{"EmptyArcs", topo(`{"a":{"type":"MultiLineString","arcs":[[]]}}`, square), "objects.a.arcs[0]: want at least one arc"},
		{"NoArcsMember", topo(`{"a":{"type":"LineString"}}`, square), "objects.a.arcs: missing"},
		{"MissingType", topo(`{"a":{"type":"GeometryCollection","geometries":[{"arcs":[0]}]}}`, square), "feature 0: objects.a.geometries[0].type: missing"},
		{"UnknownType", topo(`{"a":{"type":"Sphere"}}`, square), `objects.a.type: unknown geometry type "Sphere"`},
		{"PointRange", topo(`{"a":{"type":"Point","coordinates":[0,-91]}}`, `[]`), "objects.a.coordinates: latitude -91 is outside"},
		{"MultiPointShape", topo(`{"a":{"type":"MultiPoint","coordinates":[1,2]}}`, `[]`), "objects.a.coordinates: want [[x, y], …]"},
		{"SecondGeometry", topo(`{"a":{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[0,0]},{"type":"Point","coordinates":[0]}]}}`, `[]`),
			"feature 1: objects.a.geometries[1].coordinates: a position needs 2 numbers, got 1"},
		{"ClassType", topo(`{"a":{"type":"Point","coordinates":[0,0],"properties":{"class":{}}}}`, `[]`), "objects.a.properties.class: want a string"},
		{"Deep", topo(strings.Repeat(`{"a":{"type":"GeometryCollection","geometries":[`, 1)+strings.Repeat(`{"type":"GeometryCollection","geometries":[`, 17)+strings.Repeat(`]}`, 17)+`]}}`, `[]`),
			"GeometryCollections nest more than 16 deep"},
	}
	for _, c := range cases {
		t.Run("Err"+c.name, func(t *testing.T) {
			l, err := basemap.ParseTopoJSON([]byte(c.doc), basemap.Options{})
			if err == nil {
				t.Fatalf("parsed: %s", dump(l))
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want %q", err, c.want)
			}
		})
	}
	t.Run("ErrArcsTooMany", func(t *testing.T) {
		_, err := basemap.ParseTopoJSON([]byte(topo(`{}`, `[[[0,0],[1,1],[2,2]]]`)), basemap.Options{Limits: basemap.Limits{MaxVertices: 2}})
		if err == nil || !strings.Contains(err.Error(), "arcs: the arcs hold more than 2 positions") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("ErrReusedArc", func(t *testing.T) {
		// One arc used many times must not grow without bound.
		var arcs strings.Builder
		arcs.WriteString("[")
		for i := range 100 {
			if i > 0 {
				arcs.WriteString(",")
			}
			arcs.WriteString("[[0,0],[1,1],[0,0]]")
		}
		arcs.WriteString("]")
		objs := `{"a":{"type":"GeometryCollection","geometries":[` + strings.TrimSuffix(strings.Repeat(`{"type":"LineString","arcs":[0,1,2,3,4,5,6,7,8,9]},`, 50), ",") + `]}}`
		_, err := basemap.ParseTopoJSON([]byte(topo(objs, arcs.String())), basemap.Options{Limits: basemap.Limits{MaxVertices: 300}})
		if err == nil || !strings.Contains(err.Error(), "more than 300 positions") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]basemap.Format{"GeoJSON": basemap.GeoJSON, " topojson ": basemap.TopoJSON} {
		if f, err := basemap.ParseFormat(in); err != nil || f != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, f, err)
		}
	}
	if _, err := basemap.ParseFormat("kml"); err == nil || !strings.Contains(err.Error(), `unknown format "kml"; want geojson or topojson`) {
		t.Errorf("ParseFormat(kml) = %v", err)
	}
	if _, err := basemap.Parse("kml", []byte(`{}`), basemap.Options{}); err == nil {
		t.Error("Parse took an unknown format")
	}
}

func TestCleanClass(t *testing.T) {
	for in, want := range map[string]string{
		"Major Road": "major-road", "  park!! ": "park", "a_b.c": "a-b-c", "ÉCOLE": "cole", "": "", "---": "",
		`"><script>`: "script", strings.Repeat("x", 50): strings.Repeat("x", basemap.MaxClass),
	} {
		if got := basemap.CleanClass(in); got != want {
			t.Errorf("CleanClass(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"streets", "city-1", "a", "water_2026.v2"} {
		if err := basemap.CheckName(ok); err != nil {
			t.Errorf("CheckName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Streets", "-x", "a b", "a/b", strings.Repeat("a", 64), "ü"} {
		if err := basemap.CheckName(bad); err == nil {
			t.Errorf("CheckName(%q) accepted it", bad)
		}
	}
}

func TestEncode_RoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.*json")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		l, err := basemap.Parse("", data, basemap.Options{})
		if err != nil {
			t.Fatal(err)
		}
		enc := basemap.Encode(l)
		back, err := basemap.Decode(enc, basemap.Limits{})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		back.Skipped = l.Skipped
		if !reflect.DeepEqual(back, l) {
			t.Errorf("%s: decoded\n%s\nwant\n%s", file, dump(back), dump(l))
		}
	}
}

func TestDecode_Errors(t *testing.T) {
	data, _ := os.ReadFile("testdata/city.geojson")
	l, err := basemap.ParseGeoJSON(data, basemap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	enc := basemap.Encode(l)
	for name, c := range map[string]struct {
		data []byte
		lim  basemap.Limits
		want string
	}{
		"NotGzip":     {[]byte("PBM1\x00"), basemap.Limits{}, "stored layer"},
		"Truncated":   {enc[:len(enc)-9], basemap.Limits{}, "stored layer"},
		"Features":    {enc, basemap.Limits{MaxFeatures: 2}, "6 features; the limit is 2"},
		"Vertices":    {enc, basemap.Limits{MaxVertices: 5}, "more than 5 positions"},
		"ForeignForm": {gz(t, []byte("XXXX\x00")), basemap.Limits{}, "not a layer's stored form"},
		"Trailing":    {gz(t, append(raw(t, enc), 0)), basemap.Limits{}, "1 bytes after the last feature"},
		"Kind":        {gz(t, []byte("PBM1\x01\x09\x00\x00\x01\x01\x00\x00")), basemap.Limits{}, "unknown kind 9"},
		"Range":       {gz(t, binary.AppendVarint([]byte("PBM1\x01\x01\x00\x00\x01\x01\x00"), 91e7)), basemap.Limits{}, "a position is out of range"},
		"PointParts":  {gz(t, []byte("PBM1\x01\x01\x00\x00\x01\x02\x00\x00\x00\x00")), basemap.Limits{}, "a part of 2 positions"},
	} {
		t.Run("Err"+name, func(t *testing.T) {
			if _, err := basemap.Decode(c.data, c.lim); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Decode = %v, want %q", err, c.want)
			}
		})
	}
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzipWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}
