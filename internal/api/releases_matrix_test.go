package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/release"
	"github.com/probity-dev/probity/internal/scan"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// A releaseFixture is the release gate's part of the matrix: a CBP app on
// the matrix's system and PIA, a release cbp-isso submitted with a static
// scan reporting one high finding, and cbp-isso's pending request for an
// exception on it. Every change the matrix tries is invalid, a conflict
// or a refusal, so it changes nothing but the refused approvals it
// records.
type releaseFixture struct {
	app       release.App
	rel       release.Release
	finding   int64
	exception int64
}

func mustReleaseFixture(t *testing.T, m *matrix) *releaseFixture {
	t.Helper()
	ctx := context.Background()
	rs := m.ts.DB.Releases()
	isso := m.principalOf(t, m.person["cbp-isso"])
	fx := &releaseFixture{}
	var err error
	fx.app, err = rs.CreateApp(ctx, isso, release.App{Name: "Matrix app", Platform: release.IOS, BundleID: "gov.dhs.cbp.matrix", Developer: "Example Apps LLC",
		SystemID: m.privacy.system.ID, PIAID: m.privacy.pia.ID}, nil)
	if err != nil {
		t.Fatalf("the matrix's app: %v", err)
	}
	fx.rel, err = rs.SubmitRelease(ctx, isso, release.Release{AppID: fx.app.ID, Version: "1.0.0", Build: "100", SHA256: storetest.Digest("matrix artifact"),
		DigestSource: release.Declared})
	if err != nil {
		t.Fatalf("the matrix's release: %v", err)
	}
	rep := storetest.Report(release.Static, fx.rel, storetest.Fnd("matrix", scan.High))
	if _, err := rs.ImportScan(ctx, isso, fx.rel.ID, release.Static, rep, storetest.RawDigest(t, rep)); err != nil {
		t.Fatalf("the matrix's scan: %v", err)
	}
	page, err := rs.Findings(ctx, isso, store.FindingFilter{AppID: fx.app.ID})
	if err != nil || len(page.Findings) != 1 {
		t.Fatalf("the matrix's finding: %d, %v", len(page.Findings), err)
	}
	fx.finding = page.Findings[0].ID
	e, err := rs.RequestException(ctx, isso, fx.finding, release.Exception{Justification: "The matrix's exception, waiting for a decision.",
		CompensatingControls: "The feature is switched off on every device.", ExpiresAt: time.Now().Add(30 * 24 * time.Hour)})
	if err != nil {
		t.Fatalf("the matrix's exception: %v", err)
	}
	fx.exception = e.ID
	return fx
}

// releaseCases are the release gate's routes in the matrix. Reading is
// for privacy officers, security officers and auditors; those of ICE see
// no CBP app. Each change goes to the security officers (and triage also
// to the component privacy officers): for cbp's it is invalid, a conflict
// or a refusal, for ice's there is no such app, release or finding.
func (m *matrix) releaseCases() []matrixCase {
	fx := m.release
	readers := m.anywhere(auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.SecurityOfficer, auth.Auditor)
	cbpReaders := m.within("CBP", auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.SecurityOfficer, auth.Auditor)
	iceReaders := without(readers, cbpReaders)
	hidden := each(http.StatusNotFound, iceReaders)
	officers := m.anywhere(auth.SecurityOfficer)
	hiddenFrom := func(who []string) map[string]int {
		return each(http.StatusNotFound, without(who, m.within("CBP", auth.SecurityOfficer, auth.ComponentPrivacyOfficer)))
	}
	app := fmt.Sprintf("/api/v1/apps/%d", fx.app.ID)
	rel := fmt.Sprintf("/api/v1/releases/%d", fx.rel.ID)
	fnd := fmt.Sprintf("/api/v1/findings/%d", fx.finding)
	triagers := m.anywhere(auth.ComponentPrivacyOfficer, auth.SecurityOfficer)
	return []matrixCase{
		{name: "list apps", method: "GET", path: "/api/v1/apps", ok: allow, allow: readers},
		{name: "create an invalid app", method: "POST", path: "/api/v1/apps", body: `{"name":""}`, ok: http.StatusBadRequest, allow: officers},
		{name: "get an app", method: "GET", path: app, ok: allow, allow: cbpReaders, want: hidden},
		{name: "update an app invalidly", method: "PATCH", path: app, body: `{"developer":""}`, ok: http.StatusBadRequest, allow: []string{"cbp-isso"}, want: hiddenFrom(officers)},
		{name: "get an app's policy", method: "GET", path: app + "/policy", ok: allow, allow: cbpReaders, want: hidden},
		{name: "write a policy from a stale base", method: "PUT", path: app + "/policy", body: `{"base":99,"scans":[{"type":"static","run_by":["security_officer"],"review_by":["security_officer"]}],"block_at":"high"}`,
			ok: http.StatusConflict, allow: []string{"cbp-isso"}, want: hiddenFrom(officers)},
		{name: "an app's store watch", method: "GET", path: app + "/listing", ok: allow, allow: cbpReaders, want: hidden},
		{name: "watch an invalid listing", method: "PUT", path: app + "/listing", body: `{"kind":"json"}`, ok: http.StatusBadRequest, allow: []string{"cbp-isso"}, want: hiddenFrom(officers)},
		{name: "stop watching an unwatched listing", method: "DELETE", path: app + "/listing", ok: http.StatusConflict, allow: []string{"cbp-isso"}, want: hiddenFrom(officers)},
		{name: "list an app's releases", method: "GET", path: app + "/releases", ok: allow, allow: cbpReaders, want: hidden},
		{name: "submit a release twice", method: "POST", path: app + "/releases", body: fmt.Sprintf(`{"version":"1.0.0","build":"100","sha256":%q}`, fx.rel.SHA256),
			ok: http.StatusConflict, allow: []string{"cbp-isso"}, want: hiddenFrom(officers)},
		{name: "an app's findings", method: "GET", path: app + "/findings", ok: allow, allow: cbpReaders, want: hidden},
		{name: "check an artifact", method: "GET", path: app + "/check?sha256=" + url.QueryEscape(fx.rel.SHA256), ok: allow, allow: cbpReaders, want: hidden},
		{name: "get a release", method: "GET", path: rel, ok: allow, allow: cbpReaders, want: hidden},
		{name: "import a broken report", method: "POST", path: rel + "/scans?type=static", body: `{"runs":[`, ok: http.StatusBadRequest, allow: []string{"cbp-isso"}, want: hiddenFrom(officers)},
		{name: "deliver a broken document", method: "POST", path: rel + "/documents?kind=traceability_answers", body: `{}`, ok: http.StatusBadRequest, allow: []string{"cbp-isso"}, want: hiddenFrom(officers)},
		{name: "evaluate the gate", method: "GET", path: rel + "/gate", ok: allow, allow: cbpReaders, want: hidden},
		{name: "approve one's own release", method: "POST", path: rel + "/approve", body: `{}`, ok: http.StatusConflict, allow: []string{"cbp-isso"}, want: hiddenFrom(officers),
			records: []string{"cbp-isso"}},
		{name: "get a finding", method: "GET", path: fnd, ok: allow, allow: cbpReaders, want: hidden},
		{name: "triage to no state", method: "POST", path: fnd + "/triage", body: `{"state":"bogus"}`, ok: http.StatusBadRequest, allow: []string{"cbp-isso", "cbp-cpo"}, want: hiddenFrom(triagers)},
		{name: "request an invalid exception", method: "POST", path: fnd + "/exceptions", body: `{"justification":"short"}`, ok: http.StatusBadRequest,
			allow: []string{"cbp-isso", "cbp-cpo"}, want: hiddenFrom(triagers)},
		{name: "list exceptions", method: "GET", path: "/api/v1/exceptions", ok: allow, allow: readers},
		{name: "decide one's own exception", method: "POST", path: fmt.Sprintf("/api/v1/exceptions/%d/decide", fx.exception), body: `{"decision":"approve"}`,
			ok: http.StatusForbidden, allow: []string{"cbp-isso"}, want: hiddenFrom(officers)},
	}
}
