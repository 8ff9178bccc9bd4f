package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/app"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// importSetup returns a stopped installation of dialect d with a local
// data source "local-cli" and a vendor source "vendor-cli".
func importSetup(t *testing.T, d store.Dialect) app.Config {
	t.Helper()
	cfg := testConfig(t, d)
	ts := startServer(t, cfg)
	storetest.MustLocalSourceDB(t, ts.DB, "local-cli", "vendor-cli")
	ts.Stop()
	return cfg
}

// storedPings opens the installation's database and counts the pings of
// source name.
func storedPings(t *testing.T, cfg app.Config, name string) int64 {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DSN: cfg.DB, ReadOnly: !store.IsPostgresDSN(cfg.DB), Logger: storetest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var id int64
	if err := db.View(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM data_sources WHERE name = $1`, name).Scan(&id)
	}); err != nil {
		t.Fatal(err)
	}
	st, err := db.Telemetry().Stats(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return st.Pings
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const cliCSV = "device,time,lat,lon,accuracy\n" +
	"a,2025-03-01T10:00:00Z,38.88,-77.01,5\n" +
	"a,2025-03-01T10:01:00Z,91,-77.011,5\n" + // line 3: latitude
	"a,2025-03-01T10:02:00Z,38.882,-77.012,5\n" +
	"b,2025-03-01T10:00:00Z,38.89,-77.02,\n"

func TestImportPings(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			cfg := importSetup(t, d)
			file := writeFile(t, "pings.csv", cliCSV)
			sum := sha256.Sum256([]byte(cliCSV))
			args := append([]string{"import", "pings", file, "-source", "local-cli", "-log-level", "error"}, cliArgs(cfg)...)
			out, errOut, code := runCLI(t, nil, args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			for _, want := range []string{
				"Imported pings.csv (csv, sha256 " + hex.EncodeToString(sum[:]) + ") into local-cli (import 1):",
				"read                    4", "inserted                3", "duplicates              0", "bad                     1",
				"Bad rows:\n  line 3: lat: 91 outside [-90, 90]\n",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("summary lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, filepath.Dir(file)) {
				t.Errorf("the summary shows the file's directory:\n%s", out)
			}
			if n := storedPings(t, cfg, "local-cli"); n != 3 {
				t.Errorf("%d pings stored, want 3", n)
			}
			// Again: everything a duplicate.
			out, errOut, code = runCLI(t, nil, args...)
			if code != 0 || !strings.Contains(out, "(import 2)") || !strings.Contains(out, "duplicates              3") {
				t.Fatalf("second import: exit %d\n%s%s", code, out, errOut)
			}
		})
	}
}

func TestImportPings_Formats(t *testing.T) {
	cfg := importSetup(t, store.SQLite)
	run := func(args ...string) (string, string, int) {
		return runCLI(t, nil, append(append([]string{"import", "pings"}, args...), append([]string{"-source", "local-cli", "-log-level", "error"}, cliArgs(cfg)...)...)...)
	}
	t.Run("CSVColumns", func(t *testing.T) {
		file := writeFile(t, "vendor.txt", "id;ts;y;x\nv1;1740823200;38.9;-77.0\nv1;1740823260;38.91;-77.01\n")
		out, errOut, code := run(file, "-format", "csv", "-csv-columns", "device=id,time=ts,lat=y,lon=x", "-time-layout", "unix")
		// The file is separated by semicolons: every row is one field.
		if code != 1 || !strings.Contains(errOut, "missing column") {
			t.Fatalf("semicolons: exit %d\n%s%s", code, out, errOut)
		}
		file = writeFile(t, "vendor.txt", "id,ts,y,x\nv1,1740823200,38.9,-77.0\nv1,1740823260,38.91,-77.01\n")
		out, errOut, code = run(file, "-format", "csv", "-csv-columns", "device=id,time=ts,lat=y,lon=x", "-time-layout", "unix")
		if code != 0 || !strings.Contains(out, "inserted                2") {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("GPX", func(t *testing.T) {
		file := writeFile(t, "walk.gpx", `<?xml version="1.0"?><gpx version="1.1" creator="t"><trk><trkseg>
<trkpt lat="38.9" lon="-77.0"><time>2025-03-02T10:00:00Z</time></trkpt>
<trkpt lat="38.91" lon="-77.01"><time>2025-03-02T10:01:00Z</time></trkpt></trkseg></trk></gpx>`)
		out, errOut, code := run(file)
		if code != 0 || !strings.Contains(out, "(gpx, sha256") || !strings.Contains(out, "inserted                2") {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("Directory", func(t *testing.T) {
		out, errOut, code := run(filepath.FromSlash("../importer/pltdir/testdata/tree"))
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		for _, want := range []string{"Imported tree (plt, sha256 ", "inserted                6", "bad                     1",
			"  000/Trajectory/20081024025304.plt line 8: lat: 99.5 outside [-90, 90]\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("summary lacks %q:\n%s", want, out)
			}
		}
	})
}

func TestImportPings_StopOnError(t *testing.T) {
	cfg := importSetup(t, store.SQLite)
	file := writeFile(t, "pings.csv", cliCSV)
	out, errOut, code := runCLI(t, nil, append([]string{"import", "pings", file, "-source", "local-cli", "-stop-on-error", "-log-level", "error"}, cliArgs(cfg)...)...)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "Stopped importing pings.csv") ||
		!strings.Contains(out, "Stopped at line 3: lat: 91 outside [-90, 90] (-stop-on-error): nothing of the batch holding that row was stored") {
		t.Errorf("summary:\n%s", out)
	}
	if n := storedPings(t, cfg, "local-cli"); n != 0 {
		t.Errorf("%d pings stored, want none: the bad row was in the first batch", n)
	}
}

func TestImportPings_Errors(t *testing.T) {
	cfg := importSetup(t, store.SQLite)
	file := writeFile(t, "pings.csv", cliCSV)
	data := cliArgs(cfg)
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ErrNoCommand", []string{"import"}, 2, "Usage: probity import COMMAND"},
		{"ErrUnknownCommand", []string{"import", "scans"}, 2, `unknown command "scans"`},
		{"ErrNoFile", []string{"import", "pings", "-source", "local-cli"}, 2, "give one file or directory"},
		{"ErrNoSource", []string{"import", "pings", file}, 2, "-source NAME"},
		{"ErrFormat", []string{"import", "pings", file, "-source", "local-cli", "-format", "kml"}, 2, `-format "kml" is not one of`},
		{"ErrColumns", []string{"import", "pings", file, "-source", "local-cli", "-csv-columns", "height=h"}, 2, `unknown field "height"`},
		{"ErrColumnsNotCSV", []string{"import", "pings", file, "-source", "local-cli", "-format", "gpx", "-csv-columns", "lat=y"}, 2, "-csv-columns applies to CSV"},
		{"ErrTimeLayout", []string{"import", "pings", file, "-source", "local-cli", "-time-layout", "julian"}, 2, `unknown time layout "julian"`},
		{"ErrMissingFile", []string{"import", "pings", file + ".gone", "-source", "local-cli"}, 1, "no such file or directory"},
		{"ErrUnknownSource", []string{"import", "pings", file, "-source", "nope"}, 1, `there is no data source "nope"`},
		{"ErrVendorSource", []string{"import", "pings", file, "-source", "vendor-cli"}, 1, "connector is local_store"},
		{"ErrDetect", []string{"import", "pings", writeFile(t, "notes.txt", "hello\n"), "-source", "local-cli"}, 1, "say which with -format"},
		{"ErrDirectoryFormat", []string{"import", "pings", t.TempDir(), "-source", "local-cli", "-format", "csv"}, 2, "only PLT files are imported from a directory"},
		{"ErrEmptyDirectory", []string{"import", "pings", t.TempDir(), "-source", "local-cli"}, 1, "no .plt files"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, nil, append(c.args, data...)...)
			if code != c.code || !strings.Contains(out+errOut, c.want) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant %q", code, c.code, out, errOut, c.want)
			}
		})
	}
	if n := storedPings(t, cfg, "local-cli"); n != 0 {
		t.Errorf("%d pings stored after refusals", n)
	}
}

// TestImportPings_Locked checks that an import refuses an SQLite data
// directory a running server holds, and says what to do.
func TestImportPings_Locked(t *testing.T) {
	cfg := importSetup(t, store.SQLite)
	startServer(t, cfg)
	file := writeFile(t, "pings.csv", cliCSV)
	out, errOut, code := runCLI(t, nil, append([]string{"import", "pings", file, "-source", "local-cli"}, cliArgs(cfg)...)...)
	if code != 1 || !strings.Contains(errOut, fmt.Sprintf("data directory %s is in use by process %d", cfg.Data, os.Getpid())) ||
		!strings.Contains(errOut, "the server must be stopped first") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}
