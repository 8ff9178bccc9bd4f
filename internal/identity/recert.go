package identity

import (
	"time"

	"github.com/probity-dev/probity/internal/fault"
)

// A Campaign is a recertification campaign: every active role of every
// person must be attested by the person's supervisor before it closes;
// roles not attested by then are suspended.
type Campaign struct {
	ID        int64
	Name      string
	StartedAt time.Time
	DueAt     time.Time
	ClosedAt  time.Time // zero while open
	StartedBy int64
}

// Open reports whether the campaign is still taking attestations.
func (c Campaign) Open() bool { return c.ClosedAt.IsZero() }

// A Decision is an attester's decision on one grant.
type Decision string

// Decisions.
const (
	Pending Decision = "pending"
	Keep    Decision = "keep"
	Revoke  Decision = "revoke"
)

// An Item is one grant to recertify in a campaign.
type Item struct {
	ID         int64
	CampaignID int64
	GrantID    int64
	PersonID   int64
	// AttesterID is who must attest: the person's supervisor, or for a
	// person without one, any department privacy officer (0).
	AttesterID int64
	Decision   Decision
	DecidedBy  int64
	DecidedAt  time.Time
}

// DefaultCampaignLength is how long a campaign runs by default: a quarter.
const DefaultCampaignLength = 91 * 24 * time.Hour

// MayAttest reports whether attester may decide item: the named attester
// (or, for items without one, a department privacy officer), never for
// their own roles nor for someone above them.
func MayAttest(c Chain, item Item, attester int64, isDepartmentPrivacyOfficer bool) error {
	if ok, why := MayReview(c, attester, item.PersonID); !ok {
		return fault.New(fault.Forbidden, "%s", why)
	}
	if item.AttesterID != 0 && item.AttesterID != attester {
		return fault.New(fault.Forbidden, "only the person's supervisor attests their roles")
	}
	if item.AttesterID == 0 && !isDepartmentPrivacyOfficer {
		return fault.New(fault.Forbidden, "a department privacy officer attests the roles of people without a supervisor")
	}
	if item.Decision != Pending {
		return fault.New(fault.Conflict, "this role was already attested (%s)", item.Decision)
	}
	return nil
}
