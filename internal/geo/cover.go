package geo

import (
	"fmt"
	"math"

	"github.com/golang/geo/r1"
	"github.com/golang/geo/s1"
	"github.com/golang/geo/s2"
)

// IndexLevel is the S2 level of the cell ID stored with each ping ([CellID]).
//
// Level 16 cells are about 150 m across (0.0127 km² on average, 0.006 to
// 0.02 km² by position). That is fine enough that a covering of a
// 1 km² search with 32–64 cells fetches few pings outside the area (the
// over-fetch is a band about one covering cell wide along the boundary),
// and coarse enough that an exhaustive level-16 list for that search
// ([Area.CellIDs]) has ~100–150 cells, still usable as an SQL IN list, and
// that a home's cell is a neighbourhood rather than a house. Coarser cells
// (level 14, ~600 m) would triple the candidates of a 1 km² search; finer
// ones (level 18, ~40 m) only grow the lists. Changing it means
// re-indexing every stored ping.
const IndexLevel = 16

// CellID returns the ID of the level-[IndexLevel] S2 cell holding the point
// at lat, lon (degrees), as stored with a ping. The S2 ID's bits are kept
// and reinterpreted as int64 because SQL integers are signed and
// database/sql refuses uint64 values above 2⁶³−1 (faces 4 and 5); within a
// face the sign bit is constant, so every [CellRange] keeps Min ≤ Max.
func CellID(lat, lon float64) int64 {
	return int64(s2.CellIDFromLatLng(s2.LatLngFromDegrees(lat, lon)).Parent(IndexLevel))
}

// Token returns the compact hexadecimal S2 token of a cell ID, for logs and
// debugging ("89c25" rather than 9926595690882924544).
func Token(id int64) string { return s2.CellID(uint64(id)).ToToken() }

// A CellRange is an inclusive range of stored cell IDs: a ping's level-
// [IndexLevel] cell lies in a covering cell exactly when Min ≤ id ≤ Max, so
// one covering cell becomes one "cell_id BETWEEN ? AND ?" index scan.
type CellRange struct{ Min, Max int64 }

// Covering returns at most maxCells ranges of level-[IndexLevel] cell IDs
// (S2 cells of any level from 0 to IndexLevel, adjacent ones merged) that
// together hold every point the area [Area.Contains]. Candidates found by
// the ranges must still be filtered with Contains. More cells cost more
// index scans but fetch fewer pings outside the area; 32 to 64 suits a
// city-scale search. maxCells below 4 is raised to 4.
func (a *Area) Covering(maxCells int) []CellRange {
	rc := &s2.RegionCoverer{MinLevel: 0, MaxLevel: IndexLevel, LevelMod: 1, MaxCells: max(maxCells, 4)}
	cu := rc.Covering(a.region())
	out := make([]CellRange, 0, len(cu))
	var lo, hi s2.CellID
	for i, c := range cu {
		mn, mx := c.RangeMin(), c.RangeMax()
		// Merge a cell into the previous range when no leaf ID lies between
		// them (leaf IDs are odd, so consecutive ones differ by 2) and they
		// are on the same face, keeping the int64 order of the range.
		if i > 0 && uint64(mn) <= uint64(hi)+2 && mn.Face() == hi.Face() {
			hi = max(hi, mx)
			continue
		}
		if i > 0 {
			out = append(out, CellRange{int64(lo), int64(hi)})
		}
		lo, hi = mn, mx
	}
	if len(cu) > 0 {
		out = append(out, CellRange{int64(lo), int64(hi)})
	}
	return out
}

// maxCellIDs bounds the size of [Area.CellIDs].
const maxCellIDs = 200_000

// CellIDs returns the IDs of all S2 cells of the given level (0–30) that
// may hold a point of the area, sorted as S2 orders them. With level
// [IndexLevel] these are exactly the stored cell IDs an area search must
// consider (an IN list); a few cells that only touch the boundary region
// may be included. It refuses a level whose list would exceed 200,000
// cells (estimated from the area).
func (a *Area) CellIDs(level int) ([]int64, error) {
	if level < 0 || level > s2.MaxLevel {
		return nil, fmt.Errorf("geo: cell level %d is outside [0, %d]", level, s2.MaxLevel)
	}
	cellKm2 := s2.AvgAreaMetric.Value(level) * EarthRadiusKm * EarthRadiusKm
	if n := a.areaKm2 / cellKm2; n > maxCellIDs {
		return nil, fmt.Errorf("geo: about %.0f cells of level %d cover the area; the limit is %d", n, level, maxCellIDs)
	}
	rc := &s2.RegionCoverer{MinLevel: level, MaxLevel: level, LevelMod: 1, MaxCells: math.MaxInt32}
	cu := rc.Covering(a.region())
	out := make([]int64, len(cu))
	for i, c := range cu {
		out[i] = int64(c)
	}
	return out, nil
}

// region returns the area as an S2 region for the coverer.
func (a *Area) region() s2.Region {
	if a.circle {
		// The cap is padded by 1e-12 radians (6 µm) plus a relative 1e-9 so
		// that rounding differences between the haversine test of Contains
		// and S2's chord-angle test can never drop a contained point.
		theta := math.Min(a.radiusM/1000/EarthRadiusKm, math.Pi)
		return s2.CapFromCenterAngle(s2.PointFromLatLng(s2.LatLngFromDegrees(a.lat0, a.lon0)),
			s1.Angle(theta*(1+1e-9)+1e-12))
	}
	return polyRegion{a}
}

// polyRegion adapts a polygonal area to [s2.Region]. S2 cells have
// geodesic edges while the area's edges are straight in longitude/latitude,
// so cells are tested through their latitude/longitude bounding rectangle
// (which S2 computes conservatively): a rectangle that meets the area may
// hold a contained point, and one inside the area holds only contained
// points.
type polyRegion struct{ a *Area }

var _ s2.Region = polyRegion{}

const deg = 180 / math.Pi

func (p polyRegion) RectBound() s2.Rect {
	const pad = 1e-9 // radians
	a := p.a
	return s2.Rect{
		Lat: r1.Interval{Lo: a.minLat/deg - pad, Hi: a.maxLat/deg + pad},
		Lng: s1.IntervalFromEndpoints(math.Max(a.minLon/deg-pad, -math.Pi), math.Min(a.maxLon/deg+pad, math.Pi)),
	}
}

func (p polyRegion) CapBound() s2.Cap { return p.RectBound().CapBound() }

func (p polyRegion) CellUnionBound() []s2.CellID { return p.RectBound().CellUnionBound() }

func (p polyRegion) ContainsPoint(pt s2.Point) bool {
	ll := s2.LatLngFromPoint(pt)
	return p.a.Contains(ll.Lat.Degrees(), ll.Lng.Degrees())
}

// cellRect returns the cell's bounding rectangle in degrees, and false
// when it wraps around the antimeridian or spans all longitudes.
func cellRect(c s2.Cell) (x0, y0, x1, y1 float64, ok bool) {
	rb := c.RectBound()
	if rb.Lng.IsInverted() || rb.Lng.IsFull() {
		return 0, 0, 0, 0, false
	}
	return rb.Lng.Lo * deg, rb.Lat.Lo * deg, rb.Lng.Hi * deg, rb.Lat.Hi * deg, true
}

func (p polyRegion) IntersectsCell(c s2.Cell) bool {
	x0, y0, x1, y1, ok := cellRect(c)
	if !ok {
		return true
	}
	a := p.a
	if x1 < a.minLon || x0 > a.maxLon || y1 < a.minLat || y0 > a.maxLat {
		return false
	}
	if a.idx.anyEdgeIntersectsRect(x0, y0, x1, y1) {
		return true
	}
	// No edge meets the rectangle: it is wholly inside or wholly outside.
	return a.idx.contains((x0+x1)/2, (y0+y1)/2)
}

func (p polyRegion) ContainsCell(c s2.Cell) bool {
	x0, y0, x1, y1, ok := cellRect(c)
	if !ok {
		return false
	}
	a := p.a
	if x0 < a.minLon || x1 > a.maxLon || y0 < a.minLat || y1 > a.maxLat {
		return false
	}
	return !a.idx.anyEdgeIntersectsRect(x0, y0, x1, y1) && a.idx.contains((x0+x1)/2, (y0+y1)/2)
}
