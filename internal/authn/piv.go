package authn

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"slices"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/store"
)

var (
	// oidSubjectAltName is the subjectAltName extension (RFC 5280 4.2.1.6).
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	// oidUPN is Microsoft's user principal name otherName, which PIV and
	// CAC authentication certificates carry.
	oidUPN = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}
)

// maxUPN bounds a UPN (as a person's stored one is bounded).
const maxUPN = 512

// ErrMalformedSAN reports a subjectAltName extension that cannot be read,
// or that holds more than one UPN.
var ErrMalformedSAN = errors.New("malformed subjectAltName")

// ParseUPN returns the user principal name in the DER value of a
// subjectAltName extension, or "" when it has none. Go's crypto/x509 does
// not expose otherName entries, so they are read here:
//
//	GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName
//	GeneralName  ::= CHOICE { otherName [0] IMPLICIT OtherName, … }
//	OtherName    ::= SEQUENCE { type-id OBJECT IDENTIFIER, value [0] EXPLICIT ANY }
//
// and for a UPN the value is a UTF8String. The bytes come from a client
// certificate: anything unexpected is an error, never a guess.
func ParseUPN(ext []byte) (string, error) {
	in := cryptobyte.String(ext)
	var names cryptobyte.String
	if !in.ReadASN1(&names, cbasn1.SEQUENCE) || !in.Empty() {
		return "", ErrMalformedSAN
	}
	upn, found := "", false
	otherName := cbasn1.Tag(0).ContextSpecific().Constructed()
	for !names.Empty() {
		var name cryptobyte.String
		var tag cbasn1.Tag
		if !names.ReadAnyASN1(&name, &tag) {
			return "", ErrMalformedSAN
		}
		if tag != otherName {
			continue // an email address, DNS name, URI, …
		}
		var typ asn1.ObjectIdentifier
		if !name.ReadASN1ObjectIdentifier(&typ) {
			return "", ErrMalformedSAN
		}
		if !typ.Equal(oidUPN) {
			continue
		}
		var val, s cryptobyte.String
		if !name.ReadASN1(&val, cbasn1.Tag(0).ContextSpecific().Constructed()) || !name.Empty() ||
			!val.ReadASN1(&s, cbasn1.UTF8String) || !val.Empty() {
			return "", ErrMalformedSAN
		}
		if len(s) == 0 || len(s) > maxUPN || !utf8.Valid(s) || found {
			return "", ErrMalformedSAN
		}
		upn, found = string(s), true
	}
	return upn, nil
}

// CertificateUPN returns the UPN of a certificate's subjectAltName, or ""
// when it has none.
func CertificateUPN(cert *x509.Certificate) (string, error) {
	for _, e := range cert.Extensions {
		if e.Id.Equal(oidSubjectAltName) {
			return ParseUPN(e.Value)
		}
	}
	return "", nil
}

// errCertificate is the one answer to every refused certificate: it does
// not say whether an account exists for it.
func errCertificate() error {
	return fault.New(fault.Unauthenticated, "your certificate cannot sign you in: it is not valid for signing in, or no active Probity account is linked to it; tell your administrator")
}

// SignInWithCertificate signs in the person a verified PIV or CAC
// certificate maps to, by the UPN in its subjectAltName first, then by
// its subject (in [crypto/x509/pkix.Name.String] form). The TLS stack has
// verified the chain to a configured CA; this checks again that the
// certificate is within its validity period and meant for client
// authentication. A PIV card is two factors by itself (the card, and the
// PIN that unlocks it), so the session starts at once. replaces is the
// browser's current session, if any.
func (s *Service) SignInWithCertificate(ctx context.Context, cert *x509.Certificate, c Client, replaces string) (store.SignInResult, error) {
	if err := s.throttled(ctx, addrKey(c.Addr)); err != nil {
		return store.SignInResult{}, err
	}
	refuse := func(personID int64, attempted, reason, detail string) (store.SignInResult, error) {
		f := store.Failure{PersonID: personID, Attempted: attempted, Addr: c.Addr, UserAgent: c.UserAgent, Method: "piv", Reason: reason, Detail: detail, ThrottleKeys: []string{addrKey(c.Addr)}}
		return store.SignInResult{}, s.fail(ctx, f, errCertificate())
	}
	now := time.Now()
	switch {
	case now.Before(cert.NotBefore):
		return refuse(0, "", "bad_certificate", "not_yet_valid")
	case now.After(cert.NotAfter):
		return refuse(0, "", "bad_certificate", "expired")
	case !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) && !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageAny):
		return refuse(0, "", "bad_certificate", "not_for_client_auth")
	}
	upn, err := CertificateUPN(cert)
	if err != nil {
		return refuse(0, "", "bad_certificate", "malformed_subject_alt_name")
	}
	subject := cert.Subject.String()
	attempted := upn
	if attempted == "" {
		attempted = subject
	}
	p, err := s.ids.PersonByCertificate(ctx, upn, subject)
	if errors.Is(err, store.ErrPersonNotFound) {
		return refuse(0, attempted, "unknown_certificate", "")
	}
	if err != nil {
		return store.SignInResult{}, err
	}
	if p.Status != identity.Active {
		return refuse(p.ID, attempted, "account_not_active", "")
	}
	return s.StartSessionFor(ctx, p.ID, "piv", c, replaces)
}
