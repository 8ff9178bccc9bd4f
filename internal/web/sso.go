package web

import (
	"net/http"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/store"
)

// signInRefused shows the sign-in page with the reason a sign-in was
// refused, so that the person can try again or another way; other errors
// go to the error page.
func (w *Web) signInRefused(rw http.ResponseWriter, err error) error {
	if !fault.Is(err, fault.Unauthenticated) && !fault.Is(err, fault.RateLimited) && !fault.Is(err, fault.Unavailable) {
		return err
	}
	return w.render(rw, pageStatus[fault.CodeOf(err)], "login", view{Title: "Sign in", Narrow: true, Error: fault.MessageOf(err), Data: loginData{SSO: w.deps.SSO, PIV: w.deps.PIV}})
}

// currentSession returns the browser's session cookie, which a new sign-in
// replaces.
func currentSession(r *http.Request) string {
	if ck, err := r.Cookie(authn.SessionCookie); err == nil {
		return ck.Value
	}
	return ""
}

// startSession sets the cookie of a new session and goes home.
func startSession(rw http.ResponseWriter, r *http.Request, res store.SignInResult) {
	authn.SetCookie(rw, authn.PendingCookie, "", -1)
	authn.SetCookie(rw, authn.SessionCookie, res.Secret, 0)
	http.Redirect(rw, r, "/", http.StatusSeeOther)
}

// oidcStart sends the browser to the identity provider.
func (w *Web) oidcStart(rw http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	if w.deps.OIDC == nil {
		return fault.New(fault.NotFound, "single sign-on is not configured")
	}
	u, state, err := w.deps.OIDC.Begin(r.Context(), authn.ClientOf(r))
	if err != nil {
		return w.signInRefused(rw, err)
	}
	authn.SetCookie(rw, authn.OIDCStateCookie, state, store.OIDCLoginLifetime)
	http.Redirect(rw, r, u, http.StatusSeeOther)
	return nil
}

// oidcCallback finishes a single sign-on: a session, or Probity's own
// second-factor step when the provider did not assert one that is trusted.
func (w *Web) oidcCallback(rw http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	if w.deps.OIDC == nil {
		return fault.New(fault.NotFound, "single sign-on is not configured")
	}
	var bound string
	if ck, err := r.Cookie(authn.OIDCStateCookie); err == nil {
		bound = ck.Value
	}
	// The state is single-use whatever happens next.
	authn.SetCookie(rw, authn.OIDCStateCookie, "", -1)
	res, err := w.deps.OIDC.Finish(r.Context(), r.URL.Query(), bound, authn.ClientOf(r), currentSession(r))
	if err != nil {
		return w.signInRefused(rw, err)
	}
	if res.Session != nil {
		startSession(rw, r, *res.Session)
		return nil
	}
	authn.SetCookie(rw, authn.PendingCookie, res.Pending, store.MFAPendingLifetime)
	http.Redirect(rw, r, "/login/code", http.StatusSeeOther)
	return nil
}

// pivSignIn signs in with the TLS client certificate the browser
// presented (a PIV or CAC card).
func (w *Web) pivSignIn(rw http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	if !w.deps.PIV {
		return fault.New(fault.NotFound, "certificate sign-in is not configured")
	}
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return w.signInRefused(rw, fault.New(fault.Unauthenticated, "no certificate was presented: insert your PIV or CAC card, close every browser window so that the browser asks for it again, then choose \"Sign in with a PIV or CAC card\" and pick your authentication certificate"))
	}
	res, err := w.deps.Authn.SignInWithCertificate(r.Context(), r.TLS.VerifiedChains[0][0], authn.ClientOf(r), currentSession(r))
	if err != nil {
		return w.signInRefused(rw, err)
	}
	startSession(rw, r, res)
	return nil
}
