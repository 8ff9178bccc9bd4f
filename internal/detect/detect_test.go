package detect_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/detect"
	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/places"
	"github.com/probity-dev/probity/internal/query"
)

// The test city: a school, an agency facility, and the homes of the
// requester (person 1) and of a colleague (person 2).
var (
	school   = [2]float64{40.7500, -73.9900}
	facility = [2]float64{40.7600, -73.9800}
	ownHome  = [2]float64{40.7000, -73.9500}
	b2Home   = [2]float64{40.7200, -73.9300}
	nowhere  = [2]float64{40.8000, -73.9000}
)

type snap struct{ s *places.Snapshot }

func (s snap) Current() *places.Snapshot { return s.s }

func mustSnapshot(t testing.TB) snap {
	t.Helper()
	key, err := places.NewHomeKey(places.GenerateHomeKey())
	if err != nil {
		t.Fatal(err)
	}
	circle := func(p [2]float64, r float64) *geo.Area {
		a, err := geo.NewCircle(p[0], p[1], r, geo.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	ps := []places.Place{
		{ID: 1, Category: places.School, Name: "P.S. 1", Area: circle(school, 100)},
		{ID: 2, Category: places.AgencyFacility, Name: "Field office", Area: circle(facility, 150)},
	}
	var homes []places.Home
	for person, p := range map[int64][2]float64{1: ownHome, 2: b2Home} {
		cells, err := key.HomeCells(p[0], p[1], 50)
		if err != nil {
			t.Fatal(err)
		}
		homes = append(homes, places.Home{PersonID: person, Cells: cells})
	}
	s, err := places.NewSnapshot(1, ps, homes, key)
	if err != nil {
		t.Fatal(err)
	}
	return snap{s}
}

// history is an in-memory [detect.History].
type history struct {
	daily      []detect.DayCount
	queries    int
	devices    int
	otherCases []string
	err        error
	dailyCalls int
}

func (h *history) Daily(_ context.Context, component string, from, to time.Time) ([]detect.DayCount, error) {
	h.dailyCalls++
	var out []detect.DayCount
	for _, d := range h.daily {
		if !d.Day.Before(from) && d.Day.Before(to) {
			out = append(out, d)
		}
	}
	return out, h.err
}

func (h *history) Since(context.Context, int64, time.Time) (int, int, error) {
	return h.queries, h.devices, h.err
}

func (h *history) OtherCases(context.Context, int64, string, int64) ([]string, error) {
	return h.otherCases, h.err
}

func (h *history) EmployeeIDs(_ context.Context, people []int64) (map[int64]string, error) {
	out := map[int64]string{}
	for _, p := range people {
		out[p] = map[int64]string{1: "ana.analyst", 2: "bo.coworker"}[p]
	}
	return out, h.err
}

// A Tuesday, 14:00 in New York: on duty.
var onDuty = time.Date(2026, 11, 17, 19, 0, 0, 0, time.UTC)

func input(t testing.TB, kind query.Kind, at [2]float64, radius float64) detect.Input {
	t.Helper()
	in := detect.Input{QueryID: 7, CaseID: 3, Case: "CBP-2026-0003", At: onDuty, Requester: detect.Requester{
		ID: 1, EmployeeID: "ana.analyst", Component: "CBP", Schedule: identity.DefaultSchedule()}}
	in.Request.Kind = kind
	if kind == query.Area {
		a, err := geo.NewCircle(at[0], at[1], radius, geo.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		in.Request.AreaOf = a
	}
	return in
}

func detectors(fs []detect.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Detector+"/"+f.Flag)
	}
	slices.Sort(out)
	return out
}

func TestDetectors_Request(t *testing.T) {
	ctx := context.Background()
	d := detect.New(mustSnapshot(t), &history{}, detect.Config{})
	for _, tc := range []struct {
		name string
		in   detect.Input
		want []string
	}{
		{"Nowhere", input(t, query.Area, nowhere, 200), nil},
		{"School", input(t, query.Area, school, 200), []string{"protected_place/protected_place"}},
		{"Facility", input(t, query.Area, facility, 200), []string{"protected_place/agency_facility"}},
		{"ColleagueHome", input(t, query.Area, b2Home, 300), []string{"protected_place/employee_home"}},
		{"OwnHome", input(t, query.Area, ownHome, 300), []string{"self_interest/self_interest"}},
		{"OffDuty", func() detect.Input {
			in := input(t, query.Area, nowhere, 200)
			in.At = time.Date(2026, 11, 18, 4, 0, 0, 0, time.UTC) // 23:00 in New York
			return in
		}(), []string{"off_duty/off_hours"}},
		{"DeviceHistoryNotArea", input(t, query.DeviceHistory, school, 0), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := d.Request(ctx, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := detectors(fs); !slices.Equal(got, tc.want) {
				t.Fatalf("findings %v, want %v", got, tc.want)
			}
			for _, f := range fs {
				if err := f.Alert("CBP", 7, 1).Validate(); err != nil {
					t.Errorf("%s: the alert it raises is invalid: %v", f.Detector, err)
				}
				if strings.Contains(f.Explanation, "40.7") {
					t.Errorf("%s: the explanation gives coordinates: %s", f.Detector, f.Explanation)
				}
			}
		})
	}
	t.Run("NoPlaces", func(t *testing.T) {
		fs, err := detect.New(snap{}, nil, detect.Config{}).Request(ctx, input(t, query.Area, school, 200))
		if err != nil || len(fs) != 0 {
			t.Fatalf("Request = %v, %v; want nothing without a snapshot", fs, err)
		}
	})
}

// track returns a device history's pings: one each hour (UTC) from start
// for hours hours, at home between 22:00 and 06:00 local solar time and
// at work otherwise.
func track(start time.Time, hours int, home, work [2]float64) []query.Ping {
	var out []query.Ping
	for h := range hours {
		t := start.Add(time.Duration(h) * time.Hour)
		p := work
		solar := t.Add(time.Duration(home[1] / 15 * float64(time.Hour)))
		if hr := solar.Hour(); hr >= 22 || hr < 6 {
			p = home
		}
		out = append(out, query.Ping{Time: t, Lat: p[0], Lon: p[1]})
	}
	return out
}

func TestDetectors_EmployeeDevice(t *testing.T) {
	ctx := context.Background()
	d := detect.New(mustSnapshot(t), &history{}, detect.Config{})
	start := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		pings    []query.Ping
		withhold bool
	}{
		{"SleepsAtColleague", track(start, 72, b2Home, nowhere), true},
		{"SleepsAtRequester", track(start, 72, ownHome, nowhere), true},
		{"SleepsElsewhere", track(start, 72, nowhere, b2Home), false},
		{"OneNightOnly", track(start.Add(20*time.Hour), 14, b2Home, nowhere), false},
		{"NoPings", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(t, query.DeviceHistory, nowhere, 0)
			fs, err := d.Result(ctx, in, query.Result{Kind: query.DeviceHistory, Device: "p-abcdefghijklmnopqrst", Pings: tc.pings})
			if err != nil {
				t.Fatal(err)
			}
			var got *detect.Finding
			for i := range fs {
				if fs[i].Detector == detect.EmployeeDevice {
					got = &fs[i]
				}
			}
			if (got != nil) != tc.withhold {
				t.Fatalf("employee device found: %v, want %v (findings %v)", got != nil, tc.withhold, detectors(fs))
			}
			if got == nil {
				return
			}
			if !got.Withhold || got.Severity != alerts.High {
				t.Errorf("withhold %v severity %s; want withheld and high", got.Withhold, got.Severity)
			}
			if n := got.Evidence["night_pings"].(int); n < 20 {
				t.Errorf("night pings %d, want the 3 nights' (at least 20)", n)
			}
			if err := got.Alert("CBP", 7, 1).Validate(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("PingsInProtectedPlaces", func(t *testing.T) {
		pings := []query.Ping{{Time: onDuty, Lat: school[0], Lon: school[1]}, {Time: onDuty, Lat: school[0], Lon: school[1] + 0.0003}, {Time: onDuty, Lat: nowhere[0], Lon: nowhere[1]}}
		fs, err := d.Result(ctx, input(t, query.DeviceHistory, nowhere, 0), query.Result{Kind: query.DeviceHistory, Device: "p-abcdefghijklmnopqrst", Pings: pings})
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 1 || fs[0].Detector != detect.ProtectedPlace || fs[0].Evidence["pings"] != 2 || fs[0].Withhold {
			t.Fatalf("findings %+v; want one protected place finding of 2 pings, not withheld", fs)
		}
	})
}

func TestDetectors_RepeatedDevice(t *testing.T) {
	ctx := context.Background()
	h := &history{otherCases: []string{"CBP-2026-0001", "CBP-2026-0002"}}
	d := detect.New(snap{}, h, detect.Config{})
	in := input(t, query.DeviceHistory, nowhere, 0)
	res := query.Result{Kind: query.DeviceHistory, Device: "p-abcdefghijklmnopqrst"}
	t.Run("NoTag", func(t *testing.T) {
		fs, err := d.Result(ctx, in, res)
		if err != nil || slices.ContainsFunc(fs, func(f detect.Finding) bool { return f.Detector == detect.RepeatedDevice }) {
			t.Fatalf("Result = %v, %v; want no repeated device without a tag", detectors(fs), err)
		}
	})
	t.Run("OtherCases", func(t *testing.T) {
		in.DeviceTag = "0123456789abcdef"
		fs, err := d.Result(ctx, in, res)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(fs, func(f detect.Finding) bool { return f.Detector == detect.RepeatedDevice })
		if i < 0 || !strings.Contains(fs[i].Explanation, "in 2 cases other than CBP-2026-0003") {
			t.Fatalf("findings %v; want repeated_device naming the 2 other cases", detectors(fs))
		}
	})
	t.Run("ErrHistory", func(t *testing.T) {
		h.err = errors.New("down")
		if _, err := d.Result(ctx, in, res); err == nil {
			t.Fatal("a history that cannot be read screened nothing and said nothing")
		}
	})
}

func TestDetectors_VolumeAnomaly(t *testing.T) {
	ctx := context.Background()
	day := onDuty.Truncate(24 * time.Hour)
	h := &history{}
	// Over 28 days the requester ran 2–4 queries a day; two peers 3–5.
	for i := 1; i <= 28; i++ {
		d := day.AddDate(0, 0, -i)
		h.daily = append(h.daily,
			detect.DayCount{Person: 1, Day: d, Queries: 2 + i%3, Devices: 20 + i%7},
			detect.DayCount{Person: 5, Day: d, Queries: 3 + i%3, Devices: 30},
			detect.DayCount{Person: 6, Day: d, Queries: 4 + i%2, Devices: 40})
	}
	d := detect.New(snap{}, h, detect.Config{})
	res := query.Result{Kind: query.Area, Devices: make([]query.Device, 10)}
	var fired []int
	for n := 1; n <= 40; n++ {
		h.queries, h.devices = n, 10*(n-1)
		fs, err := d.Result(ctx, input(t, query.Area, nowhere, 200), res)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.Detector == detect.VolumeAnomaly && f.Evidence["measure"] == "queries" {
				fired = append(fired, n)
				if !strings.Contains(f.Explanation, "median 3") {
					t.Errorf("explanation does not give the own median: %s", f.Explanation)
				}
			}
		}
	}
	// Own median 3 (MAD 1), so the own limit is 3 + max(6×1.4826, 10) = 13;
	// peers' median 4 (MAD 1): 14. The 15th query crosses, once.
	if !slices.Equal(fired, []int{15}) {
		t.Fatalf("volume anomaly fired at queries %v, want [15] only", fired)
	}
	if h.dailyCalls != 1 {
		t.Errorf("baselines read %d times in a day, want once", h.dailyCalls)
	}
}

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		xs          []float64
		median, mad float64
	}{
		{nil, 0, 0},
		{[]float64{5}, 5, 0},
		{[]float64{1, 2, 3, 4, 100}, 3, 1},
		{[]float64{1, 2, 3, 4}, 2.5, 1},
	} {
		s := detect.Summarize(tc.xs)
		if s.Median != tc.median || s.MAD != tc.mad || s.Days != len(tc.xs) {
			t.Errorf("Summarize(%v) = %+v, want median %g MAD %g", tc.xs, s, tc.median, tc.mad)
		}
	}
	if got := (detect.Stats{Median: 3, MAD: 2}).Threshold(6, 10); got != 3+6*1.4826*2 {
		t.Errorf("Threshold = %g", got)
	}
}
