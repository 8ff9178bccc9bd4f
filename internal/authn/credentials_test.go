package authn

import (
	"strings"
	"testing"
	"time"
)

// fast keeps unit tests quick; DefaultPasswordParams are measured in the
// benchmarks.
var fast = PasswordParams{Time: 1, MemoryKiB: 1024, Threads: 1}

func TestPassword(t *testing.T) {
	h := HashPassword("tulip orbit granite seven", fast)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if h == HashPassword("tulip orbit granite seven", fast) {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, tc := range []struct {
		name, pw string
		ok       bool
	}{
		{"OK", "tulip orbit granite seven", true},
		{"OKNormalized", "tulip orbit granite seven", true},
		{"ErrWrong", "tulip orbit granite eight", false},
		{"ErrCase", "Tulip orbit granite seven", false},
		{"ErrEmpty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := VerifyPassword(tc.pw, h)
			if err != nil || ok != tc.ok {
				t.Fatalf("VerifyPassword = %v, %v", ok, err)
			}
		})
	}
	t.Run("NFKC", func(t *testing.T) {
		// "ﬁ" (U+FB01) is "fi" after NFKC: the same password typed on
		// another keyboard still matches.
		h := HashPassword("office fields forever", fast)
		if ok, _ := VerifyPassword("oﬃce ﬁelds forever", h); !ok {
			t.Fatal("a compatibility-equivalent password does not match")
		}
	})
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=1024,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$c2hvcnQ"} {
		if _, err := VerifyPassword("x", bad); err != ErrBadHash {
			t.Errorf("VerifyPassword(_, %q) = %v; want ErrBadHash", bad, err)
		}
	}
}

func FuzzVerifyPassword(f *testing.F) {
	f.Add(HashPassword("x", fast))
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, encoded string) {
		p, _, _, err := parseHash(encoded)
		if err != nil {
			return
		}
		// A parsable hash never asks for an unbounded amount of work.
		if p.MemoryKiB > 1<<22 || p.Time > 100 || p.Threads > 64 {
			t.Fatalf("accepted costly parameters %+v", p)
		}
		if p.MemoryKiB*uint32(p.Time) <= 64<<10 {
			VerifyPassword("x", encoded)
		}
	})
}

func TestTOTP(t *testing.T) {
	secret, uri, err := NewTOTP("Probity", "cbp-analyst1")
	if err != nil || !strings.HasPrefix(uri, "otpauth://totp/Probity:cbp-analyst1?") || !strings.Contains(uri, "secret="+secret) {
		t.Fatalf("NewTOTP = %q, %q, %v", secret, uri, err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 15, 0, time.UTC)
	code, _ := TOTPCode(secret, now)
	step, ok := CheckTOTP(secret, code, now)
	if !ok || step != now.Unix()/30 {
		t.Fatalf("CheckTOTP(current) = %d, %v", step, ok)
	}
	for _, tc := range []struct {
		name string
		at   time.Duration
		ok   bool
	}{
		{"OKPreviousStep", -30 * time.Second, true},
		{"OKNextStep", 30 * time.Second, true},
		{"ErrTwoStepsOld", -61 * time.Second, false},
		{"ErrTwoStepsAhead", 61 * time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := TOTPCode(secret, now.Add(tc.at))
			if _, ok := CheckTOTP(secret, c, now); ok != tc.ok {
				t.Fatalf("CheckTOTP = %v", ok)
			}
		})
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := CheckTOTP(secret, bad, now); ok {
			t.Errorf("CheckTOTP(%q) succeeded", bad)
		}
	}
	if _, ok := CheckTOTP(secret, " "+code[:3]+" "+code[3:]+" ", now); !ok {
		t.Error("a code typed with spaces is refused")
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, hashes := NewRecoveryCodes(RecoveryCodeCount)
	if len(codes) != RecoveryCodeCount || len(hashes) != RecoveryCodeCount {
		t.Fatalf("%d codes, %d hashes", len(codes), len(hashes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if len(c) != 11 || c[5] != '-' || seen[c] {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
		if !looksLikeRecoveryCode(c) {
			t.Fatalf("%q does not look like a recovery code", c)
		}
		if string(HashRecoveryCode(strings.ToLower(strings.ReplaceAll(c, "-", " ")))) != string(hashes[i]) {
			t.Fatalf("code %q typed differently hashes differently", c)
		}
	}
	if looksLikeRecoveryCode("123456") {
		t.Fatal("a TOTP code looks like a recovery code")
	}
}
