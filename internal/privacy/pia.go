package privacy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// A Section is one text section of Probity's PIA template.
type Section struct {
	Key    string `json:"key"` // the document field
	Title  string `json:"title"`
	Prompt string `json:"prompt"` // what the section must answer
}

// Sections returns the template's text sections, in order. Legal
// authorities (a list) follow the overview; identified risks (each with a
// mitigation) close the document.
func Sections() []Section {
	return []Section{
		{"overview", "Overview", "What the system or data source is, whom it is about, why the department needs it, and how Probity mediates every use."},
		{"characterization", "Characterization of the information", "Which information is collected, from whom and from which sources, how accurate it is, and why each category is necessary."},
		{"uses", "Uses of the information", "How the information is used, by whom, under which conditions; what analyses and outputs are produced; what use is forbidden."},
		{"notice", "Notice", "How individuals are told about the collection (SORN, this PIA, other notice), and where notice is not possible, why."},
		{"retention", "Retention", "How long each kind of record is kept, under which approved records schedule, and how it is disposed of."},
		{"sharing", "Information sharing", "With whom, inside and outside the department, the information or results are shared, under what agreements and controls."},
		{"redress", "Redress", "How individuals can seek access to and correction of records, and how they are told of the procedures."},
		{"auditing", "Auditing and accountability", "How use is limited to what this PIA describes: roles, training, rules of behavior, supervisory review, audit logs and their review."},
	}
}

// SectionKeys returns the keys of every part of a PIA a risk may relate
// to: the text sections and legal_authorities.
func SectionKeys() []string {
	keys := []string{"legal_authorities"}
	for _, s := range Sections() {
		keys = append(keys, s.Key)
	}
	return keys
}

// A Level is the residual level of a risk after its mitigation.
type Level string

// Residual risk levels.
const (
	RiskLow      Level = "low"
	RiskModerate Level = "moderate"
	RiskHigh     Level = "high"
)

// A Risk is one privacy risk the assessment identifies, with its
// mitigation.
type Risk struct {
	// Section is the part of the PIA the risk relates to (see
	// [SectionKeys]).
	Section     string `json:"section"`
	Description string `json:"description"`
	Mitigation  string `json:"mitigation"`
	Residual    Level  `json:"residual"`
}

// A Document is one version of a Privacy Impact Assessment, in Probity's
// template.
type Document struct {
	Overview         string   `json:"overview"`
	LegalAuthorities []string `json:"legal_authorities"`
	Characterization string   `json:"characterization"`
	Uses             string   `json:"uses"`
	Notice           string   `json:"notice"`
	Retention        string   `json:"retention"`
	Sharing          string   `json:"sharing"`
	Redress          string   `json:"redress"`
	Auditing         string   `json:"auditing"`
	Risks            []Risk   `json:"risks"`
}

// Limits of a document.
const (
	MaxSectionLen   = 20_000 // characters of one text section
	MinSectionLen   = 40     // characters of a complete section
	MaxAuthorities  = 30
	MaxAuthorityLen = 300
	MaxRisks        = 50
	MaxRiskTextLen  = 4_000
	MinRiskTextLen  = 20
	MaxDocumentSize = 60 << 10 // bytes of the encoded document
)

// section returns the text of the section key.
func (d *Document) section(key string) *string {
	switch key {
	case "overview":
		return &d.Overview
	case "characterization":
		return &d.Characterization
	case "uses":
		return &d.Uses
	case "notice":
		return &d.Notice
	case "retention":
		return &d.Retention
	case "sharing":
		return &d.Sharing
	case "redress":
		return &d.Redress
	case "auditing":
		return &d.Auditing
	}
	return nil
}

// Normalize makes line endings "\n" and removes trailing blank space from
// every line, so that versions differ only where their text does.
func (d *Document) Normalize() {
	for _, s := range Sections() {
		p := d.section(s.Key)
		*p = normalizeText(*p)
	}
	for i := range d.LegalAuthorities {
		d.LegalAuthorities[i] = strings.TrimSpace(d.LegalAuthorities[i])
	}
	for i := range d.Risks {
		r := &d.Risks[i]
		r.Section = strings.TrimSpace(r.Section)
		r.Description = normalizeText(r.Description)
		r.Mitigation = normalizeText(r.Mitigation)
	}
	if d.LegalAuthorities == nil {
		d.LegalAuthorities = []string{}
	}
	if d.Risks == nil {
		d.Risks = []Risk{}
	}
}

func normalizeText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// ValidateDraft checks what every saved version must respect, complete or
// not: sizes, valid text, known sections and levels.
func (d Document) ValidateDraft() error {
	return d.validate(false).Err("the PIA is not valid")
}

// ValidateComplete checks that the document can be submitted: every
// section answered, at least one legal authority, and every identified
// risk described, mitigated and rated.
func (d Document) ValidateComplete() error {
	return d.validate(true).Err("the PIA is incomplete")
}

func (d Document) validate(complete bool) Errors {
	var errs Errors
	minSection, minRisk, minAuth := 0, 0, 0
	if complete {
		minSection, minRisk, minAuth = MinSectionLen, MinRiskTextLen, 1
	}
	section := func(key string) {
		if msg := checkText(*d.section(key), minSection, MaxSectionLen, true); msg != "" {
			errs.add(key, msg)
		}
	}
	// In template order: the overview, the legal authorities, the other
	// sections, the risks.
	section("overview")
	switch {
	case len(d.LegalAuthorities) < minAuth:
		errs.add("legal_authorities", "cite at least one legal authority for the collection (e.g. a statute or executive order)")
	case len(d.LegalAuthorities) > MaxAuthorities:
		errs.add("legal_authorities", fmt.Sprintf("at most %d legal authorities", MaxAuthorities))
	}
	for i, a := range d.LegalAuthorities {
		if msg := checkText(a, 1, MaxAuthorityLen, false); msg != "" {
			errs.add(fmt.Sprintf("legal_authorities[%d]", i), msg)
		}
	}
	for _, s := range Sections()[1:] {
		section(s.Key)
	}
	switch {
	case complete && len(d.Risks) == 0:
		errs.add("risks", "identify at least one privacy risk and its mitigation; a PIA that finds no risk has not looked")
	case len(d.Risks) > MaxRisks:
		errs.add("risks", fmt.Sprintf("at most %d risks", MaxRisks))
	}
	for i, r := range d.Risks {
		f := func(name string) string { return fmt.Sprintf("risks[%d].%s", i, name) }
		if !slices.Contains(SectionKeys(), r.Section) && (complete || r.Section != "") {
			errs.add(f("section"), fmt.Sprintf("%q is not a part of the PIA; use one of %s", r.Section, strings.Join(SectionKeys(), ", ")))
		}
		if msg := checkText(r.Description, minRisk, MaxRiskTextLen, true); msg != "" {
			errs.add(f("description"), msg)
		}
		if msg := checkText(r.Mitigation, minRisk, MaxRiskTextLen, true); msg != "" {
			errs.add(f("mitigation"), msg)
		}
		if !(r.Residual == RiskLow || r.Residual == RiskModerate || r.Residual == RiskHigh) && (complete || r.Residual != "") {
			errs.add(f("residual"), fmt.Sprintf("the residual risk is low, moderate or high, not %q", r.Residual))
		}
	}
	return errs
}

// Encode returns the document's stored form: JSON with the template's
// field order, so that equal documents encode equally.
func (d Document) Encode() []byte {
	b, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("privacy: encode document: %v", err)) // strings and slices always encode
	}
	return b
}

// DecodeDocument reads a document from JSON: exactly one object, no
// unknown fields, within [MaxDocumentSize]. It normalizes the document and
// checks it with [Document.ValidateDraft].
func DecodeDocument(b []byte) (Document, error) {
	var d Document
	if len(b) > MaxDocumentSize {
		return d, Errors{{Field: "document", Message: fmt.Sprintf("is larger than %d bytes", MaxDocumentSize)}}.Err("the PIA is not valid")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Document{}, Errors{{Field: "document", Message: jsonProblem(err)}}.Err("the PIA is not valid")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Document{}, Errors{{Field: "document", Message: "has data after its JSON object"}}.Err("the PIA is not valid")
	}
	d.Normalize()
	if err := d.ValidateDraft(); err != nil {
		return Document{}, err
	}
	return d, nil
}

func jsonProblem(err error) string {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("is not valid JSON (syntax error at byte %d)", se.Offset)
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if te.Field != "" {
			return fmt.Sprintf("field %q must be %s", te.Field, te.Type)
		}
		return fmt.Sprintf("must be a JSON object, not %s", te.Value)
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field") {
		return "has an " + strings.TrimPrefix(msg, "json: ") + " (the template's fields are " + strings.Join(append(SectionKeys(), "risks"), ", ") + ")"
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "is empty or cut short"
	}
	return "is not valid JSON"
}

// A Version is one saved version of a PIA. Versions are never changed.
type Version struct {
	Number    int
	Document  Document
	Digest    string // ledger.PayloadDigest of Document.Encode()
	AuthorID  int64
	Note      string
	CreatedAt time.Time
}
