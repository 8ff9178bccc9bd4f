package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
)

// Privacy is the store of the privacy compliance program: systems, data
// sources, PTAs, PIAs and their workflow, compliance reviews, and the gate
// that decides whether a data source may be used. Every change is
// authorized against the acting principal within the component concerned,
// checked against the privacy rules, and recorded in the ledger in the
// same transaction; a refused workflow step is recorded too.
type Privacy struct {
	db *DB
}

// Privacy returns the privacy store over db.
func (db *DB) Privacy() *Privacy { return &Privacy{db: db} }

func (s *Privacy) record(ctx context.Context, tx *Tx, by ledger.Actor, typ, component, subject string, data map[string]any, digest string) error {
	if s.db.ledger == nil {
		return fault.New(fault.Internal, "the ledger is not open")
	}
	_, err := s.db.ledger.Append(ctx, tx, ledger.Event{Type: typ, Actor: by, Component: component, Subject: subject, Data: data, Digest: digest})
	return err
}

// forUpdate locks the rows a read-write transaction reads before changing
// them: PostgreSQL runs transactions concurrently, SQLite has one writer.
func forUpdate(tx *Tx) string {
	if tx.Dialect() == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func dateOnly(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

// scope restricts column to the components where by holds perm (adding
// nothing when department-wide); holding it nowhere is refused.
func (w *where) scope(by auth.Principal, perm auth.Permission, column string) error {
	comps, all := by.Components(perm)
	if all {
		return nil
	}
	if len(comps) == 0 {
		return fault.New(fault.Forbidden, "your role does not allow seeing the privacy inventory")
	}
	w.add(w.in(column, comps))
	return nil
}

// inventoryWhere selects what by may see of the privacy inventory, of one
// component or all.
func inventoryWhere(by auth.Principal, component string) (*where, error) {
	var w where
	if err := w.scope(by, auth.InventoryRead, "component"); err != nil {
		return nil, err
	}
	if component != "" {
		w.eq("component", component)
	}
	return &w, nil
}

// Systems.

const systemColumns = `id, name, component, owner_id, isso_id, impact, ato_granted, ato_expires, created_at, updated_at`

func scanSystem(sc scanner) (privacy.System, error) {
	var sys privacy.System
	var granted, expires sql.NullTime
	err := sc.Scan(&sys.ID, &sys.Name, &sys.Component, &sys.OwnerID, &sys.ISSOID, &sys.Impact, &granted, &expires, &sys.CreatedAt, &sys.UpdatedAt)
	sys.ATOGranted, sys.ATOExpires = granted.Time, expires.Time
	return sys, err
}

func notFoundSystem(id int64) error { return fault.New(fault.NotFound, "there is no system %d", id) }

// system reads a system in tx, for by: one by may not see does not exist.
func (s *Privacy) system(ctx context.Context, tx *Tx, by auth.Principal, id int64, lock bool) (privacy.System, error) {
	q := `SELECT ` + systemColumns + ` FROM systems WHERE id = $1`
	if lock {
		q += forUpdate(tx)
	}
	sys, err := scanSystem(tx.QueryRow(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !by.CanIn(auth.InventoryRead, sys.Component)) {
		return privacy.System{}, notFoundSystem(id)
	}
	return sys, err
}

// checkSystemPeople checks a system's owner and security officer in tx:
// active people of the system's component, the officer holding the
// security officer role there.
func checkSystemPeople(ctx context.Context, tx *Tx, sys privacy.System) error {
	var errs privacy.Errors
	check := func(field string, id int64, role auth.Role) {
		var comp sql.NullString
		var status string
		err := tx.QueryRow(ctx, `SELECT component, status FROM people WHERE id = $1`, id).Scan(&comp, &status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			errs = append(errs, privacy.FieldError{Field: field, Message: fmt.Sprintf("there is no person %d", id)})
			return
		case err != nil:
			errs = append(errs, privacy.FieldError{Field: field, Message: "could not be checked"})
			return
		case comp.String != sys.Component:
			errs = append(errs, privacy.FieldError{Field: field, Message: fmt.Sprintf("person %d does not belong to %s", id, sys.Component)})
			return
		case status != "active" && status != "invited":
			errs = append(errs, privacy.FieldError{Field: field, Message: fmt.Sprintf("person %d's account is %s", id, status)})
			return
		}
		if role == "" {
			return
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM grants WHERE person_id = $1 AND role = $2 AND component = $3 AND status = 'active'`, id, string(role), sys.Component).Scan(&n); err != nil || n == 0 {
			errs = append(errs, privacy.FieldError{Field: field, Message: fmt.Sprintf("person %d does not hold the %s role in %s", id, role.Title(), sys.Component)})
		}
	}
	check("owner_id", sys.OwnerID, "")
	check("isso_id", sys.ISSOID, auth.SecurityOfficer)
	return errs.Err("the system is not valid")
}

// CreateSystem adds a system to the inventory.
func (s *Privacy) CreateSystem(ctx context.Context, by auth.Principal, sys privacy.System) (privacy.System, error) {
	sys.Name = strings.TrimSpace(sys.Name)
	if err := sys.Validate(); err != nil {
		return sys, err
	}
	if !by.CanIn(auth.InventoryManage, sys.Component) {
		return sys, fault.New(fault.Forbidden, "your role does not allow adding systems to the inventory of %s", sys.Component)
	}
	err := s.db.Update(ctx, func(tx *Tx) error {
		if err := checkSystemPeople(ctx, tx, sys); err != nil {
			return err
		}
		sys.CreatedAt, sys.UpdatedAt = tx.Now, tx.Now
		err := tx.QueryRow(ctx, `INSERT INTO systems (name, component, owner_id, isso_id, impact, ato_granted, ato_expires, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
			sys.Name, sys.Component, sys.OwnerID, sys.ISSOID, string(sys.Impact), nullTime(sys.ATOGranted), nullTime(sys.ATOExpires), tx.Now).Scan(&sys.ID)
		switch {
		case isUniqueViolation(err):
			return fault.New(fault.Conflict, "%s already has a system named %q", sys.Component, sys.Name)
		case isForeignKeyViolation(err):
			return fault.New(fault.NotFound, "there is no component %s", sys.Component)
		case err != nil:
			return err
		}
		return s.record(ctx, tx, by.Actor(), "inventory.system_created", sys.Component, fmt.Sprintf("system/%d", sys.ID), map[string]any{
			"name": sys.Name, "impact": string(sys.Impact), "owner_id": sys.OwnerID, "isso_id": sys.ISSOID,
			"ato_granted": dateOnly(sys.ATOGranted), "ato_expires": dateOnly(sys.ATOExpires),
		}, "")
	})
	return sys, err
}

// A SystemUpdate changes a system; nil fields stay. A zero ATO date
// clears it.
type SystemUpdate struct {
	Name       *string
	OwnerID    *int64
	ISSOID     *int64
	Impact     *privacy.Impact
	ATOGranted *time.Time
	ATOExpires *time.Time
}

// UpdateSystem changes a system.
func (s *Privacy) UpdateSystem(ctx context.Context, by auth.Principal, id int64, u SystemUpdate) (privacy.System, error) {
	var sys privacy.System
	err := s.db.Update(ctx, func(tx *Tx) error {
		var err error
		if sys, err = s.system(ctx, tx, by, id, true); err != nil {
			return err
		}
		if !by.CanIn(auth.InventoryManage, sys.Component) {
			return fault.New(fault.Forbidden, "your role does not allow changing the inventory of %s", sys.Component)
		}
		var changed []string
		if u.Name != nil && strings.TrimSpace(*u.Name) != sys.Name {
			sys.Name, changed = strings.TrimSpace(*u.Name), append(changed, "name")
		}
		if u.OwnerID != nil && *u.OwnerID != sys.OwnerID {
			sys.OwnerID, changed = *u.OwnerID, append(changed, "owner_id")
		}
		if u.ISSOID != nil && *u.ISSOID != sys.ISSOID {
			sys.ISSOID, changed = *u.ISSOID, append(changed, "isso_id")
		}
		if u.Impact != nil && *u.Impact != sys.Impact {
			sys.Impact, changed = *u.Impact, append(changed, "impact")
		}
		if u.ATOGranted != nil && !u.ATOGranted.Equal(sys.ATOGranted) {
			sys.ATOGranted, changed = *u.ATOGranted, append(changed, "ato_granted")
		}
		if u.ATOExpires != nil && !u.ATOExpires.Equal(sys.ATOExpires) {
			sys.ATOExpires, changed = *u.ATOExpires, append(changed, "ato_expires")
		}
		if len(changed) == 0 {
			return nil
		}
		if err := sys.Validate(); err != nil {
			return err
		}
		if err := checkSystemPeople(ctx, tx, sys); err != nil {
			return err
		}
		sys.UpdatedAt = tx.Now
		_, err = tx.Exec(ctx, `UPDATE systems SET name = $1, owner_id = $2, isso_id = $3, impact = $4, ato_granted = $5, ato_expires = $6, updated_at = $7 WHERE id = $8`,
			sys.Name, sys.OwnerID, sys.ISSOID, string(sys.Impact), nullTime(sys.ATOGranted), nullTime(sys.ATOExpires), tx.Now, id)
		if isUniqueViolation(err) {
			return fault.New(fault.Conflict, "%s already has a system named %q", sys.Component, sys.Name)
		}
		if err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "inventory.system_updated", sys.Component, fmt.Sprintf("system/%d", id), map[string]any{
			"fields": changed, "impact": string(sys.Impact), "owner_id": sys.OwnerID, "isso_id": sys.ISSOID,
			"ato_granted": dateOnly(sys.ATOGranted), "ato_expires": dateOnly(sys.ATOExpires),
		}, "")
	})
	return sys, err
}

// System returns a system by may see.
func (s *Privacy) System(ctx context.Context, by auth.Principal, id int64) (privacy.System, error) {
	return viewOne(ctx, s.db, func(tx *Tx) (privacy.System, error) {
		return s.system(ctx, tx, by, id, false)
	})
}

// Systems lists the systems by may see, of one component or all.
func (s *Privacy) Systems(ctx context.Context, by auth.Principal, component string) ([]privacy.System, error) {
	w, err := inventoryWhere(by, component)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+systemColumns+` FROM systems`+w.String()+` ORDER BY component, name`, w.args...)
	return scanAll(rows, err, scanSystem)
}

// Data sources.

// sourceCols returns the columns scanSource reads, of the table alias
// prefix ("" or "s.").
func sourceCols(prefix string) string {
	return strings.NewReplacer("$.", prefix).Replace(`$.id, $.name, $.title, $.component, $.system_id, $.vendor, $.contract_number, $.contract_start, $.contract_end,
	$.categories, $.connector, $.rules_key, $.credential_ref, $.credential_configured_at, $.suspended_at, $.suspended_by, $.suspended_reason, $.created_at, $.updated_at`)
}

var sourceColumns = sourceCols("")

func scanSource(sc scanner) (privacy.Source, error) {
	var src privacy.Source
	var start, end, cred, susp sql.NullTime
	var cats string
	dest := []any{&src.ID, &src.Name, &src.Title, &src.Component, &src.SystemID, &src.Vendor, &src.ContractNumber, &start, &end,
		&cats, &src.Connector, &src.RulesKey, &src.CredentialRef, &cred, &susp, &src.SuspendedBy, &src.SuspendedReason, &src.CreatedAt, &src.UpdatedAt}
	if err := sc.Scan(dest...); err != nil {
		return src, err
	}
	src.ContractStart, src.ContractEnd, src.CredentialConfiguredAt, src.SuspendedAt = start.Time, end.Time, cred.Time, susp.Time
	if err := json.Unmarshal([]byte(cats), &src.Categories); err != nil {
		return src, fmt.Errorf("data source %d: categories: %w", src.ID, err)
	}
	return src, nil
}

func notFoundSource(id int64) error {
	return fault.New(fault.NotFound, "there is no data source %d", id)
}

// source reads a data source in tx, for by: one by may not see does not
// exist.
func (s *Privacy) source(ctx context.Context, tx *Tx, by auth.Principal, id int64, lock bool) (privacy.Source, error) {
	q := `SELECT ` + sourceColumns + ` FROM data_sources WHERE id = $1`
	if lock {
		q += forUpdate(tx)
	}
	src, err := scanSource(tx.QueryRow(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !by.CanIn(auth.InventoryRead, src.Component)) {
		return privacy.Source{}, notFoundSource(id)
	}
	return src, err
}

func sourceSubject(id int64) string { return fmt.Sprintf("source/%d", id) }

func categoriesJSON(cs []string) string {
	b, _ := json.Marshal(cs)
	return string(b)
}

// CreateSource adds a data source to the inventory, within a system of the
// same component. It is unusable until the gate finds every piece in
// place.
func (s *Privacy) CreateSource(ctx context.Context, by auth.Principal, src privacy.Source) (privacy.Source, error) {
	src.Normalize()
	src.CredentialRef, src.CredentialConfiguredAt, src.SuspendedAt = "", time.Time{}, time.Time{}
	if err := src.Validate(); err != nil {
		return src, err
	}
	err := s.db.Update(ctx, func(tx *Tx) error {
		sys, err := s.system(ctx, tx, by, src.SystemID, false)
		if err != nil {
			return err
		}
		src.Component = sys.Component
		if !by.CanIn(auth.InventoryManage, src.Component) {
			return fault.New(fault.Forbidden, "your role does not allow adding data sources to the inventory of %s", src.Component)
		}
		src.CreatedAt, src.UpdatedAt = tx.Now, tx.Now
		err = tx.QueryRow(ctx, `INSERT INTO data_sources (name, title, component, system_id, vendor, contract_number, contract_start, contract_end, categories, connector, rules_key, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id`,
			src.Name, src.Title, src.Component, src.SystemID, src.Vendor, src.ContractNumber, nullTime(src.ContractStart), nullTime(src.ContractEnd),
			categoriesJSON(src.Categories), string(src.Connector), src.RulesKey, tx.Now).Scan(&src.ID)
		if isUniqueViolation(err) {
			return fault.New(fault.Conflict, "a data source named %q already exists", src.Name)
		}
		if err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "inventory.source_created", src.Component, sourceSubject(src.ID), map[string]any{
			"name": src.Name, "title": src.Title, "system_id": src.SystemID, "vendor": src.Vendor, "contract_number": src.ContractNumber,
			"contract_start": dateOnly(src.ContractStart), "contract_end": dateOnly(src.ContractEnd),
			"categories": src.Categories, "connector": string(src.Connector), "rules_key": src.RulesKey,
		}, "")
	})
	return src, err
}

// A SourceUpdate changes a data source; nil fields stay. Its name (and so
// its identity in commands and ledger entries) never changes.
type SourceUpdate struct {
	Title          *string
	SystemID       *int64
	Vendor         *string
	ContractNumber *string
	ContractStart  *time.Time
	ContractEnd    *time.Time
	Categories     *[]string
	Connector      *privacy.Connector
	RulesKey       *string
}

// UpdateSource changes a data source. A change of vendor, data categories
// or connector marks the source's PIA "update required" in the same
// transaction, which closes the gate until an updated PIA is published.
func (s *Privacy) UpdateSource(ctx context.Context, by auth.Principal, id int64, u SourceUpdate) (privacy.Source, error) {
	var src privacy.Source
	err := s.db.Update(ctx, func(tx *Tx) error {
		old, err := s.source(ctx, tx, by, id, true)
		if err != nil {
			return err
		}
		if !by.CanIn(auth.InventoryManage, old.Component) {
			return fault.New(fault.Forbidden, "your role does not allow changing the inventory of %s", old.Component)
		}
		src = old
		src.Categories = slices.Clone(old.Categories)
		setS := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		setS(&src.Title, u.Title)
		setS(&src.Vendor, u.Vendor)
		setS(&src.ContractNumber, u.ContractNumber)
		setS(&src.RulesKey, u.RulesKey)
		if u.SystemID != nil {
			src.SystemID = *u.SystemID
		}
		if u.ContractStart != nil {
			src.ContractStart = *u.ContractStart
		}
		if u.ContractEnd != nil {
			src.ContractEnd = *u.ContractEnd
		}
		if u.Categories != nil {
			src.Categories = *u.Categories
		}
		if u.Connector != nil {
			src.Connector = *u.Connector
		}
		src.Normalize()
		if err := src.Validate(); err != nil {
			return err
		}
		if src.SystemID != old.SystemID {
			sys, err := s.system(ctx, tx, by, src.SystemID, false)
			if err != nil {
				return err
			}
			if sys.Component != old.Component {
				return fault.New(fault.Invalid, "system %d belongs to %s; a data source of %s stays in %s", sys.ID, sys.Component, old.Component, old.Component)
			}
		}
		fields := changedSourceFields(old, src)
		if len(fields) == 0 {
			return nil
		}
		if src.Connector != old.Connector && !src.Connector.NeedsCredential() {
			src.CredentialRef, src.CredentialConfiguredAt = "", time.Time{}
		}
		src.UpdatedAt = tx.Now
		if _, err := tx.Exec(ctx, `UPDATE data_sources SET title = $1, system_id = $2, vendor = $3, contract_number = $4, contract_start = $5, contract_end = $6,
			categories = $7, connector = $8, rules_key = $9, credential_ref = $10, credential_configured_at = $11, updated_at = $12 WHERE id = $13`,
			src.Title, src.SystemID, src.Vendor, src.ContractNumber, nullTime(src.ContractStart), nullTime(src.ContractEnd),
			categoriesJSON(src.Categories), string(src.Connector), src.RulesKey, src.CredentialRef, nullTime(src.CredentialConfiguredAt), tx.Now, id); err != nil {
			return err
		}
		data := map[string]any{"fields": fields}
		for _, f := range fields {
			switch f {
			case "vendor":
				data["vendor"] = map[string]any{"from": old.Vendor, "to": src.Vendor}
			case "categories":
				data["categories"] = map[string]any{"from": old.Categories, "to": src.Categories}
			case "connector":
				data["connector"] = map[string]any{"from": string(old.Connector), "to": string(src.Connector)}
			}
		}
		if err := s.record(ctx, tx, by.Actor(), "inventory.source_updated", src.Component, sourceSubject(id), data, ""); err != nil {
			return err
		}
		if changes := privacy.ChangesNeedingPIAUpdate(old, src); len(changes) > 0 {
			return s.requireUpdate(ctx, tx, by, src, changes)
		}
		return nil
	})
	return src, err
}

func changedSourceFields(a, b privacy.Source) []string {
	var out []string
	add := func(name string, changed bool) {
		if changed {
			out = append(out, name)
		}
	}
	add("title", a.Title != b.Title)
	add("system_id", a.SystemID != b.SystemID)
	add("vendor", a.Vendor != b.Vendor)
	add("contract_number", a.ContractNumber != b.ContractNumber)
	add("contract_start", !a.ContractStart.Equal(b.ContractStart))
	add("contract_end", !a.ContractEnd.Equal(b.ContractEnd))
	add("categories", !slices.Equal(a.Categories, b.Categories))
	add("connector", a.Connector != b.Connector)
	add("rules_key", a.RulesKey != b.RulesKey)
	return out
}

// requireUpdate marks the source's PIA, if it has one, "update required"
// in tx, naming the changes.
func (s *Privacy) requireUpdate(ctx context.Context, tx *Tx, by auth.Principal, src privacy.Source, changes []string) error {
	var piaID int64
	var reason string
	err := tx.QueryRow(ctx, `SELECT id, update_reason FROM pias WHERE source_id = $1`+forUpdate(tx), src.ID).Scan(&piaID, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	// A change before the earlier one was answered adds to it.
	fields := changes
	if prev, ok := strings.CutSuffix(reason, " changed"); ok {
		fields = append(strings.Split(prev, ", "), changes...)
		slices.Sort(fields)
		fields = slices.Compact(fields)
	}
	reason = strings.Join(fields, ", ") + " changed"
	if _, err := tx.Exec(ctx, `UPDATE pias SET update_required_at = $1, update_reason = $2, updated_at = $1 WHERE id = $3`, tx.Now, reason, piaID); err != nil {
		return err
	}
	return s.record(ctx, tx, by.Actor(), "pia.update_required", src.Component, piaSubject(piaID), map[string]any{
		"source_id": src.ID, "changes": changes, "reason": reason,
	}, "")
}

// SuspendSource suspends a data source: the gate refuses it, whatever else
// holds, until it is reinstated.
func (s *Privacy) SuspendSource(ctx context.Context, by auth.Principal, id int64, reason string) (privacy.Source, error) {
	return s.setSuspended(ctx, by, id, reason, true)
}

// ReinstateSource lifts a data source's suspension.
func (s *Privacy) ReinstateSource(ctx context.Context, by auth.Principal, id int64, reason string) (privacy.Source, error) {
	return s.setSuspended(ctx, by, id, reason, false)
}

func (s *Privacy) setSuspended(ctx context.Context, by auth.Principal, id int64, reason string, suspend bool) (privacy.Source, error) {
	reason = strings.TrimSpace(reason)
	var errs privacy.Errors
	if reason == "" || len(reason) > 1000 {
		errs = append(errs, privacy.FieldError{Field: "reason", Message: "give a reason (up to 1,000 characters)"})
	}
	if err := errs.Err("the request is not valid"); err != nil {
		return privacy.Source{}, err
	}
	var src privacy.Source
	err := s.db.Update(ctx, func(tx *Tx) error {
		var err error
		if src, err = s.source(ctx, tx, by, id, true); err != nil {
			return err
		}
		if !by.CanIn(auth.InventoryManage, src.Component) {
			return fault.New(fault.Forbidden, "your role does not allow suspending or reinstating data sources of %s", src.Component)
		}
		if src.Suspended() == suspend {
			if suspend {
				return fault.New(fault.Conflict, "data source %s is already suspended", src.Name)
			}
			return fault.New(fault.Conflict, "data source %s is not suspended", src.Name)
		}
		data := map[string]any{"reason": reason}
		typ := "inventory.source_suspended"
		if suspend {
			src.SuspendedAt, src.SuspendedBy, src.SuspendedReason = tx.Now, by.ID, reason
		} else {
			typ = "inventory.source_reinstated"
			data["suspended_at"] = src.SuspendedAt.UTC().Format(time.RFC3339)
			src.SuspendedAt, src.SuspendedBy, src.SuspendedReason = time.Time{}, "", ""
		}
		src.UpdatedAt = tx.Now
		if _, err := tx.Exec(ctx, `UPDATE data_sources SET suspended_at = $1, suspended_by = $2, suspended_reason = $3, updated_at = $4 WHERE id = $5`,
			nullTime(src.SuspendedAt), src.SuspendedBy, src.SuspendedReason, tx.Now, id); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), typ, src.Component, sourceSubject(id), data, "")
	})
	return src, err
}

// SetCredential marks a data source's connector credential configured,
// with a reference to where it is kept; an empty ref marks it removed.
// The ledger records only a digest of the reference.
func (s *Privacy) SetCredential(ctx context.Context, by auth.Principal, id int64, ref string) (privacy.Source, error) {
	ref = strings.TrimSpace(ref)
	if ref != "" {
		if err := privacy.ValidateCredentialRef(ref); err != nil {
			return privacy.Source{}, err
		}
	}
	var src privacy.Source
	err := s.db.Update(ctx, func(tx *Tx) error {
		var err error
		if src, err = s.source(ctx, tx, by, id, true); err != nil {
			return err
		}
		if !by.CanIn(auth.InventoryManage, src.Component) {
			return fault.New(fault.Forbidden, "your role does not allow configuring credentials of %s's data sources", src.Component)
		}
		if !src.Connector.NeedsCredential() {
			return fault.New(fault.Invalid, "the %s connector of %s uses no credential", src.Connector, src.Name)
		}
		if ref == "" && src.CredentialRef == "" {
			return fault.New(fault.Conflict, "data source %s has no credential configured", src.Name)
		}
		if ref == src.CredentialRef {
			return fault.New(fault.Conflict, "data source %s already has this credential configured", src.Name)
		}
		typ, digest := "inventory.source_credential_removed", ""
		src.CredentialRef, src.CredentialConfiguredAt = ref, time.Time{}
		if ref != "" {
			typ, digest = "inventory.source_credential_configured", ledger.PayloadDigest([]byte(ref))
			src.CredentialConfiguredAt = tx.Now
		}
		src.UpdatedAt = tx.Now
		if _, err := tx.Exec(ctx, `UPDATE data_sources SET credential_ref = $1, credential_configured_at = $2, updated_at = $3 WHERE id = $4`,
			src.CredentialRef, nullTime(src.CredentialConfiguredAt), tx.Now, id); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), typ, src.Component, sourceSubject(id), map[string]any{"connector": string(src.Connector)}, digest)
	})
	return src, err
}

// Source returns a data source by may see.
func (s *Privacy) Source(ctx context.Context, by auth.Principal, id int64) (privacy.Source, error) {
	return viewOne(ctx, s.db, func(tx *Tx) (privacy.Source, error) {
		return s.source(ctx, tx, by, id, false)
	})
}

// SourceByName returns the data source with a name, inside tx, without
// authorization: for the query path, which authorizes the person itself.
func (s *Privacy) SourceByName(ctx context.Context, tx *Tx, name string) (privacy.Source, error) {
	src, err := scanSource(tx.QueryRow(ctx, `SELECT `+sourceColumns+` FROM data_sources WHERE name = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return src, fault.New(fault.NotFound, "there is no data source %q", name)
	}
	return src, err
}

// Sources lists the data sources by may see, of one component or all.
func (s *Privacy) Sources(ctx context.Context, by auth.Principal, component string) ([]privacy.Source, error) {
	w, err := inventoryWhere(by, component)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+sourceColumns+` FROM data_sources`+w.String()+` ORDER BY component, name`, w.args...)
	return scanAll(rows, err, scanSource)
}

// The gate.

// gateQuery reads what the gate decides from in one short statement (it
// is parsed for every check): the source, its PIA if any, and the latest
// version of its rules of behavior.
const gateQuery = `SELECT s.id, s.name, s.component, s.connector, s.rules_key, s.credential_ref, s.suspended_at, s.suspended_by, s.suspended_reason,
	p.id, p.status, p.approved_version, p.approved_at, p.effective_version, p.effective_expires_at, p.update_required_at, p.update_reason,
	COALESCE((SELECT MAX(r.version) FROM rules r WHERE r.key = s.rules_key), 0)
	FROM data_sources s LEFT JOIN pias p ON p.source_id = s.id WHERE s.id = $1`

func (s *Privacy) gateFacts(ctx context.Context, tx *Tx, sourceID int64, lock bool) (privacy.GateFacts, error) {
	q := gateQuery
	if lock && tx.Dialect() == Postgres {
		// Hold the source row until the caller commits: a suspension, a
		// credential removal or a change that needs a PIA update waits for
		// the action the gate let through, or is seen by it.
		q += ` FOR SHARE OF s`
	}
	var f privacy.GateFacts
	src := &f.Source
	var susp, appAt, effExp, updAt sql.NullTime
	var piaID, appV, effV sql.NullInt64
	var status, reason sql.NullString
	err := tx.QueryRow(ctx, q, sourceID).Scan(&src.ID, &src.Name, &src.Component, &src.Connector, &src.RulesKey, &src.CredentialRef, &susp, &src.SuspendedBy, &src.SuspendedReason,
		&piaID, &status, &appV, &appAt, &effV, &effExp, &updAt, &reason, &f.RulesVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return f, notFoundSource(sourceID)
	}
	if err != nil {
		return f, fmt.Errorf("read the gate of data source %d: %w", sourceID, err)
	}
	src.SuspendedAt, f.Now = susp.Time, tx.Now
	if piaID.Valid {
		f.PIA = &privacy.PIA{ID: piaID.Int64, SourceID: sourceID, Component: src.Component, Status: privacy.Status(status.String),
			ApprovedVersion: int(appV.Int64), ApprovedAt: appAt.Time, EffectiveVersion: int(effV.Int64), EffectiveExpiresAt: effExp.Time,
			UpdateRequiredAt: updAt.Time, UpdateReason: reason.String}
	}
	return f, nil
}

// CheckGate evaluates the gate of a data source inside the caller's
// transaction, so that an action the gate lets through commits only if the
// gate held when it did; on PostgreSQL tx must be read-write, as the
// source row is share-locked until tx ends. The status lists every missing
// piece, with the people who can fix each; [privacy.GateStatus.Err] turns
// a closed gate into the refusal. It does no authorization: the caller
// has authorized the person.
func (s *Privacy) CheckGate(ctx context.Context, tx *Tx, sourceID int64) (privacy.GateStatus, error) {
	f, err := s.gateFacts(ctx, tx, sourceID, true)
	if err != nil {
		return privacy.GateStatus{}, err
	}
	g := privacy.EvaluateGate(f)
	if !g.Usable {
		if err := s.fillContacts(ctx, tx, &g); err != nil {
			return g, err
		}
	}
	return g, nil
}

// PeekGate is [Privacy.CheckGate] without holding the source row: for a
// read-only transaction that precedes the one that acts, which must check
// the gate again (the query path does, before it asks a connector).
func (s *Privacy) PeekGate(ctx context.Context, tx *Tx, sourceID int64) (privacy.GateStatus, error) {
	f, err := s.gateFacts(ctx, tx, sourceID, false)
	if err != nil {
		return privacy.GateStatus{}, err
	}
	return privacy.EvaluateGate(f), nil
}

// RequireGate is [Privacy.CheckGate] that returns the refusal, a
// [fault.Precondition] error wrapping a [*privacy.GateError], when the
// source may not be used.
func (s *Privacy) RequireGate(ctx context.Context, tx *Tx, sourceID int64) error {
	g, err := s.CheckGate(ctx, tx, sourceID)
	if err != nil {
		return err
	}
	return g.Err()
}

// fillContacts names, for every missing piece, the active people holding
// a role that can fix it for the source's component.
func (s *Privacy) fillContacts(ctx context.Context, tx *Tx, g *privacy.GateStatus) error {
	rows, err := tx.Query(ctx, `SELECT p.id, p.employee_id, p.name, g.role FROM grants g JOIN people p ON p.id = g.person_id
		WHERE g.status = 'active' AND p.status = 'active' AND (g.component = $1 OR g.component = '')
		AND g.role IN ('security_officer', 'component_privacy_officer', 'department_privacy_officer')
		ORDER BY p.name, p.id`, g.Component)
	if err != nil {
		return fmt.Errorf("find who can open the gate of %s: %w", g.SourceName, err)
	}
	var all []privacy.Contact
	for rows.Next() {
		var c privacy.Contact
		if err := rows.Scan(&c.ID, &c.EmployeeID, &c.Name, &c.Role); err != nil {
			rows.Close()
			return err
		}
		all = append(all, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range g.Missing {
		m := &g.Missing[i]
		for _, c := range all {
			if slices.Contains(m.Roles, c.Role) {
				m.People = append(m.People, c)
			}
		}
	}
	return nil
}

// GateStatus returns the gate of a data source by may see, now.
func (s *Privacy) GateStatus(ctx context.Context, by auth.Principal, sourceID int64) (privacy.GateStatus, error) {
	var g privacy.GateStatus
	err := s.db.View(ctx, func(tx *Tx) error {
		if _, err := s.source(ctx, tx, by, sourceID, false); err != nil {
			return err
		}
		f, err := s.gateFacts(ctx, tx, sourceID, false)
		if err != nil {
			return err
		}
		g = privacy.EvaluateGate(f)
		if !g.Usable {
			return s.fillContacts(ctx, tx, &g)
		}
		return nil
	})
	return g, err
}

// GateStatuses returns the gate of every data source by may see, of one
// component or all, from one snapshot.
func (s *Privacy) GateStatuses(ctx context.Context, by auth.Principal, component string) ([]privacy.GateStatus, error) {
	w, err := inventoryWhere(by, component)
	if err != nil {
		return nil, err
	}
	out := []privacy.GateStatus{}
	err = s.db.View(ctx, func(tx *Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM data_sources`+w.String()+` ORDER BY component, name`, w.args...)
		ids, err := scanAll(rows, err, scanID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			f, err := s.gateFacts(ctx, tx, id, false)
			if err != nil {
				return err
			}
			g := privacy.EvaluateGate(f)
			if !g.Usable {
				if err := s.fillContacts(ctx, tx, &g); err != nil {
					return err
				}
			}
			out = append(out, g)
		}
		return nil
	})
	return out, err
}
