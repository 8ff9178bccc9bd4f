package privacy_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/privacy"
)

// FuzzDecodeDocument checks that any input either decodes to a document
// that survives its own encoding unchanged, or is refused as invalid input
// (never another kind of error, never a panic).
func FuzzDecodeDocument(f *testing.F) {
	good, _ := json.Marshal(completeDoc())
	for _, s := range []string{string(good), `{}`, `{"overview":"a\r\nb  "}`, `{"risks":[{"section":"uses"}]}`, `[]`, `null`, `{"overview":1}`, `{"x":1}`, "{\"uses\":\"\\u0000\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := privacy.DecodeDocument(b)
		if err != nil {
			if fault.CodeOf(err) != fault.Invalid || fault.MessageOf(err) == "" {
				t.Fatalf("DecodeDocument(%q) = %v: not an Invalid fault", b, err)
			}
			return
		}
		enc := d.Encode()
		d2, err := privacy.DecodeDocument(enc)
		if err != nil {
			t.Fatalf("a decoded document does not decode again: %v\n%s", err, enc)
		}
		if string(d2.Encode()) != string(enc) {
			t.Fatalf("decode is not stable:\n%s\n%s", enc, d2.Encode())
		}
		// A document does not differ from itself.
		if c := privacy.Diff(d, d2); len(c) != 0 {
			t.Fatalf("a document differs from its own encoding: %+v", c)
		}
	})
}

// FuzzDiffLines checks that every line diff rebuilds both texts.
func FuzzDiffLines(f *testing.F) {
	f.Add("a\nb\nc", "a\nx\nc")
	f.Add("", "a")
	f.Add("a\na\na", "a")
	f.Fuzz(func(t *testing.T, a, b string) {
		x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
		ops := privacy.DiffLines(x, y)
		old, new := privacy.Apply(ops)
		if !slices.Equal(old, x) || !slices.Equal(new, y) {
			t.Fatalf("DiffLines(%q, %q) rebuilds %q, %q", x, y, old, new)
		}
		for _, o := range ops {
			if o.Op != " " && o.Op != "-" && o.Op != "+" {
				t.Fatalf("op %q", o.Op)
			}
		}
	})
}
