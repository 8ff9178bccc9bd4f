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

// privacyOrg is a server with the people of a privacy review: in CBP a
// head, a security officer under them, a privacy officer; and the
// department privacy officer.
type privacyOrg struct {
	ts                    *testServer
	head, isso, cpo, dpo  *person
	analyst               *person
	systemID, sourceID    int64
	piaID                 int64
	sourcePath, piaPrefix string
}

func mustPrivacyOrg(t *testing.T, ts *testServer) *privacyOrg {
	t.Helper()
	for _, c := range []string{"CBP", "ICE"} {
		ts.mustJSON(t, request{method: "POST", path: "/api/v1/components", auth: bearer(adminToken), body: fmt.Sprintf(`{"code":%q,"name":"%s"}`, c, c)}, http.StatusCreated, &struct{}{})
	}
	o := &privacyOrg{ts: ts}
	o.head = ts.mustPerson(t, invitation{label: "cbp-head", component: "CBP"}, auth.Grant{Role: auth.Supervisor, Component: "CBP"})
	o.isso = ts.mustPerson(t, invitation{label: "cbp-isso", component: "CBP", supervisor: o.head.ID}, auth.Grant{Role: auth.SecurityOfficer, Component: "CBP"})
	o.cpo = ts.mustPerson(t, invitation{label: "cbp-cpo", component: "CBP"}, auth.Grant{Role: auth.ComponentPrivacyOfficer, Component: "CBP"})
	o.analyst = ts.mustPerson(t, invitation{label: "cbp-analyst", component: "CBP", supervisor: o.head.ID}, auth.Grant{Role: auth.Analyst, Component: "CBP"})
	o.dpo = ts.mustPerson(t, invitation{label: "dpo"}, auth.Grant{Role: auth.DepartmentPrivacyOfficer})
	return o
}

// do sends a JSON request as p and checks the status; v, when set,
// receives the answer.
func (o *privacyOrg) do(t *testing.T, p *person, method, path, body string, status int, v any) response {
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

// gate is GET /api/v1/sources/{id}/gate.
type gate struct {
	Usable  bool `json:"usable"`
	Missing []struct {
		Code   string      `json:"code"`
		Fix    string      `json:"fix"`
		Roles  []auth.Role `json:"roles"`
		People []struct {
			EmployeeID string `json:"employee_id"`
		} `json:"people"`
	} `json:"missing"`
}

func (g gate) codes() []string {
	out := []string{}
	for _, m := range g.Missing {
		out = append(out, m.Code)
	}
	return out
}

func (o *privacyOrg) gate(t *testing.T, p *person) gate {
	t.Helper()
	var g gate
	o.do(t, p, "GET", o.sourcePath+"/gate", "", http.StatusOK, &g)
	return g
}

// fieldErrors returns the fields of a 400 answer with field errors, and
// checks its shape.
func fieldErrors(t *testing.T, r response) []string {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Fields  []struct {
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"fields"`
		} `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || r.status != http.StatusBadRequest || e.Error.Code != "invalid" {
		t.Fatalf("not a field error answer: %d %s (%v)", r.status, r.body, err)
	}
	var out []string
	for _, f := range e.Error.Fields {
		out = append(out, f.Field)
		if !strings.Contains(e.Error.Message, f.Field+" "+f.Message) {
			t.Errorf("the message %q does not say %s %s", e.Error.Message, f.Field, f.Message)
		}
	}
	return out
}

func TestPrivacy(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			ts := mustStartServer(t, d)
			o := mustPrivacyOrg(t, ts)
			t.Run("OKWorkflow", func(t *testing.T) { testPrivacyWorkflow(t, o) })
			t.Run("ErrBadInput", func(t *testing.T) { testPrivacyBadInput(t, o) })
		})
	}
}

// testPrivacyWorkflow takes a data source from nothing to usable through
// the API, as the people responsible would, and back to unusable when its
// vendor changes.
func testPrivacyWorkflow(t *testing.T, o *privacyOrg) {
	ts := o.ts
	var sys struct {
		ID        int64  `json:"id"`
		ATOStatus string `json:"ato_status"`
	}
	o.do(t, o.isso, "POST", "/api/v1/systems", fmt.Sprintf(`{"name":"Targeting analytics","component":"CBP","owner_id":%d,"isso_id":%d,"impact":"high","ato_granted":"2025-10-01","ato_expires":"2028-09-30"}`,
		o.head.ID, o.isso.ID), http.StatusCreated, &sys)
	if sys.ATOStatus != "current" {
		t.Errorf("ATO status %q", sys.ATOStatus)
	}
	o.systemID = sys.ID
	var src struct {
		ID                   int64    `json:"id"`
		Categories           []string `json:"categories"`
		CredentialConfigured bool     `json:"credential_configured"`
		Gate                 gate     `json:"gate"`
	}
	o.do(t, o.isso, "POST", "/api/v1/sources", fmt.Sprintf(`{"name":"venntel-cbp","title":"Venntel (CBP)","system_id":%d,"vendor":"Venntel, Inc.","contract_number":"70B04C21P0123",
		"contract_start":"2025-10-01","contract_end":"2026-09-30","categories":["device_location","advertising_id"],"connector":"vendor_api"}`, sys.ID), http.StatusCreated, &src)
	o.sourceID, o.sourcePath = src.ID, fmt.Sprintf("/api/v1/sources/%d", src.ID)
	if want := []string{"pia_missing", "rules_unpublished", "credential_missing"}; !slices.Equal(src.Gate.codes(), want) || src.Gate.Usable {
		t.Fatalf("a new source's gate: %+v", src.Gate)
	}
	// The refusal names who can fix each piece.
	var who []string
	for _, p := range src.Gate.Missing[2].People {
		who = append(who, p.EmployeeID)
	}
	if !slices.Equal(who, []string{o.isso.EmployeeID}) {
		t.Errorf("the credential is fixed by %v", who)
	}

	// A PTA says a PIA and a SORN are needed.
	var pta struct {
		Outcome struct {
			PIARequired  bool     `json:"pia_required"`
			SORNRequired bool     `json:"sorn_required"`
			Rationale    []string `json:"rationale"`
		} `json:"outcome"`
	}
	o.do(t, o.isso, "POST", "/api/v1/ptas", fmt.Sprintf(`{"subject":"source/%d","answers":{"collects_pii":true,"about_public":true,"location_data":true,"retrieved_by_identifier":true,"commercial_source":true,"new_or_changed":true}}`, src.ID),
		http.StatusCreated, &pta)
	if !pta.Outcome.PIARequired || !pta.Outcome.SORNRequired || len(pta.Outcome.Rationale) != 5 {
		t.Errorf("PTA outcome %+v", pta.Outcome)
	}

	// The security officer drafts the PIA; it is incomplete.
	var pia struct {
		ID      int64  `json:"id"`
		Status  string `json:"status"`
		Version int    `json:"version"`
	}
	o.do(t, o.isso, "POST", "/api/v1/pias", fmt.Sprintf(`{"source_id":%d,"title":"Venntel PIA","document":{"overview":"Venntel data."},"note":"start"}`, src.ID), http.StatusCreated, &pia)
	o.piaID, o.piaPrefix = pia.ID, fmt.Sprintf("/api/v1/pias/%d", pia.ID)
	r := ts.send(t, request{method: "POST", path: o.piaPrefix + "/submit", cookie: o.isso.session()})
	if fields := fieldErrors(t, r); !slices.Equal(fields, []string{"overview", "legal_authorities", "characterization", "uses", "notice", "retention", "sharing", "redress", "auditing", "risks"}) {
		t.Errorf("submitting an incomplete draft names %v", fields)
	}
	doc := storetest.CompleteDocument("venntel")
	o.do(t, o.isso, "PUT", o.piaPrefix, `{"base_version":1,"document":`+string(doc.Encode())+`,"note":"complete"}`, http.StatusOK, &pia)
	o.do(t, o.isso, "POST", o.piaPrefix+"/submit", "", http.StatusOK, &pia)
	if pia.Status != "submitted" || pia.Version != 2 {
		t.Fatalf("submitted: %+v", pia)
	}

	// Steps out of order or by the wrong person are refused, and each
	// refusal is one ledger entry.
	for _, c := range []struct {
		who    *person
		action string
		body   string
		status int
		msg    string
	}{
		{o.dpo, "approve", "", http.StatusConflict, "only a PIA the component privacy officer has reviewed and forwarded is approved"},
		{o.isso, "review", "", http.StatusForbidden, "only a component privacy officer of the component may review and forward this PIA"},
		{o.head, "review", "", http.StatusForbidden, "only a component privacy officer of the component may review and forward this PIA"},
		{o.dpo, "return", `{"comments":"Not mine to return yet."}`, http.StatusForbidden, "only a component privacy officer"},
		{o.analyst, "publish", "", http.StatusForbidden, "only a department privacy officer"},
	} {
		before := ts.ledgerSize(t)
		r := ts.send(t, request{method: "POST", path: o.piaPrefix + "/" + c.action, cookie: c.who.session(), body: c.body})
		mustStatus(t, c.action+" by "+c.who.label, r, c.status, c.msg)
		e := ts.mustOneEntry(t, before, "pia.step_refused")
		if e.Actor.ID != c.who.EmployeeID || e.Data["action"] != c.action || e.Subject != fmt.Sprintf("pia/%d", pia.ID) {
			t.Errorf("%s by %s recorded as %+v", c.action, c.who.label, e)
		}
	}
	o.do(t, o.cpo, "POST", o.piaPrefix+"/review", `{"comments":"Complete and accurate."}`, http.StatusOK, &pia)
	o.do(t, o.dpo, "POST", o.piaPrefix+"/approve", "", http.StatusOK, &pia)
	if g := o.gate(t, o.analyst); !slices.Equal(g.codes(), []string{"pia_not_published", "rules_unpublished", "credential_missing"}) {
		t.Errorf("approved, not published: %v", g.codes())
	}
	o.do(t, o.dpo, "POST", o.piaPrefix+"/publish", "", http.StatusOK, &pia)
	o.do(t, o.cpo, "POST", "/api/v1/rules", `{"key":"source:venntel-cbp","title":"Venntel rules","body":"Query Venntel data only for open cases you are assigned to."}`, http.StatusCreated, &struct{}{})
	before := ts.ledgerSize(t)
	o.do(t, o.isso, "PUT", o.sourcePath+"/credential", `{"reference":"sealed:venntel-cbp"}`, http.StatusOK, &src)
	if e := ts.mustOneEntry(t, before, "inventory.source_credential_configured"); strings.Contains(e.raw, "sealed:venntel-cbp") || e.Digest == "" {
		t.Errorf("the ledger holds the credential reference: %s", e.raw)
	}
	if g := o.gate(t, o.analyst); !g.Usable || len(g.Missing) != 0 {
		t.Fatalf("everything in place: %+v", g)
	}
	var listed struct {
		Sources []struct {
			Name string `json:"name"`
			Gate gate   `json:"gate"`
		} `json:"sources"`
	}
	o.do(t, o.analyst, "GET", "/api/v1/sources", "", http.StatusOK, &listed)
	if len(listed.Sources) != 1 || !listed.Sources[0].Gate.Usable {
		t.Errorf("listed: %+v", listed)
	}

	// The history, the versions and their diff.
	var detail struct {
		Steps []struct {
			Action  string `json:"action"`
			Refused string `json:"refused"`
		} `json:"steps"`
		Versions []struct {
			Version int `json:"version"`
		} `json:"versions"`
	}
	o.do(t, o.analyst, "GET", o.piaPrefix, "", http.StatusOK, &detail)
	var done, refused []string
	for _, s := range detail.Steps {
		if s.Refused != "" {
			refused = append(refused, s.Action)
		} else {
			done = append(done, s.Action)
		}
	}
	if !slices.Equal(done, []string{"edit", "edit", "submit", "review", "approve", "publish"}) || len(refused) != 5 || len(detail.Versions) != 2 {
		t.Errorf("history: done %v, refused %v, %d versions", done, refused, len(detail.Versions))
	}
	var diff struct {
		Changes []struct {
			Field string `json:"field"`
			Kind  string `json:"kind"`
			Lines []struct {
				Op   string `json:"op"`
				Text string `json:"text"`
			} `json:"lines"`
		} `json:"changes"`
	}
	o.do(t, o.analyst, "GET", o.piaPrefix+"/diff?from=1&to=2", "", http.StatusOK, &diff)
	if len(diff.Changes) != 10 || diff.Changes[0].Field != "overview" || diff.Changes[0].Kind != "changed" || diff.Changes[9].Field != "risks[0]" {
		t.Errorf("diff: %+v", diff.Changes)
	}

	// A new vendor makes the PIA out of date in the same transaction: the
	// gate closes, and says so.
	before = ts.ledgerSize(t)
	o.do(t, o.cpo, "PATCH", o.sourcePath, `{"vendor":"Venntel Holdings LLC"}`, http.StatusOK, &src)
	if got := types(ts.entriesSince(t, before)); !slices.Equal(got, []string{"inventory.source_updated", "pia.update_required"}) {
		t.Errorf("the vendor change recorded %v", got)
	}
	g := o.gate(t, o.analyst)
	if !slices.Equal(g.codes(), []string{"pia_update_required"}) || !slices.Equal(g.Missing[0].Roles, []auth.Role{auth.SecurityOfficer, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer}) {
		t.Errorf("after the vendor change: %+v", g)
	}
	var got struct {
		UpdateRequired *struct {
			Reason string `json:"reason"`
		} `json:"update_required"`
	}
	o.do(t, o.analyst, "GET", "/api/v1/pias?status=published", "", http.StatusOK, &struct{}{})
	var one struct {
		PIA json.RawMessage `json:"pia"`
	}
	o.do(t, o.analyst, "GET", o.piaPrefix, "", http.StatusOK, &one)
	json.Unmarshal(one.PIA, &got)
	if got.UpdateRequired == nil || got.UpdateRequired.Reason != "vendor changed" {
		t.Errorf("update required: %s", one.PIA)
	}

	// A review is assigned, becomes overdue in the listing only once due,
	// and is completed by its assignee.
	var pcr struct {
		ID      int64 `json:"id"`
		Overdue bool  `json:"overdue"`
	}
	o.do(t, o.dpo, "POST", "/api/v1/pcrs", fmt.Sprintf(`{"subject":"source/%d","title":"First-year review","assignee_id":%d,"due_on":"2099-01-01"}`, src.ID, o.cpo.ID), http.StatusBadRequest, nil)
	o.do(t, o.dpo, "POST", "/api/v1/pcrs", fmt.Sprintf(`{"subject":"source/%d","title":"First-year review","assignee_id":%d,"due_on":%q}`, src.ID, o.cpo.ID, dayFromNow(30)), http.StatusCreated, &pcr)
	var pcrs struct {
		PCRs []json.RawMessage `json:"pcrs"`
	}
	o.do(t, o.analyst, "GET", "/api/v1/pcrs?overdue=true", "", http.StatusOK, &pcrs)
	if len(pcrs.PCRs) != 0 {
		t.Errorf("overdue before its due date: %s", pcrs.PCRs)
	}
	o.do(t, o.dpo, "POST", fmt.Sprintf("/api/v1/pcrs/%d/complete", pcr.ID), `{"result":"compliant","findings":"Sampled twenty queries; all within the PIA."}`, http.StatusForbidden, nil)
	o.do(t, o.cpo, "POST", fmt.Sprintf("/api/v1/pcrs/%d/complete", pcr.ID), `{"result":"compliant","findings":"Sampled twenty queries; all within the PIA."}`, http.StatusOK, &pcr)
}

func dayFromNow(days int) string {
	return time.Now().AddDate(0, 0, days).Format(time.DateOnly)
}

// testPrivacyBadInput sends malformed and invalid requests: each is
// refused with the fields at fault, and nothing is recorded.
func testPrivacyBadInput(t *testing.T, o *privacyOrg) {
	ts := o.ts
	for _, c := range []struct {
		name   string
		who    *person
		method string
		path   string
		body   string
		fields []string // nil: a plain 400 without field errors
		msg    string
	}{
		{"SystemMissingEverything", o.isso, "POST", "/api/v1/systems", `{"component":"CBP"}`, []string{"name", "owner_id", "isso_id", "impact"}, ""},
		{"SystemBadDate", o.isso, "POST", "/api/v1/systems", `{"component":"CBP","ato_granted":"01/02/2025"}`, []string{"ato_granted"}, ""},
		{"SystemComponentChange", o.isso, "PATCH", fmt.Sprintf("/api/v1/systems/%d", o.systemID), `{"component":"ICE"}`, []string{"component"}, ""},
		{"SourceBadFields", o.isso, "POST", "/api/v1/sources", fmt.Sprintf(`{"name":"Bad Name","title":"T","system_id":%d,"vendor":"V","contract_number":"C","categories":["Device Location"],"connector":"ftp"}`, o.systemID),
			[]string{"name", "categories[0]", "connector", "rules_key"}, ""},
		{"SourceRename", o.isso, "PATCH", o.sourcePath, `{"name":"other"}`, []string{"name"}, ""},
		{"SourceUnknownField", o.isso, "PATCH", o.sourcePath, `{"vendr":"typo"}`, nil, `the request body is not valid JSON for this request: unknown field "vendr"`},
		{"SuspendWithoutReason", o.cpo, "POST", o.sourcePath + "/suspend", `{"reason":" "}`, []string{"reason"}, ""},
		{"CredentialSecret", o.isso, "PUT", o.sourcePath + "/credential", `{"reference":"my password"}`, nil, "the credential reference must be SCHEME:PATH"},
		{"CredentialEmpty", o.isso, "PUT", o.sourcePath + "/credential", `{"reference":""}`, []string{"reference"}, ""},
		{"PTAUnanswered", o.isso, "POST", "/api/v1/ptas", fmt.Sprintf(`{"subject":"source/%d","answers":{"collects_pii":true}}`, o.sourceID),
			[]string{"about_public", "location_data", "retrieved_by_identifier", "commercial_source", "new_or_changed"}, ""},
		{"PTABadSubject", o.isso, "POST", "/api/v1/ptas", `{"subject":"case/1","answers":{"collects_pii":false,"about_public":false,"location_data":false,"retrieved_by_identifier":false,"commercial_source":false,"new_or_changed":false}}`, []string{"subject"}, ""},
		{"PIADocumentUnknownField", o.isso, "PUT", o.piaPrefix, `{"base_version":2,"document":{"overveiw":"x"}}`, []string{"document"}, ""},
		{"PIADocumentBadRisk", o.isso, "PUT", o.piaPrefix, `{"base_version":2,"document":{"risks":[{"section":"appendix","residual":"severe"}]}}`, []string{"risks[0].section", "risks[0].residual"}, ""},
		{"PIANoBase", o.isso, "PUT", o.piaPrefix, `{"document":{}}`, []string{"base_version"}, ""},
		{"PIANoSource", o.isso, "POST", "/api/v1/pias", `{"title":"x"}`, []string{"source_id"}, ""},
		{"ReturnWithoutComments", o.cpo, "POST", o.piaPrefix + "/return", ``, []string{"comments"}, ""},
		{"PriorBadDate", o.dpo, "POST", o.piaPrefix + "/prior-approval", `{"approved_on":"yesterday","approver":"CPO","reference":"R"}`, []string{"approved_on"}, ""},
		{"DiffBadVersions", o.analyst, "GET", o.piaPrefix + "/diff?from=one", ``, []string{"from", "to"}, ""},
		{"PCRsBadFlag", o.analyst, "GET", "/api/v1/pcrs?overdue=soon", ``, []string{"overdue"}, ""},
		{"PCRBadResult", o.cpo, "POST", "/api/v1/pcrs/1/complete", `{"result":"fine","findings":"x"}`, []string{"result", "findings"}, ""},
		{"BadID", o.analyst, "GET", "/api/v1/pias/abc", ``, nil, `id must be a positive whole number, not "abc"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := ts.ledgerSize(t)
			r := ts.send(t, request{method: c.method, path: c.path, cookie: c.who.session(), body: c.body})
			if c.fields != nil {
				if got := fieldErrors(t, r); !slices.Equal(got, c.fields) {
					t.Errorf("fields %v, want %v", got, c.fields)
				}
			} else {
				mustStatus(t, c.name, r, http.StatusBadRequest, c.msg)
			}
			if ts.ledgerSize(t) != before {
				t.Error("bad input was recorded")
			}
		})
	}
}
