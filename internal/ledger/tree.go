package ledger

import (
	"errors"
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// A Tree is the right edge of an RFC 6962 Merkle tree: its size and the
// roots of the complete subtrees that make it up, one per set bit of the
// size. That is all a writer needs to append a record and to compute the
// root, so a writer keeps a Tree in memory instead of reading stored hashes
// back for every append.
//
// The zero Tree is the empty tree. Trees are values; copying one is cheap
// (about 2 KiB) and gives an independent snapshot.
type Tree struct {
	size int64
	edge [64]tlog.Hash // edge[l] is the root of the level-l subtree, if bit l of size is set
}

// Size returns the number of records in t.
func (t *Tree) Size() int64 { return t.size }

// ReadHashes serves the stored hashes on the right edge, the only ones that
// [tlog.StoredHashesForRecordHash] and [tlog.TreeHash] read for a tree of
// this size.
func (t *Tree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		level, n := tlog.SplitStoredHashIndex(idx)
		if level >= 64 || t.size>>uint(level)&1 == 0 || n != t.size>>uint(level)-1 {
			return nil, fmt.Errorf("ledger: stored hash %d (level %d, node %d) is not on the right edge of a tree of size %d", idx, level, n, t.size)
		}
		out[i] = t.edge[level]
	}
	return out, nil
}

// Append adds the record with the given record hash ([tlog.RecordHash] of
// the entry) and returns the hashes to store for it, in the order of
// [tlog.StoredHashes]: the record hash, then the root of every subtree the
// record completes.
func (t *Tree) Append(recordHash tlog.Hash) ([]tlog.Hash, error) {
	hashes, err := tlog.StoredHashesForRecordHash(t.size, recordHash, t)
	if err != nil {
		return nil, err
	}
	// The record completes subtrees at levels 0..k-1, where k is the number of
	// trailing ones of the old size; their combination is the new level-k root.
	k := bits.TrailingZeros64(uint64(t.size + 1))
	t.edge[k] = hashes[k]
	t.size++
	return hashes, nil
}

// Root returns the RFC 6962 root hash of t.
func (t *Tree) Root() tlog.Hash {
	h, err := tlog.TreeHash(t.size, t)
	if err != nil {
		// ReadHashes serves every index TreeHash asks for by construction.
		panic(err)
	}
	return h
}

// LoadTree rebuilds the right edge of a tree of the given size from stored
// hashes: one read of at most 64 hashes, done once when a writer starts.
func LoadTree(size int64, r tlog.HashReader) (Tree, error) {
	var t Tree
	if size < 0 {
		return t, errors.New("ledger: negative tree size")
	}
	var indexes []int64
	var levels []int
	for l := 63; l >= 0; l-- {
		if size>>uint(l)&1 == 1 {
			indexes = append(indexes, tlog.StoredHashIndex(l, size>>uint(l)-1))
			levels = append(levels, l)
		}
	}
	hashes, err := r.ReadHashes(indexes)
	if err != nil {
		return t, fmt.Errorf("ledger: read right edge: %w", err)
	}
	if len(hashes) != len(indexes) {
		return t, fmt.Errorf("ledger: read right edge: got %d hashes for %d indexes", len(hashes), len(indexes))
	}
	for i, l := range levels {
		t.edge[l] = hashes[i]
	}
	t.size = size
	return t, nil
}

// StoredHashLocation returns where the stored hash with the given index is
// kept when each record's stored hashes are kept together with the record,
// as the store does: the record that completed it, and its position in that
// record's list.
func StoredHashLocation(index int64) (record int64, offset int) {
	level, n := tlog.SplitStoredHashIndex(index)
	return (n+1)<<uint(level) - 1, level
}

// StoredHashCountFor returns how many hashes are stored with record n.
func StoredHashCountFor(n int64) int {
	return 1 + bits.TrailingZeros64(uint64(n+1))
}
