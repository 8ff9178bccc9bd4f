package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
)

// latestSigned returns the cached latest checkpoint.
func (l *Ledger) latestSigned() signed {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.latest
}

// refreshLatest reads the latest stored checkpoint. A ledger with no
// checkpoint yet has the empty checkpoint (size 0) with a nil note.
func (l *Ledger) refreshLatest(ctx context.Context) (signed, error) {
	var s signed
	var msg []byte
	err := l.db.read.QueryRowContext(ctx, `SELECT note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&msg)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		s = signed{cp: ledger.Checkpoint{Origin: l.origin, Size: 0, Hash: emptyRoot()}}
	case err != nil:
		return s, fmt.Errorf("read latest checkpoint: %w", err)
	default:
		vs, err := l.Verifiers()
		if err != nil {
			return s, err
		}
		cp, _, err := ledger.OpenCheckpoint(msg, vs)
		if err != nil {
			return s, fault.Wrap(err, fault.Tampered, "the latest stored checkpoint does not verify")
		}
		s = signed{cp: cp, note: msg}
	}
	l.mu.Lock()
	if s.cp.Size >= l.latest.cp.Size {
		l.latest, l.latestAt = s, time.Now()
	} else {
		s = l.latest
	}
	l.mu.Unlock()
	return s, nil
}

func emptyRoot() tlog.Hash {
	h, _ := tlog.TreeHash(0, nil)
	return h
}

// Latest returns the latest signed checkpoint, its note, and whether one
// exists. Replicas read it from the database at most once a second.
func (l *Ledger) Latest(ctx context.Context) (ledger.Checkpoint, []byte, error) {
	l.mu.Lock()
	s, at := l.latest, l.latestAt
	l.mu.Unlock()
	if s.note == nil || time.Since(at) > time.Second {
		var err error
		if s, err = l.refreshLatest(ctx); err != nil {
			return ledger.Checkpoint{}, nil, err
		}
	}
	if s.note == nil {
		return s.cp, nil, fault.Wrap(ErrNotFound, fault.NotFound, "the ledger has no checkpoint yet")
	}
	return s.cp, s.note, nil
}

// Checkpoints returns every stored signed checkpoint, oldest first.
func (l *Ledger) Checkpoints(ctx context.Context) ([][]byte, error) {
	rows, err := l.db.read.QueryContext(ctx, `SELECT note FROM ledger_checkpoints ORDER BY size`)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Publish signs and stores a checkpoint of the integrated ledger, unless
// the latest checkpoint already covers it, and returns the latest
// checkpoint. Before signing it proves the new tree consistent with the
// latest checkpoint, so two inconsistent checkpoints are never published;
// if that proof fails the writer stops (fail closed).
func (l *Ledger) Publish(ctx context.Context) (ledger.Checkpoint, []byte, error) {
	if l.keys == nil {
		return ledger.Checkpoint{}, nil, fault.New(fault.Internal, "the ledger is open read-only")
	}
	if err := l.Failed(); err != nil {
		return ledger.Checkpoint{}, nil, fault.Wrap(err, fault.Unavailable, "the ledger is not publishing checkpoints")
	}
	l.pubMu.Lock()
	defer l.pubMu.Unlock()

	// The latest checkpoint first, then the head: on PostgreSQL another
	// replica may integrate and publish in between, and read in this order
	// an honest ledger's head is never smaller than the checkpoint.
	prev, err := l.refreshLatest(ctx)
	if err != nil {
		return ledger.Checkpoint{}, nil, err
	}
	size, root, err := l.headForSigning(ctx)
	if err != nil {
		return ledger.Checkpoint{}, nil, err
	}
	switch {
	case size < prev.cp.Size:
		err := fmt.Errorf("the ledger has %d entries but a checkpoint of size %d was published", size, prev.cp.Size)
		l.fail(err)
		return ledger.Checkpoint{}, nil, fault.Wrap(err, fault.Tampered, "the ledger shrank")
	case size == prev.cp.Size && prev.note != nil:
		if root != prev.cp.Hash {
			err := fmt.Errorf("the root of the %d entries differs from the signed checkpoint of that size", size)
			l.fail(err)
			return ledger.Checkpoint{}, nil, fault.Wrap(err, fault.Tampered, "the ledger changed after it was signed")
		}
		return prev.cp, prev.note, nil
	}
	// The empty tree (a checkpoint of size 0, which PostgreSQL replicas may
	// publish before the genesis entry is integrated) is a prefix of every
	// tree, and tlog proves nothing from it.
	if prev.note != nil && prev.cp.Size > 0 {
		proof, err := tlog.ProveTree(size, prev.cp.Size, l.hashReader(ctx, l.db.read, size))
		if err == nil {
			err = tlog.CheckTree(proof, size, root, prev.cp.Size, prev.cp.Hash)
		}
		if err != nil {
			err = fmt.Errorf("a tree of %d entries is not consistent with the checkpoint of size %d: %w", size, prev.cp.Size, err)
			l.fail(err)
			return ledger.Checkpoint{}, nil, fault.Wrap(err, fault.Tampered, "refusing to sign an inconsistent checkpoint")
		}
	}
	cp := ledger.Checkpoint{Origin: l.origin, Size: size, Hash: root}
	msg, err := ledger.Sign(cp, l.keys.Signing.Signer)
	if err != nil {
		return ledger.Checkpoint{}, nil, err
	}
	return l.storeCheckpoint(ctx, cp, msg)
}

func (l *Ledger) storeCheckpoint(ctx context.Context, cp ledger.Checkpoint, msg []byte) (ledger.Checkpoint, []byte, error) {
	now := l.db.now()
	if _, err := l.db.write.ExecContext(ctx, `INSERT INTO ledger_checkpoints (size, note, created_at) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING`, cp.Size, msg, now); err != nil {
		return ledger.Checkpoint{}, nil, fmt.Errorf("store checkpoint: %w", err)
	}
	s, err := l.refreshLatest(ctx)
	if err != nil {
		return ledger.Checkpoint{}, nil, err
	}
	l.obs.Checkpointed(s.cp.Size, now)
	return s.cp, s.note, nil
}

// headForSigning returns the size and root to sign: on SQLite the writer's
// own tree, so that records inserted behind its back are never signed; on
// PostgreSQL the integrated tree as stored by the sequencer.
func (l *Ledger) headForSigning(ctx context.Context) (int64, tlog.Hash, error) {
	if l.db.dialect == SQLite {
		t := l.committedTree()
		return t.Size(), t.Root(), nil
	}
	size, err := l.storedSize(ctx, l.db.read)
	if err != nil {
		return 0, tlog.Hash{}, err
	}
	root, err := tlog.TreeHash(size, l.hashReader(ctx, l.db.read, size))
	return size, root, err
}

// Receipt waits for the entry to be integrated, publishes a checkpoint if
// none covers it yet, and returns the entry with its signed checkpoint and
// proof of inclusion: a [ledger.Receipt] anyone can verify.
func (l *Ledger) Receipt(ctx context.Context, ref Ref) (ledger.Receipt, error) {
	index, err := l.WaitIntegrated(ctx, ref)
	if err != nil {
		return ledger.Receipt{}, err
	}
	cp, msg, err := l.Latest(ctx)
	if err != nil && !fault.Is(err, fault.NotFound) {
		return ledger.Receipt{}, err
	}
	if msg == nil || cp.Size <= index {
		if cp, msg, err = l.Publish(ctx); err != nil {
			return ledger.Receipt{}, err
		}
	}
	entry, err := l.Entry(ctx, index)
	if err != nil {
		return ledger.Receipt{}, err
	}
	proof, err := l.InclusionProof(ctx, index, cp.Size)
	if err != nil {
		return ledger.Receipt{}, err
	}
	return ledger.Receipt{Index: index, Entry: entry, Checkpoint: string(msg), Proof: proof}, nil
}

// WaitIntegrated waits until the referenced entry has an index.
func (l *Ledger) WaitIntegrated(ctx context.Context, ref Ref) (int64, error) {
	if ref.Integrated() {
		return ref.Index, nil
	}
	if l.db.dialect != Postgres {
		return 0, fault.New(fault.Internal, "entry reference has no index")
	}
	return l.waitPostgres(ctx, ref)
}

// Start runs the ledger's background work until Close: periodic
// checkpoints and, on PostgreSQL, the sequencer election and integration.
func (l *Ledger) Start(ctx context.Context) {
	if l.keys == nil || l.started {
		return
	}
	l.started = true
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		<-l.stop
		cancel()
	}()
	if l.db.dialect == Postgres {
		l.startPostgres(ctx)
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.checkpointLoop(ctx)
	}()
}

// Close stops background work and waits for it.
func (l *Ledger) Close() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

func (l *Ledger) checkpointLoop(ctx context.Context) {
	for {
		if l.shouldPublish() {
			if _, _, err := l.Publish(ctx); err != nil && ctx.Err() == nil {
				l.log.Error("publish checkpoint", "err", err)
			}
		}
		wait := l.every(ctx)
		if wait <= 0 {
			wait = 5 * time.Second
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// shouldPublish reports whether this process should publish periodically:
// always on SQLite; on PostgreSQL only the elected sequencer.
func (l *Ledger) shouldPublish() bool {
	if l.Failed() != nil {
		return false
	}
	return l.db.dialect == SQLite || l.seq.isLeader()
}

// CheckpointAge returns how long ago the latest checkpoint was stored, and
// false when there is none.
func (l *Ledger) CheckpointAge(ctx context.Context) (time.Duration, bool) {
	var at time.Time
	err := l.db.read.QueryRowContext(ctx, `SELECT created_at FROM ledger_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&at)
	if err != nil {
		return 0, false
	}
	return l.db.clock().Sub(at), true
}

// RotateKey replaces the checkpoint signing key, keeping the MAC key. The
// rotation is a ledger entry; the checkpoint that includes it is signed by
// both the old and the new key, so that a verifier who trusts either can
// trust the other from then on. The caller saves the new key file.
func (l *Ledger) RotateKey(ctx context.Context, actor ledger.Actor, newKey ledger.Key) error {
	if l.keys == nil {
		return fault.New(fault.Internal, "the ledger is open read-only")
	}
	if newKey.Signer.Name() != l.origin {
		return fault.New(fault.Invalid, "the new key is named %q, not after the ledger's origin %q", newKey.Signer.Name(), l.origin)
	}
	old := l.keys.Signing
	if old.VerifierKey == newKey.VerifierKey {
		return fault.New(fault.Invalid, "the new key is the current key")
	}
	var ref Ref
	err := l.db.Update(ctx, func(tx *Tx) error {
		var err error
		ref, err = l.Append(ctx, tx, ledger.Event{
			Type:    "ledger.key_rotated",
			Actor:   actor,
			Subject: "ledger/" + l.origin,
			Data:    map[string]any{"old_verifier_key": old.VerifierKey, "new_verifier_key": newKey.VerifierKey},
		})
		if err != nil {
			return err
		}
		if err := setMeta(ctx, tx, "ledger_verifier_key", newKey.VerifierKey); err != nil {
			return err
		}
		size := ref.Index + 1
		if !ref.Integrated() {
			size = 0 // PostgreSQL: recorded as 0 until integration; order is by creation
		}
		_, err = tx.Exec(ctx, `INSERT INTO ledger_keys (verifier_key, from_size, created_at) VALUES ($1, $2, $3)`, newKey.VerifierKey, size, tx.Now)
		return err
	})
	if err != nil {
		return err
	}
	index, err := l.WaitIntegrated(ctx, ref)
	if err != nil {
		return err
	}
	if l.db.dialect == Postgres {
		if _, err := l.db.write.ExecContext(ctx, `UPDATE ledger_keys SET from_size = $1 WHERE verifier_key = $2`, index+1, newKey.VerifierKey); err != nil {
			return err
		}
	}
	if err := l.loadKeys(ctx); err != nil {
		return err
	}
	// Sign the checkpoint covering the rotation with both keys.
	l.pubMu.Lock()
	defer l.pubMu.Unlock()
	size, root, err := l.headForSigning(ctx)
	if err != nil {
		return err
	}
	cp := ledger.Checkpoint{Origin: l.origin, Size: size, Hash: root}
	msg, err := ledger.Sign(cp, old.Signer, newKey.Signer)
	if err != nil {
		return err
	}
	if _, _, err := l.storeCheckpoint(ctx, cp, msg); err != nil {
		return err
	}
	keys := *l.keys
	keys.Signing = newKey
	l.mu.Lock()
	l.keys = &keys
	l.mu.Unlock()
	return nil
}
