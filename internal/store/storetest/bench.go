package storetest

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
)

// BenchEvent returns the i-th event of a benchmark: an audited action of
// the size Probity's own entries have (an actor, a component, a subject, a
// few data attributes and a payload digest; about 400 bytes encoded), so
// that encoding, hashing and storage cost what they cost in production.
func BenchEvent(i int64) ledger.Event {
	var payload [8]byte
	binary.BigEndian.PutUint64(payload[:], uint64(i))
	kinds := [...]string{"area_search", "device_history", "pattern_of_life", "co_location"}
	return ledger.Event{
		Type:      "query.run",
		Actor:     ledger.Actor{Kind: ledger.ActorUser, ID: fmt.Sprintf("analyst-%04d@component.example.gov", i%997)},
		Component: fmt.Sprintf("component-%02d", i%23),
		Subject:   fmt.Sprintf("case/%d/query/%d", i%50021, i),
		Data: map[string]any{
			"kind":          kinds[i%int64(len(kinds))],
			"area_km2":      float64(i%1000) / 8,
			"window_hours":  i%168 + 1,
			"justification": "authorized investigative query recorded by the benchmark",
			"result_count":  i % 4099,
		},
		Digest: ledger.PayloadDigest(payload[:]),
	}
}

// AppendBench configures [BenchAppend].
type AppendBench struct {
	// Writers is the number of concurrent writers.
	Writers int
	// Wait makes each writer also wait for its entry's integration
	// ([store.Ledger.WaitIntegrated]), which on PostgreSQL includes the
	// sequencer's batch.
	Wait bool
	// Batches, when set, returns the store's count of SQLite write batches
	// and of the transactions they held, for an appends/commit metric.
	Batches func() (batches, actions int64)
}

// BenchAppend measures durable appends: b.N actions spread over
// o.Writers concurrent writers, each action its own [store.DB.Update] that
// inserts a row into a bench_actions table and appends its ledger entry,
// the way every audited change in Probity is written.
//
// It reports appends/s and the p50 and p99 latency of one action, and then
// checks what it measured: every action's row is stored, the ledger grew by
// exactly b.N entries, and the whole ledger verifies.
func BenchAppend(b *testing.B, db *store.DB, l *store.Ledger, keys ledger.Keys, o AppendBench) {
	b.Helper()
	ctx := context.Background()
	err := db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_actions (
			id         BIGINT PRIMARY KEY,
			subject    TEXT NOT NULL,
			created_at TIMESTAMP NOT NULL
		)`)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	before := mustWaitSize(b, l, 1, false) // at least the genesis entry
	var rowsBefore int64
	if err := db.View(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, `SELECT COUNT(*) FROM bench_actions`).Scan(&rowsBefore)
	}); err != nil {
		b.Fatal(err)
	}

	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	var errOnce sync.Once
	var firstErr error
	var batches0, actions0 int64
	if o.Batches != nil {
		batches0, actions0 = o.Batches()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for w := range o.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				id := rowsBefore + i
				ev := BenchEvent(id)
				t0 := time.Now()
				var ref store.Ref
				err := db.Update(ctx, func(tx *store.Tx) error {
					if _, err := tx.Exec(ctx, `INSERT INTO bench_actions (id, subject, created_at) VALUES ($1, $2, $3)`, id, ev.Subject, tx.Now); err != nil {
						return fmt.Errorf("writer %d: insert: %w", w, err)
					}
					var err error
					ref, err = l.Append(ctx, tx, ev)
					return err
				})
				if err == nil && o.Wait {
					_, err = l.WaitIntegrated(ctx, ref)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
	if o.Batches != nil {
		batches, actions := o.Batches()
		if batches > batches0 {
			b.ReportMetric(float64(actions-actions0)/float64(batches-batches0), "appends/commit")
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")

	// Check what was measured.
	var rows int64
	if err := db.View(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, `SELECT COUNT(*) FROM bench_actions`).Scan(&rows)
	}); err != nil {
		b.Fatal(err)
	}
	if rows != rowsBefore+int64(b.N) {
		b.Fatalf("bench_actions holds %d rows, want %d", rows, rowsBefore+int64(b.N))
	}
	mustWaitSize(b, l, before+int64(b.N), true)
	if _, _, err := l.Publish(ctx); err != nil {
		b.Fatal(err)
	}
	rep := mustVerify(b, l, keys)
	if rep.Entries != before+int64(b.N) {
		b.Fatalf("verified %d entries, want %d", rep.Entries, before+int64(b.N))
	}
}

// mustWaitSize waits until the ledger has integrated at least want entries
// and returns its size, which with exact must be want.
func mustWaitSize(tb testing.TB, l *store.Ledger, want int64, exact bool) int64 {
	tb.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n, err := l.Size(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		if n >= want {
			if exact && n != want {
				tb.Fatalf("ledger size %d, want %d", n, want)
			}
			return n
		}
		if time.Now().After(deadline) {
			tb.Fatalf("ledger size %d after 2 minutes, want %d", n, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
