package api_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/query"
)

// A queryFixture is the location queries' part of the matrix: a query of
// cbp-analyst's, refused (its justification is too short), which is
// stored all the same.
type queryFixture struct {
	id int64
}

func mustQueryFixture(t *testing.T, m *matrix) *queryFixture {
	t.Helper()
	now := time.Now().UTC()
	out, err := m.ts.Queries.Submit(context.Background(), m.principalOf(t, m.person["cbp-analyst"]), query.Request{Kind: query.Area, Case: "CBP-2026-0001",
		Source: "mx-none", Justification: "too short", Circle: &query.Circle{Lat: 38.9, Lon: -77.03, RadiusM: 100}, From: now.Add(-time.Hour), To: now})
	if err == nil || out.Query.ID == 0 || out.Query.Status != query.Refused {
		t.Fatalf("the matrix's query: %+v, %v", out.Query, err)
	}
	return &queryFixture{id: out.Query.ID}
}

// queryCases are the location queries' routes in the matrix. Submitting,
// running and reading results need data.access (analysts); a submission
// the path refuses is recorded. A query is shown to its requester, the
// supervisors above them, the privacy officers and auditors of its
// component and the department's; to the others it does not exist.
// Deciding on a query that waits for no approval is a conflict for the
// approvers who may see it.
func (m *matrix) queryCases() []matrixCase {
	q := fmt.Sprintf("/api/v1/queries/%d", m.query.id)
	id := fmt.Sprint(m.query.id)
	// The query's page: its requester sees it; to other analysts it does
	// not exist.
	pageWant := each(http.StatusNotFound, without(m.anywhere(auth.Analyst), []string{"cbp-analyst"}))
	maps.Copy(pageWant, each(seeLogin, m.outsiders()))
	analysts := m.anywhere(auth.Analyst)
	approvers := m.anywhere(auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.SecurityOfficer)
	viewers := []string{"cbp-analyst", "cbp-supervisor", "cbp-cpo", "cbp-auditor", "dpo", "dpo-token", "dept-auditor"}
	// Approvers who may see the query get its conflict; to the others it
	// does not exist.
	var deciders []string
	for _, a := range approvers {
		if slices.Contains(viewers, a) {
			deciders = append(deciders, a)
		}
	}
	alertManagers := m.anywhere(auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.OPRIntake)
	var withheldDeciders []string
	for _, a := range m.anywhere(auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer) {
		if slices.Contains(viewers, a) {
			withheldDeciders = append(withheldDeciders, a)
		}
	}
	now := time.Now().UTC()
	invalid := fmt.Sprintf(`{"kind":"area","case":"CBP-2026-0001","source":"mx-none","justification":"too short","circle":{"lat":38.9,"lon":-77.03,"radius_m":100},"from":%q,"to":%q}`,
		now.Add(-time.Hour).Format(time.RFC3339), now.Format(time.RFC3339))
	return []matrixCase{
		{name: "submit a query the path refuses", method: "POST", path: "/api/v1/queries", body: invalid, ok: http.StatusBadRequest, allow: analysts, grows: 1},
		{name: "list queries", method: "GET", path: "/api/v1/queries?all=true", ok: allow, allow: m.selves()},
		{name: "get a query", method: "GET", path: q, ok: allow, allow: viewers, want: each(http.StatusNotFound, without(m.selves(), viewers))},
		{name: "approve a refused query", method: "POST", path: q + "/approve", body: `{"reason":"authorization matrix"}`, ok: http.StatusConflict, allow: deciders, want: each(http.StatusNotFound, without(approvers, deciders))},
		{name: "reject a refused query", method: "POST", path: q + "/reject", body: `{"reason":"authorization matrix"}`, ok: http.StatusConflict, allow: deciders, want: each(http.StatusNotFound, without(approvers, deciders))},
		// Only the requester runs a query, and only an approved one.
		{name: "run a refused query", method: "POST", path: q + "/run", ok: http.StatusConflict, allow: []string{"cbp-analyst"}, want: each(forbid, without(analysts, []string{"cbp-analyst"}))},
		{name: "a refused query's results", method: "GET", path: q + "/results", ok: http.StatusNotFound, allow: analysts},
		// Privacy officers (and OPR intake, who manage alerts) review
		// withheld results: a refused query has none; deciding on it is a
		// conflict for those who may see it.
		{name: "a refused query's withheld results", method: "GET", path: q + "/withheld-results", ok: http.StatusNotFound, allow: alertManagers},
		{name: "release a refused query's results", method: "POST", path: q + "/withheld", body: `{"release":true,"note":"authorization matrix: not withheld"}`,
			ok: http.StatusConflict, allow: withheldDeciders, want: each(http.StatusNotFound, without(alertManagers, withheldDeciders))},

		// The pages: for those who use data; the others are refused, and
		// those not signed in sent to sign in. A form without its token is
		// refused whoever sends it.
		{name: "queries page", method: "GET", path: "/queries", ok: allow, allow: analysts, want: each(seeLogin, m.outsiders())},
		{name: "new query page", method: "GET", path: "/queries/new", ok: allow, allow: analysts, want: each(seeLogin, m.outsiders())},
		{name: "submit a query page without its token", method: "POST", path: "/queries", form: true, body: "case=CBP-2026-0001",
			ok: forbid, allow: m.signedIn(), want: each(seeLogin, m.outsiders())},
		{name: "query page", method: "GET", path: "/queries/" + id, ok: allow, allow: []string{"cbp-analyst"},
			want: pageWant},
		{name: "run a query page without its token", method: "POST", path: "/queries/" + id + "/run", form: true,
			ok: forbid, allow: m.signedIn(), want: each(seeLogin, m.outsiders())},
		{name: "a refused query's receipt page", method: "GET", path: "/queries/" + id + "/receipt", ok: http.StatusNotFound, allow: analysts,
			want: each(seeLogin, m.outsiders())},
	}
}
