package ledger

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The direct canonical writer must produce exactly what the reference path
// (json.Marshal, then jcs.Transform) produces, or defer to it.

// tricky are characters that canonicalization treats specially: escapes,
// control characters, what json.Marshal escapes but RFC 8785 does not, and
// characters whose UTF-16 order differs from their UTF-8 order.
var tricky = []rune{0, 1, '\b', '\t', '\n', 0x0b, '\f', '\r', 0x1f, ' ', '"', '\\', '/', '<', '>', '&', 'a', 'Z', '~', 0x7f, 0x80,
	'é', 0x2028, 0x2029, 0xd7ff, 0xe000, 0xfeff, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff}

func randString(rng *rand.Rand) string {
	var sb strings.Builder
	for range rng.IntN(6) {
		if rng.IntN(3) == 0 {
			sb.WriteByte(byte('a' + rng.IntN(26)))
		} else {
			sb.WriteRune(tricky[rng.IntN(len(tricky))])
		}
	}
	return sb.String()
}

var numbers = []string{"0", "-0", "1", "-1", "1.0", "1e2", "1E+2", "1e-7", "0.000001", "1e21", "1e20", "123456789012345678901234567890",
	"9007199254740993", "0.1", "2.5e-324", "1.7976931348623157e308", "1e400", "-1e-400", "01", "1.", ".5", "+1", "0x10", "NaN", "1_0", ""}

func randValue(rng *rand.Rand, depth int) any {
	n := 11
	if depth > 3 {
		n = 9 // scalars only
	}
	switch rng.IntN(n) {
	case 0:
		return nil
	case 1:
		return rng.IntN(2) == 0
	case 2:
		return randString(rng)
	case 3:
		return rng.Int64N(2*maxSafeInteger+1) - maxSafeInteger
	case 4:
		return []int{0, 1, -1, maxSafeInteger, -maxSafeInteger, 1 << 40}[rng.IntN(6)]
	case 5:
		return []float64{0, math.Copysign(0, -1), 0.1, 1e21, 1e-7, 1e-6, 5e-324, math.MaxFloat64, -1.5, 1 << 53, 123.456}[rng.IntN(11)]
	case 6:
		return math.Float64frombits(rng.Uint64()&^(0x7ff<<52) | uint64(rng.IntN(0x7ff))<<52) // finite
	case 7:
		return json.Number(numbers[rng.IntN(len(numbers))])
	case 8:
		return []int32{-7, 0, 1 << 30}[rng.IntN(3)]
	case 9:
		s := make([]any, rng.IntN(4))
		for i := range s {
			s[i] = randValue(rng, depth+1)
		}
		if rng.IntN(5) == 0 {
			return []string{randString(rng), randString(rng)}
		}
		return s
	default:
		return randMap(rng, depth+1)
	}
}

func randMap(rng *rand.Rand, depth int) map[string]any {
	m := map[string]any{}
	for range rng.IntN(6) {
		m[randString(rng)] = randValue(rng, depth)
	}
	return m
}

func TestEncode_MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	direct := 0
	for i := range 20000 {
		en := Entry{
			Version: FormatVersion, Seq: rng.Int64N(maxSafeInteger + 1), Time: testTime.Format(TimeFormat), Type: "a.b",
			Actor:     Actor{Kind: ActorUser, ID: randString(rng)},
			Component: randString(rng), Subject: randString(rng), Data: randMap(rng, 0),
		}
		if i%2 == 0 {
			en.Digest = PayloadDigest([]byte{byte(i)})
		}
		if i%7 == 0 {
			en.Data = nil
		}
		if _, ok := appendCanonical(nil, &en); ok {
			direct++
		}
		compareEncodings(t, en)
	}
	// The generator makes invalid numbers often; most entries must still
	// take the direct path, or this test tests little.
	if direct < 5000 {
		t.Fatalf("only %d of 20000 entries took the direct path", direct)
	}
}

// compareEncodings checks that encode and the reference agree on en.
func compareEncodings(t *testing.T, en Entry) {
	t.Helper()
	got, err := encode(en)
	want, wantErr := encodeJCS(en)
	if wantErr == nil && len(want) > MaxEntrySize {
		wantErr = ErrInvalidEvent
	}
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("encode error %v, reference error %v, for %+v", err, wantErr, en)
	}
	if err == nil && !bytes.Equal(got, want) {
		t.Fatalf("encode differs from the reference\ngot:  %s\nwant: %s", got, want)
	}
}

func FuzzEncode_MatchesReference(f *testing.F) {
	f.Add("E1234567", "setting/x", "k", "v\u2028<", 1.5, int64(42), "1e2")
	f.Add("", "", "\U0001f600", "\uffff", math.Copysign(0, -1), int64(-1), "-0")
	f.Fuzz(func(t *testing.T, id, subject, key, value string, fl float64, n int64, num string) {
		for _, s := range []string{id, subject, key, value} {
			if !utf8.ValidString(s) {
				return
			}
		}
		if math.IsNaN(fl) || math.IsInf(fl, 0) || n > maxSafeInteger || n < -maxSafeInteger {
			return
		}
		en := Entry{
			Version: FormatVersion, Seq: max(n, 0), Time: testTime.Format(TimeFormat), Type: "a.b",
			Actor: Actor{Kind: ActorUser, ID: id}, Subject: subject,
			Data: map[string]any{key: value, value: []any{fl, n, json.Number(num)}, "m": map[string]any{key: fl, subject: nil}},
		}
		compareEncodings(t, en)
	})
}

func TestCompareUTF16(t *testing.T) {
	// RFC 8785 §3.2.3: U+FFFF sorts after U+10000 (a surrogate pair), the
	// reverse of their UTF-8 (and code point) order.
	keys := []string{"\uffff", "\U00010000", "a", "", "ab", "\u00e9", "\U0001f600", "\ue000"}
	slices.SortFunc(keys, compareUTF16)
	want := []string{"", "a", "ab", "\u00e9", "\U00010000", "\U0001f600", "\ue000", "\uffff"}
	if !slices.Equal(keys, want) {
		t.Fatalf("sorted %q, want %q", keys, want)
	}
}

func BenchmarkEncode(b *testing.B) {
	e := testEvent()
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			if _, err := Encode(e, 123456, testTime); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			if err := e.Validate(); err != nil {
				b.Fatal(err)
			}
			en := Entry{Version: FormatVersion, Seq: 123456, Time: testTime.Format(TimeFormat), Type: e.Type, Actor: e.Actor,
				Component: e.Component, Subject: e.Subject, Data: e.Data, Digest: e.Digest}
			if _, err := encodeJCS(en); err != nil {
				b.Fatal(err)
			}
		}
	})
}
