package app

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/probity-dev/probity/internal/access"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/importer/ping"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/synth"
)

// loadDemoCity generates the synthetic city (by default about 2.7 million
// pings), imports it into the demo's local data source, city-cbp, with
// progress on w, and runs the demo's queries over it.
func loadDemoCity(ctx context.Context, srv *Server, cfg synth.Config, w io.Writer) error {
	city, err := synth.New(cfg)
	if err != nil {
		return err
	}
	if err := importDemoCity(ctx, srv, city, w); err != nil {
		return err
	}
	if err := loadDemoBasemap(ctx, srv, city); err != nil {
		return err
	}
	if err := loadDemoPlaces(ctx, srv, city); err != nil {
		return err
	}
	if err := loadDemoQueries(ctx, srv, city); err != nil {
		return err
	}
	rp, err := replayCoworker(ctx, srv, city)
	if err != nil {
		return fmt.Errorf("the coworker scenario: %w", err)
	}
	fmt.Fprintf(w, "demo city: the coworker scenario ran (queries %d, %d and %d; the last %s)\n",
		rp.Neighborhood.Query.ID, rp.Home.Query.ID, rp.History.Query.ID, rp.History.Query.Status)
	return nil
}

// importDemoCity imports the city's pings into city-cbp, with progress on w.
func importDemoCity(ctx context.Context, srv *Server, city *synth.City, w io.Writer) error {
	start := time.Now()
	// The city streams device by device; the local store imports pings in
	// time order several times faster (its index is clustered by time), so
	// the demo sorts them first (a million pings take about 100 MB).
	var pings timeOrdered
	for s := city.Pings(); ; {
		p, err := s.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		pings = append(pings, p)
	}
	slices.SortStableFunc(pings, func(a, b ping.Ping) int { return a.Time.Compare(b.Time) })
	last := start
	stats, err := srv.DB.Telemetry().Import(ctx, ledger.Actor{Kind: ledger.ActorSystem, ID: "probity demo"}, "city-cbp", &pings,
		store.ImportOptions{FileName: "synthetic-city", Format: "csv", Progress: func(s store.ImportStats) {
			if time.Since(last) >= time.Second {
				last = time.Now()
				fmt.Fprintf(w, "demo city: %d pings imported (%.0f/s)\n", s.Inserted, float64(s.Inserted)/time.Since(start).Seconds())
			}
		}})
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	fmt.Fprintf(w, "demo city: %d pings of %d devices imported in %s\n", stats.Inserted, len(city.Devices()), time.Since(start).Round(time.Millisecond))
	// The demo's analyst has read the source's rules of behavior.
	analyst, err := demoPrincipal(ctx, srv, "cbp-analyst1")
	if err != nil {
		return err
	}
	rules, err := srv.Identity.CurrentRules(ctx, "source:city-cbp")
	if err != nil || len(rules) != 1 {
		return fmt.Errorf("rules of city-cbp: %v", err)
	}
	return srv.Identity.Acknowledge(ctx, analyst, rules[0].Key, rules[0].Version)
}

// timeOrdered is a list of pings read in order.
type timeOrdered []ping.Ping

func (t *timeOrdered) Next() (ping.Ping, error) {
	if len(*t) == 0 {
		return ping.Ping{}, io.EOF
	}
	p := (*t)[0]
	*t = (*t)[1:]
	return p, nil
}

// loadDemoQueries runs a few queries through the audited path, as the
// demo's CBP analyst would: an area search around an agency facility, a
// device history of one device it found (under the case's court order),
// and a week-long search that waits for the supervisor's approval. A query
// sent for approval (it touches the facility, or the demo runs off hours)
// is approved by the analyst's supervisor, and by CBP's privacy officer
// when critical, and then run.
func loadDemoQueries(ctx context.Context, srv *Server, city *synth.City) error {
	analyst, err := demoPrincipal(ctx, srv, "cbp-analyst1")
	if err != nil {
		return err
	}
	sup, err := demoPrincipal(ctx, srv, "cbp-sup")
	if err != nil {
		return err
	}
	cpo, err := demoPrincipal(ctx, srv, "cbp-privacy")
	if err != nil {
		return err
	}
	run := func(r query.Request) (access.Outcome, error) {
		return runApproved(ctx, srv, analyst, []auth.Principal{sup, cpo}, r)
	}
	start, _ := city.Window()
	fac := city.Facilities()[0]
	from := time.Date(start.Year(), start.Month(), start.Day()+2, 14, 0, 0, 0, time.UTC)
	const why = "Stash-house surveillance reported a meeting near the facility that afternoon; identify devices present."
	area, err := run(query.Request{Kind: query.Area, Case: "CBP-2026-0142", Source: "city-cbp", Justification: why,
		Circle: &query.Circle{Lat: fac.Center.Lat, Lon: fac.Center.Lon, RadiusM: 300}, From: from, To: from.Add(2 * time.Hour)})
	if err != nil {
		return fmt.Errorf("area search: %w", err)
	}
	if area.Result != nil && len(area.Result.Devices) > 0 {
		if _, err := run(query.Request{Kind: query.DeviceHistory, Case: "CBP-2026-0142", Source: "city-cbp", Device: area.Result.Devices[0].Device,
			Justification: "Follow the first device seen at the meeting through that day, under the court order.",
			From:          from.Add(-10 * time.Hour), To: from.Add(14 * time.Hour), LegalProcess: "5:26-mj-00142 (S.D. Tex.)"}); err != nil {
			return fmt.Errorf("device history: %w", err)
		}
	}
	// A week-long window: over the department limit, so it waits for the
	// supervisor (left waiting, for the demo's approvers to see).
	out, err := srv.Queries.Submit(ctx, analyst, query.Request{Kind: query.Area, Case: "CBP-2026-0142", Source: "city-cbp",
		Justification: "Pattern of visits to the facility over the week before the seizure.",
		Circle:        &query.Circle{Lat: fac.Center.Lat, Lon: fac.Center.Lon, RadiusM: 300}, From: from, To: from.Add(7 * 24 * time.Hour)})
	if err != nil && fault.CodeOf(err) != fault.Forbidden {
		return fmt.Errorf("week-long search: %w", err)
	}
	if out.Query.Status != query.AwaitingApproval {
		return fmt.Errorf("the week-long search is %s, not awaiting approval", out.Query.Status)
	}
	return nil
}
