package ledger

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s changed: the ledger's formats are frozen once released\ngot:  %q\nwant: %q", name, got, want)
	}
}

var testTime = time.Date(2026, 11, 23, 9, 30, 15, 123456789, time.UTC)

func testEvent() Event {
	return Event{
		Type:      "settings.changed",
		Actor:     Actor{Kind: ActorUser, ID: "E1234567"},
		Component: "CBP",
		Subject:   "setting/result_retention_days",
		Data: map[string]any{
			"value": int64(30), "previous": 90, "name": "result_retention_days",
			"note": "é\u2028<tag>&\"quoted\"", "list": []any{true, nil, 1.5}, "nested": map[string]any{"z": 1, "a": "b"},
		},
		Digest: PayloadDigest([]byte("sensitive payload")),
	}
}

func TestEncode_Golden(t *testing.T) {
	b, err := Encode(testEvent(), 42, testTime)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "entry-v1.golden", b)
	// RFC 8785: members sorted, no insignificant white space, HTML not escaped.
	if !bytes.HasPrefix(b, []byte(`{"actor":{"id":"E1234567","kind":"user"},"component":"CBP","data":{`)) ||
		!bytes.Contains(b, []byte(`<tag>&`)) || bytes.Contains(b, []byte(" ")) && !bytes.Contains(b, []byte(`"note"`)) {
		t.Fatalf("not canonical: %s", b)
	}
	if !bytes.Contains(b, []byte(`"time":"2026-11-23T09:30:15.123456Z"`)) {
		t.Fatalf("time not at microsecond precision in UTC: %s", b)
	}
}

func TestEncode_RoundTrip(t *testing.T) {
	b, err := Encode(testEvent(), 7, testTime)
	if err != nil {
		t.Fatal(err)
	}
	en, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if en.Seq != 7 || en.Type != "settings.changed" || en.Actor.ID != "E1234567" || !en.Timestamp().Equal(testTime.Truncate(time.Microsecond)) {
		t.Fatalf("decoded %+v", en)
	}
	// Re-encoding a decoded entry under its own number gives the same bytes:
	// the PostgreSQL sequencer relies on it.
	again, err := Encode(en.Event(), 7, en.Timestamp())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, b) {
		t.Fatalf("re-encoding differs:\n%s\n%s", b, again)
	}
}

func TestEvent_Validate(t *testing.T) {
	ok := testEvent()
	for _, tc := range []struct {
		name   string
		mutate func(*Event)
		want   string
	}{
		{"ErrType", func(e *Event) { e.Type = "Settings Changed" }, "lowercase dotted"},
		{"ErrTypeOneWord", func(e *Event) { e.Type = "settings" }, "lowercase dotted"},
		{"ErrActorKind", func(e *Event) { e.Actor.Kind = "robot" }, "actor kind"},
		{"ErrActorID", func(e *Event) { e.Actor.ID = "" }, "actor id is empty"},
		{"ErrUTF8", func(e *Event) { e.Subject = "bad\xff" }, "UTF-8"},
		{"ErrLong", func(e *Event) { e.Component = strings.Repeat("c", 513) }, "longer than 512"},
		{"ErrDigest", func(e *Event) { e.Digest = "md5:abc" }, "digest"},
		{"ErrBigInt", func(e *Event) { e.Data = map[string]any{"n": int64(1) << 60} }, "too large to be exact"},
		{"ErrNaN", func(e *Event) { e.Data = map[string]any{"f": nan()} }, "finite"},
		{"ErrType2", func(e *Event) { e.Data = map[string]any{"t": time.Now()} }, "unsupported type"},
		{"ErrDeep", func(e *Event) { e.Data = deep(20) }, "deeper than 16"},
		{"ErrDataUTF8", func(e *Event) { e.Data = map[string]any{"s": []any{"\xfe"}} }, "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := ok
			tc.mutate(&e)
			_, err := Encode(e, 0, testTime)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Encode = %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

func nan() float64 { z := 0.0; return z / z }

func deep(n int) map[string]any {
	m := map[string]any{}
	cur := m
	for range n {
		next := map[string]any{}
		cur["x"] = next
		cur = next
	}
	return m
}

func TestEncode_Size(t *testing.T) {
	e := Event{Type: "test.big", Actor: Actor{Kind: ActorSystem, ID: "t"}}
	base, _ := Encode(e, 0, testTime)
	room := MaxEntrySize - len(base) - len(`,"data":{"s":""}`)
	t.Run("OK", func(t *testing.T) {
		e.Data = map[string]any{"s": strings.Repeat("x", room)}
		b, err := Encode(e, 0, testTime)
		if err != nil || len(b) != MaxEntrySize {
			t.Fatalf("len %d, %v", len(b), err)
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		e.Data = map[string]any{"s": strings.Repeat("x", room+1)}
		if _, err := Encode(e, 0, testTime); err == nil {
			t.Fatal("an entry over 64 KiB was encoded")
		}
	})
	t.Run("ErrNoRoomForSequence", func(t *testing.T) {
		// Fits with sequence 0, but not with a 19-digit one.
		e.Data = map[string]any{"s": strings.Repeat("x", room-5)}
		if _, err := Encode(e, 0, testTime); err != nil {
			t.Fatal(err)
		}
		if err := CheckSize(e, testTime); err == nil {
			t.Fatal("CheckSize accepted an entry that may not fit once numbered")
		}
	})
}

func FuzzDecode(f *testing.F) {
	b, _ := Encode(testEvent(), 3, testTime)
	f.Add(b)
	f.Add([]byte(`{"v":1,"seq":0,"time":"2026-01-01T00:00:00.000000Z","type":"a.b","actor":{"kind":"system","id":"x"}}`))
	f.Add([]byte(`{"v":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		en, err := Decode(b)
		if err != nil {
			return
		}
		// A decodable entry must re-encode, unless its event is invalid.
		if _, err := Encode(en.Event(), en.Seq, en.Timestamp()); err != nil && !strings.Contains(err.Error(), "invalid ledger event") {
			t.Fatalf("re-encode: %v", err)
		}
	})
}

// reference computes every stored hash of entries with tlog alone.
type reference []tlog.Hash

func (m reference) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m[x]
	}
	return out, nil
}

func leaf(i int) []byte { return []byte{byte(i), byte(i >> 8), 'e'} }

func TestTree_Append(t *testing.T) {
	var tree Tree
	var ref reference
	for i := range 1100 {
		want, err := tlog.StoredHashes(int64(i), leaf(i), ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tree.Append(tlog.RecordHash(leaf(i)))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || len(got) != StoredHashCountFor(int64(i)) {
			t.Fatalf("record %d: %d hashes, want %d", i, len(got), len(want))
		}
		for k := range got {
			if got[k] != want[k] {
				t.Fatalf("record %d hash %d differs", i, k)
			}
		}
		ref = append(ref, want...)
		root, _ := tlog.TreeHash(int64(i+1), ref)
		if tree.Root() != root || tree.Size() != int64(i+1) {
			t.Fatalf("size %d: root differs", i+1)
		}
	}
	t.Run("LoadTree", func(t *testing.T) {
		for _, n := range []int64{0, 1, 2, 3, 255, 256, 257, 1023, 1024, 1099, 1100} {
			lt, err := LoadTree(n, ref)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := tlog.TreeHash(n, ref)
			if lt.Root() != want {
				t.Fatalf("LoadTree(%d) root differs", n)
			}
			// A loaded tree appends exactly like the original.
			if n < 1100 {
				got, _ := lt.Append(tlog.RecordHash(leaf(int(n))))
				want, _ := tlog.StoredHashes(n, leaf(int(n)), ref)
				if got[len(got)-1] != want[len(want)-1] {
					t.Fatalf("append after LoadTree(%d) differs", n)
				}
			}
		}
	})
	t.Run("StoredHashLocation", func(t *testing.T) {
		// Each stored hash is found in the record that stored it, at the
		// offset of its level.
		start := int64(0)
		for n := int64(0); n < 1100; n++ {
			count := StoredHashCountFor(n)
			for off := range count {
				rec, o := StoredHashLocation(start + int64(off))
				if rec != n || o != off {
					t.Fatalf("stored hash %d: location (%d,%d), want (%d,%d)", start+int64(off), rec, o, n, off)
				}
			}
			start += int64(count)
		}
	})
	t.Run("ErrReadOffEdge", func(t *testing.T) {
		var tr Tree
		tr.Append(tlog.RecordHash(leaf(0)))
		if _, err := tr.ReadHashes([]int64{tlog.StoredHashIndex(0, 5)}); err == nil {
			t.Fatal("ReadHashes served a hash that is not on the right edge")
		}
	})
}
