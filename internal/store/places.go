package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/places"
)

// Places is the store of protected places and of employees' homes.
//
// Places come a file at a time ([Places.Import]): all of a file's places
// or none, recorded as "places.imported" with the file's digest and the
// counts. An employee's home is kept only as the keyed hashes of the
// cells around it ([Places.SetEmployeeHome]): the coordinates given are
// hashed and forgotten, and appear in no table, log or ledger entry.
//
// Component and department privacy officers manage places and homes
// ([auth.PlacesManage]) of their components, department-wide ones only
// department-wide officers; auditors read counts ([auth.PlacesRead]).
// [Places.Load] reads everything, without authorization, for the
// screening index; every change increments a version that tells servers
// to rebuild it.
type Places struct {
	db      *DB
	home    *places.HomeKey
	changed func()
}

// Places returns the places store over db. home hashes employees' home
// cells (nil when homes cannot be set); changed, when set, runs after
// every committed change.
func (db *DB) Places(home *places.HomeKey, changed func()) *Places {
	return &Places{db: db, home: home, changed: changed}
}

// HomeKeyWhat is what the home-cell key is sealed for.
const HomeKeyWhat = "places/home-cell-key"

// PlaceHomeKey returns the home-cell key as stored, sealed, and the ID of
// the secrets key that sealed it. When none is stored yet it stores
// sealedNew (a new key sealed by the secrets key keyID) first; of several
// servers starting at once, one stores its key and all use it. Like the
// secrets key's ID in probity_meta, the key is part of the installation,
// not an action of anyone's: it is not recorded in the ledger (the first
// home set is).
func (db *DB) PlaceHomeKey(ctx context.Context, sealedNew []byte, keyID string) ([]byte, string, error) {
	if len(sealedNew) == 0 || !keyIDRe.MatchString(keyID) {
		return nil, "", fault.New(fault.Internal, "a sealed home-cell key and its sealing key's ID are required")
	}
	var sealed []byte
	var stored string
	err := db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO place_home_key (id, sealed, key_id, created_at) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING`,
			sealedNew, keyID, tx.Now); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT sealed, key_id FROM place_home_key WHERE id = 1`).Scan(&sealed, &stored)
	})
	return sealed, stored, err
}

func (s *Places) record(ctx context.Context, tx *Tx, by auth.Principal, typ, component, subject string, data map[string]any, digest string) error {
	if s.db.ledger == nil {
		return fault.New(fault.Internal, "the ledger is not open")
	}
	_, err := s.db.ledger.Append(ctx, tx, ledger.Event{Type: typ, Actor: by.Actor(), Component: component, Subject: subject, Data: data, Digest: digest})
	return err
}

// bump increments the version of the places and homes in tx, and tells
// the store's owner once tx commits.
func (s *Places) bump(ctx context.Context, tx *Tx) error {
	if _, err := tx.Exec(ctx, `UPDATE places_version SET version = version + 1 WHERE id = 1`); err != nil {
		return err
	}
	if s.changed != nil {
		tx.AfterCommit(s.changed)
	}
	return nil
}

// Version returns the version of the places and homes: it grows with
// every change.
func (s *Places) Version(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.read.QueryRowContext(ctx, `SELECT version FROM places_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read the places' version: %w", err)
	}
	return v, nil
}

const placesForbidden = "your role does not allow managing protected places: that is the privacy officers'"

// placesHome returns the component places imported by by belong to,
// given the one asked for ("" for by's own: department-wide for a
// department-wide officer).
func (s *Places) placesHome(ctx context.Context, tx *Tx, by auth.Principal, asked string) (string, error) {
	comps, all := by.Components(auth.PlacesManage)
	if asked == "" {
		switch {
		case all:
			return "", nil
		case len(comps) == 1:
			return comps[0], nil
		case len(comps) == 0:
			return "", fault.New(fault.Forbidden, placesForbidden)
		}
		return "", fault.New(fault.Invalid, "you manage places in several components (%s); say which one the file is for", strings.Join(comps, ", "))
	}
	if !by.CanIn(auth.PlacesManage, asked) {
		return "", fault.New(fault.Forbidden, "you do not manage the protected places of component %s", asked)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM components WHERE code = $1`, asked).Scan(&n); err != nil {
		return "", err
	}
	if n == 0 {
		return "", fault.New(fault.Invalid, "there is no component %q", asked)
	}
	return asked, nil
}

// A PlaceImport is a file of places to import.
type PlaceImport struct {
	// Source is the file's name as its importer knows it (its base name
	// is kept: "nyc-worship.geojson").
	Source  string
	Format  places.Format
	Data    []byte
	Options places.Options
	// Component the places are for: "" for the importer's own (department-
	// wide for a department-wide officer).
	Component string
}

// A PlaceImportInfo describes an import.
type PlaceImportInfo struct {
	ID        int64
	Component string
	Source    string
	Format    places.Format
	// Digest is the file's SHA-256, "sha256:" and hex.
	Digest string
	// Places counts the places the file brought; Remaining those not
	// since deleted. Skipped counts features or rows skipped as not
	// protected places.
	Places, Remaining, Skipped int
	ImportedBy                 string
	ImportedAt                 time.Time
}

// maxSource is the longest source name kept.
const maxSource = 200

// cleanSource returns the base name of a file as given.
func cleanSource(s string) (string, error) {
	s = path.Base(strings.ReplaceAll(strings.TrimSpace(s), `\`, "/"))
	if s == "." || s == "/" || s == "" {
		return "", fault.New(fault.Invalid, "give the file's name (the source of the places)")
	}
	if len(s) > maxSource || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", fault.New(fault.Invalid, "the file's name must be at most %d characters without control characters", maxSource)
	}
	return s, nil
}

// placeChunk is how many places one INSERT carries (7 values each).
const placeChunk = 100

// Import parses a file of places and stores them all, or, if any feature
// or row is bad, none (the error lists the problems with their lines).
// A file already imported for the same component is refused.
func (s *Places) Import(ctx context.Context, by auth.Principal, in PlaceImport) (PlaceImportInfo, error) {
	if !by.Can(auth.PlacesManage) {
		return PlaceImportInfo{}, fault.New(fault.Forbidden, placesForbidden)
	}
	source, err := cleanSource(in.Source)
	if err != nil {
		return PlaceImportInfo{}, err
	}
	if in.Format != places.GeoJSON && in.Format != places.CSV {
		return PlaceImportInfo{}, fault.New(fault.Invalid, "the format must be geojson or csv")
	}
	b, err := places.Parse(in.Format, in.Data, in.Options)
	if err != nil {
		return PlaceImportInfo{}, fault.Wrap(err, fault.Invalid, "%s: %s", source, err.Error())
	}
	if len(b.Places) == 0 {
		return PlaceImportInfo{}, fault.New(fault.Invalid, "%s holds no protected places (%d features or rows skipped): nothing to import", source, b.Skipped)
	}
	info := PlaceImportInfo{Source: source, Format: in.Format, Digest: b.Digest, Places: len(b.Places), Remaining: len(b.Places), Skipped: b.Skipped, ImportedBy: by.ID}
	err = s.db.Update(ctx, func(tx *Tx) error {
		comp, err := s.placesHome(ctx, tx, by, in.Component)
		if err != nil {
			return err
		}
		info.Component, info.ImportedAt = comp, tx.Now
		var prior int64
		var priorAt time.Time
		err = tx.QueryRow(ctx, `SELECT id, imported_at FROM place_imports WHERE digest = $1 AND component = $2 ORDER BY id LIMIT 1`, b.Digest, comp).Scan(&prior, &priorAt)
		switch {
		case err == nil:
			return fault.New(fault.Conflict, "this file was imported already (import %d, %s); delete that import first to import it again", prior, priorAt.UTC().Format(time.DateOnly))
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO place_imports (component, source, format, digest, places, skipped, imported_by, imported_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, comp, source, string(in.Format), b.Digest, len(b.Places), b.Skipped, by.ID, tx.Now).Scan(&info.ID); err != nil {
			return err
		}
		for rest := b.Places; len(rest) > 0; {
			n := min(len(rest), placeChunk)
			var q strings.Builder
			q.WriteString(`INSERT INTO places (import_id, component, category, name, ref, geometry, created_at) VALUES `)
			args := make([]any, 0, 7*n)
			for i, p := range rest[:n] {
				if i > 0 {
					q.WriteByte(',')
				}
				k := len(args)
				fmt.Fprintf(&q, "($%d,$%d,$%d,$%d,$%d,$%d,$%d)", k+1, k+2, k+3, k+4, k+5, k+6, k+7)
				args = append(args, info.ID, comp, string(p.Category), p.Name, p.Ref, string(p.Geometry()), tx.Now)
			}
			if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
				return err
			}
			rest = rest[n:]
		}
		counts := map[string]any{}
		for c, n := range b.Counts() {
			counts[string(c)] = n
		}
		if err := s.record(ctx, tx, by, "places.imported", comp, fmt.Sprintf("place_import/%d", info.ID), map[string]any{
			"import_id": info.ID, "source": source, "format": string(in.Format), "places": len(b.Places), "skipped": b.Skipped, "by_category": counts,
		}, b.Digest); err != nil {
			return err
		}
		return s.bump(ctx, tx)
	})
	if err != nil {
		return PlaceImportInfo{}, err
	}
	return info, nil
}

// placeScope restricts a query on a table with a component column to the
// components where by holds perm, department-wide rows included.
func placeScope(w *where, by auth.Principal, perm auth.Permission) {
	if comps, all := by.Components(perm); !all {
		w.add("(" + w.in("component", append(comps, "")) + ")")
	}
}

// A PlaceFilter selects places to list.
type PlaceFilter struct {
	Category places.Category // "" for every category
	ImportID int64           // 0 for every import
	// AfterID and Limit page through the list in ID order; Limit is at
	// most 10,000 (0 means 1,000).
	AfterID int64
	Limit   int
}

// List returns the places by manages, with the department-wide ones, in
// ID order.
func (s *Places) List(ctx context.Context, by auth.Principal, f PlaceFilter) ([]places.Place, error) {
	if !by.Can(auth.PlacesManage) {
		return nil, fault.New(fault.Forbidden, placesForbidden)
	}
	switch {
	case f.Limit == 0:
		f.Limit = 1000
	case f.Limit < 0 || f.Limit > 10_000:
		return nil, fault.New(fault.Invalid, "list at most 10000 places at a time")
	}
	if f.Category != "" && !f.Category.Importable() {
		return nil, fault.New(fault.Invalid, "there are no places of category %q", f.Category)
	}
	var w where
	placeScope(&w, by, auth.PlacesManage)
	if f.Category != "" {
		w.eq("category", string(f.Category))
	}
	if f.ImportID != 0 {
		w.eq("import_id", f.ImportID)
	}
	if f.AfterID > 0 {
		w.add("id > " + w.arg(f.AfterID))
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, import_id, component, category, name, ref, geometry FROM places`+w.String()+
		fmt.Sprintf(` ORDER BY id LIMIT %d`, f.Limit), w.args...)
	return scanAll(rows, err, scanPlace)
}

func scanPlace(sc scanner) (places.Place, error) {
	var p places.Place
	var cat, geom string
	if err := sc.Scan(&p.ID, &p.ImportID, &p.Component, &cat, &p.Name, &p.Ref, &geom); err != nil {
		return p, err
	}
	p.Category = places.Category(cat)
	a, err := places.DecodeGeometry([]byte(geom))
	if err != nil {
		return p, fmt.Errorf("place %d: stored geometry: %w", p.ID, err)
	}
	p.Area = a
	return p, nil
}

// Imports returns the imports by may see (with [auth.PlacesRead]), newest
// first.
func (s *Places) Imports(ctx context.Context, by auth.Principal) ([]PlaceImportInfo, error) {
	if !by.Can(auth.PlacesRead) {
		return nil, fault.New(fault.Forbidden, "your role does not allow reading protected places")
	}
	var w where
	placeScope(&w, by, auth.PlacesRead)
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, component, source, format, digest, places, skipped, imported_by, imported_at,
		(SELECT COUNT(*) FROM places p WHERE p.import_id = place_imports.id) FROM place_imports`+w.String()+` ORDER BY id DESC`, w.args...)
	return scanAll(rows, err, func(sc scanner) (PlaceImportInfo, error) {
		var i PlaceImportInfo
		var format string
		err := sc.Scan(&i.ID, &i.Component, &i.Source, &format, &i.Digest, &i.Places, &i.Skipped, &i.ImportedBy, &i.ImportedAt, &i.Remaining)
		i.Format = places.Format(format)
		return i, err
	})
}

// A PlacesSummary counts the places and homes someone may know of.
type PlacesSummary struct {
	// Places counts places by component ("" department-wide), then
	// category.
	Places map[string]map[places.Category]int
	// Homes counts the employees whose home is set, by their component.
	Homes   map[string]int
	Imports int
	Version int64
}

// Summary counts the places and homes of the components where by holds
// [auth.PlacesRead] (department-wide ones included): no names, no places.
func (s *Places) Summary(ctx context.Context, by auth.Principal) (PlacesSummary, error) {
	if !by.Can(auth.PlacesRead) {
		return PlacesSummary{}, fault.New(fault.Forbidden, "your role does not allow reading protected places")
	}
	out := PlacesSummary{Places: map[string]map[places.Category]int{}, Homes: map[string]int{}}
	err := s.db.View(ctx, func(tx *Tx) error {
		if err := tx.QueryRow(ctx, `SELECT version FROM places_version WHERE id = 1`).Scan(&out.Version); err != nil {
			return err
		}
		var w where
		placeScope(&w, by, auth.PlacesRead)
		rows, err := tx.Query(ctx, `SELECT component, category, COUNT(*) FROM places`+w.String()+` GROUP BY component, category`, w.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var comp, cat string
			var n int
			if err := rows.Scan(&comp, &cat, &n); err != nil {
				return err
			}
			if out.Places[comp] == nil {
				out.Places[comp] = map[places.Category]int{}
			}
			out.Places[comp][places.Category(cat)] = n
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM place_imports`+w.String(), w.args...).Scan(&out.Imports); err != nil {
			return err
		}
		var hw where
		if comps, all := by.Components(auth.PlacesRead); !all {
			hw.add("(" + hw.in("COALESCE(p.component, '')", append(comps, "")) + ")")
		}
		hrows, err := tx.Query(ctx, `SELECT COALESCE(p.component, ''), COUNT(*) FROM employee_homes h JOIN people p ON p.id = h.person_id`+hw.String()+` GROUP BY COALESCE(p.component, '')`, hw.args...)
		if err != nil {
			return err
		}
		defer hrows.Close()
		for hrows.Next() {
			var comp string
			var n int
			if err := hrows.Scan(&comp, &n); err != nil {
				return err
			}
			out.Homes[comp] = n
		}
		return hrows.Err()
	})
	return out, err
}

// mayChange checks that by may change a place or import of component.
// Another component's are not found; department-wide ones are the
// department's.
func mayChange(by auth.Principal, component, what string) error {
	if by.CanIn(auth.PlacesManage, component) {
		return nil
	}
	if component == "" {
		return fault.New(fault.Forbidden, "department-wide %s are managed by the department privacy office", what)
	}
	return errNotFoundPlace
}

var errNotFoundPlace = fault.New(fault.NotFound, "there is no such protected place or import")

// Delete removes the place id.
func (s *Places) Delete(ctx context.Context, by auth.Principal, id int64) error {
	if !by.Can(auth.PlacesManage) {
		return fault.New(fault.Forbidden, placesForbidden)
	}
	return s.db.Update(ctx, func(tx *Tx) error {
		p, err := scanPlace(tx.QueryRow(ctx, `SELECT id, import_id, component, category, name, ref, geometry FROM places WHERE id = $1`+forUpdate(tx), id))
		if errors.Is(err, sql.ErrNoRows) {
			return errNotFoundPlace
		}
		if err != nil {
			return err
		}
		if err := mayChange(by, p.Component, "places"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM places WHERE id = $1`, id); err != nil {
			return err
		}
		if err := s.record(ctx, tx, by, "places.deleted", p.Component, fmt.Sprintf("place/%d", id), map[string]any{
			"place_id": id, "import_id": p.ImportID, "category": string(p.Category), "name": p.Name, "ref": p.Ref,
		}, ""); err != nil {
			return err
		}
		return s.bump(ctx, tx)
	})
}

// DeleteImport removes an import and every place it brought that is left.
func (s *Places) DeleteImport(ctx context.Context, by auth.Principal, id int64) (deleted int, err error) {
	if !by.Can(auth.PlacesManage) {
		return 0, fault.New(fault.Forbidden, placesForbidden)
	}
	err = s.db.Update(ctx, func(tx *Tx) error {
		var comp, source, digest string
		err := tx.QueryRow(ctx, `SELECT component, source, digest FROM place_imports WHERE id = $1`+forUpdate(tx), id).Scan(&comp, &source, &digest)
		if errors.Is(err, sql.ErrNoRows) {
			return errNotFoundPlace
		}
		if err != nil {
			return err
		}
		if err := mayChange(by, comp, "imports"); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `DELETE FROM places WHERE import_id = $1`, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		deleted = int(n)
		if _, err := tx.Exec(ctx, `DELETE FROM place_imports WHERE id = $1`, id); err != nil {
			return err
		}
		if err := s.record(ctx, tx, by, "places.import_deleted", comp, fmt.Sprintf("place_import/%d", id), map[string]any{
			"import_id": id, "source": source, "places": deleted,
		}, digest); err != nil {
			return err
		}
		return s.bump(ctx, tx)
	})
	return deleted, err
}

// homePerson returns the component and employee ID of person id, if by
// may manage their home; another component's people are not found.
func homePerson(ctx context.Context, tx *Tx, by auth.Principal, id int64) (component, employeeID string, err error) {
	var comp sql.NullString
	err = tx.QueryRow(ctx, `SELECT component, employee_id FROM people WHERE id = $1`, id).Scan(&comp, &employeeID)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !by.CanIn(auth.PlacesManage, comp.String) {
		return "", "", fault.New(fault.NotFound, "there is no person %d", id)
	}
	return comp.String, employeeID, err
}

// SetEmployeeHome keeps person personID's home as the hashed cells within
// radiusM metres of lat, lon (see [places.HomeKey.HomeCells]), replacing
// any home set before. The coordinates are not kept, nor recorded.
func (s *Places) SetEmployeeHome(ctx context.Context, by auth.Principal, personID int64, lat, lon, radiusM float64) error {
	if !by.Can(auth.PlacesManage) {
		return fault.New(fault.Forbidden, "your role does not allow setting employees' homes: that is the privacy officers'")
	}
	if s.home == nil {
		return fault.New(fault.Precondition, "employees' homes cannot be set: the home-cell key is not configured")
	}
	cells, err := s.home.HomeCells(lat, lon, radiusM)
	if err != nil {
		return fault.Wrap(err, fault.Invalid, "%s", err.Error())
	}
	return s.db.Update(ctx, func(tx *Tx) error {
		comp, employeeID, err := homePerson(ctx, tx, by, personID)
		if err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `DELETE FROM employee_home_cells WHERE person_id = $1`, personID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM employee_homes WHERE person_id = $1`, personID); err != nil {
			return err
		}
		replaced, _ := res.RowsAffected()
		if _, err := tx.Exec(ctx, `INSERT INTO employee_homes (person_id, radius_m, cells, set_by, set_at) VALUES ($1, $2, $3, $4, $5)`,
			personID, radiusM, len(cells), by.ID, tx.Now); err != nil {
			return err
		}
		var q strings.Builder
		q.WriteString(`INSERT INTO employee_home_cells (person_id, level, cell_hash) VALUES `)
		args := make([]any, 0, 3*len(cells))
		for i, c := range cells {
			if i > 0 {
				q.WriteByte(',')
			}
			k := len(args)
			fmt.Fprintf(&q, "($%d,$%d,$%d)", k+1, k+2, k+3)
			args = append(args, personID, c.Level, c.Hash[:])
		}
		if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
			return err
		}
		if err := s.record(ctx, tx, by, "places.home_set", comp, personSubject(personID), map[string]any{
			"person_id": personID, "employee_id": employeeID, "cells": len(cells), "level": places.HomeLevel, "replaced": replaced > 0,
		}, ""); err != nil {
			return err
		}
		return s.bump(ctx, tx)
	})
}

// ClearEmployeeHome forgets person personID's home.
func (s *Places) ClearEmployeeHome(ctx context.Context, by auth.Principal, personID int64) error {
	if !by.Can(auth.PlacesManage) {
		return fault.New(fault.Forbidden, "your role does not allow setting employees' homes: that is the privacy officers'")
	}
	return s.db.Update(ctx, func(tx *Tx) error {
		comp, employeeID, err := homePerson(ctx, tx, by, personID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM employee_home_cells WHERE person_id = $1`, personID); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `DELETE FROM employee_homes WHERE person_id = $1`, personID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fault.New(fault.NotFound, "person %d has no home set", personID)
		}
		if err := s.record(ctx, tx, by, "places.home_cleared", comp, personSubject(personID), map[string]any{
			"person_id": personID, "employee_id": employeeID,
		}, ""); err != nil {
			return err
		}
		return s.bump(ctx, tx)
	})
}

// PlacesData is everything the screening index is built from, read in
// one snapshot.
type PlacesData struct {
	Version int64
	Places  []places.Place
	Homes   []places.Home
}

// Load reads every place and every employee's hashed home cells, without
// authorization: for the screening index, never for display.
func (s *Places) Load(ctx context.Context) (PlacesData, error) {
	var out PlacesData
	err := s.db.View(ctx, func(tx *Tx) error {
		if err := tx.QueryRow(ctx, `SELECT version FROM places_version WHERE id = 1`).Scan(&out.Version); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, import_id, component, category, name, ref, geometry FROM places ORDER BY id`)
		if out.Places, err = scanAll(rows, err, scanPlace); err != nil {
			return err
		}
		crows, err := tx.Query(ctx, `SELECT person_id, level, cell_hash FROM employee_home_cells ORDER BY person_id, level, cell_hash`)
		if err != nil {
			return err
		}
		defer crows.Close()
		homes := map[int64][]places.HomeCell{}
		for crows.Next() {
			var id int64
			var c places.HomeCell
			var h []byte
			if err := crows.Scan(&id, &c.Level, &h); err != nil {
				return err
			}
			if len(h) != len(c.Hash) {
				return fmt.Errorf("person %d: a stored home cell hash is %d bytes", id, len(h))
			}
			copy(c.Hash[:], h)
			homes[id] = append(homes[id], c)
		}
		if err := crows.Err(); err != nil {
			return err
		}
		for _, id := range slices.Sorted(maps.Keys(homes)) {
			out.Homes = append(out.Homes, places.Home{PersonID: id, Cells: homes[id]})
		}
		return nil
	})
	if err != nil {
		return PlacesData{}, fmt.Errorf("load the protected places: %w", err)
	}
	return out, nil
}
