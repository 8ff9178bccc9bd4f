package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/app"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// The answers to refused credentials and sign-ins.
const (
	msgSignIn     = "the employee ID or password is not correct, or this account cannot sign in"
	msgCode       = "the code is not correct"
	msgReplayed   = "this code was already used; wait for the next one"
	msgCredential = "your credential is not valid, has expired or was revoked; sign in again"
	msgPending    = "the sign-in has expired; start again"
	msgLockedOut  = "too many failed attempts; try again in 15 minutes"
)

// An org is the people every identity scenario may call on, signed in.
type org struct {
	admin  *person // administrator, department-wide
	cpo    *person // component privacy officer in CBP
	iceCPO *person // component privacy officer in ICE
	dpo    *person // department privacy officer
}

func mustOrg(t *testing.T, ts *testServer) *org {
	t.Helper()
	for _, c := range []string{"CBP", "ICE"} {
		ts.mustJSON(t, request{method: "POST", path: "/api/v1/components", auth: bearer(adminToken), body: fmt.Sprintf(`{"code":%q,"name":"%s"}`, c, c)}, http.StatusCreated, &struct{}{})
	}
	return &org{
		admin:  ts.mustPerson(t, invitation{label: "admin"}, auth.Grant{Role: auth.Administrator}),
		cpo:    ts.mustPerson(t, invitation{label: "cbp-cpo", component: "CBP"}, auth.Grant{Role: auth.ComponentPrivacyOfficer, Component: "CBP"}),
		iceCPO: ts.mustPerson(t, invitation{label: "ice-cpo", component: "ICE"}, auth.Grant{Role: auth.ComponentPrivacyOfficer, Component: "ICE"}),
		dpo:    ts.mustPerson(t, invitation{label: "dpo"}, auth.Grant{Role: auth.DepartmentPrivacyOfficer}),
	}
}

// mustAnalyst invites a CBP analyst, enrols them, and signs them in when
// signIn is set.
func (ts *testServer) mustAnalyst(t *testing.T, label string, signIn bool) *person {
	t.Helper()
	p, secret := ts.mustInvite(t, invitation{label: label, component: "CBP"})
	ts.mustGrant(t, p.ID, auth.Analyst, "CBP")
	ts.mustEnrol(t, p, secret)
	if signIn {
		ts.mustSignIn(t, p, request{header: map[string]string{"User-Agent": matrixAgent}})
	}
	return p
}

// A personState is what a refused attempt must leave as it was.
type personState struct {
	status                                           string
	lastSignIn                                       time.Time
	liveSessions, totpStep, recoveryLeft, liveTokens int64
}

func (ts *testServer) stateOf(t *testing.T, p *person) personState {
	t.Helper()
	who, err := ts.Identity.PersonByEmployeeID(context.Background(), p.EmployeeID)
	if err != nil {
		t.Fatal(err)
	}
	return personState{
		status:       string(who.Status),
		lastSignIn:   who.LastSignIn,
		liveSessions: ts.mustQueryInt(t, `SELECT COUNT(*) FROM sessions WHERE person_id = $1 AND ended_at IS NULL`, p.ID),
		totpStep:     ts.mustQueryInt(t, `SELECT totp_last_step FROM people WHERE id = $1`, p.ID),
		recoveryLeft: ts.mustQueryInt(t, `SELECT COUNT(*) FROM recovery_codes WHERE person_id = $1 AND used_at IS NULL`, p.ID),
		liveTokens:   ts.mustQueryInt(t, `SELECT COUNT(*) FROM api_tokens WHERE person_id = $1 AND revoked_at IS NULL`, p.ID),
	}
}

// mustOneEntry checks that exactly one ledger entry was added since before,
// of the given type, and returns it.
func (ts *testServer) mustOneEntry(t *testing.T, before int64, typ string) entry {
	t.Helper()
	es := ts.entriesSince(t, before)
	if len(es) != 1 || es[0].Type != typ {
		t.Fatalf("ledger entries added: %v, want one %s", types(es), typ)
	}
	return es[0]
}

// mustRefusal checks that the only entry added since before records a
// refusal for the given reason, from 127.0.0.1.
func (ts *testServer) mustRefusal(t *testing.T, before int64, reason string) entry {
	t.Helper()
	e := ts.mustOneEntry(t, before, "auth.sign_in_refused")
	if e.Data["reason"] != reason || e.Data["addr"] != "127.0.0.1" {
		t.Errorf("refusal recorded with reason %v from %v, want %s from 127.0.0.1: %s", e.Data["reason"], e.Data["addr"], reason, e.raw)
	}
	return e
}

// tokenRequest is POST /api/v1/auth/token.
func tokenRequest(account, password, code string) request {
	return request{method: "POST", path: "/api/v1/auth/token",
		body: fmt.Sprintf(`{"employee_id":%q,"password":%q,"code":%q,"name":"cli"}`, account, password, code)}
}

// errorMessage returns the message of a JSON error answer.
func errorMessage(t *testing.T, r response) string {
	t.Helper()
	code := map[int]string{400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 409: "conflict", 429: "rate_limited"}[r.status]
	return checkJSONError(t, r, code)
}

// mustStatus checks an answer's status and what it says: a JSON error's
// message starts with message; a page contains it.
func mustStatus(t *testing.T, label string, r response, status int, message string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", label, r.status, status, r.body)
	}
	if message == "" {
		return
	}
	if strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		if got := errorMessage(t, r); !strings.HasPrefix(got, message) {
			t.Errorf("%s: message %q, want %q", label, got, message)
		}
	} else if !strings.Contains(string(r.body), message) {
		t.Errorf("%s: the page does not say %q:\n%s", label, message, r.body)
	}
}

func TestIdentity(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			ts := mustStartServer(t, d)
			o := mustOrg(t, ts)
			t.Run("Enrolment", func(t *testing.T) { testEnrolment(t, ts) })
			t.Run("SignIn", func(t *testing.T) { testSignIn(t, ts) })
			t.Run("Refusals", func(t *testing.T) { testRefusals(t, ts, o) })
			t.Run("AccountThrottle", func(t *testing.T) { testAccountThrottle(t, ts) })
			t.Run("Tokens", func(t *testing.T) { testTokens(t, ts, o) })
			t.Run("Lock", func(t *testing.T) { testLock(t, ts, o) })
			t.Run("SeparationOfDuties", func(t *testing.T) { testSeparationOfDuties(t, ts, o) })
			t.Run("SignOutEverywhere", func(t *testing.T) { testSignOutEverywhere(t, ts) })
			t.Run("PasswordChange", func(t *testing.T) { testPasswordChange(t, ts) })
			t.Run("SharedUse", func(t *testing.T) { testSharedUse(t, ts, o) })
			t.Run("RulesOfBehavior", func(t *testing.T) { testRulesOfBehavior(t, ts, o) })
			t.Run("Training", func(t *testing.T) { testTraining(t, ts, o) })
			t.Run("Inactivity", func(t *testing.T) { testInactivity(t, ts, o) })
		})
	}
}

func testEnrolment(t *testing.T, ts *testServer) {
	x, secret := ts.mustInvite(t, invitation{label: "enrolling", component: "CBP"})
	y, other := ts.mustInvite(t, invitation{label: "other", component: "CBP"})
	form := ts.mustEnrolForm(t, secret)
	otherForm := ts.mustEnrolForm(t, other)
	y.TOTP = otherForm.Secret
	x.TOTP = form.Secret
	altered := []byte(form.Sealed)
	if altered[len(altered)/2] == 'A' {
		altered[len(altered)/2] = 'B'
	} else {
		altered[len(altered)/2] = 'A'
	}
	statusOf := func() string {
		var p struct {
			Status string `json:"status"`
		}
		ts.mustJSON(t, request{method: "GET", path: fmt.Sprintf("/api/v1/people/%d", x.ID), auth: bearer(adminToken)}, allow, &p)
		return p.Status
	}

	t.Run("ErrBadForm", func(t *testing.T) {
		for _, c := range []struct {
			name                      string
			password, password2, code string
			sealed                    string
			message                   string
		}{
			{name: "ErrShortPassword", password: "short pass", code: "valid", sealed: form.Sealed, message: "the password must be at least 12 characters long"},
			{name: "ErrOwnEmployeeID", password: "my id is " + x.EmployeeID, code: "valid", sealed: form.Sealed, message: "the password must not contain your name, email or employee ID"},
			{name: "ErrBlocklisted", password: "PasswordPassword", code: "valid", sealed: form.Sealed, message: "this password is too common or is known to have been exposed; choose another"},
			{name: "ErrOneCharacter", password: "zzzzzzzzzzzzzzzz", code: "valid", sealed: form.Sealed, message: "the password must not be one character repeated"},
			{name: "ErrPasswordsDiffer", password: x.Password, password2: x.Password + "!", code: "valid", sealed: form.Sealed, message: "the two passwords are not the same"},
			{name: "ErrWrongCode", password: x.Password, code: "other", sealed: form.Sealed, message: "the code from your authenticator app is not correct"},
			{name: "ErrNoCode", password: x.Password, code: "", sealed: form.Sealed, message: "the code from your authenticator app is not correct"},
			{name: "ErrAlteredSecret", password: x.Password, code: "valid", sealed: string(altered), message: "the enrolment form was altered; start again from the link"},
			// A secret sealed for another link does not open with this one:
			// nobody enrols an authenticator they chose.
			{name: "ErrSecretOfAnotherLink", password: x.Password, code: "other", sealed: otherForm.Sealed, message: "the enrolment form was altered; start again from the link"},
			{name: "ErrNoSecret", password: x.Password, code: "valid", sealed: "", message: "the enrolment form was altered; start again from the link"},
		} {
			t.Run(c.name, func(t *testing.T) {
				code := "000000"
				switch c.code {
				case "valid":
					code = x.nextCode(t)
					x.lastStep-- // a refused enrolment consumes nothing
				case "other":
					code = y.nextCode(t)
					y.lastStep--
				case "":
					code = ""
				}
				if c.password2 == "" {
					c.password2 = c.password
				}
				before := ts.ledgerSize(t)
				r := ts.postForm(t, "/enroll/"+secret, url.Values{"password": {c.password}, "password2": {c.password2}, "sealed": {c.sealed}, "code": {code}}, request{})
				mustStatus(t, c.name, r, http.StatusBadRequest, c.message)
				if strings.Contains(string(r.body), c.password) && c.password != "" {
					t.Error("the page shows the password back")
				}
				// The form comes back with the same authenticator key, so that
				// the app entry already made still works.
				if k := keyText.FindSubmatch(r.body); c.sealed == form.Sealed && (k == nil || string(k[1]) != form.Secret) {
					t.Errorf("the form came back with another key")
				}
				if grew := ts.ledgerSize(t) - before; grew != 0 {
					t.Errorf("the ledger grew by %d", grew)
				}
				if s := statusOf(); s != "invited" {
					t.Errorf("the account is %s", s)
				}
			})
		}
	})

	t.Run("OK", func(t *testing.T) {
		before := ts.ledgerSize(t)
		ts.mustEnrol(t, x, secret)
		e := ts.mustOneEntry(t, before, "identity.account_activated")
		if e.Actor.ID != x.EmployeeID || e.Subject != fmt.Sprintf("person/%d", x.ID) || e.Data["mfa"] != "totp" {
			t.Errorf("activation recorded as %s", e.raw)
		}
		if strings.Contains(e.raw, x.Password) || strings.Contains(e.raw, x.TOTP) || strings.Contains(e.raw, x.Recovery[0]) {
			t.Errorf("the ledger entry holds a secret: %s", e.raw)
		}
		if s := statusOf(); s != "active" {
			t.Errorf("the account is %s", s)
		}
		// Nothing secret is stored in the clear.
		for _, q := range []string{
			`SELECT COUNT(*) FROM people WHERE password_hash LIKE '$argon2id$%' AND id = $1`,
			`SELECT COUNT(*) FROM recovery_codes WHERE person_id = $1`,
		} {
			if n := ts.mustQueryInt(t, q, x.ID); n == 0 {
				t.Errorf("%s: %d", q, n)
			}
		}
		ts.mustNotStore(t, x.Password, x.TOTP, x.Recovery[0], secret)
	})

	t.Run("ErrReusedLink", func(t *testing.T) {
		before := ts.ledgerSize(t)
		mustStatus(t, "GET", ts.send(t, request{method: "GET", path: "/enroll/" + secret}), http.StatusNotFound,
			"this enrolment link is not valid: it may have expired or been used; ask your administrator for a new one")
		r := ts.postForm(t, "/enroll/"+secret, url.Values{"password": {"a brand new passphrase"}, "password2": {"a brand new passphrase"}, "sealed": {form.Sealed}, "code": {"000000"}}, request{})
		mustStatus(t, "POST", r, http.StatusNotFound, "this enrolment link is not valid")
		if grew := ts.ledgerSize(t) - before; grew != 0 {
			t.Errorf("the ledger grew by %d", grew)
		}
	})

	t.Run("ErrExpiredLink", func(t *testing.T) {
		z, zs := ts.mustInvite(t, invitation{label: "expiring", component: "CBP"})
		zf := ts.mustEnrolForm(t, zs)
		z.TOTP = zf.Secret
		ts.mustSQL(t, `UPDATE invitations SET expires_at = $1 WHERE person_id = $2`, time.Now().UTC().Add(-time.Second).Truncate(time.Microsecond), z.ID)
		mustStatus(t, "GET", ts.send(t, request{method: "GET", path: "/enroll/" + zs}), http.StatusNotFound, "this enrolment link is not valid")
		r := ts.postForm(t, "/enroll/"+zs, url.Values{"password": {z.Password}, "password2": {z.Password}, "sealed": {zf.Sealed}, "code": {z.nextCode(t)}}, request{})
		mustStatus(t, "POST", r, http.StatusNotFound, "this enrolment link is not valid")
		if st := ts.stateOf(t, z); st.status != "invited" {
			t.Errorf("the account is %s", st.status)
		}
	})

	t.Run("ErrReplacedLink", func(t *testing.T) {
		w, ws := ts.mustInvite(t, invitation{label: "reinvited", component: "CBP"})
		var resp struct {
			URL string `json:"enrolment_url"`
		}
		ts.mustJSON(t, request{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/invitation", w.ID), auth: bearer(adminToken)}, http.StatusCreated, &resp)
		mustStatus(t, "old link", ts.send(t, request{method: "GET", path: "/enroll/" + ws}), http.StatusNotFound, "this enrolment link is not valid")
		mustStatus(t, "new link", ts.send(t, request{method: "GET", path: strings.TrimPrefix(resp.URL, ts.Base)}), allow, "")
		// An activated account gets no new link.
		r := ts.send(t, request{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/invitation", x.ID), auth: bearer(adminToken)})
		mustStatus(t, "activated", r, http.StatusConflict, fmt.Sprintf("%s has already activated their account", x.Name))
	})
}

// mustNotStore checks that none of the secrets is stored in the clear: in
// the SQLite files, or in any text column of PostgreSQL's identity tables.
func (ts *testServer) mustNotStore(t *testing.T, secrets ...string) {
	t.Helper()
	ctx := context.Background()
	if ts.DB.Dialect() == store.SQLite {
		files, _ := filepath.Glob(filepath.Join(filepath.Dir(ts.dbPath(t)), "probity.db*"))
		if len(files) == 0 {
			t.Fatal("no database files")
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s holds the secret %q in the clear", filepath.Base(f), s)
				}
			}
		}
		return
	}
	for _, table := range []string{"people", "invitations", "recovery_codes", "sessions", "api_tokens", "ledger_entries", "ledger_pending"} {
		for _, s := range secrets {
			var n int
			err := ts.DB.View(ctx, func(tx *store.Tx) error {
				return tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+table+` t WHERE position($1 in row_to_json(t)::text) > 0`, s).Scan(&n)
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("table %s holds the secret %q in the clear", table, s)
			}
		}
	}
}

// dbPath returns the SQLite database file.
func (ts *testServer) dbPath(t *testing.T) string {
	t.Helper()
	s := ts.DB.String()
	if i := strings.Index(s, "probity.db"); i >= 0 {
		return s[:i+len("probity.db")]
	}
	t.Fatalf("cannot find the database file in %q", s)
	return ""
}

func testSignIn(t *testing.T, ts *testServer) {
	p, secret := ts.mustInvite(t, invitation{label: "signing-in", component: "CBP"})
	ts.mustGrant(t, p.ID, auth.Analyst, "CBP")
	ts.mustEnrol(t, p, secret)

	before := ts.ledgerSize(t)
	r := ts.signInPassword(t, p.EmployeeID, p.Password, request{})
	pending := cookieOf(r, authn.PendingCookie)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login/code" || pending == "" || cookieOf(r, authn.SessionCookie) != "" {
		t.Fatalf("password step: status %d, Location %q: %s", r.status, r.header.Get("Location"), r.body)
	}
	checkCookie(t, r, authn.PendingCookie)
	// The password alone signs nobody in: no ledger entry, and the pending
	// secret is no session.
	if grew := ts.ledgerSize(t) - before; grew != 0 {
		t.Errorf("the password step added %d ledger entries", grew)
	}
	mustStatus(t, "pending as a session", ts.send(t, request{method: "GET", path: "/api/v1/me", cookie: sessionCookie(pending)}), unauth, msgCredential)
	ts.mustRefusal(t, before, "ended_or_unknown_session")

	pendingCookie := authn.PendingCookie + "=" + pending
	mustStatus(t, "code page", ts.send(t, request{method: "GET", path: "/login/code", cookie: pendingCookie}), allow, "Enter your code")

	before = ts.ledgerSize(t)
	r = ts.postForm(t, "/login/code", url.Values{"code": {p.secondFactor(t)}}, request{cookie: pendingCookie})
	session := cookieOf(r, authn.SessionCookie)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" || session == "" {
		t.Fatalf("code step: status %d, Location %q: %s", r.status, r.header.Get("Location"), r.body)
	}
	checkCookie(t, r, authn.SessionCookie)
	if !slices.ContainsFunc((&http.Response{Header: r.header}).Cookies(), func(c *http.Cookie) bool { return c.Name == authn.PendingCookie && c.MaxAge < 0 }) {
		t.Error("the pending cookie is not deleted")
	}
	p.Cookie = session
	e := ts.mustOneEntry(t, before, "auth.signed_in")
	if e.Actor.ID != p.EmployeeID || e.Data["method"] != "password" || e.Data["second_factor"] != "totp" || e.Data["addr"] != "127.0.0.1" {
		t.Errorf("sign-in recorded as %s", e.raw)
	}
	if strings.Contains(e.raw, session) || strings.Contains(e.raw, pending) {
		t.Errorf("the ledger entry holds the session secret: %s", e.raw)
	}

	t.Run("OKSession", func(t *testing.T) {
		me := ts.mustMe(t, p)
		if me.Person.EmployeeID != p.EmployeeID || me.Person.Status != "active" || len(me.Person.Grants) != 1 || me.Person.Grants[0].Role != "analyst" {
			t.Errorf("GET /api/v1/me: %+v", me.Person)
		}
		mustStatus(t, "account page", ts.send(t, request{method: "GET", path: "/account", cookie: p.session()}), allow, p.Name)
		mustStatus(t, "home page", ts.send(t, request{method: "GET", path: "/", cookie: p.session()}), allow, p.Name)
		ts.mustNotStore(t, session)
	})

	t.Run("ErrRotated", func(t *testing.T) {
		// The sign-in replaced the pending session: its cookie no longer
		// works, and cannot be finished twice.
		r := ts.postForm(t, "/login/code", url.Values{"code": {"000000"}}, request{cookie: pendingCookie})
		mustStatus(t, "reuse the pending cookie", r, unauth, msgPending)
		if session == pending {
			t.Error("the session kept the pending secret")
		}
	})

	t.Run("OKEmail", func(t *testing.T) {
		// The email works as the account name.
		email := strings.ToLower(p.EmployeeID) + "@example.gov"
		r := ts.signInPassword(t, email, p.Password, request{})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login/code" {
			t.Errorf("sign in with the email: status %d: %s", r.status, r.body)
		}
	})

	t.Run("OKSignOut", func(t *testing.T) {
		before := ts.ledgerSize(t)
		r := ts.send(t, request{method: "POST", path: "/logout", cookie: p.session()})
		mustStatus(t, "sign out", r, allow, "You have signed out.")
		if !slices.ContainsFunc((&http.Response{Header: r.header}).Cookies(), func(c *http.Cookie) bool { return c.Name == authn.SessionCookie && c.MaxAge < 0 }) {
			t.Error("the session cookie is not deleted")
		}
		e := ts.mustOneEntry(t, before, "auth.signed_out")
		if e.Actor.ID != p.EmployeeID {
			t.Errorf("sign-out recorded as %s", e.raw)
		}
		before = ts.ledgerSize(t)
		mustStatus(t, "after", ts.send(t, request{method: "GET", path: "/api/v1/me", cookie: p.session()}), unauth, msgCredential)
		ts.mustRefusal(t, before, "ended_or_unknown_session")
		// The pages send someone whose session ended to the sign-in page.
		r = ts.send(t, request{method: "GET", path: "/account", cookie: p.session()})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
			t.Errorf("account page after signing out: status %d, Location %q", r.status, r.header.Get("Location"))
		}
	})
}

// checkCookie checks that a response sets the named cookie Secure,
// HttpOnly, SameSite=Lax, for the whole site and host only.
func checkCookie(t *testing.T, r response, name string) {
	t.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name != name {
			continue
		}
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
			t.Errorf("cookie %s: Secure %v, HttpOnly %v, SameSite %v, Path %q, Domain %q", name, c.Secure, c.HttpOnly, c.SameSite, c.Path, c.Domain)
		}
		return
	}
	t.Errorf("no cookie %s", name)
}

func testRefusals(t *testing.T, ts *testServer, o *org) {
	r := ts.mustAnalyst(t, "refused", true)
	locked := ts.mustAnalyst(t, "locked", false)
	ts.mustJSON(t, request{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/lock", locked.ID), cookie: o.cpo.session(), body: `{"reason":"test"}`}, allow, &struct{}{})
	_, expiring := ts.mustToken(t, r, 30, auth.DataAccess)
	revokedID, revoked := ts.mustToken(t, r, 30, auth.DataAccess)
	ts.mustJSON(t, request{method: "DELETE", path: fmt.Sprintf("/api/v1/me/tokens/%d", revokedID), cookie: r.session()}, allow, &struct{}{})
	ts.mustSQL(t, `UPDATE api_tokens SET expires_at = $1 WHERE token_hash = $2`, time.Now().UTC().Add(-time.Second).Truncate(time.Microsecond), store.HashSecret(expiring))
	live := r.Cookie
	idle := ts.mustSession(t, r, matrixAgent)
	ts.mustSQL(t, `UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2`, time.Now().UTC().Add(-16*time.Minute).Truncate(time.Microsecond), store.HashSecret(idle))
	old := ts.mustSession(t, r, matrixAgent)
	ts.mustSQL(t, `UPDATE sessions SET expires_at = $1 WHERE id_hash = $2`, time.Now().UTC().Add(-time.Second).Truncate(time.Microsecond), store.HashSecret(old))
	ended := ts.mustSession(t, r, matrixAgent)
	if resp := ts.send(t, request{method: "POST", path: "/logout", cookie: sessionCookie(ended)}); resp.status != allow {
		t.Fatalf("sign out: status %d", resp.status)
	}
	r.Cookie = live

	// pendingFor starts a sign-in of p and returns its pending cookie.
	pendingFor := func(t *testing.T, p *person) string {
		t.Helper()
		resp := ts.signInPassword(t, p.EmployeeID, p.Password, request{})
		c := cookieOf(resp, authn.PendingCookie)
		if c == "" {
			t.Fatalf("sign in %s: status %d: %s", p.EmployeeID, resp.status, resp.body)
		}
		return authn.PendingCookie + "=" + c
	}
	var recoveryUsed string

	wrongPassword := tokenRequest(r.EmployeeID, "not the password at all", "000000")
	unknownAccount := tokenRequest("nobody-at-all", "not the password at all", "000000")
	lockedAccount := tokenRequest(locked.EmployeeID, locked.Password, "000000")
	var first response
	for _, c := range []struct {
		name string
		// setup runs before the state is taken (a first step, say).
		setup   func(t *testing.T) request
		status  int
		message string
		reason  string
		subject string // the refusal's subject; "" for the person refused
		who     *person
	}{
		{name: "ErrWrongPassword", setup: func(*testing.T) request { return wrongPassword }, status: unauth, message: msgSignIn, reason: "bad_password", who: r},
		// An unknown account gets the same answer as a wrong password.
		{name: "ErrUnknownAccount", setup: func(*testing.T) request { return unknownAccount }, status: unauth, message: msgSignIn, reason: "unknown_account", subject: "account/unknown"},
		// So does the right password of a locked account.
		{name: "ErrLockedAccount", setup: func(*testing.T) request { return lockedAccount }, status: unauth, message: msgSignIn, reason: "account_not_active", who: locked},
		{name: "ErrWrongPasswordPage", setup: func(*testing.T) request {
			return request{method: "POST", path: "/login", contentType: "application/x-www-form-urlencoded", body: url.Values{"account": {r.EmployeeID}, "password": {"wrong"}}.Encode()}
		}, status: unauth, message: msgSignIn, reason: "bad_password", who: r},
		{name: "ErrUnknownAccountPage", setup: func(*testing.T) request {
			return request{method: "POST", path: "/login", contentType: "application/x-www-form-urlencoded", body: url.Values{"account": {"nobody-" + r.EmployeeID[:4]}, "password": {"wrong"}}.Encode()}
		}, status: unauth, message: msgSignIn, reason: "unknown_account", subject: "account/unknown"},
		{name: "ErrWrongCode", setup: func(t *testing.T) request {
			return request{method: "POST", path: "/login/code", cookie: pendingFor(t, r), contentType: "application/x-www-form-urlencoded", body: "code=000000"}
		}, status: unauth, message: msgCode, reason: "bad_second_factor", who: r},
		{name: "ErrWrongRecoveryCode", setup: func(t *testing.T) request {
			return request{method: "POST", path: "/login/code", cookie: pendingFor(t, r), contentType: "application/x-www-form-urlencoded", body: "code=AAAAA-AAAAA"}
		}, status: unauth, message: msgCode, reason: "bad_second_factor", who: r},
		{name: "ErrReplayedCode", setup: func(t *testing.T) request {
			// The code of the step the last sign-in used; sign in again first
			// if that step is too old to be accepted at all.
			if r.lastStep < time.Now().Unix()/30 {
				ts.mustSignIn(t, r, request{header: map[string]string{"User-Agent": matrixAgent}})
			}
			code, err := totpCode(r.TOTP, r.lastStep)
			if err != nil {
				t.Fatal(err)
			}
			return request{method: "POST", path: "/login/code", cookie: pendingFor(t, r), contentType: "application/x-www-form-urlencoded", body: "code=" + code}
		}, status: unauth, message: msgReplayed, reason: "replayed_second_factor", who: r},
		{name: "ErrReplayedRecoveryCode", setup: func(t *testing.T) request {
			// A recovery code signs in once.
			recoveryUsed = r.Recovery[len(r.Recovery)-1]
			r.Recovery = r.Recovery[:len(r.Recovery)-1]
			resp := ts.postForm(t, "/login/code", url.Values{"code": {strings.ToLower(recoveryUsed)}}, request{cookie: pendingFor(t, r)})
			if resp.status != http.StatusSeeOther || cookieOf(resp, authn.SessionCookie) == "" {
				t.Fatalf("sign in with a recovery code: status %d: %s", resp.status, resp.body)
			}
			return request{method: "POST", path: "/login/code", cookie: pendingFor(t, r), contentType: "application/x-www-form-urlencoded", body: "code=" + recoveryUsed}
		}, status: unauth, message: msgReplayed, reason: "replayed_second_factor", who: r},
		{name: "ErrEndedSession", setup: func(*testing.T) request {
			return request{method: "GET", path: "/api/v1/me", cookie: sessionCookie(ended)}
		}, status: unauth, message: msgCredential, reason: "ended_or_unknown_session", subject: "account/unknown"},
		{name: "ErrIdleSession", setup: func(*testing.T) request {
			return request{method: "GET", path: "/api/v1/me", cookie: sessionCookie(idle)}
		}, status: unauth, message: msgCredential, reason: "ended_or_unknown_session", subject: "account/unknown"},
		{name: "ErrExpiredSession", setup: func(*testing.T) request {
			return request{method: "GET", path: "/api/v1/me", cookie: sessionCookie(old)}
		}, status: unauth, message: msgCredential, reason: "ended_or_unknown_session", subject: "account/unknown"},
		{name: "ErrForgedCookie", setup: func(*testing.T) request {
			return request{method: "GET", path: "/api/v1/me", cookie: sessionCookie(strings.Repeat("A", 43))}
		}, status: unauth, message: msgCredential, reason: "ended_or_unknown_session", subject: "account/unknown"},
		{name: "ErrExpiredToken", setup: func(*testing.T) request {
			return request{method: "GET", path: "/api/v1/me", auth: bearer(expiring)}
		}, status: unauth, message: msgCredential, reason: "bad_token", subject: "account/unknown"},
		{name: "ErrRevokedToken", setup: func(*testing.T) request {
			return request{method: "GET", path: "/api/v1/me", auth: bearer(revoked)}
		}, status: unauth, message: msgCredential, reason: "bad_token", subject: "account/unknown"},
		{name: "ErrForgedToken", setup: func(*testing.T) request {
			return request{method: "GET", path: "/api/v1/me", auth: bearer(store.TokenPrefix + strings.Repeat("x", 43))}
		}, status: unauth, message: msgCredential, reason: "bad_token", subject: "account/unknown"},
		{name: "ErrMalformedAuthorization", setup: func(*testing.T) request {
			return request{method: "GET", path: "/api/v1/me", auth: "Bearer"}
		}, status: unauth, message: msgCredential, reason: "malformed_authorization", subject: "account/unknown"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rq := c.setup(t)
			states := map[*person]personState{r: ts.stateOf(t, r), locked: ts.stateOf(t, locked)}
			before := ts.ledgerSize(t)
			resp := ts.send(t, rq)
			mustStatus(t, c.name, resp, c.status, c.message)
			e := ts.mustRefusal(t, before, c.reason)
			subject := c.subject
			if c.who != nil {
				subject = fmt.Sprintf("person/%d", c.who.ID)
			}
			if e.Subject != subject {
				t.Errorf("refusal recorded about %q, want %q", e.Subject, subject)
			}
			for _, s := range []string{"not the password at all", "nobody-at-all", r.Password, expiring, revoked, idle} {
				if strings.Contains(e.raw, s) {
					t.Errorf("the ledger entry holds %q: %s", s, e.raw)
				}
			}
			// Nothing else changed.
			for p, st := range states {
				if now := ts.stateOf(t, p); now != st {
					t.Errorf("%s changed: %+v, was %+v", p.label, now, st)
				}
			}
			// The answer does not say which part was wrong.
			for _, word := range []string{"unknown", "exist", "locked", r.EmployeeID, locked.EmployeeID} {
				if c.status == unauth && strings.Contains(errorText(resp), word) {
					t.Errorf("the answer reveals %q: %s", word, resp.body)
				}
			}
			if c.name == "ErrWrongPassword" {
				first = resp
			}
			if (c.name == "ErrUnknownAccount" || c.name == "ErrLockedAccount") && !bytes.Equal(resp.body, first.body) {
				t.Errorf("the answer differs from a wrong password's:\n%s\n%s", resp.body, first.body)
			}
		})
	}

	t.Run("OKSamePage", func(t *testing.T) {
		// The sign-in page answers a wrong password, an unknown account and a
		// locked one alike, but for the account typed, which it shows back.
		var pages [][]byte
		for _, account := range []string{r.EmployeeID, "nobody-" + r.EmployeeID, locked.EmployeeID} {
			pw := "wrong password here"
			if account == locked.EmployeeID {
				pw = locked.Password
			}
			resp := ts.signInPassword(t, account, pw, request{})
			if resp.status != unauth {
				t.Fatalf("%s: status %d", account, resp.status)
			}
			pages = append(pages, bytes.ReplaceAll(resp.body, []byte(account), []byte("ACCOUNT")))
		}
		if !bytes.Equal(pages[0], pages[1]) || !bytes.Equal(pages[0], pages[2]) {
			t.Errorf("the sign-in pages differ:\n%s\n---\n%s\n---\n%s", pages[0], pages[1], pages[2])
		}
	})
}

// errorText returns what an answer says: its JSON error message or page.
func errorText(r response) string {
	return regexp.MustCompile(`value="[^"]*"`).ReplaceAllString(string(r.body), "")
}

func testAccountThrottle(t *testing.T, ts *testServer) {
	a := ts.mustAnalyst(t, "throttled", false)
	accountKey := func(account string) string {
		h := sha256.Sum256([]byte(strings.ToLower(account)))
		return "account:" + hex.EncodeToString(h[:12])
	}
	// Known and unknown accounts go through the same steps: four refusals,
	// then a lockout that even the right password meets.
	var answers [2][]string
	for i, account := range []string{a.EmployeeID, "no-such-" + a.EmployeeID} {
		for n := 1; n <= 5; n++ {
			before := ts.ledgerSize(t)
			resp := ts.send(t, tokenRequest(account, "wrong password number "+fmt.Sprint(n), "000000"))
			want, msg := unauth, msgSignIn
			if n == 5 {
				want, msg = http.StatusTooManyRequests, msgLockedOut
			}
			mustStatus(t, fmt.Sprintf("%s attempt %d", account, n), resp, want, msg)
			e := ts.mustOneEntry(t, before, "auth.sign_in_refused")
			if e.Data["lockout"] != (n == 5) {
				t.Errorf("attempt %d: lockout recorded as %v", n, e.Data["lockout"])
			}
			answers[i] = append(answers[i], fmt.Sprint(resp.status)+string(resp.body))
		}
		until := ts.mustQueryInt(t, `SELECT COUNT(*) FROM auth_throttle WHERE key = $1 AND locked_until > $2 AND locked_until < $3`,
			accountKey(account), time.Now().UTC().Add(14*time.Minute), time.Now().UTC().Add(16*time.Minute))
		if until != 1 {
			t.Errorf("%s is not locked out for 15 minutes", account)
		}
	}
	if !slices.Equal(answers[0], answers[1]) {
		t.Errorf("a known and an unknown account are answered differently:\n%q\n%q", answers[0], answers[1])
	}
	t.Run("ErrRightPasswordLockedOut", func(t *testing.T) {
		st := ts.stateOf(t, a)
		before := ts.ledgerSize(t)
		resp := ts.signInPassword(t, a.EmployeeID, a.Password, request{})
		mustStatus(t, "right password", resp, http.StatusTooManyRequests, "too many failed attempts; try again after")
		if cookieOf(resp, authn.PendingCookie) != "" {
			t.Error("a locked-out account got a pending sign-in")
		}
		// Refusals during a lockout are not recorded one by one: a flood
		// cannot grow the ledger.
		if grew := ts.ledgerSize(t) - before; grew != 0 {
			t.Errorf("the ledger grew by %d", grew)
		}
		if now := ts.stateOf(t, a); now != st {
			t.Errorf("the account changed: %+v, was %+v", now, st)
		}
	})
	t.Run("OKAfterLockout", func(t *testing.T) {
		// Fifteen minutes later.
		ts.mustSQL(t, `UPDATE auth_throttle SET locked_until = $1 WHERE key = $2`, time.Now().UTC().Add(-time.Second).Truncate(time.Microsecond), accountKey(a.EmployeeID))
		ts.mustSignIn(t, a, request{})
		ts.mustMe(t, a)
	})
	t.Run("ErrSecondFactorLockout", func(t *testing.T) {
		resp := ts.signInPassword(t, a.EmployeeID, a.Password, request{})
		pending := authn.PendingCookie + "=" + cookieOf(resp, authn.PendingCookie)
		for n := 1; n <= 5; n++ {
			resp := ts.postForm(t, "/login/code", url.Values{"code": {fmt.Sprintf("00000%d", n)}}, request{cookie: pending})
			want, msg := unauth, msgCode
			if n == 5 {
				want, msg = http.StatusTooManyRequests, msgLockedOut
			}
			mustStatus(t, fmt.Sprintf("code %d", n), resp, want, msg)
		}
		resp = ts.postForm(t, "/login/code", url.Values{"code": {a.secondFactor(t)}}, request{cookie: pending})
		mustStatus(t, "right code", resp, http.StatusTooManyRequests, "too many failed attempts")
		if cookieOf(resp, authn.SessionCookie) != "" {
			t.Error("a locked-out second factor started a session")
		}
	})
}

func TestIdentity_AddressThrottle(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			ts := mustStartServerWith(t, d, func(c *app.Config) {
				c.Throttle = store.ThrottlePolicy{Window: 15 * time.Minute, MaxAccount: 100, MaxAddr: 3, LockoutTime: 15 * time.Minute}
			})
			ts.mustJSON(t, request{method: "POST", path: "/api/v1/components", auth: bearer(adminToken), body: `{"code":"CBP","name":"CBP"}`}, http.StatusCreated, &struct{}{})
			b := ts.mustAnalyst(t, "addressed", false)
			const from = "127.0.0.2"
			before := ts.ledgerSize(t)
			for n := 1; n <= 3; n++ {
				// A different account each time: the address is what is counted.
				rq := tokenRequest(fmt.Sprintf("guess-%d", n), "guessed password", "000000")
				rq.from = from
				want, msg := unauth, msgSignIn
				if n == 3 {
					want, msg = http.StatusTooManyRequests, msgLockedOut
				}
				mustStatus(t, fmt.Sprintf("guess %d", n), ts.send(t, rq), want, msg)
			}
			if grew := ts.ledgerSize(t) - before; grew != 3 {
				t.Errorf("three refusals added %d ledger entries", grew)
			}
			t.Run("ErrLockedOutAddress", func(t *testing.T) {
				before := ts.ledgerSize(t)
				r := ts.signInPassword(t, b.EmployeeID, b.Password, request{from: from})
				mustStatus(t, "right password", r, http.StatusTooManyRequests, "too many failed attempts; try again after")
				r = ts.send(t, request{method: "GET", path: "/api/v1/settings", auth: bearer(invalidToken), from: from})
				mustStatus(t, "bad token", r, http.StatusTooManyRequests, "too many failed attempts; try again after")
				if grew := ts.ledgerSize(t) - before; grew != 0 {
					t.Errorf("refusals of a locked-out address added %d ledger entries", grew)
				}
			})
			t.Run("OKValidCredential", func(t *testing.T) {
				// A valid credential works from a locked-out address.
				r := ts.send(t, request{method: "GET", path: "/api/v1/settings", auth: bearer(adminToken), from: from})
				mustStatus(t, "bootstrap token", r, allow, "")
			})
			t.Run("OKOtherAddress", func(t *testing.T) {
				ts.mustSignIn(t, b, request{from: "127.0.0.1"})
				ts.mustMe(t, b)
			})
		})
	}
}

func testTokens(t *testing.T, ts *testServer, o *org) {
	k := o.cpo
	create := func(t *testing.T, body string, rq request) response {
		t.Helper()
		rq.method, rq.path, rq.body = "POST", "/api/v1/me/tokens", body
		if rq.auth == "" && rq.cookie == "" {
			rq.cookie = k.session()
		}
		return ts.send(t, rq)
	}
	before := ts.ledgerSize(t)
	var tok struct {
		ID        int64     `json:"id"`
		Token     string    `json:"token"`
		Scopes    []string  `json:"scopes"`
		ExpiresAt time.Time `json:"expires_at"`
		Note      string    `json:"note"`
	}
	ts.mustJSON(t, request{method: "POST", path: "/api/v1/me/tokens", cookie: k.session(), body: `{"name":"laptop","scopes":["people.read"],"days":30}`}, http.StatusCreated, &tok)
	if !strings.HasPrefix(tok.Token, store.TokenPrefix) || len(tok.Token) < 40 || !strings.Contains(tok.Note, "shown once") {
		t.Fatalf("token %+v", tok)
	}
	if d := time.Until(tok.ExpiresAt); d < 29*24*time.Hour || d > 30*24*time.Hour {
		t.Errorf("the token expires in %s, want 30 days", d)
	}
	e := ts.mustOneEntry(t, before, "auth.token_created")
	if strings.Contains(e.raw, tok.Token) || strings.Contains(e.raw, tok.Token[len(store.TokenPrefix):]) {
		t.Errorf("the ledger entry holds the token: %s", e.raw)
	}

	t.Run("OKShownOnce", func(t *testing.T) {
		r := ts.send(t, request{method: "GET", path: "/api/v1/me/tokens", cookie: k.session()})
		mustStatus(t, "list", r, allow, "")
		if bytes.Contains(r.body, []byte(tok.Token[len(store.TokenPrefix):])) || !bytes.Contains(r.body, []byte(`"laptop"`)) {
			t.Errorf("the list shows the secret, or not the token: %s", r.body)
		}
	})
	t.Run("OKStoredHashed", func(t *testing.T) {
		if n := ts.mustQueryInt(t, `SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1 AND id = $2`, store.HashSecret(tok.Token), tok.ID); n != 1 {
			t.Error("the token's hash is not what is stored")
		}
		ts.mustNotStore(t, tok.Token, tok.Token[len(store.TokenPrefix):])
	})
	t.Run("OKScoped", func(t *testing.T) {
		r := ts.send(t, request{method: "GET", path: "/api/v1/people", auth: bearer(tok.Token)})
		mustStatus(t, "in scope", r, allow, "")
		// Last use is recorded.
		var list struct {
			Tokens []struct {
				ID       int64      `json:"id"`
				LastUsed *time.Time `json:"last_used_at"`
			} `json:"tokens"`
		}
		ts.mustJSON(t, request{method: "GET", path: "/api/v1/me/tokens", cookie: k.session()}, allow, &list)
		used := false
		for _, x := range list.Tokens {
			used = used || (x.ID == tok.ID && x.LastUsed != nil)
		}
		if !used {
			t.Error("the token's use is not recorded")
		}
	})
	t.Run("ErrOutOfScope", func(t *testing.T) {
		// The person may do these (signals.read, people.lock,
		// rules.manage); the token may not.
		mustStatus(t, "signals with the person's session", ts.send(t, request{method: "GET", path: "/api/v1/signals", cookie: k.session()}), allow, "")
		target, _ := ts.mustInvite(t, invitation{label: "scope-target", component: "CBP"})
		for _, rq := range []request{
			{method: "GET", path: "/api/v1/signals"},
			{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/lock", target.ID), body: `{"reason":"out of scope"}`},
			{method: "POST", path: "/api/v1/rules", body: `{"key":"program:scoped","title":"Scoped","body":"Rules that a scoped token cannot publish."}`},
		} {
			before := ts.ledgerSize(t)
			rq.auth = bearer(tok.Token)
			r := ts.send(t, rq)
			if r.status != forbid || !strings.Contains(errorMessage(t, r), "your role does not allow this") {
				t.Errorf("%s %s with a people.read token: status %d: %s", rq.method, rq.path, r.status, r.body)
			}
			if grew := ts.ledgerSize(t) - before; grew != 0 {
				t.Errorf("%s: the ledger grew by %d", rq.path, grew)
			}
		}
	})
	t.Run("ErrCreate", func(t *testing.T) {
		for _, c := range []struct {
			name    string
			body    string
			rq      request
			status  int
			message string
		}{
			{name: "ErrTooLong", body: `{"name":"long","scopes":["people.read"],"days":91}`, status: http.StatusBadRequest, message: "a token lasts from 1 to 90 days"},
			{name: "ErrNoLifetime", body: `{"name":"none","scopes":["people.read"]}`, status: http.StatusBadRequest, message: "a token lasts from 1 to 90 days"},
			{name: "ErrNegative", body: `{"name":"negative","scopes":["people.read"],"days":-1}`, status: http.StatusBadRequest, message: "a token lasts from 1 to 90 days"},
			{name: "ErrNoScope", body: `{"name":"unscoped","scopes":[],"days":1}`, status: http.StatusBadRequest, message: "give the token at least one scope"},
			{name: "ErrNoName", body: `{"name":" ","scopes":["people.read"],"days":1}`, status: http.StatusBadRequest, message: "name the token (up to 100 characters), e.g. after the machine or pipeline that uses it"},
			{name: "ErrScopeNotHeld", body: `{"name":"admin","scopes":["settings.write"],"days":1}`, status: forbid, message: `you cannot give a token the scope "settings.write", which your roles do not hold`},
			{name: "ErrTokenCreatesToken", body: `{"name":"child","scopes":["people.read"],"days":1}`, rq: request{auth: bearer(tok.Token)}, status: forbid, message: "a token cannot create tokens; sign in to create one"},
			{name: "ErrBootstrapCreatesToken", body: `{"name":"bootstrap","scopes":["people.read"],"days":1}`, rq: request{auth: bearer(adminToken)}, status: forbid, message: "your role does not allow this (self)"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := ts.ledgerSize(t)
				mustStatus(t, c.name, create(t, c.body, c.rq), c.status, c.message)
				if grew := ts.ledgerSize(t) - before; grew != 0 {
					t.Errorf("the ledger grew by %d", grew)
				}
			})
		}
		var longest struct {
			ExpiresAt time.Time `json:"expires_at"`
		}
		ts.mustJSON(t, request{method: "POST", path: "/api/v1/me/tokens", cookie: k.session(), body: `{"name":"ninety","scopes":["people.read"],"days":90}`}, http.StatusCreated, &longest)
		if d := time.Until(longest.ExpiresAt); d > 90*24*time.Hour || d < 89*24*time.Hour {
			t.Errorf("a 90-day token expires in %s", d)
		}
	})
	t.Run("OKIssueForProgram", func(t *testing.T) {
		// How the command-line tool signs in: password and code together.
		p := ts.mustAnalyst(t, "cli-user", false)
		var issued struct {
			Token  string   `json:"token"`
			Scopes []string `json:"scopes"`
		}
		ts.mustJSON(t, tokenRequest(p.EmployeeID, p.Password, p.secondFactor(t)), http.StatusCreated, &issued)
		// By default a token may do what its owner may, except reach data.
		if slices.Contains(issued.Scopes, string(auth.DataAccess)) {
			t.Errorf("the default scopes include data access: %v", issued.Scopes)
		}
		var me meJSON
		ts.mustJSON(t, request{method: "GET", path: "/api/v1/me", auth: bearer(issued.Token)}, allow, &me)
		if me.Person.ID != p.ID {
			t.Errorf("the token acts as person %d", me.Person.ID)
		}
		rq := tokenRequest(p.EmployeeID, p.Password, p.secondFactor(t))
		rq.body = strings.Replace(rq.body, `"name":"cli"`, `"name":"cli","days":91`, 1)
		mustStatus(t, "91 days", ts.send(t, rq), http.StatusBadRequest, "a token lasts from 1 to 90 days")
	})
	t.Run("OKRevokedAtOnce", func(t *testing.T) {
		before := ts.ledgerSize(t)
		ts.mustJSON(t, request{method: "DELETE", path: fmt.Sprintf("/api/v1/me/tokens/%d", tok.ID), cookie: k.session()}, allow, &struct{}{})
		ts.mustOneEntry(t, before, "auth.token_revoked")
		mustStatus(t, "after revocation", ts.send(t, request{method: "GET", path: "/api/v1/people", auth: bearer(tok.Token)}), unauth, msgCredential)
		mustStatus(t, "again", ts.send(t, request{method: "DELETE", path: fmt.Sprintf("/api/v1/me/tokens/%d", tok.ID), cookie: k.session()}), http.StatusConflict, fmt.Sprintf("token %d is already revoked", tok.ID))
	})
}

func testLock(t *testing.T, ts *testServer, o *org) {
	x := ts.mustAnalyst(t, "to-lock", true)
	_, tok := ts.mustToken(t, x, 7, auth.DataAccess)
	mustStatus(t, "token before", ts.send(t, request{method: "GET", path: "/api/v1/me", auth: bearer(tok)}), allow, "")

	t.Run("OKLockEndsAccessAtOnce", func(t *testing.T) {
		before := ts.ledgerSize(t)
		ts.mustJSON(t, request{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/lock", x.ID), cookie: o.cpo.session(), body: `{"reason":"suspected misuse"}`}, allow, &struct{}{})
		e := ts.mustOneEntry(t, before, "identity.person_locked")
		if e.Actor.ID != o.cpo.EmployeeID || e.Data["reason"] != "suspected misuse" || e.Data["sessions_and_tokens_ended"] != float64(2) {
			t.Errorf("lock recorded as %s", e.raw)
		}
		mustStatus(t, "session", ts.send(t, request{method: "GET", path: "/api/v1/me", cookie: x.session()}), unauth, msgCredential)
		mustStatus(t, "token", ts.send(t, request{method: "GET", path: "/api/v1/me", auth: bearer(tok)}), unauth, msgCredential)
		mustStatus(t, "sign in", ts.signInPassword(t, x.EmployeeID, x.Password, request{}), unauth, msgSignIn)
		mustStatus(t, "again", ts.send(t, request{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/lock", x.ID), cookie: o.cpo.session(), body: `{"reason":"again"}`}),
			http.StatusConflict, fmt.Sprintf("%s's account is already locked", x.Name))
		mustStatus(t, "no reason", ts.send(t, request{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/disable", x.ID), cookie: o.admin.session(), body: `{"reason":" "}`}),
			http.StatusBadRequest, "give a reason (up to 1,000 characters)")
	})
	t.Run("ErrReinstate", func(t *testing.T) {
		for _, c := range []struct {
			name    string
			by      *person
			id      int64
			status  int
			message string
		}{
			{name: "ErrPrivacyOfficer", by: o.cpo, id: x.ID, status: forbid, message: "your role does not allow this (people.manage)"},
			{name: "ErrThemselves", by: o.admin, id: o.admin.ID, status: forbid, message: "nobody reinstates their own account"},
		} {
			before := ts.ledgerSize(t)
			r := ts.send(t, request{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/reinstate", c.id), cookie: c.by.session(), body: `{"reason":"please"}`})
			mustStatus(t, c.name, r, c.status, c.message)
			if grew := ts.ledgerSize(t) - before; grew != 0 {
				t.Errorf("%s: the ledger grew by %d", c.name, grew)
			}
		}
	})
	t.Run("OKReinstate", func(t *testing.T) {
		before := ts.ledgerSize(t)
		ts.mustJSON(t, request{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/reinstate", x.ID), cookie: o.admin.session(), body: `{"reason":"cleared"}`}, allow, &struct{}{})
		ts.mustOneEntry(t, before, "identity.person_reinstated")
		// What the lock ended stays ended; the person signs in again.
		mustStatus(t, "old session", ts.send(t, request{method: "GET", path: "/api/v1/me", cookie: x.session()}), unauth, msgCredential)
		mustStatus(t, "old token", ts.send(t, request{method: "GET", path: "/api/v1/me", auth: bearer(tok)}), unauth, msgCredential)
		ts.mustSignIn(t, x, request{})
		if me := ts.mustMe(t, x); me.Person.Status != "active" {
			t.Errorf("status %s", me.Person.Status)
		}
	})
	t.Run("OKReinstateNeverActivated", func(t *testing.T) {
		// An account locked before it was activated goes back to waiting
		// for its enrolment, and can be given a new link.
		p, _ := ts.mustInvite(t, invitation{label: "locked-invitee", component: "CBP"})
		ts.mustJSON(t, request{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/lock", p.ID), cookie: o.cpo.session(), body: `{"reason":"link leaked"}`}, allow, &struct{}{})
		var st struct {
			Status string `json:"status"`
		}
		ts.mustJSON(t, request{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/reinstate", p.ID), cookie: o.admin.session(), body: `{"reason":"new link"}`}, allow, &st)
		if st.Status != "invited" {
			t.Errorf("the reinstated account is %q, want invited", st.Status)
		}
		var link struct {
			URL string `json:"enrolment_url"`
		}
		ts.mustJSON(t, request{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/invitation", p.ID), auth: bearer(adminToken)}, http.StatusCreated, &link)
		ts.mustEnrol(t, p, strings.TrimPrefix(link.URL, ts.Base+"/enroll/"))
	})
}

func testSeparationOfDuties(t *testing.T, ts *testServer, o *org) {
	// A CBP person who administers, and a CBP analyst.
	admin2, _ := ts.mustInvite(t, invitation{label: "cbp-admin", component: "CBP"})
	ts.mustGrant(t, admin2.ID, auth.Administrator, "")
	analyst, _ := ts.mustInvite(t, invitation{label: "cbp-analyst", component: "CBP"})
	ts.mustGrant(t, analyst.ID, auth.Analyst, "CBP")
	auditor, _ := ts.mustInvite(t, invitation{label: "cbp-auditor", component: "CBP"})
	ts.mustGrant(t, auditor.ID, auth.Auditor, "CBP")
	grantsOf := func(id int64) string {
		var p struct {
			Grants []struct {
				Role      string `json:"role"`
				Component string `json:"component"`
			} `json:"grants"`
		}
		ts.mustJSON(t, request{method: "GET", path: fmt.Sprintf("/api/v1/people/%d", id), auth: bearer(adminToken)}, allow, &p)
		return fmt.Sprint(p.Grants)
	}
	for _, c := range []struct {
		name      string
		by        request
		person    *person
		role      auth.Role
		component string
		status    int
		message   string
	}{
		{name: "ErrAnalystToAdministrator", person: admin2, role: auth.Analyst, component: "CBP", status: http.StatusConflict,
			message: fmt.Sprintf("separation of duties: %s holds the Administrator role, which cannot be combined with the Analyst role", admin2.Name)},
		{name: "ErrAdministratorToAnalyst", person: analyst, role: auth.Administrator, status: http.StatusConflict,
			message: fmt.Sprintf("separation of duties: %s holds the Analyst role, which cannot be combined with the Administrator role", analyst.Name)},
		{name: "ErrSupervisorToAuditor", person: auditor, role: auth.Supervisor, component: "CBP", status: http.StatusConflict,
			message: fmt.Sprintf("separation of duties: %s holds the Auditor role, which cannot be combined with the Supervisor role", auditor.Name)},
		{name: "ErrAnalystToAdministratorByBootstrap", by: request{auth: bearer(adminToken)}, person: admin2, role: auth.Analyst, component: "CBP", status: http.StatusConflict,
			message: fmt.Sprintf("separation of duties: %s holds the Administrator role, which cannot be combined with the Analyst role", admin2.Name)},
		{name: "ErrThemselves", person: o.admin, role: auth.Auditor, status: forbid, message: "nobody grants roles to themselves"},
		{name: "ErrOtherComponent", person: analyst, role: auth.Supervisor, component: "ICE", status: http.StatusBadRequest,
			message: fmt.Sprintf("%s belongs to CBP and cannot hold a role in ICE", analyst.Name)},
		{name: "ErrDepartmentRoleInComponent", person: analyst, role: auth.DepartmentPrivacyOfficer, component: "CBP", status: http.StatusBadRequest,
			message: "the Department privacy officer role is held department-wide, not in a component"},
		{name: "ErrComponentRoleDepartmentWide", person: analyst, role: auth.Supervisor, status: http.StatusBadRequest,
			message: "the Supervisor role is held in a component, not department-wide"},
		{name: "ErrHeldAlready", person: analyst, role: auth.Analyst, component: "CBP", status: http.StatusConflict,
			message: fmt.Sprintf("%s already holds the Analyst role there", analyst.Name)},
		{name: "ErrNoSuchRole", person: analyst, role: "superuser", component: "CBP", status: http.StatusBadRequest, message: `there is no role "superuser"`},
		{name: "ErrPrivacyOfficerGrants", by: request{cookie: o.cpo.session()}, person: analyst, role: auth.Supervisor, component: "CBP", status: forbid,
			message: "your role does not allow this (roles.grant)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rq := c.by
			if rq.auth == "" && rq.cookie == "" {
				rq.cookie = o.admin.session()
			}
			rq.method, rq.path = "POST", "/api/v1/grants"
			rq.body = fmt.Sprintf(`{"person_id":%d,"role":%q,"component":%q}`, c.person.ID, c.role, c.component)
			grants, before := grantsOf(c.person.ID), ts.ledgerSize(t)
			mustStatus(t, c.name, ts.send(t, rq), c.status, c.message)
			if grew := ts.ledgerSize(t) - before; grew != 0 {
				t.Errorf("the ledger grew by %d", grew)
			}
			if now := grantsOf(c.person.ID); now != grants {
				t.Errorf("the grants changed: %s, were %s", now, grants)
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		// The control: a role that fits is granted, and recorded.
		before := ts.ledgerSize(t)
		rq := request{method: "POST", path: "/api/v1/grants", cookie: o.admin.session(), body: fmt.Sprintf(`{"person_id":%d,"role":"opr_intake","component":"CBP"}`, analyst.ID)}
		ts.mustJSON(t, rq, http.StatusCreated, &struct{}{})
		e := ts.mustOneEntry(t, before, "identity.role_granted")
		if e.Actor.ID != o.admin.EmployeeID || e.Data["role"] != "opr_intake" || e.Data["scope"] != "CBP" {
			t.Errorf("grant recorded as %s", e.raw)
		}
	})
}

// liveSessions counts a person's full sessions that have not ended.
func (ts *testServer) liveSessions(t *testing.T, p *person) int64 {
	t.Helper()
	return ts.mustQueryInt(t, `SELECT COUNT(*) FROM sessions WHERE person_id = $1 AND ended_at IS NULL AND stage = 'full'`, p.ID)
}

func testSignOutEverywhere(t *testing.T, ts *testServer) {
	s := ts.mustAnalyst(t, "everywhere", true)
	for _, c := range []struct {
		name string
		rq   request
		want int
	}{
		{name: "OKAPI", rq: request{method: "POST", path: "/api/v1/me/sessions/end-all"}, want: allow},
		{name: "OKPage", rq: request{method: "POST", path: "/account/sign-out-everywhere"}, want: allow},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := s.Cookie
			if c.name != "OKAPI" {
				a = ts.mustSession(t, s, matrixAgent)
			}
			b := ts.mustSession(t, s, matrixAgent)
			if n := ts.liveSessions(t, s); n != 2 {
				t.Fatalf("%d live sessions, want 2", n)
			}
			before := ts.ledgerSize(t)
			c.rq.cookie = sessionCookie(a)
			mustStatus(t, c.name, ts.send(t, c.rq), c.want, "")
			e := ts.mustOneEntry(t, before, "auth.signed_out_everywhere")
			if e.Data["sessions"] != float64(2) {
				t.Errorf("recorded as %s", e.raw)
			}
			for _, secret := range []string{a, b} {
				mustStatus(t, "a session", ts.send(t, request{method: "GET", path: "/api/v1/me", cookie: sessionCookie(secret)}), unauth, msgCredential)
			}
			if n := ts.liveSessions(t, s); n != 0 {
				t.Errorf("%d live sessions left", n)
			}
		})
	}
	// Sessions from one client are not suspect.
	if n := ts.mustQueryInt(t, `SELECT COUNT(*) FROM shared_use_signals WHERE person_id = $1`, s.ID); n != 0 {
		t.Errorf("%d shared-use signals for sessions of one client", n)
	}
}

func testPasswordChange(t *testing.T, ts *testServer) {
	p := ts.mustAnalyst(t, "changing", true)
	this := p.Cookie
	other := ts.mustSession(t, p, matrixAgent)
	change := func(current, next string) response {
		return ts.send(t, request{method: "POST", path: "/api/v1/me/password", cookie: sessionCookie(this), body: fmt.Sprintf(`{"current":%q,"new":%q}`, current, next)})
	}
	t.Run("ErrWrongCurrent", func(t *testing.T) {
		before := ts.ledgerSize(t)
		mustStatus(t, "wrong current", change("not my password", "a fresh passphrase 2"), unauth, "the current password is not correct")
		e := ts.mustRefusal(t, before, "bad_password")
		if e.Data["method"] != "password_change" {
			t.Errorf("recorded as %s", e.raw)
		}
		if n := ts.liveSessions(t, p); n != 2 {
			t.Errorf("%d live sessions, want 2", n)
		}
	})
	t.Run("ErrWeakNew", func(t *testing.T) {
		before := ts.ledgerSize(t)
		mustStatus(t, "weak", change(p.Password, "short"), http.StatusBadRequest, "the password must be at least 12 characters long")
		if grew := ts.ledgerSize(t) - before; grew != 0 {
			t.Errorf("the ledger grew by %d", grew)
		}
	})
	t.Run("OK", func(t *testing.T) {
		before := ts.ledgerSize(t)
		next := "a fresh passphrase " + p.EmployeeID[len(p.EmployeeID)-2:]
		mustStatus(t, "change", change(p.Password, next), allow, "")
		ts.mustOneEntry(t, before, "identity.password_changed")
		// This session goes on; the other ended.
		mustStatus(t, "this session", ts.send(t, request{method: "GET", path: "/api/v1/me", cookie: sessionCookie(this)}), allow, "")
		mustStatus(t, "the other session", ts.send(t, request{method: "GET", path: "/api/v1/me", cookie: sessionCookie(other)}), unauth, msgCredential)
		mustStatus(t, "old password", ts.signInPassword(t, p.EmployeeID, p.Password, request{}), unauth, msgSignIn)
		p.Password = next
		ts.mustSignIn(t, p, request{})
	})
}

func testSharedUse(t *testing.T, ts *testServer, o *org) {
	u := ts.mustAnalyst(t, "shared", false)
	ts.mustSignIn(t, u, request{header: map[string]string{"User-Agent": "client-A"}})
	if n := ts.mustQueryInt(t, `SELECT COUNT(*) FROM shared_use_signals WHERE person_id = $1`, u.ID); n != 0 {
		t.Fatalf("%d signals after one sign-in", n)
	}
	signals := func(by *person) []map[string]any {
		var resp struct {
			Signals []map[string]any `json:"signals"`
		}
		ts.mustJSON(t, request{method: "GET", path: "/api/v1/signals", cookie: by.session()}, allow, &resp)
		var out []map[string]any
		for _, s := range resp.Signals {
			if s["person_id"] == float64(u.ID) {
				out = append(out, s)
			}
		}
		return out
	}
	t.Run("OKConcurrentSessions", func(t *testing.T) {
		before := ts.ledgerSize(t)
		ts.mustSignIn(t, u, request{header: map[string]string{"User-Agent": "client-B"}})
		es := ts.entriesSince(t, before)
		if got := types(es); !slices.Equal(got, []string{"auth.signed_in", "identity.shared_account_suspected", "alert.raised"}) {
			t.Fatalf("entries %v", got)
		}
		if a := es[2]; a.Data["detector"] != "shared_account" || a.Data["severity"] != "medium" || a.Data["person"] != u.EmployeeID || a.Component != "CBP" {
			t.Errorf("alert recorded as %s", a.raw)
		}
		if n := ts.mustQueryInt(t, `SELECT COUNT(*) FROM alerts WHERE person_id = $1 AND detector = 'shared_account' AND status = 'new'`, u.ID); n != 1 {
			t.Errorf("%d shared-account alerts, want 1", n)
		}
		e := es[1]
		if e.Subject != fmt.Sprintf("person/%d", u.ID) || e.Component != "CBP" || e.Data["kind"] != "concurrent_sessions" || e.Actor.Kind != "system" {
			t.Errorf("recorded as %s", e.raw)
		}
		if n := ts.mustQueryInt(t, `SELECT COUNT(*) FROM shared_use_signals WHERE person_id = $1 AND kind = 'concurrent_sessions'`, u.ID); n != 1 {
			t.Errorf("%d signal rows", n)
		}
		seen := signals(o.cpo)
		if len(seen) != 1 || seen[0]["kind"] != "concurrent_sessions" {
			t.Fatalf("the privacy officer sees %v", seen)
		}
		if ev, _ := seen[0]["evidence"].(map[string]any); ev["other_user_agent"] != "client-A" || ev["user_agent"] != "client-B" {
			t.Errorf("evidence %v", seen[0]["evidence"])
		}
		if other := signals(o.iceCPO); len(other) != 0 {
			t.Errorf("the ICE privacy officer sees CBP's signal: %v", other)
		}
		mustStatus(t, "an analyst", ts.send(t, request{method: "GET", path: "/api/v1/signals", cookie: u.session()}), forbid, "your role does not allow this (signals.read)")
	})
	t.Run("OKAnotherAddress", func(t *testing.T) {
		// The same client from another address minutes later.
		ts.mustSignIn(t, u, request{from: "127.0.0.2", header: map[string]string{"User-Agent": "client-B"}})
		var kinds []string
		for _, s := range signals(o.dpo) {
			kinds = append(kinds, s["kind"].(string))
		}
		slices.Sort(kinds)
		if !slices.Equal(kinds, []string{"addresses_within_minutes", "concurrent_sessions", "concurrent_sessions"}) {
			t.Errorf("signals %v", kinds)
		}
	})
}

func testRulesOfBehavior(t *testing.T, ts *testServer, o *org) {
	q := ts.mustAnalyst(t, "reader", true)
	const key = "program:e2e-rules"
	publish := func(by *person) int {
		var r struct {
			Version int `json:"version"`
		}
		ts.mustJSON(t, request{method: "POST", path: "/api/v1/rules", cookie: by.session(),
			body: fmt.Sprintf(`{"key":%q,"title":"E2E rules","body":"Use the data only for your assigned cases, and report misuse."}`, key)}, http.StatusCreated, &r)
		return r.Version
	}
	ack := func(v int) response {
		return ts.send(t, request{method: "POST", path: "/api/v1/me/rules/" + key + "/acknowledge", cookie: q.session(), body: fmt.Sprintf(`{"version":%d}`, v)})
	}
	rulesLapse := func() *lapse {
		for _, l := range ts.mustMe(t, q).Lapses {
			if strings.HasPrefix(l.Code, "rules_") && strings.Contains(l.Fix, key) {
				return &l
			}
		}
		return nil
	}
	mustStatus(t, "an analyst publishes", ts.send(t, request{method: "POST", path: "/api/v1/rules", cookie: q.session(),
		body: `{"key":"program:mine","title":"Mine","body":"Rules an analyst may not publish, however long."}`}), forbid, "your role does not allow this (rules.manage)")

	before := ts.ledgerSize(t)
	if v := publish(o.cpo); v != 1 {
		t.Fatalf("version %d", v)
	}
	e := ts.mustOneEntry(t, before, "rules.published")
	if e.Digest == "" || strings.Contains(e.raw, "assigned cases") {
		t.Errorf("the entry does not commit to the text by digest: %s", e.raw)
	}
	l := rulesLapse()
	if l == nil || l.Code != "rules_unacknowledged" || l.Message != `you have not acknowledged "E2E rules"` || l.Fix != "read and acknowledge "+key+" version 1" {
		t.Fatalf("lapse %+v", l)
	}
	// The API names the fields in snake case.
	if r := ts.send(t, request{method: "GET", path: "/api/v1/me", cookie: q.session()}); !bytes.Contains(r.body, []byte(`"code": "rules_unacknowledged"`)) {
		t.Errorf("GET /api/v1/me: %s", r.body)
	}
	mustStatus(t, "acknowledge", ack(1), allow, "")
	if l := rulesLapse(); l != nil {
		t.Errorf("lapse after acknowledging: %+v", l)
	}
	// A new version brings the lapse back.
	if v := publish(o.dpo); v != 2 {
		t.Fatalf("version %d", v)
	}
	l = rulesLapse()
	if l == nil || l.Code != "rules_unacknowledged" || l.Message != `"E2E rules" changed (version 2) since you acknowledged version 1` {
		t.Fatalf("lapse %+v", l)
	}
	for _, c := range []struct {
		version int
		status  int
		message string
	}{
		{1, http.StatusConflict, "version 1 of " + key + " is not the current one (2); read the current version"},
		{3, http.StatusConflict, "version 3 of " + key + " is not the current one (2); read the current version"},
	} {
		before := ts.ledgerSize(t)
		mustStatus(t, fmt.Sprint("version ", c.version), ack(c.version), c.status, c.message)
		if grew := ts.ledgerSize(t) - before; grew != 0 {
			t.Errorf("the ledger grew by %d", grew)
		}
	}
	mustStatus(t, "unknown rules", ts.send(t, request{method: "POST", path: "/api/v1/me/rules/program:nope/acknowledge", cookie: q.session(), body: `{"version":1}`}),
		http.StatusNotFound, `there are no rules of behavior "program:nope"`)
	before = ts.ledgerSize(t)
	mustStatus(t, "acknowledge the current version", ack(2), allow, "")
	e = ts.mustOneEntry(t, before, "rules.acknowledged")
	if e.Actor.ID != q.EmployeeID || e.Data["version"] != float64(2) {
		t.Errorf("recorded as %s", e.raw)
	}
	if l := rulesLapse(); l != nil {
		t.Errorf("lapse after acknowledging: %+v", l)
	}
	// An acknowledgement lasts a year.
	ts.mustSQL(t, `UPDATE rule_acks SET acked_at = $1 WHERE person_id = $2 AND version = 1`, time.Now().UTC().AddDate(-2, 0, 0).Truncate(time.Microsecond), q.ID)
	ts.mustSQL(t, `UPDATE rule_acks SET acked_at = $1 WHERE person_id = $2 AND version = 2`, time.Now().UTC().AddDate(-1, 0, -2).Truncate(time.Microsecond), q.ID)
	if l := rulesLapse(); l == nil || l.Code != "rules_expired" {
		t.Errorf("lapse a year later: %+v", l)
	}
}

func testTraining(t *testing.T, ts *testServer, o *org) {
	q := ts.mustAnalyst(t, "trainee", true)
	lapsed, _ := ts.mustInvite(t, invitation{label: "lapsed", component: "CBP"})
	ts.mustGrant(t, lapsed.ID, auth.Analyst, "CBP")
	const course = "privacy-e2e"
	ts.mustJSON(t, request{method: "PUT", path: "/api/v1/courses/" + course, cookie: o.dpo.session(),
		body: `{"title":"Privacy basics","valid_months":12,"required_for":["analyst"]}`}, allow, &struct{}{})
	trainingLapses := func(ls []lapse) []lapse {
		var out []lapse
		for _, l := range ls {
			if strings.HasPrefix(l.Code, "training_") && strings.Contains(l.Fix, course) {
				out = append(out, l)
			}
		}
		return out
	}
	access := func(p *person) []lapse {
		var a struct {
			Lapses []lapse `json:"access_lapses"`
		}
		ts.mustJSON(t, request{method: "GET", path: fmt.Sprintf("/api/v1/people/%d/access", p.ID), cookie: o.cpo.session()}, allow, &a)
		return trainingLapses(a.Lapses)
	}
	record := func(by request, p *person, on string) response {
		by.method, by.path = "POST", fmt.Sprintf("/api/v1/people/%d/trainings", p.ID)
		by.body = fmt.Sprintf(`{"course":%q,"completed_on":%q}`, course, on)
		return ts.send(t, by)
	}
	today := time.Now().UTC().Format(time.DateOnly)

	if ls := trainingLapses(ts.mustMe(t, q).Lapses); len(ls) != 1 || ls[0].Code != "training_missing" || ls[0].Fix != "complete the "+course+" course and have it recorded" {
		t.Fatalf("lapses %+v", ls)
	}
	// The course is required of analysts, not of privacy officers.
	if ls := trainingLapses(ts.mustMe(t, o.cpo).Lapses); len(ls) != 0 {
		t.Errorf("the privacy officer's lapses %+v", ls)
	}
	for _, c := range []struct {
		name    string
		by      request
		p       *person
		on      string
		status  int
		message string
	}{
		{name: "ErrOwnByAnalyst", by: request{cookie: q.session()}, p: q, on: today, status: forbid, message: "your role does not allow this (training.manage)"},
		{name: "ErrOwnByOfficer", by: request{cookie: o.cpo.session()}, p: o.cpo, on: today, status: forbid, message: "nobody records their own training"},
		{name: "ErrOtherComponent", by: request{cookie: o.iceCPO.session()}, p: q, on: today, status: forbid, message: "your role does not allow recording training"},
		{name: "ErrFuture", by: request{cookie: o.cpo.session()}, p: q, on: time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly), status: http.StatusBadRequest,
			message: "the completion date must be in the last ten years and not in the future"},
		{name: "ErrBadDate", by: request{cookie: o.cpo.session()}, p: q, on: "last week", status: http.StatusBadRequest, message: "completed_on must be a date, YYYY-MM-DD"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := ts.ledgerSize(t)
			mustStatus(t, c.name, record(c.by, c.p, c.on), c.status, c.message)
			if grew := ts.ledgerSize(t) - before; grew != 0 {
				t.Errorf("the ledger grew by %d", grew)
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		before := ts.ledgerSize(t)
		var rec struct {
			ExpiresAt time.Time `json:"expires_at"`
		}
		r := record(request{cookie: o.cpo.session()}, q, today)
		mustStatus(t, "record", r, http.StatusCreated, "")
		if err := json.Unmarshal(r.body, &rec); err != nil || rec.ExpiresAt.Format(time.DateOnly) != time.Now().UTC().AddDate(1, 0, 0).Format(time.DateOnly) {
			t.Errorf("expires %v (%v)", rec.ExpiresAt, err)
		}
		e := ts.mustOneEntry(t, before, "training.recorded")
		if e.Actor.ID != o.cpo.EmployeeID || e.Data["course"] != course {
			t.Errorf("recorded as %s", e.raw)
		}
		if ls := trainingLapses(ts.mustMe(t, q).Lapses); len(ls) != 0 {
			t.Errorf("lapses after training: %+v", ls)
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		if ls := access(lapsed); len(ls) != 1 || ls[0].Code != "training_missing" {
			t.Fatalf("lapses before %+v", ls)
		}
		mustStatus(t, "record", record(request{cookie: o.dpo.session()}, lapsed, time.Now().UTC().AddDate(-1, -1, 0).Format(time.DateOnly)), http.StatusCreated, "")
		if ls := access(lapsed); len(ls) != 1 || ls[0].Code != "training_expired" || ls[0].Fix != "retake the "+course+" course" {
			t.Errorf("lapses %+v", ls)
		}
	})
}

func testInactivity(t *testing.T, ts *testServer, o *org) {
	n := ts.mustAnalyst(t, "inactive", true)
	ts.mustSQL(t, `UPDATE people SET last_sign_in = $1 WHERE id = $2`, time.Now().UTC().Add(-2*time.Hour).Truncate(time.Microsecond), n.ID)
	before := ts.ledgerSize(t)
	count, err := ts.Identity.SuspendInactive(context.Background(), time.Hour)
	if err != nil || count != 1 {
		t.Fatalf("SuspendInactive: %d, %v; want 1", count, err)
	}
	e := ts.mustOneEntry(t, before, "identity.person_suspended")
	if e.Subject != fmt.Sprintf("person/%d", n.ID) || e.Actor.Kind != "system" || e.Data["sessions_and_tokens_ended"] != float64(1) {
		t.Errorf("recorded as %s", e.raw)
	}
	mustStatus(t, "session", ts.send(t, request{method: "GET", path: "/api/v1/me", cookie: n.session()}), unauth, msgCredential)
	mustStatus(t, "sign in", ts.signInPassword(t, n.EmployeeID, n.Password, request{}), unauth, msgSignIn)
	// Nobody else was inactive; a second run finds nobody.
	if count, err := ts.Identity.SuspendInactive(context.Background(), time.Hour); err != nil || count != 0 {
		t.Errorf("second run: %d, %v", count, err)
	}
	ts.mustJSON(t, request{method: "POST", path: fmt.Sprintf("/api/v1/people/%d/reinstate", n.ID), cookie: o.admin.session(), body: `{"reason":"back from leave"}`}, allow, &struct{}{})
	ts.mustSignIn(t, n, request{})
	ts.mustMe(t, n)
}

func TestIdentity_Recertification(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testRecertification(t, d) })
	}
}

func testRecertification(t *testing.T, d store.Dialect) {
	// A server of its own: closing a campaign suspends every role nobody
	// attested.
	ts := mustStartServer(t, d)
	ts.mustJSON(t, request{method: "POST", path: "/api/v1/components", auth: bearer(adminToken), body: `{"code":"ICE","name":"ICE"}`}, http.StatusCreated, &struct{}{})
	enrol := func(label string, sup int64, role auth.Role, component string, signIn bool) *person {
		p, secret := ts.mustInvite(t, invitation{label: label, component: component, supervisor: sup})
		ts.mustGrant(t, p.ID, role, component)
		ts.mustEnrol(t, p, secret)
		if signIn {
			ts.mustSignIn(t, p, request{})
		}
		return p
	}
	boss := enrol("boss", 0, auth.Supervisor, "ICE", false)
	sup := enrol("sup", boss.ID, auth.Supervisor, "ICE", true)
	a1 := enrol("a1", sup.ID, auth.Analyst, "ICE", false)
	a2 := enrol("a2", sup.ID, auth.Analyst, "ICE", false)
	dpo := enrol("dpo", 0, auth.DepartmentPrivacyOfficer, "", true)

	mustStatus(t, "the supervisor reads people", ts.send(t, request{method: "GET", path: "/api/v1/people", cookie: sup.session()}), allow, "")
	var c struct {
		ID    int64 `json:"id"`
		Items int   `json:"items"`
	}
	mustStatus(t, "a supervisor starts", ts.send(t, request{method: "POST", path: "/api/v1/campaigns", cookie: sup.session(), body: `{"name":"Q1"}`}), forbid, "your role does not allow this (recert.manage)")
	mustStatus(t, "too short", ts.send(t, request{method: "POST", path: "/api/v1/campaigns", auth: bearer(adminToken), body: fmt.Sprintf(`{"name":"Q1","due_at":%q}`, time.Now().Add(time.Hour).Format(time.RFC3339))}),
		http.StatusBadRequest, "the campaign must run for more than a day")
	ts.mustJSON(t, request{method: "POST", path: "/api/v1/campaigns", auth: bearer(adminToken), body: `{"name":"Q1"}`}, http.StatusCreated, &c)
	if c.Items != 5 {
		t.Fatalf("the campaign has %d items, want 5", c.Items)
	}
	var all struct {
		Items []campaignItem `json:"items"`
	}
	ts.mustJSON(t, request{method: "GET", path: fmt.Sprintf("/api/v1/campaigns/%d/items", c.ID), auth: bearer(auditorToken)}, allow, &all)
	itemOf := map[int64]int64{}
	for _, it := range all.Items {
		itemOf[it.PersonID] = it.ID
	}
	var mine struct {
		Items []campaignItem `json:"items"`
	}
	ts.mustJSON(t, request{method: "GET", path: fmt.Sprintf("/api/v1/campaigns/%d/items?mine=1", c.ID), cookie: sup.session()}, allow, &mine)
	var reports []int64
	for _, it := range mine.Items {
		reports = append(reports, it.PersonID)
	}
	if slices.Sort(reports); !slices.Equal(reports, []int64{a1.ID, a2.ID}) {
		t.Errorf("the supervisor must attest %v, want a1 and a2", reports)
	}
	attest := func(by *person, of *person, decision string) response {
		return ts.send(t, request{method: "POST", path: fmt.Sprintf("/api/v1/campaign-items/%d", itemOf[of.ID]), cookie: by.session(), body: fmt.Sprintf(`{"decision":%q}`, decision)})
	}
	for _, c := range []struct {
		name     string
		by, of   *person
		decision string
		status   int
		message  string
	}{
		{"ErrOwnRole", sup, sup, "keep", forbid, "nobody approves or reviews their own request"},
		{"ErrBossRole", sup, boss, "keep", forbid, "nobody approves or reviews a request by someone above them in their supervisor chain"},
		{"ErrOwnRoleByOfficer", dpo, dpo, "keep", forbid, "nobody approves or reviews their own request"},
		{"ErrNotTheSupervisor", dpo, a1, "keep", forbid, "only the person's supervisor attests their roles"},
		{"ErrDecision", sup, a1, "maybe", http.StatusBadRequest, "the decision is keep or revoke"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := ts.ledgerSize(t)
			mustStatus(t, c.name, attest(c.by, c.of, c.decision), c.status, c.message)
			if grew := ts.ledgerSize(t) - before; grew != 0 {
				t.Errorf("the ledger grew by %d", grew)
			}
		})
	}
	grantsOf := func(p *person) string {
		var x struct {
			Grants []struct {
				Role   string `json:"role"`
				Status string `json:"status"`
			} `json:"grants"`
		}
		ts.mustJSON(t, request{method: "GET", path: fmt.Sprintf("/api/v1/people/%d", p.ID), auth: bearer(auditorToken)}, allow, &x)
		return fmt.Sprint(x.Grants)
	}
	t.Run("OKAttest", func(t *testing.T) {
		before := ts.ledgerSize(t)
		mustStatus(t, "keep a1", attest(sup, a1, "keep"), allow, "")
		mustStatus(t, "revoke a2", attest(sup, a2, "revoke"), allow, "")
		mustStatus(t, "keep boss", attest(dpo, boss, "keep"), allow, "")
		es := ts.entriesSince(t, before)
		if got := types(es); !slices.Equal(got, []string{"recert.attested", "recert.attested", "recert.attested"}) || es[1].Data["decision"] != "revoke" || es[1].Actor.ID != sup.EmployeeID {
			t.Errorf("entries %v: %s", got, es[1].raw)
		}
		mustStatus(t, "again", attest(sup, a1, "revoke"), http.StatusConflict, "this role was already attested (keep)")
		// A revoked role ends at once.
		if g := grantsOf(a2); g != "[]" {
			t.Errorf("a2's grants %s", g)
		}
	})
	t.Run("OKClose", func(t *testing.T) {
		before := ts.ledgerSize(t)
		var closed struct {
			Suspended int `json:"grants_suspended"`
		}
		ts.mustJSON(t, request{method: "POST", path: fmt.Sprintf("/api/v1/campaigns/%d/close", c.ID), auth: bearer(adminToken)}, allow, &closed)
		// Nobody attested the supervisor's role or the officer's.
		if closed.Suspended != 2 {
			t.Errorf("%d grants suspended, want 2", closed.Suspended)
		}
		e := ts.mustOneEntry(t, before, "recert.campaign_closed")
		if e.Data["grants_suspended"] != float64(2) {
			t.Errorf("recorded as %s", e.raw)
		}
		// What the supervisor could do a moment ago is refused now.
		mustStatus(t, "the supervisor reads people", ts.send(t, request{method: "GET", path: "/api/v1/people", cookie: sup.session()}), forbid, "your role does not allow this (people.read)")
		me := ts.mustMe(t, sup)
		if len(me.Person.Grants) != 1 || me.Person.Grants[0].Status != "suspended" || !slices.Contains(lapseCodes(me.Lapses), "no_role") {
			t.Errorf("the supervisor: %+v, lapses %v", me.Person.Grants, lapseCodes(me.Lapses))
		}
		for p, want := range map[*person]string{a1: "[{analyst active}]", boss: "[{supervisor active}]", dpo: "[{department_privacy_officer suspended}]"} {
			if g := grantsOf(p); g != want {
				t.Errorf("%s's grants %s, want %s", p.label, g, want)
			}
		}
		mustStatus(t, "close again", ts.send(t, request{method: "POST", path: fmt.Sprintf("/api/v1/campaigns/%d/close", c.ID), auth: bearer(adminToken)}), http.StatusNotFound,
			fmt.Sprintf("there is no open campaign %d", c.ID))
	})
}
