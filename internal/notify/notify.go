// Package notify delivers Probity's notifications: email through a
// configured SMTP relay (net/smtp, optionally requiring STARTTLS) and
// calls of a configured webhook (an HTTP POST of JSON signed with
// HMAC-SHA256). The messages come from the outbox (store.Notifications),
// where the actions that cause them queue them in their own transactions;
// a [Dispatcher] takes the due ones, delivers them, records each attempt,
// and retries failures with backoff, so that a relay that is down delays
// a notification but never loses it.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/probity-dev/probity/internal/store"
)

// A Message is one notification to deliver.
type Message struct {
	ID        int64
	Kind      string // what happened, e.g. "alert.raised"
	Subject   string // what it is about, e.g. "alert/12"
	Component string
	// To is the recipient's email address (email only).
	To    string
	Title string
	Body  string
	// Link is the full URL where to look, or "" when the server's public
	// address is not known.
	Link      string
	CreatedAt time.Time
}

// A Sender delivers messages on one channel.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// A PermanentError is a delivery failure that retrying cannot fix (a
// refused recipient, say): the message is given up at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Outbox is where the dispatcher takes messages from and records what
// became of them.
type Outbox interface {
	Claim(ctx context.Context, channels []string, limit int, lease time.Duration) ([]store.Outgoing, error)
	Delivered(ctx context.Context, id int64, attempt int) error
	Undelivered(ctx context.Context, id int64, attempt int, cause string, retryAt time.Time) error
}

var _ Outbox = (*store.Notifications)(nil)

// Retry policy of the dispatcher.
const (
	// MaxAttempts is how many times a message is tried before it is given
	// up (recorded as failed): with the backoff, about two days.
	MaxAttempts = 50
	firstRetry  = 30 * time.Second
	maxRetry    = time.Hour
)

// RetryAfter returns how long to wait after the attempt-th failed attempt:
// 30 s, doubling, at most an hour.
func RetryAfter(attempt int) time.Duration {
	d := firstRetry
	for i := 1; i < attempt && d < maxRetry; i++ {
		d *= 2
	}
	return min(d, maxRetry)
}

// DispatcherConfig configures a [Dispatcher].
type DispatcherConfig struct {
	Outbox Outbox
	// Senders deliver each channel (store.EmailChannel,
	// store.WebhookChannel); a channel without one is left queued.
	Senders map[string]Sender
	// PublicURL returns the server's base URL ending in "/", for links;
	// nil or "" leaves links out.
	PublicURL func() string
	// Every is how often the outbox is looked at (default 5 s).
	Every time.Duration
	// Lease is how long a message taken for delivery is kept from other
	// dispatchers (default 2 minutes).
	Lease time.Duration
	// Now is the clock (default time.Now), for retry times.
	Now    func() time.Time
	Logger *slog.Logger
}

// A Dispatcher delivers the outbox's messages.
type Dispatcher struct {
	cfg  DispatcherConfig
	stop chan struct{}
	wg   sync.WaitGroup
	// cancel ends a delivery in progress on Close.
	cancel context.CancelFunc
}

// NewDispatcher returns a dispatcher; Start starts it.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	if cfg.Every <= 0 {
		cfg.Every = 5 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{cfg: cfg, stop: make(chan struct{})}
}

// Channels returns the channels the dispatcher delivers.
func (d *Dispatcher) Channels() []string {
	var cs []string
	for _, c := range []string{store.EmailChannel, store.WebhookChannel} {
		if d.cfg.Senders[c] != nil {
			cs = append(cs, c)
		}
	}
	return cs
}

// Start delivers messages until Close.
func (d *Dispatcher) Start(ctx context.Context) {
	if len(d.Channels()) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer cancel()
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			select {
			case <-d.stop:
				return
			case <-t.C:
			}
			if _, err := d.RunOnce(ctx); err != nil && !errors.Is(err, context.Canceled) {
				d.cfg.Logger.Error("deliver notifications", "err", err)
			}
			t.Reset(d.cfg.Every)
		}
	}()
}

// Close stops the dispatcher and waits for a delivery in progress, which
// it cancels; a message cut short is taken again when its lease ends.
func (d *Dispatcher) Close() {
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
}

// RunOnce delivers the messages due now, in batches, and returns how many
// were delivered.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	channels := d.Channels()
	sent := 0
	for {
		batch, err := d.cfg.Outbox.Claim(ctx, channels, 50, d.cfg.Lease)
		if err != nil {
			return sent, fmt.Errorf("take notifications from the outbox: %w", err)
		}
		if len(batch) == 0 {
			return sent, nil
		}
		for _, o := range batch {
			ok, err := d.deliver(ctx, o)
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
	}
}

// deliver sends one message and records the outcome; it reports whether
// the message was delivered, and returns an error only when the outcome
// could not be recorded.
func (d *Dispatcher) deliver(ctx context.Context, o store.Outgoing) (bool, error) {
	m := Message{ID: o.ID, Kind: o.Kind, Subject: o.Subject, Component: o.Component, Title: o.Title, Body: o.Body, CreatedAt: o.CreatedAt}
	if o.Channel == store.EmailChannel {
		m.To = o.To
	}
	if d.cfg.PublicURL != nil && o.Link != "" {
		if base := d.cfg.PublicURL(); base != "" {
			m.Link = strings.TrimSuffix(base, "/") + "/" + o.Link
		}
	}
	err := d.cfg.Senders[o.Channel].Send(ctx, m)
	// The outcome is recorded even when ctx ended meanwhile.
	rctx := context.WithoutCancel(ctx)
	if err == nil {
		return true, d.cfg.Outbox.Delivered(rctx, o.ID, o.Attempt)
	}
	if ctx.Err() != nil {
		return false, ctx.Err() // cut short: taken again when the lease ends
	}
	var retry time.Time
	var perm *PermanentError
	if !errors.As(err, &perm) && o.Attempt < MaxAttempts {
		retry = d.cfg.Now().Add(RetryAfter(o.Attempt))
	}
	d.cfg.Logger.Warn("notification not delivered", "notification", o.ID, "channel", o.Channel, "kind", o.Kind, "attempt", o.Attempt, "retry", !retry.IsZero(), "err", err)
	return false, d.cfg.Outbox.Undelivered(rctx, o.ID, o.Attempt, err.Error(), retry)
}
