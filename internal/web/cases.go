package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
)

// caseRoutes are the pages of cases, over the case store as the API's
// routes are: they are routed to every person, and the store shows each
// the cases they may see (their components' with cases.read, and those
// they are a member of); a case they may not see does not exist for
// them. An administrator sees none. Without the case store there are no
// such pages.
func (w *Web) caseRoutes() []Route {
	if w.deps.Cases == nil {
		return nil
	}
	return []Route{
		{Method: "GET", Pattern: "/cases", Perm: auth.Self, Handler: w.listCases},
		{Method: "GET", Pattern: "/cases.csv", Perm: auth.Self, Handler: w.casesCSV},
		{Method: "GET", Pattern: "/cases/{number}", Perm: auth.Self, Handler: w.showCase},
	}
}

func caseStatusText(c cases.Case) string {
	if c.StatusReason != "" && c.Status != cases.Open {
		return string(c.Status) + ": " + c.StatusReason
	}
	return string(c.Status)
}

// inForce counts the case's legal process in force at t.
func inForce(c cases.Case, t time.Time) int {
	n := 0
	for _, lp := range c.LegalProcess {
		if lp.InForce(t) {
			n++
		}
	}
	return n
}

// The list.

type caseRow struct {
	Number, Title, Status, Component string
	Members, LegalProcess            int
	Member, Hold, Open               bool
}

func toCaseRow(c cases.Case, p auth.Principal, now time.Time) caseRow {
	return caseRow{Number: c.Number, Title: c.Title, Status: caseStatusText(c), Component: c.Component, Members: len(c.Members),
		LegalProcess: inForce(c, now), Member: c.IsMember(p.PersonID) && p.PersonID != 0, Hold: c.EvidenceHold, Open: c.Status == cases.Open}
}

type caseListData struct {
	Rows     []caseRow
	Statuses []filterChoice
	Mine     bool
	Filtered bool
	// Query is the filters as a query string, for the export's link.
	Query string
}

// caseFilter reads the list's filters: status (open, suspended, closed;
// any when empty) and mine=1 for the cases the reader is a member of.
func caseFilter(v url.Values, p auth.Principal) (store.CaseFilter, bool, error) {
	var f store.CaseFilter
	if s := v.Get("status"); s != "" {
		st, err := cases.ParseStatus(s)
		if err != nil {
			return f, false, err
		}
		f.Status = st
	}
	mine := false
	switch v.Get("mine") {
	case "", "0":
	case "1":
		mine, f.Member = true, p.ID
	default:
		return f, false, fault.New(fault.Invalid, "mine is 1 (the cases you are a member of) or 0, not %q", clipValue(v.Get("mine")))
	}
	return f, mine, nil
}

func (w *Web) caseList(ctx context.Context, r *http.Request, p auth.Principal) ([]cases.Case, store.CaseFilter, bool, error) {
	f, mine, err := caseFilter(r.URL.Query(), p)
	if err != nil || (mine && p.PersonID == 0) {
		// A credential that is no person is a member of nothing.
		return nil, f, mine, err
	}
	list, err := w.deps.Cases.List(ctx, p, f)
	return list, f, mine, err
}

func (w *Web) listCases(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	list, f, mine, err := w.caseList(r.Context(), r, p)
	if err != nil {
		return err
	}
	now := w.now()
	d := caseListData{Mine: mine, Filtered: f.Status != "" || mine, Query: r.URL.RawQuery}
	d.Statuses = append(d.Statuses, filterChoice{Value: "", Title: "Any status", Selected: f.Status == ""})
	for _, s := range cases.Statuses() {
		d.Statuses = append(d.Statuses, filterChoice{Value: string(s), Title: string(s), Selected: f.Status == s})
	}
	for _, c := range list {
		d.Rows = append(d.Rows, toCaseRow(c, p, now))
	}
	return w.render(rw, http.StatusOK, "cases", view{Title: "Cases", Person: w.person(r, p), Data: d})
}

func (w *Web) casesCSV(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	list, _, _, err := w.caseList(r.Context(), r, p)
	if err != nil {
		return err
	}
	now := w.now()
	return w.writeCSV(rw, r, "probity-cases.csv",
		[]string{"number", "title", "status", "status_reason", "component", "members", "legal_process_in_force", "evidence_hold", "created_by", "created_at"},
		csvRows(list, func(c cases.Case) []string {
			return []string{c.Number, c.Title, string(c.Status), c.StatusReason, c.Component, strings.Join(c.MemberIDs(), " "), strconv.Itoa(inForce(c, now)),
				strconv.FormatBool(c.EvidenceHold), c.CreatedBy, c.CreatedAt.UTC().Format(time.RFC3339)}
		}))
}

// A case's page.

type memberRow struct {
	EmployeeID, Name, Added, AddedBy string
}

type legalRow struct {
	Kind, Reference, Issued, Expires, Added string
	InForce                                 bool
}

type caseQueryRow struct {
	ID                                     int64
	Requester, Kind, Status, Tier, Created string
	Href                                   string
}

type casePageData struct {
	Number, Title, Status, Component, Authority, Predicate string
	CreatedBy, Created, Updated, Closed                    string
	Hold                                                   bool
	HoldReason, HoldChanged                                string
	Member                                                 bool
	Members                                                []memberRow
	LegalProcess                                           []legalRow
	History                                                []historyRow
	Queries                                                []caseQueryRow
	Zone                                                   string
}

// overseer reports whether p sees others' queries: as a supervisor, a
// privacy officer or an auditor.
func overseer(p auth.Principal) bool {
	return p.HasRole(auth.Supervisor) || p.HasRole(auth.ComponentPrivacyOfficer) || p.HasRole(auth.DepartmentPrivacyOfficer) || p.HasRole(auth.Auditor)
}

// queryHref returns where the reader follows a query to: their own on the
// query pages, one waiting for an approver's decision on the approval
// page, an executed one on its review; "" when there is no page for them.
func (w *Web) queryHref(p auth.Principal, q store.QueryRecord) string {
	id := strconv.FormatInt(q.ID, 10)
	switch {
	case q.PersonID == p.PersonID && p.PersonID != 0 && p.Can(auth.DataAccess):
		return "/queries/" + id
	case q.Status == query.AwaitingApproval && mayApprove(p):
		return "/approvals/" + id
	case (q.Status == query.Completed || q.Status == query.Withheld) && p.Can(auth.ReviewsRead) && w.deps.Reviews != nil:
		return "/reviews/" + id
	}
	return ""
}

// caseQueries returns the queries of a case the reader may see, the
// newest first: those of the people they oversee (their own among them)
// when they oversee some, else their own.
func (w *Web) caseQueries(ctx context.Context, p auth.Principal, number string) ([]store.QueryRecord, error) {
	if w.deps.Queries == nil {
		return nil, nil
	}
	return w.deps.Queries.List(ctx, p, overseer(p), store.QueryFilter{CaseNumber: number, Limit: 200})
}

func (w *Web) showCase(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	number := r.PathValue("number")
	c, err := w.deps.Cases.Get(ctx, p, number)
	if fault.Is(err, fault.Invalid) {
		// A number that cannot be a case's names no case.
		return fault.New(fault.NotFound, "there is no case %s", clipValue(number))
	}
	if err != nil {
		return err
	}
	who := w.person(r, p)
	loc := zoneOf(who)
	now := w.now()
	d := casePageData{Number: c.Number, Title: c.Title, Status: caseStatusText(c), Component: c.Component, Authority: c.LegalAuthority, Predicate: c.Predicate,
		CreatedBy: c.CreatedBy, Created: localText(c.CreatedAt, loc), Updated: localText(c.UpdatedAt, loc), Hold: c.EvidenceHold, HoldReason: c.HoldReason,
		Member: c.IsMember(p.PersonID) && p.PersonID != 0, Zone: loc.String()}
	if !c.ClosedAt.IsZero() {
		d.Closed = localText(c.ClosedAt, loc)
	}
	if !c.HoldChangedAt.IsZero() {
		d.HoldChanged = localText(c.HoldChangedAt, loc) + " by " + c.HoldChangedBy
	}
	for _, m := range c.Members {
		d.Members = append(d.Members, memberRow{EmployeeID: m.EmployeeID, Name: m.Name, Added: localText(m.AddedAt, loc), AddedBy: m.AddedBy})
	}
	for _, lp := range c.LegalProcess {
		expires := "does not expire"
		if !lp.ExpiresOn.IsZero() {
			expires = lp.ExpiresOn.Format(time.DateOnly)
		}
		d.LegalProcess = append(d.LegalProcess, legalRow{Kind: lp.Kind.Title(), Reference: lp.Reference, Issued: lp.IssuedOn.Format(time.DateOnly), Expires: expires,
			Added: localText(lp.AddedAt, loc) + " by " + lp.AddedBy, InForce: lp.InForce(now)})
	}
	for _, h := range c.History {
		what := "opened"
		if h.From != "" {
			what = string(h.From) + " → " + string(h.To)
		}
		if h.Reason != "" {
			what += ": " + h.Reason
		}
		d.History = append(d.History, historyRow{When: localText(h.At, loc), What: what + " (" + h.By + ")"})
	}
	qs, err := w.caseQueries(ctx, p, c.Number)
	if err != nil {
		return err
	}
	for _, q := range qs {
		d.Queries = append(d.Queries, caseQueryRow{ID: q.ID, Requester: q.EmployeeID, Kind: kindText(q.Kind), Status: statusText(q.Status), Tier: tierText(q.Tier),
			Created: localText(q.CreatedAt, loc), Href: w.queryHref(p, q)})
	}
	return w.render(rw, http.StatusOK, "case", view{Title: "Case " + c.Number, Person: who, Data: d})
}
