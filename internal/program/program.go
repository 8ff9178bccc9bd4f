// Package program is the compliance program's record of itself: the audit
// reports an inspector general, GAO or internal audit issued about the
// department, the recommendations each made, who owns each one and by when,
// where each stands — open, resolved by the agency with evidence, closed
// once the issuer accepts — and the policies, controls and evidence that
// answer it. It holds the rules (what a well-formed record is, who may take
// which step, what a step needs, when a recommendation is overdue) and the
// exchange file format; storing and serving are adapters elsewhere.
package program

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/fault"
)

// An Issuer is who issued an audit report.
type Issuer string

// Issuers.
const (
	InspectorGeneral Issuer = "inspector_general" // an Office of Inspector General
	GAO              Issuer = "gao"               // the Government Accountability Office
	InternalAudit    Issuer = "internal"          // the department's or a component's own audit
)

// Issuers returns every issuer.
func Issuers() []Issuer { return []Issuer{InspectorGeneral, GAO, InternalAudit} }

// Title returns the issuer's name for people.
func (i Issuer) Title() string {
	switch i {
	case InspectorGeneral:
		return "Inspector general"
	case GAO:
		return "GAO"
	case InternalAudit:
		return "Internal audit"
	}
	return string(i)
}

func (i Issuer) valid() bool {
	switch i {
	case InspectorGeneral, GAO, InternalAudit:
		return true
	}
	return false
}

// A Status is where a recommendation stands.
type Status string

// Statuses. A recommendation is open until the agency says it is done and
// shows the evidence (resolved), and resolved until the issuer accepts that
// (closed). Either may be reopened.
const (
	Open     Status = "open"
	Resolved Status = "resolved"
	Closed   Status = "closed"
)

func (s Status) valid() bool {
	switch s {
	case Open, Resolved, Closed:
		return true
	}
	return false
}

// A Date is a calendar day — a report's date, a target date — not an
// instant. Days are counted in UTC. The zero Date is "no date".
type Date struct{ t time.Time }

// DateOf returns the UTC calendar day of t.
func DateOf(t time.Time) Date {
	y, m, d := t.UTC().Date()
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// ParseDate parses a day written YYYY-MM-DD, between the years 1900 and
// 9999; "" is the zero Date.
func ParseDate(s string) (Date, error) {
	if s == "" {
		return Date{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || len(s) != len(time.DateOnly) || t.Year() < 1900 {
		return Date{}, fmt.Errorf("%q is not a date written YYYY-MM-DD", s)
	}
	return Date{t}, nil
}

// MustDate is [ParseDate] for constants known to be valid.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// IsZero reports whether d is no date.
func (d Date) IsZero() bool { return d.t.IsZero() }

// String returns d as YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.t.Format(time.DateOnly)
}

// Before reports whether d is a day before e.
func (d Date) Before(e Date) bool { return d.t.Before(e.t) }

// After reports whether d is a day after e.
func (d Date) After(e Date) bool { return d.t.After(e.t) }

// DaysAfter returns how many days d is after e (negative when before).
func (d Date) DaysAfter(e Date) int { return int(d.t.Sub(e.t).Hours() / 24) }

// A FieldError names the field of a record a validation error is about,
// by its name in the exchange file, so that a file's problem can be
// located; the message is that of the [fault.Error] that wraps it.
type FieldError struct{ Field string }

func (e *FieldError) Error() string { return "field " + e.Field }

// invalid returns a user-facing validation error about field.
func invalid(field, format string, args ...any) error {
	return fault.Wrap(&FieldError{Field: field}, fault.Invalid, format, args...)
}

// refuse returns an error with code about field.
func refuse(code fault.Code, field, format string, args ...any) error {
	return fault.Wrap(&FieldError{Field: field}, code, format, args...)
}

// FieldOf returns the field err is about, or "" when it names none.
func FieldOf(err error) string {
	if fe, ok := errors.AsType[*FieldError](err); ok {
		return fe.Field
	}
	return ""
}

// Limits on the sizes of records.
const (
	MaxTitle      = 500
	MaxText       = 4000
	MaxNote       = 2000
	MaxURL        = 2000
	MaxRef        = 300
	MaxLinks      = 100 // links per recommendation
	maxNumber     = 40
	maxRecNumber  = 20
	maxIdentifier = 200
)

// checkText checks free text: not blank, at most max characters, no
// control characters but line breaks and tabs (when multiline).
func checkText(field, what string, s string, max int, multiline bool) error {
	if !utf8.ValidString(s) {
		return invalid(field, "the %s is not valid UTF-8 text", what)
	}
	if strings.TrimSpace(s) == "" {
		return invalid(field, "the %s is empty", what)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(field, "the %s is %d characters long; the limit is %d", what, n, max)
	}
	for _, r := range s {
		if (r == '\n' || r == '\t') && multiline {
			continue
		}
		if r == '\r' && multiline {
			continue
		}
		if !unicode.IsPrint(r) && r != ' ' {
			return invalid(field, "the %s contains a control or invisible character (%U)", what, r)
		}
	}
	return nil
}

var (
	reportNumber = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9 ._/()-]*[A-Za-z0-9)])?$`)
	recNumber    = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9.()-]*[A-Za-z0-9)])?$`)
	identifier   = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._:/@#()+-]*[A-Za-z0-9)])?$`)
	componentRe  = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,15}$`)
	sha256Ref    = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// checkURL checks an optional http(s) address.
func checkURL(field, s string) error {
	if s == "" {
		return nil
	}
	if len(s) > MaxURL {
		return invalid(field, "the address is %d characters long; the limit is %d", len(s), MaxURL)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || strings.ContainsAny(s, " \t\r\n") {
		return invalid(field, "%q is not an http:// or https:// address", s)
	}
	return nil
}

// A Report is an audit report about the department or its components.
type Report struct {
	ID     int64
	Issuer Issuer
	// Number is the issuer's report number, e.g. "OIG-23-61" or "GAO-24-106379".
	Number string
	Title  string
	Issued Date   // the report's date
	URL    string // where the report is published; optional
	// CreatedAt and CreatedBy say when and by whom it was recorded.
	CreatedAt time.Time
	CreatedBy string
}

// Normalize trims surrounding space from r's fields.
func (r *Report) Normalize() {
	r.Number = strings.TrimSpace(r.Number)
	r.Title = strings.TrimSpace(r.Title)
	r.URL = strings.TrimSpace(r.URL)
}

// Validate reports whether r is a well-formed report.
func (r Report) Validate() error { return first(r.problems()) }

// problems returns what is wrong with each of r's fields.
func (r Report) problems() []error {
	var errs []error
	if !r.Issuer.valid() {
		errs = append(errs, invalid("issuer", "the issuer %q is not one of inspector_general, gao or internal", r.Issuer))
	}
	switch {
	case r.Number == "":
		errs = append(errs, invalid("number", "the report number is empty"))
	case len(r.Number) > maxNumber || !reportNumber.MatchString(r.Number):
		errs = append(errs, invalid("number", "the report number %q must be up to %d letters, digits, spaces and . _ / ( ) -, starting and ending with a letter or digit", r.Number, maxNumber))
	}
	errs = append(errs, checkText("title", "title", r.Title, MaxTitle, false))
	if r.Issued.IsZero() {
		errs = append(errs, invalid("issued_on", "the report's date is missing"))
	}
	return append(errs, checkURL("url", r.URL))
}

// first returns the first error of errs that is not nil.
func first(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// A LinkKind is what a link points at.
type LinkKind string

// Link kinds.
const (
	// LinkPolicy is a policy that answers the recommendation: a Cedar
	// policy's @id, or a directive or rules of behavior.
	LinkPolicy LinkKind = "policy"
	// LinkControl is a security or privacy control that answers it: a
	// NIST SP 800-53 control such as AU-6(1), or one of Probity's own
	// enforced controls.
	LinkControl LinkKind = "control"
	// LinkEvidence is evidence that it was carried out: a file in the
	// evidence store ("sha256:…"), a ledger entry ("ledger:1234"), or a
	// record or document named by an identifier or address.
	LinkEvidence LinkKind = "evidence"
)

// LinkKinds returns every link kind.
func LinkKinds() []LinkKind { return []LinkKind{LinkPolicy, LinkControl, LinkEvidence} }

func (k LinkKind) valid() bool {
	switch k {
	case LinkPolicy, LinkControl, LinkEvidence:
		return true
	}
	return false
}

// A Link is a typed reference from a recommendation to what answers it.
type Link struct {
	ID   int64
	Kind LinkKind
	// Ref identifies the target within its kind: an identifier
	// ("AU-6(1)", "department.forbid.pia-gate", "sha256:…", "ledger:42")
	// or an http(s) address.
	Ref  string
	Note string // optional: what the target shows
	// AddedAt and AddedBy say when and by whom it was linked.
	AddedAt time.Time
	AddedBy string
}

// Normalize trims surrounding space from l's fields.
func (l *Link) Normalize() {
	l.Ref = strings.TrimSpace(l.Ref)
	l.Note = strings.TrimSpace(l.Note)
}

// Validate reports whether l is a well-formed link.
func (l Link) Validate() error { return first(l.problems()) }

// problems returns what is wrong with each of l's fields.
func (l Link) problems() []error {
	var errs []error
	if !l.Kind.valid() {
		errs = append(errs, invalid("kind", "the link kind %q is not one of policy, control or evidence", l.Kind))
	}
	errs = append(errs, checkRef(l.Kind, l.Ref))
	if l.Note != "" {
		errs = append(errs, checkText("note", "link's note", l.Note, MaxNote, true))
	}
	return errs
}

func checkRef(kind LinkKind, ref string) error {
	switch {
	case ref == "":
		return invalid("ref", "the link names no %s (ref is empty)", kind)
	case strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "http://"):
		return checkURL("ref", ref)
	case len(ref) > MaxRef:
		return invalid("ref", "the reference is %d characters long; the limit is %d", len(ref), MaxRef)
	case !identifier.MatchString(ref):
		return invalid("ref", "the reference %q must be an http(s) address or an identifier of letters, digits and . _ : / @ # ( ) + -", ref)
	case strings.HasPrefix(ref, "sha256:") && !sha256Ref.MatchString(ref):
		return invalid("ref", "the reference %q must be \"sha256:\" and 64 lowercase hexadecimal digits", ref)
	case strings.HasPrefix(ref, "ledger:"):
		if n, err := strconv.ParseInt(strings.TrimPrefix(ref, "ledger:"), 10, 64); err != nil || n < 0 || strconv.FormatInt(n, 10) != strings.TrimPrefix(ref, "ledger:") {
			return invalid("ref", "the reference %q must be \"ledger:\" and an entry index", ref)
		}
	}
	return nil
}

// A Step is a change of a recommendation's status as recorded: the day it
// happened, what was said, and who recorded it when.
type Step struct {
	// On is the day it happened: the day the agency reported the
	// recommendation done (resolution), or the day of the issuer's
	// acceptance (closure).
	On   Date
	Note string
	By   string    // the actor who recorded it
	At   time.Time // when it was recorded
}

// A Recommendation is one recommendation of a report.
type Recommendation struct {
	ID       int64
	ReportID int64
	// Number is the recommendation's number in its report, e.g. "3".
	Number string
	Text   string
	// OwnerComponent is the component that must carry it out; "" when the
	// department itself (its privacy office, its CIO) must.
	OwnerComponent string
	// OwnerID is the person accountable for it, who belongs to
	// OwnerComponent (department staff for the department).
	OwnerID int64
	Status  Status
	Target  Date // the date the agency committed to; zero when none was set
	// Resolution is set while resolved or closed; Closure while closed.
	Resolution Step
	Closure    Step
	Links      []Link
	// Version counts changes, for detecting concurrent ones.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time

	// Filled when read, for display: the report and the owner; History
	// only when one recommendation is read.
	Report     Report
	OwnerEmpID string
	OwnerName  string
	History    []Transition
}

// A Transition is one recorded status step of a recommendation, taken or
// refused.
type Transition struct {
	Action   string // resolved, closed or reopened
	From, To Status
	On       Date // the day it happened, for a resolution or closure
	Note     string
	By       string    // the actor who recorded it, or who was refused
	At       time.Time // when it was recorded
	// Refused, when set, says why the step was refused: From and To are
	// then the status it stayed in.
	Refused string
}

// Normalize trims surrounding space from r's fields.
func (r *Recommendation) Normalize() {
	r.Number = strings.TrimSpace(r.Number)
	r.Text = strings.TrimSpace(r.Text)
	r.OwnerComponent = strings.TrimSpace(r.OwnerComponent)
}

// Validate reports whether r's own fields are well formed. Whether the
// owner exists and belongs to the owning component is checked where people
// are known.
func (r Recommendation) Validate() error {
	if err := r.validateOwn(); err != nil {
		return err
	}
	if r.OwnerID <= 0 {
		return invalid("owner", "the recommendation has no owner: name the person accountable for it")
	}
	return nil
}

// validateOwn checks the fields that need no one else's records.
func (r Recommendation) validateOwn() error { return first(r.problems()) }

// problems returns what is wrong with each of r's own fields.
func (r Recommendation) problems() []error {
	var errs []error
	switch {
	case r.Number == "":
		errs = append(errs, invalid("number", "the recommendation number is empty"))
	case len(r.Number) > maxRecNumber || !recNumber.MatchString(r.Number):
		errs = append(errs, invalid("number", "the recommendation number %q must be up to %d letters, digits and . ( ) -, e.g. \"3\" or \"2a\"", r.Number, maxRecNumber))
	}
	errs = append(errs, checkText("text", "recommendation's text", r.Text, MaxText, true))
	if r.OwnerComponent != "" && !componentRe.MatchString(r.OwnerComponent) {
		errs = append(errs, invalid("owner_component", "the owning component %q is not a component code such as CBP (leave it empty for the department)", r.OwnerComponent))
	}
	if !r.Status.valid() {
		errs = append(errs, invalid("status", "the status %q is not one of open, resolved or closed", r.Status))
	}
	return errs
}

// Name returns the recommendation's name for messages, e.g.
// "recommendation 3 of OIG-23-61".
func (r Recommendation) Name() string {
	if r.Report.Number == "" {
		return fmt.Sprintf("recommendation %s", r.Number)
	}
	return fmt.Sprintf("recommendation %s of %s", r.Number, r.Report.Number)
}

// Evidence returns how many of r's links are evidence.
func (r Recommendation) Evidence() int {
	n := 0
	for _, l := range r.Links {
		if l.Kind == LinkEvidence {
			n++
		}
	}
	return n
}

// Overdue reports whether r is open past its target date: the day after
// the target, the agency has not done what it committed to. A resolved
// recommendation is not overdue: the agency's part is done, and it waits
// for the issuer.
func (r Recommendation) Overdue(today Date) bool {
	return r.Status == Open && !r.Target.IsZero() && today.After(r.Target)
}

// DaysOverdue returns how many days r is overdue, 0 when it is not.
func (r Recommendation) DaysOverdue(today Date) int {
	if !r.Overdue(today) {
		return 0
	}
	return today.DaysAfter(r.Target)
}

// OrDepartment names a component for messages, "the department" for "".
func OrDepartment(component string) string {
	if component == "" {
		return "the department"
	}
	return component
}
