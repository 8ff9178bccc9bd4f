package store

import (
	"database/sql"
	"fmt"
	"strings"
)

// A where builds the conditions of a WHERE clause and the arguments they
// bind, numbering the placeholders $1, $2, … in the order they are bound.
type where struct {
	conds []string
	args  []any
}

// arg binds v and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return fmt.Sprintf("$%d", len(w.args))
}

// in binds every value of vs and returns "column IN ($n,…)"; with no
// values, a condition that holds for no row.
func (w *where) in(column string, vs []string) string {
	if len(vs) == 0 {
		return "1 = 0"
	}
	ph := make([]string, len(vs))
	for i, v := range vs {
		ph[i] = w.arg(v)
	}
	return column + " IN (" + strings.Join(ph, ",") + ")"
}

// add adds a condition.
func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

// eq adds "column = $n" binding v.
func (w *where) eq(column string, v any) { w.add(column + " = " + w.arg(v)) }

// String returns " WHERE c1 AND c2 …", or "" when there is no condition.
func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// scanAll returns every row of rows, the result of a query that failed
// with err if err is not nil, scanned with scan; it closes rows. No rows
// give an empty slice, not nil.
func scanAll[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanID scans a row of one ID.
func scanID(sc scanner) (int64, error) {
	var id int64
	err := sc.Scan(&id)
	return id, err
}
