package app_test

import (
	"context"
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/basemap"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/mapsvg"
	"github.com/probity-dev/probity/internal/store"
)

// TestServer_BrowserMapDraw draws a search area on the new-query page's
// map in a real browser: a circle (two clicks) and a polygon (a click per
// corner), checks that the form's fields hold what was drawn, moves the
// map without losing what was typed, and submits the drawn polygon.
func TestServer_BrowserMapDraw(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	browser := startBrowser(t, ctx)
	ts := startTLSServer(t)
	const (
		employeeID = "E7700457"
		password   = "harbor lantern quartz ten"
	)
	phone := &authenticator{}
	caseNo, source := mustQueryAnalyst(t, ts, employeeID, password, phone)
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	if _, err := ts.Basemaps.Import(t.Context(), admin, store.BasemapImport{Name: "streets", Source: "streets.geojson", Data: []byte(`{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"name":"Port Road","class":"major"},"geometry":{"type":"LineString","coordinates":[[-77.04,38.895],[-77.02,38.905]]}}]}`)}); err != nil {
		t.Fatal(err)
	}

	a := newTab(t, browser, ts.URL)
	a.open("/login")
	a.do(chromedp.SendKeys(chromedp.ID("account"), employeeID), chromedp.SendKeys(chromedp.ID("password"), password))
	a.load(chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)))
	a.do(chromedp.SendKeys(chromedp.ID("code"), phone.code(t)))
	if status := a.load(chromedp.Click(chromedp.CSS(`form[action="/login/code"] button[type=submit]`))); status != 200 {
		t.Fatalf("sign in: status %d at %s: %s", status, a.path(), a.alert())
	}
	if status := a.open("/queries/new"); status != 200 {
		t.Fatalf("the new-query page: status %d", status)
	}
	if u := a.unlabelled(); len(u) > 0 {
		t.Errorf("fields or buttons without a label: %v", u)
	}

	// view returns the map's view; at clicks the view's pixel x, y.
	view := func() mapsvg.View {
		t.Helper()
		var v struct{ Lat, Lon, Zoom float64 }
		js := `(() => { const s = document.getElementById('draw-map'); return JSON.stringify({Lat: +s.dataset.lat, Lon: +s.dataset.lon, Zoom: +s.dataset.zoom}); })()`
		if err := json.Unmarshal([]byte(eval[string](a, js)), &v); err != nil {
			t.Fatal(err)
		}
		return mapsvg.View{Center: basemap.Pos{Lat: v.Lat, Lon: v.Lon}, Zoom: v.Zoom, Width: 800, Height: 520}
	}
	at := func(x, y float64) {
		t.Helper()
		var r struct{ Left, Top, Width float64 }
		js := `(() => { const s = document.getElementById('draw-map'); s.scrollIntoView({block: 'center'}); const r = s.getBoundingClientRect(); return JSON.stringify({Left: r.left, Top: r.top, Width: r.width}); })()`
		if err := json.Unmarshal([]byte(eval[string](a, js)), &r); err != nil {
			t.Fatal(err)
		}
		k := r.Width / 800 // the map is scaled to the page's width
		a.do(chromedp.MouseClickXY(r.Left+x*k, r.Top+y*k))
	}
	button := func(text string) {
		t.Helper()
		a.do(chromedp.Click(chromedp.Search(`//div[@class="map-tools"]/button[normalize-space()="` + text + `"]`)))
	}
	value := func(id string) string { t.Helper(); return eval[string](a, `document.getElementById('`+id+`').value`) }
	checked := func(id string) bool { t.Helper(); return eval[bool](a, `document.getElementById('`+id+`').checked`) }
	near := func(got string, want, tol float64) bool {
		var f float64
		return json.Unmarshal([]byte(got), &f) == nil && math.Abs(f-want) <= tol
	}

	t.Run("OKCircle", func(t *testing.T) {
		v := view()
		button("Draw a circle")
		at(400, 260)
		at(450, 260)
		centre := v.Unproject(400, 260)
		edge := v.Unproject(450, 260)
		// 50 px along a parallel, in metres.
		wantR := 6371008.8 * math.Cos(centre.Lat*math.Pi/180) * (edge.Lon - centre.Lon) * math.Pi / 180
		// A click lands on a whole CSS pixel: allow one of the map's pixels.
		tol := 360 / (256 * math.Exp2(v.Zoom))
		if !checked("shape-circle") || !near(value("lat"), centre.Lat, tol) || !near(value("lon"), centre.Lon, tol) || !near(value("radius"), wantR, wantR/25+2) {
			t.Errorf("the circle's fields hold %s, %s, %s m; want about %.6f, %.6f, %.0f m", value("lat"), value("lon"), value("radius"), centre.Lat, centre.Lon, wantR)
		}
		if n := eval[int](a, `document.querySelectorAll('#draw-map .map-drawing circle').length`); n != 2 {
			t.Errorf("the drawing has %d circles, want the circle and its centre", n)
		}
		if s := a.text(".map-status"); !strings.Contains(s, "the circle's fields are filled in") {
			t.Errorf("the status says %q", s)
		}
	})

	t.Run("OKPolygon", func(t *testing.T) {
		v := view()
		button("Draw a polygon")
		corners := [][2]float64{{300, 200}, {500, 200}, {400, 350}}
		for _, c := range corners {
			at(c[0], c[1])
		}
		button("Finish the polygon")
		var g struct {
			Type        string         `json:"type"`
			Coordinates [][][2]float64 `json:"coordinates"`
		}
		if err := json.Unmarshal([]byte(value("polygon")), &g); err != nil || g.Type != "Polygon" || len(g.Coordinates) != 1 || len(g.Coordinates[0]) != 4 {
			t.Fatalf("the polygon field holds %q (%v)", value("polygon"), err)
		}
		ring := g.Coordinates[0]
		tol := 2 * 360 / (256 * math.Exp2(v.Zoom))
		for i, c := range corners {
			want := v.Unproject(c[0], c[1])
			if math.Abs(ring[i][0]-want.Lon) > tol || math.Abs(ring[i][1]-want.Lat) > tol {
				t.Errorf("corner %d is %v, want about %.6f, %.6f", i, ring[i], want.Lon, want.Lat)
			}
		}
		if ring[3] != ring[0] || !checked("shape-polygon") {
			t.Errorf("the ring is not closed or the polygon not chosen: %v", ring)
		}
		finish := `[...document.querySelectorAll('.map-tools button')].find(b => b.textContent === 'Finish the polygon')`
		if shown := eval[bool](a, `getComputedStyle(`+finish+`).display !== 'none'`); shown {
			t.Error("the Finish button still shows once the polygon is finished")
		}
	})

	t.Run("OKMoveKeepsForm", func(t *testing.T) {
		a.do(chromedp.SendKeys(chromedp.ID("justification"), "Kept while the map moves."))
		before := view()
		a.do(chromedp.Click(chromedp.Search(`//nav[@class="map-nav"]/a[normalize-space()="East"]`)))
		deadline := time.Now().Add(10 * time.Second)
		for view().Center.Lon <= before.Center.Lon && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if after := view(); after.Center.Lon <= before.Center.Lon || a.path() != "/queries/new" || value("justification") != "Kept while the map moves." {
			t.Errorf("after moving east: centre %v (was %v), at %s, justification %q", after.Center, before.Center, a.path(), value("justification"))
		}
		// The drawing follows the map.
		if n := eval[int](a, `document.querySelectorAll('#draw-map .map-drawing polygon').length`); n != 1 {
			t.Errorf("after moving, the drawing has %d polygons", n)
		}
	})

	t.Run("OKSubmitDrawn", func(t *testing.T) {
		now := time.Now().UTC()
		a.do(
			chromedp.SendKeys(chromedp.ID("case"), caseNo),
			chromedp.SendKeys(chromedp.ID("source"), source),
			chromedp.SetValue(chromedp.ID("justification"), "Containers moved at night near the port; find devices present."),
			chromedp.SetValue(chromedp.ID("from"), now.Add(-3*time.Hour).Format("2006-01-02T15:04")),
			chromedp.SetValue(chromedp.ID("to"), now.Add(2*time.Minute).Format("2006-01-02T15:04")),
		)
		if status := a.load(chromedp.Click(chromedp.CSS(`form[action="/queries"] button[type=submit]`))); status != 200 || !regexp.MustCompile(`^/queries/\d+$`).MatchString(a.path()) {
			t.Fatalf("submit: status %d at %s: %s", status, a.path(), a.alert())
		}
		if desc := eval[string](a, `(document.querySelector('#query-map desc') || {}).textContent || ''`); !strings.Contains(desc, "the search area (a polygon)") {
			t.Errorf("the query's map says %q", desc)
		}
	})
}
