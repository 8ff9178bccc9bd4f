package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"time"

	"github.com/probity-dev/probity/internal/access"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/places"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/synth"
)

// demoHomeRadiusM is how far around a demo employee's home its hashed
// cells reach.
const demoHomeRadiusM = 60

// loadDemoPlaces makes the city's agency facilities and sensitive places
// CBP's protected places, and gives CBP's demo people the homes of the
// city's employees: cbp-analyst1 lives where the coworker scenario's
// analyst A does, and cbp-analyst2 is its coworker B.
func loadDemoPlaces(ctx context.Context, srv *Server, city *synth.City) error {
	cpo, err := demoPrincipal(ctx, srv, "cbp-privacy")
	if err != nil {
		return err
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"ref", "name", "category", "lat", "lon", "radius_m"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for _, fac := range city.Facilities() {
		w.Write([]string{fac.ID, fac.Name, string(places.AgencyFacility), f(fac.Center.Lat), f(fac.Center.Lon), f(fac.RadiusM)})
	}
	for _, p := range city.SensitivePlaces() {
		w.Write([]string{p.ID, p.Name, string(p.Category), f(p.Center.Lat), f(p.Center.Lon), f(p.RadiusM)})
	}
	w.Flush()
	if _, err := srv.Places.Import(ctx, cpo, store.PlaceImport{Source: "synthetic-city-places.csv", Format: places.CSV, Data: b.Bytes()}); err != nil {
		return fmt.Errorf("import the city's places: %w", err)
	}
	sc := city.Scenario()
	homes := map[string]synth.Point{"cbp-analyst1": sc.Analyst.Home, "cbp-analyst2": sc.Coworker.Home}
	others := []string{"cbp-sup", "cbp-head", "cbp-privacy", "cbp-isso", "cbp-opr"}
	for _, e := range city.Employees() {
		if len(others) == 0 {
			break
		}
		if e.ID != sc.Analyst.ID && e.ID != sc.Coworker.ID {
			homes[others[0]], others = e.Home, others[1:]
		}
	}
	for id, home := range homes {
		p, err := srv.Identity.PersonByEmployeeID(ctx, id)
		if err != nil {
			return fmt.Errorf("demo person %s: %w", id, err)
		}
		if err := srv.Places.SetEmployeeHome(ctx, cpo, p.ID, home.Lat, home.Lon, demoHomeRadiusM); err != nil {
			return fmt.Errorf("set the home of %s: %w", id, err)
		}
	}
	return srv.PlacesIndex.Reload(ctx)
}

func demoPrincipal(ctx context.Context, srv *Server, employeeID string) (auth.Principal, error) {
	p, err := srv.Identity.PersonByEmployeeID(ctx, employeeID)
	if err != nil {
		return auth.Principal{}, fmt.Errorf("demo person %s: %w", employeeID, err)
	}
	grants, err := srv.Identity.Grants(ctx, p.ID)
	return identity.Principal(p, grants), err
}

// coworkerReplay is what the coworker scenario came to.
type coworkerReplay struct {
	Neighborhood, Home, History access.Outcome
}

// replayCoworker plays the misuse the inspector general found: analyst A
// (cbp-analyst1), on a legitimate open case, searches coworker B's
// neighbourhood at night, narrows the search to B's home, and asks for
// the history of the device found there. The searches touch an employee's
// home, so they wait for a supervisor and a privacy officer, who approve
// them on the case's cover story; the history is then withheld pending
// privacy review, with a high-severity alert.
func replayCoworker(ctx context.Context, srv *Server, city *synth.City) (coworkerReplay, error) {
	var rp coworkerReplay
	a, err := demoPrincipal(ctx, srv, "cbp-analyst1")
	if err != nil {
		return rp, err
	}
	approvers := make([]auth.Principal, 2)
	for i, id := range []string{"cbp-sup", "cbp-privacy"} {
		if approvers[i], err = demoPrincipal(ctx, srv, id); err != nil {
			return rp, err
		}
	}
	run := func(what string, r query.Request) (access.Outcome, error) {
		out, err := runApproved(ctx, srv, a, approvers, r)
		if err != nil {
			return out, fmt.Errorf("%s: %w", what, err)
		}
		return out, nil
	}
	sc := city.Scenario()
	const caseNo = "CBP-2026-0142"
	n := sc.Neighborhood
	if rp.Neighborhood, err = run("neighbourhood search", query.Request{Kind: query.Area, Case: caseNo, Source: "city-cbp",
		Justification: "An informant places a courier of the ring in this neighbourhood overnight; identify devices present.",
		Circle:        &query.Circle{Lat: n.Center.Lat, Lon: n.Center.Lon, RadiusM: n.RadiusM}, From: sc.NightStart, To: sc.NightEnd}); err != nil {
		return rp, err
	}
	if rp.Home, err = run("search at the address", query.Request{Kind: query.Area, Case: caseNo, Source: "city-cbp",
		Justification: "Narrow the overnight search to the address the informant named.",
		Circle:        &query.Circle{Lat: sc.CoworkerHome.Lat, Lon: sc.CoworkerHome.Lon, RadiusM: 30}, From: sc.NightStart, To: sc.NightEnd}); err != nil {
		return rp, err
	}
	if rp.Home.Result == nil || len(rp.Home.Result.Devices) == 0 {
		return rp, fmt.Errorf("the search at the address found no device (query %d is %s)", rp.Home.Query.ID, rp.Home.Query.Status)
	}
	dev := rp.Home.Result.Devices[0]
	for _, d := range rp.Home.Result.Devices {
		if d.Pings > dev.Pings {
			dev = d
		}
	}
	rp.History, err = run("device history", query.Request{Kind: query.DeviceHistory, Case: caseNo, Source: "city-cbp", Device: dev.Device,
		Justification: "Follow the device found at the address over the surrounding days, under the court order.",
		LegalProcess:  "5:26-mj-00142 (S.D. Tex.)", From: sc.NightStart.Add(-72 * time.Hour), To: sc.NightEnd.Add(48 * time.Hour)})
	return rp, err
}

// runApproved submits r as by and, when it waits for approval, has it
// approved — by the first approver (a supervisor), and for a critical
// query by the second too (a privacy officer) — and runs it.
func runApproved(ctx context.Context, srv *Server, by auth.Principal, approvers []auth.Principal, r query.Request) (access.Outcome, error) {
	out, err := srv.Queries.Submit(ctx, by, r)
	if err != nil || out.Query.Status != query.AwaitingApproval {
		return out, err
	}
	for i, ap := range approvers {
		if i == 1 && out.Query.Tier < query.Critical {
			break
		}
		if _, err := srv.Queries.Decide(ctx, ap, out.Query.ID, true, "Within the case's scope, as the justification explains."); err != nil {
			return out, fmt.Errorf("approve query %d: %w", out.Query.ID, err)
		}
	}
	if out, err = srv.Queries.Run(ctx, by, out.Query.ID); err != nil {
		return out, fmt.Errorf("run query %d: %w", out.Query.ID, err)
	}
	return out, nil
}
