package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/settings"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// TestServe_ThreeReplicasPostgres runs three "probity serve" replicas on
// one PostgreSQL schema with one ledger key, writes through all of them at
// once, and checks that the ledger never forks, skips or duplicates; then
// kills the elected sequencer with SIGKILL and checks that writes through
// the survivors are still acknowledged with ledger indexes, that another
// replica takes over, and that the killed replica comes back.
func TestServe_ThreeReplicasPostgres(t *testing.T) {
	if os.Getenv(storetest.EnvPostgres) == "" {
		t.Skip("skipping the three-replica test: it needs PostgreSQL; set PROBITY_TEST_POSTGRES to a database URL, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	const (
		origin    = "probity.test/replicas"
		writers   = 9
		perWriter = 30
	)
	dsn := storetest.NewDSN(t, store.Postgres)
	rng := newRand(t)
	c := newClient(t)
	ctx := context.Background()
	tmp := t.TempDir()
	dataDir := func(i int) string { return filepath.Join(tmp, fmt.Sprintf("replica%d", i)) }
	keyFile := filepath.Join(dataDir(0), "ledger.key")
	serveArgs := func(i int) []string {
		args := []string{"serve", "-addr", "127.0.0.1:0", "-data", dataDir(i), "-db", dsn, "-origin", origin, "-log-level", "info"}
		if i > 0 {
			args = append(args, "-ledger-key", keyFile, "-secrets-key", filepath.Join(dataDir(0), "secrets.key"))
		}
		return args
	}

	// The first replica creates the ledger and its keys; the others share
	// the key files.
	replicas := make([]*proc, 3)
	replicas[0] = mustStart(t, c, "replica 0", serveArgs(0)...)
	seen := &noteSet{notes: map[string][]byte{}}
	// A checkpoint right away, perhaps before the sequencer has integrated
	// the genesis entry (an empty tree), which later ones must extend.
	if size, msg, status, err := publishCheckpoint(ctx, c, replicas[0].URL); err != nil || status != http.StatusOK {
		t.Fatalf("publish the first checkpoint: %d %v", status, err)
	} else {
		seen.add("replica 0 (first)", msg)
		t.Logf("first checkpoint: size %d", size)
	}
	for i := 1; i < 3; i++ {
		replicas[i] = spawn(t, fmt.Sprintf("replica %d", i), serveArgs(i)...)
	}
	for _, p := range replicas[1:] {
		if err := p.waitReady(c); err != nil {
			t.Fatal(err)
		}
	}
	vs := verifiersFor(t, keyFile)
	rec := &recorder{}
	w := &write{Name: settings.CheckpointIntervalSeconds, Value: json.RawMessage("1"), Index: -1}
	rec.put(ctx, c, replicas[1].URL, w)
	if !w.Acked() {
		t.Fatalf("set %s: %d %s", w.Name, w.Status, w.Err)
	}

	// checkAll checks the ledger as stored and as served by the replicas
	// that are up, and returns the ledger's records.
	checkAll := func(stage string, up []*proc) []ledger.Row {
		t.Helper()
		waitNoPending(t, dsn)
		for _, p := range up {
			if _, msg, status, err := publishCheckpoint(ctx, c, p.URL); err != nil || status != http.StatusOK {
				t.Errorf("%s: %s: publish checkpoint: %d %v", stage, p.name, status, err)
			} else {
				seen.add(p.name+" (published)", msg)
			}
			status, b, err := call(ctx, c, "GET", p.URL+"ledger/checkpoint", "", nil)
			if err != nil || status != http.StatusOK {
				t.Errorf("%s: %s: GET /ledger/checkpoint: %d %v", stage, p.name, status, err)
			} else {
				seen.add(p.name+" (served)", b)
			}
		}
		rows := readRows(t, dsn)
		sum, state := checkLedger(t, rows, rec.all())
		checkCheckpoints(t, rows, vs, origin, seen.all())
		rep := verifyLedger(t, "-data", dataDir(0), "-db", dsn)
		if rep.Entries != int64(len(rows)) || !rep.MACsChecked || rep.Checkpoints == 0 {
			t.Errorf("%s: ledger verify checked %d entries (MACs: %v) and %d checkpoints; %d are stored", stage, rep.Entries, rep.MACsChecked, rep.Checkpoints, len(rows))
		}
		for i, p := range up {
			checkSettingsState(t, c, p.URL, state)
			checkConsistencyAPI(t, c, p.URL, seen.all(), vs, i == 0)
		}
		acked := ackedWrites(rec.all())
		checkEntryAPI(t, c, up[rng.IntN(len(up))].URL, vs, rows, []*write{acked[0], acked[len(acked)-1], acked[rng.IntN(len(acked))]})
		for _, p := range replicas {
			p.checkStderr()
		}
		t.Logf("%s: %s; %d distinct checkpoints seen", stage, sum, seen.distinct())
		if t.Failed() {
			t.FailNow()
		}
		return rows
	}

	// Phase 1: concurrent writes through all three replicas. No write may
	// fail.
	var up atomic.Pointer[[]*proc]
	up.Store(&replicas)
	phase1 := drive(ctx, rec, c, &up, seen, writers, perWriter, nil)
	for _, w := range phase1 {
		if !w.Acked() {
			t.Errorf("PUT %s via %s: %d %s", w.Key(), w.Via, w.Status, w.Err)
		}
	}
	checkAll("three replicas", replicas)

	// Phase 2: kill the sequencer while writes go through all three, then
	// write through the two survivors only.
	victim := leader(replicas)
	if victim == nil {
		t.Fatal("no replica logged that it was elected ledger sequencer")
	}
	var survivors []*proc
	elections := map[*proc]int{}
	for _, p := range replicas {
		if p != victim {
			survivors = append(survivors, p)
			elections[p] = len(p.logLines("elected ledger sequencer"))
		}
	}
	killAfter := time.Duration(100+rng.IntN(400)) * time.Millisecond
	phase2 := drive(ctx, rec, c, &up, seen, writers, perWriter, func() {
		time.Sleep(killAfter)
		up.Store(&survivors)
		victim.kill()
		t.Logf("killed the sequencer, %s, after %v of writes", victim.name, killAfter)
	})
	victim.checkStderr()
	var lost int
	for _, w := range phase2 {
		switch {
		case w.Acked():
		case w.Via == victim.URL && w.Status == 0:
			lost++ // no answer from the killed replica: may or may not be in the ledger
		default:
			t.Errorf("PUT %s via %s: %d %s", w.Key(), w.Via, w.Status, w.Err)
		}
	}
	reelected := false
	for _, p := range survivors {
		reelected = reelected || len(p.logLines("elected ledger sequencer")) > elections[p]
	}
	if !reelected {
		t.Errorf("no survivor logged that it was elected ledger sequencer after %s was killed", victim.name)
	}
	t.Logf("%d writes sent to %s got no answer", lost, victim.name)
	checkAll("after killing the sequencer", survivors)

	// Phase 3: the killed replica comes back and joins in.
	i := 0
	for replicas[i] != victim {
		i++
	}
	replicas[i] = mustStart(t, c, victim.name+" (restarted)", serveArgs(i)...)
	up.Store(&replicas)
	phase3 := drive(ctx, rec, c, &up, seen, 3, 10, nil)
	for _, w := range phase3 {
		if !w.Acked() {
			t.Errorf("PUT %s via %s: %d %s", w.Key(), w.Via, w.Status, w.Err)
		}
	}
	checkAll("after restarting it", replicas)
	for _, p := range replicas {
		if code, err := p.stop(); err != nil || code != 0 {
			t.Errorf("stop %s: exit status %d, %v", p.name, code, err)
		}
		p.checkStderr()
	}
	verifyLedger(t, "-data", dataDir(0), "-db", dsn)
}

// A noteSet collects the signed checkpoints clients were given.
type noteSet struct {
	mu    sync.Mutex
	n     int
	notes map[string][]byte
}

func (s *noteSet) add(from string, msg []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.notes {
		if string(m) == string(msg) {
			return
		}
	}
	s.n++
	s.notes[fmt.Sprintf("#%d from %s", s.n, from)] = msg
}

func (s *noteSet) all() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]byte, len(s.notes))
	for k, v := range s.notes {
		out[k] = v
	}
	return out
}

func (s *noteSet) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.notes)
}

// drive runs writers goroutines that each make perWriter writes through
// the replicas in *up, in turn, while others ask each for checkpoints;
// during runs alongside and drive returns once all are done. It returns the
// writes made.
func drive(ctx context.Context, rec *recorder, c *http.Client, up *atomic.Pointer[[]*proc], seen *noteSet, writers, perWriter int, during func()) []*write {
	var mu sync.Mutex
	var out []*write
	var wg, pubWG sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			for j := range perWriter {
				ps := *up.Load()
				p := ps[(i+j)%len(ps)]
				w := rec.newWrite()
				if w == nil {
					return
				}
				rec.put(ctx, c, p.URL, w)
				mu.Lock()
				out = append(out, w)
				mu.Unlock()
			}
		})
	}
	if during != nil {
		wg.Go(during)
	}
	var stop atomic.Bool
	for i := range 3 {
		pubWG.Go(func() {
			for !stop.Load() {
				ps := *up.Load()
				p := ps[i%len(ps)]
				if _, msg, status, err := publishCheckpoint(ctx, c, p.URL); err == nil && status == http.StatusOK {
					seen.add(p.name+" (published)", msg)
				}
				if status, b, err := call(ctx, c, "GET", p.URL+"ledger/checkpoint", "", nil); err == nil && status == http.StatusOK {
					seen.add(p.name+" (served)", b)
				}
				time.Sleep(time.Duration(10+rand.IntN(40)) * time.Millisecond)
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	pubWG.Wait()
	return out
}

// leader returns the replica that most recently logged that it was
// elected ledger sequencer.
func leader(ps []*proc) *proc {
	var best *proc
	var at time.Time
	for _, p := range ps {
		for _, m := range p.logLines("elected ledger sequencer") {
			s, _ := m["time"].(string)
			ts, err := time.Parse(time.RFC3339Nano, s)
			if err == nil && (best == nil || ts.After(at)) {
				best, at = p, ts
			}
		}
	}
	return best
}

// waitNoPending waits until every pending ledger entry is integrated,
// including those of transactions whose replica was killed before it
// answered.
func waitNoPending(t *testing.T, dsn string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM ledger_pending`).Scan(&n); err != nil {
			t.Fatalf("count pending ledger entries: %v", err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d ledger entries are still pending after %v", n, startTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkConsistencyAPI asks the server, through GET
// /api/v1/ledger/consistency, to prove that checkpoints seen are prefixes
// of larger ones, and checks the proofs against the checkpoints' signed
// roots: with all, each checkpoint against the next larger one and the
// largest; otherwise the smallest against the largest and a few others.
func checkConsistencyAPI(t *testing.T, c *http.Client, base string, notes map[string][]byte, vs note.Verifiers, all bool) {
	t.Helper()
	roots := map[int64]tlog.Hash{}
	for from, msg := range notes {
		cp, _, err := ledger.OpenCheckpoint(msg, vs)
		if err != nil {
			t.Errorf("checkpoint %s does not verify: %v", from, err)
			continue
		}
		if cp.Size > 0 {
			roots[cp.Size] = cp.Hash
		}
	}
	sizes := slices.Sorted(maps.Keys(roots))
	if len(sizes) < 2 {
		return
	}
	type pair struct{ from, to int64 }
	var pairs []pair
	last := sizes[len(sizes)-1]
	for i, s := range sizes[:len(sizes)-1] {
		pairs = append(pairs, pair{s, sizes[i+1]})
		if sizes[i+1] != last {
			pairs = append(pairs, pair{s, last})
		}
	}
	if !all {
		sample := []pair{{sizes[0], last}}
		for range 5 {
			sample = append(sample, pairs[rand.IntN(len(pairs))])
		}
		pairs = sample
	}
	for _, pr := range pairs {
		var resp struct {
			From     int64    `json:"from"`
			To       int64    `json:"to"`
			FromRoot string   `json:"from_root"`
			ToRoot   string   `json:"to_root"`
			Proof    []string `json:"proof"`
		}
		mustGet(t, c, fmt.Sprintf("%sapi/v1/ledger/consistency?from=%d&to=%d", base, pr.from, pr.to), "", &resp)
		fromRoot, err1 := decodeHash(resp.FromRoot)
		toRoot, err2 := decodeHash(resp.ToRoot)
		var proof tlog.TreeProof
		for _, s := range resp.Proof {
			h, err := decodeHash(s)
			err1 = cmpErr(err1, err)
			proof = append(proof, h)
		}
		switch {
		case cmpErr(err1, err2) != nil:
			t.Errorf("%s: consistency %d→%d: %v", base, pr.from, pr.to, cmpErr(err1, err2))
		case resp.From != pr.from || resp.To != pr.to:
			t.Errorf("%s: consistency %d→%d answered for %d→%d", base, pr.from, pr.to, resp.From, resp.To)
		case fromRoot != roots[pr.from] || toRoot != roots[pr.to]:
			t.Errorf("%s: consistency %d→%d: the roots served are not the signed checkpoints' roots: a fork", base, pr.from, pr.to)
		default:
			if err := tlog.CheckTree(proof, pr.to, roots[pr.to], pr.from, roots[pr.from]); err != nil {
				t.Errorf("%s: the checkpoints of sizes %d and %d are not consistent: %v", base, pr.from, pr.to, err)
			}
		}
	}
}
