package app

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/store"
)

func TestLoadConfig_Notifications(t *testing.T) {
	secret := "webhook-secret-0123456789abcdef"
	t.Run("OK", func(t *testing.T) {
		env := map[string]string{"PROBITY_SMTP_PASSWORD": "relay-password", "PROBITY_WEBHOOK_SECRET": secret}
		set, flags := flagSet("serve", serverFlags...)
		if err := set.Parse([]string{"-smtp-relay", "mail.agency.example:587", "-smtp-from", "probity@agency.example", "-smtp-username", "probity",
			"-webhook-url", "https://hooks.agency.example/probity"}); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(set, flags, func(k string) string { return env[k] }, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.SMTPRelay != "mail.agency.example:587" || cfg.SMTPStartTLS != "true" || cfg.SMTPPassword != "relay-password" || cfg.WebhookSecret != secret {
			t.Errorf("%+v", cfg)
		}
		if got := notifyChannels(cfg); !slices.Equal(got, []string{store.EmailChannel, store.WebhookChannel}) {
			t.Errorf("channels %v", got)
		}
		d, err := newDispatcher(cfg, nil, nil, nil)
		if err != nil || !slices.Equal(d.Channels(), []string{store.EmailChannel, store.WebhookChannel}) {
			t.Errorf("dispatcher %v, %v", d, err)
		}
	})
	t.Run("OKNone", func(t *testing.T) {
		set, flags := flagSet("serve", serverFlags...)
		set.Parse(nil)
		cfg, err := loadConfig(set, flags, func(string) string { return "" }, nil)
		if err != nil || len(notifyChannels(cfg)) != 0 {
			t.Fatalf("%v %v", notifyChannels(cfg), err)
		}
	})
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"ErrRelay", []string{"-smtp-relay", "mail.agency.example"}, nil, `invalid value "mail.agency.example" for -smtp-relay: must be host:port`},
		{"ErrRelayWithoutFrom", []string{"-smtp-relay", "mail.agency.example:25"}, nil, "-smtp-relay needs -smtp-from"},
		{"ErrFromWithoutRelay", []string{"-smtp-from", "probity@agency.example"}, nil, "need -smtp-relay"},
		{"ErrFrom", []string{"-smtp-relay", "mail.agency.example:25", "-smtp-from", "Probity <probity@agency.example>"}, nil, "must be a plain email address"},
		{"ErrStartTLS", []string{"-smtp-starttls", "maybe"}, nil, "must be one of true, false"},
		{"ErrWebhookHTTP", []string{"-webhook-url", "http://hooks.agency.example/probity"}, map[string]string{"PROBITY_WEBHOOK_SECRET": secret}, "must use https://"},
		{"ErrWebhookWithoutSecret", []string{"-webhook-url", "https://hooks.agency.example/probity"}, nil, "-webhook-url needs PROBITY_WEBHOOK_SECRET"},
		{"ErrSecretWithoutWebhook", nil, map[string]string{"PROBITY_WEBHOOK_SECRET": secret}, "PROBITY_WEBHOOK_SECRET needs -webhook-url"},
		{"ErrShortSecret", []string{"-webhook-url", "https://hooks.agency.example/probity"}, map[string]string{"PROBITY_WEBHOOK_SECRET": "short"}, `invalid value "(hidden)" for PROBITY_WEBHOOK_SECRET: must be at least 16 characters`},
	} {
		t.Run(c.name, func(t *testing.T) {
			set, flags := flagSet("serve", serverFlags...)
			if err := set.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			_, err := loadConfig(set, flags, func(k string) string { return c.env[k] }, nil)
			var ue *usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("loadConfig = %v; want a usage error containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), "short") && c.name == "ErrShortSecret" {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}
