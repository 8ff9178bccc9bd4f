package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/connector"
	"github.com/probity-dev/probity/internal/geo"
)

// Connector returns the connector that answers the query path's questions
// from a source's pings in the local store.
func (t *Telemetry) Connector(sourceID int64) connector.Connector {
	return &localConnector{db: t.db, source: sourceID}
}

type localConnector struct {
	db     *DB
	source int64
}

var _ connector.Connector = (*localConnector)(nil)

// Area searches read, in each 4-hour period of the window that has pings,
// the pings of candidate cells: every level-16 cell that may hold a point
// of the area (one index seek per period and cell, bounded by the time
// window as well), or when that would be more than maxSeeks seeks, the
// ranges of a covering (one index range per period and covering cell). Both
// are then filtered exactly with geo.Area.Contains. A seek costs about as
// much as reading a few rows, so past maxSeeks the covering's ranges, which
// read some rows outside the area, were faster (measured on the GeoLife
// data set over its whole period).
const (
	maxSeeks       = 10_000
	maxCovering    = 64
	minCovering    = 8
	cellsPerQuery  = 512
	hoursPerQuery  = 1024
	level16CellKm2 = 0.0125 // a little under the average level-16 cell area, so the estimate errs towards ranges
)

// searchError reports a failed read as the connector's unavailability while
// keeping the cause (a passed deadline, say) for errors.Is.
type searchError struct {
	err   *connector.Error
	cause error
}

func (e *searchError) Error() string   { return e.err.Error() }
func (e *searchError) Unwrap() []error { return []error{e.err, e.cause} }

func (c *localConnector) fail(ctx context.Context, what string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &searchError{connector.Errorf(connector.ErrUnavailable, "the local telemetry store did not finish the %s in time", what), ctxErr}
	}
	c.db.log.Error("local telemetry store: "+what, "source_id", c.source, "err", err)
	return &searchError{connector.Errorf(connector.ErrUnavailable, "the local telemetry store could not be read"), err}
}

// checkWindow refuses a request the local store cannot answer.
func checkWindow(from, to time.Time, limit int) error {
	switch {
	case from.IsZero() || to.IsZero():
		return connector.Errorf(connector.ErrRejected, "the time window needs a start and an end")
	case !to.After(from):
		return connector.Errorf(connector.ErrRejected, "the time window ends (%s) before it starts (%s)", to.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339))
	case limit < 0:
		return connector.Errorf(connector.ErrRejected, "the limit %d is negative", limit)
	}
	return nil
}

// ceilMilli returns the first whole millisecond at or after t, so that a
// ping stored with its time truncated to the millisecond is in the window
// [from, to) exactly when its stored time is in [ceilMilli(from),
// ceilMilli(to)).
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Sub(time.UnixMilli(ms)) > 0 {
		ms++
	}
	return ms
}

// window returns the time bounds in stored milliseconds, clamped to the
// times a ping may have.
func window(from, to time.Time) (int64, int64) {
	clamp := func(t time.Time) int64 {
		switch {
		case t.Before(time.UnixMilli(minPingMillis)):
			return minPingMillis
		case t.After(time.UnixMilli(maxPingMillis)):
			return maxPingMillis
		}
		return ceilMilli(t)
	}
	return clamp(from), clamp(to)
}

// hours returns the hours from the one of from to the one of to that have
// pings of the source (to is exclusive, in milliseconds), in order.
func hours(ctx context.Context, tx *Tx, source, from, to int64) ([]int64, error) {
	if to <= from {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `SELECT hour FROM telemetry_hours WHERE source_id = $1 AND hour >= $2 AND hour <= $3 ORDER BY hour`, source, from/hourMillis, (to-1)/hourMillis)
	return scanAll(rows, err, scanID)
}

// periodsOf returns the periods of ordered hours.
func periodsOf(hours []int64) []int64 {
	var periods []int64
	for _, h := range hours {
		if p := h / periodHours; len(periods) == 0 || periods[len(periods)-1] != p {
			periods = append(periods, p)
		}
	}
	return periods
}

// areaQueries returns the statements that select the candidate pings of a
// source in an area during a window in the given periods, with their
// arguments.
func areaQueries(a *geo.Area, source int64, periods []int64, from, to int64) ([]string, [][]any, error) {
	cols := `SELECT device_id, t, lat, lon FROM telemetry_pings WHERE source_id = $1 AND period IN (` + intList(periods) + `) AND `
	var qs []string
	var args [][]any
	if cells := a.AreaKm2() / level16CellKm2; cells*float64(len(periods)) <= maxSeeks {
		ids, err := a.CellIDs(geo.IndexLevel)
		if err != nil {
			return nil, nil, err
		}
		for chunk := range slices.Chunk(ids, cellsPerQuery) {
			qs = append(qs, cols+`cell IN (`+intList(chunk)+`) AND t >= $2 AND t < $3`)
			args = append(args, []any{source, from, to})
		}
		return qs, args, nil
	}
	for _, r := range a.Covering(max(minCovering, min(maxCovering, maxSeeks/len(periods)))) {
		qs = append(qs, cols+`cell BETWEEN $2 AND $3 AND t >= $4 AND t < $5`)
		args = append(args, []any{source, r.Min, r.Max, from, to})
	}
	return qs, args, nil
}

type seen struct {
	first, last int64
	pings       int
}

// AreaSearch returns the devices with pings inside r.Area during [r.From,
// r.To), ordered by identifier, at most r.Limit+1 of them.
func (c *localConnector) AreaSearch(ctx context.Context, r connector.AreaRequest) ([]connector.DeviceSeen, error) {
	if r.Area == nil {
		return nil, connector.Errorf(connector.ErrRejected, "no area")
	}
	if err := checkWindow(r.From, r.To, r.Limit); err != nil {
		return nil, err
	}
	from, to := window(r.From, r.To)
	found := map[int64]*seen{}
	idents := map[int64]string{}
	err := c.db.View(ctx, func(tx *Tx) error {
		hs, err := hours(ctx, tx, c.source, from, to)
		if err != nil || len(hs) == 0 {
			return err
		}
		qs, args, err := areaQueries(r.Area, c.source, periodsOf(hs), from, to)
		if err != nil {
			return connector.Errorf(connector.ErrRejected, "the area is too large to search: %v", err)
		}
		for i, q := range qs {
			if err := scanCandidates(ctx, tx, q, args[i], r.Area, found); err != nil {
				return err
			}
		}
		ids := make([]int64, 0, len(found))
		for id := range found {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for chunk := range slices.Chunk(ids, cellsPerQuery) {
			rows, err := tx.Query(ctx, `SELECT id, ident FROM telemetry_devices WHERE id IN (`+intList(chunk)+`)`)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id int64
				var ident string
				if err := rows.Scan(&id, &ident); err != nil {
					rows.Close()
					return err
				}
				idents[id] = ident
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if ce, ok := errors.AsType[*connector.Error](err); ok {
		return nil, ce
	}
	if err != nil {
		return nil, c.fail(ctx, "area search", err)
	}
	out := make([]connector.DeviceSeen, 0, len(found))
	for id, s := range found {
		ident, ok := idents[id]
		if !ok {
			return nil, c.fail(ctx, "area search", fmt.Errorf("ping of device %d, which is not stored", id))
		}
		out = append(out, connector.DeviceSeen{Device: ident, FirstSeen: time.UnixMilli(s.first).UTC(), LastSeen: time.UnixMilli(s.last).UTC(), Pings: s.pings})
	}
	slices.SortFunc(out, func(a, b connector.DeviceSeen) int { return strings.Compare(a.Device, b.Device) })
	if r.Limit < math.MaxInt && len(out) > r.Limit+1 {
		out = out[:r.Limit+1]
	}
	return out, nil
}

// scanCandidates runs one candidate query and adds the pings inside a to
// found, by device.
func scanCandidates(ctx context.Context, tx *Tx, q string, args []any, a *geo.Area, found map[int64]*seen) error {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var device, t int64
		var lat, lon float64
		if err := rows.Scan(&device, &t, &lat, &lon); err != nil {
			return err
		}
		if !a.Contains(lat, lon) {
			continue
		}
		s := found[device]
		if s == nil {
			found[device] = &seen{first: t, last: t, pings: 1}
			continue
		}
		s.first, s.last = min(s.first, t), max(s.last, t)
		s.pings++
	}
	return rows.Err()
}

// DeviceHistory returns the pings of r.Device during [r.From, r.To),
// ordered by time, at most r.Limit+1 of them. A device the source does not
// know has no pings.
func (c *localConnector) DeviceHistory(ctx context.Context, r connector.DeviceRequest) ([]connector.Ping, error) {
	if r.Device == "" {
		return nil, connector.Errorf(connector.ErrRejected, "no device")
	}
	if err := checkWindow(r.From, r.To, r.Limit); err != nil {
		return nil, err
	}
	from, to := window(r.From, r.To)
	limit := int64(r.Limit) + 1
	if r.Limit == math.MaxInt {
		limit = math.MaxInt64
	}
	var out []connector.Ping
	err := c.db.View(ctx, func(tx *Tx) error {
		var device int64
		err := tx.QueryRow(ctx, `SELECT id FROM telemetry_devices WHERE source_id = $1 AND ident = $2`, c.source, r.Device).Scan(&device)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		hs, err := hours(ctx, tx, c.source, from, to)
		if err != nil {
			return err
		}
		// The hours ascend, so the pings of one chunk of them all come
		// before those of the next.
		for chunk := range slices.Chunk(hs, hoursPerQuery) {
			rows, err := tx.Query(ctx, `SELECT t, lat, lon, accuracy_m FROM telemetry_pings
				WHERE source_id = $1 AND hour IN (`+intList(chunk)+`) AND device_id = $2 AND t >= $3 AND t < $4
				ORDER BY t, lat, lon LIMIT $5`, c.source, device, from, to, limit-int64(len(out)))
			ps, err := scanAll(rows, err, func(sc scanner) (connector.Ping, error) {
				var p connector.Ping
				var t int64
				err := sc.Scan(&t, &p.Lat, &p.Lon, &p.AccuracyM)
				p.Time = time.UnixMilli(t).UTC()
				return p, err
			})
			if err != nil {
				return err
			}
			if out = append(out, ps...); int64(len(out)) >= limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, c.fail(ctx, "device history", err)
	}
	if out == nil {
		out = []connector.Ping{}
	}
	return out, nil
}
