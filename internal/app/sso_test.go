package app_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/app"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/authn/oidctest"
	"github.com/probity-dev/probity/internal/authn/pivtest"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// enrolSSOPerson creates an active person and returns their TOTP secret;
// the enrolment uses the previous time step's code, so the current one is
// free for signing in.
func enrolSSOPerson(t *testing.T, ts *testServer, p identity.Person) string {
	t.Helper()
	ctx := context.Background()
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	p.Email, p.Schedule = p.EmployeeID+"@example.gov", identity.DefaultSchedule()
	_, link, err := ts.Identity.Invite(ctx, admin, p)
	if err != nil {
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

// A browser keeps cookies and follows redirects.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T, tr *http.Transport) *browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	if tr != nil {
		c.Transport = tr
	}
	return &browser{t: t, c: c}
}

// get fetches u and returns the final response's status, URL and body.
func (b *browser) get(u string) (int, *url.URL, string) {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL, string(body)
}

func (b *browser) post(u string, form url.Values) (int, *url.URL, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(u, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL, string(body)
}

// waitRefusal waits until the ledger holds a sign-in refusal recorded by
// method with the given reason and detail after index from.
func waitRefusal(t *testing.T, ts *testServer, from int, method, reason, detail string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n := 0
		for r, err := range ts.Ledger.AllRows(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n <= from {
				continue
			}
			en, err := ledger.Decode(r.Entry)
			if err != nil {
				t.Fatal(err)
			}
			if en.Type == "auth.sign_in_refused" && en.Data["method"] == method && en.Data["reason"] == reason && (detail == "" || en.Data["detail"] == detail) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s refusal (%s, %s) in the ledger within 30s", method, reason, detail)
		}
	}
}

func ledgerRows(t *testing.T, ts *testServer) int {
	t.Helper()
	n := 0
	for _, err := range ts.Ledger.AllRows(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

func TestServer_SingleSignOn(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testSingleSignOn(t, d) })
	}
}

func testSingleSignOn(t *testing.T, d store.Dialect) {
	prov := oidctest.MustStart(t, "probity", "client-secret-0123456789")
	cfg := testConfig(t, d)
	cfg.OIDCIssuer, cfg.OIDCClientID, cfg.OIDCClientSecret = prov.URL, "probity", "client-secret-0123456789"
	cfg.OIDCClaim, cfg.OIDCTrustMFA = "preferred_username", "true"
	ts := startServer(t, cfg)
	base := strings.TrimSuffix(ts.URL, "/")
	secret := enrolSSOPerson(t, ts, identity.Person{EmployeeID: "alice", Name: "Alice Analyst"})

	t.Run("OKLoginPageLink", func(t *testing.T) {
		status, _, body := newBrowser(t, nil).get(base + "/login")
		if status != http.StatusOK || !strings.Contains(body, `href="/auth/oidc/start"`) {
			t.Fatalf("status %d; the sign-in page has no single sign-on link:\n%s", status, body)
		}
		if strings.Contains(body, `href="/auth/piv"`) {
			t.Error("the sign-in page offers PIV sign-in, which is not configured")
		}
	})

	t.Run("OKTrustedSecondFactor", func(t *testing.T) {
		prov.Set(oidctest.Behaviour{Claims: map[string]any{"preferred_username": "alice", "amr": []string{"pwd", "hwk"}}})
		b := newBrowser(t, nil)
		status, final, body := b.get(base + "/auth/oidc/start")
		if status != http.StatusOK || final.Path != "/" || !strings.Contains(body, "Alice Analyst") {
			t.Fatalf("ended at %s with status %d, want Alice's home page:\n%.2000s", final, status, body)
		}
		if _, _, body = b.get(base + "/account"); !strings.Contains(body, "oidc (this one)") {
			t.Errorf("the account page does not show this session as a single sign-on one:\n%.3000s", body)
		}
	})

	t.Run("OKProbitySecondFactor", func(t *testing.T) {
		prov.Set(oidctest.Behaviour{Claims: map[string]any{"preferred_username": "alice", "amr": []string{"pwd"}}})
		b := newBrowser(t, nil)
		status, final, _ := b.get(base + "/auth/oidc/start")
		if status != http.StatusOK || final.Path != "/login/code" {
			t.Fatalf("ended at %s with status %d, want the code page", final, status)
		}
		code, _ := authn.TOTPCode(secret, time.Now())
		status, final, body := b.post(base+"/login/code", url.Values{"code": {code}})
		if status != http.StatusOK || final.Path != "/" || !strings.Contains(body, "Alice Analyst") {
			t.Fatalf("ended at %s with status %d, want Alice's home page:\n%.2000s", final, status, body)
		}
	})

	t.Run("ErrProviderDenied", func(t *testing.T) {
		prov.Set(oidctest.Behaviour{Error: "access_denied"})
		from := ledgerRows(t, ts)
		status, final, body := newBrowser(t, nil).get(base + "/auth/oidc/start")
		if status != http.StatusUnauthorized || final.Path != "/auth/oidc/callback" || !strings.Contains(body, "your identity provider did not sign you in") {
			t.Fatalf("ended at %s with status %d:\n%.2000s", final, status, body)
		}
		if !strings.Contains(body, `href="/auth/oidc/start"`) {
			t.Error("the refusal page does not offer to start again")
		}
		waitRefusal(t, ts, from, "oidc", "sso_refused", "provider_error:access_denied")
	})

	t.Run("ErrUnknownEmployee", func(t *testing.T) {
		prov.Set(oidctest.Behaviour{Claims: map[string]any{"preferred_username": "mallory", "amr": []string{"mfa"}}})
		from := ledgerRows(t, ts)
		status, _, body := newBrowser(t, nil).get(base + "/auth/oidc/start")
		if status != http.StatusUnauthorized || !strings.Contains(body, "no active Probity account is linked to your identity") {
			t.Fatalf("status %d:\n%.2000s", status, body)
		}
		if strings.Contains(body, "mallory") {
			t.Error("the refusal repeats the claimed identity")
		}
		waitRefusal(t, ts, from, "oidc", "sso_refused", "unknown_person")
		if _, err := ts.Identity.PersonBySignOnID(context.Background(), "mallory"); err == nil {
			t.Error("an account was created for an unknown person")
		}
	})

	// Someone who gets another browser to open the callback of a sign-in
	// they started must not sign that browser in (login CSRF); the real
	// browser can still finish.
	t.Run("ErrOtherBrowser", func(t *testing.T) {
		prov.Set(oidctest.Behaviour{Claims: map[string]any{"preferred_username": "alice", "amr": []string{"mfa"}}})
		owner := newBrowser(t, nil)
		owner.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := owner.c.Get(base + "/auth/oidc/start")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var stateCookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == authn.OIDCStateCookie {
				stateCookie = c
			}
		}
		if resp.StatusCode != http.StatusSeeOther || stateCookie == nil {
			t.Fatalf("start: status %d, cookies %v", resp.StatusCode, resp.Cookies())
		}
		if !stateCookie.Secure || !stateCookie.HttpOnly || stateCookie.SameSite != http.SameSiteLaxMode || stateCookie.Path != "/" || stateCookie.MaxAge <= 0 || stateCookie.MaxAge > 600 {
			t.Errorf("state cookie %+v: want Secure, HttpOnly, SameSite=Lax, Path=/, at most 10 minutes", stateCookie)
		}
		callback := prov.Authorize(t, resp.Header.Get("Location")).String()

		from := ledgerRows(t, ts)
		status, _, body := newBrowser(t, nil).get(callback)
		if status != http.StatusUnauthorized || !strings.Contains(body, "started in another browser") {
			t.Fatalf("another browser: status %d:\n%.2000s", status, body)
		}
		waitRefusal(t, ts, from, "oidc", "sso_refused", "state_mismatch")

		owner.c.CheckRedirect = nil
		status, final, body := owner.get(callback)
		if status != http.StatusOK || final.Path != "/" || !strings.Contains(body, "Alice Analyst") {
			t.Fatalf("the browser that started: ended at %s with status %d:\n%.2000s", final, status, body)
		}
		// The state is used up.
		from = ledgerRows(t, ts)
		if status, _, _ := owner.get(callback); status != http.StatusUnauthorized {
			t.Errorf("replayed callback: status %d, want 401", status)
		}
		waitRefusal(t, ts, from, "oidc", "sso_refused", "")
	})
}

func TestServer_SingleSignOnConfig(t *testing.T) {
	t.Run("OKRedirectFromPublicURL", func(t *testing.T) {
		prov := oidctest.MustStart(t, "probity", "")
		cfg := testConfig(t, store.SQLite)
		cfg.OIDCIssuer, cfg.OIDCClientID, cfg.PublicURL = prov.URL, "probity", "https://probity.example.gov/"
		ts := startServer(t, cfg)
		c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(ts.URL + "auth/oidc/start")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		u, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || u.Query().Get("redirect_uri") != "https://probity.example.gov/auth/oidc/callback" {
			t.Fatalf("redirect to %s, want the public URL's callback", resp.Header.Get("Location"))
		}
	})
	t.Run("OKNotConfigured", func(t *testing.T) {
		ts := startServer(t, testConfig(t, store.SQLite))
		for _, p := range []string{"/auth/oidc/start", "/auth/oidc/callback?state=x&code=y", "/auth/piv"} {
			if status, _ := ts.do(t, "GET", p, "", ""); status != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 404", p, status)
			}
		}
	})
	t.Run("ErrHalfConfigured", func(t *testing.T) {
		cfg := testConfig(t, store.SQLite)
		cfg.OIDCIssuer = "https://issuer.example"
		if _, err := app.OpenServer(context.Background(), cfg, storetest.Logger()); err == nil || !strings.Contains(err.Error(), "-oidc-client-id") {
			t.Fatalf("open = %v, want an error naming -oidc-client-id", err)
		}
	})
}

// A pki is the certificates of a PIV test: the server's, the CA that
// issues cards, and another CA.
type pki struct {
	server, cards, other *pivtest.CA
	serverCert           tls.Certificate
}

func newPKI(t *testing.T) *pki {
	p := &pki{server: pivtest.MustCA(t, "Test server CA"), cards: pivtest.MustCA(t, "Test PIV CA"), other: pivtest.MustCA(t, "Another CA")}
	p.serverCert = p.server.MustServer(t)
	return p
}

// transport trusts the server's CA and offers card, if any, when the
// server asks for a certificate from a CA that issued it (as browsers do).
func (p *pki) transport(card *tls.Certificate) *http.Transport {
	roots := x509.NewCertPool()
	roots.AddCert(p.server.Cert)
	tc := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if card != nil {
		tc.Certificates = []tls.Certificate{*card}
	}
	return &http.Transport{TLSClientConfig: tc}
}

// forcing presents card whatever CAs the server asks for.
func (p *pki) forcing(card *tls.Certificate) *http.Transport {
	tr := p.transport(nil)
	tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return card, nil }
	return tr
}

func TestServer_PIV(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testPIV(t, d) })
	}
}

func testPIV(t *testing.T, d store.Dialect) {
	p := newPKI(t)
	dir := t.TempDir()
	certPEM, keyPEM := pivtest.PEM(t, p.serverCert)
	cfg := testConfig(t, d)
	cfg.TLSCert, cfg.TLSKey, cfg.PIVCA = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"), filepath.Join(dir, "piv-ca.pem")
	for f, b := range map[string][]byte{cfg.TLSCert: certPEM, cfg.TLSKey: keyPEM, cfg.PIVCA: p.cards.PEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ts := startServer(t, cfg)
	if !strings.HasPrefix(ts.URL, "https://") {
		t.Fatalf("the server listens at %s, want HTTPS", ts.URL)
	}
	base := strings.TrimSuffix(ts.URL, "/")
	bobSubject := pkix.Name{CommonName: "BOB.BUILDER.2222222222", Organization: []string{"U.S. Government"}, Country: []string{"US"}}
	enrolSSOPerson(t, ts, identity.Person{EmployeeID: "alice", Name: "Alice Analyst", PIVUPN: "1111111111@gov"})
	enrolSSOPerson(t, ts, identity.Person{EmployeeID: "bob", Name: "Bob Builder", PIVSubject: bobSubject.String()})

	for _, tc := range []struct {
		name, who string
		card      pivtest.Card
	}{
		{"OKUPN", "Alice Analyst", pivtest.Card{Subject: pkix.Name{CommonName: "ALICE.A.1111111111"}, UPN: "1111111111@gov"}},
		{"OKSubject", "Bob Builder", pivtest.Card{Subject: bobSubject}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card := p.cards.MustIssue(t, tc.card)
			b := newBrowser(t, p.transport(&card))
			status, final, body := b.get(base + "/auth/piv")
			if status != http.StatusOK || final.Path != "/" || !strings.Contains(body, tc.who) {
				t.Fatalf("ended at %s with status %d, want %s's home page:\n%.2000s", final, status, tc.who, body)
			}
			if _, _, body = b.get(base + "/account"); !strings.Contains(body, "piv (this one)") {
				t.Errorf("the account page does not show this session as a PIV one")
			}
		})
	}

	t.Run("ErrUnknownCertificate", func(t *testing.T) {
		card := p.cards.MustIssue(t, pivtest.Card{Subject: pkix.Name{CommonName: "MALLORY"}, UPN: "0000000000@gov"})
		from := ledgerRows(t, ts)
		status, _, body := newBrowser(t, p.transport(&card)).get(base + "/auth/piv")
		if status != http.StatusUnauthorized || !strings.Contains(body, "your certificate cannot sign you in") {
			t.Fatalf("status %d:\n%.2000s", status, body)
		}
		waitRefusal(t, ts, from, "piv", "unknown_certificate", "")
	})

	t.Run("ErrNoCertificate", func(t *testing.T) {
		// Without a card the connection still works: password and single
		// sign-on users have none.
		b := newBrowser(t, p.transport(nil))
		status, _, body := b.get(base + "/login")
		if status != http.StatusOK || !strings.Contains(body, `href="/auth/piv"`) {
			t.Fatalf("sign-in page: status %d, or no PIV link:\n%.2000s", status, body)
		}
		from := ledgerRows(t, ts)
		status, _, body = b.get(base + "/auth/piv")
		if status != http.StatusUnauthorized || !strings.Contains(body, "no certificate was presented") {
			t.Fatalf("status %d:\n%.2000s", status, body)
		}
		if n := ledgerRows(t, ts); n != from {
			t.Errorf("a visit without a certificate grew the ledger from %d to %d entries", from, n)
		}
	})

	t.Run("ErrOtherCANotOffered", func(t *testing.T) {
		// The server names the CAs it accepts, so a browser does not offer
		// a card from another one.
		card := p.other.MustIssue(t, pivtest.Card{Subject: bobSubject, UPN: "1111111111@gov"})
		status, _, body := newBrowser(t, p.transport(&card)).get(base + "/auth/piv")
		if status != http.StatusUnauthorized || !strings.Contains(body, "no certificate was presented") {
			t.Fatalf("status %d:\n%.2000s", status, body)
		}
	})

	// The TLS handshake refuses certificates that do not verify, when a
	// client presents one anyway: nothing reaches Probity.
	for _, tc := range []struct {
		name string
		ca   *pivtest.CA
		card pivtest.Card
	}{
		{"ErrOtherCA", p.other, pivtest.Card{Subject: bobSubject, UPN: "1111111111@gov"}},
		{"ErrExpired", p.cards, pivtest.Card{Subject: bobSubject, UPN: "1111111111@gov", NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}},
		{"ErrNotForClientAuth", p.cards, pivtest.Card{Subject: bobSubject, UPN: "1111111111@gov", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card := tc.ca.MustIssue(t, tc.card)
			from := ledgerRows(t, ts)
			c := &http.Client{Transport: p.forcing(&card), Timeout: 10 * time.Second}
			resp, err := c.Get(base + "/auth/piv")
			if err == nil {
				resp.Body.Close()
				t.Fatalf("the request succeeded with status %d; want the handshake to fail", resp.StatusCode)
			}
			if !strings.Contains(err.Error(), "tls:") {
				t.Errorf("error %v, want a TLS alert", err)
			}
			if n := ledgerRows(t, ts); n != from {
				t.Errorf("the ledger grew from %d to %d entries", from, n)
			}
		})
	}

	t.Run("ErrNeedsTLS", func(t *testing.T) {
		cfg := testConfig(t, store.SQLite)
		cfg.PIVCA = filepath.Join(dir, "piv-ca.pem")
		if _, err := app.OpenServer(context.Background(), cfg, storetest.Logger()); err == nil || !strings.Contains(err.Error(), "-piv-ca needs -tls-cert") {
			t.Fatalf("open = %v, want an error saying PIV needs TLS", err)
		}
	})
	t.Run("ErrBadBundle", func(t *testing.T) {
		cfg := testConfig(t, store.SQLite)
		cfg.TLSCert, cfg.TLSKey, cfg.PIVCA = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"), filepath.Join(dir, "server.key")
		if _, err := app.OpenServer(context.Background(), cfg, storetest.Logger()); err == nil || !strings.Contains(err.Error(), "holds no PEM certificates") {
			t.Fatalf("open = %v, want an error about the bundle", err)
		}
	})
}
