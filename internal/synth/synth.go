// Package synth generates a synthetic city's phone-location telemetry: a
// seeded, reproducible stand-in for the commercial advertising-ID pings that
// Probity oversees, used by the demo and by tests and benchmarks of the
// query path and of misuse detection.
//
// # The city
//
// The city is a square of 2×[Config.RadiusKm] kilometres a side around
// [Config.CenterLat], [Config.CenterLon]. The default is 30×30 km around
// 38.9072 N, 77.0369 W (downtown Washington, DC), in US Eastern time. Only
// the centre and the scale are real: every place is synthetic, placed by the
// seed (some fall in the Potomac). Residential neighborhoods are spread over
// the square, denser towards the centre; offices cluster downtown and in a
// few office parks; shops, restaurants, gyms, parks, schools, places of
// worship, clinics, hospitals, shelters and courts lie among the
// neighborhoods. A few named agency facilities ([Facility]) are placed at
// fixed fractions of the radius around the centre.
//
// # The people
//
// Devices live in households of one to four (a few people live at a
// shelter). Each device follows a routine in local time: commuters go to a
// workplace on weekdays, at per-person hours that vary a little from day to
// day, sometimes stopping for lunch, errands or the gym; students go to
// school; others run errands; a few work night shifts; weekends bring later
// mornings, shopping, parks, visits to friends and, for some, a weekly
// service at a place of worship; some days are days off; everyone but night
// workers is home before midnight and sleeps there. Agency employees
// ([Employee]) are commuters whose workplace is a facility; some telework
// one weekday a week.
//
// # The pings
//
// Movement between places follows a street-like path (two right-angle turns
// for short trips, a diagonal arterial for long drives) at walking, transit
// or driving speed with stop-and-go variation. Pings imitate commercial SDK
// data: sparse and irregular while a device is still (more so at night),
// short bursts when an app opens, dense runs with gaps during some trips,
// a periodic background ping on some devices. Every ping carries GPS, Wi-Fi
// or cell-tower-like error with a matching AccuracyM (68 % of fixes lie
// within it), quantized as iOS or Android report it, and coordinates rounded
// to 5, 6 or 7 decimals. A configurable share of devices is sparse (rare
// pings, silent days) and another noisy (more cell fixes and fixes placed at
// a wrong Wi-Fi location). Every ping lies inside [City.Bounds] and inside
// [City.Window].
//
// # Order and determinism
//
// [City.Pings] streams the pings device by device, in the order of
// [City.Devices], each device's pings in strictly increasing time (whole
// seconds); it never holds more than one device-day in memory. Line is a
// running number from 1. The same [Config] yields the same bytes with the
// same Go release on the same architecture (the generator is the package's
// own, and no map order or clock is involved); a different seed yields a
// different city. Devices draw from independent random streams, so
// [City.DevicePings] gives exactly the pings that [City.Pings] gives for that
// device.
//
// # The misuse scenario
//
// [City.Scenario] names two coworkers at the same facility, an analyst A and
// a coworker B who lives alone, with B's home, B's device and a night window
// and neighborhood (a circle and a polygon) for replaying "A searches B's
// neighborhood at night, then asks for the history of the device that sleeps
// in B's home".
package synth

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/importer/ping"
)

// Limits on a [Config].
const (
	MaxDevices  = 1_000_000
	MaxDays     = 366
	MinRadiusKm = 2
	MaxRadiusKm = 100
)

// Config describes a city. Start from [DefaultConfig] and change what you
// need: every field is checked by [New] and none has an implicit default.
type Config struct {
	Seed int64

	// Devices counts every device, the employees' included.
	Devices int
	// Employees counts the agency employees among the devices; the misuse
	// scenario needs at least two.
	Employees int

	// Start is the first day: its calendar date in Location (the time of
	// day is ignored). The window runs from that midnight for Days days.
	Start    time.Time
	Days     int
	Location *time.Location // the city's local time, which routines follow

	CenterLat, CenterLon float64 // WGS 84 degrees
	// RadiusKm is half the side of the square city.
	RadiusKm float64

	// SparseFraction and NoisyFraction are the shares of devices that ping
	// rarely (and stay silent on some days) and that report poor fixes.
	SparseFraction, NoisyFraction float64
}

// DefaultConfig returns the demo city: 3,000 devices of which 60 are agency
// employees, two weeks from Monday 2 March 2026 (US daylight saving time
// starts on the 8th), 30×30 km around downtown Washington, DC. It yields
// about 2.7 million pings.
func DefaultConfig() Config {
	loc := Eastern()
	return Config{
		Seed:           1,
		Devices:        3000,
		Employees:      60,
		Start:          time.Date(2026, 3, 2, 0, 0, 0, 0, loc),
		Days:           14,
		Location:       loc,
		CenterLat:      38.9072,
		CenterLon:      -77.0369,
		RadiusKm:       15,
		SparseFraction: 0.08,
		NoisyFraction:  0.05,
	}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Validate reports the first problem with c as a [fault.Invalid] error.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error { return fault.New(fault.Invalid, format, args...) }
	switch {
	case c.Devices < 2 || c.Devices > MaxDevices:
		return bad("the number of devices must be between 2 and %d, not %d", MaxDevices, c.Devices)
	case c.Employees < 2:
		return bad("the number of employees must be at least 2 (the misuse scenario needs two coworkers), not %d", c.Employees)
	case c.Employees > c.Devices:
		return bad("the number of employees (%d) cannot exceed the number of devices (%d)", c.Employees, c.Devices)
	case c.Days < 1 || c.Days > MaxDays:
		return bad("the number of days must be between 1 and %d, not %d", MaxDays, c.Days)
	case c.Location == nil:
		return bad("the location (the city's time zone) is missing")
	case c.Start.IsZero():
		return bad("the start date is missing")
	case !finite(c.CenterLat) || c.CenterLat < -70 || c.CenterLat > 70:
		return bad("the centre latitude must be a number between -70 and 70 degrees, not %g", c.CenterLat)
	case !finite(c.CenterLon) || c.CenterLon < -180 || c.CenterLon > 180:
		return bad("the centre longitude must be a number between -180 and 180 degrees, not %g", c.CenterLon)
	case !finite(c.RadiusKm) || c.RadiusKm < MinRadiusKm || c.RadiusKm > MaxRadiusKm:
		return bad("the radius must be between %d and %d km, not %g", MinRadiusKm, MaxRadiusKm, c.RadiusKm)
	case !finite(c.SparseFraction) || c.SparseFraction < 0 || c.SparseFraction > 1:
		return bad("the sparse fraction must be between 0 and 1, not %g", c.SparseFraction)
	case !finite(c.NoisyFraction) || c.NoisyFraction < 0 || c.NoisyFraction > 1:
		return bad("the noisy fraction must be between 0 and 1, not %g", c.NoisyFraction)
	}
	y, m, d := c.Start.In(c.Location).Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, c.Location)
	end := time.Date(y, m, d+c.Days, 0, 0, 0, 0, c.Location)
	if start.Before(ping.MinTime) || !end.Before(ping.MaxTime) {
		return bad("the window %s to %s lies outside the times a ping may have (%s to %s)",
			start.Format(time.DateOnly), end.Format(time.DateOnly), ping.MinTime.Format("2006"), ping.MaxTime.Format("2006"))
	}
	half := c.RadiusKm * 1000
	dLon := half / (metresPerDegree * math.Cos(c.CenterLat*math.Pi/180))
	if c.CenterLon-dLon < -180 || c.CenterLon+dLon > 180 {
		return bad("a city of radius %g km around longitude %g would cross the antimeridian", c.RadiusKm, c.CenterLon)
	}
	return nil
}

// Point is a WGS 84 position in degrees.
type Point struct{ Lat, Lon float64 }

// Circle is a centre and a radius in metres.
type Circle struct {
	Center  Point
	RadiusM float64
}

// String formats c as "LAT,LON,METRES", the form geo.ParseCircle and the
// command line's --circle read.
func (c Circle) String() string {
	return strconv.FormatFloat(c.Center.Lat, 'f', -1, 64) + "," +
		strconv.FormatFloat(c.Center.Lon, 'f', -1, 64) + "," +
		strconv.FormatFloat(c.RadiusM, 'f', -1, 64)
}

// PolygonGeoJSON returns a GeoJSON Polygon geometry (RFC 7946) with ring as
// its outer ring. ring must be closed (its last point repeats the first), as
// the rings this package returns are.
func PolygonGeoJSON(ring []Point) []byte {
	var b strings.Builder
	b.WriteString(`{"type":"Polygon","coordinates":[[`)
	for i, p := range ring {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		b.WriteString(strconv.FormatFloat(p.Lon, 'f', -1, 64))
		b.WriteByte(',')
		b.WriteString(strconv.FormatFloat(p.Lat, 'f', -1, 64))
		b.WriteByte(']')
	}
	b.WriteString(`]]}`)
	return []byte(b.String())
}

// Facility is an agency facility, the workplace of employees.
type Facility struct {
	ID      string // "fac-1", …
	Name    string
	Center  Point
	Polygon []Point // the grounds: a closed, counter-clockwise ring
	RadiusM float64 // a circle around Center that holds Polygon
}

// Employee is an agency employee and the device they carry. Their home is a
// protected place to register.
type Employee struct {
	ID       string // "emp-0001", …
	Name     string // synthetic
	Facility string // [Facility.ID] of their workplace
	Device   string // advertising ID of their phone
	Home     Point
}

// Category classifies a sensitive place.
type Category string

// Categories of sensitive places.
const (
	PlaceOfWorship Category = "place_of_worship"
	Medical        Category = "medical"
	School         Category = "school"
	Shelter        Category = "shelter"
	Court          Category = "court"
)

// SensitivePlace is a place whose visitors deserve protection.
type SensitivePlace struct {
	ID       string // "sp-0001", …
	Category Category
	Name     string // synthetic
	Center   Point
	RadiusM  float64
}

// Profile is the kind of routine a device follows.
type Profile string

// Profiles.
const (
	Commuter   Profile = "commuter"    // weekday work by day (employees too)
	NightShift Profile = "night_shift" // works five nights a week, sleeps by day
	Student    Profile = "student"     // school on weekdays
	HomeBased  Profile = "home_based"  // retired, at home, between jobs: errands
)

// Device is the ground truth about one device.
type Device struct {
	Ident     string // advertising ID (UUID version 4 form, lower case)
	Profile   Profile
	Household string // "hh-0001", …: devices sharing a home share it
	Home      Point
	Work      Point // workplace or school; zero when HasWork is false
	HasWork   bool
	Employee  string // employee ID, or "" for a resident
	Sparse    bool   // pings rarely, silent on some days
	Noisy     bool   // reports poor and sometimes misplaced fixes
}

// Scenario is the planted misuse case: the analyst searches the coworker's
// neighborhood at night, then asks for the history of the device that sleeps
// in the coworker's home. The coworker lives alone, no other home lies
// within 80 m of theirs, and their device pings through every night.
type Scenario struct {
	Facility       Facility // where both work
	Analyst        Employee // A
	Coworker       Employee // B
	CoworkerHome   Point
	CoworkerDevice string
	// NightStart and NightEnd (UTC) bound 01:00–05:00 local time of a
	// night in the window (the first Tuesday, Wednesday or Thursday after
	// the first day, or the middle day if there is none).
	NightStart, NightEnd time.Time
	// Neighborhood is a 400 m circle (less in a small city) that holds B's
	// home off-centre; NeighborhoodPolygon is an irregular octagon of about
	// the same size around the same centre, closed and counter-clockwise.
	Neighborhood        Circle
	NeighborhoodPolygon []Point
}

// Config returns the configuration the city was built from.
func (c *City) Config() Config { return c.cfg }

// Bounds returns the city's extent; every ping lies within it.
func (c *City) Bounds() (minLat, minLon, maxLat, maxLon float64) {
	return c.minLat, c.minLon, c.maxLat, c.maxLon
}

// Window returns the first instant of the first day and the end of the last
// day, in UTC; every ping's time t has start ≤ t < end.
func (c *City) Window() (start, end time.Time) {
	return time.Unix(c.dayStart[0], 0).UTC(), time.Unix(c.dayStart[len(c.dayStart)-1], 0).UTC()
}

// Facilities returns the agency facilities.
func (c *City) Facilities() []Facility {
	out := append([]Facility(nil), c.facilities...)
	for i := range out {
		out[i].Polygon = append([]Point(nil), out[i].Polygon...)
	}
	return out
}

// Employees returns the agency employees in order of ID.
func (c *City) Employees() []Employee { return append([]Employee(nil), c.employees...) }

// SensitivePlaces returns the sensitive places in order of ID.
func (c *City) SensitivePlaces() []SensitivePlace {
	return append([]SensitivePlace(nil), c.sensitive...)
}

// Devices returns every device, in the order [City.Pings] streams them.
func (c *City) Devices() []Device { return append([]Device(nil), c.devices...) }

// Scenario returns the planted misuse scenario.
func (c *City) Scenario() Scenario {
	s := c.scenario
	s.NeighborhoodPolygon = append([]Point(nil), s.NeighborhoodPolygon...)
	s.Facility.Polygon = append([]Point(nil), s.Facility.Polygon...)
	return s
}

// Pings returns a stream of every ping of every device.
func (c *City) Pings() *Stream { return c.newStream(0, len(c.persons)) }

// DevicePings returns a stream of one device's pings, the same as
// [City.Pings] yields for it (Line aside, which counts from 1 in every
// stream). An unknown ident is a [fault.NotFound] error.
func (c *City) DevicePings(ident string) (*Stream, error) {
	i, ok := c.byIdent[ident]
	if !ok {
		return nil, fault.New(fault.NotFound, "no device %q in this city", ident)
	}
	return c.newStream(i, i+1), nil
}
