package web_test

import (
	"context"
	"fmt"
	"io"
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
	"github.com/probity-dev/probity/internal/connector"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/importer/ping"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/policy"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/settings"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
	"github.com/probity-dev/probity/internal/web"
)

// localConnectors reads every source from the local telemetry store.
type localConnectors struct{ t *store.Telemetry }

func (c localConnectors) For(_ context.Context, src privacy.Source) (connector.Connector, error) {
	return c.t.Connector(src.ID), nil
}

// wordScreener flags a request whose justification says "sensitive" as
// touching a protected place (so it needs approval), and withholds the
// results of one that says "withhold".
type wordScreener struct{}

func (wordScreener) ScreenRequest(_ context.Context, in access.ScreenInput) ([]string, error) {
	if strings.Contains(in.Request.Justification, "sensitive") {
		return []string{query.FlagProtectedPlace}, nil
	}
	return nil, nil
}

func (wordScreener) ScreenResult(_ context.Context, in access.ScreenInput, _ query.Result) (access.Screening, error) {
	return access.Screening{Withhold: strings.Contains(in.Request.Justification, "withhold")}, nil
}

// queryWeb is the pages over an organization where cbp-analyst is a
// member of an open case and may use a local source holding the pings of
// three devices near 38.9, -77.03 in the last two hours; cbp-analyst2
// also may use data but is not on the case.
type queryWeb struct {
	*storetest.PrivacyOrg
	w       *web.Web
	svc     *access.Service
	src     privacy.Source
	caseNo  string
	now     time.Time
	cookies map[string]string // session secrets by label
}

func mustQueryWeb(t *testing.T) *queryWeb {
	t.Helper()
	ctx := context.Background()
	o := storetest.MustPrivacyOrg(t, store.SQLite)
	// A weekday morning, New York time: inside the default duty schedule.
	ny, _ := time.LoadLocation("America/New_York")
	now := o.Clock.Now().In(ny)
	target := time.Date(now.Year(), now.Month(), now.Day(), 11, 0, 0, 0, ny)
	for target.Before(now) || target.Weekday() != time.Wednesday {
		target = target.AddDate(0, 0, 1)
	}
	o.Clock.Advance(target.Sub(now))
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "web-test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	p, secret, err := o.Ids.Invite(ctx, admin, identity.Person{EmployeeID: "cbp-analyst2", Name: "Test cbp-analyst2", Email: "cbp-analyst2@example.gov",
		Component: "CBP", SupervisorID: o.People["cbp-head"].ID, Schedule: identity.DefaultSchedule()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Ids.GrantRole(ctx, admin, identity.Grant{PersonID: p.ID, Role: auth.Analyst, Component: "CBP"}); err != nil {
		t.Fatal(err)
	}
	if p, err = o.Ids.Activate(ctx, secret, store.Enrolment{PasswordHash: "unused", TOTPSealed: []byte("unused")}); err != nil {
		t.Fatal(err)
	}
	o.People["cbp-analyst2"] = p

	sys := o.MustSystem(t, "CBP", "telemetry-system")
	src, err := o.Privacy.CreateSource(ctx, o.As["cbp-isso"], privacy.Source{Name: "port-pings", Title: "Port pings", SystemID: sys.ID,
		Vendor: "Probity local telemetry store", ContractNumber: "N/A", Categories: []string{"device_location"}, Connector: privacy.LocalStore})
	if err != nil {
		t.Fatal(err)
	}
	o.MustPublishedPIA(t, src)
	if _, err := o.Ids.PublishRules(ctx, o.As["dpo"], identity.Rules{Key: src.RulesKey, Title: "Rules for port pings", Body: "Use these pings only for open cases you are assigned to."}); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"cbp-analyst", "cbp-analyst2"} {
		grants, err := o.Ids.Grants(ctx, o.People[who].ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Ids.Acknowledge(ctx, identity.Principal(o.People[who], grants), src.RulesKey, 1); err != nil {
			t.Fatal(err)
		}
	}
	pols := o.DB.Policies(nil)
	if err := pols.InstallDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	eng := policy.NewEngine(pols, storetest.Logger())
	if err := eng.Load(ctx); err != nil {
		t.Fatal(err)
	}
	e := &queryWeb{PrivacyOrg: o, src: src, caseNo: "CBP-2026-000142", now: o.DB.Now(), cookies: map[string]string{}}
	day := e.now.Truncate(24 * time.Hour)
	if _, err := o.DB.Cases().Create(ctx, o.As["cbp-head"], cases.Case{Number: e.caseNo, Title: "Containers moved at night", LegalAuthority: "8 U.S.C. 1357",
		Predicate: "Informant report of containers moved at night", Component: "CBP", Members: []cases.Member{{EmployeeID: "cbp-analyst"}},
		LegalProcess: []cases.LegalProcess{{Kind: cases.CourtOrder, Reference: "CO-2026-17", IssuedOn: day.AddDate(0, 0, -10), ExpiresOn: day.AddDate(0, 0, 80)}}}); err != nil {
		t.Fatal(err)
	}
	var pings []ping.Ping
	for i := range 3 {
		for k := range 4 {
			pings = append(pings, ping.Ping{Device: fmt.Sprintf("port-device-%d", i), Time: e.now.Add(-time.Duration(100-10*k-i) * time.Minute).Truncate(time.Second),
				Lat: 38.9 + float64(i)*0.0005, Lon: -77.03 + float64(k)*0.0005, AccuracyM: 8})
		}
	}
	if _, err := o.DB.Telemetry().Import(ctx, ledger.Actor{Kind: ledger.ActorSystem, ID: "web-test"}, src.Name, storetest.NewPingList(pings),
		store.ImportOptions{FileName: "port.csv", Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	key, err := sealed.ParseKey(sealed.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	e.svc = access.New(access.Deps{DB: o.DB, Ledger: o.Ledger, Identity: o.Ids, Privacy: o.Privacy, Cases: o.DB.Cases(), Queries: o.DB.Queries(),
		Policies: pols, Policy: eng, Settings: settings.NewService(o.DB.Settings()), Secrets: key, Connectors: localConnectors{o.DB.Telemetry()},
		Screener: wordScreener{}, Logger: storetest.Logger()})
	if e.w, err = web.New(web.Deps{Authn: authn.New(o.Ids, authn.Config{Secrets: key, Logger: storetest.Logger()}), Identity: o.Ids, Queries: e.svc, Logger: storetest.Logger()}); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"cbp-analyst", "cbp-analyst2", "cbp-head"} {
		res, err := o.Ids.StartSession(ctx, o.People[who].ID, "password", "127.0.0.1", "web-test", nil, "", store.DefaultSessionPolicy)
		if err != nil {
			t.Fatal(err)
		}
		e.cookies[who] = res.Secret
	}
	return e
}

// do sends a request as who ("" for nobody).
func (e *queryWeb) do(t *testing.T, who, method, path string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if who != "" {
		r.AddCookie(&http.Cookie{Name: authn.SessionCookie, Value: e.cookies[who]})
	}
	return serve(e.w, r)
}

var tokenR = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token returns the form token the new-query page gives who.
func (e *queryWeb) token(t *testing.T, who string) string {
	t.Helper()
	rec := e.do(t, who, "GET", "/queries/new", nil)
	m := tokenR.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil {
		t.Fatalf("GET /queries/new as %s: status %d, no form token:\n%s", who, rec.Code, rec.Body)
	}
	return m[1]
}

// circle returns the form of an area search around the devices.
func (e *queryWeb) circle(justification string) url.Values {
	return url.Values{
		"case": {e.caseNo}, "source": {e.src.Name}, "justification": {justification}, "shape": {"circle"},
		"lat": {"38.9005"}, "lon": {"-77.029"}, "radius_m": {"400"},
		"from": {e.now.Add(-3 * time.Hour).UTC().Format("2006-01-02T15:04")}, "to": {e.now.Add(time.Minute).UTC().Format("2006-01-02T15:04")},
		"legal_process": {"CO-2026-17"},
	}
}

// submit posts a query form as who with their token and returns the
// query's path.
func (e *queryWeb) submit(t *testing.T, who string, form url.Values) string {
	t.Helper()
	form.Set("csrf", e.token(t, who))
	rec := e.do(t, who, "POST", "/queries", form)
	loc := rec.Header().Get("Location")
	if rec.Code != http.StatusSeeOther || !regexp.MustCompile(`^/queries/\d+$`).MatchString(loc) {
		t.Fatalf("POST /queries: status %d, Location %q:\n%s", rec.Code, loc, rec.Body)
	}
	return loc
}

func (e *queryWeb) ledgerSize(t *testing.T) int64 {
	t.Helper()
	storetest.SettledSize(t, e.DB, e.Ledger)
	n, err := e.Ledger.Size(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const justification = "Containers moved at night near the port; find devices present."

func TestWeb_QueryAreaSearch(t *testing.T) {
	e := mustQueryWeb(t)
	page := e.submit(t, "cbp-analyst", e.circle(justification))
	before := len(e.Entries(t, "query.results_read"))
	rec := e.do(t, "cbp-analyst", "GET", page, nil)
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, "<td>completed</td>") {
		t.Fatalf("GET %s: status %d:\n%s", page, rec.Code, body)
	}
	rows := regexp.MustCompile(`<td class="mono">(p-[a-z2-7]{20})</td><td>[^<]+ UTC</td><td>[^<]+ UTC</td><td>4</td>`).FindAllStringSubmatch(body, -1)
	if len(rows) != 3 {
		t.Errorf("the results table has %d device rows, want 3:\n%s", len(rows), body)
	}
	if strings.Contains(body, "port-device-") {
		t.Error("the page shows a source's device identifier")
	}
	if n := len(e.Entries(t, "query.results_read")); n != before+1 {
		t.Errorf("showing the results added %d query.results_read entries, want 1", n-before)
	}
	for _, want := range []string{`href="` + page + `/receipt"`, "probity ledger verify -receipt FILE -key KEY"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}

	t.Run("OKReceipt", func(t *testing.T) {
		rec := e.do(t, "cbp-analyst", "GET", page+"/receipt", nil)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment;") || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("receipt: status %d, headers %v:\n%s", rec.Code, rec.Header(), rec.Body)
		}
		rc, err := ledger.ParseReceipt(rec.Body.Bytes())
		if err != nil {
			t.Fatalf("the receipt does not parse: %v", err)
		}
		key, err := e.Ledger.VerifierKey(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		v, _, err := ledger.ParseVerifiers(key)
		if err != nil {
			t.Fatal(err)
		}
		en, _, err := rc.Verify(v)
		if err != nil {
			t.Fatalf("the receipt does not verify: %v", err)
		}
		if en.Type != "query.results_read" || "/queries/"+strings.TrimPrefix(en.Subject, "query/") != page || en.Actor.ID != "cbp-analyst" || en.Digest == "" {
			t.Errorf("receipt of %+v", en)
		}
	})

	t.Run("OKList", func(t *testing.T) {
		rec := e.do(t, "cbp-analyst", "GET", "/queries", nil)
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.Contains(body, `<a href="`+page+`">`) || !strings.Contains(body, e.caseNo) || !strings.Contains(body, `href="/queries/new"`) {
			t.Fatalf("GET /queries: status %d:\n%s", rec.Code, body)
		}
	})

	t.Run("ErrOtherPersonsQuery", func(t *testing.T) {
		form := url.Values{"csrf": {e.token(t, "cbp-analyst2")}}
		for _, r := range []struct{ method, path string }{{"GET", page}, {"GET", page + "/receipt"}, {"POST", page + "/run"}} {
			var f url.Values
			if r.method == "POST" {
				f = form
			}
			if rec := e.do(t, "cbp-analyst2", r.method, r.path, f); rec.Code != http.StatusNotFound {
				t.Errorf("%s %s as another analyst: status %d, want 404", r.method, r.path, rec.Code)
			}
		}
		if body := e.do(t, "cbp-analyst2", "GET", "/queries", nil).Body.String(); strings.Contains(body, `href="`+page+`"`) {
			t.Error("another analyst's list shows the query")
		}
	})
}

func TestWeb_QueryRefused(t *testing.T) {
	e := mustQueryWeb(t)
	t.Run("ErrInvalidRecorded", func(t *testing.T) {
		form := e.circle("too short")
		form.Set("csrf", e.token(t, "cbp-analyst"))
		refusedBefore := len(e.Entries(t, "query.refused"))
		rec := e.do(t, "cbp-analyst", "POST", "/queries", form)
		body := rec.Body.String()
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d, want 400:\n%s", rec.Code, body)
		}
		m := regexp.MustCompile(`<a href="#justification">query (\d+) refused: justification: say why, in at least 20 characters`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("the page does not link the precise message to the field:\n%s", body)
		}
		if !strings.Contains(body, `<a href="/queries/`+m[1]+`">`) {
			t.Errorf("the page does not link the recorded query %s", m[1])
		}
		if !regexp.MustCompile(`<textarea id="justification"[^>]*aria-invalid="true"`).MatchString(body) {
			t.Error("the justification field is not marked invalid")
		}
		for _, kept := range []string{`value="` + e.caseNo + `"`, `value="38.9005"`, `value="-77.029"`, `value="400"`, ">too short</textarea>", `value="` + form.Get("from") + `"`, `value="CO-2026-17"`} {
			if !strings.Contains(body, kept) {
				t.Errorf("the form lost %s", kept)
			}
		}
		if n := len(e.Entries(t, "query.refused")); n != refusedBefore+1 {
			t.Errorf("%d query.refused entries added, want 1", n-refusedBefore)
		}
	})
	t.Run("ErrAreaRecorded", func(t *testing.T) {
		for _, c := range []struct{ field, value, id, msg string }{
			{"lat", "95", "lat", "latitude 95 is outside [-90, 90]"},
			{"lon", "-190", "lon", "longitude -190 is outside [-180, 180]"},
			{"radius_m", "0", "radius", "the radius must be greater than zero"},
		} {
			form := e.circle(justification)
			form.Set(c.field, c.value)
			form.Set("csrf", e.token(t, "cbp-analyst"))
			rec := e.do(t, "cbp-analyst", "POST", "/queries", form)
			body := rec.Body.String()
			if rec.Code != http.StatusBadRequest || !regexp.MustCompile(`<a href="#`+c.id+`">query \d+ refused: area: [^<]*`+regexp.QuoteMeta(c.msg)).MatchString(body) {
				t.Errorf("%s %s: status %d, want 400 with %q linked to #%s:\n%s", c.field, c.value, rec.Code, c.msg, c.id, body)
			}
			if !strings.Contains(body, `value="`+c.value+`"`) {
				t.Errorf("%s %s: the form lost the value", c.field, c.value)
			}
		}
	})
	t.Run("ErrNotOnCase", func(t *testing.T) {
		form := e.circle(justification)
		form.Set("csrf", e.token(t, "cbp-analyst2"))
		rec := e.do(t, "cbp-analyst2", "POST", "/queries", form)
		if rec.Code != http.StatusForbidden && rec.Code != http.StatusNotFound {
			t.Fatalf("status %d, want a refusal:\n%s", rec.Code, rec.Body)
		}
		if body := rec.Body.String(); !strings.Contains(body, "refused:") || !strings.Contains(body, `value="`+e.caseNo+`"`) {
			t.Errorf("the refusal is not shown with the values kept:\n%s", body)
		}
	})
	t.Run("ErrUnreadableForm", func(t *testing.T) {
		cases := []struct {
			name, field, value, id, msg string
		}{
			{"Latitude", "lat", "north", "lat", `lat: &#34;north&#34; is not a number`},
			{"Radius", "radius_m", "", "radius", "radius: give the radius in metres"},
			{"From", "from", "yesterday", "from", `from: &#34;yesterday&#34; is not a date and time`},
			{"Polygon", "polygon", "{not json", "polygon", "polygon: this is not valid JSON"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				form := e.circle(justification)
				form.Set(c.field, c.value)
				if c.field == "polygon" {
					form.Set("shape", "polygon")
				}
				form.Set("csrf", e.token(t, "cbp-analyst"))
				before := e.ledgerSize(t)
				rec := e.do(t, "cbp-analyst", "POST", "/queries", form)
				body := rec.Body.String()
				if rec.Code != http.StatusBadRequest || !strings.Contains(body, `<a href="#`+c.id+`">`+c.msg) {
					t.Fatalf("status %d, want 400 with %q linked to #%s:\n%s", rec.Code, c.msg, c.id, body)
				}
				if !strings.Contains(body, `value="`+e.caseNo+`"`) || !strings.Contains(body, justification+"</textarea>") {
					t.Error("the form lost the values typed")
				}
				if e.ledgerSize(t) != before {
					t.Error("a form that is no request was recorded")
				}
			})
		}
	})
}

func TestWeb_QueryFormToken(t *testing.T) {
	e := mustQueryWeb(t)
	before := e.ledgerSize(t)
	for _, c := range []struct{ name, token string }{
		{"ErrMissing", ""},
		{"ErrOtherSession", e.token(t, "cbp-analyst2")},
		{"ErrForged", strings.Repeat("A", 43)},
	} {
		t.Run(c.name, func(t *testing.T) {
			form := e.circle(justification)
			if c.token != "" {
				form.Set("csrf", c.token)
			}
			rec := e.do(t, "cbp-analyst", "POST", "/queries", form)
			if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "this form was not sent from a Probity page of your session") {
				t.Fatalf("status %d, want 403:\n%s", rec.Code, rec.Body)
			}
			if rec := e.do(t, "cbp-analyst", "POST", "/queries/1/run", url.Values{"csrf": {c.token}}); rec.Code != http.StatusForbidden {
				t.Errorf("run: status %d, want 403", rec.Code)
			}
		})
	}
	if e.ledgerSize(t) != before {
		t.Error("a post without the form token was recorded")
	}
}

func TestWeb_QueryPermissions(t *testing.T) {
	e := mustQueryWeb(t)
	for _, path := range []string{"/queries", "/queries/new", "/queries/1"} {
		if rec := e.do(t, "cbp-head", "GET", path, nil); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "your role does not allow this page") {
			t.Errorf("GET %s without data.access: status %d, want the 403 page", path, rec.Code)
		}
		if rec := e.do(t, "", "GET", path, nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
			t.Errorf("GET %s signed out: status %d to %q, want the sign-in page", path, rec.Code, rec.Header().Get("Location"))
		}
	}
	if rec := e.do(t, "cbp-analyst", "GET", "/queries/x", nil); rec.Code != http.StatusNotFound {
		t.Errorf("GET /queries/x: status %d, want 404", rec.Code)
	}
}

func TestWeb_QueryApproval(t *testing.T) {
	e := mustQueryWeb(t)
	page := e.submit(t, "cbp-analyst", e.circle("Containers moved at night near a sensitive place; find devices present."))
	body := e.do(t, "cbp-analyst", "GET", page, nil).Body.String()
	if !strings.Contains(body, "<td>awaiting approval</td>") || !strings.Contains(body, "<li>a supervisor above the requester in their chain</li>") {
		t.Fatalf("the page does not say who must approve:\n%s", body)
	}
	if strings.Contains(body, `action="`+page+`/run"`) {
		t.Error("a query awaiting approval offers Run")
	}
	var id int64
	fmt.Sscanf(strings.TrimPrefix(page, "/queries/"), "%d", &id)
	if _, err := e.svc.Decide(context.Background(), e.As["cbp-head"], id, true, "needed for the case"); err != nil {
		t.Fatal(err)
	}
	body = e.do(t, "cbp-analyst", "GET", page, nil).Body.String()
	if !strings.Contains(body, "<td>approved</td>") || !strings.Contains(body, `action="`+page+`/run"`) || !strings.Contains(body, "<td>cbp-head</td>") {
		t.Fatalf("an approved query shows no Run button or approval:\n%s", body)
	}
	rec := e.do(t, "cbp-analyst", "POST", page+"/run", url.Values{"csrf": {e.token(t, "cbp-analyst")}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != page {
		t.Fatalf("run: status %d to %q:\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	body = e.do(t, "cbp-analyst", "GET", page, nil).Body.String()
	if !strings.Contains(body, "<td>completed</td>") || strings.Count(body, `<td class="mono">p-`) != 3 {
		t.Fatalf("after running, the page shows no results:\n%s", body)
	}
	// Running it again is refused on the page, with the reason.
	rec = e.do(t, "cbp-analyst", "POST", page+"/run", url.Values{"csrf": {e.token(t, "cbp-analyst")}})
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "only an approved query runs") {
		t.Errorf("running a completed query: status %d:\n%s", rec.Code, rec.Body)
	}
}

func TestWeb_QueryWithheld(t *testing.T) {
	e := mustQueryWeb(t)
	page := e.submit(t, "cbp-analyst", e.circle("Containers moved at night near the port; withhold check for devices."))
	reads := len(e.Entries(t, "query.results_read"))
	body := e.do(t, "cbp-analyst", "GET", page, nil).Body.String()
	if !strings.Contains(body, "Results withheld pending privacy review") || strings.Contains(body, `<td class="mono">p-`) || strings.Contains(body, "/receipt") {
		t.Fatalf("a withheld query's page:\n%s", body)
	}
	if n := len(e.Entries(t, "query.results_read")); n != reads {
		t.Error("withheld results were read")
	}
}
