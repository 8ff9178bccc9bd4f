package storewatch_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/storewatch"
)

// A fakeStore is a store listing server on 127.0.0.1: an App Store
// lookup API at /lookup answering for the bundle IDs in apps, and any
// other path answered by its handler in pages.
type fakeStore struct {
	*httptest.Server
	mu       sync.Mutex
	apps     map[string]string // bundle ID → lookup answer
	pages    map[string]http.HandlerFunc
	requests []*http.Request
}

func startStore(t testing.TB, tls bool) *fakeStore {
	t.Helper()
	s := &fakeStore{apps: map[string]string{}, pages: map[string]http.HandlerFunc{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Clone(context.Background()))
		answer, ok := s.apps[r.URL.Query().Get("bundleId")]
		page := s.pages[r.URL.Path]
		s.mu.Unlock()
		switch {
		case r.URL.Path == "/lookup" && ok:
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8") // as the App Store answers
			fmt.Fprint(w, answer)
		case r.URL.Path == "/lookup":
			fmt.Fprint(w, `{"resultCount":0,"results":[]}`)
		case page != nil:
			page(w, r)
		default:
			http.NotFound(w, r)
		}
	})
	s.Server = httptest.NewUnstartedServer(h)
	// The refused handshakes of the certificate test are expected.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

// setApp makes the lookup API answer for bundleID with one app at version.
func (s *fakeStore) setApp(bundleID, name, version, released string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[bundleID] = fmt.Sprintf(`{"resultCount":1,"results":[{"kind":"software","bundleId":%q,"trackName":%q,"version":%q,"currentVersionReleaseDate":%q,"trackViewUrl":"https://apps.apple.com/us/app/x/id1"}]}`, bundleID, name, version, released)
}

func (s *fakeStore) handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages[path] = h
}

// serve answers path with body, as JSON.
func (s *fakeStore) serve(path, body string) {
	s.handle(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	})
}

func (s *fakeStore) lastRequest(t testing.TB) *http.Request {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		t.Fatal("the store received no request")
	}
	return s.requests[len(s.requests)-1]
}

func mustClient(t testing.TB, store *fakeStore, change func(*storewatch.ClientConfig)) *storewatch.Client {
	t.Helper()
	cfg := storewatch.ClientConfig{Timeout: 2 * time.Second, MaxBody: 64 << 10}
	if store != nil {
		cfg.AppStoreURL = store.URL + "/lookup"
	}
	if change != nil {
		change(&cfg)
	}
	c, err := storewatch.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func jsonListing(url, versionPath, datePath string) storewatch.Listing {
	return storewatch.Listing{Kind: storewatch.JSONEndpoint, URL: url, VersionPath: versionPath, DatePath: datePath}
}

func appStoreListing(bundleID string) storewatch.Listing {
	return storewatch.Listing{Kind: storewatch.AppStore, BundleID: bundleID}
}

// wantFault fails t unless err is a fault with code and a message holding
// want.
func wantFault(t testing.TB, err error, code fault.Code, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %s with %q", code, want)
	}
	if fault.CodeOf(err) != code || !strings.Contains(fault.MessageOf(err), want) {
		t.Fatalf("error %q (%s), want %s with %q", fault.MessageOf(err), fault.CodeOf(err), code, want)
	}
}

func TestClient_Fetch(t *testing.T) {
	ctx := context.Background()
	t.Run("AppStore", func(t *testing.T) {
		store := startStore(t, false)
		store.setApp("gov.example.passport", "Passport Control Example", "4.12.1", "2025-03-18T16:02:41Z")
		store.setApp("gov.example.other", "Other", "1.0", "")
		c := mustClient(t, store, func(cfg *storewatch.ClientConfig) { cfg.UserAgent = "Probity-StoreWatch/1 (security office)" })
		l := appStoreListing("gov.example.passport")
		l.Country = "US"
		p, err := c.Fetch(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		want := []storewatch.Version{{Version: "4.12.1", Released: time.Date(2025, 3, 18, 16, 2, 41, 0, time.UTC)}}
		if len(p.Versions) != 1 || p.Versions[0] != want[0] || p.Name != "Passport Control Example" {
			t.Fatalf("Fetch = %+v, want %v of Passport Control Example", p, want)
		}
		r := store.lastRequest(t)
		if got := r.URL.Query(); got.Get("bundleId") != "gov.example.passport" || got.Get("country") != "us" {
			t.Errorf("query %v, want bundleId and country us", got)
		}
		if ua := r.Header.Get("User-Agent"); ua != "Probity-StoreWatch/1 (security office)" {
			t.Errorf("User-Agent %q", ua)
		}
	})
	t.Run("AppStoreFullAnswer", func(t *testing.T) {
		body, err := os.ReadFile("testdata/appstore_lookup.json")
		if err != nil {
			t.Fatal(err)
		}
		store := startStore(t, false)
		store.mu.Lock()
		store.apps["gov.example.passport"] = string(body)
		store.mu.Unlock()
		p, err := mustClient(t, store, nil).Fetch(ctx, appStoreListing("gov.example.passport"))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Versions) != 1 || p.Versions[0].Version != "4.12.1" || !p.Versions[0].Released.Equal(time.Date(2025, 3, 18, 16, 2, 41, 0, time.UTC)) {
			t.Fatalf("Fetch = %+v", p)
		}
	})
	t.Run("AppStoreListingURL", func(t *testing.T) {
		store := startStore(t, false)
		store.setApp("gov.example.passport", "P", "1.2", "")
		// The client's default App Store URL is unreachable; the
		// listing's own lookup URL is used.
		c := mustClient(t, nil, func(cfg *storewatch.ClientConfig) { cfg.AppStoreURL = "http://127.0.0.1:1/lookup" })
		l := appStoreListing("gov.example.passport")
		l.URL = store.URL + "/lookup"
		if p, err := c.Fetch(ctx, l); err != nil || p.Versions[0].Version != "1.2" {
			t.Fatalf("Fetch = %+v, %v", p, err)
		}
	})
	t.Run("JSONEndpoint", func(t *testing.T) {
		store := startStore(t, false)
		store.serve("/api/app", `{"data":{"latest":{"version":"2.4.1","released":"2025-01-02T03:04:05Z"}}}`)
		store.serve("/api/releases", `{"releases":[
			{"version":"2.4.1","published_at":"2025-01-02T03:04:05Z","draft":false},
			{"version":"2.4.0","published_at":"2024-12-01T00:00:00Z"},
			{"note":"a draft without a version"},
			{"version":"2.3.9"}]}`)
		store.serve("/repos/x/y/releases", `[{"tag_name":"v2.4.1","published_at":"2025-01-02T03:04:05Z"},{"tag_name":"v2.4.0","published_at":"2024-12-01T00:00:00Z"}]`)
		c := mustClient(t, store, nil)
		for _, tc := range []struct {
			name string
			l    storewatch.Listing
			want []storewatch.Version
		}{
			{"Nested", jsonListing(store.URL+"/api/app", "data.latest.version", "data.latest.released"), []storewatch.Version{{"2.4.1", time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}}},
			{"Array", jsonListing(store.URL+"/api/releases", "releases[*].version", "releases[*].published_at"), []storewatch.Version{
				{"2.4.1", time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, {"2.4.0", time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC)}, {"2.3.9", time.Time{}}}},
			{"ArrayWithoutDates", jsonListing(store.URL+"/api/releases", "releases[*].version", ""), []storewatch.Version{{"2.4.1", time.Time{}}, {"2.4.0", time.Time{}}, {"2.3.9", time.Time{}}}},
			{"TopLevelArray", jsonListing(store.URL+"/repos/x/y/releases", "[*].tag_name", "[*].published_at"), []storewatch.Version{
				{"v2.4.1", time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, {"v2.4.0", time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC)}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p, err := c.Fetch(ctx, tc.l)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(p.Versions) != fmt.Sprint(tc.want) {
					t.Fatalf("versions %v, want %v", p.Versions, tc.want)
				}
			})
		}
	})
	t.Run("RedirectOnSameHost", func(t *testing.T) {
		store := startStore(t, false)
		store.serve("/v2/app", `{"version":"3.0"}`)
		store.handle("/v1/app", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/v2/app", http.StatusMovedPermanently)
		})
		p, err := mustClient(t, store, nil).Fetch(ctx, jsonListing(store.URL+"/v1/app", "version", ""))
		if err != nil || p.Versions[0].Version != "3.0" {
			t.Fatalf("Fetch = %+v, %v", p, err)
		}
		if ua := store.lastRequest(t).Header.Get("User-Agent"); ua != storewatch.DefaultUserAgent {
			t.Errorf("the redirected request's User-Agent is %q", ua)
		}
	})
	t.Run("TLS", func(t *testing.T) {
		store := startStore(t, true)
		store.serve("/app", `{"version":"5.0"}`)
		pool := x509.NewCertPool()
		pool.AddCert(store.Certificate())
		p, err := mustClient(t, store, func(cfg *storewatch.ClientConfig) { cfg.RootCAs = pool }).Fetch(ctx, jsonListing(store.URL+"/app", "version", ""))
		if err != nil || p.Versions[0].Version != "5.0" {
			t.Fatalf("Fetch = %+v, %v", p, err)
		}
	})

	t.Run("ErrDowngrade", func(t *testing.T) {
		store := startStore(t, true)
		store.handle("/app", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://"+r.Host+"/plain", http.StatusFound)
		})
		pool := x509.NewCertPool()
		pool.AddCert(store.Certificate())
		_, err := mustClient(t, store, func(cfg *storewatch.ClientConfig) { cfg.RootCAs = pool }).Fetch(ctx, jsonListing(store.URL+"/app", "version", ""))
		wantFault(t, err, fault.Unavailable, "is not read: it redirects from https to http")
	})
	t.Run("ErrUntrustedCertificate", func(t *testing.T) {
		store := startStore(t, true)
		store.serve("/app", `{"version":"5.0"}`)
		_, err := mustClient(t, store, nil).Fetch(ctx, jsonListing(store.URL+"/app", "version", ""))
		wantFault(t, err, fault.Unavailable, "cannot be reached: its certificate is not trusted")
		if _, ok := errors.AsType[x509.UnknownAuthorityError](err); !ok {
			t.Fatalf("error %v does not carry the certificate's verification failure", err)
		}
	})
	t.Run("ErrDown", func(t *testing.T) {
		store := startStore(t, false)
		url := store.URL
		store.Close()
		_, err := mustClient(t, nil, nil).Fetch(ctx, jsonListing(url+"/app", "version", ""))
		wantFault(t, err, fault.Unavailable, "the store listing at "+strings.TrimPrefix(url, "http://")+" cannot be reached")
	})
	t.Run("ErrStatus", func(t *testing.T) {
		store := startStore(t, false)
		store.handle("/500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) })
		store.handle("/503", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "later", http.StatusServiceUnavailable) })
		c := mustClient(t, store, nil)
		_, err := c.Fetch(ctx, jsonListing(store.URL+"/500", "version", ""))
		wantFault(t, err, fault.Unavailable, "answered 500 Internal Server Error, not 200 OK")
		_, err = c.Fetch(ctx, jsonListing(store.URL+"/503", "version", ""))
		wantFault(t, err, fault.Unavailable, "answered 503 Service Unavailable")
		_, err = c.Fetch(ctx, jsonListing(store.URL+"/nothing-here?token=secret", "version", ""))
		wantFault(t, err, fault.NotFound, "answered 404 Not Found")
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("the error %q holds the URL's query", err)
		}
	})
	t.Run("ErrNotJSON", func(t *testing.T) {
		store := startStore(t, false)
		store.serve("/html", `<!doctype html><title>Maintenance</title>`)
		store.serve("/truncated", `{"version":"1.`)
		store.serve("/empty", ``)
		store.serve("/trailing", `{"version":"1.0"} {"version":"2.0"}`)
		c := mustClient(t, store, nil)
		for path, want := range map[string]string{"/html": "not JSON: invalid character '<'", "/truncated": "not JSON: the document is cut short", "/empty": "not JSON: the document is empty", "/trailing": "not JSON: more data after the document"} {
			_, err := c.Fetch(ctx, jsonListing(store.URL+path, "version", ""))
			wantFault(t, err, fault.Invalid, want)
		}
	})
	t.Run("ErrMissingField", func(t *testing.T) {
		store := startStore(t, false)
		store.serve("/app", `{"data":{"current":{"version":"1.0"}}}`)
		_, err := mustClient(t, store, nil).Fetch(ctx, jsonListing(store.URL+"/app", "data.latest.version", ""))
		wantFault(t, err, fault.Invalid, "the store listing at "+strings.TrimPrefix(store.URL, "http://")+": no field data.latest")
	})
	t.Run("ErrAppStore", func(t *testing.T) {
		store := startStore(t, false)
		c := mustClient(t, store, nil)
		_, err := c.Fetch(ctx, appStoreListing("gov.example.unknown"))
		wantFault(t, err, fault.NotFound, "the App Store has no app with bundle ID gov.example.unknown")
		for name, tc := range map[string]struct{ body, want string }{
			"NoResults":     {`{"resultCount":1}`, "not an App Store lookup answer: no field results"},
			"NoVersion":     {`{"resultCount":1,"results":[{"bundleId":"gov.example.x"}]}`, "no field results[0].version"},
			"NumberVersion": {`{"resultCount":1,"results":[{"bundleId":"gov.example.x","version":true}]}`, "results[0].version is a boolean, not a version"},
			"Array":         {`[]`, "the document is an array, not an object"},
			"ResultsObject": {`{"results":{}}`, "results is an object, not an array"},
		} {
			t.Run(name, func(t *testing.T) {
				store.mu.Lock()
				store.apps["gov.example.x"] = tc.body
				store.mu.Unlock()
				_, err := c.Fetch(ctx, appStoreListing("gov.example.x"))
				wantFault(t, err, fault.Invalid, tc.want)
			})
		}
	})
	t.Run("ErrOversized", func(t *testing.T) {
		store := startStore(t, false)
		big := `{"version":"1.0","pad":"` + strings.Repeat("x", 64<<10) + `"}`
		store.handle("/declared", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
			fmt.Fprint(w, big)
		})
		store.handle("/chunked", func(w http.ResponseWriter, r *http.Request) {
			// Flushed in pieces: no Content-Length; the limit stops the read.
			for i := 0; i < len(big); i += 4096 {
				fmt.Fprint(w, big[i:min(i+4096, len(big))])
				w.(http.Flusher).Flush()
			}
		})
		c := mustClient(t, store, nil)
		for _, path := range []string{"/declared", "/chunked"} {
			_, err := c.Fetch(ctx, jsonListing(store.URL+path, "version", ""))
			wantFault(t, err, fault.TooLarge, "is larger than 65536 bytes")
		}
	})
	t.Run("ErrSlow", func(t *testing.T) {
		store := startStore(t, false)
		store.handle("/slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		})
		store.handle("/slow-body", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"version":`)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		})
		c := mustClient(t, store, func(cfg *storewatch.ClientConfig) { cfg.Timeout = 200 * time.Millisecond })
		for _, path := range []string{"/slow", "/slow-body"} {
			_, err := c.Fetch(ctx, jsonListing(store.URL+path, "version", ""))
			wantFault(t, err, fault.Timeout, "did not answer within 200ms")
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		store := startStore(t, false)
		store.handle("/slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := mustClient(t, store, nil).Fetch(cctx, jsonListing(store.URL+"/slow", "version", ""))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Fetch = %v, want context.Canceled", err)
		}
	})
	t.Run("ErrRedirect", func(t *testing.T) {
		store := startStore(t, false)
		other := startStore(t, false)
		other.serve("/app", `{"version":"6.6.6"}`)
		store.handle("/elsewhere", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, other.URL+"/app", http.StatusFound) })
		// localhost is the same machine but another host name.
		store.handle("/renamed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, strings.Replace(store.URL, "127.0.0.1", "localhost", 1)+"/app", http.StatusFound)
		})
		store.handle("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
		c := mustClient(t, store, nil)
		for path, want := range map[string]string{
			"/elsewhere": "is not read: it redirects to another host, " + strings.TrimPrefix(other.URL, "http://"),
			"/renamed":   "is not read: it redirects to another host, localhost:",
			"/loop":      "is not read: it redirects more than 3 times",
		} {
			_, err := c.Fetch(ctx, jsonListing(store.URL+path, "version", ""))
			wantFault(t, err, fault.Unavailable, want)
		}
		none := mustClient(t, store, func(cfg *storewatch.ClientConfig) { cfg.MaxRedirects = -1 })
		store.handle("/once", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/app", http.StatusFound) })
		_, err := none.Fetch(ctx, jsonListing(store.URL+"/once", "version", ""))
		wantFault(t, err, fault.Unavailable, "it redirects more than 0 times")
	})
	t.Run("ErrListing", func(t *testing.T) {
		_, err := mustClient(t, nil, nil).Fetch(ctx, jsonListing("http://store.example/app", "version", ""))
		wantFault(t, err, fault.Invalid, "must use https://")
	})
}

func TestListing_Validate(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for _, l := range []storewatch.Listing{
			appStoreListing("gov.example.passport"),
			{Kind: storewatch.AppStore, BundleID: "gov.example.passport", Country: "GB", URL: "https://itunes.apple.com/lookup"},
			jsonListing("https://store.example/api/app?key=abc", "data.version", ""),
			jsonListing("http://127.0.0.1:8080/app", "releases[*].version", "releases[*].date"),
			jsonListing("http://[::1]/app", "v", "released"),
			jsonListing("http://localhost/app", "v", ""),
		} {
			if err := l.Validate(); err != nil {
				t.Errorf("Validate(%+v) = %v", l, err)
			}
		}
	})
	t.Run("Err", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			l    storewatch.Listing
			want string
		}{
			{"Kind", storewatch.Listing{Kind: "play"}, `kind "play" is not a kind`},
			{"NoBundleID", appStoreListing(""), "bundle ID"},
			{"BadBundleID", appStoreListing("gov example"), "bundle ID"},
			{"Country", storewatch.Listing{Kind: storewatch.AppStore, BundleID: "a.b", Country: "USA"}, "two-letter"},
			{"AppStorePath", storewatch.Listing{Kind: storewatch.AppStore, BundleID: "a.b", VersionPath: "version"}, "no version or date path"},
			{"AppStoreHTTP", storewatch.Listing{Kind: storewatch.AppStore, BundleID: "a.b", URL: "http://itunes.apple.com/lookup"}, "must use https://"},
			{"HTTP", jsonListing("http://10.0.0.1/app", "v", ""), "must use https://"},
			{"FTP", jsonListing("ftp://store.example/app", "v", ""), "must be https://"},
			{"UserInfo", jsonListing("https://u:p@store.example/app", "v", ""), "without user information"},
			{"NoHost", jsonListing("https:///app", "v", ""), "with a host"},
			{"NoVersionPath", jsonListing("https://store.example/app", "", ""), "version path: path \"\": empty"},
			{"BadVersionPath", jsonListing("https://store.example/app", "a[", ""), "version path: path \"a[\": unterminated"},
			{"BadDatePath", jsonListing("https://store.example/app", "a", "b..c"), "date path"},
			{"DatePathDeeper", jsonListing("https://store.example/app", "a[0].v", "a[*].d"), "more [*] steps"},
			{"JSONBundleID", storewatch.Listing{Kind: storewatch.JSONEndpoint, URL: "https://store.example/app", VersionPath: "v", BundleID: "a.b"}, "bundle ID and country are for App Store listings"},
		} {
			t.Run(tc.name, func(t *testing.T) { wantFault(t, tc.l.Validate(), fault.Invalid, tc.want) })
		}
	})
}

func TestNewClient(t *testing.T) {
	t.Run("ErrAppStoreURL", func(t *testing.T) {
		if _, err := storewatch.NewClient(storewatch.ClientConfig{AppStoreURL: "http://itunes.apple.com/lookup"}); err == nil {
			t.Fatal("an http App Store URL to a remote host was accepted")
		}
	})
	t.Run("ErrUserAgent", func(t *testing.T) {
		if _, err := storewatch.NewClient(storewatch.ClientConfig{UserAgent: "a\r\nX-Injected: 1"}); err == nil {
			t.Fatal("a user agent with a line break was accepted")
		}
	})
}
