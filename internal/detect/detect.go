// Package detect holds the misuse detectors. Each looks at a query — its
// request before it is decided, and its results before they reach the
// requester — and reports what it found as a [Finding]: the detector's
// ID, a severity, a plain-language explanation and the evidence. A
// request finding may carry a risk flag, which raises the query's tier; a
// result finding may withhold the results pending privacy review.
//
// The detectors:
//   - protected_place: the area, or the pings a device history returned,
//     touch an agency facility, an employee's home or a sensitive location;
//   - employee_device: a device whose night-time pings fall mostly in one
//     employee's home cells is probably that employee's or their
//     household's; its results are withheld, and the alert is high;
//   - self_interest: the area covers the requester's own home;
//   - off_duty: the query runs outside the requester's duty schedule;
//   - volume_anomaly: the requester's queries or devices today are far
//     above both their own baseline and their peers';
//   - repeated_device: the requester has queried the same device in other
//     cases;
//   - shared_account: the identity signals suggest several people use one
//     account (raised where those signals are seen, see [SharedAccount]).
//
// Detectors see pseudonyms and hashed home cells only, never a device's
// identifier or an employee's address.
package detect

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/places"
	"github.com/probity-dev/probity/internal/query"
)

// Detector IDs.
const (
	ProtectedPlace = "protected_place"
	EmployeeDevice = "employee_device"
	SelfInterest   = "self_interest"
	OffDuty        = "off_duty"
	VolumeAnomaly  = "volume_anomaly"
	RepeatedDevice = "repeated_device"
	SharedAccount  = "shared_account"
)

// A Finding is what one detector found about one query.
type Finding struct {
	Detector    string
	Severity    alerts.Severity
	Explanation string
	Evidence    map[string]any
	// Flag is the risk flag (query.Flag…) the finding raises on the
	// request, "" for none.
	Flag string `json:"-"`
	// Withhold keeps the results from the requester pending privacy
	// review.
	Withhold bool `json:"-"`
}

// Alert returns the alert f raises for a query of requester (ID, and
// component) numbered queryID.
func (f Finding) Alert(component string, queryID, requester int64) alerts.Alert {
	ev, _ := json.Marshal(f.Evidence)
	return alerts.Alert{Detector: f.Detector, Severity: f.Severity, Component: component, QueryID: queryID,
		PersonID: requester, Explanation: f.Explanation, Evidence: ev}
}

// A Requester is the person a query is screened for.
type Requester struct {
	ID         int64
	EmployeeID string
	Component  string
	Schedule   identity.Schedule
}

// An Input is the query being screened.
type Input struct {
	QueryID   int64 // 0 before it is stored
	Requester Requester
	CaseID    int64
	Case      string // its number
	Request   query.Checked
	// DeviceTag is the keyed hash of the device's raw identifier (device
	// histories and unmaskings), the same across cases.
	DeviceTag string
	// At is when the query is submitted or runs.
	At time.Time
}

// Snapshots gives the current protected places and employees' homes.
type Snapshots interface {
	Current() *places.Snapshot
}

// History is what the detectors read of past queries.
type History interface {
	// Daily returns every person's executed queries and devices per UTC
	// day in [from, to), for the people of component.
	Daily(ctx context.Context, component string, from, to time.Time) ([]DayCount, error)
	// Since returns person's queries (running or executed) and devices
	// returned since from.
	Since(ctx context.Context, person int64, from time.Time) (queries, devices int, err error)
	// OtherCases returns the numbers of the cases other than caseID in
	// which person queried the device tagged tag, in order.
	OtherCases(ctx context.Context, person int64, tag string, caseID int64) ([]string, error)
	// EmployeeIDs returns the employee IDs of people.
	EmployeeIDs(ctx context.Context, people []int64) (map[int64]string, error)
}

// A DayCount is one person's activity on one day.
type DayCount struct {
	Person  int64
	Day     time.Time // midnight UTC
	Queries int
	Devices int
}

// Config tunes the detectors; the zero value means the defaults.
type Config struct {
	// NightStart and NightEnd bound the night, in local solar hours
	// (estimated from each ping's longitude, so no time zone database
	// is needed): 22 and 6 by default.
	NightStart, NightEnd int
	// HomeShare is the share of a device's night pings that must fall in
	// one employee's home cells (0.5 by default) …
	HomeShare float64
	// … over at least HomeNights distinct nights (2 by default) and
	// HomePings pings (3 by default).
	HomeNights, HomePings int
	// BaselineDays is how far back the volume baselines look (28).
	BaselineDays int
	// Spread is how many robust standard deviations above a baseline's
	// median count as anomalous (6), with at least MinExcessQueries
	// (10) and MinExcessDevices (500) above the median.
	Spread                             float64
	MinExcessQueries, MinExcessDevices int
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.NightStart == 0 && c.NightEnd == 0 {
		c.NightStart, c.NightEnd = 22, 6
	}
	if c.HomeShare <= 0 || c.HomeShare > 1 {
		c.HomeShare = 0.5
	}
	def(&c.HomeNights, 2)
	def(&c.HomePings, 3)
	def(&c.BaselineDays, 28)
	if c.Spread <= 0 {
		c.Spread = 6
	}
	def(&c.MinExcessQueries, 10)
	def(&c.MinExcessDevices, 500)
	return c
}

// Detectors runs every detector.
type Detectors struct {
	places  Snapshots
	history History
	cfg     Config

	mu    sync.Mutex
	peers map[peerKey]baselines // by component and day; past days do not change
	zones sync.Map              // time zone name → *time.Location
}

type peerKey struct {
	component string
	day       time.Time
}

// New returns the detectors over the places snapshots and query history.
func New(p Snapshots, h History, cfg Config) *Detectors {
	return &Detectors{places: p, history: h, cfg: cfg.withDefaults(), peers: map[peerKey]baselines{}}
}

// Request screens a request before it is decided: its findings' flags
// raise the query's tier.
func (d *Detectors) Request(ctx context.Context, in Input) ([]Finding, error) {
	var out []Finding
	if f, ok := d.offDuty(in); ok {
		out = append(out, f)
	}
	if in.Request.Kind == query.Area && in.Request.AreaOf != nil {
		fs, err := d.area(in)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

// Result screens a result before the requester sees it: the request's
// findings again (at the time the query ran), and what the result shows.
func (d *Detectors) Result(ctx context.Context, in Input, res query.Result) ([]Finding, error) {
	out, err := d.Request(ctx, in)
	if err != nil {
		return nil, err
	}
	if len(res.Pings) > 0 {
		fs, err := d.pings(ctx, in, res)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	if in.DeviceTag != "" && d.history != nil {
		cases, err := d.history.OtherCases(ctx, in.Requester.ID, in.DeviceTag, in.CaseID)
		if err != nil {
			return nil, fmt.Errorf("read the requester's earlier queries of the device: %w", err)
		}
		if len(cases) > 0 {
			out = append(out, Finding{Detector: RepeatedDevice, Severity: alerts.Medium,
				Explanation: fmt.Sprintf("%s has queried this device before in %s other than %s: the same person following the same device across unrelated cases may be tracking someone for a reason of their own.",
					in.Requester.EmployeeID, plural(len(cases), "case", "cases"), in.Case),
				Evidence: map[string]any{"device": res.Device, "case": in.Case, "other_cases": cases}})
		}
	}
	if d.history != nil {
		fs, err := d.volume(ctx, in, res)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

func (d *Detectors) offDuty(in Input) (Finding, bool) {
	s := in.Requester.Schedule
	if s.TimeZone == "" {
		return Finding{}, false
	}
	loc := d.location(s.TimeZone)
	if onDuty(s, in.At.In(loc)) {
		return Finding{}, false
	}
	local := in.At.In(loc)
	return Finding{Detector: OffDuty, Severity: alerts.Low, Flag: query.FlagOffHours,
		Explanation: fmt.Sprintf("%s ran this query at %s, outside their duty schedule (%s): queries made off duty deserve a second look.",
			in.Requester.EmployeeID, local.Format("Mon 2 Jan 15:04 MST"), scheduleText(s)),
		Evidence: map[string]any{"at": in.At.UTC().Format(time.RFC3339), "local": local.Format(time.RFC3339), "schedule": scheduleText(s)},
	}, true
}

// location returns the named time zone, loaded once (loading reads the
// zone database); UTC for a name that does not load.
func (d *Detectors) location(name string) *time.Location {
	if loc, ok := d.zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	d.zones.Store(name, loc)
	return loc
}

// onDuty is [identity.Schedule.OnDuty] for a time already in the
// schedule's zone.
func onDuty(s identity.Schedule, local time.Time) bool {
	m := local.Hour()*60 + local.Minute()
	day := local.Weekday()
	if s.End > s.Start {
		return slices.Contains(s.Days, day) && m >= s.Start && m < s.End
	}
	if m >= s.Start {
		return slices.Contains(s.Days, day)
	}
	return m < s.End && slices.Contains(s.Days, (day+6)%7)
}

func scheduleText(s identity.Schedule) string {
	days := ""
	for i, d := range s.Days {
		if i > 0 {
			days += ","
		}
		days += d.String()[:3]
	}
	return fmt.Sprintf("%s %02d:%02d–%02d:%02d %s", days, s.Start/60, s.Start%60, s.End/60, s.End%60, s.TimeZone)
}

// area screens an area search's area against protected places and homes.
func (d *Detectors) area(in Input) ([]Finding, error) {
	snap := d.snapshot()
	if snap == nil {
		return nil, nil
	}
	a := in.Request.AreaOf
	var out []Finding
	if snap.Zones != nil {
		byCat := map[places.Category][]string{}
		for _, z := range snap.Zones.Touching(a, nil) {
			zone := snap.Zones.Zone(z)
			byCat[zone.Category] = append(byCat[zone.Category], zone.Name)
		}
		for _, c := range sortedKeys(byCat) {
			names := byCat[c]
			sev := alerts.Low
			if c == places.AgencyFacility {
				sev = alerts.Medium
			}
			out = append(out, Finding{Detector: ProtectedPlace, Severity: sev, Flag: c.Flag(),
				Explanation: fmt.Sprintf("The area touches %s (%s): %s.", plural(len(names), "place", "places"), c.Title(), listSome(names, 5)),
				Evidence:    map[string]any{"category": string(c), "places": clipList(names, 50), "count": len(names)}})
		}
	}
	if snap.Homes != nil && snap.Homes.Len() > 0 {
		people, err := snap.Homes.Touching(a)
		if err != nil {
			return nil, fmt.Errorf("screen the area against employees' homes: %w", err)
		}
		others := slices.DeleteFunc(slices.Clone(people), func(p int64) bool { return p == in.Requester.ID })
		if len(others) > 0 {
			out = append(out, Finding{Detector: ProtectedPlace, Severity: alerts.Medium, Flag: query.FlagEmployeeHome,
				Explanation: fmt.Sprintf("The area touches the home of %s: a search there can reveal where colleagues live and who visits them.",
					plural(len(others), "employee", "employees")),
				Evidence: map[string]any{"category": string(places.EmployeeHome), "employees": len(others), "person_ids": others}})
		}
		if len(others) < len(people) {
			out = append(out, Finding{Detector: SelfInterest, Severity: alerts.High, Flag: query.FlagSelfInterest,
				Explanation: fmt.Sprintf("The area covers the home of the requester, %s, themselves: nobody queries location data about their own home or neighbours for a case.",
					in.Requester.EmployeeID),
				Evidence: map[string]any{"requester": in.Requester.EmployeeID, "case": in.Case}})
		}
	}
	return out, nil
}

func (d *Detectors) snapshot() *places.Snapshot {
	if d.places == nil {
		return nil
	}
	return d.places.Current()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// listSome names up to n items, and how many more there are.
func listSome(items []string, n int) string {
	s := slices.Clone(items)
	slices.Sort(s)
	s = slices.Compact(s)
	if len(s) <= n {
		return joinNames(s)
	}
	return joinNames(s[:n]) + fmt.Sprintf(" and %d more", len(s)-n)
}

func joinNames(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += "; "
		}
		if x == "" {
			x = "(unnamed)"
		}
		out += x
	}
	return out
}

func clipList(s []string, n int) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	s = slices.Compact(s)
	return s[:min(len(s), n)]
}

// byCount orders map entries by descending count, then key.
func byCount[K cmp.Ordered](m map[K]int) []K {
	keys := sortedKeys(m)
	slices.SortStableFunc(keys, func(a, b K) int { return cmp.Compare(m[b], m[a]) })
	return keys
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K { return slices.Sorted(maps.Keys(m)) }
