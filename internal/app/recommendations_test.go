package app_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/app"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/program"
	"github.com/probity-dev/probity/internal/store"
)

// enrolProgramPerson creates an active person holding role (in component, or
// department-wide) and returns their TOTP secret; the enrolment uses the
// previous time step's code, so the current one is free for signing in.
func enrolProgramPerson(t *testing.T, ts *testServer, employeeID string, role auth.Role, component string) string {
	t.Helper()
	ctx := context.Background()
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	p, link, err := ts.Identity.Invite(ctx, admin, identity.Person{EmployeeID: employeeID, Name: "Person " + employeeID, Email: employeeID + "@example.gov", Component: component, Schedule: identity.DefaultSchedule()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Identity.GrantRole(ctx, admin, identity.Grant{PersonID: p.ID, Role: role, Component: component}); err != nil {
		t.Fatal(err)
	}
	e, err := ts.Authn.BeginEnrolment(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := authn.TOTPCode(e.TOTPSecret, time.Now().Add(-30*time.Second))
	if _, _, err := ts.Authn.CompleteEnrolment(ctx, link, "tulip orbit granite seven", e.Sealed, code); err != nil {
		t.Fatal(err)
	}
	return e.TOTPSecret
}

// programExchangeFile is an exchange file whose second recommendation's owner is
// owner, on line 10.
func programExchangeFile(owner string) string {
	return `{
  "format": "probity.recommendations/v1",
  "reports": [{
    "issuer": "inspector_general", "number": "OIG-23-61", "title": "Commercial telemetry data", "issued_on": "2023-09-26",
    "recommendations": [
      {"number": "1", "text": "Issue a department-wide policy.", "owner": "dpo7", "status": "resolved",
       "links": [{"kind": "evidence", "ref": "ledger:1"}], "resolution": {"on": "2025-03-14", "note": "Issued."}},
      {"number": "3", "text": "Finish CBP's procedures.", "owner_component": "CBP", "target_on": "2024-06-30",
       "links": [{"kind": "control", "ref": "AC-2"}],
       "owner": "` + owner + `"}
    ]
  }]
}
`
}

func TestRecommendationsCLI(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, store.SQLite)
	cfg.AdminToken, cfg.AuditorToken = "", "" // the commands must use the stored token
	ts := startServer(t, cfg)
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	if err := ts.Identity.CreateComponent(ctx, admin, identity.Component{Code: "CBP", Name: "CBP"}); err != nil {
		t.Fatal(err)
	}
	enrolProgramPerson(t, ts, "cbp-privacy", auth.ComponentPrivacyOfficer, "CBP")
	secret := enrolProgramPerson(t, ts, "dpo7", auth.DepartmentPrivacyOfficer, "")

	dir := t.TempDir()
	env := map[string]string{"PROBITY_CREDENTIALS": filepath.Join(dir, "credentials.json")}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, bad := write("good.json", programExchangeFile("cbp-privacy")), write("bad.json", programExchangeFile("nobody"))
	state := func() string {
		n, err := ts.Ledger.Size(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var reports, recs int
		ts.DB.View(ctx, func(tx *store.Tx) error {
			tx.QueryRow(ctx, `SELECT COUNT(*) FROM audit_reports`).Scan(&reports)
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM recommendations`).Scan(&recs)
		})
		return fmt.Sprintf("%d entries, %d reports, %d recommendations", n, reports, recs)
	}

	t.Run("ErrNotSignedIn", func(t *testing.T) {
		_, errOut, code := runCLI(t, env, "recommendations", "import", "-url", ts.URL, good)
		if code != 1 || !strings.Contains(errOut, "you are not signed in to "+ts.URL) || !strings.Contains(errOut, "run probity login") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("ErrUsage", func(t *testing.T) {
		for _, args := range [][]string{
			{"recommendations"},
			{"recommendations", "frob"},
			{"recommendations", "import", good},
			{"recommendations", "import", "-url", ts.URL},
			{"recommendations", "check", good, bad},
		} {
			if _, errOut, code := runCLI(t, env, args...); code != 2 {
				t.Errorf("%v: exit %d: %s", args, code, errOut)
			}
		}
	})

	// Sign in as the department privacy officer.
	code, _ := authn.TOTPCode(secret, time.Now())
	var out, errb bytes.Buffer
	stdin := strings.NewReader("dpo7\ntulip orbit granite seven\n" + code + "\n")
	if n := app.MainIO(ctx, []string{"login", "-url", ts.URL, "-days", "1"}, func(k string) string { return env[k] }, stdin, &out, &errb); n != 0 {
		t.Fatalf("login: exit %d: %s%s", n, out.String(), errb.String())
	}

	t.Run("Check", func(t *testing.T) {
		out, errOut, code := runCLI(t, nil, "recommendations", "check", good)
		if code != 0 || !strings.Contains(out, "1 report and 2 recommendations, no problems found") {
			t.Fatalf("exit %d: %s%s", code, out, errOut)
		}
		broken := write("broken.json", strings.Replace(programExchangeFile("x"), `"target_on": "2024-06-30"`, `"target_on": "2024-06-31"`, 1))
		_, errOut, code = runCLI(t, nil, "recommendations", "check", broken)
		want := broken + `: line 8, column 98: reports[0].recommendations[1].target_on: "2024-06-31" is not a date written YYYY-MM-DD`
		if code != 1 || !strings.Contains(errOut, want) {
			t.Fatalf("exit %d: %s\nwant %s", code, errOut, want)
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		huge := write("huge.json", `{"format": "`+strings.Repeat("x", program.MaxFileSize)+`"}`)
		before := state()
		_, errOut, code := runCLI(t, env, "recommendations", "import", "-url", ts.URL, huge)
		if code != 1 || !strings.Contains(errOut, "an exchange file may be at most 1048576 (1 MiB)") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if after := state(); after != before {
			t.Errorf("state went from %s to %s", before, after)
		}
	})
	t.Run("ErrAllOrNothing", func(t *testing.T) {
		// The file reads well; its last owner does not exist. The server
		// refuses it whole, naming the line, and keeps nothing.
		before := state()
		_, errOut, code := runCLI(t, env, "recommendations", "import", "-url", ts.URL, bad)
		want := bad + `: nothing was imported: line 10, column 17: reports[0].recommendations[1].owner: there is no person with employee ID "nobody"`
		if code != 1 || !strings.Contains(errOut, want) {
			t.Fatalf("exit %d: %s\nwant %s", code, errOut, want)
		}
		if after := state(); after != before {
			t.Errorf("a refused import changed the state from %s to %s", before, after)
		}
	})
	t.Run("Import", func(t *testing.T) {
		out, errOut, code := runCLI(t, env, "recommendations", "import", "-url", ts.URL, good)
		if code != 0 || !strings.Contains(out, "imported "+good+" into "+ts.URL+": 1 report, 2 recommendations (1 resolved, 0 of them closed), 2 links") {
			t.Fatalf("exit %d: %s%s", code, out, errOut)
		}
		_, errOut, code = runCLI(t, env, "recommendations", "import", "-url", ts.URL, good)
		if code != 1 || !strings.Contains(errOut, "line 4, column 46: reports[0].number: report OIG-23-61 of the inspector general is already recorded") {
			t.Fatalf("a second import: exit %d: %s", code, errOut)
		}
	})
	t.Run("Export", func(t *testing.T) {
		dest := filepath.Join(dir, "export.json")
		out, errOut, code := runCLI(t, env, "recommendations", "export", "-url", ts.URL, "-o", dest)
		if code != 0 || !strings.Contains(out, "wrote 1 report and 2 recommendations to "+dest) {
			t.Fatalf("exit %d: %s%s", code, out, errOut)
		}
		b, err := os.ReadFile(dest)
		if err != nil {
			t.Fatal(err)
		}
		x, err := program.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		recs := x.Reports[0].Recommendations
		if len(recs) != 2 || recs[0].Status != program.Resolved || recs[0].Resolution.On.String() != "2025-03-14" || recs[1].Owner != "cbp-privacy" || recs[1].Target.String() != "2024-06-30" {
			t.Errorf("exported %+v", recs)
		}
		stdout, _, code := runCLI(t, env, "recommendations", "export", "-url", ts.URL)
		if code != 0 || stdout != string(b) {
			t.Errorf("export to standard output: exit %d\n%s", code, stdout)
		}
	})
}
