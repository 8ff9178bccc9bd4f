package api_test

import (
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/probity-dev/probity/internal/auth"
)

// rolePageCases are the pages of cases, approvals, people and
// recertification in the matrix, with the same readers as the API's
// routes over the same stores: a case is shown to its member and to its
// component's readers, and does not exist for the other people; a query
// waiting for approval to those who may see it among the approvers;
// people to the readers of their component; campaigns to their readers.
// A form without its token is refused whoever sends it; those not signed
// in are sent to sign in.
func (m *matrix) rolePageCases() []matrixCase {
	page := func(want map[string]int) map[string]int {
		out := maps.Clone(want)
		if out == nil {
			out = map[string]int{}
		}
		maps.Copy(out, each(seeLogin, m.outsiders()))
		return out
	}
	forged := func(name, path string) matrixCase {
		return matrixCase{name: name + " without its token", method: "POST", path: path, form: true, body: "reason=authorization+matrix",
			ok: forbid, allow: m.signedIn(), want: page(nil)}
	}
	selves := m.selves()

	// Cases: fx.open has cbp-analyst as its member.
	caseReaders := append(intersect(selves, m.within("CBP", auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.Auditor)), "cbp-analyst")
	casePath := "/cases/" + m.caseFx.open.Number

	// Approvals: the query of the fixture, refused, waits for nobody; the
	// approvers who may see it are shown it.
	approvers := m.anywhere(auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.SecurityOfficer)
	viewers := []string{"cbp-analyst", "cbp-supervisor", "cbp-cpo", "cbp-auditor", "dpo", "dpo-token", "dept-auditor"}
	var deciders []string
	for _, a := range approvers {
		if slices.Contains(viewers, a) {
			deciders = append(deciders, a)
		}
	}
	approval := fmt.Sprintf("/approvals/%d", m.query.id)

	// People: cbp-analyst is shown to CBP's readers.
	readerRoles := []auth.Role{auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.SecurityOfficer, auth.OPRIntake, auth.Auditor, auth.Administrator}
	target := m.person["cbp-analyst"].ID
	person := fmt.Sprintf("/people/%d", target)

	recertReaders := m.anywhere(auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.Auditor, auth.Administrator)
	campaign := fmt.Sprintf("/recert/%d", m.campaign)

	return []matrixCase{
		{name: "cases page", method: "GET", path: "/cases", ok: allow, allow: selves, want: page(nil)},
		{name: "cases export", method: "GET", path: "/cases.csv?status=open", ok: allow, allow: selves, want: page(nil)},
		{name: "case page", method: "GET", path: casePath, ok: allow, allow: caseReaders, want: page(each(http.StatusNotFound, without(selves, caseReaders)))},

		{name: "approvals page", method: "GET", path: "/approvals", ok: allow, allow: approvers, want: page(nil)},
		{name: "approvals export", method: "GET", path: "/approvals.csv", ok: allow, allow: approvers, want: page(nil)},
		{name: "approval page", method: "GET", path: approval, ok: allow, allow: deciders, want: page(each(http.StatusNotFound, without(approvers, deciders)))},
		forged("decide an approval page", approval),

		{name: "people page", method: "GET", path: "/people", ok: allow, allow: m.anywhere(readerRoles...), want: page(nil)},
		{name: "people export", method: "GET", path: "/people.csv?status=active", ok: allow, allow: m.anywhere(readerRoles...), want: page(nil)},
		{name: "person page", method: "GET", path: person, ok: allow, allow: m.within("CBP", readerRoles...),
			want: page(each(http.StatusNotFound, m.only("ICE", readerRoles...)))},
		forged("grant a role page", person+"/grants"),
		forged("revoke a role page", person+"/grants/1/revoke"),
		forged("lock a person page", person+"/lock"),
		forged("reinstate a person page", person+"/reinstate"),
		forged("end a person's sessions page", person+"/sessions/end-all"),

		{name: "recertification page", method: "GET", path: "/recert", ok: allow, allow: recertReaders, want: page(nil)},
		{name: "recertification export", method: "GET", path: "/recert.csv", ok: allow, allow: recertReaders, want: page(nil)},
		{name: "campaign page", method: "GET", path: campaign, ok: allow, allow: recertReaders, want: page(nil)},
		{name: "campaign export", method: "GET", path: campaign + ".csv", ok: allow, allow: recertReaders, want: page(nil)},
		forged("start a campaign page", "/recert"),
		forged("close a campaign page", campaign+"/close"),
		forged("attest page", fmt.Sprintf("%s/items/%d", campaign, m.analystItem)),
	}
}
