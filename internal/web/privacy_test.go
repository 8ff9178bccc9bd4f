package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/policy"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
	"github.com/probity-dev/probity/internal/web"
)

// privacyWeb is the privacy officer's pages over a [storetest.PrivacyOrg]
// with a second department privacy officer (dpo2) and the built-in
// policy sets: a usable CBP source (open-src), one that lacks everything
// (closed-src, with a PTA), and one whose PIA is a draft with two
// versions (draft-src).
type privacyWeb struct {
	*storetest.PrivacyOrg
	w       *web.Web
	pols    *store.Policies
	engine  *policy.Engine
	open    privacy.Source
	closed  privacy.Source
	draft   privacy.Source
	pia     privacy.PIA // the draft
	cookies map[string]string
}

func mustPrivacyWeb(t *testing.T, d store.Dialect) *privacyWeb {
	t.Helper()
	ctx := context.Background()
	o := storetest.MustPrivacyOrg(t, d)
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "web-test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	p, secret, err := o.Ids.Invite(ctx, admin, identity.Person{EmployeeID: "dpo2", Name: "Test dpo2", Email: "dpo2@example.gov", Schedule: identity.DefaultSchedule()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Ids.GrantRole(ctx, admin, identity.Grant{PersonID: p.ID, Role: auth.DepartmentPrivacyOfficer}); err != nil {
		t.Fatal(err)
	}
	if p, err = o.Ids.Activate(ctx, secret, store.Enrolment{PasswordHash: "unused", TOTPSealed: []byte("unused")}); err != nil {
		t.Fatal(err)
	}
	grants, err := o.Ids.Grants(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	o.People["dpo2"], o.As["dpo2"] = p, identity.Principal(p, grants)

	e := &privacyWeb{PrivacyOrg: o, cookies: map[string]string{}}
	sys := o.MustSystem(t, "CBP", "web-system")
	e.open = o.MustSource(t, sys, "open-src")
	o.MustPublishedPIA(t, e.open)
	o.MustOpenGate(t, e.open)
	e.closed = o.MustSource(t, sys, "closed-src")
	yes, no := true, false
	if _, err := o.Privacy.RecordPTA(ctx, o.As["cbp-isso"], fmt.Sprintf("source/%d", e.closed.ID), privacy.PTAAnswers{CollectsPII: &yes, AboutPublic: &yes,
		LocationData: &yes, RetrievedByIdentifier: &yes, CommercialSource: &yes, NewOrChanged: &no}); err != nil {
		t.Fatal(err)
	}
	e.draft = o.MustSource(t, sys, "draft-src")
	if e.pia, err = o.Privacy.CreatePIA(ctx, o.As["cbp-isso"], e.draft.ID, "PIA of draft-src", storetest.CompleteDocument("draft-src"), "first draft"); err != nil {
		t.Fatal(err)
	}
	doc := storetest.CompleteDocument("draft-src")
	doc.Retention = "Pings are kept 90 days under the approved records schedule, then deleted.\nResults are kept with the case file."
	if e.pia, err = o.Privacy.EditPIA(ctx, o.As["cbp-isso"], e.pia.ID, 1, doc, "retention spelled out"); err != nil {
		t.Fatal(err)
	}

	e.pols = o.DB.Policies(nil)
	if err := e.pols.InstallDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	e.engine = policy.NewEngine(e.pols, storetest.Logger())
	if err := e.engine.Load(ctx); err != nil {
		t.Fatal(err)
	}
	key, err := sealed.ParseKey(sealed.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	if e.w, err = web.New(web.Deps{Authn: authn.New(o.Ids, authn.Config{Secrets: key, Logger: storetest.Logger()}), Identity: o.Ids,
		Privacy: o.Privacy, Policies: e.pols, Policy: e.engine, Logger: storetest.Logger()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.w.Close)
	// Signing in is recorded: everyone signs in before the tests count
	// entries.
	for who := range o.People {
		e.session(t, who)
	}
	return e
}

func (e *privacyWeb) session(t *testing.T, who string) string {
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
func (e *privacyWeb) do(t *testing.T, who, method, path string, form url.Values) *httptest.ResponseRecorder {
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

func (e *privacyWeb) get(t *testing.T, who, path string, want int) string {
	t.Helper()
	rec := e.do(t, who, "GET", path, nil)
	if rec.Code != want {
		t.Fatalf("GET %s as %s: status %d, want %d:\n%s", path, who, rec.Code, want, rec.Body)
	}
	return rec.Body.String()
}

// post sends a form with who's token: the one the page at from gives
// them, or for a page that offers them no form, their session's, as the
// pages compute it.
func (e *privacyWeb) post(t *testing.T, who, from, path string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	token := ""
	if m := tokenR.FindStringSubmatch(e.get(t, who, from, http.StatusOK)); m != nil {
		token = m[1]
	} else {
		sum := sha256.Sum256([]byte("probity form token\x00" + e.session(t, who)))
		token = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	form.Set("csrf", token)
	return e.do(t, who, "POST", path, form)
}

func (e *privacyWeb) size(t *testing.T) int64 {
	t.Helper()
	return storetest.SettledSize(t, e.DB, e.Ledger)
}

// pageCases are the privacy officer's pages, as paths.
func (e *privacyWeb) pagePaths(t *testing.T) []string {
	t.Helper()
	vs, err := e.pols.Versions(context.Background(), e.As["dpo"], policy.Department)
	if err != nil || len(vs) == 0 {
		t.Fatalf("department versions: %v, %v", vs, err)
	}
	return []string{"/sources", fmt.Sprintf("/sources/%d", e.closed.ID), "/pias", fmt.Sprintf("/pias/%d", e.pia.ID),
		fmt.Sprintf("/pias/%d/diff?from=1&to=2", e.pia.ID), fmt.Sprintf("/pias/%d/diff?from=1&to=2&view=unified", e.pia.ID),
		"/rules", "/policies", fmt.Sprintf("/policies/%d", vs[0].ID), "/policies/new?scope=CBP"}
}

func TestWeb_PrivacyPages(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testWebPrivacyPages(t, d) })
	}
}

func testWebPrivacyPages(t *testing.T, d store.Dialect) {
	e := mustPrivacyWeb(t, d)
	ctx := context.Background()
	paths := e.pagePaths(t)
	pia := fmt.Sprintf("/pias/%d", e.pia.ID)

	t.Run("OKRenders", func(t *testing.T) {
		for _, who := range []string{"cbp-cpo", "dpo"} {
			for _, path := range paths {
				body := e.get(t, who, path, http.StatusOK)
				if !strings.Contains(body, `<nav aria-label="Work">`) || !strings.Contains(body, `<a href="/policies">Policies</a>`) || !strings.Contains(body, `<a href="/sources">Data sources</a>`) {
					t.Errorf("%s as %s: the header does not link the privacy officer's pages", path, who)
				}
			}
		}
		// The auditor and the security officer read; the supervisor too.
		for _, who := range []string{"auditor", "cbp-isso", "cbp-head"} {
			e.get(t, who, "/sources", http.StatusOK)
			e.get(t, who, pia, http.StatusOK)
		}
	})

	t.Run("OKGate", func(t *testing.T) {
		body := e.get(t, "cbp-cpo", "/sources", http.StatusOK)
		open := row(t, body, fmt.Sprintf("/sources/%d", e.open.ID))
		if !strings.Contains(open, `data-gate="usable">usable<`) || strings.Contains(open, "data-missing") {
			t.Errorf("the open source's row does not say usable in words:\n%s", open)
		}
		closed := row(t, body, fmt.Sprintf("/sources/%d", e.closed.ID))
		for _, code := range []string{privacy.PIAMissing, privacy.RulesUnpublished, privacy.CredentialMissing} {
			if !strings.Contains(closed, `data-missing="`+code+`"`) {
				t.Errorf("the closed source's row does not list %s:\n%s", code, closed)
			}
		}
		if !strings.Contains(closed, ">not usable<") || !strings.Contains(closed, "PIA and SORN required") {
			t.Errorf("the closed source's row does not say it is not usable, or its PTA's outcome:\n%s", closed)
		}
		draft := row(t, body, fmt.Sprintf("/sources/%d", e.draft.ID))
		if !strings.Contains(draft, `data-missing="`+privacy.PIANotApproved+`"`) || !strings.Contains(draft, `href="`+pia+`"`) {
			t.Errorf("the draft source's row does not link its unapproved PIA:\n%s", draft)
		}
		g, err := e.Privacy.GateStatus(ctx, e.As["cbp-cpo"], e.closed.ID)
		if err != nil {
			t.Fatal(err)
		}
		page := e.get(t, "cbp-cpo", fmt.Sprintf("/sources/%d", e.closed.ID), http.StatusOK)
		for _, m := range g.Missing {
			if !strings.Contains(page, html.EscapeString(m.Message)) || !strings.Contains(page, html.EscapeString(m.Fix)) {
				t.Errorf("the source's page lacks what is missing and how it is fixed: %q / %q", m.Message, m.Fix)
			}
		}
		if !strings.Contains(page, "Test cbp-isso (cbp-isso, Security officer (ISSO))") || !strings.Contains(page, `href="/rules?key=source:closed-src#publish"`) {
			t.Error("the source's page does not name who can fix it, or link the rules to publish")
		}
		if !strings.Contains(page, `<h3 id="pta-`) {
			t.Error("the source's page does not show its PTA")
		}
	})

	t.Run("OKDocumentAndDiff", func(t *testing.T) {
		body := e.get(t, "cbp-cpo", pia, http.StatusOK)
		if !strings.Contains(body, "Pings are kept 90 days") || !strings.Contains(body, "draft: being written") {
			t.Error("the PIA's page does not show its latest version and its status in words")
		}
		if v1 := e.get(t, "cbp-cpo", pia+"?version=1", http.StatusOK); strings.Contains(v1, "Pings are kept 90 days") {
			t.Error("version 1 shows version 2's text")
		}
		e.get(t, "cbp-cpo", pia+"?version=3", http.StatusNotFound)
		side := e.get(t, "cbp-cpo", pia+"/diff?from=1&to=2", http.StatusOK)
		if !strings.Contains(side, "<h2 id=\"field-0\">Retention") || !strings.Contains(side, `<ins><span class="visually-hidden">added: </span>Pings are kept 90 days`) ||
			!strings.Contains(side, `<del><span class="visually-hidden">removed: </span>The retention section`) {
			t.Errorf("the side-by-side diff does not show the retention change in words:\n%s", side)
		}
		unified := e.get(t, "cbp-cpo", pia+"/diff?from=1&to=2&view=unified", http.StatusOK)
		if !strings.Contains(unified, `<tr class="added">`) || !strings.Contains(unified, `<span class="visually-hidden">added</span>`) || strings.Contains(unified, `class="diff side"`) {
			t.Error("the unified diff does not mark its lines in words")
		}
		if same := e.get(t, "cbp-cpo", pia+"/diff?from=2&to=2", http.StatusOK); !strings.Contains(same, "The two versions are the same.") {
			t.Error("a version against itself does not say they are the same")
		}
		e.get(t, "cbp-cpo", pia+"/diff?from=0&to=2", http.StatusBadRequest)
		e.get(t, "cbp-cpo", pia+"/diff?view=sideways", http.StatusBadRequest)
	})

	t.Run("ErrAnalyst", func(t *testing.T) {
		for _, path := range paths {
			if body := e.get(t, "cbp-analyst", path, http.StatusForbidden); strings.Contains(body, "closed-src") || strings.Contains(body, "Pings are kept") {
				t.Errorf("%s shows an analyst what it refuses", path)
			}
			rec := e.do(t, "", "GET", path, nil)
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
				t.Errorf("%s without signing in: status %d, Location %q; want the sign-in page", path, rec.Code, rec.Header().Get("Location"))
			}
		}
		if body := e.get(t, "cbp-analyst", "/account", http.StatusOK); strings.Contains(body, `href="/sources"`) || strings.Contains(body, `href="/policies"`) || strings.Contains(body, `href="/rules"`) {
			t.Error("an analyst's header links the privacy officer's pages")
		}
	})

	t.Run("ErrOtherComponent", func(t *testing.T) {
		for _, path := range []string{fmt.Sprintf("/sources/%d", e.closed.ID), pia, pia + "/diff"} {
			if body := e.get(t, "ice-cpo", path, http.StatusNotFound); strings.Contains(body, "closed-src") || strings.Contains(body, "draft-src") {
				t.Errorf("%s shows ICE's privacy officer a CBP source", path)
			}
		}
		if body := e.get(t, "ice-cpo", "/sources", http.StatusOK); strings.Contains(body, "closed-src") {
			t.Error("ICE's privacy officer sees CBP's sources")
		}
	})

	t.Run("OKWorkflowStep", func(t *testing.T) {
		body := e.get(t, "cbp-isso", pia, http.StatusOK)
		if !strings.Contains(body, `action="`+pia+`/submit"`) || strings.Contains(body, `action="`+pia+`/review"`) {
			t.Fatal("the author is not offered submit only")
		}
		before, submitted := e.size(t), len(e.Entries(t, "pia.submitted"))
		rec := e.post(t, "cbp-isso", pia, pia+"/submit", url.Values{"comments": {"Ready for review."}})
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != pia+"?done=submit" {
			t.Fatalf("submit: status %d, Location %q:\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
		}
		es := e.Entries(t, "pia.submitted")
		if e.size(t) != before+1 || len(es) != submitted+1 {
			t.Fatalf("the submission is not one ledger entry: the ledger grew by %d", e.size(t)-before)
		}
		if last := es[len(es)-1]; last.Subject != fmt.Sprintf("pia/%d", e.pia.ID) || last.Actor.ID != "cbp-isso" || last.Digest != ledger.PayloadDigest([]byte("Ready for review.")) {
			t.Errorf("the submission's ledger entry: %+v", last)
		}
		after := e.get(t, "cbp-isso", pia+"?done=submit", http.StatusOK)
		if !strings.Contains(after, "submitted: awaiting the component privacy officer") || !strings.Contains(after, "recorded in the ledger") {
			t.Error("after submitting, the page does not say so")
		}
		// The reviewer is offered forwarding and returning; the author is
		// not, and is refused if they try, which is recorded too.
		if body := e.get(t, "cbp-cpo", pia, http.StatusOK); !strings.Contains(body, `action="`+pia+`/review"`) || !strings.Contains(body, `action="`+pia+`/return"`) {
			t.Error("the component privacy officer is not offered review and return")
		}
		// cbp-cpo2 is supervised by the author: no step for them.
		if body := e.get(t, "cbp-cpo2", pia, http.StatusOK); strings.Contains(body, `action="`+pia+`/review"`) {
			t.Error("the author's report is offered to review their supervisor's PIA")
		}
		before, refusals := e.size(t), len(e.Entries(t, "pia.step_refused"))
		rec = e.post(t, "cbp-isso", pia, pia+"/review", url.Values{})
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "only a component privacy officer of the component may review and forward this PIA") {
			t.Errorf("the author forwarding their own PIA: status %d:\n%s", rec.Code, rec.Body)
		}
		if es := e.Entries(t, "pia.step_refused"); e.size(t) != before+1 || len(es) != refusals+1 || es[len(es)-1].Data["action"] != "review" {
			t.Errorf("the refusal is not recorded: %+v", es)
		}
		// Returning needs comments: refused, shown again, nothing recorded.
		before = e.size(t)
		rec = e.post(t, "cbp-cpo", pia, pia+"/return", url.Values{"comments": {" "}})
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Not done:") || !strings.Contains(rec.Body.String(), `aria-invalid="true"`) {
			t.Errorf("a return without comments: status %d:\n%s", rec.Code, rec.Body)
		}
		if e.size(t) != before {
			t.Error("a refused return changed the ledger")
		}
		rec = e.post(t, "cbp-cpo", pia, pia+"/review", url.Values{"comments": {"Complete and consistent."}})
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("forward: status %d:\n%s", rec.Code, rec.Body)
		}
		if got, _ := e.Privacy.PIA(ctx, e.As["dpo"], e.pia.ID); got.Status != privacy.Accepted {
			t.Errorf("after forwarding the PIA is %s", got.Status)
		}
		if body := e.get(t, "dpo", pia, http.StatusOK); !strings.Contains(body, `action="`+pia+`/approve"`) || !strings.Contains(body, `action="`+pia+`/return"`) {
			t.Error("the department privacy officer is not offered approve and return")
		}
	})

	t.Run("ErrFormToken", func(t *testing.T) {
		before := e.size(t)
		rec := e.do(t, "dpo", "POST", pia+"/approve", url.Values{"csrf": {"forged"}})
		if rec.Code != http.StatusForbidden {
			t.Errorf("a step without the form's token: status %d", rec.Code)
		}
		if e.size(t) != before {
			t.Error("a forged form changed the ledger")
		}
	})
}

func TestWeb_Rules(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testWebRules(t, d) })
	}
}

func testWebRules(t *testing.T, d store.Dialect) {
	e := mustPrivacyWeb(t, d)
	ctx := context.Background()
	key := e.open.RulesKey

	t.Run("OKPublish", func(t *testing.T) {
		body := e.get(t, "cbp-cpo", "/rules?key="+key, http.StatusOK)
		if !strings.Contains(body, "Publish a new version of "+key) || !strings.Contains(body, "Use this source only for open cases you are assigned to.") {
			t.Fatalf("the form is not filled in with the current version:\n%s", body)
		}
		before := e.size(t)
		rec := e.post(t, "cbp-cpo", "/rules", "/rules", url.Values{"key": {key}, "title": {"Rules for open-src, revised"},
			"body": {"Use this source only for open cases you are assigned to, and never for coworkers."}})
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("publish: status %d:\n%s", rec.Code, rec.Body)
		}
		rs, err := e.Ids.CurrentRules(ctx, key)
		if err != nil || len(rs) != 1 || rs[0].Version != 2 || rs[0].Title != "Rules for open-src, revised" {
			t.Fatalf("after publishing: %+v, %v", rs, err)
		}
		if e.size(t) != before+1 || len(e.Entries(t, "rules.published")) != 2 {
			t.Error("the publication is not one ledger entry")
		}
		if body := e.get(t, "cbp-cpo", rec.Header().Get("Location"), http.StatusOK); !strings.Contains(body, "Version 2 of "+key+" is published") {
			t.Error("the page does not say the version is published")
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		before := e.size(t)
		rec := e.post(t, "cbp-cpo", "/rules", "/rules", url.Values{"key": {"Bad Key"}, "title": {"T"}, "body": {"Long enough text for the rules."}})
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Not published: rules key &#34;Bad Key&#34; must be") || !strings.Contains(rec.Body.String(), "Long enough text for the rules.") {
			t.Errorf("an invalid key: status %d:\n%s", rec.Code, rec.Body)
		}
		if e.size(t) != before {
			t.Error("a refused publication changed the ledger")
		}
	})

	t.Run("ErrNotManager", func(t *testing.T) {
		// The auditor and the supervisor read the rules; they publish none.
		for _, who := range []string{"auditor", "cbp-head"} {
			if body := e.get(t, who, "/rules", http.StatusOK); strings.Contains(body, `action="/rules"`) {
				t.Errorf("%s is offered to publish rules", who)
			}
			rec := e.do(t, who, "POST", "/rules", url.Values{"key": {key}, "title": {"T"}, "body": {"Long enough text for the rules."}})
			if rec.Code != http.StatusForbidden {
				t.Errorf("%s publishing: status %d", who, rec.Code)
			}
		}
		e.get(t, "cbp-isso", "/rules", http.StatusForbidden)
	})
}

// The policy pages.

var (
	versionLocR = regexp.MustCompile(`^/policies/(\d+)\?done=proposed$`)
	jobLocR     = regexp.MustCompile(`^/policies/(\d+)/impact\?job=([0-9a-f]+)$`)
)

// cbpNoArea is a CBP set that forbids area searches outright.
var cbpNoArea = policy.DefaultComponentText + `
@id("cbp.no-area-search")
@reason("CBP runs no area searches for now.")
forbid (principal, action == Action::"query.area", resource);
`

// mustRecordDecisions records n area searches by a CBP analyst that the
// sets in force allow, and one by an ICE analyst.
func (e *privacyWeb) mustRecordDecisions(t *testing.T, n int) {
	t.Helper()
	ctx := context.Background()
	err := e.DB.Update(ctx, func(tx *store.Tx) error {
		for i := range n + 1 {
			r := policy.Request{Action: policy.QueryArea,
				Principal: policy.Principal{EmployeeID: "cbp-analyst", Component: "CBP", Roles: []string{"analyst"}, AccountActive: true, TrainingCurrent: true, RulesAcknowledged: true},
				Query: policy.Query{ID: fmt.Sprintf("q-%d", i), Case: policy.Case{Number: "C-1", Component: "CBP", Status: "open", Members: []string{"cbp-analyst"}},
					Source: policy.DataSource{Name: "open-src", Usable: true, Connector: "vendor_api", Categories: []string{"device_location"}}, AreaKM2: 1, WindowHours: 12, Justification: "lead"}}
			if i == n {
				r.Principal.EmployeeID, r.Principal.Component = "ice-analyst", "ICE"
				r.Query.Case = policy.Case{Number: "I-1", Component: "ICE", Status: "open", Members: []string{"ice-analyst"}}
			}
			dec, in := e.engine.DecideRequest(r)
			if !dec.Allowed {
				t.Fatalf("the recorded decision %d is a denial: %v", i, dec.Reasons())
			}
			if _, err := e.pols.RecordDecision(ctx, tx, store.DecisionRecord{PersonID: e.People["cbp-analyst"].ID, Actor: r.Principal.EmployeeID,
				Component: r.Principal.Component, Resource: "query/" + r.Query.ID, Input: in, Decision: dec}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitAnalysis follows an analysis's page until it is done, and returns
// the result page.
func (e *privacyWeb) waitAnalysis(t *testing.T, who, path string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		body := e.get(t, who, path, http.StatusOK)
		if !strings.Contains(body, `data-running="true"`) {
			return body
		}
		if !strings.Contains(body, `<noscript><meta http-equiv="refresh" content="2"></noscript>`) || !strings.Contains(body, "<progress") {
			t.Fatalf("a running analysis's page does not refresh itself or show progress:\n%s", body)
		}
		if time.Now().After(deadline) {
			t.Fatal("the analysis did not finish within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWeb_Policies(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testWebPolicies(t, d) })
	}
}

func testWebPolicies(t *testing.T, d store.Dialect) {
	e := mustPrivacyWeb(t, d)
	ctx := context.Background()
	count := func(t *testing.T) int {
		vs, err := e.pols.Versions(ctx, e.As["dpo"], "")
		if err != nil {
			t.Fatal(err)
		}
		return len(vs)
	}

	t.Run("ErrSyntax", func(t *testing.T) {
		text := "@id(\"cbp.broken\")\n@reason(\"Broken on purpose.\")\nforbid (principal, action == Action::\"query.area\" resource);\n"
		_, cerr := policy.Compile("CBP", text, nil)
		ie, ok := cerr.(*policy.InvalidError)
		if !ok || len(ie.Problems) == 0 || ie.Problems[0].Line != 3 {
			t.Fatalf("the broken text compiles to %v", cerr)
		}
		want := ie.Problems[0]
		before, versions := e.size(t), count(t)
		// Windows line endings, as browsers send a text area's.
		rec := e.post(t, "cbp-cpo", "/policies/new?scope=CBP", "/policies", url.Values{"scope": {"CBP"}, "text": {strings.ReplaceAll(text, "\n", "\r\n")}, "summary": {"Broken"}})
		body := rec.Body.String()
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("a syntax error: status %d:\n%s", rec.Code, body)
		}
		for _, s := range []string{
			fmt.Sprintf(`<a href="#policy-text">Line %d, column %d</a>: %s`, want.Line, want.Column, html.EscapeString(want.Message)),
			"3 │ forbid (principal, action == Action::&#34;query.area&#34; resource);",
			"The text is not valid: nothing was stored", `aria-invalid="true"`, "Broken on purpose.",
		} {
			if !strings.Contains(body, s) {
				t.Errorf("the page lacks %q:\n%s", s, body)
			}
		}
		if e.size(t) != before || count(t) != versions {
			t.Error("a text with a syntax error changed something")
		}
		// From a version's page, the same: the version's page again.
		vs, _ := e.pols.Versions(ctx, e.As["dpo"], policy.DefaultComponent)
		rec = e.post(t, "dpo", fmt.Sprintf("/policies/%d", vs[0].ID), "/policies", url.Values{"scope": {policy.DefaultComponent}, "text": {text}, "summary": {"Broken"},
			"base": {fmt.Sprint(vs[0].ID)}})
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), fmt.Sprintf("Line %d, column %d", want.Line, want.Column)) ||
			!strings.Contains(rec.Body.String(), "Version 1 of the default component set") {
			t.Errorf("a syntax error from a version's page: status %d:\n%s", rec.Code, rec.Body)
		}
		// No summary: refused, and said so.
		rec = e.post(t, "cbp-cpo", "/policies/new?scope=CBP", "/policies", url.Values{"scope": {"CBP"}, "text": {cbpNoArea}, "summary": {""}})
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "give a summary") {
			t.Errorf("no summary: status %d", rec.Code)
		}
		if e.size(t) != before || count(t) != versions {
			t.Error("a refused proposal changed something")
		}
		// ICE's officer proposes nothing for CBP.
		e.get(t, "ice-cpo", "/policies/new?scope=CBP", http.StatusForbidden)
	})

	t.Run("OKProposeAnalyseActivate", func(t *testing.T) {
		e.mustRecordDecisions(t, 4)
		rec := e.post(t, "cbp-cpo", "/policies/new?scope=CBP", "/policies", url.Values{"scope": {"CBP"}, "text": {strings.ReplaceAll(cbpNoArea, "\n", "\r\n")},
			"summary": {"No area searches in CBP for now."}})
		m := versionLocR.FindStringSubmatch(rec.Header().Get("Location"))
		if rec.Code != http.StatusSeeOther || m == nil {
			t.Fatalf("propose: status %d, Location %q:\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
		}
		page := "/policies/" + m[1]
		var id int64
		fmt.Sscan(m[1], &id)
		v, err := e.pols.Version(ctx, e.As["dpo"], id)
		if err != nil || v.Text != cbpNoArea || v.Scope != "CBP" || v.Status != policy.Proposed {
			t.Fatalf("the proposal as stored: %+v, %v", v, err)
		}
		body := e.get(t, "cbp-cpo", page, http.StatusOK)
		if !strings.Contains(body, `action="`+page+`/impact"`) || !strings.Contains(body, "proposed: its impact analysis has not been run") {
			t.Fatal("the proposer is not offered the impact analysis")
		}
		// A supervisor reads, is offered nothing, and is refused (and
		// recorded) if they try.
		if body := e.get(t, "cbp-head", page, http.StatusOK); strings.Contains(body, `method="post"`) && strings.Contains(body, `action="`+page) {
			t.Error("the supervisor is offered a step")
		}
		before := e.size(t)
		if rec := e.post(t, "cbp-head", page, page+"/impact", url.Values{"days": {"30"}}); rec.Code != http.StatusForbidden {
			t.Errorf("the supervisor's analysis: status %d", rec.Code)
		}
		if e.size(t) != before+1 {
			t.Error("the supervisor's refused analysis is not recorded")
		}
		if rec := e.post(t, "cbp-cpo", page, page+"/impact", url.Values{"days": {"0"}}); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Not run: the analysis looks back 1 to 366 days") {
			t.Errorf("0 days: status %d", rec.Code)
		}

		rec = e.post(t, "cbp-cpo", page, page+"/impact", url.Values{"days": {"30"}})
		jm := jobLocR.FindStringSubmatch(rec.Header().Get("Location"))
		if rec.Code != http.StatusSeeOther || jm == nil || jm[1] != m[1] {
			t.Fatalf("run the analysis: status %d, Location %q:\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
		}
		result := e.waitAnalysis(t, "cbp-cpo", rec.Header().Get("Location"))
		for _, s := range []string{`data-count="allow_to_deny">4<`, `data-count="deny_to_allow">0<`, `data-count="changed"><strong>4</strong><`,
			"<th scope=\"row\">Decisions read</th><td>4</td>", "The impact analysis finished in", "allowed, would be denied", "CBP/cbp.no-area-search"} {
			if !strings.Contains(result, s) {
				t.Errorf("the result page lacks %q:\n%s", s, result)
			}
		}
		for i := range 4 {
			if !strings.Contains(result, fmt.Sprintf("<td>query/q-%d</td>", i)) {
				t.Errorf("the result page does not list the decision on query/q-%d", i)
			}
		}
		if strings.Contains(result, "ice-analyst") {
			t.Error("the CBP analysis lists an ICE decision")
		}
		if v, _ = e.pols.Version(ctx, e.As["dpo"], id); v.Status != policy.Validated || v.ImpactSummary == nil || v.ImpactSummary.AllowToDeny != 4 {
			t.Fatalf("after the analysis: %+v", v)
		}
		if len(e.Entries(t, "policy.analysed")) != 1 {
			t.Error("the analysis is not recorded in the ledger")
		}
		if body := e.get(t, "cbp-head", page+"/impact", http.StatusOK); !strings.Contains(body, `data-count="allow_to_deny">4<`) {
			t.Error("the stored result is not shown to a reader")
		}

		// The proposer may not approve; a department privacy officer does,
		// then activates.
		if body := e.get(t, "cbp-cpo", page, http.StatusOK); strings.Contains(body, `action="`+page+`/approve"`) {
			t.Error("the component privacy officer is offered approval")
		}
		before = e.size(t)
		if rec := e.post(t, "cbp-cpo", page, page+"/approve", url.Values{}); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "only a department privacy officer approves") {
			t.Errorf("approval by the component officer: status %d:\n%s", rec.Code, rec.Body)
		}
		if e.size(t) != before+1 {
			t.Error("the refused approval is not recorded")
		}
		if body := e.get(t, "cbp-cpo", page, http.StatusOK); !strings.Contains(body, "Refused steps") {
			t.Error("the version's page does not list the refused step")
		}
		for _, step := range []string{"approve", "activate"} {
			rec := e.post(t, "dpo", page, page+"/"+step, url.Values{})
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != page+"?done="+step {
				t.Fatalf("%s: status %d:\n%s", step, rec.Code, rec.Body)
			}
		}
		if snap := e.engine.Snapshot(); snap.Components["CBP"] == nil || snap.Components["CBP"].ID != id {
			t.Error("the engine does not decide under the activated version")
		}
		if body := e.get(t, "dpo", page+"?done=activate", http.StatusOK); !strings.Contains(body, "active: in force") || !strings.Contains(body, "The version is active") {
			t.Error("the version's page does not say it is active")
		}
		if body := e.get(t, "cbp-cpo", "/policies", http.StatusOK); !strings.Contains(body, fmt.Sprintf(`<a href="/policies/%d">Version 1 of CBP&#39;s own set</a>`, id)) {
			t.Error("the list does not show CBP's set in force")
		}
	})

	t.Run("ErrReject", func(t *testing.T) {
		rec := e.post(t, "cbp-cpo", "/policies/new?scope=CBP", "/policies", url.Values{"scope": {"CBP"}, "text": {cbpNoArea}, "summary": {"Withdrawn soon."}})
		m := versionLocR.FindStringSubmatch(rec.Header().Get("Location"))
		if m == nil {
			t.Fatalf("propose: status %d", rec.Code)
		}
		page := "/policies/" + m[1]
		if rec := e.post(t, "cbp-cpo", page, page+"/reject", url.Values{"reason": {""}}); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Not done: give a reason") {
			t.Errorf("a rejection without reason: status %d", rec.Code)
		}
		if rec := e.post(t, "cbp-cpo", page, page+"/reject", url.Values{"reason": {"Proposed by mistake."}}); rec.Code != http.StatusSeeOther {
			t.Errorf("withdrawal by the proposer: status %d", rec.Code)
		}
		e.get(t, "cbp-cpo", page+"/impact", http.StatusNotFound)
		e.get(t, "cbp-cpo", page+"/impact?job=0123", http.StatusNotFound)
	})
}

// TestWeb_ImpactProgress checks the page of an analysis while it runs:
// it says so in words, shows progress, refreshes itself without
// JavaScript, and offers no step; and once it fails, says why.
func TestWeb_ImpactProgress(t *testing.T) {
	e := mustPrivacyWeb(t, store.SQLite)
	vs, err := e.pols.Versions(context.Background(), e.As["dpo"], policy.Department)
	if err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf("/policies/%d", vs[0].ID)
	job, finish := e.w.FakeAnalysis(vs[0].ID, "dpo")

	t.Run("OKRunning", func(t *testing.T) {
		body := e.get(t, "dpo", page+"/impact?job="+job, http.StatusOK)
		for _, s := range []string{`data-running="true"`, `<noscript><meta http-equiv="refresh" content="2"></noscript>`, `<progress id="impact-progress">`,
			`<label for="impact-progress">`, `role="status">The analysis is running.`, "Running for <span id=\"impact-elapsed\">3s</span>", `impact-progress.`} {
			if !strings.Contains(body, s) {
				t.Errorf("the running analysis's page lacks %q:\n%s", s, body)
			}
		}
		if body := e.get(t, "dpo", page, http.StatusOK); !strings.Contains(body, "An analysis of this version is running") || !strings.Contains(body, "?job="+job) {
			t.Error("the version's page does not link the running analysis")
		}
		// Another job ID, or the job under another version, is not found.
		e.get(t, "dpo", page+"/impact?job=ffff", http.StatusNotFound)
		e.get(t, "dpo", fmt.Sprintf("/policies/%d/impact?job=%s", vs[0].ID+1000, job), http.StatusNotFound)
	})

	t.Run("OKFailed", func(t *testing.T) {
		finish("the active policies changed during the analysis; run it again")
		body := e.get(t, "dpo", page+"/impact?job="+job, http.StatusOK)
		if !strings.Contains(body, `data-running="false"`) || strings.Contains(body, "http-equiv") ||
			!strings.Contains(body, "The impact analysis was not completed: the active policies changed during the analysis") {
			t.Errorf("the failed analysis's page:\n%s", body)
		}
	})
}
