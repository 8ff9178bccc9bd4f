// Package places holds Probity's protected places and the indexes that
// screen location queries against them: agency facilities and sensitive
// locations (places of worship, medical facilities, schools, shelters,
// courts …) imported from GeoJSON or CSV files, and employees' homes,
// which are never kept as locations — only as keyed hashes (HMAC-SHA256)
// of the coarse S2 cells that cover them.
//
// A place is a circle (a point and a radius in metres) or a polygon, both
// a [geo.Area]. [Index] is an immutable uniform grid over every place that
// answers which places hold a ping, and which places a query area touches,
// in well under a microsecond per ping; [HomeIndex] answers which
// employees' home cells hold a ping or meet an area, given the key.
//
// The package neither performs I/O nor knows about HTTP or SQL; the store
// keeps places and hashed home cells, and the misuse detectors use the
// indexes.
package places

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/query"
)

// A Category is the kind of a protected place.
type Category string

// Categories.
const (
	AgencyFacility Category = "agency_facility" // an office, port of entry, training centre … of the agency
	// EmployeeHome is the category of employees' homes. No place has it:
	// homes are kept only as hashed cells (see [HomeKey.HomeCells]), and
	// an import that names it is refused.
	EmployeeHome   Category = "employee_home"
	PlaceOfWorship Category = "place_of_worship" // churches, mosques, synagogues, temples, monasteries
	Medical        Category = "medical"          // hospitals, clinics, doctors, dentists, mental-health and addiction care
	School         Category = "school"           // schools, kindergartens, childcare, colleges, universities
	Shelter        Category = "shelter"          // homeless, domestic-violence and refugee shelters
	Court          Category = "court"            // courthouses
	SocialServices Category = "social_services"  // social facilities, group homes, food banks, outreach
	Diplomatic     Category = "diplomatic"       // embassies and consulates
	Other          Category = "other"            // another location a privacy officer deems sensitive
)

// Categories returns every category, [EmployeeHome] included.
func Categories() []Category {
	return []Category{AgencyFacility, EmployeeHome, PlaceOfWorship, Medical, School, Shelter, Court, SocialServices, Diplomatic, Other}
}

// Valid reports whether c is a known category.
func (c Category) Valid() bool { return slices.Contains(Categories(), c) }

// Importable reports whether places of category c may be imported: every
// category but [EmployeeHome].
func (c Category) Importable() bool { return c.Valid() && c != EmployeeHome }

// Title returns the category's name for people.
func (c Category) Title() string {
	switch c {
	case AgencyFacility:
		return "Agency facility"
	case EmployeeHome:
		return "Employee's home"
	case PlaceOfWorship:
		return "Place of worship"
	case Medical:
		return "Medical facility"
	case School:
		return "School or childcare"
	case Shelter:
		return "Shelter"
	case Court:
		return "Court"
	case SocialServices:
		return "Social services"
	case Diplomatic:
		return "Embassy or consulate"
	case Other:
		return "Other sensitive location"
	}
	return string(c)
}

// Flag returns the risk flag (query.Flag…) a query touching a place of
// category c raises.
func (c Category) Flag() string {
	switch c {
	case AgencyFacility:
		return query.FlagAgencyFacility
	case EmployeeHome:
		return query.FlagEmployeeHome
	}
	return query.FlagProtectedPlace
}

// DefaultRadiusM returns the radius, in metres, given to a place of
// category c imported as a point without a radius: about a large
// building and its grounds.
func DefaultRadiusM(c Category) float64 {
	switch c {
	case AgencyFacility:
		return 250
	case Medical, School, Court, Shelter:
		return 150
	}
	return 100
}

// ParseCategory returns the category named s (its code, e.g.
// "place_of_worship").
func ParseCategory(s string) (Category, error) {
	c := Category(strings.TrimSpace(s))
	if !c.Valid() {
		names := make([]string, 0, len(Categories()))
		for _, c := range Categories() {
			if c.Importable() {
				names = append(names, string(c))
			}
		}
		return "", fmt.Errorf("unknown category %s; want one of %s", quote(s), strings.Join(names, ", "))
	}
	return c, nil
}

// A Place is a protected place.
type Place struct {
	ID       int64 // 0 until stored
	ImportID int64 // the import that brought it; 0 until stored
	Category Category
	Name     string // may be empty
	// Component is the component whose privacy officers manage the place;
	// "" for department-wide places. Every query is screened against
	// every place, whatever its component.
	Component string
	// Ref is the source's own identifier of the place (a feature's id, an
	// OpenStreetMap ID, a CSV id column), for people to find it there.
	Ref string
	// Area is where the place is: a circle or a polygonal area.
	Area *geo.Area
}

// Zone returns the place as an entry of an [Index].
func (p Place) Zone() Zone {
	return Zone{ID: p.ID, Category: p.Category, Component: p.Component, Name: p.Name, Area: p.Area}
}

// Geometry returns the place's area as GeoJSON, the form it is stored in:
// a Polygon or MultiPolygon, or for a circle a Point with a "radius_m"
// member. [DecodeGeometry] reads it back.
func (p Place) Geometry() []byte { return p.Area.GeoJSON() }

// Limits bound what an import accepts. A zero field takes its value from
// [DefaultLimits].
type Limits struct {
	MaxBytes    int     // size of the file
	MaxPlaces   int     // places in one file
	MaxRadiusM  float64 // radius of a circle
	MaxVertices int     // vertices of one place's polygons
	MaxAreaKm2  float64 // area of one place
}

// DefaultLimits returns the limits of an import: a city's or a state's
// worth of points of interest in one file.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 32 << 20, MaxPlaces: 200_000, MaxRadiusM: 5_000, MaxVertices: 10_000, MaxAreaKm2: 1_000}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxPlaces <= 0 {
		l.MaxPlaces = d.MaxPlaces
	}
	if !(l.MaxRadiusM > 0) {
		l.MaxRadiusM = d.MaxRadiusM
	}
	if l.MaxVertices <= 0 {
		l.MaxVertices = d.MaxVertices
	}
	if !(l.MaxAreaKm2 > 0) {
		l.MaxAreaKm2 = d.MaxAreaKm2
	}
	return l
}

func (l Limits) geo() geo.Limits {
	return geo.Limits{MaxBytes: l.MaxBytes, MaxVertices: l.MaxVertices, MaxAreaKm2: l.MaxAreaKm2}
}

// MaxName is the longest name kept, in characters; longer names are cut.
const MaxName = 200

// maxRef is the longest source identifier kept, in bytes.
const maxRef = 100

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

// cleanRef trims a source identifier to what is kept.
func cleanRef(s string) string {
	s = cleanName(s)
	for len(s) > maxRef {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

// NewCircle returns the circle of a place at lat, lon with the given
// radius, within lim; errors name the field ("lat", "lon", "radius_m").
func NewCircle(lat, lon, radiusM float64, lim Limits) (*geo.Area, error) {
	lim = lim.withDefaults()
	if radiusM > lim.MaxRadiusM {
		return nil, &fieldError{"radius_m", fmt.Sprintf("the radius is %g m; the limit is %g m", radiusM, lim.MaxRadiusM)}
	}
	a, err := geo.NewCircle(lat, lon, radiusM, geo.Limits{MaxAreaKm2: math.Max(lim.MaxAreaKm2, circleAreaKm2(lim.MaxRadiusM))})
	if err != nil {
		ge, ok := errors.AsType[*geo.Error](err)
		if !ok {
			return nil, &fieldError{"radius_m", "not a valid circle"}
		}
		field := map[string]string{"circle.lat": "lat", "circle.lon": "lon", "circle.radius": "radius_m"}[ge.Path]
		return nil, &fieldError{field, ge.Message}
	}
	return a, nil
}

// circleAreaKm2 bounds the area of a circle of radius r metres.
func circleAreaKm2(r float64) float64 { return math.Pi*r*r/1e6 + 1 }

// A fieldError is a problem with one field of a place.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

// DecodeGeometry reads a place's stored geometry ([Place.Geometry]).
func DecodeGeometry(b []byte) (*geo.Area, error) {
	var probe struct {
		Type        string    `json:"type"`
		Coordinates []float64 `json:"coordinates"`
		RadiusM     *float64  `json:"radius_m"`
	}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		if err := json.Unmarshal(trimmed, &probe); err == nil && probe.Type == "Point" {
			if len(probe.Coordinates) != 2 || probe.RadiusM == nil {
				return nil, fmt.Errorf("places: a stored point needs [lon, lat] and radius_m")
			}
			return geo.NewCircle(probe.Coordinates[1], probe.Coordinates[0], *probe.RadiusM, geo.Limits{MaxAreaKm2: math.MaxFloat64})
		}
	}
	return geo.ParseArea(b, geo.Limits{MaxBytes: math.MaxInt32, MaxVertices: math.MaxInt32, MaxRings: math.MaxInt32, MaxAreaKm2: math.MaxFloat64})
}

// quote quotes a value from a file for a message, shortened.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
