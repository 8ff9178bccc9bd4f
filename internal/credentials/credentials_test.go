package credentials_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/connector"
	"github.com/probity-dev/probity/internal/connector/vendorapi"
	"github.com/probity-dev/probity/internal/connector/vendorapi/vendortest"
	"github.com/probity-dev/probity/internal/credentials"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

func mustKey(t *testing.T) *sealed.Key {
	t.Helper()
	k, err := sealed.ParseKey(sealed.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCheckSecret(t *testing.T) {
	for _, c := range []struct {
		secret string
		ok     bool
	}{
		{"vk_live_12345678", true},
		{"Bearer-ish token with spaces inside", true},
		{strings.Repeat("k", credentials.MaxSecretLen), true},
		{"short", false},
		{strings.Repeat("k", credentials.MaxSecretLen+1), false},
		{" leading-space-key", false},
		{"trailing-newline\n", false},
		{"tab\tinside-key", false},
		{"non-ascii-clé-key", false},
	} {
		err := credentials.CheckSecret(c.secret)
		if (err == nil) != c.ok {
			t.Errorf("CheckSecret(%.20q) = %v; want ok=%v", c.secret, err, c.ok)
		}
		if err != nil && (!fault.Is(err, fault.Invalid) || strings.Contains(err.Error(), c.secret)) {
			t.Errorf("CheckSecret(%.20q): %v", c.secret, err)
		}
	}
}

func TestService(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testService(t, d) })
	}
}

func testService(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := storetest.MustPrivacyOrg(t, d)
	key := mustKey(t)
	svc := credentials.New(o.DB.Connectors(), key, nil)
	isso, iceISSO := o.As["cbp-isso"], o.As["ice-isso"]
	sys := o.MustSystem(t, "CBP", "Vendor system")
	src := o.MustSource(t, sys, "cbp-vendor-data")
	const secret = "vk_live_service_4a9d1e7c"

	t.Run("OKSetAndOpen", func(t *testing.T) {
		if err := svc.Set(ctx, isso, "cbp-vendor", secret); err != nil {
			t.Fatal(err)
		}
		src.CredentialRef = "sealed:cbp-vendor"
		cred, err := svc.Source(src)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := cred(ctx); err != nil || got != secret {
			t.Errorf("opened %q, %v", got, err)
		}
		// A rotation takes effect on the next call of the same function.
		if err := svc.Set(ctx, isso, "cbp-vendor", secret+"-2"); err != nil {
			t.Fatal(err)
		}
		if got, err := cred(ctx); err != nil || got != secret+"-2" {
			t.Errorf("after rotation opened %q, %v", got, err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, c := range []struct{ name, secret string }{{"cbp-vendor", "short"}, {"Bad Name", secret}, {"cbp-vendor", secret + "\n"}} {
			err := svc.Set(ctx, isso, c.name, c.secret)
			if !fault.Is(err, fault.Invalid) || strings.Contains(err.Error(), secret) {
				t.Errorf("Set(%q): %v", c.name, err)
			}
		}
		if err := svc.Set(ctx, o.As["cbp-cpo"], "cbp-cpo-key", secret); !fault.Is(err, fault.Forbidden) {
			t.Errorf("a privacy officer stores a credential: %v", err)
		}
	})
	t.Run("ErrOtherComponent", func(t *testing.T) {
		// ICE's credential cannot serve a CBP source, even when the
		// source names it.
		if err := svc.Set(ctx, iceISSO, "ice-vendor", secret); err != nil {
			t.Fatal(err)
		}
		s := src
		s.CredentialRef = "sealed:ice-vendor"
		cred, err := svc.Source(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cred(ctx); !fault.Is(err, fault.Forbidden) {
			t.Errorf("an ICE credential served a CBP source: %v", err)
		}
	})
	t.Run("ErrRef", func(t *testing.T) {
		for _, ref := range []string{"", "vault:kv/cbp/vendor", "sealed:Bad Name"} {
			s := src
			s.CredentialRef = ref
			if _, err := svc.Source(s); err == nil {
				t.Errorf("Source with ref %q succeeded", ref)
			}
		}
		s := src
		s.CredentialRef = "sealed:nothing-stored"
		cred, err := svc.Source(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cred(ctx); !fault.Is(err, fault.NotFound) {
			t.Errorf("a missing credential: %v", err)
		}
	})
	t.Run("ErrOtherKey", func(t *testing.T) {
		// After the secrets key changes, credentials sealed with the old
		// one do not open, and the error says which keys are involved.
		other := credentials.New(o.DB.Connectors(), mustKey(t), nil)
		s := src
		s.CredentialRef = "sealed:cbp-vendor"
		cred, err := other.Source(s)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cred(ctx)
		if !fault.Is(err, fault.Precondition) || !strings.Contains(fault.MessageOf(err), key.ID()) {
			t.Errorf("opening with another key: %v", err)
		}
	})
	t.Run("OKClient", func(t *testing.T) {
		t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		fake := vendortest.New(t, secret+"-2", []vendortest.Ping{{Device: "dev-1", Time: t0.Add(time.Hour), Lat: 39.95, Lon: 116.35}})
		s := src
		s.CredentialRef = "sealed:cbp-vendor"
		_, err := svc.Client(ctx, s, vendorapi.Config{})
		if !fault.Is(err, fault.NotFound) {
			t.Errorf("a client without an endpoint: %v", err)
		}
		if _, err := svc.SetEndpoint(ctx, isso, s.ID, fake.URL, time.Second); err != nil {
			t.Fatal(err)
		}
		c, err := svc.Client(ctx, s, vendorapi.Config{})
		if err != nil {
			t.Fatal(err)
		}
		area, _ := geo.NewCircle(39.95, 116.35, 300, geo.Limits{})
		got, err := c.AreaSearch(ctx, connector.AreaRequest{Area: area, From: t0, To: t0.Add(time.Hour * 24), Limit: 5})
		if err != nil || len(got) != 1 {
			t.Fatalf("area search: %+v, %v", got, err)
		}
		// The same source keeps its client (and its breaker) until its
		// endpoint changes.
		if again, _ := svc.Client(ctx, s, vendorapi.Config{}); again != c {
			t.Error("a second client was built for an unchanged source")
		}
		if _, err := svc.SetEndpoint(ctx, isso, s.ID, fake.URL, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		if again, _ := svc.Client(ctx, s, vendorapi.Config{}); again == c {
			t.Error("the client was kept after the endpoint changed")
		}
		local := s
		local.Connector = privacy.LocalStore
		if _, err := svc.Client(ctx, local, vendorapi.Config{}); !fault.Is(err, fault.Invalid) {
			t.Errorf("a vendor client for a local source: %v", err)
		}
	})
}
