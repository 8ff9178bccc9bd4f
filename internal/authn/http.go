package authn

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/store"
)

// Cookie names. The __Host- prefix makes browsers refuse the cookie unless
// it is Secure, host-only and for the whole site.
const (
	SessionCookie = "__Host-probity-session"
	PendingCookie = "__Host-probity-signin"
)

// SetCookie sets a Secure, HttpOnly, SameSite=Lax cookie; maxAge 0 makes it
// last for the browser session, negative deletes it.
func SetCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	switch {
	case maxAge < 0:
		c.Value, c.MaxAge = "", -1
	case maxAge > 0:
		c.MaxAge = int(maxAge.Seconds())
	}
	http.SetCookie(w, c)
}

// Authenticate resolves a request to its principal: a personal API token
// or a bootstrap credential in the Authorization header, or a session
// cookie. A request with neither is anonymous. A credential that does not
// verify is refused, counted against the client's address and recorded in
// the ledger.
func (s *Service) Authenticate(r *http.Request) (auth.Principal, error) {
	ctx := r.Context()
	c := ClientOf(r)
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return auth.Anonymous, s.refuse(ctx, c, "malformed_authorization")
		}
		if strings.HasPrefix(token, store.TokenPrefix) {
			a, err := s.ids.TokenPrincipal(ctx, token)
			if fault.Is(err, fault.Unauthenticated) {
				return auth.Anonymous, s.refuse(ctx, c, "bad_token")
			}
			if err != nil {
				return auth.Anonymous, err
			}
			s.ids.TouchToken(ctx, token)
			return a.Principal, nil
		}
		if s.cfg.Bootstrap != nil {
			if p, ok := s.cfg.Bootstrap.Authenticate(token); ok {
				return p, nil
			}
		}
		return auth.Anonymous, s.refuse(ctx, c, "bad_token")
	}
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return auth.Anonymous, nil
	}
	a, err := s.ids.SessionPrincipal(ctx, ck.Value, s.cfg.Session)
	if fault.Is(err, fault.Unauthenticated) {
		return auth.Anonymous, s.refuse(ctx, c, "ended_or_unknown_session")
	}
	if err != nil {
		return auth.Anonymous, err
	}
	if a.Touch {
		if err := s.ids.TouchSession(ctx, ck.Value); err != nil {
			s.cfg.Logger.Warn("record session activity", "err", err)
		}
	}
	return a.Principal, nil
}

// ErrCredentialRefused is the error of a refused credential.
func errCredentialRefused() error {
	return fault.New(fault.Unauthenticated, "your credential is not valid, has expired or was revoked; sign in again")
}

// refuse records a refused credential. A valid credential always works,
// whatever its address; refusals count against the address, and once it is
// locked out further refusals are answered without being recorded, so that
// a flood of bad credentials cannot grow the ledger without bound.
func (s *Service) refuse(ctx context.Context, c Client, reason string) error {
	if err := s.throttled(ctx, addrKey(c.Addr)); err != nil {
		return err
	}
	f := store.Failure{Addr: c.Addr, UserAgent: c.UserAgent, Method: "credential", Reason: reason, ThrottleKeys: []string{addrKey(c.Addr)}}
	return s.fail(ctx, f, errCredentialRefused())
}
