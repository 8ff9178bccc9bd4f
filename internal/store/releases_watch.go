package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/release"
	"github.com/probity-dev/probity/internal/storewatch"
)

// The store watch of the release gate: where each app's published versions
// are read, and the versions seen published without an approved release.

// A WatchStatus is an app's store listing and the outcome of its last
// check.
type WatchStatus struct {
	Listing storewatch.Listing
	SetBy   string // ledger actor ID
	SetAt   time.Time
	// CheckedAt is when the listing was last read (zero: never); Error why
	// that check failed ("" when it succeeded).
	CheckedAt time.Time
	Error     string
	// Published are the versions the listing published then; Unapproved
	// those without an approved release.
	Published  []string
	Unapproved []string
}

// SetListing sets where an app's published versions are read (nil: the
// app is no longer watched; a conflict when it was not). Ledger: "release.listing_set" under app/ID.
func (s *Releases) SetListing(ctx context.Context, by auth.Principal, appID int64, l *storewatch.Listing) error {
	if l != nil {
		if err := l.Validate(); err != nil {
			return err
		}
	}
	return s.db.Update(ctx, func(tx *Tx) error {
		a, err := s.app(ctx, tx, by, appID, "UPDATE")
		if err != nil {
			return err
		}
		if !by.CanIn(auth.AppsManage, a.Component) {
			return fault.New(fault.Forbidden, "your roles do not allow changing apps of %s", a.Component)
		}
		res, err := tx.Exec(ctx, `DELETE FROM app_listings WHERE app_id = $1`, appID)
		if err != nil {
			return fmt.Errorf("clear the listing of app %d: %w", appID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 && l == nil {
			return fault.New(fault.Conflict, "the store listing of %s is not watched", a.Name)
		}
		data := map[string]any{"watched": l != nil}
		if l != nil {
			if _, err := tx.Exec(ctx, `INSERT INTO app_listings (app_id, kind, url, bundle_id, country, version_path, date_path, set_by, set_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, appID, string(l.Kind), l.URL, l.BundleID, l.Country, l.VersionPath, l.DatePath, by.ID, tx.Now); err != nil {
				return fmt.Errorf("set the listing of app %d: %w", appID, err)
			}
			data["kind"], data["url"], data["bundle_id"], data["country"], data["version_path"] = string(l.Kind), l.URL, l.BundleID, l.Country, l.VersionPath
		}
		return s.record(ctx, tx, by.Actor(), "release.listing_set", a.Component, appSubject(appID), data, "")
	})
}

// Watch returns an app's store listing and its last check; false when the
// app is not watched.
func (s *Releases) Watch(ctx context.Context, by auth.Principal, appID int64) (WatchStatus, bool, error) {
	var ok bool
	w, err := viewOne(ctx, s.db, func(tx *Tx) (WatchStatus, error) {
		var w WatchStatus
		if _, err := s.app(ctx, tx, by, appID, ""); err != nil {
			return w, err
		}
		var kind, published, unapproved string
		var checked sql.NullTime
		err := tx.QueryRow(ctx, `SELECT kind, url, bundle_id, country, version_path, date_path, set_by, set_at, checked_at, check_error, published, unapproved
			FROM app_listings WHERE app_id = $1`, appID).Scan(&kind, &w.Listing.URL, &w.Listing.BundleID, &w.Listing.Country, &w.Listing.VersionPath, &w.Listing.DatePath,
			&w.SetBy, &w.SetAt, &checked, &w.Error, &published, &unapproved)
		if err == sql.ErrNoRows {
			return w, nil
		}
		if err != nil {
			return w, err
		}
		ok = true
		w.Listing.Kind, w.CheckedAt = storewatch.Kind(kind), checked.Time
		if json.Unmarshal([]byte(published), &w.Published) != nil || json.Unmarshal([]byte(unapproved), &w.Unapproved) != nil {
			return w, fmt.Errorf("app %d: unreadable last check", appID)
		}
		return w, nil
	})
	return w, ok, err
}

// StoreWatch returns what the store watch needs of the apps and their
// releases; the alerts it raises go through al.
func (s *Releases) StoreWatch(al *Alerts) storewatch.Apps { return &storeWatch{s: s, alerts: al} }

type storeWatch struct {
	s      *Releases
	alerts *Alerts
}

func (w *storeWatch) Watched(ctx context.Context) ([]storewatch.App, error) {
	return viewOne(ctx, w.s.db, func(tx *Tx) ([]storewatch.App, error) {
		rows, err := tx.Query(ctx, `SELECT a.id, a.name, a.platform, a.bundle_id, a.component, l.kind, l.url, l.bundle_id, l.country, l.version_path, l.date_path
			FROM app_listings l JOIN apps a ON a.id = l.app_id ORDER BY a.id`)
		return scanAll(rows, err, func(sc scanner) (storewatch.App, error) {
			var a storewatch.App
			var kind string
			err := sc.Scan(&a.ID, &a.Name, &a.Platform, &a.BundleID, &a.Component, &kind, &a.Listing.URL, &a.Listing.BundleID, &a.Listing.Country,
				&a.Listing.VersionPath, &a.Listing.DatePath)
			a.Listing.Kind = storewatch.Kind(kind)
			return a, err
		})
	})
}

func (w *storeWatch) versions(ctx context.Context, query string, appID int64) ([]string, error) {
	return viewOne(ctx, w.s.db, func(tx *Tx) ([]string, error) {
		rows, err := tx.Query(ctx, query, appID)
		return scanAll(rows, err, func(sc scanner) (string, error) {
			var v string
			return v, sc.Scan(&v)
		})
	})
}

func (w *storeWatch) Approved(ctx context.Context, appID int64) ([]string, error) {
	return w.versions(ctx, `SELECT version FROM releases WHERE app_id = $1 AND status = '`+string(release.Approved)+`' ORDER BY id`, appID)
}

func (w *storeWatch) Reported(ctx context.Context, appID int64) ([]string, error) {
	return w.versions(ctx, `SELECT version FROM store_sightings WHERE app_id = $1 ORDER BY seen_at, version`, appID)
}

func (w *storeWatch) Unapproved(ctx context.Context, s storewatch.Sighting) (bool, error) {
	var raised bool
	err := w.s.db.Update(ctx, func(tx *Tx) error {
		raised = false
		res, err := tx.Exec(ctx, `INSERT INTO store_sightings (app_id, version, seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, s.App.ID, s.Version.Version, s.SeenAt)
		if err != nil {
			return fmt.Errorf("record version %s of app %d: %w", s.Version.Version, s.App.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		id, err := w.alerts.Raise(ctx, tx, s.Alert())
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE store_sightings SET alert_id = $1 WHERE app_id = $2 AND version = $3`, id, s.App.ID, s.Version.Version); err != nil {
			return err
		}
		raised = true
		return nil
	})
	return raised, err
}

func (w *storeWatch) Checked(ctx context.Context, c storewatch.Check) error {
	published := make([]string, 0, len(c.Published))
	for _, v := range c.Published {
		published = append(published, v.Version)
	}
	pub, _ := json.Marshal(published)
	unapproved := c.Unapproved
	if unapproved == nil {
		unapproved = []string{}
	}
	un, _ := json.Marshal(unapproved)
	msg := ""
	if c.Err != nil {
		msg = fault.MessageOf(c.Err)
		pub = []byte("[]")
	}
	return w.s.db.Update(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `UPDATE app_listings SET checked_at = $1, check_error = $2, published = $3, unapproved = $4 WHERE app_id = $5`,
			c.At, msg, string(pub), string(un), c.AppID)
		return err
	})
}
