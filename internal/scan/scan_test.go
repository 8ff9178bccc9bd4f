package scan

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/fault"
)

func TestNewFingerprint(t *testing.T) {
	a := NewFingerprint(SARIF, "rule", "file.go", "12")
	if !IsSHA256(a) {
		t.Fatalf("fingerprint %q is not a hex SHA-256", a)
	}
	if a != NewFingerprint(SARIF, "rule", "file.go", "12") {
		t.Error("the same parts gave different fingerprints")
	}
	for name, other := range map[string]string{
		"OtherFormat": NewFingerprint(MobSF, "rule", "file.go", "12"),
		"OtherLine":   NewFingerprint(SARIF, "rule", "file.go", "13"),
		"Shifted":     NewFingerprint(SARIF, "rul", "efile.go", "12"),
		"Joined":      NewFingerprint(SARIF, "rulefile.go", "12"),
	} {
		if other == a {
			t.Errorf("%s: same fingerprint as the original", name)
		}
	}
}

func TestNormalizeText(t *testing.T) {
	tests := map[string]string{
		"":                           "",
		"plain text":                 "plain text",
		"  leading":                  "leading",
		"trailing \n":                "trailing",
		"a\n\tb   c":                 "a b c",
		"    x := f()\n    y := 2\n": "x := f() y := 2",
		"ünï  cödé":                  "ünï cödé",
		"\u00a0nbsp\u00a0 between":   "nbsp between",
	}
	for in, want := range tests {
		if got := NormalizeText(in); got != want {
			t.Errorf("NormalizeText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDisambiguate(t *testing.T) {
	fp := NewFingerprint(SARIF, "x")
	other := NewFingerprint(SARIF, "y")
	fs := []Finding{{Fingerprint: fp}, {Fingerprint: other}, {Fingerprint: fp}, {Fingerprint: fp}}
	Disambiguate(fs)
	seen := map[string]bool{}
	for i, f := range fs {
		if !IsSHA256(f.Fingerprint) || seen[f.Fingerprint] {
			t.Fatalf("finding %d: fingerprint %q is not unique", i, f.Fingerprint)
		}
		seen[f.Fingerprint] = true
	}
	if fs[0].Fingerprint != fp || fs[1].Fingerprint != other {
		t.Error("the first of each fingerprint changed")
	}
	// The same report again gives the same fingerprints.
	again := []Finding{{Fingerprint: fp}, {Fingerprint: other}, {Fingerprint: fp}, {Fingerprint: fp}}
	Disambiguate(again)
	for i := range fs {
		if fs[i].Fingerprint != again[i].Fingerprint {
			t.Errorf("finding %d: %s then %s", i, fs[i].Fingerprint, again[i].Fingerprint)
		}
	}
}

func TestAppendCWEs(t *testing.T) {
	got := AppendCWEs(nil, "external/cwe/cwe-079")
	got = AppendCWEs(got, "CWE-532 Insertion of Sensitive Information into Log File")
	got = AppendCWEs(got, "CWE-79")
	got = AppendCWEs(got, "security")
	if strings.Join(got, ",") != "CWE-79,CWE-532" {
		t.Errorf("got %v", got)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want Format
	}{
		{"SARIF", `{"version":"2.1.0","runs":[]}`, SARIF},
		{"SARIFBySchema", `{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","runs":[]}`, SARIF},
		{"SARIFOtherVersion", `{"version":"2.0.0","runs":[]}`, SARIF},
		{"CycloneDX", `{"bomFormat":"CycloneDX","specVersion":"1.6"}`, CycloneDX},
		{"SPDX", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT"}`, SPDX},
		{"MobSFAndroid", `{"app_name":"x","code_analysis":{},"manifest_analysis":[]}`, MobSF},
		{"SARIFTricky", `{"x": "}{\"runs\"", "a": [{"b": "]"}, 1.5e3, null], "vers\u0069on": "2.1.0", "runs": []}`, SARIF},
		{"MobSFiOS", "\ufeff" + ` {"file_name":"x.ipa","macho_analysis":{}}`, MobSF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect([]byte(tt.doc))
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	errs := []struct {
		name, doc, msg string
	}{
		{"ErrUnknown", `{"hello":"world"}`, "none of their identifying fields"},
		{"ErrMobSFWithoutAnalysis", `{"app_name":"x"}`, "none of their identifying fields"},
		{"ErrOnlyNested", `{"data": {"runs": [], "version": "2.1.0", "bomFormat": "CycloneDX"}}`, "none of their identifying fields"},
		{"ErrNullFields", `{"spdxVersion":null,"runs":null}`, "none of their identifying fields"},
		{"ErrArray", `[{"runs":[]}]`, "not a JSON object"},
		{"ErrEmpty", " \n", "empty"},
		{"ErrTruncated", `{"version":"2.1.0","runs":[{"tool":`, "ends early at line 1"},
		{"ErrSyntax", "{\"hello\":\"world\",\n\"data\": [}", "line 2, column 10"},
		{"ErrDeep", `{"a":` + strings.Repeat("[", MaxDepth+5) + strings.Repeat("]", MaxDepth+5) + `}`, "more than 128 deep"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Detect([]byte(tt.doc))
			if !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), tt.msg) {
				t.Errorf("got %v; want an invalid error saying %q", err, tt.msg)
			}
		})
	}
}

func TestCheckJSON(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		doc := `{"a":"` + strings.Repeat(`x\"`, 100) + `{[","b":[` + strings.Repeat("[", MaxDepth-2) + strings.Repeat("]", MaxDepth-2) + `]}`
		if err := CheckJSON(SARIF, []byte(doc)); err != nil {
			t.Error(err)
		}
	})
	t.Run("ErrTooDeep", func(t *testing.T) {
		doc := "{\n\"a\": " + strings.Repeat("{\"b\":", MaxDepth) + "1" + strings.Repeat("}", MaxDepth+1)
		err := CheckJSON(CycloneDX, []byte(doc))
		want := "the CycloneDX report nests arrays and objects more than 128 deep at line 2, column 641"
		if !fault.Is(err, fault.Invalid) || fault.MessageOf(err) != want {
			t.Errorf("got %v, want %q", err, want)
		}
	})
	t.Run("ErrHugeString", func(t *testing.T) {
		doc := "{\"ok\": \"short\",\n  \"x\": \"" + strings.Repeat("a", MaxStringBytes+1) + "\"}"
		err := CheckJSON(SPDX, []byte(doc))
		want := "the SPDX report has a string of more than 4194304 bytes at line 2, column 8"
		if !fault.Is(err, fault.Invalid) || fault.MessageOf(err) != want {
			t.Errorf("got %v, want %q", err, want)
		}
	})
	t.Run("ErrNotObject", func(t *testing.T) {
		err := CheckJSON(MobSF, []byte("\n  \"just a string\""))
		if !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), `starts with "\"just a string\"" at line 2, column 3`) {
			t.Errorf("got %v", err)
		}
	})
}

func TestDecodeError(t *testing.T) {
	decode := func(doc string, v any) error {
		return DecodeError(SARIF, []byte(doc), json.Unmarshal([]byte(doc), v))
	}
	t.Run("Truncated", func(t *testing.T) {
		var v map[string]any
		err := decode("{\"runs\": [\n {\"tool\": {", &v)
		if !fault.Is(err, fault.Invalid) || fault.MessageOf(err) != "the SARIF report ends early at line 2, column 12: the JSON is truncated" {
			t.Errorf("got %v", err)
		}
	})
	t.Run("Syntax", func(t *testing.T) {
		var v map[string]any
		err := decode("{\"a\": 1,\n \"b\": tru }", &v)
		if !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), "not valid JSON at line 2, column 10") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("Type", func(t *testing.T) {
		var v struct {
			Runs []struct {
				Results []struct {
					Level string `json:"level"`
				} `json:"results"`
			} `json:"runs"`
		}
		err := decode("{\"runs\": [{\"results\": [\n{\"level\": 3}]}]}", &v)
		want := "the SARIF report has a JSON number where runs.results.level expects a string, at line 2, column 11"
		if !fault.Is(err, fault.Invalid) || fault.MessageOf(err) != want {
			t.Errorf("got %q, want %q", fault.MessageOf(err), want)
		}
	})
	t.Run("TypeNestedOffset", func(t *testing.T) {
		// A library's own UnmarshalJSON reports the offset within the
		// value it decoded; such an offset names no place in the report.
		doc := []byte(`{"a": 1, "packages": [{"name": 5}]}`)
		err := DecodeError(SPDX, doc, &json.UnmarshalTypeError{Value: "number", Type: reflect.TypeFor[string](), Offset: 10, Field: "packages.name"})
		if want := "the SPDX report has a JSON number where packages.name expects a string"; fault.MessageOf(err) != want {
			t.Errorf("got %q, want %q", fault.MessageOf(err), want)
		}
	})
	t.Run("KeepsFault", func(t *testing.T) {
		in := fault.New(fault.TooLarge, "big")
		if err := DecodeError(SARIF, nil, in); err != in {
			t.Errorf("got %v", err)
		}
	})
}

func TestCheckSize(t *testing.T) {
	data := make([]byte, 100)
	if err := CheckSize(SARIF, data, 100); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	err := CheckSize(SARIF, data, 99)
	if !fault.Is(err, fault.TooLarge) || fault.MessageOf(err) != "the SARIF report is 100 bytes, more than the limit of 99 bytes" {
		t.Errorf("over the limit: %v", err)
	}
	if err := CheckSize(SARIF, data, 0); err != nil {
		t.Errorf("default limit: %v", err)
	}
}

func TestReadAll(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		got, err := ReadAll(strings.NewReader("abcdef"), 6)
		if err != nil || string(got) != "abcdef" {
			t.Errorf("got %q, %v", got, err)
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		r := &countingReader{r: bytes.NewReader(make([]byte, 1<<20))}
		_, err := ReadAll(r, 1000)
		if !fault.Is(err, fault.TooLarge) {
			t.Fatalf("got %v", err)
		}
		if r.n > 1001 {
			t.Errorf("read %d bytes of an upload over a 1000-byte limit", r.n)
		}
	})
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestParseFormat(t *testing.T) {
	if f, err := ParseFormat(" CycloneDX "); err != nil || f != CycloneDX {
		t.Errorf("got %q, %v", f, err)
	}
	if _, err := ParseFormat("xml"); !fault.Is(err, fault.Invalid) {
		t.Errorf("got %v", err)
	}
}

func TestClip(t *testing.T) {
	if got := Clip("short", 10); got != "short" {
		t.Errorf("got %q", got)
	}
	got := Clip(strings.Repeat("é", 100), 51)
	if len(got) > 51 || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("got %q (%d bytes)", got, len(got))
	}
}

func validReport() Report {
	return Report{
		Format: SARIF,
		Tool:   "tool",
		Findings: []Finding{
			{Fingerprint: NewFingerprint(SARIF, "a"), Severity: High, SeverityBasis: "level error (result)"},
			{Fingerprint: NewFingerprint(SARIF, "b"), Severity: Low, SeverityBasis: "level note (result)"},
		},
		Components: []Component{{Name: "lib"}},
	}
}

func TestReport_Validate(t *testing.T) {
	if err := validReport().Validate(); err != nil {
		t.Fatalf("valid report: %v", err)
	}
	tests := []struct {
		name   string
		change func(*Report)
		msg    string
	}{
		{"ErrFormat", func(r *Report) { r.Format = "xml" }, "unknown report format"},
		{"ErrNoTool", func(r *Report) { r.Tool = " " }, "does not name the tool"},
		{"ErrDigest", func(r *Report) { r.SubjectSHA256 = "abc" }, "not a hex SHA-256"},
		{"ErrFingerprint", func(r *Report) { r.Findings[1].Fingerprint = "x" }, "finding 2 of the SARIF report has no valid fingerprint"},
		{"ErrSeverity", func(r *Report) { r.Findings[0].Severity = "severe" }, "unknown severity"},
		{"ErrBasis", func(r *Report) { r.Findings[0].SeverityBasis = "" }, "does not say how its severity was derived"},
		{"ErrDuplicate", func(r *Report) { r.Findings[1].Fingerprint = r.Findings[0].Fingerprint }, "findings 1 and 2"},
		{"ErrComponentName", func(r *Report) { r.Components[0].Name = "" }, "component 1 of the SARIF report has no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validReport()
			tt.change(&r)
			err := r.Validate()
			if !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), tt.msg) {
				t.Errorf("got %v, want %q", err, tt.msg)
			}
		})
	}
}

func TestReport_Finish(t *testing.T) {
	r := validReport()
	r.Findings[1].Fingerprint = r.Findings[0].Fingerprint
	r.Findings[0].Title = strings.Repeat("t", MaxTitle+100)
	r.SubjectSHA256 = strings.Repeat("AB", 32)
	if err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	if r.Findings[0].Fingerprint == r.Findings[1].Fingerprint {
		t.Error("duplicate fingerprints kept")
	}
	if len(r.Findings[0].Title) > MaxTitle {
		t.Errorf("title of %d bytes kept", len(r.Findings[0].Title))
	}
	if r.SubjectSHA256 != strings.Repeat("ab", 32) {
		t.Errorf("digest %q not lower-cased", r.SubjectSHA256)
	}
	empty := Report{Format: SPDX, Tool: "x"}
	if err := empty.Finish(); err != nil || empty.Findings == nil {
		t.Errorf("empty report: %v, findings %v", err, empty.Findings)
	}
}

func TestReport_CheckSubject(t *testing.T) {
	digest := strings.Repeat("ab", 32)
	r := Report{Format: MobSF, SubjectVersion: "v2.14.0", SubjectSHA256: digest}
	tests := []struct {
		name, version, sha, msg string
	}{
		{"OK", "2.14.0", strings.ToUpper(digest), ""},
		{"OKNothingGiven", "", "", ""},
		{"ErrVersion", "2.15.0", digest, `about version "v2.14.0", not "2.15.0"`},
		{"ErrDigest", "2.14.0", strings.Repeat("cd", 32), "about the artifact with SHA-256 " + digest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.CheckSubject(tt.version, tt.sha)
			if tt.msg == "" {
				if err != nil {
					t.Errorf("got %v", err)
				}
				return
			}
			if !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), tt.msg) {
				t.Errorf("got %v, want %q", err, tt.msg)
			}
		})
	}
	if err := (Report{Format: SARIF}).CheckSubject("1.0", digest); err != nil {
		t.Errorf("a report that names nothing: %v", err)
	}
}

func FuzzDetect(f *testing.F) {
	f.Add([]byte(`{"version":"2.1.0","runs":[]}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6"}`))
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3"}`))
	f.Add([]byte(`{"app_name":"x","code_analysis":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Detect(data)
		if err != nil {
			if !fault.Is(err, fault.Invalid) || fault.MessageOf(err) == "" {
				t.Fatalf("error %v", err)
			}
			return
		}
		if !got.Valid() {
			t.Fatalf("format %q", got)
		}
	})
}
