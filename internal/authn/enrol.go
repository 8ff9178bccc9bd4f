package authn

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/store"
)

// An Enrolment is the second-factor setup offered to an invited person.
type Enrolment struct {
	Person identity.Person
	// TOTPSecret and TOTPURI are shown to the person, to enter or scan into
	// an authenticator app.
	TOTPSecret string
	TOTPURI    string
	// Sealed carries the secret through the form, sealed so that it cannot
	// be altered on the way.
	Sealed string
}

func enrolWhat(invitation string) string {
	return "enrol/" + hex.EncodeToString(store.HashSecret(invitation))
}

// BeginEnrolment checks an enrolment link and prepares a new TOTP secret.
func (s *Service) BeginEnrolment(ctx context.Context, invitation string) (Enrolment, error) {
	p, err := s.ids.InvitedPerson(ctx, invitation)
	if err != nil {
		return Enrolment{}, err
	}
	secret, uri, err := NewTOTP(s.cfg.Issuer, p.EmployeeID)
	if err != nil {
		return Enrolment{}, err
	}
	sealed := base64.RawURLEncoding.EncodeToString(s.cfg.Secrets.Seal([]byte(secret), enrolWhat(invitation)))
	return Enrolment{Person: p, TOTPSecret: secret, TOTPURI: uri, Sealed: sealed}, nil
}

// OpenEnrolmentSecret opens the TOTP secret an enrolment form carried.
func (s *Service) OpenEnrolmentSecret(invitation, sealedSecret string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealedSecret)
	if err != nil {
		return "", err
	}
	b, err := s.cfg.Secrets.Open(raw, enrolWhat(invitation))
	return string(b), err
}

// CompleteEnrolment activates an invited account: the password must meet
// the password rules and the code must come from the enrolled
// authenticator. It returns the one-time recovery codes, to show once.
func (s *Service) CompleteEnrolment(ctx context.Context, invitation, password, sealedSecret, code string) (identity.Person, []string, error) {
	p, err := s.ids.InvitedPerson(ctx, invitation)
	if err != nil {
		return p, nil, err
	}
	if err := identity.CheckPassword(password, p, s.cfg.Blocklist); err != nil {
		return p, nil, err
	}
	raw, err := base64.RawURLEncoding.DecodeString(sealedSecret)
	if err != nil {
		return p, nil, fault.New(fault.Invalid, "the enrolment form was altered; start again from the link")
	}
	secret, err := s.cfg.Secrets.Open(raw, enrolWhat(invitation))
	if err != nil {
		return p, nil, fault.New(fault.Invalid, "the enrolment form was altered; start again from the link")
	}
	step, ok := CheckTOTP(string(secret), code, time.Now())
	if !ok {
		return p, nil, fault.New(fault.Invalid, "the code from your authenticator app is not correct; check that your phone's clock is right and enter the current code")
	}
	codes, hashes := NewRecoveryCodes(RecoveryCodeCount)
	p, err = s.ids.Activate(ctx, invitation, store.Enrolment{
		PasswordHash: HashPassword(password, s.cfg.Password),
		TOTPSealed:   s.cfg.Secrets.Seal(secret, totpWhat(p.ID)),
		TOTPStep:     step,
		RecoveryHash: hashes,
	})
	if err != nil {
		return p, nil, err
	}
	return p, codes, nil
}

// ChangePassword changes a signed-in person's password after checking the
// current one; their other sessions end.
func (s *Service) ChangePassword(ctx context.Context, personID int64, by auth.Principal, current, next string, c Client) error {
	creds, err := s.ids.Credentials(ctx, personID)
	if err != nil {
		return err
	}
	if ok, _ := VerifyPassword(current, creds.PasswordHash); !ok || creds.PasswordHash == "" {
		f := store.Failure{PersonID: personID, Addr: c.Addr, UserAgent: c.UserAgent, Method: "password_change", Reason: "bad_password", ThrottleKeys: []string{addrKey(c.Addr)}}
		return s.fail(ctx, f, fault.New(fault.Unauthenticated, "the current password is not correct"))
	}
	if err := identity.CheckPassword(next, creds.Person, s.cfg.Blocklist); err != nil {
		return err
	}
	return s.ids.SetPassword(ctx, by, HashPassword(next, s.cfg.Password))
}

// NewRecoveryCodesFor replaces a person's recovery codes and returns the
// new ones, to show once.
func (s *Service) NewRecoveryCodesFor(ctx context.Context, by auth.Principal) ([]string, error) {
	codes, hashes := NewRecoveryCodes(RecoveryCodeCount)
	return codes, s.ids.ReplaceRecoveryCodes(ctx, by, hashes)
}
