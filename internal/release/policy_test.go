package release_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/release"
	"github.com/probity-dev/probity/internal/scan"
)

func TestScanPolicy_Validate(t *testing.T) {
	so := []auth.Role{auth.SecurityOfficer}
	for _, c := range []struct {
		name   string
		change func(*release.ScanPolicy)
		want   []string
	}{
		{"OKDefault", func(*release.ScanPolicy) {}, nil},
		{"OKPrivacyReviewsMobile", func(p *release.ScanPolicy) {
			p.Scans[2].ReviewBy = []auth.Role{auth.SecurityOfficer, auth.ComponentPrivacyOfficer}
		}, nil},
		{"OKNoDocuments", func(p *release.ScanPolicy) { p.Documents = nil }, nil},
		{"OKEqualSLA", func(p *release.ScanPolicy) { p.SLA = release.SLA{Critical: 30, High: 30, Medium: 30, Low: 30} }, nil},
		{"ErrNoScans", func(p *release.ScanPolicy) { p.Scans = nil }, []string{"scans"}},
		{"ErrUnknownType", func(p *release.ScanPolicy) { p.Scans[0].Type = "fuzz" }, []string{"scans[0].type"}},
		{"ErrTwice", func(p *release.ScanPolicy) { p.Scans[1].Type = release.Static }, []string{"scans[1].type"}},
		{"ErrNoRunner", func(p *release.ScanPolicy) { p.Scans[0].RunBy = nil }, []string{"scans[0].run_by"}},
		{"ErrNoReviewer", func(p *release.ScanPolicy) { p.Scans[1].ReviewBy = []auth.Role{} }, []string{"scans[1].review_by"}},
		{"ErrUnknownRole", func(p *release.ScanPolicy) { p.Scans[0].RunBy = []auth.Role{"contractor"} }, []string{"scans[0].run_by"}},
		// An analyst cannot import scans; an auditor cannot triage: a
		// policy naming them names nobody who can act.
		{"ErrRunnerCannotImport", func(p *release.ScanPolicy) { p.Scans[0].RunBy = []auth.Role{auth.Analyst} }, []string{"scans[0].run_by"}},
		{"ErrReviewerCannotTriage", func(p *release.ScanPolicy) { p.Scans[0].ReviewBy = []auth.Role{auth.Auditor} }, []string{"scans[0].review_by"}},
		{"ErrBlockInfo", func(p *release.ScanPolicy) { p.BlockAt = scan.Info }, []string{"block_at"}},
		{"ErrBlockEmpty", func(p *release.ScanPolicy) { p.BlockAt = "" }, []string{"block_at"}},
		{"ErrSLAZero", func(p *release.ScanPolicy) { p.SLA.High = 0 }, []string{"sla.high_days"}},
		{"ErrSLALong", func(p *release.ScanPolicy) { p.SLA.Low = release.MaxSLADays + 1 }, []string{"sla.low_days"}},
		{"ErrSLAInverted", func(p *release.ScanPolicy) { p.SLA = release.SLA{Critical: 30, High: 7, Medium: 90, Low: 120} }, []string{"sla.high_days"}},
		{"ErrDocumentIsScan", func(p *release.ScanPolicy) { p.Documents = []release.DeliverableKind{release.StaticReport} }, []string{"documents[0]"}},
		{"ErrManyAtOnce", func(p *release.ScanPolicy) {
			p.Scans = []release.ScanRequirement{{Type: "x", RunBy: so, ReviewBy: so}}
			p.BlockAt = "severe"
		}, []string{"scans[0].type", "block_at"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := release.DefaultPolicy()
			c.change(&p)
			wantFields(t, p.Validate(), c.want...)
		})
	}
}

func TestScanPolicy_Normalize(t *testing.T) {
	p := release.ScanPolicy{
		Scans: []release.ScanRequirement{
			{Type: release.Dynamic, RunBy: []auth.Role{auth.SecurityOfficer, auth.SecurityOfficer}, ReviewBy: []auth.Role{auth.ComponentPrivacyOfficer, auth.SecurityOfficer}},
			{Type: release.Static, RunBy: []auth.Role{auth.SecurityOfficer}, ReviewBy: []auth.Role{auth.SecurityOfficer}},
		},
		BlockAt:   scan.Medium,
		Documents: []release.DeliverableKind{release.Traceability, release.DataFlowManifest, release.Traceability},
	}
	p.Normalize()
	if p.SLA != release.DefaultSLA {
		t.Errorf("SLA = %+v; want the default", p.SLA)
	}
	if p.Scans[0].Type != release.Static || p.Scans[1].Type != release.Dynamic {
		t.Errorf("scans in order %v", p.Required())
	}
	if !slices.Equal(p.Scans[1].RunBy, []auth.Role{auth.SecurityOfficer}) || !slices.Equal(p.Scans[1].ReviewBy, []auth.Role{auth.ComponentPrivacyOfficer, auth.SecurityOfficer}) {
		t.Errorf("roles = %v / %v", p.Scans[1].RunBy, p.Scans[1].ReviewBy)
	}
	if !slices.Equal(p.Documents, []release.DeliverableKind{release.DataFlowManifest, release.Traceability}) {
		t.Errorf("documents = %v", p.Documents)
	}
	// Equal policies encode equally, whatever order they were given in.
	q := release.ScanPolicy{Scans: []release.ScanRequirement{p.Scans[1], p.Scans[0]}, BlockAt: scan.Medium,
		Documents: []release.DeliverableKind{release.DataFlowManifest, release.Traceability}}
	q.Normalize()
	if string(p.Encode()) != string(q.Encode()) {
		t.Errorf("encodings differ:\n%s\n%s", p.Encode(), q.Encode())
	}
}

func TestDecodePolicy(t *testing.T) {
	t.Run("OKRoundTrip", func(t *testing.T) {
		p := release.DefaultPolicy()
		p.Normalize()
		got, err := release.DecodePolicy(p.Encode())
		if err != nil || string(got.Encode()) != string(p.Encode()) {
			t.Fatalf("DecodePolicy = %s, %v", got.Encode(), err)
		}
	})
	for _, c := range []struct{ name, in, want string }{
		{"ErrSyntax", `{"scans": [`, "cut short"},
		{"ErrUnknownField", `{"scans": [], "block": "high"}`, `unknown field "block"`},
		{"ErrTrailing", `{"block_at": "high"} {}`, "data after"},
		{"ErrType", `{"block_at": 3}`, `field "block_at"`},
		{"ErrInvalid", `{"scans": [], "block_at": "high"}`, "require at least one scan type"},
		{"ErrTooLarge", `{"note": "` + strings.Repeat("x", release.MaxPolicySize) + `"}`, "larger than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := release.DecodePolicy([]byte(c.in))
			fields(t, err)
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v; want it to say %q", err, c.want)
			}
		})
	}
}

func TestScanPolicy_Roles(t *testing.T) {
	p := release.DefaultPolicy()
	p.Scans[2].ReviewBy = []auth.Role{auth.ComponentPrivacyOfficer}
	t.Run("Required", func(t *testing.T) {
		if got := p.Reviewers(release.Mobile); !slices.Equal(got, []auth.Role{auth.ComponentPrivacyOfficer}) {
			t.Errorf("Reviewers(mobile) = %v", got)
		}
		if got := p.Runners(release.Static); !slices.Equal(got, []auth.Role{auth.SecurityOfficer}) {
			t.Errorf("Runners(static) = %v", got)
		}
	})
	t.Run("NotRequired", func(t *testing.T) {
		// A scan the policy does not require is run and reviewed by
		// security officers.
		if _, ok := p.Requirement(release.Dynamic); ok {
			t.Fatal("dynamic is required")
		}
		if got := p.Reviewers(release.Dynamic); !slices.Equal(got, []auth.Role{auth.SecurityOfficer}) {
			t.Errorf("Reviewers(dynamic) = %v", got)
		}
	})
}

func TestScanType_Accepts(t *testing.T) {
	for _, c := range []struct {
		t    release.ScanType
		f    scan.Format
		want bool
	}{
		{release.Static, scan.SARIF, true},
		{release.Static, scan.MobSF, false},
		{release.Static, scan.CycloneDX, false},
		{release.Dynamic, scan.SARIF, true},
		{release.SBOM, scan.CycloneDX, true},
		{release.SBOM, scan.SPDX, true},
		{release.SBOM, scan.SARIF, false},
		{release.Mobile, scan.MobSF, true},
		{release.Mobile, scan.SARIF, true},
		{release.Mobile, scan.SPDX, false},
		{"other", scan.SARIF, false},
	} {
		t.Run(string(c.t)+"_"+string(c.f), func(t *testing.T) {
			if got := c.t.Accepts(c.f); got != c.want {
				t.Errorf("%s.Accepts(%s) = %v", c.t, c.f, got)
			}
		})
	}
}

func TestScanPolicy_RequiredDeliverables(t *testing.T) {
	p := release.DefaultPolicy()
	want := []release.DeliverableKind{release.StaticReport, release.SBOMDocument, release.MobileReport, release.DataFlowManifest, release.Traceability}
	if got := p.RequiredDeliverables(); !slices.Equal(got, want) {
		t.Fatalf("RequiredDeliverables = %v; want %v", got, want)
	}
	for _, k := range want[:3] {
		if typ, ok := k.ScanType(); !ok || typ.Deliverable() != k {
			t.Errorf("%s.ScanType() = %s, %v", k, typ, ok)
		}
	}
	if _, ok := release.DataFlowManifest.ScanType(); ok {
		t.Error("the manifest is a scan")
	}
}

func TestMissing(t *testing.T) {
	req := []release.DeliverableKind{release.StaticReport, release.SBOMDocument, release.DataFlowManifest}
	for _, c := range []struct {
		name     string
		received []release.DeliverableKind
		want     []release.DeliverableKind
	}{
		{"None", nil, req},
		{"Some", []release.DeliverableKind{release.SBOMDocument, release.Traceability}, []release.DeliverableKind{release.StaticReport, release.DataFlowManifest}},
		{"All", []release.DeliverableKind{release.DataFlowManifest, release.StaticReport, release.SBOMDocument, release.SBOMDocument}, []release.DeliverableKind{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := release.Missing(req, c.received); !slices.Equal(got, c.want) {
				t.Errorf("Missing = %v; want %v", got, c.want)
			}
		})
	}
}

func TestAtLeast(t *testing.T) {
	for _, c := range []struct {
		s, threshold scan.Severity
		want         bool
	}{
		{scan.Critical, scan.High, true},
		{scan.High, scan.High, true},
		{scan.Medium, scan.High, false},
		{scan.Low, scan.Low, true},
		{scan.Info, scan.Low, false},
		{scan.Info, scan.Info, false},
		{"unknown", scan.Low, false},
		{scan.Critical, scan.Critical, true},
		{scan.High, scan.Critical, false},
	} {
		t.Run(string(c.s)+"_"+string(c.threshold), func(t *testing.T) {
			if got := release.AtLeast(c.s, c.threshold); got != c.want {
				t.Errorf("AtLeast(%s, %s) = %v", c.s, c.threshold, got)
			}
		})
	}
}
