// Package sealed encrypts secrets the database must keep but must not
// reveal — TOTP seeds, vendor credentials — under a key-encryption key kept
// outside the database, with AES-256-GCM. Each sealed value is bound to
// what it is (associated data such as "totp/42"), so a value copied into
// another row does not open.
package sealed

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

const (
	version   = 1
	keyPrefix = "PROBITY-SECRETS-KEY-V1+"
	idLen     = 4
	nonceLen  = 12
)

// A Key seals and opens secrets.
type Key struct {
	id      [idLen]byte
	aead    cipher.AEAD
	derived [sha256.Size]byte // the root of keys derived for other purposes
}

// ErrOpen reports a sealed value that does not open: a wrong key, a value
// changed or moved, or not a sealed value at all.
var ErrOpen = errors.New("sealed value does not open with this key")

// GenerateKey returns the text of a new key file.
func GenerateKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return fmt.Appendf(nil, "# Probity secrets key: encrypts secrets kept in the database. Keep it secret; back it up apart from the database.\n%s%s\n", keyPrefix, base64.StdEncoding.EncodeToString(k))
}

// ParseKey parses a key file.
func ParseKey(text []byte) (*Key, error) {
	for line := range strings.Lines(string(text)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		enc, ok := strings.CutPrefix(line, keyPrefix)
		if !ok {
			return nil, errors.New("secrets key: unrecognized line (expected " + keyPrefix + "…)")
		}
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(raw) != 32 {
			return nil, errors.New("secrets key: not 32 bytes of base64")
		}
		return newKey(raw)
	}
	return nil, errors.New("secrets key: no key in the file")
}

func newKey(raw []byte) (*Key, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	k := &Key{aead: aead}
	sum := sha256.Sum256(append([]byte("probity secrets key id\x00"), raw...))
	copy(k.id[:], sum[:])
	mac := hmac.New(sha256.New, raw)
	mac.Write([]byte("probity derived keys v1"))
	mac.Sum(k.derived[:0])
	return k, nil
}

// Derive returns a 32-byte key for purpose (e.g. "device-tag"), derived
// from the secrets key one way: the same key and purpose always give the
// same key, different purposes unrelated keys, and a derived key reveals
// nothing of the secrets key. A new secrets key derives new keys.
func (k *Key) Derive(purpose string) []byte {
	mac := hmac.New(sha256.New, k.derived[:])
	mac.Write([]byte(purpose))
	return mac.Sum(nil)
}

// ID returns a short public identifier of the key, to tell keys apart.
func (k *Key) ID() string { return hex.EncodeToString(k.id[:]) }

// Seal encrypts plaintext bound to what (e.g. "totp/42").
func (k *Key) Seal(plaintext []byte, what string) []byte {
	out := make([]byte, 0, 1+idLen+nonceLen+len(plaintext)+k.aead.Overhead())
	out = append(out, version)
	out = append(out, k.id[:]...)
	nonce := make([]byte, nonceLen)
	rand.Read(nonce)
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plaintext, []byte(what))
}

// Open decrypts a value sealed for what.
func (k *Key) Open(sealed []byte, what string) ([]byte, error) {
	if len(sealed) < 1+idLen+nonceLen+k.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	if !bytes.Equal(sealed[1:1+idLen], k.id[:]) {
		return nil, fmt.Errorf("%w: it was sealed with key %x, not %s", ErrOpen, sealed[1:1+idLen], k.ID())
	}
	nonce := sealed[1+idLen : 1+idLen+nonceLen]
	pt, err := k.aead.Open(nil, nonce, sealed[1+idLen+nonceLen:], []byte(what))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
