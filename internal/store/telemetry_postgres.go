package store

import "context"

// insertPingsPostgres stores rows with one INSERT of unnested arrays (nine
// bound values whatever the batch size), skipping the rows already stored,
// and returns how many it inserted.
func insertPingsPostgres(ctx context.Context, tx *Tx, sourceID int64, rows []pingRow) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	periods := make([]int64, len(rows))
	hours := make([]int64, len(rows))
	cells := make([]int64, len(rows))
	ts := make([]int64, len(rows))
	devices := make([]int64, len(rows))
	lats := make([]float64, len(rows))
	lons := make([]float64, len(rows))
	accs := make([]float64, len(rows))
	for i, r := range rows {
		periods[i], hours[i], cells[i], ts[i], devices[i], lats[i], lons[i], accs[i] = r.period, r.t/hourMillis, r.cell, r.t, r.device, r.lat, r.lon, r.acc
	}
	res, err := tx.Exec(ctx, `INSERT INTO telemetry_pings (source_id, period, hour, cell, t, device_id, lat, lon, accuracy_m)
		SELECT $1, u.* FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::float8[], $8::float8[], $9::float8[]) AS u
		ON CONFLICT DO NOTHING`, sourceID, periods, hours, cells, ts, devices, lats, lons, accs)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
