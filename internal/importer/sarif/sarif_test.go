package sarif

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

// A log written for these tests: one rule of each way a severity is given.
var testLog = `{
  "version": "2.1.0",
  "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
  "runs": [{
    "tool": {"driver": {"name": "scanner", "version": "1.2.3", "rules": [
      {"id": "R1", "shortDescription": {"text": "Scored rule. More words."},
       "defaultConfiguration": {"level": "note"},
       "properties": {"security-severity": "9.8", "tags": ["LOW", "external/cwe/cwe-089"]}},
      {"id": "R2", "name": "TaggedRule", "defaultConfiguration": {"level": "error"},
       "properties": {"tags": ["security", "medium", "HIGH"]},
       "relationships": [{"target": {"id": "22", "toolComponent": {"name": "CWE"}}}]},
      {"id": "R3", "defaultConfiguration": {"level": "error"},
       "messageStrings": {"default": {"text": "Value {0} flows to {1}."}}},
      {"id": "R4"}
    ]}},
    "invocations": [{"startTimeUtc": "2024-05-01T09:00:00Z", "executionSuccessful": true}],
    "versionControlProvenance": [{"repositoryUri": "https://example.org/app.git", "revisionId": "abc123", "revisionTag": "v2.14.0"}],
    "artifacts": [
      {"location": {"uri": "app.apk"}, "roles": ["analysisTarget"], "hashes": {"sha-256": "AB` + strings.Repeat("ab", 31) + `"}},
      {"location": {"uri": "src/Main.java"}, "hashes": {"sha-256": "` + strings.Repeat("cd", 32) + `"}}
    ],
    "results": [
      {"ruleId": "R1", "level": "warning", "message": {"text": "SQL built from input."},
       "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/Main.java"}, "region": {"startLine": 10, "snippet": {"text": "  q = \"SELECT \" + x;\n"}}}}]},
      {"ruleId": "R2", "level": "note", "message": {"text": "Tagged."},
       "locations": [{"physicalLocation": {"artifactLocation": {"index": 1}, "region": {"startLine": 20}}}]},
      {"ruleIndex": 2, "message": {"id": "default", "arguments": ["x", "sink()"]},
       "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/Main.java"}, "region": {"startLine": 30}}}],
       "partialFingerprints": {"primaryLocationLineHash": "deadbeef:1"}},
      {"ruleId": "R3", "level": "none", "message": {"text": "Level none."},
       "suppressions": [{"kind": "inSource", "status": "rejected"}]},
      {"ruleId": "R4", "message": {"text": "No level anywhere."}, "suppressions": [{"kind": "external"}]},
      {"ruleId": "R4/sub", "level": "error", "message": {"text": "Hierarchical."}},
      {"ruleId": "R4", "kind": "pass", "message": {"text": "Passed."}},
      {"ruleId": "R4", "baselineState": "absent", "message": {"text": "Gone since the baseline."}}
    ]
  }]
}`

func TestParse(t *testing.T) {
	rep, err := Parse([]byte(testLog), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Report", func(t *testing.T) {
		if rep.Format != scan.SARIF || rep.Tool != "scanner" || rep.ToolVersion != "1.2.3" {
			t.Errorf("format %q tool %q %q", rep.Format, rep.Tool, rep.ToolVersion)
		}
		if !rep.Created.Equal(time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)) {
			t.Errorf("created %v", rep.Created)
		}
		if rep.SubjectVersion != "v2.14.0" || rep.SubjectSHA256 != strings.Repeat("ab", 32) || rep.SubjectName != "" {
			t.Errorf("subject %q %q %q", rep.SubjectName, rep.SubjectVersion, rep.SubjectSHA256)
		}
	})
	t.Run("PassAndAbsentSkipped", func(t *testing.T) {
		if len(rep.Findings) != 6 {
			t.Fatalf("%d findings, want 6 (a pass and a result absent since the baseline are not findings)", len(rep.Findings))
		}
	})
	if len(rep.Findings) != 6 {
		return
	}
	tests := []struct {
		name               string
		i                  int
		rule, title, loc   string
		severity           scan.Severity
		basis, description string
		cwe                string
		suppressed         bool
	}{
		{"SecuritySeverityFirst", 0, "R1", "Scored rule.", "src/Main.java:10", scan.Critical, "security-severity 9.8 (rule)", "SQL built from input.", "CWE-89", false},
		{"MostSevereTag", 1, "R2", "Tagged.", "src/Main.java:20", scan.High, `tag "HIGH" (rule)`, "Tagged.", "CWE-22", false},
		{"RuleDefaultLevel", 2, "R3", "Value x flows to sink().", "src/Main.java:30", scan.High, "level error (rule default)", "Value x flows to sink().", "", false},
		{"ResultLevel", 3, "R3", "Level none.", "", scan.Info, "level none (result)", "Level none.", "", false},
		{"SARIFDefault", 4, "R4", "No level anywhere.", "", scan.Medium, "level warning (SARIF default: none given)", "No level anywhere.", "", true},
		{"HierarchicalRule", 5, "R4/sub", "Hierarchical.", "", scan.High, "level error (result)", "Hierarchical.", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := rep.Findings[tt.i]
			if f.RuleID != tt.rule || f.Title != tt.title || f.Location != tt.loc || f.Description != tt.description {
				t.Errorf("rule %q title %q location %q description %q", f.RuleID, f.Title, f.Location, f.Description)
			}
			if f.Severity != tt.severity || f.SeverityBasis != tt.basis {
				t.Errorf("severity %s (%s), want %s (%s)", f.Severity, f.SeverityBasis, tt.severity, tt.basis)
			}
			if strings.Join(f.CWE, ",") != tt.cwe {
				t.Errorf("CWE %v, want %s", f.CWE, tt.cwe)
			}
			if f.Suppressed != tt.suppressed {
				t.Errorf("suppressed %v, want %v", f.Suppressed, tt.suppressed)
			}
		})
	}
}

// TestParse_Fingerprint re-scans: what changes from run to run must not
// change a fingerprint; what names the issue must.
func TestParse_Fingerprint(t *testing.T) {
	fingerprints := func(t *testing.T, log string) []string {
		t.Helper()
		rep, err := Parse([]byte(log), 0)
		if err != nil {
			t.Fatal(err)
		}
		var fps []string
		for _, f := range rep.Findings {
			fps = append(fps, f.Fingerprint)
		}
		return fps
	}
	base := fingerprints(t, testLog)
	t.Run("OKRescan", func(t *testing.T) {
		rescan := strings.NewReplacer(
			`"startTimeUtc": "2024-05-01T09:00:00Z"`, `"startTimeUtc": "2024-06-01T10:00:00Z", "endTimeUtc": "2024-06-01T10:05:00Z"`,
			`{"ruleId": "R1", "level"`, `{"guid": "9f0c3c1e-1b2a-4c55-8e0e-6f1f2b3c4d5e", "correlationGuid": "0a1b2c3d-0000-4000-8000-000000000001", "ruleId": "R1", "level"`,
			`"version": "1.2.3"`, `"version": "1.2.4"`,
			`q = \"SELECT \" + x;\n`, `    q = \"SELECT \"   + x;`, // re-indented snippet
			// The line moved, but the tool's own partial fingerprint still
			// identifies the result.
			`"startLine": 30}}}],`, `"startLine": 31}}}],`,
		).Replace(testLog)
		for _, changed := range []string{"2024-06-01T10:00:00Z", "correlationGuid", `"1.2.4"`, `\"   + x`, `"startLine": 31`} {
			if !strings.Contains(rescan, changed) {
				t.Fatalf("the re-scan lacks %s", changed)
			}
		}
		got := fingerprints(t, rescan)
		for i := range base {
			if got[i] != base[i] {
				t.Errorf("finding %d: fingerprint changed in a re-scan that changed nothing about it", i)
			}
		}
	})
	t.Run("OtherLine", func(t *testing.T) {
		got := fingerprints(t, strings.Replace(testLog, `"startLine": 10`, `"startLine": 11`, 1))
		if got[0] == base[0] {
			t.Error("a finding on another line kept its fingerprint")
		}
	})
	t.Run("OtherFile", func(t *testing.T) {
		got := fingerprints(t, strings.Replace(testLog, `"uri": "src/Main.java"}, "region": {"startLine": 10`, `"uri": "src/Other.java"}, "region": {"startLine": 10`, 1))
		if got[0] == base[0] {
			t.Error("a finding in another file kept its fingerprint")
		}
	})
	t.Run("Duplicates", func(t *testing.T) {
		dup := `{"ruleId": "R4", "message": {"text": "Twice."}}`
		log := strings.Replace(testLog, `"results": [`, `"results": [`+dup+`,`+dup+`,`, 1)
		got := fingerprints(t, log)
		if len(got) != len(base)+2 || got[0] == got[1] {
			t.Errorf("two identical results: %d findings, fingerprints %s and %s", len(got), got[0], got[1])
		}
	})
}

func TestParse_Errors(t *testing.T) {
	valid := []byte(testLog)
	tests := []struct {
		name  string
		data  []byte
		limit int64
		code  fault.Code
		msg   string
	}{
		{"ErrTooLarge", valid, 1000, fault.TooLarge, "more than the limit of 1000 bytes"},
		{"ErrVersion", []byte(strings.Replace(testLog, `"version": "2.1.0"`, `"version": "2.0.0"`, 1)), 0, fault.Invalid, `the SARIF log is version "2.0.0"; Probity reads SARIF 2.1.0`},
		{"ErrVersionOtherShape", []byte(`{"version": "3.0", "runs": {"not": "a list"}}`), 0, fault.Invalid, `the SARIF log is version "3.0"`},
		{"ErrVersionType", []byte(`{"version": 2.1, "runs": []}`), 0, fault.Invalid, "the SARIF log's version is a JSON number, not a string"},
		{"ErrNoVersion", []byte(`{"runs": []}`), 0, fault.Invalid, "has no version"},
		{"ErrNoRuns", []byte(`{"version": "2.1.0", "runs": []}`), 0, fault.Invalid, "has no runs"},
		{"ErrNullRuns", []byte(`{"version": "2.1.0", "runs": null}`), 0, fault.Invalid, "has no runs"},
		{"ErrNoTool", []byte(`{"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": []}]}`), 0, fault.Invalid, "run 1 of the SARIF log names no tool (runs[0].tool.driver.name)"},
		{"ErrNullResult", []byte(`{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [null]}]}`), 0, fault.Invalid, "result 1 of run 1 of the SARIF log is null"},
		{"ErrTruncated", valid[:len(valid)/2], 0, fault.Invalid, "ends early at line"},
		{"ErrWrongType", []byte("{\"version\": \"2.1.0\", \"runs\": [{\"tool\": {\"driver\": {\"name\": \"x\"}},\n \"results\": {\"ruleId\": 1}}]}"), 0, fault.Invalid, "a JSON object where runs.results expects an array, at line 2"},
		{"ErrDeep", []byte(`{"version": "2.1.0", "runs": [` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200) + `]}`), 0, fault.Invalid, "nests arrays and objects more than 128 deep at line 1"},
		{"ErrHugeString", []byte(`{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "` + strings.Repeat("A", scan.MaxStringBytes+10) + `"}}}]}`), 0, fault.Invalid, "has a string of more than 4194304 bytes at line 1, column 60"},
		{"ErrNotJSON", []byte("<sarif/>"), 0, fault.Invalid, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Parse(tt.data, tt.limit)
			if !fault.Is(err, tt.code) || !strings.Contains(fault.MessageOf(err), tt.msg) {
				t.Fatalf("got %v; want %s saying %q", err, tt.code, tt.msg)
			}
			if rep.Format != "" || rep.Findings != nil {
				t.Error("a report came back with the error")
			}
		})
	}
}

// TestParse_Golden keeps the normalized form of two real reports: Trivy's
// (security-severity) and gosec's (severity in tags).
func TestParse_Golden(t *testing.T) {
	for _, name := range []string{"trivy_alpine-310.sarif", "gosec_v2.26.1_generated.sarif"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(scantest.CorpusDir(t, "sarif"), name))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Parse(data, 0)
			if err != nil {
				t.Fatal(err)
			}
			scantest.Golden(t, strings.TrimSuffix(name, ".sarif"), rep)
		})
	}
}

func FuzzParse(f *testing.F) {
	scantest.AddCorpusSeeds(f, "sarif")
	f.Add([]byte(testLog))
	f.Add([]byte(`{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x", "rules": [{"id": "a"}]}}, "results": [{"ruleIndex": 5}, {"rule": {"index": 0, "toolComponent": {"index": 3}}}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Parse(data, 1<<20)
		scantest.CheckOutcome(t, scan.SARIF, rep, err)
	})
}

// BenchmarkParse imports the 1,768-result Semgrep log of the shared
// corpus (target: 200 ms).
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(scantest.CorpusDir(b, "sarif"), "semgrep_0.17.0_owasp-benchmark.sarif"))
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
	if n != 1768 {
		b.Fatalf("%d findings, want 1768", n)
	}
}
