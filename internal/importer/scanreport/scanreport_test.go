package scanreport

import (
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/scan"
	"github.com/probity-dev/probity/internal/scan/scantest"
)

// One small report of each format, written for these tests.
var docs = map[scan.Format]string{
	scan.SARIF: `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "lint"}},
		"results": [{"ruleId": "L1", "level": "error", "message": {"text": "Bad."}}]}]}`,
	scan.MobSF: `{"app_name": "Demo", "version_name": "1.0", "code_analysis": {"r1": {"files": {"a.java": "1"},
		"metadata": {"description": "Weak.", "severity": "high"}}}}`,
	scan.CycloneDX: `{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"type": "library", "name": "lib", "version": "1"}]}`,
	scan.SPDX: `{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "d",
		"packages": [{"SPDXID": "SPDXRef-A", "name": "lib", "downloadLocation": "NOASSERTION"}]}`,
}

func TestParse(t *testing.T) {
	for f, doc := range docs {
		t.Run(string(f), func(t *testing.T) {
			rep, err := Parse([]byte(doc), 0)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Format != f {
				t.Errorf("format %q", rep.Format)
			}
			if len(rep.Findings)+len(rep.Components) != 1 {
				t.Errorf("%d findings and %d components, want one of either", len(rep.Findings), len(rep.Components))
			}
		})
	}
	t.Run("ErrTooLargeBeforeDetection", func(t *testing.T) {
		_, err := Parse([]byte(strings.Repeat("x", 2000)), 1000)
		if !fault.Is(err, fault.TooLarge) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("ErrUnknownFormat", func(t *testing.T) {
		_, err := Parse([]byte(`{"data": []}`), 0)
		if !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), "not a SARIF log, MobSF report, CycloneDX SBOM or SPDX document") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("ErrSyntaxAfterDetection", func(t *testing.T) {
		// Detection reads only the top-level keys; the importer finds the
		// broken JSON and says where.
		_, err := Parse([]byte("{\"version\": \"2.1.0\",\n \"runs\": [}"), 0)
		if !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), "the SARIF report is not valid JSON at line 2, column 11") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("ErrFromImporter", func(t *testing.T) {
		_, err := Parse([]byte(strings.Replace(docs[scan.CycloneDX], `"1.5"`, `"1.9"`, 1)), 0)
		if !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), `specVersion "1.9"`) {
			t.Errorf("got %v", err)
		}
	})
}

func TestParseAs(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		rep, err := ParseAs(scan.SPDX, []byte(docs[scan.SPDX]), 0)
		if err != nil || rep.Format != scan.SPDX {
			t.Errorf("got %q, %v", rep.Format, err)
		}
	})
	t.Run("ErrMismatch", func(t *testing.T) {
		_, err := ParseAs(scan.SARIF, []byte(docs[scan.CycloneDX]), 0)
		if !fault.Is(err, fault.Invalid) || fault.MessageOf(err) != "the report was declared as SARIF but is a CycloneDX report" {
			t.Errorf("got %v", err)
		}
	})
	t.Run("ErrUndetectable", func(t *testing.T) {
		// Not recognisable: the declared format's importer says why.
		_, err := ParseAs(scan.MobSF, []byte(`{"app_name": "x"}`), 0)
		if !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), "not a MobSF static-analysis report") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("ErrUnknownFormat", func(t *testing.T) {
		_, err := ParseAs("xml", []byte(`{}`), 0)
		if !fault.Is(err, fault.Invalid) {
			t.Errorf("got %v", err)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, kind := range scan.Formats {
		scantest.AddCorpusSeeds(f, string(kind))
	}
	for _, doc := range docs {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Parse(data, 1<<20)
		if err != nil {
			if c := fault.CodeOf(err); c != fault.Invalid && c != fault.TooLarge {
				t.Fatalf("error with code %s: %v", c, err)
			}
			return
		}
		if err := rep.Validate(); err != nil {
			t.Fatalf("the report does not validate: %v", err)
		}
	})
}

// BenchmarkParse imports the 1,768-result Semgrep log through format
// detection, as an upload is imported (target: 200 ms).
func BenchmarkParse(b *testing.B) {
	benchmarkCorpusFile(b, "sarif", "semgrep_0.17.0_owasp-benchmark.sarif", 1768)
}
