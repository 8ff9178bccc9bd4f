package policy

import (
	_ "embed"
	"fmt"
	"math"
	"strconv"
	"sync"

	"github.com/cedar-policy/cedar-go/types"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/resolved"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"

	"github.com/probity-dev/probity/internal/fault"
)

// SchemaText is the Cedar schema every policy and every request is
// validated against.
//
//go:embed schema.cedarschema
var SchemaText string

// DefaultDepartmentText is the department floor Probity ships with, installed
// when an installation has no department set yet.
//
//go:embed department.cedar
var DefaultDepartmentText string

// DefaultComponentText is the default component set Probity ships with,
// installed when an installation has none yet. It governs every component
// that has no set of its own.
//
//go:embed component.cedar
var DefaultComponentText string

// Entity types and actions of the schema.
const (
	TypeUser       types.EntityType = "User"
	TypeDataSource types.EntityType = "DataSource"
	TypeCase       types.EntityType = "Case"
	TypeQuery      types.EntityType = "Query"
	TypeAction     types.EntityType = "Action"
)

// An Action is a request's action.
type Action string

// Actions. Each is a member of the "data.use" group, through which the
// department floor forbids.
const (
	QueryArea          Action = "query.area"
	QueryDeviceHistory Action = "query.device_history"
	QueryUnmask        Action = "query.unmask"
	ResultExport       Action = "result.export"
)

// Actions returns the actions a request may ask for.
func Actions() []Action { return []Action{QueryArea, QueryDeviceHistory, QueryUnmask, ResultExport} }

// UID returns the action's entity UID.
func (a Action) UID() types.EntityUID { return types.NewEntityUID(TypeAction, types.String(a)) }

// compiledSchema is the parsed schema, its validator, and the action
// entities (with their groups) evaluation needs.
type compiledSchema struct {
	resolved  *resolved.Schema
	validator *validate.Validator
	actions   []types.Entity
}

// theSchema parses the embedded schema once.
var theSchema = sync.OnceValues(func() (*compiledSchema, error) {
	var s schema.Schema
	s.SetFilename("schema.cedarschema")
	if err := s.UnmarshalCedar([]byte(SchemaText)); err != nil {
		return nil, fmt.Errorf("policy schema: %w", err)
	}
	r, err := s.Resolve()
	if err != nil {
		return nil, fmt.Errorf("policy schema: %w", err)
	}
	var actions []types.Entity
	for _, a := range r.Actions {
		actions = append(actions, a.Entity)
	}
	return &compiledSchema{resolved: r, validator: validate.New(r, validate.WithStrict()), actions: actions}, nil
})

// CheckSchema reports whether the embedded schema and default policy sets
// are usable; the program checks it at start.
func CheckSchema() error {
	if _, err := theSchema(); err != nil {
		return err
	}
	if _, err := Compile(Department, DefaultDepartmentText, &DefaultLimits); err != nil {
		return fmt.Errorf("the built-in department set: %w", err)
	}
	if _, err := Compile(DefaultComponent, DefaultComponentText, nil); err != nil {
		return fmt.Errorf("the built-in component set: %w", err)
	}
	return nil
}

// Limits are the department floor's limits, set together with the
// department policy set (proposed, analysed and approved with it) and given
// to every decision as context.limits.
type Limits struct {
	// MaxAreaKM2 is the largest area search, in square kilometres, that
	// needs no pre-approval; at most four decimal places count.
	MaxAreaKM2 float64 `json:"max_area_km2"`
	// MaxWindowHours is the longest time window that needs no
	// pre-approval.
	MaxWindowHours int64 `json:"max_window_hours"`
	// CourtOrderRequired makes a device history need a legal-process
	// reference on file for the case.
	CourtOrderRequired bool `json:"court_order_required"`
}

// DefaultLimits are the limits of the built-in department set.
var DefaultLimits = Limits{MaxAreaKM2: 5, MaxWindowHours: 72, CourtOrderRequired: true}

// Check reports whether l's values are in range.
func (l Limits) Check() error {
	switch {
	case math.IsNaN(l.MaxAreaKM2) || l.MaxAreaKM2 <= 0 || l.MaxAreaKM2 > 1_000_000:
		return fault.New(fault.Invalid, "max_area_km2 must be more than 0 and at most 1,000,000 square kilometres")
	case l.MaxWindowHours < 1 || l.MaxWindowHours > 24*366*10:
		return fault.New(fault.Invalid, "max_window_hours must be from 1 to 87,840 (ten years)")
	}
	return nil
}

func (l Limits) record() types.Value {
	return types.NewRecord(types.RecordMap{
		"max_area_km2":         mustDecimal(l.MaxAreaKM2),
		"max_window_hours":     types.Long(l.MaxWindowHours),
		"court_order_required": types.Boolean(l.CourtOrderRequired),
	})
}

// decimal returns f as a Cedar decimal (four decimal places), rounding
// half away from zero.
func decimal(f float64) (types.Decimal, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 9e14 {
		return types.Decimal{}, fmt.Errorf("%v is not a decimal Cedar can hold", f)
	}
	return types.ParseDecimal(strconv.FormatFloat(math.Round(f*1e4)/1e4, 'f', 4, 64))
}

func mustDecimal(f float64) types.Decimal {
	d, err := decimal(f)
	if err != nil {
		panic(err) // callers check ranges first
	}
	return d
}
