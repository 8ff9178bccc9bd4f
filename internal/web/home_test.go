package web_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/access"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
	"github.com/probity-dev/probity/internal/web"
)

// orgWeb is the pages over a [storetest.ReviewOrg] on its test clock, a
// Wednesday at 11:00 New York time, with an administrator (web-admin),
// an ICE supervisor (ice-head), and an invited CBP person who has not
// activated their account (cbp-new). cbp-agent's supervisor chain is
// cbp-lead, then cbp-chief.
type orgWeb struct {
	*storetest.ReviewOrg
	w       *web.Web
	cookies map[string]string // session secrets by label
	invited identity.Person
	ready   error // what the readiness check answers
}

func mustOrgWeb(t testing.TB, d store.Dialect) *orgWeb {
	t.Helper()
	ctx := context.Background()
	o := storetest.MustReviewOrg(t, d)
	now := o.Clock.Now().In(o.Zone)
	target := time.Date(now.Year(), now.Month(), now.Day(), 11, 0, 0, 0, o.Zone)
	for target.Before(now) || target.Weekday() != time.Wednesday {
		target = target.AddDate(0, 0, 1)
	}
	o.Clock.Advance(target.Sub(now))
	o.MustPerson(t, "web-admin", "", "", auth.Administrator)
	o.MustPerson(t, "ice-head", "ICE", "", auth.Supervisor)
	e := &orgWeb{ReviewOrg: o, cookies: map[string]string{}}
	var err error
	e.invited, _, err = o.Ids.Invite(ctx, o.As["web-admin"], identity.Person{EmployeeID: "cbp-new", Name: "Newly Invited", Email: "cbp-new@example.gov",
		Component: "CBP", SupervisorID: o.People["cbp-lead"].ID, Schedule: identity.DefaultSchedule()})
	if err != nil {
		t.Fatal(err)
	}
	key, err := sealed.ParseKey(sealed.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	queries := access.New(access.Deps{DB: o.DB, Ledger: o.Ledger, Identity: o.Ids, Privacy: o.Privacy, Cases: o.DB.Cases(), Queries: o.DB.Queries(), Logger: storetest.Logger()})
	health := &web.Health{Ready: func(context.Context) error { return e.ready }, Database: d.String(), Settings: o.Settings}
	if e.w, err = web.New(web.Deps{Authn: authn.New(o.Ids, authn.Config{Secrets: key, Logger: storetest.Logger()}), Identity: o.Ids, Queries: queries,
		Reviews: o.Reviews, Alerts: o.Alerts, Cases: o.DB.Cases(), Privacy: o.Privacy, Ledger: o.Ledger, Health: health,
		Clock: o.DB.Now, Logger: storetest.Logger()}); err != nil {
		t.Fatal(err)
	}
	return e
}

// session returns who's session secret, signing them in when need be.
func (e *orgWeb) session(t testing.TB, who string) string {
	t.Helper()
	if s, ok := e.cookies[who]; ok {
		return s
	}
	p, ok := e.People[who]
	if !ok {
		t.Fatalf("no person %s", who)
	}
	res, err := e.Ids.StartSession(context.Background(), p.ID, "password", "127.0.0.1", "web-test", nil, "", store.DefaultSessionPolicy)
	if err != nil {
		t.Fatal(err)
	}
	e.cookies[who] = res.Secret
	return res.Secret
}

// do sends a request as who ("" for nobody).
func (e *orgWeb) do(t testing.TB, who, method, path string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	if who != "" {
		r.AddCookie(&http.Cookie{Name: authn.SessionCookie, Value: e.session(t, who)})
	}
	return serve(e.w, r)
}

// get fetches a page as who and fails unless it is served with want.
func (e *orgWeb) get(t *testing.T, who, path string, want int) string {
	t.Helper()
	rec := e.do(t, who, "GET", path, nil)
	if rec.Code != want {
		t.Fatalf("GET %s as %s: status %d, want %d:\n%s", path, who, rec.Code, want, rec.Body)
	}
	return rec.Body.String()
}

// post posts a form as who with the token the page at from gives them.
func (e *orgWeb) post(t *testing.T, who, from, path string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	m := tokenR.FindStringSubmatch(e.get(t, who, from, http.StatusOK))
	if m == nil {
		t.Fatalf("GET %s as %s: no form token", from, who)
	}
	form.Set("csrf", m[1])
	return e.do(t, who, "POST", path, form)
}

// ledgerSize returns how many ledger entries have been appended: on
// PostgreSQL, those integrated and those waiting for the sequencer.
func (e *orgWeb) ledgerSize(t *testing.T) int64 {
	t.Helper()
	ctx := context.Background()
	if e.DB.Dialect() == store.SQLite {
		n, err := e.Ledger.Size(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var n int64
	err := e.DB.View(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, `SELECT (SELECT size FROM ledger_state WHERE id = 1) + (SELECT COUNT(*) FROM ledger_pending)`).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// mustCase opens a case of component, as its supervisor, with members.
func (e *orgWeb) mustCase(t testing.TB, number, title string, members ...string) cases.Case {
	t.Helper()
	by := e.As["cbp-lead"]
	if strings.HasPrefix(number, "ICE-") {
		by = e.As["ice-head"]
	}
	c := cases.Case{Number: number, Title: title, LegalAuthority: "8 U.S.C. 1357", Predicate: "Containers moved at night near the port, reported by an informant."}
	for _, m := range members {
		c.Members = append(c.Members, cases.Member{EmployeeID: m})
	}
	c, err := e.DB.Cases().Create(context.Background(), by, c)
	if err != nil {
		t.Fatalf("open case %s: %v", number, err)
	}
	return c
}

// mustReview stores an executed query of who and opens its review.
func (e *orgWeb) mustReview(t *testing.T, who string) int64 {
	t.Helper()
	q := e.MustQuery(t, storetest.ExecutedQuery{By: who})
	if _, err := e.Reviews.OpenMissing(context.Background()); err != nil {
		t.Fatal(err)
	}
	return q.ID
}

// contains fails unless body contains every one of wants.
func contains(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s does not show %q:\n%s", what, w, body)
		}
	}
}

// lacks fails if body contains any of unwanted.
func lacks(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(body, u) {
			t.Errorf("%s shows %q:\n%s", what, u, body)
		}
	}
}

// section returns the part of a home page in the section titled id.
func section(t *testing.T, body, id string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, `id="`+id+`"`)
	if !ok {
		t.Fatalf("the page has no section %s:\n%s", id, body)
	}
	rest, _, _ = strings.Cut(rest, "</section>")
	return rest
}

func TestWeb_Home(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testWebHome(t, d) })
	}
}

func testWebHome(t *testing.T, d store.Dialect) {
	e := mustOrgWeb(t, d)
	ctx := context.Background()
	e.mustCase(t, "CBP-2026-000101", "Night containers", "cbp-agent")
	e.mustCase(t, "CBP-2026-000102", "A case cbp-agent is not on")
	waiting := e.MustQuery(t, storetest.ExecutedQuery{By: "cbp-agent", Status: query.AwaitingApproval, Tier: query.Elevated})
	done := e.MustQuery(t, storetest.ExecutedQuery{By: "cbp-agent"})
	reviewed := e.mustReview(t, "cbp-sublead")

	t.Run("OKAnonymous", func(t *testing.T) {
		rec := e.do(t, "", "GET", "/", nil)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
			t.Fatalf("status %d, Location %q; want a redirect to sign in", rec.Code, rec.Header().Get("Location"))
		}
	})

	t.Run("OKAnalyst", func(t *testing.T) {
		body := e.get(t, "cbp-agent", "/", http.StatusOK)
		mine := section(t, body, "analyst-title")
		contains(t, "the analyst's home page", mine,
			`href="/cases/CBP-2026-000101"`, "Night containers",
			fmt.Sprintf(`href="/queries/%d">Query %d</a>`, waiting.ID, waiting.ID), "a supervisor above the requester in their chain",
			fmt.Sprintf(`href="/queries/%d/receipt"`, done.ID), `href="/queries/new"`)
		lacks(t, "the analyst's home page", body, "CBP-2026-000102", `id="supervisor-title"`, `id="admin-title"`, `id="privacy-title"`, "Configuration health")
		// The request awaiting approval is in its own table, the completed
		// query is not.
		awaiting := section(t, mine, "my-waiting")
		awaiting, _, _ = strings.Cut(awaiting, "</table>")
		contains(t, "the requests awaiting approval", awaiting, fmt.Sprintf("Query %d", waiting.ID))
		lacks(t, "the requests awaiting approval", awaiting, fmt.Sprintf("Query %d<", done.ID))
	})

	t.Run("OKSupervisor", func(t *testing.T) {
		// cbp-lead and cbp-chief are above cbp-agent: the approval waits
		// for either; cbp-sublead is not, and sees none.
		for _, who := range []string{"cbp-lead", "cbp-chief"} {
			body := e.get(t, who, "/", http.StatusOK)
			approvals := section(t, body, "approvals-waiting")
			approvals, _, _ = strings.Cut(approvals, "</table>")
			contains(t, who+"'s approvals", approvals, fmt.Sprintf(`href="/approvals/%d">Query %d</a>`, waiting.ID, waiting.ID), "cbp-agent", "supervisor")
			lacks(t, who+"'s approvals", approvals, fmt.Sprintf("Query %d<", done.ID))
			contains(t, who+"'s team activity", section(t, body, "team-activity"), fmt.Sprintf("Query %d", done.ID))
		}
		body := e.get(t, "cbp-sublead", "/", http.StatusOK)
		contains(t, "cbp-sublead's home page", body, "No query waits for your approval.")
		lacks(t, "cbp-sublead's home page", body, fmt.Sprintf("/approvals/%d", waiting.ID))
		// The review of cbp-sublead's query waits for cbp-lead, with its
		// countdown in business days.
		reviews := section(t, e.get(t, "cbp-lead", "/", http.StatusOK), "reviews-due")
		contains(t, "cbp-lead's reviews due", reviews, fmt.Sprintf(`href="/reviews/%d"`, reviewed), "due in ")
	})

	t.Run("OKPrivacyOfficer", func(t *testing.T) {
		sys := e.MustSystem(t, "CBP", "home-system")
		src := e.MustSource(t, sys, "home-pings")
		pia, err := e.Privacy.CreatePIA(ctx, e.As["cbp-isso"], src.ID, "PIA of home pings", storetest.CompleteDocument(src.Name), "first draft")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Privacy.Step(ctx, e.As["cbp-isso"], pia.ID, privacy.Submit, store.StepInput{}); err != nil {
			t.Fatal(err)
		}
		body := section(t, e.get(t, "cbp-cpo", "/", http.StatusOK), "privacy-title")
		contains(t, "the privacy officer's home page", body, fmt.Sprintf(`href="/sources/%d"`, src.ID), "home-pings",
			fmt.Sprintf(`href="/pias/%d">PIA of home pings</a>`, pia.ID), "review: forward or return", `href="/alerts"`)
		// The Chief Privacy Officer's step comes later: the PIA is not
		// waiting for them yet.
		lacks(t, "the department privacy officer's home page", section(t, e.get(t, "dpo", "/", http.StatusOK), "pias-waiting"), "PIA of home pings")
	})

	t.Run("OKAdministrator", func(t *testing.T) {
		if _, _, err := e.Ledger.Publish(ctx); err != nil {
			t.Fatal(err)
		}
		body := e.get(t, "web-admin", "/", http.StatusOK)
		admin := section(t, body, "admin-title")
		db := map[store.Dialect]string{store.SQLite: "SQLite", store.Postgres: "PostgreSQL"}[d]
		contains(t, "the administrator's home page", admin, "Configuration health", "Readiness", "ready", db, "entries",
			"Last checkpoint", "covering", "Notifications", "none configured", "Single sign-on", "not configured",
			`href="/people?status=invited"`, "Newly Invited", `href="/people?status=locked"`)
		health := section(t, admin, "health")
		if !regexp.MustCompile(`<th scope="row">Ledger</th><td><span class="tag">OK</span> \d+ entries`).MatchString(health) {
			t.Errorf("the health panel does not give the ledger's size:\n%s", health)
		}
		// An administrator sees no data: no cases, queries or approvals.
		lacks(t, "the administrator's home page", body, `id="analyst-title"`, `id="supervisor-title"`, "CBP-2026-000101")

		// A failing readiness check says so.
		e.ready = errors.New("the database does not answer")
		defer func() { e.ready = nil }()
		health = section(t, e.get(t, "web-admin", "/", http.StatusOK), "health")
		contains(t, "the failing health panel", health, "not ready", "Attention")
	})

	t.Run("OKAuditor", func(t *testing.T) {
		body := section(t, e.get(t, "auditor", "/", http.StatusOK), "auditor-title")
		contains(t, "the auditor's home page", body, `href="/ledger"`, `href="/ledger/verify"`)
	})
}

func TestWeb_Cases(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testWebCases(t, d) })
	}
}

func testWebCases(t *testing.T, d store.Dialect) {
	e := mustOrgWeb(t, d)
	mine := e.mustCase(t, "CBP-2026-000201", "Port containers", "cbp-agent")
	other := e.mustCase(t, "CBP-2026-000202", "Warehouse thefts")
	ice := e.mustCase(t, "ICE-2026-000203", "ICE smuggling ring")
	if _, err := e.DB.Cases().SetStatus(context.Background(), e.As["cbp-lead"], other.Number, cases.Suspended, "Waiting for the court's answer"); err != nil {
		t.Fatal(err)
	}
	all := []string{mine.Number, other.Number, ice.Number}

	for _, c := range []struct {
		name, who string
		see       []string
	}{
		{"OKMember", "cbp-agent", []string{mine.Number}},
		{"OKSupervisor", "cbp-lead", []string{mine.Number, other.Number}},
		{"OKOtherComponent", "ice-head", []string{ice.Number}},
		{"OKDepartmentPrivacyOfficer", "dpo", all},
		{"OKAuditor", "auditor", all},
		{"OKAdministratorSeesNone", "web-admin", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			list := e.get(t, c.who, "/cases", http.StatusOK)
			for _, n := range all {
				seen := strings.Contains(list, `href="/cases/`+n+`"`)
				want := strings.Contains(strings.Join(c.see, " "), n)
				if seen != want {
					t.Errorf("%s lists case %s: %v, want %v", c.who, n, seen, want)
				}
				status := http.StatusNotFound
				if want {
					status = http.StatusOK
				}
				page := e.get(t, c.who, "/cases/"+n, status)
				if !want && strings.Contains(page, "Warehouse") || !want && strings.Contains(page, "smuggling") {
					t.Errorf("%s is refused case %s, but the refusal tells of it:\n%s", c.who, n, page)
				}
			}
			if c.see == nil && !strings.Contains(list, "There are no cases for you to see.") {
				t.Errorf("the empty list does not say so:\n%s", list)
			}
		})
	}

	t.Run("OKCasePage", func(t *testing.T) {
		// A query of the case: its requester follows it to its page, a
		// supervisor above them to its review.
		q := e.caseQuery(t, "cbp-agent", mine.Number)
		body := e.get(t, "cbp-agent", "/cases/"+mine.Number, http.StatusOK)
		contains(t, "the case page", body, "Port containers", "8 U.S.C. 1357", "<td>cbp-agent</td>", "are a member of this case",
			fmt.Sprintf(`href="/queries/%d">Query %d</a>`, q, q))
		body = e.get(t, "cbp-lead", "/cases/"+mine.Number, http.StatusOK)
		contains(t, "the supervisor's case page", body, fmt.Sprintf(`href="/reviews/%d">Query %d</a>`, q, q), "are not a member of this case")
		body = e.get(t, "auditor", "/cases/"+mine.Number, http.StatusOK)
		contains(t, "the auditor's case page", body, fmt.Sprintf(`href="/reviews/%d">Query %d</a>`, q, q))
		body = e.get(t, "cbp-lead", "/cases/"+other.Number, http.StatusOK)
		contains(t, "the suspended case's page", body, "suspended: Waiting for the court", "open → suspended")
	})

	t.Run("OKFilters", func(t *testing.T) {
		body := e.get(t, "cbp-lead", "/cases?status=suspended", http.StatusOK)
		contains(t, "the suspended cases", body, other.Number)
		lacks(t, "the suspended cases", body, `href="/cases/`+mine.Number+`"`)
		body = e.get(t, "cbp-lead", "/cases?mine=1", http.StatusOK)
		contains(t, "the supervisor's own cases", body, "No case matches these filters.")
		e.get(t, "cbp-lead", "/cases?status=lost", http.StatusBadRequest)
		e.get(t, "cbp-lead", "/cases/not-a-number", http.StatusNotFound)
	})

	t.Run("OKExport", func(t *testing.T) {
		rec := e.do(t, "cbp-lead", "GET", "/cases.csv", nil)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
			t.Fatalf("status %d, %s", rec.Code, rec.Header().Get("Content-Type"))
		}
		rows := mustCSV(t, rec.Body.String())
		if len(rows) != 3 || rows[0][0] != "number" || rows[1][0] != mine.Number || rows[2][0] != other.Number {
			t.Fatalf("the export is %q, want the header and cbp-lead's two cases", rows)
		}
		if rows[1][5] != "cbp-agent" || rows[2][2] != "suspended" {
			t.Errorf("the export's rows are %q", rows[1:])
		}
		rows = mustCSV(t, e.do(t, "cbp-agent", "GET", "/cases.csv?status=suspended", nil).Body.String())
		if len(rows) != 1 {
			t.Errorf("cbp-agent's export of suspended cases is %q, want the header alone", rows)
		}
	})
}

// caseQuery stores a completed query of who for a case, opens its
// review, and returns its ID.
func (e *orgWeb) caseQuery(t *testing.T, who, caseNo string) int64 {
	t.Helper()
	ctx := context.Background()
	p := e.People[who]
	req := []byte(fmt.Sprintf(`{"kind":"area","case":%q,"justification":"a query for case %s"}`, caseNo, caseNo))
	rec := store.QueryRecord{PersonID: p.ID, EmployeeID: p.EmployeeID, Component: p.Component, CaseNumber: caseNo, SourceName: "test-source",
		Kind: query.Area, Status: query.Completed, Tier: query.Routine, Request: req, RequestDigest: ledger.PayloadDigest(req),
		ResultCount: 3, ResultDigest: ledger.PayloadDigest([]byte("result"))}
	if err := e.DB.Update(ctx, func(tx *store.Tx) error { return e.DB.Queries().Insert(ctx, tx, &rec) }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Reviews.OpenMissing(ctx); err != nil {
		t.Fatal(err)
	}
	return rec.ID
}

func mustCSV(t *testing.T, body string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("the export is no CSV: %v\n%s", err, body)
	}
	return rows
}

func TestWeb_People(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testWebPeople(t, d) })
	}
}

func testWebPeople(t *testing.T, d store.Dialect) {
	e := mustOrgWeb(t, d)
	ctx := context.Background()
	auditor := e.People["auditor"]
	page := fmt.Sprintf("/people/%d", auditor.ID)

	t.Run("OKList", func(t *testing.T) {
		body := e.get(t, "web-admin", "/people?status=invited", http.StatusOK)
		contains(t, "the invited people", body, fmt.Sprintf(`href="/people/%d">Newly Invited</a>`, e.invited.ID), "invited: has not activated the account")
		lacks(t, "the invited people", body, "Test cbp-lead")
		body = e.get(t, "web-admin", "/people?q=cbp-lead", http.StatusOK)
		contains(t, "the search", body, "Test cbp-lead", "Supervisor (in CBP)")
		// A supervisor sees the people of their component only.
		body = e.get(t, "cbp-lead", "/people", http.StatusOK)
		contains(t, "cbp-lead's list", body, "Test cbp-agent")
		lacks(t, "cbp-lead's list", body, "Test ice-head", "Test dpo")
		e.get(t, "cbp-lead", fmt.Sprintf("/people/%d", e.People["ice-head"].ID), http.StatusNotFound)
		e.get(t, "cbp-agent", "/people", http.StatusForbidden)
		e.get(t, "web-admin", "/people?status=gone", http.StatusBadRequest)
	})

	t.Run("ErrSeparationOfDuties", func(t *testing.T) {
		before := e.ledgerSize(t)
		rec := e.post(t, "web-admin", page, page+"/grants", url.Values{"role": {string(auth.Administrator)}, "scope": {"department"}})
		if rec.Code != http.StatusConflict {
			t.Fatalf("status %d, want 409:\n%s", rec.Code, rec.Body)
		}
		body := rec.Body.String()
		contains(t, "the refusal", body, `role="alert"`, "The role was not granted", "separation of duties: Test auditor holds the Auditor role, which cannot be combined with the Administrator role",
			`<option value="administrator" selected>`)
		if n := e.ledgerSize(t); n != before {
			t.Errorf("the refused grant added %d ledger entries", n-before)
		}
		grants, err := e.Ids.Grants(ctx, auditor.ID)
		if err != nil || len(grants) != 1 {
			t.Errorf("the auditor holds %v (%v), want the auditor's role alone", grants, err)
		}
	})

	t.Run("OKGrantAndRevoke", func(t *testing.T) {
		target := fmt.Sprintf("/people/%d", e.invited.ID)
		before := e.ledgerSize(t)
		rec := e.post(t, "web-admin", target, target+"/grants", url.Values{"role": {string(auth.Analyst)}, "scope": {"component"}})
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != target+"?done=granted" {
			t.Fatalf("status %d, Location %q:\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
		}
		if n := e.ledgerSize(t); n != before+1 {
			t.Errorf("the grant added %d ledger entries, want 1", n-before)
		}
		grants, err := e.Ids.Grants(ctx, e.invited.ID)
		if err != nil || len(grants) != 1 || grants[0].Role != auth.Analyst || grants[0].Component != "CBP" {
			t.Fatalf("the person holds %v (%v)", grants, err)
		}
		body := e.get(t, "web-admin", target+"?done=granted", http.StatusOK)
		contains(t, "the person's page", body, "The role is granted.", "<td>Analyst</td><td>in CBP</td>")
		// A revocation needs a reason.
		revoke := fmt.Sprintf("%s/grants/%d/revoke", target, grants[0].ID)
		if rec := e.post(t, "web-admin", target, revoke, url.Values{"reason": {" "}}); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "The role was not revoked") {
			t.Fatalf("revoking without a reason: status %d:\n%s", rec.Code, rec.Body)
		}
		if rec := e.post(t, "web-admin", target, revoke, url.Values{"reason": {"Moved to another unit"}}); rec.Code != http.StatusSeeOther {
			t.Fatalf("revoking: status %d:\n%s", rec.Code, rec.Body)
		}
		if grants, _ := e.Ids.Grants(ctx, e.invited.ID); len(grants) != 0 {
			t.Errorf("the person still holds %v", grants)
		}
		// A grant of another person's is none of this page's.
		other, _ := e.Ids.Grants(ctx, e.People["cbp-agent"].ID)
		if rec := e.post(t, "web-admin", target, fmt.Sprintf("%s/grants/%d/revoke", target, other[0].ID), url.Values{"reason": {"Not this person's grant"}}); rec.Code != http.StatusNotFound {
			t.Errorf("revoking another's grant: status %d", rec.Code)
		}
	})

	t.Run("ErrNotAGranter", func(t *testing.T) {
		// A supervisor sees the page, but no grant form, and may not post
		// one.
		target := fmt.Sprintf("/people/%d", e.People["cbp-agent"].ID)
		body := e.get(t, "cbp-lead", target, http.StatusOK)
		lacks(t, "the supervisor's view", body, "Grant a role", "Lock the account")
		before := e.ledgerSize(t)
		rec := e.do(t, "cbp-lead", "POST", target+"/grants", url.Values{"role": {"auditor"}, "scope": {"department"}, "csrf": {"x"}})
		if rec.Code != http.StatusForbidden {
			t.Errorf("a supervisor's grant: status %d, want 403", rec.Code)
		}
		// Without the form's token, nobody's post counts.
		if rec := e.do(t, "web-admin", "POST", target+"/grants", url.Values{"role": {"analyst"}, "scope": {"component"}}); rec.Code != http.StatusForbidden {
			t.Errorf("a grant without the form's token: status %d, want 403", rec.Code)
		}
		if n := e.ledgerSize(t); n != before {
			t.Errorf("refused posts added %d ledger entries", n-before)
		}
	})

	t.Run("OKLockAndReinstate", func(t *testing.T) {
		target := fmt.Sprintf("/people/%d", e.People["cbp-agent"].ID)
		e.session(t, "cbp-agent")
		body := e.get(t, "cbp-cpo", target, http.StatusOK)
		contains(t, "the privacy officer's view", body, "Lock the account", "web-test")
		lacks(t, "the privacy officer's view", body, "Grant a role")
		if rec := e.post(t, "cbp-cpo", target, target+"/lock", url.Values{"reason": {"Shared password reported"}}); rec.Code != http.StatusSeeOther {
			t.Fatalf("locking: status %d:\n%s", rec.Code, rec.Body)
		}
		delete(e.cookies, "cbp-agent")
		body = e.get(t, "web-admin", target, http.StatusOK)
		contains(t, "the locked account", body, "<strong>locked</strong>: Shared password reported", "Reinstate the account", "No live session.")
		// Only an administrator reinstates.
		if rec := e.do(t, "cbp-cpo", "POST", target+"/reinstate", url.Values{"reason": {"x"}}); rec.Code != http.StatusForbidden {
			t.Errorf("a privacy officer's reinstatement: status %d", rec.Code)
		}
		if rec := e.post(t, "web-admin", target, target+"/reinstate", url.Values{"reason": {"Password changed"}}); rec.Code != http.StatusSeeOther {
			t.Fatalf("reinstating: status %d:\n%s", rec.Code, rec.Body)
		}
		if p, _ := e.Ids.Person(ctx, e.As["web-admin"], e.People["cbp-agent"].ID); p.Status != identity.Active {
			t.Errorf("the account is %s", p.Status)
		}
	})

	t.Run("OKEndSessions", func(t *testing.T) {
		target := fmt.Sprintf("/people/%d", e.People["cbp-sublead"].ID)
		e.session(t, "cbp-sublead")
		if rec := e.post(t, "web-admin", target, target+"/sessions/end-all", url.Values{}); rec.Code != http.StatusSeeOther {
			t.Fatalf("ending sessions: status %d:\n%s", rec.Code, rec.Body)
		}
		if rec := e.do(t, "cbp-sublead", "GET", "/", nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
			t.Errorf("the ended session still works: status %d", rec.Code)
		}
		delete(e.cookies, "cbp-sublead")
	})
}

// TestWeb_Export checks that every export escapes what a person typed:
// quotes, commas and line breaks survive a round trip, and a cell a
// spreadsheet would read as a formula is shown as text.
func TestWeb_Export(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testWebExport(t, d) })
	}
}

func testWebExport(t *testing.T, d store.Dialect) {
	e := mustOrgWeb(t, d)
	ctx := context.Background()
	hostile := []string{
		`=HYPERLINK("https://evil.example/?a,b","click")`,
		`+1+cmd|' /C calc'!A0`,
		`-2,"three"`,
		`@SUM(A1:A9)`,
	}
	for i, h := range hostile {
		e.mustCase(t, fmt.Sprintf("CBP-2026-%06d", 300+i), h, "cbp-agent")
	}
	rows := mustCSV(t, e.get(t, "cbp-lead", "/cases.csv", http.StatusOK))
	if len(rows) != len(hostile)+1 {
		t.Fatalf("the export has %d rows, want %d", len(rows), len(hostile)+1)
	}
	for i, h := range hostile {
		if got := rows[i+1][1]; got != "'"+h {
			t.Errorf("title %q is exported as %q, want it prefixed with an apostrophe", h, got)
		}
	}

	// A person's name and a lock's reason, with a line break, a quote and
	// a leading minus.
	name := `=1+2 "Robert", Tables`
	p, _, err := e.Ids.Invite(ctx, e.As["web-admin"], identity.Person{EmployeeID: "cbp-hostile", Name: name, Email: "hostile@example.gov", Component: "CBP", Schedule: identity.DefaultSchedule()})
	if err != nil {
		t.Fatal(err)
	}
	reason := "-locked\r\nsee \"ticket\", =now"
	if err := e.Ids.SetStatus(ctx, e.As["web-admin"], p.ID, identity.Locked, reason); err != nil {
		t.Fatal(err)
	}
	rows = mustCSV(t, e.get(t, "web-admin", "/people.csv?q=cbp-hostile", http.StatusOK))
	if len(rows) != 2 {
		t.Fatalf("the export is %q, want the header and one person", rows)
	}
	if got := rows[1][2]; got != "'"+name {
		t.Errorf("the name is exported as %q", got)
	}
	// encoding/csv reads a quoted \r\n as \n.
	if got, want := rows[1][6], "'"+strings.ReplaceAll(reason, "\r\n", "\n"); got != want {
		t.Errorf("the reason is exported as %q, want %q", got, want)
	}
	if rows[1][5] != "locked" {
		t.Errorf("the status is exported as %q", rows[1][5])
	}
	// The page shows the same text, escaped.
	body := e.get(t, "web-admin", fmt.Sprintf("/people/%d", p.ID), http.StatusOK)
	contains(t, "the person's page", body, "=1&#43;2 &#34;Robert&#34;, Tables")
}

func TestWeb_Approvals(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testWebApprovals(t, d) })
	}
}

func testWebApprovals(t *testing.T, d store.Dialect) {
	e := mustOrgWeb(t, d)
	ctx := context.Background()
	q := e.MustQuery(t, storetest.ExecutedQuery{By: "cbp-agent", Status: query.AwaitingApproval, Tier: query.Elevated})
	page := fmt.Sprintf("/approvals/%d", q.ID)

	t.Run("OKList", func(t *testing.T) {
		body := e.get(t, "cbp-lead", "/approvals", http.StatusOK)
		contains(t, "cbp-lead's approvals", body, `href="`+page+`"`, "cbp-agent")
		rows := mustCSV(t, e.get(t, "cbp-lead", "/approvals.csv", http.StatusOK))
		if len(rows) != 2 || rows[1][0] != fmt.Sprint(q.ID) || rows[1][6] != "supervisor" {
			t.Errorf("the export is %q", rows)
		}
		contains(t, "cbp-sublead's approvals", e.get(t, "cbp-sublead", "/approvals", http.StatusOK), "No query waits for your decision.")
		// Someone not above the requester does not see the query.
		e.get(t, "cbp-sublead", page, http.StatusNotFound)
		e.get(t, "cbp-agent", page, http.StatusForbidden)
	})

	t.Run("ErrRejectWithoutReason", func(t *testing.T) {
		rec := e.post(t, "cbp-lead", page, page, url.Values{"decision": {"reject"}, "reason": {"no"}})
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d:\n%s", rec.Code, rec.Body)
		}
		contains(t, "the refusal", rec.Body.String(), "Your decision was not recorded", `href="#reason"`, `aria-invalid="true"`)
	})

	t.Run("OKApprove", func(t *testing.T) {
		before := e.ledgerSize(t)
		rec := e.post(t, "cbp-lead", page, page, url.Values{"decision": {"approve"}})
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("status %d:\n%s", rec.Code, rec.Body)
		}
		if n := e.ledgerSize(t); n != before+1 {
			t.Errorf("the approval added %d ledger entries, want 1", n-before)
		}
		got, err := e.DB.Queries().Get(ctx, nil, q.ID, false)
		if err != nil || got.Status != query.Approved {
			t.Fatalf("the query is %s (%v), want approved", got.Status, err)
		}
		contains(t, "the list after", e.get(t, "cbp-lead", rec.Header().Get("Location"), http.StatusOK), "Your approval is recorded", "No query waits for your decision.")
		// The chief's decision is no longer needed.
		body := e.get(t, "cbp-chief", page, http.StatusOK)
		lacks(t, "the chief's view", body, "Record the decision")
	})
}

func TestWeb_Recert(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testWebRecert(t, d) })
	}
}

func testWebRecert(t *testing.T, d store.Dialect) {
	e := mustOrgWeb(t, d)
	ctx := context.Background()
	due := e.DB.Now().AddDate(0, 0, 30).In(e.Zone).Format(time.DateOnly)

	rec := e.post(t, "web-admin", "/recert", "/recert", url.Values{"name": {"2026 Q3"}, "due": {e.DB.Now().In(e.Zone).Format(time.DateOnly)}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "The campaign was not started") {
		t.Fatalf("a campaign due today: status %d:\n%s", rec.Code, rec.Body)
	}
	if rec := e.post(t, "web-admin", "/recert", "/recert", url.Values{"name": {"2026 Q3"}, "due": {due}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("starting a campaign: status %d:\n%s", rec.Code, rec.Body)
	}
	cs, err := e.Ids.Campaigns(ctx)
	if err != nil || len(cs) != 1 {
		t.Fatalf("campaigns %v (%v)", cs, err)
	}
	page := fmt.Sprintf("/recert/%d", cs[0].ID)
	body := e.get(t, "web-admin", "/", http.StatusOK)
	contains(t, "the administrator's home page", section(t, body, "campaigns-open"), `href="`+page+`"`, "2026 Q3", "due in")

	// cbp-lead attests the roles of their reports, cbp-agent's among them.
	body = e.get(t, "cbp-lead", page, http.StatusOK)
	contains(t, "cbp-lead's items", body, "Test cbp-agent (cbp-agent)", "Analyst (in CBP)", ">Keep<span class=\"visually-hidden\"> Test cbp-agent (cbp-agent)'s Analyst (in CBP) role</span></button>")
	// Their own roles are their supervisor's to attest.
	lacks(t, "cbp-lead's items", body, "<td>Test cbp-lead (cbp-lead)</td><td>CBP</td>")
	items, err := e.Ids.CampaignItems(ctx, e.As["cbp-lead"], cs[0].ID, true)
	if err != nil {
		t.Fatal(err)
	}
	var agentItem int64
	for _, it := range items {
		if it.PersonID == e.People["cbp-agent"].ID {
			agentItem = it.ID
		}
	}
	attest := fmt.Sprintf("%s/items/%d", page, agentItem)
	// Nobody but the person's supervisor attests.
	if rec := e.post(t, "cbp-chief", page, attest, url.Values{"decision": {"keep"}}); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Your attestation was not recorded") {
		t.Errorf("the chief's attestation: status %d:\n%s", rec.Code, rec.Body)
	}
	rec = e.post(t, "cbp-lead", page, attest, url.Values{"decision": {"keep"}, "note": {"Still on the port team"}, "show": {"mine"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("attesting: status %d:\n%s", rec.Code, rec.Body)
	}
	contains(t, "the campaign after", e.get(t, "cbp-lead", rec.Header().Get("Location"), http.StatusOK), "The role is recertified.")
	rows := mustCSV(t, e.get(t, "cbp-lead", page+".csv?show=all&decision=keep", http.StatusOK))
	if len(rows) != 2 || rows[1][0] != fmt.Sprint(agentItem) || rows[1][6] != "keep" || rows[1][7] != "Test cbp-lead (cbp-lead)" {
		t.Errorf("the export of kept roles is %q", rows)
	}
	rows = mustCSV(t, e.get(t, "auditor", "/recert.csv", http.StatusOK))
	if len(rows) != 2 || rows[1][1] != "2026 Q3" || rows[1][7] != "1" {
		t.Errorf("the campaigns' export is %q", rows)
	}
	// The administrator closes it: the roles nobody attested are
	// suspended, the administrator's own among them, so that the
	// administrator's pages are closed to them from then on.
	if rec := e.post(t, "web-admin", "/recert", page+"/close", url.Values{}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/recert?done=closed" {
		t.Fatalf("closing: status %d:\n%s", rec.Code, rec.Body)
	}
	if cs, err := e.Ids.Campaigns(ctx); err != nil || cs[0].Open() {
		t.Fatalf("the campaign is still open (%v)", err)
	}
	for who, want := range map[string]identity.GrantStatus{"cbp-agent": identity.GrantActive, "cbp-sublead": identity.GrantSuspended} {
		gs, err := e.Ids.Grants(ctx, e.People[who].ID)
		if err != nil || len(gs) != 1 || gs[0].Status != want {
			t.Errorf("%s's grants are %v (%v), want one %s", who, gs, err, want)
		}
	}
	e.get(t, "web-admin", "/recert", http.StatusForbidden)
}
