package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/policy"
	"github.com/probity-dev/probity/internal/store"
)

// demoCBPPolicy is the CBP privacy officer's demo proposal: the default
// permits, and a CBP limit of 2 km² on area searches without approval.
var demoCBPPolicy = policy.DefaultComponentText + `
@id("cbp.area-2km2")
@reason("CBP limits area searches to 2 km² unless a supervisor approves the query first.")
forbid (principal, action == Action::"query.area", resource)
when { resource.area_km2.greaterThan(decimal("2.0")) && !resource.pre_approved };
`

// loadDemoPolicy records a few hundred decisions of the demo's analysts,
// decided by the built-in policies, and leaves a CBP policy proposal
// analysed against them and waiting for the Chief Privacy Officer's
// approval, so that impact analysis has something to show.
func loadDemoPolicy(ctx context.Context, srv *Server) error {
	who := func(id string) (auth.Principal, error) {
		p, err := srv.Identity.PersonByEmployeeID(ctx, id)
		if err != nil {
			return auth.Principal{}, fmt.Errorf("demo person %s: %w", id, err)
		}
		grants, err := srv.Identity.Grants(ctx, p.ID)
		if err != nil {
			return auth.Principal{}, err
		}
		return identity.Principal(p, grants), nil
	}
	err := srv.DB.Update(ctx, func(tx *store.Tx) error {
		for i := range 300 {
			comp := []string{"CBP", "ICE", "USSS"}[i%3]
			lc := strings.ToLower(comp)
			analyst := fmt.Sprintf("%s-analyst%d", lc, 1+i%2)
			p, err := who(analyst)
			if err != nil {
				return err
			}
			r := policy.Request{Action: policy.QueryArea,
				Principal: policy.Principal{EmployeeID: analyst, Component: comp, Roles: []string{"analyst"},
					AccountActive: true, TrainingCurrent: i%17 != 0, RulesAcknowledged: true},
				Query: policy.Query{ID: fmt.Sprintf("demo-%d", i),
					Case: policy.Case{Number: fmt.Sprintf("%s-2026-%03d", comp, 1+i%4), Component: comp, Status: "open",
						Members: []string{lc + "-analyst1", lc + "-analyst2"}, LegalProcess: []string{fmt.Sprintf("W-%s-%d", comp, 1+i%4)}},
					Source:  policy.DataSource{Name: "demo-" + lc, Usable: i%13 != 0, Connector: "vendor", Categories: []string{"device_location"}},
					AreaKM2: float64(1+i%40) / 5, WindowHours: int64(6 + i%90), Justification: "Demo lead " + fmt.Sprint(i)},
				OffHours: i%23 == 0,
			}
			if i%5 == 0 {
				r.Action, r.Query.AreaKM2 = policy.QueryDeviceHistory, 0
				if i%10 == 0 {
					r.Query.LegalProcessRef = r.Query.Case.LegalProcess[0]
				}
			}
			d, in := srv.Policy.DecideRequest(r)
			if _, err := srv.Policies.RecordDecision(ctx, tx, store.DecisionRecord{PersonID: p.PersonID, Actor: analyst, Component: comp,
				Resource: "query/" + r.Query.ID, Input: in, Decision: d}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record demo decisions: %w", err)
	}
	cpo, err := who("cbp-privacy")
	if err != nil {
		return err
	}
	v, err := srv.Policies.Propose(ctx, cpo, store.Proposal{Scope: "CBP", Text: demoCBPPolicy,
		Summary: "CBP's own set: the default permits, and area searches over 2 km² need a supervisor's approval first."})
	if err != nil {
		return err
	}
	_, _, err = srv.Policies.Analyse(ctx, cpo, v.ID, 30, srv.Policy.Snapshot())
	return err
}
