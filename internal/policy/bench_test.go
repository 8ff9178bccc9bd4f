package policy

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// benchSnapshot returns the built-in department floor and a CBP set that
// together hold total policies.
func benchSnapshot(tb testing.TB, total int) *Snapshot {
	tb.Helper()
	dept := mustCompile(tb, Department, DefaultDepartmentText, &DefaultLimits)
	base := mustCompile(tb, DefaultComponent, DefaultComponentText, nil)
	extra := total - len(dept.Policies) - len(base.Policies)
	cbp := mustCompile(tb, "CBP", componentPolicies(extra), nil)
	s, err := NewSnapshot(dept, base, cbp)
	if err != nil {
		tb.Fatal(err)
	}
	if n := len(dept.Policies) + len(cbp.Policies); n != total {
		tb.Fatalf("%d policies, want %d", n, total)
	}
	return s
}

// BenchmarkDecide decides an allowed request under the department floor and
// a component set, 50 policies in all, and reports the 99th percentile.
func BenchmarkDecide(b *testing.B) {
	s := benchSnapshot(b, 50)
	in := mustInput(b, allowedRequest())
	if d := s.Decide(in); !d.Allowed {
		b.Fatalf("the benchmark request is denied: %v", d.Reasons())
	}
	// A b.N loop, not b.Loop: the slice of times is allocated for b.N
	// before the timer starts, so that growing it never lands in the tail.
	times := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t := time.Now()
		d := s.Decide(in)
		times[i] = time.Since(t)
		if !d.Allowed {
			b.Fatal("denied")
		}
	}
	b.StopTimer()
	reportPercentiles(b, times)
}

// BenchmarkSpinControl times a fixed computation of about the length of a
// decision, the same way: its spread is the machine's, not the engine's.
// On a shared or virtual machine, compare BenchmarkDecide's p99 with this.
func BenchmarkSpinControl(b *testing.B) {
	times := make([]time.Duration, b.N)
	var sink uint64
	b.ResetTimer()
	for i := range b.N {
		t := time.Now()
		x := uint64(i)
		for range 10_000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
		sink += x
		times[i] = time.Since(t)
	}
	b.StopTimer()
	if sink == 42 {
		b.Log(sink)
	}
	reportPercentiles(b, times)
}

func reportPercentiles(b *testing.B, times []time.Duration) {
	slices.Sort(times)
	at := func(q float64) float64 {
		return float64(times[min(len(times)-1, int(q*float64(len(times))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

// BenchmarkImpact replays 100,000 recorded decisions under the current sets
// and a proposed department floor that lowers the area limit.
func BenchmarkImpact(b *testing.B) {
	s := benchSnapshot(b, 50)
	recs := recordedRequests(b, 100_000)
	tighter := DefaultLimits
	tighter.MaxAreaKM2 = 2
	proposed := mustCompile(b, Department, DefaultDepartmentText, &tighter)
	b.ResetTimer()
	for b.Loop() {
		im, err := Analyse(context.Background(), s, proposed, recs)
		if err != nil {
			b.Fatal(err)
		}
		if im.Replayed != len(recs) || im.AllowToDeny == 0 {
			b.Fatalf("replayed %d, %d allow→deny", im.Replayed, im.AllowToDeny)
		}
		b.ReportMetric(float64(im.AllowToDeny), "changed")
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/analysis")
}

// recordedRequests returns n recorded CBP decisions of varied areas,
// windows, members and sources, as the store would hold them.
func recordedRequests(tb testing.TB, n int) []Recorded {
	tb.Helper()
	out := make([]Recorded, n)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		r := allowedRequest()
		r.Query.ID = fmt.Sprintf("q-%d", i)
		r.Query.AreaKM2 = float64(i%60) / 10 // 0 to 5.9 km²
		r.Query.WindowHours = int64(1 + i%96)
		if i%7 == 0 {
			r.Action = QueryDeviceHistory
			r.Query.LegalProcessRef = "W-123"
		}
		if i%11 == 0 {
			r.Principal.TrainingCurrent = false
		}
		b, err := mustInput(tb, r).MarshalJSON()
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = Recorded{ID: int64(i + 1), At: at.Add(time.Duration(i) * time.Second), Actor: r.Principal.EmployeeID, Component: "CBP",
			Action: string(r.Action), Resource: "Query::" + r.Query.ID, Input: b}
	}
	return out
}
