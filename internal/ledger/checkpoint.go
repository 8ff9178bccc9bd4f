package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A Checkpoint is the body of a C2SP tlog-checkpoint: the log's origin, its
// size and its root hash.
type Checkpoint struct {
	Origin string
	Size   int64
	Hash   tlog.Hash
}

// Body returns the checkpoint's note text.
func (c Checkpoint) Body() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Hash[:]))
}

// ParseCheckpoint parses a checkpoint body. Extension lines after the root
// hash are permitted by the format and ignored.
func ParseCheckpoint(body []byte) (Checkpoint, error) {
	var c Checkpoint
	lines := strings.SplitN(string(body), "\n", 4)
	if len(lines) < 4 {
		return c, errors.New("checkpoint: fewer than three lines")
	}
	if err := ValidateOrigin(lines[0]); err != nil {
		return c, fmt.Errorf("checkpoint: %w", err)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return c, fmt.Errorf("checkpoint: bad tree size %q", lines[1])
	}
	h, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return c, fmt.Errorf("checkpoint: bad root hash %q", lines[2])
	}
	c.Origin, c.Size = lines[0], size
	copy(c.Hash[:], h)
	return c, nil
}

// ValidateOrigin reports whether s can be a log origin and a signing key
// name: one line of printable ASCII without spaces or '+'.
func ValidateOrigin(s string) error {
	if s == "" {
		return errors.New("origin is empty")
	}
	if len(s) > 255 {
		return errors.New("origin is longer than 255 bytes")
	}
	for _, r := range s {
		if r <= ' ' || r > '~' || r == '+' {
			return fmt.Errorf("origin %q must be printable ASCII without spaces or '+'", s)
		}
	}
	return nil
}

// Sign returns the signed note of c, signed by every signer.
func Sign(c Checkpoint, signers ...note.Signer) ([]byte, error) {
	if len(signers) == 0 {
		return nil, errors.New("checkpoint: no signer")
	}
	return note.Sign(&note.Note{Text: string(c.Body())}, signers...)
}

// OpenCheckpoint verifies a signed checkpoint with any of the verifiers and
// parses it. The origin must equal the name of a verifying key.
func OpenCheckpoint(msg []byte, verifiers note.Verifiers) (Checkpoint, *note.Note, error) {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return Checkpoint{}, nil, fmt.Errorf("checkpoint signature: %w", err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return c, n, err
	}
	for _, s := range n.Sigs {
		if s.Name == c.Origin {
			return c, n, nil
		}
	}
	return c, n, fmt.Errorf("checkpoint: no signature by a key named after its origin %q", c.Origin)
}

// GenerateKey returns a new Ed25519 signing key for the log with the given
// origin, in signed-note format, and its verifier key.
func GenerateKey(origin string) (skey, vkey string, err error) {
	if err := ValidateOrigin(origin); err != nil {
		return "", "", err
	}
	return note.GenerateKey(rand.Reader, origin)
}

// A Key is a ledger signing key.
type Key struct {
	Signer   note.Signer
	Verifier note.Verifier
	// VerifierKey is the verifier key in signed-note format,
	// "<name>+<hash>+<base64 key>".
	VerifierKey string
}

// ParseKey parses a signing key in signed-note format.
func ParseKey(skey string) (Key, error) {
	skey = strings.TrimSpace(skey)
	s, err := note.NewSigner(skey)
	if err != nil {
		return Key{}, fmt.Errorf("parse ledger signing key: %w", err)
	}
	vkey, err := verifierKeyFor(skey)
	if err != nil {
		return Key{}, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return Key{}, fmt.Errorf("derive ledger verifier key: %w", err)
	}
	return Key{Signer: s, Verifier: v, VerifierKey: vkey}, nil
}

// verifierKeyFor derives the verifier key from a signed-note Ed25519 private
// key "PRIVATE+KEY+<name>+<hash>+<base64(alg||seed)>".
func verifierKeyFor(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("parse ledger signing key: not a signed-note private key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+32 || raw[0] != 1 {
		return "", errors.New("parse ledger signing key: not an Ed25519 key")
	}
	vkey, err := note.NewEd25519VerifierKey(parts[2], ed25519PublicKey(raw[1:]))
	if err != nil {
		return "", fmt.Errorf("derive ledger verifier key: %w", err)
	}
	return vkey, nil
}

// ParseVerifiers parses one or more verifier keys, one per line.
func ParseVerifiers(text string) (note.Verifiers, []string, error) {
	var vs []note.Verifier
	var keys []string
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := note.NewVerifier(line)
		if err != nil {
			return nil, nil, fmt.Errorf("parse verifier key %q: %w", line, err)
		}
		vs = append(vs, v)
		keys = append(keys, line)
	}
	if len(vs) == 0 {
		return nil, nil, errors.New("no verifier key given")
	}
	return note.VerifierList(vs...), keys, nil
}

func ed25519PublicKey(seed []byte) ed25519.PublicKey {
	return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
}

// CheckpointFromNote parses the checkpoint in a signed note without
// verifying its signatures; use [OpenCheckpoint] to trust it.
func CheckpointFromNote(msg []byte) (Checkpoint, error) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return Checkpoint{}, errors.New("checkpoint: not a signed note")
	}
	return ParseCheckpoint(msg[:i+1])
}
