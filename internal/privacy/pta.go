package privacy

import (
	"fmt"
	"time"
)

// A Question is one question of the Privacy Threshold Analysis.
type Question struct {
	Field string `json:"field"` // the answer's JSON name
	Text  string `json:"text"`
}

// PTAQuestions returns the questionnaire, in order.
func PTAQuestions() []Question {
	return []Question{
		{"collects_pii", "Does the system or data source collect, use, keep or share personally identifiable information (anything that identifies a person or can be linked to one, including a device identifier)?"},
		{"about_public", "Is any of that information about members of the public (not only employees and contractors)?"},
		{"location_data", "Does it include the location of individuals or of their devices?"},
		{"retrieved_by_identifier", "Is information retrieved by a name, a device or advertising identifier, a phone number or another personal identifier?"},
		{"commercial_source", "Is the information bought or licensed from a commercial source, such as a data broker?"},
		{"new_or_changed", "Is this a new collection, or a change to an existing one (a new source, category, use, technology or sharing)?"},
	}
}

// PTAAnswers are the answers to the questionnaire; every one is required
// (nil is unanswered).
type PTAAnswers struct {
	CollectsPII           *bool `json:"collects_pii"`
	AboutPublic           *bool `json:"about_public"`
	LocationData          *bool `json:"location_data"`
	RetrievedByIdentifier *bool `json:"retrieved_by_identifier"`
	CommercialSource      *bool `json:"commercial_source"`
	NewOrChanged          *bool `json:"new_or_changed"`
}

// A PTAOutcome is what the answers decide, and why.
type PTAOutcome struct {
	PIARequired  bool     `json:"pia_required"`
	SORNRequired bool     `json:"sorn_required"`
	Rationale    []string `json:"rationale"`
}

// A PTA is one recorded Privacy Threshold Analysis.
type PTA struct {
	ID int64
	// Subject is what it analyses: "source/ID" or "system/ID".
	Subject   string
	Component string
	Answers   PTAAnswers
	Outcome   PTAOutcome
	AuthorID  int64
	CreatedAt time.Time
}

// AssessPTA decides from the answers whether a PIA and a SORN are
// required. The decision is deterministic and gives its reasons. Every
// question must be answered, and answers that contradict each other are
// refused with the fields concerned.
func AssessPTA(a PTAAnswers) (PTAOutcome, error) {
	var errs Errors
	fields := []struct {
		name string
		v    *bool
	}{
		{"collects_pii", a.CollectsPII}, {"about_public", a.AboutPublic}, {"location_data", a.LocationData},
		{"retrieved_by_identifier", a.RetrievedByIdentifier}, {"commercial_source", a.CommercialSource}, {"new_or_changed", a.NewOrChanged},
	}
	for _, f := range fields {
		if f.v == nil {
			errs.add(f.name, "is unanswered (answer true or false)")
		}
	}
	if len(errs) > 0 {
		return PTAOutcome{}, errs.Err("the privacy threshold analysis is incomplete")
	}
	pii := *a.CollectsPII
	if !pii {
		// Answers that only make sense about personal information
		// contradict "no personal information".
		if *a.LocationData {
			errs.add("location_data", "the location of individuals or their devices is personally identifiable information: answer collects_pii true")
		}
		if *a.RetrievedByIdentifier {
			errs.add("retrieved_by_identifier", "retrieving by a personal identifier means the information is about individuals: answer collects_pii true")
		}
		if *a.AboutPublic {
			errs.add("about_public", "there is no personal information to be about the public: answer collects_pii true, or about_public false")
		}
		if len(errs) > 0 {
			return PTAOutcome{}, errs.Err("the privacy threshold analysis contradicts itself")
		}
		return PTAOutcome{Rationale: []string{
			"No personally identifiable information is collected, used, kept or shared: the E-Government Act (section 208) requires no PIA, and without records about individuals there is no Privacy Act system of records, so no SORN.",
		}}, nil
	}

	var o PTAOutcome
	if *a.LocationData {
		o.PIARequired = true
		o.Rationale = append(o.Rationale, "It includes the location of individuals or their devices, which reveals their movements and associations: a PIA is required.")
	}
	if *a.AboutPublic {
		o.PIARequired = true
		o.Rationale = append(o.Rationale, "It holds personally identifiable information about members of the public: a PIA is required (E-Government Act, section 208).")
	}
	if *a.CommercialSource {
		o.PIARequired = true
		o.Rationale = append(o.Rationale, "Personally identifiable information bought or licensed from a commercial source must be assessed before use: a PIA is required.")
	}
	if *a.NewOrChanged {
		o.PIARequired = true
		o.Rationale = append(o.Rationale, "It is a new collection or changes an existing one: a new or updated PIA is required.")
	}
	if !o.PIARequired {
		o.Rationale = append(o.Rationale, "The personally identifiable information is about employees and contractors only, includes no location, comes from no commercial source, and nothing changed: no new PIA is required; analyse again when any of that changes.")
	}
	if *a.RetrievedByIdentifier {
		o.SORNRequired = true
		o.Rationale = append(o.Rationale, "Records about individuals are retrieved by a personal identifier: this is a Privacy Act system of records (5 U.S.C. 552a) and needs a System of Records Notice.")
	} else {
		o.Rationale = append(o.Rationale, "Records are not retrieved by a personal identifier: no System of Records Notice is required.")
	}
	return o, nil
}

// ValidateSubject reports whether subject names a data source or a system
// ("source/ID" or "system/ID").
func ValidateSubject(subject string) (kind string, id int64, err error) {
	var n int
	if n, err = fmt.Sscanf(subject, "source/%d", &id); n == 1 && err == nil && id > 0 && subject == fmt.Sprintf("source/%d", id) {
		return "source", id, nil
	}
	if n, err = fmt.Sscanf(subject, "system/%d", &id); n == 1 && err == nil && id > 0 && subject == fmt.Sprintf("system/%d", id) {
		return "system", id, nil
	}
	return "", 0, Errors{{Field: "subject", Message: fmt.Sprintf("%q must be source/ID or system/ID", subject)}}.Err("the subject is not valid")
}
