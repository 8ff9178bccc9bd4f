package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/review"
	"github.com/probity-dev/probity/internal/settings"
)

// Reviews is the store of post-hoc reviews: every executed query
// (completed or withheld, break-glass ones included) gets one, due within
// the installation's review_sla_days business days (a break-glass query
// within 24 hours), assigned to the nearest supervisor above its
// requester (or, when there is none, to the privacy office of its
// component). Every step — a review opened, escalated, decided — is
// recorded in the ledger in the same transaction, under the subject
// query/ID, so a query's history holds its review.
//
// Who sees and decides what:
//   - a supervisor sees and decides the reviews of the people below them
//     in their chain, never their own nor those of anyone above them;
//   - the component privacy officers and auditors of the query's
//     component, and the department's, see them; a privacy officer
//     decides a review that has no supervisor to go to;
//   - a requester sees the reviews of their own queries.
type Reviews struct {
	db     *DB
	alerts *Alerts
}

// Reviews returns the review store over db; a reviewer's referral to the
// privacy office raises an alert in a, and people are told through a's
// outbox.
func (db *DB) Reviews(a *Alerts) *Reviews {
	if a == nil {
		a = db.Alerts(nil)
	}
	return &Reviews{db: db, alerts: a}
}

// A Review is the review of one executed query.
type Review struct {
	QueryID     int64
	Component   string
	RequesterID int64
	Requester   string // employee ID
	CaseNumber  string
	Kind        query.Kind
	QueryStatus query.Status
	Tier        query.Tier
	BreakGlass  bool
	CompletedAt time.Time
	DueAt       time.Time
	// AssigneeID is the supervisor the review is assigned to; 0 for the
	// privacy office of the component.
	AssigneeID  int64
	Assignee    string
	Escalations int
	Status      review.Status
	Decision    review.Decision
	Note        string
	DecidedBy   string
	DecidedAt   time.Time
	Bulk        bool
	CreatedAt   time.Time
}

// Overdue reports whether r is pending past its due time at now.
func (r Review) Overdue(now time.Time) bool { return r.Status == review.Pending && now.After(r.DueAt) }

const reviewColumns = `r.query_id, r.component, r.requester_id, rp.employee_id, q.case_number, q.kind, q.status, r.tier, r.break_glass,
	r.completed_at, r.due_at, COALESCE(r.assignee_id, 0), COALESCE(ap.employee_id, ''), r.escalations, r.status, r.decision, r.note,
	COALESCE(dp.employee_id, ''), r.decided_at, r.bulk, r.created_at`

const reviewFrom = ` FROM reviews r JOIN queries q ON q.id = r.query_id JOIN people rp ON rp.id = r.requester_id
	LEFT JOIN people ap ON ap.id = r.assignee_id LEFT JOIN people dp ON dp.id = r.decided_by`

func scanReview(sc scanner) (Review, error) {
	var r Review
	var decided sql.NullTime
	err := sc.Scan(&r.QueryID, &r.Component, &r.RequesterID, &r.Requester, &r.CaseNumber, &r.Kind, &r.QueryStatus, &r.Tier, &r.BreakGlass,
		&r.CompletedAt, &r.DueAt, &r.AssigneeID, &r.Assignee, &r.Escalations, &r.Status, &r.Decision, &r.Note,
		&r.DecidedBy, &decided, &r.Bulk, &r.CreatedAt)
	r.DecidedAt = decided.Time
	return r, err
}

func querySubject(id int64) string { return "query/" + strconv.FormatInt(id, 10) }

// settingInt reads an integer setting in tx, or its default.
func settingInt(ctx context.Context, tx *Tx, name string) int64 {
	d, _ := settings.Lookup(name)
	def, _ := d.Default.(int64)
	var v string
	if err := tx.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v); err != nil {
		return def
	}
	var n int64
	if json.Unmarshal([]byte(v), &n) != nil {
		return def
	}
	return n
}

// personZone returns the time zone of a person's duty schedule, UTC when
// it has none.
func personZone(ctx context.Context, tx *Tx, person int64) (*time.Location, error) {
	var sched string
	if err := tx.QueryRow(ctx, `SELECT schedule FROM people WHERE id = $1`, person).Scan(&sched); err != nil {
		return nil, fmt.Errorf("read the schedule of person %d: %w", person, err)
	}
	var s identity.Schedule
	if json.Unmarshal([]byte(sched), &s) != nil || s.TimeZone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return time.UTC, nil
	}
	return loc, nil
}

// Open opens the review of an executed query in tx, unless it has one,
// and reports whether it did, with the ledger entry "review.opened". A
// break-glass query's approvers and privacy officers are told at once.
// The query path may call it in the transaction that completes a query;
// [Reviews.OpenMissing] opens those it did not.
func (s *Reviews) Open(ctx context.Context, tx *Tx, q QueryRecord) (bool, error) {
	if q.Status != query.Completed && q.Status != query.Withheld {
		return false, fault.New(fault.Invalid, "query %d is %s; only executed queries (completed or withheld) are reviewed", q.ID, strings.ReplaceAll(string(q.Status), "_", " "))
	}
	if s.db.ledger == nil {
		return false, fault.New(fault.Internal, "the ledger is not open")
	}
	done := q.CompletedAt
	if done.IsZero() {
		done = tx.Now
	}
	loc, err := personZone(ctx, tx, q.PersonID)
	if err != nil {
		return false, err
	}
	due := review.DueAt(done, int(settingInt(ctx, tx, settings.ReviewSLADays)), q.BreakGlass, loc)
	chain := &chainInTx{ctx: ctx, tx: tx}
	eligible, errf := supervisorCheck(ctx, tx)
	assignee := review.Reviewer(chain, q.PersonID, eligible)
	if err := errors.Join(chain.err, errf()); err != nil {
		return false, fmt.Errorf("find the reviewer of query %d: %w", q.ID, err)
	}
	r, err := tx.Exec(ctx, `INSERT INTO reviews (query_id, component, requester_id, tier, break_glass, completed_at, due_at, assignee_id, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9) ON CONFLICT (query_id) DO NOTHING`,
		q.ID, q.Component, q.PersonID, int(q.Tier), q.BreakGlass, done.UTC(), due, nullInt(assignee), tx.Now)
	if err != nil {
		return false, fmt.Errorf("open the review of query %d: %w", q.ID, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return false, nil
	}
	data := map[string]any{"assignee": "", "due_at": due.Format(time.RFC3339), "tier": q.Tier.String(), "status": string(q.Status)}
	if assignee != 0 {
		emp, err := employeeID(ctx, tx, assignee)
		if err != nil {
			return false, err
		}
		data["assignee"] = emp
	}
	if q.BreakGlass {
		data["break_glass"] = true
		told, err := s.alerts.notify.NotifyBreakGlass(ctx, tx, q)
		if err != nil {
			return false, err
		}
		data["notified"] = told
	}
	_, err = s.db.ledger.Append(ctx, tx, ledger.Event{Type: "review.opened", Actor: SystemActor, Component: q.Component, Subject: querySubject(q.ID), Data: data})
	return err == nil, err
}

func employeeID(ctx context.Context, tx *Tx, person int64) (string, error) {
	var emp string
	if err := tx.QueryRow(ctx, `SELECT employee_id FROM people WHERE id = $1`, person).Scan(&emp); err != nil {
		return "", fmt.Errorf("read person %d: %w", person, err)
	}
	return emp, nil
}

// OpenMissing opens the review of every executed query that has none
// (each in its own transaction), and returns how many it opened. It is
// Probity's periodic job, run at start-up too, so that no executed query
// goes unreviewed, whatever path completed it.
func (s *Reviews) OpenMissing(ctx context.Context) (int, error) { return s.openMissing(ctx, false) }

// OpenBreakGlass is [Reviews.OpenMissing] for break-glass queries only,
// whose approvers must be told at once: Probity runs it every minute.
func (s *Reviews) OpenBreakGlass(ctx context.Context) (int, error) { return s.openMissing(ctx, true) }

func (s *Reviews) openMissing(ctx context.Context, breakGlass bool) (int, error) {
	n := 0
	var after int64
	only := ""
	if breakGlass {
		only = " AND q.break_glass"
	}
	for {
		rows, err := s.db.read.QueryContext(ctx, `SELECT q.id FROM queries q LEFT JOIN reviews r ON r.query_id = q.id
			WHERE q.status IN ('completed', 'withheld') AND r.query_id IS NULL AND q.id > $1`+only+` ORDER BY q.id LIMIT 200`, after)
		ids, err := scanAll(rows, err, scanID)
		if err != nil {
			return n, fmt.Errorf("find executed queries without a review: %w", err)
		}
		if len(ids) == 0 {
			return n, nil
		}
		var errs []error
		for _, id := range ids {
			after = id
			err := s.db.Update(ctx, func(tx *Tx) error {
				q, err := s.db.Queries().Get(ctx, tx, id, true)
				if err != nil {
					return err
				}
				opened, err := s.Open(ctx, tx, q)
				if opened {
					n++
				}
				return err
			})
			if err != nil {
				if ctx.Err() != nil {
					return n, ctx.Err()
				}
				errs = append(errs, fmt.Errorf("query %d: %w", id, err))
			}
		}
		if len(errs) > 0 {
			return n, errors.Join(errs...)
		}
	}
}

// Escalate sends every overdue review to the next supervisor up the
// requester's chain, or to the privacy office of the component when
// there is none, each in its own transaction with the ledger entry
// "review.escalated", and tells the new reviewers. It returns how many it
// escalated. A review already with the privacy office stays there.
func (s *Reviews) Escalate(ctx context.Context) (int, error) {
	n := 0
	var after int64
	now := s.db.Now()
	for {
		rows, err := s.db.read.QueryContext(ctx, `SELECT query_id FROM reviews WHERE status = 'pending' AND assignee_id IS NOT NULL AND due_at < $1 AND query_id > $2
			ORDER BY query_id LIMIT 200`, now, after)
		ids, err := scanAll(rows, err, scanID)
		if err != nil {
			return n, fmt.Errorf("find overdue reviews: %w", err)
		}
		if len(ids) == 0 {
			return n, nil
		}
		var errs []error
		for _, id := range ids {
			after = id
			var done bool
			err := s.db.Update(ctx, func(tx *Tx) error {
				var err error
				done, err = s.escalate(ctx, tx, id)
				return err
			})
			if err != nil {
				if ctx.Err() != nil {
					return n, ctx.Err()
				}
				errs = append(errs, fmt.Errorf("query %d: %w", id, err))
			} else if done {
				n++
			}
		}
		if len(errs) > 0 {
			return n, errors.Join(errs...)
		}
	}
}

func (s *Reviews) escalate(ctx context.Context, tx *Tx, id int64) (bool, error) {
	r, err := s.get(ctx, tx, id, true)
	if err != nil {
		return false, err
	}
	if r.Status != review.Pending || r.AssigneeID == 0 || !tx.Now.After(r.DueAt) {
		return false, nil // decided or escalated meanwhile
	}
	chain := &chainInTx{ctx: ctx, tx: tx}
	eligible, errf := supervisorCheck(ctx, tx)
	next := review.NextReviewer(chain, r.RequesterID, r.AssigneeID, eligible)
	if err := errors.Join(chain.err, errf()); err != nil {
		return false, fmt.Errorf("find the next reviewer: %w", err)
	}
	loc, err := personZone(ctx, tx, r.RequesterID)
	if err != nil {
		return false, err
	}
	due := review.EscalatedDueAt(tx.Now, r.BreakGlass, loc)
	if _, err := tx.Exec(ctx, `UPDATE reviews SET assignee_id = $1, due_at = $2, escalations = escalations + 1, updated_at = $3 WHERE query_id = $4 AND status = 'pending'`,
		nullInt(next), due, tx.Now, id); err != nil {
		return false, fmt.Errorf("escalate the review of query %d: %w", id, err)
	}
	to := []int64{next}
	nextID, where := "", "the privacy office of "+r.Component
	if next == 0 {
		if to, err = holders(ctx, tx, auth.ComponentPrivacyOfficer, r.Component, false); err != nil {
			return false, err
		}
	} else {
		if nextID, err = employeeID(ctx, tx, next); err != nil {
			return false, err
		}
		where = nextID
	}
	to = slices.DeleteFunc(to, func(p int64) bool { return p == r.RequesterID })
	link := "api/v1/reviews/" + strconv.FormatInt(id, 10)
	told, err := s.alerts.notify.Notify(ctx, tx, Notice{Kind: "review.escalated", Subject: querySubject(id) + "/escalation-" + strconv.Itoa(r.Escalations+1), Component: r.Component,
		Title: fmt.Sprintf("Overdue review of query %d escalated to you", id),
		Body: fmt.Sprintf("The review of query %d (%s tier, by %s) was due %s and was not done; it now goes to %s, due %s.\n\nReview it in Probity: %s",
			id, r.Tier, r.Requester, r.DueAt.UTC().Format(time.RFC3339), where, due.Format(time.RFC3339), link),
		Link: link, To: to})
	if err != nil {
		return false, err
	}
	_, err = s.db.ledger.Append(ctx, tx, ledger.Event{Type: "review.escalated", Actor: SystemActor, Component: r.Component, Subject: querySubject(id),
		Data: map[string]any{"from": r.Assignee, "to": nextID, "due_at": due.Format(time.RFC3339), "was_due_at": r.DueAt.UTC().Format(time.RFC3339),
			"escalations": r.Escalations + 1, "notified": told}})
	return err == nil, err
}

// get reads a review in tx, locked on PostgreSQL when lock.
func (s *Reviews) get(ctx context.Context, tx *Tx, id int64, lock bool) (Review, error) {
	q := `SELECT ` + reviewColumns + reviewFrom + ` WHERE r.query_id = $1`
	if lock && tx.Dialect() == Postgres {
		q += ` FOR UPDATE OF r`
	}
	r, err := scanReview(tx.QueryRow(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, notFoundReview(id)
	}
	if err != nil {
		return r, fmt.Errorf("read the review of query %d: %w", id, err)
	}
	return r, nil
}

func notFoundReview(id int64) error {
	return fault.New(fault.NotFound, "there is no review of query %d you may see", id)
}

// maySeeReview reports whether by may see r.
func maySeeReview(chain identity.Chain, by auth.Principal, r Review) bool {
	switch {
	case by.PersonID != 0 && by.PersonID == r.RequesterID:
		return true
	case by.CanIn(auth.ReviewsRead, r.Component) && (holds(by, auth.ComponentPrivacyOfficer, r.Component) || by.HasRole(auth.DepartmentPrivacyOfficer) || holds(by, auth.Auditor, r.Component)):
		return true
	case by.PersonID != 0 && by.HasRole(auth.Supervisor) && by.Can(auth.ReviewsRead):
		return identity.IsAbove(chain, by.PersonID, r.RequesterID)
	}
	return false
}

// mayDecide returns why by may not decide r, or nil: a supervisor above
// the requester decides; a privacy officer of the component decides a
// review that has no supervisor to go to. Nobody decides on their own
// query or on one of someone above them.
func mayDecide(chain identity.Chain, by auth.Principal, r Review) error {
	if by.Kind != ledger.ActorUser || by.PersonID == 0 || !by.Can(auth.ApprovalsDecide) {
		return fault.New(fault.Forbidden, "your roles do not include reviewing queries")
	}
	if ok, why := identity.MayReview(chain, by.PersonID, r.RequesterID); !ok {
		return fault.New(fault.Forbidden, "%s", why)
	}
	switch {
	case by.HasRole(auth.Supervisor) && identity.IsAbove(chain, by.PersonID, r.RequesterID):
		return nil
	case r.AssigneeID == 0 && (holds(by, auth.ComponentPrivacyOfficer, r.Component) || by.HasRole(auth.DepartmentPrivacyOfficer)):
		return nil
	case r.AssigneeID == 0:
		return fault.New(fault.Forbidden, "the review of query %d is with the privacy office of %s (no supervisor above %s may review it); a privacy officer of %s or a supervisor above %s decides it",
			r.QueryID, r.Component, r.Requester, r.Component, r.Requester)
	}
	return fault.New(fault.Forbidden, "the review of query %d is for a supervisor above %s (now %s); you are not one", r.QueryID, r.Requester, r.Assignee)
}

// Get returns the review of a query, if by may see it.
func (s *Reviews) Get(ctx context.Context, by auth.Principal, queryID int64) (Review, error) {
	var r Review
	err := s.db.View(ctx, func(tx *Tx) error {
		var err error
		if r, err = s.get(ctx, tx, queryID, false); err != nil {
			return err
		}
		chain := &chainInTx{ctx: ctx, tx: tx}
		if !maySeeReview(chain, by, r) {
			return notFoundReview(queryID)
		}
		return chain.err
	})
	return r, err
}

// A ReviewFilter selects reviews of the queue.
type ReviewFilter struct {
	// Status selects pending (the default) or decided reviews; All selects
	// both.
	Status review.Status
	All    bool
	// Mine selects the reviews by may decide; Overdue those past due.
	Mine    bool
	Overdue bool
	Limit   int // default and maximum 500
}

// Queue returns the reviews of others' queries that by may see, riskiest
// first (the highest tier, then the oldest query), and the time they were
// read at.
func (s *Reviews) Queue(ctx context.Context, by auth.Principal, f ReviewFilter) ([]Review, time.Time, error) {
	comps, all := by.Components(auth.ReviewsRead)
	if !all && len(comps) == 0 {
		return nil, time.Time{}, fault.New(fault.Forbidden, "your roles do not include reading reviews")
	}
	if f.Status != "" && !f.Status.Valid() {
		return nil, time.Time{}, fault.New(fault.Invalid, "status %q is not a review status: use pending or decided", clipText(string(f.Status), 40))
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	var out []Review
	var now time.Time
	err := s.db.View(ctx, func(tx *Tx) error {
		now = tx.Now
		var w where
		if !all {
			w.add(w.in("r.component", comps))
		}
		switch {
		case f.All:
		case f.Status == review.Decided:
			w.eq("r.status", string(review.Decided))
		default:
			w.eq("r.status", string(review.Pending))
		}
		if f.Overdue {
			w.add("r.status = 'pending' AND r.due_at < " + w.arg(now))
		}
		rows, err := tx.Query(ctx, `SELECT `+reviewColumns+reviewFrom+w.String()+` ORDER BY r.tier DESC, r.completed_at, r.query_id LIMIT 5000`, w.args...)
		rs, err := scanAll(rows, err, scanReview)
		if err != nil {
			return fmt.Errorf("read the review queue: %w", err)
		}
		chain := newMemoChain(ctx, tx)
		for _, r := range rs {
			if len(out) == limit {
				break
			}
			// The queue is of others' queries: one's own reviews are shown
			// by Get.
			if r.RequesterID == by.PersonID || !maySeeReview(chain, by, r) || f.Mine && (r.Status != review.Pending || mayDecide(chain, by, r) != nil) {
				continue
			}
			out = append(out, r)
		}
		return chain.err
	})
	if out == nil {
		out = []Review{}
	}
	return out, now, err
}

// Decide records by's decision on the review of a query, with a note (a
// query that needs an explanation or goes to the privacy office says
// why), and returns the review. A referral to the privacy office raises
// an alert for the component's privacy officers; a query that needs an
// explanation is notified to its requester.
func (s *Reviews) Decide(ctx context.Context, by auth.Principal, queryID int64, d review.Decision, note string) (Review, error) {
	note, err := review.CheckDecision(d, note)
	if err != nil {
		return Review{}, err
	}
	var out Review
	err = s.db.Update(ctx, func(tx *Tx) error {
		var err error
		out, err = s.decide(ctx, tx, by, queryID, d, note, false)
		return err
	})
	return out, err
}

// DecideBulk records one decision and note on the reviews of several
// queries at once — all or none — and returns them. Only routine queries
// are reviewed in bulk, never a break-glass one; at most [review.MaxBulk]
// at a time. Each decision is its own ledger entry.
func (s *Reviews) DecideBulk(ctx context.Context, by auth.Principal, queryIDs []int64, d review.Decision, note string) ([]Review, error) {
	note, err := review.CheckDecision(d, note)
	if err != nil {
		return nil, err
	}
	switch {
	case len(queryIDs) == 0:
		return nil, fault.New(fault.Invalid, "ids: give the queries whose reviews you decide")
	case len(queryIDs) > review.MaxBulk:
		return nil, fault.New(fault.Invalid, "ids: at most %d reviews at a time, not %d", review.MaxBulk, len(queryIDs))
	}
	seen := map[int64]bool{}
	for _, id := range queryIDs {
		if id <= 0 {
			return nil, fault.New(fault.Invalid, "ids: query IDs are positive whole numbers, not %d", id)
		}
		if seen[id] {
			return nil, fault.New(fault.Invalid, "ids: query %d is given twice", id)
		}
		seen[id] = true
	}
	var out []Review
	err = s.db.Update(ctx, func(tx *Tx) error {
		out = out[:0]
		for _, id := range queryIDs {
			r, err := s.decide(ctx, tx, by, id, d, note, true)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

func (s *Reviews) decide(ctx context.Context, tx *Tx, by auth.Principal, id int64, d review.Decision, note string, bulk bool) (Review, error) {
	if s.db.ledger == nil {
		return Review{}, fault.New(fault.Internal, "the ledger is not open")
	}
	r, err := s.get(ctx, tx, id, true)
	if err != nil {
		return r, err
	}
	chain := &chainInTx{ctx: ctx, tx: tx}
	if !maySeeReview(chain, by, r) {
		return Review{}, notFoundReview(id)
	}
	err = mayDecide(chain, by, r)
	if chain.err != nil {
		return Review{}, fmt.Errorf("read the supervisor chain: %w", chain.err)
	}
	if err != nil {
		return Review{}, err
	}
	if r.Status != review.Pending {
		return Review{}, fault.New(fault.Conflict, "query %d was already reviewed by %s: %s", id, r.DecidedBy, r.Decision.Title())
	}
	if bulk {
		if err := review.CheckBulk(id, r.Tier, r.BreakGlass); err != nil {
			return Review{}, err
		}
	}
	overdue := r.Overdue(tx.Now)
	res, err := tx.Exec(ctx, `UPDATE reviews SET status = 'decided', decision = $1, note = $2, decided_by = $3, decided_at = $4, bulk = $5, updated_at = $4
		WHERE query_id = $6 AND status = 'pending'`, string(d), note, by.PersonID, tx.Now, bulk, id)
	if err != nil {
		return Review{}, fmt.Errorf("record the review of query %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return Review{}, fault.New(fault.Conflict, "the review of query %d changed meanwhile; look at it again", id)
	}
	data := map[string]any{"decision": string(d), "note": note, "tier": r.Tier.String(), "requester": r.Requester, "overdue": overdue}
	if bulk {
		data["bulk"] = true
	}
	if r.BreakGlass {
		data["break_glass"] = true
	}
	switch d {
	case review.ReferToPrivacy:
		aid, err := s.alerts.Raise(ctx, tx, alerts.Alert{Detector: "review_referral", Severity: alerts.Medium, Component: r.Component, QueryID: id, PersonID: r.RequesterID,
			Explanation: fmt.Sprintf("%s, reviewing query %d by %s, referred it to the privacy office: %s", by.ID, id, r.Requester, note),
			Evidence:    mustJSON(map[string]any{"review": map[string]any{"query": id, "reviewer": by.ID, "decision": string(d), "note": note, "tier": r.Tier.String()}})})
		if err != nil {
			return Review{}, err
		}
		data["alert"] = aid
	case review.NeedsExplanation:
		link := "api/v1/reviews/" + strconv.FormatInt(id, 10)
		told, err := s.alerts.notify.Notify(ctx, tx, Notice{Kind: "review.needs_explanation", Subject: querySubject(id), Component: r.Component,
			Title: fmt.Sprintf("Your query %d needs an explanation", id),
			Body:  fmt.Sprintf("The supervisory review of your query %d (case %s) asks you to explain it. See the reviewer's note in Probity: %s", id, r.CaseNumber, link),
			Link:  link, To: []int64{r.RequesterID}})
		if err != nil {
			return Review{}, err
		}
		data["notified"] = told
	}
	if _, err := s.db.ledger.Append(ctx, tx, ledger.Event{Type: "review.decided", Actor: by.Actor(), Component: r.Component, Subject: querySubject(id), Data: data}); err != nil {
		return Review{}, err
	}
	return s.get(ctx, tx, id, false)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: encode %T: %v", v, err)) // maps of strings and numbers only
	}
	return b
}
