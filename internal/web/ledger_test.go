package web

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// A ledgerEnv is the pages over a fresh database whose people are an
// auditor (department-wide), an auditor of CBP only and an analyst, each
// signed in, and whose ledger has a few entries of known content.
type ledgerEnv struct {
	db      *store.DB
	l       *store.Ledger
	keys    ledger.Keys
	clock   *storetest.Clock
	w       *Web
	cookies map[string]string
	// at holds the index of each recorded test entry, by label.
	at map[string]int64
	// signIn starts a session for each person. Sessions expire after
	// minutes, so tests that move the clock by days sign in afterwards.
	signIn func()
}

func mustLedgerEnv(tb testing.TB, d store.Dialect) *ledgerEnv {
	tb.Helper()
	ctx := context.Background()
	clock := &storetest.Clock{}
	keys := awkwardKeys(tb)
	db, l := storetest.MustOpenWith(tb, store.Options{DSN: storetest.NewDSN(tb, d), Clock: clock.Now}, keys)
	e := &ledgerEnv{db: db, l: l, keys: keys, clock: clock, cookies: map[string]string{}, at: map[string]int64{}}
	ids := db.Identity()
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "web-test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	if err := ids.CreateComponent(ctx, admin, identity.Component{Code: "CBP", Name: "CBP component"}); err != nil {
		tb.Fatal(err)
	}
	people := map[string]identity.Grant{}
	for _, p := range []struct {
		id, component string
		role          auth.Role
	}{{"auditor", "", auth.Auditor}, {"cbp-auditor", "CBP", auth.Auditor}, {"cbp-analyst", "CBP", auth.Analyst}} {
		person, secret, err := ids.Invite(ctx, admin, identity.Person{EmployeeID: p.id, Name: "Test " + p.id, Email: p.id + "@example.gov", Component: p.component, Schedule: identity.DefaultSchedule()})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := ids.GrantRole(ctx, admin, identity.Grant{PersonID: person.ID, Role: p.role, Component: p.component}); err != nil {
			tb.Fatal(err)
		}
		if _, err := ids.Activate(ctx, secret, store.Enrolment{PasswordHash: "unused", TOTPSealed: []byte("unused")}); err != nil {
			tb.Fatal(err)
		}
		people[p.id] = identity.Grant{PersonID: person.ID}
	}
	key, err := sealed.ParseKey(sealed.GenerateKey())
	if err != nil {
		tb.Fatal(err)
	}
	e.w, err = New(Deps{Authn: authn.New(ids, authn.Config{Secrets: key, Logger: storetest.Logger()}), Identity: ids, Logger: storetest.Logger(),
		Ledger: l, LedgerAnchor: keys.Signing.VerifierKey, LedgerMAC: keys.MAC})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.w.Close)
	e.signIn = func() {
		for who, g := range people {
			res, err := ids.StartSession(ctx, g.PersonID, "password", "127.0.0.1", "web-test", nil, "", store.DefaultSessionPolicy)
			if err != nil {
				tb.Fatal(err)
			}
			e.cookies[who] = res.Secret
		}
	}
	return e
}

// awkwardKeys returns ledger keys whose verifier key's base64 holds '+'
// and '/', which the page's script must not take for separators.
func awkwardKeys(tb testing.TB) ledger.Keys {
	tb.Helper()
	for {
		k := storetest.MustKeys(tb)
		// "<origin>+<8 hex digits>+<base64>"
		if b64 := k.Signing.VerifierKey[len(storetest.Origin)+10:]; strings.Contains(b64, "+") && strings.Contains(b64, "/") {
			return k
		}
	}
}

// record appends an event as an audited action would and returns its
// index.
func (e *ledgerEnv) record(tb testing.TB, label string, ev ledger.Event) int64 {
	tb.Helper()
	ctx := context.Background()
	var ref store.Ref
	err := e.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		ref, err = e.l.Append(ctx, tx, ev)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	index, err := e.l.WaitIntegrated(ctx, ref)
	if err != nil {
		tb.Fatal(err)
	}
	if label != "" {
		e.at[label] = index
	}
	return index
}

// The hostile strings of the test entries: spreadsheet formulas, markup,
// quotes, commas, control characters.
const (
	evilActor    = `=HYPERLINK("http://evil.example","click")`
	evilSubject  = `<script>alert("x")</script>`
	evilNote     = "@SUM(1,2)\n\"quoted\", comma"
	evilSubject2 = "\tTAB\nline, \"q\""
)

// recordKnown records the test entries: alpha, beta and gamma a day
// apart, then two hostile ones the same day as gamma.
func (e *ledgerEnv) recordKnown(tb testing.TB) {
	tb.Helper()
	user := func(id string) ledger.Actor { return ledger.Actor{Kind: ledger.ActorUser, ID: id} }
	e.record(tb, "alpha", ledger.Event{Type: "webtest.alpha", Actor: user("aud-1"), Component: "CBP", Subject: "case/7/query/1", Data: map[string]any{"n": 1}})
	e.clock.Advance(24 * time.Hour)
	e.record(tb, "beta", ledger.Event{Type: "webtest.beta", Actor: user("aud-2"), Component: "ICE", Subject: "case/7/query/2"})
	e.clock.Advance(24 * time.Hour)
	e.record(tb, "gamma", ledger.Event{Type: "webtest.alpha.more", Actor: user("aud-2"), Component: "CBP", Subject: "case/8/query/3"})
	e.record(tb, "evil", ledger.Event{Type: "webtest.hostile", Actor: user(evilActor), Component: "+1", Subject: evilSubject,
		Data:   map[string]any{"note": evilNote, "formula": "+1-2", "nested": map[string]any{"k": []any{"-x", "<b>bold</b>"}}},
		Digest: ledger.PayloadDigest([]byte("payload"))})
	e.record(tb, "evil2", ledger.Event{Type: "webtest.hostile", Actor: user("@evil"), Component: "-2", Subject: evilSubject2})
}

// get requests path as who ("" for nobody).
func (e *ledgerEnv) get(tb testing.TB, who, path string) *httptest.ResponseRecorder {
	tb.Helper()
	return e.send(tb, who, "GET", path, nil)
}

func (e *ledgerEnv) send(tb testing.TB, who, method, path string, form url.Values) *httptest.ResponseRecorder {
	tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if who != "" {
		r.AddCookie(&http.Cookie{Name: authn.SessionCookie, Value: e.cookies[who]})
	}
	rec := httptest.NewRecorder()
	e.w.ServeHTTP(rec, r)
	return rec
}

// day returns the UTC date of a test entry.
func (e *ledgerEnv) day(tb testing.TB, label string) string {
	tb.Helper()
	raw, err := e.l.Entry(context.Background(), e.at[label])
	if err != nil {
		tb.Fatal(err)
	}
	en, err := ledger.Decode(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return en.Time[:10]
}

var (
	entryLinkR = regexp.MustCompile(`<td><a href="/ledger/(\d+)">Entry`)
	olderR     = regexp.MustCompile(`<a href="(/ledger\?[^"]*)" rel="next">`)
	newerR     = regexp.MustCompile(`<a href="(/ledger\?[^"]*)" rel="prev">`)
)

// listed returns the entry indexes a list page shows, in order.
func listed(tb testing.TB, body string) []int64 {
	tb.Helper()
	var out []int64
	for _, m := range entryLinkR.FindAllStringSubmatch(body, -1) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		out = append(out, n)
	}
	return out
}

func link(r *regexp.Regexp, body string) string {
	m := r.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestWeb_LedgerList(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			e := mustLedgerEnv(t, d)
			e.recordKnown(t)
			for i := range 120 {
				e.at["page"+strconv.Itoa(i)] = e.record(t, "", ledger.Event{Type: "pagetest.item", Actor: ledger.Actor{Kind: ledger.ActorSystem, ID: "pager"}, Subject: fmt.Sprintf("item/%d", i)})
			}
			e.signIn()
			size := storetest.SettledSize(t, e.db, e.l)

			t.Run("OKNewestFirst", func(t *testing.T) {
				rec := e.get(t, "auditor", "/ledger")
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d:\n%s", rec.Code, rec.Body)
				}
				got := listed(t, rec.Body.String())
				if len(got) != ledgerPageSize || got[0] != size-1 || got[len(got)-1] != size-ledgerPageSize {
					t.Fatalf("the first page lists %v, want %d … %d", got, size-1, size-ledgerPageSize)
				}
				if !strings.Contains(rec.Body.String(), fmt.Sprintf("The ledger holds %d entries", size)) {
					t.Errorf("the page does not give the ledger's size %d", size)
				}
				if link(newerR, rec.Body.String()) != "" {
					t.Error("the newest page links to newer entries")
				}
			})

			t.Run("OKCursorsOutside", func(t *testing.T) {
				for _, q := range []string{"after=9223372036854775807", fmt.Sprintf("after=%d", size-1), "before=0"} {
					rec := e.get(t, "auditor", "/ledger?"+q)
					if got := listed(t, rec.Body.String()); rec.Code != http.StatusOK || len(got) != 0 {
						t.Errorf("GET /ledger?%s: status %d, lists %v; want nothing", q, rec.Code, got)
					}
				}
				if got := listed(t, e.get(t, "auditor", "/ledger?before=9223372036854775807").Body.String()); len(got) != ledgerPageSize || got[0] != size-1 {
					t.Errorf("before the end lists %v, want the newest page", got)
				}
			})

			t.Run("OKSearch", func(t *testing.T) {
				at := func(labels ...string) []int64 {
					var out []int64
					for _, l := range labels {
						out = append(out, e.at[l])
					}
					return out
				}
				for _, c := range []struct {
					name  string
					query url.Values
					want  []int64
				}{
					{"Actor", url.Values{"actor": {"aud-2"}}, at("gamma", "beta")},
					{"ActorHostile", url.Values{"actor": {evilActor}}, at("evil")},
					{"ActorIsExact", url.Values{"actor": {"aud"}}, nil},
					{"Type", url.Values{"type": {"webtest.alpha"}}, at("gamma", "alpha")},
					{"TypeExact", url.Values{"type": {"webtest.alpha.more"}}, at("gamma")},
					{"TypePrefix", url.Values{"type": {"webtest"}}, at("evil2", "evil", "gamma", "beta", "alpha")},
					{"TypeDottedPrefix", url.Values{"type": {"webtest."}}, at("evil2", "evil", "gamma", "beta", "alpha")},
					{"TypeWholeWords", url.Values{"type": {"webtest.alph"}}, nil},
					{"Subject", url.Values{"subject": {"case/7/"}}, at("beta", "alpha")},
					{"SubjectHostile", url.Values{"subject": {"<script>"}}, at("evil")},
					{"SubjectControl", url.Values{"subject": {"TAB\nline, \"q"}}, at("evil2")},
					{"Component", url.Values{"type": {"webtest"}, "component": {"CBP"}}, at("gamma", "alpha")},
					{"ComponentExact", url.Values{"component": {"cbp"}}, nil},
					{"Day", url.Values{"type": {"webtest"}, "from": {e.day(t, "beta")}, "to": {e.day(t, "beta")}}, at("beta")},
					{"From", url.Values{"type": {"webtest"}, "from": {e.day(t, "beta")}}, at("evil2", "evil", "gamma", "beta")},
					{"To", url.Values{"type": {"webtest"}, "to": {e.day(t, "alpha")}}, at("alpha")},
					{"Combined", url.Values{"actor": {"aud-2"}, "component": {"CBP"}, "from": {e.day(t, "gamma")}}, at("gamma")},
					{"DateRangeAfterAll", url.Values{"from": {"2999-01-01"}}, nil},
				} {
					t.Run(c.name, func(t *testing.T) {
						rec := e.get(t, "auditor", "/ledger?"+c.query.Encode())
						if rec.Code != http.StatusOK {
							t.Fatalf("status %d:\n%s", rec.Code, rec.Body)
						}
						if got := listed(t, rec.Body.String()); !slices.Equal(got, c.want) {
							t.Errorf("found %v, want %v", got, c.want)
						}
						// The form shows the search as typed.
						for name, v := range c.query {
							m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(rec.Body.String())
							if m == nil || html.UnescapeString(m[1]) != v[0] {
								t.Errorf("the form does not show %s=%q", name, v[0])
							}
						}
					})
				}
			})

			t.Run("OKPages", func(t *testing.T) {
				for _, c := range []struct {
					name  string
					start string
					want  []int64
				}{
					{"All", "/ledger", seq(size-1, 0)},
					{"Filtered", "/ledger?type=pagetest", seq(e.at["page119"], e.at["page0"])},
				} {
					t.Run(c.name, func(t *testing.T) {
						var got []int64
						var pages []string
						for next := c.start; next != ""; {
							rec := e.get(t, "auditor", next)
							if rec.Code != http.StatusOK {
								t.Fatalf("GET %s: status %d", next, rec.Code)
							}
							rows := listed(t, rec.Body.String())
							if len(rows) > ledgerPageSize {
								t.Fatalf("GET %s lists %d entries", next, len(rows))
							}
							got = append(got, rows...)
							pages = append(pages, rec.Body.String())
							next = link(olderR, rec.Body.String())
							if len(pages) > 20 {
								t.Fatal("the pages do not end")
							}
						}
						if !slices.Equal(got, c.want) {
							t.Fatalf("the pages list %v, want %v", got, c.want)
						}
						// Back up through the newer links: the same pages.
						body := pages[len(pages)-1]
						for i := len(pages) - 2; i >= 0; i-- {
							newer := link(newerR, body)
							if newer == "" {
								t.Fatalf("page %d has no link to newer entries", i+1)
							}
							body = e.get(t, "auditor", newer).Body.String()
							if got, want := listed(t, body), listed(t, pages[i]); !slices.Equal(got, want) {
								t.Fatalf("going back to page %d lists %v, want %v", i, got, want)
							}
						}
					})
				}
			})

			t.Run("ErrBadSearch", func(t *testing.T) {
				for _, c := range []struct{ name, query, field, msg string }{
					{"Date", "from=2026-13-45", "from", `from: "2026-13-45" is not a date`},
					{"Range", "from=2026-02-02&to=2026-02-01", "to", "to: the end date is before the start date"},
					{"TooLong", "subject=" + strings.Repeat("x", 513), "subject", "subject: at most 512 bytes"},
					{"NotUTF8", "actor=%ff", "actor", "actor: the text is not valid UTF-8"},
				} {
					t.Run(c.name, func(t *testing.T) {
						rec := e.get(t, "auditor", "/ledger?"+c.query)
						if rec.Code != http.StatusBadRequest {
							t.Fatalf("status %d, want 400", rec.Code)
						}
						body := html.UnescapeString(rec.Body.String())
						if !strings.Contains(body, c.msg) || !strings.Contains(rec.Body.String(), fmt.Sprintf(`id="%s"`, c.field)) ||
							!regexp.MustCompile(`id="`+c.field+`"[^>]*aria-invalid="true"`).MatchString(rec.Body.String()) {
							t.Errorf("the page does not mark %s with %q:\n%s", c.field, c.msg, rec.Body)
						}
						if got := listed(t, rec.Body.String()); len(got) != 0 {
							t.Errorf("a refused search lists %v", got)
						}
					})
				}
				for _, q := range []string{"before=x", "after=-1"} {
					if rec := e.get(t, "auditor", "/ledger?"+q); rec.Code != http.StatusBadRequest {
						t.Errorf("GET /ledger?%s: status %d, want 400", q, rec.Code)
					}
				}
			})
		})
	}
}

// seq returns from, from-1, …, to.
func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i >= to; i-- {
		out = append(out, i)
	}
	return out
}

func (e *ledgerEnv) verifiers(tb testing.TB) note.Verifiers {
	tb.Helper()
	vs, _, err := ledger.ParseVerifiers(e.keys.Signing.VerifierKey)
	if err != nil {
		tb.Fatal(err)
	}
	return vs
}

var (
	entryJSONR  = regexp.MustCompile(`(?s)<pre class="raw" id="entry-json"[^>]*>(.*?)</pre>`)
	noteR       = regexp.MustCompile(`(?s)<pre class="raw" id="checkpoint-note"[^>]*>(.*?)</pre>`)
	proofListR  = regexp.MustCompile(`(?s)<ol class="mono" id="proof"[^>]*>(.*?)</ol>`)
	proofHashR  = regexp.MustCompile(`<li><code>([^<]+)</code></li>`)
	formTokenR  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	jobLocation = regexp.MustCompile(`^/ledger/verify\?job=([0-9a-f]+)$`)
)

// shownProof reads, from an entry's page, the entry, the checkpoint and
// the proof as shown.
func shownProof(tb testing.TB, body string) (entry []byte, msg []byte, proof tlog.RecordProof) {
	tb.Helper()
	m := entryJSONR.FindStringSubmatch(body)
	n := noteR.FindStringSubmatch(body)
	if m == nil || n == nil {
		tb.Fatalf("the page shows no entry or no checkpoint:\n%s", body)
	}
	if list := proofListR.FindStringSubmatch(body); list != nil {
		for _, h := range proofHashR.FindAllStringSubmatch(list[1], -1) {
			b, err := base64.StdEncoding.DecodeString(html.UnescapeString(h[1]))
			if err != nil || len(b) != tlog.HashSize {
				tb.Fatalf("proof hash %q is not a base64 hash", h[1])
			}
			proof = append(proof, tlog.Hash(b))
		}
	}
	return []byte(html.UnescapeString(m[1])), []byte(html.UnescapeString(n[1])), proof
}

func TestWeb_LedgerEntry(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			e := mustLedgerEnv(t, d)
			e.recordKnown(t)
			e.signIn()
			ctx := context.Background()

			t.Run("OKProofVerifies", func(t *testing.T) {
				for _, label := range []string{"alpha", "evil", "evil2"} {
					index := e.at[label]
					rec := e.get(t, "auditor", fmt.Sprintf("/ledger/%d", index))
					if rec.Code != http.StatusOK {
						t.Fatalf("%s: status %d:\n%s", label, rec.Code, rec.Body)
					}
					entry, msg, proof := shownProof(t, rec.Body.String())
					stored, err := e.l.Entry(ctx, index)
					if err != nil {
						t.Fatal(err)
					}
					if string(entry) != string(stored) {
						t.Fatalf("%s: the page shows the entry as\n%s\nbut it is\n%s", label, entry, stored)
					}
					cp, _, err := ledger.OpenCheckpoint(msg, e.verifiers(t))
					if err != nil {
						t.Fatalf("%s: the checkpoint shown does not verify: %v", label, err)
					}
					if cp.Size <= index {
						t.Fatalf("%s: the checkpoint shown covers %d entries, not entry %d", label, cp.Size, index)
					}
					if err := tlog.CheckRecord(proof, cp.Size, cp.Hash, index, tlog.RecordHash(entry)); err != nil {
						t.Errorf("%s: the proof shown does not verify: %v", label, err)
					}
					if len(proof) > 0 {
						bad := slices.Clone(proof)
						bad[0][0] ^= 1
						if tlog.CheckRecord(bad, cp.Size, cp.Hash, index, tlog.RecordHash(entry)) == nil {
							t.Errorf("%s: a changed proof verifies too", label)
						}
					}
				}
			})

			t.Run("OKEscaped", func(t *testing.T) {
				body := e.get(t, "auditor", fmt.Sprintf("/ledger/%d", e.at["evil"])).Body.String()
				if strings.Contains(body, "<script>alert") || strings.Contains(body, "<b>bold") {
					t.Fatal("the page carries the entry's markup unescaped")
				}
				for _, want := range []string{
					html.EscapeString(evilSubject), "&lt;b&gt;bold&lt;/b&gt;", "@SUM(1,2)\n&#34;quoted&#34;, comma", "&#43;1-2",
					ledger.PayloadDigest([]byte("payload")),
					`<dt>formula</dt>`, `<dt>nested</dt>`,
				} {
					if !strings.Contains(body, want) {
						t.Errorf("the page does not show %q", want)
					}
				}
			})

			t.Run("OKReceipt", func(t *testing.T) {
				index := e.at["gamma"]
				rec := e.get(t, "auditor", fmt.Sprintf("/ledger/receipts/%d", index))
				if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment") {
					t.Fatalf("status %d, disposition %q", rec.Code, rec.Header().Get("Content-Disposition"))
				}
				r, err := ledger.ParseReceipt(rec.Body.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				en, _, err := r.Verify(e.verifiers(t))
				if err != nil {
					t.Fatalf("the receipt does not verify: %v", err)
				}
				if en.Seq != index || en.Type != "webtest.alpha.more" {
					t.Errorf("the receipt is of entry %d (%s), want %d", en.Seq, en.Type, index)
				}
			})

			t.Run("ErrNotFound", func(t *testing.T) {
				size := storetest.SettledSize(t, e.db, e.l)
				for _, path := range []string{fmt.Sprintf("/ledger/%d", size), fmt.Sprintf("/ledger/receipts/%d", size+5), "/ledger/-1", "/ledger/abc", "/ledger/99999999999999999999"} {
					if rec := e.get(t, "auditor", path); rec.Code != http.StatusNotFound {
						t.Errorf("GET %s: status %d, want 404", path, rec.Code)
					}
				}
			})
		})
	}
}

func TestWeb_LedgerCSV(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			e := mustLedgerEnv(t, d)
			e.recordKnown(t)
			e.signIn()

			t.Run("OKHostile", func(t *testing.T) {
				rec := e.get(t, "auditor", "/ledger.csv?type=webtest.hostile")
				if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" {
					t.Fatalf("status %d, type %q:\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
				}
				rows, err := csv.NewReader(rec.Body).ReadAll()
				if err != nil {
					t.Fatalf("the export is not CSV: %v", err)
				}
				if len(rows) != 3 || !slices.Equal(rows[0], ledgerCSVHeader) {
					t.Fatalf("the export has rows %q, want the header and 2 entries", rows)
				}
				col := func(row []string, name string) string { return row[slices.Index(ledgerCSVHeader, name)] }
				evil, evil2 := rows[1], rows[2]
				for _, c := range []struct{ got, want string }{
					{col(evil, "index"), strconv.FormatInt(e.at["evil"], 10)},
					{col(evil, "actor_id"), "'" + evilActor},
					{col(evil, "component"), "'+1"},
					{col(evil, "subject"), evilSubject},
					{col(evil, "digest"), ledger.PayloadDigest([]byte("payload"))},
					{col(evil, "data"), `{"formula":"+1-2","nested":{"k":["-x","<b>bold</b>"]},"note":"@SUM(1,2)\n\"quoted\", comma"}`},
					{col(evil2, "actor_id"), "'@evil"},
					{col(evil2, "component"), "'-2"},
					{col(evil2, "subject"), "'" + evilSubject2},
					{col(evil2, "data"), ""},
				} {
					if c.got != c.want {
						t.Errorf("cell %q, want %q", c.got, c.want)
					}
				}
				raw, err := e.l.Entry(context.Background(), e.at["evil"])
				if err != nil {
					t.Fatal(err)
				}
				h := tlog.RecordHash(raw)
				if got := col(evil, "record_hash"); got != base64.StdEncoding.EncodeToString(h[:]) {
					t.Errorf("record hash %q, want that of the stored entry", got)
				}
				for _, row := range rows[1:] {
					for _, cell := range row {
						if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
							t.Errorf("cell %q would be read as a formula", cell)
						}
					}
				}
			})

			t.Run("OKSameFilters", func(t *testing.T) {
				page := listed(t, e.get(t, "auditor", "/ledger?type=webtest&from="+e.day(t, "beta")).Body.String())
				rows, err := csv.NewReader(e.get(t, "auditor", "/ledger.csv?type=webtest&from="+e.day(t, "beta")).Body).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, row := range rows[1:] {
					n, _ := strconv.ParseInt(row[0], 10, 64)
					got = append(got, n)
				}
				slices.Reverse(page)
				if len(got) != 4 || !slices.Equal(got, page) {
					t.Errorf("the export lists %v, the page %v (oldest first), want the same 4", got, page)
				}
			})

			t.Run("ErrBadSearch", func(t *testing.T) {
				rec := e.get(t, "auditor", "/ledger.csv?to=yesterday")
				if rec.Code != http.StatusBadRequest || rec.Header().Get("Content-Type") == "text/csv; charset=utf-8" {
					t.Errorf("status %d, type %q; want a 400 page", rec.Code, rec.Header().Get("Content-Type"))
				}
			})
		})
	}
}

func TestWeb_LedgerPermissions(t *testing.T) {
	e := mustLedgerEnv(t, store.SQLite)
	e.recordKnown(t)
	e.signIn()
	whole := []string{"/ledger", "/ledger.csv", "/ledger/1", "/ledger/receipts/1"}
	verifyPaths := []string{"/ledger/verify"}
	for _, c := range []struct {
		name, who string
		paths     []string
		status    int
		msg       string
	}{
		{"ErrAnonymous", "", slices.Concat(whole, verifyPaths), http.StatusSeeOther, ""},
		{"ErrAnalyst", "cbp-analyst", slices.Concat(whole, verifyPaths), http.StatusForbidden, "your role does not allow this page"},
		{"ErrComponentAuditor", "cbp-auditor", whole, http.StatusForbidden, "reading them needs a department-wide auditor"},
		{"OKComponentAuditorVerifies", "cbp-auditor", verifyPaths, http.StatusOK, ""},
		{"OKAuditor", "auditor", slices.Concat(whole, verifyPaths), http.StatusOK, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range c.paths {
				rec := e.get(t, c.who, path)
				if rec.Code != c.status {
					t.Errorf("GET %s: status %d, want %d", path, rec.Code, c.status)
				}
				if c.status == http.StatusSeeOther && rec.Header().Get("Location") != "/login" {
					t.Errorf("GET %s: sent to %q, want /login", path, rec.Header().Get("Location"))
				}
				if c.msg != "" && !strings.Contains(html.UnescapeString(rec.Body.String()), c.msg) {
					t.Errorf("GET %s: the page does not say %q", path, c.msg)
				}
				if c.status != http.StatusOK && strings.Contains(rec.Body.String(), "webtest.") {
					t.Errorf("GET %s: a refused page shows entries", path)
				}
			}
		})
	}
	t.Run("ErrVerifyWithoutToken", func(t *testing.T) {
		rec := e.send(t, "auditor", "POST", "/ledger/verify", url.Values{"csrf": {"forged"}})
		if rec.Code != http.StatusForbidden {
			t.Fatalf("status %d, want 403", rec.Code)
		}
		if strings.Contains(e.get(t, "auditor", "/ledger/verify").Body.String(), "Recent verifications") {
			t.Error("a refused post started a verification")
		}
		if rec := e.send(t, "cbp-analyst", "POST", "/ledger/verify", url.Values{"csrf": {e.token(t, "auditor")}}); rec.Code != http.StatusForbidden {
			t.Errorf("an analyst's post: status %d, want 403", rec.Code)
		}
	})
}

// token returns the form token the verification page gives who.
func (e *ledgerEnv) token(tb testing.TB, who string) string {
	tb.Helper()
	rec := e.get(tb, who, "/ledger/verify")
	m := formTokenR.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil {
		tb.Fatalf("GET /ledger/verify as %s: status %d, no form token", who, rec.Code)
	}
	return m[1]
}

// verifyNow starts a verification as who and waits for it to finish; it
// returns its page.
func (e *ledgerEnv) verifyNow(tb testing.TB, who string) string {
	tb.Helper()
	rec := e.send(tb, who, "POST", "/ledger/verify", url.Values{"csrf": {e.token(tb, who)}})
	m := jobLocation.FindStringSubmatch(rec.Header().Get("Location"))
	if rec.Code != http.StatusSeeOther || m == nil {
		tb.Fatalf("POST /ledger/verify: status %d, location %q:\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		st := e.get(tb, who, "/ledger/verify/status?job="+m[1])
		var s struct {
			Running     bool
			Read, Total int64
		}
		if err := json.Unmarshal(st.Body.Bytes(), &s); err != nil {
			tb.Fatalf("status: %v:\n%s", err, st.Body)
		}
		if !s.Running {
			if s.Read != s.Total {
				tb.Errorf("a finished verification reports %d of %d entries read", s.Read, s.Total)
			}
			break
		}
		if time.Now().After(deadline) {
			tb.Fatal("the verification did not finish in a minute")
		}
	}
	page := e.get(tb, who, rec.Header().Get("Location"))
	if page.Code != http.StatusOK {
		tb.Fatalf("the verification's page: status %d", page.Code)
	}
	return page.Body.String()
}

func TestWeb_LedgerVerify(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			e := mustLedgerEnv(t, d)
			e.recordKnown(t)
			e.signIn()
			ctx := context.Background()
			if _, _, err := e.l.Publish(ctx); err != nil {
				t.Fatal(err)
			}
			size := storetest.SettledSize(t, e.db, e.l)

			t.Run("OK", func(t *testing.T) {
				body := e.verifyNow(t, "cbp-auditor")
				for _, want := range []string{`data-outcome="ok"`, fmt.Sprintf("all %d entries were rehashed", size), "<dt>Record MACs</dt><dd>checked", "the ledger key file&#39;s verifier key"} {
					if !strings.Contains(body, want) {
						t.Errorf("the page does not say %q:\n%s", want, body)
					}
				}
				if strings.Contains(body, "http-equiv") {
					t.Error("a finished verification's page refreshes itself")
				}
			})

			t.Run("ErrTampered", func(t *testing.T) {
				index := e.at["alpha"]
				err := e.db.Update(ctx, func(tx *store.Tx) error {
					_, err := tx.Exec(ctx, `UPDATE ledger_entries SET entry = $1 WHERE idx = $2`, []byte(strings.Replace(string(mustEntry(t, e.l, index)), "aud-1", "aud-9", 1)), index)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				body := e.verifyNow(t, "auditor")
				if !strings.Contains(body, `data-outcome="problem"`) || !strings.Contains(body, fmt.Sprintf(`<a href="/ledger/%d">Entry %d</a> is the first one known to be affected`, index, index)) {
					t.Errorf("the page does not report entry %d:\n%s", index, body)
				}
				if !strings.Contains(e.get(t, "auditor", "/ledger/verify").Body.String(), "does NOT verify") {
					t.Error("the recent verifications do not list the failed one")
				}
			})

			t.Run("ErrUnknownJob", func(t *testing.T) {
				for _, path := range []string{"/ledger/verify?job=0123", "/ledger/verify/status?job=0123"} {
					if rec := e.get(t, "auditor", path); rec.Code != http.StatusNotFound {
						t.Errorf("GET %s: status %d, want 404", path, rec.Code)
					}
				}
			})

			t.Run("ErrClosed", func(t *testing.T) {
				token := e.token(t, "auditor")
				e.w.Close()
				if rec := e.send(t, "auditor", "POST", "/ledger/verify", url.Values{"csrf": {token}}); rec.Code != http.StatusServiceUnavailable {
					t.Errorf("after Close: status %d, want 503", rec.Code)
				}
			})
		})
	}
}

func mustEntry(tb testing.TB, l *store.Ledger, index int64) []byte {
	tb.Helper()
	b, err := l.Entry(context.Background(), index)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestWeb_LedgerVerifyProgress shows a verification still running: the
// page refreshes itself without script and shows its progress.
func TestWeb_LedgerVerifyProgress(t *testing.T) {
	e := mustLedgerEnv(t, store.SQLite)
	e.signIn()
	j := e.w.fakeJob(1000)
	j.read.Store(250)
	body := e.get(t, "auditor", "/ledger/verify?job="+j.id).Body.String()
	for _, want := range []string{
		`<noscript><meta http-equiv="refresh" content="2"></noscript>`,
		`<progress id="verify-progress" max="1000" value="250">25%</progress>`,
		"Read 250 of 1000 entries (25%)", `data-running="true"`, "<title>Verifying the ledger: 25% — Probity</title>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page does not show %q:\n%s", want, body)
		}
	}
	var s map[string]any
	if err := json.Unmarshal(e.get(t, "auditor", "/ledger/verify/status?job="+j.id).Body.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if s["running"] != true || s["read"] != 250.0 || s["total"] != 1000.0 || s["percent"] != 25.0 {
		t.Errorf("status %v", s)
	}
	j.finish(&ledger.Report{Entries: 1000, Latest: ledger.Checkpoint{Size: 1000}})
	if body := e.get(t, "auditor", "/ledger/verify?job="+j.id).Body.String(); !strings.Contains(body, `data-outcome="ok"`) || strings.Contains(body, "http-equiv") {
		t.Errorf("the finished job's page:\n%s", body)
	}
}

// fakeJob adds a verification that runs until finish is called.
func (w *Web) fakeJob(total int64) *verifyJob {
	v := w.verifications
	v.mu.Lock()
	defer v.mu.Unlock()
	j := &verifyJob{id: fmt.Sprintf("%016x", len(v.jobs)+1), by: "auditor", started: time.Now(), total: total}
	v.jobs = append(v.jobs, j)
	return j
}

func (j *verifyJob) finish(rep *ledger.Report) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.finished, j.report, j.trust = time.Now(), rep, "a test"
}
