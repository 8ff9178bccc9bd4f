package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/release"
)

// Releases is the store of the mobile-app release gate: apps and their
// versioned scan policies, releases bound to an artifact digest, the scans
// imported into them and their findings (see releases_scans.go), triage and
// risk exceptions, deliverable documents, and the gate's decisions.
//
// Everything is scoped by the app's component. Who may do what:
//   - reading anything needs releases.read in the component (security and
//     privacy officers, auditors); one who may not see an app, release or
//     finding is told it does not exist;
//   - apps and their policies are managed with apps.manage;
//   - a release is submitted, and its documents delivered, by a person
//     holding releases.submit;
//   - a scan is imported by a person holding scans.import and one of the
//     roles the app's policy names to run scans of that type;
//   - findings are triaged, and exceptions requested, by a person holding
//     findings.triage and one of the roles the policy names to review
//     scans of that type;
//   - an exception is decided by someone else holding exceptions.approve;
//   - a release is approved by someone other than its submitter holding
//     releases.approve, and only through [release.Gate].
//
// Every change is recorded in the ledger in the same transaction, under
// the subjects app/ID, release/ID and finding/ID.
type Releases struct {
	db *DB
}

// Releases returns the release-gate store over db.
func (db *DB) Releases() *Releases { return &Releases{db: db} }

func appSubject(id int64) string     { return "app/" + strconv.FormatInt(id, 10) }
func releaseSubject(id int64) string { return "release/" + strconv.FormatInt(id, 10) }
func findingSubject(id int64) string { return "finding/" + strconv.FormatInt(id, 10) }

func (s *Releases) record(ctx context.Context, tx *Tx, by ledger.Actor, typ, component, subject string, data map[string]any, digest string) error {
	if s.db.ledger == nil {
		return fault.New(fault.Internal, "the ledger is not open")
	}
	_, err := s.db.ledger.Append(ctx, tx, ledger.Event{Type: typ, Actor: by, Component: component, Subject: subject, Data: data, Digest: digest})
	return err
}

// mustBePerson refuses a principal that is not a person: release-gate actions
// are taken by named individuals (a pipeline uses a person's API token).
func mustBePerson(by auth.Principal, what string) error {
	if by.Kind != ledger.ActorUser || by.PersonID == 0 {
		return fault.New(fault.Forbidden, "only a signed-in person (or a person's API token) may %s", what)
	}
	return nil
}

// holdsAny reports whether by holds one of roles in component (or
// department-wide).
func holdsAny(by auth.Principal, roles []auth.Role, component string) bool {
	return slices.ContainsFunc(roles, func(r auth.Role) bool { return holds(by, r, component) })
}

func roleTitles(roles []auth.Role) string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = r.Title()
	}
	return strings.Join(out, ", ")
}

// Apps.

const appColumns = `id, name, component, platform, bundle_id, developer, system_id, pia_id, policy_version, created_by, created_at, updated_at`

func scanApp(sc scanner) (release.App, error) {
	var a release.App
	err := sc.Scan(&a.ID, &a.Name, &a.Component, &a.Platform, &a.BundleID, &a.Developer, &a.SystemID, &a.PIAID, &a.PolicyVersion, &a.CreatedBy, &a.CreatedAt, &a.UpdatedAt)
	return a, err
}

func notFoundApp(id int64) error { return fault.New(fault.NotFound, "there is no app %d", id) }

// lockFor returns the locking clause of a read that precedes a change:
// PostgreSQL runs transactions concurrently, SQLite has one writer.
func lockFor(tx *Tx, mode string) string {
	if tx.Dialect() == Postgres && mode != "" {
		return " FOR " + mode
	}
	return ""
}

// app reads an app in tx for by, locked in mode on PostgreSQL ("UPDATE",
// "SHARE" or "" for none); one by may not see does not exist.
func (s *Releases) app(ctx context.Context, tx *Tx, by auth.Principal, id int64, mode string) (release.App, error) {
	a, err := scanApp(tx.QueryRow(ctx, `SELECT `+appColumns+` FROM apps WHERE id = $1`+lockFor(tx, mode), id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !by.CanIn(auth.ReleasesRead, a.Component)) {
		return release.App{}, notFoundApp(id)
	}
	if err != nil {
		return release.App{}, fmt.Errorf("read app %d: %w", id, err)
	}
	return a, nil
}

// checkAppLinks checks in tx that an app's system exists and that its PIA
// is of a data source of that system, and returns the system's component.
func checkAppLinks(ctx context.Context, tx *Tx, a release.App) (string, error) {
	var errs release.Errors
	var comp string
	err := tx.QueryRow(ctx, `SELECT component FROM systems WHERE id = $1`, a.SystemID).Scan(&comp)
	if errors.Is(err, sql.ErrNoRows) {
		errs.Add("system_id", fmt.Sprintf("there is no system %d in the inventory", a.SystemID))
	} else if err != nil {
		return "", fmt.Errorf("read system %d: %w", a.SystemID, err)
	}
	var srcSystem int64
	var srcName string
	err = tx.QueryRow(ctx, `SELECT s.system_id, s.name FROM pias p JOIN data_sources s ON s.id = p.source_id WHERE p.id = $1`, a.PIAID).Scan(&srcSystem, &srcName)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		errs.Add("pia_id", fmt.Sprintf("there is no PIA %d", a.PIAID))
	case err != nil:
		return "", fmt.Errorf("read PIA %d: %w", a.PIAID, err)
	case comp != "" && srcSystem != a.SystemID:
		errs.Add("pia_id", fmt.Sprintf("PIA %d is of data source %s, which is not within system %d: the app's PIA covers the app's system", a.PIAID, srcName, a.SystemID))
	}
	return comp, errs.Err("the app is not valid")
}

// CreateApp registers an app, within a system of the inventory (whose
// component it takes) and with its PIA (of a data source of that system),
// and gives it version 1 of its scan policy: p, or
// [release.DefaultPolicy] when p is nil. Ledger: "release.app_created"
// and "release.policy_changed" under app/ID.
func (s *Releases) CreateApp(ctx context.Context, by auth.Principal, a release.App, p *release.ScanPolicy) (release.App, error) {
	a.Normalize()
	if err := a.Validate(); err != nil {
		return a, err
	}
	pol := release.DefaultPolicy()
	if p != nil {
		pol = *p
	}
	pol.Normalize()
	if pol.Note == "" {
		pol.Note = "initial policy"
	}
	if err := pol.Validate(); err != nil {
		return a, err
	}
	err := s.db.Update(ctx, func(tx *Tx) error {
		comp, err := checkAppLinks(ctx, tx, a)
		if err != nil {
			return err
		}
		if !by.CanIn(auth.AppsManage, comp) {
			return fault.New(fault.Forbidden, "your roles do not allow registering apps in %s", comp)
		}
		a.Component, a.PolicyVersion, a.CreatedBy, a.CreatedAt, a.UpdatedAt = comp, 1, by.ID, tx.Now, tx.Now
		err = tx.QueryRow(ctx, `INSERT INTO apps (name, component, platform, bundle_id, developer, system_id, pia_id, policy_version, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $9) RETURNING id`,
			a.Name, a.Component, string(a.Platform), a.BundleID, a.Developer, a.SystemID, a.PIAID, by.ID, tx.Now).Scan(&a.ID)
		if isUniqueViolation(err) {
			return fault.New(fault.Conflict, "an %s app with bundle ID %s is already registered", a.Platform.Title(), a.BundleID)
		}
		if err != nil {
			return fmt.Errorf("register app %s: %w", a.Name, err)
		}
		if err := s.record(ctx, tx, by.Actor(), "release.app_created", a.Component, appSubject(a.ID), map[string]any{
			"name": a.Name, "platform": string(a.Platform), "bundle_id": a.BundleID, "developer": a.Developer, "system_id": a.SystemID, "pia_id": a.PIAID,
		}, ""); err != nil {
			return err
		}
		pol.AppID, pol.Version = a.ID, 1
		_, err = s.insertPolicy(ctx, tx, by, a, pol)
		return err
	})
	return a, err
}

// An AppUpdate changes an app; nil fields stay. The platform and bundle ID
// never change (register another app instead), nor the component: a new
// system must be of the same component.
type AppUpdate struct {
	Name      *string
	Developer *string
	SystemID  *int64
	PIAID     *int64
}

// UpdateApp changes an app. Ledger: "release.app_updated" under app/ID.
func (s *Releases) UpdateApp(ctx context.Context, by auth.Principal, id int64, u AppUpdate) (release.App, error) {
	var a release.App
	err := s.db.Update(ctx, func(tx *Tx) error {
		var err error
		if a, err = s.app(ctx, tx, by, id, "UPDATE"); err != nil {
			return err
		}
		if !by.CanIn(auth.AppsManage, a.Component) {
			return fault.New(fault.Forbidden, "your roles do not allow changing apps of %s", a.Component)
		}
		var changed []string
		if u.Name != nil && strings.TrimSpace(*u.Name) != a.Name {
			a.Name, changed = *u.Name, append(changed, "name")
		}
		if u.Developer != nil && strings.TrimSpace(*u.Developer) != a.Developer {
			a.Developer, changed = *u.Developer, append(changed, "developer")
		}
		if u.SystemID != nil && *u.SystemID != a.SystemID {
			a.SystemID, changed = *u.SystemID, append(changed, "system_id")
		}
		if u.PIAID != nil && *u.PIAID != a.PIAID {
			a.PIAID, changed = *u.PIAID, append(changed, "pia_id")
		}
		if len(changed) == 0 {
			return nil
		}
		a.Normalize()
		if err := a.Validate(); err != nil {
			return err
		}
		comp, err := checkAppLinks(ctx, tx, a)
		if err != nil {
			return err
		}
		if comp != a.Component {
			return release.Errors{{Field: "system_id", Message: fmt.Sprintf("system %d is of %s; the app stays in %s", a.SystemID, comp, a.Component)}}.Err("the app is not valid")
		}
		a.UpdatedAt = tx.Now
		if _, err := tx.Exec(ctx, `UPDATE apps SET name = $1, developer = $2, system_id = $3, pia_id = $4, updated_at = $5 WHERE id = $6`,
			a.Name, a.Developer, a.SystemID, a.PIAID, tx.Now, id); err != nil {
			return fmt.Errorf("update app %d: %w", id, err)
		}
		return s.record(ctx, tx, by.Actor(), "release.app_updated", a.Component, appSubject(id), map[string]any{
			"fields": changed, "name": a.Name, "developer": a.Developer, "system_id": a.SystemID, "pia_id": a.PIAID,
		}, "")
	})
	return a, err
}

// App returns an app by may see.
func (s *Releases) App(ctx context.Context, by auth.Principal, id int64) (release.App, error) {
	return viewOne(ctx, s.db, func(tx *Tx) (release.App, error) { return s.app(ctx, tx, by, id, "") })
}

// Apps lists the apps by may see, of one component or all, by component
// and name.
func (s *Releases) Apps(ctx context.Context, by auth.Principal, component string) ([]release.App, error) {
	var w where
	if err := releaseScope(&w, by, "component"); err != nil {
		return nil, err
	}
	if component != "" {
		w.eq("component", component)
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+appColumns+` FROM apps`+w.String()+` ORDER BY component, name, id`, w.args...)
	return scanAll(rows, err, scanApp)
}

// releaseScope restricts column to the components where by may read the
// release gate; holding releases.read nowhere is refused.
func releaseScope(w *where, by auth.Principal, column string) error {
	comps, all := by.Components(auth.ReleasesRead)
	switch {
	case all:
		return nil
	case len(comps) == 0:
		return fault.New(fault.Forbidden, "your roles do not include reading apps and releases")
	}
	w.add(w.in(column, comps))
	return nil
}

// Scan policies.

func (s *Releases) insertPolicy(ctx context.Context, tx *Tx, by auth.Principal, a release.App, p release.ScanPolicy) (release.ScanPolicy, error) {
	enc := p.Encode()
	digest := ledger.PayloadDigest(enc)
	p.CreatedBy, p.CreatedAt = by.ID, tx.Now
	_, err := tx.Exec(ctx, `INSERT INTO scan_policies (app_id, version, policy, digest, note, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		a.ID, p.Version, string(enc), digest, p.Note, by.ID, tx.Now)
	if isUniqueViolation(err) {
		return p, fault.New(fault.Conflict, "version %d of the scan policy of app %d was written meanwhile; look at it and try again", p.Version, a.ID)
	}
	if err != nil {
		return p, fmt.Errorf("store the scan policy of app %d: %w", a.ID, err)
	}
	required := make([]string, 0, len(p.Scans))
	for _, t := range p.Required() {
		required = append(required, string(t))
	}
	docs := make([]string, len(p.Documents))
	for i, d := range p.Documents {
		docs[i] = string(d)
	}
	return p, s.record(ctx, tx, by.Actor(), "release.policy_changed", a.Component, appSubject(a.ID), map[string]any{
		"version": p.Version, "required": required, "block_at": string(p.BlockAt), "documents": docs, "note": p.Note,
		"sla_days": map[string]any{"critical": p.SLA.Critical, "high": p.SLA.High, "medium": p.SLA.Medium, "low": p.SLA.Low},
	}, digest)
}

// SetPolicy writes a new version of an app's scan policy, which applies
// from then on (the gate names the version it applied), and returns it.
// base is the version the writer started from: when another was written
// meanwhile the change is refused. Ledger: "release.policy_changed" under
// app/ID, committing to the policy's JSON.
func (s *Releases) SetPolicy(ctx context.Context, by auth.Principal, appID int64, base int, p release.ScanPolicy) (release.ScanPolicy, error) {
	p.Normalize()
	if err := p.Validate(); err != nil {
		return p, err
	}
	err := s.db.Update(ctx, func(tx *Tx) error {
		a, err := s.app(ctx, tx, by, appID, "UPDATE")
		if err != nil {
			return err
		}
		if !by.CanIn(auth.AppsManage, a.Component) {
			return fault.New(fault.Forbidden, "your roles do not allow changing the scan policies of %s", a.Component)
		}
		if base != a.PolicyVersion {
			return fault.New(fault.Conflict, "the scan policy of app %d is at version %d, not %d; look at it and try again", appID, a.PolicyVersion, base)
		}
		cur, err := s.policy(ctx, tx, appID, a.PolicyVersion)
		if err != nil {
			return err
		}
		if string(cur.Encode()) == string(p.Encode()) {
			return fault.New(fault.Conflict, "the policy is the same as version %d", cur.Version)
		}
		p.AppID, p.Version = appID, a.PolicyVersion+1
		if p, err = s.insertPolicy(ctx, tx, by, a, p); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE apps SET policy_version = $1, updated_at = $2 WHERE id = $3`, p.Version, tx.Now, appID)
		return err
	})
	return p, err
}

const policyColumns = `app_id, version, policy, note, created_by, created_at`

func scanPolicy(sc scanner) (release.ScanPolicy, error) {
	var appID int64
	var version int
	var doc, note, by string
	var at time.Time
	if err := sc.Scan(&appID, &version, &doc, &note, &by, &at); err != nil {
		return release.ScanPolicy{}, err
	}
	var p release.ScanPolicy
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return p, fmt.Errorf("decode version %d of the scan policy of app %d: %w", version, appID, err)
	}
	p.AppID, p.Version, p.Note, p.CreatedBy, p.CreatedAt = appID, version, note, by, at
	return p, nil
}

// policy reads one version of an app's policy in tx, without
// authorization.
func (s *Releases) policy(ctx context.Context, tx *Tx, appID int64, version int) (release.ScanPolicy, error) {
	p, err := scanPolicy(tx.QueryRow(ctx, `SELECT `+policyColumns+` FROM scan_policies WHERE app_id = $1 AND version = $2`, appID, version))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fault.New(fault.NotFound, "app %d has no scan policy version %d", appID, version)
	}
	return p, err
}

// Policy returns a version of an app's scan policy (0: the one in force).
func (s *Releases) Policy(ctx context.Context, by auth.Principal, appID int64, version int) (release.ScanPolicy, error) {
	return viewOne(ctx, s.db, func(tx *Tx) (release.ScanPolicy, error) {
		a, err := s.app(ctx, tx, by, appID, "")
		if err != nil {
			return release.ScanPolicy{}, err
		}
		if version == 0 {
			version = a.PolicyVersion
		}
		return s.policy(ctx, tx, appID, version)
	})
}

// Policies returns every version of an app's scan policy, oldest first.
func (s *Releases) Policies(ctx context.Context, by auth.Principal, appID int64) ([]release.ScanPolicy, error) {
	return viewOne(ctx, s.db, func(tx *Tx) ([]release.ScanPolicy, error) {
		if _, err := s.app(ctx, tx, by, appID, ""); err != nil {
			return nil, err
		}
		rows, err := tx.Query(ctx, `SELECT `+policyColumns+` FROM scan_policies WHERE app_id = $1 ORDER BY version`, appID)
		return scanAll(rows, err, scanPolicy)
	})
}

// Releases.

const releaseColumns = `r.id, r.app_id, r.component, r.version, r.build, r.sha256, r.digest_source, r.store_listing, r.submitted_by, sp.employee_id,
	r.status, COALESCE(r.approved_by, 0), COALESCE(ap.employee_id, ''), r.approved_at, r.created_at, r.updated_at`

const releaseFrom = ` FROM releases r JOIN people sp ON sp.id = r.submitted_by LEFT JOIN people ap ON ap.id = r.approved_by`

func scanRelease(sc scanner) (release.Release, error) {
	var r release.Release
	var approved sql.NullTime
	err := sc.Scan(&r.ID, &r.AppID, &r.Component, &r.Version, &r.Build, &r.SHA256, &r.DigestSource, &r.StoreListing, &r.SubmitterID, &r.Submitter,
		&r.Status, &r.ApproverID, &r.Approver, &approved, &r.CreatedAt, &r.UpdatedAt)
	r.ApprovedAt = approved.Time
	return r, err
}

func notFoundRelease(id int64) error { return fault.New(fault.NotFound, "there is no release %d", id) }

// release reads a release in tx for by, locked in mode on PostgreSQL.
func (s *Releases) release(ctx context.Context, tx *Tx, by auth.Principal, id int64, mode string) (release.Release, error) {
	q := `SELECT ` + releaseColumns + releaseFrom + ` WHERE r.id = $1`
	if mode != "" && tx.Dialect() == Postgres {
		q += ` FOR ` + mode + ` OF r`
	}
	r, err := scanRelease(tx.QueryRow(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !by.CanIn(auth.ReleasesRead, r.Component)) {
		return release.Release{}, notFoundRelease(id)
	}
	if err != nil {
		return release.Release{}, fmt.Errorf("read release %d: %w", id, err)
	}
	return r, nil
}

// SubmitRelease records a release of an app — its version, build,
// artifact digest (computed by the caller from an upload, or declared by a
// pipeline) and store listing — submitted by by, and returns it. A digest
// or a version and build the app already has is refused. Ledger:
// "release.submitted" under release/ID.
func (s *Releases) SubmitRelease(ctx context.Context, by auth.Principal, r release.Release) (release.Release, error) {
	if err := mustBePerson(by, "submit a release"); err != nil {
		return r, err
	}
	r.Normalize()
	if err := r.Validate(); err != nil {
		return r, err
	}
	err := s.db.Update(ctx, func(tx *Tx) error {
		a, err := s.app(ctx, tx, by, r.AppID, "SHARE")
		if err != nil {
			return err
		}
		if !by.CanIn(auth.ReleasesSubmit, a.Component) {
			return fault.New(fault.Forbidden, "your roles do not allow submitting releases in %s", a.Component)
		}
		var other int64
		var otherVersion string
		err = tx.QueryRow(ctx, `SELECT id, version FROM releases WHERE app_id = $1 AND (sha256 = $2 OR (version = $3 AND build = $4))`, a.ID, r.SHA256, r.Version, r.Build).Scan(&other, &otherVersion)
		if err == nil {
			return fault.New(fault.Conflict, "app %s already has release %d (version %s) with this artifact digest or this version and build", a.Name, other, otherVersion)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look for the release: %w", err)
		}
		r.Component, r.Status, r.SubmitterID, r.Submitter, r.CreatedAt, r.UpdatedAt = a.Component, release.Submitted, by.PersonID, by.ID, tx.Now, tx.Now
		err = tx.QueryRow(ctx, `INSERT INTO releases (app_id, component, version, build, sha256, digest_source, store_listing, submitted_by, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'submitted', $9, $9) RETURNING id`,
			a.ID, a.Component, r.Version, r.Build, r.SHA256, string(r.DigestSource), r.StoreListing, by.PersonID, tx.Now).Scan(&r.ID)
		if isUniqueViolation(err) {
			return fault.New(fault.Conflict, "app %s already has a release with this artifact digest or this version and build", a.Name)
		}
		if err != nil {
			return fmt.Errorf("record the release: %w", err)
		}
		return s.record(ctx, tx, by.Actor(), "release.submitted", a.Component, releaseSubject(r.ID), map[string]any{
			"app_id": a.ID, "version": r.Version, "build": r.Build, "sha256": r.SHA256, "digest_source": string(r.DigestSource), "store_listing": r.StoreListing,
		}, "")
	})
	return r, err
}

// Release returns a release by may see.
func (s *Releases) Release(ctx context.Context, by auth.Principal, id int64) (release.Release, error) {
	return viewOne(ctx, s.db, func(tx *Tx) (release.Release, error) { return s.release(ctx, tx, by, id, "") })
}

// ReleaseByDigest returns the release of an app with an artifact digest
// (any spelling [release.NormalizeSHA256] accepts).
func (s *Releases) ReleaseByDigest(ctx context.Context, by auth.Principal, appID int64, sha256 string) (release.Release, error) {
	d, err := release.NormalizeSHA256(sha256)
	if err != nil {
		return release.Release{}, err
	}
	return viewOne(ctx, s.db, func(tx *Tx) (release.Release, error) {
		if _, err := s.app(ctx, tx, by, appID, ""); err != nil {
			return release.Release{}, err
		}
		return s.releaseByDigest(ctx, tx, by, appID, d)
	})
}

func (s *Releases) releaseByDigest(ctx context.Context, tx *Tx, by auth.Principal, appID int64, digest string) (release.Release, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM releases WHERE app_id = $1 AND sha256 = $2`, appID, digest).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return release.Release{}, fault.New(fault.NotFound, "app %d has no release with artifact sha256 %s…", appID, release.Short(digest))
	}
	if err != nil {
		return release.Release{}, err
	}
	return s.release(ctx, tx, by, id, "")
}

// ReleasesOf lists an app's releases, newest first.
func (s *Releases) ReleasesOf(ctx context.Context, by auth.Principal, appID int64) ([]release.Release, error) {
	return viewOne(ctx, s.db, func(tx *Tx) ([]release.Release, error) {
		if _, err := s.app(ctx, tx, by, appID, ""); err != nil {
			return nil, err
		}
		rows, err := tx.Query(ctx, `SELECT `+releaseColumns+releaseFrom+` WHERE r.app_id = $1 ORDER BY r.id DESC`, appID)
		return scanAll(rows, err, scanRelease)
	})
}

// Deliverables.

// A Deliverable is one deliverable received for a release: an imported
// scan (ScanID) or a document (DocumentID).
type Deliverable struct {
	Kind       release.DeliverableKind
	ScanID     int64
	DocumentID int64
	Digest     string // of the raw report or the document, "sha256:…"
	Items      int    // findings of a scan; entries of a document
	ReceivedBy string
	ReceivedAt time.Time
}

// DeliverableStatus is what a release owes under its app's policy in
// force, what was received (the latest of each kind), and what is
// missing.
type DeliverableStatus struct {
	ReleaseID     int64
	PolicyVersion int
	Required      []release.DeliverableKind
	Received      []Deliverable
	Missing       []release.DeliverableKind
}

// SubmitDocument receives a deliverable document (the data-flow and
// permissions manifest, or the traceability answers) for a release:
// checked with [release.ParseDocument], which refuses one naming another
// version or digest, then stored whole. A later one of the same kind
// supersedes it. Ledger: "release.deliverable_received" under release/ID,
// committing to the document's digest.
func (s *Releases) SubmitDocument(ctx context.Context, by auth.Principal, releaseID int64, kind release.DeliverableKind, doc []byte) (Deliverable, error) {
	if err := mustBePerson(by, "deliver documents"); err != nil {
		return Deliverable{}, err
	}
	var out Deliverable
	err := s.db.Update(ctx, func(tx *Tx) error {
		r, err := s.release(ctx, tx, by, releaseID, "SHARE")
		if err != nil {
			return err
		}
		if !by.CanIn(auth.ReleasesSubmit, r.Component) {
			return fault.New(fault.Forbidden, "your roles do not allow delivering documents for releases of %s", r.Component)
		}
		a, err := s.app(ctx, tx, by, r.AppID, "")
		if err != nil {
			return err
		}
		d, err := release.ParseDocument(kind, doc, a, r)
		if err != nil {
			return err
		}
		out = Deliverable{Kind: kind, Digest: ledger.PayloadDigest(doc), Items: d.Items, ReceivedBy: by.ID, ReceivedAt: tx.Now}
		if err := tx.QueryRow(ctx, `INSERT INTO release_deliverables (release_id, kind, document, digest, items, received_by, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			releaseID, string(kind), string(doc), out.Digest, d.Items, by.PersonID, tx.Now).Scan(&out.DocumentID); err != nil {
			return fmt.Errorf("store the %s: %w", kind.Title(), err)
		}
		return s.record(ctx, tx, by.Actor(), "release.deliverable_received", r.Component, releaseSubject(releaseID), map[string]any{
			"kind": string(kind), "document_id": out.DocumentID, "items": d.Items, "bytes": len(doc),
		}, out.Digest)
	})
	return out, err
}

// Document returns a delivered document's content.
func (s *Releases) Document(ctx context.Context, by auth.Principal, releaseID, documentID int64) ([]byte, error) {
	return viewOne(ctx, s.db, func(tx *Tx) ([]byte, error) {
		if _, err := s.release(ctx, tx, by, releaseID, ""); err != nil {
			return nil, err
		}
		var doc string
		err := tx.QueryRow(ctx, `SELECT document FROM release_deliverables WHERE id = $1 AND release_id = $2`, documentID, releaseID).Scan(&doc)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fault.New(fault.NotFound, "release %d has no document %d", releaseID, documentID)
		}
		return []byte(doc), err
	})
}

// Deliverables returns what a release owes, has received and is missing.
func (s *Releases) Deliverables(ctx context.Context, by auth.Principal, releaseID int64) (DeliverableStatus, error) {
	return viewOne(ctx, s.db, func(tx *Tx) (DeliverableStatus, error) {
		r, err := s.release(ctx, tx, by, releaseID, "")
		if err != nil {
			return DeliverableStatus{}, err
		}
		a, err := s.app(ctx, tx, by, r.AppID, "")
		if err != nil {
			return DeliverableStatus{}, err
		}
		p, err := s.policy(ctx, tx, a.ID, a.PolicyVersion)
		if err != nil {
			return DeliverableStatus{}, err
		}
		return s.deliverables(ctx, tx, r, p)
	})
}

func (s *Releases) deliverables(ctx context.Context, tx *Tx, r release.Release, p release.ScanPolicy) (DeliverableStatus, error) {
	st := DeliverableStatus{ReleaseID: r.ID, PolicyVersion: p.Version, Required: p.RequiredDeliverables(), Received: []Deliverable{}}
	// The latest scan of each type, and the latest document of each kind.
	rows, err := tx.Query(ctx, `SELECT 's', sc.scan_type, sc.id, sc.raw_digest, sc.findings, pe.employee_id, sc.imported_at FROM scans sc JOIN people pe ON pe.id = sc.imported_by
		WHERE sc.id IN (SELECT MAX(id) FROM scans WHERE release_id = $1 GROUP BY scan_type)
		UNION ALL
		SELECT 'd', d.kind, d.id, d.digest, d.items, pe.employee_id, d.received_at FROM release_deliverables d JOIN people pe ON pe.id = d.received_by
		WHERE d.id IN (SELECT MAX(id) FROM release_deliverables WHERE release_id = $1 GROUP BY kind)`, r.ID)
	got, err := scanAll(rows, err, func(sc scanner) (Deliverable, error) {
		var d Deliverable
		var src, kind string
		var id int64
		err := sc.Scan(&src, &kind, &id, &d.Digest, &d.Items, &d.ReceivedBy, &d.ReceivedAt)
		if src == "s" {
			d.Kind, d.ScanID = release.ScanType(kind).Deliverable(), id
			d.Digest = "sha256:" + d.Digest
		} else {
			d.Kind, d.DocumentID = release.DeliverableKind(kind), id
		}
		return d, err
	})
	if err != nil {
		return st, fmt.Errorf("read the deliverables of release %d: %w", r.ID, err)
	}
	order := release.DeliverableKinds()
	slices.SortFunc(got, func(a, b Deliverable) int { return slices.Index(order, a.Kind) - slices.Index(order, b.Kind) })
	var kinds []release.DeliverableKind
	for _, d := range got {
		kinds = append(kinds, d.Kind)
	}
	st.Received, st.Missing = got, release.Missing(st.Required, kinds)
	return st, nil
}

// The gate.

// piaStatus says whether PIA id is current, as the privacy gate decides
// it (approved, published, unexpired, not out of date), ignoring what
// only a data source's use needs (rules of behavior, credentials).
func (s *Releases) piaStatus(ctx context.Context, tx *Tx, id int64) (release.PIAStatus, error) {
	st := release.PIAStatus{PIAID: id}
	var source int64
	err := tx.QueryRow(ctx, `SELECT source_id FROM pias WHERE id = $1`, id).Scan(&source)
	if errors.Is(err, sql.ErrNoRows) {
		st.Problems = []string{fmt.Sprintf("there is no PIA %d", id)}
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read PIA %d: %w", id, err)
	}
	f, err := s.db.Privacy().gateFacts(ctx, tx, source, false)
	if err != nil {
		return st, err
	}
	for _, m := range privacy.EvaluateGate(f).Missing {
		if strings.HasPrefix(m.Code, "pia_") {
			st.Problems = append(st.Problems, m.Message)
		}
	}
	st.Current = len(st.Problems) == 0
	return st, nil
}

// gateInput gathers in tx what the gate decides a release from, with
// approver (0 for nobody) as its approver.
func (s *Releases) gateInput(ctx context.Context, tx *Tx, a release.App, r release.Release, approverID int64, approver string) (release.GateInput, error) {
	in := release.GateInput{App: a, Release: r, ApproverID: approverID, Approver: approver, Now: tx.Now}
	var err error
	if in.Policy, err = s.policy(ctx, tx, a.ID, a.PolicyVersion); err != nil {
		return in, err
	}
	rows, err := tx.Query(ctx, `SELECT id, scan_type, sha256 FROM scans WHERE release_id = $1 ORDER BY id`, r.ID)
	if in.Scans, err = scanAll(rows, err, func(sc scanner) (release.GateScan, error) {
		var g release.GateScan
		return g, sc.Scan(&g.ID, &g.Type, &g.SHA256)
	}); err != nil {
		return in, fmt.Errorf("read the scans of release %d: %w", r.ID, err)
	}
	// The findings the latest scan of each type reports, with the
	// severity that scan gave them, from the blocking severity up.
	var sevs []string
	for _, sv := range release.Severities() {
		if release.AtLeast(sv, in.Policy.BlockAt) {
			sevs = append(sevs, string(sv))
		}
	}
	var w where
	w.add(`sf.scan_id IN (SELECT MAX(id) FROM scans WHERE release_id = ` + w.arg(r.ID) + ` GROUP BY scan_type)`)
	w.add(w.in("sf.severity", sevs))
	rows, err = tx.Query(ctx, `SELECT f.id, f.scan_type, sf.severity, f.state, f.risk_expires_at,
		EXISTS (SELECT 1 FROM finding_exceptions x WHERE x.finding_id = f.id AND x.status = 'requested')
		FROM scan_findings sf JOIN findings f ON f.id = sf.finding_id`+w.String()+` ORDER BY f.id`, w.args...)
	if in.Findings, err = scanAll(rows, err, func(sc scanner) (release.GateFinding, error) {
		var g release.GateFinding
		var exp sql.NullTime
		err := sc.Scan(&g.ID, &g.Type, &g.Severity, &g.State, &exp, &g.ExceptionRequested)
		g.RiskExpires = exp.Time
		return g, err
	}); err != nil {
		return in, fmt.Errorf("read the findings of release %d: %w", r.ID, err)
	}
	ds, err := s.deliverables(ctx, tx, r, in.Policy)
	if err != nil {
		return in, err
	}
	for _, d := range ds.Received {
		in.Received = append(in.Received, d.Kind)
	}
	if in.PIA, err = s.piaStatus(ctx, tx, a.PIAID); err != nil {
		return in, err
	}
	return in, nil
}

// Evaluate applies the gate to a release now, as if by were approving it,
// and records nothing: what a release page shows before anyone approves.
func (s *Releases) Evaluate(ctx context.Context, by auth.Principal, releaseID int64) (release.Decision, error) {
	return viewOne(ctx, s.db, func(tx *Tx) (release.Decision, error) {
		r, err := s.release(ctx, tx, by, releaseID, "")
		if err != nil {
			return release.Decision{}, err
		}
		a, err := s.app(ctx, tx, by, r.AppID, "")
		if err != nil {
			return release.Decision{}, err
		}
		in, err := s.gateInput(ctx, tx, a, r, by.PersonID, by.ID)
		if err != nil {
			return release.Decision{}, err
		}
		return release.Gate(in), nil
	})
}

// A GateDecision is a recorded decision on a release's approval.
type GateDecision struct {
	ID        int64
	ReleaseID int64
	release.Decision
	DecidedBy string
	Note      string
}

// Approve asks the gate to approve a release with by as its approver, and
// records the decision — approved or refused, with every reason and the
// policy version applied — in the release's decisions and in the ledger
// ("release.approved" or "release.approval_refused" under release/ID).
// On approval the release's status becomes approved. A refusal is
// recorded and then returned as a [fault.Precondition] error wrapping a
// [*release.GateError] (see [release.Decision.Err]); the returned decision
// says why either way.
func (s *Releases) Approve(ctx context.Context, by auth.Principal, releaseID int64, note string) (release.Release, release.Decision, error) {
	if err := mustBePerson(by, "approve a release"); err != nil {
		return release.Release{}, release.Decision{}, err
	}
	note, err := release.CheckNote(note)
	if err != nil {
		return release.Release{}, release.Decision{}, err
	}
	var r release.Release
	var d release.Decision
	err = s.db.Update(ctx, func(tx *Tx) error {
		var err error
		if r, err = s.release(ctx, tx, by, releaseID, ""); err != nil {
			return err
		}
		if !by.CanIn(auth.ReleasesApprove, r.Component) {
			return fault.New(fault.Forbidden, "your roles do not allow approving releases of %s", r.Component)
		}
		// Hold the app, then the release (the order imports and triage
		// take them in): no scan is imported, no policy changes and no
		// finding is triaged while the gate decides.
		a, err := s.app(ctx, tx, by, r.AppID, "UPDATE")
		if err != nil {
			return err
		}
		if r, err = s.release(ctx, tx, by, releaseID, "UPDATE"); err != nil {
			return err
		}
		if r.Status == release.Approved {
			return fault.New(fault.Conflict, "release %s (build %s) was already approved by %s on %s", r.Version, r.Build, r.Approver, r.ApprovedAt.UTC().Format(time.DateOnly))
		}
		in, err := s.gateInput(ctx, tx, a, r, by.PersonID, by.ID)
		if err != nil {
			return err
		}
		d = release.Gate(in)
		reasons, _ := json.Marshal(d.Reasons)
		if _, err := tx.Exec(ctx, `INSERT INTO release_decisions (release_id, approved, reasons, policy_version, decided_by, note, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			r.ID, d.Approved, string(reasons), d.PolicyVersion, by.PersonID, note, tx.Now); err != nil {
			return fmt.Errorf("record the decision on release %d: %w", r.ID, err)
		}
		typ := "release.approval_refused"
		if d.Approved {
			typ = "release.approved"
			if _, err := tx.Exec(ctx, `UPDATE releases SET status = 'approved', approved_by = $1, approved_at = $2, updated_at = $2 WHERE id = $3 AND status = 'submitted'`,
				by.PersonID, tx.Now, r.ID); err != nil {
				return fmt.Errorf("approve release %d: %w", r.ID, err)
			}
			r.Status, r.ApproverID, r.Approver, r.ApprovedAt, r.UpdatedAt = release.Approved, by.PersonID, by.ID, tx.Now, tx.Now
		}
		rules := make([]string, len(d.Reasons))
		for i, x := range d.Reasons {
			rules[i] = string(x.Rule)
		}
		data := map[string]any{"approved": d.Approved, "rules": rules, "reasons": clipReasons(d.Messages()), "policy_version": d.PolicyVersion,
			"sha256": r.SHA256, "version": r.Version, "build": r.Build, "submitter": r.Submitter}
		if note != "" {
			data["note"] = note
		}
		return s.record(ctx, tx, by.Actor(), typ, r.Component, releaseSubject(r.ID), data, ledger.PayloadDigest(reasons))
	})
	if err != nil {
		return r, d, err
	}
	return r, d, d.Err(r)
}

// clipReasons keeps a ledger entry small: each reason at most 1,000
// bytes (the entry's digest commits to the full reasons).
func clipReasons(ms []string) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = clipText(m, 1000)
	}
	return out
}

// Decisions returns the recorded gate decisions on a release, oldest
// first.
func (s *Releases) Decisions(ctx context.Context, by auth.Principal, releaseID int64) ([]GateDecision, error) {
	return viewOne(ctx, s.db, func(tx *Tx) ([]GateDecision, error) {
		if _, err := s.release(ctx, tx, by, releaseID, ""); err != nil {
			return nil, err
		}
		rows, err := tx.Query(ctx, `SELECT d.id, d.release_id, d.approved, d.reasons, d.policy_version, p.employee_id, d.note, d.decided_at
			FROM release_decisions d JOIN people p ON p.id = d.decided_by WHERE d.release_id = $1 ORDER BY d.id`, releaseID)
		return scanAll(rows, err, func(sc scanner) (GateDecision, error) {
			var g GateDecision
			var reasons string
			if err := sc.Scan(&g.ID, &g.ReleaseID, &g.Approved, &reasons, &g.PolicyVersion, &g.DecidedBy, &g.Note, &g.CheckedAt); err != nil {
				return g, err
			}
			return g, json.Unmarshal([]byte(reasons), &g.Reasons)
		})
	})
}

// A Check is the answer to a build pipeline asking whether an artifact
// may ship: the release with that digest (ID 0 when there is none) and
// the gate applied to it now, with its recorded approver. It is approved
// only if the release was approved and the gate still holds (a scan, an
// expired exception or PIA since then can close it again).
type Check struct {
	App      release.App
	Release  release.Release
	Decision release.Decision
}

// Check answers whether the artifact with digest sha256 of an app may
// ship now; nothing is recorded. An unknown digest is not an error: the
// decision refuses it with [release.RuleUnknownRelease].
func (s *Releases) Check(ctx context.Context, by auth.Principal, appID int64, sha256 string) (Check, error) {
	d, err := release.NormalizeSHA256(sha256)
	if err != nil {
		return Check{}, err
	}
	return viewOne(ctx, s.db, func(tx *Tx) (Check, error) {
		a, err := s.app(ctx, tx, by, appID, "")
		if err != nil {
			return Check{}, err
		}
		c := Check{App: a}
		r, err := s.releaseByDigest(ctx, tx, by, appID, d)
		if fault.Is(err, fault.NotFound) {
			c.Decision = release.Decision{CheckedAt: tx.Now, PolicyVersion: a.PolicyVersion, Reasons: []release.Reason{{Rule: release.RuleUnknownRelease,
				Message: fmt.Sprintf("no release of %s has artifact sha256 %s…: it was never submitted, so it was never scanned or approved", a.Name, release.Short(d))}}}
			return c, nil
		}
		if err != nil {
			return c, err
		}
		c.Release = r
		in, err := s.gateInput(ctx, tx, a, r, r.ApproverID, r.Approver)
		if err != nil {
			return c, err
		}
		c.Decision = release.Gate(in)
		return c, nil
	})
}
