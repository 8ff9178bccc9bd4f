// Package geo validates and evaluates the areas of area-search queries: a
// GeoJSON polygon or a circle, parsed strictly within size limits, with a
// geodesic area, an exact containment test for pings, and S2 cell coverings
// that let the store select candidate pings by indexed cell ID before
// filtering them exactly with [Area.Contains].
//
// Coordinates are WGS84 degrees. Following RFC 7946 §3.1.1, a polygon edge
// is a straight line in longitude/latitude; areas are the exact area of that
// region on a sphere of the WGS84 mean radius ([EarthRadiusKm]). A circle is
// the set of points within a great-circle distance of its centre on that
// same sphere. The package neither performs I/O nor knows about HTTP or SQL.
package geo

import (
	"fmt"
	"math"
)

// EarthRadiusKm is the WGS84 mean radius (IUGG R1 = (2a+b)/3) used for all
// distances and areas.
const EarthRadiusKm = 6371.0088

// Limits bound what [ParseArea] and [NewCircle] accept. A zero field takes
// its value from [DefaultLimits].
type Limits struct {
	MaxBytes    int     // size of the GeoJSON document
	MaxVertices int     // distinct vertices over all rings
	MaxRings    int     // rings over all polygons (outer rings and holes)
	MaxAreaKm2  float64 // geodesic area
}

// DefaultLimits returns limits generous for a city-scale area search and
// small enough that validation (O(n log n) typically, O(n²) at worst in
// MaxVertices) stays in the low milliseconds.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 1 << 20, MaxVertices: 10_000, MaxRings: 100, MaxAreaKm2: 10_000}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxVertices <= 0 {
		l.MaxVertices = d.MaxVertices
	}
	if l.MaxRings <= 0 {
		l.MaxRings = d.MaxRings
	}
	if !(l.MaxAreaKm2 > 0) {
		l.MaxAreaKm2 = d.MaxAreaKm2
	}
	return l
}

// An Error reports why an area was refused. Path locates the offending
// member in the input, in the form "features[0].geometry.coordinates[0][3]"
// ("" for the document as a whole; "circle.radius" and so on for circles).
// Message is plain and safe to show to the person who submitted the area.
type Error struct {
	Path    string
	Message string
	Err     error // internal cause, if any (a JSON syntax error); not for display
}

func (e *Error) Error() string {
	if e.Path == "" {
		return "geo: " + e.Message
	}
	return "geo: " + e.Path + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(path, format string, args ...any) *Error {
	return &Error{Path: path, Message: fmt.Sprintf(format, args...)}
}

// An Area is a validated query area: one or more polygons, or a circle. It
// is immutable and safe for concurrent use.
type Area struct {
	circle  bool
	lat0    float64 // circle centre, degrees
	lon0    float64
	radiusM float64
	cosLat0 float64
	havR    float64 // haversine of the circle's angular radius

	polys   [][][]point // polygons → rings (first is the outer ring) → open vertex list
	areaKm2 float64

	// Bounding box in degrees; Contains rejects points outside it first.
	minLat, maxLat, minLon, maxLon float64

	idx edgeIndex
}

// point is a position in degrees: x is longitude, y latitude.
type point struct{ x, y float64 }

// AreaKm2 returns the area's geodesic area in square kilometres.
func (a *Area) AreaKm2() float64 { return a.areaKm2 }

// Bounds returns the area's bounding box in degrees. For a circle it is
// slightly padded; when a circle reaches a pole or the antimeridian the
// longitude range is the whole [-180, 180].
func (a *Area) Bounds() (minLat, minLon, maxLat, maxLon float64) {
	return a.minLat, a.minLon, a.maxLat, a.maxLon
}

// Circle reports whether the area is a circle and, if so, its centre and
// radius in metres.
func (a *Area) Circle() (lat, lon, radiusM float64, ok bool) {
	return a.lat0, a.lon0, a.radiusM, a.circle
}

// NumVertices returns the number of distinct vertices of a polygonal area
// (0 for a circle).
func (a *Area) NumVertices() int { return len(a.idx.edges) }

// Contains reports whether the point at lat, lon (degrees) lies in the area.
// The boundary counts as inside: a ping exactly on an edge or a vertex of a
// polygon, or at exactly the radius of a circle, is contained. For polygons
// the decision is exact for the float64 inputs (orientation tests fall back
// to exact rational arithmetic near zero), so a point is never both outside
// a polygon and inside its neighbour that shares the edge. Holes exclude
// their interior but not their boundary. NaN coordinates are never
// contained.
func (a *Area) Contains(lat, lon float64) bool {
	if !(lat >= a.minLat && lat <= a.maxLat && lon >= a.minLon && lon <= a.maxLon) {
		return false
	}
	if a.circle {
		return a.circleHav(lat, lon) <= a.havR
	}
	return a.idx.contains(lon, lat)
}

// circleHav returns the haversine of the central angle between the centre
// and the point.
func (a *Area) circleHav(lat, lon float64) float64 {
	const rad = math.Pi / 180
	sdLat := math.Sin((lat - a.lat0) * rad / 2)
	sdLon := math.Sin((lon - a.lon0) * rad / 2)
	return sdLat*sdLat + a.cosLat0*math.Cos(lat*rad)*sdLon*sdLon
}
