package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/probity-dev/probity/internal/release"
	"github.com/probity-dev/probity/internal/scan"
)

// SQLite writes a scan's findings with multi-row statements of a few fixed
// sizes, so that the writer's statement cache holds them all, and with "?"
// placeholders: SQLite looks a numbered or named placeholder up in a list
// at parse and bind time, which makes a statement of thousands of them
// quadratic. Arguments therefore come in the order of their placeholders.

// batchSizes are the row counts of the multi-row statements.
var batchSizes = []int{256, 32, 4, 1}

// batches calls fn with consecutive ranges [lo, hi) covering n items.
func batches(n int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; {
		size := 1
		for _, b := range batchSizes {
			if n-lo >= b {
				size = b
				break
			}
		}
		if err := fn(lo, lo+size); err != nil {
			return err
		}
		lo += size
	}
	return nil
}

// marks returns n "?" placeholders, comma-separated.
func marks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// rowsOf returns "(?,…),(…)" for rows rows of cols placeholders.
func rowsOf(rows, cols int) string {
	row := "(" + marks(cols) + ")"
	return strings.TrimSuffix(strings.Repeat(row+",", rows), ",")
}

func lookupFindingsSQLite(ctx context.Context, tx *Tx, appID int64, t release.ScanType, fs []scan.Finding) (map[string]known, error) {
	have := make(map[string]known, len(fs))
	err := batches(len(fs), func(lo, hi int) error {
		args := []any{appID, string(t)}
		for _, f := range fs[lo:hi] {
			args = append(args, f.Fingerprint)
		}
		rows, err := tx.Query(ctx, `SELECT `+knownColumns+` FROM findings WHERE app_id = ? AND scan_type = ? AND fingerprint IN (`+marks(hi-lo)+`)`, args...)
		return scanKnown(rows, err, have)
	})
	return have, err
}

func touchFindingsSQLite(ctx context.Context, tx *Tx, scanID int64, ids []int64) error {
	return batches(len(ids), func(lo, hi int) error {
		args := []any{tx.Now, scanID, tx.Now}
		for _, id := range ids[lo:hi] {
			args = append(args, id)
		}
		_, err := tx.Exec(ctx, `UPDATE findings SET last_seen_at = ?, last_scan_id = ?, updated_at = ? WHERE id IN (`+marks(hi-lo)+`)`, args...)
		return err
	})
}

func insertFindingsSQLite(ctx context.Context, tx *Tx, nf newFindings, have map[string]known) error {
	const cols = 22
	var resolvedAt, resolvedBy any
	if !nf.resolvedAt.IsZero() {
		resolvedAt, resolvedBy = nf.resolvedAt, nf.resolvedBy
	}
	return batches(len(nf.fs), func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*cols)
		for _, f := range nf.fs[lo:hi] {
			args = append(args, nf.appID, nf.component, string(nf.scanType), f.Fingerprint, f.RuleID, f.Title, f.Description, string(f.Severity), release.Rank(f.Severity),
				f.SeverityBasis, f.Location, jsonList(f.CWE), jsonList(f.CVE), f.Suppressed, string(nf.state), tx.Now, nf.scanID, tx.Now, nf.scanID, resolvedAt, resolvedBy, tx.Now)
		}
		rows, err := tx.Query(ctx, `INSERT INTO findings (`+newFindingColumns+`) VALUES `+rowsOf(hi-lo, cols)+` RETURNING id, fingerprint`, args...)
		return scanNewIDs(rows, err, have)
	})
}

func insertOccurrencesSQLite(ctx context.Context, tx *Tx, scanID int64, ids []int64, fs []scan.Finding) error {
	return batches(len(ids), func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*3)
		for i := lo; i < hi; i++ {
			args = append(args, scanID, ids[i], string(fs[i].Severity))
		}
		_, err := tx.Exec(ctx, `INSERT INTO scan_findings (scan_id, finding_id, severity) VALUES `+rowsOf(hi-lo, 3), args...)
		return err
	})
}

func insertComponentsSQLite(ctx context.Context, tx *Tx, scanID int64, seq []int64, names, versions, purls, licenses []string) error {
	return batches(len(seq), func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*6)
		for i := lo; i < hi; i++ {
			args = append(args, scanID, seq[i], names[i], versions[i], purls[i], licenses[i])
		}
		_, err := tx.Exec(ctx, `INSERT INTO scan_components (scan_id, seq, name, version, purl, license) VALUES `+rowsOf(hi-lo, 6), args...)
		return err
	})
}

// scanNewIDs adds the (id, fingerprint) rows of an insert to have.
func scanNewIDs(rows *sql.Rows, err error, have map[string]known) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var fp string
		if err := rows.Scan(&id, &fp); err != nil {
			return err
		}
		have[fp] = known{id: id}
	}
	return rows.Err()
}
