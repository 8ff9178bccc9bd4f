package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/settings"
)

// Settings returns the settings store over db.
func (db *DB) Settings() settings.Store { return settingsStore{db} }

type settingsStore struct{ db *DB }

var _ settings.Store = settingsStore{}

func (s settingsStore) ListSettings(ctx context.Context) ([]settings.Stored, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT name, value, updated_at, updated_by FROM settings ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list settings: %w", err)
	}
	defer rows.Close()
	var out []settings.Stored
	for rows.Next() {
		var st settings.Stored
		var v string
		if err := rows.Scan(&st.Name, &v, &st.UpdatedAt, &st.UpdatedBy); err != nil {
			return nil, fmt.Errorf("list settings: %w", err)
		}
		st.Value = []byte(v)
		out = append(out, st)
	}
	return out, rows.Err()
}

func (s settingsStore) SetSetting(ctx context.Context, st *settings.Stored, record func(previous *settings.Stored) ledger.Event) (int64, error) {
	if s.db.ledger == nil {
		return 0, fault.New(fault.Internal, "settings cannot change before the ledger is open")
	}
	var ref Ref
	err := s.db.Update(ctx, func(tx *Tx) error {
		// Changes of one setting take turns, so that the previous value the
		// ledger records is the one this change replaces. SQLite has a
		// single writer; on PostgreSQL, replicas' transactions would
		// otherwise read the same previous value, and a row lock cannot
		// cover a setting that has no row yet.
		if tx.Dialect() == Postgres {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/setting/' || $1, 0))`, st.Name); err != nil {
				return fmt.Errorf("lock setting %s: %w", st.Name, err)
			}
		}
		var prev *settings.Stored
		var p settings.Stored
		var v string
		err := tx.QueryRow(ctx, `SELECT name, value, updated_at, updated_by FROM settings WHERE name = $1`, st.Name).Scan(&p.Name, &v, &p.UpdatedAt, &p.UpdatedBy)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("read setting %s: %w", st.Name, err)
		default:
			p.Value = []byte(v)
			prev = &p
		}
		if _, err := tx.Exec(ctx, `INSERT INTO settings (name, value, updated_at, updated_by) VALUES ($1, $2, $3, $4)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			st.Name, string(st.Value), tx.Now, st.UpdatedBy); err != nil {
			return fmt.Errorf("write setting %s: %w", st.Name, err)
		}
		st.UpdatedAt = tx.Now
		ref, err = s.db.ledger.Append(ctx, tx, record(prev))
		return err
	})
	if err != nil {
		return 0, err
	}
	return s.db.ledger.WaitIntegrated(ctx, ref)
}
