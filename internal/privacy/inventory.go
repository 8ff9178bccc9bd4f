// Package privacy holds the privacy compliance program's rules: the
// inventory of systems and data sources, the Privacy Threshold Analysis
// that decides whether a Privacy Impact Assessment (and a SORN) is needed,
// the PIA template and its validation, the review workflow with its
// separation of duties, the diff between versions of a PIA, privacy
// compliance reviews, and the gate that derives whether a data source may
// be used at all.
//
// Nothing here sets a data source usable: [EvaluateGate] derives it from
// the PIA in force, the rules of behavior, the connector credential and
// any suspension, and a refusal lists every missing piece with who can fix
// it.
package privacy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/fault"
)

// An Impact is a FIPS 199 security categorization.
type Impact string

// FIPS 199 impact levels.
const (
	Low      Impact = "low"
	Moderate Impact = "moderate"
	High     Impact = "high"
)

func (i Impact) valid() bool { return i == Low || i == Moderate || i == High }

// A System is an information system in the inventory: what a data source
// runs within, with the people accountable for it and its authority to
// operate.
type System struct {
	ID        int64
	Name      string
	Component string
	// OwnerID is the system owner; ISSOID the information system security
	// officer, who holds the security officer role in the component.
	OwnerID int64
	ISSOID  int64
	Impact  Impact
	// ATOGranted and ATOExpires bound the authority to operate; both zero
	// when none has been granted yet.
	ATOGranted time.Time
	ATOExpires time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Validate reports whether s is well formed.
func (s System) Validate() error {
	var errs Errors
	errs.text("name", s.Name, 1, 200)
	if s.Component == "" {
		errs.add("component", "a system belongs to a component")
	}
	if s.OwnerID <= 0 {
		errs.add("owner_id", "name the system owner (a person)")
	}
	if s.ISSOID <= 0 {
		errs.add("isso_id", "name the information system security officer (a person)")
	}
	if !s.Impact.valid() {
		errs.add("impact", fmt.Sprintf("the FIPS 199 impact level is low, moderate or high, not %q", s.Impact))
	}
	switch {
	case s.ATOGranted.IsZero() && !s.ATOExpires.IsZero():
		errs.add("ato_granted", "an authority to operate that expires must have been granted")
	case !s.ATOGranted.IsZero() && s.ATOExpires.IsZero():
		errs.add("ato_expires", "an authority to operate has an expiry date")
	case !s.ATOGranted.IsZero() && !s.ATOExpires.After(s.ATOGranted):
		errs.add("ato_expires", "the authority to operate must expire after it was granted")
	case !s.ATOGranted.IsZero() && s.ATOExpires.Sub(s.ATOGranted) > 5*366*24*time.Hour:
		errs.add("ato_expires", "an authority to operate lasts at most five years")
	}
	return errs.Err("the system is not valid")
}

// ATOStatus describes the authority to operate at now: "none", "current"
// or "expired".
func (s System) ATOStatus(now time.Time) string {
	switch {
	case s.ATOGranted.IsZero():
		return "none"
	case now.Before(s.ATOExpires):
		return "current"
	}
	return "expired"
}

// A Connector is how Probity reaches a data source's data.
type Connector string

// Connectors.
const (
	// LocalStore is Probity's own telemetry store, loaded by imports.
	LocalStore Connector = "local_store"
	// VendorAPI is a vendor's HTTP API, called with a credential only
	// Probity holds.
	VendorAPI Connector = "vendor_api"
)

// Connectors returns every connector type.
func Connectors() []Connector { return []Connector{LocalStore, VendorAPI} }

// NeedsCredential reports whether the connector calls out with a
// credential that must be configured before use.
func (c Connector) NeedsCredential() bool { return c == VendorAPI }

// A Source is a data source: where sensitive data comes from, under what
// contract, of which categories, through which connector, within which
// system, and governed by which rules of behavior.
type Source struct {
	ID int64
	// Name identifies the source in commands and in its rules of behavior
	// key (source:NAME): lowercase letters, digits, dots, dashes and
	// underscores.
	Name      string
	Title     string
	Component string // the linked system's component
	SystemID  int64
	Vendor    string
	// ContractNumber and the contract period; the period may be open
	// (zero) for a source Probity itself produces.
	ContractNumber string
	ContractStart  time.Time
	ContractEnd    time.Time
	// Categories are the data categories the source provides, e.g.
	// device_location, advertising_id; sorted and unique.
	Categories []string
	Connector  Connector
	// RulesKey names the rules of behavior that govern the source's use:
	// "source:" + Name unless another key is given.
	RulesKey string
	// CredentialRef says where the connector credential is kept (a
	// reference such as "sealed:cbp-venntel"), never the secret; empty
	// when none is configured.
	CredentialRef          string
	CredentialConfiguredAt time.Time
	// A suspended source is unusable whatever else holds.
	SuspendedAt     time.Time
	SuspendedBy     string
	SuspendedReason string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Suspended reports whether s is suspended.
func (s Source) Suspended() bool { return !s.SuspendedAt.IsZero() }

// CredentialConfigured reports whether the connector's credential is
// configured (or the connector needs none).
func (s Source) CredentialConfigured() bool {
	return !s.Connector.NeedsCredential() || s.CredentialRef != ""
}

var (
	sourceName  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)
	category    = regexp.MustCompile(`^[a-z][a-z0-9_]{1,47}$`)
	rulesKeyRe  = regexp.MustCompile(`^(program|source):[a-z0-9][a-z0-9._-]{0,63}$`)
	credentialR = regexp.MustCompile(`^[a-z][a-z0-9+.-]{0,15}:[A-Za-z0-9._/-]{1,200}$`)
)

// Normalize trims s's text, sorts and deduplicates its categories, and
// gives it its default rules key.
func (s *Source) Normalize() {
	s.Name = strings.TrimSpace(s.Name)
	s.Title = strings.TrimSpace(s.Title)
	s.Vendor = strings.TrimSpace(s.Vendor)
	s.ContractNumber = strings.TrimSpace(s.ContractNumber)
	s.Categories = NormalizeCategories(s.Categories)
	if s.RulesKey == "" && s.Name != "" {
		s.RulesKey = "source:" + s.Name
	}
}

// NormalizeCategories returns the categories trimmed, sorted and without
// duplicates.
func NormalizeCategories(cs []string) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, strings.TrimSpace(c))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Validate reports whether s is well formed; call [Source.Normalize]
// first.
func (s Source) Validate() error {
	var errs Errors
	if !sourceName.MatchString(s.Name) {
		errs.add("name", fmt.Sprintf("%q must be 2 to 64 lowercase letters, digits, dots, dashes or underscores, starting with a letter or digit", s.Name))
	}
	errs.text("title", s.Title, 1, 200)
	if s.SystemID <= 0 {
		errs.add("system_id", "link the source to the system it is used within")
	}
	errs.text("vendor", s.Vendor, 1, 200)
	errs.text("contract_number", s.ContractNumber, 1, 100)
	if !s.ContractStart.IsZero() && !s.ContractEnd.IsZero() && !s.ContractEnd.After(s.ContractStart) {
		errs.add("contract_end", "the contract must end after it starts")
	}
	if len(s.Categories) == 0 {
		errs.add("categories", "list the data categories the source provides, e.g. device_location")
	}
	if len(s.Categories) > 32 {
		errs.add("categories", "at most 32 data categories")
	}
	for i, c := range s.Categories {
		if !category.MatchString(c) {
			errs.add(fmt.Sprintf("categories[%d]", i), fmt.Sprintf("%q must be 2 to 48 lowercase letters, digits or underscores, starting with a letter", c))
		}
	}
	if !slices.Contains(Connectors(), s.Connector) {
		errs.add("connector", fmt.Sprintf("the connector is local_store or vendor_api, not %q", s.Connector))
	}
	if !rulesKeyRe.MatchString(s.RulesKey) {
		errs.add("rules_key", fmt.Sprintf("%q must be source:NAME or program:NAME", s.RulesKey))
	}
	return errs.Err("the data source is not valid")
}

// ValidateCredentialRef reports whether ref is a credential reference: a
// scheme, a colon and a path (e.g. "sealed:cbp-venntel",
// "vault:kv/cbp/venntel"). References name where a secret is kept; the
// secret itself never passes through here.
func ValidateCredentialRef(ref string) error {
	if !credentialR.MatchString(ref) {
		return fault.New(fault.Invalid, "the credential reference must be SCHEME:PATH (e.g. sealed:cbp-venntel), at most 200 characters of letters, digits and . _ / -; it names where the credential is kept, never the credential itself")
	}
	return nil
}

// ChangesNeedingPIAUpdate returns the fields whose change from old to new
// makes the source's PIA out of date: the vendor, the data categories and
// the connector.
func ChangesNeedingPIAUpdate(old, new Source) []string {
	var out []string
	if !strings.EqualFold(old.Vendor, new.Vendor) {
		out = append(out, "vendor")
	}
	if !slices.Equal(NormalizeCategories(old.Categories), NormalizeCategories(new.Categories)) {
		out = append(out, "categories")
	}
	if old.Connector != new.Connector {
		out = append(out, "connector")
	}
	return out
}

// checkText reports what is wrong with a text field, "" if nothing.
func checkText(s string, minLen, maxLen int, multiline bool) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8 text"
	}
	n := utf8.RuneCountInString(s)
	if minLen > 0 && strings.TrimSpace(s) == "" {
		return "is required"
	}
	if n < minLen {
		return fmt.Sprintf("must be at least %d characters", minLen)
	}
	if n > maxLen {
		return fmt.Sprintf("must be at most %d characters", maxLen)
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if !unicode.IsPrint(r) && r != ' ' {
			return "must not contain control or invisible characters"
		}
	}
	return ""
}
