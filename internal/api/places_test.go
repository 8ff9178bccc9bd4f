package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/api"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/store"
)

// TestPlaces_API checks the places routes' answers: formats, refusals
// with each problem's line, the size limit, and homes that never show
// their coordinates.
func TestPlaces_API(t *testing.T) {
	ts := mustStartServer(t, store.SQLite)
	ts.mustJSON(t, request{method: "POST", path: "/api/v1/components", auth: bearer(adminToken), body: `{"code":"CBP","name":"CBP component"}`}, http.StatusCreated, &struct{}{})
	cpo := ts.mustPerson(t, invitation{label: "cbp-cpo", component: "CBP"}, auth.Grant{Role: auth.ComponentPrivacyOfficer, Component: "CBP"})
	analyst := ts.mustPerson(t, invitation{label: "cbp-analyst", component: "CBP"}, auth.Grant{Role: auth.Analyst, Component: "CBP"})
	cookie := cpo.session()
	count := func(t *testing.T) int {
		t.Helper()
		var resp struct {
			Places []json.RawMessage `json:"places"`
		}
		ts.mustJSON(t, request{method: "GET", path: "/api/v1/places", cookie: cookie}, http.StatusOK, &resp)
		return len(resp.Places)
	}
	geojson := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"category":"court","name":"Court"},"geometry":{"type":"Point","coordinates":[-73.9,40.7]}}]}`

	t.Run("OKFormats", func(t *testing.T) {
		var imp struct {
			ID        int64  `json:"id"`
			Component string `json:"component"`
			Format    string `json:"format"`
			Places    int    `json:"places"`
			Source    string `json:"source"`
		}
		ts.mustJSON(t, request{method: "POST", path: "/api/v1/place-imports?source=court.geojson", cookie: cookie, body: geojson, contentType: "application/geo+json"}, http.StatusCreated, &imp)
		if imp.Format != "geojson" || imp.Places != 1 || imp.Component != "CBP" || imp.Source != "court.geojson" {
			t.Errorf("import %+v", imp)
		}
		ts.mustJSON(t, request{method: "POST", path: "/api/v1/place-imports?source=schools.csv", cookie: cookie, body: "category,lat,lon\nschool,40.71,-73.91\n", contentType: "text/csv; charset=utf-8"}, http.StatusCreated, &imp)
		if imp.Format != "csv" || imp.Places != 1 {
			t.Errorf("import %+v", imp)
		}
		var list struct {
			Places []struct {
				Category string          `json:"category"`
				Geometry json.RawMessage `json:"geometry"`
			} `json:"places"`
		}
		ts.mustJSON(t, request{method: "GET", path: "/api/v1/places?category=court", cookie: cookie}, http.StatusOK, &list)
		var geom bytes.Buffer
		if len(list.Places) == 1 {
			json.Compact(&geom, list.Places[0].Geometry)
		}
		if len(list.Places) != 1 || geom.String() != `{"type":"Point","coordinates":[-73.9,40.7],"radius_m":150}` {
			t.Errorf("courts %+v", list)
		}
	})
	t.Run("ErrFile", func(t *testing.T) {
		n := count(t)
		before := ts.ledgerSize(t)
		r := ts.send(t, request{method: "POST", path: "/api/v1/place-imports?format=csv&source=bad.csv", cookie: cookie,
			body: "name,category,lat,lon\nA,school,40.7,-73.9\nB,school,north,-73.9\nC,employee_home,40.7,-73.9\n"})
		var e struct {
			Error struct {
				Code     string `json:"code"`
				Message  string `json:"message"`
				Problems []struct {
					Feature int    `json:"feature"`
					Line    int    `json:"line"`
					Field   string `json:"field"`
					Message string `json:"message"`
				} `json:"problems"`
			} `json:"error"`
		}
		if err := json.Unmarshal(r.body, &e); err != nil || r.status != http.StatusBadRequest {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		ps := e.Error.Problems
		if e.Error.Code != "invalid" || len(ps) != 2 || ps[0].Line != 3 || ps[0].Field != "lat" || ps[0].Feature != -1 || ps[1].Line != 4 || !strings.Contains(ps[1].Message, "never imported as places") {
			t.Errorf("error %+v", e.Error)
		}
		for _, c := range []struct {
			name, path, body, contentType string
			status                        int
			want                          string
		}{
			{"no source", "/api/v1/place-imports?format=csv", "category,lat,lon\nschool,1,2\n", "", http.StatusBadRequest, "file's name"},
			{"bad format", "/api/v1/place-imports?format=kml&source=x.kml", "<kml/>", "", http.StatusBadRequest, "geojson or csv"},
			{"unknown media type", "/api/v1/place-imports?source=x", "x", "application/xml", http.StatusUnsupportedMediaType, "format=geojson"},
			{"bad category", "/api/v1/place-imports?format=csv&source=x.csv&category=bunker", "lat,lon\n1,2\n", "", http.StatusBadRequest, "unknown category"},
			{"bad skip", "/api/v1/place-imports?format=csv&source=x.csv&skip_unmapped=maybe", "lat,lon\n1,2\n", "", http.StatusBadRequest, "true or false"},
			{"other component", "/api/v1/place-imports?format=csv&source=x.csv&component=ICE", "category,lat,lon\nschool,1,2\n", "", http.StatusForbidden, "component ICE"},
			{"again", "/api/v1/place-imports?source=court.geojson", geojson, "application/geo+json", http.StatusConflict, "imported already"},
		} {
			r := ts.send(t, request{method: "POST", path: c.path, cookie: cookie, body: c.body, contentType: c.contentType})
			if r.status != c.status || !strings.Contains(string(r.body), c.want) {
				t.Errorf("%s: status %d: %s", c.name, r.status, r.body)
			}
		}
		t.Run("ErrTooLarge", func(t *testing.T) {
			defer api.SetMaxPlacesFile(64)()
			r := ts.send(t, request{method: "POST", path: "/api/v1/place-imports?format=csv&source=big.csv", cookie: cookie, body: "category,lat,lon\n" + strings.Repeat("school,1,2\n", 10)})
			if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(string(r.body), "larger than 64 bytes") {
				t.Errorf("status %d: %s", r.status, r.body)
			}
		})
		if count(t) != n || ts.ledgerSize(t) != before {
			t.Error("a refused import changed the places or the ledger")
		}
	})
	t.Run("OKHome", func(t *testing.T) {
		path := fmt.Sprintf("/api/v1/employee-homes/%d", analyst.ID)
		r := ts.send(t, request{method: "PUT", path: path, cookie: cookie, body: `{"lat":40.66871,"lon":-73.97423}`})
		if r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		r = ts.send(t, request{method: "PUT", path: path, cookie: cookie, body: `{"lat":40.66871}`})
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"lon"`) {
			t.Errorf("missing lon: status %d: %s", r.status, r.body)
		}
		r = ts.send(t, request{method: "PUT", path: path, cookie: cookie, body: `{"lat":40.66871,"lon":-73.97423,"radius_m":5}`})
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "50 to 1000 m") {
			t.Errorf("small radius: status %d: %s", r.status, r.body)
		}
		r = ts.send(t, request{method: "PUT", path: "/api/v1/employee-homes/999999", cookie: cookie, body: `{"lat":40.66871,"lon":-73.97423}`})
		if r.status != http.StatusNotFound {
			t.Errorf("no such person: status %d: %s", r.status, r.body)
		}
		var sum struct {
			Homes map[string]int `json:"homes"`
		}
		ts.mustJSON(t, request{method: "GET", path: "/api/v1/place-summary", auth: bearer(auditorToken)}, http.StatusOK, &sum)
		if sum.Homes["CBP"] != 1 {
			t.Errorf("summary %+v", sum)
		}
		for _, form := range []string{"40.66871", "73.97423", "40.6687", "73.9742"} {
			if strings.Contains(ts.Logs.String(), form) {
				t.Errorf("the logs show the home's coordinates (%s)", form)
			}
		}
		if r := ts.send(t, request{method: "DELETE", path: path, cookie: cookie}); r.status != http.StatusNoContent {
			t.Errorf("forget: status %d: %s", r.status, r.body)
		}
		if r := ts.send(t, request{method: "DELETE", path: path, cookie: cookie}); r.status != http.StatusNotFound {
			t.Errorf("forget twice: status %d: %s", r.status, r.body)
		}
	})
}
