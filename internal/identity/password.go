package identity

import (
	"bufio"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/probity-dev/probity/internal/fault"
)

// Password rules follow NIST SP 800-63B: at least 12 characters, no
// composition rules, no hints, checked against a blocklist of common and
// compromised passwords and against the person's own identifiers.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 128
)

// A Blocklist holds passwords that may not be used, compared
// case-insensitively after Unicode normalization.
type Blocklist map[string]bool

// ReadBlocklist reads one password per line; blank lines and lines starting
// with # are ignored.
func ReadBlocklist(r io.Reader) (Blocklist, error) {
	b := Blocklist{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		b[foldPassword(line)] = true
	}
	return b, sc.Err()
}

// DefaultBlocklist holds passwords that are refused even without a
// configured blocklist file.
func DefaultBlocklist() Blocklist {
	b := Blocklist{}
	for _, s := range []string{
		"passwordpassword", "password1234", "password12345", "password123456", "123456789012", "1234567890123",
		"qwertyuiopasdf", "qwerty123456", "iloveyou1234", "letmein12345", "welcome12345", "changeme1234",
		"administrator", "administrator1", "correcthorsebatterystaple", "aaaaaaaaaaaa", "abcdefghijkl",
		"probityprobity", "probity12345", "P@ssw0rd1234", "Password123!",
	} {
		b[foldPassword(s)] = true
	}
	return b
}

// NormalizePassword returns the form of a password that is hashed: Unicode
// NFKC, as SP 800-63B recommends, so that the same password typed on
// another keyboard still matches.
func NormalizePassword(pw string) string { return norm.NFKC.String(pw) }

func foldPassword(s string) string { return strings.ToLower(NormalizePassword(s)) }

// CheckPassword reports whether pw is acceptable for p, and why not.
func CheckPassword(pw string, p Person, block Blocklist) error {
	if !utf8.ValidString(pw) {
		return fault.New(fault.Invalid, "the password is not valid text")
	}
	n := utf8.RuneCountInString(NormalizePassword(pw))
	if n < MinPasswordLength {
		return fault.New(fault.Invalid, "the password must be at least %d characters long; a passphrase of several words is easiest to remember", MinPasswordLength)
	}
	if n > MaxPasswordLength {
		return fault.New(fault.Invalid, "the password must be at most %d characters long", MaxPasswordLength)
	}
	folded := foldPassword(pw)
	if block[folded] {
		return fault.New(fault.Invalid, "this password is too common or is known to have been exposed; choose another")
	}
	var own []string
	own = append(own, p.EmployeeID, p.Email)
	if local, _, ok := strings.Cut(p.Email, "@"); ok {
		own = append(own, local)
	}
	own = append(own, strings.Fields(p.Name)...)
	for _, id := range own {
		id = foldPassword(id)
		if len(id) >= 3 && strings.Contains(folded, id) {
			return fault.New(fault.Invalid, "the password must not contain your name, email or employee ID")
		}
	}
	if len(strings.Trim(folded, folded[:1])) == 0 {
		return fault.New(fault.Invalid, "the password must not be one character repeated")
	}
	return nil
}
