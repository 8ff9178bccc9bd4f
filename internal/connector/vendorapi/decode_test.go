package vendorapi

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/connector"
)

var (
	winFrom = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	winTo   = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
)

func TestDecodeAreaSearch(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		// Out of order, with a zone offset, an unknown member and a
		// vendor-specific extra: sorted, in UTC, extras ignored.
		got, err := decodeAreaSearch([]byte(`{"devices": [
			{"device_id": "b", "first_seen": "2026-03-01T12:00:00+02:00", "last_seen": "2026-03-01T11:00:00Z", "pings": 2, "vendor_score": 0.7},
			{"device_id": "a", "first_seen": "2026-03-01T00:00:00Z", "last_seen": "2026-03-01T23:59:59.999Z", "pings": 1}
		], "truncated": false, "request_id": "r-1"}`), winFrom, winTo, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []connector.DeviceSeen{
			{Device: "a", FirstSeen: winFrom, LastSeen: time.Date(2026, 3, 1, 23, 59, 59, 999e6, time.UTC), Pings: 1},
			{Device: "b", FirstSeen: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), LastSeen: time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC), Pings: 2},
		}
		if !slices.EqualFunc(got, want, func(a, b connector.DeviceSeen) bool {
			return a.Device == b.Device && a.FirstSeen.Equal(b.FirstSeen) && a.LastSeen.Equal(b.LastSeen) && a.Pings == b.Pings && a.FirstSeen.Location() == time.UTC
		}) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("OKLimitPlusOne", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(`{"devices": [`)
		for i := range 7 {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"device_id": "d%d", "first_seen": "2026-03-01T01:00:00Z", "last_seen": "2026-03-01T02:00:00Z", "pings": 3}`, 6-i)
		}
		b.WriteString(`], "truncated": true}`)
		got, err := decodeAreaSearch([]byte(b.String()), winFrom, winTo, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 || got[0].Device != "d0" || got[3].Device != "d3" {
			t.Errorf("got %+v, want d0..d3", got)
		}
	})
	t.Run("OKEmpty", func(t *testing.T) {
		got, err := decodeAreaSearch([]byte(`{"devices": []}`), winFrom, winTo, 3)
		if err != nil || len(got) != 0 {
			t.Errorf("got %v, %v", got, err)
		}
	})
	dev := func(members string) string { return `{"devices": [` + members + `]}` }
	for _, c := range []struct {
		name, body, want string
		kind             error
	}{
		{"ErrEmpty", ``, "empty", connector.ErrMalformed},
		{"ErrNotObject", `[1, 2]`, "not a JSON object", connector.ErrMalformed},
		{"ErrNull", `null`, "devices is missing", connector.ErrMalformed},
		{"ErrMissingDevices", `{"items": []}`, "devices is missing", connector.ErrMalformed},
		{"ErrDevicesNotArray", `{"devices": {"a": 1}}`, "devices has the wrong type", connector.ErrMalformed},
		{"ErrSyntax", `{"devices": [}`, "not valid JSON", connector.ErrMalformed},
		{"ErrTruncated", `{"devices": [{"device_id": "a"`, "truncated", connector.ErrMalformed},
		{"ErrTrailing", `{"devices": []} {"devices": []}`, "data after", connector.ErrMalformed},
		{"ErrNotUTF8", "{\"devices\": [], \"x\": \"\xff\"}", "UTF-8", connector.ErrMalformed},
		{"ErrIDType", dev(`{"device_id": 7, "first_seen": "2026-03-01T01:00:00Z", "last_seen": "2026-03-01T01:00:00Z", "pings": 1}`), "device_id has the wrong type", connector.ErrMalformed},
		{"ErrIDMissing", dev(`{"first_seen": "2026-03-01T01:00:00Z", "last_seen": "2026-03-01T01:00:00Z", "pings": 1}`), "devices[0].device_id is missing", connector.ErrMalformed},
		{"ErrIDEmpty", dev(`{"device_id": "", "first_seen": "2026-03-01T01:00:00Z", "last_seen": "2026-03-01T01:00:00Z", "pings": 1}`), "device_id is empty", connector.ErrMalformed},
		{"ErrIDControl", dev(`{"device_id": "a\u0000b", "first_seen": "2026-03-01T01:00:00Z", "last_seen": "2026-03-01T01:00:00Z", "pings": 1}`), "not printable", connector.ErrMalformed},
		{"ErrIDLong", dev(`{"device_id": "` + strings.Repeat("x", 300) + `", "first_seen": "2026-03-01T01:00:00Z", "last_seen": "2026-03-01T01:00:00Z", "pings": 1}`), "longer than", connector.ErrMalformed},
		{"ErrTimeNoZone", dev(`{"device_id": "a", "first_seen": "2026-03-01T01:00:00", "last_seen": "2026-03-01T01:00:00Z", "pings": 1}`), "first_seen is not an RFC 3339 time with a zone", connector.ErrMalformed},
		{"ErrTimeEpoch", dev(`{"device_id": "a", "first_seen": 1772326800, "last_seen": "2026-03-01T01:00:00Z", "pings": 1}`), "first_seen has the wrong type", connector.ErrMalformed},
		{"ErrTimeMissing", dev(`{"device_id": "a", "first_seen": "2026-03-01T01:00:00Z", "pings": 1}`), "last_seen is missing", connector.ErrMalformed},
		{"ErrTimeBeforeWindow", dev(`{"device_id": "a", "first_seen": "2026-02-28T23:59:59Z", "last_seen": "2026-03-01T01:00:00Z", "pings": 1}`), "outside the requested window", connector.ErrMalformed},
		// The window is half-open: its end is outside.
		{"ErrTimeAtWindowEnd", dev(`{"device_id": "a", "first_seen": "2026-03-01T01:00:00Z", "last_seen": "2026-03-02T00:00:00Z", "pings": 1}`), "last_seen is outside", connector.ErrMalformed},
		{"ErrLastBeforeFirst", dev(`{"device_id": "a", "first_seen": "2026-03-01T02:00:00Z", "last_seen": "2026-03-01T01:00:00Z", "pings": 1}`), "before its first_seen", connector.ErrMalformed},
		{"ErrPingsMissing", dev(`{"device_id": "a", "first_seen": "2026-03-01T01:00:00Z", "last_seen": "2026-03-01T01:00:00Z"}`), "pings is missing", connector.ErrMalformed},
		{"ErrPingsZero", dev(`{"device_id": "a", "first_seen": "2026-03-01T01:00:00Z", "last_seen": "2026-03-01T01:00:00Z", "pings": 0}`), "not a count", connector.ErrMalformed},
		{"ErrPingsFraction", dev(`{"device_id": "a", "first_seen": "2026-03-01T01:00:00Z", "last_seen": "2026-03-01T01:00:00Z", "pings": 1.5}`), "pings has the wrong type", connector.ErrMalformed},
		{"ErrDuplicate", dev(`{"device_id": "a", "first_seen": "2026-03-01T01:00:00Z", "last_seen": "2026-03-01T01:00:00Z", "pings": 1},
			{"device_id": "a", "first_seen": "2026-03-01T01:00:00Z", "last_seen": "2026-03-01T01:00:00Z", "pings": 1}`), "more than once", connector.ErrMalformed},
		{"ErrTruncatedShort", `{"devices": [], "truncated": true}`, "cut its answer short at 0 devices", connector.ErrRejected},
		{"ErrTruncatedType", `{"devices": [], "truncated": "yes"}`, "truncated has the wrong type", connector.ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeAreaSearch([]byte(c.body), winFrom, winTo, 5)
			if err == nil {
				t.Fatalf("decoded %+v; want an error", got)
			}
			if !errors.Is(err, c.kind) || !strings.Contains(err.Detail, c.want) {
				t.Errorf("error %q (%v); want %v containing %q", err, err.Kind, c.kind, c.want)
			}
		})
	}
}

func TestDecodeDeviceHistory(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		got, err := decodeDeviceHistory([]byte(`{"pings": [
			{"time": "2026-03-01T05:00:00Z", "lat": 39.9, "lon": 116.3},
			{"time": "2026-03-01T01:00:00-05:00", "lat": -90, "lon": 180, "accuracy_m": 12.5},
			{"time": "2026-03-01T05:00:00Z", "lat": 39.8, "lon": 116.3, "altitude": 40}
		]}`), winFrom, winTo, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []connector.Ping{
			{Time: time.Date(2026, 3, 1, 5, 0, 0, 0, time.UTC), Lat: 39.8, Lon: 116.3},
			{Time: time.Date(2026, 3, 1, 5, 0, 0, 0, time.UTC), Lat: 39.9, Lon: 116.3},
			{Time: time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC), Lat: -90, Lon: 180, AccuracyM: 12.5},
		}
		if !slices.EqualFunc(got, want, func(a, b connector.Ping) bool {
			return a.Time.Equal(b.Time) && a.Lat == b.Lat && a.Lon == b.Lon && a.AccuracyM == b.AccuracyM
		}) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	ping := func(members string) string { return `{"pings": [` + members + `]}` }
	for _, c := range []struct {
		name, body, want string
	}{
		{"ErrMissingPings", `{"devices": []}`, "pings is missing"},
		{"ErrLatMissing", ping(`{"time": "2026-03-01T05:00:00Z", "lon": 1}`), "pings[0].lat is missing"},
		{"ErrLonMissing", ping(`{"time": "2026-03-01T05:00:00Z", "lat": 1}`), "pings[0].lon is missing"},
		{"ErrLatRange", ping(`{"time": "2026-03-01T05:00:00Z", "lat": 90.0001, "lon": 1}`), "lat is outside"},
		{"ErrLonRange", ping(`{"time": "2026-03-01T05:00:00Z", "lat": 1, "lon": -180.5}`), "lon is outside"},
		{"ErrLatType", ping(`{"time": "2026-03-01T05:00:00Z", "lat": "39.9", "lon": 1}`), "lat has the wrong type"},
		{"ErrHugeNumber", ping(`{"time": "2026-03-01T05:00:00Z", "lat": 1e400, "lon": 1}`), "lat has the wrong type"},
		{"ErrAccuracy", ping(`{"time": "2026-03-01T05:00:00Z", "lat": 1, "lon": 1, "accuracy_m": -1}`), "accuracy_m is outside"},
		{"ErrTimeZone", ping(`{"time": "2026-03-01 05:00:00", "lat": 1, "lon": 1}`), "not an RFC 3339 time"},
		{"ErrTimeAfter", ping(`{"time": "2026-03-05T05:00:00Z", "lat": 1, "lon": 1}`), "outside the requested window"},
		{"ErrTruncatedShort", `{"pings": [], "truncated": true}`, "cut its answer short"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeDeviceHistory([]byte(c.body), winFrom, winTo, 5)
			if err == nil {
				t.Fatalf("decoded %+v; want an error", got)
			}
			if !strings.Contains(err.Detail, c.want) {
				t.Errorf("error %q; want it to contain %q", err, c.want)
			}
		})
	}
}

func TestDecodeEstimate(t *testing.T) {
	for _, c := range []struct {
		body string
		want int
		err  string
	}{
		{`{"devices": 0}`, 0, ""},
		{`{"devices": 1234, "confidence": "high"}`, 1234, ""},
		{`{"devices": -1}`, 0, "not a count"},
		{`{"devices": "12"}`, 0, "wrong type"},
		{`{}`, 0, "devices is missing"},
	} {
		n, err := decodeEstimate([]byte(c.body))
		switch {
		case c.err == "" && (err != nil || n != c.want):
			t.Errorf("%s: %d, %v; want %d", c.body, n, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Detail, c.err)):
			t.Errorf("%s: %d, %v; want an error containing %q", c.body, n, err, c.err)
		}
	}
}

// FuzzDecode feeds the decoders arbitrary answers: they never panic,
// what they accept keeps every promise of the connector, and what they
// refuse is refused in words of Probity's own (the seeds hide a marker in
// every place an answer can hold text; no error may repeat it).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"devices": [{"device_id": "SECRETMARK", "first_seen": "2026-03-01T01:00:00Z", "last_seen": "2026-03-01T02:00:00Z", "pings": 2}], "truncated": false}`,
		`{"devices": [{"device_id": "b", "first_seen": "SECRETMARK", "last_seen": "2026-03-01T02:00:00Z", "pings": 2}]}`,
		`{"devices": [{"device_id": "b", "first_seen": "2026-03-01T01:00:00Z", "last_seen": "2026-03-01T02:00:00Z", "pings": "SECRETMARK"}]}`,
		`{"SECRETMARK": 1, "devices": []}`,
		`{"pings": [{"time": "2026-03-01T05:00:00Z", "lat": 39.9, "lon": 116.3, "accuracy_m": 5}], "truncated": true}`,
		`{"pings": [{"time": "2026-03-01T05:00:00Z", "lat": "SECRETMARK", "lon": 116.3}]}`,
		`{"pings": [{"time": "2026-03-01T05:00:00Z", "lat": 39.9, "lon": 116.3, "SECRETMARK": {"x": [1]}}]}`,
		`{"devices": 42}`,
		`SECRETMARK`,
		`{"devices": [`,
		`{"devices": [] } SECRETMARK`,
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, lim uint8) {
		limit := int(lim%8) + 1
		check := func(err *connector.Error) {
			if err == nil {
				return
			}
			if !errors.Is(err, connector.ErrMalformed) && !errors.Is(err, connector.ErrRejected) {
				t.Errorf("error of kind %v", err.Kind)
			}
			if strings.Contains(string(data), "SECRETMARK") && strings.Contains(err.Error(), "SECRETMARK") {
				t.Errorf("the error quotes the answer: %q", err)
			}
		}
		devices, err := decodeAreaSearch(data, winFrom, winTo, limit)
		check(err)
		if err == nil {
			if len(devices) > limit+1 {
				t.Errorf("%d devices for limit %d", len(devices), limit)
			}
			for i, d := range devices {
				if i > 0 && devices[i-1].Device >= d.Device {
					t.Errorf("devices not sorted and unique: %q then %q", devices[i-1].Device, d.Device)
				}
				if d.FirstSeen.Before(winFrom) || !d.LastSeen.Before(winTo) || d.LastSeen.Before(d.FirstSeen) || d.Pings < 1 || d.Device == "" {
					t.Errorf("device breaks the rules: %+v", d)
				}
			}
		}
		pings, err := decodeDeviceHistory(data, winFrom, winTo, limit)
		check(err)
		if err == nil {
			if len(pings) > limit+1 {
				t.Errorf("%d pings for limit %d", len(pings), limit)
			}
			for i, p := range pings {
				if i > 0 && pings[i-1].Time.After(p.Time) {
					t.Errorf("pings not sorted by time")
				}
				if p.Time.Before(winFrom) || !p.Time.Before(winTo) || !(p.Lat >= -90 && p.Lat <= 90) || !(p.Lon >= -180 && p.Lon <= 180) || !(p.AccuracyM >= 0) {
					t.Errorf("ping breaks the rules: %+v", p)
				}
			}
		}
		n, err := decodeEstimate(data)
		check(err)
		if err == nil && n < 0 {
			t.Errorf("estimate %d", n)
		}
	})
}

func BenchmarkDecodeAreaSearch(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"devices": [`)
	for i := range 10_000 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"device_id": "%08x-4b1e-4c8e-9a52-6f0d3c2b1a90", "first_seen": "2026-03-01T01:%02d:00Z", "last_seen": "2026-03-01T02:%02d:00.5Z", "pings": %d}`,
			i*2654435761%(1<<32), i%60, i%60, 1+i%40)
	}
	sb.WriteString(`], "truncated": true}`)
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeAreaSearch(data, winFrom, winTo, 9_999); err != nil {
			b.Fatal(err)
		}
	}
}
