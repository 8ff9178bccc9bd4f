package places

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// checkParsed checks what every parse must give: a refusal listing
// problems with messages, or places that are whole and store faithfully.
func checkParsed(t *testing.T, b *Batch, err error) {
	t.Helper()
	if err != nil {
		var pe *Error
		if !errors.As(err, &pe) || len(pe.Problems) == 0 || len(pe.Problems) > MaxProblems {
			t.Fatalf("error %v (%T) is not a *places.Error with 1 to %d problems", err, err, MaxProblems)
		}
		for _, p := range pe.Problems {
			if p.Message == "" || p.Feature < -1 || p.Line < 0 || !utf8.ValidString(p.String()) {
				t.Fatalf("bad problem %+v", p)
			}
		}
		return
	}
	for i, p := range b.Places {
		if !p.Category.Importable() || p.Area == nil || utf8.RuneCountInString(p.Name) > MaxName || len(p.Ref) > maxRef || !utf8.ValidString(p.Name) {
			t.Fatalf("place %d is not whole: %+v", i, p)
		}
		a, err := DecodeGeometry(p.Geometry())
		if err != nil {
			t.Fatalf("place %d: stored geometry %s does not decode: %v", i, p.Geometry(), err)
		}
		if string(a.GeoJSON()) != string(p.Geometry()) {
			t.Fatalf("place %d: %s decodes to %s", i, p.Geometry(), a.GeoJSON())
		}
	}
}

func FuzzParseGeoJSON(f *testing.F) {
	f.Add([]byte(collection(feature(pointNYC, `{"amenity":"school","radius_m":75}`), feature(squareNYC, `{"amenity":"courthouse"}`))), false)
	f.Add([]byte(collection(feature(pointNYC, `{"amenity":"cafe"}`), `[1]`, feature(`null`, `{}`))), true)
	f.Add([]byte(feature(`{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]]]}`, `{"category":"other","name":"x"}`)), false)
	f.Add([]byte(`{"type":"FeatureCollection","crs":null,"features":[{"type":"Feature","id":12,"properties":{"category":"shelter","radius_m":"40"},"geometry":{"type":"Point","coordinates":[1,2,3]}}]}`), false)
	f.Add([]byte(`{"type":"FeatureCollection","features":[`), false)
	opts := Options{CategoryProperty: "category,amenity", Limits: Limits{MaxBytes: 1 << 16, MaxPlaces: 50, MaxVertices: 100}}
	f.Fuzz(func(t *testing.T, data []byte, skip bool) {
		o := opts
		o.SkipUnmapped = skip
		b, err := ParseGeoJSON(data, o)
		checkParsed(t, b, err)
	})
}

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("name,category,lat,lon,radius_m\n\"a, b\",school,40.7,-73.9,\nc,court,1,2,30\n"), false)
	f.Add([]byte("lat,lon,amenity\n1,2,cafe\n3,4,hospital\n"), true)
	f.Add([]byte("\ufeffLAT,LONGITUDE,category\n91,2,school\nx,\"y\n"), false)
	f.Add([]byte(""), false)
	opts := Options{CategoryProperty: "category,amenity", Limits: Limits{MaxBytes: 1 << 16, MaxPlaces: 50}}
	f.Fuzz(func(t *testing.T, data []byte, skip bool) {
		o := opts
		o.SkipUnmapped = skip
		b, err := ParseCSV(data, o)
		checkParsed(t, b, err)
	})
}

func FuzzDecodeGeometry(f *testing.F) {
	f.Add([]byte(`{"type":"Point","coordinates":[-73.9,40.7],"radius_m":100}`))
	f.Add([]byte(squareNYC))
	f.Add([]byte(`{"type":"Point","coordinates":[1e400,0],"radius_m":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeGeometry(data)
		if err != nil {
			return
		}
		// What decodes encodes back to a geometry that decodes the same.
		b, err := DecodeGeometry(a.GeoJSON())
		if err != nil || string(b.GeoJSON()) != string(a.GeoJSON()) {
			t.Fatalf("%s re-encodes to %s: %v", a.GeoJSON(), b.GeoJSON(), err)
		}
	})
}
