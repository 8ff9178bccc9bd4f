package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/probity-dev/probity/internal/access"
	"github.com/probity-dev/probity/internal/api"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/credentials"
	"github.com/probity-dev/probity/internal/detect"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/notify"
	"github.com/probity-dev/probity/internal/policy"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/settings"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/web"
)

// A Server is a running Probity: the store, the ledger, the services and
// the HTTP server, wired together. This is the one place where wiring
// happens.
type Server struct {
	cfg      Config
	log      *slog.Logger
	DB       *store.DB
	Ledger   *store.Ledger
	Settings *settings.Service
	Identity *store.Identity
	Program  *store.Program  // the compliance program: audit reports, recommendations
	Privacy  *store.Privacy  // privacy compliance: inventory, PTAs, PIAs, reviews, the data-source gate
	Policies *store.Policies // policy set versions, their workflow, recorded decisions
	Policy   *policy.Engine  // decides under the active policy sets
	Cases    *store.Cases    // cases: the purpose of every query, their members, legal process and evidence holds
	Queries  *access.Service // the audited query path: every location query
	Reviews  *store.Reviews  // post-hoc review of every executed query
	Alerts   *store.Alerts   // misuse alerts
	// Places are the protected places and employees' hashed homes;
	// PlacesIndex is their screening index, kept current.
	Places      *store.Places
	PlacesIndex *PlacesIndex
	// Basemaps are the layers maps are drawn over.
	Basemaps *store.Basemaps
	// Notifier delivers the notifications' outbox (email, webhook).
	Notifier *notify.Dispatcher
	Authn    *authn.Service
	API      *api.API
	Web      *web.Web
	// OIDC is single sign-on, when configured; clientCAs verify PIV/CAC
	// client certificates, when configured.
	OIDC      *authn.OIDC
	clientCAs *x509.CertPool
	jobs      *jobs
	// enrolSecret is the first administrator's one-time enrolment secret,
	// when the installation has no active administrator yet.
	enrolSecret string
	metrics     *metrics
	handler     http.Handler
	http        *http.Server
	ln          net.Listener
	unlock      func()
	// URL is the server's base URL once it listens.
	URL string
	// listenURL is URL for other goroutines (notification links).
	listenURL atomic.Value

	// Credentials seals, rotates and opens the vendor credentials, and
	// builds vendor connectors.
	Credentials *credentials.Service
}

// OpenServer prepares the data directory, opens (and if needed creates)
// the database and its ledger, and builds the services. It does not listen.
func OpenServer(ctx context.Context, cfg Config, log *slog.Logger) (_ *Server, err error) {
	cfg = cfg.derived()
	s := &Server{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := prepareDataDir(cfg.Data); err != nil {
		return nil, err
	}
	if !cfg.isPostgres() {
		if s.unlock, err = lockDataDir(cfg.Data); err != nil {
			return nil, err
		}
	}
	if s.DB, err = store.Open(ctx, store.Options{DSN: cfg.DB, Logger: log, Clock: cfg.clock}); err != nil {
		return nil, err
	}
	keys, origin, err := s.ledgerKeys(ctx)
	if err != nil {
		return nil, err
	}
	s.Settings = settings.NewService(s.DB.Settings())
	s.metrics = newMetrics()
	s.Ledger, err = store.OpenLedger(ctx, s.DB, store.LedgerConfig{
		Origin:   origin,
		Keys:     &keys,
		Observer: s.metrics,
		Interval: func(ctx context.Context) time.Duration {
			return time.Duration(s.Settings.Int(ctx, settings.CheckpointIntervalSeconds)) * time.Second
		},
	})
	if err != nil {
		return nil, err
	}
	s.metrics.watch(s.Ledger)
	secrets, err := s.secretsKey(ctx)
	if err != nil {
		return nil, err
	}
	block := identity.DefaultBlocklist()
	if cfg.Blocklist != "" {
		f, err := os.Open(cfg.Blocklist)
		if err != nil {
			return nil, fmt.Errorf("password blocklist: %w", err)
		}
		extra, err := identity.ReadBlocklist(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("password blocklist %s: %w", cfg.Blocklist, err)
		}
		maps.Copy(block, extra)
	}
	s.Identity = s.DB.Identity()
	s.Program = s.DB.Program()
	s.Privacy = s.DB.Privacy()
	s.Cases = s.DB.Cases()
	s.Basemaps = s.DB.Basemaps()
	if s.Places, s.PlacesIndex, err = openPlaces(ctx, s.DB, secrets, log); err != nil {
		return nil, err
	}
	s.Credentials = credentials.New(s.DB.Connectors(), secrets, log)
	if err := s.openPolicy(ctx); err != nil {
		return nil, err
	}
	s.Alerts = s.DB.Alerts(s.DB.Notifications(notifyChannels(cfg)...))
	s.Reviews = s.DB.Reviews(s.Alerts)
	s.Queries = access.New(access.Deps{
		DB: s.DB, Ledger: s.Ledger, Identity: s.Identity, Privacy: s.Privacy, Cases: s.Cases, Queries: s.DB.Queries(),
		Policies: s.Policies, Policy: s.Policy, Settings: s.Settings, Secrets: secrets,
		Connectors: newConnectors(s.DB.Telemetry(), s.Credentials, log),
		Screener:   access.Detectors(detect.New(s.PlacesIndex, s.DB.Activity(), detect.Config{})),
		Alerts:     s.Alerts, Reviews: s.Reviews,
		Logger: log,
	})
	if s.Notifier, err = newDispatcher(cfg, s.Alerts.Notifications(), s.publicBase, log); err != nil {
		return nil, err
	}
	s.Authn = authn.New(s.Identity, authn.Config{
		Issuer:    "Probity",
		Blocklist: block,
		Secrets:   secrets,
		Throttle:  cfg.Throttle,
		Bootstrap: auth.NewBootstrapTokens(cfg.AdminToken, cfg.AuditorToken),
		Logger:    log,
	})
	s.API = api.New(api.Deps{
		Ledger:         s.Ledger,
		Checkpointer:   s.Ledger,
		Settings:       s.Settings,
		Identity:       s.Identity,
		Program:        s.Program,
		Privacy:        s.Privacy,
		Policies:       s.Policies,
		Policy:         s.Policy,
		Cases:          s.Cases,
		Credentials:    s.Credentials,
		Queries:        s.Queries,
		Reviews:        s.Reviews,
		Alerts:         s.Alerts,
		Places:         s.Places,
		Basemaps:       s.Basemaps,
		Releases:       s.DB.Releases(),
		MaxScanReport:  scanMaxBytes(cfg),
		Authn:          s.Authn,
		PublicURL:      cfg.PublicURL,
		Auth:           s.Authn,
		Ready:          s.ready,
		Metrics:        s.metrics.handler(),
		ObserveRequest: s.metrics.observeRequest,
		Logger:         log,
	})
	if s.OIDC, err = newOIDC(cfg, s.Authn); err != nil {
		return nil, err
	}
	if s.clientCAs, err = loadClientCAs(cfg); err != nil {
		return nil, err
	}
	s.Web, err = web.New(web.Deps{Authn: s.Authn, Identity: s.Identity, Queries: s.Queries, Reviews: s.Reviews, Alerts: s.Alerts, Logger: log, OIDC: s.OIDC, PIV: s.clientCAs != nil,
		Ledger: s.Ledger, LedgerAnchor: keys.Signing.VerifierKey, LedgerMAC: keys.MAC,
		Basemaps: s.Basemaps, Places: s.Places,
		Privacy: s.Privacy, Policies: s.Policies, Policy: s.Policy,
		Cases: s.Cases, Health: &web.Health{Ready: s.ready, Database: s.DB.Dialect().String(), Channels: notifyChannels(cfg), Settings: s.Settings}})
	if err != nil {
		return nil, err
	}
	s.handler = secure(route(s.API, s.Web), cfg.TLSCert != "")
	s.Ledger.Start(ctx)
	s.Policy.Start(ctx, policyReload)
	s.PlacesIndex.Start(ctx)
	s.jobs = newJobs(log, s.Identity, s.Queries)
	s.jobs.reviews = s.Reviews
	s.jobs.releases = s.DB.Releases()
	if s.jobs.storeWatch, err = newStoreWatch(s.jobs.releases, s.Alerts, log); err != nil {
		return nil, err
	}
	s.jobs.Start(ctx)
	s.Notifier.Start(ctx)
	return s, nil
}

// policyReload is how often a replica reloads the active policy sets, so
// that a set activated through another replica takes effect here too.
const policyReload = 10 * time.Second

// openPolicy installs the built-in policy sets where none is active, and
// loads the sets in force. Activations reload them at once.
func (s *Server) openPolicy(ctx context.Context) error {
	s.Policies = s.DB.Policies(func() { s.Policy.Changed() })
	if err := s.Policies.InstallDefaults(ctx); err != nil {
		return fmt.Errorf("install the built-in policies: %w", err)
	}
	s.Policy = policy.NewEngine(s.Policies, s.log)
	if err := s.Policy.Load(ctx); err != nil {
		return fmt.Errorf("load the policies: %w", err)
	}
	return nil
}

// secretsKey loads or creates the key that seals secrets in the database.
func (s *Server) secretsKey(ctx context.Context) (*sealed.Key, error) {
	used, err := s.DB.Meta(ctx, "secrets_key_id")
	if err != nil {
		return nil, err
	}
	k, created, err := readOrCreateSecretsKey(s.cfg.SecretsKey, used)
	if err != nil {
		return nil, err
	}
	if used == "" {
		if err := s.DB.SetMeta(ctx, "secrets_key_id", k.ID()); err != nil {
			return nil, err
		}
	}
	if created {
		s.log.Info("generated secrets key", "file", s.cfg.SecretsKey, "key_id", k.ID())
	}
	return k, nil
}

// Bootstrap makes sure the installation can be administered: while no
// administrator is active, it issues a new one-time enrolment link for the
// first one (see [Server.EnrolmentURL]).
func (s *Server) Bootstrap(ctx context.Context) error {
	secret, err := s.Identity.BootstrapAdmin(ctx)
	s.enrolSecret = secret
	return err
}

// EnrolmentURL returns the first administrator's one-time enrolment link,
// or "" when the installation already has an administrator.
func (s *Server) EnrolmentURL() string {
	if s.enrolSecret == "" {
		return ""
	}
	return s.publicURL() + "enroll/" + s.enrolSecret
}

func (s *Server) publicURL() string {
	if s.cfg.PublicURL != "" {
		return strings.TrimSuffix(s.cfg.PublicURL, "/") + "/"
	}
	return s.URL
}

// ledgerKeys loads the ledger key file, or creates one for a database that
// holds no ledger yet. A database that holds a ledger is never given a new
// key.
func (s *Server) ledgerKeys(ctx context.Context) (ledger.Keys, string, error) {
	vkey, err := s.DB.Meta(ctx, "ledger_verifier_key")
	if err != nil {
		return ledger.Keys{}, "", err
	}
	keys, err := readKeys(s.cfg.KeyFile)
	switch {
	case err == nil:
		origin := s.cfg.Origin
		if origin == "" && vkey == "" {
			origin = keys.Signing.Signer.Name()
		}
		return keys, origin, nil
	case !errors.Is(err, fs.ErrNotExist):
		return ledger.Keys{}, "", err
	case vkey != "":
		return ledger.Keys{}, "", fault.New(fault.Conflict, "the ledger key file %s is missing, but database %s holds a ledger signed by %s; restore the key file from your backup — a new key is never generated for an existing ledger", s.cfg.KeyFile, s.DB, vkey)
	}
	origin := s.cfg.Origin
	if origin == "" {
		origin = newOrigin()
	}
	if keys, err = ledger.GenerateKeys(origin); err != nil {
		return ledger.Keys{}, "", err
	}
	if err := writeKeys(s.cfg.KeyFile, keys); err != nil {
		return ledger.Keys{}, "", err
	}
	s.log.Info("generated ledger keys", "file", s.cfg.KeyFile, "verifier_key", keys.Signing.VerifierKey)
	return keys, origin, nil
}

// ready reports whether the server can serve.
func (s *Server) ready(ctx context.Context) error {
	if err := s.DB.Ping(ctx); err != nil {
		return err
	}
	if err := s.Ledger.Failed(); err != nil {
		return fault.Wrap(err, fault.Unavailable, "the ledger writer has stopped: %v", err)
	}
	return nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Listen opens the listening socket.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("cannot listen on %s: the address is already in use (another process is listening there; choose another with -addr or PROBITY_ADDR)", s.cfg.Addr)
		}
		return fmt.Errorf("cannot listen on %s: %w", s.cfg.Addr, err)
	}
	scheme := "http"
	if s.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if s.clientCAs != nil {
			// PIV/CAC sign-in: a client certificate is optional (password
			// and single sign-on users have none), but one that is given
			// must chain to a configured CA and be meant for client
			// authentication, or the handshake fails.
			tc.ClientAuth, tc.ClientCAs = tls.VerifyClientCertIfGiven, s.clientCAs
		}
		ln = tls.NewListener(ln, tc)
		scheme = "https"
	}
	s.ln = ln
	s.URL = fmt.Sprintf("%s://%s/", scheme, ln.Addr())
	s.listenURL.Store(s.URL)
	if s.cfg.PublicURL == "" {
		s.API.SetPublicURL(s.URL)
		if s.OIDC != nil {
			s.OIDC.SetRedirectURL(s.URL + oidcCallbackPath)
		}
	}
	return nil
}

// Serve serves HTTP until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context) error {
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	err := s.http.Shutdown(shut)
	<-errc
	return err
}

// Close stops background work and closes the database.
func (s *Server) Close() error {
	if s.ln != nil && s.http == nil {
		s.ln.Close()
	}
	if s.Web != nil {
		s.Web.Close()
	}
	if s.jobs != nil {
		s.jobs.Close()
	}
	if s.Notifier != nil {
		s.Notifier.Close()
	}
	if s.Policy != nil {
		s.Policy.Close()
	}
	if s.PlacesIndex != nil {
		s.PlacesIndex.Close()
	}
	if s.Ledger != nil {
		s.Ledger.Close()
	}
	var err error
	if s.DB != nil {
		err = s.DB.Close()
	}
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
	return err
}

// route sends programs' paths to the API and everything else to the pages.
func route(a *api.API, w *web.Web) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case strings.HasPrefix(p, "/api/"), p == "/ledger/checkpoint", strings.HasPrefix(p, "/ledger/tile/"), p == "/healthz", p == "/readyz", p == "/metrics":
			a.ServeHTTP(rw, r)
		default:
			w.ServeHTTP(rw, r)
		}
	})
}

// secure adds the headers every response carries and refuses cross-origin
// state-changing browser requests.
func secure(h http.Handler, tls bool) http.Handler {
	cop := http.NewCrossOriginProtection()
	h = cop.Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		if tls {
			hd.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		h.ServeHTTP(w, r)
	})
}

// newLogger returns the JSON (or text) logger the configuration asks for.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
