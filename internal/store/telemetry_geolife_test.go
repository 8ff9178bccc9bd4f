package store_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/connector"
	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/importer/ping"
	"github.com/probity-dev/probity/internal/importer/pltdir"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// The real GeoLife data shared between projects (never copied into this
// repository): 121 trajectory files of 11 people, and the polygon of the
// Tsinghua University campus.
const (
	geolifeDir      = "../../../shared/data/trajectories/geolife-trackintel/geolife_long_10_MB"
	tsinghuaPolygon = "../../../shared/data/trajectories/geolife-trackintel/area/tsinghua_wgs84.geojson"
)

// TestTelemetry_GeoLife imports the real GeoLife trajectories, each
// person's folder one device, and searches the Tsinghua campus over the
// whole period. The answer is checked against a count made without the
// store, the importers or package geo: the files split by hand and a
// planar ray-casting point-in-polygon test. Under the race detector, which
// makes the import twenty times slower, it imports each person's first two
// files only.
func TestTelemetry_GeoLife(t *testing.T) {
	for _, p := range []string{geolifeDir, tsinghuaPolygon} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("skipping: the shared GeoLife data is not available (%v); it is expected at %s", err, p)
		}
	}
	polyDoc, err := os.ReadFile(tsinghuaPolygon)
	if err != nil {
		t.Fatal(err)
	}
	rings := parseRings(t, polyDoc)
	perPerson := 0 // files; 0 for all
	if raceEnabled {
		perPerson = 2
	}
	want, all := bruteGeoLife(t, geolifeDir, rings, perPerson)
	total := 0
	for _, s := range want {
		total += s.Pings
	}
	t.Logf("brute force: %d fixes (%d distinct), %d of them of %d people on the campus", all.lines, all.unique, total, len(want))
	// The data's manifest: about 22k fixes of 7 people fall inside.
	if perPerson == 0 && (len(want) != 7 || total < 20_000 || total > 24_000) {
		t.Fatalf("the brute-force count finds %d pings of %d people on the campus; the data is not what the manifest describes", total, len(want))
	}
	if len(want) == 0 {
		t.Fatal("nobody on the campus: the test would prove nothing")
	}
	area, err := geo.ParseArea(polyDoc, geo.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			ctx := context.Background()
			db, _, _ := storetest.MustOpenNew(t, d)
			src := storetest.MustLocalSourceDB(t, db, "geolife")
			found, err := pltdir.Find(geolifeDir)
			if err != nil {
				t.Fatal(err)
			}
			var files []pltdir.File
			for i, f := range found {
				if perPerson == 0 || i < perPerson || found[i-perPerson].Device != f.Device {
					files = append(files, f)
				}
			}
			r := pltdir.NewReader(files, ping.Limits{})
			defer r.Close()
			start := time.Now()
			st, err := db.Telemetry().Import(ctx, benchActor, src.Name, r, store.ImportOptions{FileName: "geolife_long_10_MB", Format: "plt"})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("imported %d files in %s: %+v", len(files), time.Since(start).Round(time.Millisecond), st)
			if st.Bad != 0 || st.Read != int64(all.lines) || st.Inserted != int64(all.unique) {
				t.Fatalf("import %+v; the files hold %d fixes, %d of them distinct", st, all.lines, all.unique)
			}

			conn := db.Telemetry().Connector(src.ID)
			from, to := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
			start = time.Now()
			got, err := conn.AreaSearch(ctx, connector.AreaRequest{Area: area, From: from, To: to, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("area search: %d devices in %s", len(got), time.Since(start).Round(time.Millisecond))
			if len(got) != len(want) {
				t.Fatalf("area search found %d devices %v, the brute force %d %v", len(got), got, len(want), want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("device %d: store says %+v, brute force %+v", i, got[i], want[i])
				}
			}

			// The device estimate for the same search: never fewer
			// devices, and close.
			start = time.Now()
			est, err := conn.(connector.Estimator).EstimateDevices(ctx, connector.AreaRequest{Area: area, From: from, To: to})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("device estimate: %d in %s", est, time.Since(start).Round(time.Millisecond))
			if est < len(want) || float64(est) > estimateFactor*float64(len(want))+estimateSlack {
				t.Errorf("estimated %d devices, the campus saw %d", est, len(want))
			}

			// One person's whole history.
			person := want[0].Device
			h, err := conn.DeviceHistory(ctx, connector.DeviceRequest{Device: person, From: from, To: to, Limit: 1_000_000})
			if err != nil {
				t.Fatal(err)
			}
			if len(h) != all.perPerson[person] {
				t.Errorf("history of %s: %d pings, the files hold %d distinct", person, len(h), all.perPerson[person])
			}
		})
	}
}

// parseRings returns the rings of the polygons of a GeoJSON document as
// [lon, lat] pairs, read with encoding/json alone.
func parseRings(t *testing.T, doc []byte) [][][2]float64 {
	t.Helper()
	var fc struct {
		Features []struct {
			Geometry struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(doc, &fc); err != nil {
		t.Fatal(err)
	}
	var rings [][][2]float64
	for _, f := range fc.Features {
		switch f.Geometry.Type {
		case "Polygon":
			var p [][][2]float64
			if err := json.Unmarshal(f.Geometry.Coordinates, &p); err != nil {
				t.Fatal(err)
			}
			rings = append(rings, p...)
		case "MultiPolygon":
			var mp [][][][2]float64
			if err := json.Unmarshal(f.Geometry.Coordinates, &mp); err != nil {
				t.Fatal(err)
			}
			for _, p := range mp {
				rings = append(rings, p...)
			}
		default:
			t.Fatalf("geometry %q", f.Geometry.Type)
		}
	}
	if len(rings) == 0 {
		t.Fatal("no polygon")
	}
	return rings
}

// inside is the even-odd ray-casting test on the plane of longitude and
// latitude, over every ring (holes included).
func inside(rings [][][2]float64, lon, lat float64) bool {
	in := false
	for _, ring := range rings {
		for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
			xi, yi, xj, yj := ring[i][0], ring[i][1], ring[j][0], ring[j][1]
			if (yi > lat) != (yj > lat) && lon < (xj-xi)*(lat-yi)/(yj-yi)+xi {
				in = !in
			}
		}
	}
	return in
}

type geolifeCounts struct {
	lines, unique int
	perPerson     map[string]int // distinct fixes
}

// bruteGeoLife reads every fix of the tree (of the first perPerson files of
// each person's, if not 0) by splitting lines, and returns the people seen
// inside the rings (ordered by name) with their distinct fixes there, and
// the counts of all fixes.
func bruteGeoLife(t *testing.T, root string, rings [][][2]float64, perPerson int) ([]connector.DeviceSeen, geolifeCounts) {
	t.Helper()
	people, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		person   string
		ms       int64
		lat, lon float64
	}
	seenKeys := map[key]bool{}
	counts := geolifeCounts{perPerson: map[string]int{}}
	found := map[string]*connector.DeviceSeen{}
	for _, p := range people {
		files, _ := filepath.Glob(filepath.Join(root, p.Name(), "Trajectory", "*.plt")) // sorted
		if perPerson > 0 && len(files) > perPerson {
			files = files[:perPerson]
		}
		for _, name := range files {
			f, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(f)
			for n := 1; sc.Scan(); n++ {
				fields := strings.Split(strings.TrimSpace(sc.Text()), ",")
				if n <= 6 || len(fields) != 7 {
					continue
				}
				lat, err1 := strconv.ParseFloat(fields[0], 64)
				lon, err2 := strconv.ParseFloat(fields[1], 64)
				at, err3 := time.Parse("2006-01-02 15:04:05", fields[5]+" "+fields[6])
				if err := errors.Join(err1, err2, err3); err != nil || math.Abs(lat) > 90 || math.Abs(lon) > 180 {
					t.Fatalf("%s line %d: %v", name, n, err)
				}
				counts.lines++
				k := key{p.Name(), at.UnixMilli(), lat, lon}
				if seenKeys[k] {
					continue
				}
				seenKeys[k] = true
				counts.unique++
				counts.perPerson[p.Name()]++
				if !inside(rings, lon, lat) {
					continue
				}
				s := found[p.Name()]
				if s == nil {
					s = &connector.DeviceSeen{Device: p.Name(), FirstSeen: at, LastSeen: at}
					found[p.Name()] = s
				}
				if at.Before(s.FirstSeen) {
					s.FirstSeen = at
				}
				if at.After(s.LastSeen) {
					s.LastSeen = at
				}
				s.Pings++
			}
			f.Close()
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	var out []connector.DeviceSeen
	for _, p := range people { // os.ReadDir sorts by name
		if s := found[p.Name()]; s != nil {
			out = append(out, *s)
		}
	}
	return out, counts
}
