package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/store"
)

// privacyRoutes are the privacy officer's pages: the data sources with
// their gate, PTAs and PIAs with the workflow and version diffs, the rules
// of behavior, and the policy sets with their editor and impact analysis.
// They call the stores the API's routes call, with the same permissions;
// the stores decide who sees what and who may take which step, and record
// every refused step. Without the privacy store there are no inventory
// pages; without the policy store, no policy pages.
func (w *Web) privacyRoutes() []Route {
	var routes []Route
	if w.deps.Privacy != nil {
		routes = append(routes,
			Route{Method: "GET", Pattern: "/sources", Perm: auth.InventoryRead, Handler: inventoryPage(w.listSources)},
			Route{Method: "GET", Pattern: "/sources/{id}", Perm: auth.InventoryRead, Handler: inventoryPage(w.showSource)},
			Route{Method: "GET", Pattern: "/pias", Perm: auth.InventoryRead, Handler: inventoryPage(w.listPIAs)},
			Route{Method: "GET", Pattern: "/pias/{id}", Perm: auth.InventoryRead, Handler: inventoryPage(w.showPIA)},
			Route{Method: "GET", Pattern: "/pias/{id}/diff", Perm: auth.InventoryRead, Handler: inventoryPage(w.piaDiff)},
		)
		// Steps are routed to everyone who reads PIAs, as the API's are.
		for _, a := range piaSteps {
			routes = append(routes, Route{Method: "POST", Pattern: "/pias/{id}/" + a.Step, Perm: auth.InventoryRead, Handler: inventoryPage(w.piaStep(privacy.Action(a.Step)))})
		}
	}
	routes = append(routes, w.rulesRoutes()...)
	return append(routes, w.policyRoutes()...)
}

// inventoryPages reports whether p works on the inventory's compliance:
// keeps it (inventory.manage: privacy and security officers) or oversees
// it (compliance.read: supervisors, privacy officers, auditors). Analysts
// read the inventory too, through the API, and the refusal of a query
// names what its data source lacks; these pages are not theirs.
func inventoryPages(p auth.Principal) bool {
	return p.Can(auth.InventoryRead) && (p.Can(auth.InventoryManage) || p.Can(auth.ComplianceRead))
}

// inventoryPage refuses those whose work these pages are not.
func inventoryPage(h func(http.ResponseWriter, *http.Request, auth.Principal) error) func(http.ResponseWriter, *http.Request, auth.Principal) error {
	return func(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
		if !inventoryPages(p) {
			return fault.New(fault.Forbidden, "these pages are for those who keep or oversee the privacy inventory; a refused query names what its data source lacks")
		}
		return h(rw, r, p)
	}
}

func pathInt(r *http.Request, name, what string) (int64, error) {
	s := r.PathValue(name)
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.New(fault.NotFound, "there is no %s %q", what, clipValue(s))
	}
	return id, nil
}

func dayText(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(time.DateOnly)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// piaStatusText says where a PIA stands, in words.
func piaStatusText(s privacy.Status) string {
	switch s {
	case privacy.Draft:
		return "draft: being written"
	case privacy.Submitted:
		return "submitted: awaiting the component privacy officer's review"
	case privacy.Accepted:
		return "forwarded: awaiting the Chief Privacy Officer's approval"
	case privacy.Returned:
		return "returned to its authors with comments"
	case privacy.Approved:
		return "approved: awaiting publication"
	case privacy.Published:
		return "published"
	}
	return string(s)
}

func roleTitles(rs []auth.Role) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Title())
	}
	return out
}

// Data sources.

// missingView is one thing a source lacks, who can fix it, and where.
type missingView struct {
	Code, Message, Fix string
	Roles, People      []string
	Href, Link         string
}

type sourceRow struct {
	ID                                    int64
	Name, Title, Component, Connector     string
	Usable                                bool
	Missing                               []missingView
	PIAID                                 int64
	PIAStatus                             string
	PTAID                                 int64
	PTAOutcome                            string
	EffectiveVersion                      int
	PIAExpires, RulesKey, CheckedAt, Zone string
}

func (w *Web) missingViews(g privacy.GateStatus, src string, publishRules bool) []missingView {
	out := make([]missingView, 0, len(g.Missing))
	for _, m := range g.Missing {
		v := missingView{Code: m.Code, Message: m.Message, Fix: m.Fix, Roles: roleTitles(m.Roles)}
		for _, c := range m.People {
			v.People = append(v.People, fmt.Sprintf("%s (%s, %s)", c.Name, c.EmployeeID, c.Role.Title()))
		}
		switch m.Code {
		case privacy.PIANotApproved, privacy.PIANotPublished, privacy.PIAExpired, privacy.PIAUpdateRequired:
			if g.PIAID != 0 {
				v.Href, v.Link = fmt.Sprintf("/pias/%d", g.PIAID), fmt.Sprintf("PIA %d", g.PIAID)
			}
		case privacy.PIAMissing:
			v.Href, v.Link = src+"#ptas", "the source's privacy threshold analyses"
		case privacy.RulesUnpublished:
			if publishRules {
				v.Href, v.Link = "/rules?key="+g.RulesKey+"#publish", "publish rules under "+g.RulesKey
			}
		}
		out = append(out, v)
	}
	return out
}

func ptaOutcomeText(o privacy.PTAOutcome) string {
	switch {
	case o.PIARequired && o.SORNRequired:
		return "PIA and SORN required"
	case o.PIARequired:
		return "PIA required"
	case o.SORNRequired:
		return "SORN required"
	}
	return "no PIA required"
}

// latestPTAs returns the newest PTA of each subject by may see.
func (w *Web) latestPTAs(ctx context.Context, p auth.Principal) (map[string]privacy.PTA, error) {
	ptas, err := w.deps.Privacy.PTAs(ctx, p, "")
	if err != nil {
		return nil, err
	}
	out := map[string]privacy.PTA{}
	for _, t := range ptas { // newest first
		if _, ok := out[t.Subject]; !ok {
			out[t.Subject] = t
		}
	}
	return out, nil
}

type sourcesData struct {
	Rows           []sourceRow
	Usable, Closed int
	Zone           string
}

func (w *Web) listSources(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	gates, err := w.deps.Privacy.GateStatuses(ctx, p, "")
	if err != nil {
		return err
	}
	sources, err := w.deps.Privacy.Sources(ctx, p, "")
	if err != nil {
		return err
	}
	titles := map[int64]privacy.Source{}
	for _, s := range sources {
		titles[s.ID] = s
	}
	ptas, err := w.latestPTAs(ctx, p)
	if err != nil {
		return err
	}
	who := w.person(r, p)
	loc := zoneOf(who)
	rules := p.Can(auth.RulesManage)
	d := sourcesData{Zone: loc.String()}
	for _, g := range gates {
		src := titles[g.SourceID]
		href := fmt.Sprintf("/sources/%d", g.SourceID)
		row := sourceRow{ID: g.SourceID, Name: g.SourceName, Title: src.Title, Component: g.Component, Connector: string(src.Connector), Usable: g.Usable,
			Missing: w.missingViews(g, href, rules), PIAID: g.PIAID, EffectiveVersion: g.EffectiveVersion, PIAExpires: dayText(g.PIAExpiresAt), RulesKey: g.RulesKey}
		if g.PIAID != 0 {
			row.PIAStatus = piaStatusText(g.PIAStatus)
		}
		if t, ok := ptas[fmt.Sprintf("source/%d", g.SourceID)]; ok {
			row.PTAID, row.PTAOutcome = t.ID, ptaOutcomeText(t.Outcome)
		}
		if g.Usable {
			d.Usable++
		} else {
			d.Closed++
		}
		d.Rows = append(d.Rows, row)
	}
	return w.render(rw, http.StatusOK, "sources", view{Title: "Data sources", Person: who, Data: d})
}

type ptaView struct {
	ID                              int64
	Subject, SubjectHref, Component string
	Outcome, Recorded, Author       string
	PIARequired, SORNRequired       bool
	Rationale                       []string
	Answers                         []ptaAnswer
}

type ptaAnswer struct{ Question, Answer string }

func ptaAnswers(a privacy.PTAAnswers) []ptaAnswer {
	vals := map[string]*bool{"collects_pii": a.CollectsPII, "about_public": a.AboutPublic, "location_data": a.LocationData,
		"retrieved_by_identifier": a.RetrievedByIdentifier, "commercial_source": a.CommercialSource, "new_or_changed": a.NewOrChanged}
	var out []ptaAnswer
	for _, q := range privacy.PTAQuestions() {
		ans := "unanswered"
		if v := vals[q.Field]; v != nil {
			ans = yesNo(*v)
		}
		out = append(out, ptaAnswer{Question: q.Text, Answer: ans})
	}
	return out
}

func (w *Web) ptaView(ctx context.Context, p auth.Principal, t privacy.PTA, loc *time.Location, names *personNames) ptaView {
	v := ptaView{ID: t.ID, Subject: t.Subject, Component: t.Component, Outcome: ptaOutcomeText(t.Outcome), Recorded: localText(t.CreatedAt, loc),
		Author: names.name(ctx, p, t.AuthorID), PIARequired: t.Outcome.PIARequired, SORNRequired: t.Outcome.SORNRequired, Rationale: t.Outcome.Rationale,
		Answers: ptaAnswers(t.Answers)}
	if kind, id, err := privacy.ValidateSubject(t.Subject); err == nil {
		if kind == "source" {
			v.Subject, v.SubjectHref = fmt.Sprintf("data source %d", id), fmt.Sprintf("/sources/%d", id)
		} else {
			v.Subject = fmt.Sprintf("system %d", id)
		}
	}
	return v
}

// personNames names people by their ID for a page, asking once each.
type personNames struct {
	w *Web
	m map[int64]string
}

func (w *Web) namer() *personNames { return &personNames{w: w, m: map[int64]string{}} }

// name returns "Name (employee ID)" of a person p may see, else "person
// N".
func (n *personNames) name(ctx context.Context, p auth.Principal, id int64) string {
	if id == 0 {
		return "—"
	}
	if s, ok := n.m[id]; ok {
		return s
	}
	s := fmt.Sprintf("person %d", id)
	if who, err := n.w.deps.Identity.Person(ctx, p, id); err == nil {
		s = fmt.Sprintf("%s (%s)", who.Name, who.EmployeeID)
	}
	n.m[id] = s
	return s
}

type sourcePageData struct {
	ID                                          int64
	Name, Title, Component, Vendor, Contract    string
	ContractPeriod, Connector, RulesKey, System string
	Categories                                  []string
	Credential                                  string
	Suspended                                   bool
	SuspendedText                               string
	Usable                                      bool
	Missing                                     []missingView
	CheckedAt                                   string
	PIAID                                       int64
	PIATitle, PIAStatus, PIAInForce             string
	PTAs                                        []ptaView
	Zone                                        string
}

func (w *Web) showSource(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	id, err := pathInt(r, "id", "data source")
	if err != nil {
		return err
	}
	src, err := w.deps.Privacy.Source(ctx, p, id)
	if err != nil {
		return err
	}
	g, err := w.deps.Privacy.GateStatus(ctx, p, id)
	if err != nil {
		return err
	}
	who := w.person(r, p)
	loc := zoneOf(who)
	href := fmt.Sprintf("/sources/%d", id)
	d := sourcePageData{ID: src.ID, Name: src.Name, Title: src.Title, Component: src.Component, Vendor: src.Vendor, Contract: src.ContractNumber,
		Connector: string(src.Connector), RulesKey: src.RulesKey, Categories: src.Categories, System: fmt.Sprintf("system %d", src.SystemID),
		Usable: g.Usable, Missing: w.missingViews(g, href, p.Can(auth.RulesManage)), CheckedAt: localText(g.CheckedAt, loc), Zone: loc.String()}
	if sys, err := w.deps.Privacy.System(ctx, p, src.SystemID); err == nil {
		d.System = sys.Name
	}
	switch {
	case src.ContractStart.IsZero() && src.ContractEnd.IsZero():
		d.ContractPeriod = "open"
	default:
		d.ContractPeriod = dayText(src.ContractStart) + " to " + dayText(src.ContractEnd)
	}
	switch {
	case src.CredentialConfigured():
		d.Credential = "configured " + localText(src.CredentialConfiguredAt, loc) + " (only Probity holds it; nobody sees it)"
	case src.Connector.NeedsCredential():
		d.Credential = "not configured"
	default:
		d.Credential = "none needed (Probity's own store)"
	}
	if src.Suspended() {
		d.Suspended, d.SuspendedText = true, fmt.Sprintf("suspended %s by %s: %s", localText(src.SuspendedAt, loc), src.SuspendedBy, src.SuspendedReason)
	}
	switch pia, err := w.deps.Privacy.PIAOfSource(ctx, p, id); {
	case err == nil:
		d.PIAID, d.PIATitle, d.PIAStatus = pia.ID, pia.Title, piaStatusText(pia.Status)
		if pia.EffectiveVersion > 0 {
			d.PIAInForce = fmt.Sprintf("version %d, until %s", pia.EffectiveVersion, dayText(pia.EffectiveExpiresAt))
		}
	case !fault.Is(err, fault.NotFound):
		return err
	}
	ptas, err := w.deps.Privacy.PTAs(ctx, p, fmt.Sprintf("source/%d", id))
	if err != nil {
		return err
	}
	names := w.namer()
	for _, t := range ptas {
		d.PTAs = append(d.PTAs, w.ptaView(ctx, p, t, loc, names))
	}
	return w.render(rw, http.StatusOK, "source", view{Title: "Data source " + src.Name, Person: who, Data: d})
}

// PTAs and PIAs.

type piaListRow struct {
	ID                                 int64
	Title, Component, Status, InForce  string
	SourceID                           int64
	Version                            int
	UpdateRequired                     string
	Updated                            string
	AwaitsReview, Returned, InForceNow bool
}

type piasData struct {
	PIAs     []piaListRow
	PTAs     []ptaView
	Statuses []filterChoice
	Filtered bool
	Zone     string
}

func (w *Web) listPIAs(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	status := privacy.Status(r.URL.Query().Get("status"))
	statuses := []privacy.Status{privacy.Draft, privacy.Submitted, privacy.Accepted, privacy.Returned, privacy.Approved, privacy.Published}
	if status != "" && !slices.Contains(statuses, status) {
		return fault.New(fault.Invalid, "there is no PIA status %q", clipValue(string(status)))
	}
	pias, err := w.deps.Privacy.PIAs(ctx, p, store.PIAFilter{Status: status})
	if err != nil {
		return err
	}
	ptas, err := w.deps.Privacy.PTAs(ctx, p, "")
	if err != nil {
		return err
	}
	who := w.person(r, p)
	loc := zoneOf(who)
	d := piasData{Filtered: status != "", Zone: loc.String()}
	d.Statuses = append(d.Statuses, filterChoice{Value: "", Title: "Any status", Selected: status == ""})
	for _, s := range statuses {
		d.Statuses = append(d.Statuses, filterChoice{Value: string(s), Title: piaStatusText(s), Selected: s == status})
	}
	for _, x := range pias {
		row := piaListRow{ID: x.ID, Title: x.Title, Component: x.Component, Status: piaStatusText(x.Status), SourceID: x.SourceID, Version: x.Version,
			Updated: localText(x.UpdatedAt, loc), AwaitsReview: x.Status == privacy.Submitted || x.Status == privacy.Accepted || x.Status == privacy.Approved,
			Returned: x.Status == privacy.Returned, InForce: "none", InForceNow: x.EffectiveVersion > 0}
		if x.EffectiveVersion > 0 {
			row.InForce = fmt.Sprintf("version %d, until %s", x.EffectiveVersion, dayText(x.EffectiveExpiresAt))
		}
		if !x.UpdateRequiredAt.IsZero() {
			row.UpdateRequired = fmt.Sprintf("since %s: %s", dayText(x.UpdateRequiredAt), x.UpdateReason)
		}
		d.PIAs = append(d.PIAs, row)
	}
	names := w.namer()
	for _, t := range ptas {
		d.PTAs = append(d.PTAs, w.ptaView(ctx, p, t, loc, names))
	}
	return w.render(rw, http.StatusOK, "pias", view{Title: "PTAs and PIAs", Person: who, Data: d})
}

// A PIA's page.

type piaStepRow struct {
	When, Action, Change, Actor, Comments, Refused string
	Version                                        int
}

type piaVersionRow struct {
	Number                        int
	Author, Note, Created, Digest string
	Current, InForce, Submitted   bool
}

type docSection struct {
	Key, Title, Prompt, Text string
}

type riskView struct {
	N                                          int
	Section, Description, Mitigation, Residual string
}

// piaAction is a workflow step the person may take now.
type piaAction struct {
	Step                     string
	Title, Button, Hint      string
	CommentsLabel            string
	CommentsRequired, Danger bool
	// Comments is what was typed, kept when the step was refused; Problem
	// why.
	Comments, Problem string
}

type piaPageData struct {
	ID                                  int64
	Title, Component, Status            string
	SourceID                            int64
	SourceName                          string
	Latest                              int
	InForce, Submitted, Approved        string
	UpdateRequired                      string
	Steps                               []piaStepRow
	Versions                            []piaVersionRow
	Actions                             []piaAction
	Shown                               int
	ShownNote, ShownAuthor, ShownDigest string
	Sections                            []docSection
	Authorities                         []string
	Risks                               []riskView
	DiffFrom, DiffTo                    int
	CSRF, Zone                          string
}

// piaSteps are the steps the pages offer, in workflow order. Recording a
// prior approval is left to the API and the command line.
var piaSteps = []piaAction{
	{Step: string(privacy.Submit), Title: "Submit for review", Button: "Submit the latest version",
		Hint: "Sends the latest version to the component privacy officer. Every section must be complete.", CommentsLabel: "Comments for the reviewer (optional)"},
	{Step: string(privacy.Accept), Title: "Forward to the Chief Privacy Officer", Button: "Forward for approval",
		Hint: "You reviewed the PIA for the component and send it to the department privacy office.", CommentsLabel: "Comments (optional)"},
	{Step: string(privacy.Return), Title: "Return to the authors", Button: "Return with comments", Danger: true, CommentsRequired: true,
		Hint: "The authors revise it and submit it again. Say what must change: at least 10 characters.", CommentsLabel: "What must change"},
	{Step: string(privacy.Approve), Title: "Approve", Button: "Approve the PIA",
		Hint: "Approves the submitted version for the approval period; it comes into force once published.", CommentsLabel: "Comments (optional)"},
	{Step: string(privacy.Publish), Title: "Publish", Button: "Publish the approved version",
		Hint: "The approved version comes into force: the data source may be used once nothing else is missing.", CommentsLabel: "Comments (optional)"},
}

var piaStepDone = map[string]string{
	string(privacy.Submit):  "The PIA is submitted for the component privacy officer's review.",
	string(privacy.Accept):  "The PIA is forwarded to the Chief Privacy Officer.",
	string(privacy.Return):  "The PIA is returned to its authors with your comments.",
	string(privacy.Approve): "The PIA is approved; it comes into force once published.",
	string(privacy.Publish): "The PIA is published and in force.",
}

func (w *Web) showPIA(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathInt(r, "id", "PIA")
	if err != nil {
		return err
	}
	flash := ""
	if msg, ok := piaStepDone[r.URL.Query().Get("done")]; ok {
		flash = msg + " This step is recorded in the ledger."
	}
	return w.piaPage(rw, r, p, id, http.StatusOK, flash, "", "", "")
}

// offeredSteps returns the steps p may take on pia now, as the workflow
// decides them with the authors of its current cycle.
func (w *Web) offeredSteps(ctx context.Context, p auth.Principal, pia privacy.PIA, versions []privacy.Version) []piaAction {
	if p.PersonID == 0 {
		return nil
	}
	var authors []int64
	for _, v := range versions {
		if v.Number >= pia.CycleStart && !slices.Contains(authors, v.AuthorID) {
			authors = append(authors, v.AuthorID)
		}
	}
	who := privacy.Actor{PersonID: p.PersonID, Name: p.Name, Write: p.CanIn(auth.PIAWrite, pia.Component),
		Review: p.CanIn(auth.PIAReview, pia.Component), Approve: p.CanIn(auth.PIAApprove, pia.Component)}
	chain := w.deps.Identity.Chain(ctx)
	var out []piaAction
	for _, a := range piaSteps {
		if _, err := privacy.Next(pia.Case(authors), privacy.Action(a.Step), who, chain); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// piaPage renders PIA id, with a flash message, or the step that was
// refused with why and the comments typed.
func (w *Web) piaPage(rw http.ResponseWriter, r *http.Request, p auth.Principal, id int64, status int, flash, failed, problem, comments string) error {
	ctx := r.Context()
	pia, err := w.deps.Privacy.PIA(ctx, p, id)
	if err != nil {
		return err
	}
	steps, err := w.deps.Privacy.Steps(ctx, p, id)
	if err != nil {
		return err
	}
	versions, err := w.deps.Privacy.Versions(ctx, p, id, false)
	if err != nil {
		return err
	}
	shown := pia.Version
	if s := r.URL.Query().Get("version"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > pia.Version {
			return fault.New(fault.NotFound, "PIA %d has no version %q; its versions are 1 to %d", id, clipValue(s), pia.Version)
		}
		shown = n
	}
	doc, err := w.deps.Privacy.Version(ctx, p, id, shown)
	if err != nil {
		return err
	}
	who := w.person(r, p)
	loc := zoneOf(who)
	names := w.namer()
	d := piaPageData{ID: pia.ID, Title: pia.Title, Component: pia.Component, Status: piaStatusText(pia.Status), SourceID: pia.SourceID,
		SourceName: fmt.Sprintf("data source %d", pia.SourceID), Latest: pia.Version, InForce: "no version is in force", Shown: shown,
		ShownNote: doc.Note, ShownAuthor: names.name(ctx, p, doc.AuthorID), ShownDigest: doc.Digest, CSRF: formToken(r), Zone: loc.String()}
	if src, err := w.deps.Privacy.Source(ctx, p, pia.SourceID); err == nil {
		d.SourceName = src.Name
	}
	if pia.EffectiveVersion > 0 {
		d.InForce = fmt.Sprintf("version %d, approved %s, published %s, until %s", pia.EffectiveVersion, dayText(pia.EffectiveApprovedAt), dayText(pia.EffectivePublishedAt), dayText(pia.EffectiveExpiresAt))
		if pia.EffectivePrior != "" {
			d.InForce = fmt.Sprintf("version %d, approved before Probity (%s), until %s", pia.EffectiveVersion, pia.EffectivePrior, dayText(pia.EffectiveExpiresAt))
		}
	}
	if pia.SubmittedVersion > 0 {
		d.Submitted = fmt.Sprintf("version %d, %s", pia.SubmittedVersion, localText(pia.SubmittedAt, loc))
	}
	if pia.ApprovedVersion > 0 && pia.Status == privacy.Approved {
		d.Approved = fmt.Sprintf("version %d, %s, until %s", pia.ApprovedVersion, localText(pia.ApprovedAt, loc), dayText(pia.ExpiresAt))
	}
	if !pia.UpdateRequiredAt.IsZero() {
		d.UpdateRequired = fmt.Sprintf("since %s: %s", dayText(pia.UpdateRequiredAt), pia.UpdateReason)
	}
	for _, st := range steps {
		change := piaStatusWord(st.To)
		if st.From != "" && st.From != st.To {
			change = piaStatusWord(st.From) + " → " + piaStatusWord(st.To)
		}
		d.Steps = append(d.Steps, piaStepRow{When: localText(st.At, loc), Action: piaActionText(st.Action), Change: change, Actor: st.Actor,
			Comments: st.Comments, Refused: st.Refused, Version: st.Version})
	}
	for _, v := range versions {
		d.Versions = append(d.Versions, piaVersionRow{Number: v.Number, Author: names.name(ctx, p, v.AuthorID), Note: v.Note, Created: localText(v.CreatedAt, loc),
			Digest: v.Digest, Current: v.Number == shown, InForce: v.Number == pia.EffectiveVersion,
			Submitted: v.Number == pia.SubmittedVersion && (pia.Status == privacy.Submitted || pia.Status == privacy.Accepted)})
	}
	d.DiffTo, d.DiffFrom = pia.Version, max(1, pia.Version-1)
	if pia.EffectiveVersion > 0 && pia.EffectiveVersion < pia.Version {
		d.DiffFrom = pia.EffectiveVersion
	}
	d.Sections, d.Authorities, d.Risks = documentView(doc.Document)
	for _, a := range w.offeredSteps(ctx, p, pia, versions) {
		if a.Step == failed {
			a.Comments, a.Problem = comments, problem
		}
		d.Actions = append(d.Actions, a)
	}
	var pageError string
	if problem != "" && !slices.ContainsFunc(d.Actions, func(a piaAction) bool { return a.Step == failed }) {
		pageError = problem
	}
	return w.render(rw, status, "pia", view{Title: pia.Title, Person: who, Flash: flash, Error: pageError, Data: d})
}

func piaStatusWord(s privacy.Status) string {
	if s == privacy.Accepted {
		return "forwarded"
	}
	return string(s)
}

func piaActionText(a privacy.Action) string {
	switch a {
	case privacy.Accept:
		return "forward"
	case privacy.RecordPrior:
		return "record a prior approval"
	}
	return string(a)
}

func documentView(doc privacy.Document) ([]docSection, []string, []riskView) {
	texts := map[string]string{"overview": doc.Overview, "characterization": doc.Characterization, "uses": doc.Uses, "notice": doc.Notice,
		"retention": doc.Retention, "sharing": doc.Sharing, "redress": doc.Redress, "auditing": doc.Auditing}
	var secs []docSection
	for _, s := range privacy.Sections() {
		secs = append(secs, docSection{Key: s.Key, Title: s.Title, Prompt: s.Prompt, Text: texts[s.Key]})
	}
	var risks []riskView
	for i, r := range doc.Risks {
		risks = append(risks, riskView{N: i + 1, Section: fieldTitle(r.Section), Description: r.Description, Mitigation: r.Mitigation, Residual: string(r.Residual)})
	}
	return secs, doc.LegalAuthorities, risks
}

// fieldTitle names a document field of a diff ("risks[1].mitigation")
// for people.
func fieldTitle(field string) string {
	if field == "legal_authorities" {
		return "Legal authorities"
	}
	for _, s := range privacy.Sections() {
		if s.Key == field {
			return s.Title
		}
	}
	if rest, ok := strings.CutPrefix(field, "risks["); ok {
		n, sub, _ := strings.Cut(rest, "]")
		i, err := strconv.Atoi(n)
		if err == nil {
			t := fmt.Sprintf("Risk %d", i+1)
			if sub = strings.TrimPrefix(sub, "."); sub != "" {
				t += ": " + sub
			}
			return t
		}
	}
	return field
}

// piaStep takes a workflow step on a PIA through the store, which decides
// whether this person may take it now and records it, or its refusal.
func (w *Web) piaStep(step privacy.Action) func(http.ResponseWriter, *http.Request, auth.Principal) error {
	return func(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
		if err := form(rw, r); err != nil {
			return err
		}
		if err := checkFormToken(r); err != nil {
			return err
		}
		id, err := pathInt(r, "id", "PIA")
		if err != nil {
			return err
		}
		comments := r.PostFormValue("comments")
		if _, err := w.deps.Privacy.Step(r.Context(), p, id, step, store.StepInput{Comments: comments}); err != nil {
			status, known := pageStatus[fault.CodeOf(err)]
			if !known || fault.Is(err, fault.NotFound) {
				return err
			}
			return w.piaPage(rw, r, p, id, status, "", string(step), fault.MessageOf(err), comments)
		}
		http.Redirect(rw, r, fmt.Sprintf("/pias/%d?done=%s", id, step), http.StatusSeeOther)
		return nil
	}
}

// The diff of two versions.

// A diffLine is one row of a unified diff.
type diffLine struct {
	Op, Sign, Word string // "kept"/"removed"/"added", " -+", words for screen readers
	Text           string
	Old, New       int // line numbers; 0 for none
}

// A diffPair is one row of a side-by-side diff.
type diffPair struct {
	Left, Right *diffLine
}

type diffField struct {
	Field, Title, Kind string
	Lines              []diffLine
	Pairs              []diffPair
}

type piaDiffData struct {
	ID               int64
	Title            string
	From, To, Latest int
	SideBySide       bool
	Fields           []diffField
	FromNote, ToNote string
	FromWhen, ToWhen string
	Versions         []int
}

func (w *Web) piaDiff(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	id, err := pathInt(r, "id", "PIA")
	if err != nil {
		return err
	}
	pia, err := w.deps.Privacy.PIA(ctx, p, id)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	num := func(name string, def int) (int, error) {
		s := q.Get(name)
		if s == "" {
			return def, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > pia.Version {
			return 0, fault.New(fault.Invalid, "%s must be a version of PIA %d, 1 to %d, not %q", name, id, pia.Version, clipValue(s))
		}
		return n, nil
	}
	from, err := num("from", max(1, pia.Version-1))
	if err != nil {
		return err
	}
	to, err := num("to", pia.Version)
	if err != nil {
		return err
	}
	mode := q.Get("view")
	if mode != "" && mode != "side" && mode != "unified" {
		return fault.New(fault.Invalid, "view is side or unified, not %q", clipValue(mode))
	}
	a, b, changes, err := w.deps.Privacy.Diff(ctx, p, id, from, to)
	if err != nil {
		return err
	}
	loc := zoneOf(w.person(r, p))
	d := piaDiffData{ID: id, Title: pia.Title, From: from, To: to, Latest: pia.Version, SideBySide: mode != "unified",
		FromNote: a.Note, ToNote: b.Note, FromWhen: localText(a.CreatedAt, loc), ToWhen: localText(b.CreatedAt, loc)}
	for n := 1; n <= pia.Version; n++ {
		d.Versions = append(d.Versions, n)
	}
	for _, c := range changes {
		f := diffField{Field: c.Field, Title: fieldTitle(c.Field), Kind: c.Kind}
		f.Lines = unifiedLines(c.Lines)
		f.Pairs = sideBySide(f.Lines)
		d.Fields = append(d.Fields, f)
	}
	return w.render(rw, http.StatusOK, "pia_diff", view{Title: fmt.Sprintf("%s: version %d against %d", pia.Title, to, from), Person: w.person(r, p), Data: d})
}

// unifiedLines numbers a line diff's lines on both sides.
func unifiedLines(ops []privacy.LineOp) []diffLine {
	out := make([]diffLine, 0, len(ops))
	old, new := 0, 0
	for _, o := range ops {
		l := diffLine{Text: o.Text, Sign: o.Op}
		switch o.Op {
		case "-":
			old++
			l.Op, l.Word, l.Old = "removed", "removed", old
		case "+":
			new++
			l.Op, l.Word, l.New = "added", "added", new
		default:
			old++
			new++
			l.Op, l.Word, l.Old, l.New, l.Sign = "kept", "unchanged", old, new, " "
		}
		out = append(out, l)
	}
	return out
}

// sideBySide pairs a unified diff's lines: kept lines face themselves, and
// each run of removed lines faces the run of added lines that follows it,
// line by line.
func sideBySide(lines []diffLine) []diffPair {
	var out []diffPair
	for i := 0; i < len(lines); {
		if lines[i].Op == "kept" {
			out = append(out, diffPair{Left: &lines[i], Right: &lines[i]})
			i++
			continue
		}
		var rem, add []*diffLine
		for ; i < len(lines) && lines[i].Op == "removed"; i++ {
			rem = append(rem, &lines[i])
		}
		for ; i < len(lines) && lines[i].Op == "added"; i++ {
			add = append(add, &lines[i])
		}
		for k := range max(len(rem), len(add)) {
			var pair diffPair
			if k < len(rem) {
				pair.Left = rem[k]
			}
			if k < len(add) {
				pair.Right = add[k]
			}
			out = append(out, pair)
		}
	}
	return out
}
