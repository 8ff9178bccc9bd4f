package query

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/fault"
)

var now = time.Date(2026, 11, 18, 15, 0, 0, 0, time.UTC)

func area() Request {
	return Request{Kind: Area, Case: "CBP-2026-000142", Source: "venntel", Justification: "Devices at the container yard during the night of the 17th.",
		Circle: &Circle{Lat: 38.9, Lon: -77.03, RadiusM: 400}, From: now.Add(-6 * time.Hour), To: now}
}

func TestRequest_Check(t *testing.T) {
	c, err := area().Check(now, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if c.WindowHours != 6 || c.AreaKm2() < 0.49 || c.AreaKm2() > 0.51 {
		t.Fatalf("window %d h, area %g km²", c.WindowHours, c.AreaKm2())
	}
	poly := area()
	poly.Circle, poly.Area = nil, json.RawMessage(`{"type":"Polygon","coordinates":[[[-77.03,38.9],[-77.02,38.9],[-77.02,38.91],[-77.03,38.9]]]}`)
	if _, err := poly.Check(now, DefaultLimits()); err != nil {
		t.Fatalf("polygon: %v", err)
	}
	odd := area()
	odd.From = now.Add(-90 * time.Minute)
	if c, _ := odd.Check(now, DefaultLimits()); c.WindowHours != 2 {
		t.Errorf("90 minutes round up to %d hours", c.WindowHours)
	}
	dev := Request{Kind: DeviceHistory, Case: "CBP-2026-000142", Source: "venntel", Justification: area().Justification, Device: "p-abcdefghijklmnopqrst", From: now.Add(-time.Hour), To: now}
	if _, err := dev.Check(now, DefaultLimits()); err != nil {
		t.Fatalf("device: %v", err)
	}
	un := Request{Kind: Unmask, Case: "CBP-2026-000142", Source: "venntel", Justification: area().Justification, Device: "p-abcdefghijklmnopqrst"}
	if _, err := un.Check(now, DefaultLimits()); err != nil {
		t.Fatalf("unmask: %v", err)
	}

	for _, tc := range []struct {
		name   string
		change func(*Request)
		want   string
	}{
		{"Kind", func(r *Request) { r.Kind = "pattern" }, "not a query kind"},
		{"NoCase", func(r *Request) { r.Case = "" }, "case:"},
		{"HostileCase", func(r *Request) { r.Case = "CBP'; DROP TABLE cases;--" }, "case:"},
		{"Source", func(r *Request) { r.Source = "Venntel Inc" }, "source:"},
		{"ShortJustification", func(r *Request) { r.Justification = "   because   " }, "at least 20"},
		{"LongJustification", func(r *Request) { r.Justification = strings.Repeat("x", 2001) }, "at most 2000"},
		{"ControlJustification", func(r *Request) { r.Justification = "a perfectly fine reason\x00 with a NUL" }, "control"},
		{"BadUTF8", func(r *Request) { r.Justification = "a perfectly fine reason \xff\xfe here" }, "UTF-8"},
		{"NoArea", func(r *Request) { r.Circle = nil }, "needs an area"},
		{"BothAreas", func(r *Request) { r.Area = json.RawMessage(`{}`) }, "not both"},
		{"ZeroRadius", func(r *Request) { r.Circle.RadiusM = 0 }, "area:"},
		{"BadLat", func(r *Request) { r.Circle.Lat = 91 }, "area:"},
		{"OpenRing", func(r *Request) {
			r.Circle, r.Area = nil, json.RawMessage(`{"type":"Polygon","coordinates":[[[0,0],[0.01,0],[0.01,0.01],[0,0.01]]]}`)
		}, "area:"},
		{"Bowtie", func(r *Request) {
			r.Circle, r.Area = nil, json.RawMessage(`{"type":"Polygon","coordinates":[[[0,0],[0.01,0.01],[0.01,0],[0,0.01],[0,0]]]}`)
		}, "area:"},
		{"DeviceOnArea", func(r *Request) { r.Device = "p-abcdefghijklmnopqrst" }, "not a device"},
		{"NoWindow", func(r *Request) { r.From = time.Time{} }, "time window"},
		{"Backwards", func(r *Request) { r.From, r.To = r.To, r.From }, "start before it ends"},
		{"Empty", func(r *Request) { r.From = r.To }, "start before it ends"},
		{"TooLong", func(r *Request) { r.From = r.To.Add(-32 * 24 * time.Hour) }, "longest allowed is 31 days"},
		{"Future", func(r *Request) { r.From, r.To = now.Add(time.Hour), now.Add(2*time.Hour) }, "future"},
		{"Ancient", func(r *Request) { r.From, r.To = now.AddDate(-6, 0, 0), now.AddDate(-6, 0, 1) }, "ago"},
		{"LegalRef", func(r *Request) { r.LegalProcess = "5:26-mj-00142\n(S.D. Tex.)" }, "legal_process"},
		{"LegalRefLong", func(r *Request) { r.LegalProcess = strings.Repeat("9", 101) }, "legal_process"},
		{"BreakGlassShort", func(r *Request) { r.BreakGlass = "now" }, "break_glass"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := area()
			c := *r.Circle
			r.Circle = &c
			tc.change(&r)
			_, err := r.Check(now, DefaultLimits())
			if fault.CodeOf(err) != fault.Invalid || !strings.Contains(fault.MessageOf(err), tc.want) {
				t.Fatalf("err = %v, want Invalid mentioning %q", err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		r    Request
		want string
	}{
		{"DeviceWithArea", Request{Kind: DeviceHistory, Case: "C-1", Source: "s", Justification: area().Justification, Device: "p-abcdefghijklmnopqrst", Circle: &Circle{1, 1, 10}}, "takes a device"},
		{"NoDevice", Request{Kind: DeviceHistory, Case: "C-1", Source: "s", Justification: area().Justification}, "device:"},
		{"DeviceSpaces", Request{Kind: DeviceHistory, Case: "C-1", Source: "s", Justification: area().Justification, Device: " x "}, "device:"},
		{"UnmaskRaw", Request{Kind: Unmask, Case: "C-1", Source: "s", Justification: area().Justification, Device: "ad-id-1"}, "pseudonym"},
		{"UnmaskWindow", Request{Kind: Unmask, Case: "C-1", Source: "s", Justification: area().Justification, Device: "p-abcdefghijklmnopqrst", From: now}, "no time window"},
		{"UnmaskBreakGlass", Request{Kind: Unmask, Case: "C-1", Source: "s", Justification: area().Justification, Device: "p-abcdefghijklmnopqrst", BreakGlass: area().Justification}, "never an emergency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.r.Check(now, DefaultLimits())
			if fault.CodeOf(err) != fault.Invalid || !strings.Contains(fault.MessageOf(err), tc.want) {
				t.Fatalf("err = %v, want Invalid mentioning %q", err, tc.want)
			}
		})
	}
}

func TestPseudonym(t *testing.T) {
	k1, k2 := CaseKey("case-one-key-32-bytes-long......"), CaseKey("case-two-key-32-bytes-long......")
	a := Pseudonym(k1, 1, "ad-id-1")
	if !IsPseudonym(a) || a != Pseudonym(k1, 1, "ad-id-1") {
		t.Fatalf("pseudonym %q is not stable or well formed", a)
	}
	for _, other := range []string{Pseudonym(k2, 1, "ad-id-1"), Pseudonym(k1, 2, "ad-id-1"), Pseudonym(k1, 1, "ad-id-2")} {
		if other == a {
			t.Fatalf("pseudonyms collide: %s", a)
		}
	}
	for _, s := range []string{"", "p-", "p-ABCDEFGHIJKLMNOPQRST", "p-abcdefghijklmnopqrs", "p-abcdefghijklmnopqrstu", "q-abcdefghijklmnopqrst", "p-abcdefghijklmnopqrs0"} {
		if IsPseudonym(s) {
			t.Errorf("%q taken for a pseudonym", s)
		}
	}
}

func TestRisk_Assess(t *testing.T) {
	th := DefaultThresholds()
	for _, tc := range []struct {
		name string
		r    Risk
		want Tier
	}{
		{"Routine", Risk{Kind: Area, AreaKm2: 0.5, WindowHours: 6, ExpectedDevices: 40}, Routine},
		{"Unknown", Risk{Kind: Area, AreaKm2: 0.5, WindowHours: 6, ExpectedDevices: -1}, Elevated},
		{"BigArea", Risk{Kind: Area, AreaKm2: 3, WindowHours: 6, ExpectedDevices: 40}, Elevated},
		{"LongWindow", Risk{Kind: Area, AreaKm2: 0.5, WindowHours: 48, ExpectedDevices: 40}, Elevated},
		{"ManyDevices", Risk{Kind: Area, AreaKm2: 0.5, WindowHours: 6, ExpectedDevices: 5000}, High},
		{"Crowd", Risk{Kind: Area, AreaKm2: 0.5, WindowHours: 6, ExpectedDevices: 50000}, Critical},
		{"Policy", Risk{Kind: Area, AreaKm2: 0.5, WindowHours: 6, ExpectedDevices: 40, PolicyNeedsApproval: true}, High},
		{"History", Risk{Kind: DeviceHistory, WindowHours: 6, ExpectedDevices: 1}, Elevated},
		{"Unmask", Risk{Kind: Unmask, ExpectedDevices: 1}, High},
		{"Sensitive", Risk{Kind: Area, AreaKm2: 0.5, WindowHours: 6, ExpectedDevices: 40, Flags: []string{FlagProtectedPlace}}, High},
		{"EmployeeHome", Risk{Kind: Area, AreaKm2: 0.5, WindowHours: 6, ExpectedDevices: 40, Flags: []string{FlagEmployeeHome}}, Critical},
		{"OffHours", Risk{Kind: Area, AreaKm2: 0.5, WindowHours: 6, ExpectedDevices: 40, Flags: []string{FlagOffHours}}, High},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := tc.r.Assess(th)
			if got != tc.want {
				t.Fatalf("tier %s (%v), want %s", got, why, tc.want)
			}
			if got != Routine && len(why) == 0 {
				t.Fatal("a raised tier without a reason")
			}
			if got.NeedsApproval() != (got >= High) {
				t.Fatal("NeedsApproval disagrees with the tier")
			}
		})
	}
}

func TestResult_EncodeDigestable(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	r := Result{Kind: Area, Devices: []Device{{Device: "p-abcdefghijklmnopqrst", FirstSeen: now.In(loc), LastSeen: now.In(loc), Pings: 2}}, Salt: "00"}
	b := r.Encode()
	if !strings.Contains(string(b), `"first_seen":"2026-11-18T15:00:00Z"`) {
		t.Fatalf("times are not UTC: %s", b)
	}
	back, err := DecodeResult(b)
	if err != nil || string(back.Encode()) != string(b) || back.Count() != 1 {
		t.Fatalf("round trip: %v %s", err, back.Encode())
	}
}

// FuzzRequest decodes a request as the API does and checks it: no input
// may panic, and whatever passes must be internally consistent.
func FuzzRequest(f *testing.F) {
	b, _ := json.Marshal(area())
	f.Add(b)
	f.Add([]byte(`{"kind":"device_history","case":"C-1","source":"s","justification":"xxxxxxxxxxxxxxxxxxxxxxxxx","device":"p-abcdefghijklmnopqrst","from":"2026-11-18T10:00:00Z","to":"2026-11-18T11:00:00Z"}`))
	f.Add([]byte(`{"kind":"area","area":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Request
		if json.Unmarshal(data, &r) != nil {
			return
		}
		c, err := r.Check(now, DefaultLimits())
		if err != nil {
			if fault.CodeOf(err) != fault.Invalid || fault.MessageOf(err) == "" {
				t.Fatalf("error %v is not Invalid with a message", err)
			}
			return
		}
		switch c.Kind {
		case Area:
			if c.AreaOf == nil || c.AreaKm2() <= 0 || c.WindowHours < 1 {
				t.Fatalf("accepted an area search without an area or window: %+v", c)
			}
		case DeviceHistory, Unmask:
			if c.Device == "" || c.AreaOf != nil {
				t.Fatalf("accepted %s without a device", c.Kind)
			}
		default:
			t.Fatalf("accepted kind %q", c.Kind)
		}
	})
}
