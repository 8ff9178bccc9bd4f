package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/policy"
	"github.com/probity-dev/probity/internal/store"
)

// policyRoutes are the policy routes: the schema, the sets in force, every
// version with its workflow and impact analysis, and a dry run. Workflow
// steps are routed to everyone who reads policies: the store decides who
// may take which step on the version's scope, and records every refusal in
// the ledger.
func (a *API) policyRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/policy/schema", Perm: auth.PolicyRead, Handler: a.policySchema},
		{Method: "GET", Pattern: "/api/v1/policy/sets", Perm: auth.PolicyRead, Handler: a.policySets},
		{Method: "GET", Pattern: "/api/v1/policy/versions", Perm: auth.PolicyRead, Handler: a.policyVersions},
		{Method: "POST", Pattern: "/api/v1/policy/versions", Perm: auth.PolicyPropose, Handler: a.proposePolicy},
		{Method: "GET", Pattern: "/api/v1/policy/versions/{id}", Perm: auth.PolicyRead, Handler: a.policyVersion},
		{Method: "GET", Pattern: "/api/v1/policy/versions/{id}/impact", Perm: auth.PolicyRead, Handler: a.policyImpact},
		{Method: "POST", Pattern: "/api/v1/policy/versions/{id}/impact", Perm: auth.PolicyRead, Handler: a.analysePolicy},
		{Method: "POST", Pattern: "/api/v1/policy/versions/{id}/approve", Perm: auth.PolicyRead, Handler: a.policyStep(policy.StepApprove)},
		{Method: "POST", Pattern: "/api/v1/policy/versions/{id}/activate", Perm: auth.PolicyRead, Handler: a.policyStep(policy.StepActivate)},
		{Method: "POST", Pattern: "/api/v1/policy/versions/{id}/reject", Perm: auth.PolicyRead, Handler: a.policyStep(policy.StepReject)},
		{Method: "POST", Pattern: "/api/v1/policy/decide", Perm: auth.PolicyTest, Handler: a.decidePolicy},
	}
}

// policyVersionJSON is a policy set version as the API shows it.
type policyVersionJSON struct {
	ID           int64                 `json:"id"`
	Scope        string                `json:"scope"`
	Version      int                   `json:"version"`
	Status       policy.Status         `json:"status"`
	Summary      string                `json:"summary"`
	Digest       string                `json:"digest"`
	Permits      int                   `json:"permits"`
	Forbids      int                   `json:"forbids"`
	Limits       *policy.Limits        `json:"limits,omitempty"`
	ProposedBy   string                `json:"proposed_by"`
	ProposedAt   time.Time             `json:"proposed_at"`
	AnalysedBy   string                `json:"analysed_by,omitempty"`
	AnalysedAt   *time.Time            `json:"analysed_at,omitempty"`
	ImpactDays   int                   `json:"impact_days,omitempty"`
	Impact       *policy.ImpactSummary `json:"impact,omitempty"`
	ApprovedBy   string                `json:"approved_by,omitempty"`
	ApprovedAt   *time.Time            `json:"approved_at,omitempty"`
	ActivatedBy  string                `json:"activated_by,omitempty"`
	ActivatedAt  *time.Time            `json:"activated_at,omitempty"`
	SupersededAt *time.Time            `json:"superseded_at,omitempty"`
	RejectedBy   string                `json:"rejected_by,omitempty"`
	RejectedAt   *time.Time            `json:"rejected_at,omitempty"`
	RejectReason string                `json:"reject_reason,omitempty"`
	// Only on a single version:
	Text     string            `json:"text,omitempty"`
	Policies []policyJSON      `json:"policies,omitempty"`
	Refusals []policyRefusJSON `json:"refusals,omitempty"`
}

type policyJSON struct {
	ID     string `json:"id"`
	Effect string `json:"effect"`
	Reason string `json:"reason"`
	Line   int    `json:"line"`
}

type policyRefusJSON struct {
	Step   policy.Step   `json:"step"`
	Status policy.Status `json:"status"`
	Code   string        `json:"code"`
	Reason string        `json:"reason"`
	Actor  string        `json:"actor"`
	At     time.Time     `json:"at"`
}

func toPolicyVersionJSON(v policy.Version) policyVersionJSON {
	return policyVersionJSON{ID: v.ID, Scope: v.Scope, Version: v.Version, Status: v.Status, Summary: v.Summary, Digest: v.Digest,
		Permits: v.Permits, Forbids: v.Forbids, Limits: v.Limits, ProposedBy: v.ProposedBy, ProposedAt: v.ProposedAt,
		AnalysedBy: v.AnalysedBy, AnalysedAt: timePtr(v.AnalysedAt), ImpactDays: v.ImpactDays, Impact: v.ImpactSummary,
		ApprovedBy: v.ApprovedBy, ApprovedAt: timePtr(v.ApprovedAt), ActivatedBy: v.ActivatedBy, ActivatedAt: timePtr(v.ActivatedAt),
		SupersededAt: timePtr(v.SupersededAt), RejectedBy: v.RejectedBy, RejectedAt: timePtr(v.RejectedAt), RejectReason: v.RejectReason}
}

// writeInvalidPolicy answers a policy text that does not compile: 400 with
// every problem and where it is.
func writeInvalidPolicy(w http.ResponseWriter, err error) (bool, error) {
	ie, ok := errors.AsType[*policy.InvalidError](err)
	if !ok {
		return false, nil
	}
	return true, writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
		"code": string(fault.Invalid), "message": ie.Error(), "problems": ie.Problems,
	}})
}

func (a *API) policySchema(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write([]byte(policy.SchemaText))
	return err
}

func (a *API) policySets(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	snap := a.deps.Policy.Snapshot()
	if snap == nil {
		return fault.New(fault.Unavailable, "the policies in force are not loaded")
	}
	type setJSON struct {
		Scope   string         `json:"scope"`
		Version int            `json:"version"`
		ID      int64          `json:"id"`
		Permits int            `json:"permits"`
		Forbids int            `json:"forbids"`
		Limits  *policy.Limits `json:"limits,omitempty"`
	}
	out := []setJSON{}
	for _, s := range snap.Sets() {
		if policy.IsComponentScope(s.Scope) && !by.CanIn(auth.PolicyRead, s.Scope) {
			continue
		}
		p, f := s.Counts()
		out = append(out, setJSON{Scope: s.Scope, Version: s.Version, ID: s.ID, Permits: p, Forbids: f, Limits: s.Limits})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"sets": out})
}

func (a *API) policyVersions(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	vs, err := a.deps.Policies.Versions(r.Context(), by, r.URL.Query().Get("scope"))
	if err != nil {
		return err
	}
	out := make([]policyVersionJSON, len(vs))
	for i, v := range vs {
		out[i] = toPolicyVersionJSON(v)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"versions": out})
}

func (a *API) proposePolicy(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body struct {
		Scope   string         `json:"scope"`
		Text    string         `json:"text"`
		Limits  *policy.Limits `json:"limits"`
		Summary string         `json:"summary"`
	}
	if err := decodePolicyBody(w, r, &body); err != nil {
		return err
	}
	v, err := a.deps.Policies.Propose(r.Context(), by, store.Proposal{Scope: body.Scope, Text: body.Text, Limits: body.Limits, Summary: body.Summary})
	if done, werr := writeInvalidPolicy(w, err); done {
		return werr
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toPolicyVersionJSON(v))
}

// maxPolicyBody is the largest policy request body: the text and some.
const maxPolicyBody = policy.MaxTextSize + 16<<10

// decodePolicyBody is decodeJSON with room for a policy set's text.
func decodePolicyBody(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeJSONLimit(w, r, v, maxPolicyBody)
}

func (a *API) policyVersion(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := a.deps.Policies.Version(r.Context(), by, id)
	if err != nil {
		return err
	}
	out := toPolicyVersionJSON(v)
	out.Text = v.Text
	if set, err := policy.Compile(v.Scope, v.Text, v.Limits); err == nil {
		for _, p := range set.Policies {
			out.Policies = append(out.Policies, policyJSON{ID: p.ID, Effect: p.Effect, Reason: p.Reason, Line: p.Line})
		}
	}
	refusals, err := a.deps.Policies.Refusals(r.Context(), by, id)
	if err != nil {
		return err
	}
	for _, rf := range refusals {
		out.Refusals = append(out.Refusals, policyRefusJSON{Step: rf.Step, Status: rf.Status, Code: rf.Code, Reason: rf.Reason, Actor: rf.Actor, At: rf.At})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) policyImpact(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	im, err := a.deps.Policies.Impact(r.Context(), by, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, im)
}

func (a *API) analysePolicy(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		Days int `json:"days"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &body); err != nil {
			return err
		}
	}
	if body.Days == 0 {
		body.Days = 30
	}
	// Compare against what is active now, not what this replica loaded
	// some seconds ago.
	if err := a.deps.Policy.Load(r.Context()); err != nil {
		return fault.Wrap(err, fault.Unavailable, "the policies in force could not be loaded")
	}
	v, im, err := a.deps.Policies.Analyse(r.Context(), by, id, body.Days, a.deps.Policy.Snapshot())
	if err != nil {
		return err
	}
	sum := im.Summary(store.MaxListedChanges)
	return writeJSON(w, http.StatusOK, map[string]any{"version": toPolicyVersionJSON(v), "impact": sum, "changes": firstChanges(im.Changes, 100)})
}

func firstChanges(cs []policy.Change, n int) []policy.Change {
	if cs == nil {
		return []policy.Change{}
	}
	return cs[:min(len(cs), n)]
}

func (a *API) policyStep(step policy.Step) func(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var v policy.Version
		switch step {
		case policy.StepApprove:
			v, err = a.deps.Policies.Approve(r.Context(), by, id)
		case policy.StepActivate:
			v, err = a.deps.Policies.Activate(r.Context(), by, id)
			if err == nil {
				// Decide under the new set from the next request on; other
				// replicas reload within their interval.
				if lerr := a.deps.Policy.Load(r.Context()); lerr != nil {
					a.deps.Logger.Error("reload policy sets after an activation", "err", lerr)
				}
			}
		case policy.StepReject:
			var body struct {
				Reason string `json:"reason"`
			}
			if err := decodeJSON(w, r, &body); err != nil {
				return err
			}
			v, err = a.deps.Policies.Reject(r.Context(), by, id, body.Reason)
		}
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, toPolicyVersionJSON(v))
	}
}

// decidePolicy decides a hypothetical request, under the sets in force or
// with a version (proposed, say) in place of its scope's set. Nothing is
// recorded: it decides nothing real.
func (a *API) decidePolicy(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body struct {
		policy.Request
		VersionID int64 `json:"version_id"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if !by.CanIn(auth.PolicyTest, body.Principal.Component) {
		return fault.New(fault.Forbidden, "you may test requests of people of your own component only")
	}
	snap := a.deps.Policy.Snapshot()
	if snap == nil {
		return fault.New(fault.Unavailable, "the policies in force are not loaded")
	}
	if body.VersionID != 0 {
		v, err := a.deps.Policies.Version(r.Context(), by, body.VersionID)
		if err != nil {
			return err
		}
		set, err := policy.Compile(v.Scope, v.Text, v.Limits)
		if err != nil {
			return fault.Wrap(err, fault.Conflict, "version %d of %s does not compile", v.Version, v.Scope)
		}
		set.ID, set.Version = v.ID, v.Version
		snap = snap.With(set)
	}
	in, err := body.Request.Input()
	if err != nil {
		return fault.Wrap(err, fault.Invalid, "the request cannot be decided: %v", err)
	}
	d := snap.Decide(in)
	return writeJSON(w, http.StatusOK, map[string]any{
		"allowed": d.Allowed, "reasons": d.Reasons(), "policies": d.PolicyIDs(), "determining": d.Determining, "errors": d.Errors,
		"refusal": d.Refusal, "department": d.Department, "component": d.Component,
	})
}
