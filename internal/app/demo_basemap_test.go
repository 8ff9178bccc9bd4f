package app

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/probity-dev/probity/internal/basemap"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/mapsvg"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
	"github.com/probity-dev/probity/internal/synth"
)

func TestLoadDemoBasemap(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testLoadDemoBasemap(t, d) })
	}
}

func testLoadDemoBasemap(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	cityCfg := synth.DefaultConfig()
	cityCfg.Devices, cityCfg.Employees, cityCfg.RadiusKm = 50, 4, 6
	city, err := synth.New(cityCfg)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "data")
	cfg := Config{Data: data, Addr: "127.0.0.1:0", DB: storetest.NewDSN(t, d), KeyFile: filepath.Join(data, "ledger.key"),
		Origin: "probity.test/ledger", LogLevel: "error", LogFormat: "json"}
	if err := prepareDataDir(cfg.Data); err != nil {
		t.Fatal(err)
	}
	srv, err := OpenServer(ctx, cfg, storetest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := loadDemoOrg(ctx, srv); err != nil {
		t.Fatal(err)
	}
	if err := loadDemoBasemap(ctx, srv, city); err != nil {
		t.Fatal(err)
	}
	analyst, err := demoPrincipal(ctx, srv, "cbp-analyst1")
	if err != nil {
		t.Fatal(err)
	}
	layers, err := srv.Basemaps.Layers(ctx, analyst)
	if err != nil {
		t.Fatal(err)
	}
	minLat, minLon, maxLat, maxLon := city.Bounds()
	cityBox := basemap.Bounds{MinLon: minLon - 1e-6, MinLat: minLat - 1e-6, MaxLon: maxLon + 1e-6, MaxLat: maxLat + 1e-6}
	want := []struct {
		name     string
		format   basemap.Format
		features int
		kind     basemap.Kind
	}{
		{"districts", basemap.TopoJSON, 9, basemap.Polygon},
		{"city", basemap.GeoJSON, 1, basemap.Polygon},
		{"streets", basemap.GeoJSON, 2 * (2*6 + 1), basemap.Line},
		{"grounds", basemap.GeoJSON, len(city.Facilities()), basemap.Polygon},
	}
	if len(layers) != len(want) {
		t.Fatalf("%d layers, want %d", len(layers), len(want))
	}
	for i, w := range want {
		l := layers[i]
		if l.Name != w.name || l.Format != w.format || len(l.Layer.Features) != w.features || l.Layer.Counts()[w.kind] != w.features || l.ImportedBy != "admin" {
			t.Errorf("layer %d: %s (%s) with %d features by %s; want %s (%s) with %d", i, l.Name, l.Format, len(l.Layer.Features), l.ImportedBy, w.name, w.format, w.features)
		}
		if l.Bounds.Union(cityBox) != cityBox {
			t.Errorf("layer %s reaches %v, outside the city %v", l.Name, l.Bounds, cityBox)
		}
	}
	// Neighbouring districts share their edge exactly: the West district's
	// east edge is the Centre's west edge.
	west, centre := layers[0].Layer.Features[3], layers[0].Layer.Features[4]
	if west.Name != "West" || centre.Name != "Centre" || west.Parts[0][1] != centre.Parts[0][0] || west.Parts[0][2] != centre.Parts[0][3] {
		t.Errorf("West %+v and Centre %+v do not share an edge", west, centre)
	}
	storetest.SettledSize(t, srv.DB, srv.Ledger)
	imported := 0
	for r, err := range srv.Ledger.AllRows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		e, err := ledger.Decode(r.Entry)
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == "basemap.imported" && e.Actor.ID == "admin" {
			imported++
		}
	}
	if imported != 4 {
		t.Errorf("%d basemap.imported entries by admin, want 4", imported)
	}
	// The basemap draws.
	var ml []mapsvg.Layer
	all := basemap.EmptyBounds()
	for _, l := range layers {
		ml = append(ml, mapsvg.Layer{Name: l.Name, Layer: l.Layer})
		all = all.Union(l.Bounds)
	}
	if _, st := mapsvg.Render(&mapsvg.Map{View: mapsvg.Fit(all, 800, 520, 24, 17), Layers: ml}); st.Features != 1+9+26+len(city.Facilities()) || st.Culled != 0 {
		t.Errorf("the whole city's map drew %+v", st)
	}
}
