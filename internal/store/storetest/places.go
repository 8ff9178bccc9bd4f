package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/golang/geo/s2"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/places"
	"github.com/probity-dev/probity/internal/store"
)

// Test places: two in Manhattan, a file of them, and a home near them.
const (
	placesGeoJSON = `{"type":"FeatureCollection","features":[
{"type":"Feature","id":"node/1","properties":{"amenity":"place_of_worship","name":"St. Test"},"geometry":{"type":"Point","coordinates":[-73.9857,40.7484]}},
{"type":"Feature","properties":{"amenity":"courthouse","name":"Test Court"},"geometry":{"type":"Polygon","coordinates":[[[-73.99,40.74],[-73.98,40.74],[-73.98,40.745],[-73.99,40.74]]]}},
{"type":"Feature","properties":{"amenity":"cafe"},"geometry":{"type":"Point","coordinates":[-73.95,40.70]}}
]}`
	placesCSV = "name,category,lat,lon,radius_m\nField office,agency_facility,40.7128,-74.0060,300\nClinic,medical,40.73,-73.99,\n"
	// homeLat and homeLon are written as no stored value may show them.
	homeLat, homeLon = 40.74217, -73.98955
)

// jnum is how a decoded ledger entry holds the number n.
func jnum(n any) json.Number { return json.Number(fmt.Sprint(n)) }

// MustHomeKey returns a new home-cell key.
func MustHomeKey(tb testing.TB) *places.HomeKey {
	tb.Helper()
	k, err := places.NewHomeKey(places.GenerateHomeKey())
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func testPlaces(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustPrivacyOrg(t, d)
	key := MustHomeKey(t)
	var changes atomic.Int64
	ps := o.DB.Places(key, func() { changes.Add(1) })
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "storetest-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	version := func(t *testing.T) int64 {
		t.Helper()
		v, err := ps.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// unchanged checks that nothing was stored or recorded since the
	// ledger held n entries at version v.
	unchanged := func(t *testing.T, label string, n int, v int64) {
		t.Helper()
		if got := len(o.Entries(t)); got != n {
			t.Errorf("%s added %d ledger entries", label, got-n)
		}
		if got := version(t); got != v {
			t.Errorf("%s changed the version from %d to %d", label, v, got)
		}
	}
	osm := places.Options{CategoryProperty: "amenity", SkipUnmapped: true}
	var cbpImport, deptImport store.PlaceImportInfo

	t.Run("OKImportGeoJSON", func(t *testing.T) {
		v := version(t)
		info, err := ps.Import(ctx, o.As["cbp-cpo"], store.PlaceImport{Source: "/home/someone/exports/nyc.geojson", Format: places.GeoJSON, Data: []byte(placesGeoJSON), Options: osm})
		if err != nil {
			t.Fatal(err)
		}
		cbpImport = info
		if info.ID == 0 || info.Component != "CBP" || info.Source != "nyc.geojson" || info.Places != 2 || info.Skipped != 1 || info.ImportedBy != "cbp-cpo" ||
			info.Digest != ledger.PayloadDigest([]byte(placesGeoJSON)) {
			t.Errorf("import %+v", info)
		}
		if got := version(t); got != v+1 || changes.Load() != 1 {
			t.Errorf("version %d → %d, %d change notices", v, got, changes.Load())
		}
		es := o.Entries(t, "places.imported")
		if len(es) != 1 {
			t.Fatalf("%d places.imported entries", len(es))
		}
		e := es[0]
		counts, _ := e.Data["by_category"].(map[string]any)
		if e.Component != "CBP" || e.Actor.ID != "cbp-cpo" || e.Subject != fmt.Sprintf("place_import/%d", info.ID) || e.Digest != info.Digest ||
			e.Data["places"] != jnum(2) || e.Data["skipped"] != jnum(1) || e.Data["source"] != "nyc.geojson" || counts["court"] != jnum(1) || counts["place_of_worship"] != jnum(1) {
			t.Errorf("entry %+v", e)
		}
		list, err := ps.List(ctx, o.As["cbp-cpo"], store.PlaceFilter{})
		if err != nil || len(list) != 2 {
			t.Fatalf("List = %d places, %v", len(list), err)
		}
		if p := list[0]; p.Name != "St. Test" || p.Ref != "node/1" || p.Category != places.PlaceOfWorship || p.Component != "CBP" || p.ImportID != info.ID || !p.Area.Contains(40.7484, -73.9857) {
			t.Errorf("place %+v", p)
		}
		if p := list[1]; p.Category != places.Court || !p.Area.Contains(40.741, -73.985) {
			t.Errorf("place %+v", p)
		}
	})
	t.Run("OKImportCSVDepartmentWide", func(t *testing.T) {
		info, err := ps.Import(ctx, o.As["dpo"], store.PlaceImport{Source: "dept.csv", Format: places.CSV, Data: []byte(placesCSV)})
		if err != nil {
			t.Fatal(err)
		}
		deptImport = info
		if info.Component != "" || info.Places != 2 {
			t.Errorf("import %+v", info)
		}
		// A department officer may import for a component too.
		other := strings.Replace(placesCSV, "Clinic", "ICE clinic", 1)
		info, err = ps.Import(ctx, o.As["dpo"], store.PlaceImport{Source: "ice.csv", Format: places.CSV, Data: []byte(other), Component: "ICE"})
		if err != nil || info.Component != "ICE" {
			t.Fatalf("import for ICE: %+v, %v", info, err)
		}
	})
	t.Run("ErrBadFile", func(t *testing.T) {
		n, v := len(o.Entries(t)), version(t)
		bad := placesCSV + "Broken,school,north,-73.99,\nFar,school,40.7,-73.9,9000\n"
		_, err := ps.Import(ctx, o.As["cbp-cpo"], store.PlaceImport{Source: "bad.csv", Format: places.CSV, Data: []byte(bad)})
		wantCode(t, "bad rows", err, fault.Invalid)
		if msg := fault.MessageOf(err); !strings.Contains(msg, "bad.csv") || !strings.Contains(msg, `line 4: lat: want a decimal number of degrees, got "north"`) ||
			!strings.Contains(msg, "line 5: radius_m: the radius is 9000 m; the limit is 5000 m") || !strings.Contains(msg, "nothing was") {
			t.Errorf("message %q", msg)
		}
		_, err = ps.Import(ctx, o.As["cbp-cpo"], store.PlaceImport{Source: "cafes.geojson", Format: places.GeoJSON, Options: osm,
			Data: []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"amenity":"cafe"},"geometry":{"type":"Point","coordinates":[1,2]}}]}`)})
		wantCode(t, "nothing to import", err, fault.Invalid)
		_, err = ps.Import(ctx, o.As["cbp-cpo"], store.PlaceImport{Source: "", Format: places.CSV, Data: []byte(placesCSV)})
		wantCode(t, "no source", err, fault.Invalid)
		_, err = ps.Import(ctx, o.As["cbp-cpo"], store.PlaceImport{Source: "x.kml", Format: "kml", Data: []byte(placesCSV)})
		wantCode(t, "format", err, fault.Invalid)
		_, err = ps.Import(ctx, o.As["dpo"], store.PlaceImport{Source: "x.csv", Format: places.CSV, Data: []byte(placesCSV), Component: "NOPE"})
		wantCode(t, "unknown component", err, fault.Invalid)
		_, err = ps.Import(ctx, o.As["cbp-cpo"], store.PlaceImport{Source: "again.geojson", Format: places.GeoJSON, Data: []byte(placesGeoJSON), Options: osm})
		wantCode(t, "the same file again", err, fault.Conflict)
		unchanged(t, "refused imports", n, v)
		if list, _ := ps.List(ctx, o.As["cbp-cpo"], store.PlaceFilter{}); len(list) != 4 {
			t.Errorf("CBP sees %d places after refused imports, want its 2 and the department's 2", len(list))
		}
	})
	t.Run("ErrRoles", func(t *testing.T) {
		n, v := len(o.Entries(t)), version(t)
		for _, who := range []struct {
			label string
			p     auth.Principal
		}{{"administrator", admin}, {"cbp-analyst", o.As["cbp-analyst"]}, {"cbp-isso", o.As["cbp-isso"]}, {"cbp-head", o.As["cbp-head"]}, {"auditor", o.As["auditor"]}} {
			_, err := ps.Import(ctx, who.p, store.PlaceImport{Source: "x.csv", Format: places.CSV, Data: []byte(placesCSV)})
			wantCode(t, who.label+" imports", err, fault.Forbidden)
			_, err = ps.List(ctx, who.p, store.PlaceFilter{})
			wantCode(t, who.label+" lists", err, fault.Forbidden)
			wantCode(t, who.label+" deletes", ps.Delete(ctx, who.p, 1), fault.Forbidden)
			_, err = ps.DeleteImport(ctx, who.p, cbpImport.ID)
			wantCode(t, who.label+" deletes an import", err, fault.Forbidden)
			wantCode(t, who.label+" sets a home", ps.SetEmployeeHome(ctx, who.p, o.People["cbp-analyst"].ID, homeLat, homeLon, 150), fault.Forbidden)
			wantCode(t, who.label+" clears a home", ps.ClearEmployeeHome(ctx, who.p, o.People["cbp-analyst"].ID), fault.Forbidden)
			if who.label != "auditor" {
				_, err = ps.Summary(ctx, who.p)
				wantCode(t, who.label+" counts", err, fault.Forbidden)
			}
		}
		unchanged(t, "refused changes", n, v)
	})
	t.Run("OKSummary", func(t *testing.T) {
		for _, c := range []struct {
			who     string
			places  map[string]int // by component: total
			imports int
		}{
			{"auditor", map[string]int{"CBP": 2, "": 2, "ICE": 2}, 3},
			{"cbp-cpo", map[string]int{"CBP": 2, "": 2}, 2},
			{"ice-cpo", map[string]int{"ICE": 2, "": 2}, 2},
			{"dpo", map[string]int{"CBP": 2, "": 2, "ICE": 2}, 3},
		} {
			s, err := ps.Summary(ctx, o.As[c.who])
			if err != nil {
				t.Fatalf("%s: %v", c.who, err)
			}
			got := map[string]int{}
			for comp, byCat := range s.Places {
				for _, n := range byCat {
					got[comp] += n
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.places) || s.Imports != c.imports || s.Version < 3 {
				t.Errorf("%s: summary %+v, want places %v and %d imports", c.who, s, c.places, c.imports)
			}
			imps, err := ps.Imports(ctx, o.As[c.who])
			if err != nil || len(imps) != c.imports {
				t.Errorf("%s: %d imports, %v", c.who, len(imps), err)
			}
		}
		s, _ := ps.Summary(ctx, o.As["auditor"])
		if s.Places["CBP"][places.Court] != 1 || s.Places[""][places.AgencyFacility] != 1 {
			t.Errorf("auditor's counts %v", s.Places)
		}
	})
	t.Run("ErrOtherComponent", func(t *testing.T) {
		n, v := len(o.Entries(t)), version(t)
		ice := o.As["ice-cpo"]
		list, err := ps.List(ctx, ice, store.PlaceFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range list {
			if p.Component == "CBP" {
				t.Errorf("ICE sees CBP's place %+v", p)
			}
		}
		cbpPlaces, _ := ps.List(ctx, o.As["cbp-cpo"], store.PlaceFilter{ImportID: cbpImport.ID})
		wantCode(t, "ICE deletes CBP's place", ps.Delete(ctx, ice, cbpPlaces[0].ID), fault.NotFound)
		_, err = ps.DeleteImport(ctx, ice, cbpImport.ID)
		wantCode(t, "ICE deletes CBP's import", err, fault.NotFound)
		_, err = ps.Import(ctx, ice, store.PlaceImport{Source: "x.csv", Format: places.CSV, Data: []byte(placesCSV + "x,school,1,2,\n"), Component: "CBP"})
		wantCode(t, "ICE imports for CBP", err, fault.Forbidden)
		deptPlaces, _ := ps.List(ctx, o.As["dpo"], store.PlaceFilter{ImportID: deptImport.ID})
		wantCode(t, "CBP deletes a department-wide place", ps.Delete(ctx, o.As["cbp-cpo"], deptPlaces[0].ID), fault.Forbidden)
		wantCode(t, "ICE sets a CBP person's home", ps.SetEmployeeHome(ctx, ice, o.People["cbp-analyst"].ID, homeLat, homeLon, 150), fault.NotFound)
		wantCode(t, "CBP sets a department person's home", ps.SetEmployeeHome(ctx, o.As["cbp-cpo"], o.People["dpo"].ID, homeLat, homeLon, 150), fault.NotFound)
		unchanged(t, "refused changes", n, v)
	})
	t.Run("OKListFilter", func(t *testing.T) {
		all, err := ps.List(ctx, o.As["dpo"], store.PlaceFilter{})
		if err != nil || len(all) != 6 {
			t.Fatalf("%d places, %v", len(all), err)
		}
		page, _ := ps.List(ctx, o.As["dpo"], store.PlaceFilter{AfterID: all[1].ID, Limit: 2})
		if len(page) != 2 || page[0].ID != all[2].ID || page[1].ID != all[3].ID {
			t.Errorf("page %v", page)
		}
		courts, _ := ps.List(ctx, o.As["dpo"], store.PlaceFilter{Category: places.Court})
		if len(courts) != 1 || courts[0].Name != "Test Court" {
			t.Errorf("courts %+v", courts)
		}
		_, err = ps.List(ctx, o.As["dpo"], store.PlaceFilter{Limit: 10_001})
		wantCode(t, "huge page", err, fault.Invalid)
		_, err = ps.List(ctx, o.As["dpo"], store.PlaceFilter{Category: places.EmployeeHome})
		wantCode(t, "homes as places", err, fault.Invalid)
	})

	t.Run("OKHome", func(t *testing.T) {
		analyst := o.People["cbp-analyst"]
		if err := ps.SetEmployeeHome(ctx, o.As["cbp-cpo"], analyst.ID, homeLat, homeLon, 150); err != nil {
			t.Fatal(err)
		}
		want, _ := key.HomeCells(homeLat, homeLon, 150)
		data, err := ps.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(data.Homes) != 1 || data.Homes[0].PersonID != analyst.ID || !slices.Equal(data.Homes[0].Cells, want) {
			t.Fatalf("loaded homes %+v, want %d cells of person %d", data.Homes, len(want), analyst.ID)
		}
		ix := places.NewHomeIndex(key, data.Homes)
		if got := ix.At(homeLat, homeLon); !slices.Equal(got, []int64{analyst.ID}) {
			t.Errorf("the home index finds %v at the home", got)
		}
		es := o.Entries(t, "places.home_set")
		if len(es) != 1 || es[0].Component != "CBP" || es[0].Subject != fmt.Sprintf("person/%d", analyst.ID) || es[0].Data["cells"] != jnum(len(want)) ||
			es[0].Data["replaced"] != false || es[0].Data["level"] != jnum(places.HomeLevel) {
			t.Errorf("entries %+v", es)
		}
		noCoordinates(t, o)

		// Set again elsewhere: the old cells are gone.
		if err := ps.SetEmployeeHome(ctx, o.As["dpo"], analyst.ID, homeLat+0.05, homeLon, 300); err != nil {
			t.Fatal(err)
		}
		data, _ = ps.Load(ctx)
		ix = places.NewHomeIndex(key, data.Homes)
		if ix.At(homeLat, homeLon) != nil || !slices.Equal(ix.At(homeLat+0.05, homeLon), []int64{analyst.ID}) {
			t.Error("the replaced home is still found, or the new one is not")
		}
		if es := o.Entries(t, "places.home_set"); len(es) != 2 || es[1].Data["replaced"] != true {
			t.Errorf("replacement entry %+v", es[len(es)-1])
		}
		noCoordinates(t, o)
	})
	t.Run("ErrHome", func(t *testing.T) {
		n, v := len(o.Entries(t)), version(t)
		cpo := o.As["cbp-cpo"]
		analyst := o.People["cbp-analyst"].ID
		for _, c := range []struct {
			label         string
			lat, lon, rad float64
			msg           string
		}{
			{"radius", homeLat, homeLon, 10, "radius_m: the radius around a home must be 50 to 1000 m, not 10"},
			{"latitude", 91, homeLon, 150, "lat: latitude 91 is outside [-90, 90]"},
		} {
			err := ps.SetEmployeeHome(ctx, cpo, analyst, c.lat, c.lon, c.rad)
			wantCode(t, c.label, err, fault.Invalid)
			if fault.MessageOf(err) != c.msg {
				t.Errorf("%s: message %q, want %q", c.label, fault.MessageOf(err), c.msg)
			}
		}
		wantCode(t, "no such person", ps.SetEmployeeHome(ctx, cpo, 999_999, homeLat, homeLon, 150), fault.NotFound)
		wantCode(t, "no home to clear", ps.ClearEmployeeHome(ctx, cpo, o.People["cbp-head"].ID), fault.NotFound)
		keyless := o.DB.Places(nil, nil)
		wantCode(t, "no key", keyless.SetEmployeeHome(ctx, cpo, analyst, homeLat, homeLon, 150), fault.Precondition)
		unchanged(t, "refused homes", n, v)
		data, _ := ps.Load(ctx)
		if len(data.Homes) != 1 {
			t.Errorf("%d homes after refusals", len(data.Homes))
		}
	})
	t.Run("OKSummaryHomes", func(t *testing.T) {
		for who, want := range map[string]int{"auditor": 1, "cbp-cpo": 1, "ice-cpo": 0} {
			s, err := ps.Summary(ctx, o.As[who])
			if err != nil || s.Homes["CBP"] != want {
				t.Errorf("%s counts homes %v, %v", who, s.Homes, err)
			}
		}
	})
	t.Run("OKClearHome", func(t *testing.T) {
		analyst := o.People["cbp-analyst"].ID
		if err := ps.ClearEmployeeHome(ctx, o.As["cbp-cpo"], analyst); err != nil {
			t.Fatal(err)
		}
		data, _ := ps.Load(ctx)
		if len(data.Homes) != 0 {
			t.Errorf("%d homes left", len(data.Homes))
		}
		if es := o.Entries(t, "places.home_cleared"); len(es) != 1 || es[0].Data["person_id"] != jnum(analyst) {
			t.Errorf("entries %+v", es)
		}
	})

	t.Run("OKDelete", func(t *testing.T) {
		before, _ := ps.Load(ctx)
		cbpPlaces, _ := ps.List(ctx, o.As["cbp-cpo"], store.PlaceFilter{ImportID: cbpImport.ID})
		if err := ps.Delete(ctx, o.As["cbp-cpo"], cbpPlaces[0].ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "deleted twice", ps.Delete(ctx, o.As["cbp-cpo"], cbpPlaces[0].ID), fault.NotFound)
		after, _ := ps.Load(ctx)
		if len(after.Places) != len(before.Places)-1 || after.Version != before.Version+1 {
			t.Errorf("%d places (version %d) after deleting one of %d (version %d)", len(after.Places), after.Version, len(before.Places), before.Version)
		}
		es := o.Entries(t, "places.deleted")
		if len(es) != 1 || es[0].Data["place_id"] != jnum(cbpPlaces[0].ID) || es[0].Data["category"] != "place_of_worship" || es[0].Component != "CBP" {
			t.Errorf("entries %+v", es)
		}
		imps, _ := ps.Imports(ctx, o.As["cbp-cpo"])
		for _, i := range imps {
			if i.ID == cbpImport.ID && (i.Places != 2 || i.Remaining != 1) {
				t.Errorf("import %+v", i)
			}
		}
	})
	t.Run("OKDeleteImport", func(t *testing.T) {
		n, err := ps.DeleteImport(ctx, o.As["cbp-cpo"], cbpImport.ID)
		if err != nil || n != 1 {
			t.Fatalf("DeleteImport = %d, %v", n, err)
		}
		if list, _ := ps.List(ctx, o.As["cbp-cpo"], store.PlaceFilter{ImportID: cbpImport.ID}); len(list) != 0 {
			t.Errorf("%d places left", len(list))
		}
		es := o.Entries(t, "places.import_deleted")
		if len(es) != 1 || es[0].Data["places"] != jnum(1) || es[0].Digest != cbpImport.Digest {
			t.Errorf("entries %+v", es)
		}
		// Once deleted, the same file may be imported again.
		if _, err := ps.Import(ctx, o.As["cbp-cpo"], store.PlaceImport{Source: "nyc.geojson", Format: places.GeoJSON, Data: []byte(placesGeoJSON), Options: osm}); err != nil {
			t.Errorf("re-import: %v", err)
		}
	})
	t.Run("OKLoad", func(t *testing.T) {
		data, err := ps.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		list, _ := ps.List(ctx, o.As["dpo"], store.PlaceFilter{})
		if len(data.Places) != len(list) || data.Version != version(t) {
			t.Fatalf("Load: %d places at version %d; List %d", len(data.Places), data.Version, len(list))
		}
		for i, p := range data.Places {
			if p.ID != list[i].ID || string(p.Geometry()) != string(list[i].Geometry()) || p.Category != list[i].Category {
				t.Errorf("loaded place %d %+v, listed %+v", i, p, list[i])
			}
		}
		snap, err := places.NewSnapshot(data.Version, data.Places, data.Homes, key)
		if err != nil {
			t.Fatal(err)
		}
		if !snap.Zones.Any(40.7128, -74.0060) { // the department's field office
			t.Error("the loaded index does not hold the field office")
		}
	})
	t.Run("OKHomeKey", func(t *testing.T) {
		sk := mustSecretsKey(t)
		first := sk.Seal([]byte("first key, 32 bytes long......."), store.HomeKeyWhat)
		got, id, err := o.DB.PlaceHomeKey(ctx, first, sk.ID())
		if err != nil || !bytes.Equal(got, first) || id != sk.ID() {
			t.Fatalf("PlaceHomeKey = %x, %s, %v", got, id, err)
		}
		second := sk.Seal([]byte("second key, 32 bytes long......"), store.HomeKeyWhat)
		got, id, err = o.DB.PlaceHomeKey(ctx, second, sk.ID())
		if err != nil || !bytes.Equal(got, first) {
			t.Errorf("a second server's key replaced the first: %v", err)
		}
		if id != sk.ID() || len(o.Entries(t, "places.home_key_created")) != 0 {
			t.Errorf("key ID %s, or the key's creation was recorded", id)
		}
		_, _, err = o.DB.PlaceHomeKey(ctx, nil, sk.ID())
		wantCode(t, "no key", err, fault.Internal)
	})
}

// noCoordinates checks that no table of homes and no ledger entry holds
// the home's coordinates, in any usual form, nor a cell ID in the clear.
func noCoordinates(t *testing.T, o *PrivacyOrg) {
	t.Helper()
	ctx := context.Background()
	var dump strings.Builder
	for _, q := range []string{`SELECT person_id, radius_m, cells, set_by FROM employee_homes`, `SELECT person_id, level, cell_hash FROM employee_home_cells`} {
		if err := o.DB.View(ctx, func(tx *store.Tx) error {
			rows, err := tx.Query(ctx, q)
			if err != nil {
				return err
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					return err
				}
				for _, v := range vals {
					if b, ok := v.([]byte); ok {
						fmt.Fprintf(&dump, "%x %s ", b, b)
					} else {
						fmt.Fprintf(&dump, "%v ", v)
					}
				}
			}
			return rows.Err()
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range o.Entries(t) {
		fmt.Fprintf(&dump, "%v ", e)
	}
	text := dump.String()
	for _, s := range []string{"40.742", "-73.989", "73.989", "40,742"} {
		if strings.Contains(text, s) {
			t.Errorf("a stored value shows the home's coordinates (%s)", s)
		}
	}
	for _, lvl := range []int{8, 11, 14, places.HomeLevel} {
		id := s2.CellIDFromLatLng(s2.LatLngFromDegrees(homeLat, homeLon)).Parent(lvl)
		var raw [8]byte
		binary.BigEndian.PutUint64(raw[:], uint64(id))
		for _, form := range []string{fmt.Sprint(uint64(id)), fmt.Sprint(int64(id)), id.ToToken(), hex.EncodeToString(raw[:])} {
			if strings.Contains(text, form) {
				t.Errorf("a stored value shows the home's level-%d cell ID (%s)", lvl, form)
			}
		}
	}
}
