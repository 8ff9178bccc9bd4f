package app

import (
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"strconv"
	"strings"

	"github.com/probity-dev/probity/internal/notify"
	"github.com/probity-dev/probity/internal/store"
)

// Notifications go by email through the SMTP relay of -smtp-relay (from
// -smtp-from, requiring STARTTLS unless -smtp-starttls=false,
// authenticating as -smtp-username with PROBITY_SMTP_PASSWORD when set),
// and to the webhook of -webhook-url, signed with PROBITY_WEBHOOK_SECRET.
// Either, both or neither may be configured; without a channel nobody is
// notified, which the ledger entries that would name them show.

func checkRelay(s string) error {
	if s == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(s)
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n <= 0 || n > 65535 {
		return fmt.Errorf("must be host:port, e.g. mail.agency.example:587")
	}
	return nil
}

func checkMailAddress(s string) error {
	if s == "" {
		return nil
	}
	if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
		return fmt.Errorf("must be a plain email address, e.g. probity@agency.example")
	}
	return nil
}

func checkWebhookURL(s string) error {
	if s == "" {
		return nil
	}
	return notify.CheckWebhookURL(s)
}

func checkWebhookSecret(s string) error {
	if s != "" && len(s) < notify.MinWebhookSecret {
		return fmt.Errorf("must be at least %d characters", notify.MinWebhookSecret)
	}
	return nil
}

// checkNotify checks that the notification settings go together.
func (c Config) checkNotify() error {
	switch {
	case c.SMTPRelay != "" && c.SMTPFrom == "":
		return &usageError{"-smtp-relay needs -smtp-from, the address notifications come from"}
	case c.SMTPRelay == "" && (c.SMTPFrom != "" || c.SMTPUsername != "" || c.SMTPPassword != ""):
		return &usageError{"-smtp-from, -smtp-username and PROBITY_SMTP_PASSWORD need -smtp-relay"}
	case c.WebhookURL != "" && c.WebhookSecret == "":
		return &usageError{"-webhook-url needs PROBITY_WEBHOOK_SECRET, the secret its calls are signed with"}
	case c.WebhookURL == "" && c.WebhookSecret != "":
		return &usageError{"PROBITY_WEBHOOK_SECRET needs -webhook-url"}
	}
	return nil
}

// notifyChannels returns the channels cfg configures.
func notifyChannels(cfg Config) []string {
	var cs []string
	if cfg.SMTPRelay != "" {
		cs = append(cs, store.EmailChannel)
	}
	if cfg.WebhookURL != "" {
		cs = append(cs, store.WebhookChannel)
	}
	return cs
}

// newDispatcher returns the notification dispatcher for cfg's channels;
// base returns the server's public URL for links.
func newDispatcher(cfg Config, outbox notify.Outbox, base func() string, log *slog.Logger) (*notify.Dispatcher, error) {
	senders := map[string]notify.Sender{}
	if cfg.SMTPRelay != "" {
		s, err := notify.NewSMTP(notify.SMTPConfig{Addr: cfg.SMTPRelay, From: cfg.SMTPFrom, StartTLS: cfg.SMTPStartTLS != "false",
			Username: cfg.SMTPUsername, Password: cfg.SMTPPassword})
		if err != nil {
			return nil, fmt.Errorf("notifications: %w", err)
		}
		senders[store.EmailChannel] = s
	}
	if cfg.WebhookURL != "" {
		w, err := notify.NewWebhook(notify.WebhookConfig{URL: cfg.WebhookURL, Secret: []byte(cfg.WebhookSecret)})
		if err != nil {
			return nil, fmt.Errorf("notifications: %w", err)
		}
		senders[store.WebhookChannel] = w
	}
	return notify.NewDispatcher(notify.DispatcherConfig{Outbox: outbox, Senders: senders, PublicURL: base, Logger: log}), nil
}

// publicBase returns the server's public URL ending in "/", "" before it
// is known.
func (s *Server) publicBase() string {
	if s.cfg.PublicURL != "" {
		return strings.TrimSuffix(s.cfg.PublicURL, "/") + "/"
	}
	if u, ok := s.listenURL.Load().(string); ok {
		return u
	}
	return ""
}
