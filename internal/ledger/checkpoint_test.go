package ledger

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// testSKey is a fixed key so that golden signed notes are stable (Ed25519
// signatures are deterministic).
const testSKey = "PRIVATE+KEY+probity.test/ledger+848b03fe+AQqQqXbDRgmuolvuWs3PpO0szGg43en7JLX1eVfirGzq" // test only

func mustKey(t *testing.T) Key {
	t.Helper()
	k, err := ParseKey(testSKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCheckpoint_Golden(t *testing.T) {
	var ref reference
	for i := range 10 {
		hs, _ := tlog.StoredHashes(int64(i), leaf(i), ref)
		ref = append(ref, hs...)
	}
	root, _ := tlog.TreeHash(10, ref)
	cp := Checkpoint{Origin: "probity.test/ledger", Size: 10, Hash: root}
	msg, err := Sign(cp, mustKey(t).Signer)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "checkpoint-v1.golden", msg)
	got, n, err := OpenCheckpoint(msg, note.VerifierList(mustKey(t).Verifier))
	if err != nil || got != cp || len(n.Sigs) != 1 {
		t.Fatalf("OpenCheckpoint = %+v, %v", got, err)
	}
	if c, err := CheckpointFromNote(msg); err != nil || c != cp {
		t.Fatalf("CheckpointFromNote = %+v, %v", c, err)
	}
}

func TestOpenCheckpoint_Errors(t *testing.T) {
	k := mustKey(t)
	other, _ := GenerateKeys("probity.test/ledger")
	signed, _ := Sign(Checkpoint{Origin: "probity.test/ledger", Size: 1}, k.Signer)
	foreign, _ := GenerateKeys("someone.else/log")
	foreignSigned, _ := Sign(Checkpoint{Origin: "probity.test/ledger", Size: 1}, foreign.Signing.Signer)
	for _, tc := range []struct {
		name string
		msg  []byte
		vs   note.Verifiers
		want string
	}{
		{"ErrWrongKey", signed, note.VerifierList(other.Signing.Verifier), "signature"},
		{"ErrTampered", bytes.Replace(signed, []byte("\n1\n"), []byte("\n2\n"), 1), note.VerifierList(k.Verifier), "signature"},
		{"ErrKeyNotNamedAfterOrigin", foreignSigned, note.VerifierList(foreign.Signing.Verifier), "origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := OpenCheckpoint(tc.msg, tc.vs); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("OpenCheckpoint = %v; want %q", err, tc.want)
			}
		})
	}
}

func TestParseCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"OK", "o.example/log\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", true},
		{"OKExtension", "o.example/log\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nextension line\n", true},
		{"ErrShort", "o.example/log\n5\n", false},
		{"ErrSize", "o.example/log\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", false},
		{"ErrSizeLeadingZero", "o.example/log\n05\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", false},
		{"ErrHash", "o.example/log\n5\nnot-base64\n", false},
		{"ErrHashLength", "o.example/log\n5\nAAAA\n", false},
		{"ErrOrigin", "has space\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCheckpoint([]byte(tc.body))
			if (err == nil) != tc.ok {
				t.Fatalf("ParseCheckpoint = %v", err)
			}
		})
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("o.example/log\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"))
	f.Add([]byte("x\n0\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCheckpoint(b)
		if err != nil {
			return
		}
		// What parses formats back to a body that parses to the same thing.
		again, err := ParseCheckpoint(c.Body())
		if err != nil || again != c {
			t.Fatalf("round trip: %+v → %+v, %v", c, again, err)
		}
	})
}

func TestKeys(t *testing.T) {
	k, err := GenerateKeys("probity.test/ledger")
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseKeys(k.Marshal())
	if err != nil || back.SigningKey != k.SigningKey || !bytes.Equal(back.MAC, k.MAC) || back.Signing.VerifierKey != k.Signing.VerifierKey {
		t.Fatalf("round trip: %v", err)
	}
	if !strings.HasPrefix(k.Signing.VerifierKey, "probity.test/ledger+") {
		t.Fatalf("verifier key %q", k.Signing.VerifierKey)
	}
	h := tlog.RecordHash([]byte("x"))
	if !k.MAC.Check(3, h, k.MAC.Sum(3, h)) || k.MAC.Check(4, h, k.MAC.Sum(3, h)) {
		t.Fatal("MAC does not bind the index")
	}
	for _, tc := range []struct{ name, text, want string }{
		{"ErrEmpty", "", "no signing key"},
		{"ErrNoMAC", k.SigningKey + "\n", "no MAC key"},
		{"ErrBadMAC", k.SigningKey + "\nMAC+AAAA\n", "32 bytes"},
		{"ErrTwoKeys", k.SigningKey + "\n" + k.SigningKey + "\n", "more than one"},
		{"ErrJunk", "hello\n", "unrecognized line"},
		{"ErrBadKey", "PRIVATE+KEY+x+00000000+AAAA\n", "signing key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKeys([]byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseKeys = %v; want %q", err, tc.want)
			}
			// PRIVATE+KEY+<name>+<hash>+<key>: the key's base64 may itself
			// hold "+", so split on the first four only.
			secret := strings.SplitN(k.SigningKey, "+", 5)[4]
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "AAAA") {
				t.Fatalf("error repeats key material: %v", err)
			}
		})
	}
}

func FuzzParseKeys(f *testing.F) {
	k, _ := GenerateKeys("probity.test/ledger")
	f.Add(k.Marshal())
	f.Add([]byte("MAC+AAAA"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKeys(b)
		if err != nil {
			return
		}
		if _, err := ParseKeys(k.Marshal()); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
