package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/app"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// Tokens the test servers accept.
const (
	adminToken   = "api-test-admin-token-0123456789abcdefgh"
	auditorToken = "api-test-auditor-token-0123456789abcdef"
	// invalidToken is well-formed but belongs to no one.
	invalidToken = "api-test-invalid-token-0123456789abcdef"
)

// A logBuffer collects a server's log lines. The ledger's background work
// logs from other goroutines, hence the lock.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A testServer is the real Probity server (store, ledger, API, security
// middleware) listening on 127.0.0.1:0 with a fresh database, and logging
// at debug level into Logs.
type testServer struct {
	*app.Server
	Logs *logBuffer
	// Base is the server's URL without the trailing slash.
	Base string
	// seq numbers what the tests create (people, components), so that
	// names never collide.
	seq atomic.Int64
}

// mustStartServer starts a server on a fresh database of dialect d and
// stops it when tb ends.
func mustStartServer(tb testing.TB, d store.Dialect) *testServer {
	tb.Helper()
	return mustStartServerWith(tb, d, nil)
}

// mustStartServerWith is [mustStartServer] with a change to the
// configuration (sign-in limits, say).
func mustStartServerWith(tb testing.TB, d store.Dialect, change func(*app.Config)) *testServer {
	tb.Helper()
	data := filepath.Join(tb.TempDir(), "data")
	cfg := app.Config{
		Data: data, Addr: "127.0.0.1:0", DB: storetest.NewDSN(tb, d),
		KeyFile: filepath.Join(data, "ledger.key"), Origin: storetest.Origin,
		LogLevel: "debug", LogFormat: "json",
		AdminToken: adminToken, AuditorToken: auditorToken,
		// The matrix sends hundreds of bad credentials from one address.
		Throttle: store.ThrottlePolicy{Window: 15 * time.Minute, MaxAccount: 5, MaxAddr: 1 << 30, LockoutTime: 15 * time.Minute},
	}
	if d == store.SQLite {
		cfg.DB = filepath.Join(data, "probity.db")
	}
	if change != nil {
		change(&cfg)
	}
	logs := &logBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := app.OpenServer(ctx, cfg, logger)
	if err != nil {
		cancel()
		tb.Fatalf("open server: %v", err)
	}
	if err := srv.Listen(); err != nil {
		cancel()
		srv.Close()
		tb.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			tb.Errorf("serve: %v", err)
		}
		srv.Close()
	})
	ts := &testServer{Server: srv, Logs: logs, Base: strings.TrimSuffix(srv.URL, "/")}
	// On PostgreSQL the sequencer integrates the genesis entry in the
	// background; tests compare ledger sizes, so wait for it.
	for deadline := time.Now().Add(30 * time.Second); ts.ledgerSize(tb) < 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatal("the genesis entry was not integrated within 30s")
		}
	}
	return ts
}

// A request is one HTTP request of a scenario.
type request struct {
	method string
	path   string
	// auth is the whole Authorization header; empty sends none.
	auth string
	body string
	// contentType defaults to application/json when there is a body;
	// "none" sends no Content-Type.
	contentType string
	header      map[string]string
	// cookie is the whole Cookie header; empty sends none.
	cookie string
	// from is the client's IP address (any of 127.0.0.0/8); empty is
	// 127.0.0.1.
	from string
}

func bearer(token string) string { return "Bearer " + token }

// A response is what the server answered.
type response struct {
	status int
	header http.Header
	body   []byte
	path   string // the path asked for
}

// send sends rq to the server.
func (ts *testServer) send(tb testing.TB, rq request) response {
	tb.Helper()
	var rd io.Reader
	if rq.body != "" {
		rd = strings.NewReader(rq.body)
	}
	req, err := http.NewRequest(rq.method, ts.Base+rq.path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	switch {
	case rq.contentType == "none":
	case rq.contentType != "":
		req.Header.Set("Content-Type", rq.contentType)
	case rq.body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.auth != "" {
		req.Header.Set("Authorization", rq.auth)
	}
	if rq.cookie != "" {
		req.Header.Set("Cookie", rq.cookie)
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	c := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     transportFrom(rq.from),
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", rq.method, rq.path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b, path: rq.path}
}

// transports holds one transport per client address, so that connections
// are reused.
var transports sync.Map // string → *http.Transport

// transportFrom returns a transport whose connections come from the IP
// address from: the server sees that address as the client's.
func transportFrom(from string) http.RoundTripper {
	if from == "" {
		return http.DefaultTransport
	}
	if t, ok := transports.Load(from); ok {
		return t.(*http.Transport)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	t, _ := transports.LoadOrStore(from, &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4})
	return t.(*http.Transport)
}

// mustJSON sends rq, requires status want and decodes the JSON answer.
func (ts *testServer) mustJSON(tb testing.TB, rq request, want int, v any) {
	tb.Helper()
	r := ts.send(tb, rq)
	if r.status != want {
		tb.Fatalf("%s %s: status %d, want %d: %s", rq.method, rq.path, r.status, want, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		tb.Fatalf("%s %s: decode %s: %v", rq.method, rq.path, r.body, err)
	}
}

// apiError is the JSON error shape.
type apiError struct {
	Error *struct {
		Code    *string `json:"code"`
		Message *string `json:"message"`
	} `json:"error"`
}

// checkJSONError checks that r is the JSON error shape
// {"error":{"code","message"}} with the given code, and returns the message.
func checkJSONError(tb testing.TB, r response, code string) string {
	tb.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		tb.Errorf("error Content-Type = %q, want application/json", ct)
	}
	var e apiError
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		tb.Fatalf("error body %s is not the error shape: %v", r.body, err)
	}
	if e.Error == nil || e.Error.Code == nil || e.Error.Message == nil {
		tb.Fatalf("error body %s lacks error.code or error.message", r.body)
	}
	if *e.Error.Code != code {
		tb.Errorf("error code = %q, want %q (body %s)", *e.Error.Code, code, r.body)
	}
	if *e.Error.Message == "" {
		tb.Errorf("error message is empty")
	}
	return *e.Error.Message
}

// ledgerSize returns the number of ledger entries. Every action's entry
// commits before its answer is sent; on PostgreSQL the sequencer then
// integrates it in the background, so the size is read once nothing is
// pending.
func (ts *testServer) ledgerSize(tb testing.TB) int64 {
	tb.Helper()
	return storetest.SettledSize(tb, ts.DB, ts.Ledger)
}

// mustAppend appends n events to the ledger directly (in batches, each its
// own transaction) and waits until they are integrated.
func (ts *testServer) mustAppend(tb testing.TB, n int) {
	tb.Helper()
	ctx := context.Background()
	want := ts.ledgerSize(tb) + int64(n)
	for done := 0; done < n; {
		batch := min(n-done, 100)
		var last store.Ref
		err := ts.DB.Update(ctx, func(tx *store.Tx) error {
			for i := range batch {
				ref, err := ts.Ledger.Append(ctx, tx, ledger.Event{
					Type:    "test.filled",
					Actor:   ledger.Actor{Kind: ledger.ActorSystem, ID: "api-test"},
					Subject: "test/fill",
					Data:    map[string]any{"n": done + i},
				})
				if err != nil {
					return err
				}
				last = ref
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("append: %v", err)
		}
		if _, err := ts.Ledger.WaitIntegrated(ctx, last); err != nil {
			tb.Fatalf("wait integrated: %v", err)
		}
		done += batch
	}
	if got := ts.ledgerSize(tb); got != want {
		tb.Fatalf("ledger size after appending %d = %d, want %d", n, got, want)
	}
}

// mustPublish publishes a checkpoint covering the whole ledger.
func (ts *testServer) mustPublish(tb testing.TB) ledger.Checkpoint {
	tb.Helper()
	cp, _, err := ts.Ledger.Publish(context.Background())
	if err != nil {
		tb.Fatalf("publish: %v", err)
	}
	return cp
}

// settingValue returns a setting's value and last update time as the
// administrator sees them.
func (ts *testServer) settingValue(tb testing.TB, name string) string {
	tb.Helper()
	var s struct {
		Value     json.RawMessage `json:"value"`
		UpdatedAt *time.Time      `json:"updated_at"`
	}
	ts.mustJSON(tb, request{method: "GET", path: "/api/v1/settings/" + name, auth: bearer(adminToken)}, http.StatusOK, &s)
	at := "never"
	if s.UpdatedAt != nil {
		at = s.UpdatedAt.Format(time.RFC3339Nano)
	}
	return string(s.Value) + " @ " + at
}
