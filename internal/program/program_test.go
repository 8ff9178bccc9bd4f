package program_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/program"
)

func TestParseDate(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"2024-07-31", "2024-07-31", true},
		{"", "", true},
		{"2024-02-30", "", false},
		{"2024-7-31", "", false},
		{"31/07/2024", "", false},
		{"2024-07-31T00:00:00Z", "", false},
		{"1899-12-31", "", false},
		{" 2024-07-31", "", false},
	} {
		d, err := program.ParseDate(tc.in)
		if (err == nil) != tc.ok || d.String() != tc.want {
			t.Errorf("ParseDate(%q) = %q, %v", tc.in, d, err)
		}
	}
	late := time.Date(2026, 3, 10, 23, 59, 0, 0, time.FixedZone("EST", -5*3600)) // 04:59 UTC on the 11th
	if got := program.DateOf(late).String(); got != "2026-03-11" {
		t.Errorf("DateOf counts days in UTC: got %s", got)
	}
	if d := program.MustDate("2026-03-11").DaysAfter(program.MustDate("2026-02-28")); d != 11 {
		t.Errorf("DaysAfter = %d", d)
	}
}

func TestReport_Validate(t *testing.T) {
	ok := report
	ok.URL = "https://www.oig.dhs.gov/reports/2023/oig-23-61"
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(*program.Report)
		field  string
		msg    string
	}{
		{"ErrIssuer", func(r *program.Report) { r.Issuer = "oig" }, "issuer", "not one of inspector_general, gao or internal"},
		{"ErrNoNumber", func(r *program.Report) { r.Number = "" }, "number", "report number is empty"},
		{"ErrNumber", func(r *program.Report) { r.Number = "OIG-23-61;" }, "number", "must be up to 40 letters"},
		{"ErrLongNumber", func(r *program.Report) { r.Number = strings.Repeat("9", 41) }, "number", "must be up to 40"},
		{"ErrTitle", func(r *program.Report) { r.Title = " " }, "title", "title is empty"},
		{"ErrTitleControl", func(r *program.Report) { r.Title = "a\x00b" }, "title", "control or invisible character (U+0000)"},
		{"ErrTitleLineBreak", func(r *program.Report) { r.Title = "two\nlines" }, "title", "control"},
		{"ErrLongTitle", func(r *program.Report) { r.Title = strings.Repeat("é", 501) }, "title", "501 characters long; the limit is 500"},
		{"ErrNoDate", func(r *program.Report) { r.Issued = program.Date{} }, "issued_on", "date is missing"},
		{"ErrURLScheme", func(r *program.Report) { r.URL = "ftp://oig.example/x" }, "url", "not an http:// or https:// address"},
		{"ErrURLUser", func(r *program.Report) { r.URL = "https://user:pw@oig.example/x" }, "url", "not an http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.change(&r)
			err := r.Validate()
			wantErr(t, err, fault.Invalid, tc.msg)
			if f := program.FieldOf(err); f != tc.field {
				t.Errorf("field %q, want %q", f, tc.field)
			}
		})
	}
}

func TestRecommendation_Validate(t *testing.T) {
	if err := rec(program.Open).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(*program.Recommendation)
		field  string
		msg    string
	}{
		{"ErrNoNumber", func(r *program.Recommendation) { r.Number = "" }, "number", "number is empty"},
		{"ErrNumber", func(r *program.Recommendation) { r.Number = "#3" }, "number", "e.g. \"3\" or \"2a\""},
		{"ErrText", func(r *program.Recommendation) { r.Text = "\n\t" }, "text", "text is empty"},
		{"ErrLongText", func(r *program.Recommendation) { r.Text = strings.Repeat("x", program.MaxText+1) }, "text", "the limit is 4000"},
		{"ErrComponent", func(r *program.Recommendation) { r.OwnerComponent = "cbp" }, "owner_component", "not a component code"},
		{"ErrOwner", func(r *program.Recommendation) { r.OwnerID = 0 }, "owner", "no owner"},
		{"ErrStatus", func(r *program.Recommendation) { r.Status = "done" }, "status", "not one of open, resolved or closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rec(program.Open)
			tc.change(&r)
			err := r.Validate()
			wantErr(t, err, fault.Invalid, tc.msg)
			if f := program.FieldOf(err); f != tc.field {
				t.Errorf("field %q, want %q", f, tc.field)
			}
		})
	}
	t.Run("OKMultilineText", func(t *testing.T) {
		r := rec(program.Open)
		r.Text = "Do this:\n\t1. first\r\n\t2. second"
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRecommendation_Overdue(t *testing.T) {
	today := program.MustDate("2026-01-01")
	for _, tc := range []struct {
		status program.Status
		target string
		want   int // days overdue; -1 for not overdue
	}{
		{program.Open, "2025-12-31", 1},
		{program.Open, "2026-01-01", -1}, // due today is not yet late
		{program.Open, "2025-10-03", 90},
		{program.Open, "", -1},
		{program.Resolved, "2025-01-01", -1}, // the agency's part is done
		{program.Closed, "2025-01-01", -1},
	} {
		r := rec(tc.status)
		r.Target, _ = program.ParseDate(tc.target)
		overdue := r.Overdue(today)
		if overdue != (tc.want > 0) || (tc.want > 0 && r.DaysOverdue(today) != tc.want) || (tc.want < 0 && r.DaysOverdue(today) != 0) {
			t.Errorf("%s, target %q: overdue %v by %d days, want %d", tc.status, tc.target, overdue, r.DaysOverdue(today), tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	today := program.MustDate("2026-03-10")
	other := program.Report{ID: 2, Issuer: program.InspectorGeneral, Number: "OIG-21-48", Issued: program.MustDate("2021-07-15")}
	mk := func(id int64, rep program.Report, comp string, st program.Status, target string) program.Recommendation {
		r := rec(st, comp)
		r.ID, r.ReportID, r.Report = id, rep.ID, rep
		r.Target, _ = program.ParseDate(target)
		return r
	}
	recs := []program.Recommendation{
		mk(1, report, "", program.Open, "2024-07-31"),    // overdue 587 days
		mk(2, report, "CBP", program.Open, "2026-03-31"), // due soon
		mk(3, report, "ICE", program.Open, ""),           // no target
		mk(4, report, "ICE", program.Resolved, "2025-01-01"),
		mk(5, other, "CBP", program.Closed, "2022-06-30"),
		mk(6, other, "CBP", program.Open, "2026-02-28"), // overdue 10 days
		mk(7, other, "CBP", program.Open, "2027-01-01"), // neither
	}
	s := program.Summarize(recs, today)
	want := program.Counts{Total: 7, Open: 5, Resolved: 1, Closed: 1, Overdue: 2, DueSoon: 1, NoTarget: 1}
	if s.Counts != want {
		t.Errorf("counts %+v, want %+v", s.Counts, want)
	}
	var comps []string
	for _, c := range s.Components {
		comps = append(comps, c.Component+":"+strconv.Itoa(c.Total)+"/"+strconv.Itoa(c.Overdue))
	}
	if got := strings.Join(comps, " "); got != ":1/1 CBP:4/1 ICE:2/0" {
		t.Errorf("components %s", got)
	}
	if len(s.Reports) != 2 || s.Reports[0].Report.Number != "OIG-23-61" || s.Reports[0].Total != 4 || s.Reports[1].Closed != 1 {
		t.Errorf("reports %+v", s.Reports)
	}
	if len(s.OverdueList) != 2 || s.OverdueList[0].ID != 1 || s.OverdueList[1].ID != 6 || s.OverdueList[0].DaysOverdue(today) != 587 {
		t.Errorf("overdue list %+v", s.OverdueList)
	}
	if empty := program.Summarize(nil, today); empty.Total != 0 || len(empty.Components) != 0 {
		t.Errorf("empty summary %+v", empty)
	}
}
