package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/fault"
)

func TestCheckSchema(t *testing.T) {
	if err := CheckSchema(); err != nil {
		t.Fatal(err)
	}
}

func TestCompile(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		d := mustCompile(t, Department, DefaultDepartmentText, &DefaultLimits)
		if p, f := d.Counts(); p != 0 || f != 12 {
			t.Errorf("department: %d permits, %d forbids", p, f)
		}
		for _, p := range d.Policies {
			if p.Reason == "" || p.Line == 0 || !strings.HasPrefix(p.ID, "dept.") {
				t.Errorf("department policy %+v", p)
			}
		}
		if d.Limits == nil || *d.Limits != DefaultLimits || d.Digest() != TextDigest(DefaultDepartmentText) {
			t.Errorf("limits %+v digest %s", d.Limits, d.Digest())
		}
		c := mustCompile(t, "CBP", DefaultComponentText, nil)
		if p := c.Policy("component.analysts-query"); p == nil || p.Effect != Permit || p.Line != 5 {
			t.Errorf("component.analysts-query = %+v", p)
		}
		// An empty component set is valid: it permits nothing.
		if s := mustCompile(t, "ICE", "// nothing yet\n", nil); len(s.Policies) != 0 {
			t.Errorf("empty set has %d policies", len(s.Policies))
		}
	})

	for _, c := range []struct {
		name   string
		scope  string
		text   string
		limits *Limits
		want   []Problem // Line, Column, PolicyID and a part of Message
	}{
		{"ErrSyntax", "CBP", "@id(\"a\")\n@reason(\"r\")\npermit (principal, action resource);", nil,
			[]Problem{{Line: 3, Column: 35, Message: `syntax error: expected "," but found "resource"`}}},
		{"ErrUnterminated", "CBP", "@id(\"a\")\n@reason(\"r\")\npermit (principal, action, resource)\nwhen { principal.component == \"CBP };", nil,
			[]Problem{{Line: 4, Column: 31, Message: "literal not terminated"}}},
		{"ErrTruncated", "CBP", "@id(\"a\")\n@reason(\"r\")\npermit (principal, action, resource)", nil,
			[]Problem{{Line: 3, Column: 37, Message: `expected ";" but found the end of the text`}}},
		{"ErrNoID", "CBP", "@reason(\"r\")\npermit (principal, action, resource);", nil,
			[]Problem{{Line: 1, Column: 1, Message: "no @id"}}},
		{"ErrNoReason", "CBP", "\n@id(\"a\")\npermit (principal, action, resource);", nil,
			[]Problem{{Line: 2, Column: 1, PolicyID: "a", Message: "no @reason"}}},
		{"ErrBlankReason", "CBP", "@id(\"a\") @reason(\"  \") permit (principal, action, resource);", nil,
			[]Problem{{Line: 1, Column: 1, PolicyID: "a", Message: "no @reason"}}},
		{"ErrBadID", "CBP", "@id(\"a b\") @reason(\"r\") permit (principal, action, resource);", nil,
			[]Problem{{Line: 1, Column: 1, Message: `@id "a b" must be`}}},
		{"ErrDuplicateID", "CBP", "@id(\"a\") @reason(\"r\") permit (principal, action, resource);\n@id(\"a\") @reason(\"r\") forbid (principal, action, resource);", nil,
			[]Problem{{Line: 2, Column: 1, PolicyID: "a", Message: "already used by the policy on line 1"}}},
		{"ErrUnknownAttribute", "CBP", "@id(\"a\") @reason(\"r\")\npermit (principal, action, resource) when { resource.color == \"red\" };", nil,
			[]Problem{{Line: 1, Column: 1, PolicyID: "a", Message: "attribute `color` on entity type `Query` not found"}}},
		{"ErrWrongType", "CBP", "@id(\"a\") @reason(\"r\")\npermit (principal, action, resource) when { resource.window_hours == \"long\" || principal.training_current > 1 };", nil,
			[]Problem{{Line: 1, Column: 1, PolicyID: "a", Message: "the types Long and String are not compatible"}, {Line: 1, Column: 1, PolicyID: "a", Message: "unexpected type"}}},
		{"ErrUnknownAction", "CBP", "@id(\"a\") @reason(\"r\")\npermit (principal, action == Action::\"query.everything\", resource);", nil,
			[]Problem{{Line: 1, Column: 1, PolicyID: "a", Message: "unable to find an applicable action"}, {Line: 1, Column: 1, PolicyID: "a", Message: "unrecognized action"}}},
		{"ErrUnknownEntityType", "CBP", "@id(\"a\") @reason(\"r\")\npermit (principal == Admin::\"root\", action, resource);", nil,
			[]Problem{{Line: 1, Column: 1, PolicyID: "a", Message: "unable to find an applicable action"}, {Line: 1, Column: 1, PolicyID: "a", Message: "unrecognized entity type `Admin`"}}},
		{"ErrDepartmentPermit", Department, "@id(\"a\") @reason(\"r\")\npermit (principal, action, resource);", &DefaultLimits,
			[]Problem{{Line: 1, Column: 1, PolicyID: "a", Message: "only forbid rules"}}},
		{"ErrDepartmentNoLimits", Department, DefaultDepartmentText, nil,
			[]Problem{{Message: "needs its limits"}}},
		{"ErrBadLimits", Department, DefaultDepartmentText, &Limits{MaxAreaKM2: 5, MaxWindowHours: 0},
			[]Problem{{Message: "max_window_hours"}}},
		{"ErrComponentLimits", "CBP", DefaultComponentText, &DefaultLimits,
			[]Problem{{Message: "only the department set has limits"}}},
		{"ErrSeveral", "CBP", "@id(\"a\")\npermit (principal, action, resource);\n\n@reason(\"r\")\nforbid (principal, action, resource) when { principal.x };", nil,
			[]Problem{{Line: 1, Column: 1, PolicyID: "a", Message: "no @reason"}, {Line: 4, Column: 1, Message: "no @id"}, {Line: 4, Column: 1, Message: "attribute `x`"}}},
		{"ErrNUL", "CBP", "@id(\"a\") @reason(\"r\") permit (principal, action, resource);\x00", nil,
			[]Problem{{Message: "NUL"}}},
		{"ErrTooLarge", "CBP", strings.Repeat(" ", MaxTextSize+1), nil,
			[]Problem{{Message: "at most 262144"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(c.scope, c.text, c.limits)
			ie, ok := errors.AsType[*InvalidError](err)
			if !ok {
				t.Fatalf("Compile = %v, want an *InvalidError", err)
			}
			if fault.CodeOf(err) != fault.Invalid || !strings.Contains(fault.MessageOf(err), "is not valid") {
				t.Errorf("code %s, message %q", fault.CodeOf(err), fault.MessageOf(err))
			}
			if len(ie.Problems) != len(c.want) {
				t.Fatalf("problems %+v, want %d", ie.Problems, len(c.want))
			}
			for i, w := range c.want {
				p := ie.Problems[i]
				if p.Line != w.Line || p.Column != w.Column || p.PolicyID != w.PolicyID || !strings.Contains(p.Message, w.Message) {
					t.Errorf("problem %d = %+v, want %+v", i, p, w)
				}
			}
		})
	}

	t.Run("ErrScope", func(t *testing.T) {
		for _, s := range []string{"", "cbp", "Department", "C", "TOOLONGCOMPONENT1", "CBP/x"} {
			if _, err := Compile(s, DefaultComponentText, nil); fault.CodeOf(err) != fault.Invalid {
				t.Errorf("scope %q: %v", s, err)
			}
		}
	})
}

// decideWith decides r under the built-in sets after change.
func decideWith(t *testing.T, s *Snapshot, change func(r *Request)) Decision {
	t.Helper()
	r := allowedRequest()
	if change != nil {
		change(&r)
	}
	return s.Decide(mustInput(t, r))
}

func TestSnapshot_Decide(t *testing.T) {
	s := mustDefaults(t)
	t.Run("OK", func(t *testing.T) {
		d := decideWith(t, s, nil)
		if !d.Allowed || !slices.Equal(d.PolicyIDs(), []string{"default/component.analysts-query"}) || len(d.Reasons()) != 1 {
			t.Fatalf("decision %+v (%v)", d, d.Reasons())
		}
		if d.Department.Scope != Department || d.Component.Scope != DefaultComponent || d.Action != "query.area" {
			t.Errorf("sets %+v %+v, action %s", d.Department, d.Component, d.Action)
		}
		// Pre-approved, larger areas and longer windows are allowed.
		if d := decideWith(t, s, func(r *Request) { r.Query.AreaKM2, r.Query.WindowHours, r.Query.PreApproved = 50, 500, true }); !d.Allowed {
			t.Errorf("a pre-approved large search: %v", d.Reasons())
		}
		// Exactly at the limits is within them.
		if d := decideWith(t, s, func(r *Request) { r.Query.AreaKM2, r.Query.WindowHours = 5, 72 }); !d.Allowed {
			t.Errorf("a search at the limits: %v", d.Reasons())
		}
		// A device history with a warrant on file.
		if d := decideWith(t, s, func(r *Request) { r.Action, r.Query.AreaKM2, r.Query.LegalProcessRef = QueryDeviceHistory, 0, "W-123" }); !d.Allowed {
			t.Errorf("a device history with a warrant: %v", d.Reasons())
		}
		// A supervisor exports.
		if d := decideWith(t, s, func(r *Request) { r.Action, r.Principal.Roles = ResultExport, []string{"supervisor"} }); !d.Allowed {
			t.Errorf("a supervisor's export: %v", d.Reasons())
		}
	})
	for _, c := range []struct {
		name   string
		change func(r *Request)
		want   []string // the determining policies, in order
	}{
		{"ErrGateClosed", func(r *Request) { r.Query.Source.Usable, r.Query.Source.Missing = false, []string{"pia"} }, []string{"department/dept.gate-closed"}},
		{"ErrCaseClosed", func(r *Request) { r.Query.Case.Status = "closed" }, []string{"department/dept.case-not-open"}},
		{"ErrCaseSuspended", func(r *Request) { r.Query.Case.Status = "suspended" }, []string{"department/dept.case-not-open"}},
		{"ErrNotMember", func(r *Request) { r.Query.Case.Members = []string{"someone-else"} }, []string{"department/dept.not-case-member"}},
		{"ErrOtherComponent", func(r *Request) { r.Query.Case.Component = "ICE" }, []string{"department/dept.other-component"}},
		{"ErrAccountInactive", func(r *Request) { r.Principal.AccountActive = false }, []string{"department/dept.account-inactive"}},
		{"ErrRulesNotAcknowledged", func(r *Request) { r.Principal.RulesAcknowledged = false }, []string{"department/dept.rules-not-acknowledged"}},
		{"ErrTrainingLapsed", func(r *Request) { r.Principal.TrainingCurrent = false }, []string{"department/dept.training-lapsed"}},
		{"ErrAreaOverLimit", func(r *Request) { r.Query.AreaKM2 = 5.0001 }, []string{"department/dept.area-over-limit"}},
		{"ErrWindowOverLimit", func(r *Request) { r.Query.WindowHours = 73 }, []string{"department/dept.window-over-limit"}},
		{"ErrDeviceHistoryWithoutWarrant", func(r *Request) { r.Action, r.Query.AreaKM2 = QueryDeviceHistory, 0 }, []string{"department/dept.device-history-without-legal-process"}},
		{"ErrDeviceHistoryUnknownWarrant", func(r *Request) { r.Action, r.Query.LegalProcessRef = QueryDeviceHistory, "W-999" }, []string{"department/dept.device-history-without-legal-process"}},
		{"ErrUnmaskUnapproved", func(r *Request) { r.Action = QueryUnmask }, []string{"department/dept.unmask-without-approval"}},
		{"ErrNoJustification", func(r *Request) { r.Query.Justification = "" }, []string{"department/dept.no-justification"}},
		{"ErrOffHours", func(r *Request) { r.OffHours = true }, []string{"default/component.off-hours"}},
		{"ErrNoRole", func(r *Request) { r.Principal.Roles = []string{"supervisor"} }, []string{IDNoPermit}},
		{"ErrSeveral", func(r *Request) {
			r.Principal.TrainingCurrent, r.Query.AreaKM2, r.Query.Source.Usable = false, 9, false
		}, []string{"department/dept.area-over-limit", "department/dept.gate-closed", "department/dept.training-lapsed"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := decideWith(t, s, c.change)
			got := d.PolicyIDs()
			slices.Sort(got)
			if d.Allowed || !slices.Equal(got, c.want) {
				t.Fatalf("decision %v %v, want deny by %v", d.Allowed, got, c.want)
			}
			for _, r := range d.Reasons() {
				if r == "" {
					t.Error("an empty reason")
				}
			}
		})
	}
	t.Run("ErrCourtOrderSwitchOff", func(t *testing.T) {
		off := DefaultLimits
		off.CourtOrderRequired = false
		s2 := s.With(mustCompile(t, Department, DefaultDepartmentText, &off))
		if d := decideWith(t, s2, func(r *Request) { r.Action, r.Query.AreaKM2 = QueryDeviceHistory, 0 }); !d.Allowed {
			t.Errorf("with the switch off, a device history without a warrant: %v", d.Reasons())
		}
	})
	t.Run("ComponentSetOnlyItsOwn", func(t *testing.T) {
		// ICE's set permits nothing; CBP's requests are not governed by it.
		ice := mustCompile(t, "ICE", "// nothing is permitted\n", nil)
		s2 := s.With(ice)
		if d := decideWith(t, s2, nil); !d.Allowed || d.Component.Scope != DefaultComponent {
			t.Errorf("CBP under a snapshot with ICE's set: %v via %s", d.Allowed, d.Component.Scope)
		}
		d := decideWith(t, s2, func(r *Request) { r.Principal.Component, r.Query.Case.Component = "ICE", "ICE" })
		if d.Allowed || d.Component.Scope != "ICE" || !slices.Equal(d.PolicyIDs(), []string{IDNoPermit}) || !strings.Contains(d.Reasons()[0], "ICE") {
			t.Errorf("ICE under its empty set: %+v %v", d, d.Reasons())
		}
		// A component permit cannot override the floor.
		cbp := mustCompile(t, "CBP", `@id("cbp.everything") @reason("Everything.") permit (principal, action, resource);`, nil)
		if d := decideWith(t, s.With(cbp), func(r *Request) { r.Principal.TrainingCurrent = false }); d.Allowed {
			t.Error("a component permit overrode the department floor")
		}
	})
}

// withoutAttr returns a copy of in whose entity uid lacks attribute name.
func removeEachAttribute(t *testing.T, in *Input, each func(what string, in *Input)) {
	t.Helper()
	for uid, e := range in.Entities {
		for name := range e.Attributes.Keys() {
			c := *in
			c.Entities = in.Entities.Clone()
			m := e.Attributes.Map()
			delete(m, name)
			e2 := e
			e2.Attributes = newRecord(m)
			c.Entities[uid] = e2
			each(fmt.Sprintf("%s.%s", uid, name), &c)
		}
	}
	for name := range in.Context.Keys() {
		c := *in
		m := in.Context.Map()
		delete(m, name)
		c.Context = newRecord(m)
		each("context."+string(name), &c)
	}
}

// TestSnapshot_DecideFailsClosed removes each attribute of an allowed
// request in turn: every removal must deny, never allow.
func TestSnapshot_DecideFailsClosed(t *testing.T) {
	s := mustDefaults(t)
	in := mustInput(t, allowedRequest())
	if d := s.Decide(in); !d.Allowed {
		t.Fatalf("the base request is denied: %v", d.Reasons())
	}
	t.Run("ErrMissingAttribute", func(t *testing.T) {
		n := 0
		removeEachAttribute(t, in, func(what string, c *Input) {
			n++
			d := s.Decide(c)
			if d.Allowed || !slices.Equal(d.PolicyIDs(), []string{IDInvalidRequest}) || !strings.Contains(d.Refusal, "missing") {
				t.Errorf("without %s: allowed=%v %v %q", what, d.Allowed, d.PolicyIDs(), d.Refusal)
			}
		})
		// Every attribute of the schema: 5 of User, 4 of DataSource, 4 of
		// Case, 9 of Query, 1 of the context.
		if n != 23 {
			t.Errorf("removed %d attributes, want 23", n)
		}
	})
	t.Run("ErrExtraOrMistyped", func(t *testing.T) {
		user := in.Principal
		for _, c := range []struct {
			name string
			set  func(m map[string]any)
		}{
			{"extra", func(m map[string]any) { m["clearance"] = "top" }},
			{"string for bool", func(m map[string]any) { m["training_current"] = "yes" }},
			{"long for set", func(m map[string]any) { m["roles"] = int64(1) }},
		} {
			cp := *in
			cp.Entities = in.Entities.Clone()
			e := cp.Entities[user]
			m := toAny(e.Attributes)
			c.set(m)
			e.Attributes = mustRecord(t, m)
			cp.Entities[user] = e
			if d := s.Decide(&cp); d.Allowed || d.Refusal == "" {
				t.Errorf("%s: allowed=%v refusal=%q", c.name, d.Allowed, d.Refusal)
			}
		}
	})
	t.Run("ErrMissingEntity", func(t *testing.T) {
		for uid := range in.Entities {
			cp := *in
			cp.Entities = in.Entities.Clone()
			delete(cp.Entities, uid)
			if d := s.Decide(&cp); d.Allowed {
				t.Errorf("without entity %s: allowed", uid)
			} else if len(d.Errors) == 0 && d.Refusal == "" {
				t.Errorf("without entity %s: denied without an error or refusal: %v", uid, d.PolicyIDs())
			}
		}
	})
	t.Run("ErrContextLimits", func(t *testing.T) {
		cp := *in
		m := toAny(in.Context)
		m["limits"] = map[string]any{"max_area_km2": int64(1000), "max_window_hours": int64(1000), "court_order_required": false}
		cp.Context = mustRecord(t, m)
		if d := s.Decide(&cp); d.Allowed || !strings.Contains(d.Refusal, "context.limits") {
			t.Errorf("a request setting its own limits: %v %q", d.Allowed, d.Refusal)
		}
	})
	t.Run("ErrEvaluationError", func(t *testing.T) {
		// Without the schema check, cedar-go skips a forbid whose
		// evaluation fails and lets the permit through; the engine denies.
		// Each attribute here is read by a floor forbid on every area
		// search. (Without the principal's component, no component set
		// can be chosen: that is an invalid request, tested above.)
		read := []string{
			`DataSource::"ctd-vendor".usable`, `Case::"CBP-2026-001".status`, `Case::"CBP-2026-001".members`,
			`Case::"CBP-2026-001".component`, `User::"cbp-analyst1".account_active`,
			`User::"cbp-analyst1".rules_acknowledged`, `User::"cbp-analyst1".training_current`,
			`Query::"q-1".area_km2`, `Query::"q-1".justification`, `Query::"q-1".window_hours`, "context.off_hours",
		}
		seen := 0
		removeEachAttribute(t, in, func(what string, c *Input) {
			if !slices.Contains(read, what) {
				return
			}
			seen++
			d := s.decide(c, checkNothing)
			if d.Allowed || len(d.Errors) == 0 || !slices.Contains(d.PolicyIDs(), IDEvaluationError) {
				t.Errorf("without %s and without the schema check: allowed=%v errors=%v", what, d.Allowed, d.Errors)
			}
		})
		if seen != len(read) {
			t.Errorf("removed %d of the %d attributes", seen, len(read))
		}
		// The control: cedar-go alone allows the request without
		// training_current, so the test above can fail.
		removeEachAttribute(t, in, func(what string, c *Input) {
			if what != `User::"cbp-analyst1".training_current` {
				return
			}
			if !rawCedarAllows(t, s, c) {
				t.Error("cedar-go denies a request whose forbid errs; the fail-closed test proves nothing")
			}
		})
	})
}

func TestSnapshot_NotLoaded(t *testing.T) {
	e := NewEngine(nil, nil)
	d := e.Decide(mustInput(t, allowedRequest()))
	if d.Allowed || !slices.Equal(d.PolicyIDs(), []string{IDNotLoaded}) {
		t.Errorf("an engine that never loaded: %v %v", d.Allowed, d.PolicyIDs())
	}
	if d, in := e.DecideRequest(Request{Action: "query.everything"}); d.Allowed || in != nil || !slices.Equal(d.PolicyIDs(), []string{IDInvalidRequest}) {
		t.Errorf("an unknown action: %v %v", d.Allowed, d.PolicyIDs())
	}
}
