package basemap_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/basemap"
)

// streetGrid returns a GeoJSON layer of n×n streets, each of 50 vertices.
func streetGrid(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"type":"FeatureCollection","features":[`)
	for i := range 2 * n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"Feature","properties":{"name":"Street %d","class":"minor"},"geometry":{"type":"LineString","coordinates":[`, i)
		for k := range 50 {
			if k > 0 {
				b.WriteByte(',')
			}
			t := float64(i%n) * 0.01
			u := float64(k) * 0.006
			if i < n {
				fmt.Fprintf(&b, "[%.7f,%.7f]", -77.2+t, 38.75+u)
			} else {
				fmt.Fprintf(&b, "[%.7f,%.7f]", -77.2+u, 38.75+t)
			}
		}
		b.WriteString(`]}}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func BenchmarkParseGeoJSON(b *testing.B) {
	doc := streetGrid(30)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := basemap.ParseGeoJSON(doc, basemap.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	l, err := basemap.ParseGeoJSON(streetGrid(30), basemap.Options{})
	if err != nil {
		b.Fatal(err)
	}
	enc := basemap.Encode(l)
	b.ReportMetric(float64(len(enc)), "stored-bytes")
	for b.Loop() {
		if _, err := basemap.Decode(enc, basemap.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
