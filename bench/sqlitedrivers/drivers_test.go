package sqlitedrivers_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// BenchmarkLedgerAppend runs the store's append benchmark
// (storetest.BenchAppend: each append its own transaction that also writes
// a row, synchronous=FULL) with each driver.
func BenchmarkLedgerAppend(b *testing.B) {
	drivers := []struct{ name, driver string }{
		{"modernc", "sqlite"},
		{"mattn", "sqlite3"},
	}
	for _, w := range []int{1, 16} {
		for _, d := range drivers {
			b.Run(fmt.Sprintf("writers=%d/%s", w, d.name), func(b *testing.B) {
				keys := storetest.MustKeys(b)
				db, l := storetest.MustOpenWith(b, store.Options{DSN: filepath.Join(b.TempDir(), "probity.db"), SQLiteDriver: d.driver}, keys)
				mustBeDurable(b, db)
				storetest.BenchAppend(b, db, l, keys, storetest.AppendBench{Writers: w})
			})
		}
	}
}

// mustBeDurable checks that the writer connection runs in WAL mode with
// synchronous=FULL, whichever driver opened it: the comparison is of equally
// durable commits.
func mustBeDurable(b *testing.B, db *store.DB) {
	b.Helper()
	ctx := context.Background()
	var mode string
	var sync int
	err := db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.QueryRow(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `PRAGMA synchronous`).Scan(&sync)
	})
	if err != nil {
		b.Fatal(err)
	}
	if mode != "wal" || sync != 2 {
		b.Fatalf("journal_mode %s, synchronous %d; want wal and 2 (FULL)", mode, sync)
	}
}
