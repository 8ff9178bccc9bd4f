package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/detect"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
)

// newSecret returns a random secret for a cookie, link or token, and the
// hash that is stored instead of it.
func newSecret() (secret string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret)
}

// HashSecret returns the stored form of a high-entropy secret.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func isForeignKeyViolation(err error) bool {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.Code == "23503"
	}
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}

// Credentials are what authentication checks for a person.
type Credentials struct {
	Person       identity.Person
	PasswordHash string
	TOTPSealed   []byte
	TOTPLastStep int64
}

// Credentials returns a person's credentials, for authentication.
func (s *Identity) Credentials(ctx context.Context, personID int64) (Credentials, error) {
	var c Credentials
	var pw sql.NullString
	p, err := s.person(ctx, s.db.read, personID)
	if err != nil {
		return c, err
	}
	c.Person = p
	err = s.db.read.QueryRowContext(ctx, `SELECT password_hash, totp_sealed, totp_last_step FROM people WHERE id = $1`, personID).Scan(&pw, &c.TOTPSealed, &c.TOTPLastStep)
	c.PasswordHash = pw.String
	return c, err
}

// An Enrolment is what activating an account sets.
type Enrolment struct {
	PasswordHash string
	TOTPSealed   []byte
	TOTPStep     int64    // the time step of the code that proved the enrolment
	RecoveryHash [][]byte // hashes of the one-time recovery codes
}

// InvitedPerson returns the person an unused, unexpired enrolment secret
// belongs to.
func (s *Identity) InvitedPerson(ctx context.Context, secret string) (identity.Person, error) {
	var id int64
	var expires time.Time
	var used sql.NullTime
	err := s.db.read.QueryRowContext(ctx, `SELECT person_id, expires_at, used_at FROM invitations WHERE token_hash = $1`, HashSecret(secret)).Scan(&id, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) || used.Valid || (err == nil && !s.db.now().Before(expires)) {
		return identity.Person{}, fault.New(fault.NotFound, "this enrolment link is not valid: it may have expired or been used; ask your administrator for a new one")
	}
	if err != nil {
		return identity.Person{}, err
	}
	return s.person(ctx, s.db.read, id)
}

// Activate completes an invited person's enrolment: it consumes the
// enrolment secret and sets the password, the TOTP seed and the recovery
// codes, all in one transaction.
func (s *Identity) Activate(ctx context.Context, secret string, e Enrolment) (identity.Person, error) {
	var p identity.Person
	err := s.db.Update(ctx, func(tx *Tx) error {
		var id int64
		var expires time.Time
		var used sql.NullTime
		err := tx.QueryRow(ctx, `SELECT person_id, expires_at, used_at FROM invitations WHERE token_hash = $1`, HashSecret(secret)).Scan(&id, &expires, &used)
		if errors.Is(err, sql.ErrNoRows) || used.Valid || (err == nil && !tx.Now.Before(expires)) {
			return fault.New(fault.NotFound, "this enrolment link is not valid: it may have expired or been used; ask your administrator for a new one")
		}
		if err != nil {
			return err
		}
		if p, err = s.person(ctx, txQueryer{tx}, id); err != nil {
			return err
		}
		if p.Status != identity.Invited {
			return fault.New(fault.Conflict, "this account is already %s", p.Status)
		}
		if _, err := tx.Exec(ctx, `UPDATE invitations SET used_at = $1 WHERE token_hash = $2`, tx.Now, HashSecret(secret)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE people SET password_hash = $1, totp_sealed = $2, totp_last_step = $3, status = 'active', status_reason = '', updated_at = $4 WHERE id = $5`,
			e.PasswordHash, e.TOTPSealed, e.TOTPStep, tx.Now, id); err != nil {
			return err
		}
		if err := replaceRecoveryCodes(ctx, tx, id, e.RecoveryHash); err != nil {
			return err
		}
		p.Status = identity.Active
		return s.record(ctx, tx, ledger.Actor{Kind: ledger.ActorUser, ID: p.EmployeeID}, "identity.account_activated", p.Component, personSubject(id), map[string]any{
			"mfa": "totp", "recovery_codes": len(e.RecoveryHash),
		})
	})
	return p, err
}

func replaceRecoveryCodes(ctx context.Context, tx *Tx, personID int64, hashes [][]byte) error {
	if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE person_id = $1`, personID); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (person_id, code_hash) VALUES ($1, $2)`, personID, h); err != nil {
			return err
		}
	}
	return nil
}

// SetPassword replaces a person's password hash (the caller has checked
// the current password and the new one's quality).
func (s *Identity) SetPassword(ctx context.Context, by auth.Principal, hash string) error {
	return s.db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE people SET password_hash = $1, updated_at = $2 WHERE id = $3`, hash, tx.Now, by.PersonID); err != nil {
			return err
		}
		// Every other session ends: a changed password must lock out whoever
		// may have had the old one.
		if _, err := tx.Exec(ctx, `UPDATE sessions SET ended_at = $1, end_reason = 'password changed' WHERE person_id = $2 AND ended_at IS NULL AND ref <> $3`, tx.Now, by.PersonID, by.SessionID); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "identity.password_changed", by.Component, personSubject(by.PersonID), nil)
	})
}

// ReplaceRecoveryCodes issues a new set of recovery codes.
func (s *Identity) ReplaceRecoveryCodes(ctx context.Context, by auth.Principal, hashes [][]byte) error {
	return s.db.Update(ctx, func(tx *Tx) error {
		if err := replaceRecoveryCodes(ctx, tx, by.PersonID, hashes); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "identity.recovery_codes_replaced", by.Component, personSubject(by.PersonID), map[string]any{"count": len(hashes)})
	})
}

// A SecondFactor is a verified second factor to record with a sign-in.
type SecondFactor struct {
	TOTPStep     int64  // the TOTP time step used; must be newer than the last one
	RecoveryHash []byte // or a recovery code, consumed
}

// ErrReplayed reports a TOTP code or recovery code that was already used.
var ErrReplayed = errors.New("second factor already used")

// ErrUnknownRecoveryCode reports a recovery code the person was never
// given.
var ErrUnknownRecoveryCode = errors.New("no such recovery code")

// useSecondFactor records a second factor in tx, refusing a replay.
func useSecondFactor(ctx context.Context, tx *Tx, personID int64, f SecondFactor) error {
	if f.RecoveryHash != nil {
		r, err := tx.Exec(ctx, `UPDATE recovery_codes SET used_at = $1 WHERE person_id = $2 AND code_hash = $3 AND used_at IS NULL`, tx.Now, personID, f.RecoveryHash)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n != 1 {
			// A wrong code is not a replayed one: say which, to the person
			// and in the ledger.
			var used sql.NullTime
			err := tx.QueryRow(ctx, `SELECT used_at FROM recovery_codes WHERE person_id = $1 AND code_hash = $2`, personID, f.RecoveryHash).Scan(&used)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrUnknownRecoveryCode
			}
			if err != nil {
				return err
			}
			return ErrReplayed
		}
		return nil
	}
	r, err := tx.Exec(ctx, `UPDATE people SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, f.TOTPStep, personID)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n != 1 {
		return ErrReplayed
	}
	return nil
}

// A Session is a signed-in browser session.
type Session struct {
	Ref       string // public reference, shown in lists and used to end it
	PersonID  int64
	Method    string // password, oidc, piv, recovery
	Stage     string // "mfa" while waiting for the second factor, else "full"
	Addr      string
	UserAgent string
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time
}

// A SessionPolicy bounds sessions.
type SessionPolicy struct {
	Idle     time.Duration // default 15 minutes
	Absolute time.Duration // default 12 hours
}

// DefaultSessionPolicy is 15 minutes idle, 12 hours at most.
var DefaultSessionPolicy = SessionPolicy{Idle: 15 * time.Minute, Absolute: 12 * time.Hour}

// A SignInResult is what a completed sign-in produced.
type SignInResult struct {
	Secret  string // the session cookie's value; shown once
	Session Session
	Signals []identity.Signal
}

// StartSession records a completed sign-in and creates a session: it ends
// the session the sign-in replaces (rotation), consumes the second factor,
// records the sign-in, and looks for shared-use signals, all in one
// transaction.
func (s *Identity) StartSession(ctx context.Context, personID int64, method, addr, userAgent string, f *SecondFactor, replaces string, pol SessionPolicy) (SignInResult, error) {
	var res SignInResult
	secret, hash := newSecret()
	ref := refFor(hash)
	err := s.db.Update(ctx, func(tx *Tx) error {
		p, err := s.person(ctx, txQueryer{tx}, personID)
		if err != nil {
			return err
		}
		if p.Status != identity.Active {
			return fault.New(fault.Unauthenticated, "the sign-in failed")
		}
		if f != nil {
			if err := useSecondFactor(ctx, tx, personID, *f); err != nil {
				return err
			}
		}
		if replaces != "" {
			if _, err := tx.Exec(ctx, `UPDATE sessions SET ended_at = $1, end_reason = 'rotated at sign-in' WHERE id_hash = $2 AND ended_at IS NULL`, tx.Now, HashSecret(replaces)); err != nil {
				return err
			}
		}
		// Shared-use signals, from the person's live sessions and recent
		// sign-ins, before this one is added.
		live, err := liveSessions(ctx, tx, personID, pol)
		if err != nil {
			return err
		}
		recent, err := recentSignIns(ctx, tx, personID, tx.Now.Add(-identity.SharedUseWindow))
		if err != nil {
			return err
		}
		in := identity.SignIn{PersonID: personID, At: tx.Now, Addr: addr, UserAgent: userAgent, Method: method}
		res.Signals = identity.SharedUseSignals(in, recent, live, identity.SharedUseWindow)
		if _, err := tx.Exec(ctx, `INSERT INTO sessions (id_hash, ref, person_id, method, stage, addr, user_agent, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, 'full', $5, $6, $7, $7, $8)`,
			hash, ref, personID, method, addr, userAgent, tx.Now, tx.Now.Add(pol.Absolute)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sign_ins (person_id, at, addr, user_agent, method) VALUES ($1, $2, $3, $4, $5)`, personID, tx.Now, addr, userAgent, method); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE people SET last_sign_in = $1 WHERE id = $2`, tx.Now, personID); err != nil {
			return err
		}
		actor := ledger.Actor{Kind: ledger.ActorUser, ID: p.EmployeeID}
		if err := s.record(ctx, tx, actor, "auth.signed_in", p.Component, personSubject(personID), map[string]any{
			"method": method, "session": ref, "addr": addr, "second_factor": secondFactorKind(f),
		}); err != nil {
			return err
		}
		for _, sig := range res.Signals {
			ev, _ := json.Marshal(sig.Evidence)
			if _, err := tx.Exec(ctx, `INSERT INTO shared_use_signals (person_id, at, kind, explanation, evidence) VALUES ($1, $2, $3, $4, $5)`, personID, tx.Now, sig.Kind, sig.Explanation, string(ev)); err != nil {
				return err
			}
			if err := s.record(ctx, tx, SystemActor, "identity.shared_account_suspected", p.Component, personSubject(personID), map[string]any{
				"kind": sig.Kind, "explanation": sig.Explanation, "evidence": sig.Evidence,
			}); err != nil {
				return err
			}
			if p.Component == "" {
				continue // department staff: no component privacy office to triage it; the ledger holds it
			}
			evidence := map[string]any{"signal": sig.Kind, "employee_id": p.EmployeeID, "session": ref}
			for k, v := range sig.Evidence {
				evidence[k] = v
			}
			alertEv, _ := json.Marshal(evidence)
			if _, err := s.db.Alerts(nil).Raise(ctx, tx, alerts.Alert{Detector: detect.SharedAccount, Severity: alerts.Medium, Component: p.Component,
				PersonID: personID, Explanation: "The account of " + p.EmployeeID + " may be used by more than one person: " + sig.Explanation +
					" Every query must be made by a named individual; a shared account defeats that.", Evidence: alertEv}); err != nil {
				return err
			}
		}
		res.Secret = secret
		res.Session = Session{Ref: ref, PersonID: personID, Method: method, Stage: "full", Addr: addr, UserAgent: userAgent, CreatedAt: tx.Now, LastSeen: tx.Now, ExpiresAt: tx.Now.Add(pol.Absolute)}
		return nil
	})
	return res, err
}

func secondFactorKind(f *SecondFactor) string {
	switch {
	case f == nil:
		return "none"
	case f.RecoveryHash != nil:
		return "recovery_code"
	}
	return "totp"
}

// refFor derives a session's public reference from its hash.
func refFor(hash []byte) string { return hex.EncodeToString(hash[:8]) }

// MFAPendingLifetime is how long a password-verified sign-in waits for its
// second factor.
const MFAPendingLifetime = 5 * time.Minute

// StartMFA records that a person passed the first factor and must give the
// second; the returned secret identifies the pending sign-in (a cookie).
func (s *Identity) StartMFA(ctx context.Context, personID int64, method, addr, userAgent string) (string, error) {
	secret, hash := newSecret()
	err := s.db.Update(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sessions (id_hash, ref, person_id, method, stage, addr, user_agent, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, 'mfa', $5, $6, $7, $7, $8)`,
			hash, refFor(hash), personID, method, addr, userAgent, tx.Now, tx.Now.Add(MFAPendingLifetime))
		return err
	})
	return secret, err
}

// PendingMFA returns the person a pending second-factor step belongs to.
func (s *Identity) PendingMFA(ctx context.Context, secret string) (Session, error) {
	sess, err := s.lookupSession(ctx, secret)
	if err != nil || sess.Stage != "mfa" || !s.db.now().Before(sess.ExpiresAt) {
		return Session{}, fault.New(fault.Unauthenticated, "the sign-in has expired; start again")
	}
	return sess, nil
}

func (s *Identity) lookupSession(ctx context.Context, secret string) (Session, error) {
	var sess Session
	var ended sql.NullTime
	err := s.db.read.QueryRowContext(ctx, `SELECT ref, person_id, method, stage, addr, user_agent, created_at, last_seen_at, expires_at, ended_at FROM sessions WHERE id_hash = $1`, HashSecret(secret)).
		Scan(&sess.Ref, &sess.PersonID, &sess.Method, &sess.Stage, &sess.Addr, &sess.UserAgent, &sess.CreatedAt, &sess.LastSeen, &sess.ExpiresAt, &ended)
	if err != nil {
		return sess, err
	}
	if ended.Valid {
		return sess, sql.ErrNoRows
	}
	return sess, nil
}

// An Authenticated is a principal with what the HTTP layer needs to keep
// the credential alive.
type Authenticated struct {
	Principal auth.Principal
	Person    identity.Person
	Touch     bool // the session's last activity should be recorded
}

// SessionPrincipal resolves a session cookie to its principal, enforcing
// the idle and absolute limits and the account's status. One query.
func (s *Identity) SessionPrincipal(ctx context.Context, secret string, pol SessionPolicy) (Authenticated, error) {
	var a Authenticated
	var sess Session
	var ended sql.NullTime
	row := s.db.read.QueryRowContext(ctx, `SELECT s.ref, s.stage, s.last_seen_at, s.expires_at, s.ended_at, `+personCols("p.")+`
		FROM sessions s JOIN people p ON p.id = s.person_id WHERE s.id_hash = $1`, HashSecret(secret))
	var p identity.Person
	var sched string
	var last sql.NullTime
	err := row.Scan(&sess.Ref, &sess.Stage, &sess.LastSeen, &sess.ExpiresAt, &ended,
		&p.ID, &p.EmployeeID, &p.Name, &p.Email, &p.Component, &p.UnitID, &p.SupervisorID,
		&sched, &p.Status, &p.StatusReason, &p.PIVSubject, &p.PIVUPN, &last, &p.CreatedAt)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("look up session: %w", err)
	}
	now := s.db.now()
	if errors.Is(err, sql.ErrNoRows) || ended.Valid || sess.Stage != "full" || !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeen) > pol.Idle || p.Status != identity.Active {
		return a, fault.New(fault.Unauthenticated, "your session has ended; sign in again")
	}
	json.Unmarshal([]byte(sched), &p.Schedule)
	p.LastSignIn = last.Time
	grants, err := s.grants(ctx, s.db.read, p.ID)
	if err != nil {
		return a, err
	}
	a.Person = p
	a.Principal = identity.Principal(p, grants)
	a.Principal.SessionID = sess.Ref
	a.Touch = now.Sub(sess.LastSeen) > time.Minute
	return a, nil
}

// TouchSession records activity on a session (at most once a minute).
func (s *Identity) TouchSession(ctx context.Context, secret string) error {
	_, err := s.db.write.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2 AND ended_at IS NULL`, s.db.now(), HashSecret(secret))
	return err
}

// EndSession signs out one session (by its secret, or by its public
// reference for the person's own list).
func (s *Identity) EndSession(ctx context.Context, by auth.Principal, secret, ref, reason string) error {
	return s.db.Update(ctx, func(tx *Tx) error {
		var r sql.Result
		var err error
		if secret != "" {
			r, err = tx.Exec(ctx, `UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE id_hash = $3 AND ended_at IS NULL`, tx.Now, reason, HashSecret(secret))
		} else {
			r, err = tx.Exec(ctx, `UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE ref = $3 AND person_id = $4 AND ended_at IS NULL`, tx.Now, reason, ref, by.PersonID)
		}
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fault.New(fault.NotFound, "no such session")
		}
		return s.record(ctx, tx, by.Actor(), "auth.signed_out", by.Component, personSubject(by.PersonID), map[string]any{"reason": reason})
	})
}

// EndAllSessions signs a person out everywhere and, when tokens is set,
// revokes their API tokens too.
func (s *Identity) EndAllSessions(ctx context.Context, by auth.Principal, personID int64, reason string) (int, error) {
	var n int
	err := s.db.Update(ctx, func(tx *Tx) error {
		p, err := s.person(ctx, txQueryer{tx}, personID)
		if err != nil {
			return err
		}
		if personID != by.PersonID && !by.CanIn(auth.SessionsRevoke, p.Component) {
			return fault.New(fault.Forbidden, "only a privacy officer or an administrator ends another person's sessions")
		}
		r, err := tx.Exec(ctx, `UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE person_id = $3 AND ended_at IS NULL`, tx.Now, reason, personID)
		if err != nil {
			return err
		}
		c, _ := r.RowsAffected()
		n = int(c)
		return s.record(ctx, tx, by.Actor(), "auth.signed_out_everywhere", p.Component, personSubject(personID), map[string]any{"sessions": n, "reason": reason})
	})
	return n, err
}

// Sessions lists a person's live sessions.
func (s *Identity) Sessions(ctx context.Context, personID int64, pol SessionPolicy) ([]Session, error) {
	now := s.db.now()
	rows, err := s.db.read.QueryContext(ctx, `SELECT ref, person_id, method, stage, addr, user_agent, created_at, last_seen_at, expires_at FROM sessions
		WHERE person_id = $1 AND ended_at IS NULL AND stage = 'full' AND expires_at > $2 AND last_seen_at > $3 ORDER BY last_seen_at DESC`,
		personID, now, now.Add(-pol.Idle))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var x Session
		if err := rows.Scan(&x.Ref, &x.PersonID, &x.Method, &x.Stage, &x.Addr, &x.UserAgent, &x.CreatedAt, &x.LastSeen, &x.ExpiresAt); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

func liveSessions(ctx context.Context, tx *Tx, personID int64, pol SessionPolicy) ([]identity.LiveSession, error) {
	rows, err := tx.Query(ctx, `SELECT ref, addr, user_agent, last_seen_at FROM sessions WHERE person_id = $1 AND ended_at IS NULL AND stage = 'full' AND expires_at > $2 AND last_seen_at > $3`,
		personID, tx.Now, tx.Now.Add(-pol.Idle))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.LiveSession
	for rows.Next() {
		var l identity.LiveSession
		if err := rows.Scan(&l.ID, &l.Addr, &l.UserAgent, &l.LastSeen); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

func recentSignIns(ctx context.Context, tx *Tx, personID int64, since time.Time) ([]identity.SignIn, error) {
	rows, err := tx.Query(ctx, `SELECT at, addr, user_agent, method FROM sign_ins WHERE person_id = $1 AND at >= $2 ORDER BY at`, personID, since)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.SignIn
	for rows.Next() {
		in := identity.SignIn{PersonID: personID}
		if err := rows.Scan(&in.At, &in.Addr, &in.UserAgent, &in.Method); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// A StoredSignal is a recorded shared-use signal.
type StoredSignal struct {
	ID       int64
	PersonID int64
	At       time.Time
	identity.Signal
}

// Signals lists shared-use signals by may see, newest first.
func (s *Identity) Signals(ctx context.Context, by auth.Principal, limit int) ([]StoredSignal, error) {
	comps, all := by.Components(auth.SignalsRead)
	if !all && len(comps) == 0 {
		return nil, fault.New(fault.Forbidden, "your role does not allow seeing shared-use signals")
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	// Filter by component in SQL, before the limit: filtering afterwards
	// gave a one-component reader only what survived of the newest rows of
	// every component.
	var w where
	if !all {
		w.add(w.in("p.component", comps))
	}
	query := `SELECT g.id, g.person_id, g.at, g.kind, g.explanation, g.evidence FROM shared_use_signals g JOIN people p ON p.id = g.person_id` +
		w.String() + ` ORDER BY g.at DESC, g.id DESC LIMIT ` + w.arg(limit)
	rows, err := s.db.read.QueryContext(ctx, query, w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StoredSignal
	for rows.Next() {
		var x StoredSignal
		var ev string
		if err := rows.Scan(&x.ID, &x.PersonID, &x.At, &x.Kind, &x.Explanation, &ev); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(ev), &x.Evidence)
		out = append(out, x)
	}
	return out, rows.Err()
}

// A Token is a personal API token's record (never its secret).
type Token struct {
	ID         int64
	PersonID   int64
	Name       string
	Scopes     []auth.Permission
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// TokenPrefix starts every personal API token, so that secret scanners
// recognize a leaked one.
const TokenPrefix = "prb_"

// MaxTokenLifetime bounds personal API tokens.
const MaxTokenLifetime = 90 * 24 * time.Hour

// CreateToken issues a personal API token for by; the secret is returned
// once and stored hashed.
func (s *Identity) CreateToken(ctx context.Context, by auth.Principal, name string, scopes []auth.Permission, lifetime time.Duration) (Token, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return Token{}, "", fault.New(fault.Invalid, "name the token (up to 100 characters), e.g. after the machine or pipeline that uses it")
	}
	if lifetime <= 0 || lifetime > MaxTokenLifetime {
		return Token{}, "", fault.New(fault.Invalid, "a token lasts from 1 to 90 days")
	}
	if len(scopes) == 0 {
		return Token{}, "", fault.New(fault.Invalid, "give the token at least one scope")
	}
	for _, sc := range scopes {
		if !by.Can(sc) {
			return Token{}, "", fault.New(fault.Forbidden, "you cannot give a token the scope %q, which your roles do not hold", sc)
		}
	}
	raw, hash := newSecret()
	secret := TokenPrefix + raw
	hash = HashSecret(secret)
	t := Token{PersonID: by.PersonID, Name: name, Scopes: scopes}
	err := s.db.Update(ctx, func(tx *Tx) error {
		sc, _ := json.Marshal(scopes)
		t.CreatedAt, t.ExpiresAt = tx.Now, tx.Now.Add(lifetime)
		if err := tx.QueryRow(ctx, `INSERT INTO api_tokens (person_id, name, token_hash, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			by.PersonID, name, hash, string(sc), tx.Now, t.ExpiresAt).Scan(&t.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "auth.token_created", by.Component, personSubject(by.PersonID), map[string]any{
			"token_id": t.ID, "name": name, "scopes": scopeStrings(scopes), "expires_at": t.ExpiresAt.Format(time.RFC3339),
		})
	})
	return t, secret, err
}

func scopeStrings(s []auth.Permission) []string {
	out := make([]string, len(s))
	for i, p := range s {
		out[i] = string(p)
	}
	return out
}

// TokenPrincipal resolves a personal API token to its principal, limited
// to the token's scopes.
func (s *Identity) TokenPrincipal(ctx context.Context, secret string) (Authenticated, error) {
	var a Authenticated
	if !strings.HasPrefix(secret, TokenPrefix) {
		return a, fault.New(fault.Unauthenticated, "the credential is not valid")
	}
	var id, personID int64
	var scopes string
	var expires time.Time
	var revoked sql.NullTime
	err := s.db.read.QueryRowContext(ctx, `SELECT id, person_id, scopes, expires_at, revoked_at FROM api_tokens WHERE token_hash = $1`, HashSecret(secret)).Scan(&id, &personID, &scopes, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) || revoked.Valid || (err == nil && !s.db.now().Before(expires)) {
		return a, fault.New(fault.Unauthenticated, "the credential is not valid, has expired or was revoked")
	}
	if err != nil {
		return a, err
	}
	p, err := s.person(ctx, s.db.read, personID)
	if err != nil {
		return a, err
	}
	if p.Status != identity.Active {
		return a, fault.New(fault.Unauthenticated, "the credential is not valid, has expired or was revoked")
	}
	grants, err := s.grants(ctx, s.db.read, personID)
	if err != nil {
		return a, err
	}
	a.Person = p
	a.Principal = identity.Principal(p, grants)
	a.Principal.SessionID = fmt.Sprintf("token/%d", id)
	var sc []auth.Permission
	json.Unmarshal([]byte(scopes), &sc)
	a.Principal.Scopes = append([]auth.Permission{}, sc...)
	a.Touch = true
	return a, nil
}

// TouchToken records a token's use.
func (s *Identity) TouchToken(ctx context.Context, secret string) error {
	_, err := s.db.write.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2`, s.db.now(), HashSecret(secret))
	return err
}

// Tokens lists a person's tokens.
func (s *Identity) Tokens(ctx context.Context, personID int64) ([]Token, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, person_id, name, scopes, created_at, expires_at, last_used_at, revoked_at FROM api_tokens WHERE person_id = $1 ORDER BY id DESC`, personID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		var sc string
		var used, rev sql.NullTime
		if err := rows.Scan(&t.ID, &t.PersonID, &t.Name, &sc, &t.CreatedAt, &t.ExpiresAt, &used, &rev); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(sc), &t.Scopes)
		t.LastUsedAt, t.RevokedAt = used.Time, rev.Time
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes one of by's tokens (or, for those allowed to end
// others' access, anyone's).
func (s *Identity) RevokeToken(ctx context.Context, by auth.Principal, id int64) error {
	return s.db.Update(ctx, func(tx *Tx) error {
		var owner int64
		var revoked sql.NullTime
		err := tx.QueryRow(ctx, `SELECT person_id, revoked_at FROM api_tokens WHERE id = $1`, id).Scan(&owner, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.New(fault.NotFound, "there is no token %d", id)
		}
		if err != nil {
			return err
		}
		p, err := s.person(ctx, txQueryer{tx}, owner)
		if err != nil {
			return err
		}
		if owner != by.PersonID && !by.CanIn(auth.SessionsRevoke, p.Component) {
			return fault.New(fault.NotFound, "there is no token %d", id)
		}
		if revoked.Valid {
			return fault.New(fault.Conflict, "token %d is already revoked", id)
		}
		if _, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE id = $2`, tx.Now, id); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "auth.token_revoked", p.Component, personSubject(owner), map[string]any{"token_id": id})
	})
}

// A ThrottlePolicy limits failed sign-ins.
type ThrottlePolicy struct {
	Window      time.Duration // failures count within this window
	MaxAccount  int           // failures per account before a lockout
	MaxAddr     int           // failures per client address before a lockout
	LockoutTime time.Duration
}

// DefaultThrottlePolicy: 5 failures per account or 20 per address within
// 15 minutes lock that account or address out for 15 minutes.
var DefaultThrottlePolicy = ThrottlePolicy{Window: 15 * time.Minute, MaxAccount: 5, MaxAddr: 20, LockoutTime: 15 * time.Minute}

// Throttled reports whether any of the keys is locked out now, and until
// when.
func (s *Identity) Throttled(ctx context.Context, keys ...string) (time.Time, error) {
	var until time.Time
	for _, k := range keys {
		var lu sql.NullTime
		err := s.db.read.QueryRowContext(ctx, `SELECT locked_until FROM auth_throttle WHERE key = $1`, k).Scan(&lu)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return until, err
		}
		if lu.Valid && lu.Time.After(s.db.now()) && lu.Time.After(until) {
			until = lu.Time
		}
	}
	return until, nil
}

// A Failure is a refused authentication attempt to record.
type Failure struct {
	PersonID  int64  // 0 when the account is unknown
	Attempted string // what was typed as the account; recorded by digest only
	Addr      string
	UserAgent string
	Method    string
	Reason    string // bad_password, bad_second_factor, replayed_second_factor, account_not_active, unknown_account, bad_credential, unknown_certificate, bad_certificate, sso_refused
	// Detail says more about the reason (for sso_refused: bad_signature,
	// wrong_audience, nonce_mismatch, …): a fixed label, never text an
	// attacker chose.
	Detail string
	// ThrottleKeys are the counters the failure counts against: "addr:…"
	// keys against the per-address limit, others against the per-account
	// one.
	ThrottleKeys []string
}

// RecordFailure counts a failed attempt against the account and the
// address, locking them out past the policy's limits, and records it in
// the ledger. It returns whether a lockout began.
func (s *Identity) RecordFailure(ctx context.Context, f Failure, pol ThrottlePolicy) (bool, error) {
	locked := false
	err := s.db.Update(ctx, func(tx *Tx) error {
		type limit struct {
			key string
			max int
		}
		var keys []limit
		for _, k := range f.ThrottleKeys {
			max := pol.MaxAccount
			if strings.HasPrefix(k, "addr:") {
				max = pol.MaxAddr
			}
			keys = append(keys, limit{k, max})
		}
		for _, k := range keys {
			var n int
			var start time.Time
			err := tx.QueryRow(ctx, `SELECT failures, window_start FROM auth_throttle WHERE key = $1`, k.key).Scan(&n, &start)
			switch {
			case errors.Is(err, sql.ErrNoRows) || (err == nil && tx.Now.Sub(start) > pol.Window):
				n, start = 0, tx.Now
			case err != nil:
				return err
			}
			n++
			var until any
			if n >= k.max {
				until = tx.Now.Add(pol.LockoutTime)
				locked = true
				n = 0 // a new window starts after the lockout
			}
			if _, err := tx.Exec(ctx, `INSERT INTO auth_throttle (key, failures, window_start, locked_until) VALUES ($1, $2, $3, $4)
				ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start,
				locked_until = COALESCE(excluded.locked_until, auth_throttle.locked_until)`, k.key, n, start, until); err != nil {
				return err
			}
		}
		subject, component := "account/unknown", ""
		var actor ledger.Actor
		if f.PersonID != 0 {
			p, err := s.person(ctx, txQueryer{tx}, f.PersonID)
			if err != nil {
				return err
			}
			subject, component = personSubject(f.PersonID), p.Component
			actor = ledger.Actor{Kind: ledger.ActorUser, ID: p.EmployeeID}
		} else {
			actor = ledger.Actor{Kind: ledger.ActorSystem, ID: "anonymous"}
		}
		data := map[string]any{"method": f.Method, "reason": f.Reason, "addr": f.Addr, "lockout": locked}
		if f.Detail != "" {
			data["detail"] = f.Detail
		}
		var digest string
		if f.Attempted != "" {
			// What someone typed as an account may be a password typed in the
			// wrong field: only its digest is recorded.
			digest = ledger.PayloadDigest([]byte(strings.ToLower(f.Attempted)))
		}
		_, err := s.db.ledger.Append(ctx, tx, ledger.Event{Type: "auth.sign_in_refused", Actor: actor, Component: component, Subject: subject, Data: data, Digest: digest})
		return err
	})
	return locked, err
}

// ClearFailures resets failure counters after a success.
func (s *Identity) ClearFailures(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if _, err := s.db.write.ExecContext(ctx, `DELETE FROM auth_throttle WHERE key = $1 AND (locked_until IS NULL OR locked_until < $2)`, k, s.db.now()); err != nil {
			return err
		}
	}
	return nil
}

// ConsumeSecondFactor records a second factor's use outside a sign-in (a
// token issued with password and code), refusing a replay.
func (s *Identity) ConsumeSecondFactor(ctx context.Context, personID int64, f SecondFactor) error {
	return s.db.Update(ctx, func(tx *Tx) error { return useSecondFactor(ctx, tx, personID, f) })
}
