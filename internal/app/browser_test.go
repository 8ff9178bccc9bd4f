package app_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/authn/pivtest"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
)

// browserEnv, set to 1, makes a missing browser fail the browser tests
// rather than skip them, so that CI cannot pass without running them.
const browserEnv = "PROBITY_TEST_BROWSER"

// browserPath returns the path of a Chromium-based browser, or skips the
// test when there is none (fails it when PROBITY_TEST_BROWSER=1).
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(browserEnv) == "1" {
		t.Fatalf("%s=1 but no chromium, chromium-browser or google-chrome is on PATH", browserEnv)
	}
	t.Skipf("no Chromium on PATH: install it (apt-get install chromium) to run the browser tests; %s=1 makes a missing browser a failure", browserEnv)
	return ""
}

// startTLSServer starts a server that serves HTTPS with a throwaway
// certificate, as the __Host- session cookies need a secure origin.
func startTLSServer(t *testing.T) *testServer {
	t.Helper()
	cert := pivtest.MustCA(t, "Test server CA").MustServer(t)
	certPEM, keyPEM := pivtest.PEM(t, cert)
	dir := t.TempDir()
	cfg := testConfig(t, store.SQLite)
	cfg.TLSCert, cfg.TLSKey = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	for f, b := range map[string][]byte{cfg.TLSCert: certPEM, cfg.TLSKey: keyPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ts := startServer(t, cfg)
	if !strings.HasPrefix(ts.URL, "https://") {
		t.Fatalf("the server listens at %s, want HTTPS", ts.URL)
	}
	return ts
}

// startBrowser starts headless Chromium, which ends with the test.
func startBrowser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	path := browserPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		// The server's certificate is a throwaway one the browser does
		// not know.
		chromedp.IgnoreCertErrors,
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browser, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return browser
}

// A tab is a page in a browser context of its own: its own cookies, as a
// separate browser would have.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string // the server's URL, without the final slash
}

func newTab(t *testing.T, browser context.Context, base string) *tab {
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	return &tab{t: t, ctx: ctx, base: strings.TrimSuffix(base, "/")}
}

// do runs actions that do not navigate.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// load runs actions that end in a navigation (a link, a form) and waits
// for the new page; it returns the final response's status.
func (b *tab) load(steps ...chromedp.Action[chromedp.Void]) int {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, steps...)
	if err != nil {
		b.t.Fatal(err)
	}
	return int(resp.Status)
}

func (b *tab) open(path string) int {
	b.t.Helper()
	return b.load(chromedp.Navigate(b.base + path))
}

// path returns the path of the page shown.
func (b *tab) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatal(err)
	}
	return u.Path
}

// text returns the text of the first element sel matches; it waits for
// one to appear, for a while, so that a missing element fails the test
// rather than hang it.
func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func eval[T any](b *tab, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// heading returns the page's h1.
func (b *tab) heading() string { b.t.Helper(); return b.text("main h1") }

// alert returns the text of the page's error message, or "".
func (b *tab) alert() string {
	b.t.Helper()
	return eval[string](b, `(document.querySelector('[role=alert]') || {innerText: ''}).innerText.trim()`)
}

// focused describes the element that has the keyboard focus: its id, or
// its tag and text.
func (b *tab) focused() string {
	b.t.Helper()
	return eval[string](b, `(() => { const e = document.activeElement; return e.id ? '#' + e.id : e.tagName.toLowerCase() + ':' + e.textContent.trim(); })()`)
}

// press sends a key to the focused element.
func (b *tab) press(key string, opts ...chromedp.KeyOption) {
	b.t.Helper()
	b.do(chromedp.KeyEvent(key, opts...))
}

// unlabelled lists the form fields and buttons of the page that have no
// accessible name from a label or their text.
func (b *tab) unlabelled() []string {
	b.t.Helper()
	return eval[[]string](b, `[...document.querySelectorAll('main input:not([type=hidden]), main button')].
		filter(e => e.tagName === 'BUTTON' ? !e.textContent.trim() : ![...e.labels].some(l => l.textContent.trim())).
		map(e => e.outerHTML)`)
}

// sessionCookie returns the browser's session cookie for the server, as
// the browser stores it, or nil.
func (b *tab) sessionCookie() *network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == authn.SessionCookie {
			return c
		}
	}
	return nil
}

// An authenticator computes a person's TOTP codes as their app would. The
// server accepts a time step only once and only after the last one it
// accepted, so each code is of a later step than the one before: the
// current step, or the next one (which the server also accepts).
type authenticator struct {
	secret string
	last   int64
}

func (a *authenticator) code(t *testing.T) string {
	t.Helper()
	now := time.Now().Unix() / 30
	step := max(a.last+1, now)
	if step > now+1 {
		time.Sleep(time.Until(time.Unix((step-1)*30, 0)))
	}
	a.last = step
	c, err := authn.TOTPCode(a.secret, time.Unix(step*30, 0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongCode returns six digits that are no code the server would accept now.
func (a *authenticator) wrongCode(t *testing.T) string {
	t.Helper()
	var valid []string
	for d := -3; d <= 3; d++ {
		c, err := authn.TOTPCode(a.secret, time.Now().Add(time.Duration(d)*30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		valid = append(valid, c)
	}
	for n := 0; ; n++ {
		if c := fmt.Sprintf("%06d", n); !slices.Contains(valid, c) {
			return c
		}
	}
}

// TestServer_BrowserSignIn drives a real browser through the web sign-in:
// enrolment from a one-time link, sign-in and sign-out, refusals, keyboard
// use, the session cookie, and signing out everywhere.
func TestServer_BrowserSignIn(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	browser := startBrowser(t, ctx)
	ts := startTLSServer(t)

	const (
		employeeID = "E7700123"
		name       = "Robin Castellanos"
		password   = "tulip orbit granite seven"
		msgSignIn  = "the employee ID or password is not correct, or this account cannot sign in"
		msgCode    = "the code is not correct"
	)
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	p, link, err := ts.Identity.Invite(ctx, admin, identity.Person{EmployeeID: employeeID, Name: name, Email: "robin@example.gov", Schedule: identity.DefaultSchedule()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Identity.GrantRole(ctx, admin, identity.Grant{PersonID: p.ID, Role: auth.Auditor}); err != nil {
		t.Fatal(err)
	}
	enrolPath := "/enroll/" + link

	a := newTab(t, browser, ts.URL)
	phone := &authenticator{}
	var recovery []string

	// signIn signs in on b with the password and a second factor, and
	// expects the account page.
	signIn := func(t *testing.T, b *tab, secondFactor string) {
		t.Helper()
		if status := b.open("/login"); status != 200 {
			t.Fatalf("sign-in page: status %d", status)
		}
		b.do(chromedp.SendKeys(chromedp.ID("account"), employeeID), chromedp.SendKeys(chromedp.ID("password"), password))
		if status := b.load(chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`))); status != 200 || b.path() != "/login/code" {
			t.Fatalf("after the password: status %d at %s: %s", status, b.path(), b.alert())
		}
		b.do(chromedp.SendKeys(chromedp.ID("code"), secondFactor))
		if status := b.load(chromedp.Click(chromedp.CSS(`form[action="/login/code"] button[type=submit]`))); status != 200 || b.path() != "/" {
			t.Fatalf("after the code: status %d at %s: %s", status, b.path(), b.alert())
		}
		if h := b.heading(); !strings.HasPrefix(h, "Welcome, ") {
			t.Fatalf("heading %q, want the home page", h)
		}
	}

	if !t.Run("Enrol", func(t *testing.T) {
		a.t = t
		if status := a.open(enrolPath); status != 200 {
			t.Fatalf("enrolment page: status %d", status)
		}
		if h := a.heading(); h != "Set up your account" {
			t.Fatalf("heading %q", h)
		}
		if welcome := a.text("main > p"); !strings.Contains(welcome, name) || !strings.Contains(welcome, employeeID) {
			t.Errorf("the page does not greet the invited person: %q", welcome)
		}
		if u := a.unlabelled(); len(u) > 0 {
			t.Errorf("fields without a label: %v", u)
		}
		// The person types the key into their authenticator app.
		phone.secret = a.text("main form code")
		if len(phone.secret) < 16 {
			t.Fatalf("the page shows no TOTP key: %q", phone.secret)
		}
		a.do(
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.SendKeys(chromedp.ID("password2"), password),
			chromedp.SendKeys(chromedp.ID("code"), phone.code(t)),
		)
		if status := a.load(chromedp.Click(chromedp.CSS(`main form button[type=submit]`))); status != 200 {
			t.Fatalf("activation: status %d: %s", status, a.alert())
		}
		if h := a.heading(); h != "Your account is active" {
			t.Fatalf("heading %q: %s", h, a.alert())
		}
		recovery = eval[[]string](a, `[...document.querySelectorAll('ul.codes li')].map(li => li.textContent.trim())`)
		if len(recovery) < 2 || slices.Contains(recovery, "") {
			t.Fatalf("recovery codes shown: %q", recovery)
		}
		if a.sessionCookie() != nil {
			t.Error("enrolment signed the person in; they should sign in with their new credentials")
		}
		// The link was for one use.
		if status := a.open(enrolPath); status < 400 || a.heading() == "Set up your account" {
			t.Fatalf("the used enrolment link still shows the form (status %d)", status)
		}
	}) {
		return
	}

	if !t.Run("SignIn", func(t *testing.T) {
		a.t = t
		signIn(t, a, phone.code(t))
		if got := a.heading(); got != "Welcome, "+name {
			t.Errorf("the home page greets %q, want %q", got, "Welcome, "+name)
		}
	}) {
		return
	}

	t.Run("SessionCookie", func(t *testing.T) {
		a.t = t
		c := a.sessionCookie()
		if c == nil {
			t.Fatalf("the browser holds no %s cookie", authn.SessionCookie)
		}
		if !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteLax || c.Path != "/" || c.Domain != "127.0.0.1" || !c.Session {
			t.Errorf("cookie %s: HttpOnly %v, Secure %v, SameSite %q, Path %q, Domain %q, session %v; want HttpOnly, Secure, SameSite Lax, Path /, host-only, ending with the browser session",
				c.Name, c.HTTPOnly, c.Secure, c.SameSite, c.Path, c.Domain, c.Session)
		}
		if js := eval[string](a, `document.cookie`); strings.Contains(js, "probity") {
			t.Errorf("scripts can read the session cookie: %q", js)
		}
	})

	if !t.Run("SignOut", func(t *testing.T) {
		a.t = t
		if status := a.load(chromedp.Click(chromedp.CSS(`header form[action="/logout"] button`))); status != 200 {
			t.Fatalf("sign out: status %d", status)
		}
		if flash := a.text(`[role=status]`); flash != "You have signed out." {
			t.Errorf("after signing out the page says %q", flash)
		}
		if a.sessionCookie() != nil {
			t.Error("the session cookie is still there after signing out")
		}
		a.open("/account")
		if got := a.path(); got != "/login" {
			t.Fatalf("after signing out /account shows %s, want the sign-in page", got)
		}
	}) {
		return
	}

	t.Run("Keyboard", func(t *testing.T) {
		a.t = t
		a.open("/login")
		if u := a.unlabelled(); len(u) > 0 {
			t.Errorf("fields without a label: %v", u)
		}
		if got := a.focused(); got != "#account" {
			t.Fatalf("the sign-in page opens with the focus on %s, want the account field", got)
		}
		// Backwards from the first field: the site's name, then the
		// link that skips to the content.
		for _, want := range []string{"a:Probity", "a:Skip to main content"} {
			a.press(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
			if got := a.focused(); got != want {
				t.Fatalf("Shift+Tab reached %s, want %s", got, want)
			}
		}
		// The skip link leads to the form.
		a.press(kb.Enter)
		a.press(kb.Tab)
		if got := a.focused(); got != "#account" {
			t.Fatalf("Tab after the skip link reached %s, want the account field", got)
		}
		// Fill the form and submit it with the keyboard alone.
		a.press(employeeID)
		a.press(kb.Tab)
		if got := a.focused(); got != "#password" {
			t.Fatalf("Tab from the account field reached %s, want the password field", got)
		}
		// The focused field shows the site's focus ring (which also
		// shows that the stylesheet loads under the page's
		// Content-Security-Policy).
		if ring := eval[string](a, `(s => s.outlineStyle + ' ' + s.outlineWidth)(getComputedStyle(document.activeElement))`); ring != "solid 3px" {
			t.Errorf("the focused field's outline is %q, want the site's 3px focus ring", ring)
		}
		a.press("not the password at all")
		a.press(kb.Tab)
		if got := a.focused(); got != "button:Continue" {
			t.Fatalf("Tab from the password field reached %s, want the Continue button", got)
		}
		status := a.load(chromedp.KeyEvent(kb.Enter))
		if status != 401 || a.path() != "/login" || a.alert() != msgSignIn {
			t.Fatalf("a wrong password typed and submitted by keyboard: status %d at %s, message %q", status, a.path(), a.alert())
		}
	})

	t.Run("ErrWrongPassword", func(t *testing.T) {
		a.t = t
		// A wrong password for a real account and any password for an
		// account that does not exist get the same answer.
		for _, account := range []string{employeeID, "E0000000"} {
			a.open("/login")
			a.do(chromedp.SendKeys(chromedp.ID("account"), account), chromedp.SendKeys(chromedp.ID("password"), "granite seven tulip orbit"))
			status := a.load(chromedp.Click(chromedp.CSS(`main form button[type=submit]`)))
			if status != 401 || a.path() != "/login" || a.alert() != msgSignIn {
				t.Errorf("account %s with a wrong password: status %d at %s, message %q; want 401 on the sign-in page with %q", account, status, a.path(), a.alert(), msgSignIn)
			}
			if a.sessionCookie() != nil {
				t.Fatal("a refused sign-in set a session cookie")
			}
		}
	})

	if !t.Run("ErrWrongCode", func(t *testing.T) {
		a.t = t
		a.open("/login")
		a.do(chromedp.SendKeys(chromedp.ID("account"), employeeID), chromedp.SendKeys(chromedp.ID("password"), password))
		a.load(chromedp.Click(chromedp.CSS(`main form button[type=submit]`)))
		if got := a.path(); got != "/login/code" {
			t.Fatalf("the right password led to %s: %s", got, a.alert())
		}
		if u := a.unlabelled(); len(u) > 0 {
			t.Errorf("fields without a label: %v", u)
		}
		if got := a.focused(); got != "#code" {
			t.Errorf("the code page opens with the focus on %s, want the code field", got)
		}
		// A wrong authenticator code and a wrong recovery code get the
		// same answer, which says nothing about either.
		for _, code := range []string{phone.wrongCode(t), "zzzzz-zzzzz"} {
			a.do(chromedp.SendKeys(chromedp.ID("code"), code))
			status := a.load(chromedp.Click(chromedp.CSS(`main form button[type=submit]`)))
			if status != 401 || a.path() != "/login/code" || a.alert() != msgCode {
				t.Errorf("code %s: status %d at %s, message %q; want 401 on the code page with %q", code, status, a.path(), a.alert(), msgCode)
			}
			if a.sessionCookie() != nil {
				t.Fatal("a refused code set a session cookie")
			}
		}
		// The sign-in goes on: a recovery code finishes it.
		a.do(chromedp.SendKeys(chromedp.ID("code"), recovery[0]))
		if status := a.load(chromedp.Click(chromedp.CSS(`main form button[type=submit]`))); status != 200 || a.path() != "/" {
			t.Fatalf("recovery code after wrong codes: status %d at %s: %s", status, a.path(), a.alert())
		}
	}) {
		return
	}

	t.Run("SignOutEverywhere", func(t *testing.T) {
		a.t = t
		b := newTab(t, browser, ts.URL)
		signIn(t, b, recovery[1])
		a.open("/account")
		if n := eval[int](a, `document.querySelectorAll('main table:last-of-type tbody tr').length`); n != 2 {
			t.Errorf("the account page lists %d sessions, want 2", n)
		}
		a.load(chromedp.Click(chromedp.CSS(`form[action="/account/sign-out-everywhere"] button`)))
		if flash := a.text(`[role=status]`); flash != "You have signed out everywhere." {
			t.Errorf("after signing out everywhere the page says %q", flash)
		}
		// The other browser's session has ended.
		b.open("/account")
		if got := b.path(); got != "/login" {
			t.Fatalf("the other browser still reaches %s after signing out everywhere", got)
		}
		if b.sessionCookie() != nil {
			t.Error("the other browser still holds a session cookie")
		}
		a.open("/account")
		if got := a.path(); got != "/login" {
			t.Fatalf("this browser still reaches %s after signing out everywhere", got)
		}
	})
}
