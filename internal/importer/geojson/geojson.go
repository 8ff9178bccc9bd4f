// Package geojson reads location pings from a GeoJSON FeatureCollection of
// Point features, streaming with encoding/json tokens so that a large file
// is never loaded whole: only one feature at a time is held in memory.
package geojson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/probity-dev/probity/internal/importer/ping"
)

// Properties names the feature properties that hold ping fields. Empty
// fields take the defaults of [DefaultProperties].
type Properties struct {
	Device, Time string // required (Device unless Options.Device is set)
	Accuracy     string // optional, in metres
}

// DefaultProperties are the property names used when [Properties] leaves
// one empty.
var DefaultProperties = Properties{Device: "device", Time: "time", Accuracy: "accuracy"}

// Options configure a [Reader].
type Options struct {
	Properties Properties
	// TimeLayout says how the time property is written: RFC 3339 text by
	// default, or Unix seconds or milliseconds as a number or string.
	TimeLayout ping.TimeLayout
	// Device is used for features without a device property.
	Device string
	Limits ping.Limits // MaxLineBytes is unused: GeoJSON may be one long line
}

type state int

const (
	stateStart    state = iota // before the top-level object
	stateFeatures              // inside the features array
)

// Reader reads Point features from GeoJSON one at a time.
type Reader struct {
	dec   *json.Decoder
	lines *lineTracker
	opts  Options
	state state
	err   error // final error, returned again by every later Next
}

// NewReader returns a reader of the GeoJSON FeatureCollection in r.
func NewReader(r io.Reader, opts Options) *Reader {
	opts.Limits = opts.Limits.WithDefaults()
	def := DefaultProperties
	for _, f := range []struct {
		p *string
		d string
	}{{&opts.Properties.Device, def.Device}, {&opts.Properties.Time, def.Time}, {&opts.Properties.Accuracy, def.Accuracy}} {
		if *f.p == "" {
			*f.p = f.d
		}
	}
	lt := &lineTracker{r: ping.LimitReader(r, opts.Limits.MaxBytes)}
	dec := json.NewDecoder(lt)
	dec.UseNumber()
	return &Reader{dec: dec, lines: lt, opts: opts}
}

// Next returns the next ping. It returns io.EOF at the end, a
// [*ping.RowError] for a bad feature (after which Next may be called
// again), and any other error when the document cannot be read further.
func (r *Reader) Next() (ping.Ping, error) {
	if r.err != nil {
		return ping.Ping{}, r.err
	}
	if r.state == stateStart {
		if err := r.openFeatures(); err != nil {
			r.err = err
			return ping.Ping{}, err
		}
		r.state = stateFeatures
	}
	if !r.dec.More() {
		r.err = r.finish()
		return ping.Ping{}, r.err
	}
	start := r.dec.InputOffset()
	var f feature
	err := r.dec.Decode(&f)
	line := r.lines.valueLine(start)
	if err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// The decoder has read the whole value; the next one is clean.
			field := te.Field
			if field == "" {
				field = "feature"
			}
			return ping.Ping{}, &ping.RowError{Line: line, Field: field, Msg: "JSON " + te.Value + " where " + te.Type.String() + " was expected", Err: err}
		}
		r.err = fmt.Errorf("geojson: feature starting on line %d: %w", line, err)
		return ping.Ping{}, r.err
	}
	return r.ping(&f, line)
}

// openFeatures reads up to the opening bracket of the features array,
// checking the members before it.
func (r *Reader) openFeatures() error {
	if err := r.expectDelim('{', "a FeatureCollection object"); err != nil {
		return err
	}
	for {
		key, err := r.key()
		if err != nil {
			return err
		}
		if key == "" {
			return errors.New("geojson: the FeatureCollection has no features array")
		}
		if key == "features" {
			return r.expectDelim('[', "the features array")
		}
		if err := r.member(key); err != nil {
			return err
		}
	}
}

// finish reads past the features array to the end of the document.
func (r *Reader) finish() error {
	if err := r.expectDelim(']', "the end of the features array"); err != nil {
		return err
	}
	for {
		key, err := r.key()
		if err != nil {
			return err
		}
		if key == "" {
			break
		}
		if err := r.member(key); err != nil {
			return err
		}
	}
	if _, err := r.dec.Token(); err != io.EOF {
		return errors.New("geojson: data after the FeatureCollection")
	}
	return io.EOF
}

// key returns the next member name of the top-level object, or "" at its
// closing brace.
func (r *Reader) key() (string, error) {
	tok, err := r.dec.Token()
	if err != nil {
		return "", r.syntax(err)
	}
	switch t := tok.(type) {
	case string:
		if t == "" {
			return "", errors.New("geojson: empty member name in the FeatureCollection")
		}
		return t, nil
	case json.Delim: // only '}' can come here
		return "", nil
	}
	return "", errors.New("geojson: malformed FeatureCollection")
}

// member reads the value of a top-level member other than features.
func (r *Reader) member(key string) error {
	var v json.RawMessage
	if err := r.dec.Decode(&v); err != nil {
		return r.syntax(err)
	}
	if key == "type" {
		var typ string
		if json.Unmarshal(v, &typ) != nil || typ != "FeatureCollection" {
			return fmt.Errorf("geojson: type is %s, want \"FeatureCollection\"", clip(string(v)))
		}
	}
	return nil
}

func (r *Reader) expectDelim(d json.Delim, what string) error {
	tok, err := r.dec.Token()
	if err == io.EOF && d == '{' {
		return errors.New("geojson: empty input")
	}
	if err != nil {
		return r.syntax(err)
	}
	if tok != d {
		return fmt.Errorf("geojson: want %s, found %v", what, tok)
	}
	return nil
}

// syntax wraps an error that ends reading, with the line reached.
func (r *Reader) syntax(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("geojson: near line %d: %w", r.lines.valueLine(r.dec.InputOffset()), err)
}

type feature struct {
	Type     string `json:"type"`
	Geometry *struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
	Properties map[string]json.RawMessage `json:"properties"`
}

func (r *Reader) ping(f *feature, line int) (ping.Ping, error) {
	bad := func(field, msg string) (ping.Ping, error) {
		return ping.Ping{}, &ping.RowError{Line: line, Field: field, Msg: msg}
	}
	if f.Type != "Feature" {
		return bad("type", fmt.Sprintf("%q, want \"Feature\"", clip(f.Type)))
	}
	if f.Geometry == nil {
		return bad("geometry", "missing or null")
	}
	if f.Geometry.Type != "Point" {
		return bad("geometry", fmt.Sprintf("type %q, want \"Point\"", clip(f.Geometry.Type)))
	}
	var c []float64
	if err := json.Unmarshal(f.Geometry.Coordinates, &c); err != nil || len(c) < 2 || len(c) > 3 {
		return bad("coordinates", "want [lon, lat] or [lon, lat, altitude]")
	}
	p := ping.Ping{Line: line, Lon: c[0], Lat: c[1], Device: r.opts.Device}
	props := r.opts.Properties
	if raw, ok := f.Properties[props.Device]; ok && !isNull(raw) {
		s, err := text(raw)
		if err != nil {
			return bad(props.Device, err.Error())
		}
		p.Device = strings.TrimSpace(s)
	}
	raw, ok := f.Properties[props.Time]
	if !ok || isNull(raw) {
		return bad(props.Time, "property missing")
	}
	s, err := text(raw)
	if err != nil {
		return bad(props.Time, err.Error())
	}
	if p.Time, err = ping.ParseTime(s, r.opts.TimeLayout); err != nil {
		return bad(props.Time, err.Error())
	}
	if raw, ok := f.Properties[props.Accuracy]; ok && !isNull(raw) {
		if raw[0] == '"' {
			return bad(props.Accuracy, "want a number of metres")
		}
		if p.AccuracyM, err = ping.ParseCoord(string(raw)); err != nil {
			return bad(props.Accuracy, err.Error())
		}
	}
	if err := p.Validate(); err != nil {
		return ping.Ping{}, err
	}
	return p, nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(raw, []byte("null")) }

// text returns a JSON string's value, or a number's literal text.
func text(raw json.RawMessage) (string, error) {
	switch {
	case len(raw) > 0 && raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", errors.New("malformed string")
		}
		return s, nil
	case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
		return string(raw), nil
	}
	return "", errors.New("want a string or a number")
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
