package main

// End-to-end tests: they run the real "probity serve" as child processes
// (this test binary re-executed with envChild set, which makes TestMain call
// main), kill them, and check the ledger they leave behind.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/probity-dev/probity/internal/app"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/settings"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// envChild, set to 1, makes the test binary run probity instead of tests.
const envChild = "PROBITY_E2E_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		main() // exits
		return
	}
	os.Exit(m.Run())
}

// Credentials the child servers accept.
const (
	adminToken   = "e2e-admin-token-0123456789abcdefghijkl"
	auditorToken = "e2e-auditor-token-0123456789abcdefghijk"
)

// Timeouts that only keep a broken run from hanging; they assert nothing
// about speed.
const (
	startTimeout   = 90 * time.Second
	requestTimeout = 60 * time.Second
)

// newRand returns a random source for a test and logs its seed;
// PROBITY_E2E_SEED replays one.
func newRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PROBITY_E2E_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("PROBITY_E2E_SEED: %v", err)
		}
		seed = n
	}
	t.Logf("random seed %d (set PROBITY_E2E_SEED to replay)", seed)
	return rand.New(rand.NewPCG(seed, seed>>1|1))
}

// childEnv is the environment of a child server: this process's, without
// any PROBITY_* setting that would change the configuration, plus the
// credentials.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PROBITY_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		envChild+"=1",
		"PROBITY_BOOTSTRAP_ADMIN_TOKEN="+adminToken,
		"PROBITY_LEDGER_AUDITOR_TOKEN="+auditorToken,
	)
}

// A syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A urlWriter receives a child's stdout and reports the URL of the line
// "Probity is listening on URL".
type urlWriter struct {
	syncBuffer
	mu      sync.Mutex
	partial []byte
	found   chan string // buffered; receives the URL once
	sent    bool
}

func (w *urlWriter) Write(p []byte) (int, error) {
	w.syncBuffer.Write(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		if u, ok := strings.CutPrefix(line, "Probity is listening on "); ok && !w.sent {
			w.sent = true
			w.found <- strings.TrimSpace(u)
		}
	}
	return len(p), nil
}

// A proc is one child "probity" process.
type proc struct {
	t       *testing.T
	name    string
	args    []string
	cmd     *exec.Cmd
	stdout  *urlWriter
	stderr  *syncBuffer
	started time.Time
	done    chan struct{} // closed when the process has exited
	state   *os.ProcessState
	URL     string // base URL, ending in "/", once listening
}

// spawn starts "probity args..." as a child process and returns at once.
// The child is killed when t ends; its stderr is logged if t failed.
func spawn(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{
		t: t, name: name, args: args,
		stdout: &urlWriter{found: make(chan string, 1)},
		stderr: &syncBuffer{},
		done:   make(chan struct{}),
	}
	p.cmd = exec.Command(os.Args[0], args...)
	p.cmd.Env = childEnv()
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: start: %v", name, err)
	}
	go func() {
		p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			p.logOutput()
		}
	})
	return p
}

// logOutput logs the end of the child's stdout and stderr.
func (p *proc) logOutput() {
	const limit = 32 << 10
	tail := func(s string) string {
		if len(s) > limit {
			return "…" + s[len(s)-limit:]
		}
		return s
	}
	p.t.Logf("%s (pid %d, %s): stdout:\n%s\n%s: stderr:\n%s", p.name, p.cmd.Process.Pid, strings.Join(p.args, " "),
		tail(p.stdout.String()), p.name, tail(p.stderr.String()))
}

// exited reports whether the child has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitListening waits for the child to print its URL.
func (p *proc) waitListening() error {
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case u := <-p.stdout.found:
		p.URL = u
		return nil
	case <-p.done:
		return fmt.Errorf("%s exited (%v) before listening", p.name, p.state)
	case <-t.C:
		return fmt.Errorf("%s did not print its URL within %v", p.name, startTimeout)
	}
}

// waitReady waits for the child to listen and answer /readyz with 200.
func (p *proc) waitReady(c *http.Client) error {
	if p.URL == "" {
		if err := p.waitListening(); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(startTimeout)
	var last string
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("%s exited (%v) before it was ready", p.name, p.state)
		}
		resp, err := c.Get(p.URL + "readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s was not ready within %v: %s", p.name, startTimeout, last)
}

// mustStart spawns a server and waits until it is ready.
func mustStart(t *testing.T, c *http.Client, name string, args ...string) *proc {
	t.Helper()
	p := spawn(t, name, args...)
	if err := p.waitReady(c); err != nil {
		t.Fatal(err)
	}
	return p
}

// kill kills the child with SIGKILL and waits for it to exit.
func (p *proc) kill() {
	if !p.exited() {
		p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// stop asks the child to shut down (SIGTERM) and returns its exit status.
func (p *proc) stop() (int, error) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.state.ExitCode(), nil
	case <-t.C:
		p.kill()
		return -1, fmt.Errorf("%s did not stop within %v of SIGTERM", p.name, startTimeout)
	}
}

// checkStderr fails the test if the child reported a data race or a panic.
func (p *proc) checkStderr() {
	s := p.stderr.String()
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:"} {
		if strings.Contains(s, bad) {
			p.t.Errorf("%s: stderr reports %q", p.name, bad)
		}
	}
}

// logLines returns the child's JSON log lines with the given message.
func (p *proc) logLines(msg string) []map[string]any {
	var out []map[string]any
	for line := range strings.Lines(p.stderr.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// newClient returns an HTTP client for the tests.
func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: requestTimeout, Transport: tr}
}

// call sends a request with a bearer token and an optional JSON body and
// returns the status and the body. err is set when no response came.
func call(ctx context.Context, c *http.Client, method, url, token string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("read response: %w", err)
	}
	return resp.StatusCode, b, nil
}

// mustGet GETs url and decodes a 200 JSON answer into v.
func mustGet(t *testing.T, c *http.Client, url, token string, v any) {
	t.Helper()
	status, b, err := call(context.Background(), c, "GET", url, token, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, status, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, b)
		}
	}
}

// A write is one attempted settings change. Every write has a distinct
// (name, value), its key, so that the ledger entry it produced can be told
// from every other one.
type write struct {
	Name   string
	Value  json.RawMessage // as JSON: what the ledger entry must hold
	Via    string          // the server it was sent to
	Status int             // HTTP status; 0 when no response came
	Index  int64           // the acknowledged ledger index, or -1
	Err    string          // transport error or error body
}

// Key identifies the write's ledger entry.
func (w *write) Key() string { return w.Name + "=" + string(w.Value) }

// Acked reports whether the server acknowledged the write.
func (w *write) Acked() bool { return w.Status == http.StatusOK }

// Rejected reports whether the server answered that the write was not
// made (4xx): it must not be in the ledger.
func (w *write) Rejected() bool { return w.Status >= 400 && w.Status < 500 }

// A recorder hands out distinct writes and remembers their outcomes.
type recorder struct {
	next   atomic.Int64
	mu     sync.Mutex
	writes []*write
}

// The settings the tests change, and how many distinct values each of the
// integer ones has.
var writeNames = []string{settings.OrganizationName, settings.ResultRetentionDays, settings.ClosedCaseGraceDays}

const distinctValues = 3650

// newWrite returns the next distinct write, or nil when the distinct values
// are used up.
func (r *recorder) newWrite() *write {
	k := r.next.Add(1) - 1
	n := k / int64(len(writeNames))
	if n >= distinctValues {
		return nil
	}
	w := &write{Name: writeNames[k%int64(len(writeNames))], Index: -1}
	var v any
	switch w.Name {
	case settings.OrganizationName:
		v = fmt.Sprintf("e2e-%d", k)
	case settings.ResultRetentionDays:
		v = n + 1 // 1..3650
	case settings.ClosedCaseGraceDays:
		v = n // 0..3649
	}
	w.Value, _ = json.Marshal(v)
	return w
}

// put sends w to the server at base and records the outcome.
func (r *recorder) put(ctx context.Context, c *http.Client, base string, w *write) {
	w.Via = base
	status, b, err := call(ctx, c, "PUT", base+"api/v1/settings/"+w.Name, adminToken, map[string]json.RawMessage{"value": w.Value})
	w.Status = status
	switch {
	case err != nil:
		w.Err = err.Error()
	case status == http.StatusOK:
		var resp struct {
			LedgerIndex *int64 `json:"ledger_index"`
		}
		if err := json.Unmarshal(b, &resp); err != nil || resp.LedgerIndex == nil {
			// Acknowledged without an index: checkLedger reports it.
			w.Err = fmt.Sprintf("200 without a ledger_index: %s", b)
		} else {
			w.Index = *resp.LedgerIndex
		}
	default:
		w.Err = string(b)
	}
	r.mu.Lock()
	r.writes = append(r.writes, w)
	r.mu.Unlock()
}

// all returns every write so far.
func (r *recorder) all() []*write {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.writes)
}

// A decodedEntry is the part of a ledger entry the tests check.
type decodedEntry struct {
	Seq  int64  `json:"seq"`
	Type string `json:"type"`
	Data struct {
		Name     string          `json:"name"`
		Value    json.RawMessage `json:"value"`
		Previous json.RawMessage `json:"previous"`
	} `json:"data"`
}

func (e decodedEntry) key() string { return e.Data.Name + "=" + string(e.Data.Value) }

// readRows reads every stored ledger record of the database at dsn,
// through a read-only store.
func readRows(t *testing.T, dsn string) []ledger.Row {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	db, err := store.Open(ctx, store.Options{DSN: dsn, ReadOnly: true, Logger: storetest.Logger()})
	if err != nil {
		t.Fatalf("open %s read-only: %v", store.RedactDSN(dsn), err)
	}
	defer db.Close()
	l, err := store.OpenLedger(ctx, db, store.LedgerConfig{})
	if err != nil {
		t.Fatalf("open ledger read-only: %v", err)
	}
	var rows []ledger.Row
	for r, err := range l.AllRows(ctx) {
		if err != nil {
			t.Fatalf("read ledger rows: %v", err)
		}
		rows = append(rows, r)
	}
	return rows
}

// A ledgerSummary counts what checkLedger found.
type ledgerSummary struct {
	Entries        int // all records, genesis included
	Acked          int // acknowledged writes, each at its index
	UnackedPresent int // writes without an acknowledgement that are in the ledger
	UnackedAbsent  int
	Other          int // entries of other kinds (Probity's own, at start-up)
}

func (s ledgerSummary) String() string {
	return fmt.Sprintf("%d entries: genesis + %d acknowledged + %d unacknowledged but present + %d others (%d unacknowledged and absent)",
		s.Entries, s.Acked, s.UnackedPresent, s.Other, s.UnackedAbsent)
}

// checkLedger checks the stored records against the writes clients made:
//   - no gap, no duplicate: the records are indexes 0..n-1, each entry's seq
//     its index, entry 0 the genesis (entries other than settings changes,
//     which Probity makes itself, are counted);
//   - every acknowledged write is at its acknowledged index with its value,
//     and no two acknowledged writes share an index;
//   - every settings change is a write some client made, at most once, and
//     not one the server said it refused;
//   - per setting, each entry's "previous" is the value of the entry before
//     it (the change and its entry committed together, in ledger order);
//   - hence the count: entries = 1 + acknowledged + unacknowledged present
//   - others.
//
// It returns the values the ledger says each setting has now.
func checkLedger(t *testing.T, rows []ledger.Row, writes []*write) (ledgerSummary, map[string]json.RawMessage) {
	t.Helper()
	var sum ledgerSummary
	sum.Entries = len(rows)
	byKey := map[string]*write{}
	for _, w := range writes {
		if byKey[w.Key()] != nil {
			t.Errorf("test bug: write %s made twice", w.Key())
		}
		byKey[w.Key()] = w
	}
	entries := make([]decodedEntry, len(rows))
	seen := map[string]int64{}
	current := map[string]json.RawMessage{}
	for _, name := range writeNames {
		d, _ := settings.Lookup(name)
		current[name], _ = json.Marshal(d.Default)
	}
	d, _ := settings.Lookup(settings.CheckpointIntervalSeconds)
	current[settings.CheckpointIntervalSeconds], _ = json.Marshal(d.Default)
	bad := 0
	fail := func(format string, args ...any) {
		bad++
		if bad <= 20 {
			t.Errorf(format, args...)
		}
	}
	present := map[*write]bool{}
	for i, r := range rows {
		if r.Index != int64(i) {
			fail("ledger record %d is stored at index %d: a gap or a duplicate", i, r.Index)
			break
		}
		e := &entries[i]
		if err := json.Unmarshal(r.Entry, e); err != nil {
			fail("ledger entry %d does not decode: %v", i, err)
			continue
		}
		if e.Seq != int64(i) {
			fail("ledger entry %d has seq %d", i, e.Seq)
		}
		if i == 0 {
			if e.Type != "ledger.created" {
				fail("ledger entry 0 is %q, not the genesis entry", e.Type)
			}
			continue
		}
		if e.Type != "settings.changed" {
			sum.Other++
			continue
		}
		k := e.key()
		if prev, dup := seen[k]; dup {
			fail("write %s is in the ledger twice, at %d and %d", k, prev, i)
		}
		seen[k] = int64(i)
		if cur, ok := current[e.Data.Name]; !ok {
			fail("ledger entry %d changes unexpected setting %q", i, e.Data.Name)
		} else if !bytes.Equal(e.Data.Previous, cur) {
			fail("ledger entry %d (%s) records previous value %s, but the entry before it for %s set %s",
				i, k, e.Data.Previous, e.Data.Name, cur)
		}
		current[e.Data.Name] = e.Data.Value
		w := byKey[k]
		switch {
		case w == nil:
			fail("ledger entry %d (%s) is no write any client made", i, k)
		case w.Rejected():
			fail("ledger entry %d (%s) is a write the server refused with %d: %s", i, k, w.Status, w.Err)
		default:
			present[w] = true
		}
	}
	acked := map[int64]*write{}
	for _, w := range writes {
		switch {
		case w.Acked():
			sum.Acked++
			if other := acked[w.Index]; other != nil {
				fail("writes %s and %s were both acknowledged with ledger index %d", other.Key(), w.Key(), w.Index)
			}
			acked[w.Index] = w
			switch {
			case w.Index < 1 || w.Index >= int64(len(rows)):
				fail("write %s was acknowledged with index %d, but the ledger has %d entries (%s)", w.Key(), w.Index, len(rows), w.Err)
			case entries[w.Index].key() != w.Key():
				fail("write %s was acknowledged with index %d, which holds %s", w.Key(), w.Index, entries[w.Index].key())
			}
		case present[w]:
			sum.UnackedPresent++
		default:
			sum.UnackedAbsent++
		}
	}
	if want := 1 + sum.Acked + sum.UnackedPresent + sum.Other; len(rows) != want && bad == 0 {
		fail("the ledger has %d entries; want %d (genesis + %d acknowledged + %d unacknowledged but present + %d others)",
			len(rows), want, sum.Acked, sum.UnackedPresent, sum.Other)
	}
	if bad > 20 {
		t.Errorf("… and %d more ledger problems", bad-20)
	}
	return sum, current
}

// verifyLedger runs "probity ledger verify -json args..." in this process
// and returns its report; the verification must pass.
func verifyLedger(t *testing.T, args ...string) verifyReport {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(string) string { return "" }
	args = append([]string{"ledger", "verify", "-json"}, args...)
	code := app.Main(context.Background(), args, getenv, &out, &errb)
	var rep verifyReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil && code == 0 {
		t.Errorf("probity %s: %v in %s", strings.Join(args, " "), err, out.Bytes())
	}
	if code != 0 || !rep.OK {
		t.Fatalf("probity %s: exit status %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.Bytes(), errb.Bytes())
	}
	return rep
}

// verifyReport is the part of "probity ledger verify -json" the tests read.
type verifyReport struct {
	OK          bool  `json:"ok"`
	Entries     int64 `json:"entries"`
	Checkpoints int   `json:"checkpoints_verified"`
	LatestSize  int64 `json:"latest_checkpoint_size"`
	MACsChecked bool  `json:"macs_checked"`
}

// verifiersFor returns verifiers for the ledger key file at path, read
// with "probity ledger pubkey".
func verifiersFor(t *testing.T, keyFile string) note.Verifiers {
	t.Helper()
	var out, errb bytes.Buffer
	code := app.Main(context.Background(), []string{"ledger", "pubkey", "-ledger-key", keyFile, "-data", t.TempDir()},
		func(string) string { return "" }, &out, &errb)
	if code != 0 {
		t.Fatalf("probity ledger pubkey: exit status %d: %s", code, errb.Bytes())
	}
	v, _, err := ledger.ParseVerifiers(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("parse verifier key %q: %v", out.String(), err)
	}
	return v
}

// rootsAt returns the root hashes of the trees of the given sizes,
// recomputed from the records.
func rootsAt(t *testing.T, rows []ledger.Row, sizes []int64) map[int64]tlog.Hash {
	t.Helper()
	want := map[int64]bool{}
	for _, s := range sizes {
		want[s] = true
	}
	var tree ledger.Tree
	out := map[int64]tlog.Hash{}
	if want[0] {
		out[0] = tree.Root()
	}
	for _, r := range rows {
		if _, err := tree.Append(tlog.RecordHash(r.Entry)); err != nil {
			t.Fatal(err)
		}
		if want[tree.Size()] {
			out[tree.Size()] = tree.Root()
		}
	}
	return out
}

// checkCheckpoints checks signed checkpoint notes against the records: each
// verifies with the ledger's key, names the origin, and has the root of the
// first Size records. Checkpoints that each match one ledger never fork.
func checkCheckpoints(t *testing.T, rows []ledger.Row, vs note.Verifiers, origin string, notes map[string][]byte) {
	t.Helper()
	type opened struct {
		from string
		cp   ledger.Checkpoint
	}
	var cps []opened
	var sizes []int64
	for from, msg := range notes {
		cp, _, err := ledger.OpenCheckpoint(msg, vs)
		if err != nil {
			t.Errorf("checkpoint %s does not verify: %v\n%s", from, err, msg)
			continue
		}
		if cp.Origin != origin {
			t.Errorf("checkpoint %s names origin %q, not %q", from, cp.Origin, origin)
		}
		cps = append(cps, opened{from, cp})
		sizes = append(sizes, cp.Size)
	}
	roots := rootsAt(t, rows, sizes)
	for _, c := range cps {
		switch root, ok := roots[c.cp.Size]; {
		case !ok:
			t.Errorf("checkpoint %s covers %d entries; the ledger has %d", c.from, c.cp.Size, len(rows))
		case root != c.cp.Hash:
			t.Errorf("checkpoint %s of size %d has a root that is not the root of the ledger's first %d entries: a fork", c.from, c.cp.Size, c.cp.Size)
		}
	}
}

// checkEntryAPI reads acknowledged writes back through GET
// /api/v1/ledger/entries/{index}: the entry must be the write, its record
// hash the stored record's, and its inclusion proof must verify against a
// checkpoint signed by the ledger's key.
func checkEntryAPI(t *testing.T, c *http.Client, base string, vs note.Verifiers, rows []ledger.Row, ws []*write) {
	t.Helper()
	for _, w := range ws {
		var resp struct {
			Index      int64                 `json:"index"`
			Entry      decodedEntry          `json:"entry"`
			RecordHash string                `json:"record_hash"`
			TreeSize   int64                 `json:"tree_size"`
			RootHash   string                `json:"root_hash"`
			Proof      []string              `json:"inclusion_proof"`
			Checkpoint struct{ Note string } `json:"checkpoint"`
		}
		mustGet(t, c, fmt.Sprintf("%sapi/v1/ledger/entries/%d", base, w.Index), auditorToken, &resp)
		if resp.Index != w.Index || resp.Entry.Seq != w.Index || resp.Entry.key() != w.Key() {
			t.Errorf("GET entries/%d: index %d seq %d %s; want write %s", w.Index, resp.Index, resp.Entry.Seq, resp.Entry.key(), w.Key())
			continue
		}
		leaf, err1 := decodeHash(resp.RecordHash)
		root, err2 := decodeHash(resp.RootHash)
		var proof tlog.RecordProof
		for _, s := range resp.Proof {
			h, err := decodeHash(s)
			err1 = cmpErr(err1, err)
			proof = append(proof, h)
		}
		if err := cmpErr(err1, err2); err != nil {
			t.Errorf("GET entries/%d: %v", w.Index, err)
			continue
		}
		if w.Index < int64(len(rows)) && leaf != tlog.RecordHash(rows[w.Index].Entry) {
			t.Errorf("GET entries/%d: the record hash is not the stored record's", w.Index)
		}
		if err := tlog.CheckRecord(proof, resp.TreeSize, root, w.Index, leaf); err != nil {
			t.Errorf("GET entries/%d: the inclusion proof does not verify: %v", w.Index, err)
		}
		cp, _, err := ledger.OpenCheckpoint([]byte(resp.Checkpoint.Note), vs)
		if err != nil {
			t.Errorf("GET entries/%d: the checkpoint does not verify: %v", w.Index, err)
		} else if cp.Size != resp.TreeSize || cp.Hash != root {
			t.Errorf("GET entries/%d: the proof is for size %d, the checkpoint of size %d", w.Index, resp.TreeSize, cp.Size)
		}
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func decodeHash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		return h, fmt.Errorf("bad hash %q", s)
	}
	copy(h[:], b)
	return h, nil
}

// checkSettingsState checks that the settings the server reports are the
// values the ledger says they were last set to.
func checkSettingsState(t *testing.T, c *http.Client, base string, want map[string]json.RawMessage) {
	t.Helper()
	var resp struct {
		Settings []struct {
			Name  string          `json:"name"`
			Value json.RawMessage `json:"value"`
		} `json:"settings"`
	}
	mustGet(t, c, base+"api/v1/settings", adminToken, &resp)
	got := map[string]json.RawMessage{}
	for _, s := range resp.Settings {
		var buf bytes.Buffer
		json.Compact(&buf, s.Value)
		got[s.Name] = buf.Bytes()
	}
	for name, v := range want {
		if !bytes.Equal(got[name], v) {
			t.Errorf("setting %s is %s, but its last ledger entry set it to %s", name, got[name], v)
		}
	}
}

// publishCheckpoint asks the server for a checkpoint now and returns its
// size and note; err is set when no response came.
func publishCheckpoint(ctx context.Context, c *http.Client, base string) (size int64, msg []byte, status int, err error) {
	status, b, err := call(ctx, c, "POST", base+"api/v1/ledger/checkpoint", auditorToken, nil)
	if err != nil || status != http.StatusOK {
		return 0, nil, status, err
	}
	var cp struct {
		Size int64  `json:"size"`
		Note string `json:"note"`
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		return 0, nil, status, err
	}
	return cp.Size, []byte(cp.Note), status, nil
}
