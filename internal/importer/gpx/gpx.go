// Package gpx reads location pings from the track points (trkpt) of GPX
// files, streaming with encoding/xml so that large files are never loaded
// whole.
package gpx

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/importer/ping"
)

// Options configure a [Reader].
type Options struct {
	// Device names the device of every point; GPX has no device field.
	// Required.
	Device string
	Limits ping.Limits // MaxLineBytes is unused: GPX may be one long line
}

// maxTimeBytes bounds the text of one <time> element.
const maxTimeBytes = 64

// Reader reads track points from GPX one at a time.
type Reader struct {
	dec    *xml.Decoder
	device string
	err    error // final error, returned again by every later Next
}

// NewReader returns a reader of the GPX document in r.
func NewReader(r io.Reader, opts Options) *Reader {
	opts.Limits = opts.Limits.WithDefaults()
	dec := xml.NewDecoder(ping.LimitReader(r, opts.Limits.MaxBytes))
	dec.Strict = true
	rd := &Reader{dec: dec, device: opts.Device}
	if opts.Device == "" {
		rd.err = errors.New("gpx: a device name is required")
	}
	return rd
}

// Next returns the next track point. It returns io.EOF at the end, a
// [*ping.RowError] for a bad point (after which Next may be called again),
// and any other error when the document cannot be read further.
func (r *Reader) Next() (ping.Ping, error) {
	for r.err == nil {
		line, _ := r.dec.InputPos()
		tok, err := r.dec.Token()
		if err != nil {
			if err != io.EOF {
				err = fmt.Errorf("gpx: %w", err)
			}
			r.err = err
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "trkpt" {
			return r.point(se, line)
		}
	}
	return ping.Ping{}, r.err
}

// point reads the rest of a <trkpt> element that starts on line: the
// decoder's position before the start tag, since whitespace between
// elements is a token of its own. A bad
// point is reported only once the element is fully read, so the next call
// starts cleanly after it.
func (r *Reader) point(start xml.StartElement, line int) (ping.Ping, error) {
	p := ping.Ping{Device: r.device, Line: line}
	var rowErr *ping.RowError
	fail := func(field, msg string) {
		if rowErr == nil {
			rowErr = &ping.RowError{Line: line, Field: field, Msg: msg}
		}
	}
	var haveLat, haveLon bool
	for _, a := range start.Attr {
		var dst *float64
		switch a.Name.Local {
		case "lat":
			dst, haveLat = &p.Lat, true
		case "lon":
			dst, haveLon = &p.Lon, true
		default:
			continue
		}
		v, err := ping.ParseCoord(a.Value)
		if err != nil {
			fail(a.Name.Local, err.Error())
		}
		*dst = v
	}
	if !haveLat {
		fail("lat", "attribute missing")
	}
	if !haveLon {
		fail("lon", "attribute missing")
	}
	haveTime := false
	for depth := 1; depth > 0; {
		tok, err := r.dec.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			r.err = fmt.Errorf("gpx: inside trkpt of line %d: %w", line, err)
			return ping.Ping{}, r.err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Local == "time" {
				s, err := r.text()
				if err != nil {
					return ping.Ping{}, err
				}
				depth--
				haveTime = true
				if p.Time, err = parseTime(s); err != nil {
					fail("time", err.Error())
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	if !haveTime {
		fail("time", "element missing")
	}
	if rowErr != nil {
		return ping.Ping{}, rowErr
	}
	if err := p.Validate(); err != nil {
		return ping.Ping{}, err
	}
	return p, nil
}

// text reads character data up to the end of the current element.
func (r *Reader) text() (string, error) {
	var b strings.Builder
	for {
		tok, err := r.dec.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			r.err = fmt.Errorf("gpx: %w", err)
			return "", r.err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if b.Len()+len(t) <= maxTimeBytes {
				b.Write(t)
			} else {
				b.WriteString("…") // too long to be a time; fails to parse
			}
		case xml.StartElement:
			if err := r.dec.Skip(); err != nil {
				r.err = fmt.Errorf("gpx: %w", err)
				return "", r.err
			}
		case xml.EndElement:
			return b.String(), nil
		}
	}
}

// parseTime accepts xsd:dateTime as GPX writes it: RFC 3339, or without a
// zone, which GPX defines as UTC.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an xsd:dateTime", s)
}
