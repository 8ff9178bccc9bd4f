package ledger

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// memLog is a ledger kept in memory exactly as the store keeps it.
type memLog struct {
	keys Keys
	tree Tree
	rows []Row
	cps  [][]byte
}

func newMemLog(t testing.TB, n int, checkpointsAt ...int) *memLog {
	t.Helper()
	k, err := GenerateKeys("probity.test/ledger")
	if err != nil {
		t.Fatal(err)
	}
	m := &memLog{keys: k}
	for i := range n {
		m.append(t, i)
		if slices.Contains(checkpointsAt, i+1) {
			m.checkpoint(t)
		}
	}
	return m
}

func (m *memLog) append(t testing.TB, i int) {
	e, err := Encode(Event{Type: "test.appended", Actor: Actor{Kind: ActorSystem, ID: "t"}, Data: map[string]any{"i": i}}, int64(len(m.rows)), testTime)
	if err != nil {
		t.Fatal(err)
	}
	h := tlog.RecordHash(e)
	idx := m.tree.Size()
	hs, err := m.tree.Append(h)
	if err != nil {
		t.Fatal(err)
	}
	m.rows = append(m.rows, Row{Index: idx, Entry: e, Hashes: hashBytes(hs), MAC: m.keys.MAC.Sum(idx, h)})
}

func (m *memLog) checkpoint(t testing.TB) []byte {
	msg, err := Sign(Checkpoint{Origin: "probity.test/ledger", Size: m.tree.Size(), Hash: m.tree.Root()}, m.keys.Signing.Signer)
	if err != nil {
		t.Fatal(err)
	}
	m.cps = append(m.cps, msg)
	return msg
}

func (m *memLog) seq() iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		for _, r := range m.rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}

func (m *memLog) opts(mac bool) VerifyOptions {
	o := VerifyOptions{Verifiers: note.VerifierList(m.keys.Signing.Verifier), Origin: "probity.test/ledger", Checkpoints: m.cps}
	if mac {
		o.MAC = m.keys.MAC
	}
	return o
}

func TestVerifyRows(t *testing.T) {
	ctx := context.Background()
	const n = 700
	t.Run("OK", func(t *testing.T) {
		m := newMemLog(t, n, 100, 300, 690)
		var seen int64
		o := m.opts(true)
		o.Progress = func(d int64) { seen = d }
		rep, err := VerifyRows(ctx, m.seq(), o)
		if err != nil || !rep.OK() {
			t.Fatalf("%v %v", err, rep.Problem)
		}
		if rep.Entries != n || rep.Checkpoints != 3 || rep.Latest.Size != 690 || rep.Unsigned != 10 || rep.Root != m.tree.Root() || seen != n {
			t.Fatalf("report %+v progress %d", rep, seen)
		}
	})
	// Each kind of tampering is caught at its first bad index.
	for _, tc := range []struct {
		name   string
		mac    bool
		tamper func(m *memLog)
		index  int64
		reason string
	}{
		{"EntryChanged", false, func(m *memLog) {
			m.rows[10].Entry = bytes.Replace(m.rows[10].Entry, []byte(`"i":10`), []byte(`"i":99`), 1)
		}, 10, "record hash"},
		{"HashChanged", false, func(m *memLog) { m.rows[11].Hashes[0] ^= 1 }, 11, "record hash"},
		{"SubtreeHashChanged", false, func(m *memLog) { m.rows[15].Hashes[32*3] ^= 1 }, 15, "subtree hash"},
		{"RowDeleted", false, func(m *memLog) { m.rows = slices.Delete(m.rows, 12, 13) }, 12, "missing"},
		{"RowsSwapped", false, func(m *memLog) {
			m.rows[20].Entry, m.rows[21].Entry = m.rows[21].Entry, m.rows[20].Entry
			m.rows[20].Hashes, m.rows[21].Hashes = m.rows[21].Hashes, m.rows[20].Hashes
		}, 20, "number 21"},
		{"RowInsertedRenumbered", false, func(m *memLog) {
			forged := m.rows[30]
			m.rows = slices.Insert(m.rows, 30, forged)
			for i := 31; i < len(m.rows); i++ {
				m.rows[i].Index++
			}
		}, 31, "number 30"},
		{"TailInsertedWithValidHashes", true, func(m *memLog) {
			var forger memLog
			forger.tree, forger.keys = m.tree, m.keys
			forger.keys.MAC = []byte("not the writer's key, 32 bytes!!")
			forger.rows = m.rows
			forger.append(t, 999)
			m.rows = forger.rows
		}, n, "MAC"},
		{"RewrittenWithRecomputedHashes", true, func(m *memLog) { rewrite(t, m, 150) }, 150, "MAC"},
		{"RewrittenWithRecomputedHashesNoMAC", false, func(m *memLog) { rewrite(t, m, 150) }, 100, "changed after it was signed"},
	} {
		t.Run("Err"+tc.name, func(t *testing.T) {
			m := newMemLog(t, n, 100, 300)
			tc.tamper(m)
			rep, err := VerifyRows(ctx, m.seq(), m.opts(tc.mac))
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || rep.Problem.Index != tc.index || !strings.Contains(rep.Problem.Reason, tc.reason) {
				t.Fatalf("problem %v; want index %d (%s)", rep.Problem, tc.index, tc.reason)
			}
		})
	}
	t.Run("ErrSavedCheckpointFromFork", func(t *testing.T) {
		m := newMemLog(t, n, 300)
		o := m.opts(false)
		o.Saved, _ = Sign(Checkpoint{Origin: "probity.test/ledger", Size: 200, Hash: tlog.RecordHash([]byte("a fork"))}, m.keys.Signing.Signer)
		rep, _ := VerifyRows(ctx, m.seq(), o)
		if rep.OK() || !strings.Contains(rep.Problem.Reason, "saved checkpoint of size 200") {
			t.Fatalf("problem %v", rep.Problem)
		}
	})
	t.Run("ErrSavedCheckpointBeyondLog", func(t *testing.T) {
		m := newMemLog(t, 50)
		o := m.opts(false)
		longer := newMemLog(t, 60)
		o.Saved, _ = Sign(Checkpoint{Origin: "probity.test/ledger", Size: 60, Hash: longer.tree.Root()}, m.keys.Signing.Signer)
		rep, _ := VerifyRows(ctx, m.seq(), o)
		if rep.OK() || rep.Problem.Index != 50 {
			t.Fatalf("problem %v", rep.Problem)
		}
	})
	t.Run("ErrUntrustedSignature", func(t *testing.T) {
		m := newMemLog(t, 10, 10)
		other, _ := GenerateKeys("probity.test/ledger")
		o := m.opts(false)
		o.Verifiers = note.VerifierList(other.Signing.Verifier)
		rep, _ := VerifyRows(ctx, m.seq(), o)
		if rep.OK() || rep.Problem.Index != -1 || !strings.Contains(rep.Problem.Reason, "signature") {
			t.Fatalf("problem %v", rep.Problem)
		}
	})
	t.Run("ErrRead", func(t *testing.T) {
		bad := func(yield func(Row, error) bool) { yield(Row{}, fmt.Errorf("disk on fire")) }
		if _, err := VerifyRows(ctx, bad, newMemLog(t, 1).opts(false)); err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Fatalf("err = %v", err)
		}
	})
}

// rewrite changes entry i and recomputes every stored hash from there on,
// as someone who knows RFC 6962 but not the MAC key would.
func rewrite(t *testing.T, m *memLog, i int) {
	var tree Tree
	for k := range m.rows {
		if k == i {
			m.rows[k].Entry = bytes.Replace(m.rows[k].Entry, []byte(`"i":150`), []byte(`"i":151`), 1)
		}
		hs, err := tree.Append(tlog.RecordHash(m.rows[k].Entry))
		if err != nil {
			t.Fatal(err)
		}
		m.rows[k].Hashes = hashBytes(hs)
	}
}

// tileServer serves a memLog in the tlog-tiles layout.
type tileServer struct {
	m          *memLog
	authorized bool
	tamper     func(p TilePath, b []byte) []byte
	hashes     reference
}

func (s *tileServer) ref() reference {
	if s.hashes == nil {
		for _, r := range s.m.rows {
			for o := 0; o < len(r.Hashes); o += 32 {
				s.hashes = append(s.hashes, tlog.Hash(r.Hashes[o:o+32]))
			}
		}
	}
	return s.hashes
}

func (s *tileServer) ReadCheckpoint(context.Context) ([]byte, error) {
	return s.m.cps[len(s.m.cps)-1], nil
}

func (s *tileServer) ReadTile(_ context.Context, level int, index int64, width int) ([]byte, error) {
	p := TilePath{Level: level, Index: index, Width: width}
	b, err := tlog.ReadTileData(p.Tile(), s.ref())
	if err == nil && s.tamper != nil {
		b = s.tamper(p, b)
	}
	return b, err
}

func (s *tileServer) ReadEntryBundle(_ context.Context, index int64, width int) ([]byte, error) {
	if !s.authorized {
		return nil, ErrUnauthorized
	}
	var es [][]byte
	for _, r := range s.m.rows[index*256 : index*256+int64(width)] {
		es = append(es, r.Entry)
	}
	b, err := EncodeBundle(es)
	if s.tamper != nil {
		b = s.tamper(TilePath{Entries: true, Index: index, Width: width}, b)
	}
	return b, err
}

func TestVerifyTiles(t *testing.T) {
	ctx := context.Background()
	m := newMemLog(t, 70000, 70000) // level-0, level-1 and a level-2 partial tile
	t.Run("OK", func(t *testing.T) {
		rep, err := VerifyTiles(ctx, &tileServer{m: m, authorized: true}, m.opts(false))
		if err != nil || !rep.OK() || !rep.EntriesChecked || rep.Entries != 70000 || rep.Root != m.tree.Root() {
			t.Fatalf("%v %+v", err, rep)
		}
	})
	t.Run("OKWithoutEntries", func(t *testing.T) {
		rep, err := VerifyTiles(ctx, &tileServer{m: m}, m.opts(false))
		if err != nil || !rep.OK() || rep.EntriesChecked {
			t.Fatalf("%v %+v", err, rep)
		}
	})
	flip := func(want TilePath, at int) func(TilePath, []byte) []byte {
		return func(p TilePath, b []byte) []byte {
			if p == want {
				b = bytes.Clone(b)
				b[at] ^= 1
			}
			return b
		}
	}
	for _, tc := range []struct {
		name   string
		tamper func(TilePath, []byte) []byte
		index  int64
	}{
		{"ErrLevel0Tile", flip(TilePath{Level: 0, Index: 3, Width: 256}, 32*5), 3*256 + 5},
		{"ErrLevel1Tile", flip(TilePath{Level: 1, Index: 0, Width: 256}, 32*7), 7 * 256},
		{"ErrPartialLevel2Tile", flip(TilePath{Level: 2, Index: 0, Width: 1}, 0), 0},
		{"ErrEntryBundle", flip(TilePath{Entries: true, Index: 2, Width: 256}, 40), 512},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := VerifyTiles(ctx, &tileServer{m: m, authorized: true, tamper: tc.tamper}, m.opts(false))
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || rep.Problem.Index != tc.index {
				t.Fatalf("problem %v; want index %d", rep.Problem, tc.index)
			}
		})
	}
}
