package web

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/review"
	"github.com/probity-dev/probity/internal/store"
)

// reviewRoutes are the pages of supervisory review, over the review store
// as the API's routes are: the queue needs reviews.read; a review's page
// is routed to every person, since requesters see the reviews of their
// own queries (one someone may not see does not exist for them); deciding
// needs approvals.decide, and the store decides whose. Without the review
// store there are no such pages.
func (w *Web) reviewRoutes() []Route {
	if w.deps.Reviews == nil {
		return nil
	}
	return []Route{
		{Method: "GET", Pattern: "/reviews", Perm: auth.ReviewsRead, Handler: w.reviewQueue},
		{Method: "POST", Pattern: "/reviews", Perm: auth.ApprovalsDecide, Handler: w.decideReviews},
		{Method: "GET", Pattern: "/reviews/{id}", Perm: auth.Self, Handler: w.showReview},
		{Method: "POST", Pattern: "/reviews/{id}/decide", Perm: auth.ApprovalsDecide, Handler: w.decideReview},
	}
}

// now is the time the pages count from.
func (w *Web) now() time.Time {
	if w.deps.Clock != nil {
		return w.deps.Clock()
	}
	return time.Now()
}

// zoneOf returns the time zone of a person's duty schedule, UTC when they
// have none that loads.
func zoneOf(who *identity.Person) *time.Location {
	if who == nil || who.Schedule.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(who.Schedule.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// localText shows t in loc, with the zone's abbreviation.
func localText(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
}

// countdown says how long is left, at now, until due, or how long ago it
// passed: in business days (Monday to Friday, counted in loc, the
// reader's time zone) when more than a day is left, else in hours or
// minutes.
func countdown(now, due time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	if now.After(due) {
		return "overdue by " + durationText(now.Sub(due))
	}
	left := due.Sub(now)
	if left >= 24*time.Hour {
		if n := businessDaysBetween(now.In(loc), due.In(loc)); n > 0 {
			return "due in " + countText(n, "business day")
		}
	}
	return "due in " + durationText(left)
}

// durationText is a duration for people: minutes under an hour, hours under two
// days, then days.
func durationText(d time.Duration) string {
	switch {
	case d < time.Hour:
		return strconv.Itoa(max(1, int(d/time.Minute))) + " min"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h"
	}
	return countText(int(d/(24*time.Hour)), "day")
}

func countText(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// businessDaysBetween counts the weekdays after from's date up to and
// including to's date, both in their own (the same) location.
func businessDaysBetween(from, to time.Time) int {
	n := 0
	d := time.Date(from.Year(), from.Month(), from.Day(), 12, 0, 0, 0, from.Location())
	last := time.Date(to.Year(), to.Month(), to.Day(), 12, 0, 0, 0, to.Location())
	for d = d.AddDate(0, 0, 1); !d.After(last); d = d.AddDate(0, 0, 1) {
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n++
		}
	}
	return n
}

// reviewDue is when a review is due, as a page shows it.
type reviewDue struct {
	Countdown, At, ISO string
	Overdue            bool
}

func dueOf(r store.Review, now time.Time, loc *time.Location) reviewDue {
	return reviewDue{Countdown: countdown(now, r.DueAt, loc), At: localText(r.DueAt, loc), ISO: r.DueAt.UTC().Format(time.RFC3339), Overdue: r.Overdue(now)}
}

func assignedTo(r store.Review) string {
	if r.AssigneeID == 0 {
		return "the privacy office of " + r.Component
	}
	return r.Assignee
}

func reviewStatusText(r store.Review) string {
	if r.Status == review.Decided {
		return "decided: " + r.Decision.Title()
	}
	return "pending"
}

// The queue.

type reviewRow struct {
	QueryID                             int64
	Requester, Case, Kind, Tier, Status string
	AssignedTo                          string
	BreakGlass, Pending, Bulk, Selected bool
	Due                                 reviewDue
}

// reviewQueueData is what the queue shows.
type reviewQueueData struct {
	Rows []reviewRow
	// Show is "mine" (waiting for my decision) or "all" (all I may see);
	// Status is pending, decided or all.
	Show, Status string
	// CanDecide offers the choice of "mine"; Bulk the bulk form, when
	// some row may be decided in bulk.
	CanDecide, Bulk bool
	Zone, AsOf      string
	CSRF            string
	// Note is the bulk decision's note as typed; Problem why the bulk
	// decision was refused.
	Note, Problem string
}

// queueFilter reads the queue's filters from the query string (or a
// posted form's fields of the same names).
func queueFilter(v url.Values, canDecide bool) (show, status string, f store.ReviewFilter, err error) {
	show, status = v.Get("show"), v.Get("status")
	switch show {
	case "":
		show = "all"
		if canDecide {
			show = "mine"
		}
	case "mine", "all":
	default:
		return "", "", f, fault.New(fault.Invalid, "show %q is not a choice of the queue: use mine or all", clipValue(show))
	}
	f.Mine = show == "mine"
	switch status {
	case "", string(review.Pending):
		status = string(review.Pending)
	case string(review.Decided):
		f.Status = review.Decided
	case "all":
		f.All = true
	default:
		return "", "", f, fault.New(fault.Invalid, "status %q is not a review status: use pending, decided or all", clipValue(status))
	}
	return show, status, f, nil
}

func (w *Web) reviewQueue(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	flash := ""
	switch r.URL.Query().Get("done") {
	case "bulk":
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		flash = "Marked appropriate: " + countText(n, "review") + ". Each decision is recorded in the ledger."
	}
	return w.queuePage(rw, r, p, r.URL.Query(), http.StatusOK, flash, "", nil)
}

// queuePage renders the queue filtered by v, with a flash message or an
// error, and the reviews selected for a bulk decision.
func (w *Web) queuePage(rw http.ResponseWriter, r *http.Request, p auth.Principal, v url.Values, status int, flash, problem string, selected map[int64]bool) error {
	ctx := r.Context()
	canDecide := p.Can(auth.ApprovalsDecide) && p.PersonID != 0
	show, st, f, err := queueFilter(v, canDecide)
	if err != nil {
		return err
	}
	rs, now, err := w.deps.Reviews.Queue(ctx, p, f)
	if err != nil {
		return err
	}
	// The reviews this person may decide, which alone are offered for a
	// bulk decision.
	mine := map[int64]bool{}
	if canDecide {
		decidable := rs
		if !f.Mine {
			if decidable, _, err = w.deps.Reviews.Queue(ctx, p, store.ReviewFilter{Mine: true}); err != nil {
				return err
			}
		}
		for _, x := range decidable {
			mine[x.QueryID] = true
		}
	}
	// Riskiest first, then the soonest due: the store orders by tier and
	// age, and a break-glass or escalated review is due sooner than its
	// age says.
	slices.SortStableFunc(rs, func(a, b store.Review) int {
		return cmp.Or(cmp.Compare(b.Tier, a.Tier), a.DueAt.Compare(b.DueAt), cmp.Compare(a.QueryID, b.QueryID))
	})
	who := w.person(r, p)
	loc := zoneOf(who)
	d := reviewQueueData{Show: show, Status: st, CanDecide: canDecide, Zone: loc.String(), AsOf: localText(now, loc), CSRF: formToken(r), Note: v.Get("note"), Problem: problem}
	for _, x := range rs {
		pending := x.Status == review.Pending
		row := reviewRow{QueryID: x.QueryID, Requester: x.Requester, Case: x.CaseNumber, Kind: kindText(x.Kind), Tier: tierText(x.Tier), Status: reviewStatusText(x),
			AssignedTo: assignedTo(x), BreakGlass: x.BreakGlass, Pending: pending, Due: dueOf(x, now, loc),
			Bulk: pending && mine[x.QueryID] && review.CheckBulk(x.QueryID, x.Tier, x.BreakGlass) == nil, Selected: selected[x.QueryID]}
		d.Bulk = d.Bulk || row.Bulk
		d.Rows = append(d.Rows, row)
	}
	return w.render(rw, status, "reviews", view{Title: "Reviews", Person: who, Flash: flash, Data: d})
}

// decideReviews marks the reviews selected on the queue appropriate, all
// or none: only routine queries, never a break-glass one, are decided in
// bulk, and the store refuses any other.
func (w *Web) decideReviews(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := form(rw, r); err != nil {
		return err
	}
	if err := checkFormToken(r); err != nil {
		return err
	}
	selected := map[int64]bool{}
	var ids []int64
	for _, s := range r.PostForm["id"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return fault.New(fault.Invalid, "the form was altered: %q is no query", clipValue(s))
		}
		if !selected[id] {
			ids = append(ids, id)
		}
		selected[id] = true
	}
	filters := url.Values{"show": {r.PostFormValue("show")}, "status": {r.PostFormValue("status")}, "note": {r.PostFormValue("note")}}
	if len(ids) == 0 {
		return w.queuePage(rw, r, p, filters, http.StatusBadRequest, "", "choose the reviews to mark appropriate: tick their boxes in the table", selected)
	}
	rs, err := w.deps.Reviews.DecideBulk(r.Context(), p, ids, review.Appropriate, r.PostFormValue("note"))
	if err != nil {
		status, known := pageStatus[fault.CodeOf(err)]
		if !known {
			return err
		}
		return w.queuePage(rw, r, p, filters, status, "", fault.MessageOf(err), selected)
	}
	back := url.Values{"done": {"bulk"}, "n": {strconv.Itoa(len(rs))}}
	for _, k := range []string{"show", "status"} {
		if v := filters.Get(k); v != "" {
			back.Set(k, v)
		}
	}
	http.Redirect(rw, r, "/reviews?"+back.Encode(), http.StatusSeeOther)
	return nil
}

// A review's page.

// decisionChoice is a decision the form offers.
type decisionChoice struct {
	Value, Title, Hint string
	Checked            bool
}

type historyRow struct {
	When, What string
}

// reviewPageData is what a review's page shows.
type reviewPageData struct {
	QueryID                                      int64
	Requester, Component, Case, Kind, Source     string
	QueryStatus, Tier, Justification, Area       string
	Device, Window, LegalProcess, BreakGlassNote string
	Scale                                        string
	BreakGlass, Mine                             bool
	Flags, TierReasons                           []string
	Approvals                                    []approvalRow
	Status, AssignedTo, Zone                     string
	Pending                                      bool
	Due                                          reviewDue
	Decision, Note, DecidedBy, DecidedAt         string
	Bulk                                         bool
	Escalations                                  int
	History                                      []historyRow
	// CanDecide offers the decision form; Choices are its decisions and
	// Note the note typed, kept when a decision is refused.
	CanDecide bool
	Choices   []decisionChoice
	FormNote  string
	CSRF      string
	// Problem is why the decision was not recorded; Field the id of the
	// form field it is about.
	Problem, Field string
}

func reviewID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.New(fault.NotFound, "there is no review of query %q", clipValue(s))
	}
	return id, nil
}

func (w *Web) showReview(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := reviewID(r)
	if err != nil {
		return err
	}
	flash := ""
	if r.URL.Query().Get("done") == "decided" {
		flash = "Your decision is recorded in the ledger."
	}
	return w.reviewPage(rw, r, p, id, http.StatusOK, flash, "", "", "")
}

// flagText says what a risk flag means.
func flagText(f string) string {
	switch f {
	case query.FlagProtectedPlace:
		return "the area touches a sensitive location (place of worship, medical facility, school, shelter, court …)"
	case query.FlagAgencyFacility:
		return "the area touches an agency facility"
	case query.FlagEmployeeHome:
		return "the area touches an employee's home"
	case query.FlagSelfInterest:
		return "the area covers the requester's own home or workplace"
	case query.FlagOffHours:
		return "the query was made outside the requester's duty schedule"
	}
	return strings.ReplaceAll(f, "_", " ")
}

// areaText summarizes a request's area.
func areaText(req query.Request) string {
	switch {
	case req.Circle != nil:
		return fmt.Sprintf("circle of %g m around %g, %g", req.Circle.RadiusM, req.Circle.Lat, req.Circle.Lon)
	case len(req.Area) > 0:
		return "GeoJSON polygon"
	}
	return ""
}

// reviewPage renders the review of query id, with a flash message or an
// error, and the decision and note typed.
func (w *Web) reviewPage(rw http.ResponseWriter, r *http.Request, p auth.Principal, id int64, status int, flash, problem string, decision review.Decision, note string) error {
	ctx := r.Context()
	rv, err := w.deps.Reviews.Get(ctx, p, id)
	if err != nil {
		return err
	}
	who := w.person(r, p)
	loc := zoneOf(who)
	now := w.now()
	d := reviewPageData{QueryID: rv.QueryID, Requester: rv.Requester, Component: rv.Component, Case: rv.CaseNumber, Kind: kindText(rv.Kind),
		QueryStatus: statusText(rv.QueryStatus), Tier: tierText(rv.Tier), BreakGlass: rv.BreakGlass, Mine: rv.RequesterID == p.PersonID && p.PersonID != 0,
		Status: reviewStatusText(rv), AssignedTo: assignedTo(rv), Zone: loc.String(), Pending: rv.Status == review.Pending, Due: dueOf(rv, now, loc),
		Note: rv.Note, DecidedBy: rv.DecidedBy, DecidedAt: localText(rv.DecidedAt, loc), Bulk: rv.Bulk, Escalations: rv.Escalations,
		FormNote: note, CSRF: formToken(r), Problem: problem}
	if strings.HasPrefix(problem, "note:") {
		d.Field = "note"
	} else if strings.HasPrefix(problem, "decision") {
		d.Field = "decision-" + string(review.Appropriate)
	}
	if rv.Status == review.Decided {
		d.Decision = rv.Decision.Title()
	}
	// The query itself, as the query path shows it to those who may see
	// it (the same people as its review's).
	var q store.QueryRecord
	var approvals []store.Approval
	err = fault.New(fault.NotFound, "the query path is not available")
	if w.deps.Queries != nil {
		q, approvals, err = w.deps.Queries.Get(ctx, p, id)
	}
	switch {
	case err == nil:
		d.Source = q.SourceName
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
				d.Scale = fmt.Sprintf("area %.2f km², window %d h, ", risk.AreaKm2, risk.WindowHours)
			}
			if risk.ExpectedDevices >= 0 {
				d.Scale += fmt.Sprintf("about %d devices expected", risk.ExpectedDevices)
			} else if d.Scale != "" {
				d.Scale += "number of devices unknown"
			}
		}
		for _, a := range approvals {
			d.Approvals = append(d.Approvals, approvalRow{Who: a.EmployeeID, Capacity: capacityText(a.Capacity, q.Component), Decision: a.Decision, Reason: a.Reason, When: localText(a.DecidedAt, loc)})
		}
	case fault.Is(err, fault.NotFound):
		// The review's facts alone.
	default:
		return err
	}
	d.History = append(d.History, historyRow{localText(rv.CompletedAt, loc), "The query ran (" + statusText(rv.QueryStatus) + ")."})
	d.History = append(d.History, historyRow{localText(rv.CreatedAt, loc), "Review opened."})
	if rv.Escalations > 0 {
		d.History = append(d.History, historyRow{"—", fmt.Sprintf("Overdue: escalated %s, now to %s, due %s.", timesText(rv.Escalations), assignedTo(rv), localText(rv.DueAt, loc))})
	}
	if rv.Status == review.Decided {
		what := fmt.Sprintf("%s decided: %s.", rv.DecidedBy, rv.Decision.Title())
		if rv.Bulk {
			what = fmt.Sprintf("%s decided, in a bulk review: %s.", rv.DecidedBy, rv.Decision.Title())
		}
		d.History = append(d.History, historyRow{localText(rv.DecidedAt, loc), what})
	}
	if d.Pending && !d.Mine && p.Can(auth.ApprovalsDecide) && p.PersonID != 0 {
		mine, _, err := w.deps.Reviews.Queue(ctx, p, store.ReviewFilter{Mine: true})
		if err != nil && !fault.Is(err, fault.Forbidden) {
			return err
		}
		// The queue holds at most 500: past that, offer the form and let
		// the store decide.
		d.CanDecide = len(mine) >= 500 || slices.ContainsFunc(mine, func(x store.Review) bool { return x.QueryID == id })
	}
	for _, c := range []decisionChoice{
		{Value: string(review.Appropriate), Title: "Appropriate", Hint: "The query served its case as justified. A note is optional."},
		{Value: string(review.NeedsExplanation), Title: "Needs explanation", Hint: "The requester is asked to explain it: say why in the note."},
		{Value: string(review.ReferToPrivacy), Title: "Refer to privacy", Hint: "The privacy office looks at it, through an alert: say why in the note."},
	} {
		c.Checked = string(decision) == c.Value
		d.Choices = append(d.Choices, c)
	}
	return w.render(rw, status, "review", view{Title: fmt.Sprintf("Review of query %d", id), Person: who, Flash: flash, Data: d})
}

func timesText(n int) string {
	if n == 1 {
		return "once"
	}
	return strconv.Itoa(n) + " times"
}

func (w *Web) decideReview(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := form(rw, r); err != nil {
		return err
	}
	if err := checkFormToken(r); err != nil {
		return err
	}
	id, err := reviewID(r)
	if err != nil {
		return err
	}
	note := r.PostFormValue("note")
	d, err := review.ParseDecision(r.PostFormValue("decision"))
	if err == nil {
		_, err = w.deps.Reviews.Decide(r.Context(), p, id, d, note)
	}
	if err != nil {
		status, known := pageStatus[fault.CodeOf(err)]
		if !known || fault.Is(err, fault.NotFound) {
			return err
		}
		if r.PostFormValue("decision") == "" {
			err = fault.New(fault.Invalid, "decision: choose appropriate, needs explanation or refer to privacy")
		}
		return w.reviewPage(rw, r, p, id, status, "", fault.MessageOf(err), d, note)
	}
	http.Redirect(rw, r, "/reviews/"+strconv.FormatInt(id, 10)+"?done=decided", http.StatusSeeOther)
	return nil
}
