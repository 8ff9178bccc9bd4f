package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/probity-dev/probity/internal/places"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/store"
)

// placesReload is how often a server checks whether places or homes
// changed through another server, and rebuilds its index if they did.
const placesReload = 10 * time.Second

// A PlacesIndex keeps the screening index of protected places and
// employees' homes current: built at start, rebuilt in the background when
// a change commits here or the stored version moves on (a change made
// through another server), and swapped in whole, so that screening
// always sees one consistent snapshot. The misuse detectors read
// [PlacesIndex.Current].
type PlacesIndex struct {
	store *store.Places
	key   *places.HomeKey
	log   *slog.Logger
	cur   atomic.Pointer[places.Snapshot]

	mu   sync.Mutex // one rebuild at a time
	kick chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup
}

// openPlaces loads (or, the first time, creates and stores) the key of
// employees' home cells, sealed under the secrets key; returns the places
// store; and builds the first index.
func openPlaces(ctx context.Context, db *store.DB, secrets *sealed.Key, log *slog.Logger) (*store.Places, *PlacesIndex, error) {
	key, err := homeCellKey(ctx, db, secrets)
	if err != nil {
		return nil, nil, err
	}
	ix := &PlacesIndex{key: key, log: log, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	ix.store = db.Places(key, ix.Changed)
	if err := ix.Reload(ctx); err != nil {
		return nil, nil, err
	}
	return ix.store, ix, nil
}

// homeCellKey returns the key of employees' home cells.
func homeCellKey(ctx context.Context, db *store.DB, secrets *sealed.Key) (*places.HomeKey, error) {
	candidate := secrets.Seal(places.GenerateHomeKey(), store.HomeKeyWhat)
	stored, keyID, err := db.PlaceHomeKey(ctx, candidate, secrets.ID())
	if err != nil {
		return nil, fmt.Errorf("the key of employees' home cells: %w", err)
	}
	raw, err := secrets.Open(stored, store.HomeKeyWhat)
	if errors.Is(err, sealed.ErrOpen) {
		return nil, fmt.Errorf("the key of employees' home cells was sealed with secrets key %s and does not open with this one (%s): restore the secrets key file this database was used with", keyID, secrets.ID())
	}
	if err != nil {
		return nil, err
	}
	return places.NewHomeKey(raw)
}

// Current returns the index in force. It is never nil once the server is
// open.
func (ix *PlacesIndex) Current() *places.Snapshot { return ix.cur.Load() }

// Changed asks for a rebuild; it does not wait.
func (ix *PlacesIndex) Changed() {
	select {
	case ix.kick <- struct{}{}:
	default:
	}
}

// Reload rebuilds the index from the store now and swaps it in, unless a
// newer one is already in force.
func (ix *PlacesIndex) Reload(ctx context.Context) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	start := time.Now()
	data, err := ix.store.Load(ctx)
	if err != nil {
		return err
	}
	snap, err := places.NewSnapshot(data.Version, data.Places, data.Homes, ix.key)
	if err != nil {
		return fmt.Errorf("build the index of protected places: %w", err)
	}
	if cur := ix.cur.Load(); cur != nil && cur.Version > snap.Version {
		return nil
	}
	ix.cur.Store(snap)
	ix.log.Info("protected places indexed", "version", snap.Version, "places", snap.Zones.Len(), "homes", snap.Homes.Len(),
		"index_bytes", snap.Zones.Bytes(), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// Start rebuilds the index when told of a change, and checks every
// placesReload whether the stored version moved on, until
// [PlacesIndex.Close]. Failures are logged; the index in force stays.
func (ix *PlacesIndex) Start(ctx context.Context) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ix.wg.Add(1)
	go func() {
		defer ix.wg.Done()
		defer cancel()
		t := time.NewTimer(placesReload)
		defer t.Stop()
		for {
			kicked := false
			select {
			case <-ix.stop:
				return
			case <-t.C:
			case <-ix.kick:
				kicked = true
			}
			if !kicked {
				v, err := ix.store.Version(ctx)
				if err != nil {
					ix.log.Error("check the version of protected places", "err", err)
				}
				kicked = err == nil && v != ix.Current().Version
			}
			if kicked {
				if err := ix.Reload(ctx); err != nil {
					ix.log.Error("rebuild the index of protected places", "err", err)
				}
			}
			t.Stop()
			t.Reset(placesReload)
		}
	}()
}

// Close stops the background rebuilds and waits for one in progress.
func (ix *PlacesIndex) Close() {
	select {
	case <-ix.stop:
	default:
		close(ix.stop)
	}
	ix.wg.Wait()
}
