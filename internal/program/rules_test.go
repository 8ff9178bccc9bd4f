package program_test

import (
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/program"
)

// now is the tests' clock: 2026-03-10, mid-morning UTC.
var now = time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)

// Principals of the tests.
var (
	dpo      = auth.Principal{Kind: "user", ID: "dept-privacy", PersonID: 1, Grants: []auth.Grant{{Role: auth.DepartmentPrivacyOfficer}}}
	cbpCPO   = auth.Principal{Kind: "user", ID: "cbp-privacy", PersonID: 2, Component: "CBP", Grants: []auth.Grant{{Role: auth.ComponentPrivacyOfficer, Component: "CBP"}}}
	iceCPO   = auth.Principal{Kind: "user", ID: "ice-privacy", PersonID: 3, Component: "ICE", Grants: []auth.Grant{{Role: auth.ComponentPrivacyOfficer, Component: "ICE"}}}
	cbpISSO  = auth.Principal{Kind: "user", ID: "cbp-isso", PersonID: 4, Component: "CBP", Grants: []auth.Grant{{Role: auth.SecurityOfficer, Component: "CBP"}}}
	iceISSO  = auth.Principal{Kind: "user", ID: "ice-isso", PersonID: 5, Component: "ICE", Grants: []auth.Grant{{Role: auth.SecurityOfficer, Component: "ICE"}}}
	auditor  = auth.Principal{Kind: "user", ID: "dept-auditor", PersonID: 6, Grants: []auth.Grant{{Role: auth.Auditor}}}
	admin    = auth.Principal{Kind: "user", ID: "admin", PersonID: 7, Grants: []auth.Grant{{Role: auth.Administrator}}}
	cbpSup   = auth.Principal{Kind: "user", ID: "cbp-sup", PersonID: 8, Component: "CBP", Grants: []auth.Grant{{Role: auth.Supervisor, Component: "CBP"}}}
	dpoRead  = auth.Principal{Kind: "user", ID: "dept-privacy", PersonID: 1, Grants: dpo.Grants, Scopes: []auth.Permission{auth.ProgramRead}}
	cpoToken = auth.Principal{Kind: "user", ID: "cbp-privacy", PersonID: 2, Component: "CBP", Grants: cbpCPO.Grants, Scopes: []auth.Permission{auth.ProgramRead, auth.ProgramManage}}
)

var report = program.Report{ID: 1, Issuer: program.InspectorGeneral, Number: "OIG-23-61", Title: "Use of commercial telemetry data", Issued: program.MustDate("2023-09-26")}

// rec returns a recommendation of CBP (or of comp) in status st, owned by
// the CBP security officer, with an evidence link; resolved and closed
// ones carry their steps.
func rec(st program.Status, comp ...string) program.Recommendation {
	r := program.Recommendation{ID: 10, ReportID: 1, Report: report, Number: "3", Text: "Finish the component's telemetry data procedures.",
		OwnerComponent: "CBP", OwnerID: cbpISSO.PersonID, Status: st, Target: program.MustDate("2025-12-31"), Version: 4,
		Links: []program.Link{{ID: 1, Kind: program.LinkPolicy, Ref: "cbp.ctd-procedures"}, {ID: 2, Kind: program.LinkEvidence, Ref: "ledger:42"}}}
	if len(comp) > 0 {
		r.OwnerComponent = comp[0]
	}
	if st != program.Open {
		r.Resolution = program.Step{On: program.MustDate("2026-01-15"), Note: "Procedures issued.", By: "cbp-privacy"}
	}
	if st == program.Closed {
		r.Closure = program.Step{On: program.MustDate("2026-02-20"), Note: "OIG closure letter.", By: "dept-privacy"}
	}
	return r
}

// wantErr checks err against a wanted code ("" for none) and message part.
func wantErr(t *testing.T, err error, code fault.Code, msg string) {
	t.Helper()
	switch {
	case code == "" && err != nil:
		t.Fatalf("err = %v, want none", err)
	case code == "":
		return
	case err == nil:
		t.Fatalf("no error, want %s %q", code, msg)
	case fault.CodeOf(err) != code:
		t.Fatalf("err = %v (%s), want %s", err, fault.CodeOf(err), code)
	case !strings.Contains(fault.MessageOf(err), msg):
		t.Fatalf("message %q does not say %q", fault.MessageOf(err), msg)
	}
}

func TestResolve(t *testing.T) {
	noEvidence := rec(program.Open)
	noEvidence.Links = noEvidence.Links[:1] // the policy only
	for _, tc := range []struct {
		name string
		by   auth.Principal
		r    program.Recommendation
		step program.Step
		code fault.Code
		msg  string
	}{
		{name: "OKComponentPrivacyOfficer", by: cbpCPO, r: rec(program.Open), step: program.Step{Note: "Done: procedures issued."}},
		{name: "OKDepartmentPrivacyOfficer", by: dpo, r: rec(program.Open), step: program.Step{Note: "Done.", On: program.MustDate("2026-03-01")}},
		{name: "OKDepartmentOwn", by: dpo, r: rec(program.Open, ""), step: program.Step{Note: "Policy issued."}},
		{name: "OKScopedToken", by: cpoToken, r: rec(program.Open), step: program.Step{Note: "Done."}},
		{name: "ErrOtherComponentsOfficer", by: iceCPO, r: rec(program.Open), step: program.Step{Note: "Done."},
			code: fault.Forbidden, msg: "only the privacy officer of CBP or the department privacy officer marks recommendation 3 of OIG-23-61 resolved"},
		{name: "ErrComponentOfficerOnDepartmentOwn", by: cbpCPO, r: rec(program.Open, ""), step: program.Step{Note: "Done."},
			code: fault.Forbidden, msg: "only the department privacy officer marks"},
		{name: "ErrOwnerWhoIsNotAPrivacyOfficer", by: cbpISSO, r: rec(program.Open), step: program.Step{Note: "Done."}, code: fault.Forbidden, msg: "only the privacy officer of CBP"},
		{name: "ErrAuditor", by: auditor, r: rec(program.Open), step: program.Step{Note: "Done."}, code: fault.Forbidden, msg: "marks"},
		{name: "ErrAdministrator", by: admin, r: rec(program.Open), step: program.Step{Note: "Done."}, code: fault.Forbidden, msg: "marks"},
		{name: "ErrSupervisor", by: cbpSup, r: rec(program.Open), step: program.Step{Note: "Done."}, code: fault.Forbidden, msg: "marks"},
		{name: "ErrTokenWithoutManage", by: dpoRead, r: rec(program.Open), step: program.Step{Note: "Done."}, code: fault.Forbidden, msg: "marks"},
		{name: "ErrAlreadyResolved", by: cbpCPO, r: rec(program.Resolved), step: program.Step{Note: "Again."}, code: fault.Conflict, msg: "already resolved (on 2026-01-15)"},
		{name: "ErrClosed", by: dpo, r: rec(program.Closed), step: program.Step{Note: "Again."}, code: fault.Conflict, msg: "is closed; if the issuer reopened it, reopen it first"},
		{name: "ErrNoEvidence", by: cbpCPO, r: noEvidence, step: program.Step{Note: "Done."}, code: fault.Precondition, msg: "no evidence linked"},
		{name: "ErrNoNote", by: cbpCPO, r: rec(program.Open), step: program.Step{Note: "  "}, code: fault.Invalid, msg: "resolution note (what was done) is empty"},
		{name: "ErrFutureDay", by: cbpCPO, r: rec(program.Open), step: program.Step{Note: "Done.", On: program.MustDate("2026-03-11")}, code: fault.Invalid, msg: "2026-03-11 is in the future"},
		{name: "ErrBeforeReport", by: cbpCPO, r: rec(program.Open), step: program.Step{Note: "Done.", On: program.MustDate("2023-09-25")}, code: fault.Invalid, msg: "before the report's date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := program.Resolve(tc.by, tc.r, tc.step, now)
			wantErr(t, err, tc.code, tc.msg)
			if err != nil {
				if got.Status != tc.r.Status || got.Resolution != tc.r.Resolution {
					t.Errorf("a refused resolution changed the recommendation: %+v", got)
				}
				return
			}
			if got.Status != program.Resolved || got.Resolution.By != tc.by.ID || got.Resolution.At != now || got.Resolution.Note != strings.TrimSpace(tc.step.Note) {
				t.Errorf("resolved = %+v", got)
			}
			if want := tc.step.On; !want.IsZero() && got.Resolution.On != want || want.IsZero() && got.Resolution.On != program.DateOf(now) {
				t.Errorf("resolved on %s", got.Resolution.On)
			}
		})
	}
}

func TestClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		by   auth.Principal
		r    program.Recommendation
		step program.Step
		code fault.Code
		msg  string
	}{
		{name: "OK", by: dpo, r: rec(program.Resolved), step: program.Step{Note: "OIG closure memorandum.", On: program.MustDate("2026-02-01")}},
		{name: "OKDepartmentOwn", by: dpo, r: rec(program.Resolved, ""), step: program.Step{Note: "Closed by OIG."}},
		{name: "ErrComponentPrivacyOfficer", by: cbpCPO, r: rec(program.Resolved), step: program.Step{Note: "Closed."},
			code: fault.Forbidden, msg: "only the department privacy officer records the issuer's closure"},
		{name: "ErrAuditor", by: auditor, r: rec(program.Resolved), step: program.Step{Note: "Closed."}, code: fault.Forbidden, msg: "only the department privacy officer"},
		{name: "ErrTokenWithoutManage", by: dpoRead, r: rec(program.Resolved), step: program.Step{Note: "Closed."}, code: fault.Forbidden, msg: "only the department privacy officer"},
		{name: "ErrOpen", by: dpo, r: rec(program.Open), step: program.Step{Note: "Closed."}, code: fault.Conflict, msg: "is open: it must be resolved"},
		{name: "ErrAlreadyClosed", by: dpo, r: rec(program.Closed), step: program.Step{Note: "Closed."}, code: fault.Conflict, msg: "already closed (on 2026-02-20)"},
		{name: "ErrNoNote", by: dpo, r: rec(program.Resolved), code: fault.Invalid, msg: "closure note (how the issuer accepted it) is empty"},
		{name: "ErrBeforeResolution", by: dpo, r: rec(program.Resolved), step: program.Step{Note: "Closed.", On: program.MustDate("2026-01-14")}, code: fault.Invalid, msg: "before its resolution (2026-01-15)"},
		{name: "ErrFuture", by: dpo, r: rec(program.Resolved), step: program.Step{Note: "Closed.", On: program.MustDate("2027-01-01")}, code: fault.Invalid, msg: "in the future"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := program.Close(tc.by, tc.r, tc.step, now)
			wantErr(t, err, tc.code, tc.msg)
			if err == nil && (got.Status != program.Closed || got.Closure.By != tc.by.ID || got.Resolution != tc.r.Resolution) {
				t.Errorf("closed = %+v", got)
			}
			if err != nil && got.Status != tc.r.Status {
				t.Errorf("a refused closure changed the status to %s", got.Status)
			}
		})
	}
}

func TestReopen(t *testing.T) {
	for _, tc := range []struct {
		name   string
		by     auth.Principal
		r      program.Recommendation
		reason string
		code   fault.Code
		msg    string
	}{
		{name: "OKResolvedByComponentOfficer", by: cbpCPO, r: rec(program.Resolved), reason: "OIG asked for the signed directive."},
		{name: "OKResolvedByDepartmentOfficer", by: dpo, r: rec(program.Resolved), reason: "Evidence was a draft."},
		{name: "OKClosedByDepartmentOfficer", by: dpo, r: rec(program.Closed), reason: "OIG reopened it in its follow-up audit."},
		{name: "ErrClosedByComponentOfficer", by: cbpCPO, r: rec(program.Closed), reason: "We want to redo it.",
			code: fault.Forbidden, msg: "only the department privacy officer reopens recommendation 3 of OIG-23-61, which the issuer closed"},
		{name: "ErrResolvedByOtherComponent", by: iceCPO, r: rec(program.Resolved), reason: "x", code: fault.Forbidden, msg: "only the privacy officer of CBP or the department privacy officer reopens"},
		{name: "ErrResolvedByOwner", by: cbpISSO, r: rec(program.Resolved), reason: "x", code: fault.Forbidden, msg: "reopens"},
		{name: "ErrOpen", by: dpo, r: rec(program.Open), reason: "x", code: fault.Conflict, msg: "is already open"},
		{name: "ErrNoReason", by: dpo, r: rec(program.Resolved), reason: " ", code: fault.Invalid, msg: "reason is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := program.Reopen(tc.by, tc.r, tc.reason)
			wantErr(t, err, tc.code, tc.msg)
			if err == nil && (got.Status != program.Open || got.Resolution != (program.Step{}) || got.Closure != (program.Step{})) {
				t.Errorf("reopened = %+v", got)
			}
		})
	}
}

// TestSteps_Sequence walks a recommendation through its whole life and
// checks each out-of-order step on the way.
func TestSteps_Sequence(t *testing.T) {
	r := rec(program.Open)
	if _, err := program.Close(dpo, r, program.Step{Note: "x"}, now); fault.CodeOf(err) != fault.Conflict {
		t.Fatalf("closing an open recommendation: %v", err)
	}
	r, err := program.Resolve(cbpCPO, r, program.Step{Note: "Procedures issued."}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := program.Resolve(cbpCPO, r, program.Step{Note: "x"}, now); fault.CodeOf(err) != fault.Conflict {
		t.Fatalf("resolving twice: %v", err)
	}
	r, err = program.Close(dpo, r, program.Step{Note: "OIG accepted."}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := (program.Change{Text: ptr("New text.")}).Apply(dpo, r); fault.CodeOf(err) != fault.Conflict {
		t.Fatalf("changing a closed recommendation: %v", err)
	}
	if _, _, err := program.AddLink(dpo, r, program.Link{Kind: program.LinkEvidence, Ref: "ledger:7"}, now); fault.CodeOf(err) != fault.Conflict {
		t.Fatalf("linking to a closed recommendation: %v", err)
	}
	r, err = program.Reopen(dpo, r, "OIG reopened it.")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != program.Open || r.Overdue(program.DateOf(now)) != true {
		t.Fatalf("reopened: status %s, overdue %v", r.Status, r.Overdue(program.DateOf(now)))
	}
}

func ptr[T any](v T) *T { return &v }

func TestChange_Apply(t *testing.T) {
	later, earlier := program.MustDate("2026-06-30"), program.MustDate("2025-10-01")
	for _, tc := range []struct {
		name    string
		by      auth.Principal
		r       program.Recommendation
		c       program.Change
		changed string
		code    fault.Code
		msg     string
	}{
		{name: "OKText", by: cbpCPO, r: rec(program.Open), c: program.Change{Text: ptr("  Revised text. ")}, changed: "text"},
		{name: "OKNothing", by: cbpCPO, r: rec(program.Open), c: program.Change{Text: ptr("Finish the component's telemetry data procedures.")}},
		{name: "OKTargetEarlier", by: cbpCPO, r: rec(program.Open), c: program.Change{Target: &earlier}, changed: "target_on"},
		{name: "OKTargetLaterWithReason", by: cbpCPO, r: rec(program.Open), c: program.Change{Target: &later, Reason: "Contract award slipped."}, changed: "target_on"},
		{name: "OKMoveByDepartment", by: dpo, r: rec(program.Open), c: program.Change{OwnerComponent: ptr("ICE"), OwnerID: ptr(int64(5))}, changed: "owner_component,owner"},
		{name: "OKResolvedStillChanges", by: cbpCPO, r: rec(program.Resolved), c: program.Change{Number: ptr("3a")}, changed: "number"},
		{name: "ErrTargetLaterWithoutReason", by: cbpCPO, r: rec(program.Open), c: program.Change{Target: &later},
			code: fault.Invalid, msg: "the target date was 2025-12-31: give a reason for moving it to 2026-06-30"},
		{name: "ErrTargetRemovedWithoutReason", by: cbpCPO, r: rec(program.Open), c: program.Change{Target: &program.Date{}},
			code: fault.Invalid, msg: "give a reason for removing it"},
		{name: "ErrOtherComponent", by: iceCPO, r: rec(program.Open), c: program.Change{Text: ptr("x")}, code: fault.Forbidden, msg: "only a privacy officer of CBP or the department privacy officer manages CBP's recommendations"},
		{name: "ErrMoveToComponentNotManaged", by: cbpCPO, r: rec(program.Open), c: program.Change{OwnerComponent: ptr("ICE")}, code: fault.Forbidden, msg: "manages ICE's recommendations"},
		{name: "ErrMoveToDepartment", by: cbpCPO, r: rec(program.Open), c: program.Change{OwnerComponent: ptr("")}, code: fault.Forbidden, msg: "the department's own recommendations"},
		{name: "ErrOwnerISSO", by: cbpISSO, r: rec(program.Open), c: program.Change{Text: ptr("x")}, code: fault.Forbidden, msg: "manages CBP's"},
		{name: "ErrAuditor", by: auditor, r: rec(program.Open), c: program.Change{Text: ptr("x")}, code: fault.Forbidden, msg: "manages"},
		{name: "ErrClosed", by: dpo, r: rec(program.Closed), c: program.Change{Text: ptr("x")}, code: fault.Conflict, msg: "is closed; reopen it to change it"},
		{name: "ErrBadNumber", by: cbpCPO, r: rec(program.Open), c: program.Change{Number: ptr("3 and 4")}, code: fault.Invalid, msg: "recommendation number \"3 and 4\""},
		{name: "ErrEmptyText", by: cbpCPO, r: rec(program.Open), c: program.Change{Text: ptr(" ")}, code: fault.Invalid, msg: "text is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed, err := tc.c.Apply(tc.by, tc.r)
			wantErr(t, err, tc.code, tc.msg)
			if err != nil {
				return
			}
			if strings.Join(changed, ",") != tc.changed {
				t.Errorf("changed %v, want %s", changed, tc.changed)
			}
			if tc.c.Text != nil && got.Text != strings.TrimSpace(*tc.c.Text) {
				t.Errorf("text %q", got.Text)
			}
		})
	}
}

func TestLinks(t *testing.T) {
	ev := program.Link{Kind: program.LinkEvidence, Ref: "sha256:" + strings.Repeat("ab", 32), Note: "Signed directive"}
	for _, tc := range []struct {
		name string
		by   auth.Principal
		r    program.Recommendation
		l    program.Link
		code fault.Code
		msg  string
	}{
		{name: "OKOwner", by: cbpISSO, r: rec(program.Open), l: ev},
		{name: "OKComponentOfficer", by: cbpCPO, r: rec(program.Open), l: program.Link{Kind: program.LinkControl, Ref: "AU-6(1)"}},
		{name: "OKResolved", by: dpo, r: rec(program.Resolved), l: program.Link{Kind: program.LinkEvidence, Ref: "https://intranet.example.gov/memo/12?v=2"}},
		{name: "ErrOtherComponentsSecurityOfficer", by: iceISSO, r: rec(program.Open), l: ev, code: fault.Forbidden, msg: "only the owner of recommendation 3 of OIG-23-61, a privacy officer of CBP or the department privacy officer"},
		{name: "ErrAuditor", by: auditor, r: rec(program.Open), l: ev, code: fault.Forbidden, msg: "only the owner"},
		{name: "ErrClosed", by: dpo, r: rec(program.Closed), l: ev, code: fault.Conflict, msg: "is closed"},
		{name: "ErrDuplicate", by: dpo, r: rec(program.Open), l: program.Link{Kind: program.LinkEvidence, Ref: "ledger:42"}, code: fault.Conflict, msg: "already links evidence ledger:42"},
		{name: "ErrKind", by: dpo, r: rec(program.Open), l: program.Link{Kind: "memo", Ref: "x"}, code: fault.Invalid, msg: "not one of policy, control or evidence"},
		{name: "ErrEmptyRef", by: dpo, r: rec(program.Open), l: program.Link{Kind: program.LinkControl}, code: fault.Invalid, msg: "names no control"},
		{name: "ErrSpaces", by: dpo, r: rec(program.Open), l: program.Link{Kind: program.LinkPolicy, Ref: "my policy"}, code: fault.Invalid, msg: "must be an http(s) address or an identifier"},
		{name: "ErrDigest", by: dpo, r: rec(program.Open), l: program.Link{Kind: program.LinkEvidence, Ref: "sha256:ABC"}, code: fault.Invalid, msg: "64 lowercase hexadecimal"},
		{name: "ErrLedgerIndex", by: dpo, r: rec(program.Open), l: program.Link{Kind: program.LinkEvidence, Ref: "ledger:-1"}, code: fault.Invalid, msg: "an entry index"},
		{name: "ErrURL", by: dpo, r: rec(program.Open), l: program.Link{Kind: program.LinkEvidence, Ref: "https://"}, code: fault.Invalid, msg: "not an http:// or https:// address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, l, err := program.AddLink(tc.by, tc.r, tc.l, now)
			wantErr(t, err, tc.code, tc.msg)
			if err != nil {
				if len(got.Links) != len(tc.r.Links) {
					t.Errorf("a refused link was added")
				}
				return
			}
			if len(got.Links) != len(tc.r.Links)+1 || l.AddedBy != tc.by.ID || got.Links[len(got.Links)-1] != l {
				t.Errorf("links %+v, added %+v", got.Links, l)
			}
			if &got.Links[0] == &tc.r.Links[0] && len(tc.r.Links) > 0 {
				t.Error("AddLink wrote into the caller's links")
			}
		})
	}
	t.Run("ErrTooMany", func(t *testing.T) {
		r := rec(program.Open)
		for i := len(r.Links); i < program.MaxLinks; i++ {
			r.Links = append(r.Links, program.Link{ID: int64(i + 1), Kind: program.LinkControl, Ref: "AC-" + string(rune('A'+i%26)) + string(rune('a'+i/26))})
		}
		_, _, err := program.AddLink(dpo, r, ev, now)
		wantErr(t, err, fault.Conflict, "already has 100 links")
	})
	t.Run("Remove", func(t *testing.T) {
		got, l, err := program.RemoveLink(cbpISSO, rec(program.Open), 2)
		if err != nil || l.Ref != "ledger:42" || len(got.Links) != 1 || got.Evidence() != 0 {
			t.Fatalf("remove: %v %+v %+v", err, l, got.Links)
		}
		_, _, err = program.RemoveLink(cbpCPO, rec(program.Resolved), 2)
		wantErr(t, err, fault.Conflict, "is resolved and its resolution rests on its links; reopen it to remove one")
		_, _, err = program.RemoveLink(cbpCPO, rec(program.Open), 99)
		wantErr(t, err, fault.NotFound, "has no link 99")
		_, _, err = program.RemoveLink(iceCPO, rec(program.Open), 2)
		wantErr(t, err, fault.Forbidden, "only the owner")
	})
}

func TestMayRead(t *testing.T) {
	for _, tc := range []struct {
		by        auth.Principal
		component string
		want      bool
	}{
		{cbpCPO, "CBP", true}, {cbpCPO, "ICE", false}, {cbpCPO, "", true},
		{cbpISSO, "CBP", true}, {cbpISSO, "ICE", false},
		{auditor, "ICE", true}, {auditor, "", true},
		{dpo, "USSS", true},
		{admin, "CBP", false}, {admin, "", false},
		{cbpSup, "CBP", false}, {cbpSup, "", false},
		{auth.Anonymous, "", false},
	} {
		if got := program.MayRead(tc.by, rec(program.Open, tc.component)); got != tc.want {
			t.Errorf("MayRead(%s, %q) = %v, want %v", tc.by, tc.component, got, tc.want)
		}
	}
}

func TestCheckNewReport(t *testing.T) {
	wantErr(t, program.CheckNewReport(dpo, report, now), "", "")
	wantErr(t, program.CheckNewReport(cbpCPO, report, now), fault.Forbidden, "only the department privacy officer records audit reports")
	wantErr(t, program.CheckNewReport(admin, report, now), fault.Forbidden, "records audit reports")
	future := report
	future.Issued = program.MustDate("2026-03-11")
	err := program.CheckNewReport(dpo, future, now)
	wantErr(t, err, fault.Invalid, "2026-03-11 is in the future")
	if program.FieldOf(err) != "issued_on" {
		t.Errorf("field %q", program.FieldOf(err))
	}
}

func TestCheckNew(t *testing.T) {
	r := rec(program.Open)
	wantErr(t, program.CheckNew(cbpCPO, r), "", "")
	wantErr(t, program.CheckNew(iceCPO, r), fault.Forbidden, "manages CBP's recommendations")
	wantErr(t, program.CheckNew(cbpISSO, r), fault.Forbidden, "manages CBP's")
	r.Status = program.Resolved
	wantErr(t, program.CheckNew(cbpCPO, r), fault.Invalid, "a new recommendation is open")
	r = rec(program.Open)
	r.OwnerID = 0
	err := program.CheckNew(cbpCPO, r)
	wantErr(t, err, fault.Invalid, "has no owner")
	if program.FieldOf(err) != "owner" {
		t.Errorf("field %q", program.FieldOf(err))
	}
}
