package app

import (
	"context"
	"fmt"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/identity"
)

// A demoCase is a case of the demo, with what happens to it after it is
// opened.
type demoCase struct {
	c      cases.Case
	by     string // the supervisor who opens and manages it
	hold   string // an evidence hold's reason, when one is set
	status cases.Status
	reason string // for the change of status
}

// demoCases are the demo's cases, opened by the demo's supervisors
// through the store so that the ledger records them:
//
//   - CBP-2026-0142, open: cbp-analyst1 and cbp-sup are members, a court
//     order is in force and an earlier warrant has expired;
//   - CBP-2025-0097, closed, with an evidence hold that keeps its results
//     past the grace period;
//   - ICE-2026-0031, suspended while a foreign request is pending;
//   - USSS-2026-0007, open, with no legal process (area searches only).
func demoCases(today time.Time) []demoCase {
	day := func(d int) time.Time { return today.AddDate(0, 0, d) }
	m := func(ids ...string) []cases.Member {
		var out []cases.Member
		for _, id := range ids {
			out = append(out, cases.Member{EmployeeID: id})
		}
		return out
	}
	return []demoCase{
		{by: "cbp-head", c: cases.Case{Number: "CBP-2026-0142", Title: "Human smuggling network, Laredo sector",
			LegalAuthority: "8 U.S.C. 1324; 19 U.S.C. 1589a",
			Predicate:      "Informant reporting and three seizures at the Laredo port of entry tie four stash houses to one smuggling organization moving people across the river.",
			Members:        m("cbp-analyst1", "cbp-sup"),
			LegalProcess: []cases.LegalProcess{
				{Kind: cases.Warrant, Reference: "5:26-mj-00098 (S.D. Tex.)", IssuedOn: day(-75), ExpiresOn: day(-30)},
				{Kind: cases.CourtOrder, Reference: "5:26-mj-00142 (S.D. Tex.)", IssuedOn: day(-20), ExpiresOn: day(70)},
			}}},
		{by: "cbp-head", c: cases.Case{Number: "CBP-2025-0097", Title: "Counterfeit electronics imports, Port of Long Beach",
			LegalAuthority: "19 U.S.C. 1526; 18 U.S.C. 2320",
			Predicate:      "Port seizures of counterfeit network equipment trace back to one importer of record and two freight forwarders.",
			Members:        m("cbp-analyst2"),
			LegalProcess:   []cases.LegalProcess{{Kind: cases.Subpoena, Reference: "GJ-2025-0311 (C.D. Cal.)", IssuedOn: day(-400)}}},
			hold:   "Litigation hold: United States v. Importer of record, trial pending in the Central District of California.",
			status: cases.Closed, reason: "Indictment returned; the investigation is complete."},
		{by: "ice-head", c: cases.Case{Number: "ICE-2026-0031", Title: "Ransomware proceeds laundering network",
			LegalAuthority: "18 U.S.C. 1956; 18 U.S.C. 1030",
			Predicate:      "Cryptocurrency tracing links the proceeds of three ransomware attacks on hospitals to cash-out couriers operating in two cities.",
			Members:        m("ice-analyst1", "ice-analyst2"),
			LegalProcess:   []cases.LegalProcess{{Kind: cases.CourtOrder, Reference: "1:26-mc-00031 (E.D. Va.)", IssuedOn: day(-40), ExpiresOn: day(50)}}},
			status: cases.Suspended, reason: "Awaiting the response to a mutual legal assistance request."},
		{by: "usss-head", c: cases.Case{Number: "USSS-2026-0007", Title: "Counterfeit currency passing ring",
			LegalAuthority: "18 U.S.C. 471; 18 U.S.C. 472",
			Predicate:      "Counterfeit $100 notes with the same defects were passed at eleven retailers along one highway corridor within a month.",
			Members:        m("usss-analyst1", "usss-sup")}},
	}
}

// loadDemoCases opens the demo's cases as the demo's supervisors, sets
// their evidence holds and moves them to their status.
func loadDemoCases(ctx context.Context, srv *Server) error {
	principal := func(id string) (auth.Principal, error) {
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
	for _, d := range demoCases(cases.Day(time.Now())) {
		by, err := principal(d.by)
		if err != nil {
			return err
		}
		if _, err := srv.Cases.Create(ctx, by, d.c); err != nil {
			return fmt.Errorf("case %s: %w", d.c.Number, err)
		}
		if d.hold != "" {
			if _, err := srv.Cases.SetEvidenceHold(ctx, by, d.c.Number, true, d.hold); err != nil {
				return fmt.Errorf("case %s: hold: %w", d.c.Number, err)
			}
		}
		if d.status != "" && d.status != cases.Open {
			if _, err := srv.Cases.SetStatus(ctx, by, d.c.Number, d.status, d.reason); err != nil {
				return fmt.Errorf("case %s: %s: %w", d.c.Number, d.status, err)
			}
		}
	}
	return nil
}
