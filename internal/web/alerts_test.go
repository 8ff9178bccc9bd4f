package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

var alertLinkR = regexp.MustCompile(`<a href="/alerts/(\d+)">Alert \d+</a>`)

// alertOrder returns the alert IDs of a list page's rows, in order.
func alertOrder(body string) []int64 {
	var out []int64
	for _, m := range alertLinkR.FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		out = append(out, id)
	}
	return out
}

func TestWeb_Alerts(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testWebAlerts(t, d) })
	}
}

func testWebAlerts(t *testing.T, d store.Dialect) {
	e := mustReviewWeb(t, d)
	ctx := context.Background()
	qid := e.mustQuery(t, "cbp-agent", query.Elevated, false)
	low := e.MustRaise(t, alerts.Alert{Detector: "volume_anomaly", Severity: alerts.Low, Component: "CBP",
		Explanation: "Queries by the component today are above their usual volume."})
	high := e.MustRaise(t, alerts.Alert{Detector: "employee_device", Severity: alerts.High, Component: "CBP", QueryID: qid, PersonID: e.People["cbp-agent"].ID,
		Explanation: "The device searched sleeps in an employee's home: its night-time pings fall mostly in their home cells.",
		Evidence:    []byte(`{"night_pings":42,"home_share":0.93,"device":"p-abcdefghijklmnopqrst","cells":{"home":3,"matched":["89c25a3"]},"remark":"<script>alert(1)</script>"}`)})
	// An alert about a privacy officer, who must never see it.
	aboutCPO := e.MustRaise(t, alerts.Alert{Detector: "off_duty", Severity: alerts.Medium, Component: "CBP", PersonID: e.People["cbp-cpo2"].ID,
		Explanation: "A query was made outside the requester's duty schedule."})
	a := func(id int64) string { return "/alerts/" + strconv.FormatInt(id, 10) }

	t.Run("OKList", func(t *testing.T) {
		body := e.get(t, "cbp-cpo", "/alerts", http.StatusOK)
		if got, want := alertOrder(body), []int64{high, aboutCPO, low}; !slices.Equal(got, want) {
			t.Errorf("alerts %v, want %v: the most severe first", got, want)
		}
		if r := row(t, body, a(high)); !strings.Contains(r, `<strong class="tag tag-urgent">high</strong>`) || !strings.Contains(r, "<td>cbp-agent</td>") {
			t.Errorf("the high alert's row does not say high in words, or whom it is about:\n%s", r)
		}
		if !strings.Contains(body, `<a href="/reviews">Reviews</a>`) || !strings.Contains(body, `<a href="/alerts">Alerts</a>`) {
			t.Error("a privacy officer's header should link the reviews and the alerts")
		}
		if got := alertOrder(e.get(t, "cbp-cpo", "/alerts?severity=high", http.StatusOK)); !slices.Equal(got, []int64{high}) {
			t.Errorf("high alerts %v", got)
		}
		if got := alertOrder(e.get(t, "cbp-cpo", "/alerts?status=triage", http.StatusOK)); len(got) != 0 {
			t.Errorf("alerts in triage %v, want none", got)
		}
		e.get(t, "cbp-cpo", "/alerts?status=open", http.StatusBadRequest)
	})

	t.Run("ErrAboutThemselves", func(t *testing.T) {
		if got := alertOrder(e.get(t, "cbp-cpo2", "/alerts", http.StatusOK)); slices.Contains(got, aboutCPO) || len(got) != 2 {
			t.Errorf("the privacy officer an alert is about sees %v, want the 2 others only", got)
		}
		e.get(t, "cbp-cpo2", a(aboutCPO), http.StatusNotFound)
		form := url.Values{"csrf": {e.sessionToken(t, "cbp-cpo2")}}
		if rec := e.do(t, "cbp-cpo2", "POST", a(aboutCPO)+"/triage", form); rec.Code != http.StatusNotFound {
			t.Errorf("triage of an alert about oneself: status %d, want 404", rec.Code)
		}
		// The requester holds no role that reads alerts.
		for _, path := range []string{"/alerts", a(high)} {
			if body := e.get(t, "cbp-agent", path, http.StatusForbidden); strings.Contains(body, "sleeps in an employee") {
				t.Errorf("%s shows the requester the alert about them", path)
			}
		}
		if body := e.get(t, "cbp-agent", "/account", http.StatusOK); strings.Contains(body, `href="/alerts"`) || strings.Contains(body, `href="/reviews"`) {
			t.Error("an analyst's header links pages their roles cannot use")
		}
	})

	t.Run("ErrNotReferredYet", func(t *testing.T) {
		if got := alertOrder(e.get(t, "cbp-opr", "/alerts", http.StatusOK)); len(got) != 0 {
			t.Errorf("professional responsibility sees %v before any referral", got)
		}
		e.get(t, "cbp-opr", a(high), http.StatusNotFound)
	})

	t.Run("OKPage", func(t *testing.T) {
		body := e.get(t, "cbp-cpo", a(high), http.StatusOK)
		for _, want := range []string{
			`<h1 id="alert-title">Alert ` + strconv.FormatInt(high, 10) + ": employee device</h1>", "sleeps in an employee&#39;s home",
			"<dt>night pings</dt><dd>42</dd>", "<dt>home share</dt><dd>0.93</dd>", "<dt>device</dt><dd>p-abcdefghijklmnopqrst</dd>",
			"<dt>remark</dt><dd>&lt;script&gt;alert(1)&lt;/script&gt;</dd>", "&#34;home&#34;: 3,",
			`action="` + a(high) + `/triage"`, `href="/reviews/` + strconv.FormatInt(qid, 10) + `"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the alert page lacks %q", want)
			}
		}
		if strings.Contains(body, "<script>") {
			t.Error("the evidence is not escaped")
		}
		for _, act := range []string{"refer", "dismiss", "resolve"} {
			if strings.Contains(body, `action="`+a(high)+`/`+act+`"`) {
				t.Errorf("a new alert offers %s", act)
			}
		}
		if body := e.get(t, "auditor", a(high), http.StatusOK); strings.Contains(body, `method="post" action="/alerts/`) {
			t.Error("the auditor is offered a step")
		}
	})

	t.Run("OKTriageRefer", func(t *testing.T) {
		rec := e.do(t, "cbp-cpo", "POST", a(high)+"/triage", url.Values{"csrf": {e.pageToken(t, "cbp-cpo", a(high))}})
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != a(high)+"?done=triage" {
			t.Fatalf("triage: status %d to %q:\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
		}
		body := e.get(t, "cbp-cpo", rec.Header().Get("Location"), http.StatusOK)
		if !strings.Contains(body, "You took the alert into triage") || !strings.Contains(body, "<strong>in triage</strong>") {
			t.Errorf("after triage:\n%s", body)
		}
		for act, want := range map[string]bool{"triage": false, "refer": true, "dismiss": true, "resolve": true} {
			if got := strings.Contains(body, `action="`+a(high)+`/`+act+`"`); got != want {
				t.Errorf("in triage, %s offered: %v, want %v", act, got, want)
			}
		}
		if !strings.Contains(body, `<label for="note-refer">Why it goes to professional responsibility</label>`) {
			t.Error("the referral's note has no label")
		}

		// A referral without a reason is refused, the note kept.
		rec = e.do(t, "cbp-cpo", "POST", a(high)+"/refer", url.Values{"csrf": {e.pageToken(t, "cbp-cpo", a(high))}, "note": {"see OPR"}})
		body = rec.Body.String()
		if rec.Code != http.StatusBadRequest || !strings.Contains(body, "note: say why the alert goes to professional responsibility") || !strings.Contains(body, ">see OPR</textarea>") {
			t.Fatalf("a referral without a reason: status %d:\n%s", rec.Code, body)
		}
		if al, err := e.Alerts.Get(ctx, e.As["cbp-cpo"], high); err != nil || al.Status != alerts.Triage {
			t.Fatalf("after a refused referral the alert is %v, %v", al.Status, err)
		}

		const note = "The analyst searched a coworker's home at night; OPR should interview him."
		rec = e.do(t, "cbp-cpo", "POST", a(high)+"/refer", url.Values{"csrf": {e.pageToken(t, "cbp-cpo", a(high))}, "note": {note}})
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != a(high)+"?done=refer" {
			t.Fatalf("refer: status %d to %q:\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
		}
		body = e.get(t, "cbp-cpo", rec.Header().Get("Location"), http.StatusOK)
		if !strings.Contains(body, "referred to professional responsibility, which is told") || !strings.Contains(body, "in triage → referred to professional responsibility") ||
			!strings.Contains(body, strings.ReplaceAll(note, "'", "&#39;")) || strings.Contains(body, `method="post" action="/alerts/`) {
			t.Errorf("after the referral the privacy officer's page:\n%s", body)
		}
		var steps []ledger.Entry
		for _, en := range e.Entries(t, "alert.triaged", "alert.referred") {
			if en.Subject == "alert/"+strconv.FormatInt(high, 10) {
				steps = append(steps, en)
			}
		}
		if len(steps) != 2 || steps[0].Type != "alert.triaged" || steps[1].Type != "alert.referred" || steps[1].Actor.ID != "cbp-cpo" ||
			steps[1].Digest != ledger.PayloadDigest([]byte(note)) {
			t.Errorf("ledger entries %+v, want alert.triaged then alert.referred committing to the note", steps)
		}

		// Professional responsibility now sees it, and may resolve it.
		if got := alertOrder(e.get(t, "cbp-opr", "/alerts", http.StatusOK)); !slices.Equal(got, []int64{high}) {
			t.Errorf("professional responsibility sees %v after the referral", got)
		}
		body = e.get(t, "cbp-opr", a(high), http.StatusOK)
		for act, want := range map[string]bool{"triage": false, "refer": false, "dismiss": false, "resolve": true} {
			if got := strings.Contains(body, `action="`+a(high)+`/`+act+`"`); got != want {
				t.Errorf("referred, %s offered to OPR: %v, want %v", act, got, want)
			}
		}
		if strings.Contains(body, `href="/reviews/`) || !strings.Contains(body, `<a href="/alerts">Alerts</a>`) || strings.Contains(body, `<a href="/reviews">`) {
			t.Error("OPR intake's page should link the alerts only, not the reviews it may not see")
		}
	})
}
