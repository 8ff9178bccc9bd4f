package privacy_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/privacy"
)

// completeDoc returns a document that may be submitted.
func completeDoc() privacy.Document {
	para := func(topic string) string {
		return fmt.Sprintf("This section explains the %s of the commercial telemetry data source in enough detail for review.", topic)
	}
	return privacy.Document{
		Overview:         para("overview") + "\nIt is used only through Probity.",
		LegalAuthorities: []string{"6 U.S.C. 202", "19 U.S.C. 1589a"},
		Characterization: para("characterization"),
		Uses:             para("uses"),
		Notice:           para("notice"),
		Retention:        para("retention"),
		Sharing:          para("sharing"),
		Redress:          para("redress"),
		Auditing:         para("auditing"),
		Risks: []privacy.Risk{{Section: "uses", Description: "Analysts could query the locations of coworkers.",
			Mitigation: "Protected places screening withholds such results for privacy review.", Residual: privacy.RiskLow}},
	}
}

func TestDocument_Validate(t *testing.T) {
	for _, c := range []struct {
		name     string
		change   func(d *privacy.Document)
		draft    []string // fields ValidateDraft refuses
		complete []string // fields ValidateComplete refuses
	}{
		{name: "OK", change: func(*privacy.Document) {}},
		{name: "OKEmptyDraft", change: func(d *privacy.Document) { *d = privacy.Document{} },
			complete: []string{"overview", "legal_authorities", "characterization", "uses", "notice", "retention", "sharing", "redress", "auditing", "risks"}},
		{name: "ErrShortSection", change: func(d *privacy.Document) { d.Notice = "TBD" }, complete: []string{"notice"}},
		{name: "ErrLongSection", change: func(d *privacy.Document) { d.Sharing = strings.Repeat("x", privacy.MaxSectionLen+1) },
			draft: []string{"sharing"}, complete: []string{"sharing"}},
		{name: "ErrControlCharacter", change: func(d *privacy.Document) { d.Uses += "\x07" }, draft: []string{"uses"}, complete: []string{"uses"}},
		{name: "ErrInvalidUTF8", change: func(d *privacy.Document) { d.Redress = "\xff" + d.Redress }, draft: []string{"redress"}, complete: []string{"redress"}},
		{name: "ErrBlankAuthority", change: func(d *privacy.Document) { d.LegalAuthorities = append(d.LegalAuthorities, " ") },
			draft: []string{"legal_authorities[2]"}, complete: []string{"legal_authorities[2]"}},
		{name: "ErrAuthorityWithNewline", change: func(d *privacy.Document) { d.LegalAuthorities[0] = "6 U.S.C.\n202" },
			draft: []string{"legal_authorities[0]"}, complete: []string{"legal_authorities[0]"}},
		{name: "ErrRiskUnmitigated", change: func(d *privacy.Document) { d.Risks[0].Mitigation = "" }, complete: []string{"risks[0].mitigation"}},
		{name: "ErrRiskUnknownSection", change: func(d *privacy.Document) { d.Risks[0].Section = "appendix" },
			draft: []string{"risks[0].section"}, complete: []string{"risks[0].section"}},
		{name: "ErrRiskUnrated", change: func(d *privacy.Document) { d.Risks[0].Residual = "" }, complete: []string{"risks[0].residual"}},
		{name: "ErrRiskBadLevel", change: func(d *privacy.Document) { d.Risks[0].Residual = "negligible" },
			draft: []string{"risks[0].residual"}, complete: []string{"risks[0].residual"}},
		{name: "ErrSecondRiskIncomplete", change: func(d *privacy.Document) {
			d.Risks = append(d.Risks, privacy.Risk{Section: "retention", Description: "Kept too long."})
		}, complete: []string{"risks[1].description", "risks[1].mitigation", "risks[1].residual"}},
		{name: "ErrTooManyRisks", change: func(d *privacy.Document) {
			for len(d.Risks) <= privacy.MaxRisks {
				d.Risks = append(d.Risks, d.Risks[0])
			}
		}, draft: []string{"risks"}, complete: []string{"risks"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := completeDoc()
			c.change(&d)
			for _, v := range []struct {
				what   string
				err    error
				fields []string
			}{{"draft", d.ValidateDraft(), c.draft}, {"complete", d.ValidateComplete(), c.complete}} {
				if len(v.fields) == 0 {
					if v.err != nil {
						t.Errorf("%s: %v", v.what, v.err)
					}
					continue
				}
				checkFields(t, v.err, v.fields...)
			}
		})
	}
}

func TestDecodeDocument(t *testing.T) {
	good, _ := json.Marshal(completeDoc())
	for _, c := range []struct {
		name string
		in   string
		msg  string // part of the error message; "" for success
	}{
		{"OK", string(good), ""},
		{"OKTrailingSpace", string(good) + " \n", ""},
		{"OKPartialDraft", `{"overview":"Started."}`, ""},
		{"ErrUnknownField", `{"overveiw":"typo"}`, `unknown field "overveiw"`},
		{"ErrWrongType", `{"risks":"none"}`, `field "risks" must be`},
		{"ErrNotAnObject", `["overview"]`, "must be a JSON object"},
		{"ErrSyntax", `{"overview":}`, "syntax error at byte"},
		{"ErrEmpty", ``, "is empty"},
		{"ErrTrailingData", string(good) + `{}`, "data after its JSON object"},
		{"ErrTrailingBrace", string(good) + `}`, "data after its JSON object"},
		{"ErrTooLarge", `{"overview":"` + strings.Repeat("a", privacy.MaxDocumentSize) + `"}`, "larger than"},
		{"ErrInvalidDraft", `{"risks":[{"residual":"severe"}]}`, "risks[0].residual"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := privacy.DecodeDocument([]byte(c.in))
			if c.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				if d.LegalAuthorities == nil || d.Risks == nil {
					t.Error("a decoded document has nil lists")
				}
				return
			}
			if fault.CodeOf(err) != fault.Invalid || !strings.Contains(fault.MessageOf(err), c.msg) {
				t.Fatalf("DecodeDocument = %v; want Invalid with %q", err, c.msg)
			}
		})
	}
}

func TestDocument_Normalize(t *testing.T) {
	d := privacy.Document{Overview: "  line one  \r\nline two\t\r\n\r\n", LegalAuthorities: []string{" 6 U.S.C. 202 "}}
	d.Normalize()
	if d.Overview != "line one\nline two" || d.LegalAuthorities[0] != "6 U.S.C. 202" || d.Risks == nil {
		t.Fatalf("Normalize = %q %q %v", d.Overview, d.LegalAuthorities, d.Risks)
	}
	// Equal documents encode equally, whatever the spelling of their
	// line ends.
	e := privacy.Document{Overview: "line one\nline two", LegalAuthorities: []string{"6 U.S.C. 202"}}
	e.Normalize()
	if string(d.Encode()) != string(e.Encode()) {
		t.Errorf("%s != %s", d.Encode(), e.Encode())
	}
}

func TestDiff(t *testing.T) {
	a := completeDoc()
	b := completeDoc()
	b.Overview = strings.Replace(b.Overview, "It is used only through Probity.", "It is used only through Probity, by named analysts.", 1)
	b.LegalAuthorities = []string{"6 U.S.C. 202", "8 U.S.C. 1357", "19 U.S.C. 1589a"}
	b.Notice = ""
	b.Risks[0].Residual = privacy.RiskModerate
	b.Risks = append(b.Risks, privacy.Risk{Section: "sharing", Description: "Results shared outside the case.", Mitigation: "Export needs approval.", Residual: privacy.RiskLow})

	changes := privacy.Diff(a, b)
	var fields []string
	for _, c := range changes {
		fields = append(fields, c.Field+":"+c.Kind)
		if len(c.Lines) == 0 {
			t.Errorf("%s: empty diff", c.Field)
		}
	}
	want := []string{"overview:changed", "legal_authorities:changed", "notice:removed", "risks[0].residual:changed", "risks[1]:added"}
	if !slices.Equal(fields, want) {
		t.Fatalf("Diff fields = %v, want %v", fields, want)
	}
	overview := changes[0].Lines
	checkApply(t, strings.Split(a.Overview, "\n"), strings.Split(b.Overview, "\n"), overview)
	if old, new := privacy.Apply(changes[2].Lines); strings.Join(old, "\n") != a.Notice || len(new) != 0 {
		t.Errorf("the removed notice diff rebuilds %q, %q", old, new)
	}
	wantOverview := []privacy.LineOp{
		{Op: " ", Text: strings.Split(a.Overview, "\n")[0]},
		{Op: "-", Text: "It is used only through Probity."},
		{Op: "+", Text: "It is used only through Probity, by named analysts."},
	}
	if !slices.Equal(overview, wantOverview) {
		t.Errorf("overview diff = %q, want %q", overview, wantOverview)
	}
	auth := changes[1].Lines
	if !slices.Equal(auth, []privacy.LineOp{{Op: " ", Text: "6 U.S.C. 202"}, {Op: "+", Text: "8 U.S.C. 1357"}, {Op: " ", Text: "19 U.S.C. 1589a"}}) {
		t.Errorf("legal authorities diff = %q", auth)
	}
	if len(privacy.Diff(a, a)) != 0 {
		t.Error("a document differs from itself")
	}
	// The diff back undoes the diff forward.
	for _, c := range privacy.Diff(b, a) {
		if c.Field == "risks[1]" && c.Kind != "removed" {
			t.Errorf("the added risk, diffed back, is %s", c.Kind)
		}
	}
}

func TestDiffLines(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b string // lines separated by "|"
		want string // ops, e.g. " -+"
	}{
		{"Equal", "a|b|c", "a|b|c", "   "},
		{"Insert", "a|c", "a|b|c", " + "},
		{"Delete", "a|b|c", "a|c", " - "},
		{"Replace", "a|b|c", "a|x|c", " -+ "},
		{"FromNothing", "", "a|b", "++"},
		{"ToNothing", "a|b", "", "--"},
		{"Move", "a|b|c|d", "b|c|d|a", "-   +"},
		{"Interleaved", "a|b|c|d|e", "a|c|e|f", " - - +"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := lines(c.a), lines(c.b)
			ops := privacy.DiffLines(a, b)
			var got strings.Builder
			for _, o := range ops {
				got.WriteString(o.Op)
			}
			if got.String() != c.want {
				t.Errorf("ops %q, want %q (%q)", got.String(), c.want, ops)
			}
			checkApply(t, a, b, ops)
		})
	}
	t.Run("OKLargeFallsBack", func(t *testing.T) {
		// Beyond the work bound the diff is still correct, only longer.
		var a, b []string
		for i := range 3000 {
			a = append(a, fmt.Sprint("a", i))
			b = append(b, fmt.Sprint("b", i))
		}
		a, b = append(append([]string{"same"}, a...), "end"), append(append([]string{"same"}, b...), "end")
		ops := privacy.DiffLines(a, b)
		checkApply(t, a, b, ops)
		if ops[0] != (privacy.LineOp{Op: " ", Text: "same"}) || ops[len(ops)-1] != (privacy.LineOp{Op: " ", Text: "end"}) {
			t.Error("the common prefix and suffix are not kept")
		}
	})
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}

// checkApply checks that ops rebuild a and b, and keep no more lines than
// a longest common subsequence has (computed independently).
func checkApply(t *testing.T, a, b []string, ops []privacy.LineOp) {
	t.Helper()
	old, new := privacy.Apply(ops)
	if !slices.Equal(old, a) || !slices.Equal(new, b) {
		t.Fatalf("Apply(diff) = %q, %q; want %q, %q", old, new, a, b)
	}
	if len(a)*len(b) > 1<<20 {
		return
	}
	kept := 0
	for _, o := range ops {
		if o.Op == " " {
			kept++
		}
	}
	if want := lcsLen(a, b); kept != want {
		t.Errorf("the diff keeps %d lines; the longest common subsequence has %d", kept, want)
	}
}

func lcsLen(a, b []string) int {
	prev := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
			} else {
				cur[j] = max(prev[j], cur[j-1])
			}
		}
		prev = cur
	}
	return prev[len(b)]
}
