package ledger

import (
	"bytes"
	"strings"
	"testing"
)

func TestTilePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		want TilePath
	}{
		{"tile/0/000", TilePath{Level: 0, Index: 0, Width: 256}},
		{"tile/0/001.p/17", TilePath{Level: 0, Index: 1, Width: 17}},
		{"tile/2/x001/x234/067", TilePath{Level: 2, Index: 1234067, Width: 256}},
		{"tile/entries/x001/000.p/255", TilePath{Entries: true, Index: 1000, Width: 255}},
		{"tile/entries/999", TilePath{Entries: true, Index: 999, Width: 256}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			got, err := ParseTilePath(tc.path)
			if err != nil || got != tc.want {
				t.Fatalf("ParseTilePath = %+v, %v; want %+v", got, err, tc.want)
			}
			if got.String() != tc.path {
				t.Fatalf("String() = %q", got.String())
			}
		})
	}
	for _, bad := range []string{
		"", "tile/", "tile/0", "tile/0/", "tile/0/1", "tile/0/0001", "tile/-1/000", "tile/64/000", "tile/01/000",
		"tile/0/x001", "tile/0/001/002", "tile/0/x000/001", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/07",
		"tile/0/000.p/", "tiles/0/000", "tile/entries/00a", "tile/0/x1000/000", "tile/0/" + strings.Repeat("x999/", 8) + "999",
	} {
		t.Run("Err"+bad, func(t *testing.T) {
			if p, err := ParseTilePath(bad); err == nil {
				t.Fatalf("ParseTilePath(%q) = %+v; want an error", bad, p)
			}
		})
	}
}

func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/3/x001/x002/003.p/9", "tile/entries/x999/999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseTilePath(s)
		if err != nil {
			return
		}
		// The layout has one spelling for each tile.
		if p.String() != s {
			t.Fatalf("%q parsed to %+v, which formats as %q", s, p, p.String())
		}
	})
}

func TestBundle(t *testing.T) {
	entries := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte("b"), 300), bytes.Repeat([]byte("c"), MaxEntrySize)}
	b, err := EncodeBundle(entries)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBundle(b)
	if err != nil || len(got) != len(entries) {
		t.Fatalf("DecodeBundle = %d entries, %v", len(got), err)
	}
	for i := range entries {
		if !bytes.Equal(got[i], entries[i]) {
			t.Fatalf("entry %d differs", i)
		}
	}
	if _, err := EncodeBundle([][]byte{make([]byte, MaxEntrySize+1)}); err == nil {
		t.Fatal("encoded an entry too large for a 16-bit length")
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"ErrTruncatedLength", []byte{0}},
		{"ErrTruncatedEntry", []byte{0, 5, 'a', 'b'}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeBundle(tc.b); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func FuzzDecodeBundle(f *testing.F) {
	b, _ := EncodeBundle([][]byte{[]byte("x"), []byte("yz")})
	f.Add(b)
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := DecodeBundle(b)
		if err != nil {
			return
		}
		again, err := EncodeBundle(entries)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("round trip differs: %v", err)
		}
	})
}
