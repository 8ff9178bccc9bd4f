package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/program"
	"github.com/probity-dev/probity/internal/store"
)

// TestLoadDemoProgram loads the demo organization and its recommendations
// and checks what an auditor then sees: both inspector general reports,
// owners across the department, and every status.
func TestLoadDemoProgram(t *testing.T) {
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
	before, err := srv.Ledger.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := loadDemoProgram(ctx, srv); err != nil {
		t.Fatal(err)
	}

	p, err := srv.Identity.PersonByEmployeeID(ctx, "dept-auditor")
	if err != nil {
		t.Fatal(err)
	}
	grants, _ := srv.Identity.Grants(ctx, p.ID)
	auditor := identity.Principal(p, grants)
	recs, err := srv.Program.Recommendations(ctx, auditor, store.RecommendationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	reports := map[string]int{}
	status := map[program.Status]int{}
	owners := map[string]bool{}
	today := srv.Program.Today()
	overdue := 0
	for _, r := range recs {
		reports[r.Report.Number]++
		status[r.Status]++
		owners[program.OrDepartment(r.OwnerComponent)] = true
		if r.Overdue(today) {
			overdue++
		}
		if r.Status != program.Open && (r.Evidence() == 0 || r.Resolution.Note == "") {
			t.Errorf("%s is %s without evidence and a note", r.Name(), r.Status)
		}
	}
	if len(reports) != 2 || reports["OIG-23-61"] != 8 || reports["OIG-21-48"] != 8 {
		t.Errorf("reports %v, want both inspector general reports with their eight recommendations each", reports)
	}
	if status[program.Open] != 5 || status[program.Resolved] != 5 || status[program.Closed] != 6 {
		t.Errorf("statuses %v", status)
	}
	for _, c := range []string{"CBP", "ICE", "USSS", "the department"} {
		if !owners[c] {
			t.Errorf("no recommendation is owned by %s", c)
		}
	}
	if overdue == 0 {
		t.Error("the demo shows no overdue recommendation")
	}

	// The import recorded itself, committing to the embedded file.
	after, _ := srv.Ledger.Size(ctx)
	b, err := srv.Ledger.Entry(ctx, after-1)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Type   string
		Actor  struct{ ID string }
		Digest string
	}
	json.Unmarshal(b, &e)
	if e.Type != "program.imported" || e.Actor.ID != demoProgramOwner || after-before < 16 {
		t.Errorf("last entry %s; %d entries added", b, after-before)
	}
}
