package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/importer/ping"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// A queryOrg is a server with what a location query needs: in CBP a
// supervisor (head), a security officer, a privacy officer, an analyst
// under head who is a member of an open case with a court order, and
// another analyst under head who is not; the department privacy officer;
// a usable local telemetry source holding the pings of three devices near
// the port in the last two hours, and of one far away.
type queryOrg struct {
	ts                   *testServer
	head, isso, cpo, dpo *person
	analyst, outsider    *person
	src                  privacy.Source
	caseNo, order        string
	now                  time.Time
	devices              []string // the source's identifiers of the devices near the port
	farDevice            string
	verifiers            string // the ledger's verifier key
}

// principalOf returns the principal p acts as.
func (ts *testServer) principalOf(tb testing.TB, p *person) auth.Principal {
	tb.Helper()
	ctx := context.Background()
	who, err := ts.Identity.PersonByEmployeeID(ctx, p.EmployeeID)
	if err != nil {
		tb.Fatal(err)
	}
	grants, err := ts.Identity.Grants(ctx, p.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return identity.Principal(who, grants)
}

func mustQueryOrg(t *testing.T, ts *testServer) *queryOrg {
	t.Helper()
	ctx := context.Background()
	ts.mustJSON(t, request{method: "POST", path: "/api/v1/components", auth: bearer(adminToken), body: `{"code":"CBP","name":"CBP"}`}, http.StatusCreated, &struct{}{})
	o := &queryOrg{ts: ts, caseNo: fmt.Sprintf("CBP-2026-%04d", ts.next()), order: "CO-2026-17", now: time.Now().UTC()}
	o.head = ts.mustPerson(t, invitation{label: "q-head", component: "CBP"}, auth.Grant{Role: auth.Supervisor, Component: "CBP"})
	o.isso = ts.mustPerson(t, invitation{label: "q-isso", component: "CBP", supervisor: o.head.ID}, auth.Grant{Role: auth.SecurityOfficer, Component: "CBP"})
	o.cpo = ts.mustPerson(t, invitation{label: "q-cpo", component: "CBP"}, auth.Grant{Role: auth.ComponentPrivacyOfficer, Component: "CBP"})
	o.dpo = ts.mustPerson(t, invitation{label: "q-dpo"}, auth.Grant{Role: auth.DepartmentPrivacyOfficer})
	o.analyst = ts.mustPerson(t, invitation{label: "q-analyst", component: "CBP", supervisor: o.head.ID}, auth.Grant{Role: auth.Analyst, Component: "CBP"})
	o.outsider = ts.mustPerson(t, invitation{label: "q-outsider", component: "CBP", supervisor: o.head.ID}, auth.Grant{Role: auth.Analyst, Component: "CBP"})
	isso, cpo, dpo, head := ts.principalOf(t, o.isso), ts.principalOf(t, o.cpo), ts.principalOf(t, o.dpo), ts.principalOf(t, o.head)

	// Analysts on duty around the clock: the queries must not depend on
	// the hour the tests run at (off-hours queries need approval).
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "api-test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	always := identity.Schedule{TimeZone: "UTC", Start: 0, End: 24 * 60, Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}}
	for _, p := range []*person{o.analyst, o.outsider} {
		if _, err := ts.Identity.UpdatePerson(ctx, admin, p.ID, store.PersonUpdate{Schedule: &always}); err != nil {
			t.Fatal(err)
		}
	}

	today := o.now.Truncate(24 * time.Hour)
	sys, err := ts.Privacy.CreateSystem(ctx, isso, privacy.System{Name: "Port telemetry", Component: "CBP", OwnerID: o.head.ID, ISSOID: o.isso.ID,
		Impact: privacy.High, ATOGranted: today.AddDate(-1, 0, 0), ATOExpires: today.AddDate(2, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if o.src, err = ts.Privacy.CreateSource(ctx, isso, privacy.Source{Name: "port-pings", Title: "Port pings", SystemID: sys.ID, Vendor: "Probity local telemetry store",
		ContractNumber: "N/A", Categories: []string{"device_location"}, Connector: privacy.LocalStore}); err != nil {
		t.Fatal(err)
	}
	pia, err := ts.Privacy.CreatePIA(ctx, isso, o.src.ID, "PIA of port pings", storetest.CompleteDocument("port pings"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		who auth.Principal
		a   privacy.Action
	}{{isso, privacy.Submit}, {cpo, privacy.Accept}, {dpo, privacy.Approve}, {dpo, privacy.Publish}} {
		if pia, err = ts.Privacy.Step(ctx, st.who, pia.ID, st.a, store.StepInput{}); err != nil {
			t.Fatalf("%s the PIA: %v", st.a, err)
		}
	}
	if _, err := ts.Identity.PublishRules(ctx, dpo, identity.Rules{Key: o.src.RulesKey, Title: "Rules for port pings", Body: "Use these pings only for open cases you are assigned to."}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*person{o.analyst, o.outsider} {
		if err := ts.Identity.Acknowledge(ctx, ts.principalOf(t, p), o.src.RulesKey, 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ts.Cases.Create(ctx, head, cases.Case{Number: o.caseNo, Title: "Containers moved at night", LegalAuthority: "8 U.S.C. 1357",
		Predicate: "An informant reported containers moved at night", Component: "CBP", Members: []cases.Member{{EmployeeID: o.analyst.EmployeeID}},
		LegalProcess: []cases.LegalProcess{{Kind: cases.CourtOrder, Reference: o.order, IssuedOn: today.AddDate(0, 0, -10), ExpiresOn: today.AddDate(0, 0, 80)}}}); err != nil {
		t.Fatalf("create the case: %v", err)
	}

	// Three devices near 38.9, -77.03 with four pings each in the last two
	// hours; one far away.
	var pings []ping.Ping
	for i := range 3 {
		dev := fmt.Sprintf("port-device-%d", i)
		o.devices = append(o.devices, dev)
		for k := range 4 {
			pings = append(pings, ping.Ping{Device: dev, Time: o.now.Add(-time.Duration(100-10*k-i) * time.Minute).Truncate(time.Second),
				Lat: 38.9 + float64(i)*0.0005, Lon: -77.03 + float64(k)*0.0005, AccuracyM: 8})
		}
	}
	o.farDevice = "far-device"
	pings = append(pings, ping.Ping{Device: o.farDevice, Time: o.now.Add(-time.Hour).Truncate(time.Second), Lat: 39.5, Lon: -76.0})
	if _, err := ts.DB.Telemetry().Import(ctx, ledger.Actor{Kind: ledger.ActorSystem, ID: "api-test"}, o.src.Name, storetest.NewPingList(pings),
		store.ImportOptions{FileName: "port.csv", Format: "csv"}); err != nil {
		t.Fatalf("import: %v", err)
	}
	if o.verifiers, err = ts.Ledger.VerifierKey(ctx); err != nil {
		t.Fatal(err)
	}
	return o
}

// circle is an area search of the circle around the devices.
func (o *queryOrg) circle() map[string]any {
	return map[string]any{"kind": "area", "case": o.caseNo, "source": o.src.Name, "justification": "Containers moved at night near the port; find devices present.",
		"circle": map[string]any{"lat": 38.9005, "lon": -77.029, "radius_m": 400},
		"from":   o.now.Add(-3 * time.Hour).Format(time.RFC3339), "to": o.now.Add(time.Second).Format(time.RFC3339)}
}

func body(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// queryAnswer is the answer to a query submitted or run, or refused.
type queryAnswer struct {
	Query struct {
		ID           int64    `json:"id"`
		Status       string   `json:"status"`
		Tier         string   `json:"tier"`
		Kind         string   `json:"kind"`
		Device       string   `json:"device"`
		Reasons      []string `json:"reasons"`
		ResultDigest string   `json:"result_digest"`
		ResultCount  int      `json:"result_count"`
	} `json:"query"`
	Status  string          `json:"status"`
	Message string          `json:"message"`
	Result  *query.Result   `json:"result"`
	Receipt *ledger.Receipt `json:"receipt"`
	Error   *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		QueryID int64  `json:"query_id"`
	} `json:"error"`
	raw string
}

// send sends a JSON request as p and checks the status.
func (o *queryOrg) send(t *testing.T, p *person, method, path, b string, status int) queryAnswer {
	t.Helper()
	r := o.ts.send(t, request{method: method, path: path, cookie: p.session(), body: b})
	if r.status != status {
		t.Fatalf("%s %s as %s: status %d, want %d: %s", method, path, p.label, r.status, status, r.body)
	}
	var a queryAnswer
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, r.body)
	}
	a.raw = string(r.body)
	return a
}

// verify checks a receipt offline, as probity ledger verify -receipt does
// from the file the CLI writes, and returns its entry.
func (o *queryOrg) verify(t *testing.T, rc *ledger.Receipt, typ string) ledger.Entry {
	t.Helper()
	if rc == nil {
		t.Fatalf("no receipt of the %s entry", typ)
	}
	b, err := json.Marshal(rc)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ledger.ParseReceipt(b)
	if err != nil {
		t.Fatalf("the receipt as a file: %v", err)
	}
	v, _, err := ledger.ParseVerifiers(o.verifiers)
	if err != nil {
		t.Fatal(err)
	}
	en, _, err := parsed.Verify(v)
	if err != nil {
		t.Fatalf("the receipt does not verify: %v", err)
	}
	if en.Type != typ {
		t.Fatalf("a receipt of a %s entry, want %s", en.Type, typ)
	}
	return en
}

// queries counts the stored queries.
func (o *queryOrg) queries(t *testing.T) int64 {
	return o.ts.mustQueryInt(t, `SELECT COUNT(*) FROM queries`)
}

func TestQueries(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			ts := mustStartServer(t, d)
			o := mustQueryOrg(t, ts)
			t.Run("OKAreaSearch", func(t *testing.T) { testQueryArea(t, o) })
			t.Run("OKApprovalFlow", func(t *testing.T) { testQueryApproval(t, o) })
			t.Run("ErrRefused", func(t *testing.T) { testQueryRefused(t, o) })
			t.Run("ErrBadInput", func(t *testing.T) { testQueryBadInput(t, o) })
		})
	}
}

// testQueryArea runs area searches end to end, reads the results again
// and lists and shows the query.
func testQueryArea(t *testing.T, o *queryOrg) {
	ts := o.ts
	before := ts.ledgerSize(t)
	a := o.send(t, o.analyst, "POST", "/api/v1/queries", body(o.circle()), http.StatusCreated)
	if a.Status != "completed" || a.Query.Status != "completed" || a.Result == nil || len(a.Result.Devices) != 3 || a.Query.ResultCount != 3 {
		t.Fatalf("the area search: %s", a.raw)
	}
	if a.Message != "3 devices seen in the area" {
		t.Errorf("message %q", a.Message)
	}
	for _, dv := range a.Result.Devices {
		if !query.IsPseudonym(dv.Device) || dv.Pings != 4 || !dv.FirstSeen.Before(dv.LastSeen) {
			t.Errorf("device %+v: want a pseudonym with 4 pings", dv)
		}
	}
	// The source's identifiers never leave the query path.
	for _, dev := range append(o.devices, o.farDevice) {
		if strings.Contains(a.raw, dev) {
			t.Fatalf("the answer holds the source's identifier %s: %s", dev, a.raw)
		}
	}
	en := o.verify(t, a.Receipt, "query.completed")
	if en.Digest != a.Query.ResultDigest || en.Digest != ledger.PayloadDigest(a.Result.Encode()) {
		t.Errorf("the entry commits to %s; the query says %s; the result hashes to %s", en.Digest, a.Query.ResultDigest, ledger.PayloadDigest(a.Result.Encode()))
	}
	if en.Subject != fmt.Sprintf("query/%d", a.Query.ID) || en.Actor.ID != o.analyst.EmployeeID || en.Data["case"] != o.caseNo {
		t.Errorf("the entry: %+v", en)
	}
	if got := types(ts.entriesSince(t, before)); !slices.Equal(got, []string{"query.started", "query.completed", "review.opened"}) {
		t.Errorf("the search recorded %v", got)
	}

	// The same area as GeoJSON: the same devices, under the same
	// pseudonyms (the case's).
	poly := o.circle()
	delete(poly, "circle")
	poly["area"] = json.RawMessage(`{"type":"Polygon","coordinates":[[[-77.035,38.897],[-77.025,38.897],[-77.025,38.905],[-77.035,38.905],[-77.035,38.897]]]}`)
	g := o.send(t, o.analyst, "POST", "/api/v1/queries", body(poly), http.StatusCreated)
	if g.Result == nil || !slices.EqualFunc(g.Result.Devices, a.Result.Devices, func(x, y query.Device) bool { return x.Device == y.Device }) {
		t.Fatalf("the polygon search: %s", g.raw)
	}

	// Reading the results again is recorded, with its own receipt.
	before = ts.ledgerSize(t)
	var res struct {
		QueryID int64           `json:"query_id"`
		Result  query.Result    `json:"result"`
		Receipt *ledger.Receipt `json:"receipt"`
	}
	path := fmt.Sprintf("/api/v1/queries/%d", a.Query.ID)
	ts.mustJSON(t, request{method: "GET", path: path + "/results", cookie: o.analyst.session()}, http.StatusOK, &res)
	if res.QueryID != a.Query.ID || len(res.Result.Devices) != 3 || ledger.PayloadDigest(res.Result.Encode()) != a.Query.ResultDigest {
		t.Fatalf("results: %+v", res)
	}
	read := ts.mustOneEntry(t, before, "query.results_read")
	if read.Actor.ID != o.analyst.EmployeeID || read.Subject != fmt.Sprintf("query/%d", a.Query.ID) || read.Digest != a.Query.ResultDigest {
		t.Errorf("the reading recorded as %s", read.raw)
	}
	if en := o.verify(t, res.Receipt, "query.results_read"); en.Actor.ID != o.analyst.EmployeeID {
		t.Errorf("the reading's receipt: %+v", en)
	}
	// Nobody else reads them: not another analyst, not the supervisor
	// (who has no data.access); nothing is recorded.
	before = ts.ledgerSize(t)
	mustStatus(t, "the outsider reads the results", ts.send(t, request{method: "GET", path: path + "/results", cookie: o.outsider.session()}), http.StatusForbidden, "only the requester reads")
	mustStatus(t, "the supervisor reads the results", ts.send(t, request{method: "GET", path: path + "/results", cookie: o.head.session()}), http.StatusForbidden, "your role does not allow this (data.access)")
	if ts.ledgerSize(t) != before {
		t.Error("a refused reading changed the ledger")
	}

	// The query, to those who may see it.
	var one struct {
		Query struct {
			ID      int64 `json:"id"`
			Request struct {
				Case   string        `json:"case"`
				Circle *query.Circle `json:"circle"`
			} `json:"request"`
			Decision struct {
				Allowed bool `json:"allowed"`
			} `json:"decision"`
			Tier string `json:"tier"`
		} `json:"query"`
		Approvals []json.RawMessage `json:"approvals"`
	}
	for _, p := range []*person{o.analyst, o.head, o.cpo, o.dpo} {
		ts.mustJSON(t, request{method: "GET", path: path, cookie: p.session()}, http.StatusOK, &one)
		if one.Query.ID != a.Query.ID || one.Query.Request.Case != o.caseNo || one.Query.Request.Circle == nil || !one.Query.Decision.Allowed ||
			one.Query.Tier != "routine" || one.Approvals == nil {
			t.Errorf("the query as %s: %+v", p.label, one)
		}
	}
	for _, p := range []*person{o.outsider, o.isso} {
		mustStatus(t, "the query as "+p.label, ts.send(t, request{method: "GET", path: path, cookie: p.session()}), http.StatusNotFound, fmt.Sprintf("there is no query %d you may see", a.Query.ID))
	}

	// Listings.
	list := func(p *person, q string) []int64 {
		t.Helper()
		var l struct {
			Queries []struct {
				ID     int64  `json:"id"`
				Status string `json:"status"`
			} `json:"queries"`
		}
		ts.mustJSON(t, request{method: "GET", path: "/api/v1/queries" + q, cookie: p.session()}, http.StatusOK, &l)
		var ids []int64
		for _, x := range l.Queries {
			ids = append(ids, x.ID)
		}
		return ids
	}
	if ids := list(o.analyst, ""); !slices.Contains(ids, a.Query.ID) || !slices.Contains(ids, g.Query.ID) {
		t.Errorf("the analyst lists %v", ids)
	}
	if ids := list(o.analyst, "?status=refused&case="+o.caseNo); slices.Contains(ids, a.Query.ID) {
		t.Errorf("refused queries of the case: %v", ids)
	}
	if ids := list(o.head, ""); len(ids) != 0 {
		t.Errorf("the supervisor's own queries: %v", ids)
	}
	if ids := list(o.head, "?all=true&status=completed"); !slices.Contains(ids, a.Query.ID) {
		t.Errorf("the supervisor oversees %v", ids)
	}
	if ids := list(o.outsider, "?all=true"); slices.Contains(ids, a.Query.ID) {
		t.Errorf("the outsider lists %v", ids)
	}
	mustStatus(t, "a bad status", ts.send(t, request{method: "GET", path: "/api/v1/queries?status=done", cookie: o.analyst.session()}), http.StatusBadRequest, `status "done" is not a query status`)
	mustStatus(t, "a bad all", ts.send(t, request{method: "GET", path: "/api/v1/queries?all=maybe", cookie: o.analyst.session()}), http.StatusBadRequest, `all must be true or false`)
}

// testQueryApproval takes an unmasking through its approval: the
// supervisor approves, the analyst runs it; and rejects another.
func testQueryApproval(t *testing.T, o *queryOrg) {
	ts := o.ts
	a := o.send(t, o.analyst, "POST", "/api/v1/queries", body(o.circle()), http.StatusCreated)
	pseudonym := a.Result.Devices[0].Device
	unmask := map[string]any{"kind": "unmask", "case": o.caseNo, "source": o.src.Name, "justification": "Serve the court order on the device's owner.", "device": pseudonym}

	u := o.send(t, o.analyst, "POST", "/api/v1/queries", body(unmask), http.StatusCreated)
	if u.Status != "awaiting_approval" || u.Query.Tier != "high" || u.Result != nil || !strings.Contains(u.Message, "a supervisor in your chain") {
		t.Fatalf("the unmasking: %s", u.raw)
	}
	o.verify(t, u.Receipt, "query.awaiting_approval")
	path := fmt.Sprintf("/api/v1/queries/%d", u.Query.ID)

	for _, c := range []struct {
		label  string
		who    *person
		action string
		body   string
		status int
		msg    string
	}{
		{"run before approval", o.analyst, "run", "", http.StatusConflict, fmt.Sprintf("query %d is awaiting approval; only an approved query runs", u.Query.ID)},
		{"the requester approves", o.analyst, "approve", "", http.StatusForbidden, "your role does not allow this (approvals.decide)"},
		{"a privacy officer approves a high query", o.cpo, "approve", "", http.StatusForbidden, fmt.Sprintf("query %d needs approval by a supervisor in your chain", u.Query.ID)},
		{"a rejection without a reason", o.head, "reject", `{"reason":"no"}`, http.StatusBadRequest, "reason: say why the query is rejected"},
		{"a rejection with an unknown member", o.head, "reject", `{"reason":"the window is too wide","extra":1}`, http.StatusBadRequest, "the request body is not valid JSON for this request: unknown field"},
	} {
		before := ts.ledgerSize(t)
		r := ts.send(t, request{method: "POST", path: path + "/" + c.action, cookie: c.who.session(), body: c.body})
		mustStatus(t, c.label, r, c.status, c.msg)
		if ts.ledgerSize(t) != before {
			t.Errorf("%s: the ledger grew", c.label)
		}
	}

	before := ts.ledgerSize(t)
	var dec struct {
		Query struct {
			Status string `json:"status"`
		} `json:"query"`
	}
	ts.mustJSON(t, request{method: "POST", path: path + "/approve", cookie: o.head.session(), body: `{"reason":"the court order covers it"}`}, http.StatusOK, &dec)
	if dec.Query.Status != "approved" {
		t.Fatalf("approved: %+v", dec)
	}
	if e := ts.mustOneEntry(t, before, "query.approved"); e.Actor.ID != o.head.EmployeeID || e.Data["capacity"] != "supervisor" {
		t.Errorf("the approval recorded as %s", e.raw)
	}
	// The approver does not run it (no data.access); the requester does.
	mustStatus(t, "the approver runs it", ts.send(t, request{method: "POST", path: path + "/run", cookie: o.head.session()}), http.StatusForbidden, "your role does not allow this (data.access)")
	mustStatus(t, "another analyst runs it", ts.send(t, request{method: "POST", path: path + "/run", cookie: o.outsider.session()}), http.StatusForbidden, "only the requester runs")
	run := o.send(t, o.analyst, "POST", path+"/run", "", http.StatusOK)
	if run.Status != "completed" || run.Result == nil || !slices.Contains(o.devices, run.Result.Revealed) || run.Result.Device != pseudonym {
		t.Fatalf("the run: %s", run.raw)
	}
	en := o.verify(t, run.Receipt, "query.completed")
	if as, _ := en.Data["approvals"].([]any); len(as) != 1 || strings.Contains(string(mustCanonical(t, en)), run.Result.Revealed) {
		t.Errorf("the completion entry: %+v", en)
	}
	var one struct {
		Query struct {
			Device string `json:"device"`
		} `json:"query"`
		Approvals []struct {
			EmployeeID string `json:"employee_id"`
			Capacity   string `json:"capacity"`
			Decision   string `json:"decision"`
			Reason     string `json:"reason"`
		} `json:"approvals"`
	}
	ts.mustJSON(t, request{method: "GET", path: path, cookie: o.cpo.session()}, http.StatusOK, &one)
	if len(one.Approvals) != 1 || one.Approvals[0].EmployeeID != o.head.EmployeeID || one.Approvals[0].Decision != "approved" || one.Query.Device != pseudonym {
		t.Errorf("the query's approvals: %+v", one)
	}
	o.send(t, o.analyst, "POST", path+"/run", "", http.StatusConflict)

	// A raw identifier the unmasking revealed is shown to others as the
	// pseudonym.
	hist := map[string]any{"kind": "device_history", "case": o.caseNo, "source": o.src.Name, "justification": "Follow the device seen at the container yard.",
		"device": run.Result.Revealed, "legal_process": o.order, "from": o.now.Add(-3 * time.Hour).Format(time.RFC3339), "to": o.now.Add(time.Second).Format(time.RFC3339)}
	h := o.send(t, o.analyst, "POST", "/api/v1/queries", body(hist), http.StatusCreated)
	if h.Result == nil || len(h.Result.Pings) != 4 || h.Result.Device != pseudonym {
		t.Fatalf("the history: %s", h.raw)
	}
	r := ts.send(t, request{method: "GET", path: fmt.Sprintf("/api/v1/queries/%d", h.Query.ID), cookie: o.head.session()})
	if r.status != http.StatusOK || strings.Contains(string(r.body), run.Result.Revealed) || !strings.Contains(string(r.body), `"device": "`+pseudonym) {
		t.Errorf("the history as the supervisor sees it: %s", r.body)
	}

	// A rejected query never runs.
	u2 := o.send(t, o.analyst, "POST", "/api/v1/queries", body(unmask), http.StatusCreated)
	path2 := fmt.Sprintf("/api/v1/queries/%d", u2.Query.ID)
	ts.mustJSON(t, request{method: "POST", path: path2 + "/reject", cookie: o.head.session(), body: `{"reason":"the case does not need the owner yet"}`}, http.StatusOK, &dec)
	if dec.Query.Status != "rejected" {
		t.Fatalf("rejected: %+v", dec)
	}
	before = ts.ledgerSize(t)
	e := o.send(t, o.analyst, "POST", path2+"/run", "", http.StatusConflict)
	if e.Error == nil || !strings.Contains(e.Error.Message, "is rejected") || ts.ledgerSize(t) != before {
		t.Errorf("running a rejected query: %s", e.raw)
	}
}

func mustCanonical(t *testing.T, en ledger.Entry) []byte {
	t.Helper()
	b, err := json.Marshal(en)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testQueryRefused submits what the path refuses: the query is stored
// and recorded, and the answer carries its ID and the receipt.
func testQueryRefused(t *testing.T, o *queryOrg) {
	ts := o.ts
	for _, c := range []struct {
		label  string
		who    *person
		change func(map[string]any)
		status int
		msg    string
		stage  string
	}{
		{"not a member", o.outsider, func(map[string]any) {}, http.StatusForbidden, "You are not a member of this case", "policy"},
		{"an unknown case", o.analyst, func(m map[string]any) { m["case"] = "CBP-2026-999999" }, http.StatusNotFound, "CBP-2026-999999", "case"},
		{"a device the case never saw", o.analyst, func(m map[string]any) {
			m["kind"], m["device"] = "device_history", "p-aaaaaaaaaaaaaaaaaaaa"
			delete(m, "circle")
		}, http.StatusNotFound, "", "case"},
	} {
		t.Run(c.label, func(t *testing.T) {
			req := o.circle()
			c.change(req)
			before, stored := ts.ledgerSize(t), o.queries(t)
			a := o.send(t, c.who, "POST", "/api/v1/queries", body(req), c.status)
			if a.Error == nil || a.Error.QueryID == 0 || a.Error.QueryID != a.Query.ID || a.Query.Status != "refused" || a.Result != nil {
				t.Fatalf("the refusal: %s", a.raw)
			}
			if !strings.HasPrefix(a.Error.Message, fmt.Sprintf("query %d refused: ", a.Query.ID)) || !strings.Contains(a.Error.Message, c.msg) {
				t.Errorf("message %q, want it to name query %d and say %q", a.Error.Message, a.Query.ID, c.msg)
			}
			if o.queries(t) != stored+1 {
				t.Error("the refused query is not stored")
			}
			e := ts.mustOneEntry(t, before, "query.refused")
			if e.Data["stage"] != c.stage || e.Actor.ID != c.who.EmployeeID || e.Subject != fmt.Sprintf("query/%d", a.Query.ID) {
				t.Fatalf("the refusal recorded as %s", e.raw)
			}
			o.verify(t, a.Receipt, "query.refused")
		})
	}
}

// testQueryBadInput sends malformed requests: each gets a 400 (413, 415)
// naming what is wrong. Those the path refuses are stored and recorded;
// those that are not a request at all change nothing.
func testQueryBadInput(t *testing.T, o *queryOrg) {
	ts := o.ts
	huge := o.circle()
	huge["justification"] = strings.Repeat("x", 1<<20+20<<10)
	for _, c := range []struct {
		label       string
		body        string
		contentType string
		status      int
		msg         string
	}{
		{"not JSON", `{"kind":"area",`, "", http.StatusBadRequest, "the request body is not valid JSON for this request: "},
		{"an unknown member", `{"kind":"area","case":"CBP-2026-0001","radius":3}`, "", http.StatusBadRequest, `the request body is not valid JSON for this request: unknown field "radius"`},
		{"a wrong type", `{"kind":"area","circle":{"lat":"north"}}`, "", http.StatusBadRequest, `the request body is not valid JSON for this request: field "circle.lat" must be float64`},
		{"trailing data", body(o.circle()) + `{}`, "", http.StatusBadRequest, "the request body has data after its JSON value"},
		{"an empty body", " ", "", http.StatusBadRequest, "the request body is not valid JSON for this request: the body is empty"},
		{"not JSON at all", "kind=area", "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, "the request body must be application/json"},
		{"too large", body(huge), "", http.StatusRequestEntityTooLarge, "the request body is larger than"},
	} {
		before, stored := ts.ledgerSize(t), o.queries(t)
		r := ts.send(t, request{method: "POST", path: "/api/v1/queries", cookie: o.analyst.session(), body: c.body, contentType: c.contentType})
		if r.status != c.status {
			t.Fatalf("%s: status %d, want %d: %.300s", c.label, r.status, c.status, r.body)
		}
		code := map[int]string{400: "invalid", 413: "too_large", 415: "unsupported_type"}[c.status]
		if msg := checkJSONError(t, r, code); !strings.HasPrefix(msg, c.msg) {
			t.Errorf("%s: message %q, want %q", c.label, msg, c.msg)
		}
		if ts.ledgerSize(t) != before || o.queries(t) != stored {
			t.Errorf("%s: something was recorded or stored", c.label)
		}
	}

	// Requests the path checks: refused, stored, recorded, 400.
	bowTie := o.circle()
	delete(bowTie, "circle")
	bowTie["area"] = json.RawMessage(`{"type":"Polygon","coordinates":[[[-77.035,38.897],[-77.025,38.905],[-77.025,38.897],[-77.035,38.905],[-77.035,38.897]]]}`)
	both := o.circle()
	both["area"] = bowTie["area"]
	late := o.circle()
	late["from"], late["to"] = o.now.Format(time.RFC3339), o.now.Add(-time.Hour).Format(time.RFC3339)
	short := o.circle()
	short["justification"] = "because"
	for _, c := range []struct {
		label string
		req   map[string]any
		msg   string
	}{
		{"a ring that crosses itself", bowTie, "area: "},
		{"an area and a circle", both, "give either an area (GeoJSON) or a circle, not both"},
		{"a window backwards", late, "the window must start before it ends"},
		{"a short justification", short, "justification: say why, in at least 20 characters"},
	} {
		before := ts.ledgerSize(t)
		a := o.send(t, o.analyst, "POST", "/api/v1/queries", body(c.req), http.StatusBadRequest)
		want := fmt.Sprintf("query %d refused: %s", a.Query.ID, c.msg)
		if a.Error == nil || a.Error.Code != "invalid" || a.Error.QueryID == 0 || !strings.HasPrefix(a.Error.Message, want) {
			t.Errorf("%s: %s, want the message to start %q", c.label, a.raw, want)
			continue
		}
		e := ts.mustOneEntry(t, before, "query.refused")
		if e.Data["stage"] != "invalid" || e.Subject != fmt.Sprintf("query/%d", a.Query.ID) {
			t.Errorf("%s: recorded as %s", c.label, e.raw)
		}
		o.verify(t, a.Receipt, "query.refused")
	}
	// The geometry's problem is named precisely.
	a := o.send(t, o.analyst, "POST", "/api/v1/queries", body(bowTie), http.StatusBadRequest)
	if !strings.Contains(a.Error.Message, "the ring intersects itself: the edge from position") {
		t.Errorf("the bow tie's message: %q", a.Error.Message)
	}
	mustStatus(t, "a query ID that is not a number", ts.send(t, request{method: "GET", path: "/api/v1/queries/abc", cookie: o.analyst.session()}), http.StatusBadRequest, `id must be a positive whole number, not "abc"`)
	mustStatus(t, "an unknown query", ts.send(t, request{method: "GET", path: "/api/v1/queries/999999", cookie: o.analyst.session()}), http.StatusNotFound, "")
}
