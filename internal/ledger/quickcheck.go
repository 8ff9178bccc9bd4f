package ledger

import (
	"time"
)

// Verification decodes every entry to check its structure and sequence
// number. encoding/json costs several microseconds per entry, the largest
// part of verifying a ledger, so [quickCheck] first tries a scanner that
// recognizes well-formed entries in the compact form Probity writes. It is
// conservative: when it accepts an entry, [Decode] accepts it too with the
// same sequence number (FuzzQuickCheck checks that); anything it does not
// recognize (white space, escapes in the time, unknown or case-folded
// member names, null members, deep nesting) goes to [Decode], which then
// decides. So verification reports exactly what it reported before.

// quickCheck reports whether b is certainly an entry that [Decode] accepts
// and that says it is number seq.
func quickCheck(b []byte, seq int64) bool {
	if len(b) > MaxEntrySize {
		return false
	}
	s := scanner{b: b}
	var seen uint16
	var haveV, haveSeq, haveTime bool
	if !s.byte('{') {
		return false
	}
	for first := true; ; first = false {
		if s.peek() == '}' && first {
			break
		}
		if !first && !s.byte(',') {
			return false
		}
		key, ok := s.name()
		if !ok || !s.byte(':') {
			return false
		}
		bit := memberBit(key)
		if bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		switch string(key) {
		case "v":
			if !s.literal("1") {
				return false
			}
			haveV = true
		case "seq":
			n, ok := s.uint()
			if !ok || n != seq {
				return false
			}
			haveSeq = true
		case "time":
			t, ok := s.plainString()
			if !ok {
				return false
			}
			if _, err := time.Parse(TimeFormat, t); err != nil {
				return false
			}
			haveTime = true
		case "type", "component", "subject", "digest":
			if !s.string() {
				return false
			}
		case "actor":
			if !s.actor() {
				return false
			}
		case "data":
			if s.peek() != '{' || !s.value(0) {
				return false
			}
		}
		if s.peek() == '}' {
			break
		}
	}
	if !s.byte('}') || s.i != len(b) {
		return false
	}
	return haveV && haveSeq && haveTime
}

func memberBit(name []byte) uint16 {
	switch string(name) {
	case "v":
		return 1 << 0
	case "seq":
		return 1 << 1
	case "time":
		return 1 << 2
	case "type":
		return 1 << 3
	case "actor":
		return 1 << 4
	case "component":
		return 1 << 5
	case "subject":
		return 1 << 6
	case "data":
		return 1 << 7
	case "digest":
		return 1 << 8
	}
	return 0
}

// A scanner reads compact JSON: it fails on white space, which only makes
// quickCheck defer to Decode.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) byte(c byte) bool {
	if s.peek() != c {
		return false
	}
	s.i++
	return true
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// name reads a member name of lowercase ASCII letters.
func (s *scanner) name() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= 'a' && s.b[s.i] <= 'z' {
		s.i++
	}
	end := s.i
	if !s.byte('"') {
		return nil, false
	}
	return s.b[start:end], true
}

// uint reads a non-negative integer of at most 18 digits, without a
// leading zero: one that an int64 holds exactly.
func (s *scanner) uint() (int64, bool) {
	start := s.i
	var n int64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		n = n*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	d := s.i - start
	if d == 0 || d > 18 || (d > 1 && s.b[start] == '0') {
		return 0, false
	}
	// A fraction or exponent would not decode into an int64.
	switch s.peek() {
	case ',', '}':
		return n, true
	}
	return 0, false
}

// plainString reads a string of printable ASCII without escapes.
func (s *scanner) plainString() (string, bool) {
	if !s.byte('"') {
		return "", false
	}
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= 0x20 && s.b[s.i] < 0x7f && s.b[s.i] != '"' && s.b[s.i] != '\\' {
		s.i++
	}
	end := s.i
	if !s.byte('"') {
		return "", false
	}
	return string(s.b[start:end]), true
}

// string reads any valid JSON string. (encoding/json decodes bytes that are
// not UTF-8 as U+FFFD rather than failing, so they are accepted here too.)
func (s *scanner) string() bool {
	if !s.byte('"') {
		return false
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		s.i++
		switch {
		case c == '"':
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if s.i >= len(s.b) {
				return false
			}
			e := s.b[s.i]
			s.i++
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(s.b)-s.i < 4 {
					return false
				}
				for _, h := range s.b[s.i : s.i+4] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				s.i += 4
			default:
				return false
			}
		}
	}
	return false
}

// actor reads an actor object: members id and kind, strings.
func (s *scanner) actor() bool {
	if !s.byte('{') {
		return false
	}
	var id, kind bool
	for first := true; ; first = false {
		if s.peek() == '}' {
			s.i++
			return true
		}
		if !first && !s.byte(',') {
			return false
		}
		key, ok := s.name()
		if !ok || !s.byte(':') {
			return false
		}
		switch {
		case string(key) == "id" && !id:
			id = true
		case string(key) == "kind" && !kind:
			kind = true
		default:
			return false
		}
		if !s.string() {
			return false
		}
	}
}

// value reads any compact JSON value nested at most 32 deep.
func (s *scanner) value(depth int) bool {
	if depth > 32 {
		return false
	}
	switch c := s.peek(); {
	case c == '{':
		s.i++
		for first := true; ; first = false {
			if s.peek() == '}' {
				s.i++
				return true
			}
			if !first && !s.byte(',') {
				return false
			}
			if !s.string() || !s.byte(':') || !s.value(depth+1) {
				return false
			}
		}
	case c == '[':
		s.i++
		for first := true; ; first = false {
			if s.peek() == ']' {
				s.i++
				return true
			}
			if !first && !s.byte(',') {
				return false
			}
			if !s.value(depth + 1) {
				return false
			}
		}
	case c == '"':
		return s.string()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return false
}

// number reads a number in the RFC 8259 grammar.
func (s *scanner) number() bool {
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			s.i++
			continue
		}
		break
	}
	return isJSONNumber(string(s.b[start:s.i]))
}
