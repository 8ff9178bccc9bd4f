package authn

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/store"
)

// OIDCStateCookie binds a single sign-on to the browser that started it:
// the callback is accepted only from the browser holding the state it
// carries, so that nobody can make someone else's browser finish a
// sign-in they started (login cross-site request forgery).
const OIDCStateCookie = "__Host-probity-sso"

// DefaultEmployeeIDClaim is the ID token claim that holds the employee ID
// unless configured otherwise.
const DefaultEmployeeIDClaim = "employee_id"

// DefaultOIDCScopes are the scopes asked for unless configured otherwise.
var DefaultOIDCScopes = []string{oidc.ScopeOpenID, "profile", "email"}

// secondFactorAMR are the authentication method references (RFC 8176)
// that say the identity provider checked a second factor: multiple
// factors, a one-time password, a hardware key, a smart card, a software
// key.
var secondFactorAMR = []string{"mfa", "otp", "hwk", "sc", "swk"}

// OIDCConfig configures single sign-on with an OpenID Connect provider
// (authorization code flow with PKCE).
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string // empty for a public client (PKCE alone)
	// RedirectURL is where the provider sends people back: the public URL
	// followed by auth/oidc/callback. It may be set later, once the server
	// knows its address (see [OIDC.SetRedirectURL]).
	RedirectURL string
	// Scopes to ask for; "openid" is added when missing.
	Scopes []string
	// EmployeeIDClaim is the ID token claim holding the employee ID that
	// links the provider's account to a Probity person.
	EmployeeIDClaim string
	// TrustMFA starts the session directly when the ID token's amr claim
	// says the provider checked a second factor; otherwise, and by default,
	// Probity asks for its own TOTP code as well.
	TrustMFA bool
	// HTTPClient reaches the provider; the default times out after 10 s.
	HTTPClient *http.Client
}

// An OIDC signs people in through an OpenID Connect provider. The
// provider's discovery document is fetched on first use (and again after a
// failure), so that Probity starts even while the provider is unreachable.
type OIDC struct {
	svc    *Service
	cfg    OIDCConfig
	client *http.Client

	mu       sync.Mutex
	redirect string
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	// failed is when discovery last failed: it is not retried for
	// [discoveryRetry], so that a provider that is down does not hold
	// every sign-in up for the length of a timeout.
	failed    time.Time
	failedErr error
}

// discoveryRetry is how long a failed discovery is not retried.
const discoveryRetry = 10 * time.Second

// NewOIDC returns single sign-on through the provider cfg names.
func (s *Service) NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("single sign-on: the issuer %q is not an http:// or https:// URL", cfg.Issuer)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("single sign-on: no client ID")
	}
	if s.cfg.Secrets == nil {
		return nil, errors.New("single sign-on: no secrets key to seal PKCE verifiers")
	}
	if cfg.EmployeeIDClaim == "" {
		cfg.EmployeeIDClaim = DefaultEmployeeIDClaim
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = DefaultOIDCScopes
	}
	if !slices.Contains(cfg.Scopes, oidc.ScopeOpenID) {
		cfg.Scopes = append([]string{oidc.ScopeOpenID}, cfg.Scopes...)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &OIDC{svc: s, cfg: cfg, client: client, redirect: cfg.RedirectURL}, nil
}

// SetRedirectURL sets where the provider sends people back.
func (o *OIDC) SetRedirectURL(u string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.redirect = u
}

func errSSOUnavailable(err error) error {
	return fault.Wrap(err, fault.Unavailable, "single sign-on is unavailable right now: Probity cannot reach the identity provider; try again later or sign in another way")
}

// discover returns the provider and the ID token verifier, fetching the
// discovery document on first use.
func (o *OIDC) discover(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.redirect == "" {
		return nil, nil, fault.New(fault.Unavailable, "single sign-on is not ready: Probity does not know its own address yet")
	}
	if o.provider == nil {
		if !o.failed.IsZero() && time.Since(o.failed) < discoveryRetry {
			return nil, nil, errSSOUnavailable(o.failedErr)
		}
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.client), o.cfg.Issuer)
		if err != nil {
			o.svc.cfg.Logger.Error("single sign-on: discover the identity provider", "issuer", o.cfg.Issuer, "err", err)
			o.failed, o.failedErr = time.Now(), err
			return nil, nil, errSSOUnavailable(err)
		}
		o.provider = p
		o.verifier = p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID})
	}
	return &oauth2.Config{
		ClientID:     o.cfg.ClientID,
		ClientSecret: o.cfg.ClientSecret,
		Endpoint:     o.provider.Endpoint(),
		RedirectURL:  o.redirect,
		Scopes:       o.cfg.Scopes,
	}, o.verifier, nil
}

// randomToken returns 32 random bytes, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// verifierWhat binds a sealed PKCE verifier to its state.
func verifierWhat(state string) string { return "oidc-verifier/" + hashHex(state) }

// Begin starts a single sign-on: it records a new state, nonce and PKCE
// verifier and returns the provider's authorization URL to send the
// browser to, and the state, which the browser must keep (in
// [OIDCStateCookie]) until the callback.
func (o *OIDC) Begin(ctx context.Context, c Client) (authURL, state string, err error) {
	if err := o.svc.throttled(ctx, addrKey(c.Addr)); err != nil {
		return "", "", err
	}
	conf, _, err := o.discover(ctx)
	if err != nil {
		return "", "", err
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	sealedVerifier := base64.RawURLEncoding.EncodeToString(o.svc.cfg.Secrets.Seal([]byte(verifier), verifierWhat(state)))
	if err := o.svc.ids.StartOIDCLogin(ctx, state, store.OIDCLogin{NonceHash: hashHex(nonce), Verifier: sealedVerifier, ReturnTo: "/"}); err != nil {
		return "", "", err
	}
	return conf.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), state, nil
}

// An OIDCResult is what a successful callback produced: a session, or a
// pending sign-in waiting for Probity's own second factor.
type OIDCResult struct {
	Session *store.SignInResult
	Pending string // the pending sign-in's secret, for [PendingCookie]
}

// Refusals, worded so as not to say which check failed or whether an
// account exists.
func errSSORefused() error {
	return fault.New(fault.Unauthenticated, "single sign-on did not sign you in: the identity provider's answer could not be accepted, or no active Probity account is linked to your identity; try again, and if it keeps failing tell your administrator")
}

func errSSOExpired() error {
	return fault.New(fault.Unauthenticated, "this single sign-on has expired or was already used, or was started in another browser; start again")
}

func errSSODenied() error {
	return fault.New(fault.Unauthenticated, "your identity provider did not sign you in; start again, or sign in another way")
}

// Finish completes a single sign-on from the provider's callback query.
// cookieState is the state the browser kept; replaces is the browser's
// current session, if any, which a new session replaces. Every refusal is
// counted against the client's address and recorded in the ledger, and
// nothing else changes.
func (o *OIDC) Finish(ctx context.Context, q url.Values, cookieState string, c Client, replaces string) (OIDCResult, error) {
	s := o.svc
	if err := s.throttled(ctx, addrKey(c.Addr)); err != nil {
		return OIDCResult{}, err
	}
	refuse := func(personID int64, attempted, detail string, shown error) (OIDCResult, error) {
		f := store.Failure{PersonID: personID, Attempted: attempted, Addr: c.Addr, UserAgent: c.UserAgent, Method: "oidc", Reason: "sso_refused", Detail: detail, ThrottleKeys: []string{addrKey(c.Addr)}}
		return OIDCResult{}, s.fail(ctx, f, shown)
	}

	state := q.Get("state")
	if state == "" || cookieState == "" || subtle.ConstantTimeCompare([]byte(state), []byte(cookieState)) != 1 {
		return refuse(0, "", "state_mismatch", errSSOExpired())
	}
	login, err := s.ids.TakeOIDCLogin(ctx, state)
	if errors.Is(err, store.ErrOIDCLoginNotFound) {
		return refuse(0, "", "unknown_or_used_state", errSSOExpired())
	}
	if err != nil {
		return OIDCResult{}, err
	}
	if e := q.Get("error"); e != "" {
		return refuse(0, "", "provider_error:"+oauthErrorLabel(e), errSSODenied())
	}
	code := q.Get("code")
	if code == "" {
		return refuse(0, "", "no_code", errSSORefused())
	}
	conf, verifier, err := o.discover(ctx)
	if err != nil {
		return OIDCResult{}, err
	}
	sealedVerifier, err := base64.RawURLEncoding.DecodeString(login.Verifier)
	if err != nil {
		return OIDCResult{}, fmt.Errorf("single sign-on: stored verifier: %w", err)
	}
	pkce, err := s.cfg.Secrets.Open(sealedVerifier, verifierWhat(state))
	if err != nil {
		return OIDCResult{}, fault.Wrap(err, fault.Internal, "single sign-on cannot be completed; tell your administrator")
	}

	xctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, o.client), 15*time.Second)
	defer cancel()
	tok, err := conf.Exchange(xctx, code, oauth2.VerifierOption(string(pkce)))
	if err != nil {
		s.cfg.Logger.Warn("single sign-on: code exchange refused", "err", err)
		detail := "code_exchange_failed"
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok && re.ErrorCode != "" {
			detail += ":" + oauthErrorLabel(re.ErrorCode)
		}
		return refuse(0, "", detail, errSSORefused())
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return refuse(0, "", "no_id_token", errSSORefused())
	}
	idt, err := verifier.Verify(xctx, raw)
	if err != nil {
		s.cfg.Logger.Warn("single sign-on: ID token refused", "err", err)
		return refuse(0, "", verifyErrorLabel(err), errSSORefused())
	}
	if subtle.ConstantTimeCompare([]byte(hashHex(idt.Nonce)), []byte(login.NonceHash)) != 1 {
		return refuse(0, "", "nonce_mismatch", errSSORefused())
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return refuse(0, "", "malformed_claims", errSSORefused())
	}
	// With several audiences, the token must have been issued to Probity
	// (OIDC Core 3.1.3.7, items 4 and 5).
	if len(idt.Audience) > 1 {
		if azp, _ := claims["azp"].(string); azp != o.cfg.ClientID {
			return refuse(0, "", "wrong_authorized_party", errSSORefused())
		}
	}
	employeeID, ok := claimString(claims[o.cfg.EmployeeIDClaim])
	if !ok {
		return refuse(0, "", "no_employee_id_claim", errSSORefused())
	}
	// No silent self-provisioning: the person must exist already.
	p, err := s.ids.PersonBySignOnID(ctx, employeeID)
	if errors.Is(err, store.ErrPersonNotFound) {
		return refuse(0, employeeID, "unknown_person", errSSORefused())
	}
	if err != nil {
		return OIDCResult{}, err
	}
	if p.Status != identity.Active {
		return refuse(p.ID, employeeID, "account_not_active", errSSORefused())
	}
	if o.cfg.TrustMFA && assertsSecondFactor(claims["amr"]) {
		res, err := s.StartSessionFor(ctx, p.ID, "oidc", c, replaces)
		if err != nil {
			return OIDCResult{}, err
		}
		return OIDCResult{Session: &res}, nil
	}
	pending, err := s.ids.StartMFA(ctx, p.ID, "oidc", c.Addr, c.UserAgent)
	if err != nil {
		return OIDCResult{}, err
	}
	return OIDCResult{Pending: pending}, nil
}

// claimString returns a claim's value as an employee ID: a non-empty
// string of at most 256 bytes, or a whole number.
func claimString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		v = strings.TrimSpace(v)
		return v, v != "" && len(v) <= 256
	case float64:
		if v >= 0 && v < 1<<53 && v == math.Trunc(v) {
			return strconv.FormatInt(int64(v), 10), true
		}
	}
	return "", false
}

// assertsSecondFactor reports whether an amr claim names a second factor.
func assertsSecondFactor(amr any) bool {
	list, ok := amr.([]any)
	if !ok {
		return false
	}
	for _, m := range list {
		if s, ok := m.(string); ok && slices.Contains(secondFactorAMR, s) {
			return true
		}
	}
	return false
}

// oauthErrors are the error codes of RFC 6749 and OpenID Connect Core; the
// ledger records one of these, or "other", never what the request said.
var oauthErrors = []string{
	"access_denied", "invalid_request", "unauthorized_client", "unsupported_response_type", "invalid_scope",
	"server_error", "temporarily_unavailable", "invalid_client", "invalid_grant", "unsupported_grant_type",
	"interaction_required", "login_required", "account_selection_required", "consent_required",
	"invalid_request_uri", "invalid_request_object", "request_not_supported", "request_uri_not_supported", "registration_not_supported",
}

func oauthErrorLabel(code string) string {
	if slices.Contains(oauthErrors, code) {
		return code
	}
	return "other"
}

// verifyErrorLabel names why an ID token was refused, for the ledger.
func verifyErrorLabel(err error) string {
	if _, ok := errors.AsType[*oidc.TokenExpiredError](err); ok {
		return "token_expired"
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "failed to verify signature"):
		return "bad_signature"
	case strings.Contains(msg, "malformed jwt"), strings.Contains(msg, "not signed"), strings.Contains(msg, "multiple signatures"):
		return "malformed_token"
	case strings.Contains(msg, "expected audience"):
		return "wrong_audience"
	case strings.Contains(msg, "different provider"):
		return "wrong_issuer"
	case strings.Contains(msg, "nbf"):
		return "token_not_yet_valid"
	}
	return "invalid_token"
}
