package geojson

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

func optionsFor(name string) Options {
	if strings.HasPrefix(name, "unix") {
		return Options{TimeLayout: ping.UnixSeconds}
	}
	return Options{}
}

func TestReader_Golden(t *testing.T) {
	pingtest.Golden(t, "testdata/*.geojson", func(name string, r io.Reader) pingtest.Reader {
		return NewReader(r, optionsFor(name))
	})
}

func TestReader_Next(t *testing.T) {
	t.Run("OKCustomProperties", func(t *testing.T) {
		in := `{"features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"ts":1714554000123,"acc":3}}]}`
		r := NewReader(strings.NewReader(in), Options{Device: "given", TimeLayout: ping.UnixMillis,
			Properties: Properties{Time: "ts", Accuracy: "acc"}})
		p, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if got := p.String(); got != `line 1: device="given" time=2024-05-01T09:00:00.123Z lat=2 lon=1 accuracy=3` {
			t.Errorf("got %s", got)
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("got %v, want io.EOF", err)
		}
	})
	t.Run("ErrInputTooLarge", func(t *testing.T) {
		feat := `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"device":"d","time":"2024-05-01T09:00:00Z"}}`
		in := `{"type":"FeatureCollection","features":[` + strings.Repeat(feat+",", 1000) + feat + "]}"
		r := NewReader(strings.NewReader(in), Options{Limits: ping.Limits{MaxBytes: 10_000}})
		var err error
		n := 0
		for ; err == nil; n++ {
			_, err = r.Next()
		}
		if !errors.Is(err, ping.ErrInputTooLarge) || n > 100 {
			t.Fatalf("after %d features got %v, want ErrInputTooLarge", n, err)
		}
	})
}

func TestLineTracker(t *testing.T) {
	// Many features over many lines, read through a decoder with a small
	// buffer, must report each feature's own line.
	var buf bytes.Buffer
	buf.WriteString("{\"type\": \"FeatureCollection\",\n\"features\": [\n")
	const n = 2000
	for i := range n {
		if i > 0 {
			buf.WriteString(",\n\n")
		}
		fmt.Fprintf(&buf, `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"device":"d%d","time":"2024-05-01T09:00:00Z"}}`, i)
	}
	buf.WriteString("\n]}\n")
	r := NewReader(&buf, Options{})
	for i := range n {
		p, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if want := 3 + 2*i; p.Line != want {
			t.Fatalf("feature %d on line %d, want %d", i, p.Line, want)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("got %v, want io.EOF", err)
	}
}

func FuzzParse(f *testing.F) {
	pingtest.Seeds(f, "testdata/*.geojson")
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{Limits: ping.Limits{MaxBytes: 1 << 16}}
		if len(data) > 0 && data[0]%2 == 1 {
			opts.TimeLayout = ping.UnixSeconds
		}
		pingtest.CheckAll(t, NewReader(bytes.NewReader(data), opts), len(data))
	})
}

func BenchmarkReader(b *testing.B) {
	const n = 50_000
	var buf bytes.Buffer
	buf.WriteString("{\"type\":\"FeatureCollection\",\"features\":[\n")
	for i := range n {
		if i > 0 {
			buf.WriteString(",\n")
		}
		fmt.Fprintf(&buf, `{"type":"Feature","geometry":{"type":"Point","coordinates":[%.6f,%.6f]},"properties":{"device":"device-%d","time":"2024-05-01T%02d:%02d:%02dZ","accuracy":%d}}`,
			2.3+float64(i%777)/1e5, 48.8+float64(i%1000)/1e5, i%500, i/3600%24, i/60%60, i%60, i%50)
	}
	buf.WriteString("\n]}\n")
	pingtest.Bench(b, buf.Bytes(), n, func(r io.Reader) pingtest.Reader { return NewReader(r, Options{}) })
}
