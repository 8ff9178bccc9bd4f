package detect

import (
	"context"
	"fmt"
	"time"

	"github.com/golang/geo/s2"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/places"
	"github.com/probity-dev/probity/internal/query"
)

// pings screens the pings a device history returned: the protected
// places they fall in, and whose home the device sleeps in.
func (d *Detectors) pings(ctx context.Context, in Input, res query.Result) ([]Finding, error) {
	snap := d.snapshot()
	if snap == nil {
		return nil, nil
	}
	var out []Finding
	if snap.Zones != nil && snap.Zones.Len() > 0 {
		out = append(out, zonePings(snap.Zones, res)...)
	}
	if snap.Homes != nil && snap.Homes.Len() > 0 {
		f, ok, err := d.sleepsAt(ctx, snap.Homes, in, res)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, f)
		}
	}
	return out, nil
}

// zonePings reports, per category, the protected places the pings fall in.
func zonePings(ix *places.Index, res query.Result) []Finding {
	hits := map[int32]int{}
	var buf []int32
	for _, p := range res.Pings {
		buf = ix.At(p.Lat, p.Lon, buf[:0])
		for _, z := range buf {
			hits[z]++
		}
	}
	if len(hits) == 0 {
		return nil
	}
	type cat struct {
		pings  int
		places map[string]int
	}
	cats := map[places.Category]*cat{}
	for z, n := range hits {
		zone := ix.Zone(z)
		c := cats[zone.Category]
		if c == nil {
			c = &cat{places: map[string]int{}}
			cats[zone.Category] = c
		}
		c.pings += n
		name := zone.Name
		if name == "" {
			name = fmt.Sprintf("place %d", zone.ID)
		}
		c.places[name] += n
	}
	var out []Finding
	for _, k := range sortedKeys(cats) {
		c := cats[k]
		names := byCount(c.places)
		sev := alerts.Low
		if k == places.AgencyFacility {
			sev = alerts.Medium
		}
		top := map[string]int{}
		for _, n := range names[:min(len(names), 50)] {
			top[n] = c.places[n]
		}
		out = append(out, Finding{Detector: ProtectedPlace, Severity: sev,
			Explanation: fmt.Sprintf("%s of device %s fall in %s (%s): %s.", plural(c.pings, "ping", "pings"), res.Device,
				plural(len(names), "protected place", "protected places"), k.Title(), listSome(names, 5)),
			Evidence: map[string]any{"device": res.Device, "category": string(k), "pings": c.pings, "places": top}})
	}
	return out
}

// sleepsAt reports whether the device spends its nights in one
// employee's home cells.
func (d *Detectors) sleepsAt(ctx context.Context, homes *places.HomeIndex, in Input, res query.Result) (Finding, bool, error) {
	cache := map[s2.CellID][]int64{}
	night, atHome := 0, map[int64]int{}
	nights := map[int64]map[int64]bool{}
	for _, p := range res.Pings {
		solar := p.Time.UTC().Add(time.Duration(p.Lon / 15 * float64(time.Hour)))
		if h := solar.Hour(); !d.isNight(h) {
			continue
		}
		night++
		c := s2.CellIDFromLatLng(s2.LatLngFromDegrees(p.Lat, p.Lon)).Parent(places.HomeLevel)
		people, ok := cache[c]
		if !ok {
			people = homes.At(p.Lat, p.Lon)
			cache[c] = people
		}
		// The night a ping belongs to is the solar day that began at the
		// noon before it.
		n := solar.Add(-12*time.Hour).Unix() / 86400
		for _, person := range people {
			atHome[person]++
			if nights[person] == nil {
				nights[person] = map[int64]bool{}
			}
			nights[person][n] = true
		}
	}
	var best int64
	for person, k := range atHome {
		if k > atHome[best] || (k == atHome[best] && person < best) {
			best = person
		}
	}
	k := atHome[best]
	if best == 0 || k < d.cfg.HomePings || len(nights[best]) < d.cfg.HomeNights || float64(k) < d.cfg.HomeShare*float64(night) {
		return Finding{}, false, nil
	}
	employee := fmt.Sprintf("person %d", best)
	if d.history != nil {
		ids, err := d.history.EmployeeIDs(ctx, []int64{best})
		if err != nil {
			return Finding{}, false, fmt.Errorf("name the employee whose home the device sleeps in: %w", err)
		}
		if id, ok := ids[best]; ok {
			employee = id
		}
	}
	whose := "employee " + employee
	if best == in.Requester.ID {
		whose = "the requester, " + employee + ","
	}
	share := float64(k) / float64(night)
	return Finding{Detector: EmployeeDevice, Severity: alerts.High, Withhold: true,
		Explanation: fmt.Sprintf("Device %s spends its nights at the home of %s: %d of its %d night-time pings (%.0f%%), on %s, fall in that home's cells. It is probably the employee's or their household's, so the results are withheld until a privacy officer has looked.",
			res.Device, whose, k, night, 100*share, plural(len(nights[best]), "night", "nights")),
		Evidence: map[string]any{"device": res.Device, "case": in.Case, "employee_id": employee, "person_id": best,
			"night_pings": night, "night_pings_at_home": k, "share": float64(int(share*1000)) / 1000, "nights": len(nights[best]),
			"night_hours": fmt.Sprintf("%02d:00–%02d:00 local solar time", d.cfg.NightStart, d.cfg.NightEnd)},
	}, true, nil
}

func (d *Detectors) isNight(h int) bool {
	if d.cfg.NightStart > d.cfg.NightEnd {
		return h >= d.cfg.NightStart || h < d.cfg.NightEnd
	}
	return h >= d.cfg.NightStart && h < d.cfg.NightEnd
}
