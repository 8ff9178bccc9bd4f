// Package policy is Probity's authorization policy engine: the Cedar schema
// of who may use which data for what, the department floor and the
// components' policy sets as editable Cedar text, the checks every policy
// set passes before it is stored (it parses, it validates against the
// schema, every policy carries an @id and a plain-language @reason, the
// department set forbids only), decisions that fail closed, and impact
// analysis that replays recorded decisions under a proposed set.
//
// A decision evaluates the department set together with only the
// requester's component set (or the default component set when the
// component has none of its own): cedar-go has no policy index, so a
// decision must not pay for every component's policies. Cedar lets any
// matching forbid win over every permit, which is what makes the department
// set a floor no component can lower.
package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"

	"github.com/probity-dev/probity/internal/fault"
)

// Scopes that are not components. A component's scope is its code (e.g.
// "CBP").
const (
	// Department is the scope of the department floor.
	Department = "department"
	// DefaultComponent is the scope of the set that governs every component
	// without a set of its own.
	DefaultComponent = "default"
)

var componentScope = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,15}$`)

// CheckScope reports whether scope names a policy scope: the department,
// the default component set, or a component code.
func CheckScope(scope string) error {
	if scope == Department || scope == DefaultComponent || componentScope.MatchString(scope) {
		return nil
	}
	return fault.New(fault.Invalid, "policy scope %q must be %q, %q or a component code (e.g. CBP)", scope, Department, DefaultComponent)
}

// IsComponentScope reports whether scope is a component's own scope.
func IsComponentScope(scope string) bool { return componentScope.MatchString(scope) }

// Limits on text, to keep every parse and evaluation cheap.
const (
	// MaxTextSize is the largest policy set text, in bytes.
	MaxTextSize = 256 << 10
	// MaxPolicies is the most policies a set may hold.
	MaxPolicies = 500
	// MaxReason is the longest @reason, in characters.
	MaxReason = 500
)

var policyID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$`)

// Effects.
const (
	Permit = "permit"
	Forbid = "forbid"
)

// A Policy is one policy of a set.
type Policy struct {
	// ID is the policy's @id annotation, unique in its set.
	ID string
	// Reason is the policy's @reason annotation: what people are told when
	// the policy determines a decision.
	Reason string
	// Effect is [Permit] or [Forbid].
	Effect string
	// Line and Column locate the policy in its set's text.
	Line, Column int

	qid    cedar.PolicyID // scope-qualified, unique across the sets of a decision
	policy *cedar.Policy
}

// A Set is a parsed, validated policy set of one scope. It is immutable and
// safe for concurrent use.
type Set struct {
	// Scope is [Department], [DefaultComponent] or a component code.
	Scope string
	// Version is the stored version number; 0 for a set not yet stored.
	Version int
	// ID is the stored version's row ID; 0 for a set not yet stored.
	ID int64
	// Text is the Cedar text the set was parsed from.
	Text string
	// Limits are the department floor's limits; nil for other scopes.
	Limits *Limits
	// Policies are the set's policies in text order.
	Policies []Policy

	byQID  map[cedar.PolicyID]*Policy
	limits types.Value // Limits as a Cedar record, for the context
	// contexts are the complete contexts of requests out of hours (1) and
	// not (0), with the limits.
	contexts [2]types.Record
}

// Digest returns the SHA-256 digest of the set's text, as the ledger
// commits to it.
func (s *Set) Digest() string { return TextDigest(s.Text) }

// TextDigest returns "sha256:" and the hex SHA-256 of text.
func TextDigest(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Counts returns how many permit and forbid policies the set holds.
func (s *Set) Counts() (permits, forbids int) {
	for _, p := range s.Policies {
		if p.Effect == Permit {
			permits++
		} else {
			forbids++
		}
	}
	return permits, forbids
}

// Policy returns the policy with the given ID, or nil.
func (s *Set) Policy(id string) *Policy {
	for i := range s.Policies {
		if s.Policies[i].ID == id {
			return &s.Policies[i]
		}
	}
	return nil
}

// A Problem is one thing wrong with policy text, and where.
type Problem struct {
	// Line and Column are 1-based; 0 when the problem has no place (the
	// text as a whole).
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
	// PolicyID is the @id of the policy at fault, when known.
	PolicyID string `json:"policy_id,omitempty"`
	// Message says what is wrong, in the parser's or validator's words
	// where they said it.
	Message string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d, column %d: ", p.Line, p.Column)
	}
	if p.PolicyID != "" {
		fmt.Fprintf(&b, "policy %s: ", p.PolicyID)
	}
	b.WriteString(p.Message)
	return b.String()
}

// An InvalidError reports policy text that cannot be used, with every
// problem found. Its code is [fault.Invalid].
type InvalidError struct {
	Scope    string
	Problems []Problem
	fault    *fault.Error
}

func newInvalidError(scope string, problems []Problem) *InvalidError {
	e := &InvalidError{Scope: scope, Problems: problems}
	msg := fmt.Sprintf("the policy text for %s is not valid: %s", scope, problems[0])
	if n := len(problems) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more problem%s)", n, plural(n))
	}
	e.fault = &fault.Error{Code: fault.Invalid, Message: msg}
	return e
}

func (e *InvalidError) Error() string { return e.fault.Message }

// Unwrap returns the [fault.Error] that carries the error's code and
// user-safe message.
func (e *InvalidError) Unwrap() error { return e.fault }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Compile parses policy text for a scope and checks it: it must parse as
// Cedar, every policy must carry a unique @id and a plain-language @reason,
// every policy must validate against the schema, and a department set may
// hold only forbid rules and must come with its limits (other scopes take
// none). Every problem found is reported, with its line and column, in an
// [*InvalidError].
func Compile(scope, text string, limits *Limits) (*Set, error) {
	if err := CheckScope(scope); err != nil {
		return nil, err
	}
	sch, err := theSchema()
	if err != nil {
		return nil, err
	}
	bad := func(ps ...Problem) (*Set, error) { return nil, newInvalidError(scope, ps) }
	switch {
	case len(text) > MaxTextSize:
		return bad(Problem{Message: fmt.Sprintf("the text is %d bytes; a policy set may be at most %d", len(text), MaxTextSize)})
	case !utf8.ValidString(text):
		return bad(Problem{Message: "the text is not valid UTF-8"})
	case strings.ContainsRune(text, 0):
		return bad(Problem{Message: "the text contains a NUL character"})
	}
	var problems []Problem
	set := &Set{Scope: scope, Text: text, byQID: map[cedar.PolicyID]*Policy{}}
	if scope == Department {
		if limits == nil {
			problems = append(problems, Problem{Message: "the department set needs its limits (max_area_km2, max_window_hours, court_order_required)"})
		} else if err := limits.Check(); err != nil {
			problems = append(problems, Problem{Message: fault.MessageOf(err)})
		} else {
			l := *limits
			set.Limits = &l
			set.limits = l.record()
			for i, off := range []bool{false, true} {
				set.contexts[i] = types.NewRecord(types.RecordMap{"off_hours": types.Boolean(off), "limits": set.limits})
			}
		}
	} else if limits != nil {
		problems = append(problems, Problem{Message: "only the department set has limits"})
	}

	list, err := cedar.NewPolicyListFromBytes("", []byte(text))
	if err != nil {
		line, col, msg := parsePosition(err.Error())
		return bad(append(problems, Problem{Line: line, Column: col, Message: msg})...)
	}
	if len(list) > MaxPolicies {
		return bad(append(problems, Problem{Message: fmt.Sprintf("the set holds %d policies; at most %d are allowed", len(list), MaxPolicies)})...)
	}
	seen := map[string]int{} // ID → line of first use
	set.Policies = make([]Policy, 0, len(list))
	for _, cp := range list {
		pos := cp.Position()
		at := func(id, format string, args ...any) {
			problems = append(problems, Problem{Line: pos.Line, Column: pos.Column, PolicyID: id, Message: fmt.Sprintf(format, args...)})
		}
		ann := cp.Annotations()
		id, hasID := ann["id"]
		reason, hasReason := ann["reason"]
		p := Policy{ID: string(id), Reason: strings.TrimSpace(string(reason)), Line: pos.Line, Column: pos.Column, policy: cp}
		p.Effect = Permit
		if cp.Effect() == cedar.Forbid {
			p.Effect = Forbid
		}
		switch {
		case !hasID:
			at("", `the policy has no @id("…") annotation; every policy needs one`)
		case !policyID.MatchString(p.ID):
			at("", "@id %q must be 1 to 100 letters, digits or . _ : -, starting with a letter or digit", p.ID)
		case seen[p.ID] != 0:
			at(p.ID, "@id %q is already used by the policy on line %d", p.ID, seen[p.ID])
		default:
			seen[p.ID] = pos.Line
		}
		switch {
		case !hasReason || p.Reason == "":
			at(p.ID, `the policy has no @reason("…") annotation; every policy needs a plain-language reason that people are shown`)
		case utf8.RuneCountInString(p.Reason) > MaxReason:
			at(p.ID, "@reason is %d characters; at most %d are allowed", utf8.RuneCountInString(p.Reason), MaxReason)
		}
		if scope == Department && p.Effect == Permit {
			at(p.ID, "the department set may hold only forbid rules: a department permit would grant access in every component, while the floor may only restrict; components add permit rules in their own sets")
		}
		if err := sch.validator.Policy(p.ID, (*xast.Policy)(cp.AST())); err != nil {
			// The validator's order varies from run to run; sorted, the
			// same text always gets the same report.
			var msgs []string
			for _, msg := range errorLines(err) {
				msgs = append(msgs, strings.TrimPrefix(msg, fmt.Sprintf("for policy `%s`, ", p.ID)))
			}
			slices.Sort(msgs)
			for _, msg := range msgs {
				at(p.ID, "%s", msg)
			}
		}
		p.qid = cedar.PolicyID(scope + "/" + p.ID)
		set.Policies = append(set.Policies, p)
	}
	if len(problems) > 0 {
		return bad(problems...)
	}
	for i := range set.Policies {
		set.byQID[set.Policies[i].qid] = &set.Policies[i]
	}
	return set, nil
}

// errorLines flattens joined errors into their messages.
func errorLines(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, errorLines(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

// cedar-go's parse errors come in two shapes: the parser's, naming the
// token where it stopped, and the scanner's.
var (
	parserError  = regexp.MustCompile(`^parse error at <input>:(\d+):(\d+) ("(?:[^"\\]|\\.)*"): (.*)$`)
	scannerError = regexp.MustCompile(`^<input>:(\d+):(\d+): (.*)$`)
	exactError   = regexp.MustCompile(`^exact got (.*) want (.*)$`)
)

// parsePosition extracts the line and column of a cedar-go parse error and
// returns its message without them.
func parsePosition(msg string) (line, col int, rest string) {
	msg = strings.TrimPrefix(msg, "parser error: ")
	if m := parserError.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		col, _ = strconv.Atoi(m[2])
		tok, err := strconv.Unquote(m[3])
		if err != nil {
			tok = m[3]
		}
		if e := exactError.FindStringSubmatch(m[4]); e != nil {
			found := strconv.Quote(e[1])
			if e[1] == "" {
				found = "the end of the text"
			}
			return line, col, fmt.Sprintf("syntax error: expected %q but found %s", e[2], found)
		}
		if tok == "" {
			return line, col, "syntax error: " + m[4] + " at the end of the text"
		}
		return line, col, fmt.Sprintf("syntax error: %s at %q", m[4], tok)
	}
	if m := scannerError.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		col, _ = strconv.Atoi(m[2])
		return line, col, "syntax error: " + m[3]
	}
	return 0, 0, "syntax error: " + msg
}
