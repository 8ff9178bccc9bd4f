package places

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/query"
)

// mustError returns err as an *Error, failing when it is not one.
func mustError(t *testing.T, err error) *Error {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *places.Error", err, err)
	}
	if len(pe.Problems) == 0 {
		t.Fatalf("error %v lists no problems", err)
	}
	return pe
}

func feature(geom, props string) string {
	return `{"type":"Feature","properties":` + props + `,"geometry":` + geom + `}`
}

func collection(features ...string) string {
	return `{"type":"FeatureCollection","features":[` + strings.Join(features, ",\n") + `]}`
}

const (
	pointNYC  = `{"type":"Point","coordinates":[-73.9857,40.7484]}`
	squareNYC = `{"type":"Polygon","coordinates":[[[-73.99,40.74],[-73.98,40.74],[-73.98,40.75],[-73.99,40.75],[-73.99,40.74]]]}`
)

func TestParseGeoJSON(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		doc := collection(
			`{"type":"Feature","id":"node/42","properties":{"amenity":"place_of_worship","name":"  St. Example\n Church "},"geometry":`+pointNYC+`}`,
			feature(pointNYC, `{"amenity":"school","radius_m":75}`),
			feature(squareNYC, `{"amenity":"courthouse","radius_m":"12"}`),
			feature(`{"type":"MultiPolygon","coordinates":[[[[-73.99,40.74],[-73.98,40.74],[-73.98,40.75],[-73.99,40.74]]]]}`, `{"social_facility":"shelter","amenity":"social_facility"}`),
			feature(pointNYC, `{"amenity":"hospital","id":1234}`),
		)
		b, err := ParseGeoJSON([]byte(doc), Options{CategoryProperty: "social_facility, amenity"})
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			cat    Category
			name   string
			ref    string
			radius float64
			circle bool
		}{
			{PlaceOfWorship, "St. Example Church", "node/42", 100, true},
			{School, "", "", 75, true},
			{Court, "", "", 0, false},
			{Shelter, "", "", 0, false},
			{Medical, "", "1234", 150, true},
		}
		if len(b.Places) != len(want) {
			t.Fatalf("%d places, want %d", len(b.Places), len(want))
		}
		for i, w := range want {
			p := b.Places[i]
			_, _, r, circle := p.Area.Circle()
			if p.Category != w.cat || p.Name != w.name || p.Ref != w.ref || circle != w.circle || (circle && r != w.radius) {
				t.Errorf("place %d = %+v (radius %g, circle %v), want %+v", i, p, r, circle, w)
			}
		}
		if !b.Places[0].Area.Contains(40.7484, -73.9857) || !b.Places[2].Area.Contains(40.745, -73.985) {
			t.Error("the areas do not hold their own points")
		}
		if b.Digest != digest([]byte(doc)) || !strings.HasPrefix(b.Digest, "sha256:") || len(b.Digest) != 71 {
			t.Errorf("digest %q", b.Digest)
		}
		if c := b.Counts(); c[School] != 1 || c[Court] != 1 || len(c) != 5 {
			t.Errorf("counts %v", c)
		}
	})
	t.Run("OKSingleFeatureAndCategoryForFile", func(t *testing.T) {
		b, err := ParseGeoJSON([]byte(feature(pointNYC, `null`)), Options{Category: AgencyFacility, DefaultRadiusM: map[Category]float64{AgencyFacility: 400}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, r, _ := b.Places[0].Area.Circle(); len(b.Places) != 1 || b.Places[0].Category != AgencyFacility || r != 400 {
			t.Errorf("places %+v, radius %g", b.Places, r)
		}
	})
	t.Run("OKSkipUnmapped", func(t *testing.T) {
		doc := collection(
			feature(pointNYC, `{"amenity":"bicycle_parking"}`),
			feature(pointNYC, `{"amenity":"bicycle_parking"}`),
			feature(pointNYC, `{"amenity":"shelter"}`), // a roof against the rain, not a shelter
			feature(pointNYC, `{"name":"no tags"}`),
			feature(`{"type":"LineString","coordinates":[[0,0],[1,1]]}`, `{"amenity":"cafe"}`), // skipped before its geometry matters
			feature(pointNYC, `{"amenity":"school"}`),
		)
		b, err := ParseGeoJSON([]byte(doc), Options{CategoryProperty: "amenity", SkipUnmapped: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Places) != 1 || b.Skipped != 5 || b.SkippedValues["bicycle_parking"] != 2 || b.SkippedValues["shelter"] != 1 || b.SkippedValues[""] != 1 {
			t.Errorf("%d places, skipped %d %v", len(b.Places), b.Skipped, b.SkippedValues)
		}
	})
	t.Run("OKCustomValues", func(t *testing.T) {
		b, err := ParseGeoJSON([]byte(collection(feature(pointNYC, `{"kind":"HQ"}`))), Options{CategoryProperty: "kind", Values: map[string]Category{"HQ": AgencyFacility}})
		if err != nil || b.Places[0].Category != AgencyFacility {
			t.Fatalf("%+v, %v", b, err)
		}
	})

	tests := []struct {
		name string
		doc  string
		opts Options
		want []string // each problem's String(), in order
	}{
		{"ErrNotJSON", "{\"type\":\n\"FeatureCollection\",\n\"features\":[}", Options{}, []string{"line 3: not valid JSON: invalid character '}' looking for beginning of value"}},
		{"ErrNotCollection", squareNYC, Options{}, []string{`want a FeatureCollection of places, got a "Polygon"`}},
		{"ErrNoType", `{"features":[]}`, Options{}, []string{"type: missing; want a FeatureCollection"}},
		{"ErrNoFeatures", `{"type":"FeatureCollection"}`, Options{}, []string{"features: missing; a FeatureCollection lists its features"}},
		{"ErrFeaturesNull", `{"type":"FeatureCollection","features":null}`, Options{}, []string{"features: want an array of features, got null"}},
		{"ErrDuplicateMember", `{"type":"FeatureCollection","features":[],"features":[]}`, Options{}, []string{`the member "features" appears more than once`}},
		{"ErrCRS", `{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:32618"}},"features":[]}`, Options{}, []string{"crs: only WGS84 longitude/latitude (CRS84) is supported; reproject the file"}},
		{"ErrTooLarge", collection(feature(pointNYC, `{"category":"school"}`)), Options{Limits: Limits{MaxBytes: 50}}, []string{"the file is 156 bytes; the limit is 50"}},
		{"ErrTooMany", collection(feature(pointNYC, `{"category":"school"}`), feature(pointNYC, `{"category":"school"}`)), Options{Limits: Limits{MaxPlaces: 1}}, []string{"the file holds more than 1 features; the limit is 1 (split it)"}},
		{"ErrFeatureProblems", collection(
			feature(pointNYC, `{"category":"school"}`),
			`[1,2]`,
			`{"type":"Feat","geometry":null}`,
			feature(`null`, `{"category":"school"}`),
			feature(`{"type":"LineString","coordinates":[[0,0],[1,1]]}`, `{"category":"school"}`),
			feature(`{"type":"Point","coordinates":[-73.98]}`, `{"category":"school"}`),
			feature(`{"type":"Point","coordinates":[-73.98,91]}`, `{"category":"school"}`),
			feature(pointNYC, `{"category":"school","radius_m":-5}`),
			feature(pointNYC, `{"category":"school","radius_m":6000}`),
			feature(pointNYC, `{"category":"school","radius_m":"wide"}`),
			feature(`{"type":"Polygon","coordinates":[[[-73.99,40.74],[-73.98,40.74],[-73.98,40.75],[-73.99,40.75]]]}`, `{"category":"school"}`),
			feature(pointNYC, `{"category":"cafe"}`),
			feature(pointNYC, `{}`),
			feature(pointNYC, `{"category":"employee_home"}`),
			feature(pointNYC, `{"category":["school"]}`),
			feature(pointNYC, `"text"`),
		), Options{}, []string{
			"feature 1 (line 2): want a Feature object",
			`feature 2 (line 3): type: want "Feature", got "Feat"`,
			"feature 3 (line 4): geometry: the feature has no geometry",
			`feature 4 (line 5): geometry.type: a "LineString" is not a place; want a Point (with a radius), a Polygon or a MultiPolygon`,
			"feature 5 (line 6): geometry.coordinates: a position needs 2 or 3 numbers (longitude, latitude, optional altitude), got 1",
			"feature 6 (line 7): geometry.coordinates: latitude 91 is outside [-90, 90]",
			"feature 7 (line 8): properties.radius_m: the radius must be greater than zero, got -5 m",
			"feature 8 (line 9): properties.radius_m: the radius is 6000 m; the limit is 5000 m",
			`feature 9 (line 10): properties.radius_m: want a number of metres, got "wide"`,
			"feature 10 (line 11): geometry.coordinates[0]: the ring is not closed: its last position must repeat its first",
			`feature 11 (line 12): properties.category: "cafe" is not a protected place's category (want one of agency_facility, place_of_worship, medical, school, shelter, court, social_services, diplomatic, other, or a mapped value such as amenity=place_of_worship); skip such places or map the value`,
			`feature 12 (line 13): properties.category: no category: give the property "category", choose a category for the whole file, or skip places without one`,
			"feature 13 (line 14): properties.category: " + homesRefused,
			"feature 14 (line 15): properties.category: want a string",
			"feature 15 (line 16): properties: want an object",
		}},
		{"ErrHomesForFile", collection(), Options{Category: EmployeeHome}, []string{homesRefused}},
		{"ErrUnknownCategoryForFile", collection(), Options{Category: "bunker"}, []string{`unknown category "bunker" for the whole file`}},
		{"ErrDefaultRadius", collection(), Options{DefaultRadiusM: map[Category]float64{School: 0}}, []string{"the default radius of school must be more than 0 and at most 5000 m, not 0"}},
		{"ErrHomesMapped", collection(feature(pointNYC, `{"kind":"x"}`)), Options{CategoryProperty: "kind", Values: map[string]Category{"x": EmployeeHome}}, []string{"feature 0 (line 1): properties.kind: " + homesRefused}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseGeoJSON([]byte(tt.doc), tt.opts)
			if err == nil {
				t.Fatalf("accepted: %d places", len(b.Places))
			}
			pe := mustError(t, err)
			var got []string
			for _, p := range pe.Problems {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
	t.Run("ErrManyProblems", func(t *testing.T) {
		var fs []string
		for range MaxProblems + 7 {
			fs = append(fs, feature(pointNYC, `{}`))
		}
		pe := mustError(t, func() error { _, err := ParseGeoJSON([]byte(collection(fs...)), Options{}); return err }())
		if len(pe.Problems) != MaxProblems || pe.More != 7 || !strings.HasSuffix(pe.Error(), "; and 7 more problems") {
			t.Errorf("%d problems, %d more: %s", len(pe.Problems), pe.More, pe.Error())
		}
		if !strings.HasPrefix(pe.Error(), "the file was not imported (nothing was): feature 0 (line 1): ") {
			t.Errorf("message %q", pe.Error())
		}
	})
}

func TestParseCSV(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		doc := "\ufeffName,Category,Lat,Lon,radius_m,id,extra\n" +
			"\"Holy Name, Church\",place_of_worship,40.7,-73.9,,n1,x\n" +
			"\n" +
			"PS 1,school, 40.71 , -73.91 ,80,,\n" +
			"Field office,agency_facility,40.72,-73.92,300.5,,\n"
		b, err := ParseCSV([]byte(doc), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Places) != 3 {
			t.Fatalf("%d places", len(b.Places))
		}
		for i, w := range []struct {
			name   string
			cat    Category
			radius float64
			ref    string
		}{{"Holy Name, Church", PlaceOfWorship, 100, "n1"}, {"PS 1", School, 80, ""}, {"Field office", AgencyFacility, 300.5, ""}} {
			p := b.Places[i]
			lat, lon, r, _ := p.Area.Circle()
			if p.Name != w.name || p.Category != w.cat || r != w.radius || p.Ref != w.ref || math.Abs(lat-40.7-0.01*float64(i)) > 1e-12 || math.Abs(lon+73.9+0.01*float64(i)) > 1e-12 {
				t.Errorf("row %d: %+v (%g, %g, %g)", i, p, lat, lon, r)
			}
		}
	})
	t.Run("OKCategoryForFileSkip", func(t *testing.T) {
		b, err := ParseCSV([]byte("lat,lon\n1,2\n3,4\n"), Options{Category: Court})
		if err != nil || len(b.Places) != 2 || b.Places[1].Category != Court {
			t.Fatalf("%+v, %v", b, err)
		}
		b, err = ParseCSV([]byte("amenity,lat,lon\ncafe,1,2\nhospital,3,4\n"), Options{CategoryProperty: "amenity", Values: map[string]Category{"hospital": Medical}, SkipUnmapped: true})
		if err != nil || len(b.Places) != 1 || b.Places[0].Category != Medical || b.Skipped != 1 {
			t.Fatalf("%+v, %v", b, err)
		}
	})
	tests := []struct {
		name string
		doc  string
		opts Options
		want []string
	}{
		{"ErrEmpty", "", Options{}, []string{"the file is empty: a header row is required (name, category, lat, lon, radius_m)"}},
		{"ErrNoHeader", "St. Mary,place_of_worship,40.7,-73.9,100\n", Options{}, []string{"line 1: the header row lacks the column(s) lat, lon, category; the first line must name the columns: name, category, lat, lon, radius_m"}},
		{"ErrNoCategoryColumn", "name,lat,lon\n", Options{CategoryProperty: "amenity"}, []string{"line 1: the header row lacks the column(s) amenity; the first line must name the columns: name, category, lat, lon, radius_m"}},
		{"ErrRows", "name,category,lat,lon,radius_m\n" +
			"a,school,north,-73.9,\n" +
			"b,school,40.7\n" +
			"c,school,95,-73.9,\n" +
			"d,school,40.7,-73.9,huge\n" +
			"e,school,40.7,-73.9,0\n" +
			"f,bunker,40.7,-73.9,\n" +
			"g,,40.7,-73.9,\n" +
			"h,employee_home,40.7,-73.9,\n" +
			"i,school,NaN,-73.9,\n", Options{}, []string{
			`line 2: lat: want a decimal number of degrees, got "north"`,
			"line 3: lon: missing: the row has 3 fields",
			"line 4: lat: latitude 95 is outside [-90, 90]",
			`line 5: radius_m: want a number of metres, got "huge"`,
			"line 6: radius_m: the radius must be greater than zero, got 0 m",
			`line 7: category: "bunker" is not a protected place's category (want one of agency_facility, place_of_worship, medical, school, shelter, court, social_services, diplomatic, other, or a mapped value such as amenity=place_of_worship); skip such places or map the value`,
			`line 8: category: no category: give the property "category", choose a category for the whole file, or skip places without one`,
			"line 9: category: " + homesRefused,
			"line 10: lat: latitude is not a finite number",
		}},
		{"ErrQuote", "name,category,lat,lon\nok,school,1,2\n\"bad\"x,school,1,2\nlater,cafe,1,2\n", Options{}, []string{`line 3: extraneous or missing " in quoted-field (the rest of the file was not read)`}},
		{"ErrTooMany", "category,lat,lon\nschool,1,2\nschool,1,2\n", Options{Limits: Limits{MaxPlaces: 1}}, []string{"the file holds more than 1 rows; the limit is 1 (split it)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseCSV([]byte(tt.doc), tt.opts)
			if err == nil {
				t.Fatalf("accepted: %d places", len(b.Places))
			}
			pe := mustError(t, err)
			var got []string
			for _, p := range pe.Problems {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParse_Format(t *testing.T) {
	for _, s := range []string{"geojson", " CSV "} {
		if _, err := ParseFormat(s); err != nil {
			t.Errorf("ParseFormat(%q): %v", s, err)
		}
	}
	if _, err := ParseFormat("kml"); err == nil || err.Error() != `unknown format "kml"; want geojson or csv` {
		t.Errorf("ParseFormat(kml) = %v", err)
	}
	if _, err := Parse("kml", nil, Options{}); mustError(t, err).Problems[0].Message != `unknown format "kml"; want geojson or csv` {
		t.Errorf("Parse(kml) = %v", err)
	}
}

func TestCategory(t *testing.T) {
	for _, c := range Categories() {
		if !c.Valid() || c.Title() == string(c) || c.Flag() == "" {
			t.Errorf("category %q: valid %v, title %q, flag %q", c, c.Valid(), c.Title(), c.Flag())
		}
		if got, err := ParseCategory(string(c)); err != nil || got != c {
			t.Errorf("ParseCategory(%q) = %q, %v", c, got, err)
		}
	}
	if EmployeeHome.Importable() || !School.Importable() || Category("x").Importable() {
		t.Error("importable categories are wrong")
	}
	for c, f := range map[Category]string{AgencyFacility: query.FlagAgencyFacility, EmployeeHome: query.FlagEmployeeHome, Court: query.FlagProtectedPlace} {
		if c.Flag() != f {
			t.Errorf("%s.Flag() = %q, want %q", c, c.Flag(), f)
		}
	}
	if _, err := ParseCategory("bunker"); err == nil || !strings.Contains(err.Error(), "place_of_worship") || strings.Contains(err.Error(), "employee_home") {
		t.Errorf("ParseCategory(bunker) = %v", err)
	}
}

func TestDecodeGeometry(t *testing.T) {
	b, err := ParseGeoJSON([]byte(collection(feature(pointNYC, `{"category":"school","radius_m":123.5}`), feature(squareNYC, `{"category":"court"}`))), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range b.Places {
		a, err := DecodeGeometry(p.Geometry())
		if err != nil {
			t.Fatalf("place %d: %v", i, err)
		}
		if string(a.GeoJSON()) != string(p.Geometry()) || a.AreaKm2() != p.Area.AreaKm2() {
			t.Errorf("place %d: %s decodes to %s", i, p.Geometry(), a.GeoJSON())
		}
	}
	for _, bad := range []string{`{"type":"Point","coordinates":[1,2]}`, `{"type":"Point","coordinates":[1],"radius_m":3}`, `not json`, `{"type":"LineString"}`} {
		if _, err := DecodeGeometry([]byte(bad)); err == nil {
			t.Errorf("DecodeGeometry(%s) accepted", bad)
		}
	}
}

func TestCleanName(t *testing.T) {
	long := strings.Repeat("é", MaxName+10)
	for in, want := range map[string]string{
		"  a\tb\n c ": "a b c",
		"x\x00y":      "x y",
		long:          long[:2*MaxName],
	} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := cleanRef(strings.Repeat("ü", 80)); len(got) > maxRef || got != strings.Repeat("ü", 50) {
		t.Errorf("cleanRef cut to %q", got)
	}
}
