package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/policy"
	"github.com/probity-dev/probity/internal/store"
)

// policyPeople are the principals of the policy tests, by label. The store
// takes principals as given: no people rows are needed.
func policyPeople() map[string]auth.Principal {
	p := func(id string, person int64, role auth.Role, component string) auth.Principal {
		return auth.Principal{Kind: ledger.ActorUser, ID: id, PersonID: person, Component: component, Grants: []auth.Grant{{Role: role, Component: component}}}
	}
	return map[string]auth.Principal{
		"cbp-cpo":     p("cbp-cpo", 1, auth.ComponentPrivacyOfficer, "CBP"),
		"ice-cpo":     p("ice-cpo", 2, auth.ComponentPrivacyOfficer, "ICE"),
		"dpo":         p("dpo", 3, auth.DepartmentPrivacyOfficer, ""),
		"dpo2":        p("dpo2", 4, auth.DepartmentPrivacyOfficer, ""),
		"cbp-analyst": p("cbp-analyst", 5, auth.Analyst, "CBP"),
		"auditor":     p("auditor", 6, auth.Auditor, ""),
		"admin":       p("admin", 7, auth.Administrator, ""),
		"cbp-auditor": p("cbp-auditor", 8, auth.Auditor, "CBP"),
	}
}

// policyEnv is a database with the built-in policies installed and an
// engine over them.
type policyEnv struct {
	db        *store.DB
	l         *store.Ledger
	pol       *store.Policies
	engine    *policy.Engine
	as        map[string]auth.Principal
	activated atomic.Int64
}

func mustPolicyEnv(t *testing.T, d store.Dialect) *policyEnv {
	t.Helper()
	ctx := context.Background()
	db, l, _ := MustOpenNew(t, d)
	e := &policyEnv{db: db, l: l, as: policyPeople()}
	e.pol = db.Policies(func() { e.activated.Add(1) })
	if err := e.pol.InstallDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	e.engine = policy.NewEngine(e.pol, Logger())
	if err := e.engine.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// size returns the ledger's size once every committed entry is
// integrated (on PostgreSQL the sequencer integrates in the background).
func (e *policyEnv) size(t *testing.T) int64 {
	t.Helper()
	return SettledSize(t, e.db, e.l)
}

// entriesAfter returns the decoded entries from index from on.
func (e *policyEnv) entriesAfter(t *testing.T, from int64) []ledger.Entry {
	t.Helper()
	e.size(t)
	var out []ledger.Entry
	for i, raw := range allEntries(t, e.l) {
		if int64(i) < from {
			continue
		}
		en, err := ledger.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, en)
	}
	return out
}

func (e *policyEnv) count(t *testing.T, table string) int {
	t.Helper()
	ctx := context.Background()
	var n int
	if err := e.db.View(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// cbpSet is a CBP set that permits what the default set permits, and
// forbids unmasking outright.
var cbpSet = policy.DefaultComponentText + `
@id("cbp.no-unmask")
@reason("CBP does not unmask devices.")
forbid (principal, action == Action::"query.unmask", resource);
`

// mustRecordDecisions records n decisions of cbp-analyst (area searches of
// growing size, CBP) and one of an ICE analyst, decided by the engine.
func (e *policyEnv) mustRecordDecisions(t *testing.T, n int) {
	t.Helper()
	ctx := context.Background()
	err := e.db.Update(ctx, func(tx *store.Tx) error {
		for i := range n + 1 {
			r := policy.Request{Action: policy.QueryArea,
				Principal: policy.Principal{EmployeeID: "cbp-analyst", Component: "CBP", Roles: []string{"analyst"}, AccountActive: true, TrainingCurrent: true, RulesAcknowledged: true},
				Query: policy.Query{ID: fmt.Sprintf("q-%d", i),
					Case:   policy.Case{Number: "C-1", Component: "CBP", Status: "open", Members: []string{"cbp-analyst"}},
					Source: policy.DataSource{Name: "ctd", Usable: true, Connector: "local", Categories: []string{"location"}},
					// 0.5, 1.0, … km²: under the default 5 km² limit up to i = 9.
					AreaKM2: float64(i+1) / 2, WindowHours: 12, Justification: "lead"}}
			if i == n { // one of ICE
				r.Principal.EmployeeID, r.Principal.Component = "ice-analyst", "ICE"
				r.Query.Case = policy.Case{Number: "I-1", Component: "ICE", Status: "open", Members: []string{"ice-analyst"}}
				r.Query.AreaKM2 = 1
			}
			d, in := e.engine.DecideRequest(r)
			if _, err := e.pol.RecordDecision(ctx, tx, store.DecisionRecord{PersonID: 5, Actor: r.Principal.EmployeeID, Component: r.Principal.Component,
				Resource: "query/" + r.Query.ID, Input: in, Decision: d}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testPolicy(t *testing.T, d store.Dialect) {
	ctx := context.Background()

	t.Run("InstallDefaults", func(t *testing.T) {
		e := mustPolicyEnv(t, d)
		before := e.size(t)
		// A second install (another start, another replica) changes nothing.
		if err := e.pol.InstallDefaults(ctx); err != nil {
			t.Fatal(err)
		}
		if got := e.size(t); got != before {
			t.Errorf("a second install appended %d entries", got-before)
		}
		sets, err := e.pol.ActivePolicySets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(sets) != 2 || sets[0].Scope != policy.DefaultComponent || sets[1].Scope != policy.Department || sets[1].Limits == nil || *sets[1].Limits != policy.DefaultLimits {
			t.Fatalf("active sets = %+v", sets)
		}
		var installed int
		for _, en := range e.entriesAfter(t, 0) {
			if en.Type == "policy.installed" {
				installed++
				if en.Actor.Kind != ledger.ActorSystem || en.Digest == "" {
					t.Errorf("installed entry %+v", en)
				}
			}
		}
		if installed != 2 {
			t.Errorf("%d policy.installed entries, want 2", installed)
		}
		snap := e.engine.Snapshot()
		if snap.Department.Version != 1 || snap.Default.Version != 1 || snap.Department.ID == 0 {
			t.Errorf("engine loaded department %d/%d, default %d", snap.Department.ID, snap.Department.Version, snap.Default.Version)
		}
	})

	t.Run("ProposeOK", func(t *testing.T) {
		e := mustPolicyEnv(t, d)
		before := e.size(t)
		v, err := e.pol.Propose(ctx, e.as["cbp-cpo"], store.Proposal{Scope: "CBP", Text: cbpSet, Summary: "No unmasking in CBP"})
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != policy.Proposed || v.Version != 1 || v.Permits != 3 || v.Forbids != 2 || v.Digest != policy.TextDigest(cbpSet) {
			t.Errorf("proposed %+v", v)
		}
		es := e.entriesAfter(t, before)
		if len(es) != 1 || es[0].Type != "policy.proposed" || es[0].Component != "CBP" || es[0].Subject != "policy/CBP/1" || es[0].Digest != v.Digest || es[0].Actor.ID != "cbp-cpo" {
			t.Errorf("ledger entries %+v", es)
		}
		got, err := e.pol.Version(ctx, e.as["dpo"], v.ID)
		if err != nil || got.Text != cbpSet || got.ProposedBy != "cbp-cpo" || got.Summary != "No unmasking in CBP" {
			t.Errorf("Version = %+v, %v", got, err)
		}
		// The department proposal keeps the active limits unless it gives
		// new ones.
		dv, err := e.pol.Propose(ctx, e.as["dpo"], store.Proposal{Scope: policy.Department, Text: policy.DefaultDepartmentText, Summary: "Same floor"})
		if err != nil || dv.Limits == nil || *dv.Limits != policy.DefaultLimits || dv.Version != 2 {
			t.Errorf("department proposal %+v, %v", dv, err)
		}
	})

	t.Run("ErrProposeInvalid", func(t *testing.T) {
		e := mustPolicyEnv(t, d)
		before, rows := e.size(t), e.count(t, "policy_versions")
		for _, c := range []struct {
			name, scope, text string
			limits            *policy.Limits
			line              int
			want              string
		}{
			{"syntax", "CBP", "@id(\"a\")\n@reason(\"b\")\npermit (principal, action, resource)\nwhen { principal.roles.contains(\"analyst\") ", nil, 4, "syntax error"},
			{"no id", "CBP", "@reason(\"b\")\npermit (principal, action, resource);", nil, 1, "no @id"},
			{"no reason", "CBP", "\n\n@id(\"a\") permit (principal, action, resource);", nil, 3, "no @reason"},
			{"schema", "CBP", "@id(\"a\")\n@reason(\"b\")\npermit (principal, action, resource) when { principal.rank > 3 };", nil, 1, "attribute `rank` on entity type `User` not found"},
			{"department permit", policy.Department, "@id(\"a\")\n@reason(\"b\")\npermit (principal, action, resource);", &policy.DefaultLimits, 1, "only forbid rules"},
			{"limits", policy.Department, policy.DefaultDepartmentText, &policy.Limits{MaxAreaKM2: -1, MaxWindowHours: 1}, 0, "max_area_km2"},
		} {
			by := e.as["cbp-cpo"]
			if c.scope == policy.Department {
				by = e.as["dpo"]
			}
			_, err := e.pol.Propose(ctx, by, store.Proposal{Scope: c.scope, Text: c.text, Limits: c.limits, Summary: c.name})
			ie, ok := errors.AsType[*policy.InvalidError](err)
			if !ok || fault.CodeOf(err) != fault.Invalid {
				t.Errorf("%s: Propose = %v, want an InvalidError", c.name, err)
				continue
			}
			if p := ie.Problems[0]; p.Line != c.line || !strings.Contains(p.Message, c.want) {
				t.Errorf("%s: problem %+v, want line %d and %q", c.name, p, c.line, c.want)
			}
		}
		if e.size(t) != before || e.count(t, "policy_versions") != rows {
			t.Error("a refused proposal stored something")
		}
	})

	t.Run("ErrProposeWrongRole", func(t *testing.T) {
		e := mustPolicyEnv(t, d)
		before := e.size(t)
		for _, c := range []struct{ who, scope string }{
			{"ice-cpo", "CBP"}, {"cbp-cpo", policy.Department}, {"cbp-cpo", policy.DefaultComponent},
			{"cbp-analyst", "CBP"}, {"auditor", "CBP"}, {"admin", policy.Department},
		} {
			_, err := e.pol.Propose(ctx, e.as[c.who], store.Proposal{Scope: c.scope, Text: cbpSet, Summary: "x"})
			if fault.CodeOf(err) != fault.Forbidden {
				t.Errorf("%s proposing for %s: %v, want forbidden", c.who, c.scope, err)
			}
		}
		if e.size(t) != before || e.count(t, "policy_versions") != 2 {
			t.Error("a refused proposal stored something")
		}
	})

	t.Run("Workflow", func(t *testing.T) {
		e := mustPolicyEnv(t, d)
		e.mustRecordDecisions(t, 12)
		recs, err := e.pol.RecentDecisions(ctx, time.Now().AddDate(0, 0, -1), "CBP")
		if err != nil || len(recs) != 12 {
			t.Fatalf("RecentDecisions(CBP) = %d, %v; want 12", len(recs), err)
		}
		all, _ := e.pol.RecentDecisions(ctx, time.Now().AddDate(0, 0, -1), policy.Department)
		if len(all) != 13 {
			t.Fatalf("RecentDecisions(department) = %d, want 13", len(all))
		}
		// The department tightens the area limit to 2 km²; dpo proposes.
		tight := policy.DefaultLimits
		tight.MaxAreaKM2 = 2
		v, err := e.pol.Propose(ctx, e.as["dpo"], store.Proposal{Scope: policy.Department, Text: policy.DefaultDepartmentText, Limits: &tight, Summary: "Smaller areas"})
		if err != nil {
			t.Fatal(err)
		}

		refusedBefore := e.size(t)
		// Out of order: approve and activate before the analysis.
		for _, c := range []struct {
			name string
			do   func() error
			code fault.Code
			step string
		}{
			{"approve before analysis", func() error { _, err := e.pol.Approve(ctx, e.as["dpo2"], v.ID); return err }, fault.Conflict, "approve"},
			{"activate before approval", func() error { _, err := e.pol.Activate(ctx, e.as["dpo2"], v.ID); return err }, fault.Conflict, "activate"},
			{"analysis by a component officer", func() error {
				_, _, err := e.pol.Analyse(ctx, e.as["cbp-cpo"], v.ID, 30, e.engine.Snapshot())
				return err
			}, fault.Forbidden, "analyse"},
			{"reject by an auditor", func() error { _, err := e.pol.Reject(ctx, e.as["auditor"], v.ID, "no"); return err }, fault.Forbidden, "reject"},
		} {
			err := c.do()
			se, ok := errors.AsType[*policy.StepError](err)
			if fault.CodeOf(err) != c.code || !ok || string(se.Step) != c.step {
				t.Errorf("%s: %v, want %s", c.name, err, c.code)
			}
		}
		es := e.entriesAfter(t, refusedBefore)
		if len(es) != 4 {
			t.Fatalf("%d entries after 4 refusals, want 4: %+v", len(es), es)
		}
		for _, en := range es {
			if en.Type != "policy.step_refused" || en.Subject != fmt.Sprintf("policy/department/%d", v.Version) || en.Data["code"] == nil || en.Data["reason"] == "" {
				t.Errorf("refusal entry %+v", en)
			}
		}
		if refusals, err := e.pol.Refusals(ctx, e.as["auditor"], v.ID); err != nil || len(refusals) != 4 || refusals[0].Code != policy.OutOfOrder || refusals[2].Code != policy.WrongRole {
			t.Errorf("Refusals = %+v, %v", refusals, err)
		}
		if got, _ := e.pol.Version(ctx, e.as["dpo"], v.ID); got.Status != policy.Proposed {
			t.Errorf("after refusals the version is %s", got.Status)
		}

		// The analysis: areas of 2.5 to 5 km² (six decisions) turn to
		// denials; ICE's 1 km² does not change.
		before := e.size(t)
		av, im, err := e.pol.Analyse(ctx, e.as["dpo"], v.ID, 30, e.engine.Snapshot())
		if err != nil {
			t.Fatal(err)
		}
		if av.Status != policy.Validated || im.Considered != 13 || im.Replayed != 13 || im.AllowToDeny != 6 || im.DenyToAllow != 0 || len(im.Changes) != 6+im.PoliciesChanged {
			t.Errorf("analysis: %s, %+v", av.Status, im)
		}
		for _, c := range im.Changes {
			if c.Kind == policy.AllowToDeny && (!c.Current.Allowed || c.Proposed.Allowed || !slices.Contains(c.Proposed.Policies, "department/dept.area-over-limit")) {
				t.Errorf("change %+v", c)
			}
		}
		es = e.entriesAfter(t, before)
		if len(es) != 1 || es[0].Type != "policy.analysed" || fmt.Sprint(es[0].Data["allow_to_deny"]) != "6" || es[0].Digest == "" {
			t.Errorf("analysis entries %+v", es)
		}
		stored, err := e.pol.Impact(ctx, e.as["auditor"], v.ID)
		if err != nil || stored.AllowToDeny != 6 || len(stored.Changes) != len(im.Changes) {
			t.Errorf("stored impact %+v, %v", stored, err)
		}
		// An ICE reader sees the counts, not CBP's decisions.
		if seen, err := e.pol.Impact(ctx, e.as["ice-cpo"], v.ID); err != nil || seen.AllowToDeny != 6 || len(seen.Changes) != 0 {
			t.Errorf("ICE sees %d changes (%v)", len(seen.Changes), err)
		}

		// Nobody approves their own proposal.
		_, err = e.pol.Approve(ctx, e.as["dpo"], v.ID)
		if se, ok := errors.AsType[*policy.StepError](err); !ok || se.Code != policy.OwnWork || fault.CodeOf(err) != fault.Forbidden {
			t.Errorf("own approval: %v", err)
		}
		if _, err := e.pol.Approve(ctx, e.as["dpo2"], v.ID); err != nil {
			t.Fatal(err)
		}
		before = e.size(t)
		activated := e.activated.Load()
		av, err = e.pol.Activate(ctx, e.as["dpo"], v.ID)
		if err != nil || av.Status != policy.Active {
			t.Fatalf("Activate = %+v, %v", av, err)
		}
		if e.activated.Load() != activated+1 {
			t.Error("the activation hook did not run")
		}
		es = e.entriesAfter(t, before)
		if len(es) != 1 || es[0].Type != "policy.activated" || fmt.Sprint(es[0].Data["superseded_version"]) != "1" {
			t.Errorf("activation entries %+v", es)
		}
		vs, err := e.pol.Versions(ctx, e.as["auditor"], policy.Department)
		if err != nil || len(vs) != 2 || vs[0].Status != policy.Active || vs[1].Status != policy.Superseded || vs[1].SupersededAt.IsZero() {
			t.Errorf("versions %+v, %v", vs, err)
		}
		// The engine reloads and decides under the new floor.
		if err := e.engine.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if snap := e.engine.Snapshot(); snap.Department.ID != v.ID || snap.Department.Limits.MaxAreaKM2 != 2 {
			t.Errorf("engine has department %d (%+v)", snap.Department.ID, snap.Department.Limits)
		}
		// Steps on an active version are out of order.
		for _, do := range []func() error{
			func() error { _, err := e.pol.Activate(ctx, e.as["dpo2"], v.ID); return err },
			func() error { _, err := e.pol.Reject(ctx, e.as["dpo2"], v.ID, "too late"); return err },
			func() error { _, _, err := e.pol.Analyse(ctx, e.as["dpo2"], v.ID, 30, e.engine.Snapshot()); return err },
		} {
			if err := do(); fault.CodeOf(err) != fault.Conflict {
				t.Errorf("a step on an active version: %v", err)
			}
		}
	})

	t.Run("ErrStale", func(t *testing.T) {
		e := mustPolicyEnv(t, d)
		a, err := e.pol.Propose(ctx, e.as["cbp-cpo"], store.Proposal{Scope: "CBP", Text: cbpSet, Summary: "first"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.pol.Propose(ctx, e.as["cbp-cpo"], store.Proposal{Scope: "CBP", Text: policy.DefaultComponentText, Summary: "second"})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []int64{a.ID, b.ID} {
			if _, _, err := e.pol.Analyse(ctx, e.as["cbp-cpo"], v, 7, e.engine.Snapshot()); err != nil {
				t.Fatal(err)
			}
			if _, err := e.pol.Approve(ctx, e.as["dpo"], v); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.pol.Activate(ctx, e.as["dpo"], a.ID); err != nil {
			t.Fatal(err)
		}
		_, err = e.pol.Activate(ctx, e.as["dpo"], b.ID)
		if se, ok := errors.AsType[*policy.StepError](err); !ok || se.Code != policy.Stale || fault.CodeOf(err) != fault.Conflict {
			t.Errorf("activating a stale version: %v", err)
		}
		// An analysis against a snapshot that is no longer active is refused.
		c, err := e.pol.Propose(ctx, e.as["cbp-cpo"], store.Proposal{Scope: "CBP", Text: policy.DefaultComponentText, Summary: "third"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.pol.Analyse(ctx, e.as["cbp-cpo"], c.ID, 7, e.engine.Snapshot()); fault.CodeOf(err) != fault.Conflict {
			t.Errorf("analysis against an old snapshot: %v", err)
		}
		if err := e.engine.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.pol.Analyse(ctx, e.as["cbp-cpo"], c.ID, 7, e.engine.Snapshot()); err != nil {
			t.Errorf("analysis after reloading: %v", err)
		}
	})

	t.Run("RejectAndVisibility", func(t *testing.T) {
		e := mustPolicyEnv(t, d)
		v, err := e.pol.Propose(ctx, e.as["cbp-cpo"], store.Proposal{Scope: "CBP", Text: cbpSet, Summary: "x"})
		if err != nil {
			t.Fatal(err)
		}
		// ICE's officer does not see CBP's set; CBP's auditor does.
		if _, err := e.pol.Version(ctx, e.as["ice-cpo"], v.ID); fault.CodeOf(err) != fault.NotFound {
			t.Errorf("ICE reads CBP's version: %v", err)
		}
		if _, err := e.pol.Version(ctx, e.as["cbp-auditor"], v.ID); err != nil {
			t.Errorf("CBP's auditor: %v", err)
		}
		if vs, _ := e.pol.Versions(ctx, e.as["ice-cpo"], ""); len(vs) != 2 {
			t.Errorf("ICE lists %d versions, want the department and default ones", len(vs))
		}
		if _, err := e.pol.Versions(ctx, e.as["admin"], ""); fault.CodeOf(err) != fault.Forbidden {
			t.Errorf("the administrator lists policies: %v", err)
		}
		// The proposer withdraws it.
		if _, err := e.pol.Reject(ctx, e.as["cbp-cpo"], v.ID, " "); fault.CodeOf(err) != fault.Invalid {
			t.Errorf("reject without a reason: %v", err)
		}
		rv, err := e.pol.Reject(ctx, e.as["cbp-cpo"], v.ID, "withdrawn")
		if err != nil || rv.Status != policy.Rejected || rv.RejectReason != "withdrawn" {
			t.Errorf("Reject = %+v, %v", rv, err)
		}
		if _, _, err := e.pol.Analyse(ctx, e.as["cbp-cpo"], v.ID, 7, e.engine.Snapshot()); fault.CodeOf(err) != fault.Conflict {
			t.Errorf("analysing a rejected version: %v", err)
		}
	})
}
