package authn_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/authn/oidctest"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

const (
	clientID     = "probity-test"
	clientSecret = "probity-test-client-secret"
	redirectURL  = "https://probity.test/auth/oidc/callback"
)

// The messages a refused single sign-on shows.
const (
	msgRefused = "single sign-on did not sign you in: the identity provider's answer could not be accepted, or no active Probity account is linked to your identity; try again, and if it keeps failing tell your administrator"
	msgExpired = "this single sign-on has expired or was already used, or was started in another browser; start again"
	msgDenied  = "your identity provider did not sign you in; start again, or sign in another way"
)

// An oidcEnv is an authentication service, a provider, and people.
type oidcEnv struct {
	*ssoEnv
	Prov         *oidctest.Provider
	Trust, Plain *authn.OIDC // with and without trusting the provider's MFA
	Alice        identity.Person
	AliceTOTP    string
	Bob          identity.Person // locked
}

func mustOIDCEnv(t *testing.T, d store.Dialect, throttle store.ThrottlePolicy) *oidcEnv {
	t.Helper()
	e := &oidcEnv{ssoEnv: mustSSOEnv(t, d, throttle), Prov: oidctest.MustStart(t, clientID, clientSecret)}
	var err error
	cfg := authn.OIDCConfig{Issuer: e.Prov.URL, ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL}
	if e.Plain, err = e.Svc.NewOIDC(cfg); err != nil {
		t.Fatal(err)
	}
	cfg.TrustMFA = true
	if e.Trust, err = e.Svc.NewOIDC(cfg); err != nil {
		t.Fatal(err)
	}
	e.Alice, e.AliceTOTP = e.mustPerson(t, identity.Person{EmployeeID: "alice", Name: "Alice Analyst"})
	e.Bob, _ = e.mustPerson(t, identity.Person{EmployeeID: "bob", Name: "Bob Locked"})
	if err := e.IDs.SetStatus(context.Background(), e.Admin, e.Bob.ID, identity.Locked, "test: locked"); err != nil {
		t.Fatal(err)
	}
	return e
}

// authorize begins a sign-in and follows the provider's authorization,
// returning the callback's query and the state the browser keeps.
func (e *oidcEnv) authorize(t *testing.T, o *authn.OIDC, c authn.Client) (url.Values, string) {
	t.Helper()
	u, state, err := o.Begin(context.Background(), c)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	au, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := au.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") != state {
		t.Fatalf("the authorization URL lacks PKCE, nonce or state: %s", u)
	}
	if !strings.Contains(" "+q.Get("scope")+" ", " openid ") {
		t.Fatalf("the authorization URL does not ask for the openid scope: %s", u)
	}
	back := e.Prov.Authorize(t, u)
	if !strings.HasPrefix(back.String(), redirectURL+"?") {
		t.Fatalf("the provider sent the browser to %s", back)
	}
	return back.Query(), state
}

func client(i int) authn.Client {
	return authn.Client{Addr: fmt.Sprintf("192.0.2.%d", i), UserAgent: "test browser"}
}

func TestOIDC_Finish(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testOIDCFinish(t, d) })
	}
}

func testOIDCFinish(t *testing.T, d store.Dialect) {
	e := mustOIDCEnv(t, d, store.ThrottlePolicy{})
	ctx := context.Background()
	mfa := map[string]any{"employee_id": "alice", "amr": []string{"pwd", "mfa"}}

	t.Run("OKTrustedSecondFactor", func(t *testing.T) {
		c := client(1)
		e.Prov.Set(oidctest.Behaviour{Claims: mfa})
		q, state := e.authorize(t, e.Trust, c)
		res, err := e.Trust.Finish(ctx, q, state, c, "")
		if err != nil {
			t.Fatalf("finish: %v", err)
		}
		if res.Session == nil || res.Pending != "" {
			t.Fatalf("result %+v, want a session", res)
		}
		a, err := e.IDs.SessionPrincipal(ctx, res.Session.Secret, store.DefaultSessionPolicy)
		if err != nil || a.Person.ID != e.Alice.ID {
			t.Fatalf("the session is not Alice's: %+v, %v", a.Person, err)
		}
		if res.Session.Session.Method != "oidc" {
			t.Errorf("session method %q, want oidc", res.Session.Session.Method)
		}
		got := entriesFrom(t, e.Ledger, c.Addr, "auth.signed_in")
		if len(got) != 1 || got[0].Data["method"] != "oidc" || got[0].Subject != fmt.Sprintf("person/%d", e.Alice.ID) {
			t.Errorf("ledger entries %+v, want one auth.signed_in by oidc for Alice", got)
		}
	})

	t.Run("OKProbitySecondFactor", func(t *testing.T) {
		for i, tc := range []struct {
			name   string
			o      *authn.OIDC
			claims map[string]any
		}{
			{"NotTrusted", e.Plain, mfa},
			{"NoSecondFactorAsserted", e.Trust, map[string]any{"employee_id": "alice", "amr": []string{"pwd"}}},
			{"NoAMR", e.Trust, map[string]any{"employee_id": "alice"}},
			{"AMRNotAList", e.Trust, map[string]any{"employee_id": "alice", "amr": "mfa"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := client(10 + i)
				e.Prov.Set(oidctest.Behaviour{Claims: tc.claims})
				q, state := e.authorize(t, tc.o, c)
				before := e.liveSessions(t, e.Alice.ID)
				res, err := tc.o.Finish(ctx, q, state, c, "")
				if err != nil {
					t.Fatalf("finish: %v", err)
				}
				if res.Session != nil || res.Pending == "" {
					t.Fatalf("result %+v, want a pending second-factor step", res)
				}
				if n := e.liveSessions(t, e.Alice.ID); n != before {
					t.Fatalf("a session started before the second factor (%d, was %d)", n, before)
				}
				p, err := e.IDs.PendingMFA(ctx, res.Pending)
				if err != nil || p.PersonID != e.Alice.ID || p.Method != "oidc" {
					t.Fatalf("pending %+v, %v; want Alice by oidc", p, err)
				}
				if i > 0 {
					return // a TOTP code works once: the first case goes on with it
				}
				// The next time step: the enrolment used the current one.
				code, _ := authn.TOTPCode(e.AliceTOTP, time.Now().Add(30*time.Second))
				done, err := e.Svc.FinishSignIn(ctx, res.Pending, code, c)
				if err != nil {
					t.Fatalf("second factor: %v", err)
				}
				if done.Session.Method != "oidc" || done.Session.PersonID != e.Alice.ID {
					t.Errorf("session %+v, want Alice by oidc", done.Session)
				}
			})
		}
	})

	t.Run("OKClaimConfigured", func(t *testing.T) {
		c := client(20)
		o, err := e.Svc.NewOIDC(authn.OIDCConfig{Issuer: e.Prov.URL, ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL, TrustMFA: true, EmployeeIDClaim: "preferred_username"})
		if err != nil {
			t.Fatal(err)
		}
		// The default claim names someone else: only the configured one counts.
		e.Prov.Set(oidctest.Behaviour{Claims: map[string]any{"preferred_username": "alice", "employee_id": "bob", "amr": []string{"hwk"}}})
		q, state := e.authorize(t, o, c)
		res, err := o.Finish(ctx, q, state, c, "")
		if err != nil || res.Session == nil || res.Session.Session.PersonID != e.Alice.ID {
			t.Fatalf("finish = %+v, %v; want Alice's session", res, err)
		}
	})

	t.Run("ErrReplayedState", func(t *testing.T) {
		c := client(21)
		e.Prov.Set(oidctest.Behaviour{Claims: mfa})
		q, state := e.authorize(t, e.Trust, c)
		if _, err := e.Trust.Finish(ctx, q, state, c, ""); err != nil {
			t.Fatal(err)
		}
		tokens, sessions := e.Prov.IDTokens(), e.liveSessions(t, e.Alice.ID)
		res, err := e.Trust.Finish(ctx, q, state, c, "")
		if fault.CodeOf(err) != fault.Unauthenticated || fault.MessageOf(err) != msgExpired || res.Session != nil {
			t.Fatalf("replay = %+v, %v; want refused", res, err)
		}
		if e.Prov.IDTokens() != tokens || e.liveSessions(t, e.Alice.ID) != sessions {
			t.Error("the replayed callback reached the provider or started a session")
		}
		got := entriesFrom(t, e.Ledger, c.Addr, "auth.sign_in_refused")
		if len(got) != 2 || got[0].Type != "auth.signed_in" || got[1].Data["detail"] != "unknown_or_used_state" {
			t.Errorf("ledger entries %+v, want a sign-in then a refusal (unknown_or_used_state)", got)
		}
	})

	refusals := []struct {
		name   string
		b      oidctest.Behaviour
		attack func(t *testing.T, q url.Values, cookie *string)
		detail string
		msg    string
		person int64 // the person the refusal is recorded against
	}{
		{name: "ErrUnknownEmployee", b: oidctest.Behaviour{Claims: map[string]any{"employee_id": "nobody", "amr": []string{"mfa"}}}, detail: "unknown_person", msg: msgRefused},
		// The claim names an employee ID, not an email address.
		{name: "ErrEmailForEmployeeID", b: oidctest.Behaviour{Claims: map[string]any{"employee_id": "alice@example.gov", "amr": []string{"mfa"}}}, detail: "unknown_person", msg: msgRefused},
		{name: "ErrNoEmployeeIDClaim", b: oidctest.Behaviour{Claims: map[string]any{"amr": []string{"mfa"}}}, detail: "no_employee_id_claim", msg: msgRefused},
		{name: "ErrEmployeeIDNotText", b: oidctest.Behaviour{Claims: map[string]any{"employee_id": []string{"alice"}}}, detail: "no_employee_id_claim", msg: msgRefused},
		{name: "ErrAccountLocked", b: oidctest.Behaviour{Claims: map[string]any{"employee_id": "bob", "amr": []string{"mfa"}}}, detail: "account_not_active", msg: msgRefused, person: -1},
		{name: "ErrBadSignature", b: oidctest.Behaviour{Claims: mfa, SigningKey: oidctest.NewKey(t)}, detail: "bad_signature", msg: msgRefused},
		{name: "ErrWrongAudience", b: oidctest.Behaviour{Claims: mfa, Tamper: func(c map[string]any) { c["aud"] = "another-client" }}, detail: "wrong_audience", msg: msgRefused},
		{name: "ErrOtherAudienceWithoutAZP", b: oidctest.Behaviour{Claims: mfa, Tamper: func(c map[string]any) { c["aud"] = []string{clientID, "another-client"} }}, detail: "wrong_authorized_party", msg: msgRefused},
		{name: "ErrWrongIssuer", b: oidctest.Behaviour{Claims: mfa, Tamper: func(c map[string]any) { c["iss"] = "https://issuer.example" }}, detail: "wrong_issuer", msg: msgRefused},
		{name: "ErrExpiredToken", b: oidctest.Behaviour{Claims: mfa, Tamper: func(c map[string]any) {
			c["iat"], c["exp"] = time.Now().Add(-20*time.Minute).Unix(), time.Now().Add(-10*time.Minute).Unix()
		}}, detail: "token_expired", msg: msgRefused},
		{name: "ErrNonceMismatch", b: oidctest.Behaviour{Claims: mfa, Tamper: func(c map[string]any) { c["nonce"] = "a-nonce-from-another-sign-in" }}, detail: "nonce_mismatch", msg: msgRefused},
		{name: "ErrNoNonce", b: oidctest.Behaviour{Claims: mfa, Tamper: func(c map[string]any) { delete(c, "nonce") }}, detail: "nonce_mismatch", msg: msgRefused},
		{name: "ErrProviderDenied", b: oidctest.Behaviour{Error: "access_denied"}, detail: "provider_error:access_denied", msg: msgDenied},
		{name: "ErrProviderOtherError", b: oidctest.Behaviour{Error: "<b>made up</b>"}, detail: "provider_error:other", msg: msgDenied},
		{name: "ErrNoCode", b: oidctest.Behaviour{Claims: mfa}, attack: func(t *testing.T, q url.Values, _ *string) { q.Del("code") }, detail: "no_code", msg: msgRefused},
		{name: "ErrStateMismatch", b: oidctest.Behaviour{Claims: mfa}, attack: func(t *testing.T, q url.Values, cookie *string) { *cookie = "state-of-another-browser" }, detail: "state_mismatch", msg: msgExpired},
		{name: "ErrNoStateCookie", b: oidctest.Behaviour{Claims: mfa}, attack: func(t *testing.T, q url.Values, cookie *string) { *cookie = "" }, detail: "state_mismatch", msg: msgExpired},
		{name: "ErrNoState", b: oidctest.Behaviour{Claims: mfa}, attack: func(t *testing.T, q url.Values, cookie *string) { q.Del("state"); *cookie = "" }, detail: "state_mismatch", msg: msgExpired},
		{name: "ErrForgedState", b: oidctest.Behaviour{Claims: mfa}, attack: func(t *testing.T, q url.Values, cookie *string) {
			q.Set("state", "forged-state")
			*cookie = "forged-state"
		}, detail: "unknown_or_used_state", msg: msgExpired},
		// A code stolen from one sign-in and injected into another: the
		// provider refuses it, as the other sign-in's PKCE verifier does
		// not match the code's challenge.
		{name: "ErrCodeInjectionPKCE", b: oidctest.Behaviour{Claims: mfa}, attack: func(t *testing.T, q url.Values, cookie *string) {
			_, other, err := e.Trust.Begin(context.Background(), client(99))
			if err != nil {
				t.Fatal(err)
			}
			q.Set("state", other)
			*cookie = other
		}, detail: "code_exchange_failed:invalid_grant", msg: msgRefused},
		// Last: it moves the clock on.
		{name: "ErrExpiredState", b: oidctest.Behaviour{Claims: mfa}, attack: func(t *testing.T, q url.Values, cookie *string) {
			e.Clock.Advance(store.OIDCLoginLifetime + time.Second)
		}, detail: "unknown_or_used_state", msg: msgExpired},
	}
	for i, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			c := client(100 + i)
			e.Prov.Set(tc.b)
			q, state := e.authorize(t, e.Trust, c)
			cookie := state
			if tc.attack != nil {
				tc.attack(t, q, &cookie)
			}
			people, alice, bob, tokens := e.peopleCount(t), e.liveSessions(t, e.Alice.ID), e.liveSessions(t, e.Bob.ID), e.Prov.IDTokens()
			res, err := e.Trust.Finish(ctx, q, cookie, c, "")
			if err == nil || res.Session != nil || res.Pending != "" {
				t.Fatalf("finish = %+v, %v; want a refusal", res, err)
			}
			if fault.CodeOf(err) != fault.Unauthenticated || fault.MessageOf(err) != tc.msg {
				t.Errorf("refusal %s %q, want unauthenticated %q", fault.CodeOf(err), fault.MessageOf(err), tc.msg)
			}
			if e.peopleCount(t) != people {
				t.Error("an account was created")
			}
			if e.liveSessions(t, e.Alice.ID) != alice || e.liveSessions(t, e.Bob.ID) != bob {
				t.Error("a session was started")
			}
			en := mustRefusal(t, e.Ledger, c.Addr, "oidc", "sso_refused", tc.detail)
			wantSubject := "account/unknown"
			if tc.person == -1 {
				wantSubject = fmt.Sprintf("person/%d", e.Bob.ID)
			}
			if en.Subject != wantSubject {
				t.Errorf("refusal subject %q, want %q", en.Subject, wantSubject)
			}
			if tc.detail == "code_exchange_failed:invalid_grant" && e.Prov.IDTokens() != tokens {
				t.Error("the provider issued an ID token for an injected code")
			}
		})
	}
}

func TestOIDC_Throttle(t *testing.T) {
	e := mustOIDCEnv(t, store.SQLite, store.ThrottlePolicy{Window: 15 * time.Minute, MaxAccount: 5, MaxAddr: 3, LockoutTime: 15 * time.Minute})
	ctx := context.Background()
	c := client(1)
	e.Prov.Set(oidctest.Behaviour{Error: "access_denied"})
	for i := range 3 {
		q, state := e.authorize(t, e.Trust, c)
		_, err := e.Trust.Finish(ctx, q, state, c, "")
		want := fault.Unauthenticated
		if i == 2 {
			want = fault.RateLimited // the refusal that starts the lockout says so
		}
		if fault.CodeOf(err) != want {
			t.Fatalf("refusal %d: %v, want %s", i+1, err, want)
		}
	}
	n := len(entries(t, e.Ledger))
	if _, _, err := e.Trust.Begin(ctx, c); fault.CodeOf(err) != fault.RateLimited {
		t.Errorf("begin from a locked-out address: %v, want rate limited", err)
	}
	_, err := e.Trust.Finish(ctx, url.Values{"state": {"x"}, "error": {"access_denied"}}, "x", c, "")
	if fault.CodeOf(err) != fault.RateLimited {
		t.Errorf("callback from a locked-out address: %v, want rate limited", err)
	}
	if len(entries(t, e.Ledger)) != n {
		t.Error("refusals from a locked-out address grew the ledger")
	}
	// Another address is not affected.
	e.Prov.Set(oidctest.Behaviour{Claims: map[string]any{"employee_id": "alice", "amr": []string{"mfa"}}})
	q, state := e.authorize(t, e.Trust, client(2))
	if _, err := e.Trust.Finish(ctx, q, state, client(2), ""); err != nil {
		t.Errorf("sign-in from another address: %v", err)
	}
}

func TestOIDC_Discovery(t *testing.T) {
	e := mustSSOEnv(t, store.SQLite, store.ThrottlePolicy{})
	t.Run("ErrUnreachable", func(t *testing.T) {
		// Nothing listens on port 1: Probity starts anyway, and says single
		// sign-on is unavailable when someone tries it.
		o, err := e.Svc.NewOIDC(authn.OIDCConfig{Issuer: "http://127.0.0.1:1", ClientID: clientID, RedirectURL: redirectURL})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = o.Begin(context.Background(), client(1))
		if fault.CodeOf(err) != fault.Unavailable || !strings.Contains(fault.MessageOf(err), "cannot reach the identity provider") {
			t.Fatalf("begin = %v, want unavailable", err)
		}
	})
	t.Run("ErrProviderDown", func(t *testing.T) {
		// A provider that answers with errors is not asked again at once:
		// sign-ins meanwhile fail fast.
		var hits atomic.Int32
		down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		}))
		defer down.Close()
		o, err := e.Svc.NewOIDC(authn.OIDCConfig{Issuer: down.URL, ClientID: clientID, RedirectURL: redirectURL})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, _, err := o.Begin(context.Background(), client(3)); fault.CodeOf(err) != fault.Unavailable {
				t.Fatalf("begin = %v, want unavailable", err)
			}
		}
		if n := hits.Load(); n != 1 {
			t.Errorf("the provider was asked %d times, want once", n)
		}
	})
	t.Run("OKLater", func(t *testing.T) {
		// Discovery is retried on the next use.
		prov := oidctest.MustStart(t, clientID, clientSecret)
		o, err := e.Svc.NewOIDC(authn.OIDCConfig{Issuer: prov.URL, ClientID: clientID, ClientSecret: clientSecret})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := o.Begin(context.Background(), client(2)); fault.CodeOf(err) != fault.Unavailable {
			t.Fatalf("begin without a redirect URL = %v, want unavailable", err)
		}
		o.SetRedirectURL(redirectURL)
		u, _, err := o.Begin(context.Background(), client(2))
		if err != nil || !strings.HasPrefix(u, prov.URL+"/authorize?") {
			t.Fatalf("begin = %q, %v", u, err)
		}
	})
	t.Run("ErrConfig", func(t *testing.T) {
		for _, cfg := range []authn.OIDCConfig{
			{Issuer: "", ClientID: clientID},
			{Issuer: "ftp://issuer.example", ClientID: clientID},
			{Issuer: "https://issuer.example"},
		} {
			if _, err := e.Svc.NewOIDC(cfg); err == nil {
				t.Errorf("NewOIDC(%+v) succeeded", cfg)
			}
		}
	})
}
