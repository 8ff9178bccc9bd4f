package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// TileHeight is the height of C2SP tlog-tiles: 256 hashes or entries a tile.
const TileHeight = 8

// TileWidth is the number of hashes in a full tile and of entries in a full
// entry bundle.
const TileWidth = 1 << TileHeight

// A TilePath is a parsed C2SP tlog-tiles resource path: a hash tile
// "tile/<L>/<N>[.p/<W>]" or an entry bundle "tile/entries/<N>[.p/<W>]".
type TilePath struct {
	Entries bool  // an entry bundle rather than a hash tile
	Level   int   // the tile level, for hash tiles
	Index   int64 // N
	Width   int   // W, 1..256; 256 for a full tile
}

// Tile returns the tlog tile of a hash tile path.
func (p TilePath) Tile() tlog.Tile {
	return tlog.Tile{H: TileHeight, L: p.Level, N: p.Index, W: p.Width}
}

// Partial reports whether the path names a partial tile or bundle.
func (p TilePath) Partial() bool { return p.Width < TileWidth }

// String formats the path in the C2SP layout.
func (p TilePath) String() string {
	var b strings.Builder
	b.WriteString("tile/")
	if p.Entries {
		b.WriteString("entries")
	} else {
		b.WriteString(strconv.Itoa(p.Level))
	}
	b.WriteByte('/')
	b.WriteString(formatTileIndex(p.Index))
	if p.Partial() {
		fmt.Fprintf(&b, ".p/%d", p.Width)
	}
	return b.String()
}

// formatTileIndex encodes n as zero-padded three-digit path elements, all
// but the last prefixed with "x": 1234067 is "x001/x234/067".
func formatTileIndex(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// ErrBadTilePath reports a path that is not in the C2SP tlog-tiles layout.
var ErrBadTilePath = errors.New("not a tlog-tiles path")

// ParseTilePath parses a path relative to the log's prefix, such as
// "tile/0/x001/234.p/17" or "tile/entries/000".
func ParseTilePath(path string) (TilePath, error) {
	var p TilePath
	bad := func(why string) (TilePath, error) {
		return TilePath{}, fmt.Errorf("%w: %q: %s", ErrBadTilePath, path, why)
	}
	rest, ok := strings.CutPrefix(path, "tile/")
	if !ok {
		return bad("does not start with tile/")
	}
	level, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return bad("no tile index")
	}
	if level == "entries" {
		p.Entries = true
	} else {
		l, err := strconv.Atoi(level)
		if err != nil || l < 0 || l > 63 || strconv.Itoa(l) != level {
			return bad("bad level")
		}
		p.Level = l
	}
	p.Width = TileWidth
	if idx, w, ok := strings.Cut(rest, ".p/"); ok {
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 || n >= TileWidth || strconv.Itoa(n) != w {
			return bad("partial width must be 1 to 255")
		}
		p.Width, rest = n, idx
	}
	elems := strings.Split(rest, "/")
	var n int64
	for i, e := range elems {
		last := i == len(elems)-1
		if !last {
			var ok bool
			if e, ok = strings.CutPrefix(e, "x"); !ok {
				return bad("index elements other than the last must start with x")
			}
		}
		if len(e) != 3 || e[0] < '0' || e[0] > '9' || e[1] < '0' || e[1] > '9' || e[2] < '0' || e[2] > '9' {
			return bad("index elements must be three digits")
		}
		d, _ := strconv.Atoi(e)
		if n > (1<<62)/1000 {
			return bad("index too large")
		}
		n = n*1000 + int64(d)
	}
	if len(elems) > 1 && strings.TrimPrefix(elems[0], "x") == "000" {
		return bad("index has a leading zero element")
	}
	p.Index = n
	return p, nil
}

// EncodeBundle returns an entry bundle: each entry prefixed by its length as
// a big-endian 16-bit number.
func EncodeBundle(entries [][]byte) ([]byte, error) {
	size := 0
	for _, e := range entries {
		if len(e) > MaxEntrySize {
			return nil, fmt.Errorf("entry bundle: entry of %d bytes is too large", len(e))
		}
		size += 2 + len(e)
	}
	out := make([]byte, 0, size)
	for _, e := range entries {
		out = binary.BigEndian.AppendUint16(out, uint16(len(e)))
		out = append(out, e...)
	}
	return out, nil
}

// DecodeBundle splits an entry bundle into its entries.
func DecodeBundle(b []byte) ([][]byte, error) {
	var entries [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, fmt.Errorf("entry bundle: truncated length after %d entries", len(entries))
		}
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		if len(b) < n {
			return nil, fmt.Errorf("entry bundle: entry %d is truncated (%d of %d bytes)", len(entries), len(b), n)
		}
		entries = append(entries, b[:n:n])
		b = b[n:]
	}
	return entries, nil
}
