package geo

import (
	"math"
	"strconv"
	"strings"
)

// ParseCircle parses a circle written "LAT,LON,METRES" (as on the command
// line: --circle 39.999,116.326,500) and validates it with [NewCircle].
func ParseCircle(s string, lim Limits) (*Area, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return nil, errorf("circle", "want LAT,LON,METRES, got %d comma-separated values", len(parts))
	}
	var v [3]float64
	for i, name := range [3]string{"circle.lat", "circle.lon", "circle.radius"} {
		f, err := strconv.ParseFloat(strings.TrimSpace(parts[i]), 64)
		if err != nil {
			return nil, errorf(name, "want a decimal number, got %s", quote(parts[i]))
		}
		v[i] = f
	}
	return NewCircle(v[0], v[1], v[2], lim)
}

// NewCircle returns the circle of radiusM metres (great-circle distance on
// the sphere of radius [EarthRadiusKm]) around lat, lon in degrees. Its area
// is that of the spherical cap, 2πR²(1 − cos(r/R)), just under πr² for
// city-scale radii. Errors have the paths "circle.lat", "circle.lon" and
// "circle.radius".
func NewCircle(lat, lon, radiusM float64, lim Limits) (*Area, error) {
	lim = lim.withDefaults()
	switch {
	case math.IsNaN(lat) || math.IsInf(lat, 0):
		return nil, errorf("circle.lat", "latitude is not a finite number")
	case lat < -90 || lat > 90:
		return nil, errorf("circle.lat", "latitude %g is outside [-90, 90]", lat)
	case math.IsNaN(lon) || math.IsInf(lon, 0):
		return nil, errorf("circle.lon", "longitude is not a finite number")
	case lon < -180 || lon > 180:
		return nil, errorf("circle.lon", "longitude %g is outside [-180, 180]", lon)
	case math.IsNaN(radiusM) || math.IsInf(radiusM, 0):
		return nil, errorf("circle.radius", "radius is not a finite number")
	case radiusM <= 0:
		return nil, errorf("circle.radius", "the radius must be greater than zero, got %g m", radiusM)
	}
	const rad = math.Pi / 180
	theta := math.Min(radiusM/1000/EarthRadiusKm, math.Pi)
	s := math.Sin(theta / 2)
	areaKm2 := 4 * math.Pi * EarthRadiusKm * EarthRadiusKm * s * s // 2πR²(1 − cos θ)
	if !(areaKm2 > 0) {
		return nil, errorf("circle.radius", "the area is zero")
	}
	if areaKm2 > lim.MaxAreaKm2 {
		return nil, errorf("circle.radius", "the area is %.1f km²; the limit is %g km²", areaKm2, lim.MaxAreaKm2)
	}
	a := &Area{circle: true, lat0: lat, lon0: lon, radiusM: radiusM,
		cosLat0: math.Cos(lat * rad), havR: s * s, areaKm2: areaKm2}

	// The bounding box, padded by 1e-9° (0.1 mm) against rounding. The
	// longitude half-width of a cap is asin(sin θ / cos φ0); a cap reaching
	// a pole or the antimeridian gets the whole longitude range.
	const pad = 1e-9
	dLat := theta/rad + pad
	a.minLat, a.maxLat = lat-dLat, lat+dLat
	a.minLon, a.maxLon = -180, 180
	if a.minLat > -90 && a.maxLat < 90 {
		if sinT, cosL := math.Sin(theta), math.Cos(lat*rad); sinT < cosL {
			dLon := math.Asin(sinT/cosL)/rad + pad
			if lon-dLon >= -180 && lon+dLon <= 180 {
				a.minLon, a.maxLon = lon-dLon, lon+dLon
			}
		}
	}
	a.minLat, a.maxLat = math.Max(a.minLat, -90), math.Min(a.maxLat, 90)
	return a, nil
}
