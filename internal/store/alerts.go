package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
)

// Alerts is the store of misuse alerts. Detectors raise them with
// [Alerts.Raise] inside the transaction that records what they found;
// every later step is authorized against the acting principal, checked
// against the workflow (package alerts), and recorded in the ledger in
// the same transaction, under the subject alert/ID.
//
// Who sees what:
//   - the component privacy officers of the alert's component, the
//     department privacy officer, and auditors of the component or the
//     department see every alert;
//   - professional responsibility (OPR intake) of the component, or the
//     department's, sees the alerts referred to it;
//   - the person whose action raised an alert never sees it, nor acts on
//     it, nor does anyone below them in their supervisor chain.
//
// An alert someone may not see does not exist for them.
type Alerts struct {
	db     *DB
	notify *Notifications
}

// Alerts returns the alert store over db, telling people through n.
func (db *DB) Alerts(n *Notifications) *Alerts {
	if n == nil {
		n = db.Notifications()
	}
	return &Alerts{db: db, notify: n}
}

// Notifications returns the outbox the store tells people through.
func (s *Alerts) Notifications() *Notifications { return s.notify }

// An AlertRecord is a stored alert.
type AlertRecord struct {
	ID int64
	alerts.Alert
	// Person is the employee ID of the person whose action raised it.
	Person         string
	EvidenceDigest string
	Status         alerts.Status
	// AssigneeID is the privacy officer the alert is assigned to, 0 for
	// any of the component's.
	AssigneeID int64
	Assignee   string
	ReferredAt time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ClosedAt   time.Time
	// Steps are the alert's steps, oldest first (in Get only).
	Steps []AlertStep
}

// An AlertStep is one recorded step of an alert.
type AlertStep struct {
	Action   string          `json:"action"` // raised, or an alerts.Action
	From     alerts.Status   `json:"from,omitempty"`
	To       alerts.Status   `json:"to"`
	Actor    string          `json:"actor"`
	Capacity alerts.Capacity `json:"capacity"`
	Note     string          `json:"note,omitempty"`
	At       time.Time       `json:"at"`
}

func alertSubject(id int64) string { return "alert/" + strconv.FormatInt(id, 10) }

const alertColumns = `a.id, a.detector, a.severity, a.component, COALESCE(a.query_id, 0), COALESCE(a.person_id, 0), COALESCE(sp.employee_id, ''),
	a.explanation, a.evidence, a.evidence_digest, a.status, COALESCE(a.assignee_id, 0), COALESCE(ap.employee_id, ''),
	a.referred_at, a.created_at, a.updated_at, a.closed_at`

const alertFrom = ` FROM alerts a LEFT JOIN people sp ON sp.id = a.person_id LEFT JOIN people ap ON ap.id = a.assignee_id`

func scanAlert(sc scanner) (AlertRecord, error) {
	var a AlertRecord
	var evidence string
	var referred, closed sql.NullTime
	err := sc.Scan(&a.ID, &a.Detector, &a.Severity, &a.Component, &a.QueryID, &a.PersonID, &a.Person,
		&a.Explanation, &evidence, &a.EvidenceDigest, &a.Status, &a.AssigneeID, &a.Assignee,
		&referred, &a.CreatedAt, &a.UpdatedAt, &closed)
	a.Evidence, a.ReferredAt, a.ClosedAt = json.RawMessage(evidence), referred.Time, closed.Time
	return a, err
}

// alertPayload is what an alert's digest commits to: its explanation and
// evidence, which stay out of the ledger (they may name people and
// places).
func alertPayload(explanation string, evidence []byte) []byte {
	b, _ := json.Marshal(struct {
		Explanation string          `json:"explanation"`
		Evidence    json.RawMessage `json:"evidence"`
	}{explanation, evidence})
	return b
}

// DetectorActor returns the ledger actor of a detector.
func DetectorActor(detector string) ledger.Actor {
	return ledger.Actor{Kind: ledger.ActorSystem, ID: "detector/" + detector}
}

// Raise records a new alert in tx, the caller's transaction, with its
// ledger entry "alert.raised": it is assigned to the privacy officer of
// its component with the fewest open alerts (never the person whose
// action raised it, nor someone below them in their chain), and a
// high-severity alert is at once notified to the component's privacy
// officers, its professional responsibility intake and the requester's
// supervisor. It returns the alert's ID.
func (s *Alerts) Raise(ctx context.Context, tx *Tx, a alerts.Alert) (int64, error) {
	if err := a.Validate(); err != nil {
		return 0, err
	}
	if s.db.ledger == nil {
		return 0, fault.New(fault.Internal, "the ledger is not open")
	}
	evidence := a.EvidenceJSON()
	digest := ledger.PayloadDigest(alertPayload(a.Explanation, evidence))
	var person string
	if a.PersonID != 0 {
		if err := tx.QueryRow(ctx, `SELECT employee_id FROM people WHERE id = $1`, a.PersonID).Scan(&person); errors.Is(err, sql.ErrNoRows) {
			return 0, fault.New(fault.Invalid, "there is no person %d", a.PersonID)
		} else if err != nil {
			return 0, fmt.Errorf("read the person of an alert: %w", err)
		}
	}
	if a.QueryID != 0 {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM queries WHERE id = $1`, a.QueryID).Scan(&n); err != nil {
			return 0, fmt.Errorf("read the query of an alert: %w", err)
		} else if n == 0 {
			return 0, fault.New(fault.Invalid, "there is no query %d", a.QueryID)
		}
	}
	assignee, err := s.assignee(ctx, tx, a)
	if err != nil {
		return 0, err
	}
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO alerts (detector, severity, component, query_id, person_id, explanation, evidence, evidence_digest, status, assignee_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'new', $9, $10, $10) RETURNING id`,
		a.Detector, string(a.Severity), a.Component, nullInt(a.QueryID), nullInt(a.PersonID), a.Explanation, string(evidence), digest, nullInt(assignee), tx.Now).Scan(&id); err != nil {
		return 0, fmt.Errorf("record an alert: %w", err)
	}
	actor := DetectorActor(a.Detector)
	if err := addAlertStep(ctx, tx, id, "raised", "", alerts.New, actor.ID, "detector", ""); err != nil {
		return 0, err
	}
	notified := []string{}
	if a.Severity == alerts.High {
		if notified, err = s.notifyHigh(ctx, tx, id, a); err != nil {
			return 0, err
		}
	}
	data := map[string]any{"detector": a.Detector, "severity": string(a.Severity), "assignee": "", "notified": notified}
	if a.QueryID != 0 {
		data["query"] = a.QueryID
	}
	if person != "" {
		data["person"] = person
	}
	if assignee != 0 {
		var emp string
		if err := tx.QueryRow(ctx, `SELECT employee_id FROM people WHERE id = $1`, assignee).Scan(&emp); err != nil {
			return 0, fmt.Errorf("read an alert's assignee: %w", err)
		}
		data["assignee"] = emp
	}
	if _, err := s.db.ledger.Append(ctx, tx, ledger.Event{Type: "alert.raised", Actor: actor, Component: a.Component, Subject: alertSubject(id), Data: data, Digest: digest}); err != nil {
		return 0, err
	}
	return id, nil
}

// assignee picks the privacy officer of the alert's component with the
// fewest open alerts who may look at it; 0 when there is none.
func (s *Alerts) assignee(ctx context.Context, tx *Tx, a alerts.Alert) (int64, error) {
	cpos, err := holders(ctx, tx, auth.ComponentPrivacyOfficer, a.Component, false)
	if err != nil {
		return 0, err
	}
	best, bestLoad := int64(0), -1
	chain := newMemoChain(ctx, tx)
	for _, p := range cpos {
		if a.PersonID != 0 {
			ok, _ := identity.MayReview(chain, p, a.PersonID)
			if chain.err != nil {
				return 0, fmt.Errorf("read the supervisor chain: %w", chain.err)
			}
			if !ok {
				continue
			}
		}
		var load int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM alerts WHERE assignee_id = $1 AND status IN ('new', 'triage')`, p).Scan(&load); err != nil {
			return 0, fmt.Errorf("count open alerts: %w", err)
		}
		if bestLoad < 0 || load < bestLoad {
			best, bestLoad = p, load
		}
	}
	return best, nil
}

// notifyHigh tells of a high-severity alert: the component's privacy
// officers, its OPR intake (or the department's) and the requester's
// nearest supervisor, never the requester.
func (s *Alerts) notifyHigh(ctx context.Context, tx *Tx, id int64, a alerts.Alert) ([]string, error) {
	to, err := holders(ctx, tx, auth.ComponentPrivacyOfficer, a.Component, false)
	if err != nil {
		return nil, err
	}
	opr, err := holders(ctx, tx, auth.OPRIntake, a.Component, true)
	if err != nil {
		return nil, err
	}
	to = append(to, opr...)
	if a.PersonID != 0 {
		sup, err := nearestSupervisor(ctx, tx, a.PersonID)
		if err != nil {
			return nil, err
		}
		to = append(to, sup)
	}
	to = slices.DeleteFunc(to, func(p int64) bool { return p == a.PersonID })
	link := "api/v1/alerts/" + strconv.FormatInt(id, 10)
	body := fmt.Sprintf("A high-severity misuse alert was raised in %s (detector %s).", a.Component, a.Detector)
	if a.QueryID != 0 {
		body += fmt.Sprintf(" It concerns query %d.", a.QueryID)
	}
	body += " Its details are in Probity, for those who may see them: " + link
	return s.notify.Notify(ctx, tx, Notice{Kind: "alert.raised", Subject: alertSubject(id), Component: a.Component,
		Title: fmt.Sprintf("High-severity alert %d in %s", id, a.Component), Body: body, Link: link, To: to})
}

func addAlertStep(ctx context.Context, tx *Tx, id int64, action string, from, to alerts.Status, actor, capacity, note string) error {
	_, err := tx.Exec(ctx, `INSERT INTO alert_steps (alert_id, action, from_status, to_status, actor, capacity, note, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id, action, string(from), string(to), actor, capacity, note, tx.Now)
	if err != nil {
		return fmt.Errorf("record a step of alert %d: %w", id, err)
	}
	return nil
}

// maySeeAlert reports whether by may see a.
func maySeeAlert(by auth.Principal, a AlertRecord) bool {
	switch {
	case by.PersonID != 0 && a.PersonID == by.PersonID:
		return false
	case by.CanIn(auth.AlertsRead, a.Component) && (holds(by, auth.ComponentPrivacyOfficer, a.Component) || by.HasRole(auth.DepartmentPrivacyOfficer) || holds(by, auth.Auditor, a.Component)):
		return true
	case by.CanIn(auth.AlertsRead, a.Component) && holds(by, auth.OPRIntake, a.Component):
		return !a.ReferredAt.IsZero()
	}
	return false
}

func notFoundAlert(id int64) error {
	return fault.New(fault.NotFound, "there is no alert %d you may see", id)
}

// Get returns an alert with its steps, if by may see it.
func (s *Alerts) Get(ctx context.Context, by auth.Principal, id int64) (AlertRecord, error) {
	var a AlertRecord
	err := s.db.View(ctx, func(tx *Tx) error {
		var err error
		a, err = s.get(ctx, tx, by, id, false)
		return err
	})
	return a, err
}

func (s *Alerts) get(ctx context.Context, tx *Tx, by auth.Principal, id int64, lock bool) (AlertRecord, error) {
	q := `SELECT ` + alertColumns + alertFrom + ` WHERE a.id = $1`
	if lock && tx.Dialect() == Postgres {
		q += ` FOR UPDATE OF a`
	}
	a, err := scanAlert(tx.QueryRow(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !maySeeAlert(by, a)) {
		return AlertRecord{}, notFoundAlert(id)
	}
	if err != nil {
		return a, fmt.Errorf("read alert %d: %w", id, err)
	}
	rows, err := tx.Query(ctx, `SELECT action, from_status, to_status, actor, capacity, note, at FROM alert_steps WHERE alert_id = $1 ORDER BY id`, id)
	a.Steps, err = scanAll(rows, err, func(sc scanner) (AlertStep, error) {
		var st AlertStep
		err := sc.Scan(&st.Action, &st.From, &st.To, &st.Actor, &st.Capacity, &st.Note, &st.At)
		return st, err
	})
	if err != nil {
		return a, fmt.Errorf("read the steps of alert %d: %w", id, err)
	}
	return a, nil
}

// An AlertFilter selects alerts; zero fields select all.
type AlertFilter struct {
	Status   alerts.Status
	Severity alerts.Severity
	QueryID  int64
	Mine     bool // only those assigned to the caller
	Limit    int  // default and maximum 500
}

// List returns the alerts by may see, newest first.
func (s *Alerts) List(ctx context.Context, by auth.Principal, f AlertFilter) ([]AlertRecord, error) {
	comps, all := by.Components(auth.AlertsRead)
	if !all && len(comps) == 0 {
		return nil, fault.New(fault.Forbidden, "your roles do not include reading alerts")
	}
	var w where
	if !all {
		w.add(w.in("a.component", comps))
	}
	if f.Status != "" {
		w.eq("a.status", string(f.Status))
	}
	if f.Severity != "" {
		w.eq("a.severity", string(f.Severity))
	}
	if f.QueryID != 0 {
		w.eq("a.query_id", f.QueryID)
	}
	if f.Mine {
		w.eq("a.assignee_id", by.PersonID)
	}
	if by.PersonID != 0 {
		w.add("(a.person_id IS NULL OR a.person_id <> " + w.arg(by.PersonID) + ")")
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+alertColumns+alertFrom+w.String()+` ORDER BY a.id DESC LIMIT 5000`, w.args...)
	as, err := scanAll(rows, err, scanAlert)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	as = slices.DeleteFunc(as, func(a AlertRecord) bool { return !maySeeAlert(by, a) })
	return as[:min(len(as), limit)], nil
}

// Step takes action on an alert as by, with a note (a referral, a
// dismissal and a resolution say why), and returns the alert as it is
// then. A privacy officer of the alert's component (or the department's)
// takes it into triage, which assigns it to them, and then refers it to
// OPR intake, dismisses or resolves it; OPR intake resolves what was
// referred to it. Nobody acts on an alert about themselves or about
// someone above them in their chain.
func (s *Alerts) Step(ctx context.Context, by auth.Principal, id int64, action alerts.Action, note string) (AlertRecord, error) {
	if _, err := alerts.ParseAction(string(action)); err != nil {
		return AlertRecord{}, err
	}
	note, err := alerts.CheckNote(action, note)
	if err != nil {
		return AlertRecord{}, err
	}
	if by.Kind != ledger.ActorUser || by.PersonID == 0 {
		return AlertRecord{}, fault.New(fault.Forbidden, "only a named person acts on alerts")
	}
	if s.db.ledger == nil {
		return AlertRecord{}, fault.New(fault.Internal, "the ledger is not open")
	}
	var out AlertRecord
	err = s.db.Update(ctx, func(tx *Tx) error {
		a, err := s.get(ctx, tx, by, id, true)
		if err != nil {
			return err
		}
		if !by.CanIn(auth.AlertsManage, a.Component) {
			return fault.New(fault.Forbidden, "your roles do not include acting on the alerts of %s", a.Component)
		}
		var capacity alerts.Capacity
		privacyOfficer := holds(by, auth.ComponentPrivacyOfficer, a.Component) || by.HasRole(auth.DepartmentPrivacyOfficer)
		opr := holds(by, auth.OPRIntake, a.Component)
		switch {
		case opr && (a.Status == alerts.Referred || !privacyOfficer):
			capacity = alerts.OPRIntake
		case privacyOfficer:
			capacity = alerts.PrivacyOfficer
		default:
			return fault.New(fault.Forbidden, "only the privacy officers of %s and the department, and professional responsibility, act on its alerts", a.Component)
		}
		if a.PersonID != 0 {
			ok, why, err := mayReview(ctx, tx, by.PersonID, a.PersonID)
			if err != nil {
				return fmt.Errorf("read the supervisor chain: %w", err)
			}
			if !ok {
				return fault.New(fault.Forbidden, "%s", why)
			}
		}
		next, err := alerts.Next(a.Status, action, capacity)
		if err != nil {
			return err
		}
		set := `status = $1, updated_at = $2`
		args := []any{string(next), tx.Now}
		switch action {
		case alerts.TakeTriage:
			if capacity == alerts.PrivacyOfficer {
				set += `, assignee_id = $3`
				args = append(args, by.PersonID)
			}
		case alerts.Refer:
			set += `, referred_at = $3`
			args = append(args, tx.Now)
		case alerts.Dismiss, alerts.Resolve:
			set += `, closed_at = $3`
			args = append(args, tx.Now)
		}
		args = append(args, id, string(a.Status))
		r, err := tx.Exec(ctx, `UPDATE alerts SET `+set+fmt.Sprintf(` WHERE id = $%d AND status = $%d`, len(args)-1, len(args)), args...)
		if err != nil {
			return fmt.Errorf("change alert %d: %w", id, err)
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return fault.New(fault.Conflict, "alert %d changed meanwhile; look at it again", id)
		}
		if err := addAlertStep(ctx, tx, id, string(action), a.Status, next, by.ID, string(capacity), note); err != nil {
			return err
		}
		data := map[string]any{"from": string(a.Status), "to": string(next), "capacity": string(capacity)}
		if action == alerts.Refer {
			told, err := s.notifyReferral(ctx, tx, a)
			if err != nil {
				return err
			}
			data["notified"] = told
		}
		digest := ""
		if note != "" {
			// The note may discuss the people involved: the ledger commits
			// to it; the alert's steps keep it.
			digest = ledger.PayloadDigest([]byte(note))
		}
		typ := map[alerts.Action]string{alerts.TakeTriage: "alert.triaged", alerts.Refer: "alert.referred", alerts.Dismiss: "alert.dismissed", alerts.Resolve: "alert.resolved"}[action]
		if _, err := s.db.ledger.Append(ctx, tx, ledger.Event{Type: typ, Actor: by.Actor(), Component: a.Component, Subject: alertSubject(id), Data: data, Digest: digest}); err != nil {
			return err
		}
		out, err = s.get(ctx, tx, by, id, false)
		return err
	})
	return out, err
}

// notifyReferral tells OPR intake of the alert's component (or the
// department's) that an alert was referred to it.
func (s *Alerts) notifyReferral(ctx context.Context, tx *Tx, a AlertRecord) ([]string, error) {
	to, err := holders(ctx, tx, auth.OPRIntake, a.Component, true)
	if err != nil {
		return nil, err
	}
	to = slices.DeleteFunc(to, func(p int64) bool { return p == a.PersonID })
	link := "api/v1/alerts/" + strconv.FormatInt(a.ID, 10)
	return s.notify.Notify(ctx, tx, Notice{Kind: "alert.referred", Subject: alertSubject(a.ID), Component: a.Component,
		Title: fmt.Sprintf("Alert %d in %s referred to professional responsibility", a.ID, a.Component),
		Body:  fmt.Sprintf("A %s-severity misuse alert in %s was referred to professional responsibility. Its details are in Probity: %s", a.Severity, a.Component, link),
		Link:  link, To: to})
}
