package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/store"
)

// alertRoutes are the routes of misuse alerts. Reading needs alerts.read,
// acting alerts.manage; the store decides which alerts each may see
// (privacy officers and auditors their components', OPR intake those
// referred to it, never the person an alert is about) and who takes which
// step.
func (a *API) alertRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/alerts", Perm: auth.AlertsRead, Handler: a.listAlerts},
		{Method: "GET", Pattern: "/api/v1/alerts/{id}", Perm: auth.AlertsRead, Handler: a.getAlert},
		{Method: "POST", Pattern: "/api/v1/alerts/{id}/triage", Perm: auth.AlertsManage, Handler: a.alertStep(alerts.TakeTriage)},
		{Method: "POST", Pattern: "/api/v1/alerts/{id}/refer", Perm: auth.AlertsManage, Handler: a.alertStep(alerts.Refer)},
		{Method: "POST", Pattern: "/api/v1/alerts/{id}/dismiss", Perm: auth.AlertsManage, Handler: a.alertStep(alerts.Dismiss)},
		{Method: "POST", Pattern: "/api/v1/alerts/{id}/resolve", Perm: auth.AlertsManage, Handler: a.alertStep(alerts.Resolve)},
	}
}

type alertJSON struct {
	ID             int64             `json:"id"`
	Detector       string            `json:"detector"`
	Severity       alerts.Severity   `json:"severity"`
	Component      string            `json:"component"`
	QueryID        int64             `json:"query_id,omitempty"`
	Person         string            `json:"person,omitempty"`
	Explanation    string            `json:"explanation"`
	Evidence       json.RawMessage   `json:"evidence,omitempty"`
	EvidenceDigest string            `json:"evidence_digest"`
	Status         alerts.Status     `json:"status"`
	Assignee       string            `json:"assignee"`
	ReferredAt     *time.Time        `json:"referred_at,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	ClosedAt       *time.Time        `json:"closed_at,omitempty"`
	Steps          []store.AlertStep `json:"steps,omitempty"`
}

// toAlertJSON returns a as the API shows it; with details, its evidence
// and steps.
func toAlertJSON(a store.AlertRecord, details bool) alertJSON {
	out := alertJSON{ID: a.ID, Detector: a.Detector, Severity: a.Severity, Component: a.Component, QueryID: a.QueryID, Person: a.Person,
		Explanation: a.Explanation, EvidenceDigest: a.EvidenceDigest, Status: a.Status, Assignee: a.Assignee, ReferredAt: timePtr(a.ReferredAt),
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, ClosedAt: timePtr(a.ClosedAt)}
	if details {
		out.Evidence, out.Steps = a.Evidence, a.Steps
		if out.Steps == nil {
			out.Steps = []store.AlertStep{}
		}
	}
	return out
}

func (a *API) listAlerts(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
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
	if f.Mine, err = boolParam(r, "mine"); err != nil {
		return err
	}
	if f.QueryID, err = queryInt(r, "query", 0); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 500)
	if err != nil {
		return err
	}
	f.Limit = int(min(limit, 500))
	as, err := a.deps.Alerts.List(r.Context(), by, f)
	if err != nil {
		return err
	}
	out := make([]alertJSON, 0, len(as))
	for _, x := range as {
		out = append(out, toAlertJSON(x, false))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"alerts": out})
}

func (a *API) getAlert(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	al, err := a.deps.Alerts.Get(r.Context(), by, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"alert": toAlertJSON(al, true)})
}

// alertStep takes a step of an alert's workflow, with a note: a referral,
// a dismissal and a resolution say why.
func (a *API) alertStep(action alerts.Action) func(http.ResponseWriter, *http.Request, auth.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var body struct {
			Note string `json:"note"`
		}
		if err := decodeOptional(w, r, &body); err != nil {
			return err
		}
		al, err := a.deps.Alerts.Step(r.Context(), by, id, action, body.Note)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"alert": toAlertJSON(al, true)})
	}
}
