// Package store is Probity's persistence: hand-written SQL over
// database/sql for SQLite (the embedded default) and PostgreSQL, embedded
// numbered migrations per dialect, transactions that carry a fixed time, and
// the ledger writer that records every change in the same transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/fault"
)

// A Dialect is an SQL dialect the store speaks.
type Dialect int

// Dialects.
const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// Options configure [Open].
type Options struct {
	// DSN is an SQLite file path (or file: URI) or a postgres:// URL.
	DSN string
	// ReadOnly opens the database for reading only: no migrations, no
	// writes. Commands that inspect a database (verify, backup) use it.
	ReadOnly bool
	// Logger receives the store's logs. Required.
	Logger *slog.Logger
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
	// SQLiteDriver names the registered database/sql driver for SQLite:
	// "sqlite" (modernc.org/sqlite, the default) or "sqlite3"
	// (github.com/mattn/go-sqlite3, registered only by benchmarks that
	// compare the two).
	SQLiteDriver string
	// Synchronous is SQLite's synchronous pragma: FULL (the default) makes
	// every commit durable on power loss; NORMAL only on a crash.
	Synchronous string
	// MaxBatch bounds how many transactions SQLite's writer groups into one
	// commit. 0 means 256.
	MaxBatch int
}

// A DB is an open Probity database.
type DB struct {
	dialect Dialect
	write   *sql.DB // SQLite: the single writer connection; PostgreSQL: the pool
	read    *sql.DB // SQLite: the read pool; PostgreSQL: the same pool
	log     *slog.Logger
	clock   func() time.Time
	ro      bool
	batch   *batcher   // SQLite only
	stmts   *stmtCache // SQLite only: the writer's prepared statements
	ledger  *Ledger
	desc    string // for messages: the file or the host/database, never a password
	dsn     string // never logged

	sqliteDriver string
}

// Dialect returns the database's SQL dialect.
func (db *DB) Dialect() Dialect { return db.dialect }

// String describes the database for messages, without credentials.
func (db *DB) String() string { return db.desc }

// Open connects to the database named by opts.DSN, checks that it is a
// Probity database (or empty), and unless opts.ReadOnly applies pending
// migrations. It refuses, with an explanation, a file that is not an SQLite
// database, a database that holds someone else's tables, and a database
// whose schema is newer than this program.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.Logger == nil {
		return nil, errors.New("store: no logger")
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	db := &DB{log: opts.Logger, clock: opts.Clock, ro: opts.ReadOnly, dsn: opts.DSN}
	var err error
	if IsPostgresDSN(opts.DSN) {
		db.dialect = Postgres
		err = db.openPostgres(ctx, opts)
	} else {
		db.dialect = SQLite
		err = db.openSQLite(ctx, opts)
	}
	if err != nil {
		db.closeConns()
		return nil, err
	}
	if err := db.checkIdentity(ctx); err != nil {
		db.closeConns()
		return nil, err
	}
	if !opts.ReadOnly {
		if err := db.migrate(ctx); err != nil {
			db.closeConns()
			return nil, err
		}
	} else if err := db.checkVersion(ctx); err != nil {
		db.closeConns()
		return nil, err
	}
	if db.dialect == SQLite && !opts.ReadOnly {
		db.stmts = newStmtCache()
		db.batch = newBatcher(db, opts.MaxBatch)
	}
	return db, nil
}

// IsPostgresDSN reports whether dsn names a PostgreSQL database.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Close stops the writer and closes the connections. Close the ledger first.
func (db *DB) Close() error {
	if db.batch != nil {
		db.batch.close()
	}
	if db.stmts != nil {
		db.stmts.close()
	}
	return db.closeConns()
}

func (db *DB) closeConns() error {
	var errs []error
	if db.read != nil && db.read != db.write {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fault.Wrap(err, fault.Unavailable, "database %s does not answer", db.desc)
	}
	return nil
}

// now returns the current time at the precision both dialects keep.
func (db *DB) now() time.Time {
	return db.clock().UTC().Truncate(time.Microsecond)
}

// Now returns the store's current time (its clock, which tests may set),
// as transactions see it.
func (db *DB) Now() time.Time { return db.now() }

// checkIdentity refuses databases that are neither empty nor Probity's.
func (db *DB) checkIdentity(ctx context.Context) error {
	tables, err := db.tables(ctx)
	if err != nil {
		return err
	}
	if len(tables) == 0 {
		return nil
	}
	has := map[string]bool{}
	for _, t := range tables {
		has[t] = true
	}
	if !has["probity_migrations"] {
		shown := tables
		if len(shown) > 5 {
			shown = append(shown[:5:5], "…")
		}
		return fault.New(fault.Conflict, "database %s is not a Probity database: it holds tables (%s) but no probity_migrations table; refusing to use or initialize it", db.desc, strings.Join(shown, ", "))
	}
	return nil
}

// Meta returns an installation metadata value, or "" when it is not set.
func (db *DB) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := db.read.QueryRowContext(ctx, `SELECT value FROM probity_meta WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s from probity_meta: %w", key, err)
	}
	return v, nil
}

// SetMeta writes an installation metadata value.
func (db *DB) SetMeta(ctx context.Context, key, value string) error {
	return db.Update(ctx, func(tx *Tx) error { return setMeta(ctx, tx, key, value) })
}

// setMeta writes an installation metadata value inside tx.
func setMeta(ctx context.Context, tx *Tx, key, value string) error {
	_, err := tx.Exec(ctx, `INSERT INTO probity_meta (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("write %s to probity_meta: %w", key, err)
	}
	return nil
}
