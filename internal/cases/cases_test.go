package cases_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/fault"
)

var now = time.Date(2026, 3, 10, 15, 4, 5, 0, time.UTC)

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// goodCase returns a case that may be opened.
func goodCase() cases.Case {
	return cases.Case{
		Number: "CBP-2026-0142", Title: "Human smuggling network, Laredo sector",
		LegalAuthority: "8 U.S.C. 1324; 19 U.S.C. 1589a",
		Predicate:      "Informant reporting and seizures tie three stash houses to one smuggling organization.",
		Members:        []cases.Member{{EmployeeID: "cbp-analyst1"}, {EmployeeID: "cbp-analyst2"}},
		LegalProcess: []cases.LegalProcess{
			{Kind: cases.CourtOrder, Reference: "5:26-mj-00142", IssuedOn: day("2026-02-01"), ExpiresOn: day("2026-05-01")},
			{Kind: cases.Subpoena, Reference: "GJ-2026-17", IssuedOn: day("2026-01-15")},
		},
	}
}

// fields returns the fields an error names, or fails.
func fields(t *testing.T, err error) []string {
	t.Helper()
	ve, ok := errors.AsType[*cases.ValidationError](err)
	if !ok || fault.CodeOf(err) != fault.Invalid {
		t.Fatalf("%v: not an Invalid validation error", err)
	}
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestParseNumber(t *testing.T) {
	for _, c := range []struct {
		name, in, want, msg string
	}{
		{name: "OK", in: "CBP-2026-0142", want: "CBP-2026-0142"},
		{name: "OKLowercaseSpaces", in: "  cbp-2026-0142 ", want: "CBP-2026-0142"},
		{name: "OKLongSequence", in: "USSS-2099-123456", want: "USSS-2099-123456"},
		{name: "OKDigitsInComponent", in: "ICE2-2000-0001", want: "ICE2-2000-0001"},
		{name: "ErrEmpty", in: " ", msg: "case number is required, e.g. CBP-2026-0142"},
		{name: "ErrShape", in: "CBP20260142", msg: `case number "CBP20260142" must be COMPONENT-YEAR-SEQUENCE, e.g. CBP-2026-0142`},
		{name: "ErrFourParts", in: "CBP-2026-01-42", msg: "must be COMPONENT-YEAR-SEQUENCE"},
		{name: "ErrComponent", in: "1CB-2026-0142", msg: `must start with the owning component's code (2 to 16 letters or digits, starting with a letter), not "1CB"`},
		{name: "ErrComponentShort", in: "C-2026-0142", msg: `not "C"`},
		{name: "ErrYearDigits", in: "CBP-26-0142", msg: `must give the year the case was opened as four digits after the component, not "26"`},
		{name: "ErrYearRange", in: "CBP-1999-0142", msg: "has the year 1999: a case number's year is from 2000 to 2099"},
		{name: "ErrSequenceShort", in: "CBP-2026-142", msg: `must end with a sequence number of 4 to 6 digits, not "142"`},
		{name: "ErrSequenceLetters", in: "CBP-2026-01A2", msg: `not "01A2"`},
		{name: "ErrSequenceZero", in: "CBP-2026-0000", msg: "sequence numbers start at 1 (0001)"},
		{name: "ErrTooLong", in: "ABCDEFGHIJKLMNOPQRS-2026-0142", msg: "must be at most 28 characters"},
		{name: "ErrUnicodeDash", in: "CBP–2026–0142", msg: "must be COMPONENT-YEAR-SEQUENCE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := cases.ParseNumber(c.in)
			if c.msg == "" {
				if err != nil || got != c.want {
					t.Fatalf("ParseNumber(%q) = %q, %v; want %q", c.in, got, err, c.want)
				}
				if cases.ComponentOf(got) != strings.Split(c.want, "-")[0] {
					t.Errorf("ComponentOf(%q) = %q", got, cases.ComponentOf(got))
				}
				return
			}
			if !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), c.msg) {
				t.Fatalf("ParseNumber(%q) = %q, %v; want an Invalid error saying %q", c.in, got, err, c.msg)
			}
		})
	}
}

func TestCase_Validate(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		c := goodCase()
		c.Normalize()
		if err := c.Validate(now); err != nil {
			t.Fatal(err)
		}
		if c.Component != "CBP" {
			t.Errorf("the component is not taken from the number: %q", c.Component)
		}
	})
	t.Run("OKNormalize", func(t *testing.T) {
		c := goodCase()
		c.Number, c.Title = " cbp-2026-0142", "  Title  "
		c.LegalProcess[0].IssuedOn = time.Date(2026, 2, 1, 23, 59, 0, 0, time.UTC)
		c.LegalProcess[0].Reference = " 5:26-mj-00142 "
		c.Normalize()
		if c.Number != "CBP-2026-0142" || c.Title != "Title" || !c.LegalProcess[0].IssuedOn.Equal(day("2026-02-01")) || c.LegalProcess[0].Reference != "5:26-mj-00142" {
			t.Errorf("normalized: %+v", c)
		}
	})
	long := strings.Repeat("x", 201)
	for _, c := range []struct {
		name   string
		change func(*cases.Case)
		want   []string
		msg    string
	}{
		{"ErrEverything", func(c *cases.Case) {
			*c = cases.Case{Status: cases.Closed, UnitID: -1}
		}, []string{"number", "component", "unit_id", "title", "legal_authority", "predicate", "status"}, "number is required"},
		{"ErrOtherComponent", func(c *cases.Case) { c.Component = "ICE" }, []string{"number"},
			"number CBP-2026-0142 is a number of CBP's cases, not ICE's"},
		{"ErrTitleLong", func(c *cases.Case) { c.Title = long }, []string{"title"}, "title must be at most 200 characters"},
		{"ErrTitleControl", func(c *cases.Case) { c.Title = "a\x00b" }, []string{"title"}, "title must not contain control or invisible characters"},
		{"ErrTitleNewline", func(c *cases.Case) { c.Title = "line one\nline two" }, []string{"title"}, "line breaks included"},
		{"ErrTitleInvisible", func(c *cases.Case) { c.Title = "zero\u200bwidth" }, []string{"title"}, "invisible"},
		{"ErrTitleUTF8", func(c *cases.Case) { c.Title = "bad \xff" }, []string{"title"}, "title must be valid UTF-8 text"},
		{"ErrAuthority", func(c *cases.Case) { c.LegalAuthority = "   " }, []string{"legal_authority"}, "legal_authority is required"},
		{"ErrPredicateShort", func(c *cases.Case) { c.Predicate = "smuggling" }, []string{"predicate"},
			"predicate must be at least 20 characters: say what the case investigates and on what facts"},
		{"ErrPredicateLong", func(c *cases.Case) { c.Predicate = strings.Repeat("é", 4001) }, []string{"predicate"}, "at most 4000"},
		{"ErrMembers", func(c *cases.Case) {
			c.Members = []cases.Member{{EmployeeID: "a1"}, {}, {EmployeeID: "a1"}}
		}, []string{"members[1]", "members[2]"}, "members[2] a1 is listed twice"},
		{"ErrLegalProcess", func(c *cases.Case) {
			c.LegalProcess = []cases.LegalProcess{
				{Kind: "letter", Reference: "", IssuedOn: time.Time{}},
				{Kind: cases.Warrant, Reference: "W-1", IssuedOn: day("2026-03-01"), ExpiresOn: day("2026-02-28")},
				{Kind: cases.Warrant, Reference: "W-1", IssuedOn: day("2026-03-11")},
			}
		}, []string{"legal_process[0].kind", "legal_process[0].reference", "legal_process[0].issued_on", "legal_process[1].expires_on", "legal_process[2].issued_on", "legal_process[2].reference"},
			"legal_process[1].expires_on 2026-02-28 is before the day it was issued, 2026-03-01"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := goodCase()
			c.change(&k)
			k.Normalize()
			err := k.Validate(now)
			if got := fields(t, err); !slices.Equal(got, c.want) {
				t.Errorf("fields %v, want %v (%v)", got, c.want, err)
			}
			if !strings.Contains(fault.MessageOf(err), c.msg) || !strings.HasPrefix(fault.MessageOf(err), "the case is not valid: ") {
				t.Errorf("message %q does not say %q", fault.MessageOf(err), c.msg)
			}
		})
	}
}

func TestCase_CheckTransition(t *testing.T) {
	for _, c := range []struct {
		from, to cases.Status
		code     fault.Code // "" when allowed
		event    string
	}{
		{cases.Open, cases.Suspended, "", "case.suspended"},
		{cases.Suspended, cases.Open, "", "case.reopened"},
		{cases.Open, cases.Closed, "", "case.closed"},
		{cases.Suspended, cases.Closed, "", "case.closed"},
		{cases.Open, cases.Open, fault.Conflict, ""},
		{cases.Suspended, cases.Suspended, fault.Conflict, ""},
		{cases.Closed, cases.Closed, fault.Conflict, ""},
		{cases.Closed, cases.Open, fault.Conflict, ""},
		{cases.Closed, cases.Suspended, fault.Conflict, ""},
		{cases.Open, "archived", fault.Invalid, ""},
		{cases.Open, "", fault.Invalid, ""},
	} {
		err := cases.Case{Number: "CBP-2026-0142", Status: c.from}.CheckTransition(c.to)
		if c.code == "" {
			if err != nil {
				t.Errorf("%s → %s: %v", c.from, c.to, err)
			}
			if got := cases.TransitionEvent(c.to); got != c.event {
				t.Errorf("%s → %s: event %q, want %q", c.from, c.to, got, c.event)
			}
			continue
		}
		if fault.CodeOf(err) != c.code || fault.MessageOf(err) == "internal error" {
			t.Errorf("%s → %s: %v (%s), want %s", c.from, c.to, err, fault.CodeOf(err), c.code)
		}
	}
	if msg := fault.MessageOf(cases.Case{Number: "CBP-2026-0142", Status: cases.Closed}.CheckTransition(cases.Open)); msg != "case CBP-2026-0142 is closed, and a closed case stays closed: open a new case to continue the work" {
		t.Errorf("reopening a closed case: %q", msg)
	}
}

func TestParseStatus(t *testing.T) {
	for in, want := range map[string]cases.Status{"open": cases.Open, " Suspended ": cases.Suspended, "CLOSED": cases.Closed} {
		if got, err := cases.ParseStatus(in); err != nil || got != want {
			t.Errorf("ParseStatus(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "reopened", "opened"} {
		if _, err := cases.ParseStatus(in); !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), "open, suspended or closed") {
			t.Errorf("ParseStatus(%q) = %v", in, err)
		}
	}
}

func TestCase_LegalRefs(t *testing.T) {
	c := cases.Case{LegalProcess: []cases.LegalProcess{
		{Kind: cases.CourtOrder, Reference: "order-b", IssuedOn: day("2026-02-01"), ExpiresOn: day("2026-03-10")},
		{Kind: cases.Subpoena, Reference: "subpoena-a", IssuedOn: day("2026-01-15")},
		{Kind: cases.Warrant, Reference: "warrant-old", IssuedOn: day("2025-01-01"), ExpiresOn: day("2025-01-15")},
		{Kind: cases.Warrant, Reference: "warrant-next", IssuedOn: day("2026-03-11"), ExpiresOn: day("2026-04-01")},
	}}
	for _, c2 := range []struct {
		at   time.Time
		want []string
	}{
		// The order is in force to the end of its expiry day.
		{now, []string{"order-b", "subpoena-a"}},
		{day("2026-03-10").Add(24*time.Hour - time.Nanosecond), []string{"order-b", "subpoena-a"}},
		{day("2026-03-11"), []string{"subpoena-a", "warrant-next"}},
		{day("2025-01-10"), []string{"warrant-old"}},
		{day("2024-01-01"), []string{}},
	} {
		if got := c.LegalRefs(c2.at); !slices.Equal(got, c2.want) {
			t.Errorf("LegalRefs(%s) = %v, want %v", c2.at, got, c2.want)
		}
	}
	if got := (cases.Case{}).LegalRefs(now); got == nil || len(got) != 0 {
		t.Errorf("a case without legal process: %#v, want an empty list", got)
	}
}

func TestCase_MemberIDs(t *testing.T) {
	c := cases.Case{Members: []cases.Member{{PersonID: 3, EmployeeID: "zed"}, {PersonID: 1, EmployeeID: "amy"}, {PersonID: 2, EmployeeID: "bob"}}}
	if got := c.MemberIDs(); !slices.Equal(got, []string{"amy", "bob", "zed"}) {
		t.Errorf("MemberIDs = %v", got)
	}
	if !c.IsMember(2) || c.IsMember(4) || c.IsMember(0) {
		t.Error("IsMember")
	}
	if m, ok := c.Member("bob"); !ok || m.PersonID != 2 {
		t.Errorf("Member(bob) = %+v, %v", m, ok)
	}
	if _, ok := c.Member("nobody"); ok {
		t.Error("Member(nobody) found")
	}
	if got := (cases.Case{}).MemberIDs(); got == nil || len(got) != 0 {
		t.Errorf("no members: %#v", got)
	}
}

func TestCase_PurgeableAfter(t *testing.T) {
	closed := cases.Case{Status: cases.Closed, ClosedAt: now}
	if at, ok := closed.PurgeableAfter(30 * 24 * time.Hour); !ok || !at.Equal(now.AddDate(0, 0, 30)) {
		t.Errorf("closed: %v, %v", at, ok)
	}
	held := closed
	held.EvidenceHold = true
	for name, c := range map[string]cases.Case{"held": held, "open": {Status: cases.Open}, "suspended": {Status: cases.Suspended}} {
		if _, ok := c.PurgeableAfter(0); ok {
			t.Errorf("%s: purgeable", name)
		}
	}
}

func TestParseDate(t *testing.T) {
	if d, err := cases.ParseDate("issued_on", " 2026-02-01 "); err != nil || !d.Equal(day("2026-02-01")) {
		t.Errorf("ParseDate = %v, %v", d, err)
	}
	if d, err := cases.ParseDate("expires_on", ""); err != nil || !d.IsZero() {
		t.Errorf("ParseDate(\"\") = %v, %v", d, err)
	}
	for _, in := range []string{"2026-02-30", "02/01/2026", "0001-01-01", "2026-2-1"} {
		_, err := cases.ParseDate("expires_on", in)
		if got := fields(t, err); !slices.Equal(got, []string{"expires_on"}) || !strings.Contains(fault.MessageOf(err), "must be a day, YYYY-MM-DD") {
			t.Errorf("ParseDate(%q) = %v", in, err)
		}
	}
}

func TestValidateReason(t *testing.T) {
	if err := cases.ValidateReason("Awaiting the court's order."); err != nil {
		t.Error(err)
	}
	for in, msg := range map[string]string{"": "reason is required", " ": "reason is required", strings.Repeat("r", 1001): "at most 1000", "a\rb": "control"} {
		if err := cases.ValidateReason(in); !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), msg) {
			t.Errorf("ValidateReason(%.20q) = %v, want %q", in, err, msg)
		}
	}
}

func TestKind_Title(t *testing.T) {
	for _, k := range cases.Kinds() {
		if !k.Valid() || k.Title() == "" || strings.Contains(k.Title(), "_") {
			t.Errorf("kind %q: title %q", k, k.Title())
		}
	}
	if cases.Kind("letter").Valid() {
		t.Error("letter is a kind")
	}
}
