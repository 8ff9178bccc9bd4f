package access_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/access"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/connector"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/policy"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/settings"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// fakeConn is a connector over pings in memory, answering by brute force.
type fakeConn struct {
	mu        sync.Mutex
	pings     []fakePing
	err       error         // returned by the next calls when set
	delay     time.Duration // before answering
	calls     int
	estimates int
	gotDev    []string // device identifiers asked for
}

type fakePing struct {
	dev      string
	t        time.Time
	lat, lon float64
}

func (c *fakeConn) For(context.Context, privacy.Source) (connector.Connector, error) { return c, nil }

func (c *fakeConn) wait(ctx context.Context) error {
	c.mu.Lock()
	c.calls++
	d, err := c.delay, c.err
	c.mu.Unlock()
	if d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

func (c *fakeConn) AreaSearch(ctx context.Context, r connector.AreaRequest) ([]connector.DeviceSeen, error) {
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	seen := map[string]*connector.DeviceSeen{}
	var order []string
	for _, p := range c.pings {
		if p.t.Before(r.From) || !p.t.Before(r.To) || !r.Area.Contains(p.lat, p.lon) {
			continue
		}
		d := seen[p.dev]
		if d == nil {
			d = &connector.DeviceSeen{Device: p.dev, FirstSeen: p.t, LastSeen: p.t}
			seen[p.dev] = d
			order = append(order, p.dev)
		}
		d.Pings++
		d.FirstSeen, d.LastSeen = minT(d.FirstSeen, p.t), maxT(d.LastSeen, p.t)
	}
	slices.Sort(order)
	var out []connector.DeviceSeen
	for _, dev := range order {
		out = append(out, *seen[dev])
		if len(out) > r.Limit {
			break
		}
	}
	return out, nil
}

// EstimateDevices counts exactly, as a cheap estimator would roughly.
func (c *fakeConn) EstimateDevices(ctx context.Context, r connector.AreaRequest) (int, error) {
	c.mu.Lock()
	c.estimates++
	c.mu.Unlock()
	n := map[string]bool{}
	for _, p := range c.pings {
		if !p.t.Before(r.From) && p.t.Before(r.To) && r.Area.Contains(p.lat, p.lon) {
			n[p.dev] = true
		}
	}
	return len(n), nil
}

func (c *fakeConn) DeviceHistory(ctx context.Context, r connector.DeviceRequest) ([]connector.Ping, error) {
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.gotDev = append(c.gotDev, r.Device)
	c.mu.Unlock()
	var out []connector.Ping
	for _, p := range c.pings {
		if p.dev == r.Device && !p.t.Before(r.From) && p.t.Before(r.To) {
			out = append(out, connector.Ping{Time: p.t, Lat: p.lat, Lon: p.lon, AccuracyM: 10})
		}
	}
	return out, nil
}

func minT(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxT(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// screener withholds device histories when withhold is set.
type screener struct {
	withhold bool
	flags    []string
	err      error
}

func (s *screener) ScreenRequest(context.Context, access.ScreenInput) ([]string, error) {
	return s.flags, s.err
}

func (s *screener) ScreenResult(_ context.Context, in access.ScreenInput, res query.Result) (access.Screening, error) {
	if s.withhold && res.Kind == query.DeviceHistory {
		return access.Screening{Withhold: true, Flags: []string{"employee_device"}}, nil
	}
	return access.Screening{}, nil
}

type env struct {
	*storetest.PrivacyOrg
	svc     *access.Service
	deps    access.Deps
	conn    *fakeConn
	scr     *screener
	src     privacy.Source
	cases   *store.Cases
	queries *store.Queries
	secrets *sealed.Key
	caseNo  string
	now     time.Time
}

const (
	caseNo  = "CBP-2026-000142"
	orderNo = "CO-2026-17"
)

// newEnv builds an organization with a usable vendor source, an open case
// with cbp-analyst as member and a court order, and a connector holding
// pings around a point on a weekday morning, New York time.
func newEnv(t testing.TB, d store.Dialect) *env {
	t.Helper()
	ctx := context.Background()
	o := storetest.MustPrivacyOrg(t, d)
	// Move the clock to the next Wednesday, 11:00 in New York: inside the
	// default duty schedule.
	ny, _ := time.LoadLocation("America/New_York")
	now := o.Clock.Now().In(ny)
	target := time.Date(now.Year(), now.Month(), now.Day(), 11, 0, 0, 0, ny)
	for target.Before(now) || target.Weekday() != time.Wednesday {
		target = target.AddDate(0, 0, 1)
	}
	o.Clock.Advance(target.Sub(now))
	sys := o.MustSystem(t, "CBP", "telemetry-system")
	src := o.MustSource(t, sys, "venntel")
	o.MustPublishedPIA(t, src)
	o.MustOpenGate(t, src)
	if err := o.Ids.Acknowledge(ctx, o.As["cbp-analyst"], src.RulesKey, 1); err != nil {
		t.Fatal(err)
	}
	pols := o.DB.Policies(nil)
	if err := pols.InstallDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	eng := policy.NewEngine(pols, storetest.Logger())
	if err := eng.Load(ctx); err != nil {
		t.Fatal(err)
	}
	key, err := sealed.ParseKey(sealed.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{PrivacyOrg: o, conn: &fakeConn{}, scr: &screener{}, src: src, cases: o.DB.Cases(), queries: o.DB.Queries(), secrets: key, caseNo: caseNo, now: o.DB.Now()}
	day := e.now.Truncate(24 * time.Hour)
	if _, err := e.cases.Create(ctx, o.As["cbp-head"], cases.Case{Number: caseNo, Title: "Smuggling ring at the port", LegalAuthority: "8 U.S.C. 1357",
		Predicate: "Informant report of containers moved at night", Component: "CBP", Members: []cases.Member{{EmployeeID: "cbp-analyst"}},
		LegalProcess: []cases.LegalProcess{{Kind: cases.CourtOrder, Reference: orderNo, IssuedOn: day.AddDate(0, 0, -10), ExpiresOn: day.AddDate(0, 0, 80)}}}); err != nil {
		t.Fatalf("create case: %v", err)
	}
	// Five devices near 38.9, -77.03 during the last two hours; one far away.
	for i := range 5 {
		for k := range 4 {
			e.conn.pings = append(e.conn.pings, fakePing{dev: fmt.Sprintf("ad-id-%d", i), t: e.now.Add(-time.Duration(100-10*k-i) * time.Minute),
				lat: 38.9 + float64(i)*0.0005, lon: -77.03 + float64(k)*0.0005})
		}
	}
	e.conn.pings = append(e.conn.pings, fakePing{dev: "ad-id-far", t: e.now.Add(-time.Hour), lat: 39.5, lon: -76.0})
	e.deps = access.Deps{DB: o.DB, Ledger: o.Ledger, Identity: o.Ids, Privacy: o.Privacy, Cases: e.cases, Queries: e.queries,
		Policies: pols, Policy: eng, Settings: settings.NewService(o.DB.Settings()), Secrets: key, Connectors: e.conn, Screener: e.scr,
		Timeout: 2 * time.Second, Logger: storetest.Logger()}
	e.svc = access.New(e.deps)
	return e
}

func (e *env) area() query.Request {
	return query.Request{Kind: query.Area, Case: e.caseNo, Source: e.src.Name, Justification: "Containers moved at night near the port; find devices present.",
		Circle: &query.Circle{Lat: 38.901, Lon: -77.029, RadiusM: 500}, From: e.now.Add(-3 * time.Hour), To: e.now}
}

func (e *env) verify(t *testing.T, rc *ledger.Receipt, wantType string) ledger.Entry {
	t.Helper()
	if rc == nil {
		t.Fatal("no receipt")
	}
	v, _, err := ledger.ParseVerifiers(mustVerifierKey(t, e))
	if err != nil {
		t.Fatal(err)
	}
	en, _, err := rc.Verify(v)
	if err != nil {
		t.Fatalf("receipt does not verify: %v", err)
	}
	if en.Type != wantType {
		t.Fatalf("receipt of a %s entry, want %s", en.Type, wantType)
	}
	return en
}

func mustVerifierKey(t *testing.T, e *env) string {
	k, err := e.Ledger.VerifierKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func forEachDialect(t *testing.T, f func(t *testing.T, d store.Dialect)) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { f(t, d) })
	}
}

func TestAreaSearch(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		e := newEnv(t, d)
		out, err := e.svc.Submit(ctx, e.As["cbp-analyst"], e.area())
		if err != nil {
			t.Fatalf("submit: %v", err)
		}
		if out.Query.Status != query.Completed || out.Result == nil || len(out.Result.Devices) != 5 {
			t.Fatalf("outcome %+v, result %+v", out.Query, out.Result)
		}
		for _, dv := range out.Result.Devices {
			if !query.IsPseudonym(dv.Device) || dv.Pings != 4 {
				t.Errorf("device %+v: want a pseudonym with 4 pings", dv)
			}
		}
		en := e.verify(t, out.Receipt, "query.completed")
		if en.Digest != out.Query.ResultDigest || en.Digest != ledger.PayloadDigest(out.Result.Encode()) {
			t.Errorf("ledger digest %s, stored %s", en.Digest, out.Query.ResultDigest)
		}
		if en.Data["case"] != caseNo || en.Data["tier"] != "routine" || en.Actor.ID != "cbp-analyst" {
			t.Errorf("entry %+v", en)
		}
		// Nothing of the source's identifiers is in the ledger or the answer.
		for _, en := range e.Entries(t) {
			if b, _ := jsonString(en); strings.Contains(b, "ad-id-") {
				t.Fatalf("a source identifier is in the ledger: %s", b)
			}
		}
		if b := string(out.Result.Encode()); strings.Contains(b, "ad-id-") {
			t.Fatalf("a source identifier is in the result: %s", b)
		}
		if types := entryTypes(e.Entries(t, "query.started", "query.completed")); !slices.Equal(types, []string{"query.started", "query.completed"}) {
			t.Errorf("entries %v", types)
		}
		// The requester reads the results again: the read is recorded.
		res, rc, err := e.svc.Results(ctx, e.As["cbp-analyst"], out.Query.ID)
		if err != nil || len(res.Devices) != 5 {
			t.Fatalf("results: %v", err)
		}
		e.verify(t, rc, "query.results_read")
		// Others may not read them.
		if _, _, err := e.svc.Results(ctx, e.As["cbp-head"], out.Query.ID); fault.CodeOf(err) != fault.Forbidden {
			t.Errorf("supervisor read results: %v", err)
		}
		// Same devices, same pseudonyms in a second query of the case.
		out2, err := e.svc.Submit(ctx, e.As["cbp-analyst"], e.area())
		if err != nil || !slices.EqualFunc(out2.Result.Devices, out.Result.Devices, func(a, b query.Device) bool { return a.Device == b.Device }) {
			t.Fatalf("second search: %v, %+v", err, out2.Result)
		}
		storetest.SettledSize(t, e.DB, e.Ledger)
	})
}

func jsonString(en ledger.Entry) (string, error) {
	b, err := jsonMarshal(en)
	return string(b), err
}

func entryTypes(es []ledger.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Type)
	}
	return out
}

func TestRefusals(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		e := newEnv(t, d)
		other := e.area()
		other.Case = "CBP-2026-999999"
		bigWindow := e.area()
		bigWindow.From = e.now.Add(-40 * 24 * time.Hour)
		backwards := e.area()
		backwards.From, backwards.To = e.now, e.now.Add(-time.Hour)
		badGeo := e.area()
		badGeo.Circle, badGeo.Area = nil, []byte(`{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}`)
		short := e.area()
		short.Justification = "because"
		noSource := e.area()
		noSource.Source = "nothing-here"
		deviceNoOrder := query.Request{Kind: query.DeviceHistory, Case: caseNo, Source: e.src.Name, Justification: e.area().Justification,
			Device: "p-aaaaaaaaaaaaaaaaaaaa", From: e.now.Add(-time.Hour), To: e.now}
		for _, tc := range []struct {
			name string
			who  string
			req  query.Request
			code fault.Code
			want string
		}{
			{"NotMember", "cbp-head", e.area(), fault.Forbidden, "roles do not include"},
			{"UnknownCase", "cbp-analyst", other, fault.NotFound, "CBP-2026-999999"},
			{"UnknownSource", "cbp-analyst", noSource, fault.NotFound, "nothing-here"},
			{"WindowTooLong", "cbp-analyst", bigWindow, fault.Invalid, "longest allowed"},
			{"WindowBackwards", "cbp-analyst", backwards, fault.Invalid, "start before it ends"},
			{"SelfIntersecting", "cbp-analyst", badGeo, fault.Invalid, "area:"},
			{"ShortJustification", "cbp-analyst", short, fault.Invalid, "justification"},
			{"UnknownDevice", "cbp-analyst", deviceNoOrder, fault.NotFound, "appears in no kept result"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := len(e.Entries(t, "query.refused"))
				calls := e.conn.calls
				out, err := e.svc.Submit(ctx, e.As[tc.who], tc.req)
				if fault.CodeOf(err) != tc.code || !strings.Contains(fault.MessageOf(err), tc.want) {
					t.Fatalf("err = %v (%s), want %s mentioning %q", err, fault.CodeOf(err), tc.code, tc.want)
				}
				if out.Query.Status != query.Refused || out.Query.ID == 0 {
					t.Fatalf("query %+v", out.Query)
				}
				if n := len(e.Entries(t, "query.refused")); n != before+1 {
					t.Fatalf("%d refusals recorded, want %d", n, before+1)
				}
				if e.conn.calls != calls {
					t.Fatal("the connector was asked")
				}
				if _, _, _, err := e.queries.Result(ctx, out.Query.ID); fault.CodeOf(err) != fault.NotFound {
					t.Fatalf("a refused query has results: %v", err)
				}
			})
		}
		t.Run("PolicyNotMember", func(t *testing.T) {
			p := e.newAnalyst(t, "cbp-analyst2")
			_, err := e.svc.Submit(ctx, p, e.area())
			if fault.CodeOf(err) != fault.Forbidden || !strings.Contains(fault.MessageOf(err), "not a member of this case") {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("RulesNotAcknowledged", func(t *testing.T) {
			if _, err := e.Ids.PublishRules(ctx, e.As["dpo"], identity.Rules{Key: e.src.RulesKey, Title: "Rules for " + e.src.Name, Body: "Version two of the rules."}); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.Submit(ctx, e.As["cbp-analyst"], e.area())
			if fault.CodeOf(err) != fault.Forbidden || !strings.Contains(fault.MessageOf(err), "acknowledge") {
				t.Fatalf("err = %v", err)
			}
			if err := e.Ids.Acknowledge(ctx, e.As["cbp-analyst"], e.src.RulesKey, 2); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("GateClosed", func(t *testing.T) {
			if _, err := e.Privacy.SuspendSource(ctx, e.As["cbp-cpo"], e.src.ID, "vendor contract under review"); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.Submit(ctx, e.As["cbp-analyst"], e.area())
			if fault.CodeOf(err) != fault.Forbidden || !strings.Contains(fault.MessageOf(err), "may not be used") {
				t.Fatalf("err = %v", err)
			}
		})
	})
}

// newAnalyst adds an active CBP analyst under cbp-head who has
// acknowledged the source's rules, and returns their principal.
func (e *env) newAnalyst(t testing.TB, id string) auth.Principal {
	t.Helper()
	ctx := context.Background()
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	p, secret, err := e.Ids.Invite(ctx, admin, identity.Person{EmployeeID: id, Name: "Test " + id, Email: id + "@example.gov", Component: "CBP",
		SupervisorID: e.People["cbp-head"].ID, Schedule: identity.DefaultSchedule()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Ids.GrantRole(ctx, admin, identity.Grant{PersonID: p.ID, Role: auth.Analyst, Component: "CBP"}); err != nil {
		t.Fatal(err)
	}
	if p, err = e.Ids.Activate(ctx, secret, store.Enrolment{PasswordHash: "unused", TOTPSealed: []byte("unused")}); err != nil {
		t.Fatal(err)
	}
	grants, err := e.Ids.Grants(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	pr := identity.Principal(p, grants)
	rules, err := e.Ids.CurrentRules(ctx, e.src.RulesKey)
	if err != nil || len(rules) != 1 {
		t.Fatalf("rules: %v", err)
	}
	if err := e.Ids.Acknowledge(ctx, pr, e.src.RulesKey, rules[0].Version); err != nil {
		t.Fatal(err)
	}
	return pr
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func TestApprovalFlow(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		e := newEnv(t, d)
		// A window longer than the department limit (72 h) needs approval.
		r := e.area()
		r.From = e.now.Add(-5 * 24 * time.Hour)
		out, err := e.svc.Submit(ctx, e.As["cbp-analyst"], r)
		if err != nil || out.Query.Status != query.AwaitingApproval || out.Query.Tier != query.High || out.Result != nil {
			t.Fatalf("submit: %v, %+v", err, out.Query)
		}
		if e.conn.calls != 0 {
			t.Fatal("the connector was asked before approval")
		}
		id := out.Query.ID
		if _, err := e.svc.Run(ctx, e.As["cbp-analyst"], id); fault.CodeOf(err) != fault.Conflict {
			t.Fatalf("ran before approval: %v", err)
		}
		// Not the requester, not a privacy officer of a high tier, not an
		// ISSO: only a supervisor above.
		for _, who := range []string{"cbp-analyst", "cbp-cpo"} {
			if _, err := e.svc.Decide(ctx, e.As[who], id, true, ""); fault.CodeOf(err) != fault.Forbidden {
				t.Errorf("%s approved: %v", who, err)
			}
		}
		// Another component's officer does not learn the query exists.
		if _, err := e.svc.Decide(ctx, e.As["ice-cpo"], id, true, ""); fault.CodeOf(err) != fault.NotFound {
			t.Errorf("ice-cpo: %v", err)
		}
		if _, err := e.svc.Decide(ctx, e.As["cbp-head"], id, false, "short"); fault.CodeOf(err) != fault.Invalid {
			t.Errorf("rejected without a reason: %v", err)
		}
		// The query waits for the supervisor above, and for nobody else.
		for who, want := range map[string]bool{"cbp-head": true, "cbp-analyst": false, "cbp-cpo": false, "ice-cpo": false} {
			waiting, err := e.svc.Awaiting(ctx, e.As[who])
			if err != nil {
				t.Fatal(err)
			}
			got := slices.ContainsFunc(waiting, func(q store.QueryRecord) bool { return q.ID == id })
			if got != want || e.svc.MayDecide(ctx, e.As[who], id) != want {
				t.Errorf("%s: waiting for them %v, may decide %v; want %v", who, got, e.svc.MayDecide(ctx, e.As[who], id), want)
			}
		}
		rec, err := e.svc.Decide(ctx, e.As["cbp-head"], id, true, "")
		if err != nil || rec.Status != query.Approved {
			t.Fatalf("approve: %v %+v", err, rec)
		}
		if _, err := e.svc.Run(ctx, e.As["cbp-head"], id); fault.CodeOf(err) != fault.Forbidden {
			t.Errorf("the approver ran it: %v", err)
		}
		if e.svc.MayDecide(ctx, e.As["cbp-head"], id) {
			t.Error("the supervisor may decide again on an approved query")
		}
		out, err = e.svc.Run(ctx, e.As["cbp-analyst"], id)
		if err != nil || out.Query.Status != query.Completed || len(out.Result.Devices) != 5 {
			t.Fatalf("run: %v %+v", err, out.Query)
		}
		en := e.verify(t, out.Receipt, "query.completed")
		if as, _ := en.Data["approvals"].([]any); len(as) != 1 {
			t.Errorf("the entry records approvals %v", en.Data["approvals"])
		}
		if _, err := e.svc.Run(ctx, e.As["cbp-analyst"], id); fault.CodeOf(err) != fault.Conflict {
			t.Errorf("ran twice: %v", err)
		}

		// A rejected query never runs; an unused approval expires.
		out, _ = e.svc.Submit(ctx, e.As["cbp-analyst"], r)
		if rec, err := e.svc.Decide(ctx, e.As["cbp-head"], out.Query.ID, false, "the window is broader than the case needs"); err != nil || rec.Status != query.Rejected {
			t.Fatalf("reject: %v %+v", err, rec)
		}
		out, _ = e.svc.Submit(ctx, e.As["cbp-analyst"], r)
		if _, err := e.svc.Decide(ctx, e.As["cbp-head"], out.Query.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(25 * time.Hour)
		calls := e.conn.calls
		if _, err := e.svc.Run(ctx, e.As["cbp-analyst"], out.Query.ID); fault.CodeOf(err) != fault.Precondition || e.conn.calls != calls {
			t.Fatalf("an expired approval ran: %v", err)
		}
		if len(e.Entries(t, "query.expired")) != 1 || len(e.Entries(t, "query.rejected")) != 1 {
			t.Fatal("expiry and rejection are not both recorded")
		}
	})
}

func TestDeviceHistoryAndUnmask(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		e := newEnv(t, d)
		out, err := e.svc.Submit(ctx, e.As["cbp-analyst"], e.area())
		if err != nil {
			t.Fatal(err)
		}
		p := out.Result.Devices[0].Device
		h := query.Request{Kind: query.DeviceHistory, Case: caseNo, Source: e.src.Name, Justification: "Follow the device seen at the container yard.",
			Device: p, From: e.now.Add(-3 * time.Hour), To: e.now}
		if _, err := e.svc.Submit(ctx, e.As["cbp-analyst"], h); fault.CodeOf(err) != fault.Forbidden || !strings.Contains(err.Error(), "legal-process") {
			t.Fatalf("device history without the court order: %v", err)
		}
		h.LegalProcess = orderNo
		hist, err := e.svc.Submit(ctx, e.As["cbp-analyst"], h)
		if err != nil || hist.Query.Status != query.Completed || len(hist.Result.Pings) != 4 || hist.Result.Device != p {
			t.Fatalf("history: %v %+v", err, hist.Result)
		}
		if got := e.conn.gotDev[len(e.conn.gotDev)-1]; !strings.HasPrefix(got, "ad-id-") {
			t.Fatalf("the connector was asked for %q", got)
		}
		// A raw identifier is refused until an unmasking revealed it.
		raw := e.conn.gotDev[len(e.conn.gotDev)-1]
		hr := h
		hr.Device = raw
		if _, err := e.svc.Submit(ctx, e.As["cbp-analyst"], hr); fault.CodeOf(err) != fault.Forbidden {
			t.Fatalf("raw identifier: %v", err)
		}
		// Unmasking waits for approval, then reveals.
		u := query.Request{Kind: query.Unmask, Case: caseNo, Source: e.src.Name, Justification: "Serve the court order on the device's owner.", Device: p}
		out, err = e.svc.Submit(ctx, e.As["cbp-analyst"], u)
		if err != nil || out.Query.Status != query.AwaitingApproval {
			t.Fatalf("unmask: %v %+v", err, out.Query)
		}
		if _, err := e.svc.Decide(ctx, e.As["cbp-head"], out.Query.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		out, err = e.svc.Run(ctx, e.As["cbp-analyst"], out.Query.ID)
		if err != nil || out.Result.Revealed != raw {
			t.Fatalf("unmask run: %v %+v", err, out.Result)
		}
		if en := e.verify(t, out.Receipt, "query.completed"); en.Data["kind"] != "unmask" || strings.Contains(fmt.Sprint(en.Data), raw) {
			t.Fatalf("unmask entry %+v", en)
		}
		// Now the raw identifier works for this requester.
		if out, err := e.svc.Submit(ctx, e.As["cbp-analyst"], hr); err != nil || len(out.Result.Pings) != 4 || out.Result.Device != p {
			t.Fatalf("raw identifier after unmasking: %v", err)
		}
	})
}

func TestConnectorFailures(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		e := newEnv(t, d)
		for _, tc := range []struct {
			name  string
			err   error
			delay time.Duration
			code  fault.Code
			want  string
		}{
			{"Unavailable", connector.Errorf(connector.ErrUnavailable, "HTTP 503 after 3 attempts"), 0, fault.Unavailable, "unavailable"},
			{"Garbage", connector.Errorf(connector.ErrMalformed, "devices[2].first_seen is not a time"), 0, fault.Unavailable, "cannot read"},
			{"Timeout", nil, 5 * time.Second, fault.Timeout, "did not answer in time"},
			{"Internal", errors.New("dial tcp: secret-host refused"), 0, fault.Unavailable, "failed to answer"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.conn.err, e.conn.delay = tc.err, tc.delay
				defer func() { e.conn.err, e.conn.delay = nil, 0 }()
				out, err := e.svc.Submit(ctx, e.As["cbp-analyst"], e.area())
				if fault.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secret-host") {
					t.Fatalf("err = %v (%s)", err, fault.CodeOf(err))
				}
				if out.Query.Status != query.Failed || out.Result != nil {
					t.Fatalf("outcome %+v", out)
				}
				if _, _, _, err := e.queries.Result(ctx, out.Query.ID); fault.CodeOf(err) != fault.NotFound {
					t.Fatal("a failed query has results")
				}
				fails := e.Entries(t, "query.failed")
				if len(fails) == 0 || fails[len(fails)-1].Subject != fmt.Sprintf("query/%d", out.Query.ID) {
					t.Fatal("the failure is not recorded")
				}
			})
		}
		t.Run("Cancelled", func(t *testing.T) {
			e.conn.delay = 5 * time.Second
			defer func() { e.conn.delay = 0 }()
			cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			out, err := e.svc.Submit(cctx, e.As["cbp-analyst"], e.area())
			if err == nil || out.Query.Status != query.Failed || !strings.Contains(err.Error(), "cancelled") && !strings.Contains(err.Error(), "in time") {
				t.Fatalf("cancelled: %v %+v", err, out.Query)
			}
			if stored, err := e.queries.Get(ctx, nil, out.Query.ID, false); err != nil || stored.Status != query.Failed {
				t.Fatalf("stored %+v, %v", stored, err)
			}
		})
	})
}

func TestWithheldAndScreeningFailure(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		e := newEnv(t, d)
		out, err := e.svc.Submit(ctx, e.As["cbp-analyst"], e.area())
		if err != nil {
			t.Fatal(err)
		}
		e.scr.withhold = true
		h := query.Request{Kind: query.DeviceHistory, Case: caseNo, Source: e.src.Name, Justification: "Follow the device seen at the container yard.",
			Device: out.Result.Devices[1].Device, From: e.now.Add(-3 * time.Hour), To: e.now, LegalProcess: orderNo}
		out, err = e.svc.Submit(ctx, e.As["cbp-analyst"], h)
		if err != nil || out.Query.Status != query.Withheld || out.Result != nil || out.Message != "results withheld pending privacy review" {
			t.Fatalf("withheld: %v %+v", err, out)
		}
		e.verify(t, out.Receipt, "query.withheld")
		if _, _, err := e.svc.Results(ctx, e.As["cbp-analyst"], out.Query.ID); fault.CodeOf(err) != fault.Forbidden || !strings.Contains(err.Error(), "withheld") {
			t.Fatalf("requester read withheld results: %v", err)
		}
		res, rc, err := e.svc.Results(ctx, e.As["cbp-cpo"], out.Query.ID)
		if err != nil || len(res.Pings) != 4 {
			t.Fatalf("privacy officer review: %v", err)
		}
		e.verify(t, rc, "query.results_read")
		// The privacy officer decides: the withholding upheld, then the
		// results released to the requester.
		const note = "Reviewed with the case agent; the device belongs to the suspect."
		wid := out.Query.ID
		for _, tc := range []struct {
			name string
			who  string
			note string
			code fault.Code
		}{
			{"ErrRequester", "cbp-analyst", note, fault.Forbidden},
			{"ErrSupervisor", "cbp-head", note, fault.Forbidden},
			{"ErrShortNote", "cbp-cpo", "fine", fault.Invalid},
			{"ErrOtherComponent", "ice-cpo", note, fault.NotFound},
		} {
			if _, err := e.svc.ReviewWithheld(ctx, e.As[tc.who], wid, true, tc.note); fault.CodeOf(err) != tc.code {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			}
		}
		rec, err := e.svc.ReviewWithheld(ctx, e.As["cbp-cpo"], wid, false, "Held until the professional responsibility office has looked.")
		if err != nil || rec.Status != query.Withheld {
			t.Fatalf("uphold: %v %+v", err, rec)
		}
		if _, _, err := e.svc.Results(ctx, e.As["cbp-analyst"], wid); fault.CodeOf(err) != fault.Forbidden {
			t.Fatalf("requester read upheld results: %v", err)
		}
		if rec, err = e.svc.ReviewWithheld(ctx, e.As["cbp-cpo2"], wid, true, note); err != nil || rec.Status != query.Completed {
			t.Fatalf("release: %v %+v", err, rec)
		}
		if res, _, err := e.svc.Results(ctx, e.As["cbp-analyst"], wid); err != nil || len(res.Pings) != 4 {
			t.Fatalf("requester reads released results: %v", err)
		}
		if _, err := e.svc.ReviewWithheld(ctx, e.As["cbp-cpo"], wid, true, note); fault.CodeOf(err) != fault.Conflict {
			t.Errorf("released twice: %v", err)
		}
		if es := e.Entries(t, "query.withholding_upheld", "query.released"); len(es) != 2 || es[1].Digest != ledger.PayloadDigest([]byte(note)) || es[1].Actor.ID != "cbp-cpo2" {
			t.Errorf("decisions recorded as %+v", es)
		}
		// A request screener that fails refuses the query (fail closed).
		e.scr.err = errors.New("zones unavailable")
		if _, err := e.svc.Submit(ctx, e.As["cbp-analyst"], e.area()); fault.CodeOf(err) != fault.Unavailable {
			t.Fatalf("screening failure let a query through: %v", err)
		}
		e.scr.err = nil
		// Flags from request screening raise the tier.
		e.scr.flags = []string{query.FlagEmployeeHome}
		out, err = e.svc.Submit(ctx, e.As["cbp-analyst"], e.area())
		if err != nil || out.Query.Status != query.AwaitingApproval || out.Query.Tier != query.Critical {
			t.Fatalf("employee home: %v %+v", err, out.Query)
		}
		// Critical needs the supervisor and a component privacy officer.
		if rec, err := e.svc.Decide(ctx, e.As["cbp-head"], out.Query.ID, true, ""); err != nil || rec.Status != query.AwaitingApproval {
			t.Fatalf("supervisor: %v %+v", err, rec)
		}
		if rec, err := e.svc.Decide(ctx, e.As["cbp-cpo"], out.Query.ID, true, ""); err != nil || rec.Status != query.Approved {
			t.Fatalf("privacy officer: %v %+v", err, rec)
		}
	})
}

func TestRetention(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		e := newEnv(t, d)
		out, err := e.svc.Submit(ctx, e.As["cbp-analyst"], e.area())
		if err != nil {
			t.Fatal(err)
		}
		if n, err := e.svc.Purge(ctx); err != nil || n != 0 {
			t.Fatalf("purged %d early: %v", n, err)
		}
		e.Clock.Advance(91 * 24 * time.Hour)
		n, err := e.svc.Purge(ctx)
		if err != nil || n != 1 {
			t.Fatalf("purged %d: %v", n, err)
		}
		if _, _, err := e.svc.Results(ctx, e.As["cbp-analyst"], out.Query.ID); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("results after purge: %v", err)
		}
		purges := e.Entries(t, "query.results_purged")
		if len(purges) != 1 || purges[0].Digest != out.Query.ResultDigest {
			t.Fatalf("purge entries %+v", purges)
		}
		// The ledger still verifies, and the receipt still proves the query.
		e.verify(t, out.Receipt, "query.completed")
		keys := []string{mustVerifierKey(t, e)}
		v, _, _ := ledger.ParseVerifiers(strings.Join(keys, "\n"))
		rep, err := ledger.VerifyRows(ctx, e.Ledger.AllRows(ctx), ledger.VerifyOptions{Verifiers: v, Origin: e.Ledger.Origin()})
		if err != nil || !rep.OK() {
			t.Fatalf("verify after purge: %v %v", err, rep.Problem)
		}
	})
}

func TestEvidenceHold(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		e := newEnv(t, d)
		if _, err := e.svc.Submit(ctx, e.As["cbp-analyst"], e.area()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.cases.SetEvidenceHold(ctx, e.As["cbp-head"], caseNo, true, "litigation hold from the US Attorney"); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(400 * 24 * time.Hour)
		if n, err := e.svc.Purge(ctx); err != nil || n != 0 {
			t.Fatalf("purged %d under an evidence hold: %v", n, err)
		}
	})
}
