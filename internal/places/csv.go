package places

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ParseCSV reads places from CSV with a header row naming the columns,
// in any order and case: name, category (the category properties of
// [Options]), lat, lon (also latitude, longitude) and radius_m (the
// radius property), and optionally id (the source's identifier); other
// columns are ignored. Every row is a circle; an empty radius takes the
// default radius of the row's category. Problems name the row by its line.
func ParseCSV(data []byte, opts Options) (*Batch, error) {
	r, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	if len(data) > r.Limits.MaxBytes {
		return nil, fileError("the file is %d bytes; the limit is %d", len(data), r.Limits.MaxBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1 // a short row is a problem of ours, with a better message
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fileError("the file is empty: a header row is required (name, category, lat, lon, radius_m)")
	}
	if err != nil {
		return nil, csvError(err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := col[h]; !dup && h != "" {
			col[h] = i
		}
	}
	find := func(names ...string) int {
		for _, n := range names {
			if i, ok := col[strings.ToLower(n)]; ok {
				return i
			}
		}
		return -1
	}
	latCol, lonCol := find("lat", "latitude"), find("lon", "lng", "longitude")
	nameCol, radiusCol, refCol := find(r.NameProperty), find(r.RadiusProperty), find(r.RefProperty)
	var missing []string
	if latCol < 0 {
		missing = append(missing, "lat")
	}
	if lonCol < 0 {
		missing = append(missing, "lon")
	}
	catCols := map[string]int{}
	for _, p := range r.props {
		if i := find(p); i >= 0 {
			catCols[p] = i
		}
	}
	if r.Category == "" && len(catCols) == 0 {
		missing = append(missing, strings.Join(r.props, " or "))
	}
	if len(missing) > 0 {
		return nil, &Error{Problems: []Problem{{Feature: -1, Line: 1, Message: fmt.Sprintf(
			"the header row lacks the column(s) %s; the first line must name the columns: name, category, lat, lon, radius_m", strings.Join(missing, ", "))}}}
	}

	b := &Batch{Format: CSV, Digest: digest(data)}
	var ps problems
	var sk skipped
	for rows := 0; ; rows++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// The reader cannot be trusted to resynchronise after a quoting
			// error: report it and stop.
			pe, _ := errors.AsType[*csv.ParseError](err)
			if pe == nil {
				return nil, csvError(err)
			}
			ps.add(Problem{Feature: -1, Line: pe.Line, Message: pe.Err.Error() + " (the rest of the file was not read)"})
			break
		}
		if rows >= r.Limits.MaxPlaces {
			return nil, fileError("the file holds more than %d rows; the limit is %d (split it)", r.Limits.MaxPlaces, r.Limits.MaxPlaces)
		}
		line, _ := cr.FieldPos(0)
		p, value, skip, rps := r.row(rec, line, latCol, lonCol, nameCol, radiusCol, refCol, catCols)
		if skip && r.SkipUnmapped {
			sk.add(value)
			continue
		}
		for _, rp := range rps {
			ps.add(rp)
		}
		if len(rps) == 0 {
			b.Places = append(b.Places, p)
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	b.Skipped, b.SkippedValues = sk.n, sk.top()
	return b, nil
}

func csvError(err error) error {
	if pe, ok := errors.AsType[*csv.ParseError](err); ok {
		return &Error{Problems: []Problem{{Feature: -1, Line: pe.Line, Message: pe.Err.Error()}}}
	}
	return fileError("the file cannot be read as CSV")
}

// row turns one CSV row into a place.
func (r *resolved) row(rec []string, line, latCol, lonCol, nameCol, radiusCol, refCol int, catCols map[string]int) (p Place, value string, skip bool, problems []Problem) {
	bad := func(field, format string, args ...any) {
		problems = append(problems, Problem{Feature: -1, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	field := func(i int) (string, bool) {
		if i < 0 || i >= len(rec) {
			return "", false
		}
		return strings.TrimSpace(rec[i]), true
	}
	cat, value, skippable, err := r.category(func(prop string) (string, bool, error) {
		i, has := catCols[prop]
		if !has {
			return "", false, nil
		}
		v, ok := field(i)
		return v, ok, nil
	})
	if skippable && r.SkipUnmapped {
		return Place{}, value, true, nil
	}
	if err != nil {
		fe := err.(*fieldError)
		bad(fe.field, "%s", fe.msg)
	}
	p.Category = cat
	if name, ok := field(nameCol); ok {
		p.Name = cleanName(name)
	}
	if ref, ok := field(refCol); ok {
		p.Ref = cleanRef(ref)
	}
	var coord [2]float64
	for k, c := range [2]struct {
		i    int
		name string
	}{{latCol, "lat"}, {lonCol, "lon"}} {
		s, ok := field(c.i)
		if !ok {
			bad(c.name, "missing: the row has %d fields", len(rec))
			return
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			bad(c.name, "want a decimal number of degrees, got %s", quote(s))
			return
		}
		coord[k] = f
	}
	radius := r.radius(cat)
	if s, ok := field(radiusCol); ok && s != "" {
		if radius, err = parseRadius(s); err != nil {
			bad(r.RadiusProperty, "%s", err.Error())
			return
		}
	}
	a, err := NewCircle(coord[0], coord[1], radius, r.Limits)
	if err != nil {
		fe := err.(*fieldError)
		name := fe.field
		if name == "radius_m" {
			name = r.RadiusProperty
		}
		bad(name, "%s", fe.msg)
		return
	}
	p.Area = a
	return
}
