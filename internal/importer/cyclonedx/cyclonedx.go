// Package cyclonedx imports CycloneDX 1.2–1.7 JSON SBOMs into a
// [scan.Report]: every component (nested ones included) and, when the
// BOM carries them, its vulnerabilities, one finding per vulnerability
// and affected component, rated from the vulnerability's ratings.
package cyclonedx

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/scan"
)

// The spec versions Probity reads. JSON exists from 1.2 on; metadata.tools
// is an array before 1.5 and an object of components and services after.
const (
	MinSpecVersion = cdx.SpecVersion1_2
	MaxSpecVersion = cdx.SpecVersion1_7
)

// Parse reads a CycloneDX JSON SBOM of at most limit bytes
// ([scan.DefaultMaxBytes] when limit is not positive). A document whose
// bomFormat is not CycloneDX, whose specVersion is outside 1.2–1.7, or
// with a component without a name is a [fault.Invalid] error, as is
// malformed JSON, reported with its line and column; nothing is returned
// then.
func Parse(data []byte, limit int64) (scan.Report, error) {
	data = scan.TrimBOM(data)
	if err := scan.CheckSize(scan.CycloneDX, data, limit); err != nil {
		return scan.Report{}, err
	}
	if err := scan.CheckJSON(scan.CycloneDX, data); err != nil {
		return scan.Report{}, err
	}
	var bom cdx.BOM
	if err := json.Unmarshal(data, &bom); err != nil {
		if verr := checkHead(data); verr != nil {
			return scan.Report{}, verr
		}
		return scan.Report{}, scan.DecodeError(scan.CycloneDX, data, err)
	}
	if err := checkVersion(bom.BOMFormat, specString(bom.SpecVersion)); err != nil {
		return scan.Report{}, err
	}
	rep := convert(&bom)
	if err := rep.Finish(); err != nil {
		return scan.Report{}, err
	}
	return rep, nil
}

// checkHead reads only bomFormat and specVersion, so that a document of
// another format or version is reported as such rather than by how its
// shape differs.
func checkHead(data []byte) error {
	var head struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		if _, ok := errors.AsType[*json.SyntaxError](err); ok {
			return nil // the caller reports the syntax error
		}
	}
	return checkVersion(head.BOMFormat, head.SpecVersion)
}

func specString(v cdx.SpecVersion) string {
	if v == 0 {
		return ""
	}
	return v.String()
}

func checkVersion(format, version string) error {
	if format != "CycloneDX" {
		return fault.New(fault.Invalid, "the document's bomFormat is %q, not \"CycloneDX\"", scan.Clip(format, 40))
	}
	if version == "" {
		return fault.New(fault.Invalid, "the CycloneDX SBOM has no specVersion; Probity reads %s to %s", MinSpecVersion, MaxSpecVersion)
	}
	for v := MinSpecVersion; v <= MaxSpecVersion; v++ {
		if v.String() == version {
			return nil
		}
	}
	return fault.New(fault.Invalid, "the CycloneDX SBOM is specVersion %q; Probity reads %s to %s", scan.Clip(version, 40), MinSpecVersion, MaxSpecVersion)
}

func convert(bom *cdx.BOM) scan.Report {
	rep := scan.Report{Format: scan.CycloneDX, Tool: "unknown"}
	byRef := map[string]*cdx.Component{}
	if md := bom.Metadata; md != nil {
		if t, err := time.Parse(time.RFC3339, md.Timestamp); err == nil {
			rep.Created = t.UTC()
		}
		if name, version := tools(md.Tools); name != "" {
			rep.Tool, rep.ToolVersion = name, version
		}
		if c := md.Component; c != nil {
			rep.SubjectName = c.Name
			rep.SubjectVersion = c.Version
			rep.SubjectSHA256 = sha256Of(c.Hashes)
			index(byRef, []cdx.Component{*c})
		}
	}
	if bom.Components != nil {
		rep.Components = flatten(nil, *bom.Components)
		index(byRef, *bom.Components)
	}
	if bom.Vulnerabilities != nil {
		for i := range *bom.Vulnerabilities {
			rep.Findings = append(rep.Findings, findings(&(*bom.Vulnerabilities)[i], byRef)...)
		}
	}
	return rep
}

// tools names the tools that made the BOM: legacy tools (an array, before
// 1.5) or the components and services of the tools object (1.5 on).
func tools(tc *cdx.ToolsChoice) (name, version string) {
	if tc == nil {
		return "", ""
	}
	type nv struct{ name, version string }
	var all []nv
	if tc.Tools != nil {
		for _, t := range *tc.Tools {
			all = append(all, nv{t.Name, t.Version})
		}
	}
	if tc.Components != nil {
		for _, c := range *tc.Components {
			all = append(all, nv{c.Name, c.Version})
		}
	}
	if tc.Services != nil {
		for _, s := range *tc.Services {
			all = append(all, nv{s.Name, s.Version})
		}
	}
	var names []string
	for _, t := range all {
		if t.name != "" {
			if len(names) == 0 {
				version = t.version
			}
			names = append(names, t.name)
		}
	}
	return strings.Join(names, ", "), version
}

// flatten appends cs and every component nested in them, depth first.
func flatten(out []scan.Component, cs []cdx.Component) []scan.Component {
	for i := range cs {
		c := &cs[i]
		out = append(out, scan.Component{
			Name:    c.Name,
			Version: c.Version,
			PURL:    c.PackageURL,
			License: licenses(c.Licenses),
		})
		if c.Components != nil {
			out = flatten(out, *c.Components)
		}
	}
	return out
}

// index records every component by its bom-ref, nested ones included.
func index(byRef map[string]*cdx.Component, cs []cdx.Component) {
	for i := range cs {
		c := &cs[i]
		if c.BOMRef != "" {
			if _, dup := byRef[c.BOMRef]; !dup {
				byRef[c.BOMRef] = c
			}
		}
		if c.Components != nil {
			index(byRef, *c.Components)
		}
	}
}

func licenses(ls *cdx.Licenses) string {
	if ls == nil {
		return ""
	}
	var out []string
	for _, l := range *ls {
		switch {
		case l.Expression != "":
			out = append(out, l.Expression)
		case l.License != nil && l.License.ID != "":
			out = append(out, l.License.ID)
		case l.License != nil && l.License.Name != "":
			out = append(out, l.License.Name)
		}
	}
	return strings.Join(out, ", ")
}

func sha256Of(hs *[]cdx.Hash) string {
	if hs == nil {
		return ""
	}
	for _, h := range *hs {
		if h.Algorithm == cdx.HashAlgoSHA256 {
			return strings.ToLower(strings.TrimSpace(h.Value))
		}
	}
	return ""
}

var cveID = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)

// findings returns one finding per component the vulnerability affects
// (one without a component when it names none).
func findings(v *cdx.Vulnerability, byRef map[string]*cdx.Component) []scan.Finding {
	sev, basis := severity(v.Ratings)
	base := scan.Finding{
		RuleID:        v.ID,
		Severity:      sev,
		SeverityBasis: basis,
		Description:   joinNonEmpty("\n\n", v.Description, v.Detail, v.Recommendation),
	}
	if strings.HasPrefix(strings.ToUpper(v.ID), "CVE-") && cveID.MatchString(strings.ToUpper(v.ID)) {
		base.CVE = append(base.CVE, strings.ToUpper(v.ID))
	}
	if v.References != nil {
		for _, r := range *v.References {
			if id := strings.ToUpper(r.ID); cveID.MatchString(id) && !slices.Contains(base.CVE, id) {
				base.CVE = append(base.CVE, id)
			}
		}
	}
	if v.CWEs != nil {
		for _, n := range *v.CWEs {
			if id := "CWE-" + strconv.Itoa(n); !slices.Contains(base.CWE, id) {
				base.CWE = append(base.CWE, id)
			}
		}
	}
	if a := v.Analysis; a != nil {
		// The producer's own impact analysis (VEX) says the component is
		// not affected: imported, but marked as the tool suppressing it.
		base.Suppressed = a.State == cdx.IASNotAffected || a.State == cdx.IASFalsePositive
	}
	var refs []string
	if v.Affects != nil {
		for _, a := range *v.Affects {
			refs = append(refs, a.Ref)
		}
	}
	if len(refs) == 0 {
		refs = []string{""}
	}
	out := make([]scan.Finding, 0, len(refs))
	for _, ref := range refs {
		f := base
		where := component(ref, byRef)
		f.Location = where
		f.Title = v.ID
		if where != "" {
			f.Title = v.ID + " in " + label(ref, byRef)
		}
		f.Fingerprint = scan.NewFingerprint(scan.CycloneDX, "vulnerability", v.ID, where)
		out = append(out, f)
	}
	return out
}

// component names the affected component by what stays the same from one
// BOM to the next: its purl, else name@version; a bom-ref (often a random
// UUID) only when the component is not in the BOM.
func component(ref string, byRef map[string]*cdx.Component) string {
	c := lookup(ref, byRef)
	switch {
	case c == nil:
		return ref
	case c.PackageURL != "":
		return c.PackageURL
	case c.Version != "":
		return c.Name + "@" + c.Version
	case c.Name != "":
		return c.Name
	}
	return ref
}

// label is the affected component as a title shows it: name@version.
func label(ref string, byRef map[string]*cdx.Component) string {
	c := lookup(ref, byRef)
	switch {
	case c == nil:
		return ref
	case c.Version != "":
		return c.Name + "@" + c.Version
	}
	return c.Name
}

// lookup finds a component by bom-ref, or by the bom-ref a BOM-Link
// ("urn:cdx:serial/version#ref") points at.
func lookup(ref string, byRef map[string]*cdx.Component) *cdx.Component {
	if c, ok := byRef[ref]; ok {
		return c
	}
	if strings.HasPrefix(ref, "urn:cdx:") {
		if _, frag, ok := strings.Cut(ref, "#"); ok {
			return byRef[frag]
		}
	}
	return nil
}

// severity applies the crosswalk to a vulnerability's ratings: the
// highest score (CVSS or another method) wins; without a score, the most
// severe named severity; without either, unknown risk fails closed.
func severity(ratings *[]cdx.VulnerabilityRating) (scan.Severity, string) {
	if ratings == nil || len(*ratings) == 0 {
		return scan.Unrated, "no rating: assumed high"
	}
	var best *cdx.VulnerabilityRating
	for i := range *ratings {
		r := &(*ratings)[i]
		if r.Score == nil {
			continue
		}
		if _, ok := scan.FromCVSS(*r.Score); ok && (best == nil || *r.Score > *best.Score) {
			best = r
		}
	}
	if best != nil {
		s, _ := scan.FromCVSS(*best.Score)
		method := string(best.Method)
		if method == "" || method == "other" {
			method = "score"
		}
		return s, fmt.Sprintf("%s %s%s", method, strconv.FormatFloat(*best.Score, 'f', -1, 64), source(best))
	}
	var named *cdx.VulnerabilityRating
	var namedSev scan.Severity
	for i := range *ratings {
		r := &(*ratings)[i]
		if s, ok := scan.FromName(string(r.Severity)); ok && (named == nil || s.Rank() > namedSev.Rank()) {
			named, namedSev = r, s
		}
	}
	if named != nil {
		return namedSev, fmt.Sprintf("rating %s%s", strings.ToLower(string(named.Severity)), source(named))
	}
	r := &(*ratings)[0]
	return scan.Unrated, fmt.Sprintf("rating %q%s: assumed high", scan.Clip(string(r.Severity), 40), source(r))
}

func source(r *cdx.VulnerabilityRating) string {
	if r.Source == nil || r.Source.Name == "" {
		return ""
	}
	return " (" + r.Source.Name + ")"
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
