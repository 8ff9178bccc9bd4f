package app_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/app"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// Tokens the test servers accept.
const (
	adminToken   = "test-admin-token-0123456789abcdefghij"
	auditorToken = "test-auditor-token-0123456789abcdefgh"
)

// A testServer is a real Probity server on 127.0.0.1:0 with a temporary
// data directory.
type testServer struct {
	*app.Server
	Cfg  app.Config
	stop func()
}

// testConfig returns the configuration of a test server of dialect d.
func testConfig(t testing.TB, d store.Dialect) app.Config {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	cfg := app.Config{
		Data: data, Addr: "127.0.0.1:0", DB: storetest.NewDSN(t, d),
		KeyFile: filepath.Join(data, "ledger.key"), Origin: storetest.Origin,
		LogLevel: "info", LogFormat: "json",
		AdminToken: adminToken, AuditorToken: auditorToken,
	}
	if d == store.SQLite {
		cfg.DB = filepath.Join(data, "probity.db")
	}
	return cfg
}

// startServer starts a server with cfg and stops it when t ends.
func startServer(t testing.TB, cfg app.Config) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := app.OpenServer(ctx, cfg, storetest.Logger())
	if err != nil {
		cancel()
		t.Fatalf("open server: %v", err)
	}
	if err := srv.Listen(); err != nil {
		cancel()
		srv.Close()
		t.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	ts := &testServer{Server: srv, Cfg: cfg}
	var once bool
	ts.stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		srv.Close()
	}
	t.Cleanup(ts.stop)
	return ts
}

// Stop stops the server now.
func (ts *testServer) Stop() { ts.stop() }

// do sends a request with an optional bearer token and JSON body and
// returns the status and body.
func (ts *testServer) do(t testing.TB, method, path, token, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(ts.URL, "/")+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// runCLI runs a probity command in-process and returns its output and
// exit status.
func runCLI(t testing.TB, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code = app.Main(context.Background(), args, getenv, &out, &errb)
	return out.String(), errb.String(), code
}
