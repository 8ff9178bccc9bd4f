package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/notify"
)

var webhookSecret = []byte("webhook-test-secret-0123456789")

// A receiver is a webhook receiver that checks signatures and records
// what it accepted; answer decides each call's status.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      []notify.WebhookPayload
	headers  []http.Header
	calls    atomic.Int64
	answer   func(call int64) int
	badSigns atomic.Int64
}

func startReceiver(t testing.TB, answer func(call int64) int) *receiver {
	t.Helper()
	rv := &receiver{answer: answer}
	rv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rv.calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		if !notify.Verify(webhookSecret, body, r.Header.Get(notify.SignatureHeader)) {
			rv.badSigns.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		status := http.StatusNoContent
		if rv.answer != nil {
			status = rv.answer(n)
		}
		if status < 300 {
			var p notify.WebhookPayload
			if err := json.Unmarshal(body, &p); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			rv.mu.Lock()
			rv.got, rv.headers = append(rv.got, p), append(rv.headers, r.Header.Clone())
			rv.mu.Unlock()
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rv.Close)
	return rv
}

func (rv *receiver) payloads() []notify.WebhookPayload {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]notify.WebhookPayload(nil), rv.got...)
}

func mustWebhook(t testing.TB, url string, change func(*notify.WebhookConfig)) *notify.Webhook {
	t.Helper()
	cfg := notify.WebhookConfig{URL: url, Secret: webhookSecret, Timeout: time.Second, Attempts: 3, Backoff: 10 * time.Millisecond}
	if change != nil {
		change(&cfg)
	}
	w, err := notify.NewWebhook(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWebhook_Send(t *testing.T) {
	ctx := context.Background()
	m := testMessage
	m.To = "" // a webhook call names nobody's address
	m.CreatedAt = time.Date(2026, 11, 4, 15, 4, 5, 0, time.UTC)
	t.Run("OK", func(t *testing.T) {
		rv := startReceiver(t, nil)
		if err := mustWebhook(t, rv.URL+"/hooks/probity", nil).Send(ctx, m); err != nil {
			t.Fatal(err)
		}
		got := rv.payloads()
		want := notify.WebhookPayload{ID: 7, Kind: "alert.raised", Subject: "alert/3", Component: "CBP", Title: m.Title, Body: m.Body, Link: m.Link, CreatedAt: m.CreatedAt}
		if len(got) != 1 || got[0] != want {
			t.Fatalf("received %+v; want %+v", got, want)
		}
		h := rv.headers[0]
		if h.Get("Content-Type") != "application/json" || h.Get(notify.EventHeader) != "alert.raised" || h.Get(notify.DeliveryHeader) != "7" ||
			!strings.HasPrefix(h.Get(notify.SignatureHeader), "sha256=") {
			t.Errorf("headers %v", h)
		}
	})
	t.Run("OKAfterRetries", func(t *testing.T) {
		rv := startReceiver(t, func(n int64) int {
			if n < 3 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		if err := mustWebhook(t, rv.URL, nil).Send(ctx, m); err != nil {
			t.Fatal(err)
		}
		if rv.calls.Load() != 3 || len(rv.payloads()) != 1 {
			t.Errorf("%d calls, %d accepted", rv.calls.Load(), len(rv.payloads()))
		}
	})
	t.Run("ErrExhausted", func(t *testing.T) {
		rv := startReceiver(t, func(int64) int { return http.StatusInternalServerError })
		err := mustWebhook(t, rv.URL, nil).Send(ctx, m)
		if err == nil || !strings.Contains(err.Error(), "500 Internal Server Error") || rv.calls.Load() != 3 {
			t.Errorf("err %v after %d calls; want 3 calls", err, rv.calls.Load())
		}
	})
	t.Run("ErrRateLimitedRetried", func(t *testing.T) {
		rv := startReceiver(t, func(int64) int { return http.StatusTooManyRequests })
		if err := mustWebhook(t, rv.URL, nil).Send(ctx, m); err == nil || rv.calls.Load() != 3 {
			t.Errorf("err %v after %d calls", err, rv.calls.Load())
		}
	})
	t.Run("ErrRefusedNotRetried", func(t *testing.T) {
		rv := startReceiver(t, func(int64) int { return http.StatusBadRequest })
		err := mustWebhook(t, rv.URL, nil).Send(ctx, m)
		if err == nil || !strings.Contains(err.Error(), "refused the call: 400 Bad Request") || rv.calls.Load() != 1 {
			t.Errorf("err %v after %d calls; want 1", err, rv.calls.Load())
		}
	})
	t.Run("ErrWrongSecret", func(t *testing.T) {
		rv := startReceiver(t, nil)
		err := mustWebhook(t, rv.URL, func(c *notify.WebhookConfig) { c.Secret = []byte("another-secret-of-enough-length") }).Send(ctx, m)
		if err == nil || rv.badSigns.Load() != 1 || len(rv.payloads()) != 0 {
			t.Errorf("err %v; %d refused signatures", err, rv.badSigns.Load())
		}
	})
	t.Run("ErrTimeout", func(t *testing.T) {
		release := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(slow.Close)
		t.Cleanup(func() { close(release) })
		err := mustWebhook(t, slow.URL, func(c *notify.WebhookConfig) { c.Timeout, c.Attempts = 50*time.Millisecond, 2 }).Send(ctx, m)
		if err == nil || !strings.Contains(err.Error(), "no answer within 50ms") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("ErrNoRedirect", func(t *testing.T) {
		other := startReceiver(t, nil)
		redirect := httptest.NewServer(http.RedirectHandler(other.URL, http.StatusTemporaryRedirect))
		t.Cleanup(redirect.Close)
		if err := mustWebhook(t, redirect.URL, nil).Send(ctx, m); err == nil || other.calls.Load() != 0 {
			t.Errorf("err %v; the redirect's target was called %d times", err, other.calls.Load())
		}
	})
	t.Run("ErrHidesURL", func(t *testing.T) {
		// The URL may carry a token; errors, which are logged and kept, do
		// not show it.
		err := mustWebhook(t, "http://"+freeAddr(t)+"/hooks/T0KEN-abc123?key=S3CRET", nil).Send(ctx, m)
		if err == nil || strings.Contains(err.Error(), "T0KEN") || strings.Contains(err.Error(), "S3CRET") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		rv := startReceiver(t, func(int64) int { return http.StatusBadGateway })
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := mustWebhook(t, rv.URL, nil).Send(cctx, m); !errors.Is(err, context.Canceled) && (err == nil || rv.calls.Load() > 1) {
			t.Errorf("err %v after %d calls", err, rv.calls.Load())
		}
	})
}

func TestNewWebhook(t *testing.T) {
	for _, c := range []struct {
		name, url string
		secret    []byte
		msg       string
	}{
		{"OKHTTPS", "https://hooks.agency.example/probity", webhookSecret, ""},
		{"OKLoopback", "http://127.0.0.1:9000/hook", webhookSecret, ""},
		{"OKLocalhost", "http://localhost:9000/hook", webhookSecret, ""},
		{"ErrHTTP", "http://hooks.agency.example/probity", webhookSecret, "must use https://"},
		{"ErrScheme", "ftp://hooks.agency.example/probity", webhookSecret, "must be an https:// URL"},
		{"ErrUser", "https://user:pw@hooks.agency.example/", webhookSecret, "without user information"},
		{"ErrNoHost", "https:///probity", webhookSecret, "with a host"},
		{"ErrShortSecret", "https://hooks.agency.example/probity", []byte("short"), "at least 16 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := notify.NewWebhook(notify.WebhookConfig{URL: c.url, Secret: c.secret})
			if c.msg == "" && err != nil || c.msg != "" && (err == nil || !strings.Contains(err.Error(), c.msg)) {
				t.Errorf("err %v; want %q", err, c.msg)
			}
		})
	}
}

func TestSign(t *testing.T) {
	body := []byte(`{"id":1}`)
	sig := notify.Sign(webhookSecret, body)
	// HMAC-SHA256 of {"id":1} under the test secret, computed with
	// openssl dgst -sha256 -hmac.
	if want := "sha256=48c5d5779a59e7eb659d60151a462e31be63e1da6e1632c0adce5cf80f41a58e"; sig != want {
		t.Errorf("Sign = %s; want %s", sig, want)
	}
	if !notify.Verify(webhookSecret, body, sig) || notify.Verify(webhookSecret, []byte(`{"id":2}`), sig) || notify.Verify([]byte("other"), body, sig) ||
		notify.Verify(webhookSecret, body, strings.ToUpper(sig)) || len(sig) != len("sha256=")+64 {
		t.Errorf("signature %q", sig)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"id":1}`), "sha256=00")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		if notify.Verify(webhookSecret, body, header) != (header == notify.Sign(webhookSecret, body)) {
			t.Fatalf("Verify disagrees with Sign on %q", header)
		}
	})
}
