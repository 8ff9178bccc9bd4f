package ledger

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// Entries are encoded on the writer's critical path (on SQLite inside the
// batch that one goroutine commits), so the canonical form is written
// directly instead of by marshaling and then canonicalizing (json.Marshal
// then jcs.Transform, about ten times slower). The direct writer handles the
// values an event can hold; for anything it is not sure of it reports
// false and [encode] takes the reference path, jcs.Transform, so that its
// output is always that of RFC 8785 as jcs implements it. Tests compare the
// two on generated and fuzzed entries.

// appendCanonical appends the RFC 8785 form of en to b, or reports false.
func appendCanonical(b []byte, en *Entry) ([]byte, bool) {
	if en.Seq < 0 || en.Seq > maxSafeInteger {
		return b, false
	}
	// Members in RFC 8785 order (UTF-16 code units; the names are ASCII).
	b = append(b, `{"actor":{"id":`...)
	b = appendString(b, en.Actor.ID)
	b = append(b, `,"kind":`...)
	b = appendString(b, en.Actor.Kind)
	b = append(b, '}')
	if en.Component != "" {
		b = append(b, `,"component":`...)
		b = appendString(b, en.Component)
	}
	if len(en.Data) > 0 {
		b = append(b, `,"data":`...)
		var ok bool
		if b, ok = appendValue(b, en.Data, 0); !ok {
			return b, false
		}
	}
	if en.Digest != "" {
		b = append(b, `,"digest":`...)
		b = appendString(b, en.Digest)
	}
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, en.Seq, 10)
	if en.Subject != "" {
		b = append(b, `,"subject":`...)
		b = appendString(b, en.Subject)
	}
	b = append(b, `,"time":`...)
	b = appendString(b, en.Time)
	b = append(b, `,"type":`...)
	b = appendString(b, en.Type)
	b = append(b, `,"v":`...)
	b = strconv.AppendInt(b, int64(en.Version), 10)
	return append(b, '}'), true
}

// appendValue appends a data value. Strings must be valid UTF-8, which
// [Event.Validate] has checked.
func appendValue(b []byte, v any, depth int) ([]byte, bool) {
	if depth > 32 {
		return b, false
	}
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), true
	case bool:
		return strconv.AppendBool(b, v), true
	case string:
		return appendString(b, v), true
	case int:
		return appendInt(b, int64(v))
	case int32:
		return appendInt(b, int64(v))
	case int64:
		return appendInt(b, v)
	case uint32:
		return appendInt(b, int64(v))
	case float64:
		return appendFloat(b, v)
	case json.Number:
		// Canonical numbers are the ES6 form of the double the literal
		// denotes; an invalid or out-of-range literal takes the reference
		// path, which reports it.
		if !isJSONNumber(string(v)) {
			return b, false
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return b, false
		}
		return appendFloat(b, f)
	case []string:
		if v == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']'), true
	case []any:
		if v == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendValue(b, x, depth+1); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case map[string]any:
		if v == nil {
			return append(b, "null"...), true
		}
		var buf [16]string
		keys := buf[:0]
		for k := range v {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareUTF16)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var ok bool
			if b, ok = appendValue(b, v[k], depth+1); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	}
	return b, false
}

// appendInt appends an integer as RFC 8785 does: as the double it denotes.
// Validation keeps integers within ±2⁵³, where that is the integer itself.
func appendInt(b []byte, n int64) ([]byte, bool) {
	if n > maxSafeInteger || n < -maxSafeInteger {
		return b, false
	}
	return strconv.AppendInt(b, n, 10), true
}

// appendFloat appends a double in the ECMAScript form RFC 8785 requires.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	s, err := jcs.NumberToJSON(f)
	if err != nil {
		return b, false
	}
	return append(b, s...), true
}

// appendString appends s as an RFC 8785 string: quotation mark and reverse
// solidus escaped, control characters escaped (the two-character forms
// where JSON has them, else \u00xx), everything else as it is.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// compareUTF16 orders strings by their UTF-16 code units, as RFC 8785
// orders object members. It differs from byte order only where a
// character beyond U+FFFF (a surrogate pair in UTF-16) meets one in
// U+E000–U+FFFF.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ua, ub := utf16Units(ra), utf16Units(rb)
			if ua[0] != ub[0] {
				return int(ua[0]) - int(ub[0])
			}
			return int(ua[1]) - int(ub[1])
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

// utf16Units returns r's UTF-16 code units; the second is 0 when there is
// only one.
func utf16Units(r rune) [2]uint16 {
	if r < 0x10000 {
		return [2]uint16{uint16(r), 0}
	}
	r -= 0x10000
	return [2]uint16{uint16(0xd800 + r>>10), uint16(0xdc00 + r&0x3ff)}
}

// isJSONNumber reports whether s is a number in the RFC 8259 grammar.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i == len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}
