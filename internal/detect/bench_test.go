package detect_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/detect"
	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/places"
	"github.com/probity-dev/probity/internal/query"
)

// BenchmarkDetectors measures the detectors' own work on typical queries
// (the history they read is in memory here; the store's reads are in
// the query path's benchmark): an area search of a 500 m circle, and a
// week's device history of 2,016 pings (one each 5 minutes), against
// 100,000 protected zones and 2,000 employees' homes spread over a 1°
// square around them.
func BenchmarkDetectors(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	const lat0, lon0 = 40.75, -73.98
	ps := make([]places.Place, 100_000)
	for i := range ps {
		a, err := geo.NewCircle(lat0-0.5+rng.Float64(), lon0-0.5+rng.Float64(), 30+270*rng.Float64(), geo.DefaultLimits())
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
		cells, err := key.HomeCells(lat0-0.5+rng.Float64(), lon0-0.5+rng.Float64(), 50)
		if err != nil {
			b.Fatal(err)
		}
		homes[i] = places.Home{PersonID: int64(i + 10), Cells: cells}
	}
	s, err := places.NewSnapshot(1, ps, homes, key)
	if err != nil {
		b.Fatal(err)
	}
	h := &history{}
	day := onDuty.Truncate(24 * time.Hour)
	for i := 1; i <= 28; i++ {
		for p := int64(1); p <= 30; p++ {
			h.daily = append(h.daily, detect.DayCount{Person: p, Day: day.AddDate(0, 0, -i), Queries: 3, Devices: 40})
		}
	}
	h.queries, h.devices = 2, 40
	d := detect.New(snap{s}, h, detect.Config{})
	ctx := context.Background()

	b.Run("area", func(b *testing.B) {
		in := input(b, query.Area, [2]float64{lat0, lon0}, 500)
		res := query.Result{Kind: query.Area, Devices: make([]query.Device, 40)}
		for b.Loop() {
			if _, err := d.Request(ctx, in); err != nil {
				b.Fatal(err)
			}
			if _, err := d.Result(ctx, in, res); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("device_history", func(b *testing.B) {
		in := input(b, query.DeviceHistory, [2]float64{}, 0)
		in.DeviceTag = "0123456789abcdef"
		pings := make([]query.Ping, 2016)
		lat, lon := lat0, lon0
		for i := range pings {
			lat, lon = lat+0.0005*(rng.Float64()-0.5), lon+0.0005*(rng.Float64()-0.5)
			pings[i] = query.Ping{Time: day.Add(time.Duration(i) * 5 * time.Minute), Lat: lat, Lon: lon}
		}
		res := query.Result{Kind: query.DeviceHistory, Device: "p-abcdefghijklmnopqrst", Pings: pings}
		for b.Loop() {
			if _, err := d.Request(ctx, in); err != nil {
				b.Fatal(err)
			}
			if _, err := d.Result(ctx, in, res); err != nil {
				b.Fatal(err)
			}
		}
	})
}
