package store

import "context"

// Vacuum runs VACUUM (ANALYZE) on a PostgreSQL table, outside any
// transaction, as autovacuum would; benchmarks measure reads after it.
func (db *DB) Vacuum(ctx context.Context, table string) error {
	if db.dialect != Postgres {
		return nil
	}
	_, err := db.write.ExecContext(ctx, `VACUUM (ANALYZE) `+table)
	return err
}
