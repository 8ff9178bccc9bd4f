package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/review"
	"github.com/probity-dev/probity/internal/store"
)

// reviewRoutes are the routes of post-hoc review. The queue needs
// reviews.read and shows each reviewer what they may see; deciding needs
// approvals.decide, and the store decides whose (a supervisor above the
// requester, or a privacy officer when no supervisor may). A review is
// routed to every person: requesters see the reviews of their own
// queries, and one someone may not see does not exist for them.
func (a *API) reviewRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/reviews", Perm: auth.ReviewsRead, Handler: a.reviewQueue},
		{Method: "POST", Pattern: "/api/v1/reviews/bulk/decide", Perm: auth.ApprovalsDecide, Handler: a.decideReviews},
		{Method: "GET", Pattern: "/api/v1/reviews/{id}", Perm: auth.Self, Handler: a.getReview},
		{Method: "POST", Pattern: "/api/v1/reviews/{id}/decide", Perm: auth.ApprovalsDecide, Handler: a.decideReview},
	}
}

type reviewJSON struct {
	QueryID     int64           `json:"query_id"`
	Component   string          `json:"component"`
	Requester   string          `json:"requester"`
	Case        string          `json:"case"`
	Kind        string          `json:"kind"`
	QueryStatus string          `json:"query_status"`
	Tier        string          `json:"tier"`
	BreakGlass  bool            `json:"break_glass"`
	CompletedAt time.Time       `json:"completed_at"`
	DueAt       time.Time       `json:"due_at"`
	Overdue     bool            `json:"overdue"`
	Assignee    string          `json:"assignee"`    // an employee ID, or "" for the privacy office
	AssignedTo  string          `json:"assigned_to"` // for people: the employee ID or "the privacy office of X"
	Escalations int             `json:"escalations"`
	Status      review.Status   `json:"status"`
	Decision    review.Decision `json:"decision,omitempty"`
	Note        string          `json:"note,omitempty"`
	DecidedBy   string          `json:"decided_by,omitempty"`
	DecidedAt   *time.Time      `json:"decided_at,omitempty"`
	Bulk        bool            `json:"bulk"`
}

func toReviewJSON(r store.Review, now time.Time) reviewJSON {
	out := reviewJSON{QueryID: r.QueryID, Component: r.Component, Requester: r.Requester, Case: r.CaseNumber, Kind: string(r.Kind), QueryStatus: string(r.QueryStatus),
		Tier: r.Tier.String(), BreakGlass: r.BreakGlass, CompletedAt: r.CompletedAt, DueAt: r.DueAt, Overdue: r.Overdue(now), Assignee: r.Assignee,
		AssignedTo: r.Assignee, Escalations: r.Escalations, Status: r.Status, Decision: r.Decision, Note: r.Note, DecidedBy: r.DecidedBy,
		DecidedAt: timePtr(r.DecidedAt), Bulk: r.Bulk}
	if r.AssigneeID == 0 {
		out.AssignedTo = "the privacy office of " + r.Component
	}
	return out
}

// boolParam reads an optional true/false query parameter.
func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fault.New(fault.Invalid, "%s must be true or false, not %q", name, clipText(v))
	}
	return b, nil
}

func (a *API) reviewQueue(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var f store.ReviewFilter
	switch s := r.URL.Query().Get("status"); s {
	case "", string(review.Pending):
	case string(review.Decided):
		f.Status = review.Decided
	case "all":
		f.All = true
	default:
		return fault.New(fault.Invalid, "status %q is not a review status: use pending, decided or all", clipText(s))
	}
	var err error
	if f.Mine, err = boolParam(r, "mine"); err != nil {
		return err
	}
	if f.Overdue, err = boolParam(r, "overdue"); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 500)
	if err != nil {
		return err
	}
	f.Limit = int(min(limit, 500))
	rs, now, err := a.deps.Reviews.Queue(r.Context(), by, f)
	if err != nil {
		return err
	}
	out := make([]reviewJSON, 0, len(rs))
	for _, x := range rs {
		out = append(out, toReviewJSON(x, now))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"reviews": out, "as_of": now})
}

func (a *API) getReview(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rv, err := a.deps.Reviews.Get(r.Context(), by, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"review": toReviewJSON(rv, time.Now())})
}

type decisionBody struct {
	Decision string `json:"decision"`
	Note     string `json:"note"`
}

func (a *API) decideReview(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body decisionBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	d, err := review.ParseDecision(body.Decision)
	if err != nil {
		return err
	}
	rv, err := a.deps.Reviews.Decide(r.Context(), by, id, d, body.Note)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"review": toReviewJSON(rv, time.Now())})
}

func (a *API) decideReviews(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body struct {
		IDs []int64 `json:"ids"`
		decisionBody
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	d, err := review.ParseDecision(body.Decision)
	if err != nil {
		return err
	}
	rs, err := a.deps.Reviews.DecideBulk(r.Context(), by, body.IDs, d, body.Note)
	if err != nil {
		return err
	}
	now := time.Now()
	out := make([]reviewJSON, 0, len(rs))
	for _, x := range rs {
		out = append(out, toReviewJSON(x, now))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"reviews": out})
}
