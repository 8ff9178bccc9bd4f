package geo

import "math"

// edge is one polygon edge with its bounding box.
type edge struct {
	a, b                   point
	minX, maxX, minY, maxY float64
}

// edgeIndex holds every edge of every ring of an area in horizontal bands
// (compressed sparse rows): a point's ray-casting test only visits the edges
// whose latitude range overlaps the point's band, which keeps Contains close
// to constant time for polygons with thousands of vertices.
type edgeIndex struct {
	edges  []edge
	y0     float64 // latitude of the bottom of band 0
	inv    float64 // bands per degree of latitude
	start  []int32 // band b holds items[start[b]:start[b+1]]
	items  []int32 // edge numbers
	nbands int
}

func newEdgeIndex(polys [][][]point, minY, maxY float64) edgeIndex {
	var ix edgeIndex
	for _, rings := range polys {
		for _, ring := range rings {
			for i, a := range ring {
				b := ring[(i+1)%len(ring)]
				ix.edges = append(ix.edges, edge{a: a, b: b,
					minX: math.Min(a.x, b.x), maxX: math.Max(a.x, b.x),
					minY: math.Min(a.y, b.y), maxY: math.Max(a.y, b.y)})
			}
		}
	}
	n := max(1, min(len(ix.edges)/2, 4096))
	ix.nbands, ix.y0 = n, minY
	if span := maxY - minY; span > 0 {
		ix.inv = float64(n) / span
	}
	count := make([]int32, n+1)
	for _, e := range ix.edges {
		lo, hi := ix.band(e.minY), ix.band(e.maxY)
		for b := lo; b <= hi; b++ {
			count[b+1]++
		}
	}
	for b := 1; b <= n; b++ {
		count[b] += count[b-1]
	}
	ix.start = count
	ix.items = make([]int32, count[n])
	fill := append([]int32(nil), count[:n]...)
	for i, e := range ix.edges {
		lo, hi := ix.band(e.minY), ix.band(e.maxY)
		for b := lo; b <= hi; b++ {
			ix.items[fill[b]] = int32(i)
			fill[b]++
		}
	}
	return ix
}

// band returns the band holding latitude y, clamped to the valid range.
func (ix *edgeIndex) band(y float64) int {
	b := int((y - ix.y0) * ix.inv)
	return max(0, min(b, ix.nbands-1))
}

// contains is the even-odd ray-casting test (a ray towards +x) over all
// rings, with points on an edge reported as inside. Valid areas have
// disjoint rings and holes nested in their outer ring, so parity over all
// rings of all polygons is membership.
func (ix *edgeIndex) contains(x, y float64) bool {
	p := point{x, y}
	b := ix.band(y)
	inside := false
	for _, i := range ix.items[ix.start[b]:ix.start[b+1]] {
		e := &ix.edges[i]
		if y < e.minY || y > e.maxY || x > e.maxX {
			continue
		}
		if x < e.minX && (e.a.y <= y) != (e.b.y <= y) {
			inside = !inside // the edge straddles the ray entirely to the right
			continue
		}
		o := orient(e.a, e.b, p)
		if o == 0 {
			if x >= e.minX && x <= e.maxX {
				return true
			}
			continue
		}
		if (e.a.y <= y) != (e.b.y <= y) && (e.b.y > e.a.y) == (o > 0) {
			inside = !inside
		}
	}
	return inside
}

// anyEdgeIntersectsRect reports whether some edge meets the closed rectangle.
func (ix *edgeIndex) anyEdgeIntersectsRect(x0, y0, x1, y1 float64) bool {
	lo, hi := ix.band(y0), ix.band(y1)
	for b := lo; b <= hi; b++ {
		for _, i := range ix.items[ix.start[b]:ix.start[b+1]] {
			e := &ix.edges[i]
			if e.maxX < x0 || e.minX > x1 || e.maxY < y0 || e.minY > y1 {
				continue
			}
			if segmentIntersectsRect(e.a, e.b, x0, y0, x1, y1) {
				return true
			}
		}
	}
	return false
}
