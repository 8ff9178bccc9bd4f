// Package ledger defines Probity's verifiable ledger: the canonical form of
// its entries, the RFC 6962 Merkle tree over them, signed checkpoints in the
// C2SP tlog-checkpoint format, the C2SP tlog-tiles layout, and verification.
//
// The package holds the rules and formats only; persistence lives in the
// store package, which calls [Encode] and [Tree.Append] inside the same
// database transaction as the change an entry records.
package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// FormatVersion is the value of the "v" member of every entry this version
// of Probity writes.
const FormatVersion = 1

// MaxEntrySize is the largest encoded entry, in bytes. C2SP entry bundles
// prefix every entry with a 16-bit length, so an entry must be shorter than
// 64 KiB.
const MaxEntrySize = 1<<16 - 1

// maxSeqDigits is the widest decimal sequence number, used to check an
// entry's size before its sequence number is known.
const maxSeqDigits = 19

// maxSafeInteger is the largest integer that RFC 8785 (which represents
// numbers as IEEE 754 doubles) keeps exact.
const maxSafeInteger = 1<<53 - 1

// Actor kinds.
const (
	ActorUser   = "user"   // a named person
	ActorSystem = "system" // Probity itself (scheduled jobs, start-up)
	ActorToken  = "token"  // a configured bootstrap credential, before people exist
)

// An Actor is who caused an event.
type Actor struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// An Event is what domain code records. The store turns it into an [Entry]
// by adding the sequence number and the transaction's time.
type Event struct {
	// Type names the event, lowercase dotted, e.g. "settings.changed".
	Type  string
	Actor Actor
	// Component is the component (tenant) the event belongs to; empty for
	// department-wide events.
	Component string
	// Subject names what the event is about, e.g. "setting/retention_days".
	Subject string
	// Data holds small, non-sensitive attributes. Values must be JSON
	// scalars, arrays or objects; integers must be exact in a double.
	Data map[string]any
	// Digest commits to a sensitive payload kept elsewhere (its own table,
	// which may later be purged), as "sha256:" and 64 lowercase hex digits.
	Digest string
}

// An Entry is one record of the ledger, as decoded from its canonical JSON.
type Entry struct {
	Version   int            `json:"v"`
	Seq       int64          `json:"seq"`
	Time      string         `json:"time"`
	Type      string         `json:"type"`
	Actor     Actor          `json:"actor"`
	Component string         `json:"component,omitempty"`
	Subject   string         `json:"subject,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
	Digest    string         `json:"digest,omitempty"`
}

// TimeFormat is the layout of [Entry.Time]: UTC with microseconds, the
// precision both SQL dialects keep.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// ErrInvalidEvent reports an event that cannot be recorded.
var ErrInvalidEvent = errors.New("invalid ledger event")

var (
	typePattern   = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)
	digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// PayloadDigest returns the digest an event uses to commit to payload.
func PayloadDigest(payload []byte) string {
	sum := sha256.Sum256(payload)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Validate reports whether e can be recorded, and why not.
func (e Event) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidEvent, fmt.Sprintf(format, args...))
	}
	if !typePattern.MatchString(e.Type) {
		return bad("type %q is not lowercase dotted words", e.Type)
	}
	switch e.Actor.Kind {
	case ActorUser, ActorSystem, ActorToken:
	default:
		return bad("actor kind %q is not one of user, system, token", e.Actor.Kind)
	}
	for name, s := range map[string]string{"actor id": e.Actor.ID, "component": e.Component, "subject": e.Subject} {
		if !utf8.ValidString(s) {
			return bad("%s is not valid UTF-8", name)
		}
		if len(s) > 512 {
			return bad("%s is longer than 512 bytes", name)
		}
	}
	if e.Actor.ID == "" {
		return bad("actor id is empty")
	}
	if e.Digest != "" && !digestPattern.MatchString(e.Digest) {
		return bad("digest %q is not sha256:<64 hex digits>", e.Digest)
	}
	if err := validateValue("data", e.Data, 0); err != nil {
		return bad("%v", err)
	}
	return nil
}

func validateValue(path string, v any, depth int) error {
	if depth > 16 {
		return fmt.Errorf("%s nests deeper than 16 levels", path)
	}
	switch v := v.(type) {
	case nil, bool, json.Number:
		return nil
	case string:
		if !utf8.ValidString(v) {
			return fmt.Errorf("%s is not valid UTF-8", path)
		}
	case int:
		return checkInt(path, int64(v))
	case int32:
		return nil
	case int64:
		return checkInt(path, v)
	case uint32:
		return nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s is not a finite number", path)
		}
	case []string:
		for i, s := range v {
			if err := validateValue(fmt.Sprintf("%s[%d]", path, i), s, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for i, x := range v {
			if err := validateValue(fmt.Sprintf("%s[%d]", path, i), x, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, x := range v {
			if !utf8.ValidString(k) {
				return fmt.Errorf("%s has a key that is not valid UTF-8", path)
			}
			if err := validateValue(path+"."+k, x, depth+1); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%s has unsupported type %T", path, v)
	}
	return nil
}

func checkInt(path string, n int64) error {
	if n > maxSafeInteger || n < -maxSafeInteger {
		return fmt.Errorf("%s = %d is too large to be exact in canonical JSON; record it as a string", path, n)
	}
	return nil
}

// Encode returns the canonical JSON (RFC 8785) of the entry recording e as
// number seq at time t. It fails if e is invalid or the entry would exceed
// [MaxEntrySize].
func Encode(e Event, seq int64, t time.Time) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	if seq < 0 {
		return nil, fmt.Errorf("%w: negative sequence number %d", ErrInvalidEvent, seq)
	}
	return encode(Entry{
		Version:   FormatVersion,
		Seq:       seq,
		Time:      t.UTC().Format(TimeFormat),
		Type:      e.Type,
		Actor:     e.Actor,
		Component: e.Component,
		Subject:   e.Subject,
		Data:      e.Data,
		Digest:    e.Digest,
	})
}

// CheckSize reports whether the entry for e at time t fits in [MaxEntrySize]
// whatever its sequence number. Writers that assign sequence numbers after
// the caller's transaction commits call it first, so that integration can
// never fail on size.
func CheckSize(e Event, t time.Time) error {
	b, err := Encode(e, 0, t)
	if err != nil {
		return err
	}
	if len(b)+maxSeqDigits-1 > MaxEntrySize {
		return fmt.Errorf("%w: entry would be %d bytes, more than the %d allowed", ErrInvalidEvent, len(b)+maxSeqDigits-1, MaxEntrySize)
	}
	return nil
}

func encode(en Entry) ([]byte, error) {
	b, ok := appendCanonical(make([]byte, 0, 512), &en)
	if !ok {
		var err error
		if b, err = encodeJCS(en); err != nil {
			return nil, err
		}
	}
	if len(b) > MaxEntrySize {
		return nil, fmt.Errorf("%w: entry is %d bytes, more than the %d allowed", ErrInvalidEvent, len(b), MaxEntrySize)
	}
	return b, nil
}

// encodeJCS is the reference encoding: marshal, then canonicalize.
func encodeJCS(en Entry) ([]byte, error) {
	raw, err := json.Marshal(en)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	b, err := jcs.Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: canonicalize: %v", ErrInvalidEvent, err)
	}
	return b, nil
}

// Decode parses an encoded entry. It checks the structure, not that the
// bytes are canonical; verification compares hashes of the bytes themselves.
func Decode(b []byte) (Entry, error) {
	var en Entry
	if len(b) > MaxEntrySize {
		return en, fmt.Errorf("entry is %d bytes, more than the %d allowed", len(b), MaxEntrySize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&en); err != nil {
		return en, fmt.Errorf("decode entry: %w", err)
	}
	if dec.More() {
		return en, errors.New("decode entry: trailing data")
	}
	if en.Version != FormatVersion {
		return en, fmt.Errorf("decode entry: unknown format version %d", en.Version)
	}
	if _, err := time.Parse(TimeFormat, en.Time); err != nil {
		return en, fmt.Errorf("decode entry: time %q: %w", en.Time, err)
	}
	return en, nil
}

// Event returns the event an entry records, so that it can be encoded again
// under another sequence number.
func (en Entry) Event() Event {
	return Event{Type: en.Type, Actor: en.Actor, Component: en.Component, Subject: en.Subject, Data: en.Data, Digest: en.Digest}
}

// Timestamp returns the entry's time.
func (en Entry) Timestamp() time.Time {
	t, _ := time.Parse(TimeFormat, en.Time)
	return t
}
