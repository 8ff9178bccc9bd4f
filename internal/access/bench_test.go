package access_test

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/access"
	"github.com/probity-dev/probity/internal/detect"
	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/places"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// BenchmarkSubmit measures the audited path's own cost for a routine
// area search whose connector answers at once: checks, decision, the
// durable ledger entries and the receipt. Variants add the misuse
// detectors (over 100,000 protected zones and 2,000 employees' homes,
// none near the search) and, as the server runs it, the review opened
// in the completing transaction; the difference between variants is
// what each adds.
func BenchmarkSubmit(b *testing.B) {
	snap := benchSnapshot(b)
	for _, d := range storetest.Dialects() {
		for _, v := range []struct {
			name string
			set  func(e *env, deps *access.Deps)
		}{
			{"path", func(*env, *access.Deps) {}},
			{"detectors", func(e *env, deps *access.Deps) {
				// The volume detector fires once, as the queries pile up.
				deps.Screener = access.Detectors(detect.New(snap, e.DB.Activity(), detect.Config{}))
				deps.Alerts = e.DB.Alerts(nil)
			}},
			{"detectors+review", func(e *env, deps *access.Deps) {
				deps.Screener = access.Detectors(detect.New(snap, e.DB.Activity(), detect.Config{}))
				deps.Alerts = e.DB.Alerts(nil)
				deps.Reviews = e.DB.Reviews(deps.Alerts)
			}},
		} {
			b.Run(d.String()+"/"+v.name, func(b *testing.B) {
				e := newEnv(b, d)
				deps := e.deps
				v.set(e, &deps)
				svc := access.New(deps)
				ctx := context.Background()
				r := e.area()
				lat := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for range b.N {
					start := time.Now()
					out, err := svc.Submit(ctx, e.As["cbp-analyst"], r)
					lat = append(lat, time.Since(start))
					if err != nil || out.Query.Status != query.Completed || out.Receipt == nil {
						b.Fatalf("submit: %v %+v", err, out.Query)
					}
				}
				b.StopTimer()
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			})
		}
	}
}

type fixedSnapshot struct{ s *places.Snapshot }

func (f fixedSnapshot) Current() *places.Snapshot { return f.s }

// benchSnapshot places 100,000 protected zones (circles of 30 to 300 m)
// and 2,000 employees' homes over a 2° square around the benchmark's
// search, none within 3 km of it.
func benchSnapshot(b *testing.B) fixedSnapshot {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	const lat0, lon0 = 38.901, -77.029
	point := func() (float64, float64) {
		for {
			lat, lon := lat0-1+2*rng.Float64(), lon0-1+2*rng.Float64()
			dy, dx := (lat-lat0)*111_000, (lon-lon0)*111_000*math.Cos(lat0*math.Pi/180)
			if math.Hypot(dx, dy) > 3000 {
				return lat, lon
			}
		}
	}
	ps := make([]places.Place, 100_000)
	for i := range ps {
		lat, lon := point()
		a, err := geo.NewCircle(lat, lon, 30+270*rng.Float64(), geo.DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		ps[i] = places.Place{ID: int64(i + 1), Category: places.School, Name: "school", Area: a}
	}
	key, err := places.NewHomeKey(places.GenerateHomeKey())
	if err != nil {
		b.Fatal(err)
	}
	homes := make([]places.Home, 2000)
	for i := range homes {
		lat, lon := point()
		cells, err := key.HomeCells(lat, lon, 50)
		if err != nil {
			b.Fatal(err)
		}
		homes[i] = places.Home{PersonID: int64(1_000_000 + i), Cells: cells}
	}
	s, err := places.NewSnapshot(1, ps, homes, key)
	if err != nil {
		b.Fatal(err)
	}
	return fixedSnapshot{s}
}
