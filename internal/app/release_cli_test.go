package app_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// cliSARIF is a SARIF 2.1.0 report with a high and a medium result.
const cliSARIF = `{"version": "2.1.0", "runs": [{
  "tool": {"driver": {"name": "semgrep", "version": "1.50.0", "rules": [
    {"id": "swift.sql-injection", "properties": {"security-severity": "8.1"}},
    {"id": "swift.weak-hash", "properties": {"security-severity": "5.3"}}]}},
  "results": [
    {"ruleId": "swift.sql-injection", "level": "error", "message": {"text": "A query built from user input."},
     "locations": [{"physicalLocation": {"artifactLocation": {"uri": "Sources/Store.swift"}, "region": {"startLine": 42}}}]},
    {"ruleId": "swift.weak-hash", "level": "warning", "message": {"text": "MD5 used for a cache key."},
     "locations": [{"physicalLocation": {"artifactLocation": {"uri": "Sources/Cache.swift"}, "region": {"startLine": 7}}}]}]}]}`

func TestReleaseCLI(t *testing.T) {
	dir := t.TempDir()
	t.Run("ErrFlags", func(t *testing.T) {
		env := map[string]string{"PROBITY_CREDENTIALS": filepath.Join(dir, "nobody.json"), "PROBITY_URL": "http://127.0.0.1:1/"}
		for _, c := range []struct {
			name string
			args []string
			want string
		}{
			{"CheckNoArtifact", []string{"release", "check", "--app", "1"}, "give the artifact: -artifact FILE"},
			{"CheckBoth", []string{"release", "check", "--app", "1", "--sha256", strings.Repeat("a", 64), "--artifact", "x"}, "not both"},
			{"CheckBadDigest", []string{"release", "check", "-app", "1", "-sha256", "xyz"}, "-sha256:"},
			{"CheckNoApp", []string{"release", "check", "-sha256", strings.Repeat("a", 64)}, "give the app: -app ID"},
			{"TriageNoState", []string{"release", "triage", "4"}, "give the state"},
			{"TriageBadState", []string{"release", "triage", "4", "-state", "done"}, "-state:"},
			{"ShowNoID", []string{"release", "show"}, "give the release's ID"},
			{"ScanNoRelease", []string{"scan", "import", "report.sarif"}, "give the release: -release ID"},
			{"ScanNoFile", []string{"scan", "import", "-release", "3"}, "give the report"},
			{"ScanBadType", []string{"scan", "import", "r.sarif", "-release", "3", "-type", "fuzz"}, "-type:"},
			{"AppCreateMissing", []string{"app", "create", "-name", "X"}, "give -name, -platform"},
			{"AppShowBadID", []string{"app", "show", "x"}, "the app's ID is a positive whole number"},
		} {
			t.Run(c.name, func(t *testing.T) {
				out, errOut, code := runCLI(t, env, c.args...)
				if code != 2 || !strings.Contains(errOut, c.want) || out != "" {
					t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 saying %q", code, out, errOut, c.want)
				}
			})
		}
		for _, cmd := range []string{"app", "release"} {
			if _, errOut, code := runCLI(t, env, cmd, "frob"); code != 2 || !strings.Contains(errOut, `unknown command "frob"`) {
				t.Errorf("%s frob: exit %d: %s", cmd, code, errOut)
			}
			if out, _, code := runCLI(t, env, cmd, "help"); code != 0 || !strings.Contains(out, "Usage: probity "+cmd) {
				t.Errorf("%s help: exit %d: %s", cmd, code, out)
			}
		}
		if _, errOut, code := runCLI(t, env, "serve", "-scan-max-bytes", "0"); code != 2 || !strings.Contains(errOut, "must be a positive whole number") {
			t.Errorf("serve -scan-max-bytes 0: exit %d: %s", code, errOut)
		}
		if _, errOut, code := runCLI(t, env, "release", "check", "-app", "1", "-sha256", strings.Repeat("a", 64)); code != 1 || !strings.Contains(errOut, "you are not signed in") {
			t.Errorf("not signed in: exit %d: %s", code, errOut)
		}
	})

	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testReleaseCLI(t, d, t.TempDir()) })
	}
}

func testReleaseCLI(t *testing.T, d store.Dialect, dir string) {
	cfg := testConfig(t, d)
	cfg.AdminToken, cfg.AuditorToken = "", ""
	ts := startServer(t, cfg)
	ctx := context.Background()
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	if err := ts.Identity.CreateComponent(ctx, admin, identity.Component{Code: "CBP", Name: "CBP"}); err != nil {
		t.Fatal(err)
	}
	isso, issoSecret := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "r-isso", Component: "CBP"}, auth.SecurityOfficer)
	isso2, isso2Secret := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "r-isso2", Component: "CBP"}, auth.SecurityOfficer)
	cpo, _ := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "r-cpo", Component: "CBP"}, auth.ComponentPrivacyOfficer)
	dpo, _ := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "r-dpo"}, auth.DepartmentPrivacyOfficer)
	sys, err := ts.Privacy.CreateSystem(ctx, isso, privacy.System{Name: "Mobile Passport Control", Component: "CBP", OwnerID: cpo.PersonID, ISSOID: isso.PersonID, Impact: privacy.Moderate})
	if err != nil {
		t.Fatal(err)
	}
	src, err := ts.Privacy.CreateSource(ctx, isso, privacy.Source{Name: "mpc-app", Title: "MPC app", SystemID: sys.ID, Vendor: "Example Apps LLC",
		ContractNumber: "MPC-1", Categories: []string{"device_location"}, Connector: privacy.VendorAPI})
	if err != nil {
		t.Fatal(err)
	}
	pia, err := ts.Privacy.CreatePIA(ctx, isso, src.ID, "PIA of the MPC app", storetest.CompleteDocument("mpc"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		who auth.Principal
		a   privacy.Action
	}{{isso, privacy.Submit}, {cpo, privacy.Accept}, {dpo, privacy.Approve}, {dpo, privacy.Publish}} {
		if pia, err = ts.Privacy.Step(ctx, st.who, pia.ID, st.a, store.StepInput{}); err != nil {
			t.Fatalf("%s the PIA: %v", st.a, err)
		}
	}
	issoEnv, isso2Env := cliSignIn(t, ts, dir, isso, issoSecret), cliSignIn(t, ts, dir, isso2, isso2Secret)
	run := func(t *testing.T, env map[string]string, want int, args ...string) string {
		t.Helper()
		out, errOut, code := runCLI(t, env, args...)
		if code != want {
			t.Fatalf("probity %s: exit %d, want %d:\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out + errOut
	}
	match := func(t *testing.T, re, s string) string {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("%q not in:\n%s", re, s)
		}
		return m[1]
	}

	out := run(t, issoEnv, 0, "app", "create", "-name", "Mobile Passport Control", "-platform", "ios", "-bundle", "gov.dhs.cbp.mpc", "-developer", "Example Apps LLC",
		"-system", strconv.FormatInt(sys.ID, 10), "-pia", strconv.FormatInt(pia.ID, 10))
	appID := match(t, `app (\d+): Mobile Passport Control`, out)
	if out := run(t, isso2Env, 0, "app", "list"); !strings.Contains(out, "gov.dhs.cbp.mpc") {
		t.Errorf("app list:\n%s", out)
	}
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte(`{"scans":[{"type":"static","run_by":["security_officer"],"review_by":["security_officer"]}],"block_at":"high","documents":[],"note":"static analysis only"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := run(t, issoEnv, 0, "app", "policy", appID, "-set", policy); !strings.Contains(out, "scan policy version 2") || !strings.Contains(out, "static: run by security_officer") {
		t.Errorf("policy -set:\n%s", out)
	}

	if out := run(t, issoEnv, 0, "app", "watch", appID, "-kind", "app_store", "-bundle", "gov.dhs.cbp.mpc"); !strings.Contains(out, "watching app_store listing") ||
		!strings.Contains(out, "not checked yet") {
		t.Errorf("app watch:\n%s", out)
	}
	if out := run(t, issoEnv, 1, "app", "watch", appID, "-kind", "json", "-listing-url", "http://example.com/v.json"); !strings.Contains(out, "probity app watch:") {
		t.Errorf("app watch, invalid:\n%s", out)
	}
	if out := run(t, issoEnv, 0, "app", "watch", appID, "-off"); !strings.Contains(out, "not watched") {
		t.Errorf("app watch -off:\n%s", out)
	}

	artifact := filepath.Join(dir, "MPC-3.2.1.ipa")
	if err := os.WriteFile(artifact, []byte("an app's bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = run(t, issoEnv, 0, "release", "create", "-app", appID, "-version", "3.2.1", "-build", "451", "-artifact", artifact)
	relID := match(t, `release (\d+) submitted`, out)
	if !strings.Contains(out, storetest.Digest("an app's bytes")) {
		t.Errorf("the release's digest is not the artifact's:\n%s", out)
	}

	t.Run("ErrCheckUnscanned", func(t *testing.T) {
		out := run(t, issoEnv, 1, "release", "check", "--app", appID, "--artifact", artifact)
		if !strings.Contains(out, "NOT APPROVED") || !strings.Contains(out, "scan_missing") {
			t.Errorf("check:\n%s", out)
		}
		out = run(t, issoEnv, 1, "release", "check", "-app", appID, "-sha256", storetest.Digest("never submitted"))
		if !strings.Contains(out, "release_unknown") {
			t.Errorf("check of an unknown artifact:\n%s", out)
		}
	})

	report := filepath.Join(dir, "semgrep.sarif")
	if err := os.WriteFile(report, []byte(cliSARIF), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("ErrImportBroken", func(t *testing.T) {
		broken := filepath.Join(dir, "broken.sarif")
		if err := os.WriteFile(broken, []byte(cliSARIF[:200]), 0o600); err != nil {
			t.Fatal(err)
		}
		run(t, issoEnv, 1, "scan", "import", broken, "-release", relID, "-type", "static")
		if out := run(t, issoEnv, 0, "release", "findings", "-app", appID); !strings.Contains(out, "0 findings") {
			t.Errorf("findings after a refused import:\n%s", out)
		}
	})
	if out := run(t, issoEnv, 0, "scan", "import", report, "-release", relID); !strings.Contains(out, "static (sarif from semgrep): 2 findings (2 new") {
		t.Errorf("scan import:\n%s", out)
	}
	out = run(t, isso2Env, 0, "release", "findings", "-app", appID)
	if !strings.Contains(out, "2 findings: 2 unreviewed") {
		t.Errorf("findings:\n%s", out)
	}
	high := match(t, `(?m)^(\d+)\s+high\s+new`, out)
	medium := match(t, `(?m)^(\d+)\s+medium\s+new`, out)

	t.Run("ErrApproveUntriaged", func(t *testing.T) {
		out := run(t, isso2Env, 1, "release", "approve", relID)
		if !strings.Contains(out, "may not be approved") {
			t.Errorf("approve:\n%s", out)
		}
	})
	run(t, issoEnv, 0, "release", "triage", medium, "-state", "confirmed")
	if out := run(t, issoEnv, 0, "release", "triage", high, "-state", "false_positive", "-reason", "the query builder is compiled out of release builds"); !strings.Contains(out, "false positive") {
		t.Errorf("triage:\n%s", out)
	}
	t.Run("ErrSelfApproval", func(t *testing.T) {
		if out := run(t, issoEnv, 1, "release", "approve", relID); !strings.Contains(out, "submitted") {
			t.Errorf("self-approval:\n%s", out)
		}
	})
	if out := run(t, isso2Env, 0, "release", "approve", relID, "-note", "gate passed"); !strings.Contains(out, "approved") {
		t.Errorf("approve:\n%s", out)
	}
	if out := run(t, issoEnv, 0, "release", "check", "--app", appID, "--artifact", artifact); !strings.Contains(out, "APPROVED: release "+relID) {
		t.Errorf("check after approval:\n%s", out)
	}
	if out := run(t, issoEnv, 0, "release", "show", relID); !strings.Contains(out, ", approved") || !strings.Contains(out, "decision   approved by r-isso2") {
		t.Errorf("show:\n%s", out)
	}
	if out := run(t, issoEnv, 0, "release", "list", "-app", appID); !strings.Contains(out, "3.2.1") {
		t.Errorf("list:\n%s", out)
	}
}
