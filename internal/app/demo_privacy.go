package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/store"
)

// loadDemoPrivacy fills the privacy program of the demo, written through
// the real workflow by the demo's people so that the ledger records it:
// a system per component and data sources whose gates show each case at
// once —
//
//   - venntel-cbp: PIA approved and published, rules and credential in
//     place: usable;
//   - city-cbp: the local telemetry store, usable, holding the synthetic
//     city (see loadDemoTelemetry);
//   - fog-cbp: published, then the source gained a data category: update
//     required;
//   - locate-x-ice: a PIA approved in 2021, before Probity, now expired;
//   - local-usss: no PIA yet (the PTA says one is required);
//   - anomaly-six-usss: a PIA under review, returned once with comments,
//     revised and forwarded to the Chief Privacy Officer, with a refused
//     self-review on record.
func loadDemoPrivacy(ctx context.Context, srv *Server) error {
	ps := srv.Privacy
	people := map[string]auth.Principal{}
	for _, d := range demoPeople() {
		p, err := srv.Identity.PersonByEmployeeID(ctx, d.id)
		if err != nil {
			return fmt.Errorf("demo person %s: %w", d.id, err)
		}
		grants, err := srv.Identity.Grants(ctx, p.ID)
		if err != nil {
			return err
		}
		people[d.id] = identity.Principal(p, grants)
	}
	must := func(id string) auth.Principal { return people[id] }
	dpo := must("dept-privacy")
	today := time.Now().UTC().Truncate(24 * time.Hour)

	// One system per component.
	systems := map[string]privacy.System{}
	for _, s := range []struct {
		component, name string
		impact          privacy.Impact
	}{
		{"CBP", "Targeting and analysis platform", privacy.High},
		{"ICE", "Investigative analytics platform", privacy.High},
		{"USSS", "Protective intelligence analytics", privacy.Moderate},
	} {
		lc := strings.ToLower(s.component)
		isso, head := must(lc+"-isso"), must(lc+"-head")
		sys, err := ps.CreateSystem(ctx, isso, privacy.System{Name: s.name, Component: s.component, OwnerID: head.PersonID, ISSOID: isso.PersonID,
			Impact: s.impact, ATOGranted: today.AddDate(-1, -2, 0), ATOExpires: today.AddDate(1, 10, 0)})
		if err != nil {
			return fmt.Errorf("system %s: %w", s.name, err)
		}
		systems[s.component] = sys
	}

	// The data sources.
	type demoSource struct {
		name, title, vendor, contract string
		component                     string
		categories                    []string
		connector                     privacy.Connector
	}
	sources := map[string]privacy.Source{}
	for _, d := range []demoSource{
		{"venntel-cbp", "Venntel commercial telemetry (CBP)", "Venntel, Inc.", "70B04C21P00000456", "CBP", []string{"device_location", "advertising_id"}, privacy.VendorAPI},
		{"fog-cbp", "Fog Reveal commercial telemetry (CBP)", "Fog Data Science LLC", "70B04C22P00000789", "CBP", []string{"device_location", "advertising_id"}, privacy.VendorAPI},
		{"locate-x-ice", "Locate X commercial telemetry (ICE)", "Babel Street, Inc.", "70CMSD21P00000321", "ICE", []string{"device_location", "advertising_id"}, privacy.VendorAPI},
		{"local-usss", "Imported location traces (USSS)", "Probity local telemetry store", "N/A-LOCAL-001", "USSS", []string{"device_location"}, privacy.LocalStore},
		{"anomaly-six-usss", "Anomaly Six commercial telemetry (USSS)", "Anomaly Six LLC", "70US0923P00000111", "USSS", []string{"device_location", "advertising_id"}, privacy.VendorAPI},
		{"city-cbp", "Imported location traces (CBP)", "Probity local telemetry store", "N/A-LOCAL-002", "CBP", []string{"device_location", "advertising_id"}, privacy.LocalStore},
	} {
		src := privacy.Source{Name: d.name, Title: d.title, SystemID: systems[d.component].ID, Vendor: d.vendor, ContractNumber: d.contract,
			ContractStart: today.AddDate(-1, 0, 0), ContractEnd: today.AddDate(1, 0, 0), Categories: d.categories, Connector: d.connector}
		if d.connector == privacy.LocalStore {
			src.ContractStart, src.ContractEnd = time.Time{}, time.Time{}
		}
		created, err := ps.CreateSource(ctx, must(strings.ToLower(d.component)+"-isso"), src)
		if err != nil {
			return fmt.Errorf("data source %s: %w", d.name, err)
		}
		sources[d.name] = created
	}

	// A PTA for every source: each needs a PIA and a SORN.
	yes := true
	no := false
	for _, name := range []string{"venntel-cbp", "fog-cbp", "locate-x-ice", "local-usss", "anomaly-six-usss", "city-cbp"} {
		src := sources[name]
		commercial := &yes
		if src.Connector == privacy.LocalStore {
			commercial = &no
		}
		if _, err := ps.RecordPTA(ctx, must(strings.ToLower(src.Component)+"-isso"), fmt.Sprintf("source/%d", src.ID), privacy.PTAAnswers{
			CollectsPII: &yes, AboutPublic: &yes, LocationData: &yes, RetrievedByIdentifier: &yes, CommercialSource: commercial, NewOrChanged: &yes}); err != nil {
			return fmt.Errorf("PTA of %s: %w", name, err)
		}
	}

	// Rules of behavior for every source, published by its component's
	// privacy officer, and the vendor credentials, stored by its security
	// officer.
	for _, name := range []string{"venntel-cbp", "fog-cbp", "locate-x-ice", "local-usss", "anomaly-six-usss", "city-cbp"} {
		src := sources[name]
		lc := strings.ToLower(src.Component)
		if _, err := srv.Identity.PublishRules(ctx, must(lc+"-privacy"), identity.Rules{Key: src.RulesKey, Title: "Rules of behavior: " + src.Title,
			Body: demoRules(src)}); err != nil {
			return fmt.Errorf("rules of %s: %w", name, err)
		}
		if src.Connector.NeedsCredential() {
			if _, err := ps.SetCredential(ctx, must(lc+"-isso"), src.ID, "sealed:demo-"+name); err != nil {
				return fmt.Errorf("credential of %s: %w", name, err)
			}
		}
	}

	// step takes a PIA through workflow steps, each as the named person.
	type step struct {
		who      string
		action   privacy.Action
		comments string
	}
	run := func(p privacy.PIA, steps ...step) (privacy.PIA, error) {
		for _, s := range steps {
			var err error
			if p, err = ps.Step(ctx, must(s.who), p.ID, s.action, store.StepInput{Comments: s.comments}); err != nil {
				return p, fmt.Errorf("PIA %d: %s by %s: %w", p.ID, s.action, s.who, err)
			}
		}
		return p, nil
	}
	publish := func(name, isso, cpo string) (privacy.PIA, error) {
		src := sources[name]
		p, err := ps.CreatePIA(ctx, must(isso), src.ID, "Privacy Impact Assessment: "+src.Title, demoPIA(src, ""), "first complete draft")
		if err != nil {
			return p, fmt.Errorf("PIA of %s: %w", name, err)
		}
		return run(p, step{isso, privacy.Submit, ""}, step{cpo, privacy.Accept, "Complete; the mitigations match our practice."},
			step{"dept-privacy", privacy.Approve, "Approved."}, step{"dept-privacy", privacy.Publish, ""})
	}

	// Usable: venntel-cbp, and city-cbp (the local store holding the
	// synthetic city the demo's queries search).
	if _, err := publish("venntel-cbp", "cbp-isso", "cbp-privacy"); err != nil {
		return err
	}
	if _, err := publish("city-cbp", "cbp-isso", "cbp-privacy"); err != nil {
		return err
	}
	// Update required: fog-cbp gained IP addresses after its PIA.
	if _, err := publish("fog-cbp", "cbp-isso", "cbp-privacy"); err != nil {
		return err
	}
	cats := []string{"device_location", "advertising_id", "ip_address"}
	if _, err := ps.UpdateSource(ctx, must("cbp-isso"), sources["fog-cbp"].ID, store.SourceUpdate{Categories: &cats}); err != nil {
		return fmt.Errorf("fog-cbp's new category: %w", err)
	}

	// Expired: locate-x-ice's PIA was approved in 2021, outside Probity.
	src := sources["locate-x-ice"]
	legacy, err := ps.CreatePIA(ctx, must("ice-isso"), src.ID, "Privacy Impact Assessment: "+src.Title, demoPIA(src, "This assessment was approved in 2021, before the department used Probity."), "the 2021 text, as approved")
	if err != nil {
		return fmt.Errorf("PIA of locate-x-ice: %w", err)
	}
	if _, err := ps.Step(ctx, dpo, legacy.ID, privacy.RecordPrior, store.StepInput{Prior: privacy.Prior{
		ApprovedOn: time.Date(2021, 6, 15, 0, 0, 0, 0, time.UTC), Approver: "Chief Privacy Officer (2021)", Reference: "ICE CTD PIA, signed 2021-06-15 (paper record, demo)"}}); err != nil {
		return fmt.Errorf("prior approval of locate-x-ice: %w", err)
	}

	// Missing: local-usss has a PTA saying a PIA is required, and none.

	// Under review: anomaly-six-usss, returned once, revised, forwarded;
	// its author's attempt to review it is refused and recorded.
	src = sources["anomaly-six-usss"]
	draft := demoPIA(src, "")
	draft.Retention = "Results are kept for 90 days unless a case places them on evidence hold."
	p, err := ps.CreatePIA(ctx, must("usss-isso"), src.ID, "Privacy Impact Assessment: "+src.Title, draft, "first draft")
	if err != nil {
		return fmt.Errorf("PIA of anomaly-six-usss: %w", err)
	}
	if p, err = run(p, step{"usss-isso", privacy.Submit, ""},
		step{"usss-privacy", privacy.Return, "Retention: name the approved records schedule and say how purges are verified."}); err != nil {
		return err
	}
	revised := demoPIA(src, "")
	if p, err = ps.EditPIA(ctx, must("usss-isso"), p.ID, p.Version, revised, "retention: records schedule and purge verification"); err != nil {
		return fmt.Errorf("revise anomaly-six-usss: %w", err)
	}
	if p, err = run(p, step{"usss-isso", privacy.Submit, ""}); err != nil {
		return err
	}
	// The security officer holds no review role: refused, and recorded.
	if _, err := ps.Step(ctx, must("usss-isso"), p.ID, privacy.Accept, store.StepInput{}); err == nil {
		return fmt.Errorf("the demo's self-review of PIA %d was not refused", p.ID)
	}
	if _, err = run(p, step{"usss-privacy", privacy.Accept, "Retention now complete; forwarded."}); err != nil {
		return err
	}

	// Compliance reviews: the usable source's first-year review.
	if _, err := ps.AssignPCR(ctx, dpo, privacy.PCR{Subject: fmt.Sprintf("source/%d", sources["venntel-cbp"].ID), Title: "First-year privacy compliance review of Venntel use",
		AssigneeID: must("cbp-privacy").PersonID, DueAt: today.AddDate(0, 0, 45)}); err != nil {
		return fmt.Errorf("compliance review: %w", err)
	}
	return nil
}

func demoRules(src privacy.Source) string {
	return fmt.Sprintf("1. Query %s only for an open case you are a member of, with a written justification.\n"+
		"2. Never query the locations of coworkers, family, acquaintances, or yourself.\n"+
		"3. Results are pseudonymous; ask for unmasking only through Probity, with approval.\n"+
		"4. Never export results outside Probity except as the case's legal process allows.\n"+
		"5. Report any suspected misuse to your component privacy officer at once.", src.Title)
}

// demoPIA is a PIA document in Probity's template for a commercial
// telemetry source.
func demoPIA(src privacy.Source, note string) privacy.Document {
	overview := fmt.Sprintf("The %s provides historical locations of mobile devices, bought from %s under contract %s. "+
		"The component uses it only through Probity, which limits each query to an open case, records it in a tamper-evident ledger, "+
		"and has a supervisor review it.", src.Title, src.Vendor, src.ContractNumber)
	if note != "" {
		overview += "\n" + note
	}
	d := privacy.Document{
		Overview:         overview,
		LegalAuthorities: []string{"6 U.S.C. 202 (border and transportation security)", "19 U.S.C. 1589a (customs officers' authority)", "E-Government Act of 2002, section 208"},
		Characterization: "Device locations (latitude, longitude, time) linked to advertising identifiers, as collected by mobile applications and resold. " +
			"Accuracy varies from meters to kilometers; the source does not verify who carried a device. Probity replaces identifiers with per-case pseudonyms.",
		Uses: "Area searches and device histories for open cases, within limits on area and time window set by policy. " +
			"Queries about protected places or off-case are withheld for privacy review. Any other use is forbidden.",
		Notice: "Individuals receive no notice at collection, which the vendor performs. Notice is given by this PIA and by the system of records notice " +
			"covering investigative records; both are published.",
		Retention: "Query results are kept for 90 days unless a case places them on evidence hold, under the component's approved records schedule; " +
			"Probity purges them automatically and records every purge in its ledger, so that purges can be verified.",
		Sharing: "Results are not shared outside the component except under the legal process of a case, recorded in Probity. " +
			"No bulk data leaves the vendor or Probity.",
		Redress: "Individuals may request access to and amendment of records under the Privacy Act and FOIA through the department's privacy office; " +
			"pseudonymous results rarely identify a person without an approved unmasking.",
		Auditing: "Every query, review and unmasking is a ledger entry anyone can verify. Supervisors review every query; privacy officers review alerts; " +
			"internal audit samples queries each quarter; users acknowledge rules of behavior yearly.",
		Risks: []privacy.Risk{
			{Section: "uses", Description: "An analyst could query the movements of a coworker, a partner, or themselves.",
				Mitigation: "Protected places (agency facilities, employees' homes) are screened; such results are withheld pending privacy review, and every query is reviewed.", Residual: privacy.RiskLow},
			{Section: "characterization", Description: "Locations are imprecise and may be attributed to the wrong person.",
				Mitigation: "Results are pseudonymous and are leads only; corroboration is required before any action.", Residual: privacy.RiskModerate},
			{Section: "retention", Description: "Results could be kept longer than needed.",
				Mitigation: "Automatic, audited purges after 90 days unless a case's evidence hold applies.", Residual: privacy.RiskLow},
		},
	}
	d.Normalize()
	return d
}
