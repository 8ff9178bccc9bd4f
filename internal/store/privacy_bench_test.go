package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// BenchmarkPrivacyGate measures the data-source gate as the query path
// checks it: inside the caller's read-write transaction. "open" is a usable
// source (one statement); "closed" a source missing three pieces, whose
// refusal also names who can fix each; "query-tx" is a whole transaction
// that checks the gate and appends the query's ledger entry, the gate's
// share of a query, next to "baseline-tx", the same transaction without
// the gate. Every result is checked: the open gate is usable, the
// closed one lists its three pieces.
func BenchmarkPrivacyGate(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(d.String(), func(b *testing.B) {
			ctx := context.Background()
			o := storetest.MustPrivacyOrg(b, d)
			open := o.MustSource(b, o.MustSystem(b, "CBP", "Targeting"), "venntel-cbp")
			o.MustOpenGate(b, open)
			o.MustPublishedPIA(b, open)
			closed := o.MustSource(b, o.MustSystem(b, "CBP", "Other"), "babel-cbp")
			// Other sources, so that the lookups are not of a lone row.
			sys := o.MustSystem(b, "CBP", "Filler")
			for i := range 50 {
				o.MustSource(b, sys, fmt.Sprintf("filler-%02d", i))
			}

			inTx := func(b *testing.B, id int64, wantMissing int) {
				err := o.DB.Update(ctx, func(tx *store.Tx) error {
					b.ResetTimer()
					for b.Loop() {
						g, err := o.Privacy.CheckGate(ctx, tx, id)
						if err != nil {
							return err
						}
						if len(g.Missing) != wantMissing || g.Usable != (wantMissing == 0) {
							return fmt.Errorf("gate of %d: %v", id, g.Codes())
						}
					}
					b.StopTimer()
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.Run("open", func(b *testing.B) { inTx(b, open.ID, 0) })
			b.Run("closed", func(b *testing.B) { inTx(b, closed.ID, 3) })
			// query-tx is a transaction that checks the gate and appends the
			// query's entry; baseline-tx the same without the gate, so that
			// the difference is the gate's share of a query.
			queryTx := func(b *testing.B, gate bool) {
				for b.Loop() {
					err := o.DB.Update(ctx, func(tx *store.Tx) error {
						if gate {
							if err := o.Privacy.RequireGate(ctx, tx, open.ID); err != nil {
								return err
							}
						}
						_, err := o.Ledger.Append(ctx, tx, ledger.Event{Type: "bench.query", Actor: ledger.Actor{Kind: ledger.ActorUser, ID: "cbp-analyst"}, Component: "CBP", Subject: "source/1"})
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.Run("query-tx", func(b *testing.B) { queryTx(b, true) })
			b.Run("baseline-tx", func(b *testing.B) { queryTx(b, false) })
		})
	}
}
