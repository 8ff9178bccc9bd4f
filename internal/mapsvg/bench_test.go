package mapsvg_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/probity-dev/probity/internal/basemap"
	"github.com/probity-dev/probity/internal/mapsvg"
)

// cityLayers returns a street grid of 30 by 30 streets, 9 districts and a
// boundary over 30 km around dc, as the demo's basemap has.
func cityLayers() []mapsvg.Layer {
	var streets, districts []basemap.Feature
	const half = 0.135 // degrees of latitude, about 15 km
	dLon := half / math.Cos(dc.Lat*math.Pi/180)
	for i := range 31 {
		t := -1 + float64(i)/15
		class := "minor"
		if i%5 == 0 {
			class = "major"
		}
		streets = append(streets,
			feature(basemap.Line, "", class, []basemap.Pos{{Lon: dc.Lon - dLon, Lat: dc.Lat + t*half}, {Lon: dc.Lon + dLon, Lat: dc.Lat + t*half}}),
			feature(basemap.Line, "", class, []basemap.Pos{{Lon: dc.Lon + t*dLon, Lat: dc.Lat - half}, {Lon: dc.Lon + t*dLon, Lat: dc.Lat + half}}))
	}
	for i := range 3 {
		for j := range 3 {
			c := basemap.Pos{Lon: dc.Lon + float64(i-1)*2*dLon/3, Lat: dc.Lat + float64(j-1)*2*half/3}
			districts = append(districts, feature(basemap.Polygon, "District", "district", square(c, half/3)))
		}
	}
	return []mapsvg.Layer{
		{Name: "districts", Layer: layer(districts...)},
		{Name: "boundary", Layer: layer(feature(basemap.Polygon, "City", "boundary", square(dc, half)))},
		{Name: "streets", Layer: layer(streets...)},
	}
}

// BenchmarkRender50k draws 50,000 pings of a device's track over the
// city's basemap, with the search area, as a query's page does.
func BenchmarkRender50k(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	pts := make([]basemap.Pos, 50_000)
	p := dc
	for i := range pts {
		p.Lon += (rng.Float64() - 0.5) * 0.002
		p.Lat += (rng.Float64() - 0.5) * 0.0015
		pts[i] = p
	}
	bounds := basemap.EmptyBounds()
	for _, q := range pts {
		bounds.Extend(q)
	}
	m := &mapsvg.Map{ID: "bench", Title: "Query 1", View: mapsvg.Fit(bounds, 800, 560, 24, 18), Layers: cityLayers(),
		Area: mapsvg.Shape{Circle: &mapsvg.Circle{Center: dc, RadiusM: 500}}, AreaWhat: "the search area",
		Points: pts, PointsWhat: "pings of device p-bench", Track: true}
	var size int
	for b.Loop() {
		svg, st := mapsvg.Render(m)
		if !st.Aggregated {
			b.Fatalf("stats %+v", st)
		}
		size = len(svg)
	}
	b.ReportMetric(float64(size), "svg-bytes")
}
