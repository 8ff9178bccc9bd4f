// Package auth says who is making a request and what they may do: the
// principals, the roles they hold, the permission every route declares, and
// the bootstrap credentials an installation uses before it has people.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"slices"

	"github.com/probity-dev/probity/internal/ledger"
)

// A Permission is what a route requires.
type Permission string

// Permissions.
const (
	// Public routes serve what anyone may see: health, metrics, signed
	// checkpoints and hash tiles.
	Public Permission = "public"
	// LedgerEntriesRead allows reading ledger entries (entry bundles, the
	// entries API): they describe who did what.
	LedgerEntriesRead Permission = "ledger.entries.read"
	// LedgerCheckpoint allows asking for a new checkpoint now.
	LedgerCheckpoint Permission = "ledger.checkpoint"
	// SettingsRead allows reading installation settings.
	SettingsRead Permission = "settings.read"
	// SettingsWrite allows changing installation settings.
	SettingsWrite Permission = "settings.write"
)

// A Role is a set of permissions.
type Role string

// Roles.
const (
	Administrator Role = "administrator"
	Auditor       Role = "auditor"
)

// rolePermissions is the whole grant table. The administrator runs the
// installation but reads no ledger entries (separation of duties); the
// auditor reads everything and changes nothing but may ask for a checkpoint.
var rolePermissions = map[Role][]Permission{
	Administrator: {SettingsRead, SettingsWrite, LedgerCheckpoint},
	Auditor:       {SettingsRead, LedgerEntriesRead, LedgerCheckpoint},
}

// A Principal is an authenticated requester.
type Principal struct {
	Kind  string // a ledger actor kind
	ID    string
	Roles []Role
}

// Anonymous is the principal of an unauthenticated request.
var Anonymous = Principal{}

// Authenticated reports whether p is not [Anonymous].
func (p Principal) Authenticated() bool { return p.ID != "" }

// Can reports whether p holds perm.
func (p Principal) Can(perm Permission) bool {
	if perm == Public {
		return true
	}
	for _, r := range p.Roles {
		if slices.Contains(rolePermissions[r], perm) {
			return true
		}
	}
	return false
}

// Actor returns the ledger actor for p.
func (p Principal) Actor() ledger.Actor { return ledger.Actor{Kind: p.Kind, ID: p.ID} }

// MinTokenLength is the shortest bootstrap token accepted.
const MinTokenLength = 32

// BootstrapTokens authenticates the configured bootstrap credentials: an
// administrator token and a ledger auditor token.
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
		return Principal{Kind: ledger.ActorToken, ID: "bootstrap-admin", Roles: []Role{Administrator}}, true
	case isAuditor == 1:
		return Principal{Kind: ledger.ActorToken, ID: "bootstrap-auditor", Roles: []Role{Auditor}}, true
	}
	return Anonymous, false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
