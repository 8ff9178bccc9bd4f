package store

// BatchStats returns how many SQLite write batches have committed or
// failed, and how many transactions they held.
func (db *DB) BatchStats() (batches, actions int64) {
	if db.batch == nil {
		return 0, 0
	}
	return db.batch.batches.Load(), db.batch.actions.Load()
}
