package ping

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TimeLayout says how a text field holds a time.
type TimeLayout string

// Time layouts importers accept.
const (
	RFC3339     TimeLayout = "rfc3339" // 2008-10-23T02:53:04Z, fractions and offsets allowed
	UnixSeconds TimeLayout = "unix"    // seconds since 1970, fractions allowed
	UnixMillis  TimeLayout = "unixms"  // milliseconds since 1970, fractions allowed
)

// ParseTimeLayout returns the layout called s; empty means [RFC3339].
func ParseTimeLayout(s string) (TimeLayout, error) {
	switch l := TimeLayout(strings.ToLower(strings.TrimSpace(s))); l {
	case "":
		return RFC3339, nil
	case RFC3339, UnixSeconds, UnixMillis:
		return l, nil
	}
	return "", fmt.Errorf("unknown time layout %q (want rfc3339, unix or unixms)", s)
}

// ParseTime parses s in layout and returns the time in UTC. An empty
// layout means [RFC3339].
func ParseTime(s string, layout TimeLayout) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch layout {
	case "", RFC3339:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", clip(s))
		}
		return t.UTC(), nil
	case UnixSeconds, UnixMillis:
		t, err := parseUnix(s, layout == UnixMillis)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not a Unix time in %s: %w", clip(s), unitName(layout), err)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("unknown time layout %q", layout)
}

func unitName(l TimeLayout) string {
	if l == UnixMillis {
		return "milliseconds"
	}
	return "seconds"
}

var errUnixSyntax = errors.New("want digits with an optional fraction")

// parseUnix parses decimal text exactly, without going through float64,
// so that "1700000000.123" is 123 ms and not 122.999 ms.
func parseUnix(s string, millis bool) (time.Time, error) {
	intPart, frac, hasFrac := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	digits := strings.TrimLeft(intPart, "+-")
	if digits == "" || len(intPart)-len(digits) > 1 || !allDigits(digits) {
		return time.Time{}, errUnixSyntax
	}
	if hasFrac && (frac == "" || len(frac) > 9 || !allDigits(frac)) {
		return time.Time{}, errUnixSyntax
	}
	whole, err := strconv.ParseInt(intPart, 10, 64)
	maxWhole := int64(1e11) // seconds: beyond year 5000
	if millis {
		maxWhole = 1e14
	}
	if err != nil || whole > maxWhole || whole < -maxWhole {
		return time.Time{}, errors.New("out of range")
	}
	var fracNs int64 // the fraction in units of 1e-9 of the unit
	if hasFrac {
		fracNs, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	if neg {
		fracNs = -fracNs
	}
	if millis {
		return time.UnixMilli(whole).Add(time.Duration(fracNs / 1000)).UTC(), nil
	}
	return time.Unix(whole, fracNs).UTC(), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// ParseCoord parses a latitude, longitude or accuracy written as a decimal
// number. It rejects NaN, infinities and hexadecimal forms, which are never
// meant in location data.
func ParseCoord(s string) (float64, error) {
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '.', c == '-', c == '+', c == 'e', c == 'E':
		default:
			return 0, fmt.Errorf("%q is not a decimal number", clip(s))
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a decimal number", clip(s))
	}
	return f, nil
}
