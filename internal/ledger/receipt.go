package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A Receipt proves that an entry is in the ledger: the entry itself, its
// index, a signed checkpoint and the inclusion proof of the entry in the
// tree that checkpoint commits to. Anyone holding the ledger's verifier key
// can check it without access to Probity ([Receipt.Verify]; the command
// `probity ledger verify --receipt FILE --key KEY`).
type Receipt struct {
	// Index is the entry's position in the log.
	Index int64 `json:"index"`
	// Entry is the entry's canonical JSON, exactly as hashed (standard
	// base64 in the receipt's JSON, so that reformatting the file cannot
	// change it).
	Entry []byte `json:"entry"`
	// Checkpoint is the signed note (C2SP tlog-checkpoint).
	Checkpoint string `json:"checkpoint"`
	// Proof is the RFC 6962 inclusion proof of the entry in the tree of the
	// checkpoint's size, hashes in standard base64.
	Proof []tlog.Hash `json:"proof"`
}

// MaxReceiptSize bounds a receipt file: an entry, a checkpoint with a few
// signatures and a proof of up to 63 hashes fit comfortably.
const MaxReceiptSize = 1 << 18

// ParseReceipt decodes a receipt, refusing anything but one JSON object of
// the receipt's members.
func ParseReceipt(b []byte) (Receipt, error) {
	var r Receipt
	if len(b) > MaxReceiptSize {
		return r, fmt.Errorf("a receipt is at most %d bytes; this one has %d", MaxReceiptSize, len(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("not a ledger receipt: %w", err)
	}
	if dec.More() {
		return r, errors.New("not a ledger receipt: data after the receipt")
	}
	switch {
	case r.Index < 0:
		return r, errors.New("the receipt's index is negative")
	case len(r.Entry) == 0:
		return r, errors.New("the receipt has no entry")
	case r.Checkpoint == "":
		return r, errors.New("the receipt has no checkpoint")
	case len(r.Proof) > 63:
		return r, fmt.Errorf("the receipt's proof has %d hashes; a proof has at most 63", len(r.Proof))
	}
	return r, nil
}

// Verify checks the receipt: the checkpoint is signed by one of verifiers
// (by a key named after the log's origin), the entry decodes and its
// sequence number is its index, and the proof puts the entry's hash at that
// index in the checkpoint's tree. It returns the decoded entry and the
// checkpoint.
func (r Receipt) Verify(verifiers note.Verifiers) (Entry, Checkpoint, error) {
	cp, _, err := OpenCheckpoint([]byte(r.Checkpoint), verifiers)
	if err != nil {
		return Entry{}, cp, err
	}
	if r.Index >= cp.Size {
		return Entry{}, cp, fmt.Errorf("entry %d is outside the checkpoint's tree of %d entries", r.Index, cp.Size)
	}
	en, err := Decode(r.Entry)
	if err != nil {
		return en, cp, fmt.Errorf("the receipt's entry: %w", err)
	}
	if en.Seq != r.Index {
		return en, cp, fmt.Errorf("the receipt's entry has sequence number %d but claims index %d", en.Seq, r.Index)
	}
	if err := tlog.CheckRecord(r.Proof, cp.Size, cp.Hash, r.Index, tlog.RecordHash(r.Entry)); err != nil {
		return en, cp, fmt.Errorf("the inclusion proof of entry %d does not verify against the checkpoint: %w", r.Index, err)
	}
	return en, cp, nil
}
