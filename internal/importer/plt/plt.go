// Package plt reads location pings from Microsoft GeoLife trajectory (.plt)
// files: six header lines, then one fix per line as
// lat,lon,0,altitude_ft,days_since_1899-12-30,YYYY-MM-DD,HH:MM:SS in GMT.
package plt

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/probity-dev/probity/internal/importer/ping"
)

// HeaderLines is the number of lines before the first fix.
const HeaderLines = 6

// Options configure a [Reader].
type Options struct {
	// Device names the device of every fix; GeoLife keeps one person per
	// folder, so the caller usually passes the folder name. Required.
	Device string
	Limits ping.Limits
}

// Reader reads fixes from a PLT file one line at a time.
type Reader struct {
	sc     *bufio.Scanner
	src    *errTracker
	device string
	line   int
	// unterminated is set when the scanner hands out a last line without a
	// newline: if reading failed, that line is a fragment, not a fix.
	unterminated bool
	err          error // final error, returned again by every later Next
}

// errTracker remembers the first read error other than io.EOF, which
// bufio.Scanner only reports after handing out the fragment before it.
type errTracker struct {
	r   io.Reader
	err error
}

func (t *errTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// NewReader returns a reader of the PLT file in r.
func NewReader(r io.Reader, opts Options) *Reader {
	opts.Limits = opts.Limits.WithDefaults()
	src := &errTracker{r: ping.LimitReader(r, opts.Limits.MaxBytes)}
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 0, min(4096, opts.Limits.MaxLineBytes)), opts.Limits.MaxLineBytes)
	rd := &Reader{sc: sc, src: src, device: opts.Device}
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if atEOF && len(data) > 0 && bytes.IndexByte(data, '\n') < 0 {
			rd.unterminated = true
		}
		return bufio.ScanLines(data, atEOF)
	})
	if opts.Device == "" {
		rd.err = errors.New("plt: a device name is required")
	}
	return rd
}

// Next returns the next fix. It returns io.EOF at the end, a
// [*ping.RowError] for a bad line (after which Next may be called again),
// and any other error when the input cannot be read further.
func (r *Reader) Next() (ping.Ping, error) {
	for r.err == nil {
		if !r.sc.Scan() {
			r.err = io.EOF
			if err := r.sc.Err(); err != nil {
				if errors.Is(err, bufio.ErrTooLong) {
					err = ping.ErrLineTooLong
				}
				r.err = fmt.Errorf("plt line %d: %w", r.line+1, err)
			}
			break
		}
		r.line++
		if r.unterminated && r.src.err != nil {
			r.err = fmt.Errorf("plt line %d: %w", r.line, r.src.err)
			break
		}
		if r.line <= HeaderLines {
			continue
		}
		b := bytes.TrimSpace(r.sc.Bytes())
		if len(b) == 0 {
			continue // blank lines, usually at the end
		}
		return r.fix(b)
	}
	return ping.Ping{}, r.err
}

// fix parses lat,lon,0,altitude,days,date,time. The date and time fields
// are authoritative; the fractional day count repeats them.
func (r *Reader) fix(b []byte) (ping.Ping, error) {
	var f [7][]byte
	n := 0
	for rest := b; ; n++ {
		i := bytes.IndexByte(rest, ',')
		if n == len(f) {
			return ping.Ping{}, &ping.RowError{Line: r.line, Msg: fmt.Sprintf("more than %d fields", len(f))}
		}
		if i < 0 {
			f[n] = rest
			n++
			break
		}
		f[n], rest = rest[:i], rest[i+1:]
	}
	if n != len(f) {
		return ping.Ping{}, &ping.RowError{Line: r.line, Msg: fmt.Sprintf("%d fields, want %d", n, len(f))}
	}
	p := ping.Ping{Device: r.device, Line: r.line}
	var err error
	if p.Lat, err = ping.ParseCoord(string(f[0])); err != nil {
		return ping.Ping{}, &ping.RowError{Line: r.line, Field: "lat", Msg: err.Error()}
	}
	if p.Lon, err = ping.ParseCoord(string(f[1])); err != nil {
		return ping.Ping{}, &ping.RowError{Line: r.line, Field: "lon", Msg: err.Error()}
	}
	ts := string(bytes.TrimSpace(f[5])) + " " + string(bytes.TrimSpace(f[6]))
	if p.Time, err = time.Parse(time.DateTime, ts); err != nil {
		return ping.Ping{}, &ping.RowError{Line: r.line, Field: "time", Msg: fmt.Sprintf("%q is not YYYY-MM-DD,HH:MM:SS", clip(ts))}
	}
	if err := p.Validate(); err != nil {
		return ping.Ping{}, err
	}
	return p, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
