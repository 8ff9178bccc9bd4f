package store

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
)

// appendSQLite integrates the entry in the caller's transaction: it takes
// the next index from the batch's tree cursor (the writer's in-memory right
// edge), computes the stored hashes, and inserts the record. The cursor
// becomes the committed tree only when the batch commits.
func (l *Ledger) appendSQLite(ctx context.Context, tx *Tx, ev ledger.Event) (Ref, error) {
	if tx.tree == nil {
		return Ref{}, fault.New(fault.Internal, "ledger append outside a write transaction")
	}
	seq := tx.tree.Size()
	entry, err := ledger.Encode(ev, seq, tx.Now)
	if err != nil {
		return Ref{}, err
	}
	h := tlog.RecordHash(entry)
	saved := *tx.tree
	hashes, err := tx.tree.Append(h)
	if err != nil {
		return Ref{}, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO ledger_entries (idx, entry, hashes, mac) VALUES ($1, $2, $3, $4)`,
		seq, entry, joinHashes(hashes), l.keys.MAC.Sum(seq, h))
	if err != nil {
		*tx.tree = saved
		if isUniqueViolation(err) {
			// Only this writer appends; a record already at the next index
			// was put there by someone else.
			err = fmt.Errorf("a record already exists at index %d, which this writer did not write: %w", seq, err)
			l.fail(err)
			return Ref{}, fault.Wrap(err, fault.Tampered, "the ledger was changed outside Probity; the action was not taken")
		}
		return Ref{}, fmt.Errorf("append ledger entry %d: %w", seq, err)
	}
	return Ref{Index: seq}, nil
}
