package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/policy"
	"github.com/probity-dev/probity/internal/store"
)

// policyRoutes are the policy sets: the sets in force and every version,
// a version's Cedar text in an editor to propose the next version (the
// store validates it and names every problem with its line and column),
// its impact analysis run in the background, and its workflow. Like the
// API's, the workflow routes are open to everyone who reads policies: the
// store decides who may take which step on the version's scope and
// records every refusal.
func (w *Web) policyRoutes() []Route {
	if w.deps.Policies == nil || w.deps.Policy == nil {
		return nil
	}
	w.analyses = newAnalyses()
	return []Route{
		{Method: "GET", Pattern: "/policies", Perm: auth.PolicyRead, Handler: w.listPolicies},
		{Method: "GET", Pattern: "/policies/new", Perm: auth.PolicyPropose, Handler: w.newPolicy},
		{Method: "POST", Pattern: "/policies", Perm: auth.PolicyPropose, Handler: w.proposePolicy},
		{Method: "GET", Pattern: "/policies/{id}", Perm: auth.PolicyRead, Handler: w.showPolicy},
		{Method: "GET", Pattern: "/policies/{id}/impact", Perm: auth.PolicyRead, Handler: w.policyImpact},
		{Method: "POST", Pattern: "/policies/{id}/impact", Perm: auth.PolicyRead, Handler: w.analysePolicy},
		{Method: "POST", Pattern: "/policies/{id}/approve", Perm: auth.PolicyRead, Handler: w.policyStep(policy.StepApprove)},
		{Method: "POST", Pattern: "/policies/{id}/activate", Perm: auth.PolicyRead, Handler: w.policyStep(policy.StepActivate)},
		{Method: "POST", Pattern: "/policies/{id}/reject", Perm: auth.PolicyRead, Handler: w.policyStep(policy.StepReject)},
	}
}

// holdsScope reports whether p holds perm for a scope: in the component
// for a component's set, department-wide for the department and default
// sets (as the store decides it).
func holdsScope(p auth.Principal, perm auth.Permission, scope string) bool {
	if policy.IsComponentScope(scope) {
		return p.CanIn(perm, scope)
	}
	_, all := p.Components(perm)
	return all
}

func policyActorOf(p auth.Principal, scope string) policy.Actor {
	return policy.Actor{ID: p.ID, PersonID: p.PersonID, Propose: holdsScope(p, auth.PolicyPropose, scope), Approve: holdsScope(p, auth.PolicyApprove, scope)}
}

// scopeTitle names a scope's set for people.
func scopeTitle(scope string) string {
	switch scope {
	case policy.Department:
		return "the department floor"
	case policy.DefaultComponent:
		return "the default component set"
	}
	return scope + "'s own set"
}

func policyStatusText(s policy.Status) string {
	switch s {
	case policy.Proposed:
		return "proposed: its impact analysis has not been run"
	case policy.Validated:
		return "validated: analysed, awaiting a department privacy officer's approval"
	case policy.Approved:
		return "approved: awaiting activation"
	case policy.Active:
		return "active: in force"
	case policy.Superseded:
		return "superseded"
	case policy.Rejected:
		return "rejected"
	}
	return string(s)
}

func limitsText(l *policy.Limits) string {
	if l == nil {
		return ""
	}
	court := "a device history needs no legal process on file"
	if l.CourtOrderRequired {
		court = "a device history needs legal process on file"
	}
	return fmt.Sprintf("areas up to %g km² and windows up to %d hours without pre-approval; %s", l.MaxAreaKM2, l.MaxWindowHours, court)
}

func versionID(r *http.Request) (int64, error) { return pathInt(r, "id", "policy set version") }

// The list.

type policySetRow struct {
	Scope, Title, Limits string
	ID                   int64
	Version              int
	Permits, Forbids     int
}

type policyVersionRow struct {
	ID                             int64
	Scope, Title, Status, Summary  string
	Version                        int
	ProposedBy, Proposed, Analysis string
	Open                           bool
}

type scopeChoice struct{ Scope, Title string }

type policiesData struct {
	Sets       []policySetRow
	Versions   []policyVersionRow
	Proposable []scopeChoice
	Zone       string
}

// readableSets returns the sets in force p may read, as the API lists
// them.
func (w *Web) readableSets(p auth.Principal) []*policy.Set {
	snap := w.deps.Policy.Snapshot()
	if snap == nil {
		return nil
	}
	var out []*policy.Set
	for _, s := range snap.Sets() {
		if policy.IsComponentScope(s.Scope) && !p.CanIn(auth.PolicyRead, s.Scope) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// proposableScopes returns the scopes p may propose versions of.
func (w *Web) proposableScopes(ctx context.Context, p auth.Principal) ([]scopeChoice, error) {
	var out []scopeChoice
	if holdsScope(p, auth.PolicyPropose, policy.Department) {
		out = append(out, scopeChoice{policy.Department, scopeTitle(policy.Department)}, scopeChoice{policy.DefaultComponent, scopeTitle(policy.DefaultComponent)})
	}
	comps, all := p.Components(auth.PolicyPropose)
	if all {
		cs, err := w.deps.Identity.Components(ctx)
		if err != nil {
			return nil, err
		}
		comps = comps[:0]
		for _, c := range cs {
			comps = append(comps, c.Code)
		}
	}
	slices.Sort(comps)
	for _, c := range slices.Compact(comps) {
		if policy.IsComponentScope(c) {
			out = append(out, scopeChoice{c, scopeTitle(c)})
		}
	}
	return out, nil
}

func analysisText(v policy.Version) string {
	s := v.ImpactSummary
	if s == nil {
		return "not analysed"
	}
	n := s.AllowToDeny + s.DenyToAllow + s.PoliciesChanged
	return fmt.Sprintf("%s of %s would change (%d days)", countText(n, "decision"), strconv.Itoa(s.Replayed), v.ImpactDays)
}

func (w *Web) listPolicies(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	vs, err := w.deps.Policies.Versions(ctx, p, "")
	if err != nil {
		return err
	}
	who := w.person(r, p)
	loc := zoneOf(who)
	d := policiesData{Zone: loc.String()}
	for _, s := range w.readableSets(p) {
		pe, fo := s.Counts()
		d.Sets = append(d.Sets, policySetRow{Scope: s.Scope, Title: scopeTitle(s.Scope), Limits: limitsText(s.Limits), ID: s.ID, Version: s.Version, Permits: pe, Forbids: fo})
	}
	for _, v := range vs {
		d.Versions = append(d.Versions, policyVersionRow{ID: v.ID, Scope: v.Scope, Title: scopeTitle(v.Scope), Status: policyStatusText(v.Status), Summary: v.Summary,
			Version: v.Version, ProposedBy: v.ProposedBy, Proposed: localText(v.ProposedAt, loc), Analysis: analysisText(v),
			Open: v.Status == policy.Proposed || v.Status == policy.Validated || v.Status == policy.Approved})
	}
	if d.Proposable, err = w.proposableScopes(ctx, p); err != nil {
		return err
	}
	return w.render(rw, http.StatusOK, "policies", view{Title: "Policies", Person: who, Data: d})
}

// A version's page, with the editor of the next version.

// A problemView is one problem of a proposed text, with the line it is
// on and a caret under the column.
type problemView struct {
	Line, Column      int
	PolicyID, Message string
	Excerpt, Caret    string
	// Gutter is as wide as the line number, for the caret's line.
	Gutter string
}

// policyEditor is the form of a new version.
type policyEditor struct {
	Scope, Title  string
	Text, Summary string
	// Base is the version the text started from, 0 for none.
	Base        int64
	BaseVersion int
	// Limits are the department floor's, kept from the active version.
	Limits string
	// Problems are what is wrong with the text; Problem is any other
	// reason the proposal was refused.
	Problems []problemView
	Problem  string
	// SummaryMissing marks the summary field.
	SummaryMissing bool
	// Note says where the text comes from.
	Note string
}

type policyRuleRow struct {
	ID, Effect, Reason string
	Line               int
}

type refusalRow struct {
	When, Step, Code, Reason, Actor string
}

// impactCounts are an impact analysis's counts.
type impactCounts struct {
	Days                                                       int
	Analysed, By                                               string
	Considered, Replayed, Unreadable                           int
	AllowToDeny, DenyToAllow, PoliciesChanged, Changed, Listed int
	Truncated                                                  bool
}

func impactCountsOf(v policy.Version) *impactCounts {
	s := v.ImpactSummary
	if s == nil {
		return nil
	}
	return &impactCounts{Days: v.ImpactDays, By: v.AnalysedBy, Considered: s.Considered, Replayed: s.Replayed, Unreadable: s.Unreadable,
		AllowToDeny: s.AllowToDeny, DenyToAllow: s.DenyToAllow, PoliciesChanged: s.PoliciesChanged,
		Changed: s.AllowToDeny + s.DenyToAllow + s.PoliciesChanged, Listed: s.Listed, Truncated: s.Truncated}
}

// policyAction is a workflow step the person may take now.
type policyAction struct {
	Step, Title, Button, Hint string
	// Reason is asked when rejecting.
	Reason         bool
	Danger         bool
	Typed, Problem string
}

type policyPageData struct {
	ID                            int64
	Scope, Title, Status, Summary string
	Version                       int
	Digest, Limits                string
	ProposedBy, Proposed          string
	Approved, Activated, Rejected string
	Text                          string
	Rules                         []policyRuleRow
	Refusals                      []refusalRow
	Impact                        *impactCounts
	Stale                         bool
	Analyse                       bool
	Days                          string
	AnalyseProblem                string
	Running                       string // a running analysis's job
	Actions                       []policyAction
	Editor                        *policyEditor
	CSRF, Zone                    string
}

var policyStepDone = map[string]string{
	"proposed":                  "Your proposal is stored as a new version and recorded in the ledger. Run its impact analysis next.",
	string(policy.StepApprove):  "The version is approved; a department privacy officer activates it.",
	string(policy.StepActivate): "The version is active: decisions are made under it from now on.",
	string(policy.StepReject):   "The version is rejected.",
}

func (w *Web) showPolicy(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := versionID(r)
	if err != nil {
		return err
	}
	flash := ""
	if msg, ok := policyStepDone[r.URL.Query().Get("done")]; ok {
		flash = msg
		if r.URL.Query().Get("done") != "proposed" {
			flash += " This step is recorded in the ledger."
		}
	}
	return w.policyPage(rw, r, p, id, http.StatusOK, flash, policyRefusal{}, nil)
}

// policyRefusal is a step that was refused: which, why, and what was
// typed.
type policyRefusal struct {
	step, problem, typed string
}

// activeID returns the ID of the version of scope in force, as the
// engine has it, 0 for none.
func activeID(snap *policy.Snapshot, scope string) int64 {
	if snap == nil {
		return 0
	}
	switch scope {
	case policy.Department:
		return snap.Department.ID
	case policy.DefaultComponent:
		return snap.Default.ID
	}
	if s := snap.Components[scope]; s != nil {
		return s.ID
	}
	return 0
}

// policyPage renders version id: with a flash message, a refused step,
// or the editor as it was posted.
func (w *Web) policyPage(rw http.ResponseWriter, r *http.Request, p auth.Principal, id int64, status int, flash string, refused policyRefusal, ed *policyEditor) error {
	ctx := r.Context()
	v, err := w.deps.Policies.Version(ctx, p, id)
	if err != nil {
		return err
	}
	refusals, err := w.deps.Policies.Refusals(ctx, p, id)
	if err != nil {
		return err
	}
	who := w.person(r, p)
	loc := zoneOf(who)
	d := policyPageData{ID: v.ID, Scope: v.Scope, Title: scopeTitle(v.Scope), Status: policyStatusText(v.Status), Summary: v.Summary, Version: v.Version,
		Digest: v.Digest, Limits: limitsText(v.Limits), ProposedBy: v.ProposedBy, Proposed: localText(v.ProposedAt, loc), Text: v.Text,
		Impact: impactCountsOf(v), Days: "30", CSRF: formToken(r), Zone: loc.String()}
	if d.Impact != nil {
		d.Impact.Analysed = localText(v.AnalysedAt, loc)
		d.Days = strconv.Itoa(v.ImpactDays)
		snap := w.deps.Policy.Snapshot()
		d.Stale = (v.Status == policy.Validated || v.Status == policy.Approved) && snap != nil &&
			(snap.Department.ID != v.BaseDepartment || activeID(snap, v.Scope) != v.BaseScope)
	}
	if !v.ApprovedAt.IsZero() {
		d.Approved = v.ApprovedBy + ", " + localText(v.ApprovedAt, loc)
	}
	if !v.ActivatedAt.IsZero() {
		d.Activated = v.ActivatedBy + ", " + localText(v.ActivatedAt, loc)
	}
	if !v.RejectedAt.IsZero() {
		d.Rejected = fmt.Sprintf("%s, %s: %s", v.RejectedBy, localText(v.RejectedAt, loc), v.RejectReason)
	}
	if set, err := policy.Compile(v.Scope, v.Text, v.Limits); err == nil {
		for _, pl := range set.Policies {
			d.Rules = append(d.Rules, policyRuleRow{ID: pl.ID, Effect: pl.Effect, Reason: pl.Reason, Line: pl.Line})
		}
	}
	for _, rf := range refusals {
		d.Refusals = append(d.Refusals, refusalRow{When: localText(rf.At, loc), Step: string(rf.Step), Code: strings.ReplaceAll(rf.Code, "_", " "), Reason: rf.Reason, Actor: rf.Actor})
	}
	actor := policyActorOf(p, v.Scope)
	if _, err := policy.Next(v, policy.StepAnalyse, actor); err == nil {
		d.Analyse = true
	}
	if j := w.analyses.running(v.ID); j != nil {
		d.Running = j.id
	}
	if refused.step == string(policy.StepAnalyse) {
		d.AnalyseProblem, d.Days = refused.problem, refused.typed
	}
	for _, a := range []policyAction{
		{Step: string(policy.StepApprove), Title: "Approve", Button: "Approve this version",
			Hint: "You reviewed the text and its impact analysis. Nobody approves their own proposal."},
		{Step: string(policy.StepActivate), Title: "Activate", Button: "Activate this version",
			Hint: "It replaces the version in force; decisions are made under it at once."},
		{Step: string(policy.StepReject), Title: "Reject", Button: "Reject this version", Reason: true, Danger: true,
			Hint: "Ends this version before it comes into force (its proposer may withdraw it so). Say why."},
	} {
		if _, err := policy.Next(v, policy.Step(a.Step), actor); err != nil {
			continue
		}
		if a.Step == refused.step {
			a.Typed, a.Problem = refused.typed, refused.problem
		}
		d.Actions = append(d.Actions, a)
	}
	var pageError string
	if refused.problem != "" && refused.step != string(policy.StepAnalyse) && !slices.ContainsFunc(d.Actions, func(a policyAction) bool { return a.Step == refused.step }) {
		pageError = refused.problem
	}
	if refused.problem != "" && refused.step == string(policy.StepAnalyse) && !d.Analyse {
		pageError = refused.problem
	}
	switch {
	case ed != nil:
		d.Editor = ed
	case holdsScope(p, auth.PolicyPropose, v.Scope):
		d.Editor = w.editorFor(v.Scope, v.Text, v.ID, v.Version, v.Limits)
		d.Editor.Note = fmt.Sprintf("The text of version %d. Change it and propose it as a new version of %s.", v.Version, scopeTitle(v.Scope))
	}
	return w.render(rw, status, "policy", view{Title: fmt.Sprintf("Version %d of %s", v.Version, scopeTitle(v.Scope)), Person: who, Flash: flash, Error: pageError, Data: d})
}

func (w *Web) editorFor(scope, text string, base int64, baseVersion int, limits *policy.Limits) *policyEditor {
	ed := &policyEditor{Scope: scope, Title: scopeTitle(scope), Text: text, Base: base, BaseVersion: baseVersion}
	if scope == policy.Department {
		if snap := w.deps.Policy.Snapshot(); snap != nil && snap.Department.Limits != nil {
			limits = snap.Department.Limits
		}
		ed.Limits = limitsText(limits)
	}
	return ed
}

// The editor of a new version, from the text in force.

func (w *Web) newPolicy(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	scope := r.URL.Query().Get("scope")
	if err := policy.CheckScope(scope); err != nil {
		return err
	}
	if !holdsScope(p, auth.PolicyPropose, scope) {
		return fault.New(fault.Forbidden, "you may not propose versions of %s", scopeTitle(scope))
	}
	var ed *policyEditor
	snap := w.deps.Policy.Snapshot()
	switch {
	case snap == nil:
		return fault.New(fault.Unavailable, "the policies in force are not loaded")
	case policy.IsComponentScope(scope) && snap.Components[scope] == nil:
		ed = w.editorFor(scope, snap.Default.Text, 0, 0, nil)
		ed.Note = fmt.Sprintf("%s has no set of its own: the default component set (version %d) governs it. This starts from that set's text.", scope, snap.Default.Version)
	default:
		var set *policy.Set
		switch scope {
		case policy.Department:
			set = snap.Department
		case policy.DefaultComponent:
			set = snap.Default
		default:
			set = snap.Components[scope]
		}
		ed = w.editorFor(scope, set.Text, set.ID, set.Version, set.Limits)
		ed.Note = fmt.Sprintf("The text of version %d, in force.", set.Version)
	}
	return w.render(rw, http.StatusOK, "policy", view{Title: "Propose a new version of " + scopeTitle(scope), Person: w.person(r, p),
		Data: policyPageData{Scope: scope, Title: scopeTitle(scope), Editor: ed, CSRF: formToken(r)}})
}

// maxPolicyForm bounds a posted proposal: the longest text,
// percent-encoded, and room for the summary.
const maxPolicyForm = 3*policy.MaxTextSize + 32<<10

// problemViews places each problem on its line of text.
func problemViews(text string, ps []policy.Problem) []problemView {
	lines := strings.Split(text, "\n")
	out := make([]problemView, 0, len(ps))
	for _, pr := range ps {
		v := problemView{Line: pr.Line, Column: pr.Column, PolicyID: pr.PolicyID, Message: pr.Message}
		if pr.Line >= 1 && pr.Line <= len(lines) {
			v.Excerpt = lines[pr.Line-1]
			var caret strings.Builder
			col := 1
			for _, c := range v.Excerpt {
				if col >= pr.Column {
					break
				}
				if c == '\t' {
					caret.WriteRune('\t')
				} else {
					caret.WriteRune(' ')
				}
				col++
			}
			v.Caret = caret.String() + "^"
			v.Gutter = strings.Repeat(" ", len(strconv.Itoa(pr.Line)))
		}
		out = append(out, v)
	}
	return out
}

func (w *Web) proposePolicy(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := formOf(rw, r, maxPolicyForm); err != nil {
		return err
	}
	if err := checkFormToken(r); err != nil {
		return err
	}
	// Browsers send a text area's lines ending in CR LF.
	text := strings.ReplaceAll(r.PostFormValue("text"), "\r\n", "\n")
	scope, summary := r.PostFormValue("scope"), r.PostFormValue("summary")
	var base int64
	if s := r.PostFormValue("base"); s != "" {
		var err error
		if base, err = strconv.ParseInt(s, 10, 64); err != nil || base < 0 {
			return fault.New(fault.Invalid, "the form was altered")
		}
	}
	v, err := w.deps.Policies.Propose(r.Context(), p, store.Proposal{Scope: scope, Text: text, Summary: summary})
	if err == nil {
		http.Redirect(rw, r, fmt.Sprintf("/policies/%d?done=proposed", v.ID), http.StatusSeeOther)
		return nil
	}
	if !fault.Is(err, fault.Invalid) || policy.CheckScope(scope) != nil {
		return err
	}
	ed := w.editorFor(scope, text, base, 0, nil)
	ed.Summary = summary
	if ie, ok := errors.AsType[*policy.InvalidError](err); ok {
		ed.Problems = problemViews(text, ie.Problems)
	} else {
		ed.Problem = fault.MessageOf(err)
		ed.SummaryMissing = strings.TrimSpace(summary) == "" || utf8.RuneCountInString(summary) > 2000
	}
	if base != 0 {
		if bv, berr := w.deps.Policies.Version(r.Context(), p, base); berr == nil && bv.Scope == scope {
			ed.BaseVersion = bv.Version
			ed.Note = fmt.Sprintf("Started from version %d; nothing was stored.", bv.Version)
			return w.policyPage(rw, r, p, base, http.StatusBadRequest, "", policyRefusal{}, ed)
		}
		ed.Base = 0
	}
	ed.Note = "Nothing was stored."
	return w.render(rw, http.StatusBadRequest, "policy", view{Title: "Propose a new version of " + scopeTitle(scope), Person: w.person(r, p),
		Data: policyPageData{Scope: scope, Title: scopeTitle(scope), Editor: ed, CSRF: formToken(r)}})
}

// The workflow.

// policyStep approves, activates or rejects a version through the store,
// which decides whether this person may, and records the step or its
// refusal.
func (w *Web) policyStep(step policy.Step) func(http.ResponseWriter, *http.Request, auth.Principal) error {
	return func(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
		if err := form(rw, r); err != nil {
			return err
		}
		if err := checkFormToken(r); err != nil {
			return err
		}
		id, err := versionID(r)
		if err != nil {
			return err
		}
		ctx := r.Context()
		reason := r.PostFormValue("reason")
		switch step {
		case policy.StepApprove:
			_, err = w.deps.Policies.Approve(ctx, p, id)
		case policy.StepActivate:
			if _, err = w.deps.Policies.Activate(ctx, p, id); err == nil {
				// Decide under the new set from the next request on; other
				// replicas reload within their interval.
				if lerr := w.deps.Policy.Load(ctx); lerr != nil {
					w.deps.Logger.Error("reload policy sets after an activation", "err", lerr)
				}
			}
		case policy.StepReject:
			_, err = w.deps.Policies.Reject(ctx, p, id, reason)
		}
		if err != nil {
			status, known := pageStatus[fault.CodeOf(err)]
			if !known || fault.Is(err, fault.NotFound) {
				return err
			}
			return w.policyPage(rw, r, p, id, status, "", policyRefusal{step: string(step), problem: fault.MessageOf(err), typed: reason}, nil)
		}
		http.Redirect(rw, r, fmt.Sprintf("/policies/%d?done=%s", id, step), http.StatusSeeOther)
		return nil
	}
}
