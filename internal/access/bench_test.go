package access_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// BenchmarkSubmit measures Probity's own overhead on a routine area search
// through the whole audited path — account checks, gate, policy, risk,
// the started and completed ledger entries, pseudonymization, sealing,
// storing and the receipt (a checkpoint published per query) — with a
// connector that answers at once from memory (5 devices, 20 pings), so
// that what is measured is the path itself.
func BenchmarkSubmit(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(d.String(), func(b *testing.B) {
			e := newEnv(b, d)
			ctx := context.Background()
			r := e.area()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				out, err := e.svc.Submit(ctx, e.As["cbp-analyst"], r)
				lat = append(lat, time.Since(start))
				if err != nil || out.Query.Status != query.Completed || out.Receipt == nil {
					b.Fatalf("submit: %v %+v", err, out.Query)
				}
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
