package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// A privacyFixture is the privacy program's part of the matrix: a CBP
// system and data source, a published PIA of it with two versions, a PTA
// and a compliance review; and a way to make a fresh PIA at any stage of
// the workflow, as the matrix's own people.
type privacyFixture struct {
	m      *matrix
	isso   auth.Principal // cbp-isso: writes PIAs
	cpo    auth.Principal // cbp-cpo: reviews them
	dpo    auth.Principal // dpo: approves and publishes them
	system privacy.System
	source privacy.Source
	pia    privacy.PIA
	pta    privacy.PTA
	pcr    privacy.PCR
}

func mustPrivacyFixture(t *testing.T, m *matrix) *privacyFixture {
	t.Helper()
	ctx := context.Background()
	ps := m.ts.Privacy
	fx := &privacyFixture{m: m, isso: m.principalOf(t, m.person["cbp-isso"]), cpo: m.principalOf(t, m.person["cbp-cpo"]), dpo: m.principalOf(t, m.person["dpo"])}
	var err error
	fx.system, err = ps.CreateSystem(ctx, fx.isso, privacy.System{Name: "Matrix system", Component: "CBP", OwnerID: m.person["cbp-supervisor"].ID,
		ISSOID: m.person["cbp-isso"].ID, Impact: privacy.High})
	if err != nil {
		t.Fatal(err)
	}
	fx.source = fx.newSource(t)
	fx.pia = fx.newPIA(t, fx.source.ID, privacy.Published)
	if fx.pia, err = ps.EditPIA(ctx, fx.isso, fx.pia.ID, 1, storetest.CompleteDocument("matrix, revised"), "revision"); err != nil {
		t.Fatal(err)
	}
	yes := true
	fx.pta, err = ps.RecordPTA(ctx, fx.isso, fmt.Sprintf("source/%d", fx.source.ID), privacy.PTAAnswers{CollectsPII: &yes, AboutPublic: &yes, LocationData: &yes,
		RetrievedByIdentifier: &yes, CommercialSource: &yes, NewOrChanged: &yes})
	if err != nil {
		t.Fatal(err)
	}
	fx.pcr = fx.newPCR(t, fx.cpo, m.person["cbp-cpo"].ID)
	return fx
}

// newSource adds a fresh CBP vendor source.
func (fx *privacyFixture) newSource(t *testing.T) privacy.Source {
	t.Helper()
	src, err := fx.m.ts.Privacy.CreateSource(context.Background(), fx.isso, privacy.Source{Name: fmt.Sprintf("mx-%d", fx.m.ts.next()), Title: "Matrix source",
		SystemID: fx.system.ID, Vendor: "Matrix Telemetry", ContractNumber: "MX-1", Categories: []string{"device_location"}, Connector: privacy.VendorAPI})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// newPIA makes a PIA of source, written by cbp-isso and taken through the
// workflow to status.
func (fx *privacyFixture) newPIA(t *testing.T, sourceID int64, status privacy.Status) privacy.PIA {
	t.Helper()
	ctx := context.Background()
	ps := fx.m.ts.Privacy
	p, err := ps.CreatePIA(ctx, fx.isso, sourceID, "Matrix PIA", storetest.CompleteDocument("matrix"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		who    auth.Principal
		action privacy.Action
		to     privacy.Status
	}{{fx.isso, privacy.Submit, privacy.Submitted}, {fx.cpo, privacy.Accept, privacy.Accepted}, {fx.dpo, privacy.Approve, privacy.Approved}, {fx.dpo, privacy.Publish, privacy.Published}} {
		if p.Status == status {
			break
		}
		if p, err = ps.Step(ctx, st.who, p.ID, st.action, store.StepInput{}); err != nil || p.Status != st.to {
			t.Fatalf("%s: %+v, %v", st.action, p, err)
		}
	}
	return p
}

// freshPIA makes a PIA of a new source at status, and returns its path
// with suffix.
func (fx *privacyFixture) freshPIA(t *testing.T, status privacy.Status, suffix string) string {
	return fmt.Sprintf("/api/v1/pias/%d%s", fx.newPIA(t, fx.newSource(t).ID, status).ID, suffix)
}

func (fx *privacyFixture) newPCR(t *testing.T, by auth.Principal, assignee int64) privacy.PCR {
	t.Helper()
	p, err := fx.m.ts.Privacy.AssignPCR(context.Background(), by, privacy.PCR{Subject: fmt.Sprintf("source/%d", fx.source.ID), Title: "Matrix review",
		AssigneeID: assignee, DueAt: time.Now().AddDate(0, 1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// privacyCases are the privacy program's routes in the matrix. CBP's
// inventory is visible to the CBP roles that read it and to the
// department's; ICE's readers get 404, as if it did not exist. A workflow
// step is routed to every reader: whoever may not take it gets 403 and
// the refusal is recorded.
func (m *matrix) privacyCases() []matrixCase {
	fx := m.privacy
	readRoles := []auth.Role{auth.Analyst, auth.Supervisor, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.SecurityOfficer, auth.Auditor}
	manageRoles := []auth.Role{auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.SecurityOfficer}
	writeRoles := []auth.Role{auth.ComponentPrivacyOfficer, auth.SecurityOfficer}
	pcrRoles := []auth.Role{auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer}
	var (
		readers    = m.anywhere(readRoles...)
		cbpReaders = m.within("CBP", readRoles...)
		iceReaders = m.only("ICE", readRoles...)
		cbpManage  = m.within("CBP", manageRoles...)
		iceManage  = m.only("ICE", manageRoles...)
		cbpWrite   = m.within("CBP", writeRoles...)
		iceWrite   = m.only("ICE", writeRoles...)
		approvers  = m.within("CBP", auth.DepartmentPrivacyOfficer)
		reviewers  = m.only("CBP", auth.ComponentPrivacyOfficer)
		notFound   = func(names ...[]string) map[string]int { return each(http.StatusNotFound, names...) }
	)
	src := fmt.Sprintf("/api/v1/sources/%d", fx.source.ID)
	pia := fmt.Sprintf("/api/v1/pias/%d", fx.pia.ID)
	next := func() int64 { return m.ts.next() }
	systemBody := func() string {
		return fmt.Sprintf(`{"name":"System %d","component":"CBP","owner_id":%d,"isso_id":%d,"impact":"moderate","ato_granted":"2025-01-01","ato_expires":"2028-01-01"}`,
			next(), m.person["cbp-supervisor"].ID, m.person["cbp-isso"].ID)
	}
	// step is a workflow step on a fresh PIA at from: allowed to who,
	// refused and recorded for every other CBP reader.
	step := func(name, action string, from privacy.Status, who []string, body string) matrixCase {
		return matrixCase{name: name, method: "POST", path: "/api/v1/pias/1/" + action,
			prep: func(t *testing.T, _ *principal) (string, string) { return fx.freshPIA(t, from, "/"+action), body },
			ok:   allow, allow: who, want: notFound(iceReaders), records: without(cbpReaders, who), grows: 1}
	}
	doc := string(storetest.CompleteDocument("matrix edit").Encode())
	return []matrixCase{
		// The inventory.
		{name: "list systems", method: "GET", path: "/api/v1/systems", ok: allow, allow: readers},
		{name: "create a system", method: "POST", path: "/api/v1/systems",
			prep: func(*testing.T, *principal) (string, string) { return "/api/v1/systems", systemBody() },
			ok:   http.StatusCreated, allow: cbpManage, grows: 1},
		{name: "get a system", method: "GET", path: fmt.Sprintf("/api/v1/systems/%d", fx.system.ID), ok: allow, allow: cbpReaders, want: notFound(iceReaders)},
		{name: "update a system", method: "PATCH", path: fmt.Sprintf("/api/v1/systems/%d", fx.system.ID),
			prep: func(*testing.T, *principal) (string, string) {
				return fmt.Sprintf("/api/v1/systems/%d", fx.system.ID), fmt.Sprintf(`{"name":"Matrix system %d"}`, next())
			},
			ok: allow, allow: cbpManage, want: notFound(iceManage), grows: 1},
		{name: "list sources", method: "GET", path: "/api/v1/sources", ok: allow, allow: readers},
		{name: "create a source", method: "POST", path: "/api/v1/sources",
			prep: func(*testing.T, *principal) (string, string) {
				return "/api/v1/sources", fmt.Sprintf(`{"name":"mx-new-%d","title":"New","system_id":%d,"vendor":"V","contract_number":"C","categories":["device_location"],"connector":"vendor_api"}`, next(), fx.system.ID)
			},
			ok: http.StatusCreated, allow: cbpManage, want: notFound(iceManage), grows: 1},
		{name: "get a source", method: "GET", path: src, ok: allow, allow: cbpReaders, want: notFound(iceReaders)},
		// A new title: the PIA stays current, one entry.
		{name: "update a source", method: "PATCH", path: src,
			prep: func(*testing.T, *principal) (string, string) {
				return src, fmt.Sprintf(`{"title":"Matrix source %d"}`, next())
			},
			ok: allow, allow: cbpManage, want: notFound(iceManage), grows: 1},
		{name: "suspend a source", method: "POST", path: src + "/suspend",
			prep: func(t *testing.T, _ *principal) (string, string) {
				return fmt.Sprintf("/api/v1/sources/%d/suspend", fx.newSource(t).ID), reasonBody
			},
			ok: allow, allow: cbpManage, want: notFound(iceManage), grows: 1},
		{name: "reinstate a source", method: "POST", path: src + "/reinstate",
			prep: func(t *testing.T, _ *principal) (string, string) {
				s := fx.newSource(t)
				if _, err := m.ts.Privacy.SuspendSource(context.Background(), fx.cpo, s.ID, "matrix"); err != nil {
					t.Fatal(err)
				}
				return fmt.Sprintf("/api/v1/sources/%d/reinstate", s.ID), reasonBody
			},
			ok: allow, allow: cbpManage, want: notFound(iceManage), grows: 1},
		{name: "configure a credential", method: "PUT", path: src + "/credential",
			prep: func(t *testing.T, _ *principal) (string, string) {
				return fmt.Sprintf("/api/v1/sources/%d/credential", fx.newSource(t).ID), `{"reference":"sealed:matrix"}`
			},
			ok: allow, allow: cbpManage, want: notFound(iceManage), grows: 1},
		{name: "remove a credential", method: "DELETE", path: src + "/credential",
			prep: func(t *testing.T, _ *principal) (string, string) {
				s := fx.newSource(t)
				if _, err := m.ts.Privacy.SetCredential(context.Background(), fx.isso, s.ID, "sealed:matrix"); err != nil {
					t.Fatal(err)
				}
				return fmt.Sprintf("/api/v1/sources/%d/credential", s.ID), ""
			},
			ok: allow, allow: cbpManage, want: notFound(iceManage), grows: 1},
		{name: "a source's gate", method: "GET", path: src + "/gate", ok: allow, allow: cbpReaders, want: notFound(iceReaders)},

		// Privacy threshold analyses.
		{name: "list PTAs", method: "GET", path: "/api/v1/ptas", ok: allow, allow: readers},
		{name: "record a PTA", method: "POST", path: "/api/v1/ptas",
			body: fmt.Sprintf(`{"subject":"source/%d","answers":{"collects_pii":true,"about_public":true,"location_data":true,"retrieved_by_identifier":true,"commercial_source":true,"new_or_changed":false}}`, fx.source.ID),
			ok:   http.StatusCreated, allow: cbpWrite, want: notFound(iceWrite), grows: 1},
		{name: "get a PTA", method: "GET", path: fmt.Sprintf("/api/v1/ptas/%d", fx.pta.ID), ok: allow, allow: cbpReaders, want: notFound(iceReaders)},

		// PIAs.
		{name: "list PIAs", method: "GET", path: "/api/v1/pias", ok: allow, allow: readers},
		{name: "start a PIA", method: "POST", path: "/api/v1/pias",
			prep: func(t *testing.T, _ *principal) (string, string) {
				return "/api/v1/pias", fmt.Sprintf(`{"source_id":%d,"title":"Matrix PIA","document":{"overview":"Started."}}`, fx.newSource(t).ID)
			},
			ok: http.StatusCreated, allow: cbpWrite, want: notFound(iceWrite), grows: 1},
		{name: "get a PIA", method: "GET", path: pia, ok: allow, allow: cbpReaders, want: notFound(iceReaders)},
		{name: "edit a PIA", method: "PUT", path: pia,
			prep: func(t *testing.T, _ *principal) (string, string) {
				return fx.freshPIA(t, privacy.Draft, ""), `{"base_version":1,"document":` + doc + `,"note":"matrix"}`
			},
			ok: allow, allow: cbpWrite, want: notFound(iceWrite), grows: 1},
		step("submit a PIA", "submit", privacy.Draft, cbpWrite, ""),
		step("review a PIA", "review", privacy.Submitted, reviewers, `{"comments":"Complete."}`),
		step("return a submitted PIA", "return", privacy.Submitted, reviewers, `{"comments":"Cite the records schedule."}`),
		step("approve a PIA", "approve", privacy.Accepted, approvers, ""),
		step("publish a PIA", "publish", privacy.Approved, approvers, ""),
		step("record a prior approval", "prior-approval", privacy.Draft, approvers, `{"approved_on":"2024-05-01","approver":"Chief Privacy Officer","reference":"DHS/MX/PIA-001"}`),
		{name: "a PIA's versions", method: "GET", path: pia + "/versions", ok: allow, allow: cbpReaders, want: notFound(iceReaders)},
		{name: "a PIA's version", method: "GET", path: pia + "/versions/2", ok: allow, allow: cbpReaders, want: notFound(iceReaders)},
		{name: "a PIA's diff", method: "GET", path: pia + "/diff?from=1&to=2", ok: allow, allow: cbpReaders, want: notFound(iceReaders)},

		// Privacy compliance reviews.
		{name: "list reviews", method: "GET", path: "/api/v1/pcrs?overdue=false", ok: allow, allow: readers},
		{name: "assign a review", method: "POST", path: "/api/v1/pcrs",
			prep: func(*testing.T, *principal) (string, string) {
				return "/api/v1/pcrs", fmt.Sprintf(`{"subject":"source/%d","title":"Review %d","assignee_id":%d,"due_on":%q}`,
					fx.source.ID, next(), m.person["cbp-cpo"].ID, time.Now().AddDate(0, 2, 0).Format(time.DateOnly))
			},
			ok: http.StatusCreated, allow: m.within("CBP", pcrRoles...), want: notFound(m.only("ICE", pcrRoles...)), grows: 1},
		// Only the assignee completes a review: each privacy officer
		// completes one assigned to them.
		{name: "complete a review", method: "POST", path: fmt.Sprintf("/api/v1/pcrs/%d/complete", fx.pcr.ID),
			prep: func(t *testing.T, p *principal) (string, string) {
				assignee := m.person["cbp-cpo"].ID
				if p.person != nil && (p.grant.Role == auth.DepartmentPrivacyOfficer || p.name == "cbp-cpo") {
					assignee = p.person.ID
				}
				return fmt.Sprintf("/api/v1/pcrs/%d/complete", fx.newPCR(t, fx.dpo, assignee).ID), `{"result":"compliant","findings":"Sampled ten queries; each matched the PIA."}`
			},
			ok: allow, allow: m.within("CBP", pcrRoles...), want: notFound(m.only("ICE", pcrRoles...)), grows: 1},
	}
}

// reason is the body of a suspension or reinstatement.
const reasonBody = `{"reason":"authorization matrix"}`
