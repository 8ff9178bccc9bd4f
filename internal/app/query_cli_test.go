package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/app"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/importer/ping"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// enrolQueryPerson creates an active person with a role and returns their
// principal and TOTP secret; the enrolment uses the previous time step's
// code, so the current one is free for signing in.
func enrolQueryPerson(t *testing.T, ts *testServer, p identity.Person, role auth.Role) (auth.Principal, string) {
	t.Helper()
	ctx := context.Background()
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	p.Name, p.Email = "Person "+p.EmployeeID, p.EmployeeID+"@example.gov"
	if p.Schedule.TimeZone == "" {
		p.Schedule = identity.DefaultSchedule()
	}
	person, link, err := ts.Identity.Invite(ctx, admin, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Identity.GrantRole(ctx, admin, identity.Grant{PersonID: person.ID, Role: role, Component: p.Component}); err != nil {
		t.Fatal(err)
	}
	e, err := ts.Authn.BeginEnrolment(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := authn.TOTPCode(e.TOTPSecret, time.Now().Add(-30*time.Second))
	if _, _, err := ts.Authn.CompleteEnrolment(ctx, link, "tulip orbit granite seven", e.Sealed, code); err != nil {
		t.Fatal(err)
	}
	person, err = ts.Identity.PersonByEmployeeID(ctx, p.EmployeeID)
	if err != nil {
		t.Fatal(err)
	}
	grants, err := ts.Identity.Grants(ctx, person.ID)
	if err != nil {
		t.Fatal(err)
	}
	return identity.Principal(person, grants), e.TOTPSecret
}

// queryCLIOrg builds, on ts, a usable local telemetry source with the
// pings of three devices near the port in the last two hours, an open
// case with a court order whose member is analyst (on duty around the
// clock, under head), and signs analyst and head in with the CLI. It
// returns their environments.
func queryCLIOrg(t *testing.T, ts *testServer, dir string) (analystEnv, headEnv map[string]string, caseNo, source string, devices []string) {
	t.Helper()
	ctx := context.Background()
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	if err := ts.Identity.CreateComponent(ctx, admin, identity.Component{Code: "CBP", Name: "CBP"}); err != nil {
		t.Fatal(err)
	}
	head, headSecret := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "q-head", Component: "CBP"}, auth.Supervisor)
	isso, _ := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "q-isso", Component: "CBP", SupervisorID: head.PersonID}, auth.SecurityOfficer)
	cpo, _ := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "q-cpo", Component: "CBP"}, auth.ComponentPrivacyOfficer)
	dpo, _ := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "q-dpo"}, auth.DepartmentPrivacyOfficer)
	always := identity.Schedule{TimeZone: "UTC", Start: 0, End: 24 * 60, Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}}
	analyst, analystSecret := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "q-analyst", Component: "CBP", SupervisorID: head.PersonID, Schedule: always}, auth.Analyst)

	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	sys, err := ts.Privacy.CreateSystem(ctx, isso, privacy.System{Name: "Port telemetry", Component: "CBP", OwnerID: head.PersonID, ISSOID: isso.PersonID,
		Impact: privacy.High, ATOGranted: today.AddDate(-1, 0, 0), ATOExpires: today.AddDate(2, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	src, err := ts.Privacy.CreateSource(ctx, isso, privacy.Source{Name: "port-pings", Title: "Port pings", SystemID: sys.ID, Vendor: "Probity local telemetry store",
		ContractNumber: "N/A", Categories: []string{"device_location"}, Connector: privacy.LocalStore})
	if err != nil {
		t.Fatal(err)
	}
	pia, err := ts.Privacy.CreatePIA(ctx, isso, src.ID, "PIA of port pings", storetest.CompleteDocument("port pings"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		who auth.Principal
		a   privacy.Action
	}{{isso, privacy.Submit}, {cpo, privacy.Accept}, {dpo, privacy.Approve}, {dpo, privacy.Publish}} {
		if pia, err = ts.Privacy.Step(ctx, st.who, pia.ID, st.a, store.StepInput{}); err != nil {
			t.Fatalf("%s the PIA: %v", st.a, err)
		}
	}
	if _, err := ts.Identity.PublishRules(ctx, dpo, identity.Rules{Key: src.RulesKey, Title: "Rules for port pings", Body: "Use these pings only for open cases you are assigned to."}); err != nil {
		t.Fatal(err)
	}
	if err := ts.Identity.Acknowledge(ctx, analyst, src.RulesKey, 1); err != nil {
		t.Fatal(err)
	}
	caseNo = "CBP-2026-0142"
	if _, err := ts.Cases.Create(ctx, head, cases.Case{Number: caseNo, Title: "Containers moved at night", LegalAuthority: "8 U.S.C. 1357",
		Predicate: "An informant reported containers moved at night", Component: "CBP", Members: []cases.Member{{EmployeeID: analyst.ID}},
		LegalProcess: []cases.LegalProcess{{Kind: cases.CourtOrder, Reference: "CO-2026-17", IssuedOn: today.AddDate(0, 0, -10), ExpiresOn: today.AddDate(0, 0, 80)}}}); err != nil {
		t.Fatalf("create the case: %v", err)
	}
	var pings []ping.Ping
	for i := range 3 {
		dev := fmt.Sprintf("port-device-%d", i)
		devices = append(devices, dev)
		for k := range 4 {
			pings = append(pings, ping.Ping{Device: dev, Time: now.Add(-time.Duration(100-10*k-i) * time.Minute).Truncate(time.Second),
				Lat: 38.9 + float64(i)*0.0005, Lon: -77.03 + float64(k)*0.0005, AccuracyM: 8})
		}
	}
	if _, err := ts.DB.Telemetry().Import(ctx, ledger.Actor{Kind: ledger.ActorSystem, ID: "cli-test"}, src.Name, storetest.NewPingList(pings),
		store.ImportOptions{FileName: "port.csv", Format: "csv"}); err != nil {
		t.Fatalf("import: %v", err)
	}

	analystEnv = map[string]string{"PROBITY_CREDENTIALS": filepath.Join(dir, "analyst.json"), "PROBITY_URL": ts.URL}
	headEnv = map[string]string{"PROBITY_CREDENTIALS": filepath.Join(dir, "head.json"), "PROBITY_URL": ts.URL}
	// A token reaches data only when asked to: the analyst asks.
	for _, l := range []struct {
		env    map[string]string
		id     string
		secret string
		args   []string
	}{{analystEnv, analyst.ID, analystSecret, []string{"-scopes", "data.access"}}, {headEnv, head.ID, headSecret, nil}} {
		code, _ := authn.TOTPCode(l.secret, time.Now())
		var out, errb bytes.Buffer
		stdin := strings.NewReader(l.id + "\ntulip orbit granite seven\n" + code + "\n")
		if n := app.MainIO(ctx, append([]string{"login", "-url", ts.URL, "-days", "1"}, l.args...), func(k string) string { return l.env[k] }, stdin, &out, &errb); n != 0 {
			t.Fatalf("login %s: exit %d: %s%s", l.id, n, out.String(), errb.String())
		}
	}
	return analystEnv, headEnv, caseNo, src.Name, devices
}

func TestQueryCLI(t *testing.T) {
	dir := t.TempDir()
	geojson := filepath.Join(dir, "port.geojson")
	if err := os.WriteFile(geojson, []byte(`{"type":"Polygon","coordinates":[[[-77.035,38.897],[-77.025,38.897],[-77.025,38.905],[-77.035,38.905],[-77.035,38.897]]]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	bowTie := filepath.Join(dir, "bowtie.geojson")
	if err := os.WriteFile(bowTie, []byte(`{"type":"Polygon","coordinates":[[[-77.035,38.897],[-77.025,38.905],[-77.025,38.897],[-77.035,38.905],[-77.035,38.897]]]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	just := "Containers moved at night near the port; find devices present."

	t.Run("ErrFlags", func(t *testing.T) {
		// Nothing listens at this address and nobody is signed in: each
		// mistake is reported before any server is asked.
		env := map[string]string{"PROBITY_CREDENTIALS": filepath.Join(dir, "nobody.json"), "PROBITY_URL": "http://127.0.0.1:1/"}
		area := []string{"query", "area", "-case", "CBP-2026-0142", "-source", "port-pings", "-justification", just}
		window := []string{"-from", "2026-01-01", "-to", "2026-01-02"}
		for _, c := range []struct {
			name string
			args []string
			want string
		}{
			{"NoCase", []string{"query", "area", "-source", "port-pings", "-justification", just, "-circle", "38.9,-77.03,300", "-from", "2026-01-01", "-to", "2026-01-02"}, "give the case the query serves: -case NUMBER"},
			{"NoSource", []string{"query", "device", "-case", "CBP-2026-0142", "-device", "p-aaaaaaaaaaaaaaaaaaaa", "-justification", just}, "give the data source: -source NAME"},
			{"NoJustification", []string{"query", "unmask", "-case", "CBP-2026-0142", "-source", "port-pings", "-device", "p-aaaaaaaaaaaaaaaaaaaa"}, "give your justification"},
			{"BothAreas", append(append(area, "-geojson", geojson, "-circle", "38.9,-77.03,300"), window...), "give the area once: either -geojson FILE or -circle LAT,LON,METRES, not both"},
			{"NoArea", append(area, window...), "give the area: -geojson FILE"},
			{"BadCircle", append(append(area, "-circle", "38.9,-77.03"), window...), `-circle: give LAT,LON,METRES in decimal degrees and metres (e.g. 38.8895,-77.0353,500), not "38.9,-77.03"`},
			{"CircleOutOfRange", append(append(area, "-circle", "98.9,-77.03,300"), window...), "-circle 98.9,-77.03,300: "},
			{"MissingFile", append(append(area, "-geojson", filepath.Join(dir, "nope.geojson")), window...), "-geojson: no such file or directory"},
			{"BadGeometry", append(append(area, "-geojson", bowTie), window...), "-geojson " + bowTie + ": "},
			{"BadTime", append(area, "-circle", "38.9,-77.03,300", "-from", "yesterday", "-to", "2026-01-02"), `-from: "yesterday" is not a time: give RFC 3339`},
			{"TimeWithoutZone", append(area, "-circle", "38.9,-77.03,300", "-from", "2026-01-01T08:00:00", "-to", "2026-01-02"), `-from: "2026-01-01T08:00:00" is not a time`},
			{"NoWindow", append(area, "-circle", "38.9,-77.03,300"), "give the window: -from TIME"},
			{"Backwards", append(area, "-circle", "38.9,-77.03,300", "-from", "2026-01-02", "-to", "2026-01-01"), "the window must start before it ends"},
			{"Extra", append(append(area, "-circle", "38.9,-77.03,300", "extra"), window...), `probity query area takes no arguments, only flags ("extra" is extra)`},
			{"BadID", []string{"query", "show", "abc"}, `the query's ID is a positive whole number, not "abc"`},
			{"NoID", []string{"query", "run"}, "give the query's ID: probity query run ID"},
			{"RejectWithoutReason", []string{"query", "reject", "7"}, "give the reason for the rejection"},
			{"BadStatus", []string{"query", "list", "-status", "done"}, `-status: "done" is not a query status`},
			{"ReceiptInMissingDir", append(append(area, "-circle", "38.9,-77.03,300", "-receipt", filepath.Join(dir, "no", "such", "r.json")), window...), "-receipt: the directory of"},
		} {
			t.Run(c.name, func(t *testing.T) {
				out, errOut, code := runCLI(t, env, c.args...)
				if code != 2 || !strings.Contains(errOut, c.want) || out != "" {
					t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 saying %q", code, out, errOut, c.want)
				}
			})
		}
		if _, errOut, code := runCLI(t, env, "query", "frob"); code != 2 || !strings.Contains(errOut, `unknown command "frob"`) {
			t.Errorf("unknown command: exit %d: %s", code, errOut)
		}
		if _, errOut, code := runCLI(t, env, "query", "area", "-device", "p-x"); code != 2 || !strings.Contains(errOut, "flag provided but not defined: -device") {
			t.Errorf("a device for an area: exit %d: %s", code, errOut)
		}
		// With everything right, the CLI then needs a signed-in server.
		_, errOut, code := runCLI(t, env, append(append(area, "-circle", "38.9,-77.03,300"), window...)...)
		if code != 1 || !strings.Contains(errOut, "you are not signed in to http://127.0.0.1:1/") {
			t.Errorf("not signed in: exit %d: %s", code, errOut)
		}
	})

	cfg := testConfig(t, store.SQLite)
	cfg.AdminToken, cfg.AuditorToken = "", "" // the commands must use the stored token
	ts := startServer(t, cfg)
	analyst, head, caseNo, source, devices := queryCLIOrg(t, ts, dir)
	vkey, err := ts.Ledger.VerifierKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	window := []string{"-from", now.Add(-3 * time.Hour).Format(time.RFC3339), "-to", now.Add(time.Minute).Format(time.RFC3339)}
	base := []string{"-case", caseNo, "-source", source, "-justification", just}
	idOf := regexp.MustCompile(`query (\d+) `)
	rowR := regexp.MustCompile(`(?m)^p-[a-z2-7]{20}  +\S+Z  +\S+Z  +4$`)
	verify := func(t *testing.T, file, typ string) {
		t.Helper()
		out, errOut, code := runCLI(t, nil, "ledger", "verify", "-receipt", file, "-key", vkey)
		if code != 0 || !strings.Contains(out, "receipt OK: entry ") || !strings.Contains(out, "("+typ+" by user ") {
			t.Fatalf("verify %s: exit %d: %s%s", file, code, out, errOut)
		}
	}

	var areaID, pseudonym string
	t.Run("OKArea", func(t *testing.T) {
		receipt := filepath.Join(dir, "area.receipt")
		out, errOut, code := runCLI(t, analyst, append(append(append([]string{"query", "area", "-circle", "38.9005,-77.029,400"}, base...), window...), "-receipt", receipt)...)
		if code != 0 || !strings.Contains(out, " completed: 3 devices seen in the area\n") || !strings.Contains(out, "PSEUDONYM") ||
			len(rowR.FindAllString(out, -1)) != 3 || !strings.Contains(out, "receipt written to "+receipt) {
			t.Fatalf("exit %d:\n%s%s", code, out, errOut)
		}
		for _, d := range devices {
			if strings.Contains(out, d) {
				t.Fatalf("the output shows the source's identifier %s", d)
			}
		}
		m := regexp.MustCompile(`receipt: ledger entry (\d+), in the checkpoint of (\d+) entries`).FindStringSubmatch(out)
		if m == nil || atoi(t, m[1]) >= atoi(t, m[2]) {
			t.Errorf("the receipt line: %v\n%s", m, out)
		}
		areaID, pseudonym = idOf.FindStringSubmatch(out)[1], rowR.FindString(out)[:22]
		verify(t, receipt, "query.completed")

		// A receipt altered after the fact does not verify.
		b, _ := os.ReadFile(receipt)
		var rc ledger.Receipt
		if err := json.Unmarshal(b, &rc); err != nil {
			t.Fatal(err)
		}
		rc.Entry = bytes.Replace(rc.Entry, []byte(caseNo), []byte("CBP-2026-0999"), 1)
		b, _ = json.Marshal(rc)
		forged := filepath.Join(dir, "forged.receipt")
		os.WriteFile(forged, b, 0o600)
		if out, _, code := runCLI(t, nil, "ledger", "verify", "-receipt", forged, "-key", vkey); code != 1 || !strings.Contains(out, "does NOT verify") {
			t.Errorf("a forged receipt: exit %d: %s", code, out)
		}
	})

	t.Run("OKAreaGeoJSONDatesJSON", func(t *testing.T) {
		day := func(d int) string { return now.AddDate(0, 0, d).Format(time.DateOnly) }
		out, errOut, code := runCLI(t, analyst, append(append([]string{"query", "area", "-geojson", geojson, "-json"}, base...), "-from", day(-1), "-to", day(1))...)
		var a struct {
			Query struct {
				ID     int64  `json:"id"`
				Status string `json:"status"`
				Tier   string `json:"tier"`
			} `json:"query"`
			Result struct {
				Devices []struct {
					Device string `json:"device"`
				} `json:"devices"`
			} `json:"result"`
			Receipt *ledger.Receipt `json:"receipt"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &a) != nil || a.Query.Status != "completed" || len(a.Result.Devices) != 3 || a.Receipt == nil || a.Query.Tier != "elevated" {
			t.Fatalf("exit %d:\n%s%s", code, out, errOut)
		}
	})

	t.Run("OKListShowResults", func(t *testing.T) {
		out, _, code := runCLI(t, analyst, "query", "list")
		if code != 0 || !strings.Contains(out, "STATUS") || !regexp.MustCompile(`(?m)^`+areaID+` .* area .*`+caseNo+` .*port-pings .*completed .*routine .*3$`).MatchString(out) {
			t.Fatalf("list: exit %d:\n%s", code, out)
		}
		out, _, code = runCLI(t, head, "query", "list", "-all", "-status", "completed", "-case", caseNo)
		if code != 0 || !strings.Contains(out, "q-analyst") {
			t.Errorf("the supervisor's list: exit %d:\n%s", code, out)
		}
		out, _, code = runCLI(t, head, "query", "show", areaID)
		for _, want := range []string{"query " + areaID + ": area, completed (tier routine)", "requester      q-analyst (CBP)", "justification  " + just,
			"area           circle of 400 m around 38.9005, -77.029", "decision       allowed by "} {
			if !strings.Contains(out, want) {
				t.Errorf("show: exit %d, no %q:\n%s", code, want, out)
			}
		}
		receipt := filepath.Join(dir, "read.receipt")
		out, errOut, code := runCLI(t, analyst, "query", "results", areaID, "-receipt", receipt)
		if code != 0 || !strings.Contains(out, "results of query "+areaID+" (this reading is recorded)") || len(rowR.FindAllString(out, -1)) != 3 {
			t.Fatalf("results: exit %d:\n%s%s", code, out, errOut)
		}
		verify(t, receipt, "query.results_read")
		// The supervisor has no data.access: the server refuses.
		if _, errOut, code := runCLI(t, head, "query", "results", areaID); code != 1 || !strings.Contains(errOut, "server answered 403: your role does not allow this (data.access)") {
			t.Errorf("the supervisor reads results: exit %d: %s", code, errOut)
		}
	})

	t.Run("OKUnmaskApproveRun", func(t *testing.T) {
		out, errOut, code := runCLI(t, analyst, "query", "unmask", "-case", caseNo, "-source", source, "-device", pseudonym, "-justification", "Serve the court order on the device's owner.")
		if code != 0 || !strings.Contains(out, " awaiting approval: the query waits for approval by a supervisor in your chain") {
			t.Fatalf("unmask: exit %d:\n%s%s", code, out, errOut)
		}
		id := idOf.FindStringSubmatch(out)[1]
		if !strings.Contains(out, "once approved, run it: probity query run "+id) {
			t.Errorf("unmask: %s", out)
		}
		if _, errOut, code := runCLI(t, analyst, "query", "run", id); code != 1 || !strings.Contains(errOut, "server answered 409: query "+id+" is awaiting approval") {
			t.Errorf("run before approval: exit %d: %s", code, errOut)
		}
		if out, errOut, code := runCLI(t, head, "query", "approve", id, "-reason", "the court order covers it"); code != 0 || out != "query "+id+" is approved; its requester q-analyst may run it now\n" {
			t.Fatalf("approve: exit %d: %s%s", code, out, errOut)
		}
		receipt := filepath.Join(dir, "unmask.receipt")
		out, errOut, code = runCLI(t, analyst, "query", "run", id, "-receipt", receipt)
		if code != 0 || !regexp.MustCompile(pseudonym+` is the source's device port-device-\d`).MatchString(out) {
			t.Fatalf("run: exit %d:\n%s%s", code, out, errOut)
		}
		verify(t, receipt, "query.completed")
		out, _, _ = runCLI(t, head, "query", "show", id)
		if !strings.Contains(out, "Approvals:") || !regexp.MustCompile(`q-head +supervisor +approved +"the court order covers it"`).MatchString(out) {
			t.Errorf("show: %s", out)
		}

		out, errOut, code = runCLI(t, analyst, append(append([]string{"query", "device", "-device", pseudonym, "-legal-process", "CO-2026-17"}, base...), window...)...)
		if code != 0 || !strings.Contains(out, "4 pings of "+pseudonym) || !strings.Contains(out, "ACCURACY (m)") || len(regexp.MustCompile(`(?m)^\S+Z  +38\.90\d{4}  +-77\.0\d{5}  +8$`).FindAllString(out, -1)) != 4 {
			t.Fatalf("device: exit %d:\n%s%s", code, out, errOut)
		}

		out, _, _ = runCLI(t, analyst, "query", "unmask", "-case", caseNo, "-source", source, "-device", pseudonym, "-justification", "Serve the court order on the device's owner.")
		id = idOf.FindStringSubmatch(out)[1]
		if out, errOut, code := runCLI(t, head, "query", "reject", id, "-reason", "the owner is already known"); code != 0 || out != "query "+id+" is rejected\n" {
			t.Errorf("reject: exit %d: %s%s", code, out, errOut)
		}
	})

	t.Run("ErrRefused", func(t *testing.T) {
		_, errOut, code := runCLI(t, analyst, append([]string{"query", "area", "-circle", "38.9005,-77.029,400", "-case", "CBP-2026-0999", "-source", source, "-justification", just}, window...)...)
		if code != 1 || !regexp.MustCompile(`server answered 404: query \d+ refused: `).MatchString(errOut) {
			t.Errorf("an unknown case: exit %d: %s", code, errOut)
		}
	})
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
