// Package alerts holds the rules of misuse alerts: what a detector must
// say when it raises one (its ID, a severity, a plain-language
// explanation and the evidence), the steps an alert goes through — new,
// in triage with a component privacy officer, then referred to
// professional responsibility (OPR intake), dismissed with a reason, or
// resolved — and who may take each step.
package alerts

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/fault"
)

// A Severity is how serious an alert is.
type Severity string

// Severities.
const (
	Low    Severity = "low"
	Medium Severity = "medium"
	High   Severity = "high" // notifies the privacy officers, OPR intake and the requester's supervisor at once
)

// Severities returns every severity, lowest first.
func Severities() []Severity { return []Severity{Low, Medium, High} }

// ParseSeverity returns the severity named s.
func ParseSeverity(s string) (Severity, error) {
	v := Severity(s)
	if !slices.Contains(Severities(), v) {
		return "", fault.New(fault.Invalid, "severity %q is not a severity: use low, medium or high", clip(s))
	}
	return v, nil
}

// A Status is where an alert stands.
type Status string

// Statuses.
const (
	New       Status = "new"       // raised; nobody has looked yet
	Triage    Status = "triage"    // a privacy officer is looking
	Referred  Status = "referred"  // sent to professional responsibility (OPR intake)
	Dismissed Status = "dismissed" // not misuse, with the reason
	Resolved  Status = "resolved"  // dealt with
)

// Statuses returns every status, in workflow order.
func Statuses() []Status { return []Status{New, Triage, Referred, Dismissed, Resolved} }

// ParseStatus returns the status named s.
func ParseStatus(s string) (Status, error) {
	v := Status(s)
	if !slices.Contains(Statuses(), v) {
		return "", fault.New(fault.Invalid, "status %q is not an alert status: use new, triage, referred, dismissed or resolved", clip(s))
	}
	return v, nil
}

// Open reports whether an alert in status s still needs someone.
func (s Status) Open() bool { return s == New || s == Triage || s == Referred }

// An Action is a step of an alert's workflow.
type Action string

// Actions.
const (
	TakeTriage Action = "triage"  // a privacy officer takes the alert
	Refer      Action = "refer"   // … sends it to OPR intake
	Dismiss    Action = "dismiss" // … closes it as not misuse, with the reason
	Resolve    Action = "resolve" // a privacy officer (in triage) or OPR intake (referred) closes it
)

// Actions returns every action.
func Actions() []Action { return []Action{TakeTriage, Refer, Dismiss, Resolve} }

// ParseAction returns the action named s.
func ParseAction(s string) (Action, error) {
	a := Action(s)
	if !slices.Contains(Actions(), a) {
		return "", fault.New(fault.Invalid, "action %q is not an alert step: use triage, refer, dismiss or resolve", clip(s))
	}
	return a, nil
}

// A Capacity is in which role someone takes a step.
type Capacity string

// Capacities.
const (
	PrivacyOfficer Capacity = "privacy_officer" // a component privacy officer of the alert's component, or the department's
	OPRIntake      Capacity = "opr_intake"      // professional responsibility intake of the component, or the department's
)

// Next returns the status an alert in status from goes to when someone in
// capacity takes action a, or why they may not.
func Next(from Status, a Action, by Capacity) (Status, error) {
	type key struct {
		from Status
		a    Action
		by   Capacity
	}
	next, ok := map[key]Status{
		{New, TakeTriage, PrivacyOfficer}: Triage,
		{Triage, Refer, PrivacyOfficer}:   Referred,
		{Triage, Dismiss, PrivacyOfficer}: Dismissed,
		{Triage, Resolve, PrivacyOfficer}: Resolved,
		{Referred, Resolve, OPRIntake}:    Resolved,
	}[key{from, a, by}]
	if ok {
		return next, nil
	}
	switch {
	case !slices.Contains(Actions(), a):
		_, err := ParseAction(string(a))
		return "", err
	case a == Resolve && from == Referred:
		return "", fault.New(fault.Forbidden, "a referred alert is resolved by professional responsibility (OPR intake)")
	case by == OPRIntake && a != Resolve:
		return "", fault.New(fault.Forbidden, "professional responsibility (OPR intake) resolves the alerts referred to it; privacy officers take the other steps")
	case by == OPRIntake && from != Referred:
		return "", fault.New(fault.Forbidden, "professional responsibility (OPR intake) acts on referred alerts only; this one is %s", from)
	case a == TakeTriage:
		return "", fault.New(fault.Conflict, "the alert is %s; only a new alert is taken into triage", from)
	case from == New:
		return "", fault.New(fault.Conflict, "the alert is new; take it into triage first")
	}
	return "", fault.New(fault.Conflict, "the alert is %s; it cannot be %s now", from, pastTense(a))
}

func pastTense(a Action) string {
	switch a {
	case Refer:
		return "referred"
	case Dismiss:
		return "dismissed"
	case Resolve:
		return "resolved"
	}
	return "taken into triage"
}

// Note bounds, in characters.
const (
	MinNote = 10
	MaxNote = 4000
)

// CheckNote checks the note of a step and returns it trimmed: a referral,
// a dismissal and a resolution say why; taking an alert into triage needs
// no note.
func CheckNote(a Action, note string) (string, error) {
	note = strings.TrimSpace(note)
	n := utf8.RuneCountInString(note)
	switch {
	case !utf8.ValidString(note):
		return "", fault.New(fault.Invalid, "note: not valid UTF-8 text")
	case strings.ContainsFunc(note, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
		return "", fault.New(fault.Invalid, "note: control characters are not allowed")
	case n > MaxNote:
		return "", fault.New(fault.Invalid, "note: at most %d characters", MaxNote)
	case a != TakeTriage && n < MinNote:
		what := map[Action]string{Refer: "why the alert goes to professional responsibility", Dismiss: "why this is not misuse (the reason for dismissing it)", Resolve: "how the alert was resolved"}[a]
		return "", fault.New(fault.Invalid, "note: say %s, in at least %d characters", what, MinNote)
	}
	return note, nil
}

// An Alert is what a detector raises.
type Alert struct {
	// Detector is the ID of the detector that raised it, lowercase words
	// joined by underscores (e.g. "employee_device").
	Detector string
	Severity Severity
	// Component is the component whose privacy officers triage it: the
	// query's (the requester's).
	Component string
	// QueryID is the query that raised it, 0 for none (a signal about an
	// account, say).
	QueryID int64
	// PersonID is the person whose action raised it (the requester), 0
	// for none. They never see the alert, nor triage it.
	PersonID int64
	// Explanation says in plain language what was found and why it
	// matters.
	Explanation string
	// Evidence is what the finding rests on, as a JSON object; the ledger
	// commits to its digest.
	Evidence json.RawMessage
}

var detectorR = regexp.MustCompile(`^[a-z][a-z0-9_]{1,62}$`)

// MaxEvidence bounds an alert's evidence, in bytes.
const MaxEvidence = 256 << 10

// Validate reports whether a detector may raise a, and what is wrong.
func (a Alert) Validate() error {
	switch {
	case !detectorR.MatchString(a.Detector):
		return fault.New(fault.Invalid, "detector %q: an ID of 2 to 63 lowercase letters, digits and underscores, starting with a letter", clip(a.Detector))
	case !slices.Contains(Severities(), a.Severity):
		_, err := ParseSeverity(string(a.Severity))
		return err
	case a.Component == "":
		return fault.New(fault.Invalid, "an alert belongs to the component whose privacy officers triage it")
	case a.QueryID < 0 || a.PersonID < 0:
		return fault.New(fault.Invalid, "query and person IDs are positive, or 0 for none")
	}
	n := utf8.RuneCountInString(strings.TrimSpace(a.Explanation))
	switch {
	case !utf8.ValidString(a.Explanation) || strings.ContainsFunc(a.Explanation, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
		return fault.New(fault.Invalid, "explanation: plain text without control characters")
	case n < 10 || n > 4000:
		return fault.New(fault.Invalid, "explanation: say in plain language what was found and why it matters, in 10 to 4000 characters")
	}
	if len(a.Evidence) > MaxEvidence {
		return fault.New(fault.Invalid, "evidence: at most %d bytes", MaxEvidence)
	}
	if len(a.Evidence) > 0 {
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(a.Evidence))
		if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
			return fault.New(fault.Invalid, "evidence: a JSON object")
		}
	}
	return nil
}

// EvidenceJSON returns a's evidence in compact form, "{}" when it has
// none.
func (a Alert) EvidenceJSON() []byte {
	if len(a.Evidence) == 0 {
		return []byte("{}")
	}
	var buf bytes.Buffer
	if json.Compact(&buf, a.Evidence) != nil {
		return []byte("{}")
	}
	return buf.Bytes()
}

func clip(s string) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(s[:40], "") + "…"
	}
	return s
}
