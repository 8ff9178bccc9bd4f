// Package pingtest holds the test harness shared by the ping importers:
// golden-file transcripts regenerated with -update, the fuzz-target checks
// and a benchmark helper that reports pings per second.
package pingtest

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/importer/ping"
)

var update = flag.Bool("update", false, "rewrite the .golden files of importer tests")

// Reader is what every importer's reader offers.
type Reader interface {
	Next() (ping.Ping, error)
}

// Transcript reads r to the end and returns one line per ping, per row
// error, and a last line for io.EOF or the final error. Row errors are
// skipped over, as an import that continues on bad rows would.
func Transcript(r Reader) string {
	var b strings.Builder
	for {
		p, err := r.Next()
		switch {
		case err == nil:
			b.WriteString(p.String())
		case errors.Is(err, io.EOF):
			b.WriteString("EOF\n")
			return b.String()
		case ping.IsRowError(err):
			b.WriteString("row error: " + err.Error())
		default:
			b.WriteString("final error: " + err.Error() + "\n")
			return b.String()
		}
		b.WriteByte('\n')
	}
}

// Golden runs every testdata file matching pattern (such as
// "testdata/*.csv") through open and compares the transcript with the file
// of the same name ending in .golden. With -update it rewrites the golden
// files instead.
func Golden(t *testing.T, pattern string, open func(name string, r io.Reader) Reader) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no test inputs match %s", pattern)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := Transcript(open(filepath.Base(file), bytes.NewReader(in)))
			golden := strings.TrimSuffix(file, filepath.Ext(file)) + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("transcript differs from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// Seeds adds every file matching pattern to f's corpus.
func Seeds(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		in, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(in)
	}
}

// CheckAll reads r to the end, as a fuzz target does, and fails t when a
// returned ping does not validate, a row error lacks a line number, or the
// reader keeps returning results long after inputLen bytes could explain
// them (a reader stuck in a loop).
func CheckAll(t *testing.T, r Reader, inputLen int) {
	t.Helper()
	limit := inputLen + 10
	for i := 0; ; i++ {
		if i > limit {
			t.Fatalf("more than %d results from %d bytes of input", limit, inputLen)
		}
		p, err := r.Next()
		if err == nil {
			if verr := p.Validate(); verr != nil {
				t.Fatalf("reader returned an invalid ping %v: %v", p, verr)
			}
			continue
		}
		var re *ping.RowError
		if errors.As(err, &re) {
			if re.Line < 1 {
				t.Fatalf("row error without a line number: %v", err)
			}
			continue
		}
		// io.EOF or a final error: it must stay final.
		if _, err2 := r.Next(); err2 == nil || ping.IsRowError(err2) {
			t.Fatalf("after final error %v, Next returned %v", err, err2)
		}
		return
	}
}

// Bench measures reading data with open, and reports pings per second.
// want is the number of pings data must yield.
func Bench(b *testing.B, data []byte, want int, open func(r io.Reader) Reader) {
	b.Helper()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := open(bytes.NewReader(data))
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != want {
			b.Fatalf("read %d pings, want %d", n, want)
		}
	}
	b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "pings/s")
}
