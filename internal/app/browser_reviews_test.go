package app_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
)

// mustEnrolled invites a person holding role, under boss (0 for none), and
// completes their enrolment with password and the authenticator phone.
func mustEnrolled(t *testing.T, ts *testServer, employeeID, component string, boss int64, role auth.Role, password string, phone *authenticator) identity.Person {
	t.Helper()
	ctx := t.Context()
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	p, link, err := ts.Identity.Invite(ctx, admin, identity.Person{EmployeeID: employeeID, Name: "Test " + employeeID, Email: employeeID + "@example.gov",
		Component: component, SupervisorID: boss, Schedule: identity.DefaultSchedule()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Identity.GrantRole(ctx, admin, identity.Grant{PersonID: p.ID, Role: role, Component: component}); err != nil {
		t.Fatal(err)
	}
	e, err := ts.Authn.BeginEnrolment(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	phone.secret = e.TOTPSecret
	if p, _, err = ts.Authn.CompleteEnrolment(ctx, link, password, e.Sealed, phone.code(t)); err != nil {
		t.Fatalf("enrol %s: %v", employeeID, err)
	}
	return p
}

// signInAs signs in on b with a password and an authenticator code.
func signInAs(t *testing.T, b *tab, employeeID, password string, phone *authenticator) {
	t.Helper()
	b.open("/login")
	b.do(chromedp.SendKeys(chromedp.ID("account"), employeeID), chromedp.SendKeys(chromedp.ID("password"), password))
	b.load(chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)))
	b.do(chromedp.SendKeys(chromedp.ID("code"), phone.code(t)))
	if status := b.load(chromedp.Click(chromedp.CSS(`form[action="/login/code"] button[type=submit]`))); status != 200 || b.path() != "/" {
		t.Fatalf("sign in as %s: status %d at %s: %s", employeeID, status, b.path(), b.alert())
	}
}

// TestServer_BrowserReviewsAlerts drives a real browser through
// supervisory review and an alert: a supervisor finds an executed query
// in their queue, with its countdown, and asks for an explanation; a
// privacy officer takes the alert it raised into triage and refers it to
// professional responsibility with a note.
func TestServer_BrowserReviewsAlerts(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	browser := startBrowser(t, ctx)
	ts := startTLSServer(t)
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	if err := ts.Identity.CreateComponent(ctx, admin, identity.Component{Code: "CBP", Name: "CBP"}); err != nil {
		t.Fatal(err)
	}
	const password = "copper meadow violet four"
	supPhone, cpoPhone := &authenticator{}, &authenticator{}
	sup := mustEnrolled(t, ts, "E7700801", "CBP", 0, auth.Supervisor, password, supPhone)
	mustEnrolled(t, ts, "E7700802", "CBP", 0, auth.ComponentPrivacyOfficer, password, cpoPhone)
	analyst := mustEnrolled(t, ts, "E7700803", "CBP", sup.ID, auth.Analyst, password, &authenticator{})

	// An area search the analyst ran, as the query path records it, and
	// the alert a detector raised on it.
	req := []byte(`{"kind":"area","case":"CBP-2026-0091","source":"port-pings","justification":"Containers moved at night near the port; find devices present.","circle":{"lat":38.9,"lon":-77.03,"radius_m":300}}`)
	q := store.QueryRecord{PersonID: analyst.ID, EmployeeID: analyst.EmployeeID, Component: "CBP", CaseNumber: "CBP-2026-0091", SourceName: "port-pings", Kind: query.Area,
		Status: query.Completed, Tier: query.Routine, Request: req, RequestDigest: ledger.PayloadDigest(req), ResultCount: 3, ResultDigest: ledger.PayloadDigest([]byte("result"))}
	var alertID int64
	if err := ts.DB.Update(ctx, func(tx *store.Tx) error {
		if err := ts.DB.Queries().Insert(ctx, tx, &q); err != nil {
			return err
		}
		var err error
		alertID, err = ts.Alerts.Raise(ctx, tx, alerts.Alert{Detector: "self_interest", Severity: alerts.High, Component: "CBP", QueryID: q.ID, PersonID: analyst.ID,
			Explanation: "The area searched covers the requester's own home.", Evidence: []byte(`{"home_cells":2,"area_cells":14}`)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := ts.Reviews.OpenMissing(ctx); err != nil || n != 1 {
		t.Fatalf("OpenMissing = %d, %v", n, err)
	}
	reviewPath, alertPath := "/reviews/"+strconv.FormatInt(q.ID, 10), "/alerts/"+strconv.FormatInt(alertID, 10)

	t.Run("Review", func(t *testing.T) {
		b := newTab(t, browser, ts.URL)
		signInAs(t, b, sup.EmployeeID, password, supPhone)
		if n := eval[int](b, `document.querySelectorAll('header a[href="/alerts"]').length`); n != 0 {
			t.Error("a supervisor's header links the alerts")
		}
		if status := b.load(chromedp.Click(chromedp.CSS(`header a[href="/reviews"]`))); status != 200 || b.heading() != "Reviews" {
			t.Fatalf("the Reviews link: status %d, heading %q", status, b.heading())
		}
		if u := b.unlabelled(); len(u) > 0 {
			t.Errorf("fields without a label: %v", u)
		}
		due := eval[string](b, `(document.querySelector('a[href="`+reviewPath+`"]').closest('tr').cells[3] || {}).innerText`)
		if !regexp.MustCompile(`^due in \d+ (business days?|h|min)\n\w{3} \d+ \w{3} \d{4} \d\d:\d\d E[SD]T$`).MatchString(due) {
			t.Errorf("the due column says %q, want a countdown and the time in the supervisor's zone", due)
		}
		if status := b.load(chromedp.Click(chromedp.CSS(`a[href="` + reviewPath + `"]`))); status != 200 || b.path() != reviewPath {
			t.Fatalf("open the review: status %d at %s", status, b.path())
		}
		if u := b.unlabelled(); len(u) > 0 {
			t.Errorf("fields without a label: %v", u)
		}
		b.do(chromedp.Click(chromedp.ID("decision-needs_explanation")), chromedp.SendKeys(chromedp.ID("note"), "Why this area, at this hour?"))
		if status := b.load(chromedp.Click(chromedp.CSS(`form[action="` + reviewPath + `/decide"] button[type=submit]`))); status != 200 {
			t.Fatalf("decide: status %d: %s", status, b.alert())
		}
		if flash := b.text(`[role=status]`); flash != "Your decision is recorded in the ledger." {
			t.Errorf("after deciding the page says %q", flash)
		}
		if got := b.text(`main table:nth-of-type(2) td`); got != "Decided: needs explanation" {
			t.Errorf("the review's status reads %q", got)
		}
	})

	t.Run("Alert", func(t *testing.T) {
		b := newTab(t, browser, ts.URL)
		signInAs(t, b, "E7700802", password, cpoPhone)
		if status := b.load(chromedp.Click(chromedp.CSS(`header a[href="/alerts"]`))); status != 200 || b.heading() != "Alerts" {
			t.Fatalf("the Alerts link: status %d, heading %q", status, b.heading())
		}
		if u := b.unlabelled(); len(u) > 0 {
			t.Errorf("fields without a label: %v", u)
		}
		if status := b.load(chromedp.Click(chromedp.CSS(`a[href="` + alertPath + `"]`))); status != 200 || !strings.HasPrefix(b.heading(), "Alert ") {
			t.Fatalf("open the alert: status %d, heading %q", status, b.heading())
		}
		if got := b.text("dl.evidence"); !strings.Contains(got, "home cells") || !strings.Contains(got, "14") {
			t.Errorf("the evidence reads %q", got)
		}
		if status := b.load(chromedp.Click(chromedp.CSS(`form[action="` + alertPath + `/triage"] button`))); status != 200 || !strings.HasPrefix(b.text(`[role=status]`), "You took the alert into triage") {
			t.Fatalf("triage: status %d, message %q", status, b.alert())
		}
		if u := b.unlabelled(); len(u) > 0 {
			t.Errorf("fields without a label: %v", u)
		}
		b.do(chromedp.SendKeys(chromedp.ID("note-refer"), "The requester searched their own home; OPR should look into it."))
		if status := b.load(chromedp.Click(chromedp.CSS(`form[action="` + alertPath + `/refer"] button`))); status != 200 {
			t.Fatalf("refer: status %d: %s", status, b.alert())
		}
		if got := b.text("main table tr:nth-child(2) td"); got != "referred to professional responsibility" {
			t.Errorf("after the referral the status reads %q", got)
		}
	})
}
