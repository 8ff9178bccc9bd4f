// Package ping defines the normalized location ping that every telemetry
// importer produces, its validation, the per-row error that importers report
// for bad input, shared input limits and the detection of a file's format.
package ping

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds every importer enforces on a ping.
const (
	// MaxDeviceLen is the longest device identifier accepted, in bytes.
	MaxDeviceLen = 256
	// MaxAccuracyM is the largest horizontal accuracy accepted, in metres;
	// a fix less precise than this says nothing about a place.
	MaxAccuracyM = 100_000
)

// MinTime and MaxTime bound a ping's time. They catch unit mix-ups such as
// milliseconds read as seconds as well as zero and absurd values.
var (
	MinTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Ping is one observed location of one device.
type Ping struct {
	Device    string    // the identifier as the source gives it
	Time      time.Time // always UTC
	Lat, Lon  float64   // WGS 84 degrees
	AccuracyM float64   // horizontal accuracy in metres; 0 means unknown
	Line      int       // line of the input where the ping starts (1-based)
}

// Validate reports whether p is a usable ping. The error, if any, is a
// [*RowError] naming the offending field and carrying p.Line.
func (p Ping) Validate() error {
	bad := func(field, msg string) error { return &RowError{Line: p.Line, Field: field, Msg: msg} }
	switch {
	case p.Device == "":
		return bad("device", "empty")
	case len(p.Device) > MaxDeviceLen:
		return bad("device", fmt.Sprintf("longer than %d bytes", MaxDeviceLen))
	case !utf8.ValidString(p.Device):
		return bad("device", "not valid UTF-8")
	case hasControl(p.Device):
		return bad("device", "contains control characters")
	case p.Time.IsZero():
		return bad("time", "missing")
	case p.Time.Before(MinTime) || !p.Time.Before(MaxTime):
		return bad("time", fmt.Sprintf("%s outside [%s, %s)", p.Time.UTC().Format(time.RFC3339), MinTime.Format("2006"), MaxTime.Format("2006")))
	case p.Time.Location() != time.UTC:
		return bad("time", "not in UTC")
	case math.IsNaN(p.Lat) || math.IsInf(p.Lat, 0):
		return bad("lat", "not a finite number")
	case p.Lat < -90 || p.Lat > 90:
		return bad("lat", fmt.Sprintf("%g outside [-90, 90]", p.Lat))
	case math.IsNaN(p.Lon) || math.IsInf(p.Lon, 0):
		return bad("lon", "not a finite number")
	case p.Lon < -180 || p.Lon > 180:
		return bad("lon", fmt.Sprintf("%g outside [-180, 180]", p.Lon))
	case math.IsNaN(p.AccuracyM) || math.IsInf(p.AccuracyM, 0):
		return bad("accuracy", "not a finite number")
	case p.AccuracyM < 0 || p.AccuracyM > MaxAccuracyM:
		return bad("accuracy", fmt.Sprintf("%g outside [0, %d] metres", p.AccuracyM, MaxAccuracyM))
	case p.Line < 1:
		return bad("", "line number missing")
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// String formats p on one line, in a stable form used by golden files.
func (p Ping) String() string {
	s := "line " + strconv.Itoa(p.Line) + ": device=" + strconv.Quote(p.Device) +
		" time=" + p.Time.Format(time.RFC3339Nano) +
		" lat=" + strconv.FormatFloat(p.Lat, 'f', -1, 64) +
		" lon=" + strconv.FormatFloat(p.Lon, 'f', -1, 64)
	if p.AccuracyM != 0 {
		s += " accuracy=" + strconv.FormatFloat(p.AccuracyM, 'f', -1, 64)
	}
	return s
}

// RowError reports one bad row (or feature, or track point) of an input.
// A reader that returns a RowError can be asked for the next row; any other
// error from a reader is final.
type RowError struct {
	Line  int    // 1-based line where the row starts or the problem was found
	Field string // the column, property or attribute at fault; may be empty
	Msg   string // what is wrong, safe to show to the person importing
	Err   error  // the underlying cause, if any
}

func (e *RowError) Error() string {
	s := "line " + strconv.Itoa(e.Line) + ": "
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Msg
}

func (e *RowError) Unwrap() error { return e.Err }

// IsRowError reports whether err is (or wraps) a [*RowError], that is
// whether reading can go on with the next row.
func IsRowError(err error) bool {
	var re *RowError
	return errors.As(err, &re)
}
