// Package vendorapi is the upstream vendor connector: a [connector.Connector]
// (and [connector.Estimator]) over a commercial telemetry vendor's HTTP
// JSON API, called with a credential only Probity holds.
//
// # The vendor API
//
// Every call is a POST of a JSON object to a path under the base URL, with
// the credential in "Authorization: Bearer KEY" (or, when configured, in a
// header of its own such as "X-API-Key: KEY"). Times are RFC 3339; windows
// are half-open, [from, to).
//
//	POST {base}/v1/area-search
//	  {"area": GEOMETRY} or {"circle": {"lat": φ, "lon": λ, "radius_m": r}},
//	  "from": T, "to": T, "limit": N
//	→ 200 {"devices": [{"device_id": S, "first_seen": T, "last_seen": T, "pings": N}, …],
//	       "truncated": B}
//
//	POST {base}/v1/device-history
//	  {"device_id": S, "from": T, "to": T, "limit": N}
//	→ 200 {"pings": [{"time": T, "lat": φ, "lon": λ, "accuracy_m": M}, …], "truncated": B}
//
//	POST {base}/v1/area-estimate
//	  {"area" or "circle", "from": T, "to": T}
//	→ 200 {"devices": N}
//
// GEOMETRY is a GeoJSON Polygon or MultiPolygon (RFC 7946, WGS84
// degrees). "limit" is the most results the vendor returns; "truncated"
// says it had more. accuracy_m is optional; unknown members are ignored.
// The vendor answers 401 or 403 to a wrong or revoked credential, 400 (or
// another 4xx) to a request it refuses, 429 with Retry-After when Probity
// calls too often, and 502, 503 or 504 when it is briefly unavailable.
//
// # How the client behaves
//
// Each attempt is bounded by the configured timeout (10 s by default) and
// by the caller's context. Failures that may pass — a timeout, a connection
// error, 502, 503, 504, and 429 — are retried a bounded number of times
// with jittered exponential backoff; a Retry-After is honoured up to a cap.
// Nothing else is retried. A circuit breaker fails calls fast with
// [connector.ErrUnavailable] after consecutive failed calls, for a
// cool-down, then lets one trial call through. Answers are read up to a
// size cap and decoded strictly: a missing member, a wrong type, a time
// without a zone, a coordinate out of range or a result outside the
// requested window makes the whole answer [connector.ErrMalformed].
// Results are sorted (devices by identifier, pings by time) and hold at
// most Limit+1 entries.
//
// Errors are [*connector.Error]s whose Detail never holds the credential,
// the vendor's response body, device identifiers or coordinates: they are
// shown to people and recorded. The credential is asked for on every call,
// so that a rotated credential takes effect at once.
package vendorapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/probity-dev/probity/internal/connector"
)

// Defaults of [Config].
const (
	DefaultTimeout          = 10 * time.Second
	DefaultMaxAttempts      = 3
	DefaultBackoffBase      = 200 * time.Millisecond
	DefaultBackoffMax       = 5 * time.Second
	DefaultMaxRetryAfter    = 30 * time.Second
	DefaultBreakerFailures  = 5
	DefaultBreakerCooldown  = 30 * time.Second
	DefaultMaxResponseBytes = 32 << 20
)

// Log attribute keys.
const (
	logOp      = "op"
	logAttempt = "attempt"
	logStatus  = "status"
	logDelay   = "delay"
	logDetail  = "detail"
	logBase    = "base_url"
)

// Config configures a [Client]. Zero fields take the defaults above.
type Config struct {
	// BaseURL is the vendor API's base URL: https, or http to a loopback
	// address (127.0.0.1, ::1, localhost) for tests; see [ParseBaseURL].
	BaseURL string
	// Credential returns the credential to send, on every call.
	Credential func(context.Context) (string, error)
	// KeyHeader names the header that carries the credential as it is
	// (e.g. "X-API-Key"); empty sends "Authorization: Bearer KEY".
	KeyHeader string
	// Timeout bounds each attempt, answer included.
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one call (1 = no retry).
	MaxAttempts int
	// BackoffBase and BackoffMax shape the backoff before retry n: a random
	// duration up to min(BackoffMax, BackoffBase·2ⁿ⁻¹).
	BackoffBase, BackoffMax time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; a longer one ends
	// the call.
	MaxRetryAfter time.Duration
	// BreakerFailures consecutive failed calls open the circuit breaker
	// for BreakerCooldown.
	BreakerFailures int
	BreakerCooldown time.Duration
	// MaxResponseBytes caps the size of an answer.
	MaxResponseBytes int64
	// Transport sends the requests; a clone of http.DefaultTransport when
	// nil.
	Transport http.RoundTripper
	// Logger receives retries and failures (never a credential or an
	// answer's content); discarded when nil.
	Logger *slog.Logger
	// Now is the breaker's clock; time.Now when nil.
	Now func() time.Time
}

// A Client calls one vendor API. It is safe for concurrent use.
type Client struct {
	cfg     Config
	base    *url.URL
	hc      *http.Client
	log     *slog.Logger
	breaker *breaker
}

var (
	_ connector.Connector = (*Client)(nil)
	_ connector.Estimator = (*Client)(nil)
)

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	base, err := ParseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.Credential == nil {
		return nil, fmt.Errorf("vendor connector: no credential source")
	}
	if cfg.KeyHeader != "" && !validHeaderName(cfg.KeyHeader) {
		return nil, fmt.Errorf("vendor connector: %q is not a header name", cfg.KeyHeader)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Timeout, DefaultTimeout)
	def(&cfg.BackoffBase, DefaultBackoffBase)
	def(&cfg.BackoffMax, DefaultBackoffMax)
	def(&cfg.MaxRetryAfter, DefaultMaxRetryAfter)
	def(&cfg.BreakerCooldown, DefaultBreakerCooldown)
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.BreakerFailures <= 0 {
		cfg.BreakerFailures = DefaultBreakerFailures
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := cfg.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	hc := &http.Client{
		Transport: tr,
		// A redirect would carry the credential somewhere not configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Client{cfg: cfg, base: base, hc: hc, log: log.With(slog.String(logBase, base.String())),
		breaker: &breaker{threshold: cfg.BreakerFailures, cooldown: cfg.BreakerCooldown}}, nil
}

// Wire requests.

type circleJSON struct {
	Lat     float64 `json:"lat"`
	Lon     float64 `json:"lon"`
	RadiusM float64 `json:"radius_m"`
}

type areaRequestJSON struct {
	Area   json.RawMessage `json:"area,omitempty"`
	Circle *circleJSON     `json:"circle,omitempty"`
	From   string          `json:"from"`
	To     string          `json:"to"`
	Limit  int             `json:"limit,omitempty"`
}

type deviceRequestJSON struct {
	DeviceID string `json:"device_id"`
	From     string `json:"from"`
	To       string `json:"to"`
	Limit    int    `json:"limit"`
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func checkWindow(from, to time.Time) *connector.Error {
	if from.IsZero() || to.IsZero() || !from.Before(to) {
		return connector.Errorf(connector.ErrRejected, "the request is not valid: the window must have a start before its end")
	}
	return nil
}

func areaBody(r connector.AreaRequest, limit int) ([]byte, *connector.Error) {
	if r.Area == nil {
		return nil, connector.Errorf(connector.ErrRejected, "the request is not valid: it has no area")
	}
	if err := checkWindow(r.From, r.To); err != nil {
		return nil, err
	}
	req := areaRequestJSON{From: rfc3339(r.From), To: rfc3339(r.To), Limit: limit}
	if lat, lon, radius, ok := r.Area.Circle(); ok {
		req.Circle = &circleJSON{Lat: lat, Lon: lon, RadiusM: radius}
	} else {
		req.Area = r.Area.GeoJSON()
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, connector.Errorf(connector.ErrRejected, "the request is not valid: it cannot be encoded")
	}
	return b, nil
}

// AreaSearch asks the vendor which devices were seen in r.Area during
// [r.From, r.To): at most r.Limit+1, sorted by identifier.
func (c *Client) AreaSearch(ctx context.Context, r connector.AreaRequest) ([]connector.DeviceSeen, error) {
	if r.Limit < 1 {
		return nil, connector.Errorf(connector.ErrRejected, "the request is not valid: the limit must be at least 1")
	}
	body, cerr := areaBody(r, r.Limit+1)
	if cerr != nil {
		return nil, cerr
	}
	var devices []connector.DeviceSeen
	err := c.call(ctx, "area-search", "v1/area-search", body, func(data []byte) (cerr *connector.Error) {
		devices, cerr = decodeAreaSearch(data, r.From, r.To, r.Limit)
		return cerr
	})
	if err != nil {
		return nil, err
	}
	return devices, nil
}

// DeviceHistory asks the vendor for r.Device's pings during [r.From,
// r.To): at most r.Limit+1, sorted by time.
func (c *Client) DeviceHistory(ctx context.Context, r connector.DeviceRequest) ([]connector.Ping, error) {
	switch {
	case r.Limit < 1:
		return nil, connector.Errorf(connector.ErrRejected, "the request is not valid: the limit must be at least 1")
	case r.Device == "":
		return nil, connector.Errorf(connector.ErrRejected, "the request is not valid: it names no device")
	}
	if err := checkWindow(r.From, r.To); err != nil {
		return nil, err
	}
	body, err := json.Marshal(deviceRequestJSON{DeviceID: r.Device, From: rfc3339(r.From), To: rfc3339(r.To), Limit: r.Limit + 1})
	if err != nil {
		return nil, connector.Errorf(connector.ErrRejected, "the request is not valid: it cannot be encoded")
	}
	var pings []connector.Ping
	err = c.call(ctx, "device-history", "v1/device-history", body, func(data []byte) (cerr *connector.Error) {
		pings, cerr = decodeDeviceHistory(data, r.From, r.To, r.Limit)
		return cerr
	})
	if err != nil {
		return nil, err
	}
	return pings, nil
}

// EstimateDevices asks the vendor how many devices an area search would
// find. r.Limit is not sent.
func (c *Client) EstimateDevices(ctx context.Context, r connector.AreaRequest) (int, error) {
	body, cerr := areaBody(r, 0)
	if cerr != nil {
		return 0, cerr
	}
	var n int
	err := c.call(ctx, "area-estimate", "v1/area-estimate", body, func(data []byte) (cerr *connector.Error) {
		n, cerr = decodeEstimate(data)
		return cerr
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// drain reads what is left of a small error answer, so that the
// connection can be reused, and discards it unread.
func drain(body io.ReadCloser) {
	io.CopyN(io.Discard, body, 64<<10)
	body.Close()
}

// newRequest builds one attempt's request.
func (c *Client) newRequest(ctx context.Context, path string, body []byte, key string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.JoinPath(path).String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Probity")
	if c.cfg.KeyHeader != "" {
		req.Header.Set(c.cfg.KeyHeader, key)
	} else {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return req, nil
}
