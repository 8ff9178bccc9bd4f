package detect

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/query"
)

// A Stats is a robust summary of daily counts: the median and the median
// absolute deviation, which a few extreme days do not move.
type Stats struct {
	Median float64 `json:"median"`
	MAD    float64 `json:"mad"`
	Days   int     `json:"days"`
}

// Summarize returns the robust summary of xs.
func Summarize(xs []float64) Stats {
	if len(xs) == 0 {
		return Stats{}
	}
	m := median(slices.Clone(xs))
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - m)
	}
	return Stats{Median: m, MAD: median(dev), Days: len(xs)}
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// Threshold returns the count above which a day is anomalous against s:
// spread robust standard deviations (1.4826 MAD) above the median, and at
// least minExcess above it.
func (s Stats) Threshold(spread float64, minExcess int) float64 {
	return s.Median + max(spread*1.4826*s.MAD, float64(minExcess))
}

// baselines are a component's daily counts before one day.
type baselines struct {
	from    time.Time
	days    int
	perDay  map[int64]map[int64]DayCount // person → day (Unix days) → counts
	persons []int64
}

func (d *Detectors) baselines(ctx context.Context, component string, day time.Time) (baselines, error) {
	key := peerKey{component, day}
	d.mu.Lock()
	b, ok := d.peers[key]
	d.mu.Unlock()
	if ok {
		return b, nil
	}
	from := day.AddDate(0, 0, -d.cfg.BaselineDays)
	rows, err := d.history.Daily(ctx, component, from, day)
	if err != nil {
		return baselines{}, fmt.Errorf("read the activity baselines of %s: %w", component, err)
	}
	b = baselines{from: from, days: d.cfg.BaselineDays, perDay: map[int64]map[int64]DayCount{}}
	for _, r := range rows {
		m := b.perDay[r.Person]
		if m == nil {
			m = map[int64]DayCount{}
			b.perDay[r.Person] = m
			b.persons = append(b.persons, r.Person)
		}
		m[r.Day.Unix()/86400] = r
	}
	d.mu.Lock()
	for k := range d.peers {
		if !k.day.Equal(day) {
			delete(d.peers, k) // past days are not asked again
		}
	}
	d.peers[key] = b
	d.mu.Unlock()
	return b, nil
}

// own returns person's daily counts over the whole baseline, days without
// queries counted as 0.
func (b baselines) own(person int64, measure func(DayCount) int) []float64 {
	out := make([]float64, b.days)
	first := b.from.Unix() / 86400
	for day, c := range b.perDay[person] {
		if i := day - first; i >= 0 && i < int64(b.days) {
			out[i] = float64(measure(c))
		}
	}
	return out
}

// peers returns the other people's counts on the days they were active.
func (b baselines) peers(person int64, measure func(DayCount) int) []float64 {
	var out []float64
	for _, p := range b.persons {
		if p == person {
			continue
		}
		for _, c := range b.perDay[p] {
			if c.Queries > 0 {
				out = append(out, float64(measure(c)))
			}
		}
	}
	return out
}

// volume reports the requester's queries or devices today crossing what
// is anomalous for them and their peers. It reports the crossing only,
// once a day per measure, not every query after it.
func (d *Detectors) volume(ctx context.Context, in Input, res query.Result) ([]Finding, error) {
	day := in.At.UTC().Truncate(24 * time.Hour)
	queries, devices, err := d.history.Since(ctx, in.Requester.ID, day)
	if err != nil {
		return nil, fmt.Errorf("read the requester's activity today: %w", err)
	}
	b, err := d.baselines(ctx, in.Requester.Component, day)
	if err != nil {
		return nil, err
	}
	added := len(res.Devices)
	if res.Device != "" {
		added = 1
	}
	var out []Finding
	for _, m := range []struct {
		name          string
		measure       func(DayCount) int
		before, after int
		minExcess     int
	}{
		// The running query is counted among today's queries; its devices
		// are not yet.
		{"queries", func(c DayCount) int { return c.Queries }, queries - 1, queries, d.cfg.MinExcessQueries},
		{"devices", func(c DayCount) int { return c.Devices }, devices, devices + added, d.cfg.MinExcessDevices},
	} {
		own, peers := Summarize(b.own(in.Requester.ID, m.measure)), Summarize(b.peers(in.Requester.ID, m.measure))
		limit := max(own.Threshold(d.cfg.Spread, m.minExcess), peers.Threshold(d.cfg.Spread, m.minExcess))
		if float64(m.before) > limit || float64(m.after) <= limit {
			continue
		}
		out = append(out, Finding{Detector: VolumeAnomaly, Severity: alerts.Medium,
			Explanation: fmt.Sprintf("Today %s has reached %d %s, far above both their own usual day (median %s, median absolute deviation %s over the past %d days) and their colleagues' (median %s, deviation %s over %d active days): anything above %s stands out. A sudden burst can mean browsing the data rather than working a case.",
				in.Requester.EmployeeID, m.after, m.name, num(own.Median), num(own.MAD), own.Days, num(peers.Median), num(peers.MAD), peers.Days, num(math.Floor(limit))),
			Evidence: map[string]any{"measure": m.name, "today": m.after, "day": day.Format(time.DateOnly), "own": own, "peers": peers,
				"threshold": math.Floor(limit), "method": fmt.Sprintf("median + max(%g × 1.4826 × MAD, %d), the larger of own and peers'", d.cfg.Spread, m.minExcess)},
		})
	}
	return out, nil
}

func num(x float64) string {
	if x == math.Trunc(x) {
		return fmt.Sprintf("%d", int64(x))
	}
	return fmt.Sprintf("%.1f", x)
}
