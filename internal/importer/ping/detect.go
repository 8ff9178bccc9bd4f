package ping

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Format names an input file format.
type Format string

// The formats Probity imports.
const (
	CSV     Format = "csv"
	GeoJSON Format = "geojson"
	GPX     Format = "gpx"
	PLT     Format = "plt"
)

// Formats lists every supported format.
var Formats = []Format{CSV, GeoJSON, GPX, PLT}

// ErrUnknownFormat is returned by [Detect] and [ParseFormat] when no
// supported format fits.
var ErrUnknownFormat = errors.New("unknown ping file format")

// ParseFormat returns the format called s (case-insensitive), as given on a
// command line.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range Formats {
		if f == k {
			return f, nil
		}
	}
	return "", fmt.Errorf("%w: %q (want one of csv, geojson, gpx, plt)", ErrUnknownFormat, s)
}

// Detect returns the format of a file from its name and its first bytes
// (a few hundred are enough). The content decides when it is distinctive;
// the extension decides otherwise. A name and content that disagree are an
// error rather than a guess.
func Detect(name string, head []byte) (Format, error) {
	byName := formatOfName(name)
	byContent := formatOfContent(head)
	switch {
	case byName != "" && byContent != "" && byName != byContent:
		return "", fmt.Errorf("%w: name %q says %s but the content looks like %s", ErrUnknownFormat, filepath.Base(name), byName, byContent)
	case byContent != "":
		return byContent, nil
	case byName != "":
		return byName, nil
	case looksLikeCSV(head):
		return CSV, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownFormat, filepath.Base(name))
}

func formatOfName(name string) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return CSV
	case ".geojson", ".json":
		return GeoJSON
	case ".gpx":
		return GPX
	case ".plt":
		return PLT
	}
	return ""
}

func formatOfContent(head []byte) Format {
	h := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	if bytes.HasPrefix(h, []byte("Geolife trajectory")) {
		return PLT
	}
	h = bytes.TrimLeft(h, " \t\r\n")
	switch {
	case len(h) > 0 && h[0] == '{':
		return GeoJSON
	case len(h) > 0 && h[0] == '<' && bytes.Contains(h, []byte("<gpx")):
		return GPX
	}
	return ""
}

func looksLikeCSV(head []byte) bool {
	line, _, _ := bytes.Cut(head, []byte("\n"))
	return bytes.Count(line, []byte(",")) >= 2
}
