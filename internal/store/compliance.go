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

// PublishRules publishes a new version of the rules of behavior under a
// key; everyone governed by them must acknowledge it before further data
// access.
func (s *Identity) PublishRules(ctx context.Context, by auth.Principal, r identity.Rules) (identity.Rules, error) {
	if !by.Can(auth.RulesManage) {
		return r, fault.New(fault.Forbidden, "only a privacy officer publishes rules of behavior")
	}
	if err := r.Validate(); err != nil {
		return r, err
	}
	err := s.db.Update(ctx, func(tx *Tx) error {
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM rules WHERE key = $1`, r.Key).Scan(&r.Version); err != nil {
			return err
		}
		r.PublishedAt, r.PublishedBy = tx.Now, by.PersonID
		if err := tx.QueryRow(ctx, `INSERT INTO rules (key, version, title, body, published_at, published_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			r.Key, r.Version, r.Title, r.Body, tx.Now, by.PersonID).Scan(&r.ID); err != nil {
			return err
		}
		_, err := s.db.ledger.Append(ctx, tx, ledger.Event{Type: "rules.published", Actor: by.Actor(), Subject: "rules/" + r.Key,
			Data: map[string]any{"version": r.Version, "title": r.Title}, Digest: ledger.PayloadDigest([]byte(r.Body))})
		return err
	})
	return r, err
}

// CurrentRules returns the latest version of each rules key, or of the
// given keys.
func (s *Identity) CurrentRules(ctx context.Context, keys ...string) ([]identity.Rules, error) {
	q := `SELECT r.id, r.key, r.version, r.title, r.body, r.published_at, r.published_by FROM rules r
		WHERE r.version = (SELECT MAX(version) FROM rules x WHERE x.key = r.key)`
	var w where
	if len(keys) > 0 {
		q += ` AND ` + w.in("r.key", keys)
	}
	rows, err := s.db.read.QueryContext(ctx, q+` ORDER BY r.key`, w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Rules
	for rows.Next() {
		var r identity.Rules
		if err := rows.Scan(&r.ID, &r.Key, &r.Version, &r.Title, &r.Body, &r.PublishedAt, &r.PublishedBy); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Acknowledge records by's acknowledgement of the current version of the
// rules under key; version must be that current version, so that nobody
// acknowledges text they were not shown.
func (s *Identity) Acknowledge(ctx context.Context, by auth.Principal, key string, version int) error {
	if by.PersonID == 0 {
		return fault.New(fault.Forbidden, "only a person acknowledges rules of behavior")
	}
	return s.db.Update(ctx, func(tx *Tx) error {
		var current int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM rules WHERE key = $1`, key).Scan(&current); err != nil {
			return err
		}
		if current == 0 {
			return fault.New(fault.NotFound, "there are no rules of behavior %q", key)
		}
		if version != current {
			return fault.New(fault.Conflict, "version %d of %s is not the current one (%d); read the current version", version, key, current)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO rule_acks (person_id, key, version, acked_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (person_id, key, version) DO UPDATE SET acked_at = excluded.acked_at`, by.PersonID, key, version, tx.Now); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "rules.acknowledged", by.Component, personSubject(by.PersonID), map[string]any{"key": key, "version": version})
	})
}

// DefineCourse adds or changes a training course.
func (s *Identity) DefineCourse(ctx context.Context, by auth.Principal, c identity.Course) error {
	if !by.Can(auth.TrainingManage) {
		return fault.New(fault.Forbidden, "your role does not allow defining courses")
	}
	if err := c.Validate(); err != nil {
		return err
	}
	return s.db.Update(ctx, func(tx *Tx) error {
		req, _ := json.Marshal(c.RequiredFor)
		if _, err := tx.Exec(ctx, `INSERT INTO courses (code, title, valid_months, required_for) VALUES ($1, $2, $3, $4)
			ON CONFLICT (code) DO UPDATE SET title = excluded.title, valid_months = excluded.valid_months, required_for = excluded.required_for`,
			c.Code, c.Title, c.ValidMonths, string(req)); err != nil {
			return err
		}
		var roles []string
		for _, r := range c.RequiredFor {
			roles = append(roles, string(r))
		}
		return s.record(ctx, tx, by.Actor(), "training.course_defined", "", "course/"+c.Code, map[string]any{"title": c.Title, "valid_months": c.ValidMonths, "required_for": roles})
	})
}

// Courses lists the training courses.
func (s *Identity) Courses(ctx context.Context) ([]identity.Course, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT code, title, valid_months, required_for FROM courses ORDER BY code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Course
	for rows.Next() {
		var c identity.Course
		var req string
		if err := rows.Scan(&c.Code, &c.Title, &c.ValidMonths, &req); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(req), &c.RequiredFor)
		out = append(out, c)
	}
	return out, rows.Err()
}

// RecordTraining records that a person completed a course.
func (s *Identity) RecordTraining(ctx context.Context, by auth.Principal, personID int64, course string, completed time.Time) (identity.Training, error) {
	var t identity.Training
	err := s.db.Update(ctx, func(tx *Tx) error {
		p, err := s.person(ctx, txQueryer{tx}, personID)
		if err != nil {
			return err
		}
		if !by.CanIn(auth.TrainingManage, p.Component) {
			return fault.New(fault.Forbidden, "your role does not allow recording training")
		}
		if by.PersonID == personID {
			return fault.New(fault.Forbidden, "nobody records their own training")
		}
		var c identity.Course
		var req string
		err = tx.QueryRow(ctx, `SELECT code, title, valid_months, required_for FROM courses WHERE code = $1`, course).Scan(&c.Code, &c.Title, &c.ValidMonths, &req)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.New(fault.NotFound, "there is no course %q", course)
		}
		if err != nil {
			return err
		}
		completed = completed.UTC().Truncate(time.Microsecond)
		if completed.After(tx.Now) || completed.Before(tx.Now.AddDate(-10, 0, 0)) {
			return fault.New(fault.Invalid, "the completion date must be in the last ten years and not in the future")
		}
		t = identity.Training{PersonID: personID, Course: course, CompletedAt: completed, ExpiresAt: c.ExpiresAt(completed)}
		if _, err := tx.Exec(ctx, `INSERT INTO trainings (person_id, course, completed_at, expires_at, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			personID, course, t.CompletedAt, t.ExpiresAt, by.PersonID, tx.Now); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "training.recorded", p.Component, personSubject(personID), map[string]any{
			"course": course, "completed_at": t.CompletedAt.Format(time.DateOnly), "expires_at": t.ExpiresAt.Format(time.DateOnly),
		})
	})
	return t, err
}

// AccessFacts gathers what deciding a person's data access needs; ruleKeys
// names the rules of behavior that govern the access (every published key
// when empty).
func (s *Identity) AccessFacts(ctx context.Context, personID int64, ruleKeys ...string) (identity.AccessFacts, error) {
	var f identity.AccessFacts
	var err error
	if f.Person, err = s.person(ctx, s.db.read, personID); err != nil {
		return f, err
	}
	if f.Grants, err = s.grants(ctx, s.db.read, personID); err != nil {
		return f, err
	}
	if f.Rules, err = s.CurrentRules(ctx, ruleKeys...); err != nil {
		return f, err
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT key, version, acked_at FROM rule_acks WHERE person_id = $1`, personID)
	if err != nil {
		return f, err
	}
	for rows.Next() {
		a := identity.Ack{PersonID: personID}
		if err := rows.Scan(&a.Key, &a.Version, &a.AckedAt); err != nil {
			rows.Close()
			return f, err
		}
		f.Acks = append(f.Acks, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return f, err
	}
	if f.Courses, err = s.Courses(ctx); err != nil {
		return f, err
	}
	rows, err = s.db.read.QueryContext(ctx, `SELECT course, completed_at, expires_at FROM trainings WHERE person_id = $1`, personID)
	if err != nil {
		return f, err
	}
	defer rows.Close()
	for rows.Next() {
		t := identity.Training{PersonID: personID}
		if err := rows.Scan(&t.Course, &t.CompletedAt, &t.ExpiresAt); err != nil {
			return f, err
		}
		f.Records = append(f.Records, t)
	}
	f.Now = s.db.now()
	return f, rows.Err()
}

// StartCampaign starts a recertification campaign over every active grant.
func (s *Identity) StartCampaign(ctx context.Context, by auth.Principal, name string, due time.Time) (identity.Campaign, int, error) {
	var c identity.Campaign
	n := 0
	if !by.Can(auth.RecertManage) {
		return c, 0, fault.New(fault.Forbidden, "only an administrator starts recertification campaigns")
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return c, 0, fault.New(fault.Invalid, "name the campaign (up to 200 characters), e.g. \"2026 Q4\"")
	}
	err := s.db.Update(ctx, func(tx *Tx) error {
		if !due.After(tx.Now.Add(24 * time.Hour)) {
			return fault.New(fault.Invalid, "the campaign must run for more than a day")
		}
		var open int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM campaigns WHERE closed_at IS NULL`).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return fault.New(fault.Conflict, "a recertification campaign is already open; close it first")
		}
		c = identity.Campaign{Name: name, StartedAt: tx.Now, DueAt: due.UTC().Truncate(time.Microsecond)}
		if err := tx.QueryRow(ctx, `INSERT INTO campaigns (name, started_at, due_at, started_by) VALUES ($1, $2, $3, $4) RETURNING id`, name, tx.Now, c.DueAt, by.ID).Scan(&c.ID); err != nil {
			return err
		}
		r, err := tx.Exec(ctx, `INSERT INTO campaign_items (campaign_id, grant_id, person_id, attester_id, decision)
			SELECT $1, g.id, g.person_id, p.supervisor_id, 'pending' FROM grants g JOIN people p ON p.id = g.person_id
			WHERE g.status = 'active' AND p.status IN ('active', 'suspended', 'locked')`, c.ID)
		if err != nil {
			return err
		}
		k, _ := r.RowsAffected()
		n = int(k)
		return s.record(ctx, tx, by.Actor(), "recert.campaign_started", "", fmt.Sprintf("campaign/%d", c.ID), map[string]any{
			"name": name, "due_at": c.DueAt.Format(time.RFC3339), "items": n,
		})
	})
	return c, n, err
}

// CampaignItems lists the items by must (or may) attest in a campaign:
// their reports' grants, and for department privacy officers those of
// people without a supervisor. Readers of campaigns see all.
func (s *Identity) CampaignItems(ctx context.Context, by auth.Principal, campaignID int64, mine bool) ([]identity.Item, error) {
	q := `SELECT id, campaign_id, grant_id, person_id, COALESCE(attester_id, 0), decision, COALESCE(decided_by, 0), decided_at FROM campaign_items WHERE campaign_id = $1`
	w := where{args: []any{campaignID}}
	switch {
	case mine && by.HasRole(auth.DepartmentPrivacyOfficer):
		q += ` AND (attester_id = ` + w.arg(by.PersonID) + ` OR attester_id IS NULL)`
	case mine:
		q += ` AND attester_id = ` + w.arg(by.PersonID)
	case !by.Can(auth.RecertRead):
		return nil, fault.New(fault.Forbidden, "your role does not allow seeing campaigns")
	default:
		// Readers of one component see its people's items only.
		if comps, all := by.Components(auth.RecertRead); !all {
			q += ` AND person_id IN (SELECT id FROM people WHERE ` + w.in("component", comps) + `)`
		}
	}
	rows, err := s.db.read.QueryContext(ctx, q+` ORDER BY id`, w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Item
	for rows.Next() {
		var it identity.Item
		var at sql.NullTime
		if err := rows.Scan(&it.ID, &it.CampaignID, &it.GrantID, &it.PersonID, &it.AttesterID, &it.Decision, &it.DecidedBy, &at); err != nil {
			return nil, err
		}
		it.DecidedAt = at.Time
		out = append(out, it)
	}
	return out, rows.Err()
}

// Attest decides one campaign item: keep the role (recertified) or revoke
// it.
func (s *Identity) Attest(ctx context.Context, by auth.Principal, itemID int64, d identity.Decision, note string) error {
	if d != identity.Keep && d != identity.Revoke {
		return fault.New(fault.Invalid, "the decision is keep or revoke")
	}
	if len(note) > 1000 {
		return fault.New(fault.Invalid, "the note is longer than 1,000 characters")
	}
	if !by.Can(auth.RecertAttest) {
		return fault.New(fault.Forbidden, "only supervisors attest their reports' roles")
	}
	return s.db.Update(ctx, func(tx *Tx) error {
		var it identity.Item
		var closed sql.NullTime
		var attester sql.NullInt64
		err := tx.QueryRow(ctx, `SELECT i.id, i.campaign_id, i.grant_id, i.person_id, i.attester_id, i.decision, c.closed_at FROM campaign_items i JOIN campaigns c ON c.id = i.campaign_id WHERE i.id = $1`, itemID).
			Scan(&it.ID, &it.CampaignID, &it.GrantID, &it.PersonID, &attester, &it.Decision, &closed)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.New(fault.NotFound, "there is no campaign item %d", itemID)
		}
		if err != nil {
			return err
		}
		it.AttesterID = attester.Int64
		if closed.Valid {
			return fault.New(fault.Conflict, "the campaign is closed")
		}
		c := &chainInTx{ctx: ctx, tx: tx}
		if err := identity.MayAttest(c, it, by.PersonID, by.HasRole(auth.DepartmentPrivacyOfficer)); err != nil {
			return err
		}
		if c.err != nil {
			return c.err
		}
		if _, err := tx.Exec(ctx, `UPDATE campaign_items SET decision = $1, decided_by = $2, decided_at = $3 WHERE id = $4`, string(d), by.PersonID, tx.Now, itemID); err != nil {
			return err
		}
		g, err := scanGrant(tx.QueryRow(ctx, `SELECT `+grantColumns+` FROM grants WHERE id = $1`, it.GrantID))
		if err != nil {
			return err
		}
		if d == identity.Keep {
			_, err = tx.Exec(ctx, `UPDATE grants SET attested_at = $1 WHERE id = $2`, tx.Now, it.GrantID)
		} else {
			_, err = tx.Exec(ctx, `UPDATE grants SET status = 'revoked', ended_at = $1 WHERE id = $2 AND status <> 'revoked'`, tx.Now, it.GrantID)
		}
		if err != nil {
			return err
		}
		p, err := s.person(ctx, txQueryer{tx}, it.PersonID)
		if err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "recert.attested", p.Component, personSubject(it.PersonID), map[string]any{
			"campaign_id": it.CampaignID, "grant_id": it.GrantID, "role": string(g.Role), "scope": orDepartment(g.Component), "decision": string(d), "note": note,
		})
	})
}

// CloseDueCampaigns closes every open campaign past its due date and
// suspends the grants nobody attested. It returns how many grants it
// suspended. by is the administrator closing early, or the system.
func (s *Identity) CloseDueCampaigns(ctx context.Context, by auth.Principal, early int64) (int, error) {
	suspended := 0
	err := s.db.Update(ctx, func(tx *Tx) error {
		q := `SELECT id FROM campaigns WHERE closed_at IS NULL AND due_at <= $1`
		args := []any{tx.Now}
		if early != 0 {
			if !by.Can(auth.RecertManage) {
				return fault.New(fault.Forbidden, "only an administrator closes campaigns")
			}
			q, args = `SELECT id FROM campaigns WHERE closed_at IS NULL AND id = $1`, []any{early}
		}
		rows, err := tx.Query(ctx, q, args...)
		ids, err := scanAll(rows, err, scanID)
		if err != nil {
			return err
		}
		if early != 0 && len(ids) == 0 {
			return fault.New(fault.NotFound, "there is no open campaign %d", early)
		}
		for _, id := range ids {
			r, err := tx.Exec(ctx, `UPDATE grants SET status = 'suspended' WHERE status = 'active' AND id IN (SELECT grant_id FROM campaign_items WHERE campaign_id = $1 AND decision = 'pending')`, id)
			if err != nil {
				return err
			}
			n, _ := r.RowsAffected()
			suspended += int(n)
			if _, err := tx.Exec(ctx, `UPDATE campaigns SET closed_at = $1 WHERE id = $2`, tx.Now, id); err != nil {
				return err
			}
			if err := s.record(ctx, tx, by.Actor(), "recert.campaign_closed", "", fmt.Sprintf("campaign/%d", id), map[string]any{"grants_suspended": n}); err != nil {
				return err
			}
		}
		return nil
	})
	return suspended, err
}

// Campaigns lists campaigns, newest first.
func (s *Identity) Campaigns(ctx context.Context) ([]identity.Campaign, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, name, started_at, due_at, closed_at FROM campaigns ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Campaign
	for rows.Next() {
		var c identity.Campaign
		var closed sql.NullTime
		if err := rows.Scan(&c.ID, &c.Name, &c.StartedAt, &c.DueAt, &closed); err != nil {
			return nil, err
		}
		c.ClosedAt = closed.Time
		out = append(out, c)
	}
	return out, rows.Err()
}

// SuspendInactive suspends active accounts without a sign-in for longer
// than limit, ending their sessions and tokens, and returns how many.
func (s *Identity) SuspendInactive(ctx context.Context, limit time.Duration) (int, error) {
	cutoff := s.db.now().Add(-limit)
	rows, err := s.db.read.QueryContext(ctx, `SELECT id FROM people WHERE status = 'active' AND COALESCE(last_sign_in, created_at) < $1`, cutoff)
	ids, err := scanAll(rows, err, scanID)
	if err != nil {
		return 0, err
	}
	system := auth.Principal{Kind: ledger.ActorSystem, ID: "probity"}
	n := 0
	for _, id := range ids {
		err := s.SetStatus(ctx, system, id, identity.Suspended, fmt.Sprintf("no sign-in for more than %d days", int(limit.Hours()/24)))
		if fault.Is(err, fault.Conflict) {
			continue // changed meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
