package pltdir

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/importer/ping"
)

func TestDeviceOf(t *testing.T) {
	for _, c := range []struct{ name, root, rel, want string }{
		{"GeoLife", "Data", "000/Trajectory/x.plt", "000"},
		{"GeoLifeNested", "Data", "a/b/010/trajectory/x.plt", "010"},
		{"PersonFolder", "Data", "alice/x.plt", "alice"},
		{"TrajectoryAtRoot", "/data/alice", "Trajectory/x.plt", "alice"},
		{"AtRoot", "/data/bob/", "x.plt", "bob"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := DeviceOf(c.root, c.rel); got != c.want {
				t.Errorf("DeviceOf(%q, %q) = %q, want %q", c.root, c.rel, got, c.want)
			}
		})
	}
}

func TestFind(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		files, err := Find("testdata/tree")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range files {
			got = append(got, f.Rel+" "+f.Device)
		}
		want := []string{
			"000/Trajectory/20081023025304.plt 000", "000/Trajectory/20081024025304.plt 000",
			"001/Trajectory/20081025100000.PLT 001", "loose/track.plt loose",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("Find:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("ErrEmpty", func(t *testing.T) {
		if _, err := Find(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .plt files") {
			t.Errorf("Find(empty) = %v", err)
		}
	})
	t.Run("ErrMissing", func(t *testing.T) {
		if _, err := Find(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Find(missing) = %v", err)
		}
	})
}

func TestReader(t *testing.T) {
	files, err := Find("testdata/tree")
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(files, ping.Limits{})
	defer r.Close()
	var got []string
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if re, ok := errors.AsType[*ping.RowError](err); ok {
			got = append(got, "error "+r.FileOf(re)+" "+re.Error())
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Device+" "+p.Time.Format("2006-01-02T15:04:05"))
	}
	want := []string{
		"000 2008-10-23T02:53:04", "000 2008-10-23T02:53:10",
		"000 2008-10-24T02:53:04",
		"error 000/Trajectory/20081024025304.plt line 8: lat: 99.5 outside [-90, 90]",
		"000 2008-10-24T02:53:16",
		"001 2008-10-25T10:00:00",
		"loose 2008-10-25T11:00:00",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("read:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after the end = %v, want io.EOF", err)
	}

	t.Run("ErrFile", func(t *testing.T) {
		dir := t.TempDir()
		files := []File{{Path: filepath.Join(dir, "gone.plt"), Rel: "p/Trajectory/gone.plt", Device: "p"}}
		_, err := NewReader(files, ping.Limits{}).Next()
		if err == nil || ping.IsRowError(err) || !strings.Contains(err.Error(), "p/Trajectory/gone.plt") {
			t.Errorf("Next over a missing file = %v, want a final error naming it", err)
		}
	})
	t.Run("ErrLineTooLong", func(t *testing.T) {
		_, err := NewReader(files[:1], ping.Limits{MaxLineBytes: 20}).Next()
		if !errors.Is(err, ping.ErrLineTooLong) || !strings.Contains(err.Error(), files[0].Rel) {
			t.Errorf("Next = %v, want ErrLineTooLong naming %s", err, files[0].Rel)
		}
	})
}

// TestDigest checks the digest against the shell pipeline its comment
// gives.
func TestDigest(t *testing.T) {
	files, err := Find("testdata/tree")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Digest(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 64 {
		t.Fatalf("Digest = %q", got)
	}
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("sha256sum is not installed")
	}
	cmd := exec.Command("sh", "-c", `find . -iname '*.plt' | cut -c3- | LC_ALL=C sort | xargs sha256sum | sha256sum`)
	cmd.Dir = "testdata/tree"
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Fields(string(out))[0]; got != want {
		t.Errorf("Digest = %s, the shell pipeline says %s", got, want)
	}
	// Any change to a file changes the digest.
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/tree")); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "loose", "track.plt")
	b, _ := os.ReadFile(f)
	os.WriteFile(f, append(b, '\n'), 0o644)
	changed, _ := Find(dir)
	if d, err := Digest(changed); err != nil || d == got {
		t.Errorf("Digest after a change = %s, %v; want another digest", d, err)
	}
}
