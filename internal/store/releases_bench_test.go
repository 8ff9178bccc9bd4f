package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/release"
	"github.com/probity-dev/probity/internal/scan"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// benchFindings returns n findings of mixed severities, as a large SARIF
// report would hold.
func benchFindings(prefix string, n int) []scan.Finding {
	sevs := []scan.Severity{scan.Critical, scan.High, scan.High, scan.Medium, scan.Medium, scan.Medium, scan.Low, scan.Low, scan.Info, scan.Info}
	fs := make([]scan.Finding, n)
	for i := range fs {
		name := fmt.Sprintf("%s-%d", prefix, i)
		fs[i] = scan.Finding{Fingerprint: storetest.Digest(name), RuleID: fmt.Sprintf("rule-%d", i%300), Title: "Finding " + name,
			Description: "A description of the issue, as long as a scanner's usually is, with a line or two of advice.",
			Severity:    sevs[i%len(sevs)], SeverityBasis: "level error", Location: fmt.Sprintf("src/module%d/file%d.swift:%d", i%40, i%900, i%500+1), CWE: []string{"CWE-79"}}
	}
	return fs
}

// BenchmarkReleases_Findings measures the triage list of an app with
// 100,000 findings (imported as one scan): its first page of 50, most
// severe first, with the counts by state and overdue; the first page of
// the unreviewed ones; and a page deep in the list through its cursor.
// The seeding import's time is logged.
func BenchmarkReleases_Findings(b *testing.B) {
	const n = 100_000
	for _, d := range storetest.Dialects() {
		b.Run(d.String(), func(b *testing.B) {
			ctx := context.Background()
			o := storetest.MustReleaseOrg(b, d)
			r := o.MustRelease(b, "1.0", "1")
			start := time.Now()
			sr := o.MustImport(b, r, release.Static, storetest.Report(release.Static, r, benchFindings("f", n)...))
			b.Logf("%s: imported %d findings in %v", d, sr.Findings, time.Since(start).Round(time.Millisecond))
			by := o.As["cbp-isso"]
			// Some triage, so that the states are mixed.
			first, err := o.Releases.Findings(ctx, by, store.FindingFilter{AppID: o.App.ID, Limit: 20})
			if err != nil {
				b.Fatal(err)
			}
			for _, f := range first.Findings {
				if _, err := o.Releases.Triage(ctx, by, f.ID, release.Confirmed, ""); err != nil {
					b.Fatal(err)
				}
			}
			deep, err := o.Releases.Findings(ctx, by, store.FindingFilter{AppID: o.App.ID, Limit: 500, MinSeverity: scan.Medium})
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range []struct {
				name   string
				f      store.FindingFilter
				vacuum bool
			}{
				{"first_page", store.FindingFilter{}, false},
				{"unreviewed", store.FindingFilter{States: []release.State{release.New}}, false},
				{"confirmed", store.FindingFilter{States: []release.State{release.Confirmed}}, false},
				{"deep_page", store.FindingFilter{After: deep.Next}, false},
				{"release_first_page", store.FindingFilter{ReleaseID: r.ID}, false},
				// What autovacuum soon does after a large import on
				// PostgreSQL: the counts then read the index alone.
				{"first_page_vacuumed", store.FindingFilter{}, true},
			} {
				if c.vacuum {
					if d != store.Postgres {
						continue
					}
					if err := o.DB.Vacuum(ctx, "findings"); err != nil {
						b.Fatal(err)
					}
				}
				b.Run(c.name, func(b *testing.B) {
					f := c.f
					f.AppID, f.Limit = o.App.ID, 50
					for b.Loop() {
						p, err := o.Releases.Findings(ctx, by, f)
						if err != nil || len(p.Findings) == 0 || p.Counts.Total != n || p.Counts.Unreviewed != n-20 {
							b.Fatalf("page of %d, counts %+v, %v", len(p.Findings), p.Counts, err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkReleases_ImportScan measures storing a parsed report of 1,768
// findings (the size of the largest SARIF report of the test corpora) as
// a re-scan of an app that already has them: looking them up, carrying
// their triage forward, recording where the scan saw them, resolving
// those it no longer reports, and the ledger entry.
func BenchmarkReleases_ImportScan(b *testing.B) {
	const n = 1768
	for _, d := range storetest.Dialects() {
		b.Run(d.String(), func(b *testing.B) {
			ctx := context.Background()
			o := storetest.MustReleaseOrg(b, d)
			r := o.MustRelease(b, "1.0", "1")
			fs := benchFindings("f", n)
			i := 0
			for b.Loop() {
				// Each iteration is a new report (one finding differs), so
				// that none is refused as already imported.
				fs[0].Fingerprint = storetest.Digest(fmt.Sprint("first-", i))
				i++
				rep := storetest.Report(release.Static, r, fs...)
				if _, err := o.Releases.ImportScan(ctx, o.As["cbp-isso"], r.ID, release.Static, rep, storetest.Digest(fmt.Sprint("raw-", i))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
