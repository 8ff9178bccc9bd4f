package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/review"
)

// Notifications is the outbox of notifications: an action that must tell
// people (a high-severity alert, a break-glass query, an overdue review)
// queues its messages in its own transaction, so that a message is never
// lost when the mail relay or the webhook receiver is down; the
// dispatcher (package notify) delivers them, retrying with backoff, and
// every attempt is recorded. A notification says who was told what and
// when; its text holds no sensitive detail, only what happened and where
// to look in Probity.
type Notifications struct {
	db       *DB
	channels []string
}

// Channels.
const (
	EmailChannel   = "email"   // an email to one person, through the configured relay
	WebhookChannel = "webhook" // one call of the configured webhook per event
)

// Notifications returns the outbox over db, queuing messages for the
// given channels: those the installation has configured. With none,
// nothing is queued and nobody is told.
func (db *DB) Notifications(channels ...string) *Notifications {
	var cs []string
	for _, c := range []string{EmailChannel, WebhookChannel} {
		if slices.Contains(channels, c) {
			cs = append(cs, c)
		}
	}
	return &Notifications{db: db, channels: cs}
}

// Channels returns the channels messages are queued for.
func (s *Notifications) Channels() []string { return slices.Clone(s.channels) }

// A Notice is something people must be told.
type Notice struct {
	// Kind says what happened, lowercase dotted, e.g. "alert.raised".
	Kind string
	// Subject names what it is about, e.g. "alert/12" or "query/34".
	Subject   string
	Component string
	// Title is one line (an email's subject); Body is plain text. Neither
	// may carry sensitive detail: they say what happened and where to look.
	Title string
	Body  string
	// Link is the path, under the server's public URL, where to look.
	Link string
	// To are the people to tell, by person ID. Only active accounts are
	// told.
	To []int64
}

// MaxNoticeBody bounds a notice's body, in bytes.
const MaxNoticeBody = 8 << 10

func (n Notice) validate() error {
	switch {
	case n.Kind == "" || len(n.Kind) > 64 || strings.ContainsAny(n.Kind, "|\r\n "):
		return fault.New(fault.Invalid, "a notice names what happened (kind), in at most 64 characters without spaces")
	case n.Subject == "" || len(n.Subject) > 200 || strings.ContainsAny(n.Subject, "|\r\n "):
		return fault.New(fault.Invalid, "a notice names what it is about (subject), in at most 200 characters without spaces")
	case n.Title == "" || utf8.RuneCountInString(n.Title) > 200 || strings.ContainsAny(n.Title, "\r\n") || !utf8.ValidString(n.Title):
		return fault.New(fault.Invalid, "a notice's title is one line of at most 200 characters")
	case len(n.Body) > MaxNoticeBody || !utf8.ValidString(n.Body):
		return fault.New(fault.Invalid, "a notice's body is text of at most %d bytes", MaxNoticeBody)
	case len(n.Link) > 500 || strings.ContainsAny(n.Link, " \r\n") || strings.Contains(n.Link, "://") || strings.HasPrefix(n.Link, "/"):
		return fault.New(fault.Invalid, "a notice's link is a path under the server's address, without a leading slash")
	}
	return nil
}

// Notify queues n in tx: an email to each of its people whose account is
// active, and one webhook call. It returns the employee IDs of the people
// told by email, sorted. A person already told of the same kind of event about the
// same subject is not told again, so that callers may notify more than
// once (the query path at once, a periodic job later) without duplicates.
func (s *Notifications) Notify(ctx context.Context, tx *Tx, n Notice) ([]string, error) {
	if err := n.validate(); err != nil {
		return nil, err
	}
	if len(s.channels) == 0 {
		return []string{}, nil
	}
	people, err := activePeople(ctx, tx, n.To)
	if err != nil {
		return nil, err
	}
	told := []string{}
	key := n.Kind + "|" + n.Subject + "|"
	for _, p := range people {
		if !slices.Contains(s.channels, EmailChannel) {
			break
		}
		told = append(told, p.EmployeeID)
		if _, err := s.enqueue(ctx, tx, EmailChannel, p.Email, p.ID, key+"email|"+strconv.FormatInt(p.ID, 10), n); err != nil {
			return nil, err
		}
	}
	if slices.Contains(s.channels, WebhookChannel) {
		if _, err := s.enqueue(ctx, tx, WebhookChannel, WebhookChannel, 0, key+"webhook", n); err != nil {
			return nil, err
		}
	}
	slices.Sort(told)
	return told, nil
}

// enqueue inserts a message unless one with its dedupe key exists, and
// reports whether it did.
func (s *Notifications) enqueue(ctx context.Context, tx *Tx, channel, to string, personID int64, dedupe string, n Notice) (bool, error) {
	r, err := tx.Exec(ctx, `INSERT INTO notifications (channel, recipient, person_id, kind, subject, component, title, body, link, dedupe, status, next_attempt_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $11) ON CONFLICT (dedupe) DO NOTHING`,
		channel, to, nullInt(personID), n.Kind, n.Subject, n.Component, n.Title, n.Body, n.Link, dedupe, tx.Now)
	if err != nil {
		return false, fmt.Errorf("queue a notification: %w", err)
	}
	k, _ := r.RowsAffected()
	return k == 1, nil
}

// notifiedPerson is a person a notice goes to.
type notifiedPerson struct {
	ID         int64
	EmployeeID string
	Email      string
}

// activePeople returns the people of ids whose account is active, by ID.
func activePeople(ctx context.Context, tx *Tx, ids []int64) ([]notifiedPerson, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	ids = slices.DeleteFunc(ids, func(id int64) bool { return id <= 0 })
	if len(ids) == 0 {
		return nil, nil
	}
	ph := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		ph[i], args[i] = "$"+strconv.Itoa(i+1), id
	}
	rows, err := tx.Query(ctx, `SELECT id, employee_id, email FROM people WHERE status = 'active' AND id IN (`+strings.Join(ph, ",")+`) ORDER BY id`, args...)
	out, err := scanAll(rows, err, func(sc scanner) (notifiedPerson, error) {
		var p notifiedPerson
		return p, sc.Scan(&p.ID, &p.EmployeeID, &p.Email)
	})
	if err != nil {
		return nil, fmt.Errorf("read who to notify: %w", err)
	}
	return out, nil
}

// holders returns the active people holding role in component (or, with
// deptWide, department-wide), by ID.
func holders(ctx context.Context, tx *Tx, role auth.Role, component string, deptWide bool) ([]int64, error) {
	q := `SELECT DISTINCT g.person_id FROM grants g JOIN people p ON p.id = g.person_id
		WHERE g.role = $1 AND g.status = 'active' AND p.status = 'active' AND (g.component = $2`
	if deptWide {
		q += ` OR g.component = ''`
	}
	rows, err := tx.Query(ctx, q+`) ORDER BY g.person_id`, string(role), component)
	ids, err := scanAll(rows, err, scanID)
	if err != nil {
		return nil, fmt.Errorf("read the holders of the %s role: %w", role, err)
	}
	return ids, nil
}

// nearestSupervisor returns the nearest supervisor above person who may
// review their work (an active account holding the supervisor role), or
// 0.
func nearestSupervisor(ctx context.Context, tx *Tx, person int64) (int64, error) {
	chain := &chainInTx{ctx: ctx, tx: tx}
	eligible, errf := supervisorCheck(ctx, tx)
	s := review.Reviewer(chain, person, eligible)
	if chain.err != nil {
		return 0, fmt.Errorf("read the supervisor chain: %w", chain.err)
	}
	return s, errf()
}

// supervisorCheck returns a function that reports whether a person has an
// active account holding the supervisor role, and one that returns the
// first error it met.
func supervisorCheck(ctx context.Context, tx *Tx) (func(int64) bool, func() error) {
	var first error
	return func(id int64) bool {
			var n int
			err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM grants g JOIN people p ON p.id = g.person_id
			WHERE g.person_id = $1 AND g.role = 'supervisor' AND g.status = 'active' AND p.status = 'active'`, id).Scan(&n)
			if err != nil && first == nil {
				first = fmt.Errorf("check a supervisor: %w", err)
			}
			return n > 0
		}, func() error {
			return first
		}
}

// NotifyBreakGlass tells those who would have approved a break-glass
// query — the requester's nearest supervisor, those who recorded an
// approval of it, and the privacy officers of its component — that it
// ran without approval, in tx. The query path may call it in the
// transaction that records the query; the review of the query does it
// too, and nobody is told twice.
func (s *Notifications) NotifyBreakGlass(ctx context.Context, tx *Tx, q QueryRecord) ([]string, error) {
	if !q.BreakGlass {
		return nil, fault.New(fault.Invalid, "query %d did not run under break-glass", q.ID)
	}
	var to []int64
	sup, err := nearestSupervisor(ctx, tx, q.PersonID)
	if err != nil {
		return nil, err
	}
	to = append(to, sup)
	rows, err := tx.Query(ctx, `SELECT person_id FROM query_approvals WHERE query_id = $1`, q.ID)
	approvers, err := scanAll(rows, err, scanID)
	if err != nil {
		return nil, fmt.Errorf("read the approvers of query %d: %w", q.ID, err)
	}
	to = append(to, approvers...)
	cpos, err := holders(ctx, tx, auth.ComponentPrivacyOfficer, q.Component, false)
	if err != nil {
		return nil, err
	}
	to = append(to, cpos...)
	to = slices.DeleteFunc(to, func(id int64) bool { return id == q.PersonID })
	link := "api/v1/queries/" + strconv.FormatInt(q.ID, 10)
	return s.Notify(ctx, tx, Notice{Kind: "query.break_glass", Subject: "query/" + strconv.FormatInt(q.ID, 10), Component: q.Component,
		Title: fmt.Sprintf("Break-glass query %d ran without approval", q.ID),
		Body: fmt.Sprintf("Query %d (%s, case %s) by %s ran under break-glass, without prior approval. It must be reviewed within %s.\n\nSee it in Probity: %s",
			q.ID, strings.ReplaceAll(string(q.Kind), "_", " "), q.CaseNumber, q.EmployeeID, human(review.BreakGlassSLA), link),
		Link: link, To: to})
}

func human(d time.Duration) string {
	if d%time.Hour == 0 {
		return strconv.FormatInt(int64(d/time.Hour), 10) + " hours"
	}
	return d.String()
}

// An Outgoing is a message being delivered.
type Outgoing struct {
	ID      int64
	Channel string
	// To is the email address, or "webhook".
	To        string
	Kind      string
	Subject   string
	Component string
	Title     string
	Body      string
	Link      string
	// Attempt numbers this delivery attempt, from 1.
	Attempt   int
	CreatedAt time.Time
}

// Claim takes up to limit messages of the given channels that are due,
// oldest first, for delivery: each is leased for lease (no one else takes
// it meanwhile) and its attempt counted. A dispatcher that dies during
// delivery leaves the message to be taken again when the lease ends.
func (s *Notifications) Claim(ctx context.Context, channels []string, limit int, lease time.Duration) ([]Outgoing, error) {
	if len(channels) == 0 || limit <= 0 {
		return []Outgoing{}, nil
	}
	var out []Outgoing
	err := s.db.Update(ctx, func(tx *Tx) error {
		var w where
		w.add("status = 'pending'")
		w.add(w.in("channel", channels))
		w.add("next_attempt_at <= " + w.arg(tx.Now))
		q := `SELECT id FROM notifications` + w.String() + ` ORDER BY next_attempt_at, id LIMIT ` + w.arg(limit)
		if tx.Dialect() == Postgres {
			q += ` FOR UPDATE SKIP LOCKED`
		}
		rows, err := tx.Query(ctx, q, w.args...)
		ids, err := scanAll(rows, err, scanID)
		if err != nil {
			return fmt.Errorf("claim notifications: %w", err)
		}
		out = make([]Outgoing, 0, len(ids))
		for _, id := range ids {
			var o Outgoing
			err := tx.QueryRow(ctx, `UPDATE notifications SET attempts = attempts + 1, next_attempt_at = $1 WHERE id = $2
				RETURNING id, channel, recipient, kind, subject, component, title, body, link, attempts, created_at`, tx.Now.Add(lease), id).
				Scan(&o.ID, &o.Channel, &o.To, &o.Kind, &o.Subject, &o.Component, &o.Title, &o.Body, &o.Link, &o.Attempt, &o.CreatedAt)
			if err != nil {
				return fmt.Errorf("claim notification %d: %w", id, err)
			}
			out = append(out, o)
		}
		return nil
	})
	return out, err
}

// Delivered records that attempt of message id succeeded. A stale
// attempt (the message was taken again since) changes nothing.
func (s *Notifications) Delivered(ctx context.Context, id int64, attempt int) error {
	return s.db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO notification_attempts (notification_id, attempt, at, ok) VALUES ($1, $2, $3, $4)`, id, attempt, tx.Now, true); err != nil {
			return fmt.Errorf("record the delivery of notification %d: %w", id, err)
		}
		_, err := tx.Exec(ctx, `UPDATE notifications SET status = 'sent', sent_at = $1, last_error = '' WHERE id = $2 AND attempts = $3 AND status = 'pending'`, tx.Now, id, attempt)
		return err
	})
}

// Undelivered records that attempt of message id failed with cause (a
// message safe to keep: no credentials), and when to try again; with a
// zero retryAt the message is given up (failed). A stale attempt changes
// only the record of attempts.
func (s *Notifications) Undelivered(ctx context.Context, id int64, attempt int, cause string, retryAt time.Time) error {
	cause = clipText(cause, 500)
	return s.db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO notification_attempts (notification_id, attempt, at, ok, error) VALUES ($1, $2, $3, $4, $5)`, id, attempt, tx.Now, false, cause); err != nil {
			return fmt.Errorf("record the failed delivery of notification %d: %w", id, err)
		}
		if retryAt.IsZero() {
			_, err := tx.Exec(ctx, `UPDATE notifications SET status = 'failed', last_error = $1 WHERE id = $2 AND attempts = $3 AND status = 'pending'`, cause, id, attempt)
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE notifications SET next_attempt_at = $1, last_error = $2 WHERE id = $3 AND attempts = $4 AND status = 'pending'`, retryAt.UTC(), cause, id, attempt)
		return err
	})
}

func clipText(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// A NotificationRecord is a queued, sent or failed message, as recorded.
type NotificationRecord struct {
	Outgoing
	EmployeeID    string // the person told; "" for the webhook
	Status        string // pending, sent or failed
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	SentAt        time.Time
}

// A NotificationFilter selects recorded notifications; zero fields select
// all.
type NotificationFilter struct {
	Subject string
	Kind    string
	Status  string
	Limit   int // default and maximum 1000
}

// List returns recorded notifications, newest first.
func (s *Notifications) List(ctx context.Context, f NotificationFilter) ([]NotificationRecord, error) {
	var w where
	if f.Subject != "" {
		w.eq("n.subject", f.Subject)
	}
	if f.Kind != "" {
		w.eq("n.kind", f.Kind)
	}
	if f.Status != "" {
		w.eq("n.status", f.Status)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT n.id, n.channel, n.recipient, n.kind, n.subject, n.component, n.title, n.body, n.link, n.attempts, n.created_at,
		COALESCE(p.employee_id, ''), n.status, n.next_attempt_at, n.last_error, n.sent_at
		FROM notifications n LEFT JOIN people p ON p.id = n.person_id`+w.String()+fmt.Sprintf(` ORDER BY n.id DESC LIMIT %d`, limit), w.args...)
	return scanAll(rows, err, func(sc scanner) (NotificationRecord, error) {
		var r NotificationRecord
		var sent sql.NullTime
		err := sc.Scan(&r.ID, &r.Channel, &r.To, &r.Kind, &r.Subject, &r.Component, &r.Title, &r.Body, &r.Link, &r.Attempts, &r.CreatedAt,
			&r.EmployeeID, &r.Status, &r.NextAttemptAt, &r.LastError, &sent)
		r.Attempt, r.SentAt = r.Attempts, sent.Time
		return r, err
	})
}

// Attempts returns the recorded delivery attempts of a message: their
// numbers and errors ("" for a success), oldest first.
func (s *Notifications) Attempts(ctx context.Context, id int64) ([]NotificationAttempt, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT attempt, at, ok, error FROM notification_attempts WHERE notification_id = $1 ORDER BY id`, id)
	return scanAll(rows, err, func(sc scanner) (NotificationAttempt, error) {
		var a NotificationAttempt
		err := sc.Scan(&a.Attempt, &a.At, &a.OK, &a.Error)
		return a, err
	})
}

// A NotificationAttempt is one recorded delivery attempt.
type NotificationAttempt struct {
	Attempt int
	At      time.Time
	OK      bool
	Error   string
}

// holds reports whether by holds role in component, or department-wide.
func holds(by auth.Principal, r auth.Role, component string) bool {
	return slices.ContainsFunc(by.Grants, func(g auth.Grant) bool { return g.Role == r && (g.Component == component || g.Component == "") })
}

// memoChain is a chain in tx that reads each person's supervisor once:
// a queue checks the same chains for every review in it.
type memoChain struct {
	chainInTx
	seen map[int64]int64
}

func newMemoChain(ctx context.Context, tx *Tx) *memoChain {
	return &memoChain{chainInTx: chainInTx{ctx: ctx, tx: tx}, seen: map[int64]int64{}}
}

func (c *memoChain) Supervisor(id int64) int64 {
	if s, ok := c.seen[id]; ok {
		return s
	}
	s := c.chainInTx.Supervisor(id)
	c.seen[id] = s
	return s
}

// mayReview is identity.MayReview over the chain in tx.
func mayReview(ctx context.Context, tx *Tx, reviewer, requester int64) (bool, string, error) {
	chain := &chainInTx{ctx: ctx, tx: tx}
	ok, why := identity.MayReview(chain, reviewer, requester)
	return ok, why, chain.err
}
