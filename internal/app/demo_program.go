package app

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/program"
)

// demoRecommendations are the demo's audit reports — the two inspector
// general reports Probity answers — with their recommendations in our own
// words, owners from the demo organization, target dates, and some
// resolved or closed with their evidence.
//
//go:embed demo/recommendations.json
var demoRecommendations []byte

// demoProgramOwner is who records the demo's reports: the department
// privacy officer, as on a real installation.
const demoProgramOwner = "dept-privacy"

// loadDemoProgram records the demo's reports and recommendations through
// the import path, the same parser and the same rules as "probity
// recommendations import".
func loadDemoProgram(ctx context.Context, srv *Server) error {
	p, err := srv.Identity.PersonByEmployeeID(ctx, demoProgramOwner)
	if err != nil {
		return fmt.Errorf("the demo's department privacy officer %s: %w", demoProgramOwner, err)
	}
	grants, err := srv.Identity.Grants(ctx, p.ID)
	if err != nil {
		return err
	}
	x, err := program.Parse(demoRecommendations)
	if err != nil {
		return fmt.Errorf("demo/recommendations.json: %w", err)
	}
	if _, err := srv.Program.Import(ctx, identity.Principal(p, grants), x, ledger.PayloadDigest(demoRecommendations)); err != nil {
		return fmt.Errorf("demo/recommendations.json: %w", err)
	}
	return nil
}
