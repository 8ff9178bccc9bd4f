package scan

import (
	"fmt"
	"strconv"
	"strings"
)

// The severity crosswalk: how each report format's own notion of severity
// becomes a [Severity]. docs/scan-severity.md states the same table for
// reviewers; the two change together.

// Rank orders severities: Critical is 4, High 3, Medium 2, Low 1, Info 0,
// and anything else -1.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 4
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	case Info:
		return 0
	}
	return -1
}

// Valid reports whether s is one of the five severities.
func (s Severity) Valid() bool { return s.Rank() >= 0 }

// AtLeast reports whether s is as severe as t or more.
func (s Severity) AtLeast(t Severity) bool { return s.Rank() >= t.Rank() }

// Severities lists the severities, most severe first.
var Severities = []Severity{Critical, High, Medium, Low, Info}

// ParseSeverity returns the severity called s (case-insensitive), as
// given in a scan policy or on a command line.
func ParseSeverity(s string) (Severity, error) {
	v := Severity(strings.ToLower(strings.TrimSpace(s)))
	if !v.Valid() {
		return "", fmt.Errorf("unknown severity %q (want critical, high, medium, low or info)", s)
	}
	return v, nil
}

// FromCVSS maps a CVSS v3/v4 base score (0.0–10.0) to a severity by the
// CVSS qualitative rating scale: 9.0 and above critical, 7.0 and above
// high, 4.0 and above medium, above 0 low, 0 info. It reports false for a
// score outside 0–10 (or NaN), which is no score at all.
func FromCVSS(score float64) (Severity, bool) {
	switch {
	case !(score >= 0 && score <= 10):
		return "", false
	case score >= 9:
		return Critical, true
	case score >= 7:
		return High, true
	case score >= 4:
		return Medium, true
	case score > 0:
		return Low, true
	}
	return Info, true
}

// FromSecuritySeverity maps a SARIF security-severity property (a string
// or number holding a CVSS-like score, as GitHub code scanning defines it)
// to a severity on the CVSS scale of [FromCVSS]. It reports false when v is
// not a number from 0 to 10.
func FromSecuritySeverity(v any) (Severity, float64, bool) {
	var score float64
	switch x := v.(type) {
	case float64:
		score = x
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return "", 0, false
		}
		score = f
	default:
		return "", 0, false
	}
	s, ok := FromCVSS(score)
	return s, score, ok
}

// FromSARIFLevel maps a SARIF level to a severity: error is high, warning
// medium, note low and none info. It reports false for anything else; the
// caller applies SARIF's default level, warning, when a result and its
// rule give none.
func FromSARIFLevel(level string) (Severity, bool) {
	switch level {
	case "error":
		return High, true
	case "warning":
		return Medium, true
	case "note":
		return Low, true
	case "none":
		return Info, true
	}
	return "", false
}

// FromName maps a severity word used by scanners and advisories to a
// severity, ignoring case: critical; high; medium or moderate; low;
// info, informational, none or negligible. It reports false for other
// words (such as CycloneDX's "unknown").
func FromName(name string) (Severity, bool) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "critical":
		return Critical, true
	case "high":
		return High, true
	case "medium", "moderate":
		return Medium, true
	case "low":
		return Low, true
	case "info", "informational", "none", "negligible":
		return Info, true
	}
	return "", false
}

// FromSeverityTag is [FromName] for SARIF tags, which also hold words
// that are not severities ("security", "cwe"): only critical, high,
// medium, low and info count, in any case (gosec writes "HIGH").
func FromSeverityTag(tag string) (Severity, bool) {
	switch strings.ToLower(strings.TrimSpace(tag)) {
	case "critical", "high", "medium", "low", "info":
		return FromName(tag)
	}
	return "", false
}

// FromMobSF maps a MobSF severity to a severity: high is high, warning
// medium, info info, and secure or good (a check that passed) info. It
// reports false for anything else.
func FromMobSF(s string) (Severity, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "high":
		return High, true
	case "warning":
		return Medium, true
	case "info", "secure", "good":
		return Info, true
	}
	return "", false
}

// Unrated is the severity given to a finding whose report rates it in no
// way Probity understands. Unknown risk fails closed: it is treated as
// high, so it blocks a release at the usual threshold until someone
// triages it.
const Unrated = High
