// Package authn authenticates people: passwords (argon2id), TOTP second
// factors and recovery codes, sign-in with rate limiting and lockout,
// server-side sessions, personal API tokens, single sign-on (OIDC) and
// PIV/CAC certificates; and it resolves each HTTP request to the principal
// it acts as.
package authn

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/argon2"

	"github.com/probity-dev/probity/internal/identity"
)

// PasswordParams are argon2id's cost parameters.
type PasswordParams struct {
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8
}

// DefaultPasswordParams are tuned so that one verification takes 50–100 ms
// on a server core (see docs/benchmarks.md): RFC 9106's second
// recommendation scaled to that budget.
var DefaultPasswordParams = PasswordParams{Time: 2, MemoryKiB: 64 << 10, Threads: 2}

const saltLen, keyLen = 16, 32

// HashPassword returns the argon2id hash of a password in the PHC string
// format: $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func HashPassword(pw string, p PasswordParams) string {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(identity.NormalizePassword(pw)), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// ErrBadHash reports a stored hash that cannot be parsed.
var ErrBadHash = errors.New("stored password hash is malformed")

// VerifyPassword reports whether pw matches the encoded hash, in constant
// time.
func VerifyPassword(pw, encoded string) (bool, error) {
	p, salt, want, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(identity.NormalizePassword(pw)), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func parseHash(encoded string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, ErrBadHash
	}
	var m, t, th uint64
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil || m < 8 || m > 1<<22 || t < 1 || t > 100 || th < 1 || th > 64 {
		return p, nil, nil, ErrBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, ErrBadHash
	}
	return PasswordParams{Time: uint32(t), MemoryKiB: uint32(m), Threads: uint8(th)}, salt, key, nil
}

// dummyHash is verified against when the account does not exist, so that
// an unknown account costs the same time as a wrong password.
func dummyHash(p PasswordParams) string { return HashPassword("probity dummy password", p) }

// TOTP parameters: RFC 6238 defaults, which every authenticator app reads.
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	totpSkew   = 1 // accept the previous and next code too (clock drift)
)

// NewTOTP returns a new TOTP secret (base32) and its otpauth:// URI for an
// authenticator app.
func NewTOTP(issuer, account string) (secret, uri string, err error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1, SecretSize: 20})
	if err != nil {
		return "", "", err
	}
	return k.Secret(), k.URL(), nil
}

// CheckTOTP reports whether code is valid for secret at now, and the time
// step it belongs to (for replay protection: a step may be used once).
func CheckTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != int(totpDigits) {
		return 0, false
	}
	base := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		s := base + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*totpPeriod, 0), totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// TOTPCode returns the code for secret at t (for demo data and tests; a
// person's own authenticator computes it otherwise).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
}

// RecoveryCodeCount is how many recovery codes a person gets.
const RecoveryCodeCount = 10

var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewRecoveryCodes returns one-time recovery codes ("XXXXX-XXXXX", 50 bits
// each) and the hashes that are stored instead of them.
func NewRecoveryCodes(n int) (codes []string, hashes [][]byte) {
	for range n {
		b := make([]byte, 7)
		rand.Read(b)
		s := recoveryEncoding.EncodeToString(b)[:10]
		codes = append(codes, s[:5]+"-"+s[5:])
		hashes = append(hashes, HashRecoveryCode(s))
	}
	return codes, hashes
}

// HashRecoveryCode returns the stored form of a recovery code, however it
// was typed (case, dashes, spaces).
func HashRecoveryCode(code string) []byte {
	c := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	h := sha256.Sum256([]byte("probity recovery code\x00" + c))
	return h[:]
}

// looksLikeRecoveryCode reports whether what someone typed as a second
// factor is a recovery code rather than a TOTP code.
func looksLikeRecoveryCode(s string) bool {
	c := strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(s))
	return len(c) == 10
}
