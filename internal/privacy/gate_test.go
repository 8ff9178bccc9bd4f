package privacy_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/privacy"
)

var gateNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// usable returns the facts of a source the gate lets through: vendor API
// with a credential, a PIA published a year ago and valid two more, rules
// published.
func usable() privacy.GateFacts {
	return privacy.GateFacts{
		Source: privacy.Source{ID: 7, Name: "venntel-cbp", Component: "CBP", Connector: privacy.VendorAPI, RulesKey: "source:venntel-cbp",
			CredentialRef: "sealed:venntel", CredentialConfiguredAt: gateNow.AddDate(0, -1, 0)},
		PIA: &privacy.PIA{ID: 3, Status: privacy.Published, Version: 4, EffectiveVersion: 4,
			EffectiveApprovedAt: gateNow.AddDate(-1, 0, 0), EffectiveExpiresAt: gateNow.AddDate(2, 0, 0), EffectivePublishedAt: gateNow.AddDate(-1, 0, 1)},
		RulesVersion: 2,
		Now:          gateNow,
	}
}

// Changes that each remove one piece.
var (
	noPIA         = func(f *privacy.GateFacts) { f.PIA = nil }
	neverApproved = func(f *privacy.GateFacts) {
		f.PIA = &privacy.PIA{ID: 3, Status: privacy.Submitted, Version: 1}
	}
	unpublished = func(f *privacy.GateFacts) {
		f.PIA = &privacy.PIA{ID: 3, Status: privacy.Approved, Version: 1, ApprovedVersion: 1, ApprovedAt: gateNow.AddDate(0, 0, -1), ExpiresAt: gateNow.AddDate(3, 0, -1)}
	}
	expired   = func(f *privacy.GateFacts) { f.PIA.EffectiveExpiresAt = gateNow } // expiry is exclusive
	outOfDate = func(f *privacy.GateFacts) {
		f.PIA.UpdateRequiredAt, f.PIA.UpdateReason = gateNow.AddDate(0, 0, -3), "vendor changed"
	}
	noRules      = func(f *privacy.GateFacts) { f.RulesVersion = 0 }
	noCredential = func(f *privacy.GateFacts) { f.Source.CredentialRef = "" }
	suspended    = func(f *privacy.GateFacts) {
		f.Source.SuspendedAt, f.Source.SuspendedBy, f.Source.SuspendedReason = gateNow.Add(-time.Hour), "cbp-privacy", "misuse under review"
	}
	localStore    = func(f *privacy.GateFacts) { f.Source.Connector, f.Source.CredentialRef = privacy.LocalStore, "" }
	revisionDraft = func(f *privacy.GateFacts) { f.PIA.Status, f.PIA.Version = privacy.Draft, 5 }
)

func TestEvaluateGate(t *testing.T) {
	for _, c := range []struct {
		name    string
		changes []func(*privacy.GateFacts)
		want    []string // the missing codes, in order; none means usable
		roles   [][]auth.Role
	}{
		{name: "OKUsable"},
		// A source that calls no vendor needs no credential.
		{name: "OKLocalStoreWithoutCredential", changes: mods(localStore)},
		// A revision in progress leaves the version in force in force.
		{name: "OKRevisionInProgress", changes: mods(revisionDraft)},
		{name: "ErrNoPIA", changes: mods(noPIA), want: []string{privacy.PIAMissing},
			roles: [][]auth.Role{{auth.SecurityOfficer, auth.ComponentPrivacyOfficer}}},
		{name: "ErrNeverApproved", changes: mods(neverApproved), want: []string{privacy.PIANotApproved},
			roles: [][]auth.Role{{auth.ComponentPrivacyOfficer}}},
		{name: "ErrApprovedNotPublished", changes: mods(unpublished), want: []string{privacy.PIANotPublished},
			roles: [][]auth.Role{{auth.DepartmentPrivacyOfficer}}},
		{name: "ErrExpired", changes: mods(expired), want: []string{privacy.PIAExpired},
			roles: [][]auth.Role{{auth.SecurityOfficer, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer}}},
		{name: "ErrUpdateRequired", changes: mods(outOfDate), want: []string{privacy.PIAUpdateRequired}},
		{name: "ErrNoRules", changes: mods(noRules), want: []string{privacy.RulesUnpublished},
			roles: [][]auth.Role{{auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer}}},
		{name: "ErrNoCredential", changes: mods(noCredential), want: []string{privacy.CredentialMissing},
			roles: [][]auth.Role{{auth.SecurityOfficer}}},
		{name: "ErrSuspended", changes: mods(suspended), want: []string{privacy.SourceSuspended}},
		// Every missing piece is listed, not just the first.
		{name: "ErrEverything", changes: mods(noPIA, noRules, noCredential, suspended),
			want: []string{privacy.PIAMissing, privacy.RulesUnpublished, privacy.CredentialMissing, privacy.SourceSuspended}},
		{name: "ErrExpiredAndOutOfDate", changes: mods(expired, outOfDate, noRules),
			want: []string{privacy.PIAExpired, privacy.PIAUpdateRequired, privacy.RulesUnpublished}},
		// An expired PIA whose revision awaits approval names the approver.
		{name: "ErrExpiredRevisionAccepted", changes: mods(expired, func(f *privacy.GateFacts) { f.PIA.Status = privacy.Accepted }),
			want: []string{privacy.PIAExpired}, roles: [][]auth.Role{{auth.DepartmentPrivacyOfficer}}},
		{name: "ErrUnpublishedSuspended", changes: mods(unpublished, suspended), want: []string{privacy.PIANotPublished, privacy.SourceSuspended}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := usable()
			for _, ch := range c.changes {
				ch(&f)
			}
			g := privacy.EvaluateGate(f)
			if got := g.Codes(); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Fatalf("missing %v, want %v", got, c.want)
			}
			if g.Usable != (len(c.want) == 0) {
				t.Fatalf("usable = %v with %v missing", g.Usable, g.Codes())
			}
			if g.SourceID != 7 || g.SourceName != "venntel-cbp" || g.Component != "CBP" || !g.CheckedAt.Equal(gateNow) {
				t.Errorf("status names %d %q %q at %v", g.SourceID, g.SourceName, g.Component, g.CheckedAt)
			}
			for i, roles := range c.roles {
				if !slices.Equal(g.Missing[i].Roles, roles) {
					t.Errorf("%s is fixed by %v, want %v", g.Missing[i].Code, g.Missing[i].Roles, roles)
				}
			}
			for _, m := range g.Missing {
				if m.Message == "" || m.Fix == "" || len(m.Roles) == 0 || strings.Contains(m.Message+m.Fix, "%!") {
					t.Errorf("%s: message %q, fix %q, roles %v", m.Code, m.Message, m.Fix, m.Roles)
				}
			}
			err := g.Err()
			if g.Usable {
				if err != nil {
					t.Fatalf("Err() = %v for a usable source", err)
				}
				return
			}
			ge, ok := errors.AsType[*privacy.GateError](err)
			if !ok || fault.CodeOf(err) != fault.Precondition {
				t.Fatalf("Err() = %v, want a Precondition fault wrapping a GateError", err)
			}
			if len(ge.Status.Missing) != len(c.want) {
				t.Errorf("the GateError lists %d pieces", len(ge.Status.Missing))
			}
			// The refusal people see names every piece.
			msg := fault.MessageOf(err)
			for _, m := range g.Missing {
				if !strings.Contains(msg, m.Message) {
					t.Errorf("the refusal %q does not say %q", msg, m.Message)
				}
			}
		})
	}
}

func mods(fs ...func(*privacy.GateFacts)) []func(*privacy.GateFacts) { return fs }

func TestGateError_People(t *testing.T) {
	f := usable()
	noRules(&f)
	g := privacy.EvaluateGate(f)
	g.Missing[0].People = []privacy.Contact{{ID: 5, EmployeeID: "cbp-privacy", Name: "Riley Novak", Role: auth.ComponentPrivacyOfficer}}
	msg := fault.MessageOf(g.Err())
	if !strings.Contains(msg, "Riley Novak (Component privacy officer)") || !strings.HasPrefix(msg, "data source venntel-cbp cannot be used: (1) ") {
		t.Errorf("the refusal %q does not name who can fix it", msg)
	}
}

func TestEvaluateGate_Expiry(t *testing.T) {
	// Expiry is exact to the instant: usable a nanosecond before, not at.
	f := usable()
	f.PIA.EffectiveExpiresAt = gateNow.Add(time.Nanosecond)
	if g := privacy.EvaluateGate(f); !g.Usable {
		t.Errorf("refused before expiry: %v", g.Codes())
	}
	f.PIA.EffectiveExpiresAt = gateNow
	if g := privacy.EvaluateGate(f); g.Usable {
		t.Error("usable at the instant of expiry")
	}
}
