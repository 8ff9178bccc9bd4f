package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/program"
)

// Program is the store of the compliance program: audit reports, their
// recommendations, and the policies, controls and evidence that answer
// them. Every change is checked against the program's rules for the acting
// principal and recorded in the ledger in the same transaction; an import
// is one transaction, all of it or none.
type Program struct {
	db *DB
}

// Program returns the compliance program store over db.
func (db *DB) Program() *Program { return &Program{db: db} }

// Today returns the current day, by the store's clock.
func (s *Program) Today() program.Date { return program.DateOf(s.db.now()) }

func (s *Program) record(ctx context.Context, tx *Tx, by auth.Principal, typ, component, subject string, data map[string]any, digest string) error {
	if s.db.ledger == nil {
		return fault.New(fault.Internal, "the ledger is not open")
	}
	_, err := s.db.ledger.Append(ctx, tx, ledger.Event{Type: typ, Actor: by.Actor(), Component: component, Subject: subject, Data: data, Digest: digest})
	return err
}

func auditReportSubject(id int64) string    { return fmt.Sprintf("audit-report/%d", id) }
func recommendationSubject(id int64) string { return fmt.Sprintf("recommendation/%d", id) }

// programFault returns an error with code about a field of a record, so that
// an import can say where in its file the problem is.
func programFault(code fault.Code, field, format string, args ...any) error {
	return fault.Wrap(&program.FieldError{Field: field}, code, format, args...)
}

func programDay(d program.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.String()
}

func programTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// programStoredDate reads a date column.
func programStoredDate(column, s string) (program.Date, error) {
	d, err := program.ParseDate(s)
	if err != nil {
		return d, fmt.Errorf("stored %s: %w", column, err)
	}
	return d, nil
}

// CreateReport records an audit report.
func (s *Program) CreateReport(ctx context.Context, by auth.Principal, r program.Report) (program.Report, error) {
	r.Normalize()
	err := s.db.Update(ctx, func(tx *Tx) error {
		var err error
		r, err = s.createReport(ctx, tx, by, r)
		return err
	})
	return r, err
}

func (s *Program) createReport(ctx context.Context, tx *Tx, by auth.Principal, r program.Report) (program.Report, error) {
	if err := program.CheckNewReport(by, r, tx.Now); err != nil {
		return r, err
	}
	r.CreatedAt, r.CreatedBy = tx.Now, by.ID
	err := tx.QueryRow(ctx, `INSERT INTO audit_reports (issuer, number, title, issued_on, url, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		string(r.Issuer), r.Number, r.Title, r.Issued.String(), r.URL, tx.Now, by.ID).Scan(&r.ID)
	if isUniqueViolation(err) {
		return r, programFault(fault.Conflict, "number", "report %s of the %s is already recorded", r.Number, strings.ToLower(r.Issuer.Title()))
	}
	if err != nil {
		return r, err
	}
	data := map[string]any{"issuer": string(r.Issuer), "number": r.Number, "title": r.Title, "issued_on": r.Issued.String()}
	if r.URL != "" {
		data["url"] = r.URL
	}
	return r, s.record(ctx, tx, by, "program.report_created", "", auditReportSubject(r.ID), data, "")
}

const auditReportColumns = `id, issuer, number, title, issued_on, url, created_at, created_by`

func scanAuditReport(sc scanner) (program.Report, error) {
	var r program.Report
	var issued string
	if err := sc.Scan(&r.ID, &r.Issuer, &r.Number, &r.Title, &issued, &r.URL, &r.CreatedAt, &r.CreatedBy); err != nil {
		return r, err
	}
	var err error
	r.Issued, err = programStoredDate("issued_on", issued)
	return r, err
}

// Reports lists the audit reports, newest first. Every reader of the
// program sees every report; which of their recommendations one sees
// depends on one's components.
func (s *Program) Reports(ctx context.Context, by auth.Principal) ([]program.Report, error) {
	if !by.Can(auth.ProgramRead) {
		return nil, fault.New(fault.Forbidden, "your role does not allow seeing the compliance program")
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+auditReportColumns+` FROM audit_reports ORDER BY issued_on DESC, id`)
	return scanAll(rows, err, scanAuditReport)
}

// recColumns are the columns scanRec reads, from recFrom.
const recColumns = `r.id, r.report_id, r.number, r.text, COALESCE(r.owner_component, ''), r.owner_id, r.status, COALESCE(r.target_on, ''),
	COALESCE(r.resolved_on, ''), r.resolution_note, r.resolved_by, r.resolved_at, COALESCE(r.closed_on, ''), r.closure_note, r.closed_by, r.closed_at,
	r.version, r.created_at, r.updated_at,
	a.id, a.issuer, a.number, a.title, a.issued_on, a.url, a.created_at, a.created_by, p.employee_id, p.name`

const recFrom = ` FROM recommendations r JOIN audit_reports a ON a.id = r.report_id JOIN people p ON p.id = r.owner_id`

func scanRec(sc scanner) (program.Recommendation, error) {
	var r program.Recommendation
	var target, resolvedOn, closedOn, issued string
	var resolvedAt, closedAt sql.NullTime
	if err := sc.Scan(&r.ID, &r.ReportID, &r.Number, &r.Text, &r.OwnerComponent, &r.OwnerID, &r.Status, &target,
		&resolvedOn, &r.Resolution.Note, &r.Resolution.By, &resolvedAt, &closedOn, &r.Closure.Note, &r.Closure.By, &closedAt,
		&r.Version, &r.CreatedAt, &r.UpdatedAt,
		&r.Report.ID, &r.Report.Issuer, &r.Report.Number, &r.Report.Title, &issued, &r.Report.URL, &r.Report.CreatedAt, &r.Report.CreatedBy,
		&r.OwnerEmpID, &r.OwnerName); err != nil {
		return r, err
	}
	r.Resolution.At, r.Closure.At = resolvedAt.Time, closedAt.Time
	var errs []error
	var err error
	r.Target, err = programStoredDate("target_on", target)
	errs = append(errs, err)
	r.Resolution.On, err = programStoredDate("resolved_on", resolvedOn)
	errs = append(errs, err)
	r.Closure.On, err = programStoredDate("closed_on", closedOn)
	errs = append(errs, err)
	r.Report.Issued, err = programStoredDate("issued_on", issued)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return r, fmt.Errorf("recommendation %d: %w", r.ID, err)
	}
	return r, nil
}

// ErrRecommendationNotFound reports a recommendation that does not exist,
// or that the requester may not see.
var ErrRecommendationNotFound = errors.New("recommendation not found")

func notFoundRec(id int64) error {
	return fault.Wrap(ErrRecommendationNotFound, fault.NotFound, "there is no recommendation %d", id)
}

// load reads a recommendation with its links in q, if by may see it.
func (s *Program) load(ctx context.Context, q queryer, by auth.Principal, id int64) (program.Recommendation, error) {
	r, err := scanRec(q.QueryRowContext(ctx, `SELECT `+recColumns+recFrom+` WHERE r.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, notFoundRec(id)
	}
	if err != nil {
		return r, err
	}
	if !program.MayRead(by, r) {
		return program.Recommendation{}, notFoundRec(id) // do not reveal what exists elsewhere
	}
	links, err := s.links(ctx, q, []int64{id})
	r.Links = links[id]
	return r, err
}

// links reads the links of recommendations, by recommendation.
func (s *Program) links(ctx context.Context, q queryer, ids []int64) (map[int64][]program.Link, error) {
	out := map[int64][]program.Link{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		ph := make([]string, len(chunk))
		for i, id := range chunk {
			args[i], ph[i] = id, fmt.Sprintf("$%d", i+1)
		}
		rows, err := q.QueryContext(ctx, `SELECT recommendation_id, id, kind, ref, note, added_at, added_by FROM recommendation_links
			WHERE recommendation_id IN (`+strings.Join(ph, ",")+`) ORDER BY recommendation_id, id`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var rid int64
			var l program.Link
			if err := rows.Scan(&rid, &l.ID, &l.Kind, &l.Ref, &l.Note, &l.AddedAt, &l.AddedBy); err != nil {
				rows.Close()
				return nil, err
			}
			out[rid] = append(out[rid], l)
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, err
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Recommendation returns a recommendation with its links and the history
// of its status steps, if by may see it.
func (s *Program) Recommendation(ctx context.Context, by auth.Principal, id int64) (program.Recommendation, error) {
	var r program.Recommendation
	err := s.db.View(ctx, func(tx *Tx) error {
		var err error
		if r, err = s.load(ctx, txQueryer{tx}, by, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT action, from_status, to_status, COALESCE(on_date, ''), note, refused, by_actor, recorded_at FROM recommendation_steps
			WHERE recommendation_id = $1 ORDER BY id`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t program.Transition
			var on string
			if err := rows.Scan(&t.Action, &t.From, &t.To, &on, &t.Note, &t.Refused, &t.By, &t.At); err != nil {
				return err
			}
			if t.On, err = programStoredDate("on_date", on); err != nil {
				return err
			}
			r.History = append(r.History, t)
		}
		return rows.Err()
	})
	return r, err
}

// A RecommendationFilter selects recommendations to list.
type RecommendationFilter struct {
	ReportID int64
	// Component selects one owning component; Department the department's
	// own recommendations.
	Component  string
	Department bool
	Status     program.Status
	OwnerID    int64
	// Overdue selects open recommendations past their target date.
	Overdue bool
	Limit   int
}

// MaxRecommendations is the most recommendations one list returns.
const MaxRecommendations = 10000

// Recommendations lists the recommendations by may see that match f, with
// their links, in report and number order.
func (s *Program) Recommendations(ctx context.Context, by auth.Principal, f RecommendationFilter) ([]program.Recommendation, error) {
	comps, all := by.Components(auth.ProgramRead)
	if !all && len(comps) == 0 {
		return nil, fault.New(fault.Forbidden, "your role does not allow seeing the compliance program")
	}
	if f.Limit <= 0 || f.Limit > MaxRecommendations {
		f.Limit = MaxRecommendations
	}
	var w where
	if !all {
		w.add("(r.owner_component IS NULL OR " + w.in("r.owner_component", comps) + ")")
	}
	if f.ReportID != 0 {
		w.eq("r.report_id", f.ReportID)
	}
	switch {
	case f.Department:
		w.add("r.owner_component IS NULL")
	case f.Component != "":
		w.eq("r.owner_component", f.Component)
	}
	if f.Status != "" {
		w.eq("r.status", string(f.Status))
	}
	if f.OwnerID != 0 {
		w.eq("r.owner_id", f.OwnerID)
	}
	if f.Overdue {
		w.add("r.status = 'open' AND r.target_on < " + w.arg(s.Today().String()))
	}
	q := `SELECT ` + recColumns + recFrom + w.String() + " ORDER BY a.issued_on DESC, a.id, r.id LIMIT " + w.arg(f.Limit)
	var out []program.Recommendation
	err := s.db.View(ctx, func(tx *Tx) error {
		rows, err := tx.Query(ctx, q, w.args...)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			r, err := scanRec(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, r)
			ids = append(ids, r.ID)
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return err
		}
		if err := rows.Close(); err != nil {
			return err
		}
		links, err := s.links(ctx, txQueryer{tx}, ids)
		if err != nil {
			return err
		}
		for i := range out {
			out[i].Links = links[out[i].ID]
		}
		return nil
	})
	return out, err
}

// Summary returns where the recommendations by may see stand today.
func (s *Program) Summary(ctx context.Context, by auth.Principal) (program.Summary, error) {
	recs, err := s.Recommendations(ctx, by, RecommendationFilter{})
	if err != nil {
		return program.Summary{}, err
	}
	return program.Summarize(recs, s.Today()), nil
}

// checkOwner checks in tx that a person may own r: they exist, are still
// here, belong to its owning component, and can see it.
func (s *Program) checkOwner(ctx context.Context, tx *Tx, r program.Recommendation) (identity.Person, error) {
	ids := s.db.Identity()
	p, err := ids.person(ctx, txQueryer{tx}, r.OwnerID)
	if fault.Is(err, fault.NotFound) {
		return p, programFault(fault.Invalid, "owner", "there is no person %d to own the recommendation", r.OwnerID)
	}
	if err != nil {
		return p, err
	}
	if p.Status == identity.Disabled {
		return p, programFault(fault.Invalid, "owner", "%s's account is disabled; choose an owner who is still here", p.Name)
	}
	if p.Component != r.OwnerComponent {
		return p, programFault(fault.Invalid, "owner", "%s belongs to %s, not %s: the owner must belong to the component that owns the recommendation",
			p.Name, program.OrDepartment(p.Component), program.OrDepartment(r.OwnerComponent))
	}
	grants, err := ids.grants(ctx, txQueryer{tx}, p.ID)
	if err != nil {
		return p, err
	}
	if !program.MayRead(identity.Principal(p, grants), r) {
		return p, programFault(fault.Invalid, "owner", "%s holds no role that can see the compliance program in %s (a privacy or security officer's); choose an owner who can",
			p.Name, program.OrDepartment(r.OwnerComponent))
	}
	return p, nil
}

// report reads a report in tx.
func (s *Program) report(ctx context.Context, tx *Tx, id int64) (program.Report, error) {
	r, err := scanAuditReport(tx.QueryRow(ctx, `SELECT `+auditReportColumns+` FROM audit_reports WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, programFault(fault.Invalid, "report_id", "there is no report %d", id)
	}
	return r, err
}

// CreateRecommendation records a new, open recommendation of a report.
func (s *Program) CreateRecommendation(ctx context.Context, by auth.Principal, r program.Recommendation) (program.Recommendation, error) {
	r.Normalize()
	r.Status = program.Open
	err := s.db.Update(ctx, func(tx *Tx) error {
		rep, err := s.report(ctx, tx, r.ReportID)
		if err != nil {
			return err
		}
		r.Report = rep
		r, err = s.createRec(ctx, tx, by, r, false)
		return err
	})
	return r, err
}

func (s *Program) createRec(ctx context.Context, tx *Tx, by auth.Principal, r program.Recommendation, imported bool) (program.Recommendation, error) {
	if err := program.CheckNew(by, r); err != nil {
		return r, err
	}
	owner, err := s.checkOwner(ctx, tx, r)
	if err != nil {
		return r, err
	}
	r.OwnerEmpID, r.OwnerName = owner.EmployeeID, owner.Name
	r.Version, r.CreatedAt, r.UpdatedAt = 1, tx.Now, tx.Now
	err = tx.QueryRow(ctx, `INSERT INTO recommendations (report_id, number, text, owner_component, owner_id, status, target_on, version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, 'open', $6, 1, $7, $7) RETURNING id`,
		r.ReportID, r.Number, r.Text, nullString(r.OwnerComponent), r.OwnerID, programDay(r.Target), tx.Now).Scan(&r.ID)
	if isUniqueViolation(err) {
		return r, programFault(fault.Conflict, "number", "report %s already has a recommendation %s", r.Report.Number, r.Number)
	}
	if err != nil {
		return r, err
	}
	data := map[string]any{"report_id": r.ReportID, "report": r.Report.Number, "number": r.Number, "owner_id": r.OwnerID, "status": string(r.Status)}
	if !r.Target.IsZero() {
		data["target_on"] = r.Target.String()
	}
	if imported {
		data["imported"] = true
	}
	// The text is in its table; the entry commits to it.
	return r, s.record(ctx, tx, by, "program.recommendation_created", r.OwnerComponent, recommendationSubject(r.ID), data, ledger.PayloadDigest([]byte(r.Text)))
}

// save writes r's new state over old's in tx, unless someone changed it
// meanwhile.
func (s *Program) save(ctx context.Context, tx *Tx, old, r program.Recommendation) (program.Recommendation, error) {
	res, err := tx.Exec(ctx, `UPDATE recommendations SET number = $1, text = $2, owner_component = $3, owner_id = $4, status = $5, target_on = $6,
		resolved_on = $7, resolution_note = $8, resolved_by = $9, resolved_at = $10, closed_on = $11, closure_note = $12, closed_by = $13, closed_at = $14,
		version = version + 1, updated_at = $15 WHERE id = $16 AND version = $17`,
		r.Number, r.Text, nullString(r.OwnerComponent), r.OwnerID, string(r.Status), programDay(r.Target),
		programDay(r.Resolution.On), r.Resolution.Note, r.Resolution.By, programTime(r.Resolution.At),
		programDay(r.Closure.On), r.Closure.Note, r.Closure.By, programTime(r.Closure.At),
		tx.Now, r.ID, old.Version)
	if isUniqueViolation(err) {
		return old, programFault(fault.Conflict, "number", "report %s already has a recommendation %s", r.Report.Number, r.Number)
	}
	if err != nil {
		return old, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return old, fault.Wrap(err, fault.Conflict, "%s changed while you were changing it; look at it again and retry", old.Name())
	}
	r.Version, r.UpdatedAt = old.Version+1, tx.Now
	return r, nil
}

// change loads a recommendation in a transaction, lets fn change it, and
// saves the result.
func (s *Program) change(ctx context.Context, by auth.Principal, id int64, fn func(tx *Tx, r program.Recommendation) (program.Recommendation, error)) (program.Recommendation, error) {
	var out program.Recommendation
	err := s.db.Update(ctx, func(tx *Tx) error {
		r, err := s.load(ctx, txQueryer{tx}, by, id)
		if err != nil {
			return err
		}
		out, err = fn(tx, r)
		return err
	})
	return out, err
}

// UpdateRecommendation changes a recommendation's details.
func (s *Program) UpdateRecommendation(ctx context.Context, by auth.Principal, id int64, c program.Change) (program.Recommendation, error) {
	return s.change(ctx, by, id, func(tx *Tx, old program.Recommendation) (program.Recommendation, error) {
		r, changed, err := c.Apply(by, old)
		if err != nil || len(changed) == 0 {
			return r, err
		}
		if r.OwnerID != old.OwnerID || r.OwnerComponent != old.OwnerComponent {
			owner, err := s.checkOwner(ctx, tx, r)
			if err != nil {
				return old, err
			}
			r.OwnerEmpID, r.OwnerName = owner.EmployeeID, owner.Name
		}
		if r, err = s.save(ctx, tx, old, r); err != nil {
			return old, err
		}
		data := map[string]any{"fields": changed}
		for _, f := range changed {
			switch f {
			case "number":
				data["number"] = map[string]any{"from": old.Number, "to": r.Number}
			case "owner_component":
				data["owner_component"] = map[string]any{"from": old.OwnerComponent, "to": r.OwnerComponent}
			case "owner":
				data["owner_id"] = map[string]any{"from": old.OwnerID, "to": r.OwnerID}
			case "target_on":
				data["target_on"] = map[string]any{"from": old.Target.String(), "to": r.Target.String()}
			}
		}
		if reason := strings.TrimSpace(c.Reason); reason != "" {
			data["reason"] = reason
		}
		digest := ""
		if r.Text != old.Text {
			digest = ledger.PayloadDigest([]byte(r.Text))
		}
		// An entry belongs to the component the recommendation now belongs
		// to; a move between components names the one it left.
		return r, s.record(ctx, tx, by, "program.recommendation_updated", r.OwnerComponent, recommendationSubject(r.ID), data, digest)
	})
}

// step records a status step of r in tx.
func (s *Program) step(ctx context.Context, tx *Tx, by auth.Principal, old, r program.Recommendation, action string, on program.Date, note string, data map[string]any) (program.Recommendation, error) {
	r, err := s.save(ctx, tx, old, r)
	if err != nil {
		return old, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO recommendation_steps (recommendation_id, action, from_status, to_status, on_date, note, by_actor, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r.ID, action, string(old.Status), string(r.Status), programDay(on), note, by.ID, tx.Now); err != nil {
		return old, err
	}
	data["from"], data["to"], data["note"] = string(old.Status), string(r.Status), note
	if !on.IsZero() {
		data["on"] = on.String()
	}
	r.History = nil
	return r, s.record(ctx, tx, by, "program.recommendation_"+action, r.OwnerComponent, recommendationSubject(r.ID), data, "")
}

func (s *Program) resolve(ctx context.Context, tx *Tx, by auth.Principal, old program.Recommendation, st program.Step) (program.Recommendation, error) {
	r, err := program.Resolve(by, old, st, tx.Now)
	if err != nil {
		return old, refusal("resolved", old, err)
	}
	return s.step(ctx, tx, by, old, r, "resolved", r.Resolution.On, r.Resolution.Note, map[string]any{"evidence": r.Evidence()})
}

func (s *Program) close(ctx context.Context, tx *Tx, by auth.Principal, old program.Recommendation, st program.Step) (program.Recommendation, error) {
	r, err := program.Close(by, old, st, tx.Now)
	if err != nil {
		return old, refusal("closed", old, err)
	}
	return s.step(ctx, tx, by, old, r, "closed", r.Closure.On, r.Closure.Note, map[string]any{})
}

// Resolve marks a recommendation resolved: the agency says it is done,
// and the linked evidence shows it. A refusal (the wrong role, out of
// order) is recorded.
func (s *Program) Resolve(ctx context.Context, by auth.Principal, id int64, st program.Step) (program.Recommendation, error) {
	r, err := s.change(ctx, by, id, func(tx *Tx, r program.Recommendation) (program.Recommendation, error) {
		return s.resolve(ctx, tx, by, r, st)
	})
	return r, s.refused(ctx, by, err)
}

// Close records the issuer's closure of a resolved recommendation. A
// refusal is recorded.
func (s *Program) Close(ctx context.Context, by auth.Principal, id int64, st program.Step) (program.Recommendation, error) {
	r, err := s.change(ctx, by, id, func(tx *Tx, r program.Recommendation) (program.Recommendation, error) {
		return s.close(ctx, tx, by, r, st)
	})
	return r, s.refused(ctx, by, err)
}

// Reopen opens a resolved or closed recommendation again. A refusal is
// recorded.
func (s *Program) Reopen(ctx context.Context, by auth.Principal, id int64, reason string) (program.Recommendation, error) {
	reason = strings.TrimSpace(reason)
	r, err := s.change(ctx, by, id, func(tx *Tx, old program.Recommendation) (program.Recommendation, error) {
		r, err := program.Reopen(by, old, reason)
		if err != nil {
			return old, refusal("reopened", old, err)
		}
		return s.step(ctx, tx, by, old, r, "reopened", program.Date{}, reason, map[string]any{})
	})
	return r, s.refused(ctx, by, err)
}

// A stepRefusal is a status step the program's rules refused to someone
// who can see the recommendation: the wrong role, or out of order.
type stepRefusal struct {
	action string // as the step would have been recorded: resolved, closed, reopened
	rec    program.Recommendation
	err    error
}

func (e *stepRefusal) Error() string { return e.err.Error() }
func (e *stepRefusal) Unwrap() error { return e.err }

// refusal marks err, a status step's refusal, for recording when it is
// one: a bad note or date is a mistake, not a refused step.
func refusal(action string, r program.Recommendation, err error) error {
	switch fault.CodeOf(err) {
	case fault.Forbidden, fault.Conflict, fault.Precondition:
		return &stepRefusal{action: action, rec: r, err: err}
	}
	return err
}

// refused records a refused status step — in the recommendation's
// history and in the ledger, in a transaction of its own (the step's was
// rolled back) — and returns err; other errors pass through. The refusal
// is recorded even if the caller has gone.
func (s *Program) refused(ctx context.Context, by auth.Principal, err error) error {
	sr, ok := errors.AsType[*stepRefusal](err)
	if !ok {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	reason := fault.MessageOf(sr.err)
	r := sr.rec
	rerr := s.db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO recommendation_steps (recommendation_id, action, from_status, to_status, note, refused, by_actor, recorded_at)
			VALUES ($1, $2, $3, $3, '', $4, $5, $6)`, r.ID, sr.action, string(r.Status), reason, by.ID, tx.Now); err != nil {
			return err
		}
		return s.record(ctx, tx, by, "program.step_refused", r.OwnerComponent, recommendationSubject(r.ID), map[string]any{
			"action": sr.action, "status": string(r.Status), "code": string(fault.CodeOf(sr.err)), "reason": reason,
		}, "")
	})
	if rerr != nil {
		return fault.Wrap(errors.Join(err, rerr), fault.Unavailable, "%s; the refusal could not be recorded, so nothing may proceed until the ledger works again", reason)
	}
	return err
}

func (s *Program) addLink(ctx context.Context, tx *Tx, by auth.Principal, old program.Recommendation, l program.Link) (program.Recommendation, program.Link, error) {
	r, l, err := program.AddLink(by, old, l, tx.Now)
	if err != nil {
		return old, l, err
	}
	err = tx.QueryRow(ctx, `INSERT INTO recommendation_links (recommendation_id, kind, ref, note, added_at, added_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		r.ID, string(l.Kind), l.Ref, l.Note, tx.Now, by.ID).Scan(&l.ID)
	if isUniqueViolation(err) {
		return old, l, programFault(fault.Conflict, "ref", "%s already links %s %s", old.Name(), l.Kind, l.Ref)
	}
	if err != nil {
		return old, l, err
	}
	r.Links[len(r.Links)-1].ID = l.ID
	// The recommendation's version moves too, so that a resolution being
	// decided at the same time on other links is refused.
	if r, err = s.save(ctx, tx, old, r); err != nil {
		return old, l, err
	}
	data := map[string]any{"link_id": l.ID, "kind": string(l.Kind), "ref": l.Ref}
	if l.Note != "" {
		data["note"] = l.Note
	}
	return r, l, s.record(ctx, tx, by, "program.link_added", r.OwnerComponent, recommendationSubject(r.ID), data, "")
}

// AddLink links a policy, control or evidence to a recommendation.
func (s *Program) AddLink(ctx context.Context, by auth.Principal, id int64, l program.Link) (program.Link, error) {
	var out program.Link
	_, err := s.change(ctx, by, id, func(tx *Tx, r program.Recommendation) (program.Recommendation, error) {
		var err error
		r, out, err = s.addLink(ctx, tx, by, r, l)
		return r, err
	})
	return out, err
}

// RemoveLink removes a link from an open recommendation.
func (s *Program) RemoveLink(ctx context.Context, by auth.Principal, id, linkID int64) (program.Link, error) {
	var out program.Link
	_, err := s.change(ctx, by, id, func(tx *Tx, old program.Recommendation) (program.Recommendation, error) {
		r, l, err := program.RemoveLink(by, old, linkID)
		if err != nil {
			return old, err
		}
		out = l
		if _, err := tx.Exec(ctx, `DELETE FROM recommendation_links WHERE id = $1 AND recommendation_id = $2`, linkID, r.ID); err != nil {
			return old, err
		}
		if r, err = s.save(ctx, tx, old, r); err != nil {
			return old, err
		}
		return r, s.record(ctx, tx, by, "program.link_removed", r.OwnerComponent, recommendationSubject(r.ID),
			map[string]any{"link_id": l.ID, "kind": string(l.Kind), "ref": l.Ref}, "")
	})
	return out, err
}

// A ProgramImport counts what an import recorded.
type ProgramImport struct {
	Reports, Recommendations, Links, Resolved, Closed int
}

// Import records the reports of x with their recommendations, links and
// status steps, as by, in one transaction: all of it or, on any error,
// nothing. Each record is checked as if by had entered it through the API
// — the same rules, the same ledger entries — and an error names the place
// in the file that caused it. digest commits the ledger to the file as it
// was received ("" when there is none).
func (s *Program) Import(ctx context.Context, by auth.Principal, x program.Exchange, digest string) (ProgramImport, error) {
	var res ProgramImport
	if len(x.Reports) == 0 {
		return res, fault.New(fault.Invalid, "the file has no reports")
	}
	err := s.db.Update(ctx, func(tx *Tx) error {
		res = ProgramImport{}
		for _, xr := range x.Reports {
			rep := xr.Report
			rep.Normalize()
			rep, err := s.createReport(ctx, tx, by, rep)
			if err != nil {
				return xr.Locate(err)
			}
			res.Reports++
			for _, xrec := range xr.Recommendations {
				if err := s.importRec(ctx, tx, by, rep, xrec, &res); err != nil {
					return err
				}
			}
		}
		return s.record(ctx, tx, by, "program.imported", "", "program/import", map[string]any{
			"format": program.Format, "reports": res.Reports, "recommendations": res.Recommendations, "links": res.Links,
			"resolved": res.Resolved, "closed": res.Closed,
		}, digest)
	})
	if err != nil {
		return ProgramImport{}, err
	}
	return res, nil
}

func (s *Program) importRec(ctx context.Context, tx *Tx, by auth.Principal, rep program.Report, xrec program.ExchangeRecommendation, res *ProgramImport) error {
	r := xrec.Recommendation
	r.ID, r.ReportID, r.Report, r.Status, r.Links, r.History = 0, rep.ID, rep, program.Open, nil, nil
	r.Resolution, r.Closure = program.Step{}, program.Step{}
	r.Normalize()
	err := tx.QueryRow(ctx, `SELECT id FROM people WHERE employee_id = $1`, xrec.Owner).Scan(&r.OwnerID)
	if errors.Is(err, sql.ErrNoRows) {
		return xrec.Locate(programFault(fault.Invalid, "owner", "there is no person with employee ID %q", xrec.Owner))
	}
	if err != nil {
		return err
	}
	if r, err = s.createRec(ctx, tx, by, r, true); err != nil {
		return xrec.Locate(err)
	}
	res.Recommendations++
	for _, xl := range xrec.Links {
		if r, _, err = s.addLink(ctx, tx, by, r, xl.Link); err != nil {
			return xl.Locate(err)
		}
		res.Links++
	}
	if xrec.Status == program.Resolved || xrec.Status == program.Closed {
		if r, err = s.resolve(ctx, tx, by, r, xrec.Resolution); err != nil {
			return xrec.LocateResolution(err)
		}
		res.Resolved++
	}
	if xrec.Status == program.Closed {
		if _, err = s.close(ctx, tx, by, r, xrec.Closure); err != nil {
			return xrec.LocateClosure(err)
		}
		res.Closed++
	}
	return nil
}

// Export returns the reports and the recommendations by may see, as an
// exchange.
func (s *Program) Export(ctx context.Context, by auth.Principal) (program.Exchange, error) {
	reports, err := s.Reports(ctx, by)
	if err != nil {
		return program.Exchange{}, err
	}
	recs, err := s.Recommendations(ctx, by, RecommendationFilter{})
	if err != nil {
		return program.Exchange{}, err
	}
	return program.ExchangeOf(reports, recs), nil
}
