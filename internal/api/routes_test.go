package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/api"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// permissions is every permission a route may declare.
var permissions = append([]auth.Permission{auth.Public, auth.Self}, auth.AllPermissions()...)

func TestAPI_Routes(t *testing.T) {
	routes := api.New(api.Deps{}).Routes()
	if len(routes) == 0 {
		t.Fatal("the route table is empty")
	}
	t.Run("OK", func(t *testing.T) {
		everyone := auth.Principal{Kind: "user", ID: "everyone", PersonID: 1}
		for _, r := range auth.Roles() {
			everyone.Grants = append(everyone.Grants, auth.Grant{Role: r})
		}
		seen := map[string]bool{}
		for _, r := range routes {
			key := r.Method + " " + r.Pattern
			if seen[key] {
				t.Errorf("route %s is declared twice", key)
			}
			seen[key] = true
			if r.Perm == "" {
				t.Errorf("route %s declares no permission", key)
				continue
			}
			if !slices.Contains(permissions, r.Perm) {
				t.Errorf("route %s declares unknown permission %q", key, r.Perm)
			}
			// A permission no role holds would make the route unusable.
			if !everyone.Can(r.Perm) {
				t.Errorf("route %s needs %q, which no role grants", key, r.Perm)
			}
			if r.Handler == nil {
				t.Errorf("route %s has no handler", key)
			}
			if !slices.Contains([]string{"GET", "POST", "PUT", "DELETE", "PATCH"}, r.Method) {
				t.Errorf("route %s has method %q", key, r.Method)
			}
		}
	})
	t.Run("ErrNoPermission", func(t *testing.T) {
		// A route without a permission is refused to everyone (fail
		// closed), whatever roles they hold.
		r := api.Route{Method: "GET", Pattern: "/x"}
		if auth.Anonymous.Can(r.Perm) || (auth.Principal{ID: "a", Grants: []auth.Grant{{Role: auth.Administrator}, {Role: auth.Auditor}}}).Can(r.Perm) {
			t.Error("an empty permission is granted to someone")
		}
	})
}

// routeMux matches paths to a route table's patterns.
func routeMux(patterns []string) *http.ServeMux {
	mux := http.NewServeMux()
	for _, p := range patterns {
		mux.Handle(p, http.NotFoundHandler())
	}
	return mux
}

// TestAPI_Authorization runs the role × route × component matrix: every
// route of the API and of the pages, for every kind of requester —
// anonymous, the bootstrap credentials, refused credentials, and a
// signed-in person in each role that may be held in CBP, in ICE and
// department-wide — with the exact status each must get.
func TestAPI_Authorization(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testAuthorization(t, d) })
	}
}

func testAuthorization(t *testing.T, d store.Dialect) {
	m := mustMatrix(t, d)
	ts := m.ts
	cases, ending := m.cases(), m.sessionEndingCases()

	t.Run("OKCoverage", func(t *testing.T) {
		// Every route has a case, so a new route cannot skip the matrix.
		covered := map[string]bool{}
		for _, c := range append(cases, ending...) {
			pattern := m.pattern(c.method, c.path)
			if pattern == "" {
				t.Errorf("case %q: %s %s matches no route", c.name, c.method, c.path)
			}
			covered[pattern] = true
		}
		for _, p := range m.patterns() {
			if !covered[p] {
				t.Errorf("route %s has no case in the authorization matrix", p)
			}
		}
	})

	t.Run("OK", func(t *testing.T) {
		if n := m.run(t, cases); n != 0 {
			t.Errorf("%d requests were allowed that must be refused", n)
		}
	})

	t.Run("ErrCrossComponent", func(t *testing.T) { m.crossComponent(t) })

	t.Run("OKSessionEnding", func(t *testing.T) {
		// Each of these ends the caller's session: every person gets a new
		// session first, and none works after.
		for _, c := range ending {
			for _, p := range m.people {
				ts.mustSession(t, p, matrixAgent)
			}
			if n := m.run(t, []matrixCase{c}); n != 0 {
				t.Errorf("%s: %d requests were allowed that must be refused", c.name, n)
			}
			for _, p := range m.people {
				if r := ts.send(t, request{method: "GET", path: "/api/v1/me", cookie: p.session()}); r.status != unauth {
					t.Errorf("%s: %s's session still works: status %d", c.name, p.label, r.status)
				}
			}
		}
		// A personal token is not a session: it still works.
		if r := ts.send(t, request{method: "GET", path: "/api/v1/me", auth: m.byName["dpo-token"].auth}); r.status != allow {
			t.Errorf("the department privacy officer's token: status %d after signing out everywhere", r.status)
		}
	})

	t.Run("OKInvariants", func(t *testing.T) { m.checkInvariants(t) })

	t.Run("ErrMethodNotAllowed", func(t *testing.T) {
		allowed := map[string][]string{}
		for _, p := range m.patterns() {
			method, path, _ := strings.Cut(p, " ")
			allowed[path] = append(allowed[path], method)
			if method == "GET" {
				allowed[path] = append(allowed[path], "HEAD")
			}
		}
		for _, c := range cases {
			_, path, _ := strings.Cut(m.pattern(c.method, c.path), " ")
			for _, method := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"} {
				if slices.Contains(allowed[path], method) {
					continue
				}
				for _, p := range m.principals[:3] {
					before := ts.ledgerSize(t)
					r := ts.send(t, request{method: method, path: c.path, auth: p.auth, body: c.body})
					label := fmt.Sprintf("%s %s as %s", method, c.path, p.name)
					if r.status != http.StatusMethodNotAllowed {
						t.Errorf("%s: status %d, want 405", label, r.status)
					}
					checkSecurityHeaders(t, label, r)
					if ts.ledgerSize(t) != before {
						t.Errorf("%s: the ledger grew", label)
					}
				}
			}
		}
	})

	t.Run("OKSeparationOfDuties", func(t *testing.T) {
		// Spelled out: the administrator reads no ledger entries, the
		// auditor changes no settings.
		for _, c := range []struct {
			name  string
			rq    request
			want  int
			wantM string
		}{
			{name: "admin entry", rq: request{method: "GET", path: "/api/v1/ledger/entries/5", auth: bearer(adminToken)}, want: forbid, wantM: "your role does not allow this (ledger.entries.read)"},
			{name: "admin full bundle", rq: request{method: "GET", path: "/ledger/tile/entries/001", auth: bearer(adminToken)}, want: forbid, wantM: "entry bundles require an auditor's credential"},
			{name: "admin partial bundle", rq: request{method: "GET", path: "/ledger/tile/entries/002.p/3", auth: bearer(adminToken)}, want: forbid, wantM: "entry bundles require an auditor's credential"},
			{name: "anonymous bundle", rq: request{method: "GET", path: "/ledger/tile/entries/000.p/1"}, want: unauth, wantM: "entry bundles require an auditor's credential"},
			{name: "auditor put", rq: request{method: "PUT", path: "/api/v1/settings/result_retention_days", auth: bearer(auditorToken), body: `{"value": 7}`}, want: forbid, wantM: "your role does not allow this (settings.write)"},
			{name: "administrator's person entry", rq: request{method: "GET", path: "/api/v1/ledger/entries/5", auth: m.tokenOf(t, "dept-admin")}, want: forbid, wantM: "your role does not allow this (ledger.entries.read)"},
			{name: "administrator's person bundle", rq: request{method: "GET", path: "/ledger/tile/entries/001", auth: m.tokenOf(t, "dept-admin")}, want: forbid, wantM: "entry bundles require an auditor's credential"},
			{name: "component auditor's entry", rq: request{method: "GET", path: "/api/v1/ledger/entries/5", auth: m.tokenOf(t, "cbp-auditor")}, want: forbid, wantM: "ledger entries record every component's activity; reading them needs a department-wide auditor"},
			{name: "component auditor's bundle", rq: request{method: "GET", path: "/ledger/tile/entries/001", auth: m.tokenOf(t, "cbp-auditor")}, want: forbid, wantM: "ledger entries record every component's activity; reading them needs a department-wide auditor"},
			{name: "auditor's person put", rq: request{method: "PUT", path: "/api/v1/settings/result_retention_days", auth: m.tokenOf(t, "dept-auditor"), body: `{"value": 7}`}, want: forbid, wantM: "your role does not allow this (settings.write)"},
		} {
			before, setting := ts.ledgerSize(t), ts.settingValue(t, "result_retention_days")
			r := ts.send(t, c.rq)
			if r.status != c.want {
				t.Errorf("%s: status %d, want %d: %s", c.name, r.status, c.want, r.body)
			}
			var msg string
			if strings.HasPrefix(c.rq.path, "/ledger/") {
				msg = strings.TrimSpace(string(r.body))
			} else {
				msg = checkJSONError(t, r, map[int]string{forbid: "forbidden", unauth: "unauthenticated"}[c.want])
			}
			if msg != c.wantM {
				t.Errorf("%s: message %q, want %q", c.name, msg, c.wantM)
			}
			if bytes.Contains(r.body, []byte(`"seq"`)) || bytes.Contains(r.body, []byte("test.filled")) {
				t.Errorf("%s: the refusal shows ledger entries: %s", c.name, r.body)
			}
			if ts.ledgerSize(t) != before || ts.settingValue(t, "result_retention_days") != setting {
				t.Errorf("%s: something was stored", c.name)
			}
		}
	})

	t.Run("OKNoSecretInLogs", func(t *testing.T) {
		logs := ts.Logs.String()
		// The matrix ran many requests with every credential; they were
		// logged (debug level) but without the credentials.
		if !strings.Contains(logs, `"msg":"request"`) || !strings.Contains(logs, `"route":"/api/v1/settings/{name}"`) {
			t.Fatalf("the requests were not logged; logs:\n%.2000s", logs)
		}
		for _, secret := range m.secrets() {
			if strings.Contains(logs, secret) {
				t.Errorf("the logs contain a secret %q", secret)
			}
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkSecurityHeaders checks the headers every response carries.
func checkSecurityHeaders(t *testing.T, label string, r response) {
	t.Helper()
	for k, want := range map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": csp(r),
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s: %s = %q, want %q", label, k, got, want)
		}
	}
	if strings.HasPrefix(r.header.Get("Content-Type"), "application/json") && r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: JSON response with Cache-Control %q, want no-store", label, r.header.Get("Cache-Control"))
	}
}

// csp returns the Content-Security-Policy a response must carry: pages
// allow their own styles and images, everything else nothing.
func csp(r response) string {
	if r.path != "" && !isProgramPath(r.path) {
		return "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	}
	return "default-src 'none'; frame-ancestors 'none'"
}

func isProgramPath(p string) bool {
	return strings.HasPrefix(p, "/api/") || p == "/ledger/checkpoint" || strings.HasPrefix(p, "/ledger/tile/") || p == "/healthz" || p == "/readyz" || p == "/metrics"
}

// checkDenial checks a 401 or 403: JSON error shape under /api/v1, plain
// text in the tlog-tiles layout, a page for people, and never the data
// asked for.
func checkDenial(t *testing.T, label, path string, r response) {
	t.Helper()
	if strings.HasPrefix(path, "/api/") {
		code := map[int]string{unauth: "unauthenticated", forbid: "forbidden"}[r.status]
		checkJSONError(t, r, code)
		return
	}
	if !isProgramPath(path) {
		if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q, want text/html", label, ct)
		}
		return
	}
	if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("%s: Content-Type %q, want text/plain", label, ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: a refusal with Cache-Control %q, want no-store", label, cc)
	}
}

func TestOpenAPIDocument(t *testing.T) {
	routes := api.New(api.Deps{}).Routes()
	doc := api.OpenAPIDocument()

	var spec struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &spec); err != nil {
		t.Fatalf("the OpenAPI document is not valid JSON: %v", err)
	}

	t.Run("OK", func(t *testing.T) {
		if spec.OpenAPI != "3.1.0" {
			t.Errorf("openapi = %q, want 3.1.0", spec.OpenAPI)
		}
		documented := map[string]bool{}
		for path, item := range spec.Paths {
			for method := range item {
				switch method {
				case "get", "put", "post", "delete", "patch", "head", "options", "trace":
					documented[strings.ToUpper(method)+" "+path] = true
				}
			}
		}
		routed := map[string]api.Route{}
		for _, r := range routes {
			routed[r.Method+" "+openAPIPath(r.Pattern)] = r
		}
		var missing, extra []string
		for k := range routed {
			if !documented[k] {
				missing = append(missing, k)
			}
		}
		for k := range documented {
			if _, ok := routed[k]; !ok {
				extra = append(extra, k)
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		if len(missing) > 0 {
			t.Errorf("routes missing from openapi.json: %s", strings.Join(missing, ", "))
		}
		if len(extra) > 0 {
			t.Errorf("openapi.json documents routes that do not exist: %s", strings.Join(extra, ", "))
		}

		// Routes that need a credential say so, and document the refusals.
		for k, r := range routed {
			method, path, _ := strings.Cut(k, " ")
			raw, ok := spec.Paths[path][strings.ToLower(method)]
			if !ok {
				continue
			}
			var op struct {
				Security  []map[string][]string      `json:"security"`
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Errorf("%s: %v", k, err)
				continue
			}
			anonymousOK := len(op.Security) == 0 || slices.ContainsFunc(op.Security, func(m map[string][]string) bool { return len(m) == 0 })
			if r.Perm == auth.Public && !anonymousOK {
				t.Errorf("%s is public but documented as needing a credential", k)
			}
			if r.Perm != auth.Public {
				if anonymousOK {
					t.Errorf("%s needs %s but is documented without a bearer security requirement", k, r.Perm)
				}
				for _, status := range []string{"401", "403"} {
					if _, ok := op.Responses[status]; !ok {
						t.Errorf("%s needs %s but does not document a %s response", k, r.Perm, status)
					}
				}
			}
		}
	})

	t.Run("OKServed", func(t *testing.T) {
		ts := mustStartServer(t, store.SQLite)
		r := ts.send(t, request{method: "GET", path: "/api/v1/openapi.json"})
		if r.status != http.StatusOK {
			t.Fatalf("status %d", r.status)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if !bytes.Equal(r.body, doc) {
			t.Error("the served document differs from api.OpenAPIDocument()")
		}
		checkSecurityHeaders(t, "openapi.json", r)
	})

}

// openAPIPath turns a ServeMux pattern into an OpenAPI path template.
func openAPIPath(pattern string) string {
	return strings.ReplaceAll(pattern, "...}", "}")
}
