package web

import (
	"context"
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
	"github.com/probity-dev/probity/internal/store"
)

// recertRoutes are the pages of recertification campaigns, over the
// identity store as the API's routes are: reading needs recert.read (a
// reader of some components sees their people's items only); starting and
// closing a campaign recert.manage; attesting recert.attest, and the
// store decides whose roles each attests (their reports', never their
// own).
func (w *Web) recertRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/recert", Perm: auth.RecertRead, Handler: w.listCampaigns},
		{Method: "GET", Pattern: "/recert.csv", Perm: auth.RecertRead, Handler: w.campaignsCSV},
		{Method: "POST", Pattern: "/recert", Perm: auth.RecertManage, Handler: w.startCampaign},
		// A campaign's items, and with .csv their export.
		{Method: "GET", Pattern: "/recert/{id}", Perm: auth.RecertRead, Handler: w.showCampaign},
		{Method: "POST", Pattern: "/recert/{id}/close", Perm: auth.RecertManage, Handler: w.closeCampaign},
		{Method: "POST", Pattern: "/recert/{id}/items/{item}", Perm: auth.RecertAttest, Handler: w.attest},
	}
}

// itemCounts counts a campaign's items by decision.
type itemCounts struct {
	Total, Pending, Kept, Revoked int
}

func countItems(items []identity.Item) itemCounts {
	var c itemCounts
	for _, it := range items {
		c.Total++
		switch it.Decision {
		case identity.Pending:
			c.Pending++
		case identity.Keep:
			c.Kept++
		case identity.Revoke:
			c.Revoked++
		}
	}
	return c
}

// The campaigns.

type campaignRow struct {
	ID                 int64
	Name, Started, Due string
	Countdown, Closed  string
	Open, Overdue      bool
	Counts             itemCounts
	Mine               int // pending items the reader attests
	StartedISO, DueISO string
	ClosedISO          string
}

type campaignListData struct {
	Rows               []campaignRow
	CanManage, AnyOpen bool
	Zone, CSRF         string
	Name, DueOn        string
	Problem            string
}

// campaignRows returns the campaigns, or with open only those open, with
// the reader's counts of their items.
func (w *Web) campaignRows(ctx context.Context, p auth.Principal, loc *time.Location, open bool) ([]campaignRow, error) {
	cs, err := w.deps.Identity.Campaigns(ctx)
	if err != nil {
		return nil, err
	}
	now := w.now()
	rows := make([]campaignRow, 0, len(cs))
	for _, c := range cs {
		if open && !c.Open() {
			continue
		}
		items, err := w.deps.Identity.CampaignItems(ctx, p, c.ID, false)
		if err != nil {
			return nil, err
		}
		row := campaignRow{ID: c.ID, Name: c.Name, Started: localText(c.StartedAt, loc), Due: localText(c.DueAt, loc), Open: c.Open(), Counts: countItems(items),
			StartedISO: c.StartedAt.UTC().Format(time.RFC3339), DueISO: c.DueAt.UTC().Format(time.RFC3339)}
		if c.Open() {
			row.Countdown, row.Overdue = countdown(now, c.DueAt, loc), now.After(c.DueAt)
			if p.Can(auth.RecertAttest) && p.PersonID != 0 {
				mine, err := w.deps.Identity.CampaignItems(ctx, p, c.ID, true)
				if err != nil {
					return nil, err
				}
				row.Mine = countItems(mine).Pending
			}
		} else {
			row.Closed, row.ClosedISO = localText(c.ClosedAt, loc), c.ClosedAt.UTC().Format(time.RFC3339)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

var campaignDone = map[string]string{
	"started": "The campaign is started: every active role is to be attested by the holder's supervisor.",
	"closed":  "The campaign is closed: the roles nobody attested are suspended.",
}

func (w *Web) listCampaigns(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	flash := ""
	if msg, ok := campaignDone[r.URL.Query().Get("done")]; ok {
		flash = msg + " This is recorded in the ledger."
	}
	return w.campaignsPage(rw, r, p, http.StatusOK, flash, "", "", "")
}

func (w *Web) campaignsPage(rw http.ResponseWriter, r *http.Request, p auth.Principal, status int, flash, problem, name, dueOn string) error {
	who := w.person(r, p)
	loc := zoneOf(who)
	rows, err := w.campaignRows(r.Context(), p, loc, false)
	if err != nil {
		return err
	}
	if dueOn == "" {
		dueOn = w.now().Add(identity.DefaultCampaignLength).In(loc).Format(time.DateOnly)
	}
	d := campaignListData{Rows: rows, CanManage: p.Can(auth.RecertManage), Zone: loc.String(), CSRF: formToken(r), Name: name, DueOn: dueOn, Problem: problem}
	for _, c := range rows {
		d.AnyOpen = d.AnyOpen || c.Open
	}
	return w.render(rw, status, "recert", view{Title: "Recertification", Person: who, Flash: flash, Data: d})
}

func (w *Web) campaignsCSV(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rows, err := w.campaignRows(r.Context(), p, time.UTC, false)
	if err != nil {
		return err
	}
	return w.writeCSV(rw, r, "probity-campaigns.csv", []string{"id", "name", "started_at", "due_at", "closed_at", "items", "pending", "kept", "revoked"},
		csvRows(rows, func(c campaignRow) []string {
			return []string{strconv.FormatInt(c.ID, 10), c.Name, c.StartedISO, c.DueISO, c.ClosedISO, strconv.Itoa(c.Counts.Total),
				strconv.Itoa(c.Counts.Pending), strconv.Itoa(c.Counts.Kept), strconv.Itoa(c.Counts.Revoked)}
		}))
}

// startCampaign starts a campaign due at the end of the day the form
// names, in the reader's time zone.
func (w *Web) startCampaign(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := form(rw, r); err != nil {
		return err
	}
	if err := checkFormToken(r); err != nil {
		return err
	}
	name, dueOn := r.PostFormValue("name"), strings.TrimSpace(r.PostFormValue("due"))
	loc := zoneOf(w.person(r, p))
	day, err := time.ParseInLocation(time.DateOnly, dueOn, loc)
	if err == nil {
		_, _, err = w.deps.Identity.StartCampaign(r.Context(), p, name, day.AddDate(0, 0, 1).Add(-time.Minute))
	} else {
		err = fault.New(fault.Invalid, "due: give the day the campaign closes, as YYYY-MM-DD")
	}
	if err != nil {
		status, known := pageStatus[fault.CodeOf(err)]
		if !known {
			return err
		}
		return w.campaignsPage(rw, r, p, status, "", fault.MessageOf(err), name, dueOn)
	}
	http.Redirect(rw, r, "/recert?done=started", http.StatusSeeOther)
	return nil
}

func campaignID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.New(fault.NotFound, "there is no campaign %q", clipValue(s))
	}
	return id, nil
}

func (w *Web) closeCampaign(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := form(rw, r); err != nil {
		return err
	}
	if err := checkFormToken(r); err != nil {
		return err
	}
	id, err := campaignID(r)
	if err != nil {
		return err
	}
	if _, err := w.deps.Identity.CloseDueCampaigns(r.Context(), p, id); err != nil {
		return err
	}
	http.Redirect(rw, r, "/recert?done=closed", http.StatusSeeOther)
	return nil
}

// A campaign's items.

// campaignPageMax is the most items a campaign's page lists; the export
// has them all.
const campaignPageMax = 500

type itemRow struct {
	ID                                int64
	Person, Component, Role, Attester string
	Decision, DecidedBy, Decided      string
	PersonID                          int64
	Pending, Attestable               bool
	DecidedISO                        string
}

type campaignPageData struct {
	ID                   int64
	Name, Due, Countdown string
	Closed               string
	Open, Overdue        bool
	Counts               itemCounts
	Rows                 []itemRow
	Show, Decision       string
	CanAttest, Clipped   bool
	Zone, CSRF           string
	Problem              string
	ProblemItem          int64
	Note                 string
	Query                string
}

// itemFilter reads the items' filters: show (mine: the items the reader
// attests; all) and decision (pending, keep, revoke; any when empty).
func itemFilter(v url.Values, canAttest bool) (show string, decision identity.Decision, err error) {
	show = v.Get("show")
	switch show {
	case "":
		show = "all"
		if canAttest {
			show = "mine"
		}
	case "mine", "all":
	default:
		return "", "", fault.New(fault.Invalid, "show %q is not a choice: use mine or all", clipValue(show))
	}
	decision = identity.Decision(v.Get("decision"))
	switch decision {
	case "", identity.Pending, identity.Keep, identity.Revoke:
	default:
		return "", "", fault.New(fault.Invalid, "decision %q is not one: use pending, keep or revoke", clipValue(string(decision)))
	}
	return show, decision, nil
}

// campaignItems returns the items of campaign id the filters select,
// with the reader's names for their people and roles.
func (w *Web) campaignItems(ctx context.Context, p auth.Principal, c identity.Campaign, show string, decision identity.Decision, loc *time.Location, max int) ([]itemRow, bool, error) {
	canAttest := p.Can(auth.RecertAttest) && p.PersonID != 0
	items, err := w.deps.Identity.CampaignItems(ctx, p, c.ID, show == "mine")
	if err != nil {
		return nil, false, err
	}
	mine := map[int64]bool{}
	if canAttest && c.Open() {
		own := items
		if show != "mine" {
			if own, err = w.deps.Identity.CampaignItems(ctx, p, c.ID, true); err != nil {
				return nil, false, err
			}
		}
		for _, it := range own {
			mine[it.ID] = it.PersonID != p.PersonID
		}
	}
	people, err := w.deps.Identity.People(ctx, p, store.PeopleFilter{})
	if err != nil && !fault.Is(err, fault.Forbidden) {
		return nil, false, err
	}
	byID := make(map[int64]identity.Person, len(people))
	for _, x := range people {
		byID[x.ID] = x
	}
	name := func(id int64) string {
		if x, ok := byID[id]; ok {
			return x.Name + " (" + x.EmployeeID + ")"
		}
		return fmt.Sprintf("person %d", id)
	}
	grants := map[int64][]identity.Grant{}
	var rows []itemRow
	clipped := false
	for _, it := range items {
		if decision != "" && it.Decision != decision {
			continue
		}
		if max > 0 && len(rows) == max {
			clipped = true
			break
		}
		gs, ok := grants[it.PersonID]
		if !ok {
			if gs, err = w.deps.Identity.Grants(ctx, it.PersonID); err != nil {
				return nil, false, err
			}
			grants[it.PersonID] = gs
		}
		role := fmt.Sprintf("grant %d, no longer held", it.GrantID)
		for _, g := range gs {
			if g.ID == it.GrantID {
				role = grantText(g)
			}
		}
		attester := "a department privacy officer"
		if it.AttesterID != 0 {
			attester = name(it.AttesterID)
		}
		row := itemRow{ID: it.ID, PersonID: it.PersonID, Person: name(it.PersonID), Component: orDepartment(byID[it.PersonID].Component), Role: role, Attester: attester,
			Decision: string(it.Decision), Pending: it.Decision == identity.Pending, Attestable: it.Decision == identity.Pending && mine[it.ID]}
		if !it.DecidedAt.IsZero() {
			row.DecidedBy, row.Decided, row.DecidedISO = name(it.DecidedBy), localText(it.DecidedAt, loc), it.DecidedAt.UTC().Format(time.RFC3339)
		}
		rows = append(rows, row)
	}
	return rows, clipped, nil
}

// campaign returns campaign id.
func (w *Web) campaign(ctx context.Context, id int64) (identity.Campaign, error) {
	cs, err := w.deps.Identity.Campaigns(ctx)
	if err != nil {
		return identity.Campaign{}, err
	}
	for _, c := range cs {
		if c.ID == id {
			return c, nil
		}
	}
	return identity.Campaign{}, fault.New(fault.NotFound, "there is no campaign %d", id)
}

var attestDone = map[string]string{
	string(identity.Keep):   "The role is recertified.",
	string(identity.Revoke): "The role is revoked.",
}

func (w *Web) showCampaign(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if strings.HasSuffix(r.PathValue("id"), ".csv") {
		return w.campaignCSV(rw, r, p)
	}
	id, err := campaignID(r)
	if err != nil {
		return err
	}
	flash := ""
	if msg, ok := attestDone[r.URL.Query().Get("done")]; ok {
		flash = msg + " Your attestation is recorded in the ledger."
	}
	return w.campaignPage(rw, r, p, id, r.URL.Query(), http.StatusOK, flash, "", 0, "")
}

func (w *Web) campaignPage(rw http.ResponseWriter, r *http.Request, p auth.Principal, id int64, v url.Values, status int, flash, problem string, problemItem int64, note string) error {
	ctx := r.Context()
	c, err := w.campaign(ctx, id)
	if err != nil {
		return err
	}
	canAttest := p.Can(auth.RecertAttest) && p.PersonID != 0
	show, decision, err := itemFilter(v, canAttest)
	if err != nil {
		return err
	}
	who := w.person(r, p)
	loc := zoneOf(who)
	all, err := w.deps.Identity.CampaignItems(ctx, p, id, false)
	if err != nil {
		return err
	}
	rows, clipped, err := w.campaignItems(ctx, p, c, show, decision, loc, campaignPageMax)
	if err != nil {
		return err
	}
	now := w.now()
	d := campaignPageData{ID: c.ID, Name: c.Name, Due: localText(c.DueAt, loc), Open: c.Open(), Counts: countItems(all), Rows: rows, Show: show, Decision: string(decision),
		CanAttest: canAttest, Clipped: clipped, Zone: loc.String(), CSRF: formToken(r), Problem: problem, ProblemItem: problemItem, Note: note}
	q := url.Values{}
	for _, k := range []string{"show", "decision"} {
		if s := v.Get(k); s != "" {
			q.Set(k, s)
		}
	}
	d.Query = q.Encode()
	if c.Open() {
		d.Countdown, d.Overdue = countdown(now, c.DueAt, loc), now.After(c.DueAt)
	} else {
		d.Closed = localText(c.ClosedAt, loc)
	}
	return w.render(rw, status, "campaign", view{Title: "Campaign " + c.Name, Person: who, Flash: flash, Data: d})
}

func (w *Web) campaignCSV(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s := strings.TrimSuffix(r.PathValue("id"), ".csv")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return fault.New(fault.NotFound, "there is no campaign %q", clipValue(s))
	}
	ctx := r.Context()
	c, err := w.campaign(ctx, id)
	if err != nil {
		return err
	}
	show, decision, err := itemFilter(r.URL.Query(), p.Can(auth.RecertAttest) && p.PersonID != 0)
	if err != nil {
		return err
	}
	rows, _, err := w.campaignItems(ctx, p, c, show, decision, time.UTC, 0)
	if err != nil {
		return err
	}
	return w.writeCSV(rw, r, fmt.Sprintf("probity-campaign-%d.csv", id), []string{"item", "person_id", "person", "component", "role", "attester", "decision", "decided_by", "decided_at"},
		csvRows(rows, func(it itemRow) []string {
			return []string{strconv.FormatInt(it.ID, 10), strconv.FormatInt(it.PersonID, 10), it.Person, it.Component, it.Role, it.Attester, it.Decision, it.DecidedBy, it.DecidedISO}
		}))
}

// attest records the reader's decision on one item of a campaign.
func (w *Web) attest(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := form(rw, r); err != nil {
		return err
	}
	if err := checkFormToken(r); err != nil {
		return err
	}
	id, err := campaignID(r)
	if err != nil {
		return err
	}
	s := r.PathValue("item")
	item, err := strconv.ParseInt(s, 10, 64)
	if err != nil || item <= 0 {
		return fault.New(fault.NotFound, "there is no campaign item %q", clipValue(s))
	}
	// The item must be one of this campaign's that the reader may see.
	items, err := w.deps.Identity.CampaignItems(r.Context(), p, id, false)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(items, func(it identity.Item) bool { return it.ID == item }) {
		return fault.New(fault.NotFound, "campaign %d has no item %d you may see", id, item)
	}
	decision, note := identity.Decision(r.PostFormValue("decision")), r.PostFormValue("note")
	if err := w.deps.Identity.Attest(r.Context(), p, item, decision, note); err != nil {
		status, known := pageStatus[fault.CodeOf(err)]
		if !known || fault.Is(err, fault.NotFound) {
			return err
		}
		back := url.Values{"show": {r.PostFormValue("show")}, "decision": {r.PostFormValue("filter")}}
		return w.campaignPage(rw, r, p, id, back, status, "", fault.MessageOf(err), item, note)
	}
	back := url.Values{"done": {string(decision)}}
	for k, f := range map[string]string{"show": "show", "decision": "filter"} {
		if v := r.PostFormValue(f); v != "" {
			back.Set(k, v)
		}
	}
	http.Redirect(rw, r, fmt.Sprintf("/recert/%d?%s", id, back.Encode()), http.StatusSeeOther)
	return nil
}
