package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

func TestAPI_PutSetting(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testPutSetting(t, d) })
	}
}

func testPutSetting(t *testing.T, d store.Dialect) {
	ts := mustStartServer(t, d)
	const path = "/api/v1/settings/organization_name"
	admin := bearer(adminToken)

	t.Run("OK", func(t *testing.T) {
		before := ts.ledgerSize(t)
		var got struct {
			Setting struct {
				Name      string          `json:"name"`
				Value     json.RawMessage `json:"value"`
				UpdatedBy string          `json:"updated_by"`
			} `json:"setting"`
			LedgerIndex int64 `json:"ledger_index"`
		}
		ts.mustJSON(t, request{method: "PUT", path: path, auth: admin, body: `{"value": "  Office of Oversight  "}`, contentType: "application/json; charset=utf-8"}, http.StatusOK, &got)
		if got.Setting.Name != "organization_name" || string(got.Setting.Value) != `"Office of Oversight"` || got.Setting.UpdatedBy != "bootstrap-admin" {
			t.Errorf("setting = %+v", got.Setting)
		}
		if got.LedgerIndex != before {
			t.Errorf("ledger_index = %d, want %d", got.LedgerIndex, before)
		}
		if ts.ledgerSize(t) != before+1 {
			t.Errorf("ledger size %d, want %d", ts.ledgerSize(t), before+1)
		}
		if v := ts.settingValue(t, "organization_name"); !strings.HasPrefix(v, `"Office of Oversight" @ `) {
			t.Errorf("stored value %s", v)
		}
	})

	t.Run("OKBodyAtLimit", func(t *testing.T) {
		// Exactly 64 KiB (whitespace after the value is allowed).
		body := `{"value": "At the limit"}`
		body += strings.Repeat(" ", 64<<10-len(body))
		before := ts.ledgerSize(t)
		r := ts.send(t, request{method: "PUT", path: path, auth: admin, body: body})
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if ts.ledgerSize(t) != before+1 {
			t.Error("the change was not recorded")
		}
	})

	big := `{"value": "` + strings.Repeat("x", 64<<10) + `"}`
	for _, c := range []struct {
		name        string
		path        string
		body        string
		contentType string
		status      int
		code        string
		message     string
	}{
		{name: "ErrMalformedJSON", body: `{"value": nope}`, status: 400, code: "invalid",
			message: "the request body is not valid JSON for this request: syntax error at byte 12"},
		{name: "ErrTruncatedJSON", body: `{"value": "x"`, status: 400, code: "invalid",
			message: "the request body is not valid JSON for this request: malformed JSON"},
		{name: "ErrUnknownField", body: `{"value": "x", "actor": "someone else"}`, status: 400, code: "invalid",
			message: `the request body is not valid JSON for this request: unknown field "actor"`},
		{name: "ErrWrongType", body: `["value", "x"]`, status: 400, code: "invalid",
			message: `the request body is not valid JSON for this request: field "" must be struct { Value json.RawMessage "json:\"value\"" }`},
		{name: "ErrTrailingData", body: `{"value": "x"} {"value": "y"}`, status: 400, code: "invalid",
			message: "the request body has data after its JSON value"},
		{name: "ErrTrailingGarbage", body: `{"value": "x"}garbage`, status: 400, code: "invalid",
			message: "the request body has data after its JSON value"},
		{name: "ErrTrailingBrace", body: `{"value": "x"}}`, status: 400, code: "invalid",
			message: "the request body has data after its JSON value"},
		{name: "ErrTrailingBracket", body: `{"value": "x"}]`, status: 400, code: "invalid",
			message: "the request body has data after its JSON value"},
		{name: "ErrEmptyBody", body: "", contentType: "application/json", status: 400, code: "invalid",
			message: "the request body is not valid JSON for this request: the body is empty"},
		{name: "ErrNoValue", body: `{}`, status: 400, code: "invalid",
			message: `the body must be {"value": …}`},
		{name: "ErrTextPlain", body: `{"value": "x"}`, contentType: "text/plain", status: 415, code: "unsupported_type",
			message: "the request body must be application/json"},
		{name: "ErrFormEncoded", body: `value=x`, contentType: "application/x-www-form-urlencoded", status: 415, code: "unsupported_type",
			message: "the request body must be application/json"},
		{name: "ErrNoContentType", body: `{"value": "x"}`, contentType: "none", status: 415, code: "unsupported_type",
			message: "the request body must be application/json"},
		{name: "ErrTooLarge", body: big, status: 413, code: "too_large",
			message: "the request body is larger than 65536 bytes"},
		{name: "ErrUnknownSetting", path: "/api/v1/settings/organisation_name", body: `{"value": "x"}`, status: 404, code: "not_found",
			message: `there is no setting "organisation_name"; the settings are checkpoint_interval_seconds, closed_case_grace_days, organization_name, pia_approval_months, result_retention_days, review_sla_days`},
		{name: "ErrNotAString", body: `{"value": 5}`, status: 400, code: "invalid",
			message: "organization_name must be a string"},
		{name: "ErrNull", body: `{"value": null}`, status: 400, code: "invalid",
			message: "organization_name must be a string"},
		{name: "ErrBlank", body: `{"value": "   "}`, status: 400, code: "invalid",
			message: "organization_name must be 1 to 200 characters long"},
		{name: "ErrTooLong", body: `{"value": "` + strings.Repeat("é", 201) + `"}`, status: 400, code: "invalid",
			message: "organization_name must be 1 to 200 characters long"},
		{name: "ErrControlCharacter", body: `{"value": "Bad\u0007Bell"}`, status: 400, code: "invalid",
			message: "organization_name must not contain control or invisible characters (found U+0007)"},
		{name: "ErrZeroRetention", path: "/api/v1/settings/result_retention_days", body: `{"value": 0}`, status: 400, code: "invalid",
			message: "result_retention_days must be a whole number from 1 to 3650"},
		{name: "ErrFractionalRetention", path: "/api/v1/settings/result_retention_days", body: `{"value": 1.5}`, status: 400, code: "invalid",
			message: "result_retention_days must be a whole number from 1 to 3650"},
		{name: "ErrStringRetention", path: "/api/v1/settings/result_retention_days", body: `{"value": "30"}`, status: 400, code: "invalid",
			message: "result_retention_days must be a whole number from 1 to 3650"},
		{name: "ErrIntervalTooLong", path: "/api/v1/settings/checkpoint_interval_seconds", body: `{"value": 3601}`, status: 400, code: "invalid",
			message: "checkpoint_interval_seconds must be a whole number from 1 to 3600"},
		{name: "ErrNegativeGrace", path: "/api/v1/settings/closed_case_grace_days", body: `{"value": -1}`, status: 400, code: "invalid",
			message: "closed_case_grace_days must be a whole number from 0 to 3650"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := c.path
			if p == "" {
				p = path
			}
			name := strings.TrimPrefix(p, "/api/v1/settings/")
			size := ts.ledgerSize(t)
			var setting string
			if name != "organisation_name" {
				setting = ts.settingValue(t, name)
			}
			r := ts.send(t, request{method: "PUT", path: p, auth: admin, body: c.body, contentType: c.contentType})
			if r.status != c.status {
				t.Errorf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if msg := checkJSONError(t, r, c.code); msg != c.message {
				t.Errorf("message:\n got %q\nwant %q", msg, c.message)
			}
			checkSecurityHeaders(t, c.name, r)
			if got := ts.ledgerSize(t); got != size {
				t.Errorf("the ledger grew from %d to %d", size, got)
			}
			if setting != "" {
				if got := ts.settingValue(t, name); got != setting {
					t.Errorf("setting %s changed from %s to %s", name, setting, got)
				}
			}
		})
	}
}
