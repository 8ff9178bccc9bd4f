package app

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/detect"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
	"github.com/probity-dev/probity/internal/synth"
)

// TestCoworkerScenario replays the misuse the inspector general found, on
// the demo's organization and a small synthetic city, through the real
// server's query path, detectors, alerts, reviews and notifications:
// analyst A searches coworker B's neighbourhood at night and then asks
// for the history of the device that sleeps in B's home.
func TestCoworkerScenario(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testCoworkerScenario(t, d) })
	}
}

func testCoworkerScenario(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	cityCfg := synth.DefaultConfig()
	cityCfg.Devices, cityCfg.Employees, cityCfg.RadiusKm = 250, 12, 4
	// The fortnight ended a week ago (the demo's records are dated now).
	start := time.Now().In(cityCfg.Location).AddDate(0, 0, -21)
	cityCfg.Start = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, cityCfg.Location)
	city, err := synth.New(cityCfg)
	if err != nil {
		t.Fatal(err)
	}
	// The clock stands on the Wednesday after the city's fortnight, 11:00
	// in New York: A is on duty.
	_, end := city.Window()
	ny, _ := time.LoadLocation("America/New_York")
	target := time.Date(end.Year(), end.Month(), end.Day(), 11, 0, 0, 0, ny)
	for target.Weekday() != time.Wednesday {
		target = target.AddDate(0, 0, 1)
	}
	var clock storetest.Clock
	clock.Advance(time.Until(target))
	data := filepath.Join(t.TempDir(), "data")
	cfg := Config{Data: data, Addr: "127.0.0.1:0", DB: storetest.NewDSN(t, d), KeyFile: filepath.Join(data, "ledger.key"),
		Origin: "probity.test/ledger", LogLevel: "error", LogFormat: "json",
		// Email goes to a relay nobody answers: the outbox keeps it.
		SMTPRelay: "127.0.0.1:9", SMTPFrom: "probity@probity.test", clock: clock.Now}
	if err := prepareDataDir(cfg.Data); err != nil {
		t.Fatal(err)
	}
	srv, err := OpenServer(ctx, cfg, storetest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := loadDemoOrg(ctx, srv); err != nil {
		t.Fatal(err)
	}
	if err := loadDemo(ctx, srv); err != nil {
		t.Fatal(err)
	}
	if err := importDemoCity(ctx, srv, city, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := loadDemoPlaces(ctx, srv, city); err != nil {
		t.Fatal(err)
	}
	before, err := srv.Ledger.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rp, err := replayCoworker(ctx, srv, city)
	if err != nil {
		t.Fatal(err)
	}
	a, err := demoPrincipal(ctx, srv, "cbp-analyst1")
	if err != nil {
		t.Fatal(err)
	}
	people := map[int64]string{}
	id := func(emp string) int64 {
		p, err := srv.Identity.PersonByEmployeeID(ctx, emp)
		if err != nil {
			t.Fatal(err)
		}
		people[p.ID] = emp
		return p.ID
	}

	t.Run("SearchesWaitedForBothApprovers", func(t *testing.T) {
		for _, out := range []struct {
			name string
			q    store.QueryRecord
		}{{"neighbourhood", rp.Neighborhood.Query}, {"address", rp.Home.Query}} {
			if out.q.Tier != query.Critical || out.q.Status != query.Completed {
				t.Errorf("%s search: tier %s, status %s; want critical and completed (after approval)", out.name, out.q.Tier, out.q.Status)
			}
			if !strings.Contains(string(out.q.Risk), `"employee_home"`) {
				t.Errorf("%s search: risk %s lacks the employee_home flag", out.name, out.q.Risk)
			}
			aps, err := srv.DB.Queries().Approvals(ctx, nil, out.q.ID)
			if err != nil || len(aps) != 2 {
				t.Errorf("%s search: %d approvals (%v), want the supervisor's and the privacy officer's", out.name, len(aps), err)
			}
		}
		if n := len(rp.Home.Result.Devices); n < 1 || n > 3 {
			t.Errorf("the search at B's home found %d devices", n)
		}
	})

	h := rp.History
	t.Run("HistoryWithheld", func(t *testing.T) {
		if h.Query.Status != query.Withheld || h.Result != nil || h.Message != "results withheld pending privacy review" {
			t.Fatalf("device history: status %s, result %v, message %q; want withheld, no result, and A told so", h.Query.Status, h.Result != nil, h.Message)
		}
		if _, _, err := srv.Queries.Results(ctx, a, h.Query.ID); fault.CodeOf(err) != fault.Forbidden || !strings.Contains(fault.MessageOf(err), "withheld pending privacy review") {
			t.Errorf("A reads the withheld results: %v", err)
		}
		// The privacy officer may read them: they are B's device's.
		cpo, err := demoPrincipal(ctx, srv, "cbp-privacy")
		if err != nil {
			t.Fatal(err)
		}
		res, _, err := srv.Queries.Results(ctx, cpo, h.Query.ID)
		if err != nil || len(res.Pings) == 0 {
			t.Fatalf("the privacy officer reads the withheld results: %d pings, %v", len(res.Pings), err)
		}
		home := city.Scenario().CoworkerHome
		near := 0
		for _, p := range res.Pings {
			if abs(p.Lat-home.Lat) < 0.001 && abs(p.Lon-home.Lon) < 0.0013 {
				near++
			}
		}
		if near*4 < len(res.Pings) {
			t.Errorf("only %d of the %d pings are at B's home: the history is not of B's device", near, len(res.Pings))
		}
	})

	var alertID int64
	t.Run("HighAlert", func(t *testing.T) {
		dpo, err := demoPrincipal(ctx, srv, "dept-privacy")
		if err != nil {
			t.Fatal(err)
		}
		list, err := srv.Alerts.List(ctx, dpo, store.AlertFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var found []string
		for _, al := range list {
			found = append(found, al.Detector+"/"+string(al.Severity))
			if al.Detector == detect.EmployeeDevice {
				alertID = al.ID
				if al.QueryID != h.Query.ID || al.Severity != "high" || al.PersonID != a.PersonID || al.Component != "CBP" {
					t.Errorf("alert %+v", al)
				}
				if !strings.Contains(al.Explanation, "cbp-analyst2") {
					t.Errorf("the explanation does not name B: %s", al.Explanation)
				}
				if people[al.AssigneeID] = ""; al.AssigneeID != id("cbp-privacy") {
					t.Errorf("assigned to person %d, want CBP's privacy officer", al.AssigneeID)
				}
			}
		}
		if alertID == 0 {
			t.Fatalf("no employee_device alert; alerts %v", found)
		}
		// A never sees an alert about themselves.
		if mine, err := srv.Alerts.List(ctx, a, store.AlertFilter{}); err == nil && len(mine) > 0 {
			t.Errorf("A sees %d alerts", len(mine))
		}
	})

	t.Run("Notified", func(t *testing.T) {
		ns, err := srv.Alerts.Notifications().List(ctx, store.NotificationFilter{Subject: "alert/" + strconv.FormatInt(alertID, 10), Kind: "alert.raised"})
		if err != nil {
			t.Fatal(err)
		}
		var to []string
		for _, n := range ns {
			to = append(to, n.EmployeeID)
		}
		for _, want := range []string{"cbp-privacy", "cbp-opr", "cbp-sup"} {
			if !slices.Contains(to, want) {
				t.Errorf("%s was not told of the alert (told: %v)", want, to)
			}
		}
		if slices.Contains(to, "cbp-analyst1") {
			t.Error("A was told of the alert about them")
		}
	})

	t.Run("Ledger", func(t *testing.T) {
		storetest.SettledSize(t, srv.DB, srv.Ledger)
		var es []ledger.Entry
		for r, err := range srv.Ledger.AllRows(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if r.Index < before {
				continue
			}
			e, err := ledger.Decode(r.Entry)
			if err != nil {
				t.Fatal(err)
			}
			es = append(es, e)
		}
		var types []string
		var withheld ledger.Entry
		for _, e := range es {
			if e.Subject == "query/"+strconv.FormatInt(h.Query.ID, 10) || e.Subject == "alert/"+strconv.FormatInt(alertID, 10) {
				types = append(types, e.Type)
			}
			if e.Type == "query.withheld" {
				withheld = e
			}
		}
		for _, want := range []string{"query.started", "query.withheld", "alert.raised", "review.opened"} {
			if !slices.Contains(types, want) {
				t.Errorf("the ledger lacks %s for the history (has %v)", want, types)
			}
		}
		if ids, _ := withheld.Data["alerts"].([]any); len(ids) == 0 {
			t.Errorf("query.withheld does not name its alerts: %v", withheld.Data)
		}
	})
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
