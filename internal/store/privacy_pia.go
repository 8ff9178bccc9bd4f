package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/settings"
)

// PIAs.

// piaCols returns the columns nullPIA reads, of the table alias prefix
// ("" or "p.").
func piaCols(prefix string) string {
	return strings.NewReplacer("$.", prefix).Replace(`$.id, $.source_id, $.component, $.title, $.status, $.version, $.cycle_start,
	$.submitted_version, $.submitted_at, $.submitted_by, $.approved_version, $.approved_by, $.approved_at, $.expires_at,
	$.effective_version, $.effective_approved_at, $.effective_expires_at, $.effective_published_at, $.effective_prior,
	$.update_required_at, $.update_reason, $.created_at, $.updated_at`)
}

var piaColumns = piaCols("")

// nullPIA scans a PIA row that may be absent (the outer side of a join).
type nullPIA struct {
	id, source, version, cycle, subV, subBy, appV, appBy, effV         sql.NullInt64
	component, title, status, prior, reason                            sql.NullString
	subAt, appAt, expires, effApp, effExp, effPub, updAt, created, upd sql.NullTime
}

func (n *nullPIA) dest() []any {
	return []any{&n.id, &n.source, &n.component, &n.title, &n.status, &n.version, &n.cycle,
		&n.subV, &n.subAt, &n.subBy, &n.appV, &n.appBy, &n.appAt, &n.expires,
		&n.effV, &n.effApp, &n.effExp, &n.effPub, &n.prior,
		&n.updAt, &n.reason, &n.created, &n.upd}
}

func (n *nullPIA) pia() (privacy.PIA, bool) {
	if !n.id.Valid {
		return privacy.PIA{}, false
	}
	return privacy.PIA{
		ID: n.id.Int64, SourceID: n.source.Int64, Component: n.component.String, Title: n.title.String, Status: privacy.Status(n.status.String),
		Version: int(n.version.Int64), CycleStart: int(n.cycle.Int64),
		SubmittedVersion: int(n.subV.Int64), SubmittedAt: n.subAt.Time, SubmittedBy: n.subBy.Int64,
		ApprovedVersion: int(n.appV.Int64), ApprovedBy: n.appBy.Int64, ApprovedAt: n.appAt.Time, ExpiresAt: n.expires.Time,
		EffectiveVersion: int(n.effV.Int64), EffectiveApprovedAt: n.effApp.Time, EffectiveExpiresAt: n.effExp.Time,
		EffectivePublishedAt: n.effPub.Time, EffectivePrior: n.prior.String,
		UpdateRequiredAt: n.updAt.Time, UpdateReason: n.reason.String, CreatedAt: n.created.Time, UpdatedAt: n.upd.Time,
	}, true
}

func scanPIA(sc scanner) (privacy.PIA, error) {
	var n nullPIA
	if err := sc.Scan(n.dest()...); err != nil {
		return privacy.PIA{}, err
	}
	p, _ := n.pia()
	return p, nil
}

func piaSubject(id int64) string { return fmt.Sprintf("pia/%d", id) }

func notFoundPIA(id int64) error { return fault.New(fault.NotFound, "there is no PIA %d", id) }

// pia reads a PIA in tx, for by: one by may not see does not exist.
func (s *Privacy) pia(ctx context.Context, tx *Tx, by auth.Principal, id int64, lock bool) (privacy.PIA, error) {
	q := `SELECT ` + piaColumns + ` FROM pias WHERE id = $1`
	if lock {
		q += forUpdate(tx)
	}
	p, err := scanPIA(tx.QueryRow(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !by.CanIn(auth.InventoryRead, p.Component)) {
		return privacy.PIA{}, notFoundPIA(id)
	}
	return p, err
}

// authors returns who wrote a version of p's current cycle.
func (s *Privacy) authors(ctx context.Context, tx *Tx, p privacy.PIA) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT DISTINCT author_id FROM pia_versions WHERE pia_id = $1 AND version >= $2 ORDER BY author_id`, p.ID, p.CycleStart)
	return scanAll(rows, err, scanID)
}

// actor returns what by may do in the workflow of a PIA of component.
func actor(by auth.Principal, component string) privacy.Actor {
	return privacy.Actor{PersonID: by.PersonID, Name: by.Name,
		Write: by.CanIn(auth.PIAWrite, component), Review: by.CanIn(auth.PIAReview, component), Approve: by.CanIn(auth.PIAApprove, component)}
}

func checkTitle(title string) error {
	title = strings.TrimSpace(title)
	if title == "" || len([]rune(title)) > 200 {
		return privacy.Errors{{Field: "title", Message: "must be 1 to 200 characters"}}.Err("the PIA is not valid")
	}
	return nil
}

// insertVersion stores a new version of p in tx and returns its digest.
func insertVersion(ctx context.Context, tx *Tx, piaID int64, version int, doc privacy.Document, author int64, note string) (string, error) {
	enc := doc.Encode()
	digest := ledger.PayloadDigest(enc)
	_, err := tx.Exec(ctx, `INSERT INTO pia_versions (pia_id, version, document, digest, author_id, note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		piaID, version, string(enc), digest, author, note, tx.Now)
	if isUniqueViolation(err) {
		return "", fault.New(fault.Conflict, "version %d of PIA %d was saved meanwhile; reload it and apply your changes again", version, piaID)
	}
	return digest, err
}

func insertStep(ctx context.Context, tx *Tx, piaID int64, st privacy.Step) error {
	_, err := tx.Exec(ctx, `INSERT INTO pia_steps (pia_id, action, from_status, to_status, version, actor, person_id, comments, refused, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		piaID, string(st.Action), string(st.From), string(st.To), st.Version, st.Actor, st.PersonID, st.Comments, st.Refused, tx.Now)
	return err
}

func checkNote(note string) error {
	if len(note) > 1000 || strings.ContainsAny(note, "\x00\r\n") {
		return privacy.Errors{{Field: "note", Message: "must be one line of at most 1,000 bytes"}}.Err("the PIA is not valid")
	}
	return nil
}

// CreatePIA starts the PIA of a data source with its first version, a
// draft written by by.
func (s *Privacy) CreatePIA(ctx context.Context, by auth.Principal, sourceID int64, title string, doc privacy.Document, note string) (privacy.PIA, error) {
	title, note = strings.TrimSpace(title), strings.TrimSpace(note)
	doc.Normalize()
	if err := checkTitle(title); err != nil {
		return privacy.PIA{}, err
	}
	if err := checkNote(note); err != nil {
		return privacy.PIA{}, err
	}
	if err := doc.ValidateDraft(); err != nil {
		return privacy.PIA{}, err
	}
	var p privacy.PIA
	err := s.db.Update(ctx, func(tx *Tx) error {
		src, err := s.source(ctx, tx, by, sourceID, true)
		if err != nil {
			return err
		}
		if !by.CanIn(auth.PIAWrite, src.Component) || by.PersonID == 0 {
			return fault.New(fault.Forbidden, "only a security officer or component privacy officer of %s writes its PIAs", src.Component)
		}
		var existing int64
		err = tx.QueryRow(ctx, `SELECT id FROM pias WHERE source_id = $1`, sourceID).Scan(&existing)
		if err == nil {
			return fault.New(fault.Conflict, "data source %s already has PIA %d; revise that one", src.Name, existing)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		p = privacy.PIA{SourceID: sourceID, Component: src.Component, Title: title, Status: privacy.Draft, Version: 1, CycleStart: 1, CreatedAt: tx.Now, UpdatedAt: tx.Now}
		err = tx.QueryRow(ctx, `INSERT INTO pias (source_id, component, title, status, version, cycle_start, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, 1, $5, $5) RETURNING id`,
			sourceID, src.Component, title, string(p.Status), tx.Now).Scan(&p.ID)
		if isUniqueViolation(err) {
			return fault.New(fault.Conflict, "data source %s already has a PIA; revise that one", src.Name)
		}
		if err != nil {
			return err
		}
		digest, err := insertVersion(ctx, tx, p.ID, 1, doc, by.PersonID, note)
		if err != nil {
			return err
		}
		if err := insertStep(ctx, tx, p.ID, privacy.Step{Action: privacy.Edit, From: "", To: privacy.Draft, Version: 1, Actor: by.ID, PersonID: by.PersonID, Comments: note}); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "pia.created", p.Component, piaSubject(p.ID), map[string]any{
			"source_id": sourceID, "source": src.Name, "title": title, "version": 1,
		}, digest)
	})
	return p, err
}

// EditPIA saves a new version of a PIA's document. base is the version the
// author edited, which must still be the latest. Editing a published PIA
// starts a revision; the version in force stays in force meanwhile.
func (s *Privacy) EditPIA(ctx context.Context, by auth.Principal, id int64, base int, doc privacy.Document, note string) (privacy.PIA, error) {
	note = strings.TrimSpace(note)
	doc.Normalize()
	if err := checkNote(note); err != nil {
		return privacy.PIA{}, err
	}
	if err := doc.ValidateDraft(); err != nil {
		return privacy.PIA{}, err
	}
	var p privacy.PIA
	err := s.db.Update(ctx, func(tx *Tx) error {
		var err error
		if p, err = s.pia(ctx, tx, by, id, true); err != nil {
			return err
		}
		authors, err := s.authors(ctx, tx, p)
		if err != nil {
			return err
		}
		if _, err := privacy.Next(p.Case(authors), privacy.Edit, actor(by, p.Component), &chainInTx{ctx: ctx, tx: tx}); err != nil {
			return err
		}
		if base != p.Version {
			return fault.New(fault.Conflict, "you edited version %d, but version %d is the latest; reload it and apply your changes again", base, p.Version)
		}
		var latest string
		if err := tx.QueryRow(ctx, `SELECT document FROM pia_versions WHERE pia_id = $1 AND version = $2`, id, p.Version).Scan(&latest); err != nil {
			return err
		}
		if bytes.Equal([]byte(latest), doc.Encode()) {
			return fault.New(fault.Invalid, "the document is the same as version %d; nothing to save", p.Version)
		}
		from := p.Status
		p.Version++
		if from == privacy.Published {
			// A new revision: its authors are the ones to keep apart from
			// its review.
			p.CycleStart, p.SubmittedVersion, p.SubmittedAt, p.SubmittedBy = p.Version, 0, time.Time{}, 0
			p.ApprovedVersion, p.ApprovedBy, p.ApprovedAt, p.ExpiresAt = 0, 0, time.Time{}, time.Time{}
		}
		p.Status, p.UpdatedAt = privacy.Draft, tx.Now
		digest, err := insertVersion(ctx, tx, id, p.Version, doc, by.PersonID, note)
		if err != nil {
			return err
		}
		r, err := tx.Exec(ctx, `UPDATE pias SET status = $1, version = $2, cycle_start = $3, submitted_version = $4, submitted_at = $5, submitted_by = $6,
			approved_version = $7, approved_by = $8, approved_at = $9, expires_at = $10, updated_at = $11 WHERE id = $12 AND version = $13`,
			string(p.Status), p.Version, p.CycleStart, p.SubmittedVersion, nullTime(p.SubmittedAt), p.SubmittedBy,
			p.ApprovedVersion, p.ApprovedBy, nullTime(p.ApprovedAt), nullTime(p.ExpiresAt), tx.Now, id, p.Version-1)
		if err := oneRow(r, err, id); err != nil {
			return err
		}
		if err := insertStep(ctx, tx, id, privacy.Step{Action: privacy.Edit, From: from, To: p.Status, Version: p.Version, Actor: by.ID, PersonID: by.PersonID, Comments: note}); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "pia.edited", p.Component, piaSubject(id), map[string]any{
			"from": string(from), "to": string(p.Status), "version": p.Version,
		}, digest)
	})
	if err != nil {
		return privacy.PIA{}, s.refused(ctx, by, id, err)
	}
	return p, nil
}

// oneRow checks that a conditional update changed exactly one row: another
// transaction may have moved the PIA meanwhile.
func oneRow(r sql.Result, err error, id int64) error {
	if err != nil {
		return err
	}
	if n, err := r.RowsAffected(); err != nil || n != 1 {
		return fault.New(fault.Conflict, "PIA %d changed meanwhile; reload it and try again", id)
	}
	return nil
}

// A StepInput is what a workflow step may carry.
type StepInput struct {
	// Comments are the reviewer's; required to return a PIA.
	Comments string
	// Prior is the earlier approval [privacy.RecordPrior] records.
	Prior privacy.Prior
}

// piaApprovalMonths reads the approval validity setting in tx.
func piaApprovalMonths(ctx context.Context, tx *Tx) (int, error) {
	d, _ := settings.Lookup(settings.PIAApprovalMonths)
	months := int(d.Default.(int64))
	var v string
	err := tx.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, settings.PIAApprovalMonths).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return months, nil
	case err != nil:
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("setting %s holds %q, not a number of months", settings.PIAApprovalMonths, v)
	}
	return n, nil
}

// Step takes a workflow step on a PIA — submit, review (forward), return,
// approve, publish or record a prior approval — and records it in the
// ledger. A step out of order, by the wrong role, or by someone who wrote
// the PIA (or supervises one who did) is refused, and the refusal is
// recorded too.
func (s *Privacy) Step(ctx context.Context, by auth.Principal, id int64, a privacy.Action, in StepInput) (privacy.PIA, error) {
	if a == privacy.Edit {
		return privacy.PIA{}, fault.New(fault.Invalid, "a PIA is edited by saving a new version")
	}
	in.Comments = strings.TrimSpace(in.Comments)
	if err := privacy.ValidateComments(a, in.Comments); err != nil {
		return privacy.PIA{}, err
	}
	var p privacy.PIA
	err := s.db.Update(ctx, func(tx *Tx) error {
		var err error
		if p, err = s.pia(ctx, tx, by, id, true); err != nil {
			return err
		}
		authors, err := s.authors(ctx, tx, p)
		if err != nil {
			return err
		}
		chain := &chainInTx{ctx: ctx, tx: tx}
		next, err := privacy.Next(p.Case(authors), a, actor(by, p.Component), chain)
		if chain.err != nil {
			return chain.err
		}
		if err != nil {
			return err
		}
		from, version := p.Status, p.Version
		data := map[string]any{"from": string(from), "to": string(next), "version": version}
		switch a {
		case privacy.Submit:
			var enc string
			if err := tx.QueryRow(ctx, `SELECT document FROM pia_versions WHERE pia_id = $1 AND version = $2`, id, p.Version).Scan(&enc); err != nil {
				return err
			}
			var doc privacy.Document
			if err := json.Unmarshal([]byte(enc), &doc); err != nil {
				return fmt.Errorf("PIA %d version %d: %w", id, p.Version, err)
			}
			if err := doc.ValidateComplete(); err != nil {
				return err
			}
			p.SubmittedVersion, p.SubmittedAt, p.SubmittedBy = p.Version, tx.Now, by.PersonID
		case privacy.Approve:
			months, err := piaApprovalMonths(ctx, tx)
			if err != nil {
				return err
			}
			p.ApprovedVersion, p.ApprovedBy, p.ApprovedAt, p.ExpiresAt = p.SubmittedVersion, by.PersonID, tx.Now, tx.Now.AddDate(0, months, 0)
			version = p.ApprovedVersion
			data["version"], data["expires_on"] = version, dateOnly(p.ExpiresAt)
		case privacy.Publish:
			p.EffectiveVersion, p.EffectiveApprovedAt, p.EffectiveExpiresAt, p.EffectivePublishedAt, p.EffectivePrior = p.ApprovedVersion, p.ApprovedAt, p.ExpiresAt, tx.Now, ""
			version = p.EffectiveVersion
			data["version"], data["expires_on"] = version, dateOnly(p.EffectiveExpiresAt)
			// The source change that made the PIA out of date is answered
			// by a version submitted after it.
			if !p.UpdateRequiredAt.IsZero() && !p.SubmittedAt.Before(p.UpdateRequiredAt) {
				p.UpdateRequiredAt, p.UpdateReason = time.Time{}, ""
				data["update_answered"] = true
			}
		case privacy.RecordPrior:
			pr := in.Prior
			pr.ApprovedOn = pr.ApprovedOn.UTC().Truncate(24 * time.Hour)
			pr.Approver, pr.Reference = strings.TrimSpace(pr.Approver), strings.TrimSpace(pr.Reference)
			if err := pr.Validate(tx.Now); err != nil {
				return err
			}
			months, err := piaApprovalMonths(ctx, tx)
			if err != nil {
				return err
			}
			p.ApprovedVersion, p.ApprovedBy, p.ApprovedAt, p.ExpiresAt = p.Version, by.PersonID, pr.ApprovedOn, pr.ApprovedOn.AddDate(0, months, 0)
			p.EffectiveVersion, p.EffectiveApprovedAt, p.EffectiveExpiresAt, p.EffectivePublishedAt = p.Version, p.ApprovedAt, p.ExpiresAt, tx.Now
			p.EffectivePrior = pr.Reference
			in.Comments = fmt.Sprintf("approved on %s by %s (%s)", dateOnly(pr.ApprovedOn), pr.Approver, pr.Reference)
			data["approved_on"], data["approver"], data["reference"], data["expires_on"] = dateOnly(pr.ApprovedOn), pr.Approver, pr.Reference, dateOnly(p.ExpiresAt)
		}
		p.Status, p.UpdatedAt = next, tx.Now
		r, err := tx.Exec(ctx, `UPDATE pias SET status = $1, submitted_version = $2, submitted_at = $3, submitted_by = $4,
			approved_version = $5, approved_by = $6, approved_at = $7, expires_at = $8,
			effective_version = $9, effective_approved_at = $10, effective_expires_at = $11, effective_published_at = $12, effective_prior = $13,
			update_required_at = $14, update_reason = $15, updated_at = $16 WHERE id = $17 AND status = $18 AND version = $19`,
			string(p.Status), p.SubmittedVersion, nullTime(p.SubmittedAt), p.SubmittedBy,
			p.ApprovedVersion, p.ApprovedBy, nullTime(p.ApprovedAt), nullTime(p.ExpiresAt),
			p.EffectiveVersion, nullTime(p.EffectiveApprovedAt), nullTime(p.EffectiveExpiresAt), nullTime(p.EffectivePublishedAt), p.EffectivePrior,
			nullTime(p.UpdateRequiredAt), p.UpdateReason, tx.Now, id, string(from), p.Version)
		if err := oneRow(r, err, id); err != nil {
			return err
		}
		if err := insertStep(ctx, tx, id, privacy.Step{Action: a, From: from, To: next, Version: version, Actor: by.ID, PersonID: by.PersonID, Comments: in.Comments}); err != nil {
			return err
		}
		digest := ""
		if in.Comments != "" && a != privacy.RecordPrior {
			// Reviewers' comments stay in their table; the ledger commits
			// to them.
			digest = ledger.PayloadDigest([]byte(in.Comments))
		}
		return s.record(ctx, tx, by.Actor(), "pia."+eventName(a), p.Component, piaSubject(id), data, digest)
	})
	if err != nil {
		return privacy.PIA{}, s.refused(ctx, by, id, err)
	}
	return p, nil
}

func eventName(a privacy.Action) string {
	switch a {
	case privacy.Submit:
		return "submitted"
	case privacy.Accept:
		return "reviewed"
	case privacy.Return:
		return "returned"
	case privacy.Approve:
		return "approved"
	case privacy.Publish:
		return "published"
	case privacy.RecordPrior:
		return "prior_approval_recorded"
	}
	return string(a)
}

// refused records a refused workflow step, in a transaction of its own
// (the step's rolled back), and returns err. Other errors pass through.
// The refusal is recorded even if the caller has gone: ctx's cancellation
// does not stop it.
func (s *Privacy) refused(ctx context.Context, by auth.Principal, id int64, err error) error {
	se, ok := errors.AsType[*privacy.StepError](err)
	if !ok {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	rerr := s.db.Update(ctx, func(tx *Tx) error {
		var component string
		var version int
		if err := tx.QueryRow(ctx, `SELECT component, version FROM pias WHERE id = $1`, id).Scan(&component, &version); err != nil {
			return err
		}
		if err := insertStep(ctx, tx, id, privacy.Step{Action: se.Action, From: se.Status, To: se.Status, Version: version, Actor: by.ID, PersonID: by.PersonID, Refused: se.Reason}); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "pia.step_refused", component, piaSubject(id), map[string]any{
			"action": string(se.Action), "status": string(se.Status), "code": se.Code, "reason": se.Reason,
		}, "")
	})
	if rerr != nil {
		return fault.Wrap(errors.Join(err, rerr), fault.Unavailable, "%s; the refusal could not be recorded, so nothing may proceed until the ledger works again", fault.MessageOf(err))
	}
	return err
}

// PIA returns a PIA by may see.
func (s *Privacy) PIA(ctx context.Context, by auth.Principal, id int64) (privacy.PIA, error) {
	return viewOne(ctx, s.db, func(tx *Tx) (privacy.PIA, error) {
		return s.pia(ctx, tx, by, id, false)
	})
}

// PIAOfSource returns the PIA of a data source by may see.
func (s *Privacy) PIAOfSource(ctx context.Context, by auth.Principal, sourceID int64) (privacy.PIA, error) {
	var p privacy.PIA
	err := s.db.View(ctx, func(tx *Tx) error {
		src, err := s.source(ctx, tx, by, sourceID, false)
		if err != nil {
			return err
		}
		p, err = scanPIA(tx.QueryRow(ctx, `SELECT `+piaColumns+` FROM pias WHERE source_id = $1`, sourceID))
		if errors.Is(err, sql.ErrNoRows) {
			return fault.New(fault.NotFound, "data source %s has no PIA", src.Name)
		}
		return err
	})
	return p, err
}

// A PIAFilter selects PIAs to list.
type PIAFilter struct {
	Component string
	Status    privacy.Status
}

// PIAs lists the PIAs by may see.
func (s *Privacy) PIAs(ctx context.Context, by auth.Principal, f PIAFilter) ([]privacy.PIA, error) {
	w, err := inventoryWhere(by, f.Component)
	if err != nil {
		return nil, err
	}
	if f.Status != "" {
		w.eq("status", string(f.Status))
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+piaColumns+` FROM pias`+w.String()+` ORDER BY component, id`, w.args...)
	return scanAll(rows, err, scanPIA)
}

// Steps returns a PIA's workflow steps, done and refused, oldest first.
func (s *Privacy) Steps(ctx context.Context, by auth.Principal, id int64) ([]privacy.Step, error) {
	out := []privacy.Step{}
	err := s.db.View(ctx, func(tx *Tx) error {
		if _, err := s.pia(ctx, tx, by, id, false); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT action, from_status, to_status, version, actor, person_id, comments, refused, at FROM pia_steps WHERE pia_id = $1 ORDER BY id`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st privacy.Step
			if err := rows.Scan(&st.Action, &st.From, &st.To, &st.Version, &st.Actor, &st.PersonID, &st.Comments, &st.Refused, &st.At); err != nil {
				return err
			}
			out = append(out, st)
		}
		return rows.Err()
	})
	return out, err
}

// Versions returns a PIA's versions, oldest first; with documents when
// full is set.
func (s *Privacy) Versions(ctx context.Context, by auth.Principal, id int64, full bool) ([]privacy.Version, error) {
	out := []privacy.Version{}
	err := s.db.View(ctx, func(tx *Tx) error {
		if _, err := s.pia(ctx, tx, by, id, false); err != nil {
			return err
		}
		doc := `''`
		if full {
			doc = `document`
		}
		rows, err := tx.Query(ctx, `SELECT version, `+doc+`, digest, author_id, note, created_at FROM pia_versions WHERE pia_id = $1 ORDER BY version`, id)
		out, err = scanAll(rows, err, func(sc scanner) (privacy.Version, error) { return scanVersion(sc, full) })
		return err
	})
	return out, err
}

func scanVersion(sc scanner, full bool) (privacy.Version, error) {
	var v privacy.Version
	var enc string
	if err := sc.Scan(&v.Number, &enc, &v.Digest, &v.AuthorID, &v.Note, &v.CreatedAt); err != nil {
		return v, err
	}
	if full {
		if err := json.Unmarshal([]byte(enc), &v.Document); err != nil {
			return v, fmt.Errorf("version %d: %w", v.Number, err)
		}
	}
	return v, nil
}

// Version returns one version of a PIA, with its document.
func (s *Privacy) Version(ctx context.Context, by auth.Principal, id int64, number int) (privacy.Version, error) {
	return viewOne(ctx, s.db, func(tx *Tx) (privacy.Version, error) {
		return s.version(ctx, tx, by, id, number)
	})
}

func (s *Privacy) version(ctx context.Context, tx *Tx, by auth.Principal, id int64, number int) (privacy.Version, error) {
	if _, err := s.pia(ctx, tx, by, id, false); err != nil {
		return privacy.Version{}, err
	}
	v, err := scanVersion(tx.QueryRow(ctx, `SELECT version, document, digest, author_id, note, created_at FROM pia_versions WHERE pia_id = $1 AND version = $2`, id, number), true)
	if errors.Is(err, sql.ErrNoRows) {
		return v, fault.New(fault.NotFound, "PIA %d has no version %d", id, number)
	}
	return v, err
}

// Diff returns two versions of a PIA and how the second differs from the
// first, field by field.
func (s *Privacy) Diff(ctx context.Context, by auth.Principal, id int64, from, to int) (a, b privacy.Version, changes []privacy.Change, err error) {
	err = s.db.View(ctx, func(tx *Tx) error {
		var err error
		if a, err = s.version(ctx, tx, by, id, from); err != nil {
			return err
		}
		if b, err = s.version(ctx, tx, by, id, to); err != nil {
			return err
		}
		changes = privacy.Diff(a.Document, b.Document)
		return nil
	})
	return a, b, changes, err
}

// Subjects of PTAs and compliance reviews.

// subjectComponent returns the component of a "source/ID" or "system/ID"
// subject by may see.
func (s *Privacy) subjectComponent(ctx context.Context, tx *Tx, by auth.Principal, subject string) (string, error) {
	kind, id, err := privacy.ValidateSubject(subject)
	if err != nil {
		return "", err
	}
	if kind == "source" {
		src, err := s.source(ctx, tx, by, id, false)
		return src.Component, err
	}
	sys, err := s.system(ctx, tx, by, id, false)
	return sys.Component, err
}

// PTAs.

// RecordPTA records a Privacy Threshold Analysis of a data source or
// system: the answers and the outcome they decide.
func (s *Privacy) RecordPTA(ctx context.Context, by auth.Principal, subject string, answers privacy.PTAAnswers) (privacy.PTA, error) {
	outcome, err := privacy.AssessPTA(answers)
	if err != nil {
		return privacy.PTA{}, err
	}
	pta := privacy.PTA{Subject: subject, Answers: answers, Outcome: outcome, AuthorID: by.PersonID}
	err = s.db.Update(ctx, func(tx *Tx) error {
		var err error
		if pta.Component, err = s.subjectComponent(ctx, tx, by, subject); err != nil {
			return err
		}
		if !by.CanIn(auth.PIAWrite, pta.Component) || by.PersonID == 0 {
			return fault.New(fault.Forbidden, "only a security officer or component privacy officer of %s records its privacy threshold analyses", pta.Component)
		}
		ans, _ := json.Marshal(answers)
		out, _ := json.Marshal(outcome)
		pta.CreatedAt = tx.Now
		if err := tx.QueryRow(ctx, `INSERT INTO ptas (subject, component, answers, outcome, author_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			subject, pta.Component, string(ans), string(out), by.PersonID, tx.Now).Scan(&pta.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "pta.recorded", pta.Component, fmt.Sprintf("pta/%d", pta.ID), map[string]any{
			"subject": subject, "pia_required": outcome.PIARequired, "sorn_required": outcome.SORNRequired,
		}, ledger.PayloadDigest(ans))
	})
	return pta, err
}

const ptaColumns = `id, subject, component, answers, outcome, author_id, created_at`

func scanPTA(sc scanner) (privacy.PTA, error) {
	var p privacy.PTA
	var ans, out string
	if err := sc.Scan(&p.ID, &p.Subject, &p.Component, &ans, &out, &p.AuthorID, &p.CreatedAt); err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(ans), &p.Answers); err != nil {
		return p, fmt.Errorf("PTA %d: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(out), &p.Outcome); err != nil {
		return p, fmt.Errorf("PTA %d: %w", p.ID, err)
	}
	return p, nil
}

// PTA returns a PTA by may see.
func (s *Privacy) PTA(ctx context.Context, by auth.Principal, id int64) (privacy.PTA, error) {
	p, err := scanPTA(s.db.read.QueryRowContext(ctx, `SELECT `+ptaColumns+` FROM ptas WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !by.CanIn(auth.InventoryRead, p.Component)) {
		return privacy.PTA{}, fault.New(fault.NotFound, "there is no PTA %d", id)
	}
	return p, err
}

// PTAs lists the PTAs by may see, newest first, of one subject or all.
func (s *Privacy) PTAs(ctx context.Context, by auth.Principal, subject string) ([]privacy.PTA, error) {
	var w where
	if err := w.scope(by, auth.InventoryRead, "component"); err != nil {
		return nil, err
	}
	if subject != "" {
		w.eq("subject", subject)
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+ptaColumns+` FROM ptas`+w.String()+` ORDER BY id DESC`, w.args...)
	return scanAll(rows, err, scanPTA)
}

// Privacy compliance reviews.

const pcrColumns = `id, subject, component, title, assignee_id, due_at, assigned_by, assigned_at, completed_at, completed_by, result, findings`

func scanPCR(sc scanner) (privacy.PCR, error) {
	var p privacy.PCR
	var done sql.NullTime
	err := sc.Scan(&p.ID, &p.Subject, &p.Component, &p.Title, &p.AssigneeID, &p.DueAt, &p.AssignedBy, &p.AssignedAt, &done, &p.CompletedBy, &p.Result, &p.Findings)
	p.CompletedAt = done.Time
	return p, err
}

// AssignPCR assigns a privacy compliance review of a data source or system
// to a privacy officer, due on a date.
func (s *Privacy) AssignPCR(ctx context.Context, by auth.Principal, p privacy.PCR) (privacy.PCR, error) {
	p.Title = strings.TrimSpace(p.Title)
	p.DueAt = p.DueAt.UTC()
	if err := p.ValidateAssignment(s.db.now()); err != nil {
		return p, err
	}
	err := s.db.Update(ctx, func(tx *Tx) error {
		var err error
		if p.Component, err = s.subjectComponent(ctx, tx, by, p.Subject); err != nil {
			return err
		}
		if !by.CanIn(auth.PCRManage, p.Component) {
			return fault.New(fault.Forbidden, "only a privacy officer assigns compliance reviews of %s", p.Component)
		}
		// The assignee is a privacy officer for the component, with an
		// active account.
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM grants g JOIN people x ON x.id = g.person_id
			WHERE g.person_id = $1 AND g.status = 'active' AND x.status = 'active'
			AND ((g.role = 'component_privacy_officer' AND g.component = $2) OR g.role = 'department_privacy_officer')`, p.AssigneeID, p.Component).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return privacy.Errors{{Field: "assignee_id", Message: fmt.Sprintf("person %d is not an active privacy officer for %s", p.AssigneeID, p.Component)}}.Err("the compliance review is not valid")
		}
		p.AssignedBy, p.AssignedAt = by.ID, tx.Now
		if err := tx.QueryRow(ctx, `INSERT INTO pcrs (subject, component, title, assignee_id, due_at, assigned_by, assigned_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			p.Subject, p.Component, p.Title, p.AssigneeID, p.DueAt, by.ID, tx.Now).Scan(&p.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "pcr.assigned", p.Component, fmt.Sprintf("pcr/%d", p.ID), map[string]any{
			"subject": p.Subject, "title": p.Title, "assignee_id": p.AssigneeID, "due_on": dateOnly(p.DueAt),
		}, "")
	})
	return p, err
}

// CompletePCR records a review's result and findings; only its assignee
// completes it.
func (s *Privacy) CompletePCR(ctx context.Context, by auth.Principal, id int64, result privacy.PCRResult, findings string) (privacy.PCR, error) {
	findings = strings.TrimSpace(findings)
	if err := privacy.ValidateCompletion(result, findings); err != nil {
		return privacy.PCR{}, err
	}
	var p privacy.PCR
	err := s.db.Update(ctx, func(tx *Tx) error {
		var err error
		p, err = scanPCR(tx.QueryRow(ctx, `SELECT `+pcrColumns+` FROM pcrs WHERE id = $1`+forUpdate(tx), id))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !by.CanIn(auth.InventoryRead, p.Component)) {
			return fault.New(fault.NotFound, "there is no compliance review %d", id)
		}
		if err != nil {
			return err
		}
		if !by.CanIn(auth.PCRManage, p.Component) || by.PersonID != p.AssigneeID {
			return fault.New(fault.Forbidden, "only the privacy officer the review is assigned to (person %d) completes it", p.AssigneeID)
		}
		if !p.Open() {
			return fault.New(fault.Conflict, "compliance review %d was completed on %s", id, dateOnly(p.CompletedAt))
		}
		p.CompletedAt, p.CompletedBy, p.Result, p.Findings = tx.Now, by.PersonID, result, findings
		if _, err := tx.Exec(ctx, `UPDATE pcrs SET completed_at = $1, completed_by = $2, result = $3, findings = $4 WHERE id = $5`,
			tx.Now, by.PersonID, string(result), findings, id); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "pcr.completed", p.Component, fmt.Sprintf("pcr/%d", id), map[string]any{
			"subject": p.Subject, "result": string(result), "overdue": !tx.Now.Before(p.DueAt),
		}, ledger.PayloadDigest([]byte(findings)))
	})
	return p, err
}

// A PCRFilter selects compliance reviews to list.
type PCRFilter struct {
	Subject string
	// Open lists only reviews not yet completed; Overdue only open ones
	// past their due date.
	Open, Overdue bool
}

// PCRs lists the compliance reviews by may see, by due date.
func (s *Privacy) PCRs(ctx context.Context, by auth.Principal, f PCRFilter) ([]privacy.PCR, error) {
	var w where
	if err := w.scope(by, auth.InventoryRead, "component"); err != nil {
		return nil, err
	}
	if f.Subject != "" {
		w.eq("subject", f.Subject)
	}
	if f.Open || f.Overdue {
		w.add("completed_at IS NULL")
	}
	if f.Overdue {
		w.add("due_at <= " + w.arg(s.db.now()))
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+pcrColumns+` FROM pcrs`+w.String()+` ORDER BY due_at, id`, w.args...)
	return scanAll(rows, err, scanPCR)
}

var _ identity.Chain = (*chainInTx)(nil)
