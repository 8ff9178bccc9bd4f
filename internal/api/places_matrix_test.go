package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/places"
	"github.com/probity-dev/probity/internal/store"
)

// placesCases are the protected places' routes in the matrix. Privacy
// officers manage places and homes in their components (department
// officers everywhere); those of another component find nothing to change;
// privacy officers and auditors read the counts. Every file imported is
// new, so that none is refused as a repeat.
func (m *matrix) placesCases() []matrixCase {
	officers := []auth.Role{auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer}
	readers := m.anywhere(auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.Auditor)
	next := func() int64 { return m.ts.next() }
	csv := func() string {
		return fmt.Sprintf("name,category,lat,lon,radius_m\nMatrix place %d,school,40.7,-73.9,100\n", next())
	}
	// cbpImport imports a new file for CBP as its privacy officer.
	cbpImport := func(t *testing.T) store.PlaceImportInfo {
		t.Helper()
		info, err := m.ts.Places.Import(context.Background(), m.principalOf(t, m.person["cbp-cpo"]), store.PlaceImport{
			Source: "matrix.csv", Format: places.CSV, Data: []byte(csv())})
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	analyst := m.person["cbp-analyst"].ID
	home := fmt.Sprintf("/api/v1/employee-homes/%d", analyst)
	return []matrixCase{
		{name: "list places", method: "GET", path: "/api/v1/places", ok: allow, allow: m.anywhere(officers...)},
		{name: "count places", method: "GET", path: "/api/v1/place-summary", ok: allow, allow: readers},
		{name: "list imports of places", method: "GET", path: "/api/v1/place-imports", ok: allow, allow: readers},
		{name: "import places", method: "POST", path: "/api/v1/place-imports?format=csv&source=matrix.csv",
			prep: func(*testing.T, *principal) (string, string) {
				return "/api/v1/place-imports?format=csv&source=matrix.csv", csv()
			},
			ok: http.StatusCreated, allow: m.anywhere(officers...), grows: 1},
		{name: "delete a place", method: "DELETE", path: "/api/v1/places/1",
			prep: func(t *testing.T, _ *principal) (string, string) {
				info := cbpImport(t)
				list, err := m.ts.Places.List(context.Background(), m.principalOf(t, m.person["dpo"]), store.PlaceFilter{ImportID: info.ID})
				if err != nil || len(list) != 1 {
					t.Fatalf("the import's places: %v, %v", list, err)
				}
				return fmt.Sprintf("/api/v1/places/%d", list[0].ID), ""
			},
			ok: http.StatusNoContent, allow: m.within("CBP", officers...), want: each(http.StatusNotFound, m.only("ICE", officers...)), grows: 1},
		{name: "delete an import of places", method: "DELETE", path: "/api/v1/place-imports/1",
			prep: func(t *testing.T, _ *principal) (string, string) {
				return fmt.Sprintf("/api/v1/place-imports/%d", cbpImport(t).ID), ""
			},
			ok: allow, allow: m.within("CBP", officers...), want: each(http.StatusNotFound, m.only("ICE", officers...)), grows: 1},
		{name: "set an employee's home", method: "PUT", path: home, body: `{"lat":40.7412,"lon":-73.9897,"radius_m":150}`,
			ok: http.StatusNoContent, allow: m.within("CBP", officers...), want: each(http.StatusNotFound, m.only("ICE", officers...)), grows: 1},
		{name: "forget an employee's home", method: "DELETE", path: home,
			prep: func(t *testing.T, _ *principal) (string, string) {
				if err := m.ts.Places.SetEmployeeHome(context.Background(), m.principalOf(t, m.person["dpo"]), analyst, 40.7412, -73.9897, 150); err != nil {
					t.Fatal(err)
				}
				return home, ""
			},
			ok: http.StatusNoContent, allow: m.within("CBP", officers...), want: each(http.StatusNotFound, m.only("ICE", officers...)), grows: 1},
	}
}
