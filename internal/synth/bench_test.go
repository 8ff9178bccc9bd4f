package synth

import (
	"io"
	"testing"
)

// BenchmarkPings builds the default city and streams all its pings, on one
// goroutine; an operation is one whole city.
func BenchmarkPings(b *testing.B) {
	cfg := DefaultConfig()
	b.ReportAllocs()
	var n int
	for b.Loop() {
		c, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		s := c.Pings()
		n = 0
		for {
			_, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n < 1_000_000 {
			b.Fatalf("%d pings; the default city must yield at least 1,000,000", n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "pings/s")
	b.ReportMetric(float64(n), "pings/op")
}

// BenchmarkNew builds the default city without streaming it.
func BenchmarkNew(b *testing.B) {
	cfg := DefaultConfig()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteCSV streams the default city as CSV.
func BenchmarkWriteCSV(b *testing.B) {
	c, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var n int
	var w countingWriter
	for b.Loop() {
		w = 0
		if n, err = c.Pings().WriteCSV(&w); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(w))
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "pings/s")
}

type countingWriter int64

func (w *countingWriter) Write(p []byte) (int, error) {
	*w += countingWriter(len(p))
	return len(p), nil
}
