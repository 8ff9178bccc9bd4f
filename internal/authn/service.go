package authn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/store"
)

// Config configures authentication.
type Config struct {
	// Issuer names the installation in authenticator apps.
	Issuer    string
	Password  PasswordParams
	Throttle  store.ThrottlePolicy
	Session   store.SessionPolicy
	Blocklist identity.Blocklist
	// Secrets seals TOTP seeds in the database.
	Secrets *sealed.Key
	// Bootstrap authenticates the configured bootstrap credentials; may be
	// nil.
	Bootstrap *auth.BootstrapTokens
	// InactivityLimit suspends accounts unused for longer; 0 means 90 days.
	InactivityLimit time.Duration
	Logger          *slog.Logger
}

// A Service authenticates people and requests.
type Service struct {
	ids   *store.Identity
	cfg   Config
	dummy string
}

// New returns the authentication service over the identity store.
func New(ids *store.Identity, cfg Config) *Service {
	if cfg.Password == (PasswordParams{}) {
		cfg.Password = DefaultPasswordParams
	}
	if cfg.Throttle == (store.ThrottlePolicy{}) {
		cfg.Throttle = store.DefaultThrottlePolicy
	}
	if cfg.Session == (store.SessionPolicy{}) {
		cfg.Session = store.DefaultSessionPolicy
	}
	if cfg.Blocklist == nil {
		cfg.Blocklist = identity.DefaultBlocklist()
	}
	if cfg.InactivityLimit == 0 {
		cfg.InactivityLimit = identity.InactivityLimit
	}
	return &Service{ids: ids, cfg: cfg, dummy: dummyHash(cfg.Password)}
}

// SessionPolicy returns the session limits.
func (s *Service) SessionPolicy() store.SessionPolicy { return s.cfg.Session }

// errSignIn is the one answer to every first-factor failure, so that it
// does not reveal whether the account exists, is locked, or the password
// was wrong.
func errSignIn() error {
	return fault.New(fault.Unauthenticated, "the employee ID or password is not correct, or this account cannot sign in")
}

// accountKey is the throttle key for an attempted account name, the same
// whether or not the account exists.
func accountKey(account string) string {
	h := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(account))))
	return "account:" + hex.EncodeToString(h[:12])
}

func addrKey(addr string) string { return "addr:" + addr }

// A Client is where a request comes from.
type Client struct {
	Addr      string
	UserAgent string
}

// ClientOf returns the client of a request.
func ClientOf(r *http.Request) Client {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ua := r.UserAgent()
	if len(ua) > 300 {
		ua = ua[:300]
	}
	return Client{Addr: host, UserAgent: ua}
}

// throttled returns a rate-limit error when any key is locked out.
func (s *Service) throttled(ctx context.Context, keys ...string) error {
	until, err := s.ids.Throttled(ctx, keys...)
	if err != nil {
		return err
	}
	if !until.IsZero() {
		return fault.New(fault.RateLimited, "too many failed attempts; try again after %s UTC", until.UTC().Format("15:04"))
	}
	return nil
}

// fail records a failed attempt and returns the error to show.
func (s *Service) fail(ctx context.Context, f store.Failure, shown error) error {
	locked, err := s.ids.RecordFailure(ctx, f, s.cfg.Throttle)
	if err != nil {
		// The refusal could not be recorded: refuse anyway, and say the
		// service is unavailable rather than pretend it was recorded.
		return fault.Wrap(err, fault.Unavailable, "sign-in is unavailable right now")
	}
	if locked {
		return fault.New(fault.RateLimited, "too many failed attempts; try again in %d minutes", int(s.cfg.Throttle.LockoutTime.Minutes()))
	}
	return shown
}

// CheckPassword verifies the first factor. Every failure takes the same
// time and gives the same answer.
func (s *Service) CheckPassword(ctx context.Context, account, password string, c Client) (identity.Person, error) {
	keys := []string{accountKey(account), addrKey(c.Addr)}
	if err := s.throttled(ctx, keys...); err != nil {
		return identity.Person{}, err
	}
	failure := store.Failure{Attempted: account, Addr: c.Addr, UserAgent: c.UserAgent, Method: "password"}
	p, err := s.ids.PersonByEmployeeID(ctx, strings.TrimSpace(account))
	if errors.Is(err, store.ErrPersonNotFound) {
		VerifyPassword(password, s.dummy)
		failure.Reason = "unknown_account"
		return identity.Person{}, s.failAccount(ctx, failure, account, errSignIn())
	}
	if err != nil {
		return identity.Person{}, err
	}
	failure.PersonID = p.ID
	creds, err := s.ids.Credentials(ctx, p.ID)
	if err != nil {
		return identity.Person{}, err
	}
	hash := creds.PasswordHash
	if hash == "" {
		hash = s.dummy
	}
	ok, err := VerifyPassword(password, hash)
	if err != nil {
		s.cfg.Logger.Error("stored password hash is malformed", "person", p.ID)
		ok = false
	}
	switch {
	case !ok || creds.PasswordHash == "":
		failure.Reason = "bad_password"
	case p.Status != identity.Active:
		failure.Reason = "account_not_active"
	default:
		s.ids.ClearFailures(ctx, accountKey(account))
		return p, nil
	}
	return identity.Person{}, s.failAccount(ctx, failure, account, errSignIn())
}

// failAccount records a failure counted against the attempted account
// name (known or not) and the address.
func (s *Service) failAccount(ctx context.Context, f store.Failure, account string, shown error) error {
	f.ThrottleKeys = []string{accountKey(account), addrKey(f.Addr)}
	return s.fail(ctx, f, shown)
}

// BeginSignIn checks the password and starts the second-factor step; the
// returned secret identifies the pending sign-in.
func (s *Service) BeginSignIn(ctx context.Context, account, password string, c Client) (string, error) {
	p, err := s.CheckPassword(ctx, account, password, c)
	if err != nil {
		return "", err
	}
	return s.ids.StartMFA(ctx, p.ID, "password", c.Addr, c.UserAgent)
}

// errSecondFactor is the answer to a wrong TOTP or recovery code.
func errSecondFactor() error {
	return fault.New(fault.Unauthenticated, "the code is not correct")
}

// secondFactor checks a TOTP code or a recovery code for a person.
func (s *Service) secondFactor(ctx context.Context, personID int64, code string, c Client, method string) (*store.SecondFactor, error) {
	if err := s.throttled(ctx, fmt.Sprintf("person:%d", personID), addrKey(c.Addr)); err != nil {
		return nil, err
	}
	failure := store.Failure{PersonID: personID, Addr: c.Addr, UserAgent: c.UserAgent, Method: method, Reason: "bad_second_factor"}
	failure.ThrottleKeys = []string{fmt.Sprintf("person:%d", personID), addrKey(c.Addr)}
	if looksLikeRecoveryCode(code) {
		return &store.SecondFactor{RecoveryHash: HashRecoveryCode(code)}, nil
	}
	creds, err := s.ids.Credentials(ctx, personID)
	if err != nil {
		return nil, err
	}
	if creds.TOTPSealed == nil {
		return nil, s.fail(ctx, failure, errSecondFactor())
	}
	secret, err := s.cfg.Secrets.Open(creds.TOTPSealed, totpWhat(personID))
	if err != nil {
		return nil, fault.Wrap(err, fault.Internal, "the second factor cannot be checked; tell your administrator")
	}
	step, ok := CheckTOTP(string(secret), code, time.Now())
	if !ok {
		return nil, s.fail(ctx, failure, errSecondFactor())
	}
	return &store.SecondFactor{TOTPStep: step}, nil
}

func totpWhat(personID int64) string { return "totp/" + strconv.FormatInt(personID, 10) }

// FinishSignIn checks the second factor of a pending sign-in and starts a
// new session, ending the pending one (the session is rotated at sign-in).
func (s *Service) FinishSignIn(ctx context.Context, pending, code string, c Client) (store.SignInResult, error) {
	sess, err := s.ids.PendingMFA(ctx, pending)
	if err != nil {
		return store.SignInResult{}, err
	}
	f, err := s.secondFactor(ctx, sess.PersonID, code, c, sess.Method)
	if err != nil {
		return store.SignInResult{}, err
	}
	method := sess.Method
	if f.RecoveryHash != nil {
		method += "+recovery_code"
	}
	res, err := s.ids.StartSession(ctx, sess.PersonID, method, c.Addr, c.UserAgent, f, pending, s.cfg.Session)
	if errors.Is(err, store.ErrUnknownRecoveryCode) {
		failure := store.Failure{PersonID: sess.PersonID, Addr: c.Addr, UserAgent: c.UserAgent, Method: sess.Method, Reason: "bad_second_factor"}
		failure.ThrottleKeys = []string{fmt.Sprintf("person:%d", sess.PersonID), addrKey(c.Addr)}
		return res, s.fail(ctx, failure, errSecondFactor())
	}
	if errors.Is(err, store.ErrReplayed) {
		failure := store.Failure{PersonID: sess.PersonID, Addr: c.Addr, UserAgent: c.UserAgent, Method: sess.Method, Reason: "replayed_second_factor"}
		failure.ThrottleKeys = []string{fmt.Sprintf("person:%d", sess.PersonID), addrKey(c.Addr)}
		return res, s.fail(ctx, failure, fault.New(fault.Unauthenticated, "this code was already used; wait for the next one"))
	}
	if err != nil {
		return res, err
	}
	s.ids.ClearFailures(ctx, fmt.Sprintf("person:%d", sess.PersonID), addrKey(c.Addr))
	s.logSignals(res)
	return res, nil
}

func (s *Service) logSignals(res store.SignInResult) {
	for _, sig := range res.Signals {
		s.cfg.Logger.Warn("shared account suspected", "person", res.Session.PersonID, "kind", sig.Kind)
	}
}

// StartSessionFor starts a session for a person authenticated by other
// means (single sign-on with the identity provider's second factor, or a
// PIV certificate).
func (s *Service) StartSessionFor(ctx context.Context, personID int64, method string, c Client, replaces string) (store.SignInResult, error) {
	res, err := s.ids.StartSession(ctx, personID, method, c.Addr, c.UserAgent, nil, replaces, s.cfg.Session)
	if err == nil {
		s.logSignals(res)
	}
	return res, err
}

// IssueToken issues a personal API token after checking the password and
// the second factor together: how the command-line tool signs in.
func (s *Service) IssueToken(ctx context.Context, account, password, code, name string, scopes []auth.Permission, lifetime time.Duration, c Client) (store.Token, string, error) {
	p, err := s.CheckPassword(ctx, account, password, c)
	if err != nil {
		return store.Token{}, "", err
	}
	f, err := s.secondFactor(ctx, p.ID, code, c, "password")
	if err != nil {
		return store.Token{}, "", err
	}
	if err := s.ids.ConsumeSecondFactor(ctx, p.ID, *f); err != nil {
		if errors.Is(err, store.ErrUnknownRecoveryCode) {
			failure := store.Failure{PersonID: p.ID, Addr: c.Addr, UserAgent: c.UserAgent, Method: "password", Reason: "bad_second_factor"}
			failure.ThrottleKeys = []string{fmt.Sprintf("person:%d", p.ID), addrKey(c.Addr)}
			return store.Token{}, "", s.fail(ctx, failure, errSecondFactor())
		}
		if errors.Is(err, store.ErrReplayed) {
			failure := store.Failure{PersonID: p.ID, Addr: c.Addr, UserAgent: c.UserAgent, Method: "password", Reason: "replayed_second_factor"}
			failure.ThrottleKeys = []string{fmt.Sprintf("person:%d", p.ID), addrKey(c.Addr)}
			return store.Token{}, "", s.fail(ctx, failure, fault.New(fault.Unauthenticated, "this code was already used; wait for the next one"))
		}
		return store.Token{}, "", err
	}
	grants, err := s.ids.Grants(ctx, p.ID)
	if err != nil {
		return store.Token{}, "", err
	}
	pr := identity.Principal(p, grants)
	if len(scopes) == 0 {
		// By default a token may do what its owner may, except reach data.
		for _, perm := range auth.AllPermissions() {
			if pr.Can(perm) && perm != auth.DataAccess {
				scopes = append(scopes, perm)
			}
		}
		// Someone whose roles hold nothing but data access still gets a
		// token for their own account.
		if len(scopes) == 0 {
			scopes = []auth.Permission{auth.Self}
		}
	}
	s.ids.ClearFailures(ctx, fmt.Sprintf("person:%d", p.ID), addrKey(c.Addr))
	return s.ids.CreateToken(ctx, pr, name, scopes, lifetime)
}
