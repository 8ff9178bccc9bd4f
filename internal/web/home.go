package web

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/settings"
	"github.com/probity-dev/probity/internal/store"
)

// The home page shows the signed-in person their work first, one panel
// per role they hold: an analyst their open cases and requests, a
// supervisor the approvals and reviews waiting for them and their team's
// activity, a privacy officer their alerts, the data sources that cannot
// be used and the PIAs waiting for them, an administrator the accounts
// and campaigns that need them and the installation's health, an auditor
// the ledger. Every panel reads through the same stores, with the same
// checks, as the pages it links to.

// Health is what the administrator's home page reports of the
// installation's configuration, besides the ledger.
type Health struct {
	// Ready reports whether the server can serve: the database answers and
	// the ledger writer runs.
	Ready func(ctx context.Context) error
	// Database is the database's dialect (sqlite, postgres).
	Database string
	// Channels are the notification channels configured (email,
	// webhook).
	Channels []string
	// Settings are the installation settings.
	Settings *settings.Service
}

// homePanelMax is the most rows a panel lists; it counts them all.
const homePanelMax = 10

type homeQueryRow struct {
	ID                                int64
	Case, Kind, Status, Tier, Created string
	Requester, Awaiting               string
	Href                              string
	Receipt                           bool
}

type analystHome struct {
	Cases         []caseRow
	Awaiting      []homeQueryRow
	Recent        []homeQueryRow
	AwaitingTotal int
	Lapses        []identity.Lapse
}

type reviewDueRow struct {
	QueryID               int64
	Requester, Case, Tier string
	BreakGlass            bool
	Due                   reviewDue
}

type supervisorHome struct {
	// Approvals are shown to anyone who approves queries: supervisors and
	// component privacy officers.
	Approvals      []approvalListRow
	ApprovalsTotal int
	Supervisor     bool
	Reviews        []reviewDueRow
	ReviewsTotal   int
	Overdue        int
	Team           []homeQueryRow
}

type sourceGapRow struct {
	ID              int64
	Name, Component string
	Missing         []string
}

type piaRow struct {
	ID                             int64
	Title, Component, Status, Step string
}

type privacyHome struct {
	// Inventory says the data sources and PIAs are shown.
	Inventory             bool
	AlertsMine, AlertsNew int
	Alerts                []alertRow
	Sources               []sourceGapRow
	SourcesTotal          int
	PIAs                  []piaRow
}

type attentionRow struct {
	Status, Title, Href string
	Count               int
	Names               []string
}

type healthRow struct {
	Check, State, Detail string
	OK                   bool
}

type adminHome struct {
	Attention []attentionRow
	Campaigns []campaignRow
	Health    []healthRow
}

type auditorHome struct {
	WholeLedger bool
	LedgerSize  int64
}

type homeLink struct {
	Href, Title, Hint string
}

// homeData is what the home page shows.
type homeData struct {
	Name, Zone, AsOf string
	Analyst          *analystHome
	Supervisor       *supervisorHome
	Privacy          *privacyHome
	Admin            *adminHome
	Auditor          *auditorHome
	Links            []homeLink
	// None says the person holds no role: they may only manage their own
	// account.
	None bool
}

func (w *Web) homePage(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	who := w.person(r, p)
	loc := zoneOf(who)
	d := homeData{Name: p.Name, Zone: loc.String(), AsOf: localText(w.now(), loc), None: len(p.Grants) == 0}
	if who != nil {
		d.Name = who.Name
	}
	if d.Name == "" {
		d.Name = p.ID
	}
	var err error
	if p.Can(auth.DataAccess) && p.PersonID != 0 {
		if d.Analyst, err = w.analystHome(ctx, p, loc); err != nil {
			return err
		}
	}
	if mayApprove(p) {
		if d.Supervisor, err = w.supervisorHome(ctx, p, loc); err != nil {
			return err
		}
	}
	if p.HasRole(auth.ComponentPrivacyOfficer) || p.HasRole(auth.DepartmentPrivacyOfficer) {
		if d.Privacy, err = w.privacyHome(ctx, p, loc); err != nil {
			return err
		}
	}
	if p.HasRole(auth.Administrator) {
		if d.Admin, err = w.adminHome(ctx, p, loc); err != nil {
			return err
		}
	}
	if p.HasRole(auth.Auditor) {
		d.Auditor = &auditorHome{WholeLedger: p.CanIn(auth.LedgerEntriesRead, "")}
		if w.deps.Ledger != nil {
			if d.Auditor.LedgerSize, err = w.deps.Ledger.Size(ctx); err != nil {
				return err
			}
		}
	}
	d.Links = w.homeLinks(p)
	return w.render(rw, http.StatusOK, "home", view{Title: "Home", Person: who, Data: d})
}

// homeLinks are the pages p may open, for the list at the foot of the
// home page.
func (w *Web) homeLinks(p auth.Principal) []homeLink {
	var out []homeLink
	add := func(ok bool, href, title, hint string) {
		if ok {
			out = append(out, homeLink{href, title, hint})
		}
	}
	routed := func(pattern string) bool {
		return slices.ContainsFunc(w.routes, func(rt Route) bool { return rt.Method == "GET" && rt.Pattern == pattern })
	}
	add(p.Can(auth.DataAccess), "/queries", "Your queries", "every location query you made, with results and receipts")
	add(p.Can(auth.DataAccess), "/queries/new", "New query", "an area search on a map or by coordinates")
	add(w.deps.Cases != nil && (p.Can(auth.DataAccess) || p.Can(auth.CasesRead)), "/cases", "Cases", "the cases you work on or oversee")
	add(w.deps.Queries != nil && mayApprove(p), "/approvals", "Approvals", "queries waiting for your decision")
	add(routed("/reviews") && p.Can(auth.ReviewsRead), "/reviews", "Reviews", "the after-the-fact review of executed queries")
	add(routed("/alerts") && p.Can(auth.AlertsRead), "/alerts", "Alerts", "misuse alerts and their triage")
	add(routed("/sources") && inventoryPages(p), "/sources", "Data sources", "each source's gate: usable, or what is missing")
	add(routed("/pias") && inventoryPages(p), "/pias", "PIAs", "privacy impact assessments and their workflow")
	add(routed("/rules") && p.Can(auth.ComplianceRead), "/rules", "Rules of behavior", "the rules people acknowledge before they use data")
	add(routed("/policies") && p.Can(auth.PolicyRead), "/policies", "Policies", "policy sets, versions and impact analyses")
	add(p.Can(auth.PeopleRead), "/people", "People", "accounts, their status and roles")
	add(p.Can(auth.RecertRead), "/recert", "Recertification", "campaigns in which supervisors attest their reports' roles")
	add(routed("/ledger") && p.CanIn(auth.LedgerEntriesRead, ""), "/ledger", "Ledger", "every recorded action: search, export, prove")
	add(routed("/ledger/verify") && p.Can(auth.LedgerEntriesRead), "/ledger/verify", "Verify the ledger", "check the whole ledger against its signed checkpoints")
	add(p.PersonID != 0, "/account", "Your account", "your roles, rules of behavior and sessions")
	return out
}

// queryRows turns queries into rows; awaiting fills who must still
// approve each waiting one.
func (w *Web) queryRows(ctx context.Context, p auth.Principal, qs []store.QueryRecord, loc *time.Location, awaiting bool) ([]homeQueryRow, error) {
	rows := make([]homeQueryRow, 0, len(qs))
	for _, q := range qs {
		row := homeQueryRow{ID: q.ID, Case: q.CaseNumber, Kind: kindText(q.Kind), Status: statusText(q.Status), Tier: tierText(q.Tier), Created: localText(q.CreatedAt, loc),
			Requester: q.EmployeeID, Href: w.queryHref(p, q), Receipt: q.Status == query.Completed && q.PersonID == p.PersonID && q.ResultDigest != ""}
		if awaiting && q.Status == query.AwaitingApproval {
			_, have, err := w.deps.Queries.Get(ctx, p, q.ID)
			if err != nil && !fault.Is(err, fault.NotFound) {
				return nil, err
			}
			row.Awaiting = strings.Join(awaitedText(q, have), "; ")
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func (w *Web) analystHome(ctx context.Context, p auth.Principal, loc *time.Location) (*analystHome, error) {
	h := &analystHome{}
	f, err := w.deps.Identity.AccessFacts(ctx, p.PersonID)
	if err != nil {
		return nil, err
	}
	h.Lapses = identity.Lapses(f)
	if w.deps.Cases != nil {
		cs, err := w.deps.Cases.List(ctx, p, store.CaseFilter{Member: p.ID, Status: cases.Open})
		if err != nil {
			return nil, err
		}
		now := w.now()
		for _, c := range cs {
			h.Cases = append(h.Cases, toCaseRow(c, p, now))
		}
	}
	if w.deps.Queries == nil {
		return h, nil
	}
	waiting, err := w.deps.Queries.List(ctx, p, false, store.QueryFilter{Status: query.AwaitingApproval})
	if err != nil {
		return nil, err
	}
	h.AwaitingTotal = len(waiting)
	if h.Awaiting, err = w.queryRows(ctx, p, waiting[:min(len(waiting), homePanelMax)], loc, true); err != nil {
		return nil, err
	}
	recent, err := w.deps.Queries.List(ctx, p, false, store.QueryFilter{Limit: homePanelMax})
	if err != nil {
		return nil, err
	}
	if h.Recent, err = w.queryRows(ctx, p, recent, loc, false); err != nil {
		return nil, err
	}
	return h, nil
}

func (w *Web) supervisorHome(ctx context.Context, p auth.Principal, loc *time.Location) (*supervisorHome, error) {
	h := &supervisorHome{Supervisor: p.HasRole(auth.Supervisor)}
	approvals, err := w.approvalRows(ctx, p, loc)
	if err != nil {
		return nil, err
	}
	h.ApprovalsTotal, h.Approvals = len(approvals), approvals[:min(len(approvals), homePanelMax)]
	if w.deps.Reviews != nil && p.Can(auth.ReviewsRead) && p.Can(auth.ApprovalsDecide) {
		rs, now, err := w.deps.Reviews.Queue(ctx, p, store.ReviewFilter{Mine: true})
		if err != nil {
			return nil, err
		}
		// The soonest due first.
		slices.SortStableFunc(rs, func(a, b store.Review) int { return a.DueAt.Compare(b.DueAt) })
		h.ReviewsTotal = len(rs)
		for _, x := range rs {
			if x.Overdue(now) {
				h.Overdue++
			}
			if len(h.Reviews) < homePanelMax {
				h.Reviews = append(h.Reviews, reviewDueRow{QueryID: x.QueryID, Requester: x.Requester, Case: x.CaseNumber, Tier: tierText(x.Tier), BreakGlass: x.BreakGlass, Due: dueOf(x, now, loc)})
			}
		}
	}
	if h.Supervisor && w.deps.Queries != nil {
		// The team's activity: the newest queries of the people below the
		// supervisor, as the query path shows them.
		qs, err := w.deps.Queries.List(ctx, p, true, store.QueryFilter{Limit: 100})
		if err != nil {
			return nil, err
		}
		qs = slices.DeleteFunc(qs, func(q store.QueryRecord) bool { return q.PersonID == p.PersonID })
		if h.Team, err = w.queryRows(ctx, p, qs[:min(len(qs), homePanelMax)], loc, false); err != nil {
			return nil, err
		}
	}
	return h, nil
}

func (w *Web) privacyHome(ctx context.Context, p auth.Principal, loc *time.Location) (*privacyHome, error) {
	h := &privacyHome{}
	if w.deps.Alerts != nil && p.Can(auth.AlertsRead) {
		as, err := w.deps.Alerts.List(ctx, p, store.AlertFilter{})
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if !a.Status.Open() || a.Status == alerts.Referred {
				continue
			}
			switch {
			case a.AssigneeID == p.PersonID && p.PersonID != 0:
				h.AlertsMine++
			case a.AssigneeID == 0 && a.Status == alerts.New:
				h.AlertsNew++
			default:
				continue
			}
			if len(h.Alerts) < homePanelMax {
				h.Alerts = append(h.Alerts, alertRow{ID: a.ID, Detector: detectorText(a.Detector), Severity: string(a.Severity), Status: alertStatusText(a.Status), About: a.Person,
					Component: a.Component, Assignee: alertAssignee(a), Raised: localText(a.CreatedAt, loc), QueryID: a.QueryID, High: a.Severity == alerts.High, Open: true})
			}
		}
	}
	if w.deps.Privacy == nil || !p.Can(auth.InventoryRead) {
		return h, nil
	}
	h.Inventory = true
	gates, err := w.deps.Privacy.GateStatuses(ctx, p, "")
	if err != nil {
		return nil, err
	}
	h.SourcesTotal = len(gates)
	for _, g := range gates {
		if g.Usable {
			continue
		}
		row := sourceGapRow{ID: g.SourceID, Name: g.SourceName, Component: g.Component}
		for _, m := range g.Missing {
			row.Missing = append(row.Missing, m.Message)
		}
		h.Sources = append(h.Sources, row)
	}
	// The PIAs waiting for this officer: a component privacy officer
	// reviews those submitted; the Chief Privacy Officer approves those
	// forwarded and publishes those approved.
	var steps []struct {
		status privacy.Status
		step   string
	}
	if p.Can(auth.PIAReview) {
		steps = append(steps, struct {
			status privacy.Status
			step   string
		}{privacy.Submitted, "review: forward or return"})
	}
	if p.Can(auth.PIAApprove) {
		steps = append(steps, struct {
			status privacy.Status
			step   string
		}{privacy.Accepted, "approve or return"}, struct {
			status privacy.Status
			step   string
		}{privacy.Approved, "publish"})
	}
	for _, s := range steps {
		ps, err := w.deps.Privacy.PIAs(ctx, p, store.PIAFilter{Status: s.status})
		if err != nil {
			return nil, err
		}
		for _, x := range ps {
			if s.status == privacy.Submitted && !p.CanIn(auth.PIAReview, x.Component) {
				continue
			}
			h.PIAs = append(h.PIAs, piaRow{ID: x.ID, Title: x.Title, Component: x.Component, Status: string(x.Status), Step: s.step})
		}
	}
	return h, nil
}

func (w *Web) adminHome(ctx context.Context, p auth.Principal, loc *time.Location) (*adminHome, error) {
	h := &adminHome{}
	for _, st := range []struct {
		status identity.Status
		title  string
	}{
		{identity.Invited, "invited, not yet activated"},
		{identity.Locked, "locked"},
		{identity.Suspended, "suspended"},
	} {
		people, err := w.deps.Identity.People(ctx, p, store.PeopleFilter{Status: st.status})
		if err != nil {
			return nil, err
		}
		row := attentionRow{Status: string(st.status), Title: st.title, Href: "/people?status=" + string(st.status), Count: len(people)}
		for _, x := range people[:min(len(people), 5)] {
			row.Names = append(row.Names, x.Name)
		}
		h.Attention = append(h.Attention, row)
	}
	var err error
	if h.Campaigns, err = w.campaignRows(ctx, p, loc, true); err != nil {
		return nil, err
	}
	h.Health = w.health(ctx, loc)
	return h, nil
}

// health checks the installation's configuration: what readiness checks
// (the database, the ledger writer), the ledger's size and last signed
// checkpoint, the database, notifications and single sign-on, and the
// settings changed from their defaults.
func (w *Web) health(ctx context.Context, loc *time.Location) []healthRow {
	var out []healthRow
	hl := w.deps.Health
	if hl == nil {
		hl = &Health{}
	}
	if hl.Ready != nil {
		row := healthRow{Check: "Readiness", State: "ready", Detail: "the database answers and the ledger writer runs", OK: true}
		if err := hl.Ready(ctx); err != nil {
			row.State, row.Detail, row.OK = "not ready", fault.MessageOf(err), false
		}
		out = append(out, row)
	}
	if hl.Database != "" {
		out = append(out, healthRow{Check: "Database", State: databaseText(hl.Database), OK: true})
	}
	if l := w.deps.Ledger; l != nil {
		size, err := l.Size(ctx)
		row := healthRow{Check: "Ledger", State: entriesText(size), OK: err == nil}
		if err != nil {
			row.State, row.Detail = "unreadable", fault.MessageOf(err)
		}
		out = append(out, row)
		cp := healthRow{Check: "Last checkpoint", State: "none yet", Detail: "no signed checkpoint has been published", OK: size <= 1}
		if age, ok := l.CheckpointAge(ctx); ok {
			at := w.now().Add(-age)
			cp.State, cp.OK = localText(at, loc), true
			cp.Detail = durationText(max(age, time.Minute)) + " ago"
			if c, _, err := l.Latest(ctx); err == nil {
				cp.Detail += ", covering " + entriesText(c.Size)
				if c.Size < size {
					cp.Detail += " (" + strconv.FormatInt(size-c.Size, 10) + " newer not yet covered)"
				}
			}
			if hl.Settings != nil {
				if every := time.Duration(hl.Settings.Int(ctx, settings.CheckpointIntervalSeconds)) * time.Second; every > 0 && age > 3*every+time.Minute && size > 0 {
					cp.OK = false
					cp.Detail += "; checkpoints are due every " + durationText(every) + ": the ledger writer may have stopped"
				}
			}
		}
		out = append(out, cp)
	}
	channels := healthRow{Check: "Notifications", State: "none configured", Detail: "alerts and escalations reach people only in Probity; configure an SMTP relay or a webhook", OK: false}
	if len(hl.Channels) > 0 {
		channels.State, channels.Detail, channels.OK = strings.Join(hl.Channels, ", "), "", true
	}
	out = append(out, channels)
	sso := healthRow{Check: "Single sign-on", State: "not configured", Detail: "people sign in with a password and an authenticator code", OK: true}
	if w.deps.SSO {
		sso.State, sso.Detail = "configured", "people may sign in through the identity provider"
	}
	out = append(out, sso)
	piv := healthRow{Check: "PIV/CAC sign-in", State: "not configured", OK: true}
	if w.deps.PIV {
		piv.State = "configured"
	}
	out = append(out, piv)
	if hl.Settings != nil {
		all, err := hl.Settings.List(ctx)
		row := healthRow{Check: "Settings", OK: err == nil}
		if err != nil {
			row.State, row.Detail = "unreadable", fault.MessageOf(err)
		} else {
			var changed []string
			for _, s := range all {
				if s.UpdatedAt != nil {
					changed = append(changed, s.Name+" = "+settingText(s.Value))
				}
			}
			row.State = strconv.Itoa(len(all)) + " settings, " + strconv.Itoa(len(changed)) + " changed from their defaults"
			row.Detail = strings.Join(changed, "; ")
		}
		out = append(out, row)
	}
	return out
}

func entriesText(n int64) string {
	if n == 1 {
		return "1 entry"
	}
	return strconv.FormatInt(n, 10) + " entries"
}

func databaseText(dialect string) string {
	switch dialect {
	case "sqlite":
		return "SQLite"
	case "postgres":
		return "PostgreSQL"
	}
	return dialect
}

// settingText shows a setting's JSON value: a string without its quotes.
func settingText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}
