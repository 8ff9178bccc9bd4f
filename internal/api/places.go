package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/places"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/store"
)

// placesRoutes are the protected places' routes: imports of files of
// places, the places themselves, and employees' homes, which privacy
// officers manage (places.manage); counts, which auditors read too
// (places.read).
func (a *API) placesRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/places", Perm: auth.PlacesManage, Handler: a.listPlaces},
		{Method: "DELETE", Pattern: "/api/v1/places/{id}", Perm: auth.PlacesManage, Handler: a.deletePlace},
		{Method: "GET", Pattern: "/api/v1/place-summary", Perm: auth.PlacesRead, Handler: a.placesSummary},
		{Method: "GET", Pattern: "/api/v1/place-imports", Perm: auth.PlacesRead, Handler: a.listPlaceImports},
		{Method: "POST", Pattern: "/api/v1/place-imports", Perm: auth.PlacesManage, Handler: a.importPlaces},
		{Method: "DELETE", Pattern: "/api/v1/place-imports/{id}", Perm: auth.PlacesManage, Handler: a.deletePlaceImport},
		{Method: "PUT", Pattern: "/api/v1/employee-homes/{person}", Perm: auth.PlacesManage, Handler: withFieldErrors(a.setHome)},
		{Method: "DELETE", Pattern: "/api/v1/employee-homes/{person}", Perm: auth.PlacesManage, Handler: a.clearHome},
	}
}

// maxPlacesFile is the largest file of places accepted.
var maxPlacesFile = int64(places.DefaultLimits().MaxBytes)

func (a *API) placesStore() error {
	if a.deps.Places == nil {
		return fault.New(fault.NotImplemented, "protected places are not configured on this server")
	}
	return nil
}

type placeJSON struct {
	ID        int64           `json:"id"`
	ImportID  int64           `json:"import_id"`
	Component string          `json:"component"`
	Category  places.Category `json:"category"`
	Name      string          `json:"name"`
	Ref       string          `json:"ref"`
	Geometry  json.RawMessage `json:"geometry"`
}

type placeImportJSON struct {
	ID         int64         `json:"id"`
	Component  string        `json:"component"`
	Source     string        `json:"source"`
	Format     places.Format `json:"format"`
	Digest     string        `json:"digest"`
	Places     int           `json:"places"`
	Remaining  int           `json:"remaining"`
	Skipped    int           `json:"skipped"`
	ImportedBy string        `json:"imported_by"`
	ImportedAt time.Time     `json:"imported_at"`
}

func importJSON(i store.PlaceImportInfo) placeImportJSON {
	return placeImportJSON{ID: i.ID, Component: i.Component, Source: i.Source, Format: i.Format, Digest: i.Digest, Places: i.Places,
		Remaining: i.Remaining, Skipped: i.Skipped, ImportedBy: i.ImportedBy, ImportedAt: i.ImportedAt}
}

func (a *API) listPlaces(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	if err := a.placesStore(); err != nil {
		return err
	}
	q := r.URL.Query()
	var f store.PlaceFilter
	if c := q.Get("category"); c != "" {
		cat, err := places.ParseCategory(c)
		if err != nil {
			return fault.New(fault.Invalid, "category: %s", err.Error())
		}
		f.Category = cat
	}
	var err error
	if f.ImportID, err = queryInt(r, "import", 0); err != nil {
		return err
	}
	if f.AfterID, err = queryInt(r, "after", 0); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 0)
	if err != nil {
		return err
	}
	f.Limit = int(min(limit, 1<<20))
	list, err := a.deps.Places.List(r.Context(), by, f)
	if err != nil {
		return err
	}
	out := make([]placeJSON, len(list))
	for i, p := range list {
		out[i] = placeJSON{ID: p.ID, ImportID: p.ImportID, Component: p.Component, Category: p.Category, Name: p.Name, Ref: p.Ref, Geometry: p.Geometry()}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"places": out})
}

func (a *API) deletePlace(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	if err := a.placesStore(); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.deps.Places.Delete(r.Context(), by, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) placesSummary(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	if err := a.placesStore(); err != nil {
		return err
	}
	s, err := a.deps.Places.Summary(r.Context(), by)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"places": s.Places, "homes": s.Homes, "imports": s.Imports, "version": s.Version})
}

func (a *API) listPlaceImports(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	if err := a.placesStore(); err != nil {
		return err
	}
	list, err := a.deps.Places.Imports(r.Context(), by)
	if err != nil {
		return err
	}
	out := make([]placeImportJSON, len(list))
	for i, imp := range list {
		out[i] = importJSON(imp)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"imports": out})
}

// importPlaces imports the file in the body. Its format is the format
// parameter, or follows from the Content-Type (text/csv; application/json
// or application/geo+json).
func (a *API) importPlaces(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	if err := a.placesStore(); err != nil {
		return err
	}
	q := r.URL.Query()
	in := store.PlaceImport{Source: q.Get("source"), Component: q.Get("component")}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch f := q.Get("format"); {
	case f != "":
		format, err := places.ParseFormat(f)
		if err != nil {
			return fault.New(fault.Invalid, "format: %s", err.Error())
		}
		in.Format = format
	case mt == "text/csv":
		in.Format = places.CSV
	case mt == "application/json" || mt == "application/geo+json":
		in.Format = places.GeoJSON
	default:
		return fault.New(fault.Unsupported, "say the file's format: format=geojson or format=csv, or Content-Type text/csv or application/geo+json")
	}
	in.Options.CategoryProperty = q.Get("category_property")
	if c := q.Get("category"); c != "" {
		cat, err := places.ParseCategory(c)
		if err != nil {
			return fault.New(fault.Invalid, "category: %s", err.Error())
		}
		in.Options.Category = cat
	}
	if s := q.Get("skip_unmapped"); s != "" {
		skip, err := strconv.ParseBool(s)
		if err != nil {
			return fault.New(fault.Invalid, "skip_unmapped must be true or false")
		}
		in.Options.SkipUnmapped = skip
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPlacesFile))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return fault.New(fault.TooLarge, "the file is larger than %d bytes; split it", maxPlacesFile)
	}
	if err != nil {
		return fault.Wrap(err, fault.Invalid, "the file could not be read")
	}
	in.Data = body
	info, err := a.deps.Places.Import(r.Context(), by, in)
	if err != nil {
		if pe, ok := errors.AsType[*places.Error](err); ok && fault.CodeOf(err) == fault.Invalid {
			problems := make([]map[string]any, len(pe.Problems))
			for i, p := range pe.Problems {
				problems[i] = map[string]any{"feature": p.Feature, "line": p.Line, "field": p.Field, "message": p.Message}
			}
			return writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
				"code": string(fault.Invalid), "message": fault.MessageOf(err), "problems": problems, "more": pe.More,
			}})
		}
		return err
	}
	return writeJSON(w, http.StatusCreated, importJSON(info))
}

func (a *API) deletePlaceImport(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	if err := a.placesStore(); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	n, err := a.deps.Places.DeleteImport(r.Context(), by, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"deleted": n})
}

// setHome keeps an employee's home as hashed cells; the coordinates sent
// are hashed and forgotten, and the answer does not echo them.
func (a *API) setHome(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	if err := a.placesStore(); err != nil {
		return err
	}
	id, err := pathID(r, "person")
	if err != nil {
		return err
	}
	var body struct {
		Lat     *float64 `json:"lat"`
		Lon     *float64 `json:"lon"`
		RadiusM *float64 `json:"radius_m"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	var errs privacy.Errors
	if body.Lat == nil {
		errs = append(errs, privacy.FieldError{Field: "lat", Message: "give the home's latitude"})
	}
	if body.Lon == nil {
		errs = append(errs, privacy.FieldError{Field: "lon", Message: "give the home's longitude"})
	}
	if err := errs.Err("the request is not valid"); err != nil {
		return err
	}
	radius := float64(places.DefaultHomeRadiusM)
	if body.RadiusM != nil {
		radius = *body.RadiusM
	}
	if err := a.deps.Places.SetEmployeeHome(r.Context(), by, id, *body.Lat, *body.Lon, radius); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) clearHome(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	if err := a.placesStore(); err != nil {
		return err
	}
	id, err := pathID(r, "person")
	if err != nil {
		return err
	}
	if err := a.deps.Places.ClearEmployeeHome(r.Context(), by, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
