package app

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/policy"
)

// TestLoadDemoPolicy loads the demo organization and its policy content and
// checks what the Chief Privacy Officer then sees: the built-in sets in
// force, and CBP's proposal validated against the recorded decisions, with
// some CBP area searches that it would now refuse.
func TestLoadDemoPolicy(t *testing.T) {
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
	if err := loadDemoPolicy(ctx, srv); err != nil {
		t.Fatal(err)
	}
	p, err := srv.Identity.PersonByEmployeeID(ctx, "dept-privacy")
	if err != nil {
		t.Fatal(err)
	}
	grants, _ := srv.Identity.Grants(ctx, p.ID)
	dpo := identity.Principal(p, grants)
	vs, err := srv.Policies.Versions(ctx, dpo, "CBP")
	if err != nil || len(vs) != 1 || vs[0].Status != policy.Validated || vs[0].ImpactSummary == nil {
		t.Fatalf("CBP versions %+v, %v", vs, err)
	}
	sum := vs[0].ImpactSummary
	if sum.Replayed != 100 || sum.AllowToDeny == 0 || sum.DenyToAllow != 0 {
		t.Errorf("impact %+v", sum)
	}
	im, err := srv.Policies.Impact(ctx, dpo, vs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range im.Changes {
		if c.Component != "CBP" || c.Action != "query.area" {
			t.Errorf("change %+v", c)
		}
	}
	// The recorded decisions were decided by the built-in sets: some
	// allowed, some refused.
	all, err := srv.Policies.RecentDecisions(ctx, vs[0].ProposedAt.AddDate(0, 0, -1), policy.Department)
	if err != nil || len(all) != 300 {
		t.Fatalf("%d recorded decisions, %v", len(all), err)
	}
}
