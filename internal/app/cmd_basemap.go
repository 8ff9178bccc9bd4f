package app

import (
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

	"github.com/probity-dev/probity/internal/basemap"
	"github.com/probity-dev/probity/internal/ledgerclient"
)

const basemapUsage = `Usage: probity basemap COMMAND [flags] -url URL

Commands:
  import FILE -layer NAME   import a GeoJSON or TopoJSON file as the basemap layer NAME: all of its
                            features, or, if any is bad, none (each problem is listed with its
                            feature and line). With -replace, a layer of that name is replaced.
  list                      the basemap layers, in drawing order
  delete NAME               remove a layer

Maps are drawn on the server over the basemap layers, so no tile server is
needed. A layer is a GeoJSON FeatureCollection or a TopoJSON topology (its
arcs quantized or not) of Point, MultiPoint, LineString, MultiLineString,
Polygon and MultiPolygon geometries in WGS84 longitude/latitude. A
feature's "name" property names it; its "class" property gives its style
(boundary, district, major, minor, water, park, facility …).

Administrators and privacy officers manage layers; everyone signed in sees
them. The commands talk to the server at -url (or PROBITY_URL) with the
token "probity login" stored.
`

func cmdBasemap(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	cmd, err := subcommand("basemap", basemapUsage, func(c string) bool {
		return slices.Contains([]string{"import", "list", "delete"}, c)
	}, args, stdout, stderr)
	if cmd == "" {
		return err
	}
	set, flags := flagSet("basemap " + cmd)
	server := set.String("url", "", "the Probity server's `URL` (default $PROBITY_URL)")
	asJSON := set.Bool("json", false, "print the server's JSON answer (import, list)")
	var layer, format, nameProp, classProp, object *string
	var replace *bool
	var order *int
	if cmd == "import" {
		layer = set.String("layer", "", "the layer's `NAME`: lower-case letters, digits, dots, dashes and underscores")
		format = set.String("format", "", "the file's `format`: geojson or topojson (default: from the file's extension or content)")
		replace = set.Bool("replace", false, "replace the layer of this name if there is one")
		order = set.Int("order", 0, "the drawing `order`: lower orders are drawn first, under higher ones (-1000 to 1000)")
		nameProp = set.String("name-property", "", "the `property` holding a feature's name (default name)")
		classProp = set.String("class-property", "", "the `property` holding a feature's style class (default class)")
		object = set.String("object", "", "the TopoJSON `object` to read (default: every object)")
	}
	set.Usage = func() {
		fmt.Fprint(set.Output(), basemapUsage+"\nFlags:\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args[1:], getenv, stderr); err != nil {
		return err
	}
	if *server == "" {
		*server = getenv("PROBITY_URL")
	}
	pos := set.Args()
	switch {
	case cmd == "list" && len(pos) != 0:
		return &usageError{"probity basemap list takes no arguments"}
	case cmd == "import" && len(pos) != 1:
		return &usageError{"give one file: probity basemap import FILE -layer NAME"}
	case cmd == "delete" && len(pos) != 1:
		return &usageError{"give one layer: probity basemap delete NAME"}
	}
	var data []byte
	if cmd == "import" {
		if *layer == "" {
			return &usageError{"give the layer's name: probity basemap import FILE -layer NAME"}
		}
		if err := basemap.CheckName(*layer); err != nil {
			return &usageError{err.Error()}
		}
		// Read the file before asking the server anything.
		fi, err := os.Stat(pos[0])
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], unwrapPath(err))
		}
		if limit := int64(basemap.DefaultLimits().MaxBytes); fi.Size() > limit {
			return fmt.Errorf("%s is %d bytes; the server takes layers of at most %d bytes: simplify or split it", pos[0], fi.Size(), limit)
		}
		if data, err = os.ReadFile(pos[0]); err != nil {
			return fmt.Errorf("%s: %w", pos[0], unwrapPath(err))
		}
		if *format == "" {
			switch strings.ToLower(filepath.Ext(pos[0])) {
			case ".topojson":
				*format = string(basemap.TopoJSON)
			case ".geojson":
				*format = string(basemap.GeoJSON)
			default:
				*format = string(basemap.Detect(data))
			}
		}
		if _, err := basemap.ParseFormat(*format); err != nil {
			return &usageError{err.Error()}
		}
	}
	c, err := signedInClient(*server, getenv, "give the server: -url https://probity.example/ (or set PROBITY_URL)")
	if err != nil {
		return err
	}
	switch cmd {
	case "import":
		q := url.Values{"format": {*format}, "source": {filepath.Base(pos[0])}}
		for k, v := range map[string]string{"name_property": *nameProp, "class_property": *classProp, "object": *object} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if *order != 0 {
			q.Set("order", strconv.Itoa(*order))
		}
		if *replace {
			q.Set("replace", "true")
		}
		return basemapImport(ctx, c, stdout, *asJSON, "api/v1/basemaps/"+url.PathEscape(*layer)+"?"+q.Encode(), data)
	case "list":
		return basemapList(ctx, c, stdout, *asJSON)
	case "delete":
		if err := c.Send(ctx, http.MethodDelete, "api/v1/basemaps/"+url.PathEscape(pos[0]), nil, nil); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "basemap layer %s removed\n", pos[0])
		return err
	}
	return nil
}

// cliBasemap is a layer as the server describes it.
type cliBasemap struct {
	Name           string     `json:"name"`
	Source         string     `json:"source"`
	Format         string     `json:"format"`
	Digest         string     `json:"digest"`
	Features       int        `json:"features"`
	Vertices       int        `json:"vertices"`
	Skipped        int        `json:"skipped"`
	Bounds         [4]float64 `json:"bounds"`
	Order          int        `json:"order"`
	Revision       int        `json:"revision"`
	StoredBytes    int        `json:"stored_bytes"`
	ImportedBy     string     `json:"imported_by"`
	ImportedAt     time.Time  `json:"imported_at"`
	ReplacedDigest string     `json:"replaced_digest"`
}

func basemapImport(ctx context.Context, c *ledgerclient.Client, out io.Writer, asJSON bool, path string, data []byte) error {
	var raw json.RawMessage
	if err := c.PostFile(ctx, path, data, &raw); err != nil {
		return err
	}
	if asJSON {
		_, err := fmt.Fprintln(out, string(raw))
		return err
	}
	var x cliBasemap
	if err := json.Unmarshal(raw, &x); err != nil {
		return fmt.Errorf("the server's answer: %w", err)
	}
	what := "imported"
	if x.Revision > 1 {
		what = fmt.Sprintf("replaced (revision %d)", x.Revision)
	}
	_, err := fmt.Fprintf(out, "basemap layer %s %s: %d features, %d positions from %s (%d without a geometry skipped), %d bytes stored, %s\n",
		x.Name, what, x.Features, x.Vertices, x.Source, x.Skipped, x.StoredBytes, x.Digest)
	return err
}

func basemapList(ctx context.Context, c *ledgerclient.Client, out io.Writer, asJSON bool) error {
	var raw json.RawMessage
	if err := c.GetJSON(ctx, "api/v1/basemaps", &raw); err != nil {
		return err
	}
	if asJSON {
		_, err := fmt.Fprintln(out, string(raw))
		return err
	}
	var resp struct {
		Layers []cliBasemap `json:"layers"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return fmt.Errorf("the server's answer: %w", err)
	}
	if len(resp.Layers) == 0 {
		_, err := fmt.Fprintln(out, "no basemap layers: maps show the query alone (import one with probity basemap import FILE -layer NAME)")
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ORDER\tLAYER\tFEATURES\tPOSITIONS\tSOURCE\tFORMAT\tREVISION\tBY\tAT")
	for _, x := range resp.Layers {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%s\t%d\t%s\t%s\n", x.Order, x.Name, x.Features, x.Vertices, x.Source, x.Format, x.Revision, x.ImportedBy, x.ImportedAt.UTC().Format(time.DateTime))
	}
	return tw.Flush()
}
