package api

import (
	_ "embed"
	"net/http"

	"github.com/probity-dev/probity/internal/auth"
)

// openAPIDocument describes the API; a test keeps it complete.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the OpenAPI description of the API.
func OpenAPIDocument() []byte { return openAPIDocument }

func (a *API) openAPI(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	w.Header().Set("Content-Type", "application/json")
	// Like every JSON answer: the document changes with the binary, and a
	// cached copy would describe an API the server no longer has.
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write(openAPIDocument)
	return err
}
