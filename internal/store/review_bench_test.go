package store_test

import (
	"context"
	"testing"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/review"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// BenchmarkAlerts_Raise measures what raising an alert adds to the
// detector's transaction: "medium" (assignment and the ledger entry) and
// "high" (also the notifications to the privacy officers, OPR intake and
// the requester's supervisor). Each iteration is one transaction that
// raises one alert; "baseline" is the same transaction appending one
// ledger entry only.
func BenchmarkAlerts_Raise(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(d.String(), func(b *testing.B) {
			ctx := context.Background()
			o := storetest.MustReviewOrg(b, d)
			q := o.MustQuery(b, storetest.ExecutedQuery{By: "cbp-agent", Status: query.Withheld})
			base := alerts.Alert{Detector: "employee_device", Component: "CBP", QueryID: q.ID, PersonID: o.People["cbp-agent"].ID,
				Explanation: "The device's night-time pings fall in an employee's home cells.", Evidence: []byte(`{"nights":5,"cells":3}`)}
			b.Run("baseline", func(b *testing.B) {
				for b.Loop() {
					if err := o.DB.Update(ctx, func(tx *store.Tx) error {
						_, err := o.Ledger.Append(ctx, tx, storetest.BenchEvent(1))
						return err
					}); err != nil {
						b.Fatal(err)
					}
				}
			})
			for _, sev := range []alerts.Severity{alerts.Medium, alerts.High} {
				b.Run(string(sev), func(b *testing.B) {
					a := base
					a.Severity = sev
					for b.Loop() {
						if err := o.DB.Update(ctx, func(tx *store.Tx) error {
							_, err := o.Alerts.Raise(ctx, tx, a)
							return err
						}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkReviews_Queue measures a supervisor's queue of 500 pending
// reviews (riskiest first, each checked against the supervisor chain).
func BenchmarkReviews_Queue(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(d.String(), func(b *testing.B) {
			ctx := context.Background()
			o := storetest.MustReviewOrg(b, d)
			tiers := []query.Tier{query.Routine, query.Elevated, query.High, query.Critical}
			for i := range 500 {
				o.MustQuery(b, storetest.ExecutedQuery{By: "cbp-agent", Tier: tiers[i%len(tiers)]})
			}
			if n, err := o.Reviews.OpenMissing(ctx); err != nil || n != 500 {
				b.Fatalf("OpenMissing = %d, %v", n, err)
			}
			lead := o.As["cbp-lead"]
			for b.Loop() {
				rs, _, err := o.Reviews.Queue(ctx, lead, store.ReviewFilter{Mine: true})
				if err != nil || len(rs) != 500 || rs[0].Tier != query.Critical || rs[0].Status != review.Pending {
					b.Fatalf("queue of %d, %v", len(rs), err)
				}
			}
		})
	}
}
