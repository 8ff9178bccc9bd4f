package privacy_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/privacy"
)

func answers(t *testing.T, js string) privacy.PTAAnswers {
	t.Helper()
	var a privacy.PTAAnswers
	if err := json.Unmarshal([]byte(js), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAssessPTA(t *testing.T) {
	for _, c := range []struct {
		name       string
		answers    string
		pia, sorn  bool
		rationales []string // a phrase each rationale line must hold, in order
		fields     []string // for refusals
	}{
		{name: "OKCommercialTelemetry",
			answers: `{"collects_pii":true,"about_public":true,"location_data":true,"retrieved_by_identifier":true,"commercial_source":true,"new_or_changed":true}`,
			pia:     true, sorn: true,
			rationales: []string{"location", "members of the public", "commercial source", "new collection", "System of Records Notice"}},
		{name: "OKNoPII",
			answers:    `{"collects_pii":false,"about_public":false,"location_data":false,"retrieved_by_identifier":false,"commercial_source":true,"new_or_changed":true}`,
			rationales: []string{"No personally identifiable information"}},
		{name: "OKEmployeesOnlyUnchanged",
			answers:    `{"collects_pii":true,"about_public":false,"location_data":false,"retrieved_by_identifier":false,"commercial_source":false,"new_or_changed":false}`,
			rationales: []string{"employees and contractors only", "no System of Records Notice"}},
		{name: "OKEmployeesOnlyRetrievedByName",
			answers: `{"collects_pii":true,"about_public":false,"location_data":false,"retrieved_by_identifier":true,"commercial_source":false,"new_or_changed":false}`,
			sorn:    true, rationales: []string{"employees and contractors only", "System of Records Notice"}},
		{name: "OKLocationAlone",
			answers: `{"collects_pii":true,"about_public":false,"location_data":true,"retrieved_by_identifier":false,"commercial_source":false,"new_or_changed":false}`,
			pia:     true, rationales: []string{"location", "no System of Records Notice"}},
		{name: "OKNewCollectionOfEmployees",
			answers: `{"collects_pii":true,"about_public":false,"location_data":false,"retrieved_by_identifier":false,"commercial_source":false,"new_or_changed":true}`,
			pia:     true, rationales: []string{"new collection", "no System of Records Notice"}},
		{name: "ErrUnanswered",
			answers: `{"collects_pii":true,"location_data":true}`,
			fields:  []string{"about_public", "retrieved_by_identifier", "commercial_source", "new_or_changed"}},
		{name: "ErrNothingAnswered", answers: `{}`,
			fields: []string{"collects_pii", "about_public", "location_data", "retrieved_by_identifier", "commercial_source", "new_or_changed"}},
		{name: "ErrLocationIsPII",
			answers: `{"collects_pii":false,"about_public":true,"location_data":true,"retrieved_by_identifier":true,"commercial_source":true,"new_or_changed":true}`,
			fields:  []string{"location_data", "retrieved_by_identifier", "about_public"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, err := privacy.AssessPTA(answers(t, c.answers))
			if c.fields != nil {
				checkFields(t, err, c.fields...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.PIARequired != c.pia || o.SORNRequired != c.sorn {
				t.Errorf("PIA required %v, SORN required %v; want %v, %v (%q)", o.PIARequired, o.SORNRequired, c.pia, c.sorn, o.Rationale)
			}
			if len(o.Rationale) != len(c.rationales) {
				t.Fatalf("rationale %q, want %d lines", o.Rationale, len(c.rationales))
			}
			for i, want := range c.rationales {
				if !strings.Contains(o.Rationale[i], want) {
					t.Errorf("rationale[%d] = %q, want it to mention %q", i, o.Rationale[i], want)
				}
			}
		})
	}
}

func TestAssessPTA_Deterministic(t *testing.T) {
	// Every combination of answers decides the same way twice, and the
	// outcome follows the rules: a PIA for PII that is about the public,
	// located, bought or new; a SORN for PII retrieved by identifier.
	for mask := range 1 << 6 {
		b := func(i int) *bool { v := mask&(1<<i) != 0; return &v }
		a := privacy.PTAAnswers{CollectsPII: b(0), AboutPublic: b(1), LocationData: b(2), RetrievedByIdentifier: b(3), CommercialSource: b(4), NewOrChanged: b(5)}
		o1, err1 := privacy.AssessPTA(a)
		o2, err2 := privacy.AssessPTA(a)
		if (err1 == nil) != (err2 == nil) || o1.PIARequired != o2.PIARequired || strings.Join(o1.Rationale, "|") != strings.Join(o2.Rationale, "|") {
			t.Fatalf("answers %06b decided differently twice", mask)
		}
		pii := *a.CollectsPII
		contradiction := !pii && (*a.LocationData || *a.RetrievedByIdentifier || *a.AboutPublic)
		if contradiction != (err1 != nil) {
			t.Errorf("answers %06b: error %v, contradiction %v", mask, err1, contradiction)
			continue
		}
		if err1 != nil {
			continue
		}
		wantPIA := pii && (*a.AboutPublic || *a.LocationData || *a.CommercialSource || *a.NewOrChanged)
		wantSORN := pii && *a.RetrievedByIdentifier
		if o1.PIARequired != wantPIA || o1.SORNRequired != wantSORN || len(o1.Rationale) == 0 {
			t.Errorf("answers %06b: %+v; want PIA %v SORN %v", mask, o1, wantPIA, wantSORN)
		}
	}
}

func TestValidateSubject(t *testing.T) {
	for _, c := range []struct {
		in   string
		kind string
		id   int64
	}{
		{"source/12", "source", 12}, {"system/3", "system", 3},
		{"source/0", "", 0}, {"source/-1", "", 0}, {"source/12x", "", 0}, {"source/ 12", "", 0}, {"sources/1", "", 0}, {"", "", 0}, {"system/012", "", 0},
	} {
		kind, id, err := privacy.ValidateSubject(c.in)
		if kind != c.kind || id != c.id || (err == nil) != (c.kind != "") {
			t.Errorf("ValidateSubject(%q) = %q, %d, %v; want %q, %d", c.in, kind, id, err, c.kind, c.id)
		}
	}
}
