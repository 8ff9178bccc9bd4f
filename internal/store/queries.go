package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/query"
)

// Queries is the store of location queries: every attempt with its
// decision, approvals, sealed results, and the per-case pseudonym keys and
// devices. It holds no rules: the audited query path (package access)
// decides, and writes through these methods inside its own transactions,
// with its ledger entries.
type Queries struct {
	db *DB
}

// Queries returns the query store over db.
func (db *DB) Queries() *Queries { return &Queries{db: db} }

// A QueryRecord is a stored query.
type QueryRecord struct {
	ID         int64
	PersonID   int64
	EmployeeID string
	Component  string // the requester's component
	CaseID     int64  // 0 when the case named does not exist
	CaseNumber string
	SourceID   int64 // 0 when the source named does not exist
	SourceName string
	Kind       query.Kind
	Device     string // the pseudonym a device history or unmasking is about
	// DeviceTag is a keyed hash of that device's raw identifier, the same
	// across cases (see [access] for how it is made); "" for area searches.
	DeviceTag     string
	Status        query.Status
	Tier          query.Tier
	Request       json.RawMessage
	RequestDigest string
	Decision      json.RawMessage
	Risk          json.RawMessage
	Reasons       []string
	BreakGlass    bool
	ResultCount   int
	ResultDigest  string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	CompletedAt   time.Time
	PurgedAt      time.Time
}

const queryColumns = `id, person_id, employee_id, component, case_id, case_number, source_id, source_name, kind, device, status, tier,
	request, request_digest, decision, risk, reasons, break_glass, result_count, result_digest, created_at, updated_at, completed_at, purged_at, device_tag`

func scanQuery(row scanner) (QueryRecord, error) {
	var q QueryRecord
	var caseID, sourceID sql.NullInt64
	var request, decision, risk, reasons string
	var completed, purged sql.NullTime
	err := row.Scan(&q.ID, &q.PersonID, &q.EmployeeID, &q.Component, &caseID, &q.CaseNumber, &sourceID, &q.SourceName, &q.Kind, &q.Device, &q.Status, &q.Tier,
		&request, &q.RequestDigest, &decision, &risk, &reasons, &q.BreakGlass, &q.ResultCount, &q.ResultDigest, &q.CreatedAt, &q.UpdatedAt, &completed, &purged, &q.DeviceTag)
	if err != nil {
		return q, err
	}
	q.CaseID, q.SourceID = caseID.Int64, sourceID.Int64
	q.Request, q.Decision, q.Risk = json.RawMessage(request), json.RawMessage(decision), json.RawMessage(risk)
	if err := json.Unmarshal([]byte(reasons), &q.Reasons); err != nil {
		return q, fmt.Errorf("query %d: stored reasons: %w", q.ID, err)
	}
	q.CompletedAt, q.PurgedAt = completed.Time, purged.Time
	return q, nil
}

func jsonText(m json.RawMessage) string {
	if len(m) == 0 {
		return "{}"
	}
	return string(m)
}

func reasonsText(rs []string) string {
	if rs == nil {
		rs = []string{}
	}
	b, _ := json.Marshal(rs)
	return string(b)
}

// Insert stores a new query and sets its ID and times.
func (s *Queries) Insert(ctx context.Context, tx *Tx, q *QueryRecord) error {
	q.CreatedAt, q.UpdatedAt = tx.Now, tx.Now
	if q.Status.Final() && q.CompletedAt.IsZero() {
		q.CompletedAt = tx.Now
	}
	return tx.QueryRow(ctx, `INSERT INTO queries (person_id, employee_id, component, case_id, case_number, source_id, source_name, kind, device, status, tier,
		request, request_digest, decision, risk, reasons, break_glass, result_count, result_digest, created_at, updated_at, completed_at, device_tag)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23) RETURNING id`,
		q.PersonID, q.EmployeeID, q.Component, nullInt(q.CaseID), q.CaseNumber, nullInt(q.SourceID), q.SourceName, string(q.Kind), q.Device, string(q.Status), int(q.Tier),
		string(q.Request), q.RequestDigest, jsonText(q.Decision), jsonText(q.Risk), reasonsText(q.Reasons), q.BreakGlass, q.ResultCount, q.ResultDigest,
		tx.Now, tx.Now, nullTime(q.CompletedAt), q.DeviceTag).Scan(&q.ID)
}

// Update stores a query's new status, decision, risk, reasons and result
// summary; it fails with a conflict when the stored status is no longer
// from (another request moved it first).
func (s *Queries) Update(ctx context.Context, tx *Tx, q *QueryRecord, from query.Status) error {
	q.UpdatedAt = tx.Now
	if q.Status.Final() && q.CompletedAt.IsZero() {
		q.CompletedAt = tx.Now
	}
	r, err := tx.Exec(ctx, `UPDATE queries SET status = $1, tier = $2, decision = $3, risk = $4, reasons = $5, result_count = $6, result_digest = $7,
		updated_at = $8, completed_at = $9 WHERE id = $10 AND status = $11`,
		string(q.Status), int(q.Tier), jsonText(q.Decision), jsonText(q.Risk), reasonsText(q.Reasons), q.ResultCount, q.ResultDigest,
		tx.Now, nullTime(q.CompletedAt), q.ID, string(from))
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n != 1 {
		return fault.New(fault.Conflict, "query %d is no longer %s", q.ID, strings.ReplaceAll(string(from), "_", " "))
	}
	return nil
}

// Get returns a query, read in tx (locked for update on PostgreSQL when
// forUpdate) or, with a nil tx, from the read pool.
func (s *Queries) Get(ctx context.Context, tx *Tx, id int64, lock bool) (QueryRecord, error) {
	var row *sql.Row
	if tx == nil {
		row = s.db.read.QueryRowContext(ctx, `SELECT `+queryColumns+` FROM queries WHERE id = $1`, id)
	} else {
		suffix := ""
		if lock {
			suffix = forUpdate(tx)
		}
		row = tx.QueryRow(ctx, `SELECT `+queryColumns+` FROM queries WHERE id = $1`+suffix, id)
	}
	q, err := scanQuery(row)
	if errors.Is(err, sql.ErrNoRows) {
		return q, fault.New(fault.NotFound, "there is no query %d", id)
	}
	return q, err
}

// A QueryFilter selects queries; zero fields select all.
type QueryFilter struct {
	PersonID   int64
	Components []string // the requester's component is one of these; nil for any
	AllComps   bool     // ignore Components
	CaseNumber string
	Status     query.Status
	Since      time.Time
	Limit      int // default and maximum 1000
}

// List returns queries, newest first.
func (s *Queries) List(ctx context.Context, f QueryFilter) ([]QueryRecord, error) {
	var w where
	if f.PersonID != 0 {
		w.eq("person_id", f.PersonID)
	}
	if !f.AllComps {
		w.add(w.in("component", f.Components))
	}
	if f.CaseNumber != "" {
		w.eq("case_number", f.CaseNumber)
	}
	if f.Status != "" {
		w.eq("status", string(f.Status))
	}
	if !f.Since.IsZero() {
		w.add("created_at >= " + w.arg(f.Since.UTC()))
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+queryColumns+` FROM queries`+w.String()+fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT %d`, limit), w.args...)
	return scanAll(rows, err, scanQuery)
}

// Approvals.

// An Approval is one approver's decision on a query.
type Approval struct {
	ID         int64     `json:"id"`
	QueryID    int64     `json:"query_id"`
	PersonID   int64     `json:"person_id"`
	EmployeeID string    `json:"employee_id"`
	Capacity   string    `json:"capacity"` // supervisor or privacy_officer
	Decision   string    `json:"decision"` // approved or rejected
	Reason     string    `json:"reason,omitempty"`
	DecidedAt  time.Time `json:"decided_at"`
}

// AddApproval stores an approver's decision.
func (s *Queries) AddApproval(ctx context.Context, tx *Tx, a *Approval) error {
	a.DecidedAt = tx.Now
	err := tx.QueryRow(ctx, `INSERT INTO query_approvals (query_id, person_id, employee_id, capacity, decision, reason, decided_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, a.QueryID, a.PersonID, a.EmployeeID, a.Capacity, a.Decision, a.Reason, tx.Now).Scan(&a.ID)
	if isUniqueViolation(err) {
		return fault.New(fault.Conflict, "query %d already has a %s decision", a.QueryID, strings.ReplaceAll(a.Capacity, "_", " "))
	}
	return err
}

// Approvals returns a query's approvals, in tx or (nil tx) from the read
// pool, oldest first.
func (s *Queries) Approvals(ctx context.Context, tx *Tx, queryID int64) ([]Approval, error) {
	const q = `SELECT id, query_id, person_id, employee_id, capacity, decision, reason, decided_at FROM query_approvals WHERE query_id = $1 ORDER BY id`
	var rows *sql.Rows
	var err error
	if tx == nil {
		rows, err = s.db.read.QueryContext(ctx, q, queryID)
	} else {
		rows, err = tx.Query(ctx, q, queryID)
	}
	return scanAll(rows, err, func(r scanner) (Approval, error) {
		var a Approval
		err := r.Scan(&a.ID, &a.QueryID, &a.PersonID, &a.EmployeeID, &a.Capacity, &a.Decision, &a.Reason, &a.DecidedAt)
		return a, err
	})
}

// Results.

// PutResult stores a query's sealed result until retainUntil.
func (s *Queries) PutResult(ctx context.Context, tx *Tx, queryID int64, sealed []byte, digest string, retainUntil time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO query_results (query_id, body, digest, retain_until) VALUES ($1, $2, $3, $4)`, queryID, sealed, digest, retainUntil.UTC())
	return err
}

// Result returns a query's sealed result and its digest; NotFound once it
// has been purged (or when there never was one).
func (s *Queries) Result(ctx context.Context, queryID int64) (sealed []byte, digest string, retainUntil time.Time, err error) {
	err = s.db.read.QueryRowContext(ctx, `SELECT body, digest, retain_until FROM query_results WHERE query_id = $1`, queryID).Scan(&sealed, &digest, &retainUntil)
	if errors.Is(err, sql.ErrNoRows) {
		err = fault.New(fault.NotFound, "query %d has no stored results (none were kept, or they were purged at the end of their retention)", queryID)
	}
	return
}

// Case keys and devices.

// CaseKey returns a case's sealed pseudonym key, or nil when it has none
// yet.
func (s *Queries) CaseKey(ctx context.Context, tx *Tx, caseID int64) ([]byte, error) {
	var sealed []byte
	err := tx.QueryRow(ctx, `SELECT sealed FROM case_keys WHERE case_id = $1`, caseID).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return sealed, err
}

// PutCaseKey stores a case's sealed pseudonym key; it fails with a conflict
// if the case already has one.
func (s *Queries) PutCaseKey(ctx context.Context, tx *Tx, caseID int64, sealed []byte) error {
	_, err := tx.Exec(ctx, `INSERT INTO case_keys (case_id, sealed, created_at) VALUES ($1, $2, $3)`, caseID, sealed, tx.Now)
	if isUniqueViolation(err) {
		return fault.New(fault.Conflict, "the case already has a pseudonym key")
	}
	return err
}

// A CaseDevice is a device a case's results named.
type CaseDevice struct {
	Pseudonym string
	SourceID  int64
	Sealed    []byte // the source's identifier, sealed
}

// KnownPseudonyms returns which of pseudonyms the case already holds.
func (s *Queries) KnownPseudonyms(ctx context.Context, tx *Tx, caseID int64, pseudonyms []string) (map[string]bool, error) {
	known := map[string]bool{}
	for len(pseudonyms) > 0 {
		n := min(len(pseudonyms), 500)
		var w where
		w.eq("case_id", caseID)
		w.add(w.in("pseudonym", pseudonyms[:n]))
		rows, err := tx.Query(ctx, `SELECT pseudonym FROM case_devices`+w.String(), w.args...)
		ps, err := scanAll(rows, err, func(r scanner) (string, error) {
			var p string
			return p, r.Scan(&p)
		})
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			known[p] = true
		}
		pseudonyms = pseudonyms[n:]
	}
	return known, nil
}

// PutDevices stores devices new to the case and extends the retention of
// every device of devs (known ones given with a nil Sealed) to retainUntil.
func (s *Queries) PutDevices(ctx context.Context, tx *Tx, caseID, queryID int64, devs []CaseDevice, retainUntil time.Time) error {
	retainUntil = retainUntil.UTC()
	var known []string
	for len(devs) > 0 {
		var b strings.Builder
		var args []any
		n := 0
		for _, d := range devs {
			if n == 200 {
				break
			}
			n++
			if d.Sealed == nil {
				known = append(known, d.Pseudonym)
				continue
			}
			if len(args) > 0 {
				b.WriteString(", ")
			}
			k := len(args)
			fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d, $%d)", k+1, k+2, k+3, k+4, k+5, k+6)
			args = append(args, caseID, d.Pseudonym, d.SourceID, d.Sealed, queryID, retainUntil)
		}
		devs = devs[n:]
		if len(args) == 0 {
			continue
		}
		if _, err := tx.Exec(ctx, `INSERT INTO case_devices (case_id, pseudonym, source_id, sealed, first_query_id, retain_until) VALUES `+b.String(), args...); err != nil {
			return err
		}
	}
	for len(known) > 0 {
		n := min(len(known), 500)
		var w where
		set := w.arg(retainUntil)
		w.eq("case_id", caseID)
		w.add(w.in("pseudonym", known[:n]))
		w.add("retain_until < " + set)
		if _, err := tx.Exec(ctx, `UPDATE case_devices SET retain_until = `+set+w.String(), w.args...); err != nil {
			return err
		}
		known = known[n:]
	}
	return nil
}

// CaseDevice returns the device behind a case's pseudonym.
func (s *Queries) CaseDevice(ctx context.Context, tx *Tx, caseID int64, pseudonym string) (CaseDevice, error) {
	d := CaseDevice{Pseudonym: pseudonym}
	err := tx.QueryRow(ctx, `SELECT source_id, sealed FROM case_devices WHERE case_id = $1 AND pseudonym = $2`, caseID, pseudonym).Scan(&d.SourceID, &d.Sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fault.New(fault.NotFound, "device %s appears in no kept result of this case", pseudonym)
	}
	return d, err
}

// Retention.

// A Purgeable is a result whose retention has ended.
type Purgeable struct {
	QueryID    int64
	CaseNumber string
	Component  string
	Digest     string
	Reason     string // retention or case_closed
}

// Purgeable returns up to limit results due for purging at now: past
// their retention date, or of a case closed more than grace ago; never
// those of a case under an evidence hold.
func (s *Queries) Purgeable(ctx context.Context, now time.Time, grace time.Duration, limit int) ([]Purgeable, error) {
	now = now.UTC()
	rows, err := s.db.read.QueryContext(ctx, `SELECT r.query_id, q.case_number, q.component, r.digest,
		CASE WHEN r.retain_until <= $1 THEN 'retention' ELSE 'case_closed' END
		FROM query_results r JOIN queries q ON q.id = r.query_id LEFT JOIN cases c ON c.id = q.case_id
		WHERE (c.id IS NULL OR NOT c.evidence_hold)
		AND (r.retain_until <= $1 OR (c.status = 'closed' AND c.closed_at <= $2))
		ORDER BY r.query_id LIMIT $3`, now, now.Add(-grace), limit)
	return scanAll(rows, err, func(r scanner) (Purgeable, error) {
		var p Purgeable
		return p, r.Scan(&p.QueryID, &p.CaseNumber, &p.Component, &p.Digest, &p.Reason)
	})
}

// PurgeResult deletes a query's result and marks the query purged; it
// reports false when there was nothing left to purge.
func (s *Queries) PurgeResult(ctx context.Context, tx *Tx, queryID int64) (bool, error) {
	r, err := tx.Exec(ctx, `DELETE FROM query_results WHERE query_id = $1`, queryID)
	if err != nil {
		return false, err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return false, nil
	}
	_, err = tx.Exec(ctx, `UPDATE queries SET purged_at = $1 WHERE id = $2`, tx.Now, queryID)
	return err == nil, err
}

// PurgeDevices deletes the case devices whose retention ended (no kept
// result names them any longer) or whose case closed more than grace ago,
// unless the case is under an evidence hold, and returns how many.
func (s *Queries) PurgeDevices(ctx context.Context, tx *Tx, now time.Time, grace time.Duration) (int64, error) {
	now = now.UTC()
	r, err := tx.Exec(ctx, `DELETE FROM case_devices WHERE case_id NOT IN (SELECT id FROM cases WHERE evidence_hold)
		AND (retain_until <= $1 OR case_id IN (SELECT id FROM cases WHERE status = 'closed' AND closed_at <= $2))`, now, now.Add(-grace))
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}
