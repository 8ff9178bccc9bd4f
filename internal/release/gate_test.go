package release_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/release"
	"github.com/probity-dev/probity/internal/scan"
)

const digestB = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

// passing returns a gate input that passes every rule.
func passing() release.GateInput {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := release.DefaultPolicy()
	p.Version = 3
	return release.GateInput{
		App:     release.App{ID: 1, Name: "MPC", Developer: "Example Apps LLC", PIAID: 9},
		Release: release.Release{ID: 4, AppID: 1, Version: "3.2.1", Build: "451", SHA256: digestA, SubmitterID: 20, Submitter: "dev-lead"},
		Policy:  p,
		Scans: []release.GateScan{
			{ID: 1, Type: release.Static, SHA256: digestA},
			{ID: 2, Type: release.SBOM, SHA256: digestA},
			{ID: 3, Type: release.Mobile, SHA256: digestA},
		},
		Findings: []release.GateFinding{
			{ID: 100, Type: release.Static, Severity: scan.Critical, State: release.FalsePositive},
			{ID: 101, Type: release.SBOM, Severity: scan.High, State: release.AcceptedRisk, RiskExpires: now.AddDate(0, 1, 0)},
			// Below the threshold: neither triage nor closure is needed.
			{ID: 102, Type: release.Mobile, Severity: scan.Medium, State: release.New},
			{ID: 103, Type: release.Mobile, Severity: scan.Info, State: release.New},
		},
		Received:   []release.DeliverableKind{release.StaticReport, release.SBOMDocument, release.MobileReport, release.DataFlowManifest, release.Traceability},
		PIA:        release.PIAStatus{PIAID: 9, Current: true},
		ApproverID: 21, Approver: "isso-2",
		Now: now,
	}
}

func TestGate(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*release.GateInput)
		want   []release.Rule
		says   []string // substrings of the messages, in order
	}{
		{"Approved", func(*release.GateInput) {}, nil, nil},
		{"ApprovedUnrequiredScanClean", func(in *release.GateInput) {
			in.Scans = append(in.Scans, release.GateScan{ID: 9, Type: release.Dynamic, SHA256: digestA})
		}, nil, nil},
		{"ScanMissing", func(in *release.GateInput) { in.Scans = in.Scans[1:] }, []release.Rule{release.RuleScanMissing}, []string{"no static analysis scan of this artifact (sha256 9f86d081884c…)"}},
		{"ScanOfOtherDigest", func(in *release.GateInput) { in.Scans[2].SHA256 = digestB }, []release.Rule{release.RuleScanMissing}, []string{"no mobile app analysis scan"}},
		{"EveryScanMissing", func(in *release.GateInput) { in.Scans = nil },
			[]release.Rule{release.RuleScanMissing, release.RuleScanMissing, release.RuleScanMissing}, []string{"static", "dependency (SBOM)", "mobile"}},
		{"Untriaged", func(in *release.GateInput) {
			in.Findings = append(in.Findings, release.GateFinding{ID: 200, Type: release.Static, Severity: scan.High, State: release.New})
		}, []release.Rule{release.RuleUntriaged}, []string{"1 finding at or above high has not been reviewed: #200 (high, static)"}},
		{"UntriagedThresholdMedium", func(in *release.GateInput) { in.Policy.BlockAt = scan.Medium }, []release.Rule{release.RuleUntriaged}, []string{"#102 (medium, mobile)"}},
		{"UntriagedManyNamesFive", func(in *release.GateInput) {
			for i := range 7 {
				in.Findings = append(in.Findings, release.GateFinding{ID: int64(300 + i), Type: release.SBOM, Severity: scan.Critical, State: release.New})
			}
		}, []release.Rule{release.RuleUntriaged}, []string{"7 findings at or above high have not been reviewed: #300", "#304 (critical, sbom), and 2 more"}},
		{"OpenConfirmed", func(in *release.GateInput) {
			in.Findings = append(in.Findings, release.GateFinding{ID: 201, Type: release.Static, Severity: scan.Critical, State: release.Confirmed})
		}, []release.Rule{release.RuleOpen}, []string{"1 finding at or above high is open without an approved, unexpired exception: #201 (critical, static, confirmed)"}},
		{"OpenExceptionRequested", func(in *release.GateInput) {
			in.Findings = append(in.Findings, release.GateFinding{ID: 202, Type: release.Static, Severity: scan.High, State: release.Confirmed, ExceptionRequested: true})
		}, []release.Rule{release.RuleOpen}, []string{"exception requested, not approved"}},
		{"OpenExceptionExpired", func(in *release.GateInput) { in.Findings[1].RiskExpires = in.Now }, []release.Rule{release.RuleOpen}, []string{"#101 (high, sbom, exception expired 2026-03-01)"}},
		{"OpenFixedButPresent", func(in *release.GateInput) { in.Findings[0].State = release.Fixed }, []release.Rule{release.RuleOpen}, []string{"marked fixed but reported for this artifact"}},
		{"OpenResolvedLater", func(in *release.GateInput) { in.Findings[0].State = release.ResolvedByRescan }, []release.Rule{release.RuleOpen}, []string{"resolved only in a later build"}},
		{"DeliverablesMissing", func(in *release.GateInput) { in.Received = in.Received[:3] }, []release.Rule{release.RuleDeliverables},
			[]string{"the developer (Example Apps LLC) has not delivered: data-flow and permissions manifest; requirements-traceability questionnaire answers"}},
		{"PIANotCurrent", func(in *release.GateInput) {
			in.PIA = release.PIAStatus{PIAID: 9, Problems: []string{"the PIA in force (version 2) expired on 2026-02-01"}}
		}, []release.Rule{release.RulePIA}, []string{"the app's PIA (9) is not current: the PIA in force (version 2) expired on 2026-02-01"}},
		{"PIAUnknown", func(in *release.GateInput) { in.PIA = release.PIAStatus{PIAID: 9} }, []release.Rule{release.RulePIA}, []string{"could not be established"}},
		{"NoApprover", func(in *release.GateInput) { in.ApproverID, in.Approver = 0, "" }, []release.Rule{release.RuleNoApprover}, []string{"release 3.2.1 (build 451) has not been approved"}},
		{"SelfApproval", func(in *release.GateInput) { in.ApproverID, in.Approver = 20, "dev-lead" }, []release.Rule{release.RuleSelfApproval}, []string{"dev-lead submitted release 3.2.1 and may not approve it"}},
		{"EveryRule", func(in *release.GateInput) {
			in.Scans = in.Scans[:2]
			in.Findings = append(in.Findings,
				release.GateFinding{ID: 400, Type: release.Static, Severity: scan.High, State: release.New},
				release.GateFinding{ID: 401, Type: release.Static, Severity: scan.High, State: release.Confirmed})
			in.Received = nil
			in.PIA.Current = false
			in.ApproverID = in.Release.SubmitterID
		}, []release.Rule{release.RuleScanMissing, release.RuleUntriaged, release.RuleOpen, release.RuleDeliverables, release.RulePIA, release.RuleSelfApproval}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := passing()
			c.change(&in)
			d := release.Gate(in)
			if d.Approved != (len(c.want) == 0) || !slices.Equal(d.Rules(), c.want) {
				t.Fatalf("Gate = approved %v, rules %v; want %v\n%s", d.Approved, d.Rules(), c.want, strings.Join(d.Messages(), "\n"))
			}
			msgs := strings.Join(d.Messages(), "\n")
			for _, s := range c.says {
				if !strings.Contains(msgs, s) {
					t.Errorf("reasons do not say %q:\n%s", s, msgs)
				}
			}
			if d.PolicyVersion != 3 || !d.CheckedAt.Equal(in.Now) {
				t.Errorf("decision policy %d at %v", d.PolicyVersion, d.CheckedAt)
			}
		})
	}
}
