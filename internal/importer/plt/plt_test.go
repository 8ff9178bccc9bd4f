package plt

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/importer/ping"
	"github.com/probity-dev/probity/internal/importer/pingtest"
)

func TestReader_Golden(t *testing.T) {
	pingtest.Golden(t, "testdata/*.plt", func(name string, r io.Reader) pingtest.Reader {
		return NewReader(r, Options{Device: strings.TrimSuffix(name, ".plt")})
	})
}

const header = "Geolife trajectory\nWGS 84\nAltitude is in Feet\nReserved 3\n0,2,255,My Track,0,0,2,8421376\n0\n"

func TestReader_Next(t *testing.T) {
	t.Run("ErrNoDevice", func(t *testing.T) {
		_, err := NewReader(strings.NewReader(header), Options{}).Next()
		if err == nil || err == io.EOF || ping.IsRowError(err) {
			t.Fatalf("got %v, want a final error", err)
		}
	})
	t.Run("ErrLineTooLong", func(t *testing.T) {
		in := header + "39.9,116.3,0,1,1," + strings.Repeat("9", 300) + ",00:00:00\n"
		_, err := NewReader(strings.NewReader(in), Options{Device: "d", Limits: ping.Limits{MaxLineBytes: 128}}).Next()
		if !errors.Is(err, ping.ErrLineTooLong) || !strings.Contains(err.Error(), "line 7") {
			t.Fatalf("got %v, want ErrLineTooLong at line 7", err)
		}
	})
	t.Run("ErrInputTooLarge", func(t *testing.T) {
		in := header + strings.Repeat("39.9,116.3,0,1,1,2008-10-23,02:53:04\n", 100)
		r := NewReader(strings.NewReader(in), Options{Device: "d", Limits: ping.Limits{MaxBytes: 1000}})
		var err error
		for err == nil {
			_, err = r.Next()
		}
		if !errors.Is(err, ping.ErrInputTooLarge) {
			t.Fatalf("got %v, want ErrInputTooLarge", err)
		}
	})
}

// geolifeDir holds real GeoLife data shared between projects; it is never
// copied into this repository.
const geolifeDir = "../../../../shared/data/trajectories/geolife-trackintel/geolife_long_10_MB"

// TestReader_GeoLife parses every real GeoLife file and checks the number of
// fixes against a count made without the parser, and that every fix lies in
// a band around northern China where these people lived.
func TestReader_GeoLife(t *testing.T) {
	if _, err := os.Stat(geolifeDir); err != nil {
		t.Skipf("real GeoLife data not available (%v); it is expected at %s", err, geolifeDir)
	}
	files, err := filepath.Glob(filepath.Join(geolifeDir, "*", "Trajectory", "*.plt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no .plt files under %s", geolifeDir)
	}
	var parsed, counted int
	devices := map[string]int{}
	for _, file := range files {
		counted += countFixLines(t, file)
		person := filepath.Base(filepath.Dir(filepath.Dir(file)))
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		r := NewReader(f, Options{Device: person})
		for {
			p, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if p.Lat < 35 || p.Lat > 50 || p.Lon < 110 || p.Lon > 135 {
				t.Errorf("%s line %d: %v outside the band lat 35..50, lon 110..135", file, p.Line, p)
			}
			if y := p.Time.Year(); y < 2007 || y > 2012 {
				t.Errorf("%s line %d: year %d, want 2007..2012", file, p.Line, y)
			}
			parsed++
			devices[person]++
		}
		f.Close()
	}
	if parsed != counted {
		t.Errorf("parsed %d fixes, counted %d fix lines", parsed, counted)
	}
	t.Logf("%d files, %d devices, %d fixes", len(files), len(devices), parsed)
}

// countFixLines counts the non-blank lines after the six header lines,
// independently of the parser.
func countFixLines(t *testing.T, file string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for i := 1; sc.Scan(); i++ {
		if i > 6 && strings.TrimSpace(sc.Text()) != "" {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

func FuzzParse(f *testing.F) {
	pingtest.Seeds(f, "testdata/*.plt")
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), Options{Device: "fuzz", Limits: ping.Limits{MaxBytes: 1 << 16, MaxLineBytes: 1 << 10}})
		pingtest.CheckAll(t, r, len(data))
	})
}

func BenchmarkReader(b *testing.B) {
	const n = 100_000
	var buf bytes.Buffer
	buf.WriteString(header)
	for i := range n {
		fmt.Fprintf(&buf, "%.6f,%.6f,0,%d,39744.1201851852,2008-10-%02d,%02d:%02d:%02d\n", 39.9+float64(i%1000)/1e5, 116.3+float64(i%777)/1e5, 400+i%100, 1+i/86400%28, i/3600%24, i/60%60, i%60)
	}
	pingtest.Bench(b, buf.Bytes(), n, func(r io.Reader) pingtest.Reader { return NewReader(r, Options{Device: "bench"}) })
}
