package basemap

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf8"
)

// The stored form of a layer is gzip-compressed:
//
//	"PBM1"
//	uvarint  number of features
//	per feature:
//	  byte     kind (1 point, 2 line, 3 polygon)
//	  uvarint  length of the name, then its UTF-8 bytes
//	  uvarint  length of the class, then its bytes
//	  uvarint  number of parts
//	  per part: uvarint number of positions, then per position the
//	            zigzag varint differences of longitude and latitude, in
//	            units of 1e-7 degree, from the position before (across
//	            parts and features; the first from 0, 0)
//
// Quantized, delta-coded coordinates take two to four bytes a position
// before compression, a tenth of GeoJSON's text.
const magic = "PBM1"

// Encode returns the layer's stored form. [Decode] reads it back to an
// equal layer (Skipped aside, which the store keeps on its own).
func Encode(l *Layer) []byte {
	raw := make([]byte, 0, 16+l.Vertices()*4)
	raw = append(raw, magic...)
	raw = binary.AppendUvarint(raw, uint64(len(l.Features)))
	var x, y int64
	for i := range l.Features {
		f := &l.Features[i]
		raw = append(raw, byte(f.Kind))
		raw = binary.AppendUvarint(raw, uint64(len(f.Name)))
		raw = append(raw, f.Name...)
		raw = binary.AppendUvarint(raw, uint64(len(f.Class)))
		raw = append(raw, f.Class...)
		raw = binary.AppendUvarint(raw, uint64(len(f.Parts)))
		for _, p := range f.Parts {
			raw = binary.AppendUvarint(raw, uint64(len(p)))
			for _, q := range p {
				qx, qy := int64(math.Round(q.Lon*quantum)), int64(math.Round(q.Lat*quantum))
				raw = binary.AppendVarint(raw, qx-x)
				raw = binary.AppendVarint(raw, qy-y)
				x, y = qx, qy
			}
		}
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	zw.Write(raw)                                            // a bytes.Buffer does not fail
	zw.Close()
	return buf.Bytes()
}

// maxStored bounds the decompressed size of a stored layer: enough for
// the default limits' positions at their widest encoding.
const maxStored = 64 << 20

// Decode reads a layer's stored form, within lim (zero fields take the
// defaults). A damaged or foreign form is an error, never a panic.
func Decode(data []byte, lim Limits) (*Layer, error) {
	lim = lim.withDefaults()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("basemap: stored layer: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, maxStored+1))
	if err != nil {
		return nil, fmt.Errorf("basemap: stored layer: %w", err)
	}
	if len(raw) > maxStored {
		return nil, fmt.Errorf("basemap: stored layer: more than %d bytes", maxStored)
	}
	d := decoder{b: raw}
	if !bytes.HasPrefix(raw, []byte(magic)) {
		return nil, errors.New("basemap: stored layer: not a layer's stored form")
	}
	d.b = d.b[len(magic):]
	n := d.uvarint()
	if d.err == nil && n > uint64(lim.MaxFeatures) {
		return nil, fmt.Errorf("basemap: stored layer: %d features; the limit is %d", n, lim.MaxFeatures)
	}
	l := &Layer{Bounds: EmptyBounds(), Features: make([]Feature, 0, min(n, uint64(len(d.b)/4)))}
	vertices := 0
	var x, y int64
	for i := uint64(0); i < n && d.err == nil; i++ {
		f := Feature{Kind: Kind(d.byte()), Bounds: EmptyBounds()}
		if d.err == nil && (f.Kind < Point || f.Kind > Polygon) {
			return nil, fmt.Errorf("basemap: stored layer: feature %d: unknown kind %d", i, f.Kind)
		}
		f.Name = d.text(4 * MaxName)
		f.Class = d.text(MaxClass)
		parts := d.uvarint()
		if d.err == nil && (parts == 0 || parts > uint64(len(d.b))) {
			return nil, fmt.Errorf("basemap: stored layer: feature %d: %d parts", i, parts)
		}
		f.Parts = make([][]Pos, 0, parts)
		for j := uint64(0); j < parts && d.err == nil; j++ {
			m := d.uvarint()
			least := map[Kind]uint64{Point: 1, Line: 2, Polygon: 3}[f.Kind]
			if d.err == nil && (m < least || (f.Kind == Point && m != 1) || m > uint64(len(d.b)/2)) {
				return nil, fmt.Errorf("basemap: stored layer: feature %d: a part of %d positions", i, m)
			}
			vertices += int(m)
			if vertices > lim.MaxVertices {
				return nil, fmt.Errorf("basemap: stored layer: more than %d positions", lim.MaxVertices)
			}
			part := make([]Pos, 0, m)
			for k := uint64(0); k < m && d.err == nil; k++ {
				x += d.varint()
				y += d.varint()
				p := Pos{float64(x) / quantum, float64(y) / quantum}
				if d.err == nil && (p.Lon < -180 || p.Lon > 180 || p.Lat < -90 || p.Lat > 90) {
					return nil, fmt.Errorf("basemap: stored layer: feature %d: a position is out of range", i)
				}
				part = append(part, p)
				f.Bounds.Extend(p)
			}
			f.Parts = append(f.Parts, part)
		}
		if d.err == nil {
			l.Features = append(l.Features, f)
			l.Bounds = l.Bounds.Union(f.Bounds)
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("basemap: stored layer: %w", d.err)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("basemap: stored layer: %d bytes after the last feature", len(d.b))
	}
	return l, nil
}

// decoder reads a stored form; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated")

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errShort
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

// varint reads a coordinate difference: at most 360e7 either way.
func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || v > 360*quantum || v < -360*quantum {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) text(maxLen int) string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(maxLen) || n > uint64(len(d.b)) {
		d.err = fmt.Errorf("a text of %d bytes", n)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	if !utf8.ValidString(s) {
		d.err = errors.New("a text is not UTF-8")
		return ""
	}
	return s
}
