package api_test

import (
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/store"
)

func TestServer_SecurityHeaders(t *testing.T) {
	ts := mustStartServer(t, store.SQLite)
	ts.mustAppend(t, 3)
	ts.mustPublish(t)
	admin := bearer(adminToken)

	// Every kind of answer: handlers, errors rendered by the API, the
	// mux's own 404/405/redirects, and refusals by the cross-origin check.
	for _, c := range []struct {
		name   string
		rq     request
		status int
	}{
		{name: "OKJSON", rq: request{method: "GET", path: "/api/v1/settings", auth: admin}, status: 200},
		{name: "OKPlain", rq: request{method: "GET", path: "/healthz"}, status: 200},
		{name: "OKTile", rq: request{method: "GET", path: "/ledger/tile/0/000.p/4"}, status: 200},
		{name: "OKCheckpoint", rq: request{method: "GET", path: "/ledger/checkpoint"}, status: 200},
		{name: "OKMetrics", rq: request{method: "GET", path: "/metrics"}, status: 200},
		{name: "ErrUnauthenticated", rq: request{method: "GET", path: "/api/v1/settings"}, status: 401},
		{name: "ErrForbidden", rq: request{method: "GET", path: "/ledger/tile/entries/000.p/1", auth: admin}, status: 403},
		{name: "ErrJSONNotFound", rq: request{method: "GET", path: "/api/v1/settings/nope", auth: admin}, status: 404},
		{name: "ErrPlainNotFound", rq: request{method: "GET", path: "/ledger/tile/0/999"}, status: 404},
		{name: "ErrNoRoute", rq: request{method: "GET", path: "/nope"}, status: 404},
		{name: "ErrMethod", rq: request{method: "DELETE", path: "/api/v1/settings/organization_name", auth: admin}, status: 405},
		{name: "OKCleanPathRedirect", rq: request{method: "GET", path: "/ledger/tile/0//000"}, status: 307},
		{name: "ErrUnsupportedType", rq: request{method: "PUT", path: "/api/v1/settings/organization_name", auth: admin, body: "x", contentType: "text/plain"}, status: 415},
		{name: "ErrCrossOrigin", rq: request{method: "PUT", path: "/api/v1/settings/organization_name", auth: admin, body: `{"value":"x"}`, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, status: 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.send(t, c.rq)
			if r.status != c.status {
				t.Errorf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			checkSecurityHeaders(t, c.name, r)
			if got := r.header.Get("Cross-Origin-Resource-Policy"); got != "same-origin" {
				t.Errorf("Cross-Origin-Resource-Policy %q", got)
			}
			// Plain HTTP: no HSTS (it would be ignored, and is wrong for
			// a listener that has no TLS).
			if got := r.header.Get("Strict-Transport-Security"); got != "" {
				t.Errorf("Strict-Transport-Security %q without TLS", got)
			}
		})
	}
}

func TestServer_CrossOriginProtection(t *testing.T) {
	ts := mustStartServer(t, store.SQLite)
	admin := bearer(adminToken)
	host := strings.TrimPrefix(ts.Base, "http://")
	const path = "/api/v1/settings/organization_name"

	for _, c := range []struct {
		name   string
		rq     request
		status int
	}{
		{name: "ErrCrossSitePut", rq: request{method: "PUT", path: path, auth: admin, body: `{"value":"Cross Site"}`,
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, status: 403},
		{name: "ErrSameSitePut", rq: request{method: "PUT", path: path, auth: admin, body: `{"value":"Same Site"}`,
			header: map[string]string{"Sec-Fetch-Site": "same-site"}}, status: 403},
		{name: "ErrForeignOrigin", rq: request{method: "PUT", path: path, auth: admin, body: `{"value":"Foreign"}`,
			header: map[string]string{"Origin": "http://evil.example"}}, status: 403},
		{name: "ErrOriginOtherPort", rq: request{method: "PUT", path: path, auth: admin, body: `{"value":"Other Port"}`,
			header: map[string]string{"Origin": "http://127.0.0.1:1"}}, status: 403},
		{name: "ErrCrossSitePublish", rq: request{method: "POST", path: "/api/v1/ledger/checkpoint", auth: admin,
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, status: 403},
		// Positive controls: the same requests from the same origin, or
		// from a program (no browser headers), go through.
		{name: "OKSameOrigin", rq: request{method: "PUT", path: path, auth: admin, body: `{"value":"Same Origin"}`,
			header: map[string]string{"Sec-Fetch-Site": "same-origin"}}, status: 200},
		{name: "OKMatchingOrigin", rq: request{method: "PUT", path: path, auth: admin, body: `{"value":"Matching Origin"}`,
			header: map[string]string{"Origin": "http://" + host}}, status: 200},
		{name: "OKNoBrowserHeaders", rq: request{method: "PUT", path: path, auth: admin, body: `{"value":"Program"}`}, status: 200},
		// Reads are safe methods and not refused.
		{name: "OKCrossSiteGet", rq: request{method: "GET", path: path, auth: admin,
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, status: 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			size, setting := ts.ledgerSize(t), ts.settingValue(t, "organization_name")
			r := ts.send(t, c.rq)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			checkSecurityHeaders(t, c.name, r)
			changed := ts.ledgerSize(t) != size || ts.settingValue(t, "organization_name") != setting
			wantChanged := c.status == 200 && c.rq.method == "PUT"
			if changed != wantChanged {
				t.Errorf("stored something: %v, want %v", changed, wantChanged)
			}
			if c.status == 403 && !strings.Contains(string(r.body), "cross-origin") {
				t.Errorf("refusal does not say why: %q", r.body)
			}
		})
	}
}

func TestServer_Logging(t *testing.T) {
	ts := mustStartServer(t, store.SQLite)
	for _, rq := range []request{
		{method: "GET", path: "/api/v1/settings", auth: bearer(adminToken)},
		{method: "PUT", path: "/api/v1/settings/organization_name", auth: bearer(adminToken), body: `{"value":"Logged"}`},
		{method: "PUT", path: "/api/v1/settings/organization_name", auth: bearer(adminToken), body: `{"value":`},
		{method: "GET", path: "/api/v1/ledger/entries/0", auth: bearer(adminToken)},
		{method: "GET", path: "/api/v1/ledger/entries/0", auth: bearer(auditorToken)},
		{method: "GET", path: "/api/v1/settings", auth: bearer(invalidToken)},
		{method: "GET", path: "/api/v1/settings", auth: "Basic " + adminToken},
	} {
		ts.send(t, rq)
	}
	logs := ts.Logs.String()
	t.Run("OK", func(t *testing.T) {
		// Each request was logged, with its status.
		for _, want := range []string{`"status":200`, `"status":400`, `"status":401`, `"status":403`, `"route":"/api/v1/ledger/entries/{index}"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("no request logged with %s; logs:\n%.3000s", want, logs)
			}
		}
	})
	t.Run("ErrTokenLogged", func(t *testing.T) {
		for _, tok := range []string{adminToken, auditorToken, invalidToken} {
			if strings.Contains(logs, tok) {
				t.Errorf("the logs contain the token %q", tok)
			}
		}
		if strings.Contains(logs, "Bearer") || strings.Contains(logs, "Authorization") {
			t.Errorf("the logs mention the Authorization header:\n%s", logs)
		}
	})
}
