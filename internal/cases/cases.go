// Package cases holds the rules of cases: the purpose every query of
// location data serves. A case has a number, a title, the legal authority
// and the factual predicate it rests on, a status (open, suspended or
// closed, and closed is final), the people assigned to it, the legal
// process (warrants, court orders, subpoenas) obtained for it, and an
// evidence hold that keeps its results past the retention schedule.
//
// Only members of an open case may use data for it: the query path gives
// the policy engine [Case.MemberIDs] and [Case.LegalRefs], and the
// department floor refuses everyone else.
package cases

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/fault"
)

// A Status is where a case is in its life.
type Status string

// Case statuses. Open and suspended cases may move to and fro; either
// may be closed; a closed case stays closed.
const (
	// Open: members may use data for the case.
	Open Status = "open"
	// Suspended: the case is paused (waiting for legal process, say);
	// nobody may use data for it until it is reopened.
	Suspended Status = "suspended"
	// Closed: the case is over. Its results are purged once the grace
	// period after closure ends, unless an evidence hold keeps them.
	Closed Status = "closed"
)

// Statuses returns every status.
func Statuses() []Status { return []Status{Open, Suspended, Closed} }

// Valid reports whether s is a status.
func (s Status) Valid() bool { return slices.Contains(Statuses(), s) }

// ParseStatus returns the status named s.
func ParseStatus(s string) (Status, error) {
	st := Status(strings.ToLower(strings.TrimSpace(s)))
	if !st.Valid() {
		return "", fault.New(fault.Invalid, "a case's status is open, suspended or closed, not %q", s)
	}
	return st, nil
}

// CheckTransition reports whether c may go from its status to status to:
// open ↔ suspended, open or suspended → closed. A closed case is never
// reopened; the work goes on under a new case.
func (c Case) CheckTransition(to Status) error {
	switch {
	case !to.Valid():
		return fault.New(fault.Invalid, "a case's status is open, suspended or closed, not %q", to)
	case c.Status == to:
		return fault.New(fault.Conflict, "case %s is already %s", c.Number, to)
	case c.Status == Closed:
		return fault.New(fault.Conflict, "case %s is closed, and a closed case stays closed: open a new case to continue the work", c.Number)
	case !c.Status.Valid():
		return fault.New(fault.Internal, "case %s has an unknown status %q", c.Number, c.Status)
	}
	return nil
}

// TransitionEvent returns the ledger event type of a case's move to
// status to: case.suspended, case.reopened or case.closed.
func TransitionEvent(to Status) string {
	switch to {
	case Open:
		return "case.reopened"
	case Suspended:
		return "case.suspended"
	case Closed:
		return "case.closed"
	}
	return "case.status_changed"
}

// A Kind is a kind of legal process.
type Kind string

// Kinds of legal process.
const (
	Warrant    Kind = "warrant"
	CourtOrder Kind = "court_order"
	Subpoena   Kind = "subpoena"
)

// Kinds returns every kind of legal process.
func Kinds() []Kind { return []Kind{Warrant, CourtOrder, Subpoena} }

// Valid reports whether k is a kind of legal process.
func (k Kind) Valid() bool { return slices.Contains(Kinds(), k) }

// Title returns the kind's name for people.
func (k Kind) Title() string {
	switch k {
	case Warrant:
		return "warrant"
	case CourtOrder:
		return "court order"
	case Subpoena:
		return "subpoena"
	}
	return string(k)
}

// A LegalProcess is a warrant, court order or subpoena obtained for a
// case. Its reference (a docket or order number) is what a query names
// when the department floor requires legal process.
type LegalProcess struct {
	Kind      Kind
	Reference string
	// IssuedOn and ExpiresOn are days (midnight UTC). The process is in
	// force from the start of IssuedOn to the end of ExpiresOn; a zero
	// ExpiresOn never expires (a subpoena, say).
	IssuedOn  time.Time
	ExpiresOn time.Time
	AddedAt   time.Time
	AddedBy   string // employee ID
}

// InForce reports whether the process is in force at t: issued on or
// before t's day, and not expired before it.
func (lp LegalProcess) InForce(t time.Time) bool {
	if t.Before(lp.IssuedOn) {
		return false
	}
	return lp.ExpiresOn.IsZero() || t.Before(lp.ExpiresOn.AddDate(0, 0, 1))
}

// Normalize trims lp's reference and makes its dates whole days.
func (lp *LegalProcess) Normalize() {
	lp.Reference = strings.TrimSpace(lp.Reference)
	lp.IssuedOn, lp.ExpiresOn = Day(lp.IssuedOn), Day(lp.ExpiresOn)
}

// Limits on a case's fields.
const (
	MaxTitle        = 200
	MaxAuthority    = 500
	MinPredicate    = 20
	MaxPredicate    = 4000
	MaxReference    = 100
	MaxReason       = 1000
	MaxMembers      = 200
	MaxLegalProcess = 100
)

// Validate reports whether lp is well formed, naming its fields with
// prefix (e.g. "legal_process[0]." or ""); call [LegalProcess.Normalize]
// first. now is today's time: process issued after today is refused.
func (lp LegalProcess) Validate(prefix string, now time.Time) Errors {
	var errs Errors
	if !lp.Kind.Valid() {
		errs.Add(prefix+"kind", fmt.Sprintf("the kind of legal process is warrant, court_order or subpoena, not %q", lp.Kind))
	}
	errs.text(prefix+"reference", lp.Reference, 1, MaxReference)
	switch {
	case lp.IssuedOn.IsZero():
		errs.Add(prefix+"issued_on", "give the day the process was issued, YYYY-MM-DD")
	case lp.IssuedOn.After(now):
		errs.Add(prefix+"issued_on", fmt.Sprintf("%s is in the future: record legal process once it is issued", lp.IssuedOn.Format(time.DateOnly)))
	}
	if !lp.ExpiresOn.IsZero() && !lp.IssuedOn.IsZero() && lp.ExpiresOn.Before(lp.IssuedOn) {
		errs.Add(prefix+"expires_on", fmt.Sprintf("%s is before the day it was issued, %s", lp.ExpiresOn.Format(time.DateOnly), lp.IssuedOn.Format(time.DateOnly)))
	}
	return errs
}

// A Member is a person assigned to a case.
type Member struct {
	PersonID   int64
	EmployeeID string
	Name       string
	AddedAt    time.Time
	AddedBy    string // the employee ID of who added them
}

// A StatusChange is one step of a case's history, its opening included
// (From is then "").
type StatusChange struct {
	From   Status
	To     Status
	Reason string
	By     string // employee ID
	At     time.Time
}

// A Case is the purpose queries serve.
type Case struct {
	ID int64
	// Number identifies the case across the department: see
	// [ParseNumber].
	Number         string
	Title          string
	LegalAuthority string // the statutes and regulations the work rests on
	Predicate      string // the facts that justify it
	Status         Status
	// Component owns the case (the prefix of its number); UnitID, when
	// not 0, is the unit of the component that works it.
	Component    string
	UnitID       int64
	Members      []Member
	LegalProcess []LegalProcess
	// EvidenceHold keeps the case's results past the retention schedule
	// and the grace period after closure, until it is released.
	EvidenceHold  bool
	HoldReason    string
	HoldChangedAt time.Time
	HoldChangedBy string
	CreatedBy     string // employee ID
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// ClosedAt is when the case was closed; zero while it is not.
	ClosedAt time.Time
	// StatusReason is the reason given for the latest change of status.
	StatusReason string
	// History is the case's changes of status, oldest first; filled only
	// where a case is shown whole.
	History []StatusChange
}

// Normalize trims c's text, upper-cases its number, takes its component
// from the number when none is given, and makes its legal process's
// dates whole days.
func (c *Case) Normalize() {
	c.Number = normalizeNumber(c.Number)
	c.Title = strings.TrimSpace(c.Title)
	c.LegalAuthority = strings.TrimSpace(c.LegalAuthority)
	c.Predicate = strings.TrimSpace(c.Predicate)
	c.Component = strings.TrimSpace(c.Component)
	if c.Component == "" {
		c.Component = ComponentOf(c.Number)
	}
	for i := range c.LegalProcess {
		c.LegalProcess[i].Normalize()
	}
	for i := range c.Members {
		c.Members[i].EmployeeID = strings.TrimSpace(c.Members[i].EmployeeID)
	}
}

// Validate reports whether c is well formed as a new case, with every
// field at fault; call [Case.Normalize] first. now is today's time.
func (c Case) Validate(now time.Time) error {
	var errs Errors
	if err := numberProblem(c.Number); err != "" {
		errs.Add("number", err)
	} else if c.Component != "" && ComponentOf(c.Number) != c.Component {
		errs.Add("number", fmt.Sprintf("%s is a number of %s's cases, not %s's: a case number starts with its component's code", c.Number, ComponentOf(c.Number), c.Component))
	}
	if c.Component == "" {
		errs.Add("component", "a case belongs to a component")
	}
	if c.UnitID < 0 {
		errs.Add("unit_id", "must be a unit's ID, or 0 for none")
	}
	errs.text("title", c.Title, 1, MaxTitle)
	errs.text("legal_authority", c.LegalAuthority, 1, MaxAuthority)
	if msg := checkText(c.Predicate, MinPredicate, MaxPredicate); msg != "" {
		if strings.HasPrefix(msg, "must be at least") {
			msg += ": say what the case investigates and on what facts"
		}
		errs.Add("predicate", msg)
	}
	if c.Status != "" && c.Status != Open {
		errs.Add("status", fmt.Sprintf("a case is opened open, not %s", c.Status))
	}
	if len(c.Members) > MaxMembers {
		errs.Add("members", fmt.Sprintf("at most %d members", MaxMembers))
	}
	seen := map[string]bool{}
	for i, m := range c.Members {
		switch {
		case m.EmployeeID == "":
			errs.Add(fmt.Sprintf("members[%d]", i), "name the member by employee ID")
		case m.EmployeeID != "" && seen[m.EmployeeID]:
			errs.Add(fmt.Sprintf("members[%d]", i), fmt.Sprintf("%s is listed twice", m.EmployeeID))
		}
		seen[m.EmployeeID] = true
	}
	if len(c.LegalProcess) > MaxLegalProcess {
		errs.Add("legal_process", fmt.Sprintf("at most %d", MaxLegalProcess))
	}
	refs := map[string]bool{}
	for i, lp := range c.LegalProcess {
		prefix := fmt.Sprintf("legal_process[%d].", i)
		errs = append(errs, lp.Validate(prefix, now)...)
		if refs[lp.Reference] && lp.Reference != "" {
			errs.Add(prefix+"reference", fmt.Sprintf("%q is listed twice", lp.Reference))
		}
		refs[lp.Reference] = true
	}
	return errs.Err("the case is not valid")
}

// MemberIDs returns the employee IDs of the case's members, sorted.
func (c Case) MemberIDs() []string {
	out := make([]string, 0, len(c.Members))
	for _, m := range c.Members {
		out = append(out, m.EmployeeID)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// IsMember reports whether the person is a member of the case.
func (c Case) IsMember(personID int64) bool {
	return personID != 0 && slices.ContainsFunc(c.Members, func(m Member) bool { return m.PersonID == personID })
}

// Member returns the member with an employee ID.
func (c Case) Member(employeeID string) (Member, bool) {
	i := slices.IndexFunc(c.Members, func(m Member) bool { return m.EmployeeID == employeeID })
	if i < 0 {
		return Member{}, false
	}
	return c.Members[i], true
}

// LegalRefs returns the references of the case's legal process in force
// at t (issued, and not expired), sorted.
func (c Case) LegalRefs(t time.Time) []string {
	out := []string{}
	for _, lp := range c.LegalProcess {
		if lp.InForce(t) {
			out = append(out, lp.Reference)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// PurgeableAfter returns when the results of the case may be purged, once
// closed for grace, and whether they may be at all: not while the case is
// open or suspended, nor while an evidence hold keeps them.
func (c Case) PurgeableAfter(grace time.Duration) (time.Time, bool) {
	if c.Status != Closed || c.ClosedAt.IsZero() || c.EvidenceHold {
		return time.Time{}, false
	}
	return c.ClosedAt.Add(grace), true
}

// Day returns the day of t, as midnight UTC; the zero time stays zero.
func Day(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ParseDate parses a day, YYYY-MM-DD, for field; "" is no day.
func ParseDate(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil || d.Year() < 1900 || d.Year() > 2999 {
		return time.Time{}, Errors{{Field: field, Message: fmt.Sprintf("must be a day, YYYY-MM-DD, from 1900 to 2999, not %q", s)}}.Err("the request is not valid")
	}
	return d, nil
}
