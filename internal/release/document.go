package release

import (
	"fmt"
	"slices"
	"strings"
)

// The documents Probity defines for the deliverables that are not scan
// reports. Each is one JSON object that names its schema and the build it
// describes (bundle ID, version, build and artifact digest); a document
// that names another build is refused. Examples:
//
//	{"schema": "probity.data-flow/1",
//	 "app": {"bundle_id": "gov.dhs.cbp.mpc", "version": "3.2.1", "build": "451", "sha256": "9f86d0…"},
//	 "permissions": [{"name": "android.permission.CAMERA", "purpose": "photograph the traveler's passport"}],
//	 "data_flows": [{"data": "passport photo", "destination": "api.cbp.dhs.gov", "purpose": "identity verification",
//	                 "encrypted_in_transit": true, "retention": "deleted from the device after submission"}]}
//
//	{"schema": "probity.traceability/1",
//	 "app": {"bundle_id": "gov.dhs.cbp.mpc", "version": "3.2.1", "sha256": "9f86d0…"},
//	 "answers": [{"requirement": "AC-2", "status": "met", "evidence": "accounts are provisioned through …"}]}
const (
	DataFlowSchema     = "probity.data-flow/1"
	TraceabilitySchema = "probity.traceability/1"
)

// MaxDocumentSize bounds a document, in bytes.
const MaxDocumentSize = 1 << 20

// A Subject is the build a document says it describes.
type Subject struct {
	BundleID string `json:"bundle_id"`
	Version  string `json:"version"`
	// Build may be omitted; when given it must match.
	Build  string `json:"build,omitempty"`
	SHA256 string `json:"sha256"`
}

// A DataFlow is the data-flow and permissions manifest: every permission
// the build requests and why, and every flow of data off the device.
type DataFlow struct {
	Schema      string       `json:"schema"`
	App         Subject      `json:"app"`
	Permissions []Permission `json:"permissions"`
	Flows       []Flow       `json:"data_flows"`
}

// A Permission is one platform permission the app requests.
type Permission struct {
	Name    string `json:"name"`
	Purpose string `json:"purpose"`
}

// A Flow is one kind of data the app sends somewhere.
type Flow struct {
	Data        string `json:"data"`
	Destination string `json:"destination"`
	Purpose     string `json:"purpose"`
	// Encrypted must be stated either way.
	Encrypted *bool  `json:"encrypted_in_transit"`
	Retention string `json:"retention"`
}

// A TraceabilityAnswers is the developer's answers to the
// requirements-traceability questionnaire: for each requirement, whether
// the build meets it and the evidence that it does.
type TraceabilityAnswers struct {
	Schema  string   `json:"schema"`
	App     Subject  `json:"app"`
	Answers []Answer `json:"answers"`
}

// An AnswerStatus says whether a build meets a requirement.
type AnswerStatus string

// Answer statuses.
const (
	Met           AnswerStatus = "met"
	PartiallyMet  AnswerStatus = "partially_met"
	NotMet        AnswerStatus = "not_met"
	NotApplicable AnswerStatus = "not_applicable"
)

// An Answer is the answer for one requirement.
type Answer struct {
	Requirement string       `json:"requirement"`
	Status      AnswerStatus `json:"status"`
	Evidence    string       `json:"evidence"`
	Notes       string       `json:"notes,omitempty"`
}

// Document limits.
const (
	MaxDocumentItems = 2000
	maxItemText      = 4000
)

// A Document is a checked deliverable document: its kind, the build it
// names, and how many entries it holds (permissions and flows, or
// answers).
type Document struct {
	Kind    DeliverableKind
	Subject Subject
	Items   int
}

// ParseDocument reads a deliverable document of kind k for release r of
// app a: one JSON object of the kind's schema, no unknown fields, within
// [MaxDocumentSize], every entry complete, naming a's bundle ID and r's
// version, build (when given) and artifact digest. Anything else is a
// [fault.Invalid] error saying precisely what is wrong.
func ParseDocument(k DeliverableKind, b []byte, a App, r Release) (Document, error) {
	what := "the " + k.Title() + " is not valid"
	if !k.IsDocument() {
		return Document{}, Errors{{Field: "kind", Message: fmt.Sprintf("%s is not a document: %s and %s are; scan reports and SBOMs are imported as scans", clip(string(k)), DataFlowManifest, Traceability)}}.Err("the deliverable is not valid")
	}
	if len(b) > MaxDocumentSize {
		return Document{}, Errors{{Field: "document", Message: fmt.Sprintf("is larger than %d bytes", MaxDocumentSize)}}.Err(what)
	}
	var errs Errors
	doc := Document{Kind: k}
	switch k {
	case DataFlowManifest:
		var d DataFlow
		if err := decodeStrict(b, &d); err != nil {
			return Document{}, Errors{{Field: "document", Message: err.Error()}}.Err(what)
		}
		errs.schema(d.Schema, DataFlowSchema)
		errs.subject(d.App, a, r)
		errs.dataFlow(d)
		doc.Subject, doc.Items = d.App, len(d.Permissions)+len(d.Flows)
	case Traceability:
		var t TraceabilityAnswers
		if err := decodeStrict(b, &t); err != nil {
			return Document{}, Errors{{Field: "document", Message: err.Error()}}.Err(what)
		}
		errs.schema(t.Schema, TraceabilitySchema)
		errs.subject(t.App, a, r)
		errs.answers(t.Answers)
		doc.Subject, doc.Items = t.App, len(t.Answers)
	}
	if err := errs.Err(what); err != nil {
		return Document{}, err
	}
	return doc, nil
}

func (e *Errors) schema(got, want string) {
	if got != want {
		e.Add("schema", fmt.Sprintf("must be %q, not %q", want, clip(got)))
	}
}

// subject checks that a document names build r of app a.
func (e *Errors) subject(s Subject, a App, r Release) {
	switch {
	case s.BundleID == "":
		e.Add("app.bundle_id", "is required")
	case s.BundleID != a.BundleID:
		e.Add("app.bundle_id", fmt.Sprintf("names %q, but the release is of %s", clip(s.BundleID), a.BundleID))
	}
	switch {
	case s.Version == "":
		e.Add("app.version", "is required")
	case s.Version != r.Version:
		e.Add("app.version", fmt.Sprintf("names version %q, but the release is version %s", clip(s.Version), r.Version))
	}
	if s.Build != "" && s.Build != r.Build {
		e.Add("app.build", fmt.Sprintf("names build %q, but the release is build %s", clip(s.Build), r.Build))
	}
	d, err := NormalizeSHA256(s.SHA256)
	switch {
	case s.SHA256 == "":
		e.Add("app.sha256", "is required: the artifact's SHA-256 digest")
	case err != nil:
		e.Add("app.sha256", "is not a SHA-256 digest (64 hex digits)")
	case d != r.SHA256:
		e.Add("app.sha256", fmt.Sprintf("names artifact %s…, but the release's artifact is %s…", Short(d), Short(r.SHA256)))
	}
}

func (e *Errors) dataFlow(d DataFlow) {
	if d.Permissions == nil {
		e.Add("permissions", "list the permissions the app requests ([] when none)")
	}
	if d.Flows == nil {
		e.Add("data_flows", "list the data the app sends off the device ([] when none)")
	}
	if len(d.Permissions)+len(d.Flows) > MaxDocumentItems {
		e.Add("document", fmt.Sprintf("has more than %d permissions and flows", MaxDocumentItems))
		return
	}
	seen := map[string]bool{}
	for i, p := range d.Permissions {
		f := func(n string) string { return fmt.Sprintf("permissions[%d].%s", i, n) }
		e.text(f("name"), p.Name, 1, 200)
		if seen[p.Name] {
			e.Add(f("name"), fmt.Sprintf("%q is listed twice", clip(p.Name)))
		}
		seen[p.Name] = true
		e.para(f("purpose"), p.Purpose, 1, maxItemText)
	}
	for i, fl := range d.Flows {
		f := func(n string) string { return fmt.Sprintf("data_flows[%d].%s", i, n) }
		e.text(f("data"), fl.Data, 1, 200)
		e.text(f("destination"), fl.Destination, 1, 500)
		e.para(f("purpose"), fl.Purpose, 1, maxItemText)
		if fl.Encrypted == nil {
			e.Add(f("encrypted_in_transit"), "is required: true or false")
		}
		e.para(f("retention"), fl.Retention, 1, maxItemText)
	}
}

func (e *Errors) answers(as []Answer) {
	switch {
	case len(as) == 0:
		e.Add("answers", "answer at least one requirement")
		return
	case len(as) > MaxDocumentItems:
		e.Add("answers", fmt.Sprintf("at most %d answers", MaxDocumentItems))
		return
	}
	seen := map[string]bool{}
	statuses := []AnswerStatus{Met, PartiallyMet, NotMet, NotApplicable}
	for i, a := range as {
		f := func(n string) string { return fmt.Sprintf("answers[%d].%s", i, n) }
		e.text(f("requirement"), a.Requirement, 1, 100)
		key := strings.ToLower(strings.TrimSpace(a.Requirement))
		if key != "" && seen[key] {
			e.Add(f("requirement"), fmt.Sprintf("%q is answered twice", clip(a.Requirement)))
		}
		seen[key] = true
		if !slices.Contains(statuses, a.Status) {
			e.Add(f("status"), fmt.Sprintf("is met, partially_met, not_met or not_applicable, not %q", clip(string(a.Status))))
		}
		e.para(f("evidence"), a.Evidence, 1, maxItemText)
		e.para(f("notes"), a.Notes, 0, maxItemText)
	}
}
