package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
)

// MustRaise raises an alert in its own transaction and returns its ID.
func (o *ReviewOrg) MustRaise(tb testing.TB, a alerts.Alert) int64 {
	tb.Helper()
	id, err := o.raise(a)
	if err != nil {
		tb.Fatalf("raise %+v: %v", a, err)
	}
	return id
}

func (o *ReviewOrg) raise(a alerts.Alert) (int64, error) {
	var id int64
	err := o.DB.Update(context.Background(), func(tx *store.Tx) error {
		var err error
		id, err = o.Alerts.Raise(context.Background(), tx, a)
		return err
	})
	return id, err
}

func (o *ReviewOrg) alertCount(tb testing.TB) int {
	tb.Helper()
	var n int
	if err := o.DB.View(context.Background(), func(tx *store.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT COUNT(*) FROM alerts`).Scan(&n)
	}); err != nil {
		tb.Fatal(err)
	}
	return n
}

func testAlerts(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustReviewOrg(t, d)
	q := o.MustQuery(t, ExecutedQuery{By: "cbp-agent", Status: query.Withheld})
	evidence := json.RawMessage(`{"device": "p-abcdefghijklmnopqrst", "home_cells": 3, "nights": [1, 2, 5]}`)
	high := alerts.Alert{Detector: "employee_device", Severity: alerts.High, Component: "CBP", QueryID: q.ID, PersonID: o.People["cbp-agent"].ID,
		Explanation: "The device's night-time pings fall in an employee's home cells: it is probably that employee's.", Evidence: evidence}

	t.Run("ErrInvalid", func(t *testing.T) {
		before, n := o.size(t), o.alertCount(t)
		for _, c := range []struct {
			name   string
			change func(a *alerts.Alert)
			msg    string
		}{
			{"Detector", func(a *alerts.Alert) { a.Detector = "Employee Device" }, `detector "Employee Device"`},
			{"Severity", func(a *alerts.Alert) { a.Severity = "urgent" }, `severity "urgent" is not a severity`},
			{"NoComponent", func(a *alerts.Alert) { a.Component = "" }, "an alert belongs to the component"},
			{"NoExplanation", func(a *alerts.Alert) { a.Explanation = "bad" }, "explanation: say in plain language"},
			{"Evidence", func(a *alerts.Alert) { a.Evidence = json.RawMessage(`[1, 2]`) }, "evidence: a JSON object"},
			{"EvidenceTrailing", func(a *alerts.Alert) { a.Evidence = json.RawMessage(`{} {}`) }, "evidence: a JSON object"},
			{"NoQuery", func(a *alerts.Alert) { a.QueryID = 999999 }, "there is no query 999999"},
			{"NoPerson", func(a *alerts.Alert) { a.PersonID = 999999 }, "there is no person 999999"},
		} {
			t.Run(c.name, func(t *testing.T) {
				a := high
				c.change(&a)
				_, err := o.raise(a)
				if fault.CodeOf(err) != fault.Invalid || !strings.Contains(fault.MessageOf(err), c.msg) {
					t.Errorf("%v; want invalid saying %q", err, c.msg)
				}
			})
		}
		if o.size(t) != before || o.alertCount(t) != n {
			t.Error("a refused alert changed the ledger or the alerts")
		}
	})

	before := o.size(t)
	id := o.MustRaise(t, high)
	es := o.entriesAfter(t, before)
	if len(es) != 1 || es[0].Type != "alert.raised" || es[0].Actor != store.DetectorActor("employee_device") || es[0].Subject != fmt.Sprintf("alert/%d", id) || es[0].Component != "CBP" {
		t.Fatalf("entries %+v", es)
	}
	raised := es[0]
	if raised.Data["severity"] != "high" || raised.Data["person"] != "cbp-agent" || fmt.Sprint(raised.Data["query"]) != fmt.Sprint(q.ID) || raised.Data["assignee"] != "cbp-cpo" ||
		fmt.Sprint(raised.Data["notified"]) != "[cbp-cpo cbp-cpo2 cbp-lead cbp-opr dept-opr]" {
		t.Errorf("alert.raised data %+v", raised.Data)
	}
	// The explanation and evidence stay out of the ledger, which commits to
	// them.
	b, _ := json.Marshal(raised)
	if strings.Contains(string(b), "home cells") || strings.Contains(string(b), "p-abcdefghijklmnopqrst") {
		t.Errorf("the entry holds the explanation or evidence: %s", b)
	}
	a, err := o.Alerts.Get(ctx, o.As["cbp-cpo"], id)
	if err != nil {
		t.Fatal(err)
	}
	var ev any
	if json.Unmarshal(a.Evidence, &ev) != nil || a.Status != alerts.New || a.Assignee != "cbp-cpo" || a.Person != "cbp-agent" || a.QueryID != q.ID ||
		raised.Digest != a.EvidenceDigest || len(a.Steps) != 1 || a.Steps[0].Action != "raised" {
		t.Errorf("alert %+v", a)
	}
	var compact bytes.Buffer
	json.Compact(&compact, evidence)
	payload, _ := json.Marshal(struct {
		Explanation string          `json:"explanation"`
		Evidence    json.RawMessage `json:"evidence"`
	}{high.Explanation, compact.Bytes()})
	if a.EvidenceDigest != ledger.PayloadDigest(payload) {
		t.Errorf("the alert's digest %s does not commit to its explanation and evidence", a.EvidenceDigest)
	}
	// High severity: the privacy officers, OPR intake (the component's and
	// the department's) and the requester's supervisor are told; the
	// requester is not.
	if got := o.notified(t, "alert.raised", fmt.Sprintf("alert/%d", id)); !slices.Equal(got, []string{"cbp-cpo", "cbp-cpo2", "cbp-lead", "cbp-opr", "dept-opr"}) {
		t.Errorf("told %v", got)
	}
	for _, n := range mustNotifications(t, o, fmt.Sprintf("alert/%d", id)) {
		if strings.Contains(n.Body+n.Title, "home cells") || strings.Contains(n.Body, "p-abcdefghijklmnopqrst") {
			t.Errorf("a notification holds the alert's details: %+v", n)
		}
	}

	t.Run("OKAssignment", func(t *testing.T) {
		// The least loaded privacy officer; never the subject, nor one
		// below them.
		low := o.MustRaise(t, alerts.Alert{Detector: "volume_anomaly", Severity: alerts.Low, Component: "CBP", PersonID: o.People["cbp-agent"].ID, Explanation: "Far more queries today than usual."})
		if a, _ := o.Alerts.Get(ctx, o.As["dpo"], low); a.Assignee != "cbp-cpo2" {
			t.Errorf("assigned to %q, want the less loaded cbp-cpo2", a.Assignee)
		}
		if got := o.notified(t, "alert.raised", fmt.Sprintf("alert/%d", low)); len(got) != 0 {
			t.Errorf("a low-severity alert told %v", got)
		}
		// An alert about cbp-head: cbp-cpo2 is below cbp-head (through
		// cbp-isso), so only cbp-cpo may take it.
		for range 3 {
			o.MustRaise(t, alerts.Alert{Detector: "off_duty", Severity: alerts.Medium, Component: "CBP", PersonID: o.People["cbp-head"].ID, Explanation: "A query at 03:00 on a Sunday."})
		}
		as, err := o.Alerts.List(ctx, o.As["dpo"], store.AlertFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.Person == "cbp-head" && a.Assignee != "cbp-cpo" {
				t.Errorf("an alert about cbp-head went to %q", a.Assignee)
			}
		}
		// An alert about a privacy officer goes to another.
		self := o.MustRaise(t, alerts.Alert{Detector: "self_interest", Severity: alerts.Medium, Component: "CBP", PersonID: o.People["cbp-cpo"].ID, Explanation: "The area covers the requester's own home."})
		if a, _ := o.Alerts.Get(ctx, o.As["dpo"], self); a.Assignee != "cbp-cpo2" {
			t.Errorf("an alert about cbp-cpo went to %q", a.Assignee)
		}
		// … who never sees it.
		if _, err := o.Alerts.Get(ctx, o.As["cbp-cpo"], self); fault.CodeOf(err) != fault.NotFound {
			t.Errorf("the subject sees their alert: %v", err)
		}
		mine, err := o.Alerts.List(ctx, o.As["cbp-cpo"], store.AlertFilter{})
		if err != nil || slices.ContainsFunc(mine, func(a store.AlertRecord) bool { return a.ID == self }) {
			t.Errorf("the subject lists their alert: %v", err)
		}
		if _, err := o.Alerts.Step(ctx, o.As["cbp-cpo"], self, alerts.TakeTriage, ""); fault.CodeOf(err) != fault.NotFound {
			t.Errorf("the subject triages their alert: %v", err)
		}
	})

	t.Run("Visibility", func(t *testing.T) {
		for _, c := range []struct {
			by   string
			code fault.Code
		}{{"cbp-cpo", ""}, {"cbp-cpo2", ""}, {"dpo", ""}, {"auditor", ""}, {"ice-cpo", fault.NotFound}, {"cbp-opr", fault.NotFound}, {"dept-opr", fault.NotFound}} {
			if _, err := o.Alerts.Get(ctx, o.As[c.by], id); fault.CodeOf(err) != c.code && !(c.code == "" && err == nil) {
				t.Errorf("%s gets the alert: %v; want %q", c.by, err, c.code)
			}
		}
		if _, err := o.Alerts.List(ctx, o.As["cbp-agent"], store.AlertFilter{}); fault.CodeOf(err) != fault.Forbidden {
			t.Errorf("an analyst lists alerts: %v", err)
		}
		if as, err := o.Alerts.List(ctx, o.As["ice-cpo"], store.AlertFilter{}); err != nil || len(as) != 0 {
			t.Errorf("ICE's privacy officer lists %d alerts, %v", len(as), err)
		}
		if as, err := o.Alerts.List(ctx, o.As["cbp-cpo"], store.AlertFilter{Severity: alerts.High}); err != nil || len(as) != 1 || as[0].ID != id {
			t.Errorf("high alerts %v, %v", as, err)
		}
	})

	t.Run("Workflow", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			by     string
			action alerts.Action
			note   string
			code   fault.Code
			msg    string
		}{
			{"ErrReferNew", "cbp-cpo", alerts.Refer, "Looks like tracking a coworker.", fault.Conflict, "the alert is new; take it into triage first"},
			{"ErrAction", "cbp-cpo", "close", "", fault.Invalid, `action "close" is not an alert step`},
			{"ErrAuditor", "auditor", alerts.TakeTriage, "", fault.Forbidden, "your roles do not include acting on the alerts of CBP"},
			{"ErrOtherComponent", "ice-cpo", alerts.TakeTriage, "", fault.NotFound, "there is no alert"},
			{"ErrOPRBeforeReferral", "cbp-opr", alerts.TakeTriage, "", fault.NotFound, "there is no alert"},
			{"ErrSupervisor", "cbp-lead", alerts.TakeTriage, "", fault.NotFound, "there is no alert"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := o.size(t)
				_, err := o.Alerts.Step(ctx, o.As[c.by], id, c.action, c.note)
				if fault.CodeOf(err) != c.code || !strings.Contains(fault.MessageOf(err), c.msg) {
					t.Errorf("%v; want %s saying %q", err, c.code, c.msg)
				}
				if o.size(t) != before {
					t.Error("a refused step changed the ledger")
				}
			})
		}
		step := func(t *testing.T, by string, action alerts.Action, note string, want alerts.Status, entry string) store.AlertRecord {
			t.Helper()
			before := o.size(t)
			a, err := o.Alerts.Step(ctx, o.As[by], id, action, note)
			if err != nil || a.Status != want {
				t.Fatalf("%s %s: %+v, %v", by, action, a.Status, err)
			}
			es := o.entriesAfter(t, before)
			if len(es) != 1 || es[0].Type != entry || es[0].Actor.ID != by || es[0].Subject != fmt.Sprintf("alert/%d", id) {
				t.Fatalf("entries %+v", es)
			}
			if note != "" && (es[0].Digest != ledger.PayloadDigest([]byte(note)) || strings.Contains(fmt.Sprint(es[0].Data), note)) {
				t.Errorf("the entry should commit to the note, not hold it: %+v", es[0])
			}
			return a
		}
		a := step(t, "cbp-cpo2", alerts.TakeTriage, "", alerts.Triage, "alert.triaged")
		if a.Assignee != "cbp-cpo2" {
			t.Errorf("triage assigned %q", a.Assignee)
		}
		if _, err := o.Alerts.Step(ctx, o.As["cbp-cpo"], id, alerts.TakeTriage, ""); fault.CodeOf(err) != fault.Conflict {
			t.Errorf("taking it twice: %v", err)
		}
		if _, err := o.Alerts.Step(ctx, o.As["cbp-cpo2"], id, alerts.Refer, "short"); fault.CodeOf(err) != fault.Invalid {
			t.Errorf("a referral without a reason: %v", err)
		}
		a = step(t, "cbp-cpo2", alerts.Refer, "The requester tracked a coworker's device to her home.", alerts.Referred, "alert.referred")
		if a.ReferredAt.IsZero() || !a.ClosedAt.IsZero() {
			t.Errorf("referred %+v", a)
		}
		if got := o.notified(t, "alert.referred", fmt.Sprintf("alert/%d", id)); !slices.Equal(got, []string{"cbp-opr", "dept-opr"}) {
			t.Errorf("the referral told %v", got)
		}
		// OPR intake sees it now; a privacy officer no longer resolves it.
		if _, err := o.Alerts.Get(ctx, o.As["cbp-opr"], id); err != nil {
			t.Errorf("OPR intake after the referral: %v", err)
		}
		if _, err := o.Alerts.Step(ctx, o.As["cbp-cpo2"], id, alerts.Resolve, "Handled by the privacy office."); fault.CodeOf(err) != fault.Forbidden {
			t.Errorf("a privacy officer resolves a referred alert: %v", err)
		}
		if _, err := o.Alerts.Step(ctx, o.As["cbp-opr"], id, alerts.Dismiss, "Nothing to see here at all."); fault.CodeOf(err) != fault.Forbidden {
			t.Errorf("OPR intake dismisses: %v", err)
		}
		a = step(t, "dept-opr", alerts.Resolve, "Disciplinary case OPR-2026-31 opened.", alerts.Resolved, "alert.resolved")
		if a.ClosedAt.IsZero() || len(a.Steps) != 4 || a.Steps[3].Capacity != alerts.OPRIntake || a.Steps[2].Note != "The requester tracked a coworker's device to her home." {
			t.Errorf("resolved %+v", a)
		}
		if _, err := o.Alerts.Step(ctx, o.As["dept-opr"], id, alerts.Resolve, "Resolved once more, again."); fault.CodeOf(err) != fault.Conflict && fault.CodeOf(err) != fault.Forbidden {
			t.Errorf("resolving twice: %v", err)
		}
	})

	t.Run("Dismiss", func(t *testing.T) {
		id := o.MustRaise(t, alerts.Alert{Detector: "repeated_device", Severity: alerts.Medium, Component: "CBP", PersonID: o.People["cbp-agent"].ID, Explanation: "The same device in three unrelated cases."})
		if _, err := o.Alerts.Step(ctx, o.As["dpo"], id, alerts.TakeTriage, "Looking."); err != nil {
			t.Fatal(err)
		}
		if _, err := o.Alerts.Step(ctx, o.As["dpo"], id, alerts.Dismiss, ""); fault.CodeOf(err) != fault.Invalid || !strings.Contains(err.Error(), "the reason for dismissing it") {
			t.Errorf("a dismissal without a reason: %v", err)
		}
		a, err := o.Alerts.Step(ctx, o.As["dpo"], id, alerts.Dismiss, "The cases share a suspect; not misuse.")
		if err != nil || a.Status != alerts.Dismissed || a.ClosedAt.IsZero() {
			t.Fatalf("%+v, %v", a, err)
		}
		if _, err := o.Alerts.Get(ctx, o.As["cbp-opr"], id); fault.CodeOf(err) != fault.NotFound {
			t.Errorf("OPR intake sees a dismissed alert never referred to it: %v", err)
		}
	})
}

func mustNotifications(tb testing.TB, o *ReviewOrg, subject string) []store.NotificationRecord {
	tb.Helper()
	ns, err := o.Notifications.List(context.Background(), store.NotificationFilter{Subject: subject})
	if err != nil {
		tb.Fatal(err)
	}
	return ns
}
