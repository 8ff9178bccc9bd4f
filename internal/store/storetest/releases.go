package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/release"
	"github.com/probity-dev/probity/internal/scan"
	"github.com/probity-dev/probity/internal/store"
)

// A ReleaseOrg is a [PrivacyOrg] with an app under the release gate: a
// CBP system "mpc" with a data source "mpc-app" and its published PIA,
// the iOS app gov.dhs.cbp.mpc registered by cbp-isso with the default
// scan policy, and a second CBP security officer, cbp-isso2, who approves
// what cbp-isso submits.
type ReleaseOrg struct {
	*PrivacyOrg
	Releases *store.Releases
	System   privacy.System
	Source   privacy.Source
	PIA      privacy.PIA
	App      release.App
}

// MustReleaseOrg opens a fresh database of dialect d with a [ReleaseOrg].
func MustReleaseOrg(tb testing.TB, d store.Dialect) *ReleaseOrg {
	tb.Helper()
	o := &ReleaseOrg{PrivacyOrg: MustPrivacyOrg(tb, d)}
	o.Releases = o.DB.Releases()
	o.MustPerson(tb, "cbp-isso2", "CBP", "", auth.SecurityOfficer)
	o.System = o.MustSystem(tb, "CBP", "mpc")
	o.Source = o.MustSource(tb, o.System, "mpc-app")
	o.PIA = o.MustPublishedPIA(tb, o.Source)
	var err error
	o.App, err = o.Releases.CreateApp(context.Background(), o.As["cbp-isso"], release.App{Name: "Mobile Passport Control", Platform: release.IOS,
		BundleID: "gov.dhs.cbp.mpc", Developer: "Example Apps LLC", SystemID: o.System.ID, PIAID: o.PIA.ID}, nil)
	if err != nil {
		tb.Fatalf("create app: %v", err)
	}
	return o
}

// Digest returns a test artifact digest: the SHA-256 of s.
func Digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// MustRelease submits version version (build build) of the app, whose
// artifact digest is Digest(version+"+"+build), as cbp-isso.
func (o *ReleaseOrg) MustRelease(tb testing.TB, version, build string) release.Release {
	tb.Helper()
	r, err := o.Releases.SubmitRelease(context.Background(), o.As["cbp-isso"], release.Release{AppID: o.App.ID, Version: version, Build: build,
		SHA256: Digest(version + "+" + build), DigestSource: release.Uploaded, StoreListing: "https://apps.apple.com/us/app/id1234567890"})
	if err != nil {
		tb.Fatalf("submit release %s: %v", version, err)
	}
	return r
}

// Fnd returns a test finding with fingerprint Digest(name).
func Fnd(name string, sev scan.Severity) scan.Finding {
	return scan.Finding{Fingerprint: Digest(name), RuleID: "rule-" + name, Title: "Finding " + name, Severity: sev, SeverityBasis: "test " + string(sev),
		Location: "src/" + name + ".swift:10", CWE: []string{"CWE-79"}}
}

// Report returns a report of the format that fits scan type t, naming
// release r, with the findings fs.
func Report(t release.ScanType, r release.Release, fs ...scan.Finding) scan.Report {
	return scan.Report{Format: t.Formats()[0], Tool: "testscan", ToolVersion: "1.0", SubjectVersion: r.Version, SubjectSHA256: r.SHA256, Findings: fs}
}

// RawDigest returns the digest of a report's JSON form, standing in for
// the uploaded file's.
func RawDigest(tb testing.TB, rep scan.Report) string {
	tb.Helper()
	b, err := json.Marshal(rep)
	if err != nil {
		tb.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// MustImport imports rep as a scan of type t of release r, as cbp-isso.
func (o *ReleaseOrg) MustImport(tb testing.TB, r release.Release, t release.ScanType, rep scan.Report) store.ScanRecord {
	tb.Helper()
	sr, err := o.Releases.ImportScan(context.Background(), o.As["cbp-isso"], r.ID, t, rep, RawDigest(tb, rep))
	if err != nil {
		tb.Fatalf("import %s scan into release %s: %v", t, r.Version, err)
	}
	return sr
}

// DataFlowDoc returns a data-flow manifest naming release r.
func (o *ReleaseOrg) DataFlowDoc(r release.Release) []byte {
	return fmt.Appendf(nil, `{"schema": %q, "app": {"bundle_id": %q, "version": %q, "build": %q, "sha256": %q},
		"permissions": [{"name": "NSCameraUsageDescription", "purpose": "photograph the passport"}],
		"data_flows": [{"data": "passport photo", "destination": "api.cbp.dhs.gov", "purpose": "identity verification", "encrypted_in_transit": true, "retention": "none on the device"}]}`,
		release.DataFlowSchema, o.App.BundleID, r.Version, r.Build, r.SHA256)
}

// TraceabilityDoc returns traceability answers naming release r.
func (o *ReleaseOrg) TraceabilityDoc(r release.Release) []byte {
	return fmt.Appendf(nil, `{"schema": %q, "app": {"bundle_id": %q, "version": %q, "sha256": %q},
		"answers": [{"requirement": "AC-2", "status": "met", "evidence": "accounts come from the agency directory"}]}`,
		release.TraceabilitySchema, o.App.BundleID, r.Version, r.SHA256)
}

// MustDocuments delivers both documents for release r, as cbp-isso.
func (o *ReleaseOrg) MustDocuments(tb testing.TB, r release.Release) {
	tb.Helper()
	ctx := context.Background()
	if _, err := o.Releases.SubmitDocument(ctx, o.As["cbp-isso"], r.ID, release.DataFlowManifest, o.DataFlowDoc(r)); err != nil {
		tb.Fatalf("deliver the manifest: %v", err)
	}
	if _, err := o.Releases.SubmitDocument(ctx, o.As["cbp-isso"], r.ID, release.Traceability, o.TraceabilityDoc(r)); err != nil {
		tb.Fatalf("deliver the answers: %v", err)
	}
}

// count counts the rows of a table.
func (o *ReleaseOrg) count(tb testing.TB, table string) int {
	tb.Helper()
	var n int
	if err := o.DB.View(context.Background(), func(tx *store.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n)
	}); err != nil {
		tb.Fatal(err)
	}
	return n
}

// checkCounts checks that the kept counts of every app's findings by
// state are those of its findings, counted.
func (o *ReleaseOrg) checkCounts(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	read := func(q string) map[string]int {
		m := map[string]int{}
		if err := o.DB.View(ctx, func(tx *store.Tx) error {
			rows, err := tx.Query(ctx, q)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var app int64
				var typ, st string
				var n int
				if err := rows.Scan(&app, &typ, &st, &n); err != nil {
					return err
				}
				if n != 0 {
					m[fmt.Sprint(app, "/", typ, "/", st)] = n
				}
			}
			return rows.Err()
		}); err != nil {
			tb.Fatal(err)
		}
		return m
	}
	kept := read(`SELECT app_id, scan_type, state, n FROM finding_counts`)
	counted := read(`SELECT app_id, scan_type, state, COUNT(*) FROM findings GROUP BY app_id, scan_type, state`)
	if fmt.Sprint(kept) != fmt.Sprint(counted) {
		tb.Errorf("kept counts %v; the findings are %v", kept, counted)
	}
}

// findingByName returns the app's finding with fingerprint Digest(name).
func (o *ReleaseOrg) findingByName(tb testing.TB, name string) store.Finding {
	tb.Helper()
	ctx := context.Background()
	page, err := o.Releases.Findings(ctx, o.As["auditor"], store.FindingFilter{AppID: o.App.ID, Limit: 500})
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range page.Findings {
		if f.Fingerprint == Digest(name) {
			return f
		}
	}
	tb.Fatalf("no finding %s", name)
	return store.Finding{}
}

// mustTriage triages the finding called name as who.
func (o *ReleaseOrg) mustTriage(tb testing.TB, who, name string, to release.State, reason string) store.Finding {
	tb.Helper()
	f, err := o.Releases.Triage(context.Background(), o.As[who], o.findingByName(tb, name).ID, to, reason)
	if err != nil {
		tb.Fatalf("triage %s to %s as %s: %v", name, to, who, err)
	}
	return f
}

func testReleases(t *testing.T, d store.Dialect) {
	t.Run("Apps", func(t *testing.T) { testReleasesApps(t, d) })
	t.Run("Submit", func(t *testing.T) { testReleasesSubmit(t, d) })
	t.Run("Import", func(t *testing.T) { testReleasesImport(t, d) })
	t.Run("Rescan", func(t *testing.T) { testReleasesRescan(t, d) })
	t.Run("Triage", func(t *testing.T) { testReleasesTriage(t, d) })
	t.Run("Exceptions", func(t *testing.T) { testReleasesExceptions(t, d) })
	t.Run("Deliverables", func(t *testing.T) { testReleasesDeliverables(t, d) })
	t.Run("Gate", func(t *testing.T) { testReleasesGate(t, d) })
	t.Run("FindingsList", func(t *testing.T) { testReleasesFindingsList(t, d) })
}

func testReleasesApps(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustReleaseOrg(t, d)
	t.Run("Created", func(t *testing.T) {
		if o.App.ID == 0 || o.App.Component != "CBP" || o.App.PolicyVersion != 1 || o.App.CreatedBy != "cbp-isso" {
			t.Fatalf("app = %+v", o.App)
		}
		p, err := o.Releases.Policy(ctx, o.As["auditor"], o.App.ID, 0)
		if err != nil || p.Version != 1 || !slices.Equal(p.Required(), []release.ScanType{release.Static, release.SBOM, release.Mobile}) || p.SLA != release.DefaultSLA {
			t.Fatalf("policy = %+v, %v", p, err)
		}
		es := o.Entries(t, "release.app_created", "release.policy_changed")
		if len(es) != 2 || es[0].Subject != fmt.Sprintf("app/%d", o.App.ID) || es[1].Digest == "" || es[0].Actor.ID != "cbp-isso" {
			t.Fatalf("ledger = %+v", es)
		}
	})
	app := release.App{Name: "MPC", Platform: release.Android, BundleID: "gov.dhs.cbp.mpc", Developer: "Example Apps LLC", SystemID: o.System.ID, PIAID: o.PIA.ID}
	t.Run("OKOtherPlatform", func(t *testing.T) {
		a, err := o.Releases.CreateApp(ctx, o.As["cbp-isso"], app, nil)
		if err != nil || a.Platform != release.Android {
			t.Fatalf("CreateApp = %+v, %v", a, err)
		}
	})
	t.Run("ErrDuplicate", func(t *testing.T) {
		_, err := o.Releases.CreateApp(ctx, o.As["cbp-isso"], app, nil)
		wantCode(t, "same bundle twice", err, fault.Conflict)
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		a := app
		a.BundleID = "gov.dhs.cbp.other"
		for _, who := range []string{"cbp-analyst", "cbp-cpo", "ice-isso", "auditor", "dpo"} {
			_, err := o.Releases.CreateApp(ctx, o.As[who], a, nil)
			wantCode(t, who, err, fault.Forbidden)
		}
	})
	t.Run("ErrPIAOfOtherSystem", func(t *testing.T) {
		other := o.MustSystem(t, "CBP", "other")
		a := app
		a.BundleID, a.SystemID = "gov.dhs.cbp.other", other.ID
		_, err := o.Releases.CreateApp(ctx, o.As["cbp-isso"], a, nil)
		wantCode(t, "PIA of another system", err, fault.Invalid)
		if err == nil || !strings.Contains(err.Error(), "not within system") {
			t.Errorf("err = %v", err)
		}
		a.SystemID, a.PIAID = o.System.ID, 99999
		_, err = o.Releases.CreateApp(ctx, o.As["cbp-isso"], a, nil)
		wantCode(t, "no such PIA", err, fault.Invalid)
	})
	t.Run("ErrInvalidPolicy", func(t *testing.T) {
		a := app
		a.BundleID = "gov.dhs.cbp.third"
		p := release.DefaultPolicy()
		p.BlockAt = scan.Info
		_, err := o.Releases.CreateApp(ctx, o.As["cbp-isso"], a, &p)
		wantCode(t, "invalid policy", err, fault.Invalid)
	})
	t.Run("Visibility", func(t *testing.T) {
		if _, err := o.Releases.App(ctx, o.As["ice-isso"], o.App.ID); fault.CodeOf(err) != fault.NotFound {
			t.Errorf("ICE sees a CBP app: %v", err)
		}
		if _, err := o.Releases.App(ctx, o.As["cbp-cpo"], o.App.ID); err != nil {
			t.Errorf("the CBP privacy officer cannot see it: %v", err)
		}
		as, err := o.Releases.Apps(ctx, o.As["ice-isso"], "")
		if err != nil || len(as) != 0 {
			t.Errorf("ICE's list = %v, %v", as, err)
		}
		as, err = o.Releases.Apps(ctx, o.As["auditor"], "CBP")
		if err != nil || len(as) != 2 {
			t.Errorf("the auditor's list = %v, %v", as, err)
		}
		_, err = o.Releases.Apps(ctx, o.As["cbp-analyst"], "")
		wantCode(t, "analyst lists apps", err, fault.Forbidden)
	})
	t.Run("Update", func(t *testing.T) {
		name := "Mobile Passport Control (CBP)"
		a, err := o.Releases.UpdateApp(ctx, o.As["cbp-isso"], o.App.ID, store.AppUpdate{Name: &name})
		if err != nil || a.Name != name {
			t.Fatalf("UpdateApp = %+v, %v", a, err)
		}
		if es := o.Entries(t, "release.app_updated"); len(es) != 1 || es[0].Data["fields"].([]any)[0] != "name" {
			t.Errorf("ledger = %+v", es)
		}
		_, err = o.Releases.UpdateApp(ctx, o.As["cbp-cpo"], o.App.ID, store.AppUpdate{Name: &name})
		wantCode(t, "privacy officer updates", err, fault.Forbidden)
	})
	t.Run("Policy", func(t *testing.T) {
		p := release.DefaultPolicy()
		p.Scans = append(p.Scans, release.ScanRequirement{Type: release.Dynamic, RunBy: []auth.Role{auth.SecurityOfficer}, ReviewBy: []auth.Role{auth.SecurityOfficer}})
		p.BlockAt, p.Note = scan.Medium, "dynamic analysis from now on"
		got, err := o.Releases.SetPolicy(ctx, o.As["cbp-isso"], o.App.ID, 1, p)
		if err != nil || got.Version != 2 || got.BlockAt != scan.Medium {
			t.Fatalf("SetPolicy = %+v, %v", got, err)
		}
		_, err = o.Releases.SetPolicy(ctx, o.As["cbp-isso"], o.App.ID, 1, p)
		wantCode(t, "stale base", err, fault.Conflict)
		_, err = o.Releases.SetPolicy(ctx, o.As["cbp-isso"], o.App.ID, 2, p)
		wantCode(t, "same policy", err, fault.Conflict)
		_, err = o.Releases.SetPolicy(ctx, o.As["cbp-cpo"], o.App.ID, 2, release.DefaultPolicy())
		wantCode(t, "privacy officer", err, fault.Forbidden)
		bad := release.DefaultPolicy()
		bad.Scans[0].RunBy = []auth.Role{auth.Analyst}
		_, err = o.Releases.SetPolicy(ctx, o.As["cbp-isso"], o.App.ID, 2, bad)
		wantCode(t, "invalid", err, fault.Invalid)
		ps, err := o.Releases.Policies(ctx, o.As["auditor"], o.App.ID)
		if err != nil || len(ps) != 2 || ps[1].Note != "dynamic analysis from now on" || ps[0].Version != 1 {
			t.Fatalf("Policies = %+v, %v", ps, err)
		}
		a, _ := o.Releases.App(ctx, o.As["auditor"], o.App.ID)
		if a.PolicyVersion != 2 {
			t.Errorf("policy version = %d", a.PolicyVersion)
		}
		es := o.Entries(t, "release.policy_changed")
		if len(es) != 3 || es[2].Data["version"] != json.Number("2") && es[2].Data["version"] != float64(2) {
			t.Errorf("ledger = %+v", es[len(es)-1])
		}
	})
}

func testReleasesSubmit(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustReleaseOrg(t, d)
	r := o.MustRelease(t, "3.2.1", "451")
	t.Run("OK", func(t *testing.T) {
		if r.Status != release.Submitted || r.Submitter != "cbp-isso" || r.Component != "CBP" || r.SHA256 != Digest("3.2.1+451") {
			t.Fatalf("release = %+v", r)
		}
		got, err := o.Releases.ReleaseByDigest(ctx, o.As["auditor"], o.App.ID, "sha256:"+strings.ToUpper(r.SHA256))
		if err != nil || got.ID != r.ID {
			t.Fatalf("ReleaseByDigest = %+v, %v", got, err)
		}
		if es := o.Entries(t, "release.submitted"); len(es) != 1 || es[0].Subject != fmt.Sprintf("release/%d", r.ID) || es[0].Data["sha256"] != r.SHA256 {
			t.Errorf("ledger = %+v", es)
		}
	})
	for _, c := range []struct {
		name string
		who  string
		rel  release.Release
		code fault.Code
	}{
		{"ErrSameDigest", "cbp-isso", release.Release{AppID: o.App.ID, Version: "3.2.2", Build: "452", SHA256: r.SHA256}, fault.Conflict},
		{"ErrSameVersionBuild", "cbp-isso2", release.Release{AppID: o.App.ID, Version: "3.2.1", Build: "451", SHA256: Digest("other")}, fault.Conflict},
		{"ErrBadDigest", "cbp-isso", release.Release{AppID: o.App.ID, Version: "3.3", Build: "1", SHA256: "abc"}, fault.Invalid},
		{"ErrAnalyst", "cbp-analyst", release.Release{AppID: o.App.ID, Version: "3.3", Build: "1", SHA256: Digest("x")}, fault.NotFound},
		{"ErrPrivacyOfficer", "cbp-cpo", release.Release{AppID: o.App.ID, Version: "3.3", Build: "1", SHA256: Digest("x")}, fault.Forbidden},
		{"ErrOtherComponent", "ice-isso", release.Release{AppID: o.App.ID, Version: "3.3", Build: "1", SHA256: Digest("x")}, fault.NotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := o.Releases.SubmitRelease(ctx, o.As[c.who], c.rel)
			wantCode(t, c.name, err, c.code)
		})
	}
	t.Run("ErrNotAPerson", func(t *testing.T) {
		token := auth.Principal{Kind: ledger.ActorToken, ID: "bootstrap-admin", Grants: []auth.Grant{{Role: auth.SecurityOfficer}}}
		_, err := o.Releases.SubmitRelease(ctx, token, release.Release{AppID: o.App.ID, Version: "4", Build: "1", SHA256: Digest("y")})
		wantCode(t, "token", err, fault.Forbidden)
	})
	if n := o.count(t, "releases"); n != 1 {
		t.Errorf("%d releases stored", n)
	}
}

func testReleasesImport(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustReleaseOrg(t, d)
	defer o.checkCounts(t)
	r := o.MustRelease(t, "3.2.1", "451")
	rep := Report(release.Static, r, Fnd("a", scan.High), Fnd("b", scan.Medium), Fnd("c", scan.Critical))
	// A report may repeat a fingerprint: one finding, the most severe.
	rep.Findings = append(rep.Findings, Fnd("b", scan.High))
	sr := o.MustImport(t, r, release.Static, rep)
	t.Run("OK", func(t *testing.T) {
		if sr.Findings != 3 || sr.New != 3 || sr.Resolved != 0 || !sr.Head || sr.SHA256 != r.SHA256 || sr.ImportedBy != "cbp-isso" || sr.Format != scan.SARIF {
			t.Fatalf("scan = %+v", sr)
		}
		if f := o.findingByName(t, "b"); f.Severity != scan.High || f.State != release.New || f.FirstScanID != sr.ID || f.LastScanID != sr.ID {
			t.Errorf("finding b = %+v", f)
		}
		es := o.Entries(t, "release.scan_imported")
		if len(es) != 1 || es[0].Subject != fmt.Sprintf("release/%d", r.ID) || !strings.HasPrefix(es[0].Digest, "sha256:") || es[0].Data["head"] != true {
			t.Fatalf("ledger = %+v", es)
		}
		got, err := o.Releases.Scans(ctx, o.As["auditor"], r.ID)
		if err != nil || len(got) != 1 || got[0].ID != sr.ID || got[0].RawDigest != sr.RawDigest {
			t.Fatalf("Scans = %+v, %v", got, err)
		}
	})
	t.Run("SBOMComponents", func(t *testing.T) {
		rep := Report(release.SBOM, r, Fnd("cve-1", scan.Critical))
		rep.Components = []scan.Component{{Name: "openssl", Version: "3.0.1", PURL: "pkg:generic/openssl@3.0.1", License: "Apache-2.0"}, {Name: "zlib", Version: "1.2.13"}}
		sb := o.MustImport(t, r, release.SBOM, rep)
		cs, err := o.Releases.Components(ctx, o.As["auditor"], sb.ID)
		if err != nil || len(cs) != 2 || cs[0].Name != "openssl" || cs[1].Version != "1.2.13" || sb.Components != 2 {
			t.Fatalf("Components = %+v, %v", cs, err)
		}
	})
	// Every refusal leaves the database as it was: no scan, finding or
	// ledger entry.
	before := func() [4]int {
		return [4]int{o.count(t, "scans"), o.count(t, "findings"), o.count(t, "scan_findings"), int(o.size(t))}
	}
	base := before()
	other := o.MustRelease(t, "3.2.2", "452")
	base = before()
	for _, c := range []struct {
		name string
		who  string
		typ  release.ScanType
		rep  func() scan.Report
		code fault.Code
		says string
	}{
		{"ErrOtherDigest", "cbp-isso", release.Static, func() scan.Report {
			x := Report(release.Static, r, Fnd("z", scan.Low))
			x.SubjectSHA256 = other.SHA256
			return x
		}, fault.Invalid, "the report is of artifact sha256 " + other.SHA256[:12] + "…, but release 3.2.1 (build 451) is artifact " + r.SHA256[:12]},
		{"ErrOtherVersion", "cbp-isso", release.Static, func() scan.Report {
			x := Report(release.Static, r, Fnd("z", scan.Low))
			x.SubjectSHA256, x.SubjectVersion = "", "3.2.2"
			return x
		}, fault.Invalid, `the report is of version "3.2.2"`},
		{"ErrDigestNotHex", "cbp-isso", release.Static, func() scan.Report {
			x := Report(release.Static, r)
			x.SubjectSHA256 = "not-a-digest"
			return x
		}, fault.Invalid, "not a SHA-256"},
		{"ErrFormatForType", "cbp-isso", release.SBOM, func() scan.Report { return Report(release.Static, r, Fnd("z", scan.Low)) }, fault.Invalid, "cannot be a dependency (SBOM) scan"},
		{"ErrSeverity", "cbp-isso", release.Static, func() scan.Report {
			f := Fnd("z", "severe")
			return Report(release.Static, r, Fnd("y", scan.Low), f)
		}, fault.Invalid, "findings[1].severity"},
		{"ErrNoFingerprint", "cbp-isso", release.Static, func() scan.Report {
			f := Fnd("z", scan.Low)
			f.Fingerprint = ""
			return Report(release.Static, r, f)
		}, fault.Invalid, "findings[0].fingerprint"},
		{"ErrUnknownType", "cbp-isso", "pentest", func() scan.Report { return Report(release.Static, r) }, fault.Invalid, "scan_type"},
		{"ErrSameReportTwice", "cbp-isso", release.Static, func() scan.Report { return rep }, fault.Conflict, "already imported"},
		{"ErrPrivacyOfficer", "cbp-cpo", release.Static, func() scan.Report { return Report(release.Static, r, Fnd("z", scan.Low)) }, fault.Forbidden, "importing scans"},
		{"ErrOtherComponent", "ice-isso", release.Static, func() scan.Report { return Report(release.Static, r, Fnd("z", scan.Low)) }, fault.NotFound, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := c.rep()
			_, err := o.Releases.ImportScan(ctx, o.As[c.who], r.ID, c.typ, x, RawDigest(t, x))
			wantCode(t, c.name, err, c.code)
			if err == nil || !strings.Contains(fault.MessageOf(err), c.says) {
				t.Errorf("message = %q; want it to say %q", fault.MessageOf(err), c.says)
			}
			if got := before(); got != base {
				t.Errorf("stored after a refusal: %v, was %v", got, base)
			}
		})
	}
	t.Run("ErrRawDigest", func(t *testing.T) {
		_, err := o.Releases.ImportScan(ctx, o.As["cbp-isso"], r.ID, release.Static, Report(release.Static, r), "xyz")
		wantCode(t, "raw digest", err, fault.Invalid)
	})
	t.Run("ReportWithoutSubject", func(t *testing.T) {
		// A report that names no digest or version is bound to the
		// release it is imported into.
		x := Report(release.Mobile, r, Fnd("m", scan.Low))
		x.SubjectSHA256, x.SubjectVersion = "", ""
		sr, err := o.Releases.ImportScan(ctx, o.As["cbp-isso"], r.ID, release.Mobile, x, RawDigest(t, x))
		if err != nil || sr.SHA256 != r.SHA256 || sr.Format != scan.MobSF {
			t.Fatalf("ImportScan = %+v, %v", sr, err)
		}
	})
}

func testReleasesRescan(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustReleaseOrg(t, d)
	defer o.checkCounts(t)
	r1 := o.MustRelease(t, "1.0", "1")
	o.MustImport(t, r1, release.Static, Report(release.Static, r1, Fnd("a", scan.High), Fnd("b", scan.Medium), Fnd("c", scan.Critical)))
	o.mustTriage(t, "cbp-isso", "a", release.FalsePositive, "the input is a constant string")
	o.mustTriage(t, "cbp-isso", "c", release.Confirmed, "")
	// An SBOM of the same release: other scan types are never resolved by
	// a static re-scan.
	o.MustImport(t, r1, release.SBOM, Report(release.SBOM, r1, Fnd("lib", scan.Low)))

	r2 := o.MustRelease(t, "1.1", "2")
	s2 := o.MustImport(t, r2, release.Static, Report(release.Static, r2, Fnd("a", scan.High), Fnd("c", scan.Critical), Fnd("d", scan.Low)))
	t.Run("DeDuplicated", func(t *testing.T) {
		if n := o.count(t, "findings"); n != 5 {
			t.Fatalf("%d findings stored; want 5 (a, b, c, d, lib)", n)
		}
		if s2.New != 1 || s2.Resolved != 1 || s2.Findings != 3 || !s2.Head {
			t.Fatalf("scan = %+v", s2)
		}
	})
	t.Run("TriageCarriedForward", func(t *testing.T) {
		a, c := o.findingByName(t, "a"), o.findingByName(t, "c")
		if a.State != release.FalsePositive || a.Reason != "the input is a constant string" || a.LastScanID != s2.ID {
			t.Errorf("a = %s %q last scan %d", a.State, a.Reason, a.LastScanID)
		}
		if c.State != release.Confirmed || c.FirstScanID == s2.ID {
			t.Errorf("c = %s, first scan %d", c.State, c.FirstScanID)
		}
	})
	t.Run("ResolvedByRescan", func(t *testing.T) {
		b := o.findingByName(t, "b")
		if b.State != release.ResolvedByRescan || b.ResolvedScanID != s2.ID || b.ResolvedAt.IsZero() {
			t.Fatalf("b = %+v", b)
		}
		if lib := o.findingByName(t, "lib"); lib.State != release.New {
			t.Errorf("an SBOM finding was resolved by a static scan: %s", lib.State)
		}
		es := o.Entries(t, "release.scan_imported")
		last := es[len(es)-1]
		if ids, _ := last.Data["resolved_ids"].([]any); len(ids) != 1 {
			t.Errorf("ledger entry = %+v", last.Data)
		}
		_, err := o.Releases.Triage(ctx, o.As["cbp-isso"], b.ID, release.Confirmed, "")
		wantCode(t, "triage a resolved finding", err, fault.Conflict)
	})
	t.Run("ReleaseScope", func(t *testing.T) {
		// Release 1.0's static scan is no longer the latest (1.1's is):
		// its findings are counted from its scans' rows. Release 1.1's
		// scan is the latest: its findings are the app's unresolved
		// static ones.
		for _, c := range []struct {
			rel   release.Release
			names []string
			want  map[release.State]int
		}{
			{r1, []string{"a", "b", "c", "lib"}, map[release.State]int{release.FalsePositive: 1, release.ResolvedByRescan: 1, release.Confirmed: 1, release.New: 1}},
			{r2, []string{"a", "c", "d"}, map[release.State]int{release.FalsePositive: 1, release.Confirmed: 1, release.New: 1}},
		} {
			p, err := o.Releases.Findings(ctx, o.As["auditor"], store.FindingFilter{AppID: o.App.ID, ReleaseID: c.rel.ID})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range p.Findings {
				got = append(got, f.Fingerprint)
			}
			var want []string
			for _, n := range c.names {
				want = append(want, Digest(n))
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("release %s lists %d findings; want %v", c.rel.Version, len(got), c.names)
			}
			if p.Counts.Total != len(c.names) || p.Counts.Unreviewed != c.want[release.New] {
				t.Errorf("release %s counts %+v", c.rel.Version, p.Counts)
			}
			for st, n := range c.want {
				if p.Counts.ByState[st] != n {
					t.Errorf("release %s: %d %s; want %d", c.rel.Version, p.Counts.ByState[st], st, n)
				}
			}
		}
	})
	t.Run("Reappears", func(t *testing.T) {
		o.mustTriage(t, "cbp-isso", "c", release.Fixed, "fixed in 1.2")
		r3 := o.MustRelease(t, "1.2", "3")
		s3 := o.MustImport(t, r3, release.Static, Report(release.Static, r3, Fnd("a", scan.High), Fnd("b", scan.Medium), Fnd("c", scan.Critical), Fnd("d", scan.Low)))
		if s3.Reopened != 2 || s3.New != 0 || s3.Resolved != 0 {
			t.Fatalf("scan = %+v", s3)
		}
		// b was never triaged: unreviewed again. c was marked fixed and is
		// still reported: unreviewed again.
		if b := o.findingByName(t, "b"); b.State != release.New || !b.ResolvedAt.IsZero() {
			t.Errorf("b = %s resolved %v", b.State, b.ResolvedAt)
		}
		if c := o.findingByName(t, "c"); c.State != release.New || c.Triaged != "" {
			t.Errorf("c = %s (%s)", c.State, c.Triaged)
		}
		// A resolved false positive comes back a false positive.
		r4 := o.MustRelease(t, "1.3", "4")
		o.MustImport(t, r4, release.Static, Report(release.Static, r4, Fnd("b", scan.Medium)))
		if a := o.findingByName(t, "a"); a.State != release.ResolvedByRescan || a.Triaged != release.FalsePositive {
			t.Fatalf("a = %s (%s)", a.State, a.Triaged)
		}
		r5 := o.MustRelease(t, "1.4", "5")
		o.MustImport(t, r5, release.Static, Report(release.Static, r5, Fnd("a", scan.High), Fnd("b", scan.Medium)))
		if a := o.findingByName(t, "a"); a.State != release.FalsePositive {
			t.Errorf("a = %s", a.State)
		}
		if n := o.count(t, "findings"); n != 5 {
			t.Errorf("%d findings: one was deleted or duplicated", n)
		}
	})
	t.Run("HistoricalScan", func(t *testing.T) {
		// A late scan of an old release records what it saw but changes
		// nothing the newer scans decided; what only it reports is
		// already resolved.
		before := o.findingByName(t, "a")
		sh := o.MustImport(t, r2, release.Static, Report(release.Static, r2, Fnd("a", scan.Critical), Fnd("old", scan.High)))
		if sh.Head || sh.New != 0 || sh.Resolved != 0 {
			t.Fatalf("scan = %+v", sh)
		}
		if a := o.findingByName(t, "a"); a.State != before.State || a.Severity != scan.High || a.LastScanID != before.LastScanID {
			t.Errorf("a changed: %+v", a)
		}
		if old := o.findingByName(t, "old"); old.State != release.ResolvedByRescan || old.FirstScanID != sh.ID {
			t.Errorf("old = %+v", old)
		}
		scans, err := o.Releases.FindingScans(ctx, o.As["auditor"], before.ID)
		if err != nil || len(scans) != 5 || scans[len(scans)-1] != sh.ID {
			t.Errorf("FindingScans = %v, %v", scans, err)
		}
	})
}

func testReleasesTriage(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustReleaseOrg(t, d)
	defer o.checkCounts(t)
	// Mobile results are reviewed by the privacy office.
	p := release.DefaultPolicy()
	p.Scans[2].ReviewBy = []auth.Role{auth.ComponentPrivacyOfficer}
	if _, err := o.Releases.SetPolicy(ctx, o.As["cbp-isso"], o.App.ID, 1, p); err != nil {
		t.Fatal(err)
	}
	r := o.MustRelease(t, "2.0", "10")
	o.MustImport(t, r, release.Static, Report(release.Static, r, Fnd("s1", scan.High), Fnd("s2", scan.Low)))
	o.MustImport(t, r, release.Mobile, Report(release.Mobile, r, Fnd("m1", scan.High)))
	t.Run("OK", func(t *testing.T) {
		f := o.mustTriage(t, "cbp-isso", "s1", release.Confirmed, "reproduced")
		if f.State != release.Confirmed || f.TriagedBy != "cbp-isso" || f.Reason != "reproduced" || f.TriagedAt.IsZero() {
			t.Fatalf("finding = %+v", f)
		}
		es := o.Entries(t, "finding.triaged")
		if len(es) != 1 || es[0].Subject != fmt.Sprintf("finding/%d", f.ID) || es[0].Data["from"] != "new" || es[0].Data["to"] != "confirmed" {
			t.Fatalf("ledger = %+v", es)
		}
	})
	t.Run("PolicyNamesReviewers", func(t *testing.T) {
		m1 := o.findingByName(t, "m1")
		_, err := o.Releases.Triage(ctx, o.As["cbp-isso"], m1.ID, release.Confirmed, "")
		wantCode(t, "security officer on mobile", err, fault.Forbidden)
		if err == nil || !strings.Contains(err.Error(), "reviewed by: Component privacy officer") {
			t.Errorf("err = %v", err)
		}
		o.mustTriage(t, "cbp-cpo", "m1", release.FalsePositive, "the permission is declared but never requested")
		s2 := o.findingByName(t, "s2")
		_, err = o.Releases.Triage(ctx, o.As["cbp-cpo"], s2.ID, release.Confirmed, "")
		wantCode(t, "privacy officer on static", err, fault.Forbidden)
	})
	for _, c := range []struct {
		name   string
		who    string
		to     release.State
		reason string
		code   fault.Code
	}{
		{"ErrFalsePositiveWithoutReason", "cbp-isso", release.FalsePositive, "", fault.Invalid},
		{"ErrAcceptedRiskByHand", "cbp-isso", release.AcceptedRisk, "we accept it", fault.Invalid},
		{"ErrBackToNew", "cbp-isso", release.New, "", fault.Invalid},
		{"ErrAnalyst", "cbp-analyst", release.Confirmed, "", fault.NotFound},
		{"ErrAuditor", "auditor", release.Confirmed, "", fault.Forbidden},
		{"ErrOtherComponent", "ice-isso", release.Confirmed, "", fault.NotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := o.size(t)
			_, err := o.Releases.Triage(ctx, o.As[c.who], o.findingByName(t, "s2").ID, c.to, c.reason)
			wantCode(t, c.name, err, c.code)
			if o.size(t) != before {
				t.Error("a refused triage was recorded")
			}
		})
	}
	t.Run("Counts", func(t *testing.T) {
		page, err := o.Releases.Findings(ctx, o.As["auditor"], store.FindingFilter{AppID: o.App.ID})
		if err != nil {
			t.Fatal(err)
		}
		c := page.Counts
		if c.Total != 3 || c.Unreviewed != 1 || c.ByState[release.New] != 1 || c.ByState[release.Confirmed] != 1 || c.ByState[release.FalsePositive] != 1 {
			t.Errorf("counts = %+v", c)
		}
	})
}

func testReleasesExceptions(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustReleaseOrg(t, d)
	defer o.checkCounts(t)
	r := o.MustRelease(t, "5.0", "50")
	o.MustImport(t, r, release.Static, Report(release.Static, r, Fnd("x", scan.Critical), Fnd("y", scan.High), Fnd("z", scan.High)))
	x := o.findingByName(t, "x")
	now := o.Clock.Now()
	req := release.Exception{Justification: "The vulnerable endpoint is disabled in the production build.",
		CompensatingControls: "A gateway rule blocks the route and alerts on any attempt.", ExpiresAt: now.Add(30 * 24 * time.Hour)}
	e, err := o.Releases.RequestException(ctx, o.As["cbp-isso"], x.ID, req)
	if err != nil {
		t.Fatalf("RequestException: %v", err)
	}
	t.Run("Requested", func(t *testing.T) {
		if e.Status != release.ExceptionRequested || e.RequestedBy != "cbp-isso" || e.ID == 0 {
			t.Fatalf("exception = %+v", e)
		}
		if f, _ := o.Releases.Finding(ctx, o.As["auditor"], x.ID); f.State != release.New {
			t.Errorf("a requested exception changed the finding: %s", f.State)
		}
		_, err := o.Releases.RequestException(ctx, o.As["cbp-isso2"], x.ID, req)
		wantCode(t, "second request", err, fault.Conflict)
		bad := req
		bad.ExpiresAt = now.AddDate(2, 0, 0)
		_, err = o.Releases.RequestException(ctx, o.As["cbp-isso"], o.findingByName(t, "y").ID, bad)
		wantCode(t, "two years", err, fault.Invalid)
		es := o.Entries(t, "finding.exception_requested")
		if len(es) != 1 || es[0].Digest == "" || es[0].Subject != fmt.Sprintf("finding/%d", x.ID) {
			t.Errorf("ledger = %+v", es)
		}
	})
	t.Run("ErrSelfApproval", func(t *testing.T) {
		_, err := o.Releases.DecideException(ctx, o.As["cbp-isso"], e.ID, true, "")
		wantCode(t, "requester approves", err, fault.Forbidden)
		_, err = o.Releases.DecideException(ctx, o.As["cbp-cpo"], e.ID, true, "")
		wantCode(t, "privacy officer approves", err, fault.Forbidden)
		_, err = o.Releases.DecideException(ctx, o.As["ice-isso"], e.ID, true, "")
		wantCode(t, "other component", err, fault.NotFound)
	})
	t.Run("Approved", func(t *testing.T) {
		got, err := o.Releases.DecideException(ctx, o.As["cbp-isso2"], e.ID, true, "agreed until the fix ships")
		if err != nil || got.Status != release.ExceptionApproved || got.DecidedBy != "cbp-isso2" {
			t.Fatalf("DecideException = %+v, %v", got, err)
		}
		f, _ := o.Releases.Finding(ctx, o.As["auditor"], x.ID)
		if f.State != release.AcceptedRisk || f.ExceptionID != e.ID || !f.RiskExpiresAt.Equal(e.ExpiresAt) {
			t.Fatalf("finding = %+v", f)
		}
		_, err = o.Releases.DecideException(ctx, o.As["cbp-isso2"], e.ID, false, "")
		wantCode(t, "decide twice", err, fault.Conflict)
		if es := o.Entries(t, "finding.exception_approved"); len(es) != 1 || es[0].Actor.ID != "cbp-isso2" {
			t.Errorf("ledger = %+v", es)
		}
	})
	t.Run("Rejected", func(t *testing.T) {
		y := o.findingByName(t, "y")
		ey, err := o.Releases.RequestException(ctx, o.As["cbp-isso2"], y.ID, req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := o.Releases.DecideException(ctx, o.As["cbp-isso"], ey.ID, false, "fix it instead")
		if err != nil || got.Status != release.ExceptionRejected {
			t.Fatalf("reject = %+v, %v", got, err)
		}
		if f, _ := o.Releases.Finding(ctx, o.As["auditor"], y.ID); f.State != release.New {
			t.Errorf("a rejected exception changed the finding: %s", f.State)
		}
	})
	t.Run("TriageWithdrawsRequest", func(t *testing.T) {
		z := o.findingByName(t, "z")
		ez, err := o.Releases.RequestException(ctx, o.As["cbp-isso"], z.ID, req)
		if err != nil {
			t.Fatal(err)
		}
		o.mustTriage(t, "cbp-isso2", "z", release.FalsePositive, "the scanner misread the macro")
		xs, err := o.Releases.Exceptions(ctx, o.As["auditor"], store.ExceptionFilter{FindingID: z.ID})
		if err != nil || len(xs) != 1 || xs[0].ID != ez.ID || xs[0].Status != release.ExceptionWithdrawn {
			t.Fatalf("Exceptions = %+v, %v", xs, err)
		}
		_, err = o.Releases.RequestException(ctx, o.As["cbp-isso"], z.ID, req)
		wantCode(t, "request on a false positive", err, fault.Conflict)
	})
	t.Run("ExpiryReopens", func(t *testing.T) {
		o.Clock.Advance(31 * 24 * time.Hour)
		// At once, whether or not the job has run.
		f, _ := o.Releases.Finding(ctx, o.As["auditor"], x.ID)
		if f.State != release.Confirmed || !f.Overdue {
			t.Fatalf("after expiry, before the job: %s overdue=%v", f.State, f.Overdue)
		}
		page, err := o.Releases.Findings(ctx, o.As["auditor"], store.FindingFilter{AppID: o.App.ID, States: []release.State{release.Confirmed}})
		if err != nil || len(page.Findings) != 1 || page.Findings[0].ID != x.ID || page.Counts.ByState[release.AcceptedRisk] != 0 || page.Counts.ByState[release.Confirmed] != 1 {
			t.Fatalf("confirmed list = %+v, %v", page, err)
		}
		n, err := o.Releases.ExpireExceptions(ctx)
		if err != nil || n != 1 {
			t.Fatalf("ExpireExceptions = %d, %v", n, err)
		}
		if n, _ := o.Releases.ExpireExceptions(ctx); n != 0 {
			t.Errorf("expired again: %d", n)
		}
		f, _ = o.Releases.Finding(ctx, o.As["auditor"], x.ID)
		if f.State != release.Confirmed || f.Triaged != release.Confirmed || f.ExceptionID != 0 {
			t.Errorf("after the job: %+v", f)
		}
		xs, _ := o.Releases.Exceptions(ctx, o.As["auditor"], store.ExceptionFilter{FindingID: x.ID})
		if len(xs) != 1 || xs[0].Status != release.ExceptionExpired {
			t.Errorf("exception = %+v", xs)
		}
		es := o.Entries(t, "finding.exception_expired")
		if len(es) != 1 || es[0].Data["reopened"] != true || es[0].Actor.Kind != ledger.ActorSystem {
			t.Errorf("ledger = %+v", es)
		}
	})
}

func testReleasesDeliverables(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustReleaseOrg(t, d)
	r := o.MustRelease(t, "3.0", "30")
	status := func() store.DeliverableStatus {
		t.Helper()
		st, err := o.Releases.Deliverables(ctx, o.As["auditor"], r.ID)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	t.Run("AllMissing", func(t *testing.T) {
		st := status()
		want := []release.DeliverableKind{release.StaticReport, release.SBOMDocument, release.MobileReport, release.DataFlowManifest, release.Traceability}
		if !slices.Equal(st.Missing, want) || !slices.Equal(st.Required, want) || len(st.Received) != 0 || st.PolicyVersion != 1 {
			t.Fatalf("status = %+v", st)
		}
	})
	t.Run("ScansDeliver", func(t *testing.T) {
		sr := o.MustImport(t, r, release.SBOM, Report(release.SBOM, r))
		st := status()
		if slices.Contains(st.Missing, release.SBOMDocument) || len(st.Received) != 1 || st.Received[0].ScanID != sr.ID || st.Received[0].Kind != release.SBOMDocument {
			t.Fatalf("status = %+v", st)
		}
	})
	t.Run("ErrDocumentOfOtherBuild", func(t *testing.T) {
		other := o.MustRelease(t, "3.1", "31")
		before := o.count(t, "release_deliverables")
		_, err := o.Releases.SubmitDocument(ctx, o.As["cbp-isso"], r.ID, release.DataFlowManifest, o.DataFlowDoc(other))
		wantCode(t, "other build", err, fault.Invalid)
		if err == nil || !strings.Contains(err.Error(), "app.sha256") || !strings.Contains(err.Error(), "app.version") {
			t.Errorf("err = %v", err)
		}
		_, err = o.Releases.SubmitDocument(ctx, o.As["cbp-isso"], r.ID, release.DataFlowManifest, []byte(`{"schema": "probity.data-flow/1", "app": {`))
		wantCode(t, "truncated", err, fault.Invalid)
		_, err = o.Releases.SubmitDocument(ctx, o.As["cbp-isso"], r.ID, release.StaticReport, o.DataFlowDoc(r))
		wantCode(t, "a scan kind", err, fault.Invalid)
		_, err = o.Releases.SubmitDocument(ctx, o.As["cbp-cpo"], r.ID, release.DataFlowManifest, o.DataFlowDoc(r))
		wantCode(t, "privacy officer", err, fault.Forbidden)
		if o.count(t, "release_deliverables") != before {
			t.Error("a refused document was stored")
		}
	})
	t.Run("Documents", func(t *testing.T) {
		dv, err := o.Releases.SubmitDocument(ctx, o.As["cbp-isso"], r.ID, release.DataFlowManifest, o.DataFlowDoc(r))
		if err != nil || dv.Items != 2 || dv.DocumentID == 0 || dv.Digest != ledger.PayloadDigest(o.DataFlowDoc(r)) {
			t.Fatalf("SubmitDocument = %+v, %v", dv, err)
		}
		got, err := o.Releases.Document(ctx, o.As["auditor"], r.ID, dv.DocumentID)
		if err != nil || string(got) != string(o.DataFlowDoc(r)) {
			t.Fatalf("Document = %s, %v", got, err)
		}
		st := status()
		if !slices.Equal(st.Missing, []release.DeliverableKind{release.StaticReport, release.MobileReport, release.Traceability}) {
			t.Fatalf("missing = %v", st.Missing)
		}
		es := o.Entries(t, "release.deliverable_received")
		if len(es) != 1 || es[0].Digest != dv.Digest || es[0].Subject != fmt.Sprintf("release/%d", r.ID) {
			t.Errorf("ledger = %+v", es)
		}
	})
	t.Run("Complete", func(t *testing.T) {
		o.MustImport(t, r, release.Static, Report(release.Static, r))
		o.MustImport(t, r, release.Mobile, Report(release.Mobile, r))
		if _, err := o.Releases.SubmitDocument(ctx, o.As["cbp-isso"], r.ID, release.Traceability, o.TraceabilityDoc(r)); err != nil {
			t.Fatal(err)
		}
		if st := status(); len(st.Missing) != 0 || len(st.Received) != 5 {
			t.Fatalf("status = %+v", st)
		}
	})
}

// mustGateReady submits a release with every required scan (findings: a
// high false positive, a medium left unreviewed) and both documents.
func (o *ReleaseOrg) mustGateReady(tb testing.TB, version, build string) release.Release {
	tb.Helper()
	r := o.MustRelease(tb, version, build)
	o.MustImport(tb, r, release.Static, Report(release.Static, r, Fnd(version+"-fp", scan.High), Fnd(version+"-med", scan.Medium)))
	o.MustImport(tb, r, release.SBOM, Report(release.SBOM, r))
	o.MustImport(tb, r, release.Mobile, Report(release.Mobile, r))
	o.MustDocuments(tb, r)
	o.mustTriage(tb, "cbp-isso", version+"-fp", release.FalsePositive, "dead code removed by the linker")
	return r
}

func testReleasesGate(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustReleaseOrg(t, d)
	defer o.checkCounts(t)
	approve := func(t *testing.T, who string, r release.Release) (release.Release, release.Decision, error) {
		t.Helper()
		return o.Releases.Approve(ctx, o.As[who], r.ID, "")
	}
	refused := func(t *testing.T, who string, r release.Release, rules ...release.Rule) release.Decision {
		t.Helper()
		before := len(o.Entries(t, "release.approval_refused"))
		got, dec, err := approve(t, who, r)
		wantCode(t, "refusal", err, fault.Precondition)
		if ge, ok := err.(interface{ Unwrap() error }); !ok || ge.Unwrap() == nil {
			t.Errorf("err = %v: no gate error inside", err)
		}
		if dec.Approved || !slices.Equal(dec.Rules(), rules) {
			t.Fatalf("decision = %v %v; want %v\n%s", dec.Approved, dec.Rules(), rules, strings.Join(dec.Messages(), "\n"))
		}
		if got.Status != release.Submitted {
			t.Errorf("status = %s", got.Status)
		}
		es := o.Entries(t, "release.approval_refused")
		if len(es) != before+1 || es[len(es)-1].Subject != fmt.Sprintf("release/%d", r.ID) || es[len(es)-1].Actor.ID != who {
			t.Fatalf("the refusal was not recorded: %+v", es)
		}
		return dec
	}

	t.Run("Approved", func(t *testing.T) {
		r := o.mustGateReady(t, "1.0", "100")
		preview, err := o.Releases.Evaluate(ctx, o.As["cbp-isso2"], r.ID)
		if err != nil || !preview.Approved {
			t.Fatalf("Evaluate = %+v, %v", preview, err)
		}
		got, dec, err := approve(t, "cbp-isso2", r)
		if err != nil || !dec.Approved || got.Status != release.Approved || got.Approver != "cbp-isso2" || dec.PolicyVersion != 1 {
			t.Fatalf("Approve = %+v, %+v, %v", got, dec, err)
		}
		es := o.Entries(t, "release.approved")
		if len(es) != 1 || es[0].Data["approved"] != true || es[0].Subject != fmt.Sprintf("release/%d", r.ID) {
			t.Fatalf("ledger = %+v", es)
		}
		ds, err := o.Releases.Decisions(ctx, o.As["auditor"], r.ID)
		if err != nil || len(ds) != 1 || !ds[0].Approved || ds[0].DecidedBy != "cbp-isso2" {
			t.Fatalf("Decisions = %+v, %v", ds, err)
		}
		_, _, err = approve(t, "cbp-isso", r)
		wantCode(t, "approve twice", err, fault.Conflict)
		c, err := o.Releases.Check(ctx, o.As["auditor"], o.App.ID, strings.ToUpper(r.SHA256))
		if err != nil || !c.Decision.Approved || c.Release.ID != r.ID {
			t.Fatalf("Check = %+v, %v", c, err)
		}
	})
	t.Run("ErrApproverIsSubmitter", func(t *testing.T) {
		r := o.mustGateReady(t, "1.1", "101")
		dec := refused(t, "cbp-isso", r, release.RuleSelfApproval)
		if !strings.Contains(dec.Reasons[0].Message, "cbp-isso submitted release 1.1 and may not approve it") {
			t.Errorf("reason = %q", dec.Reasons[0].Message)
		}
		ds, _ := o.Releases.Decisions(ctx, o.As["auditor"], r.ID)
		if len(ds) != 1 || ds[0].Approved || ds[0].Reasons[0].Rule != release.RuleSelfApproval {
			t.Errorf("Decisions = %+v", ds)
		}
	})
	t.Run("ErrScanMissing", func(t *testing.T) {
		r := o.MustRelease(t, "1.2", "102")
		o.MustImport(t, r, release.Static, Report(release.Static, r))
		o.MustImport(t, r, release.SBOM, Report(release.SBOM, r))
		o.MustDocuments(t, r)
		refused(t, "cbp-isso2", r, release.RuleScanMissing, release.RuleDeliverables)
	})
	t.Run("ErrUntriaged", func(t *testing.T) {
		r := o.mustGateReady(t, "1.3", "103")
		o.MustImport(t, r, release.Mobile, Report(release.Mobile, r, Fnd("1.3-new", scan.Critical)))
		dec := refused(t, "cbp-isso2", r, release.RuleUntriaged)
		if !strings.Contains(dec.Reasons[0].Message, "(critical, mobile)") {
			t.Errorf("reason = %q", dec.Reasons[0].Message)
		}
	})
	t.Run("ErrOpen", func(t *testing.T) {
		r := o.mustGateReady(t, "1.4", "104")
		o.mustTriage(t, "cbp-isso", "1.4-fp", release.Confirmed, "on second thought, reachable")
		refused(t, "cbp-isso2", r, release.RuleOpen)
		// Fixed in the source, but this artifact still has it.
		o.mustTriage(t, "cbp-isso", "1.4-fp", release.Fixed, "fixed in 1.5")
		refused(t, "cbp-isso2", r, release.RuleOpen)
	})
	t.Run("ExceptionInForce", func(t *testing.T) {
		r := o.mustGateReady(t, "1.6", "106")
		o.MustImport(t, r, release.Mobile, Report(release.Mobile, r, Fnd("1.6-risk", scan.High)))
		f := o.findingByName(t, "1.6-risk")
		e, err := o.Releases.RequestException(ctx, o.As["cbp-isso"], f.ID, release.Exception{Justification: "Only reachable from a debug menu compiled out of store builds.",
			CompensatingControls: "Store builds are checked for the debug flag by the pipeline.", ExpiresAt: o.Clock.Now().Add(10 * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		// Requested is not approved: the finding is still unreviewed.
		dec := refused(t, "cbp-isso2", r, release.RuleUntriaged)
		if !strings.Contains(dec.Reasons[0].Message, "exception requested, not approved") {
			t.Errorf("reason = %q", dec.Reasons[0].Message)
		}
		if _, err := o.Releases.DecideException(ctx, o.As["cbp-isso2"], e.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		if dec, err := o.Releases.Evaluate(ctx, o.As["cbp-isso2"], r.ID); err != nil || !dec.Approved {
			t.Fatalf("with the exception: %+v, %v", dec.Reasons, err)
		}
		// Expired: the finding is open again.
		o.Clock.Advance(11 * 24 * time.Hour)
		dec = refused(t, "cbp-isso2", r, release.RuleOpen)
		if !strings.Contains(dec.Reasons[0].Message, "exception expired") {
			t.Errorf("reason = %q", dec.Reasons[0].Message)
		}
	})
	t.Run("ErrDeliverablesMissing", func(t *testing.T) {
		r := o.MustRelease(t, "1.7", "107")
		for _, typ := range []release.ScanType{release.Static, release.SBOM, release.Mobile} {
			o.MustImport(t, r, typ, Report(typ, r))
		}
		if _, err := o.Releases.SubmitDocument(ctx, o.As["cbp-isso"], r.ID, release.DataFlowManifest, o.DataFlowDoc(r)); err != nil {
			t.Fatal(err)
		}
		dec := refused(t, "cbp-isso2", r, release.RuleDeliverables)
		if !strings.Contains(dec.Reasons[0].Message, "requirements-traceability questionnaire answers") || strings.Contains(dec.Reasons[0].Message, "manifest") {
			t.Errorf("reason = %q", dec.Reasons[0].Message)
		}
	})
	t.Run("CheckFromPipeline", func(t *testing.T) {
		r := o.mustGateReady(t, "1.8", "108")
		c, err := o.Releases.Check(ctx, o.As["cbp-isso"], o.App.ID, r.SHA256)
		if err != nil || c.Decision.Approved || !slices.Equal(c.Decision.Rules(), []release.Rule{release.RuleNoApprover}) {
			t.Fatalf("Check before approval = %+v, %v", c.Decision, err)
		}
		c, err = o.Releases.Check(ctx, o.As["cbp-isso"], o.App.ID, Digest("never submitted"))
		if err != nil || c.Decision.Approved || c.Release.ID != 0 || !slices.Equal(c.Decision.Rules(), []release.Rule{release.RuleUnknownRelease}) {
			t.Fatalf("Check of an unknown artifact = %+v, %v", c, err)
		}
		_, err = o.Releases.Check(ctx, o.As["ice-isso"], o.App.ID, r.SHA256)
		wantCode(t, "other component", err, fault.NotFound)
		if _, _, err := approve(t, "cbp-isso2", r); err != nil {
			t.Fatal(err)
		}
		// A scan after approval with an unreviewed critical finding closes
		// the gate again for the pipeline; the approval stays recorded.
		o.MustImport(t, r, release.Static, Report(release.Static, r, Fnd("1.8-late", scan.Critical)))
		c, err = o.Releases.Check(ctx, o.As["cbp-isso"], o.App.ID, r.SHA256)
		if err != nil || c.Decision.Approved || !slices.Equal(c.Decision.Rules(), []release.Rule{release.RuleUntriaged}) || c.Release.Status != release.Approved {
			t.Fatalf("Check after a late scan = %+v, %v", c, err)
		}
	})
	t.Run("ErrPIANotCurrent", func(t *testing.T) {
		r := o.mustGateReady(t, "1.9", "109")
		cats := []string{"device_location", "advertising_id", "passport_photo"}
		if _, err := o.Privacy.UpdateSource(ctx, o.As["cbp-isso"], o.Source.ID, store.SourceUpdate{Categories: &cats}); err != nil {
			t.Fatal(err)
		}
		dec := refused(t, "cbp-isso2", r, release.RulePIA)
		if !strings.Contains(dec.Reasons[0].Message, "must be updated") {
			t.Errorf("reason = %q", dec.Reasons[0].Message)
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		r := o.MustRelease(t, "2.0", "200")
		_, _, err := approve(t, "cbp-cpo", r)
		wantCode(t, "privacy officer", err, fault.Forbidden)
		_, _, err = approve(t, "ice-isso", r)
		wantCode(t, "other component", err, fault.NotFound)
		if ds, _ := o.Releases.Decisions(ctx, o.As["auditor"], r.ID); len(ds) != 0 {
			t.Errorf("an unauthorized approval was recorded: %+v", ds)
		}
	})
}

func testReleasesFindingsList(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustReleaseOrg(t, d)
	defer o.checkCounts(t)
	r := o.MustRelease(t, "7.0", "70")
	sevs := []scan.Severity{scan.Critical, scan.High, scan.Medium, scan.Low, scan.Info}
	var fs []scan.Finding
	for i := range 23 {
		fs = append(fs, Fnd(fmt.Sprintf("f%02d", i), sevs[i%len(sevs)]))
	}
	o.MustImport(t, r, release.Static, Report(release.Static, r, fs...))
	o.MustImport(t, r, release.SBOM, Report(release.SBOM, r, Fnd("dep", scan.Critical)))
	o.mustTriage(t, "cbp-isso", "f00", release.Confirmed, "")
	o.mustTriage(t, "cbp-isso", "f01", release.FalsePositive, "not reachable from any entry point")
	list := func(t *testing.T, f store.FindingFilter) store.FindingPage {
		t.Helper()
		f.AppID = o.App.ID
		p, err := o.Releases.Findings(ctx, o.As["auditor"], f)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("KeysetPages", func(t *testing.T) {
		var all []store.Finding
		cursor := ""
		for pages := 0; ; pages++ {
			p := list(t, store.FindingFilter{Limit: 5, After: cursor})
			all = append(all, p.Findings...)
			if p.Next == "" {
				if pages != 4 {
					t.Errorf("%d pages; want 5", pages+1)
				}
				break
			}
			cursor = p.Next
		}
		if len(all) != 24 {
			t.Fatalf("%d findings over the pages; want 24", len(all))
		}
		for i := 1; i < len(all); i++ {
			a, b := all[i-1], all[i]
			ka := fmt.Sprintf("%d %s %09d", release.Rank(a.Severity), a.FirstSeenAt.Format(time.RFC3339Nano), a.ID)
			kb := fmt.Sprintf("%d %s %09d", release.Rank(b.Severity), b.FirstSeenAt.Format(time.RFC3339Nano), b.ID)
			if ka >= kb {
				t.Fatalf("out of order at %d: %s before %s", i, ka, kb)
			}
		}
		if all[0].Severity != scan.Critical || all[23].Severity != scan.Info {
			t.Errorf("first %s, last %s", all[0].Severity, all[23].Severity)
		}
	})
	t.Run("KeysetPagesOfAState", func(t *testing.T) {
		var ids []int64
		cursor := ""
		for {
			p := list(t, store.FindingFilter{Limit: 4, After: cursor, States: []release.State{release.New, release.FalsePositive}})
			for _, f := range p.Findings {
				if f.State != release.New && f.State != release.FalsePositive {
					t.Fatalf("%s in the list", f.State)
				}
				ids = append(ids, f.ID)
			}
			if p.Next == "" {
				break
			}
			cursor = p.Next
		}
		all := list(t, store.FindingFilter{Limit: 500})
		var want []int64
		for _, f := range all.Findings {
			if f.State != release.Confirmed {
				want = append(want, f.ID)
			}
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("pages of new and false positive findings = %v; want %v", ids, want)
		}
	})
	t.Run("Counts", func(t *testing.T) {
		c := list(t, store.FindingFilter{Limit: 1}).Counts
		if c.Total != 24 || c.Unreviewed != 22 || c.ByState[release.Confirmed] != 1 || c.ByState[release.FalsePositive] != 1 || c.Overdue != 0 {
			t.Fatalf("counts = %+v", c)
		}
	})
	t.Run("Filters", func(t *testing.T) {
		p := list(t, store.FindingFilter{States: []release.State{release.New}, MinSeverity: scan.High})
		// New critical (5 of f, minus f00, plus dep) and high (5, minus f01).
		if len(p.Findings) != 9 {
			t.Errorf("new at or above high: %d", len(p.Findings))
		}
		for _, f := range p.Findings {
			if f.State != release.New || release.Rank(f.Severity) > 1 {
				t.Errorf("%+v does not fit", f)
			}
		}
		if p := list(t, store.FindingFilter{ScanType: release.SBOM}); len(p.Findings) != 1 || p.Findings[0].ScanType != release.SBOM {
			t.Errorf("sbom list = %+v", p.Findings)
		}
		if p := list(t, store.FindingFilter{ReleaseID: r.ID, States: []release.State{release.FalsePositive}}); len(p.Findings) != 1 {
			t.Errorf("release list = %+v", p.Findings)
		}
	})
	t.Run("Overdue", func(t *testing.T) {
		// Eight days on, the unreviewed and confirmed critical findings are
		// past their 7 days; high ones have 30.
		o.Clock.Advance(8 * 24 * time.Hour)
		p := list(t, store.FindingFilter{Overdue: true})
		if len(p.Findings) != 6 || p.Counts.Overdue != 6 {
			t.Fatalf("overdue = %d (count %d); want 6", len(p.Findings), p.Counts.Overdue)
		}
		for _, f := range p.Findings {
			if !f.Overdue || f.Severity != scan.Critical || !f.DueAt.Equal(f.FirstSeenAt.AddDate(0, 0, 7)) {
				t.Errorf("%+v", f)
			}
		}
	})
	t.Run("ErrBadFilter", func(t *testing.T) {
		for _, f := range []store.FindingFilter{{After: "x"}, {After: "1:0"}, {States: []release.State{"open"}}, {MinSeverity: "severe"}, {ScanType: "pentest"}} {
			f.AppID = o.App.ID
			_, err := o.Releases.Findings(ctx, o.As["auditor"], f)
			wantCode(t, fmt.Sprintf("%+v", f), err, fault.Invalid)
		}
		_, err := o.Releases.Findings(ctx, o.As["ice-isso"], store.FindingFilter{AppID: o.App.ID})
		wantCode(t, "other component", err, fault.NotFound)
	})
}
