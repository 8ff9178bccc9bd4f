package app

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseQueryTime(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     time.Time
		err      string
	}{
		{name: "OKRFC3339", in: "2026-11-01T08:30:00Z", want: time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC)},
		{name: "OKOffset", in: "2026-11-01T08:30:00-05:00", want: time.Date(2026, 11, 1, 13, 30, 0, 0, time.UTC)},
		{name: "OKFraction", in: "2026-11-01T08:30:00.25Z", want: time.Date(2026, 11, 1, 8, 30, 0, 250_000_000, time.UTC)},
		{name: "OKDate", in: " 2026-11-01 ", want: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{name: "ErrEmpty", in: "", err: "give the window: -from TIME"},
		{name: "ErrNoZone", in: "2026-11-01T08:30:00", err: `-from: "2026-11-01T08:30:00" is not a time`},
		{name: "ErrWords", in: "yesterday", err: `-from: "yesterday" is not a time`},
		{name: "ErrBadDay", in: "2026-02-30", err: `-from: "2026-02-30" is not a time`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseQueryTime("-from", c.in)
			if c.err != "" {
				if _, ok := err.(*usageError); !ok || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want a usage error saying %q", err, c.err)
				}
				return
			}
			if err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
				t.Fatalf("= %v, %v; want %v in UTC", got, err, c.want)
			}
		})
	}
}

func TestParseCircle(t *testing.T) {
	for _, c := range []struct {
		name, in      string
		lat, lon, rad float64
		err           string
	}{
		{name: "OK", in: "38.8895,-77.0353,500", lat: 38.8895, lon: -77.0353, rad: 500},
		{name: "OKSpaces", in: " 38.8895 , -77.0353 , 12.5 ", lat: 38.8895, lon: -77.0353, rad: 12.5},
		{name: "ErrTwo", in: "38.8895,-77.0353", err: "give LAT,LON,METRES"},
		{name: "ErrFour", in: "1,2,3,4", err: "give LAT,LON,METRES"},
		{name: "ErrWord", in: "north,-77,500", err: "give LAT,LON,METRES"},
		{name: "ErrLatitude", in: "98.9,-77.03,300", err: "-circle 98.9,-77.03,300: "},
		{name: "ErrRadius", in: "38.9,-77.03,0", err: "-circle 38.9,-77.03,0: "},
		{name: "ErrNaN", in: "NaN,-77.03,300", err: "-circle NaN,-77.03,300: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseCircle(c.in)
			if c.err != "" {
				if _, ok := err.(*usageError); !ok || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want a usage error saying %q", err, c.err)
				}
				return
			}
			if err != nil || got.Lat != c.lat || got.Lon != c.lon || got.RadiusM != c.rad {
				t.Fatalf("= %+v, %v", got, err)
			}
		})
	}
}

// FuzzParseCircle checks that a circle the parser accepts is one the
// query path accepts: finite, on the globe, with a positive radius.
func FuzzParseCircle(f *testing.F) {
	for _, s := range []string{"38.8895,-77.0353,500", "90,180,1", "-90,-180,100000", "1e3,2,3", "0x1p-2,0,1", "Inf,0,1", ",,", "1,2,3,4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCircle(s)
		if err != nil {
			if _, ok := err.(*usageError); !ok {
				t.Fatalf("%q: not a usage error: %v", s, err)
			}
			return
		}
		for _, v := range []float64{c.Lat, c.Lon, c.RadiusM} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%q: accepted %+v", s, c)
			}
		}
		if c.Lat < -90 || c.Lat > 90 || c.Lon < -180 || c.Lon > 180 || c.RadiusM <= 0 {
			t.Fatalf("%q: accepted %+v", s, c)
		}
	})
}

// FuzzParseQueryTime checks that an accepted time is in UTC and reads
// back as the same instant.
func FuzzParseQueryTime(f *testing.F) {
	for _, s := range []string{"2026-11-01T08:30:00Z", "2026-11-01", "2026-11-01T08:30:00+14:00", "0000-01-01", "yesterday", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseQueryTime("-to", s)
		if err != nil {
			if _, ok := err.(*usageError); !ok {
				t.Fatalf("%q: not a usage error: %v", s, err)
			}
			return
		}
		if tm.Location() != time.UTC {
			t.Fatalf("%q: %v is not in UTC", s, tm)
		}
		back, err := parseQueryTime("-to", tm.Format(time.RFC3339Nano))
		if err != nil || !back.Equal(tm) {
			t.Fatalf("%q: %v reads back as %v, %v", s, tm, back, err)
		}
	})
}
