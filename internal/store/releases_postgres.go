package store

import (
	"context"

	"github.com/probity-dev/probity/internal/release"
	"github.com/probity-dev/probity/internal/scan"
)

// PostgreSQL writes a scan's findings with one statement each, over
// unnested arrays: a handful of bound values whatever the report's size,
// and a plan (an index lookup per fingerprint) that does not depend on
// the table's statistics being current.

func lookupFindingsPostgres(ctx context.Context, tx *Tx, appID int64, t release.ScanType, fs []scan.Finding) (map[string]known, error) {
	have := make(map[string]known, len(fs))
	fps := make([]string, len(fs))
	for i, f := range fs {
		fps[i] = f.Fingerprint
	}
	rows, err := tx.Query(ctx, `SELECT `+knownColumns+` FROM unnest($3::text[]) AS u(fp) JOIN findings ON app_id = $1 AND scan_type = $2 AND fingerprint = u.fp`,
		appID, string(t), fps)
	return have, scanKnown(rows, err, have)
}

func insertFindingsPostgres(ctx context.Context, tx *Tx, nf newFindings, have map[string]known) error {
	n := len(nf.fs)
	fps, rules, titles, descs, sevs, bases, locs, cwes, cves := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	ranks := make([]int64, n)
	supp := make([]bool, n)
	for i, f := range nf.fs {
		fps[i], rules[i], titles[i], descs[i], sevs[i], bases[i], locs[i] = f.Fingerprint, f.RuleID, f.Title, f.Description, string(f.Severity), f.SeverityBasis, f.Location
		cwes[i], cves[i], ranks[i], supp[i] = jsonList(f.CWE), jsonList(f.CVE), int64(release.Rank(f.Severity)), f.Suppressed
	}
	var resolvedAt, resolvedBy any
	if !nf.resolvedAt.IsZero() {
		resolvedAt, resolvedBy = nf.resolvedAt, nf.resolvedBy
	}
	rows, err := tx.Query(ctx, `INSERT INTO findings (`+newFindingColumns+`)
		SELECT $1, $2, $3, u.fp, u.rule, u.title, u.descr, u.sev, u.rank, u.basis, u.loc, u.cwe, u.cve, u.supp, $4, $5, $6, $5, $6, $7::timestamptz, $8::bigint, $5
		FROM unnest($9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bigint[], $15::text[], $16::text[], $17::text[], $18::text[], $19::boolean[])
			AS u(fp, rule, title, descr, sev, rank, basis, loc, cwe, cve, supp)
		RETURNING id, fingerprint`,
		nf.appID, nf.component, string(nf.scanType), string(nf.state), tx.Now, nf.scanID, resolvedAt, resolvedBy,
		fps, rules, titles, descs, sevs, ranks, bases, locs, cwes, cves, supp)
	return scanNewIDs(rows, err, have)
}
