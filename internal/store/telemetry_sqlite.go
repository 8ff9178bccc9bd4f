package store

import (
	"context"
	"strconv"
	"strings"
	"sync"
)

// sqlitePingChunk is the most rows one INSERT statement of pings carries:
// 9 × 128 bound values, well under SQLite's limit of 32,766. Larger
// statements gained nothing measurable.
const sqlitePingChunk = 128

// sqlitePingInserts holds the INSERT statements of 1, 2, 4, … rows up to
// sqlitePingChunk: a batch is stored in chunks of these sizes only, so the
// writer prepares at most eight of them.
//
// They are INSERT OR IGNORE rather than ON CONFLICT DO NOTHING: a statement
// of many rows that might abort on a constraint makes SQLite keep a
// statement journal of every page it changes, which spills to a temporary
// file; one that ignores every conflict needs none. No other constraint
// can fail: every column is bound to a value.
//
// Their placeholders are anonymous (?): the driver looks up the name of
// every numbered one ($n) when binding, in a list as long as the
// statement's, which made binding quadratic in the number of rows.
var sqlitePingInserts = sync.OnceValue(func() map[int]string {
	m := map[int]string{}
	for n := 1; n <= sqlitePingChunk; n *= 2 {
		var b strings.Builder
		b.WriteString(`INSERT OR IGNORE INTO telemetry_pings (source_id, period, hour, cell, t, device_id, lat, lon, accuracy_m) VALUES `)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?,?,?,?,?,?)")
		}
		m[n] = b.String()
	}
	return m
})

// sqliteImportCacheKiB is the page cache an import gives SQLite's writer
// connection (the default is 2 MiB): a batch changes pages of two indexes
// across a few hours' worth of pings, and reading them again from the file
// for every batch cost more than the inserts. More did not help.
const sqliteImportCacheKiB = 64 << 10

// insertPingsSQLite stores rows with multi-row INSERTs that skip the rows
// already stored, and returns how many it inserted.
func insertPingsSQLite(ctx context.Context, tx *Tx, sourceID int64, rows []pingRow) (int64, error) {
	if _, err := tx.Exec(ctx, `PRAGMA cache_size = -`+strconv.Itoa(sqliteImportCacheKiB)); err != nil {
		return 0, err
	}
	stmts := sqlitePingInserts()
	args := make([]any, 0, 9*sqlitePingChunk)
	var inserted int64
	for len(rows) > 0 {
		n := sqlitePingChunk
		for n > len(rows) {
			n /= 2
		}
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, sourceID, r.period, r.hour, r.cell, r.t, r.device, r.lat, r.lon, r.acc)
		}
		res, err := tx.Exec(ctx, stmts[n], args...)
		if err != nil {
			return 0, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		inserted += k
		rows = rows[n:]
	}
	return inserted, nil
}
