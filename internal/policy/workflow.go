package policy

import (
	"fmt"
	"time"

	"github.com/probity-dev/probity/internal/fault"
)

// A Status is where a policy set version stands.
type Status string

// Statuses. A version is stored only once its text parses and validates
// against the schema; then it is proposed. Its impact analysis (replaying
// recent recorded decisions) validates it against real use. A department
// privacy officer other than the proposer approves it; activating it
// supersedes the version it replaces. A version may be rejected at any
// point before it is active.
const (
	Proposed   Status = "proposed"
	Validated  Status = "validated"
	Approved   Status = "approved"
	Active     Status = "active"
	Superseded Status = "superseded"
	Rejected   Status = "rejected"
)

// A Step is a workflow step on a version.
type Step string

// Steps.
const (
	StepAnalyse  Step = "analyse"
	StepApprove  Step = "approve"
	StepActivate Step = "activate"
	StepReject   Step = "reject"
)

// A Version is a stored policy set version and its workflow.
type Version struct {
	ID      int64
	Scope   string
	Version int
	Status  Status
	Text    string
	Limits  *Limits
	Summary string
	// Digest commits to Text, as the ledger records it.
	Digest  string
	Permits int
	Forbids int

	ProposedBy       string // the actor's ID (employee ID)
	ProposedByPerson int64
	ProposedAt       time.Time

	// The impact analysis, once run: the versions it compared against
	// (the active department set and the active set of the scope, 0 for
	// none), how many days of decisions it replayed, and its counts.
	AnalysedAt     time.Time
	AnalysedBy     string
	BaseDepartment int64
	BaseScope      int64
	ImpactDays     int
	ImpactSummary  *ImpactSummary

	ApprovedBy       string
	ApprovedByPerson int64
	ApprovedAt       time.Time
	ActivatedBy      string
	ActivatedAt      time.Time
	SupersededAt     time.Time
	RejectedBy       string
	RejectedAt       time.Time
	RejectReason     string
}

// An ImpactSummary is an impact analysis without its list of changes.
type ImpactSummary struct {
	Considered      int  `json:"considered"`
	Replayed        int  `json:"replayed"`
	Unreadable      int  `json:"unreadable"`
	AllowToDeny     int  `json:"allow_to_deny"`
	DenyToAllow     int  `json:"deny_to_allow"`
	PoliciesChanged int  `json:"policies_changed"`
	Listed          int  `json:"listed"`    // changes kept with the version
	Truncated       bool `json:"truncated"` // more changes than were kept
}

// Summary returns the analysis's counts; listed changes are at most keep.
func (im Impact) Summary(keep int) ImpactSummary {
	listed := min(len(im.Changes), keep)
	return ImpactSummary{Considered: im.Considered, Replayed: im.Replayed, Unreadable: im.Unreadable,
		AllowToDeny: im.AllowToDeny, DenyToAllow: im.DenyToAllow, PoliciesChanged: im.PoliciesChanged,
		Listed: listed, Truncated: listed < len(im.Changes)}
}

// An Actor is who takes a step, with what they may do for the version's
// scope.
type Actor struct {
	ID       string
	PersonID int64
	// Propose holds for the privacy officers of the scope.
	Propose bool
	// Approve holds for department privacy officers.
	Approve bool
}

// Refusal codes of a [StepError].
const (
	OutOfOrder = "out_of_order" // the step does not follow from the status
	WrongRole  = "wrong_role"   // the actor may not take the step
	OwnWork    = "own_work"     // the actor proposed the version
	Stale      = "stale"        // the active sets changed since the analysis
)

// A StepError is a refused workflow step.
type StepError struct {
	Step   Step
	Status Status
	Code   string
	Reason string
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s of a %s policy set version refused (%s)", e.Step, e.Status, e.Code)
}

func refuse(s Step, st Status, code, format string, args ...any) error {
	e := &StepError{Step: s, Status: st, Code: code, Reason: fmt.Sprintf(format, args...)}
	fc := fault.Conflict
	if code == WrongRole || code == OwnWork {
		fc = fault.Forbidden
	}
	return &fault.Error{Code: fc, Message: e.Reason, Err: e}
}

// Next decides a step on v by who: it returns the status v moves to, or a
// [fault.Error] (Forbidden for the wrong role or one's own proposal,
// Conflict out of order) wrapping a [*StepError]. Whether the analysis is
// stale is the caller's to check, with [StaleError].
func Next(v Version, s Step, who Actor) (Status, error) {
	own := (who.PersonID != 0 && who.PersonID == v.ProposedByPerson) || who.ID == v.ProposedBy
	switch s {
	case StepAnalyse:
		if !who.Propose && !who.Approve {
			return "", refuse(s, v.Status, WrongRole, "only a privacy officer of %s or a department privacy officer runs an impact analysis", scopeName(v.Scope))
		}
		if v.Status != Proposed && v.Status != Validated {
			return "", refuse(s, v.Status, OutOfOrder, "version %d of %s is %s; only a proposed or validated version is analysed", v.Version, scopeName(v.Scope), v.Status)
		}
		return Validated, nil
	case StepApprove:
		if !who.Approve {
			return "", refuse(s, v.Status, WrongRole, "only a department privacy officer approves policy changes")
		}
		if v.Status != Validated {
			return "", refuse(s, v.Status, OutOfOrder, "version %d of %s is %s; it is approved only once its impact analysis is done (validated)", v.Version, scopeName(v.Scope), v.Status)
		}
		if own {
			return "", refuse(s, v.Status, OwnWork, "nobody approves their own proposal; another department privacy officer must approve version %d of %s", v.Version, scopeName(v.Scope))
		}
		return Approved, nil
	case StepActivate:
		if !who.Approve {
			return "", refuse(s, v.Status, WrongRole, "only a department privacy officer activates policy changes")
		}
		if v.Status != Approved {
			return "", refuse(s, v.Status, OutOfOrder, "version %d of %s is %s; only an approved version is activated", v.Version, scopeName(v.Scope), v.Status)
		}
		return Active, nil
	case StepReject:
		if !who.Approve && !own {
			return "", refuse(s, v.Status, WrongRole, "only a department privacy officer, or the proposer withdrawing it, rejects a proposal")
		}
		switch v.Status {
		case Proposed, Validated, Approved:
			return Rejected, nil
		}
		return "", refuse(s, v.Status, OutOfOrder, "version %d of %s is %s; only a version not yet active is rejected", v.Version, scopeName(v.Scope), v.Status)
	}
	return "", refuse(s, v.Status, OutOfOrder, "there is no step %q; the steps are analyse, approve, activate and reject", s)
}

// StaleError returns the refusal of a step whose impact analysis compared
// against versions that are no longer the active ones.
func StaleError(v Version, s Step) error {
	return refuse(s, v.Status, Stale, "the active policies changed after version %d of %s was analysed; run the impact analysis again before it is approved or activated", v.Version, scopeName(v.Scope))
}

// scopeName names a scope for people.
func scopeName(scope string) string {
	switch scope {
	case Department:
		return "the department floor"
	case DefaultComponent:
		return "the default component set"
	}
	return scope + "'s set"
}
