package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/app"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/places"
	"github.com/probity-dev/probity/internal/store"
)

// placesLogs is a log destination several goroutines write to.
type placesLogs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *placesLogs) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *placesLogs) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitPlaces waits until the server's screening index reaches version v.
func waitPlaces(t *testing.T, ts *testServer, v int64) *places.Snapshot {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if s := ts.PlacesIndex.Current(); s.Version >= v {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the places index is at version %d after 10 s, want %d", ts.PlacesIndex.Current().Version, v)
		}
	}
}

func TestPlacesCLI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(t, store.SQLite)
	cfg.AdminToken, cfg.AuditorToken = "", ""
	logs := &placesLogs{}
	ts := startServerWith(t, cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	if err := ts.Identity.CreateComponent(ctx, admin, identity.Component{Code: "CBP", Name: "CBP"}); err != nil {
		t.Fatal(err)
	}
	if s := ts.PlacesIndex.Current(); s == nil || s.Version != 0 || s.Zones.Len() != 0 {
		t.Fatalf("the index at start: %+v", s)
	}
	run := func(env map[string]string, stdin string, args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := app.MainIO(ctx, args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
		return out.String(), errb.String(), code
	}
	login := func(id string, role auth.Role, component string) map[string]string {
		t.Helper()
		env := map[string]string{"PROBITY_CREDENTIALS": filepath.Join(dir, id+".json")}
		secret := enrolProgramPerson(t, ts, id, role, component)
		code, _ := authn.TOTPCode(secret, time.Now())
		if out, errOut, n := run(env, id+"\ntulip orbit granite seven\n"+code+"\n", "login", "-url", ts.URL, "-days", "1"); n != 0 {
			t.Fatalf("login %s: exit %d: %s%s", id, n, out, errOut)
		}
		return env
	}
	cpo := login("cbp-cpo", auth.ComponentPrivacyOfficer, "CBP")
	auditor := login("audit1", auth.Auditor, "")
	login("cbp-an", auth.Analyst, "CBP")
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("OKImport", func(t *testing.T) {
		f := file("nyc.geojson", `{"type":"FeatureCollection","features":[
{"type":"Feature","id":"node/1","properties":{"amenity":"place_of_worship","name":"St. CLI"},"geometry":{"type":"Point","coordinates":[-73.9857,40.7484]}},
{"type":"Feature","properties":{"amenity":"bicycle_parking"},"geometry":{"type":"Point","coordinates":[-73.95,40.70]}}]}`)
		out, errOut, code := run(cpo, "", "places", "import", "-url", ts.URL, "--category-property", "amenity", "--skip-unmapped", f)
		if code != 0 || !strings.Contains(out, "1 places from nyc.geojson for CBP (1 skipped), sha256:") {
			t.Fatalf("import: exit %d: %s%s", code, out, errOut)
		}
		s := waitPlaces(t, ts, 1)
		if s.Zones.Len() != 1 || !s.Zones.Any(40.7484, -73.9857) || s.Zones.Any(40.70, -73.95) {
			t.Errorf("the rebuilt index holds %d zones", s.Zones.Len())
		}
		f = file("dept.csv", "name,category,lat,lon,radius_m\nField office,agency_facility,40.7128,-74.0060,300\n")
		if out, errOut, code := run(cpo, "", "places", "import", "-url", ts.URL, f); code != 0 {
			t.Fatalf("import csv: exit %d: %s%s", code, out, errOut)
		}
		s = waitPlaces(t, ts, 2)
		if got := s.Zones.At(40.7128, -74.0060, nil); len(got) != 1 || s.Zones.Zone(got[0]).Category.Flag() != "agency_facility" {
			t.Errorf("the field office: %v", got)
		}
		out, errOut, code = run(cpo, "", "places", "list", "-url", ts.URL)
		if code != 0 || !strings.Contains(out, "St. CLI") || !strings.Contains(out, "Field office") || !strings.Contains(out, "100 m around 40.748400,-73.985700") {
			t.Fatalf("list: exit %d: %s%s", code, out, errOut)
		}
		out, errOut, code = run(auditor, "", "places", "summary", "-url", ts.URL)
		if code != 0 || !strings.Contains(out, "place_of_worship") || !strings.Contains(out, "agency_facility") || !strings.Contains(out, "nyc.geojson") {
			t.Fatalf("summary: exit %d: %s%s", code, out, errOut)
		}
	})
	t.Run("ErrImport", func(t *testing.T) {
		before := ts.PlacesIndex.Current().Version
		f := file("bad.csv", "name,category,lat,lon,radius_m\nA,school,40.7,-73.9,\nB,school,north,-73.9,\n")
		out, errOut, code := run(cpo, "", "places", "import", "-url", ts.URL, f)
		if code != 1 || !strings.Contains(errOut, `line 3: lat: want a decimal number of degrees, got "north"`) || !strings.Contains(errOut, "nothing was") {
			t.Fatalf("bad file: exit %d: %s%s", code, out, errOut)
		}
		if out, errOut, code := run(cpo, "", "places", "import", "-url", ts.URL, file("x.kml", "")); code != 2 || !strings.Contains(errOut, "-format geojson or -format csv") {
			t.Errorf("unknown extension: exit %d: %s%s", code, out, errOut)
		}
		if out, errOut, code := run(auditor, "", "places", "import", "-url", ts.URL, file("ok.csv", "category,lat,lon\nschool,1,2\n")); code != 1 || !strings.Contains(errOut, "403") {
			t.Errorf("auditor imports: exit %d: %s%s", code, out, errOut)
		}
		if out, errOut, code := run(cpo, "", "places", "import", "-url", ts.URL, filepath.Join(dir, "missing.csv")); code != 1 || !strings.Contains(errOut, "no such file") {
			t.Errorf("missing file: exit %d: %s%s", code, out, errOut)
		}
		if ts.PlacesIndex.Current().Version != before {
			t.Error("a refused import changed the places")
		}
	})
	t.Run("OKHome", func(t *testing.T) {
		p, err := ts.Identity.PersonByEmployeeID(ctx, "cbp-an")
		if err != nil {
			t.Fatal(err)
		}
		before := ts.PlacesIndex.Current().Version
		id := itoa(p.ID)
		out, errOut, code := run(cpo, "40.69874, -73.94421\n", "places", "home", "-url", ts.URL, "-radius", "200", id)
		if code != 0 || !strings.Contains(out, "only keyed hashes") || strings.Contains(out, "40.69874") {
			t.Fatalf("home: exit %d: %s%s", code, out, errOut)
		}
		s := waitPlaces(t, ts, before+1)
		if got := s.Homes.At(40.69874, -73.94421); !slices.Equal(got, []int64{p.ID}) {
			t.Errorf("the home index finds %v", got)
		}
		for _, form := range []string{"40.69874", "73.94421", "40.6987", "-73.9442"} {
			if strings.Contains(logs.String(), form) {
				t.Errorf("the server's logs show the home's coordinates (%s)", form)
			}
		}
		if out, errOut, code := run(cpo, "north\n", "places", "home", "-url", ts.URL, id); code != 2 || !strings.Contains(errOut, "LAT,LON") {
			t.Errorf("bad position: exit %d: %s%s", code, out, errOut)
		}
		if out, errOut, code := run(cpo, "", "places", "home", "-url", ts.URL, "-clear", id); code != 0 || !strings.Contains(out, "forgotten") {
			t.Fatalf("clear: exit %d: %s%s", code, out, errOut)
		}
		if s := waitPlaces(t, ts, before+2); s.Homes.Len() != 0 {
			t.Error("the cleared home is still indexed")
		}
	})
	t.Run("OKRestart", func(t *testing.T) {
		// A new server over the same data builds the same index at start,
		// with the same home-cell key.
		v := ts.PlacesIndex.Current().Version + 1
		if out, errOut, code := run(cpo, "40.7,-73.9\n", "places", "home", "-url", ts.URL, itoa(ts.personID(t, "cbp-cpo"))); code != 0 {
			t.Fatalf("home: exit %d: %s%s", code, out, errOut)
		}
		waitPlaces(t, ts, v)
		ts.Stop()
		again := startServer(t, cfg)
		s := again.PlacesIndex.Current()
		if s.Version != v || s.Zones.Len() != 2 || len(s.Homes.At(40.7, -73.9)) != 1 {
			t.Errorf("after a restart: version %d (want %d), %d zones, homes %v", s.Version, v, s.Zones.Len(), s.Homes.At(40.7, -73.9))
		}
	})
}

// personID returns the ID of the person with the employee ID.
func (ts *testServer) personID(t *testing.T, employeeID string) int64 {
	t.Helper()
	p, err := ts.Identity.PersonByEmployeeID(context.Background(), employeeID)
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// startServerWith is startServer with the server's logs going to log.
func startServerWith(t *testing.T, cfg app.Config, log *slog.Logger) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := app.OpenServer(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("open server: %v", err)
	}
	if err := srv.Listen(); err != nil {
		cancel()
		srv.Close()
		t.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	ts := &testServer{Server: srv, Cfg: cfg}
	var once bool
	ts.stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		<-done
		srv.Close()
	}
	t.Cleanup(ts.stop)
	return ts
}
