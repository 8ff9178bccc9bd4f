package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/program"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// A programFixture is what the authorization matrix's compliance program
// cases act on: a report with a recommendation of CBP, one of ICE and one
// of the department, made directly in the store.
type programFixture struct {
	ts                       *testServer
	dpo                      auth.Principal
	report                   program.Report
	cbpRec, iceRec, deptRec  program.Recommendation
	linkRec                  program.Recommendation // links are removed from it
	cbpOwner, iceOwner, dept int64
}

func mustProgramFixture(t *testing.T, m *matrix) *programFixture {
	t.Helper()
	ctx := context.Background()
	fx := &programFixture{ts: m.ts, dpo: m.principalOf(t, m.person["dpo"]),
		cbpOwner: m.person["cbp-isso"].ID, iceOwner: m.person["ice-isso"].ID, dept: m.person["dpo"].ID}
	var err error
	fx.report, err = m.ts.Program.CreateReport(ctx, fx.dpo, program.Report{Issuer: program.InspectorGeneral, Number: "OIG-MX-1", Title: "Matrix report", Issued: program.MustDate("2024-01-15")})
	if err != nil {
		t.Fatal(err)
	}
	fx.cbpRec = fx.rec(t, "CBP", program.Open)
	fx.iceRec = fx.rec(t, "ICE", program.Open)
	fx.deptRec = fx.rec(t, "", program.Open)
	fx.linkRec = fx.rec(t, "CBP", program.Open)
	return fx
}

// rec records a recommendation of component in the given status, with an
// evidence link.
func (fx *programFixture) rec(t *testing.T, component string, status program.Status) program.Recommendation {
	t.Helper()
	ctx := context.Background()
	owner := map[string]int64{"CBP": fx.cbpOwner, "ICE": fx.iceOwner, "": fx.dept}[component]
	r, err := fx.ts.Program.CreateRecommendation(ctx, fx.dpo, program.Recommendation{ReportID: fx.report.ID, Number: fmt.Sprint(fx.ts.next()),
		Text: "Review the access logs every quarter.", OwnerComponent: component, OwnerID: owner, Target: program.MustDate("2025-06-30")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.ts.Program.AddLink(ctx, fx.dpo, r.ID, program.Link{Kind: program.LinkEvidence, Ref: "ledger:1"}); err != nil {
		t.Fatal(err)
	}
	if status != program.Open {
		if r, err = fx.ts.Program.Resolve(ctx, fx.dpo, r.ID, program.Step{Note: "Reviews run every quarter."}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func recPath(id int64, suffix string) string {
	return fmt.Sprintf("/api/v1/program/recommendations/%d%s", id, suffix)
}

// programCases are the compliance program's routes in the authorization
// matrix. Reading is for privacy and security officers and auditors, in
// their components (the department's own recommendations for all of them);
// changing is for privacy officers; resolving for the owning component's
// privacy officer or the department's; recording a closure for the
// department privacy officer only; linking also for the owner. Those who
// may manage but not see a recommendation are told it does not exist. A
// status step is routed to every reader: whoever may see the
// recommendation but not take the step is refused, and the refusal is
// recorded.
func (m *matrix) programCases() []matrixCase {
	fx, ts := m.program, m.ts
	readerRoles := []auth.Role{auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.SecurityOfficer, auth.Auditor}
	var (
		readers     = m.anywhere(readerRoles...)
		cbpReaders  = m.within("CBP", readerRoles...)
		iceReaders  = m.only("ICE", readerRoles...)
		cbpManagers = m.within("CBP", auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer)
		iceManagers = m.only("ICE", auth.ComponentPrivacyOfficer)
		department  = m.only("", auth.DepartmentPrivacyOfficer)
		linkers     = append(slices.Clone(cbpManagers), "cbp-isso") // and the owner
	)
	note := `{"note":"Done, with the evidence linked."}`
	return []matrixCase{
		{name: "list audit reports", method: "GET", path: "/api/v1/program/reports", ok: allow, allow: readers},
		{name: "record an audit report", method: "POST", path: "/api/v1/program/reports",
			prep: func(*testing.T, *principal) (string, string) {
				return "/api/v1/program/reports", fmt.Sprintf(`{"issuer":"gao","number":"GAO-MX-%d","title":"Matrix","issued_on":"2024-02-01"}`, ts.next())
			},
			ok: http.StatusCreated, allow: department, grows: 1},
		{name: "list recommendations", method: "GET", path: "/api/v1/program/recommendations", ok: allow, allow: readers},
		{name: "record a CBP recommendation", method: "POST", path: "/api/v1/program/recommendations",
			prep: func(*testing.T, *principal) (string, string) {
				return "/api/v1/program/recommendations", fmt.Sprintf(`{"report_id":%d,"number":"%d","text":"Scan every release.","owner_component":"CBP","owner_id":%d,"target_on":"2026-12-31"}`,
					fx.report.ID, ts.next(), fx.cbpOwner)
			},
			ok: http.StatusCreated, allow: cbpManagers, grows: 1},
		{name: "a CBP recommendation", method: "GET", path: recPath(fx.cbpRec.ID, ""), ok: allow, allow: cbpReaders, want: each(http.StatusNotFound, iceReaders)},
		{name: "an ICE recommendation", method: "GET", path: recPath(fx.iceRec.ID, ""), ok: allow, allow: m.within("ICE", readerRoles...), want: each(http.StatusNotFound, m.only("CBP", readerRoles...))},
		{name: "a department recommendation", method: "GET", path: recPath(fx.deptRec.ID, ""), ok: allow, allow: readers},
		{name: "change a CBP recommendation", method: "PATCH", path: recPath(fx.cbpRec.ID, ""),
			prep: func(*testing.T, *principal) (string, string) {
				return recPath(fx.cbpRec.ID, ""), fmt.Sprintf(`{"text":"Review the access logs, revision %d."}`, ts.next())
			},
			ok: allow, allow: cbpManagers, want: each(http.StatusNotFound, iceManagers), grows: 1},
		{name: "resolve a CBP recommendation", method: "POST", path: recPath(fx.cbpRec.ID, "/resolve"), body: note,
			prep: func(t *testing.T, _ *principal) (string, string) {
				return recPath(fx.rec(t, "CBP", program.Open).ID, "/resolve"), note
			},
			ok: allow, allow: cbpManagers, want: each(http.StatusNotFound, iceReaders), records: without(cbpReaders, cbpManagers), grows: 1},
		{name: "record the closure of a CBP recommendation", method: "POST", path: recPath(fx.cbpRec.ID, "/close"), body: note,
			prep: func(t *testing.T, _ *principal) (string, string) {
				return recPath(fx.rec(t, "CBP", program.Resolved).ID, "/close"), `{"note":"The inspector general closed it."}`
			},
			ok: allow, allow: department, want: each(http.StatusNotFound, iceReaders), records: without(cbpReaders, department), grows: 1},
		{name: "reopen a CBP recommendation", method: "POST", path: recPath(fx.cbpRec.ID, "/reopen"), body: `{"reason":"x"}`,
			prep: func(t *testing.T, _ *principal) (string, string) {
				return recPath(fx.rec(t, "CBP", program.Resolved).ID, "/reopen"), `{"reason":"The issuer asked for more evidence."}`
			},
			ok: allow, allow: cbpManagers, want: each(http.StatusNotFound, iceReaders), records: without(cbpReaders, cbpManagers), grows: 1},
		{name: "link evidence to a CBP recommendation", method: "POST", path: recPath(fx.cbpRec.ID, "/links"),
			prep: func(*testing.T, *principal) (string, string) {
				return recPath(fx.cbpRec.ID, "/links"), fmt.Sprintf(`{"kind":"evidence","ref":"ledger:%d","note":"Review record"}`, ts.next())
			},
			ok: http.StatusCreated, allow: linkers, want: each(http.StatusNotFound, iceReaders), grows: 1},
		{name: "remove a link from a CBP recommendation", method: "DELETE", path: recPath(fx.linkRec.ID, "/links/1"),
			prep: func(t *testing.T, _ *principal) (string, string) {
				l, err := ts.Program.AddLink(context.Background(), fx.dpo, fx.linkRec.ID, program.Link{Kind: program.LinkControl, Ref: fmt.Sprintf("AU-%d", ts.next())})
				if err != nil {
					t.Fatal(err)
				}
				return recPath(fx.linkRec.ID, fmt.Sprintf("/links/%d", l.ID)), ""
			},
			ok: allow, allow: linkers, want: each(http.StatusNotFound, iceReaders), grows: 1},
		{name: "program summary", method: "GET", path: "/api/v1/program/summary", ok: allow, allow: readers},
		{name: "export recommendations", method: "GET", path: "/api/v1/program/export", ok: allow, allow: readers},
		// Recording reports is the department's: a component's privacy
		// officer may import nothing.
		{name: "import recommendations", method: "POST", path: "/api/v1/program/import",
			prep: func(*testing.T, *principal) (string, string) {
				return "/api/v1/program/import", fmt.Sprintf(`{"format":"probity.recommendations/v1","reports":[{"issuer":"gao","number":"GAO-IMP-%d","title":"Imported","issued_on":"2024-03-01",
					"recommendations":[{"number":"1","text":"Write the procedure down.","owner":%q}]}]}`, ts.next(), m.person["dpo"].EmployeeID)
			},
			ok: http.StatusCreated, allow: department, grows: 3},
	}
}

// A programStep is one request of the program scenario, with what it must
// answer and record.
type programStep struct {
	name string
	as   *person
	rq   func() request
	// status and, for an error, the start of its message and its code
	// (when not the one the status usually carries).
	status int
	msg    string
	code   string
	// entry is the type of the one ledger entry the step adds; "" for none.
	entry string
	check func(t *testing.T, r response)
}

// programRecJSON is what the scenario reads of a recommendation.
type programRecJSON struct {
	ID             int64  `json:"id"`
	Number         string `json:"number"`
	Status         string `json:"status"`
	OwnerComponent string `json:"owner_component"`
	Owner          struct {
		EmployeeID string `json:"employee_id"`
	} `json:"owner"`
	TargetOn    string `json:"target_on"`
	Overdue     bool   `json:"overdue"`
	DaysOverdue int    `json:"days_overdue"`
	Resolution  *struct {
		On   string `json:"on"`
		Note string `json:"note"`
		By   string `json:"by"`
	} `json:"resolution"`
	Closure *struct {
		On string `json:"on"`
	} `json:"closure"`
	Links []struct {
		ID   int64  `json:"id"`
		Kind string `json:"kind"`
		Ref  string `json:"ref"`
	} `json:"links"`
	History []struct {
		Action  string `json:"action"`
		By      string `json:"by"`
		Refused string `json:"refused"`
	} `json:"history"`
}

func decodeProgram[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decodeProgram %s: %v", r.body, err)
	}
	return v
}

// TestProgram runs the recommendation tracker's scenario against the real
// router: a report is recorded, a recommendation goes from open to closed
// and back, every wrong role and out-of-order step is refused with a clear
// message and leaves no trace, and an import is all or nothing.
func TestProgram(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testProgramScenario(t, d) })
	}
}

func testProgramScenario(t *testing.T, d store.Dialect) {
	ts := mustStartServer(t, d)
	o := mustOrg(t, ts)
	isso := ts.mustPerson(t, invitation{label: "cbp-isso", component: "CBP"}, auth.Grant{Role: auth.SecurityOfficer, Component: "CBP"})
	auditor := ts.mustPerson(t, invitation{label: "auditor"}, auth.Grant{Role: auth.Auditor})
	var reportID, recID, linkID int64
	rq := func(method, path, body string) func() request {
		return func() request { return request{method: method, path: path, body: body} }
	}
	recRq := func(method, suffix, body string) func() request {
		return func() request { return request{method: method, path: recPath(recID, suffix), body: body} }
	}
	steps := []programStep{
		{name: "an administrator records no report", as: o.admin, rq: rq("POST", "/api/v1/program/reports", `{"issuer":"inspector_general","number":"OIG-23-61","title":"CTD","issued_on":"2023-09-26"}`),
			status: http.StatusForbidden, msg: "your role does not allow this (program.manage)"},
		{name: "a component privacy officer records no report", as: o.cpo, rq: rq("POST", "/api/v1/program/reports", `{"issuer":"inspector_general","number":"OIG-23-61","title":"CTD","issued_on":"2023-09-26"}`),
			status: http.StatusForbidden, msg: "only the department privacy officer records audit reports"},
		{name: "a report's date is a date", as: o.dpo, rq: rq("POST", "/api/v1/program/reports", `{"issuer":"inspector_general","number":"OIG-23-61","title":"CTD","issued_on":"26/09/2023"}`),
			status: http.StatusBadRequest, msg: `issued_on: "26/09/2023" is not a date written YYYY-MM-DD`},
		{name: "an unknown issuer", as: o.dpo, rq: rq("POST", "/api/v1/program/reports", `{"issuer":"OIG","number":"OIG-23-61","title":"CTD","issued_on":"2023-09-26"}`),
			status: http.StatusBadRequest, msg: `the issuer "OIG" is not one of inspector_general, gao or internal`},
		{name: "record the report", as: o.dpo, rq: rq("POST", "/api/v1/program/reports", `{"issuer":"inspector_general","number":"OIG-23-61","title":"CTD","issued_on":"2023-09-26","url":"https://oig.example.gov/OIG-23-61.pdf"}`),
			status: http.StatusCreated, entry: "program.report_created", check: func(t *testing.T, r response) {
				reportID = decodeProgram[struct{ ID int64 }](t, r).ID
			}},
		{name: "the same report again", as: o.dpo, rq: rq("POST", "/api/v1/program/reports", `{"issuer":"inspector_general","number":"oig-23-61","title":"CTD","issued_on":"2023-09-26"}`),
			status: http.StatusConflict, msg: "report oig-23-61 of the inspector general is already recorded"},
		{name: "an owner outside the component", as: o.cpo, rq: func() request {
			return request{method: "POST", path: "/api/v1/program/recommendations", body: fmt.Sprintf(`{"report_id":%d,"number":"6","text":"Controls.","owner_component":"CBP","owner_id":%d}`, reportID, o.iceCPO.ID)}
		}, status: http.StatusBadRequest, msg: "Test ice-cpo-"},
		{name: "another component's recommendation", as: o.iceCPO, rq: func() request {
			return request{method: "POST", path: "/api/v1/program/recommendations", body: fmt.Sprintf(`{"report_id":%d,"number":"6","text":"Controls.","owner_component":"CBP","owner_id":%d}`, reportID, isso.ID)}
		}, status: http.StatusForbidden, msg: "only a privacy officer of CBP or the department privacy officer manages CBP's recommendations"},
		{name: "record a recommendation", as: o.cpo, rq: func() request {
			return request{method: "POST", path: "/api/v1/program/recommendations", body: fmt.Sprintf(`{"report_id":%d,"number":"6","text":"Give CBP's use internal controls.","owner_component":"CBP","owner_id":%d,"target_on":"2024-12-31"}`, reportID, isso.ID)}
		}, status: http.StatusCreated, entry: "program.recommendation_created", check: func(t *testing.T, r response) {
			rec := decodeProgram[programRecJSON](t, r)
			recID = rec.ID
			if rec.Status != "open" || rec.Owner.EmployeeID != isso.EmployeeID || !rec.Overdue || rec.DaysOverdue < 300 || rec.TargetOn != "2024-12-31" {
				t.Errorf("recorded %+v", rec)
			}
		}},
		{name: "the ICE privacy officer does not see it", as: o.iceCPO, rq: recRq("GET", "", ""), status: http.StatusNotFound, msg: "there is no recommendation"},
		{name: "resolve without evidence", as: o.cpo, rq: recRq("POST", "/resolve", `{"note":"Controls in place."}`),
			status: http.StatusConflict, code: "precondition", msg: "recommendation 6 of OIG-23-61 has no evidence linked", entry: "program.step_refused"},
		{name: "the auditor links nothing", as: auditor, rq: recRq("POST", "/links", `{"kind":"evidence","ref":"ledger:1"}`),
			status: http.StatusForbidden, msg: "only the owner of recommendation 6 of OIG-23-61"},
		{name: "a link of no known kind", as: isso, rq: recRq("POST", "/links", `{"kind":"memo","ref":"x"}`),
			status: http.StatusBadRequest, msg: `the link kind "memo" is not one of policy, control or evidence`},
		{name: "the owner links the evidence", as: isso, rq: recRq("POST", "/links", `{"kind":"evidence","ref":"sha256:`+strings.Repeat("0f", 32)+`","note":"Account inventory"}`),
			status: http.StatusCreated, entry: "program.link_added", check: func(t *testing.T, r response) {
				linkID = decodeProgram[struct{ ID int64 }](t, r).ID
			}},
		{name: "the owner does not resolve", as: isso, rq: recRq("POST", "/resolve", `{"note":"Done."}`),
			status: http.StatusForbidden, msg: "only the privacy officer of CBP or the department privacy officer marks recommendation 6 of OIG-23-61 resolved", entry: "program.step_refused"},
		{name: "the auditor does not resolve", as: auditor, rq: recRq("POST", "/resolve", `{"note":"Done."}`),
			status: http.StatusForbidden, msg: "only the privacy officer of CBP", entry: "program.step_refused"},
		{name: "resolve without a note", as: o.cpo, rq: recRq("POST", "/resolve", `{"note":" "}`),
			status: http.StatusBadRequest, msg: "the resolution note (what was done) is empty"},
		{name: "close before resolving", as: o.dpo, rq: recRq("POST", "/close", `{"note":"OIG closed it."}`),
			status: http.StatusConflict, msg: "recommendation 6 of OIG-23-61 is open: it must be resolved", entry: "program.step_refused"},
		{name: "resolve", as: o.cpo, rq: recRq("POST", "/resolve", `{"note":"Individual accounts, full records, supervisory review.","on":"2025-04-15"}`),
			status: http.StatusOK, entry: "program.recommendation_resolved", check: func(t *testing.T, r response) {
				rec := decodeProgram[programRecJSON](t, r)
				if rec.Status != "resolved" || rec.Overdue || rec.Resolution == nil || rec.Resolution.On != "2025-04-15" || rec.Resolution.By != o.cpo.EmployeeID {
					t.Errorf("resolved %+v", rec)
				}
			}},
		{name: "evidence stays while resolved", as: o.cpo, rq: func() request {
			return request{method: "DELETE", path: recPath(recID, fmt.Sprintf("/links/%d", linkID))}
		},
			status: http.StatusConflict, msg: "recommendation 6 of OIG-23-61 is resolved and its resolution rests on its links"},
		{name: "the component does not close", as: o.cpo, rq: recRq("POST", "/close", `{"note":"OIG closed it."}`),
			status: http.StatusForbidden, msg: "only the department privacy officer records the issuer's closure", entry: "program.step_refused"},
		{name: "close", as: o.dpo, rq: recRq("POST", "/close", `{"note":"OIG closure letter.","on":"2025-09-10"}`),
			status: http.StatusOK, entry: "program.recommendation_closed"},
		{name: "a closed one does not change", as: o.dpo, rq: recRq("PATCH", "", `{"text":"New."}`),
			status: http.StatusConflict, msg: "recommendation 6 of OIG-23-61 is closed; reopen it to change it"},
		{name: "the component does not reopen a closed one", as: o.cpo, rq: recRq("POST", "/reopen", `{"reason":"Gap."}`),
			status: http.StatusForbidden, msg: "only the department privacy officer reopens", entry: "program.step_refused"},
		{name: "read it with its history", as: auditor, rq: recRq("GET", "", ""), status: http.StatusOK, check: func(t *testing.T, r response) {
			rec := decodeProgram[programRecJSON](t, r)
			var hist []string
			for _, h := range rec.History {
				hist = append(hist, h.Action+" by "+h.By+map[bool]string{true: " (refused)"}[h.Refused != ""])
			}
			want := []string{"resolved by " + o.cpo.EmployeeID + " (refused)", "resolved by " + isso.EmployeeID + " (refused)", "resolved by " + auditor.EmployeeID + " (refused)",
				"closed by " + o.dpo.EmployeeID + " (refused)", "resolved by " + o.cpo.EmployeeID, "closed by " + o.cpo.EmployeeID + " (refused)", "closed by " + o.dpo.EmployeeID,
				"reopened by " + o.cpo.EmployeeID + " (refused)"}
			if rec.Status != "closed" || rec.Closure == nil || rec.Closure.On != "2025-09-10" || len(rec.Links) != 1 || !slices.Equal(hist, want) {
				t.Errorf("read %+v\nhistory %q\nwant    %q", rec, hist, want)
			}
		}},
		{name: "list the closed", as: isso, rq: rq("GET", "/api/v1/program/recommendations?status=closed&component=CBP", ""), status: http.StatusOK, check: func(t *testing.T, r response) {
			if recs := decodeProgram[struct{ Recommendations []programRecJSON }](t, r).Recommendations; len(recs) != 1 || recs[0].ID != recID {
				t.Errorf("listed %+v", recs)
			}
		}},
		{name: "a status that does not exist", as: isso, rq: rq("GET", "/api/v1/program/recommendations?status=done", ""),
			status: http.StatusBadRequest, msg: `status must be open, resolved or closed, not "done"`},
		{name: "reopen", as: o.dpo, rq: recRq("POST", "/reopen", `{"reason":"The inspector general reopened it in a follow-up audit."}`),
			status: http.StatusOK, entry: "program.recommendation_reopened"},
		{name: "moving the target later needs a reason", as: o.cpo, rq: recRq("PATCH", "", `{"target_on":"2026-12-31"}`),
			status: http.StatusBadRequest, msg: "the target date was 2024-12-31: give a reason for moving it to 2026-12-31"},
		{name: "move the target later", as: o.cpo, rq: recRq("PATCH", "", `{"target_on":"2099-12-31","reason":"New contract."}`),
			status: http.StatusOK, entry: "program.recommendation_updated"},
		{name: "the summary", as: o.cpo, rq: rq("GET", "/api/v1/program/summary", ""), status: http.StatusOK, check: func(t *testing.T, r response) {
			s := decodeProgram[struct {
				Total, Open, Overdue int
				Components           []struct{ Component string }
			}](t, r)
			if s.Total != 1 || s.Open != 1 || s.Overdue != 0 || len(s.Components) != 1 || s.Components[0].Component != "CBP" {
				t.Errorf("summary %+v", s)
			}
		}},
	}
	for _, st := range steps {
		before := ts.ledgerSize(t)
		q := st.rq()
		q.cookie = st.as.session()
		r := ts.send(t, q)
		if r.status != st.status {
			t.Fatalf("%s: status %d, want %d: %s", st.name, r.status, st.status, r.body)
		}
		if st.status >= 400 {
			code := st.code
			if code == "" {
				code = map[int]string{400: "invalid", 403: "forbidden", 404: "not_found", 409: "conflict"}[st.status]
			}
			if msg := checkJSONError(t, r, code); !strings.HasPrefix(msg, st.msg) {
				t.Errorf("%s: message %q, want %q", st.name, msg, st.msg)
			}
		}
		if st.entry != "" {
			e := ts.mustOneEntry(t, before, st.entry)
			if e.Actor.ID != st.as.EmployeeID {
				t.Errorf("%s: recorded as %s", st.name, e.Actor.ID)
			}
		} else if grew := ts.ledgerSize(t) - before; grew != 0 {
			t.Errorf("%s: the ledger grew by %d", st.name, grew)
		}
		if st.check != nil {
			st.check(t, r)
		}
	}
	t.Run("Import", func(t *testing.T) { testProgramImport(t, ts, o, isso) })
}

// testProgramImport checks that an import is all or nothing, with the
// place of the problem in the file.
func testProgramImport(t *testing.T, ts *testServer, o *org, isso *person) {
	file := func(owner string) string {
		return `{
  "format": "probity.recommendations/v1",
  "reports": [{
    "issuer": "inspector_general", "number": "OIG-21-48", "title": "Mobile apps", "issued_on": "2021-07-15",
    "recommendations": [
      {"number": "1", "text": "Scan every release.", "owner_component": "CBP", "owner": "` + isso.EmployeeID + `", "status": "resolved",
       "links": [{"kind": "control", "ref": "RA-5"}, {"kind": "evidence", "ref": "ledger:3"}],
       "resolution": {"on": "2022-02-28", "note": "Procedure signed."}},
      {"number": "2", "text": "Review the scan results.", "owner_component": "CBP",
       "owner": "` + owner + `"}
    ]
  }]
}`
	}
	reports := func() int64 { return ts.mustQueryInt(t, `SELECT COUNT(*) FROM audit_reports`) }
	recs := func() int64 { return ts.mustQueryInt(t, `SELECT COUNT(*) FROM recommendations`) }
	r0, n0 := reports(), recs()
	for _, tc := range []struct {
		name        string
		as          *person
		body        string
		contentType string
		status      int
		msg         string
	}{
		{name: "ErrOwnerElsewhere", as: o.dpo, body: file(o.iceCPO.EmployeeID), status: http.StatusBadRequest,
			msg: "line 10, column 17: reports[0].recommendations[1].owner: Test ice-cpo-"},
		{name: "ErrNoSuchOwner", as: o.dpo, body: file("nobody"), status: http.StatusBadRequest,
			msg: `line 10, column 17: reports[0].recommendations[1].owner: there is no person with employee ID "nobody"`},
		{name: "ErrSyntax", as: o.dpo, body: strings.Replace(file("x"), `"title": "Mobile apps",`, `"title": "Mobile apps"`, 1), status: http.StatusBadRequest,
			msg: "line 4, column 82: JSON syntax: invalid character '\"' after object key:value pair"},
		{name: "ErrComponentOfficer", as: o.cpo, body: file(isso.EmployeeID), status: http.StatusForbidden,
			msg: "line 3, column 15: reports[0]: only the department privacy officer records audit reports"},
		{name: "ErrTooLarge", as: o.dpo, body: `{"format":"` + strings.Repeat("x", program.MaxFileSize) + `"}`, status: http.StatusRequestEntityTooLarge,
			msg: "the file is larger than 1048576 bytes"},
		{name: "ErrNotJSON", as: o.dpo, body: "issuer,number\n", contentType: "text/csv", status: http.StatusUnsupportedMediaType,
			msg: "the request body must be an exchange file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.ledgerSize(t)
			r := ts.send(t, request{method: "POST", path: "/api/v1/program/import", cookie: tc.as.session(), body: tc.body, contentType: tc.contentType})
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			code := map[int]string{400: "invalid", 403: "forbidden", 413: "too_large", 415: "unsupported_type"}[tc.status]
			if msg := checkJSONError(t, r, code); !strings.HasPrefix(msg, tc.msg) {
				t.Errorf("message %q, want %q", msg, tc.msg)
			}
			if grew := ts.ledgerSize(t) - before; grew != 0 || reports() != r0 || recs() != n0 {
				t.Errorf("a refused import left %d entries, %d reports, %d recommendations", grew, reports()-r0, recs()-n0)
			}
		})
	}
	before := ts.ledgerSize(t)
	r := ts.send(t, request{method: "POST", path: "/api/v1/program/import", cookie: o.dpo.session(), body: file(isso.EmployeeID)})
	if r.status != http.StatusCreated {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	got := decodeProgram[struct{ Imported map[string]int }](t, r).Imported
	if got["reports"] != 1 || got["recommendations"] != 2 || got["links"] != 2 || got["resolved"] != 1 || got["closed"] != 0 {
		t.Errorf("imported %v", got)
	}
	want := []string{"program.report_created", "program.recommendation_created", "program.link_added", "program.link_added",
		"program.recommendation_resolved", "program.recommendation_created", "program.imported"}
	es := ts.entriesSince(t, before)
	if !slices.Equal(types(es), want) {
		t.Errorf("entries %v, want %v", types(es), want)
	}
	if last := es[len(es)-1]; last.Actor.ID != o.dpo.EmployeeID || !strings.HasPrefix(last.Digest, "sha256:") {
		t.Errorf("import entry %s", last.raw)
	}

	// The export reads back, and names the owners by employee ID.
	r = ts.send(t, request{method: "GET", path: "/api/v1/program/export", cookie: isso.session()})
	if r.status != http.StatusOK || r.header.Get("Content-Disposition") != `attachment; filename="recommendations.json"` {
		t.Fatalf("export: %d %v", r.status, r.header)
	}
	x, err := program.Parse(r.body)
	if err != nil {
		t.Fatalf("the export does not read back: %v", err)
	}
	found := false
	for _, rep := range x.Reports {
		for _, rec := range rep.Recommendations {
			if rep.Number == "OIG-21-48" && rec.Number == "1" && rec.Owner == isso.EmployeeID && rec.Status == program.Resolved && len(rec.Links) == 2 {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("the export lacks the imported recommendation:\n%s", r.body)
	}
}
