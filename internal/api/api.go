// Package api is Probity's HTTP interface for programs: the JSON API under
// /api/v1, the ledger in the C2SP tlog-tiles layout under /ledger/, and the
// operational endpoints (health, readiness, metrics). routes.go holds the
// whole route table; every route declares the permission it needs.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/probity-dev/probity/internal/access"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/credentials"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/policy"
	"github.com/probity-dev/probity/internal/settings"
	"github.com/probity-dev/probity/internal/store"
)

// A LedgerReader serves what the ledger holds.
type LedgerReader interface {
	Size(ctx context.Context) (int64, error)
	Latest(ctx context.Context) (ledger.Checkpoint, []byte, error)
	Tile(ctx context.Context, p ledger.TilePath) ([]byte, error)
	Entry(ctx context.Context, index int64) ([]byte, error)
	InclusionProof(ctx context.Context, index, size int64) (tlog.RecordProof, error)
	ConsistencyProof(ctx context.Context, from, to int64) (tlog.TreeProof, error)
	TreeHash(ctx context.Context, size int64) (tlog.Hash, error)
}

// A Checkpointer publishes a checkpoint on demand.
type Checkpointer interface {
	Publish(ctx context.Context) (ledger.Checkpoint, []byte, error)
	KnownKeys() []string
}

// A SettingsService reads and changes installation settings.
type SettingsService interface {
	List(ctx context.Context) ([]settings.Setting, error)
	Get(ctx context.Context, name string) (settings.Setting, error)
	Set(ctx context.Context, actor ledger.Actor, name string, raw json.RawMessage) (settings.Setting, int64, error)
}

// An Authenticator resolves a request to the principal it acts as: a
// request without a credential is [auth.Anonymous]; one with a credential
// that does not verify is an error.
type Authenticator interface {
	Authenticate(r *http.Request) (auth.Principal, error)
}

// Deps are what the API calls.
type Deps struct {
	Ledger       LedgerReader
	Checkpointer Checkpointer
	Settings     SettingsService
	Auth         Authenticator
	// Ready reports whether the server can serve (database, ledger writer).
	Ready func(ctx context.Context) error
	// Metrics serves /metrics.
	Metrics http.Handler
	// Identity is the organization and people store; Authn authenticates.
	Identity *store.Identity
	Authn    *authn.Service
	// Program is the compliance program store: audit reports and their
	// recommendations.
	Program *store.Program
	// Privacy is the privacy compliance store: inventory, PTAs, PIAs,
	// compliance reviews and the data-source gate.
	Privacy *store.Privacy
	// Policies is the policy store: versions, workflow, impact analyses;
	// Policy is the engine that decides under the sets in force.
	Policies *store.Policies
	Policy   *policy.Engine
	// Cases is the case store: cases, their members, legal process and
	// evidence holds.
	Cases *store.Cases
	// Credentials brokers the sealed vendor credentials and sets vendor
	// endpoints.
	Credentials *credentials.Service
	// Queries is the audited query path: location queries, their
	// approvals and results.
	Queries *access.Service
	// Reviews is the post-hoc review of executed queries; Alerts the
	// misuse alerts.
	Reviews *store.Reviews
	Alerts  *store.Alerts
	// Places is the store of protected places and employees' homes.
	Places *store.Places
	// Basemaps is the store of basemap layers maps are drawn over.
	Basemaps *store.Basemaps
	// Releases is the store of the mobile-app release gate; MaxScanReport
	// the largest scan report or document it accepts (0:
	// [DefaultMaxScanReport]).
	Releases      *store.Releases
	MaxScanReport int64
	// PublicURL is the server's base URL as people reach it, ending in "/"
	// (for enrolment links).
	PublicURL string
	// ObserveRequest, when set, is told about every request.
	ObserveRequest func(route string, status int, d time.Duration)
	Logger         *slog.Logger
}

// An API is the HTTP handler for programs.
type API struct {
	deps   Deps
	routes []Route
	mux    *http.ServeMux
}

// New returns the API over deps.
func New(deps Deps) *API {
	a := &API{deps: deps, mux: http.NewServeMux()}
	a.routes = append(a.routeTable(), a.identityRoutes()...)
	a.routes = append(a.routes, a.programRoutes()...)
	a.routes = append(a.routes, a.privacyRoutes()...)
	a.routes = append(a.routes, a.policyRoutes()...)
	a.routes = append(a.routes, a.caseRoutes()...)
	a.routes = append(a.routes, a.credentialRoutes()...)
	a.routes = append(a.routes, a.queryRoutes()...)
	a.routes = append(a.routes, a.reviewRoutes()...)
	a.routes = append(a.routes, a.alertRoutes()...)
	a.routes = append(a.routes, a.placesRoutes()...)
	a.routes = append(a.routes, a.basemapRoutes()...)
	a.routes = append(a.routes, a.releaseRoutes()...)
	for _, r := range a.routes {
		a.mux.Handle(r.Method+" "+r.Pattern, a.adapt(r))
	}
	return a
}

// SetPublicURL sets the base URL for links the API hands out, once the
// server knows its address.
func (a *API) SetPublicURL(u string) { a.deps.PublicURL = u }

// Routes returns the route table.
func (a *API) Routes() []Route { return a.routes }

// ServeHTTP serves a request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// A Route is one entry of the route table.
type Route struct {
	Method  string
	Pattern string
	// Perm is the permission the route requires; every route declares one.
	Perm auth.Permission
	// Plain routes answer errors in text/plain (the tlog-tiles layout, health).
	Plain   bool
	Handler func(w http.ResponseWriter, r *http.Request, p auth.Principal) error
}

// adapt wraps a route handler: it authenticates, checks the route's
// permission, and renders a returned error.
func (a *API) adapt(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		p, err := a.authorize(r, rt)
		if err == nil {
			err = rt.Handler(sw, r, p)
		}
		if err != nil {
			a.renderError(sw, r, rt, err)
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		if a.deps.ObserveRequest != nil {
			a.deps.ObserveRequest(rt.Pattern, sw.status, time.Since(start))
		}
		a.deps.Logger.LogAttrs(r.Context(), levelFor(sw.status), "request",
			slog.String("method", r.Method), slog.String("route", rt.Pattern), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Duration("duration", time.Since(start)), slog.String("remote", r.RemoteAddr))
	})
}

func levelFor(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status >= 400:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// authorize returns the request's principal if it may use the route.
func (a *API) authorize(r *http.Request, rt Route) (auth.Principal, error) {
	p := auth.Anonymous
	if a.deps.Auth != nil {
		var err error
		if p, err = a.deps.Auth.Authenticate(r); err != nil {
			return auth.Anonymous, err
		}
	}
	switch {
	case p.Can(rt.Perm):
		return p, nil
	case !p.Authenticated():
		return p, fault.New(fault.Unauthenticated, "this requires a credential (Authorization: Bearer …)")
	}
	return p, fault.New(fault.Forbidden, "your role does not allow this (%s)", rt.Perm)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// statusOf maps error codes to HTTP statuses.
var statusOf = map[fault.Code]int{
	fault.Invalid:         http.StatusBadRequest,
	fault.NotFound:        http.StatusNotFound,
	fault.Conflict:        http.StatusConflict,
	fault.Unauthenticated: http.StatusUnauthorized,
	fault.Forbidden:       http.StatusForbidden,
	fault.TooLarge:        http.StatusRequestEntityTooLarge,
	fault.Unavailable:     http.StatusServiceUnavailable,
	fault.Internal:        http.StatusInternalServerError,
	fault.RateLimited:     http.StatusTooManyRequests,
	fault.Precondition:    http.StatusConflict,
	fault.NotImplemented:  http.StatusNotImplemented,
	fault.Tampered:        http.StatusServiceUnavailable,
	fault.Timeout:         http.StatusGatewayTimeout,
	fault.Unsupported:     http.StatusUnsupportedMediaType,
}

// StatusOf returns the HTTP status for err.
func StatusOf(err error) int {
	if errors.Is(err, context.DeadlineExceeded) {
		return http.StatusGatewayTimeout
	}
	if s, ok := statusOf[fault.CodeOf(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// renderError logs the internal cause and answers with the user-safe
// message only.
func (a *API) renderError(w http.ResponseWriter, r *http.Request, rt Route, err error) {
	status := StatusOf(err)
	code := fault.CodeOf(err)
	msg := fault.MessageOf(err)
	if status >= 500 {
		a.deps.Logger.Error("request failed", "route", rt.Pattern, "code", code, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="probity"`)
	}
	if rt.Plain {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		fmt.Fprintln(w, msg)
		return
	}
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": string(code), "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	// Ledger entries are embedded as they are stored (canonical JSON);
	// HTML-escaping would rewrite "<", ">" and "&" inside them, so that the
	// entry served no longer hashes to its record hash. Responses are
	// application/json with nosniff, never HTML.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// maxBody is the largest JSON request body accepted.
const maxBody = 64 << 10

// decodeJSON decodes a request body of at most maxBody bytes into v,
// rejecting unknown fields and trailing data.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeJSONLimit(w, r, v, maxBody)
}

// decodeJSONLimit is [decodeJSON] for bodies of at most limit bytes.
func decodeJSONLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return fault.New(fault.Unsupported, "the request body must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return fault.New(fault.TooLarge, "the request body is larger than %d bytes", limit)
	}
	if err != nil {
		return fault.Wrap(err, fault.Invalid, "the request body could not be read")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fault.Wrap(err, fault.Invalid, "the request body is not valid JSON for this request: %s", jsonProblem(err))
	}
	// Only JSON whitespace may follow the value. (Decoder.More does not
	// see a stray '}' or ']'.)
	if len(bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")) > 0 {
		return fault.New(fault.Invalid, "the request body has data after its JSON value")
	}
	return nil
}

func jsonProblem(err error) string {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type)
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field") {
		return strings.TrimPrefix(msg, "json: ")
	}
	if errors.Is(err, io.EOF) {
		return "the body is empty"
	}
	return "malformed JSON"
}
