package policy

import (
	"fmt"

	"github.com/cedar-policy/cedar-go/types"
)

// A Request is a data-use request as Probity's services describe it. Its
// [Request.Input] is what the engine evaluates and what is recorded for
// impact analysis.
type Request struct {
	Action    Action    `json:"action"`
	Principal Principal `json:"principal"`
	Query     Query     `json:"query"`
	// OffHours says the request falls outside the requester's working
	// hours.
	OffHours bool `json:"off_hours"`
}

// A Principal is the person asking, as policies see them.
type Principal struct {
	EmployeeID string `json:"employee_id"`
	// Component is the person's home component; "" for department staff.
	Component string `json:"component"`
	// Roles are the roles the person holds (auth.Role values).
	Roles             []string `json:"roles"`
	AccountActive     bool     `json:"account_active"`
	TrainingCurrent   bool     `json:"training_current"`
	RulesAcknowledged bool     `json:"rules_acknowledged"`
}

// A DataSource is the source a request reads, with its gate status.
type DataSource struct {
	Name string `json:"name"`
	// Usable is the privacy compliance gate's derived status.
	Usable bool `json:"usable"`
	// Missing lists what the gate lacks (pia, rules, credential, …).
	Missing    []string `json:"missing"`
	Connector  string   `json:"connector"`
	Categories []string `json:"categories"`
}

// A Case is the case a request serves.
type Case struct {
	Number    string `json:"number"`
	Component string `json:"component"`
	// Status is open, suspended or closed.
	Status string `json:"status"`
	// Members are the employee IDs of the people assigned to the case.
	Members []string `json:"members"`
	// LegalProcess are the legal-process references on file.
	LegalProcess []string `json:"legal_process"`
}

// A Query is the request's resource: what is asked, of which source, for
// which case.
type Query struct {
	// ID is the query's reference; a request not yet stored may use any
	// unique name.
	ID string `json:"id"`
	// Kind is area, device_history, unmask or export; derived from the
	// action when empty.
	Kind            string     `json:"kind,omitempty"`
	Case            Case       `json:"case"`
	Source          DataSource `json:"source"`
	AreaKM2         float64    `json:"area_km2"`
	WindowHours     int64      `json:"window_hours"`
	LegalProcessRef string     `json:"legal_process_ref"`
	PreApproved     bool       `json:"pre_approved"`
	Justification   string     `json:"justification"`
	RiskFlags       []string   `json:"risk_flags"`
}

var kindOf = map[Action]string{QueryArea: "area", QueryDeviceHistory: "device_history", QueryUnmask: "unmask", ResultExport: "export"}

// Input returns the request as Cedar entities and context.
func (r Request) Input() (*Input, error) {
	kind, ok := kindOf[r.Action]
	if !ok {
		return nil, fmt.Errorf("unknown action %q", r.Action)
	}
	q := r.Query
	if q.Kind == "" {
		q.Kind = kind
	}
	if q.ID == "" {
		q.ID = "request"
	}
	area, err := decimal(q.AreaKM2)
	if err != nil {
		return nil, fmt.Errorf("area: %w", err)
	}
	user := types.NewEntityUID(TypeUser, types.String(r.Principal.EmployeeID))
	caseUID := types.NewEntityUID(TypeCase, types.String(q.Case.Number))
	source := types.NewEntityUID(TypeDataSource, types.String(q.Source.Name))
	query := types.NewEntityUID(TypeQuery, types.String(q.ID))
	members := make([]types.Value, len(q.Case.Members))
	for i, m := range q.Case.Members {
		members[i] = types.NewEntityUID(TypeUser, types.String(m))
	}
	ents := types.EntityMap{
		user: {UID: user, Attributes: types.NewRecord(types.RecordMap{
			"component":          types.String(r.Principal.Component),
			"roles":              stringSet(r.Principal.Roles),
			"account_active":     types.Boolean(r.Principal.AccountActive),
			"training_current":   types.Boolean(r.Principal.TrainingCurrent),
			"rules_acknowledged": types.Boolean(r.Principal.RulesAcknowledged),
		})},
		source: {UID: source, Attributes: types.NewRecord(types.RecordMap{
			"usable":     types.Boolean(q.Source.Usable),
			"missing":    stringSet(q.Source.Missing),
			"connector":  types.String(q.Source.Connector),
			"categories": stringSet(q.Source.Categories),
		})},
		caseUID: {UID: caseUID, Attributes: types.NewRecord(types.RecordMap{
			"component":     types.String(q.Case.Component),
			"status":        types.String(q.Case.Status),
			"members":       types.NewSet(members...),
			"legal_process": stringSet(q.Case.LegalProcess),
		})},
		query: {UID: query, Attributes: types.NewRecord(types.RecordMap{
			"kind":              types.String(q.Kind),
			"case":              caseUID,
			"source":            source,
			"area_km2":          area,
			"window_hours":      types.Long(q.WindowHours),
			"legal_process_ref": types.String(q.LegalProcessRef),
			"pre_approved":      types.Boolean(q.PreApproved),
			"justification":     types.String(q.Justification),
			"risk_flags":        stringSet(q.RiskFlags),
		})},
	}
	return &Input{
		Principal: user,
		Action:    r.Action.UID(),
		Resource:  query,
		Context:   types.NewRecord(types.RecordMap{"off_hours": types.Boolean(r.OffHours)}),
		Entities:  ents,
	}, nil
}

func stringSet(ss []string) types.Set {
	vs := make([]types.Value, len(ss))
	for i, s := range ss {
		vs[i] = types.String(s)
	}
	return types.NewSet(vs...)
}

// An Input is everything a decision depends on, as Cedar sees it: the
// request's principal, action and resource, its context (without the
// limits, which come with the department set that decides), and the
// entities. It is what the store records with a decision, and what impact
// analysis replays.
type Input struct {
	Principal types.EntityUID
	Action    types.EntityUID
	Resource  types.EntityUID
	Context   types.Record
	Entities  types.EntityMap
}

// Component returns the requester's component: the principal's component
// attribute, which selects the component set that decides.
func (in *Input) Component() (string, bool) {
	e, ok := in.Entities[in.Principal]
	if !ok {
		return "", false
	}
	v, ok := e.Attributes.Get("component")
	if !ok {
		return "", false
	}
	s, ok := v.(types.String)
	return string(s), ok
}
