package identity

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
)

// Rules are one version of the rules of behavior for a data source or a
// program. A person must acknowledge the current version before any data
// access, again yearly, and whenever the version changes.
type Rules struct {
	ID int64
	// Key names what the rules govern: "program:<name>" or "source:<name>".
	Key         string
	Version     int
	Title       string
	Body        string
	PublishedAt time.Time
	PublishedBy int64
}

var rulesKey = regexp.MustCompile(`^(program|source):[a-z0-9][a-z0-9._-]{0,63}$`)

// Validate reports whether r is well formed.
func (r Rules) Validate() error {
	if !rulesKey.MatchString(r.Key) {
		return fault.New(fault.Invalid, "rules key %q must be program:NAME or source:NAME (lowercase letters, digits, . _ -)", r.Key)
	}
	if err := checkName("title", r.Title, 200); err != nil {
		return err
	}
	if len(r.Body) < 20 || len(r.Body) > 200_000 {
		return fault.New(fault.Invalid, "the rules text must be 20 to 200,000 bytes")
	}
	return nil
}

// An Ack is a person's acknowledgement of one version of some rules.
type Ack struct {
	PersonID int64
	Key      string
	Version  int
	AckedAt  time.Time
}

// AckValidity is how long an acknowledgement lasts.
const AckValidity = 365 * 24 * time.Hour

// A Course is a training course, required for some roles.
type Course struct {
	Code        string
	Title       string
	ValidMonths int // how long a completion counts
	RequiredFor []auth.Role
}

var courseCode = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,47}$`)

// Validate reports whether c is well formed.
func (c Course) Validate() error {
	if !courseCode.MatchString(c.Code) {
		return fault.New(fault.Invalid, "course code %q must be 2 to 48 lowercase letters, digits or dashes", c.Code)
	}
	if err := checkName("course title", c.Title, 200); err != nil {
		return err
	}
	if c.ValidMonths < 1 || c.ValidMonths > 120 {
		return fault.New(fault.Invalid, "a course completion must count for 1 to 120 months")
	}
	for _, r := range c.RequiredFor {
		if _, ok := roleScopes[r]; !ok {
			return fault.New(fault.Invalid, "there is no role %q", r)
		}
	}
	return nil
}

// A Training is a person's completion of a course.
type Training struct {
	PersonID    int64
	Course      string
	CompletedAt time.Time
	ExpiresAt   time.Time
}

// A Lapse is one reason a person may not access data now, with what to do.
type Lapse struct {
	Code    string // account, rules_unacknowledged, rules_expired, training_missing, training_expired, no_role
	Message string
	Fix     string
}

// AccessFacts is what deciding data access needs about a person.
type AccessFacts struct {
	Person  Person
	Grants  []Grant
	Rules   []Rules // the current version of every rules document that governs the access
	Acks    []Ack
	Courses []Course
	Records []Training
	Now     time.Time
}

// Lapses returns every reason the person may not access data now; none
// means access may proceed as far as the person is concerned.
func Lapses(f AccessFacts) []Lapse {
	var out []Lapse
	if f.Person.Status != Active {
		out = append(out, Lapse{"account", fmt.Sprintf("your account is %s", f.Person.Status), "ask your administrator"})
	}
	var roles []auth.Role
	for _, g := range f.Grants {
		if g.Status == GrantActive && g.PersonID == f.Person.ID {
			roles = append(roles, g.Role)
		}
	}
	if len(roles) == 0 {
		out = append(out, Lapse{"no_role", "you hold no active role", "ask your supervisor; a role not recertified in time is suspended until it is"})
	}
	for _, r := range f.Rules {
		ack, ok := latestAck(f.Acks, f.Person.ID, r.Key)
		switch {
		case !ok:
			out = append(out, Lapse{"rules_unacknowledged", fmt.Sprintf("you have not acknowledged %q", r.Title), fmt.Sprintf("read and acknowledge %s version %d", r.Key, r.Version)})
		case ack.Version != r.Version:
			out = append(out, Lapse{"rules_unacknowledged", fmt.Sprintf("%q changed (version %d) since you acknowledged version %d", r.Title, r.Version, ack.Version), fmt.Sprintf("read and acknowledge %s version %d", r.Key, r.Version)})
		case f.Now.Sub(ack.AckedAt) > AckValidity:
			out = append(out, Lapse{"rules_expired", fmt.Sprintf("your acknowledgement of %q expired on %s", r.Title, ack.AckedAt.Add(AckValidity).Format(time.DateOnly)), fmt.Sprintf("acknowledge %s version %d again", r.Key, r.Version)})
		}
	}
	for _, c := range f.Courses {
		if !slices.ContainsFunc(c.RequiredFor, func(r auth.Role) bool { return slices.Contains(roles, r) }) {
			continue
		}
		rec, ok := latestTraining(f.Records, f.Person.ID, c.Code)
		switch {
		case !ok:
			out = append(out, Lapse{"training_missing", fmt.Sprintf("you have not completed %q", c.Title), fmt.Sprintf("complete the %s course and have it recorded", c.Code)})
		case !f.Now.Before(rec.ExpiresAt):
			out = append(out, Lapse{"training_expired", fmt.Sprintf("your %q training expired on %s", c.Title, rec.ExpiresAt.Format(time.DateOnly)), fmt.Sprintf("retake the %s course", c.Code)})
		}
	}
	return out
}

func latestAck(acks []Ack, person int64, key string) (Ack, bool) {
	var best Ack
	found := false
	for _, a := range acks {
		if a.PersonID == person && a.Key == key && (!found || a.AckedAt.After(best.AckedAt)) {
			best, found = a, true
		}
	}
	return best, found
}

func latestTraining(recs []Training, person int64, course string) (Training, bool) {
	var best Training
	found := false
	for _, r := range recs {
		if r.PersonID == person && r.Course == course && (!found || r.ExpiresAt.After(best.ExpiresAt)) {
			best, found = r, true
		}
	}
	return best, found
}

// ExpiresAt returns when a completion of c at t stops counting.
func (c Course) ExpiresAt(t time.Time) time.Time {
	return t.AddDate(0, c.ValidMonths, 0)
}

// InactivityLimit is how long an account may go without a sign-in before
// it is suspended, by default.
const InactivityLimit = 90 * 24 * time.Hour

// Inactive reports whether an active account has gone unused for longer
// than limit. An account never signed in to counts from its creation.
func Inactive(p Person, now time.Time, limit time.Duration) bool {
	if p.Status != Active {
		return false
	}
	since := p.LastSignIn
	if since.IsZero() {
		since = p.CreatedAt
	}
	return now.Sub(since) > limit
}
