package authn_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/authn/pivtest"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

const msgCertificate = "your certificate cannot sign you in: it is not valid for signing in, or no active Probity account is linked to it; tell your administrator"

// otherName adds an otherName GeneralName of type oid whose value value
// adds, for hand-made subjectAltNames.
func otherName(b *cryptobyte.Builder, oid []int, value func(*cryptobyte.Builder)) {
	b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), value)
	})
}

var oidUPN = []int{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}

func utf8String(s string) func(*cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
	}
}

func san(names ...func(*cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, n := range names {
			n(b)
		}
	})
	return b.BytesOrPanic()
}

func TestParseUPN(t *testing.T) {
	upn := func(s string) func(*cryptobyte.Builder) {
		return func(b *cryptobyte.Builder) { otherName(b, oidUPN, utf8String(s)) }
	}
	dns := func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte("host.example.gov")) })
	}
	for _, tc := range []struct {
		name string
		der  []byte
		want string
		err  bool
	}{
		{name: "OK", der: pivtest.MarshalSAN("a@example.gov", "1234567890@mil"), want: "1234567890@mil"},
		{name: "OKUnicode", der: san(upn("zoë.østergaard@agency.gov")), want: "zoë.østergaard@agency.gov"},
		{name: "OKNoUPN", der: pivtest.MarshalSAN("a@example.gov", ""), want: ""},
		{name: "OKOtherNamesOnly", der: san(dns), want: ""},
		{name: "OKSameUPNAfterOthers", der: san(dns, upn("x@y")), want: "x@y"},
		{name: "ErrTwoUPNs", der: san(upn("a@y"), upn("b@y")), err: true},
		{name: "ErrEmptyUPN", der: san(upn("")), err: true},
		{name: "ErrLongUPN", der: san(upn(strings.Repeat("x", 513))), err: true},
		{name: "ErrNotUTF8", der: san(upn("a\xffb")), err: true},
		{name: "ErrIA5String", der: san(func(b *cryptobyte.Builder) {
			otherName(b, oidUPN, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.IA5String, func(b *cryptobyte.Builder) { b.AddBytes([]byte("a@y")) })
			})
		}), err: true},
		{name: "ErrValueNotExplicit", der: san(func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidUPN)
				utf8String("a@y")(b)
			})
		}), err: true},
		{name: "ErrTrailingInValue", der: san(func(b *cryptobyte.Builder) {
			otherName(b, oidUPN, func(b *cryptobyte.Builder) { utf8String("a@y")(b); utf8String("b@y")(b) })
		}), err: true},
		{name: "ErrTrailingAfterSequence", der: append(san(upn("a@y")), 0), err: true},
		{name: "ErrTruncated", der: san(upn("a@y"))[:10], err: true},
		{name: "ErrEmpty", der: nil, err: true},
		{name: "ErrNotASequence", der: []byte{0x04, 0x00}, err: true},
		{name: "ErrBadOID", der: san(func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes([]byte{0x80}) })
			})
		}), err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := authn.ParseUPN(tc.der)
			if tc.err {
				if !errors.Is(err, authn.ErrMalformedSAN) {
					t.Fatalf("ParseUPN = %q, %v; want ErrMalformedSAN", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseUPN = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// FuzzParseUPN feeds the parser what a client certificate may carry: it
// must never panic, and what it accepts must be a bounded, valid UPN that
// encodes back to itself.
func FuzzParseUPN(f *testing.F) {
	f.Add(pivtest.MarshalSAN("a@example.gov", "1234567890@mil"))
	f.Add(pivtest.MarshalSAN("", ""))
	f.Add(san(func(b *cryptobyte.Builder) { otherName(b, oidUPN, utf8String("x@y")) }))
	f.Add([]byte{0x30, 0x80})
	f.Add([]byte{0x30, 0x03, 0xa0, 0x01, 0x06})
	f.Fuzz(func(t *testing.T, der []byte) {
		upn, err := authn.ParseUPN(der)
		if err != nil {
			if upn != "" {
				t.Fatalf("an error with a UPN %q", upn)
			}
			return
		}
		if upn == "" {
			return
		}
		if !utf8.ValidString(upn) || len(upn) > 512 {
			t.Fatalf("accepted UPN %q", upn)
		}
		again, err := authn.ParseUPN(pivtest.MarshalSAN("", upn))
		if err != nil || again != upn {
			t.Fatalf("UPN %q does not round-trip: %q, %v", upn, again, err)
		}
	})
}

func TestService_SignInWithCertificate(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testSignInWithCertificate(t, d) })
	}
}

func testSignInWithCertificate(t *testing.T, d store.Dialect) {
	e := mustSSOEnv(t, d, store.ThrottlePolicy{})
	ctx := context.Background()
	ca := pivtest.MustCA(t, "Test PIV CA")
	bobSubject := pkix.Name{CommonName: "BOB.BUILDER.1234567890", OrganizationalUnit: []string{"DHS", "PKI"}, Organization: []string{"U.S. Government"}, Country: []string{"US"}}
	alice, _ := e.mustPerson(t, identity.Person{EmployeeID: "alice", PIVUPN: "1111111111@gov"})
	bob, _ := e.mustPerson(t, identity.Person{EmployeeID: "bob", PIVSubject: bobSubject.String()})
	carol, _ := e.mustPerson(t, identity.Person{EmployeeID: "carol", PIVUPN: "3333333333@gov"})
	if err := e.IDs.SetStatus(ctx, e.Admin, carol.ID, identity.Locked, "test: locked"); err != nil {
		t.Fatal(err)
	}

	for i, tc := range []struct {
		name string
		card pivtest.Card
		want int64
	}{
		{name: "OKUPN", card: pivtest.Card{Subject: pkix.Name{CommonName: "ALICE.A.1111111111"}, UPN: "1111111111@gov"}, want: alice.ID},
		{name: "OKSubject", card: pivtest.Card{Subject: bobSubject}, want: bob.ID},
		// A card with an unknown UPN falls back to its subject.
		{name: "OKSubjectAfterUnknownUPN", card: pivtest.Card{Subject: bobSubject, UPN: "9999999999@gov"}, want: bob.ID},
		// The UPN wins over the subject.
		{name: "OKUPNBeforeSubject", card: pivtest.Card{Subject: bobSubject, UPN: "1111111111@gov"}, want: alice.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := client(200 + i)
			cert := ca.MustIssue(t, tc.card).Leaf
			res, err := e.Svc.SignInWithCertificate(ctx, cert, c, "")
			if err != nil {
				t.Fatalf("sign in: %v", err)
			}
			a, err := e.IDs.SessionPrincipal(ctx, res.Secret, store.DefaultSessionPolicy)
			if err != nil || a.Person.ID != tc.want || res.Session.Method != "piv" {
				t.Fatalf("session of %d by %s (%v), want %d by piv", a.Person.ID, res.Session.Method, err, tc.want)
			}
			got := entriesFrom(t, e.Ledger, c.Addr, "auth.signed_in")
			if len(got) != 1 || got[0].Data["method"] != "piv" || got[0].Subject != fmt.Sprintf("person/%d", tc.want) {
				t.Errorf("ledger entries %+v, want one auth.signed_in by piv", got)
			}
		})
	}

	t.Run("OKReplacesSession", func(t *testing.T) {
		c := client(210)
		card := pivtest.Card{Subject: pkix.Name{CommonName: "ALICE"}, UPN: "1111111111@gov"}
		first, err := e.Svc.SignInWithCertificate(ctx, ca.MustIssue(t, card).Leaf, c, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Svc.SignInWithCertificate(ctx, ca.MustIssue(t, card).Leaf, c, first.Secret); err != nil {
			t.Fatal(err)
		}
		if _, err := e.IDs.SessionPrincipal(ctx, first.Secret, store.DefaultSessionPolicy); err == nil {
			t.Error("the replaced session still works")
		}
	})

	serverOnly := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	twoUPNs := san(
		func(b *cryptobyte.Builder) { otherName(b, oidUPN, utf8String("1111111111@gov")) },
		func(b *cryptobyte.Builder) { otherName(b, oidUPN, utf8String("2222222222@gov")) },
	)
	for i, tc := range []struct {
		name           string
		card           pivtest.Card
		reason, detail string
		person         int64
	}{
		{name: "ErrUnknownCertificate", card: pivtest.Card{Subject: pkix.Name{CommonName: "MALLORY"}, UPN: "0000000000@gov"}, reason: "unknown_certificate"},
		{name: "ErrUnknownSubject", card: pivtest.Card{Subject: pkix.Name{CommonName: "MALLORY"}}, reason: "unknown_certificate"},
		{name: "ErrLockedAccount", card: pivtest.Card{Subject: pkix.Name{CommonName: "CAROL"}, UPN: "3333333333@gov"}, reason: "account_not_active", person: carol.ID},
		{name: "ErrExpired", card: pivtest.Card{Subject: bobSubject, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}, reason: "bad_certificate", detail: "expired"},
		{name: "ErrNotYetValid", card: pivtest.Card{Subject: bobSubject, NotBefore: time.Now().Add(time.Hour), NotAfter: time.Now().Add(48 * time.Hour)}, reason: "bad_certificate", detail: "not_yet_valid"},
		{name: "ErrNotForClientAuth", card: pivtest.Card{Subject: bobSubject, ExtKeyUsage: serverOnly}, reason: "bad_certificate", detail: "not_for_client_auth"},
		{name: "ErrNoExtKeyUsage", card: pivtest.Card{Subject: bobSubject, NoExtKeyUsage: true}, reason: "bad_certificate", detail: "not_for_client_auth"},
		{name: "ErrTwoUPNs", card: pivtest.Card{Subject: bobSubject, SAN: twoUPNs}, reason: "bad_certificate", detail: "malformed_subject_alt_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := client(220 + i)
			cert := ca.MustIssue(t, tc.card).Leaf
			sessions := e.liveSessions(t, alice.ID) + e.liveSessions(t, bob.ID) + e.liveSessions(t, carol.ID)
			res, err := e.Svc.SignInWithCertificate(ctx, cert, c, "")
			if err == nil || res.Secret != "" {
				t.Fatalf("sign in = %+v, %v; want a refusal", res, err)
			}
			if fault.CodeOf(err) != fault.Unauthenticated || fault.MessageOf(err) != msgCertificate {
				t.Errorf("refusal %s %q", fault.CodeOf(err), fault.MessageOf(err))
			}
			if n := e.liveSessions(t, alice.ID) + e.liveSessions(t, bob.ID) + e.liveSessions(t, carol.ID); n != sessions {
				t.Error("a session was started")
			}
			en := mustRefusal(t, e.Ledger, c.Addr, "piv", tc.reason, tc.detail)
			wantSubject := "account/unknown"
			if tc.person != 0 {
				wantSubject = fmt.Sprintf("person/%d", tc.person)
			}
			if en.Subject != wantSubject {
				t.Errorf("refusal subject %q, want %q", en.Subject, wantSubject)
			}
		})
	}
}
