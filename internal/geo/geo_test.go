package geo

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/golang/geo/s2"
)

// poly returns a GeoJSON Polygon document with the given rings of
// "lon lat" pairs.
func poly(rings ...string) string {
	var rs []string
	for _, r := range rings {
		var ps []string
		for _, p := range strings.Split(r, ",") {
			f := strings.Fields(p)
			ps = append(ps, "["+f[0]+","+f[1]+"]")
		}
		rs = append(rs, "["+strings.Join(ps, ",")+"]")
	}
	return `{"type":"Polygon","coordinates":[` + strings.Join(rs, ",") + `]}`
}

const square = "0 0, 1 0, 1 1, 0 1, 0 0"

func MustParseArea(tb testing.TB, doc string) *Area {
	tb.Helper()
	a, err := ParseArea([]byte(doc), Limits{MaxAreaKm2: 1e6})
	if err != nil {
		tb.Fatalf("ParseArea(%s): %v", doc, err)
	}
	return a
}

func TestParseArea_Errors(t *testing.T) {
	small := Limits{MaxBytes: 400, MaxVertices: 6, MaxRings: 2, MaxAreaKm2: 20_000}
	tests := []struct {
		name, doc string
		lim       Limits
		path, msg string
	}{
		{"ErrNotJSON", `{"type":`, Limits{}, "", "not valid JSON"},
		{"ErrTrailingData", poly(square) + ` x`, Limits{}, "", "not valid JSON"},
		{"ErrTooManyBytes", poly(square) + strings.Repeat(" ", 400), small, "", "the document is 466 bytes; the limit is 400"},
		{"ErrNotObject", `[1,2]`, Limits{}, "", "want a GeoJSON object"},
		{"ErrNoType", `{"coordinates":[]}`, Limits{}, "type", "missing"},
		{"ErrTypeNotString", `{"type":7}`, Limits{}, "type", "want a string"},
		{"ErrDuplicateMember", `{"type":"Polygon","type":"Polygon","coordinates":[]}`, Limits{}, "type", "member appears more than once"},
		{"ErrPoint", `{"type":"Point","coordinates":[1,2]}`, Limits{}, "type", "a Point has no area; want a Polygon or MultiPolygon"},
		{"ErrLineString", `{"type":"LineString","coordinates":[[1,2],[3,4]]}`, Limits{}, "type", "a LineString has no area; want a Polygon or MultiPolygon"},
		{"ErrGeometryCollection", `{"type":"GeometryCollection","geometries":[]}`, Limits{}, "type", "a GeometryCollection is not supported; want a Polygon or MultiPolygon"},
		{"ErrUnknownType", `{"type":"Polygn","coordinates":[]}`, Limits{}, "type", `unknown GeoJSON type "Polygn"; want a Polygon or MultiPolygon`},
		{"ErrFeatureNoGeometry", `{"type":"Feature","properties":{},"geometry":null}`, Limits{}, "geometry", "the feature has no geometry"},
		{"ErrFeatureGeometryIsFeature", `{"type":"Feature","geometry":{"type":"Feature"}}`, Limits{}, "geometry.type", "want a geometry, got a Feature"},
		{"ErrCollectionEmpty", `{"type":"FeatureCollection","features":[]}`, Limits{}, "features", "want exactly one feature, got 0"},
		{"ErrCollectionTwo", `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":` + poly(square) + `},{"type":"Feature","geometry":` + poly(square) + `}]}`, Limits{}, "features", "want exactly one feature, got 2"},
		{"ErrCollectionNotFeature", `{"type":"FeatureCollection","features":[` + poly(square) + `]}`, Limits{}, "features[0].type", `want a Feature, got "Polygon"`},
		{"ErrCollectionPoint", `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]}}]}`, Limits{}, "features[0].geometry.type", "a Point has no area; want a Polygon or MultiPolygon"},
		{"ErrCRS", `{"type":"Polygon","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32649"}},"coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}`, Limits{}, "crs", "only WGS84 longitude/latitude (CRS84) is supported; reproject the area"},
		{"ErrNoCoordinates", `{"type":"Polygon"}`, Limits{}, "coordinates", "missing"},
		{"ErrNullCoordinates", `{"type":"Polygon","coordinates":null}`, Limits{}, "coordinates", "want an array, got null"},
		{"ErrCoordinateString", `{"type":"Polygon","coordinates":[[[0,0],[1,"0"],[1,1],[0,0]]]}`, Limits{}, "coordinates[0][1][1]", "want a number"},
		{"ErrCoordinateNotArray", `{"type":"Polygon","coordinates":[[0,0]]}`, Limits{}, "coordinates[0][0]", "want an array"},
		{"ErrCoordinateHuge", `{"type":"Polygon","coordinates":[[[0,0],[1e400,0],[1,1],[0,0]]]}`, Limits{}, "coordinates[0][1][0]", `number "1e400" is out of range`},
		{"ErrNoRings", `{"type":"Polygon","coordinates":[]}`, Limits{}, "coordinates", "a polygon needs an outer ring"},
		{"ErrMultiEmpty", `{"type":"MultiPolygon","coordinates":[]}`, Limits{}, "coordinates", "a MultiPolygon needs at least one polygon"},
		{"ErrMultiNoRings", `{"type":"MultiPolygon","coordinates":[[]]}`, Limits{}, "coordinates[0]", "a polygon needs an outer ring"},
		{"ErrTooFewPositions", poly("0 0, 1 0, 0 0"), Limits{}, "coordinates[0]", "a ring needs at least 4 positions (3 corners and the first repeated to close it), got 3"},
		{"ErrTooFewDistinct", poly("0 0, 1 0, 1 0, 0 0"), Limits{}, "coordinates[0]", "a ring needs at least 3 distinct corners, got 2"},
		{"ErrPositionOneNumber", `{"type":"Polygon","coordinates":[[[0,0],[1],[1,1],[0,0]]]}`, Limits{}, "coordinates[0][1]", "a position needs 2 or 3 numbers (longitude, latitude, optional altitude), got 1"},
		{"ErrPositionFourNumbers", `{"type":"Polygon","coordinates":[[[0,0],[1,0,0,0],[1,1],[0,0]]]}`, Limits{}, "coordinates[0][1]", "a position needs 2 or 3 numbers (longitude, latitude, optional altitude), got 4"},
		{"ErrLongitudeRange", poly("0 0, 181 0, 1 1, 0 0"), Limits{}, "coordinates[0][1]", "longitude 181 is outside [-180, 180]"},
		{"ErrLatitudeRange", poly("0 0, 1 0, 1 91, 0 0"), Limits{}, "coordinates[0][2]", "latitude 91 is outside [-90, 90]; positions are [longitude, latitude]"},
		{"ErrNotClosed", poly("0 0, 1 0, 1 1, 0 1"), Limits{}, "coordinates[0]", "the ring is not closed: its last position must repeat its first"},
		{"ErrCollinear", poly("0 0, 1 1, 2 2, 0 0"), Limits{}, "coordinates[0]", "the ring has zero area: its corners lie on one line"},
		{"ErrBowTie", poly("0 0, 1 1, 1 0, 0 1, 0 0"), Limits{}, "coordinates[0]", "the ring intersects itself: the edge from position 0 meets the edge from position 2"},
		{"ErrTouchesItself", poly("0 0, 2 0, 2 2, 1 0, 0 2, 0 0"), Limits{}, "coordinates[0]", "the ring intersects itself: the edge from position 0 meets the edge from position 2"},
		{"ErrSpike", poly("0 0, 2 0, 2 2, 2 1, 0 2, 0 0"), Limits{}, "coordinates[0]", "the ring intersects itself: the edge from position 1 meets the edge from position 2"},
		{"ErrHoleOutside", poly(square, "2 2, 3 2, 3 3, 2 2"), Limits{}, "coordinates[1]", "the hole is not inside the polygon's outer ring"},
		{"ErrHoleCrossesShell", poly(square, "0.5 0.5, 1.5 0.5, 0.5 0.7, 0.5 0.5"), Limits{}, "coordinates[1]", "rings must not touch or cross: this ring meets coordinates[0]"},
		{"ErrHoleTouchesShell", poly(square, "0 0.5, 0.5 0.4, 0.5 0.6, 0 0.5"), Limits{}, "coordinates[1]", "rings must not touch or cross: this ring meets coordinates[0]"},
		{"ErrNestedHoles", poly("0 0, 10 0, 10 10, 0 10, 0 0", "1 1, 9 1, 9 9, 1 1", "5 3, 6 3, 6 4, 5 3"), Limits{}, "coordinates[2]", "holes must not nest: this hole and coordinates[1] overlap"},
		{"ErrMultiOverlap", `{"type":"MultiPolygon","coordinates":[[[[0,0],[4,0],[4,4],[0,0]]],[[[2,1],[3,1],[3,2],[2,1]]]]}`, Limits{}, "coordinates[1][0]", "polygons must not overlap: this polygon overlaps coordinates[0][0]"},
		{"ErrMultiCross", `{"type":"MultiPolygon","coordinates":[[[[0,0],[4,0],[4,4],[0,0]]],[[[3,-1],[5,-1],[5,1],[3,-1]]]]}`, Limits{}, "coordinates[1][0]", "rings must not touch or cross: this ring meets coordinates[0][0]"},
		{"ErrTooManyVertices", poly("0 0, 1 0, 2 0, 3 0, 3 1, 2 1, 1 1, 0 0"), small, "coordinates", "too many vertices: 7; the limit is 6"},
		{"ErrTooManyRings", poly(square, "0.1 0.1, 0.2 0.1, 0.2 0.2, 0.1 0.1", "0.5 0.5, 0.6 0.5, 0.6 0.6, 0.5 0.5"), small, "coordinates", "too many rings: 3; the limit is 2"},
		{"ErrAreaTooLarge", poly("0 0, 2 0, 2 2, 0 0"), small, "coordinates", "the area is 24726.2 km²; the limit is 20000 km²"},
		{"ErrAreaUnderflow", poly("0 0, 1e-300 0, 0 1e-300, 0 0"), Limits{}, "coordinates", "the area is zero"},
		{"ErrFeaturePath", `{"type":"FeatureCollection","name":"x","features":[{"type":"Feature","properties":{},"geometry":` + poly("0 0, 1 0, 1 1, 0 1") + `}]}`, Limits{}, "features[0].geometry.coordinates[0]", "the ring is not closed: its last position must repeat its first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseArea([]byte(tt.doc), tt.lim)
			if err == nil {
				t.Fatalf("ParseArea accepted it (area %g km²)", a.AreaKm2())
			}
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("error %v is %T, want *geo.Error", err, err)
			}
			if ge.Path != tt.path || ge.Message != tt.msg {
				t.Errorf("got path %q message %q\nwant path %q message %q", ge.Path, ge.Message, tt.path, tt.msg)
			}
		})
	}
}

func TestParseArea(t *testing.T) {
	tests := []struct {
		name, doc string
		areaKm2   float64 // exact or computed independently
		in, out   [][2]float64
	}{
		{"OKPolygon", poly(square), 12363.6, [][2]float64{{0.5, 0.5}, {0, 0}, {0.5, 0}, {1, 1}}, [][2]float64{{1.5, 0.5}, {-1e-9, 0.5}}},
		{"OKClockwiseAltitudeDuplicates", `{"type":"Polygon","coordinates":[[[0,0,5],[0,1],[0,1],[1,1],[1,0],[0,0]]]}`, 12363.6, [][2]float64{{0.5, 0.5}}, nil},
		{"OKHole", poly(square, "0.25 0.25, 0.75 0.25, 0.75 0.75, 0.25 0.75, 0.25 0.25"), 12363.6 * 0.75, [][2]float64{{0.1, 0.1}, {0.5, 0.25}}, [][2]float64{{0.5, 0.5}}},
		{"OKFeature", `{"type":"Feature","id":1,"bbox":[0,0,1,1],"properties":{"a":1},"geometry":` + poly(square) + `}`, 12363.6, [][2]float64{{0.5, 0.5}}, nil},
		{"OKFeatureCollectionCRS84", `{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},"features":[{"type":"Feature","geometry":` + poly(square) + `}]}`, 12363.6, [][2]float64{{0.5, 0.5}}, nil},
		{"OKMultiPolygon", `{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,1],[0,0]]],[[[2,0],[3,0],[3,1],[2,1],[2,0]]]]}`, 2 * 12363.6, [][2]float64{{0.5, 0.5}, {2.5, 0.5}}, [][2]float64{{1.5, 0.5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := MustParseArea(t, tt.doc)
			if d := math.Abs(a.AreaKm2()-tt.areaKm2) / tt.areaKm2; d > 1e-4 {
				t.Errorf("area %.2f km², want %.2f", a.AreaKm2(), tt.areaKm2)
			}
			for _, p := range tt.in {
				if !a.Contains(p[1], p[0]) {
					t.Errorf("Contains(lat %g, lon %g) = false, want true", p[1], p[0])
				}
			}
			for _, p := range tt.out {
				if a.Contains(p[1], p[0]) {
					t.Errorf("Contains(lat %g, lon %g) = true, want false", p[1], p[0])
				}
			}
		})
	}
}

func TestArea_AreaKm2(t *testing.T) {
	t.Run("OKOneDegreeAtEquator", func(t *testing.T) {
		// R² · (1° in radians) · sin 1°, the exact area of the cell.
		want := EarthRadiusKm * EarthRadiusKm * (math.Pi / 180) * math.Sin(math.Pi/180)
		a := MustParseArea(t, poly(square))
		if math.Abs(a.AreaKm2()-want) > 1e-6 || math.Abs(a.AreaKm2()-12364) > 1 {
			t.Errorf("area %.4f km², want %.4f (≈ 12,364)", a.AreaKm2(), want)
		}
	})
	t.Run("OKOneDegreeAt60North", func(t *testing.T) {
		a := MustParseArea(t, poly("10 60, 11 60, 11 61, 10 61, 10 60"))
		want := EarthRadiusKm * EarthRadiusKm * (math.Pi / 180) * (math.Sin(61*math.Pi/180) - math.Sin(60*math.Pi/180))
		if math.Abs(a.AreaKm2()-want) > 1e-6 {
			t.Errorf("area %.4f km², want %.4f", a.AreaKm2(), want)
		}
	})
	t.Run("OKMatchesS2ForSmallPolygons", func(t *testing.T) {
		// For city-scale polygons straight lon/lat edges and great-circle
		// edges enclose nearly the same area; S2 computes the latter.
		rng := rand.New(rand.NewPCG(1, 2))
		for range 50 {
			lat, lon := rng.Float64()*160-80, rng.Float64()*340-170
			ring := starRing(rng, lon, lat, 0.02, 16)
			a := MustParseArea(t, polyDoc([][]point{ring}))
			var ps []s2.Point
			for _, p := range ring {
				ps = append(ps, s2.PointFromLatLng(s2.LatLngFromDegrees(p.y, p.x)))
			}
			l := s2.LoopFromPoints(ps)
			l.Normalize()
			s2Km2 := l.Area() * EarthRadiusKm * EarthRadiusKm
			if d := math.Abs(a.AreaKm2()-s2Km2) / s2Km2; d > 1e-3 {
				t.Errorf("at %g,%g: area %.6f km², S2 %.6f km²", lat, lon, a.AreaKm2(), s2Km2)
			}
		}
	})
}

// starRing returns a random simple (star-shaped) ring around lon, lat with
// radii in [0.5, 1]·r degrees.
func starRing(rng *rand.Rand, lon, lat, r float64, n int) []point {
	angles := make([]float64, n)
	for i := range angles {
		angles[i] = (float64(i) + 0.8*rng.Float64()) * 2 * math.Pi / float64(n)
	}
	ring := make([]point, n)
	for i, t := range angles {
		rr := r * (0.5 + 0.5*rng.Float64())
		ring[i] = point{lon + rr*math.Cos(t), lat + rr*math.Sin(t)}
	}
	return ring
}

func polyDoc(rings [][]point) string {
	var rs []string
	for _, ring := range rings {
		var ps []string
		for _, p := range append(ring, ring[0]) {
			ps = append(ps, fmt.Sprintf("[%v,%v]", p.x, p.y))
		}
		rs = append(rs, "["+strings.Join(ps, ",")+"]")
	}
	return `{"type":"Polygon","coordinates":[` + strings.Join(rs, ",") + `]}`
}

// bruteContains is an independent winding-number test over all rings,
// with boundary points inside, written without the package's predicates.
func bruteContains(rings [][]point, x, y float64) bool {
	for _, ring := range rings {
		for i := range ring {
			a, b := ring[i], ring[(i+1)%len(ring)]
			cross := (b.x-a.x)*(y-a.y) - (x-a.x)*(b.y-a.y)
			if cross == 0 && x >= math.Min(a.x, b.x) && x <= math.Max(a.x, b.x) && y >= math.Min(a.y, b.y) && y <= math.Max(a.y, b.y) {
				return true
			}
		}
	}
	// Count the rings winding around the point: odd means inside.
	n := 0
	for _, ring := range rings {
		w := 0
		for i := range ring {
			a, b := ring[i], ring[(i+1)%len(ring)]
			cross := (b.x-a.x)*(y-a.y) - (x-a.x)*(b.y-a.y)
			if a.y <= y && b.y > y && cross > 0 {
				w++
			} else if a.y > y && b.y <= y && cross < 0 {
				w--
			}
		}
		if w != 0 {
			n++
		}
	}
	return n%2 == 1
}

func TestArea_Contains(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	t.Run("OKMatchesBruteForce", func(t *testing.T) {
		for trial := range 40 {
			lat, lon := rng.Float64()*140-70, rng.Float64()*340-170
			shell := starRing(rng, lon, lat, 0.05, 5+rng.IntN(200))
			hole := starRing(rng, lon, lat, 0.015, 3+rng.IntN(20)) // inside the shell's 0.025 inner radius
			rings := [][]point{shell}
			if trial%2 == 1 {
				rings = append(rings, hole)
			}
			a := MustParseArea(t, polyDoc(rings))
			for range 2000 {
				x, y := lon+(rng.Float64()-0.5)*0.12, lat+(rng.Float64()-0.5)*0.12
				if got, want := a.Contains(y, x), bruteContains(rings, x, y); got != want {
					t.Fatalf("trial %d: Contains(%v, %v) = %v, brute force %v", trial, y, x, got, want)
				}
			}
			for _, ring := range rings {
				for i, p := range ring {
					q := ring[(i+1)%len(ring)]
					if !a.Contains(p.y, p.x) {
						t.Fatalf("vertex %v not contained", p)
					}
					if m := (point{(p.x + q.x) / 2, (p.y + q.y) / 2}); !a.Contains(m.y, m.x) && bruteContains(rings, m.x, m.y) {
						t.Fatalf("edge midpoint %v not contained", m)
					}
				}
			}
		}
	})
	t.Run("OKBoundaryOfAxisAlignedSquare", func(t *testing.T) {
		a := MustParseArea(t, poly(square))
		for _, p := range [][2]float64{{0, 0}, {0, 0.3}, {1, 0.999}, {0.5, 1}, {1, 1}} {
			if !a.Contains(p[0], p[1]) {
				t.Errorf("boundary point %v not contained", p)
			}
		}
		for _, p := range [][2]float64{{math.NaN(), 0.5}, {0.5, math.Inf(1)}, {1 + 1e-15, 0.5}} {
			if a.Contains(p[0], p[1]) {
				t.Errorf("point %v contained", p)
			}
		}
	})
	t.Run("OKCircleMatchesS2Distance", func(t *testing.T) {
		for range 30 {
			lat, lon, r := rng.Float64()*170-85, rng.Float64()*360-180, 10+rng.Float64()*20_000
			c, err := NewCircle(lat, lon, r, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			centre := s2.LatLngFromDegrees(lat, lon)
			d := r / 1000 / EarthRadiusKm * 180 / math.Pi * 1.5
			for range 2000 {
				plat := math.Max(-90, math.Min(90, lat+(rng.Float64()-0.5)*2*d))
				plon := math.Mod(lon+(rng.Float64()-0.5)*2*d/math.Max(math.Cos(plat*math.Pi/180), 0.01)+540, 360) - 180
				dist := float64(centre.Distance(s2.LatLngFromDegrees(plat, plon))) * EarthRadiusKm * 1000
				if math.Abs(dist-r) < 1e-6*r {
					continue // within rounding of the circle
				}
				if got := c.Contains(plat, plon); got != (dist < r) {
					t.Fatalf("circle %v,%v r=%v: Contains(%v, %v) = %v at distance %v", lat, lon, r, plat, plon, got, dist)
				}
			}
		}
	})
}

func TestNewCircle(t *testing.T) {
	t.Run("OKAreaNearPiR2", func(t *testing.T) {
		for _, r := range []float64{100, 1000, 10_000, 50_000} {
			c, err := NewCircle(39.99, 116.32, r, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			planar := math.Pi * r * r / 1e6
			if d := (planar - c.AreaKm2()) / planar; d < 0 || d > 1e-4 {
				t.Errorf("r=%g m: area %.6f km², πr² %.6f km² (relative %g)", r, c.AreaKm2(), planar, d)
			}
		}
	})
	t.Run("OKParseCircle", func(t *testing.T) {
		c, err := ParseCircle(" 39.999, 116.326 ,500", Limits{})
		if err != nil {
			t.Fatal(err)
		}
		lat, lon, r, ok := c.Circle()
		if lat != 39.999 || lon != 116.326 || r != 500 || !ok || !c.Contains(39.999, 116.326) || c.Contains(40.01, 116.326) {
			t.Errorf("got %v %v %v %v", lat, lon, r, ok)
		}
	})
	tests := []struct{ name, in, path, msg string }{
		{"ErrFields", "1,2", "circle", "want LAT,LON,METRES, got 2 comma-separated values"},
		{"ErrNumber", "1,x,3", "circle.lon", `want a decimal number, got "x"`},
		{"ErrLat", "91,0,10", "circle.lat", "latitude 91 is outside [-90, 90]"},
		{"ErrLatNaN", "NaN,0,10", "circle.lat", "latitude is not a finite number"},
		{"ErrLon", "0,-180.5,10", "circle.lon", "longitude -180.5 is outside [-180, 180]"},
		{"ErrLonInf", "0,Inf,10", "circle.lon", "longitude is not a finite number"},
		{"ErrRadiusZero", "0,0,0", "circle.radius", "the radius must be greater than zero, got 0 m"},
		{"ErrRadiusNegative", "0,0,-5", "circle.radius", "the radius must be greater than zero, got -5 m"},
		{"ErrRadiusInf", "0,0,+Inf", "circle.radius", "radius is not a finite number"},
		{"ErrRadiusUnderflow", "0,0,1e-320", "circle.radius", "the area is zero"},
		{"ErrAreaTooLarge", "0,0,100000", "circle.radius", "the area is 31415.3 km²; the limit is 10000 km²"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCircle(tt.in, Limits{})
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("error %v, want *geo.Error", err)
			}
			if ge.Path != tt.path || ge.Message != tt.msg {
				t.Errorf("got path %q message %q\nwant path %q message %q", ge.Path, ge.Message, tt.path, tt.msg)
			}
		})
	}
}

// inRanges reports whether id lies in one of the ranges.
func inRanges(rs []CellRange, id int64) bool {
	for _, r := range rs {
		if r.Min <= id && id <= r.Max {
			return true
		}
	}
	return false
}

func TestArea_Covering(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var areas []*Area
	for i := range 20 {
		lat, lon := rng.Float64()*160-80, rng.Float64()*356-178
		if i%4 == 3 {
			c, err := NewCircle(lat, lon, 100+rng.Float64()*3000, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			areas = append(areas, c)
			continue
		}
		areas = append(areas, MustParseArea(t, polyDoc([][]point{starRing(rng, lon, lat, 0.01+0.02*rng.Float64(), 3+rng.IntN(40))})))
	}
	// Points near the antimeridian and a pole.
	areas = append(areas, MustParseArea(t, poly("179.99 10, 180 10, 180 10.01, 179.99 10")), MustParseArea(t, poly("0 89.99, 90 89.99, 180 89.99, 180 90, 0 90, 0 89.99")))
	for i, a := range areas {
		rs := a.Covering(32)
		ids, err := a.CellIDs(IndexLevel)
		if err != nil {
			t.Fatal(err)
		}
		for j := range rs {
			if rs[j].Min > rs[j].Max {
				t.Fatalf("area %d: range %d has Min > Max", i, j)
			}
		}
		minLat, minLon, maxLat, maxLon := a.Bounds()
		found := 0
		for range 20_000 {
			lat, lon := minLat+rng.Float64()*(maxLat-minLat), minLon+rng.Float64()*(maxLon-minLon)
			if !a.Contains(lat, lon) {
				continue
			}
			found++
			id := CellID(lat, lon)
			if !inRanges(rs, id) {
				t.Fatalf("area %d: contained point %v,%v has cell %s outside the covering", i, lat, lon, Token(id))
			}
			if _, ok := slices.BinarySearchFunc(ids, id, func(a, b int64) int { return cmp.Compare(uint64(a), uint64(b)) }); !ok {
				t.Fatalf("area %d: contained point %v,%v has cell %s missing from CellIDs", i, lat, lon, Token(id))
			}
		}
		if found == 0 {
			t.Errorf("area %d: no sample point inside", i)
		}
	}
	t.Run("ErrLevel", func(t *testing.T) {
		if _, err := areas[0].CellIDs(31); err == nil {
			t.Error("level 31 accepted")
		}
		if _, err := MustParseArea(t, poly(square)).CellIDs(30); err == nil {
			t.Error("a billion cells accepted")
		}
	})
}

func TestCellID(t *testing.T) {
	id := CellID(39.999, 116.326)
	c := s2.CellID(uint64(id))
	if !c.IsValid() || c.Level() != IndexLevel || !s2.CellFromCellID(c).ContainsPoint(s2.PointFromLatLng(s2.LatLngFromDegrees(39.999, 116.326))) {
		t.Errorf("CellID = %s (level %d)", Token(id), c.Level())
	}
	// Face 4 and 5 cells have the top bit set: negative as int64, but a
	// covering range keeps Min ≤ Max.
	if id := CellID(-10, -100); id >= 0 {
		t.Errorf("face %d cell is %d, want negative int64", s2.CellID(uint64(id)).Face(), id)
	}
}

// tsinghua is the GeoLife Tsinghua campus polygon in the shared data set,
// which the query issue's real-data test uses.
const tsinghua = "../../../shared/data/trajectories/geolife-trackintel/area/tsinghua_wgs84.geojson"

func TestParseArea_Tsinghua(t *testing.T) {
	data, err := os.ReadFile(filepath.FromSlash(tsinghua))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("skipping: %s is absent (the shared GeoLife data is not mounted)", tsinghua)
	}
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseArea(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// The campus is about 2.0 km × 2.7 km less its irregular edges.
	if km2 := a.AreaKm2(); km2 < 2.5 || km2 > 4.5 {
		t.Errorf("area %.3f km², want 2.5–4.5", km2)
	}
	t.Logf("Tsinghua: %d vertices, %.4f km², %d covering ranges", a.NumVertices(), a.AreaKm2(), len(a.Covering(32)))
	if !a.Contains(40.0, 116.32) || a.Contains(39.98, 116.32) {
		t.Error("campus centre not inside or a point south of it inside")
	}
}

// TestImports keeps the package a pure domain package.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "net/http" || dep == "database/sql" || strings.HasPrefix(dep, "github.com/probity-dev/probity/internal/store") {
			t.Errorf("geo depends on %s", dep)
		}
	}
}

func FuzzParseArea(f *testing.F) {
	f.Add([]byte(poly(square)))
	f.Add([]byte(poly(square, "0.25 0.25, 0.75 0.25, 0.75 0.75, 0.25 0.75, 0.25 0.25")))
	f.Add([]byte(poly("0 0, 1 1, 1 0, 0 1, 0 0")))
	f.Add([]byte(`{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,1],[0,0]]],[[[2,0],[3,0],[3,1],[2,1],[2,0]]]]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":` + poly("116.31 39.99, 116.33 39.99, 116.33 40.01, 116.31 39.99") + `}]}`))
	f.Add([]byte(`{"type":"Feature","geometry":null}`))
	lim := Limits{MaxBytes: 1 << 14, MaxVertices: 200, MaxRings: 10, MaxAreaKm2: 1e6}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseArea(data, lim)
		if err != nil {
			var ge *Error
			if !errors.As(err, &ge) || ge.Message == "" {
				t.Fatalf("error %v (%T) is not a *geo.Error with a message", err, err)
			}
			return
		}
		if !(a.AreaKm2() > 0 && a.AreaKm2() <= lim.MaxAreaKm2) {
			t.Fatalf("accepted area %g km²", a.AreaKm2())
		}
		if a.NumVertices() < 3 || a.NumVertices() > lim.MaxVertices {
			t.Fatalf("accepted %d vertices", a.NumVertices())
		}
		enc := a.GeoJSON()
		b, err := ParseArea(enc, Limits{MaxBytes: 1 << 20, MaxVertices: lim.MaxVertices, MaxRings: lim.MaxRings, MaxAreaKm2: lim.MaxAreaKm2})
		if err != nil {
			t.Fatalf("its own GeoJSON %s does not parse: %v", enc, err)
		}
		if again := b.GeoJSON(); !bytes.Equal(again, enc) || b.AreaKm2() != a.AreaKm2() {
			t.Fatalf("GeoJSON does not round-trip:\n%s\n%s", enc, again)
		}
		rs := a.Covering(16)
		for _, poly := range a.polys {
			for _, ring := range poly {
				for _, p := range ring {
					if !a.Contains(p.y, p.x) {
						t.Fatalf("vertex %v not contained", p)
					}
					if !inRanges(rs, CellID(p.y, p.x)) {
						t.Fatalf("vertex %v outside the covering", p)
					}
				}
			}
		}
	})
}

func TestArea_GeoJSON(t *testing.T) {
	lim := Limits{MaxAreaKm2: 1e5}
	for _, in := range []string{
		poly(square),
		poly(square, "0.25 0.25, 0.75 0.25, 0.75 0.75, 0.25 0.75, 0.25 0.25"),
		`{"type":"MultiPolygon","coordinates":[[[[0,0],[0.1,0],[0.1,0.1],[0,0.1],[0,0]]],[[[0.2,0],[0.3,0],[0.3,0.1],[0.2,0.1],[0.2,0]]]]}`,
	} {
		a, err := ParseArea([]byte(in), lim)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseArea(a.GeoJSON(), lim)
		if err != nil {
			t.Fatalf("%s: %v", a.GeoJSON(), err)
		}
		if !bytes.Equal(a.GeoJSON(), b.GeoJSON()) || a.AreaKm2() != b.AreaKm2() || a.NumVertices() != b.NumVertices() {
			t.Errorf("round trip of %s gave %s", a.GeoJSON(), b.GeoJSON())
		}
	}
	c, err := NewCircle(39.99, 116.32, 250, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(c.GeoJSON()), `{"type":"Point","coordinates":[116.32,39.99],"radius_m":250}`; got != want {
		t.Errorf("circle GeoJSON = %s, want %s", got, want)
	}
}
