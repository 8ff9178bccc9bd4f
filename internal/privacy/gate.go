package privacy

import (
	"fmt"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
)

// Codes of the pieces the gate may find missing.
const (
	PIAMissing        = "pia_missing"         // no PIA has been started for the source
	PIANotApproved    = "pia_not_approved"    // a PIA exists, but no version has been approved
	PIANotPublished   = "pia_not_published"   // approved, awaiting publication
	PIAExpired        = "pia_expired"         // the version in force has expired
	PIAUpdateRequired = "pia_update_required" // the source changed since the version in force
	RulesUnpublished  = "rules_unpublished"   // no rules of behavior are published for the source
	CredentialMissing = "credential_missing"  // the connector's credential is not configured
	SourceSuspended   = "suspended"           // the source is suspended
)

// A Contact is a person who can fix a missing piece.
type Contact struct {
	ID         int64     `json:"id"`
	EmployeeID string    `json:"employee_id"`
	Name       string    `json:"name"`
	Role       auth.Role `json:"role"`
}

// A Missing is one reason a data source cannot be used, and who can fix
// it.
type Missing struct {
	Code    string
	Message string
	Fix     string
	// Roles can fix it; People are the active holders of those roles for
	// the source's component, when known.
	Roles  []auth.Role
	People []Contact
}

// GateFacts are what the gate decides from.
type GateFacts struct {
	Source Source
	PIA    *PIA // nil when the source has none
	// RulesVersion is the latest published version of the rules of
	// behavior under Source.RulesKey; 0 when none is published.
	RulesVersion int
	Now          time.Time
}

// A GateStatus is the gate's decision for one data source at one time.
type GateStatus struct {
	SourceID   int64
	SourceName string
	Component  string
	Usable     bool
	// Missing lists every missing piece; empty when Usable.
	Missing []Missing
	// The PIA in force, when there is one: its version and expiry.
	PIAID            int64
	PIAStatus        Status
	EffectiveVersion int
	PIAExpiresAt     time.Time
	RulesKey         string
	RulesVersion     int
	CheckedAt        time.Time
}

var (
	writers   = []auth.Role{auth.SecurityOfficer, auth.ComponentPrivacyOfficer}
	reviewers = []auth.Role{auth.ComponentPrivacyOfficer}
	approvers = []auth.Role{auth.DepartmentPrivacyOfficer}
	revisers  = []auth.Role{auth.SecurityOfficer, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer}
	rulers    = []auth.Role{auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer}
	credders  = []auth.Role{auth.SecurityOfficer}
	managers  = []auth.Role{auth.SecurityOfficer, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer}
)

// EvaluateGate derives whether a data source may be used now: only when
// the PIA version in force is approved, published, unexpired and not out
// of date, its rules of behavior are published, its connector credential
// is configured, and it is not suspended. It lists every piece that is
// missing, not just the first.
func EvaluateGate(f GateFacts) GateStatus {
	s := f.Source
	g := GateStatus{SourceID: s.ID, SourceName: s.Name, Component: s.Component, RulesKey: s.RulesKey, RulesVersion: f.RulesVersion, CheckedAt: f.Now}
	add := func(code string, roles []auth.Role, fix, format string, args ...any) {
		g.Missing = append(g.Missing, Missing{Code: code, Message: fmt.Sprintf(format, args...), Fix: fix, Roles: roles})
	}
	p := f.PIA
	switch {
	case p == nil:
		add(PIAMissing, writers, "a security officer or component privacy officer of "+s.Component+" writes the PIA and submits it; the component privacy officer reviews it and the Chief Privacy Officer approves and publishes it",
			"no Privacy Impact Assessment has been started for this data source")
	case p.EffectiveVersion == 0:
		g.PIAID, g.PIAStatus = p.ID, p.Status
		if p.Status == Approved {
			add(PIANotPublished, approvers, "a department privacy officer publishes the approved version",
				"the PIA (version %d) was approved on %s but has not been published", p.ApprovedVersion, day(p.ApprovedAt))
		} else {
			roles, fix := pendingStep(p.Status)
			add(PIANotApproved, roles, fix, "the PIA has never been approved; it is %s", p.Status)
		}
	default:
		g.PIAID, g.PIAStatus, g.EffectiveVersion, g.PIAExpiresAt = p.ID, p.Status, p.EffectiveVersion, p.EffectiveExpiresAt
		if !f.Now.Before(p.EffectiveExpiresAt) {
			roles, fix := revisers, "revise the PIA (security officer or component privacy officer), then review (component privacy officer), approve and publish it (Chief Privacy Officer)"
			if p.Status != Published {
				roles, fix = pendingStep(p.Status)
				fix = "a revision is " + string(p.Status) + ": " + fix
			}
			add(PIAExpired, roles, fix, "the PIA in force (version %d) expired on %s", p.EffectiveVersion, day(p.EffectiveExpiresAt))
		}
		if !p.UpdateRequiredAt.IsZero() {
			roles, fix := revisers, "update the PIA for the change, then have it reviewed, approved and published"
			if p.Status != Published {
				roles, fix = pendingStep(p.Status)
				fix = "a revision is " + string(p.Status) + ": " + fix
			}
			add(PIAUpdateRequired, roles, fix, "the data source changed on %s (%s) and the PIA must be updated", day(p.UpdateRequiredAt), p.UpdateReason)
		}
	}
	if f.RulesVersion == 0 {
		add(RulesUnpublished, rulers, "a privacy officer publishes rules of behavior under the key "+s.RulesKey+"; every user acknowledges them before use",
			"no rules of behavior are published for this data source (%s)", s.RulesKey)
	}
	if !s.CredentialConfigured() {
		add(CredentialMissing, credders, "a security officer of "+s.Component+" stores the vendor credential in Probity and marks it configured; users never see it",
			"the %s connector's credential is not configured", s.Connector)
	}
	if s.Suspended() {
		add(SourceSuspended, managers, "once the reason is resolved, a security officer or privacy officer reinstates the source",
			"the data source was suspended on %s by %s: %s", day(s.SuspendedAt), s.SuspendedBy, s.SuspendedReason)
	}
	g.Usable = len(g.Missing) == 0
	return g
}

// pendingStep returns who takes a PIA's next step from status, and what
// that step is.
func pendingStep(s Status) ([]auth.Role, string) {
	switch s {
	case Submitted:
		return reviewers, "a component privacy officer reviews the submitted PIA; then the Chief Privacy Officer approves and publishes it"
	case Accepted:
		return approvers, "a department privacy officer (the Chief Privacy Officer) approves the forwarded PIA and publishes it"
	case Approved:
		return approvers, "a department privacy officer publishes the approved version"
	case Returned:
		return writers, "the authors revise the returned PIA to answer the comments and submit it again"
	}
	return writers, "the authors complete the draft and submit it; the component privacy officer reviews it and the Chief Privacy Officer approves and publishes it"
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Err returns nil when the source is usable, else a [fault.Precondition]
// error wrapping a [*GateError] that lists every missing piece.
func (g GateStatus) Err() error {
	if g.Usable {
		return nil
	}
	e := &GateError{Status: g}
	return &fault.Error{Code: fault.Precondition, Message: e.Describe(), Err: e}
}

// A GateError is the gate's refusal: the data source and everything
// missing, with who can fix each piece.
type GateError struct {
	Status GateStatus
}

// Error names the source and the missing pieces' codes; the message of
// the [fault.Error] that wraps e is [GateError.Describe].
func (e *GateError) Error() string {
	return fmt.Sprintf("data source %s cannot be used: %s", e.Status.SourceName, strings.Join(e.Status.Codes(), ", "))
}

// Describe says, for people, everything missing and who can fix it.
func (e *GateError) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "data source %s cannot be used: ", e.Status.SourceName)
	for i, m := range e.Status.Missing {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "(%d) %s — %s", i+1, m.Message, m.Fix)
		if len(m.People) > 0 {
			var names []string
			for _, p := range m.People {
				names = append(names, p.Name+" ("+p.Role.Title()+")")
			}
			b.WriteString(": " + strings.Join(names, ", "))
		}
	}
	return b.String()
}

// Codes returns the codes of the missing pieces.
func (g GateStatus) Codes() []string {
	out := make([]string, len(g.Missing))
	for i, m := range g.Missing {
		out[i] = m.Code
	}
	return out
}
