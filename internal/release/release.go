// Package release holds the rules of the mobile-app release gate: apps
// (each a system of the privacy inventory with its own PIA) and their
// releases bound to an artifact's SHA-256 digest; scan policies, versioned
// data saying which scan types each release needs, which severity blocks,
// which roles run each scan and review its results, and how many days each
// severity may stay open; the triage of findings (new → confirmed, false
// positive, accepted risk under an expiring exception, or fixed, and
// resolved by a re-scan that no longer reports them), with overdue
// computed from the policy's SLA, never typed in; the contractor
// deliverables a release owes and the documents Probity defines for the
// ones that are not scan reports; and [Gate], which decides whether a
// release may be approved and says every reason it may not.
//
// Nothing here stores anything: the store gathers a [GateInput] inside
// the transaction that records the decision.
package release

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/fault"
)

// A Platform is the mobile platform an app is built for.
type Platform string

// Platforms.
const (
	IOS     Platform = "ios"
	Android Platform = "android"
)

// Platforms returns every platform.
func Platforms() []Platform { return []Platform{IOS, Android} }

// Valid reports whether p is a known platform.
func (p Platform) Valid() bool { return slices.Contains(Platforms(), p) }

// Title returns the platform's name for people.
func (p Platform) Title() string {
	switch p {
	case IOS:
		return "iOS"
	case Android:
		return "Android"
	}
	return string(p)
}

// An App is a mobile app whose releases go through the gate. It is a
// system of the privacy inventory (its component is the system's) and has
// its own PIA, which must be current for a release to be approved.
type App struct {
	ID   int64
	Name string
	// Component is the linked system's component: everything about the
	// app is scoped by it.
	Component string
	Platform  Platform
	// BundleID is the iOS bundle identifier or the Android package name,
	// unique per platform.
	BundleID string
	// Developer is the organization (usually a contractor) that builds the
	// app and owes its deliverables.
	Developer string
	SystemID  int64
	PIAID     int64
	// PolicyVersion is the version of the app's scan policy in force.
	PolicyVersion int
	CreatedBy     string // ledger actor ID
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

var (
	iosBundle  = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)
	androidPkg = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$`)
)

// MaxBundleID is the longest bundle or package ID accepted.
const MaxBundleID = 155

// Normalize trims a's text fields.
func (a *App) Normalize() {
	a.Name = strings.TrimSpace(a.Name)
	a.BundleID = strings.TrimSpace(a.BundleID)
	a.Developer = strings.TrimSpace(a.Developer)
}

// Validate reports whether a is well formed. It does not check that the
// system and PIA exist: the store does.
func (a App) Validate() error {
	var errs Errors
	errs.text("name", a.Name, 1, 200)
	if !a.Platform.Valid() {
		errs.Add("platform", fmt.Sprintf("is ios or android, not %q", clip(string(a.Platform))))
	}
	switch {
	case a.BundleID == "":
		errs.Add("bundle_id", "is required (the iOS bundle ID or Android package name)")
	case len(a.BundleID) > MaxBundleID:
		errs.Add("bundle_id", fmt.Sprintf("must be at most %d characters", MaxBundleID))
	case a.Platform == IOS && !iosBundle.MatchString(a.BundleID):
		errs.Add("bundle_id", "is not an iOS bundle ID (reverse-DNS: letters, digits and hyphens in dot-separated parts, e.g. gov.dhs.cbp.mpc)")
	case a.Platform == Android && !androidPkg.MatchString(a.BundleID):
		errs.Add("bundle_id", "is not an Android package name (dot-separated parts of letters, digits and underscores, each starting with a letter, e.g. gov.dhs.cbp.mpc)")
	}
	errs.text("developer", a.Developer, 1, 200)
	if a.SystemID <= 0 {
		errs.Add("system_id", "name the app's system in the privacy inventory")
	}
	if a.PIAID <= 0 {
		errs.Add("pia_id", "name the app's Privacy Impact Assessment")
	}
	return errs.Err("the app is not valid")
}

// A Status is where a release stands.
type Status string

// Statuses.
const (
	// Submitted: recorded, collecting scans and deliverables, not yet
	// approved.
	Submitted Status = "submitted"
	// Approved: an authorized person other than the submitter approved it
	// through the gate.
	Approved Status = "approved"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s == Submitted || s == Approved }

// A DigestSource says where a release's artifact digest came from.
type DigestSource string

// Digest sources.
const (
	Uploaded DigestSource = "upload"   // Probity computed it from the uploaded artifact
	Declared DigestSource = "declared" // a build pipeline declared it
)

// Valid reports whether s is a known digest source.
func (s DigestSource) Valid() bool { return s == Uploaded || s == Declared }

// A Release is one build of an app submitted for the gate, bound to its
// artifact's SHA-256 digest: scans and deliverables are of that artifact,
// and the gate's decision is for it alone.
type Release struct {
	ID        int64
	AppID     int64
	Component string
	// Version is the version the store shows (e.g. 3.2.1); Build the
	// build number or version code.
	Version string
	Build   string
	// SHA256 is the artifact's digest: 64 lowercase hex digits.
	SHA256       string
	DigestSource DigestSource
	// StoreListing refers to the version's store listing (a URL or a store
	// ID); "" when not yet listed.
	StoreListing string
	SubmitterID  int64
	Submitter    string // employee ID
	Status       Status
	ApproverID   int64
	Approver     string
	ApprovedAt   time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

var (
	versionRe = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$`)
	buildRe   = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$`)
)

// Normalize trims r's text fields and normalizes its digest's spelling
// (see [NormalizeSHA256]); an unreadable digest is left for Validate.
func (r *Release) Normalize() {
	r.Version = strings.TrimSpace(r.Version)
	r.Build = strings.TrimSpace(r.Build)
	r.StoreListing = strings.TrimSpace(r.StoreListing)
	if d, err := NormalizeSHA256(r.SHA256); err == nil {
		r.SHA256 = d
	}
	if r.DigestSource == "" {
		r.DigestSource = Declared
	}
}

// Validate reports whether r is well formed.
func (r Release) Validate() error {
	var errs Errors
	if r.AppID <= 0 {
		errs.Add("app_id", "name the app")
	}
	if !versionRe.MatchString(r.Version) {
		errs.Add("version", "must be 1 to 64 letters, digits, dots, pluses, underscores and hyphens, starting with a letter or digit (e.g. 3.2.1)")
	}
	if !buildRe.MatchString(r.Build) {
		errs.Add("build", "must be 1 to 64 letters, digits, dots, underscores and hyphens, starting with a letter or digit (e.g. 451)")
	}
	if _, err := NormalizeSHA256(r.SHA256); err != nil {
		errs.Add("sha256", fault.MessageOf(err))
	}
	if !r.DigestSource.Valid() {
		errs.Add("digest_source", fmt.Sprintf("is upload or declared, not %q", clip(string(r.DigestSource))))
	}
	errs.text("store_listing", r.StoreListing, 0, 500)
	return errs.Err("the release is not valid")
}

// NormalizeSHA256 returns a SHA-256 digest as 64 lowercase hex digits. It
// accepts upper case and a "sha256:" prefix, and refuses anything else.
func NormalizeSHA256(s string) (string, error) {
	d := strings.ToLower(strings.TrimSpace(s))
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) != 64 {
		return "", fault.New(fault.Invalid, "a SHA-256 digest is 64 hex digits, not %d characters", utf8.RuneCountInString(d))
	}
	if _, err := hex.DecodeString(d); err != nil {
		return "", fault.New(fault.Invalid, "a SHA-256 digest is 64 hex digits (0-9, a-f)")
	}
	return d, nil
}

// Short returns the first 12 hex digits of a digest, for messages.
func Short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}

// Errors collects what is wrong with the fields of an app, release,
// policy, exception or document.
type Errors []FieldError

// A FieldError says what is wrong with one field.
type FieldError struct {
	// Field is the field's JSON path, e.g. "scans[1].run_by".
	Field   string `json:"field"`
	Message string `json:"message"`
}

// A ValidationError lists every field that is wrong. It is the internal
// cause of a [fault.Invalid] error whose message names them all.
type ValidationError struct {
	What   string // e.g. "the scan policy is not valid"
	Fields []FieldError
}

// Error names the fields only: the message of the [fault.Error] that wraps
// e says what is wrong with each.
func (e *ValidationError) Error() string {
	names := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		names[i] = f.Field
	}
	return "invalid fields: " + strings.Join(names, ", ")
}

// Add adds what is wrong with a field.
func (e *Errors) Add(field, msg string) { *e = append(*e, FieldError{Field: field, Message: msg}) }

// text checks a one-line text field.
func (e *Errors) text(field, s string, minLen, maxLen int) {
	if msg := checkText(s, minLen, maxLen, false); msg != "" {
		e.Add(field, msg)
	}
}

// para checks a multi-line text field.
func (e *Errors) para(field, s string, minLen, maxLen int) {
	if msg := checkText(s, minLen, maxLen, true); msg != "" {
		e.Add(field, msg)
	}
}

// Err returns nil when no field is wrong, else a [fault.Invalid] error
// wrapping a [*ValidationError]; what says what was being checked.
func (e Errors) Err(what string) error {
	if len(e) == 0 {
		return nil
	}
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.Field + " " + f.Message
	}
	return &fault.Error{Code: fault.Invalid, Message: what + ": " + strings.Join(parts, "; "), Err: &ValidationError{What: what, Fields: e}}
}

// checkText reports what is wrong with a text field, "" if nothing: valid
// UTF-8, minLen to maxLen characters, no control or invisible characters
// (line breaks and tabs allowed when multiline).
func checkText(s string, minLen, maxLen int, multiline bool) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8 text"
	}
	if minLen > 0 && strings.TrimSpace(s) == "" {
		return "is required"
	}
	n := utf8.RuneCountInString(s)
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
			if multiline {
				return "must not contain control or invisible characters"
			}
			return "must not contain control or invisible characters (line breaks included)"
		}
	}
	return ""
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(s[:40], "") + "…"
	}
	return strings.ToValidUTF8(s, "")
}
