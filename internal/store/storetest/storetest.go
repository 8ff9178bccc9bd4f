// Package storetest is the conformance suite that every SQL dialect of the
// store must pass, and the helpers other tests use to get a fresh database
// of either dialect: an SQLite file in a temporary directory always, and a
// new PostgreSQL schema when PROBITY_TEST_POSTGRES names a database.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
)

// EnvPostgres names the environment variable holding the PostgreSQL URL
// tests use.
const EnvPostgres = "PROBITY_TEST_POSTGRES"

// Dialects returns the dialects to test: SQLite, and PostgreSQL when
// PROBITY_TEST_POSTGRES is set.
func Dialects() []store.Dialect {
	if os.Getenv(EnvPostgres) != "" {
		return []store.Dialect{store.SQLite, store.Postgres}
	}
	return []store.Dialect{store.SQLite}
}

// Logger returns a logger for tests: silent unless PROBITY_TEST_LOG is set,
// because background goroutines may log after a test has ended.
func Logger() *slog.Logger {
	if os.Getenv("PROBITY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// NewDSN returns the DSN of a new, empty database of dialect d, removed
// when tb ends. For PostgreSQL it is a new schema of the
// PROBITY_TEST_POSTGRES database, selected through search_path, so that
// tests never see each other's data.
func NewDSN(tb testing.TB, d store.Dialect) string {
	tb.Helper()
	switch d {
	case store.SQLite:
		return filepath.Join(tb.TempDir(), "probity.db")
	case store.Postgres:
		base := os.Getenv(EnvPostgres)
		if base == "" {
			tb.Skip("PROBITY_TEST_POSTGRES is not set; skipping PostgreSQL")
		}
		var b [6]byte
		rand.Read(b[:])
		schema := "probity_test_" + hex.EncodeToString(b[:])
		admin, err := sql.Open("pgx", base)
		if err != nil {
			tb.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
			admin.Close()
			tb.Fatalf("create schema: %v", err)
		}
		tb.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// Other tests drop their schemas at the same time, and PostgreSQL
			// may pick this drop as a deadlock's victim: try again.
			for attempt := 1; ; attempt++ {
				_, err := admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`)
				var pe *pgconn.PgError
				if errors.As(err, &pe) && pe.Code == "40P01" && attempt < 5 {
					time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
					continue
				}
				if err != nil {
					tb.Errorf("drop schema %s: %v", schema, err)
				}
				break
			}
			admin.Close()
		})
		u, err := url.Parse(base)
		if err != nil {
			tb.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	tb.Fatalf("unknown dialect %v", d)
	return ""
}

// Origin is the ledger origin tests use.
const Origin = "probity.test/ledger"

// MustKeys returns new ledger keys for [Origin].
func MustKeys(tb testing.TB) ledger.Keys {
	tb.Helper()
	k, err := ledger.GenerateKeys(Origin)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// MustOpen opens dsn with a ledger signed by keys, started, and closes both
// when tb ends.
func MustOpen(tb testing.TB, dsn string, keys ledger.Keys) (*store.DB, *store.Ledger) {
	tb.Helper()
	return MustOpenWith(tb, store.Options{DSN: dsn}, keys)
}

// MustOpenWith is [MustOpen] with store options (an SQLite driver, say); a
// nil opts.Logger becomes [Logger].
func MustOpenWith(tb testing.TB, opts store.Options, keys ledger.Keys) (*store.DB, *store.Ledger) {
	tb.Helper()
	ctx := context.Background()
	if opts.Logger == nil {
		opts.Logger = Logger()
	}
	db, err := store.Open(ctx, opts)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	l, err := store.OpenLedger(ctx, db, store.LedgerConfig{Origin: Origin, Keys: &keys, Interval: func(context.Context) time.Duration { return time.Hour }})
	if err != nil {
		db.Close()
		tb.Fatalf("open ledger: %v", err)
	}
	l.Start(ctx)
	tb.Cleanup(func() {
		l.Close()
		db.Close()
	})
	return db, l
}

// MustOpenNew opens a fresh database of dialect d with a new ledger.
func MustOpenNew(tb testing.TB, d store.Dialect) (*store.DB, *store.Ledger, ledger.Keys) {
	tb.Helper()
	keys := MustKeys(tb)
	db, l := MustOpen(tb, NewDSN(tb, d), keys)
	return db, l, keys
}

// SettledSize returns the ledger's size once every committed entry is
// integrated: on PostgreSQL the sequencer integrates in the background, so
// a size read straight after a commit may not count it yet.
func SettledSize(tb testing.TB, db *store.DB, l *store.Ledger) int64 {
	tb.Helper()
	ctx := context.Background()
	if db.Dialect() == store.Postgres {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(2 * time.Millisecond) {
			var pending int
			if err := db.View(ctx, func(tx *store.Tx) error {
				return tx.QueryRow(ctx, `SELECT COUNT(*) FROM ledger_pending`).Scan(&pending)
			}); err != nil {
				tb.Fatal(err)
			}
			if pending == 0 {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("%d ledger entries still pending after 30s", pending)
			}
		}
	}
	n, err := l.Size(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
