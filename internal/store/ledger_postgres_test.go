package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// TestLedger_TwoReplicas appends through two replicas of one PostgreSQL
// ledger: whichever leads the sequencer integrates the other's entries too
// (woken by its notification after commit), and waiters in both learn
// their entries' indexes.
func TestLedger_TwoReplicas(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.NewDSN(t, store.Postgres)
	keys := storetest.MustKeys(t)
	dbA, lA := storetest.MustOpen(t, dsn, keys)
	dbB, lB := storetest.MustOpen(t, dsn, keys)
	deadline := time.Now().Add(30 * time.Second)
	for !lA.Sequencing() && !lB.Sequencing() {
		if time.Now().After(deadline) {
			t.Fatal("no replica became the sequencer")
		}
		time.Sleep(10 * time.Millisecond)
	}
	const each = 50
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for _, r := range []struct {
		db *store.DB
		l  *store.Ledger
	}{{dbA, lA}, {dbB, lB}} {
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each / 4 {
					var ref store.Ref
					err := r.db.Update(ctx, func(tx *store.Tx) error {
						var err error
						ref, err = r.l.Append(ctx, tx, storetest.BenchEvent(int64(w*1000+i)))
						return err
					})
					if err != nil {
						t.Error(err)
						return
					}
					ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
					idx, err := r.l.WaitIntegrated(ctx, ref)
					cancel()
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if seen[idx] {
						t.Errorf("index %d given twice", idx)
					}
					seen[idx] = true
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	want := int64(1 + 2*4*(each/4))
	for _, l := range []*store.Ledger{lA, lB} {
		if n, err := l.Size(ctx); err != nil || n != want {
			t.Fatalf("size %d, %v; want %d", n, err, want)
		}
	}
	for idx := range seen {
		if idx < 1 || idx >= want {
			t.Fatalf("index %d is outside the ledger", idx)
		}
	}
	if _, _, err := lA.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, lB, keys)
}
