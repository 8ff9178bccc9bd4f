// Package sarif imports SARIF 2.1.0 logs, from any static or dynamic
// analysis tool, into a [scan.Report]: one finding per result, with its
// severity from the rule's security-severity, a severity tag or the SARIF
// level (docs/scan-severity.md), and a fingerprint that survives re-scans.
package sarif

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	sarifv210 "github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/scan"
)

// Version is the one SARIF version Probity reads.
const Version = "2.1.0"

// The log as decoded. The library's result type decodes an absent
// ruleIndex as 0, which is a real index, so results are decoded with a
// pointer beside it to tell the two apart.
type (
	log struct {
		sarifv210.Report
		Runs []*run `json:"runs"`
	}
	run struct {
		sarifv210.Run
		Results []*result `json:"results"`
	}
	result struct {
		sarifv210.Result
		RuleIndex *int `json:"ruleIndex"`
	}
)

// Parse reads a SARIF 2.1.0 log of at most limit bytes
// ([scan.DefaultMaxBytes] when limit is not positive). Every result is a
// finding except those that record a pass (kind "pass" or
// "notApplicable") or a result gone since the baseline (baselineState
// "absent"). A log of another version, without runs, or with a run that
// names no tool is a [fault.Invalid] error, as is malformed JSON, which is
// reported with its line and column; nothing is returned then.
func Parse(data []byte, limit int64) (scan.Report, error) {
	data = scan.TrimBOM(data)
	if err := scan.CheckSize(scan.SARIF, data, limit); err != nil {
		return scan.Report{}, err
	}
	if err := scan.CheckJSON(scan.SARIF, data); err != nil {
		return scan.Report{}, err
	}
	var lg log
	if err := json.Unmarshal(data, &lg); err != nil {
		// A log of another version has another shape; say so rather
		// than how its shape differs.
		if verr := checkVersion(data); verr != nil {
			return scan.Report{}, verr
		}
		return scan.Report{}, scan.DecodeError(scan.SARIF, data, err)
	}
	if err := versionError(lg.Version, lg.Version != ""); err != nil {
		return scan.Report{}, err
	}
	rep, err := convert(&lg)
	if err != nil {
		return scan.Report{}, err
	}
	if err := rep.Finish(); err != nil {
		return scan.Report{}, err
	}
	return rep, nil
}

// checkVersion reads only the log's version and returns an error when
// it is missing or not 2.1.0.
func checkVersion(data []byte) error {
	var head struct {
		Version *string `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.Version == nil {
		if _, ok := errors.AsType[*json.SyntaxError](err); ok {
			return nil // the caller reports the syntax error
		}
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field == "version" {
			return fault.New(fault.Invalid, "the SARIF log's version is a JSON %s, not a string; Probity reads SARIF %s", te.Value, Version)
		}
		return versionError("", false)
	}
	return versionError(*head.Version, true)
}

func versionError(v string, present bool) error {
	switch {
	case !present:
		return fault.New(fault.Invalid, "the SARIF log has no version; Probity reads SARIF %s", Version)
	case v != Version:
		return fault.New(fault.Invalid, "the SARIF log is version %q; Probity reads SARIF %s", scan.Clip(v, 40), Version)
	}
	return nil
}

func convert(lg *log) (scan.Report, error) {
	rep := scan.Report{Format: scan.SARIF}
	if len(lg.Runs) == 0 {
		return rep, fault.New(fault.Invalid, "the SARIF log has no runs: a tool that ran writes one run, even without results")
	}
	var tools []string
	for ri, rn := range lg.Runs {
		if rn == nil || rn.Tool == nil || rn.Tool.Driver == nil || str(rn.Tool.Driver.Name) == "" {
			return rep, fault.New(fault.Invalid, "run %d of the SARIF log names no tool (runs[%d].tool.driver.name)", ri+1, ri)
		}
		drv := rn.Tool.Driver
		if name := str(drv.Name); !slices.Contains(tools, name) {
			tools = append(tools, name)
		}
		if ri == 0 {
			rep.ToolVersion = str(drv.Version)
			if rep.ToolVersion == "" {
				rep.ToolVersion = str(drv.SemanticVersion)
			}
			rep.Created = runTime(rn)
			rep.SubjectVersion, rep.SubjectSHA256 = subject(rn)
		}
		rules := newRuleIndex(rn)
		for i, res := range rn.Results {
			if res == nil {
				return rep, fault.New(fault.Invalid, "result %d of run %d of the SARIF log is null (runs[%d].results[%d])", i+1, ri+1, ri, i)
			}
			if res.Kind == "pass" || res.Kind == "notApplicable" || str(res.BaselineState) == "absent" {
				continue
			}
			rep.Findings = append(rep.Findings, finding(rn, rules, res))
		}
	}
	rep.Tool = strings.Join(tools, ", ")
	return rep, nil
}

// finding converts one result.
func finding(rn *run, rules ruleIndex, res *result) scan.Finding {
	rule := rules.lookup(res)
	id := str(res.RuleID)
	if id == "" && res.Rule != nil {
		id = str(res.Rule.ID)
	}
	if id == "" && rule != nil {
		id = str(rule.ID)
	}
	msg := messageText(res.Message, rule)
	uri, line, snippet, loc := primaryLocation(rn, res)

	f := scan.Finding{
		RuleID:      id,
		Description: msg,
		Location:    loc,
		Suppressed:  suppressed(res),
	}
	f.Severity, f.SeverityBasis = severity(res, rule)
	f.Title = rules.title(rule, msg, id)
	f.CWE = cwes(res, rule)
	if cveID.MatchString(id) {
		f.CVE = []string{strings.ToUpper(id)}
	}

	// What names the issue, never what names the run: no GUIDs, no times.
	parts := []string{id, uri}
	switch {
	case len(res.Fingerprints) > 0:
		parts = append(parts, "fingerprints", sortedPairs(res.Fingerprints))
	case len(res.PartialFingerprints) > 0:
		parts = append(parts, "partialFingerprints", sortedPairs(res.PartialFingerprints))
	default:
		text := snippet
		if text == "" {
			text = msg
		}
		parts = append(parts, "line", strconv.Itoa(line), scan.NormalizeText(text))
	}
	f.Fingerprint = scan.NewFingerprint(scan.SARIF, parts...)
	return f
}

// severity applies the crosswalk: security-severity (result, then rule),
// then a severity tag (result, then rule), then the level (result, then
// the rule's default, then SARIF's default of warning).
func severity(res *result, rule *sarifv210.ReportingDescriptor) (scan.Severity, string) {
	var ruleProps *sarifv210.PropertyBag
	if rule != nil {
		ruleProps = rule.Properties
	}
	bags := []struct {
		where string
		bag   *sarifv210.PropertyBag
	}{{"result", res.Properties}, {"rule", ruleProps}}
	for _, b := range bags {
		if b.bag == nil {
			continue
		}
		if v, ok := b.bag.Properties["security-severity"]; ok {
			if s, score, ok := scan.FromSecuritySeverity(v); ok {
				return s, fmt.Sprintf("security-severity %s (%s)", strconv.FormatFloat(score, 'f', -1, 64), b.where)
			}
		}
	}
	for _, b := range bags {
		if b.bag == nil {
			continue
		}
		var best scan.Severity
		var tag string
		for _, t := range b.bag.Tags {
			if s, ok := scan.FromSeverityTag(t); ok && (best == "" || s.Rank() > best.Rank()) {
				best, tag = s, t
			}
		}
		if best != "" {
			return best, fmt.Sprintf("tag %q (%s)", tag, b.where)
		}
	}
	if s, ok := scan.FromSARIFLevel(res.Level); ok {
		return s, "level " + res.Level + " (result)"
	}
	if rule != nil && rule.DefaultConfiguration != nil {
		if s, ok := scan.FromSARIFLevel(rule.DefaultConfiguration.Level); ok {
			return s, "level " + rule.DefaultConfiguration.Level + " (rule default)"
		}
	}
	s, _ := scan.FromSARIFLevel("warning")
	return s, "level warning (SARIF default: none given)"
}

// ruleIndex finds a result's rule among the driver's and the extensions'.
type ruleIndex struct {
	driver     []*sarifv210.ReportingDescriptor
	extensions []*sarifv210.ToolComponent
	byID       map[string]*sarifv210.ReportingDescriptor
	titles     map[*sarifv210.ReportingDescriptor]string // first sentences of short descriptions
}

func newRuleIndex(rn *run) ruleIndex {
	x := ruleIndex{byID: map[string]*sarifv210.ReportingDescriptor{}, titles: map[*sarifv210.ReportingDescriptor]string{}}
	if rn.Tool == nil || rn.Tool.Driver == nil {
		return x
	}
	x.driver = rn.Tool.Driver.Rules
	x.extensions = rn.Tool.Extensions
	add := func(rules []*sarifv210.ReportingDescriptor) {
		for _, r := range rules {
			if r == nil {
				continue
			}
			if id := str(r.ID); id != "" {
				if _, dup := x.byID[id]; !dup {
					x.byID[id] = r
				}
			}
		}
	}
	add(x.driver)
	for _, e := range x.extensions {
		if e != nil {
			add(e.Rules)
		}
	}
	return x
}

func (x ruleIndex) lookup(res *result) *sarifv210.ReportingDescriptor {
	rules := x.driver
	if ref := res.Rule; ref != nil && ref.ToolComponent != nil {
		rules = nil
		tc := ref.ToolComponent
		for i, e := range x.extensions {
			if e == nil {
				continue
			}
			if tc.Name != nil && str(e.Name) == *tc.Name || tc.Name == nil && i == tc.Index {
				rules = e.Rules
				break
			}
		}
	}
	id := str(res.RuleID)
	if id == "" && res.Rule != nil {
		id = str(res.Rule.ID)
	}
	if id != "" {
		for _, r := range rules {
			if r != nil && str(r.ID) == id {
				return r
			}
		}
		if r, ok := x.byID[id]; ok {
			return r
		}
		// SARIF allows hierarchical rule IDs ("CA2000/1") under a rule
		// named by the first component.
		if base, _, ok := strings.Cut(id, "/"); ok {
			if r, ok := x.byID[base]; ok {
				return r
			}
		}
	}
	if res.RuleIndex != nil && *res.RuleIndex >= 0 && *res.RuleIndex < len(rules) {
		if r := rules[*res.RuleIndex]; r != nil && (id == "" || str(r.ID) == id) {
			return r
		}
	}
	return nil
}

// primaryLocation returns the first location's artifact URI, start line
// and snippet, and the location as shown ("path:line").
func primaryLocation(rn *run, res *result) (uri string, line int, snippet, shown string) {
	for _, l := range res.Locations {
		if l == nil {
			continue
		}
		if pl := l.PhysicalLocation; pl != nil {
			if al := pl.ArtifactLocation; al != nil {
				uri = str(al.URI)
				if uri == "" && al.Index >= 0 && al.Index < len(rn.Artifacts) {
					if a := rn.Artifacts[al.Index]; a != nil && a.Location != nil {
						uri = str(a.Location.URI)
					}
				}
			}
			if r := pl.Region; r != nil {
				if r.StartLine != nil {
					line = *r.StartLine
				}
				if r.Snippet != nil {
					snippet = str(r.Snippet.Text)
				}
			}
		}
		if uri == "" {
			for _, ll := range l.LogicalLocations {
				if ll != nil {
					if uri = str(ll.FullyQualifiedName); uri == "" {
						uri = str(ll.Name)
					}
					if uri != "" {
						break
					}
				}
			}
		}
		break
	}
	shown = uri
	if uri != "" && line > 0 {
		shown = uri + ":" + strconv.Itoa(line)
	}
	return uri, line, snippet, shown
}

// messageText returns a message's text with its {n} placeholders filled
// from its arguments, looking the text up in the rule's message strings
// when the message gives only an ID.
func messageText(m *sarifv210.Message, rule *sarifv210.ReportingDescriptor) string {
	if m == nil {
		return ""
	}
	text := str(m.Text)
	if text == "" && m.ID != nil && rule != nil {
		if ms, ok := rule.MessageStrings[*m.ID]; ok {
			text = str(ms.Text)
		}
	}
	if len(m.Arguments) == 0 || !strings.Contains(text, "{") {
		return text
	}
	return placeholder.ReplaceAllStringFunc(text, func(p string) string {
		n, err := strconv.Atoi(p[1 : len(p)-1])
		if err != nil || n >= len(m.Arguments) {
			return p
		}
		return m.Arguments[n]
	})
}

var (
	placeholder = regexp.MustCompile(`\{\d{1,3}\}`)
	cveID       = regexp.MustCompile(`(?i)^CVE-\d{4}-\d{4,}$`)
)

// title is the first sentence of the rule's short description, else of
// the message, else the rule's name or ID.
func (x ruleIndex) title(rule *sarifv210.ReportingDescriptor, msg, id string) string {
	if rule != nil && rule.ShortDescription != nil {
		t, ok := x.titles[rule]
		if !ok {
			t = firstSentence(str(rule.ShortDescription.Text))
			x.titles[rule] = t
		}
		if t != "" {
			return t
		}
	}
	if t := firstSentence(msg); t != "" {
		return t
	}
	if rule != nil && str(rule.Name) != "" {
		return str(rule.Name)
	}
	return id
}

// firstSentence returns s up to the end of its first sentence, with
// white space made single spaces: SARIF shows that much of a message
// where space is short.
func firstSentence(s string) string {
	s = scan.NormalizeText(s)
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i+1]
	}
	return s
}

// cwes collects CWE IDs from tags ("external/cwe/cwe-079"), a "cwe"
// property, CWE taxonomy relationships of the rule and the result's taxa.
func cwes(res *result, rule *sarifv210.ReportingDescriptor) []string {
	var out []string
	add := func(s string) { out = scan.AppendCWEs(out, s) }
	fromBag := func(b *sarifv210.PropertyBag) {
		if b == nil {
			return
		}
		for _, t := range b.Tags {
			add(t)
		}
		switch v := b.Properties["cwe"].(type) {
		case string:
			add(v)
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					add(s)
				}
			}
		}
	}
	isCWE := func(tc *sarifv210.ToolComponentReference) bool {
		return tc != nil && strings.EqualFold(str(tc.Name), "CWE")
	}
	fromBag(res.Properties)
	for _, t := range res.Taxa {
		if t != nil && isCWE(t.ToolComponent) {
			add("CWE-" + str(t.ID))
		}
	}
	if rule != nil {
		fromBag(rule.Properties)
		for _, r := range rule.Relationships {
			if r != nil && r.Target != nil && isCWE(r.Target.ToolComponent) {
				add("CWE-" + str(r.Target.ID))
			}
		}
	}
	return out
}

// suppressed reports whether a suppression is in effect: one whose status
// is absent or "accepted" (not "underReview" or "rejected").
func suppressed(res *result) bool {
	for _, s := range res.Suppressions {
		if s != nil && (s.Status == nil || *s.Status == "accepted") {
			return true
		}
	}
	return false
}

// runTime returns when the run's first invocation started (or ended).
func runTime(rn *run) time.Time {
	for _, inv := range rn.Invocations {
		if inv == nil {
			continue
		}
		for _, ts := range []*string{inv.StartTimeUtc, inv.EndTimeUtc} {
			if t, err := time.Parse(time.RFC3339, str(ts)); err == nil {
				return t.UTC()
			}
		}
	}
	return time.Time{}
}

// subject returns the version and digest of what the run analysed, when
// the log says: the revision tag of its version-control provenance and
// the SHA-256 of its one artifact in the role "analysisTarget".
func subject(rn *run) (version, sha256 string) {
	for _, v := range rn.VersionControlProvenance {
		if v != nil && str(v.RevisionTag) != "" {
			version = str(v.RevisionTag)
			break
		}
	}
	var digests []string
	for _, a := range rn.Artifacts {
		if a == nil || !slices.Contains(a.Roles, "analysisTarget") {
			continue
		}
		if d := strings.ToLower(a.Hashes["sha-256"]); d != "" && !slices.Contains(digests, d) {
			digests = append(digests, d)
		}
	}
	if len(digests) == 1 {
		sha256 = digests[0]
	}
	return version, sha256
}

func sortedPairs(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(strconv.Quote(k))
		b.WriteByte('=')
		b.WriteString(strconv.Quote(m[k]))
		b.WriteByte(';')
	}
	return b.String()
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
