package storewatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/alerts"
)

// Detector is the ID of the detector that raises the store watch's
// alerts.
const Detector = "unscanned_release"

// An App is a watched app.
type App struct {
	ID       int64
	Name     string
	Platform string // e.g. "ios", "android"
	// BundleID is the app's bundle or package ID; an App Store listing
	// without one of its own uses it.
	BundleID string
	// Component is the component the app belongs to, whose officers
	// triage its alerts.
	Component string
	Listing   Listing
}

// Apps is what the watcher needs of the apps and their releases; the
// release store implements it.
type Apps interface {
	// Watched returns the apps whose store listing is watched.
	Watched(ctx context.Context) ([]App, error)
	// Approved returns the versions of app appID that have an approved
	// release.
	Approved(ctx context.Context, appID int64) ([]string, error)
	// Reported returns the versions of app appID already reported as
	// published without an approved release.
	Reported(ctx context.Context, appID int64) ([]string, error)
	// Unapproved records s and raises s.Alert(), with their ledger entry,
	// in one transaction, and reports true; unless that version of that
	// app was reported already (by another run, or another replica
	// meanwhile), in which case it does nothing and reports false.
	Unapproved(ctx context.Context, s Sighting) (bool, error)
	// Checked records the outcome of a check of an app's listing, which
	// the app's page shows (its last check).
	Checked(ctx context.Context, c Check) error
}

// A Sighting is a published version of a watched app that has no
// approved release.
type Sighting struct {
	App     App
	Version Version
	// SeenAt is when the listing was read.
	SeenAt time.Time
	// Approved are the app's versions that have an approved release.
	Approved []string
}

// maxEvidenceVersions bounds the approved versions an alert's evidence
// lists: the last ones of [Sighting.Approved].
const maxEvidenceVersions = 50

// Alert returns the alert s raises: high severity, from detector
// "unscanned_release", in the app's component, saying which version of
// which app was seen where, and that nobody submitted it to the release
// gate.
func (s Sighting) Alert() alerts.Alert {
	app := plain(s.App.Name, 200)
	if app == "" {
		app = fmt.Sprintf("app %d", s.App.ID)
	}
	var ids []string
	for _, x := range []string{plain(s.App.Platform, 40), plain(s.App.BundleID, 160)} {
		if x != "" {
			ids = append(ids, x)
		}
	}
	if len(ids) > 0 {
		app += " (" + strings.Join(ids, ", ") + ")"
	}
	released := ""
	if !s.Version.Released.IsZero() {
		released = ", released " + s.Version.Released.UTC().Format(time.DateOnly)
	}
	explanation := fmt.Sprintf("Version %s of %s is published in its store listing%s (seen %s) but has no approved release: "+
		"it reached users without being submitted, scanned and approved through the release gate. "+
		"Find out who published it, have its scans run and triaged, and approve or withdraw it.",
		clip(s.Version.Version), app, released, s.SeenAt.UTC().Format(time.RFC3339))

	type listing struct {
		Kind     Kind   `json:"kind"`
		Source   string `json:"source"`
		BundleID string `json:"bundle_id,omitempty"`
		Country  string `json:"country,omitempty"`
		Path     string `json:"version_path,omitempty"`
	}
	approved := s.Approved
	if len(approved) > maxEvidenceVersions {
		approved = approved[len(approved)-maxEvidenceVersions:]
	}
	ev := struct {
		AppID         int64    `json:"app_id"`
		App           string   `json:"app"`
		Platform      string   `json:"platform,omitempty"`
		BundleID      string   `json:"bundle_id,omitempty"`
		Version       string   `json:"version"`
		Released      string   `json:"released_at,omitempty"`
		SeenAt        string   `json:"seen_at"`
		Listing       listing  `json:"listing"`
		ApprovedCount int      `json:"approved_releases"`
		Approved      []string `json:"approved_versions"`
	}{
		AppID: s.App.ID, App: s.App.Name, Platform: s.App.Platform, BundleID: s.App.BundleID,
		Version: s.Version.Version, SeenAt: s.SeenAt.UTC().Format(time.RFC3339),
		Listing:       listing{Kind: s.App.Listing.Kind, Source: source(s.App.Listing), BundleID: s.App.Listing.BundleID, Country: s.App.Listing.Country, Path: s.App.Listing.VersionPath},
		ApprovedCount: len(s.Approved), Approved: append([]string{}, approved...),
	}
	if !s.Version.Released.IsZero() {
		ev.Released = s.Version.Released.UTC().Format(time.RFC3339)
	}
	evidence, _ := json.Marshal(ev)
	return alerts.Alert{Detector: Detector, Severity: alerts.High, Component: s.App.Component, Explanation: explanation, Evidence: evidence}
}

// plain returns s on one line, without control characters, cut to at
// most n characters: an app's name in an alert's explanation.
func plain(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(strings.ToValidUTF8(s, "�"), func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n-1]) + "…"
	}
	return s
}

// source names where a listing is read, without the query, which may hold
// a token.
func source(l Listing) string {
	u := l.URL
	if u == "" && l.Kind == AppStore {
		u = DefaultAppStoreURL
	}
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return ""
	}
	return p.Scheme + "://" + p.Host + p.EscapedPath()
}

// A Check is the outcome of one check of an app's listing.
type Check struct {
	AppID int64
	At    time.Time
	// Published are the versions the listing publishes (nil when it could
	// not be read).
	Published []Version
	// Unapproved are the published versions without an approved release,
	// reported now or before.
	Unapproved []string
	// Reported is how many of them this check reported.
	Reported int
	// Err is why the check failed, nil when it succeeded: a [fault.Error]
	// whose code and message say what went wrong (the listing is
	// unreachable, answered an error, is not JSON, lacks the version
	// field, is too large, did not answer in time), or a failure to read
	// or record the app's releases.
	Err error
}

// A Summary counts what a run did.
type Summary struct {
	Apps     int // apps checked
	Failed   int // of which the check failed
	Reported int // versions reported
}

// Config configures a [Watcher].
type Config struct {
	Apps   Apps
	Client *Client
	// Every is how often the listings are read (default 1 hour); the first
	// time is FirstAfter after Start (default 1 minute, or Every when
	// shorter).
	Every, FirstAfter time.Duration
	// Concurrency is how many listings are read at once (default 4).
	Concurrency int
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// A Watcher checks the watched apps' listings.
type Watcher struct {
	cfg  Config
	stop chan struct{}
	wg   sync.WaitGroup
	// cancel ends a run in progress on Close.
	cancel context.CancelFunc
}

// NewWatcher returns a watcher; Start starts it, or RunOnce runs it once.
func NewWatcher(cfg Config) (*Watcher, error) {
	if cfg.Apps == nil || cfg.Client == nil {
		return nil, errors.New("store watch: the apps and a client are required")
	}
	if cfg.Every <= 0 {
		cfg.Every = time.Hour
	}
	if cfg.FirstAfter <= 0 {
		cfg.FirstAfter = min(time.Minute, cfg.Every)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Watcher{cfg: cfg, stop: make(chan struct{})}, nil
}

// Start checks the listings every cfg.Every until Close.
func (w *Watcher) Start(ctx context.Context) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.cancel = cancel
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer cancel()
		t := time.NewTimer(w.cfg.FirstAfter)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
			s, err := w.RunOnce(ctx)
			switch {
			case err != nil && !errors.Is(err, context.Canceled):
				w.cfg.Logger.Error("check the store listings of watched apps", "err", err)
			case s.Reported > 0 || s.Failed > 0:
				w.cfg.Logger.Info("checked the store listings of watched apps", "apps", s.Apps, "failed", s.Failed, "reported", s.Reported)
			}
			t.Reset(w.cfg.Every)
		}
	}()
}

// Close stops the watcher and waits for a run in progress, which it
// cancels.
func (w *Watcher) Close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	if w.cancel != nil {
		w.cancel()
	}
	w.wg.Wait()
}

// RunOnce checks every watched app's listing once, records each check's
// outcome, and reports each published version that has no approved
// release and was not reported before. A listing that cannot be read
// fails its app's check only; the others are checked. It returns an error
// only when the watched apps cannot be listed, or ctx ends.
func (w *Watcher) RunOnce(ctx context.Context) (Summary, error) {
	apps, err := w.cfg.Apps.Watched(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("list the watched apps: %w", err)
	}
	var (
		mu  sync.Mutex
		sum Summary
		wg  sync.WaitGroup
	)
	sem := make(chan struct{}, w.cfg.Concurrency)
	for _, app := range apps {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			c := w.check(ctx, app)
			if ctx.Err() != nil {
				return // cut short: not an outcome worth recording
			}
			if err := w.cfg.Apps.Checked(ctx, c); err != nil {
				w.cfg.Logger.Error("record a store listing check", "app", app.ID, "err", err)
			}
			mu.Lock()
			defer mu.Unlock()
			sum.Apps++
			sum.Reported += c.Reported
			if c.Err != nil {
				sum.Failed++
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	return sum, nil
}

// check checks one app's listing.
func (w *Watcher) check(ctx context.Context, app App) Check {
	c := Check{AppID: app.ID, At: w.cfg.Now().UTC()}
	l := app.Listing
	if l.Kind == AppStore && l.BundleID == "" {
		l.BundleID = app.BundleID
	}
	pub, err := w.cfg.Client.Fetch(ctx, l)
	if err != nil {
		c.Err = err
		if ctx.Err() == nil {
			w.cfg.Logger.Warn("read an app's store listing", "app", app.ID, "err", err)
		}
		return c
	}
	c.Published = pub.Versions
	approved, err := w.cfg.Apps.Approved(ctx, app.ID)
	if err != nil {
		c.Err = fmt.Errorf("read the approved releases of app %d: %w", app.ID, err)
		return c
	}
	reported, err := w.cfg.Apps.Reported(ctx, app.ID)
	if err != nil {
		c.Err = fmt.Errorf("read the versions reported of app %d: %w", app.ID, err)
		return c
	}
	isApproved, isReported := normalized(approved), normalized(reported)
	for _, v := range pub.Versions {
		n := NormalizeVersion(v.Version)
		if isApproved[n] {
			continue
		}
		c.Unapproved = append(c.Unapproved, v.Version)
		if isReported[n] {
			continue
		}
		s := Sighting{App: app, Version: v, SeenAt: c.At, Approved: approved}
		s.App.Listing = l
		raised, err := w.cfg.Apps.Unapproved(ctx, s)
		if err != nil {
			// The other versions are still reported; this one is tried
			// again at the next check.
			c.Err = errors.Join(c.Err, fmt.Errorf("report version %s of app %d: %w", clip(v.Version), app.ID, err))
			w.cfg.Logger.Error("report a published version without an approved release", "app", app.ID, "version", v.Version, "err", err)
			continue
		}
		if raised {
			c.Reported++
			w.cfg.Logger.Warn("a published version has no approved release", "app", app.ID, "version", v.Version)
		}
	}
	return c
}

// normalized returns the set of versions vs, normalized.
func normalized(vs []string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[NormalizeVersion(v)] = true
	}
	return m
}
