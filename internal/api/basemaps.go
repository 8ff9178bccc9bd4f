package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/basemap"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/store"
)

// basemapRoutes are the basemap layers' routes: everyone signed in lists
// them; administrators and privacy officers import, replace and delete
// them (basemaps.manage).
func (a *API) basemapRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/basemaps", Perm: auth.Self, Handler: a.listBasemaps},
		{Method: "POST", Pattern: "/api/v1/basemaps/{name}", Perm: auth.BasemapsManage, Handler: a.importBasemap},
		{Method: "DELETE", Pattern: "/api/v1/basemaps/{name}", Perm: auth.BasemapsManage, Handler: a.deleteBasemap},
	}
}

// maxBasemapFile is the largest layer file accepted.
var maxBasemapFile = int64(basemap.DefaultLimits().MaxBytes)

func (a *API) basemapsStore() error {
	if a.deps.Basemaps == nil {
		return fault.New(fault.NotImplemented, "basemap layers are not configured on this server")
	}
	return nil
}

type basemapJSON struct {
	Name           string         `json:"name"`
	Source         string         `json:"source"`
	Format         basemap.Format `json:"format"`
	Digest         string         `json:"digest"`
	Features       int            `json:"features"`
	Vertices       int            `json:"vertices"`
	Skipped        int            `json:"skipped"`
	Bounds         [4]float64     `json:"bounds"`
	Order          int            `json:"order"`
	Revision       int            `json:"revision"`
	StoredBytes    int            `json:"stored_bytes"`
	ImportedBy     string         `json:"imported_by"`
	ImportedAt     time.Time      `json:"imported_at"`
	ReplacedDigest string         `json:"replaced_digest,omitempty"`
}

func basemapInfoJSON(i store.BasemapInfo) basemapJSON {
	return basemapJSON{Name: i.Name, Source: i.Source, Format: i.Format, Digest: i.Digest, Features: i.Features, Vertices: i.Vertices,
		Skipped: i.Skipped, Bounds: [4]float64{i.Bounds.MinLon, i.Bounds.MinLat, i.Bounds.MaxLon, i.Bounds.MaxLat}, Order: i.Order,
		Revision: i.Revision, StoredBytes: i.StoredBytes, ImportedBy: i.ImportedBy, ImportedAt: i.ImportedAt, ReplacedDigest: i.ReplacedDigest}
}

func (a *API) listBasemaps(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	if err := a.basemapsStore(); err != nil {
		return err
	}
	list, err := a.deps.Basemaps.List(r.Context(), by)
	if err != nil {
		return err
	}
	out := make([]basemapJSON, len(list))
	for i, l := range list {
		out[i] = basemapInfoJSON(l)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"layers": out})
}

// importBasemap imports the file in the body as the layer {name}. Its
// format is the format parameter, or follows from the Content-Type
// (application/geo+json; application/topo+json), or from the file.
func (a *API) importBasemap(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	if err := a.basemapsStore(); err != nil {
		return err
	}
	q := r.URL.Query()
	in := store.BasemapImport{Name: r.PathValue("name"), Source: q.Get("source"),
		Options: basemap.Options{NameProperty: q.Get("name_property"), ClassProperty: q.Get("class_property"), Object: q.Get("object")}}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch f := q.Get("format"); {
	case f != "":
		format, err := basemap.ParseFormat(f)
		if err != nil {
			return fault.New(fault.Invalid, "format: %s", err.Error())
		}
		in.Format = format
	case mt == "application/geo+json":
		in.Format = basemap.GeoJSON
	case mt == "application/topo+json":
		in.Format = basemap.TopoJSON
	case mt == "application/json" || mt == "":
	default:
		return fault.New(fault.Unsupported, "send the file as application/json, application/geo+json or application/topo+json")
	}
	if s := q.Get("order"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fault.New(fault.Invalid, "order must be a whole number, not %q", s)
		}
		in.Order = n
	}
	if s := q.Get("replace"); s != "" {
		replace, err := strconv.ParseBool(s)
		if err != nil {
			return fault.New(fault.Invalid, "replace must be true or false")
		}
		in.Replace = replace
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBasemapFile))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return fault.New(fault.TooLarge, "the file is larger than %d bytes; split it", maxBasemapFile)
	}
	if err != nil {
		return fault.Wrap(err, fault.Invalid, "the file could not be read")
	}
	in.Data = body
	info, err := a.deps.Basemaps.Import(r.Context(), by, in)
	if err != nil {
		if pe, ok := errors.AsType[*basemap.Error](err); ok && fault.CodeOf(err) == fault.Invalid {
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
	status := http.StatusCreated
	if info.Revision > 1 {
		status = http.StatusOK
	}
	return writeJSON(w, status, basemapInfoJSON(info))
}

func (a *API) deleteBasemap(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	if err := a.basemapsStore(); err != nil {
		return err
	}
	if err := a.deps.Basemaps.Delete(r.Context(), by, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
