package api

import (
	"net/http"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/store"
)

// credentialRoutes are the connector routes: the sealed vendor
// credentials, which only security officers manage and nobody reads back,
// and each vendor API data source's endpoint.
func (a *API) credentialRoutes() []Route {
	routes := []Route{
		{Method: "GET", Pattern: "/api/v1/credentials", Perm: auth.CredentialsManage, Handler: a.listCredentials},
		{Method: "PUT", Pattern: "/api/v1/credentials/{name}", Perm: auth.CredentialsManage, Handler: a.putCredential},
		{Method: "DELETE", Pattern: "/api/v1/credentials/{name}", Perm: auth.CredentialsManage, Handler: a.deleteCredential},
		{Method: "PUT", Pattern: "/api/v1/sources/{id}/endpoint", Perm: auth.InventoryManage, Handler: a.setEndpoint},
	}
	for i := range routes {
		routes[i].Handler = withFieldErrors(routes[i].Handler)
	}
	return routes
}

// maxCredentialBody is the largest body of a credential's PUT: a secret
// of at most 4,096 characters, JSON-escaped.
const maxCredentialBody = 32 << 10

type credentialJSON struct {
	Name      string    `json:"name"`
	Reference string    `json:"reference"`
	Component string    `json:"component"`
	KeyID     string    `json:"key_id"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (a *API) credentialService() error {
	if a.deps.Credentials == nil {
		return fault.New(fault.NotImplemented, "connector credentials are not configured on this server")
	}
	return nil
}

func (a *API) listCredentials(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	if err := a.credentialService(); err != nil {
		return err
	}
	list, err := a.deps.Credentials.List(r.Context(), by)
	if err != nil {
		return err
	}
	out := []credentialJSON{}
	for _, c := range list {
		out = append(out, credentialJSON{Name: c.Name, Reference: c.Ref(), Component: c.Component, KeyID: c.KeyID,
			CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, UpdatedBy: c.UpdatedBy, UpdatedAt: c.UpdatedAt})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"credentials": out})
}

// putCredential stores or replaces a credential. The answer never echoes
// the secret: 204 and nothing else.
func (a *API) putCredential(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	if err := a.credentialService(); err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := store.ValidateCredentialName(name); err != nil {
		return err
	}
	var body struct {
		Secret *string `json:"secret"`
	}
	if err := decodeJSONLimit(w, r, &body, maxCredentialBody); err != nil {
		return err
	}
	if body.Secret == nil {
		return privacy.Errors{{Field: "secret", Message: "give the credential the vendor issued"}}.Err("the request is not valid")
	}
	if err := a.deps.Credentials.Set(r.Context(), by, name, *body.Secret); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteCredential(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	if err := a.credentialService(); err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := store.ValidateCredentialName(name); err != nil {
		return err
	}
	if err := a.deps.Credentials.Delete(r.Context(), by, name); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type endpointJSON struct {
	SourceID  int64     `json:"source_id"`
	BaseURL   string    `json:"base_url"`
	TimeoutMS int64     `json:"timeout_ms"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (a *API) setEndpoint(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	if err := a.credentialService(); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		BaseURL   *string `json:"base_url"`
		TimeoutMS *int64  `json:"timeout_ms"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	var errs privacy.Errors
	if body.BaseURL == nil {
		errs = append(errs, privacy.FieldError{Field: "base_url", Message: "give the vendor API's base URL (https://…)"})
	}
	timeout := 10 * time.Second
	if body.TimeoutMS != nil {
		if *body.TimeoutMS < 1 || *body.TimeoutMS > int64(time.Hour/time.Millisecond) {
			errs = append(errs, privacy.FieldError{Field: "timeout_ms", Message: "must be a number of milliseconds from 100 to 120000"})
		} else {
			timeout = time.Duration(*body.TimeoutMS) * time.Millisecond
		}
	}
	if err := errs.Err("the request is not valid"); err != nil {
		return err
	}
	e, err := a.deps.Credentials.SetEndpoint(r.Context(), by, id, *body.BaseURL, timeout)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, endpointJSON{SourceID: e.SourceID, BaseURL: e.BaseURL, TimeoutMS: e.Timeout.Milliseconds(), UpdatedBy: e.UpdatedBy, UpdatedAt: e.UpdatedAt})
}
