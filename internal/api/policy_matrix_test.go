package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/policy"
	"github.com/probity-dev/probity/internal/store"
)

// A policyFixture is the policy engine's part of the matrix: a CBP set
// proposed by the CBP privacy officer, a validated department proposal of
// the department privacy officer, and fresh CBP versions at any stage of
// the workflow.
type policyFixture struct {
	m      *matrix
	cpo    auth.Principal // cbp-cpo: proposes CBP's set
	dpo    auth.Principal // dpo: approves
	cbp    policy.Version
	dept   policy.Version
	cbpSet string
}

func mustPolicyFixture(t *testing.T, m *matrix) *policyFixture {
	t.Helper()
	ctx := context.Background()
	fx := &policyFixture{m: m, cpo: m.principalOf(t, m.person["cbp-cpo"]), dpo: m.principalOf(t, m.person["dpo"])}
	fx.cbpSet = policy.DefaultComponentText + "\n@id(\"cbp.no-unmask\")\n@reason(\"CBP does not unmask devices.\")\nforbid (principal, action == Action::\"query.unmask\", resource);\n"
	var err error
	if fx.cbp, err = m.ts.Policies.Propose(ctx, fx.cpo, store.Proposal{Scope: "CBP", Text: fx.cbpSet, Summary: "matrix"}); err != nil {
		t.Fatal(err)
	}
	if fx.dept, err = m.ts.Policies.Propose(ctx, fx.dpo, store.Proposal{Scope: policy.Department, Text: policy.DefaultDepartmentText, Summary: "matrix"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err = m.ts.Policies.Analyse(ctx, fx.dpo, fx.dept.ID, 30, m.ts.Policy.Snapshot()); err != nil {
		t.Fatal(err)
	}
	return fx
}

// fresh makes a CBP version proposed by cbp-cpo, taken to status, and
// returns the path of action on it.
func (fx *policyFixture) fresh(t *testing.T, status policy.Status, action string) string {
	t.Helper()
	ctx := context.Background()
	ts := fx.m.ts
	v, err := ts.Policies.Propose(ctx, fx.cpo, store.Proposal{Scope: "CBP", Text: fx.cbpSet, Summary: "matrix"})
	if err != nil {
		t.Fatal(err)
	}
	if status != policy.Proposed {
		if err := ts.Policy.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ts.Policies.Analyse(ctx, fx.cpo, v.ID, 30, ts.Policy.Snapshot()); err != nil {
			t.Fatal(err)
		}
	}
	if status == policy.Approved {
		if _, err := ts.Policies.Approve(ctx, fx.dpo, v.ID); err != nil {
			t.Fatal(err)
		}
	}
	return fmt.Sprintf("/api/v1/policy/versions/%d/%s", v.ID, action)
}

// decideBody is a dry-run request by a CBP analyst that the default sets
// allow.
func decideBody(component string) string {
	b, _ := json.Marshal(map[string]any{
		"action": "query.area",
		"principal": map[string]any{"employee_id": "mx-analyst", "component": component, "roles": []string{"analyst"},
			"account_active": true, "training_current": true, "rules_acknowledged": true},
		"query": map[string]any{"id": "q-1", "area_km2": 1.5, "window_hours": 12, "justification": "matrix",
			"case":   map[string]any{"number": "C-1", "component": component, "status": "open", "members": []string{"mx-analyst"}, "legal_process": []string{}},
			"source": map[string]any{"name": "ctd", "usable": true, "missing": []string{}, "connector": "local", "categories": []string{"location"}}},
	})
	return string(b)
}

func (m *matrix) policyCases() []matrixCase {
	fx := m.policy
	readRoles := []auth.Role{auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.Auditor}
	var (
		readers    = m.anywhere(readRoles...)
		cbpReaders = m.within("CBP", readRoles...)
		iceReaders = m.only("ICE", readRoles...)
		proposers  = m.anywhere(auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer)
		approvers  = m.anywhere(auth.DepartmentPrivacyOfficer)
		cbpPropose = m.within("CBP", auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer)
		withdraw   = append([]string{"cbp-cpo"}, approvers...)
		notFound   = func(names ...[]string) map[string]int { return each(http.StatusNotFound, names...) }
	)
	// step is a workflow step on a fresh CBP version at from: allowed to
	// who, refused and recorded for every other CBP reader, unseen by
	// ICE's.
	step := func(name, action string, from policy.Status, who []string, body string) matrixCase {
		return matrixCase{name: name, method: "POST", path: "/api/v1/policy/versions/1/" + action,
			prep: func(t *testing.T, _ *principal) (string, string) { return fx.fresh(t, from, action), body },
			ok:   allow, allow: who, want: notFound(iceReaders), records: without(cbpReaders, who), grows: 1}
	}
	return []matrixCase{
		{name: "policy schema", method: "GET", path: "/api/v1/policy/schema", ok: allow, allow: readers},
		{name: "policy sets", method: "GET", path: "/api/v1/policy/sets", ok: allow, allow: readers},
		{name: "policy versions", method: "GET", path: "/api/v1/policy/versions", ok: allow, allow: readers},
		{name: "a department policy version", method: "GET", path: fmt.Sprintf("/api/v1/policy/versions/%d", fx.dept.ID), ok: allow, allow: readers},
		{name: "a CBP policy version", method: "GET", path: fmt.Sprintf("/api/v1/policy/versions/%d", fx.cbp.ID), ok: allow, allow: cbpReaders, want: notFound(iceReaders)},
		{name: "a department impact analysis", method: "GET", path: fmt.Sprintf("/api/v1/policy/versions/%d/impact", fx.dept.ID), ok: allow, allow: readers},
		// Each officer proposes for their own scope: CBP's and ICE's for
		// their component, the department's for the floor.
		{name: "propose a policy set", method: "POST", path: "/api/v1/policy/versions",
			prep: func(_ *testing.T, p *principal) (string, string) {
				scope, text := p.grant.Component, policy.DefaultComponentText
				if scope == "" {
					scope, text = policy.Department, policy.DefaultDepartmentText
				}
				b, _ := json.Marshal(map[string]string{"scope": scope, "text": text, "summary": "matrix"})
				return "/api/v1/policy/versions", string(b)
			},
			ok: http.StatusCreated, allow: proposers, grows: 1},
		step("run an impact analysis", "impact", policy.Proposed, cbpPropose, ""),
		step("approve a policy version", "approve", policy.Validated, approvers, ""),
		step("activate a policy version", "activate", policy.Approved, approvers, ""),
		step("reject a policy version", "reject", policy.Proposed, withdraw, `{"reason":"matrix"}`),
		{name: "decide a CBP request (dry run)", method: "POST", path: "/api/v1/policy/decide", body: decideBody("CBP"),
			ok: allow, allow: m.within("CBP", auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer)},
	}
}
