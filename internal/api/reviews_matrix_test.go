package api_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"testing"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/review"
	"github.com/probity-dev/probity/internal/store"
)

// A reviewFixture is the reviews' and alerts' part of the matrix: a
// completed query of cbp-analyst's whose review cbp-supervisor has
// decided, and a high-severity alert about it that cbp-cpo referred to
// professional responsibility and cbp-opr resolved. Every step left is a
// conflict or a refusal, so the matrix changes nothing.
type reviewFixture struct {
	queryID, alertID int64
}

// mustStoredQuery stores a query of p as the audited query path would
// have, without running anything.
func (ts *testServer) mustStoredQuery(t *testing.T, p *person, status query.Status, tier query.Tier, breakGlass bool) store.QueryRecord {
	t.Helper()
	req := []byte(fmt.Sprintf(`{"kind":"area","case":"CBP-2026-0001","justification":"a query stored by the tests, %d"}`, ts.next()))
	q := store.QueryRecord{PersonID: p.ID, EmployeeID: p.EmployeeID, Component: p.Component, CaseNumber: "CBP-2026-0001", SourceName: "test-source",
		Kind: query.Area, Status: status, Tier: tier, Request: req, RequestDigest: ledger.PayloadDigest(req), BreakGlass: breakGlass,
		ResultCount: 2, ResultDigest: ledger.PayloadDigest(req)}
	ctx := context.Background()
	if err := ts.DB.Update(ctx, func(tx *store.Tx) error { return ts.DB.Queries().Insert(ctx, tx, &q) }); err != nil {
		t.Fatal(err)
	}
	return q
}

func mustReviewFixture(t *testing.T, m *matrix) *reviewFixture {
	t.Helper()
	ctx := context.Background()
	ts := m.ts
	q := ts.mustStoredQuery(t, m.person["cbp-analyst"], query.Completed, query.Routine, false)
	if _, err := ts.Reviews.OpenMissing(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Reviews.Decide(ctx, m.principalOf(t, m.person["cbp-supervisor"]), q.ID, review.Appropriate, ""); err != nil {
		t.Fatalf("the matrix's review: %v", err)
	}
	var id int64
	if err := ts.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		id, err = ts.Alerts.Raise(ctx, tx, alerts.Alert{Detector: "employee_device", Severity: alerts.High, Component: "CBP", QueryID: q.ID,
			PersonID: m.person["cbp-analyst"].ID, Explanation: "The matrix's alert: a device that sleeps in an employee's home."})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	cpo, opr := m.principalOf(t, m.person["cbp-cpo"]), m.principalOf(t, m.person["cbp-opr"])
	for _, st := range []struct {
		by     auth.Principal
		action alerts.Action
	}{{cpo, alerts.TakeTriage}, {cpo, alerts.Refer}, {opr, alerts.Resolve}} {
		if _, err := ts.Alerts.Step(ctx, st.by, id, st.action, "The matrix's alert, step by step."); err != nil {
			t.Fatalf("%s the matrix's alert: %v", st.action, err)
		}
	}
	return &reviewFixture{queryID: q.ID, alertID: id}
}

// reviewCases are the reviews' and alerts' routes in the matrix. The
// queue is for supervisors, privacy officers and auditors; a review is
// shown to its requester, the supervisors above them, and the privacy
// officers and auditors of its component; deciding a decided review is a
// conflict for a supervisor above the requester, a refusal for others who
// see it, and there is no such review for the rest. Alerts are for
// privacy officers, auditors and OPR intake (the latter only once
// referred); a step on a resolved alert is a conflict for the privacy
// officers and refused to OPR intake.
func (m *matrix) reviewCases() []matrixCase {
	rv := fmt.Sprintf("/api/v1/reviews/%d", m.review.queryID)
	al := fmt.Sprintf("/api/v1/alerts/%d", m.review.alertID)
	deciders := m.anywhere(auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.SecurityOfficer)
	reviewViewers := []string{"cbp-analyst", "cbp-supervisor", "cbp-cpo", "cbp-auditor", "dpo", "dpo-token", "dept-auditor"}
	alertReaders := m.anywhere(auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.OPRIntake, auth.Auditor)
	alertViewers := []string{"cbp-cpo", "cbp-opr", "cbp-auditor", "dpo", "dpo-token", "dept-auditor", "auditor"}
	alertManagers := m.anywhere(auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.OPRIntake)
	notSeen := func(who []string, seen []string) map[string]int { return each(http.StatusNotFound, without(who, seen)) }
	decide := notSeen(deciders, reviewViewers)
	step := notSeen(alertManagers, alertViewers)
	step["cbp-opr"] = forbid
	note := `{"note":"authorization matrix"}`
	cases := []matrixCase{
		{name: "review queue", method: "GET", path: "/api/v1/reviews", ok: allow, allow: m.anywhere(auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.Auditor)},
		{name: "get a review", method: "GET", path: rv, ok: allow, allow: reviewViewers, want: notSeen(m.selves(), reviewViewers)},
		{name: "decide a decided review", method: "POST", path: rv + "/decide", body: `{"decision":"appropriate"}`, ok: http.StatusConflict, allow: []string{"cbp-supervisor"}, want: decide},
		{name: "bulk-decide a decided review", method: "POST", path: "/api/v1/reviews/bulk/decide", body: fmt.Sprintf(`{"ids":[%d],"decision":"appropriate"}`, m.review.queryID),
			ok: http.StatusConflict, allow: []string{"cbp-supervisor"}, want: decide},
		{name: "list alerts", method: "GET", path: "/api/v1/alerts", ok: allow, allow: alertReaders},
		{name: "get an alert", method: "GET", path: al, ok: allow, allow: alertViewers, want: notSeen(alertReaders, alertViewers)},
	}
	for _, action := range []string{"triage", "refer", "dismiss", "resolve"} {
		cases = append(cases, matrixCase{name: action + " a resolved alert", method: "POST", path: al + "/" + action, body: note,
			ok: http.StatusConflict, allow: []string{"cbp-cpo", "dpo", "dpo-token"}, want: step})
	}
	// The pages: the same people as the API's routes; those not signed
	// in are sent to sign in, and a form without its token is refused
	// whoever sends it.
	page := func(want map[string]int) map[string]int {
		out := maps.Clone(want)
		if out == nil {
			out = map[string]int{}
		}
		maps.Copy(out, each(seeLogin, m.outsiders()))
		return out
	}
	rp, ap := fmt.Sprintf("/reviews/%d", m.review.queryID), fmt.Sprintf("/alerts/%d", m.review.alertID)
	cases = append(cases,
		matrixCase{name: "review queue page", method: "GET", path: "/reviews", ok: allow, allow: m.anywhere(auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.Auditor), want: page(nil)},
		matrixCase{name: "review page", method: "GET", path: rp, ok: allow, allow: reviewViewers, want: page(notSeen(m.selves(), reviewViewers))},
		matrixCase{name: "decide a review page without its token", method: "POST", path: rp + "/decide", form: true, body: "decision=appropriate",
			ok: forbid, allow: m.signedIn(), want: page(nil)},
		matrixCase{name: "bulk-decide page without its token", method: "POST", path: "/reviews", form: true, body: "decision=appropriate",
			ok: forbid, allow: m.signedIn(), want: page(nil)},
		matrixCase{name: "alerts page", method: "GET", path: "/alerts", ok: allow, allow: alertReaders, want: page(nil)},
		matrixCase{name: "alert page", method: "GET", path: ap, ok: allow, allow: alertViewers, want: page(notSeen(alertReaders, alertViewers))},
	)
	for _, action := range []string{"triage", "refer", "dismiss", "resolve"} {
		cases = append(cases, matrixCase{name: action + " an alert page without its token", method: "POST", path: ap + "/" + action, form: true, body: "note=matrix",
			ok: forbid, allow: m.signedIn(), want: page(nil)})
	}
	return cases
}
