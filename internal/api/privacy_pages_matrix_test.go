package api_test

import (
	"fmt"
	"maps"
	"net/http"

	"github.com/probity-dev/probity/internal/auth"
)

// privacyPageCases are the privacy officer's pages in the matrix. The
// inventory's pages (data sources and their gate, PTAs, PIAs) are for
// those who keep or oversee it, not for analysts, who read the inventory
// through the API; CBP's source and PIA do not exist for ICE's readers.
// The rules of behavior are for those who read compliance records; the
// policies for those who read policies, a component's set only in its
// component, and its editor for those who may propose it. A form without
// its token is refused whoever sends it; those not signed in are sent to
// sign in.
func (m *matrix) privacyPageCases() []matrixCase {
	fx, px := m.privacy, m.policy
	invRoles := []auth.Role{auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.SecurityOfficer, auth.Auditor}
	policyRoles := []auth.Role{auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.Auditor}
	var (
		inventory     = m.anywhere(invRoles...)
		cbpInventory  = m.within("CBP", invRoles...)
		iceInventory  = m.only("ICE", invRoles...)
		rulesReaders  = m.anywhere(auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.Auditor)
		policyReaders = m.anywhere(policyRoles...)
		cbpPolicy     = m.within("CBP", policyRoles...)
		icePolicy     = m.only("ICE", policyRoles...)
		cbpPropose    = m.within("CBP", auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer)
		outsiders     = each(seeLogin, m.outsiders())
		notFound      = func(names []string) map[string]int {
			out := each(http.StatusNotFound, names)
			maps.Copy(out, outsiders)
			return out
		}
	)
	source := fmt.Sprintf("/sources/%d", fx.source.ID)
	pia := fmt.Sprintf("/pias/%d", fx.pia.ID)
	forged := func(name, path string) matrixCase {
		return matrixCase{name: name, method: "POST", path: path, form: true, body: "csrf=forged", ok: forbid, allow: m.signedIn(), want: outsiders}
	}
	return []matrixCase{
		{name: "data sources page", method: "GET", path: "/sources", ok: allow, allow: inventory, want: outsiders},
		{name: "a data source's page", method: "GET", path: source, ok: allow, allow: cbpInventory, want: notFound(iceInventory)},
		{name: "PTAs and PIAs page", method: "GET", path: "/pias?status=published", ok: allow, allow: inventory, want: outsiders},
		{name: "a PIA's page", method: "GET", path: pia + "?version=1", ok: allow, allow: cbpInventory, want: notFound(iceInventory)},
		{name: "a PIA's diff page", method: "GET", path: pia + "/diff?from=1&to=2&view=unified", ok: allow, allow: cbpInventory, want: notFound(iceInventory)},
		forged("submit a PIA without the form's token", pia+"/submit"),
		forged("forward a PIA without the form's token", pia+"/review"),
		forged("return a PIA without the form's token", pia+"/return"),
		forged("approve a PIA without the form's token", pia+"/approve"),
		forged("publish a PIA without the form's token", pia+"/publish"),

		{name: "rules of behavior page", method: "GET", path: "/rules", ok: allow, allow: rulesReaders, want: outsiders},
		forged("publish rules without the form's token", "/rules"),

		{name: "policies page", method: "GET", path: "/policies", ok: allow, allow: policyReaders, want: outsiders},
		{name: "a new CBP policy version's editor", method: "GET", path: "/policies/new?scope=CBP", ok: allow, allow: cbpPropose, want: outsiders},
		forged("propose a policy version without the form's token", "/policies"),
		{name: "a department policy version's page", method: "GET", path: fmt.Sprintf("/policies/%d", px.dept.ID), ok: allow, allow: policyReaders, want: outsiders},
		{name: "a CBP policy version's page", method: "GET", path: fmt.Sprintf("/policies/%d", px.cbp.ID), ok: allow, allow: cbpPolicy, want: notFound(icePolicy)},
		{name: "a department impact analysis page", method: "GET", path: fmt.Sprintf("/policies/%d/impact", px.dept.ID), ok: allow, allow: policyReaders, want: outsiders},
		forged("run an impact analysis without the form's token", fmt.Sprintf("/policies/%d/impact", px.cbp.ID)),
		forged("approve a policy version without the form's token", fmt.Sprintf("/policies/%d/approve", px.dept.ID)),
		forged("activate a policy version without the form's token", fmt.Sprintf("/policies/%d/activate", px.dept.ID)),
		forged("reject a policy version without the form's token", fmt.Sprintf("/policies/%d/reject", px.cbp.ID)),
	}
}
