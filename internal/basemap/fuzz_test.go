package basemap_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/probity-dev/probity/internal/basemap"
)

// fuzzLimits keep fuzzed inputs small.
var fuzzLimits = basemap.Limits{MaxBytes: 1 << 16, MaxFeatures: 200, MaxVertices: 5000}

func seeds(f *testing.F, pattern string, extra ...string) {
	files, _ := filepath.Glob(pattern)
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// checkLayer checks what every parsed layer must be: within the limits,
// positions in range and in their bounds, parts as long as their kind
// needs, and the same after a trip through the stored form.
func checkLayer(t *testing.T, l *basemap.Layer) {
	t.Helper()
	if len(l.Features) > fuzzLimits.MaxFeatures || l.Vertices() > fuzzLimits.MaxVertices {
		t.Fatalf("%d features, %d vertices: over the limits", len(l.Features), l.Vertices())
	}
	for i, f := range l.Features {
		if len(f.Parts) == 0 || len(f.Class) > basemap.MaxClass || basemap.CleanClass(f.Class) != f.Class {
			t.Fatalf("feature %d: %+v", i, f)
		}
		least := map[basemap.Kind]int{basemap.Point: 1, basemap.Line: 2, basemap.Polygon: 3}[f.Kind]
		for _, p := range f.Parts {
			if len(p) < least || (f.Kind == basemap.Point && len(p) != 1) {
				t.Fatalf("feature %d (%s): a part of %d positions", i, f.Kind, len(p))
			}
			for _, q := range p {
				if !(q.Lon >= -180 && q.Lon <= 180 && q.Lat >= -90 && q.Lat <= 90) ||
					q.Lon < f.Bounds.MinLon || q.Lon > f.Bounds.MaxLon || q.Lat < f.Bounds.MinLat || q.Lat > f.Bounds.MaxLat {
					t.Fatalf("feature %d: position %v (bounds %v)", i, q, f.Bounds)
				}
			}
		}
	}
	back, err := basemap.Decode(basemap.Encode(l), fuzzLimits)
	if err != nil {
		t.Fatalf("the stored form does not decode: %v", err)
	}
	back.Skipped = l.Skipped
	if len(l.Features) == 0 {
		back.Features = l.Features
	}
	if !reflect.DeepEqual(back, l) {
		t.Fatalf("the stored form decodes to another layer:\n%s\nwant\n%s", dump(back), dump(l))
	}
}

func FuzzParseGeoJSON(f *testing.F) {
	seeds(f, "testdata/*.geojson",
		`{"type":"FeatureCollection","features":[]}`,
		`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]},"properties":{"name":"x","class":"Y z"}}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"MultiLineString","coordinates":[[[0,0],[1e-8,0]],[[5,5],[6,6]]]}}]}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := basemap.ParseGeoJSON(data, basemap.Options{Limits: fuzzLimits})
		if err != nil {
			if _, ok := err.(*basemap.Error); !ok {
				t.Fatalf("an error of type %T: %v", err, err)
			}
			return
		}
		checkLayer(t, l)
	})
}

func FuzzParseTopoJSON(f *testing.F) {
	seeds(f, "testdata/*.topojson",
		`{"type":"Topology","objects":{},"arcs":[]}`,
		`{"type":"Topology","transform":{"scale":[1,1],"translate":[0,0]},"objects":{"a":{"type":"Polygon","arcs":[[0,-1]]}},"arcs":[[[0,0],[1,1]]]}`,
		`{"type":"Topology","objects":{"a":{"type":"GeometryCollection","geometries":[{"type":"MultiPolygon","arcs":[[[0]]]},{"type":null}]}},"arcs":[[[0,0],[1,0],[1,1],[0,0]]]}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := basemap.ParseTopoJSON(data, basemap.Options{Limits: fuzzLimits})
		if err != nil {
			if _, ok := err.(*basemap.Error); !ok {
				t.Fatalf("an error of type %T: %v", err, err)
			}
			return
		}
		checkLayer(t, l)
	})
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.*json")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			if l, err := basemap.Parse("", b, basemap.Options{}); err == nil {
				f.Add(basemap.Encode(l))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := basemap.Decode(data, fuzzLimits)
		if err != nil {
			return
		}
		if len(l.Features) > fuzzLimits.MaxFeatures || l.Vertices() > fuzzLimits.MaxVertices {
			t.Fatalf("%d features, %d vertices: over the limits", len(l.Features), l.Vertices())
		}
	})
}
