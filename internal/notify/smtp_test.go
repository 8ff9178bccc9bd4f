package notify_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/notify"
)

func mustSMTP(t testing.TB, cfg notify.SMTPConfig) *notify.SMTP {
	t.Helper()
	if cfg.From == "" {
		cfg.From = "probity@agency.example"
	}
	s, err := notify.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var testMessage = notify.Message{ID: 7, Kind: "alert.raised", Subject: "alert/3", Component: "CBP", To: "privacy.officer@agency.example",
	Title: "High-severity alert 3 in CBP", Body: "A high-severity misuse alert was raised in CBP.\n.Its details are in Probity.", Link: "https://probity.agency.example/api/v1/alerts/3"}

func TestSMTP_Send(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		srv := startMailServer(t, "", nil)
		s := mustSMTP(t, notify.SMTPConfig{Addr: srv.addr})
		if err := s.Send(ctx, testMessage); err != nil {
			t.Fatal(err)
		}
		msgs := srv.Messages()
		if len(msgs) != 1 {
			t.Fatalf("%d messages", len(msgs))
		}
		m := msgs[0]
		if m.From != "probity@agency.example" || len(m.To) != 1 || m.To[0] != "privacy.officer@agency.example" || m.TLS {
			t.Errorf("envelope %+v", m)
		}
		if got := headerOf(m.Data, "Subject"); got != "High-severity alert 3 in CBP" {
			t.Errorf("Subject %q", got)
		}
		if got := headerOf(m.Data, "To"); got != "<privacy.officer@agency.example>" {
			t.Errorf("To %q", got)
		}
		if headerOf(m.Data, "Date") == "" || headerOf(m.Data, "Message-ID") == "" || headerOf(m.Data, "X-Probity-Event") != "alert.raised" {
			t.Errorf("headers of %q", m.Data)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(bodyOf(m.Data))))
		if err != nil {
			t.Fatal(err)
		}
		// A line starting with a dot survives (dot-stuffing), and the link
		// ends the text.
		want := "A high-severity misuse alert was raised in CBP.\r\n.Its details are in Probity.\r\n\r\nhttps://probity.agency.example/api/v1/alerts/3\r\n"
		if string(body) != want {
			t.Errorf("body %q; want %q", body, want)
		}
	})
	t.Run("OKStartTLS", func(t *testing.T) {
		cert, pool := testCertificate(t)
		srv := startMailServer(t, "", func(s *mailServer) { s.tls = &tls.Config{Certificates: []tls.Certificate{cert}} })
		s := mustSMTP(t, notify.SMTPConfig{Addr: srv.addr, StartTLS: true, TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}})
		if err := s.Send(ctx, testMessage); err != nil {
			t.Fatal(err)
		}
		if msgs := srv.Messages(); len(msgs) != 1 || !msgs[0].TLS {
			t.Fatalf("messages %+v: want one, sent after STARTTLS", msgs)
		}
	})
	t.Run("OKUnicodeTitle", func(t *testing.T) {
		srv := startMailServer(t, "", nil)
		m := testMessage
		m.Title = "Revue requise — requête 5"
		if err := mustSMTP(t, notify.SMTPConfig{Addr: srv.addr}).Send(ctx, m); err != nil {
			t.Fatal(err)
		}
		raw := headerOf(srv.Messages()[0].Data, "Subject")
		got, err := new(mime.WordDecoder).DecodeHeader(raw)
		if err != nil || got != m.Title || raw == m.Title {
			t.Errorf("Subject %q decodes to %q, %v", raw, got, err)
		}
	})
	t.Run("ErrStartTLSNotOffered", func(t *testing.T) {
		srv := startMailServer(t, "", nil)
		err := mustSMTP(t, notify.SMTPConfig{Addr: srv.addr, StartTLS: true}).Send(ctx, testMessage)
		if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS, which is required") {
			t.Errorf("err %v", err)
		}
		if len(srv.Messages()) != 0 {
			t.Error("a message went in the clear")
		}
	})
	t.Run("ErrCertificate", func(t *testing.T) {
		cert, _ := testCertificate(t)
		srv := startMailServer(t, "", func(s *mailServer) { s.tls = &tls.Config{Certificates: []tls.Certificate{cert}} })
		err := mustSMTP(t, notify.SMTPConfig{Addr: srv.addr, StartTLS: true}).Send(ctx, testMessage)
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") || len(srv.Messages()) != 0 {
			t.Errorf("an untrusted certificate: %v", err)
		}
	})
	t.Run("ErrRelayDown", func(t *testing.T) {
		err := mustSMTP(t, notify.SMTPConfig{Addr: freeAddr(t)}).Send(ctx, testMessage)
		var perm *notify.PermanentError
		if err == nil || !strings.Contains(err.Error(), "connect to the SMTP relay") || errors.As(err, &perm) {
			t.Errorf("err %v: want a temporary failure to connect", err)
		}
	})
	t.Run("ErrRelayStalls", func(t *testing.T) {
		srv := startMailServer(t, "", func(s *mailServer) { s.stall = true })
		start := time.Now()
		err := mustSMTP(t, notify.SMTPConfig{Addr: srv.addr, Timeout: 200 * time.Millisecond}).Send(ctx, testMessage)
		if err == nil || time.Since(start) > 4*time.Second {
			t.Errorf("a stalled relay: %v after %s", err, time.Since(start))
		}
	})
	t.Run("ErrRecipientRefused", func(t *testing.T) {
		srv := startMailServer(t, "", func(s *mailServer) { s.rcptReply = "550 no such user" })
		err := mustSMTP(t, notify.SMTPConfig{Addr: srv.addr}).Send(ctx, testMessage)
		var perm *notify.PermanentError
		if !errors.As(err, &perm) || !strings.Contains(err.Error(), "550 no such user") {
			t.Errorf("err %v: want a permanent refusal", err)
		}
	})
	t.Run("ErrRecipientDeferred", func(t *testing.T) {
		srv := startMailServer(t, "", func(s *mailServer) { s.rcptReply = "451 try again later" })
		err := mustSMTP(t, notify.SMTPConfig{Addr: srv.addr}).Send(ctx, testMessage)
		var perm *notify.PermanentError
		if err == nil || errors.As(err, &perm) {
			t.Errorf("err %v: want a temporary failure", err)
		}
	})
	t.Run("ErrHeaderInjection", func(t *testing.T) {
		srv := startMailServer(t, "", nil)
		s := mustSMTP(t, notify.SMTPConfig{Addr: srv.addr})
		for _, m := range []notify.Message{
			{To: "a@agency.example", Title: "Hi\r\nBcc: everyone@agency.example"},
			{To: "a@agency.example\r\nBcc: everyone@agency.example", Title: "Hi"},
			{To: "not an address", Title: "Hi"},
		} {
			var perm *notify.PermanentError
			if err := s.Send(ctx, m); !errors.As(err, &perm) {
				t.Errorf("%q / %q: %v; want a permanent refusal", m.To, m.Title, err)
			}
		}
		if len(srv.Messages()) != 0 {
			t.Error("a message was sent")
		}
	})
}

func TestNewSMTP(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  notify.SMTPConfig
		msg  string
	}{
		{"ErrNoPort", notify.SMTPConfig{Addr: "mail.agency.example", From: "p@agency.example"}, "give host:port"},
		{"ErrNoHost", notify.SMTPConfig{Addr: ":25", From: "p@agency.example"}, "give host:port"},
		{"ErrFrom", notify.SMTPConfig{Addr: "mail.agency.example:25", From: "probity"}, "is not an email address"},
		{"ErrFromInjection", notify.SMTPConfig{Addr: "mail.agency.example:25", From: "p@agency.example\r\nBcc: x@y.z"}, "is not an email address"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := notify.NewSMTP(c.cfg); err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("err %v; want %q", err, c.msg)
			}
		})
	}
}
