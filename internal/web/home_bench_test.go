package web_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
)

// benchQueries is how many recorded queries the home page benchmarks'
// store holds.
const benchQueries = 100_000

// BenchmarkWeb_Home measures the server time of the home page of each
// role, and of the case and people lists, over a store holding
// benchQueries queries of the supervisors' team (a few dozen of them
// awaiting approval) and their reviews.
func BenchmarkWeb_Home(b *testing.B) {
	e := mustOrgWeb(b, store.SQLite)
	ctx := context.Background()
	e.mustCase(b, "CBP-2026-000901", "Benchmark case", "cbp-agent")
	start := time.Now()
	for batch := 0; batch < benchQueries/10_000; batch++ {
		err := e.DB.Update(ctx, func(tx *store.Tx) error {
			for i := range 10_000 {
				n := batch*10_000 + i
				who := []string{"cbp-agent", "cbp-sublead", "cbp-analyst"}[n%3]
				p := e.People[who]
				st := query.Completed
				if n%3000 == 0 {
					st = query.AwaitingApproval
				}
				req := []byte(fmt.Sprintf(`{"kind":"area","case":"CBP-2026-000901","justification":"benchmark query %d"}`, n))
				rec := store.QueryRecord{PersonID: p.ID, EmployeeID: p.EmployeeID, Component: p.Component, CaseNumber: "CBP-2026-000901", SourceName: "bench-source",
					Kind: query.Area, Status: st, Tier: query.Routine, Request: req, RequestDigest: ledger.PayloadDigest(req)}
				if st == query.Completed {
					rec.ResultCount, rec.ResultDigest = 3, ledger.PayloadDigest([]byte("result"))
				}
				if err := e.DB.Queries().Insert(ctx, tx, &rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("stored %d queries in %v", benchQueries, time.Since(start).Round(time.Millisecond))
	for _, c := range []struct{ who, path string }{
		{"cbp-agent", "/"},
		{"cbp-lead", "/"},
		{"cbp-cpo", "/"},
		{"web-admin", "/"},
		{"auditor", "/"},
		{"cbp-lead", "/cases"},
		{"cbp-lead", "/cases/CBP-2026-000901"},
		{"cbp-lead", "/approvals"},
		{"web-admin", "/people"},
		{"web-admin", "/people.csv"},
	} {
		b.Run(c.who+c.path, func(b *testing.B) {
			for b.Loop() {
				if rec := e.do(b, c.who, "GET", c.path, nil); rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
