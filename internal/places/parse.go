package places

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// A Format is a file format places are imported from.
type Format string

// Formats.
const (
	GeoJSON Format = "geojson" // a FeatureCollection (RFC 7946) of Points, Polygons and MultiPolygons
	CSV     Format = "csv"     // name, category, lat, lon, radius_m, with a header row
)

// ParseFormat returns the format named s.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case GeoJSON, CSV:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %s; want geojson or csv", quote(s))
}

// Options say how a file's features or rows become places.
type Options struct {
	// CategoryProperty names the GeoJSON property (CSV column) that holds
	// a place's category, or several, comma-separated, tried in order
	// (e.g. "social_facility,amenity,healthcare" for OpenStreetMap tags).
	// Empty means "category".
	CategoryProperty string
	// Category, when set, is the category of every place of the file; the
	// category property is then not read.
	Category Category
	// Values maps what a category property holds to a category, keyed
	// "property=value" (e.g. "amenity=courthouse") or "value". Nil means
	// [OSMValues]. A value mapped to "" is not a protected place. A value
	// that is not mapped but names a category ("school") is that category.
	Values map[string]Category
	// NameProperty, RadiusProperty and RefProperty name the properties
	// (columns) of a place's name, radius in metres and source identifier.
	// Empty means "name", "radius_m" and "id".
	NameProperty, RadiusProperty, RefProperty string
	// DefaultRadiusM gives the radius of points without one, by category;
	// categories it leaves out get [DefaultRadiusM].
	DefaultRadiusM map[Category]float64
	// SkipUnmapped skips features and rows without a category, or whose
	// category property holds a value that is not a protected place (an
	// OpenStreetMap extract's cafés and bicycle parking), instead of
	// refusing the file. They are counted in [Batch.Skipped].
	SkipUnmapped bool
	Limits       Limits
}

// OSMValues returns the default mapping of OpenStreetMap tags to
// categories. amenity=shelter (a roof against the weather) is explicitly
// not a shelter.
func OSMValues() map[string]Category {
	return map[string]Category{
		"amenity=place_of_worship":        PlaceOfWorship,
		"amenity=monastery":               PlaceOfWorship,
		"building=church":                 PlaceOfWorship,
		"building=mosque":                 PlaceOfWorship,
		"building=synagogue":              PlaceOfWorship,
		"building=temple":                 PlaceOfWorship,
		"amenity=hospital":                Medical,
		"amenity=clinic":                  Medical,
		"amenity=doctors":                 Medical,
		"amenity=dentist":                 Medical,
		"healthcare=hospital":             Medical,
		"healthcare=clinic":               Medical,
		"healthcare=doctor":               Medical,
		"healthcare=dentist":              Medical,
		"healthcare=centre":               Medical,
		"healthcare=psychotherapist":      Medical,
		"healthcare=counselling":          Medical,
		"healthcare=rehabilitation":       Medical,
		"healthcare=birthing_centre":      Medical,
		"amenity=school":                  School,
		"amenity=kindergarten":            School,
		"amenity=childcare":               School,
		"amenity=college":                 School,
		"amenity=university":              School,
		"building=school":                 School,
		"amenity=courthouse":              Court,
		"amenity=refugee_site":            Shelter,
		"social_facility=shelter":         Shelter,
		"amenity=social_facility":         SocialServices,
		"social_facility=group_home":      SocialServices,
		"social_facility=assisted_living": SocialServices,
		"social_facility=nursing_home":    SocialServices,
		"social_facility=outreach":        SocialServices,
		"social_facility=food_bank":       SocialServices,
		"social_facility=soup_kitchen":    SocialServices,
		"social_facility=day_care":        SocialServices,
		"amenity=embassy":                 Diplomatic,
		"office=diplomatic":               Diplomatic,
		"amenity=shelter":                 "",
	}
}

// A Batch is what one file holds: the places to import, and what was
// skipped.
type Batch struct {
	Format Format
	// Digest is the SHA-256 of the file, "sha256:" and hex, as recorded.
	Digest string
	Places []Place
	// Skipped counts the features or rows skipped with
	// [Options.SkipUnmapped]; SkippedValues counts them by what their
	// category property held ("" for none), for the 20 most frequent.
	Skipped       int
	SkippedValues map[string]int
}

// Counts returns the number of places of each category.
func (b *Batch) Counts() map[Category]int {
	out := map[Category]int{}
	for _, p := range b.Places {
		out[p.Category]++
	}
	return out
}

// Parse reads the places of a file in the given format. A file with any
// bad feature or row is refused whole, with an [*Error] listing the
// problems (the first [MaxProblems] of them).
func Parse(format Format, data []byte, opts Options) (*Batch, error) {
	switch format {
	case GeoJSON:
		return ParseGeoJSON(data, opts)
	case CSV:
		return ParseCSV(data, opts)
	}
	return nil, &Error{Problems: []Problem{{Feature: -1, Message: fmt.Sprintf("unknown format %s; want geojson or csv", quote(string(format)))}}}
}

// digest returns the digest of a file as a Batch records it.
func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// MaxProblems is how many problems an [*Error] lists.
const MaxProblems = 20

// A Problem is what is wrong with one feature or row of a file, or with
// the file as a whole.
type Problem struct {
	// Feature is the feature's position in the FeatureCollection, from 0;
	// -1 for CSV rows and for the file as a whole.
	Feature int
	// Line is the line of the CSV row, or of the start of the feature,
	// from 1; 0 when unknown.
	Line int
	// Field names the offending member or column ("geometry.coordinates[0]",
	// "properties.radius_m", "lat"); "" when the row or file is at fault.
	Field   string
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.Feature >= 0 && p.Line > 0:
		fmt.Fprintf(&b, "feature %d (line %d)", p.Feature, p.Line)
	case p.Feature >= 0:
		fmt.Fprintf(&b, "feature %d", p.Feature)
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d", p.Line)
	}
	if p.Field != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(p.Field)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// An Error is a refused file: its problems, and how many more there were
// than it lists.
type Error struct {
	Problems []Problem
	More     int
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("the file was not imported (nothing was): ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "; and %d more problems", e.More)
	}
	return b.String()
}

// problems collects a file's problems.
type problems struct {
	list []Problem
	more int
}

func (ps *problems) add(p Problem) {
	if len(ps.list) < MaxProblems {
		ps.list = append(ps.list, p)
	} else {
		ps.more++
	}
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	return &Error{Problems: ps.list, More: ps.more}
}

func fileError(format string, args ...any) error {
	return &Error{Problems: []Problem{{Feature: -1, Message: fmt.Sprintf(format, args...)}}}
}

// resolved are Options with their defaults applied.
type resolved struct {
	Options
	props []string
}

func (o Options) resolve() (resolved, error) {
	r := resolved{Options: o}
	r.Limits = o.Limits.withDefaults()
	if r.Values == nil {
		r.Values = OSMValues()
	}
	if r.NameProperty == "" {
		r.NameProperty = "name"
	}
	if r.RadiusProperty == "" {
		r.RadiusProperty = "radius_m"
	}
	if r.RefProperty == "" {
		r.RefProperty = "id"
	}
	if r.Category != "" {
		if !r.Category.Valid() {
			return r, fileError("unknown category %s for the whole file", quote(string(r.Category)))
		}
		if !r.Category.Importable() {
			return r, fileError("%s", homesRefused)
		}
	}
	cp := r.CategoryProperty
	if strings.TrimSpace(cp) == "" {
		cp = "category"
	}
	for _, p := range strings.Split(cp, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(r.props, p) {
			r.props = append(r.props, p)
		}
	}
	if len(r.props) == 0 {
		return r, fileError("the category property %s names no property", quote(cp))
	}
	for c, m := range r.DefaultRadiusM {
		if !(m > 0) || m > r.Limits.MaxRadiusM {
			return r, fileError("the default radius of %s must be more than 0 and at most %g m, not %g", c, r.Limits.MaxRadiusM, m)
		}
	}
	return r, nil
}

// homesRefused explains why no place may be an employee's home.
const homesRefused = "employees' homes are never imported as places: they are kept only as keyed hashes of the cells around them; set each one on its own (probity places home)"

// radius returns the default radius of category c.
func (r *resolved) radius(c Category) float64 {
	if m, ok := r.DefaultRadiusM[c]; ok {
		return m
	}
	return DefaultRadiusM(c)
}

// category resolves a place's category from the values of its category
// properties (get returns a property's value and whether it is set). When
// no category results, skippable says whether [Options.SkipUnmapped] may
// skip the place, and value is what its category property held ("" for
// nothing), for the skipped counts.
func (r *resolved) category(get func(prop string) (string, bool, error)) (c Category, value string, skippable bool, err error) {
	if r.Category != "" {
		return r.Category, "", false, nil
	}
	first, firstProp := "", ""
	for _, p := range r.props {
		v, ok, err := get(p)
		if err != nil {
			return "", "", false, err
		}
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			continue
		}
		if first == "" {
			first, firstProp = v, p
		}
		c, mapped := r.Values[p+"="+v]
		if !mapped {
			c, mapped = r.Values[v]
		}
		if !mapped && Category(v).Valid() {
			c, mapped = Category(v), true
		}
		if !mapped || c == "" {
			continue
		}
		if !c.Valid() {
			return "", "", false, &fieldError{p, fmt.Sprintf("%s maps to unknown category %s", quote(v), quote(string(c)))}
		}
		if !c.Importable() {
			return "", "", false, &fieldError{p, homesRefused}
		}
		return c, "", false, nil
	}
	if first == "" {
		return "", "", true, &fieldError{strings.Join(r.props, ","), fmt.Sprintf("no category: give the property %s, choose a category for the whole file, or skip places without one", quote(strings.Join(r.props, " or ")))}
	}
	return "", first, true, &fieldError{firstProp, fmt.Sprintf("%s is not a protected place's category (want one of %s, or a mapped value such as amenity=place_of_worship); skip such places or map the value", quote(first), strings.Join(importableNames(), ", "))}
}

func importableNames() []string {
	var out []string
	for _, c := range Categories() {
		if c.Importable() {
			out = append(out, string(c))
		}
	}
	return out
}

// skipped keeps the skipped counts.
type skipped struct {
	n      int
	values map[string]int
}

func (s *skipped) add(v string) {
	s.n++
	if s.values == nil {
		s.values = map[string]int{}
	}
	s.values[v]++
}

// top returns the 20 most frequent skipped values.
func (s *skipped) top() map[string]int {
	if len(s.values) <= 20 {
		return s.values
	}
	keys := slices.Collect(maps.Keys(s.values))
	slices.SortFunc(keys, func(a, b string) int {
		if s.values[a] != s.values[b] {
			return s.values[b] - s.values[a]
		}
		return strings.Compare(a, b)
	})
	out := map[string]int{}
	for _, k := range keys[:20] {
		out[k] = s.values[k]
	}
	return out
}

// parseRadius parses a radius given as a number or a numeric string.
func parseRadius(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("want a number of metres, got %s", quote(x))
		}
		return f, nil
	}
	return 0, fmt.Errorf("want a number of metres")
}
