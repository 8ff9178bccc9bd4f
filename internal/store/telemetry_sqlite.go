package store

import (
	"context"
	"strconv"
	"strings"
	"sync"
)

// sqlitePingChunk is the most rows one INSERT statement of pings carries:
// 6 × 128 + 1 bound values, well under SQLite's limit of 32,766. Larger
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
// A row binds six values: the source is bound once (?1), and the period and
// hour are computed from the time, which costs SQLite less than binding
// them costs the driver (each bound value goes through database/sql's
// conversion and an allocation): 4% fewer instructions per ping than
// binding all nine. The other placeholders are anonymous (?):
// numbered ones ($n, ?n) are looked up by name in a list as long as the
// statement's, which made binding quadratic in the number of rows.
var sqlitePingInserts = sync.OnceValue(func() map[int]string {
	m := map[int]string{}
	for n := 1; n <= sqlitePingChunk; n *= 2 {
		var b strings.Builder
		b.WriteString(`INSERT OR IGNORE INTO telemetry_pings (source_id, period, hour, cell, t, device_id, lat, lon, accuracy_m) SELECT ?1, column1 / ` +
			strconv.Itoa(periodMillis) + `, column1 / ` + strconv.Itoa(hourMillis) + `, column2, column1, column3, column4, column5, column6 FROM (VALUES `)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?,?,?)")
		}
		b.WriteByte(')')
		m[n] = b.String()
	}
	return m
})

// sqliteImportCacheKiB is the page cache an import gives SQLite's writer
// connection (the default is 2 MiB): a batch changes pages of two indexes
// across a few hours' worth of pings, and reading them again from the file
// for every batch cost more than the inserts. More did not help.
const sqliteImportCacheKiB = 64 << 10

// While an import runs, SQLite's writer checkpoints the WAL (copies its
// pages into the database file) once it holds sqliteImportCheckpointPages
// pages rather than SQLite's default of 1,000. A batch writes more than
// 1,000 pages, so the default checkpoints after every batch, copying again
// the pages that every batch changes: the upper levels of both indexes,
// and for input sorted by device, which spreads every batch over its whole
// period, most pages. Importing 800,000 pings in batches of 32,000, this
// wrote a fifth fewer bytes for input sorted by device (687 MB instead of
// 875 MB) and 1% fewer for input in time order. The last batch, or the end
// of a stopped import, sets the default back, so that its commit
// checkpoints what is left.
const (
	sqliteImportCheckpointPages  = 8192 // 32 MiB of 4 KiB pages
	sqliteDefaultCheckpointPages = 1000 // SQLite's, which the store does not otherwise change
)

// sqliteImportPragmas sets the writer's pragmas for a batch of an import
// that goes on (running) or ends with tx.
func sqliteImportPragmas(ctx context.Context, tx *Tx, running bool) error {
	pages := sqliteDefaultCheckpointPages
	if running {
		pages = sqliteImportCheckpointPages
	}
	if _, err := tx.Exec(ctx, `PRAGMA wal_autocheckpoint = `+strconv.Itoa(pages)); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `PRAGMA cache_size = -`+strconv.Itoa(sqliteImportCacheKiB))
	return err
}

// insertPingsSQLite stores rows with multi-row INSERTs that skip the rows
// already stored, and returns how many it inserted.
func insertPingsSQLite(ctx context.Context, tx *Tx, sourceID int64, rows []pingRow) (int64, error) {
	stmts := sqlitePingInserts()
	args := make([]any, 0, 1+6*sqlitePingChunk)
	var inserted int64
	for len(rows) > 0 {
		n := sqlitePingChunk
		for n > len(rows) {
			n /= 2
		}
		args = append(args[:0], sourceID)
		for _, r := range rows[:n] {
			args = append(args, r.t, r.cell, r.device, r.lat, r.lon, r.acc)
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
