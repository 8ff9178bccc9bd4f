package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
)

// A LedgerObserver is told about the ledger's activity, for metrics.
type LedgerObserver interface {
	// Appended reports an append that committed, with the time from the
	// call to Append to the commit.
	Appended(d time.Duration)
	// Integrated reports the integrated size of the ledger.
	Integrated(size int64)
	// Checkpointed reports the latest published checkpoint.
	Checkpointed(size int64, at time.Time)
}

// LedgerConfig configures [OpenLedger].
type LedgerConfig struct {
	// Origin is the log's origin. A new ledger takes it; an existing one
	// must have it, unless it is empty.
	Origin string
	// Keys are the signing and MAC keys. Without them the ledger is
	// read-only: it serves proofs and tiles but cannot append or sign.
	Keys *ledger.Keys
	// Observer receives metrics; may be nil.
	Observer LedgerObserver
	// Interval returns how often to publish a checkpoint when there are new
	// entries; nil means every 5 seconds.
	Interval func(ctx context.Context) time.Duration
}

// A Ref identifies an appended entry: by index once integrated, and until
// then (PostgreSQL) by its pending ID.
type Ref struct {
	Index   int64 // -1 until integrated
	Pending int64 // PostgreSQL: the pending row's ID

	epoch uint64 // PostgreSQL: the sequencer's leadership epoch when appended, if this process led
}

// Integrated reports whether the entry has an index.
func (r Ref) Integrated() bool { return r.Index >= 0 }

// A Ledger appends entries in callers' transactions and serves what the
// ledger holds: entries, hashes, tiles, proofs and signed checkpoints.
type Ledger struct {
	db     *DB
	origin string
	keys   *ledger.Keys
	obs    LedgerObserver
	log    *slog.Logger
	every  func(ctx context.Context) time.Duration

	mu        sync.Mutex
	tree      ledger.Tree // SQLite: the committed tree
	failed    error       // set when the database changed under the writer: appends fail closed
	latest    signed
	latestAt  time.Time // when latest was read from the database
	knownKeys []string  // verifier keys in ledger_keys

	pubMu sync.Mutex // one checkpoint publication at a time in this process
	tiles *lru

	seq        *sequencer       // PostgreSQL
	notifier   *pendingNotifier // PostgreSQL
	integrated *broadcast       // PostgreSQL: signalled when entries are integrated
	listener   *pgListener      // PostgreSQL
	stop       chan struct{}    // closed by Close
	wg         sync.WaitGroup
	started    bool
}

type signed struct {
	cp   ledger.Checkpoint
	note []byte
}

// Ledger returns the database's ledger, or nil before [OpenLedger].
func (db *DB) Ledger() *Ledger { return db.ledger }

// OpenLedger attaches the ledger to db. A new database gets its genesis
// entry, recording the origin and verifier key, and a first checkpoint. An
// existing ledger must have the configured origin and signing key, and its
// stored state must match its latest signed checkpoint; otherwise OpenLedger
// refuses with an explanation and never changes anything.
func OpenLedger(ctx context.Context, db *DB, cfg LedgerConfig) (*Ledger, error) {
	for attempt := 0; ; attempt++ {
		// Another replica may create the ledger while this one tries to;
		// then open the one it created.
		l, err := openLedger(ctx, db, cfg)
		if errors.Is(err, errLedgerExists) && attempt < 3 {
			continue
		}
		return l, err
	}
}

func openLedger(ctx context.Context, db *DB, cfg LedgerConfig) (*Ledger, error) {
	l := &Ledger{db: db, keys: cfg.Keys, obs: cfg.Observer, log: db.log, every: cfg.Interval, tiles: newLRU(4096), stop: make(chan struct{})}
	if l.obs == nil {
		l.obs = nopObserver{}
	}
	if l.every == nil {
		l.every = func(context.Context) time.Duration { return 5 * time.Second }
	}
	origin, err := db.Meta(ctx, "ledger_origin")
	if err != nil {
		return nil, err
	}
	vkey, err := db.Meta(ctx, "ledger_verifier_key")
	if err != nil {
		return nil, err
	}
	if origin == "" {
		if err := l.create(ctx, cfg); err != nil {
			return nil, err
		}
		return l, nil
	}
	l.origin = origin
	if cfg.Origin != "" && cfg.Origin != origin {
		return nil, fault.New(fault.Conflict, "the ledger in %s has origin %q, but %q is configured; the origin of an existing ledger cannot change", db.desc, origin, cfg.Origin)
	}
	if cfg.Keys != nil && cfg.Keys.Signing.VerifierKey != vkey {
		return nil, fault.New(fault.Conflict, "the ledger signing key does not match the ledger in %s (which is signed by %s); restore the right key file — a new key is never generated for an existing ledger, and rotation is an explicit operation (probity ledger rotate-key)", db.desc, vkey)
	}
	if err := l.loadKeys(ctx); err != nil {
		return nil, err
	}
	if _, err := l.refreshLatest(ctx); err != nil {
		return nil, err
	}
	if cfg.Keys != nil && db.dialect == SQLite {
		t, err := l.loadTree(ctx, db.read)
		if err != nil {
			return nil, err
		}
		l.tree = t
		l.obs.Integrated(t.Size())
	}
	db.ledger = l
	if db.dialect == Postgres && cfg.Keys != nil {
		l.initPostgres()
	}
	return l, nil
}

// create initializes a new ledger with its genesis entry.
func (l *Ledger) create(ctx context.Context, cfg LedgerConfig) error {
	db := l.db
	if cfg.Keys == nil || db.ro {
		return fault.New(fault.Precondition, "database %s holds no ledger yet; start probity serve once to create it", db.desc)
	}
	if err := ledger.ValidateOrigin(cfg.Origin); err != nil {
		return fault.Wrap(err, fault.Invalid, "ledger origin: %v", err)
	}
	if name := cfg.Keys.Signing.Signer.Name(); name != cfg.Origin {
		return fault.New(fault.Conflict, "the ledger signing key is named %q but the origin is %q; a key must be named after its log's origin", name, cfg.Origin)
	}
	l.origin = cfg.Origin
	db.ledger = l
	if db.dialect == Postgres {
		l.initPostgres()
	}
	vkey := cfg.Keys.Signing.VerifierKey
	err := db.Update(ctx, func(tx *Tx) error {
		// Another replica may have created the ledger meanwhile.
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM probity_meta WHERE key = 'ledger_origin'`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errLedgerExists
		}
		for k, v := range map[string]string{"ledger_origin": cfg.Origin, "ledger_verifier_key": vkey, "created_at": tx.Now.Format(time.RFC3339)} {
			if err := setMeta(ctx, tx, k, v); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO ledger_keys (verifier_key, from_size, created_at) VALUES ($1, 0, $2)`, vkey, tx.Now); err != nil {
			return err
		}
		_, err := l.Append(ctx, tx, ledger.Event{
			Type:    "ledger.created",
			Actor:   ledger.Actor{Kind: ledger.ActorSystem, ID: "probity"},
			Subject: "ledger/" + cfg.Origin,
			Data:    map[string]any{"origin": cfg.Origin, "verifier_key": vkey},
		})
		return err
	})
	if err != nil {
		db.ledger = nil
		return fmt.Errorf("create ledger: %w", err)
	}
	if err := l.loadKeys(ctx); err != nil {
		return err
	}
	db.log.Info("created ledger", "origin", cfg.Origin, "verifier_key", vkey)
	return nil
}

var errLedgerExists = errors.New("ledger already exists")

type nopObserver struct{}

func (nopObserver) Appended(time.Duration)        {}
func (nopObserver) Integrated(int64)              {}
func (nopObserver) Checkpointed(int64, time.Time) {}

// Origin returns the log's origin.
func (l *Ledger) Origin() string { return l.origin }

// VerifierKey returns the current checkpoint verifier key.
func (l *Ledger) VerifierKey(ctx context.Context) (string, error) {
	return l.db.Meta(ctx, "ledger_verifier_key")
}

// KnownKeys returns every verifier key that has signed this ledger's
// checkpoints, oldest first.
func (l *Ledger) KnownKeys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.knownKeys...)
}

func (l *Ledger) loadKeys(ctx context.Context) error {
	rows, err := l.db.read.QueryContext(ctx, `SELECT verifier_key FROM ledger_keys ORDER BY from_size, created_at`)
	if err != nil {
		return fmt.Errorf("read ledger keys: %w", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return err
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	l.knownKeys = keys
	l.mu.Unlock()
	return nil
}

// Failed returns the reason appends are refused, or nil.
func (l *Ledger) Failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

func (l *Ledger) fail(err error) {
	l.mu.Lock()
	if l.failed == nil {
		l.failed = err
	}
	l.mu.Unlock()
	l.log.Error("ledger writer stopped: appends are refused until the ledger is verified and probity restarted", "err", err)
}

func (l *Ledger) committedTree() ledger.Tree {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tree
}

func (l *Ledger) committed(t ledger.Tree) {
	l.mu.Lock()
	grew := t.Size() != l.tree.Size()
	l.tree = t
	l.mu.Unlock()
	if grew {
		l.obs.Integrated(t.Size())
	}
}

// Append records ev in tx: the entry commits with the transaction or not at
// all. If the entry cannot be written, Append returns an error and the
// caller must fail its action (returning the error from the transaction
// function does that).
func (l *Ledger) Append(ctx context.Context, tx *Tx, ev ledger.Event) (Ref, error) {
	if l.keys == nil {
		return Ref{}, fault.New(fault.Internal, "the ledger is open read-only")
	}
	if err := l.Failed(); err != nil {
		return Ref{}, fault.Wrap(err, fault.Unavailable, "the ledger is not accepting entries; the action was not taken")
	}
	start := time.Now()
	var ref Ref
	var err error
	switch tx.db.dialect {
	case SQLite:
		ref, err = l.appendSQLite(ctx, tx, ev)
	case Postgres:
		ref, err = l.appendPostgres(ctx, tx, ev)
	}
	if err != nil {
		if errors.Is(err, ledger.ErrInvalidEvent) {
			return Ref{}, fault.Wrap(err, fault.Invalid, "the action cannot be recorded: %v", err)
		}
		return Ref{}, err
	}
	tx.appends++
	tx.AfterCommit(func() { l.obs.Appended(time.Since(start)) })
	return ref, nil
}

// Size returns the number of integrated entries.
func (l *Ledger) Size(ctx context.Context) (int64, error) {
	if l.db.dialect == SQLite && l.keys != nil {
		t := l.committedTree()
		return t.Size(), nil
	}
	return l.storedSize(ctx, l.db.read)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// storedSize reads the integrated size from the database.
func (l *Ledger) storedSize(ctx context.Context, q queryer) (int64, error) {
	var n int64
	var err error
	if l.db.dialect == Postgres {
		err = q.QueryRowContext(ctx, `SELECT size FROM ledger_state WHERE id = 1`).Scan(&n)
	} else {
		err = q.QueryRowContext(ctx, `SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_entries`).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("read ledger size: %w", err)
	}
	return n, nil
}

// loadTree rebuilds the writer's tree from the database once, at start: it
// takes the right edge at the latest checkpoint from stored hashes, checks
// it against the checkpoint's signed root, then replays the records after
// it, checking their stored hashes and MACs. A database changed outside
// Probity is refused with the first bad index.
func (l *Ledger) loadTree(ctx context.Context, q queryer) (ledger.Tree, error) {
	size, err := l.storedSize(ctx, q)
	if err != nil {
		return ledger.Tree{}, err
	}
	var count int64
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM ledger_entries`).Scan(&count); err != nil {
		return ledger.Tree{}, fmt.Errorf("count ledger entries: %w", err)
	}
	if l.db.dialect == SQLite && count != size {
		return ledger.Tree{}, l.tampered(-1, fmt.Sprintf("%d records stored but the highest index is %d: records are missing", count, size-1))
	}
	if l.db.dialect == Postgres && count != size {
		return ledger.Tree{}, l.tampered(-1, fmt.Sprintf("%d records stored but the ledger's size is %d", count, size))
	}
	latest := l.latestSigned()
	if latest.cp.Size > size {
		return ledger.Tree{}, l.tampered(size, fmt.Sprintf("the latest checkpoint covers %d records but only %d are stored", latest.cp.Size, size))
	}
	tree, err := ledger.LoadTree(latest.cp.Size, l.hashReader(ctx, q, latest.cp.Size))
	if fault.Is(err, fault.Tampered) {
		return ledger.Tree{}, l.tampered(-1, fault.MessageOf(err))
	}
	if err != nil {
		return ledger.Tree{}, err
	}
	if latest.note != nil && tree.Root() != latest.cp.Hash {
		return ledger.Tree{}, l.tampered(-1, fmt.Sprintf("the stored hashes do not match the latest checkpoint (size %d)", latest.cp.Size))
	}
	for r, err := range l.rows(ctx, q, latest.cp.Size, size) {
		if err != nil {
			return ledger.Tree{}, err
		}
		if r.Index != tree.Size() {
			return ledger.Tree{}, l.tampered(tree.Size(), "record missing")
		}
		h := tlog.RecordHash(r.Entry)
		if !l.keys.MAC.Check(r.Index, h, r.MAC) {
			return ledger.Tree{}, l.tampered(r.Index, "record MAC does not match")
		}
		hashes, err := tree.Append(h)
		if err != nil {
			return ledger.Tree{}, err
		}
		if !bytes.Equal(r.Hashes, joinHashes(hashes)) {
			return ledger.Tree{}, l.tampered(r.Index, "stored hashes do not match the record")
		}
	}
	return tree, nil
}

func (l *Ledger) tampered(index int64, reason string) error {
	p := &ledger.Problem{Index: index, Reason: reason}
	return fault.Wrap(p, fault.Tampered, "the ledger in %s was changed outside Probity (%v); refusing to start — run probity ledger verify and restore from a backup", l.db.desc, p)
}

func joinHashes(hs []tlog.Hash) []byte {
	b := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// hashReader reads stored hashes of a tree of the given size. Each record's
// hashes are stored with it, so a stored hash index maps to a record and an
// offset ([ledger.StoredHashLocation]).
func (l *Ledger) hashReader(ctx context.Context, q queryer, size int64) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		if len(indexes) == 0 {
			return nil, nil
		}
		limit := tlog.StoredHashCount(size)
		records := make([]int64, 0, len(indexes))
		seen := map[int64]bool{}
		for _, idx := range indexes {
			if idx < 0 || idx >= limit {
				return nil, fmt.Errorf("stored hash %d is beyond a tree of size %d", idx, size)
			}
			rec, _ := ledger.StoredHashLocation(idx)
			if !seen[rec] {
				seen[rec] = true
				records = append(records, rec)
			}
		}
		blobs, err := l.readHashBlobs(ctx, q, records)
		if err != nil {
			return nil, err
		}
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			rec, off := ledger.StoredHashLocation(idx)
			b := blobs[rec]
			if len(b) < (off+1)*tlog.HashSize {
				return nil, fault.New(fault.Tampered, "the ledger's stored hashes for record %d are missing or short", rec)
			}
			copy(out[i][:], b[off*tlog.HashSize:])
		}
		return out, nil
	})
}

func (l *Ledger) readHashBlobs(ctx context.Context, q queryer, records []int64) (map[int64][]byte, error) {
	out := make(map[int64][]byte, len(records))
	for chunk := range chunks(records, 500) {
		var sb strings.Builder
		args := make([]any, len(chunk))
		sb.WriteString(`SELECT idx, hashes FROM ledger_entries WHERE idx IN (`)
		for i, r := range chunk {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "$%d", i+1)
			args[i] = r
		}
		sb.WriteByte(')')
		rows, err := q.QueryContext(ctx, sb.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("read stored hashes: %w", err)
		}
		for rows.Next() {
			var idx int64
			var b []byte
			if err := rows.Scan(&idx, &b); err != nil {
				rows.Close()
				return nil, err
			}
			out[idx] = b
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read stored hashes: %w", err)
		}
	}
	return out, nil
}

func chunks[T any](s []T, n int) iter.Seq[[]T] {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

// Rows returns the stored records in [from, to) in index order, for
// verification and exports.
func (l *Ledger) Rows(ctx context.Context, from, to int64) iter.Seq2[ledger.Row, error] {
	return l.rows(ctx, l.db.read, from, to)
}

func (l *Ledger) rows(ctx context.Context, q queryer, from, to int64) iter.Seq2[ledger.Row, error] {
	return func(yield func(ledger.Row, error) bool) {
		rows, err := q.QueryContext(ctx, `SELECT idx, entry, hashes, mac FROM ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx`, from, to)
		if err != nil {
			yield(ledger.Row{}, fmt.Errorf("read ledger records: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var r ledger.Row
			if err := rows.Scan(&r.Index, &r.Entry, &r.Hashes, &r.MAC); err != nil {
				yield(ledger.Row{}, err)
				return
			}
			if !yield(r, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(ledger.Row{}, fmt.Errorf("read ledger records: %w", err))
		}
	}
}

// AllRows returns every stored record in index order, whatever the
// ledger's recorded size: verification must see rows that should not be
// there too.
func (l *Ledger) AllRows(ctx context.Context) iter.Seq2[ledger.Row, error] {
	return l.rows(ctx, l.db.read, 0, 1<<62)
}

// ErrNotFound reports a ledger index, tile or checkpoint that does not exist.
var ErrNotFound = errors.New("not found")

// Entry returns the entry at index.
func (l *Ledger) Entry(ctx context.Context, index int64) ([]byte, error) {
	size, err := l.Size(ctx)
	if err != nil {
		return nil, err
	}
	if index < 0 || index >= size {
		return nil, fault.Wrap(ErrNotFound, fault.NotFound, "ledger entry %d does not exist (the ledger has %d entries)", index, size)
	}
	var b []byte
	err = l.db.read.QueryRowContext(ctx, `SELECT entry FROM ledger_entries WHERE idx = $1`, index).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.Tampered, "ledger entry %d is missing from the database", index)
	}
	if err != nil {
		return nil, fmt.Errorf("read ledger entry %d: %w", index, err)
	}
	return b, nil
}

// TreeHash returns the root hash of the tree of the given size.
func (l *Ledger) TreeHash(ctx context.Context, size int64) (tlog.Hash, error) {
	if err := l.checkSize(ctx, size); err != nil {
		return tlog.Hash{}, err
	}
	return tlog.TreeHash(size, l.hashReader(ctx, l.db.read, size))
}

func (l *Ledger) checkSize(ctx context.Context, size int64) error {
	n, err := l.Size(ctx)
	if err != nil {
		return err
	}
	if size < 0 || size > n {
		return fault.New(fault.NotFound, "the ledger has %d entries, not %d", n, size)
	}
	return nil
}

// InclusionProof proves that entry index is in the tree of the given size.
func (l *Ledger) InclusionProof(ctx context.Context, index, size int64) (tlog.RecordProof, error) {
	if err := l.checkSize(ctx, size); err != nil {
		return nil, err
	}
	if index < 0 || index >= size {
		return nil, fault.New(fault.Invalid, "index %d is not in a tree of size %d", index, size)
	}
	return tlog.ProveRecord(size, index, l.hashReader(ctx, l.db.read, size))
}

// ConsistencyProof proves that the tree of size from is a prefix of the
// tree of size to.
func (l *Ledger) ConsistencyProof(ctx context.Context, from, to int64) (tlog.TreeProof, error) {
	if err := l.checkSize(ctx, to); err != nil {
		return nil, err
	}
	if from < 1 || from > to {
		return nil, fault.New(fault.Invalid, "a consistency proof needs 1 ≤ from ≤ to; got from=%d to=%d", from, to)
	}
	return tlog.ProveTree(to, from, l.hashReader(ctx, l.db.read, to))
}

// Tile returns the data of a hash tile in the C2SP tlog-tiles layout.
// Full tiles never change and are cached.
func (l *Ledger) Tile(ctx context.Context, p ledger.TilePath) ([]byte, error) {
	if p.Entries {
		return l.EntryBundle(ctx, p)
	}
	key := p.String()
	if err := l.checkTileIndex(ctx, p); err != nil {
		return nil, err
	}
	if !p.Partial() {
		if b, ok := l.tiles.get(key); ok {
			return b, nil
		}
	}
	size, err := l.Size(ctx)
	if err != nil {
		return nil, err
	}
	// The tile holds hashes of level 8·L subtrees N·256 … N·256+W-1; the last
	// of them must be complete.
	shift := uint(ledger.TileHeight * p.Level)
	if shift >= 63 || (p.Index*ledger.TileWidth+int64(p.Width)) > size>>shift {
		return nil, fault.Wrap(ErrNotFound, fault.NotFound, "%s is beyond the ledger's %d entries", key, size)
	}
	data, err := tlog.ReadTileData(p.Tile(), l.hashReader(ctx, l.db.read, size))
	if err != nil {
		return nil, err
	}
	if !p.Partial() {
		l.tiles.put(key, data)
	}
	return data, nil
}

// EntryBundle returns an entry bundle in the C2SP tlog-tiles layout.
func (l *Ledger) EntryBundle(ctx context.Context, p ledger.TilePath) ([]byte, error) {
	key := p.String()
	if err := l.checkTileIndex(ctx, p); err != nil {
		return nil, err
	}
	if !p.Partial() {
		if b, ok := l.tiles.get(key); ok {
			return b, nil
		}
	}
	size, err := l.Size(ctx)
	if err != nil {
		return nil, err
	}
	start := p.Index * ledger.TileWidth
	end := start + int64(p.Width)
	if end > size {
		return nil, fault.Wrap(ErrNotFound, fault.NotFound, "%s is beyond the ledger's %d entries", key, size)
	}
	var entries [][]byte
	for r, err := range l.Rows(ctx, start, end) {
		if err != nil {
			return nil, err
		}
		if r.Index != start+int64(len(entries)) {
			return nil, fault.New(fault.Tampered, "ledger entry %d is missing from the database", start+int64(len(entries)))
		}
		entries = append(entries, r.Entry)
	}
	if int64(len(entries)) != end-start {
		return nil, fault.New(fault.Tampered, "ledger entry %d is missing from the database", start+int64(len(entries)))
	}
	b, err := ledger.EncodeBundle(entries)
	if err != nil {
		return nil, err
	}
	if !p.Partial() {
		l.tiles.put(key, b)
	}
	return b, nil
}

// checkTileIndex refuses tile indexes so large that N·256 overflows: the
// tlog-tiles layout allows them, but no such tile can exist, and computing
// with them would wrap around to another tile's data.
func (l *Ledger) checkTileIndex(ctx context.Context, p ledger.TilePath) error {
	if p.Index <= (math.MaxInt64-ledger.TileWidth)/ledger.TileWidth {
		return nil
	}
	size, err := l.Size(ctx)
	if err != nil {
		return err
	}
	return fault.Wrap(ErrNotFound, fault.NotFound, "%s is beyond the ledger's %d entries", p, size)
}

// Verifiers returns verifiers for every key that has signed this ledger.
func (l *Ledger) Verifiers() (note.Verifiers, error) {
	v, _, err := ledger.ParseVerifiers(strings.Join(l.KnownKeys(), "\n"))
	return v, err
}
