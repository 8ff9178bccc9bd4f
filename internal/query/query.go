// Package query holds the rules of a location query as Probity sees it,
// apart from any storage or transport: what a request must say and within
// which bounds, how risky it is and so who must approve it first, how a
// source's device identifiers become per-case pseudonyms, and the shape and
// digest of a result set.
//
// The audited query path (package access) applies these rules; the ledger
// commits to a result's [Result.Digest], so that purging the result later
// leaves the ledger verifiable.
package query

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/geo"
)

// A Kind is what a query asks.
type Kind string

// Kinds.
const (
	Area          Kind = "area"           // devices seen in an area during a window
	DeviceHistory Kind = "device_history" // one device's pings during a window
	Unmask        Kind = "unmask"         // the real identifier behind a pseudonym
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == Area || k == DeviceHistory || k == Unmask }

// A Status is where a query stands.
type Status string

// Statuses. A query is stored from its first decision on: refused ones too.
const (
	Refused          Status = "refused"           // the checks or the policy said no; nothing ran
	AwaitingApproval Status = "awaiting_approval" // its risk needs approval before it runs
	Approved         Status = "approved"          // every required approval is in; the requester may run it
	Rejected         Status = "rejected"          // an approver said no
	Expired          Status = "expired"           // approved, but not run in time
	Running          Status = "running"           // the connector is being asked
	Completed        Status = "completed"         // results stored and returned
	Withheld         Status = "withheld"          // results stored but withheld pending privacy review
	Failed           Status = "failed"            // the connector failed or the results were refused; nothing stored
)

// Final reports whether a query in status s can change no more (apart
// from its results being purged).
func (s Status) Final() bool {
	switch s {
	case Refused, Rejected, Expired, Completed, Withheld, Failed:
		return true
	}
	return false
}

// A Circle is a search area given as a centre and a radius.
type Circle struct {
	Lat     float64 `json:"lat"`
	Lon     float64 `json:"lon"`
	RadiusM float64 `json:"radius_m"`
}

// A Request is what a person asks. Exactly the members its kind needs are
// set: an area search an Area (GeoJSON) or a Circle; a device history a
// Device (a pseudonym from an earlier result of the case, or a raw
// identifier revealed to the requester by an approved unmasking); an
// unmasking a Device pseudonym.
type Request struct {
	Kind          Kind            `json:"kind"`
	Case          string          `json:"case"`
	Source        string          `json:"source"`
	Justification string          `json:"justification"`
	Area          json.RawMessage `json:"area,omitempty"`
	Circle        *Circle         `json:"circle,omitempty"`
	Device        string          `json:"device,omitempty"`
	From          time.Time       `json:"from,omitzero"`
	To            time.Time       `json:"to,omitzero"`
	// LegalProcess is the warrant or court-order reference on the case
	// that the request relies on (device histories need one where the
	// policy says so).
	LegalProcess string `json:"legal_process,omitempty"`
	// BreakGlass asks to run without pre-approval in an emergency, with a
	// mandatory reason (reviewed within 24 hours).
	BreakGlass string `json:"break_glass,omitempty"`
}

// Limits bound what a request may ask.
type Limits struct {
	// MaxWindow is the longest time window.
	MaxWindow time.Duration
	// MaxLookback is how far in the past a window may start.
	MaxLookback time.Duration
	// MaxDevices and MaxPings bound a result; a query that would return
	// more fails and asks for a narrower search.
	MaxDevices int
	MaxPings   int
	Geo        geo.Limits
}

// DefaultLimits returns the limits Probity applies unless configured
// otherwise.
func DefaultLimits() Limits {
	return Limits{MaxWindow: 31 * 24 * time.Hour, MaxLookback: 5 * 365 * 24 * time.Hour, MaxDevices: 10_000, MaxPings: 100_000, Geo: geo.DefaultLimits()}
}

// A Checked request is a valid request with its area parsed and its window
// measured.
type Checked struct {
	Request
	AreaOf      *geo.Area // nil unless Kind is Area
	WindowHours int64     // rounded up
}

var (
	caseNumberR = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$`)
	sourceNameR = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
)

// Justification bounds, in characters.
const (
	MinJustification = 20
	MaxJustification = 2000
	maxDevice        = 200
)

// Check validates r at time now within lim, and parses its area. Every
// error is a [fault.Invalid] naming the field and what to do.
func (r Request) Check(now time.Time, lim Limits) (Checked, error) {
	c := Checked{Request: r}
	bad := func(format string, args ...any) (Checked, error) {
		return c, fault.New(fault.Invalid, format, args...)
	}
	if !r.Kind.Valid() {
		return bad("kind %q is not a query kind: use area, device_history or unmask", clip(string(r.Kind)))
	}
	if !caseNumberR.MatchString(r.Case) {
		return bad("case: give the number of an open case you are a member of (letters, digits, . _ / -)")
	}
	if !sourceNameR.MatchString(r.Source) {
		return bad("source: give the name of a data source (lowercase letters, digits, . _ -)")
	}
	if err := checkText("justification", r.Justification, MinJustification, MaxJustification); err != nil {
		return c, err
	}
	if r.LegalProcess != "" && (utf8.RuneCountInString(r.LegalProcess) > 100 || !utf8.ValidString(r.LegalProcess) ||
		strings.ContainsFunc(r.LegalProcess, unicode.IsControl) || strings.TrimSpace(r.LegalProcess) != r.LegalProcess) {
		return bad("legal_process: give the warrant or court-order reference exactly as recorded on the case (at most 100 characters, no control characters)")
	}
	if r.BreakGlass != "" {
		if r.Kind == Unmask {
			return bad("break_glass: an unmasking is never an emergency; it needs approval")
		}
		if err := checkText("break_glass", r.BreakGlass, MinJustification, MaxJustification); err != nil {
			return c, err
		}
	}
	switch r.Kind {
	case Area:
		if r.Device != "" {
			return bad("device: an area search takes an area, not a device")
		}
		var err error
		switch {
		case len(r.Area) > 0 && r.Circle != nil:
			return bad("give either an area (GeoJSON) or a circle, not both")
		case len(r.Area) > 0:
			c.AreaOf, err = geo.ParseArea(r.Area, lim.Geo)
		case r.Circle != nil:
			c.AreaOf, err = geo.NewCircle(r.Circle.Lat, r.Circle.Lon, r.Circle.RadiusM, lim.Geo)
		default:
			return bad("an area search needs an area: a GeoJSON polygon or a circle (centre and radius)")
		}
		if err != nil {
			return c, fault.New(fault.Invalid, "area: %s", err.Error())
		}
	case DeviceHistory, Unmask:
		if len(r.Area) > 0 || r.Circle != nil {
			return bad("%s takes a device, not an area", r.Kind)
		}
		if r.Device == "" || len(r.Device) > maxDevice || !utf8.ValidString(r.Device) || strings.ContainsFunc(r.Device, unicode.IsControl) || strings.TrimSpace(r.Device) != r.Device {
			return bad("device: give a device's pseudonym from an earlier result of this case (e.g. p-…), at most %d characters", maxDevice)
		}
		if r.Kind == Unmask && !IsPseudonym(r.Device) {
			return bad("device: an unmasking names a pseudonym from a result of this case (p- and 20 letters and digits)")
		}
	}
	if r.Kind == Unmask {
		if !r.From.IsZero() || !r.To.IsZero() {
			return bad("an unmasking takes no time window")
		}
		return c, nil
	}
	switch {
	case r.From.IsZero() || r.To.IsZero():
		return bad("give the time window: from and to (RFC 3339, e.g. 2026-11-01T00:00:00Z)")
	case !r.From.Before(r.To):
		return bad("the window must start before it ends (from %s, to %s)", r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339))
	case r.To.Sub(r.From) > lim.MaxWindow:
		return bad("the window is %s long; the longest allowed is %s", human(r.To.Sub(r.From)), human(lim.MaxWindow))
	case r.From.After(now):
		return bad("the window starts in the future (%s)", r.From.UTC().Format(time.RFC3339))
	case now.Sub(r.From) > lim.MaxLookback:
		return bad("the window starts more than %s ago", human(lim.MaxLookback))
	}
	c.WindowHours = int64(math.Ceil(r.To.Sub(r.From).Hours()))
	return c, nil
}

// AreaKm2 returns the searched area, 0 for a device.
func (c Checked) AreaKm2() float64 {
	if c.AreaOf == nil {
		return 0
	}
	return c.AreaOf.AreaKm2()
}

func checkText(field, s string, minLen, maxLen int) error {
	n := utf8.RuneCountInString(strings.TrimSpace(s))
	switch {
	case !utf8.ValidString(s):
		return fault.New(fault.Invalid, "%s: not valid UTF-8 text", field)
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
		return fault.New(fault.Invalid, "%s: control characters are not allowed", field)
	case n < minLen:
		return fault.New(fault.Invalid, "%s: say why, in at least %d characters (the case's need for this data)", field, minLen)
	case n > maxLen:
		return fault.New(fault.Invalid, "%s: at most %d characters", field, maxLen)
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func human(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	if d >= 48*time.Hour {
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
	return fmt.Sprintf("%.1f hours", d.Hours())
}

// Pseudonyms.

// A CaseKey is the secret a case's pseudonyms are computed with.
type CaseKey []byte

// pseudonymEncoding is lowercase base32 without padding: no characters a
// reader confuses in print except 0/o, which base32 does not use.
var pseudonymEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Pseudonym returns the case's pseudonym of a source's device: "p-" and 20
// characters (100 bits) of HMAC-SHA256 keyed by the case. The same device
// has the same pseudonym throughout a case and unrelated ones in other
// cases; without the key nobody can link them.
func Pseudonym(key CaseKey, sourceID int64, device string) string {
	m := hmac.New(sha256.New, key)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(sourceID))
	m.Write(b[:])
	m.Write([]byte(device))
	return "p-" + pseudonymEncoding.EncodeToString(m.Sum(nil))[:20]
}

var pseudonymR = regexp.MustCompile(`^p-[a-z2-7]{20}$`)

// IsPseudonym reports whether s has a pseudonym's form.
func IsPseudonym(s string) bool { return pseudonymR.MatchString(s) }

// Results.

// A Device is one device an area search found, by pseudonym.
type Device struct {
	Device    string    `json:"device"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Pings     int       `json:"pings"`
}

// A Ping is one position of a device.
type Ping struct {
	Time      time.Time `json:"time"`
	Lat       float64   `json:"lat"`
	Lon       float64   `json:"lon"`
	AccuracyM float64   `json:"accuracy_m,omitempty"`
}

// A Result is what a query returned: devices (area), pings of one device
// (device history) or a revealed identifier (unmasking).
type Result struct {
	Kind     Kind     `json:"kind"`
	Devices  []Device `json:"devices,omitempty"`
	Device   string   `json:"device,omitempty"` // the pseudonym a history or unmasking is about
	Pings    []Ping   `json:"pings,omitempty"`
	Revealed string   `json:"revealed,omitempty"` // the real identifier an unmasking revealed
	// Salt is random: it keeps the result's digest, which the ledger
	// shows, from confirming a guess of the result (a guessed device
	// identifier, say).
	Salt string `json:"salt"`
}

// Count returns the number of result rows.
func (r Result) Count() int {
	switch r.Kind {
	case Area:
		return len(r.Devices)
	case DeviceHistory:
		return len(r.Pings)
	}
	if r.Revealed != "" {
		return 1
	}
	return 0
}

// Encode returns the result's stored form: compact JSON with times in UTC.
// Its SHA-256 is what the ledger commits to.
func (r Result) Encode() []byte {
	for i := range r.Devices {
		r.Devices[i].FirstSeen, r.Devices[i].LastSeen = r.Devices[i].FirstSeen.UTC(), r.Devices[i].LastSeen.UTC()
	}
	for i := range r.Pings {
		r.Pings[i].Time = r.Pings[i].Time.UTC()
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		panic(fmt.Sprintf("query: encode result: %v", err)) // only finite floats and strings: cannot fail
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// DecodeResult reads a stored result.
func DecodeResult(b []byte) (Result, error) {
	var r Result
	err := json.Unmarshal(b, &r)
	return r, err
}
