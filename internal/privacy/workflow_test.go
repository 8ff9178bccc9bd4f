package privacy_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/privacy"
)

// People of the workflow tests.
const (
	author   = 10 // wrote the PIA (a security officer)
	coauthor = 11 // edited it too (a component privacy officer)
	boss     = 12 // supervises the author
	cpo      = 20 // a component privacy officer who wrote nothing
	cpo2     = 21 // another, supervised by the author
	dpo      = 30 // the Chief Privacy Officer
)

var chain = identity.MapChain{author: boss, cpo2: author}

var (
	asAuthor   = privacy.Actor{PersonID: author, Write: true}
	asCoauthor = privacy.Actor{PersonID: coauthor, Write: true, Review: true}
	asBoss     = privacy.Actor{PersonID: boss, Write: true, Review: true, Approve: true}
	asCPO      = privacy.Actor{PersonID: cpo, Write: true, Review: true}
	asCPO2     = privacy.Actor{PersonID: cpo2, Write: true, Review: true}
	asDPO      = privacy.Actor{PersonID: dpo, Approve: true}
	asAnalyst  = privacy.Actor{PersonID: 40}
	asToken    = privacy.Actor{Write: true, Review: true, Approve: true} // no person
)

func TestNext(t *testing.T) {
	authors := []int64{author, coauthor}
	// want is the status a step leads to, or the refusal code.
	type outcome struct {
		next privacy.Status
		code string
	}
	ok := func(s privacy.Status) outcome { return outcome{next: s} }
	no := func(code string) outcome { return outcome{code: code} }
	// legal[status][action] is the workflow, written out independently of
	// the implementation: every pair not listed is out of order.
	legal := map[privacy.Status]map[privacy.Action]privacy.Status{
		privacy.Draft:     {privacy.Edit: privacy.Draft, privacy.Submit: privacy.Submitted, privacy.RecordPrior: privacy.Published},
		privacy.Submitted: {privacy.Accept: privacy.Accepted, privacy.Return: privacy.Returned},
		privacy.Accepted:  {privacy.Approve: privacy.Approved, privacy.Return: privacy.Returned},
		privacy.Returned:  {privacy.Edit: privacy.Draft},
		privacy.Approved:  {privacy.Publish: privacy.Published},
		privacy.Published: {privacy.Edit: privacy.Draft},
	}
	// rightActor is who may take each step (with the roles to), having
	// written nothing.
	rightActor := func(s privacy.Status, a privacy.Action) privacy.Actor {
		switch a {
		case privacy.Edit, privacy.Submit:
			return asAuthor
		case privacy.Accept:
			return asCPO
		case privacy.Return:
			if s == privacy.Submitted {
				return asCPO
			}
			return asDPO
		}
		return asDPO
	}
	statuses := []privacy.Status{privacy.Draft, privacy.Submitted, privacy.Accepted, privacy.Returned, privacy.Approved, privacy.Published}

	t.Run("OKEveryLegalStep", func(t *testing.T) {
		for s, steps := range legal {
			for a, want := range steps {
				got, err := privacy.Next(privacy.Case{Status: s, Authors: authors}, a, rightActor(s, a), chain)
				if err != nil || got != want {
					t.Errorf("%s from %s by the right person = %q, %v; want %s", a, s, got, err, want)
				}
			}
		}
	})

	t.Run("ErrOutOfOrder", func(t *testing.T) {
		// Every step not in the workflow is refused as out of order, with
		// the right roles for it, and says what the status is.
		n := 0
		for _, s := range statuses {
			for _, a := range privacy.Actions() {
				if _, ok := legal[s][a]; ok {
					continue
				}
				who := rightActor(s, a)
				who.Review, who.Approve, who.Write = true, true, true // every role: only order can refuse
				_, err := privacy.Next(privacy.Case{Status: s, Authors: authors}, a, who, chain)
				checkRefusal(t, fmt.Sprintf("%s from %s", a, s), err, privacy.OutOfOrder, fault.Conflict)
				n++
			}
		}
		if n != 6*7-10 {
			t.Errorf("checked %d out-of-order steps, want %d", n, 6*7-10)
		}
	})

	for _, c := range []struct {
		name   string
		kase   privacy.Case
		action privacy.Action
		who    privacy.Actor
		want   outcome
	}{
		// Wrong roles.
		{"ErrAnalystSubmits", privacy.Case{Status: privacy.Draft}, privacy.Submit, asAnalyst, no(privacy.WrongRole)},
		{"ErrDPOEdits", privacy.Case{Status: privacy.Draft}, privacy.Edit, asDPO, no(privacy.WrongRole)},
		{"ErrAuthorReviews", privacy.Case{Status: privacy.Submitted, Authors: authors}, privacy.Accept, asAuthor, no(privacy.WrongRole)},
		{"ErrDPOReviews", privacy.Case{Status: privacy.Submitted}, privacy.Accept, asDPO, no(privacy.WrongRole)},
		{"ErrDPOReturnsSubmitted", privacy.Case{Status: privacy.Submitted}, privacy.Return, asDPO, no(privacy.WrongRole)},
		{"ErrCPOReturnsAccepted", privacy.Case{Status: privacy.Accepted}, privacy.Return, asCPO, no(privacy.WrongRole)},
		{"ErrCPOApproves", privacy.Case{Status: privacy.Accepted}, privacy.Approve, asCPO, no(privacy.WrongRole)},
		{"ErrCPOPublishes", privacy.Case{Status: privacy.Approved}, privacy.Publish, asCPO, no(privacy.WrongRole)},
		{"ErrCPORecordsPrior", privacy.Case{Status: privacy.Draft}, privacy.RecordPrior, asCPO, no(privacy.WrongRole)},
		{"ErrAnalystApproves", privacy.Case{Status: privacy.Accepted}, privacy.Approve, asAnalyst, no(privacy.WrongRole)},
		{"ErrNotAPerson", privacy.Case{Status: privacy.Accepted}, privacy.Approve, asToken, no(privacy.WrongRole)},
		{"ErrNotAPersonEdits", privacy.Case{Status: privacy.Draft}, privacy.Edit, asToken, no(privacy.WrongRole)},
		// The role is checked before the order: an analyst learns they may
		// not approve, not what stage the PIA is at.
		{"ErrWrongRoleOutOfOrder", privacy.Case{Status: privacy.Draft}, privacy.Approve, asAnalyst, no(privacy.WrongRole)},

		// Nobody reviews, returns, approves or publishes their own work,
		// nor work by someone above them.
		{"ErrCoauthorReviews", privacy.Case{Status: privacy.Submitted, Authors: authors}, privacy.Accept, asCoauthor, no(privacy.OwnWork)},
		{"ErrCoauthorReturns", privacy.Case{Status: privacy.Submitted, Authors: authors}, privacy.Return, asCoauthor, no(privacy.OwnWork)},
		{"ErrSupervisedReviewerReviews", privacy.Case{Status: privacy.Submitted, Authors: authors}, privacy.Accept, asCPO2, no(privacy.OwnWork)},
		{"ErrAuthorApproves", privacy.Case{Status: privacy.Accepted, Authors: []int64{dpo}}, privacy.Approve, asDPO, no(privacy.OwnWork)},
		{"ErrAuthorPublishes", privacy.Case{Status: privacy.Approved, Authors: []int64{dpo}}, privacy.Publish, asDPO, no(privacy.OwnWork)},
		{"ErrAuthorRecordsPrior", privacy.Case{Status: privacy.Draft, Authors: []int64{dpo}}, privacy.RecordPrior, asDPO, no(privacy.OwnWork)},
		// A supervisor may review their report's work (the chain runs up).
		{"OKSupervisorReviews", privacy.Case{Status: privacy.Submitted, Authors: authors}, privacy.Accept, asBoss, ok(privacy.Accepted)},
		// Authors may write and submit their own work, of course.
		{"OKCoauthorEdits", privacy.Case{Status: privacy.Returned, Authors: authors}, privacy.Edit, asCoauthor, ok(privacy.Draft)},
		{"OKCoauthorSubmits", privacy.Case{Status: privacy.Draft, Authors: authors}, privacy.Submit, asCoauthor, ok(privacy.Submitted)},

		// An approval cannot cover a data source that changed after the
		// version was submitted.
		{"ErrStaleApproval", privacy.Case{Status: privacy.Accepted, Authors: authors, SubmittedAt: day(1), UpdateRequiredAt: day(2)}, privacy.Approve, asDPO, no(privacy.Stale)},
		{"OKApprovalAfterChange", privacy.Case{Status: privacy.Accepted, Authors: authors, SubmittedAt: day(3), UpdateRequiredAt: day(2)}, privacy.Approve, asDPO, ok(privacy.Approved)},
		// A prior approval is for a PIA never in force in Probity.
		{"ErrPriorWhenEffective", privacy.Case{Status: privacy.Draft, Authors: authors, Effective: true}, privacy.RecordPrior, asDPO, no(privacy.OutOfOrder)},
		{"ErrUnknownAction", privacy.Case{Status: privacy.Draft}, privacy.Action("rubber-stamp"), asDPO, no(privacy.OutOfOrder)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := privacy.Next(c.kase, c.action, c.who, chain)
			if c.want.code == "" {
				if err != nil || got != c.want.next {
					t.Fatalf("Next = %q, %v; want %s", got, err, c.want.next)
				}
				return
			}
			wantFault := fault.Forbidden
			if c.want.code == privacy.OutOfOrder || c.want.code == privacy.Stale {
				wantFault = fault.Conflict
			}
			checkRefusal(t, c.name, err, c.want.code, wantFault)
			if got != "" {
				t.Errorf("a refused step moved to %q", got)
			}
		})
	}
}

func checkRefusal(t *testing.T, label string, err error, code string, fc fault.Code) {
	t.Helper()
	se, ok := errors.AsType[*privacy.StepError](err)
	if !ok {
		t.Errorf("%s: error %v is not a StepError", label, err)
		return
	}
	if se.Code != code {
		t.Errorf("%s: refusal %q (%s), want %q", label, se.Code, se.Reason, code)
	}
	if fault.CodeOf(err) != fc {
		t.Errorf("%s: fault code %s, want %s", label, fault.CodeOf(err), fc)
	}
	if msg := fault.MessageOf(err); msg == "" || msg == "internal error" || strings.Contains(msg, "%!") {
		t.Errorf("%s: message %q", label, msg)
	}
}

func day(n int) time.Time { return time.Date(2026, 3, n, 12, 0, 0, 0, time.UTC) }

func TestPIA_Case(t *testing.T) {
	p := privacy.PIA{Status: privacy.Submitted, SubmittedBy: cpo, EffectiveVersion: 2}
	c := p.Case([]int64{author})
	if len(c.Authors) != 2 || c.Authors[0] != author || c.Authors[1] != cpo || !c.Effective {
		t.Fatalf("Case = %+v; the submitter is an author, and a version is in force", c)
	}
	// The submitter, who wrote no version, still may not review.
	_, err := privacy.Next(c, privacy.Accept, asCPO, chain)
	checkRefusal(t, "submitter reviews", err, privacy.OwnWork, fault.Forbidden)
}

func TestValidateComments(t *testing.T) {
	for _, c := range []struct {
		name     string
		action   privacy.Action
		comments string
		ok       bool
	}{
		{"OKReturn", privacy.Return, "Section 5 lacks the records schedule.", true},
		{"ErrReturnWithout", privacy.Return, "  ", false},
		{"ErrReturnTooShort", privacy.Return, "no", false},
		{"OKApproveWithout", privacy.Approve, "", true},
		{"ErrControl", privacy.Accept, "fine\x00", false},
		{"ErrTooLong", privacy.Approve, strings.Repeat("x", 5001), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := privacy.ValidateComments(c.action, c.comments)
			if (err == nil) != c.ok {
				t.Fatalf("ValidateComments = %v", err)
			}
			if err != nil && !strings.Contains(fault.MessageOf(err), "comments") {
				t.Errorf("message %q does not name the field", fault.MessageOf(err))
			}
		})
	}
}

func TestPrior_Validate(t *testing.T) {
	now := day(10)
	for _, c := range []struct {
		name  string
		prior privacy.Prior
		field string
	}{
		{"OK", privacy.Prior{ApprovedOn: now.AddDate(-4, 0, 0), Approver: "Chief Privacy Officer", Reference: "DHS/CBP/PIA-076"}, ""},
		{"ErrFuture", privacy.Prior{ApprovedOn: now.Add(time.Hour), Approver: "CPO", Reference: "ref"}, "approved_on"},
		{"ErrAncient", privacy.Prior{ApprovedOn: now.AddDate(-11, 0, 0), Approver: "CPO", Reference: "ref"}, "approved_on"},
		{"ErrNoDate", privacy.Prior{Approver: "CPO", Reference: "ref"}, "approved_on"},
		{"ErrNoReference", privacy.Prior{ApprovedOn: now.AddDate(-1, 0, 0), Approver: "CPO"}, "reference"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.prior.Validate(now)
			if c.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkFields(t, err, c.field)
		})
	}
}

// checkFields checks that err is an Invalid fault listing exactly fields.
func checkFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	ve, ok := errors.AsType[*privacy.ValidationError](err)
	if !ok || fault.CodeOf(err) != fault.Invalid {
		t.Fatalf("error %v is not an Invalid ValidationError", err)
	}
	var got []string
	for _, f := range ve.Fields {
		got = append(got, f.Field)
		if !strings.Contains(fault.MessageOf(err), f.Field+" "+f.Message) {
			t.Errorf("the message %q does not name %s", fault.MessageOf(err), f.Field)
		}
	}
	if strings.Join(got, ",") != strings.Join(fields, ",") {
		t.Errorf("fields %v, want %v (%v)", got, fields, err)
	}
}
