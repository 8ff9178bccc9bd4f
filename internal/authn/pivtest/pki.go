// Package pivtest makes certificate authorities and certificates for
// tests of PIV/CAC sign-in: a CA, server certificates for 127.0.0.1, and
// client certificates shaped like a PIV authentication certificate (a UPN
// and a FASC-N in the subjectAltName, client authentication and smart
// card logon usages).
package pivtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var (
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidUPN            = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}
	oidFASCN          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 6, 6}
	// SmartCardLogon is Microsoft's smart card logon extended key usage.
	oidSmartCardLogon = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 2}
)

// A CA issues certificates.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// PEM is the CA certificate, PEM-encoded (a CA bundle file).
	PEM []byte
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func serial(tb testing.TB) *big.Int {
	tb.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// MustCA returns a new self-signed CA.
func MustCA(tb testing.TB, name string) *CA {
	tb.Helper()
	key := newKey(tb)
	tmpl := &x509.Certificate{
		SerialNumber: serial(tb), Subject: pkix.Name{CommonName: name, Organization: []string{"Probity Test"}, Country: []string{"US"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return &CA{Cert: cert, Key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// A Card describes a client certificate.
type Card struct {
	Subject pkix.Name
	// UPN, when set, goes into the subjectAltName as an otherName, after
	// an email address and a FASC-N, as on a PIV card.
	UPN string
	// SAN, when set, is the subjectAltName's DER value instead.
	SAN []byte
	// NotBefore and NotAfter default to an hour ago and a day from now.
	NotBefore, NotAfter time.Time
	// ExtKeyUsage defaults to client authentication and smart card logon;
	// NoExtKeyUsage leaves the extension out.
	ExtKeyUsage   []x509.ExtKeyUsage
	NoExtKeyUsage bool
}

// MarshalSAN returns the DER value of a subjectAltName extension holding
// an email address, a FASC-N and, when upn is not empty, a UPN.
func MarshalSAN(email, upn string) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if email != "" {
			b.AddASN1(cbasn1.Tag(1).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(email)) })
		}
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidFASCN)
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1OctetString([]byte{0xd4, 0x38, 0x21, 0x6c, 0x10, 0x84, 0x2d, 0x08})
			})
		})
		if upn != "" {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidUPN)
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(upn)) })
				})
			})
		}
	})
	return b.BytesOrPanic()
}

// MustIssue issues a client certificate for card and returns it with its
// key, ready for a TLS client.
func (ca *CA) MustIssue(tb testing.TB, card Card) tls.Certificate {
	tb.Helper()
	key := newKey(tb)
	sanDER := card.SAN
	if sanDER == nil {
		sanDER = MarshalSAN("someone@example.gov", card.UPN)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(tb), Subject: card.Subject,
		NotBefore: card.NotBefore, NotAfter: card.NotAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     card.ExtKeyUsage,
		ExtraExtensions: []pkix.Extension{{Id: oidSubjectAltName, Value: sanDER}},
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	if tmpl.ExtKeyUsage == nil && !card.NoExtKeyUsage {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		tmpl.UnknownExtKeyUsage = []asn1.ObjectIdentifier{oidSmartCardLogon}
	}
	return ca.issue(tb, tmpl, key)
}

// MustServer issues a server certificate for 127.0.0.1 and localhost.
func (ca *CA) MustServer(tb testing.TB) tls.Certificate {
	tb.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: serial(tb), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	return ca.issue(tb, tmpl, newKey(tb))
}

func (ca *CA) issue(tb testing.TB, tmpl *x509.Certificate, key *ecdsa.PrivateKey) tls.Certificate {
	tb.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// PEM returns a certificate and its key, PEM-encoded (for -tls-cert and
// -tls-key).
func PEM(tb testing.TB, c tls.Certificate) (certPEM, keyPEM []byte) {
	tb.Helper()
	k, err := x509.MarshalECPrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: k})
}
