package app_test

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/probity-dev/probity/internal/store"
)

// enrolAuditor creates an active department auditor and returns the TOTP
// secret; the enrolment uses the previous time step's code, so the current
// one is free for signing in.
func enrolAuditor(t *testing.T, ts *testServer, employeeID string) string {
	t.Helper()
	ctx := context.Background()
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	p, link, err := ts.Identity.Invite(ctx, admin, identity.Person{EmployeeID: employeeID, Name: "Jesse Abernathy", Email: employeeID + "@example.gov", Schedule: identity.DefaultSchedule()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Identity.GrantRole(ctx, admin, identity.Grant{PersonID: p.ID, Role: auth.Auditor}); err != nil {
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

func TestLogin(t *testing.T) {
	cfg := testConfig(t, store.SQLite)
	cfg.AdminToken, cfg.AuditorToken = "", "" // remote commands must use the stored token
	ts := startServer(t, cfg)
	putSettingsAs(t, ts, 3)
	secret := enrolAuditor(t, ts, "auditor7")
	creds := filepath.Join(t.TempDir(), "conf", "probity", "credentials.json")
	env := map[string]string{"PROBITY_CREDENTIALS": creds}
	login := func(password, code string) (string, string, int) {
		var out, errb bytes.Buffer
		stdin := strings.NewReader("auditor7\n" + password + "\n" + code + "\n")
		n := app.MainIO(context.Background(), []string{"login", "-url", ts.URL, "-name", "test laptop", "-days", "7"}, func(k string) string { return env[k] }, stdin, &out, &errb)
		return out.String(), errb.String(), n
	}

	t.Run("ErrWrongPassword", func(t *testing.T) {
		code, _ := authn.TOTPCode(secret, time.Now())
		_, errOut, n := login("not the password at all", code)
		if n != 1 || !strings.Contains(errOut, "not correct") {
			t.Fatalf("exit %d: %s", n, errOut)
		}
		if _, err := os.Stat(creds); err == nil {
			t.Fatal("a credentials file was written after a failed sign-in")
		}
	})
	code, _ := authn.TOTPCode(secret, time.Now())
	out, errOut, n := login("tulip orbit granite seven", code)
	if n != 0 || !strings.Contains(out, "signed in to") {
		t.Fatalf("login: exit %d\n%s%s", n, out, errOut)
	}
	st, err := os.Stat(creds)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", st, err)
	}
	if dir, _ := os.Stat(filepath.Dir(creds)); dir.Mode().Perm() != 0o700 {
		t.Fatalf("credentials directory mode %v", dir.Mode().Perm())
	}
	b, _ := os.ReadFile(creds)
	var file struct {
		Servers map[string]struct{ Token string }
	}
	json.Unmarshal(b, &file)
	token := file.Servers[ts.URL].Token
	if !strings.HasPrefix(token, store.TokenPrefix) {
		t.Fatalf("stored token %q", token)
	}
	if strings.Contains(errOut+out, "tulip") || strings.Contains(errOut+out, token) {
		t.Fatal("the password or the token was printed")
	}

	t.Run("ErrReplayedCode", func(t *testing.T) {
		_, errOut, n := login("tulip orbit granite seven", code)
		if n != 1 || !strings.Contains(errOut, "already used") {
			t.Fatalf("exit %d: %s", n, errOut)
		}
	})
	t.Run("StoredTokenUsed", func(t *testing.T) {
		out, errOut, n := runCLI(t, env, "ledger", "verify", "-url", ts.URL, "-key", ts.Ledger.KnownKeys()[0], "-json")
		var rep struct {
			OK             bool `json:"ok"`
			EntriesChecked bool `json:"entries_checked"`
		}
		if n != 0 || json.Unmarshal([]byte(out), &rep) != nil || !rep.OK || !rep.EntriesChecked {
			t.Fatalf("verify with the stored token: exit %d\n%s%s", n, out, errOut)
		}
	})
	t.Run("Logout", func(t *testing.T) {
		out, errOut, n := runCLI(t, env, "logout", "-url", ts.URL)
		if n != 0 || !strings.Contains(out, "revoked") {
			t.Fatalf("logout: exit %d\n%s%s", n, out, errOut)
		}
		if status, _ := ts.do(t, "GET", "/api/v1/me", token, ""); status != 401 {
			t.Fatalf("the revoked token still works: %d", status)
		}
		_, errOut, n = runCLI(t, env, "logout", "-url", ts.URL)
		if n != 1 || !strings.Contains(errOut, "not signed in") {
			t.Fatalf("second logout: exit %d: %s", n, errOut)
		}
	})
}

// putSettingsAs makes n audited writes with the bootstrap admin token when
// one is configured, else directly through the service.
func putSettingsAs(t *testing.T, ts *testServer, n int) {
	t.Helper()
	admin := ledger.Actor{Kind: ledger.ActorToken, ID: "test-admin"}
	for i := range n {
		if _, _, err := ts.Settings.Set(context.Background(), admin, "result_retention_days", json.RawMessage(strings.Repeat("1", 1+i%3))); err != nil {
			t.Fatal(err)
		}
	}
}
