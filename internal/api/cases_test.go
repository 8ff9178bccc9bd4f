package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// caseOrg is a server with the people of cases: in CBP two supervisors
// (head, sup2), two analysts, a privacy officer and a security officer;
// in ICE a supervisor.
type caseOrg struct {
	ts                                 *testServer
	head, sup2, analyst, analyst2, cpo *person
	isso, iceHead                      *person
}

func mustCaseOrg(t *testing.T, ts *testServer) *caseOrg {
	t.Helper()
	for _, c := range []string{"CBP", "ICE"} {
		ts.mustJSON(t, request{method: "POST", path: "/api/v1/components", auth: bearer(adminToken), body: fmt.Sprintf(`{"code":%q,"name":"%s"}`, c, c)}, http.StatusCreated, &struct{}{})
	}
	o := &caseOrg{ts: ts}
	o.head = ts.mustPerson(t, invitation{label: "cbp-head", component: "CBP"}, auth.Grant{Role: auth.Supervisor, Component: "CBP"})
	o.sup2 = ts.mustPerson(t, invitation{label: "cbp-sup2", component: "CBP", supervisor: o.head.ID}, auth.Grant{Role: auth.Supervisor, Component: "CBP"})
	o.analyst = ts.mustPerson(t, invitation{label: "cbp-analyst", component: "CBP", supervisor: o.head.ID}, auth.Grant{Role: auth.Analyst, Component: "CBP"})
	o.analyst2 = ts.mustPerson(t, invitation{label: "cbp-analyst2", component: "CBP", supervisor: o.head.ID}, auth.Grant{Role: auth.Analyst, Component: "CBP"})
	o.cpo = ts.mustPerson(t, invitation{label: "cbp-cpo", component: "CBP"}, auth.Grant{Role: auth.ComponentPrivacyOfficer, Component: "CBP"})
	o.isso = ts.mustPerson(t, invitation{label: "cbp-isso", component: "CBP"}, auth.Grant{Role: auth.SecurityOfficer, Component: "CBP"})
	o.iceHead = ts.mustPerson(t, invitation{label: "ice-head", component: "ICE"}, auth.Grant{Role: auth.Supervisor, Component: "ICE"})
	return o
}

// do sends a JSON request as p and checks the status; v, when set,
// receives the answer.
func (o *caseOrg) do(t *testing.T, p *person, method, path, body string, status int, v any) response {
	t.Helper()
	r := o.ts.send(t, request{method: method, path: path, cookie: p.session(), body: body})
	if r.status != status {
		t.Fatalf("%s %s as %s: status %d, want %d: %s", method, path, p.label, r.status, status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, r.body)
		}
	}
	return r
}

// apiCase is a case as the API shows it.
type apiCase struct {
	ID             int64  `json:"id"`
	Number         string `json:"number"`
	Title          string `json:"title"`
	LegalAuthority string `json:"legal_authority"`
	Predicate      string `json:"predicate"`
	Status         string `json:"status"`
	StatusReason   string `json:"status_reason"`
	Component      string `json:"component"`
	UnitID         *int64 `json:"unit_id"`
	Members        []struct {
		PersonID   int64  `json:"person_id"`
		EmployeeID string `json:"employee_id"`
		Name       string `json:"name"`
		AddedBy    string `json:"added_by"`
	} `json:"members"`
	LegalProcess []struct {
		Kind      string  `json:"kind"`
		Reference string  `json:"reference"`
		IssuedOn  string  `json:"issued_on"`
		ExpiresOn *string `json:"expires_on"`
		InForce   bool    `json:"in_force"`
	} `json:"legal_process"`
	EvidenceHold bool       `json:"evidence_hold"`
	HoldReason   string     `json:"hold_reason"`
	CreatedBy    string     `json:"created_by"`
	ClosedAt     *time.Time `json:"closed_at"`
	History      []struct {
		From   string `json:"from"`
		To     string `json:"to"`
		Reason string `json:"reason"`
		By     string `json:"by"`
	} `json:"history"`
}

func (c apiCase) members() []string {
	var out []string
	for _, m := range c.Members {
		out = append(out, m.EmployeeID)
	}
	return out
}

func TestCases(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			ts := mustStartServer(t, d)
			o := mustCaseOrg(t, ts)
			t.Run("OKLifecycle", func(t *testing.T) { testCasesLifecycle(t, o) })
			t.Run("ErrBadInput", func(t *testing.T) { testCasesBadInput(t, o) })
		})
	}
}

// testCasesLifecycle takes a case through its life through the API: opened
// with members and a court order, seen by whom it should be, staffed,
// suspended, reopened, held and closed.
func testCasesLifecycle(t *testing.T, o *caseOrg) {
	ts := o.ts
	day := func(d int) string { return time.Now().UTC().AddDate(0, 0, d).Format(time.DateOnly) }
	before := ts.ledgerSize(t)
	var c apiCase
	o.do(t, o.head, "POST", "/api/v1/cases", fmt.Sprintf(`{"number":"cbp-2026-0142","title":"Human smuggling network, Laredo sector","legal_authority":"8 U.S.C. 1324",
		"predicate":"Seizures tie three stash houses to one smuggling organization.","members":[%q,%q],
		"legal_process":[{"kind":"court_order","reference":"5:26-mj-00142","issued_on":%q,"expires_on":%q},{"kind":"warrant","reference":"W-old","issued_on":%q,"expires_on":%q}]}`,
		o.analyst.EmployeeID, o.sup2.EmployeeID, day(-3), day(60), day(-90), day(-60)), http.StatusCreated, &c)
	if c.Number != "CBP-2026-0142" || c.Component != "CBP" || c.Status != "open" || c.CreatedBy != o.head.EmployeeID || c.UnitID != nil || c.ClosedAt != nil ||
		!slices.Equal(c.members(), sorted(o.analyst.EmployeeID, o.sup2.EmployeeID)) || len(c.LegalProcess) != 2 {
		t.Fatalf("opened %+v", c)
	}
	for _, lp := range c.LegalProcess {
		if lp.InForce != (lp.Reference == "5:26-mj-00142") || lp.ExpiresOn == nil {
			t.Errorf("legal process %+v", lp)
		}
	}
	if grew := ts.ledgerSize(t) - before; grew != 5 {
		t.Errorf("opening added %d ledger entries, want 5 (opened, two members, two legal process)", grew)
	}
	path := "/api/v1/cases/" + c.Number

	// Who sees it: CBP's supervisors and privacy officer, and its member
	// analyst; not the other analyst, CBP's security officer or ICE.
	for _, who := range []*person{o.head, o.sup2, o.cpo, o.analyst} {
		var got apiCase
		o.do(t, who, "GET", strings.ToLower(path), "", http.StatusOK, &got)
		if got.ID != c.ID || len(got.History) != 1 || got.History[0].To != "open" {
			t.Errorf("%s reads %+v", who.label, got)
		}
	}
	for _, who := range []*person{o.analyst2, o.isso, o.iceHead} {
		r := o.do(t, who, "GET", path, "", http.StatusNotFound, nil)
		if errorMessage(t, r) != "there is no case CBP-2026-0142" {
			t.Errorf("%s: %s", who.label, r.body)
		}
		var list struct {
			Cases []apiCase `json:"cases"`
		}
		o.do(t, who, "GET", "/api/v1/cases", "", http.StatusOK, &list)
		if len(list.Cases) != 0 {
			t.Errorf("%s lists %d cases", who.label, len(list.Cases))
		}
	}
	var list struct {
		Cases []apiCase `json:"cases"`
	}
	o.do(t, o.analyst, "GET", "/api/v1/cases?status=open&member="+o.analyst.EmployeeID, "", http.StatusOK, &list)
	if len(list.Cases) != 1 || list.Cases[0].Number != c.Number || list.Cases[0].History != nil {
		t.Errorf("the analyst's open cases: %+v", list.Cases)
	}
	o.do(t, o.cpo, "GET", "/api/v1/cases?status=suspended", "", http.StatusOK, &list)
	if len(list.Cases) != 0 {
		t.Errorf("suspended cases: %+v", list.Cases)
	}

	// Staffing: add and remove; nobody adds themselves.
	o.do(t, o.head, "POST", path+"/members", fmt.Sprintf(`{"employee_id":%q}`, o.analyst2.EmployeeID), http.StatusCreated, &c)
	if !slices.Contains(c.members(), o.analyst2.EmployeeID) {
		t.Errorf("after adding: %v", c.members())
	}
	o.do(t, o.analyst2, "GET", path, "", http.StatusOK, nil)
	o.do(t, o.sup2, "DELETE", path+"/members/"+o.analyst2.EmployeeID, "", http.StatusOK, &c)
	if slices.Contains(c.members(), o.analyst2.EmployeeID) {
		t.Errorf("after removing: %v", c.members())
	}
	o.do(t, o.analyst2, "GET", path, "", http.StatusNotFound, nil)
	before = ts.ledgerSize(t)
	r := o.do(t, o.head, "POST", path+"/members", fmt.Sprintf(`{"employee_id":%q}`, o.head.EmployeeID), http.StatusForbidden, nil)
	if !strings.Contains(errorMessage(t, r), "nobody adds themselves to a case") {
		t.Errorf("self-add: %s", r.body)
	}
	o.do(t, o.head, "POST", path+"/members", fmt.Sprintf(`{"employee_id":%q}`, o.isso.EmployeeID), http.StatusBadRequest, nil)
	o.do(t, o.iceHead, "POST", path+"/members", fmt.Sprintf(`{"employee_id":%q}`, o.analyst2.EmployeeID), http.StatusNotFound, nil)
	o.do(t, o.cpo, "POST", path+"/members", fmt.Sprintf(`{"employee_id":%q}`, o.analyst2.EmployeeID), http.StatusForbidden, nil)
	if grew := ts.ledgerSize(t) - before; grew != 0 {
		t.Errorf("refused changes added %d ledger entries", grew)
	}

	// Suspend, reopen, hold, close; closed is final.
	o.do(t, o.head, "POST", path+"/status", `{"status":"suspended","reason":"Waiting for the grand jury."}`, http.StatusOK, &c)
	o.do(t, o.head, "POST", path+"/status", `{"status":"open","reason":"Indictment returned."}`, http.StatusOK, &c)
	o.do(t, o.head, "POST", path+"/legal-process", fmt.Sprintf(`{"kind":"subpoena","reference":"GJ-26-0142","issued_on":%q}`, day(0)), http.StatusCreated, &c)
	if len(c.LegalProcess) != 3 || c.LegalProcess[2].Reference != "GJ-26-0142" || c.LegalProcess[2].ExpiresOn != nil || !c.LegalProcess[2].InForce {
		t.Errorf("after the subpoena: %+v", c.LegalProcess)
	}
	o.do(t, o.head, "POST", path+"/evidence-hold", `{"hold":true,"reason":"Preservation letter from defense counsel."}`, http.StatusOK, &c)
	if !c.EvidenceHold || c.HoldReason != "Preservation letter from defense counsel." {
		t.Errorf("after the hold: %+v", c)
	}
	o.do(t, o.cpo, "POST", path+"/evidence-hold", `{"hold":false,"reason":"Privacy officers do not release holds."}`, http.StatusForbidden, nil)
	o.do(t, o.sup2, "POST", path+"/status", `{"status":"closed","reason":"Plea entered."}`, http.StatusOK, &c)
	if c.Status != "closed" || c.ClosedAt == nil || !c.EvidenceHold {
		t.Errorf("after closing: %+v", c)
	}
	r = o.do(t, o.head, "POST", path+"/status", `{"status":"open","reason":"New leads."}`, http.StatusConflict, nil)
	if !strings.Contains(errorMessage(t, r), "a closed case stays closed") {
		t.Errorf("reopening a closed case: %s", r.body)
	}
	o.do(t, o.head, "POST", path+"/evidence-hold", `{"hold":false,"reason":"Appeal period over."}`, http.StatusOK, &c)
	o.do(t, o.cpo, "GET", path, "", http.StatusOK, &c)
	var steps []string
	for _, h := range c.History {
		steps = append(steps, h.From+"→"+h.To)
	}
	if want := []string{"→open", "open→suspended", "suspended→open", "open→closed"}; !slices.Equal(steps, want) || c.EvidenceHold {
		t.Errorf("history %v, hold %v", steps, c.EvidenceHold)
	}
}

// answerMessage returns the message of an error answer, with field
// errors or without (fieldErrors and errorMessage check the shapes).
func answerMessage(r response) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	json.Unmarshal(r.body, &e)
	return e.Error.Message
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

// testCasesBadInput checks that bad requests get a clear, specific answer
// and change nothing.
func testCasesBadInput(t *testing.T, o *caseOrg) {
	ts := o.ts
	var c apiCase
	o.do(t, o.head, "POST", "/api/v1/cases", `{"number":"CBP-2026-0200","title":"Counterfeit goods","legal_authority":"19 U.S.C. 1526","predicate":"Port seizures of counterfeit goods from one importer."}`, http.StatusCreated, &c)
	path := "/api/v1/cases/" + c.Number
	before := ts.ledgerSize(t)
	for _, x := range []struct {
		name, method, path, body string
		status                   int
		fields                   []string
		msg                      string
	}{
		{"everything missing", "POST", "/api/v1/cases", `{"number":"CBP-26-1"}`, http.StatusBadRequest, []string{"number", "title", "legal_authority", "predicate"},
			`number "CBP-26-1" must give the year the case was opened as four digits`},
		{"bad dates", "POST", "/api/v1/cases", `{"number":"CBP-2026-0201","title":"T","legal_authority":"A","predicate":"Twenty characters or more.","legal_process":[{"kind":"warrant","reference":"W","issued_on":"2026-02-30","expires_on":"soon"}]}`,
			http.StatusBadRequest, []string{"legal_process[0].issued_on", "legal_process[0].expires_on"}, "must be a day, YYYY-MM-DD"},
		{"a member twice", "POST", "/api/v1/cases", fmt.Sprintf(`{"number":"CBP-2026-0202","title":"T","legal_authority":"A","predicate":"Twenty characters or more.","members":[%q,%q]}`, o.analyst.EmployeeID, o.analyst.EmployeeID),
			http.StatusBadRequest, []string{"members[1]"}, "is listed twice"},
		{"an unknown field", "POST", "/api/v1/cases", `{"number":"CBP-2026-0203","titel":"T"}`, http.StatusBadRequest, nil, `unknown field "titel"`},
		{"a number in use", "POST", "/api/v1/cases", `{"number":"CBP-2026-0200","title":"Again","legal_authority":"A","predicate":"Twenty characters or more."}`, http.StatusConflict, nil, "case CBP-2026-0200 already exists"},
		{"a malformed number", "GET", "/api/v1/cases/CBP-2026-12", "", http.StatusBadRequest, nil, `must end with a sequence number of 4 to 6 digits, not "12"`},
		{"an unknown status filter", "GET", "/api/v1/cases?status=archived", "", http.StatusBadRequest, nil, `not "archived"`},
		{"an unknown status", "POST", path + "/status", `{"status":"archived","reason":"r"}`, http.StatusBadRequest, nil, `open, suspended or closed, not "archived"`},
		{"no reason", "POST", path + "/status", `{"status":"suspended"}`, http.StatusBadRequest, []string{"reason"}, "reason is required"},
		{"no hold", "POST", path + "/evidence-hold", `{"reason":"r"}`, http.StatusBadRequest, []string{"hold"}, "hold is required: true sets an evidence hold, false releases it"},
		{"a release without a hold", "POST", path + "/evidence-hold", `{"hold":false,"reason":"r"}`, http.StatusConflict, nil, "has no evidence hold to release"},
		{"legal process from the future", "POST", path + "/legal-process", fmt.Sprintf(`{"kind":"warrant","reference":"W-9","issued_on":%q}`, time.Now().UTC().AddDate(0, 0, 3).Format(time.DateOnly)),
			http.StatusBadRequest, []string{"issued_on"}, "record legal process once it is issued"},
		{"an unknown kind", "POST", path + "/legal-process", `{"kind":"letter","reference":"L","issued_on":"2024-01-02"}`, http.StatusBadRequest, []string{"kind"}, "warrant, court_order or subpoena"},
		{"no employee", "POST", path + "/members", `{}`, http.StatusBadRequest, []string{"employee_id"}, "name the person to add by their employee ID"},
		{"remove a non-member", "DELETE", path + "/members/" + o.analyst2.EmployeeID, "", http.StatusNotFound, nil, "is not a member of case CBP-2026-0200"},
		{"a case nobody has", "POST", "/api/v1/cases/CBP-2026-9999/status", `{"status":"closed","reason":"r"}`, http.StatusNotFound, nil, "there is no case CBP-2026-9999"},
		{"not JSON", "POST", path + "/members", `employee_id=x`, http.StatusBadRequest, nil, "not valid JSON"},
	} {
		t.Run(x.name, func(t *testing.T) {
			r := o.ts.send(t, request{method: x.method, path: x.path, cookie: o.head.session(), body: x.body})
			if r.status != x.status || !strings.Contains(answerMessage(r), x.msg) {
				t.Fatalf("status %d: %s; want %d saying %q", r.status, r.body, x.status, x.msg)
			}
			if x.fields == nil {
				errorMessage(t, r)
			} else if got := fieldErrors(t, r); !slices.Equal(got, x.fields) {
				t.Errorf("fields %v, want %v", got, x.fields)
			}
		})
	}
	if grew := ts.ledgerSize(t) - before; grew != 0 {
		t.Errorf("bad requests added %d ledger entries", grew)
	}
	var got apiCase
	o.do(t, o.head, "GET", path, "", http.StatusOK, &got)
	if got.Status != "open" || len(got.Members) != 0 || len(got.LegalProcess) != 0 || got.EvidenceHold || len(got.History) != 1 {
		t.Errorf("the case changed: %+v", got)
	}
	for _, n := range []string{"CBP-2026-0201", "CBP-2026-0202"} {
		o.do(t, o.head, "GET", "/api/v1/cases/"+n, "", http.StatusNotFound, nil)
	}
}
