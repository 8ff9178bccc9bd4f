// Package csvfile reads location pings from CSV files with a header row and
// a configurable mapping from columns to ping fields. (It is not called csv
// so as not to shadow encoding/csv, which it uses.)
package csvfile

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/probity-dev/probity/internal/importer/ping"
)

// Columns names the header of each column that holds a ping field. Names
// match case-insensitively, ignoring surrounding spaces. Empty fields take
// the defaults of [DefaultColumns].
type Columns struct {
	Device, Time, Lat, Lon string // required (Device unless Options.Device is set)
	Accuracy               string // optional: a missing column means unknown accuracy
}

// DefaultColumns are the column names used when [Columns] leaves one empty.
var DefaultColumns = Columns{Device: "device", Time: "time", Lat: "lat", Lon: "lon", Accuracy: "accuracy"}

// Options configure a [Reader].
type Options struct {
	Columns    Columns
	TimeLayout ping.TimeLayout // empty means RFC 3339
	Comma      rune            // field delimiter; 0 means ','
	// Device is used for every ping when the file has no device column.
	Device string
	Limits ping.Limits
}

// Reader reads pings from CSV one row at a time.
type Reader struct {
	csv    *csv.Reader
	opts   Options
	header bool // header read
	idx    struct{ device, time, lat, lon, accuracy int }
	err    error // final error, returned again by every later Next
}

// NewReader returns a reader of the CSV in r.
func NewReader(r io.Reader, opts Options) *Reader {
	opts.Limits = opts.Limits.WithDefaults()
	c := csv.NewReader(ping.LineLimitReader(ping.LimitReader(r, opts.Limits.MaxBytes), opts.Limits.MaxLineBytes))
	if opts.Comma != 0 {
		c.Comma = opts.Comma
	}
	c.FieldsPerRecord = -1 // a short row is a row error of ours, with a better message
	c.ReuseRecord = true
	rd := &Reader{csv: c, opts: opts}
	def := DefaultColumns
	for _, f := range []struct {
		p *string
		d string
	}{
		{&rd.opts.Columns.Device, def.Device}, {&rd.opts.Columns.Time, def.Time},
		{&rd.opts.Columns.Lat, def.Lat}, {&rd.opts.Columns.Lon, def.Lon},
		{&rd.opts.Columns.Accuracy, def.Accuracy},
	} {
		if strings.TrimSpace(*f.p) == "" {
			*f.p = f.d
		}
	}
	return rd
}

// Next returns the next ping. It returns io.EOF at the end, a
// [*ping.RowError] for a bad row (after which Next may be called again),
// and any other error when the input cannot be read further.
func (r *Reader) Next() (ping.Ping, error) {
	if r.err != nil {
		return ping.Ping{}, r.err
	}
	if !r.header {
		if err := r.readHeader(); err != nil {
			r.err = err
			return ping.Ping{}, err
		}
	}
	rec, err := r.csv.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) && pe.Err != nil && !errors.Is(pe.Err, ping.ErrLineTooLong) && !errors.Is(pe.Err, ping.ErrInputTooLarge) {
			return ping.Ping{}, &ping.RowError{Line: pe.StartLine, Msg: pe.Err.Error(), Err: err}
		}
		if err != io.EOF {
			err = fmt.Errorf("csv: %w", err)
		}
		r.err = err
		return ping.Ping{}, err
	}
	line, _ := r.csv.FieldPos(0)
	return r.row(rec, line)
}

func (r *Reader) readHeader() error {
	rec, err := r.csv.Read()
	if err == io.EOF {
		return errors.New("csv: empty input: a header row is required")
	}
	if err != nil {
		return fmt.Errorf("csv header: %w", err)
	}
	r.header = true
	find := func(name string) int {
		for i, h := range rec {
			if i == 0 {
				h = strings.TrimPrefix(h, "\ufeff")
			}
			if strings.EqualFold(strings.TrimSpace(h), strings.TrimSpace(name)) {
				return i
			}
		}
		return -1
	}
	c := r.opts.Columns
	r.idx.device, r.idx.time, r.idx.lat, r.idx.lon, r.idx.accuracy = find(c.Device), find(c.Time), find(c.Lat), find(c.Lon), find(c.Accuracy)
	var missing []string
	if r.idx.device < 0 && r.opts.Device == "" {
		missing = append(missing, c.Device)
	}
	for _, m := range []struct {
		i    int
		name string
	}{{r.idx.time, c.Time}, {r.idx.lat, c.Lat}, {r.idx.lon, c.Lon}} {
		if m.i < 0 {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("csv header: missing column(s) %q", missing)
	}
	return nil
}

func (r *Reader) row(rec []string, line int) (ping.Ping, error) {
	p := ping.Ping{Line: line, Device: r.opts.Device}
	field := func(i int, name string) (string, error) {
		if i >= len(rec) {
			return "", &ping.RowError{Line: line, Field: name, Msg: fmt.Sprintf("missing: the row has %d fields", len(rec))}
		}
		return rec[i], nil
	}
	if r.idx.device >= 0 {
		s, err := field(r.idx.device, r.opts.Columns.Device)
		if err != nil {
			return ping.Ping{}, err
		}
		p.Device = strings.TrimSpace(s)
	}
	s, err := field(r.idx.time, r.opts.Columns.Time)
	if err != nil {
		return ping.Ping{}, err
	}
	if p.Time, err = ping.ParseTime(s, r.opts.TimeLayout); err != nil {
		return ping.Ping{}, &ping.RowError{Line: line, Field: r.opts.Columns.Time, Msg: err.Error()}
	}
	for _, c := range []struct {
		i    int
		name string
		dst  *float64
	}{{r.idx.lat, r.opts.Columns.Lat, &p.Lat}, {r.idx.lon, r.opts.Columns.Lon, &p.Lon}} {
		s, err := field(c.i, c.name)
		if err != nil {
			return ping.Ping{}, err
		}
		if *c.dst, err = ping.ParseCoord(s); err != nil {
			return ping.Ping{}, &ping.RowError{Line: line, Field: c.name, Msg: err.Error()}
		}
	}
	if r.idx.accuracy >= 0 && r.idx.accuracy < len(rec) && strings.TrimSpace(rec[r.idx.accuracy]) != "" {
		if p.AccuracyM, err = ping.ParseCoord(rec[r.idx.accuracy]); err != nil {
			return ping.Ping{}, &ping.RowError{Line: line, Field: r.opts.Columns.Accuracy, Msg: err.Error()}
		}
	}
	if err := p.Validate(); err != nil {
		return ping.Ping{}, err
	}
	return p, nil
}
