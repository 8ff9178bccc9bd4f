package release

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/scan"
)

// A State is where a finding stands in triage.
type State string

// States. A reviewer moves a finding from New to Confirmed, FalsePositive
// or Fixed; it becomes AcceptedRisk only when an exception is approved,
// and goes back to Confirmed when that exception expires. Probity alone
// sets New (a finding first seen, or seen again after it was marked
// fixed) and ResolvedByRescan (a re-scan of the same type no longer
// reports it). Findings are never deleted.
const (
	New              State = "new"
	Confirmed        State = "confirmed"
	FalsePositive    State = "false_positive"
	AcceptedRisk     State = "accepted_risk"
	Fixed            State = "fixed"
	ResolvedByRescan State = "resolved_by_rescan"
)

// States returns every state, in the order lists show them.
func States() []State {
	return []State{New, Confirmed, AcceptedRisk, FalsePositive, Fixed, ResolvedByRescan}
}

// Valid reports whether s is a known state.
func (s State) Valid() bool { return slices.Contains(States(), s) }

// Title returns the state for people: New is "unreviewed".
func (s State) Title() string {
	switch s {
	case New:
		return "unreviewed"
	case FalsePositive:
		return "false positive"
	case AcceptedRisk:
		return "accepted risk"
	case ResolvedByRescan:
		return "resolved by re-scan"
	}
	return string(s)
}

// ParseState returns the state named s.
func ParseState(s string) (State, error) {
	st := State(s)
	if !st.Valid() {
		return "", fault.New(fault.Invalid, "%q is not a finding state: use new, confirmed, false_positive, accepted_risk, fixed or resolved_by_rescan", clip(s))
	}
	return st, nil
}

// Open reports whether a finding in state s still needs remediation or a
// decision, so that its SLA runs: unreviewed or confirmed.
func (s State) Open() bool { return s == New || s == Confirmed }

// Effective returns the state a finding stored as s is in at now: an
// accepted risk whose exception expired at riskExpires (or has no expiry
// on record) is confirmed again, whether or not the job that records the
// reopening has run yet.
func Effective(s State, riskExpires, now time.Time) State {
	if s == AcceptedRisk && (riskExpires.IsZero() || !now.Before(riskExpires)) {
		return Confirmed
	}
	return s
}

// MinReason is the shortest reason a false positive needs, in characters.
const MinReason = 10

// CheckTriage checks a reviewer's move of a finding from from (its
// effective state) to to, with a reason, and returns the reason trimmed.
// A reviewer may mark a finding confirmed, a false positive (saying why)
// or fixed; an accepted risk needs an approved exception
// ([Exception.Validate]); new and resolved by re-scan are Probity's alone.
func CheckTriage(from, to State, reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case !to.Valid():
		_, err := ParseState(string(to))
		return "", err
	case to == AcceptedRisk:
		return "", fault.New(fault.Invalid, "a finding becomes an accepted risk only when an exception for it is approved: request one, with a justification, compensating controls and an expiry")
	case to == New || to == ResolvedByRescan:
		return "", fault.New(fault.Invalid, "a finding is %s only by Probity: reviewers mark findings confirmed, false_positive or fixed", to.Title())
	case from == ResolvedByRescan:
		return "", fault.New(fault.Conflict, "the finding is no longer reported by the latest scan (resolved by re-scan); there is nothing to triage")
	case from == to:
		return "", fault.New(fault.Conflict, "the finding is already %s", to.Title())
	}
	var errs Errors
	minLen := 0
	if to == FalsePositive {
		minLen = MinReason
	}
	if msg := checkText(reason, minLen, MaxNote, true); msg != "" {
		if to == FalsePositive && (strings.HasPrefix(msg, "is required") || strings.HasPrefix(msg, "must be at least")) {
			msg = fmt.Sprintf("say why the finding is a false positive, in at least %d characters", MinReason)
		}
		errs.Add("reason", msg)
	}
	return reason, errs.Err("the triage is not valid")
}

// CheckNote checks an optional note (on an approval or a decision) and
// returns it trimmed: at most [MaxNote] characters, no control characters
// but line breaks and tabs.
func CheckNote(note string) (string, error) {
	note = strings.TrimSpace(note)
	if msg := checkText(note, 0, MaxNote, true); msg != "" {
		return "", Errors{{Field: "note", Message: msg}}.Err("the note is not valid")
	}
	return note, nil
}

// Reappear returns the state and the latest reviewer decision of a
// finding a new scan reports again, given its state and latest decision
// (triaged, "" for none): a finding marked fixed is not, and is
// unreviewed again; a finding resolved by an earlier re-scan gets back the
// reviewer's decision it had (confirmed, false positive, accepted risk),
// or is unreviewed when it had none or was marked fixed. Any other state
// carries forward unchanged.
func Reappear(state, triaged State) (State, State) {
	switch state {
	case Fixed:
		return New, ""
	case ResolvedByRescan:
		switch triaged {
		case Confirmed, FalsePositive, AcceptedRisk:
			return triaged, triaged
		}
		return New, ""
	}
	return state, triaged
}

// DueAt returns when a finding of severity sev first seen at firstSeen
// must be closed under sla, and false for one that has no deadline
// (info).
func DueAt(firstSeen time.Time, sev scan.Severity, sla SLA) (time.Time, bool) {
	days := sla.Days(sev)
	if days <= 0 {
		return time.Time{}, false
	}
	return firstSeen.AddDate(0, 0, days), true
}

// Overdue reports whether a finding is overdue at now: open (unreviewed or
// confirmed, expired exceptions included — pass the stored state and the
// exception's expiry) past the SLA of its severity from when it was first
// seen. It is always computed, never recorded.
func Overdue(state State, riskExpires time.Time, sev scan.Severity, firstSeen time.Time, sla SLA, now time.Time) bool {
	if !Effective(state, riskExpires, now).Open() {
		return false
	}
	due, ok := DueAt(firstSeen, sev, sla)
	return ok && !now.Before(due)
}

// An ExceptionStatus is where a risk exception stands.
type ExceptionStatus string

// Exception statuses.
const (
	ExceptionRequested ExceptionStatus = "requested" // waiting for someone else to decide
	ExceptionApproved  ExceptionStatus = "approved"  // in force until it expires
	ExceptionRejected  ExceptionStatus = "rejected"
	ExceptionExpired   ExceptionStatus = "expired"   // was approved; its expiry reopened the finding
	ExceptionWithdrawn ExceptionStatus = "withdrawn" // ended early: the finding was triaged otherwise
)

// Valid reports whether s is a known exception status.
func (s ExceptionStatus) Valid() bool {
	return slices.Contains([]ExceptionStatus{ExceptionRequested, ExceptionApproved, ExceptionRejected, ExceptionExpired, ExceptionWithdrawn}, s)
}

// An Exception is the acceptance of a finding's risk for a time: why, what
// compensates for it, until when, who asked and who (someone else) agreed.
type Exception struct {
	ID                   int64
	FindingID            int64
	AppID                int64
	Component            string
	Justification        string
	CompensatingControls string
	ExpiresAt            time.Time
	Status               ExceptionStatus
	RequestedByID        int64
	RequestedBy          string // employee ID
	RequestedAt          time.Time
	DecidedByID          int64
	DecidedBy            string
	DecidedAt            time.Time
	DecisionNote         string
}

// Exception bounds.
const (
	MinExceptionText = 20 // characters of a justification and of compensating controls
	MaxExceptionText = 4000
	MaxExceptionDays = 365 // the longest an exception may last
)

// Normalize trims e's texts.
func (e *Exception) Normalize() {
	e.Justification = strings.TrimSpace(e.Justification)
	e.CompensatingControls = strings.TrimSpace(e.CompensatingControls)
	e.DecisionNote = strings.TrimSpace(e.DecisionNote)
}

// Validate reports whether e may be requested at now: a justification and
// compensating controls of [MinExceptionText] characters or more, and an
// expiry after now and within [MaxExceptionDays].
func (e Exception) Validate(now time.Time) error {
	var errs Errors
	errs.para("justification", e.Justification, MinExceptionText, MaxExceptionText)
	errs.para("compensating_controls", e.CompensatingControls, MinExceptionText, MaxExceptionText)
	switch {
	case e.ExpiresAt.IsZero():
		errs.Add("expires_at", "an exception expires: give a date")
	case !e.ExpiresAt.After(now):
		errs.Add("expires_at", "must be in the future")
	case e.ExpiresAt.After(now.AddDate(0, 0, MaxExceptionDays)):
		errs.Add("expires_at", fmt.Sprintf("an exception lasts at most %d days", MaxExceptionDays))
	}
	return errs.Err("the exception is not valid")
}

// InForce reports whether e covers its finding at now: approved and not
// expired.
func (e Exception) InForce(now time.Time) bool {
	return e.Status == ExceptionApproved && now.Before(e.ExpiresAt)
}

// CheckDecision checks that approver may decide e at now: e is still
// requested, approver is not who requested it, and an approval would not
// start already expired.
func (e Exception) CheckDecision(approverID int64, approve bool, now time.Time) error {
	switch {
	case e.Status != ExceptionRequested:
		return fault.New(fault.Conflict, "exception %d is %s, not waiting for a decision", e.ID, e.Status)
	case approverID == 0:
		return fault.New(fault.Forbidden, "only a person may decide an exception")
	case approverID == e.RequestedByID:
		return fault.New(fault.Forbidden, "you requested exception %d; someone else with authority decides it", e.ID)
	case approve && !now.Before(e.ExpiresAt):
		return fault.New(fault.Conflict, "exception %d would have expired on %s; request a new one", e.ID, e.ExpiresAt.UTC().Format(time.DateOnly))
	}
	if msg := checkText(e.DecisionNote, 0, MaxNote, true); msg != "" {
		return Errors{{Field: "note", Message: msg}}.Err("the decision is not valid")
	}
	return nil
}
