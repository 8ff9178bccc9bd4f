package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

func TestAPI_Basemaps(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testBasemaps(t, d) })
	}
}

func testBasemaps(t *testing.T, d store.Dialect) {
	ts := mustStartServer(t, d)
	const streets = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"name":"Main Street","class":"major"},"geometry":{"type":"LineString","coordinates":[[-77.05,38.9],[-77.0,38.9]]}}]}`
	type layer struct {
		Name, Source, Format, Digest, ReplacedDigest string
		Features, Vertices, Revision, Order          int
		Bounds                                       [4]float64
	}
	decode := func(t *testing.T, r response) layer {
		t.Helper()
		var x struct {
			Name           string     `json:"name"`
			Source         string     `json:"source"`
			Format         string     `json:"format"`
			Digest         string     `json:"digest"`
			ReplacedDigest string     `json:"replaced_digest"`
			Features       int        `json:"features"`
			Vertices       int        `json:"vertices"`
			Revision       int        `json:"revision"`
			Order          int        `json:"order"`
			Bounds         [4]float64 `json:"bounds"`
		}
		if err := json.Unmarshal(r.body, &x); err != nil {
			t.Fatalf("%v: %s", err, r.body)
		}
		return layer{x.Name, x.Source, x.Format, x.Digest, x.ReplacedDigest, x.Features, x.Vertices, x.Revision, x.Order, x.Bounds}
	}
	var first layer
	t.Run("OKImport", func(t *testing.T) {
		r := ts.send(t, request{method: "POST", path: "/api/v1/basemaps/streets?source=streets.geojson&order=-3", auth: bearer(adminToken), body: streets})
		if r.status != http.StatusCreated {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		first = decode(t, r)
		if first.Name != "streets" || first.Format != "geojson" || first.Features != 1 || first.Vertices != 2 || first.Order != -3 || first.Revision != 1 ||
			first.Bounds != [4]float64{-77.05, 38.9, -77.0, 38.9} {
			t.Errorf("layer %+v", first)
		}
	})
	t.Run("OKReplace", func(t *testing.T) {
		topo := `{"type":"Topology","objects":{"s":{"type":"LineString","arcs":[0]}},"arcs":[[[-77.05,38.9],[-77.0,38.91]]]}`
		r := ts.send(t, request{method: "POST", path: "/api/v1/basemaps/streets?source=s.topojson&replace=true", auth: bearer(adminToken), body: topo, contentType: "application/topo+json"})
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if l := decode(t, r); l.Format != "topojson" || l.Revision != 2 || l.ReplacedDigest != first.Digest {
			t.Errorf("layer %+v", l)
		}
	})
	t.Run("ErrProblems", func(t *testing.T) {
		bad := "{\"type\":\"FeatureCollection\",\"features\":[\n{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[0,99]}}]}"
		r := ts.send(t, request{method: "POST", path: "/api/v1/basemaps/bad?source=bad.geojson", auth: bearer(adminToken), body: bad})
		var e struct {
			Error struct {
				Code     string `json:"code"`
				Message  string `json:"message"`
				Problems []struct {
					Feature, Line  int
					Field, Message string
				} `json:"problems"`
			} `json:"error"`
		}
		if err := json.Unmarshal(r.body, &e); err != nil || r.status != http.StatusBadRequest {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if p := e.Error.Problems; e.Error.Code != "invalid" || len(p) != 1 || p[0].Feature != 0 || p[0].Line != 2 || p[0].Field != "geometry.coordinates" ||
			p[0].Message != "latitude 99 is outside [-90, 90] (is the file in longitude, latitude order, in WGS84?)" {
			t.Errorf("error %+v", e.Error)
		}
		for _, c := range []struct {
			path, ctype string
			status      int
		}{
			{"/api/v1/basemaps/streets?source=s.geojson", "", http.StatusConflict},
			{"/api/v1/basemaps/x?source=s.geojson&format=kml", "", http.StatusBadRequest},
			{"/api/v1/basemaps/x?source=s.geojson&order=high", "", http.StatusBadRequest},
			{"/api/v1/basemaps/x?source=s.geojson", "text/csv", http.StatusUnsupportedMediaType},
			{"/api/v1/basemaps/Bad%20Name?source=s.geojson", "", http.StatusBadRequest},
		} {
			if r := ts.send(t, request{method: "POST", path: c.path, auth: bearer(adminToken), body: streets, contentType: c.ctype}); r.status != c.status {
				t.Errorf("POST %s (%s): status %d, want %d: %s", c.path, c.ctype, r.status, c.status, r.body)
			}
		}
	})
	t.Run("OKDelete", func(t *testing.T) {
		if r := ts.send(t, request{method: "DELETE", path: "/api/v1/basemaps/streets", auth: bearer(adminToken)}); r.status != http.StatusNoContent {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if r := ts.send(t, request{method: "DELETE", path: "/api/v1/basemaps/streets", auth: bearer(adminToken)}); r.status != http.StatusNotFound {
			t.Errorf("deleting again: status %d", r.status)
		}
	})
}
