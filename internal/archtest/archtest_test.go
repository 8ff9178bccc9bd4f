package archtest

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pkg is what the tests need of "go list -json".
type pkg struct {
	ImportPath string
	Dir        string
	Name       string
	GoFiles    []string
	Deps       []string
}

func list(t *testing.T, args ...string) []pkg {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-json"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestPackageDocs checks that every package says what it is for, once.
func TestPackageDocs(t *testing.T) {
	for _, p := range list(t, "github.com/probity-dev/probity/...") {
		var docs []string
		for _, f := range p.GoFiles {
			af, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, f), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if af.Doc != nil {
				docs = append(docs, f)
			}
		}
		if len(docs) != 1 {
			t.Errorf("package %s has %d package doc comments (%v); want exactly one", p.ImportPath, len(docs), docs)
		}
	}
}

// domain packages hold rules; HTTP and SQL are adapters at the edges.
var domain = []string{"auth", "fault", "identity", "ledger", "settings", "program", "privacy", "policy", "geo", "cases", "query", "connector", "places", "review", "alerts", "detect", "scan", "release", "basemap", "mapsvg"}

// TestDomainImports checks that domain packages reach neither net/http nor
// database/sql, even indirectly.
func TestDomainImports(t *testing.T) {
	var paths []string
	for _, d := range domain {
		paths = append(paths, "github.com/probity-dev/probity/internal/"+d)
	}
	for _, p := range list(t, append([]string{"-deps=false"}, paths...)...) {
		full := list(t, "-deps", p.ImportPath)
		for _, dep := range full {
			for _, banned := range []string{"net/http", "database/sql", "github.com/probity-dev/probity/internal/store"} {
				if dep.ImportPath == banned {
					t.Errorf("domain package %s depends on %s", p.ImportPath, banned)
				}
			}
		}
		if !slices.Contains(domain, p.Name) {
			t.Errorf("package %s is not named after its directory", p.ImportPath)
		}
	}
}
