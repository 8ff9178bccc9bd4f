package app

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfig_SignOn(t *testing.T) {
	const secret = "client-secret-that-must-not-show-0123"
	load := func(t *testing.T, args []string, env map[string]string) (Config, error) {
		t.Helper()
		set, flags := flagSet("serve", serverFlags...)
		set.SetOutput(io.Discard)
		if err := set.Parse(args); err != nil {
			return Config{}, err
		}
		return loadConfig(set, flags, func(k string) string { return env[k] }, nil)
	}

	t.Run("OK", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "probity.conf")
		os.WriteFile(file, []byte("oidc-client-secret = "+secret+"\noidc-scopes = openid employee\n"), 0o600)
		cfg, err := load(t, []string{"-oidc-issuer", "https://login.example.gov/tenant", "-oidc-client-id", "probity", "-oidc-trust-mfa", "true", "-config", file},
			map[string]string{"PROBITY_OIDC_EMPLOYEE_ID_CLAIM": "preferred_username"})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ name, got, want string }{
			{"issuer", cfg.OIDCIssuer, "https://login.example.gov/tenant"},
			{"client ID", cfg.OIDCClientID, "probity"},
			{"secret from the file", cfg.OIDCClientSecret, secret},
			{"scopes from the file", cfg.OIDCScopes, "openid employee"},
			{"claim from the environment", cfg.OIDCClaim, "preferred_username"},
			{"trust MFA", cfg.OIDCTrustMFA, "true"},
		} {
			if c.got != c.want {
				t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
			}
		}
	})
	t.Run("OKDefaults", func(t *testing.T) {
		cfg, err := load(t, nil, nil)
		if err != nil || cfg.OIDCClaim != "employee_id" || cfg.OIDCScopes != "openid profile email" || cfg.OIDCTrustMFA != "false" || cfg.OIDCIssuer != "" || cfg.PIVCA != "" {
			t.Fatalf("%+v, %v", cfg, err)
		}
	})
	t.Run("OKSecretFromEnvironment", func(t *testing.T) {
		cfg, err := load(t, []string{"-oidc-issuer", "http://127.0.0.1:9999", "-oidc-client-id", "probity"}, map[string]string{"PROBITY_OIDC_CLIENT_SECRET": secret})
		if err != nil || cfg.OIDCClientSecret != secret {
			t.Fatalf("%+v, %v", cfg, err)
		}
	})
	t.Run("ErrSecretFlag", func(t *testing.T) {
		// Flags show in process listings: the client secret is not one.
		if _, err := load(t, []string{"-oidc-client-secret", secret}, nil); err == nil {
			t.Fatal("-oidc-client-secret was accepted as a flag")
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"ErrIssuerWithoutClient", []string{"-oidc-issuer", "https://login.example.gov"}, nil, "must be given together"},
		{"ErrClientWithoutIssuer", []string{"-oidc-client-id", "probity"}, nil, "must be given together"},
		{"ErrSecretWithoutIssuer", nil, map[string]string{"PROBITY_OIDC_CLIENT_SECRET": secret}, "single sign-on is not configured"},
		{"ErrPlainHTTPIssuer", []string{"-oidc-issuer", "http://login.example.gov", "-oidc-client-id", "x"}, nil, "must be an https:// URL"},
		{"ErrIssuerQuery", []string{"-oidc-issuer", "https://login.example.gov/?x=1", "-oidc-client-id", "x"}, nil, "no query"},
		{"ErrClaim", []string{"-oidc-employee-id-claim", "a claim"}, nil, "must be a claim name"},
		{"ErrTrustMFA", nil, map[string]string{"PROBITY_OIDC_TRUST_MFA": "yes"}, "must be one of true, false"},
		{"ErrPIVWithoutTLS", []string{"-piv-ca", "ca.pem"}, nil, "-piv-ca needs -tls-cert and -tls-key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.args, tc.env)
			var ue *usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("loadConfig = %v; want a usage error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error shows the secret: %v", err)
			}
		})
	}
}
