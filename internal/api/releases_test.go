package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/app"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// A releaseOrg is a server with CBP and ICE, two CBP security officers
// (one submits, the other approves), a CBP privacy officer, the
// department privacy officer, an ICE security officer, and a CBP system
// with a data source and its published PIA for an app to link to.
type releaseOrg struct {
	ts                         *testServer
	isso, isso2, cpo, dpo, ice *person
	systemID, piaID            int64
}

func mustReleaseOrg(t *testing.T, ts *testServer) *releaseOrg {
	t.Helper()
	for _, c := range []string{"CBP", "ICE"} {
		ts.mustJSON(t, request{method: "POST", path: "/api/v1/components", auth: bearer(adminToken), body: fmt.Sprintf(`{"code":%q,"name":"%s"}`, c, c)}, http.StatusCreated, &struct{}{})
	}
	o := &releaseOrg{ts: ts}
	o.isso = ts.mustPerson(t, invitation{label: "cbp-isso", component: "CBP"}, auth.Grant{Role: auth.SecurityOfficer, Component: "CBP"})
	o.isso2 = ts.mustPerson(t, invitation{label: "cbp-isso2", component: "CBP"}, auth.Grant{Role: auth.SecurityOfficer, Component: "CBP"})
	o.cpo = ts.mustPerson(t, invitation{label: "cbp-cpo", component: "CBP"}, auth.Grant{Role: auth.ComponentPrivacyOfficer, Component: "CBP"})
	o.dpo = ts.mustPerson(t, invitation{label: "dpo"}, auth.Grant{Role: auth.DepartmentPrivacyOfficer})
	o.ice = ts.mustPerson(t, invitation{label: "ice-isso", component: "ICE"}, auth.Grant{Role: auth.SecurityOfficer, Component: "ICE"})
	ctx := context.Background()
	isso := ts.principalOf(t, o.isso)
	sys, err := ts.Privacy.CreateSystem(ctx, isso, privacy.System{Name: "Mobile Passport Control", Component: "CBP", OwnerID: o.cpo.ID, ISSOID: o.isso.ID, Impact: privacy.Moderate})
	if err != nil {
		t.Fatal(err)
	}
	src, err := ts.Privacy.CreateSource(ctx, isso, privacy.Source{Name: "mpc-app", Title: "MPC app", SystemID: sys.ID, Vendor: "Example Apps LLC",
		ContractNumber: "MPC-1", Categories: []string{"device_location"}, Connector: privacy.VendorAPI})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ts.Privacy.CreatePIA(ctx, isso, src.ID, "PIA of the MPC app", storetest.CompleteDocument("mpc"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		who *person
		a   privacy.Action
	}{{o.isso, privacy.Submit}, {o.cpo, privacy.Accept}, {o.dpo, privacy.Approve}, {o.dpo, privacy.Publish}} {
		if p, err = ts.Privacy.Step(ctx, ts.principalOf(t, st.who), p.ID, st.a, store.StepInput{}); err != nil {
			t.Fatalf("%s the PIA: %v", st.a, err)
		}
	}
	o.systemID, o.piaID = sys.ID, p.ID
	return o
}

// do sends a JSON request as p and checks the status; v, when set,
// receives the answer.
func (o *releaseOrg) do(t *testing.T, p *person, method, path, body string, status int, v any) response {
	t.Helper()
	rq := request{method: method, path: path, cookie: p.session(), body: body}
	r := o.ts.send(t, rq)
	if r.status != status {
		t.Fatalf("%s %s as %s: status %d, want %d: %s", method, path, p.label, r.status, status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, r.body)
		}
	}
	return r
}

// upload sends a raw body as p.
func (o *releaseOrg) upload(t *testing.T, p *person, path, body string, status int, v any) response {
	t.Helper()
	r := o.ts.send(t, request{method: "POST", path: path, cookie: p.session(), body: body, contentType: "application/octet-stream"})
	if r.status != status {
		t.Fatalf("POST %s as %s: status %d, want %d: %s", path, p.label, r.status, status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("POST %s: %v: %s", path, err, r.body)
		}
	}
	return r
}

// testSARIF is a SARIF 2.1.0 report with a high and a medium result.
const testSARIF = `{"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "runs": [{
  "tool": {"driver": {"name": "semgrep", "version": "1.50.0", "rules": [
    {"id": "swift.sql-injection", "properties": {"security-severity": "8.1", "tags": ["security", "CWE-89"]}},
    {"id": "swift.weak-hash", "properties": {"security-severity": "5.3", "tags": ["security", "CWE-328"]}}]}},
  "results": [
    {"ruleId": "swift.sql-injection", "level": "error", "message": {"text": "A query built from user input."},
     "locations": [{"physicalLocation": {"artifactLocation": {"uri": "Sources/Store.swift"}, "region": {"startLine": 42}}}]},
    {"ruleId": "swift.weak-hash", "level": "warning", "message": {"text": "MD5 used for a cache key."},
     "locations": [{"physicalLocation": {"artifactLocation": {"uri": "Sources/Cache.swift"}, "region": {"startLine": 7}}}]}]}]}`

type relApp struct {
	App struct {
		ID            int64  `json:"id"`
		Component     string `json:"component"`
		PolicyVersion int    `json:"policy_version"`
	} `json:"app"`
}

type relFindings struct {
	Findings []struct {
		ID       int64  `json:"id"`
		Severity string `json:"severity"`
		State    string `json:"state"`
		RuleID   string `json:"rule_id"`
	} `json:"findings"`
	Next   string `json:"next"`
	Counts struct {
		Total      int            `json:"total"`
		Unreviewed int            `json:"unreviewed"`
		ByState    map[string]int `json:"by_state"`
	} `json:"counts"`
}

type relCheck struct {
	Approved bool `json:"approved"`
	Decision struct {
		Approved bool `json:"approved"`
		Reasons  []struct {
			Rule    string `json:"rule"`
			Message string `json:"message"`
		} `json:"reasons"`
	} `json:"decision"`
}

func (c relCheck) rules() []string {
	out := []string{}
	for _, r := range c.Decision.Reasons {
		out = append(out, r.Rule)
	}
	return out
}

func TestAPI_Releases(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testReleasesAPI(t, d) })
	}
}

func testReleasesAPI(t *testing.T, d store.Dialect) {
	// A small upload limit, to see it refuse a report.
	ts := mustStartServerWith(t, d, func(c *app.Config) { c.ScanMaxBytes = "4096" })
	o := mustReleaseOrg(t, ts)
	ctx := context.Background()

	var app relApp
	o.do(t, o.isso, "POST", "/api/v1/apps", fmt.Sprintf(`{"name":"Mobile Passport Control","platform":"ios","bundle_id":"gov.dhs.cbp.mpc","developer":"Example Apps LLC","system_id":%d,"pia_id":%d}`,
		o.systemID, o.piaID), http.StatusCreated, &app)
	ap := fmt.Sprintf("/api/v1/apps/%d", app.App.ID)

	t.Run("OKApps", func(t *testing.T) {
		if app.App.Component != "CBP" || app.App.PolicyVersion != 1 {
			t.Fatalf("app = %+v", app.App)
		}
		var list struct {
			Apps []struct {
				ID int64 `json:"id"`
			} `json:"apps"`
		}
		o.do(t, o.cpo, "GET", "/api/v1/apps", "", http.StatusOK, &list)
		if len(list.Apps) != 1 || list.Apps[0].ID != app.App.ID {
			t.Errorf("cbp-cpo lists %+v", list.Apps)
		}
		o.do(t, o.ice, "GET", "/api/v1/apps", "", http.StatusOK, &list)
		if len(list.Apps) != 0 {
			t.Errorf("ice-isso lists %+v", list.Apps)
		}
		o.do(t, o.ice, "GET", ap, "", http.StatusNotFound, nil)
		var upd relApp
		o.do(t, o.isso, "PATCH", ap, `{"developer":"Example Apps II LLC"}`, http.StatusOK, &upd)
	})

	t.Run("OKListing", func(t *testing.T) {
		var wj struct {
			Watched bool `json:"watched"`
			Listing struct {
				Kind        string `json:"kind"`
				VersionPath string `json:"version_path"`
			} `json:"listing"`
		}
		o.do(t, o.cpo, "GET", ap+"/listing", "", http.StatusOK, &wj)
		if wj.Watched {
			t.Fatalf("watched before any listing: %+v", wj)
		}
		o.do(t, o.isso, "DELETE", ap+"/listing", "", http.StatusConflict, nil)
		o.do(t, o.isso, "PUT", ap+"/listing", `{"kind":"json","url":"http://example.com/v.json","version_path":"version"}`, http.StatusBadRequest, nil)
		o.do(t, o.cpo, "PUT", ap+"/listing", `{"kind":"app_store","bundle_id":"gov.dhs.cbp.mpc"}`, http.StatusForbidden, nil)
		o.do(t, o.isso, "PUT", ap+"/listing", `{"kind":"json","url":"https://apps.example.gov/mpc.json","version_path":"releases[*].version"}`, http.StatusOK, &wj)
		if !wj.Watched || wj.Listing.Kind != "json" || wj.Listing.VersionPath != "releases[*].version" {
			t.Fatalf("watch = %+v", wj)
		}
		o.do(t, o.isso, "DELETE", ap+"/listing", "", http.StatusOK, &wj)
		if wj.Watched {
			t.Fatalf("still watched: %+v", wj)
		}
	})

	t.Run("ErrAppInvalid", func(t *testing.T) {
		var e struct {
			Error struct {
				Fields []struct {
					Field string `json:"field"`
				} `json:"fields"`
			} `json:"error"`
		}
		o.do(t, o.isso, "POST", "/api/v1/apps", fmt.Sprintf(`{"name":"X","platform":"ios","bundle_id":"not a bundle","developer":"D","system_id":%d,"pia_id":%d}`, o.systemID, o.piaID),
			http.StatusBadRequest, &e)
		if len(e.Error.Fields) != 1 || e.Error.Fields[0].Field != "bundle_id" {
			t.Errorf("fields = %+v", e.Error.Fields)
		}
	})

	// The policy: a static scan only, blocking at high, no documents.
	t.Run("OKPolicy", func(t *testing.T) {
		var p struct {
			Policy struct {
				Version int    `json:"version"`
				BlockAt string `json:"block_at"`
				Scans   []struct {
					Type string `json:"type"`
				} `json:"scans"`
			} `json:"policy"`
		}
		o.do(t, o.cpo, "GET", ap+"/policy", "", http.StatusOK, &p)
		if p.Policy.Version != 1 || p.Policy.BlockAt != "high" || len(p.Policy.Scans) != 3 {
			t.Fatalf("policy 1 = %+v", p.Policy)
		}
		body := `{"base":1,"scans":[{"type":"static","run_by":["security_officer"],"review_by":["security_officer"]}],"block_at":"high","documents":[],"note":"static analysis only for this test"}`
		o.do(t, o.isso, "PUT", ap+"/policy", body, http.StatusOK, &p)
		if p.Policy.Version != 2 || len(p.Policy.Scans) != 1 {
			t.Fatalf("policy 2 = %+v", p.Policy)
		}
		o.do(t, o.isso, "PUT", ap+"/policy", body, http.StatusConflict, nil)
	})

	digest := storetest.Digest("mpc 3.2.1 (451)")
	var rel struct {
		Release struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		} `json:"release"`
	}
	relBody := fmt.Sprintf(`{"version":"3.2.1","build":"451","sha256":%q}`, "SHA256:"+strings.ToUpper(digest))
	o.do(t, o.isso, "POST", ap+"/releases", relBody, http.StatusCreated, &rel)
	rp := fmt.Sprintf("/api/v1/releases/%d", rel.Release.ID)

	t.Run("ErrReleaseTwice", func(t *testing.T) {
		o.do(t, o.isso, "POST", ap+"/releases", relBody, http.StatusConflict, nil)
		o.do(t, o.cpo, "POST", ap+"/releases", `{"version":"3.2.2","build":"452","sha256":"00"}`, http.StatusForbidden, nil)
	})

	countFindings := func(t *testing.T) int {
		t.Helper()
		var f relFindings
		o.do(t, o.cpo, "GET", ap+"/findings", "", http.StatusOK, &f)
		return f.Counts.Total
	}

	t.Run("ErrImport", func(t *testing.T) {
		for _, c := range []struct {
			name, query, body string
			status            int
			message           string
		}{
			{"truncated", "?type=static", testSARIF[:len(testSARIF)/2], http.StatusBadRequest, ""},
			{"no type", "", testSARIF, http.StatusBadRequest, "scan_type"},
			{"wrong type", "?type=sbom", testSARIF, http.StatusBadRequest, ""},
			{"declared otherwise", "?type=static&format=cyclonedx", testSARIF, http.StatusBadRequest, "declared"},
			{"empty", "?type=static", "", http.StatusBadRequest, "empty"},
			{"not a report", "?type=static", `{"hello":"world"}`, http.StatusBadRequest, ""},
			{"too large", "?type=static", testSARIF + strings.Repeat(" ", 4096), http.StatusRequestEntityTooLarge, "larger than the limit of 4096 bytes"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := o.upload(t, o.isso, rp+"/scans"+c.query, c.body, c.status, nil)
				if c.message != "" && !strings.Contains(string(r.body), c.message) {
					t.Errorf("error %s does not mention %q", r.body, c.message)
				}
				if n := countFindings(t); n != 0 {
					t.Errorf("%d findings after a refused import", n)
				}
			})
		}
		o.upload(t, o.cpo, rp+"/scans?type=static", testSARIF, http.StatusForbidden, nil)
		o.upload(t, o.ice, rp+"/scans?type=static", testSARIF, http.StatusNotFound, nil)
	})

	t.Run("ErrNotApprovedBeforeScan", func(t *testing.T) {
		var c relCheck
		o.do(t, o.isso, "GET", ap+"/check?sha256="+digest, "", http.StatusOK, &c)
		if c.Approved || !strings.Contains(strings.Join(c.rules(), ","), "scan_missing") {
			t.Errorf("check = %+v", c)
		}
		o.do(t, o.isso, "GET", ap+"/check?sha256="+storetest.Digest("never submitted"), "", http.StatusOK, &c)
		if c.Approved || strings.Join(c.rules(), ",") != "release_unknown" {
			t.Errorf("check of an unknown digest = %+v", c)
		}
		o.do(t, o.isso, "GET", ap+"/check?sha256=xyz", "", http.StatusBadRequest, nil)
		o.do(t, o.isso, "GET", ap+"/check", "", http.StatusBadRequest, nil)
	})

	var sc struct {
		Scan struct {
			Findings int    `json:"findings"`
			New      int    `json:"new"`
			Format   string `json:"format"`
		} `json:"scan"`
	}
	o.upload(t, o.isso, rp+"/scans?type=static", testSARIF, http.StatusCreated, &sc)

	var high, medium int64
	t.Run("OKFindings", func(t *testing.T) {
		if sc.Scan.Findings != 2 || sc.Scan.New != 2 || sc.Scan.Format != "sarif" {
			t.Fatalf("scan = %+v", sc.Scan)
		}
		var all relFindings
		o.do(t, o.cpo, "GET", ap+"/findings", "", http.StatusOK, &all)
		if all.Counts.Total != 2 || all.Counts.Unreviewed != 2 || len(all.Findings) != 2 || all.Next != "" {
			t.Fatalf("findings = %+v", all)
		}
		if all.Findings[0].Severity != "high" || all.Findings[1].Severity != "medium" {
			t.Fatalf("order = %+v", all.Findings)
		}
		high, medium = all.Findings[0].ID, all.Findings[1].ID
		var p1, p2 relFindings
		o.do(t, o.cpo, "GET", ap+"/findings?limit=1", "", http.StatusOK, &p1)
		if len(p1.Findings) != 1 || p1.Next == "" || p1.Findings[0].ID != high || p1.Counts.Unreviewed != 2 {
			t.Fatalf("page 1 = %+v", p1)
		}
		o.do(t, o.cpo, "GET", ap+"/findings?limit=1&after="+url.QueryEscape(p1.Next), "", http.StatusOK, &p2)
		if len(p2.Findings) != 1 || p2.Findings[0].ID != medium {
			t.Fatalf("page 2 = %+v", p2)
		}
		var hi relFindings
		o.do(t, o.cpo, "GET", ap+"/findings?min_severity=high&state=new", "", http.StatusOK, &hi)
		if len(hi.Findings) != 1 || hi.Findings[0].ID != high || hi.Counts.Total != 2 {
			t.Fatalf("high = %+v", hi)
		}
		o.do(t, o.cpo, "GET", ap+"/findings?state=bogus", "", http.StatusBadRequest, nil)
		o.do(t, o.cpo, "GET", ap+"/findings?min_severity=severe", "", http.StatusBadRequest, nil)
		o.do(t, o.cpo, "GET", ap+"/findings?after=garbage", "", http.StatusBadRequest, nil)
		o.do(t, o.ice, "GET", ap+"/findings", "", http.StatusNotFound, nil)
	})

	t.Run("ErrApproveUntriaged", func(t *testing.T) {
		var e struct {
			Error struct {
				Code     string   `json:"code"`
				Decision relCheck `json:"decision"`
			} `json:"error"`
		}
		var raw struct {
			Error struct {
				Code     string          `json:"code"`
				Decision json.RawMessage `json:"decision"`
			} `json:"error"`
		}
		r := o.do(t, o.isso2, "POST", rp+"/approve", `{}`, http.StatusConflict, &raw)
		_ = json.Unmarshal(r.body, &e)
		var dec struct {
			Reasons []struct {
				Rule string `json:"rule"`
			} `json:"reasons"`
		}
		if err := json.Unmarshal(raw.Error.Decision, &dec); err != nil || len(dec.Reasons) == 0 || dec.Reasons[0].Rule != "findings_untriaged" {
			t.Errorf("refusal = %s", r.body)
		}
		var got struct {
			Release struct {
				Status string `json:"status"`
			} `json:"release"`
			Decisions []struct {
				Approved bool `json:"approved"`
			} `json:"decisions"`
		}
		o.do(t, o.cpo, "GET", rp, "", http.StatusOK, &got)
		if got.Release.Status != "submitted" || len(got.Decisions) != 1 || got.Decisions[0].Approved {
			t.Errorf("release after the refusal = %+v", got)
		}
	})

	t.Run("OKTriageAndException", func(t *testing.T) {
		fp := func(id int64) string { return fmt.Sprintf("/api/v1/findings/%d", id) }
		o.do(t, o.isso, "POST", fp(medium)+"/triage", `{"state":"confirmed"}`, http.StatusOK, nil)
		o.do(t, o.isso, "POST", fp(high)+"/triage", `{"state":"false_positive"}`, http.StatusBadRequest, nil)
		o.do(t, o.ice, "POST", fp(high)+"/triage", `{"state":"confirmed"}`, http.StatusNotFound, nil)
		expires := time.Now().AddDate(0, 2, 0).Format(time.DateOnly)
		var ex struct {
			Exception struct {
				ID     int64  `json:"id"`
				Status string `json:"status"`
			} `json:"exception"`
		}
		o.do(t, o.isso, "POST", fp(high)+"/exceptions", fmt.Sprintf(`{"justification":"The query builder is only reachable from a debug menu compiled out of release builds.",
			"compensating_controls":"The API gateway rejects the statement shape; the endpoint is rate limited.","expires_at":%q}`, expires), http.StatusCreated, &ex)
		if ex.Exception.Status != "requested" {
			t.Fatalf("exception = %+v", ex)
		}
		dp := fmt.Sprintf("/api/v1/exceptions/%d/decide", ex.Exception.ID)
		o.do(t, o.isso, "POST", dp, `{"decision":"approve"}`, http.StatusForbidden, nil)
		o.do(t, o.isso2, "POST", dp, `{"decision":"maybe"}`, http.StatusBadRequest, nil)
		o.do(t, o.isso2, "POST", dp, `{"decision":"approve","note":"accepted until the next release"}`, http.StatusOK, &ex)
		if ex.Exception.Status != "approved" {
			t.Fatalf("decided exception = %+v", ex)
		}
		var f struct {
			Finding struct {
				State string `json:"state"`
			} `json:"finding"`
		}
		o.do(t, o.cpo, "GET", fp(high), "", http.StatusOK, &f)
		if f.Finding.State != "accepted_risk" {
			t.Errorf("finding state = %q", f.Finding.State)
		}
		var list struct {
			Exceptions []struct {
				ID int64 `json:"id"`
			} `json:"exceptions"`
		}
		o.do(t, o.cpo, "GET", fmt.Sprintf("/api/v1/exceptions?app=%d&status=approved", app.App.ID), "", http.StatusOK, &list)
		if len(list.Exceptions) != 1 {
			t.Errorf("exceptions = %+v", list)
		}
	})

	t.Run("OKApprove", func(t *testing.T) {
		var ev struct {
			Decision struct {
				Approved bool `json:"approved"`
			} `json:"decision"`
		}
		o.do(t, o.isso2, "GET", rp+"/gate", "", http.StatusOK, &ev)
		if !ev.Decision.Approved {
			t.Fatalf("the gate as cbp-isso2: %+v", ev)
		}
		before := ts.ledgerSize(t)
		r := o.do(t, o.isso, "POST", rp+"/approve", `{}`, http.StatusConflict, nil)
		if !strings.Contains(string(r.body), "approver_is_submitter") {
			t.Errorf("self-approval refusal = %s", r.body)
		}
		o.do(t, o.isso2, "POST", rp+"/approve", `{"note":"gate passed"}`, http.StatusOK, &rel)
		if rel.Release.Status != "approved" {
			t.Fatalf("release = %+v", rel)
		}
		if grew := ts.ledgerSize(t) - before; grew != 2 {
			t.Errorf("the ledger grew by %d, want 2 (the refusal and the approval)", grew)
		}
		var c relCheck
		o.do(t, o.isso, "GET", ap+"/check?sha256="+digest, "", http.StatusOK, &c)
		if !c.Approved || len(c.Decision.Reasons) != 0 {
			t.Errorf("check after approval = %+v", c)
		}
		o.do(t, o.isso2, "POST", rp+"/approve", `{}`, http.StatusConflict, nil)
	})

	t.Run("OKDocuments", func(t *testing.T) {
		doc := fmt.Sprintf(`{"schema":"probity.traceability/1","app":{"bundle_id":"gov.dhs.cbp.mpc","version":"3.2.1","sha256":%q},
			"answers":[{"requirement":"AC-2","status":"met","evidence":"accounts come from the agency directory"}]}`, digest)
		o.upload(t, o.isso, rp+"/documents?kind=traceability_answers", doc, http.StatusCreated, nil)
		other := strings.Replace(doc, `"3.2.1"`, `"9.9.9"`, 1)
		o.upload(t, o.isso, rp+"/documents?kind=traceability_answers", other, http.StatusBadRequest, nil)
		o.upload(t, o.isso, rp+"/documents?kind=sbom", doc, http.StatusBadRequest, nil)
		var got struct {
			Deliverables struct {
				Received []struct {
					Kind string `json:"kind"`
				} `json:"received"`
			} `json:"deliverables"`
		}
		o.do(t, o.cpo, "GET", rp, "", http.StatusOK, &got)
		n := 0
		for _, d := range got.Deliverables.Received {
			if d.Kind == "traceability_answers" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("received = %+v", got.Deliverables.Received)
		}
	})
	_ = ctx
}
