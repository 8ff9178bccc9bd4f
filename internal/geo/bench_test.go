package geo

import (
	"math"
	"math/rand/v2"
	"testing"
)

// roundRing returns a ring of n vertices on a circle of radius r degrees
// with 2% radial noise: a realistic hand-drawn or buffered outline.
func roundRing(rng *rand.Rand, lon, lat, r float64, n int) []point {
	ring := make([]point, n)
	for i := range ring {
		t := float64(i) * 2 * math.Pi / float64(n)
		rr := r * (0.98 + 0.02*rng.Float64())
		ring[i] = point{lon + rr*math.Cos(t), lat + rr*math.Sin(t)}
	}
	return ring
}

func benchAreas(b *testing.B) map[string]*Area {
	b.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	c, err := NewCircle(40, 116.32, 600, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	return map[string]*Area{
		"Poly22":    MustParseArea(b, polyDoc([][]point{starRing(rng, 116.32, 40, 0.01, 22)})),
		"Poly1000":  MustParseArea(b, polyDoc([][]point{roundRing(rng, 116.32, 40, 0.01, 1000)})),
		"Poly10000": MustParseArea(b, polyDoc([][]point{roundRing(rng, 116.32, 40, 0.01, 10000)})),
		"Circle":    c,
	}
}

// BenchmarkContains reports ns per point for points spread over a box
// twice the area's size (about a quarter inside).
func BenchmarkContains(b *testing.B) {
	for name, a := range benchAreas(b) {
		b.Run(name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(9, 10))
			pts := make([][2]float64, 4096)
			for i := range pts {
				pts[i] = [2]float64{40 + (rng.Float64()-0.5)*0.04, 116.32 + (rng.Float64()-0.5)*0.04}
			}
			n := 0
			for i := 0; b.Loop(); i++ {
				p := pts[i%len(pts)]
				if a.Contains(p[0], p[1]) {
					n++
				}
			}
			_ = n
		})
	}
}

func BenchmarkParseArea(b *testing.B) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{22, 1000, 10000} {
		doc := []byte(polyDoc([][]point{roundRing(rng, 116.32, 40, 0.01, n)}))
		b.Run(map[int]string{22: "Poly22", 1000: "Poly1000", 10000: "Poly10000"}[n], func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if _, err := ParseArea(doc, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCovering(b *testing.B) {
	for name, a := range benchAreas(b) {
		b.Run(name+"/Ranges32", func(b *testing.B) {
			for b.Loop() {
				a.Covering(32)
			}
		})
		b.Run(name+"/CellIDsLevel16", func(b *testing.B) {
			var n int
			for b.Loop() {
				ids, err := a.CellIDs(IndexLevel)
				if err != nil {
					b.Fatal(err)
				}
				n = len(ids)
			}
			b.ReportMetric(float64(n), "cells")
		})
	}
}
