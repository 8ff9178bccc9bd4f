package vendorapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/connector"
	"github.com/probity-dev/probity/internal/connector/vendorapi"
	"github.com/probity-dev/probity/internal/connector/vendorapi/vendortest"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/geo"
)

const testKey = "vk_live_4f9c2e7a1b8d6035e9f1c4a7b2d8e6f0"

var (
	t0   = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	from = t0
	to   = t0.Add(24 * time.Hour)
)

// pings are the fake's data: d1..d4 inside the square, at times inside
// and outside the window; d5 outside it; d9 only outside the window.
func pings() []vendortest.Ping {
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	return []vendortest.Ping{
		{Device: "d3", Time: at(5), Lat: 39.95, Lon: 116.35},
		{Device: "d1", Time: at(2), Lat: 39.91, Lon: 116.31, AccuracyM: 8},
		{Device: "d1", Time: at(9), Lat: 39.92, Lon: 116.32},
		{Device: "d1", Time: at(4), Lat: 39.93, Lon: 116.33, AccuracyM: 20},
		{Device: "d1", Time: at(30), Lat: 39.93, Lon: 116.33}, // after the window
		{Device: "d1", Time: at(6), Lat: 45.0, Lon: 100.0},    // outside the area
		{Device: "d2", Time: at(1), Lat: 39.99, Lon: 116.39},
		{Device: "d4", Time: at(23), Lat: 39.90, Lon: 116.30}, // on the corner: inside
		{Device: "d5", Time: at(3), Lat: 40.5, Lon: 116.5},
		{Device: "d9", Time: at(-1), Lat: 39.95, Lon: 116.35},
	}
}

func square(t testing.TB) *geo.Area {
	t.Helper()
	a, err := geo.ParseArea([]byte(`{"type":"Polygon","coordinates":[[[116.3,39.9],[116.4,39.9],[116.4,40.0],[116.3,40.0],[116.3,39.9]]]}`), geo.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A keyring is a rotatable credential source.
type keyring struct{ v atomic.Value }

func newKeyring(k string) *keyring {
	r := &keyring{}
	r.v.Store(k)
	return r
}

func (r *keyring) get(context.Context) (string, error) { return r.v.Load().(string), nil }

// mustClient returns a client of the fake with fast retries.
func mustClient(t testing.TB, fake *vendortest.Server, change func(*vendorapi.Config)) *vendorapi.Client {
	t.Helper()
	cfg := vendorapi.Config{
		BaseURL: fake.URL, Credential: newKeyring(testKey).get,
		Timeout: 2 * time.Second, MaxAttempts: 3, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
	}
	if change != nil {
		change(&cfg)
	}
	c, err := vendorapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantKind checks that err is a *connector.Error of kind, whose text
// holds neither the credential nor anything of the fake's error answers.
func wantKind(t *testing.T, err error, kind error) *connector.Error {
	t.Helper()
	ce, ok := errors.AsType[*connector.Error](err)
	if !ok {
		t.Fatalf("error %v (%T); want a *connector.Error", err, err)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %q; want kind %v", err, kind)
	}
	for _, leak := range []string{testKey, "credential_seen", "injected failure", "invalid API key", "upstream proxy", "truncated-device", "uncountably"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error %q holds %q", err, leak)
		}
	}
	return ce
}

func TestClient_AreaSearch(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, nil)
		got, err := c.AreaSearch(ctx, connector.AreaRequest{Area: square(t), From: from, To: to, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		want := []connector.DeviceSeen{
			{Device: "d1", FirstSeen: t0.Add(2 * time.Hour), LastSeen: t0.Add(9 * time.Hour), Pings: 3},
			{Device: "d2", FirstSeen: t0.Add(1 * time.Hour), LastSeen: t0.Add(1 * time.Hour), Pings: 1},
			{Device: "d3", FirstSeen: t0.Add(5 * time.Hour), LastSeen: t0.Add(5 * time.Hour), Pings: 1},
			{Device: "d4", FirstSeen: t0.Add(23 * time.Hour), LastSeen: t0.Add(23 * time.Hour), Pings: 1},
		}
		if !equalDevices(got, want) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
		reqs := fake.Requests()
		if len(reqs) != 1 || reqs[0].Path != "/v1/area-search" || !reqs[0].Authorized || reqs[0].Credential != testKey {
			t.Errorf("requests %+v; want one authorized area search", reqs)
		}
		// The area went as GeoJSON, the limit as Limit+1.
		if body := string(reqs[0].Body); !strings.Contains(body, `"area":{"type":"Polygon"`) || !strings.Contains(body, `"limit":11`) ||
			!strings.Contains(body, `"from":"2026-03-01T00:00:00Z"`) {
			t.Errorf("request body %s", body)
		}
	})
	t.Run("OKCircle", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, nil)
		circle, err := geo.NewCircle(39.95, 116.35, 1000, geo.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.AreaSearch(ctx, connector.AreaRequest{Area: circle, From: from, To: to, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if want := []connector.DeviceSeen{{Device: "d3", FirstSeen: t0.Add(5 * time.Hour), LastSeen: t0.Add(5 * time.Hour), Pings: 1}}; !equalDevices(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
		if body := string(fake.Requests()[0].Body); !strings.Contains(body, `"circle":{"lat":39.95,"lon":116.35,"radius_m":1000}`) || strings.Contains(body, `"area"`) {
			t.Errorf("request body %s", body)
		}
	})
	t.Run("OKLimitPlusOne", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, nil)
		got, err := c.AreaSearch(ctx, connector.AreaRequest{Area: square(t), From: from, To: to, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		// Three: the caller can tell "more than 2".
		if len(got) != 3 || !slices.IsSortedFunc(got, func(a, b connector.DeviceSeen) int { return strings.Compare(a.Device, b.Device) }) {
			t.Errorf("got %+v; want 3 devices, sorted", got)
		}
		got, err = c.AreaSearch(ctx, connector.AreaRequest{Area: square(t), From: from, To: to, Limit: 4})
		if err != nil || len(got) != 4 {
			t.Errorf("limit 4: %d devices, %v; want exactly the 4", len(got), err)
		}
	})
	t.Run("OKKeyHeader", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		fake.SetKeyHeader("X-API-Key")
		c := mustClient(t, fake, func(cfg *vendorapi.Config) { cfg.KeyHeader = "X-API-Key" })
		if _, err := c.AreaSearch(ctx, connector.AreaRequest{Area: square(t), From: from, To: to, Limit: 10}); err != nil {
			t.Fatal(err)
		}
		if r := fake.Requests()[0]; !r.Authorized || r.Credential != testKey {
			t.Errorf("the fake saw %+v", r)
		}
	})
	t.Run("ErrInvalidRequest", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, nil)
		for _, r := range []connector.AreaRequest{
			{From: from, To: to, Limit: 1},
			{Area: square(t), From: from, To: to, Limit: 0},
			{Area: square(t), From: to, To: from, Limit: 1},
			{Area: square(t), To: to, Limit: 1},
		} {
			_, err := c.AreaSearch(ctx, r)
			wantKind(t, err, connector.ErrRejected)
		}
		if n := fake.Calls(); n != 0 {
			t.Errorf("invalid requests reached the vendor %d times", n)
		}
	})
}

func TestClient_DeviceHistory(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, nil)
		got, err := c.DeviceHistory(ctx, connector.DeviceRequest{Device: "d1", From: from, To: to, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		// The fake answers newest first; the client sorts by time.
		want := []connector.Ping{
			{Time: t0.Add(2 * time.Hour), Lat: 39.91, Lon: 116.31, AccuracyM: 8},
			{Time: t0.Add(4 * time.Hour), Lat: 39.93, Lon: 116.33, AccuracyM: 20},
			{Time: t0.Add(6 * time.Hour), Lat: 45.0, Lon: 100.0},
			{Time: t0.Add(9 * time.Hour), Lat: 39.92, Lon: 116.32},
		}
		if !slices.EqualFunc(got, want, func(a, b connector.Ping) bool {
			return a.Time.Equal(b.Time) && a.Lat == b.Lat && a.Lon == b.Lon && a.AccuracyM == b.AccuracyM
		}) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	})
	t.Run("OKLimitPlusOne", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, nil)
		got, err := c.DeviceHistory(ctx, connector.DeviceRequest{Device: "d1", From: from, To: to, Limit: 2})
		if err != nil || len(got) != 3 || !got[0].Time.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("got %+v, %v; want the first 3 pings", got, err)
		}
	})
	t.Run("OKUnknownDevice", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, nil)
		got, err := c.DeviceHistory(ctx, connector.DeviceRequest{Device: "nobody", From: from, To: to, Limit: 2})
		if err != nil || len(got) != 0 {
			t.Errorf("got %+v, %v; want none", got, err)
		}
	})
	t.Run("ErrNoDevice", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, nil)
		_, err := c.DeviceHistory(ctx, connector.DeviceRequest{From: from, To: to, Limit: 2})
		wantKind(t, err, connector.ErrRejected)
		if fake.Calls() != 0 {
			t.Error("an invalid request reached the vendor")
		}
	})
}

func TestClient_EstimateDevices(t *testing.T) {
	fake := vendortest.New(t, testKey, pings())
	c := mustClient(t, fake, nil)
	n, err := c.EstimateDevices(context.Background(), connector.AreaRequest{Area: square(t), From: from, To: to})
	if err != nil || n != 4 {
		t.Errorf("estimate %d, %v; want 4", n, err)
	}
	if r := fake.Requests(); len(r) != 1 || r[0].Path != "/v1/area-estimate" || strings.Contains(string(r[0].Body), "limit") {
		t.Errorf("requests %+v", r)
	}
}

func TestClient_Failures(t *testing.T) {
	ctx := context.Background()
	area := func(t *testing.T) connector.AreaRequest {
		return connector.AreaRequest{Area: square(t), From: from, To: to, Limit: 10}
	}
	t.Run("ErrTimeout", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, func(cfg *vendorapi.Config) { cfg.Timeout, cfg.MaxAttempts = 100*time.Millisecond, 2 })
		fake.Inject(2, vendortest.Fault{Delay: time.Minute})
		start := time.Now()
		_, err := c.AreaSearch(ctx, area(t))
		ce := wantKind(t, err, connector.ErrUnavailable)
		if !strings.Contains(ce.Detail, "did not answer within 100ms") {
			t.Errorf("detail %q", ce.Detail)
		}
		// Both attempts gave up at their timeout: nowhere near the
		// vendor's minute.
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("the call took %s", d)
		}
		if n := fake.Calls(); n != 2 {
			t.Errorf("%d attempts; want 2 (a timeout is retried)", n)
		}
	})
	t.Run("OKRetry503", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, nil)
		fake.Inject(2, vendortest.Fault{Status: http.StatusServiceUnavailable})
		got, err := c.AreaSearch(ctx, area(t))
		if err != nil || len(got) != 4 {
			t.Fatalf("got %d devices, %v; want the 4 after two retries", len(got), err)
		}
		reqs := fake.Requests()
		if len(reqs) != 3 {
			t.Fatalf("%d requests; want 3", len(reqs))
		}
		for _, r := range reqs {
			if !r.Authorized {
				t.Errorf("a retry did not carry the credential: %+v", r)
			}
		}
	})
	t.Run("ErrRetriesExhausted", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, nil)
		fake.Inject(3, vendortest.Fault{Status: http.StatusBadGateway})
		_, err := c.AreaSearch(ctx, area(t))
		if ce := wantKind(t, err, connector.ErrUnavailable); ce.Detail != "the data source answered 502 Bad Gateway" {
			t.Errorf("detail %q", ce.Detail)
		}
		if n := fake.Calls(); n != 3 {
			t.Errorf("%d attempts; want 3", n)
		}
	})
	for _, c := range []struct {
		name   string
		status int
		kind   error
	}{
		{"ErrNoRetry400", http.StatusBadRequest, connector.ErrRejected},
		{"ErrNoRetry404", http.StatusNotFound, connector.ErrRejected},
		{"ErrNoRetry500", http.StatusInternalServerError, connector.ErrUnavailable},
		{"ErrAuth401", http.StatusUnauthorized, connector.ErrAuth},
		{"ErrAuth403", http.StatusForbidden, connector.ErrAuth},
		{"ErrRedirect", http.StatusFound, connector.ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake := vendortest.New(t, testKey, pings())
			cl := mustClient(t, fake, nil)
			fake.Inject(1, vendortest.Fault{Status: c.status})
			_, err := cl.AreaSearch(ctx, area(t))
			ce := wantKind(t, err, c.kind)
			if !strings.Contains(ce.Detail, fmt.Sprint(c.status)) {
				t.Errorf("detail %q does not give the status", ce.Detail)
			}
			if n := fake.Calls(); n != 1 {
				t.Errorf("%d attempts; want 1 (not retried)", n)
			}
		})
	}
	t.Run("ErrWrongCredential", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		fake.SetKey("vk_live_another_key_entirely_0000000000")
		c := mustClient(t, fake, nil)
		_, err := c.DeviceHistory(ctx, connector.DeviceRequest{Device: "d1", From: from, To: to, Limit: 3})
		wantKind(t, err, connector.ErrAuth)
		if n := fake.Calls(); n != 1 {
			t.Errorf("%d attempts; want 1", n)
		}
	})
	t.Run("OK429RetryAfter", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, nil)
		fake.Inject(1, vendortest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1"})
		if _, err := c.AreaSearch(ctx, area(t)); err != nil {
			t.Fatal(err)
		}
		reqs := fake.Requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests; want 2", len(reqs))
		}
		// The backoff alone is under 5ms: the second request waited for
		// the vendor's second.
		if gap := reqs[1].At.Sub(reqs[0].At); gap < time.Second {
			t.Errorf("retried after %s; the vendor asked for 1s", gap)
		}
	})
	t.Run("Err429RetryAfterTooLong", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, func(cfg *vendorapi.Config) { cfg.MaxRetryAfter = 2 * time.Second })
		fake.Inject(1, vendortest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "3600"})
		_, err := c.AreaSearch(ctx, area(t))
		if ce := wantKind(t, err, connector.ErrUnavailable); !strings.Contains(ce.Detail, "wait 1h0m0s") {
			t.Errorf("detail %q", ce.Detail)
		}
		if n := fake.Calls(); n != 1 {
			t.Errorf("%d attempts; want 1", n)
		}
	})
	t.Run("ErrDeadlineBeforeRetry", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, nil)
		fake.Inject(1, vendortest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "20"})
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := c.AreaSearch(dctx, area(t))
		wantKind(t, err, connector.ErrUnavailable)
		if dctx.Err() != nil {
			t.Error("the client slept past the caller's deadline instead of giving up")
		}
		if n := fake.Calls(); n != 1 {
			t.Errorf("%d attempts; want 1", n)
		}
	})
	for _, c := range []struct {
		name  string
		fault vendortest.Fault
		want  string
	}{
		{"ErrGarbage", vendortest.Garbage(), "not valid JSON"},
		{"ErrTruncatedJSON", vendortest.Truncated(), "truncated"},
		{"ErrWrongTypes", vendortest.WrongTypes(), "wrong type"},
		{"ErrHugeBody", vendortest.Huge(3 << 20), "larger than 1 MiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake := vendortest.New(t, testKey, pings())
			cl := mustClient(t, fake, func(cfg *vendorapi.Config) { cfg.MaxResponseBytes = 1 << 20 })
			fake.Inject(1, c.fault)
			_, err := cl.AreaSearch(ctx, area(t))
			if ce := wantKind(t, err, connector.ErrMalformed); !strings.Contains(ce.Detail, c.want) {
				t.Errorf("detail %q; want it to say %q", ce.Detail, c.want)
			}
			if n := fake.Calls(); n != 1 {
				t.Errorf("%d attempts; want 1 (a malformed answer is not retried)", n)
			}
		})
	}
	t.Run("ErrCancelled", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, func(cfg *vendorapi.Config) { cfg.Timeout = time.Minute; cfg.BreakerFailures = 1 })
		fake.Inject(1, vendortest.Fault{Delay: time.Minute})
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			for fake.Calls() == 0 {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		_, err := c.AreaSearch(cctx, area(t))
		if ce := wantKind(t, err, connector.ErrUnavailable); ce.Detail != "the request was cancelled" {
			t.Errorf("detail %q", ce.Detail)
		}
		// The caller giving up says nothing of the vendor: the breaker
		// (opened by one failure here) stays closed.
		if open, n := c.BreakerOpen(); open || n != 0 {
			t.Errorf("breaker open=%v after %d failures; a cancellation counted", open, n)
		}
		if _, err := c.AreaSearch(ctx, area(t)); err != nil {
			t.Errorf("the next call: %v", err)
		}
	})
	t.Run("ErrNoCredential", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, func(cfg *vendorapi.Config) {
			cfg.Credential = func(context.Context) (string, error) {
				return "", fault.Wrap(errors.New("sealed value does not open: "+testKey), fault.NotFound, "there is no credential named cbp-vendor")
			}
		})
		_, err := c.AreaSearch(ctx, area(t))
		if ce := wantKind(t, err, connector.ErrAuth); !strings.Contains(ce.Detail, "there is no credential named cbp-vendor") {
			t.Errorf("detail %q", ce.Detail)
		}
		if fake.Calls() != 0 {
			t.Error("a request went out without a credential")
		}
	})
	t.Run("ErrUnsendableCredential", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		c := mustClient(t, fake, func(cfg *vendorapi.Config) { cfg.Credential = newKeyring(testKey + "\r\nX-Evil: 1").get })
		_, err := c.AreaSearch(ctx, area(t))
		wantKind(t, err, connector.ErrAuth)
		if fake.Calls() != 0 {
			t.Error("a request went out with a header-breaking credential")
		}
	})
	t.Run("ErrRefusedConnection", func(t *testing.T) {
		fake := vendortest.New(t, testKey, pings())
		fake.Close()
		c := mustClient(t, fake, nil)
		_, err := c.AreaSearch(ctx, area(t))
		if ce := wantKind(t, err, connector.ErrUnavailable); strings.Contains(ce.Detail, "127.0.0.1") {
			t.Errorf("detail %q quotes the transport's error", ce.Detail)
		}
	})
}

func TestClient_Rotation(t *testing.T) {
	ctx := context.Background()
	fake := vendortest.New(t, testKey, pings())
	keys := newKeyring(testKey)
	c := mustClient(t, fake, func(cfg *vendorapi.Config) { cfg.Credential = keys.get })
	req := connector.AreaRequest{Area: square(t), From: from, To: to, Limit: 10}
	if _, err := c.AreaSearch(ctx, req); err != nil {
		t.Fatal(err)
	}
	// The vendor issues a new key: the old one is refused until Probity's
	// is rotated, and the same client then uses the new one.
	const next = "vk_live_rotated_91d0c3b5a7e2f4086b1c9d3e"
	fake.SetKey(next)
	_, err := c.AreaSearch(ctx, req)
	wantKind(t, err, connector.ErrAuth)
	keys.v.Store(next)
	if _, err := c.AreaSearch(ctx, req); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	reqs := fake.Requests()
	if last := reqs[len(reqs)-1]; last.Credential != next || !last.Authorized {
		t.Errorf("the last request carried %q", last.Credential)
	}
}

// A clock is a settable time for the breaker.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestClient_Breaker(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*vendortest.Server, *vendorapi.Client, *clock) {
		fake := vendortest.New(t, testKey, pings())
		clk := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		c := mustClient(t, fake, func(cfg *vendorapi.Config) {
			cfg.MaxAttempts, cfg.BreakerFailures, cfg.BreakerCooldown, cfg.Now = 1, 3, time.Minute, clk.Now
		})
		return fake, c, clk
	}
	req := func(t *testing.T) connector.AreaRequest {
		return connector.AreaRequest{Area: square(t), From: from, To: to, Limit: 10}
	}
	open := func(t *testing.T, fake *vendortest.Server, c *vendorapi.Client) {
		t.Helper()
		fake.Inject(3, vendortest.Fault{Status: http.StatusServiceUnavailable})
		for range 3 {
			_, err := c.AreaSearch(ctx, req(t))
			wantKind(t, err, connector.ErrUnavailable)
		}
		if o, n := c.BreakerOpen(); !o || n != 3 {
			t.Fatalf("breaker open=%v after %d failures; want open after 3", o, n)
		}
	}
	t.Run("ErrOpen", func(t *testing.T) {
		fake, c, clk := setup(t)
		open(t, fake, c)
		before := fake.Calls()
		for range 5 {
			_, err := c.AreaSearch(ctx, req(t))
			if ce := wantKind(t, err, connector.ErrUnavailable); !strings.Contains(ce.Detail, "stopped calling the data source after 3 failed calls") {
				t.Errorf("detail %q", ce.Detail)
			}
		}
		if n := fake.Calls() - before; n != 0 {
			t.Errorf("%d calls reached the vendor while the breaker was open", n)
		}
		clk.advance(59 * time.Second)
		_, err := c.AreaSearch(ctx, req(t))
		wantKind(t, err, connector.ErrUnavailable)
		if n := fake.Calls() - before; n != 0 {
			t.Errorf("a call reached the vendor before the cool-down ended")
		}
	})
	t.Run("OKRecovers", func(t *testing.T) {
		fake, c, clk := setup(t)
		open(t, fake, c)
		clk.advance(time.Minute)
		before := fake.Calls()
		if _, err := c.AreaSearch(ctx, req(t)); err != nil {
			t.Fatalf("the trial call: %v", err)
		}
		if o, n := c.BreakerOpen(); o || n != 0 {
			t.Errorf("breaker open=%v, %d failures after a successful trial", o, n)
		}
		for range 3 {
			if _, err := c.AreaSearch(ctx, req(t)); err != nil {
				t.Fatal(err)
			}
		}
		if n := fake.Calls() - before; n != 4 {
			t.Errorf("%d calls reached the vendor; want 4", n)
		}
	})
	t.Run("ErrTrialFails", func(t *testing.T) {
		fake, c, clk := setup(t)
		open(t, fake, c)
		clk.advance(time.Minute)
		fake.Inject(1, vendortest.Garbage())
		before := fake.Calls()
		_, err := c.AreaSearch(ctx, req(t))
		wantKind(t, err, connector.ErrMalformed)
		// One failed trial reopens it for a whole cool-down.
		_, err = c.AreaSearch(ctx, req(t))
		wantKind(t, err, connector.ErrUnavailable)
		if n := fake.Calls() - before; n != 1 {
			t.Errorf("%d calls reached the vendor; want only the trial", n)
		}
		clk.advance(time.Minute)
		if _, err := c.AreaSearch(ctx, req(t)); err != nil {
			t.Errorf("the second trial: %v", err)
		}
	})
	t.Run("OKOneTrialAtATime", func(t *testing.T) {
		fake, c, clk := setup(t)
		open(t, fake, c)
		clk.advance(time.Minute)
		fake.Inject(1, vendortest.Fault{Delay: 300 * time.Millisecond})
		before := fake.Calls()
		trial := make(chan error, 1)
		go func() {
			_, err := c.AreaSearch(ctx, req(t))
			trial <- err
		}()
		for fake.Calls() == before {
			time.Sleep(time.Millisecond)
		}
		_, err := c.AreaSearch(ctx, req(t))
		wantKind(t, err, connector.ErrUnavailable)
		if err := <-trial; err != nil {
			t.Errorf("the trial: %v", err)
		}
		if n := fake.Calls() - before; n != 1 {
			t.Errorf("%d calls reached the vendor while one trial was under way; want 1", n)
		}
	})
	t.Run("OKRefusalsAreNotFailures", func(t *testing.T) {
		fake, c, _ := setup(t)
		fake.Inject(2, vendortest.Fault{Status: http.StatusServiceUnavailable})
		fake.Inject(1, vendortest.Fault{Status: http.StatusBadRequest})
		fake.Inject(2, vendortest.Fault{Status: http.StatusServiceUnavailable})
		for range 5 {
			c.AreaSearch(ctx, req(t))
		}
		// 503, 503, 400 (the vendor answered: the count starts over),
		// 503, 503: two in a row, below three.
		if o, n := c.BreakerOpen(); o || n != 2 {
			t.Errorf("breaker open=%v with %d failures; want closed with 2", o, n)
		}
	})
}

func TestNew(t *testing.T) {
	cred := newKeyring(testKey).get
	for _, c := range []struct {
		base string
		ok   bool
	}{
		{"https://api.vendor.example/", true},
		{"https://api.vendor.example/telemetry", true},
		{"http://127.0.0.1:8080/", true},
		{"http://[::1]:8080", true},
		{"http://localhost:9/", true},
		{"http://api.vendor.example/", false},
		{"http://10.0.0.1/", false},
		{"https://user:pass@api.vendor.example/", false},
		{"https://api.vendor.example/?key=x", false},
		{"https://api.vendor.example/#x", false},
		{"ftp://api.vendor.example/", false},
		{"api.vendor.example", false},
		{"", false},
	} {
		_, err := vendorapi.New(vendorapi.Config{BaseURL: c.base, Credential: cred})
		if (err == nil) != c.ok {
			t.Errorf("New(%q): %v; want ok=%v", c.base, err, c.ok)
		}
		if err != nil && !fault.Is(err, fault.Invalid) {
			t.Errorf("New(%q): %v is not an invalid-input error", c.base, err)
		}
	}
	if _, err := vendorapi.New(vendorapi.Config{BaseURL: "https://api.vendor.example/"}); err == nil {
		t.Error("New without a credential source succeeded")
	}
	if _, err := vendorapi.New(vendorapi.Config{BaseURL: "https://api.vendor.example/", Credential: cred, KeyHeader: "X Key"}); err == nil {
		t.Error("New with a bad header name succeeded")
	}
}

// TestClient_NoRedirect checks that a redirect is not followed: it would
// carry the credential to a place nobody configured.
func TestClient_NoRedirect(t *testing.T) {
	var hits atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer elsewhere.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	c, err := vendorapi.New(vendorapi.Config{BaseURL: redirector.URL, Credential: newKeyring(testKey).get})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AreaSearch(context.Background(), connector.AreaRequest{Area: square(t), From: from, To: to, Limit: 1})
	wantKind(t, err, connector.ErrMalformed)
	if hits.Load() != 0 {
		t.Error("the redirect was followed")
	}
}

func equalDevices(a, b []connector.DeviceSeen) bool {
	return slices.EqualFunc(a, b, func(x, y connector.DeviceSeen) bool {
		return x.Device == y.Device && x.FirstSeen.Equal(y.FirstSeen) && x.LastSeen.Equal(y.LastSeen) && x.Pings == y.Pings
	})
}

// BenchmarkClient_AreaSearch measures a whole call over loopback: encode,
// HTTP, decode and validate an answer of 1,000 devices.
func BenchmarkClient_AreaSearch(b *testing.B) {
	var ps []vendortest.Ping
	for i := range 1000 {
		ps = append(ps, vendortest.Ping{Device: fmt.Sprintf("dev-%05d", i), Time: t0.Add(time.Duration(i) * time.Minute), Lat: 39.9 + float64(i%100)/1000, Lon: 116.3 + float64(i/100)/100})
	}
	fake := vendortest.New(b, testKey, ps)
	c := mustClient(b, fake, nil)
	req := connector.AreaRequest{Area: square(b), From: from, To: to, Limit: 5000}
	b.ReportAllocs()
	for b.Loop() {
		got, err := c.AreaSearch(context.Background(), req)
		if err != nil || len(got) != 1000 {
			b.Fatalf("%d devices, %v", len(got), err)
		}
	}
}
