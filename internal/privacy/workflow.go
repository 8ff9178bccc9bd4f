package privacy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
)

// A Status is where a PIA's working copy is in the review workflow.
type Status string

// PIA statuses, in workflow order.
const (
	Draft     Status = "draft"     // being written; every save is a new version
	Submitted Status = "submitted" // awaiting the component privacy officer's review
	Accepted  Status = "accepted"  // forwarded by the component privacy officer; awaiting the Chief Privacy Officer
	Returned  Status = "returned"  // sent back with comments; the authors revise it
	Approved  Status = "approved"  // approved by the Chief Privacy Officer; awaiting publication
	Published Status = "published" // approved and published: in force until it expires
)

// An Action is a step of the workflow.
type Action string

// Workflow steps.
const (
	Edit    Action = "edit"    // save a new version (starts a revision of a published PIA)
	Submit  Action = "submit"  // send the latest version for review
	Accept  Action = "review"  // the component privacy officer accepts and forwards it
	Return  Action = "return"  // send it back with comments (component or department)
	Approve Action = "approve" // the Chief Privacy Officer approves it
	Publish Action = "publish" // publish the approved version; it comes into force
	// RecordPrior records an approval given before the PIA was in Probity
	// (a legacy PIA, with its approval date and reference); the draft's
	// text becomes the version in force.
	RecordPrior Action = "record_prior_approval"
)

// Actions returns every workflow step.
func Actions() []Action {
	return []Action{Edit, Submit, Accept, Return, Approve, Publish, RecordPrior}
}

// An Actor is who attempts a step, with what they may do for the PIA's
// component.
type Actor struct {
	PersonID int64 // 0 for a credential that is not a person
	Name     string
	// Write, Review and Approve are the pia.write, pia.review and
	// pia.approve permissions, held for the PIA's component.
	Write, Review, Approve bool
}

// A Case is what deciding a step needs to know about a PIA.
type Case struct {
	Status Status
	// Authors are the people who wrote a version of the current cycle or
	// submitted it: nobody among them, nor anyone they supervise, reviews
	// or approves it.
	Authors []int64
	// Effective reports whether some version is in force (published, or
	// approved before Probity).
	Effective bool
	// SubmittedAt is when the version under review was submitted;
	// UpdateRequiredAt when the data source last changed in a way that
	// needs an update (zero if none is pending).
	SubmittedAt      time.Time
	UpdateRequiredAt time.Time
}

// Refusal codes of a [StepError].
const (
	OutOfOrder = "out_of_order" // the step does not follow from the status
	WrongRole  = "wrong_role"   // the actor's roles do not include the step
	OwnWork    = "own_work"     // the actor wrote it, or supervises one who did
	Stale      = "stale"        // the data source changed after submission
)

// A StepError is a refused workflow step.
type StepError struct {
	Action Action
	Status Status
	Code   string // OutOfOrder, WrongRole, OwnWork or Stale
	Reason string
}

// Error says which step was refused and why, by code: the message of the
// [fault.Error] that wraps e gives the reason in full.
func (e *StepError) Error() string {
	return fmt.Sprintf("%s of a %s PIA refused (%s)", e.Action, e.Status, e.Code)
}

// fault returns the user-facing error for e.
func (e *StepError) fault() error {
	code := fault.Conflict
	if e.Code == WrongRole || e.Code == OwnWork {
		code = fault.Forbidden
	}
	return &fault.Error{Code: code, Message: e.Reason, Err: e}
}

func refuse(a Action, s Status, code, format string, args ...any) error {
	return (&StepError{Action: a, Status: s, Code: code, Reason: fmt.Sprintf(format, args...)}).fault()
}

// Next decides a step: it returns the status the PIA moves to, or a
// [fault.Error] (Forbidden for the wrong role or one's own work, Conflict
// out of order) wrapping a [*StepError]. chain answers supervisor
// questions for the separation of duties.
func Next(c Case, a Action, who Actor, chain identity.Chain) (Status, error) {
	var need bool
	var role string
	switch a {
	case Edit, Submit:
		need, role = who.Write, "the authors (security officers and component privacy officers of the component)"
	case Accept:
		need, role = who.Review, "a component privacy officer of the component"
	case Approve, Publish, RecordPrior:
		need, role = who.Approve, "a department privacy officer (the Chief Privacy Officer)"
	case Return:
		switch c.Status {
		case Submitted:
			need, role = who.Review, "a component privacy officer of the component"
		case Accepted:
			need, role = who.Approve, "a department privacy officer (the Chief Privacy Officer)"
		default:
			return "", refuse(a, c.Status, OutOfOrder, "a PIA that is %s cannot be returned: only a submitted or accepted PIA is under review", c.Status)
		}
	default:
		return "", refuse(a, c.Status, OutOfOrder, "there is no workflow step %q; the steps are %s", a, joinActions())
	}
	if !need {
		return "", refuse(a, c.Status, WrongRole, "only %s may %s this PIA", role, verb(a))
	}
	if who.PersonID == 0 {
		return "", refuse(a, c.Status, WrongRole, "only a named person may %s a PIA", verb(a))
	}

	var next Status
	switch a {
	case Edit:
		switch c.Status {
		case Draft, Returned, Published:
			next = Draft
		case Submitted, Accepted:
			return "", refuse(a, c.Status, OutOfOrder, "the PIA is under review (%s); it can change only once it is returned", c.Status)
		case Approved:
			return "", refuse(a, c.Status, OutOfOrder, "the PIA is approved and awaiting publication; publish it, then revise it")
		}
	case Submit:
		switch c.Status {
		case Draft:
			next = Submitted
		case Returned:
			return "", refuse(a, c.Status, OutOfOrder, "the PIA was returned with comments; revise it (save a new version) before submitting it again")
		default:
			return "", refuse(a, c.Status, OutOfOrder, "only a draft is submitted; this PIA is %s", c.Status)
		}
	case Accept:
		if c.Status != Submitted {
			return "", refuse(a, c.Status, OutOfOrder, "only a submitted PIA is reviewed by the component privacy officer; this one is %s", c.Status)
		}
		next = Accepted
	case Return:
		next = Returned
	case Approve:
		if c.Status != Accepted {
			return "", refuse(a, c.Status, OutOfOrder, "only a PIA the component privacy officer has reviewed and forwarded is approved; this one is %s", c.Status)
		}
		if !c.UpdateRequiredAt.IsZero() && c.SubmittedAt.Before(c.UpdateRequiredAt) {
			return "", refuse(a, c.Status, Stale, "the data source changed on %s, after this version was submitted; return it so that the authors update it", c.UpdateRequiredAt.UTC().Format(time.DateOnly))
		}
		next = Approved
	case Publish:
		if c.Status != Approved {
			return "", refuse(a, c.Status, OutOfOrder, "only an approved PIA is published; this one is %s", c.Status)
		}
		next = Published
	case RecordPrior:
		if c.Status != Draft || c.Effective {
			return "", refuse(a, c.Status, OutOfOrder, "a prior approval is recorded only for a draft PIA that has never been in force in Probity; this one is %s", describe(c))
		}
		next = Published
	}

	// Separation of duties: reviewers, approvers and publishers act on
	// others' work only.
	if a != Edit && a != Submit {
		for _, author := range c.Authors {
			if ok, why := identity.MayReview(chain, who.PersonID, author); !ok {
				return "", refuse(a, c.Status, OwnWork, "%s: you cannot %s this PIA", why, verb(a))
			}
		}
	}
	return next, nil
}

func describe(c Case) string {
	if c.Effective {
		return string(c.Status) + ", with a version in force"
	}
	return string(c.Status)
}

func verb(a Action) string {
	switch a {
	case Accept:
		return "review and forward"
	case RecordPrior:
		return "record a prior approval of"
	}
	return string(a)
}

func joinActions() string {
	var s []string
	for _, a := range Actions() {
		s = append(s, string(a))
	}
	return strings.Join(s, ", ")
}

// ValidateComments checks a reviewer's comments: required when returning,
// at most 5,000 characters.
func ValidateComments(a Action, comments string) error {
	var errs Errors
	minLen := 0
	if a == Return {
		minLen = 10
	}
	if msg := checkText(comments, minLen, 5000, true); msg != "" {
		if a == Return && strings.TrimSpace(comments) == "" {
			msg = "are required when returning a PIA: say what must change"
		}
		errs.add("comments", msg)
	}
	return errs.Err("the comments are not valid")
}

// A Prior is an approval given before the PIA was in Probity.
type Prior struct {
	ApprovedOn time.Time
	Approver   string // the approving official, e.g. "Chief Privacy Officer Jane Doe"
	Reference  string // the published document's reference or URL
}

// Validate checks a prior approval at now: in the past, within ten years.
func (p Prior) Validate(now time.Time) error {
	var errs Errors
	switch {
	case p.ApprovedOn.IsZero():
		errs.add("approved_on", "give the date the PIA was approved")
	case !p.ApprovedOn.Before(now):
		errs.add("approved_on", "a prior approval is in the past")
	case p.ApprovedOn.Before(now.AddDate(-10, 0, 0)):
		errs.add("approved_on", "a prior approval more than ten years old is of no use; write a new PIA")
	}
	errs.text("approver", p.Approver, 3, 200)
	errs.text("reference", p.Reference, 3, 500)
	return errs.Err("the prior approval is not valid")
}

// A PIA is a Privacy Impact Assessment of one data source: its working
// copy's status and the version in force.
type PIA struct {
	ID        int64
	SourceID  int64
	Component string
	Title     string
	Status    Status
	// Version is the latest version's number.
	Version int
	// CycleStart is the first version of the current revision: its
	// authors are the ones whose work is under review.
	CycleStart       int
	SubmittedVersion int
	SubmittedAt      time.Time
	SubmittedBy      int64
	// The approval of the working copy, once approved.
	ApprovedVersion int
	ApprovedBy      int64
	ApprovedAt      time.Time
	ExpiresAt       time.Time
	// The version in force (published, or approved before Probity);
	// EffectiveVersion is 0 when none is.
	EffectiveVersion     int
	EffectiveApprovedAt  time.Time
	EffectiveExpiresAt   time.Time
	EffectivePublishedAt time.Time
	// EffectivePrior is the reference of an approval given before Probity,
	// "" when the version in force was approved in Probity.
	EffectivePrior string
	// UpdateRequiredAt is when a change to the data source made the PIA
	// out of date (zero when it is not); UpdateReason says which change.
	UpdateRequiredAt time.Time
	UpdateReason     string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Case returns what deciding a step on p needs, given the authors of its
// current cycle.
func (p PIA) Case(authors []int64) Case {
	a := slices.Clone(authors)
	if p.SubmittedBy != 0 && !slices.Contains(a, p.SubmittedBy) {
		a = append(a, p.SubmittedBy)
	}
	return Case{Status: p.Status, Authors: a, Effective: p.EffectiveVersion > 0, SubmittedAt: p.SubmittedAt, UpdateRequiredAt: p.UpdateRequiredAt}
}

// A Step is one recorded workflow step, done or refused.
type Step struct {
	Action   Action
	From     Status
	To       Status // equals From when refused
	Version  int
	Actor    string // the actor's ledger ID
	PersonID int64
	Comments string
	// Refused holds the refusal's reason; "" when the step was done.
	Refused string
	At      time.Time
}
