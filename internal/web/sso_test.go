package web_test

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/authn/pivtest"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
	"github.com/probity-dev/probity/internal/web"
)

// TestWeb_RoutePermissions checks that every page and action declares a
// permission that exists, and that sign-in routes are public: without
// them nobody could sign in.
func TestWeb_RoutePermissions(t *testing.T) {
	w, err := web.New(web.Deps{Logger: storetest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	known := append([]auth.Permission{auth.Public, auth.Self}, auth.AllPermissions()...)
	seen := map[string]web.Route{}
	for _, r := range w.Routes() {
		key := r.Method + " " + r.Pattern
		if _, dup := seen[key]; dup {
			t.Errorf("route %s is declared twice", key)
		}
		seen[key] = r
		if r.Perm == "" || !slices.Contains(known, r.Perm) {
			t.Errorf("route %s declares permission %q", key, r.Perm)
		}
		if r.Handler == nil {
			t.Errorf("route %s has no handler", key)
		}
	}
	for _, key := range []string{"GET /auth/oidc/start", "GET /auth/oidc/callback", "GET /auth/piv"} {
		r, ok := seen[key]
		if !ok {
			t.Errorf("route %s is missing", key)
			continue
		}
		if r.Perm != auth.Public {
			t.Errorf("route %s needs %q; a sign-in route must be public", key, r.Perm)
		}
	}
}

// mustWeb returns the pages over a fresh database.
func mustWeb(t *testing.T, deps web.Deps) (*web.Web, *store.Ledger) {
	t.Helper()
	db, l, _ := storetest.MustOpenNew(t, store.SQLite)
	key, err := sealed.ParseKey(sealed.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	ids := db.Identity()
	deps.Identity, deps.Logger = ids, storetest.Logger()
	deps.Authn = authn.New(ids, authn.Config{Secrets: key, Logger: storetest.Logger()})
	w, err := web.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	return w, l
}

func serve(w http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	w.ServeHTTP(rec, r)
	return rec
}

// sessionSet reports whether a response sets a session cookie.
func sessionSet(rec *httptest.ResponseRecorder) bool {
	for _, c := range rec.Result().Cookies() {
		if c.Name == authn.SessionCookie && c.Value != "" {
			return true
		}
	}
	return false
}

func TestWeb_SignInLinks(t *testing.T) {
	t.Run("OKNeither", func(t *testing.T) {
		w, _ := mustWeb(t, web.Deps{SSO: true}) // SSO without a provider is no SSO
		body := serve(w, httptest.NewRequest("GET", "/login", nil)).Body.String()
		if strings.Contains(body, "/auth/oidc/start") || strings.Contains(body, "/auth/piv") {
			t.Errorf("the sign-in page offers sign-in methods that are not configured:\n%s", body)
		}
		for _, p := range []string{"/auth/oidc/start", "/auth/oidc/callback?state=a&code=b", "/auth/piv"} {
			if rec := serve(w, httptest.NewRequest("GET", p, nil)); rec.Code != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 404", p, rec.Code)
			}
		}
	})
	t.Run("OKPIV", func(t *testing.T) {
		w, _ := mustWeb(t, web.Deps{PIV: true})
		body := serve(w, httptest.NewRequest("GET", "/login", nil)).Body.String()
		if !strings.Contains(body, `href="/auth/piv"`) {
			t.Errorf("the sign-in page does not offer PIV sign-in:\n%s", body)
		}
	})
}

func TestWeb_PIVSignIn(t *testing.T) {
	w, l := mustWeb(t, web.Deps{PIV: true})
	ca := pivtest.MustCA(t, "Test PIV CA")
	size := func() int64 {
		n, err := l.Size(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Run("ErrNoTLS", func(t *testing.T) {
		before := size()
		rec := serve(w, httptest.NewRequest("GET", "/auth/piv", nil))
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "no certificate was presented") {
			t.Fatalf("status %d:\n%s", rec.Code, rec.Body)
		}
		if sessionSet(rec) {
			t.Error("a session cookie was set")
		}
		if size() != before {
			t.Error("the ledger grew")
		}
	})
	t.Run("ErrUnverifiedCertificate", func(t *testing.T) {
		// A certificate the TLS stack did not verify (PeerCertificates
		// without VerifiedChains) is no certificate.
		card := ca.MustIssue(t, pivtest.Card{Subject: pkix.Name{CommonName: "X"}, UPN: "1@gov"})
		r := httptest.NewRequest("GET", "/auth/piv", nil)
		r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{card.Leaf}}
		rec := serve(w, r)
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "no certificate was presented") {
			t.Fatalf("status %d:\n%s", rec.Code, rec.Body)
		}
	})
	t.Run("ErrUnknownCertificate", func(t *testing.T) {
		card := ca.MustIssue(t, pivtest.Card{Subject: pkix.Name{CommonName: "MALLORY"}, UPN: "0@gov"})
		r := httptest.NewRequest("GET", "/auth/piv", nil)
		r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{card.Leaf}, VerifiedChains: [][]*x509.Certificate{{card.Leaf, ca.Cert}}}
		before := size()
		rec := serve(w, r)
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "your certificate cannot sign you in") {
			t.Fatalf("status %d:\n%s", rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), "MALLORY") || strings.Contains(rec.Body.String(), "0@gov") {
			t.Error("the refusal repeats the certificate's names")
		}
		if sessionSet(rec) {
			t.Error("a session cookie was set")
		}
		if size() != before+1 {
			t.Errorf("the ledger grew by %d, want 1 (the refusal)", size()-before)
		}
	})
}
