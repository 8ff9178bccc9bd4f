package app

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/probity-dev/probity/internal/basemap"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/synth"
)

// loadDemoBasemap imports the synthetic city's basemap, as its
// administrator would with probity basemap import: the districts (a 3×3
// grid, as a quantized TopoJSON topology whose neighbours share their
// edges), the city's boundary, a street grid of the kind the city's
// trips follow (a street every kilometre, a major road every five) and
// the agency facilities' grounds.
func loadDemoBasemap(ctx context.Context, srv *Server, city *synth.City) error {
	admin, err := demoPrincipal(ctx, srv, "admin")
	if err != nil {
		return err
	}
	minLat, minLon, maxLat, maxLon := city.Bounds()
	layers := []struct {
		name, source string
		format       basemap.Format
		order        int
		doc          any
	}{
		{"districts", "synthetic-city-districts.topojson", basemap.TopoJSON, 0, demoDistricts(minLat, minLon, maxLat, maxLon)},
		{"city", "synthetic-city-boundary.geojson", basemap.GeoJSON, 10, featureCollection([]geoFeature{{
			Properties: map[string]string{"name": "Synthetic city", "class": "boundary"},
			Geometry:   geoGeometry{Type: "Polygon", Coordinates: [][][2]float64{box(minLat, minLon, maxLat, maxLon)}},
		}})},
		{"streets", "synthetic-city-streets.geojson", basemap.GeoJSON, 20, demoStreets(city, minLat, minLon, maxLat, maxLon)},
		{"grounds", "synthetic-city-grounds.geojson", basemap.GeoJSON, 30, demoGrounds(city)},
	}
	for _, l := range layers {
		data, err := json.Marshal(l.doc)
		if err != nil {
			return err
		}
		if _, err := srv.Basemaps.Import(ctx, admin, store.BasemapImport{Name: l.name, Source: l.source, Format: l.format, Data: data, Order: l.order}); err != nil {
			return fmt.Errorf("import the basemap layer %s: %w", l.name, err)
		}
	}
	return nil
}

// GeoJSON as the demo writes it.
type geoFeature struct {
	Type       string            `json:"type"`
	Properties map[string]string `json:"properties"`
	Geometry   geoGeometry       `json:"geometry"`
}

type geoGeometry struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

func featureCollection(fs []geoFeature) any {
	for i := range fs {
		fs[i].Type = "Feature"
	}
	return map[string]any{"type": "FeatureCollection", "features": fs}
}

// round7 keeps a coordinate to the 1e-7 degree a layer keeps.
func round7(x float64) float64 { return math.Round(x*1e7) / 1e7 }

// box returns the closed, counter-clockwise ring of a box.
func box(minLat, minLon, maxLat, maxLon float64) [][2]float64 {
	a, b, c, d := round7(minLon), round7(minLat), round7(maxLon), round7(maxLat)
	return [][2]float64{{a, b}, {c, b}, {c, d}, {a, d}, {a, b}}
}

// demoStreets returns a street every kilometre across the city, north to
// south and east to west, every fifth a major road.
func demoStreets(city *synth.City, minLat, minLon, maxLat, maxLon float64) any {
	half := city.Config().RadiusKm
	n := int(math.Floor(half))
	var fs []geoFeature
	for k := -n; k <= n; k++ {
		class := "minor"
		if k%5 == 0 {
			class = "major"
		}
		t := (float64(k) + half) / (2 * half) // from 0 at the south or west edge to 1
		lat := round7(minLat + t*(maxLat-minLat))
		lon := round7(minLon + t*(maxLon-minLon))
		fs = append(fs,
			geoFeature{Properties: map[string]string{"name": ordinal(k+n+1) + " Street", "class": class},
				Geometry: geoGeometry{Type: "LineString", Coordinates: [][2]float64{{round7(minLon), lat}, {round7(maxLon), lat}}}},
			geoFeature{Properties: map[string]string{"name": "Avenue " + letters(k+n), "class": class},
				Geometry: geoGeometry{Type: "LineString", Coordinates: [][2]float64{{lon, round7(minLat)}, {lon, round7(maxLat)}}}})
	}
	return featureCollection(fs)
}

// ordinal returns 1st, 2nd, 3rd, 4th … 11th, 12th, 13th, 21st.
func ordinal(n int) string {
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return fmt.Sprint(n) + suffix
}

// letters returns A … Z, AA, AB … for 0, 1, 2 ….
func letters(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// demoGrounds returns the agency facilities' grounds.
func demoGrounds(city *synth.City) any {
	var fs []geoFeature
	for _, f := range city.Facilities() {
		ring := make([][2]float64, len(f.Polygon))
		for i, p := range f.Polygon {
			ring[i] = [2]float64{round7(p.Lon), round7(p.Lat)}
		}
		fs = append(fs, geoFeature{Properties: map[string]string{"name": f.Name, "class": "facility"},
			Geometry: geoGeometry{Type: "Polygon", Coordinates: [][][2]float64{ring}}})
	}
	return featureCollection(fs)
}

// demoDistricts returns the city's nine districts as a TopoJSON topology
// quantized to the grid: each edge between two districts is one arc,
// which both use, one of them reversed.
func demoDistricts(minLat, minLon, maxLat, maxLon float64) any {
	const k = 3
	names := [k][k]string{ // by row from the south, then column from the west
		{"Southwest", "South", "Southeast"},
		{"West", "Centre", "East"},
		{"Northwest", "North", "Northeast"},
	}
	// Arcs, delta-encoded: horizontal edges first (row line j, column i),
	// then vertical ones (column line i, row j).
	var arcs [][2][2]int
	h := func(i, j int) int { return j*k + i }
	v := func(i, j int) int { return (k+1)*k + i*k + j }
	for j := 0; j <= k; j++ {
		for i := range k {
			arcs = append(arcs, [2][2]int{{i, j}, {1, 0}})
		}
	}
	for i := 0; i <= k; i++ {
		for j := range k {
			arcs = append(arcs, [2][2]int{{i, j}, {0, 1}})
		}
	}
	type geometry struct {
		Type       string            `json:"type"`
		Arcs       [][]int           `json:"arcs"`
		Properties map[string]string `json:"properties"`
	}
	var geoms []geometry
	for j := range k {
		for i := range k {
			// Counter-clockwise: the south edge, the east edge, the north
			// edge reversed, the west edge reversed (^a is ~a in TopoJSON).
			geoms = append(geoms, geometry{Type: "Polygon", Arcs: [][]int{{h(i, j), v(i+1, j), ^h(i, j+1), ^v(i, j)}},
				Properties: map[string]string{"name": names[j][i], "class": "district"}})
		}
	}
	return map[string]any{
		"type": "Topology",
		"transform": map[string]any{
			"scale":     []float64{(maxLon - minLon) / k, (maxLat - minLat) / k},
			"translate": []float64{minLon, minLat},
		},
		"objects": map[string]any{"districts": map[string]any{"type": "GeometryCollection", "geometries": geoms}},
		"arcs":    arcs,
	}
}
