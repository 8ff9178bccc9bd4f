package access

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/settings"
	"github.com/probity-dev/probity/internal/store"
)

// Decide records an approver's decision on a query awaiting approval. A
// supervisor above the requester in their chain approves as supervisor; a
// component privacy officer of the requester's component approves as
// privacy officer (critical queries need both). Nobody decides on their
// own request or on one from someone above them in their chain. A
// rejection needs a reason and ends the query; once every required
// approval is in, the query is approved and its requester may run it.
func (s *Service) Decide(ctx context.Context, by auth.Principal, id int64, approve bool, reason string) (store.QueryRecord, error) {
	var rec store.QueryRecord
	if by.Kind != ledger.ActorUser || by.PersonID == 0 || !by.Can(auth.ApprovalsDecide) {
		return rec, fault.New(fault.Forbidden, "your roles do not include approving queries")
	}
	reason = strings.TrimSpace(reason)
	if !approve && utf8.RuneCountInString(reason) < 10 {
		return rec, fault.New(fault.Invalid, "reason: say why the query is rejected, in at least 10 characters")
	}
	if utf8.RuneCountInString(reason) > 2000 || !utf8.ValidString(reason) {
		return rec, fault.New(fault.Invalid, "reason: at most 2000 characters of text")
	}
	chain := s.d.Identity.Chain(ctx)
	err := s.d.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		if rec, err = s.d.Queries.Get(ctx, tx, id, true); err != nil {
			return err
		}
		if !s.maySee(ctx, by, rec) {
			return fault.New(fault.NotFound, "there is no query %d you may see", id)
		}
		have, err := s.d.Queries.Approvals(ctx, tx, id)
		if err != nil {
			return err
		}
		capacity, err := capacityOf(by, rec, chain, have)
		if err != nil {
			return err
		}
		required := requiredCapacities(rec.Tier)
		a := store.Approval{QueryID: id, PersonID: by.PersonID, EmployeeID: by.ID, Capacity: capacity, Decision: "approved", Reason: reason}
		if !approve {
			a.Decision = "rejected"
		}
		if err := s.d.Queries.AddApproval(ctx, tx, &a); err != nil {
			return err
		}
		have = append(have, a)
		typ := "query.approval_given"
		switch {
		case !approve:
			rec.Status, rec.Reasons, typ = query.Rejected, []string{"rejected by " + by.ID + ": " + reason}, "query.rejected"
		case allApproved(have, required):
			rec.Status, typ = query.Approved, "query.approved"
		}
		if rec.Status != query.AwaitingApproval {
			if err := s.d.Queries.Update(ctx, tx, &rec, query.AwaitingApproval); err != nil {
				return err
			}
		}
		_, err = s.append(ctx, tx, by, typ, &rec, map[string]any{"capacity": capacity, "decision": a.Decision, "reason": reason}, "")
		return err
	})
	return rec, err
}

// capacityOf returns the capacity in which by decides on rec, given the
// decisions already in, or why by may not.
func capacityOf(by auth.Principal, rec store.QueryRecord, chain identity.Chain, have []store.Approval) (string, error) {
	switch {
	case rec.PersonID == by.PersonID:
		return "", fault.New(fault.Forbidden, "nobody approves their own query")
	case identity.IsAbove(chain, rec.PersonID, by.PersonID):
		return "", fault.New(fault.Forbidden, "nobody approves a query of someone above them in their chain")
	case rec.Status != query.AwaitingApproval:
		return "", fault.New(fault.Conflict, "query %d is %s, not awaiting approval", rec.ID, strings.ReplaceAll(string(rec.Status), "_", " "))
	case by.HasRole(auth.Supervisor) && identity.IsAbove(chain, by.PersonID, rec.PersonID) && !hasDecision(have, capSupervisor):
		return capSupervisor, nil
	case slices.Contains(requiredCapacities(rec.Tier), capPrivacy) && by.CanIn(auth.ApprovalsDecide, rec.Component) && holdsIn(by, auth.ComponentPrivacyOfficer, rec.Component) && !hasDecision(have, capPrivacy):
		return capPrivacy, nil
	}
	return "", fault.New(fault.Forbidden, "query %d needs approval by %s; you are not one of them, or your decision is already in", rec.ID, approversText(rec.Tier))
}

// Awaiting returns the queries waiting for by's decision, oldest first.
func (s *Service) Awaiting(ctx context.Context, by auth.Principal) ([]store.QueryRecord, error) {
	if by.Kind != ledger.ActorUser || by.PersonID == 0 || !by.Can(auth.ApprovalsDecide) {
		return []store.QueryRecord{}, nil
	}
	qs, err := s.List(ctx, by, true, store.QueryFilter{Status: query.AwaitingApproval})
	if err != nil {
		return nil, err
	}
	chain := s.d.Identity.Chain(ctx)
	out := []store.QueryRecord{}
	for _, q := range slices.Backward(qs) {
		have, err := s.d.Queries.Approvals(ctx, nil, q.ID)
		if err != nil {
			return nil, err
		}
		if _, err := capacityOf(by, q, chain, have); err == nil {
			out = append(out, q)
		}
	}
	return out, nil
}

// MayDecide reports whether by may now approve or reject query id.
func (s *Service) MayDecide(ctx context.Context, by auth.Principal, id int64) bool {
	if by.Kind != ledger.ActorUser || by.PersonID == 0 || !by.Can(auth.ApprovalsDecide) {
		return false
	}
	rec, err := s.d.Queries.Get(ctx, nil, id, false)
	if err != nil || !s.maySee(ctx, by, rec) {
		return false
	}
	have, err := s.d.Queries.Approvals(ctx, nil, id)
	if err != nil {
		return false
	}
	_, err = capacityOf(by, rec, s.d.Identity.Chain(ctx), have)
	return err == nil
}

func holdsIn(p auth.Principal, r auth.Role, component string) bool {
	return slices.ContainsFunc(p.Grants, func(g auth.Grant) bool { return g.Role == r && (g.Component == component || g.Component == "") })
}

func hasDecision(as []store.Approval, capacity string) bool {
	return slices.ContainsFunc(as, func(a store.Approval) bool { return a.Capacity == capacity })
}

func allApproved(as []store.Approval, required []string) bool {
	for _, c := range required {
		if !slices.ContainsFunc(as, func(a store.Approval) bool { return a.Capacity == c && a.Decision == "approved" }) {
			return false
		}
	}
	return true
}

// Run runs an approved query for its requester, after checking
// everything again (the account, the gate, the case, the policy): what
// was approved is the request, not a pass around later changes. An
// approval not used within its validity expires.
func (s *Service) Run(ctx context.Context, by auth.Principal, id int64) (Outcome, error) {
	rec, err := s.d.Queries.Get(ctx, nil, id, false)
	if err != nil {
		return Outcome{}, err
	}
	if rec.PersonID != by.PersonID || by.Kind != ledger.ActorUser {
		return Outcome{}, fault.New(fault.Forbidden, "only the requester runs their approved query")
	}
	if rec.Status != query.Approved {
		return Outcome{}, fault.New(fault.Conflict, "query %d is %s; only an approved query runs", id, strings.ReplaceAll(string(rec.Status), "_", " "))
	}
	approvals, err := s.d.Queries.Approvals(ctx, nil, id)
	if err != nil {
		return Outcome{}, err
	}
	if len(approvals) > 0 && s.d.DB.Now().Sub(approvals[len(approvals)-1].DecidedAt) > s.d.ApprovalValidity {
		rec.Status, rec.Reasons = query.Expired, []string{"the approval was not used within " + s.d.ApprovalValidity.String()}
		err := s.d.DB.Update(ctx, func(tx *store.Tx) error {
			if err := s.d.Queries.Update(ctx, tx, &rec, query.Approved); err != nil {
				return err
			}
			_, err := s.append(ctx, tx, by, "query.expired", &rec, nil, "")
			return err
		})
		if err != nil {
			return Outcome{}, err
		}
		return Outcome{Query: rec}, fault.New(fault.Precondition, "query %d's approval expired (approvals are valid for %s); submit it again", id, s.d.ApprovalValidity)
	}
	var r query.Request
	if err := json.Unmarshal(rec.Request, &r); err != nil {
		return Outcome{}, fault.Wrap(err, fault.Internal, "query %d's stored request cannot be read", id)
	}
	f, rf := s.gather(ctx, by, r)
	if rf == nil {
		var risk query.Risk
		if risk, rf = s.assess(ctx, by, f); rf == nil {
			dec, in := s.decide(by, f, risk.Flags, true, false)
			if dec.Allowed {
				return s.execute(ctx, by, rec, f, dec, in, approvals)
			}
			rf = refuse("policy", decisionReasons(dec)...)
		}
	}
	// Refused now: record it on the approved query.
	rec.Status, rec.Reasons = query.Refused, rf.reasons
	err = s.d.DB.Update(ctx, func(tx *store.Tx) error {
		if err := s.d.Queries.Update(ctx, tx, &rec, query.Approved); err != nil {
			return err
		}
		_, err := s.append(ctx, tx, by, "query.refused", &rec, map[string]any{"stage": rf.stage, "reasons": rf.reasons}, "")
		return err
	})
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Query: rec}, fault.New(fault.Forbidden, "query %d refused: %s", id, strings.Join(rf.reasons, "; "))
}

// Get returns a query with its approvals, to those who may see it: its
// requester, supervisors above them, privacy officers and auditors of its
// component, and department-wide ones.
func (s *Service) Get(ctx context.Context, by auth.Principal, id int64) (store.QueryRecord, []store.Approval, error) {
	rec, err := s.d.Queries.Get(ctx, nil, id, false)
	if err != nil {
		return rec, nil, err
	}
	if !s.maySee(ctx, by, rec) {
		return store.QueryRecord{}, nil, fault.New(fault.NotFound, "there is no query %d you may see", id)
	}
	as, err := s.d.Queries.Approvals(ctx, nil, id)
	return rec, as, err
}

func (s *Service) maySee(ctx context.Context, by auth.Principal, rec store.QueryRecord) bool {
	switch {
	case by.PersonID != 0 && rec.PersonID == by.PersonID:
		return true
	case holdsIn(by, auth.Auditor, rec.Component):
		return true
	case holdsIn(by, auth.ComponentPrivacyOfficer, rec.Component) || by.HasRole(auth.DepartmentPrivacyOfficer):
		return true
	case by.HasRole(auth.Supervisor) && by.PersonID != 0:
		return identity.IsAbove(s.d.Identity.Chain(ctx), by.PersonID, rec.PersonID)
	}
	return false
}

// List returns the queries by may see: their own, or with all set those
// of the components they oversee (privacy officers, auditors) or of the
// people below them (supervisors).
func (s *Service) List(ctx context.Context, by auth.Principal, all bool, f store.QueryFilter) ([]store.QueryRecord, error) {
	if !all {
		f.PersonID, f.AllComps = by.PersonID, true
		if by.PersonID == 0 {
			return []store.QueryRecord{}, nil
		}
		return s.d.Queries.List(ctx, f)
	}
	switch {
	case by.HasRole(auth.Auditor) || by.HasRole(auth.DepartmentPrivacyOfficer):
		f.AllComps = true
	default:
		for _, g := range by.Grants {
			if g.Role == auth.ComponentPrivacyOfficer || g.Role == auth.Supervisor {
				f.Components = append(f.Components, g.Component)
			}
		}
	}
	qs, err := s.d.Queries.List(ctx, f)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(qs, func(q store.QueryRecord) bool { return !s.maySee(ctx, by, q) }), nil
}

// Results returns a query's results to its requester (or, when withheld,
// to a privacy officer of its component reviewing them). Every read is a
// ledger entry.
func (s *Service) Results(ctx context.Context, by auth.Principal, id int64) (query.Result, *ledger.Receipt, error) {
	rec, err := s.d.Queries.Get(ctx, nil, id, false)
	if err != nil {
		return query.Result{}, nil, err
	}
	switch {
	case rec.Status == query.Completed && rec.PersonID == by.PersonID && by.Kind == ledger.ActorUser:
	case rec.Status == query.Withheld && rec.PersonID != by.PersonID && (holdsIn(by, auth.ComponentPrivacyOfficer, rec.Component) || by.HasRole(auth.DepartmentPrivacyOfficer)):
	case rec.Status == query.Withheld && rec.PersonID == by.PersonID:
		return query.Result{}, nil, fault.New(fault.Forbidden, "results withheld pending privacy review")
	case !rec.Status.Final() || rec.ResultDigest == "":
		return query.Result{}, nil, fault.New(fault.NotFound, "query %d has no results", id)
	default:
		return query.Result{}, nil, fault.New(fault.Forbidden, "only the requester reads a query's results")
	}
	sealedBody, digest, _, err := s.d.Queries.Result(ctx, id)
	if err != nil {
		return query.Result{}, nil, err
	}
	body, err := s.d.Secrets.Open(sealedBody, resultBinding(id))
	if err != nil || ledger.PayloadDigest(body) != digest || digest != rec.ResultDigest {
		return query.Result{}, nil, fault.New(fault.Tampered, "query %d's stored results do not match what the ledger recorded", id)
	}
	res, err := query.DecodeResult(body)
	if err != nil {
		return res, nil, fault.Wrap(err, fault.Internal, "query %d's results cannot be read", id)
	}
	var ref store.Ref
	err = s.d.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		ref, err = s.d.Ledger.Append(ctx, tx, ledger.Event{Type: "query.results_read", Actor: by.Actor(), Component: rec.Component,
			Subject: querySubject(id), Data: map[string]any{"status": string(rec.Status), "result_count": rec.ResultCount}, Digest: digest})
		return err
	})
	if err != nil {
		return query.Result{}, nil, err
	}
	rc, err := s.receipt(ctx, ref)
	return res, rc, err
}

// Purge purges the results whose retention ended, each with its ledger
// entry, and the case devices no kept result names any longer. It
// returns how many results it purged.
func (s *Service) Purge(ctx context.Context) (int, error) {
	grace := time.Duration(s.d.Settings.Int(ctx, settings.ClosedCaseGraceDays)) * 24 * time.Hour
	actor := ledger.Actor{Kind: ledger.ActorSystem, ID: "retention"}
	n := 0
	for {
		due, err := s.d.Queries.Purgeable(ctx, s.d.DB.Now(), grace, 200)
		if err != nil {
			return n, err
		}
		if len(due) == 0 {
			break
		}
		err = s.d.DB.Update(ctx, func(tx *store.Tx) error {
			for _, p := range due {
				ok, err := s.d.Queries.PurgeResult(ctx, tx, p.QueryID)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				if _, err := s.d.Ledger.Append(ctx, tx, ledger.Event{Type: "query.results_purged", Actor: actor, Component: p.Component,
					Subject: querySubject(p.QueryID), Data: map[string]any{"case": p.CaseNumber, "reason": p.Reason}, Digest: p.Digest}); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	err := s.d.DB.Update(ctx, func(tx *store.Tx) error {
		k, err := s.d.Queries.PurgeDevices(ctx, tx, tx.Now, grace)
		if err != nil || k == 0 {
			return err
		}
		_, err = s.d.Ledger.Append(ctx, tx, ledger.Event{Type: "query.devices_purged", Actor: actor, Subject: "retention", Data: map[string]any{"devices": k}})
		return err
	})
	return n, err
}
