package app

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/importer/csvfile"
	"github.com/probity-dev/probity/internal/store"
)

func TestParseCSVColumns(t *testing.T) {
	for _, c := range []struct {
		name, spec string
		want       csvfile.Columns
		err        string
	}{
		{name: "OK", spec: "device=id,time=timestamp,lat=latitude,lon=longitude,accuracy=acc",
			want: csvfile.Columns{Device: "id", Time: "timestamp", Lat: "latitude", Lon: "longitude", Accuracy: "acc"}},
		{name: "OKSome", spec: " Time = Event Time , lat=y", want: csvfile.Columns{Time: "Event Time", Lat: "y"}},
		{name: "ErrNoEquals", spec: "time", err: `"time" is not FIELD=HEADER`},
		{name: "ErrEmptyHeader", spec: "time=", err: `"time=" is not FIELD=HEADER`},
		{name: "ErrEmptyPair", spec: "time=t,,lat=y", err: `"" is not FIELD=HEADER`},
		{name: "ErrUnknownField", spec: "altitude=alt", err: `unknown field "altitude"`},
		{name: "ErrTwice", spec: "lat=a,LAT=b", err: "field lat is given twice"},
		{name: "ErrQuote", spec: `lat=a"b`, err: "not a plain column name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseCSVColumns(c.spec)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("parseCSVColumns(%q) = %+v, %v; want an error containing %q", c.spec, got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("parseCSVColumns(%q) = %+v, %v; want %+v", c.spec, got, err, c.want)
			}
		})
	}
}

func FuzzParseCSVColumns(f *testing.F) {
	for _, s := range []string{"device=id,time=ts,lat=y,lon=x,accuracy=a", "time", "lat=a,lat=b", " lon = x ", "=", ",", "accuracy=\"", "time=é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		c, err := parseCSVColumns(spec)
		if err != nil {
			return
		}
		// Every header set is a trimmed, non-empty part of the spec, and
		// writing the columns back parses to the same.
		var parts []string
		for _, kv := range [][2]string{{"device", c.Device}, {"time", c.Time}, {"lat", c.Lat}, {"lon", c.Lon}, {"accuracy", c.Accuracy}} {
			if kv[1] == "" {
				continue
			}
			if kv[1] != strings.TrimSpace(kv[1]) || !strings.Contains(spec, kv[1]) {
				t.Fatalf("header %q of %s is not a trimmed part of %q", kv[1], kv[0], spec)
			}
			parts = append(parts, kv[0]+"="+kv[1])
		}
		if len(parts) == 0 {
			t.Fatalf("%q parsed to no column", spec)
		}
		again, err := parseCSVColumns(strings.Join(parts, ","))
		if err != nil || again != c {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", spec, again, err, c)
		}
	})
}

func TestImportProgress(t *testing.T) {
	var b bytes.Buffer
	past := time.Now().Add(-2 * time.Second)
	p := &importProgress{w: &b, start: past, last: past}
	p.report(store.ImportStats{Read: 1_234_567, Inserted: 1_200_000, Duplicates: 4_000})
	if got := b.String(); !strings.HasPrefix(got, "imported 1,204,000 of 1,234,567 rows read (") || !strings.HasSuffix(got, "/s)…\n") {
		t.Errorf("progress line %q", got)
	}
	b.Reset()
	p.report(store.ImportStats{Read: 1_300_000}) // within the second: nothing
	if b.Len() != 0 {
		t.Errorf("a second report within a second printed %q", b.String())
	}
	p.done()
	if !strings.HasPrefix(b.String(), "done in ") {
		t.Errorf("done printed %q", b.String())
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567", 10_000_000: "10,000,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPLTDevice(t *testing.T) {
	for path, want := range map[string]string{
		filepath.FromSlash("data/010/Trajectory/20080330004134.plt"): "010",
		filepath.FromSlash("data/010/trajectory/x.plt"):              "010",
		filepath.FromSlash("tracks/walk.plt"):                        "walk",
		"walk.PLT":                                                   "walk",
	} {
		if got := pltDevice(path); got != want {
			t.Errorf("pltDevice(%q) = %q, want %q", path, got, want)
		}
	}
}
