package query

import (
	"fmt"
	"slices"
)

// A Tier is how risky a query is, and so who must see it before it runs.
type Tier int

// Tiers, lowest first.
const (
	Routine  Tier = 1 // small and short: reviewed after the fact, in bulk if need be
	Elevated Tier = 2 // reviewed after the fact, one by one
	High     Tier = 3 // a supervisor in the requester's chain approves before it runs
	Critical Tier = 4 // a supervisor and a component privacy officer approve before it runs
)

func (t Tier) String() string {
	switch t {
	case Routine:
		return "routine"
	case Elevated:
		return "elevated"
	case High:
		return "high"
	case Critical:
		return "critical"
	}
	return fmt.Sprintf("tier %d", int(t))
}

// NeedsApproval reports whether queries of tier t wait for approval.
func (t Tier) NeedsApproval() bool { return t >= High }

// Risk flags a screening of the request may raise.
const (
	FlagProtectedPlace = "protected_place" // the area touches a sensitive location
	FlagAgencyFacility = "agency_facility" // the area touches an agency facility
	FlagEmployeeHome   = "employee_home"   // the area touches an employee's home cells
	FlagSelfInterest   = "self_interest"   // the area covers the requester's own home or workplace
	FlagOffHours       = "off_hours"       // outside the requester's duty schedule
)

// Thresholds of the risk tiers.
type Thresholds struct {
	RoutineAreaKm2     float64 // at most this area …
	RoutineWindowHours int64   // … and this window …
	RoutineDevices     int     // … and this many expected devices is routine
	HighDevices        int     // more expected devices than this needs a supervisor
	CriticalDevices    int     // more than this needs a privacy officer too
}

// DefaultThresholds returns the tiers' default thresholds.
func DefaultThresholds() Thresholds {
	return Thresholds{RoutineAreaKm2: 1, RoutineWindowHours: 24, RoutineDevices: 250, HighDevices: 2_000, CriticalDevices: 10_000}
}

// Risk is what the tier is computed from.
type Risk struct {
	Kind            Kind     `json:"kind"`
	AreaKm2         float64  `json:"area_km2"`
	WindowHours     int64    `json:"window_hours"`
	ExpectedDevices int      `json:"expected_devices"` // -1 when unknown
	Flags           []string `json:"flags,omitempty"`
	// PolicyNeedsApproval says the policies allow the query only once it
	// is approved (e.g. an area or window over the department limit).
	PolicyNeedsApproval bool `json:"policy_needs_approval,omitempty"`
}

// Assess returns the tier and the reasons for it, in plain language.
func (r Risk) Assess(th Thresholds) (Tier, []string) {
	tier := Routine
	var why []string
	raise := func(t Tier, reason string) {
		tier = max(tier, t)
		why = append(why, reason)
	}
	switch r.Kind {
	case Unmask:
		raise(High, "revealing a device's real identifier is always approved first")
	case DeviceHistory:
		raise(Elevated, "a device history follows one person's movements")
	}
	if r.AreaKm2 > th.RoutineAreaKm2 {
		raise(Elevated, fmt.Sprintf("the area (%.2f km²) is larger than %g km²", r.AreaKm2, th.RoutineAreaKm2))
	}
	if r.WindowHours > th.RoutineWindowHours {
		raise(Elevated, fmt.Sprintf("the window (%d h) is longer than %d h", r.WindowHours, th.RoutineWindowHours))
	}
	switch d := r.ExpectedDevices; {
	case d > th.CriticalDevices:
		raise(Critical, fmt.Sprintf("about %d devices expected, more than %d", d, th.CriticalDevices))
	case d > th.HighDevices:
		raise(High, fmt.Sprintf("about %d devices expected, more than %d", d, th.HighDevices))
	case d > th.RoutineDevices:
		raise(Elevated, fmt.Sprintf("about %d devices expected, more than %d", d, th.RoutineDevices))
	case d < 0 && r.Kind == Area:
		raise(Elevated, "the number of devices cannot be estimated")
	}
	if r.PolicyNeedsApproval {
		raise(High, "the policies allow this query only with prior approval")
	}
	for _, f := range r.Flags {
		switch f {
		case FlagEmployeeHome, FlagSelfInterest, FlagAgencyFacility:
			raise(Critical, "the area touches "+flagText(f))
		case FlagProtectedPlace:
			raise(High, "the area touches "+flagText(f))
		case FlagOffHours:
			raise(High, "the query is outside your working hours")
		}
	}
	slices.Sort(why)
	return tier, slices.Compact(why)
}

func flagText(f string) string {
	switch f {
	case FlagEmployeeHome:
		return "an employee's home"
	case FlagSelfInterest:
		return "your own home or workplace"
	case FlagAgencyFacility:
		return "an agency facility"
	case FlagProtectedPlace:
		return "a sensitive location (place of worship, medical facility, school, shelter, court …)"
	}
	return f
}
