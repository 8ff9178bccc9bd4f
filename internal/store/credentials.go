package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/connector/vendorapi"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
)

// Connectors is the store of what connectors need to reach a vendor: the
// credentials, kept sealed (the store never sees a secret in the clear;
// see package credentials), and each vendor API data source's endpoint.
//
// Credentials are the security officer's alone ([auth.CredentialsManage]):
// the administrator can neither set nor read them. A credential belongs to
// the component of the officer who first stored it (department-wide for a
// department-wide officer); only officers of that component change or
// remove it, and only that component's data sources use it. Nothing reads
// a value back out but [Connectors.Sealed], which the connector uses.
// Every change is recorded in the ledger with the credential's name and
// the sealing key's ID — never the secret, sealed or not, nor a digest of
// it (a digest of a short key could be guessed).
type Connectors struct {
	db *DB
}

// Connectors returns the connectors' store over db.
func (db *DB) Connectors() *Connectors { return &Connectors{db: db} }

// A CredentialInfo describes a stored credential, never its value.
type CredentialInfo struct {
	Name      string
	Component string // "" for department-wide
	KeyID     string // the ID of the secrets key that sealed it
	CreatedBy string
	CreatedAt time.Time
	UpdatedBy string
	UpdatedAt time.Time
}

// Ref returns the credential reference a data source names it by.
func (c CredentialInfo) Ref() string { return CredentialRefPrefix + c.Name }

// CredentialRefPrefix begins the reference of a credential stored here
// (see [privacy.ValidateCredentialRef]).
const CredentialRefPrefix = "sealed:"

// MaxSealedCredential bounds a sealed credential's size.
const MaxSealedCredential = 16 << 10

var (
	credentialNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)
	keyIDRe          = regexp.MustCompile(`^[0-9a-f]{8,64}$`)
)

// ValidateCredentialName reports whether name may name a credential:
// 2 to 64 lowercase letters, digits, dots, dashes and underscores, starting
// with a letter or digit (e.g. cbp-venntel).
func ValidateCredentialName(name string) error {
	if !credentialNameRe.MatchString(name) {
		return fault.New(fault.Invalid, "a credential's name is 2 to 64 lowercase letters, digits, dots, dashes and underscores, starting with a letter or digit (e.g. cbp-venntel)")
	}
	return nil
}

func credentialSubject(name string) string { return "credential/" + name }

func notFoundCredential(name string) error {
	return fault.New(fault.NotFound, "there is no credential named %q", name)
}

func (s *Connectors) record(ctx context.Context, tx *Tx, by ledger.Actor, typ, component, subject string, data map[string]any) error {
	if s.db.ledger == nil {
		return fault.New(fault.Internal, "the ledger is not open")
	}
	_, err := s.db.ledger.Append(ctx, tx, ledger.Event{Type: typ, Actor: by, Component: component, Subject: subject, Data: data})
	return err
}

// credentialHome returns the component a new credential of by's belongs
// to: where by manages credentials, "" when department-wide.
func credentialHome(by auth.Principal) (string, error) {
	comps, all := by.Components(auth.CredentialsManage)
	switch {
	case all:
		return "", nil
	case len(comps) == 1:
		return comps[0], nil
	case len(comps) == 0:
		return "", fault.New(fault.Forbidden, "your role does not allow managing connector credentials: that is the security officer's")
	}
	return "", fault.New(fault.Invalid, "you manage credentials in several components (%s), so a new one's component is unclear; ask a security officer of one component to store it", strings.Join(comps, ", "))
}

const credentialColumns = `name, component, key_id, created_by, created_at, updated_by, updated_at`

func scanCredential(sc scanner) (CredentialInfo, error) {
	var c CredentialInfo
	err := sc.Scan(&c.Name, &c.Component, &c.KeyID, &c.CreatedBy, &c.CreatedAt, &c.UpdatedBy, &c.UpdatedAt)
	return c, err
}

// Put stores a sealed credential under name, or replaces the one stored
// there (a rotation): sealed must be the value sealed for
// "credential/NAME" by the key keyID names.
func (s *Connectors) Put(ctx context.Context, by auth.Principal, name string, sealed []byte, keyID string) error {
	if err := ValidateCredentialName(name); err != nil {
		return err
	}
	switch {
	case len(sealed) == 0 || len(sealed) > MaxSealedCredential:
		return fault.New(fault.Invalid, "a sealed credential is 1 to %d bytes", MaxSealedCredential)
	case !keyIDRe.MatchString(keyID):
		return fault.New(fault.Invalid, "the sealing key's ID must be hexadecimal")
	}
	if !by.Can(auth.CredentialsManage) {
		return fault.New(fault.Forbidden, "your role does not allow managing connector credentials: that is the security officer's")
	}
	return s.db.Update(ctx, func(tx *Tx) error {
		old, err := scanCredential(tx.QueryRow(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE name = $1`+forUpdate(tx), name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return s.insert(ctx, tx, by, name, sealed, keyID)
		case err != nil:
			return err
		case !by.CanIn(auth.CredentialsManage, old.Component):
			return fault.New(fault.Conflict, "a credential named %q belongs to another component; choose another name", name)
		}
		if _, err := tx.Exec(ctx, `UPDATE credentials SET sealed = $1, key_id = $2, updated_by = $3, updated_at = $4 WHERE name = $5`,
			sealed, keyID, by.ID, tx.Now, name); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "credential.stored", old.Component, credentialSubject(name), map[string]any{
			"name": name, "key_id": keyID, "replaced": true, "previous_key_id": old.KeyID,
		})
	})
}

func (s *Connectors) insert(ctx context.Context, tx *Tx, by auth.Principal, name string, sealed []byte, keyID string) error {
	home, err := credentialHome(by)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO credentials (name, component, sealed, key_id, created_by, created_at, updated_by, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $5, $6)`, name, home, sealed, keyID, by.ID, tx.Now)
	if isUniqueViolation(err) {
		return fault.New(fault.Conflict, "a credential named %q was stored at the same time; try again", name)
	}
	if err != nil {
		return err
	}
	return s.record(ctx, tx, by.Actor(), "credential.stored", home, credentialSubject(name), map[string]any{
		"name": name, "key_id": keyID, "replaced": false,
	})
}

// Sealed returns the sealed value of the credential name, without
// authorization: for the connector, which opens it to call the vendor.
func (s *Connectors) Sealed(ctx context.Context, name string) ([]byte, error) {
	_, sealed, err := s.Lookup(ctx, name)
	return sealed, err
}

// Lookup returns what is stored of the credential name, its sealed value
// included, without authorization: for the connector.
func (s *Connectors) Lookup(ctx context.Context, name string) (CredentialInfo, []byte, error) {
	var sealed []byte
	var c CredentialInfo
	err := s.db.read.QueryRowContext(ctx, `SELECT `+credentialColumns+`, sealed FROM credentials WHERE name = $1`, name).Scan(
		&c.Name, &c.Component, &c.KeyID, &c.CreatedBy, &c.CreatedAt, &c.UpdatedBy, &c.UpdatedAt, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil, notFoundCredential(name)
	}
	if err != nil {
		return c, nil, fmt.Errorf("read credential %s: %w", name, err)
	}
	return c, sealed, nil
}

// Delete removes the credential name. Data sources that name it stay
// configured, and their calls fail until it is stored again; the ledger
// entry lists them.
func (s *Connectors) Delete(ctx context.Context, by auth.Principal, name string) error {
	if err := ValidateCredentialName(name); err != nil {
		return err
	}
	if !by.Can(auth.CredentialsManage) {
		return fault.New(fault.Forbidden, "your role does not allow managing connector credentials: that is the security officer's")
	}
	return s.db.Update(ctx, func(tx *Tx) error {
		old, err := scanCredential(tx.QueryRow(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE name = $1`+forUpdate(tx), name))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !by.CanIn(auth.CredentialsManage, old.Component)) {
			return notFoundCredential(name)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM credentials WHERE name = $1`, name); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT name FROM data_sources WHERE credential_ref = $1 ORDER BY name`, CredentialRefPrefix+name)
		users, err := scanAll(rows, err, func(sc scanner) (string, error) {
			var n string
			return n, sc.Scan(&n)
		})
		if err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "credential.removed", old.Component, credentialSubject(name), map[string]any{
			"name": name, "key_id": old.KeyID, "used_by": users,
		})
	})
}

// List returns the credentials by manages, by name: names, components,
// key IDs and dates, never values.
func (s *Connectors) List(ctx context.Context, by auth.Principal) ([]CredentialInfo, error) {
	var w where
	comps, all := by.Components(auth.CredentialsManage)
	if !all {
		if len(comps) == 0 {
			return nil, fault.New(fault.Forbidden, "your role does not allow managing connector credentials: that is the security officer's")
		}
		w.add(w.in("component", comps))
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+credentialColumns+` FROM credentials`+w.String()+` ORDER BY name`, w.args...)
	return scanAll(rows, err, scanCredential)
}

// Endpoints.

// An Endpoint is where a vendor API data source's connector calls.
type Endpoint struct {
	SourceID  int64
	BaseURL   string
	Timeout   time.Duration // of each attempt
	UpdatedBy string
	UpdatedAt time.Time
}

func scanEndpoint(sc scanner) (Endpoint, error) {
	var e Endpoint
	var ms int64
	err := sc.Scan(&e.SourceID, &e.BaseURL, &ms, &e.UpdatedBy, &e.UpdatedAt)
	e.Timeout = time.Duration(ms) * time.Millisecond
	return e, err
}

// SetEndpoint sets where a vendor API data source's connector calls (see
// [vendorapi.ParseBaseURL]) and how long it waits for each attempt.
// Setting what is already set changes nothing and records nothing.
func (s *Connectors) SetEndpoint(ctx context.Context, by auth.Principal, sourceID int64, baseURL string, timeout time.Duration) (Endpoint, error) {
	u, err := vendorapi.ParseBaseURL(baseURL)
	if err != nil {
		return Endpoint{}, err
	}
	if err := vendorapi.CheckTimeout(timeout); err != nil {
		return Endpoint{}, err
	}
	if timeout%time.Millisecond != 0 {
		return Endpoint{}, fault.New(fault.Invalid, "the timeout is a whole number of milliseconds")
	}
	e := Endpoint{SourceID: sourceID, BaseURL: u.String(), Timeout: timeout, UpdatedBy: by.ID}
	err = s.db.Update(ctx, func(tx *Tx) error {
		src, err := s.db.Privacy().source(ctx, tx, by, sourceID, true)
		if err != nil {
			return err
		}
		if !by.CanIn(auth.InventoryManage, src.Component) {
			return fault.New(fault.Forbidden, "your role does not allow configuring the connectors of %s's data sources", src.Component)
		}
		if src.Connector != privacy.VendorAPI {
			return fault.New(fault.Invalid, "data source %s uses the %s connector, which calls no vendor endpoint", src.Name, src.Connector)
		}
		old, err := scanEndpoint(tx.QueryRow(ctx, `SELECT source_id, base_url, timeout_ms, updated_by, updated_at FROM vendor_endpoints WHERE source_id = $1`+forUpdate(tx), sourceID))
		had := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if had && old.BaseURL == e.BaseURL && old.Timeout == e.Timeout {
			e = old
			return nil
		}
		e.UpdatedAt = tx.Now
		if _, err := tx.Exec(ctx, `INSERT INTO vendor_endpoints (source_id, base_url, timeout_ms, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (source_id) DO UPDATE SET base_url = excluded.base_url, timeout_ms = excluded.timeout_ms, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			sourceID, e.BaseURL, e.Timeout.Milliseconds(), by.ID, tx.Now); err != nil {
			return err
		}
		data := map[string]any{"base_url": e.BaseURL, "timeout_ms": e.Timeout.Milliseconds()}
		if had {
			data["previous"] = map[string]any{"base_url": old.BaseURL, "timeout_ms": old.Timeout.Milliseconds()}
		}
		return s.record(ctx, tx, by.Actor(), "connector.endpoint_set", src.Component, sourceSubject(sourceID), data)
	})
	if err != nil {
		return Endpoint{}, err
	}
	return e, nil
}

// Endpoint returns the endpoint of a data source, without authorization:
// for the connector.
func (s *Connectors) Endpoint(ctx context.Context, sourceID int64) (Endpoint, error) {
	e, err := scanEndpoint(s.db.read.QueryRowContext(ctx, `SELECT source_id, base_url, timeout_ms, updated_by, updated_at FROM vendor_endpoints WHERE source_id = $1`, sourceID))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fault.New(fault.NotFound, "data source %d has no vendor endpoint configured", sourceID)
	}
	if err != nil {
		return e, fmt.Errorf("read the endpoint of data source %d: %w", sourceID, err)
	}
	return e, nil
}

// credentialUsable reports whether a credential of component may serve a
// data source of sourceComponent.
func credentialUsable(component, sourceComponent string) bool {
	return component == "" || component == sourceComponent
}

// CheckCredentialFor reports whether the credential c may serve a data
// source of component: it must be that component's or department-wide.
func CheckCredentialFor(c CredentialInfo, component string) error {
	if !credentialUsable(c.Component, component) {
		return fault.New(fault.Forbidden, "credential %q belongs to %s and cannot serve a data source of %s", c.Name, c.Component, component)
	}
	return nil
}
