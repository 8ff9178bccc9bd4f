package geo

import (
	"math"

	"github.com/golang/geo/s2"
)

// Intersects reports whether the two areas share at least one point,
// boundaries included: a circle that reaches exactly to a polygon's edge
// touches it. Two circles touch when the great-circle distance between
// their centres is at most the sum of their radii. Two polygonal areas
// touch when an edge of one meets an edge of the other (decided exactly,
// like [Area.Contains]) or one holds a part of the other. A circle touches
// a polygonal area when the area holds its centre or some point of an
// edge lies within the radius; that distance is minimised numerically
// along the edge (a straight line in longitude/latitude), which settles
// touches to well under a millimetre.
func (a *Area) Intersects(b *Area) bool {
	if a == nil || b == nil {
		return false
	}
	if a.maxLat < b.minLat || b.maxLat < a.minLat || a.maxLon < b.minLon || b.maxLon < a.minLon {
		return false
	}
	switch {
	case a.circle && b.circle:
		const rad = math.Pi / 180
		sdLat := math.Sin((b.lat0 - a.lat0) * rad / 2)
		sdLon := math.Sin((b.lon0 - a.lon0) * rad / 2)
		h := sdLat*sdLat + a.cosLat0*b.cosLat0*sdLon*sdLon
		d := 2 * math.Asin(math.Sqrt(math.Min(h, 1)))
		return d <= (a.radiusM+b.radiusM)/1000/EarthRadiusKm
	case a.circle:
		return b.touchesCircle(a)
	case b.circle:
		return a.touchesCircle(b)
	}
	return a.touchesPolygons(b)
}

// touchesCircle reports whether the polygonal area a meets the circle c.
func (a *Area) touchesCircle(c *Area) bool {
	if a.Contains(c.lat0, c.lon0) {
		return true
	}
	for i := range a.idx.edges {
		e := &a.idx.edges[i]
		// A point of the edge inside the circle lies in the circle's
		// bounding box, so the edge's box must meet it.
		if e.maxY < c.minLat || e.minY > c.maxLat || e.maxX < c.minLon || e.minX > c.maxLon {
			continue
		}
		if c.edgeMinHav(e.a, e.b) <= c.havR {
			return true
		}
	}
	return false
}

// edgeMinHav returns (an upper bound within rounding of) the smallest
// haversine, from the circle's centre, of a point of the segment from p to
// q: the segment is sampled, then the best sample's neighbourhood is
// narrowed by golden-section search. Along an edge of city or regional
// size the distance has a single minimum, which the samples bracket.
func (a *Area) edgeMinHav(p, q point) float64 {
	f := func(t float64) float64 {
		return a.circleHav(p.y+t*(q.y-p.y), p.x+t*(q.x-p.x))
	}
	const samples = 8
	best, bi := math.Inf(1), 0
	for i := 0; i <= samples; i++ {
		if h := f(float64(i) / samples); h < best {
			best, bi = h, i
		}
	}
	if best <= a.havR {
		return best
	}
	lo, hi := float64(max(bi-1, 0))/samples, float64(min(bi+1, samples))/samples
	const invPhi = 0.6180339887498949
	x1, x2 := hi-invPhi*(hi-lo), lo+invPhi*(hi-lo)
	f1, f2 := f(x1), f(x2)
	for range 60 {
		if f1 <= f2 {
			hi, x2, f2 = x2, x1, f1
			x1 = hi - invPhi*(hi-lo)
			f1 = f(x1)
		} else {
			lo, x1, f1 = x1, x2, f2
			x2 = lo + invPhi*(hi-lo)
			f2 = f(x2)
		}
		best = min(best, f1, f2)
		if best <= a.havR || hi-lo < 1e-15 {
			break
		}
	}
	return best
}

// touchesPolygons reports whether two polygonal areas meet.
func (a *Area) touchesPolygons(b *Area) bool {
	// Without crossing edges, every polygon of one area lies wholly inside
	// or wholly outside the other, and any of its corners says which.
	for _, poly := range a.polys {
		if p := poly[0][0]; b.Contains(p.y, p.x) {
			return true
		}
	}
	for _, poly := range b.polys {
		if p := poly[0][0]; a.Contains(p.y, p.x) {
			return true
		}
	}
	for i := range a.idx.edges {
		e := &a.idx.edges[i]
		if e.maxY < b.minLat || e.minY > b.maxLat || e.maxX < b.minLon || e.minX > b.maxLon {
			continue
		}
		lo, hi := b.idx.band(e.minY), b.idx.band(e.maxY)
		for band := lo; band <= hi; band++ {
			for _, j := range b.idx.items[b.idx.start[band]:b.idx.start[band+1]] {
				f := &b.idx.edges[j]
				if f.maxX < e.minX || f.minX > e.maxX || f.maxY < e.minY || f.minY > e.maxY {
					continue
				}
				if segmentsIntersect(e.a, e.b, f.a, f.b) {
					return true
				}
			}
		}
	}
	return false
}

// IntersectsCell reports whether the area may share a point with the S2
// cell id (of any level, in the int64 form of [CellID]). It never misses
// a cell that holds a point the area [Area.Contains]; it may report a cell
// that only comes within rounding of the area or, for a polygonal area,
// whose latitude/longitude bounding rectangle meets the area's boundary.
// An invalid cell ID intersects nothing.
func (a *Area) IntersectsCell(id int64) bool {
	c := s2.CellID(uint64(id))
	if !c.IsValid() {
		return false
	}
	return a.region().IntersectsCell(s2.CellFromCellID(c))
}

// ContainsCell reports whether every point of the S2 cell id (as for
// [Area.IntersectsCell]) is in the area, give or take the rounding of
// [Area.IntersectsCell]; it may say no for a cell that is inside. An
// invalid cell ID is in no area.
func (a *Area) ContainsCell(id int64) bool {
	c := s2.CellID(uint64(id))
	if !c.IsValid() {
		return false
	}
	return a.region().ContainsCell(s2.CellFromCellID(c))
}
