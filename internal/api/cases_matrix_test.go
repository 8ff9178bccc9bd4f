package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/cases"
)

// A caseFixture is the cases' part of the matrix: a CBP case with
// cbp-analyst as its member, and fresh CBP cases opened by cbp-supervisor
// for the requests that change one.
type caseFixture struct {
	m    *matrix
	sup  auth.Principal // cbp-supervisor: manages CBP's cases
	open cases.Case
}

func mustCaseFixture(t *testing.T, m *matrix) *caseFixture {
	t.Helper()
	fx := &caseFixture{m: m, sup: m.principalOf(t, m.person["cbp-supervisor"])}
	fx.open = fx.fresh(t, m.person["cbp-analyst"].EmployeeID)
	return fx
}

// fresh opens a new CBP case with members, as cbp-supervisor.
func (fx *caseFixture) fresh(t *testing.T, members ...string) cases.Case {
	t.Helper()
	c := cases.Case{Number: fmt.Sprintf("CBP-2026-%04d", fx.m.ts.next()), Title: "Matrix case", LegalAuthority: "8 U.S.C. 1357",
		Predicate: "The authorization matrix needs a case to ask about."}
	for _, e := range members {
		c.Members = append(c.Members, cases.Member{EmployeeID: e})
	}
	c, err := fx.m.ts.Cases.Create(context.Background(), fx.sup, c)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// caseCases are the case routes in the matrix. Every person may ask for
// cases, and sees those their role shows them (CBP's readers see CBP's
// case) and those they are a member of (cbp-analyst); for everyone else a
// case does not exist. Only CBP's supervisor changes CBP's cases; ICE's
// supervisor may change cases, but not one it cannot see.
func (m *matrix) caseCases() []matrixCase {
	fx := m.caseFx
	selves := m.selves()
	readRoles := []auth.Role{auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.Auditor}
	readers := append(intersect(selves, m.within("CBP", readRoles...)), "cbp-analyst")
	managers := m.only("CBP", auth.Supervisor)
	iceManagers := m.only("ICE", auth.Supervisor)
	notFound := func(names ...[]string) map[string]int { return each(http.StatusNotFound, names...) }
	analyst := m.person["cbp-analyst"].EmployeeID
	path := "/api/v1/cases/" + fx.open.Number
	// change is a change of a fresh case: allowed to CBP's supervisor, a
	// case that does not exist for ICE's.
	change := func(name, method, suffix string, ok int, members []string, body func() string) matrixCase {
		return matrixCase{name: name, method: method, path: path + suffix,
			prep: func(t *testing.T, _ *principal) (string, string) {
				return "/api/v1/cases/" + fx.fresh(t, members...).Number + suffix, body()
			},
			ok: ok, allow: managers, want: notFound(iceManagers), grows: 1}
	}
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	return []matrixCase{
		{name: "list cases", method: "GET", path: "/api/v1/cases", ok: allow, allow: selves},
		{name: "open a case", method: "POST", path: "/api/v1/cases",
			prep: func(*testing.T, *principal) (string, string) {
				return "/api/v1/cases", fmt.Sprintf(`{"number":"CBP-2026-%04d","title":"Matrix","legal_authority":"8 U.S.C. 1357","predicate":"The matrix opens a case of its own."}`, m.ts.next())
			},
			ok: http.StatusCreated, allow: managers, grows: 1},
		{name: "get a case", method: "GET", path: path, ok: allow, allow: readers, want: notFound(without(selves, readers))},
		change("add a member", "POST", "/members", http.StatusCreated, nil, func() string { return fmt.Sprintf(`{"employee_id":%q}`, analyst) }),
		change("remove a member", "DELETE", "/members/"+analyst, allow, []string{analyst}, func() string { return "" }),
		change("suspend a case", "POST", "/status", allow, nil, func() string { return `{"status":"suspended","reason":"authorization matrix"}` }),
		change("record legal process", "POST", "/legal-process", http.StatusCreated, nil, func() string {
			return fmt.Sprintf(`{"kind":"court_order","reference":"MX-%d","issued_on":%q}`, m.ts.next(), yesterday)
		}),
		change("set an evidence hold", "POST", "/evidence-hold", allow, nil, func() string { return `{"hold":true,"reason":"authorization matrix"}` }),
	}
}
