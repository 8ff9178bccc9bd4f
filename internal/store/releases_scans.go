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
	"github.com/probity-dev/probity/internal/release"
	"github.com/probity-dev/probity/internal/scan"
)

// Scans, findings, triage and exceptions of the release gate.

// Import limits.
const (
	// MaxReportFindings and MaxReportComponents bound one imported report.
	MaxReportFindings   = 250_000
	MaxReportComponents = 250_000
)

// Stored lengths of a finding's texts, in bytes; longer ones are cut (the
// ledger commits to the raw report's digest).
const (
	maxFingerprint = 128
	maxTitle       = 500
	maxDescription = 8000
	maxRuleID      = 300
	maxLocation    = 1000
	maxBasis       = 200
	maxToolText    = 200
)

// A ScanRecord is one imported scan of a release.
type ScanRecord struct {
	ID        int64
	ReleaseID int64
	AppID     int64
	Component string
	Type      release.ScanType
	// SHA256 is the release's artifact digest the scan is bound to.
	SHA256      string
	Format      scan.Format
	Tool        string
	ToolVersion string
	// What the report said it describes, when it said.
	SubjectName    string
	SubjectVersion string
	SubjectSHA256  string
	ReportCreated  time.Time
	// RawDigest is the uploaded report's SHA-256 (hex).
	RawDigest  string
	Findings   int // distinct findings the report holds
	Components int // SBOM components
	New        int // findings first seen in this scan
	Reopened   int // findings marked fixed or resolved that this scan reports again
	Resolved   int // findings of earlier scans this one no longer reports
	// Head reports whether the scan was of the app's newest scanned
	// release for its type when imported: only such a scan resolves
	// findings it no longer reports and carries triage forward. A scan of
	// an older release only records what it saw.
	Head       bool
	ImportedBy string
	ImportedAt time.Time
}

const scanColumns = `sc.id, sc.release_id, sc.app_id, r.component, sc.scan_type, sc.sha256, sc.format, sc.tool, sc.tool_version, sc.subject_name, sc.subject_version, sc.subject_sha256,
	sc.report_created, sc.raw_digest, sc.findings, sc.components, sc.new_findings, sc.reopened, sc.resolved, sc.head, p.employee_id, sc.imported_at`

const scanFrom = ` FROM scans sc JOIN releases r ON r.id = sc.release_id JOIN people p ON p.id = sc.imported_by`

func scanScan(sc scanner) (ScanRecord, error) {
	var s ScanRecord
	var created sql.NullTime
	err := sc.Scan(&s.ID, &s.ReleaseID, &s.AppID, &s.Component, &s.Type, &s.SHA256, &s.Format, &s.Tool, &s.ToolVersion, &s.SubjectName, &s.SubjectVersion, &s.SubjectSHA256,
		&created, &s.RawDigest, &s.Findings, &s.Components, &s.New, &s.Reopened, &s.Resolved, &s.Head, &s.ImportedBy, &s.ImportedAt)
	s.ReportCreated = created.Time
	return s, err
}

// normalizeReport checks a parsed report before anything is stored and
// returns its findings, one per fingerprint (the most severe when a
// report repeats one), their texts cut to the stored lengths.
func normalizeReport(t release.ScanType, rep scan.Report) ([]scan.Finding, error) {
	const what = "the report cannot be imported"
	switch {
	case !t.Valid():
		_, err := release.ParseScanType(string(t))
		return nil, err
	case !t.Accepts(rep.Format):
		names := make([]string, 0, 2)
		for _, f := range t.Formats() {
			names = append(names, string(f))
		}
		return nil, release.Errors{{Field: "format", Message: fmt.Sprintf("a %q report cannot be a %s scan, which comes as %s", clipText(string(rep.Format), 40), t.Title(), strings.Join(names, " or "))}}.Err(what)
	case len(rep.Findings) > MaxReportFindings:
		return nil, release.Errors{{Field: "findings", Message: fmt.Sprintf("the report holds %d findings; at most %d are imported at once", len(rep.Findings), MaxReportFindings)}}.Err(what)
	case len(rep.Components) > MaxReportComponents:
		return nil, release.Errors{{Field: "components", Message: fmt.Sprintf("the report lists %d components; at most %d are imported at once", len(rep.Components), MaxReportComponents)}}.Err(what)
	}
	out := make([]scan.Finding, 0, len(rep.Findings))
	at := make(map[string]int, len(rep.Findings))
	for i, f := range rep.Findings {
		field := fmt.Sprintf("findings[%d]", i)
		switch {
		case f.Fingerprint == "" || len(f.Fingerprint) > maxFingerprint || strings.IndexFunc(f.Fingerprint, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0:
			return nil, release.Errors{{Field: field + ".fingerprint", Message: fmt.Sprintf("must be 1 to %d printable ASCII characters (rule %q)", maxFingerprint, clipText(f.RuleID, 60))}}.Err(what)
		case release.Rank(f.Severity) >= len(release.Severities()):
			return nil, release.Errors{{Field: field + ".severity", Message: fmt.Sprintf("%q is not critical, high, medium, low or info", clipText(string(f.Severity), 40))}}.Err(what)
		case strings.TrimSpace(f.Title) == "" && strings.TrimSpace(f.RuleID) == "":
			return nil, release.Errors{{Field: field + ".title", Message: "a finding needs a title or a rule ID"}}.Err(what)
		}
		f.RuleID = clipText(strings.TrimSpace(f.RuleID), maxRuleID)
		f.Title = clipText(strings.TrimSpace(f.Title), maxTitle)
		if f.Title == "" {
			f.Title = f.RuleID
		}
		f.Description = clipText(f.Description, maxDescription)
		f.SeverityBasis = clipText(f.SeverityBasis, maxBasis)
		f.Location = clipText(f.Location, maxLocation)
		if j, ok := at[f.Fingerprint]; ok {
			if release.Rank(f.Severity) < release.Rank(out[j].Severity) {
				out[j] = f
			}
			continue
		}
		at[f.Fingerprint] = len(out)
		out = append(out, f)
	}
	return out, nil
}

// checkSubject compares what a report says it describes with the release.
func checkSubject(rep scan.Report, r release.Release) error {
	const what = "the report is not of this release; nothing was imported"
	var errs release.Errors
	if rep.SubjectSHA256 != "" {
		d, err := release.NormalizeSHA256(rep.SubjectSHA256)
		switch {
		case err != nil:
			errs.Add("subject_sha256", fmt.Sprintf("the report names artifact digest %q, which is not a SHA-256 digest", clipText(rep.SubjectSHA256, 80)))
		case d != r.SHA256:
			errs.Add("subject_sha256", fmt.Sprintf("the report is of artifact sha256 %s…, but release %s (build %s) is artifact %s…", release.Short(d), r.Version, r.Build, release.Short(r.SHA256)))
		}
	}
	if v := strings.TrimSpace(rep.SubjectVersion); v != "" && v != r.Version {
		errs.Add("subject_version", fmt.Sprintf("the report is of version %q, but the release is version %s", clipText(v, 64), r.Version))
	}
	return errs.Err(what)
}

func jsonList(vs []string) string {
	if len(vs) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(vs)
	return string(b)
}

// knownColumns are the columns scanKnown reads.
const knownColumns = `id, fingerprint, state, triaged_state, severity, rule_id, title, description, severity_basis, location, cwe, cve, suppressed`

// newFindingColumns are the columns a new finding is inserted with.
const newFindingColumns = `app_id, component, scan_type, fingerprint, rule_id, title, description, severity, severity_rank, severity_basis,
	location, cwe, cve, suppressed, state, first_seen_at, first_scan_id, last_seen_at, last_scan_id, resolved_at, resolved_scan_id, updated_at`

// scanKnown adds the rows of knownColumns to have, by fingerprint.
func scanKnown(rows *sql.Rows, err error, have map[string]known) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k known
		var fp string
		if err := rows.Scan(&k.id, &fp, &k.state, &k.triaged, &k.severity, &k.rule, &k.title, &k.desc, &k.basis, &k.loc, &k.cwe, &k.cve, &k.suppressed); err != nil {
			return err
		}
		have[fp] = k
	}
	return rows.Err()
}

// known is what an import needs of a finding already stored.
type known struct {
	id                int64
	state, triaged    release.State
	severity          scan.Severity
	rule, title, desc string
	basis, loc        string
	cwe, cve          string
	suppressed        bool
}

func (k known) same(f scan.Finding) bool {
	return k.severity == f.Severity && k.rule == f.RuleID && k.title == f.Title && k.desc == f.Description && k.basis == f.SeverityBasis &&
		k.loc == f.Location && k.cwe == jsonList(f.CWE) && k.cve == jsonList(f.CVE) && k.suppressed == f.Suppressed
}

// newFindings are findings a scan reports for the first time, stored
// alike but for their report's attributes.
type newFindings struct {
	appID      int64
	component  string
	scanType   release.ScanType
	state      release.State
	scanID     int64     // first and last seen by
	resolvedAt time.Time // zero unless already resolved
	resolvedBy int64
	fs         []scan.Finding
}

// lookupFindings returns what is stored of the findings of an app and
// scan type with the fingerprints of fs.
func lookupFindings(ctx context.Context, tx *Tx, appID int64, t release.ScanType, fs []scan.Finding) (map[string]known, error) {
	if tx.Dialect() == Postgres {
		return lookupFindingsPostgres(ctx, tx, appID, t, fs)
	}
	return lookupFindingsSQLite(ctx, tx, appID, t, fs)
}

// touchFindings records that scan scanID saw the findings ids again.
func touchFindings(ctx context.Context, tx *Tx, scanID int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if tx.Dialect() == Postgres {
		_, err := tx.Exec(ctx, `UPDATE findings SET last_seen_at = $1, last_scan_id = $2, updated_at = $1 WHERE id = ANY($3::bigint[])`, tx.Now, scanID, ids)
		return err
	}
	return touchFindingsSQLite(ctx, tx, scanID, ids)
}

// insertFindings stores new findings and adds their IDs to have.
func insertFindings(ctx context.Context, tx *Tx, nf newFindings, have map[string]known) error {
	if len(nf.fs) == 0 {
		return nil
	}
	if tx.Dialect() == Postgres {
		return insertFindingsPostgres(ctx, tx, nf, have)
	}
	return insertFindingsSQLite(ctx, tx, nf, have)
}

// insertOccurrences records that scan scanID reported the findings ids
// (ids[i] is fs[i]'s), with their severities.
func insertOccurrences(ctx context.Context, tx *Tx, scanID int64, ids []int64, fs []scan.Finding) error {
	if len(ids) == 0 {
		return nil
	}
	if tx.Dialect() == Postgres {
		sevs := make([]string, len(fs))
		for i, f := range fs {
			sevs[i] = string(f.Severity)
		}
		_, err := tx.Exec(ctx, `INSERT INTO scan_findings (scan_id, finding_id, severity) SELECT $1, u.id, u.sev FROM unnest($2::bigint[], $3::text[]) AS u(id, sev)`, scanID, ids, sevs)
		return err
	}
	return insertOccurrencesSQLite(ctx, tx, scanID, ids, fs)
}

// insertComponents stores the components an SBOM scan lists.
func insertComponents(ctx context.Context, tx *Tx, scanID int64, cs []scan.Component) error {
	if len(cs) == 0 {
		return nil
	}
	seq := make([]int64, len(cs))
	names, versions, purls, licenses := make([]string, len(cs)), make([]string, len(cs)), make([]string, len(cs)), make([]string, len(cs))
	for i, c := range cs {
		seq[i], names[i], versions[i], purls[i], licenses[i] = int64(i), clipText(c.Name, maxTitle), clipText(c.Version, maxToolText), clipText(c.PURL, maxLocation), clipText(c.License, maxTitle)
	}
	if tx.Dialect() == Postgres {
		_, err := tx.Exec(ctx, `INSERT INTO scan_components (scan_id, seq, name, version, purl, license)
			SELECT $1, u.* FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u`, scanID, seq, names, versions, purls, licenses)
		return err
	}
	return insertComponentsSQLite(ctx, tx, scanID, seq, names, versions, purls, licenses)
}

// bumpCounts adds deltas to the counts of an app's findings of scan type
// t by stored state, in a fixed order of states (so that concurrent
// changes lock the count rows in the same order).
func bumpCounts(ctx context.Context, tx *Tx, appID int64, t release.ScanType, deltas map[release.State]int) error {
	for _, st := range release.States() {
		d := deltas[st]
		if d == 0 {
			continue
		}
		if _, err := tx.Exec(ctx, `INSERT INTO finding_counts (app_id, scan_type, state, n) VALUES ($1, $2, $3, $4)
			ON CONFLICT (app_id, scan_type, state) DO UPDATE SET n = finding_counts.n + excluded.n`, appID, string(t), string(st), d); err != nil {
			return fmt.Errorf("count the findings of app %d: %w", appID, err)
		}
	}
	return nil
}

// moveCount moves one finding of an app and scan type from one stored
// state to another in the counts.
func moveCount(ctx context.Context, tx *Tx, appID int64, t release.ScanType, from, to release.State) error {
	if from == to {
		return nil
	}
	return bumpCounts(ctx, tx, appID, t, map[release.State]int{from: -1, to: 1})
}

// scanStateCounts calls fn with each (state, count) row.
func scanStateCounts(rows *sql.Rows, err error, fn func(release.State, int)) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var st release.State
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return err
		}
		fn(st, n)
	}
	return rows.Err()
}

// mayImport returns why by may not import a scan of type t of app a under
// policy p, or nil.
func mayImport(by auth.Principal, a release.App, p release.ScanPolicy, t release.ScanType) error {
	if err := mustBePerson(by, "import a scan"); err != nil {
		return err
	}
	if !by.CanIn(auth.ScansImport, a.Component) {
		return fault.New(fault.Forbidden, "your roles do not allow importing scans in %s", a.Component)
	}
	if roles := p.Runners(t); !holdsAny(by, roles, a.Component) {
		return fault.New(fault.Forbidden, "the scan policy of %s (version %d) has %s scans run by: %s; you hold none of these roles in %s", a.Name, p.Version, t.Title(), roleTitles(roles), a.Component)
	}
	return nil
}

// mayTriage returns why by may not triage findings of scans of type t of
// app a under policy p, or nil.
func mayTriage(by auth.Principal, a release.App, p release.ScanPolicy, t release.ScanType) error {
	if err := mustBePerson(by, "triage findings"); err != nil {
		return err
	}
	if !by.CanIn(auth.FindingsTriage, a.Component) {
		return fault.New(fault.Forbidden, "your roles do not allow triaging findings in %s", a.Component)
	}
	if roles := p.Reviewers(t); !holdsAny(by, roles, a.Component) {
		return fault.New(fault.Forbidden, "the scan policy of %s (version %d) has %s results reviewed by: %s; you hold none of these roles in %s", a.Name, p.Version, t.Title(), roleTitles(roles), a.Component)
	}
	return nil
}

// ImportScan stores a parsed report as a scan of type t of a release, in
// one transaction with its ledger entry, and returns the scan. rawDigest
// is the SHA-256 of the uploaded file; the same file imported twice into
// a release is refused.
//
// Nothing is stored when the report does not fit: a format that is not of
// the scan type, a finding without fingerprint or with an unknown
// severity, or a report naming another artifact digest or version than
// the release's (a [fault.Invalid] error saying which).
//
// Findings are de-duplicated per app and scan type by fingerprint. When
// the scan is of the app's newest scanned release for its type (see
// [ScanRecord.Head]), findings already known carry their triage forward
// (a finding marked fixed that is reported again is unreviewed again; one
// resolved by an earlier re-scan gets its reviewer decision back, see
// [release.Reappear]), and every finding of the type it no longer reports
// becomes resolved by re-scan; none is ever deleted. Ledger:
// "release.scan_imported" under release/ID, committing to the sorted
// fingerprints and severities the scan reported.
func (s *Releases) ImportScan(ctx context.Context, by auth.Principal, releaseID int64, t release.ScanType, rep scan.Report, rawDigest string) (ScanRecord, error) {
	raw, err := release.NormalizeSHA256(rawDigest)
	if err != nil {
		return ScanRecord{}, fault.Wrap(err, fault.Invalid, "the report's digest: %s", fault.MessageOf(err))
	}
	fs, err := normalizeReport(t, rep)
	if err != nil {
		return ScanRecord{}, err
	}
	var out ScanRecord
	err = s.db.Update(ctx, func(tx *Tx) error {
		r, err := s.release(ctx, tx, by, releaseID, "")
		if err != nil {
			return err
		}
		// Hold the app: its imports, approvals and policy changes take
		// turns.
		a, err := s.app(ctx, tx, by, r.AppID, "UPDATE")
		if err != nil {
			return err
		}
		p, err := s.policy(ctx, tx, a.ID, a.PolicyVersion)
		if err != nil {
			return err
		}
		if err := mayImport(by, a, p, t); err != nil {
			return err
		}
		if err := checkSubject(rep, r); err != nil {
			return err
		}
		var dup int64
		err = tx.QueryRow(ctx, `SELECT id FROM scans WHERE release_id = $1 AND scan_type = $2 AND raw_digest = $3`, r.ID, string(t), raw).Scan(&dup)
		if err == nil {
			return fault.New(fault.Conflict, "this report was already imported into release %s as scan %d", r.Version, dup)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look for the report: %w", err)
		}
		out, err = s.importScan(ctx, tx, by, a, r, t, rep, fs, raw)
		return err
	})
	if err == nil && s.db.dialect == Postgres && out.New+out.Reopened+out.Resolved >= analyzeAfter {
		// Fresh statistics keep the triage list's plans on its indexes
		// without waiting for autovacuum.
		if _, aerr := s.db.write.ExecContext(ctx, `ANALYZE findings, scan_findings`); aerr != nil {
			s.db.log.Warn("analyze findings after a large import", "scan_id", out.ID, "err", aerr)
		}
	}
	return out, err
}

// analyzeAfter is how many findings an import must add, reopen or resolve
// for PostgreSQL's statistics of them to be refreshed at once.
const analyzeAfter = 10_000

func (s *Releases) importScan(ctx context.Context, tx *Tx, by auth.Principal, a release.App, r release.Release, t release.ScanType, rep scan.Report, fs []scan.Finding, raw string) (ScanRecord, error) {
	sr := ScanRecord{ReleaseID: r.ID, AppID: a.ID, Component: a.Component, Type: t, SHA256: r.SHA256, Format: rep.Format,
		Tool: clipText(strings.TrimSpace(rep.Tool), maxToolText), ToolVersion: clipText(strings.TrimSpace(rep.ToolVersion), maxToolText),
		SubjectName: clipText(rep.SubjectName, maxToolText), SubjectVersion: clipText(rep.SubjectVersion, 64), SubjectSHA256: clipText(rep.SubjectSHA256, 80),
		ReportCreated: rep.Created, RawDigest: raw, Findings: len(fs), Components: len(rep.Components), ImportedBy: by.ID, ImportedAt: tx.Now}
	if sr.Tool == "" {
		sr.Tool = "unknown"
	}
	// A newer release's scan of this type makes this one historical.
	var newer sql.NullInt64
	if err := tx.QueryRow(ctx, `SELECT MAX(id) FROM scans WHERE app_id = $1 AND scan_type = $2 AND release_id > $3`, a.ID, string(t), r.ID).Scan(&newer); err != nil {
		return sr, fmt.Errorf("find newer scans: %w", err)
	}
	sr.Head = !newer.Valid
	var created any
	if !rep.Created.IsZero() {
		created = rep.Created.UTC()
	}
	if err := tx.QueryRow(ctx, `INSERT INTO scans (release_id, app_id, scan_type, sha256, format, tool, tool_version, subject_name, subject_version, subject_sha256,
		report_created, raw_digest, findings, components, head, imported_by, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
		r.ID, a.ID, string(t), r.SHA256, string(rep.Format), sr.Tool, sr.ToolVersion, sr.SubjectName, sr.SubjectVersion, sr.SubjectSHA256,
		created, raw, sr.Findings, sr.Components, sr.Head, by.PersonID, tx.Now).Scan(&sr.ID); err != nil {
		return sr, fmt.Errorf("record the scan: %w", err)
	}

	// What is already known of these fingerprints.
	have, err := lookupFindings(ctx, tx, a.ID, t, fs)
	if err != nil {
		return sr, fmt.Errorf("read known findings: %w", err)
	}

	counts := map[release.State]int{} // changes to the app's counts by state
	ids := make([]int64, len(fs))
	var fresh []int // indexes of fs first seen now
	var touch []int64
	var reopened []int64
	for i, f := range fs {
		k, ok := have[f.Fingerprint]
		if !ok {
			fresh = append(fresh, i)
			continue
		}
		ids[i] = k.id
		if !sr.Head {
			continue // a historical scan changes nothing known
		}
		state, triaged := release.Reappear(k.state, k.triaged)
		if state == k.state && k.same(f) {
			touch = append(touch, k.id)
			continue
		}
		if k.state == release.Fixed || k.state == release.ResolvedByRescan {
			reopened = append(reopened, k.id)
		}
		counts[k.state]--
		counts[state]++
		if _, err := tx.Exec(ctx, `UPDATE findings SET rule_id = $1, title = $2, description = $3, severity = $4, severity_rank = $5, severity_basis = $6, location = $7,
			cwe = $8, cve = $9, suppressed = $10, state = $11, triaged_state = $12, last_seen_at = $13, last_scan_id = $14, resolved_at = NULL, resolved_scan_id = NULL, updated_at = $13
			WHERE id = $15`,
			f.RuleID, f.Title, f.Description, string(f.Severity), release.Rank(f.Severity), f.SeverityBasis, f.Location,
			jsonList(f.CWE), jsonList(f.CVE), f.Suppressed, string(state), string(triaged), tx.Now, sr.ID, k.id); err != nil {
			return sr, fmt.Errorf("update finding %d: %w", k.id, err)
		}
	}
	if err := touchFindings(ctx, tx, sr.ID, touch); err != nil {
		return sr, fmt.Errorf("update known findings: %w", err)
	}

	// New findings: unreviewed, or, seen only by a historical scan,
	// already resolved by the newer one.
	state, resolvedAt, resolvedBy := release.New, time.Time{}, int64(0)
	if !sr.Head {
		state, resolvedAt, resolvedBy = release.ResolvedByRescan, tx.Now, newer.Int64
	}
	nf := newFindings{appID: a.ID, component: a.Component, scanType: t, state: state, scanID: sr.ID, resolvedAt: resolvedAt, resolvedBy: resolvedBy}
	for _, i := range fresh {
		nf.fs = append(nf.fs, fs[i])
	}
	if err := insertFindings(ctx, tx, nf, have); err != nil {
		return sr, fmt.Errorf("record new findings: %w", err)
	}
	counts[state] += len(fresh)
	for _, i := range fresh {
		ids[i] = have[fs[i].Fingerprint].id
	}
	sr.New = len(fresh)
	if !sr.Head {
		sr.New = 0
	}

	// Where this scan saw each finding, and with which severity.
	if err := insertOccurrences(ctx, tx, sr.ID, ids, fs); err != nil {
		return sr, fmt.Errorf("record the scan's findings: %w", err)
	}

	var resolved []int64
	if sr.Head {
		const gone = ` FROM findings WHERE app_id = $1 AND scan_type = $2 AND state <> 'resolved_by_rescan' AND last_scan_id <> $3`
		rows, err := tx.Query(ctx, `SELECT state, COUNT(*)`+gone+` GROUP BY state`, a.ID, string(t), sr.ID)
		if err := scanStateCounts(rows, err, func(st release.State, n int) {
			counts[st] -= n
			counts[release.ResolvedByRescan] += n
		}); err != nil {
			return sr, fmt.Errorf("count findings the scan no longer reports: %w", err)
		}
		rows, err = tx.Query(ctx, `UPDATE findings SET state = 'resolved_by_rescan', resolved_at = $1, resolved_scan_id = $2, updated_at = $1
			WHERE app_id = $3 AND scan_type = $4 AND state <> 'resolved_by_rescan' AND last_scan_id <> $2 RETURNING id`, tx.Now, sr.ID, a.ID, string(t))
		if resolved, err = scanAll(rows, err, scanID); err != nil {
			return sr, fmt.Errorf("resolve findings the scan no longer reports: %w", err)
		}
		slices.Sort(resolved)
	}
	sr.Reopened, sr.Resolved = len(reopened), len(resolved)

	if err := insertComponents(ctx, tx, sr.ID, rep.Components); err != nil {
		return sr, fmt.Errorf("record the SBOM's components: %w", err)
	}
	if err := bumpCounts(ctx, tx, a.ID, t, counts); err != nil {
		return sr, err
	}
	if _, err := tx.Exec(ctx, `UPDATE scans SET new_findings = $1, reopened = $2, resolved = $3 WHERE id = $4`, sr.New, sr.Reopened, sr.Resolved, sr.ID); err != nil {
		return sr, fmt.Errorf("record the scan's counts: %w", err)
	}

	bySeverity := map[string]any{}
	for _, f := range fs {
		bySeverity[string(f.Severity)] = toInt(bySeverity[string(f.Severity)]) + 1
	}
	data := map[string]any{"scan_id": sr.ID, "scan_type": string(t), "format": string(rep.Format), "tool": sr.Tool, "tool_version": sr.ToolVersion,
		"sha256": r.SHA256, "raw_digest": "sha256:" + raw, "findings": sr.Findings, "by_severity": bySeverity, "components": sr.Components,
		"new": sr.New, "reopened": sr.Reopened, "resolved": sr.Resolved, "head": sr.Head}
	if len(reopened) > 0 {
		data["reopened_ids"] = firstIDs(reopened)
	}
	if len(resolved) > 0 {
		data["resolved_ids"] = firstIDs(resolved)
	}
	return sr, s.record(ctx, tx, by.Actor(), "release.scan_imported", a.Component, releaseSubject(r.ID), data, findingsDigest(fs))
}

func toInt(v any) int {
	n, _ := v.(int)
	return n
}

// firstIDs returns up to 100 IDs for a ledger entry (its digest and the
// scan's rows hold them all).
func firstIDs(ids []int64) []any {
	out := make([]any, 0, min(len(ids), 100))
	for _, id := range ids[:min(len(ids), 100)] {
		out = append(out, id)
	}
	return out
}

// findingsDigest commits to what a scan reported: its findings'
// fingerprints and severities, one "fingerprint severity" line each,
// sorted. It can be recomputed from the report or from the scan's stored
// rows.
func findingsDigest(fs []scan.Finding) string {
	lines := make([]string, len(fs))
	for i, f := range fs {
		lines[i] = f.Fingerprint + " " + string(f.Severity) + "\n"
	}
	slices.Sort(lines)
	return ledger.PayloadDigest([]byte(strings.Join(lines, "")))
}

// Scans lists the scans of a release, newest first.
func (s *Releases) Scans(ctx context.Context, by auth.Principal, releaseID int64) ([]ScanRecord, error) {
	return viewOne(ctx, s.db, func(tx *Tx) ([]ScanRecord, error) {
		if _, err := s.release(ctx, tx, by, releaseID, ""); err != nil {
			return nil, err
		}
		rows, err := tx.Query(ctx, `SELECT `+scanColumns+scanFrom+` WHERE sc.release_id = $1 ORDER BY sc.id DESC`, releaseID)
		return scanAll(rows, err, scanScan)
	})
}

// Scan returns one scan.
func (s *Releases) Scan(ctx context.Context, by auth.Principal, scanID int64) (ScanRecord, error) {
	return viewOne(ctx, s.db, func(tx *Tx) (ScanRecord, error) {
		sr, err := scanScan(tx.QueryRow(ctx, `SELECT `+scanColumns+scanFrom+` WHERE sc.id = $1`, scanID))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !by.CanIn(auth.ReleasesRead, sr.Component)) {
			return ScanRecord{}, fault.New(fault.NotFound, "there is no scan %d", scanID)
		}
		return sr, err
	})
}

// Components returns the components an SBOM scan listed, in its order.
func (s *Releases) Components(ctx context.Context, by auth.Principal, scanID int64) ([]scan.Component, error) {
	if _, err := s.Scan(ctx, by, scanID); err != nil {
		return nil, err
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT name, version, purl, license FROM scan_components WHERE scan_id = $1 ORDER BY seq`, scanID)
	return scanAll(rows, err, func(sc scanner) (scan.Component, error) {
		var c scan.Component
		return c, sc.Scan(&c.Name, &c.Version, &c.PURL, &c.License)
	})
}

// Findings.

// A Finding is one finding of an app, as triage sees it.
type Finding struct {
	scan.Finding
	ID        int64
	AppID     int64
	Component string
	ScanType  release.ScanType
	// State is the finding's state now (an accepted risk whose exception
	// expired is confirmed, see [release.Effective]); Triaged the latest
	// reviewer decision ("" for none), kept while a re-scan resolves the
	// finding.
	State       release.State
	Triaged     release.State
	Reason      string
	TriagedBy   string
	TriagedAt   time.Time
	ExceptionID int64 // the approved exception, when an accepted risk
	// RiskExpiresAt is when the approved exception expires.
	RiskExpiresAt  time.Time
	FirstSeenAt    time.Time
	FirstScanID    int64
	LastSeenAt     time.Time
	LastScanID     int64
	ResolvedAt     time.Time
	ResolvedScanID int64
	UpdatedAt      time.Time
	// DueAt is when the policy's SLA for its severity runs out (zero for
	// info); Overdue whether it is open past it. Both are computed when
	// read, from the app's policy in force.
	DueAt   time.Time
	Overdue bool
}

const findingColumns = `f.id, f.app_id, f.component, f.scan_type, f.fingerprint, f.rule_id, f.title, f.description, f.severity, f.severity_basis, f.location, f.cwe, f.cve,
	f.suppressed, f.state, f.triaged_state, f.reason, COALESCE(tp.employee_id, ''), f.triaged_at, COALESCE(f.exception_id, 0), f.risk_expires_at,
	f.first_seen_at, f.first_scan_id, f.last_seen_at, f.last_scan_id, f.resolved_at, COALESCE(f.resolved_scan_id, 0), f.updated_at`

const findingFrom = ` FROM findings f LEFT JOIN people tp ON tp.id = f.triaged_by`

// scanFinding scans a finding as stored: State is the stored state.
func scanFinding(sc scanner) (Finding, error) {
	var f Finding
	var cwe, cve string
	var triagedAt, expires, resolved sql.NullTime
	err := sc.Scan(&f.ID, &f.AppID, &f.Component, &f.ScanType, &f.Fingerprint, &f.RuleID, &f.Title, &f.Description, &f.Severity, &f.SeverityBasis, &f.Location, &cwe, &cve,
		&f.Suppressed, &f.State, &f.Triaged, &f.Reason, &f.TriagedBy, &triagedAt, &f.ExceptionID, &expires,
		&f.FirstSeenAt, &f.FirstScanID, &f.LastSeenAt, &f.LastScanID, &resolved, &f.ResolvedScanID, &f.UpdatedAt)
	if err != nil {
		return f, err
	}
	f.TriagedAt, f.RiskExpiresAt, f.ResolvedAt = triagedAt.Time, expires.Time, resolved.Time
	if json.Unmarshal([]byte(cwe), &f.CWE) != nil || json.Unmarshal([]byte(cve), &f.CVE) != nil {
		return f, fmt.Errorf("finding %d: unreadable CWE or CVE list", f.ID)
	}
	return f, nil
}

// settle computes what a finding is now under sla: its effective state,
// due date and whether it is overdue.
func (f *Finding) settle(sla release.SLA, now time.Time) {
	stored := f.State
	f.State = release.Effective(stored, f.RiskExpiresAt, now)
	f.DueAt, _ = release.DueAt(f.FirstSeenAt, f.Severity, sla)
	f.Overdue = release.Overdue(stored, f.RiskExpiresAt, f.Severity, f.FirstSeenAt, sla, now)
}

func notFoundFinding(id int64) error { return fault.New(fault.NotFound, "there is no finding %d", id) }

// finding reads a finding in tx for by, as stored, locked for update on
// PostgreSQL when lock.
func (s *Releases) finding(ctx context.Context, tx *Tx, by auth.Principal, id int64, lock bool) (Finding, error) {
	q := `SELECT ` + findingColumns + findingFrom + ` WHERE f.id = $1`
	if lock && tx.Dialect() == Postgres {
		q += ` FOR UPDATE OF f`
	}
	f, err := scanFinding(tx.QueryRow(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !by.CanIn(auth.ReleasesRead, f.Component)) {
		return Finding{}, notFoundFinding(id)
	}
	if err != nil {
		return Finding{}, fmt.Errorf("read finding %d: %w", id, err)
	}
	return f, nil
}

// Finding returns a finding by may see, as it is now.
func (s *Releases) Finding(ctx context.Context, by auth.Principal, id int64) (Finding, error) {
	return viewOne(ctx, s.db, func(tx *Tx) (Finding, error) {
		f, err := s.finding(ctx, tx, by, id, false)
		if err != nil {
			return f, err
		}
		a, err := s.app(ctx, tx, by, f.AppID, "")
		if err != nil {
			return f, err
		}
		p, err := s.policy(ctx, tx, a.ID, a.PolicyVersion)
		if err != nil {
			return f, err
		}
		f.settle(p.SLA, tx.Now)
		return f, nil
	})
}

// FindingScans returns the IDs of the scans that reported a finding,
// oldest first.
func (s *Releases) FindingScans(ctx context.Context, by auth.Principal, id int64) ([]int64, error) {
	return viewOne(ctx, s.db, func(tx *Tx) ([]int64, error) {
		if _, err := s.finding(ctx, tx, by, id, false); err != nil {
			return nil, err
		}
		rows, err := tx.Query(ctx, `SELECT scan_id FROM scan_findings WHERE finding_id = $1 ORDER BY scan_id`, id)
		return scanAll(rows, err, scanID)
	})
}

// A FindingFilter selects an app's findings for the triage list.
type FindingFilter struct {
	AppID int64 // required
	// ReleaseID, when set, keeps the findings the release's latest scan
	// of each type reports.
	ReleaseID int64
	ScanType  release.ScanType
	// States keeps findings in these states as they are now (an accepted
	// risk whose exception expired is confirmed); empty keeps all.
	States []release.State
	// MinSeverity keeps findings at least this severe; "" keeps all.
	MinSeverity scan.Severity
	// Overdue keeps the findings open past their SLA.
	Overdue bool
	// After is the cursor of the previous page ([FindingPage.Next]).
	After string
	// Limit is the page size: 50 by default, at most 500.
	Limit int
}

// FindingCounts are the counts of an app's findings (or a release's,
// when the filter names one) by state, whatever the other filters.
type FindingCounts struct {
	Total   int
	ByState map[release.State]int
	// Unreviewed is ByState[release.New], the count shown everywhere.
	Unreviewed int
	// Overdue counts findings open past their SLA.
	Overdue int
}

// A FindingPage is one page of the triage list, most severe first (then
// oldest), the cursor of the next page ("" at the end), and the counts.
type FindingPage struct {
	Findings []Finding
	Next     string
	Counts   FindingCounts
	ReadAt   time.Time
}

// A cursor is where a page of the triage list ended: the severity rank,
// first-seen time and ID of its last finding.
type cursor struct {
	rank int
	seen time.Time
	id   int64
}

func (c cursor) String() string {
	return strconv.Itoa(c.rank) + ":" + strconv.FormatInt(c.seen.UnixMicro(), 10) + ":" + strconv.FormatInt(c.id, 10)
}

func parseCursor(s string) (cursor, error) {
	parts := strings.Split(s, ":")
	bad := fault.New(fault.Invalid, "after: %q is not a cursor of the triage list; use the next cursor of the page before", clipText(s, 40))
	if len(parts) != 3 {
		return cursor{}, bad
	}
	rank, err1 := strconv.Atoi(parts[0])
	us, err2 := strconv.ParseInt(parts[1], 10, 64)
	id, err3 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || rank < 0 || rank >= len(release.Severities()) || id <= 0 {
		return cursor{}, bad
	}
	return cursor{rank: rank, seen: time.UnixMicro(us).UTC(), id: id}, nil
}

// storedStates returns, for a filter on effective states (and overdue),
// the stored states to read, and which accepted risks: those whose
// exception expired (confirmed now), those in force, or both. A nil list
// means every state.
func storedStates(states []release.State, overdue bool) (out []release.State, expired, inForce bool) {
	if len(states) == 0 {
		if !overdue {
			return nil, true, true
		}
		states = []release.State{release.New, release.Confirmed}
	}
	for _, st := range states {
		if overdue && !st.Open() {
			continue // only open findings are overdue
		}
		switch st {
		case release.Confirmed:
			expired = true
			if !slices.Contains(out, release.AcceptedRisk) {
				out = append(out, release.AcceptedRisk)
			}
		case release.AcceptedRisk:
			inForce = true
			if !slices.Contains(out, release.AcceptedRisk) {
				out = append(out, release.AcceptedRisk)
			}
			continue
		}
		if !slices.Contains(out, st) {
			out = append(out, st)
		}
	}
	if out == nil {
		out = []release.State{} // nothing can match
	}
	return out, expired, inForce
}

// overdueCond returns the condition for findings open past their SLA
// under sla at now.
func overdueCond(w *where, sla release.SLA, now time.Time) string {
	return `(f.state IN ('new', 'confirmed') OR (f.state = 'accepted_risk' AND (f.risk_expires_at IS NULL OR f.risk_expires_at <= ` + w.arg(now) + `))) AND ` +
		overdueSeverity(w, sla, now)
}

// overdueSeverity returns the condition for findings first seen longer
// ago than the SLA of their severity allows.
func overdueSeverity(w *where, sla release.SLA, now time.Time) string {
	var parts []string
	for _, sev := range release.Severities() {
		if d := sla.Days(sev); d > 0 {
			parts = append(parts, fmt.Sprintf("(f.severity_rank = %d AND f.first_seen_at <= %s)", release.Rank(sev), w.arg(now.AddDate(0, 0, -d))))
		}
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

// scopeCond returns the condition of the findings of a release's latest
// scans.
func scopeCond(w *where, scans []int64) string {
	if len(scans) == 0 {
		return "1 = 0"
	}
	ph := make([]string, len(scans))
	for i, id := range scans {
		ph[i] = w.arg(id)
	}
	return `EXISTS (SELECT 1 FROM scan_findings sf WHERE sf.finding_id = f.id AND sf.scan_id IN (` + strings.Join(ph, ",") + `))`
}

// Findings returns a page of an app's triage list — most severe first,
// then longest open, then by ID — and the counts of its findings by
// state and overdue.
//
// The list is read as ranges of two indexes, (app, severity, first seen,
// ID) and (app, state, severity, first seen, ID), with keyset pagination:
// a page filtered by state or overdue reads each (state, severity) range
// that can hold it from the cursor on, at most a page of rows from each,
// so its cost does not grow with the number of findings. Filters on scan
// type or release are applied to the rows those ranges yield.
func (s *Releases) Findings(ctx context.Context, by auth.Principal, f FindingFilter) (FindingPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > 500 {
		limit = 500
	}
	for _, st := range f.States {
		if _, err := release.ParseState(string(st)); err != nil {
			return FindingPage{}, err
		}
	}
	if f.ScanType != "" && !f.ScanType.Valid() {
		_, err := release.ParseScanType(string(f.ScanType))
		return FindingPage{}, err
	}
	maxRank := len(release.Severities()) - 1
	if f.MinSeverity != "" {
		if maxRank = release.Rank(f.MinSeverity); maxRank >= len(release.Severities()) {
			return FindingPage{}, fault.New(fault.Invalid, "min_severity: %q is not critical, high, medium, low or info", clipText(string(f.MinSeverity), 40))
		}
	}
	var after cursor
	if f.After != "" {
		var err error
		if after, err = parseCursor(f.After); err != nil {
			return FindingPage{}, err
		}
	}
	var page FindingPage
	err := s.db.View(ctx, func(tx *Tx) error {
		page.ReadAt = tx.Now
		a, err := s.app(ctx, tx, by, f.AppID, "")
		if err != nil {
			return err
		}
		p, err := s.policy(ctx, tx, a.ID, a.PolicyVersion)
		if err != nil {
			return err
		}
		sc := findingScope{appID: a.ID}
		if f.ReleaseID != 0 {
			r, err := s.release(ctx, tx, by, f.ReleaseID, "")
			if err != nil {
				return err
			}
			if r.AppID != a.ID {
				return fault.New(fault.Invalid, "release %d is not of app %d", r.ID, a.ID)
			}
			if sc, err = scopeOf(ctx, tx, a.ID, r.ID); err != nil {
				return err
			}
		}
		if page.Counts, err = s.counts(ctx, tx, sc, p.SLA); err != nil {
			return err
		}
		// common adds the conditions every range shares.
		common := func(w *where) {
			sc.cond(w)
			if f.ScanType != "" {
				w.eq("f.scan_type", string(f.ScanType))
			}
		}
		read := func(w *where, order string, n int) ([]Finding, error) {
			rows, err := tx.Query(ctx, `SELECT `+findingColumns+findingFrom+w.String()+` ORDER BY `+order+` LIMIT `+strconv.Itoa(n), w.args...)
			return scanAll(rows, err, scanFinding)
		}
		var fs []Finding
		states, expired, inForce := storedStates(f.States, f.Overdue)
		if states == nil {
			// Every state: one range of (app, severity, first seen, ID).
			var w where
			common(&w)
			if maxRank < len(release.Severities())-1 {
				w.add("f.severity_rank <= " + w.arg(maxRank))
			}
			if f.After != "" {
				w.add("(f.severity_rank, f.first_seen_at, f.id) > (" + w.arg(after.rank) + ", " + w.arg(after.seen) + ", " + w.arg(after.id) + ")")
			}
			if fs, err = read(&w, "f.severity_rank, f.first_seen_at, f.id", limit+1); err != nil {
				return fmt.Errorf("read the triage list of app %d: %w", a.ID, err)
			}
		} else {
			// Severity by severity, each state's range, merged.
			for rank := after.rank; rank <= maxRank && len(fs) <= limit; rank++ {
				sev := release.Severities()[rank]
				days := p.SLA.Days(sev)
				if f.Overdue && days <= 0 {
					continue
				}
				var level []Finding
				for _, st := range states {
					var w where
					common(&w)
					// The state and severity are literals (of closed sets,
					// checked above) so that PostgreSQL plans each range with
					// its statistics rather than a generic plan, which would
					// walk the whole app for a rare state.
					w.add(fmt.Sprintf("f.state = '%s' AND f.severity_rank = %d", st, rank))
					if st == release.AcceptedRisk && expired != inForce {
						if expired {
							w.add("(f.risk_expires_at IS NULL OR f.risk_expires_at <= " + w.arg(tx.Now) + ")")
						} else {
							w.add("f.risk_expires_at > " + w.arg(tx.Now))
						}
					}
					if f.Overdue {
						w.add("f.first_seen_at <= " + w.arg(tx.Now.AddDate(0, 0, -days)))
					}
					if f.After != "" && rank == after.rank {
						w.add("(f.first_seen_at, f.id) > (" + w.arg(after.seen) + ", " + w.arg(after.id) + ")")
					}
					got, err := read(&w, "f.first_seen_at, f.id", limit+1-len(fs))
					if err != nil {
						return fmt.Errorf("read the triage list of app %d: %w", a.ID, err)
					}
					level = append(level, got...)
				}
				slices.SortFunc(level, func(x, y Finding) int {
					if c := x.FirstSeenAt.Compare(y.FirstSeenAt); c != 0 {
						return c
					}
					return int(x.ID - y.ID)
				})
				fs = append(fs, level...)
			}
		}
		if len(fs) > limit {
			last := fs[limit-1]
			page.Next = cursor{rank: release.Rank(last.Severity), seen: last.FirstSeenAt, id: last.ID}.String()
			fs = fs[:limit]
		}
		for i := range fs {
			fs[i].settle(p.SLA, tx.Now)
		}
		page.Findings = fs
		return nil
	})
	return page, err
}

// A findingScope is what a triage list and its counts cover: an app's
// findings, or those a release's latest scan of each type reports.
type findingScope struct {
	appID   int64
	release bool
	scans   []int64 // the release's latest scan of each type
	// current reports that each of those scans is still the app's latest
	// of its type (types lists them): the release's findings are then the
	// app's findings of those types that no re-scan resolved, which the
	// indexes and kept counts serve directly.
	current bool
	types   []string
}

// scopeOf returns the scope of a release's findings.
func scopeOf(ctx context.Context, tx *Tx, appID, releaseID int64) (findingScope, error) {
	sc := findingScope{appID: appID, release: true, current: true}
	rows, err := tx.Query(ctx, `SELECT sc.id, sc.scan_type, sc.head AND NOT EXISTS (SELECT 1 FROM scans n WHERE n.app_id = sc.app_id AND n.scan_type = sc.scan_type AND n.release_id > sc.release_id)
		FROM scans sc WHERE sc.id IN (SELECT MAX(id) FROM scans WHERE release_id = $1 GROUP BY scan_type) ORDER BY sc.id`, releaseID)
	if err != nil {
		return sc, fmt.Errorf("read the scans of release %d: %w", releaseID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var t string
		var latest bool
		if err := rows.Scan(&id, &t, &latest); err != nil {
			return sc, err
		}
		sc.scans, sc.types = append(sc.scans, id), append(sc.types, t)
		sc.current = sc.current && latest
	}
	return sc, rows.Err()
}

// cond adds the scope's conditions on findings f.
func (sc findingScope) cond(w *where) {
	w.eq("f.app_id", sc.appID)
	switch {
	case !sc.release:
	case sc.current:
		w.add(w.in("f.scan_type", sc.types))
		w.add("f.state <> 'resolved_by_rescan'")
	default:
		w.add(scopeCond(w, sc.scans))
	}
}

// counts counts the findings of a scope by state as they are now, and
// those overdue. The counts of an app's findings by scan type and stored
// state are kept in finding_counts; accepted risks whose exception expired
// and overdue findings are counted as ranges of the (app, state, severity,
// first seen) index, so they cost what they count. A release whose scans
// are no longer the app's latest is counted in one pass over its scans'
// findings.
func (s *Releases) counts(ctx context.Context, tx *Tx, sc findingScope, sla release.SLA) (FindingCounts, error) {
	c := FindingCounts{ByState: map[release.State]int{}}
	for _, st := range release.States() {
		c.ByState[st] = 0
	}
	if sc.release && !sc.current {
		if err := releaseCounts(ctx, tx, sc.scans, sla, &c); err != nil {
			return c, err
		}
		c.Unreviewed = c.ByState[release.New]
		return c, nil
	}
	var kw where
	kw.eq("app_id", sc.appID)
	if sc.release {
		kw.add(kw.in("scan_type", sc.types))
		kw.add("state <> 'resolved_by_rescan'")
	}
	rows, err := tx.Query(ctx, `SELECT state, SUM(n) FROM finding_counts`+kw.String()+` GROUP BY state`, kw.args...)
	if err := scanStateCounts(rows, err, func(st release.State, n int) {
		c.ByState[st] += n
		c.Total += n
	}); err != nil {
		return c, fmt.Errorf("count findings: %w", err)
	}

	// One statement of counts: accepted risks whose exception expired
	// (they are confirmed now), then the overdue ones of each severity.
	var q where
	var sums []string
	sub := func(cond func(w *where) string) string {
		w := where{args: q.args}
		sc.cond(&w)
		w.add(cond(&w))
		q.args = w.args
		return `(SELECT COUNT(*) FROM findings f` + w.String() + `)`
	}
	expired := func(w *where) string {
		return `f.state = 'accepted_risk' AND (f.risk_expires_at IS NULL OR f.risk_expires_at <= ` + w.arg(tx.Now) + `)`
	}
	expiredSQL := sub(expired)
	for _, sev := range release.Severities() {
		if days := sla.Days(sev); days > 0 {
			sums = append(sums, sub(func(w *where) string {
				return fmt.Sprintf(`f.state IN ('new', 'confirmed') AND f.severity_rank = %d AND f.first_seen_at <= %s`, release.Rank(sev), w.arg(tx.Now.AddDate(0, 0, -days)))
			}))
		}
	}
	sums = append(sums, sub(func(w *where) string { return expired(w) + ` AND ` + overdueSeverity(w, sla, tx.Now) }))
	var expiredN int
	if err := tx.QueryRow(ctx, `SELECT `+expiredSQL+`, `+strings.Join(sums, " + "), q.args...).Scan(&expiredN, &c.Overdue); err != nil {
		return c, fmt.Errorf("count overdue findings: %w", err)
	}
	c.ByState[release.AcceptedRisk] -= expiredN
	c.ByState[release.Confirmed] += expiredN
	c.Unreviewed = c.ByState[release.New]
	return c, nil
}

// releaseCounts counts the findings of a release's latest scans by state
// as they are now, and those overdue, in one pass over the scans' rows
// (each finding is reported by at most one of them: findings are per scan
// type).
func releaseCounts(ctx context.Context, tx *Tx, scans []int64, sla release.SLA, c *FindingCounts) error {
	if len(scans) == 0 {
		return nil
	}
	var w where
	ids := make([]string, len(scans))
	for i, id := range scans {
		ids[i] = w.arg(id)
	}
	expired := `f.state = 'accepted_risk' AND (f.risk_expires_at IS NULL OR f.risk_expires_at <= ` + w.arg(tx.Now) + `)`
	overdue := overdueCond(&w, sla, tx.Now)
	rows, err := tx.Query(ctx, `SELECT f.state, COUNT(*), SUM(CASE WHEN `+expired+` THEN 1 ELSE 0 END), SUM(CASE WHEN `+overdue+` THEN 1 ELSE 0 END)
		FROM scan_findings sf JOIN findings f ON f.id = sf.finding_id WHERE sf.scan_id IN (`+strings.Join(ids, ",")+`) GROUP BY f.state`, w.args...)
	if err != nil {
		return fmt.Errorf("count the release's findings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st release.State
		var n, exp, late int
		if err := rows.Scan(&st, &n, &exp, &late); err != nil {
			return err
		}
		c.ByState[st] += n - exp
		c.ByState[release.Confirmed] += exp
		c.Total += n
		c.Overdue += late
	}
	return rows.Err()
}

// Triage.

// Triage records by's decision on a finding — confirmed, false positive
// (with a reason) or fixed, see [release.CheckTriage] — and returns the
// finding as it is now. Taking a finding out of an accepted risk
// withdraws its exception; marking it a false positive or fixed withdraws
// an exception request waiting for a decision. Ledger: "finding.triaged"
// under finding/ID.
func (s *Releases) Triage(ctx context.Context, by auth.Principal, findingID int64, to release.State, reason string) (Finding, error) {
	var out Finding
	err := s.db.Update(ctx, func(tx *Tx) error {
		f, a, p, err := s.lockFinding(ctx, tx, by, findingID)
		if err != nil {
			return err
		}
		if err := mayTriage(by, a, p, f.ScanType); err != nil {
			return err
		}
		from := release.Effective(f.State, f.RiskExpiresAt, tx.Now)
		reason, err := release.CheckTriage(from, to, reason)
		if err != nil {
			return err
		}
		overdue := release.Overdue(f.State, f.RiskExpiresAt, f.Severity, f.FirstSeenAt, p.SLA, tx.Now)
		data := map[string]any{"from": string(from), "to": string(to), "reason": reason, "severity": string(f.Severity), "scan_type": string(f.ScanType),
			"app_id": a.ID, "overdue": overdue}
		if f.State == release.AcceptedRisk && f.ExceptionID != 0 {
			status := release.ExceptionWithdrawn
			if from != release.AcceptedRisk {
				status = release.ExceptionExpired
			}
			if _, err := tx.Exec(ctx, `UPDATE finding_exceptions SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'approved'`, string(status), tx.Now, f.ExceptionID); err != nil {
				return fmt.Errorf("end exception %d: %w", f.ExceptionID, err)
			}
			data["exception_ended"], data["exception_status"] = f.ExceptionID, string(status)
		}
		if to == release.FalsePositive || to == release.Fixed {
			rows, err := tx.Query(ctx, `UPDATE finding_exceptions SET status = 'withdrawn', updated_at = $1 WHERE finding_id = $2 AND status = 'requested' RETURNING id`, tx.Now, findingID)
			ids, err := scanAll(rows, err, scanID)
			if err != nil {
				return fmt.Errorf("withdraw the exception request: %w", err)
			}
			if len(ids) > 0 {
				data["request_withdrawn"] = ids[0]
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE findings SET state = $1, triaged_state = $1, reason = $2, triaged_by = $3, triaged_at = $4, exception_id = NULL, risk_expires_at = NULL, updated_at = $4
			WHERE id = $5`, string(to), reason, by.PersonID, tx.Now, findingID); err != nil {
			return fmt.Errorf("triage finding %d: %w", findingID, err)
		}
		if err := moveCount(ctx, tx, a.ID, f.ScanType, f.State, to); err != nil {
			return err
		}
		if err := s.record(ctx, tx, by.Actor(), "finding.triaged", a.Component, findingSubject(findingID), data, ""); err != nil {
			return err
		}
		if out, err = s.finding(ctx, tx, by, findingID, false); err != nil {
			return err
		}
		out.settle(p.SLA, tx.Now)
		return nil
	})
	return out, err
}

// lockFinding reads a finding for a change, with its app (share-locked
// against imports and approvals on PostgreSQL) and policy in force.
func (s *Releases) lockFinding(ctx context.Context, tx *Tx, by auth.Principal, id int64) (Finding, release.App, release.ScanPolicy, error) {
	f, err := s.finding(ctx, tx, by, id, false)
	if err != nil {
		return f, release.App{}, release.ScanPolicy{}, err
	}
	a, err := s.app(ctx, tx, by, f.AppID, "SHARE")
	if err != nil {
		return f, a, release.ScanPolicy{}, err
	}
	if f, err = s.finding(ctx, tx, by, id, true); err != nil {
		return f, a, release.ScanPolicy{}, err
	}
	p, err := s.policy(ctx, tx, a.ID, a.PolicyVersion)
	return f, a, p, err
}

// Exceptions.

const exceptionColumns = `x.id, x.finding_id, x.app_id, x.component, x.justification, x.compensating_controls, x.expires_at, x.status,
	x.requested_by, rp.employee_id, x.requested_at, COALESCE(x.decided_by, 0), COALESCE(dp.employee_id, ''), x.decided_at, x.decision_note`

const exceptionFrom = ` FROM finding_exceptions x JOIN people rp ON rp.id = x.requested_by LEFT JOIN people dp ON dp.id = x.decided_by`

func scanException(sc scanner) (release.Exception, error) {
	var e release.Exception
	var decided sql.NullTime
	err := sc.Scan(&e.ID, &e.FindingID, &e.AppID, &e.Component, &e.Justification, &e.CompensatingControls, &e.ExpiresAt, &e.Status,
		&e.RequestedByID, &e.RequestedBy, &e.RequestedAt, &e.DecidedByID, &e.DecidedBy, &decided, &e.DecisionNote)
	e.DecidedAt = decided.Time
	return e, err
}

func exceptionDigest(e release.Exception) string {
	b, _ := json.Marshal(map[string]string{"justification": e.Justification, "compensating_controls": e.CompensatingControls, "expires_at": e.ExpiresAt.UTC().Format(time.RFC3339)})
	return ledger.PayloadDigest(b)
}

// RequestException asks for a finding's risk to be accepted until
// e.ExpiresAt, with a justification and compensating controls; someone
// else holding exceptions.approve decides it ([Releases.DecideException]).
// Only an unreviewed or confirmed finding, one request at a time, by
// someone who may triage it. Ledger: "finding.exception_requested" under
// finding/ID, committing to the texts.
func (s *Releases) RequestException(ctx context.Context, by auth.Principal, findingID int64, e release.Exception) (release.Exception, error) {
	e.Normalize()
	err := s.db.Update(ctx, func(tx *Tx) error {
		f, a, p, err := s.lockFinding(ctx, tx, by, findingID)
		if err != nil {
			return err
		}
		if err := mayTriage(by, a, p, f.ScanType); err != nil {
			return err
		}
		if st := release.Effective(f.State, f.RiskExpiresAt, tx.Now); !st.Open() {
			return fault.New(fault.Conflict, "finding %d is %s; only an unreviewed or confirmed finding's risk may be accepted", findingID, st.Title())
		}
		if err := e.Validate(tx.Now); err != nil {
			return err
		}
		e.FindingID, e.AppID, e.Component, e.Status = findingID, a.ID, a.Component, release.ExceptionRequested
		e.RequestedByID, e.RequestedBy, e.RequestedAt = by.PersonID, by.ID, tx.Now
		e.ExpiresAt = e.ExpiresAt.UTC().Truncate(time.Microsecond)
		err = tx.QueryRow(ctx, `INSERT INTO finding_exceptions (finding_id, app_id, component, justification, compensating_controls, expires_at, status, requested_by, requested_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'requested', $7, $8, $8) RETURNING id`,
			findingID, a.ID, a.Component, e.Justification, e.CompensatingControls, e.ExpiresAt, by.PersonID, tx.Now).Scan(&e.ID)
		if isUniqueViolation(err) {
			return fault.New(fault.Conflict, "finding %d already has an exception request waiting for a decision", findingID)
		}
		if err != nil {
			return fmt.Errorf("record the exception request: %w", err)
		}
		return s.record(ctx, tx, by.Actor(), "finding.exception_requested", a.Component, findingSubject(findingID), map[string]any{
			"exception_id": e.ID, "expires_at": e.ExpiresAt.Format(time.RFC3339), "severity": string(f.Severity), "app_id": a.ID,
		}, exceptionDigest(e))
	})
	return e, err
}

// DecideException approves or rejects an exception request, with an
// optional note. Only someone other than the requester, holding
// exceptions.approve in the component, decides. Approval makes the
// finding an accepted risk until the exception expires (then it is
// confirmed again, see [Releases.ExpireExceptions]). Ledger:
// "finding.exception_approved" or "finding.exception_rejected" under
// finding/ID.
func (s *Releases) DecideException(ctx context.Context, by auth.Principal, exceptionID int64, approve bool, note string) (release.Exception, error) {
	if err := mustBePerson(by, "decide an exception"); err != nil {
		return release.Exception{}, err
	}
	var e release.Exception
	err := s.db.Update(ctx, func(tx *Tx) error {
		q := `SELECT ` + exceptionColumns + exceptionFrom + ` WHERE x.id = $1`
		var err error
		e, err = scanException(tx.QueryRow(ctx, q, exceptionID))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !by.CanIn(auth.ReleasesRead, e.Component)) {
			return fault.New(fault.NotFound, "there is no exception %d", exceptionID)
		}
		if err != nil {
			return fmt.Errorf("read exception %d: %w", exceptionID, err)
		}
		f, a, _, err := s.lockFinding(ctx, tx, by, e.FindingID)
		if err != nil {
			return err
		}
		if tx.Dialect() == Postgres {
			if e, err = scanException(tx.QueryRow(ctx, q+` FOR UPDATE OF x`, exceptionID)); err != nil {
				return fmt.Errorf("read exception %d: %w", exceptionID, err)
			}
		}
		if !by.CanIn(auth.ExceptionsApprove, e.Component) {
			return fault.New(fault.Forbidden, "your roles do not allow deciding exceptions in %s", e.Component)
		}
		e.DecisionNote = note
		e.Normalize()
		if err := e.CheckDecision(by.PersonID, approve, tx.Now); err != nil {
			return err
		}
		status, typ := release.ExceptionRejected, "finding.exception_rejected"
		if approve {
			status, typ = release.ExceptionApproved, "finding.exception_approved"
		}
		if _, err := tx.Exec(ctx, `UPDATE finding_exceptions SET status = $1, decided_by = $2, decided_at = $3, decision_note = $4, updated_at = $3 WHERE id = $5 AND status = 'requested'`,
			string(status), by.PersonID, tx.Now, e.DecisionNote, exceptionID); err != nil {
			return fmt.Errorf("decide exception %d: %w", exceptionID, err)
		}
		e.Status, e.DecidedByID, e.DecidedBy, e.DecidedAt = status, by.PersonID, by.ID, tx.Now
		data := map[string]any{"exception_id": e.ID, "requested_by": e.RequestedBy, "expires_at": e.ExpiresAt.UTC().Format(time.RFC3339), "severity": string(f.Severity), "app_id": a.ID}
		if e.DecisionNote != "" {
			data["note"] = e.DecisionNote
		}
		if approve {
			// A finding a re-scan resolved meanwhile keeps its state; the
			// acceptance returns with it if it reappears.
			set := `state = 'accepted_risk', `
			if f.State == release.ResolvedByRescan {
				set = ""
			}
			if _, err := tx.Exec(ctx, `UPDATE findings SET `+set+`triaged_state = 'accepted_risk', reason = $1, triaged_by = $2, triaged_at = $3, exception_id = $4, risk_expires_at = $5, updated_at = $3
				WHERE id = $6`, fmt.Sprintf("risk accepted under exception %d", e.ID), by.PersonID, tx.Now, e.ID, e.ExpiresAt, e.FindingID); err != nil {
				return fmt.Errorf("accept the risk of finding %d: %w", e.FindingID, err)
			}
			if set != "" {
				if err := moveCount(ctx, tx, a.ID, f.ScanType, f.State, release.AcceptedRisk); err != nil {
					return err
				}
			}
			data["from"] = string(release.Effective(f.State, f.RiskExpiresAt, tx.Now))
		}
		return s.record(ctx, tx, by.Actor(), typ, e.Component, findingSubject(e.FindingID), data, "")
	})
	return e, err
}

// An ExceptionFilter selects exceptions; zero fields select all.
type ExceptionFilter struct {
	AppID     int64
	FindingID int64
	Status    release.ExceptionStatus
	Limit     int // default and maximum 500
}

// Exceptions lists the exceptions by may see, newest first.
func (s *Releases) Exceptions(ctx context.Context, by auth.Principal, f ExceptionFilter) ([]release.Exception, error) {
	var w where
	if err := releaseScope(&w, by, "x.component"); err != nil {
		return nil, err
	}
	if f.AppID != 0 {
		w.eq("x.app_id", f.AppID)
	}
	if f.FindingID != 0 {
		w.eq("x.finding_id", f.FindingID)
	}
	if f.Status != "" {
		if !f.Status.Valid() {
			return nil, fault.New(fault.Invalid, "status: %q is not an exception status", clipText(string(f.Status), 40))
		}
		w.eq("x.status", string(f.Status))
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+exceptionColumns+exceptionFrom+w.String()+` ORDER BY x.id DESC LIMIT `+strconv.Itoa(limit), w.args...)
	return scanAll(rows, err, scanException)
}

// ExpireExceptions ends every approved exception whose expiry has passed,
// each in its own transaction: the exception becomes expired and its
// finding, if still an accepted risk under it, is confirmed again (the
// gate and the triage list treat it so from the moment of expiry, whether
// or not this has run). It returns how many it ended. It is Probity's
// periodic job. Ledger: "finding.exception_expired" under finding/ID.
func (s *Releases) ExpireExceptions(ctx context.Context) (int, error) {
	n := 0
	var after int64
	for {
		rows, err := s.db.read.QueryContext(ctx, `SELECT id FROM finding_exceptions WHERE status = 'approved' AND expires_at <= $1 AND id > $2 ORDER BY id LIMIT 200`, s.db.Now(), after)
		ids, err := scanAll(rows, err, scanID)
		if err != nil {
			return n, fmt.Errorf("find expired exceptions: %w", err)
		}
		if len(ids) == 0 {
			return n, nil
		}
		var errs []error
		for _, id := range ids {
			after = id
			var done bool
			err := s.db.Update(ctx, func(tx *Tx) error {
				var err error
				done, err = s.expire(ctx, tx, id)
				return err
			})
			if err != nil {
				if ctx.Err() != nil {
					return n, ctx.Err()
				}
				errs = append(errs, fmt.Errorf("exception %d: %w", id, err))
			} else if done {
				n++
			}
		}
		if len(errs) > 0 {
			return n, errors.Join(errs...)
		}
	}
}

func (s *Releases) expire(ctx context.Context, tx *Tx, id int64) (bool, error) {
	// Lock the finding, then the exception: the order triage and
	// decisions take them in.
	var findingID int64
	err := tx.QueryRow(ctx, `SELECT finding_id FROM finding_exceptions WHERE id = $1`, id).Scan(&findingID)
	if err != nil {
		return false, err
	}
	var state string
	var scanType release.ScanType
	var current sql.NullInt64
	if err := tx.QueryRow(ctx, `SELECT state, scan_type, exception_id FROM findings WHERE id = $1`+lockFor(tx, "UPDATE"), findingID).Scan(&state, &scanType, &current); err != nil {
		return false, err
	}
	var component string
	var appID int64
	var expires time.Time
	err = tx.QueryRow(ctx, `SELECT component, app_id, expires_at FROM finding_exceptions WHERE id = $1 AND status = 'approved'`+lockFor(tx, "UPDATE"), id).Scan(&component, &appID, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // ended meanwhile
	}
	if err != nil {
		return false, err
	}
	if tx.Now.Before(expires) {
		return false, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE finding_exceptions SET status = 'expired', updated_at = $1 WHERE id = $2`, tx.Now, id); err != nil {
		return false, err
	}
	// The finding is confirmed again: now if it is an accepted risk under
	// this exception, or when it reappears if a re-scan resolved it.
	reopened := false
	if current.Int64 == id {
		set := ""
		if state == string(release.AcceptedRisk) {
			set, reopened = "state = 'confirmed', ", true
		}
		if _, err := tx.Exec(ctx, `UPDATE findings SET `+set+`triaged_state = 'confirmed', reason = $1, exception_id = NULL, risk_expires_at = NULL, updated_at = $2 WHERE id = $3`,
			fmt.Sprintf("exception %d expired on %s", id, expires.UTC().Format(time.DateOnly)), tx.Now, findingID); err != nil {
			return false, err
		}
		if reopened {
			if err := moveCount(ctx, tx, appID, scanType, release.AcceptedRisk, release.Confirmed); err != nil {
				return false, err
			}
		}
	}
	return true, s.record(ctx, tx, SystemActor, "finding.exception_expired", component, findingSubject(findingID), map[string]any{
		"exception_id": id, "expired_at": expires.UTC().Format(time.RFC3339), "reopened": reopened,
	}, "")
}
