package cyclonedx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/scan"
	"github.com/probity-dev/probity/internal/scan/scantest"
)

var appDigest = strings.Repeat("5a", 32)

// BOMs written for these tests: 1.4 with tools as an array and nested
// components, 1.6 with tools as an object and rated vulnerabilities.
var (
	bom14 = `{
  "bomFormat": "CycloneDX", "specVersion": "1.4", "version": 1,
  "metadata": {
    "timestamp": "2024-05-01T09:00:00Z",
    "tools": [{"vendor": "Acme", "name": "acme-sbom", "version": "0.9"}, {"name": "second-tool", "version": "2"}],
    "component": {"type": "application", "name": "DemoApp", "version": "1.4.0",
      "hashes": [{"alg": "SHA-1", "content": "aa"}, {"alg": "SHA-256", "content": "` + strings.ToUpper(appDigest) + `"}]}
  },
  "components": [
    {"type": "library", "bom-ref": "okhttp", "name": "okhttp", "version": "4.9.0", "purl": "pkg:maven/com.squareup.okhttp3/okhttp@4.9.0",
     "licenses": [{"license": {"id": "Apache-2.0"}}],
     "components": [
       {"type": "library", "bom-ref": "okio", "name": "okio", "version": "2.8.0", "licenses": [{"expression": "Apache-2.0 OR MIT"}],
        "components": [{"type": "library", "name": "okio-jvm", "licenses": [{"license": {"name": "Custom"}}]}]}
     ]},
    {"type": "library", "name": "gson", "version": "2.8.6"}
  ]
}`
	bom16 = `{
  "bomFormat": "CycloneDX", "specVersion": "1.6", "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", "version": 1,
  "metadata": {"tools": {"components": [{"type": "application", "name": "scanner", "version": "5.1"}], "services": [{"name": "feed"}]}},
  "components": [
    {"type": "library", "bom-ref": "c1", "name": "jquery", "version": "3.3.1", "purl": "pkg:npm/jquery@3.3.1"},
    {"type": "library", "bom-ref": "c2", "name": "lodash", "version": "4.17.15"}
  ],
  "vulnerabilities": [
    {"id": "CVE-2019-11358", "cwes": [79, 1321],
     "ratings": [{"source": {"name": "vendor"}, "severity": "critical"},
                 {"source": {"name": "nvd"}, "score": 4.3, "method": "CVSSv2"},
                 {"source": {"name": "nvd"}, "score": 6.1, "method": "CVSSv31", "severity": "medium"}],
     "description": "Prototype pollution.", "recommendation": "Upgrade to 3.4.0.",
     "affects": [{"ref": "c1"}, {"ref": "c2"}]},
    {"id": "GHSA-aaaa-bbbb-cccc", "references": [{"id": "CVE-2020-8203", "source": {"name": "nvd"}}],
     "ratings": [{"severity": "low", "source": {"name": "a"}}, {"severity": "high", "source": {"name": "b"}}],
     "affects": [{"ref": "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#c2"}]},
    {"id": "INTERNAL-1", "affects": [{"ref": "not-in-this-bom"}]},
    {"id": "INTERNAL-2", "ratings": [{"severity": "unknown", "source": {"name": "feed"}}]},
    {"id": "INTERNAL-3", "ratings": [{"severity": "high"}], "analysis": {"state": "not_affected", "justification": "code_not_reachable"},
     "affects": [{"ref": "c1"}]}
  ]
}`
)

func TestParse(t *testing.T) {
	t.Run("ToolsArrayAndNestedComponents", func(t *testing.T) {
		rep, err := Parse([]byte(bom14), 0)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Tool != "acme-sbom, second-tool" || rep.ToolVersion != "0.9" {
			t.Errorf("tool %q %q", rep.Tool, rep.ToolVersion)
		}
		if rep.SubjectName != "DemoApp" || rep.SubjectVersion != "1.4.0" || rep.SubjectSHA256 != appDigest {
			t.Errorf("subject %q %q %q", rep.SubjectName, rep.SubjectVersion, rep.SubjectSHA256)
		}
		if !rep.Created.Equal(time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)) {
			t.Errorf("created %v", rep.Created)
		}
		want := []scan.Component{
			{Name: "okhttp", Version: "4.9.0", PURL: "pkg:maven/com.squareup.okhttp3/okhttp@4.9.0", License: "Apache-2.0"},
			{Name: "okio", Version: "2.8.0", License: "Apache-2.0 OR MIT"},
			{Name: "okio-jvm", License: "Custom"},
			{Name: "gson", Version: "2.8.6"},
		}
		if len(rep.Components) != len(want) {
			t.Fatalf("components %+v", rep.Components)
		}
		for i := range want {
			if rep.Components[i] != want[i] {
				t.Errorf("component %d: %+v, want %+v", i, rep.Components[i], want[i])
			}
		}
		if len(rep.Findings) != 0 || rep.Findings == nil {
			t.Errorf("findings %v, want an empty list", rep.Findings)
		}
	})
	t.Run("ToolsObjectAndVulnerabilities", func(t *testing.T) {
		rep, err := Parse([]byte(bom16), 0)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Tool != "scanner, feed" || rep.ToolVersion != "5.1" {
			t.Errorf("tool %q %q", rep.Tool, rep.ToolVersion)
		}
		type want struct {
			rule, title, location string
			severity              scan.Severity
			basis                 string
			suppressed            bool
		}
		wants := []want{
			{"CVE-2019-11358", "CVE-2019-11358 in jquery@3.3.1", "pkg:npm/jquery@3.3.1", scan.Medium, "CVSSv31 6.1 (nvd)", false},
			{"CVE-2019-11358", "CVE-2019-11358 in lodash@4.17.15", "lodash@4.17.15", scan.Medium, "CVSSv31 6.1 (nvd)", false},
			{"GHSA-aaaa-bbbb-cccc", "GHSA-aaaa-bbbb-cccc in lodash@4.17.15", "lodash@4.17.15", scan.High, "rating high (b)", false},
			{"INTERNAL-1", "INTERNAL-1 in not-in-this-bom", "not-in-this-bom", scan.High, "no rating: assumed high", false},
			{"INTERNAL-2", "INTERNAL-2", "", scan.High, `rating "unknown" (feed): assumed high`, false},
			{"INTERNAL-3", "INTERNAL-3 in jquery@3.3.1", "pkg:npm/jquery@3.3.1", scan.High, "rating high", true},
		}
		if len(rep.Findings) != len(wants) {
			t.Fatalf("%d findings, want %d", len(rep.Findings), len(wants))
		}
		for i, w := range wants {
			f := rep.Findings[i]
			if f.RuleID != w.rule || f.Title != w.title || f.Location != w.location || f.Severity != w.severity || f.SeverityBasis != w.basis || f.Suppressed != w.suppressed {
				t.Errorf("finding %d: %+v\nwant %+v", i, f, w)
			}
		}
		if f := rep.Findings[0]; strings.Join(f.CWE, ",") != "CWE-79,CWE-1321" || strings.Join(f.CVE, ",") != "CVE-2019-11358" ||
			f.Description != "Prototype pollution.\n\nUpgrade to 3.4.0." {
			t.Errorf("CWE %v, CVE %v, description %q", f.CWE, f.CVE, f.Description)
		}
		if f := rep.Findings[2]; strings.Join(f.CVE, ",") != "CVE-2020-8203" {
			t.Errorf("CVE from references: %v", f.CVE)
		}
	})
}

// TestParse_Fingerprint: bom-refs (random UUIDs in some tools) change
// from one export to the next; fingerprints do not.
func TestParse_Fingerprint(t *testing.T) {
	first, err := Parse([]byte(bom16), 0)
	if err != nil {
		t.Fatal(err)
	}
	reexport := strings.NewReplacer(`"c1"`, `"7f1c0d2e-0001"`, `"c2"`, `"7f1c0d2e-0002"`, `#c2"`, `#7f1c0d2e-0002"`,
		`"version": 1`, `"version": 2`).Replace(bom16)
	second, err := Parse([]byte(reexport), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range first.Findings {
		if first.Findings[i].Fingerprint != second.Findings[i].Fingerprint {
			t.Errorf("finding %d (%s): fingerprint changed with the bom-refs", i, first.Findings[i].RuleID)
		}
	}
	if first.Findings[0].Fingerprint == first.Findings[1].Fingerprint {
		t.Error("one vulnerability in two components: one fingerprint")
	}
}

func TestParse_Errors(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		limit int64
		code  fault.Code
		msg   string
	}{
		{"ErrTooLarge", bom16, 500, fault.TooLarge, "more than the limit of 500 bytes"},
		{"ErrSpec11", strings.Replace(bom14, `"1.4"`, `"1.1"`, 1), 0, fault.Invalid, `the CycloneDX SBOM is specVersion "1.1"; Probity reads 1.2 to 1.7`},
		{"ErrSpec20", strings.Replace(bom14, `"1.4"`, `"2.0"`, 1), 0, fault.Invalid, `the CycloneDX SBOM is specVersion "2.0"; Probity reads 1.2 to 1.7`},
		{"ErrNoSpec", `{"bomFormat": "CycloneDX", "components": []}`, 0, fault.Invalid, "has no specVersion"},
		{"ErrBOMFormat", `{"bomFormat": "SPDX", "specVersion": "1.5"}`, 0, fault.Invalid, `bomFormat is "SPDX", not "CycloneDX"`},
		{"ErrNamelessComponent", `{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"type": "library", "name": "a"}, {"type": "library", "version": "1"}]}`, 0, fault.Invalid, "component 2 of the CycloneDX report has no name"},
		{"ErrWrongType", "{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.5\",\n  \"components\": {\"name\": \"a\"}}", 0, fault.Invalid, "a JSON object where components expects an array, at line 2"},
		{"ErrTruncated", bom16[:300], 0, fault.Invalid, "ends early at line"},
		{"ErrDeep", `{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": ` + strings.Repeat(`[{"name": "a", "components": `, 70) + `[]` + strings.Repeat(`}]`, 70) + `}`, 0, fault.Invalid, "more than 128 deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Parse([]byte(tt.doc), tt.limit)
			if !fault.Is(err, tt.code) || !strings.Contains(fault.MessageOf(err), tt.msg) {
				t.Fatalf("got %v; want %s saying %q", err, tt.code, tt.msg)
			}
			if rep.Format != "" || rep.Findings != nil || rep.Components != nil {
				t.Error("a report came back with the error")
			}
		})
	}
}

// TestParse_Golden keeps the normalized form of Trivy's real 1.7 SBOM.
func TestParse_Golden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(scantest.CorpusDir(t, "cyclonedx"), "trivy_npm.cdx1.7.json"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Parse(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	scantest.Golden(t, "trivy_npm.cdx1.7", rep)
}

func FuzzParse(f *testing.F) {
	scantest.AddCorpusSeeds(f, "cyclonedx")
	f.Add([]byte(bom14))
	f.Add([]byte(bom16))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Parse(data, 1<<20)
		scantest.CheckOutcome(t, scan.CycloneDX, rep, err)
	})
}
