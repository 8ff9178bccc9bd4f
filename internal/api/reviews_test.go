package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// apiReview is a review as the API shows it.
type apiReview struct {
	QueryID     int64  `json:"query_id"`
	Requester   string `json:"requester"`
	Tier        string `json:"tier"`
	Assignee    string `json:"assignee"`
	AssignedTo  string `json:"assigned_to"`
	Status      string `json:"status"`
	Decision    string `json:"decision"`
	Note        string `json:"note"`
	DecidedBy   string `json:"decided_by"`
	Bulk        bool   `json:"bulk"`
	Overdue     bool   `json:"overdue"`
	QueryStatus string `json:"query_status"`
}

// apiAlert is an alert as the API shows it.
type apiAlert struct {
	ID          int64           `json:"id"`
	Detector    string          `json:"detector"`
	Severity    string          `json:"severity"`
	Person      string          `json:"person"`
	QueryID     int64           `json:"query_id"`
	Explanation string          `json:"explanation"`
	Evidence    json.RawMessage `json:"evidence"`
	Status      string          `json:"status"`
	Assignee    string          `json:"assignee"`
	Steps       []struct {
		Action string `json:"action"`
		Note   string `json:"note"`
	} `json:"steps"`
}

func TestReviewsAndAlerts(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			ts := mustStartServer(t, d)
			o := mustQueryOrg(t, ts)
			t.Run("Reviews", func(t *testing.T) { testReviewsAPI(t, o) })
			t.Run("Alerts", func(t *testing.T) { testAlertsAPI(t, o) })
		})
	}
}

func testReviewsAPI(t *testing.T, o *queryOrg) {
	ts := o.ts
	ctx := context.Background()
	before := ts.ledgerSize(t)
	a := o.send(t, o.analyst, "POST", "/api/v1/queries", body(o.circle()), http.StatusCreated)
	if a.Query.Status != "completed" {
		t.Fatalf("the search: %s", a.raw)
	}
	// The query path opens the review as the query completes; the
	// periodic job finds nothing left to open.
	if n, err := ts.Reviews.OpenMissing(ctx); err != nil || n != 0 {
		t.Fatalf("OpenMissing = %d, %v", n, err)
	}
	es := ts.entriesSince(t, before)
	if got := types(es); !slices.Equal(got, []string{"query.started", "query.completed", "review.opened"}) {
		t.Fatalf("ledger entries added: %v, want the query's and its review opened", got)
	}
	opened := es[2]
	if opened.Subject != fmt.Sprintf("query/%d", a.Query.ID) || opened.Data["assignee"] != o.head.EmployeeID || opened.Actor.Kind != ledger.ActorSystem {
		t.Errorf("review.opened: %s", opened.raw)
	}
	path := fmt.Sprintf("/api/v1/reviews/%d", a.Query.ID)

	// The requester sees the review of their query, not the queue.
	var one struct {
		Review apiReview `json:"review"`
	}
	ts.mustJSON(t, request{method: "GET", path: path, cookie: o.analyst.session()}, http.StatusOK, &one)
	if one.Review.Requester != o.analyst.EmployeeID || one.Review.Assignee != o.head.EmployeeID || one.Review.Status != "pending" || one.Review.Tier != a.Query.Tier ||
		one.Review.QueryStatus != "completed" || one.Review.Overdue {
		t.Errorf("the review: %+v", one.Review)
	}
	mustStatus(t, "the analyst's queue", ts.send(t, request{method: "GET", path: "/api/v1/reviews", cookie: o.analyst.session()}), http.StatusForbidden, "your role does not allow this (reviews.read)")
	mustStatus(t, "another analyst", ts.send(t, request{method: "GET", path: path, cookie: o.outsider.session()}), http.StatusNotFound, fmt.Sprintf("there is no review of query %d you may see", a.Query.ID))

	// The supervisor's queue holds it.
	var queue struct {
		Reviews []apiReview `json:"reviews"`
	}
	ts.mustJSON(t, request{method: "GET", path: "/api/v1/reviews?mine=true", cookie: o.head.session()}, http.StatusOK, &queue)
	if len(queue.Reviews) != 1 || queue.Reviews[0].QueryID != a.Query.ID {
		t.Fatalf("the supervisor's queue: %+v", queue.Reviews)
	}

	t.Run("ErrBadInput", func(t *testing.T) {
		before := ts.ledgerSize(t)
		for _, c := range []struct {
			name   string
			who    *person
			path   string
			body   string
			ctype  string
			status int
			msg    string
		}{
			{"UnknownField", o.head, path + "/decide", `{"decision":"appropriate","verdict":"ok"}`, "", http.StatusBadRequest, `the request body is not valid JSON for this request: unknown field "verdict"`},
			{"BadDecision", o.head, path + "/decide", `{"decision":"fine"}`, "", http.StatusBadRequest, `decision "fine" is not a review decision`},
			{"NoNote", o.head, path + "/decide", `{"decision":"refer_to_privacy"}`, "", http.StatusBadRequest, "note: say why the query goes to the privacy office"},
			{"NoBody", o.head, path + "/decide", ``, "application/json", http.StatusBadRequest, "the request body is not valid JSON for this request: the body is empty"},
			{"Trailing", o.head, path + "/decide", `{"decision":"appropriate"} {}`, "", http.StatusBadRequest, "the request body has data after its JSON value"},
			{"BadID", o.head, "/api/v1/reviews/abc/decide", `{"decision":"appropriate"}`, "", http.StatusBadRequest, `id must be a positive whole number, not "abc"`},
			{"NotAbove", o.isso, path + "/decide", `{"decision":"appropriate"}`, "", http.StatusNotFound, "there is no review of query"},
			{"PrivacyOfficer", o.cpo, path + "/decide", `{"decision":"appropriate"}`, "", http.StatusForbidden, "the review of query"},
			{"Analyst", o.analyst, path + "/decide", `{"decision":"appropriate"}`, "", http.StatusForbidden, "your role does not allow this (approvals.decide)"},
			{"BadStatus", o.head, "/api/v1/reviews?status=open", ``, "", http.StatusBadRequest, `status "open" is not a review status`},
			{"BadMine", o.head, "/api/v1/reviews?mine=perhaps", ``, "", http.StatusBadRequest, `mine must be true or false, not "perhaps"`},
			{"BadLimit", o.head, "/api/v1/reviews?limit=-3", ``, "", http.StatusBadRequest, `limit must be a non-negative whole number`},
			{"BulkEmpty", o.head, "/api/v1/reviews/bulk/decide", `{"ids":[],"decision":"appropriate"}`, "", http.StatusBadRequest, "ids: give the queries"},
		} {
			t.Run(c.name, func(t *testing.T) {
				method := "POST"
				if strings.Contains(c.path, "?") {
					method = "GET"
				}
				rq := request{method: method, path: c.path, cookie: c.who.session(), body: c.body, contentType: c.ctype}
				mustStatus(t, c.name, ts.send(t, rq), c.status, c.msg)
			})
		}
		r := ts.send(t, request{method: "POST", path: path + "/decide", cookie: o.head.session(), body: `decision=appropriate`, contentType: "application/x-www-form-urlencoded"})
		if r.status != http.StatusUnsupportedMediaType || checkJSONError(t, r, "unsupported_type") != "the request body must be application/json" {
			t.Errorf("a form: %d %s", r.status, r.body)
		}
		if ts.ledgerSize(t) != before {
			t.Error("refused decisions changed the ledger")
		}
		ts.mustJSON(t, request{method: "GET", path: path, cookie: o.head.session()}, http.StatusOK, &one)
		if one.Review.Status != "pending" {
			t.Errorf("refused decisions changed the review: %+v", one.Review)
		}
	})

	t.Run("OKDecide", func(t *testing.T) {
		before := ts.ledgerSize(t)
		ts.mustJSON(t, request{method: "POST", path: path + "/decide", cookie: o.head.session(), body: `{"decision":"needs_explanation","note":"Why three devices at the port?"}`}, http.StatusOK, &one)
		if one.Review.Status != "decided" || one.Review.Decision != "needs_explanation" || one.Review.DecidedBy != o.head.EmployeeID || one.Review.Note != "Why three devices at the port?" {
			t.Errorf("decided %+v", one.Review)
		}
		en := ts.mustOneEntry(t, before, "review.decided")
		if en.Actor.ID != o.head.EmployeeID || en.Subject != fmt.Sprintf("query/%d", a.Query.ID) || en.Data["decision"] != "needs_explanation" || en.Component != "CBP" {
			t.Errorf("review.decided: %s", en.raw)
		}
		mustStatus(t, "deciding twice", ts.send(t, request{method: "POST", path: path + "/decide", cookie: o.head.session(), body: `{"decision":"appropriate"}`}),
			http.StatusConflict, fmt.Sprintf("query %d was already reviewed by %s", a.Query.ID, o.head.EmployeeID))
		// The requester reads the note.
		ts.mustJSON(t, request{method: "GET", path: path, cookie: o.analyst.session()}, http.StatusOK, &one)
		if one.Review.Note != "Why three devices at the port?" {
			t.Errorf("the requester's view: %+v", one.Review)
		}
	})

	t.Run("OKBulk", func(t *testing.T) {
		r1 := ts.mustStoredQuery(t, o.analyst, query.Completed, query.Routine, false)
		r2 := ts.mustStoredQuery(t, o.analyst, query.Withheld, query.Routine, false)
		el := ts.mustStoredQuery(t, o.analyst, query.Completed, query.Elevated, false)
		if _, err := ts.Reviews.OpenMissing(ctx); err != nil {
			t.Fatal(err)
		}
		// Riskiest first.
		ts.mustJSON(t, request{method: "GET", path: "/api/v1/reviews", cookie: o.head.session()}, http.StatusOK, &queue)
		var order []int64
		for _, r := range queue.Reviews {
			order = append(order, r.QueryID)
		}
		if !slices.Equal(order, []int64{el.ID, r1.ID, r2.ID}) {
			t.Errorf("queue %v; want %v", order, []int64{el.ID, r1.ID, r2.ID})
		}
		before := ts.ledgerSize(t)
		mustStatus(t, "bulk with an elevated query", ts.send(t, request{method: "POST", path: "/api/v1/reviews/bulk/decide", cookie: o.head.session(),
			body: fmt.Sprintf(`{"ids":[%d,%d],"decision":"appropriate"}`, r1.ID, el.ID)}), http.StatusBadRequest,
			fmt.Sprintf("query %d is of the elevated tier; only routine queries are reviewed in bulk", el.ID))
		if ts.ledgerSize(t) != before {
			t.Fatal("a refused bulk decision changed the ledger")
		}
		var bulk struct {
			Reviews []apiReview `json:"reviews"`
		}
		ts.mustJSON(t, request{method: "POST", path: "/api/v1/reviews/bulk/decide", cookie: o.head.session(),
			body: fmt.Sprintf(`{"ids":[%d,%d],"decision":"appropriate","note":"Routine port work."}`, r1.ID, r2.ID)}, http.StatusOK, &bulk)
		if len(bulk.Reviews) != 2 || !bulk.Reviews[0].Bulk || bulk.Reviews[1].Decision != "appropriate" {
			t.Errorf("bulk %+v", bulk.Reviews)
		}
		if got := types(ts.entriesSince(t, before)); !slices.Equal(got, []string{"review.decided", "review.decided"}) {
			t.Errorf("entries %v", got)
		}
		// Referral to the privacy office raises an alert.
		before = ts.ledgerSize(t)
		ts.mustJSON(t, request{method: "POST", path: fmt.Sprintf("/api/v1/reviews/%d/decide", el.ID), cookie: o.head.session(),
			body: `{"decision":"refer_to_privacy","note":"A wide area for this case."}`}, http.StatusOK, &one)
		if got := types(ts.entriesSince(t, before)); !slices.Equal(got, []string{"alert.raised", "review.decided"}) {
			t.Errorf("entries %v", got)
		}
		var list struct {
			Alerts []apiAlert `json:"alerts"`
		}
		ts.mustJSON(t, request{method: "GET", path: fmt.Sprintf("/api/v1/alerts?query=%d", el.ID), cookie: o.cpo.session()}, http.StatusOK, &list)
		if len(list.Alerts) != 1 || list.Alerts[0].Detector != "review_referral" || list.Alerts[0].Assignee != o.cpo.EmployeeID || list.Alerts[0].Evidence != nil {
			t.Errorf("alerts %+v", list.Alerts)
		}
	})
}

func testAlertsAPI(t *testing.T, o *queryOrg) {
	ts := o.ts
	ctx := context.Background()
	opr := ts.mustPerson(t, invitation{label: "q-opr", component: "CBP"}, auth.Grant{Role: auth.OPRIntake, Component: "CBP"})
	q := ts.mustStoredQuery(t, o.analyst, query.Withheld, query.Elevated, false)
	var id int64
	if err := ts.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		id, err = ts.Alerts.Raise(ctx, tx, alerts.Alert{Detector: "employee_device", Severity: alerts.High, Component: "CBP", QueryID: q.ID, PersonID: o.analyst.ID,
			Explanation: "The device's night-time pings fall in an employee's home cells.", Evidence: json.RawMessage(`{"nights":5}`)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/v1/alerts/%d", id)
	var one struct {
		Alert apiAlert `json:"alert"`
	}
	ts.mustJSON(t, request{method: "GET", path: path, cookie: o.cpo.session()}, http.StatusOK, &one)
	var ev bytes.Buffer
	json.Compact(&ev, one.Alert.Evidence)
	if one.Alert.Severity != "high" || one.Alert.Person != o.analyst.EmployeeID || ev.String() != `{"nights":5}` || one.Alert.Status != "new" ||
		len(one.Alert.Steps) != 1 || one.Alert.Assignee != o.cpo.EmployeeID {
		t.Errorf("the alert: %+v", one.Alert)
	}
	mustStatus(t, "OPR intake before the referral", ts.send(t, request{method: "GET", path: path, cookie: opr.session()}), http.StatusNotFound, fmt.Sprintf("there is no alert %d you may see", id))
	mustStatus(t, "the supervisor", ts.send(t, request{method: "GET", path: path, cookie: o.head.session()}), http.StatusForbidden, "your role does not allow this (alerts.read)")

	t.Run("ErrBadInput", func(t *testing.T) {
		before := ts.ledgerSize(t)
		for _, c := range []struct {
			name   string
			who    *person
			method string
			path   string
			body   string
			status int
			msg    string
		}{
			{"ReferNew", o.cpo, "POST", path + "/refer", `{"note":"Tracked a coworker at night."}`, http.StatusConflict, "the alert is new; take it into triage first"},
			{"UnknownField", o.cpo, "POST", path + "/triage", `{"reason":"x"}`, http.StatusBadRequest, `the request body is not valid JSON for this request: unknown field "reason"`},
			{"OPRTriage", opr, "POST", path + "/triage", ``, http.StatusNotFound, "there is no alert"},
			{"BadStatus", o.cpo, "GET", "/api/v1/alerts?status=open", ``, http.StatusBadRequest, `status "open" is not an alert status`},
			{"BadSeverity", o.cpo, "GET", "/api/v1/alerts?severity=urgent", ``, http.StatusBadRequest, `severity "urgent" is not a severity`},
			{"BadQuery", o.cpo, "GET", "/api/v1/alerts?query=x", ``, http.StatusBadRequest, `query must be a non-negative whole number`},
		} {
			t.Run(c.name, func(t *testing.T) {
				mustStatus(t, c.name, ts.send(t, request{method: c.method, path: c.path, cookie: c.who.session(), body: c.body}), c.status, c.msg)
			})
		}
		if ts.ledgerSize(t) != before {
			t.Error("refused steps changed the ledger")
		}
	})

	t.Run("OKWorkflow", func(t *testing.T) {
		before := ts.ledgerSize(t)
		ts.mustJSON(t, request{method: "POST", path: path + "/triage", cookie: o.cpo.session()}, http.StatusOK, &one)
		if one.Alert.Status != "triage" {
			t.Fatalf("triage: %+v", one.Alert)
		}
		ts.mustOneEntry(t, before, "alert.triaged")
		mustStatus(t, "a referral without a reason", ts.send(t, request{method: "POST", path: path + "/refer", cookie: o.cpo.session(), body: `{"note":"bad"}`}),
			http.StatusBadRequest, "note: say why the alert goes to professional responsibility")
		before = ts.ledgerSize(t)
		note := "The requester followed a coworker's device home."
		ts.mustJSON(t, request{method: "POST", path: path + "/refer", cookie: o.cpo.session(), body: body(map[string]string{"note": note})}, http.StatusOK, &one)
		en := ts.mustOneEntry(t, before, "alert.referred")
		if en.Digest != ledger.PayloadDigest([]byte(note)) || strings.Contains(en.raw, "coworker") || en.Actor.ID != o.cpo.EmployeeID {
			t.Errorf("alert.referred: %s", en.raw)
		}
		// OPR intake sees it now, and resolves it.
		var list struct {
			Alerts []apiAlert `json:"alerts"`
		}
		ts.mustJSON(t, request{method: "GET", path: "/api/v1/alerts?status=referred", cookie: opr.session()}, http.StatusOK, &list)
		if len(list.Alerts) != 1 || list.Alerts[0].ID != id {
			t.Fatalf("OPR's referred alerts: %+v", list.Alerts)
		}
		mustStatus(t, "the privacy officer resolves a referred alert", ts.send(t, request{method: "POST", path: path + "/resolve", cookie: o.cpo.session(), body: `{"note":"Dealt with by the privacy office."}`}),
			http.StatusForbidden, "a referred alert is resolved by professional responsibility")
		ts.mustJSON(t, request{method: "POST", path: path + "/resolve", cookie: opr.session(), body: `{"note":"Case OPR-2026-31 opened."}`}, http.StatusOK, &one)
		if one.Alert.Status != "resolved" || len(one.Alert.Steps) != 4 || one.Alert.Steps[2].Note != note {
			t.Errorf("resolved %+v", one.Alert)
		}
	})
}
