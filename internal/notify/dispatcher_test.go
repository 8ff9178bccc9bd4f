package notify_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/notify"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// queue queues a notice to the labelled people of o.
func queue(t *testing.T, o *storetest.ReviewOrg, subject string, labels ...string) {
	t.Helper()
	var to []int64
	for _, l := range labels {
		to = append(to, o.People[l].ID)
	}
	err := o.DB.Update(context.Background(), func(tx *store.Tx) error {
		_, err := o.Notifications.Notify(context.Background(), tx, store.Notice{Kind: "alert.raised", Subject: subject, Component: "CBP",
			Title: "High-severity alert in CBP", Body: "See Probity.", Link: "api/v1/" + subject, To: to})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func statuses(t *testing.T, o *storetest.ReviewOrg, subject string) map[string]string {
	t.Helper()
	ns, err := o.Notifications.List(context.Background(), store.NotificationFilter{Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range ns {
		out[n.To] = n.Status
	}
	return out
}

func TestDispatcher(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testDispatcher(t, d) })
	}
}

func testDispatcher(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := storetest.MustReviewOrg(t, d)
	mail := startMailServer(t, "", nil)
	relay := mail.addr
	rv := startReceiver(t, nil)
	disp := func(senders map[string]notify.Sender) *notify.Dispatcher {
		return notify.NewDispatcher(notify.DispatcherConfig{Outbox: o.Notifications, Senders: senders, Now: o.DB.Now,
			PublicURL: func() string { return "https://probity.agency.example/" }, Logger: storetest.Logger()})
	}
	senders := map[string]notify.Sender{
		store.EmailChannel:   mustSMTP(t, notify.SMTPConfig{Addr: relay}),
		store.WebhookChannel: mustWebhook(t, rv.URL, nil),
	}

	t.Run("OK", func(t *testing.T) {
		queue(t, o, "alert/1", "cbp-cpo", "cbp-opr")
		n, err := disp(senders).RunOnce(ctx)
		if err != nil || n != 3 {
			t.Fatalf("RunOnce = %d, %v; want 3", n, err)
		}
		if got := statuses(t, o, "alert/1"); len(got) != 3 || got["cbp-cpo@example.gov"] != "sent" || got["cbp-opr@example.gov"] != "sent" || got["webhook"] != "sent" {
			t.Errorf("statuses %v", got)
		}
		var to []string
		for _, m := range mail.Messages() {
			to = append(to, m.To...)
			if !strings.Contains(m.Data, "https://probity.agency.example/api/v1/alert/1") {
				t.Errorf("the email has no link: %q", m.Data)
			}
		}
		slices.Sort(to)
		if !slices.Equal(to, []string{"cbp-cpo@example.gov", "cbp-opr@example.gov"}) {
			t.Errorf("mailed %v", to)
		}
		if p := rv.payloads(); len(p) != 1 || p[0].Subject != "alert/1" || p[0].Link != "https://probity.agency.example/api/v1/alert/1" {
			t.Errorf("webhook %+v", p)
		}
		if n, err := disp(senders).RunOnce(ctx); err != nil || n != 0 {
			t.Errorf("a second run delivered %d, %v", n, err)
		}
	})

	t.Run("RelayDown", func(t *testing.T) {
		// The relay goes down: the messages wait, with their attempts
		// recorded, and go out once it is back.
		mail.Close()
		queue(t, o, "alert/2", "cbp-cpo")
		n, err := disp(senders).RunOnce(ctx)
		if err != nil || n != 1 {
			t.Fatalf("RunOnce = %d, %v; want 1 (the webhook call)", n, err)
		}
		if got := statuses(t, o, "alert/2"); got["cbp-cpo@example.gov"] != "pending" || got["webhook"] != "sent" {
			t.Fatalf("statuses %v", got)
		}
		ns, _ := o.Notifications.List(ctx, store.NotificationFilter{Subject: "alert/2", Status: "pending"})
		if len(ns) != 1 || ns[0].Attempts != 1 || !strings.Contains(ns[0].LastError, "connect to the SMTP relay") || !ns[0].NextAttemptAt.After(o.DB.Now()) {
			t.Fatalf("the waiting message %+v", ns)
		}
		// Not before its retry time.
		if n, _ := disp(senders).RunOnce(ctx); n != 0 {
			t.Errorf("retried at once: %d", n)
		}
		back := startMailServer(t, relay, nil)
		o.Clock.Advance(notify.RetryAfter(1) + time.Second)
		if n, err := disp(senders).RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("after the relay is back: %d, %v", n, err)
		}
		if got := statuses(t, o, "alert/2"); got["cbp-cpo@example.gov"] != "sent" {
			t.Errorf("statuses %v", got)
		}
		if len(back.Messages()) != 1 {
			t.Errorf("the relay got %d messages", len(back.Messages()))
		}
		atts, err := o.Notifications.Attempts(ctx, ns[0].ID)
		if err != nil || len(atts) != 2 || atts[0].OK || !atts[1].OK {
			t.Errorf("attempts %+v, %v", atts, err)
		}
	})

	t.Run("Permanent", func(t *testing.T) {
		refusing := startMailServer(t, "", func(s *mailServer) { s.rcptReply = "550 no such user" })
		queue(t, o, "alert/3", "cbp-lead")
		only := map[string]notify.Sender{store.EmailChannel: mustSMTP(t, notify.SMTPConfig{Addr: refusing.addr})}
		if n, err := disp(only).RunOnce(ctx); err != nil || n != 0 {
			t.Fatalf("RunOnce = %d, %v", n, err)
		}
		// The refused message is given up at once; the webhook's waits for
		// a dispatcher that has the webhook.
		if got := statuses(t, o, "alert/3"); got["cbp-lead@example.gov"] != "failed" || got["webhook"] != "pending" {
			t.Errorf("statuses %v", got)
		}
	})

	t.Run("StartClose", func(t *testing.T) {
		queue(t, o, "alert/4", "cbp-chief")
		hook := map[string]notify.Sender{store.WebhookChannel: senders[store.WebhookChannel]}
		dp := notify.NewDispatcher(notify.DispatcherConfig{Outbox: o.Notifications, Senders: hook, Now: o.DB.Now, Every: 10 * time.Millisecond, Logger: storetest.Logger()})
		dp.Start(ctx)
		defer dp.Close()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if got := statuses(t, o, "alert/4"); got["webhook"] == "sent" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not delivered: %v", statuses(t, o, "alert/4"))
			}
		}
		dp.Close()
		dp.Close() // twice is fine
	})
}

func TestRetryAfter(t *testing.T) {
	for _, c := range []struct {
		attempt int
		want    time.Duration
	}{{1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {7, 32 * time.Minute}, {8, time.Hour}, {49, time.Hour}} {
		if got := notify.RetryAfter(c.attempt); got != c.want {
			t.Errorf("RetryAfter(%d) = %s; want %s", c.attempt, got, c.want)
		}
	}
}
