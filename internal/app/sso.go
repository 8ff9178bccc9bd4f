package app

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/probity-dev/probity/internal/authn"
)

// oidcCallbackPath is where the identity provider sends people back,
// relative to the public URL: register PUBLIC_URL/auth/oidc/callback with
// the provider.
const oidcCallbackPath = "auth/oidc/callback"

// checkIssuer accepts an https:// issuer URL, or http:// on a loopback
// address (a provider on the same machine, as in tests).
func checkIssuer(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must be an https:// URL with a host and no query")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || u.Hostname() == "localhost" {
			return nil
		}
	}
	return errors.New("must be an https:// URL (http:// only on a loopback address)")
}

var claimName = regexp.MustCompile(`^[A-Za-z0-9_.:/-]{1,100}$`)

func checkClaim(s string) error {
	if !claimName.MatchString(s) {
		return errors.New("must be a claim name: letters, digits and _ . : / -")
	}
	return nil
}

// checkSignOn checks that the single sign-on and certificate options make
// sense together.
func (c Config) checkSignOn() error {
	if (c.OIDCIssuer == "") != (c.OIDCClientID == "") {
		return &usageError{"-oidc-issuer and -oidc-client-id must be given together"}
	}
	if c.OIDCClientSecret != "" && c.OIDCIssuer == "" {
		return &usageError{"PROBITY_OIDC_CLIENT_SECRET is set but single sign-on is not configured (-oidc-issuer, -oidc-client-id)"}
	}
	if c.PIVCA != "" && c.TLSCert == "" {
		return &usageError{"-piv-ca needs -tls-cert and -tls-key: certificate sign-in happens in the TLS handshake"}
	}
	return nil
}

// newOIDC returns single sign-on as configured, or nil when it is not.
func newOIDC(cfg Config, a *authn.Service) (*authn.OIDC, error) {
	if cfg.OIDCIssuer == "" && cfg.OIDCClientID == "" {
		return nil, nil
	}
	if err := cfg.checkSignOn(); err != nil {
		return nil, err
	}
	if err := checkIssuer(cfg.OIDCIssuer); err != nil {
		return nil, fmt.Errorf("single sign-on: issuer %q %v", cfg.OIDCIssuer, err)
	}
	redirect := ""
	if cfg.PublicURL != "" {
		redirect = strings.TrimSuffix(cfg.PublicURL, "/") + "/" + oidcCallbackPath
	}
	return a.NewOIDC(authn.OIDCConfig{
		Issuer:          cfg.OIDCIssuer,
		ClientID:        cfg.OIDCClientID,
		ClientSecret:    cfg.OIDCClientSecret,
		RedirectURL:     redirect,
		Scopes:          strings.FieldsFunc(cfg.OIDCScopes, func(r rune) bool { return r == ' ' || r == ',' }),
		EmployeeIDClaim: cfg.OIDCClaim,
		TrustMFA:        cfg.OIDCTrustMFA == "true",
	})
}

// loadClientCAs reads the CA bundle that issues PIV/CAC client
// certificates, or returns nil when certificate sign-in is not configured.
func loadClientCAs(cfg Config) (*x509.CertPool, error) {
	if cfg.PIVCA == "" {
		return nil, nil
	}
	if err := cfg.checkSignOn(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(cfg.PIVCA)
	if err != nil {
		return nil, fmt.Errorf("PIV/CAC CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PIV/CAC CA bundle %s: certificate %d: %w", cfg.PIVCA, n+1, err)
		}
		if !cert.IsCA {
			return nil, fmt.Errorf("PIV/CAC CA bundle %s: certificate %d (%s) is not a CA certificate", cfg.PIVCA, n+1, cert.Subject)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("PIV/CAC CA bundle %s holds no PEM certificates", cfg.PIVCA)
	}
	return pool, nil
}
