package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
)

// jobs runs Probity's scheduled work: suspending inactive accounts and
// closing recertification campaigns that are due. Each replica runs them;
// they are idempotent, and each change is its own audited transaction.
type jobs struct {
	log  *slog.Logger
	ids  *store.Identity
	stop chan struct{}
	wg   sync.WaitGroup
	// every is how often the jobs run.
	every time.Duration
}

func newJobs(log *slog.Logger, ids *store.Identity) *jobs {
	return &jobs{log: log, ids: ids, stop: make(chan struct{}), every: 10 * time.Minute}
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
}

// Close stops the jobs and waits for a run in progress.
func (j *jobs) Close() {
	select {
	case <-j.stop:
	default:
		close(j.stop)
	}
	j.wg.Wait()
}
