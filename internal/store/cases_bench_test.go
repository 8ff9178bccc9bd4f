package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// BenchmarkCases measures reading cases among 200 others. "for-query" is
// the query path's read, inside the caller's read-write transaction: the
// case, its two members and its two pieces of legal process (three
// statements). "get" is a person's read of it with its history, in a
// transaction of its own; "list" an auditor's list of all 201 cases with
// their members and legal process. Every result is checked.
func BenchmarkCases(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(d.String(), func(b *testing.B) {
			ctx := context.Background()
			o := storetest.MustCaseOrg(b, d)
			for i := range 200 {
				o.MustCase(b, o.NewCase(1000+i, "cbp-analyst"))
			}
			in := o.NewCase(142, "cbp-analyst", "cbp-sup2")
			in.LegalProcess = []cases.LegalProcess{
				{Kind: cases.CourtOrder, Reference: "5:26-mj-00142", IssuedOn: o.Day(-3), ExpiresOn: o.Day(60)},
				{Kind: cases.Warrant, Reference: "5:26-mj-00098", IssuedOn: o.Day(-90), ExpiresOn: o.Day(-30)},
			}
			c := o.MustCase(b, in)
			check := func(got cases.Case) error {
				if got.ID != c.ID || !slices.Equal(got.MemberIDs(), []string{"cbp-analyst", "cbp-sup2"}) || len(got.LegalProcess) != 2 {
					return fmt.Errorf("read %+v", got)
				}
				return nil
			}

			b.Run("for-query", func(b *testing.B) {
				err := o.DB.Update(ctx, func(tx *store.Tx) error {
					b.ResetTimer()
					for b.Loop() {
						got, err := o.Cases.ForQuery(ctx, tx, c.Number)
						if err != nil {
							return err
						}
						if err := check(got); err != nil {
							return err
						}
					}
					b.StopTimer()
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			})
			b.Run("get", func(b *testing.B) {
				for b.Loop() {
					got, err := o.Cases.Get(ctx, o.As["cbp-analyst"], c.Number)
					if err != nil {
						b.Fatal(err)
					}
					if err := check(got); err != nil || len(got.History) != 1 {
						b.Fatal(err, got.History)
					}
				}
			})
			b.Run("list", func(b *testing.B) {
				for b.Loop() {
					list, err := o.Cases.List(ctx, o.As["auditor"], store.CaseFilter{})
					if err != nil {
						b.Fatal(err)
					}
					if len(list) != 201 {
						b.Fatalf("listed %d cases", len(list))
					}
				}
			})
		})
	}
}
