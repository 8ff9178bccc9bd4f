package privacy

import (
	"fmt"
	"time"
)

// A PCRResult is the conclusion of a privacy compliance review.
type PCRResult string

// PCR results.
const (
	Compliant    PCRResult = "compliant"     // practice matches the PIA and the rules
	NonCompliant PCRResult = "non_compliant" // findings need corrective action
)

// A PCR is a privacy compliance review: a task, due on a date, to check
// that a data source or system is used as its PIA says.
type PCR struct {
	ID int64
	// Subject is what is reviewed: "source/ID" or "system/ID".
	Subject    string
	Component  string
	Title      string
	AssigneeID int64
	DueAt      time.Time
	AssignedBy string // the assigning actor's ledger ID
	AssignedAt time.Time
	// Completed when CompletedAt is set, with the result and findings.
	CompletedAt time.Time
	CompletedBy int64
	Result      PCRResult
	Findings    string
}

// Open reports whether the review is still to be done.
func (p PCR) Open() bool { return p.CompletedAt.IsZero() }

// Overdue reports whether the review is open past its due date at now.
func (p PCR) Overdue(now time.Time) bool { return p.Open() && !now.Before(p.DueAt) }

// ValidateAssignment checks a new review at now: a subject, a title, an
// assignee and a due date from tomorrow to two years ahead.
func (p PCR) ValidateAssignment(now time.Time) error {
	var errs Errors
	if _, _, err := ValidateSubject(p.Subject); err != nil {
		errs.add("subject", fmt.Sprintf("%q must be source/ID or system/ID", p.Subject))
	}
	errs.text("title", p.Title, 3, 200)
	if p.AssigneeID <= 0 {
		errs.add("assignee_id", "assign the review to a privacy officer")
	}
	switch {
	case p.DueAt.IsZero():
		errs.add("due_on", "give the date the review is due")
	case !p.DueAt.After(now):
		errs.add("due_on", "the due date must be in the future")
	case p.DueAt.After(now.AddDate(2, 0, 0)):
		errs.add("due_on", "the due date must be within two years")
	}
	return errs.Err("the compliance review is not valid")
}

// ValidateCompletion checks a review's result and findings.
func ValidateCompletion(result PCRResult, findings string) error {
	var errs Errors
	if result != Compliant && result != NonCompliant {
		errs.add("result", fmt.Sprintf("the result is compliant or non_compliant, not %q", result))
	}
	if msg := checkText(findings, 20, 20_000, true); msg != "" {
		errs.add("findings", msg+" (record what was examined and found, even when compliant)")
	}
	return errs.Err("the review's findings are not valid")
}
