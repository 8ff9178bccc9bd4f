package identity

import (
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
)

func person(id int64, component string) Person {
	return Person{ID: id, EmployeeID: "E" + string(rune('0'+id)) + "000", Name: "Pat Doe", Email: "pat.doe@example.gov", Component: component, Schedule: DefaultSchedule(), Status: Active}
}

func TestPerson_Validate(t *testing.T) {
	ok := person(1, "CBP")
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Person)
		want   string
	}{
		{"ErrEmployeeID", func(p *Person) { p.EmployeeID = "a b" }, "employee ID"},
		{"ErrName", func(p *Person) { p.Name = " " }, "name must be"},
		{"ErrNameControl", func(p *Person) { p.Name = "Pat\u202eDoe" }, "control or invisible"},
		{"ErrEmail", func(p *Person) { p.Email = "Pat <pat@example.gov>" }, "plain email"},
		{"ErrComponent", func(p *Person) { p.Component = "cbp" }, "component code"},
		{"ErrSelfSupervisor", func(p *Person) { p.SupervisorID = p.ID }, "supervise themselves"},
		{"ErrTimeZone", func(p *Person) { p.Schedule.TimeZone = "Mars/Olympus" }, "time zone"},
		{"ErrHours", func(p *Person) { p.Schedule.End = p.Schedule.Start }, "working hours"},
		{"ErrDays", func(p *Person) { p.Schedule.Days = nil }, "working day"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.mutate(&p)
			err := p.Validate()
			if !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v; want %q", err, tc.want)
			}
		})
	}
}

func TestSchedule_OnDuty(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	day := DefaultSchedule()
	night := Schedule{TimeZone: "America/New_York", Start: 22 * 60, End: 6 * 60, Days: []time.Weekday{time.Monday}}
	for _, tc := range []struct {
		name string
		s    Schedule
		t    time.Time
		want bool
	}{
		{"WeekdayMorning", day, time.Date(2026, 11, 23, 9, 0, 0, 0, ny), true},
		{"WeekdayEvening", day, time.Date(2026, 11, 23, 19, 0, 0, 0, ny), false},
		{"EndIsExclusive", day, time.Date(2026, 11, 23, 18, 0, 0, 0, ny), false},
		{"Saturday", day, time.Date(2026, 11, 28, 10, 0, 0, 0, ny), false},
		{"UTCInstantInLocalHours", day, time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC), true}, // 09:00 EST
		{"NightShiftStart", night, time.Date(2026, 11, 23, 23, 0, 0, 0, ny), true},
		{"NightShiftAfterMidnight", night, time.Date(2026, 11, 24, 3, 0, 0, 0, ny), true}, // Tuesday morning, Monday's shift
		{"NightShiftNotStarted", night, time.Date(2026, 11, 23, 3, 0, 0, 0, ny), false},   // Monday morning: Sunday had no shift
		{"DSTSpringForward", day, time.Date(2026, 3, 9, 8, 30, 0, 0, ny), true},           // the Monday after the change
		{"DSTFallBack", day, time.Date(2026, 11, 2, 17, 59, 0, 0, ny), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.OnDuty(tc.t); got != tc.want {
				t.Fatalf("OnDuty(%v) = %v", tc.t, got)
			}
		})
	}
}

func TestChain(t *testing.T) {
	// 1 heads the component; 2 reports to 1; 3 and 4 report to 2.
	c := MapChain{2: 1, 3: 2, 4: 2}
	if got := ChainOf(c, 3); len(got) != 2 || got[0] != 2 || got[1] != 1 {
		t.Fatalf("ChainOf(3) = %v", got)
	}
	for _, tc := range []struct {
		name                string
		reviewer, requester int64
		ok                  bool
	}{
		{"OKSupervisorReviewsReport", 2, 3, true},
		{"OKHeadReviewsAnyone", 1, 4, true},
		{"OKPeer", 4, 3, true},
		{"ErrOwnRequest", 3, 3, false},
		{"ErrRequestFromAbove", 3, 2, false},
		{"ErrRequestFromTop", 4, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ok, why := MayReview(c, tc.reviewer, tc.requester); ok != tc.ok || (!ok && why == "") {
				t.Fatalf("MayReview(%d, %d) = %v %q", tc.reviewer, tc.requester, ok, why)
			}
		})
	}
	t.Run("ErrLoop", func(t *testing.T) {
		if err := CheckSupervisor(c, 1, 3); err == nil {
			t.Fatal("1 under 3 would loop")
		}
		if err := CheckSupervisor(c, 3, 4); err != nil {
			t.Fatalf("3 under 4: %v", err)
		}
	})
	t.Run("CycleInData", func(t *testing.T) {
		loop := MapChain{1: 2, 2: 1}
		if got := ChainOf(loop, 1); len(got) != 1 {
			t.Fatalf("ChainOf on a loop = %v", got)
		}
	})
}

func TestValidateGrant(t *testing.T) {
	cbp := person(1, "CBP")
	dept := person(2, "")
	g := func(r auth.Role, c string) Grant {
		return Grant{PersonID: 1, Role: r, Component: c, Status: GrantActive}
	}
	for _, tc := range []struct {
		name   string
		p      Person
		grant  Grant
		others []Grant
		want   string
	}{
		{"OKAnalyst", cbp, g(auth.Analyst, "CBP"), nil, ""},
		{"OKAnalystAndSupervisor", cbp, g(auth.Supervisor, "CBP"), []Grant{g(auth.Analyst, "CBP")}, ""},
		{"OKDepartmentAuditor", dept, Grant{PersonID: 2, Role: auth.Auditor}, nil, ""},
		{"ErrUnknownRole", cbp, g("wizard", "CBP"), nil, "no role"},
		{"ErrAnalystDepartmentWide", cbp, g(auth.Analyst, ""), nil, "held in a component"},
		{"ErrDPOInComponent", cbp, g(auth.DepartmentPrivacyOfficer, "CBP"), nil, "department-wide"},
		{"ErrOtherComponent", cbp, g(auth.Analyst, "ICE"), nil, "cannot hold a role in ICE"},
		{"ErrDuplicate", cbp, g(auth.Analyst, "CBP"), []Grant{g(auth.Analyst, "CBP")}, "already holds"},
		{"ErrAdminPlusAnalyst", cbp, g(auth.Analyst, "CBP"), []Grant{{PersonID: 1, Role: auth.Administrator, Status: GrantActive}}, "separation of duties"},
		{"ErrAnalystPlusAdmin", cbp, Grant{PersonID: 1, Role: auth.Administrator}, []Grant{g(auth.Analyst, "CBP")}, "separation of duties"},
		{"ErrAuditorPlusPrivacy", cbp, g(auth.ComponentPrivacyOfficer, "CBP"), []Grant{g(auth.Auditor, "CBP")}, "separation of duties"},
		{"OKRevokedDoesNotCount", cbp, g(auth.Analyst, "CBP"), []Grant{{PersonID: 1, Role: auth.Administrator, Status: GrantRevoked}}, ""},
		{"ErrDisabled", Person{ID: 1, Component: "CBP", Status: Disabled, Name: "X"}, g(auth.Analyst, "CBP"), nil, "disabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateGrant(tc.p, tc.grant, tc.others)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ValidateGrant = %v; want %q", err, tc.want)
			}
		})
	}
	t.Run("Principal", func(t *testing.T) {
		pr := Principal(cbp, []Grant{g(auth.Analyst, "CBP"), {PersonID: 1, Role: auth.Supervisor, Component: "CBP", Status: GrantSuspended}, {PersonID: 9, Role: auth.Auditor, Status: GrantActive}})
		if len(pr.Grants) != 1 || !pr.CanIn(auth.DataAccess, "CBP") || pr.CanIn(auth.DataAccess, "ICE") || pr.Can(auth.ApprovalsDecide) {
			t.Fatalf("principal %v", pr)
		}
	})
}

func TestLapses(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	p := person(1, "CBP")
	grants := []Grant{{PersonID: 1, Role: auth.Analyst, Component: "CBP", Status: GrantActive}}
	rules := []Rules{{Key: "program:ctd", Version: 3, Title: "CTD rules of behavior"}}
	courses := []Course{
		{Code: "privacy-101", Title: "Privacy awareness", ValidMonths: 12, RequiredFor: []auth.Role{auth.Analyst}},
		{Code: "isso-201", Title: "ISSO duties", ValidMonths: 12, RequiredFor: []auth.Role{auth.SecurityOfficer}},
	}
	good := AccessFacts{Person: p, Grants: grants, Rules: rules, Courses: courses, Now: now,
		Acks:    []Ack{{PersonID: 1, Key: "program:ctd", Version: 3, AckedAt: now.AddDate(0, -2, 0)}},
		Records: []Training{{PersonID: 1, Course: "privacy-101", CompletedAt: now.AddDate(0, -3, 0), ExpiresAt: now.AddDate(0, 9, 0)}},
	}
	if l := Lapses(good); len(l) != 0 {
		t.Fatalf("lapses for a person in good standing: %+v", l)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*AccessFacts)
		code   string
	}{
		{"ErrLocked", func(f *AccessFacts) { f.Person.Status = Locked }, "account"},
		{"ErrNoRole", func(f *AccessFacts) { f.Grants = nil }, "no_role"},
		{"ErrSuspendedRole", func(f *AccessFacts) { f.Grants = []Grant{{PersonID: 1, Role: auth.Analyst, Status: GrantSuspended}} }, "no_role"},
		{"ErrNeverAcknowledged", func(f *AccessFacts) { f.Acks = nil }, "rules_unacknowledged"},
		{"ErrRulesChanged", func(f *AccessFacts) { f.Rules = []Rules{{Key: "program:ctd", Version: 4, Title: "CTD"}} }, "rules_unacknowledged"},
		{"ErrAckOlderThanAYear", func(f *AccessFacts) { f.Acks[0].AckedAt = now.AddDate(-1, 0, -1) }, "rules_expired"},
		{"ErrTrainingMissing", func(f *AccessFacts) { f.Records = nil }, "training_missing"},
		{"ErrTrainingExpired", func(f *AccessFacts) { f.Records[0].ExpiresAt = now }, "training_expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := good
			f.Acks = append([]Ack(nil), good.Acks...)
			f.Records = append([]Training(nil), good.Records...)
			tc.mutate(&f)
			l := Lapses(f)
			if len(l) != 1 || l[0].Code != tc.code || l[0].Message == "" || l[0].Fix == "" {
				t.Fatalf("Lapses = %+v; want one %s", l, tc.code)
			}
		})
	}
}

func TestSharedUseSignals(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	in := SignIn{PersonID: 1, At: at, Addr: "10.0.0.2", UserAgent: "Firefox"}
	for _, tc := range []struct {
		name   string
		recent []SignIn
		live   []LiveSession
		kinds  []string
	}{
		{"OKSameClient", []SignIn{{PersonID: 1, At: at.Add(-time.Minute), Addr: "10.0.0.2"}}, []LiveSession{{Addr: "10.0.0.2", UserAgent: "Firefox"}}, nil},
		{"OKOtherAddressLongAgo", []SignIn{{PersonID: 1, At: at.Add(-time.Hour), Addr: "10.0.0.9"}}, nil, nil},
		{"ErrConcurrentOtherClient", nil, []LiveSession{{Addr: "10.0.0.9", UserAgent: "Chrome"}}, []string{"concurrent_sessions"}},
		{"ErrTwoAddressesMinutesApart", []SignIn{{PersonID: 1, At: at.Add(-3 * time.Minute), Addr: "192.0.2.7"}}, nil, []string{"addresses_within_minutes"}},
		{"ErrBoth", []SignIn{{PersonID: 1, At: at.Add(-time.Minute), Addr: "192.0.2.7"}}, []LiveSession{{Addr: "192.0.2.7", UserAgent: "Chrome"}}, []string{"concurrent_sessions", "addresses_within_minutes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SharedUseSignals(in, tc.recent, tc.live, SharedUseWindow)
			if len(got) != len(tc.kinds) {
				t.Fatalf("signals %+v; want %v", got, tc.kinds)
			}
			for i, k := range tc.kinds {
				if got[i].Kind != k || got[i].Explanation == "" {
					t.Fatalf("signal %d = %+v; want %s", i, got[i], k)
				}
			}
		})
	}
}

func TestCheckPassword(t *testing.T) {
	p := Person{EmployeeID: "E1234567", Name: "Jordan Alvarez", Email: "jordan.alvarez@example.gov"}
	block := DefaultBlocklist()
	for _, tc := range []struct {
		name, pw, want string
	}{
		{"OKPassphrase", "tulip orbit granite seven", ""},
		{"OKUnicode", "ñandú ÿ émigré café", ""},
		{"OKNoCompositionRules", "alllowercaseletters", ""},
		{"ErrShort", "short pass", "at least 12"},
		{"ErrLong", strings.Repeat("x", 129), "at most 128"},
		{"ErrBlocked", "Password1234", "too common"},
		{"ErrBlockedCaseInsensitive", "PASSWORDPASSWORD", "too common"},
		{"ErrEmployeeID", "my id is e1234567!", "employee ID"},
		{"ErrName", "alvarez-and-friends", "your name"},
		{"ErrEmailLocalPart", "xx jordan.alvarez xx", "your name"},
		{"ErrRepeated", "zzzzzzzzzzzzzz", "repeated"},
		{"ErrInvalidUTF8", "abcdefghijkl\xff", "valid text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPassword(tc.pw, p, block)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckPassword = %v; want %q", err, tc.want)
			}
		})
	}
	t.Run("Blocklist", func(t *testing.T) {
		b, err := ReadBlocklist(strings.NewReader("# comment\n\nsummer2026summer\n"))
		if err != nil || !b["summer2026summer"] || len(b) != 1 {
			t.Fatalf("%v %v", b, err)
		}
		if err := CheckPassword("SUMMER2026SUMMER", p, b); err == nil {
			t.Fatal("a blocklisted password was accepted")
		}
	})
}

func TestMayAttest(t *testing.T) {
	c := MapChain{2: 1, 3: 2}
	item := Item{PersonID: 3, AttesterID: 2, Decision: Pending}
	if err := MayAttest(c, item, 2, false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		item     Item
		attester int64
		dpo      bool
		want     string
	}{
		{"ErrOwnRole", Item{PersonID: 3, AttesterID: 3, Decision: Pending}, 3, false, "their own"},
		{"ErrNotTheSupervisor", item, 1, false, "person's supervisor"},
		{"ErrAlreadyDecided", Item{PersonID: 3, AttesterID: 2, Decision: Keep}, 2, false, "already attested"},
		{"ErrNoSupervisorNotDPO", Item{PersonID: 1, Decision: Pending}, 5, false, "department privacy officer"},
		{"ErrAboveViaDPO", Item{PersonID: 1, Decision: Pending}, 3, true, "above them"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := MayAttest(c, tc.item, tc.attester, tc.dpo)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("MayAttest = %v; want %q", err, tc.want)
			}
		})
	}
}
