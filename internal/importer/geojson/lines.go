package geojson

import (
	"bytes"
	"io"
)

// lineTracker passes bytes from r to a json.Decoder and keeps those the
// decoder may still ask about, so that a byte offset can be turned into a
// line number without holding the whole input. Offsets asked about must
// not decrease.
type lineTracker struct {
	r     io.Reader
	buf   []byte // input from offset base on
	base  int64
	lines int // newlines before base
}

func (t *lineTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.buf = append(t.buf, p[:n]...)
	return n, err
}

// valueLine returns the 1-based line of the first byte at or after off that
// is neither whitespace nor a comma: where a JSON value starts when off is
// the decoder's position before it. It forgets the input before off.
func (t *lineTracker) valueLine(off int64) int {
	k := int(min(max(off-t.base, 0), int64(len(t.buf))))
	t.lines += bytes.Count(t.buf[:k], []byte{'\n'})
	t.base += int64(k)
	t.buf = t.buf[k:]
	if cap(t.buf) > 1<<16 && len(t.buf) < cap(t.buf)/4 {
		t.buf = append([]byte(nil), t.buf...) // let the consumed prefix go
	}
	line := t.lines + 1
	for _, c := range t.buf {
		switch c {
		case '\n':
			line++
		case ' ', '\t', '\r', ',':
		default:
			return line
		}
	}
	return line
}
