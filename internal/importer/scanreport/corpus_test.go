package scanreport

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/scan"
	"github.com/probity-dev/probity/internal/scan/scantest"
)

// TestParse_Corpus imports every real SARIF, MobSF, CycloneDX and SPDX
// report of the shared corpus and checks the number of findings and
// components against a count made here by walking each file's JSON
// generically, without the importers' code. It skips when the corpus is
// absent.
func TestParse_Corpus(t *testing.T) {
	counters := map[scan.Format]func(doc map[string]any) (findings, components int){
		scan.SARIF:     countSARIF,
		scan.MobSF:     countMobSF,
		scan.CycloneDX: countCycloneDX,
		scan.SPDX:      countSPDX,
	}
	for _, f := range scan.Formats {
		t.Run(string(f), func(t *testing.T) {
			for _, file := range scantest.CorpusFiles(t, string(f)) {
				t.Run(filepath.Base(file), func(t *testing.T) {
					data, err := os.ReadFile(file)
					if err != nil {
						t.Fatal(err)
					}
					detected, err := scan.Detect(data)
					if err != nil || detected != f {
						t.Fatalf("Detect = %q, %v; want %q", detected, err, f)
					}
					rep, err := Parse(data, 0)
					if err != nil {
						t.Fatalf("Parse: %v", err)
					}
					if rep.Format != f {
						t.Fatalf("format %q, want %q", rep.Format, f)
					}
					var doc map[string]any
					if err := json.Unmarshal(data, &doc); err != nil {
						t.Fatal(err)
					}
					wantF, wantC := counters[f](doc)
					if len(rep.Findings) != wantF {
						t.Errorf("%d findings, counted %d", len(rep.Findings), wantF)
					}
					if len(rep.Components) != wantC {
						t.Errorf("%d components, counted %d", len(rep.Components), wantC)
					}
					// A re-import of the same file gives the same fingerprints.
					again, err := Parse(data, 0)
					if err != nil {
						t.Fatal(err)
					}
					for i := range rep.Findings {
						if rep.Findings[i].Fingerprint != again.Findings[i].Fingerprint {
							t.Fatalf("finding %d: fingerprint changed between two imports of the same file", i)
						}
					}
				})
			}
		})
	}
}

// TestParse_CorpusKnownEntries checks the crosswalk of
// docs/scan-severity.md on findings whose rating is known from the files:
// a count alone would not notice a severity mapped wrongly.
func TestParse_CorpusKnownEntries(t *testing.T) {
	type want struct {
		ruleID, location string // location is matched as a prefix
		severity         scan.Severity
		basis            string
	}
	tests := []struct {
		file     string
		findings int // 0: not checked here
		want     []want
		check    func(t *testing.T, rep scan.Report)
	}{
		{file: "sarif/trivy_alpine-310.sarif", findings: 4, want: []want{
			{"CVE-2019-1549", "testdata/fixtures/images/alpine-310.tar.gz:1", scan.Medium, "security-severity 5.3 (rule)"},
			{"CVE-2019-1551", "testdata/fixtures/images/alpine-310.tar.gz:1", scan.Medium, "security-severity 5.3 (rule)"},
		}, check: func(t *testing.T, rep scan.Report) {
			// The same CVE in libcrypto and libssl, at the same place: two
			// findings, told apart by their messages.
			seen := map[string]bool{}
			for _, f := range rep.Findings {
				if seen[f.Fingerprint] {
					t.Errorf("fingerprint %s twice", f.Fingerprint)
				}
				seen[f.Fingerprint] = true
				if len(f.CVE) != 1 || f.CVE[0] != f.RuleID {
					t.Errorf("%s: CVE %v", f.RuleID, f.CVE)
				}
			}
		}},
		{file: "sarif/gosec_v2.26.1_generated.sarif", findings: 13, want: []want{
			{"G402", "main.go:29", scan.High, `tag "HIGH" (rule)`},
			{"G104", "main.go:31", scan.Low, `tag "LOW" (rule)`},
			{"G401", "main.go:21", scan.Medium, `tag "MEDIUM" (rule)`},
		}},
		{file: "sarif/codeql_2.5.4.sarif", findings: 72, want: []want{
			{"py/path-injection", "bad/libapi.py:22", scan.High, "level error (rule default)"},
			{"py/empty-except", "good/db_init.py:39", scan.Low, "level note (rule default)"},
		}},
		{file: "sarif/semgrep_0.17.0_owasp-benchmark.sarif", findings: 1768},
		{file: "sarif/mobsfscan_0.0.8.sarif", findings: 9, want: []want{
			{"android_hidden_ui", "app/src/main/java/jakhar/aseem/diva/AccessControl3NotesActivity.java:72", scan.High, "level error (result)"},
			{"sqlite_injection", "", scan.Medium, "level warning (SARIF default: none given)"},
		}},
		{file: "sarif/fixture_suppression_test.sarif", findings: 5, check: func(t *testing.T, rep scan.Report) {
			for _, f := range rep.Findings {
				want := f.RuleID <= "TST0003" // suppressed externally or in source; TST0004 and TST0005 are not
				if f.Suppressed != want {
					t.Errorf("%s: suppressed %v, want %v", f.RuleID, f.Suppressed, want)
				}
			}
		}},
		{file: "mobsf/mobsf_android.json", findings: 23, want: []want{
			{"android_insecure_random", "", scan.High, "MobSF high"},
			{"android_ip_disclosure", "hu/mycompany/vbnmqweq/BuildConfig.java:45", scan.Medium, "MobSF warning"},
			{"android_logging", "", scan.Info, "MobSF info"},
			{"android_detect_root", "", scan.Info, "MobSF good"},
		}, check: func(t *testing.T, rep scan.Report) {
			if rep.SubjectName != "knablibom" || rep.SubjectVersion != "2.14.0-R2.5" ||
				rep.SubjectSHA256 != "69d46d0dceb6f6708ef0d78a3a5dbd123909f99c893e14519c3dae55432a05c9" {
				t.Errorf("subject %q %q %q", rep.SubjectName, rep.SubjectVersion, rep.SubjectSHA256)
			}
		}},
		{file: "mobsf/mobsf_3_7_9.json", findings: 4, want: []want{
			{"Binary makes use of insecure API(s)", "", scan.High, "MobSF high"},
			{"macho_arc", "BitbarIOSSample", scan.Medium, "MobSF warning"},
		}, check: func(t *testing.T, rep scan.Report) {
			if rep.SubjectName != "BitbarIOSSample" || rep.SubjectVersion != "1.0" || rep.ToolVersion != "3.7.9 Beta" {
				t.Errorf("subject %q %q, tool version %q", rep.SubjectName, rep.SubjectVersion, rep.ToolVersion)
			}
		}},
		{file: "cyclonedx/dropwizard-vulns.cdx1.5.json", findings: 87, want: []want{
			{"GHSA-5mg8-w23w-74h3", "pkg:maven/com.google.guava/guava@", scan.Low, "rating low (GITHUB)"},
			{"GHSA-5p34-5m6p-p58g", "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.10", scan.Critical, "rating critical (GITHUB)"},
			{"GHSA-mm8h-8587-p46h", "pkg:", scan.Medium, "rating medium (GITHUB)"},
			{"GHSA-45hx-wfhj-473x", "pkg:", scan.Info, "rating info (GITHUB)"},
			{"GHSA-h376-j262-vhq6", "pkg:", scan.High, `rating "unknown" (GITHUB): assumed high`},
		}, check: func(t *testing.T, rep scan.Report) {
			if rep.Tool != "Dependency-Track" || rep.ToolVersion != "4.11.4" {
				t.Errorf("tool %q %q (tools as an array)", rep.Tool, rep.ToolVersion)
			}
		}},
		{file: "cyclonedx/trivy_npm.cdx1.7.json", findings: 1, want: []want{
			{"CVE-2019-11358", "pkg:npm/jquery@3.3.9", scan.Medium, "CVSSv31 6.1 (nvd)"},
		}, check: func(t *testing.T, rep scan.Report) {
			if rep.Tool != "trivy" || rep.ToolVersion != "dev" {
				t.Errorf("tool %q %q (tools as an object)", rep.Tool, rep.ToolVersion)
			}
		}},
		{file: "cyclonedx/dropwizard-1.3.15_bom.1.2.json", findings: 0, check: func(t *testing.T, rep scan.Report) {
			if len(rep.Findings) != 0 || len(rep.Components) != 167 {
				t.Errorf("%d findings, %d components; want 0 and 167", len(rep.Findings), len(rep.Components))
			}
			if rep.SubjectName != "dropwizard-parent" || rep.SubjectVersion != "1.3.15" || rep.Tool != "CycloneDX Maven plugin" {
				t.Errorf("subject %q %q, tool %q", rep.SubjectName, rep.SubjectVersion, rep.Tool)
			}
		}},
		{file: "spdx/SPDXJSONExample-v2.3.spdx.json", check: func(t *testing.T, rep scan.Report) {
			if rep.SubjectName != "glibc" || rep.SubjectVersion != "2.11.1" ||
				rep.SubjectSHA256 != "11b6d3ee554eedf79299905a98f9b9a04e498210b59f15094c916c91d150efcd" {
				t.Errorf("subject %q %q %q", rep.SubjectName, rep.SubjectVersion, rep.SubjectSHA256)
			}
			if len(rep.Components) != 5 || rep.Components[2].PURL != "pkg:maven/org.apache.jena/apache-jena@3.12.0" {
				t.Errorf("components %+v", rep.Components)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			kind, name, _ := strings.Cut(tt.file, "/")
			data, err := os.ReadFile(filepath.Join(scantest.CorpusDir(t, kind), name))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Parse(data, 0)
			if err != nil {
				t.Fatal(err)
			}
			if tt.findings != 0 && len(rep.Findings) != tt.findings {
				t.Errorf("%d findings, want %d", len(rep.Findings), tt.findings)
			}
			for _, w := range tt.want {
				found := false
				for _, f := range rep.Findings {
					if f.RuleID != w.ruleID || !strings.HasPrefix(f.Location, w.location) {
						continue
					}
					found = true
					if f.Severity != w.severity || f.SeverityBasis != w.basis {
						t.Errorf("%s at %s: %s (%s), want %s (%s)", f.RuleID, f.Location, f.Severity, f.SeverityBasis, w.severity, w.basis)
					}
					break
				}
				if !found {
					t.Errorf("no finding %s at %s", w.ruleID, w.location)
				}
			}
			if tt.check != nil {
				tt.check(t, rep)
			}
		})
	}
}

// The counters below read the generic JSON (maps, slices, strings) and
// share nothing with the importers.

func countSARIF(doc map[string]any) (findings, components int) {
	for _, r := range list(doc["runs"]) {
		for _, res := range list(obj(r)["results"]) {
			m := obj(res)
			if m["kind"] == "pass" || m["kind"] == "notApplicable" || m["baselineState"] == "absent" {
				continue
			}
			findings++
		}
	}
	return findings, 0
}

func countMobSF(doc map[string]any) (findings, components int) {
	// code_analysis: one finding per rule, at the top or under "findings".
	code := obj(doc["code_analysis"])
	if inner, ok := code["findings"].(map[string]any); ok {
		code = inner
	}
	findings += len(code)
	// Lists, or objects wrapping the list under a named key.
	for section, inner := range map[string]string{
		"manifest_analysis": "manifest_findings",
		"ats_analysis":      "ats_findings",
		"network_security":  "network_findings",
	} {
		v := doc[section]
		if m, ok := v.(map[string]any); ok {
			v = m[inner]
		}
		findings += len(list(v))
	}
	failed := func(checks map[string]any) int {
		n := 0
		for _, c := range checks {
			if s, ok := obj(c)["severity"].(string); ok && (strings.EqualFold(s, "high") || strings.EqualFold(s, "warning")) {
				n++
			}
		}
		return n
	}
	switch b := doc["binary_analysis"].(type) {
	case map[string]any:
		findings += len(obj(b["findings"]))
	case []any:
		for _, item := range b {
			m := obj(item)
			if m["title"] != nil || m["issue"] != nil {
				findings++
			} else {
				findings += failed(m)
			}
		}
	}
	findings += failed(obj(doc["macho_analysis"]))
	findings += len(list(obj(doc["certificate_analysis"])["certificate_findings"]))
	for _, fb := range list(doc["firebase_urls"]) {
		if obj(fb)["open"] == true {
			findings++
		}
	}
	for _, d := range obj(doc["domains"]) {
		if obj(d)["bad"] == "yes" {
			findings++
		}
	}
	return findings, 0
}

func countCycloneDX(doc map[string]any) (findings, components int) {
	var walk func(cs []any) int
	walk = func(cs []any) int {
		n := 0
		for _, c := range cs {
			n += 1 + walk(list(obj(c)["components"]))
		}
		return n
	}
	for _, v := range list(doc["vulnerabilities"]) {
		findings += max(1, len(list(obj(v)["affects"])))
	}
	return findings, walk(list(doc["components"]))
}

func countSPDX(doc map[string]any) (findings, components int) {
	for _, p := range list(doc["packages"]) {
		components++
		for _, r := range list(obj(p)["externalRefs"]) {
			m := obj(r)
			cat, _ := m["referenceCategory"].(string)
			if strings.ReplaceAll(strings.ToUpper(cat), "_", "-") == "SECURITY" && m["referenceType"] == "advisory" {
				findings++
			}
		}
	}
	return findings, components
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func benchmarkCorpusFile(b *testing.B, kind, name string, findings int) {
	data, err := os.ReadFile(filepath.Join(scantest.CorpusDir(b, kind), name))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n int
	for b.Loop() {
		rep, err := Parse(data, 0)
		if err != nil {
			b.Fatal(err)
		}
		n = len(rep.Findings)
	}
	if n != findings {
		b.Fatalf("%d findings, want %d", n, findings)
	}
}
