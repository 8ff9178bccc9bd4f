package store

import (
	"context"
	"fmt"
	"time"

	"github.com/probity-dev/probity/internal/detect"
)

// Activity is what the misuse detectors read of past queries: who ran
// how many, how many devices they saw, and which devices they followed
// in which cases. It reads without authorization, for screening only.
type Activity struct {
	db *DB
}

var _ detect.History = (*Activity)(nil)

// Activity returns the activity reader over db.
func (db *DB) Activity() *Activity { return &Activity{db: db} }

// executed are the statuses of queries that reached their source.
const executed = `('completed', 'withheld')`

// devicesSeen counts an area search's devices, and one for a device's
// history or unmasking.
const devicesSeen = `CASE WHEN kind = 'area' THEN result_count ELSE 1 END`

// Daily returns each person's executed queries and devices per UTC day in
// [from, to), for the people of component.
func (a *Activity) Daily(ctx context.Context, component string, from, to time.Time) ([]detect.DayCount, error) {
	rows, err := a.db.read.QueryContext(ctx, `SELECT person_id, created_at, `+devicesSeen+` FROM queries
		WHERE component = $1 AND created_at >= $2 AND created_at < $3 AND status IN `+executed, component, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("read daily activity: %w", err)
	}
	defer rows.Close()
	type key struct {
		person int64
		day    int64
	}
	counts := map[key]*detect.DayCount{}
	var order []key
	for rows.Next() {
		var person int64
		var at time.Time
		var devices int
		if err := rows.Scan(&person, &at, &devices); err != nil {
			return nil, fmt.Errorf("read daily activity: %w", err)
		}
		day := at.UTC().Truncate(24 * time.Hour)
		k := key{person, day.Unix()}
		c := counts[k]
		if c == nil {
			c = &detect.DayCount{Person: person, Day: day}
			counts[k] = c
			order = append(order, k)
		}
		c.Queries++
		c.Devices += devices
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read daily activity: %w", err)
	}
	out := make([]detect.DayCount, len(order))
	for i, k := range order {
		out[i] = *counts[k]
	}
	return out, nil
}

// Since returns person's queries that ran or are running since from, and
// the devices the executed ones returned.
func (a *Activity) Since(ctx context.Context, person int64, from time.Time) (queries, devices int, err error) {
	err = a.db.read.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN status IN `+executed+` THEN `+devicesSeen+` ELSE 0 END), 0)
		FROM queries WHERE person_id = $1 AND created_at >= $2 AND status IN ('running', 'completed', 'withheld')`, person, from.UTC()).Scan(&queries, &devices)
	if err != nil {
		return 0, 0, fmt.Errorf("read activity of person %d: %w", person, err)
	}
	return queries, devices, nil
}

// OtherCases returns the numbers of the cases other than caseID in which
// person queried the device tagged tag, in order.
func (a *Activity) OtherCases(ctx context.Context, person int64, tag string, caseID int64) ([]string, error) {
	if tag == "" {
		return nil, nil
	}
	rows, err := a.db.read.QueryContext(ctx, `SELECT DISTINCT case_number FROM queries
		WHERE person_id = $1 AND device_tag = $2 AND (case_id IS NULL OR case_id <> $3) AND status IN ('running', 'completed', 'withheld')
		ORDER BY case_number`, person, tag, caseID)
	return scanAll(rows, err, func(sc scanner) (string, error) {
		var s string
		return s, sc.Scan(&s)
	})
}

// EmployeeIDs returns the employee IDs of people.
func (a *Activity) EmployeeIDs(ctx context.Context, people []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(people))
	for _, p := range people {
		var id string
		if err := a.db.read.QueryRowContext(ctx, `SELECT employee_id FROM people WHERE id = $1`, p).Scan(&id); err != nil {
			return nil, fmt.Errorf("read person %d: %w", p, err)
		}
		out[p] = id
	}
	return out, nil
}
