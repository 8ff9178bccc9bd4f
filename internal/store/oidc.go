package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
)

// An OIDCLogin is a single sign-on in progress: what the callback needs to
// finish it. It is stored under a hash of its state parameter.
type OIDCLogin struct {
	// NonceHash is the hex SHA-256 of the nonce sent to the identity
	// provider, which the ID token must carry back.
	NonceHash string
	// Verifier is the PKCE code verifier, sealed (the caller's encoding).
	Verifier string
	// ReturnTo is the local path to go to after signing in.
	ReturnTo  string
	ExpiresAt time.Time
}

// OIDCLoginLifetime is how long a single sign-on may take, from leaving
// for the identity provider to coming back.
const OIDCLoginLifetime = 10 * time.Minute

// ErrOIDCLoginNotFound reports a state parameter that names no single
// sign-on in progress: unknown, already used, or expired.
var ErrOIDCLoginNotFound = errors.New("no single sign-on in progress for this state")

// StartOIDCLogin records a single sign-on in progress under state (stored
// hashed), expiring after [OIDCLoginLifetime]. Expired ones are removed on
// the way.
func (s *Identity) StartOIDCLogin(ctx context.Context, state string, l OIDCLogin) error {
	return s.db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM oidc_logins WHERE expires_at <= $1`, tx.Now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO oidc_logins (state_hash, nonce, verifier, return_to, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			HashSecret(state), l.NonceHash, l.Verifier, l.ReturnTo, tx.Now, tx.Now.Add(OIDCLoginLifetime))
		return err
	})
}

// TakeOIDCLogin returns the single sign-on in progress under state and
// removes it, so that a state is used at most once, even by concurrent
// callbacks on different replicas.
func (s *Identity) TakeOIDCLogin(ctx context.Context, state string) (OIDCLogin, error) {
	var l OIDCLogin
	err := s.db.Update(ctx, func(tx *Tx) error {
		err := tx.QueryRow(ctx, `DELETE FROM oidc_logins WHERE state_hash = $1 RETURNING nonce, verifier, return_to, expires_at`, HashSecret(state)).
			Scan(&l.NonceHash, &l.Verifier, &l.ReturnTo, &l.ExpiresAt)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !tx.Now.Before(l.ExpiresAt)) {
			return fault.Wrap(ErrOIDCLoginNotFound, fault.Unauthenticated, "this single sign-on has expired or was already used; start again")
		}
		return err
	})
	if err != nil {
		return OIDCLogin{}, err
	}
	return l, nil
}

// PersonBySignOnID returns the person whose employee ID is exactly id, for
// single sign-on; it does no authorization. Unlike [Identity.PersonByEmployeeID]
// it does not match email addresses: the identity provider's claim names
// an employee ID, and nothing else may stand in for it.
func (s *Identity) PersonBySignOnID(ctx context.Context, id string) (identity.Person, error) {
	p, err := scanPerson(s.db.read.QueryRowContext(ctx, `SELECT `+personColumns+` FROM people WHERE employee_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fault.Wrap(ErrPersonNotFound, fault.NotFound, "no such person")
	}
	return p, err
}
