package mobsf

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

var digest = strings.Repeat("0f", 32)

// Reports written for these tests in the shapes of MobSF's releases: the
// older one (sections as bare lists, code rules at the top of
// code_analysis) and the newer ones (lists wrapped in objects, code rules
// under "findings"), Android and iOS.
var (
	olderAndroid = `{
  "version": "v3.1.6 Beta", "title": "Static Analysis", "app_name": "DemoApp", "file_name": "demo.apk",
  "version_name": "1.4.0", "sha256": "` + strings.ToUpper(digest) + `", "timestamp": "2024-05-01T09:00:00.250Z",
  "code_analysis": {
    "android_logging": {"files": {"a/B.java": "10,12", "c/D.java": "3"},
      "metadata": {"description": "The App logs information. Sensitive information should never be logged.", "severity": "info", "cwe": "CWE-532 Insertion of Sensitive Information into Log File"}},
    "android_insecure_random": {"files": {"x/Y.java": "9"},
      "metadata": {"description": "The App uses an insecure Random Number Generator.", "severity": "high", "cwe": "CWE-330 Use of Insufficiently Random Values"}},
    "android_detect_root": {"files": {"r/Root.java": "1"}, "metadata": {"description": "This App may have root detection capabilities.", "severity": "good"}}
  },
  "manifest_analysis": [
    {"title": "<strong>Activity</strong> (com.demo.Main) is not Protected.<br>An intent-filter exists.", "stat": "high",
     "desc": "An Activity is shared with other apps.", "name": "is not Protected.An intent-filter exists.", "component": ["Activity", "com.demo.Main"]},
    {"title": "<strong>Activity</strong> (com.demo.Other) is not Protected.<br>An intent-filter exists.", "stat": "high",
     "desc": "An Activity is shared with other apps.", "name": "is not Protected.An intent-filter exists.", "component": ["Activity", "com.demo.Other"]}
  ],
  "binary_analysis": [{"title": "Binary uses strcpy", "stat": "warning", "desc": "strcpy is unsafe.", "file": "lib/arm64/libx.so"}],
  "network_security": [{"scope": ["*"], "severity": "high", "description": "Base config is insecurely configured to permit clear text traffic to all domains."}],
  "certificate_analysis": {"certificate_info": "APK is signed", "certificate_findings": [["good", "Application is signed with a code signing certificate"], ["warning", "Application is signed with v1 signature scheme."]]},
  "firebase_urls": [{"url": "https://demo.firebaseio.com", "open": true}, {"url": "https://closed.firebaseio.com", "open": false}, "https://legacy.firebaseio.com"],
  "domains": {"evil.example": {"bad": "yes", "geolocation": {}}, "good.example": {"bad": "no"}},
  "permissions": {"android.permission.INTERNET": {"status": "dangerous", "info": "full Internet access"}},
  "file_analysis": [{"finding": "Hardcoded Keystore found.", "files": ["assets/k.bks"]}],
  "appsec": {"high": [{"title": "summary, not a finding"}]}
}`
	newerAndroid = `{
  "version": "v4.0.0", "app_name": "DemoApp", "file_name": "demo.apk", "version_name": "1.5.0",
  "code_analysis": {
    "findings": {
      "android_sql_raw_query": {"files": {"p/Q.java": "5"}, "metadata": {"description": "App uses SQLite Database and execute raw SQL query.", "severity": "warning", "cwe": "CWE-89"}},
      "android_future_rule": {"files": {"p/R.java": "7"}, "metadata": {"description": "A rule from the future.", "severity": "hotspot"}}
    },
    "summary": {"high": 0, "warning": 1}
  },
  "manifest_analysis": {"manifest_findings": [
    {"rule": "exported_activity", "title": "<strong>Activity</strong> (com.demo.X) is not Protected.", "severity": "warning",
     "description": "Shared.", "name": "Activity (com.demo.X) is not Protected.", "component": ["com.demo.X"]}
  ], "manifest_summary": {"high": 0}},
  "binary_analysis": [{"name": "lib/arm64-v8a/libfoo.so",
    "nx": {"is_nx": true, "severity": "info", "description": "The binary has NX bit set."},
    "stack_canary": {"has_canary": false, "severity": "high", "description": "This binary does not have a stack canary value added to the stack."}}],
  "network_security": {"network_findings": [{"scope": ["example.com"], "severity": "secure", "description": "Domain config is securely configured."}], "network_summary": {}},
  "certificate_analysis": {"certificate_findings": [["high", "Application is signed with SHA1withRSA.", "Certificate algorithm vulnerable to hash collision"]]}
}`
	newerIOS = `{
  "version": "v3.9.0", "app_name": "DemoiOS", "file_name": "demo.ipa", "app_version": "2.0", "build": "7",
  "binary_analysis": {"findings": {"Binary makes use of insecure API(s)": {"detailed_desc": "The binary may contain _memcpy.", "severity": "high", "cwe": "CWE-676: Use of Potentially Dangerous Function"}}, "summary": {}},
  "macho_analysis": {"name": "DemoiOS",
    "nx": {"has_nx": true, "severity": "info", "description": "The binary has NX bit set."},
    "pie": {"has_pie": false, "severity": "high", "description": "The binary is built without Position Independent Code flag."}},
  "ats_analysis": {"ats_findings": [{"issue": "App Transport Security AllowsArbitraryLoads is allowed", "severity": "high", "description": "App Transport Security restrictions are disabled for all network connections."}], "ats_summary": {}},
  "code_analysis": {"findings": {}, "summary": {}}
}`
)

type want struct {
	rule, location string
	severity       scan.Severity
	basis, title   string
}

func check(t *testing.T, rep scan.Report, wants []want) {
	t.Helper()
	if len(rep.Findings) != len(wants) {
		for _, f := range rep.Findings {
			t.Logf("%s | %s | %s", f.RuleID, f.Location, f.Title)
		}
		t.Fatalf("%d findings, want %d", len(rep.Findings), len(wants))
	}
	for i, w := range wants {
		f := rep.Findings[i]
		if f.RuleID != w.rule || f.Location != w.location || f.Severity != w.severity || f.SeverityBasis != w.basis || f.Title != w.title {
			t.Errorf("finding %d: %q at %q, %s (%s), %q\nwant %q at %q, %s (%s), %q", i, f.RuleID, f.Location, f.Severity, f.SeverityBasis, f.Title,
				w.rule, w.location, w.severity, w.basis, w.title)
		}
	}
}

func TestParse(t *testing.T) {
	t.Run("OlderAndroid", func(t *testing.T) {
		rep, err := Parse([]byte(olderAndroid), 0)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Tool != "MobSF" || rep.ToolVersion != "3.1.6 Beta" || rep.SubjectName != "DemoApp" || rep.SubjectVersion != "1.4.0" || rep.SubjectSHA256 != digest {
			t.Errorf("tool %q %q, subject %q %q %q", rep.Tool, rep.ToolVersion, rep.SubjectName, rep.SubjectVersion, rep.SubjectSHA256)
		}
		if !rep.Created.Equal(time.Date(2024, 5, 1, 9, 0, 0, 250e6, time.UTC)) {
			t.Errorf("created %v", rep.Created)
		}
		check(t, rep, []want{
			{"android_logging", "a/B.java:10,12 (and 1 more files)", scan.Info, "MobSF info", "The App logs information."},
			{"android_insecure_random", "x/Y.java:9", scan.High, "MobSF high", "The App uses an insecure Random Number Generator."},
			{"android_detect_root", "r/Root.java:1", scan.Info, "MobSF good", "This App may have root detection capabilities."},
			{"is not Protected.An intent-filter exists.", "Activity com.demo.Main", scan.High, "MobSF high", "Activity (com.demo.Main) is not Protected."},
			{"is not Protected.An intent-filter exists.", "Activity com.demo.Other", scan.High, "MobSF high", "Activity (com.demo.Other) is not Protected."},
			{"Binary uses strcpy", "lib/arm64/libx.so", scan.Medium, "MobSF warning", "Binary uses strcpy"},
			{"network_security", "*", scan.High, "MobSF high", "Base config is insecurely configured to permit clear text traffic to all domains."},
			{"certificate", "", scan.Info, "MobSF good", "Application is signed with a code signing certificate"},
			{"certificate", "", scan.Medium, "MobSF warning", "Application is signed with v1 signature scheme."},
			{"firebase_open", "https://demo.firebaseio.com", scan.High, "MobSF open Firebase database (MobSF rates it high)", "Firebase database is readable without authentication"},
			{"malicious_domain", "evil.example", scan.High, "MobSF malicious domain (MobSF rates it high)", "Malicious domain: evil.example"},
		})
		f := rep.Findings[0]
		if !strings.Contains(f.Description, "Files:\na/B.java:10,12\nc/D.java:3") || strings.Join(f.CWE, ",") != "CWE-532" {
			t.Errorf("description %q, CWE %v", f.Description, f.CWE)
		}
	})
	t.Run("NewerAndroid", func(t *testing.T) {
		rep, err := Parse([]byte(newerAndroid), 0)
		if err != nil {
			t.Fatal(err)
		}
		check(t, rep, []want{
			{"android_sql_raw_query", "p/Q.java:5", scan.Medium, "MobSF warning", "App uses SQLite Database and execute raw SQL query."},
			{"android_future_rule", "p/R.java:7", scan.High, `MobSF severity "hotspot" is not one Probity knows: assumed high`, "A rule from the future."},
			{"exported_activity", "com.demo.X", scan.Medium, "MobSF warning", "Activity (com.demo.X) is not Protected."},
			{"binary_stack_canary", "lib/arm64-v8a/libfoo.so", scan.High, "MobSF high", "This binary does not have a stack canary value added to the stack."},
			{"network_security", "example.com", scan.Info, "MobSF secure", "Domain config is securely configured."},
			{"certificate", "", scan.High, "MobSF high", "Certificate algorithm vulnerable to hash collision"},
		})
	})
	t.Run("NewerIOS", func(t *testing.T) {
		rep, err := Parse([]byte(newerIOS), 0)
		if err != nil {
			t.Fatal(err)
		}
		if rep.SubjectName != "DemoiOS" || rep.SubjectVersion != "2.0" || rep.SubjectSHA256 != "" {
			t.Errorf("subject %q %q %q", rep.SubjectName, rep.SubjectVersion, rep.SubjectSHA256)
		}
		check(t, rep, []want{
			{"Binary makes use of insecure API(s)", "", scan.High, "MobSF high", "Binary makes use of insecure API(s)"},
			{"macho_pie", "DemoiOS", scan.High, "MobSF high", "The binary is built without Position Independent Code flag."},
			{"App Transport Security AllowsArbitraryLoads is allowed", "", scan.High, "MobSF high", "App Transport Security AllowsArbitraryLoads is allowed"},
		})
	})
}

// TestParse_Fingerprint re-scans a new build: a code rule keeps its
// fingerprint though the (obfuscated) files it matched are others; two
// manifest findings of one rule on two components differ.
func TestParse_Fingerprint(t *testing.T) {
	first, err := Parse([]byte(olderAndroid), 0)
	if err != nil {
		t.Fatal(err)
	}
	rebuilt := strings.NewReplacer(
		`"a/B.java": "10,12", "c/D.java": "3"`, `"q/z.java": "4"`,
		`"timestamp": "2024-05-01T09:00:00.250Z"`, `"timestamp": "2024-06-01T09:00:00Z"`,
		`"version_name": "1.4.0"`, `"version_name": "1.4.1"`,
		`"sha256": "`+strings.ToUpper(digest)+`"`, `"sha256": "`+strings.Repeat("1e", 32)+`"`,
	).Replace(olderAndroid)
	if !strings.Contains(rebuilt, "q/z.java") || !strings.Contains(rebuilt, "1.4.1") {
		t.Fatal("the re-scan is the same report")
	}
	second, err := Parse([]byte(rebuilt), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range first.Findings {
		if first.Findings[i].Fingerprint != second.Findings[i].Fingerprint {
			t.Errorf("finding %d (%s): fingerprint changed in the re-scan", i, first.Findings[i].RuleID)
		}
	}
	if first.Findings[3].Fingerprint == first.Findings[4].Fingerprint {
		t.Error("one manifest rule on two components: one fingerprint")
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
		{"ErrTooLarge", olderAndroid, 100, fault.TooLarge, "more than the limit of 100 bytes"},
		{"ErrNotMobSF", `{"app_name": "x", "permissions": {}}`, 0, fault.Invalid, "not a MobSF static-analysis report"},
		{"ErrNoName", `{"code_analysis": {}}`, 0, fault.Invalid, "not a MobSF static-analysis report"},
		{"ErrCodeShape", `{"app_name": "x", "code_analysis": [1, 2]}`, 0, fault.Invalid, "the MobSF report's code_analysis is not an object"},
		{"ErrRuleShape", `{"app_name": "x", "code_analysis": {"r1": {"files": {}, "metadata": {"severity": 3}}}}`, 0, fault.Invalid, "code_analysis.r1.metadata.severity holds a JSON number"},
		{"ErrFilesShape", `{"app_name": "x", "code_analysis": {"r1": {"files": 7, "metadata": {}}}}`, 0, fault.Invalid, "code_analysis.r1.files"},
		{"ErrManifestItem", `{"app_name": "x", "manifest_analysis": {"manifest_findings": ["text"]}}`, 0, fault.Invalid, "manifest_analysis.manifest_findings[0]"},
		{"ErrCertificate", `{"app_name": "x", "certificate_analysis": {"certificate_findings": [["high"]]}}`, 0, fault.Invalid, "certificate_findings[0] has 1 items"},
		{"ErrAppNameType", "{\"app_name\":\n 42, \"code_analysis\": {}}", 0, fault.Invalid, "a JSON number where app_name expects a string, at line 2, column 3"},
		{"ErrDigest", `{"app_name": "x", "sha256": "not-a-digest", "code_analysis": {}}`, 0, fault.Invalid, "names a subject digest \"not-a-digest\" that is not a hex SHA-256"},
		{"ErrTruncated", olderAndroid[:200], 0, fault.Invalid, "ends early at line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Parse([]byte(tt.doc), tt.limit)
			if !fault.Is(err, tt.code) || !strings.Contains(fault.MessageOf(err), tt.msg) {
				t.Fatalf("got %v; want %s saying %q", err, tt.code, tt.msg)
			}
			if rep.Format != "" || rep.Findings != nil {
				t.Error("a report came back with the error")
			}
		})
	}
}

// TestParse_Golden keeps the normalized form of the real iOS report.
func TestParse_Golden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(scantest.CorpusDir(t, "mobsf"), "mobsf_3_7_9.json"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Parse(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	scantest.Golden(t, "mobsf_3_7_9", rep)
}

func FuzzParse(f *testing.F) {
	scantest.AddCorpusSeeds(f, "mobsf")
	for _, doc := range []string{olderAndroid, newerAndroid, newerIOS} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Parse(data, 1<<20)
		scantest.CheckOutcome(t, scan.MobSF, rep, err)
	})
}
