package mapsvg

// pt is a point in a view's pixels.
type pt struct{ x, y float64 }

// rect is a box in a view's pixels.
type rect struct{ x0, y0, x1, y1 float64 }

func (r rect) contains(p pt) bool { return p.x >= r.x0 && p.x <= r.x1 && p.y >= r.y0 && p.y <= r.y1 }

// overlaps reports whether the box of pts meets r, and whether it lies
// inside r whole.
func (r rect) overlaps(pts []pt) (meets, inside bool) {
	if len(pts) == 0 {
		return false, false
	}
	b := rect{pts[0].x, pts[0].y, pts[0].x, pts[0].y}
	for _, p := range pts[1:] {
		b.x0, b.x1 = min(b.x0, p.x), max(b.x1, p.x)
		b.y0, b.y1 = min(b.y0, p.y), max(b.y1, p.y)
	}
	meets = b.x0 <= r.x1 && b.x1 >= r.x0 && b.y0 <= r.y1 && b.y1 >= r.y0
	return meets, meets && b.x0 >= r.x0 && b.x1 <= r.x1 && b.y0 >= r.y0 && b.y1 <= r.y1
}

// clipRing clips a closed ring to r (Sutherland–Hodgman): what is left is
// the part of the polygon inside r, with edges along r where it was cut.
// buf is reused.
func clipRing(ring []pt, r rect, buf *[2][]pt) []pt {
	in := ring
	for edge := range 4 {
		if len(in) == 0 {
			return nil
		}
		out := buf[edge%2][:0]
		prev := in[len(in)-1]
		for _, cur := range in {
			cin, pin := r.inside(cur, edge), r.inside(prev, edge)
			switch {
			case cin && !pin:
				out = append(out, r.cross(prev, cur, edge), cur)
			case cin:
				out = append(out, cur)
			case pin:
				out = append(out, r.cross(prev, cur, edge))
			}
			prev = cur
		}
		buf[edge%2] = out
		in = out
	}
	return in
}

// inside reports whether p is on the inner side of one of r's edges: 0
// left, 1 right, 2 top, 3 bottom.
func (r rect) inside(p pt, edge int) bool {
	switch edge {
	case 0:
		return p.x >= r.x0
	case 1:
		return p.x <= r.x1
	case 2:
		return p.y >= r.y0
	}
	return p.y <= r.y1
}

// cross returns where the segment a–b crosses one of r's edge lines.
func (r rect) cross(a, b pt, edge int) pt {
	switch edge {
	case 0, 1:
		x := r.x0
		if edge == 1 {
			x = r.x1
		}
		t := (x - a.x) / (b.x - a.x)
		return pt{x, a.y + t*(b.y-a.y)}
	}
	y := r.y0
	if edge == 3 {
		y = r.y1
	}
	t := (y - a.y) / (b.y - a.y)
	return pt{a.x + t*(b.x-a.x), y}
}

// clipSegment clips the segment a–b to r (Liang–Barsky); ok is false when
// none of it is inside.
func clipSegment(a, b pt, r rect) (pt, pt, bool) {
	t0, t1 := 0.0, 1.0
	dx, dy := b.x-a.x, b.y-a.y
	for _, c := range [4][2]float64{{-dx, a.x - r.x0}, {dx, r.x1 - a.x}, {-dy, a.y - r.y0}, {dy, r.y1 - a.y}} {
		p, q := c[0], c[1]
		if p == 0 {
			if q < 0 {
				return a, b, false
			}
			continue
		}
		t := q / p
		if p < 0 {
			if t > t1 {
				return a, b, false
			}
			t0 = max(t0, t)
		} else {
			if t < t0 {
				return a, b, false
			}
			t1 = min(t1, t)
		}
	}
	return pt{a.x + t0*dx, a.y + t0*dy}, pt{a.x + t1*dx, a.y + t1*dy}, true
}

// clipLine clips a polyline to r, calling emit with each piece inside.
// buf is reused.
func clipLine(line []pt, r rect, buf *[]pt, emit func([]pt)) {
	cur := (*buf)[:0]
	for i := 1; i < len(line); i++ {
		a, b, ok := clipSegment(line[i-1], line[i], r)
		if !ok {
			continue
		}
		if len(cur) > 0 && cur[len(cur)-1] != a {
			emit(cur)
			cur = cur[:0]
		}
		if len(cur) == 0 {
			cur = append(cur, a)
		}
		cur = append(cur, b)
	}
	if len(cur) > 1 {
		emit(cur)
	}
	*buf = cur
}
