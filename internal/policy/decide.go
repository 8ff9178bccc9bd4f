package policy

import (
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// IDs of the decisions no policy of a set determined. They are recorded
// like policy IDs, under the "probity" scope.
const (
	// IDInvalidRequest is a request refused before evaluation: its input
	// does not match the schema.
	IDInvalidRequest = "probity/invalid-request"
	// IDEvaluationError is a request refused because a policy could not be
	// evaluated on it: fail closed.
	IDEvaluationError = "probity/evaluation-error"
	// IDNoPermit is a request no policy permits.
	IDNoPermit = "probity/no-permit"
	// IDNotLoaded is a request refused because the policies that govern
	// it could not be loaded.
	IDNotLoaded = "probity/not-loaded"
)

// A Snapshot is the policy sets in force at one moment: the department
// floor, the default component set, and the components' own sets. It is
// immutable and safe for concurrent use.
type Snapshot struct {
	Department *Set
	Default    *Set
	// Components are the components' own sets, by component code.
	Components map[string]*Set
	// broken names the components whose stored set could not be
	// compiled, and why: their requests are refused.
	broken map[string]string
}

// NewSnapshot returns the snapshot of the given sets: exactly one
// department set, one default component set, and at most one set per
// component.
func NewSnapshot(sets ...*Set) (*Snapshot, error) {
	s := &Snapshot{Components: map[string]*Set{}}
	for _, set := range sets {
		switch {
		case set == nil:
			return nil, fmt.Errorf("policy snapshot: nil set")
		case set.Scope == Department && s.Department == nil:
			s.Department = set
		case set.Scope == DefaultComponent && s.Default == nil:
			s.Default = set
		case IsComponentScope(set.Scope) && s.Components[set.Scope] == nil:
			s.Components[set.Scope] = set
		default:
			return nil, fmt.Errorf("policy snapshot: two sets for %s", set.Scope)
		}
	}
	if s.Department == nil || s.Default == nil {
		return nil, fmt.Errorf("policy snapshot: a department set and a default component set are required")
	}
	return s, nil
}

// SetFor returns the component set that governs the requests of people of
// component: its own set, or the default set. Department staff ("") are
// governed by the default set.
func (s *Snapshot) SetFor(component string) *Set {
	if c, ok := s.Components[component]; ok {
		return c
	}
	return s.Default
}

// Governs reports whether the set of scope takes part in the decisions of
// people of component.
func (s *Snapshot) Governs(scope, component string) bool {
	switch scope {
	case Department:
		return true
	case DefaultComponent:
		_, own := s.Components[component]
		return !own
	}
	return scope == component
}

// With returns a copy of s in which set replaces the set of its scope.
func (s *Snapshot) With(set *Set) *Snapshot {
	c := *s
	switch set.Scope {
	case Department:
		c.Department = set
	case DefaultComponent:
		c.Default = set
	default:
		c.Components = maps.Clone(s.Components)
		c.Components[set.Scope] = set
		if _, ok := s.broken[set.Scope]; ok {
			c.broken = maps.Clone(s.broken)
			delete(c.broken, set.Scope)
		}
	}
	return &c
}

// Sets returns every set of the snapshot: the department, the default, and
// the components' in code order.
func (s *Snapshot) Sets() []*Set {
	out := []*Set{s.Department, s.Default}
	for _, k := range slices.Sorted(maps.Keys(s.Components)) {
		out = append(out, s.Components[k])
	}
	return out
}

// A SetRef identifies a stored policy set version.
type SetRef struct {
	Scope   string `json:"scope"`
	Version int    `json:"version"`
	ID      int64  `json:"id"`
}

func refOf(s *Set) SetRef {
	if s == nil {
		return SetRef{}
	}
	return SetRef{Scope: s.Scope, Version: s.Version, ID: s.ID}
}

// A Determining policy is one that decided a request.
type Determining struct {
	Scope  string `json:"scope"`
	ID     string `json:"id"`
	Effect string `json:"effect"`
	Reason string `json:"reason"`
}

// An EvalError is a policy whose evaluation failed on a request.
type EvalError struct {
	Scope   string `json:"scope"`
	ID      string `json:"id"`
	Message string `json:"message"`
}

// A Decision is the outcome of a request.
type Decision struct {
	// Allowed is true only when a permit matched, no forbid matched, the
	// input matched the schema and no policy failed to evaluate.
	Allowed bool `json:"allowed"`
	// Determining are the matching forbids of a denial, or the matching
	// permits of an allowance.
	Determining []Determining `json:"determining,omitempty"`
	// Errors are the policies that could not be evaluated; any makes the
	// decision a denial (fail closed).
	Errors []EvalError `json:"errors,omitempty"`
	// Refusal says why the input was refused before evaluation, or why the
	// policies could not be applied.
	Refusal string `json:"refusal,omitempty"`
	// Department and Component are the sets that decided.
	Department SetRef `json:"department"`
	Component  SetRef `json:"component"`
	// Action is the action decided.
	Action string `json:"action"`

	refusalID string
}

// PolicyIDs returns the scope-qualified IDs of the policies that determined
// the decision ("department/dept.gate-closed"), or one of the IDInvalid…
// IDs when no policy did: what callers record in the ledger.
func (d Decision) PolicyIDs() []string {
	var out []string
	if d.refusalID != "" {
		out = append(out, d.refusalID)
	}
	if len(d.Errors) > 0 {
		out = append(out, IDEvaluationError)
		for _, e := range d.Errors {
			out = append(out, e.Scope+"/"+e.ID)
		}
	}
	for _, p := range d.Determining {
		out = append(out, p.Scope+"/"+p.ID)
	}
	if len(out) == 0 && !d.Allowed {
		out = append(out, IDNoPermit)
	}
	return out
}

// Reasons returns what the requester is told: the reasons of the
// determining policies, or why no policy could decide.
func (d Decision) Reasons() []string {
	var out []string
	if d.Refusal != "" {
		out = append(out, d.Refusal)
	}
	if len(d.Errors) > 0 {
		ids := make([]string, len(d.Errors))
		for i, e := range d.Errors {
			ids[i] = e.ID
		}
		out = append(out, fmt.Sprintf("The request could not be checked against policy %s; it is refused until the policy or the request is corrected.", strings.Join(ids, ", ")))
	}
	for _, p := range d.Determining {
		if d.Allowed == (p.Effect == Permit) {
			out = append(out, p.Reason)
		}
	}
	if len(out) == 0 && !d.Allowed {
		out = append(out, fmt.Sprintf("No policy of your component (%s) permits %s for you.", d.Component.Scope, d.Action))
	}
	return out
}

// policyPair iterates the policies of the department set and one component
// set, under scope-qualified IDs.
type policyPair [2]*Set

func (p policyPair) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for _, s := range p {
			if s == nil {
				continue
			}
			for i := range s.Policies {
				if !yield(s.Policies[i].qid, s.Policies[i].policy) {
					return
				}
			}
		}
	}
}

func (p policyPair) lookup(qid cedar.PolicyID) *Policy {
	for _, s := range p {
		if s == nil {
			continue
		}
		if pol, ok := s.byQID[qid]; ok {
			return pol
		}
	}
	return nil
}

// entityView is a request's entities together with the schema's action
// entities (which carry the action groups).
type entityView struct {
	req     types.EntityMap
	actions []types.Entity
}

func (v entityView) Get(uid types.EntityUID) (types.Entity, bool) {
	// A request defines no action (checkInput refuses one that does), so
	// an action is looked up among the schema's few, by comparing IDs: the
	// floor's "action in Action::\"data.use\"" asks for it in nearly every
	// policy, and hashing the UID each time costs more.
	if uid.Type == TypeAction {
		for _, a := range v.actions {
			if a.UID.ID == uid.ID {
				return a, true
			}
		}
		return types.Entity{}, false
	}
	e, ok := v.req[uid]
	return e, ok
}

// Decide evaluates in under the department set and the set that governs
// the requester's component. It fails closed: an input that does not match
// the schema, a component whose set could not be loaded, and a policy that
// cannot be evaluated all deny.
func (s *Snapshot) Decide(in *Input) Decision {
	return s.decide(in, checkAll)
}

// How much of an input decide checks against the schema.
type checking int

const (
	checkAll          checking = iota
	checkAllButEntity          // the entities were checked before
	checkNothing               // tests only: to show that evaluation errors deny
)

func (s *Snapshot) decide(in *Input, check checking) Decision {
	d := Decision{Action: string(in.Action.ID), Department: refOf(s.Department)}
	comp, ok := in.Component()
	if !ok {
		d.refusalID, d.Refusal = IDInvalidRequest, "The request is malformed: its principal is missing or has no component."
		return d
	}
	cs := s.SetFor(comp)
	d.Component = refOf(cs)
	if why, ok := s.broken[comp]; ok {
		d.Component = SetRef{Scope: comp}
		d.refusalID, d.Refusal = IDNotLoaded, fmt.Sprintf("The policies of %s could not be loaded (%s); requests are refused until they are corrected.", comp, why)
		return d
	}
	sch, err := theSchema()
	if err != nil {
		d.refusalID, d.Refusal = IDNotLoaded, "The policy schema could not be loaded."
		return d
	}
	ctx, err := withLimits(in.Context, s.Department)
	if err == nil && check != checkNothing {
		err = checkInput(sch, in, ctx, check == checkAllButEntity)
	}
	if err != nil {
		d.refusalID, d.Refusal = IDInvalidRequest, "The request does not match the policy schema: "+err.Error()
		return d
	}
	pair := policyPair{s.Department, cs}
	dec, diag := cedar.Authorize(pair, entityView{req: in.Entities, actions: sch.actions}, types.Request{
		Principal: in.Principal, Action: in.Action, Resource: in.Resource, Context: ctx,
	})
	for _, e := range diag.Errors {
		ee := EvalError{ID: string(e.PolicyID), Message: e.Message}
		if p := pair.lookup(e.PolicyID); p != nil {
			ee.ID = p.ID
			ee.Scope = scopeOf(e.PolicyID)
		}
		d.Errors = append(d.Errors, ee)
	}
	d.Allowed = dec == cedar.Allow && len(d.Errors) == 0
	for _, r := range diag.Reasons {
		p := pair.lookup(r.PolicyID)
		if p == nil {
			continue
		}
		// On a denial forced by an error, the permits that matched did not
		// determine anything.
		if !d.Allowed && p.Effect == Permit {
			continue
		}
		d.Determining = append(d.Determining, Determining{Scope: scopeOf(r.PolicyID), ID: p.ID, Effect: p.Effect, Reason: p.Reason})
	}
	return d
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

func scopeOf(qid cedar.PolicyID) string {
	s, _, _ := strings.Cut(string(qid), "/")
	return s
}

// withLimits returns the request's context with the department limits
// added as context.limits.
func withLimits(c types.Record, dept *Set) (types.Record, error) {
	if dept == nil || dept.limits == nil {
		return types.Record{}, fmt.Errorf("the department set has no limits")
	}
	if _, ok := c.Get("limits"); ok {
		return types.Record{}, fmt.Errorf("the request sets context.limits, which only the department set provides")
	}
	// The context of every request Request.Input builds is off_hours alone:
	// the department set keeps both complete contexts ready, sparing a
	// record (sorted, hashed, copied) per decision.
	if c.Len() == 1 {
		if v, ok := c.Get("off_hours"); ok {
			if b, ok := v.(types.Boolean); ok {
				return dept.contexts[boolIndex(bool(b))], nil
			}
		}
	}
	m := make(types.RecordMap, c.Len()+1)
	for k, v := range c.All() {
		m[k] = v
	}
	m["limits"] = dept.limits
	return types.NewRecord(m), nil
}

// checkInput validates a request's entities and context against the
// schema: every entity has exactly the attributes its type declares, of
// the declared types; the principal and resource exist; nothing redefines
// an action. With entitiesChecked, the entities are known to conform
// (impact analysis checks each distinct entity once).
func checkInput(sch *compiledSchema, in *Input, ctx types.Record, entitiesChecked bool) error {
	if err := sch.validator.Request(types.Request{Principal: in.Principal, Action: in.Action, Resource: in.Resource, Context: ctx}); err != nil {
		if _, ok := sch.resolved.Actions[in.Action]; ok && in.Principal.Type == TypeUser && in.Resource.Type == TypeQuery {
			return fmt.Errorf("the context does not match what %s takes: %s", in.Action.ID, contextProblem(sch, in.Action, ctx))
		}
		return err
	}
	for _, uid := range []types.EntityUID{in.Principal, in.Resource} {
		if _, ok := in.Entities[uid]; !ok {
			return fmt.Errorf("entity %s is missing", uid)
		}
	}
	for uid, e := range in.Entities {
		if e.UID != uid {
			return fmt.Errorf("entity %s is stored under %s", e.UID, uid)
		}
		if entitiesChecked {
			continue
		}
		if err := checkEntity(e); err != nil {
			return err
		}
	}
	return nil
}

// checkEntity validates one entity against the schema.
func checkEntity(e types.Entity) error {
	sch, err := theSchema()
	if err != nil {
		return err
	}
	if e.UID.Type == TypeAction {
		return fmt.Errorf("a request cannot define action %s", e.UID)
	}
	if err := sch.validator.Entity(e); err != nil {
		return fmt.Errorf("entity %s: %v", e.UID, err)
	}
	return nil
}

// contextProblem names the first difference between a context and the
// schema's, more precisely than the validator's message (which prints the
// whole context).
func contextProblem(sch *compiledSchema, action types.EntityUID, ctx types.Record) string {
	a := sch.resolved.Actions[action]
	if a.AppliesTo == nil {
		return "the action takes no requests"
	}
	want := a.AppliesTo.Context
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, ok := ctx.Get(name); !ok && !want[name].Optional {
			return fmt.Sprintf("attribute %q is missing", name)
		}
	}
	for name := range ctx.Keys() {
		if _, ok := want[name]; !ok {
			return fmt.Sprintf("attribute %q is not in the schema", name)
		}
	}
	return "an attribute has the wrong type"
}
