package vendorapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/connector"
)

// Wire answers. Pointers tell a missing member from a zero one.

type deviceJSON struct {
	DeviceID  *string `json:"device_id"`
	FirstSeen *string `json:"first_seen"`
	LastSeen  *string `json:"last_seen"`
	Pings     *int64  `json:"pings"`
}

type areaAnswerJSON struct {
	Devices   *[]deviceJSON `json:"devices"`
	Truncated *bool         `json:"truncated"`
}

type pingJSON struct {
	Time      *string  `json:"time"`
	Lat       *float64 `json:"lat"`
	Lon       *float64 `json:"lon"`
	AccuracyM *float64 `json:"accuracy_m"`
}

type historyAnswerJSON struct {
	Pings     *[]pingJSON `json:"pings"`
	Truncated *bool       `json:"truncated"`
}

type estimateAnswerJSON struct {
	Devices *int64 `json:"devices"`
}

// Bounds of what an answer may hold.
const (
	maxDeviceIDLen = 256
	maxAccuracyM   = 1_000_000 // farther than any positioning error
	maxEstimate    = 1 << 40
)

func malformed(format string, args ...any) *connector.Error {
	return connector.Errorf(connector.ErrMalformed, format, args...)
}

// decodeStrict decodes one JSON object into v, and nothing after it. Its
// errors name a member and what was wrong, never a value of the answer.
func decodeStrict(data []byte, v any) *connector.Error {
	if len(bytes.TrimSpace(data)) == 0 {
		return malformed("the answer is empty")
	}
	if !utf8.Valid(data) {
		return malformed("the answer is not UTF-8 text")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return malformed("the answer is cut short (truncated JSON)")
		case errors.As(err, &se):
			return malformed("the answer is not valid JSON (syntax error at byte %d)", se.Offset)
		case errors.As(err, &te):
			if te.Field == "" {
				return malformed("the answer is not a JSON object")
			}
			return malformed("member %s has the wrong type (want %s)", safeField(te.Field), te.Type)
		}
		return malformed("the answer is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed("the answer has data after its JSON object")
	}
	return nil
}

// safeField keeps a decoder's member path to the names this package
// declares (it holds no answer content, but stay sure of it).
func safeField(f string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, f)
}

// parseTime reads an RFC 3339 time with a zone, in UTC, that lies in
// [from, to).
func parseTime(path func(string) string, field string, s *string, from, to time.Time) (time.Time, *connector.Error) {
	if s == nil {
		return time.Time{}, malformed("%s is missing", path(field))
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}, malformed("%s is not an RFC 3339 time with a zone", path(field))
	}
	t = t.UTC()
	if t.Before(from) || !t.Before(to) {
		return time.Time{}, malformed("%s is outside the requested window", path(field))
	}
	return t, nil
}

func checkDeviceID(path func(string) string, id *string) *connector.Error {
	const f = "device_id"
	switch {
	case id == nil:
		return malformed("%s is missing", path(f))
	case *id == "":
		return malformed("%s is empty", path(f))
	case len(*id) > maxDeviceIDLen:
		return malformed("%s is longer than %d bytes", path(f), maxDeviceIDLen)
	case strings.ContainsFunc(*id, func(r rune) bool { return r == utf8.RuneError || unicode.IsControl(r) }):
		return malformed("%s holds characters that are not printable text", path(f))
	}
	return nil
}

// decodeAreaSearch decodes an area search's answer for the window [from,
// to): at most limit+1 devices, sorted by identifier.
func decodeAreaSearch(data []byte, from, to time.Time, limit int) ([]connector.DeviceSeen, *connector.Error) {
	var a areaAnswerJSON
	if err := decodeStrict(data, &a); err != nil {
		return nil, err
	}
	if a.Devices == nil {
		return nil, malformed("devices is missing")
	}
	in := *a.Devices
	out := make([]connector.DeviceSeen, 0, min(len(in), limit+1))
	for i, d := range in {
		// Paths are built only for an error: this loop runs per device.
		p := func(field string) string { return fmt.Sprintf("devices[%d].%s", i, field) }
		if err := checkDeviceID(p, d.DeviceID); err != nil {
			return nil, err
		}
		first, err := parseTime(p, "first_seen", d.FirstSeen, from, to)
		if err != nil {
			return nil, err
		}
		last, err := parseTime(p, "last_seen", d.LastSeen, from, to)
		if err != nil {
			return nil, err
		}
		switch {
		case last.Before(first):
			return nil, malformed("%s is before its first_seen", p("last_seen"))
		case d.Pings == nil:
			return nil, malformed("%s is missing", p("pings"))
		case *d.Pings < 1 || *d.Pings > math.MaxInt32:
			return nil, malformed("%s is not a count from 1 to %d", p("pings"), math.MaxInt32)
		}
		out = append(out, connector.DeviceSeen{Device: *d.DeviceID, FirstSeen: first, LastSeen: last, Pings: int(*d.Pings)})
	}
	slices.SortFunc(out, func(x, y connector.DeviceSeen) int { return strings.Compare(x.Device, y.Device) })
	for i := 1; i < len(out); i++ {
		if out[i].Device == out[i-1].Device {
			return nil, malformed("a device appears more than once")
		}
	}
	if a.Truncated != nil && *a.Truncated && len(out) <= limit {
		return nil, connector.Errorf(connector.ErrRejected, "the data source cut its answer short at %d devices, fewer than the %d asked for, so the result would be incomplete; narrow the area or the window", len(out), limit+1)
	}
	if len(out) > limit+1 {
		out = out[:limit+1]
	}
	return out, nil
}

// decodeDeviceHistory decodes a device history's answer for the window
// [from, to): at most limit+1 pings, sorted by time.
func decodeDeviceHistory(data []byte, from, to time.Time, limit int) ([]connector.Ping, *connector.Error) {
	var a historyAnswerJSON
	if err := decodeStrict(data, &a); err != nil {
		return nil, err
	}
	if a.Pings == nil {
		return nil, malformed("pings is missing")
	}
	in := *a.Pings
	out := make([]connector.Ping, 0, min(len(in), limit+1))
	for i, pj := range in {
		p := func(field string) string { return fmt.Sprintf("pings[%d].%s", i, field) }
		t, err := parseTime(p, "time", pj.Time, from, to)
		if err != nil {
			return nil, err
		}
		switch {
		case pj.Lat == nil:
			return nil, malformed("%s is missing", p("lat"))
		case pj.Lon == nil:
			return nil, malformed("%s is missing", p("lon"))
		case !(*pj.Lat >= -90 && *pj.Lat <= 90):
			return nil, malformed("%s is outside [-90, 90]", p("lat"))
		case !(*pj.Lon >= -180 && *pj.Lon <= 180):
			return nil, malformed("%s is outside [-180, 180]", p("lon"))
		case pj.AccuracyM != nil && !(*pj.AccuracyM >= 0 && *pj.AccuracyM <= maxAccuracyM):
			return nil, malformed("%s is outside [0, %d]", p("accuracy_m"), maxAccuracyM)
		}
		ping := connector.Ping{Time: t, Lat: *pj.Lat, Lon: *pj.Lon}
		if pj.AccuracyM != nil {
			ping.AccuracyM = *pj.AccuracyM
		}
		out = append(out, ping)
	}
	slices.SortStableFunc(out, func(x, y connector.Ping) int {
		if c := x.Time.Compare(y.Time); c != 0 {
			return c
		}
		if c := cmpFloat(x.Lat, y.Lat); c != 0 {
			return c
		}
		return cmpFloat(x.Lon, y.Lon)
	})
	if a.Truncated != nil && *a.Truncated && len(out) <= limit {
		return nil, connector.Errorf(connector.ErrRejected, "the data source cut its answer short at %d pings, fewer than the %d asked for, so the result would be incomplete; shorten the window", len(out), limit+1)
	}
	if len(out) > limit+1 {
		out = out[:limit+1]
	}
	return out, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// decodeEstimate decodes an area estimate's answer.
func decodeEstimate(data []byte) (int, *connector.Error) {
	var a estimateAnswerJSON
	if err := decodeStrict(data, &a); err != nil {
		return 0, err
	}
	switch {
	case a.Devices == nil:
		return 0, malformed("devices is missing")
	case *a.Devices < 0 || *a.Devices > maxEstimate:
		return 0, malformed("devices is not a count from 0 to %d", int64(maxEstimate))
	}
	return int(*a.Devices), nil
}
