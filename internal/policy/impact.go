package policy

import (
	"cmp"
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// A Recorded is a past decision's input, as the store keeps it.
type Recorded struct {
	ID        int64
	At        time.Time
	Actor     string
	Component string
	Action    string
	Resource  string
	// Input is the decision's [Input] in JSON.
	Input []byte
}

// An Outcome is a decision reduced to what impact analysis compares.
type Outcome struct {
	Allowed  bool     `json:"allowed"`
	Policies []string `json:"policies"`

	// same is Policies with the component set's scope left out: a
	// component taking a set of its own in place of the default set, with
	// the same policies, changes no decision.
	same []string
}

func outcomeOf(d Decision) Outcome {
	o := Outcome{Allowed: d.Allowed, Policies: d.PolicyIDs()}
	o.same = make([]string, len(o.Policies))
	prefix := d.Component.Scope + "/"
	for i, p := range o.Policies {
		if d.Component.Scope != "" && strings.HasPrefix(p, prefix) {
			p = "component/" + strings.TrimPrefix(p, prefix)
		}
		o.same[i] = p
	}
	return o
}

// Kinds of change.
const (
	AllowToDeny = "allow_to_deny"
	DenyToAllow = "deny_to_allow"
	// PoliciesChanged is the same decision for other reasons: other
	// determining policies.
	PoliciesChanged = "policies_changed"
)

// A Change is a recorded decision that the proposed sets decide
// differently.
type Change struct {
	RecordID  int64     `json:"record_id"`
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	Component string    `json:"component"`
	Action    string    `json:"action"`
	Resource  string    `json:"resource"`
	Kind      string    `json:"kind"`
	Current   Outcome   `json:"current"`
	Proposed  Outcome   `json:"proposed"`
}

// An Impact is the result of replaying recorded decisions under the
// current and the proposed sets.
type Impact struct {
	Scope string `json:"scope"`
	// Considered is how many recorded decisions were read; Replayed how
	// many the proposed set takes part in; Unreadable how many could not
	// be decoded (counted and skipped).
	Considered int `json:"considered"`
	Replayed   int `json:"replayed"`
	Unreadable int `json:"unreadable"`
	// Changed counts the changes of each kind.
	AllowToDeny     int `json:"allow_to_deny"`
	DenyToAllow     int `json:"deny_to_allow"`
	PoliciesChanged int `json:"policies_changed"`
	// Changes lists every change, in record order.
	Changes []Change `json:"changes"`
	// Elapsed is how long the replay took.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Changed returns how many decisions would change outcome or reasons.
func (im Impact) Changed() int { return im.AllowToDeny + im.DenyToAllow + im.PoliciesChanged }

// Analyse replays recorded decisions under current and under current with
// proposed in place of the set of its scope, and lists every decision that
// would change. Records of components the proposed set does not govern are
// skipped. The work is spread over the available processors.
func Analyse(ctx context.Context, current *Snapshot, proposed *Set, recs []Recorded) (Impact, error) {
	start := time.Now()
	next := current.With(proposed)
	im := Impact{Scope: proposed.Scope, Considered: len(recs)}
	workers := min(runtime.GOMAXPROCS(0), 8, max(1, len(recs)/256))
	type part struct {
		replayed, unreadable int
		changes              []Change
		err                  error
	}
	parts := make([]part, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := len(recs)*w/workers, len(recs)*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &parts[w]
			cache := &entityCache{m: map[string]cachedEntity{}}
			for i, r := range recs[lo:hi] {
				if i%1024 == 0 {
					if err := ctx.Err(); err != nil {
						p.err = err
						return
					}
				}
				d := decoder{b: r.Input, cache: cache}
				in, err := d.input()
				if err != nil {
					p.unreadable++
					continue
				}
				comp, ok := in.Component()
				if !ok {
					p.unreadable++
					continue
				}
				if !current.Governs(proposed.Scope, comp) {
					continue
				}
				p.replayed++
				// Each distinct entity was checked against the schema once,
				// when it entered the cache; a record with one that does not
				// conform is decided with every check, and refused.
				check := checkAllButEntity
				if d.entityErr != nil {
					check = checkAll
				}
				old, new := outcomeOf(current.decide(&in, check)), outcomeOf(next.decide(&in, check))
				kind := ""
				switch {
				case old.Allowed && !new.Allowed:
					kind = AllowToDeny
				case !old.Allowed && new.Allowed:
					kind = DenyToAllow
				case !slices.Equal(old.same, new.same):
					kind = PoliciesChanged
				default:
					continue
				}
				p.changes = append(p.changes, Change{RecordID: r.ID, At: r.At, Actor: r.Actor, Component: r.Component, Action: r.Action, Resource: r.Resource,
					Kind: kind, Current: old, Proposed: new})
			}
		}()
	}
	wg.Wait()
	for _, p := range parts {
		if p.err != nil {
			return Impact{}, p.err
		}
		im.Replayed += p.replayed
		im.Unreadable += p.unreadable
		for _, c := range p.changes {
			switch c.Kind {
			case AllowToDeny:
				im.AllowToDeny++
			case DenyToAllow:
				im.DenyToAllow++
			default:
				im.PoliciesChanged++
			}
		}
		im.Changes = append(im.Changes, p.changes...)
	}
	slices.SortFunc(im.Changes, func(a, b Change) int { return cmp.Compare(a.RecordID, b.RecordID) })
	if im.Changes == nil {
		im.Changes = []Change{}
	}
	im.Elapsed = time.Since(start)
	return im, nil
}
