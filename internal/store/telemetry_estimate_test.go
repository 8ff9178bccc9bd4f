package store_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/connector"
	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
	"github.com/probity-dev/probity/internal/synth"
)

// estimateCity returns the demo's synthetic city (its default number of
// devices, 1,200, each as busy a day as in the demo) over days days.
func estimateCity(tb testing.TB, days int) *synth.City {
	tb.Helper()
	cfg := synth.DefaultConfig()
	cfg.Devices = 1200
	cfg.Employees = 60
	cfg.Days = days
	city, err := synth.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return city
}

// importCity imports the city's pings into a new local source of db.
func importCity(tb testing.TB, db *store.DB, city *synth.City) connector.Connector {
	tb.Helper()
	src := storetest.MustLocalSourceDB(tb, db, "city")
	st, err := db.Telemetry().Import(context.Background(), benchActor, src.Name, city.Pings(), store.ImportOptions{FileName: "city.csv", Format: "csv"})
	if err != nil {
		tb.Fatal(err)
	}
	if st.Inserted == 0 || st.Bad != 0 {
		tb.Fatalf("import: %+v", st)
	}
	return db.Telemetry().Connector(src.ID)
}

// estimateReads is how many pings an estimate reads at most (the store's
// estimateMaxPings).
const estimateReads = 100_000

// Estimates are never below the devices the search finds, and on the
// synthetic city at most estimateFactor times them plus estimateSlack.
const (
	estimateFactor = 2.0
	estimateSlack  = 3
)

func TestTelemetryConnector_EstimateDevices(t *testing.T) {
	days := 3
	if raceEnabled {
		days = 1
	}
	city := estimateCity(t, days)
	start, end := city.Window()
	minLat, minLon, maxLat, maxLon := city.Bounds()
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			ctx := context.Background()
			db, _, _ := storetest.MustOpenNew(t, d)
			conn := importCity(t, db, city)
			est, ok := conn.(connector.Estimator)
			if !ok {
				t.Fatal("the local connector has no estimator")
			}
			check := func(t *testing.T, r connector.AreaRequest, factor float64) (estimated, found, pings int) {
				t.Helper()
				n, err := est.EstimateDevices(ctx, r)
				if err != nil {
					t.Fatal(err)
				}
				r.Limit = math.MaxInt
				got, err := conn.AreaSearch(ctx, r)
				if err != nil {
					t.Fatal(err)
				}
				if n < len(got) || float64(n) > factor*float64(len(got))+estimateSlack {
					t.Errorf("%.2f km² from %s for %s: estimated %d devices, the search finds %d", r.Area.AreaKm2(), r.From.Format(time.DateTime), r.To.Sub(r.From), n, len(got))
				}
				for _, g := range got {
					pings += g.Pings
				}
				return n, len(got), pings
			}
			t.Run("WithinFactor", func(t *testing.T) {
				// Circles of 0.1 to 3 km² over 1 to 24 hours, at homes and
				// workplaces of the city (where its devices are) and at
				// random places.
				rng := rand.New(rand.NewPCG(5, 5))
				devs := city.Devices()
				var estimated, found int
				for i := range 60 {
					lat, lon := minLat+rng.Float64()*(maxLat-minLat), minLon+rng.Float64()*(maxLon-minLon)
					switch dev := devs[rng.IntN(len(devs))]; {
					case i%3 == 0:
						lat, lon = dev.Home.Lat, dev.Home.Lon
					case i%3 == 1 && dev.HasWork:
						lat, lon = dev.Work.Lat, dev.Work.Lon
					}
					a, err := geo.NewCircle(lat, lon, math.Sqrt((0.1+rng.Float64()*2.9)/math.Pi)*1000, geo.Limits{})
					if err != nil {
						t.Fatal(err)
					}
					from := start.Add(time.Duration(rng.Int64N(int64(end.Sub(start)))))
					e, f, _ := check(t, connector.AreaRequest{Area: a, From: from, To: from.Add(time.Duration(1+rng.IntN(24)) * time.Hour)}, estimateFactor)
					estimated, found = estimated+e, found+f
				}
				if found < 100 {
					t.Fatalf("the searches found only %d devices in all: the test would prove little", found)
				}
				t.Logf("estimated %d devices in all, the searches found %d (%.2f×)", estimated, found, float64(estimated)/float64(found))
			})
			t.Run("Capped", func(t *testing.T) {
				// Large areas over the whole window hold more pings than
				// an estimate reads: it scales up what it read, to no
				// more than the source's devices.
				capped := false
				for _, radiusM := range []float64{6_000, 15_000} {
					a, err := geo.NewCircle((minLat+maxLat)/2, (minLon+maxLon)/2, radiusM, geo.Limits{})
					if err != nil {
						t.Fatal(err)
					}
					e, f, pings := check(t, connector.AreaRequest{Area: a, From: start, To: end}, 2.5)
					if e > len(city.Devices()) {
						t.Errorf("estimated %d devices; the source has %d", e, len(city.Devices()))
					}
					t.Logf("radius %.0f km: estimated %d devices, the search finds %d with %d pings", radiusM/1000, e, f, pings)
					capped = capped || pings > estimateReads
				}
				if !capped && !raceEnabled {
					t.Errorf("no area held more than the %d pings an estimate reads: the test proves nothing", estimateReads)
				}
			})
			t.Run("Empty", func(t *testing.T) {
				a, err := geo.NewCircle(-33.86, 151.21, 1000, geo.Limits{}) // far from the city
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range []connector.AreaRequest{
					{Area: a, From: start, To: end},
					{Area: a, From: start.AddDate(-1, 0, 0), To: start.AddDate(0, 0, -1)}, // no pings then
				} {
					if n, err := est.EstimateDevices(ctx, r); err != nil || n != 0 {
						t.Errorf("estimate %d, %v; want 0", n, err)
					}
				}
			})
			t.Run("ErrRequest", func(t *testing.T) {
				a, err := geo.NewCircle(minLat, minLon, 500, geo.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				for name, r := range map[string]connector.AreaRequest{
					"NoArea":   {From: start, To: end},
					"NoWindow": {Area: a},
					"Reversed": {Area: a, From: end, To: start},
				} {
					if _, err := est.EstimateDevices(ctx, r); !errors.Is(err, connector.ErrRejected) {
						t.Errorf("%s: %v, want ErrRejected", name, err)
					}
				}
			})
			t.Run("ErrContext", func(t *testing.T) {
				a, err := geo.NewCircle(minLat, minLon, 500, geo.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				cctx, cancel := context.WithCancel(ctx)
				cancel()
				if _, err := est.EstimateDevices(cctx, connector.AreaRequest{Area: a, From: start, To: end}); !errors.Is(err, connector.ErrUnavailable) {
					t.Errorf("%v, want ErrUnavailable", err)
				}
			})
		})
	}
}

// TestTelemetryConnector_RiskTier checks that the estimate lets a small
// search of the demo city be routine, as the query path assesses it: with
// no estimate, every area search is at least elevated.
func TestTelemetryConnector_RiskTier(t *testing.T) {
	ctx := context.Background()
	city := estimateCity(t, 1)
	db, _, _ := storetest.MustOpenNew(t, storetest.Dialects()[0])
	conn := importCity(t, db, city)
	start, _ := city.Window()
	// A neighbourhood around a resident's home, from 8 in the morning for
	// 12 hours: 0.5 km².
	var home synth.Point
	for _, d := range city.Devices() {
		if d.Employee == "" {
			home = d.Home
			break
		}
	}
	a, err := geo.NewCircle(home.Lat, home.Lon, math.Sqrt(0.5/math.Pi)*1000, geo.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	r := connector.AreaRequest{Area: a, From: start.Add(8 * time.Hour), To: start.Add(20 * time.Hour), Limit: 1000}
	risk := query.Risk{Kind: query.Area, AreaKm2: a.AreaKm2(), WindowHours: 12, ExpectedDevices: -1}
	if tier, _ := risk.Assess(query.DefaultThresholds()); tier != query.Elevated {
		t.Fatalf("without an estimate the search is %v, want elevated", tier)
	}
	n, err := conn.(connector.Estimator).EstimateDevices(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := conn.AreaSearch(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || n < len(got) {
		t.Fatalf("estimated %d devices, the search finds %d", n, len(got))
	}
	risk.ExpectedDevices = n
	if tier, why := risk.Assess(query.DefaultThresholds()); tier != query.Routine {
		t.Errorf("with an estimate of %d devices the search is %v (%v), want routine", n, tier, why)
	}
	// The whole city for a day is not routine, whatever its area.
	whole, err := geo.NewCircle(home.Lat, home.Lon, 15_000, geo.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	n, err = conn.(connector.Estimator).EstimateDevices(ctx, connector.AreaRequest{Area: whole, From: start, To: start.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if n <= query.DefaultThresholds().RoutineDevices {
		t.Errorf("the whole city for a day: estimated %d devices, want more than %d", n, query.DefaultThresholds().RoutineDevices)
	}
}
