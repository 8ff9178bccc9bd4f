package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
)

// Cases is the store of cases: the purpose every query of location data
// serves. Every change is authorized against the acting principal within
// the case's component, checked against the case rules, and recorded in
// the ledger in the same transaction, under the subject case/NUMBER.
//
// Who may do what:
//   - a supervisor (cases.manage) opens their component's cases, adds and
//     removes members, records legal process, suspends, reopens and closes
//     them, and sets and releases evidence holds: a hold is a legal
//     matter, decided by whoever manages the case;
//   - privacy officers and auditors (cases.read) read the cases of their
//     components, or of all;
//   - anyone else sees only the cases they are a member of: an analyst
//     needs no permission for that;
//   - an administrator sees none (separation of duties).
//
// A case nobody may see does not exist for them: they get "there is no
// case", never a refusal that confirms it.
type Cases struct {
	db *DB
}

// Cases returns the case store over db.
func (db *DB) Cases() *Cases { return &Cases{db: db} }

func caseSubject(number string) string { return "case/" + number }

func (s *Cases) record(ctx context.Context, tx *Tx, by auth.Principal, typ string, c cases.Case, data map[string]any, digest string) error {
	if s.db.ledger == nil {
		return fault.New(fault.Internal, "the ledger is not open")
	}
	_, err := s.db.ledger.Append(ctx, tx, ledger.Event{Type: typ, Actor: by.Actor(), Component: c.Component, Subject: caseSubject(c.Number), Data: data, Digest: digest})
	return err
}

// caseCols returns the columns scanCase reads, of the table alias prefix
// ("" or "c.").
func caseCols(prefix string) string {
	return strings.NewReplacer("$.", prefix).Replace(`$.id, $.number, $.title, $.legal_authority, $.predicate, $.status, $.status_reason, $.component, COALESCE($.unit_id, 0),
	$.evidence_hold, $.hold_reason, $.hold_changed_at, $.hold_changed_by, $.created_by, $.created_at, $.updated_at, $.closed_at`)
}

var caseColumns = caseCols("")

func scanCase(sc scanner) (cases.Case, error) {
	var c cases.Case
	var held, closed sql.NullTime
	err := sc.Scan(&c.ID, &c.Number, &c.Title, &c.LegalAuthority, &c.Predicate, &c.Status, &c.StatusReason, &c.Component, &c.UnitID,
		&c.EvidenceHold, &c.HoldReason, &held, &c.HoldChangedBy, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt, &closed)
	c.HoldChangedAt, c.ClosedAt = held.Time, closed.Time
	return c, err
}

func notFoundCase(number string) error {
	return fault.New(fault.NotFound, "there is no case %s", number)
}

// canSee reports whether by may see c: with cases.read in its component,
// or as one of its members.
func canSee(by auth.Principal, c cases.Case) bool {
	return by.CanIn(auth.CasesRead, c.Component) || c.IsMember(by.PersonID)
}

// caseParts are what loadParts reads besides the case's row.
type caseParts int

const (
	withHistory caseParts = 1 << iota
)

// loadParts reads the case's current members and its legal process, and
// with withHistory its changes of status, in tx.
func loadParts(ctx context.Context, tx *Tx, c *cases.Case, parts caseParts) error {
	all := map[int64]*cases.Case{c.ID: c}
	if err := loadMembers(ctx, tx, all, `= $1`, c.ID); err != nil {
		return err
	}
	if err := loadLegalProcess(ctx, tx, all, `= $1`, c.ID); err != nil {
		return err
	}
	if parts&withHistory == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT from_status, to_status, reason, changed_by, changed_at FROM case_status_history WHERE case_id = $1 ORDER BY id`, c.ID)
	c.History, err = scanAll(rows, err, func(sc scanner) (cases.StatusChange, error) {
		var h cases.StatusChange
		err := sc.Scan(&h.From, &h.To, &h.Reason, &h.By, &h.At)
		return h, err
	})
	if err != nil {
		return fmt.Errorf("read the history of case %s: %w", c.Number, err)
	}
	return nil
}

// loadMembers appends their current members to the cases of all whose ID
// matches cond ("= $1", "IN (…)") with args.
func loadMembers(ctx context.Context, tx *Tx, all map[int64]*cases.Case, cond string, args ...any) error {
	rows, err := tx.Query(ctx, `SELECT m.case_id, m.person_id, p.employee_id, p.name, m.added_at, m.added_by
		FROM case_members m JOIN people p ON p.id = m.person_id
		WHERE m.removed_at IS NULL AND m.case_id `+cond+` ORDER BY m.case_id, p.employee_id`, args...)
	if err != nil {
		return fmt.Errorf("read case members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var m cases.Member
		if err := rows.Scan(&id, &m.PersonID, &m.EmployeeID, &m.Name, &m.AddedAt, &m.AddedBy); err != nil {
			return fmt.Errorf("read case members: %w", err)
		}
		if c := all[id]; c != nil {
			c.Members = append(c.Members, m)
		}
	}
	return rows.Err()
}

// loadLegalProcess appends their legal process to the cases of all whose
// ID matches cond with args.
func loadLegalProcess(ctx context.Context, tx *Tx, all map[int64]*cases.Case, cond string, args ...any) error {
	rows, err := tx.Query(ctx, `SELECT case_id, kind, reference, issued_on, COALESCE(expires_on, ''), added_at, added_by
		FROM case_legal_process WHERE case_id `+cond+` ORDER BY case_id, issued_on, id`, args...)
	if err != nil {
		return fmt.Errorf("read case legal process: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var lp cases.LegalProcess
		var issued, expires string
		if err := rows.Scan(&id, &lp.Kind, &lp.Reference, &issued, &expires, &lp.AddedAt, &lp.AddedBy); err != nil {
			return fmt.Errorf("read case legal process: %w", err)
		}
		if lp.IssuedOn, err = time.Parse(time.DateOnly, issued); err != nil {
			return fmt.Errorf("case %d: legal process %q: issued_on: %w", id, lp.Reference, err)
		}
		if expires != "" {
			if lp.ExpiresOn, err = time.Parse(time.DateOnly, expires); err != nil {
				return fmt.Errorf("case %d: legal process %q: expires_on: %w", id, lp.Reference, err)
			}
		}
		if c := all[id]; c != nil {
			c.LegalProcess = append(c.LegalProcess, lp)
		}
	}
	return rows.Err()
}

// caseBy reads the case whose column (number or id) is key in tx, with
// its members and legal process; lock locks its row against changes
// (FOR UPDATE) or, with share, only against other changes (FOR SHARE), on
// PostgreSQL.
func caseBy(ctx context.Context, tx *Tx, column string, key any, lock string, parts caseParts) (cases.Case, error) {
	q := `SELECT ` + caseColumns + ` FROM cases WHERE ` + column + ` = $1`
	if tx.Dialect() == Postgres {
		q += lock
	}
	c, err := scanCase(tx.QueryRow(ctx, q, key))
	if err != nil {
		return c, err
	}
	return c, loadParts(ctx, tx, &c, parts)
}

const (
	noLock    = ""
	lockRow   = " FOR UPDATE"
	shareLock = " FOR SHARE"
)

// get returns the case with a number, if by may see it.
func (s *Cases) get(ctx context.Context, tx *Tx, by auth.Principal, number, lock string, parts caseParts) (cases.Case, error) {
	c, err := caseBy(ctx, tx, "number", number, lock, parts)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !canSee(by, c)) {
		return cases.Case{}, notFoundCase(number)
	}
	if err != nil {
		return cases.Case{}, fmt.Errorf("read case %s: %w", number, err)
	}
	return c, nil
}

// forChange returns the case with a number, locked, if by may manage it.
func (s *Cases) forChange(ctx context.Context, tx *Tx, by auth.Principal, number string) (cases.Case, error) {
	c, err := s.get(ctx, tx, by, number, lockRow, 0)
	if err != nil {
		return c, err
	}
	if !by.CanIn(auth.CasesManage, c.Component) {
		return c, fault.New(fault.Forbidden, "your role does not allow managing the cases of %s: a supervisor of the component manages them", c.Component)
	}
	return c, nil
}

// touch records that c changed at tx.Now.
func touch(ctx context.Context, tx *Tx, c *cases.Case) error {
	c.UpdatedAt = tx.Now
	_, err := tx.Exec(ctx, `UPDATE cases SET updated_at = $1 WHERE id = $2`, tx.Now, c.ID)
	return err
}

// errCaseClosed refuses a change of a closed case.
func errCaseClosed(c cases.Case, what string) error {
	return fault.New(fault.Conflict, "case %s is closed: %s (only an evidence hold may still be set or released)", c.Number, what)
}

// Create opens a case, with its first members and legal process if any,
// each recorded in the ledger after the case.opened entry. The case's
// predicate is recorded by digest only.
func (s *Cases) Create(ctx context.Context, by auth.Principal, c cases.Case) (cases.Case, error) {
	c.Normalize()
	if err := c.Validate(s.db.now()); err != nil {
		return c, err
	}
	if !by.CanIn(auth.CasesManage, c.Component) {
		return c, fault.New(fault.Forbidden, "your role does not allow opening cases in %s: a supervisor of the component opens them", c.Component)
	}
	members, process := c.Members, c.LegalProcess
	err := s.db.Update(ctx, func(tx *Tx) error {
		if c.UnitID != 0 {
			var comp string
			err := tx.QueryRow(ctx, `SELECT component FROM units WHERE id = $1`, c.UnitID).Scan(&comp)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return cases.Errors{{Field: "unit_id", Message: fmt.Sprintf("there is no unit %d", c.UnitID)}}.Err("the case is not valid")
			case err != nil:
				return err
			case comp != c.Component:
				return cases.Errors{{Field: "unit_id", Message: fmt.Sprintf("unit %d belongs to %s, not %s", c.UnitID, comp, c.Component)}}.Err("the case is not valid")
			}
		}
		c.ID, c.Status, c.StatusReason, c.EvidenceHold, c.HoldReason, c.HoldChangedAt, c.HoldChangedBy = 0, cases.Open, "", false, "", time.Time{}, ""
		c.Members, c.LegalProcess, c.History, c.ClosedAt = nil, nil, nil, time.Time{}
		c.CreatedBy, c.CreatedAt, c.UpdatedAt = by.ID, tx.Now, tx.Now
		err := tx.QueryRow(ctx, `INSERT INTO cases (number, title, legal_authority, predicate, status, component, unit_id, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
			c.Number, c.Title, c.LegalAuthority, c.Predicate, string(c.Status), c.Component, nullInt(c.UnitID), c.CreatedBy, tx.Now).Scan(&c.ID)
		switch {
		case isUniqueViolation(err):
			return fault.New(fault.Conflict, "case %s already exists", c.Number)
		case isForeignKeyViolation(err):
			return fault.New(fault.NotFound, "there is no component %s", c.Component)
		case err != nil:
			return err
		}
		if err := addHistory(ctx, tx, by, c, "", cases.Open, ""); err != nil {
			return err
		}
		if err := s.record(ctx, tx, by, "case.opened", c, map[string]any{
			"number": c.Number, "title": c.Title, "legal_authority": c.LegalAuthority, "unit_id": c.UnitID,
		}, ledger.PayloadDigest([]byte(c.Predicate))); err != nil {
			return err
		}
		for _, m := range members {
			if err := s.addMember(ctx, tx, by, &c, m.EmployeeID); err != nil {
				return err
			}
		}
		for _, lp := range process {
			if err := s.addLegalProcess(ctx, tx, by, &c, lp); err != nil {
				return err
			}
		}
		c.History = []cases.StatusChange{{To: cases.Open, By: by.ID, At: tx.Now}}
		return nil
	})
	if err != nil {
		return cases.Case{}, err
	}
	return c, nil
}

func addHistory(ctx context.Context, tx *Tx, by auth.Principal, c cases.Case, from, to cases.Status, reason string) error {
	_, err := tx.Exec(ctx, `INSERT INTO case_status_history (case_id, from_status, to_status, reason, changed_by, changed_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, string(from), string(to), reason, by.ID, tx.Now)
	return err
}

// addMember adds the person with an employee ID to c in tx: an active
// person of c's component holding the analyst or supervisor role there,
// other than by.
func (s *Cases) addMember(ctx context.Context, tx *Tx, by auth.Principal, c *cases.Case, employeeID string) error {
	var m cases.Member
	var comp sql.NullString
	var status string
	err := tx.QueryRow(ctx, `SELECT id, employee_id, name, component, status FROM people WHERE employee_id = $1`, employeeID).Scan(&m.PersonID, &m.EmployeeID, &m.Name, &comp, &status)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && comp.String != c.Component):
		// People of other components do not exist for a component's
		// supervisor.
		return fault.New(fault.NotFound, "there is no person %q in %s", employeeID, c.Component)
	case err != nil:
		return fmt.Errorf("read person %q: %w", employeeID, err)
	case m.PersonID == by.PersonID:
		return fault.New(fault.Forbidden, "nobody adds themselves to a case: another supervisor of %s must add you to case %s", c.Component, c.Number)
	case status != "active":
		return fault.New(fault.Invalid, "%s (%s) cannot be a member of case %s: their account is %s, and only people with active accounts may be members", m.Name, m.EmployeeID, c.Number, status)
	case c.IsMember(m.PersonID):
		return fault.New(fault.Conflict, "%s (%s) is already a member of case %s", m.Name, m.EmployeeID, c.Number)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM grants WHERE person_id = $1 AND status = 'active' AND role IN ($2, $3) AND (component = $4 OR component = '')`,
		m.PersonID, string(auth.Analyst), string(auth.Supervisor), c.Component).Scan(&n); err != nil {
		return fmt.Errorf("read the roles of %q: %w", employeeID, err)
	}
	if n == 0 {
		return fault.New(fault.Invalid, "%s (%s) cannot be a member of case %s: members hold the analyst or the supervisor role in %s", m.Name, m.EmployeeID, c.Number, c.Component)
	}
	if len(c.Members) >= cases.MaxMembers {
		return fault.New(fault.Conflict, "case %s has %d members, the most a case may have", c.Number, len(c.Members))
	}
	m.AddedAt, m.AddedBy = tx.Now, by.ID
	_, err = tx.Exec(ctx, `INSERT INTO case_members (case_id, person_id, added_at, added_by) VALUES ($1, $2, $3, $4)`, c.ID, m.PersonID, tx.Now, by.ID)
	if isUniqueViolation(err) {
		return fault.New(fault.Conflict, "%s (%s) is already a member of case %s", m.Name, m.EmployeeID, c.Number)
	}
	if err != nil {
		return err
	}
	c.Members = append(c.Members, m)
	slices.SortFunc(c.Members, func(a, b cases.Member) int { return strings.Compare(a.EmployeeID, b.EmployeeID) })
	return s.record(ctx, tx, by, "case.member_added", *c, map[string]any{"person_id": m.PersonID, "employee_id": m.EmployeeID}, "")
}

// addLegalProcess records legal process for c in tx.
func (s *Cases) addLegalProcess(ctx context.Context, tx *Tx, by auth.Principal, c *cases.Case, lp cases.LegalProcess) error {
	if slices.ContainsFunc(c.LegalProcess, func(x cases.LegalProcess) bool { return x.Reference == lp.Reference }) {
		return fault.New(fault.Conflict, "case %s already has legal process %q", c.Number, lp.Reference)
	}
	if len(c.LegalProcess) >= cases.MaxLegalProcess {
		return fault.New(fault.Conflict, "case %s has %d pieces of legal process, the most a case may have", c.Number, len(c.LegalProcess))
	}
	lp.AddedAt, lp.AddedBy = tx.Now, by.ID
	var expires any
	if !lp.ExpiresOn.IsZero() {
		expires = lp.ExpiresOn.Format(time.DateOnly)
	}
	_, err := tx.Exec(ctx, `INSERT INTO case_legal_process (case_id, kind, reference, issued_on, expires_on, added_at, added_by) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		c.ID, string(lp.Kind), lp.Reference, lp.IssuedOn.Format(time.DateOnly), expires, tx.Now, by.ID)
	if isUniqueViolation(err) {
		return fault.New(fault.Conflict, "case %s already has legal process %q", c.Number, lp.Reference)
	}
	if err != nil {
		return err
	}
	c.LegalProcess = append(c.LegalProcess, lp)
	slices.SortStableFunc(c.LegalProcess, func(a, b cases.LegalProcess) int { return a.IssuedOn.Compare(b.IssuedOn) })
	return s.record(ctx, tx, by, "case.legal_process_added", *c, map[string]any{
		"kind": string(lp.Kind), "reference": lp.Reference, "issued_on": lp.IssuedOn.Format(time.DateOnly), "expires_on": dateOnly(lp.ExpiresOn),
	}, "")
}

// Get returns the case with a number, with its history, if by may see it.
func (s *Cases) Get(ctx context.Context, by auth.Principal, number string) (cases.Case, error) {
	number, err := cases.ParseNumber(number)
	if err != nil {
		return cases.Case{}, err
	}
	return viewOne(ctx, s.db, func(tx *Tx) (cases.Case, error) {
		return s.get(ctx, tx, by, number, noLock, withHistory)
	})
}

// A CaseFilter selects cases to list; zero fields select all.
type CaseFilter struct {
	Component string
	Status    cases.Status
	// Member is the employee ID of a current member.
	Member string
	// Limit is the most cases listed: 1,000 when 0 or more.
	Limit int
}

// List lists the cases by may see that match f, by number, with their
// members and legal process (not their history), from one snapshot.
func (s *Cases) List(ctx context.Context, by auth.Principal, f CaseFilter) ([]cases.Case, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, fault.New(fault.Invalid, "a case's status is open, suspended or closed, not %q", f.Status)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 1000
	}
	var w where
	comps, all := by.Components(auth.CasesRead)
	if !all {
		mine := "1 = 0"
		if by.PersonID != 0 {
			mine = "c.id IN (SELECT case_id FROM case_members WHERE removed_at IS NULL AND person_id = " + w.arg(by.PersonID) + ")"
		}
		w.add("(" + w.in("c.component", comps) + " OR " + mine + ")")
	}
	if f.Component != "" {
		w.eq("c.component", f.Component)
	}
	if f.Status != "" {
		w.eq("c.status", string(f.Status))
	}
	if f.Member != "" {
		w.add(`c.id IN (SELECT m.case_id FROM case_members m JOIN people p ON p.id = m.person_id WHERE m.removed_at IS NULL AND p.employee_id = ` + w.arg(f.Member) + `)`)
	}
	out := []cases.Case{}
	err := s.db.View(ctx, func(tx *Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+caseCols("c.")+` FROM cases c`+w.String()+` ORDER BY c.number LIMIT `+w.arg(f.Limit), w.args...)
		if out, err = scanAll(rows, err, scanCase); err != nil {
			return fmt.Errorf("list cases: %w", err)
		}
		if len(out) == 0 {
			return nil
		}
		byID := make(map[int64]*cases.Case, len(out))
		ids := make([]any, len(out))
		ph := make([]string, len(out))
		for i := range out {
			byID[out[i].ID] = &out[i]
			ids[i], ph[i] = out[i].ID, fmt.Sprintf("$%d", i+1)
		}
		in := "IN (" + strings.Join(ph, ",") + ")"
		if err := loadMembers(ctx, tx, byID, in, ids...); err != nil {
			return err
		}
		return loadLegalProcess(ctx, tx, byID, in, ids...)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AddMember adds the person with an employee ID to a case: an active
// person of the case's component who holds the analyst or supervisor role
// there. Nobody adds themselves, so a supervisor who is to work a case is
// added by another. A closed case's members no longer change.
func (s *Cases) AddMember(ctx context.Context, by auth.Principal, number, employeeID string) (cases.Case, error) {
	number, err := cases.ParseNumber(number)
	if err != nil {
		return cases.Case{}, err
	}
	employeeID = strings.TrimSpace(employeeID)
	if employeeID == "" {
		return cases.Case{}, cases.Errors{{Field: "employee_id", Message: "name the person to add by their employee ID"}}.Err("the request is not valid")
	}
	var c cases.Case
	err = s.db.Update(ctx, func(tx *Tx) error {
		var err error
		if c, err = s.forChange(ctx, tx, by, number); err != nil {
			return err
		}
		if c.Status == cases.Closed {
			return errCaseClosed(c, "its members no longer change")
		}
		if err := s.addMember(ctx, tx, by, &c, employeeID); err != nil {
			return err
		}
		return touch(ctx, tx, &c)
	})
	if err != nil {
		return cases.Case{}, err
	}
	return c, nil
}

// RemoveMember removes a member from a case; their membership stays in
// the case's records, with when and by whom it ended.
func (s *Cases) RemoveMember(ctx context.Context, by auth.Principal, number, employeeID string) (cases.Case, error) {
	number, err := cases.ParseNumber(number)
	if err != nil {
		return cases.Case{}, err
	}
	employeeID = strings.TrimSpace(employeeID)
	var c cases.Case
	err = s.db.Update(ctx, func(tx *Tx) error {
		var err error
		if c, err = s.forChange(ctx, tx, by, number); err != nil {
			return err
		}
		if c.Status == cases.Closed {
			return errCaseClosed(c, "its members no longer change")
		}
		m, ok := c.Member(employeeID)
		if !ok {
			return fault.New(fault.NotFound, "%q is not a member of case %s", employeeID, c.Number)
		}
		if _, err := tx.Exec(ctx, `UPDATE case_members SET removed_at = $1, removed_by = $2 WHERE case_id = $3 AND person_id = $4 AND removed_at IS NULL`,
			tx.Now, by.ID, c.ID, m.PersonID); err != nil {
			return err
		}
		c.Members = slices.DeleteFunc(c.Members, func(x cases.Member) bool { return x.PersonID == m.PersonID })
		if err := touch(ctx, tx, &c); err != nil {
			return err
		}
		return s.record(ctx, tx, by, "case.member_removed", c, map[string]any{"person_id": m.PersonID, "employee_id": m.EmployeeID}, "")
	})
	if err != nil {
		return cases.Case{}, err
	}
	return c, nil
}

// SetStatus suspends, reopens or closes a case, for a reason:
// open ↔ suspended, open or suspended → closed, and closed is final.
// Closing records when, which starts the grace period after which the
// case's results are purged unless an evidence hold keeps them.
func (s *Cases) SetStatus(ctx context.Context, by auth.Principal, number string, to cases.Status, reason string) (cases.Case, error) {
	number, err := cases.ParseNumber(number)
	if err != nil {
		return cases.Case{}, err
	}
	reason = strings.TrimSpace(reason)
	if err := cases.ValidateReason(reason); err != nil {
		return cases.Case{}, err
	}
	if !to.Valid() {
		return cases.Case{}, cases.Case{Number: number}.CheckTransition(to)
	}
	var c cases.Case
	err = s.db.Update(ctx, func(tx *Tx) error {
		var err error
		if c, err = s.forChange(ctx, tx, by, number); err != nil {
			return err
		}
		from := c.Status
		if err := c.CheckTransition(to); err != nil {
			return err
		}
		c.Status, c.StatusReason, c.UpdatedAt = to, reason, tx.Now
		if to == cases.Closed {
			c.ClosedAt = tx.Now
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET status = $1, status_reason = $2, closed_at = $3, updated_at = $4 WHERE id = $5`,
			string(to), reason, nullTime(c.ClosedAt), tx.Now, c.ID); err != nil {
			return err
		}
		if err := addHistory(ctx, tx, by, c, from, to, reason); err != nil {
			return err
		}
		return s.record(ctx, tx, by, cases.TransitionEvent(to), c, map[string]any{"from": string(from), "to": string(to), "reason": reason}, "")
	})
	if err != nil {
		return cases.Case{}, err
	}
	return c, nil
}

// AddLegalProcess records a warrant, court order or subpoena obtained for
// an open or suspended case. Its reference is unique within the case.
func (s *Cases) AddLegalProcess(ctx context.Context, by auth.Principal, number string, lp cases.LegalProcess) (cases.Case, error) {
	number, err := cases.ParseNumber(number)
	if err != nil {
		return cases.Case{}, err
	}
	lp.Normalize()
	if err := lp.Validate("", s.db.now()).Err("the legal process is not valid"); err != nil {
		return cases.Case{}, err
	}
	var c cases.Case
	err = s.db.Update(ctx, func(tx *Tx) error {
		var err error
		if c, err = s.forChange(ctx, tx, by, number); err != nil {
			return err
		}
		if c.Status == cases.Closed {
			return errCaseClosed(c, "no legal process is added to it")
		}
		if err := s.addLegalProcess(ctx, tx, by, &c, lp); err != nil {
			return err
		}
		return touch(ctx, tx, &c)
	})
	if err != nil {
		return cases.Case{}, err
	}
	return c, nil
}

// SetEvidenceHold sets (hold) or releases an evidence hold on a case, for
// a reason. A hold keeps the case's results past the retention schedule,
// and past the grace period once the case is closed; it may be set or
// released whatever the case's status.
func (s *Cases) SetEvidenceHold(ctx context.Context, by auth.Principal, number string, hold bool, reason string) (cases.Case, error) {
	number, err := cases.ParseNumber(number)
	if err != nil {
		return cases.Case{}, err
	}
	reason = strings.TrimSpace(reason)
	if err := cases.ValidateReason(reason); err != nil {
		return cases.Case{}, err
	}
	var c cases.Case
	err = s.db.Update(ctx, func(tx *Tx) error {
		var err error
		if c, err = s.forChange(ctx, tx, by, number); err != nil {
			return err
		}
		switch {
		case hold && c.EvidenceHold:
			return fault.New(fault.Conflict, "case %s is already on evidence hold", c.Number)
		case !hold && !c.EvidenceHold:
			return fault.New(fault.Conflict, "case %s has no evidence hold to release", c.Number)
		}
		c.EvidenceHold, c.HoldReason, c.HoldChangedAt, c.HoldChangedBy, c.UpdatedAt = hold, reason, tx.Now, by.ID, tx.Now
		if _, err := tx.Exec(ctx, `UPDATE cases SET evidence_hold = $1, hold_reason = $2, hold_changed_at = $3, hold_changed_by = $4, updated_at = $3 WHERE id = $5`,
			hold, reason, tx.Now, by.ID, c.ID); err != nil {
			return err
		}
		typ := "case.evidence_hold_released"
		if hold {
			typ = "case.evidence_hold_set"
		}
		return s.record(ctx, tx, by, typ, c, map[string]any{"reason": reason, "status": string(c.Status)}, "")
	})
	if err != nil {
		return cases.Case{}, err
	}
	return c, nil
}

// ForQuery returns the case with a number, with its members (their
// employee IDs filled) and its legal process, inside the caller's
// transaction and without authorization: the query path authorizes the
// person through the policy engine. On PostgreSQL it share-locks the case
// until tx ends, so tx must be read-write: a change of the case (a
// closure, a member removed) waits for the query it let through, or is
// seen by it.
func (s *Cases) ForQuery(ctx context.Context, tx *Tx, number string) (cases.Case, error) {
	number, err := cases.ParseNumber(number)
	if err != nil {
		return cases.Case{}, err
	}
	c, err := caseBy(ctx, tx, "number", number, shareLock, 0)
	if errors.Is(err, sql.ErrNoRows) {
		return cases.Case{}, notFoundCase(number)
	}
	if err != nil {
		return cases.Case{}, fmt.Errorf("read case %s: %w", number, err)
	}
	return c, nil
}

// ByID returns the case with an ID, with its members and legal process,
// inside the caller's transaction, without authorization and without
// locking it: for the query path's reviews and retention.
func (s *Cases) ByID(ctx context.Context, tx *Tx, id int64) (cases.Case, error) {
	c, err := caseBy(ctx, tx, "id", id, noLock, 0)
	if errors.Is(err, sql.ErrNoRows) {
		return cases.Case{}, fault.New(fault.NotFound, "there is no case %d", id)
	}
	if err != nil {
		return cases.Case{}, fmt.Errorf("read case %d: %w", id, err)
	}
	return c, nil
}
