package web

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/store"
)

// alertRoutes are the pages of misuse alerts, over the alert store as the
// API's routes are: reading needs alerts.read, acting alerts.manage; the
// store decides which alerts each may see (never one about themselves)
// and who takes which step. Without the alert store there are no such
// pages.
func (w *Web) alertRoutes() []Route {
	if w.deps.Alerts == nil {
		return nil
	}
	return []Route{
		{Method: "GET", Pattern: "/alerts", Perm: auth.AlertsRead, Handler: w.listAlerts},
		{Method: "GET", Pattern: "/alerts/{id}", Perm: auth.AlertsRead, Handler: w.showAlert},
		{Method: "POST", Pattern: "/alerts/{id}/triage", Perm: auth.AlertsManage, Handler: w.alertStep(alerts.TakeTriage)},
		{Method: "POST", Pattern: "/alerts/{id}/refer", Perm: auth.AlertsManage, Handler: w.alertStep(alerts.Refer)},
		{Method: "POST", Pattern: "/alerts/{id}/dismiss", Perm: auth.AlertsManage, Handler: w.alertStep(alerts.Dismiss)},
		{Method: "POST", Pattern: "/alerts/{id}/resolve", Perm: auth.AlertsManage, Handler: w.alertStep(alerts.Resolve)},
	}
}

// severityRank orders severities, the most severe highest.
func severityRank(s alerts.Severity) int { return slices.Index(alerts.Severities(), s) }

func alertStatusText(s alerts.Status) string {
	switch s {
	case alerts.New:
		return "new"
	case alerts.Triage:
		return "in triage"
	case alerts.Referred:
		return "referred to professional responsibility"
	}
	return string(s)
}

func detectorText(d string) string { return strings.ReplaceAll(d, "_", " ") }

// The list.

type alertRow struct {
	ID                                int64
	Detector, Severity, Status, About string
	Component, Assignee, Raised       string
	QueryID                           int64
	High, Open                        bool
}

type filterChoice struct {
	Value, Title string
	Selected     bool
}

// alertListData is what the list of alerts shows.
type alertListData struct {
	Rows                 []alertRow
	Statuses, Severities []filterChoice
	Filtered             bool
	Zone                 string
}

func (w *Web) listAlerts(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := r.URL.Query()
	var f store.AlertFilter
	var err error
	if s := q.Get("status"); s != "" {
		if f.Status, err = alerts.ParseStatus(s); err != nil {
			return err
		}
	}
	if s := q.Get("severity"); s != "" {
		if f.Severity, err = alerts.ParseSeverity(s); err != nil {
			return err
		}
	}
	as, err := w.deps.Alerts.List(r.Context(), p, f)
	if err != nil {
		return err
	}
	// The most severe first, the newest first within a severity.
	slices.SortStableFunc(as, func(a, b store.AlertRecord) int {
		return cmp.Or(cmp.Compare(severityRank(b.Severity), severityRank(a.Severity)), b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	who := w.person(r, p)
	loc := zoneOf(who)
	d := alertListData{Filtered: f.Status != "" || f.Severity != "", Zone: loc.String()}
	d.Statuses = append(d.Statuses, filterChoice{Value: "", Title: "Any status", Selected: f.Status == ""})
	for _, s := range alerts.Statuses() {
		d.Statuses = append(d.Statuses, filterChoice{Value: string(s), Title: alertStatusText(s), Selected: f.Status == s})
	}
	d.Severities = append(d.Severities, filterChoice{Value: "", Title: "Any severity", Selected: f.Severity == ""})
	for _, s := range slices.Backward(alerts.Severities()) {
		d.Severities = append(d.Severities, filterChoice{Value: string(s), Title: string(s), Selected: f.Severity == s})
	}
	for _, a := range as {
		d.Rows = append(d.Rows, alertRow{ID: a.ID, Detector: detectorText(a.Detector), Severity: string(a.Severity), Status: alertStatusText(a.Status), About: a.Person,
			Component: a.Component, Assignee: alertAssignee(a), Raised: localText(a.CreatedAt, loc), QueryID: a.QueryID, High: a.Severity == alerts.High, Open: a.Status.Open()})
	}
	return w.render(rw, http.StatusOK, "alerts", view{Title: "Alerts", Person: who, Data: d})
}

func alertAssignee(a store.AlertRecord) string {
	if a.Assignee == "" {
		return "any privacy officer of " + a.Component
	}
	return a.Assignee
}

// An alert's page.

// evidenceItem is one top-level key of an alert's evidence: a string,
// number or boolean shown as text; an object or array as indented JSON.
type evidenceItem struct {
	Key, Value string
	Block      bool
}

// evidenceItems returns the top-level keys of an evidence object, sorted,
// for a definition list; evidence that is no object is one item.
func evidenceItems(raw json.RawMessage) []evidenceItem {
	var obj map[string]json.RawMessage
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return []evidenceItem{{Key: "evidence", Value: indentJSON(raw), Block: true}}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]evidenceItem, 0, len(keys))
	for _, k := range keys {
		v := bytes.TrimSpace(obj[k])
		it := evidenceItem{Key: strings.ReplaceAll(k, "_", " ")}
		var s string
		switch {
		case len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil:
			it.Value = s
		case len(v) > 0 && (v[0] == '{' || v[0] == '['):
			it.Value, it.Block = indentJSON(v), true
		default:
			it.Value = string(v)
		}
		out = append(out, it)
	}
	return out
}

func indentJSON(v []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, v, "", "  ") != nil {
		return string(v)
	}
	return buf.String()
}

type stepRow struct {
	When, Action, Change, Actor, Capacity, Note string
}

// actionForm is a step the person may take on the alert now.
type actionForm struct {
	Action              alerts.Action
	Title, Button, Hint string
	// NoteLabel labels the note; a step without one needs none.
	NoteLabel string
	// Note is what was typed, kept when the step was refused; Problem why.
	Note, Problem string
}

// alertPageData is what an alert's page shows.
type alertPageData struct {
	ID                                         int64
	Detector, Severity, Status, Component      string
	About, Assignee, Raised, Updated, Referred string
	Closed, Explanation, EvidenceDigest, Zone  string
	QueryID                                    int64
	High, Open                                 bool
	Evidence                                   []evidenceItem
	Steps                                      []stepRow
	Actions                                    []actionForm
	CSRF                                       string
}

func alertID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.New(fault.NotFound, "there is no alert %q", clipValue(s))
	}
	return id, nil
}

var stepDone = map[string]string{
	string(alerts.TakeTriage): "You took the alert into triage: it is assigned to you.",
	string(alerts.Refer):      "The alert is referred to professional responsibility, which is told.",
	string(alerts.Dismiss):    "The alert is dismissed, with your reason.",
	string(alerts.Resolve):    "The alert is resolved.",
}

func (w *Web) showAlert(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := alertID(r)
	if err != nil {
		return err
	}
	flash := ""
	if msg, ok := stepDone[r.URL.Query().Get("done")]; ok {
		flash = msg + " This step is recorded in the ledger."
	}
	return w.alertPage(rw, r, p, id, http.StatusOK, flash, "", "", "")
}

// holdsIn reports whether p holds role in component or department-wide.
func holdsIn(p auth.Principal, role auth.Role, component string) bool {
	return slices.ContainsFunc(p.Grants, func(g auth.Grant) bool { return g.Role == role && (g.Component == "" || g.Component == component) })
}

// alertCapacity returns in which capacity p acts on a, as the store
// decides it, or false when p does not act on its alerts at all.
func alertCapacity(p auth.Principal, a store.AlertRecord) (alerts.Capacity, bool) {
	if p.PersonID == 0 || !p.CanIn(auth.AlertsManage, a.Component) {
		return "", false
	}
	privacyOfficer := holdsIn(p, auth.ComponentPrivacyOfficer, a.Component) || p.HasRole(auth.DepartmentPrivacyOfficer)
	opr := holdsIn(p, auth.OPRIntake, a.Component)
	switch {
	case opr && (a.Status == alerts.Referred || !privacyOfficer):
		return alerts.OPRIntake, true
	case privacyOfficer:
		return alerts.PrivacyOfficer, true
	}
	return "", false
}

// alertPage renders alert id, with a flash message, or the step that was
// refused with why and the note typed.
func (w *Web) alertPage(rw http.ResponseWriter, r *http.Request, p auth.Principal, id int64, status int, flash string, failed alerts.Action, problem, note string) error {
	a, err := w.deps.Alerts.Get(r.Context(), p, id)
	if err != nil {
		return err
	}
	who := w.person(r, p)
	loc := zoneOf(who)
	d := alertPageData{ID: a.ID, Detector: detectorText(a.Detector), Severity: string(a.Severity), Status: alertStatusText(a.Status), Component: a.Component,
		About: a.Person, Assignee: alertAssignee(a), Raised: localText(a.CreatedAt, loc), Updated: localText(a.UpdatedAt, loc), Explanation: a.Explanation,
		EvidenceDigest: a.EvidenceDigest, Zone: loc.String(), QueryID: a.QueryID, High: a.Severity == alerts.High, Open: a.Status.Open(),
		Evidence: evidenceItems(a.Evidence), CSRF: formToken(r)}
	if !a.ReferredAt.IsZero() {
		d.Referred = localText(a.ReferredAt, loc)
	}
	if !a.ClosedAt.IsZero() {
		d.Closed = localText(a.ClosedAt, loc)
	}
	for _, st := range a.Steps {
		change := alertStatusText(st.To)
		if st.From != "" {
			change = alertStatusText(st.From) + " → " + alertStatusText(st.To)
		}
		d.Steps = append(d.Steps, stepRow{When: localText(st.At, loc), Action: st.Action, Change: change, Actor: st.Actor, Capacity: strings.ReplaceAll(string(st.Capacity), "_", " "), Note: st.Note})
	}
	if capacity, ok := alertCapacity(p, a); ok {
		for _, f := range []actionForm{
			{Action: alerts.TakeTriage, Title: "Take into triage", Button: "Take into triage", Hint: "Assigns the alert to you while you look into it."},
			{Action: alerts.Refer, Title: "Refer to professional responsibility", Button: "Refer to OPR", NoteLabel: "Why it goes to professional responsibility",
				Hint: "OPR intake is told and sees the alert from then on. At least 10 characters."},
			{Action: alerts.Dismiss, Title: "Dismiss", Button: "Dismiss the alert", NoteLabel: "Reason for dismissing it", Hint: "Why this is not misuse. At least 10 characters."},
			{Action: alerts.Resolve, Title: "Resolve", Button: "Resolve the alert", NoteLabel: "How it was resolved", Hint: "At least 10 characters."},
		} {
			if _, err := alerts.Next(a.Status, f.Action, capacity); err != nil {
				continue
			}
			if f.Action == failed {
				f.Note, f.Problem = note, problem
			}
			d.Actions = append(d.Actions, f)
		}
	}
	// A refused step that is no longer offered still says why.
	var pageError string
	if problem != "" && !slices.ContainsFunc(d.Actions, func(f actionForm) bool { return f.Action == failed }) {
		pageError = problem
	}
	return w.render(rw, status, "alert", view{Title: fmt.Sprintf("Alert %d", a.ID), Person: who, Flash: flash, Error: pageError, Data: d})
}

// alertStep takes a step of an alert's workflow, with the note the form
// carries: a referral, a dismissal and a resolution say why.
func (w *Web) alertStep(action alerts.Action) func(http.ResponseWriter, *http.Request, auth.Principal) error {
	return func(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
		if err := form(rw, r); err != nil {
			return err
		}
		if err := checkFormToken(r); err != nil {
			return err
		}
		id, err := alertID(r)
		if err != nil {
			return err
		}
		note := r.PostFormValue("note")
		if _, err := w.deps.Alerts.Step(r.Context(), p, id, action, note); err != nil {
			status, known := pageStatus[fault.CodeOf(err)]
			if !known || fault.Is(err, fault.NotFound) {
				return err
			}
			return w.alertPage(rw, r, p, id, status, "", action, fault.MessageOf(err), note)
		}
		http.Redirect(rw, r, "/alerts/"+strconv.FormatInt(id, 10)+"?done="+string(action), http.StatusSeeOther)
		return nil
	}
}
