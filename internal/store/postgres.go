package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/probity-dev/probity/internal/fault"
)

func (db *DB) openPostgres(ctx context.Context, opts Options) error {
	db.desc = RedactDSN(opts.DSN)
	var err error
	db.write, err = sql.Open("pgx", opts.DSN)
	if err != nil {
		return fault.Wrap(err, fault.Invalid, "PostgreSQL URL %s is not valid", db.desc)
	}
	db.write.SetMaxOpenConns(32)
	db.write.SetMaxIdleConns(32)
	db.read = db.write
	if err := db.write.PingContext(ctx); err != nil {
		return fault.Wrap(err, fault.Unavailable, "PostgreSQL database %s does not answer", db.desc)
	}
	return nil
}

// RedactDSN returns a PostgreSQL URL without its password, or an SQLite path
// as it is.
func RedactDSN(dsn string) string {
	if !IsPostgresDSN(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// isUniqueViolation reports whether err is a unique or primary-key
// constraint violation.
func isUniqueViolation(err error) bool {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// advisoryLockID returns the key of a PostgreSQL advisory lock, scoped by
// the current schema so that schemas in one database do not contend.
func advisoryLockQuery(name string) string {
	return fmt.Sprintf(`hashtextextended(current_schema() || '/%s', 0)`, name)
}
