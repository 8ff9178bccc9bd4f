package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/basemap"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
)

// Test layers: streets as GeoJSON, two districts sharing an edge as
// TopoJSON, and the streets again with one more.
const (
	basemapStreets = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"name":"Main Street","class":"major"},"geometry":{"type":"LineString","coordinates":[[-77.05,38.9],[-77.0,38.9]]}},
{"type":"Feature","properties":{"name":"1st Street","class":"minor"},"geometry":{"type":"LineString","coordinates":[[-77.04,38.88],[-77.04,38.92]]}},
{"type":"Feature","properties":{"name":"Unlocated"},"geometry":null}
]}`
	basemapDistricts = `{"type":"Topology","transform":{"scale":[0.01,0.01],"translate":[-77.06,38.87]},
"objects":{"districts":{"type":"GeometryCollection","geometries":[
{"type":"Polygon","arcs":[[0,1]],"properties":{"name":"West","class":"district"}},
{"type":"Polygon","arcs":[[2,-1]],"properties":{"name":"East","class":"district"}}]}},
"arcs":[[[3,0],[0,6]],[[3,6],[-3,0],[0,-6],[3,0]],[[3,0],[3,0],[0,6],[-3,0]]]}`
	basemapStreets2 = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"name":"Main Street","class":"major"},"geometry":{"type":"LineString","coordinates":[[-77.05,38.9],[-77.0,38.9]]}},
{"type":"Feature","properties":{"name":"1st Street","class":"minor"},"geometry":{"type":"LineString","coordinates":[[-77.04,38.88],[-77.04,38.92]]}},
{"type":"Feature","properties":{"name":"2nd Street","class":"minor"},"geometry":{"type":"LineString","coordinates":[[-77.03,38.88],[-77.03,38.92]]}}
]}`
)

func testBasemaps(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustPrivacyOrg(t, d)
	bm := o.DB.Basemaps()
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "storetest-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	// unchanged checks that nothing was recorded since the ledger held n
	// entries, and that the layers are still want (name: features).
	unchanged := func(t *testing.T, label string, n int, want map[string]int) {
		t.Helper()
		if got := len(o.Entries(t)); got != n {
			t.Errorf("%s added %d ledger entries", label, got-n)
		}
		layers, err := bm.Layers(ctx, o.As["cbp-analyst"])
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, l := range layers {
			got[l.Name] = len(l.Layer.Features)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: the layers are %v, want %v", label, got, want)
		}
	}
	var streets store.BasemapInfo

	t.Run("OKImportGeoJSON", func(t *testing.T) {
		info, err := bm.Import(ctx, admin, store.BasemapImport{Name: "streets", Source: "/tmp/exports/streets.geojson", Data: []byte(basemapStreets), Order: 20})
		if err != nil {
			t.Fatal(err)
		}
		streets = info
		if info.ID == 0 || info.Source != "streets.geojson" || info.Format != basemap.GeoJSON || info.Features != 2 || info.Skipped != 1 || info.Vertices != 4 ||
			info.Revision != 1 || info.Order != 20 || info.ImportedBy != "storetest-admin" || info.Digest != ledger.PayloadDigest([]byte(basemapStreets)) ||
			info.Bounds != (basemap.Bounds{MinLon: -77.05, MinLat: 38.88, MaxLon: -77.0, MaxLat: 38.92}) || info.StoredBytes == 0 {
			t.Errorf("import %+v", info)
		}
		es := o.Entries(t, "basemap.imported")
		if len(es) != 1 {
			t.Fatalf("%d basemap.imported entries", len(es))
		}
		if e := es[0]; e.Actor.ID != "storetest-admin" || e.Subject != "basemap/streets" || e.Digest != info.Digest || e.Data["layer"] != "streets" ||
			e.Data["features"] != jnum(2) || e.Data["revision"] != jnum(1) || e.Data["source"] != "streets.geojson" || e.Component != "" {
			t.Errorf("entry %+v", e)
		}
	})
	t.Run("OKImportTopoJSON", func(t *testing.T) {
		// A privacy officer of a component manages the installation's
		// layers too; the format is told from the file.
		info, err := bm.Import(ctx, o.As["cbp-cpo"], store.BasemapImport{Name: "districts", Source: "districts.topojson", Data: []byte(basemapDistricts), Order: -5})
		if err != nil {
			t.Fatal(err)
		}
		if info.Format != basemap.TopoJSON || info.Features != 2 || info.Vertices != 8 {
			t.Errorf("import %+v", info)
		}
	})
	t.Run("OKList", func(t *testing.T) {
		// Everyone signed in reads the layers, in drawing order.
		for _, who := range []string{"cbp-analyst", "auditor", "cbp-head"} {
			list, err := bm.List(ctx, o.As[who])
			if err != nil || len(list) != 2 || list[0].Name != "districts" || list[1].Name != "streets" || list[1].Digest != streets.Digest {
				t.Errorf("List as %s = %+v, %v", who, list, err)
			}
		}
		layers, err := bm.Layers(ctx, o.As["cbp-analyst"])
		if err != nil || len(layers) != 2 {
			t.Fatalf("Layers = %d, %v", len(layers), err)
		}
		west := layers[0].Layer.Features[0]
		if west.Name != "West" || west.Class != "district" || len(west.Parts[0]) != 4 || (west.Parts[0][0] != basemap.Pos{Lon: -77.03, Lat: 38.87}) {
			t.Errorf("the West district %+v", west)
		}
		if f := layers[1].Layer.Features[1]; f.Name != "1st Street" || f.Kind != basemap.Line || layers[1].Layer.Skipped != 1 {
			t.Errorf("1st Street %+v", f)
		}
		// Unchanged layers come from the cache.
		again, err := bm.Layers(ctx, o.As["auditor"])
		if err != nil || again[1].Layer != layers[1].Layer {
			t.Errorf("the layers were decoded again: %v", err)
		}
	})
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		if _, err := bm.List(ctx, auth.Anonymous); fault.CodeOf(err) != fault.Unauthenticated {
			t.Errorf("List as nobody = %v", err)
		}
		if _, err := bm.Layers(ctx, auth.Anonymous); fault.CodeOf(err) != fault.Unauthenticated {
			t.Errorf("Layers as nobody = %v", err)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		n := len(o.Entries(t))
		_, err := bm.Import(ctx, admin, store.BasemapImport{Name: "streets", Source: "streets2.geojson", Data: []byte(basemapStreets2)})
		if fault.CodeOf(err) != fault.Conflict || !strings.Contains(fault.MessageOf(err), "there is a layer streets already (imported from streets.geojson") {
			t.Errorf("import over a layer without replace = %v", err)
		}
		unchanged(t, "a refused import", n, map[string]int{"districts": 2, "streets": 2})
	})
	t.Run("OKReplace", func(t *testing.T) {
		before, err := bm.Layers(ctx, o.As["cbp-analyst"])
		if err != nil {
			t.Fatal(err)
		}
		info, err := bm.Import(ctx, o.As["dpo"], store.BasemapImport{Name: "streets", Source: "streets2.geojson", Data: []byte(basemapStreets2), Order: 20, Replace: true})
		if err != nil {
			t.Fatal(err)
		}
		if info.ID != streets.ID || info.Revision != 2 || info.Features != 3 || info.ReplacedDigest != streets.Digest || info.ImportedBy != "dpo" {
			t.Errorf("replacement %+v", info)
		}
		es := o.Entries(t, "basemap.replaced")
		if len(es) != 1 || es[0].Data["replaced_digest"] != streets.Digest || es[0].Data["revision"] != jnum(2) || es[0].Digest != info.Digest || es[0].Actor.ID != "dpo" {
			t.Errorf("entries %+v", es)
		}
		after, err := bm.Layers(ctx, o.As["cbp-analyst"])
		if err != nil || len(after) != 2 || len(after[1].Layer.Features) != 3 || after[1].Layer == before[1].Layer || after[0].Layer != before[0].Layer {
			t.Errorf("after the replacement the layers are %+v, %v", after, err)
		}
	})
	t.Run("ErrSameFile", func(t *testing.T) {
		n := len(o.Entries(t))
		_, err := bm.Import(ctx, admin, store.BasemapImport{Name: "streets", Source: "streets2.geojson", Data: []byte(basemapStreets2), Order: 20, Replace: true})
		if fault.CodeOf(err) != fault.Conflict || !strings.Contains(fault.MessageOf(err), "already holds this file (revision 2)") {
			t.Errorf("replacing with the same file = %v", err)
		}
		unchanged(t, "replacing with the same file", n, map[string]int{"districts": 2, "streets": 3})
	})
	t.Run("ErrBadFile", func(t *testing.T) {
		n := len(o.Entries(t))
		bad := strings.Replace(basemapStreets, "38.92]", "98.92]", 1)
		_, err := bm.Import(ctx, admin, store.BasemapImport{Name: "streets", Source: "bad.geojson", Data: []byte(bad), Replace: true})
		pe, ok := errors.AsType[*basemap.Error](err)
		if fault.CodeOf(err) != fault.Invalid || !ok || len(pe.Problems) != 1 || pe.Problems[0].Feature != 1 || pe.Problems[0].Line != 3 ||
			!strings.Contains(fault.MessageOf(err), "bad.geojson: the layer was not imported (nothing was): feature 1 (line 3): geometry.coordinates[1]: latitude 98.92 is outside [-90, 90]") {
			t.Errorf("a bad file = %v", err)
		}
		unchanged(t, "a bad file", n, map[string]int{"districts": 2, "streets": 3})
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		n := len(o.Entries(t))
		for _, c := range []struct {
			name string
			in   store.BasemapImport
			want string
		}{
			{"Name", store.BasemapImport{Name: "Streets!", Source: "s.geojson", Data: []byte(basemapStreets)}, "a layer's name is 1 to 63 lower-case letters"},
			{"Source", store.BasemapImport{Name: "s", Source: "", Data: []byte(basemapStreets)}, "give the file's name"},
			{"Order", store.BasemapImport{Name: "s", Source: "s.geojson", Data: []byte(basemapStreets), Order: 5000}, "the drawing order is a whole number from -1000 to 1000"},
			{"Format", store.BasemapImport{Name: "s", Source: "s.kml", Format: "kml", Data: []byte(basemapStreets)}, `unknown format "kml"`},
			{"Empty", store.BasemapImport{Name: "s", Source: "s.geojson", Data: []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null}]}`)}, "s.geojson holds no features to draw (1 without a geometry)"},
		} {
			if _, err := bm.Import(ctx, admin, c.in); fault.CodeOf(err) != fault.Invalid || !strings.Contains(fault.MessageOf(err), c.want) {
				t.Errorf("%s: %v, want %q", c.name, err, c.want)
			}
		}
		unchanged(t, "invalid imports", n, map[string]int{"districts": 2, "streets": 3})
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		n := len(o.Entries(t))
		for _, who := range []string{"cbp-analyst", "auditor", "cbp-head", "cbp-isso"} {
			if _, err := bm.Import(ctx, o.As[who], store.BasemapImport{Name: "mine", Source: "s.geojson", Data: []byte(basemapStreets)}); fault.CodeOf(err) != fault.Forbidden {
				t.Errorf("import as %s = %v", who, err)
			}
			if err := bm.Delete(ctx, o.As[who], "streets"); fault.CodeOf(err) != fault.Forbidden {
				t.Errorf("delete as %s = %v", who, err)
			}
		}
		unchanged(t, "refused changes", n, map[string]int{"districts": 2, "streets": 3})
	})
	t.Run("OKDelete", func(t *testing.T) {
		if err := bm.Delete(ctx, o.As["ice-cpo"], "districts"); err != nil {
			t.Fatal(err)
		}
		es := o.Entries(t, "basemap.deleted")
		if len(es) != 1 || es[0].Subject != "basemap/districts" || es[0].Digest != ledger.PayloadDigest([]byte(basemapDistricts)) || es[0].Actor.ID != "ice-cpo" {
			t.Errorf("entries %+v", es)
		}
		unchanged(t, "a deletion (after its entry)", len(o.Entries(t)), map[string]int{"streets": 3})
		if err := bm.Delete(ctx, admin, "districts"); fault.CodeOf(err) != fault.NotFound {
			t.Errorf("deleting it again = %v", err)
		}
		// The name is free again.
		if _, err := bm.Import(ctx, admin, store.BasemapImport{Name: "districts", Source: "districts.topojson", Data: []byte(basemapDistricts)}); err != nil {
			t.Errorf("import after the deletion: %v", err)
		}
	})
	t.Run("ErrDamaged", func(t *testing.T) {
		dsn := NewDSN(t, d)
		db, _ := MustOpen(t, dsn, MustKeys(t))
		bm := db.Basemaps()
		if _, err := bm.Import(ctx, admin, store.BasemapImport{Name: "streets", Source: "streets.geojson", Data: []byte(basemapStreets)}); err != nil {
			t.Fatal(err)
		}
		raw := RawDB(t, dsn)
		if _, err := raw.Exec(`UPDATE basemap_layers SET data = $1`, []byte("not a layer")); err != nil {
			t.Fatal(err)
		}
		if _, err := bm.Layers(ctx, admin); err == nil || !strings.Contains(err.Error(), "basemap layer streets (revision 1)") {
			t.Errorf("Layers of a damaged layer = %v", err)
		}
		if list, err := bm.List(ctx, admin); err != nil || len(list) != 1 {
			t.Errorf("List = %v, %v", list, err)
		}
	})
}
