package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Webhook headers.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// request body under the webhook's secret.
	SignatureHeader = "X-Probity-Signature"
	// EventHeader carries the message's kind, DeliveryHeader its ID (the
	// same on every retry: receivers drop duplicates by it).
	EventHeader    = "X-Probity-Event"
	DeliveryHeader = "X-Probity-Delivery"
)

// MinWebhookSecret is the shortest webhook secret accepted, in bytes.
const MinWebhookSecret = 16

// WebhookConfig configures a webhook.
type WebhookConfig struct {
	// URL receives a POST per message: https, or http to a loopback
	// address.
	URL string
	// Secret keys the signature.
	Secret []byte
	// Timeout bounds one request (default 10 s).
	Timeout time.Duration
	// Attempts is how many requests one delivery makes before it fails
	// (default 3); Backoff is the wait before the second (default 500 ms),
	// doubling.
	Attempts int
	Backoff  time.Duration
	// Client sends the requests (default: one that follows no redirects).
	Client *http.Client
}

// A Webhook posts messages to a URL.
type Webhook struct {
	cfg WebhookConfig
}

// CheckWebhookURL reports whether u may receive notifications: an https
// URL, or http to a loopback address (a receiver on the same host).
func CheckWebhookURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.User != nil || p.Fragment != "" {
		return errors.New("must be an https:// URL with a host, without user information or fragment")
	}
	switch p.Scheme {
	case "https":
		return nil
	case "http":
		host := p.Hostname()
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			return nil
		}
		return errors.New("must use https:// (http:// only to a loopback address)")
	}
	return errors.New("must be an https:// URL")
}

// NewWebhook checks cfg and returns a sender.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if err := CheckWebhookURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("webhook URL: %w", err)
	}
	if len(cfg.Secret) < MinWebhookSecret {
		return nil, fmt.Errorf("webhook secret: at least %d bytes", MinWebhookSecret)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Webhook{cfg: cfg}, nil
}

// Sign returns the signature header's value for body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header is body's signature under secret, in
// constant time: what a receiver checks.
func Verify(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

// WebhookPayload is the JSON a webhook receives.
type WebhookPayload struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Subject   string    `json:"subject"`
	Component string    `json:"component,omitempty"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Link      string    `json:"link,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Send posts m, retrying a failed request (a network error, a timeout,
// 429 or a 5xx answer) up to the configured attempts. A 4xx answer other
// than 429 fails at once.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(WebhookPayload{ID: m.ID, Kind: m.Kind, Subject: m.Subject, Component: m.Component, Title: m.Title, Body: m.Body, Link: m.Link, CreatedAt: m.CreatedAt.UTC()})
	if err != nil {
		return &PermanentError{err}
	}
	sig := Sign(w.cfg.Secret, body)
	wait := w.cfg.Backoff
	var last error
	for attempt := 1; attempt <= w.cfg.Attempts; attempt++ {
		if attempt > 1 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
			wait *= 2
		}
		retry, err := w.post(ctx, body, sig, m)
		if err == nil {
			return nil
		}
		last = err
		if !retry || ctx.Err() != nil {
			break
		}
	}
	return last
}

// post makes one request and reports whether a failure is worth retrying.
// Errors never carry the URL, which may hold a token.
func (w *Webhook) post(ctx context.Context, body []byte, sig string, m Message) (retry bool, err error) {
	rctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("webhook: the request cannot be made")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Probity")
	req.Header.Set(SignatureHeader, sig)
	req.Header.Set(EventHeader, m.Kind)
	req.Header.Set(DeliveryHeader, strconv.FormatInt(m.ID, 10))
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return true, fmt.Errorf("webhook: no answer within %s", w.cfg.Timeout)
		}
		return true, fmt.Errorf("webhook: %w", unwrapOp(err))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("webhook: the receiver answered %s", statusText(resp))
	}
	return false, fmt.Errorf("webhook: the receiver refused the call: %s", statusText(resp))
}

func statusText(resp *http.Response) string {
	return strings.TrimSpace(strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode))
}
