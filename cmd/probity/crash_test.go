package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/settings"
)

// TestServe_CrashSafety kills "probity serve" on SQLite with SIGKILL at
// random moments while clients change settings, restarts it on the same
// data directory, and checks after every kill that every write acknowledged
// to a client is in the ledger at its index with its value, that writes
// without an answer are either absent or recorded consistently, and that
// "probity ledger verify" passes and finds the ledger consistent with the
// latest checkpoint a client was given before the kill.
func TestServe_CrashSafety(t *testing.T) {
	const (
		rounds  = 24
		writers = 8
		origin  = "probity.test/crash"
	)
	rng := newRand(t)
	c := newClient(t)
	data := filepath.Join(t.TempDir(), "data")
	dbFile := filepath.Join(data, "probity.db")
	keyFile := filepath.Join(data, "ledger.key")
	seenFile := filepath.Join(t.TempDir(), "seen-checkpoint")
	args := []string{"serve", "-addr", "127.0.0.1:0", "-data", data, "-origin", origin, "-log-level", "info"}
	ctx := context.Background()
	rec := &recorder{}

	var (
		seenMu   sync.Mutex
		seenSize int64  = -1
		seenNote []byte // the largest checkpoint a client was given
	)
	// checkAfterKill checks the ledger the killed server left: the writes
	// clients made, and "probity ledger verify" against the latest
	// checkpoint a client was given.
	checkAfterKill := func(round int) ([]ledger.Row, ledgerSummary) {
		t.Helper()
		rows := readRows(t, dbFile)
		sum, _ := checkLedger(t, rows, rec.all())
		verifyArgs := []string{"-data", data}
		if seenNote != nil {
			if err := os.WriteFile(seenFile, seenNote, 0o600); err != nil {
				t.Fatal(err)
			}
			verifyArgs = append(verifyArgs, "-checkpoint", seenFile)
		}
		rep := verifyLedger(t, verifyArgs...)
		if rep.Entries != int64(len(rows)) || !rep.MACsChecked {
			t.Errorf("round %d: ledger verify checked %d entries (MACs: %v); %d are stored", round, rep.Entries, rep.MACsChecked, len(rows))
		}
		if t.Failed() {
			t.FailNow()
		}
		return rows, sum
	}
	var earlyKills, crashed int
	lastRows := 0
	for round := range rounds {
		p := spawn(t, fmt.Sprintf("server (round %d)", round), args...)
		if round > 0 && rng.IntN(5) == 0 {
			// Kill it while it starts: opening the database, loading and
			// checking the tree, or just listening.
			time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
			p.kill()
			p.checkStderr()
			earlyKills++
			checkAfterKill(round)
			continue
		}
		if err := p.waitReady(c); err != nil {
			t.Fatalf("round %d: the server did not come back after the kill: %v", round, err)
		}
		ready := time.Since(p.started)
		vs := verifiersFor(t, keyFile)
		if round == 0 {
			// Publish checkpoints every second, so that periodic
			// publication races with the kills too.
			w := &write{Name: settings.CheckpointIntervalSeconds, Value: json.RawMessage("1"), Index: -1}
			rec.put(ctx, c, p.URL, w)
			if !w.Acked() {
				t.Fatalf("set %s: %d %s", w.Name, w.Status, w.Err)
			}
		} else if acked := ackedWrites(rec.all()); len(acked) > 0 {
			// Read acknowledged writes back through the API: the latest
			// one, which the kill may have come right after, and a few
			// others.
			sample := []*write{acked[len(acked)-1]}
			for range 3 {
				sample = append(sample, acked[rng.IntN(len(acked))])
			}
			checkEntryAPI(t, c, p.URL, vs, readRows(t, dbFile), sample)
		}

		var stop atomic.Bool
		var wg sync.WaitGroup
		for range writers {
			wg.Go(func() {
				for !stop.Load() {
					w := rec.newWrite()
					if w == nil {
						return
					}
					rec.put(ctx, c, p.URL, w)
					if w.Status != 0 && !w.Acked() {
						t.Errorf("round %d: PUT %s: %d %s (only SIGKILL should make a write fail)", round, w.Key(), w.Status, w.Err)
					}
				}
			})
		}
		wg.Go(func() {
			for !stop.Load() {
				size, msg, status, err := publishCheckpoint(ctx, c, p.URL)
				if err == nil && status != http.StatusOK {
					t.Errorf("round %d: publish checkpoint: %d", round, status)
				}
				if msg != nil {
					seenMu.Lock()
					if size > seenSize {
						seenSize, seenNote = size, msg
					}
					seenMu.Unlock()
				}
				time.Sleep(time.Duration(10+rand.IntN(40)) * time.Millisecond)
			}
		})
		writing := time.Now()
		time.Sleep(time.Duration(20+rng.IntN(480)) * time.Millisecond)
		stop.Store(true)
		p.kill()
		wg.Wait()
		p.checkStderr()
		crashed++

		rows, sum := checkAfterKill(round)
		t.Logf("round %d: ready after %v, killed after %v of writes; %s; %d new; latest checkpoint seen: %d", round,
			ready.Round(time.Millisecond), time.Since(writing).Round(time.Millisecond), sum, len(rows)-lastRows, seenSize)
		lastRows = len(rows)
	}

	// Start once more: the server comes back, its settings are what the
	// ledger says, and it stops cleanly.
	p := mustStart(t, c, "server (final)", args...)
	vs := verifiersFor(t, keyFile)
	for range 20 {
		w := rec.newWrite()
		if w == nil {
			break
		}
		rec.put(ctx, c, p.URL, w)
		if !w.Acked() {
			t.Errorf("PUT %s after the last restart: %d %s", w.Key(), w.Status, w.Err)
		}
	}
	rows := readRows(t, dbFile)
	_, state := checkLedger(t, rows, rec.all())
	checkSettingsState(t, c, p.URL, state)
	acked := ackedWrites(rec.all())
	checkEntryAPI(t, c, p.URL, vs, rows, acked[max(0, len(acked)-5):])
	if _, msg, _, err := publishCheckpoint(ctx, c, p.URL); err != nil || msg == nil {
		t.Errorf("publish checkpoint: %v", err)
	} else {
		notes := map[string][]byte{"published at the end": msg}
		if seenNote != nil {
			notes["seen before the last kill"] = seenNote
		}
		checkCheckpoints(t, rows, vs, origin, notes)
	}
	if code, err := p.stop(); err != nil || code != 0 {
		t.Errorf("stop the server: exit status %d, %v", code, err)
	}
	p.checkStderr()
	_, sum := checkAfterKill(rounds)
	if sum.Acked < rounds {
		t.Errorf("only %d writes were acknowledged in %d rounds: the test did not exercise much", sum.Acked, rounds)
	}
	t.Logf("%d kills (%d during start-up); %s", crashed+earlyKills, earlyKills, sum)
}

// ackedWrites returns the acknowledged writes in ledger order.
func ackedWrites(ws []*write) []*write {
	var out []*write
	for _, w := range ws {
		if w.Acked() {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b *write) int { return cmp.Compare(a.Index, b.Index) })
	return out
}
