package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/release"
	"github.com/probity-dev/probity/internal/scan"
	"github.com/probity-dev/probity/internal/store"
)

// demoAppSec is the demo's second CBP security officer, the application
// security lead who approves what cbp-isso submits (a release is never
// approved by its submitter). Invited, not enrolled: the demo's history
// names them, nobody signs in as them.
const demoAppSec = "cbp-appsec"

// loadDemoReleases loads the release gate's demo: CBP's Mobile Passport
// Control app, within CBP's system and with the published PIA of its
// imported-traces source, under the default scan policy (static, SBOM and
// mobile scans; the data-flow manifest and traceability answers), and a
// history of releases:
//   - 3.0.0: scanned, a high finding marked false positive, approved;
//   - 3.1.0: scanned, a new high finding accepted as a risk under an
//     exception until the next release, approved;
//   - 3.2.0: scanned, a critical finding confirmed and open: the approval
//     was refused, and the refusal is on record;
//   - 3.2.1: listed in the App Store, submitted by the contractor after
//     the fact, never scanned.
func loadDemoReleases(ctx context.Context, srv *Server) error {
	rs := srv.DB.Releases()
	principal := func(id string) (auth.Principal, error) {
		p, err := srv.Identity.PersonByEmployeeID(ctx, id)
		if err != nil {
			return auth.Principal{}, fmt.Errorf("demo person %s: %w", id, err)
		}
		grants, err := srv.Identity.Grants(ctx, p.ID)
		if err != nil {
			return auth.Principal{}, err
		}
		return identity.Principal(p, grants), nil
	}
	isso, err := principal("cbp-isso")
	if err != nil {
		return err
	}
	bootstrap := auth.Principal{Kind: ledger.ActorToken, ID: "demo-loader", Name: "Demo loader", Grants: []auth.Grant{{Role: auth.Administrator}}}
	head, err := srv.Identity.PersonByEmployeeID(ctx, "cbp-head")
	if err != nil {
		return err
	}
	p, _, err := srv.Identity.Invite(ctx, bootstrap, identity.Person{EmployeeID: demoAppSec, Name: "Robin Achterberg", Email: demoAppSec + "@demo.probity.invalid",
		Component: "CBP", UnitID: head.UnitID, SupervisorID: head.ID, Schedule: identity.DefaultSchedule()})
	if err != nil {
		return fmt.Errorf("invite %s: %w", demoAppSec, err)
	}
	if _, err := srv.Identity.GrantRole(ctx, bootstrap, identity.Grant{PersonID: p.ID, Role: auth.SecurityOfficer, Component: "CBP"}); err != nil {
		return err
	}
	appsec, err := principal(demoAppSec)
	if err != nil {
		return err
	}

	// The app: in CBP's system, with the PIA of the source it feeds.
	systems, err := srv.Privacy.Systems(ctx, isso, "CBP")
	if err != nil || len(systems) == 0 {
		return fmt.Errorf("the CBP system: %d, %v", len(systems), err)
	}
	sources, err := srv.Privacy.Sources(ctx, isso, "CBP")
	if err != nil {
		return err
	}
	var sourceID int64
	for _, s := range sources {
		if s.Name == "city-cbp" {
			sourceID = s.ID
		}
	}
	pias, err := srv.Privacy.PIAs(ctx, isso, store.PIAFilter{Component: "CBP"})
	if err != nil {
		return err
	}
	var piaID int64
	for _, x := range pias {
		if x.SourceID == sourceID {
			piaID = x.ID
		}
	}
	if piaID == 0 {
		return fmt.Errorf("no PIA of city-cbp")
	}
	app, err := rs.CreateApp(ctx, isso, release.App{Name: "Mobile Passport Control", Platform: release.IOS, BundleID: "gov.dhs.cbp.mpc",
		Developer: "Example Mobile Solutions LLC", SystemID: systems[0].ID, PIAID: piaID}, nil)
	if err != nil {
		return fmt.Errorf("the demo app: %w", err)
	}

	listing := "https://apps.apple.com/us/app/mobile-passport-control/id1234567890"
	submit := func(version, build string) (release.Release, error) {
		sum := sha256.Sum256([]byte("demo artifact MPC-" + version + "+" + build + ".ipa"))
		r, err := rs.SubmitRelease(ctx, isso, release.Release{AppID: app.ID, Version: version, Build: build, SHA256: hex.EncodeToString(sum[:]),
			DigestSource: release.Uploaded, StoreListing: listing})
		if err != nil {
			return r, fmt.Errorf("release %s: %w", version, err)
		}
		return r, nil
	}
	scanAll := func(r release.Release, static []scan.Finding, deps []scan.Finding) error {
		reports := []struct {
			t   release.ScanType
			rep scan.Report
		}{
			{release.Static, scan.Report{Format: scan.SARIF, Tool: "Semgrep", ToolVersion: "1.97.0", SubjectVersion: r.Version, Findings: static}},
			{release.SBOM, scan.Report{Format: scan.CycloneDX, Tool: "cdxgen", ToolVersion: "10.10.0", SubjectName: "gov.dhs.cbp.mpc", SubjectVersion: r.Version,
				SubjectSHA256: r.SHA256, Findings: deps, Components: demoComponents(r.Version)}},
			{release.Mobile, scan.Report{Format: scan.MobSF, Tool: "MobSF", ToolVersion: "4.1.9", SubjectName: "Mobile Passport Control", SubjectVersion: r.Version,
				SubjectSHA256: r.SHA256, Findings: []scan.Finding{demoFinding(scan.MobSF, "ios_app_transport_security", "App Transport Security allows arbitrary loads for one domain",
					scan.Low, "MobSF warning", "Info.plist", "CWE-319")}}},
		}
		for _, x := range reports {
			raw, _ := json.Marshal(x.rep)
			sum := sha256.Sum256(raw)
			if _, err := rs.ImportScan(ctx, isso, r.ID, x.t, x.rep, hex.EncodeToString(sum[:])); err != nil {
				return fmt.Errorf("%s scan of %s: %w", x.t, r.Version, err)
			}
		}
		return nil
	}
	deliver := func(r release.Release) error {
		flow := fmt.Sprintf(`{"schema": %q, "app": {"bundle_id": %q, "version": %q, "build": %q, "sha256": %q},
			"permissions": [{"name": "NSCameraUsageDescription", "purpose": "photograph the traveler and the passport's data page"}],
			"data_flows": [{"data": "traveler photo and passport data", "destination": "CBP processing service", "purpose": "arrival inspection", "encrypted_in_transit": true, "retention": "deleted from the device on submission"}]}`,
			release.DataFlowSchema, app.BundleID, r.Version, r.Build, r.SHA256)
		trace := fmt.Sprintf(`{"schema": %q, "app": {"bundle_id": %q, "version": %q, "sha256": %q},
			"answers": [{"requirement": "AC-2", "status": "met", "evidence": "no accounts: travelers are not enrolled"},
			            {"requirement": "SC-8", "status": "met", "evidence": "TLS 1.2+ with certificate pinning to the CBP service"}]}`,
			release.TraceabilitySchema, app.BundleID, r.Version, r.SHA256)
		for kind, doc := range map[release.DeliverableKind]string{release.DataFlowManifest: flow, release.Traceability: trace} {
			if _, err := rs.SubmitDocument(ctx, isso, r.ID, kind, []byte(doc)); err != nil {
				return fmt.Errorf("%s of %s: %w", kind, r.Version, err)
			}
		}
		return nil
	}
	findingID := func(r release.Release, rule string) (int64, error) {
		page, err := rs.Findings(ctx, isso, store.FindingFilter{AppID: app.ID, ReleaseID: r.ID, Limit: 500})
		if err != nil {
			return 0, err
		}
		for _, f := range page.Findings {
			if f.RuleID == rule {
				return f.ID, nil
			}
		}
		return 0, fmt.Errorf("no finding of rule %s in %s", rule, r.Version)
	}

	sqli := demoFinding(scan.SARIF, "swift.lang.security.sqlite-injection", "SQL statement built by string interpolation", scan.High,
		"security-severity 8.1", "Sources/Storage/TripStore.swift:88", "CWE-89")
	weakHash := demoFinding(scan.SARIF, "swift.lang.security.insecure-hash-md5", "MD5 used to derive a cache key", scan.Medium,
		"security-severity 5.3", "Sources/Cache/ImageCache.swift:31", "CWE-328")
	keychain := demoFinding(scan.SARIF, "swift.lang.security.keychain-accessible-always", "Keychain item readable while the device is locked", scan.High,
		"security-severity 7.5", "Sources/Session/TokenStore.swift:54", "CWE-312")
	alamofire := demoFinding(scan.CycloneDX, "CVE-2026-10041", "Alamofire: redirect handler forwards the Authorization header across hosts", scan.Critical,
		"CVSS 9.1", "pkg:swift/github.com/Alamofire/Alamofire@5.9.0", "CWE-200")
	alamofire.CVE = []string{"CVE-2026-10041"}

	// 3.0.0: approved, the injection a false positive (the statement is
	// built from constants).
	r300, err := submit("3.0.0", "300")
	if err != nil {
		return err
	}
	if err := scanAll(r300, []scan.Finding{sqli, weakHash}, nil); err != nil {
		return err
	}
	if err := deliver(r300); err != nil {
		return err
	}
	id, err := findingID(r300, sqli.RuleID)
	if err != nil {
		return err
	}
	if _, err := rs.Triage(ctx, isso, id, release.FalsePositive, "the interpolated values are compile-time constants (table names); no input reaches the statement"); err != nil {
		return fmt.Errorf("triage 3.0.0: %w", err)
	}
	if id, err = findingID(r300, weakHash.RuleID); err != nil {
		return err
	}
	if _, err := rs.Triage(ctx, isso, id, release.Confirmed, ""); err != nil {
		return fmt.Errorf("triage 3.0.0: %w", err)
	}
	if _, _, err := rs.Approve(ctx, appsec, r300.ID, "all scans reviewed; the MD5 cache key is below the threshold and tracked"); err != nil {
		return fmt.Errorf("approve 3.0.0: %w", err)
	}

	// 3.1.0: approved with an exception for the keychain finding.
	r310, err := submit("3.1.0", "310")
	if err != nil {
		return err
	}
	if err := scanAll(r310, []scan.Finding{sqli, weakHash, keychain}, nil); err != nil {
		return err
	}
	if err := deliver(r310); err != nil {
		return err
	}
	if id, err = findingID(r310, keychain.RuleID); err != nil {
		return err
	}
	ex, err := rs.RequestException(ctx, isso, id, release.Exception{
		Justification:        "The token stored is a one-time upload token valid for ten minutes; the fix needs the contractor's next sprint.",
		CompensatingControls: "Server side: the upload token is single-use and bound to the device; travelers are told to lock their phones.",
		ExpiresAt:            time.Now().UTC().AddDate(0, 2, 0)})
	if err != nil {
		return fmt.Errorf("exception 3.1.0: %w", err)
	}
	if _, err := rs.DecideException(ctx, appsec, ex.ID, true, "accepted until 3.3; fix committed by the developer"); err != nil {
		return fmt.Errorf("approve the exception: %w", err)
	}
	if _, _, err := rs.Approve(ctx, appsec, r310.ID, "keychain finding accepted under an exception"); err != nil {
		return fmt.Errorf("approve 3.1.0: %w", err)
	}

	// 3.2.0: a critical dependency vulnerability, confirmed and open: the
	// gate refuses, and the refusal is recorded.
	r320, err := submit("3.2.0", "320")
	if err != nil {
		return err
	}
	if err := scanAll(r320, []scan.Finding{sqli, weakHash, keychain}, []scan.Finding{alamofire}); err != nil {
		return err
	}
	if err := deliver(r320); err != nil {
		return err
	}
	if id, err = findingID(r320, alamofire.RuleID); err != nil {
		return err
	}
	if _, err := rs.Triage(ctx, isso, id, release.Confirmed, "reachable: the app follows redirects from the upload service"); err != nil {
		return fmt.Errorf("triage 3.2.0: %w", err)
	}
	if _, _, err := rs.Approve(ctx, appsec, r320.ID, ""); fault.CodeOf(err) != fault.Precondition {
		return fmt.Errorf("the demo's blocked release 3.2.0 was not refused: %v", err)
	}

	// 3.2.1: in the App Store, recorded after the fact, never scanned.
	if _, err := submit("3.2.1", "321"); err != nil {
		return err
	}
	return nil
}

// demoFinding returns a finding as an importer of format f would have
// made it.
func demoFinding(f scan.Format, rule, title string, sev scan.Severity, basis, location, cwe string) scan.Finding {
	return scan.Finding{Fingerprint: scan.NewFingerprint(f, rule, location), RuleID: rule, Title: title, Severity: sev, SeverityBasis: basis,
		Location: location, CWE: []string{cwe}}
}

// demoComponents is the SBOM of a demo release.
func demoComponents(version string) []scan.Component {
	return []scan.Component{
		{Name: "Alamofire", Version: "5.9.0", PURL: "pkg:swift/github.com/Alamofire/Alamofire@5.9.0", License: "MIT"},
		{Name: "KeychainAccess", Version: "4.2.2", PURL: "pkg:swift/github.com/kishikawakatsumi/KeychainAccess@4.2.2", License: "MIT"},
		{Name: "swift-crypto", Version: "3.3.0", PURL: "pkg:swift/github.com/apple/swift-crypto@3.3.0", License: "Apache-2.0"},
		{Name: "MPCCore", Version: version, PURL: "pkg:swift/gov.dhs.cbp/MPCCore@" + version, License: "LicenseRef-US-Government"},
	}
}
