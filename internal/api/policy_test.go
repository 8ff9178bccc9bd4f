package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/policy"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// policyPeople are the officers of the policy scenarios.
type policyPeople struct {
	cbpCPO, iceCPO, dpo, dpo2, cbpSup *person
}

func mustPolicyPeople(t *testing.T, ts *testServer) policyPeople {
	t.Helper()
	for _, c := range []string{"CBP", "ICE"} {
		ts.mustJSON(t, request{method: "POST", path: "/api/v1/components", auth: bearer(adminToken), body: fmt.Sprintf(`{"code":%q,"name":"%s component"}`, c, c)}, http.StatusCreated, &struct{}{})
	}
	return policyPeople{
		cbpCPO: ts.mustPerson(t, invitation{label: "cbp-cpo", component: "CBP"}, auth.Grant{Role: auth.ComponentPrivacyOfficer, Component: "CBP"}),
		iceCPO: ts.mustPerson(t, invitation{label: "ice-cpo", component: "ICE"}, auth.Grant{Role: auth.ComponentPrivacyOfficer, Component: "ICE"}),
		dpo:    ts.mustPerson(t, invitation{label: "dpo"}, auth.Grant{Role: auth.DepartmentPrivacyOfficer}),
		dpo2:   ts.mustPerson(t, invitation{label: "dpo2"}, auth.Grant{Role: auth.DepartmentPrivacyOfficer}),
		cbpSup: ts.mustPerson(t, invitation{label: "cbp-sup", component: "CBP"}, auth.Grant{Role: auth.Supervisor, Component: "CBP"}),
	}
}

type versionResp struct {
	ID      int64  `json:"id"`
	Scope   string `json:"scope"`
	Version int    `json:"version"`
	Status  string `json:"status"`
	Text    string `json:"text"`
	Impact  *struct {
		AllowToDeny int `json:"allow_to_deny"`
	} `json:"impact"`
	Policies []struct {
		ID     string `json:"id"`
		Effect string `json:"effect"`
	} `json:"policies"`
	Refusals []struct {
		Step string `json:"step"`
		Code string `json:"code"`
	} `json:"refusals"`
}

func proposeBody(scope, text string) string {
	b, _ := json.Marshal(map[string]string{"scope": scope, "text": text, "summary": "test"})
	return string(b)
}

func TestAPI_Policy(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testPolicyAPI(t, d) })
	}
}

func testPolicyAPI(t *testing.T, d store.Dialect) {
	ts := mustStartServer(t, d)
	pp := mustPolicyPeople(t, ts)
	versions := func() int64 { return ts.mustQueryInt(t, `SELECT COUNT(*) FROM policy_versions`) }

	t.Run("OKBuiltIn", func(t *testing.T) {
		var sets struct {
			Sets []struct {
				Scope   string         `json:"scope"`
				Version int            `json:"version"`
				Forbids int            `json:"forbids"`
				Limits  *policy.Limits `json:"limits"`
			} `json:"sets"`
		}
		ts.mustJSON(t, request{method: "GET", path: "/api/v1/policy/sets", auth: bearer(auditorToken)}, http.StatusOK, &sets)
		if len(sets.Sets) != 2 || sets.Sets[0].Scope != policy.Department || sets.Sets[0].Forbids != 12 || sets.Sets[0].Limits == nil {
			t.Errorf("sets %+v", sets)
		}
		r := ts.send(t, request{method: "GET", path: "/api/v1/policy/schema", cookie: pp.cbpSup.session()})
		if r.status != http.StatusOK || !strings.Contains(string(r.body), "entity Query") {
			t.Errorf("schema: %d %.100s", r.status, r.body)
		}
	})

	t.Run("ErrInvalidText", func(t *testing.T) {
		before, n := ts.ledgerSize(t), versions()
		text := "@id(\"cbp.a\")\n@reason(\"A.\")\npermit (principal, action, resource)\nwhen { principal.rank > 3 };\n\n@id(\"cbp.b\")\npermit (principal, action, resource);\n"
		r := ts.send(t, request{method: "POST", path: "/api/v1/policy/versions", cookie: pp.cbpCPO.session(), body: proposeBody("CBP", text)})
		if r.status != http.StatusBadRequest {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		var e struct {
			Error struct {
				Code     string           `json:"code"`
				Message  string           `json:"message"`
				Problems []policy.Problem `json:"problems"`
			} `json:"error"`
		}
		if err := json.Unmarshal(r.body, &e); err != nil {
			t.Fatal(err)
		}
		if e.Error.Code != "invalid" || len(e.Error.Problems) != 2 ||
			e.Error.Problems[0].Line != 1 || !strings.Contains(e.Error.Problems[0].Message, "rank") ||
			e.Error.Problems[1].Line != 6 || e.Error.Problems[1].PolicyID != "cbp.b" || !strings.Contains(e.Error.Problems[1].Message, "@reason") {
			t.Errorf("error %+v", e.Error)
		}
		// A syntax error, with its line and column.
		r = ts.send(t, request{method: "POST", path: "/api/v1/policy/versions", cookie: pp.cbpCPO.session(), body: proposeBody("CBP", "@id(\"x\")\n@reason(\"y\")\nforbid (principal, action, resource) when { 1 + };")})
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"line": 3`) || !strings.Contains(string(r.body), `"column": 50`) {
			t.Errorf("syntax error: %d %s", r.status, r.body)
		}
		if ts.ledgerSize(t) != before || versions() != n {
			t.Error("an invalid proposal changed something")
		}
	})

	t.Run("OKWorkflow", func(t *testing.T) {
		cbpText := policy.DefaultComponentText + "\n@id(\"cbp.no-unmask\")\n@reason(\"CBP does not unmask devices.\")\nforbid (principal, action == Action::\"query.unmask\", resource);\n"
		var v versionResp
		ts.mustJSON(t, request{method: "POST", path: "/api/v1/policy/versions", cookie: pp.cbpCPO.session(), body: proposeBody("CBP", cbpText)}, http.StatusCreated, &v)
		if v.Status != "proposed" || v.Scope != "CBP" || v.Version != 1 {
			t.Fatalf("proposed %+v", v)
		}
		path := fmt.Sprintf("/api/v1/policy/versions/%d", v.ID)

		// Out of order, and by the wrong role: refused and recorded.
		before := ts.ledgerSize(t)
		for _, c := range []struct {
			rq   request
			want int
			code string
		}{
			{request{method: "POST", path: path + "/approve", cookie: pp.dpo.session()}, http.StatusConflict, "out_of_order"},
			{request{method: "POST", path: path + "/activate", cookie: pp.dpo.session()}, http.StatusConflict, "out_of_order"},
			{request{method: "POST", path: path + "/impact", cookie: pp.cbpSup.session()}, http.StatusForbidden, "wrong_role"},
		} {
			r := ts.send(t, c.rq)
			if r.status != c.want {
				t.Errorf("%s: %d, want %d: %s", c.rq.path, r.status, c.want, r.body)
			}
			e := ts.mustOneEntry(t, before, "policy.step_refused")
			if e.Data["code"] != c.code || e.Component != "CBP" || e.Subject != "policy/CBP/1" {
				t.Errorf("refusal entry %s", e.raw)
			}
			before++
		}
		// ICE's officer does not see CBP's version at all.
		if r := ts.send(t, request{method: "POST", path: path + "/impact", cookie: pp.iceCPO.session()}); r.status != http.StatusNotFound {
			t.Errorf("ICE analyses CBP's version: %d", r.status)
		}

		var an struct {
			Version versionResp          `json:"version"`
			Impact  policy.ImpactSummary `json:"impact"`
		}
		ts.mustJSON(t, request{method: "POST", path: path + "/impact", cookie: pp.cbpCPO.session(), body: `{"days":7}`}, http.StatusOK, &an)
		if an.Version.Status != "validated" || an.Version.Impact == nil {
			t.Errorf("analysed %+v", an)
		}
		ts.mustJSON(t, request{method: "POST", path: path + "/approve", cookie: pp.dpo.session()}, http.StatusOK, &v)
		if v.Status != "approved" {
			t.Errorf("approved: %s", v.Status)
		}
		// A dry run with the approved version in place: unmasking is
		// refused by CBP's new rule.
		decide := func(version int64) (allowed bool, policies []string) {
			var b map[string]any
			json.Unmarshal([]byte(decideBody("CBP")), &b)
			b["action"] = "query.unmask"
			b["query"].(map[string]any)["pre_approved"] = true
			if version != 0 {
				b["version_id"] = version
			}
			body, _ := json.Marshal(b)
			var d struct {
				Allowed  bool     `json:"allowed"`
				Policies []string `json:"policies"`
				Reasons  []string `json:"reasons"`
			}
			ts.mustJSON(t, request{method: "POST", path: "/api/v1/policy/decide", cookie: pp.cbpCPO.session(), body: string(body)}, http.StatusOK, &d)
			if len(d.Reasons) == 0 {
				t.Error("a decision without reasons")
			}
			return d.Allowed, d.Policies
		}
		if ok, _ := decide(0); !ok {
			t.Error("unmasking is denied under the sets in force")
		}
		if ok, ps := decide(v.ID); ok || len(ps) != 1 || ps[0] != "CBP/cbp.no-unmask" {
			t.Errorf("with the proposal: %v %v", ok, ps)
		}
		before = ts.ledgerSize(t)
		ts.mustJSON(t, request{method: "POST", path: path + "/activate", cookie: pp.dpo2.session()}, http.StatusOK, &v)
		if v.Status != "active" {
			t.Errorf("activated: %s", v.Status)
		}
		ts.mustOneEntry(t, before, "policy.activated")
		// The engine decides under it at once.
		if ok, ps := decide(0); ok || ps[0] != "CBP/cbp.no-unmask" {
			t.Errorf("after activation: %v %v", ok, ps)
		}
		// The version shows its policies and the refusals.
		ts.mustJSON(t, request{method: "GET", path: path, cookie: pp.cbpSup.session()}, http.StatusOK, &v)
		if v.Text != cbpText || len(v.Policies) != 5 || len(v.Refusals) != 3 || v.Refusals[2].Code != "wrong_role" {
			t.Errorf("version %+v", v)
		}
		var list struct {
			Versions []versionResp `json:"versions"`
		}
		ts.mustJSON(t, request{method: "GET", path: "/api/v1/policy/versions?scope=CBP", cookie: pp.iceCPO.session()}, http.StatusOK, &list)
		if len(list.Versions) != 0 {
			t.Errorf("ICE lists CBP's versions: %+v", list)
		}
	})

	t.Run("ErrOwnApproval", func(t *testing.T) {
		var v versionResp
		ts.mustJSON(t, request{method: "POST", path: "/api/v1/policy/versions", cookie: pp.dpo.session(), body: proposeBody(policy.Department, policy.DefaultDepartmentText)}, http.StatusCreated, &v)
		path := fmt.Sprintf("/api/v1/policy/versions/%d", v.ID)
		ts.mustJSON(t, request{method: "POST", path: path + "/impact", cookie: pp.dpo.session()}, http.StatusOK, &struct{}{})
		before := ts.ledgerSize(t)
		r := ts.send(t, request{method: "POST", path: path + "/approve", cookie: pp.dpo.session()})
		if r.status != http.StatusForbidden || !strings.Contains(errorMessage(t, r), "nobody approves their own proposal") {
			t.Errorf("own approval: %d %s", r.status, r.body)
		}
		if e := ts.mustOneEntry(t, before, "policy.step_refused"); e.Data["code"] != "own_work" {
			t.Errorf("refusal %s", e.raw)
		}
		// A component officer cannot propose the department floor.
		r = ts.send(t, request{method: "POST", path: "/api/v1/policy/versions", cookie: pp.cbpCPO.session(), body: proposeBody(policy.Department, policy.DefaultDepartmentText)})
		if r.status != http.StatusForbidden {
			t.Errorf("a component officer proposes the floor: %d", r.status)
		}
		// Nor test requests of another component.
		if r := ts.send(t, request{method: "POST", path: "/api/v1/policy/decide", cookie: pp.cbpCPO.session(), body: decideBody("ICE")}); r.status != http.StatusForbidden {
			t.Errorf("CBP tests ICE's requests: %d", r.status)
		}
	})
}
