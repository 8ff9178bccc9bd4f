package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/access"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
)

// queryRoutes are the routes of location queries, all through the audited
// query path. Submitting, running and reading results need data.access;
// deciding on an approval needs approvals.decide, and the path decides
// whose (a supervisor above the requester, a privacy officer of their
// component). Listing and reading queries is routed to every person: the
// path shows each the queries they may see, and one they may not see does
// not exist for them.
func (a *API) queryRoutes() []Route {
	return []Route{
		{Method: "POST", Pattern: "/api/v1/queries", Perm: auth.DataAccess, Handler: a.submitQuery},
		{Method: "GET", Pattern: "/api/v1/queries", Perm: auth.Self, Handler: a.listQueries},
		{Method: "GET", Pattern: "/api/v1/queries/{id}", Perm: auth.Self, Handler: a.getQuery},
		{Method: "POST", Pattern: "/api/v1/queries/{id}/approve", Perm: auth.ApprovalsDecide, Handler: a.decideQuery(true)},
		{Method: "POST", Pattern: "/api/v1/queries/{id}/reject", Perm: auth.ApprovalsDecide, Handler: a.decideQuery(false)},
		{Method: "POST", Pattern: "/api/v1/queries/{id}/run", Perm: auth.DataAccess, Handler: a.runQuery},
		{Method: "GET", Pattern: "/api/v1/queries/{id}/results", Perm: auth.DataAccess, Handler: a.queryResults},
		// A privacy officer reviews results a detector withheld.
		{Method: "GET", Pattern: "/api/v1/queries/{id}/withheld-results", Perm: auth.AlertsManage, Handler: a.queryResults},
		{Method: "POST", Pattern: "/api/v1/queries/{id}/withheld", Perm: auth.AlertsManage, Handler: a.reviewWithheld},
	}
}

// maxQueryBody bounds a query request: the largest area document the
// geometry accepts, and room for the other members.
var maxQueryBody = int64(geo.DefaultLimits().MaxBytes) + 16<<10

// withheldDevice stands in a request for a raw device identifier, which
// only the requester was shown (by an approved unmasking) and which the
// query's other readers — supervisors, privacy officers, auditors — must
// not learn from the request.
const withheldDevice = "(identifier withheld)"

type queryJSON struct {
	ID            int64        `json:"id"`
	EmployeeID    string       `json:"employee_id"`
	Component     string       `json:"component"`
	Case          string       `json:"case"`
	Source        string       `json:"source"`
	Kind          query.Kind   `json:"kind"`
	Device        string       `json:"device,omitempty"`
	Status        query.Status `json:"status"`
	Tier          string       `json:"tier,omitempty"`
	Reasons       []string     `json:"reasons"`
	BreakGlass    bool         `json:"break_glass"`
	ResultCount   int          `json:"result_count"`
	ResultDigest  string       `json:"result_digest,omitempty"`
	RequestDigest string       `json:"request_digest"`
	CreatedAt     time.Time    `json:"created_at"`
	UpdatedAt     time.Time    `json:"updated_at"`
	CompletedAt   *time.Time   `json:"completed_at,omitempty"`
	PurgedAt      *time.Time   `json:"purged_at,omitempty"`
	// The details, in a query's own view only.
	Request  json.RawMessage `json:"request,omitempty"`
	Decision json.RawMessage `json:"decision,omitempty"`
	Risk     json.RawMessage `json:"risk,omitempty"`
}

// toQueryJSON returns q as the API shows it; with details, its request
// (a raw device identifier withheld), decision and risk.
func toQueryJSON(q store.QueryRecord, details bool) queryJSON {
	out := queryJSON{ID: q.ID, EmployeeID: q.EmployeeID, Component: q.Component, Case: q.CaseNumber, Source: q.SourceName, Kind: q.Kind,
		Status: q.Status, Reasons: q.Reasons, BreakGlass: q.BreakGlass, ResultCount: q.ResultCount, ResultDigest: q.ResultDigest,
		RequestDigest: q.RequestDigest, CreatedAt: q.CreatedAt, UpdatedAt: q.UpdatedAt, CompletedAt: timePtr(q.CompletedAt), PurgedAt: timePtr(q.PurgedAt)}
	if query.IsPseudonym(q.Device) {
		out.Device = q.Device
	}
	if q.Tier != 0 {
		out.Tier = q.Tier.String()
	}
	if out.Reasons == nil {
		out.Reasons = []string{}
	}
	if details {
		out.Request, out.Decision, out.Risk = shownRequest(q), q.Decision, q.Risk
	}
	return out
}

// shownRequest returns a query's request, a raw device identifier
// replaced by the query's pseudonym (or withheld).
func shownRequest(q store.QueryRecord) json.RawMessage {
	var r query.Request
	if len(q.Request) == 0 || json.Unmarshal(q.Request, &r) != nil {
		return nil
	}
	if r.Device == "" || query.IsPseudonym(r.Device) {
		return q.Request
	}
	r.Device = withheldDevice
	if query.IsPseudonym(q.Device) {
		r.Device = q.Device
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil
	}
	return b
}

// outcomeJSON is the answer to a query submitted or run.
func outcomeJSON(out access.Outcome) map[string]any {
	body := map[string]any{"query": toQueryJSON(out.Query, false), "status": out.Query.Status, "message": out.Message}
	if out.Result != nil {
		body["result"] = out.Result
	}
	if out.Receipt != nil {
		body["receipt"] = out.Receipt
	}
	return body
}

// outcomeError answers an error about a query the path stored (a
// refusal, a failure, an expired approval): the error with the query's ID,
// the query, and the receipt of its ledger entry when there is one. Other
// errors go to the usual rendering.
func (a *API) outcomeError(w http.ResponseWriter, err error, out access.Outcome) error {
	if out.Query.ID == 0 {
		return err
	}
	status, code := StatusOf(err), fault.CodeOf(err)
	if status >= 500 {
		a.deps.Logger.Error("query not completed", "query", out.Query.ID, "code", code, "err", err)
	}
	body := map[string]any{
		"error": map[string]any{"code": string(code), "message": fault.MessageOf(err), "query_id": out.Query.ID},
		"query": toQueryJSON(out.Query, false),
	}
	if out.Receipt != nil {
		body["receipt"] = out.Receipt
	}
	return writeJSON(w, status, body)
}

func (a *API) submitQuery(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var req query.Request
	if err := decodeJSONLimit(w, r, &req, maxQueryBody); err != nil {
		return err
	}
	out, err := a.deps.Queries.Submit(r.Context(), by, req)
	if err != nil {
		return a.outcomeError(w, err, out)
	}
	return writeJSON(w, http.StatusCreated, outcomeJSON(out))
}

// queryStatuses are the statuses a listing may select.
var queryStatuses = []query.Status{query.Refused, query.AwaitingApproval, query.Approved, query.Rejected, query.Expired,
	query.Running, query.Completed, query.Withheld, query.Failed}

func (a *API) listQueries(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	q := r.URL.Query()
	var all bool
	if v := q.Get("all"); v != "" {
		var err error
		if all, err = strconv.ParseBool(v); err != nil {
			return fault.New(fault.Invalid, "all must be true or false, not %q", v)
		}
	}
	f := store.QueryFilter{Status: query.Status(q.Get("status")), CaseNumber: q.Get("case")}
	if f.Status != "" && !slices.Contains(queryStatuses, f.Status) {
		names := make([]string, len(queryStatuses))
		for i, st := range queryStatuses {
			names[i] = string(st)
		}
		return fault.New(fault.Invalid, "status %q is not a query status: use one of %s", clipText(string(f.Status)), strings.Join(names, ", "))
	}
	if len(f.CaseNumber) > 64 {
		return fault.New(fault.Invalid, "case: a case number is at most 64 characters")
	}
	qs, err := a.deps.Queries.List(r.Context(), by, all, f)
	if err != nil {
		return err
	}
	out := make([]queryJSON, 0, len(qs))
	for _, x := range qs {
		out = append(out, toQueryJSON(x, false))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"queries": out})
}

func clipText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func (a *API) getQuery(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	q, approvals, err := a.deps.Queries.Get(r.Context(), by, id)
	if err != nil {
		return err
	}
	if approvals == nil {
		approvals = []store.Approval{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"query": toQueryJSON(q, true), "approvals": approvals})
}

// decideQuery approves or rejects a query awaiting approval; a rejection
// needs a reason.
func (a *API) decideQuery(approve bool) func(http.ResponseWriter, *http.Request, auth.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var body struct {
			Reason string `json:"reason"`
		}
		if err := decodeOptional(w, r, &body); err != nil {
			return err
		}
		q, err := a.deps.Queries.Decide(r.Context(), by, id, approve, body.Reason)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"query": toQueryJSON(q, false)})
	}
}

func (a *API) reviewWithheld(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		Release *bool  `json:"release"`
		Note    string `json:"note"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Release == nil {
		return fault.New(fault.Invalid, "release: true to release the results to the requester, false to uphold the withholding")
	}
	q, err := a.deps.Queries.ReviewWithheld(r.Context(), by, id, *body.Release, body.Note)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"query": toQueryJSON(q, false)})
}

func (a *API) runQuery(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := decodeOptional(w, r, &struct{}{}); err != nil {
		return err
	}
	out, err := a.deps.Queries.Run(r.Context(), by, id)
	if err != nil {
		return a.outcomeError(w, err, out)
	}
	return writeJSON(w, http.StatusOK, outcomeJSON(out))
}

// queryResults returns a query's results with the receipt of the ledger
// entry that records this reading of them.
func (a *API) queryResults(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	res, rc, err := a.deps.Queries.Results(r.Context(), by, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"query_id": id, "result": res, "receipt": rc})
}
