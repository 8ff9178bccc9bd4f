package storewatch

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/fault"
)

// A Path picks values out of a JSON document: object keys joined by dots,
// array indexes in brackets, and [*] for every element of an array.
//
//	version                 the "version" key of the top-level object
//	data.latest.version     nested objects
//	results[0].version      the first element of an array
//	releases[*].version     the "version" of every element
//	[*].tag_name            every element of a top-level array
//	data["build.number"]    a key that holds a dot, a bracket or a space
//
// A leading "$" or "$." (as in JSONPath) is accepted and ignored.
type Path []step

// A step is one key, one index or every element.
type step struct {
	key   string
	index int // -1: every element ([*]); ≥ 0: that element; unused for keys
	isKey bool
}

// Path limits.
const (
	MaxPathLen   = 512 // bytes
	MaxPathSteps = 32
	maxIndex     = 1_000_000
)

// ParsePath parses a path in the syntax [Path] describes.
func ParsePath(s string) (Path, error) {
	bad := func(format string, args ...any) (Path, error) {
		return nil, fault.New(fault.Invalid, "path %q: "+format, append([]any{clip(s)}, args...)...)
	}
	switch {
	case s == "":
		return bad("empty; name the field that holds the version, e.g. results[0].version")
	case len(s) > MaxPathLen:
		return bad("longer than %d bytes", MaxPathLen)
	case !utf8.ValidString(s):
		return bad("not valid UTF-8")
	}
	rest := s
	if strings.HasPrefix(rest, "$.") {
		rest = rest[2:]
	} else if strings.HasPrefix(rest, "$[") {
		rest = rest[1:]
	}
	if rest == "" {
		return bad("empty after $")
	}
	var p Path
	for rest != "" {
		if len(p) == MaxPathSteps {
			return bad("more than %d steps", MaxPathSteps)
		}
		at := len(s) - len(rest) // byte offset, for messages
		switch {
		case rest[0] == '[' && len(rest) > 1 && rest[1] == '"':
			end := closingQuote(rest[1:]) + 1 // index in rest of the closing quote
			if end == 0 {
				return bad("unterminated quoted key at byte %d", at)
			}
			if end+1 >= len(rest) || rest[end+1] != ']' {
				return bad("the quoted key at byte %d is not followed by ]", at)
			}
			var key string
			if err := json.Unmarshal([]byte(rest[1:end+1]), &key); err != nil {
				return bad("bad quoted key at byte %d", at)
			}
			if key == "" {
				return bad("empty key at byte %d", at)
			}
			p = append(p, step{key: key, isKey: true})
			rest = rest[end+2:]
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return bad("unterminated [ at byte %d", at)
			}
			in := rest[1:end]
			switch {
			case in == "*":
				p = append(p, step{index: -1})
			case in == "":
				return bad("empty [] at byte %d; use [*] for every element or [N] for one", at)
			case strings.ContainsFunc(in, func(r rune) bool { return r < '0' || r > '9' }):
				return bad("[%s] at byte %d: an index is a number from 0, or * for every element", clip(in), at)
			default:
				n, err := strconv.Atoi(in)
				if err != nil || n > maxIndex {
					return bad("index [%s] at byte %d is larger than %d", clip(in), at, maxIndex)
				}
				p = append(p, step{index: n})
			}
			rest = rest[end+1:]
		case len(p) == 0 || rest[0] == '.':
			if rest[0] == '.' {
				if len(p) == 0 {
					return bad("starts with a dot")
				}
				rest, at = rest[1:], at+1
			}
			end := strings.IndexAny(rest, ".[]")
			if end < 0 {
				end = len(rest)
			}
			key := rest[:end]
			switch {
			case key == "":
				return bad("empty key at byte %d", at)
			case strings.ContainsFunc(key, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' }):
				return bad("key %q holds a space, a control character or a quote; write it as [\"…\"]", clip(key))
			}
			p = append(p, step{key: key, isKey: true})
			rest = rest[end:]
		case rest[0] == ']':
			return bad("unexpected ] at byte %d", at)
		default:
			return bad("a key at byte %d must follow a dot", at)
		}
	}
	return p, nil
}

// closingQuote returns the index in s (which starts with a quote) of the
// quote that closes it, or -1.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// String returns p in canonical form: ParsePath(p.String()) is p.
func (p Path) String() string {
	var b strings.Builder
	for i, st := range p {
		switch {
		case !st.isKey && st.index < 0:
			b.WriteString("[*]")
		case !st.isKey:
			b.WriteString("[" + strconv.Itoa(st.index) + "]")
		case bareKey(st.key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(st.key)
		default:
			q, _ := json.Marshal(st.key)
			b.WriteString("[" + string(q) + "]")
		}
	}
	return b.String()
}

// bareKey reports whether key may be written without quotes.
func bareKey(key string) bool {
	return key != "" && key[0] != '$' && !strings.ContainsFunc(key, func(r rune) bool {
		return r == '.' || r == '[' || r == ']' || r == '"' || unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError
	})
}

// wildcards returns how many [*] steps p has.
func (p Path) wildcards() int {
	n := 0
	for _, st := range p {
		if !st.isKey && st.index < 0 {
			n++
		}
	}
	return n
}

// A match is a value a path picked, with the indexes its [*] steps took.
type match struct {
	value any
	at    []int
}

// eval returns the values p picks in doc, a document decoded with
// json.Decoder.UseNumber. Under a [*] step an element where the rest of
// the path is absent (or null) is skipped; elsewhere an absent step is an
// error, as is a step of the wrong kind (a key into an array, say).
func (p Path) eval(doc any) ([]match, error) {
	var out []match
	var walk func(v any, i int, at []int) error
	walk = func(v any, i int, at []int) error {
		under := len(at) > 0
		if i == len(p) {
			switch {
			case v != nil:
				out = append(out, match{v, at})
			case !under:
				return fault.New(fault.Invalid, "%s is null", p)
			}
			return nil
		}
		st := p[i]
		switch {
		case st.isKey:
			obj, ok := v.(map[string]any)
			if !ok {
				if v == nil && under {
					return nil
				}
				return wrongKind(p[:i], v, "an object")
			}
			next, ok := obj[st.key]
			if !ok || next == nil {
				if under {
					return nil
				}
				return fault.New(fault.Invalid, "no field %s", p[:i+1])
			}
			return walk(next, i+1, at)
		default:
			arr, ok := v.([]any)
			if !ok {
				if v == nil && under {
					return nil
				}
				return wrongKind(p[:i], v, "an array")
			}
			if st.index >= 0 {
				if st.index >= len(arr) {
					if under {
						return nil
					}
					return fault.New(fault.Invalid, "no field %s: the array has %d elements", p[:i+1], len(arr))
				}
				return walk(arr[st.index], i+1, at)
			}
			for j, e := range arr {
				if err := walk(e, i+1, append(at[:len(at):len(at)], j)); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if err := walk(doc, 0, nil); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fault.New(fault.Invalid, "no field %s: no element has it", p)
	}
	return out, nil
}

func wrongKind(prefix Path, v any, want string) error {
	where := prefix.String()
	if where == "" {
		where = "the document"
	}
	return fault.New(fault.Invalid, "%s is %s, not %s", where, kindOf(v), want)
}

// kindOf names a decoded JSON value's kind.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "a value"
}
