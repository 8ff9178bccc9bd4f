package geo

import (
	"cmp"
	"math"
	"slices"
)

// ringInfo is one ring during validation.
type ringInfo struct {
	path string
	pts  []point
	orig []int // input position number of each corner
	poly int
	hole bool
}

// vedge is an edge during the crossing check: edge k of ring r runs from
// corner k to corner k+1.
type vedge struct {
	r, k       int
	a, b       point
	minX, maxX float64
	minY, maxY float64
}

// checkCrossings refuses rings that cross or touch themselves or each
// other. It sweeps the edges in order of their smallest longitude and
// tests only pairs whose longitude ranges overlap: O(n log n + pairs), at
// worst O(n²) for n bounded by Limits.MaxVertices. The exact orientation
// test makes touching (a vertex on another edge, collinear overlap) count
// as an intersection. When several pairs intersect, the one with the
// smallest edge numbers is reported, so the message does not depend on the
// sweep order.
func checkCrossings(rings []ringInfo) error {
	var edges []vedge
	for r, ring := range rings {
		for k, a := range ring.pts {
			b := ring.pts[(k+1)%len(ring.pts)]
			edges = append(edges, vedge{r: r, k: k, a: a, b: b,
				minX: math.Min(a.x, b.x), maxX: math.Max(a.x, b.x), minY: math.Min(a.y, b.y), maxY: math.Max(a.y, b.y)})
		}
	}
	order := make([]int32, len(edges))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int { return cmp.Compare(edges[i].minX, edges[j].minX) })

	best := [2]int{-1, -1}
	for oi, i := range order {
		e := &edges[i]
		for _, j := range order[oi+1:] {
			f := &edges[j]
			if f.minX > e.maxX {
				break
			}
			if f.maxY < e.minY || f.minY > e.maxY || !intersects(rings, e, f) {
				continue
			}
			lo, hi := int(min(i, j)), int(max(i, j))
			if best[0] < 0 || lo < best[0] || lo == best[0] && hi < best[1] {
				best = [2]int{lo, hi}
			}
		}
	}
	if best[0] < 0 {
		return nil
	}
	e, f := &edges[best[0]], &edges[best[1]]
	re, rf := &rings[e.r], &rings[f.r]
	if e.r == f.r {
		return errorf(re.path, "the ring intersects itself: the edge from position %d meets the edge from position %d", re.orig[e.k], re.orig[f.k])
	}
	return errorf(rf.path, "rings must not touch or cross: this ring meets %s", re.path)
}

// intersects reports whether two edges share a point they should not:
// any point for edges of different rings or non-adjacent edges of one ring,
// and more than their common corner for adjacent edges.
func intersects(rings []ringInfo, e, f *vedge) bool {
	if e.r == f.r {
		n := len(rings[e.r].pts)
		switch {
		case (e.k+1)%n == f.k: // e = (a, b), f = (b, c)
			return foldsBack(e.a, e.b, f.b)
		case (f.k+1)%n == e.k: // f = (a, b), e = (b, c)
			return foldsBack(f.a, f.b, e.b)
		}
	}
	return segmentsIntersect(e.a, e.b, f.a, f.b)
}

// foldsBack reports whether the consecutive edges ab and bc overlap beyond
// their common corner b (a spike doubling back on itself).
func foldsBack(a, b, c point) bool {
	return orient(a, b, c) == 0 && (onSegment(a, b, c) || onSegment(b, c, a))
}

// pointInRing is the even-odd test for a point known not to lie on the
// ring.
func pointInRing(ring []point, p point) bool {
	inside := false
	for i, a := range ring {
		b := ring[(i+1)%len(ring)]
		if (a.y <= p.y) != (b.y <= p.y) && (b.y > a.y) == (orient(a, b, p) > 0) {
			inside = !inside
		}
	}
	return inside
}

// polyContains is the even-odd test over a polygon's rings.
func polyContains(poly [][]point, p point) bool {
	in := false
	for _, ring := range poly {
		if pointInRing(ring, p) {
			in = !in
		}
	}
	return in
}

// checkNesting checks, for rings known not to touch or cross, that every
// hole lies inside its outer ring and outside the other holes, and that no
// two polygons overlap. Without crossings one corner decides each question.
func checkNesting(polys [][][]point, ringPath func(k, r int) string) error {
	for k, poly := range polys {
		for r, hole := range poly[1:] {
			if !pointInRing(poly[0], hole[0]) {
				return errorf(ringPath(k, r+1), "the hole is not inside the polygon's outer ring")
			}
			for s, other := range poly[1 : r+1] {
				if pointInRing(other, hole[0]) || pointInRing(hole, other[0]) {
					return errorf(ringPath(k, r+1), "holes must not nest: this hole and %s overlap", ringPath(k, s+1))
				}
			}
		}
		for m, other := range polys[:k] {
			if polyContains(other, poly[0][0]) || polyContains(poly, other[0][0]) {
				return errorf(ringPath(k, 0), "polygons must not overlap: this polygon overlaps %s", ringPath(m, 0))
			}
		}
	}
	return nil
}
