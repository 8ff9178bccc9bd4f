package synth

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/importer/csvfile"
	"github.com/probity-dev/probity/internal/importer/ping"
)

// MustNew builds the city of cfg or fails tb.
func MustNew(tb testing.TB, cfg Config) *City {
	tb.Helper()
	c, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

// smallConfig is a city quick enough to build and stream many times.
func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.Devices, cfg.Employees, cfg.Days = 300, 12, 5
	return cfg
}

// distM is the haversine distance in metres, computed independently of the
// package's own projection.
func distM(a, b Point) float64 {
	const r = geo.EarthRadiusKm * 1000
	la1, la2 := a.Lat*math.Pi/180, b.Lat*math.Pi/180
	dLat, dLon := la2-la1, (b.Lon-a.Lon)*math.Pi/180
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(la1)*math.Cos(la2)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(h))
}

func at(p ping.Ping) Point { return Point{p.Lat, p.Lon} }

// drain reads s to the end.
func drain(tb testing.TB, s *Stream) []ping.Ping {
	tb.Helper()
	var out []ping.Ping
	for {
		p, err := s.Next()
		if err == io.EOF {
			if _, err := s.Next(); err != io.EOF {
				tb.Fatalf("Next after io.EOF: %v, want io.EOF again", err)
			}
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, p)
	}
}

// hashStream hashes every field of every ping of s.
func hashStream(tb testing.TB, s *Stream) (string, int) {
	tb.Helper()
	h := sha256.New()
	n := 0
	for {
		p, err := s.Next()
		if err == io.EOF {
			return fmt.Sprintf("%x", h.Sum(nil)), n
		}
		if err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(h, "%s|%d|%016x|%016x|%016x|%d\n", p.Device, p.Time.UnixNano(),
			math.Float64bits(p.Lat), math.Float64bits(p.Lon), math.Float64bits(p.AccuracyM), p.Line)
		n++
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // in the message; "" means valid
	}{
		{"OK", func(*Config) {}, ""},
		{"OKSmallest", func(c *Config) { c.Devices, c.Employees, c.Days, c.RadiusKm = 2, 2, 1, MinRadiusKm }, ""},
		{"OKAllEmployees", func(c *Config) { c.Devices, c.Employees = 40, 40 }, ""},
		{"ErrNoDevices", func(c *Config) { c.Devices = 0 }, "number of devices must be between 2 and 1000000, not 0"},
		{"ErrTooManyDevices", func(c *Config) { c.Devices = MaxDevices + 1 }, "number of devices"},
		{"ErrOneEmployee", func(c *Config) { c.Employees = 1 }, "at least 2 (the misuse scenario needs two coworkers), not 1"},
		{"ErrMoreEmployeesThanDevices", func(c *Config) { c.Devices, c.Employees = 10, 11 }, "employees (11) cannot exceed the number of devices (10)"},
		{"ErrNoDays", func(c *Config) { c.Days = 0 }, "number of days must be between 1 and 366, not 0"},
		{"ErrTooManyDays", func(c *Config) { c.Days = 400 }, "not 400"},
		{"ErrNoLocation", func(c *Config) { c.Location = nil }, "time zone) is missing"},
		{"ErrNoStart", func(c *Config) { c.Start = time.Time{} }, "start date is missing"},
		{"ErrStartTooEarly", func(c *Config) { c.Start = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC) }, "outside the times a ping may have"},
		{"ErrLatNaN", func(c *Config) { c.CenterLat = math.NaN() }, "centre latitude"},
		{"ErrLatPolar", func(c *Config) { c.CenterLat = 80 }, "between -70 and 70 degrees, not 80"},
		{"ErrLon", func(c *Config) { c.CenterLon = 181 }, "centre longitude"},
		{"ErrAntimeridian", func(c *Config) { c.CenterLon = 179.9 }, "cross the antimeridian"},
		{"ErrRadiusSmall", func(c *Config) { c.RadiusKm = 1 }, "radius must be between 2 and 100 km, not 1"},
		{"ErrRadiusInf", func(c *Config) { c.RadiusKm = math.Inf(1) }, "radius must be"},
		{"ErrSparse", func(c *Config) { c.SparseFraction = 1.5 }, "sparse fraction must be between 0 and 1, not 1.5"},
		{"ErrNoisy", func(c *Config) { c.NoisyFraction = -0.1 }, "noisy fraction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.change(&cfg)
			city, err := New(cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if city == nil {
					t.Fatal("New returned no city")
				}
				return
			}
			if city != nil || !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, %v; want no city and an invalid error containing %q", city, err, tt.want)
			}
		})
	}
}

func TestNew_Deterministic(t *testing.T) {
	cfg := smallConfig()
	a, b := MustNew(t, cfg), MustNew(t, cfg)
	ha, na := hashStream(t, a.Pings())
	hb, nb := hashStream(t, b.Pings())
	if ha != hb || na != nb {
		t.Fatalf("same seed, different streams: %s (%d pings) and %s (%d pings)", ha, na, hb, nb)
	}
	if na == 0 {
		t.Fatal("no pings")
	}
	var csvA, csvB bytes.Buffer
	if _, err := a.Pings().WriteCSV(&csvA); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Pings().WriteCSV(&csvB); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(csvA.Bytes(), csvB.Bytes()) {
		t.Error("same seed, different CSV bytes")
	}
	for name, f := range map[string]func(*City) any{
		"Devices":         func(c *City) any { return c.Devices() },
		"Employees":       func(c *City) any { return c.Employees() },
		"Facilities":      func(c *City) any { return c.Facilities() },
		"SensitivePlaces": func(c *City) any { return c.SensitivePlaces() },
		"Scenario":        func(c *City) any { return c.Scenario() },
	} {
		if !reflect.DeepEqual(f(a), f(b)) {
			t.Errorf("same seed, different %s", name)
		}
	}

	cfg.Seed++
	other := MustNew(t, cfg)
	if ho, _ := hashStream(t, other.Pings()); ho == ha {
		t.Error("a different seed gave the same stream")
	}
	if reflect.DeepEqual(a.Facilities()[0].Center, other.Facilities()[0].Center) ||
		reflect.DeepEqual(a.Scenario().CoworkerHome, other.Scenario().CoworkerHome) ||
		a.Devices()[0].Ident == other.Devices()[0].Ident {
		t.Error("a different seed gave the same places or idents")
	}
}

// TestCity_Pings streams the default city once and checks the stream's
// invariants and the realism of the routines statistically.
func TestCity_Pings(t *testing.T) {
	cfg := DefaultConfig()
	c := MustNew(t, cfg)
	devices := c.Devices()
	index := map[string]int{}
	for i, d := range devices {
		index[d.Ident] = i
	}
	facility := map[string]Facility{}
	for _, f := range c.Facilities() {
		facility[f.ID] = f
	}
	employeeAt := map[string]Facility{}
	for _, e := range c.Employees() {
		employeeAt[e.Device] = facility[e.Facility]
	}
	minLat, minLon, maxLat, maxLon := c.Bounds()
	start, end := c.Window()
	loc := cfg.Location

	type stats struct {
		pings              int
		night, nightHome   int // 01:00–05:00 local, and of those within 150 m of home
		office, atFacility int // employees, weekdays 10:00–15:00 local
	}
	st := make([]stats, len(devices))
	var (
		n, cur, bad               int
		prev                      ping.Ping
		gaps, shortGaps, longGaps int
		speedChecked, tooFast     int
		accuracies                = map[bool]int{} // ≤ 100 m or not
		done                      = make([]bool, len(devices))
		keep                      = map[string][]ping.Ping{}
		keepIdents                = []string{devices[0].Ident, devices[len(devices)/2].Ident, c.Scenario().CoworkerDevice}
		errorf                    = func(format string, args ...any) {
			if bad++; bad <= 10 {
				t.Errorf(format, args...)
			}
		}
	)
	for _, id := range keepIdents {
		keep[id] = nil
	}
	cur = -1
	s := c.Pings()
	for {
		p, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if p.Line != n {
			errorf("ping %d has Line %d", n, p.Line)
		}
		if err := p.Validate(); err != nil {
			errorf("invalid ping %v: %v", p, err)
		}
		i, ok := index[p.Device]
		switch {
		case !ok:
			errorf("ping of unknown device %q", p.Device)
			continue
		case i != cur:
			if i < cur || done[i] {
				errorf("device %d's pings are not contiguous or out of order (after device %d)", i, cur)
			}
			if cur >= 0 {
				done[cur] = true
			}
			cur = i
		default:
			if !p.Time.After(prev.Time) {
				errorf("device %d: %v not after %v", i, p.Time, prev.Time)
			}
			gap := p.Time.Sub(prev.Time)
			gaps++
			if gap < time.Minute {
				shortGaps++
			}
			if gap > time.Hour {
				longGaps++
			}
			if gap >= 30*time.Second && p.AccuracyM <= 20 && prev.AccuracyM <= 20 {
				speedChecked++
				if distM(at(p), at(prev))/gap.Seconds() > 45 {
					tooFast++
				}
			}
		}
		if _, ok := keep[p.Device]; ok {
			keep[p.Device] = append(keep[p.Device], p)
		}
		prev = p
		if p.Lat < minLat || p.Lat > maxLat || p.Lon < minLon || p.Lon > maxLon {
			errorf("ping %v outside the city [%g,%g]×[%g,%g]", p, minLat, maxLat, minLon, maxLon)
		}
		if p.Time.Before(start) || !p.Time.Before(end) {
			errorf("ping %v outside the window [%v, %v)", p, start, end)
		}
		if p.Time.Location() != time.UTC || p.Time.Nanosecond() != 0 {
			errorf("ping time %v is not whole seconds in UTC", p.Time)
		}
		if p.AccuracyM < 2 || p.AccuracyM > 3000 {
			errorf("implausible accuracy %g m", p.AccuracyM)
		}
		accuracies[p.AccuracyM <= 100]++

		d := &devices[i]
		s := &st[i]
		s.pings++
		local := p.Time.In(loc)
		if h := local.Hour(); h >= 1 && h < 5 {
			s.night++
			if distM(at(p), d.Home) <= 150 {
				s.nightHome++
			}
		}
		if f, ok := employeeAt[p.Device]; ok {
			if wd, h := local.Weekday(), local.Hour(); wd != time.Saturday && wd != time.Sunday && h >= 10 && h < 15 {
				s.office++
				if distM(at(p), f.Center) <= f.RadiusM+100 {
					s.atFacility++
				}
			}
		}
	}
	t.Logf("%d pings, %.1f a device-day", n, float64(n)/float64(cfg.Devices*cfg.Days))
	if n < 1_000_000 {
		t.Errorf("%d pings; the default city must yield at least 1,000,000", n)
	}
	for i := range devices {
		if st[i].pings == 0 && !devices[i].Sparse {
			t.Errorf("device %d (%s, not sparse) has no pings", i, devices[i].Profile)
		}
	}

	// Irregular timing: bursts and long silences both occur.
	t.Logf("gaps: %.1f%% under a minute, %.1f%% over an hour", 100*float64(shortGaps)/float64(gaps), 100*float64(longGaps)/float64(gaps))
	if float64(shortGaps) < 0.3*float64(gaps) || float64(longGaps) < 0.05*float64(gaps) {
		t.Errorf("ping gaps too regular: %d of %d under a minute, %d over an hour", shortGaps, gaps, longGaps)
	}
	// Plausible speeds between precise fixes.
	t.Logf("%d of %d precise moves faster than 45 m/s", tooFast, speedChecked)
	if speedChecked < 10_000 || float64(tooFast) > 0.001*float64(speedChecked) {
		t.Errorf("%d of %d moves between precise fixes are faster than 45 m/s", tooFast, speedChecked)
	}
	// Most fixes are Wi-Fi or GPS grade, a few are coarse.
	if coarse := float64(accuracies[false]) / float64(n); coarse < 0.005 || coarse > 0.1 {
		t.Errorf("%.2f%% of fixes are coarser than 100 m; want a few percent", 100*coarse)
	}

	// Nights at home.
	var residents, homeSleepers, night, nightHome int
	for i, d := range devices {
		s := st[i]
		if d.Profile == NightShift || s.night < 5 {
			continue
		}
		residents++
		night += s.night
		nightHome += s.nightHome
		if float64(s.nightHome) >= 0.8*float64(s.night) {
			homeSleepers++
		}
	}
	t.Logf("night pings at home: %.1f%%; %d of %d residents have ≥ 80%% of theirs at home", 100*float64(nightHome)/float64(night), homeSleepers, residents)
	if residents < cfg.Devices/2 || float64(homeSleepers) < 0.95*float64(residents) || float64(nightHome) < 0.9*float64(night) {
		t.Errorf("nights at home: %d of %d residents have ≥ 80%% of their 01:00–05:00 pings within 150 m of home; %d of %d pings",
			homeSleepers, residents, nightHome, night)
	}
	// Night workers are not home at night.
	var nsNight, nsHome int
	for i, d := range devices {
		if d.Profile == NightShift {
			nsNight += st[i].night
			nsHome += st[i].nightHome
		}
	}
	if nsNight == 0 || float64(nsHome) > 0.5*float64(nsNight) {
		t.Errorf("night workers: %d of %d night pings at home; want most at work", nsHome, nsNight)
	}

	// Employees at their facility on weekdays.
	var office, atFacility, mostly, employees int
	for i, d := range devices {
		if d.Employee == "" || st[i].office < 10 {
			continue
		}
		employees++
		office += st[i].office
		atFacility += st[i].atFacility
		if float64(st[i].atFacility) >= 0.6*float64(st[i].office) {
			mostly++
		}
	}
	t.Logf("employees' weekday 10:00–15:00 pings at their facility: %.1f%%; %d of %d employees ≥ 60%%", 100*float64(atFacility)/float64(office), mostly, employees)
	// Lunches, errands, days off, Friday prayers and the dense pings of the
	// trips in between keep this from 100 %: seeds 1–6 give 78–87 %.
	if employees < cfg.Employees*3/4 || float64(atFacility) < 0.75*float64(office) || float64(mostly) < 0.8*float64(employees) {
		t.Errorf("employees at work: %d of %d pings at the facility; %d of %d employees mostly there", atFacility, office, mostly, employees)
	}

	// Sparse devices are sparse.
	var sparseN, sparseP, denseN, denseP int
	for i, d := range devices {
		if d.Sparse {
			sparseN, sparseP = sparseN+1, sparseP+st[i].pings
		} else {
			denseN, denseP = denseN+1, denseP+st[i].pings
		}
	}
	if sparseN == 0 || float64(sparseP)/float64(sparseN) > 0.25*float64(denseP)/float64(denseN) {
		t.Errorf("sparse devices average %d/%d pings, others %d/%d", sparseP, max(sparseN, 1), denseP, denseN)
	}

	// DevicePings gives exactly the device's part of the whole stream.
	for _, id := range keepIdents {
		s, err := c.DevicePings(id)
		if err != nil {
			t.Fatal(err)
		}
		alone := drain(t, s)
		whole := keep[id]
		if len(alone) != len(whole) || len(alone) == 0 {
			t.Fatalf("device %s: %d pings alone, %d in the whole stream", id, len(alone), len(whole))
		}
		for k := range alone {
			a, w := alone[k], whole[k]
			a.Line, w.Line = 0, 0
			if a != w {
				t.Fatalf("device %s, ping %d: %v alone, %v in the whole stream", id, k, a, w)
			}
		}
	}
}

func TestCity_Scenario(t *testing.T) {
	c := MustNew(t, DefaultConfig())
	sc := c.Scenario()
	a, b := sc.Analyst, sc.Coworker
	if a.ID == b.ID || a.Device == b.Device || a.Facility != b.Facility || a.Facility != sc.Facility.ID {
		t.Fatalf("analyst %+v and coworker %+v are not two coworkers at %s", a, b, sc.Facility.ID)
	}
	if sc.CoworkerDevice != b.Device || sc.CoworkerHome != b.Home {
		t.Fatalf("scenario names device %s and home %v, the coworker has %s and %v", sc.CoworkerDevice, sc.CoworkerHome, b.Device, b.Home)
	}
	if d := distM(a.Home, b.Home); d < 3000 {
		t.Errorf("the analyst lives %.0f m from the coworker; want at least 3 km", d)
	}
	// B lives alone, and no other home is within 80 m.
	var household string
	for _, d := range c.Devices() {
		if d.Ident == b.Device {
			household = d.Household
			if d.Employee != b.ID || d.Sparse || d.Noisy {
				t.Errorf("coworker's device %+v", d)
			}
		}
	}
	for _, d := range c.Devices() {
		if d.Ident == b.Device {
			continue
		}
		if d.Household == household {
			t.Errorf("device %s shares the coworker's household", d.Ident)
		}
		if dist := distM(d.Home, b.Home); dist < 80 {
			t.Errorf("device %s lives %.0f m from the coworker", d.Ident, dist)
		}
	}
	// The night window is 01:00–05:00 local.
	loc := c.Config().Location
	if ns, ne := sc.NightStart.In(loc), sc.NightEnd.In(loc); ns.Hour() != 1 || ne.Hour() != 5 || ns.Day() != ne.Day() || ns.Minute() != 0 {
		t.Errorf("night window %v to %v is not 01:00–05:00 local", ns, ne)
	}
	if start, end := c.Window(); sc.NightStart.Before(start) || sc.NightEnd.After(end) {
		t.Errorf("night window outside the data window")
	}
	// The neighborhood holds B's home, as a circle and as a polygon.
	circle, err := geo.ParseCircle(sc.Neighborhood.String(), geo.Limits{})
	if err != nil {
		t.Fatalf("circle %s: %v", sc.Neighborhood, err)
	}
	poly, err := geo.ParseArea(PolygonGeoJSON(sc.NeighborhoodPolygon), geo.Limits{})
	if err != nil {
		t.Fatalf("polygon: %v", err)
	}
	home := sc.CoworkerHome
	if !circle.Contains(home.Lat, home.Lon) || !poly.Contains(home.Lat, home.Lon) {
		t.Fatal("the neighborhood does not hold the coworker's home")
	}
	if d := distM(sc.Neighborhood.Center, home); d < 50 {
		t.Errorf("the neighborhood is centred %.0f m from the home; it should not point at it", d)
	}

	// Replay: the night search of the neighborhood sees B's device among
	// others; the device that sleeps in B's home is B's, and only B's.
	seen := map[string]bool{}
	nights := map[string][2]int{} // all nights: pings, and pings within 50 m of B's home
	s := c.Pings()
	for {
		p, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !p.Time.Before(sc.NightStart) && p.Time.Before(sc.NightEnd) && circle.Contains(p.Lat, p.Lon) {
			seen[p.Device] = true
		}
		if h := p.Time.In(loc).Hour(); h >= 1 && h < 5 {
			x := nights[p.Device]
			x[0]++
			if distM(at(p), home) <= 50 {
				x[1]++
			}
			nights[p.Device] = x
		}
	}
	if !seen[b.Device] {
		t.Fatal("the night search does not see the coworker's device")
	}
	if len(seen) < 3 {
		t.Errorf("the night search sees %d devices; the neighborhood should have other sleepers", len(seen))
	}
	t.Logf("the night search sees %d devices", len(seen))
	var sleepers []string
	for dev, x := range nights {
		if x[0] >= 5 && 2*x[1] >= x[0] {
			sleepers = append(sleepers, dev)
		}
	}
	if len(sleepers) != 1 || sleepers[0] != b.Device {
		t.Errorf("devices sleeping within 50 m of the coworker's home: %v; want only %s", sleepers, b.Device)
	}

	// B's own history: every night at home, pinging through the window.
	hist, err := c.DevicePings(b.Device)
	if err != nil {
		t.Fatal(err)
	}
	var inWindow, inWindowHome int
	for _, p := range drain(t, hist) {
		if !p.Time.Before(sc.NightStart) && p.Time.Before(sc.NightEnd) {
			inWindow++
			if distM(at(p), home) <= 150 {
				inWindowHome++
			}
		}
	}
	if inWindow < 6 || float64(inWindowHome) < 0.8*float64(inWindow) {
		t.Errorf("coworker's device: %d pings in the night window, %d of them at home", inWindow, inWindowHome)
	}
}

func TestCity_Places(t *testing.T) {
	cfg := DefaultConfig()
	c := MustNew(t, cfg)
	minLat, minLon, maxLat, maxLon := c.Bounds()
	inside := func(p Point) bool { return p.Lat >= minLat && p.Lat <= maxLat && p.Lon >= minLon && p.Lon <= maxLon }

	facs := c.Facilities()
	if len(facs) < 3 {
		t.Fatalf("%d facilities", len(facs))
	}
	ids := map[string]bool{}
	for _, f := range facs {
		if f.Name == "" || ids[f.ID] || !inside(f.Center) {
			t.Errorf("facility %+v: unnamed, duplicate or outside the city", f)
		}
		ids[f.ID] = true
		area, err := geo.ParseArea(PolygonGeoJSON(f.Polygon), geo.Limits{})
		if err != nil {
			t.Fatalf("facility %s polygon: %v", f.ID, err)
		}
		if !area.Contains(f.Center.Lat, f.Center.Lon) {
			t.Errorf("facility %s's polygon does not hold its centre", f.ID)
		}
		for _, v := range f.Polygon {
			if d := distM(v, f.Center); d > f.RadiusM {
				t.Errorf("facility %s: corner %.0f m from the centre, radius %.0f m", f.ID, d, f.RadiusM)
			}
		}
	}

	cats := map[Category]int{}
	spIDs := map[string]bool{}
	for _, sp := range c.SensitivePlaces() {
		cats[sp.Category]++
		if spIDs[sp.ID] || sp.Name == "" || sp.RadiusM <= 0 || !inside(sp.Center) {
			t.Errorf("sensitive place %+v", sp)
		}
		spIDs[sp.ID] = true
	}
	for _, cat := range []Category{PlaceOfWorship, Medical, School, Shelter, Court} {
		if cats[cat] == 0 {
			t.Errorf("no sensitive place of category %s", cat)
		}
	}

	emps := c.Employees()
	if len(emps) != cfg.Employees {
		t.Fatalf("%d employees, want %d", len(emps), cfg.Employees)
	}
	byIdent := map[string]Device{}
	for _, d := range c.Devices() {
		byIdent[d.Ident] = d
	}
	if len(byIdent) != cfg.Devices {
		t.Fatalf("%d distinct idents for %d devices", len(byIdent), cfg.Devices)
	}
	perFacility := map[string]int{}
	for i, e := range emps {
		d, ok := byIdent[e.Device]
		want := fmt.Sprintf("emp-%04d", i+1)
		switch {
		case e.ID != want:
			t.Errorf("employee %d has ID %q, want %q", i, e.ID, want)
		case !ok || d.Employee != e.ID || d.Home != e.Home || !d.HasWork:
			t.Errorf("employee %+v does not match device %+v", e, d)
		case !ids[e.Facility] || e.Name == "":
			t.Errorf("employee %+v: unknown facility or no name", e)
		case d.Work != facs[facilityIndex(facs, e.Facility)].Center:
			t.Errorf("employee %s works at %v, not at facility %s", e.ID, d.Work, e.Facility)
		}
		perFacility[e.Facility]++
	}
	if len(perFacility) != len(facs) {
		t.Errorf("employees at %d of %d facilities", len(perFacility), len(facs))
	}
	profiles := map[Profile]int{}
	for _, d := range byIdent {
		profiles[d.Profile]++
	}
	for _, p := range []Profile{Commuter, NightShift, Student, HomeBased} {
		if profiles[p] == 0 {
			t.Errorf("no device with profile %s", p)
		}
	}
}

func facilityIndex(facs []Facility, id string) int {
	for i, f := range facs {
		if f.ID == id {
			return i
		}
	}
	return -1
}

var uuid4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestAdvertisingID(t *testing.T) {
	c := MustNew(t, smallConfig())
	for _, d := range c.Devices() {
		if !uuid4.MatchString(d.Ident) {
			t.Errorf("ident %q is not a version 4 UUID", d.Ident)
		}
	}
}

// TestNew_Edges builds extreme but valid cities and checks their streams.
func TestNew_Edges(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"Tiny", func(c *Config) { c.Devices, c.Employees, c.Days, c.RadiusKm = 2, 2, 1, MinRadiusKm }},
		{"AllEmployees", func(c *Config) { c.Devices, c.Employees, c.Days = 30, 30, 3 }},
		{"AllSparseAndNoisy", func(c *Config) { c.Devices, c.Days, c.SparseFraction, c.NoisyFraction = 100, 3, 1, 1 }},
		{"FarNorthUTC", func(c *Config) {
			c.Devices, c.Days, c.CenterLat, c.CenterLon, c.Location = 200, 2, 64.1466, -21.9426, time.UTC
			c.Start = time.Date(2025, 12, 20, 15, 0, 0, 0, time.UTC)
		}},
		{"DaylightSavingEnds", func(c *Config) {
			c.Devices, c.Days = 200, 3
			c.Start = time.Date(2026, 10, 31, 0, 0, 0, 0, c.Location)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Employees = 10
			tt.change(&cfg)
			c := MustNew(t, cfg)
			minLat, minLon, maxLat, maxLon := c.Bounds()
			start, end := c.Window()
			if got := end.Sub(start); got < time.Duration(cfg.Days)*23*time.Hour || got > time.Duration(cfg.Days)*25*time.Hour {
				t.Errorf("window %v to %v for %d days", start, end, cfg.Days)
			}
			if s := start.In(cfg.Location); s.Hour() != 0 || s.Minute() != 0 {
				t.Errorf("window starts at %v, not at local midnight", s)
			}
			last := map[string]time.Time{}
			pings := drain(t, c.Pings())
			if len(pings) == 0 {
				t.Fatal("no pings")
			}
			for _, p := range pings {
				if err := p.Validate(); err != nil {
					t.Fatalf("invalid ping %v: %v", p, err)
				}
				if p.Lat < minLat || p.Lat > maxLat || p.Lon < minLon || p.Lon > maxLon || p.Time.Before(start) || !p.Time.Before(end) {
					t.Fatalf("ping %v outside the city or the window", p)
				}
				if l, ok := last[p.Device]; ok && !p.Time.After(l) {
					t.Fatalf("device %s: %v not after %v", p.Device, p.Time, l)
				}
				last[p.Device] = p.Time
			}
			sc := c.Scenario()
			if sc.Analyst.Facility != sc.Coworker.Facility || sc.CoworkerDevice == "" {
				t.Errorf("scenario %+v", sc)
			}
		})
	}
}

func TestCity_DevicePings(t *testing.T) {
	c := MustNew(t, smallConfig())
	t.Run("OK", func(t *testing.T) {
		id := c.Devices()[1].Ident
		s, err := c.DevicePings(id)
		if err != nil {
			t.Fatal(err)
		}
		pings := drain(t, s)
		for k, p := range pings {
			if p.Device != id || p.Line != k+1 {
				t.Fatalf("ping %d: %v", k, p)
			}
		}
	})
	t.Run("ErrUnknownDevice", func(t *testing.T) {
		s, err := c.DevicePings("00000000-0000-4000-8000-000000000000")
		if s != nil || !fault.Is(err, fault.NotFound) {
			t.Fatalf("DevicePings = %v, %v; want a not-found error", s, err)
		}
	})
}

func TestStream_WriteCSV(t *testing.T) {
	c := MustNew(t, smallConfig())
	var buf bytes.Buffer
	n, err := c.Pings().WriteCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	want := drain(t, c.Pings())
	if n != len(want) {
		t.Fatalf("WriteCSV wrote %d pings, the stream has %d", n, len(want))
	}
	r := csvfile.NewReader(&buf, csvfile.Options{})
	for k, w := range want {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("ping %d: %v", k, err)
		}
		if got.Line != w.Line+1 { // the header is line 1
			t.Fatalf("ping %d on line %d, want %d", k, got.Line, w.Line+1)
		}
		got.Line = w.Line
		if got != w {
			t.Fatalf("ping %d read back as %v, want %v", k, got, w)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last ping: %v, want io.EOF", err)
	}

	t.Run("ErrWrite", func(t *testing.T) {
		boom := errors.New("disk full")
		if _, err := c.Pings().WriteCSV(failingWriter{boom}); !errors.Is(err, boom) {
			t.Fatalf("WriteCSV = %v, want %v", err, boom)
		}
	})
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestEastern(t *testing.T) {
	loc := Eastern()
	for _, tt := range []struct {
		utc  time.Time
		want string
	}{
		{time.Date(2026, 3, 8, 6, 59, 59, 0, time.UTC), "2026-03-08T01:59:59-05:00"},
		{time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), "2026-03-08T03:00:00-04:00"},
		{time.Date(2026, 11, 1, 5, 59, 59, 0, time.UTC), "2026-11-01T01:59:59-04:00"},
		{time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC), "2026-11-01T01:00:00-05:00"},
		{time.Date(2030, 7, 4, 16, 0, 0, 0, time.UTC), "2030-07-04T12:00:00-04:00"},
	} {
		if got := tt.utc.In(loc).Format(time.RFC3339); got != tt.want {
			t.Errorf("%v in Eastern = %s, want %s", tt.utc, got, tt.want)
		}
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone database to compare with: %v", err)
	}
	for ts := time.Date(2007, 1, 1, 0, 0, 0, 0, time.UTC); ts.Year() < 2040; ts = ts.Add(97 * time.Minute) {
		_, a := ts.In(loc).Zone()
		_, b := ts.In(ny).Zone()
		if a != b {
			t.Fatalf("%v: offset %d, America/New_York says %d", ts, a, b)
		}
	}
}
