package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/importer/csvfile"
	"github.com/probity-dev/probity/internal/importer/geojson"
	"github.com/probity-dev/probity/internal/importer/gpx"
	"github.com/probity-dev/probity/internal/importer/ping"
	"github.com/probity-dev/probity/internal/importer/plt"
	"github.com/probity-dev/probity/internal/importer/pltdir"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/store"
)

const importUsage = `Usage: probity import COMMAND [flags]

Commands:
  pings FILE|DIR -source NAME   load location pings into the local telemetry store of a
                                data source: a CSV, GeoJSON, GPX or GeoLife PLT file, or a
                                directory of PLT files (PERSON/Trajectory/*.plt, each
                                person one device)

Run "probity import pings -h" for its flags.
`

func cmdImport(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, importUsage)
		return errUsage
	}
	switch args[0] {
	case "pings":
		return importPings(ctx, args[1:], getenv, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, importUsage)
		return nil
	}
	fmt.Fprintf(stderr, "probity import: unknown command %q\n\n%s", args[0], importUsage)
	return errUsage
}

// importActor is who the ledger says imported: the local command, run by
// whoever may write the data directory.
var importActor = ledger.Actor{Kind: ledger.ActorSystem, ID: "probity import pings"}

// shownBadRows is how many bad rows the summary lists.
const shownBadRows = 10

func importPings(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("import pings", "config", "data", "db", "ledger-key", "log-level", "log-format")
	source := set.String("source", "", "the data source to import into, by `NAME`: its connector must be the local store")
	format := set.String("format", "", "the input's `format`: csv, geojson, gpx or plt (default: from the file's name and content)")
	stopOnError := set.Bool("stop-on-error", false, "stop at the first bad row, storing nothing of the batch that holds it (default: count bad rows and go on)")
	columns := set.String("csv-columns", "", "CSV header names of the ping fields, as `FIELD=HEADER,…` with fields device, time, lat, lon, accuracy (default: the fields' own names)")
	timeLayout := set.String("time-layout", "", "how CSV and GeoJSON times are written: rfc3339, unix (seconds) or unixms (`LAYOUT`; default rfc3339)")
	device := set.String("device", "", "the device `ID` of pings whose file names none: GPX and PLT files, CSV or GeoJSON without a device column (default for GPX: the file's name; for PLT: the person's folder)")
	set.Usage = func() {
		fmt.Fprintf(set.Output(), `Usage: probity import pings FILE|DIR -source NAME [flags]

Stores the pings of FILE in the local telemetry store of data source NAME,
in batches, each committed whole. A ping already stored (same device, time
to the millisecond and position) is counted as a duplicate. Bad rows are
reported with their line and skipped, or with -stop-on-error end the import.
DIR imports every .plt file under it, GeoLife's layout: each person's folder
(the one holding Trajectory/) is one device. Every import is recorded in the
ledger with the file's SHA-256 and the counts.

On SQLite the server must be stopped while importing (on PostgreSQL it may
run). Progress goes to standard error, the summary to standard output; the
exit status is 1 when the import stopped before the end of its input.

`)
		set.PrintDefaults()
	}
	cfg, err := parse(set, flags, args, getenv, stderr)
	if err != nil {
		return err
	}
	if set.NArg() != 1 {
		return &usageError{"give one file or directory: probity import pings FILE -source NAME"}
	}
	if *source == "" {
		return &usageError{"give the data source to import into: -source NAME"}
	}
	in, err := openPings(set.Arg(0), pingFlags{format: *format, columns: *columns, timeLayout: *timeLayout, device: *device})
	if err != nil {
		return err
	}
	defer in.Close()

	srv, err := openLocalWriter(ctx, cfg, stderr)
	if err != nil {
		if strings.Contains(err.Error(), "is in use by") {
			return fmt.Errorf("%w\n(an import writes to the SQLite database directly, so the server must be stopped first; start it again when the import is done)", err)
		}
		return err
	}
	defer srv.Close()
	// Refuse a wrong source before reading a large input to hash it.
	if err := srv.DB.View(ctx, func(tx *store.Tx) error {
		src, err := srv.Privacy.SourceByName(ctx, tx, *source)
		if err == nil && src.Connector != privacy.LocalStore {
			err = fmt.Errorf("data source %q is read through its %s connector, so Probity keeps none of its pings: import into a data source whose connector is %s", src.Name, src.Connector, privacy.LocalStore)
		}
		return err
	}); err != nil {
		return err
	}
	digest, err := in.digest()
	if err != nil {
		return err
	}

	prog := &importProgress{w: stderr, start: time.Now(), last: time.Now()}
	stats, err := srv.DB.Telemetry().Import(ctx, importActor, *source, in.src, store.ImportOptions{
		FileName: in.name, Format: string(in.format), SHA256: digest, StopOnError: *stopOnError,
		Progress: prog.report,
	})
	prog.done()
	printImportSummary(stdout, in, *source, digest, stats, err)
	if err != nil {
		// A bad row with -stop-on-error, or an interruption: the summary
		// has said why.
		if _, stopped := errors.AsType[*ping.RowError](err); stats.ImportID != 0 && (stopped || errors.Is(err, context.Canceled)) {
			return errReported
		}
		return err
	}
	return nil
}

// pingFlags are the flags that say how to read an input.
type pingFlags struct {
	format, columns, timeLayout, device string
}

// pingInput is an opened input: a file or a directory of PLT files.
type pingInput struct {
	name   string // recorded: the file's or directory's own name, without its path
	format ping.Format
	src    store.PingSource
	dir    *pltdir.Reader // for a directory
	files  []pltdir.File  // for a directory
	f      *os.File       // for a file
	path   string
}

func (in *pingInput) Close() error {
	if in.dir != nil {
		in.dir.Close()
	}
	if in.f != nil {
		return in.f.Close()
	}
	return nil
}

// where names the file a bad row is in, for a directory.
func (in *pingInput) where(e *ping.RowError) string {
	if in.dir == nil {
		return ""
	}
	if f := in.dir.FileOf(e); f != "" {
		return f + " "
	}
	return ""
}

// digest returns the input's SHA-256: the file's, or for a directory that
// of the sha256sum listing of its PLT files.
func (in *pingInput) digest() (string, error) {
	if in.dir != nil {
		return pltdir.Digest(in.files)
	}
	f, err := os.Open(in.path)
	if err != nil {
		return "", unwrapPath(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", in.path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// openPings opens the input at path as its flags say.
func openPings(path string, fl pingFlags) (*pingInput, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	var format ping.Format
	if fl.format != "" {
		if format, err = ping.ParseFormat(fl.format); err != nil {
			return nil, &usageError{fmt.Sprintf("-format %q is not one of csv, geojson, gpx, plt", fl.format)}
		}
	}
	var cols csvfile.Columns
	if fl.columns != "" {
		if cols, err = parseCSVColumns(fl.columns); err != nil {
			return nil, &usageError{"-csv-columns: " + err.Error()}
		}
	}
	layout, err := ping.ParseTimeLayout(fl.timeLayout)
	if err != nil {
		return nil, &usageError{"-time-layout: " + err.Error()}
	}
	in := &pingInput{name: filepath.Base(filepath.Clean(path)), path: path}
	if st.IsDir() {
		if format != "" && format != ping.PLT {
			return nil, &usageError{fmt.Sprintf("%s is a directory: only PLT files are imported from a directory, not %s", path, format)}
		}
		if fl.columns != "" || fl.timeLayout != "" || fl.device != "" {
			return nil, &usageError{"-csv-columns, -time-layout and -device do not apply to a directory of PLT files: each person's folder names its device"}
		}
		if in.files, err = pltdir.Find(path); err != nil {
			return nil, err
		}
		in.format = ping.PLT
		in.dir = pltdir.NewReader(in.files, ping.Limits{})
		in.src = in.dir
		return in, nil
	}
	if in.f, err = os.Open(path); err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if format == "" {
		head := make([]byte, 512)
		n, _ := io.ReadFull(in.f, head)
		if format, err = ping.Detect(path, head[:n]); err != nil {
			in.f.Close()
			return nil, fmt.Errorf("%w; say which with -format", err)
		}
		if _, err := in.f.Seek(0, io.SeekStart); err != nil {
			in.f.Close()
			return nil, err
		}
	}
	in.format = format
	if (fl.columns != "" && format != ping.CSV) || (fl.timeLayout != "" && format != ping.CSV && format != ping.GeoJSON) {
		in.f.Close()
		return nil, &usageError{fmt.Sprintf("-csv-columns applies to CSV and -time-layout to CSV and GeoJSON, not to %s", format)}
	}
	// A local file is the operator's own: no size limit beyond its size.
	limits := ping.Limits{MaxBytes: max(st.Size(), ping.DefaultMaxBytes)}
	switch format {
	case ping.CSV:
		in.src = csvfile.NewReader(in.f, csvfile.Options{Columns: cols, TimeLayout: layout, Device: fl.device, Limits: limits})
	case ping.GeoJSON:
		in.src = geojson.NewReader(in.f, geojson.Options{TimeLayout: layout, Device: fl.device, Limits: limits})
	case ping.GPX:
		in.src = gpx.NewReader(in.f, gpx.Options{Device: cmpOr(fl.device, strings.TrimSuffix(in.name, filepath.Ext(in.name))), Limits: limits})
	case ping.PLT:
		in.src = plt.NewReader(in.f, plt.Options{Device: cmpOr(fl.device, pltDevice(path)), Limits: limits})
	}
	return in, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// pltDevice returns the device of a single PLT file: its person's folder
// in GeoLife's layout (PERSON/Trajectory/FILE.plt), else the file's name.
func pltDevice(path string) string {
	abs, err := filepath.Abs(path)
	if err == nil {
		dir := filepath.Dir(abs)
		if strings.EqualFold(filepath.Base(dir), "Trajectory") && filepath.Dir(dir) != dir {
			return filepath.Base(filepath.Dir(dir))
		}
	}
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// parseCSVColumns parses -csv-columns: comma-separated FIELD=HEADER pairs,
// each field at most once.
func parseCSVColumns(spec string) (csvfile.Columns, error) {
	var c csvfile.Columns
	fields := map[string]*string{"device": &c.Device, "time": &c.Time, "lat": &c.Lat, "lon": &c.Lon, "accuracy": &c.Accuracy}
	seen := map[string]bool{}
	for _, pair := range strings.Split(spec, ",") {
		field, header, ok := strings.Cut(pair, "=")
		field, header = strings.ToLower(strings.TrimSpace(field)), strings.TrimSpace(header)
		if !ok || field == "" || header == "" {
			return c, fmt.Errorf("%q is not FIELD=HEADER (as in time=timestamp,lat=latitude)", strings.TrimSpace(pair))
		}
		dst, known := fields[field]
		if !known {
			return c, fmt.Errorf("unknown field %q (want device, time, lat, lon or accuracy)", field)
		}
		if seen[field] {
			return c, fmt.Errorf("field %s is given twice", field)
		}
		if len(header) > 256 || strings.ContainsAny(header, "\"\r\n") {
			return c, fmt.Errorf("header %q of field %s is not a plain column name", clipArg(header), field)
		}
		seen[field] = true
		*dst = header
	}
	return c, nil
}

func clipArg(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// importProgress prints an import's progress on standard error, about
// once a second.
type importProgress struct {
	w           io.Writer
	start, last time.Time
	shown       bool
}

func (p *importProgress) report(s store.ImportStats) {
	if time.Since(p.last) < time.Second {
		return
	}
	p.last, p.shown = time.Now(), true
	fmt.Fprintf(p.w, "imported %s of %s rows read (%s/s)…\n", thousands(s.Inserted+s.Duplicates), thousands(s.Read), thousands(int64(float64(s.Read)/time.Since(p.start).Seconds())))
}

func (p *importProgress) done() {
	if p.shown {
		fmt.Fprintf(p.w, "done in %s\n", time.Since(p.start).Round(time.Millisecond))
	}
}

// printImportSummary says what an import did: its counts, its first bad
// rows, and if it stopped early, why.
func printImportSummary(w io.Writer, in *pingInput, source, digest string, s store.ImportStats, err error) {
	if s.ImportID == 0 {
		return // refused before anything was recorded
	}
	what := "Imported"
	if err != nil {
		what = "Stopped importing"
	}
	fmt.Fprintf(w, "%s %s (%s, sha256 %s) into %s (import %d):\n", what, in.name, in.format, digest, source, s.ImportID)
	for _, c := range []struct {
		label string
		n     int64
	}{{"read", s.Read}, {"inserted", s.Inserted}, {"duplicates", s.Duplicates}, {"bad", s.Bad}} {
		fmt.Fprintf(w, "  %-11s %13s\n", c.label, thousands(c.n))
	}
	if len(s.Errors) > 0 {
		fmt.Fprintln(w, "Bad rows:")
		for _, e := range s.Errors[:min(len(s.Errors), shownBadRows)] {
			fmt.Fprintf(w, "  %s%v\n", in.where(e), e)
		}
		if s.Bad > shownBadRows {
			fmt.Fprintf(w, "  … and %s more\n", thousands(s.Bad-shownBadRows))
		}
	}
	switch re, _ := errors.AsType[*ping.RowError](err); {
	case re != nil:
		fmt.Fprintf(w, "Stopped at %s%v (-stop-on-error): nothing of the batch holding that row was stored; %s pings of earlier batches were.\n", in.where(re), re, thousands(s.Inserted+s.Duplicates))
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(w, "Interrupted: %s pings of the batches committed before were stored, and the import is recorded as cancelled.\n", thousands(s.Inserted+s.Duplicates))
	}
}

// thousands formats n with thousands separators.
func thousands(n int64) string {
	if n == math.MinInt64 {
		return strconv.FormatInt(n, 10)
	}
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
