package release

import (
	"fmt"

	"github.com/probity-dev/probity/internal/fault"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/scan"
)

// A Rule is one condition of the gate; a refusal names the rules that
// failed.
type Rule string

// Rules of the gate.
const (
	// RuleScanMissing: a required scan type has no scan of the release's
	// exact artifact digest.
	RuleScanMissing Rule = "scan_missing"
	// RuleUntriaged: findings at or above the policy's threshold are
	// unreviewed.
	RuleUntriaged Rule = "findings_untriaged"
	// RuleOpen: findings at or above the threshold are reviewed but open
	// (confirmed, marked fixed yet still reported for this artifact, or
	// with an exception that is not approved or has expired).
	RuleOpen Rule = "findings_open"
	// RuleDeliverables: deliverables the policy requires were not
	// received.
	RuleDeliverables Rule = "deliverables_missing"
	// RulePIA: the app's PIA is not current.
	RulePIA Rule = "pia_not_current"
	// RuleNoApprover: nobody has approved the release.
	RuleNoApprover Rule = "not_approved"
	// RuleSelfApproval: the approver submitted the release.
	RuleSelfApproval Rule = "approver_is_submitter"
	// RuleUnknownRelease: no release of the app has the artifact digest
	// asked about (a check from a build pipeline).
	RuleUnknownRelease Rule = "release_unknown"
)

// A Reason is one rule that failed, said for people.
type Reason struct {
	Rule    Rule   `json:"rule"`
	Message string `json:"message"`
}

// A Decision is the gate's decision on one release at one time.
type Decision struct {
	Approved bool `json:"approved"`
	// Reasons lists every rule that failed; empty when Approved.
	Reasons []Reason `json:"reasons"`
	// PolicyVersion is the scan policy version applied.
	PolicyVersion int       `json:"policy_version"`
	CheckedAt     time.Time `json:"checked_at"`
}

// Messages returns the reasons' messages.
func (d Decision) Messages() []string {
	out := make([]string, len(d.Reasons))
	for i, r := range d.Reasons {
		out[i] = r.Message
	}
	return out
}

// Rules returns the failed rules, in order.
func (d Decision) Rules() []Rule {
	out := make([]Rule, len(d.Reasons))
	for i, r := range d.Reasons {
		out[i] = r.Rule
	}
	return out
}

// Err returns nil when d approves release r, else a [fault.Precondition]
// error wrapping a [*GateError] whose message lists every reason.
func (d Decision) Err(r Release) error {
	if d.Approved {
		return nil
	}
	e := &GateError{Release: r, Decision: d}
	return &fault.Error{Code: fault.Precondition, Message: e.Describe(), Err: e}
}

// A GateError is the gate's refusal of a release, with every reason.
type GateError struct {
	Release  Release
	Decision Decision
}

// Error names the release and the failed rules; the message of the
// [fault.Error] that wraps e is [GateError.Describe].
func (e *GateError) Error() string {
	rules := make([]string, len(e.Decision.Reasons))
	for i, r := range e.Decision.Reasons {
		rules[i] = string(r.Rule)
	}
	return fmt.Sprintf("release %d may not be approved: %s", e.Release.ID, strings.Join(rules, ", "))
}

// Describe says, for people, every reason the release may not be
// approved.
func (e *GateError) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "release %s (build %s) may not be approved: ", e.Release.Version, e.Release.Build)
	for i, r := range e.Decision.Reasons {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "(%d) %s", i+1, r.Message)
	}
	return b.String()
}

// A GateScan is one scan imported into the release.
type GateScan struct {
	ID     int64
	Type   ScanType
	SHA256 string // the artifact digest the scan was bound to
}

// A GateFinding is one finding reported by the latest scan of some type of
// the release, with its triage as it stands.
type GateFinding struct {
	ID       int64
	Type     ScanType
	Severity scan.Severity
	// State is the stored state; RiskExpires the approved exception's
	// expiry (zero when there is none).
	State       State
	RiskExpires time.Time
	// ExceptionRequested reports that an exception waits for a decision.
	ExceptionRequested bool
}

// PIAStatus says whether the app's PIA is current and, when not, why.
type PIAStatus struct {
	PIAID    int64
	Current  bool
	Problems []string
}

// A GateInput is everything the gate decides from, read in the
// transaction that records the decision.
type GateInput struct {
	App     App
	Release Release
	Policy  ScanPolicy
	// Scans are every scan imported into the release.
	Scans []GateScan
	// Findings are those the latest scan of each type of the release
	// reports.
	Findings []GateFinding
	// Received lists the deliverables received for the release (scan
	// reports and documents).
	Received []DeliverableKind
	PIA      PIAStatus
	// ApproverID is who would approve (0: nobody yet); Approver their
	// employee ID.
	ApproverID int64
	Approver   string
	Now        time.Time
}

// maxIDs is how many finding IDs a reason names.
const maxIDs = 5

// Gate decides whether a release may be approved: only if every required
// scan type has a scan of the release's exact artifact digest; every
// finding at or above the policy's threshold that the release's latest
// scans report is triaged; none of those is open without an approved,
// unexpired exception (false positives and accepted risks under an
// exception in force are the only closed states: a finding marked fixed
// or resolved by a later re-scan is still in this artifact); every
// required deliverable was received; the app's PIA is current; and
// someone other than the submitter approves. It lists every rule that
// fails, not just the first.
func Gate(in GateInput) Decision {
	d := Decision{PolicyVersion: in.Policy.Version, CheckedAt: in.Now, Reasons: []Reason{}}
	add := func(r Rule, format string, args ...any) {
		d.Reasons = append(d.Reasons, Reason{Rule: r, Message: fmt.Sprintf(format, args...)})
	}
	rel := in.Release
	for _, t := range in.Policy.Required() {
		present := slices.ContainsFunc(in.Scans, func(s GateScan) bool { return s.Type == t && s.SHA256 == rel.SHA256 && rel.SHA256 != "" })
		if !present {
			add(RuleScanMissing, "no %s scan of this artifact (sha256 %s…) has been imported; policy version %d requires one", t.Title(), Short(rel.SHA256), in.Policy.Version)
		}
	}

	threshold := in.Policy.BlockAt
	var untriaged, open []GateFinding
	for _, f := range in.Findings {
		if !AtLeast(f.Severity, threshold) {
			continue
		}
		switch Effective(f.State, f.RiskExpires, in.Now) {
		case New:
			untriaged = append(untriaged, f)
		case FalsePositive, AcceptedRisk:
		default:
			open = append(open, f)
		}
	}
	if len(untriaged) > 0 {
		add(RuleUntriaged, "%s at or above %s %s not been reviewed: %s", count(len(untriaged), "finding"), threshold, hasHave(len(untriaged)), describe(untriaged, in.Now))
	}
	if len(open) > 0 {
		add(RuleOpen, "%s at or above %s %s open without an approved, unexpired exception: %s", count(len(open), "finding"), threshold, isAre(len(open)), describe(open, in.Now))
	}

	if missing := Missing(in.Policy.RequiredDeliverables(), in.Received); len(missing) > 0 {
		names := make([]string, len(missing))
		for i, k := range missing {
			names[i] = k.Title()
		}
		add(RuleDeliverables, "the developer (%s) has not delivered: %s", in.App.Developer, strings.Join(names, "; "))
	}

	if !in.PIA.Current {
		why := strings.Join(in.PIA.Problems, "; ")
		if why == "" {
			why = "its status could not be established"
		}
		add(RulePIA, "the app's PIA (%d) is not current: %s", in.PIA.PIAID, why)
	}

	switch {
	case in.ApproverID == 0:
		add(RuleNoApprover, "release %s (build %s) has not been approved by an authorized person", rel.Version, rel.Build)
	case in.ApproverID == rel.SubmitterID:
		add(RuleSelfApproval, "%s submitted release %s and may not approve it; someone else with authority must", nonEmpty(in.Approver, "the approver"), rel.Version)
	}
	d.Approved = len(d.Reasons) == 0
	return d
}

// describe names up to maxIDs findings: their IDs, severities, scan types
// and, for open ones, why they are open.
func describe(fs []GateFinding, now time.Time) string {
	slices.SortStableFunc(fs, func(a, b GateFinding) int {
		if r := Rank(a.Severity) - Rank(b.Severity); r != 0 {
			return r
		}
		return int(a.ID - b.ID)
	})
	var parts []string
	for i, f := range fs {
		if i == maxIDs {
			parts = append(parts, fmt.Sprintf("and %d more", len(fs)-maxIDs))
			break
		}
		s := "#" + strconv.FormatInt(f.ID, 10) + " (" + string(f.Severity) + ", " + string(f.Type)
		switch {
		case f.State == AcceptedRisk && Effective(f.State, f.RiskExpires, now) != AcceptedRisk:
			s += ", exception expired " + f.RiskExpires.UTC().Format(time.DateOnly)
		case f.State == Fixed:
			s += ", marked fixed but reported for this artifact"
		case f.State == ResolvedByRescan:
			s += ", resolved only in a later build"
		case f.ExceptionRequested:
			s += ", exception requested, not approved"
		case f.State == Confirmed:
			s += ", confirmed"
		}
		parts = append(parts, s+")")
	}
	return strings.Join(parts, ", ")
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func hasHave(n int) string {
	if n == 1 {
		return "has"
	}
	return "have"
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
