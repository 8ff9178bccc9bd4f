package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
)

// TestLoadDemoCases loads the demo's organization and cases, checks that
// each case is where the demo says, and then drives the "probity case"
// commands against the running server as an analyst, an auditor and a
// supervisor.
func TestLoadDemoCases(t *testing.T) {
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
	before := mustSize(t, srv)
	if err := loadDemoCases(ctx, srv); err != nil {
		t.Fatal(err)
	}
	principal := func(id string) auth.Principal {
		p, err := srv.Identity.PersonByEmployeeID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		grants, err := srv.Identity.Grants(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		return identity.Principal(p, grants)
	}

	t.Run("OKCases", func(t *testing.T) {
		list, err := srv.Cases.List(ctx, principal("dept-auditor"), store.CaseFilter{})
		if err != nil {
			t.Fatal(err)
		}
		type summary struct {
			status  cases.Status
			hold    bool
			members []string
			refs    int
		}
		got := map[string]summary{}
		for _, c := range list {
			got[c.Number] = summary{c.Status, c.EvidenceHold, c.MemberIDs(), len(c.LegalRefs(time.Now()))}
		}
		want := map[string]summary{
			"CBP-2026-0142":  {cases.Open, false, []string{"cbp-analyst1", "cbp-sup"}, 1},
			"CBP-2025-0097":  {cases.Closed, true, []string{"cbp-analyst2"}, 1},
			"ICE-2026-0031":  {cases.Suspended, false, []string{"ice-analyst1", "ice-analyst2"}, 1},
			"USSS-2026-0007": {cases.Open, false, []string{"usss-analyst1", "usss-sup"}, 0},
		}
		if len(got) != len(want) {
			t.Fatalf("the demo has cases %v", got)
		}
		for n, w := range want {
			g := got[n]
			if g.status != w.status || g.hold != w.hold || !slices.Equal(g.members, w.members) || g.refs != w.refs {
				t.Errorf("%s: %+v, want %+v", n, g, w)
			}
		}
		// The query path reads the open CBP case with its court order in
		// force and its expired warrant not.
		err = srv.DB.Update(ctx, func(tx *store.Tx) error {
			c, err := srv.Cases.ForQuery(ctx, tx, "CBP-2026-0142")
			if err != nil {
				return err
			}
			if refs := c.LegalRefs(tx.Now); !slices.Equal(refs, []string{"5:26-mj-00142 (S.D. Tex.)"}) {
				t.Errorf("legal process in force: %v", refs)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// The demo's history is in the ledger.
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
		for _, typ := range []string{"case.opened", "case.member_added", "case.legal_process_added", "case.evidence_hold_set", "case.closed", "case.suspended"} {
			if !slices.Contains(types, typ) {
				t.Errorf("the demo recorded no %s", typ)
			}
		}
	})

	// Serve, and sign in people with tokens, as "probity login" would.
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
		pr := principal(id)
		var scopes []auth.Permission
		for _, g := range pr.Grants {
			scopes = append(scopes, auth.PermissionsOf(g.Role)...)
		}
		tok, secret, err := srv.Identity.CreateToken(ctx, pr, "case test", scopes, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), id+".json")
		if err := writeCredentials(path, credentialsFile{Servers: map[string]storedCredential{normalizeServer(srv.URL): {Token: secret, TokenID: tok.ID, EmployeeID: id, ExpiresAt: tok.ExpiresAt}}}); err != nil {
			t.Fatal(err)
		}
		return map[string]string{"PROBITY_CREDENTIALS": path, "PROBITY_URL": srv.URL}
	}
	asAnalyst, asAuditor, asHead, asSup := login("cbp-analyst1"), login("dept-auditor"), login("cbp-head"), login("cbp-sup")
	run := func(env map[string]string, args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := Main(ctx, append([]string{"case"}, args...), func(k string) string { return env[k] }, &out, &errb)
		return out.String(), errb.String(), code
	}
	mustRun := func(t *testing.T, env map[string]string, wantCode int, args ...string) string {
		t.Helper()
		out, errOut, code := run(env, args...)
		if code != wantCode {
			t.Fatalf("probity case %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, wantCode, out, errOut)
		}
		return out + errOut
	}

	t.Run("OKRead", func(t *testing.T) {
		// An analyst sees the cases they are a member of, and nothing else.
		out := mustRun(t, asAnalyst, 0, "list")
		if n := strings.Count(out, "\n"); n != 2 || !regexp.MustCompile(`CBP-2026-0142 +OPEN +Human smuggling network, Laredo sector +cbp-analyst1, cbp-sup +1\n`).MatchString(out) {
			t.Errorf("the analyst's list:\n%s", out)
		}
		out = mustRun(t, asAnalyst, 1, "show", "CBP-2025-0097")
		if !strings.Contains(out, "server answered 404: there is no case CBP-2025-0097") {
			t.Errorf("the analyst reads another case: %s", out)
		}
		out = mustRun(t, asAnalyst, 0, "show", "cbp-2026-0142")
		for _, want := range []string{"Case CBP-2026-0142: Human smuggling network, Laredo sector", "status     OPEN", "authority  8 U.S.C. 1324",
			"cbp-analyst1", "added", "by cbp-head", "court order", "5:26-mj-00142 (S.D. Tex.)", "in force", "NOT IN FORCE", "opened"} {
			if !strings.Contains(out, want) {
				t.Errorf("probity case show does not say %q:\n%s", want, out)
			}
		}
		// The auditor sees every case.
		out = mustRun(t, asAuditor, 0, "list")
		for _, want := range []string{`CBP-2025-0097 +CLOSED, EVIDENCE HOLD +Counterfeit electronics`, `CBP-2026-0142 +OPEN +Human`, `ICE-2026-0031 +SUSPENDED`, `USSS-2026-0007 +OPEN`} {
			if !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("the auditor's list does not say %q:\n%s", want, out)
			}
		}
		out = mustRun(t, asAuditor, 0, "list", "-status", "suspended", "-json")
		var resp struct {
			Cases []struct {
				Number string `json:"number"`
			} `json:"cases"`
		}
		if err := json.Unmarshal([]byte(out), &resp); err != nil || len(resp.Cases) != 1 || resp.Cases[0].Number != "ICE-2026-0031" {
			t.Errorf("list -status suspended -json: %v\n%s", err, out)
		}
		out = mustRun(t, asAuditor, 0, "show", "CBP-2025-0097")
		if !strings.Contains(out, "hold       set") || !strings.Contains(out, "Litigation hold") || !strings.Contains(out, "open → closed") {
			t.Errorf("the closed case:\n%s", out)
		}
	})

	t.Run("OKManage", func(t *testing.T) {
		before := mustSize(t, srv)
		out := mustRun(t, asHead, 0, "create", "-number", "CBP-2026-0150", "-title", "Cargo theft ring", "-authority", "18 U.S.C. 659",
			"-predicate", "Three trailers of electronics stolen from one rail yard within two weeks.", "-member", "cbp-analyst2")
		if !strings.Contains(out, "opened case CBP-2026-0150: OPEN; members cbp-analyst2") {
			t.Errorf("create: %s", out)
		}
		for _, step := range []struct {
			args []string
			want string
		}{
			{[]string{"add-member", "CBP-2026-0150", "cbp-sup"}, "cbp-sup added to case CBP-2026-0150: OPEN; members cbp-analyst2, cbp-sup"},
			{[]string{"remove-member", "CBP-2026-0150", "cbp-analyst2"}, "cbp-analyst2 removed from case CBP-2026-0150: OPEN; members cbp-sup"},
			{[]string{"add-legal-process", "CBP-2026-0150", "-kind", "warrant", "-reference", "W-0150", "-issued", time.Now().UTC().Format(time.DateOnly)}, "legal process in force: W-0150"},
			{[]string{"suspend", "CBP-2026-0150", "-reason", "Waiting for the railroad's records."}, "suspended case CBP-2026-0150: SUSPENDED"},
			{[]string{"reopen", "CBP-2026-0150", "-reason", "Records received."}, "reopened case CBP-2026-0150: OPEN"},
			{[]string{"hold", "CBP-2026-0150", "-reason", "Civil suit expected."}, "evidence hold set on case CBP-2026-0150: OPEN, EVIDENCE HOLD"},
			{[]string{"release", "CBP-2026-0150", "-reason", "Suit settled."}, "evidence hold released on case CBP-2026-0150: OPEN;"},
			{[]string{"close", "CBP-2026-0150", "-reason", "Suspects arrested."}, "closed case CBP-2026-0150: CLOSED"},
		} {
			if out := mustRun(t, asHead, 0, step.args...); !strings.Contains(out, step.want) {
				t.Errorf("probity case %v: %s", step.args, out)
			}
		}
		if grew := mustSize(t, srv) - before; grew != 10 {
			t.Errorf("the commands added %d ledger entries, want 10", grew)
		}
	})

	t.Run("ErrRefused", func(t *testing.T) {
		before := mustSize(t, srv)
		for _, c := range []struct {
			env  map[string]string
			args []string
			want string
		}{
			{asSup, []string{"add-member", "CBP-2026-0142", "cbp-sup"}, "nobody adds themselves to a case"},
			{asAnalyst, []string{"suspend", "CBP-2026-0142", "-reason", "mine now"}, "server answered 403"},
			{asHead, []string{"reopen", "CBP-2025-0097", "-reason", "new leads"}, "a closed case stays closed"},
			{asHead, []string{"create", "-number", "ICE-2026-0099", "-title", "T", "-authority", "A", "-predicate", "Twenty characters or more."}, "your role does not allow opening cases in ICE"},
			{asHead, []string{"add-legal-process", "CBP-2026-0142", "-kind", "letter", "-reference", "L", "-issued", "2026-01-02"}, "warrant, court_order or subpoena"},
		} {
			if out := mustRun(t, c.env, 1, c.args...); !strings.Contains(out, c.want) {
				t.Errorf("probity case %v: %s", c.args, out)
			}
		}
		if grew := mustSize(t, srv) - before; grew != 0 {
			t.Errorf("refused commands added %d ledger entries", grew)
		}
	})

	t.Run("ErrUsage", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"show"}, "give the case number: probity case show NUMBER"},
			{[]string{"add-member", "CBP-2026-0142"}, "give the case number and the employee ID"},
			{[]string{"show", "CBP-26-1"}, `case number "CBP-26-1" must give the year`},
			{[]string{"suspend", "CBP-2026-0142"}, "give the reason"},
			{[]string{"list", "extra"}, "takes no arguments"},
			{[]string{"create", "-number", "CBP-2026-0151"}, "give the number, title, authority and predicate"},
			{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		} {
			out, errOut, code := run(asHead, c.args...)
			if code != 2 || !strings.Contains(out+errOut, c.want) {
				t.Errorf("probity case %v: exit %d: %s%s", c.args, code, out, errOut)
			}
		}
		out, errOut, code := run(map[string]string{"PROBITY_URL": srv.URL, "PROBITY_CREDENTIALS": filepath.Join(t.TempDir(), "none.json")}, "list")
		if code != 1 || !strings.Contains(errOut, "you are not signed in to") {
			t.Errorf("without a token: exit %d: %s%s", code, out, errOut)
		}
	})
}
