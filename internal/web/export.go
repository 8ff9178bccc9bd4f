package web

import (
	"encoding/csv"
	"fmt"
	"iter"
	"net/http"
)

// CSV exports of the lists. Every list page at PATH has its export at
// PATH.csv, with the same filters: the rows the page would show, every
// cell made safe to open in a spreadsheet by [csvCell].

// csvFlushEvery is how many rows an export writes between flushes, so
// that a long list streams rather than waiting for its end.
const csvFlushEvery = 200

// writeCSV streams a list as a CSV file named name: the header, then
// each row of rows. rows yields an error to end the file early; once the
// first row is sent a failure can only do that, which the log records.
func (w *Web) writeCSV(rw http.ResponseWriter, r *http.Request, name string, header []string, rows iter.Seq2[[]string, error]) error {
	rw.Header().Set("Content-Type", "text/csv; charset=utf-8")
	rw.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename=%q`, name))
	cw := csv.NewWriter(rw)
	cw.Write(safeRow(header))
	n := 0
	for row, err := range rows {
		if err != nil {
			w.deps.Logger.Error("export ended early", "path", r.URL.Path, "rows", n, "err", err)
			break
		}
		cw.Write(safeRow(row))
		if n++; n%csvFlushEvery == 0 {
			cw.Flush()
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil && r.Context().Err() == nil {
		w.deps.Logger.Error("export ended early", "path", r.URL.Path, "rows", n, "err", err)
	}
	return nil
}

// safeRow applies [csvCell] to every cell of a row, in place.
func safeRow(row []string) []string {
	for i := range row {
		row[i] = csvCell(row[i])
	}
	return row
}

// csvRows yields one row per element of list, made by row.
func csvRows[T any](list []T, row func(T) []string) iter.Seq2[[]string, error] {
	return func(yield func([]string, error) bool) {
		for _, x := range list {
			if !yield(row(x), nil) {
				return
			}
		}
	}
}
