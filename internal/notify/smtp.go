package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// SMTPConfig configures email delivery through a relay.
type SMTPConfig struct {
	// Addr is the relay's host:port.
	Addr string
	// From is the sender's address, e.g. probity@agency.example.
	From string
	// StartTLS requires the relay to offer STARTTLS and upgrades every
	// connection before sending; without it, mail goes in the clear (a
	// relay on the same host or network).
	StartTLS bool
	// TLS configures the upgrade (default: verify the relay's certificate
	// for its host name).
	TLS *tls.Config
	// Username and Password authenticate (PLAIN) when Username is set;
	// net/smtp refuses to send them unencrypted except to localhost.
	Username, Password string
	// Timeout bounds a whole delivery (default 30 s).
	Timeout time.Duration
	// Hello is the name given in EHLO (default "localhost").
	Hello string
}

// An SMTP sends email through a relay.
type SMTP struct {
	cfg  SMTPConfig
	host string
	from string
}

// NewSMTP checks cfg and returns a sender.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("SMTP relay %q: give host:port", cfg.Addr)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil || strings.ContainsAny(cfg.From, "\r\n") {
		return nil, fmt.Errorf("SMTP sender %q is not an email address", cfg.From)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Hello == "" {
		cfg.Hello = "localhost"
	}
	if cfg.TLS == nil {
		cfg.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	return &SMTP{cfg: cfg, host: host, from: from.Address}, nil
}

// Send delivers m to m.To.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := mail.ParseAddress(m.To)
	if err != nil || strings.ContainsAny(m.To, "\r\n") {
		return &PermanentError{fmt.Errorf("recipient %q is not an email address", m.To)}
	}
	msg, err := s.compose(m, to.Address)
	if err != nil {
		return &PermanentError{err}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("connect to the SMTP relay %s: %w", s.cfg.Addr, unwrapOp(err))
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	// Closing the connection when ctx ends interrupts a relay that stalls.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return relayError("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.Hello); err != nil {
		return relayError("EHLO", err)
	}
	if s.cfg.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("the SMTP relay %s does not offer STARTTLS, which is required", s.cfg.Addr)
		}
		if err := c.StartTLS(s.cfg.TLS); err != nil {
			return relayError("STARTTLS", err)
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.host)); err != nil {
			return relayError("authentication", err)
		}
	}
	if err := c.Mail(s.from); err != nil {
		return relayError("MAIL FROM", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) && te.Code >= 500 {
			return &PermanentError{fmt.Errorf("the SMTP relay refused the recipient %s: %d %s", to.Address, te.Code, te.Msg)}
		}
		return relayError("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return relayError("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return relayError("message", err)
	}
	if err := w.Close(); err != nil {
		return relayError("message", err)
	}
	// The relay has accepted the message; a failed goodbye loses nothing.
	c.Quit()
	return nil
}

// compose returns the message: headers (the subject encoded when not
// ASCII) and a quoted-printable UTF-8 text body.
func (s *SMTP) compose(m Message, to string) ([]byte, error) {
	if strings.ContainsAny(m.Title, "\r\n") {
		return nil, errors.New("the title is more than one line")
	}
	var id [12]byte
	rand.Read(id[:])
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", (&mail.Address{Name: "Probity", Address: s.from}).String())
	h("To", (&mail.Address{Address: to}).String())
	h("Subject", mime.QEncoding.Encode("utf-8", m.Title))
	h("Date", time.Now().UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+hex.EncodeToString(id[:])+"@probity>")
	h("MIME-Version", "1.0")
	h("Content-Type", `text/plain; charset="utf-8"`)
	h("Content-Transfer-Encoding", "quoted-printable")
	if m.Kind != "" {
		h("X-Probity-Event", m.Kind)
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := m.Body
	if m.Link != "" {
		body += "\n\n" + m.Link
	}
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")
	if _, err := qp.Write([]byte(body + "\r\n")); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// relayError describes a failed step with the relay.
func relayError(step string, err error) error {
	return fmt.Errorf("SMTP %s: %w", step, unwrapOp(err))
}

// unwrapOp drops a net.OpError's addresses, which say nothing new.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
