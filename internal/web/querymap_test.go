package web_test

import (
	"context"
	"html"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/basemap"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/mapsvg"
	"github.com/probity-dev/probity/internal/places"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
	"github.com/probity-dev/probity/internal/web"
)

// streetsLayer is a basemap layer of two streets near the test pings.
const streetsLayer = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"name":"Port Road","class":"major"},"geometry":{"type":"LineString","coordinates":[[-77.04,38.9],[-77.02,38.9]]}},
{"type":"Feature","properties":{"name":"Dock Street","class":"minor"},"geometry":{"type":"LineString","coordinates":[[-77.03,38.89],[-77.03,38.91]]}}]}`

// mustMapWeb is the query pages of mustQueryWeb with a basemap layer and
// a protected place next to the pings.
func mustMapWeb(t *testing.T) *queryWeb {
	t.Helper()
	ctx := context.Background()
	e := mustQueryWeb(t)
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "web-test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	bm := e.DB.Basemaps()
	if _, err := bm.Import(ctx, admin, store.BasemapImport{Name: "streets", Source: "streets.geojson", Data: []byte(streetsLayer)}); err != nil {
		t.Fatal(err)
	}
	ps := e.DB.Places(nil, nil)
	if _, err := ps.Import(ctx, e.As["cbp-cpo"], store.PlaceImport{Source: "clinic.csv", Format: places.CSV,
		Data: []byte("name,category,lat,lon,radius_m\nHarbour Clinic,medical,38.9006,-77.0292,50\n")}); err != nil {
		t.Fatal(err)
	}
	key, err := sealed.ParseKey(sealed.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	if e.w, err = web.New(web.Deps{Authn: authn.New(e.Ids, authn.Config{Secrets: key, Logger: storetest.Logger()}), Identity: e.Ids, Queries: e.svc,
		Logger: storetest.Logger(), Basemaps: bm, Places: ps}); err != nil {
		t.Fatal(err)
	}
	return e
}

var svgR = regexp.MustCompile(`(?s)<svg [^>]*class="map" id="([^"]+)"[^>]*data-lat="([^"]+)" data-lon="([^"]+)" data-zoom="([^"]+)">.*?</svg>`)

// pageMap returns the map of a page and the view it shows.
func pageMap(t *testing.T, body string) (string, mapsvg.View) {
	t.Helper()
	m := svgR.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the page has no map:\n%s", body)
	}
	num := func(s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	return m[0], mapsvg.View{Center: basemap.Pos{Lat: num(m[2]), Lon: num(m[3])}, Zoom: num(m[4]), Width: 800, Height: 520}
}

func TestWeb_QueryMap(t *testing.T) {
	e := mustMapWeb(t)
	ctx := context.Background()
	page := e.submit(t, "cbp-analyst", e.circle(justification))
	id, _ := strconv.ParseInt(strings.TrimPrefix(page, "/queries/"), 10, 64)

	t.Run("OKAreaSearch", func(t *testing.T) {
		reads := len(e.Entries(t, "query.results_read"))
		body := e.do(t, "cbp-analyst", "GET", page, nil).Body.String()
		svg, v := pageMap(t, body)
		for _, want := range []string{`role="img"`, `<title id="query-map-title">Map of query ` + strconv.FormatInt(id, 10) + `</title>`,
			"the search area (a circle of 400 m around 38.9005, -77.029)", `data-layer="streets"`, `class="map-line c-major"`, `<circle class="map-area-shape"`} {
			if !strings.Contains(svg, want) {
				t.Errorf("the map lacks %s:\n%s", want, svg)
			}
		}
		// The area search's results are devices, not positions: no points.
		if strings.Contains(svg, "map-point") {
			t.Error("an area search's map shows points")
		}
		// The circle is centred where the request says.
		x, y := v.Project(basemap.Pos{Lon: -77.029, Lat: 38.9005})
		if !strings.Contains(svg, `cx="`+tenth(x)+`" cy="`+tenth(y)+`"`) {
			t.Errorf("the area is not drawn at %s, %s:\n%s", tenth(x), tenth(y), svg)
		}
		// An analyst does not manage protected places: none is drawn.
		if strings.Contains(svg, "map-protected") || strings.Contains(body, "Harbour Clinic") {
			t.Error("the analyst's map shows a protected place")
		}
		if n := len(e.Entries(t, "query.results_read")); n != reads+1 {
			t.Errorf("the page read the results %d times", n-reads)
		}
	})

	t.Run("OKZoomLink", func(t *testing.T) {
		body := e.do(t, "cbp-analyst", "GET", page, nil).Body.String()
		_, v := pageMap(t, body)
		m := regexp.MustCompile(`<a href="([^"]+)" title="[^"]+">Zoom in</a>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no zoom link:\n%s", body)
		}
		link := html.UnescapeString(m[1])
		if !strings.HasPrefix(link, page+"?map_lat=") || !strings.HasSuffix(link, "#map") {
			t.Fatalf("zoom link %q", link)
		}
		rec := e.do(t, "cbp-analyst", "GET", strings.TrimSuffix(link, "#map"), nil)
		_, zoomed := pageMap(t, rec.Body.String())
		if rec.Code != http.StatusOK || zoomed.Zoom != v.Zoom+1 || math.Abs(zoomed.Center.Lat-v.Center.Lat) > 1e-6 {
			t.Errorf("after zooming in: status %d, view %+v (before %+v)", rec.Code, zoomed, v)
		}
		// A view that is not one falls back to the fitted one.
		rec = e.do(t, "cbp-analyst", "GET", page+"?map_lat=x&map_lon=1e999&map_z=99", nil)
		if _, back := pageMap(t, rec.Body.String()); rec.Code != http.StatusOK || back != v {
			t.Errorf("a bad view: status %d, view %+v, want %+v", rec.Code, back, v)
		}
	})

	t.Run("OKDeviceHistory", func(t *testing.T) {
		res, _, err := e.svc.Results(ctx, e.As["cbp-analyst"], id)
		if err != nil || len(res.Devices) == 0 {
			t.Fatalf("area results: %v, %+v", err, res)
		}
		device := res.Devices[0].Device
		out, err := e.svc.Submit(ctx, e.As["cbp-analyst"], query.Request{Kind: query.DeviceHistory, Case: e.caseNo, Source: e.src.Name,
			Justification: "Follow the first device seen near the port through the evening.", Device: device, LegalProcess: "CO-2026-17",
			From: e.now.Add(-3 * time.Hour), To: e.now.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Query.Status == query.AwaitingApproval {
			if _, err := e.svc.Decide(ctx, e.As["cbp-head"], out.Query.ID, true, "needed for the case"); err != nil {
				t.Fatal(err)
			}
			if out, err = e.svc.Run(ctx, e.As["cbp-analyst"], out.Query.ID); err != nil {
				t.Fatal(err)
			}
		}
		if out.Result == nil || len(out.Result.Pings) != 4 {
			t.Fatalf("history: %+v", out)
		}
		body := e.do(t, "cbp-analyst", "GET", "/queries/"+strconv.FormatInt(out.Query.ID, 10), nil).Body.String()
		svg, v := pageMap(t, body)
		if !strings.Contains(svg, "4 pings of device "+device) || !strings.Contains(svg, `<path class="map-track-line"`) {
			t.Errorf("the map does not describe the pings and their track:\n%s", svg)
		}
		// Each ping is a mark at its projected position.
		marks := regexp.MustCompile(`<circle class="map-point" cx="([-\d.]+)" cy="([-\d.]+)"`).FindAllStringSubmatch(svg, -1)
		if len(marks) != 4 {
			t.Fatalf("%d marks, want 4:\n%s", len(marks), svg)
		}
		got := map[string]bool{}
		for _, m := range marks {
			got[m[1]+","+m[2]] = true
		}
		for _, p := range out.Result.Pings {
			x, y := v.Project(basemap.Pos{Lon: p.Lon, Lat: p.Lat})
			if !got[tenth(x)+","+tenth(y)] {
				t.Errorf("no mark for the ping at %g, %g (%s, %s); marks %v", p.Lat, p.Lon, tenth(x), tenth(y), got)
			}
			if x < 0 || x > 800 || y < 0 || y > 520 {
				t.Errorf("the ping at %g, %g is off the fitted view", p.Lat, p.Lon)
			}
		}
	})

	t.Run("OKNewQuery", func(t *testing.T) {
		rec := e.do(t, "cbp-analyst", "GET", "/queries/new", nil)
		body := rec.Body.String()
		svg, _ := pageMap(t, body)
		m := regexp.MustCompile(`<script src="(/static/map-draw\.[0-9a-f]{12}\.js)" defer></script>`).FindStringSubmatch(body)
		if rec.Code != http.StatusOK || m == nil || !strings.Contains(body, `data-map-draw`) || !strings.Contains(svg, `id="draw-map"`) ||
			!strings.Contains(body, `data-map-nav>Zoom in</a>`) || !strings.Contains(svg, `data-layer="streets"`) {
			t.Fatalf("the new-query page has no drawing map:\n%s", body)
		}
		// The typed alternative is always there.
		for _, field := range []string{`id="lat"`, `id="lon"`, `id="radius"`, `id="polygon"`} {
			if !strings.Contains(body, field) {
				t.Errorf("the form lacks %s", field)
			}
		}
		js := e.do(t, "", "GET", m[1], nil)
		if js.Code != http.StatusOK || js.Header().Get("Content-Type") != "text/javascript; charset=utf-8" || !strings.Contains(js.Body.String(), "data-map-draw") {
			t.Errorf("the script: status %d, %s", js.Code, js.Header().Get("Content-Type"))
		}
	})

	t.Run("OKTypedAreaShown", func(t *testing.T) {
		// A refused form shows the area typed on the map.
		form := e.circle("too short")
		form.Set("csrf", e.token(t, "cbp-analyst"))
		body := e.do(t, "cbp-analyst", "POST", "/queries", form).Body.String()
		svg, _ := pageMap(t, body)
		if !strings.Contains(svg, "the area typed in the form (a circle of 400 m around 38.9005, -77.029)") {
			t.Errorf("the map does not show the typed area:\n%s", svg)
		}
	})
}

// tenth formats a pixel coordinate as the map writes it.
func tenth(x float64) string {
	t := int64(math.Round(x * 10))
	s := strconv.FormatInt(t/10, 10)
	if t < 0 && t > -10 {
		s = "-0"
	}
	if d := t % 10; d != 0 {
		if d < 0 {
			d = -d
		}
		s += "." + strconv.FormatInt(d, 10)
	}
	return s
}
