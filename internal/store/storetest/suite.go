package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/settings"
	"github.com/probity-dev/probity/internal/store"
)

// Run runs the conformance suite against dialect d.
func Run(t *testing.T, d store.Dialect) {
	t.Run("Migrate", func(t *testing.T) { testMigrate(t, d) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, d) })
	t.Run("Times", func(t *testing.T) { testTimes(t, d) })
	t.Run("LedgerAppend", func(t *testing.T) { testLedgerAppend(t, d) })
	t.Run("LedgerFailClosed", func(t *testing.T) { testLedgerFailClosed(t, d) })
	t.Run("LedgerConcurrent", func(t *testing.T) { testLedgerConcurrent(t, d) })
	t.Run("LedgerReopen", func(t *testing.T) { testLedgerReopen(t, d) })
	t.Run("LedgerTamperAtStart", func(t *testing.T) { testLedgerTamperAtStart(t, d) })
	t.Run("LedgerRotateKey", func(t *testing.T) { testLedgerRotateKey(t, d) })
	t.Run("LedgerPublishBeforeIntegration", func(t *testing.T) { testLedgerPublishBeforeIntegration(t, d) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, d) })
	t.Run("Privacy", func(t *testing.T) { testPrivacy(t, d) })
	t.Run("Program", func(t *testing.T) { testProgram(t, d) })
	t.Run("Policy", func(t *testing.T) { testPolicy(t, d) })
	t.Run("Credentials", func(t *testing.T) { testCredentials(t, d) })
	t.Run("Cases", func(t *testing.T) { testCases(t, d) })
	t.Run("Telemetry", func(t *testing.T) { testTelemetry(t, d) })
	t.Run("Reviews", func(t *testing.T) { testReviews(t, d) })
	t.Run("Alerts", func(t *testing.T) { testAlerts(t, d) })
	t.Run("Notifications", func(t *testing.T) { testNotifications(t, d) })
	t.Run("Places", func(t *testing.T) { testPlaces(t, d) })
	t.Run("Basemaps", func(t *testing.T) { testBasemaps(t, d) })
	t.Run("Releases", func(t *testing.T) { testReleases(t, d) })
}

// RawDB opens dsn directly, bypassing the store, to tamper with it.
func RawDB(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	driver, src := "sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)"
	if store.IsPostgresDSN(dsn) {
		driver, src = "pgx", dsn
	}
	raw, err := sql.Open(driver, src)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	return raw
}

func testMigrate(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	ms, err := store.Migrations(d)
	if err != nil || len(ms) == 0 {
		t.Fatalf("Migrations(%v) = %d, %v", d, len(ms), err)
	}
	t.Run("OK", func(t *testing.T) {
		dsn := NewDSN(t, d)
		for range 2 { // a second open applies nothing
			db, err := store.Open(ctx, store.Options{DSN: dsn, Logger: Logger()})
			if err != nil {
				t.Fatal(err)
			}
			v, err := db.SchemaVersion(ctx)
			db.Close()
			if err != nil || v != len(ms) {
				t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(ms))
			}
		}
	})
	t.Run("ErrForeignDatabase", func(t *testing.T) {
		dsn := NewDSN(t, d)
		raw := RawDB(t, dsn)
		if _, err := raw.Exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)`); err != nil {
			t.Fatal(err)
		}
		_, err := store.Open(ctx, store.Options{DSN: dsn, Logger: Logger()})
		if err == nil || !strings.Contains(err.Error(), "not a Probity database") || !strings.Contains(err.Error(), "customers") {
			t.Fatalf("Open(foreign) = %v; want a refusal naming its tables", err)
		}
		var n int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM customers`).Scan(&n); err != nil {
			t.Fatalf("the foreign table was touched: %v", err)
		}
	})
	t.Run("ErrNewerSchema", func(t *testing.T) {
		dsn := NewDSN(t, d)
		db, err := store.Open(ctx, store.Options{DSN: dsn, Logger: Logger()})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		raw := RawDB(t, dsn)
		if _, err := raw.Exec(`INSERT INTO probity_migrations (version, name, applied_at) VALUES (9999, 'future', $1)`, time.Now()); err != nil {
			t.Fatal(err)
		}
		_, err = store.Open(ctx, store.Options{DSN: dsn, Logger: Logger()})
		if err == nil || !strings.Contains(err.Error(), "newer than this program") {
			t.Fatalf("Open(newer) = %v", err)
		}
	})
}

func testUpdate(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	db, _, _ := MustOpenNew(t, d)
	count := func() int {
		var n int
		if err := db.View(ctx, func(tx *store.Tx) error {
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM probity_meta WHERE key LIKE 'test_%'`).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	insert := func(tx *store.Tx, k string) error {
		_, err := tx.Exec(ctx, `INSERT INTO probity_meta (key, value) VALUES ($1, 'x')`, k)
		return err
	}
	t.Run("Commit", func(t *testing.T) {
		ran := false
		err := db.Update(ctx, func(tx *store.Tx) error {
			tx.AfterCommit(func() { ran = true })
			return insert(tx, "test_commit")
		})
		if err != nil || !ran || count() != 1 {
			t.Fatalf("err=%v afterCommit=%v count=%d", err, ran, count())
		}
	})
	t.Run("ErrRollback", func(t *testing.T) {
		boom := errors.New("boom")
		ran := false
		err := db.Update(ctx, func(tx *store.Tx) error {
			tx.AfterCommit(func() { ran = true })
			if err := insert(tx, "test_rollback"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || ran || count() != 1 {
			t.Fatalf("err=%v afterCommit=%v count=%d", err, ran, count())
		}
	})
	t.Run("ErrPanic", func(t *testing.T) {
		err := db.Update(ctx, func(tx *store.Tx) error {
			insert(tx, "test_panic")
			panic("bad action")
		})
		if err == nil || !strings.Contains(err.Error(), "bad action") || count() != 1 {
			t.Fatalf("err=%v count=%d", err, count())
		}
	})
	t.Run("FixedNow", func(t *testing.T) {
		db.Update(ctx, func(tx *store.Tx) error {
			a := tx.Now
			time.Sleep(2 * time.Millisecond)
			if tx.Now != a || a.Location() != time.UTC || a.Nanosecond()%1000 != 0 {
				t.Errorf("Now = %v, then %v", a, tx.Now)
			}
			return nil
		})
	})
}

func testTimes(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	db, _, _ := MustOpenNew(t, d)
	want := time.Date(2026, 11, 23, 9, 30, 15, 123456000, time.UTC)
	err := db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO settings (name, value, updated_at, updated_by) VALUES ('t', '1', $1, 'test')`, want)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var got time.Time
	db.View(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, `SELECT updated_at FROM settings WHERE name = 't'`).Scan(&got)
	})
	if !got.Equal(want) {
		t.Fatalf("time round trip: got %v, want %v", got, want)
	}
}

// event returns a test event.
func event(i int) ledger.Event {
	return ledger.Event{
		Type:    "test.appended",
		Actor:   ledger.Actor{Kind: ledger.ActorSystem, ID: "storetest"},
		Subject: fmt.Sprintf("item/%d", i),
		Data:    map[string]any{"i": i},
	}
}

// appendN appends n events, one transaction each, and returns their indexes.
func appendN(tb testing.TB, db *store.DB, l *store.Ledger, n int) []int64 {
	tb.Helper()
	ctx := context.Background()
	var out []int64
	for i := range n {
		var ref store.Ref
		err := db.Update(ctx, func(tx *store.Tx) error {
			var err error
			ref, err = l.Append(ctx, tx, event(i))
			return err
		})
		if err != nil {
			tb.Fatal(err)
		}
		idx, err := l.WaitIntegrated(ctx, ref)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, idx)
	}
	return out
}

// memHashes is an independent reference: every stored hash of a log, in
// stored-hash-index order, computed with tlog from the entries alone.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(m)) {
			return nil, fmt.Errorf("no hash %d", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

func reference(tb testing.TB, entries [][]byte) memHashes {
	var m memHashes
	for i, e := range entries {
		hs, err := tlog.StoredHashes(int64(i), e, m)
		if err != nil {
			tb.Fatal(err)
		}
		m = append(m, hs...)
	}
	return m
}

func allEntries(tb testing.TB, l *store.Ledger) [][]byte {
	tb.Helper()
	var out [][]byte
	for r, err := range l.AllRows(context.Background()) {
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, r.Entry)
	}
	return out
}

func testLedgerAppend(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	db, l, keys := MustOpenNew(t, d)
	const n = 600 // more than two full tiles and bundles
	idx := appendN(t, db, l, n)
	for i, x := range idx {
		if x != int64(i+1) { // index 0 is the genesis entry
			t.Fatalf("append %d got index %d", i, x)
		}
	}
	size, err := l.Size(ctx)
	if err != nil || size != n+1 {
		t.Fatalf("Size = %d, %v; want %d", size, err, n+1)
	}
	entries := allEntries(t, l)
	for i, e := range entries {
		en, err := ledger.Decode(e)
		if err != nil || en.Seq != int64(i) {
			t.Fatalf("entry %d: %v seq=%d", i, err, en.Seq)
		}
		if i == 0 && (en.Type != "ledger.created" || en.Data["verifier_key"] != keys.Signing.VerifierKey) {
			t.Fatalf("genesis entry = %s", e)
		}
	}
	ref := reference(t, entries)
	wantRoot, _ := tlog.TreeHash(size, ref)

	cp, msg, err := l.Publish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != size || cp.Hash != wantRoot || cp.Origin != Origin {
		t.Fatalf("checkpoint %+v; want size %d root %v", cp, size, wantRoot)
	}
	if _, _, err := ledger.OpenCheckpoint(msg, mustVerifiers(t, keys)); err != nil {
		t.Fatalf("checkpoint does not verify: %v\n%s", err, msg)
	}
	// Publishing again without new entries returns the same checkpoint.
	if _, msg2, err := l.Publish(ctx); err != nil || !bytes.Equal(msg, msg2) {
		t.Fatalf("second Publish: %v", err)
	}

	t.Run("InclusionProofs", func(t *testing.T) {
		for _, i := range []int64{0, 1, 255, 256, 300, size - 1} {
			p, err := l.InclusionProof(ctx, i, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckRecord(p, size, wantRoot, i, tlog.RecordHash(entries[i])); err != nil {
				t.Fatalf("proof of %d: %v", i, err)
			}
		}
		if _, err := l.InclusionProof(ctx, size, size); err == nil {
			t.Fatal("proof of an index beyond the tree succeeded")
		}
		if _, err := l.InclusionProof(ctx, 0, size+1); !fault.Is(err, fault.NotFound) {
			t.Fatalf("proof in a tree larger than the ledger: %v", err)
		}
	})
	t.Run("ConsistencyProofs", func(t *testing.T) {
		for _, from := range []int64{1, 2, 256, 257, size} {
			old, _ := tlog.TreeHash(from, ref)
			p, err := l.ConsistencyProof(ctx, from, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckTree(p, size, wantRoot, from, old); err != nil {
				t.Fatalf("consistency %d→%d: %v", from, size, err)
			}
		}
		if _, err := l.ConsistencyProof(ctx, 5, 4); !fault.Is(err, fault.Invalid) {
			t.Fatalf("from > to: %v", err)
		}
	})
	t.Run("Tiles", func(t *testing.T) {
		for _, p := range []ledger.TilePath{
			{Level: 0, Index: 0, Width: 256}, {Level: 0, Index: 1, Width: 256},
			{Level: 0, Index: 2, Width: int(size - 512)}, {Level: 1, Index: 0, Width: 2},
		} {
			got, err := l.Tile(ctx, p)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			want, err := tlog.ReadTileData(p.Tile(), ref)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s differs from the reference", p)
			}
		}
		if _, err := l.Tile(ctx, ledger.TilePath{Level: 0, Index: 3, Width: 256}); !fault.Is(err, fault.NotFound) {
			t.Fatalf("tile beyond the log: %v", err)
		}
		if _, err := l.Tile(ctx, ledger.TilePath{Level: 1, Index: 0, Width: 3}); !fault.Is(err, fault.NotFound) {
			t.Fatalf("incomplete level-1 hash: %v", err)
		}
		b, err := l.EntryBundle(ctx, ledger.TilePath{Entries: true, Index: 1, Width: 256})
		if err != nil {
			t.Fatal(err)
		}
		got, err := ledger.DecodeBundle(b)
		if err != nil || len(got) != 256 || !bytes.Equal(got[0], entries[256]) || !bytes.Equal(got[255], entries[511]) {
			t.Fatalf("bundle 1: %d entries, %v", len(got), err)
		}
	})
	t.Run("Receipt", func(t *testing.T) {
		var r store.Ref
		db.Update(ctx, func(tx *store.Tx) error {
			var err error
			r, err = l.Append(ctx, tx, event(-1))
			return err
		})
		rc, err := l.Receipt(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		en, cp, err := rc.Verify(mustVerifiers(t, keys))
		if err != nil || cp.Size <= rc.Index || en.Type != "test.appended" {
			t.Fatalf("receipt of %d: entry %+v, checkpoint %+v: %v", rc.Index, en, cp, err)
		}
	})
	t.Run("Verify", func(t *testing.T) {
		mustVerify(t, l, keys)
	})
}

func mustVerifiers(tb testing.TB, keys ...ledger.Keys) note.Verifiers {
	tb.Helper()
	var lines []string
	for _, k := range keys {
		lines = append(lines, k.Signing.VerifierKey)
	}
	v, _, err := ledger.ParseVerifiers(strings.Join(lines, "\n"))
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// mustVerify checks the whole stored ledger.
func mustVerify(tb testing.TB, l *store.Ledger, keys ledger.Keys) ledger.Report {
	tb.Helper()
	ctx := context.Background()
	cps, err := l.Checkpoints(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	rep, err := ledger.VerifyRows(ctx, l.AllRows(ctx), ledger.VerifyOptions{Verifiers: mustVerifiers(tb, keys), Origin: Origin, Checkpoints: cps, MAC: keys.MAC})
	if err != nil {
		tb.Fatal(err)
	}
	if !rep.OK() {
		tb.Fatalf("verify: %v", rep.Problem)
	}
	return rep
}

func testLedgerFailClosed(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	dsn := NewDSN(t, d)
	keys := MustKeys(t)
	db, l := MustOpen(t, dsn, keys)
	svc := settings.NewService(db.Settings())
	actor := ledger.Actor{Kind: ledger.ActorToken, ID: "bootstrap-admin"}
	settingCount := func() int {
		var n int
		db.View(ctx, func(tx *store.Tx) error {
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM settings`).Scan(&n)
		})
		return n
	}

	t.Run("ErrInvalidEvent", func(t *testing.T) {
		before := SettledSize(t, db, l)
		err := db.Update(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO settings (name, value, updated_at, updated_by) VALUES ('x', '1', $1, 'x')`, tx.Now); err != nil {
				return err
			}
			_, err := l.Append(ctx, tx, ledger.Event{Type: "Bad Type", Actor: actor})
			return err
		})
		after := SettledSize(t, db, l)
		if !fault.Is(err, fault.Invalid) || settingCount() != 0 || after != before {
			t.Fatalf("err=%v settings=%d size %d→%d", err, settingCount(), before, after)
		}
	})
	t.Run("ErrEntryTooLarge", func(t *testing.T) {
		big := strings.Repeat("x", ledger.MaxEntrySize)
		err := db.Update(ctx, func(tx *store.Tx) error {
			_, err := l.Append(ctx, tx, ledger.Event{Type: "test.big", Actor: actor, Data: map[string]any{"s": big}})
			return err
		})
		if !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), "bytes") {
			t.Fatalf("err=%v", err)
		}
	})
	if _, _, err := svc.Set(ctx, actor, settings.OrganizationName, json.RawMessage(`"Before"`)); err != nil {
		t.Fatal(err)
	}
	if d == store.SQLite {
		// Someone writes a record at the writer's next index behind its back:
		// the next action fails, and so does every later one (fail closed).
		t.Run("ErrTamperedBehindWriter", func(t *testing.T) {
			size, _ := l.Size(ctx)
			raw := RawDB(t, dsn)
			if _, err := raw.Exec(`INSERT INTO ledger_entries (idx, entry, hashes, mac) VALUES ($1, x'7b7d', x'00', x'00')`, size); err != nil {
				t.Fatal(err)
			}
			_, _, err := svc.Set(ctx, actor, settings.OrganizationName, json.RawMessage(`"After"`))
			if !fault.Is(err, fault.Tampered) {
				t.Fatalf("Set after tampering: %v", err)
			}
			set, _ := svc.Get(ctx, settings.OrganizationName)
			if string(set.Value) != `"Before"` {
				t.Fatalf("setting changed to %s although its ledger entry failed", set.Value)
			}
			_, _, err = svc.Set(ctx, actor, settings.ResultRetentionDays, json.RawMessage(`30`))
			if !fault.Is(err, fault.Unavailable) || l.Failed() == nil {
				t.Fatalf("later Set: %v (failed=%v)", err, l.Failed())
			}
			if _, _, err := l.Publish(ctx); err == nil {
				t.Fatal("Publish succeeded on a failed ledger")
			}
		})
	}
}

func testLedgerConcurrent(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	db, l, keys := MustOpenNew(t, d)
	const writers, each = 16, 40
	var mu sync.Mutex
	var got []int64
	var wg sync.WaitGroup
	boom := errors.New("boom")
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var ref store.Ref
				err := db.Update(ctx, func(tx *store.Tx) error {
					var err error
					if ref, err = l.Append(ctx, tx, event(w*1000+i)); err != nil {
						return err
					}
					if i%7 == 3 {
						return boom // appended, then the action fails: no entry
					}
					return nil
				})
				if i%7 == 3 {
					if !errors.Is(err, boom) {
						t.Errorf("failing action: %v", err)
					}
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				idx, err := l.WaitIntegrated(ctx, ref)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, idx)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	want := 0
	for i := range each {
		if i%7 != 3 {
			want++
		}
	}
	want *= writers
	seen := map[int64]bool{}
	for _, x := range got {
		if seen[x] {
			t.Fatalf("index %d acknowledged twice", x)
		}
		seen[x] = true
	}
	size, _ := l.Size(ctx)
	if len(got) != want || size != int64(want)+1 {
		t.Fatalf("%d acknowledged, size %d; want %d and %d", len(got), size, want, want+1)
	}
	if _, _, err := l.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, l, keys)
}

func testLedgerReopen(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	dsn := NewDSN(t, d)
	keys := MustKeys(t)
	open := func(cfg store.LedgerConfig) (*store.DB, *store.Ledger, error) {
		db, err := store.Open(ctx, store.Options{DSN: dsn, Logger: Logger()})
		if err != nil {
			return nil, nil, err
		}
		l, err := store.OpenLedger(ctx, db, cfg)
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		l.Start(ctx)
		return db, l, nil
	}
	db, l, err := open(store.LedgerConfig{Origin: Origin, Keys: &keys})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, db, l, 10)
	l.Publish(ctx)
	appendN(t, db, l, 5) // an unsigned tail
	l.Close()
	db.Close()

	t.Run("ErrOtherKey", func(t *testing.T) {
		other := MustKeys(t)
		_, _, err := open(store.LedgerConfig{Origin: Origin, Keys: &other})
		if !fault.Is(err, fault.Conflict) || !strings.Contains(err.Error(), "signing key does not match") {
			t.Fatalf("open with another key: %v", err)
		}
	})
	t.Run("ErrOtherOrigin", func(t *testing.T) {
		_, _, err := open(store.LedgerConfig{Origin: "elsewhere.test/log", Keys: &keys})
		if !fault.Is(err, fault.Conflict) || !strings.Contains(err.Error(), "origin") {
			t.Fatalf("open with another origin: %v", err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		db, l, err := open(store.LedgerConfig{Keys: &keys})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { l.Close(); db.Close() }()
		idx := appendN(t, db, l, 3)
		if idx[0] != 16 {
			t.Fatalf("first index after reopening = %d; want 16", idx[0])
		}
		l.Publish(ctx)
		mustVerify(t, l, keys)
	})
}

func testLedgerTamperAtStart(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		sql   string
		index int64
	}{
		{"TailEntryChanged", `UPDATE ledger_entries SET entry = $1 WHERE idx = 12`, 12},
		{"TailRowDeleted", `DELETE FROM ledger_entries WHERE idx = 11`, -1},
		{"SignedEntryHashChanged", `UPDATE ledger_entries SET hashes = $1 WHERE idx = 7`, -1},
		{"SignedEntryHashTruncated", `UPDATE ledger_entries SET hashes = substr(hashes, 1, 32) WHERE idx = 7`, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := NewDSN(t, d)
			keys := MustKeys(t)
			db, err := store.Open(ctx, store.Options{DSN: dsn, Logger: Logger()})
			if err != nil {
				t.Fatal(err)
			}
			l, err := store.OpenLedger(ctx, db, store.LedgerConfig{Origin: Origin, Keys: &keys})
			if err != nil {
				t.Fatal(err)
			}
			l.Start(ctx)
			appendN(t, db, l, 9) // indexes 1..9
			if _, _, err := l.Publish(ctx); err != nil {
				t.Fatal(err)
			}
			appendN(t, db, l, 5) // 10..14, unsigned
			l.Close()
			db.Close()

			raw := RawDB(t, dsn)
			var args []any
			if strings.Contains(tc.sql, "$1") {
				args = append(args, bytes.Repeat([]byte{7}, 128))
			}
			if _, err := raw.Exec(tc.sql, args...); err != nil {
				t.Fatal(err)
			}
			if d == store.Postgres && tc.name == "TailRowDeleted" {
				raw.Exec(`UPDATE ledger_state SET size = size`)
			}
			db, err = store.Open(ctx, store.Options{DSN: dsn, Logger: Logger()})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			l, err = store.OpenLedger(ctx, db, store.LedgerConfig{Keys: &keys})
			if d == store.Postgres && err == nil {
				// The sequencer loads the tree when elected; it must refuse.
				l.Start(ctx)
				defer l.Close()
				deadline := time.Now().Add(10 * time.Second)
				for l.Failed() == nil && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				err = l.Failed()
			}
			if err == nil || !strings.Contains(err.Error(), "changed outside Probity") && !strings.Contains(err.Error(), "does not match") {
				t.Fatalf("reopen after tampering: %v", err)
			}
			if tc.index >= 0 && !strings.Contains(err.Error(), fmt.Sprintf("index %d", tc.index)) {
				t.Fatalf("error does not name index %d: %v", tc.index, err)
			}
		})
	}
}

func testLedgerRotateKey(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	db, l, keys := MustOpenNew(t, d)
	appendN(t, db, l, 3)
	if _, _, err := l.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	newKeys := MustKeys(t)
	actor := ledger.Actor{Kind: ledger.ActorToken, ID: "operator"}
	if err := l.RotateKey(ctx, actor, newKeys.Signing); err != nil {
		t.Fatal(err)
	}
	appendN(t, db, l, 2)
	_, msg, err := l.Publish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ledger.OpenCheckpoint(msg, mustVerifiers(t, newKeys)); err != nil {
		t.Fatalf("new checkpoint is not signed by the new key: %v", err)
	}
	cps, _ := l.Checkpoints(ctx)
	// Trusting only the new key, a verifier reaches the old one through the
	// rotation checkpoint signed by both.
	vs, trusted, err := ledger.TrustedVerifiers([]string{newKeys.Signing.VerifierKey}, l.KnownKeys(), cps)
	if err != nil || len(trusted) != 2 {
		t.Fatalf("trusted keys %v, %v", trusted, err)
	}
	rep, err := ledger.VerifyRows(ctx, l.AllRows(ctx), ledger.VerifyOptions{Verifiers: vs, Checkpoints: cps, MAC: keys.MAC})
	if err != nil || !rep.OK() || rep.Checkpoints != len(cps) {
		t.Fatalf("verify after rotation: %v %v", err, rep.Problem)
	}
	// A key that never co-signed with a trusted key gains no trust.
	stranger := MustKeys(t)
	_, trusted, _ = ledger.TrustedVerifiers([]string{stranger.Signing.VerifierKey}, l.KnownKeys(), cps)
	if len(trusted) != 1 {
		t.Fatalf("a stranger's key reached %v", trusted)
	}
	if err := l.RotateKey(ctx, actor, newKeys.Signing); !fault.Is(err, fault.Invalid) {
		t.Fatalf("rotating to the current key: %v", err)
	}
}

func testSettings(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	db, l, keys := MustOpenNew(t, d)
	svc := settings.NewService(db.Settings())
	actor := ledger.Actor{Kind: ledger.ActorToken, ID: "bootstrap-admin"}
	set, idx, err := svc.Set(ctx, actor, settings.ResultRetentionDays, json.RawMessage(`30`))
	if err != nil || string(set.Value) != "30" || set.UpdatedBy != "bootstrap-admin" {
		t.Fatalf("Set = %+v, %v", set, err)
	}
	b, err := l.Entry(ctx, idx)
	if err != nil {
		t.Fatal(err)
	}
	en, _ := ledger.Decode(b)
	if en.Type != "settings.changed" || en.Subject != "setting/result_retention_days" || fmt.Sprint(en.Data["value"]) != "30" || fmt.Sprint(en.Data["previous"]) != "90" {
		t.Fatalf("ledger entry %s", b)
	}
	if svc.Int(ctx, settings.ResultRetentionDays) != 30 {
		t.Fatal("Int did not read the new value")
	}
	for _, tc := range []struct{ name, setting, value, want string }{
		{"ErrUnknown", "nope", `1`, "there is no setting"},
		{"ErrRange", settings.ResultRetentionDays, `0`, "from 1 to 3650"},
		{"ErrType", settings.ResultRetentionDays, `"90"`, "whole number"},
		{"ErrFraction", settings.CheckpointIntervalSeconds, `1.5`, "whole number"},
		{"ErrControlChars", settings.OrganizationName, `"Dept\u0000of"`, "control"},
		{"ErrTwoValues", settings.OrganizationName, `"a" "b"`, "one JSON value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := SettledSize(t, db, l)
			_, _, err := svc.Set(ctx, actor, tc.setting, json.RawMessage(tc.value))
			after := SettledSize(t, db, l)
			if err == nil || !strings.Contains(fault.MessageOf(err), tc.want) || before != after {
				t.Fatalf("err=%v size %d→%d", err, before, after)
			}
		})
	}
	if v := svc.Int(ctx, settings.ResultRetentionDays); v != 30 {
		t.Fatalf("a refused change altered the value to %d", v)
	}
	l.Publish(ctx)
	mustVerify(t, l, keys)
}

// testLedgerPublishBeforeIntegration publishes a checkpoint before the
// genesis entry is integrated (on PostgreSQL, a replica may), then again
// after: the empty tree is a prefix of every tree, and the ledger must go on.
func testLedgerPublishBeforeIntegration(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	keys := MustKeys(t)
	db, err := store.Open(ctx, store.Options{DSN: NewDSN(t, d), Logger: Logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := store.OpenLedger(ctx, db, store.LedgerConfig{Origin: Origin, Keys: &keys, Interval: func(context.Context) time.Duration { return time.Hour }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	first, _, err := l.Publish(ctx) // not started: on PostgreSQL nothing is integrated yet
	if err != nil {
		t.Fatal(err)
	}
	want := int64(1)
	if d == store.Postgres {
		want = 0
	}
	if first.Size != want {
		t.Fatalf("first checkpoint covers %d entries, want %d", first.Size, want)
	}
	l.Start(ctx)
	appendN(t, db, l, 3)
	cp, _, err := l.Publish(ctx)
	if err != nil || cp.Size != 4 || l.Failed() != nil {
		t.Fatalf("publish after integration: %+v, %v (failed: %v)", cp, err, l.Failed())
	}
	mustVerify(t, l, keys)
}
