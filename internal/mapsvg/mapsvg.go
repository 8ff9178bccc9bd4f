// Package mapsvg draws maps as SVG on the server, without a tile server:
// basemap layers, a query's area, result points and a device's track,
// and protected places when the caller says the viewer may see them, in a
// Web Mercator view of a given size.
//
// The SVG is accessible (role="img" with a <title> and a <desc> that says
// what is drawn), is styled only by CSS classes (the page's design tokens
// give the colours; no inline styles, no scripts) and stays small:
// features off the view are culled, those crossing its edge are clipped,
// coordinates are rounded to a tenth of a pixel and vertices closer than
// half a pixel are thinned. Dense point sets — more than [MaxMarks] points
// in view — are drawn as a grid of circles with counts, and the
// description says so; 50,000 points render in a few milliseconds.
//
// The package is pure: it neither performs I/O nor knows about HTTP.
package mapsvg

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/basemap"
)

// MaxMarks is how many points in view are drawn one by one; more are
// aggregated into grid cells.
const MaxMarks = 2000

// CellPx is the side of an aggregation cell, in pixels.
const CellPx = 32

// pad is how far past the view's edge features are kept before clipping,
// so that strokes do not end visibly at the edge.
const pad = 8

// A Layer is a basemap layer to draw under everything else.
type Layer struct {
	Name  string
	Layer *basemap.Layer
}

// A Circle is a centre and a radius in metres.
type Circle struct {
	Center  basemap.Pos
	RadiusM float64
}

// A Shape is a circle or a polygonal area.
type Shape struct {
	Circle *Circle
	// Rings are a polygonal area's rings, outer rings and holes
	// together, open or closed; drawn with the even-odd rule.
	Rings [][]basemap.Pos
}

func (s Shape) empty() bool { return s.Circle == nil && len(s.Rings) == 0 }

// A Protected is a protected place.
type Protected struct {
	Name     string
	Category string // for people: "Place of worship"
	Shape    Shape
}

// A Map is what to draw.
type Map struct {
	// ID prefixes the SVG's element IDs, which must be unique in the
	// page; letters, digits, dashes and underscores are kept. "" means
	// "map".
	ID string
	// Title names the map for people ("Query 12: device history").
	Title string
	View  View
	// Layers are drawn in order, first at the bottom.
	Layers []Layer
	// Area is the query's area, if any; AreaWhat says what it is ("the
	// search area").
	Area     Shape
	AreaWhat string
	// Points are result points, in order; PointsWhat says what they are,
	// in the plural, for the description ("pings of device p-7f…").
	// With Track set, a line joins them in order.
	Points     []basemap.Pos
	PointsWhat string
	Track      bool
	// Protected places are drawn only when ShowProtected is set: only
	// for people who may see them. Otherwise they are neither drawn nor
	// counted.
	Protected     []Protected
	ShowProtected bool
}

// Stats say what a render drew.
type Stats struct {
	Features int // basemap features drawn
	Culled   int // basemap features off the view
	// PointsInView counts the points in the view; Marks the point marks
	// drawn one by one (points on the same pixel share one), Cells the
	// aggregation cells, whose counts add up to PointsInView.
	PointsInView, Marks, Cells int
	Aggregated                 bool
	TrackVertices              int
	Protected                  int
}

// Render draws the map. A view that is not [View.Valid] is brought within
// bounds first (a size of 0 is 640×480; a centre that is not a number is
// 0, 0).
func Render(m *Map) ([]byte, Stats) {
	r := renderer{m: m, v: m.View.sane()}
	r.pr = r.v.projector()
	r.clip = rect{-pad, -pad, float64(r.v.Width) + pad, float64(r.v.Height) + pad}
	r.view = r.v.Bounds(pad + 2)
	r.id = cleanID(m.ID)
	r.b.Grow(64 << 10)
	return r.render(), r.st
}

type renderer struct {
	m    *Map
	v    View
	pr   projector
	clip rect
	view basemap.Bounds
	id   string
	b    bytes.Buffer
	st   Stats

	pts    []pt
	rbuf   [2][]pt
	lbuf   []pt
	num    []byte
	cells  []cell
	labels []rect // the labels drawn, which others must not overlap
}

func cleanID(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return -1
	}, s)
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		s = "map" + s
	}
	return s
}

func (r *renderer) render() []byte {
	w, h := r.v.Width, r.v.Height
	// The points first: the description needs their count.
	var pointsSVG []byte
	if len(r.m.Points) > 0 {
		pointsSVG = r.points()
	}
	fmt.Fprintf(&r.b, `<svg xmlns="http://www.w3.org/2000/svg" class="map" id="%s" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="%s-title %s-desc" data-lat="%s" data-lon="%s" data-zoom="%s">`,
		r.id, w, h, w, h, r.id, r.id, coord(r.v.Center.Lat), coord(r.v.Center.Lon), strconv.FormatFloat(r.v.Zoom, 'f', -1, 64))
	title := r.m.Title
	if title == "" {
		title = "Map"
	}
	fmt.Fprintf(&r.b, `<title id="%s-title">%s</title>`, r.id, escape(title))
	descAt := r.b.Len()
	r.b.WriteString(`<rect class="map-bg" width="` + strconv.Itoa(w) + `" height="` + strconv.Itoa(h) + `"/>`)
	var layerCounts []string
	for _, l := range r.m.Layers {
		if l.Layer == nil {
			continue
		}
		n := r.layer(l)
		if n > 0 {
			layerCounts = append(layerCounts, fmt.Sprintf("%s (%s)", l.Name, plural(n, "feature")))
		}
	}
	if r.m.ShowProtected && len(r.m.Protected) > 0 {
		r.protected()
	}
	if !r.m.Area.empty() {
		r.b.WriteString(`<g class="map-area">`)
		r.shape(r.m.Area, "map-area-shape", "")
		r.b.WriteString(`</g>`)
	}
	r.b.Write(pointsSVG)
	r.scaleBar()
	r.b.WriteString(`</svg>`)

	// The description, inserted after the title.
	desc := r.describe(layerCounts)
	out := make([]byte, 0, r.b.Len()+len(desc)+64)
	out = append(out, r.b.Bytes()[:descAt]...)
	out = fmt.Appendf(out, `<desc id="%s-desc">%s</desc>`, r.id, escape(desc))
	return append(out, r.b.Bytes()[descAt:]...)
}

// describe says in words what the map shows.
func (r *renderer) describe(layers []string) string {
	var parts []string
	if len(layers) > 0 {
		parts = append(parts, "basemap layers "+strings.Join(layers, ", "))
	}
	if !r.m.Area.empty() {
		what := r.m.AreaWhat
		if what == "" {
			what = "an area"
		}
		if c := r.m.Area.Circle; c != nil {
			what += fmt.Sprintf(" (a circle of %s m around %s, %s)", thousands(int(math.Round(c.RadiusM))), coord(c.Center.Lat), coord(c.Center.Lon))
		} else {
			what += " (a polygon)"
		}
		parts = append(parts, what)
	}
	if n := len(r.m.Points); n > 0 {
		what := r.m.PointsWhat
		if what == "" {
			what = "points"
		}
		s := thousands(n) + " " + what
		if r.st.PointsInView < n {
			s += fmt.Sprintf(", %s of them in view", thousands(r.st.PointsInView))
		}
		if r.st.Aggregated {
			s += fmt.Sprintf(", too dense to draw one by one: shown as %s with the number of points in each", plural(r.st.Cells, "grid circle"))
		}
		parts = append(parts, s)
		if r.m.Track && r.st.TrackVertices > 0 {
			parts = append(parts, "a line joining them in time order")
		}
	}
	if r.m.ShowProtected && len(r.m.Protected) > 0 {
		parts = append(parts, plural(r.st.Protected, "protected place")+" in view")
	}
	s := fmt.Sprintf("Map centred on %s, %s at zoom %s, %s across.", coord(r.v.Center.Lat), coord(r.v.Center.Lon),
		strconv.FormatFloat(r.v.Zoom, 'f', -1, 64), distance(r.v.MetresPerPixel()*float64(r.v.Width)))
	if len(parts) == 0 {
		return s + " Nothing is drawn on it."
	}
	return s + " It shows " + strings.Join(parts, "; ") + "."
}

// layer draws a basemap layer and returns how many features it drew.
func (r *renderer) layer(l Layer) int {
	r.b.WriteString(`<g class="map-layer" data-layer="` + escape(l.Name) + `">`)
	// Lines of one class go in one path: a street grid is a few paths.
	lines := map[string]*bytes.Buffer{}
	var classes []string
	drawn := 0
	var labels []func()
	for i := range l.Layer.Features {
		f := &l.Layer.Features[i]
		if !f.Bounds.Intersects(r.view) {
			r.st.Culled++
			continue
		}
		switch f.Kind {
		case basemap.Polygon:
			start := r.b.Len()
			r.b.WriteString(`<path class="map-polygon` + classAttr(f.Class) + `" fill-rule="evenodd" d="`)
			if !r.rings(f.Parts) {
				r.b.Truncate(start)
				r.st.Culled++
				continue
			}
			r.b.WriteString(`"/>`)
			if f.Name != "" {
				labels = append(labels, func() { r.label(f) })
			}
		case basemap.Line:
			pb := lines[f.Class]
			if pb == nil {
				pb = &bytes.Buffer{}
				lines[f.Class] = pb
				classes = append(classes, f.Class)
			}
			if !r.lines(pb, f.Parts) {
				r.st.Culled++
				continue
			}
		case basemap.Point:
			drew := false
			for _, p := range f.Parts {
				x, y := r.pr.project(p[0])
				if !r.clip.contains(pt{x, y}) {
					continue
				}
				drew = true
				r.b.WriteString(`<circle class="map-feature-point` + classAttr(f.Class) + `" cx="`)
				r.n(x)
				r.b.WriteString(`" cy="`)
				r.n(y)
				r.b.WriteString(`" r="3">`)
				if f.Name != "" {
					r.b.WriteString(`<title>` + escape(f.Name) + `</title>`)
				}
				r.b.WriteString(`</circle>`)
			}
			if !drew {
				r.st.Culled++
				continue
			}
		}
		drawn++
	}
	for _, c := range classes {
		if pb := lines[c]; pb.Len() > 0 {
			r.b.WriteString(`<path class="map-line` + classAttr(c) + `" d="`)
			r.b.Write(pb.Bytes())
			r.b.WriteString(`"/>`)
		}
	}
	for _, f := range labels {
		f()
	}
	r.b.WriteString(`</g>`)
	r.st.Features += drawn
	return drawn
}

// label names a polygon at the middle of its box, when the whole box is
// in view, wide enough for the name, and clear of the labels drawn before.
func (r *renderer) label(f *basemap.Feature) {
	x0, y0 := r.pr.project(basemap.Pos{Lon: f.Bounds.MinLon, Lat: f.Bounds.MaxLat})
	x1, y1 := r.pr.project(basemap.Pos{Lon: f.Bounds.MaxLon, Lat: f.Bounds.MinLat})
	w := float64(7*utf8.RuneCountInString(f.Name) + 16)
	if x1-x0 < w || y1-y0 < 20 || x0 < -pad || y0 < -pad || x1 > float64(r.v.Width)+pad || y1 > float64(r.v.Height)+pad {
		return
	}
	x, y := (x0+x1)/2, (y0+y1)/2
	box := rect{x - w/2, y - 10, x + w/2, y + 10}
	for _, l := range r.labels {
		if box.x0 < l.x1 && l.x0 < box.x1 && box.y0 < l.y1 && l.y0 < box.y1 {
			return
		}
	}
	r.labels = append(r.labels, box)
	r.b.WriteString(`<text class="map-label" text-anchor="middle" x="`)
	r.n(x)
	r.b.WriteString(`" y="`)
	r.n(y)
	r.b.WriteString(`">` + escape(f.Name) + `</text>`)
}

func classAttr(c string) string {
	if c = basemap.CleanClass(c); c == "" {
		return ""
	}
	return " c-" + c
}

// project projects positions into r.pts, thinning those within half a
// pixel of the one kept before.
func (r *renderer) project(ps []basemap.Pos) []pt {
	out := r.pts[:0]
	for i, p := range ps {
		x, y := r.pr.project(p)
		if n := len(out); n > 0 && i < len(ps)-1 && math.Abs(x-out[n-1].x) < 0.5 && math.Abs(y-out[n-1].y) < 0.5 {
			continue
		}
		out = append(out, pt{x, y})
	}
	r.pts = out
	return out
}

// rings writes a path's data for polygon rings, clipped; it reports
// whether anything of them is in view.
func (r *renderer) rings(parts [][]basemap.Pos) bool {
	drew := false
	for _, ring := range parts {
		pts := r.project(ring)
		meets, inside := r.clip.overlaps(pts)
		if !meets {
			continue
		}
		if !inside {
			pts = clipRing(pts, r.clip, &r.rbuf)
		}
		if len(pts) < 3 {
			continue
		}
		drew = true
		r.path(&r.b, pts, true)
	}
	return drew
}

// lines writes path data for polylines, clipped, to pb; it reports
// whether anything of them is in view.
func (r *renderer) lines(pb *bytes.Buffer, parts [][]basemap.Pos) bool {
	drew := false
	for _, line := range parts {
		pts := r.project(line)
		meets, inside := r.clip.overlaps(pts)
		switch {
		case !meets:
			continue
		case inside:
			drew = true
			r.path(pb, pts, false)
		default:
			clipLine(pts, r.clip, &r.lbuf, func(piece []pt) {
				drew = true
				r.path(pb, piece, false)
			})
		}
	}
	return drew
}

// path writes "M x,y L x,y x,y …" (and "Z" when closed).
func (r *renderer) path(b *bytes.Buffer, pts []pt, closed bool) {
	for i, p := range pts {
		switch i {
		case 0:
			b.WriteByte('M')
		case 1:
			b.WriteByte('L')
		default:
			b.WriteByte(' ')
		}
		r.num = appendNum(r.num[:0], p.x)
		r.num = append(r.num, ',')
		r.num = appendNum(r.num, p.y)
		b.Write(r.num)
	}
	if closed {
		b.WriteByte('Z')
	}
}

// n writes a pixel coordinate.
func (r *renderer) n(x float64) {
	r.num = appendNum(r.num[:0], x)
	r.b.Write(r.num)
}

// appendNum appends x rounded to a tenth ("12.3", "-4", "0").
func appendNum(b []byte, x float64) []byte {
	t := int64(math.Round(x * 10)) // views are at most 4096 px: no overflow near them
	if t < 0 {
		b = append(b, '-')
		t = -t
	}
	b = strconv.AppendInt(b, t/10, 10)
	if d := t % 10; d != 0 {
		b = append(b, '.', byte('0'+d))
	}
	return b
}

// shape draws a circle or polygonal area with the given class and, when
// title is set, a title.
func (r *renderer) shape(s Shape, class, title string) bool {
	start := r.b.Len()
	t := ""
	if title != "" {
		t = `<title>` + escape(title) + `</title>`
	}
	if c := s.Circle; c != nil {
		x, y := r.pr.project(c.Center)
		// Web Mercator's scale at the circle's own latitude.
		mpp := 2 * math.Pi * earthRadiusM * math.Cos(math.Max(-maxLat, math.Min(maxLat, c.Center.Lat))*math.Pi/180) / r.pr.world
		rad := c.RadiusM / mpp
		if x+rad < r.clip.x0 || x-rad > r.clip.x1 || y+rad < r.clip.y0 || y-rad > r.clip.y1 {
			return false
		}
		r.b.WriteString(`<circle class="` + class + `" cx="`)
		r.n(x)
		r.b.WriteString(`" cy="`)
		r.n(y)
		r.b.WriteString(`" r="`)
		r.n(math.Max(rad, 1))
		r.b.WriteString(`">` + t + `</circle>`)
		return true
	}
	r.b.WriteString(`<path class="` + class + `" fill-rule="evenodd" d="`)
	if !r.rings(s.Rings) {
		r.b.Truncate(start)
		return false
	}
	r.b.WriteString(`">` + t + `</path>`)
	return true
}

// protected draws the protected places in view.
func (r *renderer) protected() {
	r.b.WriteString(`<g class="map-protected">`)
	for _, p := range r.m.Protected {
		title := p.Name
		if p.Category != "" {
			if title != "" {
				title += " — "
			}
			title += p.Category
		}
		if title == "" {
			title = "Protected place"
		}
		if r.shape(p.Shape, "map-protected-place", title) {
			r.st.Protected++
		}
	}
	r.b.WriteString(`</g>`)
}

// cell is an aggregation cell: how many points, and their sum.
type cell struct {
	n      int
	sx, sy float64
}

// points draws the result points (and their track): one by one when few
// are in view, as a grid of counted circles when dense.
func (r *renderer) points() []byte {
	var b bytes.Buffer
	w, h := float64(r.v.Width), float64(r.v.Height)
	view := rect{0, 0, w, h}
	all := make([]pt, 0, len(r.m.Points))
	for _, p := range r.m.Points {
		x, y := r.pr.project(p)
		if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
			continue // not a position: nowhere to draw it
		}
		all = append(all, pt{x, y})
		if view.contains(pt{x, y}) {
			r.st.PointsInView++
		}
	}
	if r.m.Track && len(all) > 1 {
		saved := r.pts
		r.pts = make([]pt, 0, 1024)
		// Thin the track to vertices a pixel apart, then clip it.
		thin := r.pts[:0]
		for i, p := range all {
			if n := len(thin); n > 0 && i < len(all)-1 && math.Abs(p.x-thin[n-1].x) < 1 && math.Abs(p.y-thin[n-1].y) < 1 {
				continue
			}
			thin = append(thin, p)
		}
		var pb bytes.Buffer
		clipLine(thin, r.clip, &r.lbuf, func(piece []pt) {
			r.st.TrackVertices += len(piece)
			r.path(&pb, piece, false)
		})
		if pb.Len() > 0 {
			b.WriteString(`<g class="map-track"><path class="map-track-line" d="`)
			b.Write(pb.Bytes())
			b.WriteString(`"/></g>`)
		}
		r.pts = saved
	}
	if r.st.PointsInView == 0 {
		return b.Bytes()
	}
	if r.st.PointsInView <= MaxMarks {
		b.WriteString(`<g class="map-points">`)
		seen := make(map[[2]int32]bool, r.st.PointsInView)
		for _, p := range all {
			if !view.contains(p) {
				continue
			}
			k := [2]int32{int32(math.Round(p.x * 2)), int32(math.Round(p.y * 2))}
			if seen[k] {
				continue
			}
			seen[k] = true
			r.st.Marks++
			b.WriteString(`<circle class="map-point" cx="`)
			r.num = appendNum(r.num[:0], p.x)
			r.num = append(r.num, `" cy="`...)
			r.num = appendNum(r.num, p.y)
			b.Write(r.num)
			b.WriteString(`" r="4"/>`)
		}
		b.WriteString(`</g>`)
		return b.Bytes()
	}
	// Dense: count the points in cells of CellPx and draw each cell's
	// count at its points' mean position.
	r.st.Aggregated = true
	cols, rows := int(math.Ceil(w/CellPx)), int(math.Ceil(h/CellPx))
	r.cells = make([]cell, cols*rows)
	for _, p := range all {
		if !view.contains(p) {
			continue
		}
		cx, cy := min(int(p.x/CellPx), cols-1), min(int(p.y/CellPx), rows-1)
		c := &r.cells[cy*cols+cx]
		c.n++
		c.sx += p.x
		c.sy += p.y
	}
	what := r.m.PointsWhat
	if what == "" {
		what = "points"
	}
	b.WriteString(`<g class="map-cells">`)
	for _, c := range r.cells {
		if c.n == 0 {
			continue
		}
		r.st.Cells++
		x, y := c.sx/float64(c.n), c.sy/float64(c.n)
		rad := math.Min(CellPx/2, 6+3*math.Log10(float64(c.n)))
		b.WriteString(`<g class="map-cell" data-count="` + strconv.Itoa(c.n) + `"><title>` + thousands(c.n) + " " + escape(what) + `</title><circle cx="`)
		r.num = appendNum(r.num[:0], x)
		r.num = append(r.num, `" cy="`...)
		r.num = appendNum(r.num, y)
		r.num = append(r.num, `" r="`...)
		r.num = appendNum(r.num, rad)
		b.Write(r.num)
		b.WriteString(`"/><text text-anchor="middle" dominant-baseline="central" x="`)
		r.num = appendNum(r.num[:0], x)
		r.num = append(r.num, `" y="`...)
		r.num = appendNum(r.num, y)
		b.Write(r.num)
		b.WriteString(`">` + short(c.n) + `</text></g>`)
	}
	b.WriteString(`</g>`)
	return b.Bytes()
}

// scaleBar draws a bar of a round distance at the bottom left.
func (r *renderer) scaleBar() {
	mpp := r.v.MetresPerPixel()
	target := mpp * float64(r.v.Width) / 5
	step := math.Pow(10, math.Floor(math.Log10(target)))
	for _, k := range []float64{5, 2, 1} {
		if k*step <= target {
			step *= k
			break
		}
	}
	px := step / mpp
	y := float64(r.v.Height) - 12
	r.b.WriteString(`<g class="map-scale" aria-hidden="true"><path d="M10,`)
	r.n(y - 4)
	r.b.WriteString(`V`)
	r.n(y)
	r.b.WriteString(`H`)
	r.n(10 + px)
	r.b.WriteString(`V`)
	r.n(y - 4)
	r.b.WriteString(`"/><text x="14" y="`)
	r.n(y - 6)
	r.b.WriteString(`">` + distance(step) + `</text></g>`)
}

// distance formats metres for people.
func distance(m float64) string {
	if m >= 1000 {
		return strconv.FormatFloat(math.Round(m/100)/10, 'f', -1, 64) + " km"
	}
	return strconv.FormatFloat(math.Round(m), 'f', -1, 64) + " m"
}

// coord formats a coordinate to 5 decimals (about a metre).
func coord(x float64) string { return strconv.FormatFloat(math.Round(x*1e5)/1e5, 'f', -1, 64) }

// thousands formats n with commas: 1,204.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// short formats a cell's count to fit a small circle: 987, 1.2k, 34k.
func short(n int) string {
	switch {
	case n < 1000:
		return strconv.Itoa(n)
	case n < 10_000:
		return strconv.FormatFloat(math.Floor(float64(n)/100)/10, 'f', -1, 64) + "k"
	}
	return strconv.Itoa(n/1000) + "k"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return thousands(n) + " " + what + "s"
}

// escape makes s safe as XML text or attribute value: markup characters
// become references, and characters XML cannot hold are dropped.
func escape(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '&':
			b.WriteString("&amp;")
		case c == '<':
			b.WriteString("&lt;")
		case c == '>':
			b.WriteString("&gt;")
		case c == '"':
			b.WriteString("&#34;")
		case c == '\'':
			b.WriteString("&#39;")
		case c == '\t' || c == '\n' || c == '\r':
			b.WriteByte(' ')
		case c < 0x20 || c == utf8.RuneError || c >= 0xFFFE && c <= 0xFFFF || c >= 0xD800 && c <= 0xDFFF:
			// not a character XML allows
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}
