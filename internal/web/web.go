// Package web is Probity's server-rendered interface for people: pages built
// from html/template and embedded assets, without a front-end framework,
// usable without JavaScript and by keyboard, and high-contrast. Every route
// declares the permission it needs, as the API's do.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"image/png"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"

	"github.com/probity-dev/probity/internal/access"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/policy"
	"github.com/probity-dev/probity/internal/store"
)

//go:embed templates static
var files embed.FS

// Deps are what the pages call.
type Deps struct {
	Authn    *authn.Service
	Identity *store.Identity
	Logger   *slog.Logger
	// SSO reports whether single sign-on is configured; PIV whether
	// certificate sign-in is.
	SSO, PIV bool
	// OIDC signs people in through the identity provider; nil unless
	// single sign-on is configured.
	OIDC *authn.OIDC
	// Queries is the audited query path.
	Queries *access.Service
	// Reviews and Alerts are the supervisory reviews of executed queries
	// and the misuse alerts.
	Reviews *store.Reviews
	Alerts  *store.Alerts
	// Clock tells the time the SLA countdowns count from; time.Now when
	// nil.
	Clock func() time.Time
	// Ledger is the ledger the auditor's pages read and verify.
	// LedgerAnchor is the verifier key verification trusts (the ledger
	// key file's; without it, the one the database names), and LedgerMAC
	// checks records' MACs; both may be empty.
	Ledger       *store.Ledger
	LedgerAnchor string
	LedgerMAC    ledger.MACKey
	// Basemaps are the layers maps are drawn over; Places the protected
	// places, drawn on maps only for those who manage them. Either may
	// be nil: maps are then drawn without them.
	Basemaps *store.Basemaps
	Places   *store.Places
	// Privacy is the privacy inventory (data sources and their gate,
	// PTAs, PIAs); Policies the policy set versions and their workflow;
	// Policy the engine deciding under the sets in force. Without them
	// their pages are not served.
	Privacy  *store.Privacy
	Policies *store.Policies
	Policy   *policy.Engine
	// Cases are the cases their pages show; without them there are no
	// case pages. Health is what the administrator's home page reports
	// of the installation's configuration; nil reports less.
	Cases  *store.Cases
	Health *Health
}

// A Web serves the pages.
type Web struct {
	deps   Deps
	pages  map[string]*template.Template
	assets map[string]asset // by hashed name
	names  map[string]string
	routes []Route
	mux    *http.ServeMux
	// verifications are the ledger verifications the pages started.
	verifications *verifications
	// analyses are the policy impact analyses the pages started.
	analyses *analyses
}

type asset struct {
	body  []byte
	ctype string
}

// A Route is one page or action.
type Route struct {
	Method  string
	Pattern string
	Perm    auth.Permission
	Handler func(w http.ResponseWriter, r *http.Request, p auth.Principal) error
}

// New parses every template and hashes every asset; it fails fast on a
// broken template.
func New(deps Deps) (*Web, error) {
	// The link to single sign-on shows only when it can work.
	deps.SSO = deps.OIDC != nil
	w := &Web{deps: deps, pages: map[string]*template.Template{}, assets: map[string]asset{}, names: map[string]string{}, mux: http.NewServeMux()}
	if err := w.loadAssets(); err != nil {
		return nil, err
	}
	funcs := template.FuncMap{"asset": func(name string) string { return "/static/" + w.names[name] }}
	layout, err := template.New("layout").Funcs(funcs).ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	pages, _ := fs.Glob(files, "templates/*.html")
	for _, p := range pages {
		name := strings.TrimSuffix(path.Base(p), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(files, p)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", p, err)
		}
		w.pages[name] = t
	}
	w.routes = w.routeTable()
	for _, rt := range w.routes {
		w.mux.Handle(rt.Method+" "+rt.Pattern, w.adapt(rt))
	}
	w.mux.HandleFunc("GET /static/{name}", w.serveAsset)
	return w, nil
}

// Routes returns the route table.
func (w *Web) Routes() []Route { return w.routes }

func (w *Web) routeTable() []Route {
	return slices.Concat([]Route{
		{Method: "GET", Pattern: "/{$}", Perm: auth.Public, Handler: w.home},
		{Method: "GET", Pattern: "/login", Perm: auth.Public, Handler: w.loginForm},
		{Method: "POST", Pattern: "/login", Perm: auth.Public, Handler: w.login},
		{Method: "GET", Pattern: "/login/code", Perm: auth.Public, Handler: w.codeForm},
		{Method: "POST", Pattern: "/login/code", Perm: auth.Public, Handler: w.code},
		{Method: "POST", Pattern: "/logout", Perm: auth.Public, Handler: w.logout},
		{Method: "GET", Pattern: "/auth/oidc/start", Perm: auth.Public, Handler: w.oidcStart},
		{Method: "GET", Pattern: "/auth/oidc/callback", Perm: auth.Public, Handler: w.oidcCallback},
		{Method: "GET", Pattern: "/auth/piv", Perm: auth.Public, Handler: w.pivSignIn},
		{Method: "GET", Pattern: "/enroll/{token}", Perm: auth.Public, Handler: w.enrollForm},
		{Method: "POST", Pattern: "/enroll/{token}", Perm: auth.Public, Handler: w.enroll},
		{Method: "GET", Pattern: "/account", Perm: auth.Self, Handler: w.account},
		{Method: "POST", Pattern: "/account/rules", Perm: auth.Self, Handler: w.acknowledge},
		{Method: "POST", Pattern: "/account/sign-out-everywhere", Perm: auth.Self, Handler: w.signOutEverywhere},
	},
		// One line per group of pages.
		w.queryRoutes(),
		w.reviewRoutes(),
		w.alertRoutes(),
		w.ledgerRoutes(),
		w.privacyRoutes(),
		w.caseRoutes(),
		w.approvalRoutes(),
		w.peopleRoutes(),
		w.recertRoutes(),
	)
}

func (w *Web) loadAssets() error {
	ents, err := fs.ReadDir(files, "static")
	if err != nil {
		return err
	}
	for _, e := range ents {
		b, err := fs.ReadFile(files, "static/"+e.Name())
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(e.Name())
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ctype := "application/octet-stream"
		switch ext {
		case ".css":
			ctype = "text/css; charset=utf-8"
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".svg":
			ctype = "image/svg+xml"
		}
		w.assets[hashed] = asset{body: b, ctype: ctype}
		w.names[e.Name()] = hashed
	}
	return nil
}

// serveAsset serves an embedded asset under its hashed, immutable name.
func (w *Web) serveAsset(rw http.ResponseWriter, r *http.Request) {
	a, ok := w.assets[r.PathValue("name")]
	if !ok {
		http.NotFound(rw, r)
		return
	}
	rw.Header().Set("Content-Type", a.ctype)
	rw.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	rw.Write(a.body)
}

// ServeHTTP serves a request.
func (w *Web) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.mux.ServeHTTP(rw, r)
}

// view is what every page template gets.
type view struct {
	Title  string
	Narrow bool
	Person *identity.Person
	Flash  string
	Error  string
	Data   any
	// Nav is the header's navigation, filled in by render for a
	// signed-in person.
	Nav nav
}

// adapt authenticates, checks the route's permission, and renders errors
// as pages. A person who must sign in is sent to the sign-in page.
func (w *Web) adapt(rt Route) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		p, err := w.deps.Authn.Authenticate(r)
		if err != nil {
			authn.SetCookie(rw, authn.SessionCookie, "", -1)
			if fault.Is(err, fault.Unauthenticated) && rt.Perm != auth.Public {
				http.Redirect(rw, r, "/login", http.StatusSeeOther)
				return
			}
			if !fault.Is(err, fault.Unauthenticated) {
				w.renderError(rw, r, err)
				return
			}
			p = auth.Anonymous
		}
		if !p.Can(rt.Perm) {
			if !p.Authenticated() {
				http.Redirect(rw, r, "/login", http.StatusSeeOther)
				return
			}
			w.renderError(rw, r, fault.New(fault.Forbidden, "your role does not allow this page"))
			return
		}
		rw.Header().Set("Cache-Control", "no-store")
		rw = &navWriter{ResponseWriter: rw, nav: navFor(p)}
		if err := rt.Handler(rw, r, p); err != nil {
			w.renderError(rw, r, err)
		}
	})
}

// render renders a page into a buffer, then writes it.
func (w *Web) render(rw http.ResponseWriter, status int, page string, v view) error {
	t, ok := w.pages[page]
	if !ok {
		return fmt.Errorf("no page %q", page)
	}
	if nw, ok := rw.(*navWriter); ok && v.Person != nil {
		v.Nav = nw.nav
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("render %s: %w", page, err)
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.WriteHeader(status)
	_, err := rw.Write(buf.Bytes())
	return err
}

var pageStatus = map[fault.Code]int{
	fault.Invalid: http.StatusBadRequest, fault.NotFound: http.StatusNotFound, fault.Conflict: http.StatusConflict, fault.Precondition: http.StatusConflict,
	fault.Unauthenticated: http.StatusUnauthorized, fault.Forbidden: http.StatusForbidden, fault.RateLimited: http.StatusTooManyRequests,
	fault.Unavailable: http.StatusServiceUnavailable, fault.TooLarge: http.StatusRequestEntityTooLarge,
}

func (w *Web) renderError(rw http.ResponseWriter, r *http.Request, err error) {
	status, ok := pageStatus[fault.CodeOf(err)]
	if !ok {
		status = http.StatusInternalServerError
		w.deps.Logger.Error("page failed", "path", r.URL.Path, "err", err)
	}
	if rerr := w.render(rw, status, "error", view{Title: fault.MessageOf(err), Narrow: true}); rerr != nil {
		http.Error(rw, fault.MessageOf(err), status)
	}
}

// form parses a posted form of bounded size.
func form(rw http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(rw, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return fault.Wrap(err, fault.Invalid, "the form could not be read")
	}
	return nil
}

func (w *Web) home(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Authenticated() {
		http.Redirect(rw, r, "/login", http.StatusSeeOther)
		return nil
	}
	return w.homePage(rw, r, p)
}

type loginData struct {
	Account  string
	SSO, PIV bool
}

func (w *Web) loginForm(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Authenticated() {
		http.Redirect(rw, r, "/", http.StatusSeeOther)
		return nil
	}
	return w.render(rw, http.StatusOK, "login", view{Title: "Sign in", Narrow: true, Data: loginData{SSO: w.deps.SSO, PIV: w.deps.PIV}})
}

func (w *Web) login(rw http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	if err := form(rw, r); err != nil {
		return err
	}
	account := r.PostFormValue("account")
	pending, err := w.deps.Authn.BeginSignIn(r.Context(), account, r.PostFormValue("password"), authn.ClientOf(r))
	if err != nil {
		if fault.Is(err, fault.Unauthenticated) || fault.Is(err, fault.RateLimited) {
			return w.render(rw, pageStatus[fault.CodeOf(err)], "login", view{Title: "Sign in", Narrow: true, Error: fault.MessageOf(err), Data: loginData{Account: account, SSO: w.deps.SSO, PIV: w.deps.PIV}})
		}
		return err
	}
	authn.SetCookie(rw, authn.PendingCookie, pending, store.MFAPendingLifetime)
	http.Redirect(rw, r, "/login/code", http.StatusSeeOther)
	return nil
}

func (w *Web) codeForm(rw http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	if _, err := r.Cookie(authn.PendingCookie); err != nil {
		http.Redirect(rw, r, "/login", http.StatusSeeOther)
		return nil
	}
	return w.render(rw, http.StatusOK, "code", view{Title: "Enter your code", Narrow: true})
}

func (w *Web) code(rw http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	if err := form(rw, r); err != nil {
		return err
	}
	ck, err := r.Cookie(authn.PendingCookie)
	if err != nil {
		http.Redirect(rw, r, "/login", http.StatusSeeOther)
		return nil
	}
	res, err := w.deps.Authn.FinishSignIn(r.Context(), ck.Value, r.PostFormValue("code"), authn.ClientOf(r))
	if err != nil {
		if fault.Is(err, fault.Unauthenticated) || fault.Is(err, fault.RateLimited) {
			return w.render(rw, pageStatus[fault.CodeOf(err)], "code", view{Title: "Enter your code", Narrow: true, Error: fault.MessageOf(err)})
		}
		return err
	}
	authn.SetCookie(rw, authn.PendingCookie, "", -1)
	authn.SetCookie(rw, authn.SessionCookie, res.Secret, 0)
	http.Redirect(rw, r, "/", http.StatusSeeOther)
	return nil
}

func (w *Web) logout(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if ck, err := r.Cookie(authn.SessionCookie); err == nil && p.Authenticated() {
		if err := w.deps.Identity.EndSession(r.Context(), p, ck.Value, "", "signed out"); err != nil && !fault.Is(err, fault.NotFound) {
			return err
		}
	}
	authn.SetCookie(rw, authn.SessionCookie, "", -1)
	return w.render(rw, http.StatusOK, "login", view{Title: "Sign in", Narrow: true, Flash: "You have signed out.", Data: loginData{SSO: w.deps.SSO, PIV: w.deps.PIV}})
}

type enrollData struct {
	Token, Name, EmployeeID string
	Secret, Sealed, QR      string
	Codes                   []string
}

func (w *Web) enrollForm(rw http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	token := r.PathValue("token")
	e, err := w.deps.Authn.BeginEnrolment(r.Context(), token)
	if err != nil {
		return err
	}
	return w.render(rw, http.StatusOK, "enroll", view{Title: "Set up your account", Narrow: true, Data: w.enrollData(token, e)})
}

func (w *Web) enrollData(token string, e authn.Enrolment) enrollData {
	d := enrollData{Token: token, Name: e.Person.Name, EmployeeID: e.Person.EmployeeID, Secret: e.TOTPSecret, Sealed: e.Sealed}
	if k, err := otp.NewKeyFromURL(e.TOTPURI); err == nil {
		if img, err := k.Image(200, 200); err == nil {
			var buf bytes.Buffer
			if png.Encode(&buf, img) == nil {
				d.QR = "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
			}
		}
	}
	return d
}

func (w *Web) enroll(rw http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	if err := form(rw, r); err != nil {
		return err
	}
	token := r.PathValue("token")
	pw, pw2 := r.PostFormValue("password"), r.PostFormValue("password2")
	var err error
	var codes []string
	if pw != pw2 {
		err = fault.New(fault.Invalid, "the two passwords are not the same")
	} else {
		_, codes, err = w.deps.Authn.CompleteEnrolment(r.Context(), token, pw, r.PostFormValue("sealed"), r.PostFormValue("code"))
	}
	if fault.Is(err, fault.Invalid) {
		// Show the form again with the same secret, so the app entry the
		// person made still works.
		e, berr := w.deps.Authn.BeginEnrolment(r.Context(), token)
		if berr != nil {
			return berr
		}
		d := w.enrollData(token, e)
		if secret, ok := w.resealed(r, token); ok {
			d.Secret, d.Sealed = secret, r.PostFormValue("sealed")
			d.QR = qrFor(secret, e)
		}
		return w.render(rw, http.StatusBadRequest, "enroll", view{Title: "Set up your account", Narrow: true, Error: fault.MessageOf(err), Data: d})
	}
	if err != nil {
		return err
	}
	return w.render(rw, http.StatusOK, "enrolled", view{Title: "Your account is active", Narrow: true, Data: enrollData{Codes: codes}})
}

// resealed returns the TOTP secret the form carried, when it opens.
func (w *Web) resealed(r *http.Request, token string) (string, bool) {
	s, err := w.deps.Authn.OpenEnrolmentSecret(token, r.PostFormValue("sealed"))
	return s, err == nil
}

func qrFor(secret string, e authn.Enrolment) string {
	u := strings.Replace(e.TOTPURI, "secret="+e.TOTPSecret, "secret="+secret, 1)
	k, err := otp.NewKeyFromURL(u)
	if err != nil {
		return ""
	}
	img, err := k.Image(200, 200)
	if err != nil {
		return ""
	}
	var buf bytes.Buffer
	if png.Encode(&buf, img) != nil {
		return ""
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

type accountData struct {
	Person   identity.Person
	Grants   []identity.Grant
	Lapses   []identity.Lapse
	Rules    []ruleView
	Sessions []store.Session
	Current  string
}

type ruleView struct {
	identity.Rules
	Acknowledged bool
}

func (w *Web) account(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	f, err := w.deps.Identity.AccessFacts(ctx, p.PersonID)
	if err != nil {
		return err
	}
	sessions, err := w.deps.Identity.Sessions(ctx, p.PersonID, w.deps.Authn.SessionPolicy())
	if err != nil {
		return err
	}
	d := accountData{Person: f.Person, Grants: f.Grants, Lapses: identity.Lapses(f), Sessions: sessions, Current: p.SessionID}
	for _, rl := range f.Rules {
		acked := false
		for _, a := range f.Acks {
			if a.Key == rl.Key && a.Version == rl.Version && f.Now.Sub(a.AckedAt) <= identity.AckValidity {
				acked = true
			}
		}
		d.Rules = append(d.Rules, ruleView{rl, acked})
	}
	flash := ""
	if r.URL.Query().Get("done") == "rules" {
		flash = "Thank you: your acknowledgement is recorded."
	}
	return w.render(rw, http.StatusOK, "account", view{Title: "Your account", Person: &f.Person, Flash: flash, Data: d})
}

func (w *Web) acknowledge(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := form(rw, r); err != nil {
		return err
	}
	v, err := strconv.Atoi(r.PostFormValue("version"))
	if err != nil {
		return fault.New(fault.Invalid, "the form was altered")
	}
	if err := w.deps.Identity.Acknowledge(r.Context(), p, r.PostFormValue("key"), v); err != nil {
		return err
	}
	http.Redirect(rw, r, "/account?done=rules", http.StatusSeeOther)
	return nil
}

func (w *Web) signOutEverywhere(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if _, err := w.deps.Identity.EndAllSessions(r.Context(), p, p.PersonID, "signed out everywhere"); err != nil {
		return err
	}
	authn.SetCookie(rw, authn.SessionCookie, "", -1)
	return w.render(rw, http.StatusOK, "login", view{Title: "Sign in", Narrow: true, Flash: "You have signed out everywhere.", Data: loginData{SSO: w.deps.SSO, PIV: w.deps.PIV}})
}
