package web

import (
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
)

// ledgerCSVHeader names the columns of the ledger's CSV export.
var ledgerCSVHeader = []string{"index", "time", "type", "actor_kind", "actor_id", "component", "subject", "digest", "data", "record_hash"}

// csvCell makes a value safe to open in a spreadsheet: a cell that starts
// with = + - @ (or a tab or carriage return, which some spreadsheets skip
// before one) would be read as a formula, so it gets a leading
// apostrophe, which spreadsheets show as text. Quoting and escaping are
// the CSV writer's.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// ledgerCSV streams the entries the search finds, in ledger order
// (oldest first), as CSV. Once the first row is sent, a failure can only
// end the file early, which the log records.
func (w *Web) ledgerCSV(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := wholeLedger(p); err != nil {
		return err
	}
	ctx := r.Context()
	f, bad := parseLedgerFilter(r.URL.Query())
	if bad != nil {
		return fault.New(fault.Invalid, "%s", bad.msg)
	}
	size, err := w.deps.Ledger.Size(ctx)
	if err != nil {
		return err
	}
	lo, hi, err := w.bounds(ctx, f, size)
	if err != nil {
		return err
	}
	rw.Header().Set("Content-Type", "text/csv; charset=utf-8")
	rw.Header().Set("Content-Disposition", `attachment; filename="probity-ledger.csv"`)
	cw := csv.NewWriter(rw)
	cw.Write(ledgerCSVHeader)
	rows := 0
	for lo < hi {
		to := min(hi, lo+ledgerWindow)
		hits, err := w.readHits(ctx, f, lo, to)
		if err != nil {
			w.deps.Logger.Error("ledger export ended early", "at", lo, "err", err)
			break
		}
		for _, h := range hits {
			cw.Write(csvRecord(h))
			rows++
		}
		lo = to
	}
	cw.Flush()
	if err := cw.Error(); err != nil && ctx.Err() == nil {
		w.deps.Logger.Error("ledger export ended early", "rows", rows, "err", err)
	}
	return nil
}

// csvRecord is one entry's row. A record that does not decode is listed
// with its raw text in the data column.
func csvRecord(h ledgerHit) []string {
	sum := tlog.RecordHash(h.raw)
	hash := base64.StdEncoding.EncodeToString(sum[:])
	if h.bad != nil {
		return []string{strconv.FormatInt(h.index, 10), "", "", "", "", "", "", "", csvCell(string(h.raw)), hash}
	}
	en := h.entry
	// The data as recorded, in canonical JSON.
	var m struct {
		Data json.RawMessage `json:"data"`
	}
	json.Unmarshal(h.raw, &m)
	data := string(m.Data)
	rec := []string{strconv.FormatInt(h.index, 10), en.Time, en.Type, en.Actor.Kind, en.Actor.ID, en.Component, en.Subject, en.Digest, data, hash}
	for i := range rec {
		rec[i] = csvCell(rec[i])
	}
	return rec
}
