package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/basemap"
	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/mapsvg"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
)

// Maps on the query pages: drawn on the server as SVG over the basemap
// layers, moved and zoomed with plain links (map_lat, map_lon and map_z
// in the query string), so that they work without JavaScript. On the
// new-query page, map-draw.js lets people draw the area by clicking; the
// fields to type it stay the way to give it without a pointer.

// The size of a map, in pixels; CSS scales it to the page's width.
const mapWidth, mapHeight = 800, 520

// mapMaxZoom is the closest a map fits its contents: a street's blocks.
const mapMaxZoom = 17

// maxMapPlaces bounds how many protected places a map reads.
const maxMapPlaces = 10_000

// mapView is a map as a page shows it.
type mapView struct {
	SVG template.HTML
	// Nav are the links that move and zoom the map.
	Nav []mapLink
	// Problem says why the map is drawn without something (the basemap).
	Problem string
}

// mapLink is a link that moves or zooms a map: Text shows, Title says
// more.
type mapLink struct{ Text, Title, Href string }

// mapParams reads the view a page was asked to show; ok is false when
// the query string asks for none or for one that is not valid.
func mapParams(r *http.Request) (mapsvg.View, bool) {
	q := r.URL.Query()
	if q.Get("map_z") == "" {
		return mapsvg.View{}, false
	}
	num := func(k string) float64 {
		f, err := strconv.ParseFloat(q.Get(k), 64)
		if err != nil {
			return math.NaN()
		}
		return f
	}
	v := mapsvg.View{Center: basemap.Pos{Lon: num("map_lon"), Lat: num("map_lat")}, Zoom: num("map_z"), Width: mapWidth, Height: mapHeight}
	return v, v.Valid()
}

// buildMap draws m over the basemap for p, at the view the request asks
// for or one that fits fit (or the basemap when fit is empty), with links
// to move it that lead to base. Protected places are drawn only for those
// who manage them.
func (w *Web) buildMap(r *http.Request, p auth.Principal, base string, m *mapsvg.Map, fit basemap.Bounds) *mapView {
	out := &mapView{}
	var layers []store.BasemapLayer
	if w.deps.Basemaps != nil {
		var err error
		if layers, err = w.deps.Basemaps.Layers(r.Context(), p); err != nil {
			w.deps.Logger.Error("basemap layers not read", "err", err)
			out.Problem = "The basemap could not be read; the map shows the query alone."
			layers = nil
		}
	}
	all := basemap.EmptyBounds()
	for _, l := range layers {
		m.Layers = append(m.Layers, mapsvg.Layer{Name: l.Name, Layer: l.Layer})
		all = all.Union(l.Layer.Bounds)
	}
	if fit.Empty() {
		fit = all
	}
	v, asked := mapParams(r)
	if !asked {
		v = mapsvg.Fit(fit, mapWidth, mapHeight, 24, mapMaxZoom)
	}
	m.View = v
	if w.deps.Places != nil && p.Can(auth.PlacesManage) {
		list, err := w.deps.Places.List(r.Context(), p, store.PlaceFilter{Limit: maxMapPlaces})
		if err != nil {
			w.deps.Logger.Error("protected places not read for a map", "err", err)
		}
		for _, pl := range list {
			if s, ok := areaShape(pl.Area); ok {
				m.Protected = append(m.Protected, mapsvg.Protected{Name: pl.Name, Category: pl.Category.Title(), Shape: s})
			}
		}
		m.ShowProtected = true
	}
	svg, _ := mapsvg.Render(m)
	out.SVG = template.HTML(svg) // mapsvg escapes every text it draws
	link := func(text, title string, v mapsvg.View) mapLink {
		q := url.Values{}
		q.Set("map_lat", strconv.FormatFloat(math.Round(v.Center.Lat*1e6)/1e6, 'f', -1, 64))
		q.Set("map_lon", strconv.FormatFloat(math.Round(v.Center.Lon*1e6)/1e6, 'f', -1, 64))
		q.Set("map_z", strconv.FormatFloat(v.Zoom, 'f', -1, 64))
		return mapLink{Text: text, Title: title, Href: base + "?" + q.Encode() + "#map"}
	}
	out.Nav = []mapLink{
		link("Zoom in", "Show half as much, twice as large", v.ZoomBy(1)),
		link("Zoom out", "Show twice as much, half as large", v.ZoomBy(-1)),
		link("North", "Move the map half its height north", v.Pan(0, -0.5)),
		link("South", "Move the map half its height south", v.Pan(0, 0.5)),
		link("West", "Move the map half its width west", v.Pan(-0.5, 0)),
		link("East", "Move the map half its width east", v.Pan(0.5, 0)),
		{Text: "Reset the view", Title: "Show the query's area and results whole again", Href: base + "#map"},
	}
	return out
}

// areaShape returns an area as a map draws it.
func areaShape(a *geo.Area) (mapsvg.Shape, bool) {
	if a == nil {
		return mapsvg.Shape{}, false
	}
	if lat, lon, radius, ok := a.Circle(); ok {
		return mapsvg.Shape{Circle: &mapsvg.Circle{Center: basemap.Pos{Lon: lon, Lat: lat}, RadiusM: radius}}, true
	}
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if json.Unmarshal(a.GeoJSON(), &g) != nil {
		return mapsvg.Shape{}, false
	}
	var polys [][][][]float64
	if g.Type == "Polygon" {
		var poly [][][]float64
		if json.Unmarshal(g.Coordinates, &poly) != nil {
			return mapsvg.Shape{}, false
		}
		polys = [][][][]float64{poly}
	} else if json.Unmarshal(g.Coordinates, &polys) != nil {
		return mapsvg.Shape{}, false
	}
	var s mapsvg.Shape
	for _, poly := range polys {
		for _, ring := range poly {
			rs := make([]basemap.Pos, 0, len(ring))
			for _, p := range ring {
				if len(p) >= 2 {
					rs = append(rs, basemap.Pos{Lon: p[0], Lat: p[1]})
				}
			}
			s.Rings = append(s.Rings, rs)
		}
	}
	return s, len(s.Rings) > 0
}

// areaBounds returns an area's box.
func areaBounds(a *geo.Area) basemap.Bounds {
	if a == nil {
		return basemap.EmptyBounds()
	}
	minLat, minLon, maxLat, maxLon := a.Bounds()
	return basemap.Bounds{MinLon: minLon, MinLat: minLat, MaxLon: maxLon, MaxLat: maxLat}
}

// mapLimits are generous: the areas drawn were validated when submitted.
var mapLimits = geo.Limits{MaxBytes: math.MaxInt32, MaxVertices: math.MaxInt32, MaxRings: math.MaxInt32, MaxAreaKm2: math.MaxFloat64}

// requestArea returns a request's area, if it has one that reads.
func requestArea(req query.Request) *geo.Area {
	switch {
	case req.Circle != nil:
		a, err := geo.NewCircle(req.Circle.Lat, req.Circle.Lon, req.Circle.RadiusM, mapLimits)
		if err == nil {
			return a
		}
	case len(req.Area) > 0:
		a, err := geo.ParseArea(req.Area, mapLimits)
		if err == nil {
			return a
		}
	}
	return nil
}

// queryMap returns the map of a query's page: the request's area and,
// for a device history read on the page, the device's pings and track.
// A query with neither has no map.
func (w *Web) queryMap(r *http.Request, p auth.Principal, id int64, req query.Request, res *query.Result) *mapView {
	m := &mapsvg.Map{ID: "query-map", Title: fmt.Sprintf("Map of query %d", id)}
	fit := basemap.EmptyBounds()
	area := requestArea(req)
	if s, ok := areaShape(area); ok {
		m.Area, m.AreaWhat = s, "the search area"
		fit = areaBounds(area)
	}
	if res != nil && res.Kind == query.DeviceHistory && len(res.Pings) > 0 {
		pings := slices.Clone(res.Pings)
		slices.SortStableFunc(pings, func(a, b query.Ping) int { return a.Time.Compare(b.Time) })
		m.Points = make([]basemap.Pos, len(pings))
		for i, x := range pings {
			m.Points[i] = basemap.Pos{Lon: x.Lon, Lat: x.Lat}
			fit.Extend(m.Points[i])
		}
		m.PointsWhat, m.Track = "pings of device "+res.Device, true
		if res.Device == "" {
			m.PointsWhat = "pings"
		}
	}
	if fit.Empty() {
		return nil
	}
	return w.buildMap(r, p, "/queries/"+strconv.FormatInt(id, 10), m, fit)
}

// drawMap returns the map of the new-query page, showing the area the
// form holds, if it reads as one.
func (w *Web) drawMap(r *http.Request, p auth.Principal, f queryForm) *mapView {
	m := &mapsvg.Map{ID: "draw-map", Title: "Map to draw the search area on"}
	fit := basemap.EmptyBounds()
	var area *geo.Area
	num := func(s string) (float64, bool) {
		x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return x, err == nil
	}
	switch f.Shape {
	case "polygon":
		if s := strings.TrimSpace(f.Polygon); s != "" {
			area, _ = geo.ParseArea([]byte(s), geo.Limits{})
		}
	default:
		lat, ok1 := num(f.Lat)
		lon, ok2 := num(f.Lon)
		radius, ok3 := num(f.Radius)
		if ok1 && ok2 && ok3 {
			area, _ = geo.NewCircle(lat, lon, radius, geo.Limits{})
		}
	}
	if s, ok := areaShape(area); ok {
		m.Area, m.AreaWhat = s, "the area typed in the form"
		fit = areaBounds(area)
	}
	return w.buildMap(r, p, "/queries/new", m, fit)
}
