package program_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/program"
)

var update = flag.Bool("update", false, "rewrite the .golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what was produced:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	x, err := program.Parse(mustRead(t, "ok.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Reports) != 2 || len(x.Reports[0].Recommendations) != 2 || len(x.Reports[1].Recommendations) != 1 {
		t.Fatalf("parsed %+v", x)
	}
	r := x.Reports[0]
	if r.Issuer != program.GAO || r.Number != "GAO-99-1" || r.Issued.String() != "2024-03-01" || r.URL != "https://audits.example.gov/gao-99-1" {
		t.Errorf("report %+v", r.Report)
	}
	if x.Reports[1].Title != "Internal audit of supervisory review" {
		t.Errorf("title not trimmed: %q", x.Reports[1].Title)
	}
	first := r.Recommendations[0]
	if first.Status != program.Open || first.Owner != "cbp-isso" || first.OwnerComponent != "CBP" || first.Target.String() != "2025-06-30" || first.Report.Number != "GAO-99-1" {
		t.Errorf("first recommendation %+v (a missing status is open)", first)
	}
	second := r.Recommendations[1]
	if second.Status != program.Resolved || len(second.Links) != 2 || second.Links[1].Note != "Signed scanning procedure, version 2" ||
		second.Resolution.On.String() != "2024-11-15" || second.Text != "Write down who reviews scan results,\nand by when." {
		t.Errorf("second recommendation %+v", second)
	}
	closed := x.Reports[1].Recommendations[0]
	if closed.Status != program.Closed || closed.OwnerComponent != "" || !closed.Resolution.On.IsZero() || closed.Closure.On.String() != "2025-08-01" {
		t.Errorf("closed recommendation %+v", closed)
	}

	t.Run("Golden", func(t *testing.T) {
		out, err := program.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "ok.golden", out)
	})
	t.Run("RoundTrip", func(t *testing.T) {
		out, _ := program.Marshal(x)
		y, err := program.Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(x)): %v", err)
		}
		again, _ := program.Marshal(y)
		if !bytes.Equal(out, again) {
			t.Errorf("a second round trip changed the file:\n%s\n%s", out, again)
		}
	})
	t.Run("ByteOrderMark", func(t *testing.T) {
		if _, err := program.Parse(append([]byte("\xef\xbb\xbf"), mustRead(t, "ok.json")...)); err != nil {
			t.Fatalf("a byte order mark: %v", err)
		}
	})
}

// TestParse_Problems checks that a file with many problems gets them all,
// each with its line and field.
func TestParse_Problems(t *testing.T) {
	_, err := program.Parse(mustRead(t, "bad.json"))
	fe, ok := errors.AsType[*program.FileError](err)
	if !ok {
		t.Fatalf("err = %v, want a *FileError", err)
	}
	if fault.CodeOf(err) != fault.Invalid || fault.MessageOf(err) != err.Error() {
		t.Errorf("code %s, message %q", fault.CodeOf(err), fault.MessageOf(err))
	}
	golden(t, "bad.golden", []byte(err.Error()+"\n"))
	for _, p := range fe.Problems {
		if p.Line == 0 || p.Field == "" {
			t.Errorf("problem without a place: %+v", p)
		}
	}
}

func TestParse_Errors(t *testing.T) {
	const head = `{"format": "probity.recommendations/v1", "reports": [`
	report := func(recs string) string {
		return head + `{"issuer": "gao", "number": "GAO-1", "title": "T", "issued_on": "2024-01-01", "recommendations": [` + recs + `]}]}`
	}
	rec := func(extra string) string {
		return `{"number": "1", "text": "Do it.", "owner": "cbp-privacy"` + extra + `}`
	}
	for _, tc := range []struct {
		name      string
		in        string
		line, col int
		field     string
		msg       string
	}{
		{name: "Empty", in: " \n ", line: 1, col: 1, msg: "the file is empty"},
		{name: "NotJSON", in: "issuer,number\n", line: 1, col: 1, msg: "JSON syntax: invalid character 'i'"},
		{name: "Truncated", in: "{\n  \"format\": ", line: 2, col: 13, msg: "ends in the middle"},
		{name: "MissingComma", in: "{\"format\": \"x\"\n \"reports\": []}", line: 2, col: 2, msg: "JSON syntax: invalid character '\"' after object key:value pair"},
		{name: "Trailing", in: head + "]}\n{}", line: 2, col: 1, msg: "there is more after the end of the JSON document"},
		{name: "NotUTF8", in: "{\"format\": \"\xff\"}", line: 1, col: 13, msg: "not UTF-8"},
		{name: "TooDeep", in: strings.Repeat("[", 40), line: 1, col: 17, msg: "nested more than 16 levels deep"},
		{name: "DuplicateField", in: "{\"format\": \"x\",\n \"format\": \"y\"}", line: 2, col: 2, msg: "the field \"format\" appears twice"},
		{name: "NotObject", in: `[1, 2]`, line: 1, col: 1, msg: "the file must be an object, not an array"},
		{name: "Format", in: `{"format": "probity.recommendations/v9", "reports": [{"issuer": "gao", "number": "1", "title": "T", "issued_on": "2024-01-01"}]}`, line: 1, col: 12, field: "format", msg: `this program reads "probity.recommendations/v1"`},
		{name: "NoReports", in: head + `]}`, line: 1, col: 53, field: "reports", msg: "the file has no reports"},
		{name: "UnknownField", in: `{"format": "probity.recommendations/v1", "comment": "hi", "reports": [{"issuer": "gao", "number": "1", "title": "T", "issued_on": "2024-01-01"}]}`, line: 1, col: 42, field: "comment", msg: `unknown field "comment"; the file has the fields format, reports`},
		{name: "ReportNotObject", in: head + `"GAO-1"]}`, line: 1, col: 54, field: "reports[0]", msg: "a report must be an object, not a string"},
		{name: "MissingTitle", in: head + `{"issuer": "gao", "number": "GAO-1", "issued_on": "2024-01-01"}]}`, line: 1, col: 54, field: "reports[0].title", msg: `the field "title" is missing`},
		{name: "WrongType", in: head + `{"issuer": "gao", "number": 1, "title": "T", "issued_on": "2024-01-01"}]}`, line: 1, col: 82, field: "reports[0].number", msg: "must be a string, not a number"},
		{name: "BadIssuer", in: head + `{"issuer": "OIG", "number": "1", "title": "T", "issued_on": "2024-01-01"}]}`, line: 1, col: 65, field: "reports[0].issuer", msg: "not one of inspector_general, gao or internal"},
		{name: "BadDate", in: head + "{\"issuer\": \"gao\", \"number\": \"1\", \"title\": \"T\",\n\"issued_on\": \"2024-02-30\"}]}", line: 2, col: 14, field: "reports[0].issued_on", msg: `"2024-02-30" is not a date written YYYY-MM-DD`},
		{name: "DuplicateReport", in: head + `{"issuer": "gao", "number": "GAO-1", "title": "T", "issued_on": "2024-01-01"},` + "\n" + `{"issuer": "gao", "number": "gao-1", "title": "U", "issued_on": "2024-01-01"}]}`,
			line: 2, col: 29, field: "reports[1].number", msg: "report gao-1 of the GAO appears twice in the file (also at line 1)"},
		{name: "RecommendationText", in: report(`{"number": "1", "owner": "a",` + "\n" + `"text": "  "}`), line: 2, col: 9, field: "reports[0].recommendations[0].text", msg: "the recommendation's text is empty"},
		{name: "NoOwner", in: report(`{"number": "1", "text": "x"}`), line: 1, col: 152, field: "reports[0].recommendations[0].owner", msg: `the field "owner" is missing`},
		{name: "BlankOwner", in: report(`{"number": "1", "text": "x", "owner": " "}`), line: 1, col: 190, field: "reports[0].recommendations[0].owner", msg: "name the owner by employee ID"},
		{name: "OwnerComponent", in: report(rec(`, "owner_component": "Customs"`)), line: 1, col: 229, field: "reports[0].recommendations[0].owner_component", msg: `"Customs" is not a component code`},
		{name: "Status", in: report(rec(`, "status": "done"`)), line: 1, col: 220, field: "reports[0].recommendations[0].status", msg: `the status "done" is not one of open, resolved or closed`},
		{name: "ResolvedWithoutResolution", in: report(rec(`, "status": "resolved"`)), line: 1, col: 152, field: "reports[0].recommendations[0].resolution", msg: "a resolved recommendation needs its resolution"},
		{name: "OpenWithClosure", in: report(rec(`, "closure": {"note": "x"}`)), line: 1, col: 210, field: "reports[0].recommendations[0].closure", msg: "an open recommendation has no closure"},
		{name: "EmptyResolutionNote", in: report(rec(`, "status": "resolved", "resolution": {"note": ""}`)), line: 1, col: 255, field: "reports[0].recommendations[0].resolution.note", msg: "resolution note is empty"},
		{name: "LinkKind", in: report(rec(`, "links": [{"kind": "memo", "ref": "x"}]`)), line: 1, col: 229, field: "reports[0].recommendations[0].links[0].kind", msg: `the link kind "memo" is not one of`},
		{name: "LinkUnknownField", in: report(rec(`, "links": [{"kind": "control", "ref": "AC-2", "url": "x"}]`)), line: 1, col: 255, field: "reports[0].recommendations[0].links[0].url", msg: `unknown field "url"`},
		{name: "DuplicateLink", in: report(rec(`, "links": [{"kind": "control", "ref": "AC-2"}, {"kind": "control", "ref": "AC-2"}]`)), line: 1, col: 283, field: "reports[0].recommendations[0].links[1].ref", msg: "already links control AC-2"},
		{name: "DuplicateRecommendation", in: report(rec("") + ",\n" + rec("")), line: 2, col: 12, field: "reports[0].recommendations[1].number", msg: "recommendation 1 appears twice in report GAO-1 (also at line 1)"},
		{name: "TooLarge", in: `{"format": "` + strings.Repeat("x", program.MaxFileSize) + `"}`, msg: "the limit is 1048576 (1 MiB)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := program.Parse([]byte(tc.in))
			fe, ok := errors.AsType[*program.FileError](err)
			if !ok {
				t.Fatalf("Parse = %+v, %v; want a *FileError", x, err)
			}
			if len(x.Reports) != 0 {
				t.Errorf("a file with problems gave reports: %+v", x.Reports)
			}
			p := fe.Problems[0]
			if len(fe.Problems) != 1 || p.Line != tc.line || p.Column != tc.col || p.Field != tc.field || !strings.Contains(p.Message, tc.msg) {
				t.Errorf("problems %+v\nwant one at line %d, column %d, field %q: %q", fe.Problems, tc.line, tc.col, tc.field, tc.msg)
			}
			if tc.line > 0 && !strings.HasPrefix(err.Error(), fmt.Sprintf("line %d, column %d: ", tc.line, tc.col)) {
				t.Errorf("message %q does not start with its place", err)
			}
		})
	}
	t.Run("ErrManyProblems", func(t *testing.T) {
		var recs []string
		for i := range 30 {
			recs = append(recs, fmt.Sprintf(`{"number": "%d", "text": "x", "owner": "a", "status": "bad"}`, i))
		}
		_, err := program.Parse([]byte(report(strings.Join(recs, ",\n"))))
		fe, _ := errors.AsType[*program.FileError](err)
		if fe == nil || len(fe.Problems) != 20 || !fe.More || !strings.Contains(err.Error(), "(only the first 20 are listed)") {
			t.Fatalf("err = %v", err)
		}
		if fe.Problems[19].Line != 20 {
			t.Errorf("the 20th problem is on line %d", fe.Problems[19].Line)
		}
	})
}

// TestExchangeOf checks that what the store reads comes out as a file
// that reads back the same.
func TestExchangeOf(t *testing.T) {
	open := rec(program.Open)
	open.ID, open.Number, open.OwnerEmpID = 11, "10", "cbp-isso"
	closed := rec(program.Closed, "")
	closed.ID, closed.Number, closed.OwnerEmpID = 12, "2", "dept-privacy"
	orphan := rec(program.Open)
	orphan.ReportID = 99
	x := program.ExchangeOf([]program.Report{report}, []program.Recommendation{open, closed, orphan})
	if len(x.Reports) != 1 || len(x.Reports[0].Recommendations) != 2 {
		t.Fatalf("exchange %+v", x)
	}
	if got := x.Reports[0].Recommendations; got[0].Number != "2" || got[1].Number != "10" || got[0].Owner != "dept-privacy" || len(got[1].Links) != 2 {
		t.Errorf("recommendations %+v (numbers in order: 2 before 10)", got)
	}
	b, err := program.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	y, err := program.Parse(b)
	if err != nil {
		t.Fatalf("the export does not read back: %v\n%s", err, b)
	}
	got := y.Reports[0].Recommendations[0]
	if got.Status != program.Closed || got.Closure.Note != "OIG closure letter." || got.Resolution.On.String() != "2026-01-15" || !reflect.DeepEqual(got.Links[0].Link, program.Link{Kind: program.LinkPolicy, Ref: "cbp.ctd-procedures"}) {
		t.Errorf("read back %+v", got)
	}
}

// FuzzParse checks that no input makes Parse panic, that every refusal is
// a located *FileError, and that whatever Parse accepts writes out as a
// file that reads back to the same.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"ok.json", "bad.json"} {
		f.Add(mustRead(f, name))
	}
	f.Add([]byte(`{"format": "probity.recommendations/v1", "reports": [{"issuer": "gao", "number": "1", "title": "T", "issued_on": "2024-01-01"}]}`))
	f.Add([]byte(`{"format": "probity.recommendations/v1", "reports": [{"issuer": "gao", "number": "1", "title": "T", "issued_on": "2024-01-01", "recommendations": [{"number": "1", "text": "x", "owner": "a", "status": "closed", "resolution": {"note": "n"}, "closure": {"note": "c", "on": "2024-02-01"}}]}]}`))
	f.Add([]byte("\xef\xbb\xbf[]"))
	f.Add([]byte(`{"a": {"b": [1, 2.5e3, true, null]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := program.Parse(b)
		if err != nil {
			fe, ok := errors.AsType[*program.FileError](err)
			if !ok || len(fe.Problems) == 0 {
				t.Fatalf("err = %v, want a *FileError with problems", err)
			}
			if c := fault.CodeOf(err); c != fault.Invalid && c != fault.TooLarge {
				t.Fatalf("code %s", c)
			}
			lines := bytes.Count(b, []byte("\n")) + 1
			for _, p := range fe.Problems {
				if p.Line < 0 || p.Line > lines || (p.Line > 0 && p.Column < 1) || p.Message == "" {
					t.Fatalf("problem %+v in a file of %d lines", p, lines)
				}
			}
			return
		}
		out, err := program.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		y, err := program.Parse(out)
		if err != nil {
			t.Fatalf("accepted input writes out as a file that does not read back: %v\n%s", err, out)
		}
		again, _ := program.Marshal(y)
		if !bytes.Equal(out, again) {
			t.Fatalf("round trip changed the file:\n%s\n%s", out, again)
		}
	})
}

// BenchmarkParse reads a file of 20 reports of 25 recommendations each.
func BenchmarkParse(b *testing.B) {
	var reps []string
	for i := range 20 {
		var recs []string
		for j := range 25 {
			recs = append(recs, fmt.Sprintf(`{"number": "%d", "text": %q, "owner_component": "CBP", "owner": "cbp-privacy", "target_on": "2025-06-30", "status": "resolved",
				"links": [{"kind": "control", "ref": "AU-6"}, {"kind": "evidence", "ref": "ledger:%d", "note": "Review record"}],
				"resolution": {"on": "2025-05-01", "note": "Reviews now run every quarter."}}`, j+1, strings.Repeat("Review the logs. ", 20), j))
		}
		reps = append(reps, fmt.Sprintf(`{"issuer": "gao", "number": "GAO-%d", "title": "Report %d", "issued_on": "2024-01-01", "recommendations": [%s]}`, i, i, strings.Join(recs, ",")))
	}
	in := []byte(`{"format": "probity.recommendations/v1", "reports": [` + strings.Join(reps, ",") + `]}`)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := program.Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}
