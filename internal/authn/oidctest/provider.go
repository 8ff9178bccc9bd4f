// Package oidctest is an OpenID Connect provider for tests, listening on
// 127.0.0.1: discovery, a JWKS, an authorization endpoint that approves
// at once and redirects back with a code, and a token endpoint that checks
// the PKCE code verifier (S256) and returns a real RS256-signed ID token.
// Tests change what it answers with [Provider.Set], to play a provider
// that misbehaves or an attacker in the middle.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// A Behaviour is what the provider does with the next authorizations.
type Behaviour struct {
	// Claims are added to the ID token (the employee ID claim, amr, …).
	Claims map[string]any
	// Tamper has the last word on the ID token's claims before signing:
	// change the audience, the expiry, the nonce, ….
	Tamper func(claims map[string]any)
	// SigningKey signs ID tokens instead of the key the JWKS publishes
	// (under the published key ID): a bad signature.
	SigningKey *rsa.PrivateKey
	// Error makes the authorization endpoint send the browser back with
	// this error code (access_denied, say) instead of a code.
	Error string
}

// A Provider is a running test provider.
type Provider struct {
	// URL is the issuer (no trailing slash).
	URL          string
	ClientID     string
	ClientSecret string

	srv *httptest.Server
	key *rsa.PrivateKey
	kid string

	mu     sync.Mutex
	b      Behaviour
	grants map[string]*grant
	tokens int // ID tokens issued
}

type grant struct {
	redirectURI, challenge, nonce string
	b                             Behaviour
	used                          bool
	expires                       time.Time
}

// MustStart starts a provider for a client with the given ID and secret
// and stops it when tb ends.
func MustStart(tb testing.TB, clientID, clientSecret string) *Provider {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	p := &Provider{ClientID: clientID, ClientSecret: clientSecret, key: key, kid: "test-key-1", grants: map[string]*grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux) // 127.0.0.1
	p.URL = p.srv.URL
	tb.Cleanup(p.srv.Close)
	return p
}

// NewKey returns a new RSA key, for [Behaviour.SigningKey].
func NewKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// Set sets what the provider does with the next authorizations.
func (p *Provider) Set(b Behaviour) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.b = b
}

// IDTokens returns how many ID tokens the provider has issued.
func (p *Provider) IDTokens() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokens
}

// Authorize follows an authorization URL as a browser would and returns
// where the provider sends the browser back (the callback URL with its
// code or error, and state).
func (p *Provider) Authorize(tb testing.TB, authURL string) *url.URL {
	tb.Helper()
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		tb.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		tb.Fatalf("authorize: status %d, want 302", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		tb.Fatalf("authorize: %v", err)
	}
	return u
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.URL,
		"authorization_endpoint":                p.URL + "/authorize",
		"token_endpoint":                        p.URL + "/token",
		"jwks_uri":                              p.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: p.kid, Algorithm: string(jose.RS256), Use: "sig"}}})
}

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorize approves at once. A request a real provider would not accept
// (no PKCE challenge, say) gets a 400 page, as the redirect URI cannot be
// trusted.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("client_id") != p.ClientID:
		http.Error(w, "unknown client", http.StatusBadRequest)
		return
	case err != nil || redirect.Scheme == "" || redirect.Host == "":
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "response_type must be code", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) < 43:
		http.Error(w, "PKCE with S256 is required", http.StatusBadRequest)
		return
	case q.Get("state") == "" || q.Get("nonce") == "":
		http.Error(w, "state and nonce are required", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	b := p.b
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	if b.Error != "" {
		back.Set("error", b.Error)
	} else {
		code := randomString()
		p.grants[code] = &grant{redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), b: b, expires: time.Now().Add(time.Minute)}
		back.Set("code", code)
	}
	p.mu.Unlock()
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// token exchanges a code for tokens, checking the client, the redirect
// URI and the PKCE verifier. A code works once.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1 {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	p.mu.Lock()
	g, ok := p.grants[r.PostForm.Get("code")]
	first := ok && !g.used
	if ok {
		g.used = true // used up, whether or not the rest checks out
	}
	p.mu.Unlock()
	if !first || time.Now().After(g.expires) {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown, used or expired code")
		return
	}
	if r.PostForm.Get("redirect_uri") != g.redirectURI {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
		return
	}
	p.mu.Lock()
	p.tokens++
	p.mu.Unlock()
	now := time.Now()
	claims := map[string]any{
		"iss": p.URL, "sub": "subject-" + randomString()[:8], "aud": p.ClientID,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": g.nonce,
	}
	maps.Copy(claims, g.b.Claims)
	if g.b.Tamper != nil {
		g.b.Tamper(claims)
	}
	key := p.key
	if g.b.SigningKey != nil {
		key = g.b.SigningKey
	}
	idToken, err := sign(key, p.kid, claims)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": randomString(), "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

// sign returns a compact RS256 JWS of claims.
func sign(key *rsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := s.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}
