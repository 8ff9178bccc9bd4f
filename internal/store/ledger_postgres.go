package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
)

// On PostgreSQL several replicas write to one database. A caller's
// transaction makes its entry durable in ledger_pending; one sequencer,
// elected with an advisory lock, gives pending entries their indexes and
// hashes in batches. The ledger_state row, locked for each batch, fences
// the sequencer: a batch applies only to the tree the sequencer loaded.

const (
	channelPending    = "probity_ledger_pending"
	channelIntegrated = "probity_ledger_integrated"
	integrateBatch    = 4096
)

// appendPostgres makes the entry durable in the caller's transaction. Its
// size is checked now, so that integration can never fail on it.
func (l *Ledger) appendPostgres(ctx context.Context, tx *Tx, ev ledger.Event) (Ref, error) {
	if err := ledger.CheckSize(ev, tx.Now); err != nil {
		return Ref{}, err
	}
	template, err := ledger.Encode(ev, 0, tx.Now)
	if err != nil {
		return Ref{}, err
	}
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO ledger_pending (entry) VALUES ($1) RETURNING id`, template).Scan(&id); err != nil {
		return Ref{}, fmt.Errorf("append ledger entry: %w", err)
	}
	tx.AfterCommit(l.notifier.committed)
	return Ref{Index: -1, Pending: id, epoch: l.seq.leadership()}, nil
}

func (l *Ledger) initPostgres() {
	if l.seq != nil {
		return
	}
	l.seq = &sequencer{l: l, wake: make(chan struct{}, 1)}
	l.notifier = &pendingNotifier{l: l, wake: make(chan struct{}, 1)}
	l.integrated = newBroadcast()
}

func (l *Ledger) startPostgres(ctx context.Context) {
	l.listener = &pgListener{l: l}
	l.wg.Add(3)
	go func() {
		defer l.wg.Done()
		l.listener.run(ctx)
	}()
	go func() {
		defer l.wg.Done()
		l.notifier.run(ctx)
	}()
	go func() {
		defer l.wg.Done()
		l.seq.run(ctx)
	}()
}

// A pendingNotifier wakes the sequencer when an appending transaction has
// committed: this process's own directly, another replica's with a NOTIFY
// sent after the commit, from one goroutine, coalescing the appends that
// commit meanwhile. (A NOTIFY inside each appending transaction, as a
// trigger once sent, makes PostgreSQL commit those transactions one at a
// time: a transaction that notified holds a database-wide lock from its
// commit until the commit is flushed.) A notification lost with a crash
// only delays integration: the sequencer also polls every second.
type pendingNotifier struct {
	l       *Ledger
	wake    chan struct{}
	running atomic.Bool
}

// committed runs after an appending transaction commits.
func (n *pendingNotifier) committed() {
	n.l.seq.kick()
	if n.l.seq.isLeader() {
		return
	}
	if !n.running.Load() {
		// Before Start (appends made while opening): tell the leader now.
		n.send(context.Background())
		return
	}
	select {
	case n.wake <- struct{}{}:
	default: // a notification is already due; it covers this commit too
	}
}

func (n *pendingNotifier) run(ctx context.Context) {
	n.running.Store(true)
	defer n.running.Store(false)
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		n.send(ctx)
	}
}

func (n *pendingNotifier) send(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := n.l.db.write.ExecContext(ctx, `SELECT pg_notify($1, current_schema())`, channelPending); err != nil && ctx.Err() == nil {
		n.l.log.Warn("ledger: notify the sequencer of pending entries (it polls every second anyway)", "err", err)
	}
}

// waitPostgres waits for the pending entry's integration. If this process
// has led the sequencer without interruption since the entry was appended,
// only its own sequencer can integrate the entry, and the waiter learns the
// index from it rather than querying the database after every batch.
func (l *Ledger) waitPostgres(ctx context.Context, ref Ref) (int64, error) {
	query := !l.seq.leadsSince(ref.epoch)
	for {
		ch := l.integrated.wait()
		if idx, ok := l.seq.recent.lookup(ref.Pending); ok {
			return idx, nil
		}
		if query || !l.seq.leadsSince(ref.epoch) {
			var idx int64
			err := l.db.read.QueryRowContext(ctx, `SELECT idx FROM ledger_entries WHERE pending_id = $1`, ref.Pending).Scan(&idx)
			if err == nil {
				return idx, nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return 0, fmt.Errorf("wait for ledger integration: %w", err)
			}
		}
		if err := l.Failed(); err != nil {
			return 0, fault.Wrap(err, fault.Unavailable, "the ledger is not integrating entries")
		}
		t := time.NewTimer(250 * time.Millisecond) // in case a notification was missed
		select {
		case <-ch:
			query = false
		case <-t.C:
			query = true
		case <-ctx.Done():
			t.Stop()
			return 0, fault.Wrap(ctx.Err(), fault.Timeout, "the entry is recorded but not yet integrated into the ledger")
		}
		t.Stop()
	}
}

// A broadcast wakes every waiter at once.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBroadcast() *broadcast { return &broadcast{ch: make(chan struct{})} }

func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

func (b *broadcast) signal() {
	b.mu.Lock()
	close(b.ch)
	b.ch = make(chan struct{})
	b.mu.Unlock()
}

// A sequencer integrates pending entries while it holds the advisory lock.
type sequencer struct {
	l      *Ledger
	wake   chan struct{}
	leader atomic.Bool
	epoch  atomic.Uint64 // incremented each time the lock is taken
	recent recentIndexes // what it integrated lately, for this process's waiters
}

// leadership returns the current leadership epoch if this process leads,
// else 0.
func (s *sequencer) leadership() uint64 {
	e := s.epoch.Load()
	if s.leader.Load() && s.epoch.Load() == e {
		return e
	}
	return 0
}

// leadsSince reports whether this process has led without interruption
// since epoch e began.
func (s *sequencer) leadsSince(e uint64) bool {
	return e != 0 && s.leadership() == e
}

// recentIndexes maps the pending IDs of recently integrated entries to
// their indexes.
type recentIndexes struct {
	mu   sync.Mutex
	idx  map[int64]int64
	fifo []int64 // pending IDs, oldest first
}

// recentMax is how many integrations recentIndexes remembers at least (and
// at most twice as many); a waiter whose entry's it has forgotten finds it
// in the database, which it also queries every 250 ms.
const recentMax = 1 << 16

func (r *recentIndexes) add(ids, idxs []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.idx == nil {
		r.idx = make(map[int64]int64)
	}
	for i, id := range ids {
		r.idx[id] = idxs[i]
	}
	r.fifo = append(r.fifo, ids...)
	if n := len(r.fifo) - recentMax; n >= recentMax {
		for _, id := range r.fifo[:n] {
			delete(r.idx, id)
		}
		r.fifo = append(r.fifo[:0], r.fifo[n:]...)
	}
}

func (r *recentIndexes) lookup(id int64) (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	idx, ok := r.idx[id]
	return idx, ok
}

func (s *sequencer) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *sequencer) isLeader() bool { return s != nil && s.leader.Load() }

// Sequencing reports whether this process integrates the ledger: always on
// SQLite, on PostgreSQL while it holds the sequencer lock.
func (l *Ledger) Sequencing() bool {
	return l.keys != nil && (l.db.dialect == SQLite || l.seq.isLeader())
}

func (s *sequencer) run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := s.lead(ctx); err != nil && ctx.Err() == nil {
			s.l.log.Error("ledger sequencer", "err", err)
		}
		if s.l.Failed() != nil {
			return
		}
		t := time.NewTimer(500 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// lead tries to become the sequencer and, if elected, integrates until ctx
// ends or an error occurs. Losing the connection loses the lock, and the
// batch in progress with it.
func (s *sequencer) lead(ctx context.Context) (err error) {
	conn, err := s.l.db.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() {
		// Never return a connection holding the session lock to the pool.
		conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
	}()
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(`+advisoryLockQuery("ledger-sequencer")+`)`).Scan(&ok); err != nil {
		return fmt.Errorf("try sequencer lock: %w", err)
	}
	if !ok {
		return nil
	}
	s.epoch.Add(1)
	s.leader.Store(true)
	defer s.leader.Store(false)
	s.l.log.Info("elected ledger sequencer")

	if _, err := s.l.refreshLatest(ctx); err != nil {
		return err
	}
	tree, err := s.l.loadTree(ctx, conn)
	if err != nil {
		if fault.Is(err, fault.Tampered) {
			s.l.fail(err)
		}
		return err
	}
	s.l.obs.Integrated(tree.Size())
	for {
		n, err := s.integrate(ctx, conn, &tree)
		if err != nil {
			return err
		}
		if n > 0 {
			s.l.integrated.signal()
			s.l.obs.Integrated(tree.Size())
			continue
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// integrate moves up to one batch of pending entries into the ledger and
// returns how many it moved.
func (s *sequencer) integrate(ctx context.Context, conn *sql.Conn, tree *ledger.Tree) (int, error) {
	l := s.l
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var size int64
	if err := tx.QueryRowContext(ctx, `SELECT size FROM ledger_state WHERE id = 1 FOR UPDATE`).Scan(&size); err != nil {
		return 0, fmt.Errorf("lock ledger state: %w", err)
	}
	if size != tree.Size() {
		return 0, fmt.Errorf("the stored ledger size %d is not the sequencer's %d; reloading", size, tree.Size())
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, entry FROM ledger_pending ORDER BY id LIMIT $1`, integrateBatch)
	if err != nil {
		return 0, fmt.Errorf("read pending entries: %w", err)
	}
	var ids []int64
	var templates [][]byte
	for rows.Next() {
		var id int64
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
		templates = append(templates, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, nil
	}
	work := *tree
	idxs := make([]int64, len(ids))
	entries := make([][]byte, len(ids))
	hashes := make([][]byte, len(ids))
	macs := make([][]byte, len(ids))
	for i, tmpl := range templates {
		en, err := ledger.Decode(tmpl)
		if err == nil {
			seq := work.Size()
			entries[i], err = ledger.Encode(en.Event(), seq, en.Timestamp())
			idxs[i] = seq
		}
		if err != nil {
			err = fmt.Errorf("pending ledger entry %d cannot be integrated: %w", ids[i], err)
			l.fail(err)
			return 0, err
		}
		h := tlog.RecordHash(entries[i])
		stored, err := work.Append(h)
		if err != nil {
			return 0, err
		}
		hashes[i] = joinHashes(stored)
		macs[i] = l.keys.MAC.Sum(idxs[i], h)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_entries (idx, entry, hashes, mac, pending_id)
		SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::bytea[], $5::bigint[])`,
		idxs, entries, hashes, macs, ids); err != nil {
		return 0, fmt.Errorf("integrate entries: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM ledger_pending WHERE id = ANY($1::bigint[])`, ids); err != nil {
		return 0, fmt.Errorf("integrate entries: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE ledger_state SET size = $1 WHERE id = 1`, work.Size()); err != nil {
		return 0, fmt.Errorf("integrate entries: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, current_schema())`, channelIntegrated); err != nil {
		return 0, fmt.Errorf("integrate entries: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("integrate entries: commit: %w", err)
	}
	*tree = work
	s.recent.add(ids, idxs)
	return len(ids), nil
}

// A pgListener relays notifications from other replicas: new pending
// entries wake this process's sequencer, integrations wake its waiters.
type pgListener struct {
	l *Ledger
}

func (p *pgListener) run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := p.listen(ctx); err != nil && ctx.Err() == nil {
			p.l.log.Warn("ledger notifications", "err", err)
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

func (p *pgListener) listen(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, p.l.db.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return err
	}
	for _, ch := range []string{channelPending, channelIntegrated} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			return err
		}
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload != schema {
			continue
		}
		switch n.Channel {
		case channelPending:
			p.l.seq.kick()
		case channelIntegrated:
			p.l.integrated.signal()
		}
	}
}
