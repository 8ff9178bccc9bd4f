package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// A Stored is an active policy set version as the store keeps it.
type Stored struct {
	ID      int64
	Scope   string
	Version int
	Text    string
	Limits  *Limits
}

// A Loader reads the active policy set versions.
type Loader interface {
	ActivePolicySets(ctx context.Context) ([]Stored, error)
}

// An Engine decides requests under the active policy sets, which it loads
// from the store, keeps compiled, and reloads when they change: at once
// when told ([Engine.Load]), and periodically, so that a set activated
// through another replica takes effect here too.
type Engine struct {
	loader Loader
	log    *slog.Logger
	snap   atomic.Pointer[Snapshot]
	loadMu sync.Mutex // one load at a time

	stop chan struct{}
	kick chan struct{}
	wg   sync.WaitGroup
}

// NewEngine returns an engine over loader. It decides nothing (every
// request is refused) until its first successful [Engine.Load].
func NewEngine(loader Loader, log *slog.Logger) *Engine {
	return &Engine{loader: loader, log: log, stop: make(chan struct{}), kick: make(chan struct{}, 1)}
}

// ErrNoPolicies reports a store without an active department or default
// component set.
var ErrNoPolicies = errors.New("no active department or default component policy set")

// Load reads the active sets and swaps them in. Sets whose stored version
// is unchanged are not compiled again. When the department or default set
// cannot be compiled, the previous snapshot stays and Load returns the
// error; a component set that cannot be compiled makes that component's
// requests fail closed.
func (e *Engine) Load(ctx context.Context) error {
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	stored, err := e.loader.ActivePolicySets(ctx)
	if err != nil {
		return fmt.Errorf("load policy sets: %w", err)
	}
	prev := e.snap.Load()
	known := map[int64]*Set{}
	if prev != nil {
		for _, s := range prev.Sets() {
			known[s.ID] = s
		}
	}
	var sets []*Set
	broken := map[string]string{}
	for _, st := range stored {
		if s, ok := known[st.ID]; ok && st.ID != 0 {
			sets = append(sets, s)
			continue
		}
		s, err := Compile(st.Scope, st.Text, st.Limits)
		if err != nil {
			if IsComponentScope(st.Scope) {
				e.log.Error("an active component policy set does not compile; its component's requests are refused", "scope", st.Scope, "version", st.Version, "err", err)
				broken[st.Scope] = fmt.Sprintf("version %d does not compile", st.Version)
				continue
			}
			return fmt.Errorf("active policy set %s version %d: %w", st.Scope, st.Version, err)
		}
		s.ID, s.Version = st.ID, st.Version
		sets = append(sets, s)
	}
	snap, err := NewSnapshot(sets...)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoPolicies, err)
	}
	if len(broken) > 0 {
		snap.broken = broken
	}
	e.snap.Store(snap)
	return nil
}

// Snapshot returns the sets in force, or nil before the first load.
func (e *Engine) Snapshot() *Snapshot { return e.snap.Load() }

// Decide decides a request under the sets in force.
func (e *Engine) Decide(in *Input) Decision {
	s := e.snap.Load()
	if s == nil {
		return Decision{Action: string(in.Action.ID), refusalID: IDNotLoaded, Refusal: "The policies are not loaded; requests are refused until they are."}
	}
	return s.Decide(in)
}

// DecideRequest builds a request's input and decides it. The input is
// returned for recording, nil when the request cannot be expressed (then
// the decision is a refusal).
func (e *Engine) DecideRequest(r Request) (Decision, *Input) {
	in, err := r.Input()
	if err != nil {
		return Decision{Action: string(r.Action), refusalID: IDInvalidRequest, Refusal: "The request is malformed: " + err.Error()}, nil
	}
	return e.Decide(in), in
}

// Changed tells a started engine that the active sets changed: it
// reloads them at once, without waiting for the next interval. It never
// blocks.
func (e *Engine) Changed() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Start reloads the sets every interval, and when told of a change, until
// [Engine.Close], logging failures (the sets in force stay).
func (e *Engine) Start(ctx context.Context, every time.Duration) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer cancel()
		t := time.NewTimer(every)
		defer t.Stop()
		for {
			select {
			case <-e.stop:
				return
			case <-t.C:
			case <-e.kick:
			}
			if err := e.Load(ctx); err != nil {
				e.log.Error("reload policy sets", "err", err)
			}
			t.Stop()
			t.Reset(every)
		}
	}()
}

// Close stops the periodic reload and waits for one in progress.
func (e *Engine) Close() {
	select {
	case <-e.stop:
	default:
		close(e.stop)
	}
	e.wg.Wait()
}
