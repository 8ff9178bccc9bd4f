package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/access"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/review"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
	"github.com/probity-dev/probity/internal/web"
)

// reviewWeb is the pages over a [storetest.ReviewOrg] on its test clock,
// which starts on a Wednesday at 11:00, New York time (everyone's time
// zone). cbp-agent's supervisor chain is cbp-lead, then cbp-chief.
type reviewWeb struct {
	*storetest.ReviewOrg
	w       *web.Web
	cookies map[string]string // session secrets by label
}

func mustReviewWeb(t *testing.T, d store.Dialect) *reviewWeb {
	t.Helper()
	o := storetest.MustReviewOrg(t, d)
	now := o.Clock.Now().In(o.Zone)
	target := time.Date(now.Year(), now.Month(), now.Day(), 11, 0, 0, 0, o.Zone)
	for target.Before(now) || target.Weekday() != time.Wednesday {
		target = target.AddDate(0, 0, 1)
	}
	o.Clock.Advance(target.Sub(now))
	key, err := sealed.ParseKey(sealed.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	queries := access.New(access.Deps{DB: o.DB, Ledger: o.Ledger, Identity: o.Ids, Privacy: o.Privacy, Cases: o.DB.Cases(), Queries: o.DB.Queries(), Logger: storetest.Logger()})
	e := &reviewWeb{ReviewOrg: o, cookies: map[string]string{}}
	if e.w, err = web.New(web.Deps{Authn: authn.New(o.Ids, authn.Config{Secrets: key, Logger: storetest.Logger()}), Identity: o.Ids, Queries: queries,
		Reviews: o.Reviews, Alerts: o.Alerts, Clock: o.DB.Now, Logger: storetest.Logger()}); err != nil {
		t.Fatal(err)
	}
	return e
}

// advance moves the clock on; people sign in again afterwards.
func (e *reviewWeb) advance(d time.Duration) {
	e.Clock.Advance(d)
	clear(e.cookies)
}

// session returns who's session secret, signing them in when need be.
func (e *reviewWeb) session(t *testing.T, who string) string {
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
func (e *reviewWeb) do(t *testing.T, who, method, path string, form url.Values) *httptest.ResponseRecorder {
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
func (e *reviewWeb) get(t *testing.T, who, path string, want int) string {
	t.Helper()
	rec := e.do(t, who, "GET", path, nil)
	if rec.Code != want {
		t.Fatalf("GET %s as %s: status %d, want %d:\n%s", path, who, rec.Code, want, rec.Body)
	}
	return rec.Body.String()
}

// pageToken returns the form token the page at path gives who.
func (e *reviewWeb) pageToken(t *testing.T, who, path string) string {
	t.Helper()
	m := tokenR.FindStringSubmatch(e.get(t, who, path, http.StatusOK))
	if m == nil {
		t.Fatalf("GET %s as %s: no form token", path, who)
	}
	return m[1]
}

// sessionToken is the form token of who's session, for someone shown no
// form: a digest of the session's secret, as the pages compute it.
func (e *reviewWeb) sessionToken(t *testing.T, who string) string {
	t.Helper()
	sum := sha256.Sum256([]byte("probity form token\x00" + e.session(t, who)))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// mustQuery stores an executed area search by who, around 38.9, -77.03,
// with its risk as the query path records it, and opens its review.
func (e *reviewWeb) mustQuery(t *testing.T, who string, tier query.Tier, breakGlass bool, flags ...string) int64 {
	t.Helper()
	ctx := context.Background()
	p := e.People[who]
	now := e.DB.Now().UTC().Truncate(time.Second)
	req := fmt.Sprintf(`{"kind":"area","case":"CBP-2026-7","source":"port-pings","justification":"Containers moved at night near the port, query by %s.",`+
		`"circle":{"lat":38.9,"lon":-77.03,"radius_m":250},"from":%q,"to":%q}`, who, now.Add(-6*time.Hour).Format(time.RFC3339), now.Add(-time.Hour).Format(time.RFC3339))
	if breakGlass {
		req = strings.Replace(req, `{"kind"`, `{"break_glass":"A child is missing near the port.","kind"`, 1)
	}
	risk := fmt.Sprintf(`{"kind":"area","area_km2":0.2,"window_hours":5,"expected_devices":12,"flags":[%s],"tier":%q,"why":["the area touches an employee's home"]}`,
		strings.Join(quoted(flags), ","), tier)
	rec := store.QueryRecord{PersonID: p.ID, EmployeeID: p.EmployeeID, Component: p.Component, CaseNumber: "CBP-2026-7", SourceName: "port-pings", Kind: query.Area,
		Status: query.Completed, Tier: tier, Request: []byte(req), RequestDigest: ledger.PayloadDigest([]byte(req)), Risk: []byte(risk), BreakGlass: breakGlass,
		ResultCount: 3, ResultDigest: ledger.PayloadDigest([]byte("result"))}
	if err := e.DB.Update(ctx, func(tx *store.Tx) error { return e.DB.Queries().Insert(ctx, tx, &rec) }); err != nil {
		t.Fatalf("store a query: %v", err)
	}
	if n, err := e.Reviews.OpenMissing(ctx); err != nil || n != 1 {
		t.Fatalf("OpenMissing = %d, %v; want the query's review opened", n, err)
	}
	return rec.ID
}

func quoted(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, strconv.Quote(s))
	}
	return out
}

var reviewLinkR = regexp.MustCompile(`<a href="/reviews/(\d+)">Query \d+</a>`)

// queueOrder returns the query IDs of a queue page's rows, in order.
func queueOrder(body string) []int64 {
	var out []int64
	for _, m := range reviewLinkR.FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		out = append(out, id)
	}
	return out
}

// row returns the table row of a page that links to href.
func row(t *testing.T, body, href string) string {
	t.Helper()
	for _, r := range strings.Split(body, "<tr")[1:] {
		r, _, _ = strings.Cut(r, "</tr>")
		if strings.Contains(r, `href="`+href+`"`) {
			return r
		}
	}
	t.Fatalf("no row links to %s:\n%s", href, body)
	return ""
}

func (e *reviewWeb) review(t *testing.T, id int64) store.Review {
	t.Helper()
	r, err := e.Reviews.Get(context.Background(), e.As["cbp-lead"], id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestWeb_Reviews(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testWebReviews(t, d) })
	}
}

func testWebReviews(t *testing.T, d store.Dialect) {
	e := mustReviewWeb(t, d)
	// Wednesday 11:00: three queries, due a week later.
	routine := e.mustQuery(t, "cbp-agent", query.Routine, false)
	elevated := e.mustQuery(t, "cbp-agent", query.Elevated, false, query.FlagEmployeeHome, query.FlagOffHours)
	critical := e.mustQuery(t, "cbp-agent", query.Critical, false)
	// Friday 11:00: a break-glass one, due within 24 hours.
	e.advance(48 * time.Hour)
	glass := e.mustQuery(t, "cbp-agent", query.Routine, true)
	// Saturday 14:00: the break-glass review is 3 hours overdue.
	e.advance(27 * time.Hour)
	q := func(id int64) string { return "/reviews/" + strconv.FormatInt(id, 10) }

	t.Run("OKQueue", func(t *testing.T) {
		body := e.get(t, "cbp-lead", "/reviews", http.StatusOK)
		// Riskiest first, then the soonest due: the break-glass query ran
		// last but is due first.
		if got, want := queueOrder(body), []int64{critical, elevated, glass, routine}; !slices.Equal(got, want) {
			t.Fatalf("queue order %v, want %v (critical, elevated, then the routine ones by due date)", got, want)
		}
		g := row(t, body, q(glass))
		if !strings.Contains(g, `<strong class="late">overdue by 3 h</strong>`) || !strings.Contains(g, ">Break-glass</strong>") {
			t.Errorf("the break-glass row does not say it is overdue by 3 h and break-glass, in words:\n%s", g)
		}
		r := row(t, body, q(routine))
		// Due the next Wednesday at 11:00 New York time, shown in the
		// reader's zone; Monday to Wednesday are left.
		if !strings.Contains(r, "due in 3 business days") || !regexp.MustCompile(`>Wed \d+ \w+ \d{4} 11:00 E[SD]T</time>`).MatchString(r) {
			t.Errorf("the routine row's countdown is not 3 business days to Wednesday 11:00 Eastern:\n%s", r)
		}
		// Only the routine, not break-glass, query may be ticked for a
		// bulk decision.
		for id, want := range map[int64]bool{routine: true, glass: false, elevated: false, critical: false} {
			if got := strings.Contains(body, `name="id" value="`+strconv.FormatInt(id, 10)+`"`); got != want {
				t.Errorf("query %d offered for a bulk decision: %v, want %v", id, got, want)
			}
		}
		if !strings.Contains(body, `<a href="/reviews">Reviews</a>`) || strings.Contains(body, `href="/alerts"`) {
			t.Error("a supervisor's header should link the reviews and not the alerts")
		}
	})

	t.Run("OKFilters", func(t *testing.T) {
		if got := queueOrder(e.get(t, "cbp-lead", "/reviews?show=all&status=decided", http.StatusOK)); len(got) != 0 {
			t.Errorf("decided reviews: %v, want none yet", got)
		}
		// The privacy officer decides only reviews without a supervisor:
		// none waits for them, but they see all of their component's.
		if got := queueOrder(e.get(t, "cbp-cpo", "/reviews", http.StatusOK)); len(got) != 0 {
			t.Errorf("waiting for the privacy officer: %v, want none", got)
		}
		if got := queueOrder(e.get(t, "cbp-cpo", "/reviews?show=all", http.StatusOK)); len(got) != 4 {
			t.Errorf("all the privacy officer may see: %v, want the 4 reviews", got)
		}
		if body := e.get(t, "auditor", "/reviews", http.StatusOK); len(queueOrder(body)) != 4 || strings.Contains(body, `name="id"`) || strings.Contains(body, `value="mine"`) {
			t.Errorf("the auditor should see the 4 reviews and decide none:\n%s", body)
		}
		if body := e.get(t, "cbp-lead", "/reviews?status=bogus", http.StatusBadRequest); !strings.Contains(body, `status &#34;bogus&#34; is not a review status`) {
			t.Errorf("a bad filter:\n%s", body)
		}
	})

	t.Run("ErrNotPermitted", func(t *testing.T) {
		if body := e.get(t, "cbp-analyst", "/reviews", http.StatusForbidden); !strings.Contains(body, "your role does not allow this page") {
			t.Errorf("an analyst's queue:\n%s", body)
		}
		if got := queueOrder(e.get(t, "cbp-sublead", "/reviews", http.StatusOK)); len(got) != 0 {
			t.Errorf("a supervisor not above the requester sees %v", got)
		}
		e.get(t, "cbp-sublead", q(elevated), http.StatusNotFound)
		before := len(e.Entries(t, "review.decided"))
		form := url.Values{"csrf": {e.sessionToken(t, "cbp-sublead")}, "decision": {"appropriate"}}
		if rec := e.do(t, "cbp-sublead", "POST", q(elevated)+"/decide", form); rec.Code != http.StatusNotFound {
			t.Errorf("a supervisor not above the requester deciding: status %d, want 404", rec.Code)
		}
		// The requester sees their own review, and no decision form.
		body := e.get(t, "cbp-agent", q(elevated), http.StatusOK)
		if strings.Contains(body, `action="`+q(elevated)+`/decide"`) || !strings.Contains(body, "This is the review of your own query") {
			t.Errorf("the requester's view of their review:\n%s", body)
		}
		form.Set("csrf", e.sessionToken(t, "cbp-agent"))
		if rec := e.do(t, "cbp-agent", "POST", q(elevated)+"/decide", form); rec.Code != http.StatusForbidden {
			t.Errorf("the requester deciding: status %d, want 403", rec.Code)
		}
		// A post without the session's token is refused before anything.
		if rec := e.do(t, "cbp-lead", "POST", q(elevated)+"/decide", url.Values{"decision": {"appropriate"}}); rec.Code != http.StatusForbidden {
			t.Errorf("a decision without the form token: status %d, want 403", rec.Code)
		}
		if n := len(e.Entries(t, "review.decided")); n != before {
			t.Errorf("%d decisions recorded by refused requests", n-before)
		}
	})

	t.Run("OKReviewPage", func(t *testing.T) {
		body := e.get(t, "cbp-lead", q(elevated), http.StatusOK)
		for _, want := range []string{
			"<td>cbp-agent (CBP)</td>", "<td>CBP-2026-7</td>", "<td>area search</td>", "circle of 250 m around 38.9, -77.03",
			"Containers moved at night near the port, query by cbp-agent.", "<td>elevated</td>", "<li>the area touches an employee&#39;s home</li>",
			"<li>the query was made outside the requester&#39;s duty schedule</li>", "area 0.20 km², window 5 h, about 12 devices expected",
			"due in 3 business days", `<label for="decision-needs_explanation">Needs explanation</label>`, `<label for="note">Note</label>`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the review page lacks %q", want)
			}
		}
		if body := e.get(t, "cbp-lead", q(glass), http.StatusOK); !strings.Contains(body, "because: “A child is missing near the port.”") {
			t.Errorf("the break-glass review does not give its reason:\n%s", body)
		}
		e.get(t, "cbp-lead", "/reviews/x", http.StatusNotFound)
	})

	t.Run("ErrDecisionWithoutNote", func(t *testing.T) {
		before := len(e.Entries(t, "review.decided"))
		rec := e.do(t, "cbp-lead", "POST", q(elevated)+"/decide", url.Values{"csrf": {e.pageToken(t, "cbp-lead", q(elevated))}, "decision": {"needs_explanation"}, "note": {"why"}})
		body := rec.Body.String()
		if rec.Code != http.StatusBadRequest || !strings.Contains(body, `<a href="#note">note: say why the query needs an explanation, in at least 10 characters</a>`) {
			t.Fatalf("status %d, want 400 with the note's problem linked to it:\n%s", rec.Code, body)
		}
		if !strings.Contains(body, `value="needs_explanation" aria-describedby="decision-needs_explanation-hint" checked`) || !strings.Contains(body, ">why</textarea>") ||
			!regexp.MustCompile(`<textarea id="note"[^>]*aria-invalid="true"`).MatchString(body) {
			t.Errorf("the form lost what was typed or does not mark the note:\n%s", body)
		}
		if n := len(e.Entries(t, "review.decided")); n != before {
			t.Error("a refused decision was recorded")
		}
	})

	t.Run("OKDecide", func(t *testing.T) {
		const note = "Why this area, at night, twice?"
		rec := e.do(t, "cbp-lead", "POST", q(elevated)+"/decide", url.Values{"csrf": {e.pageToken(t, "cbp-lead", q(elevated))}, "decision": {"needs_explanation"}, "note": {note}})
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != q(elevated)+"?done=decided" {
			t.Fatalf("decide: status %d to %q:\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
		}
		body := e.get(t, "cbp-lead", rec.Header().Get("Location"), http.StatusOK)
		if !strings.Contains(body, "Your decision is recorded in the ledger.") || !strings.Contains(body, "<strong>Decided</strong>: needs explanation") ||
			!strings.Contains(body, note) || strings.Contains(body, `action="`+q(elevated)+`/decide"`) {
			t.Errorf("the decided review's page:\n%s", body)
		}
		if r := e.review(t, elevated); r.Status != review.Decided || r.Decision != review.NeedsExplanation || r.Note != note || r.DecidedBy != "cbp-lead" {
			t.Errorf("stored review %+v", r)
		}
		var decided []ledger.Entry
		for _, en := range e.Entries(t, "review.decided") {
			if en.Subject == "query/"+strconv.FormatInt(elevated, 10) {
				decided = append(decided, en)
			}
		}
		if len(decided) != 1 || decided[0].Actor.ID != "cbp-lead" || decided[0].Data["decision"] != "needs_explanation" {
			t.Errorf("review.decided entries %+v, want one by cbp-lead", decided)
		}
		// Deciding again is refused on the page, with who decided.
		rec = e.do(t, "cbp-lead", "POST", q(elevated)+"/decide", url.Values{"csrf": {e.sessionToken(t, "cbp-lead")}, "decision": {"appropriate"}})
		if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "was already reviewed by cbp-lead") {
			t.Errorf("deciding twice: status %d:\n%s", rec.Code, rec.Body)
		}
		// The requester sees the decision on their review.
		if body := e.get(t, "cbp-agent", q(elevated), http.StatusOK); !strings.Contains(body, note) {
			t.Error("the requester does not see the reviewer's note")
		}
	})

	t.Run("ErrBulkNotRoutine", func(t *testing.T) {
		before := len(e.Entries(t, "review.decided"))
		for _, c := range []struct {
			name string
			ids  []int64
			msg  string
		}{
			{"Critical", []int64{routine, critical}, fmt.Sprintf("query %d is of the critical tier; only routine queries are reviewed in bulk", critical)},
			{"BreakGlass", []int64{glass}, fmt.Sprintf("query %d ran under break-glass; review it on its own", glass)},
			{"None", nil, "choose the reviews to mark appropriate"},
		} {
			t.Run(c.name, func(t *testing.T) {
				form := url.Values{"csrf": {e.pageToken(t, "cbp-lead", "/reviews")}, "show": {"mine"}, "status": {"pending"}}
				for _, id := range c.ids {
					form.Add("id", strconv.FormatInt(id, 10))
				}
				rec := e.do(t, "cbp-lead", "POST", "/reviews", form)
				body := rec.Body.String()
				if rec.Code != http.StatusBadRequest || !strings.Contains(body, "Nothing was marked") || !strings.Contains(body, c.msg) {
					t.Fatalf("status %d, want 400 saying %q:\n%s", rec.Code, c.msg, body)
				}
				if len(c.ids) > 1 && !strings.Contains(body, `value="`+strconv.FormatInt(routine, 10)+`" id="select-`+strconv.FormatInt(routine, 10)+`" checked`) {
					t.Error("the selection was lost")
				}
			})
		}
		if r := e.review(t, routine); r.Status != review.Pending {
			t.Errorf("a refused bulk decision decided query %d", routine)
		}
		if n := len(e.Entries(t, "review.decided")); n != before {
			t.Error("a refused bulk decision was recorded")
		}
	})

	t.Run("OKBulk", func(t *testing.T) {
		rec := e.do(t, "cbp-lead", "POST", "/reviews", url.Values{"csrf": {e.pageToken(t, "cbp-lead", "/reviews")}, "id": {strconv.FormatInt(routine, 10)}, "show": {"mine"}})
		loc := rec.Header().Get("Location")
		if rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/reviews?") {
			t.Fatalf("bulk: status %d to %q:\n%s", rec.Code, loc, rec.Body)
		}
		body := e.get(t, "cbp-lead", loc, http.StatusOK)
		if !strings.Contains(body, "Marked appropriate: 1 review.") || slices.Contains(queueOrder(body), routine) {
			t.Errorf("after the bulk decision the queue:\n%s", body)
		}
		if r := e.review(t, routine); r.Status != review.Decided || r.Decision != review.Appropriate || !r.Bulk {
			t.Errorf("stored review %+v, want decided appropriate in bulk", r)
		}
	})
}
