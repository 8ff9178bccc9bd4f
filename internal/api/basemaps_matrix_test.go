package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
)

// basemapCases are the basemap layers' routes in the matrix. Everyone
// signed in as a person lists them; administrators and privacy officers,
// wherever they hold the role, import and delete them. Every import is of
// a new layer, every deletion of a layer made for it.
func (m *matrix) basemapCases() []matrixCase {
	managers := m.anywhere(auth.Administrator, auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer)
	layer := func() string {
		return fmt.Sprintf(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Street %d"},"geometry":{"type":"LineString","coordinates":[[-77.03,38.9],[-77.02,38.9]]}}]}`, m.ts.next())
	}
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "matrix-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	return []matrixCase{
		{name: "list basemap layers", method: "GET", path: "/api/v1/basemaps", ok: allow, allow: m.selves()},
		{name: "import a basemap layer", method: "POST", path: "/api/v1/basemaps/matrix?source=streets.geojson",
			prep: func(*testing.T, *principal) (string, string) {
				return fmt.Sprintf("/api/v1/basemaps/matrix-%d?source=streets.geojson", m.ts.next()), layer()
			},
			ok: http.StatusCreated, allow: managers, grows: 1},
		{name: "delete a basemap layer", method: "DELETE", path: "/api/v1/basemaps/matrix",
			prep: func(t *testing.T, _ *principal) (string, string) {
				name := fmt.Sprintf("matrix-%d", m.ts.next())
				if _, err := m.ts.Basemaps.Import(context.Background(), admin, store.BasemapImport{Name: name, Source: "streets.geojson", Data: []byte(layer())}); err != nil {
					t.Fatal(err)
				}
				return "/api/v1/basemaps/" + name, ""
			},
			ok: http.StatusNoContent, allow: managers, grows: 1},
	}
}
