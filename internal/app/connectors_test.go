package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/app"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/connector/vendorapi/vendortest"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// lockedBuffer collects log lines written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServer_VendorConnector runs area searches through the server's
// query path against a fake vendor: the client is built from the source's
// endpoint and sealed credential, rebuilt when the endpoint changes, and
// a rotated credential is used at once; a source whose connector is not
// configured fails with a message the requester can act on, and no
// secret reaches the logs.
func TestServer_VendorConnector(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testVendorConnector(t, d) })
	}
}

func testVendorConnector(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	logs := &lockedBuffer{}
	cfg := testConfig(t, d)
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := app.OpenServer(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := &testServer{Server: srv}

	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	if err := ts.Identity.CreateComponent(ctx, admin, identity.Component{Code: "CBP", Name: "CBP"}); err != nil {
		t.Fatal(err)
	}
	head, _ := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "v-head", Component: "CBP"}, auth.Supervisor)
	isso, _ := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "v-isso", Component: "CBP", SupervisorID: head.PersonID}, auth.SecurityOfficer)
	cpo, _ := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "v-cpo", Component: "CBP"}, auth.ComponentPrivacyOfficer)
	dpo, _ := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "v-dpo"}, auth.DepartmentPrivacyOfficer)
	always := identity.Schedule{TimeZone: "UTC", Start: 0, End: 24 * 60, Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}}
	analyst, _ := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "v-analyst", Component: "CBP", SupervisorID: head.PersonID, Schedule: always}, auth.Analyst)

	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	sys, err := ts.Privacy.CreateSystem(ctx, isso, privacy.System{Name: "Vendor telemetry", Component: "CBP", OwnerID: head.PersonID, ISSOID: isso.PersonID,
		Impact: privacy.High, ATOGranted: today.AddDate(-1, 0, 0), ATOExpires: today.AddDate(2, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	// A usable vendor source: published PIA and rules, a credential
	// reference.
	usable := func(name string) privacy.Source {
		src, err := ts.Privacy.CreateSource(ctx, isso, privacy.Source{Name: name, Title: "Vendor " + name, SystemID: sys.ID, Vendor: "Example Telemetry, Inc.",
			ContractNumber: "70B-" + name, Categories: []string{"device_location"}, Connector: privacy.VendorAPI})
		if err != nil {
			t.Fatal(err)
		}
		pia, err := ts.Privacy.CreatePIA(ctx, isso, src.ID, "PIA of "+name, storetest.CompleteDocument(name), "")
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
		if src, err = ts.Privacy.SetCredential(ctx, isso, src.ID, "sealed:"+name); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Identity.PublishRules(ctx, dpo, identity.Rules{Key: src.RulesKey, Title: "Rules for " + name, Body: "Use this source only for open cases you are assigned to."}); err != nil {
			t.Fatal(err)
		}
		if err := ts.Identity.Acknowledge(ctx, analyst, src.RulesKey, 1); err != nil {
			t.Fatal(err)
		}
		return src
	}
	src, bare := usable("venntel-cbp"), usable("unwired-cbp")
	caseNo := "CBP-2026-0143"
	if _, err := ts.Cases.Create(ctx, head, cases.Case{Number: caseNo, Title: "Containers moved at night", LegalAuthority: "8 U.S.C. 1357",
		Predicate: "An informant reported containers moved at night", Component: "CBP", Members: []cases.Member{{EmployeeID: analyst.ID}}}); err != nil {
		t.Fatal(err)
	}

	pings := func(prefix string, n int) []vendortest.Ping {
		var out []vendortest.Ping
		for i := range n {
			out = append(out, vendortest.Ping{Device: prefix + string(rune('a'+i)), Time: now.Add(-time.Duration(30+i) * time.Minute).Truncate(time.Second), Lat: 38.9, Lon: -77.03})
		}
		return out
	}
	const key1, key2 = "vendor-key-one-0123456789", "vendor-key-two-9876543210"
	fake1, fake2 := vendortest.New(t, key1, pings("one-", 2)), vendortest.New(t, key2, pings("two-", 3))
	if err := ts.Credentials.Set(ctx, isso, "venntel-cbp", key1); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Credentials.SetEndpoint(ctx, isso, src.ID, fake1.URL, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	search := func(t *testing.T, s privacy.Source) (int, error) {
		t.Helper()
		out, err := ts.Queries.Submit(ctx, analyst, query.Request{Kind: query.Area, Case: caseNo, Source: s.Name, Justification: "Containers moved at night near the port.",
			Circle: &query.Circle{Lat: 38.9, Lon: -77.03, RadiusM: 300}, From: now.Add(-2 * time.Hour), To: now})
		if err != nil {
			return 0, err
		}
		if out.Query.Status != query.Completed || out.Result == nil {
			t.Fatalf("the search: %+v", out.Query)
		}
		return len(out.Result.Devices), nil
	}

	if n, err := search(t, src); err != nil || n != 2 || fake1.Calls() == 0 {
		t.Fatalf("through the first endpoint: %d devices, %v (%d calls)", n, err, fake1.Calls())
	}
	for _, r := range fake1.Requests() {
		if !r.Authorized || r.Credential != "Bearer "+key1 && r.Credential != key1 {
			t.Errorf("the vendor got the credential %q on %s", r.Credential, r.Path)
		}
	}
	// A new endpoint: a new client, with the credential rotated to the new
	// vendor's key.
	if err := ts.Credentials.Set(ctx, isso, "venntel-cbp", key2); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Credentials.SetEndpoint(ctx, isso, src.ID, fake2.URL, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	calls1 := fake1.Calls()
	if n, err := search(t, src); err != nil || n != 3 || fake1.Calls() != calls1 {
		t.Fatalf("through the second endpoint: %d devices, %v (first endpoint calls %d → %d)", n, err, calls1, fake1.Calls())
	}
	// The vendor rotates its key and the security officer stores it: the
	// next query uses it, without a restart.
	const key3 = "vendor-key-three-555555555"
	fake2.SetKey(key3)
	if _, err := search(t, src); fault.CodeOf(err) != fault.Unavailable || !strings.Contains(fault.MessageOf(err), "refused the credential") {
		t.Fatalf("with the revoked key: %v", err)
	}
	if err := ts.Credentials.Set(ctx, isso, "venntel-cbp", key3); err != nil {
		t.Fatal(err)
	}
	if n, err := search(t, src); err != nil || n != 3 {
		t.Fatalf("with the rotated key: %d, %v", n, err)
	}

	// A source without an endpoint or a stored credential: the requester
	// learns whom to ask; the query fails and is recorded as failed.
	_, err = search(t, bare)
	if fault.CodeOf(err) != fault.Unavailable || !strings.Contains(fault.MessageOf(err), "its connector is not configured; ask the data source's security officer") {
		t.Fatalf("an unconfigured source: %v", err)
	}
	failed, err := ts.Queries.List(ctx, analyst, false, store.QueryFilter{Status: query.Failed})
	if err != nil || len(failed) != 2 || failed[0].SourceName != bare.Name {
		t.Fatalf("failed queries: %+v, %v", failed, err)
	}
	if !strings.Contains(logs.String(), "vendor connector not usable") {
		t.Error("the reason the connector is not usable is not logged")
	}
	for _, k := range []string{key1, key2, key3} {
		if strings.Contains(logs.String(), k) {
			t.Fatalf("a credential is in the logs")
		}
	}

	// The retention job purges, at start, the results whose retention
	// has ended, each with its ledger entry.
	if err := ts.DB.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE query_results SET retain_until = $1`, now.Add(-time.Hour))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if srv, err = app.OpenServer(ctx, cfg, logger); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), `"msg":"purged query results whose retention ended","purged":3`); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the results were not purged at start:\n%s", logs.String())
		}
	}
	var purged int
	if err := srv.DB.View(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, `SELECT COUNT(*) FROM queries WHERE purged_at IS NOT NULL`).Scan(&purged)
	}); err != nil || purged != 3 {
		t.Fatalf("%d queries purged: %v", purged, err)
	}
}
