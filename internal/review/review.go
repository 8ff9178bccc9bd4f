// Package review holds the rules of the supervisory review every executed
// location query gets after the fact: who reviews it (a supervisor above
// the requester, never the requester nor anyone below them), by when
// (business days from its completion; a break-glass query within 24
// hours), what a reviewer may decide and must say, where an overdue review
// goes (the next supervisor up), and which reviews may be decided in bulk
// (the lowest risk tier only).
package review

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/query"
)

// A Decision is what a reviewer concludes about a query.
type Decision string

// Decisions.
const (
	Appropriate      Decision = "appropriate"       // the query served its case as justified
	NeedsExplanation Decision = "needs_explanation" // the requester must explain it
	ReferToPrivacy   Decision = "refer_to_privacy"  // the privacy office must look at it
)

// Decisions returns every decision.
func Decisions() []Decision { return []Decision{Appropriate, NeedsExplanation, ReferToPrivacy} }

// Valid reports whether d is a known decision.
func (d Decision) Valid() bool { return slices.Contains(Decisions(), d) }

// Title returns the decision for people.
func (d Decision) Title() string {
	switch d {
	case Appropriate:
		return "appropriate"
	case NeedsExplanation:
		return "needs explanation"
	case ReferToPrivacy:
		return "referred to the privacy office"
	}
	return string(d)
}

// ParseDecision returns the decision named s.
func ParseDecision(s string) (Decision, error) {
	d := Decision(s)
	if !d.Valid() {
		return "", fault.New(fault.Invalid, "decision %q is not a review decision: use appropriate, needs_explanation or refer_to_privacy", clip(s))
	}
	return d, nil
}

// A Status is where a review stands.
type Status string

// Statuses.
const (
	Pending Status = "pending" // waiting for its reviewer
	Decided Status = "decided" // a reviewer decided
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s == Pending || s == Decided }

// Time limits.
const (
	// DefaultSLADays is how many business days a reviewer has, unless the
	// installation's setting says otherwise.
	DefaultSLADays = 5
	// BreakGlassSLA is how long a break-glass query may wait for its
	// review.
	BreakGlassSLA = 24 * time.Hour
	// BreakGlassEscalation is how long the next supervisor up has for an
	// overdue break-glass review; others get one business day.
	BreakGlassEscalation = 4 * time.Hour
)

// Note bounds, in characters.
const (
	MinNote = 10
	MaxNote = 2000
)

// MaxBulk is the most reviews one bulk decision covers.
const MaxBulk = 200

// AddBusinessDays returns t moved n business days (Monday to Friday)
// forward, at the same time of day, in loc. Counting starts on the next
// business day: from a weekend, at Monday's start.
func AddBusinessDays(t time.Time, n int, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	if weekend(lt) {
		for weekend(lt) {
			lt = lt.AddDate(0, 0, 1)
		}
		lt = time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	}
	for n > 0 {
		lt = lt.AddDate(0, 0, 1)
		if !weekend(lt) {
			n--
		}
	}
	return lt
}

func weekend(t time.Time) bool { return t.Weekday() == time.Saturday || t.Weekday() == time.Sunday }

// DueAt returns when the review of a query completed at completed is due:
// slaDays business days later in loc (the requester's time zone), or
// within [BreakGlassSLA] for a break-glass query.
func DueAt(completed time.Time, slaDays int, breakGlass bool, loc *time.Location) time.Time {
	if breakGlass {
		return completed.Add(BreakGlassSLA).UTC()
	}
	if slaDays < 1 {
		slaDays = DefaultSLADays
	}
	return AddBusinessDays(completed, slaDays, loc).UTC()
}

// EscalatedDueAt returns when an escalated review is due: within
// [BreakGlassEscalation] for a break-glass query, else one business day
// after now.
func EscalatedDueAt(now time.Time, breakGlass bool, loc *time.Location) time.Time {
	if breakGlass {
		return now.Add(BreakGlassEscalation).UTC()
	}
	return AddBusinessDays(now, 1, loc).UTC()
}

// CheckDecision checks a decision and its note, and returns the note
// trimmed. A query found appropriate needs no note; one that needs an
// explanation or goes to the privacy office needs one saying why.
func CheckDecision(d Decision, note string) (string, error) {
	if !d.Valid() {
		_, err := ParseDecision(string(d))
		return "", err
	}
	note = strings.TrimSpace(note)
	n := utf8.RuneCountInString(note)
	switch {
	case !utf8.ValidString(note):
		return "", fault.New(fault.Invalid, "note: not valid UTF-8 text")
	case strings.ContainsFunc(note, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
		return "", fault.New(fault.Invalid, "note: control characters are not allowed")
	case n > MaxNote:
		return "", fault.New(fault.Invalid, "note: at most %d characters", MaxNote)
	case d != Appropriate && n < MinNote:
		return "", fault.New(fault.Invalid, "note: say why the query %s, in at least %d characters", verb(d), MinNote)
	}
	return note, nil
}

func verb(d Decision) string {
	if d == NeedsExplanation {
		return "needs an explanation"
	}
	return "goes to the privacy office"
}

// CheckBulk reports whether a query may be decided in a bulk review: only
// routine ones, and never a break-glass query, which is reviewed on its
// own.
func CheckBulk(queryID int64, tier query.Tier, breakGlass bool) error {
	switch {
	case breakGlass:
		return fault.New(fault.Invalid, "query %d ran under break-glass; review it on its own", queryID)
	case tier != query.Routine:
		return fault.New(fault.Invalid, "query %d is of the %s tier; only routine queries are reviewed in bulk", queryID, tier)
	}
	return nil
}

// Reviewer returns who reviews a query of requester: the nearest
// supervisor in the requester's chain for whom eligible holds (an active
// account holding the supervisor role), or 0 when there is none (the
// component's privacy office then reviews it).
func Reviewer(c identity.Chain, requester int64, eligible func(person int64) bool) int64 {
	for _, s := range identity.ChainOf(c, requester) {
		if ok, _ := identity.MayReview(c, s, requester); ok && eligible(s) {
			return s
		}
	}
	return 0
}

// NextReviewer returns where an overdue review assigned to current goes:
// the next eligible supervisor above current in the requester's chain,
// or 0 when there is none (the component's privacy office). A current
// reviewer no longer in the chain is passed over.
func NextReviewer(c identity.Chain, requester, current int64, eligible func(person int64) bool) int64 {
	chain := identity.ChainOf(c, requester)
	if i := slices.Index(chain, current); i >= 0 {
		chain = chain[i+1:]
	}
	for _, s := range chain {
		if s == current {
			continue
		}
		if ok, _ := identity.MayReview(c, s, requester); ok && eligible(s) {
			return s
		}
	}
	return 0
}

func clip(s string) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(s[:40], "") + "…"
	}
	return s
}
