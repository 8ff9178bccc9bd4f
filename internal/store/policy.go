package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/policy"
)

// Policies is the store of the policy sets — the department floor, the
// default component set and components' own sets — with every version and
// its workflow, and of the recorded decisions impact analysis replays.
// Every step is authorized against the acting principal, checked against
// the workflow, and recorded in the ledger in the same transaction; a
// refused step is recorded too.
type Policies struct {
	db *DB
	// onActivate, when set, is called after a version's activation
	// commits (the engine reloads).
	onActivate func()
}

// Policies returns the policy store over db; onActivate, when not nil, is
// called after each activation commits.
func (db *DB) Policies(onActivate func()) *Policies { return &Policies{db: db, onActivate: onActivate} }

var _ policy.Loader = (*Policies)(nil)

// MaxListedChanges is how many changes of an impact analysis are kept with
// the version; the counts are always complete.
const MaxListedChanges = 10_000

func policySubject(scope string, version int) string {
	return fmt.Sprintf("policy/%s/%d", scope, version)
}

// eventComponent is the ledger component of an event about scope.
func eventComponent(scope string) string {
	if policy.IsComponentScope(scope) {
		return scope
	}
	return ""
}

func (s *Policies) record(ctx context.Context, tx *Tx, by ledger.Actor, typ, scope string, version int, data map[string]any, digest string) error {
	if s.db.ledger == nil {
		return fault.New(fault.Internal, "the ledger is not open")
	}
	if data == nil {
		data = map[string]any{}
	}
	data["scope"], data["version"] = scope, version
	_, err := s.db.ledger.Append(ctx, tx, ledger.Event{Type: typ, Actor: by, Component: eventComponent(scope), Subject: policySubject(scope, version), Data: data, Digest: digest})
	return err
}

// holdsFor reports whether by holds perm for scope: in the component for a
// component's set, department-wide for the department and default sets.
func holdsFor(by auth.Principal, perm auth.Permission, scope string) bool {
	if policy.IsComponentScope(scope) {
		return by.CanIn(perm, scope)
	}
	_, all := by.Components(perm)
	return all
}

// canReadPolicies reports whether by may see the versions of scope: everyone who
// reads policies sees the department and default sets; a component's own
// set only those who read policies in it.
func canReadPolicies(by auth.Principal, scope string) bool {
	if policy.IsComponentScope(scope) {
		return by.CanIn(auth.PolicyRead, scope)
	}
	return by.Can(auth.PolicyRead)
}

func policyActor(by auth.Principal, scope string) policy.Actor {
	return policy.Actor{ID: by.ID, PersonID: by.PersonID, Propose: holdsFor(by, auth.PolicyPropose, scope), Approve: holdsFor(by, auth.PolicyApprove, scope)}
}

const policyVersionColumns = `id, scope, version, status, text, digest, limits, summary, permits, forbids,
	proposed_by, proposed_by_person, proposed_at, analysed_by, analysed_at, base_department, base_scope, impact_days, impact_summary,
	approved_by, approved_by_person, approved_at, activated_by, activated_at, superseded_at, rejected_by, rejected_at, reject_reason`

func scanPolicyVersion(sc scanner) (policy.Version, error) {
	var v policy.Version
	var limits, summary sql.NullString
	var analysed, approved, activated, superseded, rejected sql.NullTime
	err := sc.Scan(&v.ID, &v.Scope, &v.Version, &v.Status, &v.Text, &v.Digest, &limits, &v.Summary, &v.Permits, &v.Forbids,
		&v.ProposedBy, &v.ProposedByPerson, &v.ProposedAt, &v.AnalysedBy, &analysed, &v.BaseDepartment, &v.BaseScope, &v.ImpactDays, &summary,
		&v.ApprovedBy, &v.ApprovedByPerson, &approved, &v.ActivatedBy, &activated, &superseded, &v.RejectedBy, &rejected, &v.RejectReason)
	if err != nil {
		return v, err
	}
	v.AnalysedAt, v.ApprovedAt, v.ActivatedAt, v.SupersededAt, v.RejectedAt = analysed.Time, approved.Time, activated.Time, superseded.Time, rejected.Time
	if limits.Valid {
		v.Limits = new(policy.Limits)
		if err := json.Unmarshal([]byte(limits.String), v.Limits); err != nil {
			return v, fmt.Errorf("policy version %d: limits: %w", v.ID, err)
		}
	}
	if summary.Valid {
		v.ImpactSummary = new(policy.ImpactSummary)
		if err := json.Unmarshal([]byte(summary.String), v.ImpactSummary); err != nil {
			return v, fmt.Errorf("policy version %d: impact summary: %w", v.ID, err)
		}
	}
	return v, nil
}

func notFoundPolicyVersion(id int64) error {
	return fault.New(fault.NotFound, "there is no policy set version %d", id)
}

// version reads a version in tx, for by: one by may not see does not
// exist.
func (s *Policies) version(ctx context.Context, tx *Tx, by auth.Principal, id int64, lock bool) (policy.Version, error) {
	q := `SELECT ` + policyVersionColumns + ` FROM policy_versions WHERE id = $1`
	if lock {
		q += forUpdate(tx)
	}
	v, err := scanPolicyVersion(tx.QueryRow(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !canReadPolicies(by, v.Scope)) {
		return policy.Version{}, notFoundPolicyVersion(id)
	}
	return v, err
}

// activePolicyIDs returns the ID of the active version of the department set and
// of scope (0 for none).
func activePolicyIDs(ctx context.Context, tx *Tx, scope string) (dept, own int64, err error) {
	rows, err := tx.Query(ctx, `SELECT scope, id FROM policy_versions WHERE status = 'active' AND scope IN ($1, $2)`, policy.Department, scope)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var sc string
		var id int64
		if err := rows.Scan(&sc, &id); err != nil {
			return 0, 0, err
		}
		if sc == policy.Department {
			dept = id
		}
		if sc == scope {
			own = id
		}
	}
	return dept, own, rows.Err()
}

func policyLimitsJSON(l *policy.Limits) any {
	if l == nil {
		return nil
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// insertPolicyVersion stores a compiled set as the next version of its scope.
func insertPolicyVersion(ctx context.Context, tx *Tx, set *policy.Set, status policy.Status, summary string, by auth.Principal) (policy.Version, error) {
	v := policy.Version{Scope: set.Scope, Status: status, Text: set.Text, Digest: set.Digest(), Limits: set.Limits, Summary: summary,
		ProposedBy: by.ID, ProposedByPerson: by.PersonID, ProposedAt: tx.Now}
	v.Permits, v.Forbids = set.Counts()
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM policy_versions WHERE scope = $1`, set.Scope).Scan(&v.Version); err != nil {
		return v, err
	}
	err := tx.QueryRow(ctx, `INSERT INTO policy_versions (scope, version, status, text, digest, limits, summary, permits, forbids, proposed_by, proposed_by_person, proposed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		v.Scope, v.Version, string(status), v.Text, v.Digest, policyLimitsJSON(v.Limits), v.Summary, v.Permits, v.Forbids, v.ProposedBy, v.ProposedByPerson, tx.Now).Scan(&v.ID)
	if isUniqueViolation(err) {
		return v, fault.New(fault.Conflict, "another version of %s was stored at the same time; try again", set.Scope)
	}
	return v, err
}

// InstallDefaults installs Probity's built-in department floor and default
// component set, as active version 1, when the installation has no active
// set of that scope. It is idempotent, and safe for replicas starting
// together.
func (s *Policies) InstallDefaults(ctx context.Context) error {
	for _, d := range []struct {
		scope, text string
		limits      *policy.Limits
	}{
		{policy.Department, policy.DefaultDepartmentText, &policy.DefaultLimits},
		{policy.DefaultComponent, policy.DefaultComponentText, nil},
	} {
		set, err := policy.Compile(d.scope, d.text, d.limits)
		if err != nil {
			return fmt.Errorf("the built-in %s policy set: %w", d.scope, err)
		}
		err = s.db.Update(ctx, func(tx *Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM policy_versions WHERE scope = $1 AND status = 'active'`, d.scope).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			system := auth.Principal{Kind: SystemActor.Kind, ID: SystemActor.ID}
			v, err := insertPolicyVersion(ctx, tx, set, policy.Active, "Built-in policies installed by Probity", system)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE policy_versions SET activated_by = $1, activated_at = $2 WHERE id = $3`, SystemActor.ID, tx.Now, v.ID); err != nil {
				return err
			}
			return s.record(ctx, tx, SystemActor, "policy.installed", d.scope, v.Version, map[string]any{"permits": v.Permits, "forbids": v.Forbids, "built_in": true}, v.Digest)
		})
		if isUniqueViolation(err) {
			continue // another replica installed it
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ActivePolicySets returns the active version of every scope.
func (s *Policies) ActivePolicySets(ctx context.Context) ([]policy.Stored, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, scope, version, text, limits FROM policy_versions WHERE status = 'active' ORDER BY scope`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []policy.Stored
	for rows.Next() {
		var st policy.Stored
		var limits sql.NullString
		if err := rows.Scan(&st.ID, &st.Scope, &st.Version, &st.Text, &limits); err != nil {
			return nil, err
		}
		if limits.Valid {
			st.Limits = new(policy.Limits)
			if err := json.Unmarshal([]byte(limits.String), st.Limits); err != nil {
				return nil, fmt.Errorf("policy version %d: limits: %w", st.ID, err)
			}
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// A Proposal is a new policy set version.
type Proposal struct {
	Scope string
	Text  string
	// Limits are the department floor's; nil for other scopes, and for the
	// department keeps the active version's limits.
	Limits *policy.Limits
	// Summary says what the change does and why.
	Summary string
}

// Propose stores a new version of a scope's set, once its text parses and
// validates against the schema. Invalid text is refused with an
// [*policy.InvalidError] listing every problem, and nothing is stored.
func (s *Policies) Propose(ctx context.Context, by auth.Principal, p Proposal) (policy.Version, error) {
	if err := policy.CheckScope(p.Scope); err != nil {
		return policy.Version{}, err
	}
	if !holdsFor(by, auth.PolicyPropose, p.Scope) {
		if policy.IsComponentScope(p.Scope) {
			return policy.Version{}, fault.New(fault.Forbidden, "only a privacy officer of %s or a department privacy officer proposes %s's policies", p.Scope, p.Scope)
		}
		return policy.Version{}, fault.New(fault.Forbidden, "only a department privacy officer proposes changes to the %s policy set", p.Scope)
	}
	p.Summary = strings.TrimSpace(p.Summary)
	if p.Summary == "" || len(p.Summary) > 2000 {
		return policy.Version{}, fault.New(fault.Invalid, "give a summary of the change (up to 2,000 characters)")
	}
	var v policy.Version
	err := s.db.Update(ctx, func(tx *Tx) error {
		limits := p.Limits
		if p.Scope == policy.Department && limits == nil {
			var raw sql.NullString
			err := tx.QueryRow(ctx, `SELECT limits FROM policy_versions WHERE scope = $1 AND status = 'active'`, policy.Department).Scan(&raw)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			limits = &policy.DefaultLimits
			if raw.Valid {
				limits = new(policy.Limits)
				if err := json.Unmarshal([]byte(raw.String), limits); err != nil {
					return err
				}
			}
		}
		set, err := policy.Compile(p.Scope, p.Text, limits)
		if err != nil {
			return err
		}
		if v, err = insertPolicyVersion(ctx, tx, set, policy.Proposed, p.Summary, by); err != nil {
			return err
		}
		data := map[string]any{"permits": v.Permits, "forbids": v.Forbids, "summary": v.Summary}
		if v.Limits != nil {
			data["limits"] = map[string]any{"max_area_km2": v.Limits.MaxAreaKM2, "max_window_hours": v.Limits.MaxWindowHours, "court_order_required": v.Limits.CourtOrderRequired}
		}
		return s.record(ctx, tx, by.Actor(), "policy.proposed", v.Scope, v.Version, data, v.Digest)
	})
	if err != nil {
		return policy.Version{}, err
	}
	return v, nil
}

// step runs a workflow step on version id in a transaction: it reads and
// locks the version, asks policy.Next, runs apply, and records the
// refusal (in a transaction of its own) when the workflow refuses.
func (s *Policies) step(ctx context.Context, by auth.Principal, id int64, st policy.Step, apply func(tx *Tx, v *policy.Version, to policy.Status) error) (policy.Version, error) {
	var v policy.Version
	err := s.db.Update(ctx, func(tx *Tx) error {
		var err error
		if v, err = s.version(ctx, tx, by, id, true); err != nil {
			return err
		}
		to, err := policy.Next(v, st, policyActor(by, v.Scope))
		if err != nil {
			return err
		}
		return apply(tx, &v, to)
	})
	if err != nil {
		return policy.Version{}, s.refused(ctx, by, id, err)
	}
	return v, nil
}

// refused records a refused workflow step, in a transaction of its own
// (the step's rolled back), and returns err. Other errors pass through.
// The refusal is recorded even if the caller has gone.
func (s *Policies) refused(ctx context.Context, by auth.Principal, id int64, err error) error {
	se, ok := errors.AsType[*policy.StepError](err)
	if !ok {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	rerr := s.db.Update(ctx, func(tx *Tx) error {
		var scope string
		var version int
		if err := tx.QueryRow(ctx, `SELECT scope, version FROM policy_versions WHERE id = $1`, id).Scan(&scope, &version); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO policy_refusals (version_id, step, status, code, reason, actor, person_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			id, string(se.Step), string(se.Status), se.Code, se.Reason, by.ID, by.PersonID, tx.Now); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "policy.step_refused", scope, version, map[string]any{
			"step": string(se.Step), "status": string(se.Status), "code": se.Code, "reason": se.Reason,
		}, "")
	})
	if rerr != nil {
		return fault.Wrap(errors.Join(err, rerr), fault.Unavailable, "%s; the refusal could not be recorded, so nothing may proceed until the ledger works again", fault.MessageOf(err))
	}
	return err
}

// MaxImpactDays is the longest look-back of an impact analysis.
const MaxImpactDays = 366

// Analyse runs version id's impact analysis: it replays the decisions
// recorded over the last days days under current (the sets in force, as
// the engine has them) and under the version in place of its scope's set,
// and stores the result with the version, which becomes validated. It
// refuses when current is not what the store holds active (reload and try
// again).
func (s *Policies) Analyse(ctx context.Context, by auth.Principal, id int64, days int, current *policy.Snapshot) (policy.Version, policy.Impact, error) {
	if days < 1 || days > MaxImpactDays {
		return policy.Version{}, policy.Impact{}, fault.New(fault.Invalid, "the impact analysis looks back 1 to %d days, not %d", MaxImpactDays, days)
	}
	if current == nil {
		return policy.Version{}, policy.Impact{}, fault.New(fault.Unavailable, "the policies in force are not loaded")
	}
	// Check the step before the (long) replay; check again when storing.
	var v policy.Version
	err := s.db.View(ctx, func(tx *Tx) error {
		var err error
		if v, err = s.version(ctx, tx, by, id, false); err != nil {
			return err
		}
		_, err = policy.Next(v, policy.StepAnalyse, policyActor(by, v.Scope))
		return err
	})
	if err != nil {
		return policy.Version{}, policy.Impact{}, s.refused(ctx, by, id, err)
	}
	proposed, err := policy.Compile(v.Scope, v.Text, v.Limits)
	if err != nil {
		return policy.Version{}, policy.Impact{}, fault.Wrap(err, fault.Conflict, "version %d of %s no longer compiles", v.Version, v.Scope)
	}
	proposed.ID, proposed.Version = v.ID, v.Version
	now := s.db.now()
	recs, err := s.RecentDecisions(ctx, now.AddDate(0, 0, -days), v.Scope)
	if err != nil {
		return policy.Version{}, policy.Impact{}, err
	}
	im, err := policy.Analyse(ctx, current, proposed, recs)
	if err != nil {
		return policy.Version{}, policy.Impact{}, err
	}
	baseDept := current.Department.ID
	var baseScope int64
	switch {
	case v.Scope == policy.Department:
		baseScope = baseDept
	case v.Scope == policy.DefaultComponent:
		baseScope = current.Default.ID
	case current.Components[v.Scope] != nil:
		baseScope = current.Components[v.Scope].ID
	}
	sum := im.Summary(MaxListedChanges)
	listed := im
	listed.Changes = im.Changes[:sum.Listed]
	full, err := json.Marshal(listed)
	if err != nil {
		return policy.Version{}, policy.Impact{}, err
	}
	sumJSON, _ := json.Marshal(sum)
	v, err = s.step(ctx, by, id, policy.StepAnalyse, func(tx *Tx, v *policy.Version, to policy.Status) error {
		dept, own, err := activePolicyIDs(ctx, tx, v.Scope)
		if err != nil {
			return err
		}
		if dept != baseDept || own != baseScope {
			return fault.New(fault.Conflict, "the active policies changed during the analysis; run it again")
		}
		if _, err := tx.Exec(ctx, `UPDATE policy_versions SET status = $1, analysed_by = $2, analysed_at = $3, base_department = $4, base_scope = $5,
			impact_days = $6, impact_summary = $7, impact = $8 WHERE id = $9`,
			string(to), by.ID, tx.Now, baseDept, baseScope, days, string(sumJSON), string(full), v.ID); err != nil {
			return err
		}
		v.Status, v.AnalysedBy, v.AnalysedAt, v.BaseDepartment, v.BaseScope, v.ImpactDays, v.ImpactSummary = to, by.ID, tx.Now, baseDept, baseScope, days, &sum
		return s.record(ctx, tx, by.Actor(), "policy.analysed", v.Scope, v.Version, map[string]any{
			"days": days, "considered": sum.Considered, "replayed": sum.Replayed, "unreadable": sum.Unreadable,
			"allow_to_deny": sum.AllowToDeny, "deny_to_allow": sum.DenyToAllow, "policies_changed": sum.PoliciesChanged,
		}, ledger.PayloadDigest(full))
	})
	if err != nil {
		return policy.Version{}, policy.Impact{}, err
	}
	return v, listed, nil
}

// checkAnalysisFresh refuses a step on a version whose analysis compared against
// versions that are no longer active.
func checkAnalysisFresh(ctx context.Context, tx *Tx, v policy.Version, st policy.Step) error {
	dept, own, err := activePolicyIDs(ctx, tx, v.Scope)
	if err != nil {
		return err
	}
	if dept != v.BaseDepartment || own != v.BaseScope {
		return policy.StaleError(v, st)
	}
	return nil
}

// Approve approves a validated version: a department privacy officer
// other than its proposer does, while its impact analysis is current.
func (s *Policies) Approve(ctx context.Context, by auth.Principal, id int64) (policy.Version, error) {
	return s.step(ctx, by, id, policy.StepApprove, func(tx *Tx, v *policy.Version, to policy.Status) error {
		if err := checkAnalysisFresh(ctx, tx, *v, policy.StepApprove); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE policy_versions SET status = $1, approved_by = $2, approved_by_person = $3, approved_at = $4 WHERE id = $5`,
			string(to), by.ID, by.PersonID, tx.Now, v.ID); err != nil {
			return err
		}
		v.Status, v.ApprovedBy, v.ApprovedByPerson, v.ApprovedAt = to, by.ID, by.PersonID, tx.Now
		return s.record(ctx, tx, by.Actor(), "policy.approved", v.Scope, v.Version, map[string]any{"proposed_by": v.ProposedBy}, v.Digest)
	})
}

// Activate makes an approved version the active set of its scope; the
// version it replaces is superseded. The engine reloads once it commits.
func (s *Policies) Activate(ctx context.Context, by auth.Principal, id int64) (policy.Version, error) {
	var superseded int
	v, err := s.step(ctx, by, id, policy.StepActivate, func(tx *Tx, v *policy.Version, to policy.Status) error {
		if err := checkAnalysisFresh(ctx, tx, *v, policy.StepActivate); err != nil {
			return err
		}
		// The text compiled when proposed; check again under this
		// program's schema, so that nothing that does not compile becomes
		// active.
		if _, err := policy.Compile(v.Scope, v.Text, v.Limits); err != nil {
			return fault.Wrap(err, fault.Conflict, "version %d of %s no longer compiles against the schema", v.Version, v.Scope)
		}
		err := tx.QueryRow(ctx, `SELECT version FROM policy_versions WHERE scope = $1 AND status = 'active'`+forUpdate(tx), v.Scope).Scan(&superseded)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE policy_versions SET status = 'superseded', superseded_at = $1 WHERE scope = $2 AND status = 'active'`, tx.Now, v.Scope); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE policy_versions SET status = $1, activated_by = $2, activated_at = $3 WHERE id = $4`, string(to), by.ID, tx.Now, v.ID)
		if isUniqueViolation(err) {
			// Another version of the scope was activated at the same time
			// (PostgreSQL): at most one is active, and this one's analysis
			// is stale now.
			return fault.New(fault.Conflict, "another version of %s was activated at the same time; run this version's impact analysis again", v.Scope)
		}
		if err != nil {
			return err
		}
		v.Status, v.ActivatedBy, v.ActivatedAt = to, by.ID, tx.Now
		if s.onActivate != nil {
			tx.AfterCommit(s.onActivate)
		}
		return s.record(ctx, tx, by.Actor(), "policy.activated", v.Scope, v.Version, map[string]any{"superseded_version": superseded, "approved_by": v.ApprovedBy}, v.Digest)
	})
	return v, err
}

// Reject ends a version before it is active: a department privacy officer
// rejects it, or its proposer withdraws it.
func (s *Policies) Reject(ctx context.Context, by auth.Principal, id int64, reason string) (policy.Version, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 2000 {
		return policy.Version{}, fault.New(fault.Invalid, "give a reason (up to 2,000 characters)")
	}
	return s.step(ctx, by, id, policy.StepReject, func(tx *Tx, v *policy.Version, to policy.Status) error {
		if _, err := tx.Exec(ctx, `UPDATE policy_versions SET status = $1, rejected_by = $2, rejected_at = $3, reject_reason = $4 WHERE id = $5`,
			string(to), by.ID, tx.Now, reason, v.ID); err != nil {
			return err
		}
		v.Status, v.RejectedBy, v.RejectedAt, v.RejectReason = to, by.ID, tx.Now, reason
		return s.record(ctx, tx, by.Actor(), "policy.rejected", v.Scope, v.Version, map[string]any{"reason": reason}, "")
	})
}

// Version returns a version by may see.
func (s *Policies) Version(ctx context.Context, by auth.Principal, id int64) (policy.Version, error) {
	return viewOne(ctx, s.db, func(tx *Tx) (policy.Version, error) {
		return s.version(ctx, tx, by, id, false)
	})
}

// Versions lists the versions of a scope (every scope by may see when
// scope is ""), newest first.
func (s *Policies) Versions(ctx context.Context, by auth.Principal, scope string) ([]policy.Version, error) {
	if !by.Can(auth.PolicyRead) {
		return nil, fault.New(fault.Forbidden, "your role does not allow reading policies")
	}
	if scope != "" {
		if err := policy.CheckScope(scope); err != nil {
			return nil, err
		}
		if !canReadPolicies(by, scope) {
			return []policy.Version{}, nil
		}
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+policyVersionColumns+` FROM policy_versions WHERE $1 = '' OR scope = $1 ORDER BY scope, version DESC`, scope)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []policy.Version{}
	for rows.Next() {
		v, err := scanPolicyVersion(rows)
		if err != nil {
			return nil, err
		}
		if canReadPolicies(by, v.Scope) {
			out = append(out, v)
		}
	}
	return out, rows.Err()
}

// Impact returns the stored impact analysis of version id. The changes of
// components by may not read are left out (the counts stay whole).
func (s *Policies) Impact(ctx context.Context, by auth.Principal, id int64) (policy.Impact, error) {
	var im policy.Impact
	err := s.db.View(ctx, func(tx *Tx) error {
		v, err := s.version(ctx, tx, by, id, false)
		if err != nil {
			return err
		}
		var raw sql.NullString
		if err := tx.QueryRow(ctx, `SELECT impact FROM policy_versions WHERE id = $1`, id).Scan(&raw); err != nil {
			return err
		}
		if !raw.Valid {
			return fault.New(fault.NotFound, "version %d of %s has no impact analysis yet", v.Version, v.Scope)
		}
		return json.Unmarshal([]byte(raw.String), &im)
	})
	if err != nil {
		return policy.Impact{}, err
	}
	if comps, all := by.Components(auth.PolicyRead); !all {
		kept := im.Changes[:0]
		for _, c := range im.Changes {
			for _, comp := range comps {
				if c.Component == comp {
					kept = append(kept, c)
					break
				}
			}
		}
		im.Changes = kept
	}
	return im, nil
}

// A Refusal is a refused workflow step on a version.
type Refusal struct {
	Step     policy.Step
	Status   policy.Status
	Code     string
	Reason   string
	Actor    string
	PersonID int64
	At       time.Time
}

// Refusals returns the refused steps on version id, oldest first.
func (s *Policies) Refusals(ctx context.Context, by auth.Principal, id int64) ([]Refusal, error) {
	out := []Refusal{}
	err := s.db.View(ctx, func(tx *Tx) error {
		if _, err := s.version(ctx, tx, by, id, false); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT step, status, code, reason, actor, person_id, at FROM policy_refusals WHERE version_id = $1 ORDER BY id`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r Refusal
			if err := rows.Scan(&r.Step, &r.Status, &r.Code, &r.Reason, &r.Actor, &r.PersonID, &r.At); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// A DecisionRecord is a policy decision to record with the action it
// decided.
type DecisionRecord struct {
	PersonID  int64
	Actor     string // the requester's employee ID
	Component string // the requester's component
	Resource  string // e.g. the query's reference
	Input     *policy.Input
	Decision  policy.Decision
}

// RecordDecision records a decision's input and outcome inside the
// caller's transaction, so that it commits with the action it decided, and
// returns its ID. Impact analysis replays what is recorded.
func (s *Policies) RecordDecision(ctx context.Context, tx *Tx, r DecisionRecord) (int64, error) {
	if r.Input == nil {
		return 0, fault.New(fault.Internal, "a decision is recorded with its input")
	}
	in, err := r.Input.MarshalJSON()
	if err != nil {
		return 0, fmt.Errorf("record decision: %w", err)
	}
	ids, _ := json.Marshal(r.Decision.PolicyIDs())
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO policy_decisions (decided_at, person_id, actor, component, action, resource, input, allowed, policies, department_version, component_version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		tx.Now, r.PersonID, r.Actor, r.Component, r.Decision.Action, r.Resource, string(in), r.Decision.Allowed, string(ids),
		r.Decision.Department.ID, r.Decision.Component.ID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record decision: %w", err)
	}
	return id, nil
}

// RecentDecisions returns the decisions recorded since a time, oldest
// first: of one component for a component's scope, of all for the
// department and default scopes.
func (s *Policies) RecentDecisions(ctx context.Context, since time.Time, scope string) ([]policy.Recorded, error) {
	q := `SELECT id, decided_at, actor, component, action, resource, input FROM policy_decisions WHERE decided_at >= $1`
	args := []any{since.UTC()}
	if policy.IsComponentScope(scope) {
		q += ` AND component = $2`
		args = append(args, scope)
	}
	rows, err := s.db.read.QueryContext(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []policy.Recorded
	for rows.Next() {
		var r policy.Recorded
		var in string
		if err := rows.Scan(&r.ID, &r.At, &r.Actor, &r.Component, &r.Action, &r.Resource, &in); err != nil {
			return nil, err
		}
		r.Input = []byte(in)
		out = append(out, r)
	}
	return out, rows.Err()
}
