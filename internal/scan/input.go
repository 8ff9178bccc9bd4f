package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/fault"
)

// Input limits. Reports are read whole, so the size limit bounds memory;
// the depth and string limits turn hostile JSON into a precise error
// before any decoder sees it.
const (
	// DefaultMaxBytes is the size limit used when a caller passes none.
	DefaultMaxBytes int64 = 128 << 20
	// MaxDepth is how deeply arrays and objects may nest. Real reports
	// stay under 20 (SARIF code flows are the deepest).
	MaxDepth = 128
	// MaxStringBytes is the longest JSON string accepted, escapes
	// included; real reports stay under 10 KiB.
	MaxStringBytes = 4 << 20
)

// String returns the format's name as people write it.
func (f Format) String() string {
	switch f {
	case SARIF:
		return "SARIF"
	case MobSF:
		return "MobSF"
	case CycloneDX:
		return "CycloneDX"
	case SPDX:
		return "SPDX"
	case "":
		return "scan"
	}
	return string(f)
}

// Formats lists every format Probity imports.
var Formats = []Format{SARIF, MobSF, CycloneDX, SPDX}

// ParseFormat returns the format called s (case-insensitive), as given on
// a command line or in an API request.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range Formats {
		if f == k {
			return f, nil
		}
	}
	return "", fault.New(fault.Invalid, "unknown report format %q (want sarif, mobsf, cyclonedx or spdx)", s)
}

// limitOrDefault returns limit, or [DefaultMaxBytes] when limit is not
// positive.
func limitOrDefault(limit int64) int64 {
	if limit <= 0 {
		return DefaultMaxBytes
	}
	return limit
}

// CheckSize returns a [fault.TooLarge] error when data is longer than
// limit bytes ([DefaultMaxBytes] when limit is not positive).
func CheckSize(f Format, data []byte, limit int64) error {
	limit = limitOrDefault(limit)
	if int64(len(data)) > limit {
		return fault.New(fault.TooLarge, "the %s report is %d bytes, more than the limit of %d bytes", f, len(data), limit)
	}
	return nil
}

// ReadAll reads r to the end, failing with a [fault.TooLarge] error as
// soon as more than limit bytes ([DefaultMaxBytes] when limit is not
// positive) have arrived, so an oversized upload is never held whole.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	limit = limitOrDefault(limit)
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fault.New(fault.TooLarge, "the report is larger than the limit of %d bytes", limit)
	}
	return data, nil
}

// TrimBOM returns data without a leading UTF-8 byte-order mark, which
// some Windows tools write and JSON decoders reject.
func TrimBOM(data []byte) []byte {
	return bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
}

// Position returns the 1-based line and column (in bytes) of offset in
// data.
func Position(data []byte, offset int64) (line, col int) {
	if offset < 0 {
		offset = 0
	}
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = 1 + bytes.Count(before, []byte{'\n'})
	col = 1 + len(before) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, col
}

// CheckJSON makes one pass over data and returns a [fault.Invalid] error
// saying where when it does not start with a JSON object, nests arrays
// and objects deeper than [MaxDepth], or holds a string longer than
// [MaxStringBytes]. It does not check the rest of the syntax; the decoder
// does, and [DecodeError] says where it failed.
func CheckJSON(f Format, data []byte) error {
	data = TrimBOM(data)
	start := 0
	for start < len(data) && isSpace(data[start]) {
		start++
	}
	if start == len(data) {
		return fault.New(fault.Invalid, "the %s report is empty", f)
	}
	if data[start] != '{' {
		line, col := Position(data, int64(start))
		return fault.New(fault.Invalid, "the %s report is not a JSON object: it starts with %q at line %d, column %d", f, snippetAt(data, start), line, col)
	}
	depth := 0
	for i := start; i < len(data); i++ {
		switch data[i] {
		case '{', '[':
			depth++
			if depth > MaxDepth {
				line, col := Position(data, int64(i))
				return fault.New(fault.Invalid, "the %s report nests arrays and objects more than %d deep at line %d, column %d", f, MaxDepth, line, col)
			}
		case '}', ']':
			depth--
		case '"':
			j := i + 1
			for j < len(data) && data[j] != '"' {
				if data[j] == '\\' {
					j++
				}
				j++
			}
			if j-i-1 > MaxStringBytes {
				line, col := Position(data, int64(i))
				return fault.New(fault.Invalid, "the %s report has a string of more than %d bytes at line %d, column %d", f, MaxStringBytes, line, col)
			}
			i = j
		}
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// snippetAt returns up to 16 bytes of data from i, cut at a whole rune.
func snippetAt(data []byte, i int) string {
	end := min(i+16, len(data))
	for end > i && !utf8.Valid(data[i:end]) {
		end--
	}
	return string(data[i:end])
}

// DecodeError turns an error from decoding data as JSON into a
// [fault.Invalid] error that says what is wrong and where (line and
// column), keeping err as the cause. An error that already carries a
// fault code is returned as it is.
func DecodeError(f Format, data []byte, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*fault.Error](err); ok {
		return err
	}
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		if se.Error() == "unexpected end of JSON input" {
			line, col := Position(data, int64(len(data)))
			return fault.Wrap(err, fault.Invalid, "the %s report ends early at line %d, column %d: the JSON is truncated", f, line, col)
		}
		// Offset counts the bytes read, the offending one included.
		line, col := Position(data, se.Offset-1)
		return fault.Wrap(err, fault.Invalid, "the %s report is not valid JSON at line %d, column %d: %s", f, line, col, se.Error())
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		field := te.Field
		if field == "" {
			field = "(top level)"
		}
		// A decoder with its own UnmarshalJSON reports offsets within the
		// value it was given, not within the report: say where only when
		// the offset is seen to end that very field's value.
		if at, ok := valueEnd(data, te.Offset, te.Field); ok {
			line, col := Position(data, at)
			return fault.Wrap(err, fault.Invalid, "the %s report has a JSON %s where %s expects %s, at line %d, column %d", f, te.Value, field, kindName(te.Type), line, col)
		}
		return fault.Wrap(err, fault.Invalid, "the %s report has a JSON %s where %s expects %s", f, te.Value, field, kindName(te.Type))
	}
	return fault.Wrap(err, fault.Invalid, "the %s report could not be read: %v", f, err)
}

// valueEnd reports whether the offset of a type error is just past the
// value of field (or just inside it, for an object or array) as written
// in data: `"name": value`. It returns the offset of the value's last
// byte, or of its opening bracket.
func valueEnd(data []byte, offset int64, field string) (int64, bool) {
	if offset <= 0 || offset > int64(len(data)) || field == "" {
		return 0, false
	}
	key := field[strings.LastIndexByte(field, '.')+1:]
	before := data[:offset]
	i := bytes.LastIndex(before, []byte(`"`+key+`"`))
	if i < 0 {
		return 0, false
	}
	rest := bytes.TrimLeft(before[i+len(key)+2:], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return 0, false
	}
	v := bytes.TrimLeft(rest[1:], " \t\r\n")
	switch {
	case len(v) == 1 && (v[0] == '{' || v[0] == '['):
	case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && !bytes.ContainsAny(v, "\\") && bytes.Count(v, []byte{'"'}) == 2:
	case len(v) > 0 && !bytes.ContainsAny(v, "\"{}[],: \t\r\n"):
	default:
		return 0, false
	}
	return offset - 1, true
}

// kindName says in words what kind of JSON value t is decoded from.
func kindName(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a value"
}

// Valid reports whether f is one of [Formats].
func (f Format) Valid() bool { return slices.Contains(Formats, f) }
