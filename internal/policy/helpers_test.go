package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// allowedRequest returns an area search the default sets allow: an analyst
// of CBP, trained and acknowledged, on an open CBP case they are a member
// of, over a usable source, within the limits.
func allowedRequest() Request {
	return Request{
		Action: QueryArea,
		Principal: Principal{EmployeeID: "cbp-analyst1", Component: "CBP", Roles: []string{"analyst"},
			AccountActive: true, TrainingCurrent: true, RulesAcknowledged: true},
		Query: Query{
			ID:     "q-1",
			Case:   Case{Number: "CBP-2026-001", Component: "CBP", Status: "open", Members: []string{"cbp-analyst1", "cbp-sup"}, LegalProcess: []string{"W-123"}},
			Source: DataSource{Name: "ctd-vendor", Usable: true, Connector: "vendor", Categories: []string{"location"}},
			// Within the default limits (5 km², 72 h).
			AreaKM2: 1.25, WindowHours: 24, Justification: "Lead 17: vehicle seen at the crossing",
		},
	}
}

// mustInput returns r's input.
func mustInput(tb testing.TB, r Request) *Input {
	tb.Helper()
	in, err := r.Input()
	if err != nil {
		tb.Fatalf("input: %v", err)
	}
	return in
}

// mustCompile compiles a set or fails.
func mustCompile(tb testing.TB, scope, text string, limits *Limits) *Set {
	tb.Helper()
	s, err := Compile(scope, text, limits)
	if err != nil {
		tb.Fatalf("compile %s: %v", scope, err)
	}
	return s
}

// mustDefaults returns a snapshot of the built-in sets.
func mustDefaults(tb testing.TB) *Snapshot {
	tb.Helper()
	s, err := NewSnapshot(mustCompile(tb, Department, DefaultDepartmentText, &DefaultLimits), mustCompile(tb, DefaultComponent, DefaultComponentText, nil))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// componentPolicies returns n further component policies, alternating
// permits and forbids over the schema's attributes, none of which matches
// [allowedRequest] except as a permit.
func componentPolicies(n int) string {
	var b strings.Builder
	b.WriteString(DefaultComponentText)
	for i := range n {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "\n@id(\"extra.%d\")\n@reason(\"Rule %d: supervisors may export results of sources in category c%d.\")\npermit (principal, action == Action::\"result.export\", resource)\nwhen { principal.roles.contains(\"supervisor\") && resource.source.categories.contains(\"c%d\") };\n", i, i, i, i)
		case 1:
			fmt.Fprintf(&b, "\n@id(\"extra.%d\")\n@reason(\"Rule %d: no searches flagged f%d.\")\nforbid (principal, action in Action::\"data.use\", resource)\nwhen { resource.risk_flags.contains(\"f%d\") };\n", i, i, i, i)
		case 2:
			fmt.Fprintf(&b, "\n@id(\"extra.%d\")\n@reason(\"Rule %d: windows over %d hours need approval.\")\nforbid (principal, action == Action::\"query.device_history\", resource)\nwhen { resource.window_hours > %d && !resource.pre_approved };\n", i, i, 500+i, 500+i)
		case 3:
			fmt.Fprintf(&b, "\n@id(\"extra.%d\")\n@reason(\"Rule %d: source s%d is closed to this component.\")\nforbid (principal, action in Action::\"data.use\", resource)\nwhen { resource.source.connector == \"s%d\" };\n", i, i, i, i)
		case 4:
			fmt.Fprintf(&b, "\n@id(\"extra.%d\")\n@reason(\"Rule %d: case %d is sealed.\")\nforbid (principal, action in Action::\"data.use\", resource)\nwhen { resource.case.legal_process.contains(\"sealed-%d\") };\n", i, i, i, i)
		}
	}
	return b.String()
}

func newRecord(m types.RecordMap) types.Record { return types.NewRecord(m) }

// toAny returns a record's attributes, for changing.
func toAny(r types.Record) map[string]any {
	out := map[string]any{}
	for k, v := range r.All() {
		out[string(k)] = v
	}
	return out
}

// mustRecord builds a record of Go values (string, bool, int64, maps) and
// Cedar values.
func mustRecord(tb testing.TB, m map[string]any) types.Record {
	tb.Helper()
	rm := types.RecordMap{}
	for k, v := range m {
		switch v := v.(type) {
		case types.Value:
			rm[types.String(k)] = v
		case string:
			rm[types.String(k)] = types.String(v)
		case bool:
			rm[types.String(k)] = types.Boolean(v)
		case int64:
			rm[types.String(k)] = types.Long(v)
		case map[string]any:
			rm[types.String(k)] = mustRecord(tb, v)
		default:
			tb.Fatalf("mustRecord: %T", v)
		}
	}
	return types.NewRecord(rm)
}

// rawCedarAllows reports whether cedar-go alone, without the engine's
// checks and fail-closed rule, allows in under s's CBP sets.
func rawCedarAllows(tb testing.TB, s *Snapshot, in *Input) bool {
	tb.Helper()
	sch, err := theSchema()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, err := withLimits(in.Context, s.Department)
	if err != nil {
		tb.Fatal(err)
	}
	dec, _ := cedar.Authorize(policyPair{s.Department, s.SetFor("CBP")}, entityView{req: in.Entities, actions: sch.actions},
		types.Request{Principal: in.Principal, Action: in.Action, Resource: in.Resource, Context: ctx})
	return dec == cedar.Allow
}
