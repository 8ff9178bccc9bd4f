package app_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/importer/ping"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// mustQueryAnalyst sets up, on ts, what an area search needs: in CBP a
// supervisor, a security officer and a privacy officer, the department
// privacy officer, an analyst (enrolled with password, whose authenticator
// phone is returned) on duty around the clock and member of an open case,
// and a usable local source holding the pings of three devices near
// 38.9, -77.03 in the last two hours. It returns the case's number.
func mustQueryAnalyst(t *testing.T, ts *testServer, employeeID, password string, phone *authenticator) (caseNo, source string) {
	t.Helper()
	ctx := t.Context()
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	if err := ts.Identity.CreateComponent(ctx, admin, identity.Component{Code: "CBP", Name: "CBP"}); err != nil {
		t.Fatal(err)
	}
	as := map[string]auth.Principal{}
	invite := func(label, component string, boss int64, role auth.Role) (identity.Person, string) {
		p, link, err := ts.Identity.Invite(ctx, admin, identity.Person{EmployeeID: label, Name: "Test " + label, Email: label + "@example.gov",
			Component: component, SupervisorID: boss, Schedule: identity.DefaultSchedule()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Identity.GrantRole(ctx, admin, identity.Grant{PersonID: p.ID, Role: role, Component: component}); err != nil {
			t.Fatal(err)
		}
		return p, link
	}
	activate := func(p identity.Person, link string) {
		p, err := ts.Identity.Activate(ctx, link, store.Enrolment{PasswordHash: "unused", TOTPSealed: []byte("unused")})
		if err != nil {
			t.Fatal(err)
		}
		grants, err := ts.Identity.Grants(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		as[p.EmployeeID] = identity.Principal(p, grants)
	}
	head, link := invite("b-head", "CBP", 0, auth.Supervisor)
	activate(head, link)
	for _, x := range []struct {
		label, component string
		boss             int64
		role             auth.Role
	}{{"b-isso", "CBP", head.ID, auth.SecurityOfficer}, {"b-cpo", "CBP", 0, auth.ComponentPrivacyOfficer}, {"b-dpo", "", 0, auth.DepartmentPrivacyOfficer}} {
		activate(invite(x.label, x.component, x.boss, x.role))
	}
	analyst, link := invite(employeeID, "CBP", head.ID, auth.Analyst)
	e, err := ts.Authn.BeginEnrolment(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	phone.secret = e.TOTPSecret
	if _, _, err := ts.Authn.CompleteEnrolment(ctx, link, password, e.Sealed, phone.code(t)); err != nil {
		t.Fatalf("enrol the analyst: %v", err)
	}
	always := identity.Schedule{TimeZone: "UTC", Start: 0, End: 24 * 60, Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}}
	if _, err := ts.Identity.UpdatePerson(ctx, admin, analyst.ID, store.PersonUpdate{Schedule: &always}); err != nil {
		t.Fatal(err)
	}

	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	sys, err := ts.Privacy.CreateSystem(ctx, as["b-isso"], privacy.System{Name: "Port telemetry", Component: "CBP", OwnerID: head.ID, ISSOID: as["b-isso"].PersonID,
		Impact: privacy.High, ATOGranted: today.AddDate(-1, 0, 0), ATOExpires: today.AddDate(2, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	src, err := ts.Privacy.CreateSource(ctx, as["b-isso"], privacy.Source{Name: "port-pings", Title: "Port pings", SystemID: sys.ID, Vendor: "Probity local telemetry store",
		ContractNumber: "N/A", Categories: []string{"device_location"}, Connector: privacy.LocalStore})
	if err != nil {
		t.Fatal(err)
	}
	pia, err := ts.Privacy.CreatePIA(ctx, as["b-isso"], src.ID, "PIA of port pings", storetest.CompleteDocument("port pings"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		who string
		a   privacy.Action
	}{{"b-isso", privacy.Submit}, {"b-cpo", privacy.Accept}, {"b-dpo", privacy.Approve}, {"b-dpo", privacy.Publish}} {
		if pia, err = ts.Privacy.Step(ctx, as[st.who], pia.ID, st.a, store.StepInput{}); err != nil {
			t.Fatalf("%s the PIA: %v", st.a, err)
		}
	}
	if _, err := ts.Identity.PublishRules(ctx, as["b-dpo"], identity.Rules{Key: src.RulesKey, Title: "Rules for port pings", Body: "Use these pings only for open cases you are assigned to."}); err != nil {
		t.Fatal(err)
	}
	grants, err := ts.Identity.Grants(ctx, analyst.ID)
	if err != nil {
		t.Fatal(err)
	}
	analyst, err = ts.Identity.PersonByEmployeeID(ctx, employeeID)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Identity.Acknowledge(ctx, identity.Principal(analyst, grants), src.RulesKey, 1); err != nil {
		t.Fatal(err)
	}
	caseNo = "CBP-2026-0077"
	if _, err := ts.Cases.Create(ctx, as["b-head"], cases.Case{Number: caseNo, Title: "Containers moved at night", LegalAuthority: "8 U.S.C. 1357",
		Predicate: "An informant reported containers moved at night", Component: "CBP", Members: []cases.Member{{EmployeeID: employeeID}},
		LegalProcess: []cases.LegalProcess{{Kind: cases.CourtOrder, Reference: "CO-2026-17", IssuedOn: today.AddDate(0, 0, -10), ExpiresOn: today.AddDate(0, 0, 80)}}}); err != nil {
		t.Fatalf("create the case: %v", err)
	}
	var pings []ping.Ping
	for i := range 3 {
		for k := range 4 {
			pings = append(pings, ping.Ping{Device: fmt.Sprintf("port-device-%d", i), Time: now.Add(-time.Duration(100-10*k-i) * time.Minute).Truncate(time.Second),
				Lat: 38.9 + float64(i)*0.0005, Lon: -77.03 + float64(k)*0.0005, AccuracyM: 8})
		}
	}
	if _, err := ts.DB.Telemetry().Import(ctx, ledger.Actor{Kind: ledger.ActorSystem, ID: "browser-test"}, src.Name, storetest.NewPingList(pings),
		store.ImportOptions{FileName: "port.csv", Format: "csv"}); err != nil {
		t.Fatalf("import: %v", err)
	}
	return caseNo, src.Name
}

// TestServer_BrowserQueries drives a real browser through an area search:
// an analyst signs in, submits a search by circle and sees the results
// and the receipt link; an invalid search shows the precise error with
// everything typed kept.
func TestServer_BrowserQueries(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	browser := startBrowser(t, ctx)
	ts := startTLSServer(t)
	const (
		employeeID = "E7700456"
		password   = "harbor lantern quartz nine"
	)
	phone := &authenticator{}
	caseNo, source := mustQueryAnalyst(t, ts, employeeID, password, phone)
	now := time.Now().UTC()
	from, to := now.Add(-3*time.Hour).Format("2006-01-02T15:04"), now.Add(2*time.Minute).Format("2006-01-02T15:04")

	a := newTab(t, browser, ts.URL)
	a.open("/login")
	a.do(chromedp.SendKeys(chromedp.ID("account"), employeeID), chromedp.SendKeys(chromedp.ID("password"), password))
	a.load(chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)))
	a.do(chromedp.SendKeys(chromedp.ID("code"), phone.code(t)))
	if status := a.load(chromedp.Click(chromedp.CSS(`form[action="/login/code"] button[type=submit]`))); status != 200 || a.path() != "/" {
		t.Fatalf("sign in: status %d at %s: %s", status, a.path(), a.alert())
	}

	// fill fills the new-query form.
	fill := func(justification string) {
		t.Helper()
		if status := a.open("/queries/new"); status != 200 || a.heading() != "New query" {
			t.Fatalf("the new-query page: status %d, heading %q", status, a.heading())
		}
		if u := a.unlabelled(); len(u) > 0 {
			t.Errorf("fields without a label: %v", u)
		}
		a.do(
			chromedp.SendKeys(chromedp.ID("case"), caseNo),
			chromedp.SendKeys(chromedp.ID("source"), source),
			chromedp.SendKeys(chromedp.ID("justification"), justification),
			chromedp.Click(chromedp.ID("shape-circle")),
			chromedp.SendKeys(chromedp.ID("lat"), "38.9005"),
			chromedp.SendKeys(chromedp.ID("lon"), "-77.029"),
			chromedp.SendKeys(chromedp.ID("radius"), "400"),
			chromedp.SetValue(chromedp.ID("from"), from),
			chromedp.SetValue(chromedp.ID("to"), to),
		)
	}

	t.Run("AreaSearch", func(t *testing.T) {
		a.t = t
		fill("Containers moved at night near the port; find devices present.")
		if status := a.load(chromedp.Click(chromedp.CSS(`form[action="/queries"] button[type=submit]`))); status != 200 || !regexp.MustCompile(`^/queries/\d+$`).MatchString(a.path()) {
			t.Fatalf("submit: status %d at %s: %s", status, a.path(), a.alert())
		}
		if h := a.heading(); !strings.HasPrefix(h, "Query ") {
			t.Fatalf("heading %q", h)
		}
		devices := eval[[]string](a, `[...document.querySelectorAll('table[aria-labelledby=results] tbody tr td:first-child')].map(td => td.textContent.trim())`)
		if len(devices) != 3 {
			t.Fatalf("the results table lists %d devices, want 3: %q", len(devices), devices)
		}
		for _, d := range devices {
			if !regexp.MustCompile(`^p-[a-z2-7]{20}$`).MatchString(d) {
				t.Errorf("device %q is not a pseudonym", d)
			}
		}
		if href := eval[string](a, `(document.querySelector('a[href$="/receipt"]') || {}).getAttribute?.('href') || ''`); href != a.path()+"/receipt" {
			t.Errorf("receipt link %q, want %s/receipt", href, a.path())
		}
		if cmd := a.text("main pre code"); cmd != "probity ledger verify -receipt FILE -key KEY" {
			t.Errorf("verification command %q", cmd)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		a.t = t
		fill("too short")
		status := a.load(chromedp.Click(chromedp.CSS(`form[action="/queries"] button[type=submit]`)))
		if status != 400 || a.path() != "/queries" {
			t.Fatalf("an invalid query: status %d at %s, want 400 on the form", status, a.path())
		}
		if msg := a.alert(); !strings.Contains(msg, "justification: say why, in at least 20 characters") || !strings.Contains(msg, "This attempt is recorded") {
			t.Errorf("the error says %q", msg)
		}
		if got := a.focused(); got != "#justification" {
			t.Errorf("the focus is on %s, want the justification field", got)
		}
		kept := eval[[]string](a, `['case', 'source', 'justification', 'lat', 'lon', 'radius', 'from', 'to'].map(id => document.getElementById(id).value)`)
		want := []string{caseNo, source, "too short", "38.9005", "-77.029", "400", from, to}
		if strings.Join(kept, "|") != strings.Join(want, "|") {
			t.Errorf("the form holds %q, want %q", kept, want)
		}
		if u := a.unlabelled(); len(u) > 0 {
			t.Errorf("fields without a label: %v", u)
		}
	})
}
