package sealed

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func mustKey(t *testing.T) *Key {
	t.Helper()
	k, err := ParseKey(GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKey_SealOpen(t *testing.T) {
	k := mustKey(t)
	s := k.Seal([]byte("JBSWY3DPEHPK3PXP"), "totp/42")
	if bytes.Contains(s, []byte("JBSWY3DPEHPK3PXP")) {
		t.Fatal("plaintext visible in the sealed value")
	}
	got, err := k.Open(s, "totp/42")
	if err != nil || string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if bytes.Equal(s, k.Seal([]byte("JBSWY3DPEHPK3PXP"), "totp/42")) {
		t.Fatal("sealing twice gave the same bytes (nonce reuse)")
	}
	for _, tc := range []struct {
		name string
		key  *Key
		s    []byte
		what string
	}{
		{"ErrOtherRow", k, s, "totp/43"},
		{"ErrOtherKey", mustKey(t), s, "totp/42"},
		{"ErrFlipped", k, append(append([]byte(nil), s[:len(s)-1]...), s[len(s)-1]^1), "totp/42"},
		{"ErrShort", k, s[:10], "totp/42"},
		{"ErrEmpty", k, nil, "totp/42"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.key.Open(tc.s, tc.what); !errors.Is(err, ErrOpen) {
				t.Fatalf("Open = %v; want ErrOpen", err)
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"ErrEmpty", "", "no key"},
		{"ErrJunk", "hello\n", "unrecognized line"},
		{"ErrShort", keyPrefix + "AAAA\n", "32 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseKey([]byte(tc.text)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseKey = %v; want %q", err, tc.want)
			}
		})
	}
}

func FuzzOpen(f *testing.F) {
	k, _ := ParseKey(GenerateKey())
	f.Add(k.Seal([]byte("x"), "a"), "a")
	f.Fuzz(func(t *testing.T, b []byte, what string) {
		if pt, err := k.Open(b, what); err == nil {
			// Only values this key sealed open; re-sealing round-trips.
			if got, err := k.Open(k.Seal(pt, what), what); err != nil || !bytes.Equal(got, pt) {
				t.Fatal("round trip failed")
			}
		}
	})
}

func TestKey_Derive(t *testing.T) {
	a, err := ParseKey(GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseKey(GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	x := a.Derive("device-tag")
	switch {
	case len(x) != 32:
		t.Fatalf("derived %d bytes, want 32", len(x))
	case !bytes.Equal(x, a.Derive("device-tag")):
		t.Fatal("the same purpose derived two keys")
	case bytes.Equal(x, a.Derive("other")):
		t.Fatal("two purposes derived the same key")
	case bytes.Equal(x, b.Derive("device-tag")):
		t.Fatal("two secrets keys derived the same key")
	}
}
