package api_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/store"
)

// Outcomes of the matrix.
const (
	allow  = http.StatusOK
	unauth = http.StatusUnauthorized
	forbid = http.StatusForbidden
	// seeLogin is a redirect to the sign-in page: how the pages refuse
	// someone who has not signed in.
	seeLogin = -http.StatusSeeOther
)

// matrixAgent is the user agent of the matrix's people, so that their
// sessions never look shared.
const matrixAgent = "probity-matrix-test"

// A principal is who sends a request of the matrix.
type principal struct {
	name string
	auth string // Authorization header
	// cookie is a fixed Cookie header (a forged one); people's come from
	// their latest session.
	cookie string
	// person is who the credential belongs to: a signed-in person (no auth)
	// or the owner of a personal token (auth).
	person *person
	// grant is the role the principal holds, if any.
	grant auth.Grant
	// refused is a credential the server refuses, recording the refusal.
	refused bool
}

func (p *principal) cookieHeader() string {
	if p.person != nil && p.auth == "" {
		return p.person.session()
	}
	return p.cookie
}

// A member is one of the matrix's people: every role that may be held in
// a component, in CBP and ICE, and the department-wide ones.
type member struct {
	label      string
	component  string
	supervisor string // label
	role       auth.Role
}

var members = []member{
	{"cbp-supervisor", "CBP", "", auth.Supervisor},
	{"cbp-analyst", "CBP", "cbp-supervisor", auth.Analyst},
	{"cbp-cpo", "CBP", "", auth.ComponentPrivacyOfficer},
	{"cbp-isso", "CBP", "", auth.SecurityOfficer},
	{"cbp-opr", "CBP", "", auth.OPRIntake},
	{"cbp-auditor", "CBP", "", auth.Auditor},
	{"ice-supervisor", "ICE", "", auth.Supervisor},
	{"ice-analyst", "ICE", "ice-supervisor", auth.Analyst},
	{"ice-cpo", "ICE", "", auth.ComponentPrivacyOfficer},
	{"ice-isso", "ICE", "", auth.SecurityOfficer},
	{"ice-opr", "ICE", "", auth.OPRIntake},
	{"ice-auditor", "ICE", "", auth.Auditor},
	{"dpo", "", "", auth.DepartmentPrivacyOfficer},
	{"dept-admin", "", "", auth.Administrator},
	{"dept-auditor", "", "", auth.Auditor},
}

// A matrix is a server with an organization to test authorization on.
type matrix struct {
	ts         *testServer
	principals []*principal
	byName     map[string]*principal
	people     []*person // the members, signed in
	person     map[string]*person
	// Targets of the cases.
	cbpVictim, iceVictim *person // invited, holding the analyst role
	sessionVictim        *person // signed in (twice, from two clients)
	iceLive              *person // signed in (twice, from two clients)
	victimRef            string  // a session of sessionVictim
	enrolSecret          string  // an unused enrolment link
	campaign             int64
	analystItem          int64 // cbp-analyst's role in the campaign
	// tokens holds the personal tokens the tests made, to look for in the
	// logs.
	tokens []string
	// program holds the compliance program's targets.
	program *programFixture
	// privacy holds the privacy program's targets.
	privacy *privacyFixture
	// policy holds the policy engine's targets.
	policy *policyFixture
	// query holds the location queries' targets.
	query *queryFixture
	// caseFx holds the cases' targets.
	caseFx *caseFixture
	// review holds the reviews' and alerts' targets.
	review *reviewFixture
	// release holds the release gate's targets.
	release *releaseFixture
	// results are the answers so far.
	results []result
}

// mustMatrix starts a server and builds the organization: components CBP
// and ICE, a person in each role (invited through the API, enrolled and
// signed in through the pages), a department privacy officer's personal
// token, published rules, a course and an open recertification campaign.
func mustMatrix(t *testing.T, d store.Dialect) *matrix {
	t.Helper()
	ts := mustStartServer(t, d)
	// Two full tiles' worth of entries and a partial one, all signed.
	ts.mustAppend(t, 2*256+10)
	ts.mustPublish(t)
	m := &matrix{ts: ts, byName: map[string]*principal{}, person: map[string]*person{}}

	for _, c := range []string{"CBP", "ICE"} {
		ts.mustJSON(t, request{method: "POST", path: "/api/v1/components", auth: bearer(adminToken), body: fmt.Sprintf(`{"code":%q,"name":"%s component"}`, c, c)}, http.StatusCreated, &struct{}{})
	}
	var forged [32]byte
	rand.Read(forged[:])
	m.add(&principal{name: "anonymous"})
	m.add(&principal{name: "admin", auth: bearer(adminToken), grant: auth.Grant{Role: auth.Administrator}})
	m.add(&principal{name: "auditor", auth: bearer(auditorToken), grant: auth.Grant{Role: auth.Auditor}})
	m.add(&principal{name: "invalid", auth: bearer(invalidToken), refused: true})
	// A valid token in the wrong scheme is no credential.
	m.add(&principal{name: "basic", auth: "Basic " + adminToken, refused: true})
	m.add(&principal{name: "forged", cookie: sessionCookie(base64.RawURLEncoding.EncodeToString(forged[:])), refused: true})
	for _, mb := range members {
		in := invitation{label: mb.label, component: mb.component}
		if mb.supervisor != "" {
			in.supervisor = m.person[mb.supervisor].ID
		}
		g := auth.Grant{Role: mb.role, Component: mb.component}
		p := ts.mustPerson(t, in, g)
		m.person[mb.label] = p
		m.people = append(m.people, p)
		m.add(&principal{name: mb.label, person: p, grant: g})
	}
	// A personal token of the department privacy officer, able to do all
	// the officer can; it acts as the person, but is not a session.
	dpo := m.person["dpo"]
	_, tok := ts.mustToken(t, dpo, 30, auth.PermissionsOf(auth.DepartmentPrivacyOfficer)...)
	m.tokens = append(m.tokens, tok)
	m.add(&principal{name: "dpo-token", auth: bearer(tok), person: dpo, grant: auth.Grant{Role: auth.DepartmentPrivacyOfficer}})

	ts.mustJSON(t, request{method: "POST", path: "/api/v1/rules", cookie: dpo.session(),
		body: `{"key":"program:matrix","title":"Matrix rules","body":"Use data only for assigned work, and never share your account."}`}, http.StatusCreated, &struct{}{})
	ts.mustJSON(t, request{method: "PUT", path: "/api/v1/courses/matrix-course", cookie: dpo.session(),
		body: `{"title":"Matrix course","valid_months":12,"required_for":[]}`}, http.StatusOK, &struct{}{})

	m.cbpVictim, _ = ts.mustInvite(t, invitation{label: "cbp-victim", component: "CBP"})
	ts.mustGrant(t, m.cbpVictim.ID, auth.Analyst, "CBP")
	m.iceVictim, _ = ts.mustInvite(t, invitation{label: "ice-victim", component: "ICE"})
	ts.mustGrant(t, m.iceVictim.ID, auth.Analyst, "ICE")
	_, m.enrolSecret = ts.mustInvite(t, invitation{label: "cbp-enrolling", component: "CBP"})

	// Two people with live sessions from two clients each: each account
	// looks shared, and the privacy officers see it.
	m.sessionVictim = ts.mustPerson(t, invitation{label: "cbp-shared", component: "CBP"}, auth.Grant{Role: auth.Analyst, Component: "CBP"})
	m.iceLive = ts.mustPerson(t, invitation{label: "ice-shared", component: "ICE"}, auth.Grant{Role: auth.Analyst, Component: "ICE"})
	for _, p := range []*person{m.sessionVictim, m.iceLive} {
		ts.mustSession(t, p, "another-client")
	}
	var sessions struct {
		Sessions []struct {
			Ref string `json:"ref"`
		} `json:"sessions"`
	}
	ts.mustJSON(t, request{method: "GET", path: "/api/v1/me/sessions", cookie: m.sessionVictim.session()}, allow, &sessions)
	if len(sessions.Sessions) != 2 {
		t.Fatalf("the shared account has %d sessions, want 2", len(sessions.Sessions))
	}
	m.victimRef = sessions.Sessions[0].Ref

	var c struct {
		ID    int64 `json:"id"`
		Items int   `json:"items"`
	}
	ts.mustJSON(t, request{method: "POST", path: "/api/v1/campaigns", auth: bearer(adminToken), body: `{"name":"Matrix campaign"}`}, http.StatusCreated, &c)
	m.campaign = c.ID
	for _, it := range m.items(t) {
		if it.PersonID == m.person["cbp-analyst"].ID {
			m.analystItem = it.ID
		}
	}
	if m.analystItem == 0 || c.Items < len(members) {
		t.Fatalf("the campaign has %d items, none for cbp-analyst", c.Items)
	}
	m.program = mustProgramFixture(t, m)
	m.privacy = mustPrivacyFixture(t, m)
	m.policy = mustPolicyFixture(t, m)
	m.query = mustQueryFixture(t, m)
	m.caseFx = mustCaseFixture(t, m)
	m.review = mustReviewFixture(t, m)
	m.release = mustReleaseFixture(t, m)
	return m
}

func (m *matrix) add(p *principal) {
	m.principals = append(m.principals, p)
	m.byName[p.name] = p
}

// campaignItem is an item of the matrix's campaign.
type campaignItem struct {
	ID         int64  `json:"id"`
	PersonID   int64  `json:"person_id"`
	AttesterID int64  `json:"attester_id"`
	Decision   string `json:"decision"`
}

// items lists the campaign's items as the ledger auditor sees them.
func (m *matrix) items(t *testing.T) []campaignItem {
	t.Helper()
	var resp struct {
		Items []campaignItem `json:"items"`
	}
	m.ts.mustJSON(t, request{method: "GET", path: fmt.Sprintf("/api/v1/campaigns/%d/items", m.campaign), auth: bearer(auditorToken)}, allow, &resp)
	return resp.Items
}

// tokenOf returns an Authorization header with a new personal token of a
// member, scoped to all their role allows (a new session makes it).
func (m *matrix) tokenOf(t *testing.T, label string) string {
	t.Helper()
	p := m.person[label]
	m.ts.mustSession(t, p, matrixAgent)
	_, tok := m.ts.mustToken(t, p, 1, auth.PermissionsOf(m.byName[label].grant.Role)...)
	m.tokens = append(m.tokens, tok)
	return bearer(tok)
}

// secrets returns every credential the matrix used.
func (m *matrix) secrets() []string {
	out := []string{adminToken, auditorToken, invalidToken, m.enrolSecret}
	for _, p := range m.people {
		out = append(out, p.Cookie, p.Password)
	}
	return append(out, m.tokens...)
}

// Sets of principals, by name.

// names returns the names of the principals that match.
func (m *matrix) names(match func(p *principal) bool) []string {
	var out []string
	for _, p := range m.principals {
		if match(p) {
			out = append(out, p.name)
		}
	}
	return out
}

// everyone is every principal, refused credentials included.
func (m *matrix) everyone() []string { return m.names(func(*principal) bool { return true }) }

// valid is every principal whose credential, if any, is accepted.
func (m *matrix) valid() []string { return m.names(func(p *principal) bool { return !p.refused }) }

// signedIn is every principal with an accepted credential.
func (m *matrix) signedIn() []string {
	return m.names(func(p *principal) bool { return !p.refused && p.name != "anonymous" })
}

// outsiders are the anonymous and the refused.
func (m *matrix) outsiders() []string {
	return m.names(func(p *principal) bool { return p.refused || p.name == "anonymous" })
}

// selves is every principal that is a person (a session or a personal
// token).
func (m *matrix) selves() []string {
	return m.names(func(p *principal) bool { return p.person != nil })
}

// sessions is every principal signed in with a session cookie.
func (m *matrix) sessions() []string {
	return m.names(func(p *principal) bool { return p.person != nil && p.auth == "" })
}

// anywhere is the principals holding one of roles, wherever.
func (m *matrix) anywhere(roles ...auth.Role) []string {
	return m.names(func(p *principal) bool { return slices.Contains(roles, p.grant.Role) })
}

// within is the principals holding one of roles for component: in it, or
// department-wide.
func (m *matrix) within(component string, roles ...auth.Role) []string {
	return m.names(func(p *principal) bool {
		return slices.Contains(roles, p.grant.Role) && (p.grant.Component == "" || p.grant.Component == component)
	})
}

// only is the principals holding one of roles in exactly component ("" is
// department-wide).
func (m *matrix) only(component string, roles ...auth.Role) []string {
	return m.names(func(p *principal) bool { return slices.Contains(roles, p.grant.Role) && p.grant.Component == component })
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// each gives every named principal the status.
func each(status int, names ...[]string) map[string]int {
	out := map[string]int{}
	for _, ns := range names {
		for _, n := range ns {
			out[n] = status
		}
	}
	return out
}

// A matrixCase is one request, and the status each principal must get.
type matrixCase struct {
	name   string
	method string
	// path is the request's path; with prep, an example of it.
	path string
	body string
	form bool // the body is a form, not JSON
	// prep, when set, makes a fresh target for one request (a person to
	// lock, a token to revoke) and returns the request's path and body.
	prep func(t *testing.T, p *principal) (path, body string)
	// ok is the status of the allowed principals.
	ok    int
	allow []string
	// want gives others' statuses; the rest get the refusal their
	// credential earns: 401 (or the sign-in page) for the anonymous and
	// the refused, 403 for the others.
	want map[string]int
	// grows is how many ledger entries an allowed request adds.
	grows int64
	// always is how many entries every request that reaches the handler
	// adds (a refused sign-in records itself).
	always int64
	// records names the principals whose refusal the handler records (a
	// refused workflow step): one entry each.
	records []string
	// after sees each answer (to keep new recovery codes, say).
	after func(t *testing.T, p *principal, r response)
}

// expected returns the status p must get.
func (c matrixCase) expected(p *principal) int {
	if s, ok := c.want[p.name]; ok {
		return s
	}
	if slices.Contains(c.allow, p.name) {
		return c.ok
	}
	if p.refused || p.name == "anonymous" {
		if isProgramPath(c.path) {
			return unauth
		}
		return seeLogin
	}
	return forbid
}

// cases are the matrix's cases but those that end the caller's session.
func (m *matrix) cases() []matrixCase {
	ts := m.ts
	var (
		valid, selves, sessions = m.valid(), m.selves(), m.sessions()
		admins                  = m.anywhere(auth.Administrator)
		readerRoles             = []auth.Role{auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.SecurityOfficer, auth.OPRIntake, auth.Auditor, auth.Administrator}
		readers                 = m.anywhere(readerRoles...)
		lockers                 = []auth.Role{auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.Administrator}
		complianceRoles         = []auth.Role{auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.Auditor}
		recertReaders           = m.anywhere(auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.Auditor, auth.Administrator)
		// Ledger entries record every component's activity: only a
		// department-wide auditor reads them.
		entryReaders = m.only("", auth.Auditor)
		public       = valid
	)
	// fresh invites a new person in a component, as the bootstrap
	// administrator.
	fresh := func(t *testing.T, component string) *person {
		p, _ := ts.mustInvite(t, invitation{label: "target", component: component})
		return p
	}
	reason := `{"reason":"authorization matrix"}`
	personCases := func(comp, other string) []matrixCase {
		target := m.person[strings.ToLower(comp)+"-analyst"]
		victim := m.cbpVictim
		if comp == "ICE" {
			victim = m.iceVictim
		}
		return []matrixCase{
			// People of another component do not exist for those who may
			// only see their own.
			{name: "get a " + comp + " person", method: "GET", path: fmt.Sprintf("/api/v1/people/%d", target.ID),
				ok: allow, allow: m.within(comp, readerRoles...), want: each(http.StatusNotFound, m.only(other, readerRoles...))},
			{name: "lock a " + comp + " person", method: "POST", path: "/api/v1/people/1/lock", body: reason,
				prep: func(t *testing.T, _ *principal) (string, string) {
					return fmt.Sprintf("/api/v1/people/%d/lock", fresh(t, comp).ID), reason
				},
				ok: allow, allow: m.within(comp, lockers...), grows: 1},
			{name: "end a " + comp + " person's sessions", method: "POST", path: fmt.Sprintf("/api/v1/people/%d/sessions/end-all", victim.ID),
				ok: allow, allow: m.within(comp, lockers...), grows: 1},
			{name: "a " + comp + " person's access", method: "GET", path: fmt.Sprintf("/api/v1/people/%d/access", target.ID),
				ok: allow, allow: m.within(comp, complianceRoles...), want: each(http.StatusNotFound, m.only(other, complianceRoles...))},
			{name: "record a " + comp + " person's training", method: "POST", path: fmt.Sprintf("/api/v1/people/%d/trainings", victim.ID),
				body: fmt.Sprintf(`{"course":"matrix-course","completed_on":%q}`, time.Now().UTC().Format(time.DateOnly)),
				ok:   http.StatusCreated, allow: m.within(comp, lockers...), grows: 1},
		}
	}

	cases := []matrixCase{
		// Operations and the public ledger.
		{name: "healthz", method: "GET", path: "/healthz", ok: allow, allow: public},
		{name: "readyz", method: "GET", path: "/readyz", ok: allow, allow: public},
		{name: "metrics", method: "GET", path: "/metrics", ok: allow, allow: public},
		{name: "openapi", method: "GET", path: "/api/v1/openapi.json", ok: allow, allow: public},
		{name: "checkpoint", method: "GET", path: "/ledger/checkpoint", ok: allow, allow: public},
		{name: "full hash tile", method: "GET", path: "/ledger/tile/0/000", ok: allow, allow: public},
		{name: "partial hash tile", method: "GET", path: "/ledger/tile/0/001.p/1", ok: allow, allow: public},
		{name: "level 1 hash tile", method: "GET", path: "/ledger/tile/1/000.p/1", ok: allow, allow: public},
		{name: "full entry bundle", method: "GET", path: "/ledger/tile/entries/000", ok: allow, allow: entryReaders},
		{name: "partial entry bundle", method: "GET", path: "/ledger/tile/entries/001.p/1", ok: allow, allow: entryReaders},
		// Percent-encoding does not hide an entry bundle.
		{name: "escaped entry bundle", method: "GET", path: "/ledger/tile/%65ntries/000", ok: allow, allow: entryReaders},
		// The credential is checked before existence: no one learns
		// anything about bundles they may not read.
		{name: "entry bundle beyond the ledger", method: "GET", path: "/ledger/tile/entries/x001/000", ok: http.StatusNotFound, allow: entryReaders},
		{name: "ledger info", method: "GET", path: "/api/v1/ledger", ok: allow, allow: public},
		{name: "entry", method: "GET", path: "/api/v1/ledger/entries/0", ok: allow, allow: entryReaders},
		{name: "entry at tree size", method: "GET", path: "/api/v1/ledger/entries/1?tree_size=10", ok: allow, allow: entryReaders},
		{name: "entry beyond the ledger", method: "GET", path: "/api/v1/ledger/entries/100000", ok: http.StatusNotFound, allow: entryReaders},
		{name: "consistency", method: "GET", path: "/api/v1/ledger/consistency?from=1", ok: allow, allow: public},
		{name: "publish checkpoint", method: "POST", path: "/api/v1/ledger/checkpoint", ok: allow, allow: m.anywhere(auth.Auditor, auth.Administrator)},

		// Settings.
		{name: "list settings", method: "GET", path: "/api/v1/settings", ok: allow, allow: m.anywhere(auth.Auditor, auth.Administrator)},
		{name: "get setting", method: "GET", path: "/api/v1/settings/organization_name", ok: allow, allow: m.anywhere(auth.Auditor, auth.Administrator)},
		{name: "get unknown setting", method: "GET", path: "/api/v1/settings/nope", ok: http.StatusNotFound, allow: m.anywhere(auth.Auditor, auth.Administrator)},
		{name: "put setting", method: "PUT", path: "/api/v1/settings/organization_name", body: `{"value":"Matrix Department"}`, ok: allow, allow: admins, grows: 1},
		{name: "put unknown setting", method: "PUT", path: "/api/v1/settings/nope", body: `{"value":"x"}`, ok: http.StatusNotFound, allow: admins},

		// Signing in for programs: public; a malformed request is refused
		// before any password is checked.
		{name: "issue a token, malformed", method: "POST", path: "/api/v1/auth/token", body: `{"employee_id":7}`, ok: http.StatusBadRequest, allow: valid},

		// One's own account: people only, never the bootstrap credentials.
		{name: "me", method: "GET", path: "/api/v1/me", ok: allow, allow: selves},
		{name: "my sessions", method: "GET", path: "/api/v1/me/sessions", ok: allow, allow: selves},
		// Nobody ends another person's session by its reference.
		{name: "end another's session", method: "DELETE", path: "/api/v1/me/sessions/" + m.victimRef, ok: http.StatusNotFound, allow: selves},
		{name: "my tokens", method: "GET", path: "/api/v1/me/tokens", ok: allow, allow: selves},
		{name: "create a token", method: "POST", path: "/api/v1/me/tokens",
			prep: func(_ *testing.T, p *principal) (string, string) {
				scope := auth.PeopleRead
				if p.grant.Role == auth.Analyst {
					scope = auth.DataAccess
				}
				return "/api/v1/me/tokens", fmt.Sprintf(`{"name":"matrix","scopes":[%q],"days":1}`, scope)
			},
			// A token cannot create tokens.
			ok: http.StatusCreated, allow: sessions, want: each(forbid, []string{"dpo-token"}), grows: 1,
			after: func(_ *testing.T, _ *principal, r response) {
				var tok struct {
					Token string `json:"token"`
				}
				json.Unmarshal(r.body, &tok)
				if tok.Token != "" {
					m.tokens = append(m.tokens, tok.Token)
				}
			}},
		// Another person's token: revoked by those who may end that
		// person's access, invisible to the others.
		{name: "revoke another's token", method: "DELETE", path: "/api/v1/me/tokens/1",
			prep: func(t *testing.T, _ *principal) (string, string) {
				return fmt.Sprintf("/api/v1/me/tokens/%d", m.victimToken(t, m.cbpVictim)), ""
			},
			ok: allow, allow: intersect(selves, m.within("CBP", lockers...)), want: each(http.StatusNotFound, without(selves, m.within("CBP", lockers...))), grows: 1},
		// The right current password and a new one that breaks the rules:
		// refused after the check, nothing changes.
		{name: "change password", method: "POST", path: "/api/v1/me/password",
			prep: func(_ *testing.T, p *principal) (string, string) {
				current := "not the password"
				if p.person != nil {
					current = p.person.Password
				}
				return "/api/v1/me/password", fmt.Sprintf(`{"current":%q,"new":"short"}`, current)
			},
			ok: http.StatusBadRequest, allow: selves},
		{name: "new recovery codes", method: "POST", path: "/api/v1/me/recovery-codes", ok: allow, allow: selves, grows: 1,
			after: func(t *testing.T, p *principal, r response) {
				var codes struct {
					Codes []string `json:"recovery_codes"`
				}
				json.Unmarshal(r.body, &codes)
				if p.person != nil && r.status == allow {
					p.person.Recovery = codes.Codes
				}
			}},
		{name: "acknowledge rules", method: "POST", path: "/api/v1/me/rules/program:matrix/acknowledge", body: `{"version":1}`, ok: allow, allow: selves, grows: 1},

		// The organization.
		{name: "list components", method: "GET", path: "/api/v1/components", ok: allow, allow: readers},
		{name: "create a component", method: "POST", path: "/api/v1/components",
			prep: func(_ *testing.T, _ *principal) (string, string) {
				return "/api/v1/components", fmt.Sprintf(`{"code":"MX%d","name":"Matrix component"}`, ts.next())
			},
			ok: http.StatusCreated, allow: admins, grows: 1},
		{name: "list units", method: "GET", path: "/api/v1/units", ok: allow, allow: readers},
		{name: "create a unit", method: "POST", path: "/api/v1/units",
			prep: func(_ *testing.T, _ *principal) (string, string) {
				return "/api/v1/units", fmt.Sprintf(`{"component":"CBP","name":"Unit %d"}`, ts.next())
			},
			ok: http.StatusCreated, allow: admins, grows: 1},
		{name: "list people", method: "GET", path: "/api/v1/people", ok: allow, allow: readers},
		{name: "invite", method: "POST", path: "/api/v1/people",
			prep: func(_ *testing.T, _ *principal) (string, string) {
				n := ts.next()
				return "/api/v1/people", fmt.Sprintf(`{"employee_id":"mx-%d","name":"Matrix %d","email":"mx-%d@example.gov","component":"CBP"}`, n, n, n)
			},
			ok: http.StatusCreated, allow: admins, grows: 1},
		{name: "update a person", method: "PATCH", path: fmt.Sprintf("/api/v1/people/%d", m.cbpVictim.ID),
			prep: func(_ *testing.T, _ *principal) (string, string) {
				return fmt.Sprintf("/api/v1/people/%d", m.cbpVictim.ID), fmt.Sprintf(`{"name":"Renamed %d"}`, ts.next())
			},
			ok: allow, allow: m.within("CBP", auth.Administrator), grows: 1},
		{name: "new enrolment link", method: "POST", path: "/api/v1/people/1/invitation",
			prep: func(t *testing.T, _ *principal) (string, string) {
				return fmt.Sprintf("/api/v1/people/%d/invitation", fresh(t, "CBP").ID), ""
			},
			ok: http.StatusCreated, allow: admins, grows: 1},
		{name: "reinstate", method: "POST", path: "/api/v1/people/1/reinstate", body: reason,
			prep: func(t *testing.T, _ *principal) (string, string) {
				p := fresh(t, "CBP")
				ts.mustJSON(t, request{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/lock", p.ID), auth: bearer(adminToken), body: reason}, allow, &struct{}{})
				return fmt.Sprintf("/api/v1/people/%d/reinstate", p.ID), reason
			},
			ok: allow, allow: admins, grows: 1},
		{name: "disable", method: "POST", path: "/api/v1/people/1/disable", body: reason,
			prep: func(t *testing.T, _ *principal) (string, string) {
				return fmt.Sprintf("/api/v1/people/%d/disable", fresh(t, "CBP").ID), reason
			},
			ok: allow, allow: admins, grows: 1},
		{name: "grant a role", method: "POST", path: "/api/v1/grants",
			prep: func(t *testing.T, _ *principal) (string, string) {
				return "/api/v1/grants", fmt.Sprintf(`{"person_id":%d,"role":"analyst","component":"CBP"}`, fresh(t, "CBP").ID)
			},
			ok: http.StatusCreated, allow: admins, grows: 1},
		{name: "revoke a role", method: "POST", path: "/api/v1/grants/1/revoke", body: reason,
			prep: func(t *testing.T, _ *principal) (string, string) {
				g := ts.mustGrant(t, fresh(t, "CBP").ID, auth.Analyst, "CBP")
				return fmt.Sprintf("/api/v1/grants/%d/revoke", g), reason
			},
			ok: allow, allow: admins, grows: 1},
	}
	cases = append(cases, personCases("CBP", "ICE")...)
	cases = append(cases, personCases("ICE", "CBP")...)
	cases = append(cases, []matrixCase{
		// Rules of behavior and training.
		{name: "list rules", method: "GET", path: "/api/v1/rules", ok: allow, allow: selves},
		{name: "publish rules", method: "POST", path: "/api/v1/rules",
			prep: func(_ *testing.T, _ *principal) (string, string) {
				return "/api/v1/rules", fmt.Sprintf(`{"key":"program:matrix-%d","title":"Matrix rules","body":"Use data only for assigned work."}`, ts.next())
			},
			ok: http.StatusCreated, allow: m.anywhere(auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer), grows: 1},
		{name: "list courses", method: "GET", path: "/api/v1/courses", ok: allow, allow: recertReaders},
		{name: "define a course", method: "PUT", path: "/api/v1/courses/matrix-x",
			prep: func(_ *testing.T, _ *principal) (string, string) {
				return fmt.Sprintf("/api/v1/courses/matrix-%d", ts.next()), `{"title":"Another course","valid_months":12,"required_for":[]}`
			},
			ok: allow, allow: m.anywhere(lockers...), grows: 1},

		// Recertification: a campaign is open.
		{name: "list campaigns", method: "GET", path: "/api/v1/campaigns", ok: allow, allow: recertReaders},
		{name: "start a campaign while one is open", method: "POST", path: "/api/v1/campaigns", body: `{"name":"Second"}`, ok: http.StatusConflict, allow: admins},
		{name: "close a campaign that does not exist", method: "POST", path: "/api/v1/campaigns/999999/close", ok: http.StatusNotFound, allow: admins},
		{name: "campaign items", method: "GET", path: fmt.Sprintf("/api/v1/campaigns/%d/items", m.campaign), ok: allow, allow: recertReaders},
		// Only the person's supervisor attests their roles.
		{name: "attest a report's role", method: "POST", path: fmt.Sprintf("/api/v1/campaign-items/%d", m.analystItem), body: `{"decision":"keep"}`,
			ok: allow, allow: []string{"cbp-supervisor"}, grows: 1},
		// A department privacy officer attests the roles of people
		// without a supervisor.
		{name: "attest a role of someone without a supervisor", method: "POST", path: "/api/v1/campaign-items/1",
			prep: func(t *testing.T, _ *principal) (string, string) {
				return fmt.Sprintf("/api/v1/campaign-items/%d", m.unsupervisedItem(t)), `{"decision":"keep"}`
			},
			ok: allow, allow: []string{"dpo", "dpo-token"}, grows: 1},
		{name: "signals", method: "GET", path: "/api/v1/signals", ok: allow,
			allow: m.anywhere(auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.SecurityOfficer, auth.OPRIntake, auth.Auditor)},

		// The pages. Public pages treat a refused credential as none.
		{name: "home", method: "GET", path: "/", ok: allow, allow: m.signedIn(), want: each(seeLogin, m.outsiders())},
		{name: "sign-in page", method: "GET", path: "/login", ok: allow, allow: m.outsiders(), want: each(http.StatusSeeOther, m.signedIn())},
		{name: "sign in, unknown account", method: "POST", path: "/login", form: true,
			prep: func(_ *testing.T, _ *principal) (string, string) {
				return "/login", fmt.Sprintf("account=nobody-%d&password=whatever+it+may+be", ts.next())
			},
			ok: unauth, allow: m.everyone(), always: 1},
		{name: "code page without a sign-in", method: "GET", path: "/login/code", ok: seeLogin, allow: m.everyone()},
		{name: "code without a sign-in", method: "POST", path: "/login/code", form: true, body: "code=123456", ok: seeLogin, allow: m.everyone()},
		{name: "single sign-on, not configured", method: "GET", path: "/auth/oidc/start", ok: http.StatusNotFound, allow: m.everyone()},
		{name: "single sign-on callback, not configured", method: "GET", path: "/auth/oidc/callback?state=x&code=y", ok: http.StatusNotFound, allow: m.everyone()},
		{name: "certificate sign-in, not configured", method: "GET", path: "/auth/piv", ok: http.StatusNotFound, allow: m.everyone()},
		{name: "enrolment page", method: "GET", path: "/enroll/" + m.enrolSecret, ok: allow, allow: m.everyone()},
		{name: "enrol with an unknown link", method: "POST", path: "/enroll/no-such-link", form: true,
			body: "password=lantern+orbit+velvet&password2=lantern+orbit+velvet&sealed=x&code=123456", ok: http.StatusNotFound, allow: m.everyone()},
		{name: "account page", method: "GET", path: "/account", ok: allow, allow: selves},
		{name: "acknowledge rules, page", method: "POST", path: "/account/rules", form: true, body: "key=program%3Amatrix&version=1",
			ok: http.StatusSeeOther, allow: selves, grows: 1},
	}...)
	cases = append(cases, m.programCases()...)
	cases = append(cases, m.privacyCases()...)
	cases = append(cases, m.policyCases()...)
	cases = append(cases, m.queryCases()...)
	cases = append(cases, m.caseCases()...)
	cases = append(cases, m.credentialCases()...)
	cases = append(cases, m.reviewCases()...)
	cases = append(cases, m.releaseCases()...)
	cases = append(cases, m.placesCases()...)
	cases = append(cases, m.basemapCases()...)
	cases = append(cases, m.ledgerPageCases()...)
	cases = append(cases, m.rolePageCases()...)
	cases = append(cases, m.privacyPageCases()...)
	return cases
}

// sessionEndingCases end the caller's session; each runs once every
// person has a new one.
func (m *matrix) sessionEndingCases() []matrixCase {
	selves, sessions := m.selves(), m.sessions()
	return []matrixCase{
		// Signing out ends a session cookie's session; without one it does
		// nothing, and says so all the same.
		{name: "sign out, page", method: "POST", path: "/logout", ok: allow, allow: sessions, grows: 1,
			want: each(allow, without(m.everyone(), sessions))},
		{name: "sign out everywhere", method: "POST", path: "/api/v1/me/sessions/end-all", ok: allow, allow: selves, grows: 1},
		{name: "sign out everywhere, page", method: "POST", path: "/account/sign-out-everywhere", ok: allow, allow: selves, grows: 1},
	}
}

// victimToken makes a new personal token of p directly in the store.
func (m *matrix) victimToken(t *testing.T, p *person) int64 {
	t.Helper()
	ctx := context.Background()
	pr := m.principalOf(t, p)
	tok, secret, err := m.ts.Identity.CreateToken(ctx, pr, "victim", []auth.Permission{auth.DataAccess}, time.Hour)
	if err != nil {
		t.Fatalf("create a token for %s: %v", p.label, err)
	}
	m.tokens = append(m.tokens, secret)
	return tok.ID
}

// principalOf returns the principal p acts as.
func (m *matrix) principalOf(t *testing.T, p *person) auth.Principal {
	t.Helper()
	ctx := context.Background()
	who, err := m.ts.Identity.PersonByEmployeeID(ctx, p.EmployeeID)
	if err != nil {
		t.Fatal(err)
	}
	grants, err := m.ts.Identity.Grants(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return identity.Principal(who, grants)
}

// unsupervisedItem returns a pending campaign item of someone without a
// supervisor, other than the department privacy officer.
func (m *matrix) unsupervisedItem(t *testing.T) int64 {
	t.Helper()
	for _, it := range m.items(t) {
		if it.Decision == "pending" && it.AttesterID == 0 && it.PersonID != m.person["dpo"].ID {
			return it.ID
		}
	}
	t.Fatal("no pending item of someone without a supervisor is left")
	return 0
}

// patterns returns every route: the API's and the pages'.
func (m *matrix) patterns() []string {
	var out []string
	for _, r := range m.ts.API.Routes() {
		out = append(out, r.Method+" "+r.Pattern)
	}
	for _, r := range m.ts.Web.Routes() {
		out = append(out, r.Method+" "+r.Pattern)
	}
	return out
}

// perm returns the permission the route of pattern declares.
func (m *matrix) perm(pattern string) auth.Permission {
	for _, r := range m.ts.API.Routes() {
		if r.Method+" "+r.Pattern == pattern {
			return r.Perm
		}
	}
	for _, r := range m.ts.Web.Routes() {
		if r.Method+" "+r.Pattern == pattern {
			return r.Perm
		}
	}
	return ""
}

// pattern returns the route a request goes to, "" for none.
func (m *matrix) pattern(method, path string) string {
	var patterns []string
	for _, p := range m.patterns() {
		_, pp, _ := strings.Cut(p, " ")
		if isProgramPath(pp) == isProgramPath(path) {
			patterns = append(patterns, p)
		}
	}
	req, _ := http.NewRequest(method, "http://probity.test"+path, nil)
	_, pattern := routeMux(patterns).Handler(req)
	return pattern
}

// result is one request's outcome, kept for the invariants.
type result struct {
	kase, principal, pattern, method string
	status                           int
	allowed                          bool
}

// run sends every case as every principal, checks each answer, and returns
// how many requests were allowed that must have been refused.
func (m *matrix) run(t *testing.T, cases []matrixCase) int {
	t.Helper()
	ts := m.ts
	unexpected := 0
	for _, c := range cases {
		methods := []string{c.method}
		if c.method == "GET" {
			methods = append(methods, "HEAD") // HEAD must not bypass GET's checks
		}
		pattern := m.pattern(c.method, c.path)
		perm := m.perm(pattern)
		for _, method := range methods {
			for _, p := range m.principals {
				want := c.expected(p)
				path, body := c.path, c.body
				if c.prep != nil {
					path, body = c.prep(t, p)
				}
				before := ts.ledgerSize(t)
				rq := request{method: method, path: path, auth: p.auth, cookie: p.cookieHeader(), body: body}
				if c.form {
					rq.contentType = "application/x-www-form-urlencoded"
				}
				r := ts.send(t, rq)
				label := fmt.Sprintf("%s %s as %s (%s)", method, path, p.name, c.name)
				loc := r.header.Get("Location")
				status := r.status
				if status == http.StatusSeeOther && loc == "/login" {
					status = seeLogin
				}
				if status != want {
					t.Errorf("%s: status %d (Location %q), want %d: %.200q", label, r.status, loc, want, string(r.body))
				}
				allowed := r.status < 400 && status != seeLogin
				if allowed && (want >= 400 || want == seeLogin) {
					unexpected++
				}
				m.results = append(m.results, result{kase: c.name, principal: p.name, pattern: pattern, method: method, status: status, allowed: allowed})
				checkSecurityHeaders(t, label, r)
				if isProgramPath(path) && r.status == unauth && r.header.Get("WWW-Authenticate") != `Bearer realm="probity"` {
					t.Errorf("%s: 401 without WWW-Authenticate: %q", label, r.header.Get("WWW-Authenticate"))
				}
				if (r.status == unauth || r.status == forbid) && method != "HEAD" {
					checkDenial(t, label, path, r)
				}
				// A refused credential records the refusal; an allowed change
				// records itself; a refused sign-in records itself; nothing
				// else changes the ledger.
				wantGrew := int64(boolInt(p.refused))
				if !p.refused || (!isProgramPath(path) && perm == auth.Public) {
					wantGrew += c.always
				}
				if slices.Contains(c.allow, p.name) {
					wantGrew += c.grows
				}
				if slices.Contains(c.records, p.name) {
					wantGrew++
				}
				if grew := ts.ledgerSize(t) - before; grew != wantGrew {
					t.Errorf("%s: the ledger grew by %d, want %d", label, grew, wantGrew)
				}
				if c.after != nil {
					c.after(t, p, r)
				}
			}
		}
	}
	return unexpected
}

// checkInvariants checks what must hold over all the answers, whatever
// the cases expect: the expectations themselves could be wrong.
func (m *matrix) checkInvariants(t *testing.T) {
	t.Helper()
	rs := m.results
	if len(rs) == 0 {
		t.Fatal("no results")
	}
	auditors := m.anywhere(auth.Auditor)
	admins := m.anywhere(auth.Administrator)
	for _, r := range rs {
		perm := m.perm(r.pattern)
		// An auditor changes nothing: no action but on their own account
		// (Self), asking for a checkpoint, or a public page succeeds.
		if slices.Contains(auditors, r.principal) && r.allowed && r.method != "GET" && r.method != "HEAD" &&
			perm != auth.Self && perm != auth.Public && perm != auth.LedgerCheckpoint {
			t.Errorf("auditor %s changed something: %s %s (%s) answered %d", r.principal, r.method, r.pattern, r.kase, r.status)
		}
		// An administrator reads no ledger entries.
		if slices.Contains(admins, r.principal) && r.allowed && (perm == auth.LedgerEntriesRead || strings.Contains(r.kase, "entry bundle")) {
			t.Errorf("administrator %s read ledger entries: %s %s answered %d", r.principal, r.method, r.pattern, r.status)
		}
		// The refused get nothing but public pages.
		if p := m.byName[r.principal]; p.refused && r.allowed && perm != auth.Public {
			t.Errorf("refused credential %s was allowed %s %s", r.principal, r.method, r.pattern)
		}
	}
	// Every route was asked by every principal.
	asked := map[string]map[string]bool{}
	for _, r := range rs {
		if asked[r.pattern] == nil {
			asked[r.pattern] = map[string]bool{}
		}
		asked[r.pattern][r.principal] = true
	}
	for _, pattern := range m.patterns() {
		if len(asked[pattern]) != len(m.principals) {
			t.Errorf("route %s was asked by %d principals, want %d", pattern, len(asked[pattern]), len(m.principals))
		}
	}
}

// crossComponent checks, beyond statuses, that nobody acts on or sees
// people of a component they hold no role in.
func (m *matrix) crossComponent(t *testing.T) {
	ts := m.ts
	cbpSup, iceSup := m.person["cbp-supervisor"], m.person["ice-supervisor"]
	cbpCPO, iceCPO := m.person["cbp-cpo"], m.person["ice-cpo"]

	t.Run("ErrSeeOtherComponent", func(t *testing.T) {
		for _, c := range []struct {
			who       *person
			query     string
			component string
			min       int
		}{
			{cbpSup, "", "CBP", 8},
			{cbpSup, "?component=ICE", "", 0},
			{cbpSup, "?q=ice-", "", 0},
			{iceSup, "", "ICE", 8},
			{iceSup, "?component=CBP", "", 0},
		} {
			var resp struct {
				People []struct {
					ID        int64  `json:"id"`
					Component string `json:"component"`
				} `json:"people"`
			}
			ts.mustJSON(t, request{method: "GET", path: "/api/v1/people" + c.query, cookie: c.who.session()}, allow, &resp)
			if len(resp.People) < c.min || (c.min == 0 && len(resp.People) != 0) {
				t.Errorf("%s lists %d people with %q, want at least %d", c.who.label, len(resp.People), c.query, c.min)
			}
			for _, p := range resp.People {
				if p.Component != c.component {
					t.Errorf("%s sees person %d of %q", c.who.label, p.ID, p.Component)
				}
			}
		}
		// Campaign items: a supervisor sees their component's only.
		component := map[int64]string{}
		for _, p := range append(m.people, m.sessionVictim, m.iceLive) {
			component[p.ID] = p.Component
		}
		var items struct {
			Items []campaignItem `json:"items"`
		}
		ts.mustJSON(t, request{method: "GET", path: fmt.Sprintf("/api/v1/campaigns/%d/items", m.campaign), cookie: cbpSup.session()}, allow, &items)
		if len(items.Items) < 7 {
			t.Errorf("the CBP supervisor sees %d campaign items, want CBP's 7", len(items.Items))
		}
		for _, it := range items.Items {
			if component[it.PersonID] != "CBP" {
				t.Errorf("the CBP supervisor sees the campaign item of person %d (%q)", it.PersonID, component[it.PersonID])
			}
		}
	})

	t.Run("ErrActOnOtherComponent", func(t *testing.T) {
		victim := m.iceLive
		_, tok := ts.mustToken(t, victim, 1, auth.DataAccess)
		m.tokens = append(m.tokens, tok)
		var toks struct {
			Tokens []struct {
				ID int64 `json:"id"`
			} `json:"tokens"`
		}
		ts.mustJSON(t, request{method: "GET", path: "/api/v1/me/tokens", cookie: victim.session()}, allow, &toks)
		before := ts.ledgerSize(t)
		for _, c := range []struct {
			rq   request
			want int
		}{
			{request{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/lock", victim.ID), body: `{"reason":"cross"}`}, forbid},
			{request{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/sessions/end-all", victim.ID)}, forbid},
			{request{method: "GET", path: fmt.Sprintf("/api/v1/people/%d", victim.ID)}, http.StatusNotFound},
			{request{method: "GET", path: fmt.Sprintf("/api/v1/people/%d/access", victim.ID)}, http.StatusNotFound},
			{request{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/trainings", victim.ID), body: `{"course":"matrix-course","completed_on":"2025-01-02"}`}, forbid},
			{request{method: "DELETE", path: fmt.Sprintf("/api/v1/me/tokens/%d", toks.Tokens[0].ID)}, http.StatusNotFound},
		} {
			c.rq.cookie = cbpCPO.session()
			r := ts.send(t, c.rq)
			if r.status != c.want {
				t.Errorf("the CBP privacy officer: %s %s: status %d, want %d: %s", c.rq.method, c.rq.path, r.status, c.want, r.body)
			}
			if bytes := string(r.body); strings.Contains(bytes, victim.EmployeeID) {
				t.Errorf("%s %s: the refusal names the ICE person: %s", c.rq.method, c.rq.path, bytes)
			}
		}
		if grew := ts.ledgerSize(t) - before; grew != 0 {
			t.Errorf("the refused actions added %d ledger entries", grew)
		}
		// The ICE person is untouched: active, signed in, token working.
		if me := ts.mustMe(t, victim); me.Person.Status != "active" {
			t.Errorf("the ICE person is %s", me.Person.Status)
		}
		if r := ts.send(t, request{method: "GET", path: "/api/v1/me", auth: bearer(tok)}); r.status != allow {
			t.Errorf("the ICE person's token: status %d", r.status)
		}
		// The ICE privacy officer may: the control.
		r := ts.send(t, request{method: "GET", path: fmt.Sprintf("/api/v1/people/%d/access", victim.ID), cookie: iceCPO.session()})
		if r.status != allow {
			t.Errorf("the ICE privacy officer reads the ICE person's access: status %d", r.status)
		}
	})

	t.Run("ErrSignalsOfOtherComponent", func(t *testing.T) {
		for _, c := range []struct {
			who       *person
			see, hide *person
		}{
			{cbpCPO, m.sessionVictim, m.iceLive},
			{iceCPO, m.iceLive, m.sessionVictim},
			{m.person["cbp-isso"], m.sessionVictim, m.iceLive},
			{m.person["ice-opr"], m.iceLive, m.sessionVictim},
			{m.person["dpo"], m.iceLive, nil},
			{m.person["dept-auditor"], m.sessionVictim, nil},
		} {
			var resp struct {
				Signals []struct {
					PersonID int64  `json:"person_id"`
					Kind     string `json:"kind"`
				} `json:"signals"`
			}
			ts.mustJSON(t, request{method: "GET", path: "/api/v1/signals", cookie: c.who.session()}, allow, &resp)
			saw := false
			for _, s := range resp.Signals {
				if s.PersonID == c.see.ID && s.Kind == "concurrent_sessions" {
					saw = true
				}
				if c.hide != nil && s.PersonID == c.hide.ID {
					t.Errorf("%s sees a signal about %s", c.who.label, c.hide.label)
				}
			}
			if !saw {
				t.Errorf("%s does not see the signal about %s: %+v", c.who.label, c.see.label, resp.Signals)
			}
		}
	})
}
