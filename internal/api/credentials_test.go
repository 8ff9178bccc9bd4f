package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/connector"
	"github.com/probity-dev/probity/internal/connector/vendorapi"
	"github.com/probity-dev/probity/internal/connector/vendorapi/vendortest"
	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// TestCredentials_NeverShown runs a credential's whole life — stored,
// used, refused by the vendor, rotated, mistyped, listed, removed —
// through the real server and a fake vendor that quotes every credential
// it is sent in its error answers, and then looks for the secrets, and
// their base64, hex and SHA-256 forms, in everything Probity wrote: the
// logs, every error the connector returned, every API answer, and every
// ledger entry. None may appear anywhere.
func TestCredentials_NeverShown(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testCredentialsNeverShown(t, d) })
	}
}

func testCredentialsNeverShown(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	ts := mustStartServer(t, d)
	const (
		name    = "cbp-vendor"
		secret1 = "vk_live_first_7c1e9a0d4b2f"
		secret2 = "vk_live_second_3f8b6d2e0a9c"
		typo    = "vk_live_mistyped_6a0e2b9d1c7f"
	)
	secrets := []string{secret1, secret2, typo}

	var bodies []string
	send := func(rq request, want int) response {
		t.Helper()
		r := ts.send(t, rq)
		bodies = append(bodies, string(r.body))
		if r.status != want {
			t.Fatalf("%s %s: status %d, want %d: %s", rq.method, rq.path, r.status, want, r.body)
		}
		return r
	}
	ts.mustJSON(t, request{method: "POST", path: "/api/v1/components", auth: bearer(adminToken), body: `{"code":"CBP","name":"CBP component"}`}, http.StatusCreated, &struct{}{})
	isso := ts.mustPerson(t, invitation{label: "cbp-isso", component: "CBP"}, auth.Grant{Role: auth.SecurityOfficer, Component: "CBP"})
	who, err := ts.Identity.PersonByEmployeeID(ctx, isso.EmployeeID)
	if err != nil {
		t.Fatal(err)
	}
	grants, err := ts.Identity.Grants(ctx, isso.ID)
	if err != nil {
		t.Fatal(err)
	}
	as := identity.Principal(who, grants)
	sys, err := ts.Privacy.CreateSystem(ctx, as, privacy.System{Name: "Vendor system", Component: "CBP", OwnerID: isso.ID, ISSOID: isso.ID, Impact: privacy.High})
	if err != nil {
		t.Fatal(err)
	}
	src, err := ts.Privacy.CreateSource(ctx, as, privacy.Source{Name: "cbp-vendor-data", Title: "Vendor data", SystemID: sys.ID, Vendor: "Example Telemetry",
		ContractNumber: "70B-1", Categories: []string{"device_location"}, Connector: privacy.VendorAPI})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	fake := vendortest.New(t, secret1, []vendortest.Ping{{Device: "dev-1", Time: t0.Add(time.Hour), Lat: 39.95, Lon: 116.35}})

	// Stored, configured, used.
	cookie := isso.session()
	r := send(request{method: "PUT", path: "/api/v1/credentials/" + name, cookie: cookie, body: fmt.Sprintf(`{"secret":%q}`, secret1)}, http.StatusNoContent)
	if len(r.body) != 0 {
		t.Errorf("storing a credential answered a body: %q", r.body)
	}
	send(request{method: "PUT", path: fmt.Sprintf("/api/v1/sources/%d/credential", src.ID), cookie: cookie, body: `{"reference":"sealed:` + name + `"}`}, http.StatusOK)
	send(request{method: "PUT", path: fmt.Sprintf("/api/v1/sources/%d/endpoint", src.ID), cookie: cookie, body: fmt.Sprintf(`{"base_url":%q,"timeout_ms":2000}`, fake.URL)}, http.StatusOK)
	if src, err = ts.Privacy.Source(ctx, as, src.ID); err != nil {
		t.Fatal(err)
	}
	client, err := ts.Credentials.Client(ctx, src, vendorapi.Config{MaxAttempts: 2, BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	area, err := geo.NewCircle(39.95, 116.35, 500, geo.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	req := connector.AreaRequest{Area: area, From: t0, To: t0.Add(24 * time.Hour), Limit: 10}
	var errs []string
	use := func(wantKind error) {
		t.Helper()
		got, err := client.AreaSearch(ctx, req)
		if err != nil {
			errs = append(errs, err.Error())
		}
		switch {
		case wantKind == nil && (err != nil || len(got) != 1 || got[0].Device != "dev-1"):
			t.Fatalf("area search: %+v, %v; want dev-1", got, err)
		case wantKind != nil && !errors.Is(err, wantKind):
			t.Fatalf("area search: %v; want %v", err, wantKind)
		}
	}
	use(nil)
	if last := fake.Requests()[len(fake.Requests())-1]; last.Credential != secret1 {
		t.Fatalf("the vendor was sent %q", last.Credential)
	}
	// The vendor fails, and quotes the credential in its answers.
	fake.Inject(1, vendortest.Fault{Status: http.StatusUnauthorized})
	use(connector.ErrAuth)
	fake.Inject(2, vendortest.Fault{Status: http.StatusServiceUnavailable})
	use(connector.ErrUnavailable)
	fake.Inject(1, vendortest.Fault{Status: http.StatusBadRequest})
	use(connector.ErrRejected)

	// The vendor rotates the key; Probity's is rotated after it, and the
	// same client uses the new one at once.
	fake.SetKey(secret2)
	use(connector.ErrAuth)
	send(request{method: "PUT", path: "/api/v1/credentials/" + name, cookie: cookie, body: fmt.Sprintf(`{"secret":%q}`, secret2)}, http.StatusNoContent)
	use(nil)
	if last := fake.Requests()[len(fake.Requests())-1]; last.Credential != secret2 {
		t.Fatalf("after rotation the vendor was sent %q", last.Credential)
	}

	// Mistakes with a secret in hand: refused without quoting it, and
	// the stored credential stays.
	for _, c := range []struct {
		rq   request
		want int
	}{
		{request{method: "PUT", path: "/api/v1/credentials/" + name, cookie: cookie, body: fmt.Sprintf(`{"secret":%q}`, typo+"\n")}, http.StatusBadRequest},
		{request{method: "PUT", path: "/api/v1/credentials/" + name, cookie: cookie, body: fmt.Sprintf(`{"secret":%q,"note":%q}`, typo, typo)}, http.StatusBadRequest},
		{request{method: "PUT", path: "/api/v1/credentials/" + name, cookie: cookie, body: fmt.Sprintf(`{"secret":%q`, typo)}, http.StatusBadRequest},
		{request{method: "PUT", path: "/api/v1/credentials/" + name, cookie: cookie, body: fmt.Sprintf(`{"secret":["%s"]}`, typo)}, http.StatusBadRequest},
		{request{method: "PUT", path: "/api/v1/credentials/Bad%20Name", cookie: cookie, body: fmt.Sprintf(`{"secret":%q}`, typo)}, http.StatusBadRequest},
		{request{method: "PUT", path: "/api/v1/credentials/" + name, auth: bearer(adminToken), body: fmt.Sprintf(`{"secret":%q}`, typo)}, http.StatusForbidden},
		{request{method: "PUT", path: "/api/v1/credentials/" + name, body: fmt.Sprintf(`{"secret":%q}`, typo)}, http.StatusUnauthorized},
		{request{method: "PUT", path: "/api/v1/credentials/" + name, auth: bearer(typo), body: fmt.Sprintf(`{"secret":%q}`, typo)}, http.StatusUnauthorized},
	} {
		send(c.rq, c.want)
	}
	use(nil)

	// Listed: names and dates only.
	r = send(request{method: "GET", path: "/api/v1/credentials", cookie: cookie}, http.StatusOK)
	if !strings.Contains(string(r.body), `"name": "`+name+`"`) || !strings.Contains(string(r.body), `"reference": "sealed:`+name+`"`) {
		t.Errorf("the list does not name the credential: %s", r.body)
	}
	send(request{method: "GET", path: fmt.Sprintf("/api/v1/sources/%d", src.ID), cookie: cookie}, http.StatusOK)

	// Removed: the connector is refused at once, in its own words.
	send(request{method: "DELETE", path: "/api/v1/credentials/" + name, cookie: cookie}, http.StatusNoContent)
	use(connector.ErrAuth)
	if !strings.Contains(errs[len(errs)-1], "there is no credential named") {
		t.Errorf("after removal: %q", errs[len(errs)-1])
	}

	// Everything written, searched.
	var ledgerText strings.Builder
	storetest.SettledSize(t, ts.DB, ts.Ledger)
	n := 0
	for row, err := range ts.Ledger.AllRows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		ledgerText.Write(row.Entry)
		ledgerText.WriteByte('\n')
		n++
	}
	for _, typ := range []string{`"credential.stored"`, `"credential.removed"`, `"connector.endpoint_set"`, `"inventory.source_credential_configured"`} {
		if !strings.Contains(ledgerText.String(), typ) {
			t.Errorf("the ledger (%d entries) has no %s entry", n, typ)
		}
	}
	logs := ts.Logs.String()
	if !strings.Contains(logs, "vendor call failed") {
		t.Error("the connector's failures were not logged: the search of the logs would prove nothing")
	}
	if len(errs) < 5 || len(bodies) < 10 {
		t.Fatalf("only %d errors and %d answers collected", len(errs), len(bodies))
	}
	places := map[string]string{"logs": logs, "ledger": ledgerText.String(), "errors": strings.Join(errs, "\n"), "answers": strings.Join(bodies, "\n")}
	for _, s := range secrets {
		sum := sha256.Sum256([]byte(s))
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s)),
			hex.EncodeToString([]byte(s)), hex.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(sum[:])} {
			for where, text := range places {
				if strings.Contains(text, form) {
					t.Errorf("the %s hold a form of a credential (%.12s…)", where, form)
				}
			}
		}
	}
	// The fake did quote them: the search looked where they would be.
	quoted := false
	for _, rq := range fake.Requests() {
		quoted = quoted || rq.Credential == secret1
	}
	if !quoted {
		t.Error("the fake never saw the first secret")
	}
}

// TestCredentials_API checks the credential routes' answers.
func TestCredentials_API(t *testing.T) {
	ts := mustStartServer(t, store.SQLite)
	ts.mustJSON(t, request{method: "POST", path: "/api/v1/components", auth: bearer(adminToken), body: `{"code":"CBP","name":"CBP component"}`}, http.StatusCreated, &struct{}{})
	isso := ts.mustPerson(t, invitation{label: "cbp-isso", component: "CBP"}, auth.Grant{Role: auth.SecurityOfficer, Component: "CBP"})
	cookie := isso.session()
	t.Run("ErrSecret", func(t *testing.T) {
		for _, c := range []struct {
			name, body, code, want string
		}{
			{"missing", `{}`, "invalid", "secret"},
			{"short", `{"secret":"abc"}`, "invalid", "8 to 4096 characters"},
			{"control", `{"secret":"abcdefgh\u0001"}`, "invalid", "printable ASCII"},
			{"spaces", `{"secret":" abcdefghij"}`, "invalid", "begin or end"},
			{"unknown field", `{"secret":"abcdefghij","x":1}`, "invalid", "unknown field"},
			{"too large", `{"secret":"` + strings.Repeat("a", 40<<10) + `"}`, "too_large", "larger than"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := ts.send(t, request{method: "PUT", path: "/api/v1/credentials/cbp-x", cookie: cookie, body: c.body})
				if msg := wantAPIError(t, r, c.code); !strings.Contains(msg, c.want) {
					t.Errorf("message %q; want it to say %q", msg, c.want)
				}
			})
		}
		var list struct {
			Credentials []any `json:"credentials"`
		}
		ts.mustJSON(t, request{method: "GET", path: "/api/v1/credentials", cookie: cookie}, http.StatusOK, &list)
		if len(list.Credentials) != 0 {
			t.Errorf("refused requests stored %d credentials", len(list.Credentials))
		}
	})
	t.Run("ErrName", func(t *testing.T) {
		r := ts.send(t, request{method: "DELETE", path: "/api/v1/credentials/UPPER", cookie: cookie})
		wantAPIError(t, r, "invalid")
		r = ts.send(t, request{method: "DELETE", path: "/api/v1/credentials/nothing-here", cookie: cookie})
		wantAPIError(t, r, "not_found")
	})
	t.Run("ErrEndpoint", func(t *testing.T) {
		for _, c := range []struct {
			name, body, code string
		}{
			{"no url", `{"timeout_ms":1000}`, "invalid"},
			{"plain http", `{"base_url":"http://vendor.example/"}`, "invalid"},
			{"timeout", `{"base_url":"https://vendor.example/","timeout_ms":5}`, "invalid"},
			{"no source", `{"base_url":"https://vendor.example/"}`, "not_found"},
		} {
			path := "/api/v1/sources/999999/endpoint"
			r := ts.send(t, request{method: "PUT", path: path, cookie: cookie, body: c.body})
			wantAPIError(t, r, c.code)
		}
	})
}

// wantAPIError checks that r is an error answer of code (with or without
// the fields at fault) and returns its message.
func wantAPIError(t *testing.T, r response, code string) string {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("status %d, answer %s; want an error of code %s", r.status, r.body, code)
	}
	return e.Error.Message
}
