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

// A principal is who sends a request of the matrix.
type principal struct {
	name string
	auth string // Authorization header
}

var principals = []principal{
	{name: "anonymous"},
	{name: "admin", auth: bearer(adminToken)},
	{name: "auditor", auth: bearer(auditorToken)},
	{name: "invalid", auth: bearer(invalidToken)},
	// A valid token in the wrong scheme is no credential.
	{name: "basic", auth: "Basic " + adminToken},
}

// Outcomes of the matrix.
const (
	allow  = http.StatusOK
	unauth = http.StatusUnauthorized
	forbid = http.StatusForbidden
)

// A matrixCase is one request, and the status each principal must get.
type matrixCase struct {
	name   string
	method string
	path   string
	body   string
	// want maps principal names to statuses.
	want map[string]int
}

// public, forAdminAndAuditor, … build the expected outcomes.
func outcomes(anonymous, admin, auditor int) map[string]int {
	return map[string]int{"anonymous": anonymous, "admin": admin, "auditor": auditor, "invalid": unauth, "basic": unauth}
}

func matrixCases() []matrixCase {
	public := outcomes(allow, allow, allow)
	auditorOnly := outcomes(unauth, forbid, allow)
	adminOnly := outcomes(unauth, allow, forbid)
	staff := outcomes(unauth, allow, allow)
	return []matrixCase{
		{name: "healthz", method: "GET", path: "/healthz", want: public},
		{name: "readyz", method: "GET", path: "/readyz", want: public},
		{name: "metrics", method: "GET", path: "/metrics", want: public},
		{name: "openapi", method: "GET", path: "/api/v1/openapi.json", want: public},
		{name: "checkpoint", method: "GET", path: "/ledger/checkpoint", want: public},
		{name: "full hash tile", method: "GET", path: "/ledger/tile/0/000", want: public},
		{name: "partial hash tile", method: "GET", path: "/ledger/tile/0/001.p/1", want: public},
		{name: "level 1 hash tile", method: "GET", path: "/ledger/tile/1/000.p/1", want: public},
		{name: "full entry bundle", method: "GET", path: "/ledger/tile/entries/000", want: auditorOnly},
		{name: "partial entry bundle", method: "GET", path: "/ledger/tile/entries/001.p/1", want: auditorOnly},
		// Percent-encoding does not hide an entry bundle.
		{name: "escaped entry bundle", method: "GET", path: "/ledger/tile/%65ntries/000", want: auditorOnly},
		// The credential is checked before existence: no one learns
		// anything about bundles they may not read.
		{name: "entry bundle beyond the ledger", method: "GET", path: "/ledger/tile/entries/x001/000", want: outcomes(unauth, forbid, http.StatusNotFound)},
		{name: "ledger info", method: "GET", path: "/api/v1/ledger", want: public},
		{name: "entry", method: "GET", path: "/api/v1/ledger/entries/0", want: auditorOnly},
		{name: "entry at tree size", method: "GET", path: "/api/v1/ledger/entries/1?tree_size=10", want: auditorOnly},
		{name: "entry beyond the ledger", method: "GET", path: "/api/v1/ledger/entries/100000", want: outcomes(unauth, forbid, http.StatusNotFound)},
		{name: "consistency", method: "GET", path: "/api/v1/ledger/consistency?from=1", want: public},
		{name: "publish checkpoint", method: "POST", path: "/api/v1/ledger/checkpoint", want: staff},
		{name: "list settings", method: "GET", path: "/api/v1/settings", want: staff},
		{name: "get setting", method: "GET", path: "/api/v1/settings/organization_name", want: staff},
		{name: "get unknown setting", method: "GET", path: "/api/v1/settings/nope", want: outcomes(unauth, http.StatusNotFound, http.StatusNotFound)},
		{name: "put setting", method: "PUT", path: "/api/v1/settings/organization_name", body: `{"value":"Matrix Department"}`, want: adminOnly},
		{name: "put unknown setting", method: "PUT", path: "/api/v1/settings/nope", body: `{"value":"x"}`, want: outcomes(unauth, http.StatusNotFound, forbid)},
	}
}

// routeMux matches paths to the route table's patterns.
func routeMux(routes []api.Route) *http.ServeMux {
	mux := http.NewServeMux()
	for _, r := range routes {
		mux.Handle(r.Method+" "+r.Pattern, http.NotFoundHandler())
	}
	return mux
}

func TestAPI_Authorization(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testAuthorization(t, d) })
	}
}

func testAuthorization(t *testing.T, d store.Dialect) {
	ts := mustStartServer(t, d)
	// Two full tiles' worth of entries and a partial one, all signed.
	ts.mustAppend(t, 2*256+10)
	ts.mustPublish(t)

	routes := ts.API.Routes()
	mux := routeMux(routes)
	cases := matrixCases()

	t.Run("OK", func(t *testing.T) {
		// Every route has a case, so a new route cannot skip the matrix.
		covered := map[string]bool{}
		for _, c := range cases {
			req, _ := http.NewRequest(c.method, "http://probity.test"+c.path, nil)
			_, pattern := mux.Handler(req)
			if pattern == "" {
				t.Errorf("case %q: %s %s matches no route", c.name, c.method, c.path)
			}
			covered[pattern] = true
		}
		for _, r := range routes {
			if !covered[r.Method+" "+r.Pattern] {
				t.Errorf("route %s %s has no case in the authorization matrix", r.Method, r.Pattern)
			}
		}

		unexpectedAllows := 0
		for _, c := range cases {
			methods := []string{c.method}
			if c.method == "GET" {
				methods = append(methods, "HEAD") // HEAD must not bypass GET's checks
			}
			for _, method := range methods {
				for _, p := range principals {
					want, ok := c.want[p.name]
					if !ok {
						t.Fatalf("case %q has no outcome for %s", c.name, p.name)
					}
					before := ts.ledgerSize(t)
					r := ts.send(t, request{method: method, path: c.path, auth: p.auth, body: c.body})
					label := fmt.Sprintf("%s %s as %s (%s)", method, c.path, p.name, c.name)
					if r.status != want {
						t.Errorf("%s: status %d, want %d: %.120q", label, r.status, want, string(r.body))
					}
					if r.status < 300 && want >= 400 {
						unexpectedAllows++
					}
					checkSecurityHeaders(t, label, r)
					if r.status == unauth && r.header.Get("WWW-Authenticate") != `Bearer realm="probity"` {
						t.Errorf("%s: 401 without WWW-Authenticate: %q", label, r.header.Get("WWW-Authenticate"))
					}
					if (r.status == unauth || r.status == forbid) && method != "HEAD" {
						checkDenial(t, label, c.path, r)
					}
					// Only a successful PUT records something.
					grew := ts.ledgerSize(t) - before
					if wantGrew := int64(boolInt(method == "PUT" && r.status == allow)); grew != wantGrew {
						t.Errorf("%s: the ledger grew by %d, want %d", label, grew, wantGrew)
					}
				}
			}
		}
		if unexpectedAllows != 0 {
			t.Errorf("%d requests were allowed that must be refused", unexpectedAllows)
		}
	})

	t.Run("ErrMethodNotAllowed", func(t *testing.T) {
		allowed := map[string][]string{}
		for _, r := range routes {
			allowed[r.Pattern] = append(allowed[r.Pattern], r.Method)
			if r.Method == "GET" {
				allowed[r.Pattern] = append(allowed[r.Pattern], "HEAD")
			}
		}
		for _, c := range cases {
			req, _ := http.NewRequest(c.method, "http://probity.test"+c.path, nil)
			_, pattern := mux.Handler(req)
			_, path, _ := strings.Cut(pattern, " ")
			for _, method := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"} {
				if slices.Contains(allowed[path], method) {
					continue
				}
				for _, p := range []principal{principals[0], principals[1], principals[2]} {
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

	t.Run("OKNoTokenInLogs", func(t *testing.T) {
		logs := ts.Logs.String()
		// The matrix ran many requests with every token; they were logged
		// (debug level) but without the tokens.
		if !strings.Contains(logs, `"msg":"request"`) || !strings.Contains(logs, `"route":"/api/v1/settings/{name}"`) {
			t.Fatalf("the requests were not logged; logs:\n%.2000s", logs)
		}
		for _, tok := range []string{adminToken, auditorToken, invalidToken} {
			if strings.Contains(logs, tok) {
				t.Errorf("the logs contain a token %q", tok)
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
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s: %s = %q, want %q", label, k, got, want)
		}
	}
	if strings.HasPrefix(r.header.Get("Content-Type"), "application/json") && r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: JSON response with Cache-Control %q, want no-store", label, r.header.Get("Cache-Control"))
	}
}

// checkDenial checks a 401 or 403: JSON error shape under /api/v1, plain
// text in the tlog-tiles layout, and never the data asked for.
func checkDenial(t *testing.T, label, path string, r response) {
	t.Helper()
	if strings.HasPrefix(path, "/api/") {
		code := map[int]string{unauth: "unauthenticated", forbid: "forbidden"}[r.status]
		checkJSONError(t, r, code)
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
