package program

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
)

// Who may do what. Reading and managing are permissions held in a
// component or department-wide; taking a recommendation's status steps is
// further tied to roles, because those steps are the agency's statements
// to the issuer:
//
//   - the owning component's privacy officer, or the department privacy
//     officer, marks a recommendation resolved (the department's own
//     recommendations: the department privacy officer only);
//   - only the department privacy officer records the issuer's closure,
//     and reopens a closed recommendation;
//   - the owner (the person accountable) may link the policies, controls
//     and evidence that answer their recommendation, besides those who
//     manage it.

// MayRead reports whether p may see r: the department's own
// recommendations are visible to every reader of the program; a
// component's, to its readers and to department-wide ones.
func MayRead(p auth.Principal, r Recommendation) bool {
	if r.OwnerComponent == "" {
		return p.Can(auth.ProgramRead)
	}
	return p.CanIn(auth.ProgramRead, r.OwnerComponent)
}

// CheckManage reports whether p may record and change the recommendations
// component owns ("" for the department's own).
func CheckManage(p auth.Principal, component string) error {
	if p.CanIn(auth.ProgramManage, component) {
		return nil
	}
	if component == "" {
		return fault.New(fault.Forbidden, "only the department privacy officer manages the department's own recommendations")
	}
	return fault.New(fault.Forbidden, "only a privacy officer of %s or the department privacy officer manages %s's recommendations", component, component)
}

// CheckNewReport reports whether p may record an audit report: reports
// concern the department as a whole, so recording them is a
// department-wide duty.
func CheckNewReport(p auth.Principal, r Report, now time.Time) error {
	if !p.CanIn(auth.ProgramManage, "") {
		return fault.New(fault.Forbidden, "only the department privacy officer records audit reports")
	}
	if err := r.Validate(); err != nil {
		return err
	}
	if today := DateOf(now); r.Issued.After(today) {
		return invalid("issued_on", "the report's date %s is in the future", r.Issued)
	}
	return nil
}

// CheckNew reports whether p may record r, a new recommendation: it must
// be well formed, open, and owned by a component p manages.
func CheckNew(p auth.Principal, r Recommendation) error {
	if err := CheckManage(p, r.OwnerComponent); err != nil {
		return err
	}
	if r.Status != Open {
		return invalid("status", "a new recommendation is open; resolve it as a separate step, with its evidence")
	}
	return r.Validate()
}

// holds reports whether p holds role exactly in component ("" is
// department-wide) and the credential it uses allows managing there.
func holds(p auth.Principal, role auth.Role, component string) bool {
	return p.CanIn(auth.ProgramManage, component) && slices.Contains(p.Grants, auth.Grant{Role: role, Component: component})
}

// isDepartmentPrivacyOfficer reports whether p acts as the department
// privacy officer.
func isDepartmentPrivacyOfficer(p auth.Principal) bool {
	return holds(p, auth.DepartmentPrivacyOfficer, "")
}

// mayResolve reports whether p may mark r resolved or reopen it while
// resolved: the owning component's privacy officer or the department
// privacy officer.
func mayResolve(p auth.Principal, r Recommendation) bool {
	if isDepartmentPrivacyOfficer(p) {
		return true
	}
	return r.OwnerComponent != "" && holds(p, auth.ComponentPrivacyOfficer, r.OwnerComponent)
}

func resolverText(r Recommendation) string {
	if r.OwnerComponent == "" {
		return "the department privacy officer"
	}
	return "the privacy officer of " + r.OwnerComponent + " or the department privacy officer"
}

// step checks a step's note and day: the note is required, the day is
// today unless given, and lies between earliest and today.
func step(s Step, what string, earliest Date, earliestWhat string, now time.Time) (Step, error) {
	s.Note = strings.TrimSpace(s.Note)
	if err := checkText("note", what, s.Note, MaxNote, true); err != nil {
		return s, err
	}
	today := DateOf(now)
	if s.On.IsZero() {
		s.On = today
	}
	if s.On.After(today) {
		return s, invalid("on", "the date %s is in the future", s.On)
	}
	if !earliest.IsZero() && s.On.Before(earliest) {
		return s, invalid("on", "the date %s is before %s (%s)", s.On, earliestWhat, earliest)
	}
	return s, nil
}

// Resolve returns r marked resolved by p: the agency says it carried the
// recommendation out. It needs at least one linked piece of evidence and a
// note saying what was done; s.On is the day the agency reported it done
// (today when zero).
func Resolve(p auth.Principal, r Recommendation, s Step, now time.Time) (Recommendation, error) {
	if !mayResolve(p, r) {
		return r, fault.New(fault.Forbidden, "only %s marks %s resolved", resolverText(r), r.Name())
	}
	switch r.Status {
	case Resolved:
		return r, fault.New(fault.Conflict, "%s is already resolved (on %s); it waits for the issuer's closure", r.Name(), r.Resolution.On)
	case Closed:
		return r, fault.New(fault.Conflict, "%s is closed; if the issuer reopened it, reopen it first", r.Name())
	}
	s, err := step(s, "resolution note (what was done)", r.Report.Issued, "the report's date", now)
	if err != nil {
		return r, err
	}
	if r.Evidence() == 0 {
		return r, refuse(fault.Precondition, "links", "%s has no evidence linked: link at least one piece of evidence of what was done before marking it resolved", r.Name())
	}
	s.By, s.At = p.ID, now
	r.Status, r.Resolution = Resolved, s
	return r, nil
}

// Close returns r closed, as recorded by p: the issuer accepted the
// agency's resolution. s.Note says how (the issuer's letter, say) and
// s.On is the day of that acceptance (today when zero).
func Close(p auth.Principal, r Recommendation, s Step, now time.Time) (Recommendation, error) {
	if !isDepartmentPrivacyOfficer(p) {
		return r, fault.New(fault.Forbidden, "only the department privacy officer records the issuer's closure of %s", r.Name())
	}
	switch r.Status {
	case Open:
		return r, fault.New(fault.Conflict, "%s is open: it must be resolved, with its evidence, before the issuer's closure can be recorded", r.Name())
	case Closed:
		return r, fault.New(fault.Conflict, "%s is already closed (on %s)", r.Name(), r.Closure.On)
	}
	s, err := step(s, "closure note (how the issuer accepted it)", r.Resolution.On, "its resolution", now)
	if err != nil {
		return r, err
	}
	s.By, s.At = p.ID, now
	r.Status, r.Closure = Closed, s
	return r, nil
}

// Reopen returns r open again, as p decided: a resolution the issuer did
// not accept, or a closed recommendation the issuer reopened (which only
// the department privacy officer records). The reason is required.
func Reopen(p auth.Principal, r Recommendation, reason string) (Recommendation, error) {
	switch r.Status {
	case Open:
		return r, fault.New(fault.Conflict, "%s is already open", r.Name())
	case Resolved:
		if !mayResolve(p, r) {
			return r, fault.New(fault.Forbidden, "only %s reopens %s", resolverText(r), r.Name())
		}
	case Closed:
		if !isDepartmentPrivacyOfficer(p) {
			return r, fault.New(fault.Forbidden, "only the department privacy officer reopens %s, which the issuer closed", r.Name())
		}
	}
	if err := checkText("reason", "reason", strings.TrimSpace(reason), MaxNote, true); err != nil {
		return r, err
	}
	r.Status, r.Resolution, r.Closure = Open, Step{}, Step{}
	return r, nil
}

// A Change changes a recommendation's details; nil fields stay as they
// are.
type Change struct {
	Number         *string
	Text           *string
	OwnerComponent *string
	OwnerID        *int64
	// Target, when set, replaces the target date (the zero Date removes
	// it).
	Target *Date
	// Reason says why; required to move a target date later or remove it.
	Reason string
}

// Apply returns r with c applied by p, and the names of the fields that
// changed, or why p may not make the change. A closed recommendation does
// not change; moving to another component needs the right to manage both.
func (c Change) Apply(p auth.Principal, r Recommendation) (Recommendation, []string, error) {
	if err := CheckManage(p, r.OwnerComponent); err != nil {
		return r, nil, err
	}
	if r.Status == Closed {
		return r, nil, fault.New(fault.Conflict, "%s is closed; reopen it to change it", r.Name())
	}
	old := r
	var changed []string
	set := func(name string, dst *string, v *string) {
		if v != nil && strings.TrimSpace(*v) != *dst {
			*dst = strings.TrimSpace(*v)
			changed = append(changed, name)
		}
	}
	set("number", &r.Number, c.Number)
	set("text", &r.Text, c.Text)
	set("owner_component", &r.OwnerComponent, c.OwnerComponent)
	if c.OwnerID != nil && *c.OwnerID != r.OwnerID {
		r.OwnerID = *c.OwnerID
		r.OwnerEmpID, r.OwnerName = "", ""
		changed = append(changed, "owner")
	}
	if c.Target != nil && *c.Target != r.Target {
		r.Target = *c.Target
		changed = append(changed, "target_on")
	}
	if len(changed) == 0 {
		return r, nil, nil
	}
	if r.OwnerComponent != old.OwnerComponent {
		if err := CheckManage(p, r.OwnerComponent); err != nil {
			return old, nil, err
		}
	}
	reason := strings.TrimSpace(c.Reason)
	if !old.Target.IsZero() && (r.Target.IsZero() || r.Target.After(old.Target)) && reason == "" {
		to := "removing it"
		if !r.Target.IsZero() {
			to = "moving it to " + r.Target.String()
		}
		return old, nil, invalid("reason", "the target date was %s: give a reason for %s", old.Target, to)
	}
	if reason != "" {
		if err := checkText("reason", "reason", reason, MaxNote, true); err != nil {
			return old, nil, err
		}
	}
	if err := r.Validate(); err != nil {
		return old, nil, err
	}
	return r, changed, nil
}

// CheckLinks reports whether p may change what r links to: its owner, and
// those who manage its component's recommendations.
func CheckLinks(p auth.Principal, r Recommendation) error {
	if CheckManage(p, r.OwnerComponent) == nil {
		return nil
	}
	if p.PersonID != 0 && p.PersonID == r.OwnerID && p.CanIn(auth.ProgramRead, r.OwnerComponent) {
		return nil
	}
	if r.OwnerComponent == "" {
		return fault.New(fault.Forbidden, "only the owner of %s or the department privacy officer links what answers it", r.Name())
	}
	return fault.New(fault.Forbidden, "only the owner of %s, a privacy officer of %s or the department privacy officer links what answers it", r.Name(), r.OwnerComponent)
}

// AddLink returns r with l added by p, and l as added. A closed
// recommendation's links do not change.
func AddLink(p auth.Principal, r Recommendation, l Link, now time.Time) (Recommendation, Link, error) {
	if err := CheckLinks(p, r); err != nil {
		return r, l, err
	}
	if r.Status == Closed {
		return r, l, fault.New(fault.Conflict, "%s is closed; its links do not change unless it is reopened", r.Name())
	}
	l.Normalize()
	if err := l.Validate(); err != nil {
		return r, l, err
	}
	for _, x := range r.Links {
		if x.Kind == l.Kind && x.Ref == l.Ref {
			return r, l, refuse(fault.Conflict, "ref", "%s already links %s %s", r.Name(), l.Kind, l.Ref)
		}
	}
	if len(r.Links) >= MaxLinks {
		return r, l, fault.New(fault.Conflict, "%s already has %d links, the most it may have", r.Name(), MaxLinks)
	}
	l.AddedAt, l.AddedBy = now, p.ID
	r.Links = append(slices.Clip(r.Links), l)
	return r, l, nil
}

// RemoveLink returns r without its link id, and the link removed. Only an
// open recommendation's links are removed: a resolution rests on them.
func RemoveLink(p auth.Principal, r Recommendation, id int64) (Recommendation, Link, error) {
	if err := CheckLinks(p, r); err != nil {
		return r, Link{}, err
	}
	i := slices.IndexFunc(r.Links, func(l Link) bool { return l.ID == id })
	if i < 0 {
		return r, Link{}, fault.New(fault.NotFound, "%s has no link %d", r.Name(), id)
	}
	if r.Status != Open {
		return r, Link{}, fault.New(fault.Conflict, "%s is %s and its resolution rests on its links; reopen it to remove one", r.Name(), r.Status)
	}
	l := r.Links[i]
	r.Links = slices.Delete(slices.Clone(r.Links), i, i+1)
	return r, l, nil
}

// DueSoon is how close an open recommendation's target date must be for
// it to count as due soon.
const DueSoon = 30 // days

// Counts are the numbers of recommendations in each state.
type Counts struct {
	Total, Open, Resolved, Closed int
	// Overdue are open past their target date; DueSoon open with a target
	// date in the next [DueSoon] days; NoTarget open without one.
	Overdue, DueSoon, NoTarget int
}

func (c *Counts) add(r Recommendation, today Date) {
	c.Total++
	switch r.Status {
	case Open:
		c.Open++
		switch {
		case r.Target.IsZero():
			c.NoTarget++
		case r.Overdue(today):
			c.Overdue++
		case r.Target.DaysAfter(today) <= DueSoon:
			c.DueSoon++
		}
	case Resolved:
		c.Resolved++
	case Closed:
		c.Closed++
	}
}

// ComponentCounts are the counts of one owning component ("" for the
// department).
type ComponentCounts struct {
	Component string
	Counts
}

// ReportCounts are the counts of one report.
type ReportCounts struct {
	Report Report
	Counts
}

// A Summary is where the program stands on a day.
type Summary struct {
	Today Date
	Counts
	Components []ComponentCounts // the department first, then by code
	Reports    []ReportCounts    // newest report first
	// OverdueList is every overdue recommendation, most overdue first.
	OverdueList []Recommendation
}

// Summarize counts recs as they stand on today.
func Summarize(recs []Recommendation, today Date) Summary {
	s := Summary{Today: today}
	comps := map[string]*ComponentCounts{}
	reports := map[int64]*ReportCounts{}
	for _, r := range recs {
		s.add(r, today)
		c := comps[r.OwnerComponent]
		if c == nil {
			c = &ComponentCounts{Component: r.OwnerComponent}
			comps[r.OwnerComponent] = c
		}
		c.add(r, today)
		rc := reports[r.ReportID]
		if rc == nil {
			rc = &ReportCounts{Report: r.Report}
			rc.Report.ID = r.ReportID
			reports[r.ReportID] = rc
		}
		rc.add(r, today)
		if r.Overdue(today) {
			s.OverdueList = append(s.OverdueList, r)
		}
	}
	for _, c := range comps {
		s.Components = append(s.Components, *c)
	}
	slices.SortFunc(s.Components, func(a, b ComponentCounts) int { return cmp.Compare(a.Component, b.Component) })
	for _, rc := range reports {
		s.Reports = append(s.Reports, *rc)
	}
	slices.SortFunc(s.Reports, func(a, b ReportCounts) int {
		return cmp.Or(b.Report.Issued.t.Compare(a.Report.Issued.t), cmp.Compare(a.Report.ID, b.Report.ID))
	})
	slices.SortStableFunc(s.OverdueList, func(a, b Recommendation) int {
		return cmp.Or(a.Target.t.Compare(b.Target.t), cmp.Compare(a.ID, b.ID))
	})
	return s
}
