package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/importer/ping"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
)

// Telemetry is the local telemetry store: the devices and pings of the
// data sources whose connector is [privacy.LocalStore], the imports that
// load them, and the [connector.Connector] the query path reads them
// through.
//
// A ping is kept once per device, time (to the millisecond) and position;
// importing it again counts as a duplicate. Pings are keyed by their
// level-[geo.IndexLevel] S2 cell and time, so that an area search reads
// only the cells that may hold a point of its area, and only within its
// time window.
type Telemetry struct {
	db *DB
}

// Telemetry returns the local telemetry store over db.
func (db *DB) Telemetry() *Telemetry { return &Telemetry{db: db} }

// A PingSource yields the pings of an input: a ping, a [*ping.RowError] for
// a bad row (after which it may be asked for the next), io.EOF at the end,
// or any other error when the input cannot be read further. The readers of
// internal/importer are PingSources.
type PingSource interface {
	Next() (ping.Ping, error)
}

// ImportOptions describe an import.
type ImportOptions struct {
	// FileName, Format and SHA256 identify the input in the import's record
	// and its ledger entry: a file name without directories, one of the
	// formats of [ping.Formats], and the input's SHA-256 in hexadecimal
	// (empty when unknown).
	FileName, Format, SHA256 string
	// StopOnError stops the import at the first bad row, committing nothing
	// of the batch that holds it. Otherwise bad rows are counted, the
	// first [MaxImportErrors] kept, and the import goes on.
	StopOnError bool
	// BatchSize fixes the number of rows committed per transaction. Zero
	// lets the import size its batches so that each transaction holds
	// SQLite's single writer for about a quarter of a second, whatever the
	// speed of the machine, so that other writers wait no longer.
	BatchSize int
	// Progress, when set, is called after every committed batch.
	Progress func(ImportStats)
}

// MaxImportErrors is how many bad rows [ImportStats.Errors] keeps.
const MaxImportErrors = 100

// ImportStats count what an import has done. Read counts every row read,
// good or bad. Inserted and Duplicates count the pings of committed batches
// only: after a stop, Read includes the rows of the batch that was not
// committed.
type ImportStats struct {
	// ImportID identifies the import's record; 0 when nothing was recorded.
	ImportID                        int64
	Read, Inserted, Duplicates, Bad int64
	// Errors holds the first [MaxImportErrors] bad rows, in input order.
	Errors []*ping.RowError
}

// Import statuses, as recorded in telemetry_imports and the ledger.
const (
	ImportRunning   = "running"
	ImportComplete  = "complete"
	ImportStopped   = "stopped"
	ImportFailed    = "failed"
	ImportCancelled = "cancelled"
)

// Batch sizing when ImportOptions.BatchSize is 0: double or halve the batch
// so that its transaction lasts about importBatchTarget. Larger batches
// write fewer pages per ping (each page they change is written once per
// commit), so they are as large as holding the writer allows.
const (
	importBatchTarget = 250 * time.Millisecond
	importBatchMin    = 4_000
	importBatchStart  = 16_000
	importBatchMax    = 256_000
)

func (o *ImportOptions) validate() error {
	var errs []string
	switch {
	case strings.TrimSpace(o.FileName) == "":
		errs = append(errs, "the file name is empty")
	case len(o.FileName) > 255 || !utf8.ValidString(o.FileName) || strings.ContainsAny(o.FileName, "\x00\n\r"):
		errs = append(errs, "the file name must be valid UTF-8 of at most 255 bytes on one line")
	}
	if _, err := ping.ParseFormat(o.Format); err != nil {
		errs = append(errs, fmt.Sprintf("the format %q is not one of csv, geojson, gpx, plt", o.Format))
	}
	if o.SHA256 != "" {
		if b, err := hex.DecodeString(o.SHA256); err != nil || len(b) != 32 || strings.ToLower(o.SHA256) != o.SHA256 {
			errs = append(errs, "the SHA-256 must be 64 lowercase hexadecimal digits")
		}
	}
	if o.BatchSize < 0 {
		errs = append(errs, "the batch size must not be negative")
	}
	if len(errs) > 0 {
		return fault.New(fault.Invalid, "the import cannot start: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Import reads src to the end and stores its pings in the local telemetry
// store of the data source called sourceName, which must exist and have
// the local store as its connector.
//
// Rows are committed in batches, each in one transaction: never half a
// batch. A bad row is counted and reported with its line; the import goes
// on, or with StopOnError stops without committing any of the batch that
// holds it, and returns an error. An input that cannot be read further (or
// ctx ending) also stops the import, again without the current batch.
//
// Every import is recorded in telemetry_imports and in the ledger. The
// transaction of the last batch records "telemetry.imported" with the
// source, file name, format, the file's digest, the counts and the status
// "complete". An import that takes more than one transaction also records
// "telemetry.import_started" in the transaction of its first batch, and
// every batch updates the import's row, so a committed batch is always
// covered by the ledger even if the program dies before the end. An import
// that stops (on a bad row, on an unreadable input, or because ctx ended)
// records "telemetry.imported" with the status stopped, failed or
// cancelled and the counts of what was committed, in a transaction of its
// own; an import that dies leaves its row in the status running.
func (t *Telemetry) Import(ctx context.Context, by ledger.Actor, sourceName string, src PingSource, opts ImportOptions) (ImportStats, error) {
	if err := opts.validate(); err != nil {
		return ImportStats{}, err
	}
	source, err := viewOne(ctx, t.db, func(tx *Tx) (privacy.Source, error) {
		return t.db.Privacy().SourceByName(ctx, tx, sourceName)
	})
	if err != nil {
		return ImportStats{}, err
	}
	if source.Connector != privacy.LocalStore {
		return ImportStats{}, fault.New(fault.Precondition, "data source %q is read through its %s connector, so Probity keeps none of its pings: import into a data source whose connector is %s", source.Name, source.Connector, privacy.LocalStore)
	}
	run := &importRun{t: t, by: by, src: source, in: src, opts: opts, devices: &deviceCache{ids: map[string]int64{}}, tMin: maxPingMillis, tMax: minPingMillis}
	return run.run(ctx)
}

// Bounds of a stored ping time, in Unix milliseconds.
var (
	minPingMillis = ping.MinTime.UnixMilli()
	maxPingMillis = ping.MaxTime.UnixMilli()
)

// Pings are keyed by their 4-hour period for area search and by their hour
// for device history (see the migration).
const (
	hourMillis   = 60 * 60 * 1000
	periodHours  = 4
	periodMillis = periodHours * hourMillis
)

// A pingRow is a ping as stored. Its hour is t / hourMillis. It holds no
// pointer, so that the garbage collector need not scan a batch's rows.
type pingRow struct {
	period, cell, t int64
	device          int64 // set by the committer from dev
	lat, lon, acc   float64
	dev             int // the device's index in the batch's identifiers
}

// comparePingRows orders rows by the leading columns of the key of
// telemetry_pings (period, cell, time), so that a batch's inserts walk
// that index in order and touch each of its pages once.
func comparePingRows(a, b pingRow) int {
	switch {
	case a.period != b.period:
		return cmp.Compare(a.period, b.period)
	case a.cell != b.cell:
		return cmp.Compare(a.cell, b.cell)
	}
	return cmp.Compare(a.t, b.t)
}

// importRun is one import in progress.
type importRun struct {
	t    *Telemetry
	by   ledger.Actor
	src  privacy.Source
	in   PingSource
	opts ImportOptions

	devices    *deviceCache // committed devices of the source, for the reader and the committer
	stats      ImportStats
	committed  struct{ read, bad int64 } // rows of committed batches
	tMin, tMax int64                     // over committed pings
	batches    int
}

// How a batch's reading ended.
type batchEnd int

const (
	batchFull      batchEnd = iota // more to read
	batchEOF                       // the input is done
	batchStop                      // a bad row with StopOnError
	batchFailed                    // the input cannot be read further
	batchCancelled                 // ctx ended
)

// A batch is what the reader hands the committer: rows to commit together,
// in key order, and what reading them found.
type batch struct {
	rows []pingRow
	// idents are the batch's device identifiers, each once; a row's
	// dev indexes them. ids holds the IDs of those the reader found
	// stored, and 0 for the others.
	idents []string
	ids    []int64
	// hours are the distinct hours of the rows, ascending; tMin and tMax
	// bound their times (tMin > tMax when there are none).
	hours      []int64
	tMin, tMax int64
	read, bad  int64
	errs       []*ping.RowError // the bad rows kept (the first MaxImportErrors of the import)
	end        batchEnd
	cause      error
}

func (r *importRun) run(ctx context.Context) (ImportStats, error) {
	adaptive := r.opts.BatchSize == 0
	var size atomic.Int64
	size.Store(int64(r.opts.BatchSize))
	if adaptive {
		size.Store(importBatchStart)
	}
	// The input is read on a goroutine of its own, one batch ahead, so that
	// parsing overlaps committing.
	batches := make(chan *batch, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.read(ctx, &size, batches, stop)
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for b := range batches {
		r.stats.Read += b.read
		r.stats.Bad += b.bad
		r.stats.Errors = append(r.stats.Errors, b.errs...)
		if err := ctx.Err(); err != nil {
			return r.finish(ctx, ImportCancelled, err)
		}
		switch b.end {
		case batchStop:
			return r.finish(ctx, ImportStopped, b.cause)
		case batchFailed:
			return r.finish(ctx, ImportFailed, b.cause)
		}
		start := time.Now()
		if err := r.commit(ctx, b, b.end == batchEOF); err != nil {
			if ctx.Err() != nil {
				return r.finish(ctx, ImportCancelled, errors.Join(ctx.Err(), err))
			}
			return r.finish(ctx, ImportFailed, err)
		}
		if r.opts.Progress != nil {
			r.opts.Progress(r.snapshot())
		}
		if b.end == batchEOF {
			return r.snapshot(), nil
		}
		if n := size.Load(); adaptive {
			switch took := time.Since(start); {
			case took < importBatchTarget/2 && n < importBatchMax:
				size.Store(n * 2)
			case took > importBatchTarget*2 && n > importBatchMin:
				size.Store(n / 2)
			}
		}
	}
	// The reader ends only after a last batch, or when told to stop.
	return r.finish(ctx, ImportFailed, errors.New("the input ended unexpectedly"))
}

// read fills batches of the size asked for from the input and sends them
// to out until the input ends, a batch ends the import, or stop closes.
// It also does what it can of the committer's work, which holds the
// writer: it numbers each batch's devices, lists its hours and sorts its
// rows.
func (r *importRun) read(ctx context.Context, size *atomic.Int64, out chan<- *batch, stop <-chan struct{}) {
	defer close(out)
	kept := 0
	devices := map[string]int{}
	for {
		n := int(size.Load())
		b := &batch{rows: make([]pingRow, 0, n), tMin: maxPingMillis, tMax: minPingMillis}
		clear(devices)
		for len(b.rows) < n && b.end == batchFull {
			if b.read&1023 == 0 && ctx.Err() != nil {
				b.end = batchCancelled
				break
			}
			p, err := r.in.Next()
			if err == nil {
				err = p.Validate() // sources validate; the store checks again
			}
			if err == io.EOF {
				b.end = batchEOF
				break
			}
			if err != nil {
				re, ok := errors.AsType[*ping.RowError](err)
				if !ok {
					b.end, b.cause = batchFailed, err
					break
				}
				b.read++
				b.bad++
				if kept < MaxImportErrors {
					b.errs = append(b.errs, re)
					kept++
				}
				if r.opts.StopOnError {
					b.end, b.cause = batchStop, re
				}
				continue
			}
			b.read++
			dev, ok := devices[p.Device]
			if !ok {
				dev = len(b.idents)
				devices[p.Device] = dev
				b.idents = append(b.idents, p.Device)
			}
			ms := p.Time.UnixMilli()
			b.tMin, b.tMax = min(b.tMin, ms), max(b.tMax, ms)
			b.rows = append(b.rows, pingRow{period: ms / periodMillis, cell: geo.CellID(p.Lat, p.Lon), t: ms, dev: dev, lat: p.Lat, lon: p.Lon, acc: p.AccuracyM})
		}
		if b.end == batchFull || b.end == batchEOF {
			slices.SortFunc(b.rows, comparePingRows)
			b.hours = hoursOf(b.rows)
			r.findDevices(ctx, b)
		}
		select {
		case out <- b:
		case <-stop:
			return
		}
		if b.end != batchFull {
			return
		}
	}
}

// findDevices sets b.ids to the IDs of the batch's devices that are
// already stored, reading them outside the writer's transaction: every
// batch of a large input names many devices, most of them stored by an
// earlier import or batch, and looking them up in the writer's
// transaction held the writer for a tenth of an import's time. Devices are
// never deleted, so a committed device's ID stays right. The committer
// looks up or adds the rest, so a failed read only costs it that work.
func (r *importRun) findDevices(ctx context.Context, b *batch) {
	b.ids = make([]int64, len(b.idents))
	ask := r.devices.fill(b.idents, b.ids)
	if len(ask) == 0 {
		return
	}
	found := map[string]int64{}
	if err := r.t.db.View(ctx, func(tx *Tx) error {
		return scanDevices(ctx, tx, lookUpDevicesSQL[tx.Dialect()], r.src.ID, ask, found)
	}); err != nil {
		return
	}
	r.devices.add(found)
	r.devices.fill(b.idents, b.ids)
}

// A deviceCache holds the IDs of committed devices of an import's source,
// at most maxCachedDevices of them: the import looks the others up again
// in every batch.
type deviceCache struct {
	mu  sync.Mutex
	ids map[string]int64
}

// maxCachedDevices bounds the devices an import remembers (about 100 MiB).
const maxCachedDevices = 1 << 20

// fill sets the zero IDs of ids to those of idents that c holds, and
// returns the identifiers it does not hold.
func (c *deviceCache) fill(idents []string, ids []int64) (missing []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, ident := range idents {
		if ids[i] != 0 {
			continue
		}
		if id, ok := c.ids[ident]; ok {
			ids[i] = id
		} else {
			missing = append(missing, ident)
		}
	}
	return missing
}

// add adds committed devices to c.
func (c *deviceCache) add(ids map[string]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ident, id := range ids {
		if len(c.ids) >= maxCachedDevices {
			return
		}
		c.ids[ident] = id
	}
}

// hoursOf returns the distinct hours of rows sorted by period, ascending.
func hoursOf(rows []pingRow) []int64 {
	var hours []int64
	for i := 0; i < len(rows); {
		// Within a period, rows follow their cells, so the period's
		// hours come in any order.
		p, seen := rows[i].period, [periodHours]bool{}
		for ; i < len(rows) && rows[i].period == p; i++ {
			seen[rows[i].t/hourMillis-p*periodHours] = true
		}
		for h, ok := range seen {
			if ok {
				hours = append(hours, p*periodHours+int64(h))
			}
		}
	}
	return hours
}

func (r *importRun) snapshot() ImportStats {
	s := r.stats
	s.Errors = slices.Clone(s.Errors)
	return s
}

// commit stores one batch in one transaction, with the import's record and,
// for the first of several batches or the last, its ledger entry.
func (r *importRun) commit(ctx context.Context, b *batch, last bool) error {
	rows, read, bad := b.rows, b.read, b.bad
	tMin, tMax := min(r.tMin, b.tMin), max(r.tMax, b.tMax)
	var (
		id       = r.stats.ImportID
		inserted int64
		fresh    map[string]int64
	)
	err := r.t.db.Update(ctx, func(tx *Tx) error {
		var err error
		id = r.stats.ImportID
		if fresh, err = r.resolveDevices(ctx, tx, b); err != nil {
			return err
		}
		if tx.Dialect() == SQLite {
			if err := sqliteImportPragmas(ctx, tx, !last); err != nil {
				return err
			}
		}
		if inserted, err = insertPings(ctx, tx, r.src.ID, rows); err != nil {
			return fmt.Errorf("store pings: %w", err)
		}
		if err := addHours(ctx, tx, r.src.ID, b.hours); err != nil {
			return err
		}
		c := importCounts{
			read: r.committed.read + read, inserted: r.stats.Inserted + inserted,
			duplicates: r.stats.Duplicates + int64(len(rows)) - inserted, bad: r.committed.bad + bad,
			tMin: tMin, tMax: tMax,
		}
		status := ImportRunning
		if last {
			status = ImportComplete
		}
		if id, err = r.record(ctx, tx, id, status, c, ""); err != nil {
			return err
		}
		switch {
		case last:
			return r.ledger(ctx, tx, "telemetry.imported", id, status, c, nil)
		case r.batches == 0:
			return r.ledger(ctx, tx, "telemetry.import_started", id, status, c, nil)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.batches++
	r.stats.ImportID = id
	r.stats.Inserted += inserted
	r.stats.Duplicates += int64(len(rows)) - inserted
	r.committed.read += read
	r.committed.bad += bad
	r.tMin, r.tMax = tMin, tMax
	r.devices.add(fresh)
	return nil
}

// resolveDevices sets the device of every row of b, adding the source's new
// devices in tx, and returns the devices it looked up or added: they join
// the committed ones only once tx commits.
func (r *importRun) resolveDevices(ctx context.Context, tx *Tx, b *batch) (map[string]int64, error) {
	fresh := map[string]int64{}
	ids := slices.Clone(b.ids)
	if ids == nil {
		ids = make([]int64, len(b.idents))
	}
	unknown := r.devices.fill(b.idents, ids)
	for _, ident := range unknown {
		fresh[ident] = 0
	}
	if len(unknown) > 0 {
		if err := lookUpDevices(ctx, tx, r.src.ID, unknown, fresh); err != nil {
			return nil, err
		}
		for i, ident := range b.idents {
			if ids[i] == 0 {
				ids[i] = fresh[ident]
			}
		}
	}
	for i := range b.rows {
		b.rows[i].device = ids[b.rows[i].dev]
	}
	return fresh, nil
}

// importCounts are an import's counts as recorded.
type importCounts struct {
	read, inserted, duplicates, bad int64
	tMin, tMax                      int64 // tMin > tMax when no ping was committed
}

// record writes the import's row in tx: a new one when id is 0. It returns
// the row's id.
func (r *importRun) record(ctx context.Context, tx *Tx, id int64, status string, c importCounts, errText string) (int64, error) {
	var tMin, tMax any
	if c.tMin <= c.tMax {
		tMin, tMax = c.tMin, c.tMax
	}
	var finished any
	if status != ImportRunning {
		finished = tx.Now
	}
	if id == 0 {
		err := tx.QueryRow(ctx, `INSERT INTO telemetry_imports (source_id, file_name, format, sha256, status, rows_read, inserted, duplicates, bad, t_min, t_max, error, actor, started_at, finished_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
			r.src.ID, r.opts.FileName, r.opts.Format, r.opts.SHA256, status, c.read, c.inserted, c.duplicates, c.bad, tMin, tMax, errText,
			r.by.Kind+":"+r.by.ID, tx.Now, finished).Scan(&id)
		if err != nil {
			return 0, fmt.Errorf("record the import: %w", err)
		}
		return id, nil
	}
	_, err := tx.Exec(ctx, `UPDATE telemetry_imports SET status = $2, rows_read = $3, inserted = $4, duplicates = $5, bad = $6, t_min = $7, t_max = $8, error = $9, finished_at = $10 WHERE id = $1`,
		id, status, c.read, c.inserted, c.duplicates, c.bad, tMin, tMax, errText, finished)
	if err != nil {
		return 0, fmt.Errorf("record the import: %w", err)
	}
	return id, nil
}

// ledger appends the import's ledger entry in tx. The entry names the
// file and counts rows; it holds no device identifier, position or row
// content (only the line and field of the row that stopped an import).
func (r *importRun) ledger(ctx context.Context, tx *Tx, typ string, id int64, status string, c importCounts, stop *ping.RowError) error {
	if r.t.db.ledger == nil {
		return fault.New(fault.Internal, "the ledger is not open")
	}
	data := map[string]any{
		"import_id": id, "source": r.src.Name, "file": r.opts.FileName, "format": r.opts.Format, "status": status,
		"read": c.read, "inserted": c.inserted, "duplicates": c.duplicates, "bad": c.bad,
	}
	if stop != nil {
		data["stopped_at_line"] = stop.Line
		if stop.Field != "" {
			data["stopped_at_field"] = stop.Field
		}
	}
	if c.tMin <= c.tMax {
		data["first_ping"] = time.UnixMilli(c.tMin).UTC().Format(time.RFC3339Nano)
		data["last_ping"] = time.UnixMilli(c.tMax).UTC().Format(time.RFC3339Nano)
	}
	digest := ""
	if r.opts.SHA256 != "" {
		digest = "sha256:" + r.opts.SHA256
	}
	_, err := r.t.db.ledger.Append(ctx, tx, ledger.Event{Type: typ, Actor: r.by, Component: r.src.Component, Subject: sourceSubject(r.src.ID), Data: data, Digest: digest})
	return err
}

// finish records an import that stopped before the end of its input, in
// a transaction of its own that ctx ending does not prevent, and returns
// the error that stopped it.
func (r *importRun) finish(ctx context.Context, status string, cause error) (ImportStats, error) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	re, _ := errors.AsType[*ping.RowError](cause)
	var errText string
	switch status {
	case ImportStopped:
		errText = re.Error()
		cause = fault.Wrap(cause, fault.Invalid, "%v: the import stopped there, committing %d pings of earlier batches and nothing of the batch holding that row", re, r.stats.Inserted+r.stats.Duplicates)
	case ImportFailed:
		errText = clipImportText(cause.Error(), 1000)
		cause = fmt.Errorf("the import failed after committing %d pings: %w", r.stats.Inserted+r.stats.Duplicates, cause)
	case ImportCancelled:
		errText = "cancelled"
	}
	c := importCounts{read: r.stats.Read, inserted: r.stats.Inserted, duplicates: r.stats.Duplicates, bad: r.stats.Bad, tMin: r.tMin, tMax: r.tMax}
	id := r.stats.ImportID
	err := r.t.db.Update(wctx, func(tx *Tx) error {
		var err error
		if tx.Dialect() == SQLite {
			if err := sqliteImportPragmas(wctx, tx, false); err != nil {
				return err
			}
		}
		if id, err = r.record(wctx, tx, r.stats.ImportID, status, c, errText); err != nil {
			return err
		}
		return r.ledger(wctx, tx, "telemetry.imported", id, status, c, re)
	})
	if err != nil {
		return r.snapshot(), errors.Join(cause, fmt.Errorf("the import's end could not be recorded (its record stays %q): %w", ImportRunning, err))
	}
	r.stats.ImportID = id
	return r.snapshot(), cause
}

func clipImportText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// addHours records hours, which are distinct.
func addHours(ctx context.Context, tx *Tx, sourceID int64, hours []int64) error {
	for _, h := range hours {
		if _, err := tx.Exec(ctx, `INSERT INTO telemetry_hours (source_id, hour) VALUES ($1, $2) ON CONFLICT DO NOTHING`, sourceID, h); err != nil {
			return fmt.Errorf("store hours: %w", err)
		}
	}
	return nil
}

// Statements that look up and add devices, given the source and the
// identifiers as one parameter (the same statement, prepared once, however
// many there are): a JSON array on SQLite, an array on PostgreSQL.
var (
	lookUpDevicesSQL = map[Dialect]string{
		SQLite:   `SELECT id, ident FROM telemetry_devices WHERE source_id = $1 AND ident IN (SELECT value FROM json_each($2))`,
		Postgres: `SELECT id, ident FROM telemetry_devices WHERE source_id = $1 AND ident = ANY($2::text[])`,
	}
	// WHERE true: SQLite would read ON CONFLICT as part of the SELECT.
	addDevicesSQL = map[Dialect]string{
		SQLite: `INSERT INTO telemetry_devices (source_id, ident) SELECT $1, value FROM json_each($2) WHERE true
			ON CONFLICT (source_id, ident) DO NOTHING RETURNING id, ident`,
		Postgres: `INSERT INTO telemetry_devices (source_id, ident) SELECT $1, u FROM unnest($2::text[]) AS u
			ON CONFLICT (source_id, ident) DO NOTHING RETURNING id, ident`,
	}
)

// scanDevices runs q, one of the statements above, and sets the IDs it
// returns in ids.
func scanDevices(ctx context.Context, tx *Tx, q string, sourceID int64, idents []string, ids map[string]int64) error {
	var list any = idents
	if tx.Dialect() == SQLite {
		b, err := json.Marshal(idents)
		if err != nil {
			return err
		}
		list = string(b)
	}
	rows, err := tx.Query(ctx, q, sourceID, list)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var ident string
		if err := rows.Scan(&id, &ident); err != nil {
			return err
		}
		ids[ident] = id
	}
	return rows.Err()
}

// lookUpDevices sets the IDs of a source's devices in ids, adding those it
// does not have yet.
func lookUpDevices(ctx context.Context, tx *Tx, sourceID int64, idents []string, ids map[string]int64) error {
	collect := func(q string) error { return scanDevices(ctx, tx, q, sourceID, idents, ids) }
	missing := func() int {
		n := 0
		for _, ident := range idents {
			if ids[ident] == 0 {
				n++
			}
		}
		return n
	}
	if err := collect(lookUpDevicesSQL[tx.Dialect()]); err != nil {
		return fmt.Errorf("look up devices: %w", err)
	}
	if missing() == 0 {
		return nil
	}
	// Adding them all again costs the ones found a failed insert each, but
	// keeps to one statement. Another import of the same source may add
	// some first (PostgreSQL): the insert skips them, the look-up finds them.
	if err := collect(addDevicesSQL[tx.Dialect()]); err != nil {
		return fmt.Errorf("store devices: %w", err)
	}
	if missing() == 0 {
		return nil
	}
	if err := collect(lookUpDevicesSQL[tx.Dialect()]); err != nil {
		return fmt.Errorf("look up devices: %w", err)
	}
	if n := missing(); n > 0 {
		return fmt.Errorf("store devices: %d devices of the batch were neither added nor found", n)
	}
	return nil
}

// insertPings stores rows of a source in tx, skipping those already stored,
// and returns how many it inserted.
func insertPings(ctx context.Context, tx *Tx, sourceID int64, rows []pingRow) (int64, error) {
	if tx.Dialect() == Postgres {
		return insertPingsPostgres(ctx, tx, sourceID, rows)
	}
	return insertPingsSQLite(ctx, tx, sourceID, rows)
}

// An Import is the record of one import.
type Import struct {
	ID                              int64
	SourceID                        int64
	FileName, Format, SHA256        string
	Status                          string
	Read, Inserted, Duplicates, Bad int64
	// FirstPing and LastPing bound the times of the pings it committed;
	// zero when it committed none.
	FirstPing, LastPing time.Time
	Error               string
	Actor               string
	StartedAt           time.Time
	FinishedAt          time.Time // zero while running (or if interrupted)
}

const importColumns = `id, source_id, file_name, format, sha256, status, rows_read, inserted, duplicates, bad, t_min, t_max, error, actor, started_at, finished_at`

func scanImport(sc scanner) (Import, error) {
	var im Import
	var tMin, tMax sql.NullInt64
	var finished sql.NullTime
	err := sc.Scan(&im.ID, &im.SourceID, &im.FileName, &im.Format, &im.SHA256, &im.Status, &im.Read, &im.Inserted, &im.Duplicates, &im.Bad,
		&tMin, &tMax, &im.Error, &im.Actor, &im.StartedAt, &finished)
	if tMin.Valid {
		im.FirstPing, im.LastPing = time.UnixMilli(tMin.Int64).UTC(), time.UnixMilli(tMax.Int64).UTC()
	}
	im.StartedAt = im.StartedAt.UTC()
	im.FinishedAt = finished.Time.UTC()
	if !finished.Valid {
		im.FinishedAt = time.Time{}
	}
	return im, err
}

// Imports lists a source's imports, newest first.
func (t *Telemetry) Imports(ctx context.Context, sourceID int64) ([]Import, error) {
	rows, err := t.db.read.QueryContext(ctx, `SELECT `+importColumns+` FROM telemetry_imports WHERE source_id = $1 ORDER BY id DESC`, sourceID)
	return scanAll(rows, err, scanImport)
}

// TelemetryStats describe what the local store holds for a source.
type TelemetryStats struct {
	Pings, Devices int64
	// First and Last are the times of the source's earliest and latest
	// pings; zero when it has none.
	First, Last time.Time
	Imports     int64
}

// Stats counts a source's pings, devices and imports, for operators. It
// reads every ping of the source.
func (t *Telemetry) Stats(ctx context.Context, sourceID int64) (TelemetryStats, error) {
	return viewOne(ctx, t.db, func(tx *Tx) (TelemetryStats, error) {
		var s TelemetryStats
		var first, last sql.NullInt64
		if err := tx.QueryRow(ctx, `SELECT COUNT(*), MIN(t), MAX(t) FROM telemetry_pings WHERE source_id = $1`, sourceID).Scan(&s.Pings, &first, &last); err != nil {
			return s, fmt.Errorf("count pings: %w", err)
		}
		if first.Valid {
			s.First, s.Last = time.UnixMilli(first.Int64).UTC(), time.UnixMilli(last.Int64).UTC()
		}
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM telemetry_devices WHERE source_id = $1`, sourceID).Scan(&s.Devices); err != nil {
			return s, fmt.Errorf("count devices: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM telemetry_imports WHERE source_id = $1`, sourceID).Scan(&s.Imports); err != nil {
			return s, fmt.Errorf("count imports: %w", err)
		}
		return s, nil
	})
}

// intList writes ids as a comma-separated SQL list. Only integers are
// ever written into SQL text this way.
func intList(ids []int64) string {
	b := make([]byte, 0, len(ids)*20)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(b)
}
