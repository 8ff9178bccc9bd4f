package places

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/query"
)

// nycPlaces holds the OpenStreetMap points of interest of New York City
// (January 2013) in the shared real-data set; it is never copied here.
const nycPlaces = "../../../shared/data/places/osm-nyc-chicago-2013-stcontext/NewYork-2013-01-31.csv"

// nycRadius is the radius the test configures, by OpenStreetMap amenity,
// written apart from the package's mapping: the oracle's own idea of
// which places are sensitive and how far they reach.
var nycRadius = map[string]float64{
	"place_of_worship": 120, "school": 150, "kindergarten": 150, "college": 150, "university": 150,
	"hospital": 250, "clinic": 150, "doctors": 150, "dentist": 150, "courthouse": 200, "embassy": 100,
}

// osmPOI is one row of the shared file.
type osmPOI struct {
	id, name, amenity string
	lat, lon          float64
}

// readNYC reads the shared file, skipping the test when it is absent.
func readNYC(t *testing.T) []osmPOI {
	t.Helper()
	f, err := os.Open(filepath.FromSlash(nycPlaces))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("skipping: %s is absent (the shared OpenStreetMap places are not mounted)", nycPlaces)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var out []osmPOI
	for _, r := range rows[1:] {
		// "POINT (lon lat)"
		coords := strings.Fields(strings.Trim(strings.TrimPrefix(r[col["geometry"]], "POINT"), " ()"))
		if len(coords) != 2 {
			t.Fatalf("row %v: geometry %q", r, r[col["geometry"]])
		}
		lon, err1 := strconv.ParseFloat(coords[0], 64)
		lat, err2 := strconv.ParseFloat(coords[1], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("row %v: %v %v", r, err1, err2)
		}
		out = append(out, osmPOI{id: r[col["osmid"]], name: r[col["name"]], amenity: r[col["amenity"]], lat: lat, lon: lon})
	}
	return out
}

// nycGeoJSON writes the rows as a GeoJSON FeatureCollection of Points
// with their OpenStreetMap tags as properties, as an export would.
func nycGeoJSON(t *testing.T, pois []osmPOI) []byte {
	t.Helper()
	type feature struct {
		Type       string            `json:"type"`
		ID         string            `json:"id"`
		Properties map[string]string `json:"properties"`
		Geometry   map[string]any    `json:"geometry"`
	}
	fs := make([]feature, len(pois))
	for i, p := range pois {
		props := map[string]string{"name": p.name}
		if p.amenity != "" {
			props["amenity"] = p.amenity
		}
		fs[i] = feature{Type: "Feature", ID: "node/" + p.id, Properties: props,
			Geometry: map[string]any{"type": "Point", "coordinates": []float64{p.lon, p.lat}}}
	}
	b, err := json.MarshalIndent(map[string]any{"type": "FeatureCollection", "features": fs}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// oracleHaversine is the oracle's own great-circle distance in metres,
// on the sphere of the WGS84 mean radius.
func oracleHaversine(lat1, lon1, lat2, lon2 float64) float64 {
	const r, rad = 6371008.8, math.Pi / 180
	a := math.Sin((lat2-lat1)*rad/2)*math.Sin((lat2-lat1)*rad/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin((lon2-lon1)*rad/2)*math.Sin((lon2-lon1)*rad/2)
	return 2 * r * math.Atan2(math.Sqrt(a), math.Sqrt(1-a))
}

// TestIndex_NYC imports New York City's real places of worship, schools,
// hospitals, courthouses … as sensitive locations, screens pings around
// and away from them, and checks every answer against a brute-force
// distance oracle over all places. The boundary counts as inside (a ping
// at exactly the radius is flagged, see geo.Area.Contains); pings within
// a millionth of a radius of it, where the two distance formulas may
// round differently, are left out and counted.
func TestIndex_NYC(t *testing.T) {
	pois := readNYC(t)
	if len(pois) != 13678 {
		t.Fatalf("the shared file has %d places; its MANIFEST says 13,678", len(pois))
	}
	radius := map[Category]float64{PlaceOfWorship: 120, School: 150, Medical: 150, Court: 200, Diplomatic: 100}
	b, err := ParseGeoJSON(nycGeoJSON(t, pois), Options{CategoryProperty: "amenity", SkipUnmapped: true, DefaultRadiusM: radius})
	if err != nil {
		t.Fatal(err)
	}
	// The MANIFEST's counts, and the oracle's own selection.
	var sensitive []osmPOI
	for _, p := range pois {
		if _, ok := nycRadius[p.amenity]; ok {
			sensitive = append(sensitive, p)
		}
	}
	c := b.Counts()
	if c[PlaceOfWorship] != 1880 || c[Court] != 13 || c[School] < 1985 || c[Medical] < 230 || len(b.Places) != len(sensitive) || b.Skipped != len(pois)-len(sensitive) {
		t.Fatalf("imported %d places %v, skipped %d; the oracle selects %d", len(b.Places), c, b.Skipped, len(sensitive))
	}
	// Hospitals reach further than the package's mapping knows: give
	// them their configured radius, as an officer would by importing them
	// apart. Every place keeps its position in the oracle's list.
	for i, p := range b.Places {
		s := sensitive[i]
		if p.Ref != "node/"+s.id {
			t.Fatalf("place %d is %s, the oracle's is node/%s", i, p.Ref, s.id)
		}
		if r := nycRadius[s.amenity]; r != radius[p.Category] {
			a, err := NewCircle(s.lat, s.lon, r, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			b.Places[i].Area = a
		}
	}
	snap, err := NewSnapshot(1, b.Places, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ix := snap.Zones

	rng := rand.New(rand.NewPCG(2013, 131))
	type ping struct{ lat, lon float64 }
	var pings []ping
	step := 1
	if testing.Short() {
		step = 4
	}
	for i := 0; i < len(sensitive); i += step {
		s := sensitive[i]
		r := nycRadius[s.amenity]
		for _, d := range []float64{r * 0.98 * rng.Float64(), r * (1.02 + 2*rng.Float64())} {
			lat, lon := offset(s.lat, s.lon, d, 2*math.Pi*rng.Float64())
			pings = append(pings, ping{lat, lon})
		}
	}
	for range 5_000 / step { // anywhere in the city
		pings = append(pings, ping{40.49 + 0.43*rng.Float64(), -74.26 + 0.57*rng.Float64()})
	}

	var got []int32
	var screened []Point // the decided pings, for Screen
	var wantHits []Hit
	flagged, clear, boundary := 0, 0, 0
	for _, p := range pings {
		var want []int32
		ambiguous := false
		for z, s := range sensitive {
			r := nycRadius[s.amenity]
			// A great-circle distance is at least the difference in
			// latitude: places far north or south need no haversine.
			if math.Abs(p.lat-s.lat)*math.Pi/180*6371008.8 > 2*r {
				continue
			}
			d := oracleHaversine(p.lat, p.lon, s.lat, s.lon)
			switch {
			case d <= r*(1-1e-6):
				want = append(want, int32(z))
			case d < r*(1+1e-6):
				ambiguous = true
			}
		}
		if ambiguous {
			boundary++
			continue
		}
		got = ix.At(p.lat, p.lon, got[:0])
		if !slices.Equal(got, want) {
			t.Fatalf("ping %.7f, %.7f: the index flags places %v, the oracle %v", p.lat, p.lon, got, want)
		}
		for _, z := range want {
			wantHits = append(wantHits, Hit{Point: int32(len(screened)), Zone: z})
		}
		screened = append(screened, Point{p.lat, p.lon})
		if len(want) > 0 {
			flagged++
			if f := ix.Zone(want[0]).Category.Flag(); f != query.FlagProtectedPlace {
				t.Errorf("a sensitive location raises %q", f)
			}
		} else {
			clear++
		}
	}
	if hits := ix.Screen(screened, nil); !slices.Equal(hits, wantHits) {
		t.Errorf("Screen finds %d (ping, place) pairs, the oracle %d", len(hits), len(wantHits))
	}
	t.Logf("%d places, %d pings: %d flagged, %d clear, %d within a millionth of a radius (left out)", len(sensitive), len(pings), flagged, clear, boundary)
	if flagged < len(sensitive)/step || clear < len(sensitive)/(2*step) || boundary > len(pings)/1000 {
		t.Errorf("the pings do not exercise the index: %d flagged, %d clear, %d at a boundary", flagged, clear, boundary)
	}

	// Query circles around and between places: a circle touches a place
	// when the centres are at most the sum of the radii apart.
	touching := 0
	for i := 0; i < 2000/step; i++ {
		s := sensitive[rng.IntN(len(sensitive))]
		ra := 20 + 1500*rng.Float64()
		lat, lon := offset(s.lat, s.lon, 3000*rng.Float64(), 2*math.Pi*rng.Float64())
		area, err := geo.NewCircle(lat, lon, ra, geo.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		var want []int32
		ambiguous := false
		for z, s := range sensitive {
			sum := ra + nycRadius[s.amenity]
			if math.Abs(lat-s.lat)*math.Pi/180*6371008.8 > 2*sum {
				continue
			}
			d := oracleHaversine(lat, lon, s.lat, s.lon)
			switch {
			case d <= sum*(1-1e-6):
				want = append(want, int32(z))
			case d < sum*(1+1e-6):
				ambiguous = true
			}
		}
		if ambiguous {
			continue
		}
		if got := ix.Touching(area, nil); !slices.Equal(got, want) {
			t.Fatalf("circle %.6f, %.6f, %.0f m: the index finds %v, the oracle %v", lat, lon, ra, got, want)
		}
		if len(want) > 0 {
			touching++
		}
	}
	if touching < 500/step {
		t.Errorf("only %d query circles touched a place", touching)
	}
}
