package ping

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestPing_Validate(t *testing.T) {
	ok := Ping{Device: "d", Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Lat: 1, Lon: 2, Line: 3}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid ping: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(*Ping)
		field string
	}{
		{"ErrEmptyDevice", func(p *Ping) { p.Device = "" }, "device"},
		{"ErrLongDevice", func(p *Ping) { p.Device = strings.Repeat("x", MaxDeviceLen+1) }, "device"},
		{"ErrDeviceUTF8", func(p *Ping) { p.Device = "\xff" }, "device"},
		{"ErrDeviceControl", func(p *Ping) { p.Device = "a\nb" }, "device"},
		{"ErrZeroTime", func(p *Ping) { p.Time = time.Time{} }, "time"},
		{"ErrEarlyTime", func(p *Ping) { p.Time = MinTime.Add(-time.Second) }, "time"},
		{"ErrLateTime", func(p *Ping) { p.Time = MaxTime }, "time"},
		{"ErrLocalTime", func(p *Ping) { p.Time = p.Time.In(time.FixedZone("X", 3600)) }, "time"},
		{"ErrLatNaN", func(p *Ping) { p.Lat = math.NaN() }, "lat"},
		{"ErrLatRange", func(p *Ping) { p.Lat = 90.0001 }, "lat"},
		{"ErrLonInf", func(p *Ping) { p.Lon = math.Inf(-1) }, "lon"},
		{"ErrLonRange", func(p *Ping) { p.Lon = -180.5 }, "lon"},
		{"ErrAccuracyNegative", func(p *Ping) { p.AccuracyM = -1 }, "accuracy"},
		{"ErrAccuracyHuge", func(p *Ping) { p.AccuracyM = MaxAccuracyM + 1 }, "accuracy"},
		{"ErrAccuracyNaN", func(p *Ping) { p.AccuracyM = math.NaN() }, "accuracy"},
		{"ErrNoLine", func(p *Ping) { p.Line = 0 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.edit(&p)
			err := p.Validate()
			var re *RowError
			if !errors.As(err, &re) || re.Field != tt.field || re.Line != p.Line {
				t.Fatalf("got %v, want a row error in field %q at line %d", err, tt.field, p.Line)
			}
		})
	}
}

func TestRowError_Error(t *testing.T) {
	cause := errors.New("cause")
	err := error(&RowError{Line: 7, Field: "lat", Msg: "bad", Err: cause})
	if got := err.Error(); got != "line 7: lat: bad" {
		t.Errorf("got %q", got)
	}
	if !errors.Is(err, cause) || !IsRowError(err) || IsRowError(cause) {
		t.Error("unwrapping or IsRowError wrong")
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name, file, head string
		want             Format
	}{
		{"PLTContent", "x.txt", "Geolife trajectory\r\nWGS 84\r\n", PLT},
		{"PLTName", "20081023025304.plt", "", PLT},
		{"GeoJSONContent", "upload", "\ufeff  \n{\"type\":\"FeatureCollection\"", GeoJSON},
		{"GeoJSONName", "a.GeoJSON", "", GeoJSON},
		{"GPXContent", "upload", "<?xml version=\"1.0\"?>\n<gpx version=\"1.1\">", GPX},
		{"GPXName", "track.gpx", "<?xml version=\"1.0\"?>", GPX},
		{"CSVName", "pings.csv", "device,time,lat,lon\n", CSV},
		{"CSVContent", "upload", "device,time,lat,lon\n", CSV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect(tt.file, []byte(tt.head))
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	for _, tt := range []struct{ name, file, head string }{
		{"ErrUnknown", "notes", "hello"},
		{"ErrConflict", "pings.csv", "{\"type\":\"FeatureCollection\"}"},
		{"ErrConflictPLT", "a.gpx", "Geolife trajectory\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := Detect(tt.file, []byte(tt.head)); !errors.Is(err, ErrUnknownFormat) {
				t.Fatalf("got %q, %v; want ErrUnknownFormat", got, err)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	if f, err := ParseFormat(" GPX "); err != nil || f != GPX {
		t.Errorf("got %q, %v", f, err)
	}
	if _, err := ParseFormat("kml"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("kml: got %v", err)
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in     string
		layout TimeLayout
		want   string // RFC 3339 in UTC, or "" for an error
	}{
		{"2024-03-01T12:00:00+01:00", RFC3339, "2024-03-01T11:00:00Z"},
		{"2024-03-01T12:00:00.123456789Z", "", "2024-03-01T12:00:00.123456789Z"},
		{"2024-03-01 12:00:00", RFC3339, ""},
		{"1709294400", UnixSeconds, "2024-03-01T12:00:00Z"},
		{"1709294400.123", UnixSeconds, "2024-03-01T12:00:00.123Z"},
		{"1709294400123", UnixMillis, "2024-03-01T12:00:00.123Z"},
		{"1709294400123.456", UnixMillis, "2024-03-01T12:00:00.123456Z"},
		{"-1.5", UnixSeconds, "1969-12-31T23:59:58.5Z"},
		{"1709294400123", UnixSeconds, ""}, // milliseconds given as seconds
		{"1.7e9", UnixSeconds, ""},
		{"17.", UnixSeconds, ""},
		{"--1", UnixSeconds, ""},
		{"1.1234567891", UnixSeconds, ""},
		{"", UnixMillis, ""},
		{"1", "weeks", ""},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in, tt.layout)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseTime(%q, %q) = %v, want an error", tt.in, tt.layout, got)
			}
			continue
		}
		if err != nil || got.Format(time.RFC3339Nano) != tt.want || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q, %q) = %v, %v; want %s", tt.in, tt.layout, got, err, tt.want)
		}
	}
	if l, err := ParseTimeLayout("UnixMS"); err != nil || l != UnixMillis {
		t.Errorf("ParseTimeLayout: %q, %v", l, err)
	}
}

func TestParseCoord(t *testing.T) {
	for _, s := range []string{"1.5", " -74.006 ", "1e2", "+3"} {
		if _, err := ParseCoord(s); err != nil {
			t.Errorf("ParseCoord(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "NaN", "Inf", "0x1p3", "1,5", "1_000"} {
		if v, err := ParseCoord(s); err == nil {
			t.Errorf("ParseCoord(%q) = %v, want an error", s, v)
		}
	}
}

func TestLimitReader(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		b, err := io.ReadAll(LimitReader(iotest.OneByteReader(strings.NewReader("12345")), 5))
		if err != nil || string(b) != "12345" {
			t.Fatalf("got %q, %v", b, err)
		}
	})
	t.Run("ErrInputTooLarge", func(t *testing.T) {
		b, err := io.ReadAll(LimitReader(strings.NewReader("123456"), 5))
		if !errors.Is(err, ErrInputTooLarge) || len(b) > 5 {
			t.Fatalf("got %q, %v", b, err)
		}
	})
}

func TestLineLimitReader(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		in := "1234\n1234\n\n1234"
		b, err := io.ReadAll(LineLimitReader(strings.NewReader(in), 4))
		if err != nil || string(b) != in {
			t.Fatalf("got %q, %v", b, err)
		}
	})
	t.Run("ErrLineTooLong", func(t *testing.T) {
		b, err := io.ReadAll(LineLimitReader(iotest.HalfReader(strings.NewReader("1234\n12345\n")), 4))
		if !errors.Is(err, ErrLineTooLong) || string(b) != "1234\n1234" {
			t.Fatalf("got %q, %v", b, err)
		}
	})
}
