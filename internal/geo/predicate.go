package geo

import (
	"math"
	"math/big"
)

// orient returns the sign of the cross product (b-a)×(c-a): +1 when c lies
// to the left of the directed line a→b, -1 to the right, 0 when the three
// points are collinear. The sign is exact: a floating-point filter with
// Shewchuk's error bound settles almost every call, and the rest are
// recomputed with exact rationals.
func orient(a, b, c point) int {
	l := (b.x - a.x) * (c.y - a.y)
	r := (b.y - a.y) * (c.x - a.x)
	det := l - r
	bound := 1e-15 * (math.Abs(l) + math.Abs(r))
	switch {
	case det > bound:
		return 1
	case -det > bound:
		return -1
	case l == 0 && r == 0 && (b.x == a.x || c.y == a.y) && (b.y == a.y || c.x == a.x):
		// Both products are zero because a factor is exactly zero (not
		// because of underflow), so the determinant is exactly zero.
		return 0
	}
	return orientExact(a, b, c)
}

func orientExact(a, b, c point) int {
	r := func(f float64) *big.Rat { return new(big.Rat).SetFloat64(f) }
	bx := new(big.Rat).Sub(r(b.x), r(a.x))
	by := new(big.Rat).Sub(r(b.y), r(a.y))
	cx := new(big.Rat).Sub(r(c.x), r(a.x))
	cy := new(big.Rat).Sub(r(c.y), r(a.y))
	return new(big.Rat).Mul(bx, cy).Cmp(new(big.Rat).Mul(by, cx))
}

// onSegment reports whether c, known to be collinear with a and b, lies on
// the closed segment ab.
func onSegment(a, b, c point) bool {
	return math.Min(a.x, b.x) <= c.x && c.x <= math.Max(a.x, b.x) &&
		math.Min(a.y, b.y) <= c.y && c.y <= math.Max(a.y, b.y)
}

// segmentsIntersect reports whether the closed segments ab and cd share at
// least one point.
func segmentsIntersect(a, b, c, d point) bool {
	if math.Max(a.x, b.x) < math.Min(c.x, d.x) || math.Max(c.x, d.x) < math.Min(a.x, b.x) ||
		math.Max(a.y, b.y) < math.Min(c.y, d.y) || math.Max(c.y, d.y) < math.Min(a.y, b.y) {
		return false
	}
	o1, o2 := orient(a, b, c), orient(a, b, d)
	o3, o4 := orient(c, d, a), orient(c, d, b)
	if o1*o2 < 0 && o3*o4 < 0 {
		return true
	}
	return (o1 == 0 && onSegment(a, b, c)) || (o2 == 0 && onSegment(a, b, d)) ||
		(o3 == 0 && onSegment(c, d, a)) || (o4 == 0 && onSegment(c, d, b))
}

// segmentIntersectsRect reports whether the closed segment ab meets the
// closed axis-aligned rectangle [x0,x1]×[y0,y1] (separating-axis test).
func segmentIntersectsRect(a, b point, x0, y0, x1, y1 float64) bool {
	if math.Max(a.x, b.x) < x0 || math.Min(a.x, b.x) > x1 ||
		math.Max(a.y, b.y) < y0 || math.Min(a.y, b.y) > y1 {
		return false
	}
	s := orient(a, b, point{x0, y0})
	for _, c := range [...]point{{x1, y0}, {x1, y1}, {x0, y1}} {
		if orient(a, b, c) != s {
			return true
		}
	}
	return s == 0
}
