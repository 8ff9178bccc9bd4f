// Package credentials brokers the vendor credentials that only Probity
// holds: it seals a secret under the installation's secrets key, bound to
// "credential/NAME", before the store keeps it; opens it again only to
// hand it to a connector, on every call, so that a rotation takes effect
// at once; and builds the vendor connector of a data source from its
// endpoint and its credential reference ("sealed:NAME").
//
// A secret never leaves this package but towards the vendor: it is not
// returned by any API, logged, recorded in the ledger (not even as a
// digest), nor quoted in an error.
package credentials

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/connector/vendorapi"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/store"
)

// Bounds of a secret's length.
const (
	MinSecretLen = 8
	MaxSecretLen = 4096
)

// A Service stores, rotates, removes and opens credentials, and builds
// vendor connectors.
type Service struct {
	store *store.Connectors
	key   *sealed.Key
	log   *slog.Logger

	mu      sync.Mutex
	clients map[int64]cachedClient
}

// A cachedClient is a data source's connector and what it was built from.
type cachedClient struct {
	baseURL string
	timeout time.Duration
	ref     string
	client  *vendorapi.Client
}

// New returns the service over the store, sealing with key.
func New(s *store.Connectors, key *sealed.Key, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: s, key: key, log: log, clients: map[int64]cachedClient{}}
}

// what is what a credential's sealed value is bound to.
func what(name string) string { return "credential/" + name }

// CheckSecret reports whether secret can be a vendor credential: 8 to
// 4,096 characters of printable ASCII (spaces only inside), as an HTTP
// header carries it. The error never quotes the secret.
func CheckSecret(secret string) error {
	if len(secret) < MinSecretLen || len(secret) > MaxSecretLen {
		return fault.New(fault.Invalid, "the secret must be %d to %d characters long (it is %d)", MinSecretLen, MaxSecretLen, len(secret))
	}
	if strings.TrimSpace(secret) != secret {
		return fault.New(fault.Invalid, "the secret must not begin or end with spaces or line breaks")
	}
	for i := 0; i < len(secret); i++ {
		if c := secret[i]; c < 0x20 || c > 0x7e {
			return fault.New(fault.Invalid, "the secret must be printable ASCII: character %d is not", i+1)
		}
	}
	return nil
}

// Set seals secret and stores it as credential name, replacing (rotating)
// the one stored there.
func (s *Service) Set(ctx context.Context, by auth.Principal, name, secret string) error {
	if err := store.ValidateCredentialName(name); err != nil {
		return err
	}
	if err := CheckSecret(secret); err != nil {
		return err
	}
	return s.store.Put(ctx, by, name, s.key.Seal([]byte(secret), what(name)), s.key.ID())
}

// Delete removes credential name.
func (s *Service) Delete(ctx context.Context, by auth.Principal, name string) error {
	return s.store.Delete(ctx, by, name)
}

// List returns the credentials by manages: names and dates, never values.
func (s *Service) List(ctx context.Context, by auth.Principal) ([]store.CredentialInfo, error) {
	return s.store.List(ctx, by)
}

// SetEndpoint sets a vendor API data source's endpoint.
func (s *Service) SetEndpoint(ctx context.Context, by auth.Principal, sourceID int64, baseURL string, timeout time.Duration) (store.Endpoint, error) {
	return s.store.SetEndpoint(ctx, by, sourceID, baseURL, timeout)
}

// open returns the secret of credential name, for a data source of
// component.
func (s *Service) open(ctx context.Context, name, component string) (string, error) {
	info, sv, err := s.store.Lookup(ctx, name)
	if err != nil {
		return "", err
	}
	if err := store.CheckCredentialFor(info, component); err != nil {
		return "", err
	}
	pt, err := s.key.Open(sv, what(name))
	if err != nil {
		if errors.Is(err, sealed.ErrOpen) {
			return "", fault.Wrap(err, fault.Precondition, "credential %q does not open with the secrets key in use (%s; it was sealed with key %s): restore the key it was sealed with, or store the credential again", name, s.key.ID(), info.KeyID)
		}
		return "", err
	}
	return string(pt), nil
}

// Source returns the credential function of a data source for its
// connector: it opens the credential the source's reference names on
// every call. The reference must be "sealed:NAME", and the credential the
// source's component's or department-wide.
func (s *Service) Source(src privacy.Source) (func(context.Context) (string, error), error) {
	name, ok := strings.CutPrefix(src.CredentialRef, store.CredentialRefPrefix)
	if !ok {
		if src.CredentialRef == "" {
			return nil, fault.New(fault.Precondition, "data source %s has no credential configured", src.Name)
		}
		scheme, _, _ := strings.Cut(src.CredentialRef, ":")
		return nil, fault.New(fault.Precondition, "data source %s names a credential kept by %q, which this installation cannot open; store it with probity credential set and configure sealed:NAME", src.Name, scheme)
	}
	if err := store.ValidateCredentialName(name); err != nil {
		return nil, err
	}
	component := src.Component
	return func(ctx context.Context) (string, error) { return s.open(ctx, name, component) }, nil
}

// Client returns the vendor connector of a data source: its endpoint,
// with cfg's other settings, and its credential. Clients are kept per
// source, so that each keeps its circuit breaker, and rebuilt when the
// endpoint or the credential reference changes.
func (s *Service) Client(ctx context.Context, src privacy.Source, cfg vendorapi.Config) (*vendorapi.Client, error) {
	if src.Connector != privacy.VendorAPI {
		return nil, fault.New(fault.Invalid, "data source %s uses the %s connector, not a vendor API", src.Name, src.Connector)
	}
	e, err := s.store.Endpoint(ctx, src.ID)
	if err != nil {
		return nil, err
	}
	cred, err := s.Source(src)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[src.ID]; ok && c.baseURL == e.BaseURL && c.timeout == e.Timeout && c.ref == src.CredentialRef {
		return c.client, nil
	}
	cfg.BaseURL, cfg.Timeout, cfg.Credential = e.BaseURL, e.Timeout, cred
	if cfg.Logger == nil {
		cfg.Logger = s.log
	}
	cfg.Logger = cfg.Logger.With(slog.String("source", src.Name))
	c, err := vendorapi.New(cfg)
	if err != nil {
		return nil, err
	}
	s.clients[src.ID] = cachedClient{baseURL: e.BaseURL, timeout: e.Timeout, ref: src.CredentialRef, client: c}
	return c, nil
}
