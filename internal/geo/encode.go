package geo

import (
	"strconv"
)

// GeoJSON returns the area as a GeoJSON geometry that [ParseArea] reads
// back to the same area: a Polygon or MultiPolygon with closed rings. A
// circle, which GeoJSON cannot express, is a Point (its centre) with a
// "radius_m" member; use [Area.Circle] to tell the two apart.
func (a *Area) GeoJSON() []byte {
	b := make([]byte, 0, 64+len(a.idx.edges)*40)
	num := func(f float64) { b = strconv.AppendFloat(b, f, 'g', -1, 64) }
	pos := func(p point) {
		b = append(b, '[')
		num(p.x)
		b = append(b, ',')
		num(p.y)
		b = append(b, ']')
	}
	if a.circle {
		b = append(b, `{"type":"Point","coordinates":`...)
		pos(point{a.lon0, a.lat0})
		b = append(b, `,"radius_m":`...)
		num(a.radiusM)
		return append(b, '}')
	}
	polygon := func(rings [][]point) {
		b = append(b, '[')
		for i, r := range rings {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			for _, p := range r {
				pos(p)
				b = append(b, ',')
			}
			pos(r[0]) // close the ring
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	if len(a.polys) == 1 {
		b = append(b, `{"type":"Polygon","coordinates":`...)
		polygon(a.polys[0])
		return append(b, '}')
	}
	b = append(b, `{"type":"MultiPolygon","coordinates":[`...)
	for i, p := range a.polys {
		if i > 0 {
			b = append(b, ',')
		}
		polygon(p)
	}
	return append(b, "]}"...)
}
