package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/settings"
	"github.com/probity-dev/probity/internal/store"
)

// A Clock is a test clock that starts at the real time and moves only
// forward, when told.
type Clock struct{ offset atomic.Int64 }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// A PrivacyOrg is a database with an organization to exercise the privacy
// store on: components CBP and ICE, and an active person in each role the
// privacy program involves.
type PrivacyOrg struct {
	DB      *store.DB
	Ledger  *store.Ledger
	Ids     *store.Identity
	Privacy *store.Privacy
	Clock   *Clock
	// As holds each person's principal, by label: cbp-head (supervisor),
	// cbp-isso (security officer, supervised by cbp-head), cbp-cpo and
	// cbp-cpo2 (component privacy officers; cbp-cpo2 is supervised by
	// cbp-isso), cbp-analyst, ice-isso, ice-cpo, dpo (department privacy
	// officer) and auditor (department-wide).
	As     map[string]auth.Principal
	People map[string]identity.Person
}

// orgPeople are the people of a PrivacyOrg, supervisors first.
var orgPeople = []struct {
	label, component, boss string
	role                   auth.Role
}{
	{"cbp-head", "CBP", "", auth.Supervisor},
	{"cbp-isso", "CBP", "cbp-head", auth.SecurityOfficer},
	{"cbp-cpo", "CBP", "", auth.ComponentPrivacyOfficer},
	{"cbp-cpo2", "CBP", "cbp-isso", auth.ComponentPrivacyOfficer},
	{"cbp-analyst", "CBP", "cbp-head", auth.Analyst},
	{"ice-isso", "ICE", "", auth.SecurityOfficer},
	{"ice-cpo", "ICE", "", auth.ComponentPrivacyOfficer},
	{"dpo", "", "", auth.DepartmentPrivacyOfficer},
	{"auditor", "", "", auth.Auditor},
}

// MustPrivacyOrg opens a fresh database of dialect d, on a test clock,
// with the organization of a [PrivacyOrg].
func MustPrivacyOrg(tb testing.TB, d store.Dialect) *PrivacyOrg {
	tb.Helper()
	ctx := context.Background()
	clock := &Clock{}
	db, l := MustOpenWith(tb, store.Options{DSN: NewDSN(tb, d), Clock: clock.Now}, MustKeys(tb))
	o := &PrivacyOrg{DB: db, Ledger: l, Ids: db.Identity(), Privacy: db.Privacy(), Clock: clock, As: map[string]auth.Principal{}, People: map[string]identity.Person{}}
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "storetest-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	for _, c := range []string{"CBP", "ICE"} {
		if err := o.Ids.CreateComponent(ctx, admin, identity.Component{Code: c, Name: c + " component"}); err != nil {
			tb.Fatal(err)
		}
	}
	for _, p := range orgPeople {
		person := identity.Person{EmployeeID: p.label, Name: "Test " + p.label, Email: p.label + "@example.gov", Component: p.component, Schedule: identity.DefaultSchedule()}
		if p.boss != "" {
			person.SupervisorID = o.People[p.boss].ID
		}
		person, secret, err := o.Ids.Invite(ctx, admin, person)
		if err != nil {
			tb.Fatalf("invite %s: %v", p.label, err)
		}
		if _, err := o.Ids.GrantRole(ctx, admin, identity.Grant{PersonID: person.ID, Role: p.role, Component: p.component}); err != nil {
			tb.Fatalf("grant %s: %v", p.label, err)
		}
		if person, err = o.Ids.Activate(ctx, secret, store.Enrolment{PasswordHash: "unused", TOTPSealed: []byte("unused")}); err != nil {
			tb.Fatalf("activate %s: %v", p.label, err)
		}
		grants, err := o.Ids.Grants(ctx, person.ID)
		if err != nil {
			tb.Fatal(err)
		}
		o.People[p.label], o.As[p.label] = person, identity.Principal(person, grants)
	}
	return o
}

// MustSystem adds a system of component, owned by its head and secured by
// its security officer.
func (o *PrivacyOrg) MustSystem(tb testing.TB, component, name string) privacy.System {
	tb.Helper()
	lc := strings.ToLower(component)
	owner := o.People[lc+"-head"]
	if owner.ID == 0 {
		owner = o.People[lc+"-isso"]
	}
	sys, err := o.Privacy.CreateSystem(context.Background(), o.As[lc+"-isso"], privacy.System{Name: name, Component: component,
		OwnerID: owner.ID, ISSOID: o.People[lc+"-isso"].ID, Impact: privacy.High,
		ATOGranted: o.Clock.Now().AddDate(-1, 0, 0).UTC().Truncate(24 * time.Hour), ATOExpires: o.Clock.Now().AddDate(2, 0, 0).UTC().Truncate(24 * time.Hour)})
	if err != nil {
		tb.Fatalf("create system %s: %v", name, err)
	}
	return sys
}

// MustSource adds a vendor API data source to a system.
func (o *PrivacyOrg) MustSource(tb testing.TB, sys privacy.System, name string) privacy.Source {
	tb.Helper()
	src, err := o.Privacy.CreateSource(context.Background(), o.As[strings.ToLower(sys.Component)+"-isso"], privacy.Source{
		Name: name, Title: "Source " + name, SystemID: sys.ID, Vendor: "Example Telemetry, Inc.", ContractNumber: "70B-" + name,
		Categories: []string{"device_location", "advertising_id"}, Connector: privacy.VendorAPI})
	if err != nil {
		tb.Fatalf("create source %s: %v", name, err)
	}
	return src
}

// CompleteDocument returns a PIA document that may be submitted.
func CompleteDocument(topic string) privacy.Document {
	para := func(section string) string {
		return fmt.Sprintf("The %s section of the PIA of %s, with enough detail for a reviewer to judge it.", section, topic)
	}
	return privacy.Document{
		Overview: para("overview"), LegalAuthorities: []string{"6 U.S.C. 202"}, Characterization: para("characterization"),
		Uses: para("uses"), Notice: para("notice"), Retention: para("retention"), Sharing: para("sharing"), Redress: para("redress"), Auditing: para("auditing"),
		Risks: []privacy.Risk{{Section: "uses", Description: "Locations of people unrelated to a case could be queried.",
			Mitigation: "Every query names a case and a justification and is reviewed.", Residual: privacy.RiskLow}},
	}
}

// MustPublishedPIA writes (as the component's security officer), submits,
// reviews (component privacy officer), approves and publishes (department
// privacy officer) a PIA of src, and returns it.
func (o *PrivacyOrg) MustPublishedPIA(tb testing.TB, src privacy.Source) privacy.PIA {
	tb.Helper()
	ctx := context.Background()
	lc := strings.ToLower(src.Component)
	p, err := o.Privacy.CreatePIA(ctx, o.As[lc+"-isso"], src.ID, "PIA of "+src.Name, CompleteDocument(src.Name), "first draft")
	if err != nil {
		tb.Fatalf("create PIA of %s: %v", src.Name, err)
	}
	for _, st := range []struct {
		who string
		a   privacy.Action
	}{{lc + "-isso", privacy.Submit}, {lc + "-cpo", privacy.Accept}, {"dpo", privacy.Approve}, {"dpo", privacy.Publish}} {
		if p, err = o.Privacy.Step(ctx, o.As[st.who], p.ID, st.a, store.StepInput{}); err != nil {
			tb.Fatalf("%s PIA of %s as %s: %v", st.a, src.Name, st.who, err)
		}
	}
	return p
}

// MustOpenGate publishes the rules of behavior of src and marks its
// credential configured.
func (o *PrivacyOrg) MustOpenGate(tb testing.TB, src privacy.Source) {
	tb.Helper()
	ctx := context.Background()
	if _, err := o.Ids.PublishRules(ctx, o.As["dpo"], identity.Rules{Key: src.RulesKey, Title: "Rules for " + src.Name, Body: "Use this source only for open cases you are assigned to."}); err != nil {
		tb.Fatal(err)
	}
	if _, err := o.Privacy.SetCredential(ctx, o.As[strings.ToLower(src.Component)+"-isso"], src.ID, "sealed:"+src.Name); err != nil {
		tb.Fatal(err)
	}
}

// Gate checks a source's gate inside a read-write transaction, as the
// query path does.
func (o *PrivacyOrg) Gate(tb testing.TB, sourceID int64) privacy.GateStatus {
	tb.Helper()
	var g privacy.GateStatus
	err := o.DB.Update(context.Background(), func(tx *store.Tx) error {
		var err error
		g, err = o.Privacy.CheckGate(context.Background(), tx, sourceID)
		return err
	})
	if err != nil {
		tb.Fatalf("check the gate of %d: %v", sourceID, err)
	}
	return g
}

// Entries returns the ledger's entries of the given types (all when none
// is given), once every pending entry is integrated.
func (o *PrivacyOrg) Entries(tb testing.TB, types ...string) []ledger.Entry {
	tb.Helper()
	ctx := context.Background()
	SettledSize(tb, o.DB, o.Ledger)
	var out []ledger.Entry
	for r, err := range o.Ledger.AllRows(ctx) {
		if err != nil {
			tb.Fatal(err)
		}
		e, err := ledger.Decode(r.Entry)
		if err != nil {
			tb.Fatal(err)
		}
		if len(types) == 0 || slices.Contains(types, e.Type) {
			out = append(out, e)
		}
	}
	return out
}

func testPrivacy(t *testing.T, d store.Dialect) {
	t.Run("Inventory", func(t *testing.T) { testPrivacyInventory(t, d) })
	t.Run("Gate", func(t *testing.T) { testPrivacyGate(t, d) })
	t.Run("Workflow", func(t *testing.T) { testPrivacyWorkflow(t, d) })
	t.Run("Expiry", func(t *testing.T) { testPrivacyExpiry(t, d) })
	t.Run("UpdateRequired", func(t *testing.T) { testPrivacyUpdateRequired(t, d) })
	t.Run("PTA", func(t *testing.T) { testPrivacyPTA(t, d) })
	t.Run("PCR", func(t *testing.T) { testPrivacyPCR(t, d) })
	t.Run("GateHoldsUntilCommit", func(t *testing.T) { testPrivacyGateLock(t, d) })
}

func wantCode(tb testing.TB, label string, err error, code fault.Code) {
	tb.Helper()
	if fault.CodeOf(err) != code {
		tb.Errorf("%s: %v (code %s), want %s", label, err, fault.CodeOf(err), code)
	}
}

func testPrivacyInventory(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustPrivacyOrg(t, d)
	ps := o.Privacy
	sys := o.MustSystem(t, "CBP", "Targeting analytics")

	t.Run("ErrSystemPeople", func(t *testing.T) {
		// The ISSO must be a security officer of the component; the owner
		// a person of it.
		_, err := ps.CreateSystem(ctx, o.As["cbp-isso"], privacy.System{Name: "Other", Component: "CBP", OwnerID: o.People["ice-isso"].ID,
			ISSOID: o.People["cbp-cpo"].ID, Impact: privacy.Moderate})
		wantCode(t, "wrong people", err, fault.Invalid)
		if msg := fault.MessageOf(err); !strings.Contains(msg, "owner_id person") || !strings.Contains(msg, "isso_id person") {
			t.Errorf("message %q does not name both fields", msg)
		}
		_, err = ps.CreateSystem(ctx, o.As["cbp-isso"], privacy.System{Name: "Targeting analytics", Component: "CBP", OwnerID: o.People["cbp-head"].ID,
			ISSOID: o.People["cbp-isso"].ID, Impact: privacy.Moderate})
		wantCode(t, "duplicate", err, fault.Conflict)
	})
	t.Run("ErrRoles", func(t *testing.T) {
		_, err := ps.CreateSystem(ctx, o.As["cbp-analyst"], privacy.System{Name: "Mine", Component: "CBP", OwnerID: o.People["cbp-head"].ID, ISSOID: o.People["cbp-isso"].ID, Impact: privacy.Low})
		wantCode(t, "analyst creates a system", err, fault.Forbidden)
		_, err = ps.CreateSystem(ctx, o.As["ice-isso"], privacy.System{Name: "Theirs", Component: "CBP", OwnerID: o.People["cbp-head"].ID, ISSOID: o.People["cbp-isso"].ID, Impact: privacy.Low})
		wantCode(t, "ICE creates a CBP system", err, fault.Forbidden)
		_, err = ps.CreateSource(ctx, o.As["auditor"], privacy.Source{Name: "x-source", Title: "X", SystemID: sys.ID, Vendor: "V", ContractNumber: "C", Categories: []string{"device_location"}, Connector: privacy.LocalStore})
		wantCode(t, "auditor creates a source", err, fault.Forbidden)
	})

	src := o.MustSource(t, sys, "venntel-cbp")
	t.Run("OKSource", func(t *testing.T) {
		if src.Component != "CBP" || src.RulesKey != "source:venntel-cbp" || !slices.Equal(src.Categories, []string{"advertising_id", "device_location"}) {
			t.Errorf("source %+v", src)
		}
		got, err := ps.Source(ctx, o.As["cbp-analyst"], src.ID)
		if err != nil || got.Name != src.Name || !got.CreatedAt.Equal(src.CreatedAt) {
			t.Errorf("Source = %+v, %v", got, err)
		}
		_, err = o.Privacy.CreateSource(ctx, o.As["cbp-cpo"], privacy.Source{Name: "venntel-cbp", Title: "Again", SystemID: sys.ID, Vendor: "V", ContractNumber: "C", Categories: []string{"device_location"}, Connector: privacy.LocalStore})
		wantCode(t, "duplicate name", err, fault.Conflict)
	})
	t.Run("ErrOtherComponent", func(t *testing.T) {
		// ICE sees nothing of CBP's inventory: not the system, not the
		// source, not in lists.
		_, err := ps.System(ctx, o.As["ice-cpo"], sys.ID)
		wantCode(t, "ICE reads the CBP system", err, fault.NotFound)
		_, err = ps.Source(ctx, o.As["ice-cpo"], src.ID)
		wantCode(t, "ICE reads the CBP source", err, fault.NotFound)
		_, err = ps.SuspendSource(ctx, o.As["ice-cpo"], src.ID, "cross-component")
		wantCode(t, "ICE suspends the CBP source", err, fault.NotFound)
		_, err = ps.GateStatus(ctx, o.As["ice-isso"], src.ID)
		wantCode(t, "ICE reads the CBP gate", err, fault.NotFound)
		_, err = ps.CreateSource(ctx, o.As["ice-isso"], privacy.Source{Name: "sneaky", Title: "S", SystemID: sys.ID, Vendor: "V", ContractNumber: "C", Categories: []string{"device_location"}, Connector: privacy.LocalStore})
		wantCode(t, "ICE adds a source to the CBP system", err, fault.NotFound)
		for _, who := range []string{"ice-cpo", "ice-isso"} {
			srcs, err := ps.Sources(ctx, o.As[who], "")
			if err != nil || len(srcs) != 0 {
				t.Errorf("%s lists %d sources, %v", who, len(srcs), err)
			}
			srcs, err = ps.Sources(ctx, o.As[who], "CBP")
			if err != nil || len(srcs) != 0 {
				t.Errorf("%s lists %d CBP sources, %v", who, len(srcs), err)
			}
		}
		for _, who := range []string{"dpo", "auditor", "cbp-analyst"} {
			srcs, err := ps.Sources(ctx, o.As[who], "")
			if err != nil || len(srcs) != 1 {
				t.Errorf("%s lists %d sources, %v", who, len(srcs), err)
			}
		}
	})
	t.Run("OKUpdateSystem", func(t *testing.T) {
		name, impact := "Targeting analytics platform", privacy.Moderate
		got, err := ps.UpdateSystem(ctx, o.As["cbp-cpo"], sys.ID, store.SystemUpdate{Name: &name, Impact: &impact})
		if err != nil || got.Name != name || got.Impact != impact {
			t.Fatalf("UpdateSystem = %+v, %v", got, err)
		}
		bad := o.People["cbp-analyst"].ID
		_, err = ps.UpdateSystem(ctx, o.As["cbp-cpo"], sys.ID, store.SystemUpdate{ISSOID: &bad})
		wantCode(t, "an analyst as ISSO", err, fault.Invalid)
	})
	t.Run("OKCredential", func(t *testing.T) {
		ref := "vault:kv/cbp/venntel-secret-path"
		got, err := ps.SetCredential(ctx, o.As["cbp-isso"], src.ID, ref)
		if err != nil || got.CredentialRef != ref || got.CredentialConfiguredAt.IsZero() {
			t.Fatalf("SetCredential = %+v, %v", got, err)
		}
		_, err = ps.SetCredential(ctx, o.As["cbp-isso"], src.ID, "hunter2")
		wantCode(t, "a secret instead of a reference", err, fault.Invalid)
		// The ledger commits to the reference without holding it.
		es := o.Entries(t, "inventory.source_credential_configured")
		if len(es) != 1 || es[0].Digest != ledger.PayloadDigest([]byte(ref)) {
			t.Fatalf("credential entries %+v", es)
		}
		for _, e := range o.Entries(t) {
			b, _ := ledger.Encode(e.Event(), e.Seq, e.Timestamp())
			if strings.Contains(string(b), "venntel-secret-path") {
				t.Errorf("ledger entry %d (%s) holds the credential reference", e.Seq, e.Type)
			}
		}
	})
	t.Run("OKSuspend", func(t *testing.T) {
		_, err := ps.SuspendSource(ctx, o.As["cbp-cpo"], src.ID, " ")
		wantCode(t, "no reason", err, fault.Invalid)
		got, err := ps.SuspendSource(ctx, o.As["cbp-cpo"], src.ID, "misuse under review")
		if err != nil || !got.Suspended() || got.SuspendedBy != "cbp-cpo" {
			t.Fatalf("SuspendSource = %+v, %v", got, err)
		}
		_, err = ps.SuspendSource(ctx, o.As["cbp-cpo"], src.ID, "again")
		wantCode(t, "suspend twice", err, fault.Conflict)
		if got, err = ps.ReinstateSource(ctx, o.As["dpo"], src.ID, "review closed"); err != nil || got.Suspended() {
			t.Fatalf("ReinstateSource = %+v, %v", got, err)
		}
		if n := len(o.Entries(t, "inventory.source_suspended", "inventory.source_reinstated")); n != 2 {
			t.Errorf("%d suspension entries, want 2", n)
		}
	})
}

func testPrivacyGate(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustPrivacyOrg(t, d)
	ps := o.Privacy
	src := o.MustSource(t, o.MustSystem(t, "CBP", "Targeting"), "venntel-cbp")

	// A new source misses everything but a suspension.
	g := o.Gate(t, src.ID)
	if want := []string{privacy.PIAMissing, privacy.RulesUnpublished, privacy.CredentialMissing}; g.Usable || !slices.Equal(g.Codes(), want) {
		t.Fatalf("a new source: usable %v, missing %v; want %v", g.Usable, g.Codes(), want)
	}
	// Each piece names who can fix it: the component's people and the
	// department's, never another component's.
	names := func(m privacy.Missing) []string {
		var out []string
		for _, p := range m.People {
			out = append(out, p.EmployeeID+"/"+string(p.Role))
		}
		return out
	}
	for i, want := range [][]string{
		{"cbp-cpo/component_privacy_officer", "cbp-cpo2/component_privacy_officer", "cbp-isso/security_officer"},
		{"cbp-cpo/component_privacy_officer", "cbp-cpo2/component_privacy_officer", "dpo/department_privacy_officer"},
		{"cbp-isso/security_officer"},
	} {
		if got := names(g.Missing[i]); !slices.Equal(got, want) {
			t.Errorf("%s is fixed by %v, want %v", g.Missing[i].Code, got, want)
		}
	}
	// The refusal is typed and lists every piece.
	err := o.DB.Update(ctx, func(tx *store.Tx) error { return ps.RequireGate(ctx, tx, src.ID) })
	ge, ok := errors.AsType[*privacy.GateError](err)
	if !ok || fault.CodeOf(err) != fault.Precondition || len(ge.Status.Missing) != 3 || !strings.Contains(fault.MessageOf(err), "Test cbp-isso (Security officer (ISSO))") {
		t.Fatalf("RequireGate = %v", err)
	}
	if err := o.DB.Update(ctx, func(tx *store.Tx) error { _, err := ps.CheckGate(ctx, tx, 99999); return err }); !fault.Is(err, fault.NotFound) {
		t.Errorf("the gate of no source: %v", err)
	}

	// Fix one piece at a time.
	o.MustPublishedPIA(t, src)
	if g := o.Gate(t, src.ID); !slices.Equal(g.Codes(), []string{privacy.RulesUnpublished, privacy.CredentialMissing}) {
		t.Fatalf("after the PIA: %v", g.Codes())
	}
	o.MustOpenGate(t, src)
	g = o.Gate(t, src.ID)
	if !g.Usable || g.EffectiveVersion != 1 || g.RulesVersion != 1 || g.PIAExpiresAt.Before(o.Clock.Now().AddDate(2, 11, 0)) {
		t.Fatalf("every piece in place: %+v", g)
	}
	if err := o.DB.Update(ctx, func(tx *store.Tx) error { return ps.RequireGate(ctx, tx, src.ID) }); err != nil {
		t.Fatalf("RequireGate on a usable source: %v", err)
	}

	// Each piece removed closes the gate again, and putting it back opens
	// it.
	for _, c := range []struct {
		name        string
		remove, fix func() error
		code        string
	}{
		{"suspension",
			func() error {
				_, err := ps.SuspendSource(ctx, o.As["cbp-cpo"], src.ID, "misuse under review")
				return err
			},
			func() error { _, err := ps.ReinstateSource(ctx, o.As["cbp-cpo"], src.ID, "cleared"); return err },
			privacy.SourceSuspended},
		{"credential",
			func() error { _, err := ps.SetCredential(ctx, o.As["cbp-isso"], src.ID, ""); return err },
			func() error { _, err := ps.SetCredential(ctx, o.As["cbp-isso"], src.ID, "sealed:rotated"); return err },
			privacy.CredentialMissing},
		{"rules key",
			func() error {
				k := "source:venntel-cbp-v2"
				_, err := ps.UpdateSource(ctx, o.As["cbp-cpo"], src.ID, store.SourceUpdate{RulesKey: &k})
				return err
			},
			func() error {
				_, err := o.Ids.PublishRules(ctx, o.As["cbp-cpo"], identity.Rules{Key: "source:venntel-cbp-v2", Title: "Rules v2", Body: "Use this source only for open cases you are assigned to."})
				return err
			},
			privacy.RulesUnpublished},
	} {
		if err := c.remove(); err != nil {
			t.Fatalf("remove the %s: %v", c.name, err)
		}
		if g := o.Gate(t, src.ID); g.Usable || !slices.Equal(g.Codes(), []string{c.code}) {
			t.Errorf("without the %s: usable %v, missing %v", c.name, g.Usable, g.Codes())
		}
		if err := c.fix(); err != nil {
			t.Fatalf("put back the %s: %v", c.name, err)
		}
		if g := o.Gate(t, src.ID); !g.Usable {
			t.Errorf("with the %s back: missing %v", c.name, g.Codes())
		}
	}

	// A local store needs no credential.
	local := o.MustSource(t, o.MustSystem(t, "CBP", "Local"), "local-cbp")
	lc := privacy.LocalStore
	if _, err := ps.UpdateSource(ctx, o.As["cbp-isso"], local.ID, store.SourceUpdate{Connector: &lc}); err != nil {
		t.Fatal(err)
	}
	if g := o.Gate(t, local.ID); !slices.Equal(g.Codes(), []string{privacy.PIAMissing, privacy.RulesUnpublished}) {
		t.Errorf("a local source: %v", g.Codes())
	}
	_, err = ps.SetCredential(ctx, o.As["cbp-isso"], local.ID, "sealed:x")
	wantCode(t, "a credential for the local store", err, fault.Invalid)

	// The listing shows every source's gate, as of one snapshot.
	all, err := ps.GateStatuses(ctx, o.As["cbp-analyst"], "")
	if err != nil || len(all) != 2 || all[0].SourceName != "local-cbp" || all[0].Usable || !all[1].Usable {
		t.Errorf("GateStatuses = %+v, %v", all, err)
	}
	if none, err := ps.GateStatuses(ctx, o.As["ice-cpo"], ""); err != nil || len(none) != 0 {
		t.Errorf("ICE sees %d CBP gates, %v", len(none), err)
	}
}

func testPrivacyWorkflow(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustPrivacyOrg(t, d)
	ps := o.Privacy
	src := o.MustSource(t, o.MustSystem(t, "CBP", "Targeting"), "venntel-cbp")
	step := func(who string, id int64, a privacy.Action, comments string) (privacy.PIA, error) {
		return ps.Step(ctx, o.As[who], id, a, store.StepInput{Comments: comments})
	}

	draft := CompleteDocument("venntel")
	draft.Notice = "TBD"
	p, err := ps.CreatePIA(ctx, o.As["cbp-isso"], src.ID, "Venntel PIA", draft, "first draft")
	if err != nil || p.Status != privacy.Draft || p.Version != 1 {
		t.Fatalf("CreatePIA = %+v, %v", p, err)
	}
	_, err = ps.CreatePIA(ctx, o.As["cbp-cpo"], src.ID, "Another", draft, "")
	wantCode(t, "a second PIA of the source", err, fault.Conflict)
	_, err = ps.CreatePIA(ctx, o.As["cbp-analyst"], src.ID, "Mine", draft, "")
	wantCode(t, "an analyst writes a PIA", err, fault.Forbidden)

	// An incomplete draft is refused at submission with the field named;
	// that is bad input, not a workflow step, and changes nothing.
	_, err = step("cbp-isso", p.ID, privacy.Submit, "")
	if !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), "notice must be at least") {
		t.Fatalf("submit an incomplete draft: %v", err)
	}
	// The component privacy officer completes it: now co-author.
	if p, err = ps.EditPIA(ctx, o.As["cbp-cpo"], p.ID, 1, CompleteDocument("venntel"), "notice written"); err != nil || p.Version != 2 {
		t.Fatalf("EditPIA = %+v, %v", p, err)
	}
	_, err = ps.EditPIA(ctx, o.As["cbp-isso"], p.ID, 1, draft, "stale")
	wantCode(t, "an edit of a stale version", err, fault.Conflict)
	_, err = ps.EditPIA(ctx, o.As["cbp-isso"], p.ID, 2, CompleteDocument("venntel"), "no change")
	wantCode(t, "an edit that changes nothing", err, fault.Invalid)

	refusedBefore := len(o.Entries(t, "pia.step_refused"))
	refusals := []struct {
		who    string
		action privacy.Action
		code   fault.Code
	}{
		{"dpo", privacy.Approve, fault.Conflict},          // out of order: a draft
		{"cbp-cpo", privacy.Accept, fault.Conflict},       // out of order: not submitted
		{"cbp-analyst", privacy.Submit, fault.Forbidden},  // wrong role
		{"auditor", privacy.Publish, fault.Forbidden},     // wrong role
		{"cbp-isso", privacy.Return, fault.Conflict},      // nothing to return
		{"dpo", privacy.Action("waive"), fault.Conflict},  // no such step
		{"cbp-head", privacy.Approve, fault.Forbidden},    // a supervisor is no approver
		{"ice-cpo", privacy.Accept, fault.NotFound},       // another component: invisible, not recorded
		{"cbp-cpo", privacy.RecordPrior, fault.Forbidden}, // only the CPO records prior approvals
	}
	recorded := 0
	for _, r := range refusals {
		_, err := step(r.who, p.ID, r.action, "Comments given with the step.")
		wantCode(t, fmt.Sprintf("%s by %s on a draft", r.action, r.who), err, r.code)
		if r.code != fault.NotFound {
			recorded++
		}
	}
	if p, err = step("cbp-isso", p.ID, privacy.Submit, ""); err != nil || p.Status != privacy.Submitted || p.SubmittedVersion != 2 {
		t.Fatalf("submit = %+v, %v", p, err)
	}
	_, err = ps.EditPIA(ctx, o.As["cbp-isso"], p.ID, 2, draft, "while under review")
	wantCode(t, "an edit under review", err, fault.Conflict)
	recorded++
	// Separation of duties: the co-author may not review; nor may a
	// privacy officer whom the author supervises.
	for _, who := range []string{"cbp-cpo", "cbp-cpo2"} {
		_, err := step(who, p.ID, privacy.Accept, "")
		wantCode(t, who+" reviews", err, fault.Forbidden)
		recorded++
	}
	_, err = step("dpo", p.ID, privacy.Return, "The DPO may not return it yet.")
	wantCode(t, "the DPO returns a submitted PIA", err, fault.Forbidden)
	recorded++

	// Every refusal above is in the ledger and in the PIA's history.
	es := o.Entries(t, "pia.step_refused")
	if got := len(es) - refusedBefore; got != recorded {
		t.Errorf("%d refusals recorded in the ledger, want %d", got, recorded)
	}
	last := es[len(es)-1]
	if last.Actor.ID != "dpo" || last.Data["action"] != "return" || last.Data["code"] != privacy.WrongRole || last.Subject != fmt.Sprintf("pia/%d", p.ID) || last.Component != "CBP" {
		t.Errorf("the last refusal is recorded as %+v", last)
	}
	steps, err := ps.Steps(ctx, o.As["auditor"], p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var refusedSteps int
	for _, s := range steps {
		if s.Refused != "" {
			refusedSteps++
		}
	}
	if refusedSteps != recorded {
		t.Errorf("the history holds %d refused steps, want %d", refusedSteps, recorded)
	}

	// Nobody in CBP may review that PIA now: one privacy officer co-wrote
	// it, the other is supervised by its author. It waits for another
	// reviewer. A second PIA goes the whole way, returned at each level.
	other := o.MustSource(t, o.MustSystem(t, "CBP", "Second"), "babel-cbp")
	q, err := ps.CreatePIA(ctx, o.As["cbp-isso"], other.ID, "Babel PIA", CompleteDocument("babel"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		who      string
		a        privacy.Action
		comments string
		want     privacy.Status
	}{
		{"cbp-isso", privacy.Submit, "", privacy.Submitted},
		{"cbp-cpo", privacy.Return, "Section notice: cite the SORN.", privacy.Returned},
	} {
		if q, err = step(s.who, q.ID, s.a, s.comments); err != nil || q.Status != s.want {
			t.Fatalf("%s by %s = %+v, %v", s.a, s.who, q, err)
		}
	}
	_, err = step("cbp-isso", q.ID, privacy.Submit, "")
	wantCode(t, "resubmit without a revision", err, fault.Conflict)
	_, err = step("cbp-cpo", q.ID, privacy.Return, "")
	wantCode(t, "return without comments", err, fault.Invalid)
	revised := CompleteDocument("babel")
	revised.Notice += "\nNotice is also given by SORN DHS/ALL-041."
	if q, err = ps.EditPIA(ctx, o.As["cbp-isso"], q.ID, 1, revised, "cite the SORN"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		who      string
		a        privacy.Action
		comments string
		want     privacy.Status
	}{
		{"cbp-isso", privacy.Submit, "", privacy.Submitted},
		{"cbp-cpo", privacy.Accept, "Complete.", privacy.Accepted},
		{"dpo", privacy.Return, "Retention: name the records schedule.", privacy.Returned},
	} {
		if q, err = step(s.who, q.ID, s.a, s.comments); err != nil || q.Status != s.want {
			t.Fatalf("%s by %s = %+v, %v", s.a, s.who, q, err)
		}
	}
	revised.Retention += "\nRecords schedule N1-568-11-2."
	if q, err = ps.EditPIA(ctx, o.As["cbp-isso"], q.ID, 2, revised, "records schedule"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		who  string
		a    privacy.Action
		want privacy.Status
	}{
		{"cbp-isso", privacy.Submit, privacy.Submitted},
		{"cbp-cpo", privacy.Accept, privacy.Accepted},
		{"dpo", privacy.Approve, privacy.Approved},
	} {
		if q, err = step(s.who, q.ID, s.a, ""); err != nil || q.Status != s.want {
			t.Fatalf("%s by %s = %+v, %v", s.a, s.who, q, err)
		}
	}
	if q.ApprovedVersion != 3 || q.ApprovedBy != o.People["dpo"].ID || !q.ExpiresAt.Equal(q.ApprovedAt.AddDate(3, 0, 0)) || q.EffectiveVersion != 0 {
		t.Errorf("approved: %+v", q)
	}
	_, err = ps.EditPIA(ctx, o.As["cbp-isso"], q.ID, 3, CompleteDocument("x"), "")
	wantCode(t, "an edit of an approved PIA", err, fault.Conflict)
	if q, err = step("dpo", q.ID, privacy.Publish, ""); err != nil || q.Status != privacy.Published || q.EffectiveVersion != 3 {
		t.Fatalf("publish = %+v, %v", q, err)
	}

	// Versions are all kept; any two compare field by field.
	vs, err := ps.Versions(ctx, o.As["cbp-analyst"], q.ID, false)
	if err != nil || len(vs) != 3 || vs[0].AuthorID != o.People["cbp-isso"].ID || vs[2].Note != "records schedule" {
		t.Fatalf("Versions = %+v, %v", vs, err)
	}
	a, b, changes, err := ps.Diff(ctx, o.As["auditor"], q.ID, 1, 3)
	if err != nil || a.Number != 1 || b.Number != 3 || len(changes) != 2 || changes[0].Field != "notice" || changes[1].Field != "retention" {
		t.Fatalf("Diff = %+v, %v", changes, err)
	}
	if !slices.Contains(changes[0].Lines, privacy.LineOp{Op: "+", Text: "Notice is also given by SORN DHS/ALL-041."}) {
		t.Errorf("notice diff %+v", changes[0].Lines)
	}
	if _, _, _, err := ps.Diff(ctx, o.As["auditor"], q.ID, 1, 9); !fault.Is(err, fault.NotFound) {
		t.Errorf("diff with a version that does not exist: %v", err)
	}
	if _, _, _, err := ps.Diff(ctx, o.As["ice-cpo"], q.ID, 1, 2); !fault.Is(err, fault.NotFound) {
		t.Errorf("ICE diffs a CBP PIA: %v", err)
	}
	// Every transition is in the ledger, each committing to its version.
	var types []string
	for _, e := range o.Entries(t) {
		if e.Subject == fmt.Sprintf("pia/%d", q.ID) {
			types = append(types, strings.TrimPrefix(e.Type, "pia."))
		}
	}
	want := []string{"created", "submitted", "returned", "step_refused", "edited", "submitted", "reviewed", "returned", "edited", "submitted", "reviewed", "approved", "step_refused", "published"}
	if !slices.Equal(types, want) {
		t.Errorf("the ledger records %v, want %v", types, want)
	}
}

func testPrivacyExpiry(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustPrivacyOrg(t, d)
	ps := o.Privacy
	src := o.MustSource(t, o.MustSystem(t, "CBP", "Targeting"), "venntel-cbp")
	o.MustOpenGate(t, src)
	p := o.MustPublishedPIA(t, src)
	if !o.Gate(t, src.ID).Usable {
		t.Fatal("not usable once published")
	}
	// A revision in progress leaves the version in force in force.
	p, err := ps.EditPIA(ctx, o.As["cbp-cpo"], p.ID, 1, CompleteDocument("venntel v2"), "annual update")
	if err != nil || p.Status != privacy.Draft || p.EffectiveVersion != 1 || p.CycleStart != 2 {
		t.Fatalf("revise: %+v, %v", p, err)
	}
	if g := o.Gate(t, src.ID); !g.Usable {
		t.Errorf("a revision closed the gate: %v", g.Codes())
	}
	// The revision's author is the component privacy officer: the other
	// one reviews it (the security officer, who wrote version 1, is not
	// an author of this revision).
	if _, err := ps.Step(ctx, o.As["cbp-cpo"], p.ID, privacy.Submit, store.StepInput{}); err != nil {
		t.Fatal(err)
	}
	_, err = ps.Step(ctx, o.As["cbp-cpo"], p.ID, privacy.Accept, store.StepInput{})
	wantCode(t, "the reviser reviews", err, fault.Forbidden)

	// Three years on, the version in force has expired.
	o.Clock.Advance(3*366*24*time.Hour + time.Hour)
	g := o.Gate(t, src.ID)
	if !slices.Equal(g.Codes(), []string{privacy.PIAExpired}) || len(g.Missing[0].People) == 0 || g.Missing[0].People[0].EmployeeID != "cbp-cpo" {
		t.Fatalf("after three years: %+v", g)
	}
	// The administrator shortens approvals to a year: the revision's
	// approval lasts that long.
	if _, _, err := settings.NewService(o.DB.Settings()).Set(ctx, ledger.Actor{Kind: ledger.ActorToken, ID: "storetest-admin"}, settings.PIAApprovalMonths, json.RawMessage(`12`)); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		who string
		a   privacy.Action
	}{{"cbp-cpo2", privacy.Accept}, {"dpo", privacy.Approve}, {"dpo", privacy.Publish}} {
		if p, err = ps.Step(ctx, o.As[s.who], p.ID, s.a, store.StepInput{}); err != nil {
			t.Fatalf("%s by %s: %v", s.a, s.who, err)
		}
	}
	g = o.Gate(t, src.ID)
	if !g.Usable || g.EffectiveVersion != 2 || !g.PIAExpiresAt.Equal(p.ApprovedAt.AddDate(1, 0, 0)) {
		t.Fatalf("the revision published: %+v (approved %v)", g, p.ApprovedAt)
	}
	o.Clock.Advance(366 * 24 * time.Hour)
	if g := o.Gate(t, src.ID); !slices.Equal(g.Codes(), []string{privacy.PIAExpired}) {
		t.Errorf("a year on: %v", g.Codes())
	}

	// A PIA approved before Probity comes into force with its own date,
	// and so may be expired at once.
	old := o.MustSource(t, o.MustSystem(t, "CBP", "Legacy"), "legacy-cbp")
	o.MustOpenGate(t, old)
	q, err := ps.CreatePIA(ctx, o.As["cbp-isso"], old.ID, "Legacy PIA", CompleteDocument("legacy"), "the 2021 text")
	if err != nil {
		t.Fatal(err)
	}
	prior := privacy.Prior{ApprovedOn: o.Clock.Now().AddDate(-2, 0, 0), Approver: "Chief Privacy Officer", Reference: "DHS/CBP/PIA-999"}
	_, err = ps.Step(ctx, o.As["cbp-cpo"], q.ID, privacy.RecordPrior, store.StepInput{Prior: prior})
	wantCode(t, "a component officer records a prior approval", err, fault.Forbidden)
	_, err = ps.Step(ctx, o.As["dpo"], q.ID, privacy.RecordPrior, store.StepInput{Prior: privacy.Prior{ApprovedOn: o.Clock.Now().AddDate(0, 0, 1), Approver: "CPO", Reference: "ref"}})
	wantCode(t, "a prior approval in the future", err, fault.Invalid)
	if q, err = ps.Step(ctx, o.As["dpo"], q.ID, privacy.RecordPrior, store.StepInput{Prior: prior}); err != nil || q.Status != privacy.Published || q.EffectivePrior != "DHS/CBP/PIA-999" {
		t.Fatalf("record prior = %+v, %v", q, err)
	}
	if g := o.Gate(t, old.ID); !slices.Equal(g.Codes(), []string{privacy.PIAExpired}) {
		t.Errorf("a prior approval two years old with 12-month approvals: %v", g.Codes())
	}
	_, err = ps.Step(ctx, o.As["dpo"], q.ID, privacy.RecordPrior, store.StepInput{Prior: prior})
	wantCode(t, "a second prior approval", err, fault.Conflict)
}

func testPrivacyUpdateRequired(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustPrivacyOrg(t, d)
	ps := o.Privacy
	src := o.MustSource(t, o.MustSystem(t, "CBP", "Targeting"), "venntel-cbp")
	o.MustOpenGate(t, src)
	p := o.MustPublishedPIA(t, src)

	// A change of title or contract leaves the PIA current.
	title, contract := "Venntel (renamed)", "70B-NEW"
	if _, err := ps.UpdateSource(ctx, o.As["cbp-isso"], src.ID, store.SourceUpdate{Title: &title, ContractNumber: &contract}); err != nil {
		t.Fatal(err)
	}
	if g := o.Gate(t, src.ID); !g.Usable {
		t.Fatalf("a new title closed the gate: %v", g.Codes())
	}
	// A new data category makes it out of date, in the same transaction.
	cats := []string{"device_location", "advertising_id", "ip_address"}
	if _, err := ps.UpdateSource(ctx, o.As["cbp-isso"], src.ID, store.SourceUpdate{Categories: &cats}); err != nil {
		t.Fatal(err)
	}
	g := o.Gate(t, src.ID)
	if !slices.Equal(g.Codes(), []string{privacy.PIAUpdateRequired}) || !strings.Contains(g.Missing[0].Message, "categories changed") {
		t.Fatalf("after a new category: %+v", g.Missing)
	}
	es := o.Entries(t, "inventory.source_updated", "pia.update_required")
	n := len(es)
	if n < 2 || es[n-2].Type != "inventory.source_updated" || es[n-1].Type != "pia.update_required" || es[n-1].Seq != es[n-2].Seq+1 || es[n-1].Time != es[n-2].Time {
		t.Fatalf("the change and the PIA's update are not recorded together: %+v", es)
	}

	// A revision submitted before the next change cannot be approved.
	if p, err := ps.EditPIA(ctx, o.As["cbp-isso"], p.ID, 1, CompleteDocument("venntel with IP addresses"), "ip_address"); err != nil || p.Version != 2 {
		t.Fatal(err)
	}
	for _, s := range []struct {
		who string
		a   privacy.Action
	}{{"cbp-isso", privacy.Submit}, {"cbp-cpo", privacy.Accept}} {
		if _, err := ps.Step(ctx, o.As[s.who], p.ID, s.a, store.StepInput{}); err != nil {
			t.Fatal(err)
		}
	}
	o.Clock.Advance(time.Minute)
	vendor := "Venntel Holdings LLC"
	if _, err := ps.UpdateSource(ctx, o.As["cbp-isso"], src.ID, store.SourceUpdate{Vendor: &vendor}); err != nil {
		t.Fatal(err)
	}
	g = o.Gate(t, src.ID)
	if !slices.Equal(g.Codes(), []string{privacy.PIAUpdateRequired}) || !strings.Contains(g.Missing[0].Message, "categories, vendor changed") ||
		len(g.Missing[0].People) != 1 || g.Missing[0].People[0].EmployeeID != "dpo" {
		t.Fatalf("after a vendor change with a revision accepted: %+v", g.Missing)
	}
	_, err := ps.Step(ctx, o.As["dpo"], p.ID, privacy.Approve, store.StepInput{})
	wantCode(t, "approve a version submitted before the change", err, fault.Conflict)
	if last := o.Entries(t, "pia.step_refused"); len(last) != 1 || last[0].Data["code"] != privacy.Stale {
		t.Errorf("the stale approval is recorded as %+v", last)
	}
	o.Clock.Advance(time.Minute)
	for _, s := range []struct {
		who, comments string
		a             privacy.Action
	}{{"dpo", "The vendor changed: update the overview.", privacy.Return}} {
		if _, err := ps.Step(ctx, o.As[s.who], p.ID, s.a, store.StepInput{Comments: s.comments}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ps.EditPIA(ctx, o.As["cbp-isso"], p.ID, 2, CompleteDocument("venntel holdings with IP addresses"), "new vendor"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		who string
		a   privacy.Action
	}{{"cbp-isso", privacy.Submit}, {"cbp-cpo", privacy.Accept}, {"dpo", privacy.Approve}} {
		if _, err := ps.Step(ctx, o.As[s.who], p.ID, s.a, store.StepInput{}); err != nil {
			t.Fatal(err)
		}
	}
	// Approved is not yet published: the version in force is still out of
	// date.
	if g := o.Gate(t, src.ID); !slices.Equal(g.Codes(), []string{privacy.PIAUpdateRequired}) {
		t.Errorf("approved, not published: %v", g.Codes())
	}
	p, err = ps.Step(ctx, o.As["dpo"], p.ID, privacy.Publish, store.StepInput{})
	if err != nil || !p.UpdateRequiredAt.IsZero() || p.EffectiveVersion != 3 {
		t.Fatalf("publish the update: %+v, %v", p, err)
	}
	if g := o.Gate(t, src.ID); !g.Usable {
		t.Errorf("the update published: %v", g.Codes())
	}
}

func testPrivacyPTA(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustPrivacyOrg(t, d)
	ps := o.Privacy
	sys := o.MustSystem(t, "CBP", "Targeting")
	src := o.MustSource(t, sys, "venntel-cbp")
	yes, no := true, false
	a := privacy.PTAAnswers{CollectsPII: &yes, AboutPublic: &yes, LocationData: &yes, RetrievedByIdentifier: &yes, CommercialSource: &yes, NewOrChanged: &yes}
	pta, err := ps.RecordPTA(ctx, o.As["cbp-isso"], fmt.Sprintf("source/%d", src.ID), a)
	if err != nil || !pta.Outcome.PIARequired || !pta.Outcome.SORNRequired || pta.Component != "CBP" {
		t.Fatalf("RecordPTA = %+v, %v", pta, err)
	}
	b := a
	b.CollectsPII, b.AboutPublic, b.LocationData, b.RetrievedByIdentifier = &no, &no, &no, &no
	if pta2, err := ps.RecordPTA(ctx, o.As["cbp-cpo"], fmt.Sprintf("system/%d", sys.ID), b); err != nil || pta2.Outcome.PIARequired {
		t.Fatalf("RecordPTA(no PII) = %+v, %v", pta2, err)
	}
	_, err = ps.RecordPTA(ctx, o.As["cbp-analyst"], fmt.Sprintf("source/%d", src.ID), a)
	wantCode(t, "an analyst records a PTA", err, fault.Forbidden)
	_, err = ps.RecordPTA(ctx, o.As["ice-isso"], fmt.Sprintf("source/%d", src.ID), a)
	wantCode(t, "ICE records a PTA of a CBP source", err, fault.NotFound)
	_, err = ps.RecordPTA(ctx, o.As["cbp-isso"], "source/99999", a)
	wantCode(t, "a PTA of nothing", err, fault.NotFound)
	_, err = ps.RecordPTA(ctx, o.As["cbp-isso"], fmt.Sprintf("source/%d", src.ID), privacy.PTAAnswers{CollectsPII: &yes})
	wantCode(t, "an unanswered PTA", err, fault.Invalid)

	got, err := ps.PTA(ctx, o.As["auditor"], pta.ID)
	if err != nil || !*got.Answers.LocationData || len(got.Outcome.Rationale) != len(pta.Outcome.Rationale) {
		t.Errorf("PTA = %+v, %v", got, err)
	}
	if _, err := ps.PTA(ctx, o.As["ice-cpo"], pta.ID); !fault.Is(err, fault.NotFound) {
		t.Errorf("ICE reads a CBP PTA: %v", err)
	}
	list, err := ps.PTAs(ctx, o.As["cbp-analyst"], fmt.Sprintf("source/%d", src.ID))
	if err != nil || len(list) != 1 || list[0].ID != pta.ID {
		t.Errorf("PTAs = %+v, %v", list, err)
	}
	if es := o.Entries(t, "pta.recorded"); len(es) != 2 || es[0].Data["pia_required"] != true || es[0].Digest == "" {
		t.Errorf("PTA entries %+v", es)
	}
}

func testPrivacyPCR(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustPrivacyOrg(t, d)
	ps := o.Privacy
	src := o.MustSource(t, o.MustSystem(t, "CBP", "Targeting"), "venntel-cbp")
	subject := fmt.Sprintf("source/%d", src.ID)
	due := o.Clock.Now().AddDate(0, 0, 30)
	p, err := ps.AssignPCR(ctx, o.As["dpo"], privacy.PCR{Subject: subject, Title: "Annual compliance review", AssigneeID: o.People["cbp-cpo"].ID, DueAt: due})
	if err != nil || p.Component != "CBP" || p.AssignedBy != "dpo" {
		t.Fatalf("AssignPCR = %+v, %v", p, err)
	}
	_, err = ps.AssignPCR(ctx, o.As["cbp-cpo"], privacy.PCR{Subject: subject, Title: "Review", AssigneeID: o.People["cbp-analyst"].ID, DueAt: due})
	wantCode(t, "assign to an analyst", err, fault.Invalid)
	_, err = ps.AssignPCR(ctx, o.As["cbp-isso"], privacy.PCR{Subject: subject, Title: "Review", AssigneeID: o.People["cbp-cpo"].ID, DueAt: due})
	wantCode(t, "a security officer assigns", err, fault.Forbidden)
	_, err = ps.AssignPCR(ctx, o.As["ice-cpo"], privacy.PCR{Subject: subject, Title: "Review", AssigneeID: o.People["ice-cpo"].ID, DueAt: due})
	wantCode(t, "ICE assigns a CBP review", err, fault.NotFound)
	_, err = ps.AssignPCR(ctx, o.As["cbp-cpo"], privacy.PCR{Subject: subject, Title: "Review", AssigneeID: o.People["ice-cpo"].ID, DueAt: due})
	wantCode(t, "assign a CBP review to ICE", err, fault.Invalid)

	if list, err := ps.PCRs(ctx, o.As["auditor"], store.PCRFilter{Overdue: true}); err != nil || len(list) != 0 {
		t.Fatalf("overdue before the due date: %+v, %v", list, err)
	}
	o.Clock.Advance(31 * 24 * time.Hour)
	list, err := ps.PCRs(ctx, o.As["auditor"], store.PCRFilter{Overdue: true})
	if err != nil || len(list) != 1 || list[0].ID != p.ID || !list[0].Overdue(o.Clock.Now()) {
		t.Fatalf("overdue after the due date: %+v, %v", list, err)
	}
	if list, err := ps.PCRs(ctx, o.As["ice-cpo"], store.PCRFilter{}); err != nil || len(list) != 0 {
		t.Errorf("ICE lists CBP reviews: %+v, %v", list, err)
	}
	_, err = ps.CompletePCR(ctx, o.As["dpo"], p.ID, privacy.Compliant, "Sampled twenty queries; all matched the PIA.")
	wantCode(t, "someone else completes it", err, fault.Forbidden)
	_, err = ps.CompletePCR(ctx, o.As["cbp-cpo"], p.ID, privacy.Compliant, "ok")
	wantCode(t, "findings too short", err, fault.Invalid)
	done, err := ps.CompletePCR(ctx, o.As["cbp-cpo"], p.ID, privacy.NonCompliant, "Two queries lacked a justification naming the case; supervisors retrained.")
	if err != nil || done.Open() || done.Result != privacy.NonCompliant {
		t.Fatalf("CompletePCR = %+v, %v", done, err)
	}
	_, err = ps.CompletePCR(ctx, o.As["cbp-cpo"], p.ID, privacy.Compliant, "Sampled twenty queries; all matched the PIA.")
	wantCode(t, "complete twice", err, fault.Conflict)
	if list, err := ps.PCRs(ctx, o.As["auditor"], store.PCRFilter{Open: true}); err != nil || len(list) != 0 {
		t.Errorf("open after completion: %+v, %v", list, err)
	}
	es := o.Entries(t, "pcr.assigned", "pcr.completed")
	if len(es) != 2 || es[1].Data["overdue"] != true || es[1].Data["result"] != "non_compliant" {
		t.Errorf("review entries %+v", es)
	}
}

// testPrivacyGateLock checks that the gate, checked in a transaction,
// holds until that transaction commits: a suspension waits for it rather
// than slipping in between the check and the action it allowed. SQLite has
// one writer, so only PostgreSQL can interleave.
func testPrivacyGateLock(t *testing.T, d store.Dialect) {
	if d != store.Postgres {
		t.Skip("SQLite's single writer serializes every transaction")
	}
	ctx := context.Background()
	o := MustPrivacyOrg(t, d)
	ps := o.Privacy
	src := o.MustSource(t, o.MustSystem(t, "CBP", "Targeting"), "venntel-cbp")
	o.MustOpenGate(t, src)
	o.MustPublishedPIA(t, src)

	checked := make(chan struct{})
	var wg sync.WaitGroup
	var suspendErr error
	err := o.DB.Update(ctx, func(tx *store.Tx) error {
		if err := ps.RequireGate(ctx, tx, src.ID); err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-checked
			_, suspendErr = ps.SuspendSource(ctx, o.As["cbp-cpo"], src.ID, "suspended during a query")
		}()
		close(checked)
		// Wait until the suspension waits for this transaction's lock.
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			var waiting int
			if err := o.DB.View(ctx, func(v *store.Tx) error {
				return v.QueryRow(ctx, `SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND a.datname = current_database()`).Scan(&waiting)
			}); err != nil {
				return err
			}
			if waiting > 0 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the suspension did not wait for the transaction that checked the gate")
			}
		}
		_, err := o.Ledger.Append(ctx, tx, ledger.Event{Type: "test.query_ran", Actor: ledger.Actor{Kind: ledger.ActorUser, ID: "cbp-analyst"}, Component: "CBP", Subject: fmt.Sprintf("source/%d", src.ID)})
		return err
	})
	wg.Wait()
	if err != nil || suspendErr != nil {
		t.Fatalf("query: %v; suspension: %v", err, suspendErr)
	}
	es := o.Entries(t, "test.query_ran", "inventory.source_suspended")
	if len(es) != 2 || es[0].Type != "test.query_ran" {
		t.Fatalf("the suspension is ordered before the query it waited for: %+v", es)
	}
	if g := o.Gate(t, src.ID); !slices.Equal(g.Codes(), []string{privacy.SourceSuspended}) {
		t.Errorf("after the suspension: %v", g.Codes())
	}
}
