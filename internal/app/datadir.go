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
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write ledger key file: %w", err)
	}
	if _, err := f.Write(k.Marshal()); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write ledger key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write ledger key file: %w", err)
	}
	return f.Close()
}

// newOrigin returns a generated ledger origin, unique to this installation.
func newOrigin() string {
	var b [8]byte
	rand.Read(b[:])
	return "probity.local/" + hex.EncodeToString(b[:])
}
