package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/store"
)

// A person is someone the tests invite, enrol and sign in, with what they
// know: their password, their authenticator's secret and their recovery
// codes.
type person struct {
	label      string // e.g. "cbp-analyst"
	ID         int64
	EmployeeID string
	Name       string
	Component  string
	Password   string
	TOTP       string // base32 secret of the authenticator app
	Recovery   []string
	// Cookie is the session secret of the latest sign-in.
	Cookie string
	// lastStep is the last TOTP time step used: the server accepts each
	// step once.
	lastStep int64
}

// session returns the Cookie header of p's latest session.
func (p *person) session() string { return sessionCookie(p.Cookie) }

func sessionCookie(secret string) string { return authn.SessionCookie + "=" + secret }

// totpOpts are RFC 6238's defaults, as authenticator apps use them.
var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// nextCode returns the code an authenticator app shows for the next unused
// time step, or "" when the current and the next step are both used (the
// server accepts a step once, and only a step away from now; a code for
// the step after the current one still verifies if the clock ticks over on
// the way).
func (p *person) nextCode(tb testing.TB) string {
	tb.Helper()
	now := time.Now().Unix() / 30
	step := max(p.lastStep+1, now)
	if step > now+1 {
		return ""
	}
	code, err := totp.GenerateCodeCustom(p.TOTP, time.Unix(step*30, 0), totpOpts)
	if err != nil {
		tb.Fatalf("TOTP code: %v", err)
	}
	p.lastStep = step
	return code
}

// totpCode returns the code of a time step.
func totpCode(secret string, step int64) (string, error) {
	return totp.GenerateCodeCustom(secret, time.Unix(step*30, 0), totpOpts)
}

// secondFactor returns a TOTP code, or a recovery code when no step is
// free.
func (p *person) secondFactor(tb testing.TB) string {
	tb.Helper()
	if c := p.nextCode(tb); c != "" {
		return c
	}
	if len(p.Recovery) == 0 {
		tb.Fatalf("%s has no TOTP step or recovery code left", p.label)
	}
	c := p.Recovery[0]
	p.Recovery = p.Recovery[1:]
	return c
}

// next returns a number not used before on ts.
func (ts *testServer) next() int64 { return ts.seq.Add(1) }

// invitation is what inviting a person needs.
type invitation struct {
	label      string
	component  string
	supervisor int64
}

// mustInvite invites a person as the bootstrap administrator and returns
// them with their one-time enrolment secret.
func (ts *testServer) mustInvite(tb testing.TB, in invitation) (*person, string) {
	tb.Helper()
	n := ts.next()
	p := &person{
		label:      in.label,
		EmployeeID: fmt.Sprintf("%s-%d", in.label, n),
		Name:       fmt.Sprintf("Test %s-%d", in.label, n),
		Component:  in.component,
		Password:   fmt.Sprintf("lantern orbit velvet %04d", n),
	}
	body := map[string]any{"employee_id": p.EmployeeID, "name": p.Name, "email": strings.ToLower(p.EmployeeID) + "@example.gov"}
	if in.component != "" {
		body["component"] = in.component
	}
	if in.supervisor != 0 {
		body["supervisor_id"] = in.supervisor
	}
	b, _ := json.Marshal(body)
	var resp struct {
		Person struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		} `json:"person"`
		EnrolmentURL string `json:"enrolment_url"`
	}
	ts.mustJSON(tb, request{method: "POST", path: "/api/v1/people", auth: bearer(adminToken), body: string(b)}, http.StatusCreated, &resp)
	if resp.Person.Status != "invited" {
		tb.Fatalf("invited %s: status %q", p.EmployeeID, resp.Person.Status)
	}
	p.ID = resp.Person.ID
	prefix := ts.Base + "/enroll/"
	if !strings.HasPrefix(resp.EnrolmentURL, prefix) {
		tb.Fatalf("enrolment URL %q does not start with %q", resp.EnrolmentURL, prefix)
	}
	return p, strings.TrimPrefix(resp.EnrolmentURL, prefix)
}

// mustGrant grants a role as the bootstrap administrator and returns the
// grant's ID.
func (ts *testServer) mustGrant(tb testing.TB, personID int64, role auth.Role, component string) int64 {
	tb.Helper()
	var g struct {
		ID int64 `json:"id"`
	}
	body := fmt.Sprintf(`{"person_id":%d,"role":%q,"component":%q}`, personID, role, component)
	ts.mustJSON(tb, request{method: "POST", path: "/api/v1/grants", auth: bearer(adminToken), body: body}, http.StatusCreated, &g)
	return g.ID
}

// An enrolForm is the enrolment page's form as a browser shows it.
type enrolForm struct {
	Secret string // the TOTP key written on the page
	Sealed string // the hidden field carrying it
}

var (
	sealedField  = regexp.MustCompile(`name="sealed" value="([^"]+)"`)
	keyText      = regexp.MustCompile(`Key: <code>([A-Z2-7]+)</code>`)
	recoveryCode = regexp.MustCompile(`<li>([A-Z2-7]{5}-[A-Z2-7]{5})</li>`)
)

// mustEnrolForm opens the enrolment page.
func (ts *testServer) mustEnrolForm(tb testing.TB, secret string) enrolForm {
	tb.Helper()
	r := ts.send(tb, request{method: "GET", path: "/enroll/" + secret})
	if r.status != http.StatusOK {
		tb.Fatalf("GET /enroll: status %d: %s", r.status, r.body)
	}
	s, k := sealedField.FindSubmatch(r.body), keyText.FindSubmatch(r.body)
	if s == nil || k == nil {
		tb.Fatalf("the enrolment page has no sealed field or key:\n%s", r.body)
	}
	return enrolForm{Secret: string(k[1]), Sealed: string(s[1])}
}

// postForm sends a form.
func (ts *testServer) postForm(tb testing.TB, path string, form url.Values, rq request) response {
	tb.Helper()
	rq.method, rq.path, rq.body, rq.contentType = "POST", path, form.Encode(), "application/x-www-form-urlencoded"
	return ts.send(tb, rq)
}

// mustEnrol activates an invited account through the enrolment page:
// password, authenticator app, first code.
func (ts *testServer) mustEnrol(tb testing.TB, p *person, secret string) {
	tb.Helper()
	f := ts.mustEnrolForm(tb, secret)
	p.TOTP = f.Secret
	r := ts.postForm(tb, "/enroll/"+secret, url.Values{
		"password": {p.Password}, "password2": {p.Password}, "sealed": {f.Sealed}, "code": {p.nextCode(tb)},
	}, request{})
	if r.status != http.StatusOK {
		tb.Fatalf("enrol %s: status %d: %s", p.EmployeeID, r.status, r.body)
	}
	p.Recovery = nil
	for _, m := range recoveryCode.FindAllSubmatch(r.body, -1) {
		p.Recovery = append(p.Recovery, string(m[1]))
	}
	if len(p.Recovery) != authn.RecoveryCodeCount {
		tb.Fatalf("enrolment showed %d recovery codes, want %d", len(p.Recovery), authn.RecoveryCodeCount)
	}
}

// cookieOf returns the value of the cookie a response sets, "" if none.
func cookieOf(r response, name string) string {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// signInPassword posts the sign-in form.
func (ts *testServer) signInPassword(tb testing.TB, account, password string, rq request) response {
	tb.Helper()
	return ts.postForm(tb, "/login", url.Values{"account": {account}, "password": {password}}, rq)
}

// mustSignIn signs p in through the pages, from a client with the given
// user agent, and returns the session secret.
func (ts *testServer) mustSignIn(tb testing.TB, p *person, rq request) string {
	tb.Helper()
	r := ts.signInPassword(tb, p.EmployeeID, p.Password, rq)
	pending := cookieOf(r, authn.PendingCookie)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login/code" || pending == "" {
		tb.Fatalf("sign in %s: status %d, Location %q, pending cookie %v: %s", p.EmployeeID, r.status, r.header.Get("Location"), pending != "", r.body)
	}
	rq.cookie = authn.PendingCookie + "=" + pending
	r = ts.postForm(tb, "/login/code", url.Values{"code": {p.secondFactor(tb)}}, rq)
	session := cookieOf(r, authn.SessionCookie)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" || session == "" {
		tb.Fatalf("sign in %s, second factor: status %d, Location %q: %s", p.EmployeeID, r.status, r.header.Get("Location"), r.body)
	}
	p.Cookie = session
	return session
}

// mustPerson invites, grants, enrols and signs in a person, from a client
// with the user agent matrixAgent.
func (ts *testServer) mustPerson(tb testing.TB, in invitation, grants ...auth.Grant) *person {
	tb.Helper()
	p, secret := ts.mustInvite(tb, in)
	for _, g := range grants {
		ts.mustGrant(tb, p.ID, g.Role, g.Component)
	}
	ts.mustEnrol(tb, p, secret)
	ts.mustSignIn(tb, p, request{header: map[string]string{"User-Agent": matrixAgent}})
	return p
}

// mustSession starts a session for p directly in the store, as a completed
// sign-in would, without the cost of a password check: for fixtures that
// need many sessions. The sign-in flow itself is tested through the pages.
func (ts *testServer) mustSession(tb testing.TB, p *person, userAgent string) string {
	tb.Helper()
	res, err := ts.Identity.StartSession(context.Background(), p.ID, "password", "127.0.0.1", userAgent, nil, "", store.DefaultSessionPolicy)
	if err != nil {
		tb.Fatalf("start a session for %s: %v", p.EmployeeID, err)
	}
	p.Cookie = res.Secret
	return res.Secret
}

// mustToken creates a personal API token with p's session.
func (ts *testServer) mustToken(tb testing.TB, p *person, days int, scopes ...auth.Permission) (int64, string) {
	tb.Helper()
	b, _ := json.Marshal(map[string]any{"name": "test token", "scopes": scopes, "days": days})
	var t struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	ts.mustJSON(tb, request{method: "POST", path: "/api/v1/me/tokens", cookie: p.session(), body: string(b)}, http.StatusCreated, &t)
	if !strings.HasPrefix(t.Token, store.TokenPrefix) {
		tb.Fatalf("token %q lacks the prefix %q", t.Token, store.TokenPrefix)
	}
	return t.ID, t.Token
}

// An entry is a ledger entry as the API shows it.
type entry struct {
	Type  string `json:"type"`
	Actor struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
	} `json:"actor"`
	Component string         `json:"component"`
	Subject   string         `json:"subject"`
	Data      map[string]any `json:"data"`
	Digest    string         `json:"digest"`
	raw       string
}

// mustEntry reads ledger entry i as the ledger auditor.
func (ts *testServer) mustEntry(tb testing.TB, i int64) entry {
	tb.Helper()
	var resp struct {
		Entry json.RawMessage `json:"entry"`
	}
	ts.mustJSON(tb, request{method: "GET", path: fmt.Sprintf("/api/v1/ledger/entries/%d", i), auth: bearer(auditorToken)}, http.StatusOK, &resp)
	var e entry
	if err := json.Unmarshal(resp.Entry, &e); err != nil {
		tb.Fatalf("entry %d: %v", i, err)
	}
	e.raw = string(resp.Entry)
	return e
}

// entriesSince returns the entries from index from on.
func (ts *testServer) entriesSince(tb testing.TB, from int64) []entry {
	tb.Helper()
	var out []entry
	for i, n := from, ts.ledgerSize(tb); i < n; i++ {
		out = append(out, ts.mustEntry(tb, i))
	}
	return out
}

// types returns the entries' types.
func types(es []entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Type)
	}
	return out
}

// meJSON is GET /api/v1/me.
type meJSON struct {
	Person struct {
		ID         int64  `json:"id"`
		EmployeeID string `json:"employee_id"`
		Status     string `json:"status"`
		Grants     []struct {
			ID        int64  `json:"id"`
			Role      string `json:"role"`
			Component string `json:"component"`
			Status    string `json:"status"`
		} `json:"grants"`
	} `json:"person"`
	Lapses []lapse `json:"access_lapses"`
	Rules  []struct {
		Key          string     `json:"key"`
		Version      int        `json:"version"`
		Acknowledged *time.Time `json:"acknowledged_at"`
	} `json:"rules"`
}

// mustMe reads GET /api/v1/me with p's session.
func (ts *testServer) mustMe(tb testing.TB, p *person) meJSON {
	tb.Helper()
	var me meJSON
	ts.mustJSON(tb, request{method: "GET", path: "/api/v1/me", cookie: p.session()}, http.StatusOK, &me)
	if me.Person.ID != p.ID {
		tb.Fatalf("GET /api/v1/me as %s answered person %d", p.EmployeeID, me.Person.ID)
	}
	return me
}

// A lapse is a reason a person may not access data, as the API shows it.
type lapse struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

// lapseCodes returns the codes of the lapses.
func lapseCodes(ls []lapse) []string {
	out := []string{}
	for _, l := range ls {
		out = append(out, l.Code)
	}
	return out
}

// mustSQL runs a statement against the server's database, for what tests
// cannot wait for (an expiry, say).
func (ts *testServer) mustSQL(tb testing.TB, query string, args ...any) int64 {
	tb.Helper()
	ctx := context.Background()
	var n int64
	err := ts.DB.Update(ctx, func(tx *store.Tx) error {
		r, err := tx.Exec(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	if err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}

// mustQueryInt reads one integer from the database.
func (ts *testServer) mustQueryInt(tb testing.TB, query string, args ...any) int64 {
	tb.Helper()
	ctx := context.Background()
	var n int64
	err := ts.DB.View(ctx, func(tx *store.Tx) error { return tx.QueryRow(ctx, query, args...).Scan(&n) })
	if err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}
