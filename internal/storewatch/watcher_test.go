package storewatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/storewatch"
)

// fakeApps is an in-memory [storewatch.Apps]: the release store's part,
// with the same idempotence (one report per app and version).
type fakeApps struct {
	mu        sync.Mutex
	apps      []storewatch.App
	approved  map[int64][]string
	reported  map[int64][]string
	sightings []storewatch.Sighting
	raised    []alerts.Alert
	checks    map[int64][]storewatch.Check
	calls     map[string]int
	// failing makes the named method fail.
	failing map[string]error
}

var _ storewatch.Apps = (*fakeApps)(nil)

func newFakeApps(apps ...storewatch.App) *fakeApps {
	return &fakeApps{apps: apps, approved: map[int64][]string{}, reported: map[int64][]string{}, checks: map[int64][]storewatch.Check{}, calls: map[string]int{}, failing: map[string]error{}}
}

func (f *fakeApps) call(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[name]++
	return f.failing[name]
}

func (f *fakeApps) Watched(ctx context.Context) ([]storewatch.App, error) {
	if err := f.call("Watched"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.apps), nil
}

func (f *fakeApps) Approved(ctx context.Context, appID int64) ([]string, error) {
	if err := f.call("Approved"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.approved[appID]), nil
}

func (f *fakeApps) Reported(ctx context.Context, appID int64) ([]string, error) {
	if err := f.call("Reported"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reported[appID]), nil
}

func (f *fakeApps) Unapproved(ctx context.Context, s storewatch.Sighting) (bool, error) {
	if err := f.call("Unapproved"); err != nil {
		return false, err
	}
	a := s.Alert()
	if err := a.Validate(); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if slices.Contains(f.reported[s.App.ID], storewatch.NormalizeVersion(s.Version.Version)) {
		return false, nil
	}
	f.reported[s.App.ID] = append(f.reported[s.App.ID], storewatch.NormalizeVersion(s.Version.Version))
	f.sightings = append(f.sightings, s)
	f.raised = append(f.raised, a)
	return true, nil
}

func (f *fakeApps) Checked(ctx context.Context, c storewatch.Check) error {
	if err := f.call("Checked"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks[c.AppID] = append(f.checks[c.AppID], c)
	return nil
}

func (f *fakeApps) approve(appID int64, versions ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.approved[appID] = append(f.approved[appID], versions...)
}

// lastCheck returns app id's last recorded check.
func (f *fakeApps) lastCheck(t testing.TB, id int64) storewatch.Check {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	cs := f.checks[id]
	if len(cs) == 0 {
		t.Fatalf("app %d has no recorded check", id)
	}
	return cs[len(cs)-1]
}

// reports returns the versions reported, as "appID:version".
func (f *fakeApps) reports() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.sightings {
		out = append(out, fmt.Sprintf("%d:%s", s.App.ID, s.Version.Version))
	}
	slices.Sort(out)
	return out
}

var now = time.Date(2025, 4, 1, 9, 30, 0, 0, time.UTC)

func mustWatcher(t testing.TB, apps storewatch.Apps, client *storewatch.Client, change func(*storewatch.Config)) *storewatch.Watcher {
	t.Helper()
	cfg := storewatch.Config{Apps: apps, Client: client, Now: func() time.Time { return now }}
	if change != nil {
		change(&cfg)
	}
	w, err := storewatch.NewWatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func mustRun(t testing.TB, w *storewatch.Watcher) storewatch.Summary {
	t.Helper()
	s, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func passportApp(id int64, bundleID string) storewatch.App {
	return storewatch.App{ID: id, Name: "Passport Control Example", Platform: "ios", BundleID: bundleID, Component: "CBP",
		Listing: storewatch.Listing{Kind: storewatch.AppStore}}
}

func TestWatcher_RunOnce(t *testing.T) {
	t.Run("ApprovedVersionNotReported", func(t *testing.T) {
		store := startStore(t, false)
		store.setApp("gov.example.passport", "Passport Control Example", "4.12.1", "2025-03-18T16:02:41Z")
		store.serve("/releases", `[{"tag_name":"v2.0.0"},{"tag_name":"v1.9.0"}]`)
		apps := newFakeApps(passportApp(1, "gov.example.passport"),
			storewatch.App{ID: 2, Name: "Field Notes", Platform: "android", BundleID: "gov.example.notes", Component: "ICE", Listing: jsonListing(store.URL+"/releases", "[*].tag_name", "")})
		apps.approve(1, "4.11.0", "4.12.1")
		apps.approve(2, "1.9.0", "2.0.0") // the listing writes them with a "v"
		s := mustRun(t, mustWatcher(t, apps, mustClient(t, store, nil), nil))
		if s != (storewatch.Summary{Apps: 2}) {
			t.Fatalf("summary %+v, want 2 apps checked, nothing reported", s)
		}
		if got := apps.reports(); len(got) != 0 {
			t.Fatalf("reported %v", got)
		}
		c := apps.lastCheck(t, 1)
		if c.Err != nil || len(c.Published) != 1 || c.Published[0].Version != "4.12.1" || len(c.Unapproved) != 0 || !c.At.Equal(now) {
			t.Fatalf("check %+v", c)
		}
	})
	t.Run("UnapprovedReportedOnce", func(t *testing.T) {
		store := startStore(t, false)
		store.setApp("gov.example.passport", "Passport Control Example", "4.12.1", "2025-03-18T16:02:41Z")
		store.serve("/api/app", `{"data":{"releases":[{"version":"3.1.0","date":"2025-03-02"},{"version":"3.0.0","date":"2025-01-10"}]}}`)
		apps := newFakeApps(passportApp(1, "gov.example.passport"),
			storewatch.App{ID: 2, Name: "Field Notes", Platform: "android", BundleID: "gov.example.notes", Component: "ICE", Listing: jsonListing(store.URL+"/api/app", "data.releases[*].version", "data.releases[*].date")})
		apps.approve(1, "4.11.0")
		apps.approve(2, "3.0.0")
		w := mustWatcher(t, apps, mustClient(t, store, nil), nil)
		if s := mustRun(t, w); s != (storewatch.Summary{Apps: 2, Reported: 2}) {
			t.Fatalf("first run: %+v, want 2 reported", s)
		}
		for range 3 {
			if s := mustRun(t, w); s != (storewatch.Summary{Apps: 2}) {
				t.Fatalf("a later run: %+v, want nothing reported", s)
			}
		}
		if got, want := apps.reports(), []string{"1:4.12.1", "2:3.1.0"}; !slices.Equal(got, want) {
			t.Fatalf("reported %v, want %v", got, want)
		}
		if n := apps.calls["Unapproved"]; n != 2 {
			t.Errorf("Unapproved called %d times, want 2: versions reported before are not reported again", n)
		}
		c := apps.lastCheck(t, 2)
		if c.Err != nil || !slices.Equal(c.Unapproved, []string{"3.1.0"}) || c.Reported != 0 {
			t.Fatalf("last check of app 2: %+v", c)
		}

		// A new version is reported, once; the one before is not again.
		store.setApp("gov.example.passport", "Passport Control Example", "4.13.0", "2025-04-01T08:00:00Z")
		mustRun(t, w)
		mustRun(t, w)
		if got, want := apps.reports(), []string{"1:4.12.1", "1:4.13.0", "2:3.1.0"}; !slices.Equal(got, want) {
			t.Fatalf("reported %v, want %v", got, want)
		}

		// What the report says.
		var s storewatch.Sighting
		for _, x := range apps.sightings {
			if x.App.ID == 2 {
				s = x
			}
		}
		if s.Version != (storewatch.Version{Version: "3.1.0", Released: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)}) || !s.SeenAt.Equal(now) || !slices.Equal(s.Approved, []string{"3.0.0"}) {
			t.Fatalf("sighting %+v", s)
		}
	})
	t.Run("ApprovalAfterReport", func(t *testing.T) {
		store := startStore(t, false)
		store.setApp("gov.example.passport", "P", "1.0", "")
		apps := newFakeApps(passportApp(1, "gov.example.passport"))
		w := mustWatcher(t, apps, mustClient(t, store, nil), nil)
		mustRun(t, w)
		apps.approve(1, "1.0")
		mustRun(t, w)
		if c := apps.lastCheck(t, 1); c.Err != nil || len(c.Unapproved) != 0 {
			t.Fatalf("after the approval, check %+v still lists unapproved versions", c)
		}
		if got := apps.reports(); len(got) != 1 {
			t.Fatalf("reported %v", got)
		}
	})
	t.Run("FailuresRecordedOthersChecked", func(t *testing.T) {
		store := startStore(t, false)
		store.setApp("gov.example.ok", "OK", "2.0", "")
		store.handle("/500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) })
		store.serve("/garbage", "\x00\x01 not json")
		store.serve("/big", `{"version":"9.9","pad":"`+strings.Repeat("x", 70<<10)+`"}`)
		store.serve("/missing", `{"data":{}}`)
		store.handle("/slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		})
		down := startStore(t, false)
		downURL := down.URL
		down.Close()
		listings := map[int64]storewatch.Listing{
			2: jsonListing(store.URL+"/500", "version", ""),
			3: jsonListing(store.URL+"/garbage", "version", ""),
			4: jsonListing(store.URL+"/big", "version", ""),
			5: jsonListing(store.URL+"/slow", "version", ""),
			6: jsonListing(downURL+"/app", "version", ""),
			7: jsonListing(store.URL+"/missing", "data.version", ""),
			8: {Kind: storewatch.AppStore, BundleID: "gov.example.gone"},
		}
		want := map[int64]struct {
			code fault.Code
			msg  string
		}{
			2: {fault.Unavailable, "answered 500 Internal Server Error"},
			3: {fault.Invalid, "not JSON"},
			4: {fault.TooLarge, "larger than 65536 bytes"},
			5: {fault.Timeout, "did not answer within 300ms"},
			6: {fault.Unavailable, "cannot be reached"},
			7: {fault.Invalid, "no field data.version"},
			8: {fault.NotFound, "no app with bundle ID gov.example.gone"},
		}
		all := []storewatch.App{passportApp(1, "gov.example.ok")}
		for id := int64(2); id <= 8; id++ {
			all = append(all, storewatch.App{ID: id, Name: fmt.Sprint("App ", id), Component: "CBP", Listing: listings[id]})
		}
		apps := newFakeApps(all...)
		w := mustWatcher(t, apps, mustClient(t, store, func(cfg *storewatch.ClientConfig) { cfg.Timeout = 300 * time.Millisecond }), func(cfg *storewatch.Config) { cfg.Concurrency = 2 })
		s := mustRun(t, w)
		if s != (storewatch.Summary{Apps: 8, Failed: 7, Reported: 1}) {
			t.Fatalf("summary %+v, want 8 checked, 7 failed, 1 reported", s)
		}
		if got := apps.reports(); !slices.Equal(got, []string{"1:2.0"}) {
			t.Fatalf("reported %v, want only 1:2.0", got)
		}
		for id, w := range want {
			c := apps.lastCheck(t, id)
			if c.Published != nil || c.Unapproved != nil || c.Reported != 0 {
				t.Errorf("failed check of app %d: %+v", id, c)
			}
			if c.Err == nil || fault.CodeOf(c.Err) != w.code || !strings.Contains(fault.MessageOf(c.Err), w.msg) {
				t.Errorf("app %d: check error %v (%s), want %s with %q", id, c.Err, fault.CodeOf(c.Err), w.code, w.msg)
			}
		}
		if c := apps.lastCheck(t, 1); c.Err != nil {
			t.Errorf("app 1's check failed: %v", c.Err)
		}
	})
	t.Run("StoreFailures", func(t *testing.T) {
		store := startStore(t, false)
		store.setApp("gov.example.passport", "P", "1.0", "")
		for _, method := range []string{"Approved", "Reported", "Unapproved"} {
			t.Run(method, func(t *testing.T) {
				apps := newFakeApps(passportApp(1, "gov.example.passport"))
				apps.failing[method] = errors.New("database is locked")
				w := mustWatcher(t, apps, mustClient(t, store, nil), nil)
				if s := mustRun(t, w); s != (storewatch.Summary{Apps: 1, Failed: 1}) {
					t.Fatalf("summary %+v", s)
				}
				if c := apps.lastCheck(t, 1); c.Err == nil || !strings.Contains(c.Err.Error(), "database is locked") {
					t.Fatalf("check error %v", c.Err)
				}
				// Once the store works again, the version is reported.
				delete(apps.failing, method)
				if s := mustRun(t, w); s.Reported != 1 {
					t.Fatalf("summary %+v after recovery", s)
				}
			})
		}
	})
	t.Run("ErrWatched", func(t *testing.T) {
		apps := newFakeApps()
		apps.failing["Watched"] = errors.New("no database")
		if _, err := mustWatcher(t, apps, mustClient(t, nil, nil), nil).RunOnce(context.Background()); err == nil || !strings.Contains(err.Error(), "no database") {
			t.Fatalf("RunOnce = %v", err)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		store := startStore(t, false)
		store.handle("/slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		apps := newFakeApps(storewatch.App{ID: 1, Name: "A", Component: "CBP", Listing: jsonListing(store.URL+"/slow", "v", "")})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		if _, err := mustWatcher(t, apps, mustClient(t, store, nil), nil).RunOnce(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("RunOnce = %v, want context.Canceled", err)
		}
		if n := apps.calls["Checked"]; n != 0 {
			t.Fatalf("a check cut short was recorded (%d)", n)
		}
	})
}

func TestWatcher_Start(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		store := startStore(t, false)
		store.setApp("gov.example.passport", "P", "7.0", "")
		apps := newFakeApps(passportApp(1, "gov.example.passport"))
		w := mustWatcher(t, apps, mustClient(t, store, nil), func(cfg *storewatch.Config) {
			cfg.FirstAfter, cfg.Every = time.Millisecond, 5*time.Millisecond
		})
		w.Start(context.Background())
		deadline := time.Now().Add(10 * time.Second)
		for {
			apps.mu.Lock()
			n := len(apps.checks[1])
			apps.mu.Unlock()
			if n >= 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d checks after 10 s", n)
			}
			time.Sleep(5 * time.Millisecond)
		}
		w.Close()
		w.Close() // a second Close is harmless
		apps.mu.Lock()
		n := len(apps.checks[1])
		apps.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		apps.mu.Lock()
		defer apps.mu.Unlock()
		if len(apps.checks[1]) != n {
			t.Fatal("the watcher checked again after Close")
		}
		if len(apps.sightings) != 1 {
			t.Fatalf("%d reports, want 1", len(apps.sightings))
		}
	})
	t.Run("CloseCancelsRun", func(t *testing.T) {
		store := startStore(t, false)
		store.handle("/slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		apps := newFakeApps(storewatch.App{ID: 1, Name: "A", Component: "CBP", Listing: jsonListing(store.URL+"/slow", "v", "")})
		w := mustWatcher(t, apps, mustClient(t, store, func(cfg *storewatch.ClientConfig) { cfg.Timeout = time.Minute }), func(cfg *storewatch.Config) { cfg.FirstAfter = time.Millisecond })
		w.Start(context.Background())
		for {
			store.mu.Lock()
			n := len(store.requests)
			store.mu.Unlock()
			if n > 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		done := make(chan struct{})
		go func() { w.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not end a run in progress")
		}
	})
}

func TestNewWatcher(t *testing.T) {
	if _, err := storewatch.NewWatcher(storewatch.Config{Client: mustClient(t, nil, nil)}); err == nil {
		t.Fatal("a watcher without apps was made")
	}
}

func TestSighting_Alert(t *testing.T) {
	s := storewatch.Sighting{
		App:     storewatch.App{ID: 7, Name: "Passport Control Example", Platform: "ios", BundleID: "gov.example.passport", Component: "CBP", Listing: storewatch.Listing{Kind: storewatch.JSONEndpoint, URL: "https://store.example/api/app?token=s3cret", VersionPath: "data.version"}},
		Version: storewatch.Version{Version: "4.12.1", Released: time.Date(2025, 3, 18, 16, 2, 41, 0, time.UTC)},
		SeenAt:  now,
	}
	for i := range 60 {
		s.Approved = append(s.Approved, fmt.Sprintf("4.%d.0", i))
	}
	a := s.Alert()
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if storewatch.Detector != "unscanned_release" || a.Detector != storewatch.Detector || a.Severity != alerts.High || a.Component != "CBP" || a.QueryID != 0 || a.PersonID != 0 {
		t.Fatalf("alert %+v", a)
	}
	for _, want := range []string{"Version 4.12.1 of Passport Control Example (ios, gov.example.passport)", "released 2025-03-18", "seen 2025-04-01T09:30:00Z", "no approved release"} {
		if !strings.Contains(a.Explanation, want) {
			t.Errorf("explanation %q lacks %q", a.Explanation, want)
		}
	}
	var ev struct {
		AppID    int64    `json:"app_id"`
		Version  string   `json:"version"`
		Released string   `json:"released_at"`
		SeenAt   string   `json:"seen_at"`
		Count    int      `json:"approved_releases"`
		Approved []string `json:"approved_versions"`
		Listing  struct {
			Kind   string `json:"kind"`
			Source string `json:"source"`
			Path   string `json:"version_path"`
		} `json:"listing"`
	}
	if err := json.Unmarshal(a.Evidence, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.AppID != 7 || ev.Version != "4.12.1" || ev.Released != "2025-03-18T16:02:41Z" || ev.SeenAt != "2025-04-01T09:30:00Z" ||
		ev.Count != 60 || len(ev.Approved) != 50 || ev.Approved[49] != "4.59.0" ||
		ev.Listing.Kind != "json" || ev.Listing.Source != "https://store.example/api/app" || ev.Listing.Path != "data.version" {
		t.Fatalf("evidence %s", a.Evidence)
	}
	if strings.Contains(string(a.Evidence), "s3cret") || strings.Contains(a.Explanation, "s3cret") {
		t.Fatal("the alert holds the listing URL's query")
	}
	t.Run("UnrulyName", func(t *testing.T) {
		s := s
		s.App.Name = "Passport\x07\nControl " + strings.Repeat("A", 5000)
		a := s.Alert()
		if err := a.Validate(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(a.Explanation, "of Passport Control AAA") || !strings.Contains(a.Explanation, "A… (ios") {
			t.Fatalf("explanation %q", a.Explanation)
		}
	})
	t.Run("Undated", func(t *testing.T) {
		s := storewatch.Sighting{App: storewatch.App{ID: 3, Component: "ICE", Listing: storewatch.Listing{Kind: storewatch.AppStore, BundleID: "a.b"}}, Version: storewatch.Version{Version: "1.0"}, SeenAt: now}
		a := s.Alert()
		if err := a.Validate(); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(a.Explanation, "released") || !strings.Contains(a.Explanation, "Version 1.0 of app 3 is published") {
			t.Fatalf("explanation %q", a.Explanation)
		}
		if !strings.Contains(string(a.Evidence), `"source":"https://itunes.apple.com/lookup"`) || !strings.Contains(string(a.Evidence), `"approved_versions":[]`) {
			t.Fatalf("evidence %s", a.Evidence)
		}
	})
}
