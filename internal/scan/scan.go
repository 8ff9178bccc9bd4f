// Package scan is the one model of a security scan's results that every
// report format is normalized to: the findings a scanner reported and the
// components an SBOM lists, each finding with a severity on one scale and
// a fingerprint that stays the same across re-scans of the same issue.
package scan

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/fault"
)

// A Format is a report format Probity imports.
type Format string

// Formats.
const (
	SARIF     Format = "sarif"     // SARIF 2.1.0, from any static or dynamic analysis tool
	MobSF     Format = "mobsf"     // MobSF JSON report (mobile app analysis)
	CycloneDX Format = "cyclonedx" // CycloneDX 1.2–1.7 JSON SBOM, with its vulnerabilities
	SPDX      Format = "spdx"      // SPDX 2.3 JSON SBOM
)

// A Severity is a finding's severity on Probity's one scale.
type Severity string

// Severities, most severe first.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
	Info     Severity = "info" // informational: never blocks a release
)

// A Finding is one issue a scanner reported.
type Finding struct {
	// Fingerprint identifies the issue across re-scans of the same app:
	// the same rule at the same place (or the same vulnerability in the
	// same component) has the same fingerprint; hex SHA-256.
	Fingerprint string   `json:"fingerprint"`
	RuleID      string   `json:"rule_id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Severity    Severity `json:"severity"`
	// SeverityBasis says how Severity was derived from the report (e.g.
	// "security-severity 8.8", "level error", "MobSF high", "CVSS 9.8"),
	// so a reviewer can check the crosswalk.
	SeverityBasis string `json:"severity_basis"`
	// Location is where in the app the issue is: a file and line, a
	// component (purl or name@version), or empty.
	Location string   `json:"location,omitempty"`
	CWE      []string `json:"cwe,omitempty"`
	CVE      []string `json:"cve,omitempty"`
	// Suppressed reports that the tool itself recorded the finding as
	// suppressed (SARIF suppressions); it is imported all the same.
	Suppressed bool `json:"suppressed,omitempty"`
}

// A Component is one entry of an SBOM.
type Component struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	PURL    string `json:"purl,omitempty"`
	License string `json:"license,omitempty"`
}

// A Report is one imported report, normalized.
type Report struct {
	Format      Format `json:"format"`
	Tool        string `json:"tool"`
	ToolVersion string `json:"tool_version,omitempty"`
	// Subject is what the report says it describes, when it says: the
	// app's name, version and artifact digest (hex SHA-256) as named in
	// the report. Imports compare them with the release's.
	SubjectName    string      `json:"subject_name,omitempty"`
	SubjectVersion string      `json:"subject_version,omitempty"`
	SubjectSHA256  string      `json:"subject_sha256,omitempty"`
	Created        time.Time   `json:"created,omitzero"`
	Findings       []Finding   `json:"findings"`
	Components     []Component `json:"components,omitempty"`
}

// Caps on the text an importer keeps from a report, in bytes: longer text
// is cut (see [Clip]) so that a hostile report cannot bloat the store or
// the pages that show findings. Fingerprints are computed from the text
// before it is cut.
const (
	MaxRuleID      = 512
	MaxTitle       = 500
	MaxDescription = 16 << 10
	MaxLocation    = 2 << 10
	MaxName        = 1 << 10
)

// Clip returns s cut to at most n bytes on a rune boundary, ending in
// "…" when it was cut.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// Finish is the last step of every importer: it cuts text to the caps
// above, gives duplicate fingerprints their own (see [Disambiguate]) and
// makes Findings non-nil, then checks the result with [Report.Validate].
func (r *Report) Finish() error {
	r.Tool = Clip(r.Tool, MaxName)
	r.ToolVersion = Clip(r.ToolVersion, MaxName)
	r.SubjectName = Clip(r.SubjectName, MaxName)
	r.SubjectVersion = Clip(r.SubjectVersion, MaxName)
	r.SubjectSHA256 = strings.ToLower(r.SubjectSHA256)
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		f.RuleID = Clip(f.RuleID, MaxRuleID)
		f.Title = Clip(f.Title, MaxTitle)
		f.Description = Clip(f.Description, MaxDescription)
		f.Location = Clip(f.Location, MaxLocation)
		f.SeverityBasis = Clip(f.SeverityBasis, MaxTitle)
	}
	for i := range r.Components {
		c := &r.Components[i]
		c.Name = Clip(c.Name, MaxName)
		c.Version = Clip(c.Version, MaxName)
		c.PURL = Clip(c.PURL, MaxLocation)
		c.License = Clip(c.License, MaxName)
	}
	Disambiguate(r.Findings)
	return r.Validate()
}

// Validate checks what every imported report must satisfy: a known
// format, a tool name, a well-formed subject digest when there is one,
// and findings with distinct hex SHA-256 fingerprints, a severity on
// Probity's scale and the basis it was derived from.
func (r Report) Validate() error {
	if !slices.Contains(Formats, r.Format) {
		return fault.New(fault.Invalid, "unknown report format %q", r.Format)
	}
	if strings.TrimSpace(r.Tool) == "" {
		return fault.New(fault.Invalid, "the %s report does not name the tool that produced it", r.Format)
	}
	if r.SubjectSHA256 != "" && !IsSHA256(r.SubjectSHA256) {
		return fault.New(fault.Invalid, "the %s report names a subject digest %q that is not a hex SHA-256", r.Format, Clip(r.SubjectSHA256, 80))
	}
	seen := make(map[string]int, len(r.Findings))
	for i, f := range r.Findings {
		switch {
		case !IsSHA256(f.Fingerprint):
			return fault.New(fault.Invalid, "finding %d of the %s report has no valid fingerprint", i+1, r.Format)
		case !f.Severity.Valid():
			return fault.New(fault.Invalid, "finding %d of the %s report has an unknown severity %q", i+1, r.Format, f.Severity)
		case f.SeverityBasis == "":
			return fault.New(fault.Invalid, "finding %d of the %s report does not say how its severity was derived", i+1, r.Format)
		}
		if j, dup := seen[f.Fingerprint]; dup {
			return fault.New(fault.Invalid, "findings %d and %d of the %s report have the same fingerprint", j+1, i+1, r.Format)
		}
		seen[f.Fingerprint] = i
	}
	for i, c := range r.Components {
		if strings.TrimSpace(c.Name) == "" {
			return fault.New(fault.Invalid, "component %d of the %s report has no name", i+1, r.Format)
		}
	}
	return nil
}

// IsSHA256 reports whether s is a SHA-256 digest in lower-case hex.
func IsSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// CheckSubject returns a [fault.Invalid] error when the report names a
// version or an artifact digest and it is not the given one: a report
// about another build must not be counted for this one. What the report
// does not name is not checked. The version comparison ignores case and
// a leading "v".
func (r Report) CheckSubject(version, sha256 string) error {
	if r.SubjectSHA256 != "" && sha256 != "" && !strings.EqualFold(r.SubjectSHA256, sha256) {
		return fault.New(fault.Invalid, "the %s report is about the artifact with SHA-256 %s, not %s", r.Format, r.SubjectSHA256, strings.ToLower(sha256))
	}
	norm := func(v string) string { return strings.TrimPrefix(strings.ToLower(strings.TrimSpace(v)), "v") }
	if r.SubjectVersion != "" && version != "" && norm(r.SubjectVersion) != norm(version) {
		return fault.New(fault.Invalid, "the %s report is about version %q, not %q", r.Format, r.SubjectVersion, version)
	}
	return nil
}
