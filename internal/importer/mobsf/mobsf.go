// Package mobsf imports MobSF static-analysis JSON reports (Android and
// iOS, in the shapes of MobSF 3.x and later) into a [scan.Report]. Which
// parts of a report become findings, and why, is in docs/scan-severity.md.
package mobsf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/scan"
)

// report is the part of a MobSF report Probity reads. Sections whose
// shape changed between MobSF versions (a list in one, an object holding
// the list in another) stay raw and are read by shape.
type report struct {
	Version     string `json:"version"`
	AppName     string `json:"app_name"`
	FileName    string `json:"file_name"`
	AppVersion  string `json:"app_version"`  // iOS
	VersionName string `json:"version_name"` // Android
	SHA256      string `json:"sha256"`
	Timestamp   string `json:"timestamp"`

	Code        json.RawMessage `json:"code_analysis"`
	Manifest    json.RawMessage `json:"manifest_analysis"`
	Binary      json.RawMessage `json:"binary_analysis"`
	Macho       json.RawMessage `json:"macho_analysis"`
	ATS         json.RawMessage `json:"ats_analysis"`
	Network     json.RawMessage `json:"network_security"`
	Certificate json.RawMessage `json:"certificate_analysis"`
	Firebase    json.RawMessage `json:"firebase_urls"`
	Domains     json.RawMessage `json:"domains"`
}

// Parse reads a MobSF JSON report of at most limit bytes
// ([scan.DefaultMaxBytes] when limit is not positive). A document that is
// not a MobSF static-analysis report, malformed JSON, or a section of an
// unexpected shape is a [fault.Invalid] error saying where; nothing is
// returned then.
func Parse(data []byte, limit int64) (scan.Report, error) {
	data = scan.TrimBOM(data)
	if err := scan.CheckSize(scan.MobSF, data, limit); err != nil {
		return scan.Report{}, err
	}
	if err := scan.CheckJSON(scan.MobSF, data); err != nil {
		return scan.Report{}, err
	}
	var r report
	if err := json.Unmarshal(data, &r); err != nil {
		return scan.Report{}, scan.DecodeError(scan.MobSF, data, err)
	}
	if r.AppName == "" && r.FileName == "" ||
		present(r.Code)+present(r.Manifest)+present(r.Binary)+present(r.Macho)+present(r.Certificate) == 0 {
		return scan.Report{}, fault.New(fault.Invalid, "the document is not a MobSF static-analysis report: "+
			"it lacks app_name or file_name, or all of code_analysis, manifest_analysis, binary_analysis, macho_analysis and certificate_analysis")
	}
	rep := scan.Report{
		Format:         scan.MobSF,
		Tool:           "MobSF",
		ToolVersion:    strings.TrimPrefix(strings.TrimSpace(r.Version), "v"),
		SubjectName:    r.AppName,
		SubjectVersion: r.VersionName,
		SubjectSHA256:  strings.ToLower(strings.TrimSpace(r.SHA256)),
	}
	if rep.SubjectVersion == "" {
		rep.SubjectVersion = r.AppVersion
	}
	if t, err := time.Parse(time.RFC3339Nano, r.Timestamp); err == nil {
		rep.Created = t.UTC()
	}
	c := converter{}
	for _, s := range []struct {
		name string
		raw  json.RawMessage
		read func(string, json.RawMessage) error
	}{
		{"code_analysis", r.Code, c.code},
		{"manifest_analysis", r.Manifest, c.manifest},
		{"binary_analysis", r.Binary, c.binary},
		{"macho_analysis", r.Macho, c.macho},
		{"ats_analysis", r.ATS, c.ats},
		{"network_security", r.Network, c.network},
		{"certificate_analysis", r.Certificate, c.certificate},
		{"firebase_urls", r.Firebase, c.firebase},
		{"domains", r.Domains, c.domains},
	} {
		if present(s.raw) == 0 {
			continue
		}
		if err := s.read(s.name, s.raw); err != nil {
			return scan.Report{}, err
		}
	}
	rep.Findings = c.findings
	if err := rep.Finish(); err != nil {
		return scan.Report{}, err
	}
	return rep, nil
}

// present is 1 when a raw section is there and not null, else 0.
func present(raw json.RawMessage) int {
	if len(raw) == 0 || string(raw) == "null" {
		return 0
	}
	return 1
}

type converter struct {
	findings []scan.Finding
}

// add appends a finding whose MobSF severity is sev.
func (c *converter) add(f scan.Finding, sev string, parts ...string) {
	if f.Severity == "" {
		f.Severity, f.SeverityBasis = severity(sev)
	}
	f.Fingerprint = scan.NewFingerprint(scan.MobSF, parts...)
	c.findings = append(c.findings, f)
}

// severity maps a MobSF severity; one MobSF does not define (or none)
// fails closed.
func severity(s string) (scan.Severity, string) {
	if v, ok := scan.FromMobSF(s); ok {
		return v, "MobSF " + strings.ToLower(strings.TrimSpace(s))
	}
	if strings.TrimSpace(s) == "" {
		return scan.Unrated, "MobSF gave no severity: assumed high"
	}
	return scan.Unrated, fmt.Sprintf("MobSF severity %q is not one Probity knows: assumed high", scan.Clip(s, 40))
}

// code reads code_analysis: rule key → {files, metadata}, at the top
// (older reports) or under "findings" (newer). One finding per rule, with
// the files it matched in: MobSF decompiles the app, and the file names
// of obfuscated code change from build to build, so a fingerprint per
// file would lose triage at every release.
func (c *converter) code(section string, raw json.RawMessage) error {
	rules, err := object(section, raw)
	if err != nil {
		return err
	}
	if i := slices.IndexFunc(rules, func(m member) bool { return m.key == "findings" }); i >= 0 && isObject(rules[i].value) {
		section += ".findings"
		if rules, err = object(section, rules[i].value); err != nil {
			return err
		}
	}
	for _, rule := range rules {
		var v struct {
			Files    json.RawMessage `json:"files"`
			Metadata struct {
				Description string          `json:"description"`
				Severity    string          `json:"severity"`
				CWE         json.RawMessage `json:"cwe"`
				Ref         string          `json:"ref"`
			} `json:"metadata"`
		}
		where := section + "." + rule.key
		if err := decode(where, rule.value, &v); err != nil {
			return err
		}
		files, err := fileList(where+".files", v.Files)
		if err != nil {
			return err
		}
		m := v.Metadata
		f := scan.Finding{
			RuleID:      rule.key,
			Title:       firstSentence(m.Description),
			Description: joinNonEmpty("\n", m.Description, m.Ref, filesText(files)),
			Location:    location(files),
			CWE:         scan.AppendCWEs(nil, text(m.CWE)),
		}
		if f.Title == "" {
			f.Title = rule.key
		}
		c.add(f, m.Severity, "code", rule.key)
	}
	return nil
}

// manifest reads manifest_analysis: a list of findings (older reports)
// or {"manifest_findings": [...]} (newer).
func (c *converter) manifest(section string, raw json.RawMessage) error {
	items, section, err := list(section, raw, "manifest_findings")
	if err != nil {
		return err
	}
	for i, item := range items {
		var v struct {
			Rule        string          `json:"rule"`
			Name        string          `json:"name"`
			Title       string          `json:"title"`
			Stat        string          `json:"stat"`
			Severity    string          `json:"severity"`
			Desc        string          `json:"desc"`
			Description string          `json:"description"`
			Component   json.RawMessage `json:"component"`
		}
		if err := decode(fmt.Sprintf("%s[%d]", section, i), item, &v); err != nil {
			return err
		}
		title := stripHTML(v.Title)
		key := firstNonEmpty(v.Rule, stripHTML(v.Name), title)
		component := text(v.Component)
		f := scan.Finding{
			RuleID:      key,
			Title:       firstSentence(firstNonEmpty(title, key)),
			Description: joinNonEmpty("\n", title, firstNonEmpty(v.Description, v.Desc)),
			Location:    component,
		}
		c.add(f, firstNonEmpty(v.Severity, v.Stat), "manifest", key, component, scan.NormalizeText(title))
	}
	return nil
}

// binary reads binary_analysis: {"findings": {issue: {...}}} (iOS), a
// list of findings, or a list of per-library checks (Android).
func (c *converter) binary(section string, raw json.RawMessage) error {
	if isObject(raw) {
		members, err := object(section, raw)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(members, func(m member) bool { return m.key == "findings" })
		if i < 0 {
			return nil
		}
		section += ".findings"
		issues, err := object(section, members[i].value)
		if err != nil {
			return err
		}
		for _, is := range issues {
			var v struct {
				DetailedDesc string          `json:"detailed_desc"`
				Description  string          `json:"description"`
				Severity     string          `json:"severity"`
				CWE          json.RawMessage `json:"cwe"`
			}
			if err := decode(section+"."+is.key, is.value, &v); err != nil {
				return err
			}
			f := scan.Finding{
				RuleID:      is.key,
				Title:       firstSentence(is.key),
				Description: firstNonEmpty(v.DetailedDesc, v.Description),
				CWE:         scan.AppendCWEs(nil, text(v.CWE)),
			}
			c.add(f, v.Severity, "binary", is.key)
		}
		return nil
	}
	items, section, err := list(section, raw, "")
	if err != nil {
		return err
	}
	for i, item := range items {
		where := fmt.Sprintf("%s[%d]", section, i)
		var v struct {
			Title       string          `json:"title"`
			Issue       string          `json:"issue"`
			Name        string          `json:"name"`
			File        string          `json:"file"`
			Stat        string          `json:"stat"`
			Status      string          `json:"status"`
			Severity    string          `json:"severity"`
			Desc        string          `json:"desc"`
			Description string          `json:"description"`
			CWE         json.RawMessage `json:"cwe"`
		}
		if err := decode(where, item, &v); err != nil {
			return err
		}
		if title := firstNonEmpty(v.Title, v.Issue); title != "" {
			f := scan.Finding{
				RuleID:      title,
				Title:       firstSentence(stripHTML(title)),
				Description: firstNonEmpty(v.Description, v.Desc),
				Location:    v.File,
				CWE:         scan.AppendCWEs(nil, text(v.CWE)),
			}
			c.add(f, firstNonEmpty(v.Severity, v.Stat, v.Status), "binary", title, v.File)
			continue
		}
		if err := c.checks(where, item, "binary", firstNonEmpty(v.Name, v.File)); err != nil {
			return err
		}
	}
	return nil
}

// macho reads macho_analysis (iOS): one check per member (nx, pie,
// stack_canary, arc, …), each {severity, description}.
func (c *converter) macho(section string, raw json.RawMessage) error {
	if !isObject(raw) {
		return fault.New(fault.Invalid, "the MobSF report's %s is not an object", section)
	}
	var name struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(raw, &name) // a name that is not a string is no name
	return c.checks(section, raw, "macho", name.Name)
}

// checks reads an object of binary hardening checks ({"nx": {"severity":
// "info", "description": …}, …}). MobSF rates a check that passed info or
// secure and one that failed warning or high, so only the failed ones are
// findings, as in MobSF's own scorecard.
func (c *converter) checks(where string, raw json.RawMessage, kind, binary string) error {
	members, err := object(where, raw)
	if err != nil {
		return err
	}
	for _, m := range members {
		if !isObject(m.value) {
			continue
		}
		var v struct {
			Severity    *string `json:"severity"`
			Description string  `json:"description"`
		}
		if err := decode(where+"."+m.key, m.value, &v); err != nil {
			return err
		}
		if v.Severity == nil {
			continue // not a check
		}
		s := strings.ToLower(*v.Severity)
		if s != "high" && s != "warning" {
			continue
		}
		f := scan.Finding{
			RuleID:      kind + "_" + m.key,
			Title:       firstSentence(firstNonEmpty(v.Description, m.key)),
			Description: v.Description,
			Location:    binary,
		}
		c.add(f, s, kind, binary, m.key)
	}
	return nil
}

// ats reads ats_analysis (iOS App Transport Security): a list or
// {"ats_findings": [...]}.
func (c *converter) ats(section string, raw json.RawMessage) error {
	items, section, err := list(section, raw, "ats_findings")
	if err != nil {
		return err
	}
	for i, item := range items {
		var v struct {
			Issue       string `json:"issue"`
			Severity    string `json:"severity"`
			Status      string `json:"status"`
			Description string `json:"description"`
		}
		if err := decode(fmt.Sprintf("%s[%d]", section, i), item, &v); err != nil {
			return err
		}
		key := firstNonEmpty(v.Issue, firstSentence(v.Description))
		f := scan.Finding{RuleID: key, Title: firstSentence(key), Description: v.Description}
		c.add(f, firstNonEmpty(v.Severity, v.Status), "ats", key)
	}
	return nil
}

// network reads network_security (Android network security config): a
// list or {"network_findings": [...]}.
func (c *converter) network(section string, raw json.RawMessage) error {
	items, section, err := list(section, raw, "network_findings")
	if err != nil {
		return err
	}
	for i, item := range items {
		var v struct {
			Scope       json.RawMessage `json:"scope"`
			Severity    string          `json:"severity"`
			Description string          `json:"description"`
		}
		if err := decode(fmt.Sprintf("%s[%d]", section, i), item, &v); err != nil {
			return err
		}
		scope := text(v.Scope)
		f := scan.Finding{
			RuleID:      "network_security",
			Title:       firstSentence(v.Description),
			Description: v.Description,
			Location:    scope,
		}
		c.add(f, v.Severity, "network", scan.NormalizeText(v.Description), scope)
	}
	return nil
}

// certificate reads certificate_analysis.certificate_findings: a list of
// [severity, description] or [severity, description, title].
func (c *converter) certificate(section string, raw json.RawMessage) error {
	var v struct {
		Findings [][]string `json:"certificate_findings"`
	}
	if err := decode(section, raw, &v); err != nil {
		return err
	}
	for i, cf := range v.Findings {
		if len(cf) < 2 {
			return fault.New(fault.Invalid, "the MobSF report's %s.certificate_findings[%d] has %d items; want a severity and a description", section, i, len(cf))
		}
		title := firstSentence(cf[1])
		if len(cf) > 2 && cf[2] != "" {
			title = cf[2]
		}
		f := scan.Finding{RuleID: "certificate", Title: title, Description: cf[1]}
		c.add(f, cf[0], "certificate", scan.NormalizeText(title))
	}
	return nil
}

// firebase reads firebase_urls: a database MobSF found open to anyone is
// a finding, which MobSF rates high.
func (c *converter) firebase(section string, raw json.RawMessage) error {
	items, section, err := list(section, raw, "")
	if err != nil {
		return err
	}
	for i, item := range items {
		if !isObject(item) {
			continue // older reports list bare URLs, without the open flag
		}
		var v struct {
			URL  string `json:"url"`
			Open bool   `json:"open"`
		}
		if err := decode(fmt.Sprintf("%s[%d]", section, i), item, &v); err != nil {
			return err
		}
		if !v.Open {
			continue
		}
		c.add(scan.Finding{
			RuleID:        "firebase_open",
			Title:         "Firebase database is readable without authentication",
			Description:   "The Firebase database at " + v.URL + " is exposed to the internet without any authentication.",
			Location:      v.URL,
			Severity:      scan.High,
			SeverityBasis: "MobSF open Firebase database (MobSF rates it high)",
		}, "", "firebase", v.URL)
	}
	return nil
}

// domains reads domains: a domain MobSF's threat intelligence lists as
// malicious is a finding, which MobSF rates high.
func (c *converter) domains(section string, raw json.RawMessage) error {
	members, err := object(section, raw)
	if err != nil {
		return err
	}
	for _, m := range members {
		if !isObject(m.value) {
			continue
		}
		var v struct {
			Bad string `json:"bad"`
		}
		if err := decode(section+"."+m.key, m.value, &v); err != nil {
			return err
		}
		if v.Bad != "yes" {
			continue
		}
		c.add(scan.Finding{
			RuleID:        "malicious_domain",
			Title:         "Malicious domain: " + m.key,
			Description:   "The app refers to " + m.key + ", which MobSF's domain check lists as malicious.",
			Location:      m.key,
			Severity:      scan.High,
			SeverityBasis: "MobSF malicious domain (MobSF rates it high)",
		}, "", "domain", m.key)
	}
	return nil
}

// A member is one key and raw value of a JSON object, in document order.
type member struct {
	key   string
	value json.RawMessage
}

// object returns the members of a raw JSON object in document order.
func object(where string, raw json.RawMessage) ([]member, error) {
	if !isObject(raw) {
		return nil, fault.New(fault.Invalid, "the MobSF report's %s is not an object", where)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, fault.Wrap(err, fault.Invalid, "the MobSF report's %s is not a valid object", where)
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fault.Wrap(err, fault.Invalid, "the MobSF report's %s is not a valid object", where)
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fault.Wrap(err, fault.Invalid, "the MobSF report's %s.%s is not valid JSON", where, key)
		}
		out = append(out, member{key, v})
	}
	return out, nil
}

// list returns the items of a raw JSON array, or of the array under
// inner when raw is an object (newer MobSF wraps its lists that way).
func list(where string, raw json.RawMessage, inner string) ([]json.RawMessage, string, error) {
	if inner != "" && isObject(raw) {
		var wrapped map[string]json.RawMessage
		if err := decode(where, raw, &wrapped); err != nil {
			return nil, where, err
		}
		where += "." + inner
		raw = wrapped[inner]
		if present(raw) == 0 {
			return nil, where, nil
		}
	}
	var items []json.RawMessage
	if err := decode(where, raw, &items); err != nil {
		return nil, where, err
	}
	return items, where, nil
}

// decode unmarshals a section, turning a type mismatch into an error
// that names the section.
func decode(where string, raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return fault.Wrap(err, fault.Invalid, "the MobSF report's %s.%s holds a JSON %s, which is not what MobSF writes there", where, te.Field, te.Value)
		}
		return fault.Wrap(err, fault.Invalid, "the MobSF report's %s does not have the shape MobSF writes", where)
	}
	return nil
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '{'
}

// fileList reads the files a code rule matched: an object of path →
// line numbers, or a list of paths.
func fileList(where string, raw json.RawMessage) ([]string, error) {
	if present(raw) == 0 {
		return nil, nil
	}
	if isObject(raw) {
		members, err := object(where, raw)
		if err != nil {
			return nil, err
		}
		files := make([]string, 0, len(members))
		for _, m := range members {
			lines := text(m.value)
			if lines != "" {
				files = append(files, m.key+":"+lines)
			} else {
				files = append(files, m.key)
			}
		}
		return files, nil
	}
	var files []string
	if err := decode(where, raw, &files); err != nil {
		return nil, err
	}
	return files, nil
}

// location shows one file as it is and several as the first and a count.
func location(files []string) string {
	switch len(files) {
	case 0:
		return ""
	case 1:
		return files[0]
	}
	return fmt.Sprintf("%s (and %d more files)", files[0], len(files)-1)
}

func filesText(files []string) string {
	if len(files) < 2 {
		return ""
	}
	return "Files:\n" + strings.Join(files, "\n")
}

// text renders a raw value that should be a string (or a list of strings,
// or a number) as text; anything else is empty.
func text(raw json.RawMessage) string {
	if present(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		return strings.Join(ss, " ")
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

var htmlTag = regexp.MustCompile(`<[^>]{0,64}>`)

// stripHTML turns MobSF's HTML-marked titles ("<strong>Activity</strong>
// (x) is not Protected.<br>An intent-filter exists.") into plain text.
func stripHTML(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	s = strings.ReplaceAll(s, "<br>", " ")
	return scan.NormalizeText(htmlTag.ReplaceAllString(s, ""))
}

// firstSentence returns s up to the end of its first sentence.
func firstSentence(s string) string {
	s = scan.NormalizeText(s)
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i+1]
	}
	return s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

func joinNonEmpty(sep string, ss ...string) string {
	var keep []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			keep = append(keep, s)
		}
	}
	return strings.Join(keep, sep)
}
