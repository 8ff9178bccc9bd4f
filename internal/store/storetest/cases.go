package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
)

// A CaseOrg is a [PrivacyOrg] with the people cases need besides: in CBP
// a second supervisor (cbp-sup2), a second analyst (cbp-analyst2) and an
// analyst whose account is locked (cbp-locked); in ICE a supervisor
// (ice-head) and an analyst (ice-analyst). As["admin"] is an
// administrator.
type CaseOrg struct {
	*PrivacyOrg
	Cases *store.Cases
}

// MustCaseOrg opens a fresh database of dialect d with the organization
// of a [CaseOrg].
func MustCaseOrg(tb testing.TB, d store.Dialect) *CaseOrg {
	tb.Helper()
	ctx := context.Background()
	o := &CaseOrg{PrivacyOrg: MustPrivacyOrg(tb, d)}
	o.Cases = o.DB.Cases()
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "storetest-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	o.As["admin"] = admin
	for _, p := range []struct {
		label, component, boss string
		role                   auth.Role
	}{
		{"cbp-sup2", "CBP", "cbp-head", auth.Supervisor},
		{"cbp-analyst2", "CBP", "cbp-head", auth.Analyst},
		{"cbp-locked", "CBP", "cbp-head", auth.Analyst},
		{"ice-head", "ICE", "", auth.Supervisor},
		{"ice-analyst", "ICE", "ice-head", auth.Analyst},
	} {
		person := identity.Person{EmployeeID: p.label, Name: "Test " + p.label, Email: p.label + "@example.gov", Component: p.component, Schedule: identity.DefaultSchedule()}
		if p.boss != "" {
			person.SupervisorID = o.People[p.boss].ID
		}
		person, secret, err := o.Ids.Invite(ctx, admin, person)
		if err != nil {
			tb.Fatalf("invite %s: %v", p.label, err)
		}
		if _, err := o.Ids.GrantRole(ctx, admin, identity.Grant{PersonID: person.ID, Role: p.role, Component: p.component}); err != nil {
			tb.Fatalf("grant %s: %v", p.label, err)
		}
		if person, err = o.Ids.Activate(ctx, secret, store.Enrolment{PasswordHash: "unused", TOTPSealed: []byte("unused")}); err != nil {
			tb.Fatalf("activate %s: %v", p.label, err)
		}
		grants, err := o.Ids.Grants(ctx, person.ID)
		if err != nil {
			tb.Fatal(err)
		}
		o.People[p.label], o.As[p.label] = person, identity.Principal(person, grants)
	}
	if err := o.Ids.SetStatus(ctx, admin, o.People["cbp-locked"].ID, identity.Locked, "suspected shared account"); err != nil {
		tb.Fatal(err)
	}
	return o
}

// Day returns the day d days from the clock's today.
func (o *CaseOrg) Day(d int) time.Time { return cases.Day(o.Clock.Now()).AddDate(0, 0, d) }

// NewCase returns a case of CBP that may be opened, numbered seq.
func (o *CaseOrg) NewCase(seq int, members ...string) cases.Case {
	c := cases.Case{
		Number: fmt.Sprintf("CBP-2026-%04d", seq), Title: fmt.Sprintf("Smuggling network %d", seq),
		LegalAuthority: "8 U.S.C. 1324", Predicate: "Seizures tie three stash houses to one smuggling organization.",
	}
	for _, m := range members {
		c.Members = append(c.Members, cases.Member{EmployeeID: m})
	}
	return c
}

// MustCase opens a case as cbp-head.
func (o *CaseOrg) MustCase(tb testing.TB, c cases.Case) cases.Case {
	tb.Helper()
	c, err := o.Cases.Create(context.Background(), o.As["cbp-head"], c)
	if err != nil {
		tb.Fatalf("open case: %v", err)
	}
	return c
}

// caseCounts counts the rows of the case tables and the ledger's entries.
type caseCounts struct{ cases, members, process, history, entries int64 }

func (o *CaseOrg) counts(tb testing.TB) caseCounts {
	tb.Helper()
	ctx := context.Background()
	var c caseCounts
	if err := o.DB.View(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM cases), (SELECT COUNT(*) FROM case_members), (SELECT COUNT(*) FROM case_legal_process),
			(SELECT COUNT(*) FROM case_status_history)`).Scan(&c.cases, &c.members, &c.process, &c.history)
	}); err != nil {
		tb.Fatal(err)
	}
	c.entries = SettledSize(tb, o.DB, o.Ledger)
	return c
}

// refused checks that do fails with code and a message holding msg, and
// that it stored nothing and recorded nothing.
func (o *CaseOrg) refused(tb testing.TB, label string, code fault.Code, msg string, do func() error) {
	tb.Helper()
	before := o.counts(tb)
	err := do()
	if fault.CodeOf(err) != code || !strings.Contains(fault.MessageOf(err), msg) {
		tb.Errorf("%s: %v (code %s), want %s saying %q", label, err, fault.CodeOf(err), code, msg)
	}
	if after := o.counts(tb); after != before {
		tb.Errorf("%s: refused, but the store changed from %+v to %+v", label, before, after)
	}
}

func testCases(t *testing.T, d store.Dialect) {
	t.Run("Create", func(t *testing.T) { testCasesCreate(t, d) })
	t.Run("Visibility", func(t *testing.T) { testCasesVisibility(t, d) })
	t.Run("Members", func(t *testing.T) { testCasesMembers(t, d) })
	t.Run("Status", func(t *testing.T) { testCasesStatus(t, d) })
	t.Run("LegalProcess", func(t *testing.T) { testCasesLegalProcess(t, d) })
	t.Run("EvidenceHold", func(t *testing.T) { testCasesEvidenceHold(t, d) })
	t.Run("ForQuery", func(t *testing.T) { testCasesForQuery(t, d) })
	t.Run("ForQueryHoldsUntilCommit", func(t *testing.T) { testCasesLock(t, d) })
}

func memberIDs(c cases.Case) []string { return c.MemberIDs() }

func testCasesCreate(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustCaseOrg(t, d)
	cs := o.Cases
	head := o.As["cbp-head"]

	t.Run("OK", func(t *testing.T) {
		in := o.NewCase(142, "cbp-analyst", "cbp-sup2")
		in.Number = " cbp-2026-0142 "
		in.LegalProcess = []cases.LegalProcess{{Kind: cases.CourtOrder, Reference: "5:26-mj-00142", IssuedOn: o.Day(-10), ExpiresOn: o.Day(80)}}
		c, err := cs.Create(ctx, head, in)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID == 0 || c.Number != "CBP-2026-0142" || c.Component != "CBP" || c.Status != cases.Open || c.CreatedBy != "cbp-head" || c.CreatedAt.IsZero() ||
			!slices.Equal(memberIDs(c), []string{"cbp-analyst", "cbp-sup2"}) || len(c.LegalProcess) != 1 || c.LegalProcess[0].AddedBy != "cbp-head" {
			t.Fatalf("Create = %+v", c)
		}
		got, err := cs.Get(ctx, head, "CBP-2026-0142")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != c.ID || got.Title != c.Title || got.Predicate != c.Predicate || !got.CreatedAt.Equal(c.CreatedAt) || !slices.Equal(memberIDs(got), memberIDs(c)) ||
			got.Members[0].Name != "Test cbp-analyst" || got.Members[0].AddedBy != "cbp-head" || got.Members[0].PersonID != o.People["cbp-analyst"].ID ||
			len(got.LegalProcess) != 1 || !got.LegalProcess[0].IssuedOn.Equal(o.Day(-10)) || !got.LegalProcess[0].ExpiresOn.Equal(o.Day(80)) ||
			len(got.History) != 1 || got.History[0].To != cases.Open || got.History[0].By != "cbp-head" || !got.ClosedAt.IsZero() {
			t.Fatalf("Get = %+v", got)
		}
		// The ledger: the opening, each member, the legal process; the
		// predicate by digest only.
		es := o.Entries(t, "case.opened", "case.member_added", "case.legal_process_added")
		var types []string
		for _, e := range es {
			types = append(types, e.Type)
			if e.Subject != "case/CBP-2026-0142" || e.Component != "CBP" || e.Actor.ID != "cbp-head" {
				t.Errorf("entry %d: %+v", e.Seq, e)
			}
			b, _ := ledger.Encode(e.Event(), e.Seq, e.Timestamp())
			if strings.Contains(string(b), "stash houses") {
				t.Errorf("entry %d (%s) holds the predicate", e.Seq, e.Type)
			}
		}
		if want := []string{"case.opened", "case.member_added", "case.member_added", "case.legal_process_added"}; !slices.Equal(types, want) {
			t.Fatalf("entries %v, want %v", types, want)
		}
		if es[0].Digest != ledger.PayloadDigest([]byte(c.Predicate)) || es[0].Data["title"] != c.Title {
			t.Errorf("case.opened %+v", es[0])
		}
		if es[3].Data["reference"] != "5:26-mj-00142" || es[3].Data["kind"] != "court_order" || es[3].Data["expires_on"] != o.Day(80).Format(time.DateOnly) {
			t.Errorf("case.legal_process_added %+v", es[3].Data)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		o.refused(t, "no number, no title", fault.Invalid, "the case is not valid: number is required, e.g. CBP-2026-0142; component a case belongs to a component; title is required", func() error {
			_, err := cs.Create(ctx, head, cases.Case{LegalAuthority: "x", Predicate: "Twenty characters or more."})
			return err
		})
		bad := o.NewCase(143)
		bad.Component = "ICE"
		o.refused(t, "another component's number", fault.Invalid, "CBP-2026-0143 is a number of CBP's cases, not ICE's", func() error {
			_, err := cs.Create(ctx, o.As["ice-head"], bad)
			return err
		})
		dup := o.NewCase(142)
		o.refused(t, "a number in use", fault.Conflict, "case CBP-2026-0142 already exists", func() error {
			_, err := cs.Create(ctx, head, dup)
			return err
		})
		iceUnit, err := o.Ids.CreateUnit(ctx, o.As["admin"], identity.Unit{Component: "ICE", Name: "HSI"})
		if err != nil {
			t.Fatal(err)
		}
		unit := o.NewCase(144)
		unit.UnitID = iceUnit.ID
		o.refused(t, "another component's unit", fault.Invalid, fmt.Sprintf("unit_id unit %d belongs to ICE, not CBP", iceUnit.ID), func() error {
			_, err := cs.Create(ctx, head, unit)
			return err
		})
		unit.UnitID = 999999
		o.refused(t, "no such unit", fault.Invalid, "unit_id there is no unit 999999", func() error {
			_, err := cs.Create(ctx, head, unit)
			return err
		})
		future := o.NewCase(145)
		future.LegalProcess = []cases.LegalProcess{{Kind: cases.Warrant, Reference: "W-1", IssuedOn: o.Day(2)}}
		o.refused(t, "legal process issued tomorrow", fault.Invalid, "legal_process[0].issued_on", func() error {
			_, err := cs.Create(ctx, head, future)
			return err
		})
	})

	t.Run("ErrRoles", func(t *testing.T) {
		for _, who := range []string{"cbp-analyst", "cbp-cpo", "cbp-isso", "dpo", "auditor", "admin", "ice-head"} {
			o.refused(t, who+" opens a CBP case", fault.Forbidden, "your role does not allow opening cases in CBP", func() error {
				_, err := cs.Create(ctx, o.As[who], o.NewCase(150))
				return err
			})
		}
	})

	// A member who may not be added refuses the whole case: no case, no
	// member, no entry.
	t.Run("ErrMembers", func(t *testing.T) {
		for _, c := range []struct {
			name, member string
			code         fault.Code
			msg          string
		}{
			{"themselves", "cbp-head", fault.Forbidden, "nobody adds themselves to a case: another supervisor of CBP must add you to case CBP-2026-0160"},
			{"another component's analyst", "ice-analyst", fault.NotFound, `there is no person "ice-analyst" in CBP`},
			{"nobody", "no-such-person", fault.NotFound, `there is no person "no-such-person" in CBP`},
			{"a locked account", "cbp-locked", fault.Invalid, "their account is locked"},
			{"a security officer", "cbp-isso", fault.Invalid, "members hold the analyst or the supervisor role in CBP"},
			{"a privacy officer", "cbp-cpo", fault.Invalid, "members hold the analyst or the supervisor role in CBP"},
		} {
			o.refused(t, c.name, c.code, c.msg, func() error {
				_, err := cs.Create(ctx, head, o.NewCase(160, "cbp-analyst", c.member))
				return err
			})
		}
		if _, err := cs.Get(ctx, head, "CBP-2026-0160"); !fault.Is(err, fault.NotFound) {
			t.Errorf("a refused case exists: %v", err)
		}
	})
}

func testCasesVisibility(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustCaseOrg(t, d)
	cs := o.Cases
	a := o.MustCase(t, o.NewCase(1, "cbp-analyst"))
	b := o.MustCase(t, o.NewCase(2, "cbp-analyst2"))
	if _, err := cs.SetStatus(ctx, o.As["cbp-head"], b.Number, cases.Suspended, "waiting for a court order"); err != nil {
		t.Fatal(err)
	}
	ice, err := cs.Create(ctx, o.As["ice-head"], cases.Case{Number: "ICE-2026-0001", Title: "Child exploitation network", LegalAuthority: "18 U.S.C. 2252",
		Predicate: "Tips from the national center point to one distributor.", Members: []cases.Member{{EmployeeID: "ice-analyst"}}})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("OKGet", func(t *testing.T) {
		for _, c := range []struct {
			who  string
			sees []string
		}{
			{"cbp-head", []string{a.Number, b.Number}},
			{"cbp-sup2", []string{a.Number, b.Number}},
			{"cbp-cpo", []string{a.Number, b.Number}},
			{"dpo", []string{a.Number, b.Number, ice.Number}},
			{"auditor", []string{a.Number, b.Number, ice.Number}},
			{"cbp-analyst", []string{a.Number}},
			{"cbp-analyst2", []string{b.Number}},
			{"ice-head", []string{ice.Number}},
			{"ice-cpo", []string{ice.Number}},
			{"ice-analyst", []string{ice.Number}},
			{"cbp-isso", nil},
			{"admin", nil},
		} {
			for _, n := range []string{a.Number, b.Number, ice.Number} {
				got, err := cs.Get(ctx, o.As[c.who], n)
				switch {
				case slices.Contains(c.sees, n) && (err != nil || got.Number != n):
					t.Errorf("%s reads %s: %v", c.who, n, err)
				case !slices.Contains(c.sees, n) && (!fault.Is(err, fault.NotFound) || fault.MessageOf(err) != "there is no case "+n):
					t.Errorf("%s reads %s: %+v, %v; want there is no case", c.who, n, got, err)
				}
			}
			list, err := cs.List(ctx, o.As[c.who], store.CaseFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range list {
				got = append(got, x.Number)
			}
			want := slices.Clone(c.sees)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s lists %v, want %v", c.who, got, want)
			}
		}
	})

	t.Run("OKFilters", func(t *testing.T) {
		for _, c := range []struct {
			f    store.CaseFilter
			want []string
		}{
			{store.CaseFilter{Component: "CBP"}, []string{a.Number, b.Number}},
			{store.CaseFilter{Component: "ICE"}, []string{ice.Number}},
			{store.CaseFilter{Status: cases.Suspended}, []string{b.Number}},
			{store.CaseFilter{Status: cases.Open, Component: "CBP"}, []string{a.Number}},
			{store.CaseFilter{Member: "cbp-analyst2"}, []string{b.Number}},
			{store.CaseFilter{Member: "nobody"}, nil},
			{store.CaseFilter{Limit: 1}, []string{a.Number}},
		} {
			list, err := cs.List(ctx, o.As["auditor"], c.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range list {
				got = append(got, x.Number)
				if x.Number == b.Number && (!slices.Equal(x.MemberIDs(), []string{"cbp-analyst2"}) || x.Status != cases.Suspended) {
					t.Errorf("listed %+v", x)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("List(%+v) = %v, want %v", c.f, got, c.want)
			}
		}
		if _, err := cs.List(ctx, o.As["auditor"], store.CaseFilter{Status: "archived"}); !fault.Is(err, fault.Invalid) {
			t.Errorf("an unknown status: %v", err)
		}
	})

	t.Run("ErrNumbers", func(t *testing.T) {
		if _, err := cs.Get(ctx, o.As["auditor"], "CBP-2026-9999"); !fault.Is(err, fault.NotFound) || fault.MessageOf(err) != "there is no case CBP-2026-9999" {
			t.Errorf("an unknown case: %v", err)
		}
		if _, err := cs.Get(ctx, o.As["auditor"], "CBP 2026 0001"); !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), "COMPONENT-YEAR-SEQUENCE") {
			t.Errorf("a malformed number: %v", err)
		}
		// Numbers are case-insensitive.
		if c, err := cs.Get(ctx, o.As["auditor"], "cbp-2026-0001"); err != nil || c.Number != a.Number {
			t.Errorf("a lowercase number: %+v, %v", c, err)
		}
	})
}

func testCasesMembers(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustCaseOrg(t, d)
	cs := o.Cases
	head := o.As["cbp-head"]
	c := o.MustCase(t, o.NewCase(7, "cbp-analyst"))

	t.Run("OKAdd", func(t *testing.T) {
		got, err := cs.AddMember(ctx, head, c.Number, " cbp-analyst2 ")
		if err != nil || !slices.Equal(got.MemberIDs(), []string{"cbp-analyst", "cbp-analyst2"}) || got.UpdatedAt.Before(c.CreatedAt) {
			t.Fatalf("AddMember = %+v, %v", got, err)
		}
		// A supervisor joins a case when another supervisor adds them.
		if got, err = cs.AddMember(ctx, o.As["cbp-sup2"], c.Number, "cbp-head"); err != nil || !got.IsMember(o.People["cbp-head"].ID) {
			t.Fatalf("cbp-sup2 adds cbp-head: %+v, %v", got, err)
		}
		es := o.Entries(t, "case.member_added")
		last := es[len(es)-1]
		if last.Actor.ID != "cbp-sup2" || last.Data["employee_id"] != "cbp-head" || last.Subject != "case/"+c.Number {
			t.Errorf("entry %+v", last)
		}
	})
	t.Run("ErrAdd", func(t *testing.T) {
		for _, x := range []struct {
			name, who, member string
			code              fault.Code
			msg               string
		}{
			{"themselves", "cbp-sup2", "cbp-sup2", fault.Forbidden, "nobody adds themselves to a case"},
			{"twice", "cbp-head", "cbp-analyst", fault.Conflict, "Test cbp-analyst (cbp-analyst) is already a member of case CBP-2026-0007"},
			{"no one", "cbp-head", " ", fault.Invalid, "employee_id name the person to add by their employee ID"},
			{"another component's", "cbp-head", "ice-analyst", fault.NotFound, `there is no person "ice-analyst" in CBP`},
			{"locked", "cbp-head", "cbp-locked", fault.Invalid, "their account is locked"},
			{"as an analyst member", "cbp-analyst", "cbp-analyst2", fault.Forbidden, "your role does not allow managing the cases of CBP"},
			{"as a privacy officer", "cbp-cpo", "cbp-analyst2", fault.Forbidden, "your role does not allow managing the cases of CBP"},
			{"as an auditor", "auditor", "cbp-analyst2", fault.Forbidden, "your role does not allow managing the cases of CBP"},
			{"as ICE's supervisor", "ice-head", "cbp-analyst2", fault.NotFound, "there is no case CBP-2026-0007"},
			{"as an administrator", "admin", "cbp-analyst2", fault.NotFound, "there is no case CBP-2026-0007"},
			{"to no case", "cbp-head", "cbp-analyst2", fault.NotFound, "there is no case CBP-2026-0999"},
		} {
			number := c.Number
			if x.name == "to no case" {
				number = "CBP-2026-0999"
			}
			o.refused(t, x.name, x.code, x.msg, func() error {
				_, err := cs.AddMember(ctx, o.As[x.who], number, x.member)
				return err
			})
		}
	})
	t.Run("OKRemove", func(t *testing.T) {
		got, err := cs.RemoveMember(ctx, head, c.Number, "cbp-analyst2")
		if err != nil || got.IsMember(o.People["cbp-analyst2"].ID) {
			t.Fatalf("RemoveMember = %+v, %v", got, err)
		}
		// The removed analyst no longer sees the case.
		if _, err := cs.Get(ctx, o.As["cbp-analyst2"], c.Number); !fault.Is(err, fault.NotFound) {
			t.Errorf("a removed member reads the case: %v", err)
		}
		es := o.Entries(t, "case.member_removed")
		if len(es) != 1 || es[0].Data["employee_id"] != "cbp-analyst2" || es[0].Actor.ID != "cbp-head" {
			t.Errorf("entries %+v", es)
		}
		// The membership's history stays; adding them again is a new one.
		if got, err = cs.AddMember(ctx, head, c.Number, "cbp-analyst2"); err != nil || !got.IsMember(o.People["cbp-analyst2"].ID) {
			t.Fatalf("add again: %+v, %v", got, err)
		}
		var rows int
		if err := o.DB.View(ctx, func(tx *store.Tx) error {
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM case_members WHERE person_id = $1`, o.People["cbp-analyst2"].ID).Scan(&rows)
		}); err != nil || rows != 2 {
			t.Errorf("%d membership rows, %v; want 2", rows, err)
		}
	})
	t.Run("ErrRemove", func(t *testing.T) {
		o.refused(t, "a non-member", fault.NotFound, `"cbp-sup2" is not a member of case CBP-2026-0007`, func() error {
			_, err := cs.RemoveMember(ctx, head, c.Number, "cbp-sup2")
			return err
		})
		o.refused(t, "as a member", fault.Forbidden, "your role does not allow managing the cases of CBP", func() error {
			_, err := cs.RemoveMember(ctx, o.As["cbp-analyst"], c.Number, "cbp-analyst2")
			return err
		})
		o.refused(t, "as ICE", fault.NotFound, "there is no case", func() error {
			_, err := cs.RemoveMember(ctx, o.As["ice-head"], c.Number, "cbp-analyst2")
			return err
		})
	})
}

func testCasesStatus(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustCaseOrg(t, d)
	cs := o.Cases
	head := o.As["cbp-head"]
	c := o.MustCase(t, o.NewCase(9, "cbp-analyst"))

	o.refused(t, "no reason", fault.Invalid, "reason is required", func() error {
		_, err := cs.SetStatus(ctx, head, c.Number, cases.Suspended, "  ")
		return err
	})
	o.refused(t, "an unknown status", fault.Invalid, `open, suspended or closed, not "archived"`, func() error {
		_, err := cs.SetStatus(ctx, head, c.Number, "archived", "tidy up")
		return err
	})
	o.refused(t, "already open", fault.Conflict, "case CBP-2026-0009 is already open", func() error {
		_, err := cs.SetStatus(ctx, head, c.Number, cases.Open, "again")
		return err
	})
	for _, who := range []string{"cbp-analyst", "cbp-cpo", "dpo", "auditor"} {
		o.refused(t, who+" suspends", fault.Forbidden, "your role does not allow managing the cases of CBP", func() error {
			_, err := cs.SetStatus(ctx, o.As[who], c.Number, cases.Suspended, "not mine to suspend")
			return err
		})
	}
	o.refused(t, "ICE suspends", fault.NotFound, "there is no case CBP-2026-0009", func() error {
		_, err := cs.SetStatus(ctx, o.As["ice-head"], c.Number, cases.Suspended, "not mine to suspend")
		return err
	})

	for _, step := range []struct {
		to     cases.Status
		reason string
		typ    string
	}{
		{cases.Suspended, "Waiting for the court's order.", "case.suspended"},
		{cases.Open, "The order was signed.", "case.reopened"},
		{cases.Suspended, "Lead analyst on leave.", "case.suspended"},
		{cases.Closed, "Indictment returned.", "case.closed"},
	} {
		got, err := cs.SetStatus(ctx, o.As["cbp-sup2"], c.Number, step.to, step.reason)
		if err != nil || got.Status != step.to || got.StatusReason != step.reason || got.ClosedAt.IsZero() != (step.to != cases.Closed) {
			t.Fatalf("SetStatus(%s) = %+v, %v", step.to, got, err)
		}
		es := o.Entries(t, step.typ)
		last := es[len(es)-1]
		if last.Data["to"] != string(step.to) || last.Data["reason"] != step.reason || last.Actor.ID != "cbp-sup2" || last.Subject != "case/CBP-2026-0009" {
			t.Errorf("%s entry %+v", step.typ, last)
		}
	}
	got, err := cs.Get(ctx, o.As["auditor"], c.Number)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, h := range got.History {
		steps = append(steps, string(h.From)+"→"+string(h.To))
	}
	if want := []string{"→open", "open→suspended", "suspended→open", "open→suspended", "suspended→closed"}; !slices.Equal(steps, want) {
		t.Errorf("history %v, want %v", steps, want)
	}
	if got.ClosedAt.IsZero() || got.History[4].Reason != "Indictment returned." || got.History[4].By != "cbp-sup2" || !got.History[4].At.Equal(got.ClosedAt) {
		t.Errorf("closed: %+v", got)
	}
	// Closed is final, and a closed case's members and legal process no
	// longer change.
	for _, to := range []cases.Status{cases.Open, cases.Suspended} {
		o.refused(t, "leave closed for "+string(to), fault.Conflict, "case CBP-2026-0009 is closed, and a closed case stays closed", func() error {
			_, err := cs.SetStatus(ctx, head, c.Number, to, "new evidence")
			return err
		})
	}
	o.refused(t, "close twice", fault.Conflict, "case CBP-2026-0009 is already closed", func() error {
		_, err := cs.SetStatus(ctx, head, c.Number, cases.Closed, "again")
		return err
	})
	o.refused(t, "add a member to a closed case", fault.Conflict, "case CBP-2026-0009 is closed: its members no longer change", func() error {
		_, err := cs.AddMember(ctx, head, c.Number, "cbp-analyst2")
		return err
	})
	o.refused(t, "remove a member of a closed case", fault.Conflict, "case CBP-2026-0009 is closed", func() error {
		_, err := cs.RemoveMember(ctx, head, c.Number, "cbp-analyst")
		return err
	})
	o.refused(t, "add legal process to a closed case", fault.Conflict, "case CBP-2026-0009 is closed: no legal process is added to it", func() error {
		_, err := cs.AddLegalProcess(ctx, head, c.Number, cases.LegalProcess{Kind: cases.Warrant, Reference: "late", IssuedOn: o.Day(0)})
		return err
	})
	// Its results may be purged after the grace period.
	if at, ok := got.PurgeableAfter(30 * 24 * time.Hour); !ok || !at.Equal(got.ClosedAt.Add(30*24*time.Hour)) {
		t.Errorf("PurgeableAfter = %v, %v", at, ok)
	}
}

func testCasesLegalProcess(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustCaseOrg(t, d)
	cs := o.Cases
	head := o.As["cbp-head"]
	c := o.MustCase(t, o.NewCase(11, "cbp-analyst"))

	for _, lp := range []cases.LegalProcess{
		{Kind: cases.Warrant, Reference: "W-expired", IssuedOn: o.Day(-60), ExpiresOn: o.Day(-15)},
		{Kind: cases.CourtOrder, Reference: " 5:26-mj-00011 ", IssuedOn: o.Day(-5), ExpiresOn: o.Day(40)},
		{Kind: cases.Subpoena, Reference: "GJ-26-11", IssuedOn: o.Day(-1)},
	} {
		got, err := cs.AddLegalProcess(ctx, head, c.Number, lp)
		if err != nil {
			t.Fatalf("AddLegalProcess(%s): %v", lp.Reference, err)
		}
		c = got
	}
	if want := []string{"5:26-mj-00011", "GJ-26-11"}; !slices.Equal(c.LegalRefs(o.Clock.Now()), want) {
		t.Errorf("LegalRefs = %v, want %v", c.LegalRefs(o.Clock.Now()), want)
	}
	got, err := cs.Get(ctx, o.As["cbp-analyst"], c.Number)
	if err != nil || len(got.LegalProcess) != 3 || got.LegalProcess[0].Reference != "W-expired" || !got.LegalProcess[2].ExpiresOn.IsZero() ||
		!slices.Equal(got.LegalRefs(o.Clock.Now()), c.LegalRefs(o.Clock.Now())) {
		t.Fatalf("Get = %+v, %v", got.LegalProcess, err)
	}
	if es := o.Entries(t, "case.legal_process_added"); len(es) != 3 || es[2].Data["expires_on"] != "" || es[1].Data["reference"] != "5:26-mj-00011" {
		t.Errorf("entries %+v", es)
	}

	o.refused(t, "a reference twice", fault.Conflict, `case CBP-2026-0011 already has legal process "GJ-26-11"`, func() error {
		_, err := cs.AddLegalProcess(ctx, head, c.Number, cases.LegalProcess{Kind: cases.Subpoena, Reference: "GJ-26-11", IssuedOn: o.Day(0)})
		return err
	})
	o.refused(t, "expires before issued", fault.Invalid, "the legal process is not valid: expires_on", func() error {
		_, err := cs.AddLegalProcess(ctx, head, c.Number, cases.LegalProcess{Kind: cases.Warrant, Reference: "W-2", IssuedOn: o.Day(-1), ExpiresOn: o.Day(-3)})
		return err
	})
	o.refused(t, "an unknown kind", fault.Invalid, `kind the kind of legal process is warrant, court_order or subpoena, not "letter"`, func() error {
		_, err := cs.AddLegalProcess(ctx, head, c.Number, cases.LegalProcess{Kind: "letter", Reference: "L-1", IssuedOn: o.Day(-1)})
		return err
	})
	o.refused(t, "as a member", fault.Forbidden, "your role does not allow managing the cases of CBP", func() error {
		_, err := cs.AddLegalProcess(ctx, o.As["cbp-analyst"], c.Number, cases.LegalProcess{Kind: cases.Warrant, Reference: "W-3", IssuedOn: o.Day(-1)})
		return err
	})
}

func testCasesEvidenceHold(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustCaseOrg(t, d)
	cs := o.Cases
	head := o.As["cbp-head"]
	c := o.MustCase(t, o.NewCase(13, "cbp-analyst"))

	// A hold is the case manager's: privacy officers read it but do not
	// set it.
	for _, who := range []string{"cbp-cpo", "dpo", "auditor", "cbp-analyst"} {
		o.refused(t, who+" sets a hold", fault.Forbidden, "your role does not allow managing the cases of CBP", func() error {
			_, err := cs.SetEvidenceHold(ctx, o.As[who], c.Number, true, "litigation expected")
			return err
		})
	}
	o.refused(t, "no reason", fault.Invalid, "reason is required", func() error {
		_, err := cs.SetEvidenceHold(ctx, head, c.Number, true, "")
		return err
	})
	o.refused(t, "release without a hold", fault.Conflict, "case CBP-2026-0013 has no evidence hold to release", func() error {
		_, err := cs.SetEvidenceHold(ctx, head, c.Number, false, "tidy")
		return err
	})
	got, err := cs.SetEvidenceHold(ctx, head, c.Number, true, "Defense counsel's preservation letter.")
	if err != nil || !got.EvidenceHold || got.HoldReason != "Defense counsel's preservation letter." || got.HoldChangedBy != "cbp-head" || got.HoldChangedAt.IsZero() {
		t.Fatalf("set a hold: %+v, %v", got, err)
	}
	if r, err := cs.Get(ctx, o.As["cbp-cpo"], c.Number); err != nil || !r.EvidenceHold {
		t.Errorf("the privacy officer reads the hold: %+v, %v", r, err)
	}
	o.refused(t, "hold twice", fault.Conflict, "case CBP-2026-0013 is already on evidence hold", func() error {
		_, err := cs.SetEvidenceHold(ctx, head, c.Number, true, "again")
		return err
	})
	// A closed case keeps its hold, which keeps its results, until the
	// hold is released.
	if got, err = cs.SetStatus(ctx, head, c.Number, cases.Closed, "Plea entered."); err != nil {
		t.Fatal(err)
	}
	if _, ok := got.PurgeableAfter(0); ok {
		t.Error("a closed case on hold is purgeable")
	}
	if got, err = cs.SetEvidenceHold(ctx, o.As["cbp-sup2"], c.Number, false, "Appeal period ended."); err != nil || got.EvidenceHold || got.Status != cases.Closed {
		t.Fatalf("release: %+v, %v", got, err)
	}
	if _, ok := got.PurgeableAfter(0); !ok {
		t.Error("a closed case without a hold is not purgeable")
	}
	es := o.Entries(t, "case.evidence_hold_set", "case.evidence_hold_released")
	if len(es) != 2 || es[0].Type != "case.evidence_hold_set" || es[1].Type != "case.evidence_hold_released" || es[1].Data["status"] != "closed" || es[1].Actor.ID != "cbp-sup2" {
		t.Errorf("entries %+v", es)
	}
}

func testCasesForQuery(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustCaseOrg(t, d)
	cs := o.Cases
	in := o.NewCase(21, "cbp-analyst", "cbp-analyst2")
	in.LegalProcess = []cases.LegalProcess{{Kind: cases.CourtOrder, Reference: "5:26-mj-00021", IssuedOn: o.Day(-3), ExpiresOn: o.Day(30)}}
	c := o.MustCase(t, in)
	if _, err := cs.RemoveMember(ctx, o.As["cbp-head"], c.Number, "cbp-analyst2"); err != nil {
		t.Fatal(err)
	}
	err := o.DB.Update(ctx, func(tx *store.Tx) error {
		got, err := cs.ForQuery(ctx, tx, c.Number)
		if err != nil {
			return err
		}
		if got.ID != c.ID || got.Status != cases.Open || got.Component != "CBP" || !slices.Equal(got.MemberIDs(), []string{"cbp-analyst"}) ||
			got.Members[0].PersonID != o.People["cbp-analyst"].ID || !slices.Equal(got.LegalRefs(tx.Now), []string{"5:26-mj-00021"}) || got.History != nil {
			return fmt.Errorf("ForQuery = %+v", got)
		}
		byID, err := cs.ByID(ctx, tx, c.ID)
		if err != nil || byID.Number != c.Number || !slices.Equal(byID.MemberIDs(), got.MemberIDs()) || len(byID.LegalProcess) != 1 {
			return fmt.Errorf("ByID = %+v, %v", byID, err)
		}
		if _, err := cs.ForQuery(ctx, tx, "CBP-2026-9999"); !fault.Is(err, fault.NotFound) || fault.MessageOf(err) != "there is no case CBP-2026-9999" {
			return fmt.Errorf("ForQuery(unknown) = %v", err)
		}
		if _, err := cs.ForQuery(ctx, tx, "not a number"); !fault.Is(err, fault.Invalid) {
			return fmt.Errorf("ForQuery(malformed) = %v", err)
		}
		if _, err := cs.ByID(ctx, tx, 999999); !fault.Is(err, fault.NotFound) || fault.MessageOf(err) != "there is no case 999999" {
			return fmt.Errorf("ByID(unknown) = %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// It reads inside the caller's transaction: a change not yet committed
	// is seen, and rolled back with it.
	errRollback := errors.New("roll back")
	err = o.DB.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE cases SET status = 'suspended' WHERE id = $1`, c.ID); err != nil {
			return err
		}
		got, err := cs.ForQuery(ctx, tx, c.Number)
		if err != nil {
			return err
		}
		if got.Status != cases.Suspended {
			return fmt.Errorf("ForQuery does not see its transaction's change: %s", got.Status)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	if got, err := cs.Get(ctx, o.As["auditor"], c.Number); err != nil || got.Status != cases.Open {
		t.Fatalf("after the rollback: %+v, %v", got, err)
	}
}

// testCasesLock checks that a case's closure waits for a query that read
// the case while it was open: the closure is ordered after the query.
func testCasesLock(t *testing.T, d store.Dialect) {
	if d != store.Postgres {
		t.Skip("SQLite's single writer serializes every transaction")
	}
	ctx := context.Background()
	o := MustCaseOrg(t, d)
	cs := o.Cases
	c := o.MustCase(t, o.NewCase(31, "cbp-analyst"))

	read := make(chan struct{})
	var wg sync.WaitGroup
	var closeErr error
	err := o.DB.Update(ctx, func(tx *store.Tx) error {
		got, err := cs.ForQuery(ctx, tx, c.Number)
		if err != nil || got.Status != cases.Open {
			return fmt.Errorf("ForQuery = %+v, %v", got, err)
		}
		var pid int
		if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-read
			_, closeErr = cs.SetStatus(ctx, o.As["cbp-head"], c.Number, cases.Closed, "closed during a query")
		}()
		close(read)
		// Wait until the closure waits for this transaction.
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			var blocked int
			if err := o.DB.View(ctx, func(v *store.Tx) error {
				return v.QueryRow(ctx, `SELECT COUNT(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, pid).Scan(&blocked)
			}); err != nil {
				return err
			}
			if blocked > 0 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the closure did not wait for the transaction that read the case")
			}
		}
		_, err = o.Ledger.Append(ctx, tx, ledger.Event{Type: "test.query_ran", Actor: ledger.Actor{Kind: ledger.ActorUser, ID: "cbp-analyst"}, Component: "CBP", Subject: "case/" + c.Number})
		return err
	})
	wg.Wait()
	if err != nil || closeErr != nil {
		t.Fatalf("query: %v; closure: %v", err, closeErr)
	}
	es := o.Entries(t, "test.query_ran", "case.closed")
	if len(es) != 2 || es[0].Type != "test.query_ran" {
		t.Fatalf("the closure is ordered before the query it waited for: %+v", es)
	}
}
