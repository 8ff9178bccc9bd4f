package app

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/sealed"
)

// prepareDataDir creates the data directory (mode 0700) if it does not
// exist, and checks that it is a directory only its owner can use and that
// it is writable.
func prepareDataDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create data directory %s: %w", dir, unwrapPath(err))
		}
		// MkdirAll applies the umask; the directory must be private whatever it is.
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("data directory %s: %w", dir, unwrapPath(err))
		}
	case err != nil:
		return fmt.Errorf("data directory %s: %w", dir, unwrapPath(err))
	case !st.IsDir():
		return fmt.Errorf("data directory %s is not a directory", dir)
	case st.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("data directory %s has mode %04o: it holds the ledger keys and must be accessible only by its owner (chmod 700 %s)", dir, st.Mode().Perm(), dir)
	}
	probe, err := os.CreateTemp(dir, ".probity-write-check-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", dir, unwrapPath(err))
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// unwrapPath drops the operation and path a *PathError repeats.
func unwrapPath(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// lockDataDir takes an exclusive lock on the data directory, so that two
// processes never write one SQLite database. The lock ends with the process.
func lockDataDir(dir string) (release func(), err error) {
	path := filepath.Join(dir, "probity.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		holder := strings.TrimSpace(string(b))
		if holder == "" {
			holder = "another process"
		} else {
			holder = "process " + holder
		}
		return nil, fmt.Errorf("data directory %s is in use by %s; stop it first, or choose another -data", dir, holder)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		f.Truncate(0)
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// readKeys reads the ledger key file. It refuses a file that others can
// read.
func readKeys(path string) (ledger.Keys, error) {
	st, err := os.Stat(path)
	if err != nil {
		return ledger.Keys{}, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return ledger.Keys{}, fmt.Errorf("ledger key file %s has mode %04o: it must be readable only by its owner (chmod 600 %s)", path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ledger.Keys{}, err
	}
	k, err := ledger.ParseKeys(b)
	if err != nil {
		return ledger.Keys{}, fmt.Errorf("ledger key file %s: %w", path, err)
	}
	return k, nil
}

// writeKeys writes a new key file with mode 0600; it never overwrites one.
func writeKeys(path string, k ledger.Keys) error {
	if err := writeNewFile(path, k.Marshal()); err != nil {
		return fmt.Errorf("write ledger key file: %w", err)
	}
	return nil
}

// writeNewFile creates path with mode 0600 holding data, atomically: the
// data is written and synced to a temporary file that is then linked into
// place, so a crash never leaves a partial file, and an existing file is
// never replaced.
func writeNewFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".new-key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// newOrigin returns a generated ledger origin, unique to this installation.
func newOrigin() string {
	var b [8]byte
	rand.Read(b[:])
	return "probity.local/" + hex.EncodeToString(b[:])
}

// readOrCreateSecretsKey loads the secrets key, creating it for a database
// that has never used one. A database that has used one is never given a
// new key: its sealed secrets would not open.
func readOrCreateSecretsKey(path, usedID string) (*sealed.Key, bool, error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		st, _ := os.Stat(path)
		if st != nil && st.Mode().Perm()&0o077 != 0 {
			return nil, false, fmt.Errorf("secrets key file %s has mode %04o: it must be readable only by its owner (chmod 600 %s)", path, st.Mode().Perm(), path)
		}
		k, err := sealed.ParseKey(b)
		if err != nil {
			return nil, false, fmt.Errorf("secrets key file %s: %w", path, err)
		}
		if usedID != "" && k.ID() != usedID {
			return nil, false, fmt.Errorf("the secrets key in %s (%s) is not the one this database's secrets are sealed with (%s); restore the right key file", path, k.ID(), usedID)
		}
		return k, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, err
	case usedID != "":
		return nil, false, fmt.Errorf("the secrets key file %s is missing, but the database holds secrets sealed with key %s; restore the key file from your backup", path, usedID)
	}
	text := sealed.GenerateKey()
	if err := writeNewFile(path, text); err != nil {
		return nil, false, fmt.Errorf("write secrets key file: %w", err)
	}
	k, err := sealed.ParseKey(text)
	return k, true, err
}
