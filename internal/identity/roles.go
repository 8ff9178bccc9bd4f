package identity

import (
	"fmt"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
)

// A GrantStatus is the state of a role grant.
type GrantStatus string

// Grant statuses.
const (
	GrantActive    GrantStatus = "active"
	GrantSuspended GrantStatus = "suspended" // not recertified in time
	GrantRevoked   GrantStatus = "revoked"
)

// A Grant gives a person a role, in one component or department-wide.
type Grant struct {
	ID       int64
	PersonID int64
	Role     auth.Role
	// Component scopes the role; "" means department-wide.
	Component  string
	Status     GrantStatus
	GrantedBy  int64 // 0 for the installation itself (bootstrap)
	GrantedAt  time.Time
	AttestedAt time.Time // last recertification
}

// scope says where a role may be held.
type scope int

const (
	componentOnly scope = iota + 1
	departmentOnly
	either
)

// roleScopes says, for every role, where it may be held.
var roleScopes = map[auth.Role]scope{
	auth.Analyst:                  componentOnly,
	auth.Supervisor:               componentOnly,
	auth.ComponentPrivacyOfficer:  componentOnly,
	auth.DepartmentPrivacyOfficer: departmentOnly,
	auth.SecurityOfficer:          componentOnly,
	auth.OPRIntake:                either,
	auth.Auditor:                  either,
	auth.Administrator:            departmentOnly,
}

// exclusive roles are held alone: the administrator runs the installation
// and holds no data, approval or privacy role; the auditor is read-only
// everywhere and takes no part in what is audited.
var exclusive = map[auth.Role]bool{auth.Administrator: true, auth.Auditor: true}

// ValidateGrant checks a new grant against the person and their other
// active grants: the role exists and is held in a permitted scope, a
// component-scoped role is held in the person's own component, and
// separation of duties holds.
func ValidateGrant(p Person, g Grant, others []Grant) error {
	sc, ok := roleScopes[g.Role]
	if !ok {
		return fault.New(fault.Invalid, "there is no role %q", g.Role)
	}
	switch {
	case sc == componentOnly && g.Component == "":
		return fault.New(fault.Invalid, "the %s role is held in a component, not department-wide", g.Role.Title())
	case sc == departmentOnly && g.Component != "":
		return fault.New(fault.Invalid, "the %s role is held department-wide, not in a component", g.Role.Title())
	case g.Component != "" && g.Component != p.Component:
		return fault.New(fault.Invalid, "%s belongs to %s and cannot hold a role in %s", p.Name, orDept(p.Component), g.Component)
	case p.Status == Disabled:
		return fault.New(fault.Conflict, "%s's account is disabled", p.Name)
	}
	for _, o := range others {
		if o.Status != GrantActive || o.PersonID != p.ID {
			continue
		}
		if o.Role == g.Role && o.Component == g.Component {
			return fault.New(fault.Conflict, "%s already holds the %s role there", p.Name, g.Role.Title())
		}
		if exclusive[g.Role] || exclusive[o.Role] {
			return fault.New(fault.Conflict, "separation of duties: %s holds the %s role, which cannot be combined with the %s role", p.Name, o.Role.Title(), g.Role.Title())
		}
	}
	return nil
}

func orDept(c string) string {
	if c == "" {
		return "the department"
	}
	return c
}

// Principal returns the authorization principal for a person and their
// active grants.
func Principal(p Person, grants []Grant) auth.Principal {
	pr := auth.Principal{Kind: "user", ID: p.EmployeeID, PersonID: p.ID, Name: p.Name, Component: p.Component}
	for _, g := range grants {
		if g.Status == GrantActive && g.PersonID == p.ID {
			pr.Grants = append(pr.Grants, auth.Grant{Role: g.Role, Component: g.Component})
		}
	}
	return pr
}

// NeedsMFA reports whether holding these grants requires a second factor:
// every role that can see data or approve does, and so does the
// administrator, who manages who can.
func NeedsMFA(grants []Grant) bool {
	for _, g := range grants {
		if g.Status == GrantActive {
			return true
		}
	}
	return false
}

// Describe formats a grant for people, e.g. "Analyst in CBP".
func (g Grant) Describe() string {
	return fmt.Sprintf("%s in %s", g.Role.Title(), orDept(g.Component))
}
