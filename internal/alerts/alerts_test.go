package alerts_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/fault"
)

func TestNext(t *testing.T) {
	po, opr := alerts.PrivacyOfficer, alerts.OPRIntake
	for _, c := range []struct {
		name string
		from alerts.Status
		a    alerts.Action
		by   alerts.Capacity
		want alerts.Status
		code fault.Code
		msg  string
	}{
		{"Triage", alerts.New, alerts.TakeTriage, po, alerts.Triage, "", ""},
		{"Refer", alerts.Triage, alerts.Refer, po, alerts.Referred, "", ""},
		{"Dismiss", alerts.Triage, alerts.Dismiss, po, alerts.Dismissed, "", ""},
		{"Resolve", alerts.Triage, alerts.Resolve, po, alerts.Resolved, "", ""},
		{"OPRResolves", alerts.Referred, alerts.Resolve, opr, alerts.Resolved, "", ""},
		{"ErrReferNew", alerts.New, alerts.Refer, po, "", fault.Conflict, "the alert is new; take it into triage first"},
		{"ErrDismissNew", alerts.New, alerts.Dismiss, po, "", fault.Conflict, "take it into triage first"},
		{"ErrTriageTwice", alerts.Triage, alerts.TakeTriage, po, "", fault.Conflict, "only a new alert is taken into triage"},
		{"ErrPrivacyResolvesReferred", alerts.Referred, alerts.Resolve, po, "", fault.Forbidden, "a referred alert is resolved by professional responsibility"},
		{"ErrDismissReferred", alerts.Referred, alerts.Dismiss, po, "", fault.Conflict, "the alert is referred; it cannot be dismissed now"},
		{"ErrReopen", alerts.Dismissed, alerts.TakeTriage, po, "", fault.Conflict, "only a new alert"},
		{"ErrResolveClosed", alerts.Resolved, alerts.Resolve, po, "", fault.Conflict, "the alert is resolved; it cannot be resolved now"},
		{"ErrOPRTriage", alerts.New, alerts.TakeTriage, opr, "", fault.Forbidden, "professional responsibility (OPR intake) resolves the alerts referred to it"},
		{"ErrOPRDismiss", alerts.Referred, alerts.Dismiss, opr, "", fault.Forbidden, "resolves the alerts referred to it"},
		{"ErrOPRResolveTriage", alerts.Triage, alerts.Resolve, opr, "", fault.Forbidden, "acts on referred alerts only; this one is triage"},
		{"ErrAction", alerts.New, "close", po, "", fault.Invalid, `action "close" is not an alert step`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := alerts.Next(c.from, c.a, c.by)
			if c.code == "" {
				if err != nil || got != c.want {
					t.Errorf("Next = %q, %v; want %q", got, err, c.want)
				}
				return
			}
			if got != "" || fault.CodeOf(err) != c.code || !strings.Contains(fault.MessageOf(err), c.msg) {
				t.Errorf("Next = %q, %v (%s); want %s saying %q", got, err, fault.CodeOf(err), c.code, c.msg)
			}
		})
	}
	t.Run("EveryClosedStatusIsFinal", func(t *testing.T) {
		for _, s := range []alerts.Status{alerts.Dismissed, alerts.Resolved} {
			if s.Open() {
				t.Errorf("%s is open", s)
			}
			for _, a := range alerts.Actions() {
				for _, by := range []alerts.Capacity{po, opr} {
					if _, err := alerts.Next(s, a, by); err == nil {
						t.Errorf("%s can be %s by %s", s, a, by)
					}
				}
			}
		}
	})
}

func TestCheckNote(t *testing.T) {
	for _, c := range []struct {
		name string
		a    alerts.Action
		note string
		want string
		msg  string
	}{
		{"TriageWithout", alerts.TakeTriage, "", "", ""},
		{"Trimmed", alerts.Refer, "  Tracked a coworker.  ", "Tracked a coworker.", ""},
		{"ErrRefer", alerts.Refer, "bad", "", "note: say why the alert goes to professional responsibility"},
		{"ErrDismiss", alerts.Dismiss, "", "", "note: say why this is not misuse (the reason for dismissing it)"},
		{"ErrResolve", alerts.Resolve, "done", "", "note: say how the alert was resolved"},
		{"ErrControl", alerts.Refer, "Tracked a\x07 coworker.", "", "note: control characters are not allowed"},
		{"ErrLong", alerts.Resolve, strings.Repeat("a", alerts.MaxNote+1), "", "note: at most 4000 characters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := alerts.CheckNote(c.a, c.note)
			if c.msg == "" && (err != nil || got != c.want) || c.msg != "" && (fault.CodeOf(err) != fault.Invalid || !strings.HasPrefix(fault.MessageOf(err), c.msg)) {
				t.Errorf("CheckNote = %q, %v; want %q / %q", got, err, c.want, c.msg)
			}
		})
	}
}

func TestAlert_Validate(t *testing.T) {
	ok := alerts.Alert{Detector: "employee_device", Severity: alerts.High, Component: "CBP", QueryID: 4, PersonID: 2,
		Explanation: "The device sleeps in an employee's home cells.", Evidence: json.RawMessage(`{"nights": 5}`)}
	if err := ok.Validate(); err != nil {
		t.Fatalf("a valid alert: %v", err)
	}
	if got := string(ok.EvidenceJSON()); got != `{"nights":5}` {
		t.Errorf("EvidenceJSON = %s", got)
	}
	if got := string((alerts.Alert{}).EvidenceJSON()); got != "{}" {
		t.Errorf("no evidence: %s", got)
	}
	for _, c := range []struct {
		name   string
		change func(a *alerts.Alert)
		msg    string
	}{
		{"Detector", func(a *alerts.Alert) { a.Detector = "x" }, `detector "x"`},
		{"DetectorUpper", func(a *alerts.Alert) { a.Detector = "Employee" }, `detector "Employee"`},
		{"Severity", func(a *alerts.Alert) { a.Severity = "" }, `severity "" is not a severity`},
		{"Component", func(a *alerts.Alert) { a.Component = "" }, "an alert belongs to the component"},
		{"Query", func(a *alerts.Alert) { a.QueryID = -1 }, "query and person IDs are positive"},
		{"Short", func(a *alerts.Alert) { a.Explanation = " hm " }, "explanation: say in plain language"},
		{"Control", func(a *alerts.Alert) { a.Explanation = "The device\x00 sleeps in a home." }, "explanation: plain text"},
		{"EvidenceArray", func(a *alerts.Alert) { a.Evidence = json.RawMessage(`[]`) }, "evidence: a JSON object"},
		{"EvidenceNull", func(a *alerts.Alert) { a.Evidence = json.RawMessage(`null`) }, "evidence: a JSON object"},
		{"EvidenceBroken", func(a *alerts.Alert) { a.Evidence = json.RawMessage(`{"a":`) }, "evidence: a JSON object"},
		{"EvidenceLarge", func(a *alerts.Alert) {
			a.Evidence = json.RawMessage(`{"a":"` + strings.Repeat("x", alerts.MaxEvidence) + `"}`)
		}, "evidence: at most"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := ok
			c.change(&a)
			if err := a.Validate(); fault.CodeOf(err) != fault.Invalid || !strings.Contains(fault.MessageOf(err), c.msg) {
				t.Errorf("Validate = %v; want invalid saying %q", err, c.msg)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, s := range alerts.Severities() {
		if got, err := alerts.ParseSeverity(string(s)); err != nil || got != s {
			t.Errorf("ParseSeverity(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range alerts.Statuses() {
		if got, err := alerts.ParseStatus(string(s)); err != nil || got != s {
			t.Errorf("ParseStatus(%q) = %q, %v", s, got, err)
		}
	}
	for _, a := range alerts.Actions() {
		if got, err := alerts.ParseAction(string(a)); err != nil || got != a {
			t.Errorf("ParseAction(%q) = %q, %v", a, got, err)
		}
	}
	for _, bad := range []string{"", "HIGH", "critical", strings.Repeat("x", 100)} {
		if _, err := alerts.ParseSeverity(bad); fault.CodeOf(err) != fault.Invalid || len(fault.MessageOf(err)) > 120 {
			t.Errorf("ParseSeverity(%q): %v", bad, err)
		}
		if _, err := alerts.ParseStatus(bad); fault.CodeOf(err) != fault.Invalid {
			t.Errorf("ParseStatus(%q): %v", bad, err)
		}
	}
}

func FuzzAlertValidate(f *testing.F) {
	f.Add("employee_device", "high", "CBP", "The device sleeps in an employee's home.", `{"nights":5}`)
	f.Add("x", "low", "", "", `[]`)
	f.Add("off_duty", "medium", "ICE", "At 03:00 on a Sunday.", `{} {}`)
	f.Fuzz(func(t *testing.T, detector, severity, component, explanation, evidence string) {
		a := alerts.Alert{Detector: detector, Severity: alerts.Severity(severity), Component: component, Explanation: explanation, Evidence: json.RawMessage(evidence)}
		if err := a.Validate(); err != nil {
			if fault.CodeOf(err) != fault.Invalid {
				t.Fatalf("error %v is not invalid", err)
			}
			return
		}
		var obj map[string]any
		if err := json.Unmarshal(a.EvidenceJSON(), &obj); err != nil || obj == nil {
			t.Fatalf("accepted evidence %q compacts to %q", evidence, a.EvidenceJSON())
		}
	})
}
