package authn_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// A ssoClock is a clock tests move forward.
type ssoClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *ssoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *ssoClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// An ssoEnv is an authentication service over a fresh database holding
// people to sign in.
type ssoEnv struct {
	DB     *store.DB
	Ledger *store.Ledger
	IDs    *store.Identity
	Svc    *authn.Service
	Clock  *ssoClock
	Admin  auth.Principal
}

const ssoPassword = "violet harbor lantern ninety"

// cheapPassword keeps enrolment fast in tests; the cost parameters are
// not what these tests are about.
var cheapPassword = authn.PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1}

// mustSSOEnv opens a fresh database of dialect d with an authentication
// service over it.
func mustSSOEnv(tb testing.TB, d store.Dialect, throttle store.ThrottlePolicy) *ssoEnv {
	tb.Helper()
	clock := &ssoClock{}
	db, l := storetest.MustOpenWith(tb, store.Options{DSN: storetest.NewDSN(tb, d), Clock: clock.Now}, storetest.MustKeys(tb))
	key, err := sealed.ParseKey(sealed.GenerateKey())
	if err != nil {
		tb.Fatal(err)
	}
	ids := db.Identity()
	svc := authn.New(ids, authn.Config{Issuer: "Probity test", Secrets: key, Password: cheapPassword, Throttle: throttle, Logger: storetest.Logger()})
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Name: "Test administrator", Grants: []auth.Grant{{Role: auth.Administrator}}}
	return &ssoEnv{DB: db, Ledger: l, IDs: ids, Svc: svc, Clock: clock, Admin: admin}
}

// mustPerson invites and enrols a person and returns them (active) with
// their TOTP secret.
func (e *ssoEnv) mustPerson(tb testing.TB, p identity.Person) (identity.Person, string) {
	tb.Helper()
	ctx := context.Background()
	if p.Email == "" {
		p.Email = p.EmployeeID + "@example.gov"
	}
	if p.Name == "" {
		p.Name = "Person " + p.EmployeeID
	}
	p.Schedule = identity.DefaultSchedule()
	p, link, err := e.IDs.Invite(ctx, e.Admin, p)
	if err != nil {
		tb.Fatalf("invite %s: %v", p.EmployeeID, err)
	}
	en, err := e.Svc.BeginEnrolment(ctx, link)
	if err != nil {
		tb.Fatal(err)
	}
	code, err := authn.TOTPCode(en.TOTPSecret, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	p, _, err = e.Svc.CompleteEnrolment(ctx, link, ssoPassword, en.Sealed, code)
	if err != nil {
		tb.Fatalf("enrol %s: %v", p.EmployeeID, err)
	}
	return p, en.TOTPSecret
}

// peopleCount returns how many people exist.
func (e *ssoEnv) peopleCount(tb testing.TB) int {
	tb.Helper()
	ps, err := e.IDs.People(context.Background(), e.Admin, store.PeopleFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	return len(ps)
}

// liveSessions returns how many signed-in sessions a person has.
func (e *ssoEnv) liveSessions(tb testing.TB, personID int64) int {
	tb.Helper()
	s, err := e.IDs.Sessions(context.Background(), personID, store.DefaultSessionPolicy)
	if err != nil {
		tb.Fatal(err)
	}
	return len(s)
}

// entries returns every ledger entry. On PostgreSQL entries appear once
// the sequencer has integrated them.
func entries(tb testing.TB, l *store.Ledger) []ledger.Entry {
	tb.Helper()
	var out []ledger.Entry
	for r, err := range l.AllRows(context.Background()) {
		if err != nil {
			tb.Fatal(err)
		}
		en, err := ledger.Decode(r.Entry)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, en)
	}
	return out
}

// entriesFrom waits until the ledger holds an entry recorded for client
// address addr of type typ, and returns every entry for that address.
// Each test case signs in from its own address, so its entries can be told
// apart from the others'.
func entriesFrom(tb testing.TB, l *store.Ledger, addr, typ string) []ledger.Entry {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var mine []ledger.Entry
		found := false
		for _, en := range entries(tb, l) {
			if en.Data["addr"] == addr {
				mine = append(mine, en)
				found = found || en.Type == typ
			}
		}
		if found {
			return mine
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no %s entry for %s within 30s; the address's entries: %+v", typ, addr, mine)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mustRefusal checks that the only ledger entry for addr is one sign-in
// refusal with the given method, reason and detail.
func mustRefusal(tb testing.TB, l *store.Ledger, addr, method, reason, detail string) ledger.Entry {
	tb.Helper()
	got := entriesFrom(tb, l, addr, "auth.sign_in_refused")
	if len(got) != 1 {
		tb.Fatalf("%d ledger entries for %s, want exactly one refusal: %+v", len(got), addr, got)
	}
	en := got[0]
	want := map[string]any{"method": method, "reason": reason}
	if detail != "" {
		want["detail"] = detail
	}
	for k, v := range want {
		if en.Data[k] != v {
			tb.Errorf("refusal %s = %v, want %v (entry %+v)", k, en.Data[k], v, en)
		}
	}
	if detail == "" && en.Data["detail"] != nil {
		tb.Errorf("refusal has detail %v, want none", en.Data["detail"])
	}
	return en
}
