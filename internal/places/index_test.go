package places

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/geo"
)

// starPolygon returns a GeoJSON Polygon of n corners at random radii (up
// to r degrees) around lon, lat: simple, since the angles increase.
func starPolygon(rng *rand.Rand, lat, lon, r float64, n int) string {
	var ps []string
	for i := range n {
		t := (float64(i) + 0.8*rng.Float64()) * 2 * math.Pi / float64(n)
		rr := r * (0.4 + 0.6*rng.Float64())
		ps = append(ps, fmt.Sprintf("[%v,%v]", lon+rr*math.Cos(t), lat+rr*math.Sin(t)))
	}
	ps = append(ps, ps[0])
	return `{"type":"Polygon","coordinates":[[` + strings.Join(ps, ",") + `]]}`
}

func mustArea(tb testing.TB, doc string) *geo.Area {
	tb.Helper()
	a, err := geo.ParseArea([]byte(doc), geo.Limits{MaxAreaKm2: 1e7})
	if err != nil {
		tb.Fatalf("%s: %v", doc, err)
	}
	return a
}

func mustCircle(tb testing.TB, lat, lon, r float64) *geo.Area {
	tb.Helper()
	a, err := geo.NewCircle(lat, lon, r, geo.Limits{MaxAreaKm2: 1e7})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// testZones returns zones around lat, lon within span degrees: circles
// and polygons, some straddling the 1° tile lines at 41° N and 74° W,
// and a few large enough to be kept out of the grid.
func testZones(tb testing.TB, rng *rand.Rand, n int) []Zone {
	tb.Helper()
	var zs []Zone
	for i := range n {
		lat, lon := 40.5+rng.Float64(), -74.5+rng.Float64()
		if i%10 == 0 { // on a tile line
			lat = 41 + (rng.Float64()-0.5)*0.004
		}
		if i%10 == 1 {
			lon = -74 + (rng.Float64()-0.5)*0.004
		}
		var a *geo.Area
		if i%4 == 3 {
			a = mustArea(tb, starPolygon(rng, lat, lon, 0.0005+0.008*rng.Float64(), 3+rng.IntN(12)))
		} else {
			a = mustCircle(tb, lat, lon, 20+rng.Float64()*900)
		}
		zs = append(zs, Zone{ID: int64(i + 1), Category: School, Area: a})
	}
	// Large zones: a polygon over many tiles and a circle of 150 km.
	zs = append(zs, Zone{ID: int64(n + 1), Category: Other, Area: mustArea(tb, `{"type":"Polygon","coordinates":[[[-76,39.5],[-72.5,39.5],[-72.5,42.3],[-76,39.5]]]}`)})
	zs = append(zs, Zone{ID: int64(n + 2), Category: Other, Area: mustCircle(tb, 40.2, -73.2, 150_000)})
	return zs
}

func bruteAt(zs []Zone, lat, lon float64) []int32 {
	var out []int32
	for i, z := range zs {
		if z.Area.Contains(lat, lon) {
			out = append(out, int32(i))
		}
	}
	return out
}

func TestIndex_At(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	zs := testZones(t, rng, 3000)
	ix, err := NewIndex(zs)
	if err != nil {
		t.Fatal(err)
	}
	st := ix.Stats()
	if st.Zones != len(zs) || st.Wide != 2 || st.Tiles < 4 || st.Items < len(zs)-2 {
		t.Errorf("stats %+v", st)
	}
	// Points: random ones, the zones' centres and corners of their
	// bounding boxes, points exactly on circles (their northernmost
	// point, from the box) and on polygon corners.
	type pt struct{ lat, lon float64 }
	var pts []pt
	for range 50_000 {
		pts = append(pts, pt{40.4 + 1.2*rng.Float64(), -74.6 + 1.2*rng.Float64()})
	}
	for _, z := range zs {
		minLat, minLon, maxLat, maxLon := z.Area.Bounds()
		pts = append(pts, pt{minLat, minLon}, pt{maxLat, maxLon}, pt{(minLat + maxLat) / 2, (minLon + maxLon) / 2})
		if lat, lon, r, ok := z.Area.Circle(); ok {
			d := r / 1000 / geo.EarthRadiusKm * 180 / math.Pi
			pts = append(pts, pt{lat + d, lon}, pt{math.Nextafter(lat+d, 90), lon}, pt{lat, lon})
		}
	}
	for _, c := range [][2]float64{{41, -74}, {41, -74.5}, {40, -74}, {90, 180}, {-90, -180}} {
		pts = append(pts, pt{c[0], c[1]})
	}
	hits := 0
	var dst []int32
	for _, p := range pts {
		want := bruteAt(zs, p.lat, p.lon)
		dst = ix.At(p.lat, p.lon, dst[:0])
		if !slices.Equal(dst, want) {
			t.Fatalf("At(%v, %v) = %v, want %v", p.lat, p.lon, dst, want)
		}
		if ix.Any(p.lat, p.lon) != (len(want) > 0) {
			t.Fatalf("Any(%v, %v) = %v, want %v", p.lat, p.lon, !(len(want) > 0), len(want) > 0)
		}
		if len(want) > 2 { // more than the two large zones
			hits++
		}
	}
	if hits < 1000 {
		t.Errorf("only %d points fell in a small zone: the test says little", hits)
	}
	t.Run("ErrBadPoints", func(t *testing.T) {
		for _, p := range []pt{{math.NaN(), -74}, {40.7, math.NaN()}, {91, 0}, {0, 181}, {math.Inf(1), 0}} {
			if got := ix.At(p.lat, p.lon, nil); got != nil || ix.Any(p.lat, p.lon) {
				t.Errorf("At(%v, %v) = %v", p.lat, p.lon, got)
			}
		}
	})
	t.Run("OKAppends", func(t *testing.T) {
		got := ix.At(40.2, -73.2, []int32{-7})
		if len(got) < 2 || got[0] != -7 {
			t.Errorf("At appended to %v", got)
		}
	})
}

func TestIndex_Touching(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	zs := testZones(t, rng, 1500)
	ix, err := NewIndex(zs)
	if err != nil {
		t.Fatal(err)
	}
	touchedSmall := 0
	for i := range 400 {
		lat, lon := 40.45+1.1*rng.Float64(), -74.55+1.1*rng.Float64()
		var a *geo.Area
		switch i % 3 {
		case 0:
			a = mustCircle(t, lat, lon, 50+rng.Float64()*3000)
		case 1:
			a = mustArea(t, starPolygon(rng, lat, lon, 0.001+0.03*rng.Float64(), 3+rng.IntN(30)))
		default: // large: the cells cost more than the zones
			a = mustCircle(t, lat, lon, 60_000)
		}
		var want []int32
		for z := range zs {
			if zs[z].Area.Intersects(a) {
				want = append(want, int32(z))
			}
		}
		got := ix.Touching(a, nil)
		if !slices.Equal(got, want) {
			t.Fatalf("area %d: Touching = %v, want %v", i, got, want)
		}
		if ix.Touches(a) != (len(want) > 0) {
			t.Fatalf("area %d: Touches = %v", i, !(len(want) > 0))
		}
		if len(want) > 2 {
			touchedSmall++
		}
	}
	if touchedSmall < 100 {
		t.Errorf("only %d areas touched a small zone", touchedSmall)
	}
	if ix.Touching(nil, nil) != nil {
		t.Error("a nil area touches")
	}
}

func TestNewIndex(t *testing.T) {
	t.Run("OKEmpty", func(t *testing.T) {
		ix, err := NewIndex(nil)
		if err != nil {
			t.Fatal(err)
		}
		if ix.Len() != 0 || ix.Any(40, -74) || ix.Touches(mustCircle(t, 40, -74, 1000)) || ix.Bytes() <= 0 {
			t.Errorf("empty index: len %d", ix.Len())
		}
	})
	t.Run("OKZone", func(t *testing.T) {
		c := mustCircle(t, 40, -74, 100)
		ix, err := NewIndex([]Zone{{ID: 7, Category: Court, Component: "CBP", Name: "court", Area: c}})
		if err != nil {
			t.Fatal(err)
		}
		if z := ix.Zone(0); z.ID != 7 || z.Category != Court || z.Component != "CBP" || z.Area != c {
			t.Errorf("Zone(0) = %+v", z)
		}
	})
	t.Run("ErrNoArea", func(t *testing.T) {
		if _, err := NewIndex([]Zone{{ID: 9}}); err == nil || err.Error() != "places: zone 0 (place 9) has no area" {
			t.Errorf("NewIndex = %v", err)
		}
	})
	t.Run("OKDense", func(t *testing.T) {
		// Many zones on one spot: the grid coarsens rather than listing
		// each zone in thousands of cells.
		var zs []Zone
		for i := range 500 {
			zs = append(zs, Zone{ID: int64(i), Area: mustCircle(t, 40.7, -73.9, 4000)})
		}
		ix, err := NewIndex(zs)
		if err != nil {
			t.Fatal(err)
		}
		if st := ix.Stats(); st.Items > 16*500+1024 {
			t.Errorf("stats %+v", st)
		}
		if got := ix.At(40.7, -73.9, nil); len(got) != 500 {
			t.Errorf("%d zones hold the centre", len(got))
		}
	})
}

func TestIndex_Screen(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	zs := testZones(t, rng, 2000)
	ix, err := NewIndex(zs)
	if err != nil {
		t.Fatal(err)
	}
	// Blocks of every size, with bad points among good ones.
	for _, n := range []int{0, 1, screenBlock - 1, screenBlock, screenBlock + 1, 5000} {
		pts := make([]Point, n)
		for i := range pts {
			pts[i] = Point{40.4 + 1.2*rng.Float64(), -74.6 + 1.2*rng.Float64()}
			if i%97 == 5 {
				pts[i] = Point{math.NaN(), -74}
			}
			if i%89 == 7 {
				pts[i] = Point{40.7, 190}
			}
		}
		var want []Hit
		for i, p := range pts {
			for _, z := range ix.At(p.Lat, p.Lon, nil) {
				want = append(want, Hit{Point: int32(i), Zone: z})
			}
		}
		got := ix.Screen(pts, []Hit{{Point: -1, Zone: -1}})
		if len(got) == 0 || got[0] != (Hit{Point: -1, Zone: -1}) || !slices.Equal(got[1:], want) {
			t.Fatalf("%d points: Screen found %d hits, At %d", n, len(got)-1, len(want))
		}
		if n == 5000 && len(want) < 5000 {
			t.Errorf("only %d hits", len(want))
		}
	}
}
