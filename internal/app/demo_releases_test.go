package app

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/release"
	"github.com/probity-dev/probity/internal/store"
)

// TestLoadDemoReleases loads the demo's organization, privacy program and
// release history, and checks what the gate says of each release.
func TestLoadDemoReleases(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	cfg := Config{Data: data, Addr: "127.0.0.1:0", DB: filepath.Join(data, "probity.db"), KeyFile: filepath.Join(data, "ledger.key"),
		Origin: "probity.test/ledger", LogLevel: "error", LogFormat: "json"}
	srv, err := OpenServer(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := loadDemoOrg(ctx, srv); err != nil {
		t.Fatal(err)
	}
	if err := loadDemoPrivacy(ctx, srv); err != nil {
		t.Fatal(err)
	}
	if err := loadDemoReleases(ctx, srv); err != nil {
		t.Fatal(err)
	}
	p, err := srv.Identity.PersonByEmployeeID(ctx, "dept-auditor")
	if err != nil {
		t.Fatal(err)
	}
	grants, _ := srv.Identity.Grants(ctx, p.ID)
	auditor := identity.Principal(p, grants)
	rs := srv.DB.Releases()
	apps, err := rs.Apps(ctx, auditor, "")
	if err != nil || len(apps) != 1 || apps[0].Component != "CBP" {
		t.Fatalf("apps = %+v, %v", apps, err)
	}
	rels, err := rs.ReleasesOf(ctx, auditor, apps[0].ID)
	if err != nil || len(rels) != 4 {
		t.Fatalf("releases = %d, %v", len(rels), err)
	}

	t.Run("OKHistory", func(t *testing.T) {
		want := map[string]struct {
			status   release.Status
			approved bool
			scans    int
			rule     release.Rule
		}{
			"3.0.0": {release.Approved, true, 3, ""},
			"3.1.0": {release.Approved, true, 3, ""},
			"3.2.0": {release.Submitted, false, 3, release.RuleOpen},
			"3.2.1": {release.Submitted, false, 0, release.RuleScanMissing},
		}
		for _, r := range rels {
			w, ok := want[r.Version]
			if !ok {
				t.Errorf("unexpected release %s", r.Version)
				continue
			}
			if r.Status != w.status {
				t.Errorf("%s: status %s, want %s", r.Version, r.Status, w.status)
			}
			c, err := rs.Check(ctx, auditor, apps[0].ID, r.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if c.Decision.Approved != w.approved {
				t.Errorf("%s: check approved = %v, reasons %v", r.Version, c.Decision.Approved, c.Decision.Messages())
			}
			if w.rule != "" && !containsRule(c.Decision.Rules(), w.rule) {
				t.Errorf("%s: rules %v, want %s among them", r.Version, c.Decision.Rules(), w.rule)
			}
			scans, err := rs.Scans(ctx, auditor, r.ID)
			if err != nil || len(scans) != w.scans {
				t.Errorf("%s: %d scans, %v; want %d", r.Version, len(scans), err, w.scans)
			}
		}
	})

	t.Run("OKBlockedOnRecord", func(t *testing.T) {
		for _, r := range rels {
			if r.Version != "3.2.0" {
				continue
			}
			ds, err := rs.Decisions(ctx, auditor, r.ID)
			if err != nil || len(ds) != 1 || ds[0].Approved {
				t.Errorf("3.2.0's decisions = %+v, %v", ds, err)
			}
		}
		page, err := rs.Findings(ctx, auditor, store.FindingFilter{AppID: apps[0].ID, States: []release.State{release.AcceptedRisk}})
		if err != nil || len(page.Findings) != 1 {
			t.Errorf("accepted risks = %d, %v", len(page.Findings), err)
		}
	})
}

func containsRule(rs []release.Rule, r release.Rule) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}
