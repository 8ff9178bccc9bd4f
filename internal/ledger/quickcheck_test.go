package ledger

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

func TestQuickCheck(t *testing.T) {
	entry, err := Encode(testEvent(), 42, testTime)
	if err != nil {
		t.Fatal(err)
	}
	minimal := []byte(`{"actor":{"id":"x","kind":"system"},"seq":0,"time":"2026-01-01T00:00:00.000000Z","type":"a.b","v":1}`)
	for _, tc := range []struct {
		name  string
		entry []byte
		seq   int64
		quick bool // recognized without Decode
	}{
		{"OK", entry, 42, true},
		{"OKMinimal", minimal, 0, true},
		{"OKMembersInAnyOrder", []byte(`{"v":1,"type":"a.b","time":"2026-01-01T00:00:00.000000Z","seq":7,"actor":{"kind":"system","id":"x"}}`), 7, true},
		{"OKEscapes", []byte(`{"actor":{"id":"\u00e9\n\"","kind":"system"},"data":{"k\\":[1,-2.5e3,true,false,null,{"a":[]}]},"seq":1,"time":"2026-01-01T00:00:00.000000Z","type":"a.b","v":1}`), 1, true},
		{"DeferWrongSeq", entry, 41, false},
		{"DeferWhiteSpace", bytes.Replace(minimal, []byte(`"seq":0`), []byte(`"seq": 0`), 1), 0, false},
		{"DeferUnknownMember", bytes.Replace(minimal, []byte(`"v":1`), []byte(`"v":1,"w":2`), 1), 0, false},
		{"DeferUpperCaseName", bytes.Replace(minimal, []byte(`"v":1`), []byte(`"V":1`), 1), 0, false},
		{"DeferDuplicate", bytes.Replace(minimal, []byte(`"v":1`), []byte(`"v":1,"v":1`), 1), 0, false},
		{"DeferVersion", bytes.Replace(minimal, []byte(`"v":1`), []byte(`"v":2`), 1), 0, false},
		{"DeferVersionFraction", bytes.Replace(minimal, []byte(`"v":1`), []byte(`"v":1.0`), 1), 0, false},
		{"DeferNoVersion", bytes.Replace(minimal, []byte(`,"v":1`), nil, 1), 0, false},
		{"DeferNoTime", bytes.Replace(minimal, []byte(`"time":"2026-01-01T00:00:00.000000Z",`), nil, 1), 0, false},
		{"DeferBadTime", bytes.Replace(minimal, []byte(`00.000000Z`), []byte(`00Z`), 1), 0, false},
		{"DeferSeqLeadingZero", bytes.Replace(minimal, []byte(`"seq":0`), []byte(`"seq":00`), 1), 0, false},
		{"DeferSeqFraction", bytes.Replace(minimal, []byte(`"seq":0`), []byte(`"seq":0.5`), 1), 0, false},
		{"DeferDataArray", bytes.Replace(minimal, []byte(`"seq"`), []byte(`"data":[1],"seq"`), 1), 0, false},
		{"DeferDataNull", bytes.Replace(minimal, []byte(`"seq"`), []byte(`"data":null,"seq"`), 1), 0, false},
		{"DeferActorExtra", bytes.Replace(minimal, []byte(`"kind":"system"`), []byte(`"kind":"system","x":"y"`), 1), 0, false},
		{"DeferControlCharacter", bytes.Replace(minimal, []byte(`"id":"x"`), []byte("\"id\":\"\x01\""), 1), 0, false},
		{"DeferTrailing", append(bytes.Clone(minimal), ' '), 0, false},
		{"DeferTruncated", minimal[:len(minimal)-1], 0, false},
		{"DeferBadNumber", bytes.Replace(minimal, []byte(`"seq"`), []byte(`"data":{"n":01},"seq"`), 1), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := quickCheck(tc.entry, tc.seq); got != tc.quick {
				t.Fatalf("quickCheck = %v, want %v for %s", got, tc.quick, tc.entry)
			}
			if tc.quick {
				en, err := Decode(tc.entry)
				if err != nil || en.Seq != tc.seq {
					t.Fatalf("quickCheck accepted what Decode does not: %+v, %v", en, err)
				}
			}
		})
	}
}

// FuzzQuickCheck checks that quickCheck only accepts what Decode accepts,
// with the same sequence number.
func FuzzQuickCheck(f *testing.F) {
	b, _ := Encode(testEvent(), 3, testTime)
	f.Add(b, int64(3))
	f.Add([]byte(`{"actor":{"id":"\u00e9\n\"","kind":"system"},"data":{"k\\":[1,-2.5e3,true,false,null,{"a":[]}]},"seq":1,"time":"2026-01-01T00:00:00.000000Z","type":"a.b","v":1}`), int64(1))
	f.Add([]byte(`{"v":1,"seq":0,"time":"2026-01-01T00:00:00.000000Z"}`), int64(0))
	f.Fuzz(func(t *testing.T, b []byte, seq int64) {
		if !quickCheck(b, seq) {
			return
		}
		en, err := Decode(b)
		if err != nil {
			t.Fatalf("quickCheck accepted %q, which Decode refuses: %v", b, err)
		}
		if en.Seq != seq {
			t.Fatalf("quickCheck accepted %q as number %d; Decode says %d", b, seq, en.Seq)
		}
	})
}

func TestMACChecker(t *testing.T) {
	k, err := GenerateKeys("probity.test/ledger")
	if err != nil {
		t.Fatal(err)
	}
	c := k.MAC.checker()
	for i := range int64(100) {
		h := tlog.RecordHash([]byte{byte(i)})
		mac := k.MAC.Sum(i, h)
		if !c.check(i, h, mac) {
			t.Fatalf("record %d: the MAC does not check", i)
		}
		if c.check(i+1, h, mac) || c.check(i, tlog.RecordHash([]byte{byte(i), 1}), mac) || c.check(i, h, mac[:31]) {
			t.Fatalf("record %d: a wrong MAC checks", i)
		}
	}
}

func BenchmarkCheckEntry(b *testing.B) {
	e, err := Encode(testEvent(), 123456, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("quick", func(b *testing.B) {
		for b.Loop() {
			if !quickCheck(e, 123456) {
				b.Fatal("not recognized")
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if bad := checkEntry(Row{Index: 123456, Entry: e}); bad != "" {
				b.Fatal(bad)
			}
		}
	})
}
