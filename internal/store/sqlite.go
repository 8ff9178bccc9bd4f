package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"

	"github.com/probity-dev/probity/internal/fault"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// sqliteDSN returns a DSN for the given driver with the pragmas every
// connection needs: busy_timeout first (so that the others wait rather than
// fail), WAL, foreign keys, and the synchronous level.
func sqliteDSN(driver, path string, readOnly bool, synchronous string) string {
	u := url.URL{Scheme: "file", Opaque: url.PathEscape(path)}
	q := url.Values{}
	switch driver {
	case "sqlite3": // mattn/go-sqlite3
		q.Add("_busy_timeout", "10000")
		q.Add("_journal_mode", "WAL")
		q.Add("_foreign_keys", "1")
		q.Add("_synchronous", synchronous)
		if readOnly {
			q.Add("_query_only", "1")
		} else {
			q.Add("_txlock", "immediate")
		}
	default: // modernc.org/sqlite
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous("+synchronous+")")
		q.Add("_time_format", "sqlite")
		if readOnly {
			q.Add("_pragma", "query_only(1)")
		} else {
			q.Add("_txlock", "immediate")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (db *DB) openSQLite(ctx context.Context, opts Options) error {
	path := strings.TrimPrefix(opts.DSN, "file:")
	if path == "" {
		return fault.New(fault.Invalid, "no SQLite database file given")
	}
	db.desc = path
	driver := opts.SQLiteDriver
	if driver == "" {
		driver = "sqlite"
	}
	db.sqliteDriver = driver
	sync := strings.ToUpper(opts.Synchronous)
	switch sync {
	case "":
		sync = "FULL"
	case "FULL", "NORMAL", "EXTRA":
	default:
		return fault.New(fault.Invalid, "SQLite synchronous must be FULL, NORMAL or EXTRA, not %q", opts.Synchronous)
	}
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return fault.Wrap(err, fault.NotFound, "database %s cannot be read", path)
		}
	}
	if err := checkSQLiteHeader(path); err != nil {
		return err
	}

	var err error
	if !opts.ReadOnly {
		db.write, err = sql.Open(driver, sqliteDSN(driver, path, false, sync))
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		// One writer connection: SQLite has one writer at a time anyway, and
		// the batcher groups concurrent transactions into one commit on it.
		db.write.SetMaxOpenConns(1)
		db.write.SetMaxIdleConns(1)
		db.write.SetConnMaxLifetime(0)
		db.write.SetConnMaxIdleTime(0)
		if err := db.write.PingContext(ctx); err != nil {
			return sqliteOpenError(path, err)
		}
	}
	db.read, err = sql.Open(driver, sqliteDSN(driver, path, true, sync))
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	db.read.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)*2))
	db.read.SetMaxIdleConns(max(4, runtime.GOMAXPROCS(0)*2))
	if db.write == nil {
		db.write = db.read
	}
	if err := db.read.PingContext(ctx); err != nil {
		return sqliteOpenError(path, err)
	}
	return nil
}

// checkSQLiteHeader refuses a non-empty file that does not start with the
// SQLite header, before the driver can touch it.
func checkSQLiteHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fault.Wrap(err, fault.Unavailable, "database %s cannot be opened", path)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return fault.New(fault.Invalid, "database %s is a directory, not a file", path)
	}
	var hdr [16]byte
	n, _ := f.Read(hdr[:])
	if n == 0 {
		return nil // an empty file becomes a new database
	}
	if string(hdr[:n]) != "SQLite format 3\x00" {
		return fault.New(fault.Conflict, "database %s is not an SQLite database (its header is wrong): it may be corrupt or a different kind of file; refusing to start — restore it from a backup or choose another --db", path)
	}
	return nil
}

func sqliteOpenError(path string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "file is not a database"), strings.Contains(msg, "malformed"):
		return fault.Wrap(err, fault.Conflict, "database %s is corrupt or not an SQLite database; refusing to start — restore it from a backup", path)
	case strings.Contains(msg, "unable to open"), strings.Contains(msg, "permission denied"), strings.Contains(msg, "readonly"):
		return fault.Wrap(err, fault.Unavailable, "database %s cannot be opened for writing", path)
	}
	return fmt.Errorf("open %s: %w", path, err)
}

// tables lists the user tables in the database.
func (db *DB) tables(ctx context.Context) ([]string, error) {
	var q string
	switch db.dialect {
	case SQLite:
		q = `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	case Postgres:
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`
	}
	rows, err := db.read.QueryContext(ctx, q)
	if err != nil {
		if db.dialect == SQLite {
			return nil, sqliteOpenError(db.desc, err)
		}
		return nil, fmt.Errorf("list tables of %s: %w", db.desc, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		if db.dialect == SQLite {
			return nil, sqliteOpenError(db.desc, err)
		}
		return nil, err
	}
	return out, nil
}

// Backup writes a consistent copy of an SQLite database to dest while it is
// in use (VACUUM INTO reads one snapshot). dest must not exist.
func (db *DB) Backup(ctx context.Context, dest string) error {
	if db.dialect != SQLite {
		return fault.New(fault.NotImplemented, "backup of a PostgreSQL database is done with pg_dump (see docs/operations.md)")
	}
	if _, err := os.Stat(dest); err == nil {
		return fault.New(fault.Conflict, "backup destination %s already exists; choose a new file", dest)
	}
	// The read pool is query_only, which VACUUM INTO refuses; a connection
	// of its own reads the database without writing to it.
	conn, err := sql.Open(db.sqliteDriver, sqliteDSN(db.sqliteDriver, db.desc, false, "FULL"))
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `VACUUM INTO $1`, dest); err != nil {
		return fmt.Errorf("back up %s to %s: %w", db.desc, dest, err)
	}
	return os.Chmod(dest, 0o600)
}
