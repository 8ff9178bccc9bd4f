package store_test

import (
	"testing"

	"github.com/probity-dev/probity/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			storetest.Run(t, d)
		})
	}
}
