package csvfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/importer/ping"
	"github.com/probity-dev/probity/internal/importer/pingtest"
)

// optionsFor gives each testdata file the options it was written for.
func optionsFor(name string) Options {
	switch name {
	case "unix_semicolon.csv":
		return Options{Comma: ';', TimeLayout: ping.UnixSeconds,
			Columns: Columns{Device: "Device ID", Time: "timestamp", Lat: "LATITUDE", Lon: "Longitude"}}
	case "unixms_columns.csv":
		return Options{TimeLayout: ping.UnixMillis, Columns: Columns{Device: "dev", Time: "ts_ms", Lat: "y", Lon: "x"}}
	}
	return Options{}
}

func TestReader_Golden(t *testing.T) {
	pingtest.Golden(t, "testdata/*.csv", func(name string, r io.Reader) pingtest.Reader {
		return NewReader(r, optionsFor(name))
	})
}

func TestReader_Next(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		r := NewReader(strings.NewReader("lat,lon,time\n1.5,2.5,2024-01-01T00:00:00+02:00\n"), Options{Device: "given"})
		p, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		want := ping.Ping{Device: "given", Time: p.Time, Lat: 1.5, Lon: 2.5, Line: 2}
		if p != want || p.Time.Format("2006-01-02T15:04:05Z07:00") != "2023-12-31T22:00:00Z" {
			t.Errorf("got %v, want %v at 2023-12-31T22:00:00Z", p, want)
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("second Next: %v, want io.EOF", err)
		}
	})
	t.Run("ErrRowThenContinue", func(t *testing.T) {
		r := NewReader(strings.NewReader("device,time,lat,lon\na,2024-01-01T00:00:00Z,100,0\nb,2024-01-01T00:00:00Z,1,0\n"), Options{})
		_, err := r.Next()
		var re *ping.RowError
		if !errors.As(err, &re) || re.Line != 2 || re.Field != "lat" {
			t.Fatalf("got %v, want a row error at line 2 in lat", err)
		}
		if p, err := r.Next(); err != nil || p.Device != "b" || p.Line != 3 {
			t.Fatalf("after row error: %v %v, want b on line 3", p, err)
		}
	})
	t.Run("ErrLineTooLong", func(t *testing.T) {
		in := "device,time,lat,lon\n" + strings.Repeat("x", 200) + ",2024-01-01T00:00:00Z,1,0\n"
		r := NewReader(strings.NewReader(in), Options{Limits: ping.Limits{MaxLineBytes: 100}})
		_, err := r.Next()
		if !errors.Is(err, ping.ErrLineTooLong) || ping.IsRowError(err) {
			t.Fatalf("got %v, want final ErrLineTooLong", err)
		}
		if _, err2 := r.Next(); err2 != err {
			t.Errorf("error not sticky: %v", err2)
		}
	})
	t.Run("ErrInputTooLarge", func(t *testing.T) {
		var in bytes.Buffer
		in.WriteString("device,time,lat,lon\n")
		for range 100 {
			in.WriteString("d,2024-01-01T00:00:00Z,1,0\n")
		}
		r := NewReader(&in, Options{Limits: ping.Limits{MaxBytes: 500}})
		n := 0
		var err error
		for err == nil {
			_, err = r.Next()
			n++
		}
		if !errors.Is(err, ping.ErrInputTooLarge) {
			t.Fatalf("after %d rows got %v, want ErrInputTooLarge", n, err)
		}
	})
	t.Run("ErrMissingDeviceColumn", func(t *testing.T) {
		_, err := NewReader(strings.NewReader("time,lat,lon\n"), Options{}).Next()
		if err == nil || ping.IsRowError(err) || !strings.Contains(err.Error(), `"device"`) {
			t.Fatalf("got %v, want a final error naming the device column", err)
		}
	})
}

func FuzzParse(f *testing.F) {
	pingtest.Seeds(f, "testdata/*.csv")
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{Limits: ping.Limits{MaxBytes: 1 << 16, MaxLineBytes: 1 << 10}}
		if len(data) > 0 && data[0]%2 == 1 {
			opts.TimeLayout = ping.UnixMillis
		}
		pingtest.CheckAll(t, NewReader(bytes.NewReader(data), opts), len(data))
	})
}

func BenchmarkReader(b *testing.B) {
	const n = 100_000
	var buf bytes.Buffer
	buf.WriteString("device,time,lat,lon,accuracy\n")
	for i := range n {
		fmt.Fprintf(&buf, "device-%d,2024-03-01T12:%02d:%02dZ,%.6f,%.6f,%d\n", i%500, i/60%60, i%60, 40+float64(i%1000)/1e4, -74+float64(i%777)/1e4, i%50)
	}
	pingtest.Bench(b, buf.Bytes(), n, func(r io.Reader) pingtest.Reader { return NewReader(r, Options{}) })
}
