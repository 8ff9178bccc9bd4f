package store

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"github.com/probity-dev/probity/internal/geo"
)

func TestEstimate_Scale(t *testing.T) {
	// Two ranges of equal size (leaf IDs are two apart: 500 cells each).
	ranges := []geo.CellRange{{Min: 1, Max: 999}, {Min: 2001, Max: 2999}}
	last := func(k int64) sql.NullInt64 { return sql.NullInt64{Int64: k, Valid: true} }
	for _, tc := range []struct {
		name           string
		devices, pings int64
		last           sql.NullInt64
		want           int
	}{
		{"Uncapped", 40, estimateMaxPings - 1, last(1), 40},
		{"NoPings", 0, 0, sql.NullInt64{}, 0},
		// Capped in the first range: half of it read, a quarter of all.
		{"CappedFirst", 40, estimateMaxPings, last(0), 160},
		// Capped in the second: three quarters read.
		{"CappedSecond", 30, estimateMaxPings, last(1), 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := scaleEstimate(tc.devices, tc.pings, tc.last, ranges); got != tc.want {
				t.Errorf("scaleEstimate(%d, %d, %v) = %d, want %d", tc.devices, tc.pings, tc.last, got, tc.want)
			}
		})
	}
}

func TestEstimate_Periods(t *testing.T) {
	// A short window lists its periods without reading the store (tx is
	// not used).
	from := int64(100*periodMillis + 5)
	got, err := estimatePeriods(context.Background(), nil, 1, from, from+24*hourMillis)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{100, 101, 102, 103, 104, 105, 106}; !slices.Equal(got, want) {
		t.Errorf("periods %v, want %v", got, want)
	}
	if got, err := estimatePeriods(context.Background(), nil, 1, from, from); err != nil || got != nil {
		t.Errorf("empty window: %v, %v", got, err)
	}
}
