package app_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/app"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
)

func TestBasemapCLI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(t, store.SQLite)
	ts := startServer(t, cfg)
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	if err := ts.Identity.CreateComponent(ctx, admin, identity.Component{Code: "CBP", Name: "CBP"}); err != nil {
		t.Fatal(err)
	}
	run := func(env map[string]string, args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := app.MainIO(ctx, args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
		return out.String(), errb.String(), code
	}
	login := func(id string, role auth.Role, component string) map[string]string {
		t.Helper()
		env := map[string]string{"PROBITY_CREDENTIALS": filepath.Join(dir, id+".json"), "PROBITY_URL": ts.URL}
		secret := enrolProgramPerson(t, ts, id, role, component)
		code, _ := authn.TOTPCode(secret, time.Now())
		var out, errb bytes.Buffer
		if n := app.MainIO(ctx, []string{"login", "-url", ts.URL, "-days", "1"}, func(k string) string { return env[k] }, strings.NewReader(id+"\ntulip orbit granite seven\n"+code+"\n"), &out, &errb); n != 0 {
			t.Fatalf("login %s: exit %d: %s%s", id, n, out.String(), errb.String())
		}
		return env
	}
	cpo := login("cbp-cpo", auth.ComponentPrivacyOfficer, "CBP")
	analyst := login("cbp-an", auth.Analyst, "CBP")
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	streets := file("streets.geojson", `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"name":"Main Street","class":"major"},"geometry":{"type":"LineString","coordinates":[[-77.05,38.9],[-77.0,38.9]]}}]}`)
	districts := file("districts.json", `{"type":"Topology","objects":{"d":{"type":"Polygon","arcs":[[0]],"properties":{"name":"Centre"}}},
"arcs":[[[-77.05,38.88],[-77.0,38.88],[-77.0,38.92],[-77.05,38.88]]]}`)

	t.Run("OKImport", func(t *testing.T) {
		out, errOut, code := run(cpo, "basemap", "import", streets, "--layer", "streets", "-order", "20")
		if code != 0 || !strings.Contains(out, "basemap layer streets imported: 1 features, 2 positions from streets.geojson (0 without a geometry skipped)") || !strings.Contains(out, "sha256:") {
			t.Fatalf("import: exit %d: %s%s", code, out, errOut)
		}
		// A .json file is told to be TopoJSON from its content.
		out, errOut, code = run(cpo, "basemap", "import", "-layer", "districts", districts)
		if code != 0 || !strings.Contains(out, "basemap layer districts imported: 1 features") {
			t.Fatalf("import topojson: exit %d: %s%s", code, out, errOut)
		}
		// Everyone signed in lists the layers, in drawing order.
		out, errOut, code = run(analyst, "basemap", "list")
		if code != 0 || strings.Index(out, "districts") > strings.Index(out, "streets") || !strings.Contains(out, "topojson") || !strings.Contains(out, "cbp-cpo") {
			t.Fatalf("list: exit %d: %s%s", code, out, errOut)
		}
		layers, err := ts.Basemaps.Layers(ctx, admin)
		if err != nil || len(layers) != 2 || layers[1].Layer.Features[0].Name != "Main Street" {
			t.Fatalf("stored layers %+v, %v", layers, err)
		}
	})
	t.Run("OKReplace", func(t *testing.T) {
		f := file("streets2.geojson", `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"name":"Main Street"},"geometry":{"type":"LineString","coordinates":[[-77.05,38.9],[-77.0,38.9]]}},
{"type":"Feature","properties":{"name":"Dock Street"},"geometry":{"type":"LineString","coordinates":[[-77.03,38.89],[-77.03,38.91]]}}]}`)
		out, errOut, code := run(cpo, "basemap", "import", f, "-layer", "streets")
		if code != 1 || !strings.Contains(errOut, "there is a layer streets already") {
			t.Fatalf("import over a layer: exit %d: %s%s", code, out, errOut)
		}
		out, errOut, code = run(cpo, "basemap", "import", f, "-layer", "streets", "-replace", "-order", "20")
		if code != 0 || !strings.Contains(out, "basemap layer streets replaced (revision 2): 2 features") {
			t.Fatalf("replace: exit %d: %s%s", code, out, errOut)
		}
	})
	t.Run("ErrImport", func(t *testing.T) {
		bad := file("bad.geojson", "{\"type\":\"FeatureCollection\",\"features\":[\n{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,1]]]}}]}")
		out, errOut, code := run(cpo, "basemap", "import", bad, "-layer", "bad")
		if code != 1 || !strings.Contains(errOut, "feature 0 (line 2): geometry.coordinates[0]: the ring is not closed") || !strings.Contains(errOut, "nothing was") {
			t.Fatalf("bad file: exit %d: %s%s", code, out, errOut)
		}
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"import", streets}, "give the layer's name"},
			{[]string{"import", streets, "-layer", "Bad Name"}, "a layer's name is 1 to 63"},
			{[]string{"import", "-layer", "x"}, "give one file"},
			{[]string{"import", streets, "-layer", "x", "-format", "kml"}, `unknown format "kml"`},
			{[]string{"delete"}, "give one layer"},
			{[]string{"rename"}, `unknown command "rename"`},
		} {
			if out, errOut, code := run(cpo, append([]string{"basemap"}, c.args...)...); code != 2 || !strings.Contains(errOut, c.want) {
				t.Errorf("basemap %v: exit %d: %s%s", c.args, code, out, errOut)
			}
		}
		if out, errOut, code := run(cpo, "basemap", "import", filepath.Join(dir, "missing.geojson"), "-layer", "x"); code != 1 || !strings.Contains(errOut, "no such file") {
			t.Errorf("missing file: exit %d: %s%s", code, out, errOut)
		}
		if out, errOut, code := run(analyst, "basemap", "import", streets, "-layer", "mine"); code != 1 || !strings.Contains(errOut, "403") {
			t.Errorf("an analyst imports: exit %d: %s%s", code, out, errOut)
		}
		if out, errOut, code := run(analyst, "basemap", "delete", "streets"); code != 1 || !strings.Contains(errOut, "403") {
			t.Errorf("an analyst deletes: exit %d: %s%s", code, out, errOut)
		}
		if list, err := ts.Basemaps.List(ctx, admin); err != nil || len(list) != 2 {
			t.Errorf("refused commands changed the layers: %+v, %v", list, err)
		}
	})
	t.Run("OKDelete", func(t *testing.T) {
		out, errOut, code := run(cpo, "basemap", "delete", "districts")
		if code != 0 || !strings.Contains(out, "basemap layer districts removed") {
			t.Fatalf("delete: exit %d: %s%s", code, out, errOut)
		}
		if out, errOut, code := run(cpo, "basemap", "delete", "districts"); code != 1 || !strings.Contains(errOut, `there is no basemap layer "districts"`) {
			t.Errorf("delete again: exit %d: %s%s", code, out, errOut)
		}
		out, errOut, code = run(analyst, "basemap", "list", "-json")
		if code != 0 || strings.Contains(out, "districts") || !strings.Contains(out, `"name": "streets"`) {
			t.Errorf("list after delete: exit %d: %s%s", code, out, errOut)
		}
	})
	t.Run("OKHelp", func(t *testing.T) {
		out, _, code := run(nil, "basemap", "help")
		if code != 0 || !strings.Contains(out, "probity basemap COMMAND") {
			t.Errorf("help: exit %d: %s", code, out)
		}
	})
}
