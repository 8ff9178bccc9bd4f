package mapsvg

import (
	"math"

	"github.com/probity-dev/probity/internal/basemap"
)

// TileSize is the width of the world at zoom 0, in pixels: zoom z draws
// the world 256·2^z pixels wide, as web maps do.
const TileSize = 256

// Zoom levels a view may take.
const (
	MinZoom = 1
	MaxZoom = 20
)

// maxLat is the latitude Web Mercator stops at: the world is square.
const maxLat = 85.05112878

// earthRadiusM is the WGS84 mean radius, as internal/geo measures.
const earthRadiusM = 6371008.8

// A View is what a map shows: the Web Mercator view of the given size,
// in pixels, centred on Center at Zoom (fractional zooms are allowed).
type View struct {
	Center        basemap.Pos
	Zoom          float64
	Width, Height int
}

// mercator returns the position's place in the world at zoom 0, from 0 to
// 1 each way (x east, y south).
func mercator(p basemap.Pos) (x, y float64) {
	lat := math.Max(-maxLat, math.Min(maxLat, p.Lat))
	s := math.Sin(lat * math.Pi / 180)
	return (p.Lon + 180) / 360, 0.5 - math.Log((1+s)/(1-s))/(4*math.Pi)
}

// inverse returns the position of a place in the world at zoom 0.
func inverse(x, y float64) basemap.Pos {
	return basemap.Pos{Lon: x*360 - 180, Lat: math.Atan(math.Sinh(math.Pi*(1-2*y))) * 180 / math.Pi}
}

// projector projects positions into a view's pixels.
type projector struct {
	world  float64 // the world's width in pixels
	x0, y0 float64 // the view's top left corner in world pixels
}

func (v View) projector() projector {
	world := TileSize * math.Exp2(v.Zoom)
	cx, cy := mercator(v.Center)
	return projector{world: world, x0: cx*world - float64(v.Width)/2, y0: cy*world - float64(v.Height)/2}
}

func (pr projector) project(p basemap.Pos) (x, y float64) {
	mx, my := mercator(p)
	return mx*pr.world - pr.x0, my*pr.world - pr.y0
}

// Project returns where the position lies in the view, in pixels from its
// top left corner (outside the view when off it).
func (v View) Project(p basemap.Pos) (x, y float64) { return v.projector().project(p) }

// Unproject returns the position at pixel x, y of the view.
func (v View) Unproject(x, y float64) basemap.Pos {
	pr := v.projector()
	return inverse((x+pr.x0)/pr.world, (y+pr.y0)/pr.world)
}

// Bounds returns the box of positions the view shows, grown by pad pixels
// on every side.
func (v View) Bounds(pad float64) basemap.Bounds {
	nw := v.Unproject(-pad, -pad)
	se := v.Unproject(float64(v.Width)+pad, float64(v.Height)+pad)
	return basemap.Bounds{MinLon: math.Max(-180, nw.Lon), MinLat: se.Lat, MaxLon: math.Min(180, se.Lon), MaxLat: nw.Lat}
}

// MetresPerPixel returns the ground distance one pixel spans at the
// view's centre.
func (v View) MetresPerPixel() float64 {
	return 2 * math.Pi * earthRadiusM * math.Cos(v.Center.Lat*math.Pi/180) / (TileSize * math.Exp2(v.Zoom))
}

// Valid reports whether the view can be drawn: a size of 16 to 4096
// pixels each way, a zoom in [MinZoom, MaxZoom] and a centre on the map.
func (v View) Valid() bool {
	return v.Width >= 16 && v.Width <= 4096 && v.Height >= 16 && v.Height <= 4096 &&
		v.Zoom >= MinZoom && v.Zoom <= MaxZoom &&
		v.Center.Lon >= -180 && v.Center.Lon <= 180 && v.Center.Lat >= -maxLat && v.Center.Lat <= maxLat
}

// sane returns the view brought within what Valid accepts.
func (v View) sane() View {
	if v.Valid() {
		return v
	}
	if v.Width == 0 && v.Height == 0 {
		v.Width, v.Height = 640, 480
	}
	v.Width, v.Height = max(16, min(4096, v.Width)), max(16, min(4096, v.Height))
	if math.IsNaN(v.Zoom) {
		v.Zoom = MinZoom
	}
	v.Zoom = math.Max(MinZoom, math.Min(MaxZoom, v.Zoom))
	if math.IsNaN(v.Center.Lon) || math.IsNaN(v.Center.Lat) {
		v.Center = basemap.Pos{}
	}
	v.Center.Lon = math.Max(-180, math.Min(180, v.Center.Lon))
	v.Center.Lat = math.Max(-maxLat, math.Min(maxLat, v.Center.Lat))
	return v
}

// Fit returns the view of the given size that shows the box b whole with
// pad pixels to spare on each side, at a zoom in half steps (a whole zoom
// can leave half the view empty) no closer than maxZoom. An empty box
// gives the whole world.
func Fit(b basemap.Bounds, width, height int, pad float64, maxZoom float64) View {
	v := View{Width: width, Height: height, Zoom: MinZoom}
	if b.Empty() {
		return v
	}
	x0, y1 := mercator(basemap.Pos{Lon: b.MinLon, Lat: b.MinLat})
	x1, y0 := mercator(basemap.Pos{Lon: b.MaxLon, Lat: b.MaxLat})
	v.Center = inverse((x0+x1)/2, (y0+y1)/2)
	w, h := math.Max(float64(width)-2*pad, 1), math.Max(float64(height)-2*pad, 1)
	z := math.Min(math.Log2(w/TileSize/math.Max(x1-x0, 1e-12)), math.Log2(h/TileSize/math.Max(y1-y0, 1e-12)))
	v.Zoom = math.Max(MinZoom, math.Min(math.Min(maxZoom, MaxZoom), math.Floor(z*2)/2))
	return v
}

// Pan returns the view moved by the given fractions of its width and
// height (east and south positive).
func (v View) Pan(dx, dy float64) View {
	pr := v.projector()
	cx, cy := float64(v.Width)/2+dx*float64(v.Width), float64(v.Height)/2+dy*float64(v.Height)
	x := math.Max(0, math.Min(1, (cx+pr.x0)/pr.world))
	y := math.Max(0, math.Min(1, (cy+pr.y0)/pr.world))
	v.Center = inverse(x, y)
	return v
}

// ZoomBy returns the view zoomed in by dz levels (out when negative),
// within [MinZoom, MaxZoom].
func (v View) ZoomBy(dz float64) View {
	v.Zoom = math.Max(MinZoom, math.Min(MaxZoom, v.Zoom+dz))
	return v
}
