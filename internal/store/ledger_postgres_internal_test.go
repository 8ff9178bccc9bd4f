package store

import "testing"

func TestRecentIndexes(t *testing.T) {
	var r recentIndexes
	const n = 3 * recentMax // pending IDs 0 … n-1, integrated four at a time
	for i := int64(0); i < n; i += 4 {
		r.add([]int64{i, i + 1, i + 2, i + 3}, []int64{10 * i, 10 * (i + 1), 10 * (i + 2), 10 * (i + 3)})
	}
	for id := int64(n - recentMax); id < n; id++ {
		if idx, ok := r.lookup(id); !ok || idx != 10*id {
			t.Fatalf("lookup(%d) = %d, %v; want %d", id, idx, ok, 10*id)
		}
	}
	if _, ok := r.lookup(0); ok {
		t.Fatal("the oldest integration is still remembered")
	}
	if len(r.idx) != len(r.fifo) || len(r.fifo) > 2*recentMax {
		t.Fatalf("%d remembered, %d in order; want the same, at most %d", len(r.idx), len(r.fifo), 2*recentMax)
	}
}
