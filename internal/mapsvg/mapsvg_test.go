package mapsvg_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/basemap"
	"github.com/probity-dev/probity/internal/mapsvg"
)

// dc is downtown Washington, DC.
var dc = basemap.Pos{Lon: -77.0369, Lat: 38.9072}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestView_Project(t *testing.T) {
	t.Run("OKKnownPoints", func(t *testing.T) {
		world := mapsvg.View{Center: basemap.Pos{}, Zoom: 1, Width: 512, Height: 512}
		for _, c := range []struct {
			p    basemap.Pos
			x, y float64
		}{
			{basemap.Pos{}, 256, 256},
			{basemap.Pos{Lon: -180, Lat: 85.05112878}, 0, 0},
			{basemap.Pos{Lon: 180, Lat: -85.05112878}, 512, 512},
			{basemap.Pos{Lon: 90, Lat: 0}, 384, 256},
			// Tile y of 45° N: (1 − asinh(tan 45°)/π)/2 = 0.359725… of the world.
			{basemap.Pos{Lon: 0, Lat: 45}, 256, 0.3597251 * 512},
			// Beyond the Mercator limit, latitudes stop at the edge.
			{basemap.Pos{Lon: 0, Lat: 89}, 256, 0},
		} {
			x, y := world.Project(c.p)
			if !near(x, c.x, 1e-3) || !near(y, c.y, 1e-3) {
				t.Errorf("Project(%v) = %.4f, %.4f; want %.4f, %.4f", c.p, x, y, c.x, c.y)
			}
		}
	})
	t.Run("OKTileFormula", func(t *testing.T) {
		// The view's top left corner at zoom 13 is the world pixel
		// computed with the slippy-map tile formula.
		v := mapsvg.View{Center: dc, Zoom: 13, Width: 800, Height: 600}
		n := math.Exp2(13) * mapsvg.TileSize
		tileX := func(lon float64) float64 { return n * (lon + 180) / 360 }
		tileY := func(lat float64) float64 {
			r := lat * math.Pi / 180
			return n * (1 - math.Asinh(math.Tan(r))/math.Pi) / 2
		}
		p := basemap.Pos{Lon: -77.0, Lat: 38.95}
		x, y := v.Project(p)
		wantX := tileX(p.Lon) - (tileX(dc.Lon) - 400)
		wantY := tileY(p.Lat) - (tileY(dc.Lat) - 300)
		if !near(x, wantX, 1e-6) || !near(y, wantY, 1e-6) {
			t.Errorf("Project = %.4f, %.4f; want %.4f, %.4f", x, y, wantX, wantY)
		}
		if x, y := v.Project(dc); x != 400 || !near(y, 300, 1e-9) {
			t.Errorf("the centre projects to %g, %g", x, y)
		}
		if !near(tileX(dc.Lon)/mapsvg.TileSize, 2342.98, 0.01) {
			t.Errorf("tile x %.3f", tileX(dc.Lon)/mapsvg.TileSize)
		}
	})
	t.Run("OKUnproject", func(t *testing.T) {
		v := mapsvg.View{Center: dc, Zoom: 15.5, Width: 640, Height: 480}
		for _, p := range []basemap.Pos{dc, {Lon: -77.04, Lat: 38.91}, {Lon: -77.03, Lat: 38.9}} {
			q := v.Unproject(v.Project(p))
			if !near(q.Lon, p.Lon, 1e-9) || !near(q.Lat, p.Lat, 1e-9) {
				t.Errorf("Unproject(Project(%v)) = %v", p, q)
			}
		}
	})
	t.Run("OKMetresPerPixel", func(t *testing.T) {
		// At zoom 0 on the equator one pixel is 40,030 km / 256.
		v := mapsvg.View{Zoom: 0, Width: 256, Height: 256}
		if got := v.MetresPerPixel(); !near(got, 2*math.Pi*6371008.8/256, 1e-6) {
			t.Errorf("MetresPerPixel = %g", got)
		}
	})
}

func TestFit(t *testing.T) {
	b := basemap.Bounds{MinLon: -77.2, MinLat: 38.8, MaxLon: -76.9, MaxLat: 39.0}
	v := mapsvg.Fit(b, 800, 500, 20, 18)
	if !v.Valid() || v.Zoom*2 != math.Floor(v.Zoom*2) {
		t.Fatalf("view %+v", v)
	}
	for _, p := range []basemap.Pos{{Lon: b.MinLon, Lat: b.MinLat}, {Lon: b.MaxLon, Lat: b.MaxLat}} {
		x, y := v.Project(p)
		if x < 20 || x > 780 || y < 20 || y > 480 {
			t.Errorf("%v projects to %g, %g: outside the padded view", p, x, y)
		}
	}
	// Half a zoom closer does not fit.
	closer := v.ZoomBy(0.5)
	x0, _ := closer.Project(basemap.Pos{Lon: b.MinLon, Lat: b.MinLat})
	x1, _ := closer.Project(basemap.Pos{Lon: b.MaxLon, Lat: b.MaxLat})
	_, y0 := closer.Project(basemap.Pos{Lon: b.MinLon, Lat: b.MaxLat})
	_, y1 := closer.Project(basemap.Pos{Lon: b.MinLon, Lat: b.MinLat})
	if x1-x0 <= 760 && y1-y0 <= 460 {
		t.Errorf("zoom %g would fit too", closer.Zoom)
	}
	t.Run("OKPoint", func(t *testing.T) {
		v := mapsvg.Fit(basemap.Bounds{MinLon: 1, MinLat: 2, MaxLon: 1, MaxLat: 2}, 400, 300, 10, 16)
		if v.Zoom != 16 || !near(v.Center.Lon, 1, 1e-9) || !near(v.Center.Lat, 2, 1e-9) {
			t.Errorf("a point's view %+v", v)
		}
	})
	t.Run("OKEmpty", func(t *testing.T) {
		if v := mapsvg.Fit(basemap.EmptyBounds(), 400, 300, 10, 16); v.Zoom != mapsvg.MinZoom || !v.Valid() {
			t.Errorf("the empty box's view %+v", v)
		}
	})
	t.Run("OKPanZoom", func(t *testing.T) {
		p := v.Pan(0.5, 0)
		x, y := v.Project(p.Center)
		if !near(x, 800, 1e-6) || !near(y, 250, 1e-6) {
			t.Errorf("panning half a width east puts the centre at %g, %g", x, y)
		}
		if z := v.ZoomBy(100).Zoom; z != mapsvg.MaxZoom {
			t.Errorf("ZoomBy(100) = %g", z)
		}
		if z := v.ZoomBy(-100).Zoom; z != mapsvg.MinZoom {
			t.Errorf("ZoomBy(-100) = %g", z)
		}
	})
}

// wellFormed parses the SVG as XML and returns its elements' names.
func wellFormed(t *testing.T, svg []byte) map[string]int {
	t.Helper()
	names := map[string]int{}
	d := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok {
			names[se.Name.Local]++
		}
	}
	return names
}

// handlers counts the attributes named on…: event handlers.
func handlers(t *testing.T, svg []byte) int {
	t.Helper()
	n := 0
	d := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := d.Token()
		if err != nil {
			return n
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") {
					n++
				}
			}
		}
	}
}

// square returns an open square ring of half-side r degrees around c.
func square(c basemap.Pos, r float64) []basemap.Pos {
	return []basemap.Pos{{Lon: c.Lon - r, Lat: c.Lat - r}, {Lon: c.Lon + r, Lat: c.Lat - r}, {Lon: c.Lon + r, Lat: c.Lat + r}, {Lon: c.Lon - r, Lat: c.Lat + r}}
}

func feature(kind basemap.Kind, name, class string, parts ...[]basemap.Pos) basemap.Feature {
	f := basemap.Feature{Kind: kind, Name: name, Class: class, Parts: parts, Bounds: basemap.EmptyBounds()}
	for _, p := range parts {
		for _, q := range p {
			f.Bounds.Extend(q)
		}
	}
	return f
}

func layer(fs ...basemap.Feature) *basemap.Layer {
	l := &basemap.Layer{Features: fs, Bounds: basemap.EmptyBounds()}
	for _, f := range fs {
		l.Bounds = l.Bounds.Union(f.Bounds)
	}
	return l
}

var pathNums = regexp.MustCompile(`-?\d+(\.\d+)?`)

func TestRender_Culling(t *testing.T) {
	v := mapsvg.View{Center: dc, Zoom: 14, Width: 600, Height: 400}
	far := basemap.Pos{Lon: 2.35, Lat: 48.85} // Paris
	l := layer(
		feature(basemap.Polygon, "Near district", "district", square(dc, 0.006)),
		feature(basemap.Polygon, "Far district", "far", square(far, 0.01)),
		feature(basemap.Line, "", "minor", []basemap.Pos{{Lon: -77.05, Lat: 38.9072}, {Lon: -77.02, Lat: 38.9072}}),
		feature(basemap.Line, "", "faraway", []basemap.Pos{far, {Lon: far.Lon + 1, Lat: far.Lat}}),
		feature(basemap.Point, "Monument", "landmark", []basemap.Pos{dc}),
		// A polygon much larger than the view: clipped to it.
		feature(basemap.Polygon, "", "boundary", square(dc, 1)),
	)
	svg, st := mapsvg.Render(&mapsvg.Map{ID: "m1", Title: "Test", View: v, Layers: []mapsvg.Layer{{Name: "test", Layer: l}}})
	wellFormed(t, svg)
	s := string(svg)
	if st.Features != 4 || st.Culled != 2 {
		t.Errorf("drew %d features and culled %d; want 4 and 2", st.Features, st.Culled)
	}
	for _, gone := range []string{"c-far", "c-faraway", "Far district"} {
		if strings.Contains(s, gone) {
			t.Errorf("the SVG has %q, which is off the view", gone)
		}
	}
	for _, want := range []string{`class="map-polygon c-district"`, `class="map-line c-minor"`, `<title>Monument</title>`, `class="map-polygon c-boundary"`, `>Near district</text>`} {
		if !strings.Contains(s, want) {
			t.Errorf("the SVG lacks %s:\n%s", want, s)
		}
	}
	// The boundary and the long street are clipped to the view, padded.
	for _, re := range []string{`c-boundary" fill-rule="evenodd" d="([^"]+)"`, `c-minor" d="([^"]+)"`} {
		m := regexp.MustCompile(re).FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("no path %s", re)
		}
		for _, n := range pathNums.FindAllString(m[1], -1) {
			if f, _ := strconv.ParseFloat(n, 64); f < -8 || f > 608 {
				t.Errorf("path %s has coordinate %s outside the padded view", re, n)
			}
		}
	}
	if !strings.Contains(s, "basemap layers test (4 features)") {
		t.Errorf("the description does not count the features drawn:\n%s", s)
	}
}

func TestRender_Points(t *testing.T) {
	v := mapsvg.View{Center: dc, Zoom: 15, Width: 640, Height: 480}
	t.Run("OKFew", func(t *testing.T) {
		pts := []basemap.Pos{dc, dc, {Lon: dc.Lon + 0.001, Lat: dc.Lat}, {Lon: dc.Lon, Lat: dc.Lat + 0.001}, {Lon: 0, Lat: 0}}
		svg, st := mapsvg.Render(&mapsvg.Map{View: v, Points: pts, PointsWhat: "pings of device p-abc", Track: true})
		names := wellFormed(t, svg)
		if st.PointsInView != 4 || st.Marks != 3 || st.Aggregated || names["circle"] != 3 {
			t.Errorf("stats %+v, %d circles; want 4 in view drawn as 3 marks", st, names["circle"])
		}
		// The centre is drawn at the middle of the view.
		if !strings.Contains(string(svg), `<circle class="map-point" cx="320" cy="240" r="4"/>`) {
			t.Errorf("no mark at the centre:\n%s", svg)
		}
		if !strings.Contains(string(svg), "5 pings of device p-abc, 4 of them in view; a line joining them in time order") || st.TrackVertices < 3 {
			t.Errorf("description or track: %+v\n%s", st, svg)
		}
	})
	t.Run("OKDense", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		pts := make([]basemap.Pos, 50_000)
		for i := range pts {
			pts[i] = basemap.Pos{Lon: dc.Lon + (rng.Float64()-0.5)*0.02, Lat: dc.Lat + (rng.Float64()-0.5)*0.02}
		}
		svg, st := mapsvg.Render(&mapsvg.Map{View: v, Points: pts, PointsWhat: "pings"})
		wellFormed(t, svg)
		if !st.Aggregated || st.Cells == 0 || st.Marks != 0 {
			t.Fatalf("stats %+v", st)
		}
		sum := 0
		counts := regexp.MustCompile(`data-count="(\d+)"`).FindAllStringSubmatch(string(svg), -1)
		for _, m := range counts {
			n, _ := strconv.Atoi(m[1])
			sum += n
		}
		if len(counts) != st.Cells || sum != st.PointsInView {
			t.Errorf("%d cells counting %d points; want %d cells counting the %d in view", len(counts), sum, st.Cells, st.PointsInView)
		}
		// Count the points in view independently.
		in := 0
		for _, p := range pts {
			if x, y := v.Project(p); x >= 0 && x <= 640 && y >= 0 && y <= 480 {
				in++
			}
		}
		if in != st.PointsInView || in == len(pts) || in == 0 {
			t.Errorf("%d points in view, the render counted %d", in, st.PointsInView)
		}
		if want := "50,000 pings, " + thousandsOf(in) + " of them in view, too dense to draw one by one: shown as " + strconv.Itoa(st.Cells) + " grid circles"; !strings.Contains(string(svg), want) {
			t.Errorf("the description lacks %q", want)
		}
	})
}

func thousandsOf(n int) string {
	s := strconv.Itoa(n)
	if len(s) > 3 {
		return s[:len(s)-3] + "," + s[len(s)-3:]
	}
	return s
}

func TestRender_Overlays(t *testing.T) {
	v := mapsvg.View{Center: dc, Zoom: 15, Width: 640, Height: 480}
	prot := []mapsvg.Protected{
		{Name: "Field office", Category: "Agency facility", Shape: mapsvg.Shape{Circle: &mapsvg.Circle{Center: dc, RadiusM: 100}}},
		{Name: "Clinic", Category: "Medical facility", Shape: mapsvg.Shape{Rings: [][]basemap.Pos{square(basemap.Pos{Lon: dc.Lon + 0.002, Lat: dc.Lat}, 0.0005)}}},
		{Name: "Far away", Shape: mapsvg.Shape{Circle: &mapsvg.Circle{Center: basemap.Pos{Lon: 10, Lat: 10}, RadiusM: 100}}},
	}
	m := &mapsvg.Map{View: v, Area: mapsvg.Shape{Circle: &mapsvg.Circle{Center: dc, RadiusM: 300}}, AreaWhat: "the search area", Protected: prot}
	t.Run("OKHidden", func(t *testing.T) {
		svg, st := mapsvg.Render(m)
		wellFormed(t, svg)
		s := string(svg)
		if strings.Contains(s, "map-protected") || strings.Contains(s, "Field office") || strings.Contains(s, "protected place") || st.Protected != 0 {
			t.Errorf("protected places drawn or mentioned for someone who may not see them:\n%s", s)
		}
		// 300 m at 38.9° N and zoom 15: 300 / (2πR·cos φ / 2^23) px.
		want := 300 / (2 * math.Pi * 6371008.8 * math.Cos(dc.Lat*math.Pi/180) / (256 * math.Exp2(15)))
		m := regexp.MustCompile(`<circle class="map-area-shape" cx="320" cy="240" r="([\d.]+)"`).FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("no area circle:\n%s", s)
		}
		if r, _ := strconv.ParseFloat(m[1], 64); !near(r, want, 0.06) {
			t.Errorf("area radius %g px, want %.2f", r, want)
		}
		if !strings.Contains(s, "the search area (a circle of 300 m around 38.9072, -77.0369)") {
			t.Errorf("the description does not state the area:\n%s", s)
		}
	})
	t.Run("OKShown", func(t *testing.T) {
		m := *m
		m.ShowProtected = true
		svg, st := mapsvg.Render(&m)
		wellFormed(t, svg)
		s := string(svg)
		if st.Protected != 2 || strings.Count(s, `class="map-protected-place"`) != 2 || !strings.Contains(s, "<title>Field office — Agency facility</title>") ||
			!strings.Contains(s, "2 protected places in view") || strings.Contains(s, "Far away") {
			t.Errorf("stats %+v:\n%s", st, s)
		}
	})
}

func TestRender_Accessible(t *testing.T) {
	v := mapsvg.View{Center: dc, Zoom: 14, Width: 600, Height: 400}
	svg, _ := mapsvg.Render(&mapsvg.Map{ID: "q-12", Title: "Query 12", View: v})
	s := string(svg)
	for _, want := range []string{`role="img"`, `aria-labelledby="q-12-title q-12-desc"`, `<title id="q-12-title">Query 12</title>`, `<desc id="q-12-desc">Map centred on 38.9072, -77.0369 at zoom 14`,
		`data-lat="38.9072" data-lon="-77.0369" data-zoom="14"`, `viewBox="0 0 600 400"`, "Nothing is drawn on it."} {
		if !strings.Contains(s, want) {
			t.Errorf("the SVG lacks %s:\n%s", want, s)
		}
	}
	for _, banned := range []string{"<script", "style="} {
		if strings.Contains(s, banned) {
			t.Errorf("the SVG has %q", banned)
		}
	}
	if handlers(t, svg) != 0 {
		t.Error("the SVG has event handler attributes")
	}
	// A title comes first, then the description.
	if strings.Index(s, "<title") > strings.Index(s, "<desc") {
		t.Error("the description precedes the title")
	}
}

func TestRender_Escaping(t *testing.T) {
	hostile := `</title><script>alert(1)</script><a href="x" onload='y'>&amp;` + "\x00\x1b\ufffe"
	v := mapsvg.View{Center: dc, Zoom: 15, Width: 640, Height: 480}
	l := layer(
		feature(basemap.Polygon, hostile, `"><script>`, square(dc, 0.003)),
		feature(basemap.Point, hostile, "", []basemap.Pos{dc}),
	)
	svg, _ := mapsvg.Render(&mapsvg.Map{ID: `x" onload="alert(1)`, Title: hostile, View: v, Layers: []mapsvg.Layer{{Name: hostile, Layer: l}},
		Points: []basemap.Pos{dc}, PointsWhat: hostile, AreaWhat: hostile, Area: mapsvg.Shape{Circle: &mapsvg.Circle{Center: dc, RadiusM: 50}},
		Protected: []mapsvg.Protected{{Name: hostile, Category: hostile, Shape: mapsvg.Shape{Circle: &mapsvg.Circle{Center: dc, RadiusM: 20}}}}, ShowProtected: true})
	names := wellFormed(t, svg)
	s := string(svg)
	if names["script"] != 0 || names["a"] != 0 || strings.Contains(s, "<script") || handlers(t, svg) != 0 || strings.Contains(s, "\x00") {
		t.Errorf("a hostile name came through: %v\n%s", names, s)
	}
	if !strings.Contains(s, "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(s, "&amp;amp;") {
		t.Errorf("the name is not shown escaped:\n%s", s)
	}
	if !strings.Contains(s, `id="xonloadalert1"`) {
		t.Errorf("the ID is not cleaned:\n%s", s)
	}
}

func TestRender_InvalidView(t *testing.T) {
	for _, v := range []mapsvg.View{{}, {Zoom: math.NaN(), Width: 100, Height: 100, Center: basemap.Pos{Lon: math.NaN()}}, {Zoom: 99, Width: 1e6, Height: -3}} {
		svg, _ := mapsvg.Render(&mapsvg.Map{View: v, Points: []basemap.Pos{dc}})
		wellFormed(t, svg)
		if strings.Contains(string(svg), "NaN") || strings.Contains(string(svg), "Inf") {
			t.Errorf("view %+v: %s", v, svg)
		}
	}
}

func TestRender_Labels(t *testing.T) {
	v := mapsvg.View{Center: dc, Zoom: 14, Width: 600, Height: 400}
	l := layer(
		feature(basemap.Polygon, "Centre", "district", square(dc, 0.006)),
		// Same place: its label would cover the first.
		feature(basemap.Polygon, "Synthetic city", "boundary", square(dc, 0.007)),
		// Larger than the view: where its middle is, nobody can tell.
		feature(basemap.Polygon, "County", "boundary", square(dc, 1)),
		// Too small for its name.
		feature(basemap.Polygon, "A very long name for a tiny place", "park", square(basemap.Pos{Lon: dc.Lon + 0.01, Lat: dc.Lat}, 0.0005)),
	)
	svg, _ := mapsvg.Render(&mapsvg.Map{View: v, Layers: []mapsvg.Layer{{Name: "l", Layer: l}}})
	wellFormed(t, svg)
	labels := regexp.MustCompile(`<text class="map-label"[^>]*>([^<]*)</text>`).FindAllStringSubmatch(string(svg), -1)
	if len(labels) != 1 || labels[0][1] != "Centre" {
		t.Errorf("labels %v, want only Centre", labels)
	}
}
