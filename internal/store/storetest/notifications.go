package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/store"
)

func (o *ReviewOrg) notify(n store.Notice) ([]string, error) {
	var told []string
	err := o.DB.Update(context.Background(), func(tx *store.Tx) error {
		var err error
		told, err = o.Notifications.Notify(context.Background(), tx, n)
		return err
	})
	return told, err
}

func testNotifications(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustReviewOrg(t, d)
	if err := o.Ids.SetStatus(ctx, storetestAdmin, o.People["cbp-sublead"].ID, identity.Locked, "under investigation"); err != nil {
		t.Fatal(err)
	}
	notice := store.Notice{Kind: "test.event", Subject: "test/1", Component: "CBP", Title: "Something happened — look", Body: "Look at it in Probity.",
		Link: "api/v1/alerts/1", To: []int64{o.People["cbp-lead"].ID, o.People["cbp-chief"].ID, o.People["cbp-sublead"].ID, o.People["cbp-lead"].ID}}

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			change func(n *store.Notice)
			msg    string
		}{
			{"NoKind", func(n *store.Notice) { n.Kind = "" }, "kind"},
			{"NoSubject", func(n *store.Notice) { n.Subject = "" }, "subject"},
			{"TitleInjection", func(n *store.Notice) { n.Title = "Hi\r\nBcc: everyone@example.gov" }, "title is one line"},
			{"AbsoluteLink", func(n *store.Notice) { n.Link = "https://elsewhere.example/phish" }, "link is a path"},
			{"LongBody", func(n *store.Notice) { n.Body = strings.Repeat("x", store.MaxNoticeBody+1) }, "body is text"},
		} {
			t.Run(c.name, func(t *testing.T) {
				n := notice
				c.change(&n)
				if _, err := o.notify(n); fault.CodeOf(err) != fault.Invalid || !strings.Contains(fault.MessageOf(err), c.msg) {
					t.Errorf("%v; want invalid saying %q", err, c.msg)
				}
			})
		}
		if ns, _ := o.Notifications.List(ctx, store.NotificationFilter{}); len(ns) != 0 {
			t.Errorf("refused notices queued %d messages", len(ns))
		}
	})
	t.Run("OKNoChannel", func(t *testing.T) {
		none := o.DB.Notifications()
		var told []string
		err := o.DB.Update(ctx, func(tx *store.Tx) error {
			var err error
			told, err = none.Notify(ctx, tx, notice)
			return err
		})
		if err != nil || len(told) != 0 {
			t.Errorf("without channels: %v, %v", told, err)
		}
		if ns, _ := o.Notifications.List(ctx, store.NotificationFilter{}); len(ns) != 0 {
			t.Errorf("without channels, %d messages were queued", len(ns))
		}
	})

	// The locked account is not told; nobody is told twice.
	told, err := o.notify(notice)
	if err != nil || !slices.Equal(told, []string{"cbp-chief", "cbp-lead"}) {
		t.Fatalf("told %v, %v", told, err)
	}
	if _, err := o.notify(notice); err != nil {
		t.Fatal(err)
	}
	ns, err := o.Notifications.List(ctx, store.NotificationFilter{Subject: "test/1"})
	if err != nil || len(ns) != 3 {
		t.Fatalf("%d messages, %v; want 2 emails and 1 webhook call", len(ns), err)
	}
	for _, n := range ns {
		want := n.EmployeeID + "@example.gov"
		if n.Channel == store.WebhookChannel {
			want = "webhook"
		}
		if n.To != want || n.Status != "pending" || n.Attempts != 0 || n.Title != notice.Title || n.Kind != "test.event" || n.Link != notice.Link {
			t.Errorf("message %+v", n)
		}
	}

	t.Run("Delivery", func(t *testing.T) {
		lease := time.Minute
		got, err := o.Notifications.Claim(ctx, []string{store.EmailChannel}, 10, lease)
		if err != nil || len(got) != 2 || got[0].Attempt != 1 || got[0].Channel != store.EmailChannel {
			t.Fatalf("claimed %+v, %v", got, err)
		}
		// Leased: nobody else takes them, until the lease ends.
		if again, err := o.Notifications.Claim(ctx, []string{store.EmailChannel}, 10, lease); err != nil || len(again) != 0 {
			t.Fatalf("claimed again at once: %+v, %v", again, err)
		}
		if err := o.Notifications.Delivered(ctx, got[0].ID, got[0].Attempt); err != nil {
			t.Fatal(err)
		}
		retry := o.DB.Now().Add(30 * time.Second)
		if err := o.Notifications.Undelivered(ctx, got[1].ID, got[1].Attempt, "connection refused", retry); err != nil {
			t.Fatal(err)
		}
		if again, _ := o.Notifications.Claim(ctx, []string{store.EmailChannel}, 10, lease); len(again) != 0 {
			t.Fatalf("claimed before its retry time: %+v", again)
		}
		o.Clock.Advance(31 * time.Second)
		again, err := o.Notifications.Claim(ctx, []string{store.EmailChannel}, 10, lease)
		if err != nil || len(again) != 1 || again[0].ID != got[1].ID || again[0].Attempt != 2 {
			t.Fatalf("the retry: %+v, %v", again, err)
		}
		// A stale attempt changes nothing but the record of attempts.
		if err := o.Notifications.Delivered(ctx, got[1].ID, 1); err != nil {
			t.Fatal(err)
		}
		if n := mustNotification(t, o, got[1].ID); n.Status != "pending" {
			t.Errorf("a stale attempt marked it %s", n.Status)
		}
		if err := o.Notifications.Undelivered(ctx, got[1].ID, 2, "550 no such user", time.Time{}); err != nil {
			t.Fatal(err)
		}
		n := mustNotification(t, o, got[1].ID)
		if n.Status != "failed" || n.LastError != "550 no such user" || n.Attempts != 2 {
			t.Errorf("given up: %+v", n)
		}
		if n := mustNotification(t, o, got[0].ID); n.Status != "sent" || n.SentAt.IsZero() {
			t.Errorf("delivered: %+v", n)
		}
		atts, err := o.Notifications.Attempts(ctx, got[1].ID)
		if err != nil || len(atts) != 3 || atts[0].OK || atts[0].Error != "connection refused" || !atts[1].OK || atts[2].OK {
			t.Errorf("attempts %+v, %v", atts, err)
		}
		// The webhook's message waits for its own channel.
		if w, err := o.Notifications.Claim(ctx, []string{store.WebhookChannel}, 10, lease); err != nil || len(w) != 1 || w[0].To != "webhook" {
			t.Errorf("the webhook's message: %+v, %v", w, err)
		}
	})
}

func mustNotification(tb testing.TB, o *ReviewOrg, id int64) store.NotificationRecord {
	tb.Helper()
	ns, err := o.Notifications.List(context.Background(), store.NotificationFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	for _, n := range ns {
		if n.ID == id {
			return n
		}
	}
	tb.Fatalf("no notification %d", id)
	return store.NotificationRecord{}
}
