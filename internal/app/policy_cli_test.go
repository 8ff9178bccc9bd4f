package app_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/app"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/policy"
	"github.com/probity-dev/probity/internal/store"
)

func TestPolicyCLI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cbpText := policy.DefaultComponentText + "\n@id(\"cbp.no-unmask\")\n@reason(\"CBP does not unmask devices.\")\nforbid (principal, action == Action::\"query.unmask\", resource);\n"
	good := write("cbp.cedar", cbpText)
	bad := write("bad.cedar", "@id(\"a\")\n@reason(\"A.\")\npermit (principal, action, resource)\nwhen { principal.rank > 3 };\n\n@id(\"b\")\nforbid (principal, action, resource) when { 1 + };\n")

	t.Run("Validate", func(t *testing.T) {
		out, errOut, code := runCLI(t, nil, "policy", "validate", "-scope", "CBP", good)
		if code != 0 || !strings.Contains(out, "valid CBP set: 5 policies (3 permit, 2 forbid)") {
			t.Fatalf("exit %d: %s%s", code, out, errOut)
		}
		_, errOut, code = runCLI(t, nil, "policy", "validate", bad)
		if code != 1 || !strings.Contains(errOut, bad+":7:50: syntax error: invalid primary") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		// The department set forbids only.
		_, errOut, code = runCLI(t, nil, "policy", "validate", "-scope", "department", good)
		if code != 1 || !strings.Contains(errOut, good+":5:1: policy component.analysts-query: the department set may hold only forbid rules") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		// Limits are checked too.
		dept := write("dept.cedar", policy.DefaultDepartmentText)
		_, errOut, code = runCLI(t, nil, "policy", "validate", "-scope", "department", "-max-window-hours", "-4", dept)
		if code != 1 || !strings.Contains(errOut, "max_window_hours") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, args := range [][]string{{"policy"}, {"policy", "frob"}, {"policy", "validate"}, {"policy", "builtin", "nope"}, {"policy", "approve", "-url", "http://x/", "abc"}} {
			if _, errOut, code := runCLI(t, nil, args...); code != 2 {
				t.Errorf("%v: exit %d: %s", args, code, errOut)
			}
		}
		out, _, code = runCLI(t, nil, "policy", "builtin", "department")
		if code != 0 || out != policy.DefaultDepartmentText {
			t.Errorf("builtin department: exit %d", code)
		}
	})

	cfg := testConfig(t, store.SQLite)
	cfg.AdminToken, cfg.AuditorToken = "", "" // the commands must use the stored token
	ts := startServer(t, cfg)
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	if err := ts.Identity.CreateComponent(ctx, admin, identity.Component{Code: "CBP", Name: "CBP"}); err != nil {
		t.Fatal(err)
	}
	cpoEnv := map[string]string{"PROBITY_CREDENTIALS": filepath.Join(dir, "cpo.json")}
	dpoEnv := map[string]string{"PROBITY_CREDENTIALS": filepath.Join(dir, "dpo.json")}
	login := func(env map[string]string, id string, secret string) {
		t.Helper()
		code, _ := authn.TOTPCode(secret, time.Now())
		var out, errb bytes.Buffer
		stdin := strings.NewReader(id + "\ntulip orbit granite seven\n" + code + "\n")
		if n := app.MainIO(ctx, []string{"login", "-url", ts.URL, "-days", "1"}, func(k string) string { return env[k] }, stdin, &out, &errb); n != 0 {
			t.Fatalf("login %s: exit %d: %s%s", id, n, out.String(), errb.String())
		}
	}
	login(cpoEnv, "cbp-privacy", enrolProgramPerson(t, ts, "cbp-privacy", auth.ComponentPrivacyOfficer, "CBP"))
	login(dpoEnv, "dpo7", enrolProgramPerson(t, ts, "dpo7", auth.DepartmentPrivacyOfficer, ""))

	versions := func() int {
		var n int
		ts.DB.View(ctx, func(tx *store.Tx) error { return tx.QueryRow(ctx, `SELECT COUNT(*) FROM policy_versions`).Scan(&n) })
		return n
	}
	t.Run("ErrProposeInvalid", func(t *testing.T) {
		before := versions()
		_, errOut, code := runCLI(t, cpoEnv, "policy", "propose", "-url", ts.URL, "-scope", "CBP", "-summary", "bad", bad)
		if code != 1 || !strings.Contains(errOut, bad+":7:50: syntax error") || versions() != before {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})

	out, errOut, code := runCLI(t, cpoEnv, "policy", "propose", "-url", ts.URL, "-scope", "CBP", "-summary", "No unmasking in CBP", good)
	m := regexp.MustCompile(`proposed version (\d+) \(CBP version 1\)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("propose: exit %d: %s%s", code, out, errOut)
	}
	id := m[1]

	t.Run("ErrOutOfOrder", func(t *testing.T) {
		_, errOut, code := runCLI(t, dpoEnv, "policy", "approve", "-url", ts.URL, id)
		if code != 1 || !strings.Contains(errOut, "it is approved only once its impact analysis is done") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	out, errOut, code = runCLI(t, cpoEnv, "policy", "impact", "-url", ts.URL, "-days", "7", id)
	if code != 0 || !strings.Contains(out, "validated") || !strings.Contains(out, "no recorded decision would change") {
		t.Fatalf("impact: exit %d: %s%s", code, out, errOut)
	}
	t.Run("ErrWrongRole", func(t *testing.T) {
		_, errOut, code := runCLI(t, cpoEnv, "policy", "approve", "-url", ts.URL, id)
		if code != 1 || !strings.Contains(errOut, "only a department privacy officer approves") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	for _, step := range []string{"approve", "activate"} {
		out, errOut, code = runCLI(t, dpoEnv, "policy", step, "-url", ts.URL, id)
		if code != 0 || !strings.Contains(out, "is "+map[string]string{"approve": "approved", "activate": "active"}[step]) {
			t.Fatalf("%s: exit %d: %s%s", step, code, out, errOut)
		}
	}
	out, errOut, code = runCLI(t, dpoEnv, "policy", "show", "-url", ts.URL, id)
	if code != 0 || !strings.Contains(out, "CBP version 1, active") || !strings.Contains(out, "refused:   approve by dpo7") || !strings.Contains(out, "cbp.no-unmask") {
		t.Fatalf("show: exit %d: %s%s", code, out, errOut)
	}
	out, _, code = runCLI(t, cpoEnv, "policy", "show", "-url", ts.URL)
	if code != 0 || !strings.Contains(out, "department") || !strings.Contains(out, "No unmasking in CBP") {
		t.Fatalf("show all: exit %d: %s", code, out)
	}
	req := write("req.json", `{"action":"query.unmask","principal":{"employee_id":"a1","component":"CBP","roles":["analyst"],"account_active":true,"training_current":true,"rules_acknowledged":true},
"query":{"id":"q","case":{"number":"C-1","component":"CBP","status":"open","members":["a1"],"legal_process":[]},"source":{"name":"s","usable":true,"missing":[],"connector":"local","categories":[]},"area_km2":0,"window_hours":1,"legal_process_ref":"","pre_approved":true,"justification":"j","risk_flags":[]},"off_hours":false}`)
	out, errOut, code = runCLI(t, cpoEnv, "policy", "decide", "-url", ts.URL, req)
	if code != 0 || !strings.Contains(out, "DENY (CBP/cbp.no-unmask)") || !strings.Contains(out, "CBP does not unmask devices.") {
		t.Fatalf("decide: exit %d: %s%s", code, out, errOut)
	}
}
