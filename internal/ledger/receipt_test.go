package ledger

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// receiptFixture builds a small log in memory and returns a receipt for
// entry 3 of 7, with the verifiers of its key.
func receiptFixture(t *testing.T) (Receipt, note.Verifiers, [][]byte) {
	t.Helper()
	const origin = "probity.test/receipt"
	skey, vkey, err := GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := ParseVerifiers(vkey)
	if err != nil {
		t.Fatal(err)
	}
	var entries [][]byte
	var hashes []tlog.Hash
	for i := range 7 {
		b, err := Encode(Event{Type: "test.event", Actor: Actor{Kind: ActorSystem, ID: "t"}, Data: map[string]any{"i": i}}, int64(i), time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, b)
		hs, err := tlog.StoredHashes(int64(i), b, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for j, x := range idx {
				out[j] = hashes[x]
			}
			return out, nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, hs...)
	}
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for j, x := range idx {
			out[j] = hashes[x]
		}
		return out, nil
	})
	root, err := tlog.TreeHash(7, hr)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := Sign(Checkpoint{Origin: origin, Size: 7, Hash: root}, k.Signer)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := tlog.ProveRecord(7, 3, hr)
	if err != nil {
		t.Fatal(err)
	}
	return Receipt{Index: 3, Entry: entries[3], Checkpoint: string(msg), Proof: proof}, v, entries
}

func TestReceipt_Verify(t *testing.T) {
	r, v, _ := receiptFixture(t)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseReceipt(b)
	if err != nil {
		t.Fatal(err)
	}
	en, cp, err := back.Verify(v)
	if err != nil {
		t.Fatalf("a good receipt does not verify: %v", err)
	}
	if en.Seq != 3 || cp.Size != 7 {
		t.Fatalf("entry %d in a tree of %d", en.Seq, cp.Size)
	}

	_, otherV, _ := receiptFixture(t)
	for _, tc := range []struct {
		name     string
		change   func(r *Receipt, entries [][]byte)
		otherKey bool
		want     string
	}{
		{"OtherKey", func(*Receipt, [][]byte) {}, true, "signature"},
		{"OtherEntry", func(r *Receipt, e [][]byte) { r.Entry = e[4] }, false, "sequence number 4"},
		{"OtherIndex", func(r *Receipt, e [][]byte) { r.Index, r.Entry = 4, e[4] }, false, "does not verify"},
		{"ChangedEntry", func(r *Receipt, _ [][]byte) { r.Entry = []byte(strings.Replace(string(r.Entry), `"i":3`, `"i":9`, 1)) }, false, "does not verify"},
		{"ChangedProof", func(r *Receipt, _ [][]byte) { r.Proof[0][0] ^= 1 }, false, "does not verify"},
		{"ShortProof", func(r *Receipt, _ [][]byte) { r.Proof = r.Proof[1:] }, false, "does not verify"},
		{"BeyondTree", func(r *Receipt, _ [][]byte) { r.Index = 7 }, false, "outside"},
		{"ChangedCheckpoint", func(r *Receipt, _ [][]byte) { r.Checkpoint = strings.Replace(r.Checkpoint, "\n7\n", "\n8\n", 1) }, false, "signature"},
		{"NotAnEntry", func(r *Receipt, _ [][]byte) { r.Entry = []byte(`{"v":1}`) }, false, "entry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, v, entries := receiptFixture(t)
			if tc.otherKey {
				v = otherV
			}
			tc.change(&r, entries)
			_, _, err := r.Verify(v)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestParseReceipt_Errors(t *testing.T) {
	r, _, _ := receiptFixture(t)
	good, _ := json.Marshal(r)
	for _, tc := range []struct{ name, in, want string }{
		{"Empty", ``, "not a ledger receipt"},
		{"Array", `[]`, "not a ledger receipt"},
		{"Unknown", `{"index":1,"extra":2}`, "unknown field"},
		{"Trailing", string(good) + `{}`, "data after"},
		{"Negative", `{"index":-1,"entry":"e30=","checkpoint":"x"}`, "negative"},
		{"NoEntry", `{"index":1,"checkpoint":"x"}`, "no entry"},
		{"NoCheckpoint", `{"index":1,"entry":"e30="}`, "no checkpoint"},
		{"BadHash", `{"index":1,"entry":"e30=","checkpoint":"x","proof":["nope"]}`, "not a ledger receipt"},
		{"Huge", `{"index":1,"entry":"` + strings.Repeat("A", MaxReceiptSize) + `"}`, "at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseReceipt([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzParseReceipt(f *testing.F) {
	f.Add([]byte(`{"index":1,"entry":"e30=","checkpoint":"x","proof":[]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReceipt(b)
		if err != nil {
			return
		}
		// Whatever parses must be checkable without panicking, and a
		// random receipt must not verify against a real key.
		if _, _, err := r.Verify(nil); err == nil {
			t.Fatal("a receipt verified without any trusted key")
		}
	})
}
