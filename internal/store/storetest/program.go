package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/program"
	"github.com/probity-dev/probity/internal/store"
)

// programOrg is an organization to exercise the compliance program on:
// components CBP and ICE, a privacy officer and a security officer in each,
// the department privacy officer, an auditor, an administrator and a CBP
// supervisor.
type programOrg struct {
	db     *store.DB
	l      *store.Ledger
	p      *store.Program
	people map[string]identity.Person
	as     map[string]auth.Principal
}

func mustProgramOrg(t *testing.T, d store.Dialect) *programOrg {
	t.Helper()
	ctx := context.Background()
	db, l, _ := MustOpenNew(t, d)
	o := &programOrg{db: db, l: l, p: db.Program(), people: map[string]identity.Person{}, as: map[string]auth.Principal{}}
	ids := db.Identity()
	boot := auth.Principal{Kind: ledger.ActorToken, ID: "storetest-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	for _, c := range []string{"CBP", "ICE"} {
		if err := ids.CreateComponent(ctx, boot, identity.Component{Code: c, Name: c + " component"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []struct {
		label, component string
		role             auth.Role
	}{
		{"cbp-privacy", "CBP", auth.ComponentPrivacyOfficer},
		{"cbp-isso", "CBP", auth.SecurityOfficer},
		{"cbp-sup", "CBP", auth.Supervisor},
		{"ice-privacy", "ICE", auth.ComponentPrivacyOfficer},
		{"ice-isso", "ICE", auth.SecurityOfficer},
		{"dept-privacy", "", auth.DepartmentPrivacyOfficer},
		{"dept-auditor", "", auth.Auditor},
		{"dept-admin", "", auth.Administrator},
	} {
		p, _, err := ids.Invite(ctx, boot, identity.Person{EmployeeID: m.label, Name: "Person " + m.label, Email: m.label + "@example.gov", Component: m.component, Schedule: identity.DefaultSchedule()})
		if err != nil {
			t.Fatal(err)
		}
		g, err := ids.GrantRole(ctx, boot, identity.Grant{PersonID: p.ID, Role: m.role, Component: m.component})
		if err != nil {
			t.Fatal(err)
		}
		o.people[m.label] = p
		o.as[m.label] = identity.Principal(p, []identity.Grant{g})
	}
	return o
}

// entriesSince returns the types of the ledger entries integrated since
// size before.
func (o *programOrg) entriesSince(t *testing.T, before int64) []string {
	t.Helper()
	ctx := context.Background()
	size := o.integrated(t)
	var out []string
	for i := before; i < size; i++ {
		b, err := o.l.Entry(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		var e ledger.Entry
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Type)
	}
	return out
}

// integrated waits until every durable entry is integrated and returns
// the ledger's size.
func (o *programOrg) integrated(t *testing.T) int64 {
	t.Helper()
	return SettledSize(t, o.db, o.l)
}

// count counts the rows of a program table.
func (o *programOrg) count(t *testing.T, table string) int {
	t.Helper()
	ctx := context.Background()
	var n int
	if err := o.db.View(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// mustProgramCode checks an error's code and that its message says msg.
func mustProgramCode(t *testing.T, what string, err error, code fault.Code, msg string) {
	t.Helper()
	if fault.CodeOf(err) != code || err == nil || !strings.Contains(fault.MessageOf(err), msg) {
		t.Fatalf("%s: err = %v (%s), want %s saying %q", what, err, fault.CodeOf(err), code, msg)
	}
}

func testProgram(t *testing.T, d store.Dialect) {
	t.Run("Reports", func(t *testing.T) { testProgramReports(t, d) })
	t.Run("Recommendations", func(t *testing.T) { testProgramRecommendations(t, d) })
	t.Run("Steps", func(t *testing.T) { testProgramSteps(t, d) })
	t.Run("Concurrent", func(t *testing.T) { testProgramConcurrent(t, d) })
	t.Run("Import", func(t *testing.T) { testProgramImport(t, d) })
}

var programCTDReport = program.Report{Issuer: program.InspectorGeneral, Number: "OIG-23-61", Title: "Commercial telemetry data", Issued: program.MustDate("2023-09-26")}

func testProgramReports(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := mustProgramOrg(t, d)
	before := o.integrated(t)
	r, err := o.p.CreateReport(ctx, o.as["dept-privacy"], programCTDReport)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.entriesSince(t, before); !slices.Equal(got, []string{"program.report_created"}) {
		t.Fatalf("entries %v", got)
	}
	before = o.integrated(t)
	t.Run("ErrDuplicate", func(t *testing.T) {
		dup := programCTDReport
		dup.Number = "oig-23-61"
		_, err := o.p.CreateReport(ctx, o.as["dept-privacy"], dup)
		mustProgramCode(t, "a second OIG-23-61", err, fault.Conflict, "report oig-23-61 of the inspector general is already recorded")
		// Another issuer may use the same number.
		dup.Issuer = program.GAO
		if _, err := o.p.CreateReport(ctx, o.as["dept-privacy"], dup); err != nil {
			t.Fatal(err)
		}
		before = o.integrated(t)
	})
	t.Run("ErrRole", func(t *testing.T) {
		for _, who := range []string{"cbp-privacy", "dept-auditor", "dept-admin", "cbp-isso"} {
			x := programCTDReport
			x.Number = "OIG-99-" + who
			_, err := o.p.CreateReport(ctx, o.as[who], x)
			mustProgramCode(t, who, err, fault.Forbidden, "only the department privacy officer records audit reports")
		}
		if got := o.entriesSince(t, before); len(got) != 0 {
			t.Fatalf("refusals were recorded: %v", got)
		}
	})
	t.Run("List", func(t *testing.T) {
		rs, err := o.p.Reports(ctx, o.as["cbp-isso"])
		if err != nil || len(rs) != 2 || rs[0].Issued != programCTDReport.Issued || rs[0].CreatedBy != "dept-privacy" {
			t.Fatalf("reports %+v, %v", rs, err)
		}
		if slices.IndexFunc(rs, func(x program.Report) bool { return x.ID == r.ID }) < 0 {
			t.Errorf("report %d is not listed", r.ID)
		}
		_, err = o.p.Reports(ctx, o.as["dept-admin"])
		mustProgramCode(t, "the administrator", err, fault.Forbidden, "does not allow seeing the compliance program")
	})
}

// mustRec records a recommendation as the department privacy officer.
func (o *programOrg) mustRec(t *testing.T, reportID int64, number, component, owner string) program.Recommendation {
	t.Helper()
	r, err := o.p.CreateRecommendation(context.Background(), o.as["dept-privacy"], program.Recommendation{
		ReportID: reportID, Number: number, Text: "Recommendation " + number + " in plain words.", OwnerComponent: component,
		OwnerID: o.people[owner].ID, Target: program.MustDate("2024-07-31")})
	if err != nil {
		t.Fatalf("recommendation %s: %v", number, err)
	}
	return r
}

func testProgramRecommendations(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := mustProgramOrg(t, d)
	rep, err := o.p.CreateReport(ctx, o.as["dept-privacy"], programCTDReport)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		before := o.integrated(t)
		r, err := o.p.CreateRecommendation(ctx, o.as["cbp-privacy"], program.Recommendation{ReportID: rep.ID, Number: " 1 ", Text: "Finish CBP's procedures.",
			OwnerComponent: "CBP", OwnerID: o.people["cbp-isso"].ID, Target: program.MustDate("2030-01-31")})
		if err != nil {
			t.Fatal(err)
		}
		if r.Number != "1" || r.Status != program.Open || r.OwnerEmpID != "cbp-isso" || r.Version != 1 || r.Report.Number != "OIG-23-61" {
			t.Errorf("created %+v", r)
		}
		if got := o.entriesSince(t, before); !slices.Equal(got, []string{"program.recommendation_created"}) {
			t.Fatalf("entries %v", got)
		}
		b, _ := o.l.Entry(ctx, before)
		var e ledger.Entry
		json.Unmarshal(b, &e)
		if e.Component != "CBP" || e.Digest != ledger.PayloadDigest([]byte("Finish CBP's procedures.")) || e.Data["target_on"] != "2030-01-31" || e.Actor.ID != "cbp-privacy" {
			t.Errorf("entry %+v", e)
		}
		got, err := o.p.Recommendation(ctx, o.as["dept-auditor"], r.ID)
		if err != nil || got.Text != r.Text || got.Target != r.Target || got.OwnerName != "Person cbp-isso" || got.CreatedAt.IsZero() {
			t.Fatalf("read back %+v, %v", got, err)
		}
	})
	o.mustRec(t, rep.ID, "2", "ICE", "ice-privacy")
	o.mustRec(t, rep.ID, "3", "", "dept-privacy")
	t.Run("ErrOwner", func(t *testing.T) {
		if err := o.db.Identity().SetStatus(ctx, auth.Principal{Kind: ledger.ActorToken, ID: "admin", Grants: []auth.Grant{{Role: auth.Administrator}}}, o.people["ice-isso"].ID, identity.Disabled, "left"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, component string
			owner           int64
			msg             string
		}{
			{"OtherComponent", "CBP", o.people["ice-privacy"].ID, "belongs to ICE, not CBP: the owner must belong to the component that owns the recommendation"},
			{"DepartmentStaffForComponent", "CBP", o.people["dept-privacy"].ID, "belongs to the department, not CBP"},
			{"CannotSee", "CBP", o.people["cbp-sup"].ID, "holds no role that can see the compliance program in CBP"},
			{"Disabled", "ICE", o.people["ice-isso"].ID, "account is disabled"},
			{"Nobody", "CBP", 999999, "there is no person 999999"},
		} {
			_, err := o.p.CreateRecommendation(ctx, o.as["dept-privacy"], program.Recommendation{ReportID: rep.ID, Number: "9" + tc.name[:2], Text: "x", OwnerComponent: tc.component, OwnerID: tc.owner})
			mustProgramCode(t, tc.name, err, fault.Invalid, tc.msg)
			if program.FieldOf(err) != "owner" {
				t.Errorf("%s: field %q", tc.name, program.FieldOf(err))
			}
		}
	})
	t.Run("ErrDuplicateNumber", func(t *testing.T) {
		_, err := o.p.CreateRecommendation(ctx, o.as["dept-privacy"], program.Recommendation{ReportID: rep.ID, Number: "2", Text: "x", OwnerComponent: "ICE", OwnerID: o.people["ice-privacy"].ID})
		mustProgramCode(t, "number 2 again", err, fault.Conflict, "report OIG-23-61 already has a recommendation 2")
	})
	t.Run("ErrNoReport", func(t *testing.T) {
		_, err := o.p.CreateRecommendation(ctx, o.as["dept-privacy"], program.Recommendation{ReportID: 424242, Number: "1", Text: "x", OwnerComponent: "CBP", OwnerID: o.people["cbp-isso"].ID})
		mustProgramCode(t, "no report", err, fault.Invalid, "there is no report 424242")
	})
	t.Run("ErrManageElsewhere", func(t *testing.T) {
		_, err := o.p.CreateRecommendation(ctx, o.as["ice-privacy"], program.Recommendation{ReportID: rep.ID, Number: "8", Text: "x", OwnerComponent: "CBP", OwnerID: o.people["cbp-isso"].ID})
		mustProgramCode(t, "ICE's officer for CBP", err, fault.Forbidden, "manages CBP's recommendations")
	})
	t.Run("Visibility", func(t *testing.T) {
		for who, want := range map[string][]string{
			"cbp-privacy":  {"1", "3"},
			"cbp-isso":     {"1", "3"},
			"ice-privacy":  {"2", "3"},
			"dept-auditor": {"1", "2", "3"},
			"dept-privacy": {"1", "2", "3"},
		} {
			rs, err := o.p.Recommendations(ctx, o.as[who], store.RecommendationFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, r.Number)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s sees %v, want %v", who, got, want)
			}
		}
		rs, _ := o.p.Recommendations(ctx, o.as["dept-privacy"], store.RecommendationFilter{})
		cbp := rs[slices.IndexFunc(rs, func(r program.Recommendation) bool { return r.OwnerComponent == "CBP" })]
		if _, err := o.p.Recommendation(ctx, o.as["ice-privacy"], cbp.ID); fault.CodeOf(err) != fault.NotFound {
			t.Errorf("the ICE privacy officer reads CBP's recommendation: %v", err)
		}
		_, err := o.p.UpdateRecommendation(ctx, o.as["ice-privacy"], cbp.ID, program.Change{Text: programPtr("changed")})
		mustProgramCode(t, "ICE changes CBP's", err, fault.NotFound, fmt.Sprintf("there is no recommendation %d", cbp.ID))
		_, err = o.p.Recommendations(ctx, o.as["cbp-sup"], store.RecommendationFilter{})
		mustProgramCode(t, "a supervisor", err, fault.Forbidden, "compliance program")
		for f, want := range map[string]store.RecommendationFilter{"1": {Component: "CBP"}, "3": {Department: true}, "2,3": {Overdue: true, ReportID: rep.ID}} {
			rs, err := o.p.Recommendations(ctx, o.as["dept-auditor"], want)
			var got []string
			for _, r := range rs {
				got = append(got, r.Number)
			}
			slices.Sort(got)
			if err != nil || strings.Join(got, ",") != f {
				t.Errorf("filter %+v: %v, %v; want %s", want, got, err, f)
			}
		}
	})
	t.Run("Update", func(t *testing.T) {
		rs, _ := o.p.Recommendations(ctx, o.as["dept-privacy"], store.RecommendationFilter{Component: "ICE"})
		ice := rs[0]
		before := o.integrated(t)
		later := program.MustDate("2025-03-31")
		_, err := o.p.UpdateRecommendation(ctx, o.as["ice-privacy"], ice.ID, program.Change{Target: &later})
		mustProgramCode(t, "later without a reason", err, fault.Invalid, "give a reason for moving it to 2025-03-31")
		got, err := o.p.UpdateRecommendation(ctx, o.as["ice-privacy"], ice.ID, program.Change{Target: &later, Reason: "Funding arrived late."})
		if err != nil || got.Target != later || got.Version != ice.Version+1 {
			t.Fatalf("update %+v, %v", got, err)
		}
		// Moving to CBP, with a CBP owner, needs the department.
		move := program.Change{OwnerComponent: programPtr("CBP"), OwnerID: programPtr(o.people["cbp-isso"].ID)}
		_, err = o.p.UpdateRecommendation(ctx, o.as["ice-privacy"], ice.ID, move)
		mustProgramCode(t, "ICE moves to CBP", err, fault.Forbidden, "manages CBP's recommendations")
		_, err = o.p.UpdateRecommendation(ctx, o.as["dept-privacy"], ice.ID, program.Change{OwnerComponent: programPtr("CBP")})
		mustProgramCode(t, "move without a new owner", err, fault.Invalid, "belongs to ICE, not CBP")
		got, err = o.p.UpdateRecommendation(ctx, o.as["dept-privacy"], ice.ID, move)
		if err != nil || got.OwnerComponent != "CBP" || got.OwnerEmpID != "cbp-isso" {
			t.Fatalf("move %+v, %v", got, err)
		}
		if _, err := o.p.Recommendation(ctx, o.as["ice-privacy"], ice.ID); fault.CodeOf(err) != fault.NotFound {
			t.Errorf("ICE still sees the moved recommendation: %v", err)
		}
		// Nothing to change: no entry.
		if _, err := o.p.UpdateRecommendation(ctx, o.as["dept-privacy"], ice.ID, program.Change{Text: programPtr(got.Text)}); err != nil {
			t.Fatal(err)
		}
		want := []string{"program.recommendation_updated", "program.recommendation_updated"}
		if got := o.entriesSince(t, before); !slices.Equal(got, want) {
			t.Errorf("entries %v, want %v", got, want)
		}
	})
}

func programPtr[T any](v T) *T { return &v }

func testProgramSteps(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := mustProgramOrg(t, d)
	rep, err := o.p.CreateReport(ctx, o.as["dept-privacy"], programCTDReport)
	if err != nil {
		t.Fatal(err)
	}
	r := o.mustRec(t, rep.ID, "4", "CBP", "cbp-isso")
	before := o.integrated(t)
	step := program.Step{Note: "Procedures signed."}

	_, err = o.p.Resolve(ctx, o.as["cbp-privacy"], r.ID, step)
	mustProgramCode(t, "resolve without evidence", err, fault.Precondition, "no evidence linked")
	_, err = o.p.AddLink(ctx, o.as["ice-isso"], r.ID, program.Link{Kind: program.LinkEvidence, Ref: "ledger:1"})
	mustProgramCode(t, "ICE's officer links", err, fault.NotFound, "there is no recommendation")
	_, err = o.p.AddLink(ctx, o.as["dept-auditor"], r.ID, program.Link{Kind: program.LinkEvidence, Ref: "ledger:1"})
	mustProgramCode(t, "the auditor links", err, fault.Forbidden, "only the owner of recommendation 4 of OIG-23-61")
	// The owner links the evidence; the privacy officer a control.
	ev, err := o.p.AddLink(ctx, o.as["cbp-isso"], r.ID, program.Link{Kind: program.LinkEvidence, Ref: "ledger:1", Note: "Directive publication"})
	if err != nil || ev.ID == 0 || ev.AddedBy != "cbp-isso" {
		t.Fatalf("link %+v, %v", ev, err)
	}
	ctl, err := o.p.AddLink(ctx, o.as["cbp-privacy"], r.ID, program.Link{Kind: program.LinkControl, Ref: "AU-6"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = o.p.AddLink(ctx, o.as["cbp-privacy"], r.ID, program.Link{Kind: program.LinkEvidence, Ref: "ledger:1"})
	mustProgramCode(t, "the same link twice", err, fault.Conflict, "already links evidence ledger:1")
	if _, err := o.p.RemoveLink(ctx, o.as["cbp-privacy"], r.ID, ctl.ID); err != nil {
		t.Fatal(err)
	}
	_, err = o.p.Close(ctx, o.as["dept-privacy"], r.ID, program.Step{Note: "x"})
	mustProgramCode(t, "close while open", err, fault.Conflict, "must be resolved")
	_, err = o.p.Resolve(ctx, o.as["cbp-isso"], r.ID, step)
	mustProgramCode(t, "the owner resolves", err, fault.Forbidden, "only the privacy officer of CBP or the department privacy officer marks")
	_, err = o.p.Resolve(ctx, o.as["cbp-privacy"], r.ID, program.Step{Note: "Done.", On: program.MustDate("2023-01-01")})
	mustProgramCode(t, "resolve before the report", err, fault.Invalid, "before the report's date")
	res, err := o.p.Resolve(ctx, o.as["cbp-privacy"], r.ID, program.Step{Note: " Procedures signed. ", On: program.MustDate("2024-06-28")})
	if err != nil || res.Status != program.Resolved || res.Resolution.On.String() != "2024-06-28" || res.Resolution.Note != "Procedures signed." {
		t.Fatalf("resolve %+v, %v", res, err)
	}
	_, err = o.p.RemoveLink(ctx, o.as["cbp-privacy"], r.ID, ev.ID)
	mustProgramCode(t, "remove evidence while resolved", err, fault.Conflict, "reopen it to remove one")
	_, err = o.p.Close(ctx, o.as["cbp-privacy"], r.ID, program.Step{Note: "Accepted."})
	mustProgramCode(t, "the component closes", err, fault.Forbidden, "only the department privacy officer records the issuer's closure")
	closed, err := o.p.Close(ctx, o.as["dept-privacy"], r.ID, program.Step{Note: "OIG letter of 2024-09-03.", On: program.MustDate("2024-09-03")})
	if err != nil || closed.Status != program.Closed {
		t.Fatalf("close %+v, %v", closed, err)
	}
	_, err = o.p.Reopen(ctx, o.as["cbp-privacy"], r.ID, "We found a gap.")
	mustProgramCode(t, "the component reopens a closed one", err, fault.Forbidden, "which the issuer closed")
	_, err = o.p.UpdateRecommendation(ctx, o.as["dept-privacy"], r.ID, program.Change{Text: programPtr("x")})
	mustProgramCode(t, "change a closed one", err, fault.Conflict, "reopen it to change it")
	reopened, err := o.p.Reopen(ctx, o.as["dept-privacy"], r.ID, "OIG reopened it.")
	if err != nil || reopened.Status != program.Open || !reopened.Resolution.On.IsZero() {
		t.Fatalf("reopen %+v, %v", reopened, err)
	}

	got, err := o.p.Recommendation(ctx, o.as["dept-auditor"], r.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The history holds the steps taken, and those refused for the wrong
	// role or out of order; a bad date is a mistake, not a refused step.
	var hist []string
	for _, h := range got.History {
		if h.Refused != "" {
			hist = append(hist, fmt.Sprintf("refused %s %s>%s by %s: %s", h.Action, h.From, h.To, h.By, h.Refused))
			continue
		}
		hist = append(hist, fmt.Sprintf("%s %s>%s %s %s by %s", h.Action, h.From, h.To, h.On, h.Note, h.By))
	}
	wantHist := []string{
		"refused resolved open>open by cbp-privacy: recommendation 4 of OIG-23-61 has no evidence linked: link at least one piece of evidence of what was done before marking it resolved",
		"refused closed open>open by dept-privacy: recommendation 4 of OIG-23-61 is open: it must be resolved, with its evidence, before the issuer's closure can be recorded",
		"refused resolved open>open by cbp-isso: only the privacy officer of CBP or the department privacy officer marks recommendation 4 of OIG-23-61 resolved",
		"resolved open>resolved 2024-06-28 Procedures signed. by cbp-privacy",
		"refused closed resolved>resolved by cbp-privacy: only the department privacy officer records the issuer's closure of recommendation 4 of OIG-23-61",
		"closed resolved>closed 2024-09-03 OIG letter of 2024-09-03. by dept-privacy",
		"refused reopened closed>closed by cbp-privacy: only the department privacy officer reopens recommendation 4 of OIG-23-61, which the issuer closed",
		"reopened closed>open  OIG reopened it. by dept-privacy",
	}
	if !slices.Equal(hist, wantHist) {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(hist, "\n"), strings.Join(wantHist, "\n"))
	}
	if len(got.Links) != 1 || got.Links[0].Note != "Directive publication" || got.Version != r.Version+6 {
		t.Errorf("links %+v, version %d (from %d)", got.Links, got.Version, r.Version)
	}
	// Every change and every refused step, and nothing else, is in the
	// ledger.
	want := []string{"program.step_refused", "program.link_added", "program.link_added", "program.link_removed", "program.step_refused",
		"program.step_refused", "program.recommendation_resolved", "program.step_refused", "program.recommendation_closed",
		"program.step_refused", "program.recommendation_reopened"}
	if got := o.entriesSince(t, before); !slices.Equal(got, want) {
		t.Errorf("entries:\n%v\nwant\n%v", got, want)
	}
	t.Run("Summary", func(t *testing.T) {
		o.mustRec(t, rep.ID, "5", "", "dept-privacy")
		s, err := o.p.Summary(ctx, o.as["cbp-privacy"])
		if err != nil {
			t.Fatal(err)
		}
		if s.Total != 2 || s.Open != 2 || s.Overdue != 2 || len(s.OverdueList) != 2 || s.Today != o.p.Today() {
			t.Errorf("summary %+v", s)
		}
	})
}

// testProgramConcurrent resolves one recommendation from several
// goroutines: exactly one succeeds.
func testProgramConcurrent(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := mustProgramOrg(t, d)
	rep, err := o.p.CreateReport(ctx, o.as["dept-privacy"], programCTDReport)
	if err != nil {
		t.Fatal(err)
	}
	r := o.mustRec(t, rep.ID, "1", "CBP", "cbp-isso")
	if _, err := o.p.AddLink(ctx, o.as["cbp-isso"], r.ID, program.Link{Kind: program.LinkEvidence, Ref: "ledger:1"}); err != nil {
		t.Fatal(err)
	}
	before := o.integrated(t)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			who := []string{"cbp-privacy", "dept-privacy"}[i%2]
			_, errs[i] = o.p.Resolve(ctx, o.as[who], r.ID, program.Step{Note: fmt.Sprintf("Resolution %d", i)})
		})
	}
	wg.Wait()
	// The losers either saw it resolved (a refused step, recorded) or
	// were overtaken while deciding (a conflict to retry, not a step).
	ok, refused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case fault.CodeOf(err) != fault.Conflict:
			t.Errorf("a concurrent resolution failed with %v", err)
		case strings.Contains(err.Error(), "is already resolved"):
			refused++
		case !strings.Contains(err.Error(), "changed while you were changing it"):
			t.Errorf("a concurrent resolution failed with %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent resolutions succeeded: %v", ok, n, errs)
	}
	want := []string{"program.recommendation_resolved"}
	for range refused {
		want = append(want, "program.step_refused")
	}
	got := o.entriesSince(t, before)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("entries %v, want %v", got, want)
	}
	if n := o.count(t, "recommendation_steps"); n != 1+refused {
		t.Errorf("%d steps recorded, want %d", n, 1+refused)
	}
}

// programImportFile is an exchange file of two reports; its last recommendation's
// owner is given by the caller.
func programImportFile(lastOwner string) []byte {
	return []byte(`{
  "format": "probity.recommendations/v1",
  "reports": [
    {
      "issuer": "inspector_general", "number": "OIG-23-61", "title": "Commercial telemetry data", "issued_on": "2023-09-26",
      "recommendations": [
        {"number": "1", "text": "Issue a department-wide policy.", "owner": "dept-privacy", "target_on": "2024-07-31"},
        {"number": "2", "text": "Finish CBP's procedures.", "owner_component": "CBP", "owner": "cbp-privacy", "status": "closed",
         "links": [{"kind": "evidence", "ref": "ledger:1"}, {"kind": "control", "ref": "AC-2"}],
         "resolution": {"on": "2024-05-01", "note": "Signed."}, "closure": {"on": "2024-08-01", "note": "OIG accepted."}}
      ]
    },
    {
      "issuer": "gao", "number": "GAO-24-1", "title": "Mobile apps", "issued_on": "2024-01-15",
      "recommendations": [
        {"number": "1", "text": "Scan every release.", "owner_component": "ICE", "owner": "ice-isso", "status": "resolved",
         "links": [{"kind": "evidence", "ref": "ledger:2"}], "resolution": {"note": "Scanning in place."}},
        {"number": "2", "text": "Review the logs.", "owner_component": "ICE",
         "owner": "` + lastOwner + `"}
      ]
    }
  ]
}`)
}

func testProgramImport(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := mustProgramOrg(t, d)
	dpo := o.as["dept-privacy"]
	tables := []string{"audit_reports", "recommendations", "recommendation_links", "recommendation_steps"}
	empty := func(t *testing.T, before int64) {
		t.Helper()
		for _, tb := range tables {
			if n := o.count(t, tb); n != 0 {
				t.Errorf("a failed import left %d rows in %s", n, tb)
			}
		}
		if got := o.entriesSince(t, before); len(got) != 0 {
			t.Errorf("a failed import left ledger entries: %v", got)
		}
	}
	before := o.integrated(t)
	for _, tc := range []struct {
		name  string
		by    string
		file  []byte
		code  fault.Code
		line  int
		field string
		msg   string
	}{
		// The last record fails: everything before it is undone.
		{name: "ErrUnknownOwner", by: "dept-privacy", file: programImportFile("nobody"), code: fault.Invalid, line: 19, field: "reports[1].recommendations[1].owner", msg: `there is no person with employee ID "nobody"`},
		{name: "ErrOwnerInAnotherComponent", by: "dept-privacy", file: programImportFile("cbp-isso"), code: fault.Invalid, line: 19, field: "reports[1].recommendations[1].owner", msg: "belongs to CBP, not ICE"},
		// A component's privacy officer records no reports and closes nothing.
		{name: "ErrComponentOfficer", by: "cbp-privacy", file: programImportFile("ice-privacy"), code: fault.Forbidden, line: 4, field: "reports[0]", msg: "only the department privacy officer records audit reports"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := program.Parse(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = o.p.Import(ctx, o.as[tc.by], x, ledger.PayloadDigest(tc.file))
			fe, ok := errors.AsType[*program.FileError](err)
			if !ok || fault.CodeOf(err) != tc.code || len(fe.Problems) != 1 {
				t.Fatalf("err = %v (%s)", err, fault.CodeOf(err))
			}
			if p := fe.Problems[0]; p.Line != tc.line || p.Field != tc.field || !strings.Contains(p.Message, tc.msg) {
				t.Errorf("problem %+v, want line %d, field %s: %q", p, tc.line, tc.field, tc.msg)
			}
			empty(t, before)
		})
	}
	file := programImportFile("ice-privacy")
	x, err := program.Parse(file)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ErrResolvedWithoutEvidence", func(t *testing.T) {
		bad := x
		bad.Reports = slices.Clone(x.Reports)
		bad.Reports[1].Recommendations = slices.Clone(x.Reports[1].Recommendations)
		bad.Reports[1].Recommendations[0].Links = nil
		_, err := o.p.Import(ctx, dpo, bad, "")
		mustProgramCode(t, "resolved without evidence", err, fault.Precondition, "no evidence linked")
		if !strings.HasPrefix(err.Error(), "line 17, column 76: reports[1].recommendations[0].resolution.links:") {
			t.Errorf("located at %q", err)
		}
		empty(t, before)
	})
	res, err := o.p.Import(ctx, dpo, x, ledger.PayloadDigest(file))
	if err != nil {
		t.Fatal(err)
	}
	if res != (store.ProgramImport{Reports: 2, Recommendations: 4, Links: 3, Resolved: 2, Closed: 1}) {
		t.Errorf("result %+v", res)
	}
	entries := o.entriesSince(t, before)
	if len(entries) != 2+4+3+2+1+1 || entries[len(entries)-1] != "program.imported" {
		t.Errorf("entries %v", entries)
	}
	last, _ := o.l.Entry(ctx, before+int64(len(entries))-1)
	var e ledger.Entry
	json.Unmarshal(last, &e)
	if e.Digest != ledger.PayloadDigest(file) || e.Data["recommendations"] != float64(4) {
		t.Errorf("import entry %+v", e)
	}
	t.Run("ErrAgain", func(t *testing.T) {
		before := o.integrated(t)
		_, err := o.p.Import(ctx, dpo, x, "")
		mustProgramCode(t, "the same file again", err, fault.Conflict, "report OIG-23-61 of the inspector general is already recorded")
		if !strings.HasPrefix(err.Error(), "line 5, column 48: reports[0].number:") {
			t.Errorf("located at %q", err)
		}
		if got := o.entriesSince(t, before); len(got) != 0 {
			t.Errorf("entries %v", got)
		}
	})
	t.Run("Export", func(t *testing.T) {
		out, err := o.p.Export(ctx, dpo)
		if err != nil {
			t.Fatal(err)
		}
		b, err := program.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		// Reports come newest first.
		sorted := program.Exchange{Reports: []program.ExchangeReport{x.Reports[1], x.Reports[0]}}
		want, _ := program.Marshal(sorted)
		// The import's resolution without a day was resolved today.
		want = []byte(strings.Replace(string(want), `"resolution": {
            "on": "",`, `"resolution": {
            "on": "`+o.p.Today().String()+`",`, 1))
		if string(b) != string(want) {
			t.Errorf("export differs from the import:\n%s\nwant\n%s", b, want)
		}
		// A component's reader exports its own and the department's.
		cbp, err := o.p.Export(ctx, o.as["cbp-isso"])
		if err != nil {
			t.Fatal(err)
		}
		if n := len(cbp.Reports[0].Recommendations) + len(cbp.Reports[1].Recommendations); n != 2 {
			t.Errorf("CBP exports %d recommendations", n)
		}
	})
}
