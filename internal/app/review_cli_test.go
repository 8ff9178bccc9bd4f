package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/app"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
)

// cliSignIn signs a person in with probity login and returns the
// environment of their commands.
func cliSignIn(t *testing.T, ts *testServer, dir string, p auth.Principal, secret string) map[string]string {
	t.Helper()
	env := map[string]string{"PROBITY_CREDENTIALS": filepath.Join(dir, p.ID+".json"), "PROBITY_URL": ts.URL}
	code, _ := authn.TOTPCode(secret, time.Now())
	var out, errb bytes.Buffer
	stdin := strings.NewReader(p.ID + "\ntulip orbit granite seven\n" + code + "\n")
	if n := app.MainIO(context.Background(), []string{"login", "-url", ts.URL, "-days", "1"}, func(k string) string { return env[k] }, stdin, &out, &errb); n != 0 {
		t.Fatalf("login %s: exit %d: %s%s", p.ID, n, out.String(), errb.String())
	}
	return env
}

// storeQuery stores an executed query of p as the query path would have.
func storeQuery(t *testing.T, ts *testServer, p identity.Person, tier query.Tier) int64 {
	t.Helper()
	ctx := context.Background()
	req := []byte(fmt.Sprintf(`{"kind":"area","case":"CBP-2026-0142","justification":"stored by the CLI tests %d"}`, time.Now().UnixNano()))
	q := store.QueryRecord{PersonID: p.ID, EmployeeID: p.EmployeeID, Component: p.Component, CaseNumber: "CBP-2026-0142", SourceName: "port-pings",
		Kind: query.Area, Status: query.Completed, Tier: tier, Request: req, RequestDigest: ledger.PayloadDigest(req), ResultCount: 1, ResultDigest: ledger.PayloadDigest(req)}
	if err := ts.DB.Update(ctx, func(tx *store.Tx) error { return ts.DB.Queries().Insert(ctx, tx, &q) }); err != nil {
		t.Fatal(err)
	}
	return q.ID
}

func TestReviewCLI(t *testing.T) {
	dir := t.TempDir()
	t.Run("ErrFlags", func(t *testing.T) {
		// Nothing listens there and nobody is signed in: every mistake is
		// reported before any server is asked.
		env := map[string]string{"PROBITY_CREDENTIALS": filepath.Join(dir, "nobody.json"), "PROBITY_URL": "http://127.0.0.1:1/"}
		for _, c := range []struct {
			name string
			args []string
			want string
		}{
			{"NoDecision", []string{"review", "decide", "5"}, "give the decision: -decision appropriate, needs_explanation or refer_to_privacy"},
			{"BadDecision", []string{"review", "decide", "5", "-decision", "maybe"}, `-decision: decision "maybe" is not a review decision`},
			{"NoNote", []string{"review", "decide", "5", "--decision", "refer_to_privacy"}, "-note: say why the query goes to the privacy office"},
			{"NoID", []string{"review", "show"}, "give the query's ID: probity review show ID"},
			{"BadID", []string{"review", "decide", "x", "-decision", "appropriate"}, `the query's ID is a positive whole number, not "x"`},
			{"BulkNoIDs", []string{"review", "bulk", "-decision", "appropriate"}, "give the queries whose reviews you decide"},
			{"BulkBadID", []string{"review", "bulk", "-decision", "appropriate", "4", "0"}, `a query's ID is a positive whole number, not "0"`},
			{"QueueStatus", []string{"review", "queue", "-status", "open"}, `-status: "open" is not a review status`},
			{"QueueExtra", []string{"review", "queue", "7"}, `probity review queue takes no arguments, only flags ("7" is extra)`},
			{"AlertNoNote", []string{"alert", "dismiss", "3"}, "-note: say why this is not misuse"},
			{"AlertShortNote", []string{"alert", "refer", "3", "-note", "bad"}, "-note: say why the alert goes to professional responsibility"},
			{"AlertSeverity", []string{"alert", "list", "-severity", "urgent"}, `-severity: severity "urgent" is not a severity`},
			{"AlertStatus", []string{"alert", "list", "-status", "open"}, `-status: status "open" is not an alert status`},
			{"AlertID", []string{"alert", "show", "x"}, `the alert's ID is a positive whole number, not "x"`},
		} {
			t.Run(c.name, func(t *testing.T) {
				out, errOut, code := runCLI(t, env, c.args...)
				if code != 2 || !strings.Contains(errOut, c.want) || out != "" {
					t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 saying %q", code, out, errOut, c.want)
				}
			})
		}
		for _, cmd := range []string{"review", "alert"} {
			if _, errOut, code := runCLI(t, env, cmd, "frob"); code != 2 || !strings.Contains(errOut, `unknown command "frob"`) {
				t.Errorf("%s frob: exit %d: %s", cmd, code, errOut)
			}
			if out, _, code := runCLI(t, env, cmd, "help"); code != 0 || !strings.Contains(out, "Usage: probity "+cmd) {
				t.Errorf("%s help: exit %d: %s", cmd, code, out)
			}
		}
		if _, errOut, code := runCLI(t, env, "review", "queue"); code != 1 || !strings.Contains(errOut, "you are not signed in to http://127.0.0.1:1/") {
			t.Errorf("not signed in: exit %d: %s", code, errOut)
		}
	})

	cfg := testConfig(t, store.SQLite)
	cfg.AdminToken, cfg.AuditorToken = "", ""
	ts := startServer(t, cfg)
	analyst, head, caseNo, source, _ := queryCLIOrg(t, ts, dir)
	ctx := context.Background()
	analystP, err := ts.Identity.PersonByEmployeeID(ctx, "q-analyst")
	if err != nil {
		t.Fatal(err)
	}
	cpo, cpoSecret := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "r-cpo", Component: "CBP"}, auth.ComponentPrivacyOfficer)
	opr, oprSecret := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "r-opr", Component: "CBP"}, auth.OPRIntake)
	cpoEnv, oprEnv := cliSignIn(t, ts, dir, cpo, cpoSecret), cliSignIn(t, ts, dir, opr, oprSecret)

	now := time.Now().UTC()
	out, errOut, code := runCLI(t, analyst, "query", "area", "-circle", "38.9005,-77.029,400", "-case", caseNo, "-source", source,
		"-justification", "Containers moved at night near the port; find devices present.",
		"-from", now.Add(-3*time.Hour).Format(time.RFC3339), "-to", now.Add(time.Minute).Format(time.RFC3339))
	m := regexp.MustCompile(`query (\d+) completed`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("the search: exit %d:\n%s%s", code, out, errOut)
	}
	id := m[1]
	if _, err := ts.Reviews.OpenMissing(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("OKQueueDecideShow", func(t *testing.T) {
		out, errOut, code := runCLI(t, head, "review", "queue")
		if code != 0 || !strings.Contains(out, "REVIEWER") || !regexp.MustCompile(`(?m)^`+id+` +\S+ +q-analyst +`+caseNo+` .* q-head +pending$`).MatchString(out) {
			t.Fatalf("queue: exit %d:\n%s%s", code, out, errOut)
		}
		if out, errOut, code := runCLI(t, analyst, "review", "queue"); code != 1 || !strings.Contains(errOut, "your role does not allow this (reviews.read)") {
			t.Errorf("the analyst's queue: exit %d: %s%s", code, out, errOut)
		}
		before := entries(t, ts)
		out, errOut, code = runCLI(t, head, "review", "decide", id, "-decision", "needs_explanation", "-note", "Why these three devices?")
		if code != 0 || !strings.Contains(out, "review of query "+id+": needs explanation") || !strings.Contains(out, "decided    needs explanation by q-head") ||
			!strings.Contains(out, "note       Why these three devices?") {
			t.Fatalf("decide: exit %d:\n%s%s", code, out, errOut)
		}
		if got := entries(t, ts) - before; got != 1 {
			t.Errorf("the decision added %d ledger entries, want 1", got)
		}
		// The requester sees it.
		out, errOut, code = runCLI(t, analyst, "review", "show", id)
		if code != 0 || !strings.Contains(out, "Why these three devices?") {
			t.Errorf("the requester's show: exit %d:\n%s%s", code, out, errOut)
		}
		// Twice is a conflict, which the server explains.
		if _, errOut, code := runCLI(t, head, "review", "decide", id, "-decision", "appropriate"); code != 1 || !strings.Contains(errOut, "already reviewed by q-head") {
			t.Errorf("deciding twice: exit %d: %s", code, errOut)
		}
		out, _, code = runCLI(t, head, "review", "queue", "-status", "decided", "-json")
		var q struct {
			Reviews []struct {
				QueryID  int64  `json:"query_id"`
				Decision string `json:"decision"`
			} `json:"reviews"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &q) != nil || len(q.Reviews) != 1 || fmt.Sprint(q.Reviews[0].QueryID) != id || q.Reviews[0].Decision != "needs_explanation" {
			t.Errorf("decided, as JSON: exit %d: %s", code, out)
		}
	})

	t.Run("OKBulk", func(t *testing.T) {
		a, b := storeQuery(t, ts, analystP, query.Routine), storeQuery(t, ts, analystP, query.Routine)
		el := storeQuery(t, ts, analystP, query.Elevated)
		if _, err := ts.Reviews.OpenMissing(ctx); err != nil {
			t.Fatal(err)
		}
		if _, errOut, code := runCLI(t, head, "review", "bulk", "-decision", "appropriate", fmt.Sprint(a), fmt.Sprint(el)); code != 1 ||
			!strings.Contains(errOut, fmt.Sprintf("query %d is of the elevated tier; only routine queries are reviewed in bulk", el)) {
			t.Errorf("bulk with an elevated query: exit %d: %s", code, errOut)
		}
		out, errOut, code := runCLI(t, head, "review", "bulk", "-decision", "appropriate", "-note", "Routine port work.", fmt.Sprint(a), fmt.Sprint(b))
		if code != 0 || !strings.Contains(out, fmt.Sprintf("query %d: appropriate\n", a)) || !strings.Contains(out, "2 reviews decided") {
			t.Errorf("bulk: exit %d:\n%s%s", code, out, errOut)
		}
	})

	t.Run("OKAlerts", func(t *testing.T) {
		qid := storeQuery(t, ts, analystP, query.Elevated)
		var aid int64
		if err := ts.DB.Update(ctx, func(tx *store.Tx) error {
			var err error
			aid, err = ts.Alerts.Raise(ctx, tx, alerts.Alert{Detector: "employee_device", Severity: alerts.High, Component: "CBP", QueryID: qid, PersonID: analystP.ID,
				Explanation: "The device's night-time pings fall in an employee's home cells."})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		a := fmt.Sprint(aid)
		out, errOut, code := runCLI(t, cpoEnv, "alert", "list")
		if code != 0 || !regexp.MustCompile(`(?m)^`+a+` +HIGH +employee_device +CBP +`+fmt.Sprint(qid)+` +q-analyst +new +q-cpo `).MatchString(out) {
			t.Fatalf("list: exit %d:\n%s%s", code, out, errOut)
		}
		if out, errOut, code := runCLI(t, oprEnv, "alert", "show", a); code != 1 || !strings.Contains(errOut, "there is no alert "+a+" you may see") {
			t.Errorf("OPR intake before the referral: exit %d: %s%s", code, out, errOut)
		}
		if _, errOut, code := runCLI(t, head, "alert", "list"); code != 1 || !strings.Contains(errOut, "your role does not allow this (alerts.read)") {
			t.Errorf("a supervisor's list: exit %d: %s", code, errOut)
		}
		for _, st := range []struct {
			env  map[string]string
			args []string
			want string
		}{
			{cpoEnv, []string{"alert", "triage", a}, "alert " + a + " is triage (assigned to r-cpo)"},
			{cpoEnv, []string{"alert", "refer", a, "-note", "The requester followed a coworker home."}, "alert " + a + " is referred"},
			{oprEnv, []string{"alert", "resolve", a, "-note", "Case OPR-2026-31 opened."}, "alert " + a + " is resolved"},
		} {
			out, errOut, code := runCLI(t, st.env, st.args...)
			if code != 0 || !strings.Contains(out, st.want) {
				t.Fatalf("%v: exit %d:\n%s%s", st.args, code, out, errOut)
			}
		}
		out, errOut, code = runCLI(t, cpoEnv, "alert", "show", a)
		if code != 0 || !strings.Contains(out, "alert "+a+": high severity, resolved") || !strings.Contains(out, "refer") || !strings.Contains(out, "The requester followed a coworker home.") ||
			!strings.Contains(out, "r-opr (opr intake)") {
			t.Errorf("show: exit %d:\n%s%s", code, out, errOut)
		}
		if _, errOut, code := runCLI(t, cpoEnv, "alert", "triage", a); code != 1 || !strings.Contains(errOut, "only a new alert is taken into triage") {
			t.Errorf("triage a resolved alert: exit %d: %s", code, errOut)
		}
	})
}

// entries returns the ledger's size.
func entries(t *testing.T, ts *testServer) int64 {
	t.Helper()
	n, err := ts.Ledger.Size(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
