// Package auth says who is making a request and what they may do: the
// roles and the permissions each grants, the principal a request acts as
// (with its role grants, each in one component or department-wide, and the
// scopes of the credential it used), and the bootstrap credentials an
// installation uses before it has people.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"slices"
	"strings"

	"github.com/probity-dev/probity/internal/ledger"
)

// A Permission is what a route or an action requires.
type Permission string

// Permissions.
const (
	// Public routes serve what anyone may see: health, metrics, signed
	// checkpoints and hash tiles.
	Public Permission = "public"
	// Self routes let any signed-in person manage their own sessions,
	// tokens, profile and acknowledgements.
	Self Permission = "self"

	LedgerEntriesRead Permission = "ledger.entries.read" // ledger entries: who did what
	LedgerCheckpoint  Permission = "ledger.checkpoint"   // ask for a checkpoint now
	SettingsRead      Permission = "settings.read"
	SettingsWrite     Permission = "settings.write"

	PeopleRead      Permission = "people.read"      // the organization and its people
	PeopleManage    Permission = "people.manage"    // invite, update, disable people; components and units
	PeopleLock      Permission = "people.lock"      // lock an account at once
	RolesGrant      Permission = "roles.grant"      // grant and revoke roles
	RecertManage    Permission = "recert.manage"    // start and close recertification campaigns
	RecertRead      Permission = "recert.read"      // see campaigns and their items
	RecertAttest    Permission = "recert.attest"    // attest reports' roles
	RulesManage     Permission = "rules.manage"     // publish rules of behavior
	TrainingManage  Permission = "training.manage"  // courses and completion records
	TrainingRead    Permission = "training.read"    // training records
	SignalsRead     Permission = "signals.read"     // shared-account signals
	SessionsRevoke  Permission = "sessions.revoke"  // end another person's sessions
	ComplianceRead  Permission = "compliance.read"  // rules, acknowledgements, lapses of others
	AuditTrailRead  Permission = "audit.read"       // sign-in history of others
	DataAccess      Permission = "data.access"      // use sensitive data (the query issue)
	ApprovalsDecide Permission = "approvals.decide" // approve or review others' requests

	// The compliance program: audit reports, their recommendations, and
	// later reviews and internal audits. Managing is scoped by component;
	// who may take which step (resolve, close) is the program's own rule.
	ProgramRead   Permission = "program.read"   // reports, recommendations and their status
	ProgramManage Permission = "program.manage" // record and change them, link their answers, mark them resolved

	// Privacy compliance: the inventory of systems and data sources, PTAs,
	// PIAs and their workflow, compliance reviews, and the data-source
	// gate. All are scoped by component. Who may take which PIA step is
	// also checked per PIA (and a refused step recorded) by the store.
	InventoryRead   Permission = "inventory.read"   // systems, data sources, their gate, PTAs, PIAs, reviews
	InventoryManage Permission = "inventory.manage" // add and change systems and data sources; suspend; mark credentials configured
	PIAWrite        Permission = "pia.write"        // record PTAs; write, revise and submit PIAs
	PIAReview       Permission = "pia.review"       // the component privacy officer's review: forward or return
	PIAApprove      Permission = "pia.approve"      // the Chief Privacy Officer's approval, return and publication
	PCRManage       Permission = "pcr.manage"       // assign and complete privacy compliance reviews

	// CredentialsManage stores, replaces and removes the sealed vendor
	// credentials connectors use. Only the security officer holds it: the
	// administrator runs the installation but never handles the secrets
	// that reach sensitive data (separation of duties), and nobody can
	// read a stored secret back.
	CredentialsManage Permission = "credentials.manage"

	// Cases: the purpose every query of location data serves, scoped by
	// component. A supervisor manages their component's cases: opens
	// them, assigns members, records legal process, suspends, reopens
	// and closes them, and sets or releases an evidence hold (a legal
	// matter, so the case's manager's, not the privacy office's).
	// Privacy officers and auditors read them. An analyst needs neither:
	// membership of a case is what lets them see it. The administrator
	// sees none (separation of duties).
	CasesRead   Permission = "cases.read"   // the cases of a component, their members and legal process
	CasesManage Permission = "cases.manage" // open, staff and change the status of cases; evidence holds

	// Policy: the Cedar policy sets. A component privacy officer proposes
	// (and analyses) changes to their component's set; a department
	// privacy officer proposes changes to the department floor and the
	// default set, and approves and activates every change, never their
	// own. Reading is scoped by component for components' own sets.
	PolicyRead    Permission = "policy.read"    // policy sets, versions, impact analyses
	PolicyPropose Permission = "policy.propose" // propose a version and run its impact analysis
	PolicyApprove Permission = "policy.approve" // approve, activate or reject a proposed version
	PolicyTest    Permission = "policy.test"    // decide a hypothetical request (a dry run, recorded nowhere)

	// Supervisory review and misuse alerts. Every executed query is
	// reviewed by a supervisor above its requester (deciding needs
	// approvals.decide; the store checks the chain); privacy officers and
	// auditors read their components' reviews. Privacy officers triage
	// alerts and refer them to professional responsibility (OPR intake),
	// which sees the alerts referred to it and resolves them.
	ReviewsRead  Permission = "reviews.read"  // the review queue: executed queries and their reviews
	AlertsRead   Permission = "alerts.read"   // misuse alerts (OPR intake: those referred to it)
	AlertsManage Permission = "alerts.manage" // take alerts into triage, refer, dismiss and resolve them

	// Protected places, which every query is screened against: agency
	// facilities and sensitive locations imported from files, and
	// employees' homes, kept only as hashed cells. Privacy officers manage
	// them, scoped by component; auditors read how many there are.
	PlacesManage Permission = "places.manage" // import, list and delete places; set and clear employees' homes
	PlacesRead   Permission = "places.read"   // counts of places and homes, and the imports

	// Mobile-app releases: apps and their scan policies, releases, the
	// scans imported into them and their findings, contractors'
	// deliverables, risk exceptions and the release gate, all scoped by
	// component. The security officer (ISSO) owns them; who may import
	// each scan type and triage its findings is further narrowed by the
	// roles the app's scan policy names. Nobody approves an exception they
	// requested nor a release they submitted. A component privacy officer
	// may triage findings when a policy names them a reviewer (mobile
	// analysis reports permissions and trackers) and reads the rest;
	// auditors read everything.
	ReleasesRead      Permission = "releases.read"      // apps, policies, releases, scans, findings, deliverables, gate decisions
	AppsManage        Permission = "apps.manage"        // register and change apps; write their scan policies
	ReleasesSubmit    Permission = "releases.submit"    // record a release (version, build, artifact digest) and deliver its documents
	ScansImport       Permission = "scans.import"       // import scan reports and SBOMs into a release
	FindingsTriage    Permission = "findings.triage"    // triage findings and request risk exceptions
	ExceptionsApprove Permission = "exceptions.approve" // approve or reject someone else's risk exception
	ReleasesApprove   Permission = "releases.approve"   // approve a release through the gate (never one's own submission)

	// Basemap layers, which maps are drawn over: installation-wide and not
	// sensitive. Administrators and privacy officers import, replace and
	// delete them; everyone signed in sees them on maps.
	BasemapsManage Permission = "basemaps.manage" // import, replace and delete basemap layers
)

// A Role is a set of permissions held in a component or department-wide.
type Role string

// Roles.
const (
	Analyst                  Role = "analyst"
	Supervisor               Role = "supervisor"
	ComponentPrivacyOfficer  Role = "component_privacy_officer"
	DepartmentPrivacyOfficer Role = "department_privacy_officer"
	SecurityOfficer          Role = "security_officer"
	OPRIntake                Role = "opr_intake"
	Auditor                  Role = "auditor"
	Administrator            Role = "administrator"
)

// Roles returns every role.
func Roles() []Role {
	return []Role{Analyst, Supervisor, ComponentPrivacyOfficer, DepartmentPrivacyOfficer, SecurityOfficer, OPRIntake, Auditor, Administrator}
}

// Title returns the role's name for people.
func (r Role) Title() string {
	switch r {
	case Analyst:
		return "Analyst"
	case Supervisor:
		return "Supervisor"
	case ComponentPrivacyOfficer:
		return "Component privacy officer"
	case DepartmentPrivacyOfficer:
		return "Department privacy officer"
	case SecurityOfficer:
		return "Security officer (ISSO)"
	case OPRIntake:
		return "Professional responsibility intake"
	case Auditor:
		return "Auditor"
	case Administrator:
		return "Administrator"
	}
	return string(r)
}

// rolePermissions is the whole grant table. The administrator runs the
// installation — people, roles, settings — but sees no data and reads no
// ledger entries (separation of duties); the auditor reads everything and
// changes nothing, but may ask for a checkpoint.
var rolePermissions = map[Role][]Permission{
	Analyst:                  {DataAccess, InventoryRead},
	Supervisor:               {PeopleRead, RecertRead, RecertAttest, ApprovalsDecide, TrainingRead, ComplianceRead, InventoryRead, PolicyRead, CasesRead, CasesManage, ReviewsRead},
	ComponentPrivacyOfficer:  {PeopleRead, PeopleLock, SessionsRevoke, RulesManage, TrainingManage, TrainingRead, SignalsRead, ComplianceRead, AuditTrailRead, ApprovalsDecide, RecertRead, ProgramRead, ProgramManage, InventoryRead, InventoryManage, PIAWrite, PIAReview, PCRManage, PolicyRead, PolicyPropose, PolicyTest, CasesRead, ReviewsRead, AlertsRead, AlertsManage, PlacesManage, PlacesRead, ReleasesRead, FindingsTriage, BasemapsManage},
	DepartmentPrivacyOfficer: {PeopleRead, PeopleLock, SessionsRevoke, RulesManage, TrainingManage, TrainingRead, SignalsRead, ComplianceRead, AuditTrailRead, ApprovalsDecide, RecertRead, RecertAttest, ProgramRead, ProgramManage, InventoryRead, InventoryManage, PIAApprove, PCRManage, PolicyRead, PolicyPropose, PolicyApprove, PolicyTest, CasesRead, ReviewsRead, AlertsRead, AlertsManage, PlacesManage, PlacesRead, ReleasesRead, BasemapsManage},
	SecurityOfficer:          {PeopleRead, SignalsRead, AuditTrailRead, ApprovalsDecide, ProgramRead, InventoryRead, InventoryManage, PIAWrite, CredentialsManage, ReleasesRead, AppsManage, ReleasesSubmit, ScansImport, FindingsTriage, ExceptionsApprove, ReleasesApprove},
	OPRIntake:                {PeopleRead, SignalsRead, AlertsRead, AlertsManage},
	Auditor:                  {LedgerEntriesRead, LedgerCheckpoint, SettingsRead, PeopleRead, RecertRead, TrainingRead, SignalsRead, ComplianceRead, AuditTrailRead, ProgramRead, InventoryRead, PolicyRead, CasesRead, ReviewsRead, AlertsRead, PlacesRead, ReleasesRead},
	Administrator:            {SettingsRead, SettingsWrite, LedgerCheckpoint, PeopleRead, PeopleManage, PeopleLock, RolesGrant, RecertManage, RecertRead, SessionsRevoke, TrainingManage, TrainingRead, BasemapsManage},
}

// PermissionsOf returns the permissions a role grants.
func PermissionsOf(r Role) []Permission { return slices.Clone(rolePermissions[r]) }

// AllPermissions returns every permission some role grants, sorted.
func AllPermissions() []Permission {
	var out []Permission
	for _, ps := range rolePermissions {
		for _, p := range ps {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

// A Grant is a role held in a component, or department-wide when
// Component is "".
type Grant struct {
	Role      Role
	Component string
}

// A Principal is an authenticated requester.
type Principal struct {
	Kind      string // a ledger actor kind: user or token (bootstrap)
	ID        string // the employee ID, or the bootstrap credential's name
	PersonID  int64  // 0 for bootstrap credentials
	Name      string
	Component string // home component; "" for department staff
	Grants    []Grant
	// Scopes, when not nil, limits what the credential may do to these
	// permissions (a personal API token's scopes); sessions have none.
	Scopes []Permission
	// SessionID identifies the session or token used, for revocation;
	// never the secret.
	SessionID string
}

// Anonymous is the principal of an unauthenticated request.
var Anonymous = Principal{}

// Authenticated reports whether p is not [Anonymous].
func (p Principal) Authenticated() bool { return p.ID != "" }

// Can reports whether p holds perm in some component or department-wide.
func (p Principal) Can(perm Permission) bool {
	switch perm {
	case Public:
		return true
	case Self:
		return p.Authenticated() && p.PersonID != 0
	}
	if p.Scopes != nil && !slices.Contains(p.Scopes, perm) {
		return false
	}
	for _, g := range p.Grants {
		if slices.Contains(rolePermissions[g.Role], perm) {
			return true
		}
	}
	return false
}

// CanIn reports whether p holds perm for the given component: through a
// grant in that component or a department-wide one.
func (p Principal) CanIn(perm Permission, component string) bool {
	switch perm {
	case Public, Self:
		return p.Can(perm)
	}
	if p.Scopes != nil && !slices.Contains(p.Scopes, perm) {
		return false
	}
	for _, g := range p.Grants {
		if (g.Component == "" || g.Component == component) && slices.Contains(rolePermissions[g.Role], perm) {
			return true
		}
	}
	return false
}

// Components returns the components in which p holds perm, and whether p
// holds it department-wide (then the list is empty).
func (p Principal) Components(perm Permission) (components []string, all bool) {
	if p.Scopes != nil && !slices.Contains(p.Scopes, perm) {
		return nil, false
	}
	for _, g := range p.Grants {
		if !slices.Contains(rolePermissions[g.Role], perm) {
			continue
		}
		if g.Component == "" {
			return nil, true
		}
		if !slices.Contains(components, g.Component) {
			components = append(components, g.Component)
		}
	}
	return components, false
}

// HasRole reports whether p holds role anywhere.
func (p Principal) HasRole(r Role) bool {
	return slices.ContainsFunc(p.Grants, func(g Grant) bool { return g.Role == r })
}

// Actor returns the ledger actor for p.
func (p Principal) Actor() ledger.Actor { return ledger.Actor{Kind: p.Kind, ID: p.ID} }

// String describes p for messages and logs (never a secret).
func (p Principal) String() string {
	if !p.Authenticated() {
		return "anonymous"
	}
	var roles []string
	for _, g := range p.Grants {
		s := string(g.Role)
		if g.Component != "" {
			s += "@" + g.Component
		}
		roles = append(roles, s)
	}
	return p.ID + " (" + strings.Join(roles, ", ") + ")"
}

// MinTokenLength is the shortest bootstrap token accepted.
const MinTokenLength = 32

// BootstrapTokens authenticates the configured bootstrap credentials: an
// administrator token and a ledger auditor token, for an installation's
// first steps and for automation before people have accounts.
type BootstrapTokens struct {
	admin, auditor [sha256.Size]byte
	hasAdmin       bool
	hasAuditor     bool
}

// NewBootstrapTokens returns an authenticator for the given tokens; an
// empty token is not configured.
func NewBootstrapTokens(admin, auditor string) *BootstrapTokens {
	t := &BootstrapTokens{}
	if admin != "" {
		t.admin, t.hasAdmin = sha256.Sum256([]byte(admin)), true
	}
	if auditor != "" {
		t.auditor, t.hasAuditor = sha256.Sum256([]byte(auditor)), true
	}
	return t
}

// Authenticate returns the principal a bearer token belongs to. The
// comparison takes the same time whichever token, if any, matches.
func (t *BootstrapTokens) Authenticate(token string) (Principal, bool) {
	h := sha256.Sum256([]byte(token))
	isAdmin := subtle.ConstantTimeCompare(h[:], t.admin[:]) & boolInt(t.hasAdmin)
	isAuditor := subtle.ConstantTimeCompare(h[:], t.auditor[:]) & boolInt(t.hasAuditor)
	switch {
	case isAdmin == 1:
		return Principal{Kind: ledger.ActorToken, ID: "bootstrap-admin", Name: "Bootstrap administrator", Grants: []Grant{{Role: Administrator}}}, true
	case isAuditor == 1:
		return Principal{Kind: ledger.ActorToken, ID: "bootstrap-auditor", Name: "Bootstrap ledger auditor", Grants: []Grant{{Role: Auditor}}}, true
	}
	return Anonymous, false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
