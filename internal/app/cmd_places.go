package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/probity-dev/probity/internal/ledgerclient"
	"github.com/probity-dev/probity/internal/places"
)

const placesUsage = `Usage: probity places COMMAND [flags] -url URL

Commands:
  import FILE         import the protected places of a GeoJSON or CSV file: all of them, or,
                      if any feature or row is bad, none (each problem is listed with its line)
  list                the places you manage (yours and the department-wide ones)
  summary             how many places and employees' homes there are, and the imports
  delete ID           remove a place
  delete-import ID    remove an import and every place it brought
  home PERSON         set an employee's home: "LAT,LON" is read from standard input, so that
                      it stays out of shell history; only keyed hashes of the cells around it
                      are kept. With -clear, forget it.

A GeoJSON file is a FeatureCollection of Points (with a radius property, or the
default radius of their category), Polygons and MultiPolygons; a CSV file has
a header row naming name, category, lat, lon and radius_m. Categories are
agency_facility, place_of_worship, medical, school, shelter, court,
social_services, diplomatic and other; OpenStreetMap tags map to them with
-category-property amenity (amenity=place_of_worship, school, hospital,
clinic, courthouse, social_facility …) and -skip-unmapped.

Privacy officers manage places; auditors read the summary. The commands talk to
the server at -url (or PROBITY_URL) with the token "probity login" stored.
`

func cmdPlaces(ctx context.Context, args []string, getenv Env, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, err := subcommand("places", placesUsage, func(c string) bool {
		return slices.Contains([]string{"import", "list", "summary", "delete", "delete-import", "home"}, c)
	}, args, stdout, stderr)
	if cmd == "" {
		return err
	}
	set, flags := flagSet("places " + cmd)
	server := set.String("url", "", "the Probity server's `URL` (default $PROBITY_URL)")
	asJSON := set.Bool("json", false, "print the server's JSON answer (import, list, summary)")
	var format, catProp, category, component *string
	var skip, clear *bool
	var radius *float64
	switch cmd {
	case "import":
		format = set.String("format", "", "the file's `format`: geojson or csv (default: from the file's extension)")
		catProp = set.String("category-property", "", "the `property` (CSV column) holding the category, or several, comma-separated (default category)")
		category = set.String("category", "", "the `category` of every place of the file, instead of a property")
		skip = set.Bool("skip-unmapped", false, "skip features and rows whose category is missing or not a protected place")
		component = set.String("component", "", "the `component` the places are for (default: yours; department-wide for department officers)")
	case "list":
		category = set.String("category", "", "only places of this `category`")
	case "home":
		radius = set.Float64("radius", places.DefaultHomeRadiusM, "the `metres` around the home its cells cover (50 to 1000)")
		clear = set.Bool("clear", false, "forget the employee's home instead")
	}
	set.Usage = func() {
		fmt.Fprint(set.Output(), placesUsage+"\nFlags:\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args[1:], getenv, stderr); err != nil {
		return err
	}
	if *server == "" {
		*server = getenv("PROBITY_URL")
	}
	pos := set.Args()
	wantArgs := map[string]int{"import": 1, "list": 0, "summary": 0, "delete": 1, "delete-import": 1, "home": 1}[cmd]
	if len(pos) != wantArgs {
		what := map[string]string{"import": "FILE", "delete": "ID", "delete-import": "ID", "home": "PERSON"}[cmd]
		if wantArgs == 0 {
			return &usageError{fmt.Sprintf("probity places %s takes no arguments", cmd)}
		}
		return &usageError{fmt.Sprintf("give one %s: probity places %s %s", what, cmd, what)}
	}
	var id int64
	if cmd == "delete" || cmd == "delete-import" || cmd == "home" {
		n, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil || n <= 0 {
			return &usageError{fmt.Sprintf("the ID is a positive whole number, not %q", pos[0])}
		}
		id = n
	}
	var data []byte
	if cmd == "import" {
		// Read the file before asking the server anything.
		fi, err := os.Stat(pos[0])
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], unwrapPath(err))
		}
		if fi.Size() > int64(places.DefaultLimits().MaxBytes) {
			return fmt.Errorf("%s is %d bytes; the server takes files of at most %d bytes: split it", pos[0], fi.Size(), places.DefaultLimits().MaxBytes)
		}
		if data, err = os.ReadFile(pos[0]); err != nil {
			return fmt.Errorf("%s: %w", pos[0], unwrapPath(err))
		}
		if *format == "" {
			switch strings.ToLower(filepath.Ext(pos[0])) {
			case ".csv":
				*format = "csv"
			case ".geojson", ".json":
				*format = "geojson"
			default:
				return &usageError{fmt.Sprintf("cannot tell the format of %s from its extension: give -format geojson or -format csv", filepath.Base(pos[0]))}
			}
		}
		if _, err := places.ParseFormat(*format); err != nil {
			return &usageError{err.Error()}
		}
	}
	var lat, lon float64
	if cmd == "home" && !*clear {
		var err error
		if lat, lon, err = readHome(stdin, stderr); err != nil {
			return err
		}
	}
	c, err := signedInClient(*server, getenv, "give the server: -url https://probity.example/ (or set PROBITY_URL)")
	if err != nil {
		return err
	}
	pc := &placesCmd{c: c, out: stdout, json: *asJSON}
	switch cmd {
	case "import":
		q := url.Values{"format": {*format}, "source": {filepath.Base(pos[0])}}
		for k, v := range map[string]string{"category_property": *catProp, "category": *category, "component": *component} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if *skip {
			q.Set("skip_unmapped", "true")
		}
		return pc.importFile(ctx, "api/v1/place-imports?"+q.Encode(), data)
	case "list":
		return pc.list(ctx, *category)
	case "summary":
		return pc.summary(ctx)
	case "delete":
		if err := c.Send(ctx, http.MethodDelete, fmt.Sprintf("api/v1/places/%d", id), nil, nil); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "place %d removed\n", id)
		return err
	case "delete-import":
		var resp struct {
			Deleted int `json:"deleted"`
		}
		if err := c.Send(ctx, http.MethodDelete, fmt.Sprintf("api/v1/place-imports/%d", id), nil, &resp); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "import %d removed with its %d remaining places\n", id, resp.Deleted)
		return err
	case "home":
		path := fmt.Sprintf("api/v1/employee-homes/%d", id)
		if *clear {
			if err := c.Send(ctx, http.MethodDelete, path, nil, nil); err != nil {
				return err
			}
			_, err := fmt.Fprintf(stdout, "the home of person %d is forgotten\n", id)
			return err
		}
		if err := c.Send(ctx, http.MethodPut, path, map[string]float64{"lat": lat, "lon": lon, "radius_m": *radius}, nil); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "the home of person %d is set: only keyed hashes of the cells within %g m of it are kept\n", id, *radius)
		return err
	}
	return nil
}

// readHome reads "LAT,LON" from the first line of stdin, prompting at a
// terminal.
func readHome(stdin io.Reader, stderr io.Writer) (lat, lon float64, err error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "The home's position (LAT,LON): ")
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 1024)).ReadString('\n')
	if err != nil && line == "" {
		return 0, 0, &usageError{`give the home's position on standard input: "LAT,LON"`}
	}
	parts := strings.Split(strings.TrimSpace(line), ",")
	if len(parts) != 2 {
		return 0, 0, &usageError{`the home's position is "LAT,LON" in decimal degrees`}
	}
	if lat, err = strconv.ParseFloat(strings.TrimSpace(parts[0]), 64); err == nil {
		lon, err = strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
	}
	if err != nil {
		return 0, 0, &usageError{`the home's position is "LAT,LON" in decimal degrees`}
	}
	return lat, lon, nil
}

// placesCmd runs one command against the server.
type placesCmd struct {
	c    *ledgerclient.Client
	out  io.Writer
	json bool
}

type cliPlaceImport struct {
	ID         int64     `json:"id"`
	Component  string    `json:"component"`
	Source     string    `json:"source"`
	Format     string    `json:"format"`
	Digest     string    `json:"digest"`
	Places     int       `json:"places"`
	Remaining  int       `json:"remaining"`
	Skipped    int       `json:"skipped"`
	ImportedBy string    `json:"imported_by"`
	ImportedAt time.Time `json:"imported_at"`
}

func componentName(c string) string {
	if c == "" {
		return "(department)"
	}
	return c
}

func (p *placesCmd) importFile(ctx context.Context, path string, data []byte) error {
	var raw json.RawMessage
	if err := p.c.PostFile(ctx, path, data, &raw); err != nil {
		return err
	}
	if p.json {
		_, err := fmt.Fprintln(p.out, string(raw))
		return err
	}
	var x cliPlaceImport
	if err := json.Unmarshal(raw, &x); err != nil {
		return fmt.Errorf("the server's answer: %w", err)
	}
	_, err := fmt.Fprintf(p.out, "import %d: %d places from %s for %s (%d skipped), %s\n", x.ID, x.Places, x.Source, componentName(x.Component), x.Skipped, x.Digest)
	return err
}

func (p *placesCmd) list(ctx context.Context, category string) error {
	type place struct {
		ID        int64  `json:"id"`
		ImportID  int64  `json:"import_id"`
		Component string `json:"component"`
		Category  string `json:"category"`
		Name      string `json:"name"`
		Ref       string `json:"ref"`
		Geometry  struct {
			Type        string          `json:"type"`
			Coordinates json.RawMessage `json:"coordinates"`
			RadiusM     float64         `json:"radius_m"`
		} `json:"geometry"`
	}
	var all []json.RawMessage
	tw := tabwriter.NewWriter(p.out, 0, 0, 2, ' ', 0)
	if !p.json {
		fmt.Fprintln(tw, "ID\tCOMPONENT\tCATEGORY\tNAME\tREF\tWHERE\tIMPORT")
	}
	const page = 1000
	for after := int64(0); ; {
		q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {strconv.Itoa(page)}}
		if category != "" {
			q.Set("category", category)
		}
		var resp struct {
			Places []json.RawMessage `json:"places"`
		}
		if err := p.c.GetJSON(ctx, "api/v1/places?"+q.Encode(), &resp); err != nil {
			return err
		}
		for _, r := range resp.Places {
			var x place
			if err := json.Unmarshal(r, &x); err != nil {
				return fmt.Errorf("the server's answer: %w", err)
			}
			after = x.ID
			if p.json {
				all = append(all, r)
				continue
			}
			where := strings.ToLower(x.Geometry.Type)
			if x.Geometry.Type == "Point" {
				var c []float64
				if json.Unmarshal(x.Geometry.Coordinates, &c) == nil && len(c) == 2 {
					where = fmt.Sprintf("%g m around %.6f,%.6f", x.Geometry.RadiusM, c[1], c[0])
				}
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\n", x.ID, componentName(x.Component), x.Category, x.Name, x.Ref, where, x.ImportID)
		}
		if len(resp.Places) < page {
			break
		}
	}
	if p.json {
		b, err := json.Marshal(map[string]any{"places": all})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(p.out, string(b))
		return err
	}
	return tw.Flush()
}

func (p *placesCmd) summary(ctx context.Context) error {
	var raw json.RawMessage
	if err := p.c.GetJSON(ctx, "api/v1/place-summary", &raw); err != nil {
		return err
	}
	var imps struct {
		Imports []cliPlaceImport `json:"imports"`
	}
	if err := p.c.GetJSON(ctx, "api/v1/place-imports", &imps); err != nil {
		return err
	}
	if p.json {
		_, err := fmt.Fprintln(p.out, string(raw))
		return err
	}
	var s struct {
		Places  map[string]map[string]int `json:"places"`
		Homes   map[string]int            `json:"homes"`
		Imports int                       `json:"imports"`
		Version int64                     `json:"version"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("the server's answer: %w", err)
	}
	tw := tabwriter.NewWriter(p.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tCATEGORY\tPLACES")
	comps := make([]string, 0, len(s.Places))
	for c := range s.Places {
		comps = append(comps, c)
	}
	slices.Sort(comps)
	for _, c := range comps {
		cats := make([]string, 0, len(s.Places[c]))
		for cat := range s.Places[c] {
			cats = append(cats, cat)
		}
		slices.Sort(cats)
		for _, cat := range cats {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", componentName(c), cat, s.Places[c][cat])
		}
	}
	tw.Flush()
	homes := 0
	for _, n := range s.Homes {
		homes += n
	}
	fmt.Fprintf(p.out, "\nEmployees' homes set: %d (kept as keyed cell hashes only)\n\nImports:\n", homes)
	tw = tabwriter.NewWriter(p.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCOMPONENT\tSOURCE\tFORMAT\tPLACES\tLEFT\tSKIPPED\tBY\tAT")
	for _, x := range imps.Imports {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", x.ID, componentName(x.Component), x.Source, x.Format, x.Places, x.Remaining, x.Skipped, x.ImportedBy, x.ImportedAt.UTC().Format(time.DateTime))
	}
	return tw.Flush()
}
