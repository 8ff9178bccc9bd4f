package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/cedar-policy/cedar-go/types"
)

// Inputs are recorded with every decision and decoded again, by the
// hundred thousand, for impact analysis. cedar-go's JSON codecs, stacked on
// encoding/json, take some 40 µs a record each way; this codec writes and
// reads the same format — Cedar's JSON entity format with explicit
// __entity and __extn escapes, which cedar-go reads too (a test and a
// fuzzer hold the two to each other) — about ten times faster.

// MarshalJSON encodes the input in Cedar's JSON formats, with entities
// ordered by UID and record members by name, so that equal inputs encode
// equally.
func (in *Input) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 1024)
	b = append(b, `{"principal":`...)
	b = appendUID(b, in.Principal)
	b = append(b, `,"action":`...)
	b = appendUID(b, in.Action)
	b = append(b, `,"resource":`...)
	b = appendUID(b, in.Resource)
	b = append(b, `,"context":`...)
	var err error
	if b, err = appendValue(b, in.Context, 0); err != nil {
		return nil, err
	}
	b = append(b, `,"entities":[`...)
	uids := slices.SortedFunc(maps.Keys(in.Entities), func(a, b types.EntityUID) int { return strings.Compare(a.String(), b.String()) })
	for i, uid := range uids {
		e := in.Entities[uid]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"uid":`...)
		b = appendUID(b, e.UID)
		b = append(b, `,"parents":[`...)
		parents := slices.SortedFunc(e.Parents.All(), func(a, b types.EntityUID) int { return strings.Compare(a.String(), b.String()) })
		for j, p := range parents {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendUID(b, p)
		}
		b = append(b, `],"attrs":`...)
		if b, err = appendValue(b, e.Attributes, 0); err != nil {
			return nil, err
		}
		b = append(b, `,"tags":`...)
		if b, err = appendValue(b, e.Tags, 0); err != nil {
			return nil, err
		}
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// UnmarshalJSON decodes an input encoded by [Input.MarshalJSON]. Every
// member is required; unknown members, duplicate entities and trailing
// data are errors.
func (in *Input) UnmarshalJSON(b []byte) error {
	d := decoder{b: b}
	v, err := d.input()
	if err != nil {
		return fmt.Errorf("decision input: %w", err)
	}
	*in = v
	return nil
}

const maxDepth = 32

func appendUID(b []byte, u types.EntityUID) []byte {
	b = append(b, `{"__entity":{"type":`...)
	b = appendString(b, string(u.Type))
	b = append(b, `,"id":`...)
	b = appendString(b, string(u.ID))
	return append(b, "}}"...)
}

func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(s) // escapes, and replaces invalid UTF-8
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendValue(b []byte, v types.Value, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errors.New("decision input: values nested too deeply")
	}
	var err error
	switch v := v.(type) {
	case types.String:
		return appendString(b, string(v)), nil
	case types.Boolean:
		return strconv.AppendBool(b, bool(v)), nil
	case types.Long:
		return strconv.AppendInt(b, int64(v), 10), nil
	case types.EntityUID:
		return appendUID(b, v), nil
	case types.Decimal:
		b = append(b, `{"__extn":{"fn":"decimal","arg":`...)
		b = appendString(b, v.String())
		return append(b, "}}"...), nil
	case types.Set:
		// Elements in the order of their encodings: a set has no order of
		// its own, and equal inputs encode equally.
		elems := make([][]byte, 0, v.Len())
		for e := range v.All() {
			eb, err := appendValue(nil, e, depth+1)
			if err != nil {
				return nil, err
			}
			elems = append(elems, eb)
		}
		slices.SortFunc(elems, bytes.Compare)
		b = append(b, '[')
		for i, eb := range elems {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, eb...)
		}
		return append(b, ']'), nil
	case types.Record:
		b = append(b, '{')
		for i, k := range slices.Sorted(v.Keys()) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, string(k))
			b = append(b, ':')
			e, _ := v.Get(k)
			if b, err = appendValue(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case types.IPAddr, types.Datetime, types.Duration:
		j, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return append(b, j...), nil
	}
	return nil, fmt.Errorf("decision input: cannot encode a %T", v)
}

// A decoder reads the JSON an input is recorded in.
type decoder struct {
	b []byte
	i int
	// cache, when set, keeps the entities decoded so far by their JSON
	// text: the recorded decisions of one analysis name the same people,
	// cases and sources over and over.
	cache *entityCache
	// entityErr is the first schema validation error of an entity read
	// through the cache.
	entityErr error
}

// An entityCache holds decoded entities by their JSON text, and whether
// each conforms to the schema. It is not safe for concurrent use.
type entityCache struct {
	m map[string]cachedEntity
}

type cachedEntity struct {
	e   types.Entity
	err error // the schema validation's verdict
}

// maxCachedEntities bounds an entity cache; a full cache starts over.
const maxCachedEntities = 1 << 14

// cachedEntity reads an entity, from the cache when its text was seen
// before.
func (d *decoder) cachedEntity() (types.Entity, error) {
	if d.cache == nil {
		return d.entity()
	}
	d.space()
	start := d.i
	if err := d.skip(0); err != nil {
		return types.Entity{}, err
	}
	if c, ok := d.cache.m[string(d.b[start:d.i])]; ok {
		if d.entityErr == nil {
			d.entityErr = c.err
		}
		return c.e, nil
	}
	end := d.i
	d.i = start
	e, err := d.entity()
	if err != nil {
		return e, err
	}
	if d.i != end {
		return e, d.errorf("a malformed entity")
	}
	if len(d.cache.m) >= maxCachedEntities {
		clear(d.cache.m)
	}
	c := cachedEntity{e: e, err: checkEntity(e)}
	d.cache.m[string(d.b[start:end])] = c
	if d.entityErr == nil {
		d.entityErr = c.err
	}
	return e, nil
}

// skip moves past one JSON value without decoding it, checking only that
// strings, objects and arrays are closed.
func (d *decoder) skip(depth int) error {
	if depth > maxDepth {
		return d.errorf("values nested too deeply")
	}
	switch c := d.peek(); c {
	case '"':
		for j := d.i + 1; j < len(d.b); j++ {
			switch d.b[j] {
			case '\\':
				j++
			case '"':
				d.i = j + 1
				return nil
			}
		}
		return d.errorf("an unterminated string")
	case '{', '[':
		close := byte('}')
		if c == '[' {
			close = ']'
		}
		d.i++
		for first := true; ; first = false {
			if d.peek() == close {
				d.i++
				return nil
			}
			if !first {
				if err := d.expect(','); err != nil {
					return err
				}
			}
			if c == '{' {
				if err := d.skip(depth + 1); err != nil {
					return err
				}
				if err := d.expect(':'); err != nil {
					return err
				}
			}
			if err := d.skip(depth + 1); err != nil {
				return err
			}
		}
	case 0:
		return d.errorf("unexpected end of input")
	}
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return nil
		}
		d.i++
	}
	return nil
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: %s", d.i, fmt.Sprintf(format, args...))
}

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (d *decoder) peek() byte {
	d.space()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *decoder) expect(c byte) error {
	if d.peek() != c {
		return d.errorf("expected %q", c)
	}
	d.i++
	return nil
}

// object calls member for each member of an object.
func (d *decoder) object(member func(key string) error) error {
	if err := d.expect('{'); err != nil {
		return err
	}
	if d.peek() == '}' {
		d.i++
		return nil
	}
	for {
		key, err := d.str()
		if err != nil {
			return err
		}
		if err := d.expect(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return d.errorf("expected ',' or '}'")
		}
	}
}

// array calls elem for each element of an array.
func (d *decoder) array(elem func() error) error {
	if err := d.expect('['); err != nil {
		return err
	}
	if d.peek() == ']' {
		d.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return d.errorf("expected ',' or ']'")
		}
	}
}

func (d *decoder) str() (string, error) {
	if d.peek() != '"' {
		return "", d.errorf("expected a string")
	}
	start := d.i + 1
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			s := d.b[start:j]
			if !utf8.Valid(s) {
				return "", d.errorf("a string is not valid UTF-8")
			}
			d.i = j + 1
			return string(s), nil
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", d.errorf("a control character in a string")
		}
	}
	return "", d.errorf("an unterminated string")
}

// escaped decodes a string with escapes, starting after its opening quote.
func (d *decoder) escaped(start int) (string, error) {
	var sb strings.Builder
	j := start
	for j < len(d.b) {
		c := d.b[j]
		switch {
		case c == '"':
			d.i = j + 1
			s := sb.String()
			if !utf8.ValidString(s) {
				return "", d.errorf("a string is not valid UTF-8")
			}
			return s, nil
		case c < 0x20:
			return "", d.errorf("a control character in a string")
		case c != '\\':
			sb.WriteByte(c)
			j++
			continue
		}
		if j+1 >= len(d.b) {
			break
		}
		e := d.b[j+1]
		j += 2
		switch e {
		case '"', '\\', '/':
			sb.WriteByte(e)
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'u':
			r, n, ok := hex4(d.b[j:])
			if !ok {
				return "", d.errorf("a bad \\u escape")
			}
			j += n
			if utf16.IsSurrogate(r) {
				r2, n2, ok := rune(0), 0, false
				if j+1 < len(d.b) && d.b[j] == '\\' && d.b[j+1] == 'u' {
					r2, n2, ok = hex4(d.b[j+2:])
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
					r = dec
					j += 2 + n2
				} else {
					r = utf8.RuneError
				}
			}
			sb.WriteRune(r)
		default:
			return "", d.errorf("a bad escape")
		}
	}
	return "", d.errorf("an unterminated string")
}

func hex4(b []byte) (rune, int, bool) {
	if len(b) < 4 {
		return 0, 0, false
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 32)
	return rune(n), 4, err == nil
}

func (d *decoder) literal(word string) bool {
	if strings.HasPrefix(string(d.b[d.i:min(len(d.b), d.i+len(word))]), word) {
		d.i += len(word)
		return true
	}
	return false
}

func (d *decoder) value(depth int) (types.Value, error) {
	if depth > maxDepth {
		return nil, d.errorf("values nested too deeply")
	}
	switch c := d.peek(); {
	case c == '"':
		s, err := d.str()
		return types.String(s), err
	case c == 't' && d.literal("true"):
		return types.True, nil
	case c == 'f' && d.literal("false"):
		return types.False, nil
	case c == '-' || (c >= '0' && c <= '9'):
		j := d.i
		if d.b[j] == '-' {
			j++
		}
		for j < len(d.b) && d.b[j] >= '0' && d.b[j] <= '9' {
			j++
		}
		digits := string(d.b[d.i:j])
		if j < len(d.b) && (d.b[j] == '.' || d.b[j] == 'e' || d.b[j] == 'E') {
			return nil, d.errorf("a number that is not a whole number")
		}
		if digits == "-0" || (len(digits) > 1 && digits[0] == '0') || (len(digits) > 2 && digits[:2] == "-0") {
			return nil, d.errorf("a malformed number")
		}
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return nil, d.errorf("a number out of range")
		}
		d.i = j
		return types.Long(n), nil
	case c == '[':
		var vs []types.Value
		err := d.array(func() error {
			v, err := d.value(depth + 1)
			if err != nil {
				return err
			}
			vs = append(vs, v)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return types.NewSet(vs...), nil
	case c == '{':
		return d.objectValue(depth)
	}
	return nil, d.errorf("expected a value")
}

// objectValue reads a record, or an entity UID or extension value in
// their escaped forms.
func (d *decoder) objectValue(depth int) (types.Value, error) {
	m := types.RecordMap{}
	err := d.object(func(key string) error {
		if _, dup := m[types.String(key)]; dup {
			return d.errorf("member %q appears twice", key)
		}
		v, err := d.value(depth + 1)
		m[types.String(key)] = v
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(m) != 1 {
		return types.NewRecord(m), nil
	}
	if e, ok := m["__entity"]; ok {
		r, ok := e.(types.Record)
		typ, okT := fieldString(r, "type")
		id, okI := fieldString(r, "id")
		if !ok || !okT || !okI || r.Len() != 2 {
			return nil, d.errorf("a malformed __entity")
		}
		if _, err := types.NewEntityType(typ); err != nil {
			return nil, d.errorf("entity type %q: %v", typ, err)
		}
		return types.NewEntityUID(types.EntityType(typ), types.String(id)), nil
	}
	if e, ok := m["__extn"]; ok {
		r, ok := e.(types.Record)
		fn, okF := fieldString(r, "fn")
		arg, okA := fieldString(r, "arg")
		if !ok || !okF || !okA || r.Len() != 2 {
			return nil, d.errorf("a malformed __extn")
		}
		var v types.Value
		var err error
		switch fn {
		case "decimal":
			v, err = types.ParseDecimal(arg)
		case "ip":
			v, err = types.ParseIPAddr(arg)
		case "datetime":
			v, err = types.ParseDatetime(arg)
		case "duration":
			v, err = types.ParseDuration(arg)
		default:
			return nil, d.errorf("unknown extension %q", fn)
		}
		if err != nil {
			return nil, d.errorf("%s %q: %v", fn, arg, err)
		}
		return v, nil
	}
	return types.NewRecord(m), nil
}

func fieldString(r types.Record, name string) (string, bool) {
	v, ok := r.Get(types.String(name))
	if !ok {
		return "", false
	}
	s, ok := v.(types.String)
	return string(s), ok
}

func (d *decoder) uid(depth int) (types.EntityUID, error) {
	v, err := d.value(depth)
	if err != nil {
		return types.EntityUID{}, err
	}
	u, ok := v.(types.EntityUID)
	if !ok {
		return types.EntityUID{}, d.errorf("expected an entity reference")
	}
	return u, nil
}

func (d *decoder) record(depth int) (types.Record, error) {
	v, err := d.value(depth)
	if err != nil {
		return types.Record{}, err
	}
	r, ok := v.(types.Record)
	if !ok {
		return types.Record{}, d.errorf("expected a record")
	}
	return r, nil
}

func (d *decoder) entity() (types.Entity, error) {
	var e types.Entity
	seen := 0
	err := d.object(func(key string) error {
		if seen&entityMember(key) != 0 {
			return d.errorf("member %q appears twice", key)
		}
		var err error
		switch key {
		case "uid":
			seen |= 1
			e.UID, err = d.uid(1)
		case "parents":
			seen |= 2
			var ps []types.EntityUID
			err = d.array(func() error {
				p, err := d.uid(2)
				ps = append(ps, p)
				return err
			})
			e.Parents = types.NewEntityUIDSet(ps...)
		case "attrs":
			seen |= 4
			e.Attributes, err = d.record(1)
		case "tags":
			seen |= 8
			e.Tags, err = d.record(1)
		default:
			return d.errorf("unknown entity member %q", key)
		}
		return err
	})
	if err == nil && seen&7 != 7 {
		err = d.errorf("an entity needs uid, parents and attrs")
	}
	return e, err
}

// entityMember returns the bit of an entity's member in a set of those
// seen.
func entityMember(key string) int {
	switch key {
	case "uid":
		return 1
	case "parents":
		return 2
	case "attrs":
		return 4
	case "tags":
		return 8
	}
	return 0
}

func (d *decoder) input() (Input, error) {
	var in Input
	seen := map[string]bool{}
	err := d.object(func(key string) error {
		if seen[key] {
			return d.errorf("member %q appears twice", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "principal":
			in.Principal, err = d.uid(0)
		case "action":
			in.Action, err = d.uid(0)
		case "resource":
			in.Resource, err = d.uid(0)
		case "context":
			in.Context, err = d.record(0)
		case "entities":
			in.Entities = types.EntityMap{}
			err = d.array(func() error {
				e, err := d.cachedEntity()
				if err != nil {
					return err
				}
				if _, dup := in.Entities[e.UID]; dup {
					return d.errorf("entity %s appears twice", e.UID)
				}
				in.Entities[e.UID] = e
				return nil
			})
		default:
			return d.errorf("unknown member %q", key)
		}
		return err
	})
	if err != nil {
		return Input{}, err
	}
	if len(seen) != 5 {
		return Input{}, errors.New("an input needs principal, action, resource, context and entities")
	}
	if d.peek() != 0 {
		return Input{}, d.errorf("data after the input")
	}
	return in, nil
}
