package api

import (
	"encoding/json"
	"net/http"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
)

func (a *API) listSettings(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	all, err := a.deps.Settings.List(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"settings": all})
}

func (a *API) getSetting(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	s, err := a.deps.Settings.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s)
}

// putSetting changes a setting; the change and its ledger entry commit
// together, and the response gives the entry's index.
func (a *API) putSetting(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		Value json.RawMessage `json:"value"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if len(body.Value) == 0 {
		return fault.New(fault.Invalid, `the body must be {"value": …}`)
	}
	s, idx, err := a.deps.Settings.Set(r.Context(), p.Actor(), r.PathValue("name"), body.Value)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"setting": s, "ledger_index": idx})
}
