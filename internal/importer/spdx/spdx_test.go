package spdx

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

var appDigest = strings.Repeat("7c", 32)

// A document written for these tests: an app package it describes, two
// libraries, and advisories referred to the way SPDX 2.3 can.
var doc23 = `{
  "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT", "name": "demo",
  "documentNamespace": "https://example.org/spdx/demo-1.4.0",
  "creationInfo": {"created": "2024-05-01T09:00:00Z", "creators": ["Organization: Example", "Tool: sbom-maker-3.2.1"]},
  "documentDescribes": ["SPDXRef-App"],
  "packages": [
    {"SPDXID": "SPDXRef-Lib", "name": "okhttp", "versionInfo": "4.9.0", "downloadLocation": "NOASSERTION",
     "licenseConcluded": "NOASSERTION", "licenseDeclared": "Apache-2.0",
     "externalRefs": [
       {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:maven/com.squareup.okhttp3/okhttp@4.9.0"},
       {"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:a:squareup:okhttp:4.9.0:*:*:*:*:*:*:*"},
       {"referenceCategory": "SECURITY", "referenceType": "advisory", "referenceLocator": "https://nvd.nist.gov/vuln/detail/cve-2021-0341", "comment": "Hostname verification."},
       {"referenceCategory": "SECURITY", "referenceType": "fix", "referenceLocator": "https://github.com/square/okhttp/commit/1"}
     ]},
    {"SPDXID": "SPDXRef-Other", "name": "gson", "versionInfo": "2.8.6", "downloadLocation": "NOASSERTION", "licenseConcluded": "Apache-2.0",
     "externalRefs": [
       {"referenceCategory": "SECURITY", "referenceType": "advisory", "referenceLocator": "https://github.com/advisories/GHSA-4JRV-PPP4-JM57"},
       {"referenceCategory": "SECURITY", "referenceType": "advisory", "referenceLocator": "https://example.org/bulletins/2024-07"}
     ]},
    {"SPDXID": "SPDXRef-App", "name": "DemoApp", "versionInfo": "1.4.0", "downloadLocation": "NOASSERTION",
     "checksums": [{"algorithm": "SHA1", "checksumValue": "aa"}, {"algorithm": "SHA256", "checksumValue": "` + strings.ToUpper(appDigest) + `"}]}
  ],
  "relationships": [{"spdxElementId": "SPDXRef-App", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-Lib"}]
}`

func TestParse(t *testing.T) {
	rep, err := Parse([]byte(doc23), 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Tool != "sbom-maker" || rep.ToolVersion != "3.2.1" || !rep.Created.Equal(time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("tool %q %q, created %v", rep.Tool, rep.ToolVersion, rep.Created)
	}
	if rep.SubjectName != "DemoApp" || rep.SubjectVersion != "1.4.0" || rep.SubjectSHA256 != appDigest {
		t.Errorf("subject %q %q %q", rep.SubjectName, rep.SubjectVersion, rep.SubjectSHA256)
	}
	wantC := []scan.Component{
		{Name: "okhttp", Version: "4.9.0", PURL: "pkg:maven/com.squareup.okhttp3/okhttp@4.9.0", License: "Apache-2.0"},
		{Name: "gson", Version: "2.8.6", License: "Apache-2.0"},
		{Name: "DemoApp", Version: "1.4.0"},
	}
	if len(rep.Components) != len(wantC) {
		t.Fatalf("components %+v", rep.Components)
	}
	for i := range wantC {
		if rep.Components[i] != wantC[i] {
			t.Errorf("component %d: %+v, want %+v", i, rep.Components[i], wantC[i])
		}
	}
	type want struct{ rule, title, location, cve string }
	wants := []want{
		{"CVE-2021-0341", "CVE-2021-0341 in okhttp@4.9.0", "pkg:maven/com.squareup.okhttp3/okhttp@4.9.0", "CVE-2021-0341"},
		{"GHSA-4jrv-ppp4-jm57", "GHSA-4jrv-ppp4-jm57 in gson@2.8.6", "gson@2.8.6", ""},
		{"https://example.org/bulletins/2024-07", "https://example.org/bulletins/2024-07 in gson@2.8.6", "gson@2.8.6", ""},
	}
	if len(rep.Findings) != len(wants) {
		t.Fatalf("%d findings, want %d (only advisory references are findings)", len(rep.Findings), len(wants))
	}
	for i, w := range wants {
		f := rep.Findings[i]
		if f.RuleID != w.rule || f.Title != w.title || f.Location != w.location || strings.Join(f.CVE, ",") != w.cve {
			t.Errorf("finding %d: %+v, want %+v", i, f, w)
		}
		if f.Severity != scan.High || f.SeverityBasis != "SPDX 2.3 advisory reference, which carries no severity: assumed high" {
			t.Errorf("finding %d: %s (%s)", i, f.Severity, f.SeverityBasis)
		}
	}
	if !strings.Contains(rep.Findings[0].Description, "Hostname verification.") {
		t.Errorf("description %q", rep.Findings[0].Description)
	}
}

func TestParse_Fingerprint(t *testing.T) {
	first, err := Parse([]byte(doc23), 0)
	if err != nil {
		t.Fatal(err)
	}
	again := strings.NewReplacer(`"2024-05-01T09:00:00Z"`, `"2024-06-01T09:00:00Z"`, "demo-1.4.0", "demo-1.4.0-rebuilt").Replace(doc23)
	second, err := Parse([]byte(again), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range first.Findings {
		if first.Findings[i].Fingerprint != second.Findings[i].Fingerprint {
			t.Errorf("finding %d: fingerprint changed with the document's time and namespace", i)
		}
	}
	upgraded, err := Parse([]byte(strings.ReplaceAll(doc23, "4.9.0", "4.9.1")), 0)
	if err != nil {
		t.Fatal(err)
	}
	if upgraded.Findings[0].Fingerprint == first.Findings[0].Fingerprint {
		t.Error("the advisory on another version of the package kept its fingerprint")
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
		{"ErrTooLarge", doc23, 1024, fault.TooLarge, "more than the limit of 1024 bytes"},
		{"ErrVersion22", strings.Replace(doc23, "SPDX-2.3", "SPDX-2.2", 1), 0, fault.Invalid, `the SPDX document is "SPDX-2.2"; Probity reads SPDX-2.3`},
		{"ErrVersion30", `{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "spdxVersion": "SPDX-3.0", "packages": {"x": 1}}`, 0, fault.Invalid, `the SPDX document is "SPDX-3.0"`},
		{"ErrNoVersion", `{"SPDXID": "SPDXRef-DOCUMENT", "packages": []}`, 0, fault.Invalid, "has no spdxVersion"},
		{"ErrNamelessPackage", `{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "packages": [{"SPDXID": "SPDXRef-A", "versionInfo": "1"}]}`, 0, fault.Invalid, "component 1 of the SPDX report has no name"},
		{"ErrWrongType", "{\"spdxVersion\": \"SPDX-2.3\", \"SPDXID\": \"SPDXRef-DOCUMENT\",\n \"packages\": [{\"name\": 5}]}", 0, fault.Invalid, "a JSON number where packages.name expects a string"},
		{"ErrTruncated", doc23[:400], 0, fault.Invalid, "ends early at line"},
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

// TestParse_Golden keeps the normalized form of the SPDX 2.3 example.
func TestParse_Golden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(scantest.CorpusDir(t, "spdx"), "SPDXJSONExample-v2.3.spdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Parse(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	scantest.Golden(t, "SPDXJSONExample-v2.3", rep)
}

func FuzzParse(f *testing.F) {
	scantest.AddCorpusSeeds(f, "spdx")
	f.Add([]byte(doc23))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Parse(data, 1<<20)
		scantest.CheckOutcome(t, scan.SPDX, rep, err)
	})
}
