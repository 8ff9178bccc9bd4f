// Package pltdir reads a directory tree of GeoLife trajectory (.plt) files
// as one stream of pings, in the layout GeoLife publishes them:
// DIR/<person>/Trajectory/*.plt, each person's folder being one device.
package pltdir

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/probity-dev/probity/internal/importer/ping"
	"github.com/probity-dev/probity/internal/importer/plt"
)

// A File is one .plt file of a tree.
type File struct {
	Path   string // as found, for opening
	Rel    string // relative to the tree's root, with forward slashes
	Device string // the person the file belongs to
}

// DeviceOf returns the device of a file at rel (a slash-separated path
// relative to the root named root): the folder holding its Trajectory
// folder, as in GeoLife; otherwise the folder holding the file; for a file
// directly under the root, the root's name.
func DeviceOf(root, rel string) string {
	dir := path.Dir(rel)
	if strings.EqualFold(path.Base(dir), "Trajectory") {
		if d := path.Dir(dir); d != "." {
			return path.Base(d)
		}
	} else if dir != "." {
		return path.Base(dir)
	}
	return filepath.Base(filepath.Clean(root))
}

// Find lists the .plt files (any case of the extension) under root,
// ordered by their relative path. A tree without any is an error.
func Find(root string) ([]File, error) {
	var files []File
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.EqualFold(filepath.Ext(p), ".plt") {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			files = append(files, File{Path: p, Rel: rel, Device: DeviceOf(root, rel)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .plt files under %s (GeoLife keeps them in PERSON/Trajectory/*.plt)", root)
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Rel, b.Rel) })
	return files, nil
}

// Digest returns the SHA-256, in hexadecimal, of the listing of files as
// sha256sum prints it ("<sha256>  <relative path>" lines, in the order
// given): one digest for the whole tree, which standard tools reproduce
// with (cd DIR && find . -iname '*.plt' | cut -c3- | LC_ALL=C sort |
// xargs sha256sum | sha256sum).
func Digest(files []File) (string, error) {
	list := sha256.New()
	for _, f := range files {
		sum, err := fileDigest(f.Path)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(list, "%s  %s\n", sum, f.Rel)
	}
	return hex.EncodeToString(list.Sum(nil)), nil
}

func fileDigest(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// maxErrorFiles bounds how many row errors a Reader remembers the file of.
const maxErrorFiles = 1000

// A Reader reads the fixes of files one file after the other. Line numbers
// are those of each file; [Reader.FileOf] tells which file a row error
// came from.
type Reader struct {
	files  []File
	limits ping.Limits
	next   int // index of the next file to open
	cur    *plt.Reader
	f      *os.File
	rel    string
	of     map[*ping.RowError]string
	err    error // final error, returned again by every later Next
}

// NewReader returns a reader of files, each read within limits.
func NewReader(files []File, limits ping.Limits) *Reader {
	return &Reader{files: files, limits: limits, of: map[*ping.RowError]string{}}
}

// Next returns the next fix. It returns io.EOF after the last file, a
// [*ping.RowError] for a bad line (after which Next may be called again),
// and any other error, naming the file, when a file cannot be read.
func (r *Reader) Next() (ping.Ping, error) {
	for r.err == nil {
		if r.cur == nil {
			if r.next == len(r.files) {
				r.err = io.EOF
				break
			}
			file := r.files[r.next]
			r.next++
			f, err := os.Open(file.Path)
			if err != nil {
				r.err = fmt.Errorf("%s: %w", file.Rel, unwrapPath(err))
				break
			}
			r.f, r.rel = f, file.Rel
			r.cur = plt.NewReader(f, plt.Options{Device: file.Device, Limits: r.limits})
		}
		p, err := r.cur.Next()
		switch {
		case err == nil:
			return p, nil
		case errors.Is(err, io.EOF):
			r.closeFile()
		case ping.IsRowError(err):
			if re, ok := errors.AsType[*ping.RowError](err); ok && len(r.of) < maxErrorFiles {
				r.of[re] = r.rel
			}
			return ping.Ping{}, err
		default:
			r.err = fmt.Errorf("%s: %w", r.rel, err)
			r.closeFile()
		}
	}
	return ping.Ping{}, r.err
}

// FileOf returns the relative path of the file a row error of this reader
// came from, or "" if it does not know (beyond the first 1,000 errors).
func (r *Reader) FileOf(e *ping.RowError) string { return r.of[e] }

// Close closes the file being read, if any.
func (r *Reader) Close() error {
	r.closeFile()
	return nil
}

func (r *Reader) closeFile() {
	if r.f != nil {
		r.f.Close()
	}
	r.f, r.cur = nil, nil
}

func unwrapPath(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}
