// Package identity holds the organization and the people in it: the
// department, its components and units, each person's place and supervisor
// chain and duty schedule, the roles they hold and the separation of duties
// those roles must respect, and the conditions — rules of behavior,
// training, recertification, activity — under which their access lapses by
// itself.
package identity

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/fault"
)

// A Component is a tenant of the department (e.g. CBP, ICE, USSS).
type Component struct {
	Code string // short uppercase code, e.g. "CBP"
	Name string
}

var componentCode = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,15}$`)

// Validate reports whether c is well formed.
func (c Component) Validate() error {
	if !componentCode.MatchString(c.Code) {
		return fault.New(fault.Invalid, "component code %q must be 2 to 16 uppercase letters or digits, starting with a letter", c.Code)
	}
	return checkName("component name", c.Name, 200)
}

// A Unit is an organizational unit within a component.
type Unit struct {
	ID        int64
	Component string
	Name      string
}

// Validate reports whether u is well formed.
func (u Unit) Validate() error {
	if u.Component == "" {
		return fault.New(fault.Invalid, "a unit belongs to a component")
	}
	return checkName("unit name", u.Name, 200)
}

// A Status is where an account is in its lifecycle.
type Status string

// Account statuses.
const (
	Invited   Status = "invited"   // created; the person has not activated the account
	Active    Status = "active"    // may sign in
	Suspended Status = "suspended" // lapsed by itself (inactivity); an administrator may reinstate
	Locked    Status = "locked"    // locked by a privacy officer or administrator
	Disabled  Status = "disabled"  // left the organization; never reinstated
)

// A Schedule is a person's duty schedule.
type Schedule struct {
	TimeZone string // IANA name, e.g. "America/New_York"
	Start    int    // minutes after local midnight
	End      int    // minutes after local midnight; End < Start spans midnight
	Days     []time.Weekday
}

// DefaultSchedule is 08:00–18:00, Monday to Friday, Eastern time.
func DefaultSchedule() Schedule {
	return Schedule{TimeZone: "America/New_York", Start: 8 * 60, End: 18 * 60,
		Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}
}

// Validate reports whether s is well formed.
func (s Schedule) Validate() error {
	if _, err := time.LoadLocation(s.TimeZone); err != nil || s.TimeZone == "" || s.TimeZone == "Local" {
		return fault.New(fault.Invalid, "time zone %q is not an IANA time zone name such as America/New_York", s.TimeZone)
	}
	if s.Start < 0 || s.Start >= 24*60 || s.End < 0 || s.End > 24*60 || s.Start == s.End {
		return fault.New(fault.Invalid, "working hours must be two different times of day")
	}
	if len(s.Days) == 0 {
		return fault.New(fault.Invalid, "a duty schedule needs at least one working day")
	}
	return nil
}

// OnDuty reports whether t falls within the schedule.
func (s Schedule) OnDuty(t time.Time) bool {
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return false
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	day := lt.Weekday()
	if s.End > s.Start {
		return s.hasDay(day) && m >= s.Start && m < s.End
	}
	// Spans midnight: the evening part belongs to today, the morning part
	// to the shift that started yesterday.
	if m >= s.Start {
		return s.hasDay(day)
	}
	return m < s.End && s.hasDay((day+6)%7)
}

func (s Schedule) hasDay(d time.Weekday) bool {
	for _, x := range s.Days {
		if x == d {
			return true
		}
	}
	return false
}

// String formats the schedule, e.g. "Mon–Fri 08:00–18:00 America/New_York".
func (s Schedule) String() string {
	var days []string
	for _, d := range s.Days {
		days = append(days, d.String()[:3])
	}
	return fmt.Sprintf("%s %02d:%02d–%02d:%02d %s", strings.Join(days, ","), s.Start/60, s.Start%60, s.End/60, s.End%60, s.TimeZone)
}

// A Person is one named individual with an account.
type Person struct {
	ID         int64
	EmployeeID string
	Name       string
	Email      string
	// Component is the person's home component; "" for department staff.
	Component string
	UnitID    int64 // 0 for none
	// SupervisorID is the person's supervisor; 0 for a component head or
	// department leadership.
	SupervisorID int64
	Schedule     Schedule
	Status       Status
	StatusReason string
	// PIVSubject and PIVUPN map a PIV/CAC certificate to the person.
	PIVSubject string
	PIVUPN     string
	LastSignIn time.Time
	CreatedAt  time.Time
}

var employeeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$`)

// Validate reports whether p's fields are well formed.
func (p Person) Validate() error {
	if !employeeID.MatchString(p.EmployeeID) {
		return fault.New(fault.Invalid, "employee ID %q must be 2 to 32 letters, digits, dots, dashes or underscores", p.EmployeeID)
	}
	if err := checkName("name", p.Name, 200); err != nil {
		return err
	}
	a, err := mail.ParseAddress(p.Email)
	if err != nil || a.Address != p.Email || len(p.Email) > 254 {
		return fault.New(fault.Invalid, "email %q is not a plain email address", p.Email)
	}
	if p.Component != "" && !componentCode.MatchString(p.Component) {
		return fault.New(fault.Invalid, "component %q is not a component code", p.Component)
	}
	if p.SupervisorID != 0 && p.SupervisorID == p.ID {
		return fault.New(fault.Invalid, "a person cannot supervise themselves")
	}
	if err := p.Schedule.Validate(); err != nil {
		return err
	}
	for _, s := range []string{p.PIVSubject, p.PIVUPN} {
		if len(s) > 512 || !utf8.ValidString(s) {
			return fault.New(fault.Invalid, "certificate identifiers must be valid text of at most 512 bytes")
		}
	}
	return nil
}

func checkName(what, s string, maxLen int) error {
	n := utf8.RuneCountInString(s)
	if strings.TrimSpace(s) == "" || n > maxLen {
		return fault.New(fault.Invalid, "%s must be 1 to %d characters", what, maxLen)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fault.New(fault.Invalid, "%s must not contain control or invisible characters", what)
		}
	}
	return nil
}

// A Chain answers questions about supervisor chains.
type Chain interface {
	// Supervisor returns the supervisor of person, 0 for none.
	Supervisor(person int64) int64
}

// ChainOf returns person's supervisors, nearest first. It stops at a cycle
// or after 64 levels.
func ChainOf(c Chain, person int64) []int64 {
	var out []int64
	seen := map[int64]bool{person: true}
	for s := c.Supervisor(person); s != 0 && !seen[s] && len(out) < 64; s = c.Supervisor(s) {
		out = append(out, s)
		seen[s] = true
	}
	return out
}

// IsAbove reports whether a is in b's supervisor chain.
func IsAbove(c Chain, a, b int64) bool {
	for _, s := range ChainOf(c, b) {
		if s == a {
			return true
		}
	}
	return false
}

// MayReview reports whether reviewer may approve or review something
// requested by requester: never their own request, nor one by someone above
// them in their chain. It returns the reason when not.
func MayReview(c Chain, reviewer, requester int64) (bool, string) {
	if reviewer == requester {
		return false, "nobody approves or reviews their own request"
	}
	if IsAbove(c, requester, reviewer) {
		return false, "nobody approves or reviews a request by someone above them in their supervisor chain"
	}
	return true, ""
}

// CheckSupervisor reports whether making sup the supervisor of person
// would create a cycle.
func CheckSupervisor(c Chain, person, sup int64) error {
	if sup == 0 {
		return nil
	}
	if sup == person {
		return fault.New(fault.Invalid, "a person cannot supervise themselves")
	}
	if IsAbove(c, person, sup) || slicesContains(ChainOf(c, sup), person) {
		return fault.New(fault.Invalid, "this supervisor is already below the person in the chain; supervisor chains cannot loop")
	}
	return nil
}

func slicesContains(s []int64, v int64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// A MapChain is a Chain over a map of person → supervisor.
type MapChain map[int64]int64

// Supervisor returns the supervisor of person.
func (m MapChain) Supervisor(person int64) int64 { return m[person] }
