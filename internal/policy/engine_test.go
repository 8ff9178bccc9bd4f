package policy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/probity-dev/probity/internal/fault"
)

func TestInput_JSON(t *testing.T) {
	in := mustInput(t, allowedRequest())
	b, err := in.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("RoundTrip", func(t *testing.T) {
		var got Input
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		assertSameInput(t, &got, in)
		again, _ := got.MarshalJSON()
		if string(again) != string(b) {
			t.Errorf("re-encoded differently:\n%s\n%s", again, b)
		}
	})
	t.Run("CedarReadsIt", func(t *testing.T) {
		// The recorded form is Cedar's own JSON: cedar-go decodes it to the
		// same values.
		got := decodeWithCedar(t, b)
		assertSameInput(t, got, in)
	})
	t.Run("Escapes", func(t *testing.T) {
		r := allowedRequest()
		r.Query.Justification = "line\nbreak \"quoted\" \\ tab\t é 😀 \u2028 <&>"
		r.Principal.EmployeeID = "x\u0001y"
		in := mustInput(t, r)
		b, _ := in.MarshalJSON()
		var got Input
		if err := got.UnmarshalJSON(b); err != nil {
			t.Fatal(err)
		}
		assertSameInput(t, &got, in)
		assertSameInput(t, decodeWithCedar(t, b), in)
	})
	for _, c := range []struct{ name, json string }{
		{"ErrEmpty", ``},
		{"ErrNotObject", `[]`},
		{"ErrMissingMember", `{"principal":{"__entity":{"type":"User","id":"a"}}}`},
		{"ErrTrailing", string(b) + `{}`},
		{"ErrUnknownMember", strings.Replace(string(b), `"context"`, `"contexts"`, 1)},
		{"ErrFloat", strings.Replace(string(b), `"window_hours":24`, `"window_hours":24.5`, 1)},
		{"ErrNull", strings.Replace(string(b), `"window_hours":24`, `"window_hours":null`, 1)},
		{"ErrBadExtension", strings.Replace(string(b), `"arg":"1.25"`, `"arg":"one"`, 1)},
		{"ErrDuplicateKey", strings.Replace(string(b), `"window_hours":24`, `"window_hours":24,"window_hours":25`, 1)},
		{"ErrUnterminated", string(b[:len(b)-10])},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got Input
			if err := got.UnmarshalJSON([]byte(c.json)); err == nil {
				t.Errorf("decoded %q", c.json)
			}
		})
	}
}

func decodeWithCedar(tb testing.TB, b []byte) *Input {
	tb.Helper()
	var j struct {
		Principal types.EntityUID `json:"principal"`
		Action    types.EntityUID `json:"action"`
		Resource  types.EntityUID `json:"resource"`
		Context   types.Record    `json:"context"`
		Entities  types.EntityMap `json:"entities"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		tb.Fatalf("cedar-go cannot decode %s: %v", b, err)
	}
	return &Input{Principal: j.Principal, Action: j.Action, Resource: j.Resource, Context: j.Context, Entities: j.Entities}
}

func assertSameInput(tb testing.TB, got, want *Input) {
	tb.Helper()
	if got.Principal != want.Principal || got.Action != want.Action || got.Resource != want.Resource || !got.Context.Equal(want.Context) {
		tb.Errorf("request differs: %v %v %v %v", got.Principal, got.Action, got.Resource, got.Context)
	}
	if len(got.Entities) != len(want.Entities) {
		tb.Fatalf("%d entities, want %d", len(got.Entities), len(want.Entities))
	}
	for uid, e := range want.Entities {
		if g, ok := got.Entities[uid]; !ok || !g.Equal(e) {
			tb.Errorf("entity %s differs: %v, want %v", uid, g, e)
		}
	}
}

// FuzzInputJSON holds the engine's input codec to cedar-go's: whatever it
// decodes, cedar-go decodes to the same values, and it encodes back to
// what it decodes again.
func FuzzInputJSON(f *testing.F) {
	b, _ := mustInput(f, allowedRequest()).MarshalJSON()
	f.Add(b)
	r := allowedRequest()
	r.Query.Justification = "é\n\"x\""
	b, _ = mustInput(f, r).MarshalJSON()
	f.Add(b)
	f.Add([]byte(`{"principal":{"__entity":{"type":"User","id":"a"}},"action":{"__entity":{"type":"Action","id":"query.area"}},"resource":{"__entity":{"type":"Query","id":"q"}},"context":{"a":[1,2,{"b":{"__extn":{"fn":"ip","arg":"10.0.0.1"}}}]},"entities":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got Input
		if err := got.UnmarshalJSON(b); err != nil {
			return
		}
		assertSameInput(t, &got, decodeWithCedar(t, b))
		enc, err := got.MarshalJSON()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var again Input
		if err := again.UnmarshalJSON(enc); err != nil {
			t.Fatalf("decode re-encoded %s: %v", enc, err)
		}
		assertSameInput(t, &again, &got)
	})
}

// FuzzParse checks that Compile never panics, and that what it accepts
// keeps its promises: every policy has a unique ID and a reason, the
// department set forbids only, and the text compiles again the same.
func FuzzParse(f *testing.F) {
	f.Add(Department, DefaultDepartmentText)
	f.Add(DefaultComponent, DefaultComponentText)
	f.Add("CBP", componentPolicies(10))
	f.Add("CBP", `@id("a") @reason("r") permit (principal, action in Action::"data.use", resource) when { resource.area_km2.lessThan(decimal("1.5")) };`)
	f.Add("CBP", `@id("a") permit (principal, action, resource)`)
	f.Add(Department, `@id("x") @reason("y") forbid (principal is User, action, resource is Query) unless { principal.roles.containsAny(["a"]) };`)
	f.Fuzz(func(t *testing.T, scope, text string) {
		var limits *Limits
		if scope == Department {
			limits = &DefaultLimits
		}
		s, err := Compile(scope, text, limits)
		if err != nil {
			if ie, ok := errors.AsType[*InvalidError](err); ok {
				if len(ie.Problems) == 0 {
					t.Fatal("an InvalidError without problems")
				}
				for _, p := range ie.Problems {
					if p.Message == "" || p.Line < 0 || p.Column < 0 {
						t.Fatalf("problem %+v", p)
					}
				}
			} else if fault.CodeOf(err) != fault.Invalid {
				t.Fatalf("Compile(%q) = %v", scope, err)
			}
			return
		}
		ids := map[string]bool{}
		for _, p := range s.Policies {
			if p.ID == "" || p.Reason == "" || ids[p.ID] {
				t.Fatalf("accepted policy %+v", p)
			}
			ids[p.ID] = true
			if scope == Department && p.Effect != Forbid {
				t.Fatalf("a department permit was accepted: %s", p.ID)
			}
		}
		again, err := Compile(scope, text, limits)
		if err != nil || len(again.Policies) != len(s.Policies) {
			t.Fatalf("compiled once, then %v", err)
		}
		// Whatever it holds, deciding under it does not panic and a decision
		// is always a denial or backed by a permit.
		snap := mustDefaults(t).With(s)
		d := snap.Decide(mustInput(t, allowedRequest()))
		if d.Allowed && !slices.ContainsFunc(d.Determining, func(x Determining) bool { return x.Effect == Permit }) {
			t.Fatalf("allowed without a permit: %+v", d)
		}
	})
}

// fakeLoader serves stored sets.
type fakeLoader struct {
	sets []Stored
	err  error
}

func (f *fakeLoader) ActivePolicySets(context.Context) ([]Stored, error) { return f.sets, f.err }

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestEngine_Load(t *testing.T) {
	ctx := context.Background()
	base := []Stored{
		{ID: 1, Scope: Department, Version: 1, Text: DefaultDepartmentText, Limits: &DefaultLimits},
		{ID: 2, Scope: DefaultComponent, Version: 1, Text: DefaultComponentText},
	}
	t.Run("OK", func(t *testing.T) {
		l := &fakeLoader{sets: base}
		e := NewEngine(l, discard())
		if err := e.Load(ctx); err != nil {
			t.Fatal(err)
		}
		first := e.Snapshot()
		if first.Department.ID != 1 || first.Default.Version != 1 {
			t.Fatalf("snapshot %+v", first)
		}
		d, _ := e.DecideRequest(allowedRequest())
		if !d.Allowed || d.Department.ID != 1 || d.Component.ID != 2 {
			t.Errorf("decision %+v", d)
		}
		// A new CBP set: the unchanged sets are reused, not compiled again.
		l.sets = append(slices.Clone(base), Stored{ID: 3, Scope: "CBP", Version: 1, Text: "// nothing\n"})
		if err := e.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if e.Snapshot().Department != first.Department {
			t.Error("the department set was compiled again")
		}
		if d, _ := e.DecideRequest(allowedRequest()); d.Allowed || d.Component.ID != 3 {
			t.Errorf("under CBP's empty set: %+v", d)
		}
	})
	t.Run("ErrBrokenComponentFailsClosed", func(t *testing.T) {
		l := &fakeLoader{sets: append(slices.Clone(base), Stored{ID: 3, Scope: "CBP", Version: 4, Text: "permit (principal, action, resource);"})}
		e := NewEngine(l, discard())
		if err := e.Load(ctx); err != nil {
			t.Fatal(err)
		}
		d, _ := e.DecideRequest(allowedRequest())
		if d.Allowed || !slices.Equal(d.PolicyIDs(), []string{IDNotLoaded}) || !strings.Contains(d.Refusal, "version 4") {
			t.Errorf("CBP with a broken set: %+v", d)
		}
		// Another component is unaffected.
		r := allowedRequest()
		r.Principal.Component, r.Query.Case.Component = "ICE", "ICE"
		if d, _ := e.DecideRequest(r); !d.Allowed {
			t.Errorf("ICE: %v", d.Reasons())
		}
	})
	t.Run("ErrBrokenDepartmentKeepsPrevious", func(t *testing.T) {
		l := &fakeLoader{sets: base}
		e := NewEngine(l, discard())
		if err := e.Load(ctx); err != nil {
			t.Fatal(err)
		}
		l.sets = []Stored{{ID: 9, Scope: Department, Version: 2, Text: "nonsense", Limits: &DefaultLimits}, base[1]}
		if err := e.Load(ctx); err == nil {
			t.Fatal("a broken department set loaded")
		}
		if e.Snapshot().Department.ID != 1 {
			t.Error("the previous department set was dropped")
		}
		l.sets = base[1:]
		if err := e.Load(ctx); !errors.Is(err, ErrNoPolicies) {
			t.Errorf("no department set: %v", err)
		}
		l.err = errors.New("database down")
		if err := e.Load(ctx); err == nil || e.Snapshot().Department.ID != 1 {
			t.Errorf("a failed read: %v", err)
		}
	})
	t.Run("Refresh", func(t *testing.T) {
		l := &fakeLoader{sets: base}
		e := NewEngine(l, discard())
		if err := e.Load(ctx); err != nil {
			t.Fatal(err)
		}
		e.Start(ctx, time.Hour)
		defer e.Close()
		l2 := append(slices.Clone(base[:1]), Stored{ID: 5, Scope: DefaultComponent, Version: 2, Text: DefaultComponentText})
		e.loadMu.Lock()
		l.sets = l2
		e.loadMu.Unlock()
		e.Changed()
		for deadline := time.Now().Add(10 * time.Second); e.Snapshot().Default.ID != 5; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("Changed did not reload within 10s")
			}
		}
	})
}

func TestAnalyse(t *testing.T) {
	ctx := context.Background()
	s := mustDefaults(t)
	recs := recordedRequests(t, 200)
	recs = append(recs, Recorded{ID: 1000, Input: []byte(`{"not":"an input"}`)})
	t.Run("OK", func(t *testing.T) {
		tighter := DefaultLimits
		tighter.MaxAreaKM2 = 2
		im, err := Analyse(ctx, s, mustCompile(t, Department, DefaultDepartmentText, &tighter), recs)
		if err != nil {
			t.Fatal(err)
		}
		// Check against a replay done here, one decision at a time.
		want := 0
		for _, r := range recs[:200] {
			var in Input
			if err := in.UnmarshalJSON(r.Input); err != nil {
				t.Fatal(err)
			}
			old := s.Decide(&in)
			a, _ := in.Entities[in.Resource].Attributes.Get("area_km2")
			if old.Allowed && in.Action.ID == "query.area" && a.(types.Decimal).Float() > 2 {
				want++
			}
		}
		if want == 0 || im.AllowToDeny != want || im.DenyToAllow != 0 || im.Considered != 201 || im.Replayed != 200 || im.Unreadable != 1 {
			t.Errorf("impact %+v, want %d allow→deny", im, want)
		}
		if !slices.IsSortedFunc(im.Changes, func(a, b Change) int { return int(a.RecordID - b.RecordID) }) {
			t.Error("changes not in record order")
		}
		for _, c := range im.Changes {
			if c.Kind == AllowToDeny && !slices.Contains(c.Proposed.Policies, "department/dept.area-over-limit") {
				t.Errorf("change %+v", c)
			}
		}
	})
	t.Run("Unchanged", func(t *testing.T) {
		im, err := Analyse(ctx, s, mustCompile(t, Department, DefaultDepartmentText, &DefaultLimits), recs)
		if err != nil || im.Changed() != 0 || len(im.Changes) != 0 {
			t.Errorf("the same set changes %d decisions (%v)", im.Changed(), err)
		}
	})
	t.Run("OnlyGovernedComponents", func(t *testing.T) {
		// An ICE set takes part in none of these CBP decisions.
		im, err := Analyse(ctx, s, mustCompile(t, "ICE", "// nothing\n", nil), recs)
		if err != nil || im.Replayed != 0 || im.Changed() != 0 {
			t.Errorf("ICE's set: %+v, %v", im, err)
		}
		// CBP's empty set turns every allowance into a denial.
		im, err = Analyse(ctx, s, mustCompile(t, "CBP", "// nothing\n", nil), recs)
		if err != nil || im.Replayed != 200 || im.AllowToDeny == 0 || im.DenyToAllow != 0 {
			t.Errorf("CBP's empty set: %+v, %v", im, err)
		}
		// CBP taking the default text as a set of its own changes nothing.
		im, err = Analyse(ctx, s, mustCompile(t, "CBP", DefaultComponentText, nil), recs)
		if err != nil || im.Replayed != 200 || im.Changed() != 0 {
			t.Errorf("CBP's own copy of the default set: %+v, %v", im, err)
		}
		// A permit for everything in CBP changes no denial the floor makes.
		everything := mustCompile(t, "CBP", `@id("all") @reason("All.") permit (principal, action, resource);`, nil)
		im, err = Analyse(ctx, s, everything, recs)
		if err != nil || im.DenyToAllow != 0 {
			t.Errorf("a CBP permit for everything: %+v, %v", im, err)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := Analyse(cctx, s, s.Department, recs); !errors.Is(err, context.Canceled) {
			t.Errorf("canceled: %v", err)
		}
	})
}

func TestNext(t *testing.T) {
	proposer := Actor{ID: "cbp-cpo", PersonID: 1, Propose: true}
	dpo := Actor{ID: "dpo", PersonID: 2, Propose: true, Approve: true}
	other := Actor{ID: "sup", PersonID: 3}
	v := func(s Status) Version {
		return Version{Scope: "CBP", Version: 2, Status: s, ProposedBy: "cbp-cpo", ProposedByPerson: 1}
	}
	for _, c := range []struct {
		name string
		from Status
		step Step
		who  Actor
		to   Status
		code string
	}{
		{"analyse", Proposed, StepAnalyse, proposer, Validated, ""},
		{"analyse again", Validated, StepAnalyse, dpo, Validated, ""},
		{"approve", Validated, StepApprove, dpo, Approved, ""},
		{"activate", Approved, StepActivate, dpo, Active, ""},
		{"withdraw", Validated, StepReject, proposer, Rejected, ""},
		{"reject", Approved, StepReject, dpo, Rejected, ""},
		{"analyse by another", Proposed, StepAnalyse, other, "", WrongRole},
		{"analyse approved", Approved, StepAnalyse, dpo, "", OutOfOrder},
		{"approve unanalysed", Proposed, StepApprove, dpo, "", OutOfOrder},
		{"approve by proposer", Validated, StepApprove, proposer, "", WrongRole},
		{"approve own", Validated, StepApprove, Actor{ID: "cbp-cpo", PersonID: 1, Approve: true}, "", OwnWork},
		{"activate validated", Validated, StepActivate, dpo, "", OutOfOrder},
		{"activate by proposer", Approved, StepActivate, proposer, "", WrongRole},
		{"reject active", Active, StepReject, dpo, "", OutOfOrder},
		{"reject by another", Proposed, StepReject, other, "", WrongRole},
		{"unknown step", Proposed, "publish", dpo, "", OutOfOrder},
	} {
		t.Run(c.name, func(t *testing.T) {
			to, err := Next(v(c.from), c.step, c.who)
			if c.code == "" {
				if err != nil || to != c.to {
					t.Fatalf("Next = %s, %v; want %s", to, err, c.to)
				}
				return
			}
			se, ok := errors.AsType[*StepError](err)
			if !ok || se.Code != c.code || fault.MessageOf(err) == "" {
				t.Fatalf("Next = %v, want a %s refusal", err, c.code)
			}
			want := fault.Conflict
			if c.code == WrongRole || c.code == OwnWork {
				want = fault.Forbidden
			}
			if fault.CodeOf(err) != want {
				t.Errorf("code %s, want %s", fault.CodeOf(err), want)
			}
		})
	}
}
