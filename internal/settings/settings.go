// Package settings holds the installation's settings (organization name,
// retention periods, checkpoint interval, …): what each one means, which
// values are valid, and the rule that every change is recorded in the
// ledger together with the change itself.
package settings

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
)

// Names of the settings other packages read.
const (
	OrganizationName          = "organization_name"
	ResultRetentionDays       = "result_retention_days"
	ClosedCaseGraceDays       = "closed_case_grace_days"
	CheckpointIntervalSeconds = "checkpoint_interval_seconds"
	PIAApprovalMonths         = "pia_approval_months"
	ReviewSLADays             = "review_sla_days"
)

// A Definition describes one setting.
type Definition struct {
	Name        string
	Description string
	Default     any
	// validate checks a decoded value and returns it normalized.
	validate func(v any) (any, error)
}

// Definitions returns every setting, sorted by name.
func Definitions() []Definition {
	defs := []Definition{
		{Name: OrganizationName, Description: "Name of the department this installation serves, shown on every page and report.", Default: "Probity", validate: text(1, 200)},
		{Name: ResultRetentionDays, Description: "Days query results are kept before they are purged, unless the case has an evidence hold.", Default: int64(90), validate: integer(1, 3650)},
		{Name: ClosedCaseGraceDays, Description: "Days the results of a closed case are kept after closure.", Default: int64(30), validate: integer(0, 3650)},
		{Name: CheckpointIntervalSeconds, Description: "Seconds between signed ledger checkpoints when there are new entries.", Default: int64(5), validate: integer(1, 3600)},
		{Name: ReviewSLADays, Description: "Business days (Monday to Friday) a supervisor has to review an executed query; an overdue review goes to the next supervisor up. Break-glass queries are reviewed within 24 hours whatever this says.", Default: int64(5), validate: integer(1, 30)},
		{Name: PIAApprovalMonths, Description: "Months a Privacy Impact Assessment's approval lasts; after that its data source cannot be used until a revision is approved.", Default: int64(36), validate: integer(1, 60)},
	}
	slices.SortFunc(defs, func(a, b Definition) int { return strings.Compare(a.Name, b.Name) })
	return defs
}

// Lookup returns the definition of the named setting.
func Lookup(name string) (Definition, bool) {
	for _, d := range Definitions() {
		if d.Name == name {
			return d, true
		}
	}
	return Definition{}, false
}

func text(minLen, maxLen int) func(any) (any, error) {
	return func(v any) (any, error) {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("must be a string")
		}
		s = strings.TrimSpace(s)
		n := utf8.RuneCountInString(s)
		if n < minLen || n > maxLen {
			return nil, fmt.Errorf("must be %d to %d characters long", minLen, maxLen)
		}
		for _, r := range s {
			if !unicode.IsPrint(r) {
				return nil, fmt.Errorf("must not contain control or invisible characters (found %U)", r)
			}
		}
		return s, nil
	}
}

func integer(lo, hi int64) func(any) (any, error) {
	return func(v any) (any, error) {
		num, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("must be a whole number from %d to %d", lo, hi)
		}
		n, err := num.Int64()
		if err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("must be a whole number from %d to %d", lo, hi)
		}
		return n, nil
	}
}

// A Setting is a setting's current value.
type Setting struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Value       json.RawMessage `json:"value"`
	Default     json.RawMessage `json:"default"`
	UpdatedAt   *time.Time      `json:"updated_at,omitempty"`
	UpdatedBy   string          `json:"updated_by,omitempty"`
}

// A Stored is a setting value as the store keeps it.
type Stored struct {
	Name      string
	Value     json.RawMessage
	UpdatedAt time.Time
	UpdatedBy string
}

// A Store keeps settings. SetSetting writes the new value and appends the
// event that record(previous) returns in one transaction, and returns the
// event's ledger index.
type Store interface {
	ListSettings(ctx context.Context) ([]Stored, error)
	// SetSetting sets s.UpdatedAt to the change's time.
	SetSetting(ctx context.Context, s *Stored, record func(previous *Stored) ledger.Event) (int64, error)
}

// A Service reads and changes settings.
type Service struct {
	store Store
}

// NewService returns a service over store.
func NewService(store Store) *Service { return &Service{store: store} }

// List returns every setting with its current value.
func (s *Service) List(ctx context.Context) ([]Setting, error) {
	stored, err := s.store.ListSettings(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]Stored{}
	for _, st := range stored {
		byName[st.Name] = st
	}
	var out []Setting
	for _, d := range Definitions() {
		def, _ := json.Marshal(d.Default)
		set := Setting{Name: d.Name, Description: d.Description, Value: def, Default: def}
		if st, ok := byName[d.Name]; ok {
			at := st.UpdatedAt
			set.Value, set.UpdatedAt, set.UpdatedBy = st.Value, &at, st.UpdatedBy
		}
		out = append(out, set)
	}
	return out, nil
}

// Get returns one setting.
func (s *Service) Get(ctx context.Context, name string) (Setting, error) {
	if _, ok := Lookup(name); !ok {
		return Setting{}, unknown(name)
	}
	all, err := s.List(ctx)
	if err != nil {
		return Setting{}, err
	}
	for _, set := range all {
		if set.Name == name {
			return set, nil
		}
	}
	return Setting{}, unknown(name)
}

// Int returns an integer setting's value, or its default if it cannot be
// read.
func (s *Service) Int(ctx context.Context, name string) int64 {
	d, _ := Lookup(name)
	def, _ := d.Default.(int64)
	set, err := s.Get(ctx, name)
	if err != nil {
		return def
	}
	var n int64
	if err := json.Unmarshal(set.Value, &n); err != nil {
		return def
	}
	return n
}

func unknown(name string) error {
	var names []string
	for _, d := range Definitions() {
		names = append(names, d.Name)
	}
	return fault.New(fault.NotFound, "there is no setting %q; the settings are %s", name, strings.Join(names, ", "))
}

// Set validates and stores a new value, given as JSON, and records the
// change in the ledger. It returns the setting and the ledger index.
func (s *Service) Set(ctx context.Context, actor ledger.Actor, name string, raw json.RawMessage) (Setting, int64, error) {
	d, ok := Lookup(name)
	if !ok {
		return Setting{}, 0, unknown(name)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return Setting{}, 0, fault.New(fault.Invalid, "the value of %s must be one JSON value", name)
	}
	norm, err := d.validate(v)
	if err != nil {
		return Setting{}, 0, fault.New(fault.Invalid, "%s %v", name, err)
	}
	value, err := json.Marshal(norm)
	if err != nil {
		return Setting{}, 0, err
	}
	stored := Stored{Name: name, Value: value, UpdatedBy: actor.ID}
	idx, err := s.store.SetSetting(ctx, &stored, func(prev *Stored) ledger.Event {
		data := map[string]any{"name": name, "value": norm}
		if prev != nil {
			data["previous"] = decode(prev.Value)
		} else {
			data["previous"] = d.Default
		}
		return ledger.Event{Type: "settings.changed", Actor: actor, Subject: "setting/" + name, Data: data}
	})
	if err != nil {
		return Setting{}, 0, err
	}
	// The answer is what this change wrote, not a fresh read, which could
	// show a later change by someone else.
	def, _ := json.Marshal(d.Default)
	return Setting{Name: name, Description: d.Description, Value: value, Default: def, UpdatedAt: &stored.UpdatedAt, UpdatedBy: actor.ID}, idx, nil
}

func decode(raw json.RawMessage) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return string(raw)
	}
	return v
}
