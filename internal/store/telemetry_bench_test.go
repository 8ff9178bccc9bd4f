package store_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/connector"
	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/importer/ping"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// The telemetry benchmarks measure the local store against the targets in
// docs/benchmarks.md: import speed, and area search and device history on a
// store of 10,000,000 pings of a city of 30 × 30 km over 30 days.

// benchCity generates the pings of a city deterministically, in time
// order: each device has a home and a workplace; by day it is mostly at
// work, by night mostly at home, otherwise anywhere in the city; positions
// scatter about 50 m around a place.
type benchCity struct {
	rng          *rand.Rand
	devices      int
	homes, works [][2]float64
	start        time.Time
	step         time.Duration
	n, i         int
}

// The city: 30 × 30 km centred on Washington, DC.
const (
	cityLat, cityLon = 38.9072, -77.0369
	cityHalfLat      = 15 / 111.32
	cityDays         = 30
)

var cityHalfLon = 15 / (111.32 * math.Cos(cityLat*math.Pi/180))

var cityStart = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// newBenchCity returns a generator of n pings of the given number of
// devices over cityDays days from start; the same seed gives the same
// pings.
func newBenchCity(seed uint64, devices, n int, start time.Time) *benchCity {
	c := &benchCity{rng: rand.New(rand.NewPCG(seed, 42)), devices: devices, start: start, n: n,
		step: time.Duration(int64(cityDays*24*time.Hour) / int64(n))}
	place := func() [2]float64 {
		// The sum of two uniforms: denser towards the centre.
		u := func() float64 { return (c.rng.Float64() + c.rng.Float64()) - 1 }
		return [2]float64{cityLat + u()*cityHalfLat, cityLon + u()*cityHalfLon}
	}
	for range devices {
		c.homes = append(c.homes, place())
		c.works = append(c.works, place())
	}
	return c
}

func (c *benchCity) device(i int) string { return fmt.Sprintf("dev-%06d", i) }

func (c *benchCity) Next() (ping.Ping, error) {
	if c.i >= c.n {
		return ping.Ping{}, io.EOF
	}
	c.i++
	t := c.start.Add(time.Duration(c.i)*c.step + time.Duration(c.rng.Int64N(int64(c.step))))
	d := c.rng.IntN(c.devices)
	hour := (t.Hour() + 24 - 5) % 24 // local time
	var at [2]float64
	switch r := c.rng.Float64(); {
	case hour >= 9 && hour < 17 && r < 0.7:
		at = c.works[d]
	case (hour >= 21 || hour < 7) && r < 0.85:
		at = c.homes[d]
	case r < 0.4:
		at = c.homes[d]
	default:
		at = [2]float64{cityLat + (c.rng.Float64()*2-1)*cityHalfLat, cityLon + (c.rng.Float64()*2-1)*cityHalfLon}
	}
	const jitter = 50.0 / 111_320
	return ping.Ping{
		Device: c.device(d), Time: t.UTC(),
		Lat: at[0] + c.rng.NormFloat64()*jitter, Lon: at[1] + c.rng.NormFloat64()*jitter/math.Cos(cityLat*math.Pi/180),
		AccuracyM: 5 + float64(c.rng.IntN(450))/10, Line: c.i,
	}, nil
}

var benchActor = ledger.Actor{Kind: ledger.ActorSystem, ID: "benchmark"}

// BenchmarkTelemetryImport measures importing pings, 200,000 a round into
// one store that grows round after round, each round new pings of 20,000
// devices over 30 days: in time order (as a vendor's file of many devices
// comes), and device after device (as GeoLife's trajectories come). It
// reports the CPU time per ping too (both goroutines of the import and the
// database's own work, for SQLite), which other work on the machine moves
// less than the rate.
func BenchmarkTelemetryImport(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		for _, order := range []string{"time", "device"} {
			b.Run(d.String()+"/"+order+"-ordered", func(b *testing.B) {
				ctx := context.Background()
				db, _ := storetest.MustOpen(b, storetest.NewDSN(b, d), storetest.MustKeys(b))
				src := storetest.MustLocalSourceDB(b, db, "bench-import")
				const perRound = 200_000
				var total int64
				var took, cpu time.Duration
				round := 0
				for b.Loop() {
					b.StopTimer()
					city := newBenchCity(uint64(round), 20_000, perRound, cityStart.AddDate(0, 0, cityDays*round))
					var in store.PingSource = city
					if order == "device" {
						var ps []ping.Ping
						for p, err := city.Next(); err == nil; p, err = city.Next() {
							ps = append(ps, p)
						}
						slices.SortStableFunc(ps, func(x, y ping.Ping) int { return strings.Compare(x.Device, y.Device) })
						in = storetest.NewPingList(ps)
					}
					round++
					b.StartTimer()
					start, cpu0 := time.Now(), cpuTime()
					st, err := db.Telemetry().Import(ctx, benchActor, src.Name, in, store.ImportOptions{FileName: "city.csv", Format: "csv"})
					took += time.Since(start)
					cpu += cpuTime() - cpu0
					if err != nil {
						b.Fatal(err)
					}
					if st.Inserted+st.Duplicates != perRound || st.Bad != 0 {
						b.Fatalf("stats %+v, want %d pings", st, perRound)
					}
					total += st.Inserted
				}
				b.ReportMetric(float64(total)/took.Seconds(), "pings/s")
				b.ReportMetric(float64(cpu.Microseconds())/float64(total), "cpu-µs/ping")
				if got, err := db.Telemetry().Stats(ctx, src.ID); err != nil || got.Pings != total {
					b.Fatalf("stored %d pings (%v), imported %d", got.Pings, err, total)
				}
			})
		}
	}
}

// cpuTime returns the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
}

// The search fixture: 10,000,000 pings of 20,000 devices (500 each, about
// 17 a day).
const (
	fixturePings   = 10_000_000
	fixtureDevices = 20_000
	fixtureVersion = 2 // change when the generator or the telemetry schema changes
)

// buildTelemetryFixture returns the search fixture of a dialect, closed
// (and on PostgreSQL dropped) when b ends. SQLite's is kept in the
// temporary directory between runs (1.3 GB), named by its version and the
// schema's, and built again (replacing older ones) only when they change; PostgreSQL's is built
// in a new schema every run, then vacuumed and analysed as autovacuum
// would after a bulk load.
func buildTelemetryFixture(b *testing.B, d store.Dialect) (*store.DB, int64, error) {
	ctx := context.Background()
	ms, err := store.Migrations(d)
	if err != nil {
		return nil, 0, err
	}
	var dsn string
	if d == store.SQLite {
		dsn = filepath.Join(os.TempDir(), fmt.Sprintf("probity-bench-telemetry-v%d-schema%d.db", fixtureVersion, len(ms)))
		if db, err := store.Open(ctx, store.Options{DSN: dsn, ReadOnly: true, Logger: storetest.Logger()}); err == nil {
			if id, ok := fixtureComplete(ctx, db); ok {
				b.Logf("using the fixture in %s", dsn)
				b.Cleanup(func() { db.Close() })
				return db, id, nil
			}
			db.Close()
		}
		// Remove this fixture and those of earlier versions and schemas.
		old, _ := filepath.Glob(filepath.Join(os.TempDir(), "probity-bench-telemetry-v*.db*"))
		for _, f := range old {
			os.Remove(f)
		}
	} else {
		dsn = storetest.NewDSN(b, d)
	}
	db, err := store.Open(ctx, store.Options{DSN: dsn, Logger: storetest.Logger(), Synchronous: "NORMAL"})
	if err != nil {
		return nil, 0, err
	}
	keys := storetest.MustKeys(b)
	l, err := store.OpenLedger(ctx, db, store.LedgerConfig{Origin: storetest.Origin, Keys: &keys, Interval: func(context.Context) time.Duration { return time.Hour }})
	if err != nil {
		db.Close()
		return nil, 0, err
	}
	l.Start(ctx)
	src := storetest.MustLocalSourceDB(b, db, "bench-city")
	start := time.Now()
	st, err := db.Telemetry().Import(ctx, benchActor, src.Name, newBenchCity(1, fixtureDevices, fixturePings, cityStart), store.ImportOptions{FileName: "city.csv", Format: "csv"})
	took := time.Since(start)
	l.Close()
	if err != nil {
		db.Close()
		return nil, 0, err
	}
	b.Logf("built the %v fixture: %d pings (%d duplicates) in %s, %.0f pings/s", d, st.Inserted, st.Duplicates, took.Round(time.Second), float64(st.Read)/took.Seconds())
	if d == store.SQLite {
		db.Close() // reopen read-only, as it will be reused
		if db, err = store.Open(ctx, store.Options{DSN: dsn, ReadOnly: true, Logger: storetest.Logger()}); err != nil {
			return nil, 0, err
		}
	} else {
		start := time.Now()
		raw := storetest.RawDB(b, dsn)
		for _, table := range []string{"telemetry_pings", "telemetry_devices", "telemetry_hours"} {
			if _, err := raw.ExecContext(ctx, `VACUUM ANALYZE `+table); err != nil {
				db.Close()
				return nil, 0, err
			}
		}
		b.Logf("vacuumed and analysed in %s", time.Since(start).Round(time.Second))
	}
	b.Cleanup(func() { db.Close() })
	return db, src.ID, nil
}

// fixtureComplete reports whether db holds the whole fixture, and its
// source.
func fixtureComplete(ctx context.Context, db *store.DB) (int64, bool) {
	var id int64
	if err := db.View(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM data_sources WHERE name = 'bench-city'`).Scan(&id)
	}); err != nil {
		return 0, false
	}
	ims, err := db.Telemetry().Imports(ctx, id)
	if err != nil || len(ims) != 1 || ims[0].Status != store.ImportComplete || ims[0].Read != fixturePings {
		return 0, false
	}
	return id, true
}

// p50 reports the median of durations, in milliseconds.
func reportPercentiles(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	at := func(q float64) float64 { return float64(ds[int(q*float64(len(ds)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.9), "p90-ms")
}

// BenchmarkTelemetrySearch measures, on the fixture, area searches of
// 1 km² (a circle) over 24 hours at random places and times of the city,
// and 7-day histories of random devices. The fixture is built (or, for
// SQLite, found) once for both.
func BenchmarkTelemetrySearch(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(d.String(), func(b *testing.B) {
			db, source, err := buildTelemetryFixture(b, d)
			if err != nil {
				b.Fatal(err)
			}
			conn := db.Telemetry().Connector(source)
			b.Run("area-1km2-24h", func(b *testing.B) { benchAreaSearch(b, conn) })
			b.Run("history-7d", func(b *testing.B) { benchDeviceHistory(b, conn) })
			b.Run("estimate-1km2-24h", func(b *testing.B) { benchEstimate(b, conn, 1, 24*time.Hour) })
			b.Run("estimate-100km2-7d", func(b *testing.B) { benchEstimate(b, conn, 100, 7*24*time.Hour) })
		})
	}
}

func benchAreaSearch(b *testing.B, conn connector.Connector) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7))
	radius := 1000 / math.Sqrt(math.Pi) // 1 km²
	var lat []time.Duration
	var devices, pings int
	for b.Loop() {
		a, err := geo.NewCircle(cityLat+(rng.Float64()*2-1)*cityHalfLat*0.8, cityLon+(rng.Float64()*2-1)*cityHalfLon*0.8, radius, geo.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		from := cityStart.Add(time.Duration(rng.Int64N(int64((cityDays - 1) * 24 * time.Hour))))
		start := time.Now()
		got, err := conn.AreaSearch(ctx, connector.AreaRequest{Area: a, From: from, To: from.Add(24 * time.Hour), Limit: 10_000})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		devices += len(got)
		for _, s := range got {
			pings += s.Pings
			if s.FirstSeen.Before(from) || !s.LastSeen.Before(from.Add(24*time.Hour)) {
				b.Fatalf("device %s seen %v–%v, outside the window from %v", s.Device, s.FirstSeen, s.LastSeen, from)
			}
		}
	}
	if devices == 0 {
		b.Fatal("no search found a device")
	}
	reportPercentiles(b, lat)
	b.ReportMetric(float64(devices)/float64(len(lat)), "devices/op")
	b.ReportMetric(float64(pings)/float64(len(lat)), "pings/op")
}

func benchDeviceHistory(b *testing.B, conn connector.Connector) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(8, 8))
	var lat []time.Duration
	var pings int
	for b.Loop() {
		device := fmt.Sprintf("dev-%06d", rng.IntN(fixtureDevices))
		from := cityStart.Add(time.Duration(rng.Int64N(int64((cityDays - 7) * 24 * time.Hour))))
		start := time.Now()
		got, err := conn.DeviceHistory(ctx, connector.DeviceRequest{Device: device, From: from, To: from.AddDate(0, 0, 7), Limit: 100_000})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if !slices.IsSortedFunc(got, func(x, y connector.Ping) int { return x.Time.Compare(y.Time) }) {
			b.Fatal("history not in time order")
		}
		pings += len(got)
	}
	if pings == 0 {
		b.Fatal("no history had a ping")
	}
	reportPercentiles(b, lat)
	b.ReportMetric(float64(pings)/float64(len(lat)), "pings/op")
}

// benchEstimate measures device estimates for circles of km2 over windows
// of window at random places and times of the city (for 1 km² and 24 hours,
// those of benchAreaSearch), and reports how far they are from the devices
// the searches find (run outside the timing): the estimate over the devices
// found in all, and the least and greatest ratio of one search.
func benchEstimate(b *testing.B, conn connector.Connector, km2 float64, window time.Duration) {
	ctx := context.Background()
	est, ok := conn.(connector.Estimator)
	if !ok {
		b.Fatal("the connector has no estimator")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	radius := 1000 * math.Sqrt(km2/math.Pi)
	var lat []time.Duration
	var estimated, found int
	var ratios []float64
	for b.Loop() {
		a, err := geo.NewCircle(cityLat+(rng.Float64()*2-1)*cityHalfLat*0.8, cityLon+(rng.Float64()*2-1)*cityHalfLon*0.8, radius, geo.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		from := cityStart.Add(time.Duration(rng.Int64N(int64(cityDays*24*time.Hour - window))))
		r := connector.AreaRequest{Area: a, From: from, To: from.Add(window), Limit: math.MaxInt}
		start := time.Now()
		n, err := est.EstimateDevices(ctx, r)
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		got, err := conn.AreaSearch(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		estimated += n
		found += len(got)
		if len(got) > 0 {
			ratios = append(ratios, float64(n)/float64(len(got)))
		}
		b.StartTimer()
	}
	if found == 0 {
		b.Fatal("no search found a device")
	}
	reportPercentiles(b, lat)
	slices.Sort(ratios)
	b.ReportMetric(float64(estimated)/float64(found), "estimate/found")
	b.ReportMetric(ratios[0], "min-estimate/found")
	b.ReportMetric(ratios[len(ratios)-1], "max-estimate/found")
}
