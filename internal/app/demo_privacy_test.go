package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
)

// TestLoadDemoPrivacy loads the demo's organization and privacy program,
// checks that each data source's gate shows its case, and then drives the
// "probity pia" commands against the running server, as an auditor and as
// the Chief Privacy Officer.
func TestLoadDemoPrivacy(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
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
	before, _ := srv.Ledger.Size(ctx)
	if err := loadDemoPrivacy(ctx, srv); err != nil {
		t.Fatal(err)
	}
	principal := func(id string) (identity.Person, error) { return srv.Identity.PersonByEmployeeID(ctx, id) }
	auditorP, err := principal("dept-auditor")
	if err != nil {
		t.Fatal(err)
	}
	grants, _ := srv.Identity.Grants(ctx, auditorP.ID)
	auditor := identity.Principal(auditorP, grants)

	t.Run("OKGates", func(t *testing.T) {
		gates, err := srv.Privacy.GateStatuses(ctx, auditor, "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for _, g := range gates {
			got[g.SourceName] = g.Codes()
		}
		want := map[string][]string{
			"venntel-cbp":      {},
			"fog-cbp":          {privacy.PIAUpdateRequired},
			"locate-x-ice":     {privacy.PIAExpired},
			"local-usss":       {privacy.PIAMissing},
			"anomaly-six-usss": {privacy.PIANotApproved},
			"city-cbp":         {},
		}
		if len(got) != len(want) {
			t.Fatalf("gates %v", got)
		}
		for name, codes := range want {
			if !slices.Equal(got[name], codes) {
				t.Errorf("%s: missing %v, want %v", name, got[name], codes)
			}
		}
		// The demo's history is in the ledger: the workflow, the update,
		// the prior approval and the refused self-review.
		var types []string
		for r, err := range srv.Ledger.Rows(ctx, before, mustSize(t, srv)) {
			if err != nil {
				t.Fatal(err)
			}
			e, err := ledger.Decode(r.Entry)
			if err != nil {
				t.Fatal(err)
			}
			types = append(types, e.Type)
		}
		for _, typ := range []string{"inventory.system_created", "inventory.source_created", "pta.recorded", "pia.created", "pia.submitted", "pia.reviewed",
			"pia.approved", "pia.published", "pia.update_required", "pia.prior_approval_recorded", "pia.returned", "pia.edited", "pia.step_refused", "pcr.assigned"} {
			if !slices.Contains(types, typ) {
				t.Errorf("the demo recorded no %s", typ)
			}
		}
	})

	// Serve, and sign in two people with tokens, as "probity login" would.
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	login := func(id string) map[string]string {
		p, err := principal(id)
		if err != nil {
			t.Fatal(err)
		}
		grants, _ := srv.Identity.Grants(ctx, p.ID)
		pr := identity.Principal(p, grants)
		var scopes []auth.Permission
		for _, g := range pr.Grants {
			scopes = append(scopes, auth.PermissionsOf(g.Role)...)
		}
		tok, secret, err := srv.Identity.CreateToken(ctx, pr, "pia test", scopes, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), id+".json")
		if err := writeCredentials(path, credentialsFile{Servers: map[string]storedCredential{normalizeServer(srv.URL): {Token: secret, TokenID: tok.ID, EmployeeID: id, ExpiresAt: tok.ExpiresAt}}}); err != nil {
			t.Fatal(err)
		}
		return map[string]string{"PROBITY_CREDENTIALS": path, "PROBITY_URL": srv.URL}
	}
	asAuditor, asCPO := login("dept-auditor"), login("dept-privacy")
	run := func(env map[string]string, args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := Main(ctx, append([]string{"pia"}, args...), func(k string) string { return env[k] }, &out, &errb)
		return out.String(), errb.String(), code
	}
	mustRun := func(t *testing.T, env map[string]string, wantCode int, args ...string) string {
		t.Helper()
		out, errOut, code := run(env, args...)
		if code != wantCode {
			t.Fatalf("probity pia %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, wantCode, out, errOut)
		}
		return out + errOut
	}
	piaOf := func(source string) string {
		for _, g := range mustGates(t, srv, auditor) {
			if g.SourceName == source {
				return strconv.FormatInt(g.PIAID, 10)
			}
		}
		t.Fatalf("no PIA of %s", source)
		return ""
	}

	t.Run("OKGateCommand", func(t *testing.T) {
		out := mustRun(t, asAuditor, 0, "gate")
		for _, want := range []string{"venntel-cbp (CBP): USABLE — PIA in force until", "fog-cbp (CBP): CLOSED — 1 missing", "[pia_update_required]",
			"locate-x-ice (ICE): CLOSED", "expired on 2024-06-15", "local-usss (USSS): CLOSED", "[pia_missing]", "Emerson Tanaka (ice-privacy, component privacy officer)"} {
			if !strings.Contains(out, want) {
				t.Errorf("probity pia gate does not say %q:\n%s", want, out)
			}
		}
		mustRun(t, asAuditor, 0, "gate", "venntel-cbp")
		out = mustRun(t, asAuditor, 1, "gate", "local-usss")
		// Who can write the PIA: the USSS security officer and privacy
		// officer, by name.
		if !strings.Contains(out, "Alexis Romero (usss-isso, security officer)") || !strings.Contains(out, "Finley O'Connor (usss-privacy, component privacy officer)") {
			t.Errorf("the refusal does not name who can fix it:\n%s", out)
		}
		out = mustRun(t, asAuditor, 1, "gate", "no-such-source")
		if !strings.Contains(out, `there is no data source "no-such-source" that you may see`) {
			t.Errorf("an unknown source: %s", out)
		}
		if out := mustRun(t, asAuditor, 1, "gate", "-json", "fog-cbp"); !strings.Contains(out, `"code": "pia_update_required"`) {
			t.Errorf("-json: %s", out)
		}
	})

	t.Run("OKListShowDiff", func(t *testing.T) {
		out := mustRun(t, asAuditor, 0, "list")
		if n := strings.Count(out, "\n"); n != 6 || !strings.Contains(out, "EXPIRED 2024-06-15") || !strings.Contains(out, "UPDATE REQUIRED (categories changed)") {
			t.Errorf("probity pia list:\n%s", out)
		}
		id := piaOf("anomaly-six-usss")
		out = mustRun(t, asAuditor, 0, "show", id)
		for _, want := range []string{"status      accepted, latest version 2", "REFUSED: only a component privacy officer", "return", "Retention: name the approved records schedule"} {
			if !strings.Contains(out, want) {
				t.Errorf("probity pia show does not say %q:\n%s", want, out)
			}
		}
		out = mustRun(t, asAuditor, 0, "diff", id, "1", "2")
		if !strings.Contains(out, "@@ retention (changed)\n-Results are kept for 90 days unless a case places them on evidence hold.\n+") || strings.Contains(out, "@@ overview") {
			t.Errorf("probity pia diff:\n%s", out)
		}
	})

	t.Run("OKSteps", func(t *testing.T) {
		id := piaOf("anomaly-six-usss")
		// The auditor may read but not approve: refused by the server.
		out := mustRun(t, asAuditor, 1, "approve", id)
		if !strings.Contains(out, "server answered 403: only a department privacy officer") {
			t.Errorf("the auditor approves: %s", out)
		}
		if out := mustRun(t, asCPO, 0, "approve", id, "-comments", "Approved for two years of use."); !strings.Contains(out, "is approved") {
			t.Errorf("approve: %s", out)
		}
		mustRun(t, asCPO, 1, "gate", "anomaly-six-usss")
		if out := mustRun(t, asCPO, 0, "publish", id); !strings.Contains(out, "is published") || !strings.Contains(out, "in force: v2 until") {
			t.Errorf("publish: %s", out)
		}
		mustRun(t, asCPO, 0, "gate", "anomaly-six-usss")
		if out := mustRun(t, asCPO, 1, "return", id, "-comments", "Too late to return this."); !strings.Contains(out, "cannot be returned") {
			t.Errorf("return a published PIA: %s", out)
		}
	})

	t.Run("ErrUsage", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"diff", "1", "2"}, "give the PIA and two versions"},
			{[]string{"show"}, "give the PIA's ID"},
			{[]string{"approve", "x"}, "the PIA's ID is a positive whole number"},
			{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		} {
			out, errOut, code := run(asAuditor, c.args...)
			if code != 2 || !strings.Contains(out+errOut, c.want) {
				t.Errorf("probity pia %v: exit %d: %s%s", c.args, code, out, errOut)
			}
		}
		out, errOut, code := run(map[string]string{"PROBITY_URL": srv.URL, "PROBITY_CREDENTIALS": filepath.Join(t.TempDir(), "none.json")}, "list")
		if code != 1 || !strings.Contains(errOut, "you are not signed in to") {
			t.Errorf("without a token: exit %d: %s%s", code, out, errOut)
		}
	})

	t.Run("OKCheck", func(t *testing.T) {
		dir := t.TempDir()
		write := func(name, content string) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}
		complete := write("complete.json", string(demoPIA(privacy.Source{Title: "T", Vendor: "V", ContractNumber: "C"}, "").Encode()))
		if out := mustRun(t, nil, 0, "check", complete); !strings.Contains(out, "complete; ready to submit") {
			t.Errorf("check a complete PIA: %s", out)
		}
		out := mustRun(t, nil, 1, "check", write("draft.json", `{"overview":"Started.","risks":[{"section":"uses","description":"Misuse of locations."}]}`))
		for _, want := range []string{"a valid draft, not yet ready to submit", "overview must be at least 40 characters", "risks[0].mitigation is required"} {
			if !strings.Contains(out, want) {
				t.Errorf("check a draft does not say %q:\n%s", want, out)
			}
		}
		out = mustRun(t, nil, 1, "check", write("bad.json", `{"overveiw":"typo"}`))
		if !strings.Contains(out, `document has an unknown field "overveiw"`) {
			t.Errorf("check a bad document: %s", out)
		}
	})
}

func mustSize(t *testing.T, srv *Server) int64 {
	t.Helper()
	n, err := srv.Ledger.Size(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustGates(t *testing.T, srv *Server, by auth.Principal) []privacy.GateStatus {
	t.Helper()
	gates, err := srv.Privacy.GateStatuses(context.Background(), by, "")
	if err != nil {
		t.Fatal(err)
	}
	return gates
}
