// Package basemap holds the layers maps are drawn over without a tile
// server: city boundaries, streets, districts, grounds, imported from
// GeoJSON FeatureCollections (RFC 7946) or TopoJSON topologies and kept
// as a normalized [Layer] of features in WGS84 longitude/latitude.
//
// A feature is points, polylines or polygon rings, with a name for
// people and a style class for the map's CSS. Coordinates are kept to
// 1e-7 degree (about a centimetre), which is also the precision of the
// compact stored form ([Encode], [Decode]). Imports are bounded in size,
// features and vertices ([Limits]); a file with any bad feature is refused
// whole with an [*Error] naming each problem's feature and member.
//
// The package neither performs I/O nor knows about HTTP or SQL; the store
// keeps layers and the map renderer draws them.
package basemap

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A Kind is what a feature draws.
type Kind uint8

// Kinds.
const (
	// Point is one or more positions (a GeoJSON Point or MultiPoint).
	Point Kind = 1
	// Line is one or more polylines (LineString, MultiLineString).
	Line Kind = 2
	// Polygon is one or more rings (Polygon, MultiPolygon): outer rings
	// and holes together, drawn with the even-odd rule.
	Polygon Kind = 3
)

func (k Kind) String() string {
	switch k {
	case Point:
		return "point"
	case Line:
		return "line"
	case Polygon:
		return "polygon"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// A Pos is a position in WGS84 degrees.
type Pos struct{ Lon, Lat float64 }

// Bounds is a box in WGS84 degrees. The zero Bounds is empty only when
// marked so by [EmptyBounds]; use [Bounds.Empty] to tell.
type Bounds struct{ MinLon, MinLat, MaxLon, MaxLat float64 }

// EmptyBounds returns a box that holds nothing and grows with
// [Bounds.Extend].
func EmptyBounds() Bounds {
	return Bounds{MinLon: math.Inf(1), MinLat: math.Inf(1), MaxLon: math.Inf(-1), MaxLat: math.Inf(-1)}
}

// Empty reports whether b holds no position.
func (b Bounds) Empty() bool { return !(b.MinLon <= b.MaxLon && b.MinLat <= b.MaxLat) }

// Extend grows b to hold p.
func (b *Bounds) Extend(p Pos) {
	b.MinLon, b.MaxLon = math.Min(b.MinLon, p.Lon), math.Max(b.MaxLon, p.Lon)
	b.MinLat, b.MaxLat = math.Min(b.MinLat, p.Lat), math.Max(b.MaxLat, p.Lat)
}

// Union returns the box that holds both b and o.
func (b Bounds) Union(o Bounds) Bounds {
	switch {
	case b.Empty():
		return o
	case o.Empty():
		return b
	}
	return Bounds{math.Min(b.MinLon, o.MinLon), math.Min(b.MinLat, o.MinLat), math.Max(b.MaxLon, o.MaxLon), math.Max(b.MaxLat, o.MaxLat)}
}

// Intersects reports whether b and o share a position (touching counts).
func (b Bounds) Intersects(o Bounds) bool {
	return !b.Empty() && !o.Empty() && b.MinLon <= o.MaxLon && o.MinLon <= b.MaxLon && b.MinLat <= o.MaxLat && o.MinLat <= b.MaxLat
}

// A Feature is one thing drawn on a basemap.
type Feature struct {
	Kind Kind
	// Name is for people (a street's, a district's); it may be empty.
	Name string
	// Class is the feature's style class: lower-case letters, digits and
	// dashes, at most [MaxClass] bytes; it may be empty.
	Class string
	// Parts are the feature's positions: for a Point feature, one
	// position each; for a Line, polylines of at least two positions; for
	// a Polygon, rings of at least three positions, open (the first
	// position is not repeated at the end).
	Parts [][]Pos
	// Bounds holds every position of Parts.
	Bounds Bounds
}

// Vertices returns how many positions the feature holds.
func (f *Feature) Vertices() int {
	n := 0
	for _, p := range f.Parts {
		n += len(p)
	}
	return n
}

// A Layer is a basemap layer: its features, in the order of the file.
type Layer struct {
	Features []Feature
	// Bounds holds every feature; it is empty for a layer without any.
	Bounds Bounds
	// Skipped counts the features of the file without a geometry
	// (GeoJSON's unlocated features, TopoJSON's null geometries).
	Skipped int
}

// Vertices returns how many positions the layer holds.
func (l *Layer) Vertices() int {
	n := 0
	for i := range l.Features {
		n += l.Features[i].Vertices()
	}
	return n
}

// Counts returns the number of features of each kind.
func (l *Layer) Counts() map[Kind]int {
	out := map[Kind]int{}
	for i := range l.Features {
		out[l.Features[i].Kind]++
	}
	return out
}

// Limits bound what an import accepts. A zero field takes its value from
// [DefaultLimits].
type Limits struct {
	MaxBytes    int // size of the file
	MaxFeatures int // features of the layer
	MaxVertices int // positions over every feature (and, in TopoJSON, over every arc)
}

// DefaultLimits returns the limits of an import: a city's streets,
// districts and grounds, or a county's, in one layer.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 32 << 20, MaxFeatures: 100_000, MaxVertices: 2_000_000}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxFeatures <= 0 {
		l.MaxFeatures = d.MaxFeatures
	}
	if l.MaxVertices <= 0 {
		l.MaxVertices = d.MaxVertices
	}
	return l
}

// Options say how a file's features become a layer's.
type Options struct {
	// NameProperty and ClassProperty name the properties that hold a
	// feature's name and style class. Empty means "name" and "class".
	NameProperty, ClassProperty string
	// Object names the TopoJSON object to read; empty means every
	// object, in the order of their names.
	Object string
	Limits Limits
}

func (o Options) resolve() Options {
	if strings.TrimSpace(o.NameProperty) == "" {
		o.NameProperty = "name"
	}
	if strings.TrimSpace(o.ClassProperty) == "" {
		o.ClassProperty = "class"
	}
	o.Limits = o.Limits.withDefaults()
	return o
}

// A Format is a file format layers are imported from.
type Format string

// Formats.
const (
	GeoJSON  Format = "geojson"  // a FeatureCollection (RFC 7946), or one Feature
	TopoJSON Format = "topojson" // a Topology (TopoJSON 1.0), quantized or not
)

// ParseFormat returns the format named s.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case GeoJSON, TopoJSON:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %s; want geojson or topojson", quote(s))
}

// Parse reads a layer from a file in the given format; an empty format
// is told from the document's "type" ("Topology" is TopoJSON).
func Parse(format Format, data []byte, opts Options) (*Layer, error) {
	if format == "" {
		format = Detect(data)
	}
	switch format {
	case GeoJSON:
		return ParseGeoJSON(data, opts)
	case TopoJSON:
		return ParseTopoJSON(data, opts)
	}
	return nil, fileError("unknown format %s; want geojson or topojson", quote(string(format)))
}

// MaxName is the longest name kept, in characters; longer names are cut.
const MaxName = 200

// MaxClass is the longest style class kept, in bytes.
const MaxClass = 32

// cleanName trims a name, turns control characters into spaces and cuts
// it to MaxName characters.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > MaxName {
		s = string([]rune(s)[:MaxName])
	}
	return s
}

// CleanClass returns s as a style class: lower case, every run of
// characters other than ASCII letters and digits one dash, without
// leading or trailing dashes, at most [MaxClass] bytes ("Major Road" is
// "major-road").
func CleanClass(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			if b.Len() >= MaxClass {
				break
			}
			continue
		}
		dash = true
	}
	return strings.TrimRight(b.String(), "-")
}

// nameRe is what a layer's name may be.
var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// CheckName reports whether name may name a layer: 1 to 63 lower-case
// letters, digits, dots, dashes and underscores, starting with a letter
// or digit.
func CheckName(name string) error {
	if !nameRe.MatchString(name) {
		return fmt.Errorf("a layer's name is 1 to 63 lower-case letters, digits, dots, dashes and underscores, starting with a letter or digit, not %s", quote(name))
	}
	return nil
}

// quantum is the precision of kept coordinates, in degrees.
const quantum = 1e7

// quantize rounds a coordinate to the kept precision.
func quantize(x float64) float64 { return math.Round(x*quantum) / quantum }

// checkPos validates a position and returns it quantized; msg says what
// is wrong.
func checkPos(lon, lat float64) (Pos, string) {
	switch {
	case math.IsNaN(lon) || math.IsInf(lon, 0) || math.IsNaN(lat) || math.IsInf(lat, 0):
		return Pos{}, "a coordinate is not a finite number"
	case lon < -180 || lon > 180:
		return Pos{}, fmt.Sprintf("longitude %g is outside [-180, 180]", lon)
	case lat < -90 || lat > 90:
		return Pos{}, fmt.Sprintf("latitude %g is outside [-90, 90] (is the file in longitude, latitude order, in WGS84?)", lat)
	}
	return Pos{quantize(lon), quantize(lat)}, ""
}

// dedupe drops positions equal to the one before them.
func dedupe(ps []Pos) []Pos {
	out := ps[:0]
	for i, p := range ps {
		if i == 0 || p != ps[i-1] {
			out = append(out, p)
		}
	}
	return out
}

// finish turns a feature's parts into a feature, dropping parts that
// quantizing left degenerate; ok is false when no part is left.
func finish(kind Kind, name, class string, parts [][]Pos) (Feature, bool) {
	f := Feature{Kind: kind, Name: name, Class: class, Bounds: EmptyBounds()}
	for _, p := range parts {
		switch kind {
		case Line:
			p = dedupe(p)
			if len(p) < 2 {
				continue
			}
		case Polygon:
			p = dedupe(p)
			if len(p) > 1 && p[len(p)-1] == p[0] {
				p = p[:len(p)-1]
			}
			if len(p) < 3 {
				continue
			}
		}
		for _, q := range p {
			f.Bounds.Extend(q)
		}
		f.Parts = append(f.Parts, p)
	}
	return f, len(f.Parts) > 0
}

// quote quotes a value from a file for a message, shortened.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// MaxProblems is how many problems an [*Error] lists.
const MaxProblems = 20

// A Problem is what is wrong with one feature of a file, or with the file
// as a whole.
type Problem struct {
	// Feature is the feature's position in the file, from 0 (in a
	// TopoJSON file, over every object's geometries in order); -1 for the
	// file as a whole.
	Feature int
	// Line is the line the feature starts on, from 1; 0 when unknown.
	Line int
	// Field names the offending member ("geometry.coordinates[0][3]",
	// "objects.roads.geometries[2].arcs[1]", "arcs[7][0]"); "" when the
	// feature or file as a whole is at fault.
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
	b.WriteString("the layer was not imported (nothing was): ")
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

// budget counts vertices against the limit.
type budget struct {
	left int
	max  int
}

// take counts n vertices; it reports false once the limit is passed.
func (b *budget) take(n int) bool {
	b.left -= n
	return b.left >= 0
}

func (b *budget) error() error {
	return fileError("the file holds more than %d positions; the limit is %d (simplify or split it)", b.max, b.max)
}
