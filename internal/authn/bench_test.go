package authn_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// The benchmarks here measure the identity issue's targets (figures and
// commands in docs/benchmarks.md): password verification tuned to 50–100
// ms, equal cost for unknown accounts and wrong passwords, and the
// per-request cost of authentication plus a permission check.

// BenchmarkVerifyPassword measures one argon2id verification with the
// default parameters.
func BenchmarkVerifyPassword(b *testing.B) {
	for _, p := range []authn.PasswordParams{{Time: 2, MemoryKiB: 32 << 10, Threads: 2}, {Time: 2, MemoryKiB: 64 << 10, Threads: 2}, {Time: 3, MemoryKiB: 64 << 10, Threads: 2}} {
		b.Run(fmt.Sprintf("t=%d/m=%dMiB/p=%d", p.Time, p.MemoryKiB>>10, p.Threads), func(b *testing.B) { benchVerify(b, p) })
	}
}

func benchVerify(b *testing.B, p authn.PasswordParams) {
	hash := authn.HashPassword(ssoPassword, p)
	for b.Loop() {
		ok, err := authn.VerifyPassword(ssoPassword, hash)
		if err != nil || !ok {
			b.Fatalf("verify: %v, %v", ok, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/verify")
}

// BenchmarkCheckPassword measures a whole password sign-in attempt that
// fails, for an account that exists and for one that does not: the two
// must cost the same, so that timing reveals nothing about which accounts
// exist.
func BenchmarkCheckPassword(b *testing.B) {
	e := mustSSOEnv(b, store.SQLite, store.ThrottlePolicy{Window: time.Minute, MaxAccount: 1 << 30, MaxAddr: 1 << 30, LockoutTime: time.Minute})
	person, _ := e.mustPerson(b, identity.Person{EmployeeID: "E-BENCH"})
	// The service under test hashes with the default parameters; the
	// person's password is re-hashed with them too.
	key, err := sealed.ParseKey(sealed.GenerateKey())
	if err != nil {
		b.Fatal(err)
	}
	svc := authn.New(e.IDs, authn.Config{Issuer: "Probity test", Secrets: key, Password: authn.DefaultPasswordParams,
		Throttle: store.ThrottlePolicy{Window: time.Minute, MaxAccount: 1 << 30, MaxAddr: 1 << 30, LockoutTime: time.Minute}, Logger: storetest.Logger()})
	if err := e.IDs.SetPassword(context.Background(), auth.Principal{Kind: ledger.ActorUser, ID: "E-BENCH", PersonID: person.ID}, authn.HashPassword(ssoPassword, authn.DefaultPasswordParams)); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, account string }{
		{"wrong_password", "E-BENCH"},
		{"unknown_account", "E-NOBODY"},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				_, err := svc.CheckPassword(ctx, c.account, "not the password at all", authn.Client{Addr: "192.0.2.1", UserAgent: "bench"})
				if !fault.Is(err, fault.Unauthenticated) {
					b.Fatalf("sign-in with a wrong password: %v, want refused", err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/attempt")
		})
	}
}

// BenchmarkAuthenticate measures what every signed-in request pays before
// its handler runs: resolving the session cookie to a principal (a read
// of the session, the person and their grants) and checking the route's
// permission.
func BenchmarkAuthenticate(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(d.String(), func(b *testing.B) {
			e := mustSSOEnv(b, d, store.DefaultThrottlePolicy)
			person, _ := e.mustPerson(b, identity.Person{EmployeeID: "E-BENCH"})
			if _, err := e.IDs.GrantRole(context.Background(), e.Admin, identity.Grant{PersonID: person.ID, Role: auth.DepartmentPrivacyOfficer}); err != nil {
				b.Fatal(err)
			}
			res, err := e.Svc.StartSessionFor(context.Background(), person.ID, "password", authn.Client{Addr: "192.0.2.1", UserAgent: "bench"}, "")
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/api/v1/people", nil)
			r.RemoteAddr = "192.0.2.1:5000"
			r.Header.Set("User-Agent", "bench")
			r.Header.Set("Cookie", authn.SessionCookie+"="+res.Secret)
			lat := make([]time.Duration, 0, 1<<16)
			for b.Loop() {
				start := time.Now()
				p, err := e.Svc.Authenticate(r)
				if err != nil {
					b.Fatal(err)
				}
				if !p.Can(auth.PeopleRead) {
					b.Fatalf("principal %+v may not read people", p)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
		})
	}
}
