package app_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/app"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/store"
)

func TestCredentialCLI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(t, store.SQLite)
	cfg.AdminToken, cfg.AuditorToken = "", "" // the commands must use the stored token
	ts := startServer(t, cfg)
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	if err := ts.Identity.CreateComponent(ctx, admin, identity.Component{Code: "CBP", Name: "CBP"}); err != nil {
		t.Fatal(err)
	}
	run := func(env map[string]string, stdin string, args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := app.MainIO(ctx, args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
		return out.String(), errb.String(), code
	}
	login := func(id string, role auth.Role, component string) map[string]string {
		t.Helper()
		env := map[string]string{"PROBITY_CREDENTIALS": filepath.Join(dir, id+".json")}
		secret := enrolProgramPerson(t, ts, id, role, component)
		code, _ := authn.TOTPCode(secret, time.Now())
		if out, errOut, n := run(env, id+"\ntulip orbit granite seven\n"+code+"\n", "login", "-url", ts.URL, "-days", "1"); n != 0 {
			t.Fatalf("login %s: exit %d: %s%s", id, n, out, errOut)
		}
		return env
	}
	isso := login("cbp-isso", auth.SecurityOfficer, "CBP")
	adminEnv := login("admin7", auth.Administrator, "")
	const secret = "vk_live_cli_0e4d7a1b9c2f"

	t.Run("OK", func(t *testing.T) {
		out, errOut, code := run(isso, secret+"\n", "credential", "set", "-url", ts.URL, "cbp-vendor")
		if code != 0 || !strings.Contains(out, "credential cbp-vendor stored; data sources refer to it as sealed:cbp-vendor") {
			t.Fatalf("set: exit %d: %s%s", code, out, errOut)
		}
		out, errOut, code = run(isso, "", "credential", "list", "-url", ts.URL)
		if code != 0 || !strings.Contains(out, "cbp-vendor") || !strings.Contains(out, "sealed:cbp-vendor") || !strings.Contains(out, "CBP") || !strings.Contains(out, "cbp-isso") {
			t.Fatalf("list: exit %d: %s%s", code, out, errOut)
		}
		out, _, code = run(isso, "", "credential", "list", "-url", ts.URL, "-json")
		if code != 0 || !strings.Contains(out, `"credentials"`) {
			t.Fatalf("list -json: exit %d: %s", code, out)
		}
		// Stored sealed, bound to its name: the service opens it.
		src, err := ts.Credentials.Source(privacyVendorSource("CBP", "sealed:cbp-vendor"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := src(ctx); err != nil || got != secret {
			t.Errorf("the stored credential opens to %q, %v", got, err)
		}
		out, errOut, code = run(isso, "", "credential", "delete", "-url", ts.URL, "cbp-vendor")
		if code != 0 || !strings.Contains(out, "credential cbp-vendor removed") {
			t.Fatalf("delete: exit %d: %s%s", code, out, errOut)
		}
		if _, err := src(ctx); err == nil {
			t.Error("the removed credential still opens")
		}
	})
	t.Run("ErrInput", func(t *testing.T) {
		for _, c := range []struct {
			name, stdin, want string
		}{
			{"empty", "", "standard input is empty"},
			{"two lines", secret + "\nsecond line\n", "more than one line"},
			{"short", "abc\n", "8 to 4096 characters"},
		} {
			out, errOut, code := run(isso, c.stdin, "credential", "set", "-url", ts.URL, "cbp-other")
			if code != 1 || !strings.Contains(errOut, c.want) {
				t.Errorf("%s: exit %d: %s%s", c.name, code, out, errOut)
			}
			if strings.Contains(out+errOut, secret) {
				t.Errorf("%s: the output quotes the secret", c.name)
			}
		}
		for _, args := range [][]string{{"credential"}, {"credential", "frob"}, {"credential", "set", "-url", ts.URL}, {"credential", "list", "-url", ts.URL, "extra"}} {
			if _, errOut, code := run(isso, "", args...); code != 2 {
				t.Errorf("%v: exit %d: %s", args, code, errOut)
			}
		}
	})
	t.Run("ErrAdministrator", func(t *testing.T) {
		// Separation of duties: the administrator can neither store nor
		// list credentials.
		_, errOut, code := run(adminEnv, secret+"\n", "credential", "set", "-url", ts.URL, "cbp-admin")
		if code != 1 || !strings.Contains(errOut, "403") {
			t.Errorf("set as administrator: exit %d: %s", code, errOut)
		}
		_, errOut, code = run(adminEnv, "", "credential", "list", "-url", ts.URL)
		if code != 1 || !strings.Contains(errOut, "403") {
			t.Errorf("list as administrator: exit %d: %s", code, errOut)
		}
	})
}

// privacyVendorSource is a vendor API data source of component naming
// the credential ref.
func privacyVendorSource(component, ref string) privacy.Source {
	return privacy.Source{ID: 1, Name: "cli-source", Component: component, Connector: privacy.VendorAPI, CredentialRef: ref}
}
