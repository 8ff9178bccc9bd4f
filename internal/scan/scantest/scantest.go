// Package scantest holds the test harness shared by the scan-report
// importers: locating the shared corpus of real third-party reports,
// golden files of normalized reports regenerated with -update, and the
// checks a fuzz target applies to whatever an importer returns.
package scantest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/scan"
)

var update = flag.Bool("update", false, "rewrite the .golden files of scan importer tests")

// CorpusDir returns the directory of real third-party reports of one
// kind (such as "sarif"), shared/corpora/<kind> beside the repository's
// root, or skips the test when it is absent: those files are not ours and
// are never copied into the repository.
func CorpusDir(tb testing.TB, kind string) string {
	tb.Helper()
	dir, ok := corpusDir(kind)
	if !ok {
		tb.Skipf("the shared corpus of real %s reports is not available (it is expected at ../shared/corpora/%s beside the repository)", kind, kind)
	}
	return dir
}

func corpusDir(kind string) (string, bool) {
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	// Walk up to the repository's root (the directory holding go.mod);
	// the corpus lives beside it.
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			c := filepath.Join(filepath.Dir(dir), "shared", "corpora", kind)
			if fi, err := os.Stat(c); err == nil && fi.IsDir() {
				return c, true
			}
			return "", false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// CorpusFiles returns the files of one kind of the shared corpus, or
// skips the test when the corpus is absent. It fails when the directory
// is there but empty.
func CorpusFiles(tb testing.TB, kind string) []string {
	tb.Helper()
	dir := CorpusDir(tb, kind)
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		tb.Fatalf("no files in %s", dir)
	}
	return files
}

// MaxSeedBytes is the largest corpus file given to a fuzz target as it
// is; the fuzzing engine crawls on inputs of hundreds of kilobytes, so a
// larger file is given in a reduced form (see [Shrink]).
const MaxSeedBytes = 32 << 10

// AddCorpusSeeds adds every file of one kind of the shared corpus to a
// fuzz target's seed corpus, when the corpus is present: small files as
// they are, larger ones reduced to their shape by [Shrink].
func AddCorpusSeeds(f *testing.F, kind string) {
	f.Helper()
	dir, ok := corpusDir(kind)
	if !ok {
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > MaxSeedBytes {
			if data, err = Shrink(data); err != nil {
				f.Fatalf("%s: %v", e.Name(), err)
			}
		}
		f.Add(data)
	}
}

// Shrink returns a JSON document with the shape of data but at most
// three items in every array, at most eight members (the first in key
// order) in every object nested three or more levels deep, and strings
// cut to 200 bytes, so that a large real report can seed a fuzz target.
func Shrink(data []byte) ([]byte, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	var shrink func(v any, depth int) any
	shrink = func(v any, depth int) any {
		switch x := v.(type) {
		case map[string]any:
			keys := slices.Sorted(maps.Keys(x))
			for i, k := range keys {
				if depth >= 3 && i >= 8 {
					delete(x, k)
					continue
				}
				x[k] = shrink(x[k], depth+1)
			}
		case []any:
			if len(x) > 3 {
				x = x[:3]
			}
			for i, e := range x {
				x[i] = shrink(e, depth+1)
			}
			return x
		case string:
			if len(x) > 200 {
				return x[:200]
			}
		}
		return v
	}
	return json.Marshal(shrink(v, 1))
}

// Golden compares the JSON of rep with testdata/<name>.golden, or
// rewrites that file when the tests run with -update.
func Golden(t *testing.T, name string, rep scan.Report) {
	t.Helper()
	got, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the normalized report differs from %s (run go test -update to accept):\n%s", golden, firstDiff(string(want), string(got)))
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(want, got string) string {
	wl, gl := bytes.Split([]byte(want), []byte("\n")), bytes.Split([]byte(got), []byte("\n"))
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g []byte
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if !bytes.Equal(w, g) {
			return "line " + itoa(i+1) + ":\n  want: " + string(w) + "\n  got:  " + string(g)
		}
	}
	return "(no line differs)"
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// CheckOutcome is what a fuzz target asserts of one call to an importer:
// either a report that passes [scan.Report.Validate] and is of the
// expected format, or an error with a code a caller acts on (invalid or
// too large) and a message to show — never a half report.
func CheckOutcome(t *testing.T, want scan.Format, rep scan.Report, err error) {
	t.Helper()
	if err != nil {
		var fe *fault.Error
		if !errors.As(err, &fe) {
			t.Fatalf("error without a fault code: %v", err)
		}
		if fe.Code != fault.Invalid && fe.Code != fault.TooLarge {
			t.Fatalf("error with code %s, want invalid or too_large: %v", fe.Code, err)
		}
		if fe.Message == "" {
			t.Fatalf("error without a message to show: %v", err)
		}
		if rep.Format != "" || rep.Findings != nil || rep.Components != nil {
			t.Fatalf("a report came back with the error %v", err)
		}
		return
	}
	if rep.Format != want {
		t.Fatalf("format %q, want %q", rep.Format, want)
	}
	if err := rep.Validate(); err != nil {
		t.Fatalf("the report does not validate: %v", err)
	}
}
