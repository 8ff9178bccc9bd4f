package release

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/scan"
)

// A ScanType is a kind of security scan a release may need.
type ScanType string

// Scan types.
const (
	Static  ScanType = "static"  // static analysis of the source or binary (SARIF)
	SBOM    ScanType = "sbom"    // dependencies and their known vulnerabilities (CycloneDX, SPDX)
	Mobile  ScanType = "mobile"  // mobile app analysis (MobSF, or SARIF from a mobile scanner)
	Dynamic ScanType = "dynamic" // dynamic analysis of the running app (SARIF)
)

// ScanTypes returns every scan type, in the order policies list them.
func ScanTypes() []ScanType { return []ScanType{Static, SBOM, Mobile, Dynamic} }

// Valid reports whether t is a known scan type.
func (t ScanType) Valid() bool { return slices.Contains(ScanTypes(), t) }

// Title returns the scan type for people.
func (t ScanType) Title() string {
	switch t {
	case Static:
		return "static analysis"
	case SBOM:
		return "dependency (SBOM)"
	case Mobile:
		return "mobile app analysis"
	case Dynamic:
		return "dynamic analysis"
	}
	return string(t)
}

// ParseScanType returns the scan type named s.
func ParseScanType(s string) (ScanType, error) {
	t := ScanType(s)
	if !t.Valid() {
		return "", Errors{{Field: "scan_type", Message: fmt.Sprintf("is static, sbom, mobile or dynamic, not %q", clip(s))}}.Err("the scan is not valid")
	}
	return t, nil
}

// Formats returns the report formats a scan of type t may come in.
func (t ScanType) Formats() []scan.Format {
	switch t {
	case Static, Dynamic:
		return []scan.Format{scan.SARIF}
	case SBOM:
		return []scan.Format{scan.CycloneDX, scan.SPDX}
	case Mobile:
		return []scan.Format{scan.MobSF, scan.SARIF}
	}
	return nil
}

// Accepts reports whether a report of format f may be a scan of type t.
func (t ScanType) Accepts(f scan.Format) bool { return slices.Contains(t.Formats(), f) }

// Deliverable returns the deliverable a scan of type t is.
func (t ScanType) Deliverable() DeliverableKind {
	if t == SBOM {
		return SBOMDocument
	}
	return DeliverableKind(string(t) + "_report")
}

// A DeliverableKind is something a release's developer owes Probity.
type DeliverableKind string

// Deliverable kinds. The SBOM and the scan reports arrive as imported
// scans; the data-flow and permissions manifest and the traceability
// answers are JSON documents Probity defines (see [ParseDocument]).
const (
	SBOMDocument     DeliverableKind = "sbom"
	StaticReport     DeliverableKind = "static_report"
	MobileReport     DeliverableKind = "mobile_report"
	DynamicReport    DeliverableKind = "dynamic_report"
	DataFlowManifest DeliverableKind = "data_flow_manifest"
	Traceability     DeliverableKind = "traceability_answers"
)

// DeliverableKinds returns every deliverable kind.
func DeliverableKinds() []DeliverableKind {
	return []DeliverableKind{SBOMDocument, StaticReport, MobileReport, DynamicReport, DataFlowManifest, Traceability}
}

// DocumentKinds returns the deliverables that are documents, not scans.
func DocumentKinds() []DeliverableKind { return []DeliverableKind{DataFlowManifest, Traceability} }

// Valid reports whether k is a known deliverable kind.
func (k DeliverableKind) Valid() bool { return slices.Contains(DeliverableKinds(), k) }

// IsDocument reports whether k is a document rather than a scan.
func (k DeliverableKind) IsDocument() bool { return slices.Contains(DocumentKinds(), k) }

// ScanType returns the scan type k is the report of, if it is one.
func (k DeliverableKind) ScanType() (ScanType, bool) {
	for _, t := range ScanTypes() {
		if t.Deliverable() == k {
			return t, true
		}
	}
	return "", false
}

// Title returns the deliverable for people.
func (k DeliverableKind) Title() string {
	switch k {
	case SBOMDocument:
		return "software bill of materials"
	case DataFlowManifest:
		return "data-flow and permissions manifest"
	case Traceability:
		return "requirements-traceability questionnaire answers"
	}
	if t, ok := k.ScanType(); ok {
		return t.Title() + " report"
	}
	return string(k)
}

// Rank orders severities: 0 for critical, 4 for info, 5 for anything
// unknown.
func Rank(s scan.Severity) int {
	if i := slices.Index(Severities(), s); i >= 0 {
		return i
	}
	return len(Severities())
}

// Severities returns every severity, most severe first.
func Severities() []scan.Severity {
	return []scan.Severity{scan.Critical, scan.High, scan.Medium, scan.Low, scan.Info}
}

// AtLeast reports whether s is at least as severe as threshold. Info is
// never at or above a threshold, and an unknown severity is below all.
func AtLeast(s, threshold scan.Severity) bool {
	return s != scan.Info && Rank(s) < len(Severities()) && Rank(s) <= Rank(threshold)
}

// An SLA is how many days a finding of each severity may stay open after
// it was first seen. Info findings have none.
type SLA struct {
	Critical int `json:"critical_days"`
	High     int `json:"high_days"`
	Medium   int `json:"medium_days"`
	Low      int `json:"low_days"`
}

// DefaultSLA is the SLA a policy gets unless it says otherwise.
var DefaultSLA = SLA{Critical: 7, High: 30, Medium: 90, Low: 120}

// MaxSLADays bounds every SLA.
const MaxSLADays = 730

// Days returns the days a finding of severity s may stay open; 0 for
// info and unknown severities, which are never overdue.
func (l SLA) Days(s scan.Severity) int {
	switch s {
	case scan.Critical:
		return l.Critical
	case scan.High:
		return l.High
	case scan.Medium:
		return l.Medium
	case scan.Low:
		return l.Low
	}
	return 0
}

// A ScanRequirement is one scan type a policy requires: who runs it (the
// roles whose holders may import it) and who reviews its results (the
// roles whose holders may triage its findings).
type ScanRequirement struct {
	Type     ScanType    `json:"type"`
	RunBy    []auth.Role `json:"run_by"`
	ReviewBy []auth.Role `json:"review_by"`
}

// A ScanPolicy is an app's written scan process, as data: the scan types
// every release needs, the severity from which findings block, who runs
// and who reviews each scan, how long findings may stay open, and which
// documents the developer owes. Policies are versioned: a change is a new
// version, and the gate names the version it applied.
type ScanPolicy struct {
	AppID   int64 `json:"-"`
	Version int   `json:"-"`
	// Scans lists the required scan types, each once.
	Scans []ScanRequirement `json:"scans"`
	// BlockAt is the least severity that blocks: findings at or above it
	// must be triaged, and none may stay open without an approved,
	// unexpired exception. Critical, high, medium or low.
	BlockAt scan.Severity `json:"block_at"`
	SLA     SLA           `json:"sla"`
	// Documents lists the deliverables owed besides scan reports
	// (DataFlowManifest, Traceability).
	Documents []DeliverableKind `json:"documents"`
	// Note says why this version was written.
	Note      string    `json:"-"`
	CreatedBy string    `json:"-"` // ledger actor ID
	CreatedAt time.Time `json:"-"`
}

// DefaultPolicy returns the policy an app gets unless one is given: static
// analysis, an SBOM and mobile app analysis of every release, each run and
// reviewed by security officers; high and critical findings block; the
// default SLA; both documents owed.
func DefaultPolicy() ScanPolicy {
	so := []auth.Role{auth.SecurityOfficer}
	return ScanPolicy{
		Scans: []ScanRequirement{
			{Type: Static, RunBy: so, ReviewBy: so},
			{Type: SBOM, RunBy: so, ReviewBy: so},
			{Type: Mobile, RunBy: so, ReviewBy: so},
		},
		BlockAt:   scan.High,
		SLA:       DefaultSLA,
		Documents: DocumentKinds(),
	}
}

// Normalize sorts p's lists into their canonical order and removes
// duplicate roles, so that equal policies encode equally. A zero SLA gets
// the default.
func (p *ScanPolicy) Normalize() {
	p.Note = strings.TrimSpace(p.Note)
	if p.SLA == (SLA{}) {
		p.SLA = DefaultSLA
	}
	for i := range p.Scans {
		p.Scans[i].RunBy = sortRoles(p.Scans[i].RunBy)
		p.Scans[i].ReviewBy = sortRoles(p.Scans[i].ReviewBy)
	}
	slices.SortStableFunc(p.Scans, func(a, b ScanRequirement) int {
		return slices.Index(ScanTypes(), a.Type) - slices.Index(ScanTypes(), b.Type)
	})
	slices.SortStableFunc(p.Documents, func(a, b DeliverableKind) int {
		return slices.Index(DeliverableKinds(), a) - slices.Index(DeliverableKinds(), b)
	})
	p.Documents = slices.Compact(p.Documents)
	if p.Documents == nil {
		p.Documents = []DeliverableKind{}
	}
	if p.Scans == nil {
		p.Scans = []ScanRequirement{}
	}
}

func sortRoles(rs []auth.Role) []auth.Role {
	out := slices.Clone(rs)
	slices.SortFunc(out, func(a, b auth.Role) int {
		ia, ib := slices.Index(auth.Roles(), a), slices.Index(auth.Roles(), b)
		if ia < 0 || ib < 0 {
			return strings.Compare(string(a), string(b))
		}
		return ia - ib
	})
	out = slices.Compact(out)
	if out == nil {
		out = []auth.Role{}
	}
	return out
}

// MayRun reports whether role r can import scans at all: its holders need
// the scans.import permission.
func MayRun(r auth.Role) bool { return slices.Contains(auth.PermissionsOf(r), auth.ScansImport) }

// MayReview reports whether role r can triage findings at all.
func MayReview(r auth.Role) bool { return slices.Contains(auth.PermissionsOf(r), auth.FindingsTriage) }

// MaxNote bounds a policy version's note, an exception's texts' sibling
// fields and triage reasons, in characters.
const MaxNote = 2000

// Validate reports whether p is a usable policy: at least one required
// scan type, each once, each run and reviewed by roles that can import
// scans and triage findings; a blocking severity of critical, high,
// medium or low; SLA days between 1 and [MaxSLADays], never longer for a
// more severe finding; known documents.
func (p ScanPolicy) Validate() error {
	var errs Errors
	if len(p.Scans) == 0 {
		errs.Add("scans", "require at least one scan type (static, sbom, mobile, dynamic)")
	}
	seen := map[ScanType]bool{}
	for i, s := range p.Scans {
		f := func(name string) string { return fmt.Sprintf("scans[%d].%s", i, name) }
		switch {
		case !s.Type.Valid():
			errs.Add(f("type"), fmt.Sprintf("is static, sbom, mobile or dynamic, not %q", clip(string(s.Type))))
		case seen[s.Type]:
			errs.Add(f("type"), fmt.Sprintf("%s is required twice", s.Type))
		}
		seen[s.Type] = true
		roles := func(field string, rs []auth.Role, can func(auth.Role) bool, what string) {
			if len(rs) == 0 {
				errs.Add(f(field), "name at least one role")
			}
			for _, r := range rs {
				switch {
				case !slices.Contains(auth.Roles(), r):
					errs.Add(f(field), fmt.Sprintf("%q is not a role", clip(string(r))))
				case !can(r):
					errs.Add(f(field), fmt.Sprintf("the %s role cannot %s", r.Title(), what))
				}
			}
		}
		roles("run_by", s.RunBy, MayRun, "import scans")
		roles("review_by", s.ReviewBy, MayReview, "triage findings")
	}
	switch p.BlockAt {
	case scan.Critical, scan.High, scan.Medium, scan.Low:
	default:
		errs.Add("block_at", fmt.Sprintf("is critical, high, medium or low, not %q", clip(string(p.BlockAt))))
	}
	prev, prevName := 0, ""
	for _, s := range []struct {
		name string
		days int
	}{{"critical_days", p.SLA.Critical}, {"high_days", p.SLA.High}, {"medium_days", p.SLA.Medium}, {"low_days", p.SLA.Low}} {
		switch {
		case s.days < 1 || s.days > MaxSLADays:
			errs.Add("sla."+s.name, fmt.Sprintf("must be 1 to %d days, not %d", MaxSLADays, s.days))
		case s.days < prev:
			errs.Add("sla."+s.name, fmt.Sprintf("must be at least the %d days of %s: a less severe finding never gets less time", prev, strings.TrimSuffix(prevName, "_days")))
		}
		if s.days > prev {
			prev, prevName = s.days, s.name
		}
	}
	for i, d := range p.Documents {
		if !d.IsDocument() {
			errs.Add(fmt.Sprintf("documents[%d]", i), fmt.Sprintf("is %s or %s, not %q (scan reports are owed through the required scans)", DataFlowManifest, Traceability, clip(string(d))))
		}
	}
	errs.para("note", p.Note, 0, MaxNote)
	return errs.Err("the scan policy is not valid")
}

// Requirement returns the requirement of scan type t, if p requires it.
func (p ScanPolicy) Requirement(t ScanType) (ScanRequirement, bool) {
	i := slices.IndexFunc(p.Scans, func(s ScanRequirement) bool { return s.Type == t })
	if i < 0 {
		return ScanRequirement{}, false
	}
	return p.Scans[i], true
}

// Required returns the required scan types, in order.
func (p ScanPolicy) Required() []ScanType {
	out := make([]ScanType, len(p.Scans))
	for i, s := range p.Scans {
		out[i] = s.Type
	}
	return out
}

// Runners returns the roles whose holders may import scans of type t:
// those the policy names, or security officers for a type it does not
// require.
func (p ScanPolicy) Runners(t ScanType) []auth.Role {
	if r, ok := p.Requirement(t); ok {
		return r.RunBy
	}
	return []auth.Role{auth.SecurityOfficer}
}

// Reviewers returns the roles whose holders may triage findings of scans
// of type t: those the policy names, or security officers for a type it
// does not require.
func (p ScanPolicy) Reviewers(t ScanType) []auth.Role {
	if r, ok := p.Requirement(t); ok {
		return r.ReviewBy
	}
	return []auth.Role{auth.SecurityOfficer}
}

// RequiredDeliverables returns what every release owes under p: the
// report of each required scan type, then the documents.
func (p ScanPolicy) RequiredDeliverables() []DeliverableKind {
	var out []DeliverableKind
	for _, s := range p.Scans {
		out = append(out, s.Type.Deliverable())
	}
	return append(out, p.Documents...)
}

// Missing returns the required deliverables not received, in the order
// required.
func Missing(required, received []DeliverableKind) []DeliverableKind {
	out := []DeliverableKind{}
	for _, k := range required {
		if !slices.Contains(received, k) && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// Encode returns the policy's stored form: JSON with the fields in a fixed
// order, so that equal policies encode equally. Normalize it first.
func (p ScanPolicy) Encode() []byte {
	b, err := json.Marshal(p)
	if err != nil {
		panic(fmt.Sprintf("release: encode policy: %v", err)) // strings, ints and slices always encode
	}
	return b
}

// MaxPolicySize bounds an encoded policy.
const MaxPolicySize = 16 << 10

// DecodePolicy reads a policy from JSON: exactly one object, no unknown
// fields, within [MaxPolicySize]. It normalizes the policy and checks it
// with [ScanPolicy.Validate].
func DecodePolicy(b []byte) (ScanPolicy, error) {
	var p ScanPolicy
	if len(b) > MaxPolicySize {
		return p, Errors{{Field: "policy", Message: fmt.Sprintf("is larger than %d bytes", MaxPolicySize)}}.Err("the scan policy is not valid")
	}
	if err := decodeStrict(b, &p); err != nil {
		return ScanPolicy{}, Errors{{Field: "policy", Message: err.Error()}}.Err("the scan policy is not valid")
	}
	p.Normalize()
	if err := p.Validate(); err != nil {
		return ScanPolicy{}, err
	}
	return p, nil
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// fields, and returns a message for people when it cannot.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New(jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("has data after its JSON object")
	}
	return nil
}

func jsonProblem(err error) string {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("is not valid JSON (syntax error at byte %d)", se.Offset)
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if te.Field != "" {
			return fmt.Sprintf("field %q must be %s", te.Field, te.Type)
		}
		return fmt.Sprintf("must be a JSON object, not %s", te.Value)
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field") {
		return "has an " + strings.TrimPrefix(msg, "json: ")
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "is empty or cut short"
	}
	return "is not valid JSON"
}
