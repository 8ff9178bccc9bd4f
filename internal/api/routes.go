package api

import (
	"net/http"

	"github.com/probity-dev/probity/internal/auth"
)

// routeTable is the whole HTTP surface of the API. Every route names the
// permission it needs; a test fails if one does not.
func (a *API) routeTable() []Route {
	return []Route{
		// Operations.
		{Method: "GET", Pattern: "/healthz", Perm: auth.Public, Plain: true, Handler: a.healthz},
		{Method: "GET", Pattern: "/readyz", Perm: auth.Public, Plain: true, Handler: a.readyz},
		{Method: "GET", Pattern: "/metrics", Perm: auth.Public, Plain: true, Handler: a.metrics},
		{Method: "GET", Pattern: "/api/v1/openapi.json", Perm: auth.Public, Handler: a.openAPI},

		// The ledger in the C2SP tlog-tiles layout. Hash tiles and
		// checkpoints are public; entry bundles need an auditor.
		{Method: "GET", Pattern: "/ledger/checkpoint", Perm: auth.Public, Plain: true, Handler: a.checkpoint},
		{Method: "GET", Pattern: "/ledger/tile/{path...}", Perm: auth.Public, Plain: true, Handler: a.tile},

		// The ledger's JSON API.
		{Method: "GET", Pattern: "/api/v1/ledger", Perm: auth.Public, Handler: a.ledgerInfo},
		{Method: "GET", Pattern: "/api/v1/ledger/entries/{index}", Perm: auth.LedgerEntriesRead, Handler: a.ledgerEntry},
		{Method: "GET", Pattern: "/api/v1/ledger/consistency", Perm: auth.Public, Handler: a.ledgerConsistency},
		{Method: "POST", Pattern: "/api/v1/ledger/checkpoint", Perm: auth.LedgerCheckpoint, Handler: a.ledgerPublish},

		// Installation settings.
		{Method: "GET", Pattern: "/api/v1/settings", Perm: auth.SettingsRead, Handler: a.listSettings},
		{Method: "GET", Pattern: "/api/v1/settings/{name}", Perm: auth.SettingsRead, Handler: a.getSetting},
		{Method: "PUT", Pattern: "/api/v1/settings/{name}", Perm: auth.SettingsWrite, Handler: a.putSetting},
	}
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := w.Write([]byte("ok\n"))
	return err
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	if a.deps.Ready != nil {
		if err := a.deps.Ready(r.Context()); err != nil {
			return err
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := w.Write([]byte("ready\n"))
	return err
}

func (a *API) metrics(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	if a.deps.Metrics == nil {
		http.NotFound(w, r)
		return nil
	}
	a.deps.Metrics.ServeHTTP(w, r)
	return nil
}
