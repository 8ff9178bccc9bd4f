package ledger

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// A MACKey authenticates stored records. Hashes alone cannot show that a
// record after the latest signed checkpoint was written by Probity: anyone
// with write access to the database can append a record with correct hashes.
// Each stored record therefore carries HMAC-SHA256(key, index ‖ record hash),
// which only a holder of the key can compute, and verification pins a
// forged, moved or rewritten record to its exact index.
type MACKey []byte

// Sum returns the MAC of the record at index with the given record hash.
func (k MACKey) Sum(index int64, recordHash tlog.Hash) []byte {
	m := hmac.New(sha256.New, k)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(index))
	m.Write(b[:])
	m.Write(recordHash[:])
	return m.Sum(nil)
}

// Check reports whether mac is the MAC of the record, in constant time.
func (k MACKey) Check(index int64, recordHash tlog.Hash, mac []byte) bool {
	return hmac.Equal(k.Sum(index, recordHash), mac)
}

// A macChecker is [MACKey.Check] with one keyed hash reused for every
// record, for verifying many; it is not safe for concurrent use.
type macChecker struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

func (k MACKey) checker() *macChecker { return &macChecker{h: hmac.New(sha256.New, k)} }

func (c *macChecker) check(index int64, recordHash tlog.Hash, mac []byte) bool {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(index))
	c.h.Reset()
	c.h.Write(b[:])
	c.h.Write(recordHash[:])
	return hmac.Equal(c.h.Sum(c.sum[:0]), mac)
}

// Keys is the secret key material of a ledger: the checkpoint signing key
// and the record MAC key. It is kept in one file, outside the database.
type Keys struct {
	Signing Key
	MAC     MACKey
	// SigningKey is the signing key in signed-note format, kept so that the
	// file can be written back.
	SigningKey string
}

const keysHeader = "# Probity ledger keys: the checkpoint signing key and the record MAC key.\n# Keep this file secret and back it up apart from the database.\n"

// GenerateKeys returns new ledger keys for the given origin.
func GenerateKeys(origin string) (Keys, error) {
	skey, _, err := GenerateKey(origin)
	if err != nil {
		return Keys{}, err
	}
	k, err := ParseKey(skey)
	if err != nil {
		return Keys{}, err
	}
	mac := make([]byte, 32)
	if _, err := rand.Read(mac); err != nil {
		return Keys{}, err
	}
	return Keys{Signing: k, MAC: mac, SigningKey: skey}, nil
}

// Marshal returns the key file's contents.
func (k Keys) Marshal() []byte {
	return fmt.Appendf(nil, "%s%s\nMAC+%s\n", keysHeader, k.SigningKey, base64.StdEncoding.EncodeToString(k.MAC))
}

// ParseKeys parses a key file written by [Keys.Marshal].
func ParseKeys(text []byte) (Keys, error) {
	var k Keys
	for line := range strings.Lines(string(text)) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "PRIVATE+KEY+"):
			if k.SigningKey != "" {
				return Keys{}, errors.New("ledger keys: more than one signing key")
			}
			sk, err := ParseKey(line)
			if err != nil {
				return Keys{}, err
			}
			k.Signing, k.SigningKey = sk, line
		case strings.HasPrefix(line, "MAC+"):
			mac, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(line, "MAC+"))
			if err != nil || len(mac) != 32 {
				return Keys{}, errors.New("ledger keys: the MAC key is not 32 bytes of base64")
			}
			k.MAC = mac
		default:
			return Keys{}, errors.New("ledger keys: unrecognized line (expected PRIVATE+KEY+… or MAC+…)")
		}
	}
	if k.SigningKey == "" {
		return Keys{}, errors.New("ledger keys: no signing key")
	}
	if k.MAC == nil {
		return Keys{}, errors.New("ledger keys: no MAC key")
	}
	return k, nil
}
