package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/settings"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// The benchmarks here measure the ledger foundation against the targets in
// docs/benchmarks.md, which gives the commands and the figures measured.
// Targets live here, never in pass/fail tests: every benchmark instead
// checks that what it measured is right (the ledger's final size, proofs
// that check, a ledger that verifies).

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

// BenchmarkLedgerAppend measures durable appends, each its own
// transaction that also writes a row, with one and with 16 concurrent
// writers. On PostgreSQL "durable" returns when the caller's transaction
// has committed its pending entry; "integrated" also waits for the
// sequencer to give it an index.
func BenchmarkLedgerAppend(b *testing.B) {
	cases := []struct {
		name    string
		dialect store.Dialect
		writers int
		wait    bool
	}{
		{"sqlite/writers=1", store.SQLite, 1, false},
		{"sqlite/writers=16", store.SQLite, 16, false},
		{"postgres/writers=1/durable", store.Postgres, 1, false},
		{"postgres/writers=16/durable", store.Postgres, 16, false},
		{"postgres/writers=16/integrated", store.Postgres, 16, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			db, l, keys := storetest.MustOpenNew(b, c.dialect)
			storetest.BenchAppend(b, db, l, keys, storetest.AppendBench{Writers: c.writers, Wait: c.wait, Batches: db.BatchStats})
		})
	}
}

// BenchmarkSettingsSet measures the product's own audited write path,
// settings.Service.Set: read the previous value, upsert the new one and
// append the change in one transaction, wait for the entry's index, then
// read the setting back.
func BenchmarkSettingsSet(b *testing.B) {
	cases := []struct {
		dialect store.Dialect
		writers int
	}{
		{store.SQLite, 1},
		{store.SQLite, 16},
		// Concurrent writers of one setting contend for its row on
		// PostgreSQL, which measures lock waits, not the ledger.
		{store.Postgres, 1},
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("%v/writers=%d", c.dialect, c.writers), func(b *testing.B) {
			benchSettingsSet(b, c.dialect, c.writers)
		})
	}
}

func benchSettingsSet(b *testing.B, d store.Dialect, writers int) {
	ctx := context.Background()
	db, l, keys := storetest.MustOpenNew(b, d)
	svc := settings.NewService(db.Settings())
	actor := ledger.Actor{Kind: ledger.ActorUser, ID: "bench-admin"}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	b.ResetTimer()
	start := time.Now()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if _, _, err := svc.Set(ctx, actor, settings.ResultRetentionDays, json.RawMessage(fmt.Sprint(1+i%3650))); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
	if _, _, err := l.Publish(ctx); err != nil {
		b.Fatal(err)
	}
	if rep := mustVerify(b, l, keys); rep.Entries != 1+int64(b.N) {
		b.Fatalf("verified %d entries, want %d", rep.Entries, 1+b.N)
	}
}

// fixtureEntries is the size of the ledger the proof and verification
// benchmarks read, and fixtureCheckpointEvery the spacing of its signed
// checkpoints: a checkpoint every 1,024 entries is a busy installation
// (about 200 entries/s with the default 5 s checkpoint interval).
const (
	fixtureEntries         = 1_000_000
	fixtureCheckpointEvery = 1024
)

// fixture is the 1M-entry ledger, built once per test binary in a
// temporary directory that TestMain removes.
var fixture struct {
	once sync.Once
	dir  string
	bl   *bulkLedger
	err  error
}

func ledgerFixture(b *testing.B) *bulkLedger {
	b.Helper()
	fixture.once.Do(func() {
		fixture.dir, fixture.err = os.MkdirTemp("", "probity-bench-")
		if fixture.err != nil {
			return
		}
		start := time.Now()
		fixture.bl, fixture.err = buildLedger(context.Background(), filepath.Join(fixture.dir, "probity.db"), fixtureEntries, fixtureCheckpointEvery)
		if fixture.err == nil {
			b.Logf("built a %d-entry ledger in %v", fixtureEntries, time.Since(start).Round(time.Second))
		}
	})
	if fixture.err != nil {
		b.Fatalf("build ledger fixture: %v", fixture.err)
	}
	return fixture.bl
}

// A bulkLedger is a ledger built by [buildLedger].
type bulkLedger struct {
	path        string
	keys        ledger.Keys
	size        int64
	checkpoints int
	// hashes are all its stored hashes in stored-hash-index order, the
	// reference the proof benchmarks check proofs against.
	hashes memHashes
}

type memHashes []tlog.Hash

func (m memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

// buildLedger creates an SQLite ledger of n entries at path quickly, for
// benchmarks only. The store creates the database and its genesis entry;
// then one transaction inserts entries 1 … n-1 and a signed checkpoint
// every `every` entries and at n, each record computed as the store's
// writer computes it (ledger.Encode, tlog.RecordHash, ledger.Tree.Append,
// the MAC key's Sum, ledger.Sign). Finally the store opens it, which checks
// the stored right edge against the latest checkpoint. Callers verify it.
func buildLedger(ctx context.Context, path string, n, every int64) (*bulkLedger, error) {
	keys, err := ledger.GenerateKeys(storetest.Origin)
	if err != nil {
		return nil, err
	}
	cfg := store.LedgerConfig{Origin: storetest.Origin, Keys: &keys}
	db, err := store.Open(ctx, store.Options{DSN: path, Logger: storetest.Logger()})
	if err != nil {
		return nil, err
	}
	l, err := store.OpenLedger(ctx, db, cfg) // writes the genesis entry
	if err != nil {
		db.Close()
		return nil, err
	}
	l.Close()
	if err := db.Close(); err != nil {
		return nil, err
	}

	raw, err := sql.Open("sqlite", path)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	bl := &bulkLedger{path: path, keys: keys, size: n, hashes: make(memHashes, 0, 2*n)}
	var tree ledger.Tree
	// The genesis entry, written by the store: the builder must agree with it.
	var entry, stored, mac []byte
	if err := raw.QueryRowContext(ctx, `SELECT entry, hashes, mac FROM ledger_entries WHERE idx = 0`).Scan(&entry, &stored, &mac); err != nil {
		return nil, fmt.Errorf("read genesis entry: %w", err)
	}
	h := tlog.RecordHash(entry)
	hashes, err := tree.Append(h)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(stored, joinHashes(hashes)) || !bytes.Equal(mac, keys.MAC.Sum(0, h)) {
		return nil, errors.New("the builder computes the genesis record differently from the store's writer")
	}
	bl.hashes = append(bl.hashes, hashes...)

	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	insEntry, err := tx.PrepareContext(ctx, `INSERT INTO ledger_entries (idx, entry, hashes, mac) VALUES ($1, $2, $3, $4)`)
	if err != nil {
		return nil, err
	}
	insCheckpoint, err := tx.PrepareContext(ctx, `INSERT INTO ledger_checkpoints (size, note, created_at) VALUES ($1, $2, $3)`)
	if err != nil {
		return nil, err
	}
	base := time.Now().UTC().Truncate(time.Second)
	for i := int64(1); i < n; i++ {
		at := base.Add(time.Duration(i) * time.Millisecond)
		entry, err := ledger.Encode(storetest.BenchEvent(i), i, at)
		if err != nil {
			return nil, err
		}
		h := tlog.RecordHash(entry)
		hashes, err := tree.Append(h)
		if err != nil {
			return nil, err
		}
		bl.hashes = append(bl.hashes, hashes...)
		if _, err := insEntry.ExecContext(ctx, i, entry, joinHashes(hashes), keys.MAC.Sum(i, h)); err != nil {
			return nil, fmt.Errorf("insert entry %d: %w", i, err)
		}
		if size := i + 1; size%every == 0 || size == n {
			msg, err := ledger.Sign(ledger.Checkpoint{Origin: storetest.Origin, Size: size, Hash: tree.Root()}, keys.Signing.Signer)
			if err != nil {
				return nil, err
			}
			// The format the store's SQLite driver writes times in.
			if _, err := insCheckpoint.ExecContext(ctx, size, msg, at.Format("2006-01-02 15:04:05.999999999-07:00")); err != nil {
				return nil, fmt.Errorf("insert checkpoint %d: %w", size, err)
			}
			bl.checkpoints++
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	if _, err := raw.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return nil, err
	}
	if err := raw.Close(); err != nil {
		return nil, err
	}

	// The store must accept it: opening loads the writer's tree from the
	// stored hashes and checks it against the latest signed checkpoint.
	db, err = store.Open(ctx, store.Options{DSN: path, Logger: storetest.Logger()})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	l, err = store.OpenLedger(ctx, db, cfg)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	if size, err := l.Size(ctx); err != nil || size != n {
		return nil, fmt.Errorf("the store opened a ledger of %d entries (%v), want %d", size, err, n)
	}
	return bl, nil
}

func joinHashes(hs []tlog.Hash) []byte {
	b := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// verifyBulk verifies the whole ledger as `probity ledger verify` does:
// read-only, every stored checkpoint, MACs checked.
func verifyBulk(ctx context.Context, l *store.Ledger, keys ledger.Keys) (ledger.Report, error) {
	cps, err := l.Checkpoints(ctx)
	if err != nil {
		return ledger.Report{}, err
	}
	vs, _, err := ledger.TrustedVerifiers([]string{keys.Signing.VerifierKey}, l.KnownKeys(), cps)
	if err != nil {
		return ledger.Report{}, err
	}
	return ledger.VerifyRows(ctx, l.AllRows(ctx), ledger.VerifyOptions{Verifiers: vs, Origin: l.Origin(), Checkpoints: cps, MAC: keys.MAC})
}

func mustVerify(tb testing.TB, l *store.Ledger, keys ledger.Keys) ledger.Report {
	tb.Helper()
	rep, err := verifyBulk(context.Background(), l, keys)
	if err != nil {
		tb.Fatal(err)
	}
	if !rep.OK() {
		tb.Fatalf("verify: %v", rep.Problem)
	}
	return rep
}

// openReadOnly opens the ledger at path as `probity ledger verify` does.
func openReadOnly(tb testing.TB, path string) *store.Ledger {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DSN: path, ReadOnly: true, Logger: storetest.Logger()})
	if err != nil {
		tb.Fatal(err)
	}
	l, err := store.OpenLedger(ctx, db, store.LedgerConfig{})
	if err != nil {
		db.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return l
}

// TestBuildLedger checks the benchmarks' bulk builder on a small ledger:
// it verifies, the store's writer appends after it, and the result still
// verifies.
func TestBuildLedger(t *testing.T) {
	ctx := context.Background()
	const n, every = 3000, 1024
	bl, err := buildLedger(ctx, filepath.Join(t.TempDir(), "probity.db"), n, every)
	if err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, openReadOnly(t, bl.path), bl.keys)
	if rep.Entries != n || rep.Checkpoints != bl.checkpoints || bl.checkpoints != n/every+1 || !rep.MACsChecked {
		t.Fatalf("verified %d entries and %d checkpoints (MACs %v); want %d and %d", rep.Entries, rep.Checkpoints, rep.MACsChecked, n, n/every+1)
	}
	if int64(len(bl.hashes)) != tlog.StoredHashCount(n) {
		t.Fatalf("%d reference hashes, want %d", len(bl.hashes), tlog.StoredHashCount(n))
	}

	db, l := storetest.MustOpen(t, bl.path, bl.keys)
	for i := range 10 {
		err := db.Update(ctx, func(tx *store.Tx) error {
			_, err := l.Append(ctx, tx, storetest.BenchEvent(n+int64(i)))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := l.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if rep := mustVerify(t, l, bl.keys); rep.Entries != n+10 {
		t.Fatalf("verified %d entries after appending, want %d", rep.Entries, n+10)
	}
}

// BenchmarkLedgerProof measures inclusion and consistency proofs on the
// 1M-entry ledger, for random indexes and tree sizes, through the store's
// Ledger as the API serves them. Every proof is checked afterwards against
// roots computed from the reference hashes.
func BenchmarkLedgerProof(b *testing.B) {
	bl := ledgerFixture(b)
	_, l := storetest.MustOpen(b, bl.path, bl.keys)
	ctx := context.Background()
	if size, err := l.Size(ctx); err != nil || size != bl.size {
		b.Fatalf("ledger size %d, %v; want %d", size, err, bl.size)
	}

	b.Run("inclusion", func(b *testing.B) {
		type job struct {
			index, size int64
			proof       tlog.RecordProof
		}
		rng := rand.New(rand.NewPCG(1, uint64(b.N)))
		jobs := make([]job, b.N)
		for i := range jobs {
			size := 1 + rng.Int64N(bl.size)
			jobs[i] = job{index: rng.Int64N(size), size: size}
		}
		b.ResetTimer()
		for i := range jobs {
			p, err := l.InclusionProof(ctx, jobs[i].index, jobs[i].size)
			if err != nil {
				b.Fatal(err)
			}
			jobs[i].proof = p
		}
		b.StopTimer()
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/proof")
		for _, j := range jobs {
			root, err := tlog.TreeHash(j.size, bl.hashes)
			if err != nil {
				b.Fatal(err)
			}
			leaf := bl.hashes[tlog.StoredHashIndex(0, j.index)]
			if err := tlog.CheckRecord(j.proof, j.size, root, j.index, leaf); err != nil {
				b.Fatalf("inclusion proof of %d in %d: %v", j.index, j.size, err)
			}
		}
	})

	b.Run("consistency", func(b *testing.B) {
		type job struct {
			from, to int64
			proof    tlog.TreeProof
		}
		rng := rand.New(rand.NewPCG(2, uint64(b.N)))
		jobs := make([]job, b.N)
		for i := range jobs {
			to := 2 + rng.Int64N(bl.size-1)
			jobs[i] = job{from: 1 + rng.Int64N(to-1), to: to}
		}
		b.ResetTimer()
		for i := range jobs {
			p, err := l.ConsistencyProof(ctx, jobs[i].from, jobs[i].to)
			if err != nil {
				b.Fatal(err)
			}
			jobs[i].proof = p
		}
		b.StopTimer()
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/proof")
		for _, j := range jobs {
			from, err := tlog.TreeHash(j.from, bl.hashes)
			if err != nil {
				b.Fatal(err)
			}
			to, err := tlog.TreeHash(j.to, bl.hashes)
			if err != nil {
				b.Fatal(err)
			}
			if err := tlog.CheckTree(j.proof, j.to, to, j.from, from); err != nil {
				b.Fatalf("consistency proof of %d to %d: %v", j.from, j.to, err)
			}
		}
	})
}

// BenchmarkLedgerVerify measures `probity ledger verify` on the 1M-entry
// ledger: a read-only store, every stored record's hashes, entry and MAC
// recomputed, every stored checkpoint's signature and root checked.
func BenchmarkLedgerVerify(b *testing.B) {
	bl := ledgerFixture(b)
	l := openReadOnly(b, bl.path)
	ctx := context.Background()
	for b.Loop() {
		rep, err := verifyBulk(ctx, l, bl.keys)
		if err != nil {
			b.Fatal(err)
		}
		if !rep.OK() || rep.Entries != bl.size || rep.Checkpoints != bl.checkpoints || !rep.MACsChecked || !rep.EntriesChecked {
			b.Fatalf("verify: %d entries, %d checkpoints, MACs %v, problem %v; want %d entries, %d checkpoints",
				rep.Entries, rep.Checkpoints, rep.MACsChecked, rep.Problem, bl.size, bl.checkpoints)
		}
	}
	b.ReportMetric(float64(bl.size)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
