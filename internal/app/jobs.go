package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/probity-dev/probity/internal/access"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/storewatch"
)

// jobs runs Probity's scheduled work: suspending inactive accounts,
// closing recertification campaigns that are due, purging query results
// whose retention has ended, and opening and escalating the reviews of
// executed queries. Each replica runs them; they are
// idempotent, and each change is its own audited transaction.
type jobs struct {
	log     *slog.Logger
	ids     *store.Identity
	queries *access.Service
	stop    chan struct{}
	wg      sync.WaitGroup
	// every is how often the jobs run; purgeEvery how often the retention
	// purge runs, the first time at start.
	every, purgeEvery time.Duration
	// cancelPurge ends a purge in progress on Close.
	cancelPurge context.CancelFunc
	// reviews, when set, opens the review of every executed query that has
	// none and escalates overdue ones: at start (before the server
	// serves), then every reviewEvery; it opens those of break-glass
	// queries, whose approvers are told then, every breakGlassEvery.
	reviews                      *store.Reviews
	reviewEvery, breakGlassEvery time.Duration
	cancelReviews                context.CancelFunc
	// releases, when set, ends the risk exceptions of the release gate
	// whose expiry has passed (reopening their findings) every run.
	releases *store.Releases
	// storeWatch, when set, reads the watched apps' store listings every
	// hour and raises an alert for each published version without an
	// approved release.
	storeWatch *storewatch.Watcher
}

// newStoreWatch returns the store watch over the release gate's apps,
// raising its alerts through al.
func newStoreWatch(rs *store.Releases, al *store.Alerts, log *slog.Logger) (*storewatch.Watcher, error) {
	client, err := storewatch.NewClient(storewatch.ClientConfig{})
	if err != nil {
		return nil, err
	}
	return storewatch.NewWatcher(storewatch.Config{Apps: rs.StoreWatch(al), Client: client, Logger: log})
}

func newJobs(log *slog.Logger, ids *store.Identity, queries *access.Service) *jobs {
	return &jobs{log: log, ids: ids, queries: queries, stop: make(chan struct{}), every: 10 * time.Minute, purgeEvery: time.Hour, reviewEvery: 10 * time.Minute, breakGlassEvery: time.Minute}
}

// Start runs the jobs until Close.
func (j *jobs) Start(ctx context.Context) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		defer cancel()
		t := time.NewTimer(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-j.stop:
				return
			case <-t.C:
			}
			j.RunOnce(ctx)
			t.Reset(j.every)
		}
	}()
	j.startReviews(ctx)
	if j.storeWatch != nil {
		j.storeWatch.Start(ctx)
	}
	if j.queries == nil {
		return
	}
	// A variable of its own: the first goroutine's deferred cancel must not
	// see this one assigned (a data race).
	pctx, pcancel := context.WithCancel(context.WithoutCancel(ctx))
	j.cancelPurge = pcancel
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		defer pcancel()
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			select {
			case <-j.stop:
				return
			case <-t.C:
			}
			j.purge(pctx)
			t.Reset(j.purgeEvery)
		}
	}()
}

// startReviews runs the review job once now, then every reviewEvery, and
// opens the reviews of break-glass queries every breakGlassEvery.
func (j *jobs) startReviews(ctx context.Context) {
	if j.reviews == nil {
		return
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	j.cancelReviews = cancel
	j.review(rctx)
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		defer cancel()
		t := time.NewTimer(j.breakGlassEvery)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-j.stop:
				return
			case <-t.C:
			}
			if time.Since(last) >= j.reviewEvery {
				j.review(rctx)
				last = time.Now()
			} else if n, err := j.reviews.OpenBreakGlass(rctx); err != nil && !errors.Is(err, context.Canceled) {
				j.log.Error("open the reviews of break-glass queries", "opened", n, "err", err)
			} else if n > 0 {
				j.log.Info("opened the reviews of break-glass queries", "opened", n)
			}
			t.Reset(j.breakGlassEvery)
		}
	}()
}

// review opens the reviews of executed queries that have none, and
// escalates overdue reviews to the next supervisor up.
func (j *jobs) review(ctx context.Context) {
	if n, err := j.reviews.OpenMissing(ctx); err != nil && !errors.Is(err, context.Canceled) {
		j.log.Error("open the reviews of executed queries", "opened", n, "err", err)
	} else if n > 0 {
		j.log.Info("opened the reviews of executed queries", "opened", n)
	}
	if n, err := j.reviews.Escalate(ctx); err != nil && !errors.Is(err, context.Canceled) {
		j.log.Error("escalate overdue reviews", "escalated", n, "err", err)
	} else if n > 0 {
		j.log.Info("escalated overdue reviews", "escalated", n)
	}
}

// purge purges the query results whose retention has ended, each with its
// ledger entry.
func (j *jobs) purge(ctx context.Context) {
	n, err := j.queries.Purge(ctx)
	switch {
	case err != nil && !errors.Is(err, context.Canceled):
		j.log.Error("purge query results whose retention ended", "purged", n, "err", err)
	case n > 0:
		j.log.Info("purged query results whose retention ended", "purged", n)
	}
}

// RunOnce runs every job once.
func (j *jobs) RunOnce(ctx context.Context) {
	if n, err := j.ids.SuspendInactive(ctx, identity.InactivityLimit); err != nil {
		j.log.Error("suspend inactive accounts", "err", err)
	} else if n > 0 {
		j.log.Info("suspended inactive accounts", "count", n)
	}
	system := auth.Principal{Kind: ledger.ActorSystem, ID: "probity"}
	if n, err := j.ids.CloseDueCampaigns(ctx, system, 0); err != nil {
		j.log.Error("close due recertification campaigns", "err", err)
	} else if n > 0 {
		j.log.Info("suspended roles not recertified in time", "count", n)
	}
	if j.releases != nil {
		if n, err := j.releases.ExpireExceptions(ctx); err != nil && !errors.Is(err, context.Canceled) {
			j.log.Error("expire risk exceptions", "expired", n, "err", err)
		} else if n > 0 {
			j.log.Info("expired risk exceptions; their findings are open again", "expired", n)
		}
	}
}

// Close stops the jobs and waits for a run in progress.
func (j *jobs) Close() {
	select {
	case <-j.stop:
	default:
		close(j.stop)
	}
	if j.cancelPurge != nil {
		j.cancelPurge()
	}
	if j.cancelReviews != nil {
		j.cancelReviews()
	}
	if j.storeWatch != nil {
		j.storeWatch.Close()
	}
	j.wg.Wait()
}
