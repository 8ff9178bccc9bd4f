package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
)

// approvalRoutes are the pages of pre-approval: the queries waiting for
// the reader's decision, a query with the decision form, and the
// decision, all through the audited query path, which decides who may
// see and decide each. They need approvals.decide.
func (w *Web) approvalRoutes() []Route {
	if w.deps.Queries == nil {
		return nil
	}
	return []Route{
		{Method: "GET", Pattern: "/approvals", Perm: auth.ApprovalsDecide, Handler: w.approvals},
		{Method: "GET", Pattern: "/approvals.csv", Perm: auth.ApprovalsDecide, Handler: w.approvalsCSV},
		{Method: "GET", Pattern: "/approvals/{id}", Perm: auth.ApprovalsDecide, Handler: w.showApproval},
		{Method: "POST", Pattern: "/approvals/{id}", Perm: auth.ApprovalsDecide, Handler: w.decideApproval},
	}
}

// Capacities in which a query is approved, as the query path records
// them.
const (
	capSupervisor = "supervisor"
	capPrivacy    = "privacy_officer"
)

// requiredCapacities are the approvals a query of tier needs: a
// supervisor's always, and a privacy officer's for a critical one.
func requiredCapacities(t query.Tier) []string {
	if t >= query.Critical {
		return []string{capSupervisor, capPrivacy}
	}
	return []string{capSupervisor}
}

func hasCapacity(as []store.Approval, capacity string) bool {
	return slices.ContainsFunc(as, func(a store.Approval) bool { return a.Capacity == capacity })
}

// decisionCapacity returns the capacity in which p would decide q, given
// the decisions already in, or "" when p is not one of its approvers: the
// same rule the query path applies when the decision is made (which
// alone decides). Nobody decides their own query or one by someone
// above them.
func decisionCapacity(p auth.Principal, chain identity.Chain, q store.QueryRecord, have []store.Approval) string {
	if p.PersonID == 0 || q.Status != query.AwaitingApproval || q.PersonID == p.PersonID || identity.IsAbove(chain, q.PersonID, p.PersonID) {
		return ""
	}
	switch {
	case p.HasRole(auth.Supervisor) && identity.IsAbove(chain, p.PersonID, q.PersonID) && !hasCapacity(have, capSupervisor):
		return capSupervisor
	case slices.Contains(requiredCapacities(q.Tier), capPrivacy) && p.CanIn(auth.ApprovalsDecide, q.Component) &&
		slices.ContainsFunc(p.Grants, func(g auth.Grant) bool {
			return g.Role == auth.ComponentPrivacyOfficer && (g.Component == "" || g.Component == q.Component)
		}) &&
		!hasCapacity(have, capPrivacy):
		return capPrivacy
	}
	return ""
}

// awaitedText lists who must still approve q.
func awaitedText(q store.QueryRecord, have []store.Approval) []string {
	var out []string
	for _, c := range requiredCapacities(q.Tier) {
		if !hasCapacity(have, c) {
			out = append(out, capacityText(c, q.Component))
		}
	}
	return out
}

// approvalWait is a query waiting for the reader's decision.
type approvalWait struct {
	q        store.QueryRecord
	capacity string
}

// mayApprove reports whether p holds a role that approves queries.
func mayApprove(p auth.Principal) bool {
	return p.PersonID != 0 && p.Can(auth.ApprovalsDecide) && (p.HasRole(auth.Supervisor) || p.HasRole(auth.ComponentPrivacyOfficer))
}

// waitingFor returns the queries awaiting approval that p may decide now,
// the oldest first.
func (w *Web) waitingFor(ctx context.Context, p auth.Principal) ([]approvalWait, error) {
	if w.deps.Queries == nil || !mayApprove(p) {
		return nil, nil
	}
	qs, err := w.deps.Queries.List(ctx, p, true, store.QueryFilter{Status: query.AwaitingApproval})
	if err != nil {
		return nil, err
	}
	chain := w.deps.Identity.Chain(ctx)
	var out []approvalWait
	for _, q := range qs {
		if q.PersonID == p.PersonID {
			continue
		}
		_, have, err := w.deps.Queries.Get(ctx, p, q.ID)
		if fault.Is(err, fault.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if c := decisionCapacity(p, chain, q, have); c != "" {
			out = append(out, approvalWait{q: q, capacity: c})
		}
	}
	slices.SortFunc(out, func(a, b approvalWait) int { return a.q.CreatedAt.Compare(b.q.CreatedAt) })
	return out, nil
}

// The list.

type approvalListRow struct {
	ID                                  int64
	Requester, Case, Kind, Tier, Source string
	As, Waiting, Requested, ISO         string
	BreakGlass                          bool
}

func (w *Web) approvalRows(ctx context.Context, p auth.Principal, loc *time.Location) ([]approvalListRow, error) {
	waits, err := w.waitingFor(ctx, p)
	if err != nil {
		return nil, err
	}
	now := w.now()
	rows := make([]approvalListRow, 0, len(waits))
	for _, a := range waits {
		rows = append(rows, approvalListRow{ID: a.q.ID, Requester: a.q.EmployeeID, Case: a.q.CaseNumber, Kind: kindText(a.q.Kind), Tier: tierText(a.q.Tier),
			Source: a.q.SourceName, As: capacityAs(a.capacity), Waiting: "waiting " + durationText(now.Sub(a.q.CreatedAt)), Requested: localText(a.q.CreatedAt, loc),
			ISO: a.q.CreatedAt.UTC().Format(time.RFC3339), BreakGlass: a.q.BreakGlass})
	}
	return rows, nil
}

// capacityAs says in what capacity the reader approves.
func capacityAs(capacity string) string {
	if capacity == capPrivacy {
		return "privacy officer"
	}
	return "supervisor"
}

type approvalListData struct {
	Rows []approvalListRow
	Zone string
	// Approver says whether the reader holds a role that approves
	// queries at all.
	Approver bool
}

var approvalDone = map[string]string{
	"approved": "Your approval is recorded in the ledger.",
	"rejected": "Your rejection is recorded in the ledger; the requester sees your reason.",
}

func (w *Web) approvals(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	who := w.person(r, p)
	loc := zoneOf(who)
	rows, err := w.approvalRows(r.Context(), p, loc)
	if err != nil {
		return err
	}
	flash := ""
	if msg, ok := approvalDone[r.URL.Query().Get("done")]; ok {
		flash = fmt.Sprintf("Query %s: %s", clipValue(r.URL.Query().Get("id")), msg)
	}
	return w.render(rw, http.StatusOK, "approvals", view{Title: "Approvals", Person: who, Flash: flash, Data: approvalListData{Rows: rows, Zone: loc.String(), Approver: mayApprove(p)}})
}

func (w *Web) approvalsCSV(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rows, err := w.approvalRows(r.Context(), p, time.UTC)
	if err != nil {
		return err
	}
	return w.writeCSV(rw, r, "probity-approvals.csv", []string{"query", "requester", "case", "kind", "tier", "source", "approve_as", "break_glass", "requested_at"},
		csvRows(rows, func(x approvalListRow) []string {
			return []string{strconv.FormatInt(x.ID, 10), x.Requester, x.Case, x.Kind, x.Tier, x.Source, x.As, strconv.FormatBool(x.BreakGlass), x.ISO}
		}))
}

// A query's approval page.

type approvalPageData struct {
	ID                                      int64
	Status, Tier, Kind, Case, Source        string
	Requester, Component, Requested         string
	Area, Window, Device, LegalProcess      string
	Justification, BreakGlassNote, Scale    string
	Flags, TierReasons, Reasons, Awaiting   []string
	Approvals                               []approvalRow
	BreakGlass, Waiting                     bool
	As                                      string
	CSRF                                    string
	Decision, Reason, Problem, ProblemField string
}

func (w *Web) showApproval(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := queryID(r)
	if err != nil {
		return err
	}
	return w.approvalPage(rw, r, p, id, http.StatusOK, "", "", "")
}

// approvalPage renders query id for its approvers, with the decision and
// reason typed and why they were refused.
func (w *Web) approvalPage(rw http.ResponseWriter, r *http.Request, p auth.Principal, id int64, status int, decision, reason, problem string) error {
	ctx := r.Context()
	q, have, err := w.deps.Queries.Get(ctx, p, id)
	if err != nil {
		return err
	}
	who := w.person(r, p)
	loc := zoneOf(who)
	d := approvalPageData{ID: q.ID, Status: statusText(q.Status), Tier: tierText(q.Tier), Kind: kindText(q.Kind), Case: q.CaseNumber, Source: q.SourceName,
		Requester: q.EmployeeID, Component: q.Component, Requested: localText(q.CreatedAt, loc), Reasons: q.Reasons, BreakGlass: q.BreakGlass,
		Waiting: q.Status == query.AwaitingApproval, CSRF: formToken(r), Decision: decision, Reason: reason, Problem: problem}
	if strings.HasPrefix(problem, "reason:") {
		d.ProblemField = "reason"
	}
	var req query.Request
	if json.Unmarshal(q.Request, &req) == nil {
		d.Justification, d.LegalProcess, d.Area, d.BreakGlassNote = req.Justification, req.LegalProcess, areaText(req), req.BreakGlass
		if !req.From.IsZero() {
			d.Window = "from " + localText(req.From, loc) + " to " + localText(req.To, loc)
		}
	}
	if query.IsPseudonym(q.Device) {
		d.Device = q.Device
	}
	var risk struct {
		query.Risk
		Why []string `json:"why"`
	}
	risk.ExpectedDevices = -1
	if len(q.Risk) > 0 && json.Unmarshal(q.Risk, &risk) == nil {
		for _, f := range risk.Flags {
			d.Flags = append(d.Flags, flagText(f))
		}
		d.TierReasons = risk.Why
		if risk.AreaKm2 > 0 || risk.WindowHours > 0 {
			d.Scale = fmt.Sprintf("area %.2f km², window %d h", risk.AreaKm2, risk.WindowHours)
			if risk.ExpectedDevices >= 0 {
				d.Scale += fmt.Sprintf(", about %d devices expected", risk.ExpectedDevices)
			}
		}
	}
	for _, a := range have {
		d.Approvals = append(d.Approvals, approvalRow{Who: a.EmployeeID, Capacity: capacityText(a.Capacity, q.Component), Decision: a.Decision, Reason: a.Reason, When: localText(a.DecidedAt, loc)})
	}
	if d.Waiting {
		d.Awaiting = awaitedText(q, have)
		if c := decisionCapacity(p, w.deps.Identity.Chain(ctx), q, have); c != "" {
			d.As = capacityAs(c)
		}
	}
	return w.render(rw, status, "approval", view{Title: fmt.Sprintf("Approval of query %d", q.ID), Person: who, Data: d})
}

// decideApproval records the reader's approval or rejection of a query.
func (w *Web) decideApproval(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := form(rw, r); err != nil {
		return err
	}
	if err := checkFormToken(r); err != nil {
		return err
	}
	id, err := queryID(r)
	if err != nil {
		return err
	}
	decision, reason := r.PostFormValue("decision"), r.PostFormValue("reason")
	switch decision {
	case "approve", "reject":
		_, err = w.deps.Queries.Decide(r.Context(), p, id, decision == "approve", reason)
	default:
		err = fault.New(fault.Invalid, "decision: choose to approve or to reject the query")
	}
	if err != nil {
		status, known := pageStatus[fault.CodeOf(err)]
		if !known || fault.Is(err, fault.NotFound) {
			return err
		}
		return w.approvalPage(rw, r, p, id, status, decision, reason, fault.MessageOf(err))
	}
	done := "approved"
	if decision == "reject" {
		done = "rejected"
	}
	http.Redirect(rw, r, fmt.Sprintf("/approvals?done=%s&id=%d", done, id), http.StatusSeeOther)
	return nil
}
