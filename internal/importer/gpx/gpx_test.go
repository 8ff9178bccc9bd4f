package gpx

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

func TestReader_Golden(t *testing.T) {
	pingtest.Golden(t, "testdata/*.gpx", func(name string, r io.Reader) pingtest.Reader {
		return NewReader(r, Options{Device: strings.TrimSuffix(name, ".gpx")})
	})
}

func TestReader_Next(t *testing.T) {
	t.Run("ErrNoDevice", func(t *testing.T) {
		_, err := NewReader(strings.NewReader("<gpx/>"), Options{}).Next()
		if err == nil || err == io.EOF || ping.IsRowError(err) {
			t.Fatalf("got %v, want a final error", err)
		}
	})
	t.Run("ErrInputTooLarge", func(t *testing.T) {
		in := "<gpx><trk><trkseg>" + strings.Repeat(`<trkpt lat="1" lon="2"><time>2023-06-01T10:00:00Z</time></trkpt>`, 100) + "</trkseg></trk></gpx>"
		r := NewReader(strings.NewReader(in), Options{Device: "d", Limits: ping.Limits{MaxBytes: 1000}})
		var err error
		n := 0
		for ; err == nil; n++ {
			_, err = r.Next()
		}
		if !errors.Is(err, ping.ErrInputTooLarge) || n > 16 {
			t.Fatalf("after %d points got %v, want ErrInputTooLarge", n, err)
		}
	})
	t.Run("ErrLongTime", func(t *testing.T) {
		in := `<gpx><trkpt lat="1" lon="2"><time>` + strings.Repeat("2", 10000) + `</time></trkpt></gpx>`
		_, err := NewReader(strings.NewReader(in), Options{Device: "d"}).Next()
		var re *ping.RowError
		if !errors.As(err, &re) || re.Field != "time" || len(re.Msg) > 200 {
			t.Fatalf("got %v, want a short row error in time", err)
		}
	})
}

func FuzzParse(f *testing.F) {
	pingtest.Seeds(f, "testdata/*.gpx")
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), Options{Device: "fuzz", Limits: ping.Limits{MaxBytes: 1 << 16}})
		pingtest.CheckAll(t, r, len(data))
	})
}

func BenchmarkReader(b *testing.B) {
	const n = 50_000
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0"?>` + "\n<gpx version=\"1.1\"><trk><trkseg>\n")
	for i := range n {
		fmt.Fprintf(&buf, "  <trkpt lat=\"%.6f\" lon=\"%.6f\"><ele>%d</ele><time>2023-06-%02dT%02d:%02d:%02dZ</time></trkpt>\n", 47.6+float64(i%1000)/1e5, -122.3+float64(i%777)/1e5, i%100, 1+i/86400%28, i/3600%24, i/60%60, i%60)
	}
	buf.WriteString("</trkseg></trk></gpx>\n")
	pingtest.Bench(b, buf.Bytes(), n, func(r io.Reader) pingtest.Reader { return NewReader(r, Options{Device: "bench"}) })
}
