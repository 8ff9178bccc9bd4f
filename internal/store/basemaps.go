package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/basemap"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
)

// Basemaps is the store of basemap layers, which maps are drawn over.
//
// A layer is named, and comes whole from one file ([Basemaps.Import]):
// imported as "basemap.imported", replaced as "basemap.replaced" (with
// the digest of the file it replaces), deleted as "basemap.deleted", each
// entry committing to the file's SHA-256. Layers are installation-wide
// and not sensitive: administrators and privacy officers manage them
// ([auth.BasemapsManage]); everyone signed in reads them. Decoded layers
// are cached, keyed by their row and revision, so that drawing a map
// reads only the layers' list unless one changed.
type Basemaps struct {
	db *DB

	mu    sync.Mutex
	cache map[int64]cachedLayer // by layer ID
}

type cachedLayer struct {
	revision int
	layer    *basemap.Layer
}

// Basemaps returns the basemap store over db. Keep one: it caches the
// decoded layers.
func (db *DB) Basemaps() *Basemaps {
	return &Basemaps{db: db, cache: map[int64]cachedLayer{}}
}

// A BasemapImport is a file to import as a layer.
type BasemapImport struct {
	// Name is the layer's name (see [basemap.CheckName]).
	Name string
	// Source is the file's name as its importer knows it (its base name
	// is kept).
	Source string
	// Format is the file's format; "" tells it from the file.
	Format basemap.Format
	Data   []byte
	// Options say which properties hold names and classes, and which
	// TopoJSON object to read; their limits are always the defaults.
	Options basemap.Options
	// Order places the layer among the others: lower orders are drawn
	// first, under higher ones; equal orders go by name.
	Order int
	// Replace allows replacing a layer of the same name; without it an
	// existing layer is a conflict.
	Replace bool
}

// A BasemapInfo describes a stored layer.
type BasemapInfo struct {
	ID     int64
	Name   string
	Source string
	Format basemap.Format
	// Digest is the file's SHA-256, "sha256:" and hex.
	Digest                      string
	Features, Vertices, Skipped int
	Bounds                      basemap.Bounds
	Order                       int
	Revision                    int // 1, and one more at each replacement
	StoredBytes                 int
	ImportedBy                  string
	ImportedAt                  time.Time
	// ReplacedDigest is, after a replacement, the digest of the file it
	// replaced.
	ReplacedDigest string
}

// A BasemapLayer is a stored layer with its features.
type BasemapLayer struct {
	BasemapInfo
	Layer *basemap.Layer
}

const basemapsForbidden = "your role does not allow managing basemap layers: that is the administrators' and privacy officers'"

func (s *Basemaps) record(ctx context.Context, tx *Tx, by auth.Principal, typ, name string, data map[string]any, digest string) error {
	if s.db.ledger == nil {
		return fault.New(fault.Internal, "the ledger is not open")
	}
	_, err := s.db.ledger.Append(ctx, tx, ledger.Event{Type: typ, Actor: by.Actor(), Subject: "basemap/" + name, Data: data, Digest: digest})
	return err
}

// Import parses a file and stores it as the layer in.Name: all of its
// features, or, if any is bad, none (the error lists the problems with
// their features and lines, and leaves any stored layer as it was).
func (s *Basemaps) Import(ctx context.Context, by auth.Principal, in BasemapImport) (BasemapInfo, error) {
	if !by.Can(auth.BasemapsManage) {
		return BasemapInfo{}, fault.New(fault.Forbidden, basemapsForbidden)
	}
	if err := basemap.CheckName(in.Name); err != nil {
		return BasemapInfo{}, fault.New(fault.Invalid, "%s", err.Error())
	}
	source, err := cleanSource(in.Source)
	if err != nil {
		return BasemapInfo{}, err
	}
	if in.Order < -1000 || in.Order > 1000 {
		return BasemapInfo{}, fault.New(fault.Invalid, "the drawing order is a whole number from -1000 to 1000, not %d", in.Order)
	}
	format := in.Format
	if format == "" {
		format = basemap.Detect(in.Data)
	}
	if _, err := basemap.ParseFormat(string(format)); err != nil {
		return BasemapInfo{}, fault.New(fault.Invalid, "%s", err.Error())
	}
	opts := in.Options
	opts.Limits = basemap.DefaultLimits()
	l, err := basemap.Parse(format, in.Data, opts)
	if err != nil {
		return BasemapInfo{}, fault.Wrap(err, fault.Invalid, "%s: %s", source, err.Error())
	}
	if len(l.Features) == 0 {
		return BasemapInfo{}, fault.New(fault.Invalid, "%s holds no features to draw (%d without a geometry): nothing to import", source, l.Skipped)
	}
	data := basemap.Encode(l)
	info := BasemapInfo{Name: in.Name, Source: source, Format: format, Digest: ledger.PayloadDigest(in.Data), Features: len(l.Features),
		Vertices: l.Vertices(), Skipped: l.Skipped, Bounds: l.Bounds, Order: in.Order, Revision: 1, StoredBytes: len(data), ImportedBy: by.ID}
	err = s.db.Update(ctx, func(tx *Tx) error {
		info.ImportedAt = tx.Now
		prior, err := scanBasemapInfo(tx.QueryRow(ctx, `SELECT `+basemapColumns+` FROM basemap_layers WHERE name = $1`+forUpdate(tx), in.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case !in.Replace:
			return fault.New(fault.Conflict, "there is a layer %s already (imported from %s on %s); replace it to import another file under its name",
				in.Name, prior.Source, prior.ImportedAt.UTC().Format(time.DateOnly))
		case prior.Digest == info.Digest && prior.Order == info.Order:
			return fault.New(fault.Conflict, "layer %s already holds this file (revision %d): nothing to replace", in.Name, prior.Revision)
		default:
			info.ID, info.Revision, info.ReplacedDigest = prior.ID, prior.Revision+1, prior.Digest
		}
		event := map[string]any{
			"layer": in.Name, "source": source, "format": string(format), "features": info.Features, "vertices": info.Vertices,
			"skipped": info.Skipped, "order": info.Order, "revision": info.Revision, "stored_bytes": info.StoredBytes,
			"bounds": []any{l.Bounds.MinLon, l.Bounds.MinLat, l.Bounds.MaxLon, l.Bounds.MaxLat},
		}
		typ := "basemap.imported"
		if info.ID == 0 {
			err = tx.QueryRow(ctx, `INSERT INTO basemap_layers (name, source, format, digest, features, vertices, skipped, min_lon, min_lat, max_lon, max_lat,
				draw_order, data, stored_bytes, revision, imported_by, imported_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
				in.Name, source, string(format), info.Digest, info.Features, info.Vertices, info.Skipped, l.Bounds.MinLon, l.Bounds.MinLat, l.Bounds.MaxLon, l.Bounds.MaxLat,
				info.Order, data, info.StoredBytes, info.Revision, by.ID, tx.Now).Scan(&info.ID)
		} else {
			typ = "basemap.replaced"
			event["replaced_digest"], event["replaced_revision"] = prior.Digest, prior.Revision
			_, err = tx.Exec(ctx, `UPDATE basemap_layers SET source = $1, format = $2, digest = $3, features = $4, vertices = $5, skipped = $6,
				min_lon = $7, min_lat = $8, max_lon = $9, max_lat = $10, draw_order = $11, data = $12, stored_bytes = $13, revision = $14,
				imported_by = $15, imported_at = $16 WHERE id = $17`,
				source, string(format), info.Digest, info.Features, info.Vertices, info.Skipped, l.Bounds.MinLon, l.Bounds.MinLat, l.Bounds.MaxLon, l.Bounds.MaxLat,
				info.Order, data, info.StoredBytes, info.Revision, by.ID, tx.Now, info.ID)
		}
		if err != nil {
			return err
		}
		return s.record(ctx, tx, by, typ, in.Name, event, info.Digest)
	})
	if err != nil {
		return BasemapInfo{}, err
	}
	return info, nil
}

const basemapColumns = `id, name, source, format, digest, features, vertices, skipped, min_lon, min_lat, max_lon, max_lat, draw_order, stored_bytes, revision, imported_by, imported_at`

func scanBasemapInfo(sc scanner) (BasemapInfo, error) {
	var i BasemapInfo
	var format string
	err := sc.Scan(&i.ID, &i.Name, &i.Source, &format, &i.Digest, &i.Features, &i.Vertices, &i.Skipped,
		&i.Bounds.MinLon, &i.Bounds.MinLat, &i.Bounds.MaxLon, &i.Bounds.MaxLat, &i.Order, &i.StoredBytes, &i.Revision, &i.ImportedBy, &i.ImportedAt)
	i.Format = basemap.Format(format)
	return i, err
}

// List returns the layers, in drawing order (then by name).
func (s *Basemaps) List(ctx context.Context, by auth.Principal) ([]BasemapInfo, error) {
	if !by.Authenticated() {
		return nil, fault.New(fault.Unauthenticated, "sign in to see the basemap layers")
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+basemapColumns+` FROM basemap_layers ORDER BY draw_order, name`)
	return scanAll(rows, err, scanBasemapInfo)
}

// Layers returns every layer with its features, in drawing order, for
// drawing maps. Layers unchanged since they were last read come from the
// cache; the features are shared and must not be changed.
func (s *Basemaps) Layers(ctx context.Context, by auth.Principal) ([]BasemapLayer, error) {
	list, err := s.List(ctx, by)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]BasemapLayer, 0, len(list))
	keep := make(map[int64]bool, len(list))
	for _, info := range list {
		keep[info.ID] = true
		c, ok := s.cache[info.ID]
		if !ok || c.revision != info.Revision {
			var data []byte
			err := s.db.read.QueryRowContext(ctx, `SELECT data FROM basemap_layers WHERE id = $1 AND revision = $2`, info.ID, info.Revision).Scan(&data)
			if errors.Is(err, sql.ErrNoRows) {
				continue // replaced or deleted since the list was read
			}
			if err != nil {
				return nil, fmt.Errorf("read basemap layer %s: %w", info.Name, err)
			}
			l, err := basemap.Decode(data, basemap.DefaultLimits())
			if err != nil {
				return nil, fmt.Errorf("basemap layer %s (revision %d): %w", info.Name, info.Revision, err)
			}
			l.Skipped = info.Skipped
			c = cachedLayer{revision: info.Revision, layer: l}
			s.cache[info.ID] = c
		}
		out = append(out, BasemapLayer{BasemapInfo: info, Layer: c.layer})
	}
	for id := range s.cache {
		if !keep[id] {
			delete(s.cache, id)
		}
	}
	return out, nil
}

// Delete removes the layer name.
func (s *Basemaps) Delete(ctx context.Context, by auth.Principal, name string) error {
	if !by.Can(auth.BasemapsManage) {
		return fault.New(fault.Forbidden, basemapsForbidden)
	}
	return s.db.Update(ctx, func(tx *Tx) error {
		info, err := scanBasemapInfo(tx.QueryRow(ctx, `SELECT `+basemapColumns+` FROM basemap_layers WHERE name = $1`+forUpdate(tx), name))
		if errors.Is(err, sql.ErrNoRows) {
			return fault.New(fault.NotFound, "there is no basemap layer %q", clipText(name, 64))
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM basemap_layers WHERE id = $1`, info.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, by, "basemap.deleted", name, map[string]any{
			"layer": name, "source": info.Source, "features": info.Features, "revision": info.Revision,
		}, info.Digest)
	})
}
