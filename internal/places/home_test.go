package places

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/golang/geo/s2"

	"github.com/probity-dev/probity/internal/geo"
)

func mustHomeKey(tb testing.TB) *HomeKey {
	tb.Helper()
	k, err := NewHomeKey(GenerateHomeKey())
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// offset returns the point d metres from lat, lon at bearing b (radians),
// on the sphere.
func offset(lat, lon, d, b float64) (float64, float64) {
	const rad = math.Pi / 180
	delta := d / 1000 / geo.EarthRadiusKm
	p1, l1 := lat*rad, lon*rad
	p2 := math.Asin(math.Sin(p1)*math.Cos(delta) + math.Cos(p1)*math.Sin(delta)*math.Cos(b))
	l2 := l1 + math.Atan2(math.Sin(b)*math.Sin(delta)*math.Cos(p1), math.Cos(delta)-math.Sin(p1)*math.Sin(p2))
	return p2 / rad, l2 / rad
}

func TestHomeKey_HomeCells(t *testing.T) {
	k := mustHomeKey(t)
	cells, err := k.HomeCells(40.7484, -73.9857, 150)
	if err != nil {
		t.Fatal(err)
	}
	levels := map[int]int{}
	for i, c := range cells {
		levels[c.Level]++
		if i > 0 && (cells[i-1].Level > c.Level || cells[i-1].Level == c.Level && bytes.Compare(cells[i-1].Hash[:], c.Hash[:]) >= 0) {
			t.Errorf("cells not sorted by level and hash at %d", i)
		}
	}
	// A 150 m circle meets several level-17 cells (~70 m) and one or a
	// few of each coarser level.
	if levels[HomeLevel] < 9 || levels[HomeLevel] > 40 || levels[14] < 1 || levels[11] < 1 || levels[8] < 1 || len(levels) != 4 {
		t.Errorf("cells per level %v", levels)
	}
	again, _ := k.HomeCells(40.7484, -73.9857, 150)
	if !slices.Equal(cells, again) {
		t.Error("the same home hashes differently")
	}
	// No hash is the cell ID in the clear, and another key gives other
	// hashes.
	other, _ := mustHomeKey(t).HomeCells(40.7484, -73.9857, 150)
	id := int64(s2.CellIDFromLatLng(s2.LatLngFromDegrees(40.7484, -73.9857)).Parent(HomeLevel))
	var raw [8]byte
	binary.BigEndian.PutUint64(raw[:], uint64(id))
	for i, c := range cells {
		if bytes.Contains(c.Hash[:], raw[:4]) {
			t.Errorf("cell %d's hash contains the cell ID", i)
		}
		if slices.Contains(other, c) {
			t.Errorf("cell %d hashes alike under two keys", i)
		}
	}
	for _, tt := range []struct {
		name          string
		lat, lon, rad float64
		msg           string
	}{
		{"ErrRadiusSmall", 40, -74, 10, "radius_m: the radius around a home must be 50 to 1000 m, not 10"},
		{"ErrRadiusLarge", 40, -74, 5000, "radius_m: the radius around a home must be 50 to 1000 m, not 5000"},
		{"ErrRadiusNaN", 40, -74, math.NaN(), "radius_m: the radius around a home must be 50 to 1000 m, not NaN"},
		{"ErrLatitude", 95, -74, 100, "lat: latitude 95 is outside [-90, 90]"},
		{"ErrLongitude", 40, math.Inf(-1), 100, "lon: longitude is not a finite number"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := k.HomeCells(tt.lat, tt.lon, tt.rad); err == nil || err.Error() != tt.msg {
				t.Errorf("HomeCells = %v, want %q", err, tt.msg)
			}
		})
	}
	t.Run("ErrKeySize", func(t *testing.T) {
		if _, err := NewHomeKey(make([]byte, 16)); err == nil {
			t.Error("a 16-byte key was accepted")
		}
	})
}

func TestHomeIndex(t *testing.T) {
	k := mustHomeKey(t)
	rng := rand.New(rand.NewPCG(5, 6))
	type home struct {
		person        int64
		lat, lon, rad float64
	}
	var homes []home
	var hs []Home
	for i := range 200 {
		h := home{person: int64(1000 + i), lat: 40.5 + 0.5*rng.Float64(), lon: -74.2 + 0.5*rng.Float64(), rad: 100 + 200*rng.Float64()}
		cells, err := k.HomeCells(h.lat, h.lon, h.rad)
		if err != nil {
			t.Fatal(err)
		}
		homes = append(homes, h)
		hs = append(hs, Home{PersonID: h.person, Cells: cells})
	}
	ix := NewHomeIndex(k, hs)
	if ix.Len() != 200 {
		t.Fatalf("Len = %d", ix.Len())
	}
	t.Run("OKAt", func(t *testing.T) {
		for _, h := range homes {
			// Inside the radius: always one of the home's cells.
			for range 20 {
				lat, lon := offset(h.lat, h.lon, h.rad*rng.Float64()*0.95, rng.Float64()*2*math.Pi)
				if got := ix.At(lat, lon); !slices.Contains(got, h.person) {
					t.Fatalf("a ping %0.f m from person %d's home finds %v", haversine(h.lat, h.lon, lat, lon), h.person, got)
				}
			}
			// Beyond the radius and two cell diagonals: never.
			lat, lon := offset(h.lat, h.lon, h.rad+250, rng.Float64()*2*math.Pi)
			if got := ix.At(lat, lon); slices.Contains(got, h.person) {
				t.Fatalf("a ping %0.f m from person %d's home (radius %.0f m) finds them", haversine(h.lat, h.lon, lat, lon), h.person, h.rad)
			}
		}
		if ix.At(math.NaN(), 0) != nil || ix.At(-33.9, 151.2) != nil {
			t.Error("a bad or far ping finds someone")
		}
	})
	t.Run("OKTouching", func(t *testing.T) {
		for i := range 200 {
			var a *geo.Area
			lat, lon := 40.5+0.5*rng.Float64(), -74.2+0.5*rng.Float64()
			if i%2 == 0 {
				a = mustCircle(t, lat, lon, 100+rng.Float64()*3000)
			} else {
				a = mustArea(t, starPolygon(rng, lat, lon, 0.002+0.02*rng.Float64(), 3+rng.IntN(10)))
			}
			got, err := ix.Touching(a)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range homes {
				// The area holds the home, or a point well inside its
				// radius: it must be found. The area stays clear of the
				// home's radius by more than a cell diagonal: it must not.
				c := mustCircle(t, h.lat, h.lon, h.rad*0.9)
				far := mustCircle(t, h.lat, h.lon, h.rad+250)
				switch {
				case a.Contains(h.lat, h.lon) || a.Intersects(c):
					if !slices.Contains(got, h.person) {
						t.Fatalf("area %d meets person %d's home but Touching = %v", i, h.person, got)
					}
				case !a.Intersects(far):
					if slices.Contains(got, h.person) {
						t.Fatalf("area %d is far from person %d's home but Touching finds them", i, h.person)
					}
				}
			}
		}
		// A whole region finds everyone.
		all, err := ix.Touching(mustCircle(t, 40.75, -73.95, 60_000))
		if err != nil || len(all) != 200 {
			t.Errorf("a 60 km circle finds %d people, %v", len(all), err)
		}
		if got, _ := ix.Touching(mustCircle(t, -33.9, 151.2, 5000)); got != nil {
			t.Errorf("Sydney finds %v", got)
		}
	})
	t.Run("OKNoKey", func(t *testing.T) {
		none := NewHomeIndex(nil, hs)
		if none.Len() != 0 || none.At(homes[0].lat, homes[0].lon) != nil {
			t.Error("an index without a key finds homes")
		}
		if got, err := none.Touching(mustCircle(t, homes[0].lat, homes[0].lon, 500)); got != nil || err != nil {
			t.Errorf("Touching = %v, %v", got, err)
		}
	})
	t.Run("OKOtherKey", func(t *testing.T) {
		// Hashes made under another key match nothing.
		wrong := NewHomeIndex(mustHomeKey(t), hs)
		if got := wrong.At(homes[0].lat, homes[0].lon); got != nil {
			t.Errorf("another key finds %v", got)
		}
	})
}

// haversine is an independent great-circle distance in metres.
func haversine(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	h := math.Pow(math.Sin(dLat/2), 2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Pow(math.Sin(dLon/2), 2)
	return 2 * geo.EarthRadiusKm * 1000 * math.Asin(math.Sqrt(h))
}

func TestNewSnapshot(t *testing.T) {
	k := mustHomeKey(t)
	cells, err := k.HomeCells(40.7, -73.9, 100)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSnapshot(3, []Place{{ID: 1, Category: Court, Area: mustCircle(t, 40.7, -73.9, 50)}}, []Home{{PersonID: 8, Cells: cells}}, k)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != 3 || s.Zones.Len() != 1 || s.Homes.Len() != 1 || !s.Zones.Any(40.7, -73.9) || !slices.Equal(s.Homes.At(40.7, -73.9), []int64{8}) {
		t.Errorf("snapshot %+v", s)
	}
	if _, err := NewSnapshot(1, []Place{{ID: 2}}, nil, k); err == nil {
		t.Error("a place without an area was indexed")
	}
}
