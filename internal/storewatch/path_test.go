package storewatch

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/fault"
)

func key(k string) step   { return step{key: k, isKey: true} }
func index(i int) step    { return step{index: i} }
func every() step         { return step{index: -1} }
func path(s ...step) Path { return Path(s) }

func TestParsePath(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for _, tc := range []struct {
			name, in, canonical string
			want                Path
		}{
			{"Key", "version", "version", path(key("version"))},
			{"Nested", "data.latest.version", "data.latest.version", path(key("data"), key("latest"), key("version"))},
			{"Index", "results[0].version", "results[0].version", path(key("results"), index(0), key("version"))},
			{"Every", "releases[*].version", "releases[*].version", path(key("releases"), every(), key("version"))},
			{"TopLevelArray", "[*].tag_name", "[*].tag_name", path(every(), key("tag_name"))},
			{"NestedArrays", "a[*][2][*]", "a[*][2][*]", path(key("a"), every(), index(2), every())},
			{"QuotedKey", `data["build.number"]`, `data["build.number"]`, path(key("data"), key("build.number"))},
			{"QuotedKeyWithEscapes", `["a \"b\" ]"].c`, `["a \"b\" ]"].c`, path(key(`a "b" ]`), key("c"))},
			{"QuotedPlainKey", `["version"]`, "version", path(key("version"))},
			{"JSONPathRoot", "$.data.version", "data.version", path(key("data"), key("version"))},
			{"JSONPathRootArray", "$[0].v", "[0].v", path(index(0), key("v"))},
			{"DollarKey", "$version", `["$version"]`, path(key("$version"))},
			{"Unicode", "données.version", "données.version", path(key("données"), key("version"))},
			{"LeadingZero", "a[007]", "a[7]", path(key("a"), index(7))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p, err := ParsePath(tc.in)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(p, tc.want) {
					t.Fatalf("ParsePath(%q) = %#v, want %#v", tc.in, p, tc.want)
				}
				if got := p.String(); got != tc.canonical {
					t.Fatalf("String() = %q, want %q", got, tc.canonical)
				}
			})
		}
	})
	t.Run("Err", func(t *testing.T) {
		for _, tc := range []struct{ name, in, want string }{
			{"Empty", "", "empty"},
			{"LeadingDot", ".version", "starts with a dot"},
			{"DoubleDot", "a..b", "empty key at byte 2"},
			{"TrailingDot", "a.", "empty key at byte 2"},
			{"DotBracket", "a.[0]", "empty key at byte 2"},
			{"Unterminated", "a[0", "unterminated [ at byte 1"},
			{"EmptyBrackets", "a[]", "empty []"},
			{"Negative", "a[-1]", "an index is a number from 0"},
			{"Name", "a[x]", "an index is a number from 0"},
			{"Huge", "a[99999999999999999999]", "larger than 1000000"},
			{"KeyAfterBracket", "a[0]b", "a key at byte 4 must follow a dot"},
			{"StrayBracket", "a]b", "unexpected ] at byte 1"},
			{"Space", "a b", "holds a space"},
			{"UnterminatedQuote", `a["b]`, "unterminated quoted key"},
			{"QuoteWithoutBracket", `a["b"c]`, "not followed by ]"},
			{"EmptyQuoted", `a[""]`, "empty key"},
			{"BadEscape", `a["\q"]`, "bad quoted key"},
			{"TooLong", strings.Repeat("a", MaxPathLen+1), "longer than 512 bytes"},
			{"OnlyRoot", "$.", "empty after $"},
			{"TooManySteps", strings.Repeat("[0]", MaxPathSteps+1), "more than 32 steps"},
			{"NotUTF8", "a\xff", "not valid UTF-8"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := ParsePath(tc.in)
				if err == nil {
					t.Fatalf("ParsePath(%q) succeeded", tc.in)
				}
				if fault.CodeOf(err) != fault.Invalid || !strings.Contains(fault.MessageOf(err), tc.want) {
					t.Fatalf("ParsePath(%q) = %v (%s), want invalid with %q", tc.in, err, fault.CodeOf(err), tc.want)
				}
			})
		}
	})
}

func mustDecode(t testing.TB, s string) any {
	t.Helper()
	doc, err := decode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func mustPath(t testing.TB, s string) Path {
	t.Helper()
	p, err := ParsePath(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPath_Eval(t *testing.T) {
	doc := `{"data":{"latest":{"version":"2.4.1"},"n":null,"count":3},
		"releases":[{"version":"1.0"},{"draft":true},{"version":null},{"version":"1.1","assets":[{"v":"a"},{"v":"b"}]}],
		"empty":[]}`
	t.Run("OK", func(t *testing.T) {
		for _, tc := range []struct {
			name, path string
			want       []any
		}{
			{"Nested", "data.latest.version", []any{"2.4.1"}},
			{"Number", "data.count", []any{json.Number("3")}},
			{"EverySkipsAbsentAndNull", "releases[*].version", []any{"1.0", "1.1"}},
			{"Index", "releases[3].version", []any{"1.1"}},
			{"Nested arrays", "releases[*].assets[*].v", []any{"a", "b"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ms, err := mustPath(t, tc.path).eval(mustDecode(t, doc))
				if err != nil {
					t.Fatal(err)
				}
				var got []any
				for _, m := range ms {
					got = append(got, m.value)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("eval(%s) = %v, want %v", tc.path, got, tc.want)
				}
			})
		}
	})
	t.Run("Err", func(t *testing.T) {
		for _, tc := range []struct{ name, path, want string }{
			{"Missing", "data.current.version", "no field data.current"},
			{"Null", "data.n", "no field data.n"},
			{"KeyIntoArray", "releases.version", "releases is an array, not an object"},
			{"IndexIntoObject", "data[0]", "data is an object, not an array"},
			{"KeyIntoString", "data.latest.version.major", "data.latest.version is a string, not an object"},
			{"IndexOutOfRange", "releases[9].version", "no field releases[9]: the array has 4 elements"},
			{"EmptyArray", "empty[*].version", "no field empty[*].version: no element has it"},
			{"NoElementHasIt", "releases[*].name", "no field releases[*].name: no element has it"},
			{"WrongKindUnderEvery", "releases[*].assets.v", "releases[*].assets is an array, not an object"},
			{"TopLevel", "[0]", "the document is an object, not an array"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := mustPath(t, tc.path).eval(mustDecode(t, doc))
				if err == nil || fault.CodeOf(err) != fault.Invalid || !strings.Contains(fault.MessageOf(err), tc.want) {
					t.Fatalf("eval(%s) = %v, want invalid with %q", tc.path, err, tc.want)
				}
			})
		}
	})
}

func TestExtract(t *testing.T) {
	doc := `{"releases":[
		{"tag":"v3.0.0","published_at":"2025-04-02T10:00:00Z"},
		{"tag":"2.9.1","published_at":"2025-03-01"},
		{"tag":"2.9.0","published_at":"yesterday"},
		{"tag":"3.0.0","published_at":"2025-05-01T00:00:00Z"},
		{"tag":2.8}],
		"released":"2025-06-01T08:00:00+02:00"}`
	t.Run("DatesPairedByElement", func(t *testing.T) {
		p, err := extract(mustDecode(t, doc), mustPath(t, "releases[*].tag"), mustPath(t, "releases[*].published_at"))
		if err != nil {
			t.Fatal(err)
		}
		want := []Version{
			{"v3.0.0", time.Date(2025, 4, 2, 10, 0, 0, 0, time.UTC)}, // "3.0.0" later is the same version
			{"2.9.1", time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)},
			{"2.9.0", time.Time{}}, // a date not understood
			{"2.8", time.Time{}},   // a number, as written
		}
		if !reflect.DeepEqual(p.Versions, want) {
			t.Fatalf("versions = %v, want %v", p.Versions, want)
		}
	})
	t.Run("OneDateForEveryVersion", func(t *testing.T) {
		p, err := extract(mustDecode(t, doc), mustPath(t, "releases[0].tag"), mustPath(t, "released"))
		if err != nil {
			t.Fatal(err)
		}
		if want := (Version{"v3.0.0", time.Date(2025, 6, 1, 6, 0, 0, 0, time.UTC)}); len(p.Versions) != 1 || p.Versions[0] != want {
			t.Fatalf("versions = %v, want [%v]", p.Versions, want)
		}
	})
	t.Run("MissingDatesLeaveVersionsUndated", func(t *testing.T) {
		p, err := extract(mustDecode(t, doc), mustPath(t, "releases[*].tag"), mustPath(t, "releases[*].nothing"))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Versions) != 4 || !p.Versions[0].Released.IsZero() {
			t.Fatalf("versions = %v, want 4 undated", p.Versions)
		}
	})
	t.Run("ErrNotAVersion", func(t *testing.T) {
		for _, tc := range []struct{ doc, want string }{
			{`{"v":true}`, "v is a boolean, not a version"},
			{`{"v":{"major":1}}`, "v is an object, not a version"},
			{`{"v":"  "}`, "v is an empty version"},
			{`{"v":"1.0\u0000"}`, "control characters"},
			{`{"v":"` + strings.Repeat("9", MaxVersionLen+1) + `"}`, "longer than 128 characters"},
		} {
			_, err := extract(mustDecode(t, tc.doc), mustPath(t, "v"), nil)
			if err == nil || fault.CodeOf(err) != fault.Invalid || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("extract(%s) = %v, want invalid with %q", tc.doc, err, tc.want)
			}
		}
	})
	t.Run("ErrTooManyVersions", func(t *testing.T) {
		var b bytes.Buffer
		b.WriteString(`[`)
		for i := range MaxVersions + 1 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"1"`)
		}
		b.WriteString(`]`)
		_, err := extract(mustDecode(t, b.String()), mustPath(t, "[*]"), nil)
		if fault.CodeOf(err) != fault.TooLarge {
			t.Fatalf("extract = %v, want too large", err)
		}
	})
}

func TestNormalizeVersion(t *testing.T) {
	for in, want := range map[string]string{"2.4.1": "2.4.1", " v2.4.1 ": "2.4.1", "V10": "10", "v": "v", "vNext": "vNext", "2.4": "2.4"} {
		if got := NormalizeVersion(in); got != want {
			t.Errorf("NormalizeVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"version", "data.latest.version", "releases[*].version", "[*].tag_name", `a["b.c"][0]`, "$.a", "$[0]", "a..b", "a[", `["\u00e9"]`, "a[007]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			if fault.CodeOf(err) != fault.Invalid {
				t.Fatalf("ParsePath(%q): %v is not invalid", s, err)
			}
			return
		}
		if len(p) == 0 || len(p) > MaxPathSteps {
			t.Fatalf("ParsePath(%q) has %d steps", s, len(p))
		}
		canonical := p.String()
		again, err := ParsePath(canonical)
		if err != nil {
			t.Fatalf("ParsePath(%q) = %#v, whose String %q does not parse: %v", s, p, canonical, err)
		}
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("ParsePath(%q) = %#v; its String %q parses as %#v", s, p, canonical, again)
		}
	})
}

func FuzzExtract(f *testing.F) {
	f.Add(`{"data":{"latest":{"version":"2.4.1"}}}`, "data.latest.version", "")
	f.Add(`{"releases":[{"version":"1.0","date":"2025-01-01"},{"version":2}]}`, "releases[*].version", "releases[*].date")
	f.Add(`[{"tag_name":"v1"},null,{"tag_name":"v2"}]`, "[*].tag_name", "[*].published_at")
	f.Add(`{"resultCount":1,"results":[{"bundleId":"a.b","version":"1.0"}]}`, "results[0].version", "results[0].currentVersionReleaseDate")
	f.Add(`{"a":[[1,2],[3]]}`, "a[*][*]", "a[*]")
	f.Add(`{"a":`, "a", "")
	f.Fuzz(func(t *testing.T, body, versionPath, datePath string) {
		if p, err := readAppStore([]byte(body), "a.b"); err != nil {
			if c := fault.CodeOf(err); c != fault.Invalid && c != fault.NotFound {
				t.Fatalf("readAppStore: %v has code %s", err, c)
			}
		} else if len(p.Versions) == 0 {
			t.Fatal("readAppStore succeeded without versions")
		}
		p, err := readJSON([]byte(body), versionPath, datePath)
		if err != nil {
			if c := fault.CodeOf(err); c != fault.Invalid && c != fault.TooLarge {
				t.Fatalf("readJSON: %v has code %s", err, c)
			}
			return
		}
		if len(p.Versions) == 0 || len(p.Versions) > MaxVersions {
			t.Fatalf("readJSON succeeded with %d versions", len(p.Versions))
		}
		seen := map[string]bool{}
		for _, v := range p.Versions {
			n := NormalizeVersion(v.Version)
			if v.Version == "" || utf8.RuneCountInString(v.Version) > MaxVersionLen || !utf8.ValidString(v.Version) || seen[n] {
				t.Fatalf("readJSON returned a bad or repeated version %q", v.Version)
			}
			seen[n] = true
		}
	})
}
