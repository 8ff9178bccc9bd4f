package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/review"
	"github.com/probity-dev/probity/internal/settings"
	"github.com/probity-dev/probity/internal/store"
)

// A ReviewOrg is a [PrivacyOrg] with a deeper supervisor chain, OPR
// intake, and the review, alert and notification stores (telling by
// email and webhook). Its extra people, by label:
//
//	cbp-chief    supervisor, no supervisor
//	cbp-lead     supervisor, under cbp-chief
//	cbp-sublead  supervisor, under cbp-lead
//	cbp-agent    analyst, under cbp-lead
//	cbp-opr      OPR intake in CBP
//	dept-opr     OPR intake, department-wide
type ReviewOrg struct {
	*PrivacyOrg
	Reviews       *store.Reviews
	Alerts        *store.Alerts
	Notifications *store.Notifications
	Settings      *settings.Service
	// Zone is the time zone of everyone's duty schedule.
	Zone *time.Location
}

// MustReviewOrg opens a fresh database of dialect d with the organization
// of a [ReviewOrg].
func MustReviewOrg(tb testing.TB, d store.Dialect) *ReviewOrg {
	tb.Helper()
	o := &ReviewOrg{PrivacyOrg: MustPrivacyOrg(tb, d)}
	o.Notifications = o.DB.Notifications(store.EmailChannel, store.WebhookChannel)
	o.Alerts = o.DB.Alerts(o.Notifications)
	o.Reviews = o.DB.Reviews(o.Alerts)
	o.Settings = settings.NewService(o.DB.Settings())
	o.Zone, _ = time.LoadLocation(identity.DefaultSchedule().TimeZone)
	for _, p := range []struct {
		label, component, boss string
		role                   auth.Role
	}{
		{"cbp-chief", "CBP", "", auth.Supervisor},
		{"cbp-lead", "CBP", "cbp-chief", auth.Supervisor},
		{"cbp-sublead", "CBP", "cbp-lead", auth.Supervisor},
		{"cbp-agent", "CBP", "cbp-lead", auth.Analyst},
		{"cbp-opr", "CBP", "", auth.OPRIntake},
		{"dept-opr", "", "", auth.OPRIntake},
	} {
		o.MustPerson(tb, p.label, p.component, p.boss, p.role)
	}
	return o
}

// storetestAdmin is the administrator that builds test organizations.
var storetestAdmin = auth.Principal{Kind: ledger.ActorToken, ID: "storetest-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}

// MustPerson adds an active person holding role, under boss (a label, or
// "" for none), and returns their principal.
func (o *PrivacyOrg) MustPerson(tb testing.TB, label, component, boss string, role auth.Role) auth.Principal {
	tb.Helper()
	ctx := context.Background()
	person := identity.Person{EmployeeID: label, Name: "Test " + label, Email: label + "@example.gov", Component: component, Schedule: identity.DefaultSchedule()}
	if boss != "" {
		person.SupervisorID = o.People[boss].ID
	}
	person, secret, err := o.Ids.Invite(ctx, storetestAdmin, person)
	if err != nil {
		tb.Fatalf("invite %s: %v", label, err)
	}
	if _, err := o.Ids.GrantRole(ctx, storetestAdmin, identity.Grant{PersonID: person.ID, Role: role, Component: component}); err != nil {
		tb.Fatalf("grant %s: %v", label, err)
	}
	if person, err = o.Ids.Activate(ctx, secret, store.Enrolment{PasswordHash: "unused", TOTPSealed: []byte("unused")}); err != nil {
		tb.Fatalf("activate %s: %v", label, err)
	}
	grants, err := o.Ids.Grants(ctx, person.ID)
	if err != nil {
		tb.Fatal(err)
	}
	o.People[label], o.As[label] = person, identity.Principal(person, grants)
	return o.As[label]
}

// ExecutedQuery describes a query [PrivacyOrg.MustQuery] stores.
type ExecutedQuery struct {
	By         string // the requester's label
	Status     query.Status
	Tier       query.Tier
	BreakGlass bool
}

// MustQuery stores a query as the audited query path would have, without
// running anything, and returns it.
func (o *PrivacyOrg) MustQuery(tb testing.TB, q ExecutedQuery) store.QueryRecord {
	tb.Helper()
	p := o.People[q.By]
	if q.Status == "" {
		q.Status = query.Completed
	}
	if q.Tier == 0 {
		q.Tier = query.Routine
	}
	req := []byte(fmt.Sprintf(`{"kind":"area","case":"CBP-2026-7","justification":"test query by %s"}`, q.By))
	rec := store.QueryRecord{PersonID: p.ID, EmployeeID: p.EmployeeID, Component: p.Component, CaseNumber: "CBP-2026-7", SourceName: "test-source",
		Kind: query.Area, Status: q.Status, Tier: q.Tier, Request: req, RequestDigest: ledger.PayloadDigest(req), BreakGlass: q.BreakGlass}
	if q.Status == query.Completed || q.Status == query.Withheld {
		rec.ResultCount, rec.ResultDigest = 3, ledger.PayloadDigest([]byte("result"))
	}
	if err := o.DB.Update(context.Background(), func(tx *store.Tx) error { return o.DB.Queries().Insert(context.Background(), tx, &rec) }); err != nil {
		tb.Fatalf("store a query: %v", err)
	}
	return rec
}

// size returns the settled ledger size.
func (o *PrivacyOrg) size(tb testing.TB) int64 {
	tb.Helper()
	return SettledSize(tb, o.DB, o.Ledger)
}

// entriesAfter returns the entries from index from on.
func (o *PrivacyOrg) entriesAfter(tb testing.TB, from int64) []ledger.Entry {
	tb.Helper()
	all := o.Entries(tb)
	return all[from:]
}

func entryTypesOf(es []ledger.Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Type)
	}
	return out
}

func (o *ReviewOrg) mustReview(tb testing.TB, id int64) store.Review {
	tb.Helper()
	r, err := o.Reviews.Get(context.Background(), o.As["dpo"], id)
	if err != nil {
		tb.Fatalf("the review of query %d: %v", id, err)
	}
	return r
}

// notified returns the employee IDs emailed about subject, of kind, sorted.
func (o *ReviewOrg) notified(tb testing.TB, kind, subject string) []string {
	tb.Helper()
	ns, err := o.Notifications.List(context.Background(), store.NotificationFilter{Kind: kind, Subject: subject})
	if err != nil {
		tb.Fatal(err)
	}
	out := []string{}
	for _, n := range ns {
		if n.Channel == store.EmailChannel {
			out = append(out, n.EmployeeID)
		}
	}
	slices.Sort(out)
	return out
}

func testReviews(t *testing.T, d store.Dialect) {
	t.Run("Open", func(t *testing.T) { testReviewsOpen(t, d) })
	t.Run("Decide", func(t *testing.T) { testReviewsDecide(t, d) })
	t.Run("Bulk", func(t *testing.T) { testReviewsBulk(t, d) })
	t.Run("Queue", func(t *testing.T) { testReviewsQueue(t, d) })
	t.Run("Escalate", func(t *testing.T) { testReviewsEscalate(t, d) })
}

func testReviewsOpen(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustReviewOrg(t, d)
	done := o.MustQuery(t, ExecutedQuery{By: "cbp-agent"})
	held := o.MustQuery(t, ExecutedQuery{By: "cbp-agent", Status: query.Withheld, Tier: query.Elevated})
	glass := o.MustQuery(t, ExecutedQuery{By: "cbp-agent", BreakGlass: true, Tier: query.High})
	top := o.MustQuery(t, ExecutedQuery{By: "cbp-chief"})
	refused := o.MustQuery(t, ExecutedQuery{By: "cbp-agent", Status: query.Refused})
	waiting := o.MustQuery(t, ExecutedQuery{By: "cbp-agent", Status: query.AwaitingApproval, Tier: query.High})
	before := o.size(t)

	// Break-glass queries first (every minute), then the others.
	if n, err := o.Reviews.OpenBreakGlass(ctx); err != nil || n != 1 {
		t.Fatalf("OpenBreakGlass = %d, %v; want 1", n, err)
	}
	if _, err := o.Reviews.Get(ctx, o.As["dpo"], done.ID); fault.CodeOf(err) != fault.NotFound {
		t.Fatalf("OpenBreakGlass opened an ordinary query's review: %v", err)
	}
	n, err := o.Reviews.OpenMissing(ctx)
	if err != nil || n != 3 {
		t.Fatalf("OpenMissing = %d, %v; want 3", n, err)
	}
	if n, err := o.Reviews.OpenMissing(ctx); err != nil || n != 0 {
		t.Fatalf("a second OpenMissing = %d, %v; want 0", n, err)
	}
	opened := o.entriesAfter(t, before)
	if got := entryTypesOf(opened); !slices.Equal(got, []string{"review.opened", "review.opened", "review.opened", "review.opened"}) {
		t.Fatalf("entries %v", got)
	}
	for _, c := range []struct {
		q        store.QueryRecord
		assignee string
		due      time.Time
	}{
		{done, "cbp-lead", review.DueAt(done.CompletedAt, review.DefaultSLADays, false, o.Zone)},
		{held, "cbp-lead", review.DueAt(held.CompletedAt, review.DefaultSLADays, false, o.Zone)},
		{glass, "cbp-lead", glass.CompletedAt.Add(24 * time.Hour)},
		{top, "", review.DueAt(top.CompletedAt, review.DefaultSLADays, false, o.Zone)},
	} {
		r := o.mustReview(t, c.q.ID)
		if r.Assignee != c.assignee || !r.DueAt.Equal(c.due) || r.Status != review.Pending || r.Tier != c.q.Tier || r.BreakGlass != c.q.BreakGlass ||
			!r.CompletedAt.Equal(c.q.CompletedAt) || r.Requester != c.q.EmployeeID || r.QueryStatus != c.q.Status {
			t.Errorf("query %d: review %+v; want assignee %q due %s", c.q.ID, r, c.assignee, c.due)
		}
	}
	// Five business days are five to nine calendar days (an hour either
	// way for a change of daylight saving time).
	if r := o.mustReview(t, done.ID); r.DueAt.Sub(r.CompletedAt) < 5*24*time.Hour-time.Hour || r.DueAt.Sub(r.CompletedAt) > 9*24*time.Hour+time.Hour {
		t.Errorf("due %s after the query", r.DueAt.Sub(r.CompletedAt))
	}
	for _, en := range opened {
		if en.Actor != store.SystemActor || en.Component != "CBP" || !strings.HasPrefix(en.Subject, "query/") {
			t.Errorf("entry %+v", en)
		}
		if en.Subject == fmt.Sprintf("query/%d", glass.ID) {
			if en.Data["break_glass"] != true || fmt.Sprint(en.Data["notified"]) != "[cbp-cpo cbp-cpo2 cbp-lead]" {
				t.Errorf("the break-glass review's entry: %+v", en.Data)
			}
		}
	}
	// A break-glass query's approvers-to-be and privacy officers are told;
	// the requester is not.
	if got := o.notified(t, "query.break_glass", fmt.Sprintf("query/%d", glass.ID)); !slices.Equal(got, []string{"cbp-cpo", "cbp-cpo2", "cbp-lead"}) {
		t.Errorf("break-glass told %v", got)
	}
	if got := o.notified(t, "query.break_glass", fmt.Sprintf("query/%d", done.ID)); len(got) != 0 {
		t.Errorf("an ordinary query told %v", got)
	}
	// Telling again (the query path, say) tells nobody twice.
	if err := o.DB.Update(ctx, func(tx *store.Tx) error {
		_, err := o.Notifications.NotifyBreakGlass(ctx, tx, glass)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if ns, _ := o.Notifications.List(ctx, store.NotificationFilter{Kind: "query.break_glass"}); len(ns) != 4 {
		t.Errorf("%d break-glass notifications after telling twice; want 4 (3 emails, 1 webhook)", len(ns))
	}

	t.Run("ErrNotExecuted", func(t *testing.T) {
		before := o.size(t)
		for _, q := range []store.QueryRecord{refused, waiting} {
			err := o.DB.Update(ctx, func(tx *store.Tx) error {
				_, err := o.Reviews.Open(ctx, tx, q)
				return err
			})
			wantCode(t, fmt.Sprintf("open the review of a %s query", q.Status), err, fault.Invalid)
			if _, err := o.Reviews.Get(ctx, o.As["dpo"], q.ID); fault.CodeOf(err) != fault.NotFound {
				t.Errorf("a %s query has a review: %v", q.Status, err)
			}
		}
		if o.size(t) != before {
			t.Error("a refused opening changed the ledger")
		}
	})
	t.Run("OKOpenIsIdempotent", func(t *testing.T) {
		var opened bool
		err := o.DB.Update(ctx, func(tx *store.Tx) error {
			var err error
			opened, err = o.Reviews.Open(ctx, tx, done)
			return err
		})
		if err != nil || opened {
			t.Errorf("opening an open review again: %v, %v", opened, err)
		}
	})
	t.Run("OKSetting", func(t *testing.T) {
		if _, _, err := o.Settings.Set(ctx, storetestAdmin.Actor(), settings.ReviewSLADays, json.RawMessage(`2`)); err != nil {
			t.Fatal(err)
		}
		q := o.MustQuery(t, ExecutedQuery{By: "cbp-agent"})
		if _, err := o.Reviews.OpenMissing(ctx); err != nil {
			t.Fatal(err)
		}
		if r := o.mustReview(t, q.ID); !r.DueAt.Equal(review.DueAt(q.CompletedAt, 2, false, o.Zone)) {
			t.Errorf("due %s with a 2-day SLA", r.DueAt)
		}
	})
	t.Run("OKNoEligibleSupervisor", func(t *testing.T) {
		// cbp-lead's supervisor role is revoked: cbp-agent's next query
		// goes to cbp-chief, above.
		grants, err := o.Ids.Grants(ctx, o.People["cbp-lead"].ID)
		if err != nil || len(grants) != 1 {
			t.Fatalf("grants %v, %v", grants, err)
		}
		if err := o.Ids.RevokeRole(ctx, storetestAdmin, grants[0].ID, "moved to another office"); err != nil {
			t.Fatal(err)
		}
		q := o.MustQuery(t, ExecutedQuery{By: "cbp-agent"})
		if _, err := o.Reviews.OpenMissing(ctx); err != nil {
			t.Fatal(err)
		}
		if r := o.mustReview(t, q.ID); r.Assignee != "cbp-chief" {
			t.Errorf("assigned to %q, want cbp-chief", r.Assignee)
		}
	})
}

func testReviewsDecide(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustReviewOrg(t, d)
	agentQ := o.MustQuery(t, ExecutedQuery{By: "cbp-agent"})
	leadQ := o.MustQuery(t, ExecutedQuery{By: "cbp-lead"})
	headQ := o.MustQuery(t, ExecutedQuery{By: "cbp-head"}) // no supervisor: the privacy office reviews it
	referQ := o.MustQuery(t, ExecutedQuery{By: "cbp-agent", Tier: query.Elevated})
	explainQ := o.MustQuery(t, ExecutedQuery{By: "cbp-agent"})
	if _, err := o.Reviews.OpenMissing(ctx); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name     string
		by       string
		id       int64
		decision review.Decision
		note     string
		code     fault.Code
		msg      string
	}{
		{"ErrDecision", "cbp-lead", agentQ.ID, "fine", "", fault.Invalid, `decision "fine" is not a review decision`},
		{"ErrNoNote", "cbp-lead", agentQ.ID, review.NeedsExplanation, "why?", fault.Invalid, "note: say why the query needs an explanation, in at least 10 characters"},
		{"ErrControlChars", "cbp-lead", agentQ.ID, review.Appropriate, "ok\x00", fault.Invalid, "note: control characters are not allowed"},
		{"ErrLongNote", "cbp-lead", agentQ.ID, review.Appropriate, strings.Repeat("x", review.MaxNote+1), fault.Invalid, "note: at most 2000 characters"},
		{"ErrSelf", "cbp-lead", leadQ.ID, review.Appropriate, "", fault.Forbidden, "nobody approves or reviews their own request"},
		// Someone below the requester does not even see the review.
		{"ErrBelow", "cbp-sublead", leadQ.ID, review.Appropriate, "", fault.NotFound, fmt.Sprintf("there is no review of query %d you may see", leadQ.ID)},
		// A privacy officer below the requester may not decide what the
		// privacy office reviews.
		{"ErrPrivacyOfficerBelow", "cbp-cpo2", headQ.ID, review.Appropriate, "", fault.Forbidden, "above them in their supervisor chain"},
		{"ErrOtherChain", "cbp-head", agentQ.ID, review.Appropriate, "", fault.NotFound, "there is no review"},
		{"ErrNotSupervisor", "cbp-cpo", agentQ.ID, review.Appropriate, "", fault.Forbidden, "is for a supervisor above cbp-agent (now cbp-lead); you are not one"},
		{"ErrAnalyst", "cbp-agent", agentQ.ID, review.Appropriate, "", fault.Forbidden, "your roles do not include reviewing queries"},
		{"ErrAuditor", "auditor", agentQ.ID, review.Appropriate, "", fault.Forbidden, "your roles do not include reviewing queries"},
		{"ErrOtherComponent", "ice-cpo", agentQ.ID, review.Appropriate, "", fault.NotFound, "there is no review"},
		{"ErrNoQuery", "cbp-lead", 999999, review.Appropriate, "", fault.NotFound, "there is no review of query 999999"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := o.size(t)
			_, err := o.Reviews.Decide(ctx, o.As[c.by], c.id, c.decision, c.note)
			if fault.CodeOf(err) != c.code || !strings.Contains(fault.MessageOf(err), c.msg) {
				t.Errorf("%v (%s); want %s saying %q", err, fault.CodeOf(err), c.code, c.msg)
			}
			if o.size(t) != before {
				t.Error("a refused decision changed the ledger")
			}
			if c.id != 999999 {
				if r := o.mustReview(t, c.id); r.Status != review.Pending || r.Decision != "" {
					t.Errorf("a refused decision changed the review: %+v", r)
				}
			}
		})
	}

	t.Run("OK", func(t *testing.T) {
		before := o.size(t)
		r, err := o.Reviews.Decide(ctx, o.As["cbp-lead"], agentQ.ID, review.Appropriate, "  Matches the case's predicate.  ")
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != review.Decided || r.Decision != review.Appropriate || r.Note != "Matches the case's predicate." || r.DecidedBy != "cbp-lead" || r.DecidedAt.IsZero() || r.Bulk {
			t.Errorf("review %+v", r)
		}
		es := o.entriesAfter(t, before)
		if len(es) != 1 || es[0].Type != "review.decided" || es[0].Actor.ID != "cbp-lead" || es[0].Subject != fmt.Sprintf("query/%d", agentQ.ID) ||
			es[0].Data["decision"] != "appropriate" || es[0].Data["note"] != "Matches the case's predicate." || es[0].Data["overdue"] != false {
			t.Errorf("entries %+v", es)
		}
		if _, err := o.Reviews.Decide(ctx, o.As["cbp-chief"], agentQ.ID, review.Appropriate, ""); fault.CodeOf(err) != fault.Conflict || !strings.Contains(err.Error(), "already reviewed by cbp-lead") {
			t.Errorf("deciding twice: %v", err)
		}
	})
	t.Run("OKHigherSupervisor", func(t *testing.T) {
		// Anyone above the requester decides, not only the assignee.
		if r, err := o.Reviews.Decide(ctx, o.As["cbp-chief"], leadQ.ID, review.Appropriate, ""); err != nil || r.DecidedBy != "cbp-chief" {
			t.Errorf("%+v, %v", r, err)
		}
	})
	t.Run("OKPrivacyOffice", func(t *testing.T) {
		if r, err := o.Reviews.Decide(ctx, o.As["cbp-cpo"], headQ.ID, review.Appropriate, ""); err != nil || r.DecidedBy != "cbp-cpo" {
			t.Errorf("%+v, %v", r, err)
		}
	})
	t.Run("OKReferToPrivacy", func(t *testing.T) {
		before := o.size(t)
		if _, err := o.Reviews.Decide(ctx, o.As["cbp-lead"], referQ.ID, review.ReferToPrivacy, "Searched an area unrelated to the case."); err != nil {
			t.Fatal(err)
		}
		es := o.entriesAfter(t, before)
		if got := entryTypesOf(es); !slices.Equal(got, []string{"alert.raised", "review.decided"}) {
			t.Fatalf("entries %v", got)
		}
		as, err := o.Alerts.List(ctx, o.As["cbp-cpo"], store.AlertFilter{QueryID: referQ.ID})
		if err != nil || len(as) != 1 {
			t.Fatalf("alerts %+v, %v", as, err)
		}
		a := as[0]
		if a.Detector != "review_referral" || a.Severity != alerts.Medium || a.Status != alerts.New || a.Person != "cbp-agent" || a.Assignee == "" ||
			!strings.Contains(a.Explanation, "Searched an area unrelated to the case.") {
			t.Errorf("alert %+v", a)
		}
		if fmt.Sprint(es[1].Data["alert"]) != fmt.Sprint(a.ID) {
			t.Errorf("the decision's entry names alert %v, want %d", es[1].Data["alert"], a.ID)
		}
	})
	t.Run("OKNeedsExplanation", func(t *testing.T) {
		if _, err := o.Reviews.Decide(ctx, o.As["cbp-lead"], explainQ.ID, review.NeedsExplanation, "Why this window at night?"); err != nil {
			t.Fatal(err)
		}
		if got := o.notified(t, "review.needs_explanation", fmt.Sprintf("query/%d", explainQ.ID)); !slices.Equal(got, []string{"cbp-agent"}) {
			t.Errorf("told %v", got)
		}
		// The requester sees their own review, with the note.
		r, err := o.Reviews.Get(ctx, o.As["cbp-agent"], explainQ.ID)
		if err != nil || r.Note != "Why this window at night?" {
			t.Errorf("the requester's view: %+v, %v", r, err)
		}
	})
}

func testReviewsBulk(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustReviewOrg(t, d)
	var routine []int64
	for range 3 {
		routine = append(routine, o.MustQuery(t, ExecutedQuery{By: "cbp-agent"}).ID)
	}
	elevated := o.MustQuery(t, ExecutedQuery{By: "cbp-agent", Tier: query.Elevated}).ID
	glass := o.MustQuery(t, ExecutedQuery{By: "cbp-agent", BreakGlass: true}).ID
	mine := o.MustQuery(t, ExecutedQuery{By: "cbp-lead"}).ID
	if _, err := o.Reviews.OpenMissing(ctx); err != nil {
		t.Fatal(err)
	}
	tooMany := make([]int64, review.MaxBulk+1)
	for i := range tooMany {
		tooMany[i] = int64(i + 1)
	}
	for _, c := range []struct {
		name string
		ids  []int64
		note string
		code fault.Code
		msg  string
	}{
		{"ErrElevated", append(slices.Clone(routine), elevated), "", fault.Invalid, fmt.Sprintf("query %d is of the elevated tier; only routine queries are reviewed in bulk", elevated)},
		{"ErrBreakGlass", []int64{routine[0], glass}, "", fault.Invalid, fmt.Sprintf("query %d ran under break-glass; review it on its own", glass)},
		{"ErrOwn", []int64{routine[0], mine}, "", fault.Forbidden, "nobody approves or reviews their own request"},
		{"ErrTwice", []int64{routine[0], routine[0]}, "", fault.Invalid, fmt.Sprintf("ids: query %d is given twice", routine[0])},
		{"ErrNone", nil, "", fault.Invalid, "ids: give the queries"},
		{"ErrTooMany", tooMany, "", fault.Invalid, "ids: at most 200 reviews at a time"},
		{"ErrNegative", []int64{-4}, "", fault.Invalid, "ids: query IDs are positive whole numbers"},
		{"ErrMissing", []int64{routine[0], 999999}, "", fault.NotFound, "there is no review of query 999999"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := o.size(t)
			_, err := o.Reviews.DecideBulk(ctx, o.As["cbp-lead"], c.ids, review.Appropriate, c.note)
			if fault.CodeOf(err) != c.code || !strings.Contains(fault.MessageOf(err), c.msg) {
				t.Errorf("%v; want %s saying %q", err, c.code, c.msg)
			}
			if o.size(t) != before {
				t.Error("a refused bulk decision changed the ledger")
			}
			for _, id := range routine {
				if r := o.mustReview(t, id); r.Status != review.Pending {
					t.Errorf("a refused bulk decision decided query %d", id)
				}
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		before := o.size(t)
		rs, err := o.Reviews.DecideBulk(ctx, o.As["cbp-lead"], routine, review.Appropriate, "Routine port searches.")
		if err != nil || len(rs) != 3 {
			t.Fatalf("%+v, %v", rs, err)
		}
		for i, r := range rs {
			if r.QueryID != routine[i] || r.Status != review.Decided || !r.Bulk || r.Decision != review.Appropriate {
				t.Errorf("review %+v", r)
			}
		}
		es := o.entriesAfter(t, before)
		if got := entryTypesOf(es); !slices.Equal(got, []string{"review.decided", "review.decided", "review.decided"}) {
			t.Errorf("entries %v", got)
		}
		for _, en := range es {
			if en.Data["bulk"] != true {
				t.Errorf("entry %+v does not say bulk", en.Data)
			}
		}
	})
}

func testReviewsQueue(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustReviewOrg(t, d)
	var ids []int64
	for _, tier := range []query.Tier{query.Routine, query.Critical, query.Elevated, query.Routine, query.High} {
		ids = append(ids, o.MustQuery(t, ExecutedQuery{By: "cbp-agent", Tier: tier}).ID)
		o.Clock.Advance(time.Minute)
	}
	headQ := o.MustQuery(t, ExecutedQuery{By: "cbp-head"}).ID
	if _, err := o.Reviews.OpenMissing(ctx); err != nil {
		t.Fatal(err)
	}
	idsOf := func(rs []store.Review) []int64 {
		out := []int64{}
		for _, r := range rs {
			out = append(out, r.QueryID)
		}
		return out
	}
	riskiest := []int64{ids[1], ids[4], ids[2], ids[0], ids[3]}
	for _, c := range []struct {
		name string
		by   string
		f    store.ReviewFilter
		want []int64
	}{
		{"Supervisor", "cbp-lead", store.ReviewFilter{}, riskiest},
		{"SupervisorMine", "cbp-lead", store.ReviewFilter{Mine: true}, riskiest},
		{"HigherSupervisor", "cbp-chief", store.ReviewFilter{}, riskiest},
		{"Limit", "cbp-chief", store.ReviewFilter{Limit: 2}, riskiest[:2]},
		{"OtherChain", "cbp-head", store.ReviewFilter{}, []int64{}},
		{"Below", "cbp-sublead", store.ReviewFilter{}, []int64{}},
		{"PrivacyOfficer", "cbp-cpo", store.ReviewFilter{}, append(slices.Clone(riskiest), headQ)},
		{"PrivacyOfficerMine", "cbp-cpo", store.ReviewFilter{Mine: true}, []int64{headQ}},
		{"Auditor", "auditor", store.ReviewFilter{}, append(slices.Clone(riskiest), headQ)},
		{"OtherComponent", "ice-cpo", store.ReviewFilter{}, []int64{}},
		{"Decided", "cbp-lead", store.ReviewFilter{Status: review.Decided}, []int64{}},
		{"NotOverdue", "cbp-lead", store.ReviewFilter{Overdue: true}, []int64{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rs, _, err := o.Reviews.Queue(ctx, o.As[c.by], c.f)
			if err != nil || !slices.Equal(idsOf(rs), c.want) {
				t.Errorf("queue %v, %v; want %v", idsOf(rs), err, c.want)
			}
		})
	}
	t.Run("ErrNoRole", func(t *testing.T) {
		if _, _, err := o.Reviews.Queue(ctx, o.As["cbp-agent"], store.ReviewFilter{}); fault.CodeOf(err) != fault.Forbidden {
			t.Errorf("an analyst's queue: %v", err)
		}
		if _, _, err := o.Reviews.Queue(ctx, o.As["cbp-lead"], store.ReviewFilter{Status: "open"}); fault.CodeOf(err) != fault.Invalid {
			t.Errorf("a bad status: %v", err)
		}
	})
	t.Run("OKOverdue", func(t *testing.T) {
		o.Clock.Advance(10 * 24 * time.Hour)
		rs, now, err := o.Reviews.Queue(ctx, o.As["cbp-lead"], store.ReviewFilter{Overdue: true})
		if err != nil || !slices.Equal(idsOf(rs), riskiest) {
			t.Fatalf("overdue %v, %v", idsOf(rs), err)
		}
		if !rs[0].Overdue(now) {
			t.Error("an overdue review does not say so")
		}
		if _, err := o.Reviews.Decide(ctx, o.As["cbp-lead"], ids[1], review.Appropriate, ""); err != nil {
			t.Fatal(err)
		}
		es := o.Entries(t, "review.decided")
		if es[len(es)-1].Data["overdue"] != true {
			t.Errorf("a late decision's entry: %+v", es[len(es)-1].Data)
		}
		rs, _, err = o.Reviews.Queue(ctx, o.As["cbp-lead"], store.ReviewFilter{All: true})
		if err != nil || len(rs) != 5 {
			t.Errorf("all reviews: %v, %v", idsOf(rs), err)
		}
		rs, _, err = o.Reviews.Queue(ctx, o.As["cbp-lead"], store.ReviewFilter{Status: review.Decided})
		if err != nil || !slices.Equal(idsOf(rs), []int64{ids[1]}) {
			t.Errorf("decided reviews: %v, %v", idsOf(rs), err)
		}
	})
}

func testReviewsEscalate(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustReviewOrg(t, d)
	q := o.MustQuery(t, ExecutedQuery{By: "cbp-agent"})
	glass := o.MustQuery(t, ExecutedQuery{By: "cbp-agent", BreakGlass: true})
	if _, err := o.Reviews.OpenMissing(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := o.Reviews.Escalate(ctx); err != nil || n != 0 {
		t.Fatalf("escalating before anything is due: %d, %v", n, err)
	}

	// 25 hours on: the break-glass review is overdue; the other is not.
	o.Clock.Advance(25 * time.Hour)
	before := o.size(t)
	if n, err := o.Reviews.Escalate(ctx); err != nil || n != 1 {
		t.Fatalf("Escalate = %d, %v; want 1", n, err)
	}
	g := o.mustReview(t, glass.ID)
	now := o.DB.Now()
	if g.Assignee != "cbp-chief" || g.Escalations != 1 || !g.DueAt.After(now) || g.DueAt.After(now.Add(review.BreakGlassEscalation)) {
		t.Errorf("the escalated break-glass review: %+v (now %s)", g, now)
	}
	es := o.entriesAfter(t, before)
	if len(es) != 1 || es[0].Type != "review.escalated" || es[0].Actor != store.SystemActor || es[0].Data["from"] != "cbp-lead" || es[0].Data["to"] != "cbp-chief" ||
		fmt.Sprint(es[0].Data["notified"]) != "[cbp-chief]" {
		t.Fatalf("entries %+v", es)
	}
	if r := o.mustReview(t, q.ID); r.Assignee != "cbp-lead" || r.Escalations != 0 {
		t.Errorf("a review not yet due was escalated: %+v", r)
	}

	// Ten days on, the other is overdue too: it goes to cbp-chief, and
	// the break-glass one, overdue again, to the privacy office.
	o.Clock.Advance(10 * 24 * time.Hour)
	if n, err := o.Reviews.Escalate(ctx); err != nil || n != 2 {
		t.Fatalf("Escalate = %d, %v; want 2", n, err)
	}
	// One business day: at most three calendar days (from a Friday).
	if r := o.mustReview(t, q.ID); r.Assignee != "cbp-chief" || r.Escalations != 1 || !r.DueAt.After(o.DB.Now()) || r.DueAt.After(o.DB.Now().Add(3*24*time.Hour+time.Hour)) {
		t.Errorf("the overdue review: %+v", r)
	}
	g = o.mustReview(t, glass.ID)
	if g.AssigneeID != 0 || g.Escalations != 2 {
		t.Errorf("the twice-overdue break-glass review: %+v", g)
	}
	if got := o.notified(t, "review.escalated", fmt.Sprintf("query/%d/escalation-2", glass.ID)); !slices.Equal(got, []string{"cbp-cpo", "cbp-cpo2"}) {
		t.Errorf("the privacy office's escalation told %v", got)
	}
	// With the privacy office, a review escalates no further; a privacy
	// officer decides it.
	o.Clock.Advance(10 * 24 * time.Hour)
	if n, err := o.Reviews.Escalate(ctx); err != nil || n != 1 {
		t.Fatalf("Escalate = %d, %v; want 1 (only the review with cbp-chief)", n, err)
	}
	if n, err := o.Reviews.Escalate(ctx); err != nil || n != 0 {
		t.Fatalf("Escalate = %d, %v; want 0", n, err)
	}
	if _, err := o.Reviews.Decide(ctx, o.As["cbp-cpo"], glass.ID, review.Appropriate, "An emergency, as stated."); err != nil {
		t.Errorf("the privacy office decides: %v", err)
	}
	if _, err := o.Reviews.Decide(ctx, o.As["cbp-lead"], q.ID, review.Appropriate, ""); err != nil {
		t.Errorf("the original reviewer still decides: %v", err)
	}
}
