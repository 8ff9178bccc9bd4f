package program

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The exchange file is read in two passes: first into a tree of JSON
// values that remembers where each value and object key starts, then into
// the program's types. encoding/json alone cannot say where a field it
// rejects is, and silently keeps the last of two fields with the same name.

type kind int

const (
	kObject kind = iota + 1
	kArray
	kString
	kNumber
	kBool
	kNull
)

func (k kind) String() string {
	switch k {
	case kObject:
		return "an object"
	case kArray:
		return "an array"
	case kString:
		return "a string"
	case kNumber:
		return "a number"
	case kBool:
		return "true or false"
	case kNull:
		return "null"
	}
	return "nothing"
}

// A node is a JSON value and where it starts in the input.
type node struct {
	kind kind
	off  int    // byte offset of the value's first byte
	str  string // a string's value, or a number as written
	// An object's keys, where each starts, and its values in order; an
	// array's elements in vals.
	keys    []string
	keyOffs []int
	vals    []*node
}

// field returns an object's value for key, or nil.
func (n *node) field(key string) (*node, int) {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i], n.keyOffs[i]
		}
	}
	return nil, -1
}

// A syntaxError is a problem with the JSON itself, at a byte offset.
type syntaxError struct {
	off int
	msg string
}

// maxDepth bounds nesting: the exchange format nests seven levels deep.
const maxDepth = 16

type treeReader struct {
	b   []byte
	dec *json.Decoder
}

// withoutBOM returns b without a leading byte order mark, which is not
// JSON whitespace but which some editors write all the same: a space in its
// place keeps every line and column where it was.
func withoutBOM(b []byte) []byte {
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		return append([]byte(" "), b[3:]...)
	}
	return b
}

// readTree reads b, one JSON value and nothing after it, into a tree.
func readTree(b []byte) (*node, *syntaxError) {
	if off := invalidUTF8(b); off >= 0 {
		return nil, &syntaxError{off, "the file is not UTF-8 text (an invalid byte sequence starts here)"}
	}
	r := &treeReader{b: b, dec: json.NewDecoder(bytes.NewReader(b))}
	r.dec.UseNumber()
	n, err := r.value(0)
	if err != nil {
		return nil, err
	}
	start := r.skip()
	if _, terr := r.dec.Token(); terr != io.EOF {
		return nil, &syntaxError{start, "there is more after the end of the JSON document"}
	}
	return n, nil
}

// invalidUTF8 returns the offset of the first invalid UTF-8 sequence in
// b, or -1.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

// skip returns the offset where the next token starts: after the last
// one, past whitespace and the separators the decoder consumes with it.
func (r *treeReader) skip() int {
	off := int(r.dec.InputOffset())
	for off < len(r.b) {
		switch r.b[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (r *treeReader) fail(err error, at int) *syntaxError {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return &syntaxError{r.offending(se), "JSON syntax: " + se.Error()}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		if len(bytes.TrimSpace(r.b)) == 0 {
			return &syntaxError{0, "the file is empty"}
		}
		return &syntaxError{len(r.b), "the file ends in the middle of the JSON document"}
	}
	return &syntaxError{at, "JSON syntax: " + err.Error()}
}

// offending returns where the character a syntax error complains about
// is. The decoder's offset is sometimes just before it, sometimes just
// after, depending on which of its parts noticed.
func (r *treeReader) offending(se *json.SyntaxError) int {
	off := min(max(int(se.Offset), 0), len(r.b))
	rest, ok := strings.CutPrefix(se.Error(), "invalid character '")
	if !ok {
		return off
	}
	c, _, _, err := strconv.UnquoteChar(rest, '\'')
	if err != nil {
		return off
	}
	enc := []byte(string(c))
	switch {
	case bytes.HasPrefix(r.b[off:], enc):
		return off
	case off >= len(enc) && bytes.HasPrefix(r.b[off-len(enc):], enc):
		return off - len(enc)
	}
	return off
}

func (r *treeReader) value(depth int) (*node, *syntaxError) {
	start := r.skip()
	tok, err := r.dec.Token()
	if err != nil {
		return nil, r.fail(err, start)
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxDepth {
			return nil, &syntaxError{start, fmt.Sprintf("the JSON is nested more than %d levels deep", maxDepth)}
		}
		switch t {
		case '{':
			n := &node{kind: kObject, off: start}
			for r.dec.More() {
				koff := r.skip()
				ktok, err := r.dec.Token()
				if err != nil {
					return nil, r.fail(err, koff)
				}
				key, ok := ktok.(string)
				if !ok {
					return nil, &syntaxError{koff, "JSON syntax: an object key must be a string"}
				}
				if prev, _ := n.field(key); prev != nil {
					return nil, &syntaxError{koff, fmt.Sprintf("the field %q appears twice in the same object", key)}
				}
				v, serr := r.value(depth + 1)
				if serr != nil {
					return nil, serr
				}
				n.keys, n.keyOffs, n.vals = append(n.keys, key), append(n.keyOffs, koff), append(n.vals, v)
			}
			if _, err := r.dec.Token(); err != nil {
				return nil, r.fail(err, r.skip())
			}
			return n, nil
		case '[':
			n := &node{kind: kArray, off: start}
			for r.dec.More() {
				v, serr := r.value(depth + 1)
				if serr != nil {
					return nil, serr
				}
				n.vals = append(n.vals, v)
			}
			if _, err := r.dec.Token(); err != nil {
				return nil, r.fail(err, r.skip())
			}
			return n, nil
		}
		return nil, &syntaxError{start, fmt.Sprintf("JSON syntax: unexpected %q", rune(t))}
	case string:
		return &node{kind: kString, off: start, str: t}, nil
	case json.Number:
		return &node{kind: kNumber, off: start, str: t.String()}, nil
	case bool:
		return &node{kind: kBool, off: start}, nil
	case nil:
		return &node{kind: kNull, off: start}, nil
	}
	return nil, &syntaxError{start, fmt.Sprintf("JSON syntax: unexpected token %v", tok)}
}

// A lineIndex turns byte offsets of a text into lines and columns.
type lineIndex struct {
	b      []byte
	starts []int // the offset where each line starts
}

func newLineIndex(b []byte) *lineIndex {
	x := &lineIndex{b: b, starts: []int{0}}
	for i, c := range b {
		if c == '\n' {
			x.starts = append(x.starts, i+1)
		}
	}
	return x
}

// position returns the 1-based line and column (in characters) of a byte
// offset.
func (x *lineIndex) position(off int) (line, col int) {
	off = min(max(off, 0), len(x.b))
	i, _ := slices.BinarySearch(x.starts, off+1)
	return i, 1 + utf8.RuneCount(x.b[x.starts[i-1]:off])
}
