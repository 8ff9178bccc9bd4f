package geo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golang/geo/s2"
)

// haversineM is an independent great-circle distance in metres.
func haversineM(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	h := math.Pow(math.Sin(dLat/2), 2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Pow(math.Sin(dLon/2), 2)
	return 2 * EarthRadiusKm * 1000 * math.Asin(math.Sqrt(h))
}

// metresNorth returns the latitude d metres north of lat.
func metresNorth(lat, d float64) float64 { return lat + d/1000/EarthRadiusKm*180/math.Pi }

func mustCircle(tb testing.TB, lat, lon, r float64) *Area {
	tb.Helper()
	c, err := NewCircle(lat, lon, r, Limits{})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestArea_Intersects(t *testing.T) {
	// A square of about 1.1 km a side at the equator, one with a hole,
	// and a MultiPolygon whose second part lies elsewhere.
	sq := MustParseArea(t, poly("0 0, 0.01 0, 0.01 0.01, 0 0.01, 0 0"))
	holed := MustParseArea(t, poly("0 0, 0.01 0, 0.01 0.01, 0 0.01, 0 0", "0.002 0.002, 0.008 0.002, 0.008 0.008, 0.002 0.008, 0.002 0.002"))
	multi := MustParseArea(t, `{"type":"MultiPolygon","coordinates":[[[[1,1],[1.01,1],[1.01,1.01],[1,1]]],[[[0.004,0.004],[0.006,0.004],[0.006,0.006],[0.004,0.004]]]]}`)
	edgeY := 0.01 // the square's north edge
	tests := []struct {
		name string
		a, b *Area
		want bool
	}{
		{"OKCirclesApart", mustCircle(t, 0, 0, 100), mustCircle(t, metresNorth(0, 250), 0, 100), false},
		{"OKCirclesOverlap", mustCircle(t, 0, 0, 100), mustCircle(t, metresNorth(0, 190), 0, 100), true},
		{"OKCircleInCircle", mustCircle(t, 0, 0, 1000), mustCircle(t, metresNorth(0, 10), 0, 10), true},
		{"OKCircleHoldsCentre", sq, mustCircle(t, 0.005, 0.005, 10), true},
		{"OKCircleNearEdge", sq, mustCircle(t, metresNorth(edgeY, 90), 0.005, 100), true},
		{"OKCircleOffEdge", sq, mustCircle(t, metresNorth(edgeY, 110), 0.005, 100), false},
		{"OKCircleNearCorner", sq, mustCircle(t, metresNorth(edgeY, 70), 0.01+0.0006, 100), true},
		{"OKCircleOffCorner", sq, mustCircle(t, metresNorth(edgeY, 80), 0.01+0.0008, 100), false},
		{"OKCircleHoldsSquare", sq, mustCircle(t, 0.005, 0.005, 5000), true},
		{"OKCircleInHole", holed, mustCircle(t, 0.005, 0.005, 100), false},
		{"OKCircleReachesHole", holed, mustCircle(t, 0.005, 0.005, 400), true},
		{"OKPolygonsApart", sq, MustParseArea(t, poly("0.02 0, 0.03 0, 0.03 0.01, 0.02 0")), false},
		{"OKPolygonsCross", sq, MustParseArea(t, poly("0.005 0.005, 0.02 0.005, 0.02 0.02, 0.005 0.005")), true},
		{"OKPolygonsShareEdge", sq, MustParseArea(t, poly("0.01 0, 0.02 0, 0.02 0.01, 0.01 0.01, 0.01 0")), true},
		{"OKPolygonInside", sq, MustParseArea(t, poly("0.004 0.004, 0.006 0.004, 0.006 0.006, 0.004 0.004")), true},
		{"OKPolygonInHole", holed, MustParseArea(t, poly("0.004 0.004, 0.006 0.004, 0.006 0.006, 0.004 0.004")), false},
		{"OKMultiPartInside", sq, multi, true},
		{"OKMultiPartInHole", holed, multi, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Intersects(tt.b); got != tt.want {
				t.Errorf("a.Intersects(b) = %v, want %v", got, tt.want)
			}
			if got := tt.b.Intersects(tt.a); got != tt.want {
				t.Errorf("b.Intersects(a) = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("ErrNil", func(t *testing.T) {
		if sq.Intersects(nil) || (*Area)(nil).Intersects(sq) {
			t.Error("a nil area intersects")
		}
	})
}

// TestArea_Intersects_Random checks circles against random star polygons
// with an independent oracle: the smallest haversine distance from the
// centre to densely sampled edge points, and containment of the centre.
func TestArea_Intersects_Random(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const samples = 4000
	decided, touching := 0, 0
	for i := range 300 {
		lat, lon := 40+rng.Float64(), -74+rng.Float64()
		ring := starRing(rng, lon, lat, 0.002+0.01*rng.Float64(), 5+rng.IntN(20))
		p := MustParseArea(t, polyDoc([][]point{ring}))
		c := mustCircle(t, lat+(rng.Float64()-0.5)*0.05, lon+(rng.Float64()-0.5)*0.05, 50+rng.Float64()*1500)
		clat, clon, r, _ := c.Circle()
		best, step := math.Inf(1), 0.0
		for k, a := range ring {
			b := ring[(k+1)%len(ring)]
			step = max(step, haversineM(a.y, a.x, b.y, b.x)/samples)
			for j := 0; j <= samples; j++ {
				f := float64(j) / samples
				best = min(best, haversineM(clat, clon, a.y+f*(b.y-a.y), a.x+f*(b.x-a.x)))
			}
		}
		var want bool
		switch {
		case p.Contains(clat, clon) || best < r:
			want = true
		case best > r+step:
			want = false
		default:
			continue // within a sampling step of the radius
		}
		decided++
		if want {
			touching++
		}
		if got := p.Intersects(c); got != want {
			t.Errorf("case %d: Intersects = %v, want %v (closest sampled edge point %.3f m, radius %.3f m)", i, got, want, best, r)
		}
	}
	if decided < 250 || touching < 50 || decided-touching < 50 {
		t.Errorf("the oracle decided %d of 300 cases, %d of them touching: too few of one kind", decided, touching)
	}
}

func TestArea_IntersectsCell(t *testing.T) {
	sq := MustParseArea(t, poly("0 0, 0.01 0, 0.01 0.01, 0 0.01, 0 0"))
	c := mustCircle(t, 40, -74, 200)
	cell := func(lat, lon float64, level int) int64 {
		return int64(s2.CellIDFromLatLng(s2.LatLngFromDegrees(lat, lon)).Parent(level))
	}
	tests := []struct {
		name string
		a    *Area
		id   int64
		want bool
	}{
		{"OKPolygonInside", sq, cell(0.005, 0.005, 17), true},
		{"OKPolygonCoarse", sq, cell(0.005, 0.005, 8), true},
		{"OKPolygonFar", sq, cell(0.05, 0.05, 17), false},
		{"OKCircleCentre", c, cell(40, -74, 17), true},
		{"OKCircleEdge", c, cell(metresNorth(40, 199), -74, 17), true},
		{"OKCircleFar", c, cell(metresNorth(40, 600), -74, 17), false},
		{"ErrInvalidCell", c, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.IntersectsCell(tt.id); got != tt.want {
				t.Errorf("IntersectsCell = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("ContainsCell", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			a    *Area
			id   int64
			want bool
		}{
			{"OKPolygonInside", sq, cell(0.005, 0.005, 17), true},
			{"OKPolygonCoarse", sq, cell(0.005, 0.005, 8), false},
			{"OKCircleCentre", c, cell(40, -74, 17), true},
			{"OKCircleEdge", c, cell(metresNorth(40, 199), -74, 17), false},
			{"ErrInvalidCell", c, 0, false},
		} {
			if got := tt.a.ContainsCell(tt.id); got != tt.want {
				t.Errorf("%s: ContainsCell = %v, want %v", tt.name, got, tt.want)
			}
			if tt.want && !tt.a.IntersectsCell(tt.id) {
				t.Errorf("%s: a contained cell does not intersect", tt.name)
			}
		}
	})
}
