package store_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
	"github.com/probity-dev/probity/internal/storewatch"
)

func TestReleases_StoreWatch(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testStoreWatch(t, d) })
	}
}

// testStoreWatch watches the app's listing on a fake store on 127.0.0.1
// that publishes 3.2.0 and 3.2.1, of which no release was approved: one
// high-severity alert each, once, however often the listing is read.
func testStoreWatch(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := storetest.MustReleaseOrg(t, d)
	var body atomic.Value
	body.Store(`{"releases": [{"version": "3.2.1", "published_at": "2026-11-20"}, {"version": "3.2.0"}]}`)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body.Load().(string)))
	}))
	defer fake.Close()
	al := o.DB.Alerts(nil)
	client, err := storewatch.NewClient(storewatch.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	watcher, err := storewatch.NewWatcher(storewatch.Config{Apps: o.Releases.StoreWatch(al), Client: client})
	if err != nil {
		t.Fatal(err)
	}
	listing := storewatch.Listing{Kind: storewatch.JSONEndpoint, URL: fake.URL + "/mpc.json", VersionPath: "releases[*].version", DatePath: "releases[*].published_at"}

	t.Run("ErrSetListing", func(t *testing.T) {
		if err := o.Releases.SetListing(ctx, o.As["cbp-cpo"], o.App.ID, &listing); fault.CodeOf(err) != fault.Forbidden {
			t.Errorf("a privacy officer set the listing: %v", err)
		}
		bad := listing
		bad.VersionPath = ""
		if err := o.Releases.SetListing(ctx, o.As["cbp-isso"], o.App.ID, &bad); fault.CodeOf(err) != fault.Invalid {
			t.Errorf("a listing without its version path: %v", err)
		}
		if _, ok, err := o.Releases.Watch(ctx, o.As["cbp-isso"], o.App.ID); ok || err != nil {
			t.Errorf("watched after refusals: %v, %v", ok, err)
		}
	})

	if err := o.Releases.SetListing(ctx, o.As["cbp-isso"], o.App.ID, &listing); err != nil {
		t.Fatal(err)
	}
	t.Run("OKUnapproved", func(t *testing.T) {
		for run := range 2 {
			s, err := watcher.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := 2
			if run > 0 {
				want = 0
			}
			if s.Apps != 1 || s.Failed != 0 || s.Reported != want {
				t.Errorf("run %d: %+v, want %d reported", run, s, want)
			}
		}
		list, err := al.List(ctx, o.As["cbp-cpo"], store.AlertFilter{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range list {
			if a.Detector == storewatch.Detector && a.Severity == alerts.High && a.Component == "CBP" {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d store-watch alerts, want 2", n)
		}
		w, ok, err := o.Releases.Watch(ctx, o.As["cbp-cpo"], o.App.ID)
		if err != nil || !ok || w.CheckedAt.IsZero() || w.Error != "" || !slices.Equal(w.Published, []string{"3.2.1", "3.2.0"}) || len(w.Unapproved) != 2 {
			t.Errorf("watch = %+v, %v, %v", w, ok, err)
		}
	})

	t.Run("ErrListingBroken", func(t *testing.T) {
		body.Store(`{"releases": [`)
		s, err := watcher.RunOnce(ctx)
		if err != nil || s.Failed != 1 {
			t.Fatalf("run = %+v, %v", s, err)
		}
		w, _, err := o.Releases.Watch(ctx, o.As["cbp-isso"], o.App.ID)
		if err != nil || w.Error == "" || len(w.Published) != 0 {
			t.Errorf("watch after a broken listing = %+v, %v", w, err)
		}
	})

	t.Run("OKUnwatch", func(t *testing.T) {
		if err := o.Releases.SetListing(ctx, o.As["cbp-isso"], o.App.ID, nil); err != nil {
			t.Fatal(err)
		}
		if s, err := watcher.RunOnce(ctx); err != nil || s.Apps != 0 {
			t.Errorf("run after unwatching = %+v, %v", s, err)
		}
	})
}
