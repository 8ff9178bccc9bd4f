package detect

import (
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/identity"
)

// TestOnDuty checks the detectors' schedule test against the identity
// package's, over a fortnight in 7-minute steps, for a day shift and a
// night shift spanning midnight.
func TestOnDuty(t *testing.T) {
	night := identity.Schedule{TimeZone: "America/Los_Angeles", Start: 22 * 60, End: 6 * 60, Days: []time.Weekday{time.Friday, time.Saturday, time.Sunday}}
	d := New(nil, nil, Config{})
	for _, s := range []identity.Schedule{identity.DefaultSchedule(), night} {
		loc := d.location(s.TimeZone)
		for at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC); at.Before(time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)); at = at.Add(7 * time.Minute) {
			if got, want := onDuty(s, at.In(loc)), s.OnDuty(at); got != want {
				t.Fatalf("%s at %s: on duty %v, want %v", s.TimeZone, at, got, want)
			}
		}
	}
}
