// Package spdx imports SPDX 2.3 JSON documents into a [scan.Report]:
// every package is a component, and every security advisory a package
// refers to (an external reference of category SECURITY and type
// advisory) is a finding. SPDX 2.3 has no vulnerability element of its
// own, so that reference is all an SPDX document can say about one.
package spdx

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx23 "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/scan"
)

// Version is the one SPDX version Probity reads.
const Version = spdx23.Version // "SPDX-2.3"

// Parse reads an SPDX 2.3 JSON document of at most limit bytes
// ([scan.DefaultMaxBytes] when limit is not positive). A document of
// another SPDX version, or with a package without a name, is a
// [fault.Invalid] error, as is malformed JSON, reported with its line and
// column; nothing is returned then.
func Parse(data []byte, limit int64) (scan.Report, error) {
	data = scan.TrimBOM(data)
	if err := scan.CheckSize(scan.SPDX, data, limit); err != nil {
		return scan.Report{}, err
	}
	if err := scan.CheckJSON(scan.SPDX, data); err != nil {
		return scan.Report{}, err
	}
	var doc spdx23.Document
	if err := json.Unmarshal(data, &doc); err != nil {
		if verr := checkHead(data); verr != nil {
			return scan.Report{}, verr
		}
		return scan.Report{}, scan.DecodeError(scan.SPDX, data, err)
	}
	if err := checkVersion(doc.SPDXVersion); err != nil {
		return scan.Report{}, err
	}
	rep := convert(&doc)
	if err := rep.Finish(); err != nil {
		return scan.Report{}, err
	}
	return rep, nil
}

// checkHead reads only spdxVersion, so that a document of another
// version is reported as such rather than by how its shape differs.
func checkHead(data []byte) error {
	var head struct {
		SPDXVersion string `json:"spdxVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		if _, ok := errors.AsType[*json.SyntaxError](err); ok {
			return nil // the caller reports the syntax error
		}
	}
	return checkVersion(head.SPDXVersion)
}

func checkVersion(v string) error {
	switch v {
	case Version:
		return nil
	case "":
		return fault.New(fault.Invalid, "the SPDX document has no spdxVersion; Probity reads %s", Version)
	}
	return fault.New(fault.Invalid, "the SPDX document is %q; Probity reads %s", scan.Clip(v, 40), Version)
}

func convert(doc *spdx23.Document) scan.Report {
	rep := scan.Report{Format: scan.SPDX, Tool: "unknown"}
	if ci := doc.CreationInfo; ci != nil {
		if t, err := time.Parse(time.RFC3339, ci.Created); err == nil {
			rep.Created = t.UTC()
		}
		var names []string
		for _, c := range ci.Creators {
			if c.CreatorType != "Tool" || c.Creator == "" {
				continue
			}
			name, version := splitTool(c.Creator)
			if len(names) == 0 {
				rep.ToolVersion = version
			}
			names = append(names, name)
		}
		if len(names) > 0 {
			rep.Tool = strings.Join(names, ", ")
		}
	}
	if p := described(doc); p != nil {
		rep.SubjectName = p.PackageName
		rep.SubjectVersion = p.PackageVersion
		for _, c := range p.PackageChecksums {
			if c.Algorithm == common.SHA256 {
				rep.SubjectSHA256 = strings.ToLower(strings.TrimSpace(c.Value))
			}
		}
	}
	for _, p := range doc.Packages {
		if p == nil {
			continue
		}
		purl := purlOf(p)
		rep.Components = append(rep.Components, scan.Component{
			Name:    p.PackageName,
			Version: p.PackageVersion,
			PURL:    purl,
			License: license(p),
		})
		where := purl
		label := p.PackageName
		if p.PackageVersion != "" {
			label += "@" + p.PackageVersion
		}
		if where == "" {
			where = label
		}
		for _, r := range p.PackageExternalReferences {
			if r == nil || !strings.EqualFold(r.Category, "SECURITY") || !strings.EqualFold(r.RefType, "advisory") {
				continue
			}
			id := advisoryID(r.Locator)
			f := scan.Finding{
				RuleID:        id,
				Title:         id + " in " + label,
				Description:   strings.TrimSpace("Advisory: " + r.Locator + "\n" + r.ExternalRefComment),
				Location:      where,
				Severity:      scan.Unrated,
				SeverityBasis: "SPDX 2.3 advisory reference, which carries no severity: assumed high",
				Fingerprint:   scan.NewFingerprint(scan.SPDX, "advisory", id, where),
			}
			if cve := strings.ToUpper(id); cveID.MatchString(cve) {
				f.CVE = []string{cve}
			}
			rep.Findings = append(rep.Findings, f)
		}
	}
	return rep
}

// described returns the package the document describes: the first
// package named by a DESCRIBES relationship from the document (or a
// DESCRIBED_BY relationship to it).
func described(doc *spdx23.Document) *spdx23.Package {
	byID := make(map[common.ElementID]*spdx23.Package, len(doc.Packages))
	for _, p := range doc.Packages {
		if p != nil {
			byID[p.PackageSPDXIdentifier] = p
		}
	}
	isDoc := func(id common.DocElementID) bool {
		return id.DocumentRefID == "" && id.ElementRefID == doc.SPDXIdentifier
	}
	for _, r := range doc.Relationships {
		if r == nil {
			continue
		}
		var target common.DocElementID
		switch {
		case r.Relationship == common.TypeRelationshipDescribe && isDoc(r.RefA):
			target = r.RefB
		case r.Relationship == common.TypeRelationshipDescribeBy && isDoc(r.RefB):
			target = r.RefA
		default:
			continue
		}
		if p, ok := byID[target.ElementRefID]; ok && target.DocumentRefID == "" {
			return p
		}
	}
	return nil
}

func purlOf(p *spdx23.Package) string {
	for _, r := range p.PackageExternalReferences {
		if r != nil && strings.EqualFold(r.Category, "PACKAGE-MANAGER") && r.RefType == "purl" {
			return r.Locator
		}
	}
	return ""
}

// license is the concluded license, else the declared one, leaving out
// SPDX's NOASSERTION and NONE.
func license(p *spdx23.Package) string {
	for _, l := range []string{p.PackageLicenseConcluded, p.PackageLicenseDeclared} {
		if l = strings.TrimSpace(l); l != "" && l != "NOASSERTION" && l != "NONE" {
			return l
		}
	}
	return ""
}

var (
	advisoryRef = regexp.MustCompile(`(?i)\b(CVE-\d{4}-\d{4,}|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})\b`)
	cveID       = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)
)

// advisoryID names an advisory by the CVE or GHSA ID in its URL, else by
// the URL.
func advisoryID(locator string) string {
	if m := advisoryRef.FindString(locator); m != "" {
		if strings.HasPrefix(strings.ToUpper(m), "CVE-") {
			return strings.ToUpper(m)
		}
		return "GHSA" + strings.ToLower(m[4:])
	}
	return strings.TrimSpace(locator)
}

// splitTool splits SPDX's "Tool: name-version" convention.
func splitTool(s string) (name, version string) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '-'); i > 0 && i < len(s)-1 && s[i+1] >= '0' && s[i+1] <= '9' {
		return s[:i], s[i+1:]
	}
	return s, ""
}
