package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
)

// Identity is the store of the organization, its people, their roles and
// credentials. Every change is authorized against the acting principal,
// checked against the identity rules, and recorded in the ledger in the
// same transaction.
type Identity struct {
	db *DB
}

// Identity returns the identity store over db.
func (db *DB) Identity() *Identity { return &Identity{db: db} }

// record appends an identity event in tx.
func (s *Identity) record(ctx context.Context, tx *Tx, by ledger.Actor, typ, component, subject string, data map[string]any) error {
	if s.db.ledger == nil {
		return fault.New(fault.Internal, "the ledger is not open")
	}
	_, err := s.db.ledger.Append(ctx, tx, ledger.Event{Type: typ, Actor: by, Component: component, Subject: subject, Data: data})
	return err
}

// SystemActor is the actor of Probity's own scheduled work.
var SystemActor = ledger.Actor{Kind: ledger.ActorSystem, ID: "probity"}

func personSubject(id int64) string { return fmt.Sprintf("person/%d", id) }

// CreateComponent adds a component to the department.
func (s *Identity) CreateComponent(ctx context.Context, by auth.Principal, c identity.Component) error {
	if !by.Can(auth.PeopleManage) {
		return fault.New(fault.Forbidden, "only an administrator adds components")
	}
	if err := c.Validate(); err != nil {
		return err
	}
	return s.db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO components (code, name, created_at) VALUES ($1, $2, $3)`, c.Code, c.Name, tx.Now); err != nil {
			if isUniqueViolation(err) {
				return fault.New(fault.Conflict, "component %s already exists", c.Code)
			}
			return err
		}
		return s.record(ctx, tx, by.Actor(), "identity.component_created", c.Code, "component/"+c.Code, map[string]any{"name": c.Name})
	})
}

// Components lists the components.
func (s *Identity) Components(ctx context.Context) ([]identity.Component, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT code, name FROM components ORDER BY code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Component
	for rows.Next() {
		var c identity.Component
		if err := rows.Scan(&c.Code, &c.Name); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreateUnit adds a unit to a component.
func (s *Identity) CreateUnit(ctx context.Context, by auth.Principal, u identity.Unit) (identity.Unit, error) {
	if !by.Can(auth.PeopleManage) {
		return u, fault.New(fault.Forbidden, "only an administrator adds units")
	}
	if err := u.Validate(); err != nil {
		return u, err
	}
	err := s.db.Update(ctx, func(tx *Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO units (component, name, created_at) VALUES ($1, $2, $3) RETURNING id`, u.Component, u.Name, tx.Now).Scan(&u.ID); err != nil {
			switch {
			case isUniqueViolation(err):
				return fault.New(fault.Conflict, "%s already has a unit named %q", u.Component, u.Name)
			case isForeignKeyViolation(err):
				return fault.New(fault.NotFound, "there is no component %s", u.Component)
			}
			return err
		}
		return s.record(ctx, tx, by.Actor(), "identity.unit_created", u.Component, fmt.Sprintf("unit/%d", u.ID), map[string]any{"name": u.Name})
	})
	return u, err
}

// Units lists the units, of one component or all.
func (s *Identity) Units(ctx context.Context, component string) ([]identity.Unit, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, component, name FROM units WHERE $1 = '' OR component = $1 ORDER BY component, name`, component)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Unit
	for rows.Next() {
		var u identity.Unit
		if err := rows.Scan(&u.ID, &u.Component, &u.Name); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// personCols returns the columns scanPerson reads, of the table alias
// prefix ("" or "p.").
func personCols(prefix string) string {
	return strings.NewReplacer("$.", prefix).Replace(`$.id, $.employee_id, $.name, $.email, COALESCE($.component, ''), COALESCE($.unit_id, 0), COALESCE($.supervisor_id, 0),
	$.schedule, $.status, $.status_reason, COALESCE($.piv_subject, ''), COALESCE($.piv_upn, ''), $.last_sign_in, $.created_at`)
}

var personColumns = personCols("")

type scanner interface{ Scan(dest ...any) error }

func scanPerson(sc scanner) (identity.Person, error) {
	var p identity.Person
	var sched string
	var last sql.NullTime
	if err := sc.Scan(&p.ID, &p.EmployeeID, &p.Name, &p.Email, &p.Component, &p.UnitID, &p.SupervisorID,
		&sched, &p.Status, &p.StatusReason, &p.PIVSubject, &p.PIVUPN, &last, &p.CreatedAt); err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(sched), &p.Schedule); err != nil {
		return p, fmt.Errorf("person %d: schedule: %w", p.ID, err)
	}
	p.LastSignIn = last.Time
	return p, nil
}

// ErrPersonNotFound reports a person who does not exist.
var ErrPersonNotFound = errors.New("person not found")

func notFoundPerson(id int64) error {
	return fault.Wrap(ErrPersonNotFound, fault.NotFound, "there is no person %d", id)
}

// person reads a person in tx (or the read pool when tx is nil).
func (s *Identity) person(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id int64) (identity.Person, error) {
	p, err := scanPerson(q.QueryRowContext(ctx, `SELECT `+personColumns+` FROM people WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, notFoundPerson(id)
	}
	return p, err
}

type txQueryer struct{ tx *Tx }

func (t txQueryer) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRow(ctx, q, args...)
}

func (t txQueryer) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.Query(ctx, q, args...)
}

// Person returns a person, if by may see them: people who can read the
// organization see it within their components; everyone sees themselves.
func (s *Identity) Person(ctx context.Context, by auth.Principal, id int64) (identity.Person, error) {
	p, err := s.person(ctx, s.db.read, id)
	if err != nil {
		return p, err
	}
	if by.PersonID != id && !by.CanIn(auth.PeopleRead, p.Component) {
		return identity.Person{}, notFoundPerson(id) // do not reveal who exists elsewhere
	}
	return p, nil
}

// PersonByEmployeeID returns the person with an employee ID, for
// authentication; it does no authorization.
func (s *Identity) PersonByEmployeeID(ctx context.Context, employeeID string) (identity.Person, error) {
	p, err := scanPerson(s.db.read.QueryRowContext(ctx, `SELECT `+personColumns+` FROM people WHERE employee_id = $1 OR email = $1`, employeeID))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fault.Wrap(ErrPersonNotFound, fault.NotFound, "no such person")
	}
	return p, err
}

// PersonByCertificate returns the person a PIV certificate maps to, by UPN
// first, then subject; it does no authorization.
func (s *Identity) PersonByCertificate(ctx context.Context, upn, subject string) (identity.Person, error) {
	var p identity.Person
	var err error = sql.ErrNoRows
	if upn != "" {
		p, err = scanPerson(s.db.read.QueryRowContext(ctx, `SELECT `+personColumns+` FROM people WHERE piv_upn = $1`, upn))
	}
	if errors.Is(err, sql.ErrNoRows) && subject != "" {
		p, err = scanPerson(s.db.read.QueryRowContext(ctx, `SELECT `+personColumns+` FROM people WHERE piv_subject = $1`, subject))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return p, fault.Wrap(ErrPersonNotFound, fault.NotFound, "no such person")
	}
	return p, err
}

// A PeopleFilter selects people to list.
type PeopleFilter struct {
	Component    string
	SupervisorID int64
	Status       identity.Status
	Query        string // part of a name, email or employee ID
	Limit        int
}

// People lists the people by may see, matching f.
func (s *Identity) People(ctx context.Context, by auth.Principal, f PeopleFilter) ([]identity.Person, error) {
	comps, all := by.Components(auth.PeopleRead)
	if !all && len(comps) == 0 {
		return nil, fault.New(fault.Forbidden, "your role does not allow seeing the organization")
	}
	if f.Limit <= 0 || f.Limit > 5000 {
		f.Limit = 5000
	}
	var w where
	if !all {
		w.add(w.in("component", comps))
	}
	if f.Component != "" {
		w.eq("component", f.Component)
	}
	if f.SupervisorID != 0 {
		w.eq("supervisor_id", f.SupervisorID)
	}
	if f.Status != "" {
		w.eq("status", string(f.Status))
	}
	if f.Query != "" {
		a := w.arg("%" + strings.ToLower(f.Query) + "%")
		w.add("(LOWER(name) LIKE " + a + " OR LOWER(email) LIKE " + a + " OR LOWER(employee_id) LIKE " + a + ")")
	}
	q := `SELECT ` + personColumns + ` FROM people` + w.String() + " ORDER BY name, id LIMIT " + w.arg(f.Limit)
	rows, err := s.db.read.QueryContext(ctx, q, w.args...)
	return scanAll(rows, err, scanPerson)
}

// chainInTx answers supervisor questions from the database inside tx.
type chainInTx struct {
	ctx context.Context
	tx  *Tx
	err error
}

func (c *chainInTx) Supervisor(id int64) int64 {
	var sup sql.NullInt64
	if err := c.tx.QueryRow(c.ctx, `SELECT supervisor_id FROM people WHERE id = $1`, id).Scan(&sup); err != nil && !errors.Is(err, sql.ErrNoRows) {
		c.err = err
	}
	return sup.Int64
}

// Chain returns a chain reader over the read pool.
func (s *Identity) Chain(ctx context.Context) identity.Chain {
	return chainFunc(func(id int64) int64 {
		var sup sql.NullInt64
		s.db.read.QueryRowContext(ctx, `SELECT supervisor_id FROM people WHERE id = $1`, id).Scan(&sup)
		return sup.Int64
	})
}

type chainFunc func(int64) int64

func (f chainFunc) Supervisor(id int64) int64 { return f(id) }

func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// checkPlacement checks a person's component, unit and supervisor in tx.
func (s *Identity) checkPlacement(ctx context.Context, tx *Tx, p identity.Person) error {
	if p.Component != "" {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM components WHERE code = $1`, p.Component).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fault.New(fault.Invalid, "there is no component %s", p.Component)
		}
	}
	if p.UnitID != 0 {
		var comp string
		err := tx.QueryRow(ctx, `SELECT component FROM units WHERE id = $1`, p.UnitID).Scan(&comp)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.New(fault.Invalid, "there is no unit %d", p.UnitID)
		}
		if err != nil {
			return err
		}
		if comp != p.Component {
			return fault.New(fault.Invalid, "unit %d belongs to %s, not %s", p.UnitID, comp, orDepartment(p.Component))
		}
	}
	if p.SupervisorID != 0 {
		sup, err := s.person(ctx, txQueryer{tx}, p.SupervisorID)
		if err != nil {
			return fault.New(fault.Invalid, "there is no person %d to be the supervisor", p.SupervisorID)
		}
		if sup.Component != "" && sup.Component != p.Component {
			return fault.New(fault.Invalid, "a supervisor in %s cannot supervise someone in %s", sup.Component, orDepartment(p.Component))
		}
		if p.ID != 0 {
			c := &chainInTx{ctx: ctx, tx: tx}
			if err := identity.CheckSupervisor(c, p.ID, p.SupervisorID); err != nil {
				return err
			}
			if c.err != nil {
				return c.err
			}
		}
	}
	return nil
}

func orDepartment(c string) string {
	if c == "" {
		return "the department"
	}
	return c
}

// InvitationLifetime is how long an enrolment link stays valid.
const InvitationLifetime = 7 * 24 * time.Hour

// Invite creates a person's account in the invited state and returns the
// one-time enrolment secret (shown once; stored hashed).
func (s *Identity) Invite(ctx context.Context, by auth.Principal, p identity.Person) (identity.Person, string, error) {
	if !by.Can(auth.PeopleManage) {
		return p, "", fault.New(fault.Forbidden, "only an administrator invites people")
	}
	p.ID, p.Status = 0, identity.Invited
	if err := p.Validate(); err != nil {
		return p, "", err
	}
	secret, hash := newSecret()
	err := s.db.Update(ctx, func(tx *Tx) error {
		if err := s.checkPlacement(ctx, tx, p); err != nil {
			return err
		}
		sched, _ := json.Marshal(p.Schedule)
		err := tx.QueryRow(ctx, `INSERT INTO people (employee_id, name, email, component, unit_id, supervisor_id, schedule, status, piv_subject, piv_upn, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
			p.EmployeeID, p.Name, p.Email, nullString(p.Component), nullInt(p.UnitID), nullInt(p.SupervisorID), string(sched), string(p.Status),
			nullString(p.PIVSubject), nullString(p.PIVUPN), tx.Now).Scan(&p.ID)
		if isUniqueViolation(err) {
			return fault.New(fault.Conflict, "a person with this employee ID, email or certificate already exists")
		}
		if err != nil {
			return err
		}
		p.CreatedAt = tx.Now
		if err := s.insertInvitation(ctx, tx, p.ID, hash, by.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "identity.person_invited", p.Component, personSubject(p.ID), map[string]any{
			"employee_id": p.EmployeeID, "unit_id": p.UnitID, "supervisor_id": p.SupervisorID,
		})
	})
	if err != nil {
		return identity.Person{}, "", err
	}
	return p, secret, nil
}

func (s *Identity) insertInvitation(ctx context.Context, tx *Tx, personID int64, hash []byte, by string) error {
	// A new link replaces any earlier unused one.
	if _, err := tx.Exec(ctx, `UPDATE invitations SET used_at = $1 WHERE person_id = $2 AND used_at IS NULL`, tx.Now, personID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO invitations (token_hash, person_id, created_at, expires_at, created_by) VALUES ($1, $2, $3, $4, $5)`,
		hash, personID, tx.Now, tx.Now.Add(InvitationLifetime), by)
	return err
}

// Reinvite issues a new enrolment link for a person who has not activated
// their account (the old link stops working).
func (s *Identity) Reinvite(ctx context.Context, by auth.Principal, id int64) (string, error) {
	if !by.Can(auth.PeopleManage) {
		return "", fault.New(fault.Forbidden, "only an administrator invites people")
	}
	secret, hash := newSecret()
	err := s.db.Update(ctx, func(tx *Tx) error {
		p, err := s.person(ctx, txQueryer{tx}, id)
		if err != nil {
			return err
		}
		if p.Status != identity.Invited {
			return fault.New(fault.Conflict, "%s has already activated their account", p.Name)
		}
		if err := s.insertInvitation(ctx, tx, id, hash, by.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "identity.person_reinvited", p.Component, personSubject(id), nil)
	})
	return secret, err
}

// A PersonUpdate changes a person's details; zero fields stay.
type PersonUpdate struct {
	Name         *string
	Email        *string
	UnitID       *int64
	SupervisorID *int64
	Schedule     *identity.Schedule
	PIVSubject   *string
	PIVUPN       *string
}

// UpdatePerson changes a person's details.
func (s *Identity) UpdatePerson(ctx context.Context, by auth.Principal, id int64, u PersonUpdate) (identity.Person, error) {
	var p identity.Person
	err := s.db.Update(ctx, func(tx *Tx) error {
		var err error
		if p, err = s.person(ctx, txQueryer{tx}, id); err != nil {
			return err
		}
		if !by.CanIn(auth.PeopleManage, p.Component) {
			return fault.New(fault.Forbidden, "only an administrator changes people's details")
		}
		changed := map[string]any{}
		set := func(name string, dst *string, v *string) {
			if v != nil && *v != *dst {
				*dst = *v
				changed[name] = *v
			}
		}
		set("name", &p.Name, u.Name)
		set("email", &p.Email, u.Email)
		set("piv_subject", &p.PIVSubject, u.PIVSubject)
		set("piv_upn", &p.PIVUPN, u.PIVUPN)
		if u.UnitID != nil && *u.UnitID != p.UnitID {
			p.UnitID, changed["unit_id"] = *u.UnitID, *u.UnitID
		}
		if u.SupervisorID != nil && *u.SupervisorID != p.SupervisorID {
			p.SupervisorID, changed["supervisor_id"] = *u.SupervisorID, *u.SupervisorID
		}
		if u.Schedule != nil {
			p.Schedule, changed["schedule"] = *u.Schedule, u.Schedule.String()
		}
		if len(changed) == 0 {
			return nil
		}
		if err := p.Validate(); err != nil {
			return err
		}
		if err := s.checkPlacement(ctx, tx, p); err != nil {
			return err
		}
		sched, _ := json.Marshal(p.Schedule)
		_, err = tx.Exec(ctx, `UPDATE people SET name = $1, email = $2, unit_id = $3, supervisor_id = $4, schedule = $5, piv_subject = $6, piv_upn = $7, updated_at = $8 WHERE id = $9`,
			p.Name, p.Email, nullInt(p.UnitID), nullInt(p.SupervisorID), string(sched), nullString(p.PIVSubject), nullString(p.PIVUPN), tx.Now, id)
		if isUniqueViolation(err) {
			return fault.New(fault.Conflict, "another person already has this email or certificate")
		}
		if err != nil {
			return err
		}
		// Personal details are not copied into the ledger; the entry commits
		// to them by digest.
		fields := make([]string, 0, len(changed))
		for k := range changed {
			fields = append(fields, k)
		}
		digest, _ := json.Marshal(changed)
		_, err = s.db.ledger.Append(ctx, tx, ledger.Event{Type: "identity.person_updated", Actor: by.Actor(), Component: p.Component,
			Subject: personSubject(id), Data: map[string]any{"fields": sortedStrings(fields)}, Digest: ledger.PayloadDigest(digest)})
		return err
	})
	return p, err
}

// SetStatus locks, reinstates, suspends or disables an account. Locking,
// suspending and disabling end the person's sessions and tokens in the same
// transaction.
func (s *Identity) SetStatus(ctx context.Context, by auth.Principal, id int64, status identity.Status, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 1000 {
		return fault.New(fault.Invalid, "give a reason (up to 1,000 characters)")
	}
	return s.db.Update(ctx, func(tx *Tx) error {
		p, err := s.person(ctx, txQueryer{tx}, id)
		if err != nil {
			return err
		}
		switch status {
		case identity.Locked:
			if !by.CanIn(auth.PeopleLock, p.Component) {
				return fault.New(fault.Forbidden, "only a privacy officer or an administrator locks accounts")
			}
		case identity.Active:
			if !by.CanIn(auth.PeopleManage, p.Component) {
				return fault.New(fault.Forbidden, "only an administrator reinstates accounts")
			}
			if p.Status == identity.Invited || p.Status == identity.Disabled {
				return fault.New(fault.Conflict, "an account that is %s cannot be reinstated", p.Status)
			}
		case identity.Disabled, identity.Suspended:
			if by.Kind != ledger.ActorSystem && !by.CanIn(auth.PeopleManage, p.Component) {
				return fault.New(fault.Forbidden, "only an administrator disables accounts")
			}
		default:
			return fault.New(fault.Invalid, "an account cannot be set to %q", status)
		}
		if by.PersonID == id && status == identity.Active {
			return fault.New(fault.Forbidden, "nobody reinstates their own account")
		}
		if p.Status == status {
			return fault.New(fault.Conflict, "%s's account is already %s", p.Name, status)
		}
		if p.Status == identity.Disabled {
			return fault.New(fault.Conflict, "%s's account is disabled for good", p.Name)
		}
		to := status
		if status == identity.Active {
			// An account locked before it was activated has no password: it
			// goes back to waiting for its enrolment (a new link), rather than
			// becoming active with no way to sign in or enrol.
			var never bool
			if err := tx.QueryRow(ctx, `SELECT password_hash IS NULL FROM people WHERE id = $1`, id).Scan(&never); err != nil {
				return err
			}
			if never {
				to = identity.Invited
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE people SET status = $1, status_reason = $2, updated_at = $3 WHERE id = $4`, string(to), reason, tx.Now, id); err != nil {
			return err
		}
		ended := 0
		if status != identity.Active {
			if ended, err = endAccess(ctx, tx, id, string(status)); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, by.Actor(), "identity.person_"+statusVerb(status), p.Component, personSubject(id), map[string]any{
			"from": string(p.Status), "to": string(to), "reason": reason, "sessions_and_tokens_ended": ended,
		})
	})
}

func statusVerb(s identity.Status) string {
	switch s {
	case identity.Active:
		return "reinstated"
	default:
		return string(s)
	}
}

// endAccess ends a person's live sessions and revokes their tokens.
func endAccess(ctx context.Context, tx *Tx, personID int64, reason string) (int, error) {
	r1, err := tx.Exec(ctx, `UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE person_id = $3 AND ended_at IS NULL`, tx.Now, reason, personID)
	if err != nil {
		return 0, err
	}
	r2, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE person_id = $2 AND revoked_at IS NULL`, tx.Now, personID)
	if err != nil {
		return 0, err
	}
	a, _ := r1.RowsAffected()
	b, _ := r2.RowsAffected()
	return int(a + b), nil
}

const grantColumns = `id, person_id, role, component, status, granted_by, granted_at, attested_at`

func scanGrant(sc scanner) (identity.Grant, error) {
	var g identity.Grant
	var att sql.NullTime
	err := sc.Scan(&g.ID, &g.PersonID, &g.Role, &g.Component, &g.Status, &g.GrantedBy, &g.GrantedAt, &att)
	g.AttestedAt = att.Time
	return g, err
}

// Grants returns a person's grants that are not revoked.
func (s *Identity) Grants(ctx context.Context, personID int64) ([]identity.Grant, error) {
	return s.grants(ctx, s.db.read, personID)
}

func (s *Identity) grants(ctx context.Context, q queryer, personID int64) ([]identity.Grant, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+grantColumns+` FROM grants WHERE person_id = $1 AND status <> 'revoked' ORDER BY id`, personID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// GrantRole gives a person a role. Separation of duties is checked against
// the person's other grants in the same transaction.
func (s *Identity) GrantRole(ctx context.Context, by auth.Principal, g identity.Grant) (identity.Grant, error) {
	err := s.db.Update(ctx, func(tx *Tx) error {
		p, err := s.person(ctx, txQueryer{tx}, g.PersonID)
		if err != nil {
			return err
		}
		if !by.CanIn(auth.RolesGrant, p.Component) {
			return fault.New(fault.Forbidden, "only an administrator grants roles")
		}
		if by.PersonID == p.ID {
			return fault.New(fault.Forbidden, "nobody grants roles to themselves")
		}
		others, err := s.grants(ctx, txQueryer{tx}, p.ID)
		if err != nil {
			return err
		}
		g.Status = identity.GrantActive
		if err := identity.ValidateGrant(p, g, others); err != nil {
			return err
		}
		g.GrantedBy, g.GrantedAt = by.PersonID, tx.Now
		if err := tx.QueryRow(ctx, `INSERT INTO grants (person_id, role, component, status, granted_by, granted_at, attested_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`,
			g.PersonID, string(g.Role), g.Component, string(g.Status), g.GrantedBy, tx.Now).Scan(&g.ID); err != nil {
			if isUniqueViolation(err) {
				return fault.New(fault.Conflict, "%s already holds the %s role there", p.Name, g.Role.Title())
			}
			return err
		}
		g.AttestedAt = tx.Now
		return s.record(ctx, tx, by.Actor(), "identity.role_granted", p.Component, personSubject(p.ID), map[string]any{
			"grant_id": g.ID, "role": string(g.Role), "scope": orDepartment(g.Component),
		})
	})
	return g, err
}

// RevokeRole ends a grant.
func (s *Identity) RevokeRole(ctx context.Context, by auth.Principal, grantID int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 1000 {
		return fault.New(fault.Invalid, "give a reason (up to 1,000 characters)")
	}
	return s.db.Update(ctx, func(tx *Tx) error {
		g, err := scanGrant(tx.QueryRow(ctx, `SELECT `+grantColumns+` FROM grants WHERE id = $1`, grantID))
		if errors.Is(err, sql.ErrNoRows) {
			return fault.New(fault.NotFound, "there is no grant %d", grantID)
		}
		if err != nil {
			return err
		}
		p, err := s.person(ctx, txQueryer{tx}, g.PersonID)
		if err != nil {
			return err
		}
		if !by.CanIn(auth.RolesGrant, p.Component) {
			return fault.New(fault.Forbidden, "only an administrator revokes roles")
		}
		if g.Status == identity.GrantRevoked {
			return fault.New(fault.Conflict, "grant %d is already revoked", grantID)
		}
		if _, err := tx.Exec(ctx, `UPDATE grants SET status = 'revoked', ended_at = $1 WHERE id = $2`, tx.Now, grantID); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "identity.role_revoked", p.Component, personSubject(p.ID), map[string]any{
			"grant_id": grantID, "role": string(g.Role), "scope": orDepartment(g.Component), "reason": reason,
		})
	})
}

// HasPeople reports whether any person exists (the installation has been
// bootstrapped).
func (s *Identity) HasPeople(ctx context.Context) (bool, error) {
	var n int
	err := s.db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM people`).Scan(&n)
	return n > 0, err
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// BootstrapAdmin makes sure a fresh installation can be administered: when
// nobody has an active administrator role, it creates (once) the first
// administrator's account, department-wide, and returns a new one-time
// enrolment secret for it (an earlier unused one stops working). It
// returns "" when an active administrator exists.
func (s *Identity) BootstrapAdmin(ctx context.Context) (string, error) {
	secret, hash := newSecret()
	issued := false
	err := s.db.Update(ctx, func(tx *Tx) error {
		var active int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM grants g JOIN people p ON p.id = g.person_id WHERE g.role = 'administrator' AND g.status = 'active' AND p.status = 'active'`).Scan(&active); err != nil {
			return err
		}
		if active > 0 {
			return nil
		}
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM people WHERE employee_id = 'admin' AND status = 'invited'`).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM people WHERE employee_id = 'admin'`).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fault.New(fault.Conflict, "no active administrator exists and the bootstrap account \"admin\" is not awaiting enrolment; restore an administrator from a backup")
			}
			p := identity.Person{EmployeeID: "admin", Name: "First administrator", Email: "admin@probity.invalid", Schedule: identity.DefaultSchedule(), Status: identity.Invited}
			sched, _ := json.Marshal(p.Schedule)
			if err := tx.QueryRow(ctx, `INSERT INTO people (employee_id, name, email, schedule, status, created_at, updated_at) VALUES ($1, $2, $3, $4, 'invited', $5, $5) RETURNING id`,
				p.EmployeeID, p.Name, p.Email, string(sched), tx.Now).Scan(&id); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO grants (person_id, role, component, status, granted_by, granted_at, attested_at) VALUES ($1, 'administrator', '', 'active', 0, $2, $2)`, id, tx.Now); err != nil {
				return err
			}
			if err := s.record(ctx, tx, SystemActor, "identity.bootstrap_admin_created", "", personSubject(id), map[string]any{"employee_id": p.EmployeeID, "role": "administrator"}); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if err := s.insertInvitation(ctx, tx, id, hash, "probity"); err != nil {
			return err
		}
		issued = true
		return s.record(ctx, tx, SystemActor, "identity.enrolment_link_issued", "", personSubject(id), nil)
	})
	if err != nil || !issued {
		return "", err
	}
	return secret, nil
}
